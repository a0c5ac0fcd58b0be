"""Classification and regression metrics in numpy / scipy (no scikit-learn dependency).

Every function takes plain arrays and returns Python floats, so results serialise to JSON as they are. Degenerate
inputs give `nan` where the metric is undefined (AUROC with one class present, Pearson r of a constant), never an
exception in the middle of a training run. Outputs that name no prediction (NaN logits of a diverged model, an
fp16 / bf16 overflow) give `nan` for every metric, as NaN predictions do in `regression_metrics`: an argmax would read
a row of NaN logits as class 0, and `logit > 0` as "label absent", scoring a broken model as a constant predictor.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import logsumexp
from scipy.stats import rankdata

from ..data.budgets import check_one_per_row
from ..data.splits import LABEL_TASKS
from ..vocabulary_citrus import CLASSIFICATION, REGRESSION, as_list, counted

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from transformers import EvalPrediction

CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "auroc")
MULTI_LABEL_METRICS = ("accuracy", "hamming_accuracy", "macro_f1", "micro_f1", "auroc")
REGRESSION_METRICS = ("mae", "rmse", "pearson_r")
# Metrics where smaller is better; everything else is maximised (model selection, plots, "best arm"). Beyond the
# package's own (mae, rmse, loss), the usual error names a user's `compute_metrics` reports, which the Trainer hooks
# also minimise (transformers minimises only names ending in "loss").
LOWER_IS_BETTER = frozenset({"mae", "rmse", "loss", "mse", "mape", "smape", "msle", "rmsle"})


def _as_array(values):
    """`values` as numpy where they are a torch tensor (on any device, in any precision, attached to a graph:
    `model(**batch).logits` scored as it comes), anything else as it is. With `batch_eval_metrics=True` the Trainer
    passes each batch's tensors as they are; numpy refused bf16 ("Got unsupported ScalarType BFloat16") and tensors
    that require grad. Floats narrower than float32 (bf16, which numpy lacks; float16) widen to float32 exactly;
    float64 stays float64, as numpy reads it (made float32, 1e8 + 1 and 1e8 + 2 were one value: a regression's errors
    read 0). A pandas Series or 1-D object array of per-row arrays is a list of its rows (what `np.stack` of it would
    give); rows of different shapes there, or in a list of rows, are refused (`_check_rows_alike`)."""
    if hasattr(values, "detach"):
        values = values.detach().cpu()
        return (values.float() if values.is_floating_point() and values.element_size() < 4 else values).numpy()
    if (
        getattr(values, "dtype", None) == np.dtype(object)
        and np.ndim(values) == 1
        and any(np.ndim(row) for row in values)
    ):
        # a pandas Series (or 1-D object array) of per-row arrays (`df["pred"]` of a model's k outputs): numpy's
        # float conversion failed inside pandas ("setting an array element with a sequence"); as a list of rows it
        # is the `(n, k)` array it means, as a list of arrays always was
        values = list(values)
        _check_rows_alike(values)
    elif isinstance(values, list) and values and np.ndim(values[0]):
        _check_rows_alike(values)
    return values


def _check_rows_alike(rows: list) -> None:
    """Refuse `rows` (one array per example) of different shapes: numpy's own error ("setting an array element with
    a sequence. The requested array has an inhomogeneous shape after 1 dimensions") named neither row nor fix."""
    first = np.shape(rows[0])
    for index, row in enumerate(rows):
        if np.shape(row) != first:
            raise ValueError(
                f"The rows to score differ in shape: row 0 is {first} and row {index} is {np.shape(row)}; give every "
                "row the same outputs (one value per target or class), as the `(n, k)` array they stand for."
            )


def _as_labels(y_true, num_classes: int | None = None) -> np.ndarray:
    """`y_true` as `(n,)` int64 class indices, refusing class names, fractional values and (given `num_classes`)
    indices out of range."""
    labels = np.asarray(_as_array(y_true)).reshape(-1)
    missing = (
        sum(value is None or (isinstance(value, float) and math.isnan(value)) for value in labels.tolist())
        if labels.dtype == object
        else 0
    )
    missing += int(np.isnan(labels).sum()) if labels.dtype.kind in "fc" else 0
    if missing:
        # a label column with empty cells (pandas' None / NaN): numpy's `mod` below failed on None ("unsupported
        # operand type(s) for %"), and NaN was called a fractional value
        raise ValueError(
            f"Class labels are missing (None or NaN) in {missing} of {labels.size} rows: drop those rows before "
            "scoring (`df.dropna(subset=[column])`), or give them a class index."
        )
    names = (
        [value for value in labels.tolist() if isinstance(value, (str, bytes))] if labels.dtype.kind in "USO" else []
    )
    if names:
        # a label column of class names ("walk", "run"): numpy's `mod` below failed on it ("ufunc 'remainder' ...")
        raise TypeError(
            f"Class labels must be class indices (integers), got strings such as {names[0]!r}: map them to indices "
            "with the model's classes (`ids = {name: i for i, name in model.config.id2label.items()}`, then "
            "`[ids[name] for name in labels]`; `label2id` may be unset)."
        )
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ValueError("Class labels must be whole numbers (class indices), got fractional values.")
        labels = labels.astype(np.int64)
    if num_classes is not None and labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        # (the fix names -100, transformers' ignore index for rows without a label, the usual value out of range)
        raise ValueError(
            f"Class labels must lie in [0, {num_classes - 1}], got {labels.min()}..{labels.max()}: give class ids of "
            f"the {num_classes} classes scored, and drop the rows of an ignore index (-100) before scoring."
        )
    return labels


