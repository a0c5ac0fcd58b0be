"""Audit 67 (variable-length inputs and masks): recordings padded with NaN (or masked) after their end, pre-training
masks and spectrogram targets of windows batched with longer ones, augmentations of a partly filled last patch,
`group_by_length` over rows of a batched map, and transformers' padding options (`pad_to_multiple_of` in the call,
`pad(max_length=...)` past the context).

A tiny contract throughout (2 s at 100 Hz, 200 samples in 10 patches of 20): each test takes a second or two on a CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset
from tiny_configs import tiny_config
from transformers import TrainingArguments, pipeline, set_seed

from citrus_hf import CiTrusFeatureExtractor, CiTrusForPretraining, CiTrusForSequenceClassification
from citrus_hf.modeling_citrus import CiTrusMasking
from citrus_hf.training.augment import AugmentedWindows
from citrus_hf.training.callbacks import fixed_token_mask
from citrus_hf.training.trainer import length_grouped_sampler

RATE = 100


def tiny_extractor(**overrides) -> CiTrusFeatureExtractor:
    """The extractor of the tiny contract, for two channels."""
    return CiTrusFeatureExtractor.from_config(tiny_config(num_channels=2), **overrides)


def nan_padded(recordings: list[np.ndarray], length: int) -> np.ndarray:
    """`(batch, channels, length)`: the recordings `(channels, time)` stacked, NaN after each one's end (tslearn's
    `to_time_series_dataset` layout)."""
    batch = np.full((len(recordings), recordings[0].shape[0], length), np.nan)
    for row, recording in zip(batch, recordings):
        row[:, : recording.shape[-1]] = recording
    return batch


# ----------------------------------------------------------------------------------- 1. NaN padding at the ends


@pytest.fixture
def short_and_long():
    rng = np.random.default_rng(5)
    return rng.standard_normal((2, 70)), rng.standard_normal((2, 200))


@pytest.mark.parametrize("as_masked_array", [False, True], ids=["nan", "masked"])
def test_a_nan_tail_is_length_padding_under_interpolate(short_and_long, as_masked_array):
    """The tail was interpolated (the last value held flat) and `patch_mask` marked it as signal: a 0.7 s recording
    was scored as a 2 s one with a flat end."""
    short, long = short_and_long
    batch = nan_padded([short, long], 200)
    if as_masked_array:
        batch = np.ma.masked_invalid(batch)
    extractor = tiny_extractor()
    padded = extractor(batch, sampling_rate=RATE, nan_policy="interpolate")
    own = extractor([short, long], sampling_rate=RATE)
    assert padded["patch_mask"].sum(-1).tolist() == [4, 10]
    np.testing.assert_array_equal(padded["input_values"], own["input_values"])
    np.testing.assert_array_equal(padded["patch_mask"], own["patch_mask"])


def test_a_nan_run_at_the_start_is_left_out_and_window_times_stay_the_recordings(short_and_long):
    _, long = short_and_long
    extractor = tiny_extractor()
    recording = np.concatenate([np.full((2, 50), np.nan), long, np.full((2, 30), np.nan)], axis=-1)
    resampled = extractor(recording[None], sampling_rate=RATE, nan_policy="interpolate")
    np.testing.assert_array_equal(resampled["input_values"], extractor(long[None], sampling_rate=RATE)["input_values"])
    windows = extractor([recording], sampling_rate=RATE, nan_policy="interpolate", alignment="window", hop_length=100)
    # the windows of the 2 s of signal, timed from the start of the array given (0.5 s of NaN first)
    np.testing.assert_allclose(windows["window_start_seconds"], [0.5])
    np.testing.assert_array_equal(windows["input_values"], extractor(long[None], sampling_rate=RATE)["input_values"])


def test_nan_in_some_channels_only_is_still_interpolated(short_and_long):
    """Padding is what every channel lacks; a channel that stops early is a gap, filled as before."""
    _, long = short_and_long
    recording = long.copy()
    recording[0, 150:] = np.nan
    features = tiny_extractor()(recording[None], sampling_rate=RATE, nan_policy="interpolate")
    assert features["patch_mask"].sum() == 10
    np.testing.assert_allclose(features["input_values"][0, 0, 150:], features["input_values"][0, 0, 149])


def test_the_default_refusal_names_a_nan_tail_as_length_padding(short_and_long):
    short, long = short_and_long
    with pytest.raises(ValueError) as refused:
        tiny_extractor()(nan_padded([short, long], 200), sampling_rate=RATE)
    message = str(refused.value)
    assert "recording 0 ends in 130 samples that are NaN in every channel" in message
    assert "padding" in message and "list of arrays of their own lengths" in message
    assert "nan_policy='interpolate'" in message
    # a NaN inside the recording is not called padding
    inside = long.copy()
    inside[:, 100] = np.nan
    with pytest.raises(ValueError) as refused:
        tiny_extractor()(inside[None], sampling_rate=RATE)
    assert "padding" not in str(refused.value)


def test_the_pipeline_scores_a_nan_padded_recording_as_the_recording(tmp_path, short_and_long):
    set_seed(0)
    config = tiny_config(num_labels=3, num_channels=2)
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path)
    classify = pipeline(model=str(tmp_path), backend="torch")
    short, long = short_and_long
    alone = classify(short, sampling_rate=RATE)
    padded = classify(nan_padded([short], 200)[0], sampling_rate=RATE, nan_policy="interpolate")
    assert padded["label"] == alone["label"] and padded["score"] == pytest.approx(alone["score"], abs=1e-6)
    assert [(w["start"], w["end"]) for w in padded["windows"]] == [(0.0, 0.7)]
    # NaN before the signal: the windows keep the times of the array given
    late = np.concatenate([np.full((2, 30), np.nan), long, np.full((2, 20), np.nan)], axis=-1)
    result = classify(late, sampling_rate=RATE, nan_policy="interpolate")
    on_time = classify(long, sampling_rate=RATE)
    assert [(w["start"], w["end"]) for w in result["windows"]] == [(0.3, 2.3)]
    assert result["score"] == pytest.approx(on_time["score"], abs=1e-6) and result["unscored_seconds"] == 0.0


# ---------------------------------------------------------------------------- 3. pre-training masks and padding


def _masked_share_per_row(mask: torch.Tensor, patch_mask: torch.Tensor) -> list[tuple[int, int]]:
    """(masked real patches, real patches) of every sequence of `mask` (B, C, P)."""
    real = patch_mask.bool()[:, None, :].expand_as(mask)
    return [(int(m[r].sum()), int(r.sum())) for m, r in zip(mask.flatten(0, 1), real.flatten(0, 1))]


@pytest.mark.parametrize("mask_mode", ["per_channel", "shared"])
def test_masks_are_drawn_over_each_rows_real_patches(mask_mode):
    """A 4-patch window batched with a 100-patch one had all its real patches masked a third of the time."""
    config = tiny_config(context_length=1000, num_channels=2, mask_ratio=0.5, mask_block_size=5, mask_mode=mask_mode)
    masking = CiTrusMasking(config)
    patch_mask = torch.zeros(3, 50, dtype=torch.long)
    patch_mask[0, :4], patch_mask[1], patch_mask[2, :13] = 1, 1, 1
    torch.manual_seed(0)
    for _ in range(50):
        mask = masking(3, 2, 50, torch.device("cpu"), patch_mask=patch_mask)
        assert not mask[~patch_mask.bool()[:, None, :].expand_as(mask)].any()  # padding is never masked
        for masked, real in _masked_share_per_row(mask, patch_mask):
            assert masked == masking.num_masked(real)  # round(ratio * real), one kept visible
        # blocks of mask_block_size on a grid over the real patches: for some offset, at most one block (the last
        # taken) is cut short
        for row, real in zip(mask[:, 0].numpy(), patch_mask.sum(-1).tolist()):
            block = min(5, real)
            blocks = [
                [row[max(0, start) : min(start + block, real)] for start in range(-offset, real, block)]
                for offset in range(block)
            ]
            assert min(sum(0 < part.sum() < len(part) for part in grid) for grid in blocks) <= 1, row


def test_an_unpadded_batch_draws_the_mask_it_drew_before():
    config = tiny_config(num_channels=2, mask_ratio=0.4)
    masking = CiTrusMasking(config)
    torch.manual_seed(3)
    before = masking(4, 2, 10, torch.device("cpu"))
    torch.manual_seed(3)
    full = masking(4, 2, 10, torch.device("cpu"), patch_mask=torch.ones(4, 10, dtype=torch.long))
    torch.manual_seed(3)
    assert torch.equal(before, full) and torch.equal(
        before, fixed_token_mask(_pretraining(), torch.zeros(4, 2, 200), 3)
    )


def _pretraining(**overrides) -> CiTrusForPretraining:
    set_seed(0)
    return CiTrusForPretraining(tiny_config(num_channels=2, mask_ratio=0.4, **overrides)).train()


def test_pretraining_scores_a_short_window_batched_with_a_long_one_as_alone():
    model = _pretraining(context_length=1000, mask_block_size=5)
    extractor = CiTrusFeatureExtractor.from_config(model.config)
    rng = np.random.default_rng(0)
    features = extractor(
        [rng.standard_normal((2, 80)), rng.standard_normal((2, 1000))], sampling_rate=RATE, return_tensors="pt"
    )
    for _ in range(20):
        outputs = model(**features)
        for masked, real in _masked_share_per_row(outputs.token_mask, features["patch_mask"]):
            assert masked == model.masking.num_masked(real)
    # the last layer runs at the masked patches only (`positions_to_keep`); the loss is the one of the same mask run
    # everywhere
    model.eval()
    torch.manual_seed(1)
    drawn = model(**features)
    given = model(
        **features, token_mask=fixed_token_mask(model, features["input_values"], 1, patch_mask=features["patch_mask"])
    )
    torch.manual_seed(1)
    assert torch.equal(drawn.token_mask, given.token_mask)
    assert drawn.loss.item() == pytest.approx(given.loss.item(), rel=1e-5)


# ---------------------------------------------------------------------- 4. the spectrogram target at a row's end


def test_the_spectrogram_target_of_a_short_window_does_not_read_its_batch_mates():
    """Its last patches' STFT frames reached past its end into the padding (reflect-padded at the tensor's end)."""
    model = _pretraining(pretraining_objective="spectrogram", spectrogram_n_fft=60).eval()
    extractor = CiTrusFeatureExtractor.from_config(model.config)
    rng = np.random.default_rng(0)
    short, long = rng.standard_normal((2, 110)), rng.standard_normal((2, 200))
    alone = extractor([short], sampling_rate=RATE, return_tensors="pt")  # 6 patches
    batch = extractor([short, long], sampling_rate=RATE, return_tensors="pt")
    with torch.no_grad():
        target_alone = model(**alone, token_mask=torch.ones(1, 2, 6, dtype=torch.bool)).target
        target_batch = model(**batch, token_mask=torch.ones(2, 2, 10, dtype=torch.bool)).target
    torch.testing.assert_close(target_batch[0, :, :6], target_alone[0], rtol=1e-5, atol=1e-6)
    # the long window alone has the target it has in the batch
    with torch.no_grad():
        target_long = model(
            **extractor([long], sampling_rate=RATE, return_tensors="pt"),
            token_mask=torch.ones(1, 2, 10, dtype=torch.bool),
        ).target
    torch.testing.assert_close(target_batch[1], target_long[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("real_samples", [20, 40, 110, 200])
def test_each_windows_frames_reflect_at_its_own_end(real_samples):
    """Also for a window no longer than the frames' overhang (zeros around it, as alone)."""
    from citrus_hf.modeling_citrus import spectrogram_target

    extractor = tiny_extractor()
    rng = np.random.default_rng(1)
    short = rng.standard_normal((2, real_samples))
    batch = extractor([short, rng.standard_normal((2, 200))], sampling_rate=RATE, return_tensors="pt")
    alone = extractor([short], sampling_rate=RATE, return_tensors="pt")["input_values"]
    expected = spectrogram_target(alone, 20, 60)
    got = spectrogram_target(batch["input_values"], 20, 60, batch["patch_mask"].bool())
    torch.testing.assert_close(got[0, :, : expected.shape[2]], expected[0], rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------- 5. augmenting a partly filled last patch


def _aligned_rows(lengths=(130, 200)) -> list[dict]:
    extractor = tiny_extractor()
    rng = np.random.default_rng(0)
    rows = []
    for length in lengths:
        features = extractor(
            rng.standard_normal((2, length)), sampling_rate=RATE, padding="max_length", return_tensors="pt"
        )
        rows.append(
            {
                "input_values": features["input_values"][0],
                "patch_mask": features["patch_mask"][0],
                "labels": torch.tensor(0),
            }
        )
    return rows


def test_augmentations_keep_the_padding_of_a_partly_filled_last_patch_out_of_the_signal():
    rows = _aligned_rows()
    original = rows[0]["input_values"][0]
    assert (original[130:] == 0).all() and not (original[:130] == 0).any()
    for augmentations in (["shift"], ["shift", "jitter"], ["jitter"]):
        augmented = AugmentedWindows(rows, patch_length=20, augmentations=augmentations, copies=3, seed=0)
        for copy in (1, 2, 3):
            window = augmented[copy * 2]["input_values"][0]
            assert (window[130:] == 0).all(), augmentations  # the padding stays padding
            assert not (window[:130] == 0).any(), augmentations  # and none of it enters the signal
    shifted = AugmentedWindows(rows, patch_length=20, augmentations=["shift"], copies=1, seed=0)[2]["input_values"][0]
    assert sorted(shifted[:130].tolist()) == sorted(
        original[:130].tolist()
    )  # the real samples, rolled among themselves


# ------------------------------------------------------------------------ 6. group_by_length over a batched map


def test_group_by_length_measures_the_rows_of_a_batched_map_by_their_real_patches(tmp_path):
    extractor = tiny_extractor()
    rng = np.random.default_rng(0)
    lengths = [30, 200, 50, 190, 20, 200, 70, 180]
    raw = Dataset.from_dict({"signal": [rng.standard_normal((2, n)).astype(np.float32) for n in lengths]})
    rows = raw.map(
        lambda b: extractor(b["signal"], sampling_rate=RATE), batched=True, batch_size=4, remove_columns=["signal"]
    )
    assert {len(mask) for mask in rows["patch_mask"]} == {10}  # every row padded to its map batch's longest
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, num_channels=2))
    arguments = TrainingArguments(
        str(tmp_path),
        report_to="none",
        use_cpu=True,
        per_device_train_batch_size=2,
        train_sampling_strategy="group_by_length",
    )
    assert length_grouped_sampler(arguments, model, rows).lengths == [2, 10, 3, 10, 1, 10, 4, 9]


