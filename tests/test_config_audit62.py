"""Audit 62 (configuration objects): misspelt keywords of the config loaders, a whole-float `num_labels`, `label2id`
given alone, `AutoProcessor` on a folder without config.json, `num_labels` changed after loading, an
`output_attentions=True` config building task models, and an empty time axis."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from tiny_configs import tiny_config
from transformers import AutoConfig, AutoProcessor

import citrus_hf
from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, CiTrusForSequenceClassification, CiTrusModel
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification

NAMES = {"rest": 0, "walk": 1, "run": 2}


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("encoder")
    CiTrusModel(tiny_config()).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A saved 3-class classifier."""
    folder = tmp_path_factory.mktemp("classifier")
    torch.manual_seed(0)
    CiTrusForSequenceClassification(tiny_config(num_labels=3)).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def fusion(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fusion")
    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": tiny_config()}, num_labels=2)
    CiTrusFusionForSequenceClassification(config).save_pretrained(folder)
    return folder


# ------------------------------------------------------------------------------- F1. misspelt keywords of the loaders


@pytest.mark.parametrize("loader", [CiTrusConfig.from_pretrained, AutoConfig.from_pretrained])
@pytest.mark.parametrize(
    ("keyword", "field"), [("sample_rate", "sampling_rate"), ("num_classes", "num_labels"), ("d_modle", "d_model")]
)
def test_the_config_loaders_refuse_a_misspelt_keyword_naming_the_field(encoder, loader, keyword, field):
    with pytest.raises(ValueError, match=rf"'{keyword}' \(did you mean '{field}'\?\) is not a CiTrusConfig field"):
        loader(encoder, **{keyword: 5})


def test_the_fusion_config_loader_refuses_a_misspelt_keyword_and_loading_keywords_still_work(fusion, encoder):
    with pytest.raises(ValueError, match=r"'head_dropot' \(did you mean 'head_dropout'\?\)"):
        CiTrusFusionConfig.from_pretrained(fusion, head_dropot=0.2)
    with pytest.raises(ValueError, match=r"'num_classes' \(did you mean 'num_labels'\?\)"):
        AutoConfig.from_pretrained(fusion, num_classes=3)
    # transformers' own loading keywords, and names close to no field (metadata), pass as before
    config, unused = CiTrusConfig.from_pretrained(
        encoder,
        cache_dir=None,
        revision="main",
        token=None,
        local_files_only=True,
        d_model=16,
        my_note="kept",
        return_unused_kwargs=True,
    )
    assert config.d_model == 16 and unused == {"my_note": "kept"}
    assert AutoConfig.from_pretrained(encoder, trust_remote_code=False, sampling_rate=250).sampling_rate == 250.0


# ---------------------------------------------------------------------------------- F4. a whole-number float num_labels


def test_a_whole_number_float_num_labels_is_an_int(encoder):
    assert CiTrusConfig(num_labels=3.0).num_labels == 3
    assert CiTrusConfig.from_pretrained(encoder, num_labels=3.0).id2label == {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    model = CiTrusForSequenceClassification.from_pretrained(encoder, num_labels=3.0)
    assert model.classifier.out_features == 3
    fusion_config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config()}, num_labels=4.0)
    assert fusion_config.num_labels == 4
    with pytest.raises(ValueError, match="`num_labels` must be a whole number, got 2.5"):
        CiTrusConfig(num_labels=2.5)


# ------------------------------------------------------------------------------------------- F5. label2id given alone


def test_label2id_alone_names_the_classes_and_sets_their_number(encoder, caplog):
    config = CiTrusConfig(label2id=NAMES)
    assert (config.num_labels, config.id2label) == (3, {0: "rest", 1: "walk", 2: "run"})
    assert config.label2id == NAMES
    with caplog.at_level("WARNING"):
        model = CiTrusForSequenceClassification.from_pretrained(encoder, label2id={"rest": "0", "walk": 1, "run": 2})
    assert model.classifier.out_features == 3
    assert model.config.id2label == {0: "rest", 1: "walk", 2: "run"}
    assert not [record for record in caplog.records if "label2id" in record.getMessage()]


