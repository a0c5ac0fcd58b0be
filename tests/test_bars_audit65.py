"""transformers' `disable_progress_bar()` (and HF_HUB_DISABLE_PROGRESS_BARS) hides the fine-tuning Trainer's bars as
it hides the package's own: the Trainer reads only `disable_tqdm`, and showed its bar regardless."""

from __future__ import annotations

import torch
from tiny_configs import tiny_config
from transformers.utils import logging as transformers_logging

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf._logs import progress_bar_switches_kept


def _finetuned_arguments(tmp_path, show_progress: bool):
    from citrus_hf.training.arguments import TrainerSettings
    from citrus_hf.training.trainer import train_and_evaluate

    generator = torch.Generator().manual_seed(0)
    rows = [{"input_values": torch.randn(1, 200, generator=generator), "labels": i % 2} for i in range(8)]
    settings = TrainerSettings(
        max_steps=1, per_device_batch_size=8, show_progress=show_progress, early_stopping_patience=None
    )
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    return train_and_evaluate(model, rows, None, rows, "classification", tmp_path / "run", settings)["trainer"].args


def test_disable_progress_bar_hides_the_trainers_bars(tmp_path):
    with progress_bar_switches_kept():
        transformers_logging.disable_progress_bar()
        assert _finetuned_arguments(tmp_path / "off", show_progress=True).disable_tqdm is True
        transformers_logging.enable_progress_bar()
        assert _finetuned_arguments(tmp_path / "on", show_progress=True).disable_tqdm is False
        assert _finetuned_arguments(tmp_path / "asked", show_progress=False).disable_tqdm is True
