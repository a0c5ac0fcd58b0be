"""The inference example runs end to end (`--tiny`) on the real offline corpus (fetch it first with
`citrus data fetch --offline-corpus`)."""

from __future__ import annotations

import re

from test_examples_training import run_example

from citrus_hf.inference.backends import onnx_export_available


def test_pipeline_inference_example(tmp_path):
    output = run_example("pipeline_inference.py", "--tiny", "--onnx-cache-dir", str(tmp_path / "onnx"), cwd=tmp_path)
    assert "pipeline(model=...) chose the task 'time-series-classification'" in output
    assert re.search(r"28 whole recordings of the subjects the model never saw \(watch-\d\d, watch-\d\d\)", output)
    accuracy = float(re.search(r"Recording accuracy: ([0-9.]+)", output).group(1))
    assert 0.0 <= accuracy <= 1.0
    rows = dict(re.findall(r"^  (torch|bf16|onnxruntime|auto) +(\w+ +\d+ +[0-9.]+ +[0-9.e+-]+)", output, re.M))
    expected = {"torch", "bf16", "auto"} | ({"onnxruntime"} if onnx_export_available() is None else set())
    assert set(rows) == expected
    for row in rows.values():
        ran, windows, same, difference = row.split()
        assert int(windows) == int(rows["torch"].split()[1]) > 200
        assert float(same) >= 0.95  # a briefly trained tiny model: a near tie may flip in bf16, nothing more
        assert float(difference) < (1e-4 if ran in ("torch", "onnxruntime") else 5e-2)
    assert re.search(r"Embedding of one recording: 192 values \(mean of \d+ window embeddings", output)
