"""The benchmarks run end to end on a tiny setting (their figures come from full runs, never from tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from citrus_hf.inference.backends import onnx_export_available

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(script: str, *args: str, tmp_path: Path) -> dict:
    output = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args, "--json", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(output.read_text())


def test_speed_benchmark_compares_with_patchtst(tmp_path):
    results = _run(
        "speed.py",
        *("--batch-size", "2", "--rounds", "1", "--steps-per-round", "1", "--night-windows", "3"),
        *("--onnx-cache-dir", str(tmp_path / "onnx")),
        tmp_path=tmp_path,
    )
    for mode in ("train", "inference"):
        for model in ("citrus", "patchtst"):
            row = results[f"{mode}/{model}"]
            assert row["windows_per_s"] > 0 and row["params"] > 0 and row["peak_mb"] is not None
            assert 0 < row["attention_share"] < 1
        ratio = results[f"{mode}/citrus"]["windows_per_s"] / results[f"{mode}/patchtst"]["windows_per_s"]
        assert results[f"{mode}/ratio"] == pytest.approx(ratio)
    assert results["inference/ceiling"] == pytest.approx(1 / results["inference/patchtst"]["attention_share"])
    # every CiTrus inference path against PatchTST in fp32 and bf16, at the batch size and at batch 1
    backends = ["torch", "bf16"] + (["onnxruntime"] if onnx_export_available() is None else [])
    assert list(results["inference"]) == ["batch2", "batch1"]
    for batch in results["inference"].values():
        speeds = batch["windows_per_s"]
        assert set(speeds) == {f"citrus-{name}" for name in backends} | {"patchtst-fp32", "patchtst-bf16"}
        assert all(speed > 0 for speed in speeds.values())
        best = max(speeds["patchtst-fp32"], speeds["patchtst-bf16"])
        for name in backends:
            ratios = batch["ratios"][name]
            assert ratios["vs_patchtst_fp32"] == pytest.approx(speeds[f"citrus-{name}"] / speeds["patchtst-fp32"])
            assert ratios["vs_patchtst_best"] == pytest.approx(speeds[f"citrus-{name}"] / best)
    night = results["night"]
    assert night["windows"] == 3 and set(night["seconds"]) == {*backends, "auto"}
    assert all(seconds > 0 for seconds in night["seconds"].values()) and night["auto_ran"] in backends


def test_criss_cross_benchmark_runs(tmp_path):
    results = _run(
        "criss_cross.py", "--channels", "3", "--seconds", "2", "--rounds", "1", "--no-memory", tmp_path=tmp_path
    )
    for mode in ("train", "inference"):
        for attention in ("criss_cross", "full", "channel_independent"):
            assert results[f"{mode}/{attention}"]["ms_per_step"] > 0
