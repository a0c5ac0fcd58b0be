"""Audit 64, findings 1, 4 and 5 (wrong-type / wrong-value arguments of the Python API).

F1: a True / False option given as text ("no", "false", from a hand-written JSON / YAML dict or `os.environ`) was read
by its truthiness, so it meant True (`overwrite_output_dir="no"` let a run delete an earlier model). One shared check,
`vocabulary_citrus.as_bool`, now refuses anything but a bool or numpy bool, everywhere such an option is read.
F4: `TrainerSettings.max_steps`, `FinetuneArguments.lora_r / lora_alpha` and `validation_fraction` were checked only
once the data set had loaded (or never); they are checked when the settings are built.
F5: `apply_lora` took `alpha=inf` (every output NaN), failed with "'str' object has no attribute 'modules'" for a
name given instead of a model, and raised the stdlib's `re.error` for a `target_modules` that does not compile.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from tiny_configs import tiny_config

from citrus_hf import (
    CiTrusFusionConfig,
    CiTrusFusionForSequenceClassification,
    CiTrusModel,
)
from citrus_hf.modeling_citrus import CiTrusForSequenceClassification

TEXT_BOOL = r"must be True or False, got 'no' \(str\)"


# F1: one shared boolean check


def test_one_shared_boolean_check():
    """The extractor's check is the shared one, which takes bools and numpy bools only."""
    from citrus_hf import feature_extraction_citrus, vocabulary_citrus

    assert feature_extraction_citrus.as_bool is vocabulary_citrus.as_bool
    assert vocabulary_citrus.as_bool("x", np.bool_(False)) is False
    assert vocabulary_citrus.as_bool("x", True) is True
    for value in ("no", "False", 0, 1, None):
        with pytest.raises(TypeError, match=r"`x` must be True or False"):
            vocabulary_citrus.as_bool("x", value)


def test_fusion_config_normalize_embeddings_text_is_refused():
    modalities = {"ecg": tiny_config(), "eda": tiny_config()}
    with pytest.raises(TypeError, match=r"`normalize_embeddings` must be True or False, got 'false' \(str\)"):
        CiTrusFusionConfig(modality_configs=modalities, normalize_embeddings="false", num_labels=2)
    config = CiTrusFusionConfig(modality_configs=modalities, normalize_embeddings=np.bool_(False), num_labels=2)
    assert config.normalize_embeddings is False  # a Python bool: config.json gets `false`, not a numpy value


def test_freeze_backbone_text_is_refused():
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    with pytest.raises(TypeError, match=r"`freeze` " + TEXT_BOOL):
        model.freeze_backbone("no")
    assert all(parameter.requires_grad for parameter in model.citrus.encoder.parameters())
    model.freeze_backbone(np.bool_(True))
    assert not any(parameter.requires_grad for parameter in model.citrus.parameters())


def test_fusion_freeze_encoder_text_is_refused():
    model = CiTrusFusionForSequenceClassification.from_encoders({"ecg": CiTrusModel(tiny_config())}, num_labels=2)
    with pytest.raises(TypeError, match=r"`freeze` " + TEXT_BOOL):
        model.freeze_encoder("ecg", "no")
    assert model.frozen_encoders == []


@pytest.mark.parametrize("option", ["include_cnn", "include_ffn", "verbose"])
def test_apply_lora_switches_text_is_refused(option):
    from citrus_hf.training.lora import apply_lora, default_target_modules

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    with pytest.raises(TypeError, match=f"`{option}` " + TEXT_BOOL):
        apply_lora(model, **{option: "no"})
    if option != "verbose":
        with pytest.raises(TypeError, match=f"`{option}` " + TEXT_BOOL):
            default_target_modules(model, **{option: "no"})


@pytest.mark.parametrize("option", ["overwrite_output_dir", "lora"])
def test_finetune_arguments_switches_text_is_refused(tmp_path, option):
    from citrus_hf.training import FinetuneArguments

    with pytest.raises(TypeError, match=f"`{option}` " + TEXT_BOOL):
        FinetuneArguments(output_dir=str(tmp_path / "run"), dataset="basic_motions", **{option: "no"})


def test_overwrite_output_dir_text_keeps_the_earlier_model(tmp_path):
    """The destructive case: "no" got past the refusal to replace a fine-tuned model, which the run then deleted."""
    from tiny_configs import save_tiny_classifier

    from citrus_hf.training import FinetuneArguments

    folder = save_tiny_classifier(tmp_path / "run")
    with pytest.raises(TypeError, match="overwrite_output_dir"):
        FinetuneArguments(output_dir=str(folder), dataset="basic_motions", overwrite_output_dir="no")
    assert (folder / "model.safetensors").is_file()


@pytest.mark.parametrize("option", ["overwrite_output_dir", "full_determinism", "log_sample_ids", "show_progress"])
def test_pretrain_arguments_switches_text_is_refused(tmp_path, option):
    from citrus_hf.training import PretrainArguments

    with pytest.raises(TypeError, match=f"`{option}` " + TEXT_BOOL):
        PretrainArguments(output_dir=str(tmp_path / "run"), **{option: "no"})


@pytest.mark.parametrize("option", ["full_determinism", "show_progress"])
def test_trainer_settings_switches_text_is_refused(option):
    from citrus_hf.training import TrainerSettings

    with pytest.raises(TypeError, match=f"`{option}` " + TEXT_BOOL):
        TrainerSettings(**{option: "no"})
    assert getattr(TrainerSettings(**{option: np.bool_(False)}), option) is False