def _check_paired(y_true: np.ndarray, y_pred: np.ndarray, what: str = "labels", other: str = "y_pred") -> None:
    """Refuse `y_true` and `y_pred` (or scores) of different lengths, as scikit-learn's metrics do: numpy's own error
    ("boolean index did not match", "operands could not be broadcast", a matmul's "core dimension") named neither,
    and a one-value `y_pred` paired with any `y_true` gave pearson_r a silent NaN (a constant side)."""
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true has {len(y_true)} {what} but {other} has {len(y_pred)}; they must pair up, one per example."
        )


def accuracy(y_true, y_pred) -> float:
    """Fraction of correct predictions. `y_true`, `y_pred`: `(n,)` class indices."""
    y_true, y_pred = _as_labels(y_true), _as_labels(y_pred)
    _check_paired(y_true, y_pred)
    return float(np.mean(y_true == y_pred)) if y_true.size else math.nan


def balanced_accuracy(y_true, y_pred) -> float:
    """Mean recall over the classes present in `y_true` (robust to class imbalance; chance = 1 / classes)."""
    y_true, y_pred = _as_labels(y_true), _as_labels(y_pred)
    _check_paired(y_true, y_pred)
    classes = np.unique(y_true)
    if classes.size == 0:
        return math.nan
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in classes]))


def macro_f1(y_true, y_pred, num_classes: int | None = None) -> float:
    """Unweighted mean of per-class F1 over the classes present in `y_true` or `y_pred` (or all `num_classes`).

    A class with no true and no predicted example would have F1 0/0; it is left out unless `num_classes` asks for
    every class, in which case it counts as 0 (as scikit-learn's `zero_division=0`); a label outside
    `range(num_classes)` is refused (it was left out of the mean, and a perfect score read 2/3).
    """
    y_true, y_pred = _as_labels(y_true, num_classes), _as_labels(y_pred, num_classes)
    _check_paired(y_true, y_pred)
    classes = np.arange(num_classes) if num_classes is not None else np.union1d(y_true, y_pred)
    if classes.size == 0:
        return math.nan
    return float(np.mean([_class_f1(y_true, y_pred, c) or 0.0 for c in classes]))


def _class_f1(y_true: np.ndarray, y_pred: np.ndarray, c: int) -> float | None:
    """F1 of class `c` among class indices `(n,)`, or None when it has no true and no predicted example (0 / 0)."""
    true_positive = np.sum((y_pred == c) & (y_true == c))
    denominator = np.sum(y_pred == c) + np.sum(y_true == c)
    return float(2.0 * true_positive / denominator) if denominator else None


def binary_auroc(y_true, scores) -> float:
    """Area under the ROC curve by the rank (Mann-Whitney U) formula; ties get half credit (average ranks).

    Args:
        y_true: `(n,)` with 1 for positives and 0 for negatives.
        scores: `(n,)`, larger = more positive.
    Returns:
        AUROC in [0, 1], or `nan` when only one class is present.
    """
    y_true = np.asarray(_as_array(y_true)).reshape(-1)
    # (read as booleans, labels 1 / 2 or -1 / +1 were all positives: NaN, "one class present", without a word)
    outside = ~np.isin(y_true, (0, 1))
    if y_true.dtype != bool and outside.any():
        # as text: `np.unique` sorts the values, which stopped in Python on a column of None beside text ("'<' not
        # supported between instances of 'str' and 'NoneType'")
        shown = sorted({repr(value) for value in y_true[outside].tolist()})[:3]
        raise ValueError(
            f"binary_auroc's y_true must be 1 for positives and 0 for negatives (or booleans), got "
            f"[{', '.join(shown)}]; pass `y_true == positive_class`."
        )
    y_true = y_true.astype(bool)
    scores = np.asarray(_as_array(scores), dtype=np.float64).reshape(-1)
    _check_paired(y_true, scores, other="scores")
    num_positive = int(y_true.sum())
    num_negative = y_true.size - num_positive
    if num_positive == 0 or num_negative == 0:
        return math.nan
    ranks = rankdata(scores)  # average ranks for ties
    u_statistic = ranks[y_true].sum() - num_positive * (num_positive + 1) / 2.0
    return float(u_statistic / (num_positive * num_negative))


