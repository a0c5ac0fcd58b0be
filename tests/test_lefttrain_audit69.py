"""Session 69's leftovers on the training side: a pre-training stopped by a refusal under two processes, a pruned head
inside peft's `modules_to_save`, keys a newer citrus-hf wrote, and the one rule of what is not finite."""

from __future__ import annotations

import gc
import importlib
import os
import subprocess
import sys
import weakref

import pytest
import torch

# the one-step pre-training settings of session 67's stability audit
from test_stability_audit67 import _pretrain_arguments

from citrus_hf.training.callbacks import NonFiniteLossError
from citrus_hf.training.pretrain import pretrain

# ------------------------------------------------------------- (a) a refusal ends the training after the run's objects


def test_a_stopped_pretraining_ends_the_training_once_the_run_is_freed(tmp_path, monkeypatch):
    """The success path destroys the process group (`end_training`) once `_pretrain_in_folder`'s frame, with the loop
    and its data stream, is freed (a rank hung in their teardown otherwise, under two CPU processes); a NaN stop
    called it from inside the loop, with every object of the run alive."""
    from accelerate import Accelerator

    pretrain_module = importlib.import_module(
        "citrus_hf.training.pretrain"
    )  # (the package's `pretrain` is the function)
    loops = []
    original_init = pretrain_module.PretrainingLoop.__init__

    def recording_init(self, *args, **kwargs):
        loops.append(weakref.ref(self))
        original_init(self, *args, **kwargs)

    alive_at_end = []
    original_end = Accelerator.end_training

    def recording_end(self):
        alive_at_end.append([loop() is not None for loop in loops])
        original_end(self)

    monkeypatch.setattr(pretrain_module.PretrainingLoop, "__init__", recording_init)
    monkeypatch.setattr(Accelerator, "end_training", recording_end)
    with pytest.raises(NonFiniteLossError, match="optimizer step 1 wrote are not finite"):
        pretrain(
            _pretrain_arguments(
                tmp_path / "run",
                None,
                synthetic_ratio=1.0,
                learning_rate=1e6,
                weight_decay=0.0,  # (synthetic windows)
            )
        )
    gc.collect()
    assert alive_at_end == [[False]]


def test_a_nan_stop_under_two_processes_is_one_line_on_each_and_ends_promptly(tmp_path):
    """`accelerate launch` of `citrus pretrain` with two CPU processes and a learning rate that blows the weights up:
    each process says the stop in one line and exits, with no traceback of its own or torch.distributed's (torchrun's
    report of the failed launch follows)."""
    from test_training import _free_port

    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines",
        "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
        "-m", "citrus_hf.commands", "pretrain", "--output-dir", str(tmp_path / "run"), "--model-config", "tiny",
        "--dataset-options", "window_seconds=10", "hop_seconds=10", "--max-steps", "1", "--per-device-batch-size",
        "8", "--learning-rate", "1e6", "--weight-decay", "0", "--warmup-steps", "0", "--no-show-progress",
    ]  # fmt: skip
    environment = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    assert completed.returncode != 0
    # (counted in the text: the two processes' lines can meet on one line of the shared stderr)
    said = completed.stderr.count("error: The weights optimizer step 1 wrote are not finite")
    assert said == 2 and completed.stderr.count("error: ") == 2, completed.stderr[-3000:]
    # the only traceback is torchrun's own report (ChildFailedError), none of a rank's
    rank_output = completed.stderr.split("torch.distributed.elastic.multiprocessing.errors.ChildFailedError")[0]
    assert rank_output.count("Traceback") <= 1 and "citrus_hf" not in rank_output.split("Traceback")[-1]
    for noise in ("Connection closed", "ProcessGroup", "gloo", "destroy_process_group"):
        assert noise not in completed.stderr
