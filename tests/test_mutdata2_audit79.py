"""Mutation audit of the data layer, second part (audit 79): each test pins an answer that a plausible slip in
splits, plans, alignment, builders, recording folders or streams would change without any other test noticing.
Expectations are worked out by hand in the comments, or by an independent reference written in the test."""

from __future__ import annotations

import numpy as np
import pytest


def _fisher_yates_passes(shard: range, rng: np.random.Generator, draws: int) -> list[int]:
    """Reference: the textbook Fisher-Yates shuffle of a list, one swap per draw, a new pass when the shard is used up,
    drawing `rng.integers(i, n)` for position `i` as the lazy walk does."""
    out: list[int] = []
    while len(out) < draws:
        order = list(shard)
        for i in range(len(order)):
            j = int(rng.integers(i, len(order)))
            order[i], order[j] = order[j], order[i]
            out.append(order[i])
            if len(out) == draws:
                break
    return out


def test_a_shards_lazy_passes_are_the_textbook_fisher_yates_shuffle():
    from citrus_hf.data.streams import _ShardPasses

    # rank 2 of 3 over 40 rows reads rows 2, 5, ..., 38 (13 rows); three passes and a bit of a fourth: the lazy walk
    # (swaps kept in a dict) must hand out exactly the rows a list-based shuffle with the same draws does. A swap that
    # forgets what an earlier swap put in the slot it passes over repeats one row and loses another within a pass,
    # with the same draws.
    shard = range(2, 40, 3)
    passes = _ShardPasses(shard)
    rng = np.random.default_rng(7)
    drawn = [passes.next(rng) for _ in range(45)]
    assert drawn == _fisher_yates_passes(shard, np.random.default_rng(7), 45)
    for first in (0, 13, 26):
        assert sorted(drawn[first : first + 13]) == list(shard)


def test_events_are_cut_on_the_sample_grid_up_to_a_pause_and_at_least_one_sample_long(tmp_path):
    from types import SimpleNamespace

    from citrus_hf.data.recording_folders import _at_samples, _cut_events

    # 10 s at 10 Hz whose samples count 0, 1, 2, ..., a pause at sample 20 (2 s). An event at 1.03 s of 0.97 s runs
    # from sample 10 (1.0 s, its nearest) up to the pause, which it does not span; one of 0.02 s (a fifth of a sample,
    # 0 samples when rounded) at 5 s is the one sample 50, not an empty example
    recording = SimpleNamespace(sampling_rate=10.0, data=np.arange(100, dtype=np.float32)[None])
    events = [{"onset": 1.03, "duration": 0.97, "label": "x"}, {"onset": 5.0, "duration": 0.02, "label": "y"}]
    (first, first_samples), (second, second_samples) = _cut_events(tmp_path / "a.edf", recording, events, [20])
    assert first == {"label": "x", "start_seconds": 1.0} and first_samples.tolist() == [list(range(10, 20))]
    assert second == {"label": "y", "start_seconds": 5.0} and second_samples.tolist() == [[50.0]]
    # a break at 0.29 s of a 100 Hz recording is sample 29 (0.29 * 100 is 28.999999999999996: nearest, not truncated)
    assert _at_samples([0.29, 1.5], 100.0) == [29, 150]


def test_a_labelled_layout_is_three_levels_deep_and_lists_train_validation_test(tmp_path):
    from citrus_hf.data.recording_folders import labelled_layout

    # train/<class>/<file> beside test/ and validation/ (written in that order): the splits in their usual order
    for split in ("train", "test", "validation"):
        (folder := tmp_path / split / "walking").mkdir(parents=True)
        np.save(folder / "a.npy", np.zeros((1, 10), np.float32))
    assert list(labelled_layout(tmp_path)) == ["train", "validation", "test"]
    # a file one level deeper is no class folder's file: no such layout
    (deeper := tmp_path / "train" / "walking" / "session2").mkdir()
    np.save(deeper / "b.npy", np.zeros((1, 10), np.float32))
    assert labelled_layout(tmp_path) is None


