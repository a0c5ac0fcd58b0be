"""Bad input to the model and the config, found by the bad-input sweep and the Trainer / fusion habit audits: each test
failed before its fix (the audit finding is named in the test's docstring)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError
from tiny_configs import tiny_config

from citrus_hf import (
    CiTrusConfig,
    CiTrusForPretraining,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusModel,
)
from citrus_hf.loading import build_config
from citrus_hf.modeling_citrus import CHANNEL_COUNT_ADVICE, INPUT_NAME, LONG_INPUT_ADVICE, _as_labels

TRANSPOSE_FIX = r"looks like \(batch, time, channels\).*pass `x.transpose\(1, 2\)`"


@pytest.fixture(autouse=True)
def fresh_warnings():
    """transformers' `warning_once` is process-global: every test sees its warnings."""
    logging.Logger.warning_once.cache_clear()


# ---------------------------------------------------------------------- fuzz 1: (batch, time, channels) input


@pytest.mark.parametrize(
    "run",
    [
        lambda x: CiTrusModel(tiny_config())(x),
        lambda x: CiTrusModel(tiny_config()).embed(x, channel_pooling="mean"),
        lambda x: CiTrusForSequenceClassification(tiny_config(num_labels=3, channel_pooling="mean"))(x),
        lambda x: CiTrusForSequenceClassification(tiny_config(num_labels=3))(x),
        lambda x: CiTrusForPretraining(tiny_config())(x),
    ],
    ids=["encoder", "embed", "mean-head", "concat-head", "pretraining"],
)
def test_a_channels_last_batch_is_refused_with_the_transpose_fix(run):
    """fuzz 1: PatchTST's `(batch, time, channels)` layout ran as `time` channels of a few patches, without a word."""
    x = torch.randn(2, 20, 200).transpose(1, 2)  # 20 channels of 200 samples, channels last
    with pytest.raises(ValueError, match=TRANSPOSE_FIX + r".*200 channels of 20 samples"):
        run(x)


def test_more_channels_than_samples_is_read_as_given_with_a_warning_saying_so(caplog):
    """fuzz 1: a layout that is only suspicious runs, and the warning says how it was read and the fix."""
    model = CiTrusModel(tiny_config()).eval()
    with caplog.at_level("WARNING"):
        outputs = model(torch.randn(2, 30, 20))
    assert outputs.last_hidden_state.shape == (2, 30, 1, 16)
    assert "read as (batch, channels, time): 30 channels of 20 samples" in caplog.text
    assert "x.transpose(1, 2)" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        model(torch.randn(2, 3, 200))  # an ordinary window: nothing to say
    assert "transpose" not in caplog.text


def test_the_patch_length_error_names_transposing_only_for_a_channels_last_shape():
    """fuzz 1: `(4, 1000, 6)` got the patch-length error alone."""
    model = CiTrusModel(tiny_config())
    with pytest.raises(ValueError, match=r"not a multiple of the patch length 20.*" + TRANSPOSE_FIX):
        model(torch.randn(2, 200, 6))
    with pytest.raises(ValueError, match="not a multiple of the patch length") as info:
        model(torch.randn(2, 1, 190))
    assert "transpose" not in str(info.value)


