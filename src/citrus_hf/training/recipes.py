"""Few-shot recipes: how a CiTrus task model is fitted to a handful of labelled windows.

A recipe takes a freshly built task model (pre-trained encoder, new head) and the aligned training windows, and
returns the fitted model; `citrus finetune --recipe` and `citrus evaluate --recipe` choose one by name
(`RECIPES`, filled by `register_recipe`):

- `"probe"`: the encoder stays frozen; the head reads the pooled output of every layer (CNN tokens and each
  transformer layer, mean and max over patches, every channel; for regression, and for classification with at least
  `PROBE_SPREAD_FROM_PER_CLASS` labelled examples of every class, also the standard deviation over patches and how
  the tokens move: the step between neighbouring patches and the autocorrelation at 1 to 12 patches, the latter
  weighted down as a group for classification) and is fitted in closed form by ridge regression, the penalty chosen
  by exact leave-one-out cross-validation (`training.probe`). No validation carve, no learning rate, no steps: every
  labelled example trains the read-out, and the same seed gives the same model.
- `"finetune"`: the whole model trains with the `Trainer` for a schedule that scales with the number of examples
  (`finetune_steps`); early stopping only when the validation split holds at least `MIN_VALIDATION_PER_CLASS`
  examples of every class (`MIN_VALIDATION_REGRESSION` for regression): with fewer, which window happens to be in it
  decides the step more than the model does, so the run keeps its last weights instead.
- `"probe-finetune"` (LP-FT): the probe's read-out starts the head, then the whole model fine-tunes from it for
  `PROBE_FINETUNE_EPOCHS` passes at a tenth of the learning rate, its batches drawn from the labelled windows and
  `PROBE_FINETUNE_AUGMENTED_COPIES` shifted, rescaled and jittered copies of each (`training.augment`). It does so
  `PROBE_FINETUNE_SOUP_MEMBERS` times from the same start with other seeds and keeps the average of their weights.
- `"auto"` (the default): for classification the probe below `AUTO_PROBE_FINETUNE_FROM_PER_CLASS` labelled examples
  per class, probe-then-fine-tune from there; for regression the probe at every size. Chosen on the low-data
  protocol's validation splits with citrus-small (10 labelled sets, 5 seeds, paired draws, macro-F1 points; no test
  split read). Probe-then-fine-tune minus the probe:
  -0.34 at 5 labels per class (30 passes; ahead on 5 sets, behind on 3) and, at 20, +0.85 with 30 passes (ahead on
  6, behind on 1) and +0.91 with 10 (ahead on 5, behind on 2: MEG hand movements -2.9, infant sleep -0.4; 3 at the
  ceiling), which moves the gap to MiniRocket at 20 per class from -1.69 to -0.78. 10 passes it is: the same gain for
  a third of the steps, 22 s to fit 240 windows and predict 1,000 on 2 cores (`benchmarks/fit_speed.py`), against
  10 s for the probe. With every label (budget "all", 3 seeds, the same ten sets and the heart-rate sets) it beat
  plain fine-tuning by +2.06 points (ahead on 6, behind on 1: SCP1 -5.6; 3 at the ceiling) and had the lower
  heart-rate error at every size, in fewer steps, so it replaces plain fine-tuning above 20 per class too
  (benchmarks/results/checkpoint_selection.md, "Recipe with every label"). Earlier, on the first checkpoint: the
  probe +1.7 / -4.0 against MiniRocket at 5 / 20 per class, the same probe on random weights -8.4 / -6.7; "dataset"
  normalisation beat per-window z-scoring on IMU and EMG.

  Those validation runs early-stopped LP-FT and kept its best step on the split they were scored on (the probe
  selects nothing there), which flatters LP-FT; the protocol no longer lets a run select on its scored split. The
  recipe as it ships (augmented copies, two-member average, the probe's spread at the start) re-measured that way,
  with fixed schedules (benchmarks/results/checkpoint_selection.md, "LP-FT against the probe with nothing chosen on
  the scored split"): +1.67 points over the probe at 20 labels per class (ahead on 5 sets, behind on 1: infant sleep
  -3.3; the 4 sets with fewer than 20 per class run the probe), so the rule stands.

  Augmentation, on the same validation draws (benchmarks/results/checkpoint_selection.md, "Augmentation"):
  fine-tuning on 4 shifted (up to a tenth of the window), rescaled (+-20%) and jittered (noise at 5% of the spread)
  copies of each labelled window as well gained over LP-FT without them at 20 per class in each of four draws of
  the copies, by little: +0.78, +0.14, +0.10 and +0.15 points (mean +0.29; gap to MiniRocket -0.78 without, -0.65
  with, typically), for the same steps; so LP-FT augments. Left out, as measured: the same copies in the probe's ridge
  (-0.11 / +0.14 at 5 / 20 per class, each copy held out with its original), LP-FT with augmentation at 5 per class
  (-0.59 against the probe) and WiSE-FT weight interpolation between the probe's start and the fine-tuned end (every
  mix scored below the fine-tuned end). Also left out at 20 per class: the CNN stem frozen while the rest fine-tunes
  (-0.46) and layer-wise learning-rate decay (x0.65 per layer downwards; -0.55).

  Seed ensembles, as one model (benchmarks/results/checkpoint_selection.md, "Two fine-tunings averaged"): two
  fine-tunings from the same probe start (seeds s and s + 1000: other batches, other copies), their weights averaged
  (a uniform model soup, Wortsman et al., ICML 2022), scored +0.43 and +0.38 points over one fine-tuning at 20 per
  class in two draws of the second member (ahead on 4 and 3 sets, behind on 2 and 3; the logit average of the same
  two, which needs both models at inference, +0.52 and +0.36), moving the gap to MiniRocket from -0.64 to about
  -0.2. It doubles the fitting time (still well under the 60 s of the few-shot goal), so "probe-finetune" averages
  two. With every label (budget "all", 5 seeds, same sets): the copies alone -0.56 against LP-FT without them, the
  averaging alone +0.99, both +0.66 (ahead on 6 sets, behind on 1; +1.22 over one fine-tuning with copies); the
  last two differ by one set (SCP2), so one rule serves every budget from 20 per class. At 5 per class the averaged
  LP-FT stays behind the probe (-0.73; one fine-tuning -0.60), so "auto" keeps the probe there.

  LP-FT's head reads what the probe reads (benchmarks/results/checkpoint_selection.md, "LP-FT from the probe with
  the spread"): starting fine-tuning from the probe with each dimension's standard deviation pooled as well as its
  mean and max scored +1.11 and +1.63 points at 20 labels per class over the start with mean and max, in two draws of
  5 seeds on the seven validation sets where LP-FT runs (ahead on 5 and 6, behind on 1: smartwatch activities -0.6
  and -1.0), so `ProbeFinetuneRecipe.head_overrides_for` is the probe's.

  The probe's pooling (benchmarks/results/checkpoint_selection.md, "The probe's pooling"): adding each token
  dimension's standard deviation over patches to its mean and max ("mean_max_std") scored +0.68 and +0.95 points at
  5 labels per class in two draws of 5 seeds (ahead on 6 and 5 sets, behind on 1 and 3; the gap to MiniRocket from
  +1.22 to +1.90 and from +2.11 to +3.06), and -1.74 at one per class, where the penalty is fixed instead of chosen
  by leave-one-out and the extra columns only add noise; so the probe adds it from `PROBE_SPREAD_FROM_PER_CLASS`
  examples per class. Left out, as measured at 5 per class: the proportion of positive values (MiniRocket's
  statistic; -0.49), choosing one layer's features by leave-one-out error (-0.23), averaging per-layer read-outs
  with the full one (+0.26, ahead on 4, behind on 2), standardising per layer instead of per column (-1.13) or
  not at all (-1.79), multinomial logistic regression with cross-validated C instead of ridge (-0.28), and averaging
  the features and logits over the window and the window shifted by half a patch (-0.08). Choosing the penalty by
  leave-one-out classification error instead of squared error scored +0.74 and +0.38 at 5 per class (two sets
  carrying each draw) and -1.09 at 20, where LP-FT starts from the probe, so the probe keeps the squared error.

  The probe's dynamics (benchmarks/results/checkpoint_selection.md, "The probe's dynamics"): mean, max and spread
  pool the same for a rhythm and for its patches shuffled. With each token dimension's root-mean-square step between
  neighbouring patches and its autocorrelation at 1 to 12 patches as well ("mean_max_std_dynamics"), the probe's
  heart-rate error on the validation splits fell from 2.35 to 0.97 bpm (ECG) and 1.35 to 0.58 (PPG) with 20
  labelled windows, and with every label from 1.25 and 0.70 (the LP-FT that "auto" ran there) to 0.55 and 0.33
  (MiniRocket 0.48 and 0.67). So the probe pools them for regression, at every size, and "auto" fits regression
  with the probe at every size. At 5 labels per class of the ten classification sets they scored -0.02 and +1.10
  points in two draws of 5 seeds (ahead on 4 and 5 sets, behind on 4 and 3), not ahead in both draws as the spread
  was. (Shipped for classification too at first, they scored -1.6 points at 5 per class on the test splits; see the
  checkpoint-selection notes.) Left out, as measured at 5 per class: lags 1, 3 and 9 only (+0.59 / +0.87, but heart
  rate from ECG 0.99 and PPG 1.18 bpm at 20 windows), the step alone (+0.34 / +0.15), the minimum (-0.36), the
  skewness (-0.31) and the raw input's own pooled statistics (-0.14).

  The dynamics weighted as one group (benchmarks/results/checkpoint_selection.md, "The probe's dynamics, weighted as
  a group"): unweighted, their 13 statistics per token dimension are 13 of every 16 standardised columns and weigh
  as much each as the mean, max and spread in the ridge penalty. Weighting each dynamics column by sqrt(3 / 13)
  (`probe.CLASSIFICATION_DYNAMICS_WEIGHT`: the two groups equally heavy) scored +0.73 and +0.91 points over the
  spread alone at 5 labels per class in two draws of 5 seeds (ahead on 6 and 7 sets, behind on 2 and 1; weights 0.25
  and 0.7 scored +0.06 and +0.44 in the first), so the probe pools them, so weighted, for classification from
  `PROBE_SPREAD_FROM_PER_CLASS` examples per class (on the test splits, run after the choice, it scored -0.39 at 5
  per class; see the checkpoint-selection notes). Heart rate is carried by the dynamics, and the same weighting
  there lost (ECG 0.97 -> 1.05 bpm, PPG 0.58 -> 0.59 from 20 windows), so regression keeps them at full weight.
  LP-FT's probe start keeps the spread alone (`PROBE_FINETUNE_CLASSIFICATION_POOLING`): started from the
  weighted-dynamics probe it scored -3.92 at 20 per class (seeds 0-4; behind on 4 of the 7 sets where LP-FT runs,
  ahead on 2).

  Classes of unequal size. Every rule above was chosen on draws with the same number of labelled examples in every
  class, where "per class" is one number. A set with classes of other sizes reads it as the rationale of each rule
  says:

  - The probe's penalty: leave-one-out needs other examples of a left-out example's class. It chooses the penalty
    from the leave-one-out errors of the rows of the classes with at least `probe.LEAVE_ONE_OUT_FROM_PER_CLASS` (2)
    examples; a class of one is fitted but not scored (its left-out example is predicted from no example of its
    class at any penalty, so its error only pushes the penalty up: on 60 + 60 + 1 windows, counting it chose 1e4,
    and the two large classes fell to chance). The fixed `probe.ONE_SHOT_ALPHA` and the shrunk spreads are for the
    sets where those classes do not carry the fit: unless at least two classes have 2 or more examples and hold more
    than half of the examples (`probe.carried_by_classes_of`), the probe fits with its one-per-class settings.
  - The probe's spread and dynamics: they measured -1.74 points at one per class because the penalty was fixed there
    ("the extra columns only add noise"), so they follow the same test with `PROBE_SPREAD_FROM_PER_CLASS`: pooled
    when the classes with at least that many examples are two or more and hold most of the examples.
  - "auto": probe-then-fine-tune measured behind the probe where classes have few examples (-0.34 at 5 per class), and
    fine-tuning cannot learn a class from a handful of windows better than the probe's read-out does; so "auto"
    still reads the smallest class (`labels_per_class`), and a class below `AUTO_PROBE_FINETUNE_FROM_PER_CLASS` keeps
    the probe for every class.

  With every class at one count each test is the one-number rule above, and the fits are the same to the bit
  (tests/test_imbalance_audit66.py pins 1, 2 and 5 per class). Where a smaller class changed a setting from what the
  other classes would get, `citrus finetune` says so in one line (`rare_class_notice`).

  `--class-weight balanced` (`class_weights_for`) weighs each class's examples by `n / (classes * its count)`, as
  scikit-learn's "balanced": in the probe's ridge (a weighted squared error, leave-one-out errors weighted alike)
  and in the fine-tuning loss (a weighted cross-entropy). Off by default: no rule above was measured with it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..vocabulary_citrus import CLASSIFICATION, REGRESSION, redefines
from .metrics import class_names_of, powers_of_ten
from .settings import TrainerSettings
from .trainer import FINETUNE_EPOCHS

# torch is imported where it is used: `citrus finetune --help` reads this module's names without importing torch.
if TYPE_CHECKING:
    from collections.abc import Callable

    import datasets
    from transformers import PreTrainedModel

    from ..data.splits import TaskSplits

# Early stopping reads a validation split only when it holds at least this many examples of every class (or this
# many in all, for regression); measured: with one validation window per class (k=5 with a 20% carve) the kept
# model came from optimizer step 1-3 in 34 of 280 runs.
MIN_VALIDATION_PER_CLASS = 5
MIN_VALIDATION_REGRESSION = 20
# "auto" uses the probe below this many labelled examples per class and probe-then-fine-tune from it up (measured
# at 5 and 20 per class; see the module docstring).
AUTO_PROBE_FINETUNE_FROM_PER_CLASS = 20
# The fine-tuning schedule: `FINETUNE_EPOCHS` passes over the labelled examples, within these bounds of optimizer steps.
FINETUNE_MIN_STEPS = 60
FINETUNE_MAX_STEPS = 600
# Probe-then-fine-tune trains from a head that already fits, so it moves the encoder at this fraction of the
# fine-tuning learning rate (Kumar et al., ICLR 2022: a small step keeps the pre-trained features the head reads).
PROBE_FINETUNE_LEARNING_RATE_FACTOR = 0.1
# ... and for a third of plain fine-tuning's passes over the labelled examples (measured as good as 30 at 20 labels
# per class, +0.91 against +0.85 points over the probe, for a third of the time).
PROBE_FINETUNE_EPOCHS = 10
# ... drawing its batches from the labelled windows and this many shifted, rescaled and jittered copies of each
# (`training.augment`): ahead of the same recipe without them at 20 labels per class in four draws of the copies, by
# +0.10 to +0.78 macro-F1 points (see the module docstring).
PROBE_FINETUNE_AUGMENTED_COPIES = 4
PROBE_FINETUNE_AUGMENTATIONS: tuple[str, ...] = ("shift", "scale", "jitter")
# ... this many times from the same probe start, member i with seed + i * PROBE_FINETUNE_SOUP_SEED_STRIDE (other
# batches, other copies), and the members' weights averaged into one model (a uniform model soup): +0.43 and +0.38
# macro-F1 points over one fine-tuning at 20 labels per class in two draws of the second member (see the module
# docstring), for twice the fitting time.
PROBE_FINETUNE_SOUP_MEMBERS = 2
PROBE_FINETUNE_SOUP_SEED_STRIDE = 1000
# The probe pools every token dimension's standard deviation over patches as well as its mean and max
# ("mean_max_std") for classification with at least this many labelled examples of every class: +0.68 and +0.95
# macro-F1 points at 5 per class in two validation draws, -1.74 at one (see the module docstring). LP-FT's probe
# start reads the same (+1.11 and +1.63 points at 20 per class on the sets where LP-FT runs).
PROBE_SPREAD_FROM_PER_CLASS = 2
# For regression the probe pools, at every size, the spread and how the tokens move from patch to patch (the step
# between neighbouring patches and the autocorrelation at 1 to 12 patches, `vocabulary_citrus.AUTOCORRELATION_LAGS`):
# heart-rate error from 20 windows 2.35 -> 0.97 bpm (ECG) and 1.35 -> 0.58 (PPG) on the validation splits.
PROBE_REGRESSION_POOLING = "mean_max_std_dynamics"
# For classification (from `PROBE_SPREAD_FROM_PER_CLASS` examples per class) the probe pools them too, the dynamics
# weighted as one group as heavy as the spread (`probe.CLASSIFICATION_DYNAMICS_WEIGHT`): +0.73 and +0.91 points at 5
# per class in two validation draws (ahead on 6 and 7 sets); unweighted they scored -0.02 and +1.10.
PROBE_CLASSIFICATION_POOLING = "mean_max_std_dynamics"
# LP-FT's probe start keeps the spread alone: with the weighted dynamics LP-FT scored -3.92 points at 20 per class.
PROBE_FINETUNE_CLASSIFICATION_POOLING = "mean_max_std"
# Temperatures tried when the probe's ridge scores become logits (see `ProbeFinetuneRecipe`).
LOGIT_TEMPERATURES: tuple[float, ...] = powers_of_ten(-1, 2, 31)
# `--class-weight`: "none" (every example alike, the default) or "balanced" (`class_weights_for`).
CLASS_WEIGHTS: tuple[str, ...] = ("none", "balanced")


@dataclass
class RecipeOutcome:
    """A fitted model and what its recipe did: optimizer steps, the step early stopping kept (None when the last
    weights were kept), the evaluation history and recipe-specific details (e.g. the probe's ridge penalty)."""

    model: PreTrainedModel
    steps: int = 0
    best_step: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


class Recipe(ABC):
    """One way to fit a task model to labelled windows. Subclasses set `name`, `description` and, if the recipe
    needs a particular head, `head_overrides` (config fields applied when the task model is built); `fit` returns a
    `RecipeOutcome`. `fingerprint()` says what its results depend on beyond the run's arguments: `citrus evaluate`
    reuses a recorded run only under the same one (the default covers the class, its code and its public settings;
    override it for settings held elsewhere)."""

    name: ClassVar[str]
    description: ClassVar[str]
    head_overrides: ClassVar[dict[str, Any]] = {}
    # Whether the recipe takes optimizer steps, and so reads the `TrainerSettings` (steps, learning rate, ...).
    trains: ClassVar[bool] = True

    def __repr__(self) -> str:
        # its registry name and its own settings, as the arms (dataclasses) print theirs; `print(RECIPES)` showed
        # `<citrus_hf.training.recipes.ProbeRecipe object at 0x7f...>` for each
        settings = [f"{key}={value!r}" for key, value in vars(self).items() if not key.startswith("_")]
        return f"{type(self).__qualname__}({', '.join([f'name={self.name!r}', *settings])})"

    def head_overrides_for(self, labels: np.ndarray | None, task: str) -> dict[str, Any]:
        """The config fields of the head for the labelled set `labels` `(n,)` (the drawn examples' labels; None: the
        recipe's own head): `head_overrides` unless the recipe's head depends on the labelled set."""
        return dict(self.head_overrides)

    def fingerprint(self) -> dict[str, Any]:
        """What the recipe's results depend on beyond the run's own arguments, as a JSON-able dict: result caches (the
        protocol's run signatures, `recipe_fingerprint`) hold it, so runs fitted by another version of the recipe are
        refitted, not reused. The default (`default_fingerprint`): the class's qualified name, a digest of the code of
        the classes of it defined outside citrus-hf, and its public JSON-able attributes. Override it (adding to
        `super().fingerprint()`) to name what else decides the fit: module constants, files read."""
        return default_fingerprint(self, Recipe)

    @abstractmethod
    def fit(
        self,
        model: PreTrainedModel,
        train: datasets.Dataset,
        validation: datasets.Dataset | None,
        task: str,
        settings: TrainerSettings,
        output_dir: str | Path,
        *,
        class_weights: np.ndarray | None = None,
    ) -> RecipeOutcome:
        """Fit `model` on the aligned `train` split (`validation` may be None or empty); return a `RecipeOutcome`
        holding the fitted model (the protocol refuses anything else).

        Args:
            model: a `CiTrusForSequenceClassification` / `CiTrusForRegression` (or a PatchTST baseline).
            train / validation: aligned datasets (`citrus_hf.data.alignment.align_task_split`).
            task: "classification" or "regression".
            settings: `TrainerSettings` (the Trainer-based recipes read them).
            output_dir: scratch space for checkpoints.
            class_weights: `(num_labels,)` weight of each class's examples in the fit's loss (`class_weights_for`);
                None: every example alike.
        """


RECIPES: dict[str, Recipe] = {}


def _json_able(value: Any) -> bool:
    """Whether strict JSON (no NaN) writes `value`, as a run signature holds it."""
    import json

    try:
        json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def default_fingerprint(instance: Any, base: type) -> dict[str, Any]:
    """The default `fingerprint()` of a recipe or an evaluation arm (`base`: `Recipe` or `Arm`): `{"class": its
    qualified name, "code": a digest of the source of each class of its own between it and `base` defined outside
    citrus-hf (where Python can read it; the package's own code goes with its version), "settings": its public
    attributes, class and instance ones, whose values are JSON-able}`. A setting held elsewhere (a module constant, a
    file, a global the code reads) is not in it: the class's `fingerprint` names it."""
    import hashlib
    import inspect

    own_package = __name__.partition(".")[0]
    cls = type(instance)
    settings: dict[str, Any] = {}
    code = []
    for klass in reversed(cls.__mro__):
        if klass is base or not issubclass(klass, base):
            continue
        for key, value in vars(klass).items():
            if not key.startswith("_") and not callable(value) and not isinstance(value, (property, classmethod)):
                settings[key] = value
        if klass.__module__.partition(".")[0] != own_package:
            try:
                code.append(hashlib.sha256(inspect.getsource(klass).encode()).hexdigest()[:16])
            except (OSError, TypeError):  # defined where Python keeps no source (an interactive session, exec)
                pass
    settings.update({key: value for key, value in vars(instance).items() if not key.startswith("_")})
    settings = {key: value for key, value in settings.items() if not callable(value) and _json_able(value)}
    return {"class": f"{cls.__module__}.{cls.__qualname__}", "code": code, "settings": settings}


def checked_fingerprint(owner: Any, what: str) -> dict[str, Any]:
    """`owner.fingerprint()` (a recipe's or an arm's; `what` names it: "recipe 'mine'"), refused unless it is a
    JSON-able dict, the shape a run signature holds.

    Raises:
        ValueError: another value, naming the recipe or arm and the documented shape.
    """
    fingerprint = owner.fingerprint()
    if not (isinstance(fingerprint, dict) and _json_able(fingerprint)):
        raise ValueError(
            f"The {what}'s fingerprint() returned {fingerprint!r:.200}; it must return a dict of JSON values (strings, "
            "numbers, booleans, None, lists and dicts of them) naming what its results depend on."
        )
    return fingerprint


def recipe_names() -> tuple[str, ...]:
    """The names `--recipe` takes: "auto" and every registered recipe, as the registry is now (a recipe a user's
    code registers after this module was imported included)."""
    return ("auto", *RECIPES)


def check_abstract_methods_defined(registered_class: type, base: type, what: str) -> None:
    """Refuse to register `registered_class`, a subclass of `base`, that leaves an abstract method of `base`
    undefined: registering made an instance of it, and Python's "Can't instantiate abstract class" came from inside
    the registry (or was taken for a class that needs arguments). `what`: the method's job, for the message.

    Raises:
        TypeError: naming the undefined method(s).
    """
    undefined = sorted(getattr(registered_class, "__abstractmethods__", ()))
    if undefined:
        raise TypeError(
            f"{registered_class.__qualname__} does not define {base.__name__}'s abstract method(s) "
            f"{', '.join(f'{name}()' for name in undefined)}: define them in the class ({what}), then register it."
        )


def register_recipe(recipe_class: type[Recipe]) -> type[Recipe]:
    """Class decorator: make a recipe available by its `name` (CLI choices and the protocol read `RECIPES`).

    Raises:
        TypeError: not a `Recipe` class, one that does not define `fit`, or no `name`.
        ValueError: a recipe of that name (or "auto", the rule that picks one) is registered already: registry names
            are unique. A recipe class defined again (a notebook cell run twice) replaces its first definition.
    """
    if not (isinstance(recipe_class, type) and issubclass(recipe_class, Recipe)):
        raise TypeError(f"@register_recipe decorates a Recipe subclass, got {recipe_class!r}.")
    name = getattr(recipe_class, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{recipe_class.__qualname__} must set the class attribute `name` (its registry name).")
    check_abstract_methods_defined(recipe_class, Recipe, "`Recipe.fit` fits a model to the labelled examples")
    if name in recipe_names() and not (name in RECIPES and redefines(type(RECIPES[name]), recipe_class)):
        taken = "the rule that picks a recipe" if name == "auto" else type(RECIPES[name]).__qualname__
        raise ValueError(
            f"The recipe {name!r} is already registered ({taken}); registry names must be unique: give yours "
            "another name."
        )
    RECIPES[name] = recipe_class()
    return recipe_class


def _takes(fit: Callable[..., Any], keyword: str) -> bool:
    """Whether a recipe's `fit` takes `keyword` (by name, or through `**kwargs`)."""
    import inspect

    parameters = inspect.signature(fit).parameters.values()
    return any(p.name == keyword or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def fit_recipe(recipe: Recipe, *args: Any, **kwargs: Any) -> RecipeOutcome:
    """`recipe.fit(*args, **kwargs)`, its result checked: the documented `RecipeOutcome` holding the fitted model
    (`citrus finetune` and the protocol's CiTrus arms fit every recipe through here).

    Raises:
        ValueError: anything else (a recipe of one's own returning the bare model, or None), naming the recipe and
            the shape `fit` must return; the model was otherwise taken apart deep inside scoring or saving. Also
            class weights given to a recipe whose `fit` takes none.
    """
    import torch

    if kwargs.get("class_weights") is not None:
        if not _takes(recipe.fit, "class_weights"):
            # (a recipe of one's own written to the older `fit` signature: a bare TypeError from the call otherwise)
            raise ValueError(
                f"The recipe {recipe.name!r} ({type(recipe).__name__}.fit) takes no `class_weights`, so it cannot "
                "weigh classes (--class-weight balanced): add a `class_weights: np.ndarray | None = None` keyword "
                "to its fit (the weight of each class's examples in its loss), or use --class-weight none."
            )
    if "validation_examples" in kwargs and not _takes(recipe.fit, "validation_examples"):
        # a recipe of one's own that reads validation its own way (or not at all): called as before
        del kwargs["validation_examples"]
    outcome = recipe.fit(*args, **kwargs)
    if not (isinstance(outcome, RecipeOutcome) and isinstance(outcome.model, torch.nn.Module)):
        got = type(outcome).__name__ if not isinstance(outcome, RecipeOutcome) else "a RecipeOutcome without a model"
        raise ValueError(
            f"The recipe {recipe.name!r} ({type(recipe).__name__}.fit) returned {got}; Recipe.fit must return a "
            "RecipeOutcome(model=<the fitted model>, steps=..., best_step=..., history=[...], details={...}) "
            "(training.recipes.RecipeOutcome)."
        )
    return outcome


def probe_head_overrides(
    labels: np.ndarray | None, task: str, classification_pooling: str = PROBE_CLASSIFICATION_POOLING
) -> dict[str, Any]:
    """The head a probe reads: every layer's tokens, mean- and max-pooled; for regression `PROBE_REGRESSION_POOLING`;
    for classification `classification_pooling` when the classes with at least `PROBE_SPREAD_FROM_PER_CLASS` of the
    labelled examples `labels` `(n,)` carry them (`probe.carried_by_classes_of`: with every class at one count, from
    that count; see the module docstring)."""
    overrides: dict[str, Any] = {"head_features": "all_layers", "pooling": "mean_max"}
    if task == REGRESSION:
        overrides["pooling"] = PROBE_REGRESSION_POOLING
    elif labels is not None and _spread_pooled(labels):
        overrides["pooling"] = classification_pooling
    return overrides


def _spread_pooled(labels: np.ndarray) -> bool:
    """Whether a probe of classes `labels` `(n,)` pools the spread (and dynamics): see `probe_head_overrides`."""
    from .probe import carried_by_classes_of  # (imports torch: only once there are labels to fit)

    return carried_by_classes_of(labels, PROBE_SPREAD_FROM_PER_CLASS)


@register_recipe
class ProbeRecipe(Recipe):
    name = "probe"
    description = (
        "frozen encoder; ridge read-out (penalty by leave-one-out) of every layer's mean- and max-pooled tokens, "
        f"and from {PROBE_SPREAD_FROM_PER_CLASS} labelled examples per class (regression: always) also their standard "
        "deviation, step and autocorrelation"
    )
    head_overrides = probe_head_overrides(None, CLASSIFICATION)
    trains = False

    def head_overrides_for(self, labels: np.ndarray | None, task: str) -> dict[str, Any]:
        return probe_head_overrides(labels, task)

    def fit(
        self,
        model: PreTrainedModel,
        train: datasets.Dataset,
        validation: datasets.Dataset | None,
        task: str,
        settings: TrainerSettings,
        output_dir: str | Path,
        *,
        class_weights: np.ndarray | None = None,
    ) -> RecipeOutcome:
        from .probe import fit_probe

        model.freeze_backbone()
        readout = fit_probe(model, train, task, class_weights=class_weights)
        return RecipeOutcome(model=model, details={"ridge_alpha": readout.alpha})


def validation_shortfall(
    validation: datasets.Dataset | None,
    task: str,
    training_labels: np.ndarray,
    label_names: list[str] | None = None,
    examples: np.ndarray | None = None,
) -> str | None:
    """Why a validation split cannot drive early stopping, or None when it can: it must hold at least
    `MIN_VALIDATION_PER_CLASS` examples of every class of the training labels `training_labels` `(n,)` (classes absent
    from it named first: AUROC and macro-F1 there leave them out, or are NaN), or `MIN_VALIDATION_REGRESSION` examples
    for regression. `label_names` name the class ids. `examples` `(rows,)`: the labelled example each validation row
    was cut from (`TaskSplits.examples("validation")`), where `window_seconds` cut them into windows: the examples are
    counted, not their windows (one recording of ten windows is one label, and picks a step as one); None: every row
    is an example."""
    empty = validation is None or len(validation) == 0
    labels = np.zeros(0, dtype=np.int64) if empty else _labels(validation)
    if examples is not None and not empty:
        from ..data.budgets import drawn_example_labels

        labels = drawn_example_labels(labels, np.arange(len(labels)), examples)
    if task == REGRESSION:
        if len(labels) >= MIN_VALIDATION_REGRESSION:
            return None
        return f"the validation split ({len(labels)} examples) holds fewer than {MIN_VALIDATION_REGRESSION} examples"
    least = f"the validation split ({len(labels)} examples) holds fewer than {MIN_VALIDATION_PER_CLASS} examples of "
    if empty:
        return least + "every class"
    held = dict(zip(*np.unique(labels, return_counts=True), strict=True))
    classes = np.unique(np.asarray(training_labels)).tolist()
    absent = [c for c in classes if c not in held]  # (`missing_validation_classes`, from the labels read above)
    few = [c for c in classes if 0 < held.get(c, 0) < MIN_VALIDATION_PER_CLASS]
    if absent:
        return (
            f"the validation split ({len(labels)} examples) has no example of class(es) "
            f"{class_names_of(absent, label_names)} of the training set"
        )
    if few:
        return least + f"every class ({class_names_of(few, label_names)} have fewer)"
    return None


def missing_validation_classes(validation: datasets.Dataset | None, training_labels: np.ndarray) -> list[int]:
    """The classes of `training_labels` `(n,)` that a classification validation split has no example of."""
    held = set() if validation is None or not len(validation) else set(_labels(validation).tolist())
    return [c for c in np.unique(np.asarray(training_labels)).tolist() if c not in held]


def validation_is_usable(
    validation: datasets.Dataset | None,
    task: str,
    training_labels: np.ndarray,
    examples: np.ndarray | None = None,
) -> bool:
    """Whether a validation split is large enough to drive early stopping: at least `MIN_VALIDATION_PER_CLASS`
    examples of every class of `training_labels`, the rows cut from one of `examples` counted once
    (`validation_shortfall`)."""
    return validation_shortfall(validation, task, training_labels, examples=examples) is None


def class_weights_for(labels: np.ndarray, num_classes: int, how: str = "none") -> np.ndarray | None:
    """`(num_classes,)` weight of each class's examples in a fit's loss, `how` one of `CLASS_WEIGHTS`: None for
    "none", and for "balanced" `n / (classes present * count)` (scikit-learn's "balanced": every class weighs as much
    in all, and the examples' weights average 1); a class without labelled examples gets 1 (it has nothing to weigh).
    """
    if how not in CLASS_WEIGHTS:
        raise ValueError(f"Unknown class weighting {how!r}; choose one of {', '.join(CLASS_WEIGHTS)}.")
    if how == "none":
        return None
    classes, counts = np.unique(np.asarray(labels, dtype=np.int64), return_counts=True)
    weights = np.ones(num_classes)
    weights[classes] = len(labels) / (len(classes) * counts)
    return weights


def finetune_steps(num_examples: int, batch_size: int, epochs: int = FINETUNE_EPOCHS) -> int:
    """Optimizer steps of the fine-tuning recipes: `epochs` passes over the labelled examples in batches of
    `batch_size` (the global batch: per device x processes), within [`FINETUNE_MIN_STEPS`, `FINETUNE_MAX_STEPS`] (so
    5 examples of 4 classes get 60 steps, not 100 epochs of 2). The bounds count steps, not passes: where one binds,
    N processes make the same steps as one, so about N times the passes (or 1/N of them, at the ceiling)."""
    steps = epochs * math.ceil(num_examples / max(batch_size, 1))
    return int(min(max(steps, FINETUNE_MIN_STEPS), FINETUNE_MAX_STEPS))


@register_recipe
class FinetuneRecipe(Recipe):
    name = "finetune"
    description = (
        "full fine-tuning with the Trainer for a schedule that scales with the examples; early stopping only on a "
        f"validation split with >= {MIN_VALIDATION_PER_CLASS} examples per class"
    )

    epochs: ClassVar[int] = FINETUNE_EPOCHS
    # fine-tuning draws its batches from the labelled windows and this many augmented copies of each (made by these
    # augmentations, `training.augment`); the schedule still counts passes over the labelled windows alone
    augmented_copies: ClassVar[int] = 0
    augmentations: ClassVar[tuple[str, ...]] = ()

    def fit(
        self,
        model: PreTrainedModel,
        train: datasets.Dataset,
        validation: datasets.Dataset | None,
        task: str,
        settings: TrainerSettings,
        output_dir: str | Path,
        data_collator: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None,
        label_names: list[str] | None = None,
        *,
        class_weights: np.ndarray | None = None,
        validation_examples: np.ndarray | None = None,
    ) -> RecipeOutcome:
        """See `Recipe.fit`; `data_collator` / `label_names` for models with other input names (the PatchTST
        baselines), as `trainer.train_with_trainer` takes them; `validation_examples` `(rows,)`: the labelled example
        each validation row was cut from (`TaskSplits.examples`), which early stopping's minimum counts (None: every
        row is one)."""
        from dataclasses import replace

        from .launch import data_parallel_processes
        from .trainer import train_with_trainer

        usable = validation_is_usable(validation, task, _labels(train), validation_examples)
        if settings.max_steps <= 0:
            # a step takes a per-device batch from every process of a launch: passes count global batches, or N
            # processes would make N times the passes (but for `finetune_steps`' bounds, which count steps)
            global_batch = settings.per_device_batch_size * data_parallel_processes()
            if settings.num_train_epochs is None:  # the recipe's schedule
                steps = finetune_steps(len(train), global_batch, self.epochs)
            else:  # the passes the user asked for, as asked
                batches = math.ceil(len(train) / global_batch)
                steps = max(1, math.ceil(settings.num_train_epochs * batches))
            settings = replace(settings, max_steps=steps, eval_steps=max(10, steps // 20))
        _warn_of_long_warmup(settings)
        training_set = train
        if self.augmented_copies > 0:
            from .augment import AugmentedWindows

            training_set = AugmentedWindows(
                train, model.config.patch_length, self.augmentations, self.augmented_copies, settings.seed
            )
        if not usable:
            settings = replace(settings, early_stopping_patience=0)
        outcome = train_with_trainer(
            model,
            training_set,
            validation if usable else None,
            task,
            output_dir,
            settings,
            data_collator,
            label_names,
            class_weights=class_weights,
        )
        return RecipeOutcome(
            model=outcome["trainer"].model,
            steps=outcome["steps"],
            best_step=outcome["best_step"],
            history=outcome["history"],
            details={"early_stopping": usable},
        )


def _warn_of_long_warmup(settings: TrainerSettings) -> None:
    """Warn, as `citrus pretrain` does, when the warm-up of a fine-tuning of `settings.max_steps` steps lasts the whole
    run (its steps counted as transformers counts them: a fraction below 1 of the run, rounded up); once per message,
    for the protocol's many fine-tunings with the same settings. transformers' "constant" schedule warms up not at
    all."""
    from transformers.utils import logging

    from .settings import warmup_spans_run_notice

    if settings.lr_scheduler_type == "constant":
        return
    warmup = settings.warmup_steps
    steps = int(warmup) if warmup >= 1 else math.ceil(settings.max_steps * warmup)
    if notice := warmup_spans_run_notice(warmup, steps, settings.max_steps):
        logging.get_logger(__name__).warning_once(notice + ".")


def logit_temperature(scores: np.ndarray, labels: np.ndarray) -> float:
    """The factor that turns ridge scores `(n, num_classes)` into logits: the one of `LOGIT_TEMPERATURES` with the
    lowest cross-entropy of `softmax(factor * scores)` against `labels` `(n,)`. Pass leave-one-out scores: on the
    examples a read-out was fitted to, a perfect fit would ask for an infinite factor."""
    from ..data.budgets import check_one_per_row

    check_one_per_row(len(scores), "rows of scores", labels=labels)
    labels = np.asarray(labels, dtype=np.int64)
    losses = []
    for temperature in LOGIT_TEMPERATURES:
        logits = temperature * np.asarray(scores, dtype=np.float64)
        logits = logits - logits.max(axis=1, keepdims=True)
        log_probabilities = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        losses.append(-float(np.mean(log_probabilities[np.arange(len(labels)), labels])))
    return LOGIT_TEMPERATURES[int(np.argmin(losses))]


@register_recipe
class ProbeFinetuneRecipe(FinetuneRecipe):
    """Linear probe, then fine-tuning (LP-FT): the probe's read-out starts the head, so fine-tuning begins from a
    model that already classifies and its first gradients do not scramble the pre-trained features through a random
    head. Classification heads are rescaled by `logit_temperature` of the read-out's leave-one-out scores, since
    ridge scores near +-1 are not the logits cross-entropy expects. Fine-tuning draws its batches from the labelled
    windows and `augmented_copies` augmented copies of each (`training.augment.AugmentedWindows`), `soup_members`
    times from the same start, and the model keeps the members' average weights (`_fit_soup`)."""

    name = "probe-finetune"
    description = (
        "the probe's ridge read-out, then the whole model fine-tuned from it at a tenth of the fine-tuning learning "
        f"rate (LP-FT), on the labelled windows and {PROBE_FINETUNE_AUGMENTED_COPIES} augmented copies of each; "
        f"{PROBE_FINETUNE_SOUP_MEMBERS} such fine-tunings with other seeds, their weights averaged"
    )
    head_overrides = ProbeRecipe.head_overrides

    def head_overrides_for(self, labels: np.ndarray | None, task: str) -> dict[str, Any]:
        # the probe that starts the head reads the spread from `PROBE_SPREAD_FROM_PER_CLASS` labelled examples per
        # class (measured in the module docstring), but not the dynamics the probe recipe adds for classification
        return probe_head_overrides(labels, task, PROBE_FINETUNE_CLASSIFICATION_POOLING)

    epochs = PROBE_FINETUNE_EPOCHS
    augmented_copies = PROBE_FINETUNE_AUGMENTED_COPIES
    augmentations = PROBE_FINETUNE_AUGMENTATIONS
    soup_members: ClassVar[int] = PROBE_FINETUNE_SOUP_MEMBERS

    def fit(
        self,
        model: PreTrainedModel,
        train: datasets.Dataset,
        validation: datasets.Dataset | None,
        task: str,
        settings: TrainerSettings,
        output_dir: str | Path,
        *,
        class_weights: np.ndarray | None = None,
        validation_examples: np.ndarray | None = None,
    ) -> RecipeOutcome:
        from dataclasses import replace

        from .probe import fit_probe

        model.freeze_backbone()
        readout = fit_probe(model, train, task, class_weights=class_weights)
        temperature = 1.0
        if task == CLASSIFICATION:
            import torch

            temperature = logit_temperature(readout.loo_predictions, _labels(train))
            with torch.no_grad():
                model.classifier.weight.mul_(temperature)
                model.classifier.bias.mul_(temperature)
        model.freeze_backbone(False)
        settings = replace(settings, learning_rate=settings.learning_rate * PROBE_FINETUNE_LEARNING_RATE_FACTOR)
        outcome = self._fit_soup(
            model,
            train,
            validation,
            task,
            settings,
            output_dir,
            class_weights=class_weights,
            validation_examples=validation_examples,
        )
        outcome.details.update(
            ridge_alpha=readout.alpha, logit_temperature=temperature, augmented_copies=self.augmented_copies
        )
        return outcome

    def _fit_soup(
        self,
        model: PreTrainedModel,
        train: datasets.Dataset,
        validation: datasets.Dataset | None,
        task: str,
        settings: TrainerSettings,
        output_dir: str | Path,
        *,
        class_weights: np.ndarray | None = None,
        validation_examples: np.ndarray | None = None,
    ) -> RecipeOutcome:
        """Fine-tune `soup_members` times from the model's current (probe-started) weights, member i with seed
        `settings.seed + i * PROBE_FINETUNE_SOUP_SEED_STRIDE` in its own scratch folder, and leave the model holding
        the average of the members' weights. Member 0 is exactly the single fine-tuning of `soup_members=1`.

        Every member starts from the same probe read-out and moves at a tenth of the learning rate, so the members
        stay in one basin and their average is a model of its own, not a blur of two (Wortsman et al., ICML 2022)."""
        if self.soup_members <= 1:
            return super().fit(
                model,
                train,
                validation,
                task,
                settings,
                output_dir,
                class_weights=class_weights,
                validation_examples=validation_examples,
            )
        from dataclasses import replace

        import torch

        start = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
        members: list[dict[str, Any]] = []
        outcomes: list[RecipeOutcome] = []
        for member in range(self.soup_members):
            if member:
                model.load_state_dict(start)
            member_settings = replace(settings, seed=settings.seed + member * PROBE_FINETUNE_SOUP_SEED_STRIDE)
            member_dir = Path(output_dir) / f"soup_member_{member}" if member else output_dir
            outcome = super().fit(
                model,
                train,
                validation,
                task,
                member_settings,
                member_dir,
                class_weights=class_weights,
                validation_examples=validation_examples,
            )
            model = outcome.model
            members.append({name: tensor.detach().clone() for name, tensor in model.state_dict().items()})
            outcomes.append(outcome)
        with torch.no_grad():
            # integer buffers (none today) are counters, not weights: the first member's are kept
            soup = {
                name: torch.stack([state[name] for state in members]).mean(0) if tensor.is_floating_point() else tensor
                for name, tensor in members[0].items()
            }
        model.load_state_dict(soup)
        return RecipeOutcome(
            model=model,
            steps=sum(outcome.steps for outcome in outcomes),
            best_step=None,
            history=[
                dict(entry, soup_member=member) for member, outcome in enumerate(outcomes) for entry in outcome.history
            ],
            details={
                **outcomes[0].details,
                "soup_members": self.soup_members,
                "soup_member_best_steps": [outcome.best_step for outcome in outcomes],
            },
        )


def __getattr__(name: str) -> Any:
    # `RECIPE_NAMES`, once a tuple copied when this module was imported (so it missed every recipe registered after),
    # reads the registry as it is now
    if name == "RECIPE_NAMES":
        return recipe_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_recipe_name(name: Any) -> None:
    """Refuse a `recipe` setting that is neither "auto" nor a registered recipe, listing those registered now.

    Raises:
        ValueError: an unknown name.
    """
    if name not in recipe_names():
        raise ValueError(
            f"recipe must be one of {', '.join(recipe_names())}, got {name!r} (a recipe of your own is registered "
            "with @register_recipe before the settings that name it are made)."
        )


# The recipes citrus-hf registers itself: their fingerprints are `recipe_fingerprint`'s own (kept as result caches
# recorded them), a recipe of anyone else's is asked for its `fingerprint()`.
_PACKAGE_RECIPES = dict(RECIPES)


def resolve_recipe(name: str, labels_per_class: float | None, task: str = CLASSIFICATION) -> Recipe:
    """The recipe `name` ("auto" picks the probe for regression, and for classification by `labels_per_class`, the
    smallest class's count; None counts as many)."""
    if name == "auto":
        few = labels_per_class is not None and labels_per_class < AUTO_PROBE_FINETUNE_FROM_PER_CLASS
        return RECIPES["probe" if few or task == REGRESSION else "probe-finetune"]
    check_recipe_name(name)
    return RECIPES[name]


def recipe_fingerprint(name: str) -> dict[str, Any]:
    """The settings of recipe `name` that its results depend on beyond the run's own arguments: "auto"'s rule, the
    probe's pooling and probe-then-fine-tune's step size and schedule. Result caches (the protocol's run signatures)
    hold it, so runs fitted under another rule are not reused; "finetune" has kept its settings since caches began,
    hence {}. A recipe registered by other code than citrus-hf's has its own `Recipe.fingerprint()`."""
    if name != "auto" and RECIPES[name] is not _PACKAGE_RECIPES.get(name):
        return checked_fingerprint(RECIPES[name], f"recipe {name!r}")
    if name == "auto":
        return {
            "probe_below_per_class": AUTO_PROBE_FINETUNE_FROM_PER_CLASS,
            "from_there": "probe-finetune",
            REGRESSION: "probe",
            "probe": recipe_fingerprint("probe"),
            **recipe_fingerprint("probe-finetune"),
        }
    if name == "probe":
        from ..vocabulary_citrus import AUTOCORRELATION_LAGS
        from .probe import CLASSIFICATION_DYNAMICS_WEIGHT, ONE_SHOT_SPREAD_SHRINKAGE

        return {
            "regression_pooling": PROBE_REGRESSION_POOLING,
            "autocorrelation_lags": AUTOCORRELATION_LAGS,
            "classification_pooling": PROBE_CLASSIFICATION_POOLING,
            "from_per_class": PROBE_SPREAD_FROM_PER_CLASS,
            "dynamics_weight": CLASSIFICATION_DYNAMICS_WEIGHT,
            "one_shot_spread_shrinkage": ONE_SHOT_SPREAD_SHRINKAGE,
        }
    if name == "probe-finetune":
        from . import augment  # imports torch: only the protocol, which has it loaded, asks for fingerprints

        return {
            "head": {
                "classification_pooling": PROBE_FINETUNE_CLASSIFICATION_POOLING,
                "from_per_class": PROBE_SPREAD_FROM_PER_CLASS,
                "regression_pooling": PROBE_REGRESSION_POOLING,
            },
            "learning_rate_factor": PROBE_FINETUNE_LEARNING_RATE_FACTOR,
            "epochs": PROBE_FINETUNE_EPOCHS,
            "temperatures": LOGIT_TEMPERATURES,
            "augmentation": {
                "augmentations": PROBE_FINETUNE_AUGMENTATIONS,
                "copies": PROBE_FINETUNE_AUGMENTED_COPIES,
                "strengths": [augment.MAX_SHIFT_FRACTION, augment.MAX_SCALE, augment.JITTER_FRACTION],
                "draws": "per row",  # each copy from its own seed (`augment.copy_seed`)
            },
            "soup": {"members": PROBE_FINETUNE_SOUP_MEMBERS, "seed_stride": PROBE_FINETUNE_SOUP_SEED_STRIDE},
        }
    return {}


def _labels(dataset: datasets.Dataset) -> np.ndarray:
    """The `labels` column `(n,)` (`(n, targets)` for several regression targets) of an aligned dataset."""
    from ..data.plans import column_array

    return column_array(dataset, "labels")


def labels_per_class(labels: np.ndarray, task: str) -> float | None:
    """The smallest class's number of labelled examples (for regression, the count of examples divided by 2, as if it
    were a two-class set): what "auto" reads (see the module docstring on classes of unequal size)."""
    labels = np.asarray(labels)
    if task == REGRESSION:
        return len(labels) / 2
    return float(np.unique(labels, return_counts=True)[1].min())


def predict(model: PreTrainedModel, dataset: datasets.Dataset, batch_size: int = 128) -> np.ndarray:
    """Model outputs `(n, outputs)` (logits or regression predictions) of an aligned dataset (`input_values` and
    optionally `patch_mask`), `batch_size` windows per pass (fewer for many channels: `probe.windows_per_pass`)."""
    import torch

    from .probe import torch_formatted, windows_per_pass

    if len(dataset) == 0:
        raise ValueError("`dataset` has no rows to predict.")
    dataset = torch_formatted(dataset)
    batch_size = windows_per_pass(batch_size, dataset)
    model.eval()
    device = next(model.parameters()).device
    outputs = []
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            rows = dataset[start : start + batch_size]
            patch_mask = rows.get("patch_mask")
            logits = model(
                rows["input_values"].to(device),
                patch_mask=None if patch_mask is None else patch_mask.to(device),
                return_dict=True,  # whatever the config says (return_dict=False: tuples)
            ).logits
            outputs.append(logits.float().cpu())
    return torch.cat(outputs).numpy()


def scored_outputs(model: PreTrainedModel, dataset: datasets.Dataset, task: str) -> tuple[np.ndarray, np.ndarray]:
    """`(outputs, labels)` of a fitted CiTrus task model on an aligned dataset: its outputs `(n, outputs)` (`predict`)
    and the dataset's labels `(n,)`, once `probe.checked_probe_dataset` has checked the two fit."""
    from .probe import checked_probe_dataset

    dataset = checked_probe_dataset(model, dataset, task)
    return predict(model, dataset), _labels(dataset)


def metrics_of(outputs: np.ndarray, labels: np.ndarray, task: str) -> dict[str, float]:
    """Classification metrics of logits `(n, num_classes)`, or regression metrics of predictions `(n, 1)`, against
    `labels` `(n,)`."""
    from .metrics import classification_metrics, regression_metrics

    if task == CLASSIFICATION:
        return classification_metrics(outputs, labels)
    return regression_metrics(outputs[:, 0], labels)


def recording_metrics(
    outputs: np.ndarray,
    labels: np.ndarray,
    recordings: np.ndarray | list,
    seconds: np.ndarray,
    task: str,
    without_signal: np.ndarray | None = None,
) -> tuple[dict[str, float], int] | None:
    """`(metrics, recordings)` of a split scored per recording, as `citrus predict` answers for a file: each
    recording's windows' probabilities (softmax; a sigmoid for one output) or predictions averaged by the model
    file's rule (`modeling_citrus.recording_mean`, which the pipelines use), scored as `metrics_of` scores windows
    (a classifier's mean probabilities as log-probabilities, whose softmax they are). None where no recording has
    several windows, or where one holds windows of different labels (events of several classes in one file: no
    label for the whole of it). Windows without signal are left out of their recording's mean, as the pipelines leave
    them out (a file padded with zeros to one length: its flat windows pulled every file towards one class), and a
    recording of no other windows, which `citrus predict` gives no label, is scored with none: `recordings` counts
    the recordings scored.

    Args:
        outputs: `(windows, outputs)` the model's logits (classification) or predictions (regression).
        labels: `(windows,)` class ids or targets.
        recordings: `(windows,)` each window's recording id.
        seconds: `(windows,)` the seconds of recording each window covers.
        without_signal: `(windows,)` whether a window holds no signal (`data.windowing.rows_without_signal`);
            None: every window holds signal.
    """
    import torch

    from ..data.budgets import check_one_per_row, group_keys
    from ..data.splits import grouping_problem
    from ..modeling_citrus import recording_mean

    check_one_per_row(
        len(outputs), "outputs", labels=labels, recordings=recordings, seconds=seconds, without_signal=without_signal
    )
    # a row without an id (None) is a recording of its own, as the validation carve keeps it apart
    keys = group_keys(list(recordings), len(outputs)).astype(str)
    labels = np.asarray(labels)
    if grouping_problem(keys, labels) is not None:
        return None
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    # each recording's rows, in one sort (a comparison per recording was quadratic in a large test split)
    rows = np.split(np.argsort(inverse.reshape(-1), kind="stable"), np.cumsum(counts)[:-1])
    if without_signal is not None:
        rows = [members[~np.asarray(without_signal, dtype=bool)[members]] for members in rows]
        rows = [members for members in rows if len(members)]
        if not rows:
            return None
    values = torch.as_tensor(np.asarray(outputs, dtype=np.float64))
    if task == CLASSIFICATION:
        values = values.sigmoid() if values.shape[1] == 1 else values.softmax(-1)
    means = torch.stack([recording_mean(values[members], torch.as_tensor(seconds[members])) for members in rows])
    means = means.numpy()
    if task == CLASSIFICATION:
        with np.errstate(divide="ignore"):  # a probability of 0: -inf, a class ruled out
            means = np.log(means) - (np.log1p(-means) if means.shape[1] == 1 else 0.0)
    return metrics_of(means, labels[[members[0] for members in rows]], task), len(rows)


@dataclass(frozen=True)
class RecordingScores:
    """A split scored per labelled recording (`split_recording_metrics`): the task's `metrics` of each recording's
    mean output and the `recordings` scored, or None for both and `why_not`, one line saying why the split has none."""

    metrics: dict[str, float] | None
    recordings: int | None = None
    why_not: str | None = None


@dataclass(frozen=True)
class RecordingGroups:
    """What scoring a split per labelled recording takes besides a model's outputs (`split_recording_groups`), read
    once for every run that scores the split: `(rows,)` each row's labelled recording, the seconds it covers and
    whether it holds no signal; or None for the three and `why_not`, one line saying why the split has none."""

    recordings: np.ndarray | None
    seconds: np.ndarray | None = None
    without_signal: np.ndarray | None = None
    why_not: str | None = None


def split_recording_groups(splits: TaskSplits, split: str, sampling_rate: float | None) -> RecordingGroups:
    """The labelled recordings of `split` ("test", "validation") of `splits` (`data.splits.TaskSplits`:
    `labelled_recordings`) with each row's weight: the seconds it covers (its samples at its rate: the row's
    `sampling_rate`, else `sampling_rate`) and whether it holds no signal (`rows_without_signal`, which reads every
    row: `citrus evaluate` reads it once per set, not once per run), as the pipelines weigh and leave windows out of a
    file's answer."""
    from ..data.windowing import row_samples_and_rates, rows_without_signal

    recordings, why_not = splits.labelled_recordings(split)
    if recordings is None:
        return RecordingGroups(None, why_not=why_not)
    rows = getattr(splits, split)
    seconds = np.asarray([samples / rate for samples, rate in row_samples_and_rates([rows], sampling_rate)])
    if len(seconds) != len(rows):
        return RecordingGroups(None, why_not="its rows have no rate to weigh their windows by")
    return RecordingGroups(recordings, seconds, rows_without_signal(rows))


def split_recording_metrics(
    splits: TaskSplits,
    split: str,
    outputs: np.ndarray,
    sampling_rate: float | None,
    groups: RecordingGroups | None = None,
    labels: np.ndarray | None = None,
) -> RecordingScores:
    """`split` ("test", "validation") of `splits` (`data.splits.TaskSplits`) scored per labelled recording
    (`TaskSplits.labelled_recordings`) from a model's outputs on its rows, `(rows, outputs)` logits or scores
    (classification), `(rows,)` or `(rows, 1)` predictions (regression), by `recording_metrics`: what `citrus
    finetune` and every arm of `citrus evaluate` report beside the window-level metrics. Each window weighs the
    seconds it covers, and the windows without signal are left out (`split_recording_groups`, or its `groups` read
    before); `labels` `(rows,)` the split's labels where read before (`TaskSplits.labels`)."""
    groups = split_recording_groups(splits, split, sampling_rate) if groups is None else groups
    if groups.recordings is None:
        return RecordingScores(None, why_not=groups.why_not)
    outputs = np.asarray(outputs)
    outputs = outputs[:, None] if outputs.ndim == 1 else outputs
    labels = splits.labels(split) if labels is None else labels
    if len(outputs) != len(labels):
        return RecordingScores(None, why_not=f"its {len(labels)} rows were given {len(outputs)} outputs")
    scored = recording_metrics(outputs, labels, groups.recordings, groups.seconds, splits.task, groups.without_signal)
    if scored is None:
        return RecordingScores(None, why_not="none of its recordings holds a window of signal")
    return RecordingScores(*scored)


def score(model: PreTrainedModel, dataset: datasets.Dataset, task: str) -> dict[str, float]:
    """Test metrics of a fitted CiTrus task model on an aligned dataset (classification or regression metrics)."""
    return metrics_of(*scored_outputs(model, dataset, task), task)


def rare_class_notice(
    asked: str,
    recipe: Recipe,
    labels: np.ndarray,
    task: str,
    label_names: list[str] | None = None,
    example_labels: np.ndarray | None = None,
) -> str | None:
    """One line naming the settings that a class with fewer labelled examples than the others changed for every class
    (which class, how many examples, which settings: see the module docstring on classes of unequal size), or None
    (regression, every class at one count, nothing changed). `asked` is the recipe asked for ("auto" resolved to
    `recipe`), `labels` `(n,)` the labelled examples' class ids, `label_names` their names. `example_labels`: one
    label per labelled recording where `labels` are its windows' (`data.budgets.drawn_example_labels`), which "auto"
    counts, as the budget does, where the probe fits the windows."""
    if task != CLASSIFICATION:
        return None
    from .probe import LEAVE_ONE_OUT_FROM_PER_CLASS, ONE_SHOT_ALPHA, carried_by_classes_of

    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    auto_labels = labels if example_labels is None else np.asarray(example_labels)
    auto_counts = np.unique(auto_labels, return_counts=True)
    if counts.min() == counts.max() and auto_counts[1].min() == auto_counts[1].max():
        return None
    # where `window_seconds` cut the labelled recordings, the probe's counts are of windows and "auto"'s of recordings:
    # the line said "labelled examples" of both, and "'rare' (3)" for a class of one recording cut into 3 windows
    windowed = len(auto_labels) != len(labels)
    unit, auto_unit = ("windows", "recordings") if windowed else ("examples", "examples")

    def below(per_class: int, of: tuple[np.ndarray, np.ndarray] = (classes, counts), what: str = unit) -> str:
        few = [(c, n) for c, n in zip(of[0].tolist(), of[1].tolist(), strict=True) if n < per_class]
        names = class_names_of([c for c, _ in few], label_names)
        return ", ".join(
            f"{name!r} ({n}{f' {what[:-1] if n == 1 else what}' if windowed else ''})"
            for name, (_, n) in zip(names, few, strict=True)
        )

    changes = []
    if (
        asked == "auto"
        and isinstance(recipe, ProbeRecipe)
        and auto_counts[1].min() != auto_counts[1].max()
        and carried_by_classes_of(auto_labels, AUTO_PROBE_FINETUNE_FROM_PER_CLASS)
    ):
        changes.append(
            f"because of {below(AUTO_PROBE_FINETUNE_FROM_PER_CLASS, auto_counts, auto_unit)}, 'auto' fits the probe "
            f"for every class, as it does below {AUTO_PROBE_FINETUNE_FROM_PER_CLASS} labelled {auto_unit} per class "
            "(--recipe probe-finetune fine-tunes from it)"
        )
    if isinstance(recipe, (ProbeRecipe, ProbeFinetuneRecipe)):
        pooling = recipe.head_overrides_for(labels, task)["pooling"]
        if not carried_by_classes_of(labels, LEAVE_ONE_OUT_FROM_PER_CLASS):
            changes.append(
                f"because of {below(LEAVE_ONE_OUT_FROM_PER_CLASS)}, the probe fits every class with its "
                f"one-example-per-class settings: pooling {pooling!r}, penalty fixed at {ONE_SHOT_ALPHA:g}, spreads "
                "shrunk toward the median column's"
            )
        else:
            if (counts < LEAVE_ONE_OUT_FROM_PER_CLASS).any():
                scored = int(counts[counts >= LEAVE_ONE_OUT_FROM_PER_CLASS].sum())
                changes.append(
                    f"{below(LEAVE_ONE_OUT_FROM_PER_CLASS)} left out of the leave-one-out choice of the probe's "
                    f"penalty (chosen on the other {scored} {unit}: a left-out one with no other of its class is "
                    "predicted from none)"
                )
            if pooling == "mean_max" and (counts < PROBE_SPREAD_FROM_PER_CLASS).any():
                changes.append(
                    f"because of {below(PROBE_SPREAD_FROM_PER_CLASS)}, the probe pools the mean and max only (no "
                    "spread or dynamics)"
                )
    if not changes:
        return None
    return f"Classes of unequal size ({counts.min()} to {counts.max()} labelled {unit}): " + "; ".join(changes)


__all__ = [
    "AUTO_PROBE_FINETUNE_FROM_PER_CLASS",
    "CLASS_WEIGHTS",
    "MIN_VALIDATION_PER_CLASS",
    "MIN_VALIDATION_REGRESSION",
    "RECIPES",
    "FinetuneRecipe",
    "ProbeFinetuneRecipe",
    "ProbeRecipe",
    "Recipe",
    "RecipeOutcome",
    "class_weights_for",
    "check_recipe_name",
    "check_abstract_methods_defined",
    "checked_fingerprint",
    "default_fingerprint",
    "finetune_steps",
    "fit_recipe",
    "logit_temperature",
    "labels_per_class",
    "RecordingGroups",
    "RecordingScores",
    "metrics_of",
    "missing_validation_classes",
    "predict",
    "rare_class_notice",
    "recipe_fingerprint",
    "recipe_names",
    "register_recipe",
    "resolve_recipe",
    "score",
    "recording_metrics",
    "scored_outputs",
    "split_recording_groups",
    "split_recording_metrics",
    "validation_is_usable",
    "validation_shortfall",
]
