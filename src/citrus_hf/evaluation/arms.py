"""The contenders of the low-data protocol, as registered arms.

An arm is one way to get a model from a handful of labelled windows: CiTrus pre-trained (the bundled checkpoint, or
pre-trained here with one objective), the same CiTrus from random weights, transformers' PatchTST, MiniRocket + ridge
(the classical answer), or no model at all (the prior). Every arm implements `prepare` (once per dataset: align or
load the splits) and `run` (one labelled draw, one seed -> test metrics); `ARMS` maps names to arms and everything
else (the command's choices, the report's pairings) reads it. A new arm is one class and one `register_arm` call.
"""

from __future__ import annotations

import hashlib
import json
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ..data.budgets import drawn_example_labels
from ..data.plans import column_array
from ..training.recipes import (
    RECIPES,
    RecordingGroups,
    RecordingScores,
    check_abstract_methods_defined,
    checked_fingerprint,
    class_weights_for,
    default_fingerprint,
    fit_recipe,
    labels_per_class,
    metrics_of,
    resolve_recipe,
    scored_outputs,
    split_recording_groups,
    split_recording_metrics,
)
from ..vocabulary_citrus import CLASSIFICATION, PRETRAINING_OBJECTIVES, REGRESSION, redefines

# The registry below is read by `citrus evaluate --help` (through `evaluation.settings`), so this module imports
# neither torch nor transformers at the top: the arms import what fitting needs where they fit.
logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ..configuration_citrus import CiTrusConfig
    from ..data.splits import TaskSplits
    from .settings import ProtocolConfig


