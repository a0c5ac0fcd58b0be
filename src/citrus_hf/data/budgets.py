"""Label budgets: how many labelled examples a low-data run may use (`LabelBudget`, `parse_budget`), which ones
(`draw_budget`, seeded), and the validation split carved out of a training set that has none (`carve_validation`:
stratified by class, whole recordings).

They live in `data/`, not in `evaluation/`, because fine-tuning (`training/`) draws them too; `citrus_hf.data.splits`
carves its validation splits with `carve_validation` and re-exports all four, so `from citrus_hf.data.splits import
draw_budget` keeps working.
"""

from __future__ import annotations

import re
from collections.abc import Sized
from dataclasses import dataclass

import numpy as np

from ..vocabulary_citrus import REGRESSION
from .errors import LabelColumnError

# `LabelBudget.label_for`'s suffix for a per-class count of a regression set, which `parse_budget` does not read
_REGRESSION_COUNT_SUFFIX = " ex."


@dataclass(frozen=True)
class LabelBudget:
    """How many labelled training examples a run may use.

    `kind` is "per_class" (`value` examples of every class; for regression, `value` examples in all), "fraction"
    (that share of the training pool, stratified by class) or "all".
    """

    kind: str
    value: float

    @property
    def label(self) -> str:
        """Short name for tables and plots: "5/class", "10%", "all"."""
        if self.kind == "all":
            return "all"
        if self.kind == "per_class":
            return f"{int(self.value)}/class"
        return f"{self.value * 100:g}%"

    def label_for(self, task: str) -> str:
        """`label`, except that a per-class count of a regression set is a count of examples ("5 ex.")."""
        if task == REGRESSION and self.kind == "per_class":
            return f"{int(self.value)}{_REGRESSION_COUNT_SUFFIX}"
        return self.label

    @property
    def sort_key(self) -> tuple[int, float]:
        return {"per_class": 0, "fraction": 1, "all": 2}[self.kind], self.value


def parse_budget(text: str | int | float) -> LabelBudget:
    """Parse a label budget: "5" / "k5" / "5/class" (examples per class), "0.1" / "10%" (a fraction of the
    training pool), "1.0" / "100%" / "all" (everything). An integer is a count, a number with a point a fraction."""
    if isinstance(text, LabelBudget):
        return text
    raw = str(text).strip().lower()
    if raw in ("all", "full", "1.0", "100%"):
        return LabelBudget("all", 1.0)
    match = re.fullmatch(r"(?:k=?)?(\d+)(?:/class|-shot|shot)?", raw)
    if match:
        count = int(match.group(1))
        if count < 1:
            raise ValueError(f"A label budget of {count} examples per class leaves nothing to train on; use 1 or more.")
        return LabelBudget("per_class", float(count))
    try:
        fraction = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(
            f"Cannot read the label budget {text!r}: use an integer for examples per class (e.g. 5), a fraction "
            "(0.1 or 10%), or 'all'."
        ) from None
    if not 0.0 < fraction <= 1.0:
        raise ValueError(
            f"A label budget must be a positive number of examples per class (e.g. 5), a fraction in (0, 1] of the "
            f"training pool (0.1 or 10%) or 'all', got {text!r}."
        )
    return LabelBudget("all", 1.0) if fraction == 1.0 else LabelBudget("fraction", fraction)


def budget_of_label(label: str) -> LabelBudget | None:
    """The budget a table label names (`LabelBudget.label_for`'s "5/class", "5 ex.", "10%", "all"), or None for a
    label this version does not write (recorded by another one)."""
    text = str(label)
    try:
        return parse_budget(text.removesuffix(_REGRESSION_COUNT_SUFFIX))
    except ValueError:
        return None


def check_one_per_row(count: int, what: str, **columns: Sized | None) -> None:
    """Refuse a column of `columns` (name -> `(count,)` sequence, or None: not given) of another length than the
    `count` `what` ("examples", "outputs") it pairs with by index: a shorter one stopped in numpy ("index 4 is out of
    bounds") or read only the rows it reached, and a longer one was read in part, without a word."""
    for name, column in columns.items():
        if column is not None and len(column) != count:
            raise ValueError(f"`{name}` has {len(column)} entries for {count} {what}; give one for each, in order.")


