"""The tiny CiTrus configuration of the test modules (a module of its own: `conftest` names are ambiguous between test
folders, so tests import from here)."""

from __future__ import annotations

from citrus_hf import CiTrusConfig
from citrus_hf.configuration_citrus import MODEL_PRESETS

# The "tiny" preset (a few thousand parameters) at the input the model tests feed it: 200 samples, 2 s at 100 Hz, in
# 10 patches of 20.
TINY = {**MODEL_PRESETS["tiny"], "sampling_rate": 100.0, "context_length": 200, "patch_length": 20}


def tiny_config(**overrides) -> CiTrusConfig:
    """The tiny preset with `overrides`: 200 samples, 10 patches of 20, one layer of width 16."""
    return CiTrusConfig(**{**TINY, **overrides})
