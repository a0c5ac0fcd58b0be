"""Training CiTrus: masked auto-encoding pre-training with Accelerate (`pretrain`), fine-tuning with the `Trainer`
(`finetune`), metrics, and the `citrus pretrain / finetune / evaluate / demo` commands (`cli`).

LoRA adapters live in `citrus_hf.training.lora` (imported on demand: it needs peft).
"""

from .finetune import FinetuneArguments, FinetuneResult, TrainerSettings, finetune, parse_budget
from .metrics import classification_metrics, regression_metrics
from .pretrain import MODEL_PRESETS, PretrainArguments, PretrainResult, build_config, pretrain

__all__ = [
    "MODEL_PRESETS",
    "FinetuneArguments",
    "FinetuneResult",
    "PretrainArguments",
    "PretrainResult",
    "TrainerSettings",
    "build_config",
    "classification_metrics",
    "finetune",
    "parse_budget",
    "pretrain",
    "regression_metrics",
]
