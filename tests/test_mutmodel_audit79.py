"""Audit 79 (mutation testing of the model and its configuration): each test here kills a mutant of
`modeling_citrus.py` or `configuration_citrus.py` that the rest of the suite let through (a flipped comparison, a
dropped check, an offset left out), with the expected values worked out by hand in the comments. Tiny configs and
small synthetic inputs: what is checked is the model's arithmetic, not what it learns from data."""

from __future__ import annotations

import numpy as np
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusModel
from citrus_hf.modeling_citrus import CiTrusMasking, sinusoidal_positions

# ------------------------------------------------------------------------------------------------------------- masking


def test_a_mask_of_two_patches_keeps_one_visible_at_a_high_ratio():
    """round(0.9 x 2) = 2 patches would leave nothing to infer them from: one is kept visible (mutant:
    `min(P, ...)`)."""
    masking = CiTrusMasking(tiny_config(mask_ratio=0.9))
    assert [masking.num_masked(p) for p in (2, 3, 10)] == [1, 2, 9]  # min(P - 1, round(0.9 P)): 1, min(2, 3), 9
    mask = masking(16, 1, 2, torch.device("cpu"))
    assert (mask.sum(-1) == 1).all()


def test_mask_blocks_start_anywhere_on_the_grid():
    """Blocks lie on a grid of a random offset, so that a block boundary is not always at a multiple of the block size
    (mutant: offset 0, whose masks never start a block at patch 1, 2, 3 or 4 mod 5)."""
    torch.manual_seed(0)
    mask = CiTrusMasking(tiny_config(mask_ratio=0.2, mask_block_size=5))(64, 1, 50, torch.device("cpu"))
    rows = mask[:, 0].to(torch.int8).numpy()
    starts = [np.flatnonzero(np.diff(np.concatenate([[0], row])) == 1) for row in rows]  # first patch of each run
    phases = {int(start) % 5 for row_starts in starts for start in row_starts}
    assert phases == {0, 1, 2, 3, 4}


def test_a_low_ratio_still_masks_one_patch():
    """round(0.1 x 4) = 0 patches masked would leave the loss nothing to score: at least one is (mutant:
    `max(0, ...)`)."""
    masking = CiTrusMasking(tiny_config(mask_ratio=0.1))
    assert [masking.num_masked(p) for p in (4, 10, 16)] == [1, 1, 2]  # max(1, round(0.4)), round(1.0), round(1.6)
    assert (masking(8, 2, 4, torch.device("cpu")).sum(-1) == 1).all()


def test_dual_masking_keeps_one_channel_of_two_visible():
    """channel_mask_ratio=0.9 of 2 channels: round(1.8) = 2 whole channels hidden would leave a window nothing to
    infer them from, so min(C - 1, ...) = 1 is (mutant: `min(C, ...)`). At mask_ratio=0.1 over 10 patches the patch
    mask hides one patch per channel, so a channel fully hidden is a channel the dual masking hid."""
    masking = CiTrusMasking(tiny_config(num_channels=2, mask_ratio=0.1, channel_mask_ratio=0.9))
    mask = masking(32, 2, 10, torch.device("cpu"))
    assert (mask.all(dim=-1).sum(dim=-1) == 1).all()


# ---------------------------------------------------------------------------------------------------- positions


def test_the_position_table_is_the_transformers_sin_cos_table():
    """Row p, columns 2i and 2i + 1: sin and cos of p / 10000^(2i / dim) (Vaswani et al.). For dim 4 the frequencies
    are 1 and 10000^(-1/2) = 0.01 (mutants: base 1000, cos replaced by sin, positions counted from 1)."""
    table = sinusoidal_positions(3, 4, torch.device("cpu"), torch.float64)
    expected = torch.tensor(
        [[np.sin(p), np.cos(p), np.sin(0.01 * p), np.cos(0.01 * p)] for p in range(3)], dtype=torch.float64
    )  # row 0: [0, 1, 0, 1]
    torch.testing.assert_close(table, expected, rtol=0, atol=1e-6)


def test_masked_patches_are_encoded_as_the_mask_token():
    """A masked patch's token is the learnt `mask_token`, whatever its samples (mutant: zeros in its place, which no
    gradient reaches)."""
    model = CiTrusModel(tiny_config()).eval()
    with torch.no_grad():
        model.mask_token.normal_()
    token_mask = torch.zeros(2, 1, 10, dtype=torch.bool)
    token_mask[0, 0, 3], token_mask[1, 0, 7:] = True, True
    with torch.no_grad():
        encoded = model(torch.randn(2, 1, 200), token_mask=token_mask).encoded_states  # (2, 1, 10, 16)
    torch.testing.assert_close(encoded[token_mask], model.mask_token.reshape(1, -1).expand(4, -1))


def test_positions_to_keep_skip_the_cls_token():
    """With a CLS token first, patch p is token p + 1: the last layer run at `positions_to_keep` gives the full pass's
    outputs of those patches (mutant: the offset left out, which returns the token before each)."""
    model = CiTrusModel(tiny_config(pooling="cls")).eval()
    windows = torch.randn(2, 1, 200)
    positions = torch.tensor([[[0, 4, 9]], [[2, 3, 8]]])  # (batch, channels, kept)
    with torch.no_grad():
        full = model(windows).last_hidden_state  # (2, 1, 11, 16): the CLS token, then the 10 patches
        kept = model(windows, positions_to_keep=positions).last_hidden_state  # (2, 1, 3, 16)
    expected = full.take_along_dim((positions + 1)[..., None], dim=2)
    torch.testing.assert_close(kept, expected, rtol=1e-5, atol=1e-6)
