"""Audit 74, review 5: the session's own landed work (the MiniRocket baseline's input checks, the settings that take
`datasets` sets, the pandas collections the extractor refuses, the background push's future, the spread the bundled
card names) read again as a user would call it. Each test failed before its fix.

Reads the offline real corpus (BasicMotions: 6 motion channels of 100 samples, 4 classes); fetch it first with
`citrus data fetch --offline-corpus`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_sklearn2_audit74 import motions  # noqa: F401  (BasicMotions' windows, shared)
from tiny_configs import tiny_config

# ------------------------------------------------------------------------------------ fit_minirocket's input checks


def test_fit_minirocket_takes_class_ids_held_as_python_objects(motions):  # noqa: F811
    """Class ids in an object array (a pandas column of dtype object, `np.array(ids, dtype=object)`), which aeon
    fitted, were refused by the new label check as "labels must be class ids 0, 1, 2, ...; got 0, 1, 2, 3", the ids
    it asked for; they are read by their values. Class names in such a column are still refused with the fix."""
    import pandas as pd

    from citrus_hf.evaluation.baselines import fit_minirocket

    train, labels, test = motions
    expected = fit_minirocket(train, labels, test, "classification", 0)
    for given in (labels.astype(object), pd.Series(labels.tolist(), dtype=object)):
        np.testing.assert_array_equal(fit_minirocket(train, given, test, "classification", 0), expected)
    names = np.array(["idle", "walk", "run", "badminton"], dtype=object)[labels]
    with pytest.raises(ValueError, match=r"got 'badminton', 'idle', 'run', 'walk'.*np\.unique\(labels"):
        fit_minirocket(train, names, test, "classification", 0)


def test_fit_minirocket_reads_torch_tensors_that_require_grad_or_are_bfloat16(motions):  # noqa: F811
    """Its docstring takes tensors, but a tensor that requires grad (an embedding or a model's output) failed with
    torch's "Can't call numpy() on Tensor that requires grad", and a bfloat16 one was refused as "could not be read
    as numbers (Got unsupported ScalarType BFloat16)"; both are read by their values, labels and targets too."""
    from citrus_hf.evaluation.baselines import fit_minirocket

    train, labels, test = motions
    expected = fit_minirocket(train, labels, test, "classification", 0)
    given = torch.tensor(train, requires_grad=True)
    np.testing.assert_array_equal(fit_minirocket(given, torch.tensor(labels), test, "classification", 0), expected)
    rounded = torch.tensor(train).bfloat16()
    scores = fit_minirocket(rounded, labels, torch.tensor(test).bfloat16(), "classification", 0)
    same = fit_minirocket(
        rounded.float().numpy(), labels, torch.tensor(test).bfloat16().float().numpy(), "classification", 0
    )
    np.testing.assert_array_equal(scores, same)
    cases = [window[:, : 90 + index % 10] for index, window in enumerate(train)]  # aeon's unequal-length list
    as_tensors = [torch.tensor(case, requires_grad=True) for case in cases]
    np.testing.assert_array_equal(
        fit_minirocket(as_tensors, labels, test, "classification", 0),
        fit_minirocket(cases, labels, test, "classification", 0),
    )
    targets = torch.linspace(60.0, 90.0, len(train), requires_grad=True)
    predicted = fit_minirocket(train, targets, test, "regression", 0)
    np.testing.assert_allclose(predicted, fit_minirocket(train, targets.detach().numpy(), test, "regression", 0))


# ------------------------------------------------------------------------ ProtocolConfig's datasets as a sequence


def test_the_protocol_takes_its_datasets_as_any_sequence_of_names(tmp_path):
    """`ProtocolConfig(datasets=...)` now refuses a `datasets` set given itself; a sequence of names that is no list
    or tuple (a Hydra config's ListConfig) was refused with it, as "`datasets` takes a path or a name, got a
    ListConfig; save an in-memory dataset with `dataset.save_to_disk(folder)`". It is a list of its names."""
    from collections.abc import Sequence

    from citrus_hf.evaluation import ProtocolConfig

    class Names(Sequence):  # no list or tuple, as OmegaConf's `ListConfig` (a Hydra config's `datasets: [...]`)
        def __init__(self, names):
            self._names = list(names)

        def __getitem__(self, index):
            return self._names[index]

        def __len__(self):
            return len(self._names)

    config = ProtocolConfig(output_dir=str(tmp_path / "run"), datasets=Names(["basic_motions"]), arms=["prior"])
    assert config.datasets == ["basic_motions"]


# ------------------------------------------------------------------------------- a frame of one recording, 2 levels


def test_a_frame_indexed_by_date_and_time_is_told_the_way_for_one_recording():
    """A logger's CSV read with `index_col=[0, 1]` (a date column and a time-of-day column) is one recording with an
    index of two levels: the new refusal of sktime's 'pd-multiindex' collections told it only to split the frame by
    its first level, one "recording" per day; it names `frame.to_numpy().T` for one recording too."""
    import pandas as pd

    from citrus_hf import CiTrusFeatureExtractor

    times = pd.date_range("2026-12-06 23:59:50", periods=20, freq="1s")
    frame = pd.DataFrame(
        {"x": np.linspace(0.0, 1.0, 20), "y": np.linspace(1.0, 0.0, 20)},
        index=pd.MultiIndex.from_arrays([times.date, times.time], names=["date", "time"]),
    )
    extractor = CiTrusFeatureExtractor.from_config(tiny_config(num_channels=2))
    with pytest.raises(TypeError, match=r"'pd-multiindex'.*one recording indexed by a date and a time of day.*"
                       r"`frame\.to_numpy\(\)\.T`"):  # fmt: skip
        extractor(frame, sampling_rate=1)


# --------------------------------------------------------------------------- Trainer.push_to_hub(blocking=False)


def test_cancelling_a_background_push_cancels_its_upload():
    """`Trainer.push_to_hub(blocking=False)` of a CiTrus model now hands back a future of its own, done once the
    other kind of checkpoint is deleted. Cancelling it while the upload waited behind another push returned True,
    and the upload and the deletion went ahead anyway (then the executor logged an InvalidStateError); cancelling it
    cancels the upload, as cancelling the upload's own future did."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from citrus_hf.publishing.hooks import _followed_by

    ran, gate = [], threading.Event()
    with ThreadPoolExecutor(max_workers=1) as hub:  # huggingface_hub runs its background commits one at a time
        hub.submit(gate.wait)  # an earlier push still uploading
        upload = hub.submit(ran.append, "upload")
        pushed = _followed_by(upload, lambda: ran.append("deletion"))
        try:
            cancelled = pushed.cancel()
        finally:
            gate.set()  # (whatever happened: the executor waits for the earlier push on leaving)
    assert cancelled and pushed.cancelled() and upload.cancelled()
    assert ran == []
    with ThreadPoolExecutor(max_workers=1) as hub:  # one that is done is not cancelled
        pushed = _followed_by(hub.submit(lambda: "commit"), lambda: ran.append("deletion"))
        assert pushed.result() == "commit" and not pushed.cancel() and ran == ["deletion"]


# ------------------------------------------------------------------------------------ the bundled card's spread

REPOSITORY = Path(__file__).resolve().parents[1]


def test_the_card_bundling_script_names_the_spread_the_report_computes():
    """citrus-small's card says "mean ± sample std (ddof 1) over seeds", as the report's tables do, but the script
    that bundles the card wrote its results sentence as "mean ± std over seeds": bundling again would have undone
    the card's correction. It writes the card's sentence."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bundle_citrus_small", REPOSITORY / "scripts/bundle_citrus_small.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    section = script._results_section(REPOSITORY / "benchmarks/results/few_shot")
    written = next(line for line in section.splitlines() if line.startswith("`python benchmarks/few_shot.py"))
    card = (REPOSITORY / "src/citrus_hf/pretrained/citrus-small/README.md").read_text()
    assert written in card.splitlines() and "mean ± sample std (ddof 1) over seeds" in written
