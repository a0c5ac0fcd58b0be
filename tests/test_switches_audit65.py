"""True / False arguments of the Python API refuse text and numbers: "no" or "false" from a hand-written settings
dict or `os.environ` is truthy, and was read as True (a private model published in the open, a served adapter left
trainable, a download the caller meant to keep off)."""

from __future__ import annotations

import pytest
from tiny_configs import tiny_config


def test_fusion_condition_refuses_text_for_its_switches():
    from citrus_hf.evaluation.multimodal import Condition

    with pytest.raises(TypeError, match="`pretrained` must be True or False"):
        Condition(name="scratch", modalities=("ecg",), pretrained="no")
    with pytest.raises(TypeError, match="`freeze_encoders` must be True or False"):
        Condition(name="probe", modalities=("ecg",), freeze_encoders="false")
    assert Condition(name="probe", modalities=("ecg",), freeze_encoders=True).freeze_encoders is True


def test_fusion_protocol_refuses_text_for_progress():
    from citrus_hf.evaluation.multimodal import run_fusion_protocol

    with pytest.raises(TypeError, match="`progress` must be True or False"):
        run_fusion_protocol(None, {}, [], lambda condition: None, progress="no")


def test_load_adapter_refuses_text_for_is_trainable(tmp_path):
    from citrus_hf.training.lora import load_adapter

    with pytest.raises(TypeError, match="`is_trainable` must be True or False"):
        load_adapter(None, tmp_path, is_trainable="no")


def test_build_dataset_refuses_text_for_download():
    from citrus_hf.data.builders import build_dataset

    with pytest.raises(TypeError, match="`download` must be True or False"):
        build_dataset("eeg_blink", download="no")


def test_download_url_refuses_text_for_progress(tmp_path):
    from citrus_hf.data.fetch import download_url

    with pytest.raises(TypeError, match="`progress` must be True or False"):
        download_url("http://127.0.0.1:9/file", tmp_path / "file", progress="no")


@pytest.mark.parametrize("switch", [{"private": "no"}, {"create_pr": "false"}, {"private": 0}])
def test_model_push_refuses_text_for_private_and_create_pr(switch):
    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.publishing.push import push_to_hub

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    # refused before any request: no Hub runs at this endpoint
    with pytest.raises(TypeError, match=f"`{next(iter(switch))}` must be True or False"):
        push_to_hub(model, "someone/model", **switch)


def test_dataset_publish_refuses_text_for_private():
    from datasets import Dataset, DatasetDict

    from citrus_hf.publishing.datasets import publish

    dataset_dict = DatasetDict({"train": Dataset.from_dict({"x": [1]})})
    with pytest.raises(TypeError, match="`private` must be True or False"):
        publish(dataset_dict, "eeg_blink", push_to_hub="someone/set", private="no")
