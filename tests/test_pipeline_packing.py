"""A list or stream of recordings shorter than a forward pass shares passes: each 0.8 s clip of a list ran a pass of
its own, 8x slower than aligning the clips at once and running their windows in batches. Packing changes no result:
each recording's windows, labels and scores are those of the recording run alone, in the order given, and an error
about one recording comes after the results of the recordings before it.

A tiny 3-label classifier (100 Hz, 2 s windows) on the torch backend.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tiny_configs import save_tiny_classifier
from transformers import pipeline
from transformers.pipelines.pt_utils import KeyDataset

from citrus_hf.inference import pipelines

RATE = 100.0


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory) -> str:
    torch.manual_seed(0)
    return save_tiny_classifier(str(tmp_path_factory.mktemp("classifier")), num_labels=3)


def _recordings(seconds: list[float], channels: list[int] | None = None) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    channels = channels or [1] * len(seconds)
    shapes = [
        (count, round(RATE * length)) if count > 1 else (round(RATE * length),)
        for length, count in zip(seconds, channels)
    ]
    return [rng.standard_normal(shape) for shape in shapes]


def _count_passes(pipe) -> list[int]:
    """The number of windows of each forward pass the pipeline's model runs."""
    passes: list[int] = []
    pipe.model.register_forward_hook(
        lambda module, args, kwargs, output: passes.append(len(kwargs["input_values"])), with_kwargs=True
    )
    return passes


def _same_results(packed: list[dict], alone: list[dict]) -> None:
    assert len(packed) == len(alone)
    for index, (mine, reference) in enumerate(zip(packed, alone)):
        assert mine["label"] == reference["label"], index
        assert mine["score"] == pytest.approx(reference["score"], abs=1e-5), index
        assert [(w["start"], w["end"], w["label"]) for w in mine["windows"]] == [
            (w["start"], w["end"], w["label"]) for w in reference["windows"]
        ], index


def test_short_recordings_of_a_list_share_forward_passes_and_keep_their_results(classifier_folder):
    pipe = pipeline("time-series-classification", model=classifier_folder, backend="torch")
    # ten clips of one shape and a long recording between them (three windows of its own)
    recordings = _recordings([0.8] * 5 + [6.0] + [0.8] * 5)
    alone = [pipe(recording, sampling_rate=RATE) for recording in recordings]
    passes = _count_passes(pipe)
    packed = pipe(recordings, sampling_rate=RATE, batch_size=4)
    _same_results(packed, alone)
    # the long recording runs its own passes (4 windows at most each); the clips 4 at a time
    assert sorted(passes) == sorted([3, 4, 4, 2])
    assert len(packed[5]["windows"]) == 3


def test_recordings_of_other_shapes_are_packed_apart_and_returned_in_order(classifier_folder, monkeypatch):
    # at most 3 recordings wait: the pack holding the oldest one then runs, so the results still come in order
    monkeypatch.setattr(pipelines, "PACKED_RECORDINGS_AHEAD", 3)
    pipe = pipeline("time-series-classification", model=classifier_folder, backend="torch")
    seconds = [0.8, 1.5, 0.8, 0.3, 1.5, 0.8, 0.3, 1.5]
    recordings = _recordings(seconds)
    alone = [pipe(recording, sampling_rate=RATE) for recording in recordings]
    passes = _count_passes(pipe)
    packed = pipe(recordings, sampling_rate=RATE)
    _same_results(packed, alone)
    assert sum(passes) == len(recordings) and len(passes) < len(recordings)
    # a torch Dataset (`KeyDataset`) of them is packed the same way
    passes.clear()
    streamed = pipe(KeyDataset([{"signal": recording} for recording in recordings], "signal"), sampling_rate=RATE)
    _same_results(list(streamed), alone)
    assert len(passes) < len(recordings)


def test_a_generator_gets_each_result_as_soon_as_its_recording_has_run(classifier_folder):
    """A generator may be a live stream: packing would hold its results back until a pass's worth of recordings had
    arrived (a generator that waits for each result before it yields the next would never get one)."""
    pipe = pipeline("time-series-classification", model=classifier_folder, backend="torch")
    recordings, drawn = _recordings([0.8] * 6), []

    def stream():
        for index, recording in enumerate(recordings):
            drawn.append(index)
            yield recording

    results = iter(pipe(stream(), sampling_rate=RATE))
    next(results)
    assert len(drawn) <= 2


def test_progress_bars_of_a_list_count_only_recordings_that_run_in_passes_of_their_own(classifier_folder, monkeypatch):
    """Clips run later in a pack: a bar opened for each stayed at 0%."""
    bars = []

    class Bar:
        def __init__(self, duration, delay):
            self.total, self.done = max(1, math.ceil(duration)), 0
            bars.append(self)

        def advance(self, seconds):
            self.done = seconds

        def close(self):
            pass

    monkeypatch.setattr(pipelines, "_RecordingProgress", Bar)
    pipe = pipeline("time-series-classification", model=classifier_folder, backend="torch")
    pipe(_recordings([0.8, 0.8, 6.0, 0.8]), sampling_rate=RATE, batch_size=2, progress=True)
    assert len(bars) == 1 and bars[0].done == bars[0].total  # the 6 s recording: 3 windows, 2 passes


def test_an_error_about_one_recording_of_a_stream_comes_after_the_results_before_it(classifier_folder):
    pipe = pipeline("time-series-classification", model=classifier_folder, backend="torch")
    recordings = _recordings([0.8, 0.8]) + [np.ones((2, 3, 4))] + _recordings([0.8])
    results = iter(pipe((recording for recording in recordings), sampling_rate=RATE))
    received = [next(results), next(results)]
    assert [result["label"] for result in received] == [
        pipe(recording, sampling_rate=RATE)["label"] for recording in recordings[:2]
    ]
    with pytest.raises(ValueError, match="Recording 2"):
        next(results)


@pytest.mark.parametrize("task", ["time-series-feature-extraction", "time-series-classification"])
def test_num_workers_keeps_transformers_own_loop_with_the_same_results(classifier_folder, task):
    pipe = pipeline(task, model=classifier_folder, backend="torch")
    recordings = _recordings([0.8, 0.8, 3.0])
    packed, looped = pipe(recordings, sampling_rate=RATE), pipe(recordings, sampling_rate=RATE, num_workers=0)
    key = "embedding" if task == "time-series-feature-extraction" else "score"
    for mine, reference in zip(packed, looped):
        np.testing.assert_allclose(mine[key], reference[key], atol=1e-5)
