"""PyTorch CiTrus model: a residual CNN stem in front of a PatchTST transformer, pre-trained by masked auto-encoding.

One file holds the whole model, following transformers' rule: patching, the CNN stem, masking, the transformer
encoder (channel-independent or criss-cross attention), the pre-training targets and heads, `CiTrusModel` and every
`CiTrusFor<Task>`. It imports only torch and transformers (plus its own configuration), so a saved checkpoint also
loads with `trust_remote_code=True` where `citrus_hf` is not installed.

Shapes used throughout:
    batch_size B, num_channels C, context_length T, patch_length L, num_patches P = T / L, d_model D.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import json
import logging as std_logging
import math
import os
import re
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.configuration_utils import PreTrainedConfig
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import ModelOutput, SequenceClassifierOutput
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS, PreTrainedModel
from transformers.utils import CONFIG_NAME, SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME, logging

from .configuration_citrus import (
    DOWNLOAD_ARGUMENTS,
    WEIGHT_SHARD,
    WINDOW_BOOKKEEPING,
    ChecksSaveDirectory,
    CiTrusConfig,
    _check_choice,
    allow_pretraining_objective,
    check_buildable,
    check_checkpoint_reference,
    check_misspelt_fields,
    check_problem_type,
    check_target_names,
    checkpoints_inside_hint,
    config_field_names,
    custom_pipelines_for,
    dangling_links_error,
    file_for_folder_error,
    fusion_checkpoint_error,
    head_keywords_given,
    hub_source_shown,
    looks_like_time_by_channels,
    lookup_never_reached_the_hub,
    missing_subfolder_error,
    named_outputs,
    no_safetensors_error,
    offline_cache_lacks,
    refuse_second_run,
    safetensors_names,
    shard_sets_shown,
    stale_weights_error,
    uncached_offline_error,
    unregistered_objective_message,
    warn_of_rate_override,
)
from .vocabulary_citrus import (
    ADAPTER_CONFIG_NAME,
    ADAPTER_WEIGHTS_NAME,
    AUTOCORRELATION_LAGS,
    CHANNEL_POOLINGS,
    DEPLOYED_ONNX_NAME,
    FUSION_MODEL_TYPE,
    HEAD_FEATURES,
    POOLING_STATISTICS,
    POOLINGS,
    REGRESSION,
    as_bool,
    redefines,
)

refuse_second_run(globals())  # before anything is defined: see its docstring

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

logger = logging.get_logger(__name__)

# Pickled weights a checkpoint folder may hold instead of safetensors.
_PICKLED_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")

# Largest input magnitude the model accepts. Its layer norms square activations in float32: measured on citrus-small
# with N(0, 1) windows scaled by 10^k, the logits are unchanged up to 1e17, drift at 1e18 and are NaN at 1e20, and the
# pre-training loss (squared error in input units) is inf from 1e18. 1e15 leaves a margin for checkpoints whose stem
# amplifies more; the feature extractor's z-scored windows are of order 1.
_MAX_INPUT_MAGNITUDE = 1e15
# The same for a model in float16, whose largest number is 65504: measured the same way, citrus-small's logits match
# float32's to 3e-4 up to 3e3 and are NaN at 1e4 (its patch embedding overflows); 1e3 leaves a margin.
_MAX_FLOAT16_INPUT_MAGNITUDE = 1e3


def _float16_autocast(device_type: str) -> bool:
    """Whether `torch.autocast` runs this device type's operations in float16 here: the model's float32 weights then
    compute in float16, whose range (65504) the float16 input limit (`_MAX_FLOAT16_INPUT_MAGNITUDE`) is for; unchecked,
    fp16 inference and the Trainer's fp16 evaluation gave NaN logits for wide inputs without a word."""
    try:
        return torch.is_autocast_enabled(device_type) and torch.get_autocast_dtype(device_type) == torch.float16
    except RuntimeError:  # a device type autocast does not know (its operations are not autocast either)
        return False


# Keyword arguments that peft's text-model wrappers (e.g. `PeftModelForSequenceClassification`) always pass.
# A bio-signal model has no use for them; they are accepted when None so those wrappers work, and refused otherwise.
_TEXT_MODEL_KWARGS = ("input_ids", "attention_mask", "inputs_embeds", "token_type_ids", "position_ids")


def _located(locator: Callable | None, name_or_path):
    """`name_or_path`, or the folder of the bundled checkpoint it names when `locator` knows it."""
    if locator is not None and isinstance(name_or_path, str):
        folder = locator(name_or_path)
        if folder is not None:
            return str(folder)
    return name_or_path


# Set while a caller loads an encoder into a task class whose new head it fits itself (`head_fitted_by_caller`).
_HEAD_FITTED_BY_CALLER = contextvars.ContextVar("citrus_head_fitted_by_caller", default=False)
# Set while `from_pretrained` loads an adapter onto the base it built: that route checks the adapter's head and task
# itself (and may drop a head on purpose, `replace_head=True`), so `load_adapter` checks only for missing tensors.
_ADAPTER_OF_FROM_PRETRAINED = contextvars.ContextVar("citrus_adapter_of_from_pretrained", default=False)


@contextmanager
def head_fitted_by_caller() -> Iterator[None]:
    """Within the block, loading a pre-training checkpoint into a task class reports its new head at info level:
    for callers that fit the head right after (`citrus finetune`, the protocol), for whom "fine-tune it before use"
    would be advice about their own next step."""
    token = _HEAD_FITTED_BY_CALLER.set(True)
    try:
        yield
    finally:
        _HEAD_FITTED_BY_CALLER.reset(token)


# Beside a LoRA adapter saved by `citrus_hf.training.lora.save_adapter`: the task model's config (its classes and
# head), which the adapter's own files do not hold.
ADAPTER_TASK_CONFIG_NAME = "citrus_task_config.json"


def _checkpoint_file(name_or_path, filename: str, download_kwargs: dict | None = None) -> str | None:
    """The path of `filename` in the checkpoint or adapter folder or Hub repo `name_or_path`, or None where it has
    none: a local folder is looked at, a Hub repo through transformers' cache lookup (which downloads that one small
    file where the Hub can be reached, and otherwise answers from the local cache, offline included, never raising;
    `download_kwargs` may hold any others, its download arguments are taken)."""
    name = os.fspath(name_or_path)
    if os.path.isdir(name):
        path = os.path.join(name, filename)
        return path if os.path.isfile(path) else None
    from transformers.utils import cached_file

    lookup = {key: value for key, value in (download_kwargs or {}).items() if key in DOWNLOAD_ARGUMENTS}
    try:
        return cached_file(
            name,
            filename,
            _raise_exceptions_for_missing_entries=False,
            _raise_exceptions_for_connection_errors=False,
            **lookup,
        )
    except Exception:  # an invalid repo id, a revision that does not exist: transformers' own loading says so
        return None


def _hub_source_of(files: Sequence[str | os.PathLike] | None) -> dict[str, str] | None:
    """Where files downloaded into a Hub cache came from, as the download arguments that find their siblings there:
    the commit (`revision`: the name of their snapshot folder, `<cache>/models--<namespace>--<name>/snapshots/<commit>/
    ...`), the `cache_dir` that holds that folder and the `subfolder` of the repository they are in (absent at its
    root); None for the files of a local folder (or none)."""
    for file in files or ():
        parts = os.path.normpath(os.fspath(file)).split(os.sep)
        for index in range(1, len(parts) - 1):
            if (
                parts[index] == "snapshots"
                and parts[index - 1].startswith("models--")
                and re.fullmatch("[0-9a-f]{40}", parts[index + 1])
            ):
                source = {"revision": parts[index + 1], "cache_dir": os.sep.join(parts[: index - 1]) or os.sep}
                subfolder = "/".join(parts[index + 2 : -1])
                return {**source, "subfolder": subfolder} if subfolder else source
    return None


def _hub_source_kwargs(model: Any) -> dict[str, str]:
    """The download arguments (`revision`, `cache_dir`, `subfolder`) that read the files saved beside a model's
    weights in the Hub repository it was loaded from (its `name_or_path`), as `from_pretrained` recorded them; only
    the commit (`config._commit_hash`) for a model loaded otherwise. A model loaded with `subfolder=` had the
    extractor at its repository's root looked up (another checkpoint's), and one loaded with `cache_dir=` had it
    looked up in (and downloaded into) the default cache."""
    recorded = getattr(model, "_hub_source", None)
    if isinstance(recorded, dict):
        return dict(recorded)
    commit = getattr(getattr(model, "config", None), "_commit_hash", None)
    return {"revision": commit} if commit else {}


