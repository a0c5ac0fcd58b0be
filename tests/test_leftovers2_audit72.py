"""Leftovers of this session's audits, each reproduced first: a fusion processor's single `max_length` that cut
modalities of different rates to different spans, trigger channels read as signals without a word on the pipeline's
file route and into an unlabelled pile (and MNE's "STI 014"), the "no reader" advice for MNE's own formats, and a CSV
read whole where a few of its columns were asked for."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_configs import tiny_config

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
