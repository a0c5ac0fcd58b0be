"""The CiTrus model family: every class x backbone x objective, strict loading, masking, leakage, export, Trainer."""

from __future__ import annotations

import json
import os
import textwrap

import numpy as np
import pytest
import torch
from hub_server import run_client
from safetensors.torch import load_file, save_file
from tiny_configs import checkpointing_on, tiny_config
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForPreTraining,
    AutoModelForSequenceClassification,
    Trainer,
    TrainingArguments,
)

from citrus_hf import (
    CiTrusConfig,
    CiTrusForPretraining,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusModel,
    build_model_card,
    modeling_citrus,
)
from citrus_hf.modeling_citrus import (
    PRETRAINING_HEADS,
    CiTrusMasking,
    CiTrusPretrainingHead,
    CiTrusResidualBlock,
    patchify,
    pool_patches,
    pool_states,
)
from citrus_hf.vocabulary_citrus import (
    AUTOCORRELATION_LAGS,
    HEAD_FEATURES,
    POOLING_STATISTICS,
    POOLINGS,
    PRETRAINING_OBJECTIVES,
)

BACKBONES = ["hybrid", "cnn", "transformer"]
OBJECTIVES = list(PRETRAINING_HEADS)


def _assert_all_params_have_grad(model):
    missing = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]
    # the mask token is unused by the CNN-only ablation (nothing is masked there)
    missing = [name for name in missing if not name.endswith("mask_token")]
    assert not missing, f"parameters without gradient: {missing}"


# ----------------------------------------------------------------------------------------------------------------------
# Every class x backbone x objective
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_pretraining_forward_backward(backbone, objective):
    model = CiTrusForPretraining(tiny_config(backbone=backbone, pretraining_objective=objective, num_channels=2))
    inputs = torch.randn(3, 2, 200)
    outputs = model(inputs)
    assert outputs.loss.ndim == 0 and torch.isfinite(outputs.loss)
    outputs.loss.backward()
    _assert_all_params_have_grad(model)
    assert outputs.token_mask.shape == (3, 2, 10)
    target_size = PRETRAINING_HEADS[objective].target_size(model.config)
    assert outputs.prediction.shape == outputs.target.shape == (3, 2, 10, target_size)
    if not model.head.predicts_samples:
        assert outputs.reconstruction is None
    else:
        assert outputs.reconstruction.shape == inputs.shape
        # visible patches of the reconstruction are the input itself
        visible = ~outputs.token_mask
        torch.testing.assert_close(patchify(outputs.reconstruction, 20)[visible], patchify(inputs, 20)[visible])
    expected_ratio = 1.0 if backbone == "cnn" else 0.5
    assert outputs.token_mask.float().mean().item() == pytest.approx(expected_ratio)


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("pooling", POOLINGS)
def test_classification_forward_backward(backbone, pooling):
    if pooling == "cls" and backbone == "cnn":
        pytest.skip("cls pooling needs a transformer (rejected by the config, tested below)")
    model = CiTrusForSequenceClassification(
        tiny_config(backbone=backbone, pooling=pooling, num_channels=2, num_labels=3)
    )
    outputs = model(torch.randn(4, 2, 200), labels=torch.tensor([0, 1, 2, 1]))
    assert outputs.logits.shape == (4, 3)
    outputs.loss.backward()
    _assert_all_params_have_grad(model)


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("head_features", HEAD_FEATURES)
def test_regression_forward_backward(backbone, head_features):
    model = CiTrusForRegression(tiny_config(backbone=backbone, head_features=head_features, num_targets=2))
    outputs = model(torch.randn(4, 1, 200), labels=torch.randn(4, 2))
    assert outputs.logits.shape == (4, 2)
    outputs.loss.backward()
    assert model.regressor.weight.grad is not None


def test_multi_label_classification():
    model = CiTrusForSequenceClassification(tiny_config(num_labels=4, problem_type="multi_label_classification"))
    labels = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    outputs = model(torch.randn(2, 1, 200), labels=labels)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(outputs.logits, labels)
    torch.testing.assert_close(outputs.loss, expected)


def test_model_returns_encoded_and_context_states():
    model = CiTrusModel(tiny_config(num_channels=3)).eval()
    outputs = model(torch.randn(2, 3, 200), output_hidden_states=True)
    assert outputs.encoded_states.shape == (2, 3, 10, 16)
    assert outputs.last_hidden_state.shape == (2, 3, 10, 16)
    assert len(outputs.hidden_states) == model.config.num_hidden_layers + 1
    torch.testing.assert_close(outputs.hidden_states[-1], outputs.last_hidden_state)


def test_channel_independent_encoder_accepts_any_channel_count():
    model = CiTrusModel(tiny_config(num_channels=1)).eval()
    single = model(torch.randn(2, 1, 200)).last_hidden_state
    many = model(torch.randn(2, 5, 200)).last_hidden_state
    assert single.shape[1] == 1 and many.shape[1] == 5
    # channels are encoded independently: channel 0 of a 2-channel input equals the 1-channel result
    x = torch.randn(2, 2, 200)
    torch.testing.assert_close(model(x).last_hidden_state[:, :1], model(x[:, :1]).last_hidden_state)


def test_cls_token_with_padding_mask_ignores_padding():
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).eval()
    x = torch.randn(1, 1, 200)
    patch_mask = torch.ones(1, 10, dtype=torch.long)
    patch_mask[:, 6:] = 0
    altered = x.clone()
    altered[..., 120:] = 100.0  # only padding changes
    with torch.no_grad():
        a = model(x, patch_mask=patch_mask).logits
        b = model(altered, patch_mask=patch_mask).logits
    torch.testing.assert_close(a, b)


# ----------------------------------------------------------------------------------------------------------------------
# Masking
# ----------------------------------------------------------------------------------------------------------------------


def test_block_masking_exact_ratio_and_blocks():
    masking = CiTrusMasking(CiTrusConfig(mask_ratio=0.5, mask_block_size=5))
    mask = masking(64, 3, 150, torch.device("cpu"))
    assert mask.shape == (64, 3, 150)
    assert (mask.sum(-1) == 75).all()
    # runs of masked patches: whole blocks of 5 except where a block is cut by the window edge or the quota
    runs = []
    for row in mask.reshape(-1, 150).numpy():
        edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(int), [0]])))
        runs.extend(edges[1::2] - edges[0::2])
    assert np.median(runs) >= 5
    assert mask.reshape(-1, 150).float().std(0).min() > 0  # every position gets masked sometimes


