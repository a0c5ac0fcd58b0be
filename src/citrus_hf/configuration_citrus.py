"""CiTrus model configuration.

The configuration is the checkpoint's input contract as well as its architecture: a saved CiTrus model says which
sampling rate, window length, channels and normalisation it expects, so the feature extractor and the model card can
be derived from it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import json
import math
import numbers
import os
import re
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, ClassVar, NoReturn

from huggingface_hub.dataclasses import StrictDataclassClassValidationError, StrictDataclassFieldValidationError, strict
from transformers.configuration_utils import PreTrainedConfig
from transformers.utils import CONFIG_NAME, SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME, logging
from transformers.utils.hub import is_offline_mode, try_to_load_from_cache

from ._version import VERSION_KEY, __version__, newer_citrus_hf, newer_settings_message
from .vocabulary_citrus import (
    ATTENTION_TYPES,
    BACKBONES,
    CHANNEL_POOLINGS,
    CITRUS_MODEL_TYPE,
    ENCODER_ARCHITECTURES,
    FUSION_MODEL_TYPE,
    HEAD_FEATURES,
    MASK_MODES,
    NORM_TYPES,
    NORMALIZATIONS,
    POOLINGS,
    PRETRAINING_OBJECTIVES,
    PROBLEM_TYPES,
    REGRESSION,
    as_sampling_rate,
    counted,
)

logger = logging.get_logger(__name__)


def refuse_second_run(namespace: Mapping[str, Any]) -> None:
    """Refuse to run a model module of the installed package again (`importlib.reload`, IPython's autoreload), called
    with its `globals()` before it defines anything. transformers' Auto classes and the package's other modules hold
    the classes of its first run, and a second run rebinds the module's names to new classes they do not know: loading
    then failed for wrong reasons ("which AutoModel does not load", "model.safetensors is corrupt or truncated").
    Refused before anything is rebound, the module keeps the classes everyone uses. The same file run as a
    checkpoint's remote code (a module outside the package, which transformers runs again when the code changed) is
    left alone.

    Raises:
        ImportError: the module `namespace` belongs to has run before and is one of the installed package's.
    """
    name = namespace["__name__"]
    if name.partition(".")[0] != "citrus_hf":
        return
    if any(isinstance(value, type) and value.__module__ == name for value in namespace.values()):
        raise ImportError(
            f"{name} cannot be reloaded: transformers' Auto classes and citrus_hf's other modules keep the classes "
            "it defined first, so a reloaded copy would load checkpoints with classes nobody else knows. Its classes "
            "stay as they were; to use an edited file, restart the Python kernel (do not reload citrus_hf's model "
            "modules)."
        )


refuse_second_run(globals())

# The model code's module, as checkpoints' `auto_map` names it (the file `save_pretrained` copies beside the weights).
_MODELING_MODULE = "modeling_citrus"

# Numeric fields, checked and converted once in `__post_init__` (JSON, numpy scalars and keyword arguments all arrive
# here), so every later check, the model and the feature extractor can rely on plain finite Python numbers.
_INTEGER_FIELDS = (
    "context_length",
    "num_channels",
    "patch_length",
    "cnn_kernel_size",
    "d_model",
    "num_hidden_layers",
    "num_attention_heads",
    "ffn_dim",
    "num_channel_attention_heads",
    "mask_block_size",
    "spectrogram_n_fft",
    "num_targets",
)
_REAL_FIELDS = (
    "norm_eps",
    "hidden_dropout",
    "attention_dropout",
    "ffn_dropout",
    "head_dropout",
    "initializer_range",
    "mask_ratio",
    "channel_mask_ratio",
    "fourier_amplitude_weight",
    "frequency_loss_weight",
)


# The fields a pre-trained model's config takes when it is loaded for a new task without changing what its weights
# compute: the dropouts (regularisation while fine-tuning) and the new task head's (which features it reads, how it
# pools them, how it is initialised). The other fields fix the input contract or the architecture the weights were
# trained for, so a loaded model cannot take them (`citrus evaluate --config-overrides` names them for such arms).
LOADED_MODEL_FIELDS = frozenset(
    {
        "hidden_dropout",
        "attention_dropout",
        "ffn_dropout",
        "head_dropout",
        "initializer_range",
        "head_features",
        "pooling",
        "channel_pooling",
    }
)

# The transformers pipeline of each CiTrus class (`citrus_hf.inference.pipelines`): its task, the pipeline class, and
# the Auto class that loads the model for it as remote code. The one table of task <-> pipeline: saved checkpoints
# record it (`custom_pipelines`), the package registers its pipelines from it, and model cards take their
# `pipeline_tag` from it (`citrus_hf.loading.PIPELINE_TAGS`), so a card names the task its checkpoint runs.
PIPELINE_TASKS: dict[str, tuple[str, str, str]] = {
    "CiTrusForSequenceClassification": (
        "time-series-classification",
        "BioSignalClassificationPipeline",
        "AutoModelForSequenceClassification",
    ),
    "CiTrusForRegression": (
        "time-series-regression",
        "BioSignalRegressionPipeline",
        "AutoModelForTimeSeriesRegression",
    ),
    "CiTrusModel": ("time-series-feature-extraction", "BioSignalFeatureExtractionPipeline", "AutoModel"),
    "CiTrusForPretraining": ("time-series-feature-extraction", "BioSignalFeatureExtractionPipeline", "AutoModel"),
}


_time_series_regression_auto_class: type | None = None


def time_series_regression_auto_class(module_name: str = __name__) -> type:
    """`AutoModelForTimeSeriesRegression`: transformers keeps a time-series regression mapping (PatchTST and
    PatchTSMixer regressors) but no Auto class over it, so the package defines one, once per process. Defined here
    because this file is also remote code: without the package, `pipeline(model=regressor, trust_remote_code=True)`
    loads the config first, and `CustomPipelines` puts the class on the `transformers` module before transformers
    looks the name up there (`clean_custom_task`). `module_name` is where the class says it lives (the package passes
    the module that exports it). Imports torch (transformers' modeling_auto)."""
    global _time_series_regression_auto_class
    if _time_series_regression_auto_class is None:
        from transformers.models.auto import modeling_auto
        from transformers.models.auto.auto_factory import _BaseAutoModelClass

        class AutoModelForTimeSeriesRegression(_BaseAutoModelClass):
            """Loads the regressor of a time-series checkpoint (`CiTrusForRegression`, `CiTrusFusionForRegression`,
            `PatchTSTForRegression`, ...): `AutoModelForTimeSeriesRegression.from_pretrained(path)`. With
            `trust_remote_code=True` it follows the checkpoint's `auto_map["AutoModelForTimeSeriesRegression"]`."""

            _model_mapping = modeling_auto.MODEL_FOR_TIME_SERIES_REGRESSION_MAPPING

        AutoModelForTimeSeriesRegression.__module__ = module_name
        # pickle finds a class by module and qualified name (multiprocessing passes classes so): the module's own
        # attribute, not this function's local
        AutoModelForTimeSeriesRegression.__qualname__ = "AutoModelForTimeSeriesRegression"
        _time_series_regression_auto_class = AutoModelForTimeSeriesRegression
        import transformers.models.auto as auto_module

        # transformers' remote-code load calls `register_for_auto_class` with the Auto class, which accepts only names
        # `transformers.models.auto` holds: without this the first load raised "not a valid auto class", and
        # `pipeline` retried it in float32, dropping the `dtype` asked for
        if not hasattr(auto_module, "AutoModelForTimeSeriesRegression"):
            auto_module.AutoModelForTimeSeriesRegression = AutoModelForTimeSeriesRegression
    return _time_series_regression_auto_class


class CustomPipelines(dict):
    """`config.custom_pipelines`: task -> the pipeline code saved with the checkpoint (`pipelines.py`), which is how
    `transformers.pipeline(model=checkpoint)` finds the task without being told.

    transformers takes the task from this mapping, and for a task *in* it runs the checkpoint's own pipeline code,
    which needs `trust_remote_code=True`. When citrus_hf is installed and has registered its pipeline for the task
    with transformers, the package serves it instead, as transformers' Auto classes prefer registered classes to
    remote code: for such a task `in` answers False, so `pipeline(model=checkpoint)` works without remote code.
    Without the package, the saved code runs (with `trust_remote_code=True`); reading an entry that names the package's
    `AutoModelForTimeSeriesRegression` defines it in transformers first, so that transformers can load the
    model with it.
    """

    def __contains__(self, task: object) -> bool:
        return super().__contains__(task) and not _registered_by_package(task)

    def __getitem__(self, task):
        entry = super().__getitem__(task)
        if isinstance(entry, dict) and "AutoModelForTimeSeriesRegression" in (entry.get("pt") or ()):
            import transformers

            if not hasattr(transformers, "AutoModelForTimeSeriesRegression"):
                transformers.AutoModelForTimeSeriesRegression = time_series_regression_auto_class()
        return entry


def _registered_by_package(task: object) -> bool:
    pipelines = sys.modules.get("transformers.pipelines")
    registry = getattr(pipelines, "PIPELINE_REGISTRY", None)
    implementation = getattr(registry, "supported_tasks", {}).get(task, {}).get("impl")
    return getattr(implementation, "__module__", "").startswith("citrus_hf.")


def _pipeline_spec(architecture: str, problem_type: str | None) -> tuple[str, str, str] | None:
    if architecture == "CiTrusForSequenceClassification" and problem_type == REGRESSION:
        # a classifier trained as a regressor runs the regression pipeline, on the Auto class of its own class (its
        # `auto_map` has no AutoModelForTimeSeriesRegression: loading through it failed without the package)
        task, pipeline_class, _ = PIPELINE_TASKS["CiTrusForRegression"]
        return task, pipeline_class, PIPELINE_TASKS[architecture][2]
    return PIPELINE_TASKS.get(architecture)


def pipeline_task_for(architecture: str, problem_type: str | None = None) -> str | None:
    """The transformers pipeline task that runs a checkpoint saved from the class `architecture` (None: no pipeline):
    the task its `custom_pipelines` names and its model card's `pipeline_tag`."""
    spec = _pipeline_spec(architecture, problem_type)
    return None if spec is None else spec[0]


def custom_pipelines_for(architecture: str, problem_type: str | None = None) -> CustomPipelines:
    """The `custom_pipelines` entry of a checkpoint saved from the class `architecture` (empty for classes without a
    pipeline), in the format transformers' `Pipeline.save_pretrained` writes."""
    spec = _pipeline_spec(architecture, problem_type)
    return CustomPipelines() if spec is None else custom_pipelines_entry(*spec)


def custom_pipelines_entry(task: str, pipeline_class: str, auto_class: str) -> CustomPipelines:
    """`custom_pipelines` naming the class `pipeline_class` of the saved `pipelines.py` for `task`, its model loaded
    with transformers' `auto_class` (as `Pipeline.save_pretrained` writes it; the single-modality and fusion
    checkpoints' entries alike)."""
    return CustomPipelines({task: {"impl": f"pipelines.{pipeline_class}", "pt": [auto_class]}})


def embedding_pipelines_kept(config: Any, architecture: str) -> CustomPipelines | None:
    """`config.custom_pipelines` where the feature-extraction pipeline saved them over a model of the class
    `architecture` (`BioSignalFeatureExtractionPipeline.save_pretrained`: the embedding task alone, loaded with that
    class's own Auto class), which publishing that folder keeps, since the model's own `save_pretrained` records its
    class's task; None otherwise. An encoder's entry left in the config of a task model fine-tuned from it names
    `AutoModel` (not a task class's Auto class), and says nothing of the task the model was saved for. `config`: a
    config, or a saved config.json's dict (`pipeline(model=folder)` reads the task from it, as publishing does)."""

    def field(name: str) -> Any:
        return config.get(name) if isinstance(config, Mapping) else getattr(config, name, None)

    entries = dict(field("custom_pipelines") or {})
    embeds = pipeline_task_for("CiTrusModel")
    own = custom_pipelines_for(architecture, field("problem_type"))
    if list(entries) != [embeds] or not own or list(own) == [embeds]:
        return None
    entry = entries[embeds]
    auto_classes = entry.get("pt") if isinstance(entry, dict) else None
    return CustomPipelines(entries) if auto_classes == next(iter(own.values()))["pt"] else None


# What a Hub model id looks like ("name" or "owner/name"): a string that is neither an existing path nor such an id is
# a mistyped path.
_HUB_REPO_ID = re.compile(r"[A-Za-z0-9_][\w.-]*(/[A-Za-z0-9_][\w.-]*)?")


def check_checkpoint_reference(name_or_path: Any) -> None:
    """Refuse a string that is neither an existing path nor a Hub model id (`"name"` or `"owner/name"`): a mistyped
    path, which transformers would report as a malformed repo id ("Repo id must be in the form ...") instead.

    Raises:
        FileNotFoundError: naming the path and the fix.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        return
    name = str(name_or_path)
    if os.path.exists(name) or (_HUB_REPO_ID.fullmatch(name) and ".." not in name):
        return
    raise FileNotFoundError(
        f"No checkpoint folder {name!r}: the path does not exist, and it is not a Hub model id such as "
        "'owner/name' either. Check the path (relative paths start from the current directory)."
    )


# The keywords transformers' loaders take to fetch a checkpoint's files (`from_pretrained`'s Hub arguments, which
# `cached_file` takes): passed on where the package reads a checkpoint's files itself.
DOWNLOAD_ARGUMENTS = ("cache_dir", "force_download", "proxies", "token", "revision", "local_files_only", "subfolder")
# Those and the remote-code ones: the loading options a misspelt keyword is checked against (`check_loading_options`).
LOADING_OPTIONS = frozenset((*DOWNLOAD_ARGUMENTS, "trust_remote_code", "code_revision"))
# What other libraries (sentence-transformers' cache_folder, transformers 4's use_auth_token, which 5 drops) or habit
# call a loading option: too far from it for `difflib`, and dropped by transformers without a word, as a misspelling is.
# None is a keyword transformers' loaders take, nor close to one (the keys are matched as misspellings are, so
# `remote_code` caught transformers' `is_remote_code`; a test checks `from_pretrained`'s and the config's names).
LOADING_OPTION_ALIASES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("cache_folder", "cache_directory", "cache_path"), ("cache_dir",)),
    **dict.fromkeys(("use_auth_token", "auth_token", "hf_token", "access_token"), ("token",)),
    **dict.fromkeys(("revision_id", "commit_hash", "branch"), ("revision",)),
    "proxy": ("proxies",),
    "local_files": ("local_files_only",),
    **dict.fromkeys(("subdir", "sub_dir", "subdirectory"), ("subfolder",)),
}


def check_loading_options(loader: str, names: Iterable[Any]) -> None:
    """Refuse keywords close to a loading option (`revison`, `local_file_only`, `cachedir`) or another library's name
    for one (`cache_folder`, `use_auth_token`: `LOADING_OPTION_ALIASES`): transformers' config and
    feature-extractor loaders drop a keyword they do not know without a word, so a misspelt revision loaded the
    default branch. `loader` names the method in the message (`"CiTrusConfig.from_pretrained"`).

    Raises:
        ValueError: naming each such keyword and the option it may mean.
    """
    options, aliases = LOADING_OPTIONS, LOADING_OPTION_ALIASES
    misspelt = misspelt_names([name for name in names if isinstance(name, str)], options, aliases)
    if misspelt:
        hints = ", ".join(field_hint(name, options, aliases) for name in misspelt)
        raise ValueError(
            f"{hints} {'are not loading options' if len(misspelt) > 1 else 'is not a loading option'} of {loader}, "
            "which would ignore it (a misspelt revision loads the default branch): spell it as the option."
        )


def lookup_checkpoint(
    owner: type, lookup: Callable[..., Any], name_or_path: Any, filename: str = "config.json", /, **kwargs
) -> Any:
    """`lookup(name_or_path, **kwargs)` (transformers' `get_config_dict` or `get_feature_extractor_dict`) for a class
    with the package's hooks: `owner._checkpoint_locator` turns a bundled checkpoint's name into its folder, a
    mistyped path is refused first (`check_checkpoint_reference`), and when the lookup fails `owner._typo_hint`
    adds the bundled name it may be a typo of ("citrus-smal"). Both hooks are None in remote code. A keyword close
    to a loading option (`revison`) is refused (`check_loading_options`). `filename`: the file `lookup` reads from a
    Hub repository (config.json, preprocessor_config.json), which names it where the repository's copy is damaged."""
    check_loading_options(f"{owner.__name__}.from_pretrained", kwargs)
    locator = owner._checkpoint_locator
    if locator is not None and isinstance(name_or_path, str):
        name_or_path = str(locator(name_or_path) or name_or_path)
    check_checkpoint_reference(name_or_path)
    subfolder = kwargs.get("subfolder")
    if subfolder and isinstance(name_or_path, (str, os.PathLike)) and os.path.isdir(name_or_path):
        if not os.path.isdir(os.path.join(name_or_path, subfolder)):  # else transformers would blame the network
            raise missing_subfolder_error(name_or_path, subfolder)
    try:
        return lookup(name_or_path, **kwargs)
    except OSError as error:
        damaged = error.__context__
        # (a local file or folder is named by transformers as the user gave it: `from_pretrained("my_config.json")`)
        if isinstance(damaged, (json.JSONDecodeError, UnicodeDecodeError)) and not os.path.exists(name_or_path):
            # transformers' "It looks like the config file at '<cache path>' is not a valid JSON file." (the
            # lookups' error; `_configuration_file`: transformers' name for another config file)
            filename = kwargs.get("_configuration_file") or filename
            raise unparsable_hub_file_error(name_or_path, filename, kwargs, damaged) from None
        raise_if_uncached_offline(error, name_or_path, kwargs.get("_configuration_file") or filename, kwargs)
        unanswered = hub_did_not_answer_error(error, name_or_path, kwargs)
        raise_with_hint(unanswered or error, owner._typo_hint(name_or_path) if owner._typo_hint is not None else "")


class MissingSubfolderError(OSError):
    """`from_pretrained(folder, subfolder=...)` of a local folder without that subfolder: said as it is, never
    replaced by a hint about the network (`missing_subfolder_error`)."""


def checkpoint_read(name_or_path: str | os.PathLike, subfolder: str | None = None) -> str:
    """The folder (or Hub id and path in it) that `from_pretrained(name_or_path, subfolder=subfolder)` reads, as
    messages name it: `subfolder` joined on, where messages named the parent whose `run/` held the faulty file."""
    return os.path.join(os.fspath(name_or_path), subfolder) if subfolder else os.fspath(name_or_path)


def missing_subfolder_error(folder: str | os.PathLike, subfolder: str) -> MissingSubfolderError:
    """The refusal of `from_pretrained(folder, subfolder=...)` where the local `folder` (a bundled checkpoint's too)
    has no such subfolder, naming the ones it has."""
    subfolders = sorted(entry.name for entry in os.scandir(folder) if entry.is_dir())
    return MissingSubfolderError(
        f"{os.fspath(folder)!r} has no subfolder {subfolder!r}"
        + (f" (its subfolders: {subfolders[:10]})" if subfolders else "; it has no subfolders")
        + ": pass one that holds the checkpoint's files, or leave `subfolder` out."
    )


# The file of git attributes every repository created on the Hub holds (`offline_cache_lacks`).
_GIT_ATTRIBUTES = ".gitattributes"


def offline_cache_lacks(name_or_path: Any, filename: str, lookup: Mapping[str, Any]) -> bool:
    """Whether the file `filename` of the Hub repository `name_or_path` (in the `subfolder`, at the `revision` and in
    the `cache_dir` of the `from_pretrained` keywords `lookup`) is missing only from the offline Hub cache: offline mode
    is on (HF_HUB_OFFLINE=1 or `local_files_only`), `name_or_path` is a Hub id (no local path), and the cache holds
    neither the file nor huggingface_hub's record that the repository has none, nor the whole repository (a
    `snapshot_download` of it, which would have fetched the file). The cache holds the files that were downloaded,
    one by one (`AutoModel.from_pretrained` fetches the config and the weights only), so such a file is no sign of an
    incomplete checkpoint."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        return False
    name = os.fspath(name_or_path)
    if not (lookup.get("local_files_only") or is_offline_mode()) or name.count("/") != 1 or os.path.exists(name):
        return False
    in_repo = "/".join(filter(None, (lookup.get("subfolder"), filename)))
    try:
        cached = try_to_load_from_cache(
            name, in_repo, cache_dir=lookup.get("cache_dir"), revision=lookup.get("revision")
        )
        # `.gitattributes`, which every repository created on the Hub holds and no loader reads, is in the cache only
        # when the whole repository was downloaded (`huggingface_hub.snapshot_download(repo_id)`, which fetches every
        # file): then the repository has no such file, and "never downloaded" would send the user to download again
        downloaded_whole = isinstance(
            try_to_load_from_cache(
                name, _GIT_ATTRIBUTES, cache_dir=lookup.get("cache_dir"), revision=lookup.get("revision")
            ),
            str,
        )
    except Exception:  # an id the Hub refuses: no repository to look up
        return False
    return cached is None and not downloaded_whole


def revision_given(revision: str | None) -> str | None:
    """The revision a message names: the one the user typed, None where none was given. transformers' loaders pass a
    revision on as huggingface_hub's `ResolvedRevision`, a `str` whose repr is no revision
    ("ResolvedRevision(initial='main', resolved='<commit>')") and whose text is "main" where none was asked for
    (`initial=None`): a message naming "(revision 'main')" then names a revision the user never typed."""
    if revision is None or getattr(revision, "initial", "") is None:
        return None
    return str(revision) or None


# the optional parameters of transformers' `from_pretrained` methods, in the order they may be given by position
FROM_PRETRAINED_POSITIONAL = ("cache_dir", "force_download", "local_files_only", "token", "revision")


def positional_loading_options(method: str, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` with the options given by position to `method` (a `from_pretrained` not built on transformers' own)
    named as transformers' `from_pretrained` takes them (`FROM_PRETRAINED_POSITIONAL`), in place: a caller's habit
    `from_pretrained(name, cache_dir)` works as on every transformers class. More, or one given twice, is refused as
    Python refuses it."""
    if len(args) > len(FROM_PRETRAINED_POSITIONAL):
        raise TypeError(
            f"{method}() takes at most {len(FROM_PRETRAINED_POSITIONAL) + 1} positional arguments (the checkpoint "
            f"and {', '.join(FROM_PRETRAINED_POSITIONAL)}) but {len(args) + 1} were given."
        )
    for name, value in zip(FROM_PRETRAINED_POSITIONAL, args):
        if name in kwargs:
            raise TypeError(f"{method}() got multiple values for argument {name!r}.")
        kwargs[name] = value
    return kwargs


def default_revision_unset(args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """`from_pretrained` keywords `kwargs` holding `revision=None` where none was given, in place: transformers'
    `from_pretrained` methods default to "main", which reaches the package's messages as if typed (`revision_given`);
    None loads the same default branch. `args`: the parameters given by position after the checkpoint's name
    (`FROM_PRETRAINED_POSITIONAL`), which transformers' signature takes and which may hold the revision itself."""
    if "revision" not in FROM_PRETRAINED_POSITIONAL[: len(args)]:
        kwargs.setdefault("revision", None)
    return kwargs


def looks_like_a_path(name: str) -> bool:
    """Whether the checkpoint name `name`, which names no folder, reads as a mistyped local path rather than a Hub id:
    it starts with ./ ../ ~ or /, holds a path separator beyond the one of "owner/name" (or a Windows one), or its
    parent names an existing folder ("data/ckp" beside a data/ folder)."""
    if name in (".", "..") or name.startswith(("./", "../", "~")) or os.path.isabs(name):
        return True
    if name.count("/") > 1 or "\\" in name:  # (a backslash is in no Hub id)
        return True
    parent = os.path.dirname(name)
    return bool(parent) and os.path.isdir(parent)


def uncached_offline_error(
    name_or_path: Any, filename: str, revision: str | None = None, subfolder: str | None = None
) -> OSError:
    """The error for a file that the offline Hub cache of `name_or_path` lacks (`offline_cache_lacks`), in its
    `subfolder` (named: the file missing is that folder's, not the root's) and at its `revision`. The cache
    holds the files that were downloaded, no list of the repository's: `AutoModel.from_pretrained` fetches the config
    and weights, and `snapshot_download(allow_patterns=...)` the files matching its patterns, which leaves open
    whether the repository has the file at all; the message says both. A Hub id has the shape of a relative path
    ("data/ckpt"), so a mistyped local folder reaches here too: where no folder of that name exists, the message says
    so, relative to the working folder it names, where the name is a `PathLike` or looks like a path
    (`looks_like_a_path`): of a plain Hub id ("owner/name", "bert-base-uncased") that sentence was noise."""
    shown = os.fspath(name_or_path)
    where = hub_source_shown(shown, subfolder, revision)
    no_folder = ""
    # (a `pathlib.Path` is a local path by its type, whatever its text reads as)
    if not os.path.isdir(shown) and (isinstance(name_or_path, os.PathLike) or looks_like_a_path(shown)):
        relative_to = "" if os.path.isabs(shown) else f" in the working folder {os.getcwd()!r}"
        no_folder = f" No folder {shown!r} exists{relative_to} either: if a local checkpoint was meant, check its path."
    return OSError(
        f"The Hub cache holds no {filename} of {where}, and offline mode is on (HF_HUB_OFFLINE=1 or "
        "local_files_only=True): the cache holds only the files that were downloaded (`AutoModel.from_pretrained` "
        "fetches the config and weights, not the extractor or processor; `snapshot_download(allow_patterns=...)` "
        "only the files that match), so it was never downloaded or the repository has none. Download the whole "
        f"repository once while online (unset HF_HUB_OFFLINE): `huggingface_hub.snapshot_download({shown!r})`, without "
        "allow_patterns; or pass a local checkpoint folder (to a pipeline, or `feature_extractor=`)." + no_folder
    )


def raise_if_uncached_offline(error: OSError, name_or_path: Any, filename: str, lookup: Mapping[str, Any]) -> None:
    """Raise `uncached_offline_error` for transformers' error `error` ("We couldn't connect to 'https://huggingface.co'
    ... see how to run the library in offline mode", about a network the user turned off) where the lookup of the file
    `filename` of the Hub id `name_or_path` (the `from_pretrained` keywords `lookup`) never reached the Hub and the
    offline cache lacks it (`offline_cache_lacks`); return otherwise, the caller's error then standing."""
    if lookup_never_reached_the_hub(error) and offline_cache_lacks(name_or_path, filename, lookup):
        raise uncached_offline_error(name_or_path, filename, lookup.get("revision"), lookup.get("subfolder")) from error


def hub_did_not_answer_message(name_or_path: Any, what: str = "") -> str:
    """What a CiTrus class says when it cannot load (`what` of, "the feature extractor of ", where the whole
    checkpoint is not meant) `name_or_path` because it is no local folder, the Hugging Face cache lacks it and the
    Hub did not answer (online, no network): transformers' models and configs said "We couldn't connect to ... see
    how to run the library in offline mode", its extractors "make sure ... is the correct path to a directory",
    neither naming the fix."""
    return (
        f"Can't load {what}{os.fspath(name_or_path)!r}: it is no local folder, its files are not in the Hugging "
        "Face cache, and the Hub did not answer. Check the network connection (and HF_ENDPOINT / HF_HUB_OFFLINE), or "
        "pass the path of a local copy of the checkpoint."
    )


def hub_did_not_answer_error(error: OSError, name_or_path: Any, lookup: Mapping[str, Any]) -> OSError | None:
    """The error (`hub_did_not_answer_message`, caused by `error`) for transformers' error `error` where the lookup of
    the checkpoint `name_or_path` (the `from_pretrained` keywords `lookup`) found its file neither in the cache nor on
    a Hub that, online, did not answer (`lookup_never_reached_the_hub`); None otherwise: offline,
    `raise_if_uncached_offline` says what the cache lacks, and a Hub that answered (a missing repository, a file it
    lacks) keeps the caller's error."""
    if not isinstance(name_or_path, (str, os.PathLike)) or os.path.exists(name_or_path):
        return None
    if lookup.get("local_files_only") or is_offline_mode() or not lookup_never_reached_the_hub(error):
        return None
    unanswered = OSError(hub_did_not_answer_message(name_or_path))
    unanswered.__cause__ = error  # (the chain tells callers the Hub was never reached: `lookup_never_reached_the_hub`)
    return unanswered


def hub_source_shown(repo_id: str | os.PathLike, subfolder: str | None = None, revision: str | None = None) -> str:
    """A Hub repository as messages name it, as the user gave it: "'owner/name' (subfolder 'ecg', revision 'dev')";
    no revision where none was typed (`revision_given`)."""
    given = (("subfolder", subfolder), ("revision", revision_given(revision)))
    details = [f"{kind} {str(value)!r}" for kind, value in given if value]
    return repr(os.fspath(repo_id)) + (f" ({', '.join(details)})" if details else "")


def hub_file_shown(
    filename: str, repo_id: str | os.PathLike, subfolder: str | None = None, revision: str | None = None
) -> str:
    """A file of a Hub repository as messages name it ("config.json of 'owner/name' (subfolder 'ecg')"), not by its
    path in the Hub cache, a folder the user never typed."""
    return f"{filename} of {hub_source_shown(repo_id, subfolder, revision)}"


def unparsable_hub_file_error(
    name_or_path: str | os.PathLike, filename: str, lookup: Mapping[str, Any], cause: BaseException
) -> OSError:
    """The error for the file `filename` of the Hub repository `name_or_path` (in the `subfolder`, at the `revision`
    of the `from_pretrained` keywords `lookup`) that is not valid JSON (`cause`: the decoder's error), naming the
    repository as given: transformers named the file's path in the Hub cache, a folder the user never typed."""
    shown = hub_file_shown(filename, name_or_path, lookup.get("subfolder"), lookup.get("revision"))
    return OSError(
        f"{shown} is not valid JSON ({cause}): the repository's copy is damaged or was edited by hand. Fix it there, "
        "or publish the checkpoint again (`push_to_hub`, which writes it with `save_pretrained`)."
    )


def check_save_directory(save_directory: str | os.PathLike, argument: str = "save_directory") -> None:
    """Refuse a folder to save into that is a file, or lies under one (`model.save_pretrained("run/model.safetensors")`,
    the weights file given for its folder): transformers' models only logged that and returned without saving, its
    configs and extractors failed on an AssertionError, and `mkdir` on a FileExistsError. Nothing is created.
    `argument` names the parameter in the message.

    Raises:
        ValueError: naming the file and asking for a folder.
    """
    path = os.path.abspath(os.path.expanduser(os.fspath(save_directory)))
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if os.path.isdir(existing):
        return
    problem = "is a file" if existing == path else f"cannot be created: {existing!r} is a file"
    raise ValueError(f"`{argument}` ({os.fspath(save_directory)}) {problem}; give a folder.")


class ChecksSaveDirectory:
    """Mixin of the classes whose `save_pretrained(save_directory, ...)` writes into a folder (the configs, the feature
    extractor, the models): a file given for the folder is refused first (`check_save_directory`)."""

    def save_pretrained(self, save_directory: str | os.PathLike, *args, **kwargs):
        """The next class's `save_pretrained`, after refusing a `save_directory` that is (or lies under) a file."""
        check_save_directory(save_directory)
        return super().save_pretrained(save_directory, *args, **kwargs)


class SerialisesBeforeWriting:
    """Mixin of the classes saved as one JSON file by `to_json_file` (the configs, the feature extractor, the fusion
    processor): the text is made before the file is opened. transformers opens the file first, so a setting JSON
    cannot hold left an empty config.json behind (and no weights), which the next `from_pretrained` called "not a
    valid JSON file"; now the save fails naming the setting, and leaves the file as it was."""

    # Whether the file records the citrus-hf that wrote it (`_version.VERSION_KEY`): a reader then tells a newer
    # version's settings from keys no version knows. Set by the classes whose readers check (config, extractor).
    records_citrus_version: ClassVar[bool] = False

    def to_json_file(self, json_file_path: str | os.PathLike, *args, **kwargs) -> None:
        """Write `to_json_string(*args, **kwargs)` to `json_file_path`, once the text is made (with the citrus-hf
        version that wrote it, `records_citrus_version`).

        Raises:
            TypeError: a setting holds a value JSON cannot write, naming it and the fix.
        """
        try:
            text = self.to_json_string(*args, **kwargs)
            if self.records_citrus_version:  # (in the file only: no dict of the object holds it)
                text = json.dumps({**json.loads(text), VERSION_KEY: __version__}, indent=2, sort_keys=True) + "\n"
        except TypeError as error:  # json's "Object of type X is not JSON serializable", which names no setting
            unwritable = []
            for name, value in self.to_dict().items():
                try:
                    json.dumps(value)
                except (TypeError, ValueError):
                    unwritable.append(name)
            raise TypeError(
                f"{type(self).__name__} cannot be saved: {', '.join(map(repr, unwritable)) or 'a setting'} holds a "
                f"value JSON cannot write ({error}); set it to plain numbers, strings, lists or dicts."
            ) from error
        with open(json_file_path, "w", encoding="utf-8") as writer:
            writer.write(text)


# The checkpoint whose config.json is being read (`from_pretrained`'s name or folder; AutoConfig's, which
# `citrus_hf._auto` sets), so that the warning of a newer citrus-hf's settings can name it: `from_dict` is given the
# file's contents alone.
_READING_CONFIG_OF: ContextVar[str | None] = ContextVar("citrus_config_reading_of", default=None)


@contextlib.contextmanager
def reading_config_of(name_or_path: Any, kwargs: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Within it, a config built from saved values (`from_dict`) is read from the checkpoint `name_or_path` (a folder
    or Hub id; `kwargs`, the load's other keywords, are taken for the signature of `_auto`'s `around` hooks)."""
    subfolder = (kwargs or {}).get("subfolder")
    named = checkpoint_read(name_or_path, subfolder) if isinstance(name_or_path, (str, os.PathLike)) else None
    token = _READING_CONFIG_OF.set(named)
    try:
        yield
    finally:
        _READING_CONFIG_OF.reset(token)


# False while a config.json is read only to check something against it (the fusion processor reads its model's): the
# newer-version warning is said where the config itself is loaded, not again on each such read.
_SAY_NEWER_SETTINGS: ContextVar[bool] = ContextVar("citrus_say_newer_settings", default=True)


@contextlib.contextmanager
def newer_settings_unsaid() -> Iterator[None]:
    """Within it, configs read from a newer citrus-hf's files do not warn of its settings (`say_newer_settings`)."""
    token = _SAY_NEWER_SETTINGS.set(False)
    try:
        yield
    finally:
        _SAY_NEWER_SETTINGS.reset(token)


class ReadsVersionRecord:
    """Mixin of the configs whose config.json records the citrus-hf that wrote it (`_version.VERSION_KEY`, written by
    `SerialisesBeforeWriting.to_json_file`): reading the file takes the record out (`without_version_record`) and
    warns of the settings a newer citrus-hf wrote, naming the checkpoint where the load gives it (`from_pretrained`
    here, AutoConfig's through `reading_config_of`); no dict of the config holds the record (`to_dict`)."""

    records_citrus_version: ClassVar[bool] = True

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *args, **kwargs):
        """`PreTrainedConfig.from_pretrained`, reading the file as `pretrained_model_name_or_path`'s
        (`reading_config_of`). A model's `from_pretrained` loads its config through this one."""
        with reading_config_of(pretrained_model_name_or_path, kwargs):
            return super().from_pretrained(pretrained_model_name_or_path, *args, **default_revision_unset(args, kwargs))

    @classmethod
    def without_version_record(cls, config_dict: dict[str, Any]) -> dict[str, Any]:
        """`config_dict` (a saved config.json's contents) without the citrus-hf version it records, a record of the file
        and not a setting, after warning of the settings a newer citrus-hf wrote in it (`say_newer_settings`)."""
        if VERSION_KEY not in config_dict:
            return config_dict
        config_dict = dict(config_dict)
        cls.say_newer_settings(config_dict, newer_citrus_hf(config_dict.pop(VERSION_KEY)))
        return config_dict

    @classmethod
    def say_newer_settings(cls, config_dict: Mapping[str, Any], newer: str | None) -> None:
        """Warn when a config.json that citrus-hf `newer` (a newer release than this one; None: not newer) wrote
        holds keys this version does not know: settings of that version, which this one ignores (the model is built
        without them) until citrus-hf is upgraded. Keys that no version wrote stay silent (metadata people add)."""
        if newer is None or not _SAY_NEWER_SETTINGS.get():
            return
        unknown = cls.unknown_setting_names(config_dict)
        if unknown:
            source = _READING_CONFIG_OF.get()
            file = "This checkpoint's config.json" if source is None else f"The config.json of {source!r}"
            logger.warning(
                newer_settings_message(file, newer, unknown, "ignores them", "load the model as it was saved")
            )

    @classmethod
    def unknown_setting_names(cls, config_dict: Mapping[str, Any]) -> list[str]:
        """The keys of a saved `config_dict` that this version's config does not know, as messages show them
        (`'name'`), sorted; private keys (`_...`) are left out."""
        known = config_field_names(cls) | set(PreTrainedConfig().to_dict()) | {"auto_map", "custom_pipelines"}
        return [repr(key) for key in sorted(config_dict) if key not in known and not key.startswith("_")]

    def to_dict(self) -> dict[str, Any]:
        """`PreTrainedConfig.to_dict`, without the citrus-hf version a saved file records (`_version.VERSION_KEY`,
        which `CiTrusConfig(**json)` keeps as an attribute): a record of the file, written by `to_json_file`, that
        would otherwise enter run signatures and cache keys."""
        output = super().to_dict()
        output.pop(VERSION_KEY, None)
        return output


def file_for_folder_error(path: str | os.PathLike, holds: str) -> OSError:
    """The refusal of a file given where a loader takes a folder (`from_pretrained("run/model.safetensors")`), which
    transformers took for a malformed Hub id; `holds` says what the folder holds (`"config.json and ..."`)."""
    return OSError(f"{os.fspath(path)!r} is a file; pass the folder that holds {holds}.")


def dangling_links_error(folder: str | os.PathLike) -> OSError | None:
    """The refusal of a local checkpoint `folder` whose config.json is a link that leads nowhere: a Hub cache snapshot
    (each file a relative link into the cache's `blobs/`) moved out of the cache, or copied with `cp -r`, which keeps
    the links. Every loader called it a folder "without config.json", which `ls` shows there. None otherwise."""
    config = os.path.join(os.fspath(folder), CONFIG_NAME)
    if not os.path.islink(config) or os.path.exists(config):
        return None
    return OSError(
        f"{os.fspath(folder)!r}: its {CONFIG_NAME} is a link to {os.readlink(config)!r}, which leads nowhere: the "
        "folder is a Hub cache snapshot moved or copied away from the cache's blobs/ that its files link to. Copy it "
        "with the files themselves (`cp -rL`), or download the checkpoint as plain files with "
        "`huggingface_hub.snapshot_download(repo_id, local_dir=folder)`, or load it by its Hub id."
    )


def fusion_checkpoint_error(name_or_path: Any, config_dict: dict[str, Any]) -> ValueError:
    """The refusal of a fusion checkpoint (`config_dict` its config.json) where a single-modality CiTrus one belongs,
    naming the routes that read it."""
    name = str(name_or_path)
    return ValueError(
        f"{name!r} holds a {FUSION_MODEL_TYPE!r} checkpoint (saved as {config_dict.get('architectures')}), which is a "
        "fusion checkpoint; take one of its encoders out with "
        f"`CiTrusFusionForSequenceClassification.load_encoder({name!r}, modality)` (its `.config` is that encoder's "
        "CiTrusConfig), or load it whole with the class it was saved from (its config: "
        f"`CiTrusFusionConfig.from_pretrained({name!r})`)."
    )


def raise_with_hint(error: OSError, hint: str) -> NoReturn:
    """Raise `error` again, as an `OSError` whose message ends with the sentence `hint` when there is one and the
    message does not hold it yet (an Auto class calls AutoConfig's loader, which may have added it)."""
    if not hint or hint in str(error):
        raise error
    text = str(error).rstrip()
    raise OSError(text + ("" if text.endswith((".", "?", "!")) else ".") + hint) from error


def request_got_no_answer(error: BaseException) -> bool:
    """Whether a Hub request failed before any answer came (no network, a refused or timed-out connection, no DNS,
    offline mode): `ConnectionError` / `TimeoutError` (huggingface_hub's offline error is one) or the HTTP clients' own
    exception types, which are not `OSError`s. (An answer, even a refusal, is huggingface_hub's `HfHubHTTPError`, which
    `data.hub_access.no_answer_from_hub` tells apart where huggingface_hub may be imported.)"""
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    return type(error).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "httpcore2", "requests", "urllib3")


def lookup_never_reached_the_hub(error: BaseException) -> bool:
    """Whether `error` (transformers' OSError for a file it could not get) comes from a lookup that found the file
    neither on the Hub nor in the cache without an answer from the Hub: no network, or offline mode. A second lookup
    that only adds a hint (an adapter, a fusion checkpoint) then reads the cache only: asking the Hub again would wait
    out huggingface_hub's retries once more (23 s on a refused connection) before the same error."""
    from transformers.utils import hub

    not_reached = getattr(hub, "LocalEntryNotFoundError", None)  # huggingface_hub's, as transformers imports it
    cause, depth = error, 0
    while cause is not None and depth < 8:
        if not_reached is not None and isinstance(cause, not_reached):
            return True
        cause, depth = cause.__cause__ or cause.__context__, depth + 1
    return False


# The pre-training objectives whose target is a spectrogram (`spectrogram_n_fft` sets its STFT window).
SPECTROGRAM_OBJECTIVES = ("spectrogram",)


def default_spectrogram_n_fft(patch_length: int, at_least: int = 40) -> int:
    """The smallest STFT window of at least `at_least` samples whose frames are centred on patches of `patch_length`
    (at least `patch_length` long and of its parity); with the paper's 40, what a config without `spectrogram_n_fft`
    gets."""
    n_fft = max(at_least, patch_length)
    return n_fft + (n_fft - patch_length) % 2


# The objectives a config may name beyond the package's own (`vocabulary_citrus.PRETRAINING_OBJECTIVES`, extended
# by `allow_pretraining_objective`): those a saved config read in this process names without this installation
# registering them (an extension's objective not imported, or one of a newer citrus-hf). Such a checkpoint loads with
# the name kept, since the encoder and the task models need no pre-training head; `CiTrusForPretraining`, which does,
# refuses it (`unregistered_objective_message`).
_SAVED_UNREGISTERED_OBJECTIVES: set[str] = set()


def allow_pretraining_objective(name: str) -> None:
    """Let configs name the pre-training objective `name`: what `modeling_citrus.register_pretraining_head` calls
    when it registers the objective's head (this file must not import the model file), so that one registration makes
    an objective of one's own usable."""
    global PRETRAINING_OBJECTIVES
    if name not in PRETRAINING_OBJECTIVES:
        PRETRAINING_OBJECTIVES = (*PRETRAINING_OBJECTIVES, name)


def unregistered_objective_message(objective: str) -> str:
    """What a model that needs the head of `objective` says when no head of that name is registered."""
    return (
        f"The config names the pre-training objective {objective!r}, which this installation does not register: the "
        "checkpoint was pre-trained with an extension's objective (import the code that registers its head with "
        "citrus_hf.modeling_citrus.register_pretraining_head before loading it) or with one of a newer citrus-hf "
        "(upgrade citrus-hf). Its encoder loads without the head: CiTrusModel, CiTrusForSequenceClassification and "
        "CiTrusForRegression take it as it is."
    )


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"`{name}={value!r}` is not supported; choose one of {', '.join(repr(c) for c in choices)}.")


@functools.cache
def config_field_names(config_class: type[PreTrainedConfig]) -> frozenset[str]:
    """Every field of `config_class` (its own and `PreTrainedConfig`'s: id2label, problem_type, ...) and the settable
    properties keyword arguments may set (num_labels, ...)."""
    settable = {name for name, value in vars(PreTrainedConfig).items() if isinstance(value, property) and value.fset}
    names = {field.name for field in dataclasses.fields(config_class)} | settable
    # private attributes set through a public keyword (`attn_implementation=` sets `_attn_implementation`)
    return frozenset(names | {name.lstrip("_") for name in names})


def closest_field_hint(name: str, fields: frozenset[str]) -> str:
    """`'d_modle' (did you mean 'd_model'?)`, or just `'name'` when no field is close."""
    close = difflib.get_close_matches(name, fields, 1)
    return f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)


# What other models (audio, vision, PatchTST, PyTorch's own layers) call a CiTrus config field: names too far from the
# field for `difflib` to catch, which `PreTrainedConfig` would keep as extra attributes while the default was used
# (`sample_rate=250` building a 100 Hz model). Each maps to the field(s) it may mean; an entry may say how to use the
# field after its name (`"normalization_mean, with normalization='fixed'"`: the field is the name it starts with), where
# the other library's setting is a switch or a value of the CiTrus one.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "sample_rate": ("sampling_rate",),
    "sampling_frequency": ("sampling_rate",),
    "sample_frequency": ("sampling_rate",),
    "fs": ("sampling_rate",),
    "sr": ("sampling_rate",),
    "patch_size": ("patch_length",),
    "patch_len": ("patch_length",),
    "seq_len": ("context_length",),
    "sequence_length": ("context_length",),
    "window_length": ("context_length",),
    "num_input_channels": ("num_channels",),
    "in_channels": ("num_channels",),
    "num_layers": ("num_hidden_layers",),
    "n_layers": ("num_hidden_layers",),
    "encoder_layers": ("num_hidden_layers",),
    "num_encoder_layers": ("num_hidden_layers",),
    "depth": ("num_hidden_layers",),
    "num_heads": ("num_attention_heads",),
    "n_heads": ("num_attention_heads",),
    "nhead": ("num_attention_heads",),
    "encoder_attention_heads": ("num_attention_heads",),
    "embed_dim": ("d_model",),
    "hidden_dim": ("d_model",),
    "dim_feedforward": ("ffn_dim",),
    "d_ff": ("ffn_dim",),
    "objective": ("pretraining_objective",),
    "pretrain_objective": ("pretraining_objective",),
    "dropout": ("hidden_dropout", "attention_dropout", "ffn_dropout", "head_dropout"),
    "dropout_rate": ("hidden_dropout", "attention_dropout", "ffn_dropout", "head_dropout"),
    # BERT-family names every transformers user knows
    "hidden_dropout_prob": ("hidden_dropout",),
    "attention_probs_dropout_prob": ("attention_dropout",),
    "classifier_dropout": ("head_dropout",),
    "layer_norm_eps": ("norm_eps",),
    "hidden_act": ("activation_function",),
    # PatchTST's (CiTrus patches do not overlap: the stride is the patch length)
    "patch_stride": ("patch_length",),
    "stride": ("patch_length",),
    "random_mask_ratio": ("mask_ratio",),
    "num_classes": ("num_labels",),
    "n_classes": ("num_labels",),
    "num_class": ("num_labels",),
    "nb_classes": ("num_labels",),
    "num_outputs": ("num_labels", "num_targets"),
    # transformers' audio feature extractors' settings (Wav2Vec2's do_normalize, AST's mean / std / max_length,
    # SequenceFeatureExtractor's feature_size), and their name for the signal a feature extractor's call takes
    "do_normalize": ("normalization='zscore' (True) or 'none' (False)",),
    "mean": ("normalization_mean, with normalization='fixed'",),
    "std": ("normalization_std, with normalization='fixed'",),
    "max_length": ("context_length, the window's samples (max_length is an option of the feature extractor's call)",),
    "feature_size": ("num_channels",),
    "raw_speech": ("raw_signal, positionally: `extractor(signal, sampling_rate=...)`",),
    "audio": ("raw_signal, positionally: `extractor(signal, sampling_rate=...)`",),
    "input_values": ("raw_signal, positionally: `extractor(signal, sampling_rate=...)`",),
}