def macro_auroc(y_true, probabilities) -> float:
    """One-vs-rest AUROC averaged over classes (macro), from class probabilities or scores `(n, num_classes)`.

    Two classes give the AUROC of class 1's score. Classes absent from `y_true` (no positive) are skipped, as
    their AUROC is undefined; `nan` if no class is left.
    """
    probabilities = np.asarray(_as_array(probabilities), dtype=np.float64)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities must be (n, num_classes), got shape {probabilities.shape}.")
    y_true = _as_labels(y_true, probabilities.shape[1])
    _check_paired(y_true, probabilities, other="probabilities")
    if probabilities.shape[1] == 2:
        return binary_auroc(y_true == 1, probabilities[:, 1])
    per_class = [binary_auroc(y_true == c, probabilities[:, c]) for c in range(probabilities.shape[1])]
    per_class = [value for value in per_class if not math.isnan(value)]
    return float(np.mean(per_class)) if per_class else math.nan


def _log_odds(logits: np.ndarray) -> np.ndarray:
    """`(n, K)` log-odds of each class against the others, log(p / (1 - p)) = logit - logsumexp(other logits): in the
    order of the softmax probabilities, which round to exactly 1 (or 0) for large margins while these do not."""
    # each row shifted by its largest logit, which changes no probability: rows that differ by a constant (the same
    # probabilities) then hold the same numbers, and tie exactly below
    logits = logits - logits.max(axis=1, keepdims=True)
    columns = []
    for column in range(logits.shape[1]):
        # sorted: rows whose other logits are the same numbers in another order (a tie in probability) sum them in
        # the same order, so their log-odds tie exactly too; in row order they were a float step apart, and AUROC
        # broke the tie by that step
        others = np.sort(np.delete(logits, column, axis=1), axis=1)
        columns.append(logits[:, column] - (logsumexp(others, axis=1) if others.shape[1] else 0.0))
    return np.stack(columns, axis=1)


def _binary_labels(labels: ArrayLike) -> bool:
    """Whether `labels` are the 0 / 1 class ids of one output per window (`(n,)` or `(n, 1)`)."""
    values = np.asarray(_as_array(labels))
    return values.size > 0 and values.size == len(values) and bool(np.isin(values, (0, 1)).all())


def _scorable_rows(logits: np.ndarray) -> np.ndarray:
    """`(n,)` whether each row of `(n, num_classes)` logits names a class: its softmax is defined. Not when it holds a
    NaN, or a +inf (an overflow: two of them tie, and a model scores no class infinitely on purpose), or rules out
    every class (-inf everywhere). A -inf among finite scores is how a class is ruled out (MiniRocket's score of a
    class absent from the labelled draw): that row is scored."""
    return ~np.isnan(logits).any(axis=1) & ~np.isposinf(logits).any(axis=1) & ~np.isneginf(logits).all(axis=1)