def test_masking_modes():
    shared = CiTrusMasking(CiTrusConfig(num_channels=3, mask_mode="shared"))(8, 3, 150, torch.device("cpu"))
    assert (shared == shared[:, :1]).all()
    per_channel = CiTrusMasking(CiTrusConfig(num_channels=3))(8, 3, 150, torch.device("cpu"))
    assert not (per_channel == per_channel[:, :1]).all()
    config = CiTrusConfig(num_channels=3, channel_modalities=["eeg", "eeg", "eog"], mask_mode="per_modality")
    per_modality = CiTrusMasking(config)(8, 3, 150, torch.device("cpu"))
    assert (per_modality[:, 0] == per_modality[:, 1]).all()
    assert not (per_modality[:, 0] == per_modality[:, 2]).all()


def test_masked_patch_never_reaches_visible_tokens():
    """Changing the samples of a masked patch leaves every visible token's CNN features unchanged."""
    model = CiTrusModel(tiny_config(num_channels=2)).train()  # train mode: no eval-only shortcuts
    x = torch.randn(3, 2, 200)
    token_mask = CiTrusMasking(model.config)(3, 2, 10, x.device)
    altered = patchify(x.clone(), 20)
    altered[token_mask] = torch.randn_like(altered[token_mask]) * 50
    altered = altered.reshape(3, 2, 200)
    a = model(x, token_mask=token_mask).encoded_states
    b = model(altered, token_mask=token_mask).encoded_states
    torch.testing.assert_close(a[~token_mask], b[~token_mask], rtol=0, atol=0)
    # and without masking the same change does alter those patches' features: the test can fail
    assert not torch.allclose(model(x).encoded_states[token_mask], model(altered).encoded_states[token_mask])


def test_cnn_sees_each_patch_on_its_own():
    model = CiTrusModel(tiny_config()).eval()
    x = torch.randn(1, 1, 200)
    altered = x.clone()
    altered[..., 40:60] += 5.0  # patch 2 only
    with torch.no_grad():
        a, b = model(x).encoded_states, model(altered).encoded_states
    changed = (a - b).abs().amax(-1)[0, 0] > 0
    assert changed.tolist() == [i == 2 for i in range(10)]


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("pooling", ["mean", "cls"])
@pytest.mark.parametrize("padded", [False, True])
def test_pretraining_last_layer_only_at_masked_patches_changes_nothing(objective, pooling, padded):
    """By default the last layer runs only where the loss looks; loss, prediction and every gradient are those of
    the full pass (a mask passed in, or `output_hidden_states=True`, takes the full pass)."""
    config = tiny_config(pretraining_objective=objective, pooling=pooling, num_channels=2, num_hidden_layers=2)
    _assert_reduced_pass_is_the_full_pass(config, padded)


def _assert_reduced_pass_is_the_full_pass(config, padded: bool) -> None:
    """Loss, prediction, reconstruction and gradients of the default pass (last layer at the masked patches only,
    `positions_to_keep`) equal those of the full pass with the same mask; 2 channels, 10 patches of 20, width 16."""
    model = CiTrusForPretraining(config).train()
    x = torch.randn(3, 2, 200)
    patch_mask = None
    if padded:  # the last window of a recording: its final patches are padding, neither attended to nor scored
        patch_mask = torch.ones(3, 10, dtype=torch.long)
        patch_mask[1, 6:] = 0
    torch.manual_seed(7)
    reduced = model(x, patch_mask=patch_mask)
    reduced.loss.backward()
    reduced_grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    torch.manual_seed(7)
    token_mask = model.masking(3, 2, 10, x.device, patch_mask=patch_mask)  # the same draw as inside the first call
    full = model(x, patch_mask=patch_mask, token_mask=token_mask)
    full.loss.backward()

    assert reduced.last_hidden_state is None and full.last_hidden_state.shape == (3, 2, 10, 16)
    torch.testing.assert_close(reduced.token_mask, token_mask)
    # the padded window's mask is drawn over its 6 real patches: fewer masked than in a full one, none of the padding
    assert not padded or (token_mask[1].sum(-1) < token_mask[0].sum(-1)).all() and not token_mask[1, :, 6:].any()
    torch.testing.assert_close(reduced.loss, full.loss)
    torch.testing.assert_close(reduced.prediction, full.prediction)
    if model.head.predicts_samples:
        torch.testing.assert_close(reduced.reconstruction, full.reconstruction)
    assert reduced_grads.keys() == {name for name, p in model.named_parameters() if p.grad is not None}
    for name, p in model.named_parameters():
        if p.grad is not None:
            torch.testing.assert_close(reduced_grads[name], p.grad, msg=name)
    torch.manual_seed(7)
    with_states = model(x, patch_mask=patch_mask, output_hidden_states=True)
    torch.testing.assert_close(with_states.last_hidden_state, full.last_hidden_state)


def test_gradient_checkpointing_gives_the_same_gradients():
    config = tiny_config(num_hidden_layers=2)
    model = CiTrusForPretraining(config).train()
    x = torch.randn(3, 1, 200)
    attention_calls = []
    model.citrus.encoder.layers[-1].attention.register_forward_hook(lambda *args: attention_calls.append(1))
    grads = []
    for checkpointing in (False, True):
        if checkpointing:
            checkpointing_on(model)
        model.zero_grad()
        torch.manual_seed(3)
        loss = model(x).loss
        loss.backward()
        grads.append({name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None})
    # once per forward, plus the recomputation in the checkpointed backward (the last layer's reduced one included)
    assert len(attention_calls) == 3
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], msg=name)


def test_positions_to_keep_selects_last_layer_outputs():
    model = CiTrusModel(tiny_config(num_channels=2, num_hidden_layers=2)).eval()
    x = torch.randn(3, 2, 200)
    positions = torch.tensor([[[0, 4, 9], [1, 2, 3]]]).expand(3, 2, 3)
    with torch.no_grad():
        full = model(x).last_hidden_state
        kept = model(x, positions_to_keep=positions).last_hidden_state
    assert kept.shape == (3, 2, 3, 16)
    torch.testing.assert_close(kept, full.take_along_dim(positions[..., None], dim=2))


