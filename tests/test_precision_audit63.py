"""Audit 63 (training under reduced precision and optimisation settings): a launch's mixed precision taken by
`citrus finetune` / `citrus evaluate` without a word or a record, half-precision weights trained in a user's own
`Trainer`, and learning-rate schedules that need settings the commands could not give."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from datasets import Dataset
from tiny_configs import tiny_config

from citrus_hf import CiTrusForRegression, CiTrusForSequenceClassification
from citrus_hf.commands.main import main

# a tiny classifier fitted for two steps on real EOG blinks (as tests/test_runs_audit.py)
FINETUNE = ["finetune", "--dataset", "eeg_blink", "--model-config", "tiny", "--recipe", "finetune", "--max-steps", "2"]
FINETUNE += ["--no-show-progress"]


@pytest.fixture
def package_warnings(caplog):
    """The package's warnings (transformers' loggers do not propagate to the root logger caplog listens on)."""
    package = logging.getLogger("citrus_hf")
    propagate = package.propagate
    package.propagate = True
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        yield caplog
    package.propagate = propagate


def test_finetune_records_and_warns_about_the_launch_precision(tmp_path, monkeypatch, package_warnings):
    """Under `accelerate launch --mixed_precision bf16` (ACCELERATE_MIXED_PRECISION) `citrus finetune` trained in bf16
    autocast: other weights and metrics than the same command and seed, with no warning and nothing in
    finetune_results.json to say why; no option chose the precision, as `citrus pretrain --mixed-precision` does.

    The frozen-encoder probe fits no weights by gradient, so the "trains about ten times slower" note (once said
    before the recipe was known) misled such a run: it is said when a Trainer starts, so the probe run first is not
    told, and does not use up the once-per-process warning the training run after it must still give."""
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    logging.Logger.warning_once.cache_clear()  # said once per process, when a Trainer first starts
    probe = [arg if arg != "finetune" else "probe" for arg in FINETUNE[1:]]
    probe = [arg for arg in probe if arg not in ("--max-steps", "2")]
    assert main(["finetune", *probe, "--output-dir", str(tmp_path / "probe")]) == 0
    assert "slower" not in package_warnings.text
    package_warnings.clear()
    assert main([*FINETUNE, "--output-dir", str(tmp_path / "launched")]) == 0
    results = json.loads((tmp_path / "launched" / "finetune_results.json").read_text())
    assert results["mixed_precision"] == "bf16" and results["arguments"]["trainer"]["mixed_precision"] == "bf16"
    assert "Mixed precision bf16 on the CPU trains about ten times slower" in package_warnings.text
    # the precision is the launch's: named as such, with the fix that works (the option was already left out)
    assert "ACCELERATE_MIXED_PRECISION=bf16" in package_warnings.text
    assert "pass --mixed-precision no" in package_warnings.text
    assert "leave --mixed-precision out" not in package_warnings.text
    package_warnings.clear()
    # (this run also gives its schedule settings: --lr-scheduler-kwargs reaches the Trainer, as transformers'
    # lr_scheduler_kwargs, and the run's record)
    schedule = ["--lr-scheduler-type", "warmup_stable_decay", "--lr-scheduler-kwargs", "num_decay_steps=1"]
    assert main([*FINETUNE, "--output-dir", str(tmp_path / "chosen"), "--mixed-precision", "no", *schedule]) == 0
    results = json.loads((tmp_path / "chosen" / "finetune_results.json").read_text())
    assert results["mixed_precision"] == "no"
    assert "--mixed-precision no wins over Accelerate's bf16" in package_warnings.text
    assert results["arguments"]["trainer"]["lr_scheduler_kwargs"] == {"num_decay_steps": 1}


def test_the_trainer_runs_the_precision_chosen_over_the_launch(tmp_path, monkeypatch):
    """`TrainingArguments` fills the precision in from ACCELERATE_MIXED_PRECISION whenever bf16 and fp16 are False:
    `--mixed-precision no` must reach the Trainer's Accelerator as "no"."""
    from citrus_hf.training.settings import TrainerSettings
    from citrus_hf.training.trainer import train_with_trainer, trainer_precision

    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    assert trainer_precision(TrainerSettings()).mixed_precision == "bf16"
    rng = np.random.default_rng(0)
    rows = Dataset.from_dict(
        {"input_values": rng.standard_normal((8, 1, 200)).astype(np.float32).tolist(), "labels": [0, 1] * 4}
    )
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    settings = TrainerSettings(max_steps=1, mixed_precision="no", show_progress=False, per_device_batch_size=4)
    outcome = train_with_trainer(model, rows, None, "classification", tmp_path / "trainer", settings)
    assert outcome["trainer"].args.mixed_precision == "no"
    assert outcome["trainer"].accelerator.mixed_precision == "no"


def test_a_launch_precision_no_command_runs_is_refused(monkeypatch):
    """fp8 (or a typo) in ACCELERATE_MIXED_PRECISION is refused in one line naming the option that chooses."""
    from citrus_hf.training.settings import TrainerSettings
    from citrus_hf.training.trainer import trainer_precision

    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "fp8")
    with pytest.raises(ValueError, match="pass --mixed-precision"):
        trainer_precision(TrainerSettings())
    assert trainer_precision(TrainerSettings(mixed_precision="no")).mixed_precision == "no"


