"""Inference: pipelines registered with transformers and the CPU inference backends.

- `pipelines`: `BioSignalClassificationPipeline`, `BioSignalRegressionPipeline` and
  `BioSignalFeatureExtractionPipeline`, the `"time-series-classification"`, `"time-series-regression"` and
  `"time-series-feature-extraction"` tasks of `transformers.pipeline` (a raw recording of any rate and length in,
  per-window results with their times and one for the whole recording out).
- `backends`: the same forward pass in fp32 PyTorch, bf16 autocast with blocked attention, or ONNX Runtime (exported
  once, cached), and `load_backend(model, "auto")`, the fastest of them that keeps the results.
- `registration`: registers the pipelines with transformers; `import citrus_hf` runs it when `transformers.pipelines`
  is imported.
- `time_use`: a sleep stager's statistics of a night (`sleep_summary`) and its windows as events (`label_events`).

`pipelines` and `backends` import nothing from the rest of the package: they are shipped next to the weights as
remote code. The layer sits above evaluation and below publishing: it may use everything from the model files to
evaluation, and only publishing and commands may use it.

The names below are loaded on first use (PEP 562), as the other sub-packages' are: `import citrus_hf.inference`
imports neither torch nor transformers' pipelines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from .backends import BACKENDS, InferenceBackend, InferenceTarget, load_backend, onnx_export_available
    from .pipelines import (
        NO_SIGNAL_REASONS,
        BioSignalClassificationPipeline,
        BioSignalFeatureExtractionPipeline,
        BioSignalFusionClassificationPipeline,
        BioSignalFusionRegressionPipeline,
        BioSignalRegressionPipeline,
    )
    from .registration import register_pipelines
    from .time_use import label_events, sleep_summary

# public name -> the module of this package that defines it
_NAMES = {
    "BACKENDS": "backends",
    "InferenceBackend": "backends",
    "InferenceTarget": "backends",
    "load_backend": "backends",
    "onnx_export_available": "backends",
    "NO_SIGNAL_REASONS": "pipelines",
    "BioSignalClassificationPipeline": "pipelines",
    "BioSignalFeatureExtractionPipeline": "pipelines",
    "BioSignalFusionClassificationPipeline": "pipelines",
    "BioSignalFusionRegressionPipeline": "pipelines",
    "BioSignalRegressionPipeline": "pipelines",
    "register_pipelines": "registration",
    "label_events": "time_use",
    "sleep_summary": "time_use",
}

# The same names as `_NAMES` (a literal list, for linters and type checkers), as in the package root.
__all__ = [
    "BACKENDS",
    "NO_SIGNAL_REASONS",
    "BioSignalClassificationPipeline",
    "BioSignalFeatureExtractionPipeline",
    "BioSignalFusionClassificationPipeline",
    "BioSignalFusionRegressionPipeline",
    "BioSignalRegressionPipeline",
    "InferenceBackend",
    "InferenceTarget",
    "label_events",
    "load_backend",
    "onnx_export_available",
    "register_pipelines",
    "sleep_summary",
]


__getattr__, __dir__ = lazy_attributes(__name__, _NAMES, globals())