def _aliased_field(entry: str) -> str:
    """The field a `FIELD_ALIASES` entry names: the entry itself, or the name it starts with."""
    return re.match(r"\w+", entry).group()


def _alias_of(name: str, aliases: Mapping[str, tuple[str, ...]] = FIELD_ALIASES) -> str | None:
    """The `aliases` key `name` is, or is a close misspelling of (`num_clases` for `num_classes`)."""
    if name in aliases:
        return name
    close = difflib.get_close_matches(name, aliases, 1, cutoff=0.85)
    return close[0] if close else None


def field_hint(name: str, fields: frozenset[str], aliases: Mapping[str, tuple[str, ...]] = FIELD_ALIASES) -> str:
    """`closest_field_hint`, which also knows other models' names for the fields (`aliases`, by default
    `FIELD_ALIASES`): `'num_layers' (did you mean 'num_hidden_layers'?)`."""
    alias = _alias_of(name, aliases)
    entries = aliases.get(alias, ()) if alias else ()
    meant = [
        repr(entry) if entry == _aliased_field(entry) else entry for entry in entries if _aliased_field(entry) in fields
    ]
    if not meant:
        return closest_field_hint(name, fields)
    options = meant[0] if len(meant) == 1 else f"{', '.join(meant[:-1])} or {meant[-1]}"
    return f"{name!r} (did you mean {options}?)"


