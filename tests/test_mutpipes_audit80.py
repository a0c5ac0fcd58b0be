"""What the pipelines return, checked value by value (mutation audit of the pipelines' answers, session 80): each test
pins an answer that a plausible slip in `inference/pipelines.py` or `feature_extraction_citrus.py` would change
without any error (the scores a multi-label recording gets, the seconds its labels take whatever is applied, several
regression targets in their order and units, a recording's value weighted by the seconds its windows cover, the
embedding's tensor type, ...).

Tiny in-memory models (100 Hz, 2 s windows of 10 patches) on the torch backend, most with a head whose weights are
zeroed so that every window's output is the head's bias: each test takes about a second.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config
from transformers import pipeline

from citrus_hf import CiTrusFeatureExtractor, CiTrusForRegression, CiTrusForSequenceClassification

RATE = 100.0
RECORDING = np.random.default_rng(0).standard_normal((1, 400))  # 4 s: two 2 s windows
LONGER = np.random.default_rng(1).standard_normal((1, 500))  # 5 s: two 2 s windows, and 1 s padded with pad_last_window


def _task_pipeline(task: str, model, head: str | None = None, bias: list[float] | None = None):
    """`model`'s pipeline on the torch backend; with `bias`, the `head` outputs it for every window (weights zeroed)."""
    model.eval()
    if bias is not None:
        with torch.no_grad():
            getattr(model, head).weight.zero_()
            getattr(model, head).bias.copy_(torch.tensor(bias))
    extractor = CiTrusFeatureExtractor.from_config(model.config)
    return pipeline(task, model=model, feature_extractor=extractor, backend="torch")


def _classifier(bias: list[float], multi_label: bool):
    names = {index: f"l{index}" for index in range(len(bias))}
    config = tiny_config(
        num_labels=len(bias),
        id2label=names,
        label2id={name: index for index, name in names.items()},
        **({"problem_type": "multi_label_classification"} if multi_label else {}),
    )
    model = CiTrusForSequenceClassification(config)
    return _task_pipeline("time-series-classification", model, "classifier", bias)


def _sigmoid(values: list[float]) -> list[float]:
    return [1 / (1 + np.exp(-value)) for value in values]


# ------------------------------------------------------------------------------------------------ classification


def test_a_multi_label_recordings_scores_are_its_windows_sigmoids_and_its_label_seconds_whatever_is_applied():
    """The recording's scores are the mean of its windows' scores as applied (sigmoids here, not a softmax of them);
    a label's seconds are those of the windows where its sigmoid is above 0.5, also with `function_to_apply="none"`,
    whose raw logit 0.3 is below 0.5."""
    bias = [2.0, -1.0, 0.3]
    classify = _classifier(bias, multi_label=True)
    result = classify(RECORDING, sampling_rate=RATE, top_k=None)
    assert [entry["label"] for entry in result["labels"]] == ["l0", "l2", "l1"]
    assert [entry["score"] for entry in result["labels"]] == pytest.approx(_sigmoid([2.0, 0.3, -1.0]), rel=1e-5)
    assert result["score"] == pytest.approx(_sigmoid([2.0])[0], rel=1e-5)
    raw = classify(RECORDING, sampling_rate=RATE, function_to_apply="none", top_k=None)
    assert [entry["score"] for entry in raw["labels"]] == pytest.approx([2.0, 0.3, -1.0], rel=1e-5)
    assert raw["label_seconds"] == result["label_seconds"] == {"l0": 4.0, "l1": 0.0, "l2": 4.0}
    # the call's options reach recordings of a list too (short ones share passes, `_packed_results`)
    (listed,) = classify([RECORDING], sampling_rate=RATE, function_to_apply="none", top_k=None)
    assert [entry["score"] for entry in listed["labels"]] == pytest.approx([2.0, 0.3, -1.0], rel=1e-5)


