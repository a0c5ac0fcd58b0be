"""Classes of unequal size (the imbalance audit of session 66):

1. one class with a single labelled window switched the probe to its one-example-per-class settings for every class
   (pooling "mean_max", penalty fixed at 0.1, shrunk spreads), silently: on 60 + 60 + 1 windows the two large classes
   fell to chance. The rules now read what carries the fit (leave-one-out over the rows of the classes with 2 or
   more; spread and dynamics when those classes hold most examples), bit for bit as before when every class has one
   count, and `citrus finetune` says in one line which rare class changed which setting;
2. the validation carve took one of a class's two examples even for the probe, which reads no validation split, and
   the --label-budget message counted the pool after the carve without saying so;
3. `validation_is_usable` counted the classes present in validation only, so a split without a class drove early
   stopping, where AUROC was NaN at every evaluation and transformers' early stopping took NaN for "no better";
4. a test split without one of the model's classes was said on stderr only, not in finetune_results.json, the model
   card or `citrus evaluate`'s reports;
5. finetune_results.json had no per-class numbers, and nothing weighed the classes (`--class-weight balanced` now).
"""

from __future__ import annotations

import json
import logging
import math

import datasets
import numpy as np
import pytest
import torch
from tiny_configs import TINY, tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.training import probe
from citrus_hf.training.recipes import PROBE_CLASSIFICATION_POOLING, RECIPES

RATE = 100.0
CONTRACT = {key: TINY[key] for key in ("sampling_rate", "context_length", "patch_length")}
NAMES = ["big", "mid", "rare"]


def _aligned(labels, seed: int = 0):
    """An aligned dataset (torch format) of 1-channel windows of the tiny contract, one per label."""
    labels = np.asarray(labels)
    inputs = np.random.default_rng(seed).standard_normal((len(labels), 1, 200)).astype(np.float32)
    inputs += np.sin(np.arange(200) * (labels[:, None, None] + 1) / 5.0).astype(np.float32)
    rows = {"input_values": inputs, "patch_mask": np.ones((len(labels), 10), dtype=np.int64), "labels": labels}
    return datasets.Dataset.from_dict(rows).with_format("torch")


def _probe_model(labels, recipe: str = "probe"):
    torch.manual_seed(0)
    overrides = RECIPES[recipe].head_overrides_for(np.asarray(labels), "classification")
    return CiTrusForSequenceClassification(tiny_config(num_labels=3, **overrides))


def _expected_readout(model, rows, alphas, spread_shrinkage=0.0):
    """The read-out of `probe.fit_ridge` called as the one-number rule calls it (the pooling's column weights included)."""
    features = probe.embed_dataset(model, rows)
    weights = None
    if model.config.pooling == "mean_max_std_dynamics":
        weights = probe.dynamics_column_weights(
            features.shape[1], model.config.d_model, probe.CLASSIFICATION_DYNAMICS_WEIGHT
        )
    codes = probe.class_codes(rows.with_format("numpy")["labels"], 3)
    return probe.fit_ridge(features, codes, alphas, weights, spread_shrinkage=spread_shrinkage)


# --------------------------------------------------------------------------- 1. the probe's rules, class by class


@pytest.mark.parametrize("per_class", [1, 2, 5])
def test_every_class_at_one_count_fits_the_probe_bit_for_bit_as_the_one_number_rule(per_class):
    """The rules were chosen on balanced draws: there nothing may change, to the bit (head, penalty, spreads)."""
    from citrus_hf.training.recipes import rare_class_notice

    labels = np.arange(3 * per_class) % 3
    pooling = "mean_max" if per_class == 1 else PROBE_CLASSIFICATION_POOLING
    assert RECIPES["probe"].head_overrides_for(labels, "classification") == {
        "head_features": "all_layers",
        "pooling": pooling,
    }
    lpft_pooling = RECIPES["probe-finetune"].head_overrides_for(labels, "classification")["pooling"]
    assert lpft_pooling == ("mean_max" if per_class == 1 else "mean_max_std")
    model, rows = _probe_model(labels), _aligned(labels)
    readout = probe.fit_probe(model, rows, "classification")
    if per_class == 1:
        expected = _expected_readout(model, rows, (probe.ONE_SHOT_ALPHA,), probe.ONE_SHOT_SPREAD_SHRINKAGE)
    else:
        expected = _expected_readout(model, rows, probe.DEFAULT_ALPHAS)
    assert readout.alpha == expected.alpha
    for name in ("weight", "bias", "loo_errors", "loo_predictions"):
        np.testing.assert_array_equal(getattr(readout, name), getattr(expected, name), err_msg=name)
    np.testing.assert_array_equal(model.classifier.weight.detach().numpy(), expected.weight.T.astype(np.float32))
    assert rare_class_notice("auto", RECIPES["probe"], labels, "classification", NAMES) is None