def test_carve_groups_read_an_unknown_subject_as_its_recording():
    import datasets

    from citrus_hf.data.splits import carve_groups

    # subject "unknown" is no one subject: rows of subject s1 group by s1, the "unknown" ones by their recording
    rows = datasets.Dataset.from_dict(
        {"subject": ["s1", "s1", "unknown", "unknown"], "recording": ["a", "b", "c", "d"]}
    )
    assert carve_groups(rows, by_subject=True) == (
        ["s1", "s1", "recording c", "recording d"],
        "subject (recording where unknown)",
    )


def test_a_float_labels_column_is_read_as_targets():
    import datasets

    from citrus_hf.data.splits import _labels_as_label_column

    # a set prepared for the Trainer keeps its answers in `labels`: floats are regression targets, ints class ids
    targets = _labels_as_label_column(datasets.Dataset.from_dict({"labels": [0.5, 1.5]}))
    assert "target" in targets.column_names and "label" not in targets.column_names
    classes = _labels_as_label_column(datasets.Dataset.from_dict({"labels": [0, 1]}))
    assert "label" in classes.column_names


def test_labelled_recordings_refuse_a_recording_of_two_labels():
    import datasets

    from citrus_hf.data.splits import TaskSplits

    # recording a holds a window of class 0 and one of class 1: no per-recording score, and the reason why
    rows = datasets.Dataset.from_dict({"label": [0, 1, 1, 1], "recording": ["a", "a", "b", "b"]})
    splits = TaskSplits(
        train=rows, validation=None, test=rows, task="classification", label_names=["x", "y"], num_channels=1,
        validation_source="none",
    )  # fmt: skip
    recordings, why_not = splits.labelled_recordings("test")
    assert recordings is None and why_not.startswith("its labels vary within a recording")


def test_example_ids_of_windows_hop_by_the_hop_not_the_window():
    import datasets

    from citrus_hf.data.splits import _example_ids

    # rows of 40 and 20 samples at 10 Hz cut into 2 s windows every 1 s: windows at 0, 1, 2 s of row 0 and at 0 s of
    # row 1 (a hop of the window's 2 s would give row 0 two windows)
    rows = datasets.Dataset.from_dict({"input_values": [[[0.0] * 40], [[0.0] * 20]], "label": [0, 1]})
    assert _example_ids(rows, (2.0, 1.0), 10.0, "recording").tolist() == [0, 0, 0, 1]


def test_a_new_window_keeps_a_sets_windows_back_to_back():
    from citrus_hf.data.plans import resolve_options
    from citrus_hf.data.registry import get_dataset_spec

    # eeg_pretrain's windows are back to back by default (hop = window): 10 s windows hop 10 s, not the default 30 s
    spec = get_dataset_spec("eeg_pretrain")
    assert spec.defaults["hop_seconds"] == spec.defaults["window_seconds"] != 10.0
    assert resolve_options(spec, {"window_seconds": 10.0})["hop_seconds"] == 10.0
    assert resolve_options(spec, {"window_seconds": 10.0, "hop_seconds": 5.0})["hop_seconds"] == 5.0


def test_a_recordings_short_end_is_joined_to_the_segment_before_it():
    import datasets

    from citrus_hf.data.recording_folders import _channel_seconds, _short_end_joined

    # segments of 10 samples: an end of 4 (under half a segment) joins the one before; an end of 5 is a row of its own
    joined = _short_end_joined(iter([np.zeros((1, 10)), np.zeros((1, 10)), np.zeros((1, 4))]), 10)
    assert [segment.shape[1] for segment in joined] == [10, 14]
    kept = _short_end_joined(iter([np.zeros((1, 10)), np.zeros((1, 5))]), 10)
    assert [segment.shape[1] for segment in kept] == [10, 5]
    # channel-seconds: 2 channels of 50 samples at 10 Hz are 10 s, 1 of 30 at 100 Hz 0.3 s
    rows = datasets.Dataset.from_dict(
        {"input_values": [np.zeros((2, 50)), np.zeros((1, 30))], "sampling_rate": [10.0, 100.0]}
    )
    assert _channel_seconds(rows).tolist() == pytest.approx([10.0, 0.3])