@pytest.mark.parametrize("option", ["resume", "select_on_validation", "show_progress"])
def test_protocol_config_switches_text_is_refused(tmp_path, option):
    from citrus_hf.evaluation import ProtocolConfig

    with pytest.raises(TypeError, match=f"`{option}` " + TEXT_BOOL):
        ProtocolConfig(output_dir=str(tmp_path), datasets=["basic_motions"], arms=["prior"], **{option: "no"})


# F4: step counts and the LoRA / carve settings checked when the settings are built


@pytest.mark.parametrize("value", [2.5, float("nan"), "10", True, None])
def test_trainer_settings_max_steps_must_be_an_integer(value):
    """Any whole number passes (<= 0 means "not set": the epochs, or the recipe's schedule); nothing else does."""
    from citrus_hf.training import TrainerSettings

    with pytest.raises(ValueError, match=r"--max-steps must be an integer, got"):
        TrainerSettings(max_steps=value)
    for whole in (-1, 0, 5, np.int64(7)):
        assert TrainerSettings(max_steps=whole).max_steps == whole


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("lora_r", 0, r"--lora-r must be an integer >= 1, got 0"),
        ("lora_r", 2.5, r"--lora-r must be an integer >= 1, got 2.5"),
        ("lora_r", "8", r"--lora-r must be an integer >= 1, got '8'"),
        ("lora_alpha", math.inf, r"--lora-alpha must be a finite number above 0, got inf"),
        ("lora_alpha", "16", r"--lora-alpha must be a finite number above 0, got '16'"),
        ("lora_alpha", 0, r"--lora-alpha must be a finite number above 0, got 0"),
        ("validation_fraction", "0.1", r"--validation-fraction must be a number strictly between 0 and 1, got '0.1'"),
        ("validation_fraction", math.nan, r"--validation-fraction must be a number strictly between 0 and 1, got nan"),
        ("validation_fraction", -1, r"--validation-fraction must be a number strictly between 0 and 1, got -1"),
        ("validation_fraction", 1.0, r"--validation-fraction must be a number strictly between 0 and 1, got 1.0"),
    ],
)
def test_finetune_arguments_checked_when_built(tmp_path, option, value, message):
    from citrus_hf.training import FinetuneArguments

    with pytest.raises(ValueError, match=message):
        FinetuneArguments(output_dir=str(tmp_path / "run"), dataset="basic_motions", **{option: value})


def test_finetune_arguments_lora_rank_as_python_int(tmp_path):
    from citrus_hf.training import FinetuneArguments

    arguments = FinetuneArguments(output_dir=str(tmp_path / "run"), dataset="basic_motions", lora_r=np.int64(4))
    assert type(arguments.lora_r) is int and arguments.lora_r == 4  # `apply_lora` takes Python ints only


@pytest.mark.parametrize("value", ["0.1", math.nan, 0])
def test_protocol_config_validation_fraction_checked_when_built(tmp_path, value):
    from citrus_hf.evaluation import ProtocolConfig

    with pytest.raises(ValueError, match=r"--validation-fraction must be a number strictly between 0 and 1"):
        ProtocolConfig(output_dir=str(tmp_path), datasets=["basic_motions"], arms=["prior"], validation_fraction=value)


# F5: apply_lora / load_adapter arguments


def test_apply_lora_refuses_an_infinite_alpha():
    from citrus_hf.training.lora import apply_lora

    with pytest.raises(ValueError, match=r"LoRA `alpha` must be a positive number, got inf: a finite one"):
        apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=2)), alpha=math.inf, verbose=False)


@pytest.mark.parametrize(
    "model, message",
    [
        ("citrus-small", r"got the str 'citrus-small'.*from_pretrained\('citrus-small', num_labels=4\)"),
        (None, r"got NoneType\. Load a pre-trained checkpoint"),
    ],
)
def test_apply_lora_refuses_what_is_no_model(model, message):
    from citrus_hf.training.lora import apply_lora

    with pytest.raises(TypeError, match=r"Cannot apply LoRA: LoRA here adapts CiTrus task models.*" + message):
        apply_lora(model, verbose=False)


def test_load_adapter_refuses_what_is_no_model(tmp_path):
    from citrus_hf.training.lora import apply_lora, load_adapter, save_adapter

    folder = save_adapter(
        apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=2)), verbose=False), tmp_path / "adapter"
    )
    with pytest.raises(TypeError, match=r"Cannot load the adapter: LoRA here adapts CiTrus task models.*got int"):
        load_adapter(42, folder)


def test_load_adapter_refuses_an_infinite_saved_alpha(tmp_path):
    from citrus_hf.training.lora import apply_lora, load_adapter, save_adapter

    folder = save_adapter(
        apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=2)), verbose=False), tmp_path / "adapter"
    )
    path = folder / "adapter_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "lora_alpha": math.inf}))  # written as Infinity
    with pytest.raises(ValueError, match=r"'lora_alpha' must be a positive finite number, got Infinity"):
        load_adapter(CiTrusForSequenceClassification(tiny_config(num_labels=2)), folder)


def test_apply_lora_names_a_target_modules_regex_that_does_not_compile():
    from citrus_hf.training.lora import apply_lora

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    with pytest.raises(ValueError, match=r"`target_modules` '\(q_proj' is not a valid regular expression"):
        apply_lora(model, target_modules="(q_proj", verbose=False)
