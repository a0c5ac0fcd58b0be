"""`TrainerSettings`, the `Trainer` side of a fine-tuning run (shared by `finetune`, the recipes, the evaluation
protocol and their commands), and the checks of its values that the other settings (`arguments`) share: numbers
(`check_positive`, `check_non_negative`, `check_integer`, `check_fraction`, numpy's as Python's: `plain_numbers`),
switches (`check_switches`), seeds (`check_seed`) and log destinations (`check_report_to`); and the short repr of the
runs' results (`counted_repr`).

It sits below the recipes and the `trainer` in the training layers (`.importlinter`), so that they can name
`TrainerSettings` in their signatures. Like `arguments`, it imports neither torch nor transformers: `citrus finetune
--help` builds its options from these fields.
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ..vocabulary_citrus import MIXED_PRECISIONS, MixedPrecision, as_bool

# Where training logs go: one vocabulary for `citrus pretrain`, `citrus finetune` and `citrus evaluate`.
ReportTo = Literal["none", "tensorboard"]
REPORT_TO: tuple[str, ...] = get_args(ReportTo)


def check_report_to(value: str) -> None:
    """Refuse a `report_to` outside `REPORT_TO`, naming the choices."""
    if value not in REPORT_TO:
        raise ValueError(f"`report_to` must be one of {', '.join(REPORT_TO)}, got {value!r}.")


def check_mixed_precision(value: Any) -> None:
    """Refuse a `mixed_precision` outside `MIXED_PRECISIONS` (None, Accelerate's setting, passes), naming them."""
    if value is not None and value not in MIXED_PRECISIONS:
        raise ValueError(
            f"--mixed-precision must be one of {', '.join(MIXED_PRECISIONS)} (or left out: Accelerate's setting), got "
            f"{value!r}."
        )


def _check_number(
    name: str, value: Any, integer: bool, allow_none: bool, allow_zero: bool, allow_negative: bool = False
) -> None:
    """The one rule behind `check_positive`, `check_non_negative` and `check_integer`: a finite number (an int with
    `integer`) above 0, or at least 0 with `allow_zero`, or of any sign with `allow_negative`; the error names the
    option as the command line spells it."""
    import math
    import numbers

    if value is None and allow_none:
        return
    kind = numbers.Integral if integer else numbers.Real  # numpy's numbers too (a value read from an array)
    number = not isinstance(value, bool) and isinstance(value, kind) and math.isfinite(value)
    if not number or (not allow_negative and (value < 0 or (value == 0 and not allow_zero))):
        bound = "" if allow_negative else (" >= 0" if allow_zero else (" >= 1" if integer else " above 0"))
        raise ValueError(
            f"--{name.replace('_', '-')} must be {'an integer' if integer else 'a finite number'}{bound}, got {value!r}."
        )


def check_positive(name: str, value: Any, integer: bool = False, allow_none: bool = False) -> None:
    """Refuse a setting that must be a finite number above 0 (an integer >= 1 with `integer`), naming the option."""
    _check_number(name, value, integer, allow_none, allow_zero=False)


def check_non_negative(name: str, value: Any, integer: bool = False, allow_none: bool = False) -> None:
    """Refuse a setting that must be a finite number >= 0 (an integer >= 0 with `integer`), naming the option."""
    _check_number(name, value, integer, allow_none, allow_zero=True)


def check_integer(name: str, value: Any) -> None:
    """Refuse a setting that must be a whole number of either sign (`max_steps`, whose values <= 0 mean "not set"):
    a fraction, NaN, a bool or text would otherwise reach the Trainer only after the data set has loaded."""
    _check_number(name, value, integer=True, allow_none=False, allow_zero=True, allow_negative=True)


def check_fraction(name: str, value: Any) -> None:
    """Refuse a setting that must be a share strictly between 0 and 1 (`validation_fraction`), naming the option;
    NaN and text fail too (the comparison is False for NaN)."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"--{name.replace('_', '-')} must be a number strictly between 0 and 1, got {value!r}.")


def plain_numbers(settings: Any) -> None:
    """Turn the numpy numbers and arrays among the fields of the settings dataclass `settings` (and in its lists and
    dicts) into Python's. The checks take numpy numbers (a step count or seed read from an array), but kept as they
    were, a numpy seed failed deep in `random.seed`, a numpy bool derived from them failed the run's summary at the
    end of a pre-training, and `run_settings.json` recorded `max_steps` as the text "2"."""
    for name in (item.name for item in dataclasses.fields(settings)):
        setattr(settings, name, _plain(getattr(settings, name)))


def _plain(value: Any) -> Any:
    """`value` with numpy numbers and arrays (`seeds=np.arange(5)`) as Python's, in lists and dicts too (told by
    their module: this one does not import numpy, so that `--help` stays quick)."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    if type(value) is list:
        return [_plain(item) for item in value]
    if type(value) is dict:
        return {key: _plain(item) for key, item in value.items()}
    return value


