"""Audit 63, the fusion model and its processor: LoRA under reentrant checkpointing, the input embeddings, the
regression head's start, a misspelt modality keyword, a fusion model given as an encoder, and the channel count of an
encoder taken from a pre-training checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import checkpointing_off, checkpointing_on, tiny_config

from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, CiTrusForPretraining, CiTrusModel
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

RATES = {"ecg": 100, "eda": 20}


def eda_config(**overrides) -> CiTrusConfig:
    """One channel at 20 Hz, 4 s windows of 10-sample patches."""
    return tiny_config(
        **{"sampling_rate": 20, "context_length": 80, "patch_length": 10, "spectrogram_n_fft": 10, **overrides}
    )


def fusion_config(**overrides) -> CiTrusFusionConfig:
    return CiTrusFusionConfig(
        **{"modality_configs": {"ecg": tiny_config(), "eda": eda_config()}, "num_labels": 3, **overrides}
    )


def regressor_config() -> CiTrusFusionConfig:
    """`fusion_config`'s modalities for a one-target regressor (no `num_labels`, which a regressor refuses)."""
    return CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": eda_config()})


def inputs(batch: int = 4) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        "ecg": torch.randn(batch, 1, 200, generator=generator),
        "eda": torch.randn(batch, 1, 80, generator=generator),
    }


# ----------------------------------------------------------------------------- loading 2: LoRA under checkpointing


