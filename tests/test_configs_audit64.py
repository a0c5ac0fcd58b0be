"""Audit 64 (wrong types and values given to the public API): a config of the wrong class given to a model class
(F2), a keyword that names a read-only derived property (F3), a file given where a folder to save into (or load
from) belongs (F6), and three misleading messages (F7: `target="embeddings"`, a bundled name given to the fusion
config's loader, class names given to `classification_metrics`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from tiny_configs import tiny_config

from citrus_hf import (
    CiTrusConfig,
    CiTrusFeatureExtractor,
    CiTrusForPretraining,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusFusionForRegression,
    CiTrusFusionForSequenceClassification,
    CiTrusFusionProcessor,
    CiTrusModel,
    load_pretrained,
)
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.inference.backends import load_backend, predict_windows
from citrus_hf.loading import build_config
from citrus_hf.training import classification_metrics
from citrus_hf.training.lora import apply_lora, save_adapter


def _fusion_config() -> CiTrusFusionConfig:
    return CiTrusFusionConfig(modality_configs={"ecg": tiny_config()}, num_labels=2)


# ---------------------------------------------------------------------------------------------------------------- F2


@pytest.mark.parametrize(
    ("model_class", "config", "message"),
    [
        (
            CiTrusForSequenceClassification,
            transformers.PatchTSTConfig(),
            r"CiTrusForSequenceClassification takes a CiTrusConfig, got PatchTSTConfig: another model's config",
        ),
        (CiTrusModel, transformers.BertConfig(), r"CiTrusModel takes a CiTrusConfig, got BertConfig"),
        (CiTrusForSequenceClassification, None, r"got NoneType: build one \(CiTrusConfig\(\.\.\.\)\)"),
        (CiTrusForRegression, None, r"CiTrusForRegression takes a CiTrusConfig, got NoneType"),
        (
            CiTrusForPretraining,
            tiny_config().to_dict(),
            r"CiTrusForPretraining takes a CiTrusConfig, got dict: build it first with CiTrusConfig\.from_dict\(d\)",
        ),
        (
            CiTrusFusionForRegression,
            {"modality_configs": {}},
            r"CiTrusFusionForRegression takes a CiTrusFusionConfig, got dict",
        ),
    ],
)
def test_a_config_of_another_class_is_refused_naming_the_expected_class(model_class, config, message):
    """The task classes read `config.num_labels` before transformers' own check, and the layers then failed on an
    attribute of another model's config, from inside transformers."""
    with pytest.raises(TypeError, match=message):
        model_class(config)


def test_the_other_citrus_familys_config_points_to_that_family_and_its_own_builds():
    with pytest.raises(TypeError, match=r"got CiTrusFusionConfig: that is a fusion model's config .*modality_configs"):
        CiTrusForSequenceClassification(_fusion_config())
    with pytest.raises(TypeError, match=r"takes a CiTrusFusionConfig, got CiTrusConfig: .*CiTrusFusionConfig\("):
        CiTrusFusionForSequenceClassification(tiny_config(num_labels=2))
    # each family's own config builds its models as before, the head's size read after the class check
    assert CiTrusForSequenceClassification(tiny_config(num_labels=3)).classifier.out_features == 3
    assert CiTrusForRegression(tiny_config(num_targets=2)).regressor.out_features == 2
    assert CiTrusFusionForSequenceClassification(_fusion_config()).classifier.out_features == 2
    regressor_config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config()}, num_targets=2)
    assert CiTrusFusionForRegression(regressor_config).regressor.out_features == 2
    with pytest.raises(ValueError, match="Masked pre-training"):  # still refused, now after the class check
        CiTrusForPretraining(tiny_config(context_length=20))


def test_from_pretrained_refuses_a_config_keyword_of_another_class():
    with pytest.raises(TypeError, match=r"`config=` takes a CiTrusConfig .*got PatchTSTConfig: another model's"):
        CiTrusForSequenceClassification.from_pretrained("citrus-small", config=transformers.PatchTSTConfig())


