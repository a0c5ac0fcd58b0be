"""Audit 63 (loading keywords): `id2label=` beside a `num_labels=` that disagrees, a checkpoint's extractor loaded
with another `sampling_rate`, a list of class names assigned to `config.id2label`, `config=` given with field
overrides or as a dict, and the extractor's `padding_side`."""

from __future__ import annotations

import pytest
import torch
from tiny_configs import save_tiny_classifier, tiny_config

from citrus_hf import (
    CiTrusConfig,
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
