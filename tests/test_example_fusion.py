"""examples/multimodal_fusion.py runs end to end on its smallest setting, so the example cannot rot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "multimodal_fusion.py"


def test_multimodal_fusion_example_runs(tmp_path):
    args = ["--output-dir", str(tmp_path), "--pretrain-steps", "2", "--budgets", "4", "--seeds", "0", "--epochs", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    written = sorted(p.name for p in tmp_path.iterdir())
    assert any(name.startswith("encoder_") for name in written), written
    results = [p for p in tmp_path.rglob("*.json") if "result" in p.name]
    assert results, written
    assert json.loads(results[0].read_text())
