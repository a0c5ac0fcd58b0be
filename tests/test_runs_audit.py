"""What an audit of interrupted, repeated and concurrent runs found: a bf16 checkpoint trained in pure bf16, an
export's model.onnx left beside a new run's weights, two runs into one folder both "saved", and fine-tuning's
TensorBoard logs deleted with its scratch folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForPretraining, CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.training.finetune import build_citrus_task_model
from citrus_hf.training.run_lock import LOCK_NAME, output_folder_lock

# a tiny model pre-trained for one step on the synthetic stream (as tests/test_cli_habits.py)
PRETRAIN = ["pretrain", "--dataset", "none", "--synthetic-ratio", "1", "--max-steps", "1", "--model-config", "tiny"]
PRETRAIN += ["--per-device-batch-size", "4", "--show-progress", "false"]
# a tiny classifier fitted for two steps on real EOG blinks
FINETUNE = ["finetune", "--dataset", "eeg_blink", "--model-config", "tiny", "--recipe", "finetune", "--max-steps", "2"]
FINETUNE += ["--no-show-progress"]


def _saved_dtypes(folder) -> set[torch.dtype]:
    with safe_open(str(folder / "model.safetensors"), "pt") as weights:
        return {weights.get_tensor(name).dtype for name in weights.keys()}


def test_a_checkpoint_saved_in_bf16_is_trained_in_float32(tmp_path):
    """transformers loads a checkpoint in the dtype it was saved in: fine-tuning or continuing the pre-training of a
    bf16 checkpoint ran AdamW on bf16 weights (8-17% of them moved in a short run, against all from float32) and
    saved the result in bf16, without a word."""
    config = tiny_config()
    CiTrusForPretraining(config).to(torch.bfloat16).save_pretrained(tmp_path / "bf16")
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "bf16")
    assert _saved_dtypes(tmp_path / "bf16") == {torch.bfloat16}
    model = build_citrus_task_model("classification", 1, ["a", "b"], checkpoint=tmp_path / "bf16")
    assert {parameter.dtype for parameter in model.parameters()} == {torch.float32}
    continued = [option for option in PRETRAIN if option not in ("--model-config", "tiny")]
    assert main([*continued, "--model", str(tmp_path / "bf16"), "--output-dir", str(tmp_path / "more")]) == 0
    assert _saved_dtypes(tmp_path / "more") == {torch.float32}


@pytest.mark.parametrize("command", ["finetune", "pretrain"])
def test_an_export_folder_is_not_taken_as_a_fresh_output_dir(tmp_path, capsys, command):
    """`citrus export --output-dir deploy` writes model.onnx beside config.json; a run into that folder wrote its own
    config and weights and left the old model.onnx, which ONNX Runtime then served (the old model)."""
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "model.onnx").write_bytes(b"an earlier export")
    (deploy / "config.json").write_text(json.dumps(tiny_config().to_dict()))
    arguments = FINETUNE if command == "finetune" else PRETRAIN
    assert main([*arguments, "--output-dir", str(deploy)]) == 2
    assert "model.onnx" in capsys.readouterr().err and (deploy / "model.onnx").read_bytes() == b"an earlier export"
    if command == "finetune":  # replacing it removes it with the earlier run's files
        assert main([*arguments, "--output-dir", str(deploy), "--overwrite-output-dir"]) == 0
        assert not (deploy / "model.onnx").exists() and (deploy / "model.safetensors").is_file()


def test_a_second_run_into_a_folder_being_written_is_refused(tmp_path, capsys):
    """Two `citrus finetune` runs into one new folder at once both passed the fresh-folder check, deleted each
    other's Trainer scratch, and the one that ended last replaced the other's model; both said "Saved"."""
    folder = tmp_path / "run"
    with output_folder_lock(folder, "citrus finetune"):
        holder = json.loads((folder / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid() and holder["command"] == "citrus finetune"
        assert main([*FINETUNE, "--output-dir", str(folder)]) == 2
        error = capsys.readouterr().err
        assert f"is being written by another run (citrus finetune, process {os.getpid()}" in error
        assert not (folder / "model.safetensors").exists()
    assert not folder.exists()  # the lock is gone, and with it the folder the run had created and left empty
    # a lock left by a run that was killed (its process is gone) is taken over
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    folder.mkdir()
    stale = {"pid": int(gone.stdout), "host": holder["host"], "command": "citrus finetune"}
    (folder / LOCK_NAME).write_text(json.dumps(stale))
    assert main([*FINETUNE, "--output-dir", str(folder)]) == 0
    assert (folder / "model.safetensors").is_file() and not (folder / LOCK_NAME).exists()
    # so is one naming this very process id under another process's mark (a container restarted with the same ids;
    # the lock alone: the run above showed a run going on once its lock is taken)
    (folder / LOCK_NAME).write_text(json.dumps({**stale, "pid": os.getpid(), "mark": "an earlier process"}))
    with output_folder_lock(folder, "citrus finetune"):
        assert json.loads((folder / LOCK_NAME).read_text())["mark"] != "an earlier process"
    assert not (folder / LOCK_NAME).exists()  # and given back as the taken-over lock's holder leaves
    # a lock held on another machine cannot be checked from here: refused, unless --overwrite-output-dir takes it over
    (folder / LOCK_NAME).write_text(json.dumps({**stale, "pid": 1, "host": "another-node"}))
    assert main([*FINETUNE, "--output-dir", str(folder)]) == 2
    assert "on another-node" in capsys.readouterr().err
    assert main([*FINETUNE, "--output-dir", str(folder), "--overwrite-output-dir"]) == 0
    assert not (folder / LOCK_NAME).exists()


def test_fine_tuning_keeps_its_tensorboard_logs(tmp_path):
    """The Trainer writes TensorBoard logs under its output folder, `<output-dir>/.citrus-trainer/runs` (then `trainer/runs`), which `finetune`
    deleted as scratch once the fit was over: `--report-to tensorboard` left no log."""
    pytest.importorskip("tensorboard")
    folder = tmp_path / "run"
    assert main([*FINETUNE, "--report-to", "tensorboard", "--output-dir", str(folder)]) == 0
    events = list((folder / "tensorboard").glob("*/events.out.tfevents.*"))
    assert events and not (folder / ".citrus-trainer").exists()


def test_build_citrus_task_model_from_a_task_checkpoint_is_float32_too(tmp_path):
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).half().save_pretrained(tmp_path / "fp16")
    model = build_citrus_task_model("regression", 1, checkpoint=tmp_path / "fp16")
    assert {parameter.dtype for parameter in model.parameters()} == {torch.float32}


def test_citrus_predict_runs_a_bf16_checkpoint_on_every_backend(tmp_path, capsys):
    """`citrus predict --backend onnxruntime` (or bf16) on a checkpoint saved in bf16 failed, blaming the recording,
    with a fix for Python (`dtype=torch.float32` to from_pretrained); `citrus export` took the same checkpoint."""
    import numpy as np

    pytest.importorskip("onnxruntime")
    config = tiny_config(num_labels=2)
    CiTrusForSequenceClassification(config).to(torch.bfloat16).save_pretrained(tmp_path / "bf16")
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "bf16")
    np.save(tmp_path / "rec.npy", np.random.default_rng(0).standard_normal((1, 1000)).astype(np.float32))
    scores = {}
    for backend in ("torch", "onnxruntime", "bf16"):
        output = tmp_path / f"{backend}.jsonl"
        command = ["predict", str(tmp_path / "bf16"), str(tmp_path / "rec.npy"), "--sampling-rate", "100"]
        assert main([*command, "--backend", backend, "--output", str(output)]) == 0, capsys.readouterr().err
        scores[backend] = json.loads(output.read_text())["score"]
    assert scores["onnxruntime"] == pytest.approx(scores["torch"], abs=1e-4)
    assert scores["bf16"] == pytest.approx(scores["torch"], abs=2e-2)


def test_a_pretraining_run_into_a_folder_another_run_writes_is_refused(tmp_path, capsys):
    """Two pre-training runs started at once into one new folder both passed its check, and would prune and overwrite
    each other's checkpoints: the run lock of fine-tuning holds pre-training's folder too."""
    folder = tmp_path / "run"
    with output_folder_lock(folder, "citrus pretrain"):
        assert main([*PRETRAIN, "--output-dir", str(folder)]) == 2
        assert "is being written by another run (citrus pretrain" in capsys.readouterr().err
    assert main([*PRETRAIN, "--output-dir", str(folder)]) == 0
    assert (folder / "model.safetensors").is_file() and not (folder / LOCK_NAME).exists()
