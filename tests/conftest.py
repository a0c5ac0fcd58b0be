"""Fixtures shared by the whole suite: tiny CiTrus configurations that run in milliseconds on a CPU."""

from __future__ import annotations

import pytest
import torch

from citrus_hf import CiTrusConfig

TINY = dict(
    context_length=200,
    patch_length=20,
    d_model=16,
    num_attention_heads=2,
    num_hidden_layers=1,
    ffn_dim=32,
    cnn_channels=[4, 8, 8],
)


def tiny_config(**overrides) -> CiTrusConfig:
    """A CiTrus config of a few thousand parameters: 200 samples, 10 patches of 20, one layer of width 16."""
    return CiTrusConfig(**{**TINY, **overrides})


@pytest.fixture
def make_tiny_config():
    return tiny_config


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# The suite's models are tiny: a second thread only adds synchronisation, and tests that start subprocesses
# (accelerate, remote code, Hub clients) would otherwise oversubscribe the two cores CI has.
torch.set_num_threads(1)
