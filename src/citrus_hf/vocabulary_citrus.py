"""The names a CiTrus configuration chooses from (backbones, objectives, poolings, ...), in a module of plain Python.

`configuration_citrus` imports them from here and checks its fields against them; light modules (the command line's
option help, the evaluation's arm registry) read them without importing torch or transformers, so that `citrus
pretrain --help` answers in about a second. `trust_remote_code=True` users get this file with the configuration, as
one of its relative imports.

It also holds `as_bool`, the one check of a True / False option, `as_sampling_rate`, the one check of a rate in Hz, the one table of the units a recording's channels
are declared in (`canonical_unit`, `unit_factor`) and the one rule of every registry for a name registered again
(`redefines`): every layer (the model files, the settings that `--help` reads without torch) may import this module,
and nothing lower.
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import Any, Literal, get_args

# `model_type` of the single-modality and the fusion configurations: modules that must tell a checkpoint's family from
# its config.json without importing the fusion files (the model file ships as remote code without them) read it here.
CITRUS_MODEL_TYPE = "citrus"
FUSION_MODEL_TYPE = "citrus_fusion"
# What a labelled set is for (which head, which metrics): modules compare against these names, not the strings, so a
# misspelt task is an undefined name that ruff and Python report instead of a silent else-branch.
CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)
BACKBONES = ("hybrid", "cnn", "transformer")
PRETRAINING_OBJECTIVES = ("time", "spectrogram", "fourier", "time_frequency")
MASK_MODES = ("per_channel", "shared", "per_modality")
HEAD_FEATURES = ("context", "encoded", "all_layers")
# What the feature extractor does with NaN / inf samples: refuse the recording, or fill them linearly.
NAN_POLICIES = ("raise", "interpolate")
# The inference paths of the pipelines (`inference.backends.BACKENDS`, spelt out there: that file travels as remote
# code; a test keeps them equal), for options read without importing torch (`citrus predict --backend`).
INFERENCE_BACKENDS = ("auto", "torch", "bf16", "onnxruntime")
# The mixed precisions a training command runs (`--mixed-precision`, or Accelerate's launch setting): autocast to bf16
# or fp16, or none. Read by `training.settings` (the options, without torch or transformers) and `training.launch`.
MixedPrecision = Literal["no", "bf16", "fp16"]
MIXED_PRECISIONS: tuple[str, ...] = get_args(MixedPrecision)
# The lags, in patches, at which "mean_max_std_dynamics" pools each token dimension's autocorrelation: 1 to 12
# patches are 0.1-1.2 s at citrus-small's 0.1 s patches, up to a slow heart beat's period (measured against lags 1, 3
# and 9 on the protocol's validation splits; see `training.recipes`).
AUTOCORRELATION_LAGS: tuple[int, ...] = tuple(range(1, 13))
# Each pooling over patches and how many statistics per token dimension it puts side by side.
POOLING_STATISTICS = {
    "mean": 1,
    "cls": 1,
    "max": 1,
    "mean_max": 2,
    "mean_max_std": 3,
    # mean, max, standard deviation, the root mean square of the step from one patch to the next, and the
    # autocorrelation at each of `AUTOCORRELATION_LAGS`
    "mean_max_std_dynamics": 4 + len(AUTOCORRELATION_LAGS),
}
POOLINGS = tuple(POOLING_STATISTICS)
CHANNEL_POOLINGS = ("concat", "mean")
NORMALIZATIONS = ("zscore", "none", "fixed")
NORM_TYPES = ("layernorm", "batchnorm")
ATTENTION_TYPES = ("channel_independent", "criss_cross")
# The classes without a task head (`modeling_citrus`): their checkpoints are the encoder, for any channel count.
ENCODER_ARCHITECTURES = ("CiTrusModel", "CiTrusForPretraining")
# transformers' `problem_type`s; a regressor's is spelt as its task.
PROBLEM_TYPES = (REGRESSION, "single_label_classification", "multi_label_classification")
# peft's file names for an adapter (`peft.utils.constants`), spelt here so that layers below training (loading, the
# pipelines' registration) recognise an adapter folder without importing peft; a test keeps them equal.
ADAPTER_CONFIG_NAME = "adapter_config.json"
ADAPTER_WEIGHTS_NAME = "adapter_model.safetensors"
# The columns transformers' data collators hand a model as its `labels` (`label` and `label_ids` renamed): where the
# Trainer's checks and the padding collator look for a set's labels.
COLLATED_LABEL_COLUMNS = ("labels", "label", "label_ids")
# The ONNX graph in `citrus export --output-dir`'s deployment folder, as optimum names its export; `from_pretrained`
# recognises such a folder by it and says it holds no PyTorch weights.
DEPLOYED_ONNX_NAME = "model.onnx"
# How a labelled set (fine-tuning, evaluation) is aligned to the model's window (`data.alignment.resolve_alignment`):
# resampled to the model's rate, stretched onto the window, or "auto" (resample, unless that would crop slow series),
# and how it is normalised: with the training split's per-channel statistics, or per window as in pre-training. Here,
# not in `data.alignment` (which imports the feature extractor), so that option parsing checks them without transformers.
TASK_ALIGNMENTS = ("auto", "resample", "interpolate")
DEFAULT_TASK_ALIGNMENT = "auto"
TASK_NORMALIZATIONS = ("dataset", "window")


# AASM's sleep stages, wake first as hypnograms draw it: the labels of a `sleep_edf` stager (Rechtschaffen & Kales'
# stages 3 and 4 joined as N3) and the stages of `citrus predict`'s sleep summary. Wake is the one stage of no sleep.
SLEEP_STAGES: tuple[str, ...] = ("W", "N1", "N2", "N3", "REM")
WAKE_STAGE = "W"
REM_STAGE = "REM"
# The stages of non-REM sleep, one of which a classifier's labels must name to be a sleep stager (`sleep_stages_of`).
NREM_STAGES: tuple[str, ...] = ("N1", "N2", "N3")
# What a sleep vocabulary maps a label of no stage to (movement time, an epoch scored "?", an artifact): its windows
# are neither sleep nor wake, as a window without signal is (AASM's TST leaves them out, its TRT keeps them).
UNSTAGED = "unstaged"
# Labels of no stage that any sleep vocabulary takes (compared in any case): R&K's movement time, Sleep-EDF's
# "Sleep stage ?" and "Movement time", a stager's own "artifact" class. A stager that has one still gets its summary.
UNSTAGED_LABELS: frozenset[str] = frozenset(
    {"?", "Movement", "Movement time", "MT", "Sleep stage ?", "Artifact", "Artefact", "Unscored", "Unknown"}
)
# The label vocabularies of sleep stagers, by name: each label (compared in any case) and the stage of `SLEEP_STAGES`
# (or `UNSTAGED`) it stands for. A classifier whose every label is one of a vocabulary's or of `UNSTAGED_LABELS`, wake
# and an NREM stage among them, is a sleep stager (`sleep_stages_of`); a vocabulary of one's own joins with
# `register_sleep_vocabulary`.
SLEEP_VOCABULARIES: dict[str, dict[str, str]] = {}


def register_sleep_vocabulary(name: str, stages: dict[str, str]) -> None:
    """Register the labels `stages` of sleep stagers as the vocabulary `name`: each label (any case) and its stage of
    `SLEEP_STAGES`, or `UNSTAGED` for a label of no stage (`{"Wake": "W", "Stage 1": "N1", ..., "Noise":
    "unstaged"}`). Registering a name again with the same labels does nothing.

    Raises:
        ValueError: a stage not of `SLEEP_STAGES` (nor `UNSTAGED`), two labels that differ in case only, or a name
            already registered with other labels.
    """
    wrong = sorted({stage for stage in stages.values() if stage not in (*SLEEP_STAGES, UNSTAGED)})
    if wrong:
        raise ValueError(
            f"Sleep vocabulary {name!r}: {', '.join(map(repr, wrong))} is no stage of {', '.join(SLEEP_STAGES)}; map "
            f"each label to one of them (R&K's stages 3 and 4 to N3), or to {UNSTAGED!r} for a label of no stage."
        )
    folded = {label.casefold(): stage for label, stage in stages.items()}
    if len(folded) < len(stages):
        raise ValueError(f"Sleep vocabulary {name!r} names a label twice in different cases; labels match in any case.")
    if name in SLEEP_VOCABULARIES and SLEEP_VOCABULARIES[name] != folded:
        raise ValueError(f"A sleep vocabulary named {name!r} is registered with other labels; give yours another name.")
    SLEEP_VOCABULARIES[name] = folded


def sleep_stages_of(labels: Any) -> dict[str, str] | None:
    """Each of a classifier's `labels` (its `id2label` names) with its stage of `SLEEP_STAGES` (`UNSTAGED` for a
    label of no stage, `UNSTAGED_LABELS` or a vocabulary's own), when they are all labels of one registered sleep
    vocabulary (any case) or of `UNSTAGED_LABELS`, wake and a stage of NREM sleep (`NREM_STAGES`) among them; None
    for any other classifier (one label that is neither, such as "sitting": its time is no sleep statistic; "W" and
    "R" alone, walking and running as often as wake and REM)."""
    labels = [str(label) for label in labels]
    unstaged = {label.casefold() for label in UNSTAGED_LABELS}
    for vocabulary in SLEEP_VOCABULARIES.values():
        stages = {
            label: vocabulary.get(label.casefold(), UNSTAGED if label.casefold() in unstaged else None)
            for label in labels
        }
        chosen = set(stages.values()) - {UNSTAGED}
        # an NREM stage, not any sleep stage: "W" and "R" alone are as often walking and running as wake and REM,
        # and no stager scores REM without NREM
        if None not in chosen and WAKE_STAGE in chosen and chosen & set(NREM_STAGES):
            return stages
    return None


# AASM's names (R or REM; W or Wake), Rechtschaffen & Kales' (stages 1 to 4, S1 to S4; 3 and 4 are N3) and the
# annotations of Sleep-EDF's hypnograms (R&K's, "Sleep stage 4" among them), as a stager trained on them names them
register_sleep_vocabulary("AASM", {"W": "W", "Wake": "W", "N1": "N1", "N2": "N2", "N3": "N3", "R": "REM", "REM": "REM"})
register_sleep_vocabulary(
    "R&K",
    {
        "W": "W", "Wake": "W", "1": "N1", "2": "N2", "3": "N3", "4": "N3", "S1": "N1", "S2": "N2", "S3": "N3",
        "S4": "N3", "R": "REM", "REM": "REM",
    },
)  # fmt: skip
register_sleep_vocabulary(
    "Sleep-EDF",
    {
        "Sleep stage W": "W", "Sleep stage 1": "N1", "Sleep stage 2": "N2", "Sleep stage 3": "N3",
        "Sleep stage 4": "N3", "Sleep stage R": "REM", "Sleep stage N1": "N1", "Sleep stage N2": "N2",
        "Sleep stage N3": "N3",
    },
)  # fmt: skip


# The voltages a recording's channels may be declared in (an EDF header's physical dimension, a WFDB header's units),
# by their canonical spelling, as powers of ten of a volt: a recording in one of them is converted to a checkpoint
# trained on another (`unit_factor`). Megavolts and kilovolts are left out on purpose: no bio-signal is recorded in
# them, and an "MV" in a header is far more likely a mistyped mV than a megavolt, so it is compared as written (and
# refused beside another unit) rather than converted either way.
VOLTAGE_UNITS = {"nV": -9, "\u00b5V": -6, "mV": -3, "V": 0}
# The ways a voltage's SI prefix is written, by the prefix of `VOLTAGE_UNITS` it stands for. Case matters ("M" is
# mega, "m" milli), so no prefix is matched in another case; "u" is micro's ASCII stand-in (EDF's "uV", WFDB's
# "uV", MNE's "uv"), and both Unicode micros count (the micro sign U+00B5 and the Greek mu U+03BC).
_VOLTAGE_PREFIXES = {"n": "n", "u": "\u00b5", "\u00b5": "\u00b5", "\u03bc": "\u00b5", "m": "m", "": ""}


class UnitError(ValueError):
    """A recording whose channel is declared in a unit that cannot be converted to the one expected (per cent where
    a checkpoint was trained on microvolts, or a file of a labelled set beside the set's first file); the message
    names the file or recording, the channel, both units and the fix."""


class UnknownNameError(KeyError):
    """A name looked up among the ones a thing holds that is not one of them (a fusion model's modality, a metric a
    result has not recorded); the message names the ones it holds. A `KeyError`, as a mapping's lookup raises, that
    prints its message as written: a bare `KeyError` prints its argument as a key (`repr`), so every such message
    showed in quotes, with the names' own quotes escaped where the message held both kinds."""

    def __str__(self) -> str:
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


def canonical_unit(unit: Any) -> str:
    """`unit` as units are compared: a voltage in its `VOLTAGE_UNITS` spelling (uV, uv, µv and the Greek μV are all
    µV; mv is mV; "MV" stays "MV"), anything else as written, its surrounding spaces aside; "" for a channel
    whose unit is not declared (None, an empty EDF dimension)."""
    if unit is None:
        return ""
    text = str(unit).strip()
    if text[-1:] in ("V", "v") and text[:-1] in _VOLTAGE_PREFIXES:
        return _VOLTAGE_PREFIXES[text[:-1]] + "V"
    return text


def unit_factor(unit: Any, target: Any) -> float | None:
    """The factor that takes values in `unit` to `target`: 1.0 for one unit in any spelling (`canonical_unit`), a
    power of 1000 between two voltages of `VOLTAGE_UNITS` (1000.0 from mV to µV), None where one cannot be
    converted into the other (per cent and microvolts, or a unit beside an undeclared one)."""
    unit, target = canonical_unit(unit), canonical_unit(target)
    if unit == target:
        return 1.0
    if unit in VOLTAGE_UNITS and target in VOLTAGE_UNITS:
        return 10.0 ** (VOLTAGE_UNITS[unit] - VOLTAGE_UNITS[target])
    return None


# The package these files belong to: "citrus_hf", or transformers' module of a checkpoint's remote code.
_PACKAGE = __name__.rpartition(".")[0]


def redefines(registered: Any, candidate: Any) -> bool:
    """Whether the class or function `candidate` is `registered` defined again, which a registry lets replace its
    entry under the same name: the same module and qualified name, outside this package. A notebook cell run a second
    time (an edit, Run All) or a user's module reloaded defines its classes anew, and was refused by its own first run
    ("already registered"). A name that another definition took, or that the package registers itself, stays
    refused; so does a lambda of other code than the one registered (every lambda's qualified name is `<lambda>`, so
    an edited lambda is told from another one by nothing: give it a `def` name to edit it in place), and anything
    without a qualified name of its own (a `functools.partial`, a callable instance)."""
    module = getattr(registered, "__module__", None)
    if not isinstance(module, str) or module == _PACKAGE or module.startswith(f"{_PACKAGE}."):
        return False
    qualname = getattr(registered, "__qualname__", None)
    if not isinstance(qualname, str):
        # no definition to recognise: a `functools.partial` (whose module is "functools"), a callable instance (its
        # class's module, and no qualified name): two of those under one name replaced each other without a word
        return False
    if (module, qualname) != (getattr(candidate, "__module__", None), getattr(candidate, "__qualname__", None)):
        return False
    if isinstance(qualname, str) and qualname.endswith("<lambda>"):
        # every lambda of a module has this name, so only its code tells one from another: a lambda of the same code
        # is the cell run again; another lambda under a taken name (two in one script) replaced the first silently
        return _code_of(registered) == _code_of(candidate)
    return True


def _code_of(function: Any) -> tuple | None:
    """What a function computes, without where it was written (the line, the file: a notebook cell run again may
    move): its bytecode, constants and names."""
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    return code.co_code, code.co_consts, code.co_names, code.co_varnames


def as_bool(name: str, value: Any) -> bool:
    """`value` as a Python bool: a bool or a numpy bool only, else a TypeError naming the option `name`.

    A string such as "no" or "false" (from a hand-written JSON / YAML dict, `os.environ`, a widget) is truthy: taking
    truthiness would silently mean the opposite of what was written, so it is refused, as are numbers and None. (The
    command line converts its words to bools before they get here.)
    """
    # numpy's bool is no subclass of `bool`; a value can only be one once numpy is imported, and this module must not
    # import it (plain Python, read by `--help` and by remote code)
    numpy = sys.modules.get("numpy")
    if isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_)):
        return bool(value)
    hint = " (text is not read as a bool: write True or False itself)" if isinstance(value, str) else ""
    raise TypeError(f"`{name}` must be True or False, got {value!r} ({type(value).__name__}){hint}.")


