"""Audit 72, the fusion processor and collator as a transformers user meets them: settings given to
`from_pretrained` / `AutoProcessor.from_pretrained`, and dataset rows whose label column is `label_ids` or whose keys
differ from the first row's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config
from transformers import AutoProcessor

from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionDataCollator, CiTrusFusionProcessor

RATES = {"ecg": 100, "eda": 20}


def fusion_config() -> CiTrusFusionConfig:
    eda = tiny_config(sampling_rate=20, context_length=80, patch_length=10, spectrogram_n_fft=10)
    return CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": eda}, num_labels=3)


@pytest.fixture
def saved(tmp_path):
    """A tiny fusion classifier and its processor, saved into one folder."""
    torch.manual_seed(0)
    model = CiTrusFusionForSequenceClassification(fusion_config())
    model.save_pretrained(tmp_path)
    CiTrusFusionProcessor.from_config(model.config).save_pretrained(tmp_path)
    return tmp_path


def row(label_key: str | None = "label", label=1, mask: bool = False, modalities=("ecg", "eda")) -> dict:
    lengths = {"ecg": 200, "eda": 80}
    values = {"input_values": {name: np.zeros((1, lengths[name]), np.float32) for name in modalities}}
    if mask:
        values["patch_mask"] = {name: np.ones(lengths[name] // (20 if name == "ecg" else 10)) for name in modalities}
    if label_key is not None:
        values[label_key] = label
    return values


# ----------------------------------------------------------------------------- from_pretrained's settings


@pytest.mark.parametrize("loader", [CiTrusFusionProcessor, AutoProcessor], ids=["class", "auto"])
def test_extractor_settings_given_to_from_pretrained_apply_to_the_extractors(saved, loader):
    """`from_pretrained(folder, alignment="interpolate")` (or `nan_policy=...`) returned the saved processor without a
    word: only Hub arguments were read, the rest dropped, so recordings were cropped where the user asked for them to
    be stretched. Every extractor takes such a setting now, as `from_config(config, **settings)` and the single
    extractor's `from_pretrained` do, or the modalities a dict names."""
    processor = loader.from_pretrained(saved, alignment="interpolate", nan_policy={"ecg": "interpolate"})
    assert {name: fx.alignment for name, fx in processor.feature_extractors.items()} == {
        "ecg": "interpolate",
        "eda": "interpolate",
    }
    assert {name: fx.nan_policy for name, fx in processor.feature_extractors.items()} == {
        "ecg": "interpolate",
        "eda": "raise",
    }
    # applied: a 4 s ECG recording is stretched onto the 2 s window, not cut to its first 2 s
    rng = np.random.default_rng(0)
    ecg = rng.standard_normal((1, 1, 400))
    batch = processor(ecg=ecg, eda=rng.standard_normal((1, 1, 160)), sampling_rate={"ecg": 100, "eda": 40})
    assert batch["input_values"]["ecg"].shape == (1, 1, 200)
    assert batch["patch_mask"]["ecg"].all()


def test_a_misspelt_or_unknown_setting_given_to_from_pretrained_is_refused_or_named(saved, caplog):
    """A typo (`nan_polcy=`) or a keyword that is no setting at all loaded the saved processor without a word. A typo
    is refused; a keyword of other processors (`use_fast=True`, which generic loading code passes) is named as
    ignored."""
    with pytest.raises(ValueError, match=r"'nan_polcy' \(did you mean 'nan_policy'\?\)"):
        CiTrusFusionProcessor.from_pretrained(saved, nan_polcy="interpolate")
    with caplog.at_level("WARNING"):
        processor = AutoProcessor.from_pretrained(saved, use_fast=True)
    assert "ignores 'use_fast': neither a Hub argument" in caplog.text
    assert isinstance(processor, CiTrusFusionProcessor)
    with pytest.raises(ValueError, match=r"`nan_policy` names unknown modalities \['ekg'\]"):
        CiTrusFusionProcessor.from_pretrained(saved, nan_policy={"ekg": "interpolate"})


def test_a_contract_setting_given_to_from_pretrained_is_refused_against_the_model(saved):
    """A setting that changes a modality's input contract is checked against the model saved beside the processor,
    as the saved processor itself is."""
    with pytest.raises(ValueError, match=r"ecg: sampling_rate=250.0 \(the encoder's: 100.0\)"):
        CiTrusFusionProcessor.from_pretrained(saved, sampling_rate={"ecg": 250})


# ----------------------------------------------------------------------------- the collator's rows


def test_the_collator_batches_a_label_ids_column_as_labels():
    """Rows labelled in a `label_ids` column (which transformers' collators batch as `labels`) were batched without
    labels: the Trainer's evaluation then reported no loss and no metrics, without a word."""
    batch = CiTrusFusionDataCollator()([row("label_ids", 0), row("label_ids", 2)])
    assert batch["labels"].tolist() == [0, 2] and batch["labels"].dtype == torch.int64


@pytest.mark.parametrize(
    "rows, named",
    [
        ([row(None), row("label", 1)], r"row 1 has `label`, which row 0 has not"),
        ([row(), row(mask=True)], r"row 1 has `patch_mask`, which row 0 has not"),
        ([row(modalities=("ecg",)), row()], r"row 1 has modality 'eda' in `input_values`, which row 0 has not"),
        ([row(), row(None)], r"row 1 has no `label`"),
    ],
    ids=["label", "patch_mask", "modality", "missing label"],
)
def test_rows_whose_keys_differ_from_the_first_rows_are_refused(rows, named):
    """The collator read the keys and modalities of the first row only: a later row's labels or `patch_mask` were
    dropped without a word (a padded window then pooled its padding), and a later row's missing label ended in a
    KeyError."""
    with pytest.raises(ValueError, match=named):
        CiTrusFusionDataCollator()(rows)


# ----------------------------------------------------------------------------- a missing recording


def test_a_missing_recording_of_one_modality_is_named_as_missing():
    """A row without one modality (`None` in that modality's list, as a `datasets` column holds a missing value) was
    refused as "dtype object (object (ragged or mixed)), not a real-valued signal; pass float or integer samples",
    which sends the user looking for ragged data; it is now named as the missing recording it is."""
    eda = tiny_config(sampling_rate=20, context_length=80, patch_length=10, spectrogram_n_fft=10)
    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": eda}, num_labels=3)
    processor = CiTrusFusionProcessor.from_config(config)
    rng = np.random.default_rng(0)
    ecg = [rng.standard_normal((1, 200)), rng.standard_normal((1, 200))]
    with pytest.raises(TypeError, match=r"modality 'eda': recording 1 is None \(no samples\).*leave that example out"):
        processor(ecg=ecg, eda=[rng.standard_normal((1, 80)), None], sampling_rate=RATES)