def classification_metrics(logits: ArrayLike, labels: ArrayLike) -> dict[str, float]:
    """accuracy, balanced_accuracy, macro_f1 and macro one-vs-rest AUROC.

    macro_f1 averages over the classes in `labels` or the predictions, as scikit-learn's `f1_score(average="macro")`
    does: a class of the model absent from both has no F1 (0 / 0) and is left out, not counted as 0 (a perfect model
    on a test split lacking one of K classes scores 1, not (K - 1) / K); one predicted but absent counts as 0.

    Args:
        logits: `(n, num_classes)` scores (logits). AUROC ranks each class's log-odds against the rest (`_log_odds`):
            the softmax probabilities' order without their rounding, where a margin of 40 makes them exactly 0 or 1
            and distinct scores would tie. `(n, 1)` with 0 / 1 labels: a one-output binary classifier, class 1
            where the logit is above 0 (a sigmoid above 0.5; the pipelines name its one label, `id2label[0]`, with
            that sigmoid as the score: the probability of class 1). A row that names no class
            (a NaN, a +inf, -inf everywhere: `_scorable_rows`) makes every metric `nan`.
        labels: `(n,)` class indices.
    """
    logits = np.asarray(_as_array(logits), dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError(f"logits must be (n, num_classes), got shape {logits.shape}.")
    if logits.shape[1] == 1:
        if not _binary_labels(labels):  # no classifier has one class: these are a regressor's predictions
            raise ValueError(
                "logits have one column per window: a regressor's predictions, not a classifier's scores; score a "
                "regressor with compute_metrics_fn('regression') (a one-output binary classifier's labels are 0 / 1)."
            )
        # A one-output binary classifier (num_labels=1): a sigmoid on its logit, the probability of class 1 (the
        # pipelines' score of its one label), class 1 above 0. The two columns (0, logit) give exactly that under softmax and argmax.
        logits = np.concatenate([np.zeros_like(logits), logits], axis=1)
    labels = _as_labels(labels, logits.shape[1])
    if not _scorable_rows(logits).all():  # no prediction to score (argmax would read a NaN row as class 0)
        return dict.fromkeys(CLASSIFICATION_METRICS, math.nan)
    predictions = logits.argmax(axis=1)
    return {
        "accuracy": accuracy(labels, predictions),
        "balanced_accuracy": balanced_accuracy(labels, predictions),
        "macro_f1": macro_f1(labels, predictions),
        "auroc": macro_auroc(labels, _log_odds(logits)),
    }


def class_names_of(classes: Iterable[int], label_names: Sequence[str] | None = None) -> list:
    """The names of class ids `classes` (`label_names[c]`), or the ids themselves where there are no names."""
    return [label_names[c] if label_names and 0 <= c < len(label_names) else c for c in (int(c) for c in classes)]


def per_class_report(logits: ArrayLike, labels: ArrayLike, label_names: Sequence[str]) -> dict[str, Any]:
    """What the macro averages of `classification_metrics` leave out, for a single-label classifier: per class (in
    class id order) its test examples and F1, the confusion matrix, and the classes the labels lack.

    Args:
        logits: `(n, num_classes)` scores (or `(n, 1)` of a one-output binary classifier, as `classification_metrics`).
        labels: `(n,)` class indices.
        label_names: the model's class names, `num_classes` of them.

    Returns:
        `{"classes": names, "support": [examples of each class], "f1": [each class's F1; None for a class with no
        example and no prediction (0 / 0: macro-F1 leaves it out)], "confusion_matrix": [[...]] (row: true class,
        column: predicted class; None when a row of logits names no class), "absent": [the classes without an example
        in labels]}`.
    """
    logits = np.asarray(_as_array(logits), dtype=np.float64)
    if logits.ndim == 2 and logits.shape[1] == 1:  # a one-output binary classifier: class 1 above 0
        logits = np.concatenate([np.zeros_like(logits), logits], axis=1)
    num_classes = len(label_names)
    # (a mismatch was taken for rows that name no class: a report of no F1 and no confusion matrix, without a word)
    if logits.ndim != 2 or logits.shape[1] != num_classes:
        raise ValueError(
            f"logits of shape {logits.shape} for {num_classes} `label_names` {list(label_names)}: give "
            "(n, num_classes) scores and one name per class, in class id order (the model's id2label)."
        )
    labels = _as_labels(labels, num_classes)
    check_one_per_row(len(logits), "rows of logits", labels=labels)  # (its argument is `labels`, not `y_true`)
    support = np.bincount(labels, minlength=num_classes)
    report: dict[str, Any] = {
        "classes": list(label_names),
        "support": support.tolist(),
        "f1": [None] * num_classes,
        "confusion_matrix": None,
        "absent": [label_names[c] for c in np.flatnonzero(support == 0)],
    }
    if not _scorable_rows(logits).all():
        return report  # no prediction to count (see `classification_metrics`)
    predictions = logits.argmax(axis=1)
    report["f1"] = [_class_f1(labels, predictions, c) for c in range(num_classes)]
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    report["confusion_matrix"] = matrix.tolist()
    return report


def multi_label_metrics(logits: ArrayLike, labels: ArrayLike) -> dict[str, float]:
    """Metrics of multi-label classification (`problem_type="multi_label_classification"`): every label predicted
    present where its logit is above 0 (a sigmoid above 0.5).

    Args:
        logits: `(n, num_labels)` scores; any NaN makes every metric `nan` (an infinite one decides its label).
        labels: `(n, num_labels)` multi-hot targets (0 / 1), or soft ones in [0, 1] as the loss trains on (label
            smoothing by hand: 0.05 / 0.95), each read as present above 0.5 and absent below it.

    Returns:
        accuracy (every label of a row right: subset accuracy), hamming_accuracy (the share of label decisions that
        are right), macro_f1 (F1 of each label, averaged over the labels true or predicted in some row, as `macro_f1`
        averages over the classes present: a label that never applies and is never predicted, 0 / 0, is left out),
        micro_f1 (over all label decisions) and auroc (per label, averaged over the labels with both values
        present). Where no label applies in any row and none is predicted, every decision is right and both F1s
        are 1.0 (scikit-learn's `zero_division=1.0`); `nan` for no rows.
    """
    logits = np.asarray(_as_array(logits), dtype=np.float64)
    targets = np.asarray(_as_array(labels), dtype=np.float64)
    if logits.ndim != 2 or targets.shape != logits.shape:
        raise ValueError(
            f"Multi-label logits and labels must both be (n, num_labels), got {logits.shape} and {targets.shape}."
        )
    # soft targets, which the loss trains on, are scored by their side of 0.5 (they stopped the first evaluation, after
    # training had run); 0.5 itself is on neither side, and values outside [0, 1] or NaN are no target at all
    if not (((targets >= 0.0) & (targets <= 1.0)) & (targets != 0.5)).all():
        raise ValueError(
            "Multi-label labels must be multi-hot (0 or 1 for every label of every row) or soft targets in [0, 1] "
            "other than 0.5 (read as present above 0.5): map the label column to such rows."
        )
    if np.isnan(logits).any():  # no decision to score (`NaN > 0` would read the label as absent); ±inf decide
        return dict.fromkeys(MULTI_LABEL_METRICS, math.nan)
    truth, predicted = targets > 0.5, logits > 0
    true_positive = (truth & predicted).sum(axis=0)
    denominator = truth.sum(axis=0) + predicted.sum(axis=0)
    # a label that never applies and is never predicted has F1 0 / 0: counted as 0, a perfect model scored (K-1) / K
    # on an evaluation set without one of its K labels (a rare diagnosis absent from a small draw)
    per_label_f1 = 2.0 * true_positive[denominator > 0] / denominator[denominator > 0]
    aurocs = [binary_auroc(truth[:, k], logits[:, k]) for k in range(logits.shape[1])]
    aurocs = [value for value in aurocs if not math.isnan(value)]
    empty = truth.size == 0
    # no label applies anywhere and none is predicted: no decision is wrong. F1 1.0, not NaN beside accuracy 1.0: the
    # Trainer's choice of the best model by macro_f1 never takes a NaN, and kept a model raising false alarms (0.0)
    # over this one
    unanimous = math.nan if empty else 1.0
    return {
        "accuracy": math.nan if empty else float(np.mean((truth == predicted).all(axis=1))),
        "hamming_accuracy": math.nan if empty else float(np.mean(truth == predicted)),
        "macro_f1": float(np.mean(per_label_f1)) if per_label_f1.size else unanimous,
        "micro_f1": float(2.0 * true_positive.sum() / denominator.sum()) if denominator.sum() else unanimous,
        "auroc": float(np.mean(aurocs)) if aurocs else math.nan,
    }


def pearson_r(y_true, y_pred) -> float:
    """Pearson correlation; `nan` if either side is constant (the correlation is undefined)."""
    y_true = np.asarray(_as_array(y_true), dtype=np.float64).reshape(-1)
    y_pred = np.asarray(_as_array(y_pred), dtype=np.float64).reshape(-1)
    _check_paired(y_true, y_pred, "values")
    if y_true.size < 2:
        return math.nan
    # told by the values, not by the centred ones: the mean of 1,001 copies of 0.1 is not 0.1 to the last bit, so a
    # constant's centred copies were 1e-17 each and r came out as +-4e-16 (a Pearson r of 0.000 in the tables)
    if np.all(y_true == y_true[0]) or np.all(y_pred == y_pred[0]):
        return math.nan
    true_centered, pred_centered = y_true - y_true.mean(), y_pred - y_pred.mean()
    denominator = math.sqrt(float(true_centered @ true_centered) * float(pred_centered @ pred_centered))
    if denominator == 0.0:
        return math.nan
    return float(true_centered @ pred_centered / denominator)


def _target_columns(values) -> np.ndarray:
    """Regression predictions or targets as `(n, targets)` float64: `(n,)` is one target."""
    values = np.asarray(_as_array(values), dtype=np.float64)
    if values.ndim == 0:
        return values.reshape(1, 1)
    return values.reshape(len(values), -1)


def regression_metrics(
    predictions: ArrayLike, targets: ArrayLike, target_names: str | Sequence[str] | None = None
) -> dict[str, float]:
    """mae, rmse and pearson_r of `predictions` against `targets` (same units).

    One target: `(n,)` or `(n, 1)` each. Several targets (a model with `num_targets=k`): `(n, k)` each; every metric
    is computed for each target on its own and averaged over the targets, and each target's own values are reported
    too (`mae_0`, `rmse_0`, `pearson_r_0`, `mae_1`, ...), by name when `target_names` names them (the model's
    `config.target_names`: `mae_heart_rate`, ...; a str is one name). Pooling the targets into one vector would make
    Pearson r measure how far apart the targets' scales are (heart rate against breathing rate), not the model's
    skill. One target's metrics keep their plain names, named or not (what `--metric-for-best-model`, cards and
    records read).

    Raises:
        ValueError: predictions and targets that do not pair up, or `target_names` of another count than the targets
            (or with a name twice, whose metrics would overwrite each other).
    """
    predictions, targets = _target_columns(predictions), _target_columns(targets)
    if predictions.shape != targets.shape:
        if predictions.shape[0] == targets.shape[0] and targets.shape[1] == 1 and predictions.shape[1] > 1:
            width = predictions.shape[1]
            raise ValueError(
                f"The predictions have {width} columns per example and the labels one value each: are they the "
                f"logits of a {width}-class classifier? Score a classifier with compute_metrics_fn('classification'); "
                f"a regressor with {width} targets (num_targets={width}) needs labels of shape (n, {width})."
            )
        raise ValueError(
            f"{predictions.size} predictions for {targets.size} targets; they must pair up (shapes "
            f"{predictions.shape} and {targets.shape})."
        )
    errors = predictions - targets
    empty = errors.shape[0] == 0
    per_target = {
        "mae": [math.nan if empty else float(np.mean(np.abs(column))) for column in errors.T],
        "rmse": [math.nan if empty else float(np.sqrt(np.mean(column**2))) for column in errors.T],
        "pearson_r": [pearson_r(targets[:, k], predictions[:, k]) for k in range(targets.shape[1])],
    }
    suffixes = _target_suffixes(target_names, targets.shape[1])
    metrics = {name: float(np.mean(values)) if values else math.nan for name, values in per_target.items()}
    if targets.shape[1] > 1:
        metrics.update(
            {f"{name}_{suffixes[k]}": value for name, values in per_target.items() for k, value in enumerate(values)}
        )
    return metrics


def _listed_names(target_names: str | Iterable[str] | None) -> list[str]:
    """The targets' names as a list of str (`as_list`: a str is one name; its letters were taken for the names of as
    many targets, `target_names="hr"` reporting `mae_h` and `mae_r`)."""
    return [str(name) for name in as_list(target_names)]


def _target_suffixes(target_names: str | Sequence[str] | None, count: int) -> list[str]:
    """What each of `count` targets' own metrics end in: its name, or its index when `target_names` is None."""
    if target_names is None:
        return [str(k) for k in range(count)]
    names = _listed_names(target_names)
    if len(names) != count or len(set(names)) != len(names):
        shown = ", ".join(map(repr, names))
        problem = f"for {counted(count, 'target')}" if len(names) != count else "with a name twice"
        raise ValueError(
            f"target_names gives {counted(len(names), 'name')} ({shown}) {problem}: give one name per target (the "
            "model's config.target_names), or none to number them."
        )
    return names


def _check_task(task: str, accepted: tuple[str, ...] = LABEL_TASKS) -> None:
    if task not in accepted:
        raise ValueError(f"task must be one of {accepted}, got {task!r}.")


def metrics_for_task(task: str) -> tuple[str, ...]:
    """The metrics an evaluation of `task` (one of `citrus_hf.data.splits.LABEL_TASKS`) reports, in their order."""
    _check_task(task)
    return CLASSIFICATION_METRICS if task == CLASSIFICATION else REGRESSION_METRICS


# `compute_metrics_fn`'s tasks: a labelled set's (`LABEL_TASKS`) and multi-label classification, which the Trainer fits
# with `problem_type="multi_label_classification"` (`citrus finetune` does not).
MULTI_LABEL_TASK = "multi_label_classification"


# A binary classifier that the classification metrics score right: what the refusals of a regression's outputs advise.
BINARY_CLASSIFIER_FIX = (
    "For a binary classifier build CiTrusForSequenceClassification with num_labels=2 (softmax, cross-entropy), or keep "
    'one output with problem_type="multi_label_classification" (a sigmoid, binary cross-entropy on labels of shape '
    "(n, 1)); to score the regression, use compute_metrics_fn('regression')."
)
# Why `compute_metrics_fn("classification")` refuses one output per window with one label per window: only a regression
# gives that pair. transformers trains a one-output model as a regression (num_labels=1 without a problem_type: mean
# squared error, 0 / 1 targets regressed to values near 0 and 1), and a one-output sigmoid classifier
# (`problem_type="multi_label_classification"`) takes labels of shape (n, 1), in CiTrus's loss as in transformers'
# `BCEWithLogitsLoss`. Read as logits (class 1 above 0), a perfect separator scored accuracy 0.5.
ONE_OUTPUT_REGRESSION = (
    "The model has one output per window and the labels one value each (shape (n,)): a regression's predictions "
    "(transformers trains a one-output model without a problem_type as a regression, mean squared error), which the "
    "classification metrics would read as logits (class 1 above 0) and misreport. " + BINARY_CLASSIFIER_FIX
)


def _joined_batches(batches: Any) -> Any:
    """One array of a list of per-batch arrays (`eval_do_concat_batches=False`), or of their first outputs where the
    model returned several (tuples); anything else as it is."""
    if not isinstance(batches, list) or not batches:
        return batches
    if isinstance(batches[0], tuple):
        batches = [batch[0] for batch in batches]
    return np.concatenate([np.asarray(_as_array(batch)) for batch in batches])


def compute_metrics_fn(
    task: str, target_names: str | Sequence[str] | None = None
) -> Callable[[EvalPrediction], dict[str, float]]:
    """A `Trainer` `compute_metrics` for `task` over an `EvalPrediction`: "classification" (`classification_metrics`;
    multi-hot `(n, num_labels)` labels as wide as the logits get `multi_label_metrics`), "multi_label_classification"
    (`multi_label_metrics`) or "regression" (`regression_metrics`: several targets are scored one by one and
    averaged, and reported by `target_names` when given: `compute_metrics_fn("regression",
    target_names=model.config.target_names)` reports `eval_mae_heart_rate` where it reported `eval_mae_0`).

    One output per window scored with labels of one value each (`(n, 1)` and `(n,)`) is refused for "classification":
    only a regression gives that pair (`ONE_OUTPUT_REGRESSION`); a one-output sigmoid classifier's labels are `(n, 1)`.

    It works with `batch_eval_metrics=True` too (the Trainer then passes one batch at a time, with `compute_result`
    True on the last; the metrics are those of the whole evaluation set).

    Choosing checkpoints by an error (`metric_for_best_model="mae"` or `"rmse"`) needs `greater_is_better=False`:
    transformers minimises only metrics whose name ends in "loss". With `citrus_hf` imported, a `Trainer` of a CiTrus
    model sets it when it was left unset, and says so.
    """
    _check_task(task, (*LABEL_TASKS, MULTI_LABEL_TASK))
    batches: list[tuple[Any, Any]] = []  # `batch_eval_metrics=True`: the batches of the evaluation so far

    def score(predictions, labels) -> dict[str, float]:
        if task == REGRESSION:
            return regression_metrics(predictions, labels, target_names)
        if np.ndim(predictions) == 1:
            # a classifier's logits are (n, num_classes), or (n, 1) with one output: one value per window is what a
            # `preprocess_logits_for_metrics` taking their argmax (a text-model habit that saves memory) leaves
            raise ValueError(
                f"compute_metrics_fn({task!r}) scores a classifier's logits, (n, num_classes), and got one value per "
                f"window (shape {np.shape(predictions)}), such as the class ids a `preprocess_logits_for_metrics` "
                "taking their argmax leaves: drop that function (AUROC needs the scores), or have it return the logits."
            )
        one_output = np.ndim(predictions) == 2 and np.shape(predictions)[1] == 1
        if task == CLASSIFICATION and one_output and np.ndim(labels) == 1 and _binary_labels(labels):
            # (other labels are refused by `classification_metrics`: no classifier has one class)
            raise ValueError(ONE_OUTPUT_REGRESSION)
        multi_hot = np.ndim(labels) == 2 and np.shape(labels) == np.shape(predictions) and np.shape(labels)[1] > 1
        if task == MULTI_LABEL_TASK or multi_hot:
            # the Trainer path the multi-label refusals of `citrus finetune` point to: (n, K) multi-hot label_ids
            return multi_label_metrics(predictions, labels)
        return classification_metrics(predictions, labels)

    def compute_metrics(eval_prediction: EvalPrediction, compute_result: bool | None = None) -> dict[str, float]:
        predictions, labels = eval_prediction.predictions, eval_prediction.label_ids
        if isinstance(predictions, list) or isinstance(labels, list):
            # `eval_do_concat_batches=False`: the Trainer hands over a list of batches; the metrics are those of the
            # whole set
            predictions, labels = _joined_batches(predictions), _joined_batches(labels)
        if isinstance(predictions, tuple):  # models that return extra outputs: the first is the logits
            predictions = predictions[0]
        predictions, labels = _as_array(predictions), _as_array(labels)
        if compute_result is None:
            return score(predictions, labels)
        batches.append((predictions, labels))
        if not compute_result:
            return {}
        predictions = np.concatenate([np.asarray(batch[0]) for batch in batches])
        labels = np.concatenate([np.asarray(batch[1]) for batch in batches])
        batches.clear()
        return score(predictions, labels)

    compute_metrics.citrus_task = task  # the Trainer hooks tell the package's metrics from a user's own
    # and read the targets' names in its metrics' names (`metric_greater_is_better`)
    compute_metrics.citrus_target_names = _listed_names(target_names) if task == REGRESSION else []
    # called by the Trainer hooks as each evaluation starts: the batches of one that stopped part-way are not its own
    compute_metrics.start_evaluation = batches.clear
    return compute_metrics


def bare_metric_name(name: str) -> str:
    """Metric `name` without an `eval_` / `test_` prefix, nor the target index of a multi-target regression metric
    (`eval_mae_1` -> `mae`)."""
    for prefix in ("eval_", "test_"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return re.sub(r"_\d+$", "", name)


def metric_greater_is_better(name: str, eval_sets: Iterable[str] = (), target_names: Iterable[str] = ()) -> bool:
    """Whether a larger value of metric `name` (with or without an `eval_` / `test_` prefix, a target index or name,
    or the name of one of several evaluation sets: `eval_holdout_mae`, `eval_mae_heart_rate`) is better.

    Where they are known, the names of the evaluation sets (`eval_sets`: the keys of a `Trainer`'s `eval_dataset`
    dict, which its metrics' names hold after `eval_`) and of the regression targets (`target_names`) are read as
    such, so that their words never decide: `eval_mae_cohort_accuracy` of a set "mae_cohort" is an accuracy, and
    `pearson_r_val_loss` of a target "val_loss" a correlation. Otherwise a regression metric followed by more of the
    name is a target's own (`regression_metrics`: `mae_<target>`), and decides whatever the target is called:
    `mae_accuracy` (a target column named "accuracy") is an error, `pearson_r_mae` a correlation. Else the metric the
    name ends in decides (`holdout_mae`, `custom_loss`, `loss_free_pearson_r`); else the first known metric in it.
    """
    # one prefix, transformers' `metric_key_prefix`: the words after it may be a set's name ("test_cohort")
    prefix = next((prefix for prefix in ("eval_", "test_") if name.startswith(prefix)), "")
    unprefixed = name.removeprefix(prefix)
    # the longest set name first: of sets "cohort" and "cohort_b", "cohort_b_mae" is the second's
    for eval_set in sorted(map(str, eval_sets), key=len, reverse=True):
        if unprefixed.startswith(f"{eval_set}_"):
            unprefixed = unprefixed[len(eval_set) + 1 :]
            break
    for metric in REGRESSION_METRICS:
        if any(unprefixed == f"{metric}_{target}" for target in map(str, target_names)):
            return metric not in LOWER_IS_BETTER
    bare = bare_metric_name(unprefixed)
    tokens = bare.split("_")

    def starts_at(start: int, metric: str) -> bool:
        return tokens[start : start + metric.count("_") + 1] == metric.split("_")

    # a target's metric: the regression metric its name starts with, before the target's name (which may be anything,
    # the name of a classification metric or of an error too)
    ending = next(
        (
            metric
            for start in range(len(tokens))
            for metric in REGRESSION_METRICS
            if starts_at(start, metric) and start + metric.count("_") + 1 < len(tokens)
        ),
        None,
    )
    known = sorted({*REGRESSION_METRICS, *CLASSIFICATION_METRICS, *LOWER_IS_BETTER}, key=len, reverse=True)
    if ending is None:
        ending = next((metric for metric in known if bare == metric or bare.endswith(f"_{metric}")), None)
    if ending is None:
        ending = next((metric for start in range(len(tokens)) for metric in known if starts_at(start, metric)), None)
    return ending not in LOWER_IS_BETTER


def check_metric_for_task(name: str, task: str | None = None) -> None:
    """Refuse a `metric_for_best_model` that the task's evaluation does not report (it would fail at the first
    evaluation, inside the `Trainer`); without `task` (settings parsed before the data is read), one that no task
    reports."""
    if task is None:
        known = ("loss", *CLASSIFICATION_METRICS, *REGRESSION_METRICS)
        if name.removeprefix("eval_") not in known:
            raise ValueError(f"--metric-for-best-model must be one of {', '.join(known)}, got {name!r}.")
        return
    task_metrics = metrics_for_task(task)
    if name.removeprefix("eval_") not in ("loss", *task_metrics):
        raise ValueError(
            f"--metric-for-best-model {name!r} is not a {task} metric; choose loss or one of {', '.join(task_metrics)}."
        )


def json_default(value):
    """`json.dumps(..., default=json_default)`: numpy scalars (metric values, counts) as plain JSON numbers."""
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"Cannot serialise {type(value).__name__}")


def strict_json(value: Any) -> Any:
    """`value` (dicts, lists and numbers, nested) with every non-finite number as None: `json.dumps` would write a
    metric that has no value (the Pearson r of a constant prediction) as a bare `NaN`, which is not JSON and which
    strict readers (`jq`, JavaScript, most non-Python parsers) refuse; None is written as `null`. Readers of recorded
    runs turn it back into NaN (`metrics_as_numbers`)."""
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(item) for item in value]
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return None
    return value


