"""Session 69's audit of the training loops' maths: what an optimizer step holds under gradient accumulation, the
fine-tuning schedule's passes under several processes, the held-out pre-training loss over batches of unequal size,
and the record of a fine-tuning's evaluations."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch

# Runs of a few steps are far too short to learn: their did-not-learn warning is beside the point here.
pytestmark = pytest.mark.filterwarnings("ignore::citrus_hf.training.pretrain.PretrainingDidNotLearnWarning")

# A tiny model of BasicMotions' contract: 10 Hz, 10 s windows of 10 patches.
CONTRACT = {"sampling_rate": 10.0, "context_length": 100, "patch_length": 10}
TINY = {"d_model": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "ffn_dim": 32}


def test_every_accumulated_step_holds_its_micro_batches_across_epoch_ends(tmp_path):
    """With gradient accumulation over an epoch of an odd number of batches, Accelerate ended each epoch with an
    optimizer step of one micro-batch whose loss it still divided by the accumulation count: that step took half the
    windows at half the gradient, and N steps of batch B with accumulation A were not N steps of batch A x B. Every
    optimizer step now accumulates exactly its micro-batches, running on into the next epoch."""
    from citrus_runs import pretrain_arguments
    from datasets import Dataset

    from citrus_hf.training.pretrain import pretrain

    rng = np.random.default_rng(0)
    corpus = tmp_path / "corpus"
    windows = rng.standard_normal((10, 1, 100)).astype("float32")  # 10 recordings of one window: 5 batches of 2
    Dataset.from_dict({"input_values": windows, "sampling_rate": [10.0] * 10}).save_to_disk(str(corpus))
    run = tmp_path / "run"
    # (accumulating 2 micro-batches per step)
    changes = dict(dataset=str(corpus), dataset_options={}, eval_split="none", config_overrides=CONTRACT, max_steps=5)
    pretrain(pretrain_arguments(run, per_device_batch_size=2, save_steps=100, log_sample_ids=True, **changes))
    log = [json.loads(line) for line in (run / "sample_ids_rank0.jsonl").read_text().splitlines()]
    micro_batches = Counter(entry["step"] for entry in log)
    assert micro_batches == dict.fromkeys(range(5), 2), micro_batches
    # two passes over the ten windows, each window once per pass
    seen = [row for entry in log for row in entry["ids"]]
    assert sorted(seen) == sorted(list(range(10)) * 2)


def test_the_recipe_schedule_counts_passes_over_the_global_batch(monkeypatch, tmp_path):
    """Under a launch of N data-parallel processes each optimizer step takes N per-device batches, so the recipe's
    steps, counted from one process's batch, made N times the documented passes (`--num-train-epochs 3` under two
    processes trained six). Steps now count batches of the global batch."""
    from datasets import Dataset

    import citrus_hf.training.launch as launch
    import citrus_hf.training.trainer as trainer_module
    from citrus_hf.training.recipes import FinetuneRecipe
    from citrus_hf.training.settings import TrainerSettings

    asked = []

    def fake_train(model, train, validation, task, output_dir, settings, *args, **kwargs):
        asked.append(settings.max_steps)
        return {
            "trainer": type("T", (), {"model": model})(),
            "steps": settings.max_steps,
            "best_step": None,
            "history": [],
        }

    monkeypatch.setattr(trainer_module, "train_with_trainer", fake_train)
    monkeypatch.setattr(launch, "data_parallel_processes", lambda: 2, raising=False)
    train = Dataset.from_dict({"labels": [0, 1] * 40})  # 80 examples
    recipe, model = FinetuneRecipe(), torch.nn.Linear(1, 1)
    for settings in (
        TrainerSettings(num_train_epochs=3, per_device_batch_size=8),
        TrainerSettings(per_device_batch_size=8),
    ):
        recipe.fit(model, train, None, "classification", settings, tmp_path)
    # 3 passes, then the recipe's 30, over 80 examples in global batches of 2 x 8 (5 of them); one process: 30 and 300
    assert asked == [15, 150]


def test_held_out_loss_is_the_mean_over_every_scored_patch(tmp_path):
    """The held-out loss averaged its chunks' means, so a last chunk of one window weighed as much as a full one (a
    validation split of 5 windows in batches of 4: the fifth window counted 4 times its share), and the baseline
    was each chunk's own mean target. Both are now over every scored patch of the held-out windows, whatever the
    batch size."""
    from accelerate import Accelerator
    from datasets import Dataset

    from citrus_hf import CiTrusConfig, CiTrusForPretraining
    from citrus_hf.training.pretrain import HeldOutLoss, PretrainArguments, citrus_loss

    torch.manual_seed(0)
    # the CNN-only auto-encoder scores every patch of signal and draws no mask: the same patches in any batching
    model = CiTrusForPretraining(CiTrusConfig(**CONTRACT, backbone="cnn", **TINY))
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((5, 1, 100)).astype("float32") * np.arange(1, 6, dtype="float32")[:, None, None]
    patch_mask = np.ones((5, 10), dtype="int8")
    patch_mask[4, 3:] = 0  # the last window is mostly padding
    signal[4, :, 30:] = 0
    windows = Dataset.from_dict({"input_values": signal, "patch_mask": patch_mask})

    def held_out(batch_size: int) -> tuple[float, float]:
        args = PretrainArguments(output_dir=str(tmp_path), per_device_batch_size=batch_size, eval_batches=3)
        return HeldOutLoss(windows, args, Accelerator(cpu=True), citrus_loss, with_baseline=True)(model)

    whole = held_out(8)  # one chunk of the 5 windows
    assert held_out(4) == pytest.approx(whole, rel=1e-5)  # chunks of 4 and 1
    assert held_out(2) == pytest.approx(whole, rel=1e-5)  # 2, 2 and 1


def test_the_evaluation_history_records_each_step_once(tmp_path):
    """The kept model's final validation scoring was added to the history under the last step: a run whose best
    step was 2 of 4 recorded step 4 twice, once with step 2's metrics."""
    from datasets import Dataset

    from citrus_hf import CiTrusConfig, CiTrusForSequenceClassification
    from citrus_hf.training.settings import TrainerSettings
    from citrus_hf.training.trainer import train_with_trainer

    rng = np.random.default_rng(0)

    def rows(n: int):
        labels = np.arange(n) % 2
        signal = rng.standard_normal((n, 1, 100)).astype("float32") + labels[:, None, None]
        columns = {"input_values": signal, "patch_mask": np.ones((n, 10), dtype="int64"), "labels": labels}
        return Dataset.from_dict(columns).with_format("torch")

    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(CiTrusConfig(**CONTRACT, **TINY, num_labels=2))
    settings = TrainerSettings(
        max_steps=4, eval_steps=2, per_device_batch_size=4, early_stopping_patience=None, show_progress=False
    )
    outcome = train_with_trainer(model, rows(8), rows(6), "classification", tmp_path / "trainer", settings)
    assert [entry["step"] for entry in outcome["history"]] == [2, 4]
    best = next(entry for entry in outcome["history"] if entry["step"] == outcome["best_step"])
    assert outcome["validation"]["loss"] == pytest.approx(best["eval_loss"])
