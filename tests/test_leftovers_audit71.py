"""Session 70's leftovers (audit 71): a pre-training set's label column named as the user has it, and fp16 on a CPU
recorded as the fp32 it runs in."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset
from test_accelerate_habits import _arguments, _no_launcher  # noqa: F401 (the fixture: each test starts outside a launch)
from tiny_configs import TINY
from transformers import Trainer, TrainingArguments

from citrus_hf import CiTrusConfig, CiTrusForPretraining


@pytest.mark.parametrize("column", ["label", "label_ids"])
def test_a_pretraining_set_with_a_label_column_is_refused_naming_it(tmp_path, column):
    """A pre-training set with a `label` column was refused at the first step as "drop the `labels` column": the
    data collator had renamed it, and the set has no `labels` column to drop. The Trainer now refuses it when it is
    built, naming the column the set has and how to drop it."""
    rows = Dataset.from_dict({"input_values": np.zeros((4, 1, 200), np.float32), column: [0, 1, 0, 1]})
    args = TrainingArguments(tmp_path / "out", max_steps=1, use_cpu=True, report_to="none")
    with pytest.raises(ValueError, match=rf"`{column}` column.*remove_columns\(\"{column}\"\)"):
        Trainer(model=CiTrusForPretraining(CiTrusConfig(**TINY)), args=args, train_dataset=rows)
    with pytest.raises(ValueError, match=rf"eval_dataset=.*`{column}` column"):
        Trainer(model=CiTrusForPretraining(CiTrusConfig(**TINY)), args=args, eval_dataset=rows)


@pytest.mark.skipif(torch.cuda.is_available(), reason="fp16 runs as fp16 on a GPU")
def test_fp16_on_a_cpu_is_recorded_as_the_fp32_it_runs_in(tmp_path, caplog):
    """--mixed-precision fp16 on a CPU was warned about and ran in fp32 (no autocast: Accelerate and the Trainer
    autocast nothing there), but the run's records (`citrus finetune`'s summary and card, `citrus pretrain`'s summary
    and checkpoints) said "fp16". They now record "no", what ran; the warning stays."""
    from citrus_hf.training.pretrain import _accelerator
    from citrus_hf.training.settings import TrainerSettings
    from citrus_hf.training.trainer import trainer_precision

    with caplog.at_level("WARNING"):
        assert trainer_precision(TrainerSettings(mixed_precision="fp16")).mixed_precision == "no"
    assert "--mixed-precision fp16 runs in fp32 on a CPU" in caplog.text
    assert trainer_precision(TrainerSettings(mixed_precision="bf16")).mixed_precision == "bf16"  # bf16 autocasts
    resolved, accelerator = _accelerator(_arguments(tmp_path / "run", mixed_precision="fp16"), CiTrusConfig())
    assert not accelerator.native_amp
    assert resolved.mixed_precision == "no"


def test_predict_without_a_home_folder_names_the_variable_not_a_python_argument(tmp_path, monkeypatch, capsys):
    """`citrus predict --backend onnxruntime` with no $HOME (a service account, a container without a home in its
    user database) failed with the backend's advice to give `cache_dir=`, a Python argument the command has no
    option for: it now names the environment variables that place the ONNX cache."""
    from pathlib import Path

    from citrus_hf.commands.main import main

    for variable in ("HOME", "XDG_CACHE_HOME", "HF_HOME", "CITRUS_HF_ONNX_CACHE"):
        monkeypatch.delenv(variable, raising=False)

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    recording = tmp_path / "recording.csv"
    np.savetxt(recording, np.zeros(300))
    assert main(["predict", "citrus-small", str(recording), "--sampling-rate", "100", "--backend", "onnxruntime"]) != 0
    message = capsys.readouterr().err
    assert "$CITRUS_HF_ONNX_CACHE" in message
    assert "cache_dir=" not in message
