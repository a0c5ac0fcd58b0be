"""The ridge read-out of the frozen-encoder probe: exact leave-one-out selection and folding into the head."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForRegression, CiTrusForSequenceClassification
from citrus_hf.training.probe import (
    CLASSIFICATION_DYNAMICS_WEIGHT,
    DEFAULT_ALPHAS,
    ONE_SHOT_ALPHA,
    ONE_SHOT_SPREAD_SHRINKAGE,
    class_codes,
    dynamics_column_weights,
    embed_dataset,
    fit_probe,
    fit_ridge,
)
from citrus_hf.vocabulary_citrus import POOLING_STATISTICS


def _standardised(features):
    """`(design, mean, scale, unit)` as `fit_ridge` defines them: columns centred and scaled (constant columns kept
    at scale 1), and the penalty's unit, the mean squared singular value of the design."""
    mean, scale = features.mean(0), features.std(0)
    scale[scale < 1e-12] = 1.0  # constant columns, as fit_ridge ignores them
    design = (features - mean) / scale
    return design, mean, scale, (np.linalg.svd(design, compute_uv=False) ** 2).mean()


def _brute_force_loo(features, targets, alpha_relative):
    """Refit without each example in turn (the definition the closed form must match)."""
    n = len(features)
    design, _, _, unit = _standardised(features)
    errors = []
    for i in range(n):
        keep = np.arange(n) != i
        x, y = design[keep], targets[keep]
        xm, ym = x.mean(0), y.mean(0)
        w = np.linalg.solve((x - xm).T @ (x - xm) + alpha_relative * unit * np.eye(x.shape[1]), (x - xm).T @ (y - ym))
        errors.append((targets[i] - (ym + (design[i] - xm) @ w)) ** 2)
    return float(np.mean(errors))