def dumps_strict(value: Any, **kwargs) -> str:
    """`json.dumps` of `strict_json(value)`, numpy scalars as numbers (`json_default`), and never a bare NaN."""
    try:
        # most values hold no NaN: written as they are, without the copy `strict_json` makes of every nested dict and
        # list first (a day of windows in one `citrus predict --output .jsonl` line spent 1.5 s on it), and the same
        # text, as JSON writes a tuple as a list
        return json.dumps(value, allow_nan=False, default=json_default, **kwargs)
    except ValueError:  # a non-finite number somewhere (json's "Out of range float values")
        return json.dumps(strict_json(value), allow_nan=False, default=json_default, **kwargs)


# The prefix of a metric scored per labelled recording (`recipes.recording_metrics`: each recording's mean window
# output, as `citrus predict` labels a file), beside its window-level twin in `citrus evaluate`'s run records and
# report: "recording_macro_f1".
PER_RECORDING_PREFIX = "recording_"


def per_recording(metric: str) -> str:
    """The name of `metric` ("macro_f1") scored per labelled recording ("recording_macro_f1")."""
    return PER_RECORDING_PREFIX + metric


def metrics_as_numbers(record: dict[str, Any]) -> dict[str, Any]:
    """A recorded run (a `runs.jsonl` line, a `results.json` run) with each metric that has no value (`null`, see
    `strict_json`) as NaN again, which the reports and paired gaps skip; the per-recording ones too."""
    metrics = (*CLASSIFICATION_METRICS, *REGRESSION_METRICS)
    metrics += tuple(per_recording(metric) for metric in metrics)
    return {key: math.nan if value is None and key in metrics else value for key, value in record.items()}


