"""Runs under a launcher (`accelerate launch`, torchrun, mpirun): how many processes it started, and the check that
Accelerate really joined them into one data-parallel group.

Every command that trains (`citrus pretrain`, `citrus finetune`) runs the same code in each launched process; a
launch whose processes Accelerate runs each alone would have them all train the same batches and write the same
folder at once, so it is refused before any work.
"""

from __future__ import annotations

import os

from transformers.utils import logging

logger = logging.get_logger(__name__)

# The process count of a launch, as Accelerate reads it (torchrun, then MPI's launchers).
LAUNCH_SIZES = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
# Set by every `accelerate launch` (its --mixed_precision or its config file's).
LAUNCH_PRECISION = "ACCELERATE_MIXED_PRECISION"


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
