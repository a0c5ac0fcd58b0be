"""Bad inputs to the data, loading, evaluation and pipeline entry points (fuzz audit findings 5, 7-14 and the fusion
audit's findings 5, 6 and 11): each is refused by the package in one line that names the problem and the fix, or read
correctly, where it used to give a deep traceback or a silently wrong answer.

Files are real and small: EDF written with pyedflib, WFDB with wfdb, labelled sets with `save_to_disk`, and a tiny
fusion checkpoint saved with `save_pretrained`. Signals are synthetic.
"""

from __future__ import annotations

import logging

import datasets
import numpy as np
import pytest
import torch
from tiny_configs import tiny_config, write_edf
from transformers import AutoFeatureExtractor, AutoModel, AutoModelForPreTraining, pipeline

import citrus_hf
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_edf, read_wfdb
from citrus_hf.data.splits import load_task_splits
from citrus_hf.data.synthetic import build_generator
from citrus_hf.evaluation import ProtocolConfig, plot_results, run_protocol, summarize
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.inference.registration import CiTrusSavedClass
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

RATE = 100.0


# ---------------------------------------------------------------------------------------- fusion checkpoints


@pytest.fixture(scope="module", params=[CiTrusFusionForSequenceClassification, CiTrusFusionForRegression])
def fusion_folder(request, tmp_path_factory) -> tuple[str, type]:
    """A tiny two-modality fusion checkpoint saved with its processor, as the README's fusion flow leaves it."""
    torch.manual_seed(0)
    config = CiTrusFusionConfig(
        modality_configs={"ecg": tiny_config(), "eda": tiny_config()}, **{request.param.outputs_field: 2}
    )
    folder = str(tmp_path_factory.mktemp("fusion"))
    request.param(config).save_pretrained(folder)
    CiTrusFusionProcessor.from_config(config).save_pretrained(folder)
    return folder, request.param


@pytest.mark.parametrize("auto_class", [AutoModel, AutoModelForPreTraining])
def test_an_auto_class_without_a_fusion_class_names_the_one_that_loads_it(auto_class, fusion_folder):
    """Fusion finding 5: AutoModel gave transformers' 11 kB list of every model type it knows."""
    folder, model_class = fusion_folder
    loader = {
        CiTrusFusionForSequenceClassification: "AutoModelForSequenceClassification",
        CiTrusFusionForRegression: "citrus_hf.AutoModelForTimeSeriesRegression",
    }[model_class]
    with pytest.raises(ValueError) as raised:
        auto_class.from_pretrained(folder)
    message = str(raised.value)
    # short beside the 11 kB list, whatever the length of the path it names
    assert len(message.replace(str(folder), "FOLDER")) < 500 and "Model type should be one of" not in message, message
    assert f"is a CiTrus fusion checkpoint ({model_class.__name__}" in message
    assert f"`{loader}.from_pretrained({folder!r})`" in message and "load_encoder" in message


@pytest.mark.parametrize(
    "auto_class, name, loader",
    [
        ("AutoModelForAudioClassification", "citrus-small", "AutoModelForPreTraining"),
        ("AutoModelForCausalLM", "regressor", "citrus_hf.AutoModelForTimeSeriesRegression"),
    ],
)
def test_a_citrus_checkpoint_in_an_auto_class_of_another_task_names_the_classes_that_load_it(
    auto_class, name, loader, tmp_path
):
    """`AutoModelForAudioClassification.from_pretrained("citrus-small")`, a natural guess for a signal classifier, gave
    transformers' list of every model type it knows (11 kB), none of them the class to use."""
    import transformers

    if name == "regressor":
        name = str(tmp_path / "regressor")
        citrus_hf.CiTrusForRegression(tiny_config(num_targets=1)).save_pretrained(name)
    with pytest.raises(ValueError) as raised:
        getattr(transformers, auto_class).from_pretrained(name)
    message = str(raised.value)
    # short beside the 11 kB list, whatever the length of the path it names (twice)
    assert len(message.replace(name, "NAME")) < 600 and "Model type should be one of" not in message, message
    assert f"{name!r} is a CiTrus checkpoint" in message and f"which {auto_class} does not load" in message
    assert f"AutoModelForSequenceClassification.from_pretrained({name!r}, num_labels=N)" in message
    assert f"this one loads with `{loader}.from_pretrained({name!r})`" in message