@pytest.mark.parametrize(
    ("config_overrides", "positions", "message"),
    [
        ({}, torch.zeros(3, 2, dtype=torch.long), "shape"),
        ({}, torch.zeros(3, 2, 4), "integers"),
        ({}, torch.full((3, 2, 1), 10), r"\[0, 10\)"),
        (
            {"attention_type": "criss_cross", "num_channel_attention_heads": 1},
            torch.zeros(3, 2, 1).long(),
            "channel_independent",
        ),
        ({"backbone": "cnn"}, torch.zeros(3, 2, 1).long(), "transformer"),
    ],
)
def test_bad_positions_to_keep_are_clear_errors(config_overrides, positions, message):
    model = CiTrusModel(tiny_config(num_channels=2, **config_overrides))
    with pytest.raises((ValueError, TypeError), match=message):
        model(torch.randn(3, 2, 200), positions_to_keep=positions)


@pytest.mark.parametrize("patch_length", [20, 25, 9])
def test_cnn_decoder_rebuilds_any_patch_length(patch_length):
    """Odd lengths are rounded up by the stem's strides; the decoder crops back to exactly one patch."""
    n_fft = 2 * patch_length + (patch_length % 2)  # an even offset from the patch length
    config = tiny_config(context_length=patch_length * 10, patch_length=patch_length, spectrogram_n_fft=n_fft)
    model = CiTrusForPretraining(config)
    outputs = model(torch.randn(2, 1, patch_length * 10))
    assert outputs.prediction.shape == (2, 1, 10, patch_length)
    assert outputs.reconstruction.shape == (2, 1, patch_length * 10)


def test_stem_inference_in_cache_sized_runs_matches_one_pass():
    model = CiTrusModel(tiny_config()).eval()
    x = torch.randn(4, 1, 200)
    with torch.no_grad():
        one_pass = model(x).encoded_states
        model.patch_embedding.cpu_inference_chunk = 7  # 40 patches in runs of 7 (the last one shorter)
        chunked = model(x).encoded_states
    torch.testing.assert_close(chunked, one_pass)


def test_residual_shortcut_in_bf16_adds_the_same_values_padded():
    """In bf16 the stem adds its shortcut padded with zero channels over the whole output (faster there); the values
    are those of the float32 route, adding the subsampled shortcut to the first channels in place."""
    torch.manual_seed(0)
    block = CiTrusResidualBlock(8, 16, kernel_size=3, stride=2, activation="relu").to(torch.bfloat16).eval()
    hidden = torch.randn(5, 8, 20, dtype=torch.bfloat16)
    with torch.no_grad():
        convolved = block.conv2(block.activation(block.conv1(hidden)))
        convolved[:, :8] += hidden[..., ::2]
        assert torch.equal(block(hidden), block.activation(convolved))


@pytest.mark.parametrize(
    ("channels", "strides", "kernel_size", "patch_length"),
    [((8, 16, 32), (1, 2, 2), 3, 20), ((6, 3), (3, 1), 5, 16), ((4,), (1,), 3, 8)],
)
def test_dense_residual_blocks_compute_the_stem(channels, strides, kernel_size, patch_length):
    """The stem's blocks as dense matrix products (the bf16 AMX inference path) give the convolutions' tokens: exactly
    up to float rounding in fp32 (narrowing widths, strides that do not divide the patch, long kernels included), and
    as close to fp32 as the convolutions are in bf16; the unfused route (where oneDNN refuses a shape) agrees too."""
    config = tiny_config(
        cnn_channels=list(channels), cnn_strides=list(strides), cnn_kernel_size=kernel_size, patch_length=patch_length,
        context_length=patch_length * 10,
    )  # fmt: skip
    torch.manual_seed(0)
    stem = CiTrusModel(config).eval().patch_embedding
    patches = 3 * torch.randn(300, patch_length)  # raw patches are signed: the first block carries relu(x), relu(-x)
    with torch.no_grad():
        convolutions = stem(patches)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            convolutions_bf16 = stem(patches).float()
        assert stem.use_dense_blocks(torch.float32)
        torch.testing.assert_close(stem(patches), convolutions, atol=1e-5, rtol=1e-5)
        stem.dense_blocks.fused = [False] * len(stem.dense_blocks.fused)
        torch.testing.assert_close(stem(patches), convolutions, atol=1e-5, rtol=1e-5)
        assert stem.use_dense_blocks(torch.bfloat16)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            dense_bf16 = stem(patches).float()
    bf16_error = (convolutions_bf16 - convolutions).abs().max()
    assert (dense_bf16 - convolutions).abs().max() <= 2 * bf16_error
    # gradients always go through the convolutions: the dense copy is for a frozen model
    assert stem(patches).requires_grad and stem.blocks[0].conv1.weight.grad is None
    stem(patches).sum().backward()
    assert stem.blocks[0].conv1.weight.grad is not None
    with pytest.raises(RuntimeError, match="inference_mode"):
        stem.dense_blocks(patches[:, None])


def test_dense_residual_blocks_only_for_short_relu_stems_and_never_saved(monkeypatch):
    stem = CiTrusModel(tiny_config()).patch_embedding
    with monkeypatch.context() as patched:  # a PyTorch without oneDNN: the unfused products, same tokens
        patched.setattr(torch.backends.mkldnn, "is_available", lambda: False)
        assert stem.use_dense_blocks(torch.float32) and not any(stem.dense_blocks.fused)
    patches = torch.randn(30, 20)
    with torch.no_grad():
        dense = stem(patches)
        stem.dense_blocks = None
        torch.testing.assert_close(dense, stem(patches), atol=1e-5, rtol=1e-5)
    stem = CiTrusModel(tiny_config(cnn_activation="gelu")).patch_embedding
    assert not stem.use_dense_blocks(torch.bfloat16) and stem.dense_blocks is None
    long_patches = tiny_config(patch_length=100, context_length=200, spectrogram_n_fft=120)
    stem = CiTrusModel(long_patches).patch_embedding  # dense arithmetic grows with the patch length squared
    assert not stem.use_dense_blocks(torch.bfloat16) and stem.dense_blocks is None
    model = CiTrusModel(tiny_config())
    keys = set(model.state_dict())
    assert model.patch_embedding.use_dense_blocks(torch.bfloat16)
    assert set(model.state_dict()) == keys  # its matrices are non-persistent buffers


