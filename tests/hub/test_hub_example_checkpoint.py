"""examples/hub_round_trip.py --checkpoint: a fine-tuned classifier of another set than BasicMotions is published and
checked on its own set's test windows, loaded back with `trust_remote_code=True` (it was always checked on 6-channel
BasicMotions windows, and reloaded with citrus_hf); a checkpoint of another kind is refused before the push."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import datasets
import pytest
from hub_server import client_env, run_client
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForRegression

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hub_round_trip.py"


def example_module():
    """examples/hub_round_trip.py imported as a module (its `main` not run)."""
    spec = importlib.util.spec_from_file_location("hub_round_trip_example", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    return example


def test_a_checkpoint_is_checked_on_the_test_windows_of_its_own_set(tmp_path):
    """The windows the example checks a checkpoint on are its run's set's (finetune_results.json names eeg_blink, 4
    channels), not BasicMotions' 6-channel ones; a folder without run records (and the untrained --tiny model) gets
    BasicMotions'."""
    example = example_module()
    folder = tmp_path / "blinks"
    folder.mkdir()
    arguments = {"dataset": "eeg_blink", "dataset_options": None, "sampling_rate": None}
    (folder / "finetune_results.json").write_text(json.dumps({"arguments": arguments}))
    windows, rate, source = example.check_windows(str(folder))
    assert source == "8 test windows of eeg_blink" and len(windows) == 8
    assert {window.shape[0] for window in windows} == {4}
    assert rate == datasets_rate("eeg_blink")
    windows, _, source = example.check_windows(None)
    assert source == "8 test windows of basic_motions" and {window.shape[0] for window in windows} == {6}


def datasets_rate(name: str) -> float:
    """The sampling rate the registered set `name` records in its test rows."""
    from citrus_hf.data.splits import load_split

    return float(load_split(name, "test")[0]["sampling_rate"])


# slow: the example's route (push, trust_remote_code reload, round-trip check) is run by test_hub_example's
# test_hub_round_trip_example, the own set's windows pinned by
# test_a_checkpoint_is_checked_on_the_test_windows_of_its_own_set; this adds a fine-tuned run folder published end to end
@pytest.mark.slow
def test_a_checkpoint_is_checked_on_its_own_set_and_reloaded_with_remote_code(hub, hub_server, tmp_path):
    from citrus_hf.commands.main import main as citrus

    # a 4-channel classifier of the headband blinks (the set's own rate), probe-fitted in seconds
    folder = tmp_path / "blinks"
    command = ["finetune", "--model-config", "tiny", "--dataset", "eeg_blink", "--label-budget", "5", "--recipe",
               "probe", "--output-dir", str(folder), "--no-show-progress"]  # fmt: skip
    assert citrus(command) == 0
    # the datasets cache of this process, where the test windows the example reads are built once a session: its
    # Hub cache is its own, and the example rebuilt them there
    environment = client_env(hub_server, tmp_path / "hf_home", HF_DATASETS_CACHE=str(datasets.config.HF_DATASETS_CACHE))
    args = ["--checkpoint", str(folder), "--repo-id", "citrus-tester/blinks"]
    result = run_client(EXAMPLE.read_text(), environment, cwd=tmp_path, args=args)
    assert "pushed citrus-tester/blinks" in result.stdout
    assert "loaded back with trust_remote_code=True: transformers_modules." in result.stdout
    assert "predictions after the round trip on 8 test windows of eeg_blink: [" in result.stdout
    assert "finetune_results" not in set(hub.repo_files("citrus-tester/blinks"))


def test_a_regressor_is_refused_before_the_push(tmp_path, monkeypatch, capsys):
    """The example's own run (`run_script(main)`, its command line in `sys.argv`) in this process: the refusal comes
    before anything is sent (its push is replaced by a failing stand-in), so no Hub client is needed."""
    folder = tmp_path / "regressor"
    model = CiTrusForRegression(tiny_config(num_channels=1))
    model.save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder)
    example = example_module()

    def no_push(*args, **kwargs):
        raise AssertionError("the example pushed a checkpoint it refuses")

    monkeypatch.setattr(example, "push_to_hub", no_push)
    argv = [str(EXAMPLE), "--checkpoint", str(folder), "--repo-id", "citrus-tester/regressor"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as failure:
        example.run_script(example.main)
    assert failure.value.code == 2
    printed = capsys.readouterr().err
    assert "holds a CiTrusForRegression; this example publishes a classifier: use `citrus push" in printed
    assert "Traceback" not in printed
