"""Registering the CiTrus pipelines with transformers (`PIPELINE_REGISTRY`), so that `pipeline("time-series-...")`
and `pipeline(model=checkpoint)` (task read from the checkpoint's `custom_pipelines`, see
`citrus_hf.configuration_citrus.CustomPipelines`) find them.

`import citrus_hf` arranges for `register_pipelines` to run when `transformers.pipelines` is imported (or at once if
it already is), so that importing the package imports neither torch nor transformers' pipelines.

Registration also lets `transformers.pipeline` take the name of a checkpoint shipped with the package
(`pipeline(model="citrus-small")`): transformers would look the name up on the Hub, so the factory is wrapped to turn
a bundled name into its folder first, as the package's loaders do (`_bundled.bundled_checkpoint`; a local folder of
that name wins). Code that bound `pipeline` before `import citrus_hf` keeps transformers' own function; pass
`citrus_hf.bundled_checkpoint(name)` there.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import sys
from typing import Any

from transformers.utils import (
    CONFIG_NAME,
    FEATURE_EXTRACTOR_NAME,
    SAFE_WEIGHTS_NAME,
    cached_file,
    logging,
)

from .. import modeling_citrus
from .._bundled import folder_if_bundled, is_adapter_folder
from ..configuration_citrus import (
    PIPELINE_TASKS,
    CiTrusConfig,
    check_checkpoint_reference,
    checkpoints_inside_hint,
    custom_pipelines_for,
    dangling_links_error,
    embedding_pipelines_kept,
    file_for_folder_error,
    missing_subfolder_error,
    pipeline_task_for,
    safetensors_names,
    unparsable_hub_file_error,
)
from ..configuration_citrus_fusion import FUSION_PIPELINE_TASKS, CiTrusFusionConfig
from ..vocabulary_citrus import ADAPTER_CONFIG_NAME
from . import pipelines

logger = logging.get_logger(__name__)

# The Hub arguments of `from_pretrained` that say where a checkpoint's files are.
_HUB_KWARGS = ("revision", "token", "cache_dir", "local_files_only", "subfolder")
# Those of them that say which cache holds the files (a pipeline's `model_kwargs`).
_CACHE_KWARGS = ("cache_dir", "local_files_only")


class CiTrusSavedClass:
    """Loads a checkpoint with the CiTrus class it was saved from (`config.architectures`; where config.json names
    none, the class whose head its weights hold, with a warning), for every CiTrus pipeline:
    the feature-extraction pipeline embeds with any CiTrus model (loading a classifier into `CiTrusModel` would report
    its head as unexpected tensors), and a checkpoint given to the pipeline of another task loads as what it is, so
    that the pipeline names the task it needs (the model classes refuse to load a task checkpoint into another
    task's class, and transformers would bury that error in the tracebacks of its loading attempts)."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        hub_kwargs = {key: kwargs[key] for key in _HUB_KWARGS if key in kwargs}
        saved_config = _saved_config(pretrained_model_name_or_path, hub_kwargs)
        # A fusion checkpoint reaches here when `pipeline` was bound before `import citrus_hf` (the wrapper, which
        # refuses it first, is then bypassed): the refusal is what transformers shows of this loading attempt.
        _refuse_fusion(pretrained_model_name_or_path, _model_type(pretrained_model_name_or_path, saved_config))
        # So does a LoRA adapter, which transformers' own factory gives here with its base's config
        adapter_folder = _adapter_folder(pretrained_model_name_or_path, saved_config, hub_kwargs)
        if adapter_folder is not None:
            return _adapter_for_transformers_pipeline(adapter_folder, kwargs)
        config = CiTrusConfig.from_pretrained(pretrained_model_name_or_path, **hub_kwargs)
        if config.architectures:
            architecture = config.architectures[0]
        else:
            architecture = _class_of_weights(pretrained_model_name_or_path, hub_kwargs, kwargs.get("variant"))
            logger.warning(
                f"{str(pretrained_model_name_or_path)!r}: config.json names no model class (`architectures` is "
                f"empty); its weights hold a {architecture}, so it is loaded as one. Put "
                f'`"architectures": ["{architecture}"]` back in config.json (`save_pretrained` writes it).'
            )
        if architecture not in PIPELINE_TASKS and not isinstance(getattr(modeling_citrus, architecture, None), type):
            raise ValueError(
                f"{str(pretrained_model_name_or_path)!r}: config.json names the architecture {architecture!r}, which "
                f"is not a CiTrus class; it must be one of {sorted(PIPELINE_TASKS)} (the class that saved the weights)."
            )
        model_class = getattr(modeling_citrus, architecture if architecture in PIPELINE_TASKS else "CiTrusModel")
        model = model_class.from_pretrained(pretrained_model_name_or_path, **kwargs)
        if not model.config.architectures:
            # what `save_pretrained` writes: the pipeline's checks read the class a checkpoint was saved from here
            model.config.architectures = [model_class.__name__]
        return model


def _class_of_weights(pretrained_model_name_or_path, hub_kwargs: dict, variant: str | None = None) -> str:
    """The CiTrus class whose head the checkpoint's weights (those of `variant`) hold, for a config.json that names
    none.

    The weights decide, not `id2label` / `num_labels`: every config has them (two labels by default), so they cannot
    tell a classifier from an encoder, whereas a classifier's weights hold its trained `classifier` and a
    regressor's its `regressor`. A transformers user who saved a classifier expects it to classify, as it did before
    the field was lost; taking it for an encoder would embed the recordings without a word about the dropped head.
    Weights that cannot be read give the encoder: its loading then says what is wrong with them."""
    saved_names = _saved_tensor_names(pretrained_model_name_or_path, hub_kwargs, variant)
    top_level = {name.split(".", 1)[0] for name in saved_names}
    for model_class in (modeling_citrus.CiTrusForSequenceClassification, modeling_citrus.CiTrusForRegression):
        if model_class.head_name in top_level:
            return model_class.__name__
    if "head" in top_level:  # the pre-training objective's head (`CiTrusForPretraining.head`)
        return modeling_citrus.CiTrusForPretraining.__name__
    return modeling_citrus.CiTrusModel.__name__


def _saved_tensor_names(pretrained_model_name_or_path, hub_kwargs: dict, variant: str | None = None) -> list[str]:
    """The names of the tensors in a checkpoint's safetensors weights of `variant` (in the `subfolder` of
    `hub_kwargs`, if any; its index, or the file's header: no tensor is read); empty where there are none or they
    cannot be read."""
    from safetensors import safe_open

    weights_name, index_name = safetensors_names(variant)
    try:
        index = cached_file(
            pretrained_model_name_or_path, index_name, _raise_exceptions_for_missing_entries=False, **hub_kwargs
        )
        if index is not None:
            with open(index, encoding="utf-8") as handle:
                return list(json.load(handle)["weight_map"])
        weights = cached_file(
            pretrained_model_name_or_path, weights_name, _raise_exceptions_for_missing_entries=False, **hub_kwargs
        )
        if weights is None:
            return []
        with safe_open(weights, framework="pt") as handle:
            return list(handle.keys())
    except Exception:  # missing, truncated, not JSON: the model's strict loading reports it with the fix
        return []


def _own_loading_error(folder, kwargs: dict) -> Exception | None:
    """The package's one-line reason a CiTrus folder does not load (None if it loads): transformers' pipeline factory
    reports a failed load as "Could not load model ... with any of the following classes" over the tracebacks of each
    attempt, with that reason somewhere in the middle."""
    try:
        CiTrusSavedClass.from_pretrained(folder, **(kwargs.get("model_kwargs") or {}))
    except Exception as error:
        return error
    return None


def _refuse_fusion(model, model_type: str | None) -> None:
    """A CiTrus fusion checkpoint reaching transformers' own factory (`pipeline` bound before `import citrus_hf`):
    say how to run it, instead of transformers' task inference or loading failing on it ("Repo id must be in the form
    ...", "Could not load model ... with any of the following classes" over two tracebacks)."""
    if model_type == CiTrusFusionConfig.model_type:
        shown = f"{os.fspath(model)!r} is" if isinstance(model, (str, os.PathLike)) else "This is"
        raise ValueError(
            f"{shown} a CiTrus fusion model, whose pipelines citrus_hf's `pipeline` builds: `import citrus_hf` before "
            "`from transformers import pipeline` (which otherwise keeps transformers' own factory)."
        )


class CiTrusFusionSavedClass:
    """Loads a fusion checkpoint with the fusion class it was saved from (`config.architectures`), for the fusion
    pipelines' registration."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        from .. import modeling_citrus_fusion

        config = CiTrusFusionConfig.from_pretrained(pretrained_model_name_or_path)
        architecture = (config.architectures or ["CiTrusFusionForSequenceClassification"])[0]
        return getattr(modeling_citrus_fusion, architecture).from_pretrained(pretrained_model_name_or_path, **kwargs)


def _fusion_pipeline(factory, task, model, saved_config: dict | None, args: tuple, kwargs: dict):
    """The fusion pipeline of a fusion model (a folder, a Hub id or a loaded model): its task that of the class it was
    saved from (`FUSION_PIPELINE_TASKS`), and its processor the one saved with it (transformers loads only a
    `ProcessorMixin`, which the fusion processor is not)."""
    from .. import modeling_citrus_fusion
    from ..processing_citrus_fusion import CiTrusFusionProcessor

    path = isinstance(model, (str, os.PathLike))
    shown = repr(os.fspath(model)) if path else "this model"
    if path:
        architectures = (saved_config or {}).get("architectures") or []
        architecture = architectures[0] if architectures else None
    else:
        base = model.get_base_model() if callable(getattr(model, "get_base_model", None)) else model
        architecture = next((c.__name__ for c in type(base).__mro__ if c.__name__ in FUSION_PIPELINE_TASKS), None)
    if architecture not in FUSION_PIPELINE_TASKS:
        raise ValueError(
            f"{shown} is a CiTrus fusion {architecture or 'model'}, and only fusion classifiers and regressors "
            f"({', '.join(FUSION_PIPELINE_TASKS)}) have a pipeline."
        )
    own_task = FUSION_PIPELINE_TASKS[architecture][0]
    if task in _GENERIC_TASKS or (task is not None and task != own_task):
        raise ValueError(
            f"{shown} is a {architecture}, run by pipeline({own_task!r}, ...) (or pipeline(model=...) without a "
            f"task), not by {task!r}."
        )
    hub_kwargs = {key: kwargs[key] for key in _PIPELINE_HUB_ACCESS if kwargs.get(key) is not None}
    if path:
        folder = model
        model_kwargs = {**(kwargs.pop("model_kwargs", None) or {}), **hub_kwargs}
        if kwargs.get("dtype") not in (None, "auto"):
            model_kwargs["dtype"] = kwargs.pop("dtype")
        model = getattr(modeling_citrus_fusion, architecture).from_pretrained(folder, **model_kwargs)
        if kwargs.get("processor") is None:
            subfolder = model_kwargs.get("subfolder")
            kwargs["processor"] = CiTrusFusionProcessor.from_pretrained(
                folder, **hub_kwargs, **({"subfolder": subfolder} if subfolder else {})
            )
    elif kwargs.get("processor") is None:
        raise ValueError(
            "A loaded fusion model needs its processor: pass `processor=CiTrusFusionProcessor.from_pretrained(folder)` "
            "(the one saved with it), or `model=` the folder."
        )
    return factory(own_task, model, *args, **kwargs)


# transformers' generic task names, which by habit name a CiTrus checkpoint's task too -> the CiTrus task they mean
_GENERIC_TASKS = {"feature-extraction": pipeline_task_for("CiTrusModel")}


def _refuse_other_tasks(task, model, saved_config: dict | None, hub_kwargs: dict, variant: str | None = None) -> None:
    """Refuse a transformers task of another modality for a CiTrus model ("audio-classification", a natural guess for
    a signal classifier; "text-classification"), naming the CiTrus task that runs it: transformers tried its Auto
    class for that task and failed with "Could not load model ... with any of the following classes" over a
    traceback, or by loading a tokenizer."""
    if not isinstance(task, str) or task in _CITRUS_TASKS:
        return
    if saved_config is not None:
        own_task = _saved_task(model, saved_config, hub_kwargs, variant)
    else:
        own_task = pipeline_task_for(
            type(model).__name__, getattr(getattr(model, "config", None), "problem_type", None)
        )
    shown = f"{os.fspath(model)!r}" if isinstance(model, (str, os.PathLike)) else "this model"
    runs = (
        f"; {shown} runs as pipeline({own_task!r}, ...), or pipeline(model=...) without a task picks it"
        if own_task
        else ""
    )
    from transformers.pipelines import PIPELINE_REGISTRY

    if task in _FUSION_TASKS:
        kind = "(it runs fusion models, of one encoder per modality)"
    elif task in PIPELINE_REGISTRY.get_supported_tasks():
        kind = "(transformers' tasks of that kind are for audio, text or images)"
    else:
        # a misspelt CiTrus task was told it is one of transformers' "for audio, text or images"
        close = difflib.get_close_matches(task.strip().lower().replace("_", "-"), _CITRUS_TASKS, 1)
        kind = f"(did you mean {close[0]!r}?)" if close else "nor of transformers"
    raise ValueError(
        f"pipeline({task!r}) is no task of CiTrus models {kind}: they run under the bio-signal tasks "
        f"{list(_CITRUS_TASKS)}{runs}."
    )


def _check_model_folder(model: Any, subfolder: str | None = None) -> None:
    """Refuse a local path that is a file (OSError), or a folder (its `subfolder`, where `model_kwargs` name one) with
    neither a config.json nor an adapter_config.json (ValueError, as transformers' own; a Trainer run's output folder
    before its final save holds only checkpoint-N folders): transformers took the file for a malformed repo id, and
    the folder for a config "without a model_type key"."""
    if not isinstance(model, (str, os.PathLike)) or not os.path.exists(model):
        return
    if os.path.isfile(model):
        raise file_for_folder_error(model, f"its config.json and {SAFE_WEIGHTS_NAME}")
    if subfolder:
        if not os.path.isdir(os.path.join(model, subfolder)):
            raise missing_subfolder_error(model, subfolder)
        model = os.path.join(model, subfolder)
    if not any(os.path.isfile(os.path.join(model, name)) for name in (CONFIG_NAME, "adapter_config.json")):
        moved = dangling_links_error(model)
        if moved is not None:
            raise moved
        raise ValueError(
            f"{str(model)!r} holds no config.json (nor an adapter's adapter_config.json), so it is no checkpoint "
            f"folder{checkpoints_inside_hint(model)}."
        )


def _saved_config(model, hub_kwargs: dict) -> dict | None:
    """The `config.json` of a folder or Hub repo given by name, as saved (None for a loaded model, or where it cannot be
    read: transformers then reports what is wrong)."""
    if not isinstance(model, (str, os.PathLike)):
        return None
    try:
        path = cached_file(os.fspath(model), CONFIG_NAME, _raise_exceptions_for_missing_entries=False, **hub_kwargs)
        if path is None:
            return None
        with open(path, encoding="utf-8") as handle:
            saved = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        if os.path.isdir(model):  # transformers' own loading names the folder's file
            return None
        # transformers named the file by its path in the Hub cache, a folder the user never typed
        raise unparsable_hub_file_error(model, CONFIG_NAME, hub_kwargs, error) from None
    except Exception:  # not found, offline: transformers' own loading says so
        return None
    return saved if isinstance(saved, dict) else None


def _model_type(model, saved_config: dict | None) -> str | None:
    """The `model_type` of a loaded model, or of the folder or Hub repo whose `config.json` is `saved_config`."""
    if saved_config is not None:
        return saved_config.get("model_type")
    return getattr(getattr(model, "config", None), "model_type", None)


# The tasks of the CiTrus pipelines, the only ones a CiTrus checkpoint's `custom_pipelines` may name.
_CITRUS_TASKS = tuple(dict.fromkeys(task for task, _, _ in PIPELINE_TASKS.values()))
# The tasks of the fusion pipelines, which a single-modality CiTrus model does not run.
_FUSION_TASKS = tuple(task for task, _, _ in FUSION_PIPELINE_TASKS.values())


def _check_custom_pipelines(model, saved_config: dict, hub_kwargs: dict, variant: str | None = None) -> None:
    """Refuse a CiTrus checkpoint whose config.json has a malformed `custom_pipelines`. transformers reads that field
    before anything of the package runs, and failed on it with its own words ("dictionary update sequence element #0
    has length 1", "'int' object is not iterable", "This model introduces a custom pipeline without specifying its
    implementation"); an entry the package would not need still breaks the checkpoint for users without it, who run
    the pipeline code it names."""
    entries = saved_config.get("custom_pipelines")
    if entries is None or (isinstance(entries, (dict, list, str)) and not entries):  # none: transformers ignores it
        return
    problem = _custom_pipelines_problem(entries)
    if problem is None:
        return
    architecture = _saved_architecture(model, saved_config, hub_kwargs, variant)
    expected = custom_pipelines_for(architecture, saved_config.get("problem_type"))
    fix = (
        f'put back what `save_pretrained` writes for a {architecture}: "custom_pipelines": {json.dumps(dict(expected))}'
        if expected
        else "save the checkpoint again with `save_pretrained`, which writes it from the model's class"
    )
    raise ValueError(
        f"{os.fspath(model)!r}: config.json's `custom_pipelines` {problem}. It tells transformers which pipeline runs "
        f"the checkpoint and where its code is; {fix}."
    )


def _custom_pipelines_problem(entries) -> str | None:
    """What is wrong with a CiTrus checkpoint's `custom_pipelines` (None: nothing)."""
    if not isinstance(entries, dict):
        return f"is a JSON {type(entries).__name__} ({entries!r}), not an object of task -> pipeline code"
    for task, entry in entries.items():
        if task not in _CITRUS_TASKS:
            return f"names the task {task!r}, which no CiTrus pipeline runs (they run {', '.join(_CITRUS_TASKS)})"
        if not isinstance(entry, dict) or not isinstance(entry.get("impl"), str) or "." not in entry["impl"]:
            return f'gives {task!r} the entry {entry!r}, which needs "impl": "pipelines.<pipeline class>"'
        auto_classes = entry.get("pt", [])
        auto_classes = [auto_classes] if isinstance(auto_classes, str) else auto_classes
        if not isinstance(auto_classes, list) or not all(isinstance(name, str) for name in auto_classes):
            return f'gives {task!r} the Auto classes {entry["pt"]!r}; "pt" is a list of Auto class names'
    return None


def _saved_architecture(model, saved_config: dict, hub_kwargs: dict, variant: str | None = None) -> str:
    """The class a CiTrus checkpoint was saved from: the one its config.json names or, where it names none, the one
    whose head its weights (of `variant`) hold (`_class_of_weights`)."""
    architectures = saved_config.get("architectures")
    if isinstance(architectures, list) and architectures:
        return str(architectures[0])
    return _class_of_weights(model, hub_kwargs, variant)


def _saved_task(model, saved_config: dict, hub_kwargs: dict, variant: str | None = None) -> str | None:
    """The task of a CiTrus checkpoint, for `pipeline(model=checkpoint)` without one: that of the class it was saved
    from (`_saved_architecture`); None for a class that is not CiTrus' (loading it says so). transformers takes the
    task from `custom_pipelines` alone, and without that field asks the Hub, which knows nothing of a local folder
    ("You cannot infer task automatically"); and a checkpoint whose `architectures` was lost still had
    `custom_pipelines` naming its task while it loaded as an encoder."""
    architecture = _saved_architecture(model, saved_config, hub_kwargs, variant)
    named = saved_config.get("architectures")
    if named and (kept := embedding_pipelines_kept(saved_config, architecture)) is not None:
        # saved by the feature-extraction pipeline (`BioSignalFeatureExtractionPipeline.save_pretrained`), which
        # embeds with any CiTrus model: a task model's folder so saved embeds again, as `citrus push` tags it. (Where
        # `architectures` was lost, the class is the weights' guess; an encoder's entry left over, naming AutoModel,
        # says nothing of the task saved for: such a classifier classified before and still does.)
        return next(iter(kept))
    return pipeline_task_for(architecture, saved_config.get("problem_type"))


def _extractor_uncached(model, model_type: str | None, adapter_folder, kwargs: dict) -> bool:
    """Whether `model` is a CiTrus Hub checkpoint (no adapter: its folder aligns as its task config says) whose
    feature extractor the offline Hub cache lacks (`loading.uncached_offline`): downloaded without it, which is no
    sign that it was published without it."""
    from ..loading import uncached_offline

    if not isinstance(model, str) or model_type != CiTrusConfig.model_type or adapter_folder is not None:
        return False
    model_kwargs = kwargs.get("model_kwargs") or {}
    return uncached_offline(
        model,
        FEATURE_EXTRACTOR_NAME,
        revision=kwargs.get("revision"),
        cache_dir=model_kwargs.get("cache_dir"),
        local_files_only=bool(model_kwargs.get("local_files_only")),
        subfolder=model_kwargs.get("subfolder"),
    )


def _is_citrus_model_object(model: Any) -> bool:
    """Whether `model` is a loaded CiTrus model (not a name, a folder or a model of another type)."""
    config = getattr(model, "config", None)
    return not isinstance(model, (str, os.PathLike)) and getattr(config, "model_type", None) == CiTrusConfig.model_type


def _extractor_of_model_object(model) -> Any:
    """The extractor of a CiTrus model object given to `pipeline` without one: that of the bundled checkpoint, the
    local folder or the Hub repository it was loaded from (its `name_or_path`; `_hub_extractor`), or None (the
    pipeline then says how to give one). transformers looks no extractor up for a model object (or looks a bundled
    name up on the Hub): the pipeline said the extractor "was not found" and advised saving it next to the weights,
    where it was."""
    named = getattr(model, "name_or_path", None)
    folder = folder_if_bundled(named)
    if folder is not named:
        return folder
    if isinstance(named, (str, os.PathLike)) and named and os.path.isdir(named):
        return _saved_extractor(named)
    return _hub_extractor(model, named)


def _hub_extractor(model, named) -> Any:
    """The CiTrus feature extractor of the Hub repository `named` (a model's `name_or_path`) beside the weights the
    model was loaded from (the commit, subfolder and cache its `from_pretrained` recorded: `_hub_source_kwargs`), from
    the Hub cache when offline; None for no Hub id, or where the repository has none or it cannot be had."""
    from ..feature_extraction_citrus import CiTrusFeatureExtractor
    from ..loading import hub_repo_id

    if hub_repo_id(named) is None:
        return None
    source = modeling_citrus._hub_source_kwargs(model)
    path = modeling_citrus._checkpoint_file(named, FEATURE_EXTRACTOR_NAME, source)
    return None if path is None else CiTrusFeatureExtractor.from_pretrained(os.path.dirname(path))


def _refuse_loading_kwargs(model, kwargs: dict) -> None:
    """Refuse `dtype` (other than the model's own, or "auto") and `model_kwargs` given with a model object:
    transformers applies them only to a model it loads from a name or path, and quietly dropped them, so that a model
    given with `dtype=torch.bfloat16` ran in float32 without a word."""
    if kwargs.get("model_kwargs"):
        raise ValueError(
            f"model_kwargs={kwargs['model_kwargs']!r} apply to a model the pipeline loads, and the model given is "
            "already loaded: load it with them (`from_pretrained(folder, ...)`), or pass `model=` its folder or id."
        )
    for name in ("dtype", "torch_dtype"):  # torch_dtype: transformers' older name, which it still takes
        dtype = kwargs.get(name)
        if dtype is None or dtype == "auto":
            continue
        wanted, loaded = str(dtype).removeprefix("torch."), str(model.dtype).removeprefix("torch.")
        if wanted != loaded:
            raise ValueError(
                f"{name}={dtype!r} applies to a model the pipeline loads, and the model given is already loaded in "
                f"{loaded}: pass `model=model.to(torch.{wanted})`, or `model=` its folder or id with {name}=."
            )


def _task_of_model_object(model) -> str | None:
    """The pipeline task of a CiTrus model object, as its checkpoint's `custom_pipelines` would name it: that of the
    first CiTrus class it is (a subclass of a task class runs that task's pipeline; a peft model, its base model's);
    None for one of no task."""
    if callable(getattr(model, "get_base_model", None)):
        model = model.get_base_model()
    for cls in type(model).__mro__:
        if cls.__name__ in PIPELINE_TASKS:
            return pipeline_task_for(cls.__name__, getattr(model.config, "problem_type", None))
    return None


def _saved_extractor(folder):
    """The CiTrus feature extractor saved in `folder`, or None where there is none."""
    from ..feature_extraction_citrus import CiTrusFeatureExtractor

    if not os.path.isfile(os.path.join(folder, FEATURE_EXTRACTOR_NAME)):
        return None
    return CiTrusFeatureExtractor.from_pretrained(folder)


def _hub_checkpoint_extractor(model, hub_kwargs: dict):
    """The CiTrus feature extractor saved with the Hub checkpoint `model` (a repo id; in the subfolder, at the revision
    and in the cache `hub_kwargs` name), or None where it has none (the pipeline then says how to give one)."""
    path = modeling_citrus._checkpoint_file(model, FEATURE_EXTRACTOR_NAME, hub_kwargs)
    return None if path is None else _saved_extractor(os.path.dirname(path))


def _merged_adapter(folder, task: str | None, kwargs: dict, repo_id: str | None = None, subfolder: str | None = None):
    """A LoRA adapter folder (`citrus finetune --lora`, `save_adapter`, or peft's own `save_pretrained`; the download
    of the Hub adapter `repo_id`, in its `subfolder`, loaded by that id) as a pipeline's model: the adapter put on the
    base it records and merged into it, the folder's feature extractor (one matching the merged model where peft saved
    none), and the task of the merged model's class (transformers would look for a config.json the folder does not
    have)."""
    from ..feature_extraction_citrus import CiTrusFeatureExtractor
    from ..training.lora import load_adapter, merge_adapter

    # transformers applies `dtype` and `model_kwargs` only to a model it loads from a name or path, and quietly drops
    # them for the instance built here: the base is loaded with them, as a full checkpoint's folder would be
    base_kwargs = dict(kwargs.pop("model_kwargs", None) or {})
    base_kwargs.pop("subfolder", None)  # the adapter's (`folder` is in it), not the base's
    for name in ("dtype", "torch_dtype"):  # torch_dtype: transformers' older name, which it still takes
        if kwargs.get(name) is not None:
            base_kwargs["dtype"] = kwargs.pop(name)
    # the Hub access the pipeline was given (`token=`, `model_kwargs={"cache_dir": ...}`) reaches the base the adapter
    # records too: a private base failed to load with the token that had just downloaded its adapter
    download = {name: base_kwargs.pop(name) for name in _ADAPTER_DOWNLOAD_KWARGS if name in base_kwargs}
    if download.get("token") is None:
        download["token"] = kwargs.get("token")
    if repo_id is not None:
        download.update(revision=kwargs.get("revision"), subfolder=subfolder)
    merged = merge_adapter(load_adapter(None, repo_id or folder, base_kwargs=base_kwargs, **download))
    if kwargs.get("feature_extractor") is None:
        kwargs["feature_extractor"] = _saved_extractor(folder) or CiTrusFeatureExtractor.from_config(merged.config)
    return merged, task or pipeline_task_for(type(merged).__name__, getattr(merged.config, "problem_type", None))


def _adapter_for_transformers_pipeline(folder, kwargs: dict):
    """The model of a LoRA adapter `folder` that transformers' own `pipeline` loads (a `pipeline` bound before
    `import citrus_hf`: `from transformers import pipeline` first keeps transformers' factory, which the package's
    wrapper never sees). transformers reads the task from the config of the base the adapter records and gives the
    adapter folder to the task's model class: this one, which failed on it as on any adapter ("load it with
    load_adapter"), so that only importing citrus_hf first ran the adapter. Here the adapter is merged into its base
    as the wrapper merges it (`_merged_adapter`); a task other than the merged model's is refused, naming the task to
    pass: the base's task (a pre-training base's is feature extraction) would run a classifier as an encoder.

    Raises:
        ValueError: the pipeline's task is not the adapter's, naming both and the fixes.
    """
    task = kwargs.get("_from_pipeline")
    options = {"model_kwargs": {key: value for key, value in kwargs.items() if key in _ADAPTER_BASE_KWARGS}}
    merged, own_task = _merged_adapter(folder, None, options)
    if task is not None and task != own_task:
        raise ValueError(
            f"{str(folder)!r} is a LoRA adapter of a {type(merged).__name__}, which runs as pipeline({own_task!r}), "
            f"and this pipeline is {task!r} (transformers' own `pipeline`, imported before citrus_hf, takes the task "
            f"from the base's config): pass the task, pipeline({own_task!r}, model={str(folder)!r}), or "
            "`import citrus_hf` before `from transformers import pipeline` (then no task is needed)."
        )
    return merged


# How the base an adapter records is downloaded: `load_adapter`'s own arguments, taken from the pipeline's.
_ADAPTER_DOWNLOAD_KWARGS = ("token", "cache_dir", "local_files_only")

# The keyword arguments transformers' pipeline factory passes to a model class that also load an adapter's base
# (the others: the base's `config`, which the adapter's task config replaces, and transformers' own bookkeeping).
_ADAPTER_BASE_KWARGS = ("dtype", "torch_dtype", "attn_implementation", "device_map", *_ADAPTER_DOWNLOAD_KWARGS)


def _adapter_folder(model, saved_config: dict | None, hub_kwargs: dict):
    """The local folder of a LoRA adapter given to `pipeline(model=...)`: the folder itself, or the download of a Hub
    adapter repo, as `load_adapter` downloads it, in the `subfolder` of `hub_kwargs` where one is given; None for
    anything else. An adapter is what `is_adapter_folder` says, for a Hub repo too: adapter_config.json and no
    config.json. A folder or repo with both is a whole model that transformers' own pipeline loads with the adapter
    attached, as the Auto classes and `citrus push` take it. A Hub repo is looked up only when it has no config.json,
    so a full checkpoint costs no extra request."""
    if not isinstance(model, (str, os.PathLike)):
        return None
    subfolder = hub_kwargs.get("subfolder") or ""
    if os.path.isdir(model):
        folder = os.path.join(model, subfolder) if subfolder else model
        return folder if is_adapter_folder(folder) else None
    if saved_config is not None:
        return None
    if modeling_citrus._checkpoint_file(model, ADAPTER_CONFIG_NAME, hub_kwargs) is None:
        return None  # not a repo id, unreachable, or no adapter: transformers' own loading says which
    from ..loading import resolve_checkpoint

    return resolve_checkpoint(os.fspath(model), **hub_kwargs) / subfolder


def _lift_hub_access(kwargs: dict) -> None:
    """Move `revision` and `token` given inside `model_kwargs` to the pipeline's own arguments, where transformers
    and every lookup here take them. Inside `model_kwargs` alone they reached none of the package's lookups (the
    config and the extractor were read anonymously at main: a private repository "did not exist", and a branch's
    weights would have run with main's extractor), and transformers then failed with "got multiple values for keyword
    argument 'revision'"."""
    model_kwargs = kwargs.get("model_kwargs")
    if not isinstance(model_kwargs, dict) or not any(key in model_kwargs for key in _PIPELINE_HUB_ACCESS):
        return
    model_kwargs = dict(model_kwargs)  # (the caller's dict stays as given)
    for key in _PIPELINE_HUB_ACCESS:
        if key not in model_kwargs:
            continue
        value = model_kwargs.pop(key)
        if kwargs.get(key) is not None and value is not None and kwargs[key] != value:
            shown = "two tokens" if key == "token" else f"{kwargs[key]!r} and {value!r}"
            raise ValueError(
                f"pipeline() was given {key}= twice, {shown}, as its own argument and in model_kwargs: pass it once, "
                f"as pipeline(..., {key}=...)."
            )
        if kwargs.get(key) is None:
            kwargs[key] = value
    kwargs["model_kwargs"] = model_kwargs


# the Hub access `pipeline` takes as its own arguments (transformers passes them to every loader it calls)
_PIPELINE_HUB_ACCESS = ("revision", "token")


def _resolving_bundled_names(factory):
    """`transformers.pipeline` that also takes bundled checkpoint names for `model`, `config` and
    `feature_extractor`."""
    if getattr(factory, "_citrus_bundled_names", False):
        return factory

    @functools.wraps(factory)
    def pipeline(task=None, model=None, *args, **kwargs):
        _lift_hub_access(kwargs)
        for name in ("config", "feature_extractor"):
            if name in kwargs:
                kwargs[name] = folder_if_bundled(kwargs[name])
        model = folder_if_bundled(model)
        if _model_type(model, None) == CiTrusFusionConfig.model_type:
            return _fusion_pipeline(factory, task, model, None, args, kwargs)
        if _is_citrus_model_object(model):
            _refuse_loading_kwargs(model, kwargs)
            if kwargs.get("feature_extractor") is None:
                kwargs["feature_extractor"] = _extractor_of_model_object(model)
            if task is None:
                # transformers asks the Hub for a model object's task, which needs an id: it failed with
                # "Inferring the task automatically requires ... a `str`" and the object's whole repr
                task = _task_of_model_object(model)
        check_checkpoint_reference(model)  # a mistyped folder, which transformers reports as a malformed repo id
        # where the model's files are within the folder or repo, and which of its weights (transformers loads the
        # model with them; the checks and the task below read the same files)
        model_kwargs = kwargs.get("model_kwargs") or {}
        subfolder, variant = model_kwargs.get("subfolder"), model_kwargs.get("variant")
        _check_model_folder(model, subfolder)
        hub_kwargs = {key: kwargs[key] for key in _PIPELINE_HUB_ACCESS if kwargs.get(key) is not None}
        # the cache the model is read from (`model_kwargs`), for every file read here: the config and extractor
        # were downloaded into the default cache too, and offline with that cache alone the extractor was "not found"
        hub_kwargs.update({key: model_kwargs[key] for key in _CACHE_KWARGS if model_kwargs.get(key) is not None})
        if subfolder:
            hub_kwargs["subfolder"] = subfolder
        saved_config = _saved_config(model, hub_kwargs)
        model_type = _model_type(model, saved_config)
        if model_type == CiTrusFusionConfig.model_type:
            return _fusion_pipeline(factory, task, model, saved_config, args, kwargs)
        if model_type == CiTrusConfig.model_type and saved_config is not None:
            _check_custom_pipelines(model, saved_config, hub_kwargs, variant)
            if task is None:
                task = _saved_task(model, saved_config, hub_kwargs, variant)
        if task in _GENERIC_TASKS and model_type == CiTrusConfig.model_type:
            # transformers' own task of that name is for text (it loads a tokenizer): the bio-signal one is meant
            task = _GENERIC_TASKS[task]
        if model_type == CiTrusConfig.model_type:
            _refuse_other_tasks(task, model, saved_config, hub_kwargs, variant)
        adapter_folder = _adapter_folder(model, saved_config, hub_kwargs)
        if adapter_folder is not None:
            # a Hub adapter is loaded by its id and subfolder (the folder is its snapshot in the Hub cache), so that
            # its errors name the repository given, not a cache path never typed
            hub = not os.path.isdir(model)
            model, task = _merged_adapter(adapter_folder, task, kwargs, model if hub else None, subfolder)
        own_folder = isinstance(model, (str, os.PathLike)) and os.path.isdir(model)
        own_folder = own_folder and model_type == CiTrusConfig.model_type
        if isinstance(kwargs.get("feature_extractor"), (str, os.PathLike)):
            # transformers' factory would try the model's folder for it first (a CTC-decoder check), swallow that
            # error and drop the name: loaded here, a name or folder of its own works, or its error says why not
            kwargs["feature_extractor"] = pipelines.load_feature_extractor(
                kwargs["feature_extractor"], **hub_kwargs, trust_remote_code=kwargs.get("trust_remote_code")
            )
        elif kwargs.get("feature_extractor") is None and _extractor_uncached(model, model_type, adapter_folder, kwargs):
            # offline, the pipeline said the checkpoint has none and advised saving one built from its config
            from ..loading import uncached_offline_error

            raise uncached_offline_error(model, FEATURE_EXTRACTOR_NAME, kwargs.get("revision"), subfolder)
        elif own_folder and kwargs.get("feature_extractor") is None:
            # Loaded here so that its own error says what is wrong with the file: transformers' factory drops a
            # feature extractor that fails to load, and the pipeline would then say the file was not found.
            kwargs["feature_extractor"] = _saved_extractor(os.path.join(model, subfolder or ""))
        elif (
            isinstance(model, str)  # (a loaded model's is taken above)
            and kwargs.get("feature_extractor") is None
            and model_type == CiTrusConfig.model_type
            and adapter_folder is None
        ):
            # a Hub checkpoint's, from its subfolder and cache: transformers' factory looks the extractor up at the
            # repository's root in the default cache first (for a speech decoder), and drops the one it loaded when
            # that fails
            kwargs["feature_extractor"] = _hub_checkpoint_extractor(model, hub_kwargs)
        try:
            return factory(task, model, *args, **kwargs)
        except ValueError as error:
            reason = _own_loading_error(model, kwargs) if own_folder and "Could not load model" in str(error) else None
            if reason is None:
                raise
            raise reason from None

    pipeline._citrus_bundled_names = True
    return pipeline


class _TaskWithoutDefault(dict):
    """A CiTrus task's entry in transformers' pipeline registry. CiTrus tasks have no default model, and transformers
    reads `entry["default"]` when `pipeline(task)` is given no model, failing with `KeyError: 'default'`; here the
    missing key raises the error asking for `model=` instead, whichever way `pipeline` was imported."""

    def __init__(self, task: str, entry: dict):
        super().__init__(entry)
        self.task = task

    def __missing__(self, key):
        if key == "default":
            raise ValueError(_no_model_message(self.task))
        raise KeyError(key)


def _no_model_message(task: str) -> str:
    """The error for the CiTrus pipeline task `task` given no model: what to pass, naming a bundled checkpoint."""
    from .._bundled import bundled_names

    names = bundled_names()
    example = repr(names[0]) if names else "'<folder or Hub id>'"
    if task == pipeline_task_for("CiTrusModel"):
        return (
            f"pipeline({task!r}) needs `model=`: CiTrus tasks have no default model. Pass a checkpoint: a folder, a "
            f"Hub id, or a pre-trained encoder shipped with the package, e.g. pipeline({task!r}, model={example})."
        )
    task_class = getattr(modeling_citrus, next(name for name, spec in PIPELINE_TASKS.items() if spec[0] == task))
    return (
        f"pipeline({task!r}) needs `model=`: CiTrus tasks have no default model, and this one needs a checkpoint "
        "fine-tuned for it: the folder `Trainer.save_model` or `citrus finetune` wrote, or its Hub id. The "
        f"checkpoints shipped with the package ({', '.join(map(repr, names)) or 'none'}) are pre-trained encoders "
        f"without a trained head: embed recordings with pipeline('time-series-feature-extraction', model={example}), "
        f"or fine-tune one first (`citrus finetune`, or {task_class.__name__}.from_pretrained({example}, "
        f"{task_class.outputs_field}=...) with the Trainer)."
    )


def register_pipelines() -> None:
    """Register every CiTrus pipeline under its task, and let `transformers.pipeline` take bundled checkpoint names
    (idempotent)."""
    import transformers.pipelines
    from transformers.pipelines import PIPELINE_REGISTRY

    transformers.pipelines.pipeline = _resolving_bundled_names(transformers.pipelines.pipeline)
    # `transformers.pipeline` is resolved lazily from `transformers.pipelines` and then kept on the package module
    package = sys.modules["transformers"]
    if "pipeline" in vars(package):
        package.pipeline = _resolving_bundled_names(vars(package)["pipeline"])

    for task, pipeline_name, _ in dict.fromkeys(PIPELINE_TASKS.values()):
        pipeline_class = getattr(pipelines, pipeline_name)
        if PIPELINE_REGISTRY.supported_tasks.get(task, {}).get("impl") is pipeline_class:
            continue
        PIPELINE_REGISTRY.register_pipeline(task, pipeline_class=pipeline_class, pt_model=CiTrusSavedClass)
        entry = _TaskWithoutDefault(task, PIPELINE_REGISTRY.supported_tasks[task])
        PIPELINE_REGISTRY.supported_tasks[task] = pipeline_class._registered_impl[task] = entry
    for task, pipeline_name, _ in FUSION_PIPELINE_TASKS.values():
        pipeline_class = getattr(pipelines, pipeline_name)
        if PIPELINE_REGISTRY.supported_tasks.get(task, {}).get("impl") is pipeline_class:
            continue
        PIPELINE_REGISTRY.register_pipeline(task, pipeline_class=pipeline_class, pt_model=CiTrusFusionSavedClass)


__all__ = ["CiTrusFusionSavedClass", "CiTrusSavedClass", "register_pipelines"]
