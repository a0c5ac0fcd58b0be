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

import functools
import json
import os
import sys

from transformers.utils import CONFIG_NAME, FEATURE_EXTRACTOR_NAME, cached_file

from .. import modeling_citrus
from .._bundled import folder_if_bundled
from ..configuration_citrus import PIPELINE_TASKS, CiTrusConfig, check_checkpoint_reference, pipeline_task_for
from ..configuration_citrus_fusion import CiTrusFusionConfig
from ..vocabulary_citrus import ADAPTER_CONFIG_NAME
from . import pipelines


class CiTrusSavedClass:
    """Loads a checkpoint with the CiTrus class it was saved from (`config.architectures`), for every CiTrus pipeline:
    the feature-extraction pipeline embeds with any CiTrus model (loading a classifier into `CiTrusModel` would report
    its head as unexpected tensors), and a checkpoint given to the pipeline of another task loads as what it is, so
    that the pipeline names the task it needs (the model classes refuse to load a task checkpoint into another
    task's class, and transformers would bury that error in the tracebacks of its loading attempts)."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        hub_kwargs = {
            key: kwargs[key] for key in ("revision", "token", "cache_dir", "local_files_only") if key in kwargs
        }
        config = CiTrusConfig.from_pretrained(pretrained_model_name_or_path, **hub_kwargs)
        architecture = (config.architectures or ["CiTrusModel"])[0]
        if architecture not in PIPELINE_TASKS and not isinstance(getattr(modeling_citrus, architecture, None), type):
            raise ValueError(
                f"{str(pretrained_model_name_or_path)!r}: config.json names the architecture {architecture!r}, which "
                f"is not a CiTrus class; it must be one of {sorted(PIPELINE_TASKS)} (the class that saved the weights)."
            )
        model_class = getattr(modeling_citrus, architecture if architecture in PIPELINE_TASKS else "CiTrusModel")
        return model_class.from_pretrained(pretrained_model_name_or_path, **kwargs)


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
    """A CiTrus fusion model (a loaded one, a folder or a Hub repo; `model_type` from `_model_type`) has no pipeline
    (its input is one recording per modality): say so, instead of transformers' task inference or loading failing on
    it ("Repo id must be in the form ...", "Could not load model ... with any of the following classes" over two
    tracebacks)."""
    if model_type == CiTrusFusionConfig.model_type:
        shown = f"{os.fspath(model)!r} is" if isinstance(model, (str, os.PathLike)) else "This is"
        raise ValueError(
            f"{shown} a CiTrus fusion model, which has no pipeline (it takes one recording per modality): align the recordings with `CiTrusFusionProcessor.from_pretrained(...)` "
            "and call `CiTrusFusionForSequenceClassification.from_pretrained(...)` (or its regressor) on them."
        )


# transformers' generic task names, which by habit name a CiTrus checkpoint's task too -> the CiTrus task they mean
_GENERIC_TASKS = {"feature-extraction": pipeline_task_for("CiTrusModel")}


def _model_type(model, hub_kwargs: dict) -> str | None:
    """The `model_type` of a loaded model, a folder or a Hub repo (None where it cannot be read)."""
    if isinstance(model, (str, os.PathLike)):
        return _model_type_of(os.fspath(model), hub_kwargs)
    return getattr(getattr(model, "config", None), "model_type", None)


def _model_type_of(name_or_path: str, hub_kwargs: dict) -> str | None:
    """The `model_type` in a folder's or Hub repo's `config.json`; None where it cannot be read (transformers then
    reports what is wrong)."""
    try:
        path = cached_file(name_or_path, CONFIG_NAME, _raise_exceptions_for_missing_entries=False, **hub_kwargs)
        if path is None:
            return None
        with open(path, encoding="utf-8") as handle:
            return json.load(handle).get("model_type")
    except Exception:  # not found, offline, not JSON: transformers' own loading says so
        return None


def _saved_extractor(folder):
    """The CiTrus feature extractor saved in `folder`, or None where there is none."""
    from ..feature_extraction_citrus import CiTrusFeatureExtractor

    if not os.path.isfile(os.path.join(folder, FEATURE_EXTRACTOR_NAME)):
        return None
    return CiTrusFeatureExtractor.from_pretrained(folder)


def _merged_adapter(folder, task: str | None, kwargs: dict):
    """A LoRA adapter folder (`citrus finetune --lora`, `save_adapter`) as a pipeline's model: the adapter put on the
    base it records and merged into it, the folder's feature extractor, and the task of the merged model's class
    (transformers would look for a config.json the folder does not have)."""
    from ..training.lora import load_adapter, merge_adapter

    merged = merge_adapter(load_adapter(None, folder))
    if kwargs.get("feature_extractor") is None:
        kwargs["feature_extractor"] = _saved_extractor(folder)
    return merged, task or pipeline_task_for(type(merged).__name__, getattr(merged.config, "problem_type", None))


def _resolving_bundled_names(factory):
    """`transformers.pipeline` that also takes bundled checkpoint names for `model`, `config` and
    `feature_extractor`."""
    if getattr(factory, "_citrus_bundled_names", False):
        return factory

    @functools.wraps(factory)
    def pipeline(task=None, model=None, *args, **kwargs):
        for name in ("config", "feature_extractor"):
            if name in kwargs:
                kwargs[name] = folder_if_bundled(kwargs[name])
        model = folder_if_bundled(model)
        check_checkpoint_reference(model)  # a mistyped folder, which transformers reports as a malformed repo id
        hub_kwargs = {key: kwargs[key] for key in ("revision", "token") if kwargs.get(key) is not None}
        model_type = _model_type(model, hub_kwargs)
        _refuse_fusion(model, model_type)
        if task in _GENERIC_TASKS and model_type == CiTrusConfig.model_type:
            # transformers' own task of that name is for text (it loads a tokenizer): the bio-signal one is meant
            task = _GENERIC_TASKS[task]
        if isinstance(model, (str, os.PathLike)) and os.path.isfile(os.path.join(model, ADAPTER_CONFIG_NAME)):
            model, task = _merged_adapter(model, task, kwargs)
        own_folder = isinstance(model, (str, os.PathLike)) and os.path.isdir(model)
        own_folder = own_folder and model_type == CiTrusConfig.model_type
        if own_folder and kwargs.get("feature_extractor") is None:
            # Loaded here so that its own error says what is wrong with the file: transformers' factory drops a
            # feature extractor that fails to load, and the pipeline would then say the file was not found.
            kwargs["feature_extractor"] = _saved_extractor(model)
        try:
            return factory(task, model, *args, **kwargs)
        except ValueError as error:
            reason = _own_loading_error(model, kwargs) if own_folder and "Could not load model" in str(error) else None
            if reason is None:
                raise
            raise reason from None

    pipeline._citrus_bundled_names = True
    return pipeline


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


__all__ = ["CiTrusSavedClass", "register_pipelines"]
