"""Configuration of CiTrus fusion models: one CiTrus encoder per named modality, pooled embeddings concatenated.

The configuration holds one complete `CiTrusConfig` per modality (its own sampling rate, window, channels and
architecture), so a saved fusion checkpoint is as self-describing as a single CiTrus checkpoint, and every encoder can
be rebuilt from it on its own. transformers' composite configs (`sub_configs_defaults`) name their sub-configs with
fixed attributes (`text_config`, `vision_config`); here the modalities are chosen by the user, so they live in one
dictionary, `modality_configs`, serialised and restored by this class.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from huggingface_hub.dataclasses import strict
from torch import nn
from transformers.configuration_utils import PreTrainedConfig

from .configuration_citrus import (
    ChecksSaveDirectory,
    CiTrusConfig,
    CustomPipelines,
    ReadsVersionRecord,
    SerialisesBeforeWriting,
    as_finite_real,
    as_integer,
    building_from_dict,
    check_classification_head,
    check_config_dtype,
    check_initializer_range,
    check_misspelt_fields,
    check_num_labels,
    class_label_keywords,
    config_field_names,
    config_value,
    custom_pipelines_entry,
    derived_setting,
    drop_auto_dtype,
    field_hint,
    is_building_from_dict,
    is_saved_config_dict,
    lookup_checkpoint,
    misspelt_names,
    raise_plain_validation_errors,
    reconcile_label2id,
    record_head_keywords,
    refuse_second_run,
    set_class_names,
    settle_class_labels,
    settled_class_names,
    target_names_of,
    without_stale_target_names,
)
from .vocabulary_citrus import FUSION_MODEL_TYPE, UnknownNameError, as_bool

refuse_second_run(globals())  # before anything is defined: see its docstring


def _check_extra_keywords(config_class: type[PreTrainedConfig], extra: Mapping[str, Any]) -> None:
    """Refuse keyword arguments that are no fusion config field but a misspelt one (`check_misspelt_fields`) or the
    setting of one modality's encoder (`sampling_rate=250`, or another model's name for one, `sample_rate=250`): the
    config keeps unknown keyword arguments as extra attributes, so the encoders kept their own rates without a word.
    Those belong to each modality's config."""
    check_misspelt_fields(config_class, extra)
    per_modality = config_field_names(CiTrusConfig) - config_field_names(config_class)
    exact = [name for name in extra if name in per_modality]
    close = misspelt_names(extra, per_modality)
    if exact or close:
        named = [repr(name) for name in exact] + [field_hint(name, per_modality) for name in close]
        raise ValueError(
            f"{', '.join(named)} {'are settings' if len(named) > 1 else 'is a setting'} of each modality's encoder, "
            f"not of {config_class.__name__}: give {'them' if len(named) > 1 else 'it'} in `modality_configs` (e.g. "
            "modality_configs={'ecg': {'sampling_rate': 250, ...}, ...})."
        )


# Modality names become module names (`encoders.<name>`) and keys of the processor's output: plain identifiers.
_MODALITY_NAME = re.compile(r"^[A-Za-z0-9_]+$")
# Names that `nn.ModuleDict` already uses as attributes (`type`, `float`, `keys`, `training`, ...): a modality so
# named could not be a module of the model (torch: "attribute 'type' already exists").
_RESERVED_MODALITY_NAMES = frozenset(name for name in dir(nn.ModuleDict) if not name.startswith("_")) | {"training"}
# Keys of a serialised sub-config that describe where and how it was saved, not the encoder.
_SUB_CONFIG_METADATA = ("model_type", "transformers_version", "_name_or_path")


