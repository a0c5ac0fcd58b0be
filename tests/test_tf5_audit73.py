"""A transformers 5 user's habits on the CiTrus model objects (audit 73, tf5): a config field edited on a built model
before its forward pass, and a wrapper's `module.` prefix on the saved tensor names, at save and at load."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from tiny_configs import tiny_config

from citrus_hf import CiTrusForPretraining, CiTrusForSequenceClassification, CiTrusModel
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification

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


# ------------------------------------------------------------------ 2: a wrapper's `module.` prefix on the tensor names


def test_save_pretrained_refuses_a_wrappers_state_dict(tmp_path):
    """`model.save_pretrained(folder, state_dict=torch.nn.DataParallel(model).state_dict())` wrote every tensor as
    `module.<name>` without a word: a checkpoint that no CiTrus class loads (strict loading finds every tensor
    missing). A state dict of other tensors was written as silently."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    wrapped = torch.nn.DataParallel(model).state_dict()
    with pytest.raises(ValueError, match=r"every tensor under the prefix 'module\.'.*wrapper\.module\.save_pretrained"):
        model.save_pretrained(tmp_path / "wrapped", state_dict=wrapped)
    assert not (tmp_path / "wrapped" / "model.safetensors").exists()
    fewer = {k: v for k, v in model.state_dict().items() if not k.startswith("classifier.")}
    with pytest.raises(
        ValueError, match=r"does not match this model: missing \['classifier.bias', 'classifier.weight'\]"
    ):
        model.save_pretrained(tmp_path / "fewer", state_dict=fewer)
    model.save_pretrained(tmp_path / "own", state_dict=model.state_dict())  # the model's own still saves
    CiTrusForSequenceClassification.from_pretrained(tmp_path / "own")


@pytest.mark.parametrize("model_class", [CiTrusForSequenceClassification, CiTrusModel])
@pytest.mark.parametrize("prefix", ["module.", "_orig_mod."])
def test_a_checkpoint_of_prefixed_tensors_is_named_with_key_mapping(tmp_path, model_class, prefix):
    """Weights written from a wrapper's state dict (DataParallel / DistributedDataParallel `module.`, a compiled
    model's `_orig_mod.`) were refused with a list of missing and unexpected tensors and "Otherwise it is corrupt or
    was saved by another model"; the message now names the prefix and transformers' `key_mapping=` that loads them,
    and that fix loads the saved weights."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).eval()
    model.config.save_pretrained(tmp_path)
    tensors = {prefix + name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    save_file(tensors, tmp_path / "model.safetensors", metadata={"format": "pt"})
    mapping = {"^" + prefix.replace(".", "\\."): ""}
    with pytest.raises(ValueError, match=r"under the prefix '" + prefix.replace(".", "\\.") + r"'.*key_mapping="):
        model_class.from_pretrained(tmp_path)
    loaded = model_class.from_pretrained(tmp_path, key_mapping=mapping).eval()
    expected = model.citrus(_WINDOWS).last_hidden_state
    assert torch.equal(loaded.base_model(_WINDOWS).last_hidden_state, expected)


def test_a_fusion_checkpoint_of_prefixed_tensors_is_named(tmp_path):
    """The fusion family shares the save and the load: a wrapper's state dict is refused at save, named at load."""
    from test_fusion import fusion_config

    model = CiTrusFusionForSequenceClassification(fusion_config())
    with pytest.raises(ValueError, match=r"every tensor under the prefix 'module\.'"):
        model.save_pretrained(tmp_path / "wrapped", state_dict=torch.nn.DataParallel(model).state_dict())
    model.config.save_pretrained(tmp_path)
    tensors = {"module." + name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    save_file(tensors, tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"under the prefix 'module\.'.*key_mapping="):
        CiTrusFusionForSequenceClassification.from_pretrained(tmp_path)
