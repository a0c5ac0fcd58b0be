"""Audit 63 (loading keywords): `id2label=` beside a `num_labels=` that disagrees, a checkpoint's extractor loaded
with another `sampling_rate`, a list of class names assigned to `config.id2label`, `config=` given with field
overrides or as a dict, and the extractor's `padding_side`."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from tiny_configs import save_tiny_classifier, tiny_config
from transformers import AutoFeatureExtractor, AutoModelForSequenceClassification, pipeline

from citrus_hf import (
    CiTrusConfig,
    CiTrusFeatureExtractor,
    CiTrusForPretraining,
    CiTrusForSequenceClassification,
)
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig

NAMES = {0: "rest", 1: "walk", 2: "run"}
DISAGREES = r"`num_labels=2` disagrees with `id2label`, which names 3 classes \(\['rest', 'walk', 'run'\]\)"


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("encoder")
    torch.manual_seed(0)
    CiTrusForPretraining(tiny_config()).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A saved 2-class classifier and its extractor (100 Hz)."""
    torch.manual_seed(0)
    return save_tiny_classifier(tmp_path_factory.mktemp("classifier"), 2)


# ------------------------------------------------------------------ id2label= beside a num_labels= that disagrees


@pytest.mark.parametrize("id2label_first", [True, False])
def test_id2label_and_a_disagreeing_num_labels_are_refused_whatever_their_order(encoder, id2label_first):
    """transformers kept whichever keyword it applied last: the names became LABEL_0, LABEL_1 (a 2-wide head) or
    survived (3 wide), without a word. Refused as the same conflict through `label2id=` is."""
    kwargs = {"id2label": NAMES, "num_labels": 2} if id2label_first else {"num_labels": 2, "id2label": NAMES}
    with pytest.raises(ValueError, match=DISAGREES):
        CiTrusForSequenceClassification.from_pretrained(encoder, **kwargs)
    with pytest.raises(ValueError, match=DISAGREES):
        CiTrusConfig(**kwargs)
    with pytest.raises(ValueError, match=DISAGREES):
        CiTrusFusionConfig(modality_configs={"ecg": tiny_config()}, **kwargs)
    agreeing = {**kwargs, "num_labels": 3}
    model = CiTrusForSequenceClassification.from_pretrained(encoder, **agreeing)
    assert model.config.id2label == NAMES and model.classifier.out_features == 3


# ------------------------------------------------------------- the extractor loaded with another sampling_rate


