"""Damaged or hand-edited artifacts a run left behind (a pre-training checkpoint, a LoRA adapter folder, the run
records a card reads): each is one error line from this package that names the file and the fix, never a traceback
from deep inside torch, safetensors, json or peft, and never a silent wrong answer."""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import pytest
import torch

from citrus_hf.training.pretrain import PretrainArguments, pretrain

# 4 steps of the tiny model on synthetic windows (no corpus), a checkpoint every 2.
_TINY_RUN = dict(dataset="none", synthetic_ratio=1.0, model_config="tiny", max_steps=4, per_device_batch_size=4)
_TINY_RUN |= dict(save_steps=2, save_total_limit=5, eval_steps=4, report_to="none", show_progress=False)


def _pretrain_args(output_dir: Path, **changes) -> PretrainArguments:
    return PretrainArguments(output_dir=str(output_dir), **(_TINY_RUN | changes))


@pytest.fixture(scope="module")
def pretraining_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("pretraining") / "run"
    pretrain(_pretrain_args(run))
    return run


def _cut(path: Path, keep: float = 0.5) -> None:
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * keep)])


def _tampered_progress(path: Path) -> None:
    """A progress file holding an object of a class beyond plain saved state (what a crafted pickle would need)."""
    torch.save({"step": 2, "epoch": 0, "date": datetime.date(2020, 1, 1)}, path)


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda step: (step / "optimizer.bin").unlink(), "optimizer.bin is missing"),
        (lambda step: (step / "scheduler.bin").write_bytes(b""), "scheduler.bin is empty"),
        (lambda step: _cut(step / "model.safetensors"), "model.safetensors is cut short or damaged"),
        (lambda step: _cut(step / "optimizer.bin"), "optimizer.bin is cut short or damaged"),
        (lambda step: _cut(step / "custom_checkpoint_0.pkl"), "custom_checkpoint_0.pkl is cut short or damaged"),
        (lambda step: _tampered_progress(step / "custom_checkpoint_0.pkl"), "custom_checkpoint_0.pkl is cut short"),
        # Accelerate skipped these without a word, and the run went on inexactly
        (lambda step: (step / "random_states_0.pkl").unlink(), "random_states_0.pkl is missing (without it the run"),
        (lambda step: _cut(step / "random_states_0.pkl"), "random_states_0.pkl is cut short or damaged"),
        (lambda step: _cut(step / "run_settings.json"), "run_settings.json is cut short or damaged"),
        (lambda step: (step / "run_settings.json").write_text("[]"), "run_settings.json is cut short or damaged"),
    ],
)
def test_a_damaged_checkpoint_is_refused_naming_the_file_and_the_fix(damage, words, pretraining_run, tmp_path):
    """Resuming from a checkpoint with a state file missing, empty or cut short was a traceback from safetensors or
    torch, "[Errno 2]" with no fix, a JSON error without the file, or (random states) a silent inexact resume."""
    run = Path(shutil.copytree(pretraining_run, tmp_path / "run"))
    step = run / "checkpoints" / "step-2"
    damage(step)
    with pytest.raises(ValueError) as raised:
        pretrain(_pretrain_args(run, resume_from=str(step)))
    message = str(raised.value)
    assert f"The checkpoint {step} cannot be resumed: {words}" in message and "\n" not in message, message
    assert "Resume from an earlier step-N of the run" in message and "start afresh without --resume-from" in message


def test_resume_from_latest_skips_an_incomplete_checkpoint_and_says_so(pretraining_run, tmp_path, caplog):
    """`--resume-from latest` took the newest step-N even when a killed save had left it without optimizer state."""
    run = Path(shutil.copytree(pretraining_run, tmp_path / "run"))
    (run / "checkpoints" / "step-4" / "optimizer.bin").unlink()
    (run / "model.safetensors").unlink()  # the run as if killed while saving step-4
    with caplog.at_level("WARNING", logger="citrus_hf.training.checkpoints"):
        resumed = pretrain(_pretrain_args(run, resume_from="latest"))
    assert resumed.completed and resumed.steps == 4
    assert "step-4 is incomplete (optimizer.bin is missing); resuming from step-2" in caplog.text
    for step in ("step-2", "step-4"):
        (run / "checkpoints" / step / "random_states_0.pkl").unlink()
    with pytest.raises(ValueError, match=r"No checkpoint in .* can be resumed: step-4 is incomplete .* Start afresh"):
        pretrain(_pretrain_args(run, resume_from="latest"))


_RESULTS = {
    "task": "classification",
    "recipe": "finetune",
    "test_metrics": {"accuracy": 0.5, "loss": 1.0},
    "num_train": 6,
    "steps": 4,
    "best_step": None,
    "arguments": {
        "dataset": "basic_motions",
        "label_budget": "2",
        "lora": False,
        "trainer": {"max_steps": 4, "learning_rate": 0.001, "per_device_batch_size": 8, "seed": 0},
    },
}
_SUMMARY = {"steps": 4, "completed": True, "final_loss": 1.5, "arguments": {"dataset": "none", "learning_rate": 0.001}}