# ----------------------------------------------------------------------------------------------------------------------
# Learning
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("backbone", ["hybrid", "transformer"])
def test_each_objective_overfits_one_batch(objective, backbone):
    config = tiny_config(pretraining_objective=objective, backbone=backbone, d_model=32, num_attention_heads=4)
    losses = _overfit_one_batch(config)
    assert losses[-1] < 0.5 * losses[0], losses[::10]


def _overfit_one_batch(config) -> list[float]:
    """The training losses of 60 AdamW steps on one batch of 4 sines with a fixed mask (the same task every step)."""
    model = CiTrusForPretraining(config)
    t = torch.linspace(0, 2, 200)
    x = torch.stack([torch.sin(2 * torch.pi * f * t) for f in (3.0, 5.0, 7.0, 11.0)])[:, None]  # (4, 1, 200)
    token_mask = CiTrusMasking(config)(4, 1, 10, x.device)  # a fixed mask: the same task every step
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = model(x, token_mask=token_mask).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_objective_registry_is_the_config_list():
    """The config validates `pretraining_objective` against its own list (it must not import the model file)."""
    assert tuple(PRETRAINING_HEADS) == PRETRAINING_OBJECTIVES
    assert all(issubclass(head, CiTrusPretrainingHead) for head in PRETRAINING_HEADS.values())
    assert all(head.objective == name for name, head in PRETRAINING_HEADS.items())


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_baseline_loss_is_the_loss_of_predicting_the_mean_target(objective):
    """The held-out reference line: for a mean-squared-error objective the loss of the mean target is the targets'
    variance; for z-scored samples (~N(0, 1)) it is about 1, the level of predicting zero."""
    model = CiTrusForPretraining(tiny_config(pretraining_objective=objective))
    torch.manual_seed(0)
    x = torch.randn(64, 1, 200)
    outputs = model(x)
    target = outputs.target[outputs.token_mask]
    baseline = model.head.baseline_loss(target)
    constant = target.mean(dim=0, keepdim=True).expand_as(target)
    torch.testing.assert_close(baseline, model.head.prediction_loss(constant, target))
    if type(model.head).prediction_loss is CiTrusPretrainingHead.prediction_loss:
        torch.testing.assert_close(baseline, target.var(dim=0, unbiased=False).mean())
    if model.head.predicts_samples:
        mse_of_zero = float(target.pow(2).mean())
        assert 0.9 < mse_of_zero < 1.1 and float(baseline) >= mse_of_zero - 0.01
    # an untrained model is no better than the baseline
    assert float(outputs.loss) > 0.8 * float(baseline)


def test_time_frequency_loss_adds_the_weighted_log_spectrum_error_to_the_time_loss():
    config = tiny_config(pretraining_objective="time_frequency", frequency_loss_weight=0.5)
    x = torch.randn(4, 1, 200)
    token_mask = CiTrusMasking(config)(4, 1, 10, x.device)
    outputs = {}
    for objective, weight in (("time", 0.0), ("time_frequency", 0.0), ("time_frequency", 0.5)):
        torch.manual_seed(0)
        model = CiTrusForPretraining(tiny_config(pretraining_objective=objective, frequency_loss_weight=weight))
        outputs[objective, weight] = model(x, token_mask=token_mask)
    # the same decoder with the same initialisation: weight 0 is the time objective
    assert torch.equal(outputs["time", 0.0].loss, outputs["time_frequency", 0.0].loss)
    both = outputs["time_frequency", 0.5]
    assert torch.equal(both.prediction, outputs["time", 0.0].prediction)
    predicted = both.prediction[token_mask].detach().double().numpy()
    true = both.target[token_mask].double().numpy()

    def log_magnitude(patches):
        return np.log1p(np.abs(np.fft.rfft(patches, axis=-1, norm="ortho")))

    expected = np.mean((predicted - true) ** 2) + 0.5 * np.mean((log_magnitude(predicted) - log_magnitude(true)) ** 2)
    assert float(both.loss) == pytest.approx(expected, rel=1e-5)
    assert float(both.loss) > float(outputs["time", 0.0].loss)


class _DerivativeHead(CiTrusPretrainingHead):
    """A made-up objective for the test: predict the sample-to-sample differences of masked patches."""

    objective = "derivative"
    description = "predict the {config.patch_length}-sample patches' first differences"
    predicts_samples = False

    def __init__(self, config):
        super().__init__()
        self.output = torch.nn.Linear(config.d_model, config.patch_length - 1)

    @classmethod
    def target_size(cls, config) -> int:
        return config.patch_length - 1

    def target(self, input_values, patches):
        return patches.diff(dim=-1)

    def forward(self, tokens):
        return self.output(tokens)


def test_a_new_objective_is_one_class_and_one_registration(monkeypatch):
    """Registered (and named in the config's list), a head class is a working objective: forward and backward,
    the reduced last layer (positions_to_keep) equal to the full pass, overfitting one batch, its card line."""
    from citrus_hf import configuration_citrus
    from citrus_hf.modeling_citrus import register_pretraining_head

    monkeypatch.setattr(configuration_citrus, "PRETRAINING_OBJECTIVES", (*PRETRAINING_OBJECTIVES, "derivative"))
    register_pretraining_head(_DerivativeHead)
    try:
        with pytest.raises(ValueError, match="already registered"):  # another class under the name
            register_pretraining_head(type("OtherDerivativeHead", (_DerivativeHead,), {}))
        config = tiny_config(pretraining_objective="derivative", num_channels=2, num_hidden_layers=2)
        model = CiTrusForPretraining(config)
        outputs = model(torch.randn(3, 2, 200))
        assert outputs.prediction.shape == outputs.target.shape == (3, 2, 10, 19) and outputs.reconstruction is None
        outputs.loss.backward()
        _assert_all_params_have_grad(model)
        _assert_reduced_pass_is_the_full_pass(config, padded=True)
        losses = _overfit_one_batch(tiny_config(pretraining_objective="derivative", d_model=32, num_attention_heads=4))
        assert losses[-1] < 0.5 * losses[0], losses[::10]
        assert "predict the 20-sample patches' first differences" in str(build_model_card(model))
    finally:
        PRETRAINING_HEADS.pop("derivative")


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_model_card_states_the_objective_from_its_head(objective):
    model = CiTrusForPretraining(tiny_config(pretraining_objective=objective, spectrogram_n_fft=40))
    line = PRETRAINING_HEADS[objective].describe(model.config)
    assert "{" not in line and line in str(build_model_card(model))