def _adapter_settings(name_or_path, download_kwargs: dict) -> dict | None:
    """The settings (`adapter_config.json`) of the peft adapter `name_or_path` (a folder or Hub repo), or None where
    it has none or they cannot be read (the caller's own error then stands)."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        return None
    path = _checkpoint_file(name_or_path, ADAPTER_CONFIG_NAME, download_kwargs)
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            settings = json.load(handle)
    except (OSError, ValueError):
        return None
    return settings if isinstance(settings, dict) else None


def _adapter_head(settings: dict) -> str | None:
    """The task head a peft adapter saves in full (`modules_to_save`; with `task_type="SEQ_CLS"` peft adds the
    classifier itself), or None for an adapter of the encoder alone."""
    saved = settings.get("modules_to_save") or []
    saved = [saved] if isinstance(saved, str) else list(saved)
    named = [head for head in _ADAPTER_HEADS if head in saved]
    if named:
        return named[0]
    # peft saves the classifier of a SEQ_CLS adapter without naming it (a regressor only when named, above)
    return "classifier" if settings.get("task_type") == "SEQ_CLS" else None


# head an adapter saves -> the task class it fits. The regressor first: with task_type="SEQ_CLS" peft adds
# "classifier" (and "score") to `modules_to_save` itself, so only "regressor" there says which head was trained.
_ADAPTER_HEADS = {"regressor": "CiTrusForRegression", "classifier": "CiTrusForSequenceClassification"}


def _refuse_adapter_of_another_task(cls: type, adapter, download_kwargs: dict) -> None:
    """Refuse to load the peft adapter `adapter` into `cls` when the adapter saves a trained task head `cls` does
    not have (a classifier's adapter into CiTrusForRegression or CiTrusModel): the head would be dropped without a
    word, as a task checkpoint's is refused by another task class (`replace_head=True` allows both)."""
    settings = _adapter_settings(adapter, download_kwargs) if adapter is not None else None
    head = _adapter_head(settings) if settings is not None else None
    if head is None or getattr(cls, "head_name", None) == head:
        return
    raise ValueError(
        f"{str(adapter)!r} is a LoRA adapter (peft) with a trained `{head}`, a {_ADAPTER_HEADS[head]} head, which "
        f"{cls.__name__} has no place for: load it with {_ADAPTER_HEADS[head]}.from_pretrained, "
        f"`citrus_hf.training.lora.load_adapter(None, {str(adapter)!r})` or `pipeline(model={str(adapter)!r})`, or pass "
        f"replace_head=True to drop the head and keep the adapted encoder."
    )


def _saved_weight_map(folder: str, variant: str | None) -> dict[str, str] | None:
    """`{tensor name: file}` of a local checkpoint's safetensors (the sharded index's `weight_map`, or the file's
    header), None when there is no weights file to read (its absence is reported elsewhere).

    Raises:
        OSError: a sharded index that is not the JSON object `save_pretrained` writes (transformers failed on it with
            a bare JSONDecodeError / KeyError naming no file).
    """
    weights_name, index_name = safetensors_names(variant)
    index = os.path.join(folder, index_name)
    if os.path.isfile(index):
        try:
            with open(index, encoding="utf-8") as handle:
                weight_map = json.load(handle).get("weight_map")
        except (OSError, ValueError, AttributeError):
            weight_map = None
        if not isinstance(weight_map, dict) or not weight_map:
            raise OSError(
                f"{index!r} is not the index `save_pretrained` writes (a JSON object whose weight_map names each "
                "tensor's shard): it is damaged or cut short. Download or save the checkpoint again."
            )
        return weight_map
    weights = os.path.join(folder, weights_name)
    if not os.path.isfile(weights):
        return None
    from safetensors import safe_open

    try:
        with safe_open(weights, framework="pt") as handle:
            return dict.fromkeys(handle.keys(), weights_name)
    except Exception:  # a damaged file: transformers' load reports it, with the fix, below
        return None


def _described_encoders(config_dict: dict) -> list[tuple[str, dict, str]]:
    """`(label, settings, prefix)` of every CiTrus encoder that the saved settings `config_dict` describe: a single
    model's (label "", every tensor its own), or each modality's of a fusion config (label " (modality 'ecg')", its
    tensors under `encoders.ecg.`): the size checks below read each encoder's own sizes, which a fusion config keeps in
    `modality_configs` (the top level holds none, so an edited modality went unchecked)."""
    if config_dict.get("model_type") != FUSION_MODEL_TYPE:
        return [("", config_dict, "")]
    modalities = config_dict.get("modality_configs")
    if not isinstance(modalities, dict):
        return []  # (not the mapping `save_pretrained` writes: the config itself refuses it)
    return [
        (f" (modality {name!r})", settings, f"encoders.{name}.")
        for name, settings in modalities.items()
        if isinstance(settings, dict)
    ]


def _check_layers_against_weights(folder: str, variant: str | None, config_dict: dict, source: str) -> None:
    """Refuse, before the model is built, saved settings (`config_dict`, read from `source`: "config.json", or the
    task config a LoRA adapter carries) whose transformer has more layers than the weights in `folder` hold: an edited
    or damaged `num_hidden_layers` (10**6) built layers until memory ran out, to report them all missing."""
    names = _saved_weight_map(folder, variant)
    if names is None:
        return
    for label, settings, prefix in _described_encoders(config_dict):
        layers = settings.get("num_hidden_layers")
        if not isinstance(layers, int):
            continue
        saved = {
            int(match.group(1))
            for name in names
            if name.startswith(prefix) and (match := re.search(r"(?:^|\.)layers\.(\d+)\.", name[len(prefix) :]))
        }
        if saved and layers > max(saved) + 1:
            raise ValueError(
                f"{folder!r}: {source}{label} says num_hidden_layers={layers}, and the weights hold {max(saved) + 1} "
                "transformer layers: the file was edited or damaged. Put back the layer count the model was saved "
                "with (or save it again)."
            )


def _saved_weight_shapes(folder: str, variant: str | None) -> dict[str, tuple[int, ...]] | None:
    """`{tensor name: shape}` from the headers of a local checkpoint's safetensors (every shard), None when they
    cannot be read (a missing or damaged file is reported by the load itself)."""
    from safetensors import safe_open

    try:
        weight_map = _saved_weight_map(folder, variant)
        if weight_map is None:
            return None
        shapes = {}
        for file in sorted(set(weight_map.values())):
            with safe_open(os.path.join(folder, file), framework="pt") as handle:
                shapes.update({key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()})
        return shapes
    except Exception:  # (damaged files: the load names them, with the fix)
        return None


# A config.json whose model holds more than this many times the weights' values (and more than
# `_SIZE_CHECK_SLACK` values beyond them) describes another model: sizes edited or damaged.
_SIZE_CHECK_FACTOR = 4
_SIZE_CHECK_SLACK = 2**24

# The settings that size an encoder (transformer and CNN stem) and a task head, for `_least_values`: a keyword of
# either group given to `from_pretrained` sets those sizes itself, and that group is left to the load.
_ENCODER_SIZE_FIELDS = ("d_model", "ffn_dim", "num_hidden_layers", "cnn_channels", "cnn_kernel_size", "backbone")
_HEAD_SIZE_FIELDS = ("num_labels", "id2label", "num_targets", "num_channels", "channel_pooling")


def _encoder_least_values(settings: dict) -> tuple[int, list[str]]:
    """A lower bound on the values of the encoder of the saved `settings` (plain JSON values): its transformer layers'
    attention (4 d_model^2) and feed-forward (2 d_model ffn_dim) weights and its CNN stem's convolutions (two per
    block, c_in c_out k). With the settings that made it; (0, []) where a size is missing or not a number (the load
    reports those)."""
    sizes = {name: settings.get(name) for name in ("d_model", "ffn_dim", "num_hidden_layers", "cnn_kernel_size")}
    channels = settings.get("cnn_channels")
    if not all(isinstance(value, int) and value > 0 for value in sizes.values()) or not (
        isinstance(channels, list) and all(isinstance(value, int) and value > 0 for value in channels)
    ):
        return 0, []
    backbone = settings.get("backbone", "hybrid")
    least, named = 0, []
    if backbone != "cnn":
        d_model, ffn_dim = sizes["d_model"], sizes["ffn_dim"]
        least += sizes["num_hidden_layers"] * (4 * d_model**2 + 2 * d_model * ffn_dim)
        named += [f"d_model={d_model}", f"ffn_dim={ffn_dim}", f"num_hidden_layers={sizes['num_hidden_layers']}"]
    if backbone != "transformer":
        kernel, inputs = sizes["cnn_kernel_size"], 1
        for outputs in channels:
            least += kernel * (inputs * outputs + outputs * outputs)
            inputs = outputs
        named.append(f"cnn_channels={channels}")
    return least, named


def _head_outputs(config_dict: dict, outputs_field: str) -> int | None:
    """The saved number of outputs of a task head (`num_labels`, or `id2label`'s entries, which is what
    `save_pretrained` writes for it; `num_targets`), None where it is not a positive integer (the config refuses it)."""
    outputs = config_dict.get(outputs_field)
    if outputs is None and outputs_field == "num_labels" and isinstance(config_dict.get("id2label"), dict):
        outputs = len(config_dict["id2label"])
    if outputs is None and outputs_field == "num_targets":
        outputs = 1  # (its default)
    return outputs if isinstance(outputs, int) and outputs > 0 else None


def _least_values(
    config_dict: dict, outputs_field: str | None = None, head_only: bool = False
) -> tuple[int, list[str]]:
    """A lower bound on the values a model of the saved settings `config_dict` holds, read from the plain JSON values
    (building a config would repeat its warnings): every encoder's (`_encoder_least_values`; a fusion config's
    modalities each), and, for a task class (`outputs_field`: "num_labels" / "num_targets"), its head's: outputs x
    d_model per channel it concatenates (`channel_pooling="concat"`: num_channels; a fusion head: one per modality),
    which `num_labels=10**8` or `num_channels=10**12` made gigabytes. With the settings that made it; `head_only`
    counts the head alone (encoder sizes given as keywords)."""
    least, named, head_width = 0, [], 0
    single = config_dict.get("model_type") != FUSION_MODEL_TYPE
    for label, settings, _ in _described_encoders(config_dict):
        values, names = _encoder_least_values(settings)
        if not head_only:
            least += values
            named += [f"{name}{label}" for name in names]
        d_model, channels = settings.get("d_model"), settings.get("num_channels", 1)
        if isinstance(d_model, int) and d_model > 0 and isinstance(channels, int) and channels > 0:
            concatenated = single and settings.get("channel_pooling", "concat") == "concat"
            head_width += d_model * (channels if concatenated else 1)
    outputs = _head_outputs(config_dict, outputs_field) if outputs_field else None
    if outputs is not None and head_width:
        least += outputs * head_width
        named += [f"{outputs_field}={outputs}"] + (
            [f"num_channels={config_dict.get('num_channels', 1)}"] if single else []
        )
    return least, named


def _check_sizes_against_weights(
    folder: str,
    variant: str | None,
    config_dict: dict,
    source: str,
    outputs_field: str | None = None,
    head_only: bool = False,
) -> None:
    """Refuse, before the model is built, saved settings (`config_dict`, read from `source`: "config.json", or the
    task config a LoRA adapter carries) that describe a model far larger than the weights in `folder`: an edited or
    damaged `ffn_dim` (10**7), `d_model` or `cnn_channels` allocated 5 to 40 GB per layer (in a fusion config: one
    modality's), and `num_channels` a task head of terabytes, before any weight was compared with them. See
    `_least_values` for `outputs_field` and `head_only`."""
    least, named = _least_values(config_dict, outputs_field, head_only)
    if least <= _SIZE_CHECK_SLACK:
        return
    shapes = _saved_weight_shapes(folder, variant)
    if not shapes:
        return
    held = sum(math.prod(shape) for shape in shapes.values())
    if least > _SIZE_CHECK_FACTOR * held + _SIZE_CHECK_SLACK:
        raise ValueError(
            f"{folder!r}: {source} describes a model of at least {least:,} values ({', '.join(named)}) and its "
            f"weights hold {held:,}: a size was edited or damaged. Put back the sizes the model was saved with (or "
            "save it again)."
        )


def check_saved_sizes(
    folder: str,
    variant: str | None,
    config_dict: dict,
    source: str = CONFIG_NAME,
    outputs_field: str | None = None,
    given: Mapping[str, Any] | None = None,
) -> None:
    """Refuse, before any model is built, saved settings that the weights of the local checkpoint `folder` cannot
    belong to: more transformer layers than saved, or a model (encoders and task head) far larger than the weights
    (`_check_layers_against_weights`, `_check_sizes_against_weights`). A few edited bytes of a downloaded config.json,
    fusion config or adapter task config otherwise built layers for minutes or failed inside torch's allocator.

    Args:
        folder: the checkpoint folder whose safetensors headers are read (no tensor is loaded).
        variant: the weights' `variant=` (`model.<variant>.safetensors`), or None.
        config_dict: the saved settings, as read from their JSON file (a single model's or a fusion model's).
        source: the file they were read from, for the message ("config.json", or an adapter's task config path).
        outputs_field: "num_labels" / "num_targets" for a task class (its head is counted too), else None.
        given: the caller's keyword arguments: a size among them is the caller's own choice, left to the load.

    Raises:
        ValueError: naming the file, the settings and what the weights hold.
    """
    given = given or {}
    if not any(name in given for name in ("num_hidden_layers", "modality_configs")):
        _check_layers_against_weights(folder, variant, config_dict, source)
    if "modality_configs" in given:
        return
    encoder_given = any(name in given for name in _ENCODER_SIZE_FIELDS)
    head_given = outputs_field is None or any(name in given for name in (outputs_field, *_HEAD_SIZE_FIELDS))
    if not (encoder_given and head_given):
        _check_sizes_against_weights(
            folder, variant, config_dict, source, None if head_given else outputs_field, head_only=encoder_given
        )


# Config fields that `from_pretrained` consumes itself even beside a `config=` object (`dtype="auto"`,
# `attn_implementation="eager"`): they are loading options, not overrides of the config.
_LOADING_OPTIONS_ON_THE_CONFIG = frozenset(("dtype", "torch_dtype", "attn_implementation", "experts_implementation"))


def check_dtype_keywords(call: str, kwargs: Mapping[str, Any]) -> None:
    """Refuse `dtype` and `torch_dtype` (transformers' older name of the same loading option) both given to `call`
    among `kwargs` with different values (`torch.float16` and "float16" are the same): transformers lets `dtype` win
    without a word, so a model loaded in float32 for `torch_dtype=torch.float32` ran in the other dtype.

    Raises:
        ValueError: the two disagree; which one was meant is the caller's to say.
    """
    given = {name: kwargs[name] for name in ("dtype", "torch_dtype") if kwargs.get(name) is not None}
    named = {value if isinstance(value, str) else str(value).removeprefix("torch.") for value in given.values()}
    if len(named) > 1:
        raise ValueError(
            f"{call}: `dtype={given['dtype']!r}` and `torch_dtype={given['torch_dtype']!r}` disagree (`torch_dtype` "
            "is transformers' older name of `dtype`): pass one of them."
        )


def _from_pretrained_call(model_class: type, kwargs: Mapping[str, Any]) -> str:
    """The `from_pretrained` call the user made, as messages name it: that of the Auto class that called
    `model_class.from_pretrained` with the keywords `kwargs`, else `model_class`'s own. Without the package installed
    (remote code) nothing else tells the Auto call apart: `AutoModelForSequenceClassification.from_pretrained(repo,
    trust_remote_code=True, ...)` was refused as "CiTrusForSequenceClassification.from_pretrained: ...", a call the
    user never typed. transformers' Auto factory says so itself: it passes `_from_auto=True` and, for remote code,
    registers the class for the calling Auto class (`register_for_auto_class`, `_auto_class`) just before the call;
    the package's own classes are registered for the Auto class that maps to them. (Reading the caller's frame broke
    where frames are not available and named the class where transformers wraps or renames its function.)"""
    auto_class = getattr(model_class, "_auto_class", None) if kwargs.get("_from_auto") else None
    if isinstance(auto_class, str) and auto_class.startswith("Auto"):
        return f"{auto_class}.from_pretrained"
    return f"{model_class.__name__}.from_pretrained"


def _check_config_keyword(model_class: type, kwargs: dict[str, Any]) -> None:
    """Refuse a `config=` that `from_pretrained` cannot use as given: a dict (the contents of a config.json), which
    transformers took for a path and failed on inside `os.stat`; or a config object given beside config fields
    (`config=config, num_labels=3`). transformers uses a config object as it is and passes every other keyword to the
    model's `__init__`, whose TypeError ("unexpected keyword argument 'num_labels'") suggested the field was no CiTrus
    setting at all; without `config=` the same keywords override the checkpoint's config.

    Raises:
        TypeError: `config=` is neither a config nor a path, or a config of another class than `config_class`.
        ValueError: config fields given beside a config object, naming them and both fixes.
    """
    config, config_class = kwargs.get("config"), model_class.config_class
    if config is None or isinstance(config, (str, os.PathLike)):
        return
    # a dict, another model's config (PatchTST's) or the other CiTrus family's: refused before the checkpoint is read
    model_class._check_config_class(config, keyword=True)
    fields = [name for name in kwargs if name in config_field_names(config_class)]
    overrides = [name for name in fields if name not in _LOADING_OPTIONS_ON_THE_CONFIG]
    if overrides:
        example = f"{overrides[0]}={kwargs[overrides[0]]!r}"
        raise ValueError(
            f"{model_class.__name__}.from_pretrained was given `config=` and the config field(s) {overrides}: a "
            "config given as `config=` is used as it is, so keywords cannot change it. Set them on the config "
            f"object before the call (`config.{example.replace('=', ' = ', 1)}`), or leave `config=` out and pass "
            f"them as keywords (`from_pretrained(path, {example})`), which override the checkpoint's config."
        )


def _refuse_citrus_adapter(folder, download_kwargs: dict | None = None) -> None:
    """Refuse a CiTrus LoRA adapter (a folder or a Hub repo) given to `from_pretrained` (directly, or by transformers'
    Auto classes, which load the adapter's base and then the adapter: the base would get a default head, and the
    adapter's trained head would fail on its shape with an error naming the base), with the routes that read its task
    config."""
    if folder is not None and _checkpoint_file(folder, ADAPTER_TASK_CONFIG_NAME, download_kwargs):
        raise ValueError(
            f"{str(folder)!r} is a CiTrus LoRA adapter, whose task head's settings ({ADAPTER_TASK_CONFIG_NAME}) "
            "`from_pretrained` does not read: load it with "
            f"`citrus_hf.training.lora.load_adapter(None, {str(folder)!r})` (then `merge_adapter` for a plain model), "
            f"or run it with `pipeline(model={str(folder)!r})`."
        )


# The task-head settings that decide what a head computes from the encoder beside its weights' shape (which features
# it reads, how it pools them over patches and channels): a head of the same shape read under other ones gives other
# outputs, which no size check sees
_HEAD_READING_FIELDS = ("head_features", "pooling", "channel_pooling")


def _refuse_other_head_settings(model: nn.Module, adapter, download_kwargs: dict | None = None) -> None:
    """Refuse loading the CiTrus LoRA adapter `adapter` (a folder or Hub repo) onto the task model `model` when its
    `citrus_task_config.json` records other `_HEAD_READING_FIELDS` than the model's config: peft's loaders and
    transformers' `load_adapter` build nothing from that file, so an adapter trained with `pooling="max"` loaded onto
    a model built with the default "mean" put its head on other features without a word."""
    path = _checkpoint_file(adapter, ADAPTER_TASK_CONFIG_NAME, download_kwargs) if adapter is not None else None
    # (a fusion model's encoders each keep their own head settings, in its config's encoder configs)
    if (
        path is None
        or getattr(type(model), "head_name", None) is None
        or model.config.model_type != CiTrusConfig.model_type
    ):
        return
    try:
        with open(path, encoding="utf-8") as handle:
            saved = json.load(handle)
    except (OSError, ValueError):
        return  # the loaders that read the file name a damaged one
    config = model.config
    one_channel = int(saved.get("num_channels") or 1) == 1 and config.num_channels == 1
    differences = [
        field
        for field in _HEAD_READING_FIELDS
        if isinstance(saved, dict)
        and field in saved
        and saved[field] != getattr(config, field)
        and not (field == "channel_pooling" and one_channel)  # one channel pools alike either way
    ]
    if differences:
        trained = ", ".join(f"{field}={saved[field]!r}" for field in differences)
        here = ", ".join(f"{field}={getattr(config, field)!r}" for field in differences)
        raise ValueError(
            f"The adapter {str(adapter)!r} was trained with {trained} ({ADAPTER_TASK_CONFIG_NAME}), and this "
            f"{type(model).__name__} has {here}: its head would read other features and give other outputs. Build "
            f"the model with them (`from_pretrained(base, {trained})`), or load it with "
            f"`citrus_hf.training.lora.load_adapter(None, {str(adapter)!r})` or `pipeline(model={str(adapter)!r})`."
        )


# The config fields that name a task model's outputs (a classifier's classes, a regressor's targets) and say how they
# are scored (`problem_type`: one softmax over the classes, or each class on its own, multi-label): one config holds
# them for every adapter on the model, and `set_adapter` switches heads (`modules_to_save`), not configs
ADAPTER_OUTPUT_NAME_FIELDS = ("id2label", "label2id", "problem_type")
# An attribute of the model that holds the adapters (a `PeftModel`, or a CiTrus model given adapters with
# transformers' `load_adapter`): adapter name -> the output names (and `problem_type`) it was trained with
_ADAPTER_OUTPUT_NAMES = "_citrus_output_names"


def adapter_output_names(adapter, download_kwargs: dict | None = None) -> dict[str, Any] | None:
    """The output names in the `citrus_task_config.json` of the adapter `adapter` (a folder, or a Hub repo through
    its cache: `_checkpoint_file`): `id2label` with int keys, `label2id` and its `problem_type`; None where it has no
    such file (peft's own save) or the file names none."""
    path = _checkpoint_file(adapter, ADAPTER_TASK_CONFIG_NAME, download_kwargs) if adapter is not None else None
    if path is None:
        return None
    # (a damaged file is left to the loaders that read it, which name it: here it only names nothing)
    try:
        with open(path, encoding="utf-8") as handle:
            saved = json.load(handle)
        id2label = {int(index): name for index, name in dict(saved.get("id2label") or {}).items()}
        label2id = saved.get("label2id") or {name: index for index, name in id2label.items()}
        label2id = {name: int(index) for name, index in dict(label2id).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    names = {"id2label": id2label, "label2id": label2id, "problem_type": saved.get("problem_type")}
    return names if id2label else None


def output_names_of(config) -> dict[str, Any]:
    """The fields of `config` that name its outputs (`ADAPTER_OUTPUT_NAME_FIELDS`), copied."""
    # (a `problem_type` of None, a single-label classifier's default, is recorded too: it must come back)
    return {
        field: copy.deepcopy(getattr(config, field, None))
        for field in ADAPTER_OUTPUT_NAME_FIELDS
        if field == "problem_type" or getattr(config, field, None)
    }


def record_adapter_output_names(
    holder: nn.Module, adapters: Iterable[str], before: dict[str, Any], adapter_name: str, active: Any, saved
) -> None:
    """The one rule by which a loaded adapter brings its output names, for peft's `load_adapter` (`holder` a
    `PeftModel`) and transformers' (`holder` the CiTrus model): the adapters on `holder` (`adapters`, the new one
    among them) that have no record keep the names the model had before the load (`before`), and the new adapter
    `adapter_name`, unless it is the `active` one (the first, or one reloaded, which keeps the names it shows), gets
    the names it was saved with (`saved`, `adapter_output_names`; None: the model's)."""
    recorded = holder.__dict__.setdefault(_ADAPTER_OUTPUT_NAMES, {})
    for name in adapters:
        recorded.setdefault(name, before)
    if saved is not None and adapter_name != active:
        recorded[adapter_name] = saved


def show_adapter_output_names(holder: nn.Module, config, adapter_name: Any) -> None:
    """Set the output names (and `problem_type`) recorded on `holder` for `adapter_name` on `config`, where any
    are (`set_adapter`, and the adapter left active after `delete_adapter`)."""
    names = holder.__dict__.get(_ADAPTER_OUTPUT_NAMES, {}).get(adapter_name) if isinstance(adapter_name, str) else None
    for field, value in (names or {}).items():
        setattr(config, field, copy.deepcopy(value))


def forget_adapter_output_names(holder: nn.Module, adapter_name: str) -> None:
    """Drop the names recorded for a deleted adapter (a new one under its name gets its own at `set_adapter`)."""
    holder.__dict__.get(_ADAPTER_OUTPUT_NAMES, {}).pop(adapter_name, None)


def recorded_adapter_output_names(holder: nn.Module, adapter_name: str) -> dict[str, Any]:
    """The output names recorded on `holder` for `adapter_name` (empty where none are)."""
    return holder.__dict__.get(_ADAPTER_OUTPUT_NAMES, {}).get(adapter_name, {})


def _holds_trainable_adapter(encoder: nn.Module) -> bool:
    """Whether `encoder` holds a peft tuner layer (each wraps the `base_layer` it adapts) with a parameter that
    trains: one frozen with the rest (the encoder frozen after the adapter, a linear probe) does not count. A frozen
    encoder with one ends its freezing when the model trains (`train()`): kept in eval mode, the adapter's dropout was
    off without a word."""
    return any(
        parameter.requires_grad
        for module in encoder.modules()
        if hasattr(module, "base_layer")
        for name, parameter in module.named_parameters()
        if not name.startswith("base_layer.")
    )


# What a `PeftModel` (which the installed peft runs) offers for each of transformers' adapter methods that need a
# newer peft (`_check_peft_for_adapter_api`)
_PEFT_MODEL_EQUIVALENTS = {
    "set_adapter": "peft_model.set_adapter(name)",
    "delete_adapter": "peft_model.delete_adapter(name)",
    "add_adapter": "peft_model.add_adapter(name, config)",
    "enable_adapters": "peft_model.enable_adapter_layers()",
    "disable_adapters": "`with peft_model.disable_adapter():`",
    "active_adapters": "peft_model.active_adapters",
    "save_pretrained": "peft_model.save_pretrained(folder)",
}


def _check_peft_for_adapter_api(model: nn.Module, method: str) -> None:
    """Refuse, in one line naming the installed peft and both ways on, transformers' adapter method `method` of
    `model` (set_adapter, delete_adapter, save_pretrained of a model holding adapters, ...) where the installed peft is
    older than that API needs: transformers loads an adapter with any peft this package takes (`model.load_adapter`),
    then refused the next step ("The version of PEFT you are using is not compatible, please use a version >=
    0.22.0"), `save_pretrained` from deep inside its own code, after a whole training run.

    Raises:
        ValueError: naming the method, the version needed and installed, the upgrade and peft's own route.
    """
    import importlib.metadata

    from transformers.integrations import peft as transformers_peft

    try:
        transformers_peft.check_peft_version(min_version=transformers_peft.MIN_PEFT_VERSION)
    except ValueError:
        needed = transformers_peft.MIN_PEFT_VERSION
        try:
            installed = f"peft {importlib.metadata.version('peft')} is installed"
        except importlib.metadata.PackageNotFoundError:
            installed = "peft is not installed"
        raise ValueError(
            f"{type(model).__name__}.{method} is transformers' adapter API, which needs peft >= {needed}, and "
            f'{installed}: upgrade it (`pip install -U "peft>={needed}"`), or put the adapters on the model with '
            "peft's own model, which this peft runs: `peft_model = peft.PeftModel.from_pretrained(model, folder)` "
            "(or `citrus_hf.training.lora.load_adapter(model, folder)`) on a model loaded without them, then "
            f"{_PEFT_MODEL_EQUIVALENTS.get(method, 'peft_model.' + method)}."
        ) from None


def _is_tuner_layer(module: nn.Module) -> bool:
    """Whether `module` is a layer peft put in the model (it wraps the `base_layer` it adapts, and names its active
    adapters)."""
    return hasattr(module, "base_layer") and isinstance(getattr(module, "active_adapters", None), list)


def _is_adapter_tensor(key: str) -> bool:
    """A tensor that peft put into the model (a LoRA matrix, or the adapter's own copy of a module it saves in full,
    such as the task head), not one of the model's own."""
    return ".modules_to_save." in key or ".lora_" in key


def _channel_settings_hint(config, width: int) -> str:
    """What to build a task model with so that its head takes `width` features: a head's width is channels x the
    per-channel width of `head_features` and `pooling`, so a multiple of this config's per-channel width names a
    channel count, which is only a guess (another pooling, such as "mean_max", doubles the width too)."""
    per_channel = _pooled_width(config, config.head_features, config.pooling)
    settings = "the channel and pooling settings it was trained with (num_channels, channel_pooling, pooling)"
    if width % per_channel:
        return settings
    return f"{settings}: num_channels={width // per_channel}, channel_pooling='concat' if it saw {width // per_channel} channel(s)"


def _adapter_mismatch_error(adapter, model: nn.Module, mismatched: list) -> ValueError:
    """The error for an adapter (loaded by transformers' adapter path: `AutoModelForSequenceClassification
    .from_pretrained(adapter)`) whose tensors do not fit the model built from its base: the fix is the head's settings
    or a route that reads them, never `ignore_mismatched_sizes=True`, which would drop the trained head for a random
    one."""
    head_name = getattr(type(model), "head_name", None)
    head_weight = next(
        (
            (key, tuple(saved), tuple(built))
            for key, saved, built in mismatched
            if key.split(".", 1)[0] == head_name and key.endswith(".weight")
        ),
        None,
    )
    where = f"{str(adapter)!r} is a LoRA adapter (peft)" if adapter else "This is a LoRA adapter (peft)"
    folder = repr(str(adapter)) if adapter else "adapter_folder"
    if head_weight is not None and len(head_weight[1]) == 2:
        (outputs, width), (built_outputs, built_width) = head_weight[1], head_weight[2]
        setting = type(model).outputs_field
        problem = f"its trained `{head_name}` has shape {head_weight[1]}, the one built from its base {head_weight[2]}"
        fixes = []
        if outputs != built_outputs:
            fixes.append(f"{setting}={outputs}")
        if width != built_width:
            fixes.append(_channel_settings_hint(model.config, width))
        fix = f"pass {' and '.join(fixes)} to `from_pretrained`" if fixes else "build the base it was trained on"
        if not adapter:  # peft's own loaders (AutoPeftModel, PeftModel): they build the base from its own config
            problem += f" (peft builds the base from its own config, not from the adapter's {ADAPTER_TASK_CONFIG_NAME})"
            fix += " (`AutoPeftModel*.from_pretrained` passes it on to the base)" if fixes else ""
    else:
        shown = ", ".join(f"{key} {tuple(saved)} vs {tuple(built)}" for key, saved, built in mismatched[:4])
        problem = f"its tensors do not fit the model built from its base ({shown})"
        fix = "build the base it was trained on"
    return ValueError(
        f"{where}: {problem}. To keep what it learnt, {fix}, or load it with "
        f"`citrus_hf.training.lora.load_adapter(None, {folder})` or `pipeline(model={folder})`. "
        "(`ignore_mismatched_sizes=True` would replace the adapter's trained head by a random one.)"
    )


def _check_adapter_head_fits(model: nn.Module, state_dict: dict, prefix: str) -> None:
    """Run by the task models as `load_state_dict` reaches them: a LoRA adapter's saved head (peft's
    `modules_to_save` copy) that does not fit the head built here is refused with what to build instead. peft's own
    loaders (`AutoPeftModel*`, `PeftModel.from_pretrained`) build the base from the base's config, so an adapter
    trained with another `num_labels` or channel count would otherwise stop on torch's size-mismatch report."""
    head_prefix = f"{prefix}{model.head_name}."
    # (a dynamically quantized head's state_dict also holds its packed weights' dtype, a `torch.dtype`: no shape)
    built = {
        name: tuple(tensor.shape)
        for name, tensor in getattr(model, model.head_name).state_dict().items()
        if isinstance(tensor, torch.Tensor)
    }
    mismatched = []
    for key, tensor in state_dict.items():
        name = key[len(head_prefix) :] if key.startswith(head_prefix) else None
        if name in built and _is_adapter_tensor(key) and tuple(tensor.shape) != built[name]:
            mismatched.append((key[len(prefix) :], tuple(tensor.shape), built[name]))
    if mismatched:
        raise _adapter_mismatch_error(None, model, mismatched)


def _comparable(value: Any) -> Any:
    """A config value as recorded when a model is built: lists as tuples (a saved and reloaded config holds lists
    where the defaults are tuples)."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _is_tracing() -> bool:
    """True under torch.export / ONNX export / `torch.jit.trace` / `torch.compile` and under torch.func's transforms
    (`vmap`, `grad`, `jacrev`...), where data-dependent checks cannot run or would split the graph: under
    `torch.compile` each check was a graph break, so `fullgraph=True` failed inside dynamo and a plain compile ran four
    graphs, and under `vmap` (per-sample gradients, PyTorch's recipe that DP-SGD tools run) a check's `bool(...)` of a
    batched tensor stopped on functorch's "data-dependent control flow" error. Traced or transformed, the model takes
    inputs as they come (a NaN window gives NaN logits): check them eagerly first, or run the model plainly, which
    names the problem."""
    return (
        torch.compiler.is_compiling()
        or torch.compiler.is_exporting()
        or torch.jit.is_tracing()
        or torch._C._are_functorch_transforms_active()
    )


# Dataset columns that hold labels under another name than `labels` (the Trainer keeps every column whose name holds
# "label", and those in `label_names`): `target` is the package's regression sets' and `citrus finetune`'s,
# `target_values` transformers' PatchTST's (`PatchTSTForClassification` / `ForRegression`, the package's baseline).
_LABEL_LIKE_NAMES = ("target", "targets", "target_values", "y", "class", "classes")
# Other time-series models' names for a CiTrus model's inputs (transformers' PatchTST's), with what they are called
# here and how to pass them: the advice for such a forward keyword, where the generic "drop it" would throw away the
# signal.
_FOREIGN_INPUT_ADVICE = {
    "past_values": "the signal is `input_values` (batch, channels, time), PatchTST's `past_values` (batch, time, "
    "channels) transposed: pass `input_values=x.transpose(1, 2)` (for a dataset column, transpose each row and "
    "rename it: `dataset.rename_column('past_values', 'input_values')`).",
    "past_observed_mask": "a CiTrus model marks padding per patch, as `patch_mask` (batch, num_patches), which the "
    "feature extractor returns beside `input_values`; missing samples (NaN) are filled before the model sees them "
    "(`CiTrusFeatureExtractor(nan_policy='interpolate')`). Drop PatchTST's per-sample mask.",
}

# The model's advice for input it accepts with a warning or refuses, and the name it gives the input in warnings.
# Context variables, as the feature extractor's `LONG_RECORDING_ADVICE`: the fusion model, whose encoders are CiTrus
# models, sets its own (a modality's name, the fusion processor) while it runs them, without changing any encoder.
INPUT_NAME: contextvars.ContextVar[str] = contextvars.ContextVar("citrus_input_name", default="`input_values`")
# Set while the input is windows the feature extractor cut from recordings it checked (`windows_of_checked_recordings`)
_LAYOUT_CHECKED: contextvars.ContextVar[bool] = contextvars.ContextVar("citrus_layout_checked", default=False)
LONG_INPUT_ADVICE: contextvars.ContextVar[str] = contextvars.ContextVar(
    "citrus_long_input_advice",
    default="To cover a long recording window by window, align it with CiTrusFeatureExtractor(..., "
    "alignment='window') or use the pipeline.",
)
# `{channels}`: the channel count of the input
CHANNEL_COUNT_ADVICE: contextvars.ContextVar[str] = contextvars.ContextVar(
    "citrus_channel_count_advice",
    default="select those channels, or build the task model for your data's channels "
    "(`from_pretrained(checkpoint, num_labels=..., num_channels={channels})`: a pre-training checkpoint's encoder takes "
    "any count), or use a config with channel_pooling='mean' to accept any channel count.",
)


def _transposed_layout_hint(shape: tuple[int, ...]) -> str:
    """The sentence for `input_values` of `shape` that may be `(batch, time, channels)`."""
    return (
        f"`input_values` of shape {shape} looks like (batch, time, channels). CiTrus models take (batch, channels, "
        "time), unlike PatchTST's `past_values`: pass `x.transpose(1, 2)`."
    )


def _channel_count_error(num_channels: int, shape: tuple[int, ...]) -> ValueError:
    """The error for input of `shape` `(batch, channels, time)` (or `(batch, channels)` where the length is not known)
    given to a head that concatenates exactly `num_channels` channels: a `(batch, time, channels)` tensor when the time
    axis holds `num_channels` or the input has more channels than samples, else the fix for data with another channel
    count (`CHANNEL_COUNT_ADVICE`)."""
    channels = shape[1]
    problem = (
        f"This model was built for {num_channels} channel(s) (channel_pooling='concat') but the input has {channels}"
    )
    if len(shape) == 3 and (shape[2] == num_channels or channels > shape[2]):
        return ValueError(f"{problem}: {_transposed_layout_hint(shape)}")
    return ValueError(f"{problem}; " + CHANNEL_COUNT_ADVICE.get().format(channels=channels))


def _window_bookkeeping_error(method: str, name: str) -> TypeError:
    """The error for `method` given the extractor's `alignment="window"` bookkeeping `name` (`model(**features)`,
    `model.embed(**features)`)."""
    return TypeError(
        f"CiTrus {method}() got `{name}`, which says where the windows of alignment='window' come from and is no model "
        "input: pass only `input_values` and `patch_mask` (`{k: v for k, v in features.items() if k in "
        "extractor.model_input_names}`), or use `citrus_hf.inference.predict_windows` or the pipeline."
    )


def _reject_text_kwargs(kwargs: dict) -> None:
    for name, value in kwargs.items():
        if name in WINDOW_BOOKKEEPING:
            raise _window_bookkeeping_error("forward", name)
        if name == "labels":  # the task models take `labels` by name: only an encoder gets it among its kwargs
            raise TypeError(
                "CiTrus forward() got `labels`, but this is an encoder, which returns hidden states and computes no "
                "loss: fit labels with a task model (CiTrusForSequenceClassification / CiTrusForRegression, or "
                "`AutoModelForSequenceClassification.from_pretrained(...)`), or drop the `labels`."
            )
        if name not in _TEXT_MODEL_KWARGS and ("label" in name.lower() or name.lower() in _LABEL_LIKE_NAMES):
            # a label column under another name: dropping it, the advice below, would lose the labels
            raise TypeError(
                f"CiTrus forward() got an unexpected keyword argument {name!r}: the model takes its labels as "
                f"`labels`. Rename the column (`dataset.rename_column({name!r}, 'labels')`, and keep the Trainer's "
                "`label_names` at ['labels'])"
                + (
                    ", or collate with `processing_class=extractor` / `DataCollatorWithPadding(extractor)`, which "
                    "renames `label` to `labels`."
                    if name in ("label", "label_ids")
                    else "."
                )
            )
        if name in _FOREIGN_INPUT_ADVICE:
            raise TypeError(
                f"CiTrus forward() got an unexpected keyword argument {name!r}, another model's name: "
                + _FOREIGN_INPUT_ADVICE[name]
            )
        if name not in _TEXT_MODEL_KWARGS:
            # most often a dataset column the Trainer passed on because `remove_unused_columns=False`
            raise TypeError(
                f"CiTrus forward() got an unexpected keyword argument {name!r}. The model takes `input_values`, "
                f"`patch_mask` and `labels`: if {name!r} is a dataset column, drop it (`dataset.remove_columns"
                f"([{name!r}])`) or let the Trainer drop unused columns (`remove_unused_columns=True`)."
            )
        if value is not None and name == "attention_mask":
            raise ValueError(
                "CiTrus models take their padding mask as `patch_mask` (batch, num_patches), which the feature "
                "extractor returns beside `input_values`, not as `attention_mask`."
            )
        if value is not None:
            raise ValueError(
                f"CiTrus models take bio-signals as `input_values` (batch, channels, time), not `{name}`. "
                "With peft, create the LoRA config with `task_type=None, modules_to_save=['classifier']` "
                "(`['regressor']` for CiTrusForRegression), so that the new head trains and is saved in full, or use "
                "`citrus_hf.training.lora.apply_lora`."
            )


# ----------------------------------------------------------------------------------------------------------------------
# Output dataclasses
# ----------------------------------------------------------------------------------------------------------------------


@dataclass
class CiTrusModelOutput(ModelOutput):
    r"""
    Output of `CiTrusModel`.

    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(batch_size, num_channels, num_tokens, d_model)`):
            The "context" features: transformer output per channel and patch (`num_tokens = num_patches + 1` with a
            CLS token, which comes first). For `backbone="cnn"` these are the CNN features.
        encoded_states (`torch.FloatTensor` of shape `(batch_size, num_channels, num_patches, d_model)`):
            The "encoded" features: the CNN stem's (or linear patch embedding's) token per patch, before masking.
            Masked patches are not encoded at all and hold the mask token.
        token_mask (`torch.BoolTensor` of shape `(batch_size, num_channels, num_patches)`, *optional*):
            True where a patch was replaced by the mask token.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*): the input of every transformer layer and the final
            output, each `(batch_size, num_channels, num_tokens, d_model)` (`backbone="cnn"`: the final output alone).
        attentions (`tuple(torch.FloatTensor)`, *optional*): with `output_attentions=True`, the attention weights of
            every transformer layer after the softmax (none for `backbone="cnn"`: an empty tuple), each
            `(batch_size * num_channels, num_time_heads, num_tokens, num_tokens)`: one row per channel's sequence (channel by channel within each example, as PatchTST
            flattens them), attending over that channel's tokens. Every `attn_implementation` returns them: a call
            that asks for them computes its attention eagerly (the same outputs; SDPA returns no weights).
            `num_time_heads` is `num_attention_heads`, or for `attention_type="criss_cross"` the heads that attend
            across time, `num_attention_heads - num_channel_attention_heads` (0 when every head attends across
            channels). When the last layer ran only at some positions (`positions_to_keep`), its entry is
            `(batch_size * num_channels, num_time_heads, num_kept, num_tokens)`.
        channel_attentions (`tuple(torch.FloatTensor)`, *optional*): with `output_attentions=True` and
            `attention_type="criss_cross"` with channel heads, the weights of the heads that attend across channels,
            per layer, each `(batch_size * num_tokens, num_channel_attention_heads, num_channels, num_channels)`:
            one row per token position (position by position within each example). Together with `attentions`,
            every head of the layer. `None` otherwise.
    """

    last_hidden_state: torch.FloatTensor | None = None
    encoded_states: torch.FloatTensor | None = None
    token_mask: torch.BoolTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None
    channel_attentions: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class CiTrusForPretrainingOutput(ModelOutput):
    r"""
    Output of `CiTrusForPretraining`.

    Args:
        loss (`torch.FloatTensor` of shape `()`): the objective's loss over masked (non-padding) patches.
        reconstruction (`torch.FloatTensor` of shape `(batch_size, num_channels, sequence_length)`, *optional*):
            The window as the model completes it: predicted samples in masked patches, input samples elsewhere.
            `None` for the spectrogram objective (its prediction is not a signal).
        prediction (`torch.FloatTensor` of shape `(batch_size, num_channels, num_patches, target_size)`):
            The objective's prediction per patch (samples for "time" and "fourier", spectrogram bins for
            "spectrogram"). Only the scored (masked) patches are predicted; the others are zero.
        target (`torch.FloatTensor` of shape `(batch_size, num_channels, num_patches, target_size)`):
            What `prediction` is compared with.
        token_mask (`torch.BoolTensor` of shape `(batch_size, num_channels, num_patches)`):
            True where the loss is taken (the masked patches).
        last_hidden_state (`torch.FloatTensor` of shape `(batch_size, num_channels, num_tokens, d_model)`, *optional*):
            The context of every patch. `None` when the last transformer layer ran only at the masked patches, which
            is what happens by default (the mask drawn by the model, no whole-channel masking): the loss reads
            nothing else. Pass `output_hidden_states=True` to run it everywhere and get this field, or use
            `CiTrusModel` for features.
        hidden_states, attentions, channel_attentions: as in `CiTrusModelOutput` (`output_attentions=True` runs the
            last layer at every position, so every entry of `attentions` covers all tokens).
    """

    loss: torch.FloatTensor | None = None
    reconstruction: torch.FloatTensor | None = None
    prediction: torch.FloatTensor | None = None
    target: torch.FloatTensor | None = None
    token_mask: torch.BoolTensor | None = None
    last_hidden_state: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None
    channel_attentions: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class CiTrusRegressionOutput(ModelOutput):
    r"""
    Output of `CiTrusForRegression`.

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*): mean squared error, when `labels` are given.
        logits (`torch.FloatTensor` of shape `(batch_size, num_targets)`): the predicted targets.
        hidden_states, attentions, channel_attentions: as in `CiTrusModelOutput`.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None
    channel_attentions: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class CiTrusSequenceClassifierOutput(SequenceClassifierOutput):
    r"""
    Output of `CiTrusForSequenceClassification`: transformers' `SequenceClassifierOutput` (`loss`, `logits` of
    shape `(batch_size, num_labels)`, `hidden_states`, `attentions`), with the criss-cross attention's channel heads.

    Args:
        hidden_states, attentions, channel_attentions: as in `CiTrusModelOutput`.
    """

    channel_attentions: tuple[torch.FloatTensor, ...] | None = None


# ----------------------------------------------------------------------------------------------------------------------
# Patching and masking
# ----------------------------------------------------------------------------------------------------------------------


def patchify(input_values: torch.Tensor, patch_length: int) -> torch.Tensor:
    """Non-overlapping patches as a reshape (not `Tensor.unfold`, which ONNX export cannot handle).

    Args:
        input_values: `(batch_size, num_channels, context_length)`, `context_length` a multiple of `patch_length`.
    Returns:
        `(batch_size, num_channels, num_patches, patch_length)`.
    """
    batch_size, num_channels, context_length = input_values.shape
    return input_values.reshape(batch_size, num_channels, context_length // patch_length, patch_length)


def unpatchify(patches: torch.Tensor) -> torch.Tensor:
    """`(batch_size, num_channels, num_patches, patch_length)` -> `(batch_size, num_channels, context_length)`."""
    batch_size, num_channels, num_patches, patch_length = patches.shape
    return patches.reshape(batch_size, num_channels, num_patches * patch_length)


class CiTrusMasking(nn.Module):
    """Chooses which patches the pre-training task hides.

    The number of masked patches per channel sequence is exactly `round(mask_ratio * num_patches)`. With
    `mask_block_size > 1` they come in contiguous blocks on a grid with a random offset, so a masked region cannot be
    filled in by copying a neighbouring patch (block masking). `mask_mode` decides whether channels share a mask
    ("shared"), draw their own ("per_channel"), or share it within a modality ("per_modality", e.g. EEG vs EOG). On
    top, `channel_mask_ratio` hides whole channels (dual masking), exactly `round(channel_mask_ratio * C)` of them.

    In a batch with padding (`patch_mask`), each window's mask is drawn over its real patches only, as if it were
    alone: `round(mask_ratio * real)` of them, one at least kept visible, and no padding patch. Drawn over the whole
    padded width, a 4-patch window batched with a 100-patch one had all its patches masked a third of the time (to be
    reconstructed from nothing) and none another third.
    """

    def __init__(self, config: CiTrusConfig):
        super().__init__()
        self.mask_ratio = config.mask_ratio
        self.mask_block_size = config.mask_block_size
        self.mask_mode = config.mask_mode
        self.channel_mask_ratio = config.channel_mask_ratio
        if config.channel_modalities is not None:
            names = list(dict.fromkeys(config.channel_modalities))
            self.modality_of_channel = [names.index(m) for m in config.channel_modalities]
            self.num_modalities = len(names)
        else:
            self.modality_of_channel = None
            self.num_modalities = 1

    def num_masked(self, num_patches: int) -> int:
        """Patches masked in every sequence of `num_patches`: `round(mask_ratio * num_patches)`, at least one
        masked and one visible."""
        return min(num_patches - 1, max(1, round(self.mask_ratio * num_patches)))

    def _block_mask(
        self, num_rows: int, num_patches: int, device: torch.device, real: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`(num_rows, num_patches)` bool with exactly `num_masked(num_patches)` True per row; with `real`
        `(num_rows, num_patches)` bool (False = padding), `num_masked` of each row's real patches, among those only
        (`_block_mask_within`)."""
        if real is not None:
            return self._block_mask_within(real)
        num_masked = self.num_masked(num_patches)
        block = min(self.mask_block_size, num_patches)
        positions = torch.arange(num_patches, device=device)
        offsets = torch.randint(0, block, (num_rows, 1), device=device)
        block_index = (positions + offsets) // block  # (num_rows, num_patches)
        num_blocks = (num_patches + block - 1) // block + 1
        # Rank blocks randomly; patches inherit their block's rank and keep their order inside it, so taking the
        # first `num_masked` patches of the sorted order takes whole blocks (the last one possibly cut short).
        block_rank = torch.rand(num_rows, num_blocks, device=device).argsort(dim=1).argsort(dim=1)
        order_key = block_rank.gather(1, block_index) * num_patches + positions
        chosen = order_key.argsort(dim=1)[:, :num_masked]
        mask = torch.zeros(num_rows, num_patches, dtype=torch.bool, device=device)
        return mask.scatter_(1, chosen, True)

    def _block_mask_within(self, real: torch.Tensor) -> torch.Tensor:
        """`_block_mask` drawn over each row's real patches (`real` `(num_rows, num_patches)` bool), counted in their
        order as if the padding were not there: blocks on a grid of the row's own offset, `num_masked(real)` patches
        masked per row (none in a row of one real patch, which must stay visible). Each row's own count and block make
        one `torch.randint` per batch impossible, so a padded batch draws other numbers than `_block_mask` would."""
        num_rows, num_patches = real.shape
        counts = real.sum(dim=1)  # (num_rows,)
        # `num_masked` per row, in float64 as Python's `round` computes it (both round half to even)
        wanted = torch.round(self.mask_ratio * counts.to(torch.float64)).long()
        num_masked = torch.minimum(counts - 1, wanted.clamp(min=1)).clamp(min=0)
        block = counts.clamp(max=self.mask_block_size, min=1)[:, None]
        position = (real.long().cumsum(dim=1) - 1).clamp(min=0)  # (num_rows, num_patches): rank among real patches
        offsets = (torch.rand(num_rows, 1, device=real.device) * block).long()  # in [0, block)
        block_index = (position + offsets) // block  # at most num_patches
        block_rank = torch.rand(num_rows, num_patches + 1, device=real.device).argsort(dim=1).argsort(dim=1)
        order_key = block_rank.gather(1, block_index) * num_patches + position
        order_key = order_key.masked_fill(~real, (num_patches + 1) * num_patches)  # padding sorts last
        order = order_key.argsort(dim=1).argsort(dim=1)  # each patch's place in its row's order
        return (order < num_masked[:, None]) & real

    def forward(
        self,
        batch_size: int,
        num_channels: int,
        num_patches: int,
        device: torch.device,
        patch_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Returns the token mask `(batch_size, num_channels, num_patches)`, True = masked. `patch_mask`
        `(batch_size, num_patches)` (1 or True = signal, 0 = padding): each window's mask is drawn over its real
        patches; a batch without padding draws the mask it draws without `patch_mask`, from the same random numbers."""
        real = None
        if patch_mask is not None and not bool(patch_mask.all()):
            real = patch_mask.to(device=device, dtype=torch.bool)

        def rows_of(copies: int) -> torch.Tensor | None:  # each window's real patches, for `copies` rows of its own
            return None if real is None else real.repeat_interleave(copies, dim=0)

        if self.mask_mode == "per_channel":
            mask = self._block_mask(batch_size * num_channels, num_patches, device, rows_of(num_channels))
            mask = mask.view(batch_size, num_channels, num_patches)
        elif self.mask_mode == "shared":
            mask = self._block_mask(batch_size, num_patches, device, rows_of(1))
            mask = mask[:, None, :].expand(batch_size, num_channels, num_patches)
        else:
            if self.modality_of_channel is None or len(self.modality_of_channel) != num_channels:
                raise ValueError(
                    f'mask_mode="per_modality" needs one modality per channel; the config names '
                    f"{0 if self.modality_of_channel is None else len(self.modality_of_channel)} but the input has "
                    f"{num_channels} channels."
                )
            per_modality = self._block_mask(
                batch_size * self.num_modalities, num_patches, device, rows_of(self.num_modalities)
            )
            per_modality = per_modality.view(batch_size, self.num_modalities, num_patches)
            modality_index = torch.tensor(self.modality_of_channel, device=device)
            mask = per_modality[:, modality_index, :]  # (batch_size, num_channels, num_patches)
        if self.channel_mask_ratio > 0 and num_channels > 1:
            num_masked_channels = min(num_channels - 1, max(1, round(self.channel_mask_ratio * num_channels)))
            channel_rank = torch.rand(batch_size, num_channels, device=device).argsort(dim=1).argsort(dim=1)
            masked_channels = channel_rank < num_masked_channels  # (batch_size, num_channels)
            mask = mask | masked_channels[:, :, None]
        return mask.contiguous()


# ----------------------------------------------------------------------------------------------------------------------
# Patch embedding: the residual CNN stem (CiTrus) or a linear projection (PatchTST)
# ----------------------------------------------------------------------------------------------------------------------


_LOW_PRECISION = (torch.bfloat16, torch.float16)


class CiTrusResidualBlock(nn.Module):
    """conv-act-conv plus a parameter-free shortcut, then the activation. Input `(N, in_channels, length)`.

    No batch norm: in training mode it would mix statistics across patches and windows, the very leakage the
    per-patch CNN exists to prevent, and it is a third of the stem's CPU cost. The shortcut subsamples by the stride
    and zero-pads the new channels (ResNet's option A), so it costs no convolution either.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, activation: str):
        super().__init__()
        padding = kernel_size // 2
        self.conv1 = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        self.conv2 = nn.Conv1d(out_channels, out_channels, kernel_size, padding=padding)
        self.activation = ACT2FN[activation]
        self.stride = stride
        # the shortcut's width and the output's, as numbers: `torch.jit.trace` records tensor sizes as tensors
        self.shortcut_width = min(in_channels, out_channels)
        self.out_channels = out_channels

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        residual = hidden_states[..., :: self.stride] if self.stride > 1 else hidden_states
        hidden_states = self.conv2(self.activation(self.conv1(hidden_states)))
        # The shortcut lands on the first channels and the new ones get zeros, added in place (the convolution's
        # backward does not need its output, so autograd allows it).
        width = self.shortcut_width
        if hidden_states.dtype in _LOW_PRECISION and residual.dtype == hidden_states.dtype:
            # PyTorch's CPU kernels add a bf16 shortcut that is strided (subsampled) into a slice of the output one
            # short row at a time: 3x slower than padding it with zero channels and adding over the whole tensor
            # (2048 patches, 8 -> 16 channels at stride 2: 0.46 ms against 0.15). Not so for the first block under
            # autocast, whose shortcut is the float32 input: its slice add (0.06 ms) beats the cast and padding (0.11).
            hidden_states += F.pad(residual[:, :width], (0, 0, 0, self.out_channels - width))
        else:
            hidden_states[:, :width] += residual[:, :width]
        return self.activation(hidden_states)


def _stem_lengths(config: CiTrusConfig) -> list[int]:
    """Temporal length of a patch before every residual block and after the last one."""
    lengths = [config.patch_length]
    for stride in config.cnn_strides:
        lengths.append((lengths[-1] - 1) // stride + 1)
    return lengths


def _linear_relu(
    hidden_states: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, fused: bool = False
) -> torch.Tensor:
    """`relu(hidden_states @ weight.T + bias)`: `(N, in)` -> `(N, out)`.

    `fused` (see `_fused_linear_relu_runs`): through oneDNN's linear with the ReLU as a post-op, what inductor lowers
    linear + relu to on CPU: the bias and the ReLU are applied to the product's tiles while they are in registers,
    where `addmm` + `relu_` pass over the output twice more (2400 patches x 160 -> 160 in bf16 on an AMX Xeon: 0.13 ms
    against 0.25).
    """
    if fused:
        return torch.ops.mkldnn._linear_pointwise(hidden_states, weight, bias, "relu", [], "")
    return F.linear(hidden_states, weight, bias).relu_()


def _fused_linear_relu_runs(weight: torch.Tensor, bias: torch.Tensor) -> bool:
    """Whether oneDNN's fused linear + ReLU (`torch.ops.mkldnn._linear_pointwise`, a private operator of PyTorch's
    CPU builds) exists here and runs for this CPU `weight` `(out, in)` and `bias`, with the same result as the
    unfused product (oneDNN refuses some shapes, e.g. an inner dimension of 2)."""
    if weight.device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    if not hasattr(torch.ops.mkldnn, "_linear_pointwise"):
        return False
    probe = torch.linspace(-1, 1, 2 * weight.shape[1], dtype=weight.dtype).view(2, -1)
    try:
        fused = _linear_relu(probe, weight, bias, fused=True)
    except Exception:  # a private operator: whatever it raises here, the unfused product serves
        return False
    return bool(torch.allclose(fused.float(), _linear_relu(probe, weight, bias).float(), rtol=0.02, atol=0.02))


class CiTrusDenseResidualBlocks(nn.Module):
    """The CNN stem's residual blocks as two matrix products per block on flattened patches, for inference.

    A convolution over a patch of fixed length, zero-padded at its edges, is a linear map of the flattened patch
    `(in_channels * length)` to the flattened output `(out_channels * out_length)`: a (Toeplitz-structured) matrix,
    and so is the shortcut (subsampling and zero channels). Each block `relu(conv2(relu(conv1(x))) + shortcut(x))`
    then runs as two fused linear + ReLU products that carry the block's input through the first one beside the
    hidden activation: `[a | x] = relu(x @ [W1 | I] + [b1 | 0])` (x >= 0 after the previous block's ReLU, so the
    ReLU leaves it as it is) and `relu([a | x] @ [W2; S] + b2)`. The first block's input is the raw patch, which can be
    negative: it is carried as `relu(x)` and `relu(-x)` (`x = relu(x) - relu(-x)` exactly), against `[S; -S]`.

    Why: the stem's convolutions have 1-32 channels and kernels of 3 over 5-20 samples, too small for oneDNN's
    convolutions to run near the CPU's speed, and each ReLU and shortcut add is another pass over the activations.
    The dense products do ~4x the arithmetic of the convolutions in 6 large matrix products; on a CPU with AMX
    bf16 that is 5x faster (2400 patches of 20 samples, 8/16/32 channels: 1.48 ms against 7.37 for the stem's
    convolutions in bf16), the same values up to rounding. Without AMX the extra arithmetic is not free (0.73x the
    convolutions with oneDNN held to AVX512-BF16 on the same CPU), so the bf16 inference backend uses it on AMX
    only (`citrus_hf.inference.backends.dense_stem_in_bf16`). Only for ReLU stems (the carry needs `relu(x) = x` on
    the block inputs); weights are copied at construction, so it serves a frozen model.

    Input `(N, 1, patch_length)`, output `(N, last_width * last_length)`, the flattened output of the last block.
    """

    def __init__(self, stem: CiTrusCNNStem, dtype: torch.dtype):
        super().__init__()
        self.products: list[tuple[str, str]] = []
        for index, (block, length, out_length) in enumerate(zip(stem.blocks, stem.lengths, stem.lengths[1:])):
            first = _convolution_matrix(block.conv1, length)  # (in_channels * length, out_channels * out_length)
            second = _convolution_matrix(block.conv2, out_length)
            shortcut = _shortcut_matrix(block.conv1.in_channels, block.conv1.out_channels, length, block.stride)
            identity = torch.eye(first.shape[0], dtype=torch.float32)
            signs = (1, -1) if index == 0 else (1,)  # the block's input, carried beside the hidden activation
            weights = {  # linear layout: (out, in)
                f"first_weight_{index}": torch.cat([first, *(sign * identity for sign in signs)], dim=1).T,
                f"first_bias_{index}": F.pad(
                    block.conv1.bias.detach().cpu().float().repeat_interleave(out_length),
                    (0, len(signs) * len(identity)),
                ),
                f"second_weight_{index}": torch.cat([second, *(sign * shortcut for sign in signs)], dim=0).T,
                f"second_bias_{index}": block.conv2.bias.detach().cpu().float().repeat_interleave(out_length),
            }
            for name, tensor in weights.items():
                self.register_buffer(name, tensor.to(block.conv1.weight.device, dtype).contiguous(), persistent=False)
            self.products += [(f"first_weight_{index}", f"first_bias_{index}")]
            self.products += [(f"second_weight_{index}", f"second_bias_{index}")]
        self.fused = [
            _fused_linear_relu_runs(getattr(self, weight), getattr(self, bias)) for weight, bias in self.products
        ]

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            raise RuntimeError(
                "CiTrusDenseResidualBlocks holds a copy of the stem's weights for inference; run it under "
                "torch.inference_mode() or torch.no_grad() (train the model itself, not its inference copy)."
            )
        hidden_states = hidden_states.flatten(1).to(self.first_weight_0.dtype)  # (N, patch_length)
        on_cpu = hidden_states.device.type == "cpu"  # the fused operator was probed on CPU (the module may move)
        for (weight, bias), fused in zip(self.products, self.fused):
            hidden_states = _linear_relu(hidden_states, getattr(self, weight), getattr(self, bias), fused and on_cpu)
        return hidden_states


def _convolution_matrix(convolution: nn.Conv1d, length: int) -> torch.Tensor:
    """`convolution` (without its bias) on a flattened zero-padded input of `length` samples as a matrix `(in_channels
    * length, out_channels * out_length)`: each row is the flattened output for one input sample set to 1."""
    size = convolution.in_channels * length
    # float32 whatever torch's default dtype (a caller's `set_default_dtype(torch.float64)`): the weights are float32
    impulses = torch.eye(size, dtype=torch.float32).view(size, convolution.in_channels, length)
    with torch.no_grad():
        weight = convolution.weight.detach().cpu().float()
        return F.conv1d(impulses, weight, None, convolution.stride, convolution.padding).flatten(1)


def _shortcut_matrix(in_channels: int, out_channels: int, length: int, stride: int) -> torch.Tensor:
    """`CiTrusResidualBlock`'s shortcut (every `stride`-th sample, zeros for the new channels) as a matrix
    `(in_channels * length, out_channels * out_length)`."""
    impulses = torch.eye(in_channels * length, dtype=torch.float32).view(-1, in_channels, length)
    kept = impulses[:, :out_channels, ::stride]
    return F.pad(kept, (0, 0, 0, out_channels - kept.shape[1])).flatten(1)


class CiTrusCNNStem(nn.Module):
    """The CiTrus residual CNN, applied to every patch on its own so nothing of one patch reaches another's token.

    Input `(num_patches_total, patch_length)`, output `(num_patches_total, d_model)`.
    """

    def __init__(self, config: CiTrusConfig):
        super().__init__()
        widths = [1, *config.cnn_channels]
        self.blocks = nn.ModuleList(
            CiTrusResidualBlock(widths[i], widths[i + 1], config.cnn_kernel_size, stride, config.cnn_activation)
            for i, stride in enumerate(config.cnn_strides)
        )
        self.lengths = _stem_lengths(config)  # a patch's length before every block and after the last
        self.projection = nn.Linear(config.cnn_channels[-1] * self.lengths[-1], config.d_model)
        # normalises the token instead of the (leaky, costly) batch norm a ResNet would have inside the blocks
        self.norm = nn.LayerNorm(config.d_model, eps=config.norm_eps)
        self.dense_blocks: CiTrusDenseResidualBlocks | None = None  # see `use_dense_blocks`

    # At inference on CPU the stem is bound by memory traffic between its small convolutions: runs of this many
    # patches keep each activation (about 1.3 MB) in a core's L2 cache, measured 1.4x faster than one pass over a
    # batch of 32 x 150 patches. Training gains nothing (its backward pass keeps every activation anyway) and GPUs
    # want the largest kernels, so both take one pass.
    cpu_inference_chunk = 2048

    # The dense products' arithmetic grows with the square of the patch length, the convolutions' linearly: in bf16 on
    # an AMX Xeon (48,000 samples of patches, one thread) dense / convolutions took 1.83 / 10.8 ms at patches of 10,
    # 1.61 / 7.30 at 20, 2.41 / 5.65 at 40, 3.42 / 6.58 at 64, and 5.66 / 4.89 at 100.
    dense_max_patch_length = 64

    def use_dense_blocks(self, dtype: torch.dtype) -> bool:
        """From now on run the residual blocks as dense matrix products in `dtype` at inference
        (`CiTrusDenseResidualBlocks`, a copy of the current weights: for a frozen model). False, and nothing changes,
        when the stem's activation is not ReLU or its patches are longer than `dense_max_patch_length`. Training and
        gradients keep the convolutions. False too when a convolution is wrapped (a peft adapter layer not merged):
        the products are built from plain convolutions' weights."""
        if self.lengths[0] > self.dense_max_patch_length:
            return False
        if not all(type(conv) is nn.Conv1d for block in self.blocks for conv in (block.conv1, block.conv2)):
            return False
        if not all(isinstance(block.activation, nn.ReLU) for block in self.blocks):
            return False
        self.dense_blocks = CiTrusDenseResidualBlocks(self, dtype)
        return True

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        # `_is_tracing()` first: under export the batch is symbolic, and comparing it would constrain its size
        if (
            not _is_tracing()
            and patches.device.type == "cpu"
            and not torch.is_grad_enabled()
            and patches.shape[0] > self.cpu_inference_chunk
            and self.dense_blocks is None  # its large products ran fastest unchunked (9600 patches: 5.0 ms vs 7.2)
        ):
            return torch.cat([self._embed(chunk) for chunk in patches.split(self.cpu_inference_chunk)])
        return self._embed(patches)

    def _embed(self, patches: torch.Tensor) -> torch.Tensor:
        hidden_states = patches.unsqueeze(1)  # (N, 1, patch_length)
        if self.dense_blocks is not None and not torch.is_grad_enabled():
            hidden_states = self.dense_blocks(hidden_states)  # (N, last_width * last_length)
        else:
            for block in self.blocks:
                hidden_states = block(hidden_states)
        return self.norm(self.projection(hidden_states.flatten(1)))  # (N, last_width * last_length) -> (N, D)


class CiTrusLinearPatchEmbedding(nn.Module):
    """PatchTST's patch embedding (the `backbone="transformer"` ablation): `(N, patch_length)` -> `(N, d_model)`."""

    def __init__(self, config: CiTrusConfig):
        super().__init__()
        self.projection = nn.Linear(config.patch_length, config.d_model)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return self.projection(patches)


def sinusoidal_positions(num_positions: int, dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The transformer's sin/cos position table `(num_positions, dim)`.

    Computed in the forward pass (a few thousand flops) rather than stored, so any number of patches works and
    nothing depends on buffers surviving `from_pretrained`'s meta-device construction.
    """
    position = torch.arange(num_positions, device=device, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(num_positions, dim, device=device, dtype=torch.float32)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table.to(dtype)


# ----------------------------------------------------------------------------------------------------------------------
# Transformer encoder
# ----------------------------------------------------------------------------------------------------------------------


def eager_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference attention. `query`/`key`/`value`: `(N, heads, seq, head_dim)`; returns `(N, seq, heads, head_dim)`."""
    attn_weights = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        attn_weights = attn_weights + attention_mask
    attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query.dtype)
    attn_weights = F.dropout(attn_weights, p=dropout, training=module.training)
    attn_output = torch.matmul(attn_weights, value).transpose(1, 2).contiguous()
    return attn_output, attn_weights


class CiTrusAttention(nn.Module):
    """Multi-head self-attention over patch tokens, through transformers' attention interface (SDPA by default).

    Channel-independent: every channel's patch sequence attends within itself. Criss-cross (CBraMod): the first
    `num_channel_attention_heads` heads attend across channels at the same patch, the others across patches within
    a channel; their outputs are concatenated before the output projection, so both kinds share one set of weights.
    """

    def __init__(self, config: CiTrusConfig):
        super().__init__()
        self.config = config
        self.num_heads = config.num_attention_heads
        self.head_dim = config.d_model // config.num_attention_heads
        self.scaling = self.head_dim**-0.5
        self.is_causal = False
        self.num_channel_heads = config.num_channel_attention_heads if config.attention_type == "criss_cross" else 0
        self.q_proj = nn.Linear(config.d_model, config.d_model)
        self.k_proj = nn.Linear(config.d_model, config.d_model)
        self.v_proj = nn.Linear(config.d_model, config.d_model)
        self.o_proj = nn.Linear(config.d_model, config.d_model)

    def _attend(self, query, key, value, attention_mask, output_attentions: bool):
        # SDPA and the fused kernels return no weights: a call that asks for them runs the eager attention. The flag
        # is an argument of every layer call (not state around the layer loop), so that gradient checkpointing's
        # recomputation in `backward()` takes the same path as the forward pass.
        implementation = "eager" if output_attentions else self.config._attn_implementation
        attention_interface: Callable = ALL_ATTENTION_FUNCTIONS.get_interface(implementation, eager_attention_forward)
        return attention_interface(
            self,
            query,
            key,
            value,
            attention_mask,
            dropout=self.config.attention_dropout if self.training else 0.0,
            scaling=self.scaling,
        )

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        query_index: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor | None, torch.Tensor | None]]:
        """`hidden_states` `(B, C, S, D)`; `attention_mask` additive `(B * C, 1, 1, S)` over keys or None.

        `query_index` `(B, C, Q)`: compute the output only at these positions (they still attend to all S); the
        output is then `(B, C, Q, D)`. Channel-independent attention only.

        Returns the output and the attention weights `(time_weights, channel_weights)`: the time heads'
        `(B * C, H_t, S, S)` and the channel heads' `(B * S, H_c, C, C)` (None without channel heads, and both None
        unless `output_attentions` or the eager attention computed them).
        """
        batch_size, num_channels, seq_length, _ = hidden_states.shape
        head_shape = (batch_size, num_channels, seq_length, self.num_heads, self.head_dim)
        key = self.k_proj(hidden_states).view(head_shape)
        value = self.v_proj(hidden_states).view(head_shape)
        if query_index is not None:
            if self.num_channel_heads:
                raise ValueError("`query_index` needs attention_type='channel_independent'.")
            hidden_states = hidden_states.take_along_dim(query_index[..., None], dim=2)  # (B, C, Q, D)
            seq_length = query_index.shape[-1]
        query = self.q_proj(hidden_states).view(batch_size, num_channels, seq_length, self.num_heads, self.head_dim)

        channel_weights = None
        if self.num_channel_heads < self.num_heads:
            time_heads = slice(self.num_channel_heads, self.num_heads)
            # (B, C, S, H_t, hd) -> (B * C, H_t, S, hd): each channel's sequence on its own
            time_qkv = [t[..., time_heads, :].flatten(0, 1).transpose(1, 2) for t in (query, key, value)]
            time_output, time_weights = self._attend(*time_qkv, attention_mask, output_attentions)
            time_output = time_output.reshape(batch_size, num_channels, seq_length, -1)  # (B, C, S, H_t * hd)
        else:
            # every head attends across channels: no time attention is run (SDPA on zero heads killed the process
            # with a floating point exception in torch 2.11)
            time_output = hidden_states.new_empty(batch_size, num_channels, seq_length, 0)
            weights_shape = (batch_size * num_channels, 0, seq_length, seq_length)
            time_weights = hidden_states.new_empty(weights_shape) if output_attentions else None

        if self.num_channel_heads:
            channel_heads = slice(0, self.num_channel_heads)
            # (B, C, S, H_c, hd) -> (B * S, H_c, C, hd): every patch position attends across channels
            channel_qkv = [t[..., channel_heads, :].permute(0, 2, 3, 1, 4).flatten(0, 1) for t in (query, key, value)]
            channel_output, channel_weights = self._attend(*channel_qkv, None, output_attentions)  # (B * S, C, H_c, hd)
            channel_output = channel_output.reshape(batch_size, seq_length, num_channels, -1).transpose(1, 2)
            time_output = torch.cat([channel_output, time_output], dim=-1)  # heads back in their original order

        return self.o_proj(time_output), (time_weights, channel_weights)


# True while gradient checkpointing replays a layer's forward pass in `backward()` (`_replay_marked`): that pass must
# compute what the first one did without updating BatchNorm's running statistics a second time.
_REPLAYING_CHECKPOINT: contextvars.ContextVar[bool] = contextvars.ContextVar("citrus_checkpoint_replay", default=False)


def _replay_marked(checkpoint_function: Callable) -> Callable:
    """`checkpoint_function` (transformers' `gradient_checkpointing_func`, torch's `checkpoint` with its options) with
    every call after a checkpointed function's first, its recomputation in `backward()`, run under
    `_REPLAYING_CHECKPOINT`. Counting the calls works for both `use_reentrant` values (the reentrant first pass runs
    without grad, the non-reentrant one with it, so grad mode cannot tell the replay apart) and for a graph that
    `backward()` replays more than once."""

    def checkpointed(function: Callable, *args, **kwargs):
        runs = 0

        def run(*run_args, **run_kwargs):
            nonlocal runs
            runs += 1
            token = _REPLAYING_CHECKPOINT.set(runs > 1)
            try:
                return function(*run_args, **run_kwargs)
            finally:
                _REPLAYING_CHECKPOINT.reset(token)

        return checkpoint_function(run, *args, **kwargs)

    checkpointed.replay_marked = True
    return checkpointed


class CiTrusNorm(nn.Module):
    """LayerNorm, or PatchTST's BatchNorm over the token width, on `(..., D)`.

    In training, BatchNorm takes its batch statistics over the signal tokens only (`keep`): padding patches would
    otherwise move the statistics, and so the outputs and the saved running statistics, by how much a batch is padded.
    The running statistics are updated once per training step, not again when gradient checkpointing replays the
    layer in `backward()` (`_REPLAYING_CHECKPOINT`), so checkpointing changes nothing but memory and time.
    """

    def __init__(self, config: CiTrusConfig):
        super().__init__()
        self.use_batchnorm = config.norm_type == "batchnorm"
        if self.use_batchnorm:
            self.norm = nn.BatchNorm1d(config.d_model, eps=config.norm_eps)
        else:
            self.norm = nn.LayerNorm(config.d_model, eps=config.norm_eps)

    def forward(self, hidden_states: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """`(..., D)` -> `(..., D)`. `keep`: bool, broadcastable to `hidden_states.shape[:-1]`, True for the tokens
        whose batch statistics BatchNorm takes in training (None: all); LayerNorm and eval mode ignore it."""
        if not self.use_batchnorm:
            return self.norm(hidden_states)
        norm, shape = self.norm, hidden_states.shape
        batch_statistics = norm.training or norm.running_mean is None
        replaying = _REPLAYING_CHECKPOINT.get()
        if not batch_statistics or (keep is None and not replaying):
            return norm(hidden_states.reshape(-1, shape[-1])).reshape(shape)
        if keep is None:
            # the replay: the same batch statistics, the running ones left as the first pass set them. Copies of them
            # take the update, so that the kernel saves for backward what the first pass's saved (the non-reentrant
            # checkpoint compares the two).
            flat = hidden_states.reshape(-1, shape[-1])
            running = [None if stats is None else stats.clone() for stats in (norm.running_mean, norm.running_var)]
            return F.batch_norm(flat, *running, norm.weight, norm.bias, True, 0.0, norm.eps).reshape(shape)
        update = norm.training and norm.running_mean is not None and not replaying
        return self._masked_batch_norm(hidden_states, keep, update)

    def _masked_batch_norm(self, hidden_states: torch.Tensor, keep: torch.Tensor, update: bool) -> torch.Tensor:
        """BatchNorm in training with its statistics over the `keep` tokens only (every token is normalised with
        them), updating the running statistics as `nn.BatchNorm1d` does (unbiased variance, `momentum`, or the
        cumulative average for `momentum=None`) when `update`. In float32 at least, as torch's kernels compute them."""
        norm = self.norm
        values = _at_least_float32(hidden_states)
        weights = keep.expand(hidden_states.shape[:-1]).unsqueeze(-1).to(values.dtype)  # (..., 1)
        dims = tuple(range(values.dim() - 1))
        count = weights.sum()
        mean = (values * weights).sum(dims) / count  # (D,)
        centred = values - mean
        variance = (centred.square() * weights).sum(dims) / count
        if update:
            with torch.no_grad():
                norm.num_batches_tracked.add_(1)
                momentum = 1.0 / float(norm.num_batches_tracked) if norm.momentum is None else norm.momentum
                unbiased = variance * count / (count - 1).clamp(min=1)
                for running, value in ((norm.running_mean, mean), (norm.running_var, unbiased)):
                    running.lerp_(value.to(running.dtype), momentum)
        normalized = centred * torch.rsqrt(variance + norm.eps)
        if norm.affine:
            normalized = normalized * norm.weight + norm.bias
        return normalized.to(hidden_states.dtype)


class CiTrusFeedForward(nn.Module):
    def __init__(self, config: CiTrusConfig):
        super().__init__()
        self.fc1 = nn.Linear(config.d_model, config.ffn_dim)
        self.activation = ACT2FN[config.activation_function]
        self.dropout = nn.Dropout(config.ffn_dropout)
        self.fc2 = nn.Linear(config.ffn_dim, config.d_model)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(self.activation(self.fc1(hidden_states))))


def _kept_at(token_keep: torch.Tensor | None, query_index: torch.Tensor | None) -> torch.Tensor | None:
    """`token_keep` `(B, 1, S)` at the positions `query_index` `(B, C, Q)`: `(B, C, Q)` (unchanged if either is
    None)."""
    if token_keep is None or query_index is None:
        return token_keep
    return token_keep.expand(*query_index.shape[:2], -1).take_along_dim(query_index, dim=2)


class CiTrusEncoderLayer(GradientCheckpointingLayer):
    """Pre-norm transformer layer on `(B, C, S, D)` tokens."""

    def __init__(self, config: CiTrusConfig):
        super().__init__()
        self.attention_norm = CiTrusNorm(config)
        self.attention = CiTrusAttention(config)
        self.ffn_norm = CiTrusNorm(config)
        self.ffn = CiTrusFeedForward(config)
        self.dropout = nn.Dropout(config.hidden_dropout)

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        query_index: torch.Tensor | None = None,
        output_attentions: bool = False,
        token_keep: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """`(B, C, S, D)` -> `(B, C, S, D)`, or `(B, C, Q, D)` at the positions `query_index` `(B, C, Q)` only; with
        the time heads' and the channel heads' attention weights (see `CiTrusAttention.forward`). `token_keep`
        `(B, 1, S)` bool: the signal tokens, over which BatchNorm takes its batch statistics in training (None: all)."""
        attention_output, (time_weights, channel_weights) = self.attention(
            self.attention_norm(hidden_states, token_keep),
            attention_mask,
            query_index,
            output_attentions=output_attentions,
        )
        if query_index is not None:
            hidden_states = hidden_states.take_along_dim(query_index[..., None], dim=2)
            token_keep = _kept_at(token_keep, query_index)
        hidden_states = hidden_states + self.dropout(attention_output)
        hidden_states = hidden_states + self.dropout(self.ffn(self.ffn_norm(hidden_states, token_keep)))
        return hidden_states, time_weights, channel_weights


class CiTrusEncoder(nn.Module):
    def __init__(self, config: CiTrusConfig):
        super().__init__()
        self.config = config
        self.layers = nn.ModuleList(CiTrusEncoderLayer(config) for _ in range(config.num_hidden_layers))
        self.final_norm = CiTrusNorm(config)
        self.gradient_checkpointing = False

    def forward(
        self,
        hidden_states,
        attention_mask=None,
        output_hidden_states=False,
        output_attentions=False,
        last_layer_query_index=None,
        token_keep=None,
    ):
        """`(B, C, S, D)` -> `(B, C, S, D)`; the last layer only at `last_layer_query_index` `(B, C, Q)` if given.
        `token_keep` `(B, 1, S)` bool: the signal tokens, over which BatchNorm takes its batch statistics in training
        (None: all tokens).

        Returns the output, the hidden states (with `output_hidden_states`), and the time heads' and the channel
        heads' attention weights per layer (with `output_attentions`; the channel heads' only for criss-cross
        attention with channel heads).
        """
        output_attentions = bool(output_attentions)
        all_hidden_states = (hidden_states,) if output_hidden_states else None
        all_attentions = () if output_attentions else None
        channel_heads = self.layers[0].attention.num_channel_heads if self.layers else 0
        all_channel_attentions = () if output_attentions and channel_heads else None
        if output_attentions and self.config._attn_implementation != "eager":
            logger.warning_once(
                f"output_attentions=True: attn_implementation={self.config._attn_implementation!r} returns no "
                "attention weights, so the calls that ask for them run the eager attention (the same outputs, slower)."
            )
        if output_attentions and channel_heads == self.config.num_attention_heads:
            logger.warning_once(
                "output_attentions=True: every attention head of this criss-cross model attends across channels, so "
                "`attentions` hold no heads (shape (batch * channels, 0, tokens, tokens)); the heads' weights are in "
                "`channel_attentions`."
            )
        for index, layer in enumerate(self.layers):
            is_last = index == len(self.layers) - 1
            query_index = last_layer_query_index if is_last else None
            # (`output_attentions` as a keyword: gradient checkpointing replays the call with it)
            hidden_states, time_weights, channel_weights = layer(
                hidden_states, attention_mask, query_index, output_attentions=output_attentions, token_keep=token_keep
            )
            if output_hidden_states:
                all_hidden_states += (hidden_states,)
            if output_attentions:
                all_attentions += (time_weights,)
            if all_channel_attentions is not None:
                all_channel_attentions += (channel_weights,)
        hidden_states = self.final_norm(hidden_states, _kept_at(token_keep, last_layer_query_index))
        if output_hidden_states:
            all_hidden_states = all_hidden_states[:-1] + (hidden_states,)
        return hidden_states, all_hidden_states, all_attentions, all_channel_attentions


# ----------------------------------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------------------------------


# What transformers logs while a model loads that `from_pretrained` reports itself where it can, in its error or its
# one line: the loading report (the UNEXPECTED / MISSING table), and the config's line for a `num_labels=` of another
# size than the checkpoint's class names, which came ahead of the head-size error that says it with the fix.
_HELD_LOAD_MESSAGES = ("LOAD REPORT", "which is incompatible to the `id2label` map")


class _LoadReportHold(std_logging.Filter):
    """Holds back transformers' loading report (its UNEXPECTED / MISSING table, and the other `_HELD_LOAD_MESSAGES`)
    while a CiTrus model loads, so that `from_pretrained` can replace the expected case, a new task head on a
    pre-trained encoder, by one line, give its own error in place of the report, and re-emit the report in every other
    case. Held on each of `loggers` (transformers' config and model loading; its adapter path reports the adapter's
    load from its peft integration)."""

    def __init__(self, *loggers: std_logging.Logger):
        super().__init__()
        self.records: list[std_logging.LogRecord] = []
        self.loggers = loggers
        for report_logger in loggers:
            report_logger.addFilter(self)

    def filter(self, record: std_logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(held in message for held in _HELD_LOAD_MESSAGES):
            self.records.append(record)
            return False
        return True

    def stop(self) -> None:
        """Stop holding (the held records are kept)."""
        for report_logger in self.loggers:
            report_logger.removeFilter(self)

    def release(self) -> None:
        """Stop holding and emit the held report, as transformers would have."""
        self.stop()
        for record in self.records:
            std_logging.getLogger(record.name).handle(record)


def _modules_of(keys) -> list[str]:
    """`["head.blocks.0.weight", "classifier.bias"]` -> `["classifier", "head"]`: the top-level modules that own
    these tensors."""
    return sorted({key.split(".", 1)[0] for key in keys})


def _under_own_module(model: nn.Module, key: str) -> bool:
    """Whether the checkpoint tensor `key` sits under one of `model`'s own modules, also as the bare encoder sees a
    task or pre-training checkpoint's keys (under `base_model_prefix`, e.g. `citrus.encoder...`)."""
    first = key.partition(".")[0]
    # under the backbone prefix, every tensor is the encoder's (another class's head sits outside it)
    return first in dict(model.named_children()) or first == model.base_model_prefix


# The fix for a model pruned with `torch.nn.utils.prune`, which holds a pruned tensor `name` as the original (a
# parameter `<name>_orig`) and the mask (a buffer `<name>_mask`) until `prune.remove(module, name)`.
_PRUNING_FIX = (
    'make the pruning permanent with `prune.remove(module, "weight")` on each pruned module (e.g. `for module in '
    'model.modules(): hasattr(module, "weight_mask") and prune.remove(module, "weight")`)'
)


def _pruned_pairs(keys) -> list[str]:
    """The tensors among `keys` (state_dict keys) that `torch.nn.utils.prune` holds as `<key>_orig` / `<key>_mask`
    pairs, sorted."""
    keys = set(keys)
    originals = (key.removesuffix("_orig") for key in keys if key.endswith("_orig"))
    return sorted(name for name in originals if f"{name}_mask" in keys)


# Where a wrapper's state dict comes from, for the messages that name its prefix.
_WRAPPERS = "torch.nn.DataParallel's or DistributedDataParallel's `module.`, a compiled model's `_orig_mod.`"


def _wrapper_prefix(missing: Sequence[str], unexpected: Sequence[str], base_model_prefix: str) -> str | None:
    """The prefix a wrapper put before every tensor name of a checkpoint (`module.` of DataParallel, `_orig_mod.` of
    torch.compile), when its `unexpected` names are this model's `missing` ones behind it (or behind the prefix and
    `base_model_prefix`, as a task checkpoint's tensors are for the bare encoder, which transformers then strips);
    None when no one prefix explains every missing tensor."""
    if not missing or not unexpected:
        return None
    saved = set(unexpected)
    names = [f"{base_model_prefix}.{missing[0]}", missing[0]] if base_model_prefix else [missing[0]]
    for key in unexpected:
        for name in names:  # (the shorter prefix first: it is also the one the bare encoder's loading needs)
            prefix = key[: -len(name)]
            if key.endswith("." + name) and all(
                prefix + m in saved or f"{prefix}{base_model_prefix}.{m}" in saved for m in missing
            ):
                return prefix
    return None


def _refuse_foreign_state_dict(model: nn.Module, state_dict: Mapping[str, Any]) -> None:
    """Refuse, before anything is written, a `state_dict=` for `save_pretrained` whose tensor names are not the
    model's: transformers writes whatever it is given, and strict loading then finds every tensor missing (a
    DataParallel wrapper's state dict, every name behind `module.`) or the named ones.

    Raises:
        ValueError: naming the wrapper's prefix, or the missing and unexpected tensors, and the fix.
    """
    own, given = set(model.state_dict()), set(state_dict)
    if own == given:
        return
    missing, unexpected = sorted(own - given), sorted(given - own)
    prefix = _wrapper_prefix(missing, unexpected, model.base_model_prefix)
    if prefix is not None:
        # (the attribute the prefix names holds the model: `module` of DataParallel, `_orig_mod` of a compiled model)
        raise ValueError(
            f"The state_dict given to save_pretrained holds every tensor under the prefix {prefix!r} (a wrapper's "
            f"state dict: {_WRAPPERS}), and no CiTrus class would load the checkpoint: leave state_dict out, or "
            f"save from the model inside the wrapper (`wrapper.{prefix.rstrip('.')}.save_pretrained(folder)`)."
        )
    parts = [f"{label} {names[:10]}" for label, names in (("missing", missing), ("unexpected", unexpected)) if names]
    raise ValueError(
        f"The state_dict given to save_pretrained does not match this model: {', '.join(parts)}; no CiTrus class "
        "would load the checkpoint (loading is strict). Leave state_dict out to save the model's own tensors."
    )


def unloadable_weights_problem(model: nn.Module, then: str = "then save") -> str | None:
    """What `save_pretrained` would write of `model` that no loader reads back, with the route that keeps the model;
    None when every weight saves. A dynamically quantized model's packed int8 weights (no tensors: transformers failed
    deep inside with "'torch.dtype' object has no attribute 'data_ptr'") and a pruned model's `_orig` / `_mask` pairs
    (saved in place of the weights, which every loader then found missing). `then`: what to do once the pruning is
    made permanent (the message's last words)."""
    state = model.state_dict()
    quantized = sorted(
        {
            key.split("._packed_params")[0]
            for key, value in state.items()
            if not isinstance(value, torch.Tensor) or value.is_quantized
        }
    )
    if quantized:
        return (
            f"This model holds quantized layers ({', '.join(quantized[:3])}{', ...' if len(quantized) > 3 else ''}), "
            "whose packed int8 weights safetensors cannot store and no CiTrus class loads: save the float32 model "
            "(before quantizing) and quantize it after loading, e.g. `torch.ao.quantization.quantize_dynamic("
            f"{type(model).__name__}.from_pretrained(folder), {{{model.base_model_prefix!r}}}, dtype=torch.qint8)`; "
            "to keep the quantized weights themselves, `torch.save(model.state_dict(), path)` and `load_state_dict` "
            "them into a model quantized the same way."
        )
    pruned = _pruned_pairs(state)
    if pruned:
        return (
            f"This model was pruned with torch.nn.utils.prune ({', '.join(pruned[:3])}"
            f"{', ...' if len(pruned) > 3 else ''}), and save_pretrained would write each as `_orig` / `_mask` "
            f"tensors that no loader reads, in place of the weights: {_PRUNING_FIX}, {then}."
        )
    return None


def save_pipeline_code(model: nn.Module, folder: str | os.PathLike) -> None:
    """Save into `folder`, where `model` was just saved, the pipeline code its config names (`custom_pipelines`:
    pipelines.py and what it imports, backends.py), so that `pipeline(model=folder, trust_remote_code=True)` runs where
    citrus_hf is not installed. With the package, its hook copies its own (`_pipeline_code_saver`); as a checkpoint's
    remote code (no package), the code of the checkpoint `model` was loaded from, found as transformers finds a
    remote pipeline's: a model loaded with `trust_remote_code` and saved again wrote a config.json naming a
    pipelines.py it lacked. A checkpoint without that code is warned of, the folder saved without it."""
    code_saver = getattr(type(model), "_pipeline_code_saver", None)
    if code_saver is not None:
        code_saver(folder)
        return
    entries = getattr(model.config, "custom_pipelines", None) or {}
    references = sorted({entry["impl"] for entry in entries.values() if isinstance(entry, dict) and "impl" in entry})
    source = getattr(model, "name_or_path", None)
    if not references or not source:
        return
    from transformers.dynamic_module_utils import custom_object_save, get_class_from_dynamic_module

    hub_source = _hub_source_kwargs(model)
    for reference in references:
        try:
            pipeline_class = get_class_from_dynamic_module(
                reference, source, revision=hub_source.get("revision"), cache_dir=hub_source.get("cache_dir")
            )
        except Exception as error:  # a checkpoint without its pipeline code (older), or the Hub out of reach
            logger.warning(_pipeline_code_unread(reference.split(".")[0] + ".py", source, folder, error))
            return
        custom_object_save(pipeline_class, folder)  # the module file and its relative imports


def _pipeline_code_unread(module_file: str, source: str, folder: str | os.PathLike, error: Exception) -> str:
    """The one-line warning of `save_pipeline_code` where the pipeline code `module_file` of the checkpoint `source`
    could not be read (`error`): transformers' text ran over lines and, for a local folder, pointed to
    "https://huggingface.co//<the folder's path>/tree/main". A Hub repository is read again without the `token=` its
    model was loaded with (it is kept nowhere), so a private one needs a login."""
    if os.path.isdir(source) and not os.path.isfile(os.path.join(source, module_file)):
        reason = f"{source!r} holds no {module_file}"
    else:
        # (the error's first line: transformers' run over several; one without text is named by its type)
        reason = f"{module_file} of {source!r} could not be read: {(str(error).strip() or repr(error)).splitlines()[0]}"
    private = "" if os.path.isdir(source) else " (a private repository's: log in first, `hf auth login`)"
    return (
        f"{os.fspath(folder)!r} was saved without the pipeline code its config names ({reason}): "
        f"`pipeline(model=..., trust_remote_code=True)` there needs citrus_hf installed, or {module_file} and "
        f"backends.py copied in from a CiTrus checkpoint that has them, or the model saved again once they can be "
        f"read{private}."
    )


def _refuse_unloadable_weights(model: nn.Module) -> None:
    """Refuse to save, before anything is written, weights that no loader reads back (`unloadable_weights_problem`).

    Raises:
        ValueError: naming the layers or tensors and the route that keeps the model.
    """
    problem = unloadable_weights_problem(model)
    if problem is not None:
        raise ValueError(problem)


@contextmanager
def isolated_rng(device: torch.device, seed: int):
    """Draw random numbers from `seed` on `device` and leave the caller's random state (CPU and that GPU) as it was."""
    devices = (
        [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    )
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def recording_mean(outputs: torch.Tensor, seconds: torch.Tensor) -> torch.Tensor:
    """One recording's value from its windows' outputs (probabilities, targets, embeddings): `(num_windows, outputs)`
    -> `(outputs,)`, each window weighted by the seconds of recording `(num_windows,)` it covers, so that a last
    window padded out to the context (1 s of recording and 9 of padding) counts for its second only (weighted alike,
    it moved a heart rate by 4 bpm); the plain mean where a window covers none. The pipelines (`citrus predict`)
    answer for a recording with it, through the model they hold, and `citrus finetune` scores a test split's
    recordings with it, so that the two agree. Taken about the first window, so that windows of one output give
    exactly it: a model that answers every window alike (the prior's class frequencies) gave each recording a mean a
    rounding apart from the next one's, which per-recording AUROC and correlation ranked as if they were scores."""
    if outputs.ndim != 2:  # (one value per window, `(num_windows,)`, came back unchanged: each window's, no mean)
        raise ValueError(
            f"`outputs` has shape {tuple(outputs.shape)}; give one row per window, (num_windows, outputs) "
            "(`outputs[:, None]` for one value per window)."
        )
    seconds = torch.as_tensor(seconds, dtype=torch.float64)
    if tuple(seconds.shape) != (len(outputs),):  # (one value was broadcast over every window, others stopped in torch)
        raise ValueError(
            f"`seconds` has shape {tuple(seconds.shape)} for {len(outputs)} windows of outputs; give the seconds of "
            "recording each window covers, one per window."
        )
    first = outputs[:1] if len(outputs) else outputs.new_zeros((1, *outputs.shape[1:]))
    if not bool((seconds > 0).all()):
        return first[0] + (outputs - first).mean(0)
    weights = (seconds / seconds.sum()).to(outputs.dtype)
    return first[0] + ((outputs - first) * weights[:, None]).sum(0)


def non_finite_in(
    model: torch.nn.Module, input_values: torch.Tensor | None = None, where: str | None = None, **inputs: Any
) -> str | None:
    """What of `model` is NaN or infinite: "N of its weights", or its outputs on `input_values` `(batch, channels,
    time)` (with `inputs`, e.g. `patch_mask`), computed without gradients in eval mode ("its logits on `where` are
    ...", `where` by default "N windows"), or None when both are finite. Weights can all be finite and still
    overflow: a learning rate of 1e6 leaves weights near 1e6, whose every output is NaN. The output is the model's
    `loss` when it returns one (a pre-training model), else its `logits`, else its `last_hidden_state`."""
    bad = sum(int((~torch.isfinite(p.detach())).sum()) for p in model.parameters() if p.is_floating_point())
    if bad:
        total = sum(p.numel() for p in model.parameters() if p.is_floating_point())
        return f"{bad} of its {total} weights are NaN or infinite"
    if input_values is None:
        return None
    # each module's own flag is given back: `model.train()` afterwards would also put an encoder the caller keeps in
    # eval mode under a training head into training mode
    training = [module for module in model.modules() if module.training]
    model.eval()
    try:
        # a pre-training model draws its mask: from a seed of its own, the caller's random stream left as it was
        with torch.no_grad(), isolated_rng(input_values.device, 0):
            outputs = model(input_values=input_values, return_dict=True, **inputs)
    finally:
        for module in training:
            module.training = True
    for name in ("loss", "logits", "last_hidden_state"):
        value = outputs.get(name) if isinstance(outputs, Mapping) else None
        if isinstance(value, torch.Tensor):
            if not bool(torch.isfinite(value.float()).all()):
                where = where or f"{len(input_values)} windows"
                return f"its {name} on {where} {'is' if name == 'loss' else 'are'} NaN or infinite"
            return None
    return None


def _refuse_non_finite_weights(model: nn.Module, source) -> None:
    """Refuse a loaded model with NaN or infinite weights, naming the tensors: safetensors files carry no checksum, so a
    corrupted data region (or a diverged run saved anyway) would otherwise load and make every prediction NaN."""
    broken = [
        name
        for name, tensor in model.state_dict().items()
        if tensor.is_floating_point() and tensor.device.type != "meta" and not bool(torch.isfinite(tensor).all())
    ]
    if broken:
        raise ValueError(
            f"The checkpoint {str(source)!r} holds non-finite values (NaN or inf) in {len(broken)} tensor(s), e.g. "
            f"{broken[:5]}: the file is corrupted or was saved from a run that diverged. Download or save it again, "
            "or load an earlier checkpoint."
        )


# safetensors' names of the integer dtypes (in its header), as torch names them
_SAFETENSORS_INTEGER_DTYPES = {
    "BOOL": "bool",
    **{f"{code}{bits}": f"{name}{bits}" for code, name in (("I", "int"), ("U", "uint")) for bits in (8, 16, 32, 64)},
}


def _safetensors_dtypes(checkpoint_files: list[str] | None) -> dict[str, str]:
    """Every tensor's stored dtype in the safetensors `checkpoint_files`, as safetensors names it ("F32", "BF16",
    "I64"), read from the headers without reading any tensor.

    Raises:
        FileNotFoundError: a shard the index names is missing.
        OSError: a header is cut short or damaged.
    """
    stored: dict[str, str] = {}
    for file in checkpoint_files or ():
        if file.endswith(".safetensors"):
            from safetensors import safe_open

            if not os.path.isfile(file):  # a shard the index names, missing: not a damaged file
                raise FileNotFoundError(f"No such file or directory: {file!r}")
            try:
                with safe_open(file, framework="pt") as weights:
                    for key in weights.keys():
                        stored[key] = weights.get_slice(key).get_dtype()
            except Exception as error:  # safetensors' SafetensorError: a header cut short or damaged
                raise OSError(
                    f"Could not read {file!r} ({str(error).splitlines()[0]}): the file is corrupt or truncated; "
                    "download or save it again."
                ) from None
    return stored


# safetensors' names of the half-precision and the wider floating dtypes
_SAFETENSORS_HALF_DTYPES = frozenset(("F16", "BF16"))
_SAFETENSORS_WIDE_DTYPES = frozenset(("F32", "F64"))
# torch's floating dtypes by safetensors' names of them (`_state_dict_dtypes`)
_SAFETENSORS_FLOAT_CODES = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32", torch.float64: "F64"}


def _state_dict_dtypes(state_dict: dict | None) -> dict[str, str]:
    """The floating tensors' dtypes of a `state_dict` given to `from_pretrained`, as safetensors names them (as
    `_safetensors_dtypes` reads a file's), so that such a load keeps a float32 head as a file's does
    (`_head_kept_in_float32`)."""
    return {
        key: _SAFETENSORS_FLOAT_CODES[tensor.dtype]
        for key, tensor in (state_dict or {}).items()
        if isinstance(tensor, torch.Tensor) and tensor.dtype in _SAFETENSORS_FLOAT_CODES
    }


def _head_kept_in_float32(model: nn.Module, stored: dict[str, str], dtype: torch.dtype | None) -> dict:
    """The dtype plan (transformers' `LoadStateDictConfig.dtype_plan`: key pattern -> dtype) that loads `model`'s task
    head in float32 where its checkpoint keeps it so beside a half-precision encoder (`stored`: tensor name ->
    safetensors dtype), and the load asks for half precision (`dtype`, as `dtype="auto"` does from the config's bf16).

    The probe folds its ridge read-out, standardisation included, into the head in float32 (`fit_probe`): rounded to
    bf16, the folded bias no longer cancels the features' means and the classes were lost (a tiny model's accuracy fell
    from 0.95 to 0.72). A checkpoint stored wholly in one dtype loads in the dtype asked for, head included."""
    head_name = getattr(type(model), "head_name", None)
    if head_name is None or dtype not in _LOW_PRECISION:
        return {}
    head = {key for key in stored if key.split(".", 1)[0] == head_name}
    rest = {code for key, code in stored.items() if key not in head}
    if not head or not {stored[key] for key in head} <= _SAFETENSORS_WIDE_DTYPES or not rest & _SAFETENSORS_HALF_DTYPES:
        return {}
    return {f"^{re.escape(key)}$": torch.float32 for key in head}


def _refuse_integer_weights(model: nn.Module, state_dict: dict | None, file_dtypes: dict[str, str], source) -> None:
    """Refuse a checkpoint that stores an integer (or bool) tensor where `model` has a floating-point one, naming the
    tensors and their stored dtypes: transformers casts it on load without a word, so a file written by other code (or
    a tampered one) would load as rounded numbers instead of trained weights. `file_dtypes`: the safetensors files'
    dtypes (`_safetensors_dtypes`), read from their headers without reading any tensor."""
    stored: dict[str, str] = {}  # tensor name -> its integer dtype
    for key, tensor in (state_dict or {}).items():
        if isinstance(tensor, torch.Tensor) and not (tensor.is_floating_point() or tensor.is_complex()):
            stored[key] = str(tensor.dtype).removeprefix("torch.")
    for key, code in file_dtypes.items():
        if code in _SAFETENSORS_INTEGER_DTYPES:
            stored[key] = _SAFETENSORS_INTEGER_DTYPES[code]
    floating = {name for name, tensor in model.state_dict().items() if tensor.is_floating_point()}
    # a task checkpoint's keys carry the backbone prefix the bare encoder's lack, and the other way round
    prefix = f"{model.base_model_prefix}."
    integer = sorted(
        (key, dtype) for key, dtype in stored.items() if {key, key.removeprefix(prefix), prefix + key} & floating
    )
    if integer:
        where = f"The checkpoint {str(source)!r}" if source is not None else "The `state_dict` given"
        raise ValueError(
            f"{where} stores {len(integer)} of the model's floating-point weights as integers, e.g. "
            + ", ".join(f"{key} ({dtype})" for key, dtype in integer[:5])
            + ": loading would cast them to floats silently, and they are not trained weights. The file was written "
            "by other code or damaged; save the model again with save_pretrained."
        )


class _CiTrusFamilyMixin(ChecksSaveDirectory):
    """What every CiTrus-family `PreTrainedModel` (single-encoder and fusion) shares: the input name, attention
    support, the Trainer's loss handling, a strict, safetensors-only `from_pretrained`, `push_to_hub`, gradient
    checkpointing that trains adapters behind the patch embedding, and the refusal to resize token embeddings.

    `_backbone_prefix` names the tensors a checkpoint of any class of the family must provide (the encoder); only
    task heads may be new. Task classes name their head in `head_name`.
    """

    _backbone_prefix: str
    # Task classes: the module of the head (`classifier`, `regressor`) and the config field that sets its number of
    # outputs (`num_labels`, `num_targets`), which errors and loaders name. None for the encoder and pre-training.
    head_name: str | None = None
    outputs_field: str | None = None

    # What `get_input_embeddings()` returns and how a model takes another channel count or sampling rate, for the
    # refusal of `resize_token_embeddings` (the fusion family builds from one encoder per modality).
    _input_embeddings_described = "its CNN stem"
    _new_contract_advice = "pass num_channels= to from_pretrained, and let the feature extractor resample recordings."
    # The other CiTrus family's config (its `model_type`) and what to do with it, for the refusal of a config of the
    # wrong class (`_check_config_class`): the two families' configs look alike but describe different models.
    _other_family_config: tuple[str, str] = ("", "")

    @classmethod
    def _check_config_class(cls, config: Any, keyword: bool = False) -> None:
        """Refuse a `config` that is not a `cls.config_class` (another model's config, the other CiTrus family's, a
        dict or None) before anything reads it: the task classes read `config.num_labels` first, and the layers then
        ended on an AttributeError from inside transformers ("'PatchTSTConfig' object has no attribute 'uses_cnn'").
        `keyword`: the config came as `from_pretrained(..., config=...)`, which also takes a path or nothing.

        Raises:
            TypeError: naming the expected config class, the one given and the fix.
        """
        # By model type too: remote code (`trust_remote_code=True`) may build the config from another copy of its
        # module than the one the model class imported, a class of the same name that `isinstance` does not match.
        if isinstance(config, cls.config_class) or (
            isinstance(config, PreTrainedConfig) and config.model_type == cls.config_class.model_type
        ):
            return
        expected = cls.config_class.__name__
        other_type, other_advice = cls._other_family_config
        if other_type and getattr(config, "model_type", None) == other_type:
            advice = other_advice
        elif isinstance(config, Mapping):
            advice = f"build it first with {expected}.from_dict(d) (or {expected}(**d)) and pass that"
        elif config is None:
            advice = f"build one ({expected}(...)), or load a checkpoint with {cls.__name__}.from_pretrained(path)"
        elif isinstance(config, PreTrainedConfig):
            advice = (
                f"another model's config does not describe a CiTrus model; build a {expected} (or read a CiTrus "
                f"checkpoint's with {expected}.from_pretrained(path))"
            )
        else:
            advice = f"pass a {expected}"
        if keyword:
            where, takes = "`config=`", f"a {expected} or the path of a folder with a config.json"
            advice += ", or leave `config=` out to use the checkpoint's own"
        else:
            where, takes = cls.__name__, f"a {expected}"
        raise TypeError(f"{where} takes {takes}, got {type(config).__name__}: {advice}.")

    def _set_gradient_checkpointing(
        self, enable: bool = True, gradient_checkpointing_func: Callable = checkpoint, *args, **kwargs
    ):
        """transformers' switch, which also makes the patch embedding's output (a fusion model's: every encoder's)
        require grad while checkpointing is on (`enable_input_require_grads`, which walks the sub-models).
        transformers does that only for models whose input is `input_ids` (and for its own peft integration): with
        `use_reentrant=True` a checkpointed layer whose input needs no grad gets none, so a LoRA model (peft's
        `get_peft_model`, or a stem frozen by hand) trained nothing inside the transformer, with only torch's warning
        to say so. The hook costs nothing where the input needs grad anyway.

        The checkpoint function marks its replays (`_replay_marked`), in which BatchNorm does not update its running
        statistics again. A model without transformer layers (`backbone="cnn"`) has nothing to checkpoint: enabling
        is refused with the fix (transformers' own error addressed the model's authors), disabling does nothing.
        """
        if not any(isinstance(module, GradientCheckpointingLayer) for module in self.modules()):
            if not enable:
                return
            raise ValueError(
                f"This {type(self).__name__} has no transformer layers (backbone='cnn'), the only modules gradient "
                "checkpointing recomputes, so it would save no memory: train without it (drop "
                "`activation_checkpointing=True` from TrainingArguments, or do not call "
                "`activation_checkpointing_enable()`; `gradient_checkpointing=True` and `gradient_checkpointing_enable()` "
                "before transformers 5.23)."
            )
        if not getattr(gradient_checkpointing_func, "replay_marked", False):
            gradient_checkpointing_func = _replay_marked(gradient_checkpointing_func)
        super()._set_gradient_checkpointing(enable, gradient_checkpointing_func, *args, **kwargs)
        hooked = hasattr(self, "_require_grads_hook")
        if enable and not hooked and self.get_input_embeddings() is not None:
            self.enable_input_require_grads()
        elif not enable and hooked:
            self.disable_input_require_grads()

    def non_finite_problem(
        self, input_values: torch.Tensor | None = None, where: str | None = None, **inputs: Any
    ) -> str | None:
        """What of this model is NaN or infinite: its weights, or its outputs on `input_values` `(batch, channels,
        time)` (`non_finite_in`, the one rule of training's checks; a method too, for the pipelines, which hold the
        model but not this module). None when both are finite."""
        return non_finite_in(self, input_values, where, **inputs)

    def resize_token_embeddings(self, *args, **kwargs) -> NoReturn:
        """Not for bio-signals: CiTrus embeds patches of samples with a CNN stem, not tokens of a vocabulary."""
        raise NotImplementedError(
            f"{type(self).__name__} has no token vocabulary to resize: it embeds patches of signal samples "
            f"(`get_input_embeddings()` is {self._input_embeddings_described}). A new channel count or sampling rate "
            f"needs no resizing: {self._new_contract_advice}"
        )

    def _check_head_width(self) -> None:
        """Refuse a head whose number of outputs (its module's `out_features`, a Python int: no tensor is read, so
        tracing and compiling see no check) is not the config's `outputs_field`: the config was changed after the model was built (`model.config.num_labels = 5`,
        or a longer `id2label`), which rebuilds no head. Training would stop on torch's "Target 4 is out of bounds",
        a pipeline would name only the first classes, and `save_pretrained` would write a checkpoint that its own
        `from_pretrained` refuses. Nothing to check for a model without a head.

        Raises:
            ValueError: naming both numbers and the two fixes (a new head, or the config set back).
        """
        if self.outputs_field is None:
            return
        # (a peft wrapper of the head, `modules_to_save` or LoRA, answers for the module it wraps)
        width = getattr(getattr(self, self.head_name), "out_features", None)
        configured = getattr(self.config, self.outputs_field)
        if width is None or configured == width:
            return
        name = self.config.name_or_path or "checkpoint_path"
        labels = self.outputs_field == "num_labels"  # (set by `id2label` too, which names the outputs)
        raise ValueError(
            f"config.{self.outputs_field} is {configured}{' (the length of config.id2label)' if labels else ''} but "
            f"the `{self.head_name}` head of this {type(self).__name__} has {width} outputs: changing the config after "
            f"the model was built does not rebuild its head. For a new {configured}-output head, load the model again "
            f"with `{type(self).__name__}.from_pretrained({name!r}, {self.outputs_field}={configured}, "
            f"ignore_mismatched_sizes=True)`{' (and id2label=...)' if labels else ''}; otherwise "
            + (
                f"give config.id2label one name per output (keys 0 to {width - 1})."
                if labels
                else f"set config.{self.outputs_field} back to {width}."
            )
        )

    def _check_config_describes_model(self, saving: bool) -> None:
        """Refuse a config changed, after the model was built, into one that no longer describes it (run by
        `save_pretrained` with `saving=True`, by a task model's forward pass with False). Here the head's number of
        outputs (`_check_head_width`); CiTrus models also check the fields their modules were built from."""
        self._check_head_width()

    def load_adapter(
        self, peft_model_id: str | os.PathLike | None = None, adapter_name: str | None = None, *args, **kwargs
    ):
        """transformers' `load_adapter`, strict as this family's loading is: a local adapter folder must hold its
        weights as safetensors (peft would unpickle an `adapter_model.bin`), and the adapter's tensors must be the
        ones the model holds for it (transformers loaded an adapter missing a LoRA matrix or its head, or with every
        key renamed, keeping fresh initialisations in their place with only its load report to say so); a mismatch
        takes the adapter off again and names the tensors."""
        folder = str(peft_model_id) if isinstance(peft_model_id, (str, os.PathLike)) else None
        local = folder is not None and os.path.isdir(folder) and not kwargs.get("adapter_state_dict")
        weights = os.path.join(folder, "adapter_model.safetensors") if local else None
        if local and not os.path.isfile(weights):
            raise OSError(
                f"{folder!r} holds no adapter_model.safetensors"
                + (
                    " (only a pickled adapter_model.bin, which is never unpickled)"
                    if os.path.isfile(os.path.join(folder, "adapter_model.bin"))
                    else ""
                )
                + ": save the adapter again with `save_pretrained` (safetensors)."
            )
        download = {**kwargs, **(kwargs.get("adapter_kwargs") or {})}
        if folder is not None and not kwargs.get("adapter_state_dict"):
            _refuse_other_head_settings(self, folder, download)
        citrus = getattr(self.config, "model_type", None) == CiTrusConfig.model_type
        before = output_names_of(self.config) if citrus else None
        name = adapter_name or "default"
        # the adapter whose names the model shows: the one active before this load, or this one where it is the first
        shown = next((module.active_adapters for module in self.modules() if _is_tuner_layer(module)), None)
        result = super().load_adapter(peft_model_id, adapter_name, *args, **kwargs)
        if local:
            self._check_loaded_adapter(weights, name)
        if before is not None:
            # its classes come with it, as peft's `load_adapter` brings them (`record_adapter_output_names`), shown
            # when `set_adapter` makes it active
            saved = (
                None if folder is None or kwargs.get("adapter_state_dict") else adapter_output_names(folder, download)
            )
            active = shown[0] if shown and len(shown) == 1 else name
            record_adapter_output_names(self, self.peft_config, before, name, active, saved)
        return result

    def set_adapter(self, adapter_name, *args, **kwargs):
        """transformers' `set_adapter`, which also switches the model's output names (`id2label`, `label2id`) and
        their scoring (`problem_type`) to those the adapter was loaded with (`load_adapter` from a folder or Hub id
        with a `citrus_task_config.json`), as peft's `set_adapter` does on a `PeftModel`: the head switched and the
        config kept the first adapter's classes, so a pipeline named and scored another task's outputs."""
        _check_peft_for_adapter_api(self, "set_adapter")
        result = super().set_adapter(adapter_name, *args, **kwargs)
        show_adapter_output_names(self, self.config, adapter_name)
        return result

    def delete_adapter(self, adapter_names, *args, **kwargs):
        """transformers' `delete_adapter`; the deleted adapters' output names go with them, and the adapter left
        active shows its own (`set_adapter`)."""
        _check_peft_for_adapter_api(self, "delete_adapter")
        result = super().delete_adapter(adapter_names, *args, **kwargs)
        for name in [adapter_names] if isinstance(adapter_names, str) else list(adapter_names):
            forget_adapter_output_names(self, name)
        active = next((module.active_adapters for module in self.modules() if _is_tuner_layer(module)), None)
        if active and len(active) == 1:
            show_adapter_output_names(self, self.config, active[0])
        return result

    # transformers' other adapter methods that ask for a newer peft than loading does (`_check_peft_for_adapter_api`);
    # `save_pretrained` of a model holding adapters calls `get_adapter_state_dict` and `active_adapters`

    def add_adapter(self, *args, **kwargs):
        """transformers' `add_adapter` (`_check_peft_for_adapter_api`)."""
        _check_peft_for_adapter_api(self, "add_adapter")
        return super().add_adapter(*args, **kwargs)

    def enable_adapters(self, *args, **kwargs):
        """transformers' `enable_adapters` (`_check_peft_for_adapter_api`)."""
        _check_peft_for_adapter_api(self, "enable_adapters")
        return super().enable_adapters(*args, **kwargs)

    def disable_adapters(self, *args, **kwargs):
        """transformers' `disable_adapters` (`_check_peft_for_adapter_api`)."""
        _check_peft_for_adapter_api(self, "disable_adapters")
        return super().disable_adapters(*args, **kwargs)

    def active_adapters(self, *args, **kwargs):
        """transformers' `active_adapters` (`_check_peft_for_adapter_api`)."""
        _check_peft_for_adapter_api(self, "active_adapters")
        return super().active_adapters(*args, **kwargs)

    def get_adapter_state_dict(self, *args, **kwargs):
        """transformers' `get_adapter_state_dict`, which `save_pretrained` of a model holding adapters calls
        (`_check_peft_for_adapter_api`)."""
        _check_peft_for_adapter_api(self, "save_pretrained")
        return super().get_adapter_state_dict(*args, **kwargs)

    def _check_loaded_adapter(self, weights: str, adapter_name: str) -> None:
        """Compare the tensors of adapter `adapter_name` as loaded with those its file `weights` holds."""
        from safetensors import safe_open

        prefix = f"{self.base_model_prefix}."

        def bare(key: str) -> str:  # a task model's adapter names its encoder's tensors under the backbone prefix
            return key.removeprefix("base_model.model.").removeprefix(prefix)

        with safe_open(weights, framework="pt") as handle:
            saved = {bare(key) for key in handle.keys()}
        # the adapter's tensors as peft saves them: "<module>.lora_A.<name>.weight" -> "<module>.lora_A.weight", a
        # trained head "<head>.modules_to_save.<name>.weight" -> "<head>.weight"
        marker = f".{adapter_name}."
        expected = {
            bare(name.replace(f".modules_to_save{marker}", ".").replace(marker, "."))
            for name, _ in self.named_parameters()
            if marker in name and (".lora_" in name or ".modules_to_save." in name)
        }
        problems = [f"{key} is missing" for key in sorted(expected - saved)]
        if not _ADAPTER_OF_FROM_PRETRAINED.get():
            problems += [f"{key} is not in the model" for key in sorted(saved - expected)]
        if problems:
            try:
                self.delete_adapter(adapter_name)
                left = ""
            except (ValueError, ImportError):  # transformers' delete_adapter wants a newer peft than loading does
                left = f" The model now holds that damaged adapter {adapter_name!r}: load the model again."
            shown = "; ".join(problems[:4]) + (f"; and {len(problems) - 4} more" if len(problems) > 4 else "")
            raise ValueError(
                f"{weights!r} does not fit the adapter its adapter_config.json describes on this model: {shown}. The "
                "file is damaged or was saved from another model; load it onto the base it was trained on, or save "
                f"it again.{left}"
            )

    main_input_name = "input_values"
    input_modalities = ("time",)
    supports_gradient_checkpointing = True

    @property
    def loss_function(self):
        """transformers' loss lookup by `loss_type`, which names `ForCausalLMLoss` (with a warning) for any model whose
        `loss_type` it does not know: TorchScript's scan of a module's attributes (`torch.jit.trace`) printed that for
        every CiTrus classifier. CiTrus models compute their loss in `forward(labels=...)` (a task model's
        `compute_loss`), so there is none to look up: None, or the function set with `model.loss_function = fn`."""
        return getattr(self, "_loss_function", None)

    @loss_function.setter
    def loss_function(self, value):
        self._loss_function = value

    @property
    def is_gradient_checkpointing(self) -> bool:
        """Whether gradient (activation) checkpointing is on, without the FutureWarning transformers 5.25 gives this
        name: peft reads it whenever it wraps a model (`get_peft_model`, `AutoPeftModel...`, `PeftModel`), and
        TorchScript's attribute scan in `torch.jit.trace`, so every user saw a deprecation they could do nothing
        about. The same answer as `is_activation_checkpointing`."""
        return any(getattr(module, "gradient_checkpointing", False) is True for module in self.modules())

    _supports_sdpa = True
    _supports_flash_attn = False
    _supports_flex_attn = False
    _no_split_modules = ["CiTrusEncoderLayer"]
    # The loss never uses `num_items_in_batch`: let the Trainer scale it for gradient accumulation.
    accepts_loss_kwargs = False
    # `push_to_hub(model, repo_id, **kwargs)` that publishes with the CiTrus model card. The citrus_hf package sets it
    # when it is installed (`citrus_hf._auto`); this file is also the checkpoint's remote code, which must not import
    # the package, so without it `push_to_hub` is transformers' own.
    _hub_publisher: Callable | None = None
    # `save_code(folder)` that copies the pipeline code a saved config names (`custom_pipelines`: pipelines.py and
    # backends.py) next to the weights, as the model files are: without it `pipeline(model=folder,
    # trust_remote_code=True)` without the package failed on the missing pipelines.py. Set by the package when it is
    # installed (`citrus_hf.publishing.hooks`); None in remote code, which saves what it has.
    _pipeline_code_saver: Callable | None = None
    # `locate(name) -> folder | None` for checkpoints shipped inside the citrus_hf package ("citrus-small"); set by
    # the package when it is installed (`citrus_hf._auto`), None in remote code.
    _checkpoint_locator: Callable | None = None

    def _check_and_adjust_attn_implementation(self, attn_implementation: str | None, *args, **kwargs) -> str:
        """transformers' check of `attn_implementation` (from `from_pretrained`, `set_attn_implementation` and a
        config's `attn_implementation`), refusing Flash and flex attention with what works instead: transformers' own
        refusal sends users to file an issue with a URL built from the checkpoint's path."""
        name = attn_implementation.removeprefix("paged|") if isinstance(attn_implementation, str) else ""
        is_flash_kernel = "/" in name and "flash" in name.lower()  # a Hub kernel, "kernels-community/flash-attn"
        if name.startswith("flash_attention") or name == "flex_attention" or is_flash_kernel:
            raise ValueError(
                f"{type(self).__name__} does not support attn_implementation={attn_implementation!r}: its attention "
                "takes an additive mask over padding patches (and, for criss-cross attention, a pass across channels), "
                "which the Flash and flex attention kernels do not. Use 'sdpa' (the default), 'eager', or a function "
                "registered with `transformers.AttentionInterface.register(name, function)`."
            )
        return super()._check_and_adjust_attn_implementation(attn_implementation, *args, **kwargs)

    @classmethod
    def _from_peft_adapter(cls, adapter, settings: dict, missing_config: OSError, model_args, call_kwargs: dict):
        """`from_pretrained(adapter)` for a peft adapter (its `settings`, from adapter_config.json): the base it
        records, built by `cls`, with transformers loading the adapter onto it within the same call (as its Auto
        classes do). `missing_config` is the error that the adapter's own config.json is missing, raised again when the
        adapter names no base. Errors of the base are reraised naming the adapter: the user never named the base."""
        base = settings.get("base_model_name_or_path")
        where = f"{str(adapter)!r} is a LoRA adapter (peft)"
        if not isinstance(base, str) or not base:
            raise missing_config
        if _checkpoint_file(adapter, ADAPTER_WEIGHTS_NAME, call_kwargs) is None:
            raise OSError(
                f"{where} without its weights ({ADAPTER_WEIGHTS_NAME}): save the adapter again with peft's "
                "`save_pretrained` (or `citrus_hf.training.lora.save_adapter`), which writes both files."
            )
        adapter_kwargs = call_kwargs.get("adapter_kwargs") or {}
        # The revision given is the adapter's, named for it even when None (transformers loads the adapter at the
        # base's revision otherwise); the base loads at the revision the adapter records (peft's `revision`), the
        # one it was trained on: main's weights under it gave the predictions of no trained model.
        call_kwargs["adapter_kwargs"] = {
            "revision": call_kwargs.pop("revision", None),
            **adapter_kwargs,
            "_adapter_model_path": adapter,
        }
        if isinstance(settings.get("revision"), str) and settings["revision"]:
            call_kwargs["revision"] = settings["revision"]
        try:
            return cls.from_pretrained(base, *model_args, **call_kwargs)
        except (OSError, ValueError) as error:
            if str(adapter) in str(error):  # already about the adapter (its head, its task)
                raise
            raise (OSError if isinstance(error, OSError) else ValueError)(
                f"{where} of the base {base!r} (its adapter_config.json's base_model_name_or_path), which did not load "
                f"as {cls.__name__}: {error}"
            ) from error

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        """`PreTrainedModel.from_pretrained`, strict and from safetensors only.

        Loading a checkpoint of the same class must match every tensor; loading a pre-training checkpoint (the
        encoder, with or without its pre-training head) into a task class must match every backbone tensor, and
        only the new head is initialised (one log line says which). Anything else is an error naming the tensors,
        never a model that silently kept random weights. A task checkpoint loads only into its own task class (or
        as an encoder): a regressor loaded as a classifier would drop its trained head, so that is an error naming
        the right class, unless `replace_head=True` asks for a new head on its encoder. A head of another size
        (`num_labels=5` on a 3-class checkpoint) is an error unless `ignore_mismatched_sizes=True` asks for a new
        head. Pickled `.bin` checkpoints are refused, and so are, before any weight is read, a folder without
        `config.json`, a path that does not exist and a checkpoint of another model type. A model loaded from a
        local folder records it by its absolute path (`name_or_path`), so that it still names that folder after the
        current folder changes.
        """
        requested = pretrained_model_name_or_path
        # a config field misspelt or named as other models name it (`num_classes=3`): transformers would pass it on
        # to the model's `__init__`, which names no field in its TypeError
        check_misspelt_fields(cls.config_class, kwargs)
        _check_config_keyword(cls, kwargs)
        check_dtype_keywords(_from_pretrained_call(cls, kwargs), kwargs)
        call_kwargs = dict(kwargs)  # as given, for the adapter route below
        # transformers' Auto classes name the adapter (folder or Hub repo) they found in `adapter_kwargs`, and load it
        # onto this base within this call
        adapter_kwargs = kwargs.get("adapter_kwargs") or {}
        adapter = adapter_kwargs.get("_adapter_model_path")
        _refuse_citrus_adapter(adapter, {**kwargs, **adapter_kwargs})
        if not kwargs.get("replace_head", False):
            _refuse_adapter_of_another_task(cls, adapter, {**kwargs, **adapter_kwargs})
        pretrained_model_name_or_path = _located(cls._checkpoint_locator, pretrained_model_name_or_path)
        return_loading_info = kwargs.pop("output_loading_info", False)
        replace_head = kwargs.pop("replace_head", False)
        if kwargs.get("use_safetensors") is False:
            raise ValueError(
                "CiTrus checkpoints load from safetensors only (a pickle can run code when unpickled): leave out "
                f"`use_safetensors=False`. {_pickle_conversion(cls.__name__, pretrained_model_name_or_path)}"
            )
        kwargs["use_safetensors"] = True
        try:
            saved_config = cls._checked_saved_config(pretrained_model_name_or_path, kwargs)
        except OSError as error:
            # A peft adapter (adapter_config.json, no config.json), which transformers' own `from_pretrained` takes as
            # its Auto classes do: the base it records, then the adapter loaded onto it within the same call.
            lookup = {**kwargs, "local_files_only": True} if lookup_never_reached_the_hub(error) else kwargs
            settings = None if adapter is not None else _adapter_settings(requested, lookup)
            if settings is None:
                raise
            return cls._from_peft_adapter(requested, settings, error, model_args, call_kwargs)
        kwargs = cls._config_overrides_for(pretrained_model_name_or_path, saved_config, kwargs)
        saved_class = (saved_config.get("architectures") or [None])[0]
        if replace_head and saved_class not in (None, cls.__name__):
            # the saved problem type is the replaced head's (the Trainer's first forward pass records the classifier's
            # "single_label_classification"): the new head starts from its own class's unless the caller gave one
            new_problem = REGRESSION if getattr(cls, "head_name", None) == "regressor" else None
            given = kwargs.get("config")
            if isinstance(given, PreTrainedConfig):  # the Auto classes pass the config they loaded
                if given.problem_type == saved_config.get("problem_type"):
                    kwargs["config"] = copy.deepcopy(given)
                    kwargs["config"].problem_type = new_problem
            elif "problem_type" not in kwargs:
                kwargs["problem_type"] = new_problem
            kwargs = cls._without_replaced_head_names(saved_class, saved_config, kwargs)
        # Mismatched shapes are reported below with the shapes and the fix, instead of transformers' pointer to its
        # log ("see report above"); a head the caller asked to replace is then allowed.
        replace_mismatched = bool(kwargs.pop("ignore_mismatched_sizes", False))
        report_loggers = ["transformers.configuration_utils", "transformers.modeling_utils"]
        report_loggers += ["transformers.integrations.peft"] if adapter else []
        held = _LoadReportHold(*map(std_logging.getLogger, report_loggers))
        route = _ADAPTER_OF_FROM_PRETRAINED.set(adapter is not None)
        try:
            model, loading_info = super().from_pretrained(
                pretrained_model_name_or_path,
                *model_args,
                output_loading_info=True,
                ignore_mismatched_sizes=True,
                **kwargs,
            )
        except Exception as error:
            held.release()  # transformers' report explains its own error
            message = str(error)
            if isinstance(error, FileNotFoundError) or "no such file" in message.lower():
                raise OSError(
                    f"Could not read the weights of {pretrained_model_name_or_path!r}: "
                    f"{message.splitlines()[0].rstrip('.')}. A "
                    f"weights file that {SAFE_WEIGHTS_INDEX_NAME} names is missing; download or save the checkpoint "
                    "again."
                ) from error
            if "does not appear to have a file named" in message:  # transformers: no weights file at all
                raise _no_weights_file_error(pretrained_model_name_or_path, kwargs) from error
            if "safetensor" in message.lower() or "header" in message.lower() or "deserializ" in message.lower():
                raise OSError(
                    f"Could not read the weights of {pretrained_model_name_or_path!r}: "
                    f"{message.splitlines()[0].rstrip('.')}. The model.safetensors file is corrupt or truncated; "
                    "download or save it again."
                ) from error
            raise
        finally:
            held.stop()
            _ADAPTER_OF_FROM_PRETRAINED.reset(route)
        saved_architectures = list(saved_config.get("architectures") or [])
        missing = sorted(loading_info.get("missing_keys", []))
        unexpected = sorted(loading_info.get("unexpected_keys", []))
        mismatched = sorted(loading_info.get("mismatched_keys", []), key=lambda item: item[0])  # (key, saved, built)
        same_class = cls.__name__ in saved_architectures
        missing_backbone = [k for k in missing if k.startswith(cls._backbone_prefix)]
        # Across classes only the other class's head may be left unused: a tensor under one of this model's own
        # modules that it has no place for means the weights describe more of the encoder than the config does (a
        # layer count edited down, a foreign tensor), and dropping it would silently load a smaller model.
        extra_backbone = [k for k in unexpected if _under_own_module(model, k)]
        problems = []
        if same_class and (missing or unexpected):
            problems.append(f"missing tensors {missing[:10]}, unexpected tensors {unexpected[:10]}")
        else:
            if missing_backbone:
                problems.append(f"backbone tensors missing from the checkpoint: {missing_backbone[:10]}")
            if extra_backbone:
                problems.append(
                    f"encoder tensors this model has no place for: {extra_backbone[:10]} (its config.json describes "
                    "a smaller encoder than its weights hold; check num_hidden_layers and the other sizes)"
                )
        if any(_is_adapter_tensor(key) for key, _, _ in mismatched):
            # the tensors are the adapter's (transformers loads it within this call): the fix is the head's settings,
            # and the base's loading tables would only blame the base
            raise _adapter_mismatch_error(adapter, model, mismatched)
        mismatched_backbone = [m for m in mismatched if m[0].startswith(cls._backbone_prefix)]
        if mismatched_backbone or (mismatched and not replace_mismatched):
            shapes = ", ".join(
                f"{key} {tuple(saved)} in the checkpoint vs {tuple(built)} here"
                for key, saved, built in (mismatched_backbone or mismatched)[:10]
            )
            hint = (
                ""
                if mismatched_backbone
                else " If you meant a new head (another `num_labels` or `num_targets`), pass "
                "`ignore_mismatched_sizes=True`; to keep the saved head, drop the overriding arguments"
            )
            problems.append(f"tensors of another shape: {shapes}.{hint}")
        # transformers' table would only repeat the shapes above, printed ahead of the error as a second report
        # (the only problem, and every tensor named: at most 10 are)
        head_size_only = len(problems) == 1 and mismatched and not (replace_mismatched or mismatched_backbone)
        head_size_only = bool(head_size_only) and len(mismatched) <= 10
        pruned = _pruned_pairs(unexpected)
        if pruned:  # (transformers' table, every pruned tensor missing and its two parts unexpected, is left out)
            raise ValueError(
                f"The checkpoint {str(pretrained_model_name_or_path)!r} was saved from a model pruned with "
                f"torch.nn.utils.prune: it holds {len(pruned)} weights as `<name>_orig` / `<name>_mask` pairs in "
                f"place of the weights themselves ({', '.join(f'{key}_orig' for key in pruned[:3])}"
                f"{', ...' if len(pruned) > 3 else ''}). Save it again from the pruned model once you {_PRUNING_FIX}, "
                "or write each weight as `weight_orig * weight_mask` into its safetensors file."
            )
        prefix = _wrapper_prefix(missing, unexpected, cls.base_model_prefix)
        if prefix is not None:  # (transformers' table, every tensor missing and unexpected, is left out)
            path, mapping = str(pretrained_model_name_or_path), {"^" + re.escape(prefix): ""}
            raise ValueError(
                f"The checkpoint {path!r} holds every tensor under the prefix {prefix!r}, which {cls.__name__}'s "
                f"names do not have: it was saved from a wrapper's state dict ({_WRAPPERS}). Load it with "
                f"`{cls.__name__}.from_pretrained({path!r}, key_mapping={mapping!r})`, or save it again from the "
                "model itself (`model.save_pretrained(folder)`, without state_dict=)."
            )
        if problems:
            if not head_size_only:  # (a head of another size alone: the error names every tensor and shape already)
                held.release()  # the table of every tensor, next to the error's summary
            raise ValueError(
                f"The checkpoint {str(pretrained_model_name_or_path)!r} (saved as {saved_architectures}) does not "
                f"match {cls.__name__}: " + "; ".join(p.rstrip(".") for p in problems) + ". Otherwise it is corrupt or "
                "was saved by another model."
            )
        if not same_class and not replace_head:
            cls._check_task_class(pretrained_model_name_or_path, saved_architectures)
        _refuse_non_finite_weights(model, pretrained_model_name_or_path)
        # A head of another size is reported in full (a checkpoint of another task may be a mistake), except for
        # callers that fit the head themselves and asked for it (`ignore_mismatched_sizes=True`): one line for them.
        fitted_here = replace_mismatched and not mismatched_backbone and _HEAD_FITTED_BY_CALLER.get()
        new_sized_head = [key for key, _, _ in mismatched] if fitted_here else []
        if held.records and ((not same_class and not mismatched) or new_sized_head):
            # The expected case: the checkpoint's encoder, a head of this class that starts untrained, and the
            # checkpoint's own head (if any) left out. One line instead of transformers' table.
            saved = f"a {saved_architectures[0]}" if saved_architectures else "another CiTrus class's"
            source = str(pretrained_model_name_or_path)
            if kwargs.get("subfolder"):
                source = f"{source.rstrip('/')}/{kwargs['subfolder']}"  # where the weights came from
            # `from_pretrained(None, config=..., state_dict=...)`: weights without a checkpoint, and so no saved class
            given_state = pretrained_model_name_or_path is None
            origin = "the `state_dict=` given" if given_state else f"{source!r} ({saved} checkpoint)"
            message = f"{cls.__name__}: encoder loaded from {origin}"
            if missing or new_sized_head:
                new_head = _modules_of(missing + new_sized_head)
                # (peft users load their adapter onto this model next, which the load cannot know about)
                message += (
                    f"; new, untrained head: {', '.join(new_head)} (fine-tune it, or load a trained adapter onto "
                    "it, before use)"
                )
            if unexpected:
                held_by = "the state dict's" if given_state else "the checkpoint's"
                message += f"; not used: {held_by} {', '.join(_modules_of(unexpected))}"
            head_name = getattr(cls, "head_name", None)
            # transformers' adapter path loads the adapter within this call, trained head included when peft saved it
            # (its `modules_to_save`): then nothing is left to fit
            head_from_adapter = adapter is not None and hasattr(
                getattr(model, head_name or "", None), "modules_to_save"
            )
            if adapter is not None:
                message += f"; LoRA adapter loaded from {str(adapter)!r}"
                if head_from_adapter:
                    message += " with its trained head"
                elif head_name:
                    message += f", which holds no `{head_name}`: that head is untrained (fine-tune it before use)"
            quiet = _HEAD_FITTED_BY_CALLER.get() or head_from_adapter
            (logger.info if quiet else logger.warning)(message + ".")
        else:
            held.release()
        if pretrained_model_name_or_path is not requested:
            # a bundled checkpoint: its name, not this installation's path to it, is what an adapter or a card built
            # on the model records as its base (it loads by that name wherever the package is installed)
            model.config._name_or_path = model.name_or_path = requested
        elif isinstance(requested, (str, os.PathLike)) and os.path.isdir(requested):
            # a local folder by its absolute path: "runs/base" as typed names the folder only while the current folder
            # stays the same, and after an `os.chdir` (a notebook's `%cd`) every later reader (the adapter's recorded
            # base, the Trainer's card, `push_to_hub`'s run records) found another project's folder or a Hub id; and
            # the `subfolder=` it was read from, whose extractor and records those readers took from the folder's root
            # (another checkpoint's), as an adapter trained on it recorded the root as its base
            folder = os.path.join(requested, kwargs["subfolder"]) if kwargs.get("subfolder") else requested
            model.config._name_or_path = model.name_or_path = os.path.abspath(folder)
        if callable(getattr(model, "_freeze_unused_parameters", None)):  # a task model
            model._freeze_unused_parameters()
        return (model, loading_info) if return_loading_info else model

    @staticmethod
    def _load_pretrained_model(model, state_dict, checkpoint_files, load_config, *args, **kwargs):
        """`PreTrainedModel._load_pretrained_model` (where transformers holds the resolved weight files) after
        `_refuse_integer_weights`, with a task head that the checkpoint (its files, or the `state_dict` given) keeps
        in float32 beside a half-precision encoder loaded in float32 (`_head_kept_in_float32`)."""
        file_dtypes = _safetensors_dtypes(checkpoint_files)
        _refuse_integer_weights(
            model, state_dict, file_dtypes, getattr(load_config, "pretrained_model_name_or_path", None)
        )
        # the weights given as `state_dict=` (no file) keep their float32 head as a checkpoint file's do
        head_plan = _head_kept_in_float32(model, {**_state_dict_dtypes(state_dict), **file_dtypes}, load_config.dtype)
        if head_plan:  # (transformers' load settings are a frozen dataclass)
            load_config = replace(load_config, dtype_plan={**(load_config.dtype_plan or {}), **head_plan})
        # The Hub commit of this load, where publishing reads it (as transformers before v5 recorded it): transformers
        # 5 resolves the revision per load and keeps it nowhere, so a model loaded from a branch, tag or commit and
        # published elsewhere took main's feature extractor. Not saved: `config.json` leaves `_commit_hash` out.
        source = _hub_source_of(checkpoint_files)
        model.config._commit_hash = None if source is None else source["revision"]
        # and the cache and subfolder it was read from: where the extractor saved beside it is (`_hub_source_kwargs`)
        model._hub_source = source
        return PreTrainedModel._load_pretrained_model(model, state_dict, checkpoint_files, load_config, *args, **kwargs)

    @classmethod
    def _checked_saved_config(cls, pretrained_model_name_or_path, kwargs) -> dict:
        """The checkpoint's saved config (a dict), after the checks whose failure transformers reports late or
        vaguely: a local folder needs `config.json` (transformers would silently use a default config, then fail on
        every tensor's shape) and safetensors weights, a path must exist, and the model type must be this family's.
        It is read from the checkpoint even when a `config=` object replaces it on the model, so its `architectures`
        say which class the weights were saved from.
        """
        if pretrained_model_name_or_path is None:  # weights given as `state_dict=`, the config as `config=`
            return {}
        name = str(pretrained_model_name_or_path)
        folder = os.path.join(name, kwargs["subfolder"]) if kwargs.get("subfolder") else name
        # weights saved without their config (`accelerator.save_model`), the config given as `config=`: transformers
        # loads this pattern, and the given config says what the weights belong to
        weights_only = isinstance(kwargs.get("config"), cls.config_class) and not os.path.isfile(
            os.path.join(folder, CONFIG_NAME)
        )
        if os.path.isdir(folder):
            if not os.path.isfile(os.path.join(folder, CONFIG_NAME)) and not weights_only:
                _refuse_citrus_adapter(folder)  # a LoRA folder: name it
                moved = dangling_links_error(folder)
                if moved is not None:
                    raise moved
                raise OSError(
                    f"{folder!r} has no config.json, so nothing says which architecture and input contract its weights "
                    "belong to. Save checkpoints with `save_pretrained` (it writes both), or put the config.json the "
                    "model was trained with next to its weights."
                )
            variant = kwargs.get("variant")
            weights_name, index_name = safetensors_names(variant)  # what `save_pretrained(variant=...)` wrote
            if not any(os.path.isfile(os.path.join(folder, f)) for f in (weights_name, index_name)):
                saved = sorted(f for f in os.listdir(folder) if f.startswith("model.") and f.endswith(".safetensors"))
                if variant or saved:  # weights saved as another variant (`model.<variant>.safetensors`)
                    written_by = f"save_pretrained(folder{f', variant={variant!r}' if variant else ''})"
                    raise OSError(
                        f"{folder!r} holds no {weights_name} (nor {index_name}), the weights `{written_by}` writes"
                        + (
                            f"; its weights are {saved[:5]}: pass the `variant=` they were saved with (the name "
                            f"between 'model.' and the suffix){', or none' if variant else ''}."
                            if saved
                            else "."
                        )
                    )
                if os.path.isfile(os.path.join(folder, DEPLOYED_ONNX_NAME)):
                    # `citrus export --output-dir`'s deployment folder: the ONNX graph, its config and extractor
                    raise OSError(
                        f"{folder!r} is an ONNX deployment folder ({DEPLOYED_ONNX_NAME}, as `citrus export "
                        "--output-dir` writes it), which holds no PyTorch weights: run it with onnxruntime (README: "
                        "running the export without citrus_hf), or load the checkpoint folder it was exported from."
                    )
                raise _no_weights_error(folder, cls.__name__)
            stale = stale_weights_error(folder, variant)
            if stale is not None:
                raise stale
        elif os.path.exists(folder):
            raise file_for_folder_error(folder, f"config.json and {SAFE_WEIGHTS_NAME}")
        elif os.path.isdir(name):  # a `subfolder=` that this folder (a bundled checkpoint's too) does not have
            raise missing_subfolder_error(name, kwargs["subfolder"])
        else:
            check_checkpoint_reference(name)
        if weights_only and os.path.isdir(folder):
            return {}
        config_dict, _ = cls.config_class.get_config_dict(
            pretrained_model_name_or_path, **{k: kwargs[k] for k in DOWNLOAD_ARGUMENTS if k in kwargs}
        )
        if not isinstance(config_dict, dict):
            raise ValueError(
                f"{folder!r}: config.json holds a JSON {type(config_dict).__name__}, not the object of settings "
                "`save_pretrained` writes; save the checkpoint again."
            )
        model_type = config_dict.get("model_type")
        # (a `config=` object or a keyword override states the field itself; a fusion config checks its modalities)
        if model_type == cls.config_class.model_type == CiTrusConfig.model_type and "config" not in kwargs:
            CiTrusConfig.check_saved_contract(config_dict, kwargs, f"{folder!r}: config.json")
        if model_type == cls.config_class.model_type and os.path.isdir(folder) and not weights_only:
            given = kwargs.get("config")
            if given is None:
                outputs_field = getattr(cls, "outputs_field", None) if getattr(cls, "head_name", None) else None
                check_saved_sizes(folder, kwargs.get("variant"), config_dict, CONFIG_NAME, outputs_field, kwargs)
            elif isinstance(given, PreTrainedConfig):
                # the Auto classes pass the config they read from config.json (so an edited one went unchecked on
                # their route): its encoder must fit the weights, which strict loading needs anyway. Its head is the
                # caller's to size (a new one with `ignore_mismatched_sizes=True`); an adapter's task config is
                # checked in full by `load_adapter`.
                source = "the config given as `config=` (the Auto classes read it from config.json)"
                check_saved_sizes(folder, kwargs.get("variant"), given.to_dict(), source)
        if model_type != cls.config_class.model_type:
            if model_type is None:  # no config.json: a Hub repository of a LoRA adapter is named as such
                _refuse_citrus_adapter(name, kwargs)
            if not config_dict:
                # transformers answers {} for a Hub repository without config.json: the OSError of a folder without
                # one, which `from_pretrained` takes as the sign of a peft adapter and loads its recorded base
                raise OSError(
                    f"{name!r} has no config.json (or an empty one), so nothing says which architecture and input "
                    "contract its weights belong to. Push checkpoints with `push_to_hub` (it uploads both)."
                )
            if model_type == FUSION_MODEL_TYPE:  # its encoders are CiTrus models, each loadable on its own
                raise fusion_checkpoint_error(name, config_dict)
            raise ValueError(
                f"{name!r} holds a {model_type!r} checkpoint (saved as {config_dict.get('architectures')}), not a "
                f"{cls.config_class.model_type!r} one, so {cls.__name__} cannot load it: load it with the class it was "
                "saved from (transformers' Auto classes pick it from config.json)."
            )
        return config_dict

    @classmethod
    def _config_overrides_for(cls, pretrained_model_name_or_path, saved_config: dict, kwargs: dict) -> dict:
        """The caller's `from_pretrained` keyword arguments with the config overrides they imply, given the
        checkpoint's `saved_config` (none by default)."""
        return kwargs

    @classmethod
    def _without_replaced_head_names(cls, saved_class: str, saved_config: dict, kwargs: dict) -> dict:
        """`from_pretrained`'s keywords for a new head of this class in place of a task checkpoint's other head
        (`replace_head=True`): a classifier's class names would name a regressor's targets (3 class names beside one
        output, refused) and a regressor's target names would set a classifier's classes, so the saved names give
        way to transformers' placeholders unless the caller named the new head's outputs (`num_labels`, `id2label`,
        `label2id`, here or in the config given)."""
        saved = getattr(sys.modules[cls.__module__], saved_class, None)
        own_head = getattr(cls, "head_name", None)
        if own_head is None or getattr(saved, "head_name", own_head) in (None, own_head):
            return kwargs  # an encoder class, a pre-training checkpoint or one of the same head: its names stand
        names = ("num_labels", "id2label", "label2id")
        given = kwargs.get("config")
        placeholders = {index: f"LABEL_{index}" for index in range(2)}  # (every config's default: two classes)
        if isinstance(given, PreTrainedConfig):
            if not set(names) & head_keywords_given(given) and named_outputs(given.id2label) is not None:
                kwargs = {**kwargs, "config": copy.deepcopy(given)}
                kwargs["config"].id2label = dict(placeholders)
                kwargs["config"].label2id = {name: index for index, name in placeholders.items()}
        elif not set(names) & kwargs.keys() and named_outputs(saved_config.get("id2label")) is not None:
            kwargs = {**kwargs, "id2label": dict(placeholders)}
        return kwargs

    @classmethod
    def _check_task_class(cls, pretrained_model_name_or_path, saved_architectures: list[str]) -> None:
        """A task checkpoint (one with a trained head) loads only into its own task class: refuse another task class,
        whose new head would silently replace the trained one."""
        if getattr(cls, "head_name", None) is None:
            return  # an encoder-only class: the checkpoint's head is simply not used
        family = sys.modules[cls.__module__]
        for name in saved_architectures:
            saved_class = getattr(family, name, None)
            if saved_class is None or getattr(saved_class, "head_name", None) is None:
                continue
            auto_class = getattr(saved_class, "_auto_class", None)
            raise ValueError(
                f"{str(pretrained_model_name_or_path)!r} is a {name} checkpoint: its trained `{saved_class.head_name}` "
                f"head would be dropped and a new `{cls.head_name}` head of {cls.__name__} started. Load it with "
                f"{name}.from_pretrained" + (f" (or {auto_class}.from_pretrained)" if auto_class else "") + "; to "
                "fine-tune its encoder for another task on purpose, pass replace_head=True."
            )

    def push_to_hub(self, repo_id: str, **push_kwargs):
        """`PreTrainedModel.push_to_hub` (the same keyword arguments: `commit_message`, `commit_description`,
        `private`, `token`, `revision`, `create_pr`, `max_shard_size`, `tags`) with the CiTrus model card: with
        citrus_hf installed, the card, files and checks of `citrus push` (`citrus_hf.publishing.push.push_to_hub`),
        reading the run records and feature extractor saved next to the weights this model was loaded from.
        Returns the `CommitInfo`."""
        publisher = type(self)._hub_publisher
        if publisher is None:
            return super().push_to_hub(repo_id, **push_kwargs)
        return publisher(self, repo_id, **push_kwargs)

    # `save_pretrained(..., push_to_hub=True, **kwargs)` options that belong to the push, not to the save.
    _SAVE_AND_PUSH_OPTIONS = ("commit_message", "commit_description", "private", "create_pr", "revision", "tags")

    def save_pretrained(self, save_directory, *args, push_to_hub: bool = False, **kwargs):
        """`PreTrainedModel.save_pretrained`; with `push_to_hub=True` (and `repo_id=`, default: the folder's name)
        the folder is then published the way `push_to_hub` publishes, with the CiTrus model card, reading the feature
        extractor and run records saved in `save_directory` (transformers' own route would upload its generic card)."""
        publisher = type(self)._hub_publisher
        is_main_process = args[0] if args else kwargs.get("is_main_process", True)
        _refuse_unloadable_weights(self)
        given = kwargs.get("state_dict", args[1] if len(args) > 1 else None)
        # (an adapter's own tensors; and an empty one, Trainer's placeholder under DeepSpeed ZeRO-3 without gathered
        # weights: it writes no weights file, and DeepSpeed's checkpoint is written beside it)
        if given and not getattr(self, "_hf_peft_config_loaded", False):
            _refuse_foreign_state_dict(self, given)
        self._check_config_describes_model(saving=True)  # (else the checkpoint would not be this model)
        if not push_to_hub or publisher is None or not is_main_process:
            # transformers' own push (remote code: no publisher) uploads the folder within its `save_pretrained`,
            # before the pipeline code is written below: `_upload_modified_files` writes it first
            self._pipeline_code_before_upload = push_to_hub
            try:
                saved = super().save_pretrained(save_directory, *args, push_to_hub=push_to_hub, **kwargs)
            finally:
                del self._pipeline_code_before_upload
            if is_main_process:
                self._remove_stale_weights(save_directory, kwargs.get("variant"))
            if is_main_process and not push_to_hub and os.path.isdir(save_directory):
                save_pipeline_code(self, save_directory)
            return saved
        push_options = {name: kwargs.pop(name) for name in self._SAVE_AND_PUSH_OPTIONS if name in kwargs}
        repo_id = kwargs.pop("repo_id", None) or os.path.basename(os.path.normpath(save_directory))
        if "max_shard_size" in kwargs:
            push_options["max_shard_size"] = kwargs["max_shard_size"]
        saved = super().save_pretrained(save_directory, *args, **kwargs)
        self._remove_stale_weights(save_directory, kwargs.get("variant"))
        publisher(self, repo_id, token=kwargs.get("token"), saved_folder=save_directory, **push_options)
        return saved

    def _upload_modified_files(self, working_dir, *args, **kwargs):
        """`PushToHubMixin._upload_modified_files`, after writing into `working_dir` the pipeline code the config
        names where `save_pretrained(..., push_to_hub=True)` uploads through it (`save_pipeline_code`): a remote-code
        model pushed so reached the Hub without pipelines.py, which its save wrote only after the upload."""
        if getattr(self, "_pipeline_code_before_upload", False):
            save_pipeline_code(self, working_dir)
        return super()._upload_modified_files(working_dir, *args, **kwargs)

    def _remove_stale_weights(self, save_directory, variant: str | None) -> None:
        """Remove, after a save into `save_directory`, the weights of an earlier save that the new ones leave behind:
        transformers removes earlier shards, but keeps an earlier `model.safetensors` beside new shards (which every
        loader then reads instead of them: the old weights were served) and an earlier shards' index beside a new
        single file. The index this save wrote names shards that all exist; an earlier one names removed shards."""
        if getattr(self, "_hf_peft_config_loaded", False):  # (transformers saved an adapter's files, not these)
            return
        weights_name, index_name = safetensors_names(variant)
        folder = os.fspath(save_directory)
        if stale_weights_error(folder, variant) is None:
            return
        try:
            shards = set((_saved_weight_map(folder, variant) or {}).values())
        except OSError:  # an index that is no JSON weight map: not the one this save wrote
            shards = set()
        sharded_now = bool(shards) and all(os.path.isfile(os.path.join(folder, shard)) for shard in shards)
        os.remove(os.path.join(folder, weights_name if sharded_now else index_name))


def _no_weights_file_error(name_or_path: str | os.PathLike, kwargs: Mapping[str, Any]) -> OSError:
    """The error for a Hub checkpoint `name_or_path` (`from_pretrained` keywords `kwargs`) where transformers found no
    safetensors weights, which it reported as "does not appear to have a file named model.safetensors ... Please do not
    set `use_safetensors=True`" (an option the package sets) and the package then called a corrupt file: offline, a
    file the Hub cache never held (`uncached_offline_error`); else a repository without them."""
    weights_name, index_name = safetensors_names(kwargs.get("variant"))
    if offline_cache_lacks(name_or_path, weights_name, kwargs) and offline_cache_lacks(
        name_or_path, index_name, kwargs
    ):
        return uncached_offline_error(name_or_path, weights_name, kwargs.get("revision"), kwargs.get("subfolder"))
    return no_safetensors_error(
        hub_source_shown(name_or_path, kwargs.get("subfolder"), kwargs.get("revision")), kwargs.get("variant")
    )


def _pickled_model_weights(folder: str) -> list[str]:
    """The pickled weights files of the checkpoint `folder`, sorted: the model's (`pytorch_model*.bin`, `model*`), not
    a Trainer's optimizer.pt or rng_state.pth beside them, where it holds any; else every pickled file it holds."""
    pickled = sorted(name for name in os.listdir(folder) if name.endswith(_PICKLED_WEIGHT_SUFFIXES))
    return [name for name in pickled if name.startswith(("pytorch_model", "model"))] or pickled


def _pickled_state_dict_call(folder: str, weights: Sequence[str]) -> str:
    """The expression that reads the trusted pickled weights `weights` (file names in `folder`, `_pickled_model_weights`)
    as one state dict: `torch.load` of the file, or, for a set of shards (`pytorch_model-00001-of-00002.bin` ...),
    every shard of the set merged, where a load of the first one named only part of the model's tensors."""
    shard = WEIGHT_SHARD.fullmatch(weights[0]) if weights else None
    if shard is None:
        return (
            f"torch.load({os.path.join(folder, weights[0] if weights else 'pytorch_model.bin')!r}, weights_only=True)"
        )
    pattern = os.path.join(folder, f"{shard['stem']}-*-of-{shard['count']}{shard['suffix']}")
    return (
        f"{{key: value for shard in sorted(glob.glob({pattern!r})) "
        "for key, value in torch.load(shard, weights_only=True).items()}"
    )


def _pickle_conversion(class_name: str, folder: Any) -> str:
    """How to convert the trusted pickled weights of the checkpoint `folder` (None: one not named; a local folder: the
    weights it holds, `_pickled_model_weights`, all shards of a sharded set) into the safetensors a `class_name`
    loads. The whole call is named: transformers refuses `state_dict=` beside a checkpoint's name, and the package a
    folder without safetensors weights, so "pass them as `state_dict=`" sent `from_pretrained(folder, state_dict=...)`
    round to the refusal it came from."""
    local = isinstance(folder, (str, os.PathLike)) and os.path.isdir(folder)
    shown = os.fspath(folder) if local else "folder"
    weights = _pickled_model_weights(shown) if local else []
    state_dict = _pickled_state_dict_call(shown, weights)
    shard = WEIGHT_SHARD.fullmatch(weights[0]) if weights else None
    index = f"{shard['stem']}{shard['suffix']}.index.json" if shard else ""
    listed = f" (listed in {index})" if index and os.path.isfile(os.path.join(shown, index)) else ""
    return (
        (
            "Download the checkpoint into a folder (`huggingface_hub.snapshot_download`). "
            if folder and not local
            else ""
        )
        + (
            f"Its weights are the {int(shard['count'])} shards {shard['stem']}-*-of-{shard['count']}{shard['suffix']}"
            f"{listed}; read them all as one state dict. "
            if shard
            else ""
        )
        + f"To convert pickled weights you trust, load them without the name of the checkpoint: `{class_name}"
        f".from_pretrained(None, config={shown!r}, state_dict={state_dict})`"
        + (" (`import glob`)" if shard else "")
        + f", then save that model with `save_pretrained({shown!r})`, which writes {SAFE_WEIGHTS_NAME}."
    )


def _no_weights_error(folder: str, class_name: str) -> OSError:
    """The refusal of a checkpoint folder without the safetensors weights `save_pretrained` writes, naming what it
    holds instead: pickled weights (and how a `class_name` converts a trusted one), shards without their index (copied
    without it), or subfolders that hold checkpoints (a Trainer's `checkpoint-N`, a base loaded with `subfolder=`)."""
    names = sorted(os.listdir(folder))
    pickled = [name for name in names if name.endswith(_PICKLED_WEIGHT_SUFFIXES)]
    if pickled:
        return OSError(
            f"{folder!r} holds only pickled weights {shard_sets_shown(pickled, names)} and no {SAFE_WEIGHTS_NAME}: "
            "CiTrus loads safetensors only (a pickle can run code when unpickled). "
            + _pickle_conversion(class_name, folder)
        )
    shards = [name for name in names if re.fullmatch(r"model-\d{5}-of-\d{5}\.safetensors", name)]
    if shards:
        return OSError(
            f"{folder!r} holds the weight shards {shards[:3]}{' ...' if len(shards) > 3 else ''} without their index "
            f"{SAFE_WEIGHTS_INDEX_NAME}, which says where each tensor is: restore the index from where the shards "
            "came from, or save the checkpoint again."
        )
    return OSError(
        f"{folder!r} holds no weights ({SAFE_WEIGHTS_NAME} or its shards with {SAFE_WEIGHTS_INDEX_NAME})"
        + (checkpoints_inside_hint(folder) or "; save the model with `save_pretrained`, which writes them")
        + "."
    )


class CiTrusPreTrainedModel(_CiTrusFamilyMixin, PreTrainedModel):
    """Weight initialisation, strict safetensors-only loading and input checks shared by every CiTrus model."""

    config_class = CiTrusConfig
    config: CiTrusConfig
    base_model_prefix = "citrus"
    _backbone_prefix = "citrus."
    _other_family_config = (
        FUSION_MODEL_TYPE,
        "that is a fusion model's config (one encoder per modality): build a fusion model from it "
        "(CiTrusFusionForSequenceClassification or CiTrusFusionForRegression), or give this class one modality's "
        "config (`config.modality_configs[name]`)",
    )

    # a recording's value from its windows' (`recording_mean`), which the pipelines reach through the model
    recording_mean = staticmethod(recording_mean)

    @property
    def dummy_inputs(self) -> dict[str, torch.Tensor]:
        """Two windows of the input contract, `input_values` `(2, num_channels, context_length)` of noise from a fixed
        seed: transformers' default here is a text model's `input_ids`, which this model refuses."""
        generator = torch.Generator().manual_seed(0)
        shape = (2, self.config.num_channels, self.config.context_length)
        return {"input_values": torch.randn(shape, generator=generator).to(self.device)}

    # The config fields whose values the modules take when the model is built (`CiTrusAttention` its heads,
    # `CiTrusNorm` its epsilon, the CNN stem its widths...): set on the config of a built model, they change nothing in
    # it, but `save_pretrained` would write them and the checkpoint would load as another model (or be refused by its
    # own loader). `__init__` records them; `_check_config_describes_model` compares. Dropout rates are left out: they
    # change no trained output, and a reload taking the new rate is what changing one means.
    _built_fields: ClassVar[tuple[str, ...]] = (
        "backbone",
        "patch_length",
        "cnn_channels",
        "cnn_strides",
        "cnn_kernel_size",
        "cnn_activation",
        "d_model",
        "num_hidden_layers",
        "num_attention_heads",
        "ffn_dim",
        "attention_type",
        "num_channel_attention_heads",
        "norm_type",
        "norm_eps",
        "activation_function",
    )
    # The fields that shape the pooled vector the task head takes and the CLS token: the pooler reads them at every
    # call, so a change that keeps the head's input (`pooling="mean"` to `"max"`) is a live one; the others are
    # refused, naming the field that changed from its recorded value.
    _pooled_fields: ClassVar[tuple[str, ...]] = ("pooling", "head_features", "channel_pooling", "num_channels")

    def __init__(self, config: CiTrusConfig, *inputs, **kwargs):
        self._check_config_class(config)
        # A config changed after it was built (`config.update(...)`, an attribute set) skipped the checks its
        # constructor runs; a bad value would otherwise surface as a shape error deep inside the first forward pass.
        check_buildable(config)
        super().__init__(config, *inputs, **kwargs)
        self._built_config = {
            field: _comparable(getattr(config, field, None)) for field in self._built_fields + self._pooled_fields
        }

    def _head_input_width(self) -> int | None:
        """The number of inputs of the task head (None for a model without one, or a head that does not say)."""
        return None if self.head_name is None else getattr(getattr(self, self.head_name), "in_features", None)

    def _check_config_describes_model(self, saving: bool) -> None:
        """Refuse a config that no longer describes this model: a field of `_built_fields` changed since the model was
        built, `pooling` that does not match the CLS token it was built with (or without), or a pooled vector the
        task head was not built for (then the head's number of outputs, `_check_head_width`). Run by
        `save_pretrained` (`saving=True`) and by every forward pass: the forward pass reads some built fields at
        each call (`patch_length` to cut the patches, `d_model` for the positions, `backbone` for whether a
        pre-training model masks), so one edited on a built model failed deep in torch or, for `backbone`, silently
        pre-trained another objective. Python values only, no tensor read: tracing and compiling see no check.

        Raises:
            ValueError: naming the field, its value now and when built, and the two fixes (the value set back, or a
                new model built with it).
        """
        config, built = self.config, getattr(self, "_built_config", None)
        if built is None:  # built by other code than this class's `__init__`
            return self._check_head_width()
        width = self._head_input_width()
        cls_changed = (config.pooling == "cls") != (self.base_model.cls_token is not None)
        width_changed = width is not None and width != self.pooler.output_size
        # (a few Python comparisons per call, nothing next to the forward pass they guard)
        structural = [f for f in self._built_fields if _comparable(getattr(config, f, None)) != built[f]]
        if not (saving or structural or cls_changed or width_changed):
            return self._check_head_width()
        changed = [field for field in built if _comparable(getattr(config, field, None)) != built[field]]
        new_head = False
        if structural and (saving or not (cls_changed or width_changed)):
            problem, changed, cls_changed = "its modules keep the values they were built with", structural, False
        elif cls_changed:
            problem = (
                "pooling='cls' reads a CLS token, which this model was built without"
                if config.pooling == "cls"
                else "this model was built with a CLS token (pooling='cls'), which it would pool as if it were a patch"
            )
        elif width_changed:
            problem = f"its pooled vectors would hold {self.pooler.output_size} values, and its `{self.head_name}` "
            problem += f"head takes {width}"
            new_head = True
        else:
            return self._check_head_width()
        changed = [field for field in changed if field in self._pooled_fields] or changed
        if not changed:  # the head was replaced by hand
            raise ValueError(f"This {type(self).__name__} does not fit its config: {problem}.")
        now = ", ".join(f"{field}={getattr(config, field, None)!r}" for field in changed)
        then = ", ".join(f"{field}={built[field]!r}" for field in changed)
        name = config.name_or_path or "checkpoint_path"
        if cls_changed:  # a checkpoint's encoder loads only into a model with (or without) its CLS token
            build = f"`{type(self).__name__}(config)` from a config with {now}"
        else:
            build = f"`{type(self).__name__}.from_pretrained({name!r}, {now}"
            build += ", ignore_mismatched_sizes=True)` for a new head" if new_head else ")`, or from a new config"
        raise ValueError(
            f"This {type(self).__name__} was built with {then}, but its config now says {now}: {problem}. Changing "
            "the config of a built model does not rebuild it"
            + (", and the checkpoint `save_pretrained` would write would not be this model" if saving else "")
            + f". Set the config back ({then}), or build a new model with the new setting ({build})."
        )

    @classmethod
    def _config_overrides_for(cls, pretrained_model_name_or_path, saved_config: dict, kwargs: dict) -> dict:
        """Fine-tuning a pre-trained encoder on another channel layout (`num_channels=` differs from the checkpoint's)
        makes the checkpoint's per-channel settings meaningless: its channel names and modalities are dropped unless
        given too (and its per-modality pre-training mask, which needs them, becomes per-channel), and fixed
        per-channel normalisation statistics, which cannot be carried over, must be replaced. Another sampling rate
        is allowed, with a warning: the encoder learnt its patterns at the checkpoint's rate."""
        if isinstance(kwargs.get("config"), PreTrainedConfig) or not saved_config:
            return kwargs
        warn_of_rate_override(
            kwargs.get("sampling_rate"),
            saved_config.get("sampling_rate"),
            "its encoder will see signals at {rate} Hz",
            "To fine-tune on data at another rate, leave sampling_rate out: the feature extractor resamples "
            "recordings to the checkpoint's rate.",
        )
        if "num_channels" not in kwargs:
            return kwargs
        if saved_config.get("num_channels", 1) == kwargs["num_channels"]:
            return kwargs
        kwargs = dict(kwargs)
        for name in ("channel_names", "channel_modalities"):
            kwargs.setdefault(name, None)
        if saved_config.get("mask_mode") == "per_modality" and kwargs["channel_modalities"] is None:
            kwargs.setdefault("mask_mode", "per_channel")
        if (
            kwargs.get("normalization", saved_config.get("normalization")) == "fixed"
            and "normalization_mean" not in kwargs
        ):
            raise ValueError(
                f"{str(pretrained_model_name_or_path)!r} normalises with fixed statistics of its "
                f"{saved_config.get('num_channels', 1)} channel(s), which do not apply to {kwargs['num_channels']} channels: "
                "pass normalization='zscore', or normalization_mean= and normalization_std= for the new channels."
            )
        return kwargs

    @torch.no_grad()
    def _init_weights(self, module: nn.Module):
        super()._init_weights(module)
        if isinstance(module, (nn.Conv1d, CiTrusTransposedConv)):
            # The CNN stem and decoder see a z-scored signal through ReLUs; He initialisation keeps its scale,
            # where the transformer's N(0, 0.02) shrinks it ~6x per convolution and stalls the first hundred steps.
            # (Initialisation is leaf-level: transformers skips tensors a child module has already initialised.)
            init.kaiming_normal_(module.weight, nonlinearity="relu")
        elif isinstance(module, CiTrusModel):
            init.normal_(module.mask_token, std=self.config.initializer_range)
            if module.cls_token is not None:
                init.normal_(module.cls_token, std=self.config.initializer_range)

    def save_pretrained(self, save_directory, *args, **kwargs):
        """`PreTrainedModel.save_pretrained`, recording this class's transformers pipeline in the config
        (`custom_pipelines`), so that `transformers.pipeline(model=folder)` needs no task name."""
        self.config.custom_pipelines = custom_pipelines_for(type(self).__name__, self.config.problem_type)
        return super().save_pretrained(save_directory, *args, **kwargs)

    def embed(
        self,
        input_values: torch.Tensor,
        patch_mask: torch.Tensor | None = None,
        features: str | None = None,
        pooling: str | None = None,
        channel_pooling: str = "concat",
        **unexpected,
    ) -> torch.Tensor:
        r"""Pooled embeddings of aligned windows from the encoder (any CiTrus model: the bare encoder, a pre-training
        or a task model, whose head is not used), the building block of frozen-feature probes and of sklearn
        pipelines. It runs without gradients (inference: a loop over a dataset keeps no graph) unless the model is in
        training mode (`model.train()`) with gradients enabled: a loss on the embeddings (contrastive, metric
        learning, a head of one's own) then trains the encoder.

        Args:
            input_values (`torch.FloatTensor` of shape `(batch_size, num_channels, time)`): aligned windows.
            patch_mask (`torch.Tensor` of shape `(batch_size, num_patches)`, *optional*): 0 marks padding patches,
                which are not pooled.
            features (`str`, *optional*): `"context"` (last transformer layer), `"encoded"` (CNN tokens) or
                `"all_layers"` (the CNN tokens and every transformer layer, side by side); default: the config's
                `head_features`.
            pooling (`str`, *optional*): over patches, one of `POOLINGS` (`"mean"`, `"max"`, `"mean_max"`,
                `"mean_max_std"`, `"mean_max_std_dynamics"`, `"cls"`); default: the config's `pooling`.
            channel_pooling (`str`, defaults to `"concat"`): `"concat"` keeps every channel's vector
                (`(batch_size, num_channels * F)`), `"mean"` averages them (`(batch_size, F)`), for any channel count.

        Returns:
            `torch.FloatTensor` of shape `(batch_size, num_channels * F)` or `(batch_size, F)`, with
            `F = d_model x layers x POOLING_STATISTICS[pooling]` (2 for "mean_max", 3 for "mean_max_std", 16 for
            "mean_max_std_dynamics", else 1).

        Example:

        ```python
        >>> import torch
        >>> from citrus_hf import CiTrusConfig, CiTrusModel
        >>> model = CiTrusModel(CiTrusConfig(context_length=200)).eval()
        >>> model.embed(torch.randn(2, 3, 200), features="all_layers", pooling="mean_max").shape
        torch.Size([2, 1920])

        ```
        """
        for name in unexpected:
            if name in WINDOW_BOOKKEEPING:
                raise _window_bookkeeping_error("embed", name)
            raise TypeError(
                f"CiTrus embed() got an unexpected keyword argument {name!r}; it takes input_values, patch_mask, "
                "features, pooling and channel_pooling."
            )
        features, pooling = self.embedding_options(features, pooling, channel_pooling)
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.training):
            return self._pooled_embeddings(input_values, patch_mask, features, pooling, channel_pooling)

    def _pooled_embeddings(
        self,
        input_values: torch.Tensor,
        patch_mask: torch.Tensor | None,
        features: str,
        pooling: str,
        channel_pooling: str,
    ) -> torch.Tensor:
        """`embed()` once its options are checked: `(batch_size, num_channels * F)` or `(batch_size, F)`."""
        encoder = self.base_model
        outputs = encoder(
            input_values, patch_mask=patch_mask, output_hidden_states=features == "all_layers", return_dict=True
        )
        if encoder.cls_token is not None and pooling != "cls":
            # the CLS token is not a patch: pool the patches only
            outputs = CiTrusModelOutput(
                last_hidden_state=outputs.last_hidden_state[:, :, 1:],
                encoded_states=outputs.encoded_states,
                hidden_states=None
                if outputs.hidden_states is None
                else tuple(h[:, :, 1:] for h in outputs.hidden_states),
            )
        return pool_features(outputs, patch_mask, features, pooling, channel_pooling)

    def embedding_options(
        self, features: str | None = None, pooling: str | None = None, channel_pooling: str = "concat"
    ) -> tuple[str, str]:
        """`embed()`'s `(features, pooling)` with None replaced by the config's, after checking all three options
        against this model (the feature-extraction pipeline checks them here before it builds a backend). Only None
        means the default: an empty string is an unknown choice like any other."""
        features = self.config.head_features if features is None else features
        pooling = self.config.pooling if pooling is None else pooling
        _check_choice("features", features, HEAD_FEATURES)
        _check_choice("pooling", pooling, POOLINGS)
        _check_choice("channel_pooling", channel_pooling, CHANNEL_POOLINGS)
        if pooling == "cls" and self.base_model.cls_token is None:
            raise ValueError('pooling="cls" needs a model built with pooling="cls" (it has no CLS token).')
        if pooling == "cls" and features != "context":
            raise ValueError('pooling="cls" reads the transformer\'s CLS token: use features="context".')
        return features, pooling

    def _check_input_values(self, input_values: torch.Tensor) -> torch.Tensor:
        """Checks `input_values` `(batch_size, num_channels, time)` and returns it in the model's dtype: float64 (what
        `torch.from_numpy` gives for a default numpy array) or half-precision input is cast, as transformers' audio
        models do."""
        if not isinstance(input_values, torch.Tensor):
            raise TypeError(
                f"`input_values` must be a torch.Tensor of shape (batch, channels, time), got {type(input_values).__name__}; "
                "use CiTrusFeatureExtractor(..., return_tensors='pt')."
            )
        if input_values.dim() == 4 and input_values.shape[1] != 1:
            raise ValueError(
                f"`input_values` must have shape (batch, channels, time), got {tuple(input_values.shape)}: one axis "
                "too many; give each window as (channels, time)."
            )
        if input_values.dim() == 4:
            raise ValueError(
                f"`input_values` must have shape (batch, channels, time), got {tuple(input_values.shape)}: each "
                "example holds a batch of one, as when rows were aligned one at a time "
                '(`dataset.map(lambda x: extractor(x["signal"], ...))`). Map with `batched=True`, or pass '
                "`processing_class=extractor` to the Trainer (its `pad` stacks such rows)."
            )
        if input_values.dim() != 3:
            raise ValueError(
                f"`input_values` must have shape (batch, channels, time), got {tuple(input_values.shape)}; "
                "add a batch axis with `x[None]` or a channel axis with `x[:, None]`."
            )
        if not input_values.is_floating_point():
            raise TypeError(
                f"`input_values` must be floating point, got {input_values.dtype}: align recordings with "
                "CiTrusFeatureExtractor (it turns integer counts into normalised float32 windows), or cast aligned "
                "windows with `.float()`."
            )
        _refuse_meta("input_values", input_values)
        # `torch.jit.trace` records sizes as tensors, and each comparison of one warns ("Converting a tensor to a
        # Python boolean"): the checks on sizes below are skipped there (the traced example is the caller's own)
        traced_sizes = torch.jit.is_tracing()
        if not traced_sizes and (input_values.shape[0] == 0 or input_values.shape[1] == 0):
            # An empty batch is refused rather than answered with empty outputs: transformers' attention kernels
            # cannot reshape zero-size tensors, and a loss over no window would be NaN.
            raise ValueError(
                f"`input_values` has shape {tuple(input_values.shape)}: "
                + ("no window (batch size 0)" if input_values.shape[0] == 0 else "no channel")
                + ". Skip empty batches (e.g. after filtering windows) before calling the model."
            )
        if not traced_sizes and input_values.shape[2] == 0:
            # its own message: 0 is a multiple of the patch length, and (batch, channels, 0) has more channels than
            # samples, which the checks below would take for a (batch, time, channels) tensor to transpose
            raise ValueError(
                f"`input_values` has shape {tuple(input_values.shape)}: no sample (an empty window, e.g. a slice past "
                f"the end of a recording). Give each window {self.config.context_length} samples at "
                f"{self.config.sampling_rate:g} Hz (CiTrusFeatureExtractor aligns recordings), or skip empty windows."
            )
        shape = tuple(input_values.shape)
        channels, length = shape[1], shape[2]
        patch_length = self.config.patch_length
        if not traced_sizes and length % patch_length:
            raise ValueError(
                f"`input_values` has {length} samples, not a multiple of the patch length {patch_length}; align "
                f"recordings with CiTrusFeatureExtractor (this checkpoint expects {self.config.context_length} samples "
                f"at {self.config.sampling_rate:g} Hz)."
                + (f" {_transposed_layout_hint(shape)}" if channels > length else "")
            )
        if not _is_tracing() and channels > length:
            self._check_layout(shape)
        context = self.config.context_length
        if not _is_tracing() and length > context:
            # Allowed (the positions are sinusoidal), but a whole recording passed as one window is the usual cause,
            # and its one output then summarises a span the model never saw in training.
            logger.warning_once(
                f"{INPUT_NAME.get()} has {length} samples, {length / context:.3g}x this checkpoint's context of "
                f"{context} ({self.config.window_seconds:g} s at {self.config.sampling_rate:g} Hz), the longest window "
                f"it was trained on. {LONG_INPUT_ADVICE.get()}"
            )
        # One reduction checks both: NaN fails the comparison, and so does inf.
        autocast_half = _float16_autocast(input_values.device.type)
        half = autocast_half or self.dtype == torch.float16
        limit = _MAX_FLOAT16_INPUT_MAGNITUDE if half else _MAX_INPUT_MAGNITUDE
        if not _is_tracing() and not bool(input_values.abs().amax() <= limit):
            if not torch.isfinite(input_values).all():
                raise ValueError(
                    "`input_values` contains NaN or infinite values; clean the recording or use "
                    "CiTrusFeatureExtractor(nan_policy='interpolate')."
                )
            arithmetic = "float16 (torch.autocast(dtype=torch.float16))" if autocast_half else "float16"
            raise ValueError(
                f"`input_values` has values up to {float(input_values.abs().amax()):.3g}, beyond {limit:g}, where the "
                f"model's {arithmetic if half else 'float32'} arithmetic overflows into NaN; scale the input to the "
                "unit the checkpoint was trained on (CiTrusFeatureExtractor's normalization='zscore' scales every "
                "window itself; 'fixed' and 'none' keep the recording's unit)"
                + (
                    "; or autocast to bfloat16 (torch.autocast(dtype=torch.bfloat16)) or none."
                    if autocast_half
                    else "; or run the model in float32 or bfloat16 (dtype=torch.bfloat16)."
                    if half
                    else "."
                )
            )
        return _outside_inference_mode(input_values.to(self.dtype))

    def _check_layout(self, shape: tuple[int, int, int]) -> None:
        """Refuse, or warn about, input `(batch, channels, time)` with more channels than samples: a `(batch, time,
        channels)` tensor (PatchTST's `past_values` layout) would otherwise run as `time` channels of a few patches
        each, without a word. Refused where no recording is shaped so (the feature extractor's limits, or a "channel"
        axis exactly as long as this checkpoint's window), else a warning that says how it was read."""
        channels, samples = shape[1], shape[2]
        num_channels, context = self.config.num_channels, self.config.context_length
        # The feature extractor's rule for recordings, which it applied to the whole recording already where the input
        # is its windows (`windows_of_checked_recordings`): a window has fewer samples than its recording
        by_the_rule = not _LAYOUT_CHECKED.get() and looks_like_time_by_channels(channels, samples)
        certain = channels != num_channels and (samples == num_channels or channels == context or by_the_rule)
        if _LAYOUT_CHECKED.get() and not certain:
            return
        if certain:
            raise ValueError(
                f"{_transposed_layout_hint(shape)} Read as given it would be {channels} channels of {samples} samples "
                "each."
            )
        logger.warning_once(
            f"{INPUT_NAME.get()} of shape {shape} has more channels than samples; it is read as (batch, channels, "
            f"time): {channels} channels of {samples} samples each. If it is (batch, time, channels), as PatchTST's "
            "`past_values` are, pass `x.transpose(1, 2)`."
        )

    @staticmethod
    @contextlib.contextmanager
    def windows_of_checked_recordings() -> Iterator[None]:
        """While it runs, the layout check (`_check_layout`) leaves out the extractor's rule for recordings (at most
        1,024 channels, or 8 per sample), for windows the feature extractor cut from recordings it checked whole with
        that rule: a 1,100-channel recording of 20 s passes it, and its 10 s windows, with more channels than samples,
        were refused with advice to transpose them. The shapes no recording has (a "channel" axis as long as the
        window) are still refused. (A method, for the pipelines, which hold the model but not this module.)"""
        token = _LAYOUT_CHECKED.set(True)
        try:
            yield
        finally:
            _LAYOUT_CHECKED.reset(token)

    @staticmethod
    def _check_windows_hold_signal(patch_mask: torch.Tensor) -> None:
        """See `check_windows_hold_signal` (a method too, for code that holds the model but not this module: the
        inference backends, shipped as pipeline code)."""
        check_windows_hold_signal(patch_mask)

    def _patch_mask_mismatch_cause(self, patch_mask: torch.Tensor, patches_shape: torch.Size) -> str:
        """What likely gave a `patch_mask` of another shape than the input's patches `(batch, channels, patches, ...)`,
        and the fix: a mask as wide as the input holds patches of another whole length comes from a feature extractor
        of another `patch_length` (`from_pretrained(checkpoint, patch_length=20)`), whose user did take the mask from
        the same call as `input_values`."""
        samples = patches_shape[2] * self.config.patch_length
        width = patch_mask.shape[-1] if patch_mask.ndim == 2 and patch_mask.shape[0] == patches_shape[0] else 0
        if width and width != patches_shape[2] and samples % width == 0:
            return (
                f"{width} patches over {samples} samples are patches of {samples // width}: the feature extractor was "
                f"built with patch_length={samples // width}, and the model's is {self.config.patch_length}. Use the "
                "extractor of the model's input contract, `CiTrusFeatureExtractor.from_config(model.config)` (or leave "
                "patch_length out of the extractor's `from_pretrained`)."
            )
        return (
            "take it from the same CiTrusFeatureExtractor call as `input_values`, from an extractor of the model's "
            f"patch_length ({self.config.patch_length}): `CiTrusFeatureExtractor.from_config(model.config)`."
        )

    def _check_patch_mask(self, patch_mask: torch.Tensor | None, patches_shape: torch.Size) -> torch.Tensor | None:
        """`patch_mask` `(batch_size, num_patches)` as a bool tensor (True = signal), or None."""
        if patch_mask is None:
            return None
        if not isinstance(patch_mask, torch.Tensor):
            raise TypeError(
                f"`patch_mask` must be a torch.Tensor of shape (batch, num_patches), got {type(patch_mask).__name__}; "
                "use CiTrusFeatureExtractor(..., return_tensors='pt')."
            )
        _refuse_meta("patch_mask", patch_mask)
        expected = (patches_shape[0], patches_shape[2])
        if not torch.jit.is_tracing() and tuple(patch_mask.shape) != expected:  # (sizes are tensors there)
            raise ValueError(
                f"`patch_mask` must have shape (batch, num_patches) = {expected} for input of {patches_shape[2]} "
                f"patches of {self.config.patch_length} samples, got {tuple(patch_mask.shape)}; "
                + self._patch_mask_mismatch_cause(patch_mask, patches_shape)
            )
        # Other values would be read two ways: as True by attention, as weights by the pooling of a task model.
        if patch_mask.dtype != torch.bool and not _is_tracing() and not ((patch_mask == 0) | (patch_mask == 1)).all():
            raise ValueError(
                "`patch_mask` must hold 1 (signal) and 0 (padding) only, got other values; take it from the same "
                "CiTrusFeatureExtractor call as `input_values`."
            )
        return _outside_inference_mode(patch_mask.to(torch.bool))

    @staticmethod
    def _check_token_mask(token_mask: torch.Tensor | None, patches_shape: torch.Size) -> torch.Tensor | None:
        """`token_mask` `(batch_size, num_channels, num_patches)` as a bool tensor (True = masked), or None."""
        if token_mask is None:
            return None
        if not isinstance(token_mask, torch.Tensor):
            raise TypeError(
                f"`token_mask` must be a torch.Tensor of shape (batch, channels, patches), got "
                f"{type(token_mask).__name__}."
            )
        _refuse_meta("token_mask", token_mask)
        expected = tuple(patches_shape[:3])
        if tuple(token_mask.shape) != expected:
            raise ValueError(
                f"`token_mask` must have shape (batch, channels, patches) = {expected}, got {tuple(token_mask.shape)}."
            )
        if token_mask.dtype != torch.bool and not _is_tracing() and not ((token_mask == 0) | (token_mask == 1)).all():
            raise ValueError("`token_mask` must hold True / 1 (masked) and False / 0 (visible) only, got other values.")
        return _outside_inference_mode(token_mask.to(torch.bool))


def _outside_inference_mode(value: Any) -> Any:
    """`value`, copied when it is an inference tensor (made under `torch.inference_mode()`) and autograd records this
    call: such a tensor cannot be saved for backward, so features or labels made in an inference block (the feature
    extractor called there) failed deep inside `F.conv1d`, `F.linear` or the loss of a model called without
    `torch.no_grad()` or in training ("Inference tensors cannot be saved for backward"). Anything else unchanged."""
    if isinstance(value, torch.Tensor) and torch.is_grad_enabled() and not _is_tracing() and value.is_inference():
        return value.clone()
    return value


def _refuse_meta(name: str, tensor: torch.Tensor) -> None:
    """Refuse a meta tensor (a shape without data) as the input `name`: its values cannot be checked or used."""
    if tensor.is_meta and not _is_tracing():
        raise ValueError(
            f"`{name}` is a meta tensor (shape {tuple(tensor.shape)}, no data), which the model cannot check or run "
            "on; pass real tensors, as CiTrusFeatureExtractor returns them."
        )


class CiTrusModel(CiTrusPreTrainedModel):
    """The bare CiTrus encoder: patch embedding (CNN stem or linear) -> optional masking -> transformer.

    Channel-independent by default: every channel is its own token sequence through shared weights, so any channel
    count works. Returns both the CNN ("encoded") tokens and the transformer ("context") states.
    """

    _backbone_prefix = ""  # the bare encoder: every tensor is backbone
    # `get_input_embeddings()` is the patch embedding (the module whose tokens enter the transformer), so that
    # `enable_input_require_grads()` (which peft calls when it wraps a model) hooks it: with reentrant gradient
    # checkpointing and a frozen stem, no checkpointed layer's input would otherwise require grad, and adapters inside
    # the transformer would silently get no gradient
    _input_embed_layer = "patch_embedding"

    def __init__(self, config: CiTrusConfig):
        super().__init__(config)
        self.patch_embedding = CiTrusCNNStem(config) if config.uses_cnn else CiTrusLinearPatchEmbedding(config)
        self.mask_token = nn.Parameter(torch.zeros(config.d_model))
        self.cls_token = nn.Parameter(torch.zeros(config.d_model)) if config.pooling == "cls" else None
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.encoder = CiTrusEncoder(config) if config.uses_transformer else None
        self.post_init()

    def embed_patches(self, patches: torch.Tensor, token_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Tokens of the patches; masked patches are never encoded and hold the mask token instead.

        Args:
            patches: `(B, C, P, L)`.
            token_mask: `(B, C, P)` bool, True = masked, or None.
        Returns:
            `(B, C, P, D)`.
        """
        batch_size, num_channels, num_patches, patch_length = patches.shape
        if token_mask is None:
            tokens = self.patch_embedding(patches.reshape(-1, patch_length))  # (B * C * P, D)
            return tokens.view(batch_size, num_channels, num_patches, -1)
        # Encoding only the visible patches is cheaper and makes it impossible for a masked patch's samples to
        # influence any token (batch-norm statistics included).
        visible = ~token_mask
        visible_tokens = self.patch_embedding(patches[visible])  # (num_visible, D)
        tokens = self.mask_token.to(visible_tokens.dtype).expand(batch_size, num_channels, num_patches, -1).clone()
        tokens[visible] = visible_tokens
        return tokens

    def _batchnorm_keep(self, keep: torch.Tensor) -> torch.Tensor | None:
        """The tokens `keep` `(B, S)` (bool, the CLS token included) as the transformer's BatchNorm takes its batch
        statistics over them in training, `(B, 1, S)`; None where they would be all the tokens anyway: with layer norm,
        in eval mode, or a batch without padding (which so keeps torch's own BatchNorm kernel, bit for bit)."""
        if self.config.norm_type != "batchnorm" or not self.training:
            return None
        if not _is_tracing() and bool(keep.all()):
            return None
        return keep[:, None, :]

    def _check_batch_statistics(
        self, patch_mask: torch.Tensor | None, batch_size: int, num_channels: int, num_patches: int
    ) -> None:
        """Refuse a training batch that gives BatchNorm one token to take its statistics over (one window of one
        patch and one channel, or one signal patch among padding): one value has no spread. torch's BatchNorm refused
        it from deep inside its kernel ("Expected more than 1 value per channel when training"), and the statistics
        taken over the signal tokens of a padded batch (`CiTrusNorm`) took that variance, 0, into the running
        variance without a word (five such steps: 1.0 -> 0.59), which the model in eval mode then divides by.
        `patch_mask` `(B, P)` (checked, or None: no padding)."""
        cls = int(self.cls_token is not None)
        tokens = batch_size * (num_patches + cls)  # per channel
        if tokens * num_channels > 1 and patch_mask is not None:  # the signal patches only (the one sync)
            tokens = int(patch_mask.sum()) + batch_size * cls
        if tokens * num_channels > 1:
            return
        raise ValueError(
            "norm_type='batchnorm' takes its training statistics over the batch's signal tokens, and this batch holds "
            "at most one token (one window of one channel and one patch of signal), which has no spread to normalise by. "
            "Train on batches of at least two windows (per_device_train_batch_size >= 2, with "
            "dataloader_drop_last=True where the last batch would hold one) or on longer windows; in inference, "
            "call `model.eval()` (the running statistics need no batch); norm_type='layernorm' has no such limit."
        )

    def _can_keep_positions(self) -> bool:
        """Whether `positions_to_keep` gives exactly the full pass's outputs at those positions: it needs a
        transformer, channel-independent attention (criss-cross heads need every channel's query at a patch) and,
        in training mode, layer norm (batch norm over a subset of tokens would change the statistics)."""
        config = self.config
        return (
            self.encoder is not None
            and config.attention_type == "channel_independent"
            and not (config.norm_type == "batchnorm" and self.training)
        )

    def _check_positions_to_keep(self, positions: torch.Tensor, patches_shape: torch.Size) -> torch.Tensor:
        config = self.config
        if self.encoder is None:
            raise ValueError('`positions_to_keep` selects outputs of the transformer; backbone="cnn" has none.')
        if not self._can_keep_positions():
            raise ValueError(
                "`positions_to_keep` needs attention_type='channel_independent' and, in training "
                f"mode, layer norm; this config has attention_type={config.attention_type!r}, "
                f"norm_type={config.norm_type!r}."
            )
        if positions.dim() != 3 or tuple(positions.shape[:2]) != tuple(patches_shape[:2]):
            raise ValueError(
                f"`positions_to_keep` must have shape (batch, channels, num_kept) = ({patches_shape[0]}, "
                f"{patches_shape[1]}, num_kept), got {tuple(positions.shape)}."
            )
        if positions.is_floating_point() or positions.dtype == torch.bool:
            raise TypeError(f"`positions_to_keep` holds patch indices (integers), got {positions.dtype}.")
        if not _is_tracing() and positions.numel() and (positions.min() < 0 or positions.max() >= patches_shape[2]):
            raise ValueError(f"`positions_to_keep` must lie in [0, {patches_shape[2]}) (the patch indices).")
        return positions.long()

    def forward(
        self,
        # optional only so that a text model's arguments (`input_ids`, from peft's task wrappers) reach the error
        # that names them; missing, it is refused by `_check_input_values`
        input_values: torch.Tensor | None = None,
        patch_mask: torch.Tensor | None = None,
        token_mask: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        positions_to_keep: torch.Tensor | None = None,
        **kwargs,
    ) -> CiTrusModelOutput | tuple:
        r"""
        Args:
            input_values (`torch.FloatTensor` of shape `(batch_size, num_channels, time)`): the aligned windows
                (`time` a multiple of `patch_length`; `CiTrusFeatureExtractor` produces them).
            patch_mask (`torch.Tensor` of shape `(batch_size, num_patches)`, *optional*): 1 for patches holding
                signal, 0 for padding (from the feature extractor). Padding is not attended to.
            token_mask (`torch.BoolTensor` of shape `(batch_size, num_channels, num_patches)`, *optional*): patches
                to replace by the mask token (pre-training).
            positions_to_keep (`torch.LongTensor` of shape `(batch_size, num_channels, num_kept)`, *optional*):
                patch indices whose context is needed. The last transformer layer then runs only there (they still
                attend to every patch) and `last_hidden_state` is `(batch_size, num_channels, num_kept, d_model)`,
                like `logits_to_keep` of transformers' language models. Pre-training uses it: its loss reads only
                the masked patches. Needs the channel-independent transformer with layer norm.

        Example:

        ```python
        >>> import torch
        >>> from citrus_hf import CiTrusConfig, CiTrusModel
        >>> model = CiTrusModel(CiTrusConfig(context_length=200))
        >>> outputs = model(torch.randn(2, 1, 200))
        >>> outputs.last_hidden_state.shape
        torch.Size([2, 1, 10, 64])

        ```
        """
        _reject_text_kwargs(kwargs)
        if getattr(self.patch_embedding, "neftune_noise_alpha", None) is not None:
            # transformers' NEFTune hook (`TrainingArguments(neftune_noise_alpha=...)`) reads a text model's
            # (batch, tokens, width) embeddings and fails on this model's (tokens, width) patch tokens
            raise ValueError(
                "NEFTune (`neftune_noise_alpha`) adds noise to the token embeddings of text models; CiTrus embeds "
                "patches of signal, which it does not support: drop `neftune_noise_alpha` from TrainingArguments (for "
                "noise on the signal, use the augmentations of `citrus_hf.training.augment`)."
            )
        self._check_config_describes_model(saving=False)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        input_values = self._check_input_values(input_values)

        patches = patchify(input_values, self.config.patch_length)  # (B, C, P, L)
        batch_size, num_channels, num_patches, _ = patches.shape
        patch_mask = self._check_patch_mask(patch_mask, patches.shape)
        token_mask = self._check_token_mask(token_mask, patches.shape)
        if positions_to_keep is not None:
            positions_to_keep = self._check_positions_to_keep(positions_to_keep, patches.shape[:3])
        encoded_states = self.embed_patches(patches, token_mask)  # (B, C, P, D)

        if self.encoder is None:
            # no transformer layer: the CNN tokens are the final output, and nothing attends. What was asked for is
            # returned as transformers' models of no layers return it (not None, which `hidden_states[-1]` fails on).
            hidden_states, all_channel_attentions = encoded_states, None
            all_hidden_states = (encoded_states,) if output_hidden_states else None
            all_attentions = () if output_attentions else None
        else:
            hidden_states = encoded_states + sinusoidal_positions(
                num_patches, self.config.d_model, encoded_states.device, encoded_states.dtype
            )
            attention_mask = token_keep = None
            if self.config.norm_type == "batchnorm" and self.training and not _is_tracing():
                self._check_batch_statistics(patch_mask, batch_size, num_channels, num_patches)
            if patch_mask is not None:
                keep = patch_mask
                if self.cls_token is not None:
                    keep = torch.cat([keep.new_ones(batch_size, 1), keep], dim=1)
                # additive key mask (B, S) -> (B * C, 1, 1, S), one row per channel sequence (an expand, not
                # `repeat_interleave`, whose ONNX export breaks for a dynamic channel count)
                additive = torch.zeros(keep.shape, dtype=hidden_states.dtype, device=hidden_states.device)
                additive = additive.masked_fill(~keep, torch.finfo(hidden_states.dtype).min)
                attention_mask = additive[:, None, None, None, :].expand(-1, num_channels, 1, 1, -1).flatten(0, 1)
                token_keep = self._batchnorm_keep(keep)
            if self.cls_token is not None:
                cls = self.cls_token.to(hidden_states.dtype).expand(batch_size, num_channels, 1, -1)
                hidden_states = torch.cat([cls, hidden_states], dim=2)  # (B, C, 1 + P, D)
            if positions_to_keep is not None and self.cls_token is not None:
                positions_to_keep = positions_to_keep + 1  # the CLS token comes first
            hidden_states, all_hidden_states, all_attentions, all_channel_attentions = self.encoder(
                self.dropout(hidden_states),
                attention_mask,
                output_hidden_states,
                output_attentions,
                positions_to_keep,
                token_keep=token_keep,
            )

        output = CiTrusModelOutput(
            last_hidden_state=hidden_states,
            encoded_states=encoded_states,
            token_mask=token_mask,
            hidden_states=all_hidden_states,
            attentions=all_attentions,
            channel_attentions=all_channel_attentions,
        )
        return output if return_dict else output.to_tuple()


# ----------------------------------------------------------------------------------------------------------------------
# Pre-training
# ----------------------------------------------------------------------------------------------------------------------


class CiTrusTransposedConv(nn.Linear):
    """A transposed convolution whose kernel equals its stride, on channels-last maps: `(N, length, in_channels)` ->
    `(N, length * stride, out_channels)`.

    With kernel = stride every input position emits `stride` output positions of its own and no two overlap, so the
    whole convolution is one matrix product. On CPU that is several times cheaper than `nn.ConvTranspose1d` and, above
    all, than the convolution backward kernels, which dominated the pre-training step at these tiny widths.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__(in_channels, out_channels * stride)
        self.stride = stride
        self.out_channels = out_channels

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        batch_size, length, _ = hidden_states.shape
        return super().forward(hidden_states).view(batch_size, length * self.stride, self.out_channels)


class CiTrusPretrainingHead(nn.Module):
    """Base of the pre-training objectives: one subclass per objective, registered by name with
    `register_pretraining_head`, so that `CiTrusForPretraining` builds the one `config.pretraining_objective` names
    and knows nothing else about it (as transformers keeps `PatchTSTMaskPretrainHead` apart from its model).

    An objective says what to predict for every masked patch (`target`), predicts it from the patch's context token
    (`forward`) and scores the prediction (`loss`). An objective whose target of a patch reads samples around it
    (the spectrogram's STFT frame) also overrides `target_of_batch`, which reads each window only up to its own end.
    Shapes: `B, C, P, L` as in this file, `N` scored patches, `F` the objective's `target_size`.

    Class attributes:
        objective: the registry name, the value of `CiTrusConfig.pretraining_objective` (which lists the same names).
        description: one line for the model card; `{config.<field>}` placeholders are filled from the config.
        predicts_samples: the prediction is the masked patches' samples, so the model also returns the completed
            window (`reconstruction`).
    """

    objective: ClassVar[str]
    description: ClassVar[str]
    predicts_samples: ClassVar[bool] = True

    @classmethod
    def target_size(cls, config: CiTrusConfig) -> int:
        """`F`: values predicted per patch (its samples, by default)."""
        return config.patch_length

    @classmethod
    def describe(cls, config: CiTrusConfig) -> str:
        """The one-line description with the config's values filled in."""
        return cls.description.format(config=config)

    def target(self, input_values: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
        """What every patch is to be predicted as: `input_values` `(B, C, T)`, `patches` `(B, C, P, L)` ->
        `(B, C, P, F)` (the patches themselves, by default)."""
        return patches

    def target_of_batch(
        self, input_values: torch.Tensor, patches: torch.Tensor, patch_mask: torch.Tensor | None
    ) -> torch.Tensor:
        """`target` of a batch whose windows may end in padding (`patch_mask` `(B, P)` bool, True = signal, or None):
        `(B, C, P, F)`, what `CiTrusForPretraining` scores. By default `target` itself, right for an objective whose
        target of a patch reads that patch only; one that reads past its patch reads each window up to its own end
        here, so that a window's targets do not depend on the windows it is batched with."""
        return self.target(input_values, patches)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Context tokens of the scored patches `(N, D)` -> their prediction `(N, F)`."""
        raise NotImplementedError

    def prediction_loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The objective's loss `()` of a prediction `(N, F)` (mean squared error, by default), in float32 (float64 for
        a float64 model)."""
        return F.mse_loss(_at_least_float32(prediction), _at_least_float32(target))

    def loss(self, tokens: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss `()` and the prediction `(N, F)` from the scored patches' tokens `(N, D)` and targets `(N, F)`."""
        prediction = self(tokens)
        if prediction.shape != target.shape:
            # (torch's MSE broadcast a target of one value per patch against a wider prediction with a warning only,
            # and met any other mismatch with a bare size error from inside `mse_loss`)
            raise ValueError(
                f"The pre-training head {type(self).__name__} predicted {tuple(prediction.shape)} for targets of shape "
                f"{tuple(target.shape)} (scored patches, target_size): make its `forward` return one value per target "
                "value."
            )
        return self.prediction_loss(prediction, target), prediction

    @torch.no_grad()
    def baseline_loss(self, target: torch.Tensor) -> torch.Tensor:
        """The loss `()` of predicting every scored patch as the mean of the targets `(N, F)` (per value): what a
        model scores without learning anything about the signal. For z-scored windows and the sample objectives the
        mean is ~0, so this is the predict-zero level (~1.0): a held-out loss at or above it means no learning."""
        return self.prediction_loss(_at_least_float32(target).mean(dim=0, keepdim=True).expand_as(target), target)


PRETRAINING_HEADS: dict[str, type[CiTrusPretrainingHead]] = {}


def register_pretraining_head(head_class: type[CiTrusPretrainingHead]) -> type[CiTrusPretrainingHead]:
    """Class decorator: make `head_class` the head of the objective `head_class.objective`, and let configs name it
    (`configuration_citrus.allow_pretraining_objective`): one registration makes an objective of one's own usable,
    from inside the package or from a user's code.

    The package's own objectives are also listed in `vocabulary_citrus.PRETRAINING_OBJECTIVES` (the configuration
    must not import this file); a test keeps the two equal. Evaluation arms, the model card and the tests read this
    registry. A head class defined again (a notebook cell run twice) replaces its first definition.
    """
    name = getattr(head_class, "objective", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{head_class.__name__} must set the class attribute `objective` (its registry name).")
    if name in PRETRAINING_HEADS and not redefines(PRETRAINING_HEADS[name], head_class):
        raise ValueError(f"The pre-training objective {name!r} is already registered ({PRETRAINING_HEADS[name]}).")
    PRETRAINING_HEADS[name] = head_class
    allow_pretraining_objective(name)
    return head_class


class CiTrusSampleHead(CiTrusPretrainingHead):
    """Base of the objectives that predict masked patches' samples: the CNN stem inverted, `(N, D)` -> `(N, L)`; for
    `backbone="transformer"` (no stem to invert) PatchTST's linear layer.

    The token is a feature map of length 1; a first transposed convolution expands it to the last stem block's
    feature map `(N, last_length, last_width)`, then one transposed convolution per stem block, in reverse order,
    undoes that block's stride and width (ReLU between), the last one landing on the single signal channel. Decoders
    of masked auto-encoders are kept light on purpose (MAE): what is learnt should live in the encoder.
    """

    def __init__(self, config: CiTrusConfig):
        super().__init__()
        if not config.uses_cnn:
            self.projection = nn.Linear(config.d_model, config.patch_length)
            self.blocks = nn.ModuleList()
            return
        self.lengths = _stem_lengths(config)
        widths = [1, *config.cnn_channels]  # the stem maps widths[i] -> widths[i + 1]; the decoder the other way
        self.projection = CiTrusTransposedConv(config.d_model, widths[-1], stride=self.lengths[-1])
        self.blocks = nn.ModuleList(
            CiTrusTransposedConv(widths[i + 1], widths[i], config.cnn_strides[i])
            for i in reversed(range(len(config.cnn_strides)))
        )
        self.activation = ACT2FN[config.cnn_activation]

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if not self.blocks:  # backbone="transformer"
            return self.projection(tokens)  # (N, L)
        hidden_states = self.projection(tokens[:, None])  # (N, last_length, last_width)
        for block, output_length in zip(self.blocks, reversed(self.lengths[:-1])):
            # an odd length was rounded up by the stem's stride: crop the extra position the inversion creates
            hidden_states = block(self.activation(hidden_states))[:, :output_length]
        return hidden_states.squeeze(-1)  # (N, L)


@register_pretraining_head
class CiTrusTimeHead(CiTrusSampleHead):
    """Masked auto-encoding in the time domain: reconstruct the samples of every masked patch (MSE)."""

    objective = "time"
    description = "masked auto-encoding in the time domain: reconstruct the samples of masked patches (MSE)"


def spectrogram_target(
    input_values: torch.Tensor, patch_length: int, n_fft: int, patch_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """log(1 + |STFT|) with one Hann-windowed frame of `n_fft` samples centred on every patch. A frame reaching past
    a window's start or end reads the window reflected there (zeros for a window no longer than the overhang).

    Args:
        input_values: `(B, C, T)`.
        patch_mask: `(B, P)` bool, True = signal, or None: each window ends after its last real patch, and its last
            frames reflect it there, as they do when the window is alone, not at the end of the padded batch (where
            they read the padding).
    Returns:
        `(B, C, P, n_fft // 2 + 1)`.
    """
    batch_size, num_channels, length = input_values.shape
    pad = (n_fft - patch_length) // 2
    signal = _at_least_float32(input_values).reshape(batch_size * num_channels, 1, length)
    if pad and patch_mask is not None and not bool(patch_mask.all()):
        signal = _reflected_at_each_end(signal.squeeze(1), patch_mask, patch_length, num_channels, pad)[:, None]
    elif pad:
        # reflect padding needs pad < length; fall back to zeros for windows shorter than the frame overhang
        signal = F.pad(signal, (pad, pad), mode="reflect" if pad < length else "constant")
    window = torch.hann_window(n_fft, device=input_values.device, dtype=signal.dtype)
    stft = torch.stft(
        signal.squeeze(1), n_fft=n_fft, hop_length=patch_length, window=window, center=False, return_complex=True
    )  # (B * C, n_fft // 2 + 1, P)
    target = torch.log1p(stft.abs()).transpose(1, 2)
    return target.reshape(batch_size, num_channels, length // patch_length, -1)


def _reflected_at_each_end(
    signal: torch.Tensor, patch_mask: torch.Tensor, patch_length: int, num_channels: int, pad: int
) -> torch.Tensor:
    """`signal` `(B * C, T)` extended by `pad` samples before its start and after each window's own end (its last
    real patch in `patch_mask` `(B, P)`), reflected as `F.pad(..., mode="reflect")` extends a window alone, zeros
    for a window no longer than `pad`: `(B * C, T + 2 * pad)`. Past a window's reflection there is only padding,
    whose frames no loss reads: zeros."""
    num_patches = patch_mask.shape[1]
    last_real = num_patches - patch_mask.flip(1).to(torch.int8).argmax(dim=1)  # patches up to the last real one
    lengths = (last_real * patch_length).repeat_interleave(num_channels)[:, None]  # (B * C, 1) samples
    positions = torch.arange(-pad, signal.shape[1] + pad, device=signal.device)[None, :]
    source = positions.abs()  # reflected at the start
    source = torch.where(source >= lengths, 2 * (lengths - 1) - source, source)  # and at the window's end
    inside = (positions >= 0) & (positions < lengths)
    usable = torch.where(pad < lengths, (source >= 0) & (source < lengths), inside)
    source = torch.where(usable, source, 0)
    return signal.gather(1, source.expand(signal.shape[0], -1)) * usable


@register_pretraining_head
class CiTrusSpectrogramHead(CiTrusPretrainingHead):
    """CiTrus fp: token -> log-magnitude spectrum of the STFT frame centred on its patch, `(N, D)` ->
    `(N, n_fft // 2 + 1)`, against `spectrogram_target` (MSE)."""

    objective = "spectrogram"
    description = (
        "masked spectrogram prediction (CiTrus fp): predict the log-magnitude STFT ({config.spectrogram_n_fft}-sample "
        "frames) centred on every masked patch"
    )
    predicts_samples = False

    def __init__(self, config: CiTrusConfig):
        super().__init__()
        self.patch_length, self.n_fft = config.patch_length, config.spectrogram_n_fft
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.activation = ACT2FN[config.activation_function]
        self.output = nn.Linear(config.d_model, config.spectrogram_bins)

    @classmethod
    def target_size(cls, config: CiTrusConfig) -> int:
        return config.spectrogram_bins

    def target(self, input_values: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
        return spectrogram_target(input_values, self.patch_length, self.n_fft)

    def target_of_batch(
        self, input_values: torch.Tensor, patches: torch.Tensor, patch_mask: torch.Tensor | None
    ) -> torch.Tensor:
        # a short window's last frames reached past its end into the padding of the batch, read as signal
        return spectrogram_target(input_values, self.patch_length, self.n_fft, patch_mask)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.output(self.activation(self.dense(tokens)))


@register_pretraining_head
class CiTrusFourierHead(CiTrusPretrainingHead):
    """neuro2vec: token -> amplitude and phase of its patch's spectrum -> samples by inverse FFT, `(N, D)` -> `(N, L)`.

    The loss compares the samples with the patch's (MSE), plus `fourier_amplitude_weight` times the MSE between the
    amplitude spectra of the predicted samples and of the patch, both as log(1 + amplitude). Those are the head's
    amplitudes except at the DC and Nyquist bins, where the inverse real FFT keeps only the real part of the
    spectrum (amplitude x |cos(phase)|): scoring the head's own amplitude there rewarded a level the samples lacked.
    """

    objective = "fourier"
    description = "masked Fourier prediction (neuro2vec): predict the amplitude and phase of masked patches' spectrum"

    def __init__(self, config: CiTrusConfig):
        super().__init__()
        self.patch_length = config.patch_length
        self.amplitude_weight = config.fourier_amplitude_weight
        num_bins = config.patch_length // 2 + 1
        self.amplitude = nn.Linear(config.d_model, num_bins)
        self.phase = nn.Linear(config.d_model, num_bins)

    def spectrum(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Amplitude and phase `(N, L // 2 + 1)` each."""
        return F.softplus(self.amplitude(tokens)), self.phase(tokens)

    def samples(self, amplitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        spectrum = torch.polar(_at_least_float32(amplitude), _at_least_float32(phase))
        return torch.fft.irfft(spectrum, n=self.patch_length, dim=-1, norm="ortho").to(amplitude.dtype)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.samples(*self.spectrum(tokens))

    def prediction_loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Sample MSE plus the weighted MSE of the log-amplitude spectra of the predicted samples `(N, L)` and the
        target's (the amplitudes the samples have, see the class docstring)."""
        loss = F.mse_loss(_at_least_float32(prediction), _at_least_float32(target))
        if self.amplitude_weight > 0:
            amplitude, true_amplitude = (
                torch.fft.rfft(_at_least_float32(values), dim=-1, norm="ortho").abs() for values in (prediction, target)
            )
            amplitude_loss = F.mse_loss(torch.log1p(amplitude), torch.log1p(true_amplitude))
            loss = loss + self.amplitude_weight * amplitude_loss
        return loss


@register_pretraining_head
class CiTrusTimeFrequencyHead(CiTrusSampleHead):
    """Reconstruction scored in time and in frequency at once, after TSPulse (Ekambaram et al., 2025), whose
    masked reconstruction adds an FFT loss to the time loss: the time decoder's samples of every masked patch are
    compared with the patch's (MSE) and so are their log-magnitude spectra, log(1 + |rFFT|) with the orthonormal
    FFT, weighted by `config.frequency_loss_weight` (TSPulse's default weight 1).

    Why both: where a masked patch's phase cannot be inferred from its neighbours, the sample MSE alone is minimised
    by predicting its mean, zero; the spectral term, blind to phase, still rewards the patch's rhythm and power.
    """

    objective = "time_frequency"
    description = (
        "masked reconstruction scored in time and frequency at once (after TSPulse): the samples' MSE plus "
        "{config.frequency_loss_weight:g} x the MSE of the masked patches' log-magnitude spectra (rFFT)"
    )

    def __init__(self, config: CiTrusConfig):
        super().__init__(config)
        self.frequency_weight = config.frequency_loss_weight

    @staticmethod
    def log_magnitude(patches: torch.Tensor) -> torch.Tensor:
        """log(1 + |rFFT|) of every patch: `(N, L)` -> `(N, L // 2 + 1)`, float32."""
        return torch.log1p(torch.fft.rfft(_at_least_float32(patches), dim=-1, norm="ortho").abs())

    def prediction_loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        time_loss = F.mse_loss(_at_least_float32(prediction), _at_least_float32(target))
        if self.frequency_weight == 0:
            return time_loss
        frequency_loss = F.mse_loss(self.log_magnitude(prediction), self.log_magnitude(target))
        return time_loss + self.frequency_weight * frequency_loss


class CiTrusForPretraining(CiTrusPreTrainedModel):
    """CiTrus with a masked auto-encoding head. The loss needs no labels.

    The objective is a head class (`CiTrusPretrainingHead`) chosen by `config.pretraining_objective` from
    `PRETRAINING_HEADS`: "time" (the inverted CNN, a linear layer for `backbone="transformer"`, reconstructs masked
    patches' samples), "spectrogram" (CiTrus fp: the log-magnitude STFT frame centred on every masked patch),
    "fourier" (neuro2vec: amplitude and phase of every masked patch's spectrum), "time_frequency" (the samples, scored
    in time and in frequency, after TSPulse). This class draws the mask, runs the encoder and hands the context of the
    masked patches to the head.

    `backbone="cnn"` has no context model to infer a hidden patch from its neighbours, so that ablation is
    pre-trained as a plain auto-encoder: nothing is masked and the loss covers every patch.
    """

    # the encoder's, and the objective's, whose head layers and target are built from them
    _built_fields = CiTrusPreTrainedModel._built_fields + ("pretraining_objective", "spectrogram_n_fft")

    def __init__(self, config: CiTrusConfig):
        super().__init__(config)  # (checks the config's class first; builds no layer)
        # A task model may classify a window of one patch; masked pre-training cannot (see `_check_maskable`), so
        # this class refuses such a config here rather than at the first training step.
        self._check_maskable(
            config,
            config.num_patches,
            f"context_length={config.context_length}",
            "use a longer context_length or a shorter patch_length",
        )
        self.citrus = CiTrusModel(config)
        self.masking = CiTrusMasking(config)
        if config.pretraining_objective not in PRETRAINING_HEADS:  # a saved config keeps a name it does not register
            raise ValueError(unregistered_objective_message(config.pretraining_objective))
        self.head = PRETRAINING_HEADS[config.pretraining_objective](config)
        self.post_init()

    @staticmethod
    def _check_maskable(config: CiTrusConfig, num_patches: int, what: str, fix: str) -> None:
        """Masked pre-training hides `round(mask_ratio * P)` patches of every sequence and keeps at least one visible
        (`CiTrusMasking.num_masked`), so it needs at least 2 patches; with one, nothing would be masked and the
        attention kernels would fail on an empty selection. The CNN-only auto-encoder masks nothing."""
        if config.uses_transformer and num_patches < 2:
            raise ValueError(
                f"Masked pre-training hides a share of every window's patches (mask_ratio={config.mask_ratio:g}) and "
                f"keeps at least one visible, so it needs at least 2 patches per window, but {what} gives "
                f"{num_patches} patch of patch_length={config.patch_length} samples; {fix}."
            )

    def forward(
        self,
        # optional only so that a text model's arguments (`input_ids`, from peft's task wrappers) reach the error
        # that names them; missing, it is refused by `_check_input_values`
        input_values: torch.Tensor | None = None,
        patch_mask: torch.Tensor | None = None,
        token_mask: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        return_loss: bool = True,
        **kwargs,
    ) -> CiTrusForPretrainingOutput | tuple:
        r"""
        Args:
            input_values (`torch.FloatTensor` of shape `(batch_size, num_channels, time)`): aligned windows.
            patch_mask (`torch.Tensor` of shape `(batch_size, num_patches)`, *optional*): 0 marks padding patches,
                which are neither attended to nor scored.
            token_mask (`torch.BoolTensor` of shape `(batch_size, num_channels, num_patches)`, *optional*): a mask
                to use instead of drawing one (for evaluation and plots); True = masked.
            return_loss (`bool`, defaults to True): the loss is always computed (it needs no labels); the argument
                is here because the `Trainer` reads it from this signature to know that the model returns a loss
                without labels, and otherwise evaluates no `eval_loss` (as for CLIP).

        The loss is the mean over the scored patches: masked and not padding. A `token_mask` that scores no patch, a
        `patch_mask` that is all padding, or an empty batch is an error (a mean over nothing); when a drawn mask
        happens to fall on padding only (windows holding a patch or two of signal), the loss is 0 for that batch.

        Example:

        ```python
        >>> import torch
        >>> from citrus_hf import CiTrusConfig, CiTrusForPretraining
        >>> model = CiTrusForPretraining(CiTrusConfig(context_length=200, pretraining_objective="fourier"))
        >>> outputs = model(torch.randn(4, 1, 200))
        >>> outputs.loss.backward()

        ```
        """
        _reject_text_kwargs({k: v for k, v in kwargs.items() if k != "labels"})
        if kwargs.get("labels") is not None:
            raise ValueError("CiTrusForPretraining learns without labels; drop the `labels` column for pre-training.")
        self._check_config_describes_model(saving=False)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        input_values = self._check_input_values(input_values)
        patches = patchify(input_values, self.config.patch_length)  # (B, C, P, L)
        patch_mask = self._check_patch_mask(patch_mask, patches.shape)

        drawn_here = token_mask is None
        model_mask, loss_mask = self._masks(patches, token_mask, patch_mask)
        nothing_scored = self._nothing_scored(loss_mask, patch_mask, drawn_here)
        positions_to_keep = None
        if drawn_here and not (output_hidden_states or output_attentions):
            positions_to_keep = self._masked_positions(model_mask)
        outputs = self.citrus(
            input_values,
            patch_mask=patch_mask,
            token_mask=model_mask,
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
            positions_to_keep=positions_to_keep,
            return_dict=True,
        )
        context, scored_context = self._scored_context(outputs.last_hidden_state, loss_mask, positions_to_keep)

        target = self.head.target_of_batch(input_values, patches, patch_mask)  # (B, C, P, F)
        self._check_head_target(target, patches)
        loss, scored_prediction = self.head.loss(scored_context, target[loss_mask])  # (), (num_scored_total, F)
        if nothing_scored:
            loss = scored_prediction.sum() * 0.0  # keeps the graph, so a training step runs (and changes nothing)
        prediction, reconstruction = self._prediction_and_reconstruction(scored_prediction, loss_mask, patches)
        output = CiTrusForPretrainingOutput(
            loss=loss,
            reconstruction=reconstruction,
            prediction=prediction,
            target=target,
            token_mask=loss_mask,
            last_hidden_state=context,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            channel_attentions=outputs.channel_attentions,
        )
        return output if return_dict else output.to_tuple()

    def _check_head_target(self, target: torch.Tensor, patches: torch.Tensor) -> None:
        """Refuse targets of the head that are not `(B, C, P, F)` for `patches` `(B, C, P, L)`, `F` the head's
        declared `target_size`: a registered objective of one's own whose `target` and `target_size` disagree."""
        expected = (*patches.shape[:3], self.head.target_size(self.config))
        if tuple(target.shape) != expected:
            raise ValueError(
                f"The pre-training head {type(self.head).__name__} (objective "
                f"{self.config.pretraining_objective!r}) made targets of shape {tuple(target.shape)} for patches "
                f"{tuple(patches.shape)}, not (batch, channels, patches, target_size) = {expected}: make its "
                "`target` (and `target_of_batch`) and `target_size` agree."
            )

    def _prediction_and_reconstruction(
        self, scored_prediction: torch.Tensor, loss_mask: torch.Tensor, patches: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The head's prediction at every patch `(B, C, P, F)`, zero where nothing was scored, and, when it predicts
        samples, the window it completes: predicted samples in the scored patches, the input elsewhere `(B, C, T)`."""
        prediction = scored_prediction.new_zeros(*loss_mask.shape, scored_prediction.shape[-1])
        prediction[loss_mask] = scored_prediction
        if not self.head.predicts_samples:
            return prediction, None
        return prediction, unpatchify(torch.where(loss_mask[..., None], prediction.to(patches.dtype), patches))

    def _masks(
        self, patches: torch.Tensor, token_mask: torch.Tensor | None, patch_mask: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """The mask the encoder applies (None for the CNN-only auto-encoder) and the patches the loss scores (masked
        and not padding), both `(B, C, P)` bool, for `patches` `(B, C, P, L)`. Draws the mask unless `token_mask` is
        given."""
        shape = patches.shape[:3]
        if not self.config.uses_transformer:
            return None, self._without_padding(torch.ones(shape, dtype=torch.bool, device=patches.device), patch_mask)
        if token_mask is None:
            self._check_maskable(
                self.config,
                shape[2],
                f"the input of {shape[2] * patches.shape[3]} samples",
                f"pass windows of at least 2 patches ({2 * patches.shape[3]} samples)",
            )
            token_mask = self.masking(*shape, patches.device, patch_mask=patch_mask)
        token_mask = self._check_token_mask(token_mask, shape)
        return token_mask, self._without_padding(token_mask, patch_mask)

    @staticmethod
    def _without_padding(loss_mask: torch.Tensor, patch_mask: torch.Tensor | None) -> torch.Tensor:
        return loss_mask if patch_mask is None else loss_mask & patch_mask[:, None, :]

    def _nothing_scored(self, loss_mask: torch.Tensor, patch_mask: torch.Tensor | None, drawn_here: bool) -> bool:
        """Whether the loss scores no patch: a mean over none would be NaN. A mask drawn here can fall on padding
        only (windows of a patch or two of signal): nothing to learn from, so the loss is 0. A given mask or padding
        that leaves nothing is a mistake, raised here."""
        nothing_scored = (not drawn_here or patch_mask is not None) and not _is_tracing() and not loss_mask.any()
        if nothing_scored and patch_mask is not None and not patch_mask.any():
            raise ValueError(
                "`patch_mask` marks every patch of the batch as padding, so the pre-training loss has nothing to "
                "score; take `patch_mask` from the same feature extractor call as `input_values` (1 = signal)."
            )
        if nothing_scored and not drawn_here:
            raise ValueError(
                "`token_mask` masks no patch that holds signal, so the pre-training loss has nothing to score; mask at "
                "least one (True = masked) outside the padding, or pass token_mask=None to draw the mask."
            )
        return nothing_scored

    def _masked_positions(self, model_mask: torch.Tensor | None) -> torch.Tensor | None:
        """The masked patches' indices `(B, C, Q)` in ascending order (the order in which the loss mask selects
        them), when the last transformer layer may run at those patches only, else None.

        The loss reads the context of the masked patches only, so the last layer need not run anywhere else (an
        eighth of a pre-training step at the paper's size). That needs one number of positions in every sequence: a
        mask the masking drew itself without whole channels masked on top masks `num_masked(num_patches)` patches of
        a full window and fewer of a padded one (drawn over its real patches), whose positions then go on with
        unmasked ones, which the loss mask leaves out afterwards.
        """
        if model_mask is None or not self.citrus._can_keep_positions():
            return None
        if self.config.channel_mask_ratio > 0 and model_mask.shape[1] > 1:
            return None
        positions = model_mask.to(torch.int8).argsort(dim=-1, descending=True, stable=True)
        return positions[..., : self.masking.num_masked(model_mask.shape[-1])]

    def _scored_context(
        self, last_hidden_state: torch.Tensor, loss_mask: torch.Tensor, positions_to_keep: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """The context of every patch `(B, C, P, D)` (None when the last layer ran at the masked patches only) and
        that of the scored patches `(num_scored_total, D)`."""
        if positions_to_keep is not None:  # last_hidden_state: (B, C, Q, D), the masked patches in order
            scored = loss_mask.take_along_dim(positions_to_keep, dim=-1)  # masked padding patches are not scored
            return None, last_hidden_state[scored]
        context = last_hidden_state
        if self.citrus.cls_token is not None:
            context = context[:, :, 1:]  # the CLS token predicts no patch
        return context, context[loss_mask]


# ----------------------------------------------------------------------------------------------------------------------
# Task heads
# ----------------------------------------------------------------------------------------------------------------------


# The spread and the dynamics read every token many times (centring, squares, the step, 12 lagged products), each
# pass through a full-size temporary, so a batch that outgrows the cache pays memory bandwidth on every pass. Pooled a
# few windows at a time (at most this many token values, 1 MB in float32) the passes stay in cache: 150 citrus-small
# windows of 6 channels, "mean_max_std_dynamics", one thread, AMX Xeon: 87 ms instead of 435 (32 channels: 0.61 s
# instead of 2.42). Each window's statistics are the same bits either way (no reduction crosses windows). Mean and max
# are one pass each and gain nothing.
POOLING_CHUNK_ELEMENTS = 2**18


def pool_patches(features: torch.Tensor, patch_mask: torch.Tensor | None, pooling: str) -> torch.Tensor:
    """Pool token features over patches: `(B, C, S, D)` -> `(B, C, k * D)`, the `k = POOLING_STATISTICS[pooling]`
    statistics of every token dimension side by side ("mean_max": mean, max; "mean_max_std": and the standard
    deviation; "mean_max_std_dynamics": and `token_dynamics`).

    Padding patches (`patch_mask` `(B, P)` == 0) are left out. "cls" reads the CLS token, which the model puts first.
    With the spread, large batches are pooled in chunks of windows (`POOLING_CHUNK_ELEMENTS`), except under tracing,
    where the graph must not depend on the batch size.
    """
    if pooling == "cls":
        return features[:, :, 0]
    # (not sized under tracing, where sizes are recorded as tensors and the graph must not depend on them)
    chunked = not _is_tracing() and POOLING_STATISTICS[pooling] >= 3
    windows_per_chunk = max(1, POOLING_CHUNK_ELEMENTS // max(1, features[:1].numel())) if chunked else 0
    if not chunked or features.shape[0] <= windows_per_chunk:
        return _pool_patches_at_once(features, patch_mask, pooling)
    chunks = features.split(windows_per_chunk)
    masks = [None] * len(chunks) if patch_mask is None else patch_mask.split(windows_per_chunk)
    return torch.cat([_pool_patches_at_once(chunk, mask, pooling) for chunk, mask in zip(chunks, masks, strict=True)])


def _smallest_variance(values: torch.Tensor) -> float:
    """The floor below which a pooled variance is clamped before its square root, whose gradient at 0 is infinite:
    1e-12, or float16's smallest normal number (6e-5), where 1e-12 rounds to 0."""
    return max(1e-12, torch.finfo(values.dtype).tiny)


def _pool_patches_at_once(features: torch.Tensor, patch_mask: torch.Tensor | None, pooling: str) -> torch.Tensor:
    """`pool_patches` on the whole of `features` `(B, C, S, D)` in one pass per statistic."""
    keep = None if patch_mask is None else patch_mask.to(features.dtype)[:, None, :, None]  # (B, 1, P, 1)
    needs_mean = pooling != "max"
    if keep is None:
        mean = features.mean(dim=2) if needs_mean else None
        maximum = features.amax(dim=2) if pooling != "mean" else None
    else:
        count = keep.sum(dim=2).clamp_min(1.0)
        mean = (features * keep).sum(dim=2) / count if needs_mean else None
        maximum = (
            features.masked_fill(keep == 0, torch.finfo(features.dtype).min).amax(dim=2) if pooling != "mean" else None
        )
    if pooling == "mean":
        return mean
    if pooling == "max":
        return maximum
    if pooling == "mean_max":
        return torch.cat([mean, maximum], dim=-1)
    # the population standard deviation over the kept patches; clamped below so that its gradient stays finite for a
    # window of one patch (spread 0)
    squared = (features - mean[:, :, None]) ** 2
    variance = squared.mean(dim=2) if keep is None else (squared * keep).sum(dim=2) / count
    # the floor in the features' dtype: 1e-12 rounds to 0 in float16, whose sqrt then has an infinite gradient (a window
    # of one real patch filled every gradient with NaN)
    floor = _smallest_variance(variance)
    spread = [mean, maximum, variance.clamp_min(floor).sqrt()]
    if pooling == "mean_max_std":
        return torch.cat(spread, dim=-1)
    return torch.cat([*spread, token_dynamics(features, keep, mean, variance)], dim=-1)


def token_dynamics(
    features: torch.Tensor, keep: torch.Tensor | None, mean: torch.Tensor, variance: torch.Tensor
) -> torch.Tensor:
    """How every token dimension moves from patch to patch: `(B, C, P, D)` -> `(B, C, (1 + len(lags)) * D)`, the root
    mean square of the step between neighbouring patches, then the autocorrelation at each of `AUTOCORRELATION_LAGS`
    (covariance of the kept patch pairs that far apart over the variance; 0 where a window has no such pair).

    Mean, maximum and spread are blind to order: a rhythm (a heart beat every 8 patches) and the same tokens shuffled
    pool alike. The products and their sums are taken in float32 (or float64) whatever the features' dtype, since sums over hundreds
    of patches lose the autocorrelation's digits in bfloat16 (the mean and variance come in the features' dtype).

    Args:
        features: `(B, C, P, D)` tokens.
        keep: `(B, 1, P, 1)` 1 for kept patches, 0 for padding; None keeps every patch.
        mean / variance: `(B, C, D)` over the kept patches (`pool_patches`).
    """
    dtype = features.dtype
    features, mean, variance = _at_least_float32(features), _at_least_float32(mean), _at_least_float32(variance)
    keep = torch.ones_like(features[:, :1, :, :1]) if keep is None else _at_least_float32(keep)
    centred = (features - mean[:, :, None]) * keep
    # slices past the end are empty, so a window shorter than a lag gets 0 there, traced or not
    step_pairs = keep[:, :, 1:] * keep[:, :, :-1]
    steps = (features[:, :, 1:] - features[:, :, :-1]) ** 2 * step_pairs
    dynamics = [(steps.sum(dim=2) / step_pairs.sum(dim=2).clamp_min(1.0)).clamp_min(_smallest_variance(steps)).sqrt()]
    scale = variance.clamp_min(1e-6)
    for lag in AUTOCORRELATION_LAGS:
        pairs = keep[:, :, lag:] * keep[:, :, :-lag]
        covariance = (centred[:, :, lag:] * centred[:, :, :-lag]).sum(dim=2) / pairs.sum(dim=2).clamp_min(1.0)
        dynamics.append(covariance / scale)
    return torch.cat(dynamics, dim=-1).to(dtype)


def _pooled_width(config: CiTrusConfig, features: str, pooling: str) -> int:
    """Width of one channel's pooled vector for `features` (see `CiTrusConfig.head_features`) and `pooling`."""
    layers = 1
    if features == "all_layers":
        layers = 1 + (config.num_hidden_layers if config.uses_transformer else 0)
    return layers * POOLING_STATISTICS[pooling] * config.d_model


def _feature_states(outputs: CiTrusModelOutput, features: str) -> list[torch.Tensor]:
    """The `(B, C, S, D)` token states that `features` names, from a model output (with hidden states for
    "all_layers")."""
    if features == "encoded":
        return [outputs.encoded_states]
    if features == "context":
        return [outputs.last_hidden_state]
    if outputs.hidden_states is None:  # an output without them: the CNN tokens are what is left
        return [outputs.encoded_states]
    # hidden_states[0] is the CNN tokens plus positions (backbone="cnn": the CNN tokens, its only state); the CNN
    # tokens themselves stand in for it.
    return [outputs.encoded_states, *outputs.hidden_states[1:]]


def pool_states(states: list[torch.Tensor], patch_mask: torch.Tensor | None, pooling: str) -> torch.Tensor:
    """`pool_patches` of every state, side by side: `L` states `(B, C, S, D)` -> `(B, C, L * k * D)`, state by state
    (each state's `k` statistics of `D` dimensions together).

    The states are pooled in one pass, side by side along the token width, and the statistics regrouped by state
    after: every statistic is per token dimension, so each value is the same bits as pooling the states one by one,
    while a traced graph holds one pooling instead of one per state. The dynamics' 13 lagged slices and sums per
    state had made citrus-small's classifier (5 states) an ONNX graph of 735 nodes, most of its 24 s export.
    """
    if len(states) == 1:
        return pool_patches(states[0], patch_mask, pooling)
    pooled = pool_patches(torch.cat(states, dim=-1), patch_mask, pooling)  # (B, C, k * L * D), statistic by statistic
    by_statistic = pooled.unflatten(-1, (-1, len(states), states[0].shape[-1]))  # (B, C, k, L, D)
    return by_statistic.transpose(2, 3).flatten(2)


def check_windows_hold_signal(patch_mask: torch.Tensor) -> None:
    """Refuse windows whose `patch_mask` `(batch, num_patches)` is 0 for every patch: pooling them has nothing to
    average (a division by zero, or zeros from an exported graph)."""
    empty_windows = (~patch_mask.to(torch.bool).any(dim=1)).nonzero().flatten().tolist()
    if empty_windows:
        raise ValueError(
            f"Window(s) {empty_windows[:10]} of the batch hold no signal (`patch_mask` is 0 for every patch), "
            "so there is nothing to pool into their features; drop them, or take `patch_mask` from the same "
            "feature extractor call as `input_values`."
        )


def pool_features(
    outputs: CiTrusModelOutput,
    patch_mask: torch.Tensor | None,
    features: str,
    pooling: str,
    channel_pooling: str,
    num_channels: int | None = None,
    num_samples: int | None = None,
) -> torch.Tensor:
    """One vector per window from an encoder output: pool every named state over patches, put them side by side,
    then concatenate (`(B, C * F)`, needs `num_channels` channels) or average (`(B, F)`) over channels.
    `num_samples`, the windows' length, lets a wrong channel count be recognised as a `(batch, time, channels)`
    input."""
    if patch_mask is not None and not _is_tracing():
        check_windows_hold_signal(patch_mask)
    patch_mask = _outside_inference_mode(patch_mask)  # the pooling weighs the tokens by it
    pooled = pool_states(_feature_states(outputs, features), patch_mask, pooling)
    if channel_pooling == "mean":
        return pooled.mean(dim=1)
    if num_channels is not None and not torch.jit.is_tracing() and pooled.shape[1] != num_channels:
        shape = tuple(pooled.shape[:2]) + (() if num_samples is None else (num_samples,))
        raise _channel_count_error(num_channels, shape)
    return pooled.flatten(1)  # (B, C * F)


class CiTrusPooler(nn.Module):
    """Pools the encoder output into one vector per window as the config says (`head_features`, `pooling`,
    `channel_pooling`): `(B, C * F)` for `channel_pooling="concat"`, `(B, F)` for "mean"."""

    def __init__(self, config: CiTrusConfig):
        super().__init__()
        self.config = config

    @property
    def output_size(self) -> int:
        config = self.config
        channels = config.num_channels if config.channel_pooling == "concat" else 1
        return channels * _pooled_width(config, config.head_features, config.pooling)

    def forward(self, outputs: CiTrusModelOutput, patch_mask: torch.Tensor | None = None) -> torch.Tensor:
        config = self.config
        num_samples = outputs.encoded_states.shape[2] * config.patch_length
        return pool_features(
            outputs,
            patch_mask,
            config.head_features,
            config.pooling,
            config.channel_pooling,
            config.num_channels,
            num_samples,
        )


# How peft's documentation spells its methods, by the package of their tuner layers (`peft.tuners.<package>`), which is
# also their `peft_type` in lower case; any other method is named by its package (or its config class).
PEFT_METHOD_NAMES = {
    "lora": "LoRA",
    "loha": "LoHa",
    "lokr": "LoKr",
    "ia3": "IA3",
    "vera": "VeRA",
    "adalora": "AdaLoRA",
    "boft": "BOFT",
    "oft": "OFT",
}


def _peft_method_name(layer: nn.Module) -> str:
    """The peft method one of its tuner layers belongs to ("LoRA", "LoHa", "IA3", ...), for messages."""
    parts = type(layer).__module__.split(".")
    if parts[:2] != ["peft", "tuners"] or len(parts) < 3:
        return type(layer).__name__
    return PEFT_METHOD_NAMES.get(parts[2], parts[2])


def run_task_head(head: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """A task model's linear `head` on its pooled `features` `(B, F)` -> `(B, outputs)`, in the head's own dtype.

    A head kept in float32 on a bf16 / fp16 model (`model.half(); model.classifier.float()`, the habit that keeps the
    logits' digits) failed inside torch with "mat1 and mat2 must have the same dtype". Under CPU autocast (the
    Trainer's `bf16=True`) it runs with autocast off: next to nothing to compute, and in bf16 PyTorch 2.13's CPU kernel
    for a probe-sized head (49,152 inputs, 32 rows, one thread, a CPU with AMX) killed the process with a floating
    point exception. A quantized head takes the features as they come: a dynamically quantized one has no
    parameters, and one whose weight is packed in integers (bitsandbytes' 8-bit and 4-bit layers) computes in floats,
    which a cast to its weight's dtype would have truncated to integers, without a word."""
    parameter = next(head.parameters(), None)
    if parameter is not None and parameter.is_floating_point():
        features = features.to(parameter.dtype)
    if features.device.type != "cpu" or not torch.is_autocast_enabled("cpu"):
        return head(features)
    with torch.autocast("cpu", enabled=False):
        return head(features)


class _CiTrusForTask(CiTrusPreTrainedModel):
    """Shared body of the task models: the backbone, the pooler, a dropout and a linear head named by the subclass,
    which also gives the loss (`compute_loss`) and the output dataclass (`output_class`)."""

    head_name: str
    outputs_field: str
    output_class: type[ModelOutput]

    def __init__(self, config: CiTrusConfig):
        super().__init__(config)  # (checks the config's class before the head's size is read from it)
        # `CiTrusForRegression(CiTrusConfig(num_labels=2))`; a config given to `from_pretrained` (the Auto classes'
        # route) was read there, and transformers builds the model from a copy
        self._check_config_head_keywords(config)
        self._check_output_names(config)
        self.citrus = CiTrusModel(config)
        self._freeze_unused_parameters()
        self.pooler = CiTrusPooler(config)
        self.dropout = nn.Dropout(config.head_dropout)
        setattr(self, self.head_name, nn.Linear(self.pooler.output_size, getattr(config, self.outputs_field)))
        self._backbone_frozen = False
        self.post_init()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # a method rather than a registered pre-hook: a hook's handle id differs between two identical models, and
        # `datasets`' Hasher (`ds.map(fn)` with a model in `fn`) would then never find an earlier identical session
        _check_adapter_head_fits(self, state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def freeze_backbone(self, freeze: bool = True) -> None:
        """Freeze (or unfreeze) the encoder for linear probing: only the head trains.

        A frozen backbone also stays in eval mode (no dropout, fixed batch-norm statistics), so the features the
        head sees are exactly the pre-trained ones.

        Raises:
            TypeError: `freeze` is not True or False (the text "no" would otherwise freeze the encoder).
        """
        freeze = as_bool("freeze", freeze)
        self._backbone_frozen = freeze
        self.citrus.requires_grad_(not freeze)
        self._freeze_unused_parameters()
        self.train(self.training)

    def _freeze_unused_parameters(self) -> None:
        """The encoder's mask token serves pre-training only: a task model never masks, so it gets no gradient, and a
        trainable parameter without one stops DistributedDataParallel at its second step ("Expected to have finished
        reduction in the prior iteration") in a hand-written Accelerate loop (the Trainer asks DDP to look for unused
        parameters; transformers' text models avoid it by not building their unused poolers). Frozen, DDP leaves it
        out; it is still saved and loaded. Run when the model is built, loaded (`from_pretrained` makes new
        parameters) and unfrozen."""
        self.citrus.mask_token.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if getattr(self, "_backbone_frozen", False) and _holds_trainable_adapter(self.citrus):
            # a peft adapter put into the frozen encoder (`get_peft_model` after `freeze_backbone()`): kept in eval
            # mode, its dropout (`lora_dropout`) was off without a word. The adapter decides what trains, as
            # `apply_lora` decides (peft froze the base weights itself): the freezing ends, `requires_grad` as it is.
            logger.info(f"{type(self).__name__}: a peft adapter in the frozen backbone ends the freezing; it trains.")
            self._backbone_frozen = False
        if getattr(self, "_backbone_frozen", False):
            self.citrus.eval()
        return self

    def _warn_if_head_frozen(self) -> None:
        """Say once when the model trains with its task head frozen: peft's LoRA freezes (and leaves out of the saved
        adapter) every module it does not adapt or know as a head, and it knows `classifier` only with
        `task_type="SEQ_CLS"`, never `regressor`, so the head would stay at its random start. A head that LoRA adapts
        (`target_modules="all-linear"` without `modules_to_save`) is no better: its random weights stay frozen and
        only their low-rank update trains and is saved, so the adapter reloaded onto a newly built head (another
        random start) gives other outputs."""
        if not any(p.requires_grad for p in self.parameters()):
            return
        head = getattr(self, self.head_name)
        trainable = [name for name, p in head.named_parameters() if p.requires_grad]
        fix = (
            f"with peft, pass `modules_to_save=['{self.head_name}']` to the adapter's config (LoraConfig, LoHaConfig, "
            "IA3Config, ...), or use `citrus_hf.training.lora.apply_lora`, which does."
        )
        # peft's tuner layers in the head, whatever the method (LoRA, LoHa, LoKr, IA3, VeRA...): each wraps the
        # frozen `base_layer` it adapts, and its own parameters (named by the method) are the ones that train
        tuners = {name: module for name, module in head.named_modules() if hasattr(module, "base_layer")}
        # the tuner layer each trainable parameter lies in (None: a parameter trained in full); "": the head itself
        owners = [next((t for t in tuners if t == "" or name.startswith(f"{t}.")), None) for name in trainable]
        if not trainable:
            logger.warning_once(
                f"{type(self).__name__} trains with its `{self.head_name}` head frozen, so it stays as it started and "
                f"a peft adapter will not save it: {fix}"
            )
        elif None not in owners:
            methods = sorted({_peft_method_name(tuners[owner]) for owner in owners})
            logger.warning_once(
                f"{type(self).__name__} trains its `{self.head_name}` head only through {' and '.join(methods)} "
                "(target_modules reached it, as 'all-linear' does): its new random weights stay frozen and are not "
                "saved, so the adapter reloaded onto a newly built model gives other outputs. Train and save the head "
                f"in full: {fix}"
            )

    def _run_head(self, features: torch.Tensor) -> torch.Tensor:
        """The task head on the pooled `features` `(B, F)` -> `(B, outputs)` (`run_task_head`)."""
        return run_task_head(getattr(self, self.head_name), features)

    def forward(
        self,
        # optional only so that a text model's arguments (`input_ids`, from peft's task wrappers) reach the error
        # that names them; missing, it is refused by `_check_input_values`
        input_values: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        patch_mask: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ):
        r"""
        Args:
            input_values (`torch.FloatTensor` of shape `(batch_size, num_channels, time)`): aligned windows
                (`CiTrusFeatureExtractor` produces them).
            labels (`torch.Tensor`, *optional*): class indices `(batch_size,)`, multi-label targets
                `(batch_size, num_labels)` or regression targets `(batch_size,)` / `(batch_size, num_targets)`; the
                loss is returned first when given.
            patch_mask (`torch.Tensor` of shape `(batch_size, num_patches)`, *optional*): 0 marks padding patches,
                which are neither attended to nor pooled.

        Returns `logits` of shape `(batch_size, num_labels)` (classification) or `(batch_size, num_targets)`
        (regression), with `loss` first when `labels` are given.
        """
        _reject_text_kwargs(kwargs)
        # the pooler reads `pooling` and `head_features` at every call: a change the head was not built for is
        # refused here, before the encoder runs (it would feed a patch token as the CLS token, or fail in the head)
        self._check_config_describes_model(saving=False)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        outputs = self.citrus(
            input_values,
            patch_mask=patch_mask,
            # an "all_layers" head reads every layer's output, whether or not the caller wants them returned
            output_hidden_states=output_hidden_states or self.config.head_features == "all_layers",
            output_attentions=output_attentions,
            return_dict=True,
        )
        logits = self._run_head(self.dropout(self.pooler(outputs, patch_mask)))  # (B, outputs)
        self._check_head_width()
        loss = None if labels is None else self.compute_loss(logits, labels)
        if loss is not None and self.training and torch.is_grad_enabled():
            self._warn_if_head_frozen()
        hidden_states = outputs.hidden_states if output_hidden_states else None
        output = self.output_class(
            loss=loss,
            logits=logits,
            hidden_states=hidden_states,
            attentions=outputs.attentions,
            channel_attentions=outputs.channel_attentions,
        )
        return output if return_dict else output.to_tuple()


def _real_numbers(values, name: str) -> torch.Tensor:
    """`values` (a tensor, numpy array, list of numbers, a `datasets` column in any format, or a pandas DataFrame /
    Series) as a tensor of real numbers; `name` is what the errors call it."""
    if not isinstance(values, torch.Tensor):
        if hasattr(values, "to_numpy"):  # pandas (and polars) tables and series, which torch cannot read
            values = values.to_numpy().copy()  # (pandas' copy-on-write arrays are read-only, which torch warns of)
        try:
            values = torch.as_tensor(values)
        except (TypeError, ValueError, RuntimeError) as error:
            # A `datasets` column in torch format holds a tensor per row: one target each reads as numbers, but
            # several (`train.with_format("torch")["labels"]` of a multi-target set) were refused as not a list
            rows = list(values) if isinstance(values, Iterable) and not isinstance(values, (str, bytes)) else []
            if not rows or not all(isinstance(row, torch.Tensor) for row in rows):
                raise TypeError(
                    f"`{name}` must be a tensor, numpy array or list of numbers, got {type(values).__name__} ({error})."
                ) from None
            shapes = sorted({tuple(row.shape) for row in rows})
            if len(shapes) > 1:
                raise ValueError(
                    f"`{name}` rows have different shapes ({', '.join(map(str, shapes[:3]))}): give every row the same "
                    "number of values (one per target)."
                ) from None
            values = torch.stack(rows)
    if values.is_complex():
        raise TypeError(f"`{name}` must hold real numbers (class indices or targets), got dtype {values.dtype}.")
    return values


def _as_labels(labels, logits: torch.Tensor | None) -> torch.Tensor:
    """`labels` (a tensor, numpy array or list of numbers) as a finite tensor on `logits`' device, one row per window.
    `logits`: `(batch_size, outputs)`, or None where the model has not run (the batch size is then not checked)."""
    labels = _outside_inference_mode(_real_numbers(labels, "labels"))
    if logits is not None:
        if labels.dim() == 0 or labels.shape[0] != logits.shape[0]:
            given = "a single value" if labels.dim() == 0 else f"{labels.shape[0]} rows (shape {tuple(labels.shape)})"
            raise ValueError(
                f"`labels` must have one row per window: the batch has {logits.shape[0]} windows but `labels` has "
                f"{given}."
            )
        labels = labels.to(logits.device)
    if labels.is_floating_point() and not _is_tracing() and not torch.isfinite(labels).all():
        raise ValueError(
            f"`labels` contain {int(labels.isnan().sum())} NaN and {int(labels.isinf().sum())} infinite values; the "
            "loss would be NaN. Drop those windows or fill their targets."
        )
    return labels


# A task model's second positional argument is `labels` (PatchTST's `target_values` sits there too), while
# `CiTrusModel`'s and transformers' audio classifiers' is the mask: `model(x, mask)` or `torch.onnx.export(model, (x,
# mask))` hands the patch mask over as labels.
_PATCH_MASK_AS_LABELS_HINT = (
    " If this is a `(batch, patches)` patch mask, pass it by name: model(input_values, patch_mask=mask) (a task "
    "model's second positional argument is `labels`; for torch.onnx.export: args=(input_values,), "
    "kwargs={'patch_mask': mask})."
)


def _class_indices(labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """Single-label targets `(batch_size,)` or `(batch_size, 1)` as class indices `(batch_size,)` int64."""
    if labels.dim() != 1 and not (labels.dim() == 2 and labels.shape[1] == 1):
        raise ValueError(
            f"Single-label classification needs one class index per window (batch,), got labels of shape "
            f"{tuple(int(size) for size in labels.shape)}; for several labels per window set "
            f"problem_type='multi_label_classification'.{_PATCH_MASK_AS_LABELS_HINT}"
        )
    labels = labels.reshape(-1)
    if labels.is_floating_point() and not _is_tracing() and not (labels == labels.round()).all():
        fractional = labels[labels != labels.round()][:3].tolist()
        dtype = str(labels.dtype).removeprefix("torch.")
        raise ValueError(
            f"Class labels must be whole numbers (class indices), got {fractional} in {dtype} labels; they are not "
            "rounded or truncated: give each window its class index in [0, num_labels - 1] (whole numbers of any "
            "dtype, e.g. an int64 `labels` column). For soft or several labels per window pass (batch, num_labels) "
            "targets in [0, 1] with problem_type='multi_label_classification'."
        )
    labels = labels.long()
    if not _is_tracing() and bool((labels == -100).any()):
        # transformers' ignore index: a window without a label has no place in a sequence classifier's batch
        raise ValueError(
            "Labels hold -100, the ignore index of token classification; a window classifier needs a label for every "
            "window: drop the unlabelled windows from the dataset instead."
        )
    if not _is_tracing() and (labels.min() < 0 or labels.max() >= num_labels):
        raise ValueError(
            f"Labels must lie in [0, {num_labels - 1}] for a {num_labels}-class model, got values from "
            f"{int(labels.min())} to {int(labels.max())}; set num_labels (or id2label) to cover every class."
        )
    return labels


def _at_least_float32(logits: torch.Tensor) -> torch.Tensor:
    """`logits` in float32 when they are of a lower precision (bf16 / fp16 training: the loss is taken in float32),
    unchanged in float64 (double-precision checks keep their precision)."""
    return logits.to(torch.promote_types(logits.dtype, torch.float32))


def _check_labels_fit_problem_type(problem_type: str | None, labels: torch.Tensor, num_labels: int) -> None:
    """Refuse class indices, one per window `(batch,)` / `(batch, 1)`, under a config's `problem_type` that needs
    `(batch, num_labels)` targets (a regression or multi-label head of several outputs), naming that `problem_type`.
    transformers infers it from the first batch and saves it, and a new head of another size on the checkpoint
    (`from_pretrained(path, num_labels=4, ignore_mismatched_sizes=True)`) keeps it: class indices were then refused
    as targets of the wrong shape, the regression's error advising to set `num_labels` (which the caller had). One
    regression target per window that is no class index keeps that error, which its fix is."""
    one_per_window = labels.dim() == 1 or (labels.dim() == 2 and labels.shape[1] == 1)
    if problem_type not in (REGRESSION, "multi_label_classification") or num_labels == 1 or not one_per_window:
        return
    values = labels.double()  # (bool labels have no `round`)
    if problem_type == REGRESSION and (
        _is_tracing() or not ((values == values.round()) & (values >= 0) & (values < num_labels)).all()
    ):
        return
    needs = f"{num_labels} targets per window" if problem_type == REGRESSION else f"{num_labels} multi-hot targets"
    raise ValueError(
        f"The config's problem_type={problem_type!r} (saved with a checkpoint, or inferred from a first batch) takes "
        f"{needs}, labels of shape (batch, {num_labels}), and these labels hold one value per window (shape "
        f"{tuple(labels.shape)}). For class indices set problem_type='single_label_classification' "
        "(`model.config.problem_type = 'single_label_classification'`, or `from_pretrained(..., "
        "problem_type='single_label_classification')`); for one output per window, num_labels=1; otherwise pass one "
        "column per output."
    )


def classification_loss(config: PreTrainedConfig, logits: torch.Tensor, labels) -> torch.Tensor:
    """transformers' classification loss by `config.problem_type`, with errors that say what is wrong with the labels.

    `logits`: `(batch_size, num_labels)`. `labels`: a tensor, numpy array or list. Without a `problem_type`, it is
    inferred from the labels' shape and stored on the config, only once the labels have passed every check: one
    label per window is single-label classification (whole numbers of any dtype; `num_labels == 1` means
    regression), `(batch_size, num_labels)` targets are multi-label. A `problem_type` set on the config after the model
    was built is checked here (`check_problem_type`): a misspelt one trained as multi-label without a word.
    """
    num_labels = config.num_labels
    problem_type = config.problem_type
    check_problem_type(problem_type, num_labels)
    labels = _as_labels(labels, logits)
    _check_labels_fit_problem_type(problem_type, labels, num_labels)
    if problem_type is None:
        if num_labels == 1:
            problem_type = REGRESSION
        elif labels.dim() == 2 and labels.shape[1] == num_labels:
            problem_type = "multi_label_classification"
        else:
            problem_type = "single_label_classification"
    if problem_type == REGRESSION:
        loss = regression_loss(logits, labels, width_field="num_labels")
    elif problem_type == "single_label_classification":
        loss = F.cross_entropy(_at_least_float32(logits), _class_indices(labels, num_labels))
    else:
        if labels.shape != logits.shape:
            raise ValueError(
                f"Multi-label classification needs labels of shape (batch, num_labels) = {tuple(logits.shape)}, "
                f"got {tuple(labels.shape)}."
            )
        if not _is_tracing() and ((labels < 0) | (labels > 1)).any():
            raise ValueError(
                "Multi-label targets are probabilities in [0, 1] (1 = the label applies), got values from "
                f"{float(labels.min()):g} to {float(labels.max()):g}."
            )
        logits = _at_least_float32(logits)
        loss = F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
    config.problem_type = problem_type
    return loss


def regression_loss(logits: torch.Tensor, labels, width_field: str = "num_targets") -> torch.Tensor:
    """Mean squared error; `logits` `(batch_size, width)`, `labels` `(batch_size,)` or the same shape (a tensor,
    numpy array or list). `width_field` is the config field that sets the head's width, named in the error:
    `num_targets` for a regressor, `num_labels` for a sequence classifier with `problem_type="regression"`."""
    labels = _as_labels(labels, logits)
    logits = _at_least_float32(logits)
    labels = labels.to(logits.dtype)
    given = tuple(labels.shape)  # as the caller passed them, for the message
    if labels.dim() == 1:
        labels = labels[:, None]
    if labels.shape != logits.shape:
        raise ValueError(
            f"Regression labels must have shape (batch,) or (batch, {width_field}) = {tuple(logits.shape)}, "
            f"got {given}; set {width_field} in the config to the number of targets."
            + _PATCH_MASK_AS_LABELS_HINT
            * bool(labels.dim() == 2 and ((labels == 0) | (labels == 1)).all())
        )
    return F.mse_loss(logits, labels)


def _per_target(values: torch.Tensor, config: PreTrainedConfig) -> str:
    """`values` `(outputs,)`, one per regression target, as a message shows them: one number for one target, else
    each by its name (`config.id2label`'s, when it names the outputs) or index. Averaged together, a heart rate near 70
    and a breathing rate near 0.3 read as targets averaging 35."""
    if len(values) == 1:
        return f"{float(values[0]):.4g}"
    names = named_outputs(config.id2label)
    names = names if names is not None and len(names) == len(values) else [f"target_{k}" for k in range(len(values))]
    return "(" + ", ".join(f"{name} {float(value):.4g}" for name, value in zip(names, values, strict=True)) + ")"


class _RegressionHeadStart:
    """What a regression head needs at the start of training, for CiTrusForRegression and for a
    CiTrusForSequenceClassification trained as a regressor (`problem_type="regression"`, transformers' way): starting
    the head at the targets' mean (`init_regressor_bias`), and a warning at the first training batch when the targets
    sit far from what the head predicts. The head is the module `head_name`, its outputs `config.<outputs_field>`."""

    _target_offset_checked = False
    _bias_started_at_targets = False  # set by `init_regressor_bias`: the offset warning then advises scaling

    def _check_regression_head(self) -> None:
        """Overridden where the head is a regressor only by its config."""

    def _check_target_offset(self, logits: torch.Tensor, labels) -> None:
        """The offset warning, judged once, on the first training examples: the first batch, or the first batches
        together until they hold two examples (one example has no spread to compare with; with
        `per_device_train_batch_size=1` every batch holds one, and a head at 0 on heart rates near 70 trained without
        a word)."""
        if not self.training or self._target_offset_checked:
            return
        targets = _as_labels(labels, logits).detach().double().reshape(len(logits), -1).cpu()
        # (a plain attribute, not a buffer: nothing to save, and gone with the check)
        first = [*getattr(self, "_first_training_rows", []), (logits.detach().double().cpu(), targets)]
        if sum(len(outputs) for outputs, _ in first) < 2:
            self._first_training_rows = first
            return
        self._target_offset_checked = True
        self._first_training_rows = []
        judged = "the first training batch's" if len(first) == 1 else f"the first {len(first)} training batches'"
        self._warn_about_target_offset(torch.cat([o for o, _ in first]), torch.cat([t for _, t in first]), judged)

    @torch.no_grad()
    def init_regressor_bias(self, targets: torch.Tensor | ArrayLike) -> None:
        """Start the head at the mean of the training targets, `(num_examples,)` (one target) or `(num_examples,
        num_targets)` (a tensor, array, list or `datasets` column). A new head predicts about 0: for targets far from
        0 (heart rates near 70 bpm) a short fine-tuning run spends itself learning the offset. `citrus finetune` does
        this before training.

        Raises:
            TypeError: `targets` are not numbers. ValueError: no targets, another shape, or NaN / infinite targets
                (the bias, and so every prediction, would be NaN).
        """
        self._check_regression_head()
        num_targets = getattr(self.config, self.outputs_field)
        targets = _real_numbers(targets, "targets").to(torch.float64)
        if targets.dim() == 2 and targets.shape[1] == 1 and num_targets == 1:
            targets = targets[:, 0]
        expected = "(num_examples,)" if num_targets == 1 else f"(num_examples, {num_targets})"
        if targets.dim() != (1 if num_targets == 1 else 2) or (targets.dim() == 2 and targets.shape[1] != num_targets):
            raise ValueError(
                f"`targets` must have shape {expected}, one row per training example ({self.outputs_field}="
                f"{num_targets}), "
                f"got {tuple(targets.shape)}."
            )
        if targets.shape[0] == 0:
            raise ValueError("`targets` is empty: the head starts at the mean of the training targets, so pass them.")
        bad_rows = (~torch.isfinite(targets.reshape(len(targets), -1)).all(dim=1)).nonzero().flatten().tolist()
        if bad_rows:
            raise ValueError(
                f"`targets` hold NaN or infinite values in {len(bad_rows)} row(s) (e.g. rows {bad_rows[:5]}), which "
                "would make the head's bias, and every prediction, NaN or infinite: drop those examples or fill "
                "their targets first."
            )
        means = targets.mean(dim=0) if targets.dim() > 1 else targets.mean().expand(num_targets)
        head = getattr(self, self.head_name)
        head.bias.copy_(means.to(head.bias.dtype))
        self._bias_started_at_targets = True

    @torch.no_grad()
    def _warn_about_target_offset(
        self, logits: torch.Tensor, targets: torch.Tensor, judged: str = "the first training batch's"
    ) -> None:
        """Warn once, at the first training batch, when the targets sit far from what the head predicts: with the
        Trainer, a heart-rate regressor whose head starts at 0 ended 20x worse than one started at the mean. Each
        target is judged against its own spread: several targets may be on different scales (a heart rate near 70
        beside a breathing rate near 0.3), and the largest spread hid every other target's offset. `judged` names
        the rows judged in the message (the first batch's, or the first batches' of one example each). `targets` are
        `_check_target_offset`'s, already read as real numbers, `(rows, outputs)` float64 like `logits`' rows."""
        offsets = (targets.mean(dim=0) - logits.double().mean(dim=0)).abs()  # (outputs,)
        spreads = targets.std(dim=0, unbiased=False)
        far = offsets > 3 * spreads.clamp(min=1e-3)
        if not far.any():
            return
        spread = float(spreads[far].max())
        where = (
            f"{type(self).__name__}: {judged} targets average "
            f"{_per_target(targets.mean(dim=0), self.config)} while the head predicts about "
            f"{_per_target(logits.double().mean(dim=0), self.config)}"
        )
        if not self._bias_started_at_targets:
            logger.warning(
                f"{where}; a short run spends itself learning that offset. Start the head at the training targets' "
                "mean first: `model.init_regressor_bias(train_targets)` (`citrus finetune` does), or standardise the "
                "targets."
            )
        elif spread > 0:  # (a batch of equal targets says nothing about their scale)
            # The bias already sits at the targets' mean: the rest is the new head's random weights times the
            # features, which is large only next to targets that barely vary.
            logger.warning(
                f"{where}, although the head starts at the targets' mean: its new weights move the predictions by more "
                f"than 3x the targets' spread ({spread:.3g}). Standardise the targets (subtract their mean, divide by "
                "their standard deviation) so that they vary on the scale the head starts at."
            )


class _HeadSizeKeywords:
    """The refusal of the other task's head-size keyword, for the task classes of both families (single-modality and
    fusion): a classifier's classes are `num_labels` (or `id2label` / `label2id`), a regressor's outputs
    `num_targets`. transformers' keywords and PatchTST's name the two heads' sizes differently, and the head was built
    at its default size while the config recorded the keyword. Run on every route: `from_pretrained`'s keywords or the
    config it was given (the Auto classes load the config first, with the keywords, and hand it over), and the config
    the class is built from (each family's `__init__` calls `_check_config_head_keywords`)."""

    @classmethod
    def _check_head_keywords(cls, given: Collection[str], values: Mapping[str, Any]) -> None:
        """Refuse the size keyword of the other task's head among the keywords `given` (their values in `values`)."""
        raise NotImplementedError

    @classmethod
    def _config_overrides_for(cls, pretrained_model_name_or_path, saved_config: dict, kwargs: dict) -> dict:
        """The base class's overrides, once the head-size keywords pass `_check_head_keywords`: the keywords given
        here, or those a config given here was built with (`head_keywords_given`)."""
        if isinstance(kwargs.get("config"), PreTrainedConfig):
            cls._check_config_head_keywords(kwargs["config"])
        else:
            cls._check_head_keywords(kwargs.keys(), kwargs)
        return super()._config_overrides_for(pretrained_model_name_or_path, saved_config, kwargs)  # type: ignore[misc]

    @classmethod
    def _check_config_head_keywords(cls, config: PreTrainedConfig) -> None:
        """`_check_head_keywords` on the keywords `config` was built with."""
        sizes = {"num_labels": config.num_labels, "num_targets": config.num_targets}
        cls._check_head_keywords(head_keywords_given(config), sizes)

    @classmethod
    def _check_output_names(cls, config: PreTrainedConfig) -> None:
        """Refuse names in `config` that do not name this head's outputs (the regressors' `check_target_names`); a
        classifier's `id2label` sets its head's size, so it always does."""


class _ClassifierLoss(_HeadSizeKeywords, _RegressionHeadStart):
    """The loss of a classification head by `config.problem_type` (single-label, multi-label, or regression, with the
    regression head's start), for CiTrusForSequenceClassification and the fusion classifier alike: both configs
    have `num_labels` and `problem_type`, which is all it reads."""

    def compute_loss(self, logits: torch.Tensor, labels: torch.Tensor | ArrayLike) -> torch.Tensor:
        """The loss `forward` returns, by `config.problem_type` as in transformers (inferred from `labels` when unset,
        then stored on the config): cross-entropy, binary cross-entropy with logits, or mean squared error.

        Args:
            logits: `(batch_size, num_labels)`, the head's output.
            labels: `(batch_size,)` class indices (single-label), `(batch_size, num_labels)` multi-hot targets in
                [0, 1] (multi-label), or `(batch_size,)` / `(batch_size, num_labels)` targets (regression); a tensor,
                numpy array or list.

        Returns:
            The scalar loss (float32 or wider).

        Raises:
            ValueError: labels of another batch size or shape, fractional class indices or ones outside
                `[0, num_labels)`, multi-label targets outside [0, 1], or NaN / infinite labels.
        """
        loss = classification_loss(self.config, logits, labels)
        if self.config.problem_type == REGRESSION:  # set by now: inferred from the labels when it was unset
            self._check_target_offset(logits, labels)
        return loss

    def _check_regression_head(self) -> None:
        if self.config.problem_type != REGRESSION:
            raise ValueError(
                f"init_regressor_bias starts a regression head, and this classifier's problem_type is "
                f"{self.config.problem_type!r}; build it with problem_type='regression' (num_labels = targets) to "
                f"regress, or use {type(self).__name__.replace('ForSequenceClassification', 'ForRegression')}."
            )

    @classmethod
    def _check_head_keywords(cls, given: Collection[str], values: Mapping[str, Any]) -> None:
        """Refuse `num_targets` without the classes (`num_labels`, `id2label` or `label2id`): it is PatchTST's name for
        a classifier's classes, but CiTrus's for a regressor's outputs, so the classifier would keep the checkpoint's
        (or the default) class count without a word."""
        if "num_targets" in given and not {"num_labels", "id2label", "label2id"} & set(given):
            regressor = cls.__name__.replace("ForSequenceClassification", "ForRegression")
            raise ValueError(
                f"num_targets={values['num_targets']!r} sets the outputs of {regressor}; the classes of "
                f"{cls.__name__} are `num_labels` (PatchTST's classifiers call them num_targets): pass "
                f"num_labels={values['num_targets']!r} (with ignore_mismatched_sizes=True for a new head on a task "
                "checkpoint)."
            )


class _RegressorLoss(_HeadSizeKeywords, _RegressionHeadStart):
    """The loss of a regression head (`config.num_targets` outputs) and its start, for CiTrusForRegression and the
    fusion regressor alike."""

    def compute_loss(self, logits: torch.Tensor, labels: torch.Tensor | ArrayLike) -> torch.Tensor:
        """The mean squared error `forward` returns. On the first training batch of several examples it also warns,
        once, when the targets sit far from the predictions (see `init_regressor_bias`).

        Args:
            logits: `(batch_size, num_targets)`, the predictions.
            labels: `(batch_size,)` (one target) or `(batch_size, num_targets)` targets; a tensor, numpy array or
                list.

        Returns:
            The scalar loss (float32 or wider).

        Raises:
            ValueError: labels of another batch size or shape, or NaN / infinite labels.
        """
        loss = regression_loss(logits, labels)
        self._check_target_offset(logits, labels)
        return loss

    @classmethod
    def _check_head_keywords(cls, given: Collection[str], values: Mapping[str, Any]) -> None:
        """Refuse `num_labels` without `num_targets`: a regressor's outputs are `num_targets`, and the head would keep
        one output while the config recorded the classes (the mirror of the classifier's refusal of `num_targets`)."""
        if "num_labels" in given and "num_targets" not in given:
            classifier = cls.__name__.replace("ForRegression", "ForSequenceClassification")
            raise ValueError(
                f"num_labels={values['num_labels']!r} sets the classes of {classifier}; the outputs of {cls.__name__} "
                f"are `num_targets`: pass num_targets={values['num_labels']!r} (with ignore_mismatched_sizes=True for "
                "a new head on a task checkpoint)."
            )

    @classmethod
    def _check_output_names(cls, config: PreTrainedConfig) -> None:
        """A regressor's `id2label` names its targets (`config.target_names`): names of another count than
        `num_targets` are refused, on every route (the constructor, `from_pretrained`'s keywords or config, the Auto
        classes), since every one builds the model from the config. transformers' placeholders (`LABEL_0`, ...) name
        nothing and pass: they are every config's default, beside the default `num_targets`."""
        check_target_names(config, cls.__name__)


class CiTrusForSequenceClassification(_ClassifierLoss, _CiTrusForTask):
    """CiTrus with a linear classifier on pooled features: single-label, multi-label, or regression through
    `config.problem_type`, as in transformers. `forward(input_values, labels=None, patch_mask=None)` returns
    `logits` of shape `(batch_size, num_labels)`.

    Example:

    ```python
    >>> import torch
    >>> from citrus_hf import CiTrusConfig, CiTrusForSequenceClassification
    >>> model = CiTrusForSequenceClassification(CiTrusConfig(context_length=200, num_labels=3))
    >>> model(torch.randn(2, 1, 200), labels=torch.tensor([0, 2])).logits.shape
    torch.Size([2, 3])

    ```
    """

    head_name = "classifier"
    outputs_field = "num_labels"
    output_class = CiTrusSequenceClassifierOutput


class CiTrusForRegression(_RegressorLoss, _CiTrusForTask):
    """CiTrus with a linear regressor on pooled features: `config.num_targets` continuous outputs per window.
    `forward(input_values, labels=None, patch_mask=None)` returns `logits` (the predictions) of shape
    `(batch_size, num_targets)` and the mean squared error when `labels` are given.

    Example:

    ```python
    >>> import torch
    >>> from citrus_hf import CiTrusConfig, CiTrusForRegression
    >>> model = CiTrusForRegression(CiTrusConfig(context_length=200))
    >>> heart_rates = torch.tensor([61.0, 75.5])
    >>> model.init_regressor_bias(heart_rates)  # start at the targets' mean (a new head predicts about 0)
    >>> model(torch.randn(2, 1, 200), labels=heart_rates).loss.backward()

    ```
    """

    head_name = "regressor"
    outputs_field = "num_targets"
    output_class = CiTrusRegressionOutput

    def __init__(self, config: CiTrusConfig):
        self._check_config_class(config)  # (before its problem_type is read)
        if config.problem_type not in (None, REGRESSION):
            raise ValueError(
                f"CiTrusForRegression always trains as a regressor (mean squared error), but the config has "
                f"problem_type={config.problem_type!r}, a classification setting it would save and ignore: leave "
                "problem_type out (or pass 'regression'), or use CiTrusForSequenceClassification to classify."
            )
        super().__init__(config)

    @classmethod
    def _config_overrides_for(cls, pretrained_model_name_or_path, saved_config: dict, kwargs: dict) -> dict:
        """The base class's overrides; and a classifier's `problem_type` is not carried into a regressor built on its
        encoder (`replace_head=True`; without it, loading refuses the classifier, naming its class)."""
        kwargs = super()._config_overrides_for(pretrained_model_name_or_path, saved_config, kwargs)
        saved_problem = saved_config.get("problem_type")
        if saved_problem not in (None, REGRESSION) and "problem_type" not in kwargs and "config" not in kwargs:
            kwargs = {**kwargs, "problem_type": None}
        return kwargs


# `save_pretrained` copies this file and the configuration next to the weights and writes `auto_map`, so
# `AutoModel*.from_pretrained(path, trust_remote_code=True)` works where citrus_hf is not installed.
CiTrusConfig.register_for_auto_class()
CiTrusModel.register_for_auto_class("AutoModel")
CiTrusForPretraining.register_for_auto_class("AutoModelForPreTraining")
CiTrusForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")
# transformers has a time-series regression mapping but no Auto class over it; citrus_hf registers one under this
# name (`citrus_hf.AutoModelForTimeSeriesRegression`). `register_for_auto_class` accepts only transformers' own Auto
# classes, so the name is set directly: `auto_map` then points it at this class, and remote-code users load the
# regressor with `get_class_from_dynamic_module(config.auto_map["AutoModelForTimeSeriesRegression"], repo)`.
CiTrusForRegression._auto_class = "AutoModelForTimeSeriesRegression"

__all__ = [
    "CiTrusPreTrainedModel",
    "CiTrusModel",
    "CiTrusForPretraining",
    "CiTrusForSequenceClassification",
    "CiTrusForRegression",
    "CiTrusModelOutput",
    "CiTrusForPretrainingOutput",
    "CiTrusRegressionOutput",
    "CiTrusSequenceClassifierOutput",
    "CiTrusMasking",
    "CiTrusPretrainingHead",
    "PRETRAINING_HEADS",
    "classification_loss",
    "register_pretraining_head",
    "regression_loss",
]
