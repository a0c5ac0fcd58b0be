"""Measurement helpers shared by the benchmarks: alternating median timing and per-step peak memory.

The machines these run on are noisy, so competitors are timed in alternation, round after round, and compared by the
median over rounds. Peak memory is taken in a fresh process per case so that nothing else (imports, other cases)
shares the peak.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

Step = Callable[[torch.Tensor], None]


def check_device(parser: argparse.ArgumentParser, device: str, advice: str = "give --device cpu") -> None:
    """Refuse, through `parser` (argparse's usage line and exit code 2), a `--device` this machine cannot run on: a
    name torch does not know, or a CUDA device where torch sees none or fewer; `advice` says what to give instead.
    Torch's own error came from the first tensor moved there, under a traceback ("Torch not compiled with CUDA
    enabled")."""
    try:
        where = torch.device(device)
    except RuntimeError:
        parser.error(f"argument --device: {device!r} is not a torch device (cpu, cuda, cuda:1, ...)")
    if where.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            parser.error(f"argument --device: no CUDA device here; {advice}")
        if where.index is not None and where.index >= count:
            parser.error(f"argument --device: {device} asked, but torch sees {count} CUDA device(s) here")


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_rounds(
    jobs: dict[str, Callable[[], object]],
    rounds: int,
    finish: Callable[[], None] = lambda: None,
    warm_up: bool = True,
) -> dict[str, list[float]]:
    """Seconds of every round of every named job, the jobs timed in alternation: one call each per round, the order
    flipped every round so that neither always runs right after the other. Per-round times, not their median, so that
    callers can also compare jobs round by round (a ratio of the same rounds).

    `warm_up` calls every job once first (allocator, kernels, lazy initialisation). `finish` waits for work still
    queued on a device before a round's clock stops (see `synchronize`); device-free jobs leave it out.
    """
    names = list(jobs)
    if warm_up:
        for name in names:
            jobs[name]()
        finish()
    per_round: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        for name in names if round_index % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            jobs[name]()
            finish()
            per_round[name].append(time.perf_counter() - start)
    return per_round


def time_alternating(
    steps: dict[str, Step], batches: Sequence[torch.Tensor], device: str, rounds: int, steps_per_round: int
) -> dict[str, float]:
    """Median seconds per step of every named step function, timed in alternation on the same batches
    (`time_rounds`, each round `steps_per_round` steps).

    Each function is warmed up on two batches first (allocator, kernels, lazy initialisation).
    """
    for step in steps.values():
        for batch in batches[:2]:
            step(batch)
    synchronize(device)

    def one_round(step: Step) -> Callable[[], None]:
        def run() -> None:
            for i in range(steps_per_round):
                step(batches[i % len(batches)])

        return run

    per_round = time_rounds(
        {name: one_round(step) for name, step in steps.items()},
        rounds,
        finish=lambda: synchronize(device),
        warm_up=False,
    )
    return {name: statistics.median(times) / steps_per_round for name, times in per_round.items()}


def step_peak_memory_mb(step: Step, batch: torch.Tensor, device: str) -> float:
    """Peak memory (MB) that two steps add to a freshly built model and batch: activations, gradients and optimizer
    state. On CUDA `torch.cuda.max_memory_allocated` growth; on CPU peak-RSS growth, where the process's lifetime
    peak (`ru_maxrss`) may come from the imports, so the kernel's peak-RSS counter (VmHWM) is first reset to the
    current RSS through `/proc/self/clear_refs`. No warm-up step: the allocator would then serve the measured steps
    from memory it already holds, and the growth would read as zero."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step(batch)
        step(batch)
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    base_kb = _status_kb("VmRSS")
    step(batch)
    step(batch)
    return max(0.0, (_status_kb("VmHWM") - base_kb) / 1024)


def in_fresh_process(script: Path, function: str, *args, env: dict[str, str] | None = None) -> Any:
    """Call `function(*args)` of the benchmark `script` in a new Python process and return its JSON result; `env`:
    variables set in that process's environment on top of this one's."""
    code = (
        f"import sys, json; sys.path.insert(0, {str(script.parent)!r});"
        f"from {script.stem} import {function};"
        f"print(json.dumps({function}(*{args!r})))"
    )
    environment = None if env is None else {**os.environ, **env}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment)
    if result.returncode != 0:
        raise RuntimeError(f"{function}{args} failed in its subprocess:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(
        f"/proc/self/status has no {field} line; peak RSS cannot be measured on this system (Linux only)."
    )


def attention_share(step: Step, batch: torch.Tensor, device: str, steps: int = 3) -> float | None:
    """Fraction of a step's operator time spent in scaled-dot-product attention (forward and backward kernels),
    from `torch.profiler` self times over `steps` steps. CPU only (None on other devices): there operator self time
    is wall time, on an accelerator it is only launch time."""
    if not device.startswith("cpu"):
        return None
    from torch.profiler import ProfilerActivity, profile

    step(batch)  # warm-up outside the profile
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(steps):
            step(batch)
    events = profiler.key_averages()
    total = sum(event.self_cpu_time_total for event in events)
    attention = sum(event.self_cpu_time_total for event in events if "scaled_dot_product" in event.key)
    return attention / total if total else None
