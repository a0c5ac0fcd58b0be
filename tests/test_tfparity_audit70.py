"""Traps users met upstream in transformers' time-series and classification models (PatchTST's BatchNorm, a sequence
classifier trained as a regressor), checked against CiTrus on tiny configs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForRegression, CiTrusForSequenceClassification

NAMES = {0: "heart_rate", 1: "breathing_rate"}


def test_a_classifier_trained_as_a_regressor_keeps_the_names_of_its_outputs():
    """transformers' way to regress (`problem_type="regression"`, `num_labels` outputs named by `id2label`): its names
    were read against `num_targets` (1 by default, the regressor's field), so a two-output one reported no names."""
    config = tiny_config(id2label=NAMES, problem_type="regression")
    assert CiTrusForSequenceClassification(config).config.target_names == list(NAMES.values())
    # as the regressor's, and a classifier's classes stay no targets
    assert tiny_config(num_targets=2, id2label=NAMES).target_names == list(NAMES.values())
    assert tiny_config(id2label=NAMES).target_names is None


def test_the_regression_pipeline_names_a_classifier_regressors_targets(tmp_path):
    from transformers import pipeline

    config = tiny_config(id2label=NAMES, problem_type="regression")
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path)
    recording = np.random.default_rng(0).standard_normal(400)
    result = pipeline(model=str(tmp_path))(recording, sampling_rate=100)
    assert result["target_names"] == list(NAMES.values())
    assert len(result["targets"]) == 2


def test_the_model_card_names_a_classifier_regressors_targets():
    from citrus_hf.publishing.cards import build_model_card

    model = CiTrusForSequenceClassification(tiny_config(id2label=NAMES, problem_type="regression"))
    assert "2 (0: heart_rate, 1: breathing_rate)" in str(build_model_card(model))


def _batchnorm_classifier() -> CiTrusForSequenceClassification:
    return CiTrusForSequenceClassification(tiny_config(num_labels=3, norm_type="batchnorm")).train()


def test_batchnorm_training_on_a_single_token_says_what_to_do():
    """PatchTST's BatchNorm trap: one window of one patch (a batch of one short recording) in training reached torch's
    "Expected more than 1 value per channel when training"."""
    model = _batchnorm_classifier()
    with pytest.raises(ValueError, match=r"one token.*batch_size|norm_type='layernorm'"):
        model(torch.randn(1, 1, 20), labels=torch.tensor([0]))
    model.eval()  # the running statistics need no batch
    assert model(torch.randn(1, 1, 20)).logits.shape == (1, 3)


def test_batchnorm_running_variance_is_not_pulled_to_zero_by_a_single_signal_token():
    """With padding, the masked BatchNorm took one signal token's variance (0) as the batch's and moved the running
    variance towards 0 at every such step (5 steps: 1.0 -> 0.59), so the model in eval mode divided by a shrinking
    spread; torch's own BatchNorm refuses such a batch. Now it is refused too, the statistics untouched."""
    model = _batchnorm_classifier()
    norms = [module.norm for module in model.modules() if type(module).__name__ == "CiTrusNorm"]
    before = [norm.running_var.clone() for norm in norms]
    padded = torch.cat([torch.randn(1, 1, 20), torch.zeros(1, 1, 180)], dim=-1)
    patch_mask = torch.tensor([[1] + [0] * 9])
    with pytest.raises(ValueError, match="one token"):
        model(padded, patch_mask=patch_mask, labels=torch.tensor([0]))
    assert all(torch.equal(norm.running_var, old) for norm, old in zip(norms, before))
    # two signal tokens in the batch are statistics enough
    two = torch.cat([padded, padded])
    model(two, patch_mask=torch.cat([patch_mask, patch_mask]), labels=torch.tensor([0, 1]))


def test_batchnorm_with_a_cls_token_or_layernorm_takes_a_single_patch():
    # the CLS token is a second token; layer norm needs no batch
    with_cls = CiTrusForSequenceClassification(tiny_config(num_labels=3, norm_type="batchnorm", pooling="cls")).train()
    with_cls(torch.randn(1, 1, 20), labels=torch.tensor([0]))
    CiTrusForSequenceClassification(tiny_config(num_labels=3)).train()(torch.randn(1, 1, 20), labels=torch.tensor([0]))
    CiTrusForRegression(tiny_config(norm_type="batchnorm")).eval()(torch.randn(1, 1, 20))


def _routes_to_a_new_head(folder, **keywords):
    from citrus_hf import AutoModelForTimeSeriesRegression, CiTrusConfig

    return [
        lambda: CiTrusForRegression.from_pretrained(folder, ignore_mismatched_sizes=True, **keywords),
        lambda: AutoModelForTimeSeriesRegression.from_pretrained(folder, ignore_mismatched_sizes=True, **keywords),
        lambda: CiTrusForRegression.from_pretrained(
            folder, config=CiTrusConfig.from_pretrained(folder, **keywords), ignore_mismatched_sizes=True
        ),
    ]


