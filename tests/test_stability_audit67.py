"""Session 67's stability audit: runs that diverge (a NaN loss, or weights the last step blew up), the advice they
give, and settings that cannot train (a weight decay that wipes the weights, a learning rate beyond float32, a warm-up
longer than the run, regression targets a float32 head cannot fit)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.training.finetune import FinetuneArguments, TrainerSettings, finetune
from citrus_hf.training.pretrain import PretrainArguments

RATE = 50.0


def _classification_set(folder, per_class: int = 6):
    """3 classes of 2-channel 2 s windows at 50 Hz (sines of other frequencies), train and test splits."""
    import datasets

    rng = np.random.default_rng(0)
    time_axis = np.arange(int(2 * RATE)) / RATE

    def rows(count):
        values, labels = [], []
        for label in range(3):
            for _ in range(count):
                wave = [np.sin(2 * np.pi * (2 + 3 * label) * time_axis), np.cos(2 * np.pi * (1 + label) * time_axis)]
                values.append((np.stack(wave) + 0.3 * rng.standard_normal((2, len(time_axis)))).astype(np.float32))
                labels.append(label)
        return {"input_values": values, "label": labels, "sampling_rate": [RATE] * len(labels)}

    parts = {"train": datasets.Dataset.from_dict(rows(per_class)), "test": datasets.Dataset.from_dict(rows(3))}
    datasets.DatasetDict(parts).save_to_disk(str(folder))
    return str(folder)


def _regression_set(folder, count: int = 24, scale: float = 1.0, offset: float = 0.0):
    """1-channel 2 s windows at 50 Hz of a sine of frequency f in 1..5 Hz; target offset + scale * f."""
    import datasets

    rng = np.random.default_rng(1)
    time_axis = np.arange(int(2 * RATE)) / RATE

    def rows(number):
        values, targets = [], []
        for _ in range(number):
            frequency = rng.uniform(1, 5)
            wave = np.sin(2 * np.pi * frequency * time_axis)[None] + 0.1 * rng.standard_normal((1, len(time_axis)))
            values.append(wave.astype(np.float32))
            targets.append(float(offset + scale * frequency))
        return {"input_values": values, "target": targets, "sampling_rate": [RATE] * number}

    parts = {"train": datasets.Dataset.from_dict(rows(count)), "test": datasets.Dataset.from_dict(rows(8))}
    datasets.DatasetDict(parts).save_to_disk(str(folder))
    return str(folder)


@pytest.fixture(scope="module")
def classification_set(tmp_path_factory):
    return _classification_set(tmp_path_factory.mktemp("cls") / "cls")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """40 rows of 10 s of noise at 50 Hz, as a `save_to_disk` corpus."""
    import datasets

    folder = tmp_path_factory.mktemp("corpus") / "corpus"
    rows = np.random.default_rng(0).standard_normal((40, 1, 500)).astype(np.float32)
    datasets.Dataset.from_dict({"input_values": rows, "sampling_rate": [RATE] * 40}).save_to_disk(str(folder))
    return str(folder)


def _finetune_arguments(output_dir, dataset, **trainer) -> FinetuneArguments:
    recipe = trainer.pop("recipe", "finetune")
    settings = {"max_steps": 1, "show_progress": False, "warmup_steps": 0, **trainer}
    return FinetuneArguments(
        output_dir=str(output_dir),
        dataset=dataset,
        model_config="tiny",
        recipe=recipe,
        trainer=TrainerSettings(**settings),
    )


def _pretrain_arguments(output_dir, corpus, **changes) -> PretrainArguments:
    values = dict(
        output_dir=str(output_dir),
        dataset=corpus,
        eval_split=None,
        model_config="tiny",
        max_steps=1,
        per_device_batch_size=8,
        warmup_steps=0,
        report_to="none",
        show_progress=False,
    )
    return PretrainArguments(**{**values, **changes})


def _saved_classifier(folder, broken: str | None = None, task_class=CiTrusForSequenceClassification):
    """A tiny task model and its extractor saved in `folder`; `broken="overflow"`: finite weights of 3e38 in its
    head's matrix (every output infinite or NaN, as a run that diverged leaves them)."""
    config = tiny_config(num_labels=2) if task_class is CiTrusForSequenceClassification else tiny_config()
    model = task_class(config)
    if broken == "overflow":
        with torch.no_grad():
            getattr(model, task_class.head_name).weight.fill_(3e38)
    model.save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    return folder


