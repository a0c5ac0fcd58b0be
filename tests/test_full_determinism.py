"""`--full-determinism` (transformers' `TrainingArguments(full_determinism=True)` habit) for `citrus finetune` and
`citrus pretrain`: the run switches on deterministic algorithms (what GPU runs need to repeat bit for bit; a CPU run
repeats without it) and gives the weights of a run without the switch. Each run is a fresh Python, since the switch
is process-wide."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from safetensors.torch import load_file

SCRIPT = """
import sys, torch
from citrus_hf.commands.main import main
code = main(sys.argv[1:])
print("deterministic", torch.are_deterministic_algorithms_enabled())
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


def _run(command: list[str], output_dir, *extra: str) -> bool:
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), *command, "--output-dir", str(output_dir), *extra],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout.strip().splitlines()[-1] == "deterministic True"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_full_determinism_switches_on_deterministic_algorithms_and_keeps_the_weights(command, tmp_path):
    assert _run(COMMANDS[command], tmp_path / "switched", "--full-determinism")
    assert not _run(COMMANDS[command], tmp_path / "plain")
    switched = load_file(tmp_path / "switched" / "model.safetensors")
    plain = load_file(tmp_path / "plain" / "model.safetensors")
    assert switched.keys() == plain.keys()
    assert all((switched[name] == plain[name]).all() for name in plain)
