"""examples/multimodal_fusion.py runs end to end on the quick check its docstring documents, so the example cannot
rot."""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path

from test_examples_training import run_example_in_process

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "multimodal_fusion.py"


def quick_check_arguments() -> list[str]:
    """The options of the docstring's quick check (its line with --pretrain-steps), without --output-dir."""
    docstring = ast.get_docstring(ast.parse(EXAMPLE.read_text()))
    (line,) = re.findall(r"^ +python examples/multimodal_fusion\.py (.*--pretrain-steps.*)$", docstring, re.M)
    arguments = shlex.split(line, comments=True)
    at = arguments.index("--output-dir")
    return arguments[:at] + arguments[at + 2 :]


def test_multimodal_fusion_example_runs(tmp_path, monkeypatch, capsys):
    output = tmp_path / "run"
    args = ["--output-dir", str(output), *quick_check_arguments()]
    assert args[2:] == ["--pretrain-steps", "2", "--budgets", "4", "--seeds", "0", "--epochs", "1"]
    # in this process, as `python examples/multimodal_fusion.py` runs it (a fresh Python spent 4-5 s importing)
    run_example_in_process(monkeypatch, capsys, EXAMPLE.name, *args, cwd=tmp_path)
    written = sorted(p.name for p in output.iterdir())
    assert any(name.startswith("encoder_") for name in written), written
    results = [p for p in output.rglob("*.json") if "result" in p.name]
    assert results, written
    assert json.loads(results[0].read_text())