@dataclass
class DatasetContext:
    """What every arm of one labelled set shares: its splits, the training pool's labels, the input-contract
    overrides (channels, normalisation) and a cache of aligned splits keyed by input contract, so arms with the same
    contract align once."""

    name: str
    splits: TaskSplits
    pool_labels: np.ndarray
    overrides: dict[str, Any]
    alignment: str
    config: ProtocolConfig
    score_split: str = "test"
    data: str = ""  # fingerprint of the splits' contents (`datasets`' fingerprints): a changed set is refitted
    aligned: dict[tuple, tuple] = field(default_factory=dict)
    alignments: dict[tuple, str] = field(default_factory=dict)  # resolved alignment per (rate, context length)
    # the scored split's labelled recordings and their windows' weights, read once (`recipes.split_recording_groups`,
    # which reads every row): every run of the set scores them
    recordings: dict[str, RecordingGroups] = field(default_factory=dict)
    # the scored split's labels and the classes it has no example of, read once: every arm's run scores against the
    # labels, per window and per recording, and every run's record names those classes (each read is a `datasets`
    # select of the label column, 16 ms for 2,048 rows; three or four a run). Not copied by `dataclasses.replace`: a
    # copy of other splits reads its own
    scored_label_values: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    absent_scored_classes: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)

    @property
    def task(self) -> str:
        return self.splits.task

    def for_fitting(self, validation):
        """The validation split a recipe may early-stop and pick its best step on: none by default, so every arm
        sees only the labels of its draw (the k per class the budget names; the validation split holds up to
        hundreds more) and runs its fixed schedule, as the recipes did when they were chosen. Never when the runs
        are scored on that very split (choosing recipes), where it would flatter the recipes that select on it
        against those that do not (the probe, MiniRocket). `ProtocolConfig.select_on_validation` opts in for runs
        scored on test."""
        if self.score_split == "validation" or not self.config.select_on_validation:
            return None
        return validation

    def scored(self):
        """The split that runs are scored on (the test split, or validation when choosing recipes)."""
        return self.splits.test if self.score_split == "test" else self.splits.validation

    def splits_to_align(self) -> tuple:
        """(training pool, validation, scored split), unaligned: every split an arm aligns."""
        return self.splits.train, self.splits.validation, self.scored()

    def scored_labels(self) -> np.ndarray:
        """`(rows,)` the scored split's labels (a copy of the arm's own)."""
        if self.score_split not in self.scored_label_values:
            self.scored_label_values[self.score_split] = self.splits.labels(self.score_split)
        return self.scored_label_values[self.score_split].copy()

    def absent_classes(self) -> list[str]:
        """The model's classes the scored split has no example of (`TaskSplits.absent_classes`)."""
        if self.score_split not in self.absent_scored_classes:
            self.absent_scored_classes[self.score_split] = self.splits.absent_classes(self.score_split)
        return list(self.absent_scored_classes[self.score_split])

    def recording_groups(self) -> RecordingGroups:
        """The scored split's labelled recordings and their windows' weights, or why it has none
        (`recipes.split_recording_groups`)."""
        if self.score_split not in self.recordings:
            self.recordings[self.score_split] = split_recording_groups(
                self.splits, self.score_split, self.config.sampling_rate
            )
        return self.recordings[self.score_split]

    def labelled_recordings(self) -> tuple[np.ndarray | None, str | None]:
        """The labelled recordings of the scored split's rows, or why it has none (`TaskSplits.labelled_recordings`)."""
        groups = self.recording_groups()
        return groups.recordings, groups.why_not

    def recording_scores(self, outputs: np.ndarray) -> RecordingScores:
        """The scored split scored per labelled recording from an arm's `test_outputs` `(rows, outputs)` or `(rows,)`
        (`recipes.split_recording_metrics`)."""
        return split_recording_metrics(
            self.splits,
            self.score_split,
            outputs,
            self.config.sampling_rate,
            self.recording_groups(),
            self.scored_labels(),
        )

    @property
    def num_classes(self) -> int:
        """Classes of a classification set: its label names, else one past the largest label of the training pool
        and the scored split. Every arm scores all of them, so a class missing from a draw counts against it."""
        if self.splits.label_names:
            return len(self.splits.label_names)
        return int(max(self.pool_labels.max(), self.scored_labels().max())) + 1

    def alignment_for(self, contract: CiTrusConfig) -> str:
        """This set's alignment to `contract`: the protocol's setting, "auto" resolved (`resolve_alignment`)."""
        from ..data.alignment import cropped_rows_notice, lost_band_notice, resolve_alignment

        key = (contract.sampling_rate, contract.context_length)
        if key not in self.alignments:
            splits = self.splits_to_align()
            self.alignments[key] = resolve_alignment(self.alignment, splits, contract, self.config.sampling_rate)
            # said here, from the rows' lengths, as `citrus finetune` says it: the extractor's own warning comes only
            # when it aligns, and a re-run finds the aligned splits in `datasets`' cache
            if self.alignments[key] == "resample":
                options = (f"--alignment {self.name}=interpolate", f"--dataset-options {self.name}:window_seconds=S")
                notice = cropped_rows_notice(splits, contract, self.config.sampling_rate, options)
                if notice:
                    logger.warning(f"{self.name}: {notice}")
            option = "--model-config PRESET --config-overrides sampling_rate=HZ for the citrus-scratch arm"
            if notice := lost_band_notice(splits, contract, self.config.sampling_rate, option):
                logger.warning(f"{self.name}: {notice}")
        return self.alignments[key]

    def align(self, contract: CiTrusConfig, padding: str = "longest") -> tuple:
        """(training pool, validation, scored split), aligned to `contract` once per distinct input contract.

        `padding="longest"` keeps the recordings' own duration (CiTrus takes any whole number of patches);
        "max_length" pads to the context, for models with a fixed input length (PatchTST)."""
        key = (
            padding,
            contract.sampling_rate,
            contract.context_length,
            contract.patch_length,
            contract.normalization,
            json.dumps(contract.normalization_mean),
            json.dumps(contract.normalization_std),
        )
        if key not in self.aligned:
            from ..data.alignment import align_task_split, aligned_length, task_feature_extractor

            extractor = task_feature_extractor(
                contract, self.alignment_for(contract), padding, nan_policy=self.config.nan_policy
            )
            splits = self.splits_to_align()
            rate = self.config.sampling_rate
            length = aligned_length(splits, extractor, rate)
            self.aligned[key] = tuple(
                align_task_split(split, extractor, self.task, rate, length, **_naming(self.splits, role))
                for split, role in zip(splits, ("train", "validation", self.score_split))
            )
        return self.aligned[key]


