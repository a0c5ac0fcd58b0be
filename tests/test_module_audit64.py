"""Audit 64 (torch.nn.Module / PreTrainedModel habits): BatchNorm under gradient checkpointing and with padding,
torch.func transforms, a config changed after the model was built, and gradient checkpointing on a CNN-only model."""

from __future__ import annotations

import copy

import pytest
import torch
from tiny_configs import checkpointing_off, checkpointing_on, tiny_config
from torch.func import functional_call, grad, vmap

from citrus_hf import CiTrusForPretraining, CiTrusForSequenceClassification, CiTrusModel


def _train(model: CiTrusForSequenceClassification, windows, labels, patch_mask=None, steps: int = 3):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        model(windows, labels=labels, patch_mask=patch_mask).loss.backward()
        optimizer.step()
    return model


@pytest.mark.parametrize("use_reentrant", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_gradient_checkpointing_updates_batchnorm_statistics_once(use_reentrant, padded):
    """The checkpointed layers' recomputation in backward() leaves the running statistics alone: the same training
    with and without checkpointing gives the same buffers and eval outputs."""
    torch.manual_seed(0)
    windows, labels = torch.randn(8, 1, 200), torch.tensor([0, 1] * 4)
    patch_mask = None
    if padded:
        patch_mask = torch.ones(8, 10, dtype=torch.long)
        patch_mask[::2, 6:] = 0
    config = tiny_config(num_hidden_layers=2, norm_type="batchnorm", head_dropout=0.0)
    plain = CiTrusForSequenceClassification(config).train()
    checkpointed = copy.deepcopy(plain)
    checkpointing_on(checkpointed, use_reentrant=use_reentrant)
    for model in (plain, checkpointed):
        _train(model, windows, labels, patch_mask)
    expected, got = plain.state_dict(), checkpointed.state_dict()
    assert int(got["citrus.encoder.layers.0.attention_norm.norm.num_batches_tracked"]) == 3
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-6, atol=1e-7, msg=key)
    plain.eval(), checkpointed.eval()
    with torch.no_grad():
        torch.testing.assert_close(checkpointed(windows).logits, plain(windows).logits, rtol=1e-6, atol=1e-7)


def test_batchnorm_statistics_leave_out_padding():
    """In training, padding patches neither move the batch statistics (the outputs) nor the running ones; a batch
    without padding runs as before, bit for bit."""
    torch.manual_seed(0)
    short = torch.randn(2, 1, 100)  # 5 patches
    padded = torch.zeros(2, 1, 200)
    padded[:, :, :100] = short
    patch_mask = torch.zeros(2, 10, dtype=torch.long)
    patch_mask[:, :5] = 1
    for pooling in ("mean", "cls"):
        unpadded = CiTrusForSequenceClassification(
            tiny_config(norm_type="batchnorm", head_dropout=0.0, pooling=pooling)
        ).train()
        masked = copy.deepcopy(unpadded)
        with torch.no_grad():
            expected = unpadded(short).logits
            got = masked(padded, patch_mask=patch_mask).logits
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
        for key, value in unpadded.state_dict().items():
            torch.testing.assert_close(masked.state_dict()[key], value, rtol=1e-5, atol=1e-6, msg=key)

    # no padding: torch's BatchNorm itself, with or without an all-ones patch_mask
    model = CiTrusForSequenceClassification(tiny_config(norm_type="batchnorm", head_dropout=0.0)).train()
    twin = copy.deepcopy(model)
    with torch.no_grad():
        assert torch.equal(model(padded).logits, twin(padded, patch_mask=torch.ones(2, 10)).logits)
    assert all(torch.equal(value, twin.state_dict()[key]) for key, value in model.state_dict().items())


