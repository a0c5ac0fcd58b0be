"""Regression end to end, round 2 (audit 74): targets on other scales than heart rate's, several targets per window,
and what the user is told about them."""

from __future__ import annotations

import re

import datasets
import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForRegression
from citrus_hf.training.probe import embed_dataset, fit_probe, fit_ridge

# ------------------------------------------------------------------------- 1. the probe's penalty of several targets


def _two_targets_on_two_scales(rows: int = 100, features: int = 50):
    """Features `(rows, features)`, a heart rate of pure noise around 70 bpm (nothing to learn: the largest penalty
    fits it best) and a breathing rate in Hz, a thousandth of a linear read of the features (the smallest penalty
    fits it best)."""
    rng = np.random.default_rng(0)
    design = rng.standard_normal((rows, features))
    read = rng.standard_normal(features) / np.sqrt(features)
    heart_rate = 70 + 10 * rng.standard_normal(rows)
    return design, read, np.stack([heart_rate, 1e-3 * design @ read], axis=1)


def test_each_regression_target_gets_the_penalty_it_would_get_alone():
    """One penalty was chosen for every target by their mean leave-one-out error, which is the bpm target's: the
    breathing rate got the heart rate's penalty (1.0 of 13 tried against 1e-4 alone) and was predicted 2,000x worse
    (MAE 5e-4 against 2.5e-7, for a target of spread 1e-3) than by its own probe, only for the other target's unit."""
    design, read, targets = _two_targets_on_two_scales()
    both = fit_ridge(design, targets, penalty_per_target=True)
    for column in range(2):
        alone = fit_ridge(design, targets[:, column])
        assert both.alpha[column] == alone.alpha
        np.testing.assert_allclose(both.weight[:, column], alone.weight[:, 0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(both.bias[column], alone.bias[0], rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(both.loo_predictions[:, column], alone.loo_predictions[:, 0], rtol=1e-9)
    new = np.random.default_rng(1).standard_normal((200, design.shape[1]))
    error = np.abs(new @ both.weight[:, 1] + both.bias[1] - 1e-3 * new @ read).mean()
    assert error < 1e-5  # (the shared penalty: 5e-4)


def test_a_regressor_probe_fits_each_target_as_its_own_probe_would():
    """fit_probe of a two-target CiTrusForRegression: the second target's head is the one-target probe's."""
    torch.manual_seed(0)
    inputs = torch.randn(16, 1, 200)
    model = CiTrusForRegression(tiny_config(num_targets=2)).eval()
    alone_model = CiTrusForRegression(tiny_config(num_targets=1)).eval()
    alone_model.base_model.load_state_dict(model.base_model.state_dict())
    from datasets import Dataset

    def rows(labels):
        values = {
            "input_values": inputs.numpy(),
            "patch_mask": np.ones((len(inputs), 10), dtype=np.int64),
            "labels": labels,
        }
        return Dataset.from_dict(values).with_format("torch")

    features = embed_dataset(model, rows(np.zeros(16)))
    rate = 1e-3 * (features[:, :4].sum(axis=1))  # a breathing rate read from the features, in Hz
    targets = np.stack([70 + 10 * np.random.default_rng(0).standard_normal(16), rate], axis=1)
    fit_probe(model, rows(targets.tolist()), "regression")
    fit_probe(alone_model, rows(rate.tolist()), "regression")
    torch.testing.assert_close(model.regressor.weight[1], alone_model.regressor.weight[0], rtol=1e-4, atol=1e-9)
    torch.testing.assert_close(model.regressor.bias[1], alone_model.regressor.bias[0], rtol=1e-5, atol=1e-9)


# ------------------------------------------------------------------ 2. the first batch's warning of several targets


@pytest.fixture(scope="module")
def two_target_regressor():
    """citrus-small's encoder under a new head of two named targets (its features are large enough that the new
    head's random weights move an output by about 0.25)."""
    return CiTrusForRegression.from_pretrained(
        "citrus-small", num_targets=2, id2label={0: "heart_rate", 1: "breathing_rate"}
    )


def _heart_and_breathing_rates(rows: int = 8) -> torch.Tensor:
    """`(rows, 2)`: heart rates near 70 bpm (spread 5) and breathing rates near 0.3 Hz (spread 0.002)."""
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(rows, 2, generator=generator)
    return torch.stack([70 + 5 * noise[:, 0], 0.3 + 2e-3 * noise[:, 1]], dim=1)


def test_a_target_far_off_beside_one_of_a_larger_spread_is_warned_of(two_target_regressor, caplog):
    """Started at the targets' means, the breathing rate came out at 0.55 for targets of 0.300 +- 0.002 (100x its
    spread), and nothing was said: each target's offset was judged against the heart rate's spread of 5."""
    model = two_target_regressor.train()
    targets = _heart_and_breathing_rates()
    model.init_regressor_bias(targets)
    model._target_offset_checked = False
    torch.manual_seed(0)
    with caplog.at_level("WARNING"):
        model(input_values=torch.randn(8, 1, model.config.context_length), labels=targets)
    assert "although the head starts at the targets' mean" in caplog.text
    assert re.search(r"\(heart_rate \d+\.\d+, breathing_rate 0\.\d+\) while", caplog.text)
    assert "Standardise the targets" in caplog.text


def test_the_offset_warning_shows_each_targets_mean_by_its_name(two_target_regressor, caplog):
    """It said "targets average 35.48": a heart rate near 70 and a breathing rate near 0.3 averaged together."""
    model = CiTrusForRegression(two_target_regressor.config).train()
    with caplog.at_level("WARNING"):
        model(input_values=torch.randn(8, 1, model.config.context_length), labels=_heart_and_breathing_rates())
    assert re.search(r"targets average \(heart_rate 70\.\d+, breathing_rate 0\.\d+\) while", caplog.text)
    assert "init_regressor_bias" in caplog.text


# ------------------------------------------------------------------- 3. the targets init_regressor_bias reads


def _targets_set(labels) -> datasets.Dataset:
    return datasets.Dataset.from_dict({"labels": labels})


def test_init_regressor_bias_reads_a_torch_formatted_column_of_several_targets():
    """`model.init_regressor_bias(train["labels"])` (the README's line) on a set in torch format: a column of a tensor
    per row was refused, "must be a tensor, numpy array or list of numbers, got Column"."""
    model = CiTrusForRegression(tiny_config(num_targets=2))
    rows = _targets_set([[70.0, 0.25], [72.0, 0.35], [74.0, 0.30]]).with_format("torch")
    model.init_regressor_bias(rows["labels"])
    torch.testing.assert_close(model.regressor.bias.detach(), torch.tensor([72.0, 0.30]))


def test_init_regressor_bias_reads_a_pandas_table_of_targets():
    """A scikit-learn habit, `y = frame[["heart_rate", "breathing_rate"]]`: "could not determine the shape of object
    type 'DataFrame'"."""
    pandas = pytest.importorskip("pandas")
    model = CiTrusForRegression(tiny_config(num_targets=2))
    model.init_regressor_bias(pandas.DataFrame({"heart_rate": [70.0, 74.0], "breathing_rate": [0.2, 0.4]}))
    torch.testing.assert_close(model.regressor.bias.detach(), torch.tensor([72.0, 0.30]))


def test_rows_of_different_target_counts_are_refused_as_such():
    model = CiTrusForRegression(tiny_config(num_targets=2))
    rows = _targets_set([[70.0, 0.25], [72.0]]).with_format("torch")
    with pytest.raises(ValueError, match=r"`targets` rows have different shapes \(\(1,\), \(2,\)\)"):
        model.init_regressor_bias(rows["labels"])


# ------------------------------------------------------------------- 4. the Trainer's card of several targets


@pytest.mark.parametrize("names", [{0: "heart_rate", 1: "breathing_rate"}, None])
def test_a_trainer_card_of_several_targets_reports_each_targets_metrics(tmp_path, names):
    """Its model-index held `mae` 1.02 alone, a heart rate's error in bpm and a breathing rate's in Hz averaged:
    `mae_heart_rate` / `mae_1` and the others of each target, which the Trainer logged, were dropped."""
    from huggingface_hub import ModelCard
    from transformers import Trainer, TrainingArguments

    from citrus_hf.training.metrics import compute_metrics_fn

    config = tiny_config(num_targets=2) if names is None else tiny_config(num_targets=2, id2label=names)
    model = CiTrusForRegression(config)
    rows = datasets.Dataset.from_dict(
        {
            "input_values": np.random.default_rng(0).standard_normal((4, 1, 200)).astype(np.float32),
            "labels": [[70.0, 0.25], [72.0, 0.35], [74.0, 0.30], [71.0, 0.28]],
        }
    )
    model.init_regressor_bias(rows["labels"])
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=1, report_to=[], save_strategy="no", use_cpu=True)
    scoring = compute_metrics_fn("regression", target_names=model.config.target_names)
    trainer = Trainer(model=model, args=args, train_dataset=rows, eval_dataset=rows, compute_metrics=scoring)
    logged = trainer.evaluate()
    trainer.create_model_card(dataset_tags="my_rates")
    card = ModelCard.load(tmp_path / "README.md")
    indexed = {result.metric_type: result.metric_value for result in card.data.eval_results}
    second = "breathing_rate" if names else "1"
    for metric in ("mae", "rmse", "pearson_r"):
        assert indexed[f"{metric}_{second}"] == pytest.approx(logged[f"eval_{metric}_{second}"])


# ------------------------------------------------------------------------ 5. data info of several targets per row


def test_data_info_gives_each_target_of_a_row_its_own_statistics():
    """A heart rate and a breathing rate per row were summarised as one pool of values, "mean 42.52, sd 34.48, range
    0.25 to 72": the statistics of neither target."""
    from citrus_hf.commands.data import format_info
    from citrus_hf.data.builders import summarize_dataset

    rows = {
        "input_values": [np.zeros((1, 100), np.float32)] * 3,
        "target": [[70.0, 0.25], [72.0, 0.35], [70.0, float("nan")]],
    }
    summary = summarize_dataset(datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows)}), sampling_rate=100)
    heart, breathing = summary["splits"]["train"]["targets"]
    assert heart == pytest.approx({"mean": 70.6667, "std": 0.9428, "min": 70.0, "max": 72.0}, abs=1e-4)
    assert breathing == pytest.approx({"mean": 0.3, "std": 0.05, "min": 0.25, "max": 0.35, "not_finite": 1})
    text = format_info({"name": "rates", "task": "regression", "options": {}, **summary})
    assert "target 0 train: mean 70.67, sd 0.9428, range 70 to 72" in text
    assert "target 1 train: mean 0.3, sd 0.05, range 0.25 to 0.35 (1 target not finite)" in text


# ------------------------------------------------------------------- 6. the offset warning with batches of one


def test_batches_of_one_example_are_judged_together_for_the_offset_warning(tmp_path, caplog):
    """With `per_device_train_batch_size=1` every batch held one example, which has no spread, so a head at 0 on
    heart rates near 70 trained to the end without the warning the README promises at the first training batch."""
    from transformers import Trainer, TrainingArguments

    model = CiTrusForRegression(tiny_config())
    rows = datasets.Dataset.from_dict(
        {
            "input_values": np.random.default_rng(0).standard_normal((3, 1, 200)).astype(np.float32),
            "labels": [70.0, 72.0, 74.0],
        }
    )
    args = TrainingArguments(
        output_dir=str(tmp_path), max_steps=3, per_device_train_batch_size=1, report_to=[], save_strategy="no",
        use_cpu=True,
    )  # fmt: skip
    with caplog.at_level("WARNING"):
        Trainer(model=model, args=args, train_dataset=rows).train()
    assert caplog.text.count("the first 2 training batches' targets average 7") == 1
    assert "init_regressor_bias" in caplog.text
