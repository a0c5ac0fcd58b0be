"""Session 66, signal pathologies: one bad training file deciding the saved normalisation statistics, windows without
signal deciding a recording's label, 50 Hz mains at a 100 Hz contract, float64 files beyond float32's range in a
recording folder, an inf sample under --nan-policy interpolate, fp16 autocast and wide inputs, a baseline step in
float ADC counts."""

from __future__ import annotations

import logging

import datasets
import numpy as np
import pytest
from tiny_configs import tiny_config

from citrus_hf.data.alignment import channel_statistics

RATE = 250.0


def _amplitude_rows(poison: str | None = None, rows: int = 12, samples: int = 500) -> dict:
    """`rows` one-channel recordings of a 6 Hz tone of amplitude 10 or 14 (the class) in noise, row 0 poisoned as
    the audit's repro poisons one training file."""
    rng = np.random.default_rng(1)
    time = np.arange(samples) / RATE
    values = []
    for row in range(rows):
        amplitude = 10 if row % 2 == 0 else 14
        signal = amplitude * np.sin(2 * np.pi * 6 * time + rng.uniform(0, 6)) + 3 * rng.standard_normal(samples)
        values.append(signal[None].astype(np.float32))
    if poison == "spike":
        values[0][0, 123] = 1e6  # one electrode pop
    elif poison == "rail":
        values[0][0, 100:300] = 32767.0  # stuck at the int16 rail
    elif poison == "dc":
        values[0][0] += 1e4  # a DC offset
    elif poison == "unit":
        values[0] *= 1e6  # another unit
    return {
        "input_values": values,
        "label": [row % 2 for row in range(rows)],
        "recording": [f"train/{'low' if row % 2 == 0 else 'high'}/r{row}.npy" for row in range(rows)],
    }


# ---------------------------------------------------------------------------------------------- 1. statistics


@pytest.mark.parametrize("poison", ["spike", "rail", "dc", "unit"])
def test_one_row_that_dominates_a_channels_statistics_is_named(poison, caplog):
    """One training file (an electrode pop, 2 s at the rail, a DC offset, another unit) decided the saved per-channel
    statistics (std 7071 for a set of spread 9) without a word, and fitting fell to chance. The statistics stay as
    they were (published figures depend on them); a warning names the row, its file, the channel and the fix."""
    rows = _amplitude_rows(poison)
    joined = np.concatenate(rows["input_values"], axis=1).astype(np.float64)
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        mean, std = channel_statistics(datasets.Dataset.from_dict(rows), where="amp train split")
    np.testing.assert_allclose(mean, joined.mean(axis=1), rtol=1e-9)
    np.testing.assert_allclose(std, joined.std(axis=1), rtol=1e-9)
    said = caplog.text
    assert "row 0 (train/low/r0.npy)" in said and "channel 0" in said and "amp train split" in said, said
    assert "clean or drop" in said and "--nan-policy" in said, said


def test_clean_rows_and_rows_of_two_amplitudes_give_no_warning(caplog):
    """A clean set, and one whose classes differ in amplitude by 3x (what dataset normalisation keeps), say nothing."""
    clean = _amplitude_rows()
    louder = _amplitude_rows()
    louder["input_values"] = [row * (3.0 if index % 2 else 1.0) for index, row in enumerate(louder["input_values"])]
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        for rows in (clean, louder):
            channel_statistics(datasets.Dataset.from_dict(rows))
    assert not caplog.records, caplog.text


def test_the_rows_are_named_by_their_number_in_the_users_split(caplog):
    """A pool carved out of train holds a selection of its rows: the warning names the row as the user's split
    numbers it (`row_numbers`), and without a `recording` column by its number alone."""
    rows = _amplitude_rows("dc")
    del rows["recording"]
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        channel_statistics(datasets.Dataset.from_dict(rows), row_numbers=np.arange(12) + 40)
    assert "channel 0: row 40 holds" in caplog.text and "(train/" not in caplog.text, caplog.text


# ------------------------------------------------------------------------------------------------ 3. mains hum


