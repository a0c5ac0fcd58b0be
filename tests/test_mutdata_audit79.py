"""Mutation audit of the data layer's arithmetic (audit 79): each test pins an answer that a plausible slip would
change without any other test noticing (a comparison flipped, an offset dropped, a slice off by one, a sort left
out). Expectations are worked out by hand in the comments; the rows are tiny synthetic ones, as the functions read
only lengths, rates, ids and labels."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from citrus_hf.data import windowing
from citrus_hf.data.splits import TaskSplits, _check_disjoint_slices, _example_ids, _example_spans, grouping_problem
from citrus_hf.data.windowing import (
    seconds_to_samples,
    time_blocks,
    whole_patch_windows,
    window_coverage_notes,
    window_example_ids,
    window_examples,
    window_starts,
)


def _rows(lengths: list[int], channels: int = 1, rate: float = 10.0, **columns) -> datasets.Dataset:
    """Rows of `channels` x `lengths[i]` samples (each row's samples count up from its row number) at `rate` Hz."""
    values = [np.tile(np.arange(n, dtype=np.float32) + i, (channels, 1)) for i, n in enumerate(lengths)]
    return datasets.Dataset.from_dict(
        {"input_values": values, "label": [0] * len(lengths), "sampling_rate": [rate] * len(lengths), **columns}
    )


def test_window_starts_stop_past_the_end_is_the_end_and_lengths_round_to_the_nearest_sample():
    # a `stop` beyond the recording is its end: 1000 samples hold windows of 200 at 0, 200, ..., 800, not up to 4800
    assert window_starts(1000, 100.0, 2.0, 2.0, stop=5000).tolist() == [0, 200, 400, 600, 800]
    # 1 s at 173.61 Hz is 173.61 samples: 174 (nearest), not 173 (truncated)
    assert seconds_to_samples(1.0, 173.61) == 174


def test_time_blocks_normalise_fractions_that_do_not_sum_to_one():
    # shares 2 : 1 : 1 of 100 samples: 50, 25 and 25
    assert time_blocks(100, (2, 1, 1), ("train", "validation", "test")) == {
        "train": (0, 50),
        "validation": (50, 75),
        "test": (75, 100),
    }


@pytest.mark.parametrize(
    "window, hop, share",
    [
        # 10 s examples at 10 Hz, 2 s windows every 4 s: starts 0, 40, 80; each window covers 20 samples, so 60 of 100
        # are in a window and 40 % in none (the stretches between windows and none at the end)
        (2.0, 4.0, "40% of their samples are in no window"),
        # 4 s windows every 4 s: starts 0, 40; 80 samples covered, the last 2 s (20 %) in none
        (4.0, 4.0, "20% of their samples are in no window"),
        # 4 s windows every 3 s: starts 0, 30, 60; the windows overlap and reach the end: nothing left out
        (4.0, 3.0, ""),
    ],
)
def test_window_coverage_notes_count_the_samples_no_window_holds(window, hop, share):
    rows = _rows([100, 100])
    assert window_coverage_notes(rows, window, hop) == ("", share)


def test_window_example_ids_count_a_short_example_once_and_a_row_by_its_first_channel():
    # rows of 2 channels of 30, 5 and 20 samples at 10 Hz, windows of 1 s: 3 windows, 1 (shorter than a window, kept
    # whole) and 2; a row's samples are its first channel's 30, not the 60 of both channels
    rows = _rows([30, 5, 20], channels=2)
    assert list(windowing.row_samples_and_rates([rows])) == [(30, 10.0), (5, 10.0), (20, 10.0)]
    assert window_example_ids(rows, 1.0, 1.0).tolist() == [0, 0, 0, 1, 2, 2]


def test_rows_per_map_batch_counts_every_channel_of_the_largest_row():
    # one row of 2 channels x 2**17 samples holds 2**18 samples: 2**23 // 2**18 = 32 rows a batch (64 counted the
    # first channel alone)
    row = np.zeros((2, 2**17), dtype=np.float32)
    rows = datasets.Dataset.from_dict({"input_values": [row]})
    assert windowing.rows_per_map_batch(rows) == 32


def test_window_examples_name_rows_without_a_recording_by_their_row_in_the_split_past_one_batch():
    # 70 rows, more than one map batch (64): row 69 is "train row 69", not its place in its batch ("train row 5"),
    # which would give rows of two batches one recording id
    windowed = window_examples(_rows([10] * 70), 1.0, 1.0)
    assert windowed["recording"][-1] == "train row 69"
    assert len(set(windowed["recording"])) == 70


def test_window_examples_read_each_rows_rate_from_its_column_and_keep_a_short_example_whole():
    # rows at 10 Hz by their column; the argument (20 Hz) is for rows without one: 1 s windows of 30 samples are 3,
    # and an example of 5 samples (shorter than a window) is one row of its 5
    windowed = window_examples(_rows([30, 5]), 1.0, 1.0, sampling_rate=20.0)
    assert windowed["start_seconds"] == [0.0, 1.0, 2.0, 0.0]
    assert [np.shape(values) for values in windowed.with_format("numpy")["input_values"]] == [(1, 10)] * 3 + [(1, 5)]


def test_a_set_of_your_owns_hop_defaults_to_its_window():
    from citrus_hf.data.windowing import check_own_set_options

    assert check_own_set_options({"window_seconds": 4}, "mine") == (4.0, 4.0)  # windows back to back
    assert check_own_set_options({"window_seconds": 4, "hop_seconds": 1}, "mine") == (4.0, 1.0)


@pytest.mark.parametrize(
    "window, hop_given, expected",
    [
        # 0.5 s is 2.5 patches of 0.2 s: halves go up, to 3 patches (0.6 s; Python's round gives 2); the hop follows
        ((0.5, 0.5), False, (0.6, 0.6)),
        # a hop given stays as given
        ((0.5, 0.5), True, (0.6, 0.5)),
        ((0.4, 0.2), False, (0.4, 0.2)),  # whole patches: as given
    ],
)
def test_whole_patch_windows_round_halves_up_and_carry_the_hop(window, hop_given, expected):
    assert whole_patch_windows(window, 0.2, hop_given) == expected


def test_grouping_problem_tells_one_row_per_recording_from_labels_per_recording():
    assert grouping_problem(["a", "b"], [0, 1]) is not None  # each recording is one row: nothing to average
    # two recordings of two windows each, one label per recording: scores per recording hold
    assert grouping_problem(["a", "a", "b", "b"], [0, 0, 1, 1]) is None
    assert grouping_problem(["a", "a", "b", "b"], [0, 1, 1, 1]) is not None  # recording a has two labels


def _task_splits(rows: datasets.Dataset, **fields) -> TaskSplits:
    return TaskSplits(
        train=rows, validation=rows.select([]), test=rows, task="classification", label_names=["a", "b", "c"],
        num_channels=1, validation_source="test", **fields,
    )  # fmt: skip


def test_task_splits_examples_of_a_carve_are_those_of_its_own_rows():
    # windows of examples 0, 0, 1, 1, 2, 3; the carve keeps rows 0, 1, 4, 5 for training and validates on 2, 3
    rows = _rows([10] * 6)
    ids = np.array([0, 0, 1, 1, 2, 3])
    splits = _task_splits(rows, example_ids=ids, train_rows=np.array([0, 1, 4, 5]), validation_rows=np.array([2, 3]))
    assert splits.examples("train").tolist() == [0, 0, 2, 3]
    assert splits.examples("validation").tolist() == [1, 1]
    # the train split of 6 windows holds 4 examples (0, 1, 2, 3), as a label budget counts them
    assert _task_splits(rows, example_ids=ids).num_examples("train") == 4


def test_absent_classes_name_the_last_class_too():
    rows = _rows([10] * 2).cast_column("label", datasets.ClassLabel(names=["a", "b", "c"]))
    assert _task_splits(rows).absent_classes("train") == ["b", "c"]


def test_example_ids_of_a_folders_stretches_are_their_recordings_first_row():
    # a folder's file "x" read as two stretches (rows 0, 1) beside file "y" (row 2): examples 0, 0, 2
    rows = _rows([10] * 3, recording=["x", "x", "y"])
    assert _example_ids(rows, None, None, "example").tolist() == [0, 0, 2]
    # every file one row: every row its own example (None), as without windows
    assert _example_ids(_rows([10] * 2, recording=["x", "y"]), None, None, "example") is None


def test_example_spans_are_seconds_of_each_rows_first_channel():
    # 2 channels of 40, 20 and 30 samples at 10 Hz from 3 s: (3, 7), (3, 5), (3, 6); each row's first channel, where
    # a row's channels were read at the wrong offsets, another row's length
    rows = _rows([40, 20, 30], channels=2, recording=["r", "s", "t"], start_seconds=[3.0] * 3)
    assert _example_spans(rows) == {"r": [(3.0, 7.0)], "s": [(3.0, 5.0)], "t": [(3.0, 6.0)]}


@pytest.mark.parametrize("test_split, shared", [("train[5:]", "5..5"), ("train", "0..5")])
def test_slices_that_share_a_single_row_are_refused(test_split, shared):
    # train[:6] holds rows 0..5; train[5:] starts at row 5 (one row in common), the whole train split all of them
    loaded = datasets.DatasetDict({"train": _rows([10] * 10)})
    with pytest.raises(ValueError, match=f"share rows {shared} "):
        _check_disjoint_slices(loaded, {"train": "train[:6]", "test": test_split})
    _check_disjoint_slices(loaded, {"train": "train[:5]", "test": "train[5:]"})  # adjacent: no row in common


def test_split_shares_and_fingerprints_keep_each_split_its_own():
    from citrus_hf.data.plans import fingerprint, split_shares

    assert split_shares((0.7, 0.2, 0.1)) == {"train": 0.7, "validation": 0.2, "test": 0.1}
    # the split is in the cache key: two splits of one build never share cached rows
    assert fingerprint("set", "1.0", {}, (), "train") != fingerprint("set", "1.0", {}, (), "test")


def test_option_values_at_their_bounds():
    from citrus_hf.data.errors import CitrusDataError
    from citrus_hf.data.plans import _check_option_values

    _check_option_values("set", {"offset_seconds": 0.0, "validation_fraction": 0.0, "seed": 0})  # bounds held: taken
    with pytest.raises(CitrusDataError, match=r"Option 'validation_fraction' .* must be a share in \[0, 1\)"):
        _check_option_values("set", {"validation_fraction": 1.0})  # every row to validation, none to train


def test_row_sizes_count_every_channels_samples():
    from citrus_hf.data.plans import row_sizes

    # 2 channels of 30 and 20 samples: values 60 and 40 (channels x time), of an Array2D set too
    rows = _rows([30, 20], channels=2)
    assert [values.tolist() for values in row_sizes(rows)] == [[2, 2], [60, 40]]
    fixed = rows.select([0]).cast_column("input_values", datasets.Array2D(shape=(2, 30), dtype="float32"))
    assert [values.tolist() for values in row_sizes(fixed)] == [[2], [60]]


def test_summarize_dataset_counts_recordings_hours_and_targets():
    from citrus_hf.data.builders import summarize_dataset

    # 3 rows of 2 channels x 3600 samples at 10 Hz (720 channel-seconds each: 0.6 channel-hours in all) of recordings
    # a, a, b (2 recordings); 2 targets per row, the second position's values 10, 30 and inf
    rows = _rows([3600] * 3, channels=2, recording=["a", "a", "b"], modality=["eeg", "eeg", "ecg"])
    rows = rows.remove_columns("label").add_column("target", [[1.0, 10.0], [2.0, 30.0], [3.0, float("inf")]])
    summary = summarize_dataset(datasets.DatasetDict({"train": rows}))
    train = summary["splits"]["train"]
    assert train["recordings"] == 2
    assert train["channel_hours"] == pytest.approx(0.6)
    # each position's own statistics; np.std of 10 and 30 is 10 (ddof 0), the inf counted apart, not pooled
    assert train["targets"][0] == {"mean": 2.0, "std": pytest.approx(np.std([1, 2, 3])), "min": 1.0, "max": 3.0}
    assert train["targets"][1] == {"mean": 20.0, "std": 10.0, "min": 10.0, "max": 30.0, "not_finite": 1}
    # the set's hours per modality, the largest first: eeg 0.4 h, then ecg 0.2 h (not in the names' order)
    assert list(summary["modality_hours"].items()) == [("eeg", pytest.approx(0.4)), ("ecg", pytest.approx(0.2))]


def test_summarize_dataset_counts_a_multi_hot_rows_classes_where_they_are_held():
    from citrus_hf.data.builders import summarize_dataset

    rows = _rows([10] * 2).remove_columns("label").add_column("label", [[1.0, 0.0], [1.0, 1.0]])
    assert summarize_dataset(datasets.DatasetDict({"train": rows}))["splits"]["train"]["per_class"] == {"0": 2, "1": 1}


def test_aligned_lengths_round_up_to_whole_patches_and_samples():
    from citrus_hf import CiTrusFeatureExtractor
    from citrus_hf.data.alignment import _resampled_length, aligned_length

    extractor = CiTrusFeatureExtractor(sampling_rate=100.0, context_length=200, patch_length=20, padding="longest")
    # the longest row, 50 samples at 100 Hz, fills 3 patches of 20 (60 samples): 2 would cut its last 10
    assert aligned_length([_rows([50, 30], rate=100.0)], extractor) == 60
    # 11 samples at 64 Hz are 17.19 at 100 Hz: resample_poly gives 18 (ceil(11 * 25 / 16))
    assert _resampled_length(11, 64.0, extractor) == 18


def test_one_duration_and_stretched_seconds_of_rows():
    from citrus_hf.data.alignment import one_duration, stretched_seconds

    # 10 s at 10 Hz beside 10.05 s at 100 Hz: within one sample of the coarsest rate (0.1 s), so one duration
    assert one_duration([(100, 10.0), (1005, 100.0)])
    assert not one_duration([(100, 10.0), (1020, 100.0)])  # 0.2 s apart: two samples at 10 Hz
    assert stretched_seconds([_rows([30, 50, 20])]) == [2.0, 5.0]  # [shortest, longest] at 10 Hz


def test_an_event_off_the_sample_grid_starts_at_its_nearest_sample(tmp_path):
    import pandas as pd
    from tiny_configs import write_edf

    from citrus_hf.data.recording_folders import load_recording_folder

    # 10 s at 50 Hz whose samples count 0, 1, 2, ... (whole numbers: EDF's 16-bit samples keep them); an event at
    # 1.013 s is at sample 50.65: it starts at sample 51 (1.02 s), not 50 (truncated) nor at 1.013 s as written
    (tmp_path / "train").mkdir()
    signal = np.arange(500, dtype=np.float64)
    write_edf(tmp_path / "train" / "a.edf", [signal, -signal], ["C3", "C4"], 50, peak=600.0)
    events = [{"file_name": "a.edf", "onset": 1.013, "duration": 0.5, "label": "x"}]
    pd.DataFrame(events).to_csv(tmp_path / "train" / "metadata.csv", index=False)
    (example,) = load_recording_folder(tmp_path)["train"]
    assert example["start_seconds"] == pytest.approx(1.02)
    np.testing.assert_allclose(np.asarray(example["input_values"])[0], np.arange(51, 76), atol=0.05)


def _corpus(rows: int, context: int = 40) -> list[dict]:
    """`rows` aligned real windows `(1, context)`, each row's samples its row number (any map-style dataset will do)."""
    return [{"input_values": np.full((1, context), row, dtype=np.float32)} for row in range(rows)]


def test_a_ranks_real_windows_are_its_own_shard_once_per_pass():
    from citrus_hf.data.streams import MixedWindowStream

    # rank 1 of 2 reads rows 1, 3, 5, 7, 9 of 10: a pass of 5 real draws holds each once, and no even row
    stream = MixedWindowStream(_corpus(10), 0.0, 100.0, 40, 20, rank=1, world_size=2)
    windows = stream.windows(np.random.default_rng(0))
    rows = [int(next(windows)["example_id"]) for _ in range(5)]
    assert sorted(rows) == [1, 3, 5, 7, 9]
    # the run-wide walk of `chunk_windows` too: chunk 0 of 5 real windows is the shard, once each
    chunk = stream.chunk_windows(np.random.default_rng(0), 5, 0)
    assert sorted(int(window["example_id"]) for window in chunk) == [1, 3, 5, 7, 9]


def test_text_labels_are_numbered_in_sorted_order_across_splits():
    from citrus_hf.data.splits import _text_labels_as_class_labels

    # names of every split, sorted: run, sit, walk (first seen would number walk 0 in train); numbers by value
    train, validation, test = _text_labels_as_class_labels(
        datasets.Dataset.from_dict({"label": ["walk", "run", "walk"]}),
        None,
        datasets.Dataset.from_dict({"label": ["sit"]}),
    )
    assert train.features["label"].names == ["run", "sit", "walk"] and validation is None
    assert train["label"] == [2, 0, 2] and test["label"] == [1]
    (numbered,) = _text_labels_as_class_labels(datasets.Dataset.from_dict({"label": ["10", "2", "1"]}))
    assert numbered.features["label"].names == ["1", "2", "10"]


def test_class_names_of_bare_ids_run_to_the_largest():
    from citrus_hf.data.splits import label_names_of

    # ids 0 and 2 without a ClassLabel: classes "0", "1", "2" (id 2 needs a third name)
    assert label_names_of(datasets.Dataset.from_dict({"label": [0, 2]})) == ["0", "1", "2"]


@pytest.mark.usefixtures("own_datasets_cache")
def test_a_boundary_written_in_the_label_column_is_a_break(tmp_path):
    from test_bids_audit73 import _bids

    from citrus_hf.data.recording_folders import load_recording_folder

    # EEGLAB writes the boundary type in the label column too: with label_column=value, a row of value "boundary"
    # (trial_type n/a) is a break, not an event labelled "boundary" (of no duration)
    events = [[1.0, 2.0, "left", 1], [3.5, "n/a", "n/a", "boundary"], [4.0, 2.0, "right", 2]]
    _bids(tmp_path / "bids", events=events)
    loaded = load_recording_folder(tmp_path / "bids", bids_options={"test_subjects": "03", "label_column": "value"})
    assert list(loaded["train"]["label"]) == ["1", "2", "1", "2"]


def test_an_event_one_sample_past_the_recordings_end_is_refused(tmp_path):
    import pandas as pd
    from tiny_configs import write_edf

    from citrus_hf.data.recording_folders import load_recording_folder

    # 10 s at 50 Hz are samples 0..499; an event from 9.5 s for 0.52 s runs from sample 475 to 501, one past the end:
    # refused (its example would be a sample short of its duration, without a word)
    (tmp_path / "train").mkdir()
    write_edf(tmp_path / "train" / "a.edf", [np.zeros(500), np.zeros(500)], ["C3", "C4"], 50, peak=600.0)
    events = [{"file_name": "a.edf", "onset": 9.5, "duration": 0.52, "label": "x"}]
    pd.DataFrame(events).to_csv(tmp_path / "train" / "metadata.csv", index=False)
    with pytest.raises(ValueError, match=r"a.edf lasts 10 s .*ends past that, at 10.02 s"):
        load_recording_folder(tmp_path)
