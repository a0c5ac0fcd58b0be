"""The frozen-encoder probe: pooled embeddings of every layer, standardised, and a ridge read-out whose penalty is
chosen by exact leave-one-out cross-validation, as MiniRocket and Mantis fit their classifiers.

No validation carve is needed (the leave-one-out error of every training example is computed in closed form), so
every labelled example trains the read-out, which is what a budget of a few examples per class can least afford to
lose. The fitted read-out is folded into the task model's linear head (standardisation included), so the result is
an ordinary `CiTrusForSequenceClassification` / `CiTrusForRegression` checkpoint: `save_pretrained`, pipelines and
ONNX export see nothing special.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np
import torch
from transformers.utils import logging

from ..data.plans import column_array
from ..vocabulary_citrus import CLASSIFICATION, POOLING_STATISTICS, REGRESSION
from .metrics import powers_of_ten

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedModel

logger = logging.get_logger(__name__)
# Feature values (windows x features) above which a probe fit is announced as long.
LARGE_PROBE_VALUES = 20_000_000

# The penalties searched, relative to the mean squared singular value of the standardised features (so the grid
# means the same for 100 and 100,000 features); 13 points over eight decades, as RidgeClassifierCV's 10 over six.
DEFAULT_ALPHAS: tuple[float, ...] = powers_of_ten(-4, 4, 13)
# With one example of some class, leaving it out leaves nothing to predict it from, so leave-one-out always picks the
# largest penalty, which measured worst (macro-F1 0.85 vs 0.93 on Myo EMG gestures, 0.52 vs 0.55 on smartwatch
# exercises at one example per class, validation windows). This fixed penalty measured best there instead.
ONE_SHOT_ALPHA: float = 0.1
# Leave-one-out chooses the penalty from the rows of the classes with at least this many labelled examples: a
# left-out row whose class has no other example is predicted from none of its class at any penalty, so its error
# only grows as the penalty shrinks and says nothing about the others (on 60 + 60 windows and one of a third class,
# counting it chose the largest penalty, 1e4, and the two large classes fell to chance). The fixed `ONE_SHOT_ALPHA`
# (and the shrunk spreads below) serve the sets that such classes do not carry: `carried_by_classes_of`.
LEAVE_ONE_OUT_FROM_PER_CLASS = 2
# With one example per class each column's spread comes from K values (2 for two classes), and a column whose few
# values happen to lie close gets a tiny spread: standardised by it, a test window's deviation there is blown up
# without bound and decides the class (two re-runs of the same 1-per-class cells, with windows moved by 5e-5 rms by a
# resampling fix, differed by up to 12.9 macro-F1 points). So at one example per class each column's variance is
# shrunk toward the median column's: scale^2 = std^2 + ONE_SHOT_SPREAD_SHRINKAGE * median(std^2). Measured on the
# validation splits at one example per class (10 sets, three draws of 5 seeds, paired): +0.85, +2.09 and +3.18
# macro-F1 points with 1; with 0.25 +1.10, +2.38 and +3.52; with 4 +1.05 and +2.31; one scale for every column
# (centring only) -0.25 and +1.52. The gain is flat from 0.25 to 4 (within 0.35 points in every draw), so the
# middle of that range it is.
ONE_SHOT_SPREAD_SHRINKAGE: float = 1.0
# "mean_max_std_dynamics" pools 13 statistics of every token dimension that say how it moves (the step between
# neighbouring patches, the autocorrelation at 12 lags) beside 3 that say where it sits (mean, max, standard
# deviation). Every standardised column is penalised alike, so unweighted the dynamics would be 13 of every 16 columns
# of a classifier's evidence; weighting each by sqrt(3 / 13) makes the two groups equally heavy in the penalty.
# Measured at 5 labels per class on the validation splits: +0.73 and +0.91 macro-F1 points in two draws over the
# spread alone, where the unweighted dynamics scored -0.02 and +1.10 (weights 0.25 and 0.7: +0.06 and +0.44). Heart
# rate is carried by the dynamics themselves, and weighting them there lost (ECG 0.97 -> 1.05 bpm from 20 windows),
# so regression keeps every column at weight 1.
SPREAD_STATISTICS = POOLING_STATISTICS["mean_max_std"]
DYNAMICS_STATISTICS = POOLING_STATISTICS["mean_max_std_dynamics"] - SPREAD_STATISTICS
CLASSIFICATION_DYNAMICS_WEIGHT: float = math.sqrt(SPREAD_STATISTICS / DYNAMICS_STATISTICS)


def carried_by_classes_of(labels: np.ndarray, per_class: int) -> bool:
    """Whether the classes with at least `per_class` labelled examples carry the labelled set `labels` `(n,)` (class
    ids): there are two or more such classes, and they hold more than half of the examples. With every class at the
    same count this is whether that count reaches `per_class`; a class or two below it beside large ones (60 + 60 + 1)
    does not decide for every class, as the smallest count would."""
    counts = np.unique(np.asarray(labels), return_counts=True)[1]
    enough = counts[counts >= per_class]
    return len(enough) >= 2 and 2 * int(enough.sum()) > len(np.asarray(labels))


def leave_one_out_rows(labels: np.ndarray) -> np.ndarray | None:
    """`(n,)` bool: the rows of `labels` whose leave-one-out errors choose a classifier's penalty, those of the classes
    with at least `LEAVE_ONE_OUT_FROM_PER_CLASS` examples; None when that is every row (the errors of all rows)."""
    labels = np.asarray(labels)
    _, index, counts = np.unique(labels, return_inverse=True, return_counts=True)
    rows = counts[index] >= LEAVE_ONE_OUT_FROM_PER_CLASS
    return None if rows.all() else rows


@dataclass
class RidgeReadout:
    """A fitted ridge read-out on raw (not yet standardised) features: `predictions = features @ weight + bias`.

    Attributes:
        weight: `(num_features, num_outputs)`, standardisation folded in.
        bias: `(num_outputs,)`.
        alpha: the chosen penalty (relative to the mean squared singular value); with a penalty per target
            (`fit_ridge(penalty_per_target=True)`) of several targets, each target's, in the targets' order.
        loo_errors: mean squared leave-one-out error of every penalty tried, in `DEFAULT_ALPHAS` order (over the rows
            and with the weights `fit_ridge` was given, averaged over the outputs).
        loo_predictions: `(n, num_outputs)`, each training example's prediction by the read-out fitted without it
            (at the chosen penalty): what the read-out does on examples it has not seen.
    """

    weight: np.ndarray
    bias: np.ndarray
    alpha: float | tuple[float, ...]
    loo_errors: np.ndarray
    loo_predictions: np.ndarray

    def predict(self, features: np.ndarray) -> np.ndarray:
        return features @ self.weight + self.bias

    def __eq__(self, other: object) -> bool:
        # field by field as arrays: the dataclass's `==` compared tuples of arrays and raised numpy's "The truth value
        # of an array with more than one element is ambiguous" (a read-out against its copy or its pickle)
        if not isinstance(other, RidgeReadout):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, name), getattr(other, name), equal_nan=True)
            for name in (item.name for item in fields(self))
        )


def fit_ridge(
    features: np.ndarray,
    targets: np.ndarray,
    alphas: tuple[float, ...] = DEFAULT_ALPHAS,
    column_weights: np.ndarray | None = None,
    spread_shrinkage: float = 0.0,
    scored_rows: np.ndarray | None = None,
    sample_weights: np.ndarray | None = None,
    penalty_per_target: bool = False,
) -> RidgeReadout:
    """Ridge regression of `targets` on standardised `features`, the penalty chosen by leave-one-out error.

    Uses the spectrum of the centred, standardised design (`_left_spectrum`), so each penalty costs one `(n, n)`
    product and the exact leave-one-out residuals come from the hat matrix's diagonal (the generalised cross-validation
    identity `e_i / (1 - h_ii)`), with the intercept unpenalised.

    Args:
        features: `(n, p)`; constant columns are ignored (their standard deviation is set to 1).
        targets: `(n, k)` (or `(n,)`): one-hot +-1 codes for classification, values for regression.
        alphas: candidate penalties, in units of the mean squared singular value of the design.
        column_weights: `(p,)` multipliers of the standardised columns (a column weighted `w` is penalised as if by
            `alpha / w**2`): equal total weight for feature groups of different sizes, say.
        spread_shrinkage: `s` > 0 standardises by `sqrt(std**2 + s * median(std**2))` instead of `std`: each column's
            variance shrunk toward the median column's, for spreads estimated from a handful of examples (see
            `ONE_SHOT_SPREAD_SHRINKAGE`).
        scored_rows: `(n,)` bool, the rows whose leave-one-out errors choose the penalty (`leave_one_out_rows`); None:
            every row. Every row is fitted either way.
        sample_weights: `(n,)` positive weights of the rows in the squared error (`--class-weight balanced`: each
            class's rows weigh `n / (classes * its count)`): a weighted ridge, its centring, spreads and leave-one-out
            errors weighted alike; None: every row 1.
        penalty_per_target: choose each target column's penalty by its own leave-one-out error (regression targets,
            which may be measured on any scales), as scikit-learn's `RidgeCV(alpha_per_target=True)`: each target is
            fitted as it would be alone. False: one penalty for every column, by their mean error (the one-vs-rest
            codes of one classifier, on one scale); of targets on different scales (heart rate in bpm beside a
            breathing rate in Hz) that mean is the largest-scaled target's error, whose penalty the others then got.

    Returns:
        The read-out on the *raw* features (standardisation folded into `weight` and `bias`).
    """
    # One float64 copy, standardised in place: the design is the largest array here (n x p, p up to channels x 8,192).
    design = np.array(features, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    if targets.ndim == 1:
        targets = targets[:, None]
    n = design.shape[0]
    if design.ndim != 2 or n < 2 or targets.shape[0] != n:
        raise ValueError(
            f"A ridge read-out needs at least 2 examples with one target row each: features (n, p) and targets (n,) "
            f"or (n, k), got {design.shape} and {targets.shape}."
        )
    for name, values in (("features", design), ("targets", targets)):
        if not np.isfinite(values).all():
            raise ValueError(
                f"`{name}` hold {int(np.size(values) - np.isfinite(values).sum())} NaN or infinite values; a ridge "
                "read-out of them is NaN. Drop those rows (or fix what produced them)."
            )
    if len(alphas) == 0:
        raise ValueError("`alphas` is empty; give at least one candidate penalty (e.g. DEFAULT_ALPHAS).")
    if not spread_shrinkage >= 0:  # (NaN too)
        raise ValueError(
            f"`spread_shrinkage` must be a number >= 0 (0: each column's own spread), got {spread_shrinkage}."
        )
    weights = None if sample_weights is None else np.asarray(sample_weights, dtype=np.float64)
    if weights is not None and (weights.shape != (n,) or not (np.isfinite(weights) & (weights > 0)).all()):
        raise ValueError(f"`sample_weights` must be {n} positive finite numbers, one per row, got {weights.shape}.")
    if column_weights is not None:
        column_weights = np.asarray(column_weights, dtype=np.float64)
        # (one weight too few stopped in numpy, "operands could not be broadcast together with shapes (4,) (3,)")
        if column_weights.shape != design.shape[1:] or not np.isfinite(column_weights).all():
            raise ValueError(
                f"`column_weights` must be {design.shape[1]} finite numbers, one per feature column, got "
                f"{column_weights.shape}."
            )
    if scored_rows is not None:
        scored_rows = np.asarray(scored_rows, dtype=bool)
        if scored_rows.shape != (n,) or not scored_rows.any():
            raise ValueError(f"`scored_rows` must be {n} booleans, one per row, at least one True.")
    if weights is None:
        mean = design.mean(axis=0)
        scale = design.std(axis=0)
    else:
        mean = weights @ design / weights.sum()
        scale = np.sqrt(weights @ (design - mean) ** 2 / weights.sum())
    if spread_shrinkage > 0:
        scale = np.sqrt(scale**2 + spread_shrinkage * np.median(scale**2))
    scale[scale < 1e-12] = 1.0
    if column_weights is not None:
        scale = scale / column_weights
    design -= mean
    design /= scale
    if weights is None:
        target_mean = targets.mean(axis=0)
        centred = targets - target_mean
        intercept_leverage: float | np.ndarray = 1.0 / n
    else:
        # a weighted ridge is the plain one of rows scaled by sqrt(weight), centred on the weighted means: the
        # intercept's column is then sqrt(weight), orthogonal to every centred column, with leverage weight / total
        target_mean = weights @ targets / weights.sum()
        root = np.sqrt(weights)[:, None]
        design *= root
        centred = (targets - target_mean) * root
        intercept_leverage = weights / weights.sum()
    u, s2 = _left_spectrum(design)
    unit = max(float(s2.mean()), 1e-12)
    projected = u.T @ centred  # (r, k)
    errors, residuals = [], []
    for alpha in alphas:
        shrink = s2 / (s2 + alpha * unit)
        fitted = u @ (shrink[:, None] * projected)
        leverage = (u**2) @ shrink + intercept_leverage  # diag of the hat matrix, the intercept's included
        residual = (centred - fitted) / np.clip(1.0 - leverage, 1e-8, None)[:, None]
        if weights is not None:
            residual /= root  # back to the targets' units: (n, k)
        errors.append(_leave_one_out_error(residual, scored_rows, weights))
        residuals.append(residual)
    columns = np.arange(targets.shape[1])
    if penalty_per_target:
        by_target = [
            [_leave_one_out_error(residual[:, [column]], scored_rows, weights) for column in columns]
            for residual in residuals
        ]  # (alphas, k)
        best = np.argmin(np.asarray(by_target), axis=0)  # (k,): each target's own penalty
    else:
        best = np.full(targets.shape[1], int(np.argmin(errors)))
    chosen = np.asarray(alphas, dtype=np.float64)[best]  # (k,)
    # (p, k) on standardised features: V diag(s / (s^2 + a)) U^T y, written as X^T U diag(1 / (s^2 + a)) U^T y since
    # X^T u_i = s_i v_i, so the right singular vectors are never formed; column j with its own penalty a_j.
    coefficients = design.T @ (u @ (projected / (s2[:, None] + chosen[None, :] * unit)))
    weight = coefficients / scale[:, None]
    bias = target_mean - mean @ weight
    alpha = tuple(map(float, chosen)) if penalty_per_target and len(chosen) > 1 else float(chosen[0])
    return RidgeReadout(
        weight=weight,
        bias=bias,
        alpha=alpha,
        loo_errors=np.asarray(errors),
        loo_predictions=targets - np.stack(residuals)[best, :, columns].T,
    )


def _leave_one_out_error(residual: np.ndarray, scored_rows: np.ndarray | None, weights: np.ndarray | None) -> float:
    """The mean squared leave-one-out residual `(n, k)` over `scored_rows` (None: every row), each row weighted by
    its `weights` (None: alike)."""
    if scored_rows is None and weights is None:
        return float(np.mean(residual**2))
    rows = np.ones(len(residual), dtype=bool) if scored_rows is None else scored_rows
    row_weights = np.ones(int(rows.sum())) if weights is None else weights[rows]
    return float(row_weights @ np.mean(residual[rows] ** 2, axis=1) / row_weights.sum())


def _left_spectrum(design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(u, s2)`: the left singular vectors `(n, r)` of `design` `(n, p)` and its squared singular values `(r,)`, `r =
    min(n, p)`.

    A wide design (p > n: the probe's usual case, thousands of pooled features per channel from tens of examples)
    goes through the eigen-decomposition of its `(n, n)` Gram matrix, one `n^2 p` product, where the thin SVD
    bidiagonalises the whole design and copies it: for 240 examples of 6 channels (49,152 features, the size
    `benchmarks/fit_speed.py` fits) the ridge took 3.6 s by SVD and 0.2 s this way on one thread, and the fit's peak
    memory fell from 0.49 to 0.19 GB. Eigenvalues come out accurate to about `1e-16` of the largest;
    the smallest penalty, `1e-4` of the mean, dwarfs that, so the read-out is the SVD's to rounding. Directions of
    eigenvalue 0 (the centring's, and any beyond the design's rank) get `s2 = 0` and add nothing: `X^T u = 0` there.

    A tall design (n >= p: `--label-budget all` on a large set) goes the other way round, through its `(p, p)` Gram
    matrix: `X^T X = V S^2 V^T`, then `u = X V / s`, two `n p^2` matrix products where the thin SVD bidiagonalises the
    design (6,000 x 3,000: 8.6 s against 36.3 s; 10,000 windows of 9,216 features took 476 s by SVD). Directions of
    eigenvalue below `1e-12` of the largest get `s2 = 0` and a zero column, as a rank-deficient SVD's would add
    nothing: their shrinkage factor is 0 to that precision, and dividing by their tiny `s` would only amplify rounding.
    """
    n, p = design.shape
    if p <= n:
        eigenvalues, v = np.linalg.eigh(design.T @ design)
        negligible = eigenvalues <= _NEGLIGIBLE_EIGENVALUE * max(float(eigenvalues[-1]), 0.0)
        s2 = np.where(negligible, 0.0, eigenvalues)
        u = design @ v
        u /= np.sqrt(np.where(negligible, np.inf, s2))  # a negligible direction's column becomes 0
        return u, s2
    eigenvalues, u = np.linalg.eigh(design @ design.T)
    return u, np.clip(eigenvalues, 0.0, None)


