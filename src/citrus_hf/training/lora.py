"""LoRA for CiTrus task models with peft: choose the adapted modules, keep the head trainable, save, load and merge
adapters (publishing one is `citrus_hf.publishing.push_adapter_to_hub`).

A CiTrus encoder has three kinds of weight worth adapting: the attention projections (`q_proj`, `k_proj`, `v_proj`,
`o_proj`), the feed-forward layers (`fc1`, `fc2`) and the patch embedding (the CNN stem's `conv1` / `conv2` and its
`projection`, or PatchTST's linear projection). The stem is where a new modality differs most from the pre-training
one (another sampling rate, another spectrum), so it is adapted by default. The task head (`classifier` or
`regressor`) is new for every task: it is trained in full and saved with the adapter (`modules_to_save`).

What LoRA saves depends on width: a rank-r update of a d x d projection costs 2rd of its d^2 weights. On the paper's
model (d_model=64, about 150k parameters) r=8 over the default modules trains 18% of the parameters (r=2: 5.3%,
r=1: 2.8%), where full fine-tuning is cheap anyway; at d_model=512 the same r=8 trains 2.8%.

Why `task_type=None`: peft's `PeftModelForSequenceClassification` (`task_type="SEQ_CLS"`) only knows heads called
`classifier` or `score` (not `CiTrusForRegression.regressor`), appends them to `modules_to_save` a second time, and
calls the model with text-model arguments (`input_ids=None, attention_mask=None, ...`) instead of passing positional
`input_values` through. The plain `PeftModel` forwards every argument unchanged and records the task class in
`adapter_config.json` (`auto_mapping`), so one code path serves every CiTrus task.

An adapter folder written by `save_adapter` holds peft's `adapter_config.json` and `adapter_model.safetensors`, plus
`citrus_task_config.json` (the task model's configuration: classes, channels, head) so that the adapter can be put
back on the pre-training checkpoint it came from, an optional `preprocessor_config.json`, and a model card.

Example:

```python
>>> from citrus_hf import CiTrusConfig, CiTrusForSequenceClassification
>>> from citrus_hf.training.lora import apply_lora, merge_adapter
>>> model = CiTrusForSequenceClassification(CiTrusConfig(context_length=200, num_labels=3))
>>> lora_model = apply_lora(model, r=4, verbose=False)  # train it with transformers.Trainer
>>> merged = merge_adapter(lora_model)  # a plain CiTrusForSequenceClassification again

```
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import json
import math
import numbers
import operator
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huggingface_hub import constants as hub_constants
from huggingface_hub.constants import REPOCARD_NAME
from huggingface_hub.errors import IncompleteSnapshotError, LocalEntryNotFoundError
from peft import LoraConfig, PeftModel, get_peft_model, get_peft_model_state_dict
from peft.tuners.tuners_utils import BaseTunerLayer
from safetensors import safe_open
from torch import nn
from transformers.utils import FEATURE_EXTRACTOR_NAME, logging

from .._dependencies import private_attribute
from ..configuration_citrus import (
    CiTrusConfig,
    check_save_directory,
    hub_file_shown,
    hub_source_shown,
    is_real_number,
)
from ..feature_extraction_citrus import CiTrusFeatureExtractor
from ..loading import hub_repo_id, read_json_object, revision_argument
from ..modeling_citrus import (
    _ADAPTER_HEADS,
    ADAPTER_TASK_CONFIG_NAME,
    PEFT_METHOD_NAMES,
    _adapter_head,
    _channel_settings_hint,
    _checkpoint_file,
    _hub_source_kwargs,
    _pooled_width,
    _pruned_pairs,
    _refuse_other_head_settings,
    adapter_output_names,
    check_saved_sizes,
    forget_adapter_output_names,
    output_names_of,
    record_adapter_output_names,
    recorded_adapter_output_names,
    show_adapter_output_names,
)
from ..vocabulary_citrus import ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, FUSION_MODEL_TYPE, REGRESSION, as_bool
from .trainer import unloadable_adapter_problem

if TYPE_CHECKING:
    from transformers import PreTrainedModel

    from ..feature_extraction_citrus import CiTrusFeatureExtractor

logger = logging.get_logger(__name__)

# The task model's config (not `config.json`: transformers would then take the adapter folder for a full checkpoint).
TASK_CONFIG_NAME = ADAPTER_TASK_CONFIG_NAME  # the model file refuses such folders in the Auto classes
# The adaptable modules of the encoder, by their names under the backbone (`citrus.` in a task model).
_ATTENTION_PATTERN = r"encoder\.layers\.\d+\.attention\.[qkvo]_proj"
_FFN_PATTERN = r"encoder\.layers\.\d+\.ffn\.fc[12]"
_PATCH_EMBEDDING_PATTERN = r"patch_embedding\.(blocks\.\d+\.conv[12]|projection)"
_PATCH_PROJECTION_PATTERN = r"patch_embedding\.projection"  # the patch embedding's Linear layer alone
_SUPPORTED_LAYERS = (nn.Linear, nn.Conv1d)


def _head_name(model: nn.Module) -> str | None:
    """The task head's attribute name (`classifier`, `regressor`), or None if `model` is no CiTrus task model."""
    config = getattr(model, "config", None)
    if getattr(config, "model_type", None) != CiTrusConfig.model_type:
        return None
    name = getattr(type(model), "head_name", None)
    return name if isinstance(name, str) and isinstance(getattr(model, name, None), nn.Module) else None


def _check_task_model(model: nn.Module, action: str, adapter_arguments: str | None = None) -> str:
    """The task head's name of `model`, a CiTrus task model without peft adapters, else an error naming the fix.
    `adapter_arguments`: the adapter being loaded, when loading one, as the arguments of a load call
    (`_AdapterSource.arguments`: a Hub adapter's `subfolder=` and `revision=` included): a model that already carries
    an adapter loads a second one with peft's own `load_adapter`, not with `add_adapter`, which makes a new untrained
    one."""
    if not isinstance(model, nn.Module):  # a name or path given where the loaded model belongs: no `.modules()`
        raise TypeError(_not_a_task_model_message(model, action))
    # `get_peft_model` adapts the model it is given in place: the model object a user adapted before carries the
    # adapter layers while not being the `PeftModel` it returned (apply_lora called twice on the same object said no
    # module matched `target_modules=[]`, since the adapted layers are no plain Linear / Conv1d any more)
    if isinstance(model, PeftModel) or any(isinstance(module, BaseTunerLayer) for module in model.modules()):
        if adapter_arguments is not None:
            raise ValueError(
                f"Cannot {action}: the model already carries peft adapters. Load the saved adapter beside them with "
                f"`peft_model.load_adapter({adapter_arguments}, adapter_name='second')` and select it with "
                "`peft_model.set_adapter('second')`, or merge the model's adapter first (`merge_adapter`)."
            )
        raise ValueError(
            f"Cannot {action}: the model already carries peft adapters (the model given to `apply_lora` or "
            "`get_peft_model` is adapted in place, so it carries them as well as the `PeftModel` returned). Merge them "
            "first (`merge_adapter`) or add another adapter with `peft_model.add_adapter(name, config)`."
        )
    head_name = _head_name(model)
    if head_name is None and getattr(getattr(model, "config", None), "model_type", None) == FUSION_MODEL_TYPE:
        fusion_head = getattr(type(model), "head_name", None) or "classifier"
        raise TypeError(
            f"Cannot {action}: these helpers adapt single-modality CiTrus task models, and {type(model).__name__} is a "
            "fusion model; use peft on it directly, which adapts every encoder at once: `get_peft_model(model, "
            "LoraConfig(r=8, target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj'], "
            f"modules_to_save=['{fusion_head}']))`."
        )
    if head_name is None:
        raise TypeError(_not_a_task_model_message(model, action))
    return head_name


def _not_a_task_model_message(model: Any, action: str) -> str:
    """What to do with `model`, which is no CiTrus task model: load one (from `model` itself when it is a path or
    name, as `apply_lora("citrus-small")` gives one)."""
    named = isinstance(model, (str, os.PathLike))
    return (
        f"Cannot {action}: LoRA here adapts CiTrus task models (CiTrusForSequenceClassification, "
        f"CiTrusForRegression), got {f'the {type(model).__name__} {str(model)!r}' if named else type(model).__name__}. "
        "Load a pre-trained checkpoint into a task class first, e.g. `CiTrusForSequenceClassification."
        f"from_pretrained({repr(str(model)) if named else 'path'}, num_labels=4)`."
    )


def default_target_modules(model: nn.Module, include_cnn: bool = True, include_ffn: bool = True) -> list[str]:
    """Full names of the modules LoRA adapts by default in a CiTrus model.

    Always the attention projections (`q_proj`, `k_proj`, `v_proj`, `o_proj` of every layer), plus the feed-forward
    layers (`fc1`, `fc2`) with `include_ffn`, plus the patch embedding with `include_cnn`: the CNN stem's `conv1` /
    `conv2` (nn.Conv1d) and its `projection`, or the linear projection of `backbone="transformer"`. Only the
    encoder (`citrus.*` in a task model) is searched, so the pre-training decoder's convolutions never match, and the
    list fits every backbone: `"cnn"` has no attention or feed-forward layers, `"transformer"` no convolutions.

    Args:
        model: a CiTrus task model (`CiTrusForSequenceClassification`, `CiTrusForRegression`) or `CiTrusModel`.
        include_cnn: adapt the patch embedding.
        include_ffn: adapt the feed-forward layers.

    Returns:
        Module names such as `"citrus.encoder.layers.0.attention.q_proj"`, in model order; empty when nothing
        applies (e.g. `backbone="cnn"` with `include_cnn=False`).
    """
    if getattr(getattr(model, "config", None), "model_type", None) != CiTrusConfig.model_type:
        raise TypeError(f"default_target_modules expects a CiTrus model, got {type(model).__name__}.")
    patterns = [_ATTENTION_PATTERN]
    if as_bool("include_ffn", include_ffn):
        patterns.append(_FFN_PATTERN)
    if as_bool("include_cnn", include_cnn):
        patterns.append(_PATCH_EMBEDDING_PATTERN)
    prefix = "citrus\\." if isinstance(getattr(model, "citrus", None), nn.Module) else ""
    selected = re.compile(prefix + "(" + "|".join(patterns) + ")")
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, _SUPPORTED_LAYERS) and selected.fullmatch(name)
    ]


def _matches(target_modules: str | Sequence[str], name: str) -> bool:
    """peft's rule: a string is a regular expression over the full name; a list entry matches the full name or its
    last dotted components."""
    if isinstance(target_modules, str):
        return re.fullmatch(target_modules, name) is not None
    return any(name == target or name.endswith("." + target) for target in target_modules)


# What peft adapts when a config names no `target_modules`, as for the models it knows (`LoraConfig(task_type="SEQ_CLS",
# r=8)`, peft's quicktour; it raised "Please specify `target_modules`"), by where a model type keeps its encoders: a
# task model's under `citrus.`, `CiTrusModel`'s at the top, a fusion model's under `encoders.<modality>.`.
_PEFT_ENCODER_PREFIXES = {CiTrusConfig.model_type: r"(?:citrus\.)?", FUSION_MODEL_TYPE: r"encoders\.[^.]+\."}
# bert's entry in peft's maps for LoRA and the methods built like it (AdaLoRA, LoHa, ..., VeRA); CiTrus's counterparts
# are `q_proj` and `v_proj`
_QUERY_VALUE = ["query", "value"]
# Methods whose layers take `(batch, tokens, features)` inputs and fail inside peft on CiTrus's `(batch, channels,
# patches, features)` activations (OFT reads a 4-D input as a Conv2d image; GraLoRA unpacks three axes): they get no
# default targets, so that peft asks for `target_modules` instead of the first forward pass failing deep inside it
_METHODS_FOR_3D_ACTIVATIONS = ("OFT", "GRALORA")


def register_peft_target_modules() -> None:
    """Give CiTrus model types peft's default target modules (run once peft is imported; see the package root).

    LoRA gets `default_target_modules`' choice (attention, feed-forward and patch embedding of every encoder, never a
    head or the pre-training decoder) as a regular expression over full names, as peft takes one; every method peft
    maps bert to `["query", "value"]` for (but OFT and GraLoRA, `_METHODS_FOR_3D_ACTIVATIONS`) gets the query and
    value projections (`q_proj`, `v_proj`: Linear layers of one shape, which VeRA-like methods need), and IA3 the key
    and value projections and the second feed-forward layer (bert's `["key", "value", "output.dense"]`). A type peft
    has an entry for already keeps it. LoRA with `layers_to_transform` adapts those encoder layers alone
    (`_honour_layers_to_transform`)."""
    from peft.utils import constants

    for model_type, prefix in _PEFT_ENCODER_PREFIXES.items():
        everything = prefix + "(?:" + "|".join((_ATTENTION_PATTERN, _FFN_PATTERN, _PATCH_EMBEDDING_PATTERN)) + ")"
        constants.TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.setdefault(model_type, everything)
        for name in dir(constants):
            mapping = getattr(constants, name)
            method = name.removeprefix("TRANSFORMERS_MODELS_TO_").removesuffix("_TARGET_MODULES_MAPPING")
            if (
                name.startswith("TRANSFORMERS_MODELS_TO_")
                and name.endswith("_TARGET_MODULES_MAPPING")
                and isinstance(mapping, dict)
                and mapping.get("bert") == _QUERY_VALUE
                and method not in _METHODS_FOR_3D_ACTIVATIONS
            ):
                mapping.setdefault(model_type, ["q_proj", "v_proj"])
        constants.TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING.setdefault(model_type, ["k_proj", "v_proj", "fc2"])
        constants.TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING.setdefault(model_type, ["fc2"])
    _honour_layers_to_transform()
    _switch_class_names_with_adapters()
    _refuse_prompt_learning()
    _refuse_hotswapping_a_head()
    _refuse_weighting_heads()
    _refuse_merging_under_another_head()
    _refuse_mixed_batches_through_the_patch_embedding()