def test_a_short_recordings_channels_are_picked_by_name_and_converted_from_their_unit():
    """A recording shorter than a window is aligned whole (not cut into windows): its channels are still picked by
    `input_channel_names` and converted by `input_channel_units`, as a long one's are."""
    torch.manual_seed(0)
    config = tiny_config(
        num_channels=2,
        channel_names=["Fz", "Cz"],
        num_labels=2,
        normalization="fixed",
        normalization_mean=[0.0, 0.0],
        normalization_std=[40.0, 40.0],
    )
    model = CiTrusForSequenceClassification(config).eval()
    extractor = CiTrusFeatureExtractor.from_config(config, channel_units=["uV", "uV"])
    classify = pipeline("time-series-classification", model=model, feature_extractor=extractor, backend="torch")
    microvolts = 40 * np.random.default_rng(2).standard_normal((2, 100))  # 1 s

    def logits(recording, **options) -> list[float]:
        labels = classify(recording, sampling_rate=RATE, function_to_apply="none", top_k=None, **options)["labels"]
        return [entry["score"] for entry in sorted(labels, key=lambda entry: entry["label"])]

    expected = logits(microvolts)
    assert logits(microvolts[::-1].copy(), input_channel_names=["Cz", "Fz"]) == pytest.approx(expected, abs=1e-5)
    assert logits(microvolts / 1000, input_channel_units=["mV", "mV"]) == pytest.approx(expected, abs=1e-5)
    assert logits(microvolts[::-1].copy()) != pytest.approx(expected, abs=1e-3)  # (the order shows)
    assert logits(microvolts / 1000) != pytest.approx(expected, abs=1e-3)  # (the unit shows)


def test_a_checkpoint_that_stretches_recordings_scores_one_window_of_the_whole_recording():
    config = tiny_config(num_labels=2)
    model = CiTrusForSequenceClassification(config).eval()
    extractor = CiTrusFeatureExtractor.from_config(config, alignment="interpolate")
    classify = pipeline("time-series-classification", model=model, feature_extractor=extractor, backend="torch")
    result = classify(LONGER, sampling_rate=RATE)
    assert [(window["start"], window["end"]) for window in result["windows"]] == [(0.0, 5.0)]


def test_one_rate_per_recording_reaches_recordings_given_as_dicts_without_their_own():
    """A list of `{"raw": ...}` dicts with one rate per recording in the call: each is read at its own rate."""
    classify = _classifier([0.0, 1.0], multi_label=False)
    results = classify([{"raw": RECORDING}, {"raw": RECORDING[0]}], sampling_rate=[100.0, 200.0])
    assert [[(window["start"], window["end"]) for window in result["windows"]] for result in results] == [
        [(0.0, 2.0), (2.0, 4.0)],
        [(0.0, 2.0)],
    ]


def test_a_recording_padded_with_nan_at_its_start_keeps_its_own_time_in_one_window_alignments():
    """0.5 s of NaN padding before 3 s of signal, `alignment="resample"`: its one window starts at 0.5 s, and the
    seconds after it, to the recording's end at 3.5 s, are unscored."""
    classify = _classifier([0.0, 1.0], multi_label=False)
    padded = np.concatenate([np.full(50, np.nan), LONGER[0, :300]])
    result = classify(padded, sampling_rate=RATE, alignment="resample", nan_policy="interpolate")
    assert [(window["start"], window["end"]) for window in result["windows"]] == [(0.5, 2.5)]
    assert result["unscored_seconds"] == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------------- regression


def test_several_targets_come_in_the_models_order_per_window_and_per_recording():
    """Two targets (70 bpm, 15 breaths a minute) come as `"targets"`, in the order `target_names` names them."""
    model = CiTrusForRegression(tiny_config(num_targets=2, id2label=["heart_rate", "breathing_rate"]))
    result = _task_pipeline("time-series-regression", model, "regressor", [70.0, 15.0])(RECORDING, sampling_rate=RATE)
    assert "target" not in result and result["target_names"] == ["heart_rate", "breathing_rate"]
    assert result["targets"] == pytest.approx([70.0, 15.0])
    assert [window["targets"] for window in result["windows"]] == [pytest.approx([70.0, 15.0])] * 2


