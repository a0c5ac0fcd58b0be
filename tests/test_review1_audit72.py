"""Audit 72 (review of the session's changes): a host-stamped timed CSV whose clock was late and caught up."""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_timed_csv


def _timed_csv(tmp_path, milliseconds) -> str:
    path = tmp_path / "ppg.csv"
    rows = "".join(f"{stamp:.1f},{np.sin(index / 10):.4f}\n" for index, stamp in enumerate(milliseconds))
    path.write_text("time,hr\n" + rows, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("late_rows", [10, 60])
def test_a_timed_csv_whose_host_was_late_and_caught_up_is_read(tmp_path, late_rows):
    """A host that stamps rows as they arrive (a serial or BLE logger) and stalls (a GC pause, a busy USB bus) stamps
    the rows it held back at once when it resumes: a long step, then rows on one stamp. No row is missing and the
    rate from the first and last stamps is right, but the step was refused as "rows are missing"."""
    stamps = np.arange(2000) * 10.0  # 100 Hz
    stamps[500 : 500 + late_rows] = stamps[500 + late_rows]  # held back, then stamped together
    values, rate = read_timed_csv(_timed_csv(tmp_path, stamps), "hr", "time")
    assert values.size == 2000 and rate == pytest.approx(100.0, rel=1e-3)


def test_a_timed_csv_whose_host_caught_up_slowly_is_read(tmp_path):
    """The rows held back arrive after a second's stall at twice the rate until the host has caught up (row 700),
    not on one stamp."""
    stamps = np.arange(2000) * 10.0  # 100 Hz
    stamps[500:700] = 6000.0 + np.arange(200) * 5.0
    values, rate = read_timed_csv(_timed_csv(tmp_path, stamps), "hr", "time")
    assert values.size == 2000 and rate == pytest.approx(100.0, rel=1e-3)


def test_a_timed_csv_with_a_short_run_of_rows_missing_is_still_refused(tmp_path):
    """Rows missing stay refused, however short the gap (10 rows at 100 Hz) and wherever it falls (near the end)."""
    for start in (500, 1985):
        stamps = np.r_[np.arange(start), np.arange(start + 10, 2000)] * 10.0
        with pytest.raises(CorruptFileError, match=r"jumps from .*rows are missing"):
            read_timed_csv(_timed_csv(tmp_path, stamps), "hr", "time")


def test_a_timed_csv_stamped_back_from_each_chunk_s_arrival_is_read(tmp_path):
    """A streaming logger (Lab Streaming Layer's recorders, without dejittering) stamps a chunk's rows back from the
    chunk's arrival at the nominal rate, so a chunk that arrives early starts a few ms before the last one ended: a
    jitter of the clock, not rows out of order, which was refused as 'goes back ... sort the rows by time'."""
    rng = np.random.default_rng(0)
    arrival = np.arange(12, 2401, 12) * 10.0 + rng.uniform(0, 25, 200)  # 100 Hz in chunks of 12, up to 25 ms late
    stamps = np.concatenate([end - np.arange(11, -1, -1) * 10.0 for end in arrival])
    assert (np.diff(stamps) < 0).any()
    values, rate = read_timed_csv(_timed_csv(tmp_path, stamps), "hr", "time")
    assert values.size == 2400 and rate == pytest.approx(100.0, rel=1e-2)


def test_a_timed_csv_of_files_joined_out_of_order_is_still_refused(tmp_path):
    stamps = np.r_[np.arange(500), np.arange(490, 1000)] * 10.0  # back 10 rows: more than a clock's jitter
    with pytest.raises(CorruptFileError, match=r"goes back from '4990.0' to '4900.0' after data row 500"):
        read_timed_csv(_timed_csv(tmp_path, stamps), "hr", "time")


def test_a_pipeline_of_a_model_offloaded_to_disk_names_the_offload(tmp_path):
    """A model loaded with `device_map` offloading weights to disk (accelerate leaves them on the meta device until a
    forward) was told its weights had no values and to load them with `from_pretrained`, which it had done; the
    refusal now names the offload and the fix (load it without `device_map`, on one device)."""
    from transformers import pipeline

    from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, CiTrusForSequenceClassification

    config = CiTrusConfig(
        sampling_rate=100, context_length=200, num_channels=1, d_model=16, num_hidden_layers=1, num_attention_heads=2
    )
    folder = str(tmp_path / "classifier")
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    device_map = {"citrus.encoder": "disk", "citrus.mask_token": "cpu", "citrus.patch_embedding": "cpu"}
    device_map |= {"pooler": "cpu", "dropout": "cpu", "classifier": "cpu"}
    model = CiTrusForSequenceClassification.from_pretrained(
        folder, device_map=device_map, offload_folder=str(tmp_path / "offload")
    )
    with pytest.raises(ValueError, match=r"offloaded to disk \(device_map .*citrus\.encoder.*without `device_map`"):
        pipeline(model=model, feature_extractor=folder)


def test_a_set_saved_inside_a_folder_of_recordings_is_named_to_be_moved_out(tmp_path):
    """A labelled folder of recordings that also holds a set `save_to_disk` wrote (a built copy kept beside them) was
    refused as "splits each saved on their own", with the fix `DatasetDict({'built': ...}).save_to_disk`, which would
    make the copy a split of its own; the refusal now names the saved set to move out, as it named the files before."""
    import datasets

    from citrus_hf.data.splits import load_own_dataset

    for split in ("train", "test"):
        for label in ("rest", "move"):
            (tmp_path / "set" / split / label).mkdir(parents=True)
            np.save(tmp_path / "set" / split / label / "a.npy", np.zeros((1, 200), dtype=np.float32))
    datasets.Dataset.from_dict({"x": [1, 2]}).save_to_disk(str(tmp_path / "set" / "built"))
    with pytest.raises(
        ValueError, match=r"holds recordings and, in built, a set saved by `save_to_disk`.*move"
    ) as error:
        load_own_dataset(tmp_path / "set", sampling_rate=100.0)
    assert "DatasetDict" not in str(error.value)


def test_a_folder_of_whole_saved_sets_is_refused_naming_them_not_as_splits(tmp_path):
    """A folder holding whole sets each saved as a DatasetDict (sets/sleep, sets/ecg), given in place of one of them,
    was refused as splits saved apart, with the fix DatasetDict({'ecg': load_from_disk(...)}), which nests a
    DatasetDict as a split and fails; the refusal now says to give one of the sets."""
    import datasets

    from citrus_hf.data.splits import load_own_dataset

    rows = {"input_values": np.zeros((2, 1, 50), dtype=np.float32), "label": [0, 1]}
    for name in ("sleep", "ecg"):
        datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows)}).save_to_disk(str(tmp_path / "sets" / name))
    with pytest.raises(
        ValueError, match=r"holds sets each saved by `save_to_disk` \(ecg, sleep\).*give one of them"
    ) as error:
        load_own_dataset(tmp_path / "sets")
    assert "DatasetDict({" not in str(error.value)