# The modules of one encoder layer as peft's list entries (a full name's last dotted components), for LoRA restricted
# to some layers: the stem is no layer, and the pre-training head's `projection` is not `attention.*` or `ffn.*`.
_LAYER_TARGETS = ("attention.q_proj", "attention.k_proj", "attention.v_proj", "attention.o_proj", "ffn.fc1", "ffn.fc2")


# The LoRA initialisations (`init_lora_weights`) that peft's Conv1d LoRA layers run besides True and False; the
# others (PiSSA, OLoRA, EVA, CorDA, "orthogonal", ...) start from a Linear layer's weight, and peft's Conv layers
# raise "Unknown initialization" for them
_CONV_INITIALISATIONS = ("gaussian", "loftq", "lora_ga")


def _initialises_linear_layers_only(init_lora_weights: Any) -> bool:
    return isinstance(init_lora_weights, str) and init_lora_weights.lower() not in _CONV_INITIALISATIONS


def _honour_layers_to_transform() -> None:
    """Make `LoraConfig(layers_to_transform=[...])` without `target_modules` adapt those encoder layers of a CiTrus
    model, as it adapts bert's: peft applies `layers_to_transform` only to a list of targets, and CiTrus's default
    LoRA targets are a regular expression (it keeps the pre-training head out), so every layer and the stem were
    adapted without a word. The default becomes the layers' modules as a list, counted by `encoder.layers.<i>`
    (`layers_pattern="layers"`, unless one is given). An initialisation that peft runs on Linear layers only
    (`init_lora_weights="pissa"`, "olora", "eva", ...: `_initialises_linear_layers_only`) gets the default targets'
    Linear layers (attention, feed-forward, patch projection), without the CNN stem's convolutions, on which it
    failed inside peft ("Unknown initialization"). LoRA's `_prepare_adapter_config` (peft's step that fills in the
    default targets) is wrapped once."""
    from peft.tuners.lora import LoraModel

    prepare = LoraModel.__dict__.get("_prepare_adapter_config")
    function = prepare.__func__ if isinstance(prepare, staticmethod) else prepare
    if not callable(function) or getattr(function, "_citrus_layers", False):
        return

    @functools.wraps(function)
    def _prepare_adapter_config(*args, **kwargs):
        peft_config, model_config = args[-2], args[-1]  # after `self`, where peft passes one
        model_type = model_config.get("model_type") if isinstance(model_config, dict) else None
        if peft_config.target_modules is None and model_type in _PEFT_ENCODER_PREFIXES:
            if getattr(peft_config, "layers_to_transform", None) is not None:
                peft_config.target_modules = set(_LAYER_TARGETS)
                peft_config.layers_pattern = peft_config.layers_pattern or "layers"
            elif _initialises_linear_layers_only(getattr(peft_config, "init_lora_weights", True)):
                linear = (_ATTENTION_PATTERN, _FFN_PATTERN, _PATCH_PROJECTION_PATTERN)
                peft_config.target_modules = _PEFT_ENCODER_PREFIXES[model_type] + "(?:" + "|".join(linear) + ")"
        return function(*args, **kwargs)

    _prepare_adapter_config._citrus_layers = True
    LoraModel._prepare_adapter_config = (
        staticmethod(_prepare_adapter_config) if isinstance(prepare, staticmethod) else _prepare_adapter_config
    )


# The settings of a LoRA adapter that decide its outputs beside its weights (the scaling, what it adapts)
_ADAPTER_SETTINGS = (
    "peft_type",
    "r",
    "lora_alpha",
    "use_rslora",
    "use_dora",
    "target_modules",
    "rank_pattern",
    "alpha_pattern",
    "layers_to_transform",
)  # (not `modules_to_save`: peft's task classes add their heads' names to the config they hold)


def _comparable_setting(value: Any) -> Any:
    """A setting as peft holds it (a set of targets, an enum) or as its JSON file does (a list, a string)."""
    if isinstance(value, (set, list, tuple)):
        return sorted(str(item) for item in value)
    return getattr(value, "value", value)


def _refuse_other_settings_under_a_taken_name(
    peft_model: PeftModel, folder: Path, adapter_name: str, model_id: str | os.PathLike
) -> None:
    """Refuse peft's `load_adapter(model_id, adapter_name)` into a name the model already has when the adapter's
    config (in `folder`: `model_id`'s, or its Hub cache folder) has other settings: peft then reads no config, loads
    the new weights under the old settings (the old `lora_alpha` scaling, the old targets), and the model's outputs are
    neither adapter's."""
    path = folder / ADAPTER_CONFIG_NAME
    if not path.is_file():
        return
    try:
        saved = read_json_object(path, "save the adapter again.")
    except ValueError:
        return  # peft's loader names a damaged file
    held = peft_model.peft_config[adapter_name].to_dict()
    differences = [
        f"{field} {_comparable_setting(held.get(field))!r} here, {_comparable_setting(saved[field])!r} saved"
        for field in _ADAPTER_SETTINGS
        if field in saved and _comparable_setting(held.get(field)) != _comparable_setting(saved[field])
    ]
    if differences:
        raise ValueError(
            f"The adapter {adapter_name!r} is already on this model with other settings ({'; '.join(differences)}): "
            "loading under its name keeps these settings with the new weights, and the outputs would be neither "
            f"adapter's. Load it under a new name (`peft_model.load_adapter({str(model_id)!r}, "
            "adapter_name='other')`, then `set_adapter('other')`), or onto its own base with "
            f"`citrus_hf.training.lora.load_adapter(None, {str(model_id)!r})`."
        )


def _refuse_a_head_the_model_cannot_hold(
    peft_model: PeftModel, folder: Path, adapter_name: str, model_id: str | os.PathLike
) -> None:
    """Refuse peft's `load_adapter(model_id, adapter_name)` (and `PeftModel.from_pretrained`, which runs it) of an
    adapter whose trained task head (in `folder`: `model_id`'s, or its Hub cache folder) the CiTrus task model cannot
    hold: another task's head (a classifier's adapter on a CiTrusForRegression: peft loaded the LoRA matrices, found
    no `classifier` to put the head in and left the model's own head as built, untrained, without a word), or, for
    an adapter added beside others, a head of another shape (the adapters of one model each keep a copy of its
    head, so they share its shape; the error was advice for building a base)."""
    base = peft_model.get_base_model()
    head_name = _head_name(base)
    path = folder / ADAPTER_CONFIG_NAME
    if head_name is None or not path.is_file():
        return
    try:
        settings = read_json_object(path, "save the adapter again.")
    except ValueError:
        return  # peft's loader names a damaged file
    head = _adapter_head(settings)
    weights = folder / ADAPTER_WEIGHTS_NAME
    if head is not None and weights.is_file() and f"base_model.model.{head}.weight" not in _saved_shapes(folder):
        head = None  # (a task type names a classifier that was never saved: one trained frozen, or another head)
    if head is not None and head != head_name:
        task_class, shown = _ADAPTER_HEADS[head], repr(str(model_id))
        raise ValueError(
            f"{shown} is a LoRA adapter (peft) with a trained `{head}`, a {task_class} head, which this "
            f"{type(base).__name__} has no place for: its outputs would come from its own `{head_name}` as built, "
            f"untrained. Load it onto a {task_class} (`PeftModel.from_pretrained({task_class}.from_pretrained(base, "
            f"...), {shown})`), or with `citrus_hf.training.lora.load_adapter(None, {shown})` or "
            f"`pipeline(model={shown})`, which build the base it was trained on."
        )
    if adapter_name in peft_model.peft_config or not weights.is_file():
        return  # (the first adapter: the model's own check names the base's settings to build)
    saved = _saved_shapes(folder).get(f"base_model.model.{head_name}.weight")
    held = getattr(base, head_name)
    built = tuple(getattr(held, "original_module", held).weight.shape)  # (peft's per-adapter copies wrap it)
    if saved is not None and saved != built:
        raise ValueError(
            f"The adapter {str(model_id)!r}'s trained `{head_name}` has shape {saved}, this model's {built}: the "
            "adapters on one model share its head's shape (each keeps a copy of the head), so an adapter of another "
            f"number of outputs or channels cannot join them. Load it on its own base: "
            f"`citrus_hf.training.lora.load_adapter(None, {str(model_id)!r})` or `pipeline(model={str(model_id)!r})`."
        )


def _hub_adapter_folder(model_id: str | os.PathLike, kwargs: dict[str, Any]) -> Path | None:
    """The Hub cache's folder of the adapter `model_id` (a Hub id) that peft's `load_adapter` is given, holding its
    `adapter_config.json`, its weights and, where published, its `citrus_task_config.json` (at the revision and
    subfolder in `kwargs`, with its token; from the cache when offline); None for no Hub id, or where the files cannot
    be had (peft's own loader then says why). The weights come first because the head checks read them (which head
    was saved, and its shape): judged by the config alone, a Hub adapter missed the checks a folder gets. peft's
    loader then finds them in the cache."""
    if hub_repo_id(model_id) is None:
        return None
    config = _checkpoint_file(model_id, ADAPTER_CONFIG_NAME, kwargs)
    if config is None:
        return None
    for name in (ADAPTER_WEIGHTS_NAME, TASK_CONFIG_NAME):  # into the same cache folder, where they were published
        _checkpoint_file(model_id, name, kwargs)
    return Path(config).parent


def _switch_class_names_with_adapters() -> None:
    """Make `set_adapter` switch a CiTrus task model's output names with its head: an adapter loaded with peft's
    `peft_model.load_adapter(folder, adapter_name=...)` brings its own head (`modules_to_save`), but its classes stayed
    the first adapter's (one `config.id2label` for the model), so `pipeline(model=peft_model)` and the merged model
    named its outputs by another task's classes without a word. The names of each adapter loaded from a folder (or a
    Hub id: `_hub_adapter_folder`) with a `citrus_task_config.json` are recorded (the adapters already on the model
    keep the model's names) and set on the config when `set_adapter` makes it active; an adapter loaded under a name the model has, with other settings, is
    refused (`_refuse_other_settings_under_a_taken_name`), and so is one whose head the model cannot hold
    (`_refuse_a_head_the_model_cannot_hold`); `delete_adapter` drops an adapter's names with it. peft's
    `load_adapter`, `set_adapter` and `delete_adapter` are wrapped once."""
    load, activate, delete = PeftModel.load_adapter, PeftModel.set_adapter, PeftModel.delete_adapter
    if getattr(load, "_citrus_names", False):
        return

    @functools.wraps(load)
    def load_adapter(self, model_id, adapter_name, *args, **kwargs):
        config = getattr(self.get_base_model(), "config", None)
        names = output_names_of(config) if getattr(config, "model_type", None) == CiTrusConfig.model_type else None
        folder = Path(model_id, kwargs.get("subfolder") or "")
        if names is not None and not folder.is_dir():
            folder = _hub_adapter_folder(model_id, kwargs) or folder
        if names is not None and folder.is_dir():
            _refuse_a_head_the_model_cannot_hold(self, folder, adapter_name, model_id)
            _refuse_other_head_settings(self.get_base_model(), folder)
            if adapter_name in self.peft_config:
                _refuse_other_settings_under_a_taken_name(self, folder, adapter_name, model_id)
        result = load(self, model_id, adapter_name, *args, **kwargs)
        if names is not None:
            saved = adapter_output_names(folder) if folder.is_dir() else None
            # (the rule transformers' `model.load_adapter` on a CiTrus model follows too)
            record_adapter_output_names(self, self.peft_config, names, adapter_name, self.active_adapter, saved)
        return result

    @functools.wraps(activate)
    def set_adapter(self, adapter_name, *args, **kwargs):
        result = activate(self, adapter_name, *args, **kwargs)
        show_adapter_output_names(self, self.get_base_model().config, adapter_name)
        return result

    @functools.wraps(delete)
    def delete_adapter(self, adapter_name, *args, **kwargs):
        result = delete(self, adapter_name, *args, **kwargs)
        # the names go with the adapter (a new one under its name would get them at `set_adapter`), and the adapter
        # peft made active in its place, where it was active, shows its own
        forget_adapter_output_names(self, adapter_name)
        show_adapter_output_names(self, self.get_base_model().config, self.active_adapter)
        return result

    load_adapter._citrus_names = True
    PeftModel.load_adapter, PeftModel.set_adapter = load_adapter, set_adapter
    PeftModel.delete_adapter = delete_adapter


