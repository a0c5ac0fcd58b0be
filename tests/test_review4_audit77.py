"""Review of session 77's suite-time changes (review4): `benchmarks/speed.py --tiny` measured its memory column on the
paper configuration, since the peak-memory step runs in a fresh process, which reads PAPER as the file defines it."""

from __future__ import annotations

import argparse

import torch
from test_benchmarks import _benchmark_module


def test_speed_tiny_measures_the_peak_memory_of_the_tiny_model(monkeypatch):
    """`speed.py --tiny` without `--no-memory` reported the paper configuration's peak memory beside the tiny model's
    speeds: `_row` ran `_measure_memory` in a fresh process without saying `--tiny`. Here `_row`'s fresh-process call is
    recorded and then run in this process (on a copy of PAPER, as a fresh process would start from it)."""
    speed = _benchmark_module("speed")
    monkeypatch.setattr(speed, "PAPER", dict(speed.PAPER))  # `--tiny` updates PAPER in place
    calls = []
    monkeypatch.setattr(speed, "in_fresh_process", lambda script, function, *args, **kwargs: calls.append(args) or 1.0)
    monkeypatch.setattr(speed, "attention_share", lambda *args, **kwargs: None)
    options = dict(no_memory=False, device="cpu", dtype="fp32", backbone="hybrid", tiny=True, steps_per_round=1)
    speed._row(argparse.Namespace(**options), "citrus", "train", torch.nn.Linear(1, 1), None, None, 1.0, 2)
    lengths = []
    monkeypatch.setattr(speed, "step_peak_memory_mb", lambda step, batch, device: lengths.append(batch.shape[-1]))
    (arguments,) = calls
    speed._measure_memory(*arguments)
    assert lengths == [speed.TINY["context_length"]]


def test_speed_sizes_are_set_afresh_by_each_run(monkeypatch):
    """`main(["--tiny", ...])` and then `main([...])` in one process (a notebook, a test runner) measured the tiny model
    the second time too: `--tiny` updated PAPER in place for good (found by the session's last read)."""
    speed = _benchmark_module("speed")
    monkeypatch.setattr(speed, "PAPER", dict(speed.PAPER))
    paper = dict(speed.PAPER)
    speed._use_sizes(True)
    assert speed.PAPER == {**paper, **speed.TINY}
    speed._use_sizes(False)
    assert speed.PAPER == paper