def not_a_field_error(
    config_class: type, names: list[str], fix: str = "", fields: frozenset[str] | None = None
) -> ValueError:
    """`'d_modle' (did you mean 'd_model'?) is not a CiTrusConfig field` for `names`, with `fix` after it. `fields`:
    the names `config_class` takes (default its config fields, `config_field_names`)."""
    fields = config_field_names(config_class) if fields is None else fields
    hints = ", ".join(field_hint(name, fields) for name in names)
    plural = len(names) > 1
    return ValueError(
        f"{hints} {'are not' if plural else 'is not a'} {config_class.__name__} field{'s' if plural else ''}{fix}."
    )


def misspelt_names(
    names: Iterable[str], fields: frozenset[str], aliases: Mapping[str, tuple[str, ...]] = FIELD_ALIASES
) -> list[str]:
    """Those of `names` that are no name of `fields` but close to one (`d_modle`, `num_label`) or another model's name
    for one (`sample_rate`, `num_layers`: `aliases`, by default `FIELD_ALIASES`). Other unknown names are not listed
    (metadata people add, keys of older versions)."""
    return [
        name
        for name in names
        if not name.startswith("_")
        and name not in fields
        and (
            any(_aliased_field(entry) in fields for entry in aliases.get(_alias_of(name, aliases) or "", ()))
            or difflib.get_close_matches(name, fields, 1, cutoff=0.85)
        )
    ]


