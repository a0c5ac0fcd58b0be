"""Audit 66, physical units: files are read in the unit their header declares, a fine-tuned checkpoint records its
training files' units (`channel_units` in its feature extractor) and converts a recording declared in other voltages
(mV for µV) or refuses one in a unit that cannot be converted; `citrus predict` names each file whose spread says it
is in another unit; the aligners of labelled sets say it at every run, cached rows too; and the files of a labelled
folder are compared in one spelling of their units ("uV", "uv" and "µV" are one unit) and converted to the first's."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers.utils import logging as hf_logging  # noqa: F401  (gives `logging.Logger` its `warning_once`)

from citrus_hf import vocabulary_citrus as vocabulary  # (its unit table by attribute: each test fails on its own)
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from tiny_configs import tiny_config, write_edf  # noqa: E402

RATE = 100
NAMES = ["C3", "C4"]
# a 2 s recording in µV of each class: 20 µV and 80 µV alpha (amplitude carries the label)
AMPLITUDES = {"a": 20.0, "b": 80.0}


def _signal(amplitude: float, seed: int) -> np.ndarray:
    """`(2, 200)` µV: a 10 Hz rhythm of `amplitude` with noise, 2 s at 100 Hz."""
    rng = np.random.default_rng(seed)
    times = np.arange(2 * RATE) / RATE
    return np.stack(
        [amplitude * np.sin(2 * np.pi * 10 * times + rng.uniform(0, 6)) + rng.normal(0, amplitude * 0.3, times.size)]
        * 2
    )


def _write_edf(path: Path, samples: np.ndarray, dimensions: list[str], peak: float | None = None) -> Path:
    """An EDF+ file of `samples` `(2, time)` at 100 Hz, each signal's physical dimension `dimensions`."""
    # a power of ten above the samples: EDF writes the range in 8 characters
    peak = 10.0 ** np.ceil(np.log10(np.abs(samples).max() * 1.2)) if peak is None else peak
    return write_edf(path, list(samples), NAMES, RATE, dimensions, peak=peak)


def _labelled_set(root: Path, per_class: dict[str, int] | None = None) -> Path:
    """`train/<class>/` and `test/<class>/` EDF files in µV (3 and 2 per class)."""
    seed = 0
    for split, count in (per_class or {"train": 3, "test": 2}).items():
        for label, amplitude in AMPLITUDES.items():
            (root / split / label).mkdir(parents=True, exist_ok=True)
            for number in range(count):
                seed += 1
                _write_edf(root / split / label / f"{label}{number}.edf", _signal(amplitude, seed), ["uV", "uV"])
    return root


def _messages(logger_name: str, call):
    """What `call` logs through the logger `logger_name` as text, and what it returns."""
    logging.Logger.warning_once.cache_clear()  # transformers says a notice once per process
    logger = logging.getLogger(logger_name)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        result = call()
    finally:
        logger.removeHandler(handler)
    return " ".join(record.getMessage() for record in records), result


def _fixed_checkpoint(folder: Path, channel_units: list[str] | None) -> str:
    """A tiny 2-class classifier normalising with microvolt statistics (`normalization="fixed"`), its extractor
    recording `channel_units`, saved in `folder`."""
    from citrus_hf import CiTrusForSequenceClassification

    torch.manual_seed(0)
    config = tiny_config(
        num_channels=2,
        channel_names=NAMES,
        num_labels=2,
        id2label={0: "a", 1: "b"},
        label2id={"a": 0, "b": 1},
        normalization="fixed",
        normalization_mean=[0.0, 0.0],
        normalization_std=[40.0, 40.0],
    )
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config, channel_units=channel_units).save_pretrained(folder)
    return str(folder)


# ------------------------------------------------------------------------------------------------ the unit table


@pytest.mark.parametrize(
    ("unit", "canonical"),
    [("uV", "µV"), ("uv", "µV"), ("µV", "µV"), ("\u03bcV", "µV"), (" mV ", "mV"), ("mv", "mV"), ("V", "V")]
    + [("nV", "nV"), ("MV", "MV"), ("%", "%"), ("", ""), (None, "")],
)
def test_one_spelling_per_unit_and_the_prefix_case_respected(unit, canonical):
    assert vocabulary.canonical_unit(unit) == canonical


