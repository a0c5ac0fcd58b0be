"""Training CiTrus: masked auto-encoding pre-training with Accelerate (`pretrain`), fine-tuning with the `Trainer`
(`finetune`), metrics and callbacks. The `citrus pretrain / finetune` commands are in `citrus_hf.commands`.

LoRA adapters live in `citrus_hf.training.lora` (imported on demand: it needs peft).
"""

from .finetune import FinetuneArguments, FinetuneResult, TrainerSettings, finetune
from .metrics import classification_metrics, regression_metrics
from .pretrain import PretrainArguments, PretrainResult, pretrain

__all__ = [
    "FinetuneArguments",
    "FinetuneResult",
    "PretrainArguments",
    "PretrainResult",
    "TrainerSettings",
    "classification_metrics",
    "finetune",
    "pretrain",
    "regression_metrics",
]