def test_a_recordings_value_weighs_each_window_by_the_seconds_it_covers_in_its_own_order():
    """Windows of 2, 2 and (padded) 1 s whose outputs differ (a trained head's, not a constant): the recording's value
    is their mean weighted 2:2:1, and each window keeps its own value."""
    torch.manual_seed(0)
    regress = _task_pipeline("time-series-regression", CiTrusForRegression(tiny_config()))
    result = regress(LONGER, sampling_rate=RATE, pad_last_window=True)
    windows = result["windows"]
    assert [(window["start"], window["end"]) for window in windows] == [(0.0, 2.0), (2.0, 4.0), (4.0, 5.0)]
    values = [window["target"] for window in windows]
    assert len(set(values)) == 3  # (else the weighting and the order would not show)
    assert result["target"] == pytest.approx((2 * values[0] + 2 * values[1] + values[2]) / 5, rel=1e-5)
    # one window per forward pass, for a recording of a list too (run apart from short ones): one result, alike
    (one_per_pass,) = regress([LONGER], sampling_rate=RATE, pad_last_window=True, batch_size=1)
    assert [window["target"] for window in one_per_pass["windows"]] == pytest.approx(values, rel=1e-4, abs=1e-5)
    assert one_per_pass["target"] == pytest.approx(result["target"], rel=1e-4, abs=1e-5)
    for window in windows:  # each window's own value, as the window alone gives it
        alone = regress(LONGER[:, int(window["start"] * RATE) : int(window["end"] * RATE)], sampling_rate=RATE)
        assert alone["target"] == pytest.approx(window["target"], rel=1e-4, abs=1e-5)


# ------------------------------------------------------------------------------------------------ feature extraction


def test_the_embedding_weighs_its_windows_by_their_seconds_and_comes_as_the_tensors_asked_for():
    torch.manual_seed(0)
    embed = _task_pipeline("time-series-feature-extraction", CiTrusForRegression(tiny_config()))
    result = embed(LONGER, sampling_rate=RATE, pad_last_window=True)
    windows = result["window_embeddings"]
    assert [(window["start"], window["end"]) for window in result["windows"]] == [(0.0, 2.0), (2.0, 4.0), (4.0, 5.0)]
    assert windows.shape[0] == 3 and isinstance(windows, np.ndarray) and isinstance(result["embedding"], np.ndarray)
    np.testing.assert_allclose(result["embedding"], (2 * windows[0] + 2 * windows[1] + windows[2]) / 5, rtol=1e-5)
    for asked, tensors in ((True, True), ("pt", True), (False, False), ("np", False)):
        result = embed(RECORDING, sampling_rate=RATE, return_tensors=asked)
        kind = torch.Tensor if tensors else np.ndarray
        assert isinstance(result["embedding"], kind) and isinstance(result["window_embeddings"], kind), asked


# ------------------------------------------------------------------------------------------------ feature extractor


def test_pad_keeps_each_rows_mask_and_crops_and_the_calls_padding_true_is_longest():
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())  # patches of 20 samples, windows of 200
    masked = {"input_values": np.ones((1, 40), dtype=np.float32), "patch_mask": np.array([1, 0])}
    whole = {"input_values": np.ones((1, 80), dtype=np.float32)}  # (no mask: every patch real)
    batch = extractor.pad([masked, whole])
    assert batch["patch_mask"].tolist() == [[1, 0, 0, 0], [1, 1, 1, 1]]
    assert extractor.pad([masked, whole], max_length=40, truncation=True)["input_values"].shape == (2, 1, 40)
    one_second = np.random.default_rng(3).standard_normal(100)
    aligned = extractor(one_second, sampling_rate=RATE, alignment="resample", padding=True)
    assert aligned["input_values"].shape == (1, 1, 100) and aligned["patch_mask"].tolist() == [[1] * 5]


def test_channels_are_picked_in_the_checkpoints_order_and_names_are_checked_one_per_channel():
    extractor = CiTrusFeatureExtractor.from_config(tiny_config(num_channels=2, channel_names=["Fz", "Cz"]))
    signal = np.random.default_rng(4).standard_normal((3, 400))
    picked = extractor(signal, sampling_rate=RATE, input_channel_names=["Cz", "Pz", "Fz"])["input_values"]
    np.testing.assert_array_equal(picked, extractor(signal[[2, 0]], sampling_rate=RATE)["input_values"])
    with pytest.raises(ValueError, match="has 4 names but recording 0 has 3 channels"):
        extractor(signal, sampling_rate=RATE, input_channel_names=["Cz", "Pz", "Fz", "Oz"])
    with pytest.raises(ValueError, match="more than once"):
        extractor(signal, sampling_rate=RATE, input_channel_names=["Cz", "FZ", "Fz"])
