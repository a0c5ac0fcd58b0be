"""Audit 79 (mutation testing of `citrus finetune`'s driver, closing the recipes audit's unrun mutants): each test
here kills a mutant of `training/finetune.py`, the settings checks, the fine-tuning recipe's validation hand-over or
an augmentation that the rest of the suite let through (the class weights or the regressor's bias read from the pool
rather than the draw, the draw's seed, the recipe "auto" picks from windows rather than recordings, ...). The
`finetune()` runs here train nothing: a recorder stands in for `fit_recipe` and hands the model back as built. The
expected values are worked out in the comments."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import torch
from test_imbalance_audit66 import _finetune as _imbalance_finetune

from citrus_hf.training.recipes import RecipeOutcome

RATE = 100.0


def _save_set(folder, train_labels, test_labels=(0, 1), regression: bool = False) -> str:
    """A save_to_disk set of 1-channel 2 s windows at 100 Hz, one row (recording) per label of `train_labels` and
    `test_labels`: class ids (a ClassLabel "label"), or float targets ("target") with `regression`."""
    rng = np.random.default_rng(0)
    t = np.arange(200) / RATE
    parts = {}
    for split, labels in (("train", train_labels), ("test", test_labels)):
        rows = [(np.sin(2 * np.pi * (3 + 2 * float(c)) * t) + 0.3 * rng.standard_normal(200))[None] for c in labels]
        values = {"input_values": [r.astype(np.float32) for r in rows], "sampling_rate": [RATE] * len(labels)}
        if regression:
            values["target"] = [float(c) for c in labels]
        else:
            values["label"] = [int(c) for c in labels]
        parts[split] = datasets.Dataset.from_dict(values)
    if not regression:
        names = datasets.ClassLabel(names=["a", "b", "c"][: 1 + int(max(train_labels))])
        parts = {split: part.cast_column("label", names) for split, part in parts.items()}
    datasets.DatasetDict(parts).save_to_disk(str(folder))
    return str(folder)


@pytest.fixture
def recorded_fit(monkeypatch):
    """Replace the recipe's fit inside `finetune()` by a recorder: each call's recipe, the model as built (its head
    and config), the training and validation sets and the fit's options are kept, and the model comes back unfitted
    (the run then scores and saves it as usual)."""
    import importlib

    # (`citrus_hf.training.finetune` the attribute is the function: the module is imported by its name)
    finetune_module = importlib.import_module("citrus_hf.training.finetune")
    calls = []

    def recorder(recipe, model, train, validation, task, settings, output_dir, **options):
        calls.append(
            {
                "recipe": recipe.name,
                "model": model,
                "state": {name: value.detach().clone() for name, value in model.state_dict().items()},
                "train": train,
                "validation": validation,
                "options": options,
            }
        )
        return RecipeOutcome(model=model)

    monkeypatch.setattr(finetune_module, "fit_recipe", recorder)
    return calls


def _finetune(tmp_path, dataset, name="run", seed: int = 3, **changes):
    """`finetune()` of the tiny model on `dataset` at seed `seed` (test_imbalance_audit66's, with the seed)."""
    return _imbalance_finetune(tmp_path, dataset, name, trainer={"seed": seed}, **changes)


def _tiny_classifier():
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForSequenceClassification

    torch.manual_seed(0)
    return CiTrusForSequenceClassification(tiny_config(num_labels=2))


# ------------------------------------------------------------------------------------- what the draw decides


def test_balanced_class_weights_are_those_of_the_drawn_examples(tmp_path, recorded_fit):
    """A pool of 8 + 2 (the probe: no carve) and a budget of 2 per class: the draw is 2 + 2, whose balanced weights
    are 1 and 1 (mutant: the pool's, 10 / (2 x 8) and 10 / (2 x 2))."""
    dataset = _save_set(tmp_path / "set", [0] * 8 + [1] * 2)
    _finetune(tmp_path, dataset, recipe="probe", label_budget="2", class_weight="balanced")
    np.testing.assert_allclose(recorded_fit[0]["options"]["class_weights"], [1.0, 1.0])


def test_the_regressor_starts_at_the_drawn_targets_mean(tmp_path, recorded_fit):
    """Targets 0..9 and a budget of 30 % (the probe: no carve): the head's bias starts at the mean of the 3 drawn
    targets (mutant: of the whole pool, 4.5)."""
    dataset = _save_set(tmp_path / "set", list(range(10)), test_labels=(1.0, 2.0), regression=True)
    _finetune(tmp_path, dataset, recipe="probe", label_budget="30%")
    drawn = np.asarray(recorded_fit[0]["train"]["labels"], dtype=np.float64)
    assert len(drawn) == 3 and drawn.mean() != 4.5
    bias = recorded_fit[0]["state"]["regressor.bias"]
    np.testing.assert_allclose(bias.numpy(), [drawn.mean()], rtol=1e-6)


def test_the_probe_s_head_pools_what_the_drawn_examples_carry(tmp_path, recorded_fit):
    """A pool of 4 + 4 and a budget of 1 per class: the probe's head pools mean and max only, as one example per
    class takes (mutant: the pool's 4 per class, the spread and dynamics too)."""
    dataset = _save_set(tmp_path / "set", [0] * 4 + [1] * 4)
    _finetune(tmp_path, dataset, recipe="probe", label_budget="1")
    assert recorded_fit[0]["model"].config.pooling == "mean_max"


def _recordings_of_windows(folder, recordings: int = 4, windows: int = 8):
    """Class folders of .npy recordings at 50 Hz: `recordings` training recordings per class, each `windows` 2 s
    windows long, and 1 test recording per class."""
    rng = np.random.default_rng(0)
    for split, count in (("train", recordings), ("test", 1)):
        for name, frequency in (("slow", 2.0), ("fast", 9.0)):
            (folder / split / name).mkdir(parents=True)
            time = np.arange(windows * 100) / 50.0
            for index in range(count):
                signal = np.sin(2 * np.pi * frequency * time) + rng.normal(0, 0.3, time.size)
                np.save(folder / split / name / f"{name}{index}.npy", signal[None].astype(np.float32))
    return str(folder)


def test_auto_counts_the_recordings_drawn_not_their_windows(tmp_path, recorded_fit):
    """4 recordings per class of 8 windows of 2 s each: "auto" counts the labelled recordings per class (3 or 4, as
    the validation carve leaves them) and takes the probe (mutant: their windows, 24 or more per class, so
    probe-finetune); the results count the 8 recordings drawn, not their 64 windows (mutant: the windows)."""
    folder = _recordings_of_windows(tmp_path / "set")
    result = _finetune(tmp_path, folder, dataset_options={"window_seconds": 2}, sampling_rate=50.0, recipe="auto")
    assert recorded_fit[0]["recipe"] == "probe"
    assert (result.num_train_examples, result.num_train) == (8, 64)  # (the probe reads no validation: no carve)


def test_the_draw_and_the_model_follow_the_run_s_seed(tmp_path, recorded_fit):
    """The same seed draws the same examples and builds the same head; another seed draws others and builds
    another head (mutants: the draw at seed 0, or the model seeded with 0, whatever the run's seed)."""
    dataset = _save_set(tmp_path / "set", [0] * 8 + [1] * 8)
    for name, seed in (("first", 3), ("again", 3), ("other", 4)):
        _finetune(tmp_path, dataset, name=name, seed=seed, recipe="finetune", label_budget="2")
    first, again, other = ([np.asarray(row) for row in call["train"]["input_values"]] for call in recorded_fit)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    weights = [call["state"]["classifier.weight"] for call in recorded_fit]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])


