"""`--full-determinism` (transformers' `TrainingArguments(full_determinism=True)` habit) for `citrus finetune` and
`citrus pretrain`: the run switches on deterministic algorithms (what GPU runs need to repeat bit for bit; a CPU run
repeats without it) and gives the weights of a run without the switch. The runs are in a process of their own, since
the switch is process-wide: the plain runs of both commands first, which must leave it off, then the switched ones, in
the same process (one process and one import of torch for the four runs: one per command spent another 5 s, 15 s under
a loaded suite), a client forked from the tests' fork server (`hub_server.run_client`), which has torch imported with
the switch off, as a fresh Python has it."""

from __future__ import annotations

import json
import os
import textwrap

from hub_server import run_client
from safetensors.torch import load_file

SCRIPT = """
import json, sys, torch
from citrus_hf.commands.main import main
runs = json.loads(sys.argv[1])  # [command, output folder, switched?]: every plain run before any switched one
for command, output_dir, switched in runs:
    torch.use_deterministic_algorithms(False)  # a switched run must switch it on itself, not find it on
    code = main([*command, "--output-dir", output_dir, *(["--full-determinism"] if switched else [])])
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


def _run_plain_then_switched(folder) -> dict[str, list[bool]]:
    """Every command of `COMMANDS` into `folder / command / "plain"`, then each again with `--full-determinism`
    into `... / "switched"`, in one fresh Python; per command, whether deterministic algorithms were on after its
    plain run and after its switched one (`run_client` raises with the client's output where a run failed)."""
    runs = [
        (command, str(folder / name / kind), kind == "switched")
        for kind in ("plain", "switched")
        for name, command in sorted(COMMANDS.items())
    ]
    completed = run_client(textwrap.dedent(SCRIPT), dict(os.environ), cwd=folder, args=[json.dumps(runs)], timeout=600)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("deterministic ")]
    assert len(lines) == len(runs), completed.stdout[-3000:]
    on = [line == "deterministic True" for line in lines]
    names = sorted(COMMANDS)
    return {name: [on[index], on[len(names) + index]] for index, name in enumerate(names)}


def test_full_determinism_switches_on_deterministic_algorithms_and_keeps_the_weights(tmp_path):
    for command, (plain_on, switched_on) in _run_plain_then_switched(tmp_path).items():
        assert switched_on, command
        assert not plain_on, command
        switched = load_file(tmp_path / command / "switched" / "model.safetensors")
        plain = load_file(tmp_path / command / "plain" / "model.safetensors")
        assert switched.keys() == plain.keys(), command
        assert all((switched[name] == plain[name]).all() for name in plain), command