def _refuse_prompt_learning() -> None:
    """Refuse a prompt-learning method (prompt tuning, prefix tuning, p-tuning: `PromptTuningConfig`, ...) on a CiTrus
    model, which `get_peft_model` and `PeftModel` give to `add_adapter`: such a method prepends learnt tokens to a
    text model's token embeddings, which a model of signal patches has none of, and peft stopped inside its set-up on
    "'CiTrusConfig' object has no attribute 'vocab_size'". peft's `add_adapter` is wrapped once."""
    add = PeftModel.add_adapter
    if getattr(add, "_citrus_prompts", False):
        return

    @functools.wraps(add)
    def add_adapter(self, adapter_name, peft_config, *args, **kwargs):
        # (a prompt-learning `PeftModel` holds the model itself as its `base_model`, set before this call)
        model = self.__dict__.get("_modules", {}).get("base_model")
        config = getattr(model, "config", None)
        if peft_config.is_prompt_learning and getattr(config, "model_type", None) in _PEFT_ENCODER_PREFIXES:
            # the LoRA to name trains and saves the model's own head (`task_type="SEQ_CLS"` would freeze a regressor's)
            head = getattr(type(model), "head_name", None)
            lora = f"LoraConfig(r=8, modules_to_save=[{head!r}])" if head else "LoraConfig(r=8)"
            helper = ", `citrus_hf.training.lora.apply_lora(model)`" if _head_name(model) else ""
            raise ValueError(
                f"{type(peft_config).__name__} is a prompt-learning method: it prepends learnt tokens to a text "
                "model's token embeddings (`input_ids`, `inputs_embeds`), which a CiTrus model, reading signal "
                f"patches, has none of. Adapt its layers instead: `get_peft_model(model, {lora})`{helper}, or another "
                "method that adapts layers (IA3, LoHa, ...)."
            )
        return add(self, adapter_name, peft_config, *args, **kwargs)

    add_adapter._citrus_prompts = True
    PeftModel.add_adapter = add_adapter


def _refuse_hotswapping_a_head() -> None:
    """Refuse peft's hotswap (`peft.utils.hotswap.hotswap_adapter`, which swaps an adapter's LoRA matrices in place)
    of an adapter that also holds a CiTrus model's trained task head (`modules_to_save`, as every CiTrus adapter
    does): peft swaps no such module, and stopped on "KeyError: 'base_model.model.classifier.bias'". The swap of the
    state dict, which `hotswap_adapter` calls, is wrapped once, where this peft has it
    (`_dependencies.private_attribute`)."""
    try:
        from peft.utils import hotswap
    except ImportError:
        hotswap = None
    swap = private_attribute(
        hotswap,
        "hotswap_adapter_from_state_dict",
        library="peft",
        owner_name="peft.utils.hotswap",
        checked="checks peft's hotswap",
        logger=logger,
    )
    if swap is None or getattr(swap, "_citrus_heads", False):
        return
    signature = inspect.signature(swap)

    @functools.wraps(swap)
    def hotswap_adapter_from_state_dict(*args, **kwargs):
        # (peft's arguments bound by name, so that ones a later peft adds pass on untouched)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        model, state_dict = bound.arguments.get("model"), bound.arguments.get("state_dict") or {}
        parameter_prefix = bound.arguments.get("parameter_prefix") or "lora_"
        # (a compiled model answers for the one it wraps)
        model_type = getattr(getattr(model, "config", None), "model_type", None)
        modules = sorted({key.rsplit(".", 1)[0] for key in state_dict if parameter_prefix not in key})
        if modules and model_type in _PEFT_ENCODER_PREFIXES:
            raise ValueError(
                f"peft's hotswap swaps an adapter's LoRA matrices, and this adapter also holds modules it saves in full "
                f"(the trained task head: {', '.join(modules[:3])}), which it cannot swap. Load the adapter beside "
                "the others instead, `peft_model.load_adapter(folder, adapter_name='other')`, then "
                "`peft_model.set_adapter('other')` (its head and class names come with it)."
            )
        return swap(*args, **kwargs)

    hotswap_adapter_from_state_dict._citrus_heads = True
    hotswap.hotswap_adapter_from_state_dict = hotswap_adapter_from_state_dict


def _refuse_weighting_heads() -> None:
    """Refuse, saying what to do instead, peft's `add_weighted_adapter` of CiTrus adapters that hold their trained task
    head (`modules_to_save`, as every CiTrus adapter does): it combines LoRA matrices, not fully saved modules, and
    refused with its own words ("Cannot add weighted adapters if they target the same module with modules_to_save")
    and no way forward. `LoraModel.add_weighted_adapter` (which `PeftModel` hands the call to) is wrapped once."""
    from peft.tuners.lora import LoraModel

    combine = LoraModel.add_weighted_adapter
    if getattr(combine, "_citrus_heads", False):
        return

    @functools.wraps(combine)
    def add_weighted_adapter(self, adapters, weights, adapter_name, *args, **kwargs):
        model_type = getattr(getattr(self.model, "config", None), "model_type", None)
        holding = [
            name
            for name in adapters
            if name in self.peft_config and getattr(self.peft_config[name], "modules_to_save", None)
        ]
        if model_type in _PEFT_ENCODER_PREFIXES and holding:
            shown = ", ".join(repr(name) for name in holding[:3])
            raise ValueError(
                f"peft's add_weighted_adapter combines LoRA matrices, and the CiTrus adapters {shown} also hold a "
                "trained task head (modules_to_save), which it cannot combine. Use the adapters one at a time, "
                f"`peft_model.set_adapter({holding[-1]!r})`, and average their predictions; or fold one into the "
                "weights, `model = peft_model.merge_and_unload()`, and train the next on top with `apply_lora(model)`."
            )
        return combine(self, adapters, weights, adapter_name, *args, **kwargs)

    add_weighted_adapter._citrus_heads = True
    LoraModel.add_weighted_adapter = add_weighted_adapter


def _refuse_merging_under_another_head() -> None:
    """Refuse peft's `merge_and_unload(adapter_names=[...])` of CiTrus adapters whose merged model would keep another
    task head than theirs: peft folds the named adapters' LoRA matrices into the weights and keeps, of each module
    saved in full (the task head, `modules_to_save`), the active adapter's copy, so merging adapter "b" while "a" was
    active gave b's encoder under a's head (and a's class names), the predictions of no trained model, without a
    word; and adapters that each hold a head cannot share one model. The unload of peft's tuners (`BaseTuner`, which
    `PeftModel` hands the call to) is wrapped once."""
    from peft.tuners.tuners_utils import BaseTuner
    from peft.utils.other import ModulesToSaveWrapper

    merge = BaseTuner.merge_and_unload
    if getattr(merge, "_citrus_heads", False):
        return
    signature = inspect.signature(merge)

    @functools.wraps(merge)
    def merge_and_unload(self, *args, **kwargs):
        names = signature.bind(self, *args, **kwargs).arguments.get("adapter_names")
        model_type = getattr(getattr(self.model, "config", None), "model_type", None)
        if names is None or model_type not in _PEFT_ENCODER_PREFIXES:
            return merge(self, *args, **kwargs)
        names = [names] if isinstance(names, str) else list(names)
        if not names:  # no adapter to fold in: peft's `unload()`, which is no merge under another head
            return merge(self, *args, **kwargs)
        for head in (module for module in self.model.modules() if isinstance(module, ModulesToSaveWrapper)):
            holding = [name for name in names if name in head.modules_to_save]
            # the copy the merged model keeps: the active adapter's, else the model's own module
            kept = next((name for name in head.active_adapters if name in head.modules_to_save), None)
            if len(holding) > 1:
                raise ValueError(
                    f"merge_and_unload(adapter_names={names}) folds the LoRA matrices of CiTrus adapters that each "
                    f"hold a trained task head ({', '.join(map(repr, holding))}), and a merged model keeps one head. "
                    f"Merge one of them: `peft_model.set_adapter({holding[0]!r})`, then `peft_model.merge_and_unload()`."
                )
            if (holding[0] if holding else None) != kept:
                wanted = holding[0] if holding else names[0]
                kept_text = f"of the active adapter {kept!r}" if kept else "the model had before any adapter"
                raise ValueError(
                    f"merge_and_unload(adapter_names={names}) folds the LoRA matrices of {wanted!r} into the weights "
                    f"and keeps the task head {kept_text} (peft keeps the active adapter's copy of a module saved in "
                    "full): the merged model would put another head on that encoder, the predictions of no trained "
                    f"model. Make the adapter active first, `peft_model.set_adapter({wanted!r})` (its head and class "
                    "names come with it), then `peft_model.merge_and_unload()`."
                )
        return merge(self, *args, **kwargs)

    merge_and_unload._citrus_heads = True
    BaseTuner.merge_and_unload = merge_and_unload


def _refuse_mixed_batches_through_the_patch_embedding() -> None:
    """Refuse peft's mixed-adapter batches (`peft_model(input_values=x, adapter_names=[...])`, one adapter per window)
    on a CiTrus model whose patch embedding (CNN stem, projection) any adapter adapts, named in the batch or not:
    peft splits the input of every LoRA layer by window, and the patch embedding embeds each patch of each channel as
    an input of its own (`(batch * channels * patches, patch_length)`, in chunks on the CPU), so peft stopped on
    "Length of `adapter_names` should be the same as the number of inputs, but got 4 and 40". The attention and
    feed-forward layers keep the window axis first, where the split is right. LoRA's `_enable_peft_forward_hooks`
    (peft's context that hands the names to the layers) is wrapped once, where this peft has it
    (`_dependencies.private_attribute`)."""
    from peft.tuners.lora import LoraLayer, LoraModel

    enable = private_attribute(
        LoraModel,
        "_enable_peft_forward_hooks",
        library="peft",
        owner_name="LoraModel",
        checked="checks peft's mixed-adapter batches",
        logger=logger,
    )
    if enable is None or getattr(enable, "_citrus_mixed", False):
        return

    @functools.wraps(enable)
    def _enable_peft_forward_hooks(self, *args, **kwargs):
        adapter_names = kwargs.get("adapter_names")
        model_type = getattr(getattr(self.model, "config", None), "model_type", None)
        if adapter_names is not None and model_type in _PEFT_ENCODER_PREFIXES:
            # peft hands the names to every LoRA layer, whichever adapters the batch names (a batch of "__base__"
            # alone, or of adapters of the encoder alone), and each one splits its rows by window
            stem = [
                (name, module)
                for name, module in self.model.named_modules()
                if isinstance(module, LoraLayer) and ".patch_embedding." in f".{name}"
            ]
            if stem:
                adapters = sorted({adapter for _, module in stem for adapter in module.lora_A})
                raise ValueError(
                    "peft's mixed-adapter batches (`adapter_names=`) split each adapted layer's input by window, and "
                    f"the patch embedding that {', '.join(map(repr, adapters)) or 'a deleted adapter'} adapted "
                    f"({stem[0][0]}, ...) embeds each patch of each channel as an input of its own. Run each "
                    "adapter's windows apart (`set_adapter(name)`), or adapt the encoder alone for mixed batches "
                    "(`apply_lora(model, include_cnn=False)`, or target_modules without `patch_embedding`, on a model "
                    "whose other adapters leave it alone too)."
                )
        return enable(self, *args, **kwargs)

    _enable_peft_forward_hooks._citrus_mixed = True
    LoraModel._enable_peft_forward_hooks = _enable_peft_forward_hooks


def _refuse_pruned_head(model: nn.Module, head_name: str) -> None:
    """Refuse a task head pruned with `torch.nn.utils.prune` and not made permanent: peft copies the head whole into
    the adapter (`modules_to_save`), and the copy failed deep in `copy.deepcopy` ("Only Tensors created explicitly by
    the user (graph leaves) support the deepcopy protocol"); pruned after, it would be saved as `_orig` / `_mask`
    tensors that no loader reads."""
    pruned = _pruned_pairs(model.get_submodule(head_name).state_dict())
    if pruned:
        removals = "; ".join(
            f'prune.remove(model.{".".join([head_name, *name.split(".")[:-1]])}, "{name.split(".")[-1]}")'
            for name in pruned
        )
        raise ValueError(
            f"The task head {head_name!r} was pruned with torch.nn.utils.prune ({', '.join(pruned)}), and LoRA "
            "copies the head whole into the adapter (modules_to_save), which a pruned module cannot be (its tensors are "
            "computed from `_orig` and `_mask` ones): "
            f"make the pruning permanent first, `{removals}`, then apply LoRA."
        )


