"""A fusion config takes its class names as the single-modality config does (`configuration_citrus`'s
`class_label_keywords`, `settle_class_labels`, `set_class_names`): a list of names, `label2id` alone, a later
assignment of a list, and a `num_labels` that disagrees refused."""

from __future__ import annotations

import pytest
from tiny_configs import tiny_config

from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig


def _modalities() -> dict:
    return {"ecg": tiny_config(), "eda": tiny_config()}


def test_a_list_of_class_names_is_the_map_of_their_ids() -> None:
    config = CiTrusFusionConfig(modality_configs=_modalities(), id2label=["rest", "walk", "run"])
    assert config.id2label == {0: "rest", 1: "walk", 2: "run"}
    assert config.num_labels == 3


def test_label2id_alone_names_the_classes() -> None:
    config = CiTrusFusionConfig(modality_configs=_modalities(), label2id={"a": 0, "b": 1})
    assert config.id2label == {0: "a", 1: "b"}


def test_a_list_assigned_later_renames_both_maps(tmp_path) -> None:
    config = CiTrusFusionConfig(modality_configs=_modalities(), label2id={"a": 0, "b": 1})
    config.id2label = ["x", "y"]
    assert (config.id2label, config.label2id) == ({0: "x", 1: "y"}, {"x": 0, "y": 1})
    config.save_pretrained(tmp_path)
    assert CiTrusFusionConfig.from_pretrained(tmp_path).id2label == {0: "x", 1: "y"}
    assert CiTrusFusionConfig.from_pretrained(tmp_path, id2label=["p", "q"]).label2id == {"p": 0, "q": 1}
    with pytest.raises(TypeError, match="list of class names"):
        config.id2label = "xy"


def test_num_labels_that_disagrees_with_the_names_is_refused() -> None:
    with pytest.raises(ValueError, match="disagrees with `id2label`"):
        CiTrusFusionConfig(modality_configs=_modalities(), id2label=["a", "b"], num_labels=3)