def test_a_class_of_one_beside_large_ones_leaves_the_others_their_settings():
    """8 + 8 + 1: the spread and dynamics are pooled, and the penalty is the leave-one-out choice over the 16 rows of
    the two large classes (the singleton's error only grows as the penalty shrinks), with unshrunk spreads."""
    labels = np.array([0] * 8 + [1] * 8 + [2])
    assert RECIPES["probe"].head_overrides_for(labels, "classification")["pooling"] == PROBE_CLASSIFICATION_POOLING
    assert RECIPES["probe-finetune"].head_overrides_for(labels, "classification")["pooling"] == "mean_max_std"
    model, rows = _probe_model(labels), _aligned(labels)
    readout = probe.fit_probe(model, rows, "classification")
    # the choice, from the leave-one-out predictions of each penalty alone, scored on the large classes' rows only
    codes, large = probe.class_codes(labels, 3), labels < 2
    errors = [
        np.mean((codes[large] - _expected_readout(model, rows, (alpha,)).loo_predictions[large]) ** 2)
        for alpha in probe.DEFAULT_ALPHAS
    ]
    assert readout.alpha == probe.DEFAULT_ALPHAS[int(np.argmin(errors))] != probe.ONE_SHOT_ALPHA
    np.testing.assert_allclose(readout.weight, _expected_readout(model, rows, (readout.alpha,)).weight)


def test_classes_of_one_that_carry_the_set_keep_the_one_example_per_class_settings():
    """2 + 1 + 1 (and 2 + 2 + 1 x 6): the classes with two or more do not hold most examples, so the probe fits as at
    one example per class, as before."""
    for labels in (np.array([0, 0, 1, 2]), np.array([0, 0, 1, 1, *range(2, 8)])):
        assert RECIPES["probe"].head_overrides_for(labels, "classification")["pooling"] == "mean_max"
    labels = np.array([0, 0, 1, 2])
    model, rows = _probe_model(labels), _aligned(labels)
    readout = probe.fit_probe(model, rows, "classification")
    expected = _expected_readout(model, rows, (probe.ONE_SHOT_ALPHA,), probe.ONE_SHOT_SPREAD_SHRINKAGE)
    np.testing.assert_array_equal(readout.weight, expected.weight)


def test_the_rare_class_notice_names_the_class_its_count_and_the_settings():
    from citrus_hf.training.recipes import rare_class_notice, resolve_recipe

    labels = np.array([0] * 30 + [1] * 30 + [2])
    notice = rare_class_notice("auto", RECIPES["probe"], labels, "classification", NAMES)
    assert "'rare' (1)" in notice and "leave-one-out" in notice and "'auto' fits the probe" in notice
    # "auto" still reads the smallest class (LP-FT measured behind the probe where classes have few examples)
    assert resolve_recipe("auto", 1.0).name == "probe"
    notice = rare_class_notice("probe", RECIPES["probe"], np.array([0, 0, 1, 2]), "classification", NAMES)
    assert "'mid' (1), 'rare' (1)" in notice and "one-example-per-class settings" in notice and "'mean_max'" in notice
    assert rare_class_notice("finetune", RECIPES["finetune"], labels, "classification", NAMES) is None


def _save_set(folder, splits: dict[str, dict[int, int]], names=NAMES):
    """A save_to_disk set of 1-channel 2 s windows at 100 Hz: `splits` maps a split to {class id: count}; each row is
    its own recording."""
    features = datasets.Features(
        {
            "input_values": datasets.Sequence(datasets.Sequence(datasets.Value("float32"))),
            "label": datasets.ClassLabel(names=names),
            "sampling_rate": datasets.Value("float32"),
        }
    )
    parts = {}
    for index, (split, counts) in enumerate(splits.items()):
        labels = [c for c, n in counts.items() for _ in range(n)]
        rng = np.random.default_rng(index)
        t = np.arange(200) / RATE
        rows = [
            (np.sin(2 * np.pi * (3 + 4 * c) * t + rng.uniform(0, 6)) + 0.3 * rng.standard_normal(200))[None]
            for c in labels
        ]
        values = {
            "input_values": [r.astype(np.float32) for r in rows],
            "label": labels,
            "sampling_rate": [RATE] * len(labels),
        }
        parts[split] = datasets.Dataset.from_dict(values, features=features)
    datasets.DatasetDict(parts).save_to_disk(str(folder))
    return str(folder)