def as_list(values: Any) -> list:
    """`values` as a list, a single str being one item: `tags="har"` is the tag "har" and `target_names="hr"` the name
    "hr" (as transformers' `Trainer.create_model_card` and `add_model_tags` take a str), where `list("har")` made "h",
    "a" and "r". None is no item; any other iterable (a tuple, a numpy array, a pandas Index) is read item by item,
    never by its truth value, which numpy and pandas refuse."""
    if values is None:
        return []
    return [values] if isinstance(values, str) else list(values)


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`number` and `noun`, the noun in its `plural` (None: an "s" added) unless the number is one: "1 name",
    "2 names", "0 names", "1 class", "3 classes", for the messages that count what a call gave ("target_names gives
    1 names" read wrong)."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def as_sampling_rate(value: Any, name: str = "sampling_rate") -> float:
    """A sampling rate in Hz as a positive finite float (the one check the config, the feature extractor and the data
    readers share: here, so that a reader checks a rate without importing transformers and torch).

    Raises:
        TypeError: not a number (`'100'`, `True`, None...); ValueError: zero, negative, NaN or infinite.
    """
    message = f"`{name}` must be a positive number of Hz, got {value!r} ({type(value).__name__})."
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(message)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(message)
    return float(value)


__all__ = [
    "ADAPTER_CONFIG_NAME",
    "ADAPTER_WEIGHTS_NAME",
    "ATTENTION_TYPES",
    "AUTOCORRELATION_LAGS",
    "BACKBONES",
    "CHANNEL_POOLINGS",
    "CITRUS_MODEL_TYPE",
    "CLASSIFICATION",
    "DEFAULT_TASK_ALIGNMENT",
    "DEPLOYED_ONNX_NAME",
    "ENCODER_ARCHITECTURES",
    "FUSION_MODEL_TYPE",
    "HEAD_FEATURES",
    "INFERENCE_BACKENDS",
    "MASK_MODES",
    "NORMALIZATIONS",
    "NORM_TYPES",
    "POOLINGS",
    "POOLING_STATISTICS",
    "PRETRAINING_OBJECTIVES",
    "PROBLEM_TYPES",
    "REGRESSION",
    "TASKS",
    "TASK_ALIGNMENTS",
    "TASK_NORMALIZATIONS",
    "VOLTAGE_UNITS",
    "UnitError",
    "UnknownNameError",
    "as_bool",
    "as_sampling_rate",
    "canonical_unit",
    "counted",
    "unit_factor",
]
