"""Multi-channel options of the CiTrus encoder: criss-cross attention, dual masking, per-modality masking.

The maths is checked on synthetic tensors (tiny configs); nothing here claims accuracy.
"""

from __future__ import annotations

import math

import pytest
import torch
from huggingface_hub.errors import StrictDataclassError

from citrus_hf import CiTrusConfig, CiTrusForPretraining, CiTrusModel
from citrus_hf.configuration_citrus import MODEL_PRESETS
from citrus_hf.modeling_citrus import PRETRAINING_HEADS, CiTrusAttention, CiTrusMasking

# The "tiny" preset (100 samples in 10 patches of 10, one layer of width 16) with 4 heads, which criss-cross attention
# splits between time and channels.
TINY = {**MODEL_PRESETS["tiny"], "num_attention_heads": 4}
NUM_PATCHES = TINY["context_length"] // TINY["patch_length"]


def tiny_config(**overrides) -> CiTrusConfig:
    return CiTrusConfig(**{**TINY, **overrides})


def encoder(seed: int = 0, **overrides) -> CiTrusModel:
    torch.manual_seed(seed)
    return CiTrusModel(tiny_config(**overrides)).eval()


# ----------------------------------------------------------------------------------------------- criss-cross


@pytest.mark.parametrize("num_hidden_layers", [1, 2])
def test_channels_stay_independent_without_channel_heads(num_hidden_layers):
    """Changing one channel's samples leaves every other channel's output unchanged when no head attends across
    channels, and changes them when some do."""
    torch.manual_seed(1)
    inputs = torch.randn(2, 4, TINY["context_length"])
    changed = inputs.clone()
    changed[:, 2] = torch.randn_like(changed[:, 2])
    others = [0, 1, 3]
    for channel_heads, should_change in ((0, False), (2, True)):
        model = encoder(
            attention_type="criss_cross", num_channel_attention_heads=channel_heads, num_hidden_layers=num_hidden_layers
        )
        with torch.no_grad():
            before = model(inputs).last_hidden_state  # (B, C, P, D)
            after = model(changed).last_hidden_state
        difference = (after[:, others] - before[:, others]).abs().amax().item()
        assert not torch.allclose(after[:, 2], before[:, 2])
        if should_change:
            assert difference > 1e-3, f"{channel_heads} channel heads: other channels did not react"
        else:
            assert difference == 0.0, f"channels leaked into each other without channel heads ({difference})"


def test_channel_heads_mix_only_the_same_patch_in_one_layer():
    """One criss-cross layer: channel heads connect tokens of the same patch, time heads tokens of the same channel.
    So a change in channel 2, patch 3 reaches the other channels at patch 3 only."""
    torch.manual_seed(2)
    model = encoder(attention_type="criss_cross", num_channel_attention_heads=2)
    inputs = torch.randn(1, 3, TINY["context_length"])
    changed = inputs.clone()
    patch = 3
    changed[0, 2, patch * 10 : (patch + 1) * 10] += 1.0
    with torch.no_grad():
        difference = (model(changed).last_hidden_state - model(inputs).last_hidden_state).abs().amax(dim=-1)[0]
    # difference: (channels, patches)
    assert (difference[2] > 0).all(), "time heads spread the change along its own channel"
    for channel in (0, 1):
        assert difference[channel, patch] > 1e-4
        assert torch.all(difference[channel, torch.arange(NUM_PATCHES) != patch] == 0)


def test_criss_cross_without_channel_heads_is_the_channel_independent_model():
    reference = encoder(seed=3)
    criss_cross = encoder(seed=4, attention_type="criss_cross", num_channel_attention_heads=0)
    criss_cross.load_state_dict(reference.state_dict(), strict=True)  # same weights, same layout
    inputs = torch.randn(2, 3, TINY["context_length"])
    with torch.no_grad():
        torch.testing.assert_close(criss_cross(inputs).last_hidden_state, reference(inputs).last_hidden_state)


def reference_criss_cross(attention: CiTrusAttention, hidden_states: torch.Tensor, channel_heads: int) -> torch.Tensor:
    """Criss-cross attention written out with explicit softmaxes over channels and over patches."""
    batch, channels, patches, width = hidden_states.shape
    heads = attention.num_heads
    head_dim = width // heads
    shape = (batch, channels, patches, heads, head_dim)
    query = attention.q_proj(hidden_states).view(shape)
    key = attention.k_proj(hidden_states).view(shape)
    value = attention.v_proj(hidden_states).view(shape)
    scale = 1.0 / math.sqrt(head_dim)
    # across channels at the same patch: scores (B, P, H, C, C')
    scores = torch.einsum("bcphd,bephd->bphce", query, key) * scale
    across_channels = torch.einsum("bphce,bephd->bcphd", scores.softmax(-1), value)
    # across patches within a channel: scores (B, C, H, P, P')
    scores = torch.einsum("bcphd,bcqhd->bchpq", query, key) * scale
    across_time = torch.einsum("bchpq,bcqhd->bcphd", scores.softmax(-1), value)
    output = torch.cat([across_channels[..., :channel_heads, :], across_time[..., channel_heads:, :]], dim=3)
    return attention.o_proj(output.reshape(batch, channels, patches, width))


