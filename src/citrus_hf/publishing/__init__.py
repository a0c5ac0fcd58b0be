"""Publishing: model cards (`cards`), pushing models and LoRA adapters to the Hub (`push`), and dataset cards and
dataset publishing (`datasets`).

The names below are loaded on first use (PEP 562): `citrus data --help` reads `datasets.PublishArguments`, and must
not import torch and transformers through the model cards to print its options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from .cards import build_model_card
    from .datasets import dataset_card, publish, publish_from_args
    from .push import push_adapter_to_hub, push_to_hub

# public name -> the module of this package that defines it
_NAMES = {
    "build_model_card": "cards",
    "dataset_card": "datasets",
    "publish": "datasets",
    "publish_from_args": "datasets",
    "push_adapter_to_hub": "push",
    "push_to_hub": "push",
}

# The same names as `_NAMES` (a literal list, for linters and type checkers), as in the package root.
__all__ = [
    "build_model_card",
    "dataset_card",
    "publish",
    "publish_from_args",
    "push_adapter_to_hub",
    "push_to_hub",
]


__getattr__, __dir__ = lazy_attributes(__name__, _NAMES, globals())