class DerivedSetting(property):
    """A read-only property computed from settings (`window_seconds` from `context_length` and `sampling_rate`) that
    says how (`formula`) and which keyword(s) set it instead (`instead`), for `check_derived_keywords`. Made with
    `derived_setting`."""

    formula: str = ""
    instead: str = ""


def derived_setting(formula: str, instead: str) -> Callable[[Callable[[Any], Any]], DerivedSetting]:
    """`@property` for a value derived from settings: `formula` says how it is computed
    (`"context_length / sampling_rate"`), `instead` what to pass to get the value one wants (`"context_length"`)."""

    def make(getter: Callable[[Any], Any]) -> DerivedSetting:
        setting = DerivedSetting(getter)
        setting.formula, setting.instead = formula, instead
        return setting

    return make


def check_derived_keywords(owner: type, names: Iterable[str]) -> None:
    """Refuse keyword arguments that name a read-only property of `owner` (`CiTrusConfig(window_seconds=10)`,
    `CiTrusFeatureExtractor(num_patches=10)`): transformers set every keyword as an attribute and failed on these with
    "property ... has no setter", after logging the whole config.

    Raises:
        ValueError: naming the property, how it is derived and what to pass instead (`DerivedSetting`).
    """
    for name in names:
        attribute = getattr(owner, name, None) if isinstance(name, str) else None
        if not isinstance(attribute, property) or attribute.fset is not None:
            continue
        if isinstance(attribute, DerivedSetting):
            raise ValueError(
                f"`{name}` is derived ({name} = {attribute.formula}) and cannot be set; pass {attribute.instead}."
            )
        raise ValueError(f"`{name}` is a read-only property of {owner.__name__} and cannot be given as a keyword.")


def check_misspelt_fields(config_class: type[PreTrainedConfig], extra: dict[str, Any]) -> None:
    """Refuse keyword arguments that are no field of `config_class` but close to one (`d_modle=32`, `num_label=5`)
    or another model's name for one (`sample_rate=250`, `num_layers=6`: `FIELD_ALIASES`): `PreTrainedConfig` keeps
    unknown keyword arguments as extra attributes, so a typo would build the default model without a word. Other
    unknown names stay allowed (metadata people add to a config, keys of older versions). A name of a read-only
    property (`window_seconds`) is refused with what sets it (`check_derived_keywords`)."""
    check_derived_keywords(config_class, extra)
    misspelt = misspelt_names(extra, config_field_names(config_class))
    if misspelt:
        raise not_a_field_error(config_class, misspelt)


class ConfigValueError(StrictDataclassClassValidationError, ValueError):
    """A config value a class validator (`validate_*`) refused. A `ValueError`, like the errors of a config's other
    checks, so that `except ValueError` catches every bad config, and still the strict dataclasses' error that
    huggingface_hub raises for it (`__cause__` holds the validator's own error). The message is the validator's."""

    def __init__(self, cause: BaseException):
        Exception.__init__(self, str(cause))


class ConfigTypeError(StrictDataclassClassValidationError, TypeError):
    """`ConfigValueError` for a value of the wrong type (a string where a list of numbers belongs)."""

    def __init__(self, cause: BaseException):
        Exception.__init__(self, str(cause))


# What the feature extractor's `alignment="window"` output carries beside the model inputs: bookkeeping, which the
# model takes and ignores and `BatchFeature.to(dtype)` leaves in its own dtype.
WINDOW_BOOKKEEPING = ("recording_index", "window_start_seconds")


# A `(channels, time)` recording or window that is more likely `(time, channels)` read the wrong way round: no
# bio-signal recording has more than `MAX_PLAUSIBLE_CHANNELS` channels (with more "channels" than samples), nor more
# than `CHANNELS_PER_SAMPLE_LIMIT` times as many channels as samples once it has more than `FEW_CHANNELS`: (1000, 12)
# is 10 s of 12-lead ECG at 100 Hz as (time, leads), not 1000 leads of 0.12 s. A checkpoint that takes any channel
# count would otherwise embed each sample row as a channel of its own. Here because the feature extractor and the
# model (both remote code) apply it.
MAX_PLAUSIBLE_CHANNELS = 1024
CHANNELS_PER_SAMPLE_LIMIT = 8
FEW_CHANNELS = 16


def looks_like_time_by_channels(num_channels: Any, num_samples: Any) -> Any:
    """Whether `(channels, time)` counts (numbers, or numpy arrays of them, one per recording) are more likely a
    `(time, channels)` recording (the limits above). The extractor refuses such a recording, the model such a batch,
    and the labelled-set checks (`citrus_hf.data.splits`) a set of them."""
    beyond_any_recording = (num_channels > num_samples) & (num_channels > MAX_PLAUSIBLE_CHANNELS)
    too_many_per_sample = (num_channels > CHANNELS_PER_SAMPLE_LIMIT * num_samples) & (num_channels > FEW_CHANNELS)
    return beyond_any_recording | too_many_per_sample


# Upper bounds on the sizes a config or feature extractor takes, far beyond any real bio-signal model, so that a few
# edited bytes of a downloaded config.json / preprocessor_config.json / adapter task config are refused when the file
# is read, before anything is sized by them: `num_labels=10**8` made transformers build a label map until memory ran
# out, `num_channels=10**12` a concatenating head of terabytes, `context_length=10**12` a first prediction that asked
# numpy for 3.64 TiB. `{field: (limit, what a real model has)}`; `check_size_limits` applies it.
SIZE_LIMITS: dict[str, tuple[int, str]] = {
    # a whole day of signal at 1 kHz is 8.64e7 samples; the paper's window is 3000
    "context_length": (10**8, "more samples per window than a day of signal at 1 kHz"),
    # the tokens of one channel: PatchTST reads 64, the paper's window 150; attention over 10**5 is 10**10 scores
    "num_patches": (10**5, "more patch tokens per channel than any patch transformer reads"),
    # high-density EEG has 256 channels, Neuropixels probes record 384 sites, the largest micro-electrode arrays some
    # thousands
    "num_channels": (10**5, "more channels than any recording device"),
    # ICD-10-CM has about 70,000 diagnosis codes; a label map of 10**6 names is already ~100 MB
    "num_labels": (10**6, "more classes than any label set"),
    "num_targets": (10**6, "more regression targets than any label set"),
}


def check_size_limits(**sizes: Any) -> None:
    """Refuse any of `sizes` (`context_length=...`, fields of `SIZE_LIMITS`; integers, as checked by `as_integer`)
    beyond its limit in `SIZE_LIMITS`: a value no real model has, read from an edited or damaged file.

    Raises:
        ValueError: naming the field, its value, the limit and the fix.
    """
    for name, value in sizes.items():
        limit, why = SIZE_LIMITS[name]
        if isinstance(value, int) and value > limit:
            raise ValueError(
                f"`{name}={value:,}` is {why} (at most {limit:,} here): a config.json, preprocessor_config.json or "
                "adapter task config that says so was edited or damaged. Put back the value the model was saved "
                "with (or save it again)."
            )


def safetensors_names(variant: str | None = None) -> tuple[str, str]:
    """The weights file and the shards' index file `save_pretrained(folder, variant=variant)` writes:
    `("model.safetensors", "model.safetensors.index.json")`, or with `variant="fp16"` `("model.fp16.safetensors",
    "model.safetensors.index.fp16.json")` (the variant before the last suffix, as transformers names them). Here
    because the model (remote code) and `citrus_hf.loading` both look for them."""
    if not variant:
        return SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME
    weights_stem, weights_suffix = SAFE_WEIGHTS_NAME.rsplit(".", 1)
    index_stem, index_suffix = SAFE_WEIGHTS_INDEX_NAME.rsplit(".", 1)
    return f"{weights_stem}.{variant}.{weights_suffix}", f"{index_stem}.{variant}.{index_suffix}"


# One shard of weights saved in pieces (`pytorch_model-00001-of-00003.bin` beside its `pytorch_model.bin.index.json`,
# `model-00001-of-00002.safetensors`): its stem, its count of shards and its suffix.
WEIGHT_SHARD = re.compile(r"(?P<stem>.+)-\d{5}-of-(?P<count>\d{5})(?P<suffix>\.\w+)")


def shard_sets_shown(names: Iterable[str], present: Iterable[str] | None = None) -> list[str]:
    """The file `names` of a checkpoint, sorted, each set of weight shards (`WEIGHT_SHARD`) shown as one entry with
    its count of shards and, where the checkpoint's files `present` (default `names`) hold it, its index file (in
    place of the index's own entry): a refusal that listed every shard of a large checkpoint ran to hundreds of names
    on its one line."""
    names = sorted(set(names))
    present = set(names if present is None else present)
    shard_sets: dict[tuple[str, str, str], int] = {}
    for name in names:
        shard = WEIGHT_SHARD.fullmatch(name)
        if shard is not None:
            key = (shard["stem"], shard["count"], shard["suffix"])
            shard_sets[key] = shard_sets.get(key, 0) + 1
    indexes = {f"{stem}{suffix}.index.json" for stem, _, suffix in shard_sets} & present
    shown = [name for name in names if WEIGHT_SHARD.fullmatch(name) is None and name not in indexes]
    for (stem, count, suffix), held in shard_sets.items():
        index = f"{stem}{suffix}.index.json"
        # a set missing shards says so: "3 of 5 shards"
        shards = (f"{held} of {int(count)}" if held != int(count) else f"{held}") + f" shard{'s' if held > 1 else ''}"
        pattern = f"{stem}-*-of-{count}{suffix}"
        shown.append(f"{index} and its {shards} {pattern}" if index in indexes else f"{shards} {pattern}")
    return sorted(shown)


def no_safetensors_error(
    where: str, variant: str | None = None, files: Iterable[str] | None = None, other_variant: bool = False
) -> OSError:
    """The refusal of the checkpoint `where` (as `hub_source_shown` names it) that holds neither the weights file nor
    the shards' index of `variant` (`safetensors_names`), with the `files` it holds where they are known; the
    `variant=` hint is added where one was asked for or the folder holds another variant's weights (`other_variant`).
    Here because the model (remote code, a Hub repository) and `citrus_hf.loading` (a folder) both refuse it."""
    weights_name, index_name = safetensors_names(variant)
    held = f"; files: {shard_sets_shown(files)}" if files is not None else ""
    return OSError(
        f"{where} has no {weights_name} (nor {index_name}{held}): CiTrus loads safetensors weights only and never "
        "unpickles .bin files. Publish the model with `citrus push` or `save_pretrained` (and `push_to_hub`)"
        + (" (or pass the `variant=` its weights were saved with)." if variant or other_variant else ".")
    )


def stale_weights_error(folder: str | os.PathLike, variant: str | None = None) -> OSError | None:
    """The refusal of a checkpoint folder that holds both the weights file and the shards' index of `variant`
    (`safetensors_names`), None for any other folder. One of them is left from an earlier save into the same folder
    (transformers' `save_pretrained` writing shards leaves an earlier `model.safetensors` beside them), and every
    loader reads the single file first: the old weights were served without a word."""
    weights_name, index_name = safetensors_names(variant)
    if not all(os.path.isfile(os.path.join(folder, name)) for name in (weights_name, index_name)):
        return None
    return OSError(
        f"{os.fspath(folder)!r} holds both {weights_name} and {index_name} (with its shards): one is left from an "
        f"earlier save into this folder, and loading would read {weights_name} whichever is newer. Delete the stale "
        "one (the index with its shards, or the single file), or save the model into a fresh folder."
    )