def _naming(splits: TaskSplits, split: str) -> dict[str, Any]:
    """`where` and `row_numbers` for errors about the rows of `split` ("train", "validation", "test"): the split's
    own name and each row's number in the user's set (`TaskSplits.where`)."""
    where, rows = splits.where(split)
    return {"where": where, "row_numbers": rows}


class Arm(ABC):
    """One contender of the protocol.

    Attributes:
        name: registry key (`citrus evaluate --arms NAME`).
        description: one line for the report.
        pretrained: whether it starts from pre-trained weights (a checkpoint given, bundled or pre-trained here); an
            arm of one's own that bundles none and is not `pretrainable` gets them from `--checkpoints NAME=...`
            (`prepare`'s `checkpoint`), which the protocol then asks for.
        network: whether it fits a network's weights, pre-trained or from random weights (the report draws the
            latter dashed).
        learns: whether it fits a model to the labelled examples at all; one that does not (the prior) is the floor
            the report leaves out of its gaps and its below-chance cells.
        scratch_counterpart: the arm that is the same model from random weights: the report pairs them.
        weighs_classes: whether it weighs a classification draw's classes under `citrus evaluate --class-weight
            balanced` (the CiTrus arms' recipes, PatchTST's fine-tuning loss, MiniRocket's ridge); the report names
            the arms fitted unweighted beside them (the prior, arms of one's own), whose gaps to the weighted ones
            compare two weightings.
        optional_modules: optional dependencies (keys of `citrus_hf._extras.EXTRAS`) the arm fits with; the protocol
            checks they are installed before it starts.

    `fingerprint()` says what the arm's results depend on beyond the protocol's settings: `citrus evaluate` reuses a
    recorded run of the arm only under the same one, so an arm changed since is refitted (the default covers the
    class, its code and its public attributes; override it for settings held elsewhere).
    """

    name: str
    description: str
    optional_modules: tuple[str, ...] = ()
    pretrained: bool = False
    network: bool = False
    learns: bool = True
    # pre-trained by the protocol itself (on its corpus) when no checkpoint is given
    pretrainable: bool = False
    scratch_counterpart: str | None = None
    weighs_classes: bool = False

    def prepare(self, context: DatasetContext, checkpoint: str | None) -> Any:
        """Per-dataset state (aligned splits, arrays); `checkpoint` is the arm's pre-trained weights, if any."""
        return None

    def fingerprint(self) -> dict[str, Any]:
        """What the arm's results depend on beyond the protocol's settings, as a JSON-able dict: the run signature of
        an arm registered by other code than citrus-hf's holds it (`arm_fingerprint`), so runs of another version of
        the arm are refitted, not reused. The default (`training.recipes.default_fingerprint`): the class's qualified
        name, a digest of the code of the classes of it defined outside citrus-hf, and its public JSON-able
        attributes. Override it (adding to `super().fingerprint()`) to name what else decides its runs: module
        constants, files read."""
        return default_fingerprint(self, Arm)

    @abstractmethod
    def run(
        self, context: DatasetContext, prepared: Any, chosen: np.ndarray, seed: int, run_dir: Path
    ) -> dict[str, Any]:
        """Fit on the training pool's examples `chosen` with `seed`; return `{"test": metrics, "test_outputs":
        outputs, ...}` (also `steps`, `best_step`, `recipe` where they apply).

        `metrics` maps each metric of the set's task (`training.metrics.metrics_for_task`: what
        `classification_metrics(scores, labels)` / `regression_metrics(predictions, targets)` return, on
        `context.scored_labels()`) to a number, NaN where one has no value; classification metrics are fractions in
        [0, 1]. `outputs` are what those metrics were computed from, one row per scored example (a numpy array, or
        a torch tensor: a model's `logits` as they come): `(n, classes)` scores whose softmax are the class
        probabilities (logits, log-probabilities) or `(n,)` predictions; the
        protocol scores each labelled recording of a set that has them by their mean (`recipes.recording_metrics`,
        the rule `citrus predict` labels a file by) beside `metrics`. An arm that returns none gets no per-recording
        scores. The protocol refuses anything else, naming the arm (`protocol._checked_outcome`)."""


ARMS: dict[str, Arm] = {}


_ArmOrClass = TypeVar("_ArmOrClass", Arm, type[Arm])