def test_the_non_finite_loss_message_reads_the_precision_the_trainer_ran():
    """Under a launch's fp16 (bf16 and fp16 False in the arguments) the message left out the fp16-overflow cause."""
    from types import SimpleNamespace

    from citrus_hf.training.callbacks import NonFiniteLossCallback, NonFiniteLossError

    callback = NonFiniteLossCallback()
    callback._non_finite_loss = float("nan")
    args = SimpleNamespace(fp16=False, bf16=False, mixed_precision="fp16", output_dir="/nonexistent", learning_rate=1)
    with pytest.raises(NonFiniteLossError, match="float16 overflow"):
        callback.on_pre_optimizer_step(args, SimpleNamespace(global_step=0), None)


@pytest.mark.parametrize("model_class", [CiTrusForSequenceClassification, CiTrusForRegression])
def test_a_trainer_of_bf16_weights_warns_with_the_fix(tmp_path, model_class, package_warnings):
    """A model loaded in bf16 (`dtype=torch.bfloat16`, or a checkpoint saved in bf16) trained in the user's own
    Trainer under-trained without a word: a third of the weights moved, a regressor's bias at the targets' mean never
    moved. The Trainer hook now warns, naming float32 weights and `TrainingArguments(bf16=True)`."""
    from transformers import Trainer, TrainingArguments

    model = model_class(tiny_config(**({} if model_class is CiTrusForRegression else {"num_labels": 2}))).to(
        torch.bfloat16
    )
    args = TrainingArguments(str(tmp_path), use_cpu=True, report_to="none", save_strategy="no")
    Trainer(model=model, args=args)
    assert "trainable parameters of this " + model_class.__name__ + " are bfloat16" in package_warnings.text
    assert "dtype=torch.float32" in package_warnings.text and "TrainingArguments(bf16=True)" in package_warnings.text
    package_warnings.clear()
    Trainer(model=model.float(), args=args)  # float32 weights (mixed precision or not) say nothing
    assert "bfloat16" not in package_warnings.text


def test_fp16_weights_under_fp16_mixed_precision_on_a_gpu_are_refused():
    """torch's loss scaler stops such a run at its first step with a deep "Attempting to unscale FP16 gradients"."""
    from types import SimpleNamespace

    from citrus_hf.training.trainer import check_trainable_dtype

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).to(torch.float16)
    on_a_gpu = SimpleNamespace(mixed_precision="fp16", device=torch.device("cuda"))
    with pytest.raises(ValueError, match="fp16 mixed precision cannot train float16 weights.*dtype=torch.float32"):
        check_trainable_dtype(on_a_gpu, model)


@pytest.mark.parametrize(
    ("schedule", "needs"),
    [
        ("warmup_stable_decay", "num_decay_steps"),
        ("cosine_with_min_lr", "min_lr_rate"),
        ("cosine_warmup_with_min_lr", "min_lr_rate"),
    ],
)
def test_a_schedule_that_needs_settings_is_refused_before_the_data_loads(tmp_path, capsys, schedule, needs):
    """These schedules passed the up-front check, then the run loaded the data and died at the first step (a deep
    TypeError, or advice to set `lr_scheduler_kwargs`, which the command had no option for)."""
    from citrus_hf.commands.finetune import build_parser
    from citrus_hf.commands.parser import UsageError

    with pytest.raises((UsageError, ValueError), match=f"--lr-scheduler-kwargs {needs}"):
        build_parser().parse([*FINETUNE[1:], "--output-dir", str(tmp_path / "run"), "--lr-scheduler-type", schedule])
    with pytest.raises((UsageError, ValueError), match="unexpected keyword argument 'typo'"):
        build_parser().parse([*FINETUNE[1:], "--output-dir", str(tmp_path / "r"), "--lr-scheduler-kwargs", "typo=1"])


def test_the_protocol_checks_and_records_the_schedule_and_precision(tmp_path, monkeypatch):
    """`citrus evaluate` shares the settings: its schedule is checked at parse time and protocol.json records the
    precision its fine-tunings train in."""
    from citrus_hf.evaluation.protocol import run_protocol
    from citrus_hf.evaluation.settings import ProtocolConfig
    from citrus_hf.training.settings import TrainerSettings

    with pytest.raises(ValueError, match="--lr-scheduler-kwargs num_decay_steps"):
        ProtocolConfig(
            output_dir=str(tmp_path / "bad"), finetune=TrainerSettings(lr_scheduler_type="warmup_stable_decay")
        )
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    config = ProtocolConfig(
        output_dir=str(tmp_path / "eval"), datasets=["eeg_blink"], arms=["prior"], budgets=[1], seeds=[0]
    )
    # the runs do not matter here: stopped once the first is recorded, when protocol.json is written (session 69)
    monkeypatch.setattr("citrus_hf.evaluation.protocol.pretrain_arms", lambda config: ({}, 0.0))
    monkeypatch.setattr("citrus_hf.evaluation.protocol._run_dataset", _stop)
    with pytest.raises(RuntimeError, match="stop after protocol.json"):
        run_protocol(config)
    recorded = json.loads((tmp_path / "eval" / "protocol.json").read_text())
    assert recorded["finetune"]["mixed_precision"] == "bf16"
    assert config.finetune.mixed_precision is None  # the caller's config stays as given


def _stop(config, dataset, checkpoints, budgets, order, previous, record, progress, weights_digests):
    record({"dataset": dataset, "arm": "prior"}, True)
    raise RuntimeError("stop after protocol.json")