def _aligned(inputs: torch.Tensor, labels: torch.Tensor):
    """An aligned dataset as `align_task_split` returns it (torch format)."""
    from datasets import Dataset

    rows = {
        "input_values": inputs.numpy(),
        "patch_mask": np.ones((len(inputs), inputs.shape[-1] // 20), dtype=np.int64),
        "labels": labels.numpy(),
    }
    return Dataset.from_dict(rows).with_format("torch")


def test_ridge_leave_one_out_errors_are_exact():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((12, 5))
    targets = features @ rng.standard_normal((5, 2)) + 0.3 * rng.standard_normal((12, 2))
    readout = fit_ridge(features, targets)
    for index in (0, 6, 12):
        assert readout.loo_errors[index] == pytest.approx(
            _brute_force_loo(features, targets, DEFAULT_ALPHAS[index]), rel=1e-6
        )
    assert readout.alpha == DEFAULT_ALPHAS[int(np.argmin(readout.loo_errors))]


def test_ridge_leave_one_out_predictions_are_exact():
    rng = np.random.default_rng(2)
    features = rng.standard_normal((10, 4))
    targets = features @ rng.standard_normal((4, 3)) + 0.5 * rng.standard_normal((10, 3))
    readout = fit_ridge(features, targets, alphas=(0.3,))
    for i in (0, 4, 9):
        keep = np.arange(10) != i
        # the held-out prediction of a ridge fitted on the other 9 with the same absolute penalty
        design, _, _, unit = _standardised(features)
        x, y = design[keep], targets[keep]
        xm, ym = x.mean(0), y.mean(0)
        w = np.linalg.solve((x - xm).T @ (x - xm) + 0.3 * unit * np.eye(4), (x - xm).T @ (y - ym))
        np.testing.assert_allclose(readout.loo_predictions[i], ym + (design[i] - xm) @ w, rtol=1e-8, atol=1e-10)


def test_ridge_on_more_features_than_examples_is_the_direct_solution():
    # p > n takes the Gram matrix's eigen-decomposition instead of the SVD (the probe's usual shape): the read-out
    # and its leave-one-out errors must still be those of the ridge problem itself.
    rng = np.random.default_rng(3)
    features = rng.standard_normal((9, 40)) * rng.uniform(0.1, 10.0, 40) + rng.standard_normal(40)
    features[:, 0] = 2.0  # a constant column
    targets = features[:, 1:4] @ rng.standard_normal((3, 2)) + 0.3 * rng.standard_normal((9, 2))
    original = features.copy()
    readout = fit_ridge(features, targets)
    np.testing.assert_array_equal(features, original)  # standardised in a copy
    for index in (0, 6, 12):
        assert readout.loo_errors[index] == pytest.approx(
            _brute_force_loo(features, targets, DEFAULT_ALPHAS[index]), rel=1e-6
        )
    design, mean, scale, unit = _standardised(features)
    w = np.linalg.solve(design.T @ design + readout.alpha * unit * np.eye(40), design.T @ (targets - targets.mean(0)))
    new_features = rng.standard_normal((5, 40))
    np.testing.assert_allclose(
        readout.predict(new_features), targets.mean(0) + ((new_features - mean) / scale) @ w, rtol=1e-8, atol=1e-10
    )


def test_ridge_works_on_raw_features_and_recovers_a_linear_rule():
    rng = np.random.default_rng(1)
    features = rng.standard_normal((200, 3)) * [1.0, 100.0, 0.01] + [5.0, -3.0, 0.0]
    targets = features @ np.array([2.0, 0.03, 50.0]) + 1.0
    readout = fit_ridge(features, targets)
    assert np.abs(readout.predict(features)[:, 0] - targets).max() < 0.05 * targets.std()


def test_probe_head_scores_are_the_ridge_scores():
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(
        tiny_config(num_channels=2, num_labels=3, head_features="all_layers", pooling="mean_max")
    )
    inputs = torch.randn(15, 2, 200)
    labels = torch.arange(15) % 3
    inputs[labels == 1] += 1.0  # a separable class
    rows = _aligned(inputs, labels)
    readout = fit_probe(model, rows, "classification")
    features = embed_dataset(model, rows)
    with torch.no_grad():
        logits = model(inputs, patch_mask=torch.ones(15, 10, dtype=torch.long)).logits.numpy()
    np.testing.assert_allclose(logits, readout.predict(features), rtol=1e-4, atol=1e-4)
    assert (logits.argmax(1)[labels.numpy() == 1] == 1).all()
    assert class_codes(np.array([2, 0]), 3).tolist() == [[-1, -1, 1], [1, -1, -1]]


def test_a_large_probe_fit_says_so_before_it_starts(monkeypatch, caplog):
    """10,000 windows x 9,216 features took 476 s and 5.7 GB with nothing printed."""
    from citrus_hf.training import probe

    monkeypatch.setattr(probe, "LARGE_PROBE_VALUES", 100)  # the tiny fit below counts as large
    model = CiTrusForRegression(tiny_config(head_features="all_layers", pooling="mean_max"))
    inputs = torch.randn(20, 1, 200)
    with caplog.at_level("WARNING"):
        fit_probe(model, _aligned(inputs, inputs.std(dim=(1, 2))), "regression")
    assert "Fitting the ridge read-out on 20 windows" in caplog.text and "--label-budget" in caplog.text


def test_probe_fits_a_regressor():
    torch.manual_seed(0)
    model = CiTrusForRegression(tiny_config(head_features="all_layers", pooling="mean_max"))
    inputs = torch.randn(20, 1, 200)
    targets = inputs.std(dim=(1, 2)) * 10 + 60
    fit_probe(model, _aligned(inputs, targets), "regression")
    with torch.no_grad():
        predictions = model(inputs).logits[:, 0]
    # the fitted head beats predicting the mean on its training data
    assert ((predictions - targets) ** 2).mean() < targets.var()


def test_column_weights_scale_the_standardised_columns_before_the_penalty():
    """Maths: a column weighted `w` is the standardised column times `w` in an ordinary ridge (so penalised as if by
    alpha / w**2); the penalty's unit is the weighted design's mean squared singular value."""
    rng = np.random.default_rng(3)
    features = rng.standard_normal((14, 6)) * [1.0, 5.0, 0.1, 2.0, 1.0, 3.0]
    targets = features @ rng.standard_normal((6, 2)) + 0.3 * rng.standard_normal((14, 2))
    weights = np.array([1.0, 1.0, 0.5, 0.5, 2.0, 0.1])
    readout = fit_ridge(features, targets, alphas=(0.3,), column_weights=weights)
    design = (features - features.mean(0)) / features.std(0) * weights
    unit = (np.linalg.svd(design, compute_uv=False) ** 2).mean()
    centred = targets - targets.mean(0)
    coefficients = np.linalg.solve(design.T @ design + 0.3 * unit * np.eye(6), design.T @ centred)
    np.testing.assert_allclose(readout.predict(features), design @ coefficients + targets.mean(0), atol=1e-10)
    unweighted = fit_ridge(features, targets, alphas=(0.3,))
    assert not np.allclose(unweighted.predict(features), readout.predict(features))


def test_dynamics_column_weights_follow_the_pooled_layout():
    d_model, statistics = 4, POOLING_STATISTICS["mean_max_std_dynamics"]
    weights = dynamics_column_weights(2 * 3 * statistics * d_model, d_model, 0.5)  # 2 channels x 3 states
    blocks = weights.reshape(6, statistics, d_model)
    assert (blocks[:, :3] == 1.0).all() and (blocks[:, 3:] == 0.5).all()
    # the two groups weigh alike in the penalty: 3 statistics at 1, 13 at sqrt(3 / 13)
    assert 3 * 1.0 == pytest.approx((statistics - 3) * CLASSIFICATION_DYNAMICS_WEIGHT**2)
    with pytest.raises(ValueError, match="not whole blocks"):
        dynamics_column_weights(statistics * d_model + 1, d_model, 0.5)


def test_probe_weights_the_dynamics_for_classification_only():
    torch.manual_seed(0)
    inputs = torch.randn(12, 2, 200)
    labels = torch.arange(12) % 3
    config = tiny_config(num_channels=2, num_labels=3, head_features="all_layers", pooling="mean_max_std_dynamics")
    model = CiTrusForSequenceClassification(config)
    rows = _aligned(inputs, labels)
    readout = fit_probe(model, rows, "classification")
    features = embed_dataset(model, rows)
    weights = dynamics_column_weights(features.shape[1], config.d_model, CLASSIFICATION_DYNAMICS_WEIGHT)
    expected = fit_ridge(features, class_codes(labels.numpy(), 3), column_weights=weights)
    np.testing.assert_allclose(readout.weight, expected.weight)
    assert readout.alpha == expected.alpha
    # regression keeps every column at weight 1: heart rate is carried by the dynamics themselves
    regressor = CiTrusForRegression(tiny_config(head_features="all_layers", pooling="mean_max_std_dynamics"))
    targets = inputs[:, :1].std(dim=(1, 2)) * 10 + 60
    single = _aligned(inputs[:, :1], targets)
    readout = fit_probe(regressor, single, "regression")
    expected = fit_ridge(embed_dataset(regressor, single), targets.numpy()[:, None].astype(np.float64))
    np.testing.assert_allclose(readout.weight, expected.weight)


def test_one_example_per_class_a_column_with_a_tiny_spread_does_not_decide_the_class():
    """Two examples (one per class): ten columns carry the class with a spread of 1, one happens to differ by 1e-6
    between the two. Standardised by its own spread, that column turns a test window's 1e-3 deviation into 2000 and
    decides the class; shrunk toward the median spread, it weighs as little as it is."""
    rng = np.random.default_rng(0)
    informative = np.array([[-1.0], [1.0]]) + 0.01 * rng.standard_normal((2, 10))
    features = np.hstack([informative, np.array([[0.0], [1e-6]])])
    codes = class_codes(np.array([0, 1]), 2)
    test_window = np.hstack([np.ones(10), [-1e-3]])[None]  # class 1 on every informative column
    plain = fit_ridge(features, codes, (ONE_SHOT_ALPHA,))
    assert plain.predict(test_window).argmax() == 0
    shrunk = fit_ridge(features, codes, (ONE_SHOT_ALPHA,), spread_shrinkage=ONE_SHOT_SPREAD_SHRINKAGE)
    assert shrunk.predict(test_window).argmax() == 1
    np.testing.assert_array_equal(shrunk.predict(features).argmax(1), [0, 1])
    with pytest.raises(ValueError, match="spread_shrinkage"):
        fit_ridge(features, codes, (ONE_SHOT_ALPHA,), spread_shrinkage=-1.0)


def test_the_probe_shrinks_the_spreads_at_one_example_per_class_only():
    torch.manual_seed(0)
    config = tiny_config(num_labels=3, head_features="all_layers", pooling="mean_max")
    model = CiTrusForSequenceClassification(config)
    for per_class in (1, 2):
        labels = torch.arange(3 * per_class) % 3
        rows = _aligned(torch.randn(3 * per_class, 1, 200), labels)
        readout = fit_probe(model, rows, "classification")
        features, codes = embed_dataset(model, rows), class_codes(labels.numpy(), 3)
        if per_class == 1:
            expected = fit_ridge(features, codes, (ONE_SHOT_ALPHA,), spread_shrinkage=ONE_SHOT_SPREAD_SHRINKAGE)
        else:
            expected = fit_ridge(features, codes)
        np.testing.assert_allclose(readout.weight, expected.weight)


def _probe_rows(labels, **columns):
    import datasets

    n = len(labels)
    inputs = np.random.default_rng(0).standard_normal((n, 1, 200)).astype(np.float32)
    return datasets.Dataset.from_dict({"input_values": inputs, "labels": labels, **columns}).with_format("torch")


@pytest.mark.parametrize(
    ("task_model", "rows", "task", "message"),
    [
        ("regression", lambda: _probe_rows([60.0, float("nan"), 70.0, 65.0]), "regression", "must be finite"),
        ("classification", lambda: _probe_rows([0, 1, -1] * 3), "classification", r"class ids 0\.\.2.*\[-1, 0, 1\]"),
        ("classification", lambda: _probe_rows([0.5, 1.0, 2.0] * 3), "classification", r"class ids 0\.\.2"),
        ("classification", lambda: _probe_rows([0, 1, 5] * 3), "classification", r"class ids 0\.\.2.*5\]"),
        ("classification", lambda: _probe_rows([0] * 6), "classification", "at least two classes"),
        ("classification", lambda: _probe_rows([0, 1, 2] * 3), "classify", "`task` must be 'classification' or"),
        ("classification", lambda: _probe_rows([0, 1, 2] * 3), "regression", "its task is 'classification'"),
        ("classification", lambda: _probe_rows([]), "classification", "0 rows; fitting needs at least 2"),
        (
            "classification",
            lambda: _probe_rows([0, 1, 2] * 2).rename_column("labels", "label"),
            "classification",
            r"no 'labels' column.*rename_column\('label', 'labels'\)",
        ),
    ],
)
def test_the_probe_refuses_what_it_would_fit_wrongly(task_model, rows, task, message):
    """Labels of -1 were wrapped to the last class and 0.5 truncated to class 0, a NaN target made a NaN read-out, a
    single class "fitted"; the rest failed deep in numpy or datasets."""
    if task_model == "classification":
        model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    else:
        model = CiTrusForRegression(tiny_config())
    with pytest.raises(ValueError, match=message):
        fit_probe(model.eval(), rows(), task)


def test_the_probe_takes_a_dataset_in_any_format_and_outside_no_grad():
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    rows = _probe_rows([0, 1, 2] * 3).with_format(None)
    readout = fit_probe(model, rows, "classification")
    assert readout.weight.shape[1] == 3 and model.classifier.weight.requires_grad


def test_the_ridge_refuses_non_finite_values_and_no_penalties():
    rng = np.random.default_rng(0)
    features, targets = rng.standard_normal((10, 50)), class_codes(np.arange(10) % 2, 2)
    with_nan = features.copy()
    with_nan[3, 7] = np.nan
    with pytest.raises(ValueError, match="`features` hold 1 NaN or infinite"):
        fit_ridge(with_nan, targets)
    with pytest.raises(ValueError, match="`targets` hold 1 NaN"):
        fit_ridge(features, np.r_[np.nan, np.ones(9)])
    with pytest.raises(ValueError, match="`alphas` is empty"):
        fit_ridge(features, targets, alphas=())


def _svd_spectrum(design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u, singular_values, _ = np.linalg.svd(design, full_matrices=False)
    return u, singular_values**2


def test_tall_design_ridge_equals_the_svd_route_also_when_rank_deficient(monkeypatch):
    """More examples than features (`--label-budget all` on a large set) go through the features' Gram matrix
    instead of a thin SVD (4x faster at 6,000 x 3,000): the same penalty is chosen and the read-out is the SVD's to
    rounding, with a duplicated column (an eigenvalue of 0) and a constant one."""
    from citrus_hf.training import probe

    rng = np.random.default_rng(0)
    features = rng.standard_normal((400, 60)) * rng.uniform(0.1, 10, 60) + rng.uniform(-5, 5, 60)
    features[:, 3] = 2 * features[:, 2]
    features[:, 7] = 1.5
    targets = np.eye(3)[rng.integers(0, 3, 400)] + 0.1 * features[:, :1]
    readout = probe.fit_ridge(features, targets)
    monkeypatch.setattr(probe, "_left_spectrum", _svd_spectrum)
    reference = probe.fit_ridge(features, targets)
    assert readout.alpha == reference.alpha
    np.testing.assert_allclose(readout.loo_errors, reference.loo_errors, rtol=1e-10)
    np.testing.assert_allclose(readout.predict(features), reference.predict(features), atol=1e-10)
