"""What an audit of peak memory on whole nights found: `datasets` maps and writers that held many whole recordings at
once (64 rows a map batch, 1000 rows a cache write, whatever a row holds) and a first row decoded into Python floats
to learn its dimensions. Each test pins the work a step takes at a time (the batch a map is called with, the rows a
writer holds) with the size constants made small, so that tiny rows stand for nights, and checks the rows are those
made before; the one memory measure is a growth ratio (tracemalloc, as tests/memory_peaks.py measures)."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
from memory_peaks import peak_growth
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor
from citrus_hf.data import alignment, readers, windowing
from citrus_hf.data import recording_folders as folders

TWO_D = datasets.Features(
    {"input_values": datasets.List(datasets.List(datasets.Value("float32"))), "label": datasets.Value("int64")}
)


@pytest.fixture(scope="module")
def eeg_rows(edf_path) -> datasets.Dataset:
    """Rows of the real 64-channel EEG (S001R02.edf, 160 Hz, 61 s): the whole recording and its two halves, which
    stand for nights once the maps' size constants are made small."""
    data = readers.read_recording(edf_path).data[:, : 160 * 60].astype(np.float32)
    rows = [data, data[:, : data.shape[1] // 2], data[:, data.shape[1] // 2 :]]
    return datasets.Dataset.from_dict({"input_values": rows, "label": [0, 1, 0]}, features=TWO_D)


@pytest.fixture
def map_batches(monkeypatch) -> list[int | None]:
    """The `batch_size` of every `Dataset.map` called while the test runs."""
    sizes: list[int | None] = []
    real = datasets.Dataset.map

    def map_counting(self, *args, **kwargs):
        sizes.append(kwargs.get("batch_size"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(datasets.Dataset, "map", map_counting)
    return sizes


def test_window_examples_takes_as_many_long_rows_at_a_time_as_its_budget_holds(eeg_rows, monkeypatch, map_batches):
    """`window_examples` mapped 64 rows a batch: 64 whole nights decoded, and all their windows made, at once (16 rows
    of an hour of 4 channels at 256 Hz: 901 MB peak for 236 MB of rows). The batch is now as many rows as
    `MAP_BATCH_SAMPLES` holds, counted from the rows' Arrow offsets, and the windows are those cut before."""
    monkeypatch.setattr(windowing, "MAP_BATCH_SAMPLES", 64 * 160 * 61)  # one whole row
    windowed = windowing.window_examples(eeg_rows, 10.0, 10.0, sampling_rate=160.0)
    assert map_batches == [1]
    assert windowing.rows_per_map_batch(eeg_rows) == 1
    monkeypatch.setattr(windowing, "MAP_BATCH_SAMPLES", 2 * 64 * 160 * 60)
    assert windowing.rows_per_map_batch(eeg_rows) == 2
    monkeypatch.setattr(windowing, "MAP_BATCH_SAMPLES", 10**12)
    assert windowing.rows_per_map_batch(eeg_rows) == windowing.MAP_BATCH_ROWS
    expected = [row[:, start : start + 1600] for row in eeg_rows.with_format("numpy")["input_values"] for start in
                range(0, row.shape[1] - 1599, 1600)]  # fmt: skip
    assert len(windowed) == len(expected) == 6 + 3 + 3
    for window, cut in zip(windowed.with_format("numpy")["input_values"], expected, strict=True):
        assert window.dtype == np.float32 and np.array_equal(window, cut)
    assert windowed["label"] == [0] * 6 + [1] * 3 + [0] * 3


def test_window_examples_reads_the_first_rows_dimensions_without_decoding_it_into_python_floats(edf_path):
    """`window_examples` learnt whether rows are `(time,)` or `(channels, time)` from `split[0]` in `datasets`' default
    format: the first night as Python floats, 8x its float32 (a 2 h, 4-channel row at 256 Hz: 236 MB of floats). Its
    memory now grows with the rows about as the rows' own decoding does (5.1x a split's bytes before, 1.9x now)."""
    data = readers.read_recording(edf_path).data.astype(np.float32)

    def split_of(samples: int) -> datasets.Dataset:
        return datasets.Dataset.from_dict(
            {"input_values": [data[:, :samples], data[:, samples : 2 * samples]], "label": [0, 1]}, features=TWO_D
        )

    rows = {samples: split_of(samples) for samples in (2400, 4800)}

    class Size:
        def __init__(self, samples: int):
            self.nbytes = 2 * data.shape[0] * samples * 4

    def window(samples: int) -> Size:
        windowing.window_examples(rows[samples], 5.0, 5.0, sampling_rate=160.0)
        return Size(samples)

    growth = peak_growth(window, (2400, 4800))
    assert growth < 3.0, growth


@pytest.mark.parametrize(
    ("rows", "features", "shape"),
    [
        ([np.arange(7.0)], datasets.Features({"input_values": datasets.List(datasets.Value("float64"))}), (7,)),
        ([np.ones((3, 5))], datasets.Features({"input_values": datasets.List(datasets.List(datasets.Value("float32")))}),
         (3, 5)),
        ([np.ones((3, 5))], datasets.Features({"input_values": datasets.Array2D((3, 5), "float32")}), (3, 5)),
    ],
)  # fmt: skip
def test_the_first_examples_shape_is_read_from_any_storage(rows, features, shape):
    """A guard: `first_example_shape`, which replaced decoding the first row, reads each storage's shape (lists of
    numbers, lists of channels, fixed-size `Array2D`) as the decoded row's, with a selection of the rows too."""
    split = datasets.Dataset.from_dict({"input_values": rows * 3}, features=features)
    assert windowing.first_example_shape(split) == shape == np.shape(split[0]["input_values"])
    assert windowing.first_example_shape(split.select([2, 0])) == shape


def test_the_aligner_takes_as_many_long_rows_at_a_time_as_its_budget_holds(eeg_rows, monkeypatch, map_batches):
    """`align_rows` (pre-training's corpus, a labelled set's examples) mapped 64 rows a batch: 64 ten-minute segments
    of a pile decoded and split into channels at once (64 segments of 8 channels at 256 Hz: 629 MB traced for 315 MB
    of rows, 79 MB now). The batch is now as many rows as `MAP_BATCH_SAMPLES` holds; the aligned windows are the same
    whatever it is."""
    extractor = CiTrusFeatureExtractor.from_config(tiny_config(num_channels=1, sampling_rate=160, context_length=800))
    aligned = {}
    for budget in (64 * 160 * 61, 10**12):
        monkeypatch.setattr(windowing, "MAP_BATCH_SAMPLES", budget)
        rows = alignment.align_rows(eeg_rows, extractor, sampling_rate=160.0, split_channels=True, label_column="label")
        aligned[budget] = rows.with_format("numpy")[:]
    assert map_batches == [1, windowing.MAP_BATCH_ROWS]
    few, many = aligned.values()
    assert few.keys() == many.keys()
    for column in few:
        assert np.array_equal(few[column], many[column]), column


def test_a_folders_rows_are_written_as_they_are_read_not_a_thousand_at_a_time(
    recording_folders, own_datasets_cache, monkeypatch
):
    """A labelled folder's row is a whole file, and `Dataset.from_generator` held 1000 rows before it wrote them: a
    folder of nights was held whole, as float32, until every file was read (16 files of an hour of 4 channels at
    256 Hz per split: 934 MB peak, 345 MB now, as 2 files per split). The writer now holds the rows of about
    `_WRITTEN_FILE_BYTES` of files; small files are still written 1000 at a time."""
    sizes = []
    real = datasets.Dataset.from_generator

    def from_generator_counting(*args, **kwargs):
        sizes.append(kwargs.get("writer_batch_size"))
        return real(*args, **kwargs)

    monkeypatch.setattr(datasets.Dataset, "from_generator", from_generator_counting)
    loaded = recording_folders_loaded(recording_folders)
    assert sizes == [1000, 1000]
    monkeypatch.setattr(folders, "_WRITTEN_FILE_BYTES", 1)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(own_datasets_cache / "again"))
    again = recording_folders_loaded(recording_folders)
    assert sizes[2:] == [1, 1]
    for split in ("train", "test"):
        assert again[split]["recording"] == loaded[split]["recording"]
        for ours, before in zip(again[split]["input_values"], loaded[split]["input_values"], strict=True):
            assert np.array_equal(ours, before)


def recording_folders_loaded(folder):
    """The labelled folder `folder` read as `load_recording_folder` reads it, each row's samples as numpy."""
    loaded = folders.load_recording_folder(folder, sampling_rate=50.0)
    return {split: loaded[split].with_format("numpy", columns=["input_values", "recording"]) for split in loaded}


@pytest.mark.parametrize("selected", [False, True])
def test_the_rows_lengths_are_counted_from_the_offsets_without_copying_a_channel(eeg_rows, monkeypatch, selected):
    """`row_samples_and_rates` (window counts, coverage notes, the aligner's length) took every row's first channel with
    `pyarrow.compute.list_element`, a copy: of a whole set of single-channel nights, 4096 rows at a time (16 rows of
    2 h at 256 Hz: 126 MB of Arrow memory for 118 MB of rows, none now). The lengths now come from the lists'
    offsets, of a selection of rows too, and are those of the rows."""
    import pyarrow.compute as pc

    def copying(*args, **kwargs):
        raise AssertionError("a row's first channel was copied to count its samples")

    monkeypatch.setattr(pc, "list_element", copying)
    rows = eeg_rows.select([2, 0, 1]) if selected else eeg_rows
    one_channel = rows.map(lambda row: {"input_values": row["input_values"][:1]})
    for split in (rows, one_channel):
        counted = list(windowing.row_samples_and_rates([split], 160.0))
        assert counted == [(np.shape(values)[-1], 160.0) for values in split.with_format("numpy")["input_values"]]
    ids = windowing.window_example_ids(rows, 10.0, 10.0, 160.0)
    assert ids.tolist() == ([0] * 3 + [1] * 6 + [2] * 3 if selected else [0] * 6 + [1] * 3 + [2] * 3)


def test_rows_without_signal_reads_as_many_long_rows_at_a_time_as_its_budget_holds(eeg_rows, monkeypatch):
    """`rows_without_signal` (a set's per-recording scores in `citrus evaluate`: its test rows, whole recordings where
    the set is not cut into windows) decoded 256 rows at a time (16 rows of 1 h x 4 ch at 256 Hz: 472 MB traced, 122
    MB now). Its batch is now as many rows as `MAP_BATCH_SAMPLES` holds, and the flags are those of every row."""
    batches = []
    real = datasets.Dataset.iter

    def iter_counting(self, batch_size, *args, **kwargs):
        batches.append(batch_size)
        return real(self, batch_size, *args, **kwargs)

    flat = eeg_rows.map(lambda row: {"input_values": [[1.0] * 10] * 64})
    rows = datasets.concatenate_datasets([eeg_rows, flat.cast(eeg_rows.features)])
    monkeypatch.setattr(datasets.Dataset, "iter", iter_counting)
    monkeypatch.setattr(windowing, "MAP_BATCH_SAMPLES", 64 * 160 * 61)
    assert windowing.rows_without_signal(rows).tolist() == [False] * 3 + [True] * 3
    assert batches == [1]


def test_rows_naming_their_channels_in_another_order_are_reordered_a_budget_of_rows_at_a_time(
    eeg_rows, monkeypatch, map_batches
):
    """Rows that name their channels in another order than the train split's first row are reordered by a batched
    map, which took `datasets`' 1000 rows a batch: 1000 whole recordings decoded at once. It now takes as many rows
    as `MAP_BATCH_SAMPLES` holds; each row's channels come out in the first row's order."""
    from citrus_hf.data import splits

    names = [f"C{index}" for index in range(64)]
    named = eeg_rows.add_column("channel_names", [names, names[::-1], names])
    monkeypatch.setattr(windowing, "MAP_BATCH_SAMPLES", 64 * 160 * 61)
    (train,) = splits._channels_by_name([("train", named)])
    assert map_batches == [1]
    reordered = train.with_format("numpy")["input_values"]
    given = eeg_rows.with_format("numpy")["input_values"]
    assert np.array_equal(reordered[1], given[1][::-1]) and np.array_equal(reordered[2], given[2])
    assert train["channel_names"] == [names] * 3