def powers_of_ten(low: float, high: float, num: int) -> tuple[float, ...]:
    """`num` powers of ten with exponents evenly spaced from `low` to `high`, as `np.logspace` but through Python's
    `pow` (correctly rounded in glibc): numpy's vectorised power differs in the last bit between CPUs and numpy builds
    (2 of `LOGIT_TEMPERATURES`' 31 values on an AVX-512 Xeon with numpy 2.3.5), and these grids enter the protocol's
    run signatures (`recipes.recipe_fingerprint`), so a machine's numpy must not decide whether a run is reused."""
    return tuple(10.0 ** float(exponent) for exponent in np.linspace(low, high, num))


__all__ = [
    "BINARY_CLASSIFIER_FIX",
    "PER_RECORDING_PREFIX",
    "CLASSIFICATION_METRICS",
    "MULTI_LABEL_METRICS",
    "MULTI_LABEL_TASK",
    "REGRESSION_METRICS",
    "accuracy",
    "balanced_accuracy",
    "bare_metric_name",
    "binary_auroc",
    "check_metric_for_task",
    "class_names_of",
    "classification_metrics",
    "compute_metrics_fn",
    "dumps_strict",
    "json_default",
    "macro_auroc",
    "macro_f1",
    "metric_greater_is_better",
    "metrics_as_numbers",
    "metrics_for_task",
    "multi_label_metrics",
    "pearson_r",
    "per_class_report",
    "per_recording",
    "powers_of_ten",
    "regression_metrics",
    "strict_json",
]