# ------------------------------------------------------------------------------------------- direct helpers


def test_a_regression_head_starts_at_the_targets_mean_not_their_median():
    """Targets 0, 0 and 3: mean 1 (mutant: the median, 0)."""
    from citrus_hf.training.finetune import init_regression_bias

    head = torch.nn.Linear(4, 1)
    init_regression_bias(head, np.array([0.0, 0.0, 3.0]))
    assert head.bias.item() == 1.0


def test_one_drawn_example_is_refused_for_the_probe_two_are_not():
    """The probe needs 2 labelled examples: 1 is refused (mutant: `>= 1`), 2 pass."""
    from citrus_hf.training.finetune import FinetuneArguments, _check_enough_for_the_probe
    from citrus_hf.training.recipes import RECIPES

    arguments = FinetuneArguments(output_dir="unused", dataset="set")
    with pytest.raises(ValueError, match=r"1 labelled example to fit, and recipe 'probe' needs at least 2"):
        _check_enough_for_the_probe(arguments, RECIPES["probe"], 1, 10)
    _check_enough_for_the_probe(arguments, RECIPES["probe"], 2, 10)


# ------------------------------------------------------------------------------------ the fine-tuning recipe


def test_a_validation_split_too_small_for_early_stopping_is_not_handed_to_the_trainer(tmp_path, monkeypatch):
    """Validation of 2 windows of one class: too few to early-stop on, so the Trainer gets none (mutant: it got the 2
    windows, and chose its kept step on them)."""
    from datasets import Dataset

    from citrus_hf.training import trainer
    from citrus_hf.training.recipes import RECIPES
    from citrus_hf.training.settings import TrainerSettings

    handed = []

    def recorder(model, train, validation, task, output_dir, settings, *args, class_weights=None):
        handed.append(validation)
        return {"trainer": type("Fitted", (), {"model": model}), "steps": 1, "best_step": None, "history": []}

    monkeypatch.setattr(trainer, "train_with_trainer", recorder)
    labels = np.arange(8) % 2
    inputs = np.random.default_rng(0).standard_normal((8, 1, 200)).astype(np.float32)
    rows = {"input_values": inputs, "patch_mask": np.ones((8, 10), dtype=np.int64), "labels": labels}
    train = Dataset.from_dict(rows).with_format("torch")
    outcome = RECIPES["finetune"].fit(
        _tiny_classifier(), train, train.select([0, 2]), "classification", TrainerSettings(max_steps=1), tmp_path
    )
    assert handed == [None] and outcome.details["early_stopping"] is False


