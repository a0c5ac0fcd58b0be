"""citrus-hf: CiTrus bio-signal foundation models as Hugging Face transformers models.

The public names are loaded on first use (PEP 562), so `import citrus_hf` imports neither torch nor transformers.
CiTrus registers itself with transformers' Auto classes as soon as transformers loads them, or when a public name is
first used (see `citrus_hf._auto`), so `AutoModel.from_pretrained(citrus_checkpoint)` works after `import citrus_hf`;
its pipelines register when transformers' pipelines are imported, so `pipeline(model=citrus_checkpoint)` works too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._dependencies import check_at_import

check_at_import()  # before anything imports transformers: an older one fails deep inside the model files

from . import _auto, _logs  # noqa: E402

# Before any submodule creates its logger: every "citrus_hf.*" logger follows transformers' verbosity (`_logs`).
_logs.follow_transformers_verbosity()
from ._version import __version__ as __version__  # noqa: E402

if TYPE_CHECKING:
    from ._auto import AutoModelForTimeSeriesRegression
    from ._bundled import bundled_checkpoint
    from .configuration_citrus import CiTrusConfig
    from .configuration_citrus_fusion import CiTrusFusionConfig
    from .feature_extraction_citrus import CiTrusFeatureExtractor
    from .loading import load_feature_extractor, load_pretrained, load_processor
    from .modeling_citrus import (
        CiTrusForPretraining,
        CiTrusForPretrainingOutput,
        CiTrusForRegression,
        CiTrusForSequenceClassification,
        CiTrusModel,
        CiTrusModelOutput,
        CiTrusPreTrainedModel,
        CiTrusRegressionOutput,
        CiTrusSequenceClassifierOutput,
    )
    from .modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification
    from .processing_citrus_fusion import CiTrusFusionProcessor
    from .publishing.cards import build_model_card
    from .publishing.push import push_to_hub

# public name -> the module (relative to this package) that defines it
_PUBLIC_NAMES: dict[str, str] = {
    "AutoModelForTimeSeriesRegression": "_auto",
    "bundled_checkpoint": "_bundled",
    "CiTrusConfig": "configuration_citrus",
    "CiTrusFeatureExtractor": "feature_extraction_citrus",
    "CiTrusPreTrainedModel": "modeling_citrus",
    "CiTrusModel": "modeling_citrus",
    "CiTrusForPretraining": "modeling_citrus",
    "CiTrusForSequenceClassification": "modeling_citrus",
    "CiTrusForRegression": "modeling_citrus",
    "CiTrusModelOutput": "modeling_citrus",
    "CiTrusForPretrainingOutput": "modeling_citrus",
    "CiTrusRegressionOutput": "modeling_citrus",
    "CiTrusSequenceClassifierOutput": "modeling_citrus",
    "CiTrusFusionConfig": "configuration_citrus_fusion",
    "CiTrusFusionForSequenceClassification": "modeling_citrus_fusion",
    "CiTrusFusionForRegression": "modeling_citrus_fusion",
    "CiTrusFusionProcessor": "processing_citrus_fusion",
    "build_model_card": "publishing.cards",
    "load_feature_extractor": "loading",
    "load_pretrained": "loading",
    "load_processor": "loading",
    "push_to_hub": "publishing.push",
}
# sub-packages and modules reachable as attributes (`citrus_hf.data`), imported on first access
_SUBMODULES = frozenset(
    {
        "commands",
        "configuration_citrus",
        "configuration_citrus_fusion",
        "data",
        "evaluation",
        "feature_extraction_citrus",
        "inference",
        "loading",
        "modeling_citrus",
        "modeling_citrus_fusion",
        "processing_citrus_fusion",
        "publishing",
        "training",
    }
)


def _deferred(module: str, function: str):
    """A registration that imports `citrus_hf.<module>` and calls its `function()` only when it runs (when transformers
    has imported the module it waits for), never at `import citrus_hf`."""

    def register() -> None:
        getattr(importlib.import_module(f".{module}", __name__), function)()

    return register


# The pipelines register with transformers when `transformers.pipelines` is imported (`from transformers import
# pipeline`), as the Auto classes do with theirs.
_auto.add_registration(
    "transformers.pipelines",
    _deferred("inference.registration", "register_pipelines"),
    needed=(
        "configuration_citrus",
        "modeling_citrus",
        "inference.backends",
        "inference.pipelines",
        "inference.registration",
    ),
)
# peft's defaults for `target_modules` (`LoraConfig(task_type="SEQ_CLS", r=8)` without them) learn the CiTrus model
# types once peft has finished importing (the registration imports peft's public names).
_auto.add_registration(
    "peft", _deferred("training.lora", "register_peft_target_modules"), needed=("training.lora",), name="peft targets"
)
# peft's own `PeftModel.push_to_hub` of a CiTrus adapter deletes the other kinds' files, as the package's pushes do.
_auto.add_registration(
    "peft",
    _deferred("publishing.hooks", "register_peft_push"),
    needed=("modeling_citrus", "publishing.hooks"),
    name="peft push",
)
# The publishing hooks: transformers' `push_to_hub` of a CiTrus model, the `Trainer`'s model card, the input-contract
# check of a feature extractor saved beside a model, and one-line Hub errors from the feature extractor's and
# processor's `push_to_hub`. Each waits for the transformers module whose
# completion the Auto registrations wait for too: a hook that imported a CiTrus module while that auto module was still
# executing would see it half initialised (the CiTrus modules register with the Auto classes when imported).
# (name, the transformers module it waits for, the hook in `publishing.hooks`, the other CiTrus modules it imports)
_PUBLISHING_HOOKS = (
    ("model publisher", "transformers.models.auto.modeling_auto", "register_model_publisher", ("modeling_citrus",)),
    ("trainer model card", "transformers.trainer", "register_trainer_cards", ("modeling_citrus",)),
    ("trainer adapter config", "transformers.trainer", "register_trainer_adapter_config", ("training.lora",)),
    ("trainer checks", "transformers.trainer", "register_trainer_checks", ("training.trainer",)),
    (
        "feature extractor contract check",
        "transformers.models.auto.feature_extraction_auto",
        "register_extractor_contract_check",
        ("feature_extraction_citrus",),
    ),
    (
        "feature extractor Hub errors",
        "transformers.models.auto.feature_extraction_auto",
        "register_extractor_hub_errors",
        ("feature_extraction_citrus",),
    ),
    (
        "processor Hub errors",
        "transformers.models.auto.processing_auto",
        "register_processor_hub_errors",
        ("processing_citrus_fusion",),
    ),
)
for _name, _module, _hook, _needed in _PUBLISHING_HOOKS:
    _auto.add_registration(
        _module, _deferred("publishing.hooks", _hook), needed=(*_needed, "publishing.hooks"), name=_name
    )
del _name, _module, _hook, _needed  # loop names, not the package's
_auto.install()


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name not in _PUBLIC_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_PUBLIC_NAMES[name]}", __name__), name)
    # Using CiTrus means using it with transformers: its Auto classes must know it from here on.
    _auto.register_all()
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC_NAMES) | _SUBMODULES)


# The same names as `_PUBLIC_NAMES` (a literal list, for linters and type checkers).
__all__ = [
    "AutoModelForTimeSeriesRegression",
    "CiTrusConfig",
    "CiTrusFeatureExtractor",
    "CiTrusPreTrainedModel",
    "CiTrusModel",
    "CiTrusForPretraining",
    "CiTrusForSequenceClassification",
    "CiTrusForRegression",
    "CiTrusModelOutput",
    "CiTrusForPretrainingOutput",
    "CiTrusRegressionOutput",
    "CiTrusSequenceClassifierOutput",
    "CiTrusFusionConfig",
    "CiTrusFusionForSequenceClassification",
    "CiTrusFusionForRegression",
    "CiTrusFusionProcessor",
    "build_model_card",
    "bundled_checkpoint",
    "load_feature_extractor",
    "load_pretrained",
    "load_processor",
    "push_to_hub",
]