def test_a_concat_head_names_transposing_not_a_channel_count_of_the_time_length(caplog):
    """fuzz 1: the concat head's error told a channels-last batch to build a model of `time` channels."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, num_channels=3))
    with caplog.at_level("WARNING"), pytest.raises(ValueError, match=r"built for 3 channel.*" + TRANSPOSE_FIX) as info:
        model(torch.randn(2, 30, 20))
    assert "num_channels=30" not in str(info.value)
    with pytest.raises(ValueError, match=r"built for 3 channel.*num_channels=2\)"):
        model(torch.randn(2, 2, 200))  # fewer channels: the fix for data with another channel count


# ---------------------------------------------------------------------- fuzz 2: init_regressor_bias


@pytest.mark.parametrize(
    "targets, error, message",
    [
        ([], ValueError, "`targets` is empty"),
        ([float("nan"), 80.0], ValueError, r"NaN or infinite values in 1 row\(s\) \(e.g. rows \[0\]\)"),
        ([70.0, np.inf], ValueError, r"rows \[1\]"),
        (["70", "80"], TypeError, "must be a tensor, numpy array or list of numbers"),
        (np.ones((4, 2)), ValueError, r"shape \(num_examples,\).*got \(4, 2\)"),
        ([1 + 2j], TypeError, "real numbers"),
    ],
)
def test_init_regressor_bias_refuses_targets_that_would_poison_the_head(targets, error, message):
    """fuzz 2: NaN, inf or no targets made the bias, and every prediction, NaN; strings and shapes hit raw torch."""
    model = CiTrusForRegression(tiny_config())
    before = model.regressor.bias.clone()
    with pytest.raises(error, match=message):
        model.init_regressor_bias(targets)
    assert torch.equal(model.regressor.bias, before)


def test_init_regressor_bias_takes_a_column_or_one_row_per_example():
    model = CiTrusForRegression(tiny_config())
    model.init_regressor_bias([[70.0], [80.0]])
    assert model.regressor.bias.tolist() == [75.0]
    two = CiTrusForRegression(tiny_config(num_targets=2))
    two.init_regressor_bias(np.array([[70.0, 10.0], [80.0, 20.0]]))
    assert two.regressor.bias.tolist() == [75.0, 15.0]
    with pytest.raises(ValueError, match=r"\(num_examples, 2\).*got \(2,\)"):
        two.init_regressor_bias([70.0, 80.0])


# ---------------------------------------------------------------------- fuzz 3: spectrogram_n_fft


def test_a_patch_length_is_never_refused_for_a_spectrogram_window_nobody_set():
    """fuzz 3: any patch length above 40 or of odd parity was refused for `spectrogram_n_fft=40`, a default."""
    assert CiTrusConfig(sampling_rate=250, context_length=2500, patch_length=25).spectrogram_n_fft == 41
    assert CiTrusConfig(context_length=3000, patch_length=60).spectrogram_n_fft == 60
    assert CiTrusConfig().spectrogram_n_fft == 40  # the paper's, as before
    assert build_config("small", patch_length=25, context_length=1000).spectrogram_n_fft == 41
    # (the tiny preset sets a window of its own: None asks for the derived one)
    config = tiny_config(
        patch_length=25, context_length=250, pretraining_objective="spectrogram", spectrogram_n_fft=None
    )
    model = CiTrusForPretraining(config)
    assert model(torch.randn(2, 1, 250)).prediction.shape == (2, 1, 10, 41 // 2 + 1)


def test_the_spectrogram_window_is_checked_only_where_it_is_used_and_the_refusal_names_the_value():
    """fuzz 3: a classifier or a time-objective model computes no spectrogram; where one is, the fix is named."""
    assert CiTrusConfig(patch_length=25, context_length=2500, spectrogram_n_fft=40).patch_length == 25
    with pytest.raises(ValueError, match=r"`spectrogram_n_fft` \(40\).*pass spectrogram_n_fft=41"):
        CiTrusConfig(patch_length=25, context_length=2500, spectrogram_n_fft=40, pretraining_objective="spectrogram")


def test_a_derived_spectrogram_window_survives_a_save(tmp_path):
    config = tiny_config(patch_length=25, context_length=250, spectrogram_n_fft=None)
    config.save_pretrained(tmp_path)
    assert CiTrusConfig.from_pretrained(tmp_path).spectrogram_n_fft == 41


# ---------------------------------------------------------------------- fuzz 4: other models' names for fields


@pytest.mark.parametrize(
    "name, field",
    [
        ("sample_rate", "'sampling_rate'"),
        ("patch_size", "'patch_length'"),
        ("num_layers", "'num_hidden_layers'"),
        ("n_layers", "'num_hidden_layers'"),
        ("num_heads", "'num_attention_heads'"),
        ("objective", "'pretraining_objective'"),
        ("num_classes", "'num_labels'"),
        ("dropout", "'hidden_dropout', 'attention_dropout', 'ffn_dropout' or 'head_dropout'"),
    ],
)
def test_another_models_name_for_a_field_is_refused_naming_the_field(name, field):
    """fuzz 4: `sample_rate=250` built a 100 Hz model (kept as a stray attribute), as `d_modle` once did."""
    with pytest.raises(ValueError, match=rf"'{name}' \(did you mean {field}\?\) is not a CiTrusConfig field"):
        CiTrusConfig(**{name: 1})
    with pytest.raises(ValueError, match=rf"'{name}' \(did you mean {field}\?\)"):
        build_config("tiny", **{name: 1})
    with pytest.raises(ValueError, match=rf"'{name}' \(did you mean {field}\?\)"):
        CiTrusForSequenceClassification.from_pretrained("citrus-small", **{name: 1})


def test_metadata_that_is_no_alias_stays_allowed():
    assert CiTrusConfig(recorded_by="lab 3").recorded_by == "lab 3"


# ---------------------------------------------------------------------- fuzz 5: scalar statistics, string channel names


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(normalization="fixed", normalization_mean=0.5, normalization_std=2.0), r"normalization_mean=\[0.5\]\."),
        (dict(num_channels=3, normalization_mean=0.5), r"normalization_mean=\[0.5\] \* 3"),
        (dict(channel_names="Cz"), r"pass \['Cz'\], not 'Cz'"),
        (dict(channel_modalities="eeg"), r"pass \['eeg'\]"),
    ],
)
def test_a_scalar_where_a_list_per_channel_belongs_gets_the_list_to_pass(kwargs, message):
    """fuzz 5: a scalar statistic failed on `len()`; a string's letters were counted as channels."""
    with pytest.raises(TypeError, match=message):
        CiTrusConfig(**kwargs)


