"""The package's publishing plugged into transformers' own publishing entry points, so that the habits of a
transformers user publish what `citrus push` publishes:

- `model.push_to_hub(...)` and `model.save_pretrained(folder, push_to_hub=True)` of every CiTrus-family model go
  through `push.push_to_hub` (the CiTrus card, the run's feature extractor, the remote and pipeline code). The model
  files hold an empty hook (`_CiTrusFamilyMixin._hub_publisher`): they are also the checkpoints' remote code, which
  cannot import this package.
- `Trainer.push_to_hub` writes its card in `Trainer.create_model_card`: for a CiTrus model the CiTrus card replaces
  transformers' draft.
- `push_to_hub` of the feature extractor and of the fusion processor (transformers' own) fails with the one-line
  error the models' publishing gives when the Hub cannot be reached.

The package root registers each `register_*` function with `_auto.add_registration`, to run once the transformers
module it patches has been imported; nothing below this layer imports it.
"""

from __future__ import annotations

import functools


def _push_with_citrus_card(model, repo_id: str, **push_kwargs):
    """`push_to_hub` of every CiTrus-family model while the package is installed: `citrus push`'s publishing path."""
    from .push import push_to_hub

    return push_to_hub(model, repo_id, **push_kwargs)


def register_model_publisher() -> None:
    """Every CiTrus-family model's `push_to_hub` (and `save_pretrained(push_to_hub=True)`) publishes with the CiTrus
    card."""
    from ..modeling_citrus import _CiTrusFamilyMixin

    _CiTrusFamilyMixin._hub_publisher = _push_with_citrus_card


def register_trainer_cards() -> None:
    """The `Trainer` writes its model card in `create_model_card` (run by `Trainer.push_to_hub`); for a CiTrus model,
    the CiTrus card replaces its draft, with the Trainer's arguments (license, tags, datasets, base model), and the
    code of the pipeline the saved config names joins the folder (idempotent)."""
    from transformers.trainer import Trainer

    from ..modeling_citrus import _CiTrusFamilyMixin

    draft_card = Trainer.create_model_card
    if getattr(draft_card, "_citrus_card", False):
        return

    @functools.wraps(draft_card)
    def create_model_card(self, *args, **kwargs):
        draft_card(self, *args, **kwargs)
        model = self.accelerator.unwrap_model(self.model) if self.accelerator is not None else self.model
        if isinstance(model, _CiTrusFamilyMixin) and self.is_world_process_zero():
            from .cards import write_trainer_card
            from .push import save_pipeline_code

            write_trainer_card(self, model, *args, **kwargs)
            # `Trainer.push_to_hub` uploads the output folder next: it carries the pipeline code, as `citrus push` does
            save_pipeline_code(self.args.output_dir)

    create_model_card._citrus_card = True
    Trainer.create_model_card = create_model_card


def _one_line_hub_errors(owner: type) -> None:
    """`owner.push_to_hub` (transformers' own, for a feature extractor or processor) with the one-line error the
    models' publishing gives when the Hub cannot be reached, instead of the HTTP client's exception (idempotent)."""
    original = owner.push_to_hub
    if getattr(original, "_citrus_hub_errors", False):
        return

    @functools.wraps(original)
    def push_to_hub(self, repo_id: str, *args, **kwargs):
        try:
            return original(self, repo_id, *args, **kwargs)
        except Exception as error:
            from .push import is_network_error, unreachable_hub_error

            if not is_network_error(error):
                raise
            from huggingface_hub import constants

            raise unreachable_hub_error(repo_id, constants.ENDPOINT, error) from error

    push_to_hub._citrus_hub_errors = True
    owner.push_to_hub = push_to_hub


def register_extractor_hub_errors() -> None:
    """One-line errors from `CiTrusFeatureExtractor.push_to_hub` when the Hub cannot be reached."""
    from ..feature_extraction_citrus import CiTrusFeatureExtractor

    _one_line_hub_errors(CiTrusFeatureExtractor)


def register_processor_hub_errors() -> None:
    """One-line errors from `CiTrusFusionProcessor.push_to_hub` when the Hub cannot be reached."""
    from ..processing_citrus_fusion import CiTrusFusionProcessor

    _one_line_hub_errors(CiTrusFusionProcessor)


__all__ = [
    "register_extractor_hub_errors",
    "register_model_publisher",
    "register_processor_hub_errors",
    "register_trainer_cards",
]