def test_label2id_alone_that_cannot_name_the_classes_is_refused(encoder):
    with pytest.raises(ValueError, match="gives the id 0 to both 'rest' and 'walk'"):
        CiTrusConfig(label2id={"rest": 0, "walk": 0})
    with pytest.raises(ValueError, match="'rest' maps to 'zero', which is no id"):
        CiTrusConfig(label2id={"rest": "zero"})
    with pytest.raises(ValueError, match="`num_labels=4` disagrees with `label2id`, which names 3 classes"):
        CiTrusConfig.from_pretrained(encoder, label2id=NAMES, num_labels=4)


# ------------------------------------------------------------------------ F6. AutoProcessor on an extractor-only folder


def test_auto_processor_of_a_folder_with_only_an_extractor_asks_nothing(tmp_path, monkeypatch):
    """transformers asked "Do you wish to run the custom code? [y/N]" (15 s in a terminal) before it fell back to the
    extractor; `processor_class` in preprocessor_config.json names the class at once."""
    import transformers.models.auto.image_processing_auto as image_processing_auto
    import transformers.models.auto.processing_auto as processing_auto

    def asked(*args, **kwargs):
        raise AssertionError("AutoProcessor asked whether to run the folder's code")

    monkeypatch.setattr(processing_auto, "resolve_trust_remote_code", asked)
    monkeypatch.setattr(image_processing_auto, "resolve_trust_remote_code", asked)
    for module in [module for name, module in sys.modules.items() if name.startswith("transformers.")]:
        if callable(getattr(module, "resolve_trust_remote_code", None)):  # every module that asks, by its own name
            monkeypatch.setattr(module, "resolve_trust_remote_code", asked)
    extractor = CiTrusFeatureExtractor.from_config(tiny_config(num_channels=2))
    extractor.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "preprocessor_config.json").read_text())["processor_class"] == (
        "CiTrusFeatureExtractor"
    )
    processor = AutoProcessor.from_pretrained(tmp_path)
    assert isinstance(processor, CiTrusFeatureExtractor) and processor.to_dict() == extractor.to_dict()
    # a LoRA adapter folder saved before extractors recorded their processor class (its extractor with remote code's
    # `auto_map`) loads as well
    from citrus_hf.training.lora import apply_lora, save_adapter

    adapter = tmp_path / "adapter"
    save_adapter(apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=2))), adapter, extractor)
    saved = json.loads((adapter / "preprocessor_config.json").read_text())
    assert "auto_map" in saved
    del saved["processor_class"]
    (adapter / "preprocessor_config.json").write_text(json.dumps(saved))
    processor = AutoProcessor.from_pretrained(adapter)
    assert isinstance(processor, CiTrusFeatureExtractor) and processor.to_dict() == extractor.to_dict()


# ---------------------------------------------------------------------------- F7. num_labels changed after loading


def test_num_labels_changed_after_loading_is_named_at_forward_and_save(classifier, tmp_path):
    model = CiTrusForSequenceClassification.from_pretrained(classifier)
    model.config.num_labels = 5
    fix = r"config.num_labels is 5 .* `classifier` head .* has 3 outputs.*num_labels=5, ignore_mismatched_sizes"
    with pytest.raises(ValueError, match=fix):
        model(torch.randn(2, 1, 200), labels=torch.tensor([0, 4]))
    with pytest.raises(ValueError, match=fix):
        model(torch.randn(2, 1, 200))  # a pipeline would have named only the first 3 classes
    with pytest.raises(ValueError, match=fix):
        model.save_pretrained(tmp_path)
    assert not (tmp_path / "config.json").exists()
    regressor = citrus_hf.CiTrusForRegression(tiny_config(num_targets=2))
    regressor.config.num_targets = 3
    with pytest.raises(ValueError, match="config.num_targets is 3 but the `regressor` head"):
        regressor(torch.randn(2, 1, 200))
    fused = CiTrusFusionForSequenceClassification(
        CiTrusFusionConfig(modality_configs={"ecg": tiny_config()}, num_labels=2)
    )
    fused.config.num_labels = 4
    with pytest.raises(ValueError, match="config.num_labels is 4 .* CiTrusFusionForSequenceClassification has 2"):
        fused({"ecg": torch.randn(2, 1, 200)})