def counted_repr(result: Any, counted: tuple[str, ...]) -> str:
    """The dataclass repr of `result` with each field of `counted` (a record that grows with the run: an evaluation
    per few steps, a loss per log) shown as its count, `history=<120 entries>`: whole, a notebook printed tens of
    kilobytes of them for `result = finetune(args); result`."""
    parts = []
    for item in dataclasses.fields(result):
        if not item.repr:
            continue
        value = getattr(result, item.name)
        shown = f"<{len(value)} entries>" if item.name in counted and value else repr(value)
        parts.append(f"{item.name}={shown}")
    return f"{type(result).__name__}({', '.join(parts)})"


def check_switches(settings: Any, names: tuple[str, ...]) -> None:
    """Turn each of the True / False settings `names` of the dataclass `settings` into a Python bool, refusing
    anything else: a string such as "no" (from a hand-written JSON / YAML dict or `os.environ`) is truthy, and was
    read as True (`overwrite_output_dir="no"` deleted an earlier run). The command line parses its own words."""
    for name in names:
        setattr(settings, name, as_bool(name, getattr(settings, name)))


# The largest float32: optimizers keep the learning rate with the float32 weights, and torch refused a larger one
# ("value cannot be converted to type float without overflow") only at the first step, deep inside AdamW.
FLOAT32_MAX = 3.4028234663852886e38


def check_learning_rate(
    learning_rate: float,
    weight_decay: float,
    learning_rate_option: str = "--learning-rate",
    weight_decay_option: str | None = "--weight-decay",
) -> None:
    """Refuse a (peak) `learning_rate` that float32 cannot hold, and a `weight_decay` that, with it, wipes the weights:
    AdamW's decay is decoupled, multiplying every decayed weight by `1 - learning_rate * weight_decay` at each step,
    so at a product of 1 the weights become 0 in one step (a pre-training "finished" with every matrix below 1e-3) and
    above it they flip sign and grow until the loss is NaN. Both numbers are checked finite and in range first
    (`check_positive`, `check_non_negative`).

    The messages name the options that set the two (`citrus evaluate` pre-trains with --pretrain-learning-rate and a
    weight decay no option sets: `weight_decay_option=None` asks for a lower learning rate instead)."""
    if learning_rate > FLOAT32_MAX:
        raise ValueError(
            f"{learning_rate_option} {learning_rate:g} is beyond float32's range (at most {FLOAT32_MAX:.4g}), in which "
            "the optimizer applies it; give a learning rate such as 1e-3."
        )
    if learning_rate * weight_decay >= 1:
        decay = (
            f"{weight_decay_option} {weight_decay:g}" if weight_decay_option else f"the weight decay {weight_decay:g}"
        )
        fix = (
            f"give a weight decay below 1 / learning rate = {1 / learning_rate:.4g} (0.01 to 0.1 is usual)"
            if weight_decay_option
            else f"give a {learning_rate_option} below 1 / weight decay = {1 / weight_decay:.4g}"
        )
        raise ValueError(
            f"{decay} with {learning_rate_option} {learning_rate:g}: AdamW multiplies the weights by 1 - learning rate "
            f"x weight decay = {1 - learning_rate * weight_decay:.4g} at every step, which wipes them (at 0) or flips "
            f"and grows them (below 0); {fix}."
        )