def checkpoints_inside_hint(folder: str | os.PathLike) -> str:
    """A clause naming the subfolders of `folder` that hold a checkpoint (a config.json), for the refusal of `folder`
    itself: a Trainer's `output_dir` before its final save holds only its `checkpoint-N`, and a repository may keep
    one checkpoint per subfolder (`from_pretrained(folder, subfolder=...)`). Empty when there are none."""
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.is_dir()]
    except OSError:
        return ""
    names = sorted(
        (name for name in names if os.path.isfile(os.path.join(folder, name, CONFIG_NAME))),
        key=lambda name: [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)],
    )
    if not names:
        return ""
    if all(name.startswith("checkpoint-") for name in names):  # (the Trainer's step checkpoints, latest last)
        return f": it holds the Trainer's {names[-3:]}; pass one of those, or the folder of the final save"
    return f": its subfolders {names[:5]} hold checkpoints; pass one of those (or this folder with `subfolder=`)"


def raise_plain_validation_errors(config_class: type[PreTrainedConfig]) -> None:
    """Make `config_class.validate` (the class validators that `@strict` runs after `__init__`, and that
    `check_buildable` runs again) raise `ConfigValueError` / `ConfigTypeError` instead of huggingface_hub's
    `StrictDataclassClassValidationError`, which is neither a ValueError nor a TypeError and prefixes the message with
    the validator's name. Call it once, after the `@strict` class is defined (a subclass decorated with `@strict`
    gets huggingface_hub's `validate` again and needs its own call)."""
    strict_validate = config_class.validate

    @functools.wraps(strict_validate)
    def validate(self) -> None:
        try:
            strict_validate(self)
        except StrictDataclassClassValidationError as error:
            if isinstance(error, (ConfigValueError, ConfigTypeError)) or error.__cause__ is None:
                raise
            cause = error.__cause__
            raise (ConfigTypeError if isinstance(cause, TypeError) else ConfigValueError)(cause) from cause

    # (`@strict` on a subclass replaces a `validate` it made, and refuses any other)
    validate.__is_defined_by_strict_decorator__ = True
    config_class.validate = validate


def is_saved_config_dict(config_dict: Mapping[str, Any]) -> bool:
    """Whether `config_dict` was read from a saved config.json (or is a config's `to_dict()`): both always hold
    `model_type` and `transformers_version`, which a dict of settings written by hand (`from_dict({"d_model": 32})`,
    whose missing fields rightly take their defaults) does not."""
    return "model_type" in config_dict or "transformers_version" in config_dict


def check_buildable(config: PreTrainedConfig) -> None:
    """Run `config`'s class validators again (a config changed after it was built, by `config.update(...)` or an
    attribute set, skipped the checks its constructor runs).

    Raises:
        ValueError: naming the value and the rule it breaks.
    """
    try:
        config.validate()
    except (StrictDataclassClassValidationError, StrictDataclassFieldValidationError) as error:
        raise ValueError(f"This config cannot build a model: {error.__cause__ or error}") from error