def _tones(*components: tuple[float, float], rows: int = 4, seconds: float = 8.0) -> datasets.Dataset:
    """`rows` one-channel recordings at `RATE` of the (frequency Hz, amplitude) `components`, each at its own phase."""
    rng = np.random.default_rng(0)
    time = np.arange(int(seconds * RATE)) / RATE
    values = [
        sum(amplitude * np.sin(2 * np.pi * frequency * time + rng.uniform(0, 6)) for frequency, amplitude in components)
        for _ in range(rows)
    ]
    return datasets.Dataset.from_dict({"input_values": [v[None].astype(np.float32) for v in values]})


def test_50_hz_hum_at_a_100_hz_contract_is_kept_power_and_the_notice_says_to_notch_it():
    """50 Hz mains is the new Nyquist frequency of a 100 Hz model, where the anti-aliasing filter passes half its
    amplitude: the notice left it out as hum "resampling removes to the good". Only the hum resampling does remove
    (60 Hz, and every harmonic above 50 Hz) stays out of the share; the 50 Hz hum counts as power the model gets,
    and the notice says to notch it."""
    from citrus_hf.data.alignment import lost_band_notice

    model = tiny_config(sampling_rate=100.0)
    # 80 % of the power (aside from hum) at 80 Hz, above the model's 50 Hz Nyquist frequency
    with_60 = lost_band_notice([_tones((10, 1.0), (80, 2.0), (60, 3.0), (120, 1.0))], model, RATE)
    assert with_60 is not None and with_60.startswith("80% of the recordings' power lies above 50 Hz"), with_60
    assert "50 Hz mains hum" in with_60 and "half its amplitude" in with_60 and "notch" in with_60, with_60
    # the 50 Hz hum reaches the model (at half amplitude): it is power kept, and most of the power is no longer lost
    assert lost_band_notice([_tones((10, 1.0), (80, 2.0), (50, 3.0))], model, RATE) is None
    # a model whose Nyquist frequency is no mains frequency says nothing of it
    elsewhere = lost_band_notice([_tones((10, 1.0), (80, 3.0))], tiny_config(sampling_rate=80.0), RATE)
    assert elsewhere is not None and "mains" not in elsewhere.split("removes.")[1], elsewhere


def test_the_readme_no_longer_says_resampling_removes_50_hz_hum():
    from pathlib import Path

    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    assert "passes half its amplitude" in readme and "notch" in readme
    assert (
        "Nyquist frequency (50 Hz for citrus-small): where that is more than half of the recordings' power, mains "
        "hum aside" not in readme
    )


# ------------------------------------------------------------------------------- 6. an inf sample, interpolated


def test_an_inf_sample_gives_a_finite_share_and_no_numpy_warning():
    """`np.nan_to_num` turned an inf sample (interpolated later, --nan-policy interpolate) into 1.8e308: the FFT
    overflowed, numpy warned three times and the notice said "nan% of the recordings' power"."""
    import warnings

    from citrus_hf.data.alignment import lost_band_notice

    rows = _tones((10, 1.0), (80, 3.0)).to_dict()
    rows["input_values"][1][0][100] = np.inf
    rows["input_values"][2][0][7] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        notice = lost_band_notice([datasets.Dataset.from_dict(rows)], tiny_config(sampling_rate=100.0), RATE)
    assert notice is not None and notice.startswith("90% of the recordings' power"), notice


def test_float32_samples_near_their_maximum_are_z_scored_without_a_numpy_warning():
    """`np.ptp` of float32 samples near +-3.4e38 overflowed inside `_offsets_removed` ("overflow encountered in
    subtract" leaked to the user) though the windows came out right."""
    import warnings

    from citrus_hf import CiTrusFeatureExtractor

    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    time = np.arange(400) / 100.0
    recording = (3e38 * np.sin(2 * np.pi * 3 * time))[None].astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        windows = extractor(recording, sampling_rate=100.0, alignment="window", return_tensors="np")["input_values"]
    np.testing.assert_allclose(windows.std(axis=(1, 2)), 1.0, rtol=1e-3)


# ------------------------------------------------------------------------------ 9. a baseline step in ADC counts