def test_the_scale_leaves_a_non_zero_padding_as_it_was():
    """A window padded with 5.0 (an extractor's non-zero `padding_value`) past its 30 real samples: the scale
    multiplies the real samples only (mutant: the padding too, which a padding of 0 could not show)."""
    from citrus_hf.training.augment import augmented_window

    window = torch.full((2, 50), 5.0)
    window[:, :30] = 1.0
    scaled = augmented_window(window, 30, ["scale"], seed=3)
    assert torch.equal(scaled[:, 30:], window[:, 30:]) and not torch.equal(scaled[:, :30], window[:, :30])


# ------------------------------------------------------------------------------------------------ settings


def test_a_zero_where_a_setting_must_be_above_zero_and_a_fraction_of_zero_are_refused():
    """A learning rate of 0 trains nothing: refused (mutant: only negatives refused); a validation fraction of 0
    carves nothing: refused, as the help says "strictly between 0 and 1" (mutant: `0 <=`)."""
    from citrus_hf.training.settings import check_fraction, check_positive

    with pytest.raises(ValueError, match=r"--learning-rate must be a finite number above 0, got 0"):
        check_positive("learning_rate", 0)
    with pytest.raises(ValueError, match=r"--validation-fraction must be a number strictly between 0 and 1, got 0"):
        check_fraction("validation_fraction", 0)


def test_the_default_fine_tuning_settings_are_those_the_published_benchmark_ran_with():
    """benchmarks/results/few_shot ran the protocol's default fine-tuning settings, and its protocol.json records them:
    the defaults may not drift from the published figures (mutants: learning rate 1e-4, no warm-up)."""
    import json
    from pathlib import Path

    from citrus_hf.evaluation.settings import default_finetune_settings

    protocol = Path(__file__).resolve().parents[1] / "benchmarks/results/few_shot/protocol.json"
    published = json.loads(protocol.read_text())["finetune"]
    settings = default_finetune_settings()
    for name in ("learning_rate", "warmup_steps", "weight_decay", "lr_scheduler_type", "per_device_batch_size"):
        assert getattr(settings, name) == published[name], name