def warmup_spans_run_notice(warmup_steps: float, num_warmup_steps: int, max_steps: int) -> str | None:
    """The warning for a warm-up of `num_warmup_steps` optimizer steps (`warmup_steps` as the user gave it: a count,
    or a fraction < 1 of the run) that lasts the whole run of `max_steps`, when the learning rate never reaches its
    peak (a sentence without its full stop), or None."""
    if num_warmup_steps < max_steps:
        return None
    return (
        f"--warmup-steps {warmup_steps:g} spans the whole run of {max_steps} steps, so the learning rate never "
        "reaches its peak; give a fraction below 1 (e.g. 0.05) or fewer steps"
    )


# numpy's generators take seeds in [0, 2**32 - 1]; a seed outside would fail deep inside numpy at the first draw
MAX_SEED = 2**32 - 1


# What --mixed-precision does, for pre-training and fine-tuning alike: bf16 autocast made a citrus-small training step
# 12.6 times slower than fp32 on a CPU (its backward kernels are slow there), which the runs warn of too.
MIXED_PRECISION_HELP = (
    "autocast precision; bf16 suits recent GPUs (on a CPU it trains about ten times slower), fp16 scales the loss"
)

# The switch for GPU runs that repeat bit for bit, as transformers' TrainingArguments(full_determinism=True) has it.
FULL_DETERMINISM_HELP = (
    "GPU runs repeat bit for bit: transformers' enable_full_determinism (deterministic CUDA kernels, slower; CPU runs "
    "repeat without it)"
)


def check_seed(seed: Any, name: str = "seed") -> None:
    """A seed is a whole number in [0, `MAX_SEED`], as numpy's, torch's and Python's generators all take it; `name`
    is the setting's (`pretrain_seed`: the message says --pretrain-seed)."""
    check_non_negative(name, seed, integer=True)
    if seed > MAX_SEED:
        option = "--" + name.replace("_", "-")
        raise ValueError(f"{option} must be at most 2**32 - 1 = {MAX_SEED} (numpy's limit), got {seed}.")


# The fields each `TrainerSettings` was given by its caller (`given_fields`), by the instance's id, dropped when it is
# collected: kept beside the instance, not in it, since `vars(settings)`, `asdict` and `TrainerSettings(**vars(s))`
# read an instance's attributes as its fields.
_GIVEN_FIELDS: dict[int, frozenset[str]] = {}
# The ids of the instances being built (inside `__init__` or a `__post_init__`, a subclass's own included), with how
# many of those calls are under way: their writes of fields (`plain_numbers`' normalising in place, a subclass's) are
# no assignment of the caller's.
_CONSTRUCTING: dict[int, int] = {}


@contextmanager
def _constructing(settings: Any) -> Iterator[None]:
    """Mark `settings` as being built inside: re-entrant, as a subclass's `__post_init__` calls its base's first and
    normalises its own fields after it (a set of ids, left by the base's call, counted those writes as the caller's)."""
    key = id(settings)
    _CONSTRUCTING[key] = _CONSTRUCTING.get(key, 0) + 1
    try:
        yield
    finally:
        depth = _CONSTRUCTING.pop(key) - 1
        if depth:
            _CONSTRUCTING[key] = depth


def _built_inside(method: Any) -> Any:
    """`method` (an `__init__` or `__post_init__`) with its instance marked as being built while it runs."""

    @functools.wraps(method)
    def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _constructing(self):
            return method(self, *args, **kwargs)

    return wrapped


def _add_given_fields(settings: Any, names: frozenset[str]) -> None:
    """Add `names` to the fields recorded as given to `settings` (`given_fields`)."""
    if id(settings) not in _GIVEN_FIELDS:
        weakref.finalize(settings, _GIVEN_FIELDS.pop, id(settings), None)
    _GIVEN_FIELDS[id(settings)] = _GIVEN_FIELDS.get(id(settings), frozenset()) | names