# ---------------------------------------------------------------------- fuzz 6: one exception type for a bad config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_channels=0), r"^`num_channels` must be at least 1, got 0\.$"),
        (dict(d_model=130, num_attention_heads=4), r"^`d_model` \(130\) must be divisible"),
        (dict(backbone="lstm"), r"^`backbone='lstm'` is not supported"),
    ],
)
def test_every_bad_config_value_is_a_value_error(kwargs, message):
    """fuzz 6: checks in `validate_*` reached the user as huggingface_hub's error, not a ValueError, with a prefix."""
    with pytest.raises(ValueError, match=message) as info:
        CiTrusConfig(**kwargs)
    assert isinstance(info.value, StrictDataclassClassValidationError)  # what strict-dataclass code catches
    assert isinstance(info.value.__cause__, ValueError)


def test_a_bad_config_type_is_a_type_error_and_check_buildable_still_says_so():
    with pytest.raises(TypeError, match="must be a list of numbers") as info:
        CiTrusConfig(normalization_mean="ab")
    assert isinstance(info.value, StrictDataclassClassValidationError)
    config = tiny_config()
    config.d_model = 17
    with pytest.raises(ValueError, match=r"cannot build a model: `d_model` \(17\) must be divisible"):
        CiTrusModel(config)


# ---------------------------------------------------------------------- fuzz 15: meta tensors, token_mask


@pytest.mark.parametrize(
    "inputs, name",
    [
        (dict(input_values=torch.empty(1, 1, 200, device="meta")), "input_values"),
        (dict(input_values=torch.randn(1, 1, 200), patch_mask=torch.ones(1, 10, device="meta")), "patch_mask"),
        (
            dict(
                input_values=torch.randn(1, 1, 200), token_mask=torch.zeros(1, 1, 10, dtype=torch.bool, device="meta")
            ),
            "token_mask",
        ),
    ],
)
def test_a_meta_tensor_is_refused_by_name(inputs, name):
    """fuzz 15: meta tensors failed in `Tensor.item()`."""
    with pytest.raises(ValueError, match=rf"`{name}` is a meta tensor"):
        CiTrusModel(tiny_config())(**inputs)


def test_the_encoder_checks_token_mask_as_pretraining_does():
    """fuzz 15: a wrong-shaped `token_mask` reached torch's boolean indexing."""
    model = CiTrusModel(tiny_config())
    x = torch.randn(1, 1, 200)
    with pytest.raises(ValueError, match=r"`token_mask` must have shape \(batch, channels, patches\) = \(1, 1, 10\)"):
        model(x, token_mask=torch.ones(1, 100, dtype=torch.bool))
    with pytest.raises(ValueError, match="True / 1 \\(masked\\) and False / 0"):
        model(x, token_mask=torch.full((1, 1, 10), 0.5))
    masked = model(x, token_mask=torch.tensor([[[1, 0] * 5]]))  # 0/1 integers are a mask too
    assert masked.token_mask.dtype == torch.bool and masked.token_mask.sum() == 5


# ---------------------------------------------------------------------- trainer habits


def test_labels_are_checked_without_a_forward_pass_for_the_label_smoother():
    """trainer 4 (model side): `_as_labels(labels, None)` runs the label checks where no logits exist yet, as for the
    `Trainer`'s label smoother, which takes the labels out of the batch before the forward pass."""
    assert _as_labels([0, 1, 2], None).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="1 NaN"):
        _as_labels(torch.tensor([0.0, float("nan")]), None)
    with pytest.raises(TypeError, match="list of numbers"):
        _as_labels(["walk", "run"], None)