@pytest.mark.parametrize("loader", [AutoFeatureExtractor, CiTrusFeatureExtractor])
def test_loading_the_extractor_at_another_rate_warns_as_the_model_does(classifier, caplog, loader):
    """`from_pretrained(ckpt, sampling_rate=250)` (the audio habit of stating the data's rate) retargeted the extractor
    to 250 Hz windows for a 100 Hz model without a word; it now warns in the model's words, and says where a
    recording's own rate goes."""
    caplog.set_level(logging.WARNING)
    extractor = loader.from_pretrained(classifier, sampling_rate=250)
    assert extractor.sampling_rate == 250  # an override is still allowed
    said = [r.getMessage() for r in caplog.records if "sampling_rate=250" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith("sampling_rate=250 overrides the 100 Hz the checkpoint was trained at:")
    assert "a rate it never saw" in said[0] and "extractor(recording, sampling_rate=250)" in said[0]
    caplog.clear()
    loader.from_pretrained(classifier, sampling_rate=100)
    assert not [r for r in caplog.records if "overrides" in r.getMessage()]


# ------------------------------------------------------------------- a list of class names assigned to id2label


def test_class_names_assigned_as_a_list_become_the_map(classifier, tmp_path):
    """`model.config.id2label = ClassLabel.names` was kept as a list: the pipeline then failed on a bare `dict()`
    error and `save_pretrained` called the names "ids". It is the map, as the constructor makes it."""
    model = CiTrusForSequenceClassification.from_pretrained(classifier)
    model.config.id2label = ["normal", "afib"]
    assert model.config.id2label == {0: "normal", 1: "afib"}
    assert model.config.label2id == {"normal": 0, "afib": 1}
    classify = pipeline(
        "time-series-classification", model=model, feature_extractor=CiTrusFeatureExtractor.from_pretrained(classifier)
    )
    result = classify(np.random.default_rng(0).standard_normal((1, 200)).astype("float32"), sampling_rate=100)
    assert {row["label"] for row in result["labels"]} == {"normal", "afib"}
    model.save_pretrained(tmp_path)
    assert CiTrusConfig.from_pretrained(tmp_path).id2label == {0: "normal", 1: "afib"}


def test_id2label_assigned_a_string_is_refused():
    config = tiny_config()
    with pytest.raises(TypeError, match=r"`id2label` maps class ids to class names .* got str 'abc'"):
        config.id2label = "abc"


# -------------------------------------------------------------- config= with field overrides, or as a dict


def test_config_object_with_field_overrides_names_config_and_the_fix(classifier):
    """transformers passed the field to the model's `__init__`, whose TypeError ("unexpected keyword argument
    'num_labels'") suggested it was no CiTrus setting. Loading options that are config fields too still work."""
    config = CiTrusConfig.from_pretrained(classifier)
    for override in ({"num_labels": 3, "ignore_mismatched_sizes": True}, {"head_dropout": 0.3}):
        field = next(iter(override))
        message = rf"given `config=` and the config field\(s\) \['{field}'\].*config\.{field} = "
        with pytest.raises(ValueError, match=message):
            CiTrusForSequenceClassification.from_pretrained(classifier, config=config, **override)
    model = CiTrusForSequenceClassification.from_pretrained(classifier, config=config, dtype=torch.float64)
    assert model.classifier.weight.dtype == torch.float64
    # the Auto classes pass the config they loaded as `config=`, with the keywords it did not take
    auto = AutoModelForSequenceClassification.from_pretrained(classifier, num_labels=3, ignore_mismatched_sizes=True)
    assert auto.classifier.out_features == 3


def test_config_given_as_a_dict_says_how_to_build_the_config(classifier):
    """It failed inside `os.stat` ("path should be string, ... not dict")."""
    config = json.loads((classifier / "config.json").read_text())
    with pytest.raises(TypeError, match=r"`config=` takes a CiTrusConfig .* got dict: .*CiTrusConfig\.from_dict\(d\)"):
        CiTrusForSequenceClassification.from_pretrained(classifier, config=config)


# -------------------------------------------------------------------------------- the extractor's padding_side


@pytest.mark.parametrize("side", ["left", "middle"])
def test_a_padding_side_other_than_right_is_refused(classifier, side):
    """It was taken, saved and reloaded, then ignored: windows were still padded at their end."""
    message = rf"`padding_side='{side}'` is not supported: CiTrus pads windows at their end .* `patch_mask`"
    with pytest.raises(ValueError, match=message):
        CiTrusFeatureExtractor(padding_side=side)
    with pytest.raises(ValueError, match=message):
        CiTrusFeatureExtractor.from_pretrained(classifier, padding_side=side)
    extractor = CiTrusFeatureExtractor()
    with pytest.raises(ValueError, match=message):
        extractor.padding_side = side
    assert extractor.padding_side == "right"


def test_a_saved_right_padding_side_still_loads_and_a_saved_left_one_is_refused(classifier, tmp_path):
    saved = json.loads((classifier / "preprocessor_config.json").read_text())
    assert saved["padding_side"] == "right"
    assert AutoFeatureExtractor.from_pretrained(classifier).padding_side == "right"
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({**saved, "padding_side": "left"}))
    with pytest.raises(ValueError, match="`padding_side='left'` is not supported"):
        AutoFeatureExtractor.from_pretrained(tmp_path)