def test_voltages_convert_by_powers_of_1000_and_nothing_else_does():
    assert vocabulary.unit_factor("mV", "uV") == 1000.0
    assert vocabulary.unit_factor("V", "µV") == 1e6
    assert vocabulary.unit_factor("nV", "uv") == 1e-3
    assert vocabulary.unit_factor("uV", "µV") == vocabulary.unit_factor("\u03bcV", "uv") == 1.0
    # "MV" is megavolts (or a mistyped mV): never read as millivolts
    assert vocabulary.unit_factor("MV", "mV") is None
    assert vocabulary.unit_factor("%", "µV") is None and vocabulary.unit_factor("", "µV") is None


# ------------------------------------------------------------------------------- 1: units recorded and converted


def test_the_extractor_saves_and_loads_its_channel_units_and_an_old_file_loads_without(tmp_path):
    config = tiny_config(num_channels=2)
    CiTrusFeatureExtractor.from_config(config, channel_units=["uV", "mV"]).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved["channel_units"] == ["µV", "mV"]
    assert CiTrusFeatureExtractor.from_pretrained(tmp_path).channel_units == ["µV", "mV"]
    del saved["channel_units"]  # an extractor saved before units were recorded
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(saved))
    assert CiTrusFeatureExtractor.from_pretrained(tmp_path).channel_units is None
    with pytest.raises(ValueError, match="one unit per channel"):
        CiTrusFeatureExtractor.from_config(config, channel_units=["uV"])


def test_a_call_converts_declared_voltages_to_the_recorded_units_and_refuses_others():
    config = tiny_config(
        num_channels=2,
        channel_names=NAMES,
        normalization="fixed",
        normalization_mean=[0, 0],
        normalization_std=[40, 40],
    )
    extractor = CiTrusFeatureExtractor.from_config(config, channel_units=["µV", "µV"])
    microvolts = _signal(80.0, 1)
    expected = extractor(microvolts, sampling_rate=RATE)["input_values"]
    # one channel in mV, the other in µV, the channels in another order: picked by name, each converted
    mixed = np.stack([microvolts[1], microvolts[0] / 1000])
    said, features = _messages(
        "citrus_hf.feature_extraction_citrus",
        lambda: extractor(
            mixed, sampling_rate=RATE, input_channel_units=["uV", "mV"], input_channel_names=["C4", "C3"]
        ),
    )
    np.testing.assert_allclose(features["input_values"], expected, atol=1e-5)
    assert "'C3' from mV to µV (x1000)" in said
    with pytest.raises(vocabulary.UnitError, match=r"channel 'C3' is in '%'.*trained on 'µV'.*export it so"):
        extractor(microvolts, sampling_rate=RATE, input_channel_units=["%", "uV"], input_channel_names=NAMES)
    # a checkpoint that records no units takes the samples as they are
    unrecorded = CiTrusFeatureExtractor.from_config(config)
    np.testing.assert_array_equal(
        unrecorded(microvolts / 1000, sampling_rate=RATE, input_channel_units=["mV", "mV"])["input_values"],
        unrecorded(microvolts / 1000, sampling_rate=RATE)["input_values"],
    )


def test_finetune_on_files_that_declare_units_records_them(tmp_path):
    from citrus_hf.training.finetune import FinetuneArguments, TrainerSettings, finetune

    dataset = _labelled_set(tmp_path / "set")
    output = tmp_path / "run"
    finetune(
        FinetuneArguments(
            output_dir=str(output),
            dataset=str(dataset),
            model_config="tiny",
            config_overrides={"sampling_rate": 100.0, "context_length": 200, "patch_length": 20},
            recipe="probe",
            trainer=TrainerSettings(show_progress=False),
        )
    )
    saved = json.loads((output / "preprocessor_config.json").read_text())
    assert saved["channel_units"] == ["µV", "µV"] and saved["channel_names"] == NAMES
    assert CiTrusFeatureExtractor.from_pretrained(output).channel_units == ["µV", "µV"]