def _records_given_fields(cls: type) -> type:
    """Wrap the dataclass `cls`'s `__init__` so that `given_fields` tells the fields its caller gave (positionally or
    by keyword) from those left at their defaults: `TrainerSettings(show_progress=True)` equals `TrainerSettings()`,
    and only the first asked for the value. A call that gives every field (`dataclasses.replace`, a copy through
    `TrainerSettings(**asdict(settings))`, HfArgumentParser's) tells nothing, and is not recorded. A field assigned
    after construction (`settings.show_progress = True`) is given as a keyword is (`__setattr__`): it was silent
    where the keyword was noticed; the writes of `__init__` and `__post_init__` (a subclass's own too: a dataclass
    subclass normalising a field after its base's `__post_init__`) are not. Copies made without `__init__`
    (`copy.copy`, `copy.deepcopy`, unpickling) set their fields through `__dict__`, not `__setattr__`, and are not
    recorded either."""
    dataclass_init = cls.__init__
    post_init = cls.__post_init__
    field_names = frozenset(item.name for item in dataclasses.fields(cls))

    @functools.wraps(dataclass_init)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        dataclass_init(self, *args, **kwargs)
        names = [item.name for item in dataclasses.fields(self) if item.init]
        given = frozenset(names[: len(args)]) | frozenset(kwargs)
        if given != frozenset(names):
            _add_given_fields(self, given)

    def __setattr__(self, name: str, value: Any) -> None:
        # a field's first assignment is `__init__`'s, and `__post_init__` normalises the caller's values in place
        reassigned = name in field_names and name in vars(self) and id(self) not in _CONSTRUCTING
        object.__setattr__(self, name, value)
        if reassigned:
            _add_given_fields(self, frozenset((name,)))

    def __init_subclass__(subclass: type, **kwargs: Any) -> None:
        # a subclass's own `__init__` / `__post_init__` (a dataclass's `__init__` is added after this runs, and writes
        # each field once) builds the instance as the base's do: its writes of fields are not the caller's
        super(cls, subclass).__init_subclass__(**kwargs)
        for name in ("__init__", "__post_init__"):
            if name in vars(subclass):
                setattr(subclass, name, _built_inside(vars(subclass)[name]))

    cls.__init__, cls.__post_init__ = _built_inside(__init__), _built_inside(post_init)
    cls.__setattr__, cls.__init_subclass__ = __setattr__, classmethod(__init_subclass__)
    return cls


def given_fields(settings: Any) -> frozenset[str] | None:
    """The fields the caller of `TrainerSettings(...)` gave `settings` or assigned to it since
    (`_records_given_fields`), or None where that is not known: a copy (`dataclasses.replace`, `copy.deepcopy`,
    unpickling) or a call that gave every field, to which nothing was assigned since (once something is, the fields
    assigned alone: read the others' values too)."""
    return _GIVEN_FIELDS.get(id(settings))