@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
@pytest.mark.parametrize("channel_heads", [0, 1, 3, 4])
def test_criss_cross_attention_matches_the_written_out_maths(implementation, channel_heads):
    config = tiny_config(attention_type="criss_cross", num_channel_attention_heads=channel_heads)
    config._attn_implementation = implementation
    torch.manual_seed(5)
    attention = CiTrusAttention(config).eval()
    hidden_states = torch.randn(2, 5, 7, config.d_model)
    with torch.no_grad():
        output, _ = attention(hidden_states)
        torch.testing.assert_close(output, reference_criss_cross(attention, hidden_states, channel_heads))


@pytest.mark.parametrize("output_attentions", [False, True])
def test_criss_cross_with_every_head_across_channels_runs_no_attention_over_zero_heads(monkeypatch, output_attentions):
    """With `num_channel_attention_heads == num_attention_heads` no head attends across patches; the time attention
    was still called on zero heads, and torch 2.11's SDPA killed the process there (floating point exception)."""
    config = tiny_config(attention_type="criss_cross", num_channel_attention_heads=4)
    assert config.num_attention_heads == 4
    heads_attended = []
    attend = CiTrusAttention._attend

    def recording(self, query, *args, **kwargs):
        heads_attended.append(query.shape[1])  # (N, heads, seq, head_dim)
        return attend(self, query, *args, **kwargs)

    monkeypatch.setattr(CiTrusAttention, "_attend", recording)
    torch.manual_seed(0)
    model = CiTrusModel(config).eval()
    with torch.no_grad():
        output = model(torch.randn(2, 3, config.context_length), output_attentions=output_attentions)
    assert heads_attended == [4] * config.num_hidden_layers  # the channel attention only
    assert torch.isfinite(output.last_hidden_state).all()
    if output_attentions:
        assert all(weights.shape[1] == 0 for weights in output.attentions)  # no time heads
        assert all(weights.shape[1] == 4 for weights in output.channel_attentions)


def test_criss_cross_trains_and_runs_any_channel_count():
    model = encoder(attention_type="criss_cross", num_channel_attention_heads=2).train()
    for channels in (1, 2, 19):
        output = model(torch.randn(2, channels, TINY["context_length"])).last_hidden_state
        assert output.shape == (2, channels, NUM_PATCHES, TINY["d_model"])
    output.sum().backward()
    assert model.encoder.layers[0].attention.q_proj.weight.grad.abs().sum() > 0


def test_channel_head_count_is_validated():
    with pytest.raises(StrictDataclassError, match="num_channel_attention_heads"):
        tiny_config(attention_type="criss_cross", num_channel_attention_heads=5)


# ----------------------------------------------------------------------------------------------- masking