# ------------------------------------------------------------- 7. transformers' padding options, one behaviour


def test_pad_to_multiple_of_is_taken_by_the_call_as_by_pad():
    extractor = tiny_extractor()
    rng = np.random.default_rng(0)
    recordings = [rng.standard_normal((2, 30)), rng.standard_normal((2, 70))]
    called = extractor(recordings, sampling_rate=RATE, pad_to_multiple_of=60)
    rows = [extractor(recording, sampling_rate=RATE) for recording in recordings]
    padded = extractor.pad([{k: v[0] for k, v in row.items()} for row in rows], pad_to_multiple_of=60)
    assert called["input_values"].shape == padded["input_values"].shape == (2, 2, 120)
    np.testing.assert_array_equal(called["input_values"], padded["input_values"])
    np.testing.assert_array_equal(called["patch_mask"], padded["patch_mask"])
    # never past the context, as `pad` caps it
    assert extractor(recordings, sampling_rate=RATE, pad_to_multiple_of=300)["input_values"].shape[-1] == 200
    with pytest.raises(ValueError, match="pad_to_multiple_of"):
        extractor(recordings, sampling_rate=RATE, pad_to_multiple_of=0)


def test_pad_refuses_a_max_length_past_the_context_as_the_call_does():
    extractor = tiny_extractor()
    row = extractor(np.zeros((2, 50)) + np.arange(50), sampling_rate=RATE)
    row = {key: value[0] for key, value in row.items()}
    with pytest.raises(ValueError) as called:
        extractor(np.zeros((2, 50)) + np.arange(50), sampling_rate=RATE, padding="max_length", max_length=400)
    with pytest.raises(ValueError) as padded:
        extractor.pad([row], padding="max_length", max_length=400)
    assert "at most context_length (200)" in str(called.value) and "at most context_length (200)" in str(padded.value)
    assert extractor.pad([row], padding="max_length", max_length=200)["input_values"].shape == (1, 2, 200)
