"""A transformers 5 user's habits on the CiTrus model objects (audit 73, tf5): a config field edited on a built model
before its forward pass, and a wrapper's `module.` prefix on the saved tensor names, at save and at load."""

from __future__ import annotations

import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForPretraining, CiTrusForSequenceClassification, CiTrusModel

_WINDOWS = torch.randn(2, 1, 200, generator=torch.Generator().manual_seed(0))


# ------------------------------------------------------------------ 1: a built field edited before a forward pass


_EDITS = [("backbone", "cnn"), ("patch_length", 10), ("d_model", 32)]


@pytest.mark.parametrize(
    ("model_class", "field", "value"),
    [(model_class, *edit) for model_class in (CiTrusForPretraining, CiTrusModel) for edit in _EDITS]
    + [(CiTrusForSequenceClassification, *edit) for edit in _EDITS[:2]],  # (its head already named d_model)
)
def test_a_built_field_edited_on_the_config_is_refused_by_the_forward_pass(model_class, field, value):
    """`model.config.backbone = "cnn"` on a built pre-training model silently turned its masked objective into a plain
    auto-encoder over every patch (another loss, from a model that still runs its transformer); `patch_length` or
    `d_model` set on any built model failed deep in torch ("mat1 and mat2 shapes cannot be multiplied"). Only
    `save_pretrained` compared the fields the modules were built from."""
    torch.manual_seed(0)
    model = model_class(tiny_config(num_labels=2) if model_class is CiTrusForSequenceClassification else tiny_config())
    model.eval()
    setattr(model.config, field, value)
    with pytest.raises(ValueError, match=rf"was built with {field}=.*but its config now says {field}={value!r}"):
        model(_WINDOWS)


def test_a_config_that_still_describes_the_model_runs_as_before():
    """A live setting (`pooling`) still changes the forward pass; one set back to its built value is accepted."""
    torch.manual_seed(0)
    model = CiTrusForPretraining(tiny_config()).eval()
    torch.manual_seed(1)
    expected = model(_WINDOWS).loss
    model.config.patch_length = 10
    model.config.patch_length = 20
    torch.manual_seed(1)
    assert torch.equal(model(_WINDOWS).loss, expected)