def test_lora_inside_the_encoders_trains_under_reentrant_gradient_checkpointing():
    """peft first, then reentrant checkpointing (the Trainer's order): every LoRA B matrix stayed exactly zero."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    model = CiTrusFusionForSequenceClassification(fusion_config())
    peft_model = get_peft_model(
        model, LoraConfig(target_modules=["q_proj", "v_proj"], modules_to_save=["classifier"], r=2)
    )
    checkpointing_on(peft_model, use_reentrant=True)
    peft_model.train()
    peft_model(input_values=inputs(), labels=torch.tensor([0, 1, 2, 0])).loss.backward()
    grads = {name: p.grad for name, p in peft_model.named_parameters() if "lora_B" in name}
    assert {name.split(".")[3] for name in grads} == {"ecg", "eda"}
    assert all(grad is not None and grad.abs().sum() > 0 for grad in grads.values()), grads
    checkpointing_off(peft_model)
    assert not hasattr(model, "_require_grads_hook")


# ----------------------------------------------------------------------------- loading 6: input embeddings


def test_input_embeddings_are_the_encoders_stems_and_resizing_is_refused_with_the_reason():
    model = CiTrusFusionForSequenceClassification(fusion_config())
    stems = model.get_input_embeddings()
    assert {name: stems[name] for name in stems} == {
        name: model.encoders[name].patch_embedding for name in ("ecg", "eda")
    }
    assert all(not key.startswith("ecg.") for key in model.state_dict())  # registered nowhere: not saved twice
    with pytest.raises(NotImplementedError, match=r"has no token vocabulary to resize.*from_encoders"):
        model.resize_token_embeddings(10)


# ----------------------------------------------------------------------------- fusion 1: the regression head's start


def test_the_fusion_regressor_starts_at_its_targets_and_warns_of_an_offset(caplog):
    torch.manual_seed(0)
    heart_rates = 70 + 5 * torch.randn(4)
    model = CiTrusFusionForRegression(regressor_config()).train()
    with caplog.at_level("WARNING"):
        model(inputs(), labels=heart_rates)
        model(inputs(), labels=heart_rates)
    assert caplog.text.count("CiTrusFusionForRegression: the first training batch's targets average") == 1
    assert "init_regressor_bias(train_targets)" in caplog.text

    fresh = CiTrusFusionForRegression(regressor_config()).train()
    fresh.init_regressor_bias(heart_rates.numpy())
    assert torch.allclose(fresh.regressor.bias, heart_rates.double().mean().float())


def test_a_fusion_classifier_trained_as_a_regressor_has_the_same_start(caplog):
    torch.manual_seed(0)
    targets = 70 + 5 * torch.randn(4)
    model = CiTrusFusionForSequenceClassification(fusion_config(num_labels=1, problem_type="regression")).train()
    with caplog.at_level("WARNING"):
        model(inputs(), labels=targets)
    assert "init_regressor_bias(train_targets)" in caplog.text
    model.init_regressor_bias(targets)
    assert torch.allclose(model.classifier.bias, targets.double().mean().float())
    classifier = CiTrusFusionForSequenceClassification(fusion_config(problem_type="single_label_classification"))
    with pytest.raises(ValueError, match=r"problem_type='regression'.*or use CiTrusFusionForRegression\."):
        classifier.init_regressor_bias(targets)


# ----------------------------------------------------------------------------- fusion 6: a misspelt modality keyword


def test_a_misspelt_modality_keyword_is_named_with_the_modality_it_may_mean():
    model = CiTrusFusionForSequenceClassification(fusion_config()).eval()
    processor = CiTrusFusionProcessor.from_config(model.config)
    given = inputs(2)
    message = r"missing \['ecg'\] .*unknown \['ekg'\] \(did you mean 'ecg' for 'ekg'\? check the spelling"
    with pytest.raises(ValueError, match=r"^`recordings` must name exactly .*" + message):
        processor(ekg=given["ecg"].numpy(), eda=given["eda"].numpy(), sampling_rate=RATES)
    with pytest.raises(ValueError, match=r"^`input_values` must name exactly .*" + message):
        model(ekg=given["ecg"], eda=given["eda"])
    with pytest.raises(ValueError, match=message):  # the dict form says the same
        model({"ekg": given["ecg"], "eda": given["eda"]})
    # keywords a wrapper leaves None (peft's `input_ids=None`) are no modality: only the missing one is named
    with pytest.raises(ValueError, match=r"missing \['ecg'\] \(the model needs every modality\)\.$"):
        model(eda=given["eda"], input_ids=None)


# ----------------------------------------------------------------------------- fusion 7: a fusion model as an encoder


def test_from_encoders_given_a_fusion_model_says_to_pass_one_of_its_encoders():
    fusion = CiTrusFusionForSequenceClassification(fusion_config())
    with pytest.raises(
        TypeError, match=r"is not an encoder.*`fusion_model\.encoders\['ecg'\]`.*load_encoder\(folder, 'ecg'\)"
    ) as error:
        CiTrusFusionForSequenceClassification.from_encoders({"ecg": fusion, "eda": CiTrusModel(eda_config())})
    assert "merge_and_unload" not in str(error.value)


# ----------------------------------------------------------------------------- fusion 5: a pre-training encoder's channels


def test_the_processor_of_an_encoder_from_a_pretraining_checkpoint_takes_the_channels_the_head_concatenates(
    tmp_path, caplog
):
    torch.manual_seed(0)
    CiTrusForPretraining(tiny_config(num_channels=2)).save_pretrained(tmp_path)
    model = CiTrusFusionForSequenceClassification.from_encoders(
        {"ecg": tmp_path, "eda": CiTrusModel(eda_config())}, num_labels=2
    ).eval()
    processor = CiTrusFusionProcessor.from_config(model.config)
    assert not processor.feature_extractors["ecg"].channel_independent
    rng = np.random.default_rng(0)
    eda = rng.standard_normal((2, 1, 80))
    with pytest.raises(ValueError, match=r"modality 'ecg': .*expects 2.*an encoder for 1 channels: `from_encoders"):
        processor(ecg=rng.standard_normal((2, 1, 200)), eda=eda, sampling_rate=RATES)
    batch = processor(ecg=rng.standard_normal((2, 2, 200)), eda=eda, sampling_rate=RATES)
    assert model(**batch).logits.shape == (2, 2)

    # a processor saved before (its extractor passed any channel count) is refused against the model
    lenient = CiTrusFusionProcessor(
        {
            "ecg": CiTrusFeatureExtractor.from_config(model.config.modality_configs["ecg"]),
            **{"eda": processor.feature_extractors["eda"]},
        }
    )
    assert lenient.feature_extractors["ecg"].channel_independent
    with pytest.raises(ValueError, match=r"ecg: channel_independent=True \(the head concatenates"):
        lenient.check_model(model)
    # saved with its model, it still loads, and refuses what the head refuses
    model.save_pretrained(tmp_path / "fused")
    lenient.save_pretrained(tmp_path / "fused")
    with caplog.at_level("WARNING"):
        loaded = CiTrusFusionProcessor.from_pretrained(tmp_path / "fused")
    assert "modality 'ecg' passed any channel count" in caplog.text
    assert loaded == processor