def test_predict_converts_a_file_in_millivolts_and_refuses_one_in_another_unit(tmp_path, capsys):
    from citrus_hf.commands.main import main

    model = _fixed_checkpoint(tmp_path / "model", ["µV", "µV"])
    microvolts = _signal(80.0, 1)
    in_uv = _write_edf(tmp_path / "uv.edf", microvolts, ["uV", "uV"])
    # a loud recording in mV (its spread alone would not say so) and one with a channel in mV beside one in µV
    in_mv = _write_edf(tmp_path / "mv.edf", microvolts / 1000, ["mV", "mV"])
    mixed = _write_edf(tmp_path / "mixed.edf", np.stack([microvolts[0] / 1000, microvolts[1]]), ["mV", "uV"], 200.0)
    outputs = {}
    for path in (in_uv, in_mv, mixed):
        output = tmp_path / f"{path.stem}.csv"
        assert main(["predict", model, str(path), "--backend", "torch", "--output", str(output)]) == 0
        outputs[path.stem] = np.loadtxt(output, delimiter=",", skiprows=1, usecols=(-3, -2))  # (no_signal last)
        captured = capsys.readouterr()
        if path is not in_uv:
            assert f"note: {path}: converted channel(s) 'C3'" in captured.err and "to µV (x1000)" in captured.err
    np.testing.assert_allclose(outputs["mv"], outputs["uv"], atol=1e-4)
    np.testing.assert_allclose(outputs["mixed"], outputs["uv"], atol=1e-3)
    percent = _write_edf(tmp_path / "spo2.edf", np.full((2, 200), 97.0) + microvolts / 100, ["%", "uV"])
    assert main(["predict", model, str(percent), "--backend", "torch"]) != 0
    message = capsys.readouterr().err
    assert str(percent) in message and "'C3' is in '%'" in message and "'µV'" in message and "--channels" in message


def test_the_pipeline_converts_a_file_and_an_array_given_its_units(tmp_path):
    from transformers import pipeline

    from citrus_hf.inference.registration import register_pipelines

    register_pipelines()
    model = _fixed_checkpoint(tmp_path / "model", ["µV", "µV"])
    microvolts = _signal(80.0, 1)
    in_mv = _write_edf(tmp_path / "mv.edf", microvolts / 1000, ["mV", "mV"])
    classify = pipeline(model=model, backend="torch", top_k=None)
    expected = classify(microvolts, sampling_rate=RATE)
    said, from_file = _messages("citrus_hf.inference.pipelines", lambda: classify(str(in_mv)))
    assert f"{in_mv}: converted channel(s) 'C3', 'C4' from mV to µV" in said
    assert from_file["score"] == pytest.approx(expected["score"], abs=1e-4)
    from_array = classify(microvolts / 1000, sampling_rate=RATE, input_channel_units=["mV", "mV"])
    assert from_array["score"] == pytest.approx(expected["score"], abs=1e-4)


# --------------------------------------------------------------------------- 2: each file named, in CLI words