@pytest.mark.parametrize("load", [AutoFeatureExtractor.from_pretrained, CiTrusFeatureExtractor.from_pretrained])
def test_a_feature_extractor_asked_of_a_fusion_folder_points_to_its_processor(load, fusion_folder):
    """Fusion finding 6: "make sure ... is the correct path to a directory containing a preprocessor_config.json" for a
    folder that is right and holds processor_config.json."""
    folder, _ = fusion_folder
    with pytest.raises(OSError, match=r"is a CiTrus fusion checkpoint.*AutoProcessor\.from_pretrained") as raised:
        load(folder)
    assert "feature_extractors[modality]" in str(raised.value)


def test_a_missing_preprocessor_of_a_single_checkpoint_keeps_transformers_error(tmp_path):
    """The fusion hint is given for fusion checkpoints only."""
    citrus_hf.CiTrusModel(tiny_config()).save_pretrained(tmp_path)
    with pytest.raises(OSError, match="preprocessor_config.json") as raised:
        AutoFeatureExtractor.from_pretrained(tmp_path)
    assert "fusion" not in str(raised.value)


def test_a_fusion_folder_is_refused_as_fusion_whatever_the_import_order(fusion_folder):
    """Fusion finding 11: with `pipeline` bound before `import citrus_hf`, the wrapper that refuses fusion folders is
    bypassed, and the attempt transformers reports said the architecture "is not a CiTrus class"."""
    folder, _ = fusion_folder
    with pytest.raises(ValueError, match="is a CiTrus fusion model, whose pipelines citrus_hf's `pipeline` builds"):
        CiTrusSavedClass.from_pretrained(folder)
    unwrapped = pipeline.__wrapped__  # transformers' own factory, as bound by code that imported it first
    with pytest.raises(ValueError) as raised:
        unwrapped("time-series-classification", model=folder)
    assert "is a CiTrus fusion model, whose pipelines" in str(raised.value)
    assert "is not a CiTrus class" not in str(raised.value)


# ------------------------------------------------------------------------------------------------ pipelines


@pytest.mark.parametrize(
    ("task", "words"),
    [
        (
            "time-series-classification",
            ["needs `model=`", "fine-tuned", "CiTrusForSequenceClassification", "num_labels"],
        ),
        ("time-series-regression", ["needs `model=`", "CiTrusForRegression", "num_targets"]),
        ("time-series-feature-extraction", ["needs `model=`", "model='citrus-small'"]),
    ],
)
def test_a_citrus_task_without_a_model_asks_for_one(task, words):
    """Fuzz finding 7: `pipeline(task)` without a model failed with `KeyError: 'default'`; in both import orders."""
    for factory in (pipeline, pipeline.__wrapped__):
        with pytest.raises(ValueError) as raised:
            factory(task)
        assert all(word in str(raised.value) for word in words), str(raised.value)


# ---------------------------------------------------------------------------------------- feature extractor


def test_masked_samples_of_a_numpy_masked_array_are_missing_values():
    """Fuzz finding 8: `np.asarray` dropped the mask, so the fill values under it were read as signal."""
    extractor = CiTrusFeatureExtractor(context_length=1000, patch_length=20)
    signal = np.sin(np.arange(1000) / 10).astype(np.float32)
    gap = np.ma.masked_array(signal.copy(), mask=np.zeros(1000, bool))
    gap.data[100:200], gap.mask[100:200] = 1e4, True
    with pytest.raises(ValueError, match="100 NaN values.*nan_policy='interpolate'"):
        extractor(gap, sampling_rate=RATE)
    counts = np.ma.masked_array((gap.data * 100).astype(np.int32), mask=gap.mask)  # an ADC's counts, with a gap
    for masked, samples in ((gap, signal), ([gap], signal), (counts, counts.data.astype(np.float64))):
        filled = samples.copy()
        filled[100:200] = np.nan
        expected = extractor(filled, sampling_rate=RATE, nan_policy="interpolate")["input_values"]
        got = extractor(masked, sampling_rate=RATE, nan_policy="interpolate")["input_values"]
        np.testing.assert_allclose(got, expected, atol=1e-6)
    unmasked = np.ma.masked_array(signal, mask=np.zeros(1000, bool))
    np.testing.assert_array_equal(
        extractor(unmasked, sampling_rate=RATE)["input_values"], extractor(signal, sampling_rate=RATE)["input_values"]
    )