def test_trainer_step_needs_no_configuration(tmp_path):
    from datasets import Dataset

    rng = np.random.default_rng(0)
    dataset = Dataset.from_dict(
        {"input_values": rng.standard_normal((8, 1, 200)).astype("float32").tolist(), "labels": [0, 1] * 4}
    ).with_format("torch")
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=4, report_to="none")
    result = Trainer(model=model, args=args, train_dataset=dataset).train()
    assert np.isfinite(result.training_loss)
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_freeze_backbone_trains_only_the_head():
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    model.freeze_backbone()
    model.train()
    assert not model.citrus.training and model.classifier.training
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"classifier.weight", "classifier.bias"}
    model.freeze_backbone(False)
    model.train()
    assert model.citrus.training
    # every parameter but the pre-training mask token, which no task model uses (frozen so that DDP takes the model)
    assert {name for name, p in model.named_parameters() if not p.requires_grad} == {"citrus.mask_token"}


# ----------------------------------------------------------------------------------------------------------------------
# Save / load
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model_class", [CiTrusModel, CiTrusForPretraining, CiTrusForSequenceClassification, CiTrusForRegression]
)
def test_save_load_strict_and_identical(model_class, tmp_path):
    # three outputs: a regressor's are `num_targets` (it refuses `num_labels`, the classes of a classifier)
    outputs = {"num_targets" if model_class is CiTrusForRegression else "num_labels": 3}
    config = tiny_config(num_channels=2, **outputs)
    model = model_class(config).eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists() and not list(tmp_path.glob("*.bin"))
    loaded, info = model_class.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    saved = load_file(tmp_path / "model.safetensors")
    state = loaded.state_dict()
    assert saved.keys() == state.keys()
    for key, tensor in saved.items():
        torch.testing.assert_close(state[key], tensor, rtol=0, atol=0)
    fresh = model_class(config)
    assert any(not torch.equal(fresh.state_dict()[k], saved[k]) for k in saved), "loaded weights equal a fresh init"
    x = torch.randn(2, 2, 200)
    torch.manual_seed(1)
    expected = model(x)[0]
    torch.manual_seed(1)
    # weights are bit-identical (above); outputs may differ in the last ulp through SIMD alignment
    torch.testing.assert_close(loaded.eval()(x)[0], expected, rtol=0, atol=1e-6)


def test_pretraining_checkpoint_into_classifier_keeps_backbone(tmp_path, caplog):
    pretrained = CiTrusForPretraining(tiny_config())
    pretrained.save_pretrained(tmp_path)
    classifier = CiTrusForSequenceClassification.from_pretrained(tmp_path, num_labels=4)
    for key, tensor in pretrained.citrus.state_dict().items():
        torch.testing.assert_close(classifier.citrus.state_dict()[key], tensor, rtol=0, atol=0)
    _, info = CiTrusForSequenceClassification.from_pretrained(tmp_path, num_labels=4, output_loading_info=True)
    assert set(info["missing_keys"]) == {"classifier.weight", "classifier.bias"}
    assert info["unexpected_keys"] and all(k.startswith("head.") for k in info["unexpected_keys"])


def test_pretraining_checkpoint_with_a_task_config_object(tmp_path):
    """A `config=` whose `architectures` names the task class must not make the backbone checkpoint look corrupt."""
    CiTrusForPretraining(tiny_config()).save_pretrained(tmp_path)
    task_config = tiny_config(num_labels=3)
    task_config.architectures = ["CiTrusForSequenceClassification"]
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path, config=task_config)
    assert model.classifier.out_features == 3


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(OSError, match="corrupt or truncated"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path)


def test_checkpoint_missing_tensors_is_refused(tmp_path):
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    model.save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    dropped = sorted(k for k in state if "q_proj" in k)
    save_file(
        {k: v for k, v in state.items() if k not in dropped}, tmp_path / "model.safetensors", metadata={"format": "pt"}
    )
    with pytest.raises(ValueError, match="does not match"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path)


@pytest.mark.parametrize("model_class", [CiTrusForSequenceClassification, CiTrusModel])
def test_weights_of_a_larger_encoder_than_the_config_are_refused_across_classes(tmp_path, model_class):
    """A pre-training checkpoint whose config.json was edited down to fewer layers than its weights hold: loading it
    into another class must not drop the extra layer and return a smaller model (only the other class's head may go
    unused)."""
    CiTrusForPretraining(tiny_config(num_hidden_layers=2)).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 1}))
    with pytest.raises(ValueError, match="smaller encoder than its weights hold"):
        model_class.from_pretrained(
            tmp_path, num_labels=2
        ) if model_class is not CiTrusModel else model_class.from_pretrained(tmp_path)


def test_a_config_json_without_an_input_contract_field_is_refused(tmp_path):
    """A hand-edited config.json without `sampling_rate` loaded at the default 100 Hz, whatever rate the weights
    were trained at."""
    CiTrusForSequenceClassification(tiny_config(num_labels=2, sampling_rate=250.0)).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["sampling_rate"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"config.json has no \['sampling_rate'\]"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path)
    # stated by the caller instead: loads
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path, sampling_rate=250.0)
    assert model.config.sampling_rate == 250.0


def test_a_foreign_encoder_tensor_is_refused_by_the_bare_encoder(tmp_path):
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    state["citrus.bogus.weight"] = torch.zeros(3)
    save_file(state, tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"no place for: \['citrus.bogus.weight'\]"):
        CiTrusModel.from_pretrained(tmp_path)


def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path):
    """Safetensors has no checksum: a NaN in the weights (a corrupted file, a diverged run saved anyway) would make
    every prediction NaN. Loading names the tensor instead."""
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    name = sorted(k for k in state if "q_proj.weight" in k)[0]
    state[name][0, 0] = float("nan")
    save_file(state, tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=f"non-finite values.*{name}"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path)


