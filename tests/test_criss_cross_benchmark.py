"""benchmarks/criss_cross.py's full-attention reference is configured for the sequence it runs (the channels end to
end), so it never triggers the package's own long-input warning (examples audit finding 18)."""

from __future__ import annotations

import logging

import torch
from test_benchmarks import _benchmark_module


def test_the_full_attention_reference_runs_without_the_long_input_warning(caplog):
    criss_cross = _benchmark_module("criss_cross")
    reference = criss_cross.build("full", 3, 200, "sdpa").eval()
    assert reference.citrus.config.context_length == 3 * 200
    logging.Logger.warning_once.cache_clear()  # transformers' warning_once is once per process
    with caplog.at_level("WARNING"), torch.inference_mode():
        tokens = reference(torch.randn(1, 3, 200))
    assert tokens.shape[2] == 3 * 200 // criss_cross.MODEL["patch_length"]
    assert "context of" not in caplog.text, caplog.text