def test_channel_names_given_as_a_string_are_refused_with_the_list_form():
    """Fuzz finding 5 (string part): the letters of "Cz" were counted as two channel names."""
    with pytest.raises(TypeError, match=r"got the string 'Cz'; pass \['Cz'\]"):
        CiTrusFeatureExtractor(channel_names="Cz")
    with pytest.raises(TypeError, match="got the string 'ab'"):
        CiTrusFeatureExtractor(channel_names="ab", num_channels=2)


# ----------------------------------------------------------------------------------------------- labelled sets


def _save_set(folder, rows: list[np.ndarray]) -> str:
    columns = {"input_values": rows, "label": [i % 2 for i in range(len(rows))], "sampling_rate": [RATE] * len(rows)}
    split = datasets.Dataset.from_dict(columns)
    # (the test windows negated: a test split of the training windows themselves is refused)
    test = datasets.Dataset.from_dict({**columns, "input_values": [-np.asarray(row) for row in rows]})
    datasets.DatasetDict({"train": split, "test": test}).save_to_disk(str(folder))
    return str(folder)


def test_a_set_whose_every_row_is_time_by_channels_is_refused(tmp_path):
    """Fuzz finding 9: a set of `(300, 6)` rows passed the set checks, and the MiniRocket / prior arms scored 300
    "channels" of 6 samples each (only a transposed row among others was caught)."""
    rng = np.random.default_rng(0)
    folder = _save_set(tmp_path / "set", [rng.standard_normal((300, 6)).astype(np.float32) for _ in range(12)])
    with pytest.raises(
        ValueError, match=r"Row 0 of the train split .* \(300, 6\), which looks like \(time, channels\)"
    ):
        load_task_splits(folder, require_validation=False)
    good = _save_set(tmp_path / "good", [rng.standard_normal((6, 300)).astype(np.float32) for _ in range(12)])
    load_task_splits(good, require_validation=False)  # many channels, (channels, time): fine
    many = _save_set(tmp_path / "eeg", [rng.standard_normal((64, 50)).astype(np.float32) for _ in range(12)])
    load_task_splits(many, require_validation=False)  # 64 channels of 0.5 s is a plausible EEG window


# --------------------------------------------------------------------------------------------------- evaluation


def test_report_helpers_and_the_protocol_name_bad_arguments():
    """Fuzz finding 10: ZeroDivisionError, KeyError, AttributeError, or a setting kept and ignored."""
    with pytest.raises(ValueError, match="No runs to report: `plot_results` got an empty list"):
        plot_results([], "p.png")
    with pytest.raises(ValueError, match=r"Run 0 given to `summarize` lacks \['dataset', 'task', 'budget'"):
        summarize([{"arm": "x"}])
    with pytest.raises(TypeError, match="list of run records"):
        summarize({"arm": "x"})
    assert summarize([]) == []
    with pytest.raises(
        TypeError, match=r"run_protocol takes a ProtocolConfig, got a dict.*ProtocolConfig\(\*\*settings\)"
    ):
        run_protocol({"arms": ["prior"]})
    with pytest.raises(ValueError, match=r"nan_policy must be one of \('raise', 'interpolate'\), got 'drop'"):
        ProtocolConfig(nan_policy="drop", datasets=["basic_motions"], arms=["prior"])


# ------------------------------------------------------------------------------------------------------ readers


def _write_wfdb(folder, beats: int = 20) -> tuple[str, int]:
    import wfdb

    samples = np.arange(1, beats + 1) * 36
    signal = np.sin(np.arange(beats * 36 + 100) / 5.0)[:, None]
    wfdb.wrsamp("rec", fs=360, units=["mV"], sig_name=["MLII"], p_signal=signal, fmt=["16"], write_dir=str(folder))
    wfdb.wrann("rec", "atr", samples, ["N"] * beats, write_dir=str(folder))
    return str(folder / "rec"), beats


