"""Audit 73 (leftovers): -inf / -nan as option values, clock time in a time column's refusal, ..."""

from __future__ import annotations

import numpy as np
import pytest

# --------------------------------------------------------------------------- -inf and -nan as option values


@pytest.mark.parametrize("value", ["-inf", "-Infinity", "-nan", "-INF"])
def test_a_negative_infinity_or_nan_is_read_as_a_value_and_refused_naming_the_option(tmp_path, value):
    """argparse reads `-inf` as an unknown option, so `--sampling-rate -inf` failed with "expected one argument"
    where `-1e309` (also minus infinity) was refused naming the rate."""
    from citrus_hf.commands import finetune, predict

    recording = tmp_path / "rec.npy"
    np.save(recording, np.zeros((1, 100), dtype=np.float32))
    rate = predict.build_parser().parse(["citrus-small", str(recording), "--sampling-rate", value]).sampling_rate
    assert str(rate) == str(float(value))
    argv = ["--dataset", "x", "--output-dir", str(tmp_path / "out"), "--sampling-rate", value]
    with pytest.raises(ValueError, match=r"--sampling-rate must be a finite number above 0, got -?(inf|nan)"):
        finetune.build_parser().parse(argv)


def test_an_option_named_like_a_word_is_still_an_option(tmp_path):
    """Only -inf / -infinity / -nan themselves are values: `-information` is not a number."""
    from citrus_hf.commands import UsageError, predict

    recording = tmp_path / "rec.npy"
    np.save(recording, np.zeros((1, 100), dtype=np.float32))
    with pytest.raises(UsageError, match="expected one argument"):
        predict.build_parser().parse(["citrus-small", str(recording), "--sampling-rate", "-information"])


# ------------------------------------------------------------------- a daylight-saving refusal names clock time


def _clock_csv(path, before, after, rate=100.0, zone=""):
    import datetime

    def times(first, count):
        return [(first + datetime.timedelta(seconds=index / rate)).isoformat(sep=" ") + zone for index in range(count)]

    stamps = times(before, 100) + times(after, 200)
    path.write_text("time,ecg\n" + "".join(f"{stamp},{index % 7}\n" for index, stamp in enumerate(stamps)))
    return path


@pytest.mark.parametrize(
    ("before", "after", "shown"),
    [
        (
            (2025, 10, 26, 2, 59, 59),
            (2025, 10, 26, 2, 0, 0),
            "goes back from 2025-10-26 02:59:59.99 to 2025-10-26 02:00:00",
        ),
        (
            (2025, 3, 30, 1, 59, 59),
            (2025, 3, 30, 3, 0, 0),
            "jumps from 2025-03-30 01:59:59.99 to 2025-03-30 03:00:00 (",
        ),
    ],
)
def test_a_daylight_saving_refusal_shows_the_clock_times(tmp_path, before, after, shown):
    """read_recording refused local clock times across a daylight-saving change showing them as seconds from the
    first sample ("goes back from 0.99 to -3599 s"), which the user cannot find in the file."""
    import datetime

    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.readers import read_recording

    path = _clock_csv(tmp_path / "log.csv", datetime.datetime(*before), datetime.datetime(*after))
    with pytest.raises(CorruptFileError, match="daylight saving") as caught:
        read_recording(path, sampling_rate=100)
    assert shown in str(caught.value)


def test_a_gap_in_zoned_clock_times_is_shown_as_clock_time(tmp_path):
    import datetime

    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.readers import read_recording

    path = _clock_csv(
        tmp_path / "log.csv",
        datetime.datetime(2025, 3, 1, 9, 0, 0),
        datetime.datetime(2025, 3, 1, 9, 0, 5),
        zone="+00:00",
    )
    with pytest.raises(
        CorruptFileError, match=r"jumps from 2025-03-01 09:00:00.99\+00:00 to 2025-03-01 09:00:05\+00:00"
    ):
        read_recording(path, sampling_rate=100)