def _full_rank(module: nn.Module) -> int:
    """Largest rank an update of the module's weight can have: min(out, in) for Linear, min(out, in * kernel) for
    Conv1d (a LoRA rank above it adds parameters but no expressiveness)."""
    if isinstance(module, nn.Conv1d):
        return min(module.out_channels, module.in_channels // module.groups * module.kernel_size[0])
    return min(module.out_features, module.in_features)


def apply_lora(
    model: PreTrainedModel,
    r: int = 8,
    alpha: float = 16,
    dropout: float = 0.05,
    target_modules: str | Sequence[str] | None = None,
    include_cnn: bool = True,
    include_ffn: bool = True,
    verbose: bool = True,
) -> PeftModel:
    """Wrap a CiTrus task model with LoRA adapters; the task head stays fully trainable and is saved with them.

    The model is modified in place (peft injects the adapters into its modules) and returned wrapped in a
    `peft.PeftModel` that `transformers.Trainer` trains as it is. Only the LoRA matrices and the head train.

    Every adapted module's rank is `min(r, full rank of its weight)`: the stem's first convolution sees a single
    input channel, so its weight (out, 1 x kernel) has rank at most `kernel`; a larger LoRA rank would only add
    parameters. The LoRA scaling `alpha / r` is kept the same for every module.

    Args:
        model: `CiTrusForSequenceClassification` or `CiTrusForRegression` (e.g. loaded from a pre-trained checkpoint).
        r: LoRA rank.
        alpha: LoRA alpha; updates are scaled by `alpha / r`.
        dropout: dropout on the LoRA branch's input during training.
        target_modules: modules to adapt, as peft takes them: a list of names (a full name, or its last dotted
            components such as `"q_proj"`) or one regular expression over full names. Default:
            `default_target_modules(model, include_cnn, include_ffn)`.
        include_cnn / include_ffn: see `default_target_modules` (ignored when `target_modules` is given).
        verbose: print peft's "trainable params: X || all params: Y || trainable%: Z" line.

    Returns:
        The `peft.PeftModel`. Its forward is the task model's: `input_values` `(batch, channels, time)`, `labels`,
        `patch_mask`; it returns `loss` and `logits`.

    Raises:
        TypeError: `model` is not a CiTrus task model (a path or name: load it first), or a switch
            (`include_cnn`, `include_ffn`, `verbose`) is not True or False.
        ValueError: the model already has adapters, bad hyper-parameters (an infinite `alpha` too), a
            `target_modules` string that is no regular expression, no module matched, a match is not a Linear /
            Conv1d layer, or a target lies inside the task head.
    """
    head_name = _check_task_model(model, "apply LoRA")
    include_cnn, include_ffn = as_bool("include_cnn", include_cnn), as_bool("include_ffn", include_ffn)
    verbose = as_bool("verbose", verbose)
    if not isinstance(r, numbers.Integral) or isinstance(r, bool) or r < 1:
        raise ValueError(f"LoRA rank `r` must be a positive integer, got {r!r}.")
    if not is_real_number(alpha) or not alpha > 0 or not math.isfinite(alpha):
        # an infinite alpha scales the update by alpha / r = inf, and peft's zero-initialised B makes inf x 0 = NaN
        raise ValueError(
            f"LoRA `alpha` must be a positive number, got {alpha!r}"
            + (
                ": a finite one (the update is scaled by alpha / r, and every output would be NaN)."
                if alpha == math.inf
                else "."
            )
        )
    if not is_real_number(dropout) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"LoRA `dropout` must be a number in [0, 1), got {dropout!r}.")
    # Python numbers for peft's config: a numpy one (`np.int64` from a sweep grid, `np.float32` alpha) was taken and
    # then failed `save_adapter`'s JSON, leaving an empty folder
    r, dropout = operator.index(r), float(dropout)
    alpha = int(alpha) if isinstance(alpha, numbers.Integral) else float(alpha)
    if isinstance(target_modules, str):
        try:  # peft reads a string as a regular expression; its `re.error` names no option
            re.compile(target_modules)
        except re.error as error:
            raise ValueError(
                f"`target_modules` {target_modules!r} is not a valid regular expression ({error}); a string is one "
                "expression over full module names (e.g. r'.*\\.[qv]_proj'): fix it, or give a list of names such "
                "as ['q_proj', 'v_proj']."
            ) from None
    if target_modules is None:
        target_modules = default_target_modules(model, include_cnn=include_cnn, include_ffn=include_ffn)
    elif not isinstance(target_modules, str):
        if not isinstance(target_modules, Sequence | set) or not all(isinstance(n, str) for n in target_modules):
            raise TypeError(
                "`target_modules` must be a list of module names (e.g. ['q_proj', 'v_proj']) or one regular "
                f"expression over full names, got {target_modules!r}."
            )
        target_modules = list(target_modules)
    candidates = default_target_modules(model)
    matched = {name: module for name, module in model.named_modules() if name and _matches(target_modules, name)}
    if not matched and target_modules == "all-linear":
        raise ValueError(
            "target_modules='all-linear' is peft's shortcut, which apply_lora does not take: leave target_modules=None "
            "for its defaults (attention, feed-forward and CNN stem), or use peft itself: `get_peft_model(model, "
            f"LoraConfig(target_modules='all-linear', modules_to_save=[{head_name!r}]))`."
        )
    if not matched and isinstance(target_modules, str) and not re.search(r"[\\.*+?|()\[\]{}^$]", target_modules):
        # a plain name as a string: peft's rule reads it as an expression that must match a whole name, and the
        # advice below (pass a last part such as 'q_proj') is what the user did
        raise ValueError(
            f"target_modules={target_modules!r} matches no module: a string is one regular expression over full "
            f"module names (peft's rule), which a last part alone does not match. Give a list, [{target_modules!r}], "
            f"or an expression such as r'.*\\.{target_modules}'."
        )
    if not matched:
        raise ValueError(
            f"No module of this {model.config.backbone!r}-backbone model matches target_modules={target_modules!r}. "
            f"Adaptable modules are e.g. {candidates[:6]}; pass names like these, their last part (`'q_proj'`), or "
            "leave target_modules=None for the defaults (with backbone='cnn', keep include_cnn=True)."
        )
    in_head = sorted(name for name in matched if name == head_name or name.startswith(head_name + "."))
    if in_head:
        raise ValueError(
            f"target_modules matches {in_head} in the task head, which is trained in full and saved with the adapter "
            "(modules_to_save); leave it out of target_modules."
        )
    unsupported = sorted(
        f"{name} ({type(module).__name__})"
        for name, module in matched.items()
        if not isinstance(module, _SUPPORTED_LAYERS)
    )
    if unsupported:
        raise ValueError(
            f"target_modules matches modules LoRA cannot adapt here: {unsupported[:6]}. Target Linear and Conv1d "
            f"layers only, e.g. {candidates[:4]}."
        )
    rank_pattern, alpha_pattern = {}, {}
    for name, module in matched.items():
        rank = min(r, _full_rank(module))
        if rank < r:
            rank_pattern[re.escape(name)] = rank
            alpha_pattern[re.escape(name)] = alpha * rank / r
    lora_config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=target_modules,
        modules_to_save=[head_name],
        rank_pattern=rank_pattern,
        alpha_pattern=alpha_pattern,
        bias="none",
        task_type=None,
    )
    _refuse_pruned_head(model, head_name)
    if getattr(model, "_backbone_frozen", False):
        # A frozen backbone is kept in eval mode, which would switch the LoRA dropout off; LoRA replaces freezing.
        logger.info("apply_lora: unfreezing the backbone frozen with freeze_backbone(); LoRA decides what trains.")
        model.freeze_backbone(False)
    peft_model = get_peft_model(model, lora_config)
    if verbose:
        peft_model.print_trainable_parameters()
    return peft_model


def _task_model(peft_model: PeftModel, action: str) -> PreTrainedModel:
    if not isinstance(peft_model, PeftModel):
        raise TypeError(
            f"Cannot {action}: expected the peft.PeftModel returned by apply_lora, got {type(peft_model).__name__}."
        )
    base = peft_model.get_base_model()
    if _head_name(base) is None:
        raise TypeError(f"Cannot {action}: the adapted model is a {type(base).__name__}, not a CiTrus task model.")
    return base


def _adapter_tensors(peft_model: PeftModel, adapter: str | None = None) -> dict[int, int]:
    """The tensors an adapter (default: the active one) holds, as {id: number of values}: its method's tensors (LoRA's
    matrices, IA3's scales, ...) and the task head it saves in full. Read from peft's layers (their
    `adapter_layer_names` dicts, keyed by adapter) and `modules_to_save` wrappers, not by `requires_grad`, so that an
    adapter loaded for inference (everything frozen) counts the same as in training; nor by the adapter's name in
    parameter names, which an adapter named as a module ("ecg" on a fusion model's ecg encoder) matched all over the
    model. By identity: a tensor two modules share counts once."""
    adapter = adapter or peft_model.active_adapter
    counted: dict[int, int] = {}
    for module in peft_model.modules():
        if isinstance(module, BaseTunerLayer):
            holders = [getattr(module, name, None) for name in module.adapter_layer_names]
        else:  # peft's `modules_to_save` wrapper keeps a full copy per adapter
            holders = [getattr(module, "modules_to_save", None)] if hasattr(module, "original_module") else []
        for holder in holders:
            if not isinstance(holder, (nn.ModuleDict, nn.ParameterDict)) or adapter not in holder:
                continue
            held = holder[adapter]
            for parameter in held.parameters() if isinstance(held, nn.Module) else [held]:
                counted[id(parameter)] = parameter.numel()
    return counted


def _adapter_parameters(peft_model: PeftModel, adapter: str | None = None) -> int:
    """Parameters an adapter (default: the active one) holds (`_adapter_tensors`)."""
    return sum(_adapter_tensors(peft_model, adapter).values())


def _model_parameters_with(peft_model: PeftModel, adapter: str) -> int:
    """The parameters of the base model and of `adapter` alone: what peft's `get_nb_trainable_parameters` counts as
    "all params" with that one adapter on the model. peft counts every adapter the model holds, so a card of one
    adapter on a model that also held others gave a total (and a trainable share) that no model of that adapter has."""
    own = _adapter_tensors(peft_model, adapter)
    others: dict[int, int] = {}
    for name in peft_model.peft_config:
        if name != adapter:
            others |= _adapter_tensors(peft_model, name)
    total = peft_model.get_nb_trainable_parameters()[1]
    return total - sum(count for key, count in others.items() if key not in own)


# Settings of a peft config that are bookkeeping, not the method's hyper-parameters: left out of an adapter's card.
_ADAPTER_BOOKKEEPING = {
    "auto_mapping",
    "base_model_name_or_path",
    "inference_mode",
    "modules_to_save",
    "peft_type",
    "peft_version",
    "revision",
    "target_modules",
    "task_type",
}


def _method_name(adapter_config) -> str:
    """A peft config's method as peft's documentation spells it: "LoRA", "IA3", "LoHa" (else its config class's
    name, less "Config")."""
    fallback = type(adapter_config).__name__.removesuffix("Config")
    return PEFT_METHOD_NAMES.get(str(getattr(adapter_config.peft_type, "value", "")).lower(), fallback)


# LoRA's options that change what its update is, as the card names them beside the rank: a DoRA adapter's card said
# "LoRA | r = 2, alpha = 8" as a plain one's did
_LORA_VARIANTS = {
    "use_dora": "DoRA (use_dora = True: the weights' magnitude and direction are updated apart)",
    "use_rslora": "rsLoRA (use_rslora = True: updates scaled by alpha / sqrt(r))",
}


def _config_defaults(config_class: type) -> dict[str, Any]:
    """A peft config class's defaults, read from its dataclass fields: building the class runs the method's checks,
    and AdaLoRA's refuses its own defaults ("AdaLoRA does not work when `total_step` is None")."""
    defaults = {}
    for field in dataclasses.fields(config_class):
        if field.default is not dataclasses.MISSING:
            defaults[field.name] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            defaults[field.name] = field.default_factory()
    return defaults