def test_a_wfdb_annotation_file_cut_short_is_named(tmp_path):
    """Fuzz finding 11: a truncated annotation file gave the annotations before the cut (or none) without a word."""
    record, beats = _write_wfdb(tmp_path)
    assert len(read_wfdb(record).annotation_symbols) == beats
    annotations = tmp_path / "rec.atr"
    whole = annotations.read_bytes()
    assert whole.endswith(b"\x00\x00")
    for size in (0, 12, 21, len(whole) - 2):
        annotations.write_bytes(whole[:size])
        with pytest.raises(CorruptFileError, match=r"rec\.atr is truncated or damaged.*end marker 0x0000"):
            read_wfdb(record)
    assert read_wfdb(record, annotation_extension=None).data.shape == (1, beats * 36 + 100)


def _write_edf(path, labels: list[str]) -> list[np.ndarray]:
    signals = [
        np.sin(2 * np.pi * (index + 1) * np.arange(1000) / RATE) * 10 * (index + 1) for index in range(len(labels))
    ]
    write_edf(path, signals, labels, RATE, peak=100.0, plus=False)
    return signals


def test_edf_signals_sharing_a_label_are_read_apart_by_their_place(tmp_path, caplog):
    """Fuzz finding 12: two signals labelled "EEG" raised `ValueError: 'EEG' is not in list` from inside the reader."""
    path = tmp_path / "dup.edf"
    signals = _write_edf(path, ["EEG", "ECG", "EEG"])
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.readers"):
        recording = read_edf(path)
    assert recording.channel_names == ["EEG-0", "ECG", "EEG-1"]
    np.testing.assert_allclose(recording.data, np.stack(signals), atol=0.01)
    assert "gives the label(s) ['EEG'] to several signals" in caplog.text
    picked = read_edf(path, ["EEG-1", "ECG"])
    assert picked.channel_names == ["EEG-1", "ECG"] and picked.units == ["µV", "µV"]
    np.testing.assert_allclose(picked.data, np.stack([signals[2], signals[1]]), atol=0.01)
    with pytest.raises(CorruptFileError, match=r"has 2 signals labelled 'EEG', read as \['EEG-0', 'EEG-1'\]"):
        read_edf(path, ["EEG"])
    assert read_edf(path, ["ECG"]).channel_names == ["ECG"]


@pytest.mark.parametrize(
    "call",
    [
        lambda: citrus_hf.load_pretrained(None),
        lambda: citrus_hf.load_feature_extractor(None),
        lambda: read_edf(None),
        lambda: read_wfdb(None),
    ],
)
def test_none_as_a_path_is_named(call):
    """Fuzz finding 13: pathlib's "expected str, bytes or os.PathLike object, not NoneType"."""
    with pytest.raises(TypeError, match=r"got None \(NoneType\)") as raised:
        call()
    assert "os.PathLike object" not in str(raised.value)


# ------------------------------------------------------------------------------------------------- generators


def test_the_respiration_generator_makes_short_segments_and_generate_checks_its_arguments():
    """Fuzz finding 14: breathmetrics returns whole breaths only, so segments under about 12 s came back short (a
    "bug in the generator" error) or failed inside neurokit2; `generate` reached a ZeroDivisionError for length 0."""
    pytest.importorskip("neurokit2")
    slow = build_generator("rsp", segment_seconds=10, respiratory_rate=(8.0, 8.0))
    assert slow.generate(np.random.default_rng(0), RATE, 1000).shape == (1, 1000)
    short = build_generator("rsp", segment_seconds=4, respiratory_rate=(8.0, 8.0))
    assert short.generate(np.random.default_rng(1), RATE, 200).shape == (2, 200)
    ecg = build_generator("ecg")
    with pytest.raises(ValueError, match="`length` must be a whole number of samples per window, at least 2"):
        ecg.generate(np.random.default_rng(0), RATE, 0)
    with pytest.raises(TypeError, match=r"`rng` must be a numpy Generator.*np\.random\.default_rng"):
        ecg.generate(0, RATE, 200)