def test_a_gap_in_a_timedelta_column_is_still_shown_in_seconds(tmp_path):
    """pandas writes a TimedeltaIndex as "0 days 00:00:00.010000": its stamps are elapsed seconds, not dates."""
    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.readers import read_recording

    seconds = [index / 100 for index in range(100)] + [5 + index / 100 for index in range(200)]
    cells = [f"0 days 00:00:{second:09.6f}" for second in seconds]
    path = tmp_path / "log.csv"
    path.write_text("time,ecg\n" + "".join(f"{cell},{index % 7}\n" for index, cell in enumerate(cells)))
    with pytest.raises(CorruptFileError, match=r"jumps from 0.99 to 5 s"):
        read_recording(path, sampling_rate=100)


# ---------------------------------------------------------------------------------------- a boolean .npy file


def test_a_boolean_npy_is_refused_as_the_extractor_refuses_booleans(tmp_path):
    """A boolean `.npy` (a trigger or marker channel) was read as a 0 / 1 signal while the feature extractor refuses
    boolean arrays: `citrus predict` scored the markers as a signal without a word."""
    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.readers import read_recording

    markers = np.zeros((2, 500), dtype=bool)
    markers[:, ::50] = True
    np.save(tmp_path / "markers.npy", markers)
    with pytest.raises(CorruptFileError, match=r"markers.npy holds a boolean array.*not a real-valued signal.*astype"):
        read_recording(tmp_path / "markers.npy", sampling_rate=100)
    np.save(tmp_path / "ints.npy", markers.astype(np.int8))  # integers stay a signal
    assert read_recording(tmp_path / "ints.npy", sampling_rate=100).data.shape == (2, 500)


# ------------------------------------------------------------------------- dataset_scripts/tfc_benchmark.py


def _tfc_script_builds(monkeypatch, argv):
    """The folders `tfc_benchmark.py argv` builds from, in order (nothing fetched, built or published)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "dataset_scripts" / "tfc_benchmark.py"
    spec = importlib.util.spec_from_file_location("audit73_tfc_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = []
    monkeypatch.setattr(module, "build_dataset", lambda name, data_dir, **kwargs: built.append((name, data_dir)))
    monkeypatch.setattr(module, "summarize_dataset", lambda dataset: {})
    monkeypatch.setattr(module, "format_info", lambda info: "")
    monkeypatch.setattr(module, "publish_from_args", lambda *args, **kwargs: None)
    assert module.main([*argv, "--no-download"]) == 0
    return built


def test_the_tfc_script_builds_a_set_named_twice_once(tmp_path, monkeypatch):
    built = _tfc_script_builds(monkeypatch, ["epilepsy", "har", "epilepsy", "--data-dir", str(tmp_path)])
    assert built == [("tfc_epilepsy", tmp_path / "epilepsy"), ("tfc_har", tmp_path / "har")]


def test_the_tfc_script_finds_the_other_sets_beside_a_sets_own_folder(tmp_path, monkeypatch):
    """`all --data-dir X/epilepsy` (the folder the "missing" error names for epilepsy) looked for every other set
    under it (X/epilepsy/har): they lie beside it."""
    from citrus_hf.data.sources.tfc import TFC_SETS

    built = dict(_tfc_script_builds(monkeypatch, ["all", "--data-dir", str(tmp_path / "epilepsy")]))
    assert built == {f"tfc_{name}": tmp_path / name for name in TFC_SETS}
    # a root that holds the sets' folders is one, whatever its name
    (tmp_path / "epilepsy" / "har").mkdir(parents=True)
    built = dict(_tfc_script_builds(monkeypatch, ["har", "--data-dir", str(tmp_path / "epilepsy")]))
    assert built == {"tfc_har": tmp_path / "epilepsy" / "har"}


@pytest.mark.parametrize("value", ["-inf", "-1e2"])
def test_a_dataset_scripts_number_option_takes_a_negative_value(value):
    """The dataset scripts' parser took `--before-seconds -1e2` (or -inf) for an option: "expected one argument"."""
    from citrus_hf.commands.script import ScriptParser

    parser = ScriptParser()
    parser.add_argument("--before-seconds", type=float)
    assert str(parser.parse_args(["--before-seconds", value]).before_seconds) == str(float(value))