def _setting_text(value: Any) -> str:
    """A setting's value for the card: a pattern dict as `{name: value}` pairs, other values as Python writes them."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {item}" for key, item in value.items()) + "}"
    return str(sorted(value) if isinstance(value, (set, frozenset)) else value)


def _method_and_settings(adapter_config) -> tuple[str, str]:
    """The peft method of `adapter_config` as peft spells it ("LoRA", "IA3", "LoHa") and its hyper-parameters in one
    line for the card: LoRA's rank, alpha and dropout first, then its variant (DoRA, rsLoRA); for every method, each
    other setting that differs from the method's default (`layers_to_transform`, a `rank_pattern`, IA3's or LoHa's
    own settings)."""
    method = _method_name(adapter_config)
    values = adapter_config.to_dict()
    defaults = _config_defaults(type(adapter_config))
    shown = []
    if adapter_config.peft_type == "LORA":
        shown = ["r", "lora_alpha", "lora_dropout", *_LORA_VARIANTS]
        first = [f"r = {values['r']}", f"alpha = {values['lora_alpha']}", f"dropout = {values['lora_dropout']}"]
        first += [text for key, text in _LORA_VARIANTS.items() if values.get(key)]
    else:
        first = []
    changed = [
        f"{key} = {_setting_text(value)}"
        for key, value in sorted(values.items())
        if key not in _ADAPTER_BOOKKEEPING
        and key not in shown
        and value not in (None, {}, [])
        and (key not in defaults or value != defaults[key])
    ]
    return method, ", ".join(first + changed) or f"peft's {method} defaults"


def _adapted_modules(peft_model: PeftModel, adapter: str) -> str:
    """The modules `adapter` adapts, by their names' last part and their number ("q_proj, v_proj (2
    modules)"): what peft matched, where `target_modules` may be a regular expression and `layers_to_transform` or
    `exclude_modules` narrow it."""
    adapted = [
        name
        for name, module in peft_model.named_modules()
        if isinstance(module, BaseTunerLayer)
        and any(adapter in (getattr(module, layer, None) or {}) for layer in module.adapter_layer_names)
    ]
    kinds = ", ".join(sorted({name.rsplit(".", 1)[-1] for name in adapted}))
    return f"{kinds} ({len(adapted)} module{'s' if len(adapted) != 1 else ''})"


def _table_cell(text: str) -> str:
    """`text` in a markdown table cell: a `|` (in a regular expression, say) would end the cell."""
    return text.replace("|", r"\|")


def _head_storage(base: nn.Module, head_name: str | None, method: str) -> str:
    """What the adapter holds of the task head (`head_name` of `base`), for the card: the head in full
    (`modules_to_save`), only the method's factors on it (its base weights, random for a new head, are not saved),
    or nothing."""
    head = getattr(base, head_name, None) if head_name else None
    if head is None:
        return "It adapts the encoder and carries no task head"
    if hasattr(head, "original_module"):  # peft's `modules_to_save` wrapper
        return "The task head is stored in full with the adapter"
    if hasattr(head, "base_layer"):
        return (
            f"The task head is adapted through the {method} factors only: its own weights are not stored with the "
            f"adapter (train with `modules_to_save=[{head_name!r}]` to store it)"
        )
    return "The task head is not stored with the adapter: it is the base's own"


def _input_text(config) -> str:
    """The card's input row: a single model's contract, or each modality's of a fusion model."""
    if config.model_type == FUSION_MODEL_TYPE:
        return "; ".join(
            f"{name}: {modality.num_channels} channel(s) at {modality.sampling_rate:g} Hz, windows of "
            f"{modality.context_length} samples"
            for name, modality in config.modality_configs.items()
        )
    return (
        f"{config.num_channels} channel(s) at {config.sampling_rate:g} Hz: windows of {config.context_length} "
        "samples, or a shorter recording's own duration in whole patches"
    )


def adapter_card(
    peft_model: PeftModel,
    repo_id: str | None,
    license: str | None = None,
    adapter_name: str | None = None,
    revision: str | None = None,
):
    """A short model card for the adapter: what it adapts, on which base model, and how to load it. An adapter of a
    fusion model (peft's own: `apply_lora` takes single-modality models) gets each modality's input and peft's route,
    with the fusion class. `adapter_name`: the adapter described (default: the active one); the card of a folder that
    peft's `save_pretrained` wrote describes the one at its root (`root_adapter`) and names those in subfolders.
    `revision`: the branch of `repo_id` the card is published on, which its usage code loads (None: the default
    branch)."""
    from huggingface_hub import ModelCard, ModelCardData

    base = peft_model.get_base_model()
    config = base.config
    fusion = config.model_type == FUSION_MODEL_TYPE
    head_name = getattr(type(base), "head_name", None) if fusion else _head_name(base)
    adapter_name = adapter_name or peft_model.active_adapter
    lora_config = peft_model.peft_config[adapter_name]
    method, settings = _method_and_settings(lora_config)
    base_id = hub_repo_id(lora_config.base_model_name_or_path)
    bundled = _bundled_name(lora_config.base_model_name_or_path)
    trainable, total = _adapter_parameters(peft_model, adapter_name), _model_parameters_with(peft_model, adapter_name)
    tags = ["citrus", "bio-signal", "time-series", method.lower()]
    tags += [f"base_model:adapter:{base_id}"] if base_id else []
    data = ModelCardData(library_name="peft", base_model=base_id, tags=tags, license=license)
    task = type(base).__name__
    # a classifier trained as a regressor (`problem_type="regression"`, transformers' way) has `num_labels` outputs
    # and no classes, as its full card says
    if head_name == "classifier" and getattr(config, "problem_type", None) == REGRESSION:
        outputs = f"{config.num_labels} regression target(s)"
    elif head_name == "classifier":
        # a multi-label head scores each label on its own (any number may apply), as its full card says
        multi_label = getattr(config, "problem_type", None) == "multi_label_classification"
        kind = "labels (multi-label: each present or absent, a sigmoid per label)" if multi_label else "classes"
        outputs = f"{config.num_labels} {kind}: " + ", ".join(str(config.id2label[i]) for i in range(config.num_labels))
    else:
        outputs = f"{config.num_targets} regression target(s)"
    if base_id:
        # the page on the Hub the adapter goes to (`HF_ENDPOINT`: a private Hub's), not huggingface.co's
        base_text = f"[{base_id}]({hub_constants.ENDPOINT.rstrip('/')}/{base_id})"
    elif bundled:
        base_text = f"{bundled}, the CiTrus checkpoint shipped inside citrus-hf (`pip install citrus-hf`),"
    else:
        base_text = "a CiTrus fusion checkpoint" if fusion else "a CiTrus checkpoint"
    load_base = repr(base_id or bundled) if (base_id or bundled) else '"path/to/base"'
    # a base in a subfolder of its repository: `from_pretrained` names it (`load_adapter` reads it from the adapter)
    subfolder = base_subfolder(peft_model, adapter_name)
    base_arguments = load_base + (f", subfolder={subfolder!r}" if subfolder else "")
    # on a branch, every load of the adapter names it: without it, the code loaded the default branch's adapter
    at_revision = revision_argument(repo_id, revision)
    load_adapter_from = f"{repo_id!r}{at_revision}" if repo_id else '"path/to/adapter"'
    if repo_id:
        task_config_file = f"hf_hub_download({repo_id!r}, {TASK_CONFIG_NAME!r}{at_revision})"
        download_import = "from huggingface_hub import hf_hub_download\n"
    else:
        task_config_file, download_import = f'"path/to/adapter/{TASK_CONFIG_NAME}"', ""
    if fusion:  # its base's config.json holds every modality's encoder, and no citrus-hf loader takes it
        config_text = "The fusion base's `config.json` holds every modality's encoder."
        usage = f"""Load it with peft onto its base (the package's loaders and pipelines take single-modality adapters):

```python
from peft import PeftModel
from citrus_hf.modeling_citrus_fusion import {task}

model = PeftModel.from_pretrained({task}.from_pretrained({base_arguments}), {load_adapter_from})
```

Its inputs come from the fusion processor saved with the model (`AutoProcessor.from_pretrained(folder)`).
"""
    else:
        config_text = f"`{TASK_CONFIG_NAME}` holds the task model's configuration."
        if method == "LoRA":
            citrus_usage = f"""```python
from citrus_hf.training.lora import load_adapter, merge_adapter

model = load_adapter({load_base}, {load_adapter_from})  # eval mode
merged = merge_adapter(model)  # optional: a plain {task}
```

As a pipeline: `transformers.pipeline(model={load_adapter_from})` (after `import citrus_hf`).

With peft alone, build"""
        else:  # citrus-hf's loaders take LoRA adapters only (`load_adapter`)
            citrus_usage = "Load it with peft, build"
        usage = f"""{citrus_usage} the base from `{TASK_CONFIG_NAME}` (its head, channels and pooling): the base's own
config, which `AutoPeftModel` builds it from, gives a default head, whose shape the adapter's trained head may not
fit (the error names the settings to pass), or, where it fits, default label names.

```python
{download_import}from peft import PeftModel
from citrus_hf import CiTrusConfig, {task}

config = CiTrusConfig.from_json_file({task_config_file})
model = PeftModel.from_pretrained({task}.from_pretrained({base_arguments}, config=config), {load_adapter_from})
```
"""
        if method != "LoRA":
            usage += f"""
For `transformers.pipeline` and the `citrus` commands, merge it (`merged = model.merge_and_unload()`) and save the
merged `{task}` with `merged.save_pretrained(folder)` and this adapter's feature extractor beside it
(`AutoFeatureExtractor.from_pretrained({load_adapter_from}).save_pretrained(folder)`): citrus-hf loads LoRA adapters
only.
"""
    content = f"""---
{data.to_yaml()}
---

# CiTrus {method} adapter{f" {repo_id}" if repo_id else ""}

A {method} adapter (peft) that turns {base_text} into a `{task}` for {outputs}. {_head_storage(base, head_name, method)};
{config_text}{_other_adapters_text(peft_model, adapter_name)}

| | |
|---|---|
| Input | {_table_cell(_input_text(config))} |
| {method} | {_table_cell(settings)} |
| Adapted modules | {_table_cell(_adapted_modules(peft_model, adapter_name))} |
| Trainable parameters | {trainable:,} of {total:,} ({100 * trainable / total:.2f}%) |

## Usage

{usage}"""
    return ModelCard(content)


def save_adapter(
    peft_model: PeftModel,
    save_directory: str | os.PathLike,
    feature_extractor: CiTrusFeatureExtractor | None = None,
) -> Path:
    """Save a LoRA adapter (safetensors) with what is needed to load it again anywhere.

    Writes `adapter_config.json` and `adapter_model.safetensors` (peft: LoRA matrices and the task head),
    `citrus_task_config.json` (the task model's config: head size, labels, channels), the feature extractor's
    `preprocessor_config.json` when given, and a model card `README.md`. The active adapter is saved, at the folder's
    root whatever its name (a model with several adapters: the one `set_adapter` selected; the others are not saved).

    Returns:
        The folder.

    Raises:
        TypeError: `peft_model` is no peft model over a CiTrus task model.
        ValueError: several adapters are active at once, the active one is not LoRA, the adapter holds a module
            pruned with `torch.nn.utils.prune` and not made permanent (the head: its `_orig` / `_mask` tensors would
            be saved, which no loader reads), or `save_directory` is (or lies under) a file (nothing is written).
    """
    _task_model(peft_model, "save the adapter")  # a CiTrus task model under peft, or a TypeError
    active = peft_model.active_adapters
    if len(active) != 1:
        raise ValueError(
            f"Cannot save the adapter: {len(active)} adapters are active ({', '.join(active)}); an adapter folder holds "
            "one. Select the one to save with `peft_model.set_adapter(name)`."
        )
    lora_config = peft_model.peft_config[active[0]]
    # before anything is written: the folder's loaders (load_adapter, pipeline, the `citrus` commands) take LoRA only
    if lora_config.peft_type != "LORA":
        raise ValueError(
            f"Cannot save the adapter: save_adapter saves LoRA adapters, and the active adapter {active[0]!r} is "
            f"{_method_name(lora_config)}. Save it with peft (`peft_model.save_pretrained(folder)`), or merge it "
            "(`peft_model.merge_and_unload()`) and `save_pretrained` the merged model with the feature extractor "
            "it was trained with beside it (`extractor.save_pretrained(folder)`), a full checkpoint every citrus-hf "
            "route takes."
        )
    if problem := unloadable_adapter_problem(peft_model):
        raise ValueError(problem)
    check_save_directory(save_directory)
    folder = Path(save_directory)
    folder.mkdir(parents=True, exist_ok=True)
    recorded_base = lora_config.base_model_name_or_path
    # A base loaded from a checkpoint bundled with the package is recorded by its name ("citrus-small"), which loads
    # on any machine with the package, not by this installation's path to it.
    bundled = _bundled_name(recorded_base)
    if bundled is not None:
        lora_config.base_model_name_or_path = bundled
    elif recorded_base and os.path.isdir(recorded_base):
        # A local base folder by its absolute path: "runs/base" as typed holds only from the folder the training ran
        # in, and from any other it reads as a Hub id (offline: "couldn't connect to huggingface.co"; online: a
        # stranger's repo of that name as the base). A Hub id is no folder here and is kept as it is.
        lora_config.base_model_name_or_path = os.path.abspath(recorded_base)
    # peft keeps `target_modules` as a set and writes `list(set)`, whose order follows Python's string hashing: the
    # same adapter saved by two processes gave two different adapter_config.json files (and a new Hub commit per push)
    recorded_targets = lora_config.target_modules
    if isinstance(recorded_targets, (set, frozenset)):
        lora_config.target_modules = sorted(recorded_targets)
    try:
        _save_active_adapter(peft_model, folder)
    finally:
        lora_config.base_model_name_or_path = recorded_base
        lora_config.target_modules = recorded_targets
    save_task_config(peft_model, folder)
    if feature_extractor is not None:
        feature_extractor.save_pretrained(folder)
    adapter_card(peft_model, None).save(folder / REPOCARD_NAME)
    return folder


# The key of `citrus_task_config.json` that records the subfolder of the Hub repository the adapter's base was loaded
# from (`from_pretrained(repo, subfolder="ecg")`): peft's adapter_config.json names the repository alone, and has no
# field for a subfolder (peft warns of keys it does not know).
BASE_SUBFOLDER_KEY = "base_model_subfolder"


