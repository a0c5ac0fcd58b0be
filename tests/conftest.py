"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os

import pytest
import torch
from tiny_configs import tiny_config


@pytest.fixture
def make_tiny_config():
    return tiny_config


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope="session")
def _onnx_cache(tmp_path_factory):
    """ONNX exports of the inference backends (pipelines default to ONNX Runtime when it is installed) go to a folder
    of this session, in this process and the subprocesses it starts, never to the user's cache."""
    os.environ["CITRUS_HF_ONNX_CACHE"] = str(tmp_path_factory.mktemp("onnx"))


# The suite's models are tiny: a second thread only adds synchronisation, and tests that start subprocesses
# (accelerate, remote code, Hub clients) would otherwise oversubscribe the two cores CI has.
torch.set_num_threads(1)