# ---------------------------------------------------------------------------------------------------------------- F3


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: CiTrusConfig(window_seconds=10),
            r"`window_seconds` is derived \(window_seconds = context_length / sampling_rate\) and cannot be set; "
            r"pass context_length",
        ),
        (lambda: CiTrusConfig(num_patches=50), r"`num_patches` is derived .*; pass context_length"),
        (lambda: tiny_config(uses_cnn=False), r"`uses_cnn` is derived .*; pass backbone"),
        (lambda: tiny_config().update({"spectrogram_bins": 5}), r"pass spectrogram_n_fft"),
        (lambda: CiTrusFeatureExtractor(num_patches=10), r"`num_patches` is derived .*; pass context_length"),
        (
            lambda: CiTrusFusionConfig(modalities={"ecg": tiny_config()}, num_labels=2),
            r"`modalities` is derived .*; pass modality_configs=",
        ),
        (lambda: build_config("tiny", window_seconds=5), r"`window_seconds` is derived"),
        (
            lambda: CiTrusForSequenceClassification.from_pretrained("citrus-small", num_labels=2, window_seconds=5),
            r"`window_seconds` is derived",
        ),
        (lambda: load_pretrained("citrus-small", num_labels=2, num_patches=50), r"`num_patches` is derived"),
    ],
)
def test_a_keyword_naming_a_derived_property_is_refused_with_the_field_that_sets_it(build, message):
    """transformers set it as an attribute and failed with "property ... has no setter", after logging the config."""
    with pytest.raises(ValueError, match=message):
        build()


def test_a_saved_extractor_refuses_a_derived_keyword(tmp_path):
    CiTrusFeatureExtractor().save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"`num_patches` is derived"):
        CiTrusFeatureExtractor.from_pretrained(tmp_path, num_patches=3)


# ---------------------------------------------------------------------------------------------------------------- F6


@pytest.fixture
def weights_file(tmp_path):
    """An existing file where a folder belongs (the weights file given for its checkpoint folder)."""
    path = tmp_path / "model.safetensors"
    path.write_text("not a folder")
    return path


def _savers():
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    fusion = CiTrusFusionForSequenceClassification(_fusion_config())
    return {
        "model": model.save_pretrained,
        "fusion model": fusion.save_pretrained,
        "config": model.config.save_pretrained,
        "fusion config": fusion.config.save_pretrained,
        "extractor": CiTrusFeatureExtractor.from_config(model.config).save_pretrained,
        "processor": CiTrusFusionProcessor.from_config(fusion.config).save_pretrained,
        "adapter": lambda folder: save_adapter(apply_lora(model, verbose=False), folder),
    }


def test_every_saver_refuses_a_file_given_for_its_folder(weights_file):
    """The models' save_pretrained only logged it and returned without saving; the others failed on transformers'
    AssertionError or a FileExistsError."""
    for name, save in _savers().items():
        with pytest.raises(ValueError, match=r"`save_directory` \(.*model\.safetensors\) is a file; give a folder"):
            save(weights_file)
        assert weights_file.read_text() == "not a folder", name
    with pytest.raises(ValueError, match=r"cannot be created: .*model\.safetensors' is a file"):
        _savers()["model"](weights_file / "inside")


def test_the_data_caches_and_the_processor_loader_refuse_a_file(weights_file):
    from citrus_hf.data import build_dataset

    with pytest.raises(ValueError, match=r"`cache_dir` \(.*\) is a file; give a folder"):
        build_dataset("basic_motions", cache_dir=weights_file)
    with pytest.raises(OSError, match=r"model\.safetensors' is a file; pass the folder that holds processor_config"):
        CiTrusFusionProcessor.from_pretrained(weights_file)


# ---------------------------------------------------------------------------------------------------------------- F7


def test_a_target_may_be_named_by_its_output():
    """`target="embeddings"` (the natural reading of "what to compute") failed on `target.output`."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    features = {"input_values": torch.randn(2, 1, 200)}
    embeddings = predict_windows(model, features, backend="torch", target="embeddings")
    assert torch.allclose(embeddings, model.embed(features["input_values"]), atol=1e-5)
    assert load_backend(model, "torch", "logits").target.output == "logits"
    with pytest.raises(ValueError, match=r"`output` must be one of 'logits', 'embeddings', got 'embedings'"):
        load_backend(model, "torch", "embedings")
    with pytest.raises(TypeError, match=r"`target` takes an InferenceTarget or the name of its output .*got int"):
        load_backend(model, "torch", 3)


def test_the_fusion_config_loader_resolves_bundled_names():
    """It looked "citrus-small" up on the Hub ("couldn't connect to huggingface.co" offline)."""
    single = r"'citrus-small' holds a single-modality CiTrus checkpoint"
    with pytest.raises(ValueError, match=single):
        CiTrusFusionConfig.from_pretrained("citrus-small")
    with pytest.raises(ValueError, match=single):
        CiTrusFusionForSequenceClassification.load_encoder("citrus-small", "ecg")


def test_classification_metrics_refuse_class_names_with_the_fix():
    """numpy's "ufunc 'remainder' not supported" named neither the labels nor label2id."""
    logits = np.random.default_rng(0).standard_normal((4, 3))
    with pytest.raises(TypeError, match=r"class indices \(integers\), got strings such as 'walk': .*label2id"):
        classification_metrics(logits, np.array(["walk", "run", "sit", "run"]))
    assert classification_metrics(np.eye(3), np.array([0, 1, 2], dtype=object))["accuracy"] == 1.0