def base_subfolder(peft_model: PeftModel, adapter_name: str | None = None) -> str | None:
    """The subfolder of the Hub repository that adapter `adapter_name`'s (default: the active one's) recorded base
    (`base_model_name_or_path`) was loaded from, or None: a base at the repository's root, a local base (recorded by
    the subfolder's own path), or a base recorded in place of the one loaded (`push_adapter_to_hub(base_model=...)`
    records the base published in a repository of its own)."""
    task_model = peft_model.get_base_model()
    # (the Trainer's save asks for the root's adapter, "default", also where every adapter has a name of its own:
    # they all sit on one base, so the active one's record answers for it)
    adapter_config = peft_model.peft_config.get(adapter_name) or peft_model.peft_config.get(peft_model.active_adapter)
    if adapter_config is None:
        return None
    recorded = adapter_config.base_model_name_or_path
    subfolder = _hub_source_kwargs(task_model).get("subfolder")
    loaded_from = getattr(task_model, "name_or_path", None)
    if not subfolder or hub_repo_id(recorded) is None or recorded != loaded_from:
        return None
    return subfolder


def _recorded_base_subfolder(folder: Path, adapter_config: dict, base: str | os.PathLike) -> str | None:
    """The subfolder of the Hub base `base` that the adapter in `folder` records (`BASE_SUBFOLDER_KEY` of its
    `citrus_task_config.json`) when `base` is the base it records, else None: put on the checkpoint at the
    repository's root, the adapter gave the predictions of no trained model, without a word."""
    path = folder / TASK_CONFIG_NAME
    if str(base) != adapter_config.get("base_model_name_or_path") or hub_repo_id(str(base)) is None:
        return None
    if not path.is_file():
        return None
    subfolder = read_json_object(path, _SAVE_AGAIN).get(BASE_SUBFOLDER_KEY)
    return subfolder if isinstance(subfolder, str) and subfolder else None


def _save_active_adapter(peft_model: PeftModel, folder: Path) -> None:
    """peft's `save_pretrained` of the active adapter alone, its files at the root of `folder`, where every loader
    reads. peft saves each adapter in a subfolder of its name but "default" (at the root), so a model whose active
    adapter was another one (`add_adapter`, `set_adapter`) had "default" at the root, under a card and a task config
    that described the active one. Saved in a scratch folder inside `folder` (the same file system), then moved."""
    active = peft_model.active_adapter
    with tempfile.TemporaryDirectory(dir=folder, prefix=".citrus-adapter-") as scratch:
        # no token embeddings to save: "auto" would look the base up (on the Hub for "citrus-small") to see whether
        # its vocabulary changed, and warn that it found no config there
        peft_model.save_pretrained(
            scratch, safe_serialization=True, save_embedding_layers=False, selected_adapters=[active]
        )
        saved = Path(scratch) if active == "default" else Path(scratch) / active
        for name in (ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME):
            os.replace(saved / name, folder / name)


def save_task_config(peft_model: PeftModel, save_directory: str | os.PathLike, adapter_name: str | None = None) -> Path:
    """Write `citrus_task_config.json` (the task model's config: classes and their names, channels, head, input
    contract) beside an adapter that peft saved, so that `load_adapter`, `pipeline` and `AutoModel...` rebuild its
    base as it was trained; peft itself records only the base's name (not the subfolder of a Hub repository the base
    was read from, which is recorded here: `base_subfolder`). `save_adapter` writes it, and so does the
    `Trainer`'s `save_model` of a LoRA CiTrus model (`citrus_hf.publishing.hooks`). `adapter_name`: the adapter
    saved there, whose own class names are written when it was loaded with them and is not the active one (see
    `_switch_class_names_with_adapters`). Returns the file."""
    base = _task_model(peft_model, "save the adapter's task config")
    task_config = copy.deepcopy(base.config)
    # `architectures` is only set when a model is saved: a task model built from a pre-training checkpoint still
    # carries that checkpoint's class here.
    task_config.architectures = [type(base).__name__]
    # another adapter than the active one keeps its own output names (the config holds the active one's)
    for field, value in recorded_adapter_output_names(peft_model, adapter_name).items():
        setattr(task_config, field, copy.deepcopy(value))
    subfolder = base_subfolder(peft_model, adapter_name)
    # a config built from another adapter's file (the card's peft code, `CiTrusConfig.from_json_file`), or a model
    # merged from one, carries the subfolder of that adapter's base: recorded for this base, it sent `load_adapter` to
    # a subfolder of a repository that has none
    task_config.__dict__.pop(BASE_SUBFOLDER_KEY, None)
    if subfolder is not None:  # (read back, and taken off the config, by `load_adapter`)
        setattr(task_config, BASE_SUBFOLDER_KEY, subfolder)
    path = Path(save_directory) / TASK_CONFIG_NAME
    task_config.to_json_file(path)
    return path


# The adapter peft's `save_pretrained` writes at a folder's root; every other adapter goes in a subfolder of its name
ROOT_ADAPTER = "default"


def root_adapter(peft_model: PeftModel) -> str:
    """The adapter a folder written by peft's `save_pretrained` (the `Trainer`'s `save_model`) holds at its root, where
    `pipeline(model=folder)`, `load_adapter` and the `citrus` commands read: "default" when the model has it, else
    the active one (then in a subfolder, and the root holds none)."""
    return ROOT_ADAPTER if ROOT_ADAPTER in peft_model.peft_config else peft_model.active_adapter


def _other_adapters_text(peft_model: PeftModel, adapter_name: str) -> str:
    """The card's note of the adapters saved beside the one it describes, in subfolders of their names, or ""."""
    others = [name for name in peft_model.peft_config if name not in (adapter_name, ROOT_ADAPTER)]
    if not others:
        return ""
    names = ", ".join(f"`{name}`" for name in others)
    return (
        f" The folder also holds the adapter(s) {names}, each in a subfolder of its name with its own "
        "adapter_config.json: give that subfolder to load one."
    )


def save_trainer_adapters(peft_model: PeftModel, save_directory: str | os.PathLike, announce: bool = True) -> None:
    """Complete a folder that peft's `save_pretrained` wrote for the `Trainer` (`Trainer.save_model`): the task
    config (`save_task_config`) at its root and in each other adapter's subfolder, so that each loads as an adapter
    folder of its own, and, when the adapter trained (the active one) is not the root's, a warning (`announce`) that
    says where it is: `pipeline(model=folder)` served the root's adapter, "default", without a word."""
    folder = Path(save_directory)
    save_task_config(peft_model, folder, ROOT_ADAPTER)
    for name in peft_model.peft_config:
        if name != ROOT_ADAPTER and (folder / name / ADAPTER_CONFIG_NAME).is_file():
            save_task_config(peft_model, folder / name, name)
    active = peft_model.active_adapter
    if announce and active != ROOT_ADAPTER and (folder / active / ADAPTER_CONFIG_NAME).is_file():
        root = (
            f"the folder's root holds the adapter {ROOT_ADAPTER!r}, which"
            if ROOT_ADAPTER in peft_model.peft_config
            else "the folder's root holds no adapter, and"
        )
        logger.warning(
            f"The active adapter {active!r} (the one the Trainer trained) is saved in {str(folder / active)!r}, as peft "
            f"saves every adapter but {ROOT_ADAPTER!r}; {root} `pipeline(model=folder)`, `load_adapter` and the "
            f"`citrus` commands read there. Give them {str(folder / active)!r}, or save the trained adapter alone at "
            "a folder's root with `save_adapter(model, folder)`."
        )


def _bundled_name(path: str | None) -> str | None:
    """The name of the bundled checkpoint `path` is the folder (or the name) of, or None."""
    from .._bundled import BUNDLED_CHECKPOINTS, bundled_checkpoint

    if path and not os.path.exists(path) and bundled_checkpoint(path) is not None:
        return path
    if not path or not os.path.isdir(path):
        return None
    folder = Path(path).resolve()
    if folder.parent != BUNDLED_CHECKPOINTS.resolve():
        return None
    return folder.name if bundled_checkpoint(folder.name) is not None else None


@dataclasses.dataclass(frozen=True)
class _AdapterSource:
    """An adapter's local folder (a Hub adapter's: its download in the Hub cache, in its `subfolder`) and how messages
    name it and its files: a local folder by its path, a Hub adapter as the user named it (repository, subfolder,
    revision), never by the cache folder it was downloaded into."""

    folder: Path
    repo_id: str | None = None
    subfolder: str | None = None
    revision: str | None = None

    @property
    def shown(self) -> str:
        """The adapter, quoted, as messages name it."""
        if self.repo_id is None:
            return repr(str(self.folder))
        return hub_source_shown(self.repo_id, self.subfolder, self.revision)

    @property
    def arguments(self) -> str:
        """The adapter as the arguments of a `from_pretrained` call in a message's code: the folder, or the
        repository with its `subfolder=` and `revision=`."""
        if self.repo_id is None:
            return repr(str(self.folder))
        given = (("subfolder", self.subfolder), ("revision", self.revision))
        return ", ".join([repr(self.repo_id)] + [f"{name}={value!r}" for name, value in given if value])

    def file(self, filename: str) -> str:
        """The adapter's file `filename`, quoted where it is a path, as messages name it."""
        if self.repo_id is None:
            return repr(str(self.folder / filename))
        return hub_file_shown(filename, self.repo_id, self.subfolder, self.revision)


def _adapter_folder(
    adapter_path_or_repo: str | os.PathLike,
    revision: str | None,
    token: str | bool | None,
    cache_dir,
    local_files_only,
    subfolder: str | None = None,
) -> _AdapterSource:
    # The same folder / Hub resolution, caching and error messages as full CiTrus checkpoints.
    from ..loading import resolve_checkpoint

    root = resolve_checkpoint(
        adapter_path_or_repo,
        revision=revision,
        token=token,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        subfolder=subfolder,
    )
    local = Path(adapter_path_or_repo).expanduser().is_dir() or hub_repo_id(adapter_path_or_repo) is None
    folder = root / subfolder if subfolder else root
    if local:
        source = _AdapterSource(folder)
        where = repr(str(folder)) + (f" (revision {revision!r})" if revision else "")
    else:
        source = _AdapterSource(folder, str(adapter_path_or_repo), subfolder, revision)
        where = source.shown
    if subfolder and not folder.is_dir():
        subfolders = sorted(entry.name for entry in root.iterdir() if entry.is_dir())
        raise OSError(
            f"{repr(str(root)) if local else hub_source_shown(str(adapter_path_or_repo), None, revision)} has no "
            f"subfolder {subfolder!r} with adapter files"
            + (f" (its subfolders: {subfolders[:10]})" if subfolders else "")
            + ": pass one that holds them, or leave `subfolder` out."
        )
    present = sorted(p.name for p in folder.iterdir())
    if not (folder / ADAPTER_CONFIG_NAME).is_file():
        raise OSError(
            f"{where} has no {ADAPTER_CONFIG_NAME} (files: {present}); it is not a peft adapter. Save adapters with "
            "`save_adapter` (or load a full model with `citrus_hf.loading.load_pretrained`)."
        )
    if not (folder / ADAPTER_WEIGHTS_NAME).is_file():
        raise OSError(
            f"{where} has no {ADAPTER_WEIGHTS_NAME} (files: {present}). Adapters load from safetensors only; pickled "
            "adapter_model.bin files are never unpickled. Save it again with `save_adapter`."
        )
    return source


# What to do about an adapter folder whose files were damaged or edited by hand.
_SAVE_AGAIN = "restore it, or save the adapter again with `save_adapter`."


def _saved_shapes(folder: Path, shown: str | None = None) -> dict[str, tuple[int, ...]]:
    """The adapter's tensors and their shapes, read from the safetensors header (a damaged file is one line, naming
    the file as `shown`, by default its path)."""
    path = folder / ADAPTER_WEIGHTS_NAME
    try:
        with safe_open(path, framework="pt") as weights:
            return {key: tuple(weights.get_slice(key).get_shape()) for key in weights.keys()}
    except Exception:  # safetensors' errors (a cut header, bytes that are no safetensors) carry no file name
        shown = shown or repr(str(path))
        raise OSError(f"{shown} is cut short or damaged (not a safetensors file); {_SAVE_AGAIN}") from None


