"""Audit 63: a user's own `Trainer` around a CiTrus fusion model, with transformers' options used by habit.

- `include_for_metrics=["inputs"]` on fusion rows in a `datasets.Dataset` failed with an IndexError inside the
  package's own check (it read each row's `patch_mask` as one array; a fusion row holds one per modality).
- `train_sampling_strategy="group_by_length"` failed inside transformers: the package's sampler left fusion models
  alone, and transformers' read `CiTrusFusionProcessor.model_input_names` (missing) or an `input_ids` key.
- A `processing_class` of the other model family (one modality's extractor for a fusion model, a fusion processor
  for a single-modality model) trained and was saved with the model, leaving a folder that loads the wrong one.

A tiny fusion classifier (ECG 2 s at 100 Hz in 10 patches, EDA 2 s at 20 Hz in 4), on the CPU: a few seconds each.
"""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset, concatenate_datasets
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments, set_seed

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionDataCollator, CiTrusFusionProcessor
from citrus_hf.training.trainer import length_grouped_sampler

RATES = {"ecg": 100, "eda": 20}


def _fusion() -> tuple[CiTrusFusionForSequenceClassification, CiTrusFusionProcessor]:
    """A tiny fusion classifier (ECG: 2 s at 100 Hz; EDA: 4 s at 20 Hz) and its processor."""
    eda = tiny_config(sampling_rate=20, context_length=80, patch_length=10, spectrogram_n_fft=10)
    set_seed(0)
    model = CiTrusFusionForSequenceClassification(
        CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": eda}, num_labels=2)
    )
    return model, CiTrusFusionProcessor.from_config(model.config)


def _rows(processor: CiTrusFusionProcessor, n: int = 8, eda_samples: int = 40) -> Dataset:
    """`n` processed rows as the README builds them (`Dataset.map(... processor(...).to_columns())`), labels 0, 1."""
    rng = np.random.default_rng(0)
    raw = Dataset.from_dict(
        {
            "ecg": rng.standard_normal((n, 1, 200)),
            "eda": rng.standard_normal((n, 1, eda_samples)),
            "label": [0, 1] * (n // 2),
        }
    )
    return raw.map(
        lambda rows: processor(ecg=rows["ecg"], eda=rows["eda"], sampling_rate=RATES).to_columns(),
        batched=True,
        remove_columns=["ecg", "eda"],
    )


def _arguments(tmp_path, **overrides) -> TrainingArguments:
    settings = dict(report_to="none", use_cpu=True, disable_tqdm=True, save_strategy="no", per_device_eval_batch_size=4)
    return TrainingArguments(str(tmp_path / "out"), **{**settings, **overrides})


# ------------------------------------------------------------------------------- 2: include_for_metrics=["inputs"]


def test_inputs_for_metrics_of_fusion_rows_reach_compute_metrics_per_modality(tmp_path):
    model, processor = _fusion()
    seen = {}

    def metrics(prediction) -> dict[str, float]:
        seen.update({name: np.shape(values) for name, values in prediction.inputs.items()})
        return {}

    arguments = _arguments(tmp_path, include_for_metrics=["inputs"])
    trainer = Trainer(model=model, args=arguments, processing_class=processor, compute_metrics=metrics)
    assert "eval_loss" in trainer.evaluate(_rows(processor))
    assert seen == {"ecg": (8, 1, 200), "eda": (8, 1, 40)}


def test_inputs_for_metrics_of_a_modality_of_several_durations_are_refused_naming_it(tmp_path):
    model, processor = _fusion()
    # EDA of 2 s (4 patches) and of 4 s (8 patches), each batch of one duration: transformers cannot join them
    rows = concatenate_datasets([_rows(processor, 4), _rows(processor, 4, eda_samples=80)])
    arguments = _arguments(tmp_path, include_for_metrics=["inputs"])
    trainer = Trainer(model=model, args=arguments, processing_class=processor, compute_metrics=lambda p: {})
    with pytest.raises(
        ValueError, match=r"batches of windows of modality 'eda' are padded to different durations \(4 to 8 patches\)"
    ):
        trainer.evaluate(rows)


# ------------------------------------------------------------------------------------------ 3: group_by_length


@pytest.mark.parametrize("given", ["processing_class", "data_collator"])
def test_group_by_length_trains_a_fusion_model(tmp_path, given):
    model, processor = _fusion()
    preprocessing = {"processing_class": processor} if given == "processing_class" else {}
    arguments = _arguments(
        tmp_path, max_steps=1, per_device_train_batch_size=4, train_sampling_strategy="group_by_length"
    )
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=_rows(processor),
        data_collator=CiTrusFusionDataCollator() if given == "data_collator" else None,
        **preprocessing,
    )
    assert trainer.train().global_step == 1


def test_length_aware_samplers_measure_a_fusion_row_as_its_modalities_patches(tmp_path):
    model, processor = _fusion()
    rows = concatenate_datasets([_rows(processor, 4), _rows(processor, 4, eda_samples=80)])
    for strategy in ("group_by_length", "batch_rebalance"):
        arguments = _arguments(tmp_path, per_device_train_batch_size=2, train_sampling_strategy=strategy)
        sampler = length_grouped_sampler(arguments, model, rows)
        assert sampler.lengths == [10 + 4] * 4 + [10 + 8] * 4, strategy  # ECG's 10 patches plus EDA's 4 or 8
    assert processor.model_input_names == ["input_values", "patch_mask"]


# ------------------------------------------------------------------ 4: a processing_class of the other family


def test_a_processing_class_of_the_other_model_family_is_refused_when_the_trainer_is_built(tmp_path):
    fusion, processor = _fusion()
    single = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    arguments = _arguments(tmp_path)
    extractor = CiTrusFeatureExtractor.from_config(fusion.config.modality_configs["ecg"])
    expected = r"CiTrusFeatureExtractor aligns the recordings of one modality.*CiTrusFusionForSequenceClassification.*"
    with pytest.raises(ValueError, match=expected + r"CiTrusFusionProcessor\.from_config\(model\.config\)"):
        Trainer(model=fusion, args=arguments, processing_class=extractor)
    expected = r"CiTrusFusionProcessor is a fusion model's processor.*CiTrusForSequenceClassification is a single-"
    with pytest.raises(ValueError, match=expected + r".*CiTrusFeatureExtractor\.from_config\(model\.config\)"):
        Trainer(model=single, args=arguments, processing_class=processor)
    # the matching pairs are still accepted
    Trainer(model=fusion, args=arguments, processing_class=processor)
    Trainer(model=single, args=arguments, processing_class=CiTrusFeatureExtractor.from_config(single.config))