def test_predict_names_every_file_whose_spread_says_another_unit(tmp_path, capsys):
    from citrus_hf.commands.main import main

    model = _fixed_checkpoint(tmp_path / "model", None)  # fine-tuned before units were recorded
    microvolts = _signal(80.0, 1)
    files = [
        _write_edf(tmp_path / "1.edf", microvolts, ["uV", "uV"]),
        _write_edf(tmp_path / "2.edf", microvolts / 1000, ["mV", "mV"]),
        _write_edf(tmp_path / "3.edf", microvolts / 1000, ["mV", "mV"]),
    ]
    assert main(["predict", model, *map(str, files), "--backend", "torch"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "likely in another unit" in line]
    assert len(warned) == 2
    for line, path in zip(warned, files[1:], strict=True):
        assert f"The spread of {path} is about 0.001 times" in line
        assert "multiplied by 1000" in line and "score it again" in line and "call it again" not in line


# --------------------------------------------------------------------- 3: said outside the cached map, every run


def test_rows_in_another_unit_are_named_at_every_alignment_cached_or_not(tmp_path, monkeypatch):
    import datasets

    from citrus_hf.data.alignment import align_task_split

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    rows = [_signal(AMPLITUDES[label], seed) for seed, label in enumerate("abab")]
    rows[3] = rows[3] * 1e-6  # a file exported in volts
    datasets.Dataset.from_dict(
        {
            "input_values": [row.astype(np.float32) for row in rows],
            "label": [0, 1, 0, 1],
            "recording": [f"test/{label}/{number}.npy" for number, label in enumerate("abab")],
        }
    ).save_to_disk(tmp_path / "split")
    split = datasets.load_from_disk(str(tmp_path / "split"))  # on disk: its aligned rows go to a cache file
    config = tiny_config(num_channels=2, normalization="fixed", normalization_mean=[0, 0], normalization_std=[40, 40])
    extractor = CiTrusFeatureExtractor.from_config(config)
    said = []
    for _ in range(2):  # the second run reads the aligned rows from the cache
        text, aligned = _messages(
            "citrus_hf.data.alignment",
            lambda: align_task_split(split, extractor, "classification", RATE, where="test split"),
        )
        said.append(text)
    assert aligned.cache_files  # (cached, as a command's splits are)
    for text in said:
        assert "The spread of 1 row(s) of the test split (row 3: test/b/3.npy) is about 1e-06 times" in text
        assert "multiplied by 1e+06" in text


# ------------------------------------------------------------------------- 4: one spelling, voltages converted


def _one_file_replaced(root: Path, write) -> Path:
    """A µV labelled set whose train/b/b1.edf is replaced by what `write(folder, samples)` writes."""
    _labelled_set(root, {"train": 2, "test": 1})
    samples = _signal(AMPLITUDES["b"], 4)
    (root / "train" / "b" / "b1.edf").unlink()
    write(root / "train" / "b", samples)
    return root


def _train_rows(root: Path) -> dict[str, dict]:
    from citrus_hf.data.recording_folders import load_recording_folder

    train = load_recording_folder(root)["train"]
    return {row["recording"]: row for row in train}


@pytest.mark.parametrize("spelling", ["wfdb uV", "edf uv"])
def test_files_in_one_unit_spelt_otherwise_are_read_alike(tmp_path, spelling):
    def write(folder: Path, samples: np.ndarray) -> None:
        if spelling == "edf uv":
            _write_edf(folder / "b1.edf", samples, ["uv", "uv"])
            return
        wfdb = pytest.importorskip("wfdb")
        wfdb.wrsamp(
            "b1", fs=RATE, units=["uV", "uV"], sig_name=NAMES, p_signal=samples.T, fmt=["16", "16"],
            adc_gain=[100.0, 100.0], baseline=[0, 0], write_dir=str(folder),
        )  # fmt: skip

    rows = _train_rows(_one_file_replaced(tmp_path / "set", write))
    assert {tuple(row["channel_units"]) for row in rows.values()} == {("µV", "µV")}


def test_a_file_in_millivolts_among_microvolts_is_converted_to_them(tmp_path):
    samples = _signal(AMPLITUDES["b"], 4)
    root = _one_file_replaced(
        tmp_path / "set", lambda folder, _: _write_edf(folder / "b1.edf", samples / 1e3, ["mV"] * 2)
    )
    said, rows = _messages("citrus_hf.data.recording_folders", lambda: _train_rows(root))
    row = rows["train/b/b1.edf"]
    assert row["channel_units"] == ["µV", "µV"]
    np.testing.assert_allclose(np.asarray(row["input_values"]), samples, rtol=1e-3, atol=0.05)
    assert "in mV" in said and "converted to µV (x1000)" in said


@pytest.mark.parametrize(("units", "shown"), [(["%", "%"], "in %"), (["MV", "MV"], "in MV"), (["", ""], "in no unit")])
def test_a_file_in_a_unit_that_cannot_be_converted_is_refused(tmp_path, units, shown):
    """Refused before as well (their text differs); kept so: "MV" (megavolts) is not millivolts, and a channel without
    a unit beside one in µV cannot be trusted to be in µV."""
    samples = _signal(AMPLITUDES["b"], 4)
    root = _one_file_replaced(tmp_path / "set", lambda folder, _: _write_edf(folder / "b1.edf", samples / 1e3, units))
    with pytest.raises(vocabulary.UnitError) as refused:
        _train_rows(root)
    message = str(refused.value)
    assert "b1.edf" in message and shown in message and "a0.edf in µV" in message and "same units" in message


def test_a_file_without_units_among_files_that_declare_them_is_named(tmp_path):
    """(Session 67) a WAV file (which records no unit) among µV EDF files was read as µV without a word; it may be
    in another unit, which nothing in it tells. Its values are still read as they are (the set's behaviour before
    units were compared), and that is said once."""
    from scipy.io import wavfile

    samples = _signal(AMPLITUDES["b"], 4).astype(np.float32)
    root = _one_file_replaced(tmp_path / "set", lambda folder, _: wavfile.write(folder / "b1.wav", RATE, samples.T))
    said, rows = _messages("citrus_hf.data.recording_folders", lambda: _train_rows(root))
    row = rows["train/b/b1.wav"]
    np.testing.assert_allclose(np.asarray(row["input_values"]), samples, rtol=1e-6)
    assert row["channel_units"] == ["µV", "µV"]
    assert said.count("declares no units") == 1 and "b1.wav" in said and "(µV)" in said
