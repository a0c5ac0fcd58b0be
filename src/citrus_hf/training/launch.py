"""Runs under a launcher (`accelerate launch`, torchrun, mpirun): how many processes it started, and the check that
Accelerate really joined them into one data-parallel group.

Every command that trains (`citrus pretrain`, `citrus finetune`) runs the same code in each launched process; a
launch whose processes Accelerate runs each alone would have them all train the same batches and write the same
folder at once, so it is refused before any work.
"""

from __future__ import annotations

import contextlib
import logging as std_logging
import os
from collections.abc import Iterator

from transformers.utils import logging

from ..vocabulary_citrus import MIXED_PRECISIONS

logger = logging.get_logger(__name__)

# The process count of a launch, as Accelerate reads it (torchrun, then MPI's launchers).
LAUNCH_SIZES = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
# Set by every `accelerate launch` (its --mixed_precision or its config file's).
LAUNCH_PRECISION = "ACCELERATE_MIXED_PRECISION"
# Set by `accelerate launch` with DeepSpeed (its --gradient_accumulation_steps), or left in a shell: Accelerate
# reads it whatever its Accelerator is given, unless given a plugin (`pretrain._accelerator`).
LAUNCH_ACCUMULATION = "ACCELERATE_GRADIENT_ACCUMULATION_STEPS"


def launched_precision() -> str | None:
    """The mixed precision Accelerate hands this process (`LAUNCH_PRECISION`: `accelerate launch --mixed_precision`,
    its config file, or the variable exported), lower-cased; None when it is not set."""
    return os.environ.get(LAUNCH_PRECISION, "").strip().lower() or None


def resolve_mixed_precision(given: str | None) -> str:
    """The mixed precision a run trains with: `given` (`--mixed-precision`) when set, else Accelerate's
    (`launched_precision`), else "no". Refuses a launch precision no training command runs (fp8, a typo), which
    transformers' `Trainer` would otherwise hand on to Accelerate as it is."""
    if given is not None:
        return given
    launched = launched_precision() or "no"
    if launched not in MIXED_PRECISIONS:
        raise ValueError(
            f"{LAUNCH_PRECISION}={launched!r} (accelerate launch --mixed_precision or its config file) is not a "
            f"precision this command trains in ({', '.join(MIXED_PRECISIONS)}): pass --mixed-precision, or launch "
            "with one of those."
        )
    return launched


def precision_that_runs(precision: str, device_type: str) -> str:
    """The precision a run asked to train in `precision` (`resolve_mixed_precision`) trains in on `device_type`, what
    its records say: fp16 runs in fp32 ("no") on a CPU, where neither Accelerate nor the `Trainer` autocasts it
    (`device_precision_notes` says so); a run asked for fp16 there was recorded as an fp16 run."""
    return "no" if precision == "fp16" and device_type == "cpu" else precision


def mixed_precision_notes(given: str | None, resolved: str, device_type: str) -> list[str]:
    """What a run should be told about its mixed precision (sentences without their full stop), the same for every
    training command: `given` (`--mixed-precision`, None when left out) overriding another launch precision
    (`precision_override_notes`), and what the precision costs on `device_type` (`device_precision_notes`).

    Args:
        given: the `--mixed-precision` given, or None (the launch's).
        resolved: the precision the run trains with (`resolve_mixed_precision`, or its Accelerator's).
        device_type: where it trains ("cpu", "cuda", ...).
    """
    return precision_override_notes(given) + device_precision_notes(resolved, device_type, from_launch=given is None)


def precision_override_notes(given: str | None) -> list[str]:
    """The note that `given` (`--mixed-precision`) wins over another precision the launch asked for, if it does."""
    launched = launched_precision()
    if given is not None and launched not in (None, "no", given):
        return [
            f"--mixed-precision {given} wins over Accelerate's {launched} ({LAUNCH_PRECISION}: accelerate launch "
            "--mixed_precision or its config file); leave --mixed-precision out to take Accelerate's"
        ]
    return []


def ignored_accumulation_notes() -> list[str]:
    """The note that a launch's gradient accumulation (`LAUNCH_ACCUMULATION` above 1: DeepSpeed configs set it) is
    not done by the fine-tuning `Trainer`, which gives Accelerate its own plugin of one batch per optimizer step (the
    commands that fine-tune have no accumulation option), so that it is not silently ignored."""
    text = os.environ.get(LAUNCH_ACCUMULATION, "").strip()
    if not text or (text.isdigit() and int(text) == 1):
        return []
    return [
        f"{LAUNCH_ACCUMULATION}={text} is ignored: fine-tuning takes one optimizer step per batch (it has no gradient "
        "accumulation), and its global batch is --per-device-batch-size x processes; raise --per-device-batch-size "
        "for a larger one"
    ]


