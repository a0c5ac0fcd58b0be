"""Review of session 75's own landed work (the carried PatchTST / settings commits and the fusion backends): each test
names what a user met before."""

from __future__ import annotations


def test_a_registered_sets_windows_keep_the_patchtst_runs_signature(tmp_path):
    """`--dataset-options hr_ecg:window_seconds=10 --select-on-validation` (the option's own example): a registered
    set's windows are its builder's rows, each an example of its own, so PatchTST's early stopping counts them as it
    did; its recorded runs were refitted all the same, the signature taking any `window_seconds` for a set of one's
    own cut into windows."""
    from citrus_hf.evaluation.protocol import ProtocolConfig

    config = ProtocolConfig(
        output_dir=str(tmp_path),
        datasets=["hr_ecg"],
        dataset_options={"hr_ecg": {"window_seconds": 10.0}},
        select_on_validation=True,
        arms=["citrus-scratch", "patchtst-scratch"],
    )
    assert config.run_signatures()["patchtst-scratch"] == config.signature()
