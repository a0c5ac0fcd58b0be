"""examples/multimodal_fusion.py runs end to end on the quick check its docstring documents, so the example cannot
rot."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "multimodal_fusion.py"


def quick_check_arguments() -> list[str]:
    """The options of the docstring's quick check (its line with --pretrain-steps), without --output-dir."""
    docstring = ast.get_docstring(ast.parse(EXAMPLE.read_text()))
    (line,) = re.findall(r"^ +python examples/multimodal_fusion\.py (.*--pretrain-steps.*)$", docstring, re.M)
    arguments = shlex.split(line, comments=True)
    at = arguments.index("--output-dir")
    return arguments[:at] + arguments[at + 2 :]


def test_multimodal_fusion_example_runs(tmp_path):
    args = ["--output-dir", str(tmp_path), *quick_check_arguments()]
    assert args[2:] == ["--pretrain-steps", "2", "--budgets", "4", "--seeds", "0", "--epochs", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    written = sorted(p.name for p in tmp_path.iterdir())
    assert any(name.startswith("encoder_") for name in written), written
    results = [p for p in tmp_path.rglob("*.json") if "result" in p.name]
    assert results, written
    assert json.loads(results[0].read_text())