@strict
class CiTrusFusionConfig(ReadsVersionRecord, ChecksSaveDirectory, SerialisesBeforeWriting, PreTrainedConfig):
    r"""
    Configuration of `CiTrusFusionForSequenceClassification` and `CiTrusFusionForRegression`: one CiTrus encoder per
    modality, each with its own input contract, their pooled embeddings concatenated, and a linear head on top
    ("foundation models + simple fusion", arXiv 2512.15250).

    Args:
        modality_configs (`dict[str, CiTrusConfig | dict]`): the encoder of every modality, e.g.
            `{"ecg": CiTrusConfig(sampling_rate=100, context_length=1000), "eda": CiTrusConfig(sampling_rate=20, ...)}`.
            Names are letters, digits and underscores. Embeddings are concatenated in sorted name order
            (`config.modalities`), so the order of the dictionary does not matter and survives a JSON round trip.
            Each encoder pools its output with its own `pooling` / `channel_pooling` / `head_features`.
        normalize_embeddings (`bool`, defaults to `True`): apply a LayerNorm to every modality's pooled embedding
            before concatenation, so that no modality dominates the head through the scale of its features.
        head_dropout (`float`, defaults to 0.1): dropout on the concatenated embedding.
        num_targets (`int`, defaults to 1): outputs of `CiTrusFusionForRegression`.
        num_labels / id2label / problem_type: as in transformers, for `CiTrusFusionForSequenceClassification`.
        initializer_range (`float`, defaults to 0.02): standard deviation of the head's initial weights.

    Example:

    ```python
    >>> from citrus_hf import CiTrusConfig
    >>> from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    >>> config = CiTrusFusionConfig(
    ...     modality_configs={
    ...         "ecg": CiTrusConfig(sampling_rate=100, context_length=1000),
    ...         "eda": CiTrusConfig(sampling_rate=20, context_length=200, patch_length=10, spectrogram_n_fft=20),
    ...     },
    ...     num_labels=2,
    ... )
    >>> config.modalities
    ['ecg', 'eda']

    ```
    """

    model_type = FUSION_MODEL_TYPE
    # The package's lookup hooks, as on `CiTrusConfig` (`lookup_checkpoint`): a bundled checkpoint's name -> its
    # folder, and the typo hint; set by `citrus_hf._auto`, None in remote code.
    _checkpoint_locator = None
    _typo_hint = None

    modality_configs: dict[str, CiTrusConfig | dict] | None = None
    normalize_embeddings: bool = True
    head_dropout: float | int = 0.1
    num_targets: int = 1
    initializer_range: float = 0.02

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs) -> CiTrusFusionConfig:
        """`PreTrainedConfig.from_dict`, with the fusion fields among `kwargs` (`from_pretrained(path,
        head_dropout=0.2, modality_configs={"ecg": {"sampling_rate": 250}})`) given to the constructor, so that they
        are checked and every sub-config is a `CiTrusConfig` (transformers would set them afterwards, unchecked).

        `modality_configs` given this way updates the saved one, as transformers updates a sub-config given as a
        dict: a modality given as a dict keeps its saved settings except the keys given, one given as a `CiTrusConfig`
        replaces its saved one, and the modalities not named keep theirs.
        """
        drop_auto_dtype(kwargs)
        class_label_keywords(kwargs)
        config_dict = cls.without_version_record(config_dict)  # the citrus-hf that wrote it: no setting
        own_fields = cls.__dict__.get("__annotations__", {})
        overrides = {name: kwargs.pop(name) for name in list(kwargs) if name in own_fields}
        saved = config_dict.get("modality_configs")
        given = overrides.get("modality_configs")
        if is_saved_config_dict(config_dict) and isinstance(saved, Mapping):
            # each encoder's input contract, as a single-modality config.json's (`CiTrusConfig.from_dict`): the
            # sub-config is rebuilt with `CiTrusConfig(**values)`, where a missing field would take its default
            for name, values in saved.items():
                if isinstance(values, Mapping):
                    stated = given.get(name) if isinstance(given, Mapping) else None
                    CiTrusConfig.check_saved_contract(
                        values, stated if isinstance(stated, Mapping) else (), "config.json", modality=name
                    )
        if isinstance(saved, Mapping) and isinstance(given, Mapping):
            merged = dict(saved)
            for name, value in given.items():
                if isinstance(value, Mapping) and isinstance(saved.get(name), Mapping):
                    merged[name] = {**saved[name], **value}
                else:
                    merged[name] = value
            overrides["modality_configs"] = merged
        # a misspelt field (`head_dropot=0.2`) would be dropped without a word, as in `CiTrusConfig.from_dict`
        _check_extra_keywords(cls, kwargs)
        config_dict = without_stale_target_names(config_dict, overrides, kwargs)
        with building_from_dict():
            loaded = super().from_dict({**config_dict, **overrides}, **kwargs)
        config = loaded[0] if isinstance(loaded, tuple) else loaded
        # transformers sets `id2label=` and other inherited keywords after construction: reconcile once they are in
        settled_class_names(config)
        record_head_keywords(config, [*overrides, *kwargs])
        return loaded

    @classmethod
    def unknown_setting_names(cls, config_dict: Mapping[str, Any]) -> list[str]:
        """`ReadsVersionRecord.unknown_setting_names`, with those of every modality's sub-config (`'name' (modality
        'ecg')`): a newer citrus-hf's encoder settings sit there, where only the top-level keys were looked at."""
        names = super().unknown_setting_names(config_dict)
        saved = config_dict.get("modality_configs")
        for modality, values in sorted(saved.items()) if isinstance(saved, Mapping) else ():
            if isinstance(values, Mapping):
                names += [f"{name} (modality {modality!r})" for name in CiTrusConfig.unknown_setting_names(values)]
        return names

    @classmethod
    def get_config_dict(
        cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """`PreTrainedConfig.get_config_dict`, with a mistyped path named as one (transformers: "Repo id must be in the
        form ...") and a single-modality CiTrus checkpoint named as such, also by its bundled name ("citrus-small",
        which transformers looked up on the Hub: offline, "couldn't connect to huggingface.co")."""
        config_dict, kwargs = lookup_checkpoint(cls, super().get_config_dict, pretrained_model_name_or_path, **kwargs)
        if config_dict.get("model_type") == CiTrusConfig.model_type:
            raise ValueError(
                f"{str(pretrained_model_name_or_path)!r} holds a single-modality CiTrus checkpoint (model_type "
                f"'citrus'), not a fusion one. Load it with CiTrusModel.from_pretrained, or build a fusion model "
                "around it: CiTrusFusionForSequenceClassification.from_encoders({'<modality>': path, ...})."
            )
        return config_dict, kwargs

    def __post_init__(self, **kwargs):
        _check_extra_keywords(type(self), kwargs)
        if self.modality_configs is not None and not isinstance(self.modality_configs, Mapping):
            raise TypeError(
                "`modality_configs` is a dict modality name -> CiTrusConfig, e.g. {'ecg': CiTrusConfig(...), 'eda': "
                f"CiTrusConfig(...)}}; got {type(self.modality_configs).__name__}."
            )
        self.normalize_embeddings = as_bool("normalize_embeddings", self.normalize_embeddings)
        self.head_dropout = as_finite_real("head_dropout", self.head_dropout)
        self.initializer_range = as_finite_real("initializer_range", self.initializer_range)
        self.num_targets = as_integer("num_targets", self.num_targets)
        if kwargs.get("num_labels") is not None:
            kwargs["num_labels"] = check_num_labels(kwargs["num_labels"])
        if not is_building_from_dict():  # (`from_dict` records the keywords it was given, not the saved values)
            given = [name for name in ("id2label", "label2id") if getattr(self, name, None) is not None]
            given += ["num_labels"] if kwargs.get("num_labels") is not None else []
            record_head_keywords(self, [*given, *(["num_targets"] if self.num_targets != 1 else [])])
        settle_class_labels(self, kwargs)
        custom_pipelines = kwargs.pop("custom_pipelines", None)
        # as `CiTrusConfig` checks it: transformers takes "int8" and builds integer weights, and fails on "float128"
        # with a bare AttributeError
        check_config_dtype("dtype", self.dtype)
        check_config_dtype("torch_dtype", kwargs.get("torch_dtype"))
        super().__post_init__(**kwargs)
        if custom_pipelines is not None:
            # (as `CiTrusConfig`'s: the package's registered pipeline serves the task where it is installed, and
            # without it the regressor's Auto class is defined in transformers before transformers looks it up)
            self.custom_pipelines = CustomPipelines(custom_pipelines)
        reconcile_label2id(self)

    def __setattr__(self, name: str, value: Any) -> None:
        # The constructor, `from_dict` and a later assignment (`config.modality_configs = {...}`) all come through
        # here: every modality becomes a `CiTrusConfig` at once (a dict is that config's fields, as in the
        # constructor), in sorted order, so that nothing downstream meets a raw dict. Numpy numbers and class names
        # given as bytes are stored as JSON writes them, as in `CiTrusConfig`.
        value = config_value(name, value)
        if name == "modality_configs" and isinstance(value, Mapping):
            value = _ModalityConfigs(value)
        if name == "id2label" and not (value is None or isinstance(value, Mapping)):
            set_class_names(self, value)  # a list of class names, as the single-modality config takes it
        else:
            super().__setattr__(name, value)

    @staticmethod
    def _as_citrus_config(name: str, value: CiTrusConfig | dict) -> CiTrusConfig:
        if isinstance(value, CiTrusConfig):
            return value
        if isinstance(value, PreTrainedConfig):
            raise TypeError(
                f"modality {name!r}: a CiTrus fusion model fuses CiTrus encoders, got a {type(value).__name__}; pass "
                "a CiTrusConfig (or its dict)."
            )
        if not isinstance(value, Mapping):
            raise TypeError(
                f"modality {name!r}: expected a CiTrusConfig (or its dict), got {type(value).__name__} ({value!r})."
            )
        values = dict(value)
        model_type = values.pop("model_type", CiTrusConfig.model_type)
        if model_type != CiTrusConfig.model_type:
            raise ValueError(
                f"modality {name!r}: the sub-config has model_type {model_type!r}, but every encoder of a fusion "
                f"model is a CiTrus encoder (model_type {CiTrusConfig.model_type!r})."
            )
        for key in _SUB_CONFIG_METADATA:
            values.pop(key, None)
        return CiTrusConfig(**values)

    @derived_setting(
        "the names id2label gives a regressor's num_targets outputs", "id2label=[...] (one name per target)"
    )
    def target_names(self) -> list[str] | None:
        """The names of `CiTrusFusionForRegression`'s `num_targets` outputs, as `CiTrusConfig.target_names`."""
        return target_names_of(self)

    @derived_setting("the names of modality_configs", "modality_configs={name: CiTrusConfig(...), ...}")
    def modalities(self) -> list[str]:
        """Modality names in the order their embeddings are concatenated (sorted)."""
        return list(self.modality_configs)

    def validate_modalities(self) -> None:
        """Part of `@strict` validation: at least one modality, usable names, CiTrus sub-configs."""
        if not self.modality_configs:
            raise ValueError(
                "`modality_configs` is required: give one CiTrusConfig per modality, e.g. "
                "modality_configs={'ecg': CiTrusConfig(...), 'eda': CiTrusConfig(...)}, or build the model with "
                "CiTrusFusionForSequenceClassification.from_encoders({'ecg': 'path/to/ecg-checkpoint', ...})."
            )
        for name in self.modality_configs:
            if not isinstance(name, str) or not _MODALITY_NAME.match(name):
                raise ValueError(
                    f"modality name {name!r} is not usable: names become module names and input keys, so they must "
                    "be non-empty and made of letters, digits and underscores (e.g. 'ecg', 'eeg_frontal')."
                )
            if name in _RESERVED_MODALITY_NAMES:
                raise ValueError(
                    f"modality name {name!r} is taken: names become modules of the model, and {name!r} is already "
                    f"an attribute of torch's ModuleDict; choose another (e.g. '{name}_signal')."
                )

    def validate_head(self) -> None:
        """Part of `@strict` validation: head settings."""
        if not 0.0 <= self.head_dropout < 1.0:
            raise ValueError(f"`head_dropout` must lie in [0, 1), got {self.head_dropout}.")
        if self.num_targets < 1:
            raise ValueError(f"`num_targets` must be at least 1, got {self.num_targets}.")
        check_initializer_range(self.initializer_range)
        check_classification_head(self)

    # `PreTrainedConfig` reaches sub-configs through fixed attribute names (`sub_configs_defaults`); the per-modality
    # dictionary needs its own serialisation and its own propagation of the attention implementation.

    @property
    def _attn_implementation(self):
        return self._attn_implementation_internal

    @_attn_implementation.setter
    def _attn_implementation(self, value: str | dict | None):
        PreTrainedConfig._attn_implementation.fset(self, value)
        if value is None:
            return
        for name, sub_config in (self.__dict__.get("modality_configs") or {}).items():
            if isinstance(sub_config, PreTrainedConfig):
                sub_config._attn_implementation = value.get(name, value.get("")) if isinstance(value, dict) else value

    def to_dict(self) -> dict[str, Any]:
        """Serialises the config, every modality's sub-config as a nested dictionary (with its `model_type`)."""
        sub_configs = self.__dict__.get("modality_configs")
        # The base class deep-copies `__dict__`; serialise the sub-configs through their own `to_dict` instead.
        self.__dict__["modality_configs"] = None
        try:
            output = super().to_dict()
        finally:
            self.__dict__["modality_configs"] = sub_configs
        if sub_configs is not None:
            serialised = {}
            for name, sub_config in sub_configs.items():
                values = sub_config.to_dict()
                values.pop("transformers_version", None)
                values.pop("_name_or_path", None)
                serialised[name] = values
            output["modality_configs"] = serialised
        return output

    def modality_config(self, name: str) -> CiTrusConfig:
        """A copy of modality `name`'s `CiTrusConfig` (e.g. to build or save that encoder on its own)."""
        if name not in self.modality_configs:
            raise UnknownNameError(f"No modality {name!r} in this fusion config; its modalities are {self.modalities}.")
        return copy.deepcopy(self.modality_configs[name])


# Each fusion task class's transformers pipeline task, the pipeline class (in `inference/pipelines.py`) that runs it,
# and the Auto class that loads the model for it as remote code (the one its `auto_map` names): the one table
# `citrus_hf`'s `pipeline`, its registration with transformers and a saved checkpoint's `custom_pipelines` read.
FUSION_PIPELINE_TASKS: dict[str, tuple[str, str, str]] = {
    "CiTrusFusionForSequenceClassification": (
        "time-series-fusion-classification",
        "BioSignalFusionClassificationPipeline",
        "AutoModelForSequenceClassification",
    ),
    "CiTrusFusionForRegression": (
        "time-series-fusion-regression",
        "BioSignalFusionRegressionPipeline",
        "AutoModelForTimeSeriesRegression",
    ),
}


def fusion_custom_pipelines_for(architecture: str) -> CustomPipelines:
    """The `custom_pipelines` entry of a fusion checkpoint saved from the class `architecture` (empty for a class
    without a pipeline), in the format transformers' `Pipeline.save_pretrained` writes: `transformers.pipeline(model=
    folder, trust_remote_code=True)` then runs the fusion pipeline saved beside the weights where citrus_hf is not
    installed, as it runs a single-modality checkpoint's (`configuration_citrus.custom_pipelines_for`)."""
    if architecture not in FUSION_PIPELINE_TASKS:
        return CustomPipelines()
    return custom_pipelines_entry(*FUSION_PIPELINE_TASKS[architecture])


# How a fusion model takes a modality's data with another channel count than its head concatenates: the fusion model's
# own error and its processor's (`{channels}`: the data's count; `name`, `checkpoint`: the user's).
FUSION_CHANNEL_COUNT_FIX = (
    "build the fusion model with an encoder for {channels} channels: "
    "`from_encoders({{..., name: CiTrusModel.from_pretrained(checkpoint, num_channels={channels})}}, ...)`."
)


def check_modality_names(given: Iterable[Any], modalities: Sequence[str], what: str) -> None:
    """Refuse the modality names `given` for `what` (`input_values`, `recordings`, `sampling_rate`) unless they are
    exactly `modalities`, in one line that names the missing ones and the unknown ones, each unknown one with the
    modality it may be a misspelling of (`ekg` for `ecg`): the processor and the models share it.

    Raises:
        ValueError: a modality is missing or unknown.
    """
    given = set(given)
    missing = [m for m in modalities if m not in given]
    unknown = sorted(str(m) for m in given if m not in modalities)
    if not (missing or unknown):
        return
    problems = [f"missing {missing} (the model needs every modality)"] if missing else []
    if unknown:
        # a misspelling most likely stands for a modality that is missing; else for any modality
        candidates = missing or list(modalities)
        guesses = []
        for name in unknown:
            close = difflib.get_close_matches(name, candidates, 1)
            if not close and len(unknown) == len(missing) == 1:
                close = missing  # one unknown name given for the one missing modality: that one, however spelt
            guesses += [f"{close[0]!r} for {name!r}"] if close else []
        guess = f"did you mean {', '.join(guesses)}? " if guesses else ""
        problems.append(f"unknown {unknown} ({guess}check the spelling, or use a model with those modalities)")
    raise ValueError(f"`{what}` must name exactly the modalities {list(modalities)}: " + "; ".join(problems) + ".")


def modality_keywords(
    given: Any, kwargs: dict[str, Any], modalities: list[str], name: str, options: Collection[str] = ()
) -> Any:
    """`given` (the dict modality -> values), or, when it is None, the modalities given as keywords (`ecg=...`),
    taken out of `kwargs`: the processor and the models take both forms, as transformers' multimodal processors take
    `text=` / `images=`. Both at once, or neither, is refused in one line with the dict form.

    In the keyword form with a modality missing, every other keyword of `kwargs` that is none of the call's
    `options` (and not None) is taken for a misspelt modality (`ekg=` for `ecg=`) and named with the missing ones
    (`check_modality_names`): otherwise only the missing modality was named, or the keyword blamed as an unexpected
    option. With every modality given, such keywords are left in `kwargs` for the caller's own check.
    """
    keywords = {modality: kwargs.pop(modality) for modality in modalities if modality in kwargs}
    example = f"{name}={{{', '.join(repr(m) + ': ...' for m in modalities)}}}"
    if given is not None and keywords:
        raise TypeError(
            f"Give the modalities either as one dict ({example}) or as keywords "
            f"({', '.join(m + '=...' for m in modalities)}), not both: got `{name}` and {sorted(keywords)}."
        )
    if given is not None:
        return given
    # (a wrapper's defaults, peft's `input_ids=None`, are no modality)
    strays = [key for key, value in kwargs.items() if key not in options and value is not None]
    if len(keywords) < len(modalities) and strays:
        check_modality_names([*keywords, *strays], modalities, name)
    if not keywords:
        raise TypeError(
            f"No {name} given: pass one dict modality -> values ({example}), or one keyword per modality "
            f"({', '.join(m + '=...' for m in modalities)})."
        )
    return keywords


raise_plain_validation_errors(CiTrusFusionConfig)  # a bad value is a ValueError, as for CiTrusConfig


class _ModalityConfigs(dict):
    """`modality_configs` as stored: modality name -> `CiTrusConfig`, in sorted name order. A dict given for one
    modality (`config.modality_configs["ecg"] = {...}`, or the whole mapping) becomes its `CiTrusConfig` when it is
    set, with the constructor's checks."""

    def __init__(self, values: Mapping = (), /, **more):
        super().__init__()
        self.update(values, **more)

    def __setitem__(self, name: str, value: CiTrusConfig | dict) -> None:
        config = CiTrusFusionConfig._as_citrus_config(name, value)
        if name in self:
            super().__setitem__(name, config)
            return
        # a new modality: keep the names sorted (embeddings are concatenated in this order)
        items = sorted([*self.items(), (name, config)], key=lambda item: str(item[0]))
        super().clear()
        super().update(items)

    def update(self, values: Mapping = (), /, **more) -> None:
        for name, value in (*dict(values).items(), *more.items()):
            self[name] = value

    def setdefault(self, name: str, default: CiTrusConfig | dict | None = None) -> CiTrusConfig:
        if name not in self:
            self[name] = default
        return self[name]

    def __ior__(self, values: Mapping):
        self.update(values)
        return self

    def __reduce__(self):
        # pickle / deepcopy rebuild through the constructor (the items are CiTrusConfigs already)
        return (type(self), (dict(self),))


CiTrusFusionConfig.register_for_auto_class()

__all__ = ["FUSION_PIPELINE_TASKS", "CiTrusFusionConfig", "fusion_custom_pipelines_for"]
