"""Audit 66, chunked and streaming inference: a hop longer than the window left the recording's end unscored even
with `pad_last_window=True` (and `citrus predict` advised `--pad-last-window` when it was given); consecutive chunks
of a stream lost each tail shorter than a window without a sign in the results; an explicit
`pad_last_window=False`, the documented default, made a recording shorter than a window an error; an error in a
DataLoader worker (`num_workers`) came as torch's 38-line wrapper with the citrus message last.

The pipelines run a tiny classifier (100 Hz, 2 s windows of 10 patches) on the torch backend.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import save_tiny_classifier, tiny_config
from transformers import pipeline

from citrus_hf.commands.main import main
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

RATE = 100
CLI = ["--sampling-rate", "100", "--no-show-progress", "--backend", "torch"]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> str:
    torch.manual_seed(0)
    return str(save_tiny_classifier(tmp_path_factory.mktemp("classifier"), num_labels=3))


@pytest.fixture(scope="module")
def classify(classifier):
    return pipeline(model=classifier, backend="torch")


def _signal(seconds: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(round(seconds * RATE)).astype(np.float32)


def _spans(result: dict) -> list[tuple[float, float]]:
    return [(round(window["start"], 6), round(window["end"], 6)) for window in result["windows"]]


# ------------------------------------------------------------------------------ 1. a hop longer than the window


@pytest.mark.parametrize(
    "seconds, last_start, last_real_patches",
    [
        (29, 27.0, 10),  # the next hop (30 s) is past the end, more than a window is left: the window holds the end
        (27, 26.0, 5),  # the next hop is past the end, 1 s is left: right after the last full window, padded
        (31, 30.0, 5),  # the next hop (30 s) is inside the recording: on the hop, the gap before it skipped
    ],
)
def test_pad_last_window_scores_the_end_with_a_hop_longer_than_the_window(seconds, last_start, last_real_patches):
    """2 s windows every 6 s: on a 29 s recording the last full window ends at 26 s and the next hop would start at
    30 s, so 26-29 s were in no window, with `pad_last_window=True` too."""
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    options = {"sampling_rate": RATE, "alignment": "window", "hop_length": 600}
    plain = extractor(_signal(seconds), **options)
    assert plain["window_start_seconds"].tolist() == [0, 6, 12, 18, 24]
    padded = extractor(_signal(seconds), **options, pad_last_window=True)
    assert padded["window_start_seconds"].tolist() == [0, 6, 12, 18, 24, last_start]
    assert padded["patch_mask"].sum(1).tolist() == [10] * 5 + [last_real_patches]
    # the window holds the recording's last samples
    start = round(last_start * RATE)
    real = seconds * RATE - start
    np.testing.assert_array_equal(padded["input_values"][-1, 0, real:], 0.0)
    streamed = list(
        extractor.iter_windows(_signal(seconds), sampling_rate=RATE, hop_length=600, batch_size=4, pad_last_window=True)
    )
    np.testing.assert_array_equal(np.concatenate([batch["input_values"] for batch in streamed]), padded["input_values"])


def test_the_pipeline_scores_the_end_with_a_hop_longer_than_the_window(classify):
    result = classify(_signal(29), sampling_rate=RATE, hop_seconds=6, pad_last_window=True)
    assert _spans(result)[-2:] == [(24.0, 26.0), (27.0, 29.0)]
    assert result["unscored_seconds"] == 0.0


def _summary(capsys) -> str:
    # (the recording's line, not its time per label's)
    lines = capsys.readouterr().out.splitlines()
    (line,) = [line for line in lines if line.startswith(("/", "rec")) and ": time per label" not in line]
    return line


def test_predict_never_advises_the_option_in_effect_and_counts_the_gaps(classifier, tmp_path, capsys):
    path = tmp_path / "rec29.npy"
    np.save(path, _signal(29)[None])
    assert main(["predict", classifier, str(path), *CLI, "--hop-seconds", "6"]) == 0
    line = _summary(capsys)
    assert "its last 3 s are in no window (--pad-last-window scores them)" in line
    assert "16 s (of 29) fall in the gaps between windows" in line
    assert main(["predict", classifier, str(path), *CLI, "--hop-seconds", "6", "--pad-last-window"]) == 0
    line = _summary(capsys)
    assert "6 window(s)" in line and "--pad-last-window" not in line and "in no window" not in line
    assert "17 s (of 29) fall in the gaps between windows" in line
    # windows every half window: no gap, no tail once padded
    assert main(["predict", classifier, str(path), *CLI, "--hop-seconds", "1", "--pad-last-window"]) == 0
    line = _summary(capsys)
    assert "gaps" not in line and "no window" not in line


# ------------------------------------------------------------------------------ 2. the tail of each chunk


def test_each_result_says_the_seconds_at_its_end_that_no_window_covers(classify, classifier):
    stream = _signal(39)
    chunks = [stream[start : start + 390] for start in range(0, len(stream), 390)]  # 3.9 s chunks, 2 s windows
    results = list(classify((chunk for chunk in chunks), sampling_rate=RATE))
    assert [_spans(result) for result in results] == [[(0.0, 2.0)]] * 10  # each chunk its own recording
    assert [result["unscored_seconds"] for result in results] == pytest.approx([1.9] * 10)
    padded = list(classify((chunk for chunk in chunks), sampling_rate=RATE, pad_last_window=True))
    assert [result["unscored_seconds"] for result in padded] == [0.0] * 10
    # a list (whose short recordings share passes), a chunk shorter than a window (scored whole), the other tasks
    listed = classify([chunks[0], stream[:190]], sampling_rate=RATE)
    assert [result["unscored_seconds"] for result in listed] == pytest.approx([1.9, 0.0])
    embedded = pipeline("time-series-feature-extraction", model=classifier)(chunks[0], sampling_rate=RATE)
    assert embedded["unscored_seconds"] == pytest.approx(1.9)
    # "resample" keeps the first window only: the rest is unscored
    assert classify(chunks[0], sampling_rate=RATE, alignment="resample")["unscored_seconds"] == pytest.approx(1.9)


def test_predict_reads_the_tail_from_the_result(classifier, tmp_path, capsys, monkeypatch):
    import importlib

    # the module `main` runs (sys.modules'), which a test that re-runs it with runpy may have replaced since the
    # package attribute `citrus_hf.commands.predict` was bound (then the patch below missed it)
    predict = importlib.import_module("citrus_hf.commands.predict")

    path = tmp_path / "rec.npy"
    np.save(path, _signal(5)[None])
    real_run = predict._run
    monkeypatch.setattr(predict, "_run", lambda *args: {**real_run(*args), "unscored_seconds": 0.7})
    assert main(["predict", classifier, str(path), *CLI]) == 0
    assert "its last 0.7 s are in no window (--pad-last-window scores them)" in _summary(capsys)


# ------------------------------------------------------------------------------ 3. pad_last_window=False given


def test_an_explicit_pad_last_window_false_scores_a_short_recording_as_the_default(classifier, classify):
    short = _signal(1.5)
    default = classify(short, sampling_rate=RATE)
    assert _spans(default) == [(0.0, 1.5)]
    assert classify(short, sampling_rate=RATE, pad_last_window=False) == default
    chunks = [_signal(seconds, seed) for seed, seconds in enumerate([5, 5, 1.5, 5])]
    built = pipeline(model=classifier, backend="torch", pad_last_window=False)
    assert [len(result["windows"]) for result in built((chunk for chunk in chunks), sampling_rate=RATE)] == [2, 2, 1, 2]


# ------------------------------------------------------------------------------ 4. an error in a DataLoader worker


def test_an_error_in_a_dataloader_worker_is_the_citrus_error_itself(classify):
    chunks = [_signal(5, seed) for seed in range(3)]
    chunks[1][100:120] = np.nan
    with pytest.raises(ValueError) as alone:
        list(classify((chunk for chunk in chunks), sampling_rate=RATE))
    with pytest.raises(ValueError) as in_worker:
        list(classify((chunk for chunk in chunks), sampling_rate=RATE, num_workers=1))
    assert str(in_worker.value) == str(alone.value)
    assert str(alone.value).startswith("recording 1 contains 20 NaN values") and "\n" not in str(alone.value)