# Eigenvalues of a tall design's Gram matrix below this share of the largest count as 0 (see `_left_spectrum`).
_NEGLIGIBLE_EIGENVALUE = 1e-12


def class_codes(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """One-vs-rest +-1 codes `(n, num_classes)` of class indices, the targets of a ridge classifier."""
    codes = -np.ones((len(labels), num_classes))
    codes[np.arange(len(labels)), np.asarray(labels, dtype=np.int64)] = 1.0
    return codes


# A forward pass holds at most this many windows x channels (one token sequence each, every layer's states kept for
# the probe): 128 windows of 64 channels took 4.6 GB. The pipelines' cap (`inference.pipelines`, which as remote code
# imports nothing of the package's; tests/test_scale_audit.py keeps the two equal).
MAX_CHANNEL_SEQUENCES_PER_PASS = 1024


def windows_per_pass(batch_size: int, dataset) -> int:
    """`batch_size` windows of an aligned `dataset`, fewer for many channels (`MAX_CHANNEL_SEQUENCES_PER_PASS`)."""
    channels = int(np.shape(dataset[0]["input_values"])[0]) if len(dataset) else 1
    return max(1, min(batch_size, MAX_CHANNEL_SEQUENCES_PER_PASS // max(1, channels)))


@torch.no_grad()
def embed_dataset(model, dataset, batch_size: int = 128) -> np.ndarray:
    """Head-input features `(n, F)` of an aligned dataset (`input_values`, `patch_mask` columns, torch format), with
    the model's own head settings (`head_features`, `pooling`, `channel_pooling`); `batch_size` windows per forward
    pass, fewer for many channels (`windows_per_pass`)."""
    model.eval()
    device = next(model.parameters()).device
    chunks = []
    batch_size = windows_per_pass(batch_size, dataset)
    for start in range(0, len(dataset), batch_size):
        rows = dataset[start : start + batch_size]
        patch_mask = rows.get("patch_mask")
        outputs = model.base_model(
            rows["input_values"].to(device),
            patch_mask=None if patch_mask is None else patch_mask.to(device),
            output_hidden_states=model.config.head_features == "all_layers",
            return_dict=True,
        )
        chunks.append(model.pooler(outputs, None if patch_mask is None else patch_mask.to(device)).float().cpu())
    return torch.cat(chunks).numpy()


def dynamics_column_weights(num_features: int, d_model: int, weight: float) -> np.ndarray:
    """Column weights `(num_features,)` for features pooled by "mean_max_std_dynamics": 1 for the spread's columns,
    `weight` for the dynamics'. The pooled vector is one block of `POOLING_STATISTICS["mean_max_std_dynamics"] *
    d_model` columns per channel and pooled state (`modeling_citrus.pool_patches`: mean, max, std, then the
    dynamics, each `d_model` wide), so the pattern of one block repeats."""
    block = POOLING_STATISTICS["mean_max_std_dynamics"] * d_model
    if num_features % block:
        raise ValueError(
            f"{num_features} pooled features are not whole blocks of {block} (the 'mean_max_std_dynamics' statistics "
            f"of d_model={d_model}); the features do not come from this model's pooler."
        )
    pattern = np.concatenate([np.ones(SPREAD_STATISTICS * d_model), np.full(DYNAMICS_STATISTICS * d_model, weight)])
    return np.tile(pattern, num_features // block)


@torch.no_grad()
def checked_probe_dataset(model, dataset, task: str, fitting: bool = False):
    """`dataset` in torch format, after refusing what would fit or score a CiTrus task model wrongly or deep inside
    numpy / torch: a `task` that is not the model's, a multi-label model (the probe fits single-label classes), a
    dataset without `input_values` / `labels` or without rows; for fitting, fewer than two examples, and labels that
    are not class ids `0..num_labels-1` of at least two classes (classification) or not finite (regression)."""
    heads = {CLASSIFICATION: "classifier", REGRESSION: "regressor"}
    if task not in heads:
        raise ValueError(f"`task` must be 'classification' or 'regression', got {task!r}.")
    if hasattr(model, heads[CLASSIFICATION]) and getattr(model.config, "problem_type", None) == REGRESSION:
        # a sequence classifier trained as a regressor, transformers' way: was told its task is "classification"
        # (task="regression"), or fitted classes to its targets (task="classification")
        raise ValueError(
            f"This {type(model).__name__} is a regressor (its config's problem_type is 'regression'), whose head the "
            "probe does not fit; fit a CiTrusForRegression(config) with task='regression', or fine-tune this model."
        )
    if not hasattr(model, heads[task]):
        other = next(name for name, head in heads.items() if hasattr(model, head))
        raise ValueError(f"`task={task!r}` does not fit a {type(model).__name__}: its task is {other!r}.")
    if getattr(model.config, "problem_type", None) == "multi_label_classification":
        raise ValueError("The probe fits single-label classes; this model is multi-label. Fine-tune it instead.")
    columns = getattr(dataset, "column_names", None)
    if columns is None:
        raise TypeError(
            f"`dataset` must be a datasets.Dataset of aligned examples, got a {type(dataset).__name__}; build one "
            "with `Dataset.from_dict({'input_values': ..., 'labels': ...})`."
        )
    for column in ("input_values", "labels"):
        if column not in columns:
            fix = "rename it: `dataset.rename_column('label', 'labels')`" if "label" in columns else "add it"
            raise ValueError(f"`dataset` has no {column!r} column (columns: {columns}); {fix}.")
    if len(dataset) < (2 if fitting else 1):
        raise ValueError(
            f"`dataset` has {len(dataset)} rows; "
            + (
                "fitting needs at least 2 labelled examples (on the command line: a larger --label-budget)."
                if fitting
                else "none to score."
            )
        )
    if fitting:
        labels = column_array(dataset, "labels")
        if task == REGRESSION:
            if not (np.issubdtype(labels.dtype, np.number) and np.isfinite(labels).all()):
                raise ValueError(
                    "Regression targets must be finite numbers; drop the rows whose `labels` are NaN, infinite or "
                    "missing (a single NaN makes the read-out NaN)."
                )
        else:
            num_labels = model.config.num_labels
            whole = np.issubdtype(labels.dtype, np.number) and np.array_equal(labels, np.round(labels))
            if labels.ndim != 1 or not whole or labels.min() < 0 or labels.max() >= num_labels:
                raise ValueError(
                    f"Labels must be class ids 0..{num_labels - 1} for this {num_labels}-class model, got "
                    f"{np.unique(labels)[:10].tolist()}; number the classes 0..K-1 with "
                    "`dataset.cast_column('labels', Value('string')).class_encode_column('labels')` (a cast of "
                    "numbers to ClassLabel keeps them as the ids), the same for every split."
                )
            if len(np.unique(labels)) < 2:
                raise ValueError(f"Every label is {labels[0]}: a classifier needs examples of at least two classes.")
    return torch_formatted(dataset)


def torch_formatted(dataset):
    """`dataset` in torch format with every column: `with_format("torch")` always, not only where it is in another
    format, since a set a user formatted as `datasets`' tutorials do, `set_format("torch", columns=["input_values",
    "labels"])`, hides its `patch_mask`, and its padded windows were pooled with the padding as signal."""
    return dataset.with_format("torch")


def fit_probe(
    model: PreTrainedModel,
    train_dataset: Dataset,
    task: str,
    batch_size: int = 128,
    class_weights: np.ndarray | None = None,
) -> RidgeReadout:
    """Fit the linear head of a CiTrus task model by ridge on its frozen encoder's pooled features.

    Args:
        model: `CiTrusForSequenceClassification` (single-label) or `CiTrusForRegression`.
        train_dataset: aligned examples with `input_values` `(channels, time)`, `patch_mask` `(num_patches,)` and
            `labels` (torch format).
        task: "classification" or "regression".
        batch_size: windows per forward pass of the frozen encoder.
        class_weights: `(num_labels,)`, each class's weight in the squared error (classification; None: every row 1).

    Returns:
        The read-out; it is also written into the model's head, so `model(**inputs).logits` are the probe's scores
        (classification: one-vs-rest ridge scores, whose arg-max is the class). A bf16 / fp16 model's head is made
        float32 for it (the rest of the model keeps its dtype). A classifier that pools the tokens'
        dynamics weighs them by `CLASSIFICATION_DYNAMICS_WEIGHT` in the penalty (folded into the head like the
        standardisation). A classifier's penalty is chosen by leave-one-out over the rows of the classes with at least
        `LEAVE_ONE_OUT_FROM_PER_CLASS` examples (`leave_one_out_rows`) when those classes carry the set
        (`carried_by_classes_of`); otherwise it is `ONE_SHOT_ALPHA`, and the spreads are shrunk
        (`ONE_SHOT_SPREAD_SHRINKAGE`). With every class at one count that is the one-example-per-class rule. A
        regressor's targets each get the penalty their own leave-one-out error chooses (`penalty_per_target`), so a
        target's fit does not depend on the scale of the others.
    """
    train_dataset = checked_probe_dataset(model, train_dataset, task, fitting=True)
    features = embed_dataset(model, train_dataset, batch_size)
    if features.size > LARGE_PROBE_VALUES:
        # the ridge's SVD costs examples x features x min(examples, features) and several copies of the features in
        # float64: say so before minutes of silence (10,000 windows x 9,216 features: 476 s, 5.7 GB)
        logger.warning(
            f"Fitting the ridge read-out on {features.shape[0]:,} windows x {features.shape[1]:,} features (about "
            f"{12 * features.size * 8 / 2**30:.1f} GB while it runs); this takes minutes. A label budget "
            "(--label-budget; citrus evaluate: --budgets) or fewer channels makes it quicker."
        )
    labels = column_array(train_dataset, "labels")
    if task == CLASSIFICATION:
        targets = class_codes(labels, model.config.num_labels)
        head = model.classifier
    else:
        targets = labels.reshape(len(labels), -1).astype(np.float64)
        head = model.regressor
        if targets.shape[1] != head.out_features:  # copied into the head below, a (1, F) read-out would broadcast
            raise ValueError(
                f"Regression labels must have shape (batch,) or (batch, num_targets) = ({len(labels)}, "
                f"{head.out_features}), got {labels.shape}; set num_targets in the config to the number of targets."
            )
    one_shot = task == CLASSIFICATION and not carried_by_classes_of(labels, LEAVE_ONE_OUT_FROM_PER_CLASS)
    scored_rows = None if task != CLASSIFICATION or one_shot else leave_one_out_rows(labels)
    sample_weights = None
    if class_weights is not None:
        if task != CLASSIFICATION:
            raise ValueError("`class_weights` weigh the classes of a classifier; a regression probe has none.")
        sample_weights = np.asarray(class_weights, dtype=np.float64)[labels.astype(np.int64)]
    column_weights = None
    if task == CLASSIFICATION and model.config.pooling == "mean_max_std_dynamics":
        column_weights = dynamics_column_weights(
            features.shape[1], model.config.d_model, CLASSIFICATION_DYNAMICS_WEIGHT
        )
    readout = fit_ridge(
        features,
        targets,
        (ONE_SHOT_ALPHA,) if one_shot else DEFAULT_ALPHAS,
        column_weights,
        spread_shrinkage=ONE_SHOT_SPREAD_SHRINKAGE if one_shot else 0.0,
        scored_rows=scored_rows,
        sample_weights=sample_weights,
        penalty_per_target=task == REGRESSION,
    )
    if head.weight.dtype in (torch.bfloat16, torch.float16):
        # rounded to half precision, the folded standardisation (a bias that cancels the features' means) was lost: a
        # tiny bf16 model's accuracy fell from 0.95 to 0.72. The head runs in its own dtype (`run_task_head`), and a
        # checkpoint saved so loads it in float32 again.
        head.to(torch.float32)
    with torch.no_grad():  # the head's parameters require gradients (fine-tuning may follow)
        head.weight.copy_(torch.as_tensor(readout.weight.T, dtype=head.weight.dtype))
        head.bias.copy_(torch.as_tensor(readout.bias, dtype=head.bias.dtype))
    return readout


__all__ = [
    "CLASSIFICATION_DYNAMICS_WEIGHT",
    "DEFAULT_ALPHAS",
    "LEAVE_ONE_OUT_FROM_PER_CLASS",
    "ONE_SHOT_ALPHA",
    "ONE_SHOT_SPREAD_SHRINKAGE",
    "RidgeReadout",
    "carried_by_classes_of",
    "checked_probe_dataset",
    "class_codes",
    "dynamics_column_weights",
    "embed_dataset",
    "fit_probe",
    "fit_ridge",
    "leave_one_out_rows",
]
