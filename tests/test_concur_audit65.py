"""Concurrency defects of audit 65: an ONNX export that changed the caller's live model under other threads, a run
lock two runs could hold at once, and `citrus evaluate` / `citrus data build --output` without the folder lock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest
import torch
from tiny_configs import tiny_config


def test_the_onnx_export_leaves_the_callers_model_usable_by_other_threads_while_it_traces(tmp_path):
    """The export traced the caller's own model: its weights were FakeTensors and its mode eval while the exporter
    ran, so another thread's pipeline over the same model failed ("Cannot access data pointer of Tensor (e.g.
    FakeTensor)") or ran in the wrong mode. A forward hook runs inside the trace and looks at the caller's model as
    such a thread would, at that very moment."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.inference.backends import InferenceTarget, export_onnx, onnx_cache_key, weights_fingerprint

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).train()
    before = weights_fingerprint(model)
    key_before = onnx_cache_key(model, InferenceTarget(output="logits"))
    seen_during_trace = []

    def another_thread_looks():
        try:
            seen_during_trace.append((model.training, weights_fingerprint(model) == before))
        except Exception as error:  # noqa: BLE001 - what another thread met
            seen_during_trace.append(type(error).__name__)

    def look_at_the_callers_model(module, args):
        # from another thread, as a pipeline would: this one runs inside the exporter's tracing context
        other = threading.Thread(target=another_thread_looks)
        other.start()
        other.join()

    model.register_forward_pre_hook(look_at_the_callers_model)
    path, exported = export_onnx(model, InferenceTarget(output="logits"), tmp_path)
    assert exported and path.is_file()
    assert seen_during_trace and set(seen_during_trace) == {(True, True)}
    assert model.training and weights_fingerprint(model) == before
    assert onnx_cache_key(model, InferenceTarget(output="logits")) == key_before
    with torch.no_grad():
        model.eval()(torch.zeros(1, model.config.num_channels, model.config.context_length))


def _hold_kernel_lock(folder):
    """The lock file of a live run that holds the kernel lock on it (its own open file, as another process's)."""
    import fcntl

    from citrus_hf.training.run_lock import LOCK_NAME

    descriptor = os.open(folder / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o644)
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return descriptor


def test_a_live_runs_lock_not_written_yet_is_not_taken_for_stale(tmp_path):
    """The lock was created empty and its JSON written after: a run that read it in between took the empty lock for
    a killed run's, deleted it and took the folder as well. A run that holds the lock is refused, whatever its file
    holds yet."""
    from citrus_hf.training.run_lock import LOCK_NAME, output_folder_lock

    pytest.importorskip("fcntl")
    descriptor = _hold_kernel_lock(tmp_path)  # created, its JSON not written yet
    try:
        with pytest.raises(ValueError, match="is being written by another run; give this run another --output-dir"):
            with output_folder_lock(tmp_path, "citrus finetune"):
                pass
        assert (tmp_path / LOCK_NAME).read_text() == ""  # the live run's lock is left as it was
    finally:
        os.close(descriptor)
    with output_folder_lock(tmp_path, "citrus finetune"):  # its run ended (the kernel freed its lock): taken over
        pass
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_lock_taken_over_from_a_killed_run_is_not_taken_again_by_a_third_run(tmp_path):
    """Several runs started into a folder whose lock a killed run had left: each read the stale lock, and each
    removed it and made its own, deleting the fresh lock of the run before it; two runs wrote the folder at once.
    Here a run that has taken the folder while a third still sees the killed run's record: the third is refused."""
    from citrus_hf.training.run_lock import LOCK_NAME, output_folder_lock

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = {"pid": int(gone.stdout), "host": socket.gethostname(), "command": "citrus finetune"}
    (tmp_path / LOCK_NAME).write_text(json.dumps(killed))
    with output_folder_lock(tmp_path, "citrus finetune"):
        # what the third run read before the second run's record replaced the killed run's
        (tmp_path / LOCK_NAME).write_text(json.dumps(killed))
        with pytest.raises(ValueError, match="is being written by another run"):
            with output_folder_lock(tmp_path, "citrus finetune"):
                pass
        assert (tmp_path / LOCK_NAME).exists()


def test_a_second_evaluation_into_a_folder_another_evaluation_writes_is_refused(tmp_path, capsys):
    """Two `citrus evaluate` runs into one --output-dir mixed their runs in runs.jsonl and left one's protocol.json
    over the other's results, both saying "Results: ...". The second is refused before it writes anything."""
    from citrus_hf.commands.main import main
    from citrus_hf.training.run_lock import output_folder_lock

    folder = tmp_path / "evaluation"
    arguments = ["evaluate", "--output-dir", str(folder), "--datasets", "basic_motions", "--arms", "prior"]
    arguments += ["--budgets", "1", "--seeds", "0", "--no-show-progress"]
    with output_folder_lock(folder, "citrus evaluate"):  # the first evaluation, still running
        assert main(arguments) == 2
        assert "is being written by another run (citrus evaluate" in capsys.readouterr().err
        assert sorted(path.name for path in folder.iterdir()) == [".citrus-run.lock"]


def test_a_second_data_build_into_an_output_another_build_writes_is_refused(tmp_path, capsys):
    """Two `citrus data build --output` into one folder at once left one's data beside the other's
    citrus_built_from.json (or splits of both). The second is refused before it builds, naming --output."""
    from citrus_hf.commands.main import main
    from citrus_hf.training.run_lock import output_folder_lock

    folder = tmp_path / "built"
    arguments = ["data", "build", "basic_motions", "--cache-dir", str(tmp_path / "cache"), "--output", str(folder)]
    with output_folder_lock(folder, "citrus data build", flag="--output"):  # the first build, still saving
        assert main(arguments) == 2
        error = capsys.readouterr().err
        assert f"--output {str(folder)!r} is being written by another run (citrus data build" in error
        assert "give this run another --output," in error
        assert sorted(path.name for path in folder.iterdir()) == [".citrus-run.lock"]
    assert main(arguments) == 0  # once it ended, the folder is free
    assert (folder / "citrus_built_from.json").is_file() and not (folder / ".citrus-run.lock").exists()