# ------------------------------------------------------------- audit 62 (forward) 5. an output_attentions=True config


@pytest.mark.parametrize(
    "model_class",
    [CiTrusForSequenceClassification, citrus_hf.CiTrusForRegression, citrus_hf.CiTrusForPretraining, CiTrusModel],
)
def test_an_output_attentions_config_builds_every_model_and_returns_the_weights(model_class):
    config = tiny_config(output_attentions=True)
    CiTrusModel(config)  # a first model sets the config's attention to "sdpa"
    model = model_class(config).eval()
    assert len(model(torch.randn(2, 1, 200)).attentions) == config.num_hidden_layers


def test_output_attentions_set_on_a_loaded_models_config_builds_a_new_model():
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    model.config.output_attentions = True
    again = CiTrusForSequenceClassification(model.config).eval()
    assert len(again(torch.randn(1, 1, 200)).attentions) == 1


# ----------------------------------------------------------------------- audit 62 (forward) 7. an empty time axis


def test_an_empty_time_axis_is_named_as_an_empty_window():
    model = CiTrusModel(tiny_config())
    with pytest.raises(ValueError) as error:
        model(torch.randn(2, 3, 800)[:, :, 1000:1200])
    message = str(error.value)
    assert "(2, 3, 0): no sample (an empty window" in message
    assert "transpose" not in message and "not a multiple" not in message


# ------------------------------------------------------------------ F2. a saved config without an input-contract field


def _without_sampling_rate(folder, tmp_path, modality: str | None = None):
    import shutil

    copy = shutil.copytree(folder, tmp_path / "checkpoint")
    values = json.loads((copy / "config.json").read_text())
    del (values["modality_configs"][modality] if modality else values)["sampling_rate"]
    (copy / "config.json").write_text(json.dumps(values))
    return copy


def test_a_config_json_without_sampling_rate_is_refused_by_the_config_loaders(encoder, tmp_path):
    copy = _without_sampling_rate(encoder, tmp_path)
    for loader in (CiTrusConfig.from_pretrained, AutoConfig.from_pretrained):
        with pytest.raises(ValueError, match=r"config.json has no \['sampling_rate'\], which `save_pretrained`"):
            loader(copy)
    assert CiTrusConfig.from_pretrained(copy, sampling_rate=250).sampling_rate == 250.0  # stated as a keyword
    assert CiTrusConfig.from_dict({"d_model": 32}).sampling_rate == 100.0  # settings written by hand take defaults


def test_a_fusion_sub_config_without_sampling_rate_is_refused(fusion, tmp_path):
    copy = _without_sampling_rate(fusion, tmp_path, modality="ecg")
    message = r"config.json has no \['sampling_rate'\] \(modality 'ecg'\)"
    for loader in (CiTrusFusionConfig.from_pretrained, AutoConfig.from_pretrained):
        with pytest.raises(ValueError, match=message):
            loader(copy)
    with pytest.raises(ValueError, match=message):
        CiTrusFusionForSequenceClassification.from_pretrained(copy)
    given = CiTrusFusionConfig.from_pretrained(copy, modality_configs={"ecg": {"sampling_rate": 250}})
    assert given.modality_configs["ecg"].sampling_rate == 250.0


@pytest.mark.parametrize("setting", [{"sampling_rate": 250}, {"sample_rate": 250}, {"d_model": 32}])
def test_an_encoder_setting_given_to_the_fusion_config_as_a_whole_is_refused(setting):
    """A fusion config kept `sample_rate=250` as an extra attribute: the encoders kept their own rates, silently."""
    from tiny_configs import TINY

    modalities = {"ecg": CiTrusConfig(**TINY), "eda": CiTrusConfig(**TINY)}
    with pytest.raises(ValueError, match="setting of each modality's encoder"):
        CiTrusFusionConfig(modality_configs=modalities, num_labels=2, **setting)
    with pytest.raises(ValueError, match="setting of each modality's encoder"):
        CiTrusFusionConfig.from_dict(CiTrusFusionConfig(modality_configs=modalities, num_labels=2).to_dict(), **setting)
    assert CiTrusFusionConfig(modality_configs=modalities, num_labels=2, my_note="kept").my_note == "kept"