def device_precision_notes(resolved: str, device_type: str, from_launch: bool = False) -> list[str]:
    """What training in `resolved` precision costs on `device_type`: fp16 that a CPU runs in fp32, and bf16 that
    trains about ten times slower on a CPU. Said where training starts: a run whose recipe trains nothing (the
    frozen-encoder probe) is not told that it trains slowly. `from_launch`: the precision is the launch's
    (`LAUNCH_PRECISION`), not a --mixed-precision given, so the note names that and the fix that works (leaving
    --mixed-precision out, which the user has done, changes nothing)."""
    if device_type != "cpu" or resolved not in ("fp16", "bf16"):
        return []
    if from_launch:
        source = f"{LAUNCH_PRECISION}={resolved} (accelerate launch --mixed_precision or its config file)"
        fix = "pass --mixed-precision no, or launch with --mixed_precision no"
    else:
        source, fix = f"--mixed-precision {resolved}", "leave --mixed-precision out, or pass no"
    if resolved == "fp16":
        # (bf16, which a CPU runs, trains slower there: the note below; so bf16 is not offered instead)
        return [f"{source} runs in fp32 on a CPU (fp16 needs a GPU); {fix}"]
    # Measured: a citrus-small training step (batch 32, one thread, alternating rounds) took 12.6x as long under bf16
    # autocast as in fp32 on an AVX512-BF16 CPU, where bf16 inference is 1.2x faster
    return [
        f"Mixed precision {resolved} on the CPU trains about ten times slower than fp32 (its backward kernels are slow "
        f"there; it pays on GPUs){' with ' + source if from_launch else ''}: {fix}"
    ]


@contextlib.contextmanager
def main_process_speaks(speaks: bool) -> Iterator[None]:
    """Under a launcher, the package's warnings from the main process alone (`speaks`): the others meet the same
    corpus, draws, notices and settings, and said each of them again (a folder's unread files, twice under two
    processes); while the block runs they log errors alone."""
    if speaks:
        yield
        return
    package_logger = std_logging.getLogger(__name__.split(".")[0])
    level = package_logger.level
    package_logger.setLevel(std_logging.ERROR)
    try:
        yield
    finally:
        package_logger.setLevel(level)


def cpu_launch(command: str, processes: int | str = "N") -> str:
    """The launch line that starts `processes` data-parallel CPU processes of `citrus <command>`: accelerate's `--cpu`
    flag starts several only through mpirun, so it goes through its torchrun launcher with ACCELERATE_USE_CPU=1."""
    return (
        f"ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes {processes} -m citrus_hf.commands "
        f"{command} ..."
    )


def launched_processes() -> tuple[str, int] | None:
    """The environment variable naming the launch's process count and that count, or None outside a launcher."""
    variable = next((name for name in LAUNCH_SIZES if os.environ.get(name, "").isdigit()), None)
    return (variable, int(os.environ[variable])) if variable else None


def process_state():
    """Accelerate's `PartialState` of this process, built (joining a launch's process group) as an `Accelerator`
    would build it: on the CPU when the launch sets ACCELERATE_USE_CPU, which `PartialState` alone does not read."""
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    return PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU"))


def data_parallel_processes() -> int:
    """The data-parallel processes this one trains among: 1 outside a launcher, else Accelerate's count of its launch
    (each optimizer step of the `Trainer` then takes a per-device batch from each of them)."""
    launch = launched_processes()
    return 1 if launch is None or launch[1] < 2 else process_state().num_processes


def is_main_process() -> bool:
    """Whether this process is the main one of its launch (True outside a launcher)."""
    return launched_processes() is None or process_state().is_main_process


def check_launched_processes(command: str, num_processes: int, is_main_process: bool) -> None:
    """Refuse a launch of several processes that Accelerate runs each alone (`accelerate launch --multi_gpu` on a
    machine without GPUs: torchrun starts them, but each finds no GPU and runs as the only, main process), which
    would all train the same batches and write the same folder at once; say when a launch asked for several processes
    but started one (its simple launcher: `--num_processes N` without `--multi_gpu`, or `--cpu` without mpirun).

    Args:
        command: the `citrus` command running (`"pretrain"`, `"finetune"`), for the launch line in the messages.
        num_processes, is_main_process: what Accelerate's state (`PartialState`) made of the launch.
    """
    import torch

    launch = launched_processes()
    if launch is not None and launch[1] > num_processes:
        variable, launched = launch
        reason = "no GPU for --multi_gpu" if not torch.cuda.is_available() else "it set up no data parallelism"
        raise ValueError(
            f"The launcher started {launched} processes ({variable}={launched}) but Accelerate runs each of them alone "
            f"({reason}): they would all train the same batches and write the same --output-dir. On CPUs launch with "
            f"`{cpu_launch(command, launched)}` (see the README)."
        )
    if (
        launch is None
        and num_processes == 1
        and "MASTER_ADDR" in os.environ  # set by `accelerate launch` when more than one process was asked for
        and LAUNCH_PRECISION in os.environ
        and is_main_process
    ):
        logger.warning(
            "accelerate launch asked for several processes but started one: on a machine with fewer than 2 GPUs, "
            f"`--num_processes N` alone or with --cpu runs a single process. For N data-parallel processes on CPUs use "
            f"`{cpu_launch(command)}`."
        )