def test_pickle_checkpoints_are_refused(tmp_path):
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    model.config.save_pretrained(tmp_path)
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")
    with pytest.raises(OSError):
        CiTrusForSequenceClassification.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="safetensors only"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path, use_safetensors=False)


def test_auto_classes(tmp_path):
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    model.save_pretrained(tmp_path)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), CiTrusConfig)
    assert isinstance(AutoModelForSequenceClassification.from_pretrained(tmp_path), CiTrusForSequenceClassification)
    assert isinstance(AutoModel.from_pretrained(tmp_path), CiTrusModel)
    CiTrusForPretraining(tiny_config()).save_pretrained(tmp_path / "pre")
    assert isinstance(AutoModelForPreTraining.from_pretrained(tmp_path / "pre"), CiTrusForPretraining)
    auto_map = json.loads((tmp_path / "config.json").read_text())["auto_map"]
    assert auto_map["AutoModelForSequenceClassification"] == "modeling_citrus.CiTrusForSequenceClassification"


# slow: the route is run by tests/hub/test_hub_citrus.py::test_remote_code_loads_without_the_package (a Hub repository's
# AutoModel logits without the package) and test_inference.py::test_pipeline_saved_with_its_code_runs_without_the_package
# (local folders); this adds a bare AutoModel load of a local folder
@pytest.mark.slow
def test_remote_code_loads_without_the_package(tmp_path):
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    model.save_pretrained(tmp_path / "checkpoint")
    x = torch.randn(2, 1, 200)
    torch.save({"x": x, "logits": model(x).logits.detach()}, tmp_path / "expected.pt")
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["citrus_hf"] = None  # importing citrus_hf now fails: only the checkpoint's own code can help
        import torch
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained({str(tmp_path / "checkpoint")!r}, trust_remote_code=True)
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        expected = torch.load({str(tmp_path / "expected.pt")!r})
        torch.testing.assert_close(model.eval()(expected["x"]).logits, expected["logits"], rtol=0, atol=1e-6)
        print("remote-code-ok")
        """
    )
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    assert "remote-code-ok" in run_client(script, env, cwd=tmp_path).stdout


# ----------------------------------------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------------------------------------


def test_torch_export_classification():
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3, num_channels=2)).eval()
    x = torch.randn(2, 2, 200)
    exported = torch.export.export(model, (x,))
    torch.testing.assert_close(exported.module()(x).logits, model(x).logits, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dynamo", [True, False], ids=["dynamo", "torchscript"])
def test_onnx_export_matches_pytorch(tmp_path, dynamo):
    """Both ONNX exporters give a model ONNX Runtime runs with the same logits. The TorchScript exporter is the guard
    on patching: with `Tensor.unfold` instead of a reshape it writes a graph ONNX Runtime refuses to load."""
    onnxruntime = pytest.importorskip("onnxruntime")
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3, num_channels=2)).eval()
    x = torch.randn(2, 2, 200)
    path = tmp_path / "citrus.onnx"
    torch.onnx.export(model, (x,), str(path), input_names=["input_values"], output_names=["logits"], dynamo=dynamo)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_logits,) = session.run(["logits"], {"input_values": x.numpy()})
    np.testing.assert_allclose(onnx_logits, model(x).logits.detach().numpy(), atol=1e-4, rtol=0)


# ----------------------------------------------------------------------------------------------------------------------
# Bad input and bad configs
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(context_length=210, patch_length=20), "multiple of `patch_length`"),
        (dict(backbone="lstm"), "backbone"),
        (dict(d_model=30, num_attention_heads=8), "divisible"),
        (dict(mask_ratio=1.0), "mask_ratio"),
        (dict(pooling="cls", head_features="encoded"), "CLS"),
        (dict(mask_mode="per_modality"), "channel_modalities"),
        (dict(num_channels=2, channel_names=["C3"]), "one per channel"),
        (dict(normalization="fixed"), "normalization_mean"),
        (dict(spectrogram_n_fft=41, pretraining_objective="spectrogram"), "even number"),
        (dict(cnn_kernel_size=4), "odd"),
        (dict(pretraining_objective="contrastive"), "pretraining_objective"),
        (dict(frequency_loss_weight=-1.0), "frequency_loss_weight"),
    ],
)
def test_invalid_config_fails_at_construction(kwargs, message):
    from citrus_hf.configuration_citrus import ConfigValueError

    with pytest.raises(ConfigValueError, match=message):  # the package's own error, a ValueError too
        CiTrusConfig(**kwargs)


@pytest.mark.parametrize(
    "inputs, message",
    [
        (torch.randn(200), r"\(batch, channels, time\)"),
        (torch.randn(2, 1, 190), "multiple of the patch length"),
        (torch.full((2, 1, 200), float("nan")), "NaN"),
        (torch.ones(2, 1, 200, dtype=torch.long), "floating point"),
        (np.zeros((2, 1, 200), dtype="float32"), "torch.Tensor"),
    ],
)
def test_bad_input_is_a_clear_error(inputs, message):
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    with pytest.raises((ValueError, TypeError), match=message):
        model(inputs)


def test_channel_count_mismatch_for_concat_head():
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, num_channels=3))
    with pytest.raises(ValueError, match="built for 3 channel"):
        model(torch.randn(2, 2, 200))
    mean_model = CiTrusForSequenceClassification(tiny_config(num_labels=2, num_channels=3, channel_pooling="mean"))
    assert mean_model(torch.randn(2, 5, 200)).logits.shape == (2, 2)


def test_out_of_range_labels_are_a_clear_error():
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    with pytest.raises(ValueError, match="Labels must lie in"):
        model(torch.randn(2, 1, 200), labels=torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="-100, the ignore index.*drop the unlabelled windows"):
        model(torch.randn(2, 1, 200), labels=torch.tensor([0, -100]))


def test_resizing_token_embeddings_says_there_are_none():
    """transformers' method found the CNN stem as the input embedding and failed on its missing `weight`."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    with pytest.raises(NotImplementedError, match="has no token vocabulary to resize"):
        model.resize_token_embeddings(10)


