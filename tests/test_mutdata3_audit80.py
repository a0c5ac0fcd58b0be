"""Mutation audit of the data layer, third part (audit 80): each test pins an answer that a plausible slip in the
streams, plans, alignment, summaries, BIDS or recording folders would change without any other test noticing.
Expectations are worked out by hand in the comments, or by an independent reference written in the test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from citrus_hf.data.synthetic import SyntheticGenerator


@dataclass
class _Ramps(SyntheticGenerator):
    """One draw is three consecutive windows of one recording that counts up from `offset`: window k starts at
    `offset + k * length`, so a window tells where in its recording it lies (and which generator drew it)."""

    offset: float = 0.0
    name = "audit80_ramps"
    version = "1"
    modality = "test"

    def generate(self, rng: np.random.Generator, sampling_rate: float, length: int) -> np.ndarray:
        return (self.offset + np.arange(3 * length, dtype=np.float32)).reshape(3, length)


def _real(rows: int, length: int = 8, masks: list | None = None) -> list[dict]:
    """A corpus of `rows` aligned windows `(1, length)`: row r holds the value r everywhere but its last sample."""
    out = []
    for row in range(rows):
        values = np.full((1, length), float(row), np.float32)
        values[0, -1] += 0.5
        out.append({"input_values": values} if masks is None else {"input_values": values, "patch_mask": masks[row]})
    return out


def test_a_streams_generator_weights_are_honoured_per_generator():
    from citrus_hf.data.streams import SyntheticWindowStream

    # weights 3 : 1 are probabilities 0.75 / 0.25 (what the model card records): a window's generator is the first
    # where the uniform draw choosing it falls below 0.75. With generators that draw nothing themselves, the reference
    # replays those draws (after each window's draw against the ratio, 1: always synthetic), window by window
    first, second = _Ramps(offset=0.0), _Ramps(offset=1000.0)
    stream = SyntheticWindowStream(10.0, 8, 2, generators=[first, second], weights=[3.0, 1.0])
    assert [g["weight"] for g in stream.settings()["generators"]] == [0.75, 0.25]
    windows = stream.windows(np.random.default_rng(1))
    drawn = [int(next(windows)["source_id"]) for _ in range(400)]
    rng = np.random.default_rng(1)
    reference = [(rng.random(), 1 if rng.random() < 0.75 else 2)[1] for _ in range(400)]
    assert drawn == reference and drawn.count(1) == 285
    # a generator of weight 0 never draws: every window comes from the second generator (source id 2)
    only_second = SyntheticWindowStream(10.0, 8, 2, generators=[first, second], weights=[0.0, 1.0], seed=3)
    windows = only_second.windows(np.random.default_rng(0))
    assert {int(next(windows)["source_id"]) for _ in range(60)} == {2}


def test_a_generators_windows_are_streamed_in_recording_order():
    from citrus_hf.data.streams import SyntheticWindowStream

    # one draw holds three consecutive windows (starting at samples 0, 8, 16 of the recording); the stream hands
    # them out in that order, then draws again (0, 8, 16 once more)
    stream = SyntheticWindowStream(10.0, 8, 2, generators=[_Ramps()], normalization="none")
    windows = stream.windows(np.random.default_rng(0))
    starts = [float(next(windows)["input_values"][0, 0]) for _ in range(6)]
    assert starts == [0.0, 8.0, 16.0, 0.0, 8.0, 16.0]


def test_a_runs_walk_draws_a_fresh_permutation_for_every_pass():
    from citrus_hf.data.streams import _WALK_SALT, MixedWindowStream

    # all-real chunks of 4 windows over rank 1's shard of a 2-process run over 12 rows (rows 1, 3, ..., 11: 6 rows):
    # 5 chunks take walk positions 0..19, three passes and a bit; pass p is the permutation of the shard that
    # (seed, rank, p) seeds, so passes differ from each other (one seed for every pass repeated the same order)
    stream = MixedWindowStream(_real(12), 0.0, 10.0, 8, 2, seed=5, rank=1, world_size=2)
    drawn = []
    for chunk in range(5):
        drawn += [int(w["example_id"]) for w in stream.chunk_windows(np.random.default_rng(chunk), 4, chunk)]
    shard = list(range(1, 12, 2))
    expected = []
    for walk_pass in range(4):
        seed = np.random.SeedSequence([5, 1, walk_pass, _WALK_SALT])
        expected += [shard[i] for i in np.random.default_rng(seed).permutation(6)]
    assert drawn == expected[:20]
    assert drawn[:6] != drawn[6:12]


def test_a_corpus_smaller_than_the_processes_is_refused_at_construction():
    from citrus_hf.data.streams import MixedWindowStream

    # 2 windows for 3 processes: rank 2's shard would be empty; refused up front, not when the stream first draws
    with pytest.raises(ValueError, match="has 2 windows, fewer than the 3 processes"):
        MixedWindowStream(_real(2), 0.5, 10.0, 8, 2, rank=2, world_size=3)
    # all synthetic: the corpus is never read, so its size does not matter
    MixedWindowStream(_real(2), 1.0, 10.0, 8, 2, rank=2, world_size=3)


def test_a_real_windows_own_patch_mask_is_streamed():
    from citrus_hf.data.streams import MixedWindowStream

    # a real window whose last patch is padding keeps its mask (4 patches of 2 samples), in both ways of reading
    masks = [[1, 1, 1, 0]] * 3
    stream = MixedWindowStream(_real(3, masks=masks), 0.0, 10.0, 8, 2)
    window = next(stream.windows(np.random.default_rng(0)))
    assert window["patch_mask"].tolist() == [1, 1, 1, 0]
    assert stream.chunk_windows(np.random.default_rng(0), 1, 0)[0]["patch_mask"].tolist() == [1, 1, 1, 0]


def test_a_rows_time_axis_off_the_fixed_shape_is_refused():
    from datasets import Dataset

    from citrus_hf.data import CitrusDataError
    from citrus_hf.data.plans import _check_fixed_shape

    # every row has the one channel the shape (1, 100) fixes, but row 1 holds 90 samples: refused by its time axis
    # alone (the channel counts all agree), naming the row, its recording and its shape
    rows = [np.zeros((1, 100)), np.zeros((1, 90)), np.zeros((1, 100))]
    dataset = Dataset.from_dict({"input_values": [r.tolist() for r in rows], "recording": ["a", "b", "c"]})
    with pytest.raises(
        CitrusDataError, match=r"Row 1 .*recording 'b'.*1 channel\(s\) of 90 samples.*\(1, 100\) \(1 row"
    ):
        _check_fixed_shape(dataset, "mine", "train", (1, 100))
    fixed = Dataset.from_dict({"input_values": [rows[0].tolist(), rows[2].tolist()], "recording": ["a", "c"]})
    _check_fixed_shape(fixed, "mine", "train", (1, 100))


def test_the_rows_of_a_file_read_once_per_rate_are_its_rows():
    from datasets import Dataset

    from citrus_hf.data.recording_folders import _file_spans

    # a file of channels at two rates is read as one recording per rate, named "<file>@<rate>Hz": both are its rows,
    # so the next file's rows start after them (a file whose name merely starts alike is another file)
    names = ["a.edf@250Hz", "a.edf@500Hz", "a.edf2", "b.edf", "b.edf", "c.edf@10Hz"]
    rows = Dataset.from_dict({"recording": names})
    spans = _file_spans(rows, ["a.edf", "a.edf2", "b.edf", "c.edf"])
    assert spans == {"a.edf": (0, 2), "a.edf2": (2, 3), "b.edf": (3, 5), "c.edf": (5, 6)}


def test_an_event_across_a_bids_boundary_row_is_refused_before_any_recording_is_read():
    from pathlib import Path

    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.recording_folders import _check_bids_breaks

    # the events table's boundary at 6 s lies inside the event from 5 s to 8 s (onset 5, duration 3): refused up
    # front, in seconds; an event that ends at the break or starts after it is not
    file = Path("sub-01_eeg.edf")
    with pytest.raises(CorruptFileError, match=r"breaks at 6 s .*event at onset 5 s of duration 3 s spans"):
        _check_bids_breaks({file: [{"onset": 5.0, "duration": 3.0, "label": "x"}]}, {file: [6.0]})
    _check_bids_breaks({file: [{"onset": 3.0, "duration": 3.0}, {"onset": 6.0, "duration": 9.0}]}, {file: [6.0]})


def test_auto_alignment_does_not_stretch_rows_longer_than_the_window():
    import datasets
    from tiny_configs import tiny_config

    from citrus_hf.data.alignment import resolve_alignment

    # rows of 300 samples at 50 Hz (6 s, one duration) for a window of 200 samples at 100 Hz: resampled they are 600
    # samples, cropped; but each holds more samples than the window, so stretching would squeeze them: resampled
    config = tiny_config(sampling_rate=100.0, context_length=200, patch_length=20)
    rows = datasets.Dataset.from_dict({"input_values": [[[0.0] * 300]] * 2, "sampling_rate": [50.0, 50.0]})
    assert resolve_alignment("auto", [rows], config) == "resample"


def _whole_patch_reference(samples: int, up: int, down: int, patch: int) -> int:
    """Reference by brute force: the longest prefix `n <= samples` of at least one patch whose resampling
    (`ceil(n * up / down)` samples, as resample_poly gives) is a whole number of patches; `samples` where none is."""
    for n in range(samples, 0, -1):
        resampled = -(-n * up // down)
        if resampled >= patch and resampled % patch == 0:
            return n
    return samples


def test_whole_patch_prefixes_of_an_upsampled_recording_resample_to_whole_patches():
    from citrus_hf.data.alignment import _whole_patch_samples
    from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

    # 64 -> 100 Hz (up 25, down 16) in patches of 10: only some lengths resample to a patch boundary; 45 samples
    # (71 resampled) keep 38 (60 resampled, 6 patches), not 44 (69 resampled, part of a seventh patch)
    extractor = CiTrusFeatureExtractor(sampling_rate=100.0, context_length=200, patch_length=10)
    assert _whole_patch_samples(45, 64.0, extractor) == 38
    for samples in range(7, 200, 7):
        assert _whole_patch_samples(samples, 64.0, extractor) == _whole_patch_reference(samples, 25, 16, 10)


def test_a_whole_patch_prefix_counts_from_the_end_of_the_leading_nan_padding():
    from citrus_hf.data.alignment import _whole_patch_prefix
    from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

    # 5 NaN of padding, 97 samples, 3 NaN: the 97 samples keep 90 (9 whole patches of 10), samples 5 to 94, so the
    # prefix ends at sample 95 of the row (the leading padding, which the extractor leaves out, before them)
    extractor = CiTrusFeatureExtractor(
        sampling_rate=100.0, context_length=200, patch_length=10, nan_policy="interpolate"
    )
    recording = np.concatenate([np.full(5, np.nan), np.arange(97.0), np.full(3, np.nan)])[None]
    kept = _whole_patch_prefix(recording, 100.0, extractor)
    assert kept.shape == (1, 95) and kept[0, -1] == 89.0


def test_channel_statistics_left_out_nan_are_not_counted():
    import datasets

    from citrus_hf.data.alignment import channel_statistics

    # two channels over three rows with NaN gaps the extractor fills: mean and (population) std are those of the
    # finite samples alone, as numpy's nanmean / nanstd compute them (counting the gaps as samples shrank the std)
    signals = np.random.default_rng(0).normal([[5.0], [-2.0]], [[1.0], [3.0]], size=(3, 2, 40))
    signals[0, 0, 10:25] = np.nan
    signals[2, 1, :7] = np.nan
    rows = datasets.Dataset.from_dict({"input_values": signals.tolist()})
    mean, std = channel_statistics(rows, nan_policy="interpolate")
    every_sample = signals.transpose(1, 0, 2).reshape(2, -1)
    np.testing.assert_allclose(mean, np.nanmean(every_sample, axis=1), rtol=1e-9)
    np.testing.assert_allclose(std, np.nanstd(every_sample, axis=1), rtol=1e-9)


def test_channel_statistics_name_a_nan_row_by_its_number_in_the_users_split():
    import datasets

    from citrus_hf.data.alignment import channel_statistics

    # rows 0, 1, 2 of a carved training split are rows 10, 12, 14 of the user's: the NaN in the second is row 12's
    signals = np.ones((3, 1, 40)) * np.arange(40.0)
    signals[1, 0, 5] = np.nan
    rows = datasets.Dataset.from_dict({"input_values": signals.tolist()})
    with pytest.raises(ValueError, match=r"^Row 12 of the training split has NaN"):
        channel_statistics(rows, row_numbers=[10, 12, 14], sampling_rate=100.0)


def test_summarize_dataset_counts_a_class_listed_twice_in_a_row_once():
    import datasets

    from citrus_hf.data.builders import summarize_dataset

    # multi-label rows of class ids: the first lists class a twice; per class is the rows that hold it (a: 1 row)
    features = datasets.Features(
        {
            "input_values": datasets.List(datasets.Value("float32")),
            "label": datasets.List(datasets.ClassLabel(names=["a", "b", "c"])),
        }
    )
    rows = datasets.Dataset.from_dict({"input_values": [[0.0, 1.0]] * 2, "label": [[0, 0, 1], [2]]}, features=features)
    summary = summarize_dataset(datasets.DatasetDict({"train": rows}))
    assert summary["splits"]["train"]["per_class"] == {"a": 1, "b": 1, "c": 1}


def test_summarize_dataset_totals_no_hours_where_a_splits_hours_are_unknown():
    import datasets

    from citrus_hf.data.builders import summarize_dataset

    # the train split's rows say their rate (10 Hz: 36,000 samples are 1 channel-hour), the test split's do not: the
    # set's total is unknown (None), not the train split's hour alone
    train = datasets.Dataset.from_dict({"input_values": [[0.0] * 36_000], "sampling_rate": [10.0]})
    test = datasets.Dataset.from_dict({"input_values": [[0.0] * 100]})
    summary = summarize_dataset(datasets.DatasetDict({"train": train, "test": test}))
    assert summary["splits"]["train"]["channel_hours"] == 1.0 and summary["splits"]["test"]["channel_hours"] is None
    assert summary["channel_hours"] is None


def test_a_streams_mix_is_one_uniform_draw_per_window_against_the_ratio():
    from citrus_hf.data.streams import MixedWindowStream

    # a window is synthetic when a uniform draw falls below synthetic_ratio. With a corpus of one row (its walk draws
    # from a range of one, which takes no randomness) and one generator that draws nothing (choosing it takes one
    # uniform), the reference replays exactly those draws: the same windows, window by window (87 synthetic of 400
    # at 0.25), where a binomial bound lets a share a tenth off pass
    stream = MixedWindowStream(_real(1), 0.25, 10.0, 8, 2, generators=[_Ramps()])
    windows = stream.windows(np.random.default_rng(4))
    drawn = [int(next(windows)["source_id"]) for _ in range(400)]
    reference, rng = [], np.random.default_rng(4)
    for _ in range(400):
        synthetic = rng.random() < 0.25
        if synthetic:
            rng.random()  # the generator's choice
        reference.append(int(synthetic))
    assert drawn == reference and sum(drawn) == 87
