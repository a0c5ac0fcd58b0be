"""What prediction returns, read as a user who acts on it (outputs audit, session 68): labels whose scores tie are
ranked by their logits, then by id, whatever `top_k` (torch's `topk` ordered them arbitrarily, so the pipeline's
default and `citrus predict` named different labels); window times are the nearest floats to their seconds;
`function_to_apply` takes transformers' spellings; `citrus predict --plot` draws a multi-label classifier's
probabilities each on its own (stacked, they were cut at 1 and the top label vanished) and shades the windows without
signal; its `.jsonl` is strict JSON (an embedding without signal was written as a bare NaN).

Tiny classifiers (100 Hz, 2 s windows of 10 patches) on the torch backend: each test takes a second or two.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config
from transformers import pipeline

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification, CiTrusModel

RATE = 100.0
RECORDING = np.random.default_rng(0).standard_normal((1, 400))  # 4 s: two 2 s windows


def _classifier(num_labels: int, bias: list[float], multi_label: bool):
    """A tiny classifier whose logits are `bias` for every window (its head's weights zeroed), with its pipeline."""
    names = {index: f"l{index}" for index in range(num_labels)}
    config = tiny_config(
        num_labels=num_labels,
        id2label=names,
        label2id={name: index for index, name in names.items()},
        **({"problem_type": "multi_label_classification"} if multi_label else {}),
    )
    model = CiTrusForSequenceClassification(config).eval()
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor(bias))
    extractor = CiTrusFeatureExtractor.from_config(config)
    return pipeline("time-series-classification", model=model, feature_extractor=extractor, backend="torch")


@pytest.mark.parametrize("top_k", [1, 5, None])
def test_saturated_sigmoids_rank_by_their_logits_whatever_top_k(top_k):
    # sigmoid(20), sigmoid(25) and sigmoid(30) are all 1.0 in float32: the label is the largest logit's
    bias = [-5.0] * 20
    bias[1], bias[10], bias[19] = 20.0, 30.0, 25.0
    result = _classifier(20, bias, multi_label=True)(RECORDING, sampling_rate=RATE, top_k=top_k)
    assert [window["label"] for window in result["windows"]] == ["l10", "l10"]
    assert result["label"] == "l10"
    if top_k is None or top_k >= 3:
        assert [entry["label"] for entry in result["labels"][:3]] == ["l10", "l19", "l1"]
        assert [entry["label"] for entry in result["windows"][0]["labels"][:3]] == ["l10", "l19", "l1"]


@pytest.mark.parametrize("top_k", [1, 5, None])
def test_equal_logits_rank_by_id_as_argmax_does(top_k):
    # a head that says nothing: every label equally likely; the first id leads, as argmax (and the metrics) pick it
    bias = [0.0] * 20
    bias[3] = bias[7] = bias[15] = 2.0
    result = _classifier(20, bias, multi_label=False)(RECORDING, sampling_rate=RATE, top_k=top_k)
    assert [window["label"] for window in result["windows"]] == ["l3", "l3"]
    assert result["label"] == "l3"
    expected = [f"l{i}" for i in (3, 7, 15, *(i for i in range(20) if i not in (3, 7, 15)))]
    for labels in (result["labels"], result["windows"][0]["labels"]):
        assert [entry["label"] for entry in labels] == expected[: len(labels)]


def test_plot_draws_a_multi_label_classifiers_probabilities_each_on_its_own(tmp_path, monkeypatch):
    # sigmoids need not sum to 1: stacked under a 0-1 axis, "c" (0.8, the top label of the second window) was cut off
    from matplotlib.figure import Figure

    from citrus_hf.commands.predict import plot_windows

    saved = []
    original = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: (saved.append(self), original(self, *a, **k))[1])
    names = {0: "a", 1: "b", 2: "c"}
    config = tiny_config(
        num_labels=3, problem_type="multi_label_classification", id2label=names, label2id={"a": 0, "b": 1, "c": 2}
    )
    shares = [{"a": 0.9, "b": 0.6, "c": 0.7}, {"a": 0.75, "b": 0.5, "c": 0.8}]
    windows = []
    for start, scores in zip((0.0, 2.0), shares):
        labels = [{"label": name, "score": score} for name, score in sorted(scores.items(), key=lambda x: -x[1])]
        windows.append({"start": start, "end": start + 2.0, "label": labels[0]["label"], "score": labels[0]["score"],
                        "labels": labels})  # fmt: skip
    plot_windows([("a.npy", {"label": "a", "score": 0.8, "windows": windows})], config, tmp_path / "p.png")
    probabilities = saved[-1].axes[1]
    assert not probabilities.collections  # no stack
    drawn = {line.get_label(): np.asarray(line.get_ydata(), float) for line in probabilities.lines}
    assert set(drawn) == {"a", "b", "c"}
    for name, values in drawn.items():
        assert sorted(set(values[np.isfinite(values)].tolist())) == sorted({share[name] for share in shares})
    low, high = probabilities.get_ylim()
    assert low <= 0 and high >= 1


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def test_predict_jsonl_is_strict_json_for_an_embedding_without_signal(tmp_path):
    # a flat recording's windows hold no signal: its embedding is NaN, which `json.dumps` wrote as a bare NaN that
    # jq, JavaScript and most JSON readers refuse; it is null, as a classifier's label and score are then
    from citrus_hf.commands.main import main

    config = tiny_config()
    CiTrusModel(config).save_pretrained(tmp_path / "encoder")
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "encoder")
    np.save(tmp_path / "flat.npy", np.zeros((1, 400), dtype=np.float32))
    np.save(tmp_path / "signal.npy", RECORDING.astype(np.float32))
    output = tmp_path / "out.jsonl"
    argv = ["predict", str(tmp_path / "encoder"), str(tmp_path / "flat.npy"), str(tmp_path / "signal.npy")]
    assert main([*argv, "--sampling-rate", "100", "--backend", "torch", "--output", str(output)]) == 0
    flat, signal = [json.loads(line, parse_constant=_refuse_constant) for line in output.read_text().splitlines()]
    assert flat["embedding"] is None and flat["no_signal_windows"] == 2
    assert len(flat["window_embeddings"]) == 2 and all(np.isfinite(flat["window_embeddings"][0]))
    assert len(signal["embedding"]) == 16 and all(np.isfinite(signal["embedding"]))