def test_repeated_channel_names_are_refused():
    from huggingface_hub.errors import StrictDataclassClassValidationError

    with pytest.raises(StrictDataclassClassValidationError, match=r"`channel_names` repeats \['Fz'\]"):
        tiny_config(num_channels=3, channel_names=["Fz", "Cz", "Fz"])


def test_text_model_kwargs_from_peft_are_accepted_only_when_empty():
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    x = torch.randn(2, 1, 200)
    model(x, input_ids=None, attention_mask=None, inputs_embeds=None)
    with pytest.raises(ValueError, match="input_values"):
        model(x, input_ids=torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="unexpected keyword"):
        model(x, pixel_values=x)


@pytest.mark.parametrize(
    "module_name",
    [
        "citrus_hf.configuration_citrus",
        "citrus_hf.modeling_citrus",
        "citrus_hf.feature_extraction_citrus",
        "citrus_hf.configuration_citrus_fusion",
        "citrus_hf.modeling_citrus_fusion",
        "citrus_hf.processing_citrus_fusion",
        "citrus_hf.training.lora",
    ],
)
def test_docstring_examples_run(module_name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module_name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0, result


@pytest.mark.parametrize("features", HEAD_FEATURES)
@pytest.mark.parametrize("pooling", ["mean", "max", "mean_max", "mean_max_std", "mean_max_std_dynamics"])
def test_embed_is_what_the_head_reads(features, pooling):
    """`embed()` gives exactly the pooled vector a task head with the same settings reads, for the bare encoder and
    the task model alike, with padding patches left out of the pool."""
    config = tiny_config(num_channels=2, num_hidden_layers=2, num_labels=3, head_features=features, pooling=pooling)
    classifier = CiTrusForSequenceClassification(config).eval()
    inputs = torch.randn(3, 2, 200)
    patch_mask = torch.ones(3, 10, dtype=torch.long)
    patch_mask[0, 6:] = 0
    embedding = classifier.embed(inputs, patch_mask)
    layers = 3 if features == "all_layers" else 1
    assert embedding.shape == (3, 2 * 16 * layers * POOLING_STATISTICS[pooling])
    with torch.no_grad():
        expected = classifier.pooler(classifier.citrus(inputs, patch_mask, output_hidden_states=True), patch_mask)
        logits = classifier(inputs, patch_mask=patch_mask).logits
    torch.testing.assert_close(embedding, expected)
    torch.testing.assert_close(classifier.classifier(embedding), logits)
    # the bare encoder with the same weights embeds identically
    encoder = CiTrusModel(config).eval()
    encoder.load_state_dict(classifier.citrus.state_dict())
    torch.testing.assert_close(encoder.embed(inputs, patch_mask), embedding)
    # padding is not pooled: changing what lies under padding patches changes nothing
    changed = inputs.clone()
    changed[0, :, 120:] = 100.0
    torch.testing.assert_close(classifier.embed(changed, patch_mask)[0], embedding[0])
    # averaging over channels gives one vector of the per-channel width
    assert classifier.embed(inputs, patch_mask, channel_pooling="mean").shape == (3, embedding.shape[1] // 2)


def test_mean_max_std_pooling_is_each_dimensions_mean_max_and_spread_over_the_kept_patches():
    """Maths on random tensors: the three statistics over the patches `patch_mask` keeps, and a finite gradient for a
    window of one kept patch (spread 0)."""
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(2, 3, 7, 5, generator=generator, requires_grad=True)  # (B, C, P, D)
    patch_mask = torch.ones(2, 7, dtype=torch.long)
    patch_mask[1, 1:] = 0  # the second window keeps only its first patch
    pooled = pool_patches(features, patch_mask, "mean_max_std")
    assert pooled.shape == (2, 3, 15)
    kept = features[0].detach().numpy()
    np.testing.assert_allclose(
        pooled[0].detach().numpy(), np.concatenate([kept.mean(1), kept.max(1), kept.std(1)], -1), rtol=1e-5, atol=1e-6
    )
    only = features[1, :, 0].detach().numpy()
    np.testing.assert_allclose(pooled[1].detach().numpy(), np.concatenate([only, only, 0 * only], -1), atol=1e-5)
    pooled.sum().backward()
    assert torch.isfinite(features.grad).all()
    torch.testing.assert_close(pool_patches(features, None, "mean_max_std")[0], pooled[0])


def test_dynamics_pooling_is_the_step_and_the_autocorrelation_over_the_kept_patches():
    """Maths on random tensors: "mean_max_std_dynamics" is "mean_max_std" followed by the root mean square of the
    step between neighbouring kept patches and the autocorrelation at every lag of `AUTOCORRELATION_LAGS`, padding
    left out; a lag longer than the window gives 0; a rhythm shows at its period; gradients stay finite."""
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(2, 3, 20, 4, generator=generator, requires_grad=True)  # (B, C, P, D)
    patch_mask = torch.ones(2, 20, dtype=torch.long)
    patch_mask[1, 5:] = 0  # the second window keeps its first 5 patches
    pooled = pool_patches(features, patch_mask, "mean_max_std_dynamics")
    assert pooled.shape == (2, 3, 4 * POOLING_STATISTICS["mean_max_std_dynamics"])
    torch.testing.assert_close(pooled[..., :12], pool_patches(features, patch_mask, "mean_max_std"))

    def expected(kept: np.ndarray) -> np.ndarray:  # (C, P, D) -> (C, 4 * (1 + lags))
        centred = kept - kept.mean(1, keepdims=True)
        variance = (centred**2).mean(1)
        step = np.sqrt((np.diff(kept, axis=1) ** 2).mean(1))
        lags = [
            (centred[:, lag:] * centred[:, :-lag]).mean(1) / variance if lag < kept.shape[1] else 0 * variance
            for lag in AUTOCORRELATION_LAGS
        ]
        return np.concatenate([step, *lags], -1)

    for window, patches in ((0, 20), (1, 5)):
        kept = features[window, :, :patches].detach().numpy().astype(np.float64)
        np.testing.assert_allclose(pooled[window, :, 12:].detach().numpy(), expected(kept), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(pool_patches(features, None, "mean_max_std_dynamics")[0], pooled[0])
    pooled.sum().backward()
    assert torch.isfinite(features.grad).all()
    # a token that repeats every 8 patches is fully correlated at lag 8 and anti-correlated at lag 4
    rhythm = torch.cos(2 * torch.pi * torch.arange(64.0) / 8).reshape(1, 1, 64, 1)
    correlation = pool_patches(rhythm, None, "mean_max_std_dynamics")[0, 0, 4:]
    assert correlation[AUTOCORRELATION_LAGS.index(8)] > 0.8 and correlation[AUTOCORRELATION_LAGS.index(4)] < -0.8


@pytest.mark.parametrize("pooling", sorted(POOLING_STATISTICS))
def test_pooling_the_states_at_once_gives_each_states_pooling_side_by_side(pooling):
    """`pool_states` pools every state in one pass; each value is the same bits as pooling the states one by one and
    putting them side by side, state by state, with and without padding."""
    torch.manual_seed(0)
    states = [torch.randn(5, 3, 24, 8) for _ in range(3)]  # (B, C, P, D) each
    patch_mask = torch.ones(5, 24, dtype=torch.long)
    patch_mask[2, 10:] = 0
    for mask in (None, patch_mask):
        one_by_one = torch.cat([pool_patches(state, mask, pooling) for state in states], dim=-1)
        assert torch.equal(pool_states(states, mask, pooling), one_by_one)
    assert torch.equal(pool_states(states[:1], patch_mask, pooling), pool_patches(states[0], patch_mask, pooling))


@pytest.mark.parametrize("pooling", ["mean_max_std", "mean_max_std_dynamics"])
def test_pooling_in_chunks_of_windows_gives_the_same_bits(monkeypatch, pooling):
    torch.manual_seed(0)
    features = torch.randn(7, 2, 30, 4, requires_grad=True)
    patch_mask = torch.ones(7, 30)
    patch_mask[1, 20:] = 0  # each window its own padding, so a chunk paired with another's mask would show
    patch_mask[5, 9:] = 0
    whole = pool_patches(features, patch_mask, pooling)
    monkeypatch.setattr(modeling_citrus, "POOLING_CHUNK_ELEMENTS", 2 * 30 * 4 * 3)  # chunks of 3, 3 and 1 windows
    chunked = pool_patches(features, patch_mask, pooling)
    assert torch.equal(chunked, whole)
    assert torch.equal(
        pool_patches(features, None, pooling), modeling_citrus._pool_patches_at_once(features, None, pooling)
    )
    chunked.sum().backward()  # gradients flow through the chunks
    assert torch.isfinite(features.grad).all()


def test_embed_rejects_unknown_choices():
    model = CiTrusModel(tiny_config()).eval()
    with pytest.raises(ValueError, match="features='deep'"):
        model.embed(torch.randn(1, 1, 200), features="deep")
    with pytest.raises(ValueError, match='needs a model built with pooling="cls"'):
        model.embed(torch.randn(1, 1, 200), pooling="cls")


def test_a_regressor_far_from_its_targets_says_so_once_and_can_start_at_their_mean(caplog):
    """With the Trainer, a heart-rate regressor whose new head started at 0 ended 20x worse than `citrus finetune`'s,
    which starts it at the targets' mean; nothing said why."""
    torch.manual_seed(0)
    model = CiTrusForRegression(tiny_config()).train()
    inputs, heart_rates = torch.randn(8, 1, 200), 70 + 5 * torch.randn(8)
    with caplog.at_level("WARNING"):
        model(inputs, labels=heart_rates)
        model(inputs, labels=heart_rates)
    assert caplog.text.count("init_regressor_bias(train_targets)") == 1

    caplog.clear()
    single = CiTrusForRegression(tiny_config()).train()
    with caplog.at_level("WARNING"):
        single(inputs[:1], labels=heart_rates[:1])  # one example has no spread: not judged
    assert "init_regressor_bias" not in caplog.text and not single._target_offset_checked

    fresh = CiTrusForRegression(tiny_config()).train()
    fresh.init_regressor_bias(heart_rates.numpy())
    assert torch.allclose(fresh.regressor.bias, heart_rates.double().mean().float())
    caplog.clear()
    with caplog.at_level("WARNING"):
        fresh(inputs, labels=heart_rates)
    assert "init_regressor_bias" not in caplog.text


def test_a_regressor_started_at_its_targets_mean_advises_scaling_not_the_bias(caplog):
    """`citrus finetune` starts the head at the targets' mean; with targets of tiny spread (0.5 +- 0.02) the new head's
    random weights still move the predictions far more than the targets vary, and the warning told the user to start
    the head at the mean, which had just been done."""
    torch.manual_seed(0)
    inputs, targets = torch.randn(8, 1, 200), 0.5 + 0.02 * torch.randn(8)
    model = CiTrusForRegression(tiny_config()).train()
    model.init_regressor_bias(targets)
    with torch.no_grad():
        model.regressor.weight.normal_(std=1.0)  # predictions spread far beyond the targets'
    with caplog.at_level("WARNING"):
        model(inputs, labels=targets)
    assert "although the head starts at the targets' mean" in caplog.text and "Standardise the targets" in caplog.text
    assert "init_regressor_bias" not in caplog.text

    caplog.clear()
    constant = CiTrusForRegression(tiny_config()).train()
    constant.init_regressor_bias(torch.full((8,), 70.0))
    with caplog.at_level("WARNING"):
        constant(inputs, labels=torch.full((8,), 70.0))  # equal targets say nothing about their scale
    assert "CiTrusForRegression" not in caplog.text


def test_a_sequence_classifier_doing_regression_names_num_labels_for_the_target_count():
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3, problem_type="regression"))
    with pytest.raises(ValueError, match=r"\(batch, num_labels\) = \(4, 3\), got \(4,\); set num_labels in the config"):
        model(torch.randn(4, 1, 200), labels=torch.randn(4))


def test_a_config_json_list_and_a_missing_shard_are_named(tmp_path):
    """A config.json holding a list failed with `'list' object has no attribute 'get'`; a shard missing from a
    sharded checkpoint was reported as model.safetensors being "corrupt or truncated"."""
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path / "list")
    (tmp_path / "list" / "config.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="config.json holds a JSON list"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "list")
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(
        tmp_path / "shards", max_shard_size="5KB"
    )
    sorted((tmp_path / "shards").glob("model-*.safetensors"))[-1].unlink()
    with pytest.raises(OSError, match="model.safetensors.index.json names is missing"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "shards")