def register_arm(arm: _ArmOrClass) -> _ArmOrClass:
    """Make `arm` available by its name (`citrus evaluate --arms`, `ProtocolConfig.arms`) and return it. `arm` is an
    `Arm`, or an `Arm` class that takes no arguments (`@register_arm` on the class, as `@register_recipe` is used),
    which registers an instance of it.

    Raises:
        TypeError: not an arm, an arm class that needs arguments or does not define `run`, or no `name`.
        ValueError: an arm of that name is registered already (the package's included): registry names are unique.
            An arm of a class defined again (a notebook cell run twice) replaces its first definition's; an instance
            of a package class with the same settings as the one registered (`CiTrusArm(name="mine", ...)` run
            twice) is accepted, with other settings refused.
    """
    instance = arm
    if isinstance(arm, type) and issubclass(arm, Arm):
        # (it was told to register an instance, which cannot be made either)
        check_abstract_methods_defined(arm, Arm, "`Arm.run` fits the labelled draw and scores the test split")
        try:
            instance = arm()
        except TypeError as error:
            raise TypeError(
                f"@register_arm instantiates the class {arm.__qualname__} without arguments, which it does not take "
                f"({error}): register an instance instead, register_arm({arm.__qualname__}(...))."
            ) from None
    if not isinstance(instance, Arm):
        raise TypeError(f"register_arm takes an Arm (an instance of an Arm subclass, or the class), got {arm!r}.")
    name = getattr(instance, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{type(instance).__qualname__} must set `name` (its registry name, --arms NAME).")
    # An instance of the package's own classes (`CiTrusArm(name="mine", ...)`) has no definition of the user's to
    # recognise as defined again: the same settings registered again (a notebook cell run twice) are that cell.
    if name in ARMS and not (
        redefines(type(ARMS[name]), type(instance)) or (type(ARMS[name]) is type(instance) and ARMS[name] == instance)
    ):
        raise ValueError(
            f"The evaluation arm {name!r} is already registered ({ARMS[name].description}); registry names must be "
            "unique: give yours another name."
        )
    ARMS[name] = instance
    return arm


# ------------------------------------------------------------------------------------------------------- CiTrus


@dataclass
class CiTrusArm(Arm):
    """CiTrus fitted with a recipe (`ProtocolConfig.recipe`, or the arm's own): from `checkpoint` (bundled name,
    given, or pre-trained here with `objective` on the protocol's corpus) or from random weights."""

    name: str
    description: str
    pretrained: bool = True
    network = True
    # None: the model config's, or the user's `backbone=` override (citrus-scratch is the model config's twin); the
    # cnn-/transformer- arms are defined by theirs (`ProtocolConfig` refuses an override that contradicts it).
    backbone: str | None = None
    objective: str = "time"
    bundled: str | None = None
    recipe: str | None = None
    scratch_counterpart: str | None = None

    @property
    def weighs_classes(self) -> bool:  # type: ignore[override]
        # (a property, which `default_fingerprint` leaves out: an attribute would change the run signatures of the
        # instances users register, and refit their recorded runs)
        return True

    @property
    def pretrainable(self) -> bool:  # type: ignore[override]
        """Pre-trained by the protocol itself when no checkpoint is given (the bundled ones never are)."""
        return self.pretrained and self.bundled is None

    def contract(self, config: ProtocolConfig, checkpoint: str | None) -> CiTrusConfig:
        """The CiTrus config fixing this arm's input (and, from scratch, its architecture)."""
        from ..loading import build_config, resolve_checkpoint

        if checkpoint is not None:
            return build_config(resolve_checkpoint(checkpoint), **loaded_model_overrides(config))
        overrides = dict(config.config_overrides)
        if self.backbone is not None:
            overrides["backbone"] = self.backbone
        return build_config(resolve_model_config(config.model_config), **overrides)

    def prepare(self, context: DatasetContext, checkpoint: str | None) -> Any:
        from ..data.alignment import with_input_overrides

        checkpoint = checkpoint if self.pretrained else None
        contract = with_input_overrides(self.contract(context.config, checkpoint), context.overrides)
        return {
            "contract": contract,
            "checkpoint": checkpoint,
            # what the loaded model's config takes of the user's overrides (from scratch, the contract holds them all)
            "model_overrides": {} if checkpoint is None else loaded_model_overrides(context.config),
            "aligned": context.align(contract),
            "alignment": context.alignment_for(contract),
        }

    def run(self, context, prepared, chosen, seed, run_dir) -> dict[str, Any]:
        from transformers import set_seed

        from ..training.finetune import build_citrus_task_model

        pool, validation, scored = prepared["aligned"]
        splits = context.splits
        # labels per class as the budget counts them: a recording that `window_seconds` cut is one
        per_class = labels_per_class(drawn_example_labels(context.pool_labels, chosen, splits.examples()), splits.task)
        recipe = resolve_recipe(self.recipe or context.config.recipe, per_class, splits.task)
        set_seed(seed)
        model = build_citrus_task_model(
            splits.task,
            splits.num_channels,
            splits.label_names,
            prepared["checkpoint"],
            prepared["contract"],
            {
                **prepared["model_overrides"],
                **context.overrides,
                **recipe.head_overrides_for(context.pool_labels[chosen], splits.task),
            },
            # a regressor named by the set's name of its target ("heart_rate"), as `citrus finetune` names it
            target_names=splits.target_names,
        )
        if splits.task == REGRESSION:
            model.init_regressor_bias(context.pool_labels[chosen])
        settings = replace(context.config.finetune, seed=seed, show_progress=False)
        fitting, options = fitting_options(context, chosen, validation)
        outcome = fit_recipe(recipe, model, pool.select(chosen), fitting, splits.task, settings, run_dir, **options)
        outputs, labels = scored_outputs(outcome.model, scored, splits.task)
        return {
            "test": metrics_of(outputs, labels, splits.task),
            "test_outputs": outputs,
            "steps": outcome.steps,
            "best_step": outcome.best_step,
            "recipe": recipe.name,
        }


def fitting_options(context: DatasetContext, chosen: np.ndarray, validation: Any) -> tuple[Any, dict[str, Any]]:
    """What every arm that fits with a recipe gives it alike for the draw `chosen`, so that paired arms differ in the
    model only: the validation split it early-stops on (`DatasetContext.for_fitting`: None when scored on it), and
    the recipe's keywords, `class_weights` `(num_classes,)` of the draw under `--class-weight` (`class_weights_for`;
    left out for a regression set or "none", so a recipe of one's own that takes none is called as before) and
    `validation_examples` `(rows,)` (the labelled example each validation row was cut from: early stopping counts
    examples, and a recording `window_seconds` cut into windows is one)."""
    splits, options = context.splits, {}
    if splits.task == CLASSIFICATION and context.config.class_weight != "none":
        labels = context.pool_labels[chosen]
        options["class_weights"] = class_weights_for(labels, len(splits.label_names), context.config.class_weight)
    fitting = context.for_fitting(validation)
    if fitting is not None and (examples := splits.examples("validation")) is not None:
        options["validation_examples"] = examples
    return fitting, options


# What makes a pre-trained arm and its `scratch_counterpart` the same model but for the weights: the input contract
# and the encoder's kind and size. Not the pre-training objective and its masking (only pre-training reads them), nor
# the head and the dropouts (both arms take the user's). The bundled citrus-small beside a `--model-config tiny`
# citrus-scratch differed in most of them, and the report called the difference the gain of pre-training.
MODEL_FIELDS = (
    "sampling_rate",
    "context_length",
    "patch_length",
    "backbone",
    "d_model",
    "num_hidden_layers",
    "num_attention_heads",
    "num_channel_attention_heads",
    "ffn_dim",
    "activation_function",
    "attention_type",
    "norm_type",
    "norm_eps",
    "cnn_channels",
    "cnn_kernel_size",
    "cnn_strides",
    "cnn_activation",
)


def model_fields(contract: CiTrusConfig) -> dict[str, Any]:
    """The `MODEL_FIELDS` of an arm's config (`prepare()`'s "contract": the CiTrus and PatchTST arms')."""
    values = contract.to_dict()
    return {name: values.get(name) for name in MODEL_FIELDS}


def model_digest(contract: CiTrusConfig) -> str:
    """A short digest of `model_fields(contract)`: run records keep it as `model`, and the report pairs a pre-trained
    arm with its from-scratch twin only where the two agree."""
    text = json.dumps(model_fields(contract), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def loaded_model_overrides(config: ProtocolConfig) -> dict[str, Any]:
    """The user's `config_overrides` that a model loaded from pre-trained weights takes (`LOADED_MODEL_FIELDS`:
    dropouts, head); `ProtocolConfig` names the others, which only the arms without weights take."""
    from ..configuration_citrus import LOADED_MODEL_FIELDS

    return {key: value for key, value in config.config_overrides.items() if key in LOADED_MODEL_FIELDS}


def arms_with_weights(config: ProtocolConfig) -> list[str]:
    """The chosen CiTrus arms that start from weights not built by this protocol (bundled, or `--checkpoints`): they
    take only `loaded_model_overrides` of the user's overrides, the arms pre-trained here take them all."""
    return [
        name
        for name in config.arms
        if isinstance(ARMS[name], CiTrusArm)
        and ARMS[name].pretrained
        and (ARMS[name].bundled is not None or name in config.checkpoints)
    ]


def resolve_model_config(model_config: str) -> str:
    """A model config reference as `build_config` reads it: bundled checkpoint names become their folders (unless a
    local folder has the name)."""
    from .._bundled import folder_if_bundled

    return folder_if_bundled(model_config)


# ------------------------------------------------------------------------------------------------------ PatchTST


@dataclass
class PatchTSTArm(Arm):
    """transformers' PatchTST of the CiTrus size, fine-tuned with the fine-tuning recipe (its own way of fitting:
    it has no frozen-feature read-out worth the name), from random weights or pre-trained here likewise."""

    name: str
    description: str
    pretrained: bool = False
    network = True
    scratch_counterpart: str | None = None

    @property
    def pretrainable(self) -> bool:  # type: ignore[override]
        return self.pretrained

    @property
    def weighs_classes(self) -> bool:  # type: ignore[override]
        return True  # (a property, as `CiTrusArm.weighs_classes`)

    def prepare(self, context, checkpoint):
        from ..data.alignment import with_input_overrides
        from ..loading import build_config

        config = context.config
        contract = build_config(resolve_model_config(config.model_config), **config.config_overrides)
        contract = with_input_overrides(contract, context.overrides)
        return {
            "contract": contract,
            "checkpoint": checkpoint if self.pretrained else None,
            # PatchTST's position embedding fixes its input length to the context
            "aligned": context.align(contract, padding="max_length"),
            "alignment": context.alignment_for(contract),
        }

    def run(self, context, prepared, chosen, seed, run_dir) -> dict[str, Any]:
        from transformers import set_seed

        from ..training.finetune import init_regression_bias
        from ..training.metrics import classification_metrics, regression_metrics
        from .baselines import PatchTSTCollator, build_patchtst_task_model, patchtst_predict, regression_head

        splits, contract = context.splits, prepared["contract"]
        pool, validation, scored = prepared["aligned"]
        set_seed(seed)
        num_labels = len(splits.label_names) if splits.label_names else None
        model = build_patchtst_task_model(
            splits.task, splits.num_channels, contract, num_labels, prepared["checkpoint"]
        )
        if splits.task == REGRESSION:
            init_regression_bias(regression_head(model), context.pool_labels[chosen])
        # weighted and early-stopped as the CiTrus arms are, or the paired gaps compare two weightings: the weighted
        # loss (`--class-weight`) is the Trainer's, which takes the batch's `labels` from the model for it
        fitting, options = fitting_options(context, chosen, validation)
        label_name = "labels" if "class_weights" in options else "target_values"
        collator = PatchTSTCollator(splits.task, contract.patch_length, label_name)
        settings = replace(context.config.finetune, seed=seed, show_progress=False)
        outcome = RECIPES["finetune"].fit(
            model,
            pool.select(chosen),
            fitting,
            splits.task,
            settings,
            run_dir,
            collator,
            collator.label_names,
            **options,
        )
        outputs = patchtst_predict(outcome.model, scored, collator)
        labels = column_array(scored, "labels")
        test = (
            classification_metrics(outputs, labels)
            if splits.task == CLASSIFICATION
            else regression_metrics(outputs[:, 0], labels)
        )
        return {
            "test": test,
            "test_outputs": outputs,
            "steps": outcome.steps,
            "best_step": outcome.best_step,
            "recipe": "finetune",
        }


# ----------------------------------------------------------------------------------------------------- MiniRocket


@dataclass
class MiniRocketArm(Arm):
    """MiniRocket + ridge with internal cross-validation (aeon's `MiniRocketClassifier` / `MiniRocketRegressor`, as
    a practitioner would fit them) on the recordings at their own rate and length: the classical answer the
    foundation model has to beat. With `normalized` (the reference arm) each window is normalised as the CiTrus arms'
    input is for the set (`DatasetContext.overrides`: the training pool's per-channel mean and std, or per-window
    z-scores), so channels in different units weigh alike in its multichannel kernels, as a practitioner standardises
    them; without it, the raw values. Recordings of different lengths are zero-padded at the end to the longest of
    the training pool and the scored split together: aeon's MiniRocket takes only equal-length series, and scores only
    the length it was fitted on. This matches the CiTrus arms, which pad every split to one shape too (the longest
    recording's duration, `aligned_length`); their padding is masked, MiniRocket's is zeros, which its pooled
    features (proportions of positive values, per kernel and dilation) take as signal, as aeon's own `Padder` does.
    Under `--nan-policy interpolate` a row's NaN padding (NaN in every channel at its start or end: rows of several
    durations stacked into one array) is left out first, as the CiTrus arms' extractor leaves it out, so it is
    zero-padded as a shorter recording is, not filled with its last value."""

    name: str
    description: str
    normalized: bool = True
    optional_modules: tuple[str, ...] = ("aeon",)

    @property
    def weighs_classes(self) -> bool:  # type: ignore[override]
        return True  # (a property, as `CiTrusArm.weighs_classes`)

    def prepare(self, context, checkpoint):
        from .baselines import padded_to_common_length, raw_windows

        nan_policy = context.config.nan_policy
        splits = context.splits
        normalization = context.overrides if self.normalized else None
        pool, scored = padded_to_common_length(
            raw_windows(splits.train, nan_policy=nan_policy, normalization=normalization, **_naming(splits, "train")),
            raw_windows(
                context.scored(),
                nan_policy=nan_policy,
                normalization=normalization,
                **_naming(splits, context.score_split),
            ),
        )
        return {"pool": pool, "scored": scored}

    def run(self, context, prepared, chosen, seed, run_dir) -> dict[str, Any]:
        from ..training.metrics import classification_metrics, regression_metrics
        from .baselines import fit_minirocket

        labels = context.pool_labels[chosen]
        classification = context.task == CLASSIFICATION
        num_classes = context.num_classes if classification else None
        # `--class-weight balanced` weighs the classes in the ridge as in the CiTrus arms' recipes: the gap to
        # MiniRocket compared a balanced CiTrus with a MiniRocket that kept the draw's imbalance
        weighting = "balanced" if classification and context.config.class_weight == "balanced" else None
        outputs = fit_minirocket(
            prepared["pool"][chosen],
            labels,
            prepared["scored"],
            context.task,
            seed,
            num_classes,
            class_weight=weighting,
        )
        scored_labels = context.scored_labels()
        if context.task == CLASSIFICATION:
            test = classification_metrics(outputs, scored_labels)
        else:
            test = regression_metrics(outputs, scored_labels)
        return {"test": test, "test_outputs": outputs, "recipe": "ridge-cv"}


# ---------------------------------------------------------------------------------------------------------- prior


@dataclass
class PriorArm(Arm):
    """No model: the labelled subset's mean target (regression) or class frequencies as scores (ties broken towards
    the lowest class index): what a model must beat to have learnt anything from the signal. (A dataclass without
    fields, as the other arms are dataclasses: its copy and its pickle equal it, and it prints as `PriorArm()`.)"""

    name = "prior"
    description = "no model: the labelled subset's mean target / class frequencies"
    learns = False

    def run(self, context, prepared, chosen, seed, run_dir) -> dict[str, Any]:
        from ..training.metrics import classification_metrics, regression_metrics

        train_labels, scored_labels = context.pool_labels[chosen], context.scored_labels()
        if context.task == REGRESSION:
            predictions = np.full(len(scored_labels), float(np.mean(train_labels)))
            return {"test": regression_metrics(predictions, scored_labels), "test_outputs": predictions}
        frequencies = np.bincount(train_labels, minlength=context.num_classes) / len(train_labels)
        scores = np.tile(np.log(frequencies + 1e-12), (len(scored_labels), 1))
        return {"test": classification_metrics(scores, scored_labels), "test_outputs": scores}


# ------------------------------------------------------------------------------------------------- the registry

register_arm(
    CiTrusArm(
        "citrus-small",
        "CiTrus, the bundled pre-trained checkpoint `citrus-small`",
        bundled="citrus-small",
        scratch_counterpart="citrus-scratch",
    )
)
for _objective in PRETRAINING_OBJECTIVES:
    register_arm(
        CiTrusArm(
            f"citrus-{_objective}",
            f"CiTrus pre-trained here with the {_objective!r} objective",
            objective=_objective,
            scratch_counterpart="citrus-scratch",
        )
    )
register_arm(CiTrusArm("citrus-scratch", "CiTrus from random weights, the same recipe", pretrained=False))
register_arm(
    CiTrusArm(
        "citrus-scratch-finetune",
        "CiTrus from random weights, fully fine-tuned (the strongest from-scratch use)",
        pretrained=False,
        recipe="finetune",
    )
)
register_arm(
    CiTrusArm(
        "cnn-pretrained", "CNN stem only, pre-trained (auto-encoder)", backbone="cnn", scratch_counterpart="cnn-scratch"
    )
)
register_arm(CiTrusArm("cnn-scratch", "CNN stem only, from random weights", pretrained=False, backbone="cnn"))
register_arm(
    CiTrusArm(
        "transformer-pretrained",
        "transformer only (linear patches), pre-trained",
        backbone="transformer",
        scratch_counterpart="transformer-scratch",
    )
)
register_arm(
    CiTrusArm("transformer-scratch", "transformer only, from random weights", pretrained=False, backbone="transformer")
)
register_arm(
    PatchTSTArm(
        "patchtst-pretrained",
        "transformers' PatchTST, pre-trained here likewise, fine-tuned",
        pretrained=True,
        scratch_counterpart="patchtst-scratch",
    )
)
register_arm(PatchTSTArm("patchtst-scratch", "transformers' PatchTST from random weights, fine-tuned"))
register_arm(
    MiniRocketArm(
        "minirocket",
        "MiniRocket + ridge (aeon), windows at their own rate normalised as the CiTrus arms' input: the classical "
        "baseline",
    )
)
register_arm(
    MiniRocketArm(
        "minirocket-raw",
        "MiniRocket + ridge (aeon) on the raw values (the baseline of the tables published before 2026-12-04)",
        normalized=False,
    )
)
register_arm(PriorArm())

# The reference every table compares against: the classical method a practitioner would use.
CLASSICAL_BASELINE = "minirocket"
# The arms citrus-hf registers itself: their run signatures hold what their runs depend on already (recipe, weights,
# model changes) and stay those recorded before arms had fingerprints; anyone else's arm adds its `fingerprint()`.
_PACKAGE_ARMS = dict(ARMS)


def arm_fingerprint(name: str) -> dict[str, Any]:
    """What the runs of the registered arm `name` depend on beyond the protocol's settings, for its run signature:
    {} for citrus-hf's own arms, the checked `Arm.fingerprint()` of any other."""
    if ARMS[name] is _PACKAGE_ARMS.get(name):
        return {}
    return checked_fingerprint(ARMS[name], f"arm {name!r}")


__all__ = [
    "ARMS",
    "CLASSICAL_BASELINE",
    "MODEL_FIELDS",
    "Arm",
    "CiTrusArm",
    "DatasetContext",
    "MiniRocketArm",
    "PatchTSTArm",
    "PriorArm",
    "arm_fingerprint",
    "arms_with_weights",
    "loaded_model_overrides",
    "model_digest",
    "model_fields",
    "register_arm",
]