# --------------------------------------------------------------------------------------- 5, 6. regression targets


def test_huge_regression_targets_under_a_fine_tuning_are_warned_of(tmp_path, caplog):
    """Targets 1.1e7 to 1.5e7 (spread 1e6) under --recipe finetune were learnt as one constant without a word."""
    dataset = _regression_set(tmp_path / "huge", scale=1e6, offset=1e7)
    with caplog.at_level(logging.WARNING):
        finetune(_finetune_arguments(tmp_path / "run", dataset))
    assert "a fine-tuning's steps move the outputs by units" in caplog.text
    assert "divide them by 100000" in caplog.text and "--recipe probe" in caplog.text


def test_regression_targets_float32_rounds_are_warned_of_under_the_probe(tmp_path, caplog):
    """1e8 + f: the probe's float64 read-out, folded into the float32 head, rounds every prediction to a multiple of
    8 (MAE 2.0); 1e3 + f fits."""
    from citrus_hf.training.finetune import regression_target_notices

    dataset = _regression_set(tmp_path / "offset", offset=1e8)
    with caplog.at_level(logging.WARNING):
        finetune(_finetune_arguments(tmp_path / "run", dataset, recipe="probe", max_steps=-1))
    assert "rounds them to multiples of 8" in caplog.text and "subtract an offset" in caplog.text
    assert "a fine-tuning's steps" not in caplog.text  # the probe fits any scale
    frequencies = np.random.default_rng(0).uniform(1, 5, 20)
    assert regression_target_notices(1e3 + frequencies, trains=True) == []
    assert regression_target_notices(70 + 10 * frequencies, trains=True) == []  # heart rates
    assert len(regression_target_notices(1e7 + frequencies, trains=False)) == 1


# ------------------------------------------------------------------------------------------------- 7. warm-up


def test_a_finetune_warm_up_longer_than_the_run_is_warned_of(tmp_path, classification_set, caplog):
    with caplog.at_level(logging.WARNING):
        finetune(_finetune_arguments(tmp_path / "run", classification_set, max_steps=2, warmup_steps=1000))
    assert "--warmup-steps 1000 spans the whole run of 2 steps" in caplog.text


# ------------------------------------------------------------------------------------ 8, 9. learning rate and decay


@pytest.mark.parametrize("settings", [TrainerSettings, PretrainArguments])
def test_a_weight_decay_that_wipes_the_weights_is_refused(tmp_path, settings):
    extra = {"output_dir": str(tmp_path / "run")} if settings is PretrainArguments else {}
    with pytest.raises(ValueError, match=r"--weight-decay 1000 with --learning-rate 0.001: .*1 - learning rate x"):
        settings(learning_rate=1e-3, weight_decay=1000, **extra)
    settings(learning_rate=1e-3, weight_decay=999, **extra)  # just below: allowed


@pytest.mark.parametrize("settings", [TrainerSettings, PretrainArguments])
def test_a_learning_rate_beyond_float32_is_refused(tmp_path, settings):
    extra = {"output_dir": str(tmp_path / "run")} if settings is PretrainArguments else {}
    with pytest.raises(ValueError, match="--learning-rate 1e\\+39 is beyond float32's range"):
        settings(learning_rate=1e39, weight_decay=0.0, **extra)


# --------------------------------------------------------------------------------------- 10. one regression row


def test_one_regression_row_gets_advice_that_applies(tmp_path, caplog):
    """The probe advised "a larger --label-budget" when the budget already took the whole (one-row) split, and the
    validation warning spoke of "recordings per class" for a regression set."""
    dataset = _regression_set(tmp_path / "one", count=1)
    with caplog.at_level(logging.WARNING), pytest.raises(ValueError) as info:
        finetune(_finetune_arguments(tmp_path / "run", dataset, recipe="probe", max_steps=-1))
    message = str(info.value)
    assert "label-budget" not in message and "--recipe finetune" in message and "1 labelled example" in message
    assert "too few recordings to carve one" in caplog.text and "per class" not in caplog.text


def test_a_budget_below_the_pool_still_advises_a_larger_one(tmp_path):
    dataset = _regression_set(tmp_path / "reg")
    arguments = _finetune_arguments(tmp_path / "run", dataset, recipe="probe", max_steps=-1)
    arguments.label_budget = "1"
    with pytest.raises(ValueError, match=r"give a larger --label-budget \(the training pool holds"):
        finetune(arguments)