@pytest.mark.parametrize(
    "name, also",
    [("label", "DataCollatorWithPadding(extractor)"), ("label_ids", "renames"), ("target", ""), ("class_label", "")],
)
def test_a_label_column_under_another_name_is_told_to_be_renamed_not_dropped(name, also):
    """trainer 6: the advice was to drop the column (or let the Trainer drop it), which loses the labels."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    with pytest.raises(TypeError, match=rf"takes its labels as `labels`.*rename_column\('{name}', 'labels'\)") as info:
        model(torch.randn(2, 1, 200), **{name: torch.tensor([0, 1])})
    assert also in str(info.value) and "remove_unused_columns" not in str(info.value)
    with pytest.raises(TypeError, match="drop it"):  # any other column keeps its advice
        model(torch.randn(2, 1, 200), subject=torch.tensor([0, 1]))


def test_neftune_is_refused_in_one_line():
    """trainer 9: `TrainingArguments(neftune_noise_alpha=...)` ended in an IndexError inside transformers."""
    from transformers.integrations.neftune import activate_neftune, deactivate_neftune

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).train()
    handle = activate_neftune(model, 5.0)
    with pytest.raises(ValueError, match=r"NEFTune .*drop `neftune_noise_alpha`"):
        model(torch.randn(2, 1, 200))
    deactivate_neftune(model, handle)
    assert model(torch.randn(2, 1, 200)).logits.shape == (2, 2)


def test_a_regressor_refuses_a_classification_problem_type(tmp_path):
    """trainer 10: `problem_type="multi_label_classification"` was accepted by the regressor and saved."""
    with pytest.raises(ValueError, match="always trains as a regressor.*'multi_label_classification'"):
        CiTrusForRegression(tiny_config(problem_type="multi_label_classification"))
    assert CiTrusForRegression(tiny_config(problem_type="regression")).config.problem_type == "regression"
    # a trained classifier's problem type is not carried into a regressor on its encoder, and without
    # `replace_head=True` the refusal still names the classifier
    classifier = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    classifier(torch.randn(2, 1, 200), labels=torch.tensor([0, 1]))  # sets problem_type, as training does
    classifier.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="is a CiTrusForSequenceClassification checkpoint"):
        CiTrusForRegression.from_pretrained(tmp_path)
    regressor = CiTrusForRegression.from_pretrained(tmp_path, replace_head=True)
    assert regressor.config.problem_type is None


# ---------------------------------------------------------------------- fusion habits (the single model's part)


def test_a_fusion_checkpoint_is_refused_by_the_single_modality_config(tmp_path):
    """fusion 4: `CiTrusConfig.from_pretrained(<fusion folder>)` returned a default single-modality config."""
    architectures = ["CiTrusFusionForSequenceClassification"]
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "citrus_fusion", "architectures": architectures}))
    with pytest.raises(
        ValueError, match=r"'citrus_fusion' checkpoint.*load_encoder.*CiTrusFusionConfig.from_pretrained"
    ):
        CiTrusConfig.from_pretrained(tmp_path)


def test_a_fusion_model_can_give_the_encoders_messages_its_own_advice(caplog):
    """fusion 8 / 9 (the single model's part): the channel-count error and the long-input warning take their advice
    from context variables, which the fusion model sets while it runs an encoder."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, num_channels=3))
    token = CHANNEL_COUNT_ADVICE.set("build the fusion model with an encoder for {channels} channels")
    try:
        with pytest.raises(ValueError, match="but the input has 2; build the fusion model with an encoder for 2"):
            model(torch.randn(1, 2, 200))
    finally:
        CHANNEL_COUNT_ADVICE.reset(token)
    tokens = [(INPUT_NAME, INPUT_NAME.set("modality 'ecg'")), (LONG_INPUT_ADVICE, LONG_INPUT_ADVICE.set("Cut it."))]
    try:
        with caplog.at_level("WARNING"):
            CiTrusModel(tiny_config())(torch.randn(1, 1, 400))
    finally:
        for variable, token in tokens:
            variable.reset(token)
    assert "modality 'ecg' has 400 samples, 2x this checkpoint's context" in caplog.text
    assert caplog.text.rstrip().endswith("Cut it.")
