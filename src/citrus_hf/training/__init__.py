"""Training CiTrus: masked auto-encoding pre-training with Accelerate (`pretrain`), fine-tuning with the `Trainer`
(`finetune`), metrics and callbacks. The `citrus pretrain / finetune` commands are in `citrus_hf.commands`.

LoRA adapters live in `citrus_hf.training.lora` (imported on demand: it needs peft). The names below are loaded on
first use (PEP 562), so `citrus_hf.training.arguments` (the fine-tuning settings, torch-free) imports without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from .arguments import FinetuneArguments, PretrainArguments
    from .callbacks import NonFiniteLossError
    from .finetune import FinetuneResult, finetune
    from .metrics import classification_metrics, compute_metrics_fn, multi_label_metrics, regression_metrics
    from .numerics import flush_denormals
    from .pretrain import PretrainingDidNotLearnWarning, PretrainResult, pretrain
    from .settings import TrainerSettings

# public name -> the module of this package that defines it
_NAMES = {
    "FinetuneArguments": "arguments",
    "TrainerSettings": "settings",
    "FinetuneResult": "finetune",
    "finetune": "finetune",
    "classification_metrics": "metrics",
    "compute_metrics_fn": "metrics",
    "multi_label_metrics": "metrics",
    "regression_metrics": "metrics",
    "flush_denormals": "numerics",
    "NonFiniteLossError": "callbacks",
    "PretrainingDidNotLearnWarning": "pretrain",
    "PretrainArguments": "arguments",
    "PretrainResult": "pretrain",
    "pretrain": "pretrain",
}

# The same names as `_NAMES` (a literal list, for linters and type checkers), as in the package root.
__all__ = [
    "FinetuneArguments",
    "FinetuneResult",
    "NonFiniteLossError",
    "PretrainArguments",
    "PretrainResult",
    "PretrainingDidNotLearnWarning",
    "TrainerSettings",
    "classification_metrics",
    "compute_metrics_fn",
    "finetune",
    "flush_denormals",
    "multi_label_metrics",
    "pretrain",
    "regression_metrics",
]


__getattr__, __dir__ = lazy_attributes(__name__, _NAMES, globals())