@pytest.mark.parametrize("rate", [100.0, 250.0])
def test_window_times_are_the_nearest_floats_to_their_seconds(rate):
    # a window k hops of 70 samples in starts at 0.7 k s: it was computed as k x 70 x 0.01, so that the third window
    # started at 1.4000000000000001 s (in the .csv too), and a user's `start == 1.4` missed it
    classify = _classifier(3, [0.0, 1.0, 2.0], multi_label=False)
    recording = np.random.default_rng(1).standard_normal((1, int(10 * rate)))
    result = classify(recording, sampling_rate=rate, hop_seconds=0.7)
    starts = [window["start"] for window in result["windows"]]
    assert starts == [index * 70 / 100 for index in range(len(starts))]
    assert len(starts) == 12 and result["unscored_seconds"] == pytest.approx(10 - (7.7 + 2.0))


def test_function_to_apply_takes_transformers_spellings():
    # transformers' text classification takes "default" and any case ("SIGMOID"), as its docs and habits write them
    classify = _classifier(3, [0.0, 1.0, 2.0], multi_label=False)
    softmax = classify(RECORDING, sampling_rate=RATE)["score"]
    assert classify(RECORDING, sampling_rate=RATE, function_to_apply="default")["score"] == softmax
    assert classify(RECORDING, sampling_rate=RATE, function_to_apply="Softmax")["score"] == softmax
    assert classify(RECORDING, sampling_rate=RATE, function_to_apply="SIGMOID")["score"] == pytest.approx(
        1 / (1 + np.exp(-2.0))
    )
    with pytest.raises(ValueError, match="choose one of default, softmax, sigmoid, none"):
        classify(RECORDING, sampling_rate=RATE, function_to_apply="probabilities")


def test_plot_marks_the_windows_without_signal(tmp_path, monkeypatch):
    # a flat stretch (an electrode off) is scored as confidently as any: the .csv marks it in `no_signal`, and the
    # figure drew it as a label like the others; it is shaded, and named in the legend
    from matplotlib.figure import Figure

    from citrus_hf.commands.predict import plot_windows

    saved = []
    original = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: (saved.append(self), original(self, *a, **k))[1])
    names = {0: "a", 1: "b"}
    config = tiny_config(num_labels=2, id2label=names, label2id={"a": 0, "b": 1})
    marks = [None, "flat", "flat", None]
    windows = [
        {"start": 2.0 * i, "end": 2.0 * i + 2, "no_signal": mark, "label": "a", "score": 0.9,
         "labels": [{"label": "a", "score": 0.9}, {"label": "b", "score": 0.1}]}
        for i, mark in enumerate(marks)
    ]  # fmt: skip
    plot_windows([("a.npy", {"label": "a", "score": 0.9, "windows": windows})], config, tmp_path / "c.png")
    regression = [{"start": w["start"], "end": w["end"], "no_signal": w["no_signal"], "target": 1.0} for w in windows]
    plot_windows([("b.npy", {"target": 1.0, "windows": regression})], tiny_config(), tmp_path / "r.png")
    for figure in saved:
        for axis in figure.axes:
            shaded = [patch for patch in axis.patches if patch.get_label() == "no signal"]
            assert len(shaded) == 1, axis.get_ylabel()
            # a Rectangle (matplotlib 3.9 on) or a Polygon, in data coordinates along x
            patch = shaded[0]
            if hasattr(patch, "get_width"):
                assert (patch.get_x(), patch.get_x() + patch.get_width()) == (2.0, 6.0)
            else:
                xs = np.asarray(patch.get_xy(), float)[:, 0]
                assert (xs.min(), xs.max()) == (2.0, 6.0)
    legend_names = [text.get_text() for text in saved[0].axes[1].get_legend().get_texts()]
    assert sorted(legend_names) == ["a", "b", "no signal"]
    assert [text.get_text() for text in saved[1].axes[0].get_legend().get_texts()] == ["no signal", "target 0"]


@pytest.mark.parametrize(("samples", "rate", "unscored"), [(999, 33.3, 0.0), (230, 100.0, 0.3), (1030, 100.0, 0.3)])
def test_unscored_seconds_carry_no_rounding_noise(samples, rate, unscored):
    # 999 samples at 33.3 Hz are 30.000000000000004 s, all of it in 15 windows: 3.6e-15 s were "unscored", and a
    # user's `if result["unscored_seconds"]:` warned of them
    classify = _classifier(3, [0.0, 1.0, 2.0], multi_label=False)
    recording = np.random.default_rng(2).standard_normal((1, samples))
    assert classify(recording, sampling_rate=rate)["unscored_seconds"] == unscored