def _checked_adapter_config(source: _AdapterSource) -> dict:
    """`adapter_config.json`, with the LoRA settings peft would otherwise trip on deep inside (`"r": "8"`)."""
    path = source.folder / ADAPTER_CONFIG_NAME
    adapter_config = read_json_object(path, _SAVE_AGAIN, source.file(ADAPTER_CONFIG_NAME))
    # the method first: an intact IA3 / LoHa / VeRA adapter has no `r` or `lora_alpha`, and is not damaged
    peft_type = adapter_config.get("peft_type")
    if peft_type != "LORA":
        raise ValueError(
            f"{source.shown} holds an adapter of the {peft_type} method, not a LoRA adapter; citrus-hf's adapter "
            "loading (load_adapter, pipeline(model=folder), citrus predict / export / push) takes LoRA adapters only. "
            "Load it with peft, `peft.PeftModel.from_pretrained(base, "
            f"{'folder' if source.repo_id is None else source.arguments}).merge_and_unload()`, and "
            "`save_pretrained` the merged model with the adapter's feature extractor beside it "
            f"(`AutoFeatureExtractor.from_pretrained({source.arguments}).save_pretrained(merged)`): that folder is a full "
            "CiTrus checkpoint every route takes."
        )
    checks = {
        "r": ("a positive integer", lambda value: isinstance(value, int) and value > 0),
        "lora_alpha": ("a positive finite number", lambda value: math.isfinite(value) and value > 0),
        "lora_dropout": ("a number in [0, 1)", lambda value: 0 <= value < 1),
    }
    for key, (kind, fits) in checks.items():
        value = adapter_config.get(key, 0.0 if key == "lora_dropout" else None)  # peft's default dropout: none
        if not (is_real_number(value) and fits(value)):
            raise ValueError(
                f"{source.file(ADAPTER_CONFIG_NAME)}: {key!r} must be {kind}, got {json.dumps(value)}; {_SAVE_AGAIN}"
            )
    return adapter_config


def _check_adapter_tensors(source: _AdapterSource, saved: dict[str, tuple[int, ...]], model: PeftModel) -> None:
    """The adapter's tensors are those the adapted model holds, with their shapes: peft loads an adapter with a
    missing LoRA matrix with a warning only (that layer then keeps its fresh initialisation)."""
    # no token embeddings, as `save_adapter` saves them: "auto" would look the base up to see whether its vocabulary
    # changed, and warn that it found no config there ("citrus-small" is no Hub repo)
    state = get_peft_model_state_dict(model, save_embedding_layers=False)
    expected = {key: tuple(value.shape) for key, value in state.items()}
    problems = [f"{key} is missing" for key in sorted(set(expected) - set(saved))]
    problems += [f"{key} is not in the model" for key in sorted(set(saved) - set(expected))]
    problems += [
        f"{key} has shape {saved[key]}, the model's {shape}"
        for key, shape in expected.items()
        if key in saved and saved[key] != shape
    ]
    if problems:
        shown = "; ".join(problems[:4]) + (f"; and {len(problems) - 4} more" if len(problems) > 4 else "")
        raise ValueError(
            f"{source.file(ADAPTER_WEIGHTS_NAME)} does not fit the model its adapter_config.json describes: "
            f"{shown}. Load it onto the base it was trained on, or {_SAVE_AGAIN}"
        )


def load_adapter(
    base_model_or_path: PreTrainedModel | str | os.PathLike | None,
    adapter_path_or_repo: str | os.PathLike,
    revision: str | None = None,
    is_trainable: bool = False,
    *,
    token: str | bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    base_kwargs: dict[str, Any] | None = None,
    subfolder: str | None = None,
) -> PeftModel:
    """Put a saved LoRA adapter on its base model.

    Args:
        base_model_or_path: the model the adapter was trained on: a CiTrus task model instance (modified in place),
            a checkpoint folder or Hub id (e.g. the pre-training checkpoint; the task model is built from the
            adapter's `citrus_task_config.json`), or None for the base named in the adapter's config.
        adapter_path_or_repo: a folder written by `save_adapter` or a Hub id pushed by `citrus_hf.publishing.push_adapter_to_hub`.
        revision: branch, tag or commit of the adapter repository.
        subfolder: the folder of the adapter repository (or of the local folder) that holds the adapter, as
            `PeftModel.from_pretrained(..., subfolder=...)` takes it.
        is_trainable: keep the adapter trainable (to continue training); otherwise it is frozen and the model is in
            eval mode.
        token, cache_dir, local_files_only: as in `huggingface_hub.snapshot_download`, for the adapter and for a
            base given as a Hub id.
        base_kwargs: more keyword arguments of the base's `from_pretrained` when it is loaded from a path or the
            adapter's record (e.g. `dtype=torch.bfloat16`, `attn_implementation="sdpa"`: what `pipeline(model=
            adapter_folder, dtype=..., model_kwargs=...)` asks); refused with a base instance, already loaded. The
            base it records loads at the revision it records (peft's `revision`: the one it was trained on), and from
            the subfolder of its Hub repository it records (`base_subfolder`), unless `base_kwargs` names a
            `revision` or `subfolder`.

    Returns:
        The `peft.PeftModel`, in eval mode unless `is_trainable`.

    Raises:
        OSError: the adapter folder / repository / revision is missing, is not an adapter, or has no safetensors (or
            a damaged one).
        ValueError: not a LoRA adapter, a damaged or hand-edited adapter_config.json / citrus_task_config.json, no
            base model given or recorded, or a base whose head (or any adapter tensor) does not fit.
        TypeError: the base is not a CiTrus task model, or the adapter was trained on a CiTrus fusion model (the
            message names peft's route for it).
    """
    # "no" is truthy: read as True it would leave a served adapter trainable and the model in train mode (dropout on)
    is_trainable = as_bool("is_trainable", is_trainable)
    source = _adapter_folder(adapter_path_or_repo, revision, token, cache_dir, local_files_only, subfolder)
    folder = source.folder
    # the adapter as the helpers' messages name it: the folder, or the Hub repository given (never its cache folder)
    named = str(folder) if source.repo_id is None else source.repo_id
    adapter_config = _checked_adapter_config(source)
    recorded_base = base_model_or_path is None
    if recorded_base:
        base_model_or_path = adapter_config.get("base_model_name_or_path")
        if not base_model_or_path:
            raise ValueError(
                f"The adapter {source.shown} records no base model; pass the model it was trained on "
                "as `base_model_or_path`."
            )
    _warn_of_another_base(named, adapter_config.get("base_model_name_or_path"), base_model_or_path)
    saved = _saved_shapes(folder, source.file(ADAPTER_WEIGHTS_NAME))
    if isinstance(base_model_or_path, (str, os.PathLike)):
        download = dict(token=token, cache_dir=cache_dir, local_files_only=local_files_only)
        base_kwargs = dict(base_kwargs or {})
        base_revision = base_kwargs.pop("revision", None) or _recorded_base_revision(adapter_config, base_model_or_path)
        if base_revision is not None:
            download["revision"] = base_revision
        recorded_subfolder = (
            None if "subfolder" in base_kwargs else _recorded_base_subfolder(folder, adapter_config, base_model_or_path)
        )
        if recorded_subfolder is not None:
            download["subfolder"] = recorded_subfolder
        if recorded_base:
            _check_recorded_base(named, str(base_model_or_path), download)
        base_model_or_path = _load_base(base_model_or_path, source, adapter_config, saved, download, base_kwargs)
    elif base_kwargs:
        raise ValueError(
            f"`base_kwargs` ({', '.join(base_kwargs)}) set how a base is loaded, and the base given is a model "
            "already loaded; load it with them (`from_pretrained(path, ...)`), or pass its path."
        )
    elif getattr(getattr(base_model_or_path, "config", None), "model_type", None) == FUSION_MODEL_TYPE:
        raise _fusion_adapter_error(source, type(base_model_or_path).__name__)
    head_name = _check_task_model(base_model_or_path, "load the adapter", source.arguments)
    saved_shape = saved.get(f"base_model.model.{head_name}.weight")
    head_shape = tuple(getattr(base_model_or_path, head_name).weight.shape)
    if saved_shape is None:
        raise ValueError(
            f"The adapter {source.shown} stores no `{head_name}` head, so it was not trained on a "
            f"{type(base_model_or_path).__name__}; load it onto the task class it was saved from."
        )
    if saved_shape != head_shape:
        if (folder / TASK_CONFIG_NAME).is_file():
            fix = f"Build it with the adapter's config ({TASK_CONFIG_NAME}), or pass the base as a path so load_adapter does."
        else:
            # an adapter saved by peft itself: the head's outputs are read from its shape (see `_load_base`), its
            # input width is not (channels and pooling multiply alike)
            fix = (
                f"This adapter folder has no {TASK_CONFIG_NAME} to say how its base was built: build the base with "
                f"{_channel_settings_hint(base_model_or_path.config, saved_shape[-1])} and pass it as the instance, "
                f"e.g. `load_adapter({type(base_model_or_path).__name__}.from_pretrained(base, "
                f"{type(base_model_or_path).outputs_field}={saved_shape[0]}, num_channels=..., "
                "channel_pooling='concat'), folder)`; for a pipeline, `merge_adapter` that and pass the merged model "
                "(or save it with `save_pretrained`)."
            )
        raise ValueError(
            f"The adapter's `{head_name}` has shape {saved_shape} but the base model's has {head_shape}: the base "
            f"was built for another number of outputs or channels. {fix}"
        )
    # `PeftModel.from_pretrained` in two steps, so that the adapted model's tensors are compared with the adapter's
    # before any is loaded (peft fills a missing one with its initialisation, saying so only in a warning)
    config = LoraConfig.from_pretrained(folder)
    config.inference_mode = not is_trainable
    model = PeftModel(base_model_or_path, config)
    _check_adapter_tensors(source, saved, model)
    model.load_adapter(folder, model.active_adapter, is_trainable=is_trainable)
    return model.train() if is_trainable else model.eval()


def _recorded_base_revision(adapter_config: dict, base: str | os.PathLike) -> str | None:
    """The revision of the Hub base `base` that the adapter records (peft's `revision`, as `get_peft_model(...,
    revision="dev")` writes it) when `base` is the base it records, else None (the default branch). LoRA matrices are
    deltas on the weights they were trained on: put on main's base, an adapter trained on a branch's gave the
    predictions of no trained model, without a word."""
    revision = adapter_config.get("revision")
    recorded = adapter_config.get("base_model_name_or_path")
    if not isinstance(revision, str) or not revision or str(base) != recorded or hub_repo_id(str(base)) is None:
        return None
    return revision


def _check_recorded_base(adapter: str | os.PathLike, base: str, download: dict) -> None:
    """Refuse, naming the adapter, the base it records and the fix, a recorded base that is neither a folder here, a
    bundled name nor a Hub checkpoint that loads: an adapter saved before `save_adapter` recorded a local base by its
    absolute path holds the relative path typed at training ("runs/base"), which holds only from the folder the
    training ran in; elsewhere it read as a Hub id, and the error was transformers' "couldn't connect to
    huggingface.co".
    Nothing is asked of the Hub for a base that is a folder or bundled, nor for one no Hub id could spell."""
    from .._bundled import folder_if_bundled
    from ..loading import hub_repo_id, resolve_checkpoint

    if os.path.isdir(folder_if_bundled(base)):
        return
    fix = (
        "pass the base it was trained on: `load_adapter('path/to/base', adapter)` (or a model instance); for "
        "`pipeline(model=adapter)` and the `citrus` commands, set `base_model_name_or_path` in the adapter's "
        f"{ADAPTER_CONFIG_NAME} to the base folder's absolute path (as `save_adapter` now records it)."
    )
    if hub_repo_id(base) is None and ("/" in base or os.sep in base):  # a path: "../base", "runs/x/base", "/abs"
        raise OSError(
            f"The adapter {str(adapter)!r} records its base model as the folder {base!r}, which does not exist "
            f"(looked for from the current folder {os.getcwd()}). To load it, {fix}"
        )
    try:
        resolve_checkpoint(base, **download)
    except OSError as error:
        older = (
            "An adapter saved by an older citrus-hf records a local base as the relative path given at training, "
            "which holds only from the folder the training ran in."
        )
        cause = f" (The Hub: {error})"
        if isinstance(error.__cause__, (LocalEntryNotFoundError, IncompleteSnapshotError)) and (
            download.get("local_files_only") or hub_constants.is_offline_mode()
        ):
            # a Hub base the adapter was downloaded without: said first (it was said last, after the older
            # citrus-hf's relative paths, in the Hub's words)
            older = (
                "Offline (HF_HUB_OFFLINE=1 or local_files_only=True), the Hub cache holds no snapshot of it: if it is "
                "a Hub checkpoint, download it once while online (unset HF_HUB_OFFLINE), e.g. "
                f"`huggingface_hub.snapshot_download({base!r})`. If it was a folder: " + older
            )
            cause = ""
        raise OSError(
            f"The adapter {str(adapter)!r} records its base model as {base!r}, which is no folder under the current "
            f"folder ({os.getcwd()}) and did not load from the Hub either. {older} To load it, {fix}{cause}"
        ) from None


def _checkpoint_identity(name_or_path: Any) -> str | None:
    """What names one checkpoint however it is spelt: a local folder's real path (a bundled checkpoint's name gives
    its folder), else the Hub id; None for an unnamed model (built in memory)."""
    from .._bundled import folder_if_bundled

    if not name_or_path:
        return None
    name = folder_if_bundled(str(name_or_path))
    return os.path.realpath(name) if os.path.isdir(name) else str(name_or_path)