@_records_given_fields
@dataclass
class TrainerSettings:
    """The `Trainer` side of a fine-tuning run (shared by `finetune`, the evaluation protocol and their commands).

    `max_steps > 0` trains for that many optimizer steps and evaluates every `eval_steps`; otherwise it trains for
    `num_train_epochs` passes over the labelled examples (None: the recipe's own schedule, `recipes.finetune_steps`). Early stopping stops after `early_stopping_patience` evaluations
    without improvement of `metric_for_best_model` and restores the best checkpoint: the lowest loss or error (`mae`,
    `rmse`), the highest of the other metrics (`metrics.metric_greater_is_better`), the earliest of equal ones (a later
    evaluation must improve on it, as transformers' `Trainer` keeps it). An evaluation whose metric is NaN neither
    improves nor counts against the patience.
    """

    num_train_epochs: float | None = field(
        default=None,
        metadata={
            "help": "passes over the labelled examples (when max_steps <= 0); default: the recipe's own schedule "
            "(30 passes, 10 for probe-finetune, within 60-600 steps)"
        },
    )
    max_steps: int = field(
        default=-1,
        metadata={
            "help": "optimizer steps of a fine-tuning (probe-finetune runs two and averages them); > 0 overrides "
            "num_train_epochs"
        },
    )
    eval_steps: int = field(default=10, metadata={"help": "evaluate every N steps (with max_steps > 0)"})
    per_device_batch_size: int = field(default=16, metadata={"help": "training examples per device and step"})
    learning_rate: float = field(default=1e-3, metadata={"help": "peak learning rate (AdamW)"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    warmup_steps: float = field(default=0.1, metadata={"help": "warm-up steps, or a fraction < 1 of all steps"})
    lr_scheduler_type: str = field(default="cosine", metadata={"help": "transformers learning-rate schedule"})
    lr_scheduler_kwargs: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "settings of the schedule, as transformers' lr_scheduler_kwargs: num_decay_steps=N for "
            "warmup_stable_decay, min_lr_rate=R (or min_lr=LR) for cosine_with_min_lr and cosine_warmup_with_min_lr"
        },
    )
    mixed_precision: MixedPrecision | None = field(
        default=None,
        metadata={
            "help": MIXED_PRECISION_HELP + "; default: Accelerate's (`accelerate launch --mixed_precision`, its "
            "config file, ACCELERATE_MIXED_PRECISION), else no"
        },
    )
    early_stopping_patience: int | None = field(
        default=5, metadata={"help": "stop after N evaluations without improvement (0: never stop early)"}
    )
    metric_for_best_model: str = field(
        default="loss", metadata={"help": "validation metric for early stopping and the best model, e.g. auroc, mae"}
    )
    seed: int = field(default=0, metadata={"help": "seeds the initialisation, the data order and the label draw"})
    full_determinism: bool = field(
        default=False,
        metadata={"help": FULL_DETERMINISM_HELP},
    )
    report_to: ReportTo = field(default="none", metadata={"help": "where to log metrics"})
    show_progress: bool = field(default=True, metadata={"help": "progress bars"})
    logging_steps: int = field(default=10, metadata={"help": "log the training loss every N steps"})

    def __post_init__(self):
        plain_numbers(self)
        check_report_to(self.report_to)
        check_seed(self.seed)
        check_integer("max_steps", self.max_steps)  # <= 0: `num_train_epochs` or the recipe's own schedule
        check_switches(self, ("full_determinism", "show_progress"))
        check_positive("learning_rate", self.learning_rate)
        check_positive("num_train_epochs", self.num_train_epochs, allow_none=True)
        for name in ("per_device_batch_size", "eval_steps", "logging_steps"):
            check_positive(name, getattr(self, name), integer=True)
        check_non_negative("weight_decay", self.weight_decay)
        check_non_negative("warmup_steps", self.warmup_steps)
        check_learning_rate(self.learning_rate, self.weight_decay)
        check_non_negative("early_stopping_patience", self.early_stopping_patience, integer=True, allow_none=True)
        check_mixed_precision(self.mixed_precision)
        if isinstance(self.lr_scheduler_kwargs, str):  # JSON text, as transformers' TrainingArguments takes it
            import json

            try:
                self.lr_scheduler_kwargs = json.loads(self.lr_scheduler_kwargs)
            except json.JSONDecodeError:
                pass  # refused below, as not a mapping
        if not isinstance(self.lr_scheduler_kwargs, dict):
            raise ValueError(
                "--lr-scheduler-kwargs takes KEY=VALUE pairs (a mapping, or its JSON text, in a settings file), got "
                f"{self.lr_scheduler_kwargs!r}."
            )
        # `lr_scheduler_type` and its `lr_scheduler_kwargs` are checked by the settings that hold these
        # (FinetuneArguments, ProtocolConfig: `arguments.check_lr_scheduler`): its names live in a transformers
        # module that imports torch, and `--help` builds these defaults.
        from .metrics import check_metric_for_task  # numpy and scipy only

        check_metric_for_task(self.metric_for_best_model)


__all__ = [
    "FULL_DETERMINISM_HELP",
    "MAX_SEED",
    "MIXED_PRECISIONS",
    "MIXED_PRECISION_HELP",
    "MixedPrecision",
    "REPORT_TO",
    "ReportTo",
    "TrainerSettings",
    "check_fraction",
    "check_integer",
    "check_learning_rate",
    "check_mixed_precision",
    "check_non_negative",
    "check_positive",
    "check_report_to",
    "check_seed",
    "check_switches",
    "plain_numbers",
]