@pytest.mark.parametrize(
    ("name", "edit", "words"),
    [
        ("finetune_results.json", {"arguments": []}, "field 'arguments' must be an object, got []"),
        ("finetune_results.json", {"test_metrics": [1, 2]}, "field 'test_metrics' must be an object or null"),
        ("finetune_results.json", {"test_metrics": {"accuracy": "0.9"}}, "field 'test_metrics.accuracy' must be a"),
        ("finetune_results.json", {"num_train": True}, "field 'num_train' must be an integer or null, got true"),
        (
            "finetune_results.json",
            {"arguments": {**_RESULTS["arguments"], "trainer": {"max_steps": "4"}}},
            "field 'arguments.trainer.max_steps' must be an integer or null, got \"4\"",
        ),
        ("finetune_results.json", {"arguments": {"trainer": "x"}}, "field 'arguments.trainer' must be an object"),
        ("pretraining_summary.json", {"final_loss": "abc"}, "field 'final_loss' must be a number or null"),
        ("pretraining_summary.json", {"arguments": []}, "field 'arguments' must be an object, got []"),
        (
            "pretraining_summary.json",
            {"arguments": {"per_device_batch_size": "4"}},
            "field 'arguments.per_device_batch_size' must be an integer or null",
        ),
    ],
)
def test_a_run_record_with_a_field_of_the_wrong_kind_names_the_file_and_field(name, edit, words, tmp_path):
    """finetune_results.json / pretraining_summary.json edited by hand crashed `citrus push` and `build_model_card`
    with an AttributeError or TypeError, or said "could not convert string to float" without the file."""
    from citrus_hf.publishing.runs import read_run_records

    record = _RESULTS if name == "finetune_results.json" else _SUMMARY
    (tmp_path / name).write_text(json.dumps(record))
    run = read_run_records(tmp_path)
    assert (
        run.hyperparameters["Training length"] == "4 steps"
        if record is _RESULTS
        else run.pretraining["Optimizer steps"] == 4
    )
    (tmp_path / name).write_text(json.dumps(record | edit))
    with pytest.raises(ValueError) as raised:
        read_run_records(tmp_path)
    assert str(raised.value).startswith(f"{tmp_path / name}: {words}"), raised.value
    assert "restore the file as the run wrote it, or remove it" in str(raised.value)


@pytest.fixture(scope="module")
def lora_adapter(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny classifier's checkpoint and a LoRA adapter saved from it."""
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.lora import apply_lora, save_adapter

    folder = tmp_path_factory.mktemp("lora")
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    model.save_pretrained(folder / "base")
    return folder / "base", save_adapter(apply_lora(model, r=2, verbose=False), folder / "adapter")


def _edit_json(path: Path, **changes) -> None:
    path.write_text(json.dumps(json.loads(path.read_text()) | changes))


def _edit_tensors(path: Path, edit) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(path)
    lora_key = sorted(key for key in tensors if "lora_A" in key)[0]
    edit(tensors, lora_key)
    save_file(tensors, path)


@pytest.mark.parametrize(
    ("damage", "error", "words"),
    [
        (lambda a: _cut(a / "adapter_model.safetensors"), OSError, "adapter_model.safetensors' is cut short or"),
        (lambda a: _cut(a / "adapter_config.json"), ValueError, "adapter_config.json' is not valid JSON"),
        (lambda a: _cut(a / "citrus_task_config.json"), ValueError, "citrus_task_config.json' is not valid JSON"),
        (
            lambda a: _edit_json(a / "adapter_config.json", r="8"),
            ValueError,
            "'r' must be a positive integer, got \"8\"",
        ),
        (lambda a: _edit_json(a / "adapter_config.json", r=0), ValueError, "'r' must be a positive integer, got 0"),
        (lambda a: _edit_json(a / "adapter_config.json", lora_alpha=None), ValueError, "'lora_alpha' must be a posit"),
        # loaded with only peft's warning before: that layer kept a fresh initialisation
        (
            lambda a: _edit_tensors(a / "adapter_model.safetensors", lambda t, k: t.pop(k)),
            ValueError,
            "weight is missing",
        ),
        (
            lambda a: _edit_tensors(a / "adapter_model.safetensors", lambda t, k: t.update({k: torch.zeros(3, 16)})),
            ValueError,
            "lora_A.weight has shape (3, 16), the model's (2, 16)",
        ),
        (
            lambda a: _edit_tensors(
                a / "adapter_model.safetensors", lambda t, k: t.update({f"{k}.extra": t[k].clone()})
            ),
            ValueError,
            "lora_A.weight.extra is not in the model",
        ),
    ],
)
def test_a_damaged_adapter_folder_is_one_line_naming_the_file(damage, error, words, lora_adapter, tmp_path):
    """A damaged LoRA adapter folder gave raw SafetensorError / JSONDecodeError / torch RuntimeError / peft TypeError
    ("not all arguments converted"), or loaded with a tensor missing."""
    from citrus_hf.training.lora import load_adapter

    base, adapter = lora_adapter
    adapter = Path(shutil.copytree(adapter, tmp_path / "adapter"))
    load_adapter(base, adapter)
    damage(adapter)
    with pytest.raises(error) as raised:
        load_adapter(base, adapter)
    assert words in str(raised.value) and "\n" not in str(raised.value), raised.value
    assert "save the adapter again with `save_adapter`" in str(raised.value), raised.value


def test_a_checkpoint_that_cannot_be_written_is_removed_and_named(tmp_path, monkeypatch):
    """A full disk (or Ctrl-C) mid-save left a partial `step-N` that the interrupt message and `--resume-from latest`
    then pointed at; the save died with torch's "unexpected pos" traceback."""
    from accelerate import Accelerator

    real_save = Accelerator.save_state

    def save_then_fail(self, output_dir=None, **kwargs):
        if output_dir and output_dir.endswith("step-2"):
            real_save(self, output_dir, **kwargs)  # a folder with files in it, as a disk filling up leaves
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 245952 vs 245844")
        return real_save(self, output_dir, **kwargs)

    monkeypatch.setattr(Accelerator, "save_state", save_then_fail)
    run = tmp_path / "run"
    with pytest.raises(OSError, match=r"Could not write the checkpoint .*step-2.*disk full.*removed"):
        pretrain(_pretrain_args(run, max_steps=3, save_steps=1))
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-1"]
