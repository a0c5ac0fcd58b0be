"""Publishing: model cards (`cards`), pushing models and LoRA adapters to the Hub (`push`), and dataset cards and
dataset publishing (`datasets`)."""

from .cards import build_model_card
from .datasets import dataset_card, publish, publish_from_args
from .push import push_adapter_to_hub, push_to_hub

__all__ = ["build_model_card", "dataset_card", "publish", "publish_from_args", "push_adapter_to_hub", "push_to_hub"]
