"""Registering the CiTrus pipelines with transformers (`PIPELINE_REGISTRY`), so that `pipeline("time-series-...")`
and `pipeline(model=checkpoint)` (task read from the checkpoint's `custom_pipelines`, see
`citrus_hf.configuration_citrus.CustomPipelines`) find them.

`import citrus_hf` arranges for `register_pipelines` to run when `transformers.pipelines` is imported (or at once if
it already is), so that importing the package imports neither torch nor transformers' pipelines.
"""

from __future__ import annotations

from .. import modeling_citrus
from ..configuration_citrus import PIPELINE_TASKS, CiTrusConfig
from . import pipelines


class CiTrusSavedClass:
    """Loads a checkpoint with the CiTrus class it was saved from (`config.architectures`): the feature-extraction
    pipeline embeds with any CiTrus model, and loading a classifier into `CiTrusModel` would report its head as
    unexpected tensors."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        hub_kwargs = {
            key: kwargs[key] for key in ("revision", "token", "cache_dir", "local_files_only") if key in kwargs
        }
        config = CiTrusConfig.from_pretrained(pretrained_model_name_or_path, **hub_kwargs)
        architecture = (config.architectures or ["CiTrusModel"])[0]
        model_class = getattr(modeling_citrus, architecture if architecture in PIPELINE_TASKS else "CiTrusModel")
        return model_class.from_pretrained(pretrained_model_name_or_path, **kwargs)


# the class a pipeline loads a checkpoint with, by pipeline class (the remote-code Auto class is in PIPELINE_TASKS)
_MODEL_CLASSES = {
    "BioSignalClassificationPipeline": modeling_citrus.CiTrusForSequenceClassification,
    "BioSignalRegressionPipeline": modeling_citrus.CiTrusForRegression,
    "BioSignalFeatureExtractionPipeline": CiTrusSavedClass,
}


def register_pipelines() -> None:
    """Register every CiTrus pipeline under its task (idempotent)."""
    from transformers.pipelines import PIPELINE_REGISTRY

    for task, pipeline_name, _ in dict.fromkeys(PIPELINE_TASKS.values()):
        pipeline_class = getattr(pipelines, pipeline_name)
        if PIPELINE_REGISTRY.supported_tasks.get(task, {}).get("impl") is pipeline_class:
            continue
        PIPELINE_REGISTRY.register_pipeline(task, pipeline_class=pipeline_class, pt_model=_MODEL_CLASSES[pipeline_name])


__all__ = ["CiTrusSavedClass", "register_pipelines"]