def test_vmap_per_sample_gradients_match_a_loop():
    """PyTorch's per-sample-gradient recipe runs (the data-dependent input checks are skipped under torch.func, as
    under tracing) and gives each example's own gradient."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(head_dropout=0.0)).eval()
    params = {name: tensor.detach() for name, tensor in model.named_parameters()}
    windows, labels = torch.randn(3, 1, 200), torch.tensor([0, 1, 0])
    patch_mask = torch.ones(3, 10, dtype=torch.long)
    patch_mask[1, 7:] = 0

    def loss(parameters, window, label, mask):
        inputs = {"labels": label[None], "patch_mask": mask[None]}
        return functional_call(model, parameters, (window[None],), inputs).loss

    per_sample = vmap(grad(loss), in_dims=(None, 0, 0, 0))(params, windows, labels, patch_mask)
    for index in range(3):
        expected = grad(loss)(params, windows[index], labels[index], patch_mask[index])
        for name, value in expected.items():
            torch.testing.assert_close(per_sample[name][index], value, rtol=1e-4, atol=1e-6, msg=name)
    # outside a transform the checks still run
    with pytest.raises(ValueError, match="patch_mask"):
        model(windows, patch_mask=torch.full((3, 10), 2))


@pytest.mark.parametrize(
    "field, value, problem",
    [
        ("pooling", "cls", "reads a CLS token, which this model was built without"),
        ("pooling", "mean_max", "pooled vectors would hold 32 values, and its `classifier` head takes 16"),
        ("head_features", "all_layers", "pooled vectors would hold 32 values"),
    ],
)
def test_a_pooling_the_head_was_not_built_for_is_refused(tmp_path, field, value, problem):
    model = CiTrusForSequenceClassification(tiny_config()).eval()
    windows = torch.randn(2, 1, 200)
    built = getattr(model.config, field)
    setattr(model.config, field, value)
    for action in (lambda: model(windows), lambda: model.save_pretrained(tmp_path)):
        with pytest.raises(ValueError, match=rf"built with {field}='{built}'.*{field}='{value}'.*{problem}"):
            action()
    assert not (tmp_path / "model.safetensors").exists()
    setattr(model.config, field, built)
    model(windows)
    model.config.pooling = "max"  # the same width: a live change
    model(windows)
    model.save_pretrained(tmp_path)


def test_a_cls_model_refuses_another_pooling():
    model = CiTrusForSequenceClassification(tiny_config(pooling="cls")).eval()
    model.config.pooling = "mean"
    with pytest.raises(ValueError, match=r"built with a CLS token.*Set the config back \(pooling='cls'\)"):
        model(torch.randn(2, 1, 200))


@pytest.mark.parametrize(
    "model_class, field, value",
    [
        (CiTrusForSequenceClassification, "num_attention_heads", 1),
        (CiTrusForSequenceClassification, "norm_eps", 0.5),
        (CiTrusModel, "num_hidden_layers", 2),
        (CiTrusForPretraining, "pretraining_objective", "fourier"),
    ],
)
def test_save_refuses_a_structural_field_changed_after_building(tmp_path, model_class, field, value):
    """The live model ignores the change, so the checkpoint would load as another model: refused, naming the field
    and both values; set back, the model saves."""
    model = model_class(tiny_config())
    built = getattr(model.config, field)
    setattr(model.config, field, value)
    with pytest.raises(ValueError, match=rf"built with {field}={built!r}.*now says {field}={value!r}.*Set the config"):
        model.save_pretrained(tmp_path)
    setattr(model.config, field, built)
    model.save_pretrained(tmp_path)
    assert torch.equal(
        model_class.from_pretrained(tmp_path).state_dict()[next(iter(model.state_dict()))],
        model.state_dict()[next(iter(model.state_dict()))],
    )


def test_gradient_checkpointing_on_a_cnn_model_is_refused_clearly():
    model = CiTrusForSequenceClassification(tiny_config(backbone="cnn"))
    with pytest.raises(ValueError, match=r"no transformer layers \(backbone='cnn'\).*train without it"):
        checkpointing_on(model)
    checkpointing_off(model)  # nothing to disable
    assert not model.is_gradient_checkpointing
