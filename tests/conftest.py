"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest
import torch
from tiny_configs import tiny_config


@pytest.fixture
def make_tiny_config():
    return tiny_config


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# The suite's models are tiny: a second thread only adds synchronisation, and tests that start subprocesses
# (accelerate, remote code, Hub clients) would otherwise oversubscribe the two cores CI has.
torch.set_num_threads(1)