def _checked_labels(labels, by_class: bool) -> np.ndarray:
    """`labels` as an array, refusing, where they are classes (`by_class`; a regression's targets, several per row
    too, are drawn as they are), what cannot be drawn or carved by: rows of several values (multi-hot labels:
    `np.flatnonzero` of their class masks gave indices past the pool, drawn without a word), a missing class (None
    stopped numpy's sort, "'<' not supported between instances of 'NoneType' and 'str'"; a NaN class has no member,
    and the carve stopped with "index -1 is out of bounds") and classes of mixed types."""
    labels = np.asarray(labels)
    if by_class and labels.ndim != 1:
        raise LabelColumnError(
            f"labels must be one per example, shape (n,), got shape {labels.shape}: a budget and a validation carve "
            "stratify by one class per example; for multi-hot rows pass an id of each row's pattern, "
            "`np.unique(labels, axis=0, return_inverse=True)[1]`."
        )
    missing = missing_groups(labels.tolist()) if by_class and labels.dtype.kind in "fO" else []
    if len(missing):
        raise LabelColumnError(
            f"{len(missing)} of {len(labels)} class labels are missing (None or NaN), first at row {missing[0]}: "
            "drop those rows, or give them a class, before drawing a label budget or carving a validation split."
        )
    if by_class and not _sortable(labels):
        raise LabelColumnError(
            "class labels mix types (numbers beside text, e.g. 1 and 'walk'), which cannot be told apart or sorted: "
            "map them to one type, class ids or class names, before drawing a label budget or carving a validation "
            "split."
        )
    return labels


def _class_indices(labels: np.ndarray | None, size: int) -> list[np.ndarray]:
    if labels is None:
        return [np.arange(size)]
    return [np.flatnonzero(labels == c) for c in np.unique(labels)]


