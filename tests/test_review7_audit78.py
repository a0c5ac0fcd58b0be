"""A review of this session's memory work on the maps over whole examples (`first_example_shape`, `rows_per_map_batch`
in data/windowing.py): a first row whose channels are fixed-size lists read as one channel, and a check that the
aligned and windowed rows are the same whatever the map's batch, on a selection of rows that spans batches."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor
from citrus_hf.data import alignment, readers, windowing
from citrus_hf.data.splits import load_task_splits

# channels of one fixed length, as `cast` to `List(List(Value, length=T))` stores rows of equal length
FIXED_CHANNELS = datasets.Features(
    {
        "input_values": datasets.List(datasets.List(datasets.Value("float32"), length=200)),
        "label": datasets.ClassLabel(names=["slow", "fast"]),
        "sampling_rate": datasets.Value("float64"),
    }
)


def fixed_channel_rows(rows: int) -> datasets.Dataset:
    """`rows` rows of 3 channels of 200 samples at 50 Hz, stored as fixed-size channel lists."""
    signals = np.random.default_rng(rows).normal(size=(rows, 3, 200)).astype(np.float32)
    return datasets.Dataset.from_dict(
        {"input_values": list(signals), "label": [row % 2 for row in range(rows)], "sampling_rate": [50.0] * rows},
        features=FIXED_CHANNELS,
    )


def test_rows_of_fixed_length_channels_are_read_as_channels_not_as_one_channel(tmp_path):
    """`first_example_shape` read a first row of fixed-size channel lists as `(channels,)`, one channel of as many
    samples as the row has channels: `load_task_splits` gave a 3-channel set `num_channels=1` (a one-channel model for
    3-channel rows) and `window_examples` failed deep in Arrow ("Couldn't cast array of type list<item: float> to
    float"). The row is `(channels, time)`, as decoding it says."""
    split = fixed_channel_rows(8)
    assert windowing.first_example_shape(split) == (3, 200) == np.shape(split.with_format("numpy")[0]["input_values"])
    windowed = windowing.window_examples(split, 2.0, 2.0).with_format("numpy")
    assert len(windowed) == 8 * 2 and windowed[0]["input_values"].shape == (3, 100)
    assert np.array_equal(windowed[1]["input_values"], split.with_format("numpy")[0]["input_values"][:, 100:])
    datasets.DatasetDict(train=split, test=fixed_channel_rows(4)).save_to_disk(tmp_path / "set")
    assert load_task_splits(tmp_path / "set", require_validation=False).num_channels == 3


@pytest.fixture(scope="module")
def shuffled_rows(edf_path) -> datasets.Dataset:
    """Rows of 4 channels of the real EEG (S001R02.edf, 160 Hz) of five lengths, concatenated with a copy of two of
    them and shuffled (an indices mapping over two tables), so that a map's batches hold rows of several tables."""
    data = readers.read_recording(edf_path).data[:4].astype(np.float32)
    spans = [(0, 3000), (100, 9760), (5, 900), (0, 4000), (1, 7001)]
    rows = datasets.Dataset.from_dict(
        {
            "input_values": [data[:, start:end] for start, end in spans],
            "label": [0, 1, 0, 1, 1],
            "sampling_rate": [160.0] * len(spans),
            "recording": ["a", None, "b", "a", None],
        }
    )
    return datasets.concatenate_datasets([rows, rows.select([4, 2])]).shuffle(seed=3)


def test_windows_and_aligned_rows_are_the_same_whatever_the_maps_batch(shuffled_rows, monkeypatch):
    """A guard (it passes before the review's fix too): `window_examples` and `align_rows` with "window" alignment (a
    row's windows follow it through `recording_index` within a batch) give the same rows, bit for bit, with one row a
    batch and with `MAP_BATCH_ROWS` rows, on shuffled rows of two tables and of different lengths."""
    extractor = CiTrusFeatureExtractor.from_config(
        tiny_config(num_channels=4, sampling_rate=100, context_length=400, alignment="window")
    )
    made = []
    for budget in (1, 10**12):
        monkeypatch.setattr(windowing, "MAP_BATCH_SAMPLES", budget)
        windows = windowing.window_examples(shuffled_rows, 4.0, 3.0)
        aligned = alignment.align_rows(shuffled_rows, extractor, label_column="label", whole_patches=True)
        made.append((windows.with_format("numpy")[:], aligned.with_format("numpy")[:]))
    for few, many in zip(*made, strict=True):
        assert few.keys() == many.keys()
        for column in few:
            assert len(few[column]) == len(many[column]) > 0, column
            assert all(np.array_equal(a, b) for a, b in zip(few[column], many[column], strict=True)), column
