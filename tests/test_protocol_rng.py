"""`run_protocol` leaves the caller's global random state as it found it: its runs seed Python's, numpy's and torch's
generators (as the Trainer does), and a script that seeded its own would otherwise draw, afterwards, what the last
run seeded."""

from __future__ import annotations

import random

import numpy as np
import torch

from citrus_hf.evaluation import ProtocolConfig, run_protocol


def _draws() -> tuple:
    return random.random(), float(np.random.random()), float(torch.rand(1))


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def test_run_protocol_keeps_the_callers_random_state(tmp_path):
    _seed(1234)
    expected = _draws()
    _seed(1234)
    config = ProtocolConfig(
        output_dir=str(tmp_path), datasets=["basic_motions"], arms=["citrus-small", "prior"], budgets=["1"],
        seeds=[3], show_progress=False,
    )  # fmt: skip
    runs = run_protocol(config).runs
    assert {run["arm"] for run in runs} == {"citrus-small", "prior"}
    assert _draws() == expected