def draw_budget(labels: np.ndarray, budget: LabelBudget, seed: int, groups=None) -> np.ndarray:
    """Indices of the labelled examples a run may train on, drawn from a pool with seed `seed`.

    Args:
        labels: `(n,)` of the pool: class indices (integers) for classification, targets (floats) for regression.
        budget: the label budget. Per class: `value` examples of each class (all of a class when it has fewer).
            Fraction: `round(value * n_class)` (at least 1) of each class. Regression: `value` examples, or that
            fraction (at least 2) of the pool.
        seed: which examples; the same seed always draws the same ones.
        groups: `(n,)` the labelled example each row was cut from (`TaskSplits.examples`: a recording of one label
            that `window_seconds` cut into windows), or None where every row is an example of its own. With them the
            budget counts examples, not rows: "2 per class" draws 2 examples of each class and every row of each (2
            windows of one recording are one label, not two). Without them the draw is the rows' own, unchanged.

    Returns:
        Sorted indices into the pool.
    """
    labels = np.asarray(labels)
    labels = _checked_labels(labels, by_class=labels.dtype.kind != "f")
    check_one_per_row(len(labels), "examples", groups=groups)
    if budget.kind == "all":
        return np.arange(len(labels))
    if groups is not None:
        # one row per example (its first: an example has one label), drawn as rows are, then every row of each
        _, first, inverse = np.unique(group_keys(groups, len(labels)), return_index=True, return_inverse=True)
        drawn = draw_budget(labels[first], budget, seed)
        return np.flatnonzero(np.isin(inverse.reshape(-1), drawn))
    is_regression = labels.dtype.kind == "f"
    rng = np.random.default_rng(seed)
    chosen = []
    for members in _class_indices(None if is_regression else labels, len(labels)):
        if budget.kind == "per_class":
            count = int(budget.value)
        else:
            count = max(2 if is_regression else 1, int(round(budget.value * len(members))))
        chosen.append(rng.choice(members, size=min(count, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def drawn_example_labels(labels: np.ndarray, chosen: np.ndarray, groups=None) -> np.ndarray:
    """The labels of the labelled examples a draw holds (`chosen` rows of a pool whose rows have `labels` `(n,)`):
    one per example where the rows are windows cut from the examples `groups` `(n,)` names (`draw_budget`'s: a
    recording is one label however many windows it gave), else the rows' own. What a budget's "per class" counts,
    and what `--recipe auto` reads (`recipes.labels_per_class`)."""
    labels, chosen = np.asarray(labels), np.asarray(chosen)
    check_one_per_row(len(labels), "examples", groups=groups)
    if groups is None:
        return labels[chosen]
    _, first = np.unique(group_keys(groups, len(labels))[chosen], return_index=True)
    return labels[chosen][first]


def carve_validation(
    num_examples: int,
    labels: np.ndarray | None = None,
    groups: list[str] | None = None,
    fraction: float = 0.2,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Split a training set into (pool, validation), stratified by class and grouped by recording.

    A recording is never split: all of its examples go to one side, whatever their classes, so overlapping windows
    of one recording never sit on both sides. Within that rule the carve is stratified as well as whole recordings
    allow: every class's recordings are shuffled (seeded), one of them is kept in the pool, and the others go to
    validation in that order until validation holds at least `fraction` of the class's examples. A recording that
    holds several classes counts for each of them; one that an earlier class keeps in the pool or already sent to
    validation is not moved again, so a class may end up above its share. Without `labels` (regression) all examples
    form one class; without `groups` every example is its own recording, and so is every example whose group is
    missing (None, or NaN as pandas gives it: `missing_groups`).

    Returns:
        (pool indices, validation indices), both sorted.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation_fraction must lie strictly between 0 and 1, got {fraction}.")
    check_one_per_row(num_examples, "examples", labels=labels, groups=groups)
    groups = group_keys(groups, num_examples)
    rng = np.random.default_rng(seed)
    classes = _class_indices(None if labels is None else _checked_labels(labels, by_class=True), num_examples)
    # every shuffle first, in class order (the only draws), then the keepers: each class keeps one recording in the
    # pool before any recording moves, so a later class can never take away an earlier class's last one
    orders = []
    for members in classes:
        names = np.unique(groups[members])
        rng.shuffle(names)
        orders.append(names)
    kept = {names[-1] for names in orders if len(names)}  # (an empty training set has no recording to keep)
    moved: set = set()
    for members, names in zip(classes, orders, strict=True):
        in_class = groups[members]
        taken = int(np.isin(in_class, list(moved)).sum()) if moved else 0  # moved with another class's recordings
        # each recording's examples in the class, counted once (comparing every moved name with the whole class was
        # quadratic: 200,000 windows without recording ids took 48 s)
        examples = dict(zip(*np.unique(in_class, return_counts=True), strict=True))
        for name in names:
            if taken >= fraction * len(members):
                break
            if name in kept or name in moved:
                continue
            moved.add(name)
            taken += int(examples[name])
    validation = np.flatnonzero(np.isin(groups, list(moved))) if moved else np.zeros(0, dtype=np.int64)
    return np.setdiff1d(np.arange(num_examples), validation), validation


def missing_groups(groups) -> np.ndarray:
    """The rows whose group (recording id) is missing: None, or a float NaN (pandas' missing value)."""
    return np.flatnonzero([group is None or (isinstance(group, float) and group != group) for group in groups])


def _sortable(keys: np.ndarray) -> bool:
    """Whether `np.unique` can sort `keys` `(n,)`: one id per row, of types that compare (not ints beside text in an
    object column)."""
    if keys.ndim != 1:  # (ids such as (subject, session) tuples: np.asarray made them a 2-D array)
        return False
    if keys.dtype != object:
        return True
    try:
        np.unique(keys)
    except TypeError:
        return False
    return True


def _numbers_made_text(groups, keys: np.ndarray) -> bool:
    """Whether numpy read `groups` `(n,)`, numbers beside text in a list, all as text (`keys`): 1 and "1" one group."""
    if keys.dtype.kind != "U" or (isinstance(groups, np.ndarray) and groups.dtype.kind == "U"):
        return False
    return any(not isinstance(group, str) for group in groups)


def group_keys(groups, num_examples: int) -> np.ndarray:
    """Each example's group as an array `np.unique` can sort: `groups` as they are, or, when some are missing
    (`missing_groups`) or they do not sort as they are (tuples, ints beside text: `_sortable`), every one as text
    and each missing one a group of its own, named by its row under a prefix no given group starts with (a carve
    keeps such a row apart, and a test split's per-recording scores score it alone). A number whose text is also a
    given text id (1 beside "1") keeps a key of its own, `"1 (int)"`."""
    if groups is None:
        return np.arange(num_examples).astype(str)
    missing = missing_groups(groups)
    if not len(missing):
        try:
            keys = np.asarray(groups)
        except ValueError:  # (tuples of different lengths, ("s1", 1) beside ("s2",): numpy's "inhomogeneous shape")
            keys = None
        if keys is not None and _sortable(keys) and not _numbers_made_text(groups, keys):
            return keys
    texts = [str(group) for group in groups]
    # a number and a text that read alike (1 and "1") are two recordings, not one: the number's key names its type
    given_as_text = {text for group, text in zip(groups, texts) if isinstance(group, str)}
    keys = np.asarray(
        [
            f"{text} ({type(group).__name__})" if text in given_as_text and not isinstance(group, str) else text
            for group, text in zip(groups, texts)
        ],
        dtype=object,
    )
    prefix = "<no recording> row "
    while any(key.startswith(prefix) for key in keys):
        prefix = "<" + prefix
    keys[missing] = [f"{prefix}{row}" for row in missing]
    return keys.astype(str)


__all__ = [
    "LabelBudget",
    "budget_of_label",
    "carve_validation",
    "check_one_per_row",
    "draw_budget",
    "drawn_example_labels",
    "group_keys",
    "parse_budget",
]
