"""Session 66: leftovers of earlier audits mended (each noticed and left alone in an earlier closing note)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusConfig
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig


@pytest.mark.parametrize(
    "value, stored",
    [
        (np.array([0.5, 1.5], dtype=np.float32), [0.5, 1.5]),
        (np.arange(4).reshape(2, 2), [[0, 1], [2, 3]]),
        (torch.tensor([2.0, 3.0]), [2.0, 3.0]),
        ({"means": np.array([1.0])}, {"means": [1.0]}),
    ],
    ids=["numpy vector", "numpy matrix", "torch tensor", "array inside a dict"],
)
def test_an_array_set_on_a_config_is_kept_as_a_list_and_saves(value, stored, tmp_path):
    """`config.channel_means = x.mean(axis=1)` was kept as an array, and `save_pretrained` refused it much later."""
    for config in (tiny_config(), CiTrusFusionConfig(modality_configs={"ecg": tiny_config()})):
        config.user_statistics = value
        assert config.user_statistics == stored and type(config.user_statistics) is type(stored)
        config.save_pretrained(tmp_path / type(config).__name__)
        assert type(config).from_pretrained(tmp_path / type(config).__name__).user_statistics == stored


def test_a_channel_count_given_as_an_array_item_is_an_int():
    assert type(CiTrusConfig(num_channels=np.array([3])[0]).num_channels) is int


@pytest.mark.parametrize(
    "subjects, counted",
    [(["s1", None, "s2", None], 2), ([None, None], None), (["s1", None, "s1"], 1), (["unknown", None], None)],
)
def test_data_info_counts_no_missing_subject_as_one(subjects, counted):
    """A set of your own with some subjects missing (None; pandas' NaN is None in Arrow) counted "None" as one more
    subject, which the validation carve does not do (it carves those windows by recording)."""
    from datasets import Dataset, DatasetDict

    from citrus_hf.data.builders import summarize_dataset

    rows = {"input_values": [[[0.0, 1.0]]] * len(subjects), "subject": subjects}
    summary = summarize_dataset(DatasetDict(train=Dataset.from_dict(rows)), sampling_rate=2.0)
    assert summary["splits"]["train"]["subjects"] == counted
