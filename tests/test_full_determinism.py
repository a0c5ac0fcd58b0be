"""`--full-determinism` (transformers' `TrainingArguments(full_determinism=True)` habit) for `citrus finetune` and
`citrus pretrain`: the run switches on deterministic algorithms (what GPU runs need to repeat bit for bit; a CPU run
repeats without it) and gives the weights of a run without the switch. The runs are in a fresh Python, since the
switch is process-wide: the plain run first, which must leave it off, then the switched one, in the same process
(one interpreter and one import of torch per command, not two)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from safetensors.torch import load_file

SCRIPT = """
import json, sys, torch
from citrus_hf.commands.main import main
command = json.loads(sys.argv[1])
for output_dir, extra in ((sys.argv[2], []), (sys.argv[3], ["--full-determinism"])):
    code = main([*command, "--output-dir", output_dir, *extra])
    print("deterministic", torch.are_deterministic_algorithms_enabled())
    if code:
        sys.exit(code)
"""

COMMANDS = {
    "finetune": [
        "finetune", "--dataset", "basic_motions", "--model-config", "tiny", "--recipe", "finetune", "--max-steps",
        "2", "--label-budget", "5", "--no-show-progress",
    ],
    "pretrain": [
        "pretrain", "--model-config", "tiny", "--dataset-options", "window_seconds=10", "hop_seconds=10",
        "--max-steps", "2", "--per-device-batch-size", "16", "--report-to", "none", "--no-show-progress",
    ],
}  # fmt: skip


def _run_plain_then_switched(command: list[str], plain, switched) -> list[bool]:
    """`command` into `plain`, then with `--full-determinism` into `switched`, in one fresh Python; whether
    deterministic algorithms were on after each run."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), json.dumps(command), str(plain), str(switched)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = [line for line in completed.stdout.splitlines() if line.startswith("deterministic ")]
    return [line == "deterministic True" for line in lines]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_full_determinism_switches_on_deterministic_algorithms_and_keeps_the_weights(command, tmp_path):
    plain_on, switched_on = _run_plain_then_switched(COMMANDS[command], tmp_path / "plain", tmp_path / "switched")
    assert switched_on
    assert not plain_on
    switched = load_file(tmp_path / "switched" / "model.safetensors")
    plain = load_file(tmp_path / "plain" / "model.safetensors")
    assert switched.keys() == plain.keys()
    assert all((switched[name] == plain[name]).all() for name in plain)