def _warn_of_another_base(adapter: Any, recorded: str | None, base: Any) -> None:
    """Warn when an adapter is put on another base than the one it records: LoRA matrices are deltas on the weights
    they were trained on, so any base of the same shapes loads, and on another one (random weights, another
    pre-training run) the predictions are those of no trained model (basic_motions: accuracy 1.0 on its base, 0.1
    and 0.25 on two others)."""
    given = base if isinstance(base, (str, os.PathLike)) else getattr(base, "name_or_path", None)
    if not recorded or _checkpoint_identity(given) == _checkpoint_identity(recorded):
        return
    shown = repr(str(given)) if given else "a model built in memory"
    logger.warning(
        f"The adapter {str(adapter)!r} was trained on {recorded!r} and is put on {shown}: its predictions hold only on "
        "the base it was trained on. Pass that base (or None, for the one the adapter records)."
    )


def _fusion_adapter_error(source: _AdapterSource, class_name: str | None) -> TypeError:
    """The refusal of an adapter trained on a CiTrus fusion model (with peft itself: `apply_lora` refuses fusion
    models), with the route that loads it."""
    class_name = class_name or "CiTrusFusionForSequenceClassification"
    adapter = "folder" if source.repo_id is None else source.arguments
    return TypeError(
        f"The adapter in {source.shown} was trained on a CiTrus fusion model ({class_name}); load_adapter (and the "
        "pipelines, which have none for fusion models) load adapters of single-modality CiTrus task models. Load it "
        f"with peft: `PeftModel.from_pretrained({class_name}.from_pretrained(base), {adapter})`, or "
        f"`{class_name}.from_pretrained({adapter})`."
    )


def _base_fusion_class(path_or_repo: str | os.PathLike, download: dict) -> str | None:
    """The fusion class a base checkpoint's config.json names ("" when it names none), or None when it is no fusion
    checkpoint or cannot be read (then loading it says why)."""
    from transformers import PreTrainedConfig

    from .._bundled import folder_if_bundled

    try:
        saved, _ = PreTrainedConfig.get_config_dict(folder_if_bundled(path_or_repo), **download)
    except (OSError, ValueError):
        return None
    if saved.get("model_type") != FUSION_MODEL_TYPE:
        return None
    return (saved.get("architectures") or [""])[0]


def _load_base(
    path_or_repo: str | os.PathLike,
    source: _AdapterSource,
    adapter_config: dict,
    saved: dict,
    download: dict,
    base_kwargs: dict[str, Any] | None = None,
) -> PreTrainedModel:
    """The task model the adapter belongs to, with the pre-trained weights of `path_or_repo` (loaded with
    `base_kwargs` too: `dtype`, `attn_implementation`, ...).

    Its settings are the adapter's `citrus_task_config.json` (`save_adapter`). An adapter saved by peft itself has
    none: its class is the one peft recorded (`auto_mapping`, for `task_type=None`) or, for `task_type="SEQ_CLS"`,
    the one whose head it saved in full (`classifier`, or `regressor` for a regression head), and the head's number
    of outputs is read from that saved head."""
    from .. import modeling_citrus

    folder = source.folder
    task_config_path = folder / TASK_CONFIG_NAME
    task_config = None
    if task_config_path.is_file():
        # as `CiTrusConfig.from_json_file`, with a damaged file named in one line (json's error names no file); the
        # subfolder of the base's repository it records is where the base was read from (`load_adapter`), no setting
        saved_settings = read_json_object(task_config_path, _SAVE_AGAIN, source.file(TASK_CONFIG_NAME))
        saved_settings.pop(BASE_SUBFOLDER_KEY, None)
        task_config = CiTrusConfig(**saved_settings)
    task_classes = (modeling_citrus.CiTrusForSequenceClassification, modeling_citrus.CiTrusForRegression)
    saved_heads = [cls for cls in task_classes if f"base_model.model.{cls.head_name}.weight" in saved]
    if task_config is not None and task_config.architectures:
        class_name = task_config.architectures[0]
    else:
        class_name = (adapter_config.get("auto_mapping") or {}).get("base_model_class")
        # a fusion model's adapter (peft's own: `apply_lora` refuses fusion models) records its class, or, saved
        # with a task type, only its head, which is named as a single model's: its base checkpoint tells
        fusion_class = _base_fusion_class(path_or_repo, download) if task_config is None else None
        if fusion_class is not None or (class_name or "").startswith("CiTrusFusion"):
            raise _fusion_adapter_error(source, fusion_class or class_name)
        if class_name is None and len(saved_heads) == 1:
            class_name = saved_heads[0].__name__
    model_class = getattr(modeling_citrus, class_name or "", None)
    if class_name in ("CiTrusForPretraining", "CiTrusModel"):
        # an encoder adapter (domain adaptation): no task head to put it under; its embeddings come from the merged
        # encoder, a full checkpoint the feature-extraction pipeline and `citrus export` take
        raise ValueError(
            f"The adapter in {source.shown} adapts the encoder alone ({class_name}, no task head): load_adapter, "
            "pipeline(model=folder) and the `citrus` commands put adapters on task models. For embeddings, merge it "
            f"into its base and save that: `PeftModel.from_pretrained({class_name}.from_pretrained(base), folder)"
            ".merge_and_unload().save_pretrained(merged)` and the extractor beside it (`AutoFeatureExtractor"
            ".from_pretrained(base).save_pretrained(merged)`), then `pipeline('feature-extraction', model=merged)` or "
            "`citrus export merged`."
        )
    if model_class is None or getattr(model_class, "head_name", None) is None:
        raise ValueError(
            f"The adapter in {source.shown} does not name a CiTrus task class (found {class_name!r}, and it saved "
            f"no task head in full: peft's `modules_to_save`); pass the base model as an instance, e.g. "
            "`CiTrusForSequenceClassification.from_pretrained(path, num_labels=...)`."
        )
    from ..modeling_citrus import head_fitted_by_caller

    head_shape = saved.get(f"base_model.model.{model_class.head_name}.weight")
    # The adapter saves its trained head in full, so a base fine-tuned for another task (a 2-class classifier under a
    # 4-class adapter, `citrus finetune --model classifier --lora`) gives its encoder only: its own head, of another
    # size, is replaced, then overwritten by the adapter's. An encoder of another size stays an error.
    replaced = {"ignore_mismatched_sizes": True} if head_shape is not None else {}
    replaced = {**(base_kwargs or {}), **replaced}
    with head_fitted_by_caller():  # the adapter brings the trained head: no "fine-tune it before use"
        if task_config is None:
            outputs = {}
            if head_shape is not None:  # otherwise load_adapter says that the adapter holds no head
                outputs = {model_class.outputs_field: head_shape[0]}
                outputs.update(_settings_from_saved_extractor(path_or_repo, folder, head_shape[-1], download))
            return model_class.from_pretrained(path_or_repo, **outputs, **replaced, **download)
        # CiTrus' strict loader compares the checkpoint's tensors with `config.architectures`: cleared, the
        # checkpoint (a pre-training one, usually) is checked as a different class, whose backbone must match in full.
        task_config.architectures = None
        # `config=` is taken as it is, so the config fields among the keywords (`output_hidden_states`) go on it; the
        # others (`dtype`, which the config also records, `attn_implementation`, ...) are the loader's
        fields = {k: v for k, v in replaced.items() if k in task_config.to_dict() and k not in ("dtype", "torch_dtype")}
        task_config.update(fields)
        loading = {k: v for k, v in replaced.items() if k not in fields}
        task_config_shown = source.file(TASK_CONFIG_NAME)
        _check_task_config_sizes(path_or_repo, task_config_shown, task_config, model_class.outputs_field, loading)
        return model_class.from_pretrained(path_or_repo, config=task_config, **loading, **download)


def _check_task_config_sizes(
    path_or_repo: str | os.PathLike,
    task_config_shown: str,
    task_config: CiTrusConfig,
    outputs_field: str,
    loading: dict[str, Any],
) -> None:
    """Refuse an adapter's task config (`task_config`, from the file messages name as `task_config_shown`) whose sizes
    the weights of its base (`path_or_repo`, when it is a local or bundled checkpoint) cannot hold, before the task
    model is built: the base loads with `config=task_config`, which its own config.json checks leave alone (a
    `config=` object states the sizes itself), so `num_hidden_layers=10**5` in the adapter's file built layers for
    minutes and `ffn_dim=10**9` failed inside torch's allocator. A base on the Hub is checked as its config.json is: by the load, after download.

    Raises:
        ValueError: naming the task config file, the settings and what the base's weights hold.
    """
    from .._bundled import folder_if_bundled

    base = str(folder_if_bundled(path_or_repo))
    folder = os.path.join(base, loading["subfolder"]) if loading.get("subfolder") else base
    if os.path.isdir(folder):
        source = f"the adapter's {TASK_CONFIG_NAME} ({task_config_shown})"
        check_saved_sizes(folder, loading.get("variant"), task_config.to_dict(), source, outputs_field)


# The extractor's settings a task model's config records as its input contract and that no weight depends on: a model
# fine-tuned on data normalised otherwise than its pre-training checkpoint's (`normalization="fixed"` with the data's
# statistics, as examples/finetune_trainer.py does) takes them from the extractor saved beside its adapter.
_NORMALIZATION_SETTINGS = ("normalization", "normalization_mean", "normalization_std")


def _settings_from_saved_extractor(path_or_repo, folder: Path, head_width: int, download: dict) -> dict:
    """What the feature extractor saved beside a peft-saved adapter (as the Trainer saves its `processing_class`) says
    of the base the adapter was trained on, which peft does not record, or {}:

    - `num_channels` and `channel_pooling="concat"` for a head that reads several channels: a head's width alone is
      no channel count (a pooling such as "mean_max" widens it too), but the extractor says how many channels the data
      had, and a head exactly that many times as wide as one channel's pooled features concatenates them;
    - the normalisation the data was trained with, where it is not the base checkpoint's, so that the pipeline
      normalises recordings as the training did (it refused the saved extractor as another contract, and the base's
      extractor would have normalised otherwise);
    - a window shorter than the base's context, when the data was (`citrus finetune` records it: see
      `finetune._record_trained_window`)."""
    if not (folder / FEATURE_EXTRACTOR_NAME).is_file():
        return {}
    try:
        extractor = CiTrusFeatureExtractor.from_pretrained(folder)
    except (OSError, ValueError):  # a damaged extractor file: the head's error below says what to pass
        return {}
    base = CiTrusConfig.from_pretrained(path_or_repo, **download)
    settings = {}
    if any(getattr(extractor, name) != getattr(base, name) for name in _NORMALIZATION_SETTINGS):
        settings.update({name: getattr(extractor, name) for name in _NORMALIZATION_SETTINGS})
    if extractor.context_length < base.context_length and extractor.patch_length == base.patch_length:
        settings["context_length"] = extractor.context_length  # the window it was trained on (shorter recordings)
    channels = extractor.num_channels
    per_channel = _pooled_width(base, base.head_features, base.pooling)
    if channels > 1 and head_width == channels * per_channel:
        settings.update(num_channels=channels, channel_pooling="concat")
    return settings


def check_something_trains(model: nn.Module) -> None:
    """Refuse, before a `Trainer` builds its optimizer, a model of which no parameter is trainable, naming why for a
    peft model: an adapter loaded for inference (`load_adapter`, `PeftModel.from_pretrained` and transformers'
    `load_adapter` freeze it unless `is_trainable=True`) or configured with `inference_mode=True`. The training
    stopped at its first backward pass inside torch ("element 0 of tensors does not require grad").

    Raises:
        ValueError: no parameter of `model` requires a gradient.
    """
    if any(parameter.requires_grad for parameter in model.parameters()):
        return
    if isinstance(model, PeftModel) or any(isinstance(module, BaseTunerLayer) for module in model.modules()):
        raise ValueError(
            f"Cannot train this {type(model).__name__}: no parameter of it is trainable, as its adapter was loaded or "
            "configured for inference. Load it to train with `load_adapter(base, adapter, is_trainable=True)` or "
            "`PeftModel.from_pretrained(base, adapter, is_trainable=True)`, or build it with a config whose "
            "inference_mode is False (peft's default)."
        )
    raise ValueError(
        f"Cannot train this {type(model).__name__}: no parameter of it is trainable (every one has requires_grad="
        "False). Unfreeze what should train, e.g. `model.freeze_backbone(False)` or `model.requires_grad_(True)`."
    )


def merge_adapter(peft_model: PeftModel) -> PreTrainedModel:
    """Fold the LoRA updates into the weights and drop the adapters: `W <- W + (alpha / r) B A`.

    Returns:
        The plain task model (same class as before `apply_lora`, trained head included), whose outputs equal the
        adapted model's up to float rounding; save it with `save_pretrained` / `citrus_hf.publishing.push_to_hub`.
    """
    _task_model(peft_model, "merge the adapter")
    return peft_model.merge_and_unload()


__all__ = [
    "apply_lora",
    "check_something_trains",
    "default_target_modules",
    "load_adapter",
    "adapter_card",
    "merge_adapter",
    "register_peft_target_modules",
    "root_adapter",
    "save_adapter",
    "save_task_config",
    "save_trainer_adapters",
]