def _finetune(tmp_path, dataset, name="run", **changes):
    from citrus_hf.training.finetune import FinetuneArguments, TrainerSettings, finetune

    trainer = {"show_progress": False, **changes.pop("trainer", {})}
    return finetune(
        FinetuneArguments(
            output_dir=str(tmp_path / name),
            dataset=dataset,
            model_config="tiny",
            config_overrides=CONTRACT,
            trainer=TrainerSettings(**trainer),
            **changes,
        )
    )


def _warnings(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


def test_finetune_says_in_one_line_which_rare_class_changed_which_setting(tmp_path, caplog):
    dataset = _save_set(
        tmp_path / "set", {"train": {0: 8, 1: 8, 2: 1}, "validation": {0: 5, 1: 5, 2: 5}, "test": {0: 3, 1: 3, 2: 3}}
    )
    with caplog.at_level("WARNING", logger="citrus_hf"):
        result = _finetune(tmp_path, dataset, recipe="probe")
    lines = [line for line in _warnings(caplog) if "'rare' (1)" in line]
    assert len(lines) == 1 and "leave-one-out" in lines[0], _warnings(caplog)
    assert result.recipe_details["ridge_alpha"] in probe.DEFAULT_ALPHAS
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["pooling"] == PROBE_CLASSIFICATION_POOLING


# ----------------------------------------------------------------------------- 2. no carve for the probe


def test_the_probe_takes_no_validation_carve_and_keeps_every_labelled_example(tmp_path):
    """8 + 8 + 2 without a validation split: the carve took one of the two 'rare' windows, and the probe then fitted
    as at one example per class; it reads no validation split, so nothing is carved."""
    dataset = _save_set(tmp_path / "set", {"train": {0: 8, 1: 8, 2: 2}, "test": {0: 3, 1: 3, 2: 3}})
    result = _finetune(tmp_path, dataset, recipe="probe")
    assert (result.num_train, result.num_validation) == (18, 0)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["pooling"] == PROBE_CLASSIFICATION_POOLING
    record = json.loads((tmp_path / "run" / "finetune_results.json").read_text())
    assert "reads no validation split" in record["validation_source"]
    assert len(record["train_indices"]) == 18


def test_the_label_budget_message_says_what_the_carve_took(tmp_path, caplog):
    """A recipe that early-stops still gets the carve; the budget's message says it took examples of the short class."""
    dataset = _save_set(tmp_path / "set", {"train": {0: 12, 1: 12, 2: 4}, "test": {0: 2, 1: 2, 2: 2}})
    with caplog.at_level("WARNING", logger="citrus_hf"):
        result = _finetune(tmp_path, dataset, recipe="finetune", label_budget="5", trainer={"max_steps": 2})
    assert result.num_validation > 0
    line = next(line for line in _warnings(caplog) if line.startswith("--label-budget"))
    assert "the validation split carved out of train took {'rare': 1}" in line, line


# ------------------------------------------------------------------- 3. a validation split without a class


def test_a_validation_split_without_a_training_class_drives_no_early_stopping():
    from citrus_hf.training.recipes import validation_is_usable

    only_negatives = datasets.Dataset.from_dict({"labels": [0] * 20})
    assert not validation_is_usable(only_negatives, "classification", np.array([0, 1] * 10))
    both = datasets.Dataset.from_dict({"labels": [0, 1] * 5})
    assert validation_is_usable(both, "classification", np.array([0, 1] * 10))
    assert not validation_is_usable(both, "classification", np.array([0, 1, 2] * 10))


def test_finetune_names_the_classes_its_validation_split_lacks(tmp_path, caplog):
    dataset = _save_set(
        tmp_path / "set", {"train": {0: 6, 1: 6, 2: 6}, "validation": {0: 10, 1: 10}, "test": {0: 2, 1: 2, 2: 2}}
    )
    with caplog.at_level("WARNING", logger="citrus_hf"):
        result = _finetune(tmp_path, dataset, recipe="finetune", trainer={"max_steps": 4, "eval_steps": 1})
    assert result.recipe_details["early_stopping"] is False and result.steps == 4
    lines = [line for line in _warnings(caplog) if "no example of class(es) ['rare']" in line]
    assert len(lines) == 1 and "keeps its last weights" in lines[0], _warnings(caplog)


def test_an_undefined_metric_neither_improves_nor_counts_against_the_patience(caplog):
    from types import SimpleNamespace

    from transformers import TrainerControl

    from citrus_hf.training.callbacks import DefinedMetricEarlyStopping

    callback = DefinedMetricEarlyStopping(early_stopping_patience=2)
    args = SimpleNamespace(metric_for_best_model="auroc", greater_is_better=True)
    state, control = SimpleNamespace(best_metric=-math.inf, global_step=1), TrainerControl()
    with caplog.at_level("WARNING", logger="citrus_hf"):
        for _ in range(4):
            callback.on_evaluate(args, state, control, {"eval_auroc": math.nan})
    assert not control.should_training_stop and callback.early_stopping_patience_counter == 0
    assert len([line for line in _warnings(caplog) if "undefined (NaN)" in line]) == 1
    state.best_metric = 0.9
    for _ in range(2):  # a defined metric that does not improve still stops the run
        callback.on_evaluate(args, state, control, {"eval_auroc": 0.5})
    assert control.should_training_stop


# ------------------------------------------------- 4 and 5. what the records keep of the test split's classes


def test_finetune_results_keep_the_test_classes_and_the_card_notes_the_absent_one(tmp_path):
    from transformers import AutoConfig

    from citrus_hf.publishing.cards import build_model_card

    dataset = _save_set(tmp_path / "set", {"train": {0: 6, 1: 6, 2: 6}, "test": {0: 4, 1: 3}})
    result = _finetune(tmp_path, dataset, recipe="probe")
    record = json.loads((tmp_path / "run" / "finetune_results.json").read_text())
    classes = record["test_classes"]
    assert classes["classes"] == NAMES and classes["support"] == [4, 3, 0] and classes["absent"] == ["rare"]
    matrix = np.array(classes["confusion_matrix"])
    assert matrix.shape == (3, 3) and matrix.sum() == result.num_test and matrix[2].sum() == 0
    assert len(classes["f1"]) == 3 and (classes["f1"][2] is None or classes["f1"][2] == 0.0)
    card = str(build_model_card(AutoConfig.from_pretrained(tmp_path / "run"), run_dir=tmp_path / "run", repo_id="me/x"))
    evaluation = card[card.index("## Evaluation results") : card.index("## Limitations")]
    assert "has no example of class(es) 'rare' (1 of the model's 3 classes)" in evaluation


def test_per_class_report_counts_support_f1_and_the_confusion_matrix():
    from citrus_hf.training.metrics import per_class_report

    labels = np.array([0, 0, 1, 1, 1])
    logits = np.eye(3)[[0, 1, 1, 1, 0]]
    report = per_class_report(logits, labels, ["a", "b", "c"])
    assert report["support"] == [2, 3, 0] and report["absent"] == ["c"]
    assert report["confusion_matrix"] == [[1, 1, 0], [1, 2, 0], [0, 0, 0]]
    assert report["f1"][:2] == pytest.approx([0.5, 2 / 3]) and report["f1"][2] is None
    nan_logits = logits.copy()
    nan_logits[0, 0] = np.nan
    assert per_class_report(nan_logits, labels, ["a", "b", "c"])["confusion_matrix"] is None


def test_evaluate_reports_name_the_classes_the_scored_split_lacks(tmp_path):
    from citrus_hf.evaluation import ProtocolConfig, run_protocol

    dataset = _save_set(tmp_path / "set", {"train": {0: 6, 1: 6, 2: 6}, "test": {0: 4, 1: 3}})
    result = run_protocol(
        ProtocolConfig(
            output_dir=str(tmp_path / "eval"),
            datasets=[dataset],
            arms=["prior"],
            budgets=["all"],
            seeds=[0],
            show_progress=False,
        )
    )
    assert all(run["absent_classes"] == ["rare"] for run in result.runs)
    assert "The test split has no example of class(es) 'rare'" in result.markdown
    assert json.loads(result.paths["json"].read_text())["runs"][0]["absent_classes"] == ["rare"]


# -------------------------------------------------------------------------------------- 5. --class-weight


def _weighted_ridge_by_hand(features, targets, alpha_relative, weights, left_out=None):
    """Weighted ridge by its normal equations on the weighted-standardised design (without row `left_out`): the
    definition `probe.fit_ridge(sample_weights=...)` must match."""
    mean = weights @ features / weights.sum()
    scale = np.sqrt(weights @ (features - mean) ** 2 / weights.sum())
    design = (features - mean) / scale
    unit = (np.linalg.svd(design * np.sqrt(weights)[:, None], compute_uv=False) ** 2).mean()
    keep = np.ones(len(features), dtype=bool) if left_out is None else np.arange(len(features)) != left_out
    x, y, w = design[keep], targets[keep], weights[keep]
    xm, ym = w @ x / w.sum(), w @ y / w.sum()
    gram = (x - xm).T @ ((x - xm) * w[:, None]) + alpha_relative * unit * np.eye(x.shape[1])
    beta = np.linalg.solve(gram, (x - xm).T @ ((y - ym) * w[:, None]))
    return lambda rows: ym + (rows - xm) @ beta, design


def test_a_weighted_ridge_and_its_leave_one_out_errors_are_exact():
    rng = np.random.default_rng(0)
    features, labels = rng.standard_normal((14, 5)), np.array([0] * 10 + [1] * 4)
    targets, weights = probe.class_codes(labels, 2), np.where(labels == 1, 1.75, 0.7)
    readout = probe.fit_ridge(features, targets, (0.3,), sample_weights=weights)
    predict, design = _weighted_ridge_by_hand(features, targets, 0.3, weights)
    np.testing.assert_allclose(readout.predict(features), predict(design), atol=1e-9)
    loo = np.array([_weighted_ridge_by_hand(features, targets, 0.3, weights, i)[0](design[i]) for i in range(14)])
    np.testing.assert_allclose(readout.loo_predictions, loo, atol=1e-9)
    expected_error = weights @ np.mean((targets - loo) ** 2, axis=1) / weights.sum()
    assert readout.loo_errors[0] == pytest.approx(expected_error)
    # weights of 1 are the unweighted ridge
    np.testing.assert_allclose(
        probe.fit_ridge(features, targets, (0.3,), sample_weights=np.ones(14)).weight,
        probe.fit_ridge(features, targets, (0.3,)).weight,
    )


def test_balanced_class_weights_and_the_weighted_cross_entropy():
    from citrus_hf.training.recipes import class_weights_for
    from citrus_hf.training.trainer import weighted_cross_entropy

    labels = np.array([0] * 6 + [1] * 2)
    weights = class_weights_for(labels, 3, "balanced")
    np.testing.assert_allclose(weights, [8 / 12, 8 / 4, 1.0])
    assert weights[labels].mean() == pytest.approx(1.0)
    assert class_weights_for(labels, 3, "none") is None
    logits, targets = torch.randn(8, 3), torch.as_tensor(labels)
    loss = weighted_cross_entropy(weights)({"logits": logits}, targets)
    by_hand = (
        torch.as_tensor(weights[labels]).float() * torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    ).mean()
    assert float(loss) == pytest.approx(float(by_hand), rel=1e-6)


@pytest.mark.parametrize("recipe", ["probe", "finetune"])
def test_class_weight_balanced_is_applied_and_recorded(tmp_path, recipe):
    from transformers import AutoConfig

    from citrus_hf.publishing.cards import build_model_card

    splits = {"train": {0: 9, 1: 3}, "validation": {0: 5, 1: 5}, "test": {0: 3, 1: 3}}
    dataset = _save_set(tmp_path / "set", splits, names=["neg", "pos"])
    result = _finetune(tmp_path, dataset, recipe=recipe, class_weight="balanced", trainer={"max_steps": 2})
    assert result.recipe_details["class_weights"] == pytest.approx({"neg": 12 / 18, "pos": 2.0})
    record = json.loads((tmp_path / "run" / "finetune_results.json").read_text())
    assert record["arguments"]["class_weight"] == "balanced"
    card = str(build_model_card(AutoConfig.from_pretrained(tmp_path / "run"), run_dir=tmp_path / "run"))
    assert "| Class weights | balanced (neg 0.667, pos 2) |" in card