def test_a_new_head_of_another_target_count_on_a_named_regressor_drops_the_saved_names(tmp_path):
    """transformers' `from_pretrained(path, num_labels=5, ignore_mismatched_sizes=True)` on a checkpoint naming 3
    classes resets `id2label` (its head is new); a regressor that `citrus finetune` named (`heart_rate`) loaded with
    `num_targets=2` for a new head was refused instead, advising `id2label=['heart_rate']`: one name for two targets,
    which is refused in turn."""
    CiTrusForRegression(tiny_config(id2label=["heart_rate"])).save_pretrained(tmp_path)
    for load in _routes_to_a_new_head(tmp_path, num_targets=2):
        model = load()
        assert model.regressor.out_features == 2 and model.config.target_names is None
        assert "heart_rate" not in model.config.id2label.values()
    # names given for the new head are taken, and the saved count keeps the saved names
    for load in _routes_to_a_new_head(tmp_path, num_targets=2, id2label=["heart_rate", "breathing_rate"]):
        assert load().config.target_names == ["heart_rate", "breathing_rate"]
    assert CiTrusForRegression.from_pretrained(tmp_path, num_targets=1).config.target_names == ["heart_rate"]


def test_a_fusion_regressor_of_another_target_count_drops_the_saved_names(tmp_path):
    from citrus_hf import CiTrusModel
    from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression

    encoders = {"a": CiTrusModel(tiny_config()), "b": CiTrusModel(tiny_config())}
    CiTrusFusionForRegression.from_encoders(encoders, id2label=["heart_rate"]).save_pretrained(tmp_path)
    model = CiTrusFusionForRegression.from_pretrained(tmp_path, num_targets=2, ignore_mismatched_sizes=True)
    assert model.regressor.out_features == 2 and model.config.target_names is None


def test_too_few_target_names_are_refused_with_advice_that_can_be_followed():
    with pytest.raises(ValueError, match=r"or one name per target \(2 names in id2label\)"):
        CiTrusForRegression(tiny_config(num_targets=2, id2label=["heart_rate"]))


@pytest.mark.parametrize(
    ("saved_problem", "saved_labels"),
    [("regression", torch.tensor([0.5, 1.0])), ("multi_label_classification", torch.tensor([[1.0, 0.0], [0.0, 1.0]]))],
)
def test_class_indices_for_a_head_under_a_saved_problem_type_name_that_problem_type(
    tmp_path, saved_problem, saved_labels
):
    """transformers' trap: `problem_type` is inferred from the first batch and saved; a new head of another size on
    that checkpoint (`num_labels=4, ignore_mismatched_sizes=True`) keeps it, and class indices were refused as
    regression targets ("set num_labels in the config to the number of targets", which it was) or as multi-label
    targets, without a word of the problem_type that decided it."""
    model = CiTrusForSequenceClassification(
        tiny_config(num_labels=saved_labels.shape[-1] if saved_labels.dim() > 1 else 1)
    )
    model(torch.randn(2, 1, 200), labels=saved_labels)
    assert model.config.problem_type == saved_problem
    model.save_pretrained(tmp_path)
    new_head = CiTrusForSequenceClassification.from_pretrained(tmp_path, num_labels=4, ignore_mismatched_sizes=True)
    with pytest.raises(
        ValueError, match=rf"problem_type='{saved_problem}'.*problem_type='single_label_classification'"
    ):
        new_head(torch.randn(2, 1, 200), labels=torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="problem_type="):  # bool labels too (torch has no `round` for them)
        new_head(torch.randn(2, 1, 200), labels=torch.tensor([True, False]))
    new_head.config.problem_type = "single_label_classification"  # the fix it names
    assert new_head(torch.randn(2, 1, 200), labels=torch.tensor([0, 3])).loss.isfinite()


def test_a_cnn_backbone_returns_the_states_it_is_asked_for():
    """transformers' outputs hold what `output_hidden_states` / `output_attentions` ask for, one hidden state per
    layer and the final output (a model of no layers: the final output alone; no attention weights: an empty tuple).
    `backbone="cnn"` gave None for both, so `outputs.hidden_states[-1]` failed on None."""
    from citrus_hf import CiTrusModel

    config = tiny_config(backbone="cnn", num_labels=2)
    outputs = CiTrusModel(config).eval()(torch.randn(2, 1, 200), output_hidden_states=True, output_attentions=True)
    assert len(outputs.hidden_states) == 1 and torch.equal(outputs.hidden_states[-1], outputs.last_hidden_state)
    assert outputs.attentions == ()
    classified = CiTrusForSequenceClassification(config).eval()(torch.randn(2, 1, 200), output_hidden_states=True)
    assert len(classified.hidden_states) == 1
    assert CiTrusModel(config).eval()(torch.randn(2, 1, 200)).hidden_states is None  # not asked: none