def draw(config: CiTrusConfig, batch: int, channels: int, patches: int, seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    return CiTrusMasking(config)(batch, channels, patches, torch.device("cpu"))


@pytest.mark.parametrize("mask_mode", ["per_channel", "shared"])
@pytest.mark.parametrize("mask_ratio, block, patches", [(0.5, 5, 150), (0.3, 3, 37), (0.75, 1, 10), (0.4, 8, 23)])
def test_patch_masking_hits_its_ratio_exactly(mask_mode, mask_ratio, block, patches):
    config = tiny_config(mask_ratio=mask_ratio, mask_block_size=block, mask_mode=mask_mode)
    expected = round(mask_ratio * patches)
    for seed in range(5):
        mask = draw(config, batch=6, channels=4, patches=patches, seed=seed)
        assert mask.shape == (6, 4, patches) and mask.dtype == torch.bool
        assert (mask.sum(-1) == expected).all()
        if mask_mode == "shared":
            assert (mask == mask[:, :1]).all()


def test_block_masking_hides_contiguous_blocks():
    patches, block = 150, 5
    block_mask = draw(tiny_config(mask_ratio=0.5, mask_block_size=block), 8, 4, patches)
    random_mask = draw(tiny_config(mask_ratio=0.5, mask_block_size=1), 8, 4, patches)

    def runs(mask):  # number of contiguous masked runs per sequence
        starts = mask[..., 1:] & ~mask[..., :-1]
        return starts.sum(-1) + mask[..., 0]

    # 75 masked patches in blocks of 5 are at most 15 blocks, plus a block cut at each end of the sequence
    assert runs(block_mask).max() <= 75 // block + 2
    assert runs(random_mask).float().mean() > 2 * (75 // block + 2)


@pytest.mark.parametrize("channels, channel_ratio", [(12, 0.25), (19, 0.3), (3, 0.5), (2, 0.1)])
@pytest.mark.parametrize("mask_mode", ["per_channel", "shared"])
def test_dual_masking_hits_both_ratios_exactly(channels, channel_ratio, mask_mode):
    """Whole channels (leads) and time patches, each masked with its own exact count."""
    patches, mask_ratio = 40, 0.25
    config = tiny_config(
        mask_ratio=mask_ratio, mask_block_size=2, mask_mode=mask_mode, channel_mask_ratio=channel_ratio
    )
    expected_channels = min(channels - 1, max(1, round(channel_ratio * channels)))
    expected_patches = round(mask_ratio * patches)
    chosen = set()
    for seed in range(6):
        mask = draw(config, batch=5, channels=channels, patches=patches, seed=seed)
        whole = mask.all(-1)  # (B, C): channels masked as a whole
        assert (whole.sum(-1) == expected_channels).all()
        assert (mask[~whole].sum(-1) == expected_patches).all()
        chosen.update(whole.nonzero()[:, 1].tolist())
    assert len(chosen) == channels, "every channel is sometimes the masked one"


def test_channel_masking_is_off_by_default_and_needs_two_channels():
    assert not draw(tiny_config(mask_ratio=0.5), 4, 6, 20).all(-1).any()
    single = draw(tiny_config(mask_ratio=0.5, channel_mask_ratio=0.5), 4, 1, 20)
    assert (single.sum(-1) == 10).all(), "the only channel of a window is never hidden whole"


def test_per_modality_masking_shares_a_mask_within_each_modality():
    """CiTrus's EEG+EOG pre-training: one mask per modality, each with the exact ratio."""
    modalities = ["eeg", "eeg", "eog", "eeg", "eog"]
    config = tiny_config(
        num_channels=5, channel_modalities=modalities, mask_mode="per_modality", mask_ratio=0.4, mask_block_size=2
    )
    differs = False
    for seed in range(5):
        mask = draw(config, batch=4, channels=5, patches=30, seed=seed)
        assert (mask.sum(-1) == 12).all()
        assert (mask[:, [1, 3]] == mask[:, :1]).all() and (mask[:, 4] == mask[:, 2]).all()
        differs |= bool((mask[:, 0] != mask[:, 2]).any())
    assert differs, "EEG and EOG draw their own masks"


def test_per_modality_masking_with_channel_masking_on_top():
    config = tiny_config(
        num_channels=4,
        channel_modalities=["ecg", "ecg", "ppg", "ppg"],
        mask_mode="per_modality",
        mask_ratio=0.5,
        channel_mask_ratio=0.25,
    )
    mask = draw(config, batch=8, channels=4, patches=20)
    whole = mask.all(-1)
    assert (whole.sum(-1) == 1).all()
    assert (mask[~whole].sum(-1) == 10).all()


def test_per_modality_masking_rejects_a_wrong_channel_count():
    config = tiny_config(num_channels=2, channel_modalities=["eeg", "eog"], mask_mode="per_modality")
    with pytest.raises(ValueError, match="one modality per channel"):
        draw(config, batch=2, channels=3, patches=10)
    with pytest.raises(StrictDataclassError, match="channel_modalities"):
        tiny_config(mask_mode="per_modality")


@pytest.mark.parametrize("objective", list(PRETRAINING_HEADS))
def test_pretraining_loss_covers_exactly_the_masked_tokens(objective):
    torch.manual_seed(6)
    config = tiny_config(
        num_channels=4,
        pretraining_objective=objective,
        attention_type="criss_cross",
        num_channel_attention_heads=2,
        mask_ratio=0.3,
        channel_mask_ratio=0.25,
    )
    model = CiTrusForPretraining(config).eval()
    inputs = torch.randn(3, 4, TINY["context_length"])
    with torch.no_grad():
        outputs = model(inputs)
    mask = outputs.token_mask
    assert (mask.all(-1).sum(-1) == 1).all() and (mask[~mask.all(-1)].sum(-1) == 3).all()
    expected = model.head.prediction_loss(outputs.prediction[mask], outputs.target[mask])
    torch.testing.assert_close(outputs.loss, expected)

    # The masked patches are never encoded: their samples cannot influence the prediction (no leak), while a
    # visible patch's samples do.
    changed = inputs.clone()
    patches = changed.view(3, 4, NUM_PATCHES, TINY["patch_length"])
    patches[mask] = torch.randn_like(patches[mask])
    with torch.no_grad():
        again = model(changed, token_mask=mask)
        torch.testing.assert_close(again.prediction[mask], outputs.prediction[mask])
        visible = inputs.clone()
        visible.view(3, 4, NUM_PATCHES, -1)[~mask] += 1.0
        assert not torch.allclose(model(visible, token_mask=mask).prediction[mask], outputs.prediction[mask])
