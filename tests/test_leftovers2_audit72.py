"""Leftovers of this session's audits, each reproduced first: a fusion processor's single `max_length` that cut
modalities of different rates to different spans, trigger channels read as signals without a word on the pipeline's
file route and into an unlabelled pile (and MNE's "STI 014"), the "no reader" advice for MNE's own formats, and a CSV
read whole where a few of its columns were asked for."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from tiny_configs import tiny_config, write_edf

# ------------------------------------------------ 1. one max_length for modalities that the encoders sample at two rates


def _fusion_processor():
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

    eda = tiny_config(sampling_rate=20, context_length=80, patch_length=10, spectrogram_n_fft=10)
    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": eda}, num_labels=3)
    return CiTrusFusionProcessor.from_config(config)


def test_one_max_length_for_modalities_of_different_rates_is_refused_naming_a_dict():
    """`max_length=60` is 60 model samples in each modality: 0.6 s of ECG at 100 Hz but 3 s of EDA at 20 Hz, so two
    aligned 2 s recordings came out covering different spans, without a word of the mismatch."""
    processor = _fusion_processor()
    rng = np.random.default_rng(0)
    recordings = {"ecg": rng.standard_normal((2, 1, 200)), "eda": rng.standard_normal((2, 1, 40))}
    rates = {"ecg": 100, "eda": 20}
    with pytest.raises(
        ValueError, match=r"max_length=60.*0\.6 s.*3 s.*max_length=\{'ecg': 100, 'eda': 20\} \(1 s each"
    ):
        processor(recordings, sampling_rate=rates, max_length=60)
    batch = processor(recordings, sampling_rate=rates, max_length={"ecg": 100, "eda": 20})
    assert batch["input_values"]["ecg"].shape[-1] / 100 == batch["input_values"]["eda"].shape[-1] / 20 == 1.0


def test_one_max_length_stays_taken_where_every_encoder_has_one_rate():
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "ppg": tiny_config()}, num_labels=2)
    processor = CiTrusFusionProcessor.from_config(config)
    rng = np.random.default_rng(0)
    batch = processor(
        {"ecg": rng.standard_normal((1, 1, 200)), "ppg": rng.standard_normal((1, 1, 200))},
        sampling_rate=100,
        max_length=60,
    )
    assert batch["input_values"]["ecg"].shape[-1] == batch["input_values"]["ppg"].shape[-1] == 60


# ------------------------------- 2. trigger channels on the pipeline's file route, in an unlabelled pile, and MNE's names


def _with_trigger(path, name="Status", seconds=6, seed=0):
    rng = np.random.default_rng(seed)
    codes = np.zeros(100 * seconds)
    codes[::100] = 255
    return write_edf(path, [rng.standard_normal(100 * seconds), codes], ["Cz", name], 100, peak=300)


def test_the_pipeline_names_a_trigger_channel_of_a_file_it_reads(tmp_path, caplog):
    """`pipeline(model=folder)("bio.bdf")` fed BioSemi's "Status" codes to the model beside the EEG without a word,
    where `citrus predict` on the same file warns; picked away with `channels=`, nothing is said."""
    from transformers import pipeline

    import citrus_hf  # noqa: F401  (registers the pipelines)
    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

    folder = tmp_path / "model"
    config = tiny_config(num_labels=2, channel_pooling="mean")
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    path = _with_trigger(tmp_path / "bio.edf")
    classify = pipeline(model=str(folder), backend="torch")
    with caplog.at_level(logging.WARNING):
        classify(str(path))
    assert "'Status'" in caplog.text and "trigger" in caplog.text and "channels=" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        classify(str(path), channels=["Cz"])
    assert "trigger" not in caplog.text


def test_an_unlabelled_pile_names_a_trigger_channel_it_pretrains_on(tmp_path, caplog):
    """A pile of BDF / EDF files for pre-training was read with each file's "Status" codes as one more signal."""
    from citrus_hf.data.recording_folders import load_recording_folder

    (tmp_path / "pile").mkdir()
    for index in range(3):
        _with_trigger(tmp_path / "pile" / f"night{index}.edf", seed=index)
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        load_recording_folder(tmp_path / "pile")
    assert "'Status'" in caplog.text and "trigger" in caplog.text and "night0.edf" in caplog.text


@pytest.mark.parametrize("name", ["STI 014", "STI101", "sti 101"])
def test_mne_stimulus_channel_names_count_as_trigger_channels(name, caplog):
    """MNE names its stimulus channels "STI 014" (its sample data, Neuromag's "STI101"), and its exports keep them."""
    from citrus_hf.data.recording_folders import warn_of_trigger_channels

    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        warn_of_trigger_channels("raw.edf", ["EEG 001", name], "fix.")
        warn_of_trigger_channels("plain.edf", ["EEG 001", "STIM_EMG", "Stim"], "fix.")
    assert f"'{name}'" in caplog.text and "plain.edf" not in caplog.text


# ------------------------------------------------------------------ 3. MNE's formats: the "no reader" advice names MNE


@pytest.mark.parametrize("suffix", [".fif", ".gdf", ".cnt"])
def test_a_format_mne_reads_is_refused_naming_mne_and_the_rate(tmp_path, suffix):
    """A FIF file (BrainVision and EEGLAB are read since: test_bids2_audit73) was told to `np.save` its samples, which loses its rate, channel names and
    units (MNE's samples are volts); MNE reads each, and exports it as an EDF file that records them."""
    from citrus_hf.data.readers import read_recording

    path = tmp_path / f"raw{suffix}"
    path.write_bytes(b"\0" * 16)
    with pytest.raises(
        ValueError,
        match=r"mne\.io\.read_raw\('raw\.[a-z]+'\)\.export\('recording\.edf'\).*rate, channel names and units",
    ):
        read_recording(path)
    with pytest.raises(ValueError, match=r"np\.save") as refused:
        read_recording(tmp_path / "signal.mat")
    assert "mne.io" not in str(refused.value)


# ------------------------------------- 4. a set built from part of a corpus: the note beside it records that part


def test_the_note_of_a_set_built_from_some_records_names_them(tmp_path):
    """`dataset_scripts/physionet_wfdb.py --records 100 101 --output DIR` built two records, and the note beside DIR
    (what a pre-training run on it records as its corpus) named the registered set and its options alone: the whole
    corpus."""
    import datasets

    from citrus_hf.data.builders import built_from
    from citrus_hf.publishing.datasets import publish

    rows = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"label": [0, 1]})})
    publish(rows, "mitdb_beats", output=tmp_path / "some", options={}, selection={"records": ["100", "101"]})
    assert built_from(tmp_path / "some")["selection"] == {"records": ["100", "101"]}
    publish(rows, "mitdb_beats", output=tmp_path / "all", options={})
    assert "selection" not in built_from(tmp_path / "all")


# ------------------------------------------------ 5. a reader given a rate imports neither transformers nor torch


def test_reading_a_recording_at_a_given_rate_imports_no_torch(tmp_path):
    """`read_recording(path, sampling_rate=256)` checked the rate through the configuration module, which imported
    transformers and torch: seconds and hundreds of MB for a bare reader call."""
    import subprocess
    import sys

    path = tmp_path / "signal.csv"
    np.savetxt(path, np.random.default_rng(0).standard_normal((50, 2)), delimiter=",", header="a,b", comments="")
    code = (
        "import sys; from citrus_hf.data.readers import read_recording; "
        f"assert read_recording({str(path)!r}, ['b'], 256).data.shape == (1, 50); "
        "print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