def _counts_with_a_step(seconds: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    time = np.arange(int(seconds * RATE)) / RATE
    swing = 4 * np.sin(2 * np.pi * 3 * time) + np.random.default_rng(0).standard_normal(time.size)
    return time, 2**23 + swing + 100_000 * (time >= seconds / 2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_baseline_step_in_float_adc_counts_no_longer_zeroes_windows(dtype):
    """24-bit counts near 2^23 with a swing of a few counts lost their offset to `_offsets_removed` only while the
    recording's span was small: a +100,000-count step half-way (the electrode re-settles) made the span large, the
    offset stayed, and every window away from the step was zeroed as 'constant' without a word."""
    import citrus_hf
    from citrus_hf import CiTrusFeatureExtractor

    extractor = CiTrusFeatureExtractor.from_pretrained(citrus_hf.bundled_checkpoint("citrus-small"), alignment="window")
    _, counts = _counts_with_a_step()
    windows = extractor(counts.astype(dtype)[None], sampling_rate=RATE, return_tensors="np")["input_values"]
    np.testing.assert_allclose(windows.std(axis=(1, 2)), 1.0, rtol=1e-3)


@pytest.mark.parametrize("name", ["eeg_blink", "systole_affect", "hr_ecg", "watch_exercises", "myo_gestures"])
def test_offsets_of_real_recordings_are_removed_exactly_as_before(name, offline_archives_cached):
    """The step's fix looks for a stretch of the recording whose swing z-scoring would zero as rounding (a positive
    span below twice `_CONSTANT_RELATIVE_TOLERANCE` of its mean): on real recordings (EEG, ECG, EDA quantised at 1.5e-3
    on an offset of 10 uS, IMU, EMG) it changes no decision of the whole-recording rule, so their windows are the
    same to the bit."""
    from citrus_hf.data.splits import load_split
    from citrus_hf.feature_extraction_citrus import _OFFSET_TO_SPAN, _offsets_removed

    split = load_split(name, "train")
    for row in split.select(range(min(200, len(split)))).with_format("numpy", columns=["input_values"], dtype=None):
        recording = np.atleast_2d(np.asarray(row["input_values"]))
        recording = recording if recording.dtype == np.float64 else recording.astype(np.float32)
        spans = recording.max(axis=-1).astype(np.float64) - recording.min(axis=-1)
        before = np.abs(recording.mean(axis=-1, dtype=np.float64)) > _OFFSET_TO_SPAN * spans
        centred = _offsets_removed(recording)
        assert (centred is recording) == (not before.any())
        np.testing.assert_array_equal(centred[~before], recording[~before])


# ------------------------------------------------------------ 5. float64 files beyond float32's range in a folder


def _folder_with_a_fill_value(root, value: float = 1e300):
    """A labelled folder of float64 .npy files, one of which holds a stretch of `value` (a fill value)."""
    rng = np.random.default_rng(1)
    for split in ("train", "test"):
        for label in ("low", "high"):
            (root / split / label).mkdir(parents=True)
            for index in range(2):
                signal = rng.standard_normal((1, 500))
                if (split, label, index) == ("train", "low", 1):
                    signal[0, 100:150] = value
                np.save(root / split / label / f"r{index}.npy", signal)
    return root


@pytest.mark.parametrize("nan_policy", ["raise", "interpolate"])
def test_a_folder_refuses_float64_values_beyond_float32_before_its_cast(nan_policy, tmp_path):
    """The folder reader cast each file to float32 first: 1e300 became inf, was reported as "NaN or infinite" (with
    NaN advice), and --nan-policy interpolate filled it silently. It is refused as `citrus predict` refuses it."""
    from citrus_hf.data.splits import load_task_splits

    root = _folder_with_a_fill_value(tmp_path / "set")
    with pytest.raises(ValueError) as caught:
        load_task_splits(str(root), sampling_rate=RATE, nan_policy=nan_policy, require_validation=False)
    said = str(caught.value)
    assert "r1.npy" in said and "beyond float32's range" in said and "rescale" in said, said
    assert "NaN" not in said, said


def test_an_unlabelled_folder_refuses_them_too_and_keeps_what_float32_holds(tmp_path):
    """`citrus data build` / pre-training read a folder in segments: the same refusal; a float64 file within
    float32's range (and one with a real inf, which the NaN / inf rules handle) reads as before."""
    from citrus_hf.data.recording_folders import load_recording_folder

    rng = np.random.default_rng(0)
    (tmp_path / "bad").mkdir()
    signal = rng.standard_normal((2, 400))
    signal[1, 10] = -1e200
    np.save(tmp_path / "bad" / "a.npy", signal)
    with pytest.raises(ValueError, match=r"a\.npy.*up to 1e\+200, beyond float32's range.*rescale"):
        load_recording_folder(tmp_path / "bad", sampling_rate=RATE)
    (tmp_path / "good").mkdir()
    signal[1, 10] = np.inf
    np.save(tmp_path / "good" / "a.npy", signal)
    rows = load_recording_folder(tmp_path / "good", sampling_rate=RATE).with_format("numpy")
    assert np.isinf(rows[0]["input_values"][1, 10])


# ------------------------------------------------------------------------------------- 8. fp16 autocast


@pytest.mark.parametrize("model_class", ["CiTrusForSequenceClassification", "CiTrusModel"])
def test_fp16_autocast_refuses_inputs_its_arithmetic_overflows_on_as_float16_weights_do(model_class):
    """A float16 model refused inputs beyond 1e3 (`_MAX_FLOAT16_INPUT_MAGNITUDE`) with a clear error, but the same
    forward under `torch.autocast(dtype=torch.float16)` (fp16 inference, the Trainer's fp16 evaluation) returned NaN
    logits and embeddings without a word. bfloat16 autocast keeps float32's range and is not limited."""
    import torch

    import citrus_hf

    model = getattr(citrus_hf, model_class)(tiny_config(num_labels=2)).eval()
    wide = torch.randn(1, 1, 200) * 1e4
    with torch.no_grad():
        with torch.autocast("cpu", dtype=torch.float16), pytest.raises(ValueError) as caught:
            model(input_values=wide)
        said = str(caught.value)
        assert "beyond 1000" in said and "float16" in said and "autocast" in said and "bfloat16" in said, said
        with torch.autocast("cpu", dtype=torch.float16):
            model(input_values=wide / 1e4)  # an input of the unit it was trained on runs
        with torch.autocast("cpu", dtype=torch.bfloat16):
            model(input_values=wide)


# ------------------------------------------------------------------------------ 2. windows without signal


def _tiny_checkpoint(folder, model_class: str = "CiTrusForSequenceClassification", normalization: str = "zscore"):
    """A tiny task model (100 Hz, 2 s windows) and its extractor saved in `folder`."""
    import citrus_hf
    from citrus_hf import CiTrusFeatureExtractor

    statistics = {"normalization_mean": [0.0], "normalization_std": [3.0]} if normalization == "fixed" else {}
    classes = {} if model_class == "CiTrusForRegression" else {"num_labels": 2}  # (a regressor refuses num_labels)
    config = tiny_config(num_channels=1, normalization=normalization, **classes, **statistics)
    getattr(citrus_hf, model_class)(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    return str(folder)


def _three_windows_each() -> dict[str, np.ndarray]:
    """6 s recordings at `RATE` (three 2 s windows): a clean one, one with its middle 2 s lost (NaN), one whose
    electrode went flat after 2 s, and one of zeros."""
    time = np.arange(int(6 * RATE)) / RATE
    clean = (12 * np.sin(2 * np.pi * 6 * time) + 3 * np.random.default_rng(3).standard_normal(time.size))[None]
    lost = clean.copy()
    lost[0, int(2 * RATE) : int(4 * RATE)] = np.nan
    flat = clean.copy()
    flat[0, int(2 * RATE) :] = flat[0, int(2 * RATE)]
    return {"clean": clean, "lost": lost, "flat": flat, "zeros": np.zeros_like(clean)}


@pytest.mark.parametrize("normalization", ["zscore", "fixed"])
def test_windows_without_signal_are_marked_and_left_out_of_the_recordings_label(normalization, tmp_path):
    """A window of NaN filled by --nan-policy interpolate, an electrode gone flat, a recording of zeros: scored with
    the highest confidence of all, they decided the recording's label, and nothing said so. Each window says whether
    it holds signal (`no_signal`: None, "flat" or "interpolated"), the result counts them, the recording's scores are
    the mean over the windows with signal, and a recording of none has no label. With fixed statistics a flat
    stretch resampled from 250 Hz is not exactly constant (the filter's ripple), and is marked all the same."""
    from transformers import pipeline

    import citrus_hf  # noqa: F401 - registers the pipelines

    classify = pipeline(model=_tiny_checkpoint(tmp_path / "run", normalization=normalization), backend="torch")
    recordings = _three_windows_each()
    results = dict(zip(recordings, classify(list(recordings.values()), sampling_rate=RATE, nan_policy="interpolate")))
    marks = {name: [window["no_signal"] for window in result["windows"]] for name, result in results.items()}
    assert marks == {
        "clean": [None, None, None],
        "lost": [None, "interpolated", None],
        "flat": [None, "flat", "flat"],
        "zeros": ["flat", "flat", "flat"],
    }, marks
    assert [result["no_signal_windows"] for result in results.values()] == [0, 1, 2, 3]
    for name in ("lost", "flat"):
        windows = results[name]["windows"]
        kept = [window for window in windows if window["no_signal"] is None]
        best = max(results[name]["labels"], key=lambda entry: entry["score"])
        mean = np.mean([[e["score"] for e in w["labels"] if e["label"] == best["label"]] for w in kept])
        assert best["score"] == pytest.approx(mean, abs=1e-6)
    zeros = results["zeros"]
    assert zeros["label"] is None and zeros["score"] is None and zeros["labels"] == [], zeros
    # one recording alone (its own passes, not a pack) is marked alike
    alone = classify(recordings["flat"], sampling_rate=RATE)
    assert [window["no_signal"] for window in alone["windows"]] == marks["flat"]


def test_a_regressor_and_an_encoder_leave_them_out_too(tmp_path):
    from transformers import pipeline

    import citrus_hf  # noqa: F401 - registers the pipelines

    recordings = _three_windows_each()
    regress = pipeline(model=_tiny_checkpoint(tmp_path / "reg", "CiTrusForRegression"), backend="torch")
    flat, zeros = regress([recordings["flat"], recordings["zeros"]], sampling_rate=RATE)
    assert flat["target"] == pytest.approx(flat["windows"][0]["target"], abs=1e-6) and flat["no_signal_windows"] == 2
    assert zeros["target"] is None and zeros["no_signal_windows"] == 3
    embed = pipeline(model=_tiny_checkpoint(tmp_path / "enc", "CiTrusModel"), backend="torch")
    flat, zeros = embed([recordings["flat"], recordings["zeros"]], sampling_rate=RATE)
    np.testing.assert_allclose(flat["embedding"], flat["window_embeddings"][0], rtol=1e-5, atol=1e-6)
    assert np.isnan(zeros["embedding"]).all() and zeros["embedding"].shape == flat["embedding"].shape


def test_predict_says_how_many_windows_hold_no_signal(tmp_path, capsys):
    """`citrus predict` gave the zeros a label of score 1.000 and no word: its line now says how many windows were
    flat or wholly interpolated, the .csv marks each, and a recording with none left has no label."""
    import csv

    from citrus_hf.commands.main import main

    model = _tiny_checkpoint(tmp_path / "run")
    files = []
    for name, recording in _three_windows_each().items():
        files.append(str(tmp_path / f"{name}.npy"))
        np.save(files[-1], recording.astype(np.float32))
    output = tmp_path / "windows.csv"
    argv = ["predict", model, *files, "--sampling-rate", "250", "--nan-policy", "interpolate", "--backend", "torch"]
    assert main([*argv, "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "clean.npy: no window" not in printed and "clean.npy: 0 of" not in printed, printed
    assert "lost.npy: 1 of 3 window(s) hold no signal (1 interpolated: every sample NaN" in printed, printed
    assert (
        "flat.npy: 2 of 3 window(s) hold no signal (2 flat: constant, e.g. an electrode off), left out of its label"
        in printed
    ), printed
    assert "zeros.npy: no label (no window holds signal)" in printed, printed
    assert (
        "zeros.npy: 3 of 3 window(s) hold no signal (3 flat: constant, e.g. an electrode off), so it has no "
        "label" in printed
    ), printed
    with open(output, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["no_signal"] for row in rows][3:9] == ["", "interpolated", "", "", "flat", "flat"]
