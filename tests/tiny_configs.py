"""Tiny CiTrus configurations shared by the test modules (a module of its own: `conftest` names are ambiguous
between test folders, so tests import from here)."""

from __future__ import annotations

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