def is_real_number(value: Any) -> bool:
    """Whether `value` is a real number (Python's or numpy's), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def warn_of_rate_override(rate: Any, saved_rate: Any, effect: str, advice: str) -> None:
    """Warn that a `sampling_rate=` keyword given while loading a checkpoint (`rate`) overrides the rate it was trained
    at (`saved_rate`): allowed, since a model may be fine-tuned at another rate on purpose, but the encoder then sees
    signals at a rate it never saw. The model's `from_pretrained` and the feature extractor's say it in the same words;
    `effect` says what now happens at `rate`, `advice` how to keep the checkpoint's rate (`{rate}` in either is
    filled in). Nothing is said when the rates agree or either is not a number (its own check names that)."""
    if not is_real_number(rate) or not is_real_number(saved_rate) or rate == saved_rate:
        return
    logger.warning(
        f"sampling_rate={rate:g} overrides the {saved_rate:g} Hz the checkpoint was trained at: "
        f"{effect.format(rate=f'{rate:g}')}, a rate it never saw. {advice.format(rate=f'{rate:g}')}"
    )


def as_integer(name: str, value: Any, minimum: int | None = None) -> int:
    """`value` as a Python int: any integer (numpy's too) or a float holding a whole number (`16.0` -> 16).

    Raises:
        TypeError: `value` is not a number (a string, a bool, None...), naming the field `name`.
        ValueError: a fraction, NaN / inf, or less than `minimum`.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be an integer, got {value!r} ({type(value).__name__}).")
    if not isinstance(value, numbers.Integral) and not (math.isfinite(value) and float(value).is_integer()):
        raise ValueError(f"`{name}` must be a whole number, got {value!r}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be at least {minimum}, got {value}.")
    return value


def as_finite_real(name: str, value: Any) -> float:
    """`value` as a finite Python float (any real number, numpy's too).

    Raises:
        TypeError: `value` is not a number (a string such as `'0.5'`, a bool, None...), naming the field `name`.
        ValueError: NaN or infinite.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number, got {value!r} ({type(value).__name__}).")
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be a finite number, got {value!r}.")
    return float(value)


def check_normalization_statistics(
    normalization: str, mean: list[float] | None, std: list[float] | None, num_channels: int
) -> None:
    """The statistics of `normalization="fixed"`: one finite mean and one positive finite standard deviation per
    channel. Statistics given with another normalisation are checked too (they would be saved with the checkpoint).
    """
    # the type first: a scalar (natural for one channel) or a string has no length to compare
    for name, values in (("normalization_mean", mean), ("normalization_std", std)):
        if values is None:
            continue
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
            example = f"[{values!r}]" if is_real_number(values) else "[0.0]"
            if num_channels > 1:
                example += f" * {num_channels} (the same value for every channel)"
            raise TypeError(
                f"`{name}` must be a list of numbers, one per channel ({num_channels}), got {values!r}; e.g. "
                f"{name}={example}."
            )
        for value in values:
            as_finite_real(name, value)
    if normalization == "fixed":
        for name, values in (("normalization_mean", mean), ("normalization_std", std)):
            if values is None or len(values) != num_channels:
                raise ValueError(f'`normalization="fixed"` needs `{name}` with one value per channel ({num_channels}).')
    if std is not None and any(not value > 0 for value in std):
        raise ValueError(f"`normalization_std` values must be positive, got {list(std)}.")


def check_num_labels(num_labels: Any) -> int:
    """`num_labels` as given to a config, as an int (`3.0`, read from a YAML or JSON file of hyperparameters, is 3:
    transformers' `range(num_labels)` would fail on it with a TypeError that names no field; it turns -1 into an empty
    label map and 0 into a 0-wide head), at most `SIZE_LIMITS`' bound."""
    num_labels = as_integer("num_labels", num_labels, minimum=1)
    check_size_limits(num_labels=num_labels)  # (before transformers builds a label map of that many names)
    return num_labels


def check_initializer_range(initializer_range: float) -> None:
    """The standard deviation of the initial weights must be non-negative."""
    if initializer_range < 0:
        raise ValueError(
            f"`initializer_range` is a standard deviation and must be non-negative, got {initializer_range}."
        )


def check_classification_head(config: PreTrainedConfig) -> None:
    """What every CiTrus-family classification head needs from `id2label` / `problem_type`."""
    if config.id2label is not None and len(config.id2label) == 0:
        raise ValueError("`num_labels` must be at least 1 (the config has an empty `id2label`).")
    if config.id2label is not None:
        # the head's outputs are numbered 0..num_labels-1: a gap would leave an output without a name (and name none).
        # Keys may be numeric strings ({"0": "walk"}), as in JSON and transformers' audio-classification guide.
        ids = sorted(int(key) if isinstance(key, str) and key.strip().isdigit() else key for key in config.id2label)
        if ids != list(range(len(ids))):
            raise ValueError(
                f"`id2label` must name the classes 0..{len(ids) - 1} (one per output of the head), got the ids "
                f"{ids}; number the classes from 0 without gaps."
            )
    check_problem_type(config.problem_type, config.num_labels)
    if not _BUILDING_FROM_DICT.get():  # `from_dict` checks the names it ends with (`settled_class_names`)
        _check_distinct_class_names(config.id2label, _names_targets(config))


def _names_targets(config: PreTrainedConfig) -> bool:
    """Whether `config.id2label` names a regression's targets (a regressor's `num_targets` of more than one, or a
    `problem_type="regression"` head), not a classifier's classes: the refusals then say "targets"."""
    if getattr(config, "problem_type", None) == REGRESSION:
        return True
    num_targets = getattr(config, "num_targets", 1)
    return num_targets != 1 and isinstance(config.id2label, Mapping) and len(config.id2label) == num_targets


def _check_distinct_class_names(id2label: Mapping[Any, Any] | None, targets: bool = False) -> None:
    """Refuse an `id2label` that names one class twice ({0: "a", 1: "a", 2: "b"}, a typo in a hand-written list): a
    pipeline's scores and `citrus predict`'s probability columns are keyed by name, so the two classes collapse into
    one and a probability is lost without a word (`label2id`, its inverse, would keep one id of the two). The mirror
    case, one id for two names in `label2id`, is refused by `id2label_from_label2id`.

    Raises:
        ValueError: a name given to several ids, naming it and them.
    """
    if not isinstance(id2label, Mapping):  # None: no classes to name
        return
    ids_by_name: dict[str, list[Any]] = {}
    for index, name in id2label.items():
        ids_by_name.setdefault(str(name), []).append(_label_index(index))
    repeated = {name: ids for name, ids in ids_by_name.items() if len(ids) > 1}
    if repeated:
        shown = "; ".join(f"{name!r} names the ids {ids}" for name, ids in repeated.items())
        # (a regressor's names were refused in a classifier's words: "classes", "probability columns")
        outputs, merged = (
            ("targets", "columns and metrics") if targets else ("classes", "scores and probability columns")
        )
        raise ValueError(
            f"`id2label` gives one name to several {outputs} ({shown}): each output of the head needs a name of its "
            f"own, or their {merged} merge. Correct the repeated name(s) in `id2label`."
        )


def check_problem_type(problem_type: str | None, num_labels: int) -> None:
    """Refuse a `problem_type` that is not one of `PROBLEM_TYPES`, or single-label classification on a one-output
    head (a cross-entropy over one class is always 0: nothing would train; transformers' config refuses it at
    construction, its loss then computes the 0). Run where the config is checked and by the loss, which reads
    `problem_type` as it is then: `model.config.problem_type = ...` after the model is built is seen by no check of
    the config before `save_pretrained`, after training."""
    if problem_type is None:
        return
    _check_choice("problem_type", problem_type, PROBLEM_TYPES)
    if problem_type == "single_label_classification" and num_labels == 1:
        raise ValueError(
            '`problem_type="single_label_classification"` needs at least two outputs, and this head has one '
            "(num_labels=1): a cross-entropy over one class is always 0, so nothing would train. For a binary "
            'classifier use num_labels=2, or keep one output with problem_type="multi_label_classification" (a '
            'sigmoid on the logit, binary cross-entropy on 0 / 1 labels); for one target, problem_type="regression".'
        )


def _label_index(index: Any) -> Any:
    """A class id as an int when it is a numeric string (JSON's keys, and label2id values some guides write)."""
    return int(index) if isinstance(index, str) and index.strip().isdigit() else index


def id2label_from_names(id2label: Any) -> Any:
    """`id2label` given as the list of class names (`ClassLabel.names`, a numpy array of them), as the map transformers
    keeps: `{0: names[0], 1: names[1], ...}`; a map (or None) unchanged. transformers would call `.items()` on the list."""
    names = names_as_list(id2label, "id2label")
    if isinstance(names, list):
        return {index: str(name) for index, name in enumerate(names)}
    if isinstance(id2label, dict):
        not_ids = [key for key in id2label if not str(key).strip().lstrip("-").isdigit()]
        if not_ids:  # transformers' own `int(key)` said only "invalid literal for int() with base 10: 'wake'"
            raise ValueError(
                f"`id2label` maps class ids (0, 1, ...) to class names, and its keys {not_ids[:5]} are not ids (are "
                f"ids and names swapped? then it is {dict(list({v: k for k, v in id2label.items()}.items())[:5])}); "
                "correct it in config.json, or pass the class names as a list."
            )
    return id2label


def id2label_from_label2id(label2id: Any, num_labels: Any = None) -> dict[int, Any]:
    """The `id2label` that a `label2id` given without one means (`{"rest": 0, "walk": 1}` -> `{0: "rest", 1: "walk"}`):
    transformers would put its 2 placeholder names ("LABEL_0", "LABEL_1") in `id2label`, which sets the head's width,
    and then overwrite `label2id` with them, so the classes given were lost without a word. Ids may be numeric strings
    (`{"rest": "0"}`, as JSON and some guides write them); a gap in the ids is refused where `id2label` is checked.

    Raises:
        TypeError: `label2id` is not a map of class names to ids.
        ValueError: an id that is no whole number, one id given to two names, or a `num_labels` (given beside it)
            that is not its number of classes.
    """
    if not isinstance(label2id, Mapping):
        raise TypeError(
            f"`label2id` maps class names to class ids, e.g. {{'rest': 0, 'walk': 1}}, got {type(label2id).__name__} "
            f"({label2id!r}); to name the classes in order, pass id2label=[...] (the list of class names)."
        )
    id2label: dict[int, Any] = {}
    for name, index in label2id.items():
        index = _label_index(index)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise ValueError(
                f"`label2id` maps class names to class ids (0, 1, ...), and {name!r} maps to {index!r}, which is no "
                f"id (are names and ids swapped? then pass it as id2label=)."
            )
        if int(index) in id2label:
            raise ValueError(
                f"`label2id` gives the id {int(index)} to both {id2label[int(index)]!r} and {name!r}: each class needs "
                "its own id (one per output of the head)."
            )
        id2label[int(index)] = name
    check_label_count(num_labels, "label2id", list(label2id))
    return dict(sorted(id2label.items()))


# Set while `from_dict` builds a config from a dict and keyword overrides. transformers hands a `num_labels=` keyword
# to the constructor beside the dict's own `id2label`, then applies it with the `num_labels` setter, which replaces
# the map: a new class count for a loaded checkpoint (`from_pretrained(path, num_labels=5)`), not a conflict. The
# keywords themselves are checked against each other in `from_dict`, before it builds the config.
_BUILDING_FROM_DICT: ContextVar[bool] = ContextVar("citrus_config_building_from_dict", default=False)


@contextlib.contextmanager
def building_from_dict() -> Iterator[None]:
    """The context in which a config's `from_dict` builds it (see `_BUILDING_FROM_DICT`)."""
    token = _BUILDING_FROM_DICT.set(True)
    try:
        yield
    finally:
        _BUILDING_FROM_DICT.reset(token)


def is_building_from_dict() -> bool:
    """Whether a config's `from_dict` is building the config being constructed (`building_from_dict`)."""
    return _BUILDING_FROM_DICT.get()


# The keywords that size a task head: a classifier's classes (`num_labels`, or the names that imply them) and a
# regressor's outputs (`num_targets`).
HEAD_SIZE_KEYWORDS = frozenset({"num_labels", "id2label", "label2id", "num_targets"})
# Which of them each live config was given (`CiTrusConfig(num_labels=2)`, `from_pretrained(path, num_labels=2)`), by
# `id(config)`, dropped with the config: the task models refuse the other head's keyword on every route, and the
# value alone cannot tell a keyword from a default (`num_labels=2` is transformers' default) or from what a checkpoint
# of the other task recorded. Kept beside the config, not in it: an attribute would be saved in config.json and make
# two configs of the same values unequal. A copy (`copy.deepcopy`, which transformers' `from_pretrained` makes) starts
# without a record, after the model class has read it.
_HEAD_KEYWORDS_GIVEN: dict[int, frozenset[str]] = {}


def record_head_keywords(config: PreTrainedConfig, given: Iterable[str]) -> None:
    """Record which of `HEAD_SIZE_KEYWORDS` among `given` config `config` was built with (`head_keywords_given`)."""
    given = frozenset(given) & HEAD_SIZE_KEYWORDS
    if not given:
        return
    if id(config) not in _HEAD_KEYWORDS_GIVEN:
        weakref.finalize(config, _HEAD_KEYWORDS_GIVEN.pop, id(config), None)
    _HEAD_KEYWORDS_GIVEN[id(config)] = given


def head_keywords_given(config: PreTrainedConfig) -> frozenset[str]:
    """The head-size keywords (`HEAD_SIZE_KEYWORDS`) `config` was built with: given to its constructor (`num_targets`
    when it is not the default 1: a dataclass field given its default cannot be told apart), or as keywords of
    `from_pretrained` / `from_dict`, not read from a saved config.json."""
    return _HEAD_KEYWORDS_GIVEN.get(id(config), frozenset())


def named_outputs(id2label: Mapping[Any, Any] | None) -> list[str] | None:
    """The names `id2label` gives its outputs, in id order, or None when it holds transformers' placeholders alone
    (`{0: "LABEL_0", 1: "LABEL_1"}`, every config's default, which names nothing). A regressor's `id2label` names its
    targets, as transformers' regression heads do (`num_labels` outputs named by `id2label`)."""
    if not isinstance(id2label, Mapping) or not id2label:
        return None
    ids = sorted(id2label, key=lambda key: int(key) if str(key).strip().lstrip("-").isdigit() else 0)
    names = [str(id2label[key]) for key in ids]
    if all(name == f"LABEL_{key}" for key, name in zip(ids, names)):
        return None
    return names


def target_names_of(config: PreTrainedConfig) -> list[str] | None:
    """The names `config.id2label` gives a regression's outputs (its targets), or None: placeholders, or names of
    another count (which the regressors refuse, `check_target_names`). A regressor's outputs are its `num_targets`; a
    sequence classifier trained as a regressor, transformers' way (`problem_type="regression"`), has `num_labels`
    outputs, which its `id2label` names: read against `num_targets` (1 by default), a two-output one lost its names."""
    names = named_outputs(config.id2label)
    if names is None:
        return None
    outputs = {config.num_targets}
    if getattr(config, "problem_type", None) == REGRESSION:
        outputs.add(config.num_labels)
    return names if len(names) in outputs else None


def check_target_names(config: PreTrainedConfig, model_class: str) -> None:
    """Refuse a regressor's `id2label` (or the `label2id` it came from) whose names are not one per target: the head
    keeps its `num_targets` outputs, and the config would record names of another count without a word (3 class names
    on a one-output head). Placeholder names (`LABEL_0`, ..., every config's default) name nothing and pass.

    Raises:
        ValueError: naming both counts and the two fixes.
    """
    names = named_outputs(config.id2label)
    if names is not None and len(names) != config.num_targets:
        shown = ", ".join(map(repr, names[:6])) + (", ..." if len(names) > 6 else "")
        # too many names: keep the first; too few (their first ones would be as few again): name every target
        per_target = (
            f"id2label={names[: config.num_targets]!r}"
            if len(names) > config.num_targets
            else f"{counted(config.num_targets, 'name')} in id2label"
        )
        raise ValueError(
            f"id2label names {counted(len(names), 'output')} ({shown}), and {model_class} has "
            f"num_targets={config.num_targets}: a regressor's id2label names its targets, one per output. Pass "
            f"num_targets={len(names)} for {counted(len(names), 'target')}, or one name per target ({per_target})."
        )


def check_id2label_count(id2label: Any, num_labels: Any) -> None:
    """`check_label_count` for an `id2label` map given beside `num_labels` (a list of names, converted where the
    config takes it, and anything else pass: their own checks name what is wrong with them). Inside `from_dict`'s
    construction the constructor's `num_labels` is a keyword override of the dict's classes (`_BUILDING_FROM_DICT`),
    and passes."""
    if isinstance(id2label, Mapping) and not _BUILDING_FROM_DICT.get():
        check_label_count(num_labels, "id2label", list(id2label.values()))


def check_label_count(num_labels: Any, source: str, names: list[Any]) -> None:
    """Refuse a `num_labels` given beside the class map `source` (`"id2label"` or `"label2id"`) that names another
    number of classes (`names`). transformers would keep whichever it applied last: `num_labels` replaces the names
    with placeholders ("LABEL_0", ...) and sets the head's width, so the result depended on keyword order and the
    classes given were lost without a word (only a log line when building the config). None (not given) passes.

    Raises:
        ValueError: naming both counts, the classes and the fix.
    """
    if num_labels is not None and as_integer("num_labels", num_labels) != len(names):
        raise ValueError(
            f"`num_labels={num_labels!r}` disagrees with `{source}`, which names "
            f"{counted(len(names), 'class', 'classes')} ({names}); pass `{source}` alone (it sets the number of "
            "classes), or correct one of them."
        )


def settled_class_names(config: PreTrainedConfig) -> None:
    """A config's class names once `from_dict` has applied its keywords: `label2id` reconciled with `id2label`
    (`reconcile_label2id`), and the names refused if one names two classes. Checked here rather than while the saved
    dict is built, so that a checkpoint saved with a repeated name loads with the corrected names given as keywords
    (`from_pretrained(path, id2label=[...])`), transformers' way to correct a config from the Hub or a read-only
    folder."""
    reconcile_label2id(config)
    _check_distinct_class_names(config.id2label, _names_targets(config))


def class_label_keywords(kwargs: dict[str, Any]) -> None:
    """A config's `from_dict` keywords `id2label=` / `label2id=`, settled in place before transformers applies them:
    a list of class names becomes `{0: name, ...}`, and `label2id=` alone gives the `id2label` it implies."""
    if "id2label" in kwargs:
        kwargs["id2label"] = id2label_from_names(kwargs["id2label"])
        # transformers applies the two keywords one after the other, so the later one would win
        check_id2label_count(kwargs["id2label"], kwargs.get("num_labels"))
    elif kwargs.get("label2id") is not None:
        # transformers sets `label2id=` after construction, beside the saved (or placeholder) `id2label`, which
        # would then name the head's outputs and call the classes given "stale"
        kwargs["id2label"] = id2label_from_label2id(kwargs["label2id"], kwargs.get("num_labels"))


def without_stale_target_names(
    config_dict: dict[str, Any], overrides: Mapping[str, Any], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """A saved regressor's `config_dict` for `from_dict`'s keywords (`overrides`: the config's own fields, `kwargs`:
    the inherited ones), without its target names where `num_targets` asks for a head of another size and no names
    are given for it: transformers' `from_pretrained(path, num_labels=5, ignore_mismatched_sizes=True)` resets a saved
    `id2label` of 3 names the same way. Kept, the names of a regressor `citrus finetune` named (`heart_rate`) beside
    `num_targets=2` were refused on every route, with advice (one name) that is refused in turn."""
    if "num_targets" not in overrides or HEAD_SIZE_KEYWORDS & ({*kwargs, *overrides} - {"num_targets"}):
        return config_dict
    names = named_outputs(id2label_from_names(config_dict.get("id2label")))
    saved_targets = config_dict.get("num_targets", 1)
    if names is None or len(names) != saved_targets or overrides["num_targets"] == saved_targets:
        return config_dict  # no names, or a classifier's classes (`replace_head=True` settles those)
    logger.warning(
        f"num_targets={overrides['num_targets']!r} asks for a new head in place of the checkpoint's {saved_targets} "
        f"named target(s) ({', '.join(map(repr, names))}): its outputs are unnamed. Name them with id2label=[...]."
    )
    placeholders = {index: f"LABEL_{index}" for index in range(2)}  # (every config's default: two classes)
    return {**config_dict, "id2label": placeholders, "label2id": {name: index for index, name in placeholders.items()}}


def settle_class_labels(config: PreTrainedConfig, kwargs: Mapping[str, Any]) -> None:
    """A config's class names as its constructor was given them (`kwargs`: the keywords transformers' constructor
    takes, `num_labels` among them), before that constructor runs: `label2id` alone implies `id2label`, a list of
    names becomes `{0: name, ...}`, and a `num_labels` naming another count is refused. `reconcile_label2id` follows
    once transformers has set `label2id`."""
    if config.id2label is None and config.label2id is not None:
        config.id2label = id2label_from_label2id(config.label2id, kwargs.get("num_labels"))
    config.id2label = id2label_from_names(config.id2label)
    check_id2label_count(config.id2label, kwargs.get("num_labels"))  # (transformers' only logs, keeps num_labels)


def set_class_names(config: PreTrainedConfig, names: Any) -> None:
    """`config.id2label = names` with `names` not a map (a config's `__setattr__`): a list of class names, as
    `ClassLabel.names`, is taken as the constructor and `from_pretrained(..., id2label=[...])` take it (`{0: names[0],
    ...}`), rather than refused, since that is the form this package accepts everywhere else. Kept as a list, it
    counted as `num_labels` and then broke the pipeline (a bare `dict()` error) and `save_pretrained` (which called
    the names "ids"). `label2id` is rebuilt from the names, as transformers rebuilds both maps when `num_labels` is
    set: the list names every class, so the old `label2id` can only be stale. (During construction `label2id` is not
    set yet; the constructor reconciles the two itself.)

    Raises:
        TypeError: neither a list of names nor a map.
    """
    id2label = id2label_from_names(names)
    if not isinstance(id2label, Mapping):
        raise TypeError(
            f"`id2label` maps class ids to class names ({{0: 'rest', 1: 'walk'}}) or is the list of class names "
            f"(['rest', 'walk']), got {type(names).__name__} {names!r}."
        )
    PreTrainedConfig.__setattr__(config, "id2label", id2label)
    if "label2id" in config.__dict__:
        PreTrainedConfig.__setattr__(config, "label2id", {label: index for index, label in id2label.items()})


def name_as_text(name: Any, field: str) -> Any:
    """A name given as bytes (`b"Fp1"`, numpy's `np.bytes_`: what h5py reads from a file and a `|S` array holds) as
    the text it spells, UTF-8 decoded; anything else unchanged. `str(b"Fp1")` is the text "b'Fp1'", which matches no
    recording's channel, and JSON holds no bytes at all (`save_pretrained` failed on them).

    Raises:
        ValueError: bytes that are not UTF-8, naming `field` and the fix.
    """
    if not isinstance(name, bytes):  # (np.bytes_ is a bytes)
        return name
    try:
        return name.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(
            f"`{field}` holds {name!r}, bytes that are not UTF-8 text; decode the names yourself (e.g. "
            "`name.decode('latin-1')`) and pass them as strings."
        ) from None


def names_as_list(names: Any, field: str = "channel_names") -> Any:
    """A sequence of names (`field`'s) as a list, which a JSON config can hold: a tuple, a numpy array, a pandas Index
    or a pandas array of strings (what `frame.columns` gives) as `str`s, and names given as bytes decoded
    (`name_as_text`, h5py's); a string or None unchanged, and the other items of a list too (the contract's checks
    name what is wrong with them)."""
    if names is None or isinstance(names, str):
        return names
    if isinstance(names, (bytes, list)):
        return name_as_text(names, field) if isinstance(names, bytes) else [name_as_text(name, field) for name in names]
    if isinstance(names, tuple) or hasattr(names, "tolist") or hasattr(names, "to_numpy"):
        values = names.tolist() if hasattr(names, "tolist") else list(names)
        return [str(name_as_text(name, field)) for name in values]
    return names


def without_numpy_scalars(value: Any) -> Any:
    """`value` with every numpy scalar (`np.float32(250.0)`, the `np.int64` items of `dict(zip(names, np.arange(2)))`,
    the `np.float32` items of `list(x.mean(axis=1))`) as the Python number it holds, inside lists, tuples and dicts
    too, and a numpy array or torch tensor (`x.mean(axis=1)` itself) as the nested list `.tolist()` gives: JSON writes
    neither, and `save_pretrained` failed on them, long after the line that set them. A container is rebuilt only when
    one of its items changed (a dict subclass, such as a config's `custom_pipelines`, is left as it is)."""
    if type(value).__module__ in ("numpy", "torch") and hasattr(value, "tolist") and hasattr(value, "ndim"):
        return without_numpy_scalars(value.tolist())  # (an object array's items may be numpy scalars themselves)
    if type(value) in (list, tuple):
        items = [without_numpy_scalars(item) for item in value]
        changed = any(new is not old for new, old in zip(items, value))
        return type(value)(items) if changed else value
    if type(value) is dict:
        items = {without_numpy_scalars(key): without_numpy_scalars(item) for key, item in value.items()}
        changed = any(new is not old for new, old in zip(items, value)) or any(
            new is not old for new, old in zip(items.values(), value.values())
        )
        return items if changed else value
    return value


def config_value(name: str, value: Any) -> Any:
    """`value` as a config stores `config.<name> = value` (its constructor's fields come through the same
    `__setattr__`): numpy scalars as Python numbers (`without_numpy_scalars`), and the names of channels and classes
    given as bytes decoded (`name_as_text`): a numpy array of channel names as a list."""
    value = without_numpy_scalars(value)
    if name in ("channel_names", "channel_modalities"):
        return names_as_list(value, name)
    if name == "id2label" and type(value) is dict:
        return {index: name_as_text(label, name) for index, label in value.items()}
    if name == "label2id" and type(value) is dict:
        return {name_as_text(label, name): index for label, index in value.items()}
    return value


def reconcile_label2id(config: PreTrainedConfig) -> None:
    """Rebuild `config.label2id` from `config.id2label` when they disagree, with one warning naming the stale entries.

    `id2label` names the head's outputs and is the map people edit (`config.id2label = {...}`,
    `from_pretrained(path, id2label={...})`), leaving `label2id` as it was. Refusing would break that habit, and keeping
    both would make a label's id disagree with the id's label, so `id2label` wins. transformers itself only rebuilds
    both when `num_labels` changes; a config without `label2id` is left as transformers leaves it.

    A name is matched as text: JSON writes `label2id`'s keys as strings, so classes named by numbers (sleep stages 1
    to 5) come back from config.json as "1" to "5". Such a `label2id` is the same map, and gets its names' type back
    without a word (it warned at every load, however often the config was saved again).
    """
    if not config.id2label or config.label2id is None:
        return
    id2label = {_label_index(index): name for index, name in config.id2label.items()}
    stale = {
        name: index
        for name, index in config.label2id.items()
        if _label_index(index) not in id2label or str(id2label[_label_index(index)]) != str(name)
    }
    given_names = {str(name) for name in config.label2id}
    unlisted = [name for name in id2label.values() if str(name) not in given_names]
    rebuilt = {name: index for index, name in id2label.items()}
    if config.label2id != rebuilt:
        config.label2id = rebuilt
    if not stale and not unlisted:
        return
    if stale and all(name == f"LABEL_{_label_index(index)}" for name, index in stale.items()):
        # transformers' placeholder names ("LABEL_0": 0, ...), left by `num_labels=` beside a given `id2label`: nothing
        # a user wrote was stale
        return
    problems = ([f"stale entries {stale}"] if stale else []) + ([f"no entry for {unlisted}"] if unlisted else [])
    logger.warning(
        f"`label2id` disagrees with `id2label` ({'; '.join(problems)}). `id2label` names the head's outputs and wins: "
        f"`label2id` is now {config.label2id} (save the config again to keep it so)."
    )


# What a config's `dtype` (or the older `torch_dtype`) may name: the floating-point types a CiTrus model is built in.
# transformers turns the string into `getattr(torch, value)`, so anything else fails there with a bare AttributeError
# ("float128") or builds a model with integer weights ("int64").
CONFIG_DTYPES = ("float32", "bfloat16", "float16", "float64")


def drop_auto_dtype(kwargs: dict[str, Any]) -> None:
    """Remove `dtype="auto"` / `torch_dtype="auto"` from a config's `from_dict` keywords. The word means "the dtype
    the weights were saved in" (transformers' meaning for a model); for a config that is the dtype it already records.
    transformers would store the word itself, which no config can be read back with (it is not a torch dtype)."""
    for name in ("dtype", "torch_dtype"):
        if isinstance(kwargs.get(name), str) and kwargs[name] == "auto":
            del kwargs[name]


def check_config_dtype(name: str, value: Any) -> None:
    """Refuse a `dtype` / `torch_dtype` (`name`) that is not one of `CONFIG_DTYPES` (a name or a `torch.dtype`);
    None and transformers' per-sub-config dicts pass.

    Raises:
        ValueError: naming the field, the value and the accepted values.
    """
    if value is None or isinstance(value, dict):
        return
    if (value if isinstance(value, str) else str(value).removeprefix("torch.")) not in CONFIG_DTYPES:
        raise ValueError(
            f"`{name}={value!r}` (in config.json or given as a keyword) is not a dtype a CiTrus model is built in; "
            f"use one of {', '.join(map(repr, CONFIG_DTYPES))}, or remove `{name}` so that the weights load in the "
            "dtype they were saved in."
        )


@strict
class CiTrusConfig(ReadsVersionRecord, ChecksSaveDirectory, SerialisesBeforeWriting, PreTrainedConfig):
    r"""
    Configuration of a CiTrus model (Geenjaar & Lu, "CiTrus: Squeezing Extra Performance out of Low-data Bio-signal
    Transfer Learning", AAAI 2025): a residual CNN applied to every patch on its own, followed by a PatchTST-style
    transformer over the patch tokens, pre-trained by masked auto-encoding. Defaults are the paper's.

    Input contract (what a checkpoint expects; the feature extractor aligns any recording to it):
        sampling_rate (`float`, defaults to 100.0): sampling rate in Hz of the model's input.
        context_length (`int`, defaults to 3000): window length in samples (30 s at 100 Hz).
        num_channels (`int`, defaults to 1): channels per window. The encoder is channel-independent, so only the
            `channel_pooling="concat"` heads and per-modality masking depend on it.
        channel_names (`list[str]`, *optional*): name of every channel, e.g. `["Fpz-Cz", "Pz-Oz"]`.
        channel_modalities (`list[str]`, *optional*): modality of every channel, e.g. `["eeg", "eeg", "eog"]`.
        patch_length (`int`, defaults to 20): samples per patch (token); `context_length` must be a multiple of it.
        normalization (`str`, defaults to `"zscore"`): `"zscore"` (per window and channel), `"none"`, or `"fixed"`
            (subtract `normalization_mean`, divide by `normalization_std`, one value per channel).
        normalization_mean / normalization_std (`list[float]`, *optional*): statistics for `normalization="fixed"`.

    Architecture:
        backbone (`str`, defaults to `"hybrid"`): `"hybrid"` (CNN stem + transformer, CiTrus), `"cnn"` (CNN stem
            only) or `"transformer"` (linear patch embedding + transformer, PatchTST).
        cnn_channels (`list[int]`, defaults to `[8, 16, 32]`): width of each residual block of the CNN stem.
        cnn_strides (`list[int]`, defaults to `[1, 2, 2]`): temporal stride of each residual block.
        cnn_kernel_size (`int`, defaults to 3): kernel size of the stem's convolutions (odd).
        cnn_activation (`str`, defaults to `"relu"`): activation inside the CNN stem and decoder (ResNet's ReLU
            costs half of GELU on CPU, and the stem runs on every patch).
        d_model (`int`, defaults to 64): token width.
        num_hidden_layers (`int`, defaults to 4), num_attention_heads (`int`, defaults to 8),
        ffn_dim (`int`, defaults to 128): transformer size.
        attention_type (`str`, defaults to `"channel_independent"`): every channel its own token sequence, or
            `"criss_cross"`: `num_channel_attention_heads` of the heads attend across channels at the same patch,
            the rest across patches within a channel.
        num_channel_attention_heads (`int`, defaults to 4): heads given to channel attention with criss-cross.
        norm_type (`str`, defaults to `"layernorm"`), norm_eps (`float`), activation_function (`str`),
        hidden_dropout, attention_dropout, ffn_dropout (`float`, default 0.0: masking is the pre-training
        regulariser, as in MAE and PatchTST, and dropout's random draws cost a fifth of a CPU training step),
        head_dropout (`float`, default 0.1), initializer_range (`float`).

    Pre-training:
        pretraining_objective (`str`, defaults to `"time"`): `"time"` (reconstruct masked patches' samples),
            `"spectrogram"` (predict the log-magnitude spectrogram around masked patches, CiTrus fp),
            `"fourier"` (neuro2vec: predict amplitude and phase of masked patches' Fourier spectrum) or
            `"time_frequency"` (reconstruct masked patches' samples, scored in time and in frequency at once, as
            TSPulse does). Each is a head class registered in `modeling_citrus.PRETRAINING_HEADS`.
        mask_ratio (`float`, defaults to 0.5): fraction of patches masked (exact per channel sequence).
        mask_block_size (`int`, defaults to 5): masked patches come in contiguous blocks of this many (1 = random).
        mask_mode (`str`, defaults to `"per_channel"`): an independent mask per channel, one mask `"shared"` by
            all channels of a window, or one mask per modality (`"per_modality"`, needs `channel_modalities`).
        channel_mask_ratio (`float`, defaults to 0.0): dual masking; fraction of whole channels masked on top.
        spectrogram_n_fft (`int`, *optional*): STFT window of the `"spectrogram"` objective's target, centred on each
            patch, so at least `patch_length` and of its parity. Defaults to the paper's 40 samples, or the patch
            length if longer, plus one where the parity needs it (41 for patches of 25); other objectives ignore it.
        fourier_amplitude_weight (`float`, defaults to 0.0): weight of an extra log-amplitude loss for `"fourier"`.
        frequency_loss_weight (`float`, defaults to 1.0): for `"time_frequency"`, the weight of the frequency loss
            (MSE between the log-magnitude spectra, log(1 + |rFFT|), of the predicted and the true patch) added to the
            time loss (sample MSE). 1.0 is TSPulse's default weight of its FFT loss; 0 is the `"time"` objective.

    Heads:
        head_features (`str`, defaults to `"context"`): transformer output (`"context"`), CNN output
            (`"encoded"`), or `"all_layers"`: the CNN tokens and every transformer layer's output side by side (the
            frozen-feature probe's input: early layers keep local morphology, late ones context).
        pooling (`str`, defaults to `"mean"`): over patches: `"mean"`, `"max"`, `"mean_max"` (both, side by side),
            `"mean_max_std"` (and the standard deviation; the pooling LP-FT's probe start reads for classification
            from two labelled examples per class), `"mean_max_std_dynamics"` (and how the tokens move: the root mean
            square of the step from one patch to the next and the autocorrelation at lags of 1 to 12 patches,
            `AUTOCORRELATION_LAGS`; the frozen-feature probe's pooling for regression, and for classification from
            two labelled examples per class) or `"cls"` (a learned CLS token).
        channel_pooling (`str`, defaults to `"concat"`): over channels: concatenate (needs exactly `num_channels`
            channels) or average (any channel count).
        num_labels / id2label / problem_type: as in transformers (`"single_label_classification"`,
            `"multi_label_classification"`, `"regression"`).
        num_targets (`int`, defaults to 1): outputs of `CiTrusForRegression`.

    Example:

    ```python
    >>> from citrus_hf import CiTrusConfig, CiTrusForPretraining
    >>> config = CiTrusConfig(pretraining_objective="spectrogram")
    >>> model = CiTrusForPretraining(config)

    ```
    """

    model_type = CITRUS_MODEL_TYPE
    # `locate(name) -> folder | None` for checkpoints shipped inside the citrus_hf package ("citrus-small"); set by
    # the package when it is installed (`citrus_hf._auto`), None in remote code.
    _checkpoint_locator = None
    # `hint(name) -> str`: the sentence naming the bundled checkpoint a failed name may be a typo of, or "" (set with
    # the locator).
    _typo_hint = None
    attribute_map = {"hidden_size": "d_model", "intermediate_size": "ffn_dim"}
    # The input contract's fields, which `save_pretrained` always writes: a checkpoint's config.json without one of
    # them was edited or damaged (loading refuses it rather than take the default).
    saved_contract_fields = ("sampling_rate", "context_length", "patch_length", "num_channels", "normalization")

    # input contract
    sampling_rate: float | int = 100.0
    context_length: int = 3000
    num_channels: int = 1
    channel_names: list[str] | None = None
    channel_modalities: list[str] | None = None
    patch_length: int = 20
    normalization: str = "zscore"
    normalization_mean: list[float] | None = None
    normalization_std: list[float] | None = None

    # architecture
    backbone: str = "hybrid"
    cnn_channels: list[int] | tuple[int, ...] = (8, 16, 32)
    cnn_strides: list[int] | tuple[int, ...] = (1, 2, 2)
    cnn_kernel_size: int = 3
    cnn_activation: str = "relu"
    d_model: int = 64
    num_hidden_layers: int = 4
    num_attention_heads: int = 8
    ffn_dim: int = 128
    attention_type: str = "channel_independent"
    num_channel_attention_heads: int = 4
    norm_type: str = "layernorm"
    norm_eps: float = 1e-5
    activation_function: str = "gelu"
    hidden_dropout: float | int = 0.0
    attention_dropout: float | int = 0.0
    ffn_dropout: float | int = 0.0
    head_dropout: float | int = 0.1
    initializer_range: float = 0.02

    # pre-training
    pretraining_objective: str = "time"
    mask_ratio: float = 0.5
    mask_block_size: int = 5
    mask_mode: str = "per_channel"
    channel_mask_ratio: float = 0.0
    spectrogram_n_fft: int | None = None
    fourier_amplitude_weight: float | int = 0.0
    frequency_loss_weight: float | int = 1.0

    # heads
    head_features: str = "context"
    pooling: str = "mean"
    channel_pooling: str = "concat"
    num_targets: int = 1

    @classmethod
    def get_config_dict(
        cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """`PreTrainedConfig.get_config_dict`, which also takes the name of a bundled checkpoint ("citrus-small") and
        refuses a fusion checkpoint (transformers would build a default config from it, with a warning)."""
        config_dict, kwargs = lookup_checkpoint(cls, super().get_config_dict, pretrained_model_name_or_path, **kwargs)
        if isinstance(config_dict, dict) and config_dict.get("model_type") == FUSION_MODEL_TYPE:
            raise fusion_checkpoint_error(pretrained_model_name_or_path, config_dict)
        return config_dict, kwargs

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs) -> CiTrusConfig:
        """`PreTrainedConfig.from_dict`, with the CiTrus fields among `kwargs` (`from_pretrained(path,
        num_channels=6)`) given to the constructor rather than set afterwards, as transformers does: so that every
        check of the config runs on the values the model is built from (`num_attention_heads=3` for a width of 128
        is refused here, not inside the first forward pass)."""
        drop_auto_dtype(kwargs)
        class_label_keywords(kwargs)
        own_fields = cls.__dict__.get("__annotations__", {})
        overrides = {name: kwargs.pop(name) for name in list(kwargs) if name in own_fields}
        config_dict = cls.without_version_record(config_dict)  # a record of the file, not a setting
        if is_saved_config_dict(config_dict):
            cls.check_saved_contract(config_dict, overrides, "config.json")
            saved_objective = config_dict.get("pretraining_objective")
            if "pretraining_objective" not in overrides and isinstance(saved_objective, str) and saved_objective:
                if saved_objective not in PRETRAINING_OBJECTIVES:  # kept: only pre-training needs its head
                    _SAVED_UNREGISTERED_OBJECTIVES.add(saved_objective)
        # transformers sets only the keywords the config has as attributes and drops the rest without a word, so a
        # typo (`from_pretrained(path, sample_rate=250)`) would keep the saved value; the model classes refuse it
        check_misspelt_fields(cls, kwargs)
        config_dict = without_stale_target_names(config_dict, overrides, kwargs)
        with building_from_dict():
            loaded = super().from_dict({**config_dict, **overrides}, **kwargs)
        config = loaded[0] if isinstance(loaded, tuple) else loaded
        # transformers sets `id2label=` and other inherited keywords after construction: reconcile once they are in
        settled_class_names(config)
        record_head_keywords(config, [*overrides, *kwargs])
        return loaded

    @classmethod
    def check_saved_contract(
        cls, config_dict: Mapping[str, Any], given: Iterable[str], where: str, modality: str | None = None
    ) -> None:
        """Refuse a saved config (`config_dict`, read from `where`, e.g. `"'path': config.json"`; `modality`: the
        fusion modality it describes) that lacks one of the `saved_contract_fields` not `given` as a keyword
        (`from_pretrained(path, sampling_rate=250)` states it): one missing would silently take its default (100 Hz,
        30 s), and the checkpoint would be fed windows it was never trained on.

        Raises:
            ValueError: naming the missing fields and the fix.
        """
        missing = [field for field in cls.saved_contract_fields if field not in config_dict and field not in given]
        if missing:
            raise ValueError(
                f"{where} has no {missing}{f' (modality {modality!r})' if modality else ''}, which `save_pretrained` "
                "always writes: the file was edited or damaged. Put back the input contract the model was trained "
                "with (or save it again)."
            )

    def __post_init__(self, **kwargs):
        if self.spectrogram_n_fft is None:
            # follows the patch length, so that no patch length is refused for a setting the user never made
            self.spectrogram_n_fft = default_spectrogram_n_fft(as_integer("patch_length", self.patch_length))
        for name in _INTEGER_FIELDS:
            setattr(self, name, as_integer(name, getattr(self, name)))
        for name in _REAL_FIELDS:
            setattr(self, name, as_finite_real(name, getattr(self, name)))
        self.sampling_rate = as_sampling_rate(self.sampling_rate)
        # Lists survive a JSON round trip, tuples do not: store lists so that save -> load compares equal.
        for name in ("cnn_channels", "cnn_strides"):
            values = getattr(self, name)
            if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
                raise TypeError(f"`{name}` must be a list of integers (one per residual block), got {values!r}.")
            setattr(self, name, [as_integer(name, value) for value in values])
        if kwargs.get("num_labels") is not None:
            kwargs["num_labels"] = check_num_labels(kwargs["num_labels"])
        if not is_building_from_dict():  # (`from_dict` records the keywords it was given, not the saved values)
            given = [name for name in ("id2label", "label2id") if getattr(self, name, None) is not None]
            given += ["num_labels"] if kwargs.get("num_labels") is not None else []
            record_head_keywords(self, [*given, *(["num_targets"] if self.num_targets != 1 else [])])
        settle_class_labels(self, kwargs)
        check_misspelt_fields(type(self), kwargs)
        check_config_dtype("dtype", self.dtype)
        check_config_dtype("torch_dtype", kwargs.get("torch_dtype"))
        custom_pipelines = kwargs.pop("custom_pipelines", None)
        super().__post_init__(**kwargs)
        if custom_pipelines is not None:
            self.custom_pipelines = CustomPipelines(custom_pipelines)
        reconcile_label2id(self)

    def __setattr__(self, name: str, value: Any) -> None:
        # the constructor's fields come through here too: a numpy array of channel names (`frame.columns.values`,
        # h5py's bytes) or a numpy number is stored as JSON can write it, whenever it is given
        value = config_value(name, value)
        if name == "id2label" and not (value is None or isinstance(value, Mapping)):
            set_class_names(self, value)
        else:
            super().__setattr__(name, value)

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs) -> None:
        """`PreTrainedConfig.save_pretrained`; when `auto_map` points at the model code saved beside it
        (`modeling_citrus.py`, which a model's `save_pretrained` copies), `AutoModel` is mapped to the encoder too:
        transformers maps only the class that was saved, and the encoder of any CiTrus checkpoint loads as
        `CiTrusModel`, so `AutoModel.from_pretrained(task_checkpoint, trust_remote_code=True)` gives its embeddings
        as it does with citrus_hf installed."""
        auto_map = getattr(self, "auto_map", None) or {}
        if "AutoModel" not in auto_map and any(
            isinstance(reference, str) and reference.startswith(f"{_MODELING_MODULE}.")
            for reference in auto_map.values()
        ):
            self.auto_map = {**auto_map, "AutoModel": f"{_MODELING_MODULE}.CiTrusModel"}
        return super().save_pretrained(save_directory, push_to_hub=push_to_hub, **kwargs)

    def update(self, config_dict: dict[str, Any]) -> None:
        """`PreTrainedConfig.update`, refusing a misspelt field or another model's name for one
        (`classifier_dropout=`, `num_layers=`) as the constructor does: it would be kept as an unused attribute."""
        check_misspelt_fields(type(self), config_dict)
        super().update(config_dict)

    @derived_setting(
        "the names id2label gives a regressor's num_targets outputs", "id2label=[...] (one name per target)"
    )
    def target_names(self) -> list[str] | None:
        """The names of a regressor's `num_targets` outputs (`"heart_rate"`; a classifier's `num_labels` ones with
        `problem_type="regression"`), which its pipeline, `citrus predict`, model card and ONNX export report them by:
        `id2label`'s, when it names one per target; None when it holds
        transformers' placeholders (`LABEL_0`, ...: unnamed, reported as `target` / `target_0`, ...)."""
        return target_names_of(self)

    @derived_setting("context_length // patch_length", "context_length (num_patches x patch_length samples)")
    def num_patches(self) -> int:
        """Patch tokens per channel of a `context_length` window."""
        return self.context_length // self.patch_length

    @derived_setting(
        "context_length / sampling_rate",
        "context_length (window_seconds x sampling_rate samples), and sampling_rate if it differs",
    )
    def window_seconds(self) -> float:
        """Window length in seconds."""
        return self.context_length / self.sampling_rate

    @derived_setting("spectrogram_n_fft // 2 + 1", "spectrogram_n_fft (2 x (spectrogram_bins - 1))")
    def spectrogram_bins(self) -> int:
        """Frequency bins of the spectrogram target (one-sided)."""
        return self.spectrogram_n_fft // 2 + 1

    @derived_setting("channel_pooling and the saved architectures", "channel_pooling ('mean' takes any channel count)")
    def fixes_channel_count(self) -> bool:
        """Whether a model of this config takes exactly `num_channels` channels: only a task head that concatenates
        per-channel features (`channel_pooling="concat"`) does. The encoder is channel-independent, so a checkpoint
        saved from it alone (`architectures` CiTrusModel / CiTrusForPretraining) takes any channel count.

        It describes the checkpoint the config was saved from (`architectures` is written by `save_pretrained`): a
        config not yet saved is taken as a task head's, and a task model built from a pre-training checkpoint
        carries the checkpoint's `architectures` until it is saved. For the model in hand, judge by its class and
        `channel_pooling` (as the Trainer's channel check does)."""
        if self.channel_pooling == "mean":
            return False
        return not (self.architectures and set(self.architectures) <= set(ENCODER_ARCHITECTURES))

    @derived_setting("backbone != 'cnn'", "backbone ('hybrid', 'transformer' or 'cnn')")
    def uses_transformer(self) -> bool:
        """Whether the backbone has the transformer (`"hybrid"` or `"transformer"`)."""
        return self.backbone != "cnn"

    @derived_setting("backbone != 'transformer'", "backbone ('hybrid', 'transformer' or 'cnn')")
    def uses_cnn(self) -> bool:
        """Whether the backbone has the CNN stem (`"hybrid"` or `"cnn"`)."""
        return self.backbone != "transformer"

    @PreTrainedConfig.output_attentions.setter
    def output_attentions(self, value: bool) -> None:
        """transformers' setter without its refusal of a non-eager attention (see `validate_output_attentions`):
        `model.config.output_attentions = True` on a model built with "sdpa" is how the weights are asked for."""
        if value and self._attn_implementation is None:
            self._attn_implementation = "eager"  # (as transformers' setter does for a config not yet given to a model)
        self._output_attentions = value

    def validate_output_attentions(self) -> None:
        """Replaces transformers' class validator of the same name, which refuses `output_attentions=True` unless the
        attention is eager. A CiTrus model returns the weights under any attention implementation (a call that asks
        for them runs the eager attention), and a task model sets its config's attention to "sdpa" before it builds
        its encoder, whose `check_buildable` re-ran that validator: `CiTrusForSequenceClassification(config)` (or a
        second `CiTrusModel(config)`) of an `output_attentions=True` config failed, telling the user to switch to
        'eager'. Nothing to check."""

    def validate_input_contract(self) -> None:
        """Part of `@strict` validation: the input contract must describe a usable window."""
        if self.patch_length < 2:
            raise ValueError(f"`patch_length` must be at least 2 samples, got {self.patch_length}.")
        if self.context_length < self.patch_length or self.context_length % self.patch_length:
            raise ValueError(
                f"`context_length` ({self.context_length}) must be a positive multiple of `patch_length` "
                f"({self.patch_length}); use e.g. context_length={max(1, round(self.context_length / self.patch_length)) * self.patch_length}."
            )
        if self.num_channels < 1:
            raise ValueError(f"`num_channels` must be at least 1, got {self.num_channels}.")
        check_size_limits(
            context_length=self.context_length, num_patches=self.num_patches, num_channels=self.num_channels
        )
        for name in ("channel_names", "channel_modalities"):
            values = getattr(self, name)
            if isinstance(values, (str, bytes)):
                # a string is a sequence of letters: its length would be taken for a channel count
                raise TypeError(f"`{name}` is a list with one name per channel: pass [{values!r}], not {values!r}.")
            # By now a tuple, an array or a pandas Index is a list (`config_value`). Anything else is refused here: a
            # number failed in `len` below with Python's "object of type 'int' has no len()"; a set (its hash order,
            # not the channels') and a dict or range passed and then broke `save_pretrained` (JSON holds none of them).
            if values is not None and not isinstance(values, list):
                order = ", whose order is not the channels'" if isinstance(values, (set, frozenset)) else ""
                raise TypeError(
                    f"`{name}` is a list with one name per channel, got {values!r} ({type(values).__name__}){order}; "
                    "pass a list of strings in the channels' order."
                )
            strange = [value for value in values or [] if not isinstance(value, str)]
            if strange:
                # channels are picked by name, as text: a number or a nested list matched no file's channel (or
                # failed in `set` below with "unhashable type: 'list'")
                example = f", e.g. {str(strange[0])!r}" if isinstance(strange[0], (int, float)) else ""
                raise TypeError(
                    f"`{name}` holds {strange[0]!r} ({type(strange[0]).__name__}); each channel's entry is a "
                    f"string{example}."
                )
            if values is not None and len(values) != self.num_channels:
                raise ValueError(
                    f"`{name}` has {len(values)} entries but `num_channels` is {self.num_channels}; give one per channel."
                )
        if self.channel_names is not None and len(set(self.channel_names)) != len(self.channel_names):
            repeated = sorted({name for name in self.channel_names if self.channel_names.count(name) > 1})
            raise ValueError(
                f"`channel_names` repeats {repeated}; each channel needs its own name (channels are picked by name)."
            )
        _check_choice("normalization", self.normalization, NORMALIZATIONS)
        check_normalization_statistics(
            self.normalization, self.normalization_mean, self.normalization_std, self.num_channels
        )

    def validate_architecture(self) -> None:
        """Part of `@strict` validation: the architecture switches and sizes must fit together."""
        _check_choice("backbone", self.backbone, BACKBONES)
        _check_choice("norm_type", self.norm_type, NORM_TYPES)
        _check_choice("attention_type", self.attention_type, ATTENTION_TYPES)
        # Imported here, where a config is built: `transformers.activations` pulls in transformers' weight-loading
        # machinery and `torch.distributed.tensor` (~1 s), which a process that only imports this module (a spawn
        # DataLoader worker unpickling the feature extractor) never needs.
        from transformers.activations import ACT2FN

        for name in ("activation_function", "cnn_activation"):
            if getattr(self, name) not in ACT2FN:
                raise ValueError(
                    f"`{name}={getattr(self, name)!r}` is not an activation transformers knows (e.g. 'gelu', 'relu')."
                )
        if len(self.cnn_channels) == 0 or len(self.cnn_channels) != len(self.cnn_strides):
            raise ValueError(
                f"`cnn_channels` ({self.cnn_channels}) and `cnn_strides` ({self.cnn_strides}) need one entry per "
                "residual block, and at least one block."
            )
        if any(c < 1 for c in self.cnn_channels) or any(s < 1 for s in self.cnn_strides):
            raise ValueError("`cnn_channels` and `cnn_strides` must be positive.")
        for name, minimum in (("d_model", 1), ("num_attention_heads", 1), ("ffn_dim", 1), ("num_hidden_layers", 0)):
            if getattr(self, name) < minimum:
                raise ValueError(f"`{name}` must be at least {minimum}, got {getattr(self, name)}.")
        if not self.norm_eps > 0:
            raise ValueError(
                f"`norm_eps` must be positive (it keeps the normalisation from dividing by zero), got {self.norm_eps}."
            )
        check_initializer_range(self.initializer_range)
        if self.cnn_kernel_size < 1 or self.cnn_kernel_size % 2 == 0:
            raise ValueError(f"`cnn_kernel_size` must be odd so a patch keeps its centre, got {self.cnn_kernel_size}.")
        if not (isinstance(self.patch_length, int) and self.patch_length >= 1):
            raise ValueError(
                f"`patch_length` must be a positive number of samples per patch, got {self.patch_length!r}."
            )
        stem_length = self.patch_length
        for stride in self.cnn_strides:
            stem_length = -(-stem_length // stride)
        if stem_length < 1:
            raise ValueError("`cnn_strides` shrink a patch to nothing; use smaller strides or longer patches.")
        if self.d_model % self.num_attention_heads:
            raise ValueError(
                f"`d_model` ({self.d_model}) must be divisible by `num_attention_heads` ({self.num_attention_heads})."
            )
        if self.num_hidden_layers < 1 and self.backbone != "cnn":
            raise ValueError('`num_hidden_layers` must be at least 1 unless `backbone="cnn"`.')
        if (
            self.attention_type == "criss_cross"
            and not 0 <= self.num_channel_attention_heads <= self.num_attention_heads
        ):
            raise ValueError(
                f"`num_channel_attention_heads` ({self.num_channel_attention_heads}) must lie between 0 and "
                f"`num_attention_heads` ({self.num_attention_heads})."
            )
        for name in ("hidden_dropout", "attention_dropout", "ffn_dropout", "head_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"`{name}` must lie in [0, 1), got {getattr(self, name)}.")

    def validate_pretraining(self) -> None:
        """Part of `@strict` validation: masking and objective settings."""
        objective = self.pretraining_objective
        if objective not in PRETRAINING_OBJECTIVES and objective not in _SAVED_UNREGISTERED_OBJECTIVES:
            raise ValueError(
                f"`pretraining_objective={objective!r}` is not supported; choose one of "
                f"{', '.join(repr(name) for name in PRETRAINING_OBJECTIVES)} (an objective of your own is registered "
                "with citrus_hf.modeling_citrus.register_pretraining_head, which lets configs name it)."
            )
        _check_choice("mask_mode", self.mask_mode, MASK_MODES)
        if not 0.0 < self.mask_ratio < 1.0:
            raise ValueError(f"`mask_ratio` must lie strictly between 0 and 1, got {self.mask_ratio}.")
        if not 0.0 <= self.channel_mask_ratio < 1.0:
            raise ValueError(f"`channel_mask_ratio` must lie in [0, 1), got {self.channel_mask_ratio}.")
        if self.mask_block_size < 1:
            raise ValueError(f"`mask_block_size` must be at least 1 patch, got {self.mask_block_size}.")
        if self.mask_mode == "per_modality" and self.channel_modalities is None:
            raise ValueError('`mask_mode="per_modality"` needs `channel_modalities` (the modality of every channel).')
        n_fft, patch_length = self.spectrogram_n_fft, self.patch_length
        uses_spectrogram = self.pretraining_objective in SPECTROGRAM_OBJECTIVES
        if uses_spectrogram and (n_fft < patch_length or (n_fft - patch_length) % 2):
            fitting = default_spectrogram_n_fft(patch_length, at_least=n_fft)
            raise ValueError(
                f"`spectrogram_n_fft` ({n_fft}) must be at least `patch_length` ({patch_length}) and differ from it by "
                f"an even number, so each STFT frame of the {self.pretraining_objective!r} objective is centred on its "
                f"patch; pass spectrogram_n_fft={fitting} (a config built without it follows patch_length)."
            )
        for name in ("fourier_amplitude_weight", "frequency_loss_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be non-negative, got {getattr(self, name)}.")

    def validate_heads(self) -> None:
        """Part of `@strict` validation: task head settings."""
        _check_choice("head_features", self.head_features, HEAD_FEATURES)
        _check_choice("pooling", self.pooling, POOLINGS)
        _check_choice("channel_pooling", self.channel_pooling, CHANNEL_POOLINGS)
        if self.pooling == "cls" and (self.head_features != "context" or self.backbone == "cnn"):
            raise ValueError(
                '`pooling="cls"` reads the transformer\'s CLS token: it needs `head_features="context"` and a '
                'backbone with a transformer ("hybrid" or "transformer"); use pooling="mean" otherwise.'
            )
        if self.num_targets < 1:
            raise ValueError(f"`num_targets` must be at least 1, got {self.num_targets}.")
        check_size_limits(num_targets=self.num_targets)
        check_classification_head(self)


raise_plain_validation_errors(CiTrusConfig)


# Model sizes (keyword arguments of `CiTrusConfig`). "tiny" is for tests (a few thousand parameters); "small" has the
# bundled `citrus-small`'s input contract (10 s windows at 100 Hz in patches of 0.1 s, so a 0.5 s recording still has
# 5 tokens) at 2 layers of width 64, quick to pre-train on two CPU cores (citrus-small itself is 3 layers of width 128,
# chosen on validation splits: `build_config("citrus-small")` gives its size); "base" is the paper's (30 s at 100 Hz,
# 4 layers of width 64). `citrus_hf.loading.build_config("small")` builds one.
MODEL_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(
        sampling_rate=50.0,
        context_length=100,
        patch_length=10,
        d_model=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        ffn_dim=32,
        cnn_channels=[4, 8],
        cnn_strides=[1, 2],
        mask_block_size=2,
        spectrogram_n_fft=20,
    ),
    "small": dict(
        sampling_rate=100.0,
        context_length=1000,
        patch_length=10,
        d_model=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        ffn_dim=128,
        mask_block_size=3,
    ),
    "base": dict(),
}


__all__ = [
    "LOADED_MODEL_FIELDS",
    "MODEL_PRESETS",
    "PIPELINE_TASKS",
    "SIZE_LIMITS",
    "WINDOW_BOOKKEEPING",
    "CiTrusConfig",
    "CustomPipelines",
    "check_loading_options",
    "custom_pipelines_entry",
    "custom_pipelines_for",
    "embedding_pipelines_kept",
    "pipeline_task_for",
    "safetensors_names",
    "time_series_regression_auto_class",
]
