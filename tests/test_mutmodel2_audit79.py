"""Audit 79 (mutation testing of the model, second part): each test here kills a mutant of `modeling_citrus.py` or
`configuration_citrus.py` that the rest of the suite let through: the pre-training losses (which patches are scored,
against which target, per objective), the pooling behind `embed()`, the task heads' losses and the configuration's
checks. Expected values are worked out by hand (or with numpy / scipy, independently of the model's torch code) in
the comments. Tiny configs and small synthetic inputs: what is checked is the model's arithmetic, not what it learns
from data."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F
from tiny_configs import tiny_config

from citrus_hf import CiTrusForPretraining
from citrus_hf.modeling_citrus import (
    CiTrusFourierHead,
    CiTrusTimeFrequencyHead,
    CiTrusTimeHead,
    patchify,
    spectrogram_target,
    unpatchify,
)

# ---------------------------------------------------------------------------------------------- pre-training loss


def test_a_given_mask_scores_each_masked_patch_from_its_own_context():
    """With a CLS token first, patch p's context is token p + 1: the prediction of every masked patch is the head on
    that token, the loss their MSE against the patches themselves ("time"), the reconstruction those predictions in
    the masked patches and the input elsewhere (mutants: the context read one token early, the targets of the scored
    patches in reverse order, the input and the prediction swapped in the reconstruction)."""
    torch.manual_seed(0)
    model = CiTrusForPretraining(tiny_config(pooling="cls")).eval()
    windows = torch.randn(2, 1, 200)
    token_mask = torch.zeros(2, 1, 10, dtype=torch.bool)
    token_mask[0, 0, [1, 2, 7]], token_mask[1, 0, [4, 5]] = True, True
    with torch.no_grad():
        out = model(windows, token_mask=token_mask)
        context = model.citrus(windows, token_mask=token_mask).last_hidden_state[:, :, 1:]  # (2, 1, 10, 16)
        expected = model.head(context[token_mask])  # (5, 20)
    patches = patchify(windows, 20)  # (2, 1, 10, 20)
    torch.testing.assert_close(out.prediction[token_mask], expected)
    assert (out.prediction[~token_mask] == 0).all()
    torch.testing.assert_close(out.loss, ((expected - patches[token_mask]) ** 2).mean())
    torch.testing.assert_close(
        out.reconstruction, unpatchify(torch.where(token_mask[..., None], out.prediction, patches))
    )
    assert not torch.equal(out.reconstruction, windows)


def test_a_drawn_mask_over_a_padded_window_first_scores_what_a_full_pass_scores():
    """A mask drawn here runs the last layer at `num_masked(10)` positions per sequence; a window padded after 6
    patches has fewer masked patches, so its positions go on with unmasked ones, which are not scored. Put that window
    first: its scored contexts must be its own, as a pass over every position (the same mask given) finds them
    (mutant: the first `n` rows of the flattened positions, which reads window 0's unscored positions in place of
    window 1's scored ones)."""
    torch.manual_seed(0)
    model = CiTrusForPretraining(tiny_config()).eval()
    windows = torch.randn(2, 1, 200)
    windows[0, :, 120:] = 0.0
    patch_mask = torch.ones(2, 10, dtype=torch.bool)
    patch_mask[0, 6:] = False
    with torch.no_grad():
        drawn = model(windows, patch_mask=patch_mask)  # the last layer at the masked positions only
        given = model(windows, patch_mask=patch_mask, token_mask=drawn.token_mask)  # every position
    assert drawn.token_mask[0].sum() < drawn.token_mask[1].sum()  # (window 0 masked fewer of its 6 real patches)
    assert not drawn.token_mask[0, 0, 6:].any()
    torch.testing.assert_close(drawn.prediction, given.prediction, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(drawn.loss, given.loss, rtol=1e-5, atol=1e-6)


def test_the_cnn_auto_encoder_scores_the_signal_patches_only():
    """backbone="cnn" masks nothing and scores every patch, but not the padding (mutant: padding scored as signal)."""
    torch.manual_seed(0)
    model = CiTrusForPretraining(tiny_config(backbone="cnn")).eval()
    windows = torch.randn(2, 1, 200)
    windows[1, :, 80:] = 0.0
    patch_mask = torch.ones(2, 10, dtype=torch.bool)
    patch_mask[1, 4:] = False
    with torch.no_grad():
        out = model(windows, patch_mask=patch_mask)
    assert torch.equal(out.token_mask, patch_mask[:, None, :])
    real = patch_mask[:, None, :]
    torch.testing.assert_close(out.loss, ((out.prediction[real] - patchify(windows, 20)[real]) ** 2).mean())


def test_windows_of_one_real_patch_each_give_a_zero_loss_not_nan():
    """A drawn mask keeps one patch of a window visible, so windows of one real patch mask none of it: nothing is
    scored, and the loss is 0 (and a training step runs), not the NaN of a mean over no patch (mutants: a drawn mask
    over padding not checked for an empty loss mask; the empty mean kept as the loss)."""
    model = CiTrusForPretraining(tiny_config())
    windows = torch.zeros(3, 1, 200)
    windows[:, :, :20] = torch.randn(3, 1, 20)
    patch_mask = torch.zeros(3, 10, dtype=torch.bool)
    patch_mask[:, 0] = True
    out = model(windows, patch_mask=patch_mask)
    assert not out.token_mask.any()
    assert out.loss.item() == 0.0
    out.loss.backward()  # keeps the graph


def test_the_baseline_predicts_the_targets_mean():
    """Targets 1 and 3 of one value: their mean 2 misses each by 1, an MSE of 1 (mutant: zero, an MSE of 5)."""
    head = CiTrusTimeHead(tiny_config())
    assert head.baseline_loss(torch.tensor([[1.0], [3.0]])).item() == pytest.approx(1.0)


def _log_amplitude(values: torch.Tensor) -> np.ndarray:
    """log(1 + |rFFT|), orthonormal, of every row, in numpy."""
    return np.log1p(np.abs(np.fft.rfft(values.double().numpy(), axis=-1, norm="ortho")))


@pytest.mark.parametrize(
    "head_class, weight_field, weight",
    [(CiTrusFourierHead, "fourier_amplitude_weight", 0.25), (CiTrusTimeFrequencyHead, "frequency_loss_weight", 0.5)],
    ids=["fourier", "time_frequency"],
)
def test_the_spectral_losses_weigh_orthonormal_log_spectra(head_class, weight_field, weight):
    """Sample MSE + weight x MSE of log(1 + |rFFT|), the FFT orthonormal, for "fourier" (its amplitude term, weight
    0.25) and "time_frequency" (its frequency term, weight 0.5) (mutants: either weight left out; the unnormalised
    FFT, whose magnitudes are sqrt(20) times larger)."""
    head = head_class(tiny_config(pretraining_objective=head_class.objective, **{weight_field: weight}))
    prediction, target = torch.randn(4, 20, generator=torch.Generator().manual_seed(0)), torch.randn(4, 20)
    expected = ((prediction - target) ** 2).mean().item() + weight * np.mean(
        (_log_amplitude(prediction) - _log_amplitude(target)) ** 2
    )
    assert head.prediction_loss(prediction, target).item() == pytest.approx(expected, rel=1e-5)


def test_the_fourier_head_turns_softplus_amplitudes_and_phases_into_a_patch_of_odd_length():
    """Patches of 9 samples: 5 bins, amplitude softplus(linear), phase linear, samples the orthonormal inverse rFFT of
    length 9 (mutants: |linear| as the amplitude; the inverse FFT's default length 2 x (5 - 1) = 8)."""
    head = CiTrusFourierHead(tiny_config(pretraining_objective="fourier", context_length=90, patch_length=9)).double()
    tokens = torch.randn(3, 16, dtype=torch.float64)
    with torch.no_grad():
        amplitude = F.softplus(head.amplitude(tokens)).numpy()  # (3, 5)
        phase = head.phase(tokens).numpy()
        samples = head(tokens)
    expected = np.fft.irfft(amplitude * np.exp(1j * phase), n=9, axis=-1, norm="ortho")
    np.testing.assert_allclose(samples.numpy(), expected, rtol=1e-9, atol=1e-12)


def test_the_spectrogram_frame_is_a_hann_window_centred_on_its_patch():
    """Patches of 20, frames of 40: patch p's frame starts 10 samples before it (pad (40 - 20) / 2), is weighted by
    the periodic Hann window and gives log(1 + |rFFT|) (mutants: the whole overhang before the patch; a boxcar window;
    log(|X| + 1e-6))."""
    signal = torch.randn(1, 1, 200, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    target = spectrogram_target(signal, 20, 40)  # (1, 1, 10, 21)
    window = scipy.signal.get_window("hann", 40)  # periodic, as STFTs use
    for patch in (1, 5, 8):  # frames inside the window: no reflection
        frame = signal[0, 0, patch * 20 - 10 : patch * 20 + 30].numpy()
        expected = np.log1p(np.abs(np.fft.rfft(frame * window)))
        np.testing.assert_allclose(target[0, 0, patch].numpy(), expected, rtol=1e-9, atol=1e-9)


def test_the_spectrogram_of_a_padded_window_is_that_of_the_window_alone():
    """A window of 6 real patches batched with padding: its last frame reflects it at its own end, as `F.pad(...,
    "reflect")` does for the window alone (mutant: the symmetric reflection, which repeats the last sample)."""
    signal = torch.randn(1, 1, 200, generator=torch.Generator().manual_seed(0))
    patch_mask = torch.ones(1, 10, dtype=torch.bool)
    patch_mask[0, 6:] = False
    padded = spectrogram_target(signal, 20, 40, patch_mask)
    alone = spectrogram_target(signal[:, :, :120], 20, 40)  # (1, 1, 6, 21)
    torch.testing.assert_close(padded[:, :, :6], alone)


def test_a_gap_inside_a_window_does_not_end_it():
    """Patches 3 and 4 marked as padding inside a window that ends in signal: the window still ends at patch 9, so
    its frames are those of the unmasked window (mutant: the window's end taken as its count of real patches, 8,
    which reflects it at sample 160)."""
    signal = torch.randn(1, 1, 200, generator=torch.Generator().manual_seed(0))
    patch_mask = torch.ones(1, 10, dtype=torch.bool)
    patch_mask[0, 3:5] = False
    torch.testing.assert_close(spectrogram_target(signal, 20, 40, patch_mask), spectrogram_target(signal, 20, 40))


# --------------------------------------------------------------------------------------------- pooling and embed()


def _pooled_by_hand(tokens: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """ "mean_max_std_dynamics" of `tokens` `(P, D)` over the patches where `kept` `(P,)` is True, from
    `pool_patches`'s docstring: mean, max, population standard deviation, the RMS of the steps between kept
    neighbours, then per lag 1..12 the covariance of the kept pairs that far apart over the variance (0 for none)."""
    real = tokens[kept]
    mean, variance = real.mean(0), real.var(0)
    steps = [tokens[i + 1] - tokens[i] for i in range(len(tokens) - 1) if kept[i] and kept[i + 1]]
    dynamics = [np.sqrt(np.mean(np.square(steps), axis=0))]
    for lag in range(1, 13):
        pairs = [(i, i + lag) for i in range(len(tokens) - lag) if kept[i] and kept[i + lag]]
        covariance = sum((tokens[i] - mean) * (tokens[j] - mean) for i, j in pairs) / max(1, len(pairs))
        dynamics.append(covariance / variance)
    return np.concatenate([mean, real.max(0), np.sqrt(variance), *dynamics])


def test_the_richest_pooling_leaves_padding_out_of_every_statistic():
    """6 patches, patch 1 padding holding 100s: left out of the mean (divided by 5 patches), the max, the spread
    (then its square root), the steps (only pairs of kept neighbours: 2-3, 3-4, 4-5) and the lagged pairs (mutants:
    each of those with the padding counted, a count off by one, the variance without its square root, the max and
    the mean swapped, the covariance not divided by the variance)."""
    from citrus_hf.modeling_citrus import pool_patches

    tokens = np.random.default_rng(0).normal(size=(6, 2))
    tokens[1] = 100.0
    kept = np.array([True, False, True, True, True, True])
    pooled = pool_patches(
        torch.from_numpy(tokens)[None, None], torch.from_numpy(kept)[None], "mean_max_std_dynamics"
    )  # (1, 1, 16 x 2)
    np.testing.assert_allclose(pooled[0, 0].numpy(), _pooled_by_hand(tokens, kept), rtol=1e-9, atol=1e-12)
    mean_max = pool_patches(torch.from_numpy(tokens)[None, None], torch.from_numpy(kept)[None], "mean_max")
    np.testing.assert_allclose(mean_max[0, 0].numpy(), _pooled_by_hand(tokens, kept)[:4], rtol=1e-9)


def test_states_pooled_together_are_grouped_state_by_state():
    """`pool_states` of two states is the first state's statistics, then the second's (mutant: grouped statistic by
    statistic: both means, then both maxima)."""
    from citrus_hf.modeling_citrus import pool_patches, pool_states

    first, second = torch.randn(2, 1, 5, 3), torch.randn(2, 1, 5, 3)
    torch.testing.assert_close(
        pool_states([first, second], None, "mean_max"),
        torch.cat([pool_patches(first, None, "mean_max"), pool_patches(second, None, "mean_max")], dim=-1),
    )


def test_embed_pools_the_state_and_statistic_it_is_asked_for_over_the_signal():
    """Two channels, window 1 padded after 6 patches: `embed()` pools the named state over the real patches of every
    channel, channel after channel (or their mean), with the encoder told about the padding (mutants: the options
    replaced by the config's; the patch mask kept from the encoder or the pooling; channels interleaved or summed;
    the first of "all_layers" states taken with positions added)."""
    from citrus_hf import CiTrusModel

    torch.manual_seed(0)
    model = CiTrusModel(tiny_config(num_channels=2)).eval()  # config: features "context", pooling "mean"
    windows = torch.randn(2, 2, 200)
    windows[1, :, 120:] = 0.0
    patch_mask = torch.ones(2, 10, dtype=torch.bool)
    patch_mask[1, 6:] = False
    keep = patch_mask[:, None, :, None].float()
    with torch.no_grad():
        out = model(windows, patch_mask=patch_mask, output_hidden_states=True)

        def mean_of(states):  # (2, 2, 10, 16) -> (2, 2, 16)
            return (states * keep).sum(2) / keep.sum(2)

        context_mean = mean_of(out.last_hidden_state)
        torch.testing.assert_close(model.embed(windows, patch_mask), context_mean.flatten(1))  # (2, 2 x 16)
        torch.testing.assert_close(model.embed(windows, patch_mask, channel_pooling="mean"), context_mean.mean(dim=1))
        maximum = out.encoded_states.masked_fill(keep == 0, -1e9).amax(dim=2)
        torch.testing.assert_close(
            model.embed(windows, patch_mask, features="encoded", pooling="max"), maximum.flatten(1)
        )
        all_layers = torch.cat([mean_of(out.encoded_states), mean_of(out.hidden_states[1])], dim=-1)  # (2, 2, 32)
        torch.testing.assert_close(model.embed(windows, patch_mask, features="all_layers"), all_layers.flatten(1))


def test_embed_reads_the_cls_token_or_pools_the_patches_without_it():
    """A model built with a CLS token: pooling="cls" reads token 0, any other pooling the 10 patches after it
    (mutants: the last token read as the CLS token; the CLS token pooled with the patches)."""
    from citrus_hf import CiTrusModel

    torch.manual_seed(0)
    model = CiTrusModel(tiny_config(pooling="cls")).eval()
    windows = torch.randn(2, 1, 200)
    with torch.no_grad():
        states = model(windows).last_hidden_state  # (2, 1, 11, 16)
        torch.testing.assert_close(model.embed(windows), states[:, :, 0].flatten(1))
        torch.testing.assert_close(model.embed(windows, pooling="mean"), states[:, :, 1:].mean(dim=2).flatten(1))


def test_the_pooler_width_counts_every_state_of_all_layers():
    """features="all_layers" of one transformer layer pools 2 states (CNN tokens, layer 1): the pooler and the head
    it feeds are 2 x 1 x 16 = 32 wide per channel, what `embed()` returns (mutant: one state counted per layer, 16)."""
    from citrus_hf import CiTrusForSequenceClassification

    model = CiTrusForSequenceClassification(tiny_config(head_features="all_layers", num_labels=2)).eval()
    assert model.pooler.output_size == 32
    with torch.no_grad():
        assert model.embed(torch.randn(1, 1, 200)).shape == (1, 32)
        assert model(torch.randn(1, 1, 200)).logits.shape == (1, 2)


# -------------------------------------------------------------------------------------------- task heads' losses


def test_the_classification_losses_are_transformers_own():
    """Single-label: plain cross-entropy, log(1 + e) = 1.3133 for logits (1, 0) and class 1 (mutant: label smoothing).
    Multi-label: binary cross-entropy with logits, (log(1 + e^-1) + log(1 + e^-2)) / 2 = 0.2201 for logits (1, -2) and
    targets (1, 0) (mutant: the MSE of the sigmoids). One output: regression, the MSE (mutant: num_labels=1 read as
    two classes' indices)."""
    from citrus_hf.modeling_citrus import classification_loss

    logits = torch.tensor([[1.0, 0.0]])
    single = classification_loss(tiny_config(num_labels=2), logits, torch.tensor([1]))
    assert single.item() == pytest.approx(np.log1p(np.e), rel=1e-6)
    multi = classification_loss(tiny_config(num_labels=2), torch.tensor([[1.0, -2.0]]), torch.tensor([[1.0, 0.0]]))
    assert multi.item() == pytest.approx((np.log1p(np.exp(-1)) + np.log1p(np.exp(-2))) / 2, rel=1e-6)
    config = tiny_config(num_labels=1)
    assert classification_loss(config, torch.tensor([[1.0], [2.0]]), torch.tensor([1.5, 4.0])).item() == 2.125
    assert config.problem_type == "regression"  # ((0.5)^2 + 2^2) / 2 = 2.125


def test_a_column_of_class_indices_is_single_label():
    """Labels `(batch, 1)` for a 3-class model are class indices, not multi-label targets of the wrong width
    (mutant: any 2-D labels taken as multi-label, refused as the wrong shape)."""
    from citrus_hf.modeling_citrus import classification_loss

    config = tiny_config(num_labels=3)
    loss = classification_loss(config, torch.zeros(2, 3), torch.tensor([[0], [2]]))
    assert loss.item() == pytest.approx(np.log(3), rel=1e-6)  # uniform logits: -log(1/3)
    assert config.problem_type == "single_label_classification"


def test_labels_out_of_range_or_fractional_are_refused_by_the_package():
    """Class 2 of a 2-class model, class 0.5, a multi-label target of 2: one-line errors from the package (mutants:
    the upper bound off by one, which torch meets with a bare IndexError; fractions truncated; targets above 1
    accepted)."""
    from citrus_hf.modeling_citrus import classification_loss

    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 1\]"):
        classification_loss(tiny_config(num_labels=2), torch.zeros(2, 2), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="whole numbers"):
        classification_loss(tiny_config(num_labels=2), torch.zeros(2, 2), torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        classification_loss(tiny_config(num_labels=2), torch.zeros(1, 2), torch.tensor([[2.0, 0.0]]))


def test_the_regression_loss_is_the_mean_squared_error():
    """Errors 1 and 3: (1 + 9) / 2 = 5 (mutant: the mean absolute error, 2)."""
    from citrus_hf.modeling_citrus import regression_loss

    assert regression_loss(torch.tensor([[1.0], [0.0]]), torch.tensor([0.0, 3.0])).item() == 5.0


def test_the_regressor_bias_starts_at_the_targets_mean_from_a_column():
    """Targets 1, 2 and 6 as a column `(3, 1)`: the bias starts at their mean, 3 (mutants: the median, 2; a column
    refused as another shape)."""
    from citrus_hf import CiTrusForRegression

    model = CiTrusForRegression(tiny_config(num_targets=1))
    model.init_regressor_bias(torch.tensor([[1.0], [2.0], [6.0]]))
    assert model.regressor.bias.tolist() == [3.0]


def test_the_offset_warning_judges_each_target_on_its_own_spread_after_two_examples(caplog):
    """Batches of one example wait for a second before the offset is judged (one example has no spread: mutant,
    judged at once). Then targets (70 +- 5 bpm, 0.3 +- 0.05 Hz) against predictions (70, 5): the breathing rate is
    4.7 away, far beyond 3 x 0.05, even though the heart rate's spread is 5 (mutant: every target judged against the
    largest spread, 15 > 4.7, so no warning)."""
    from citrus_hf import CiTrusForRegression

    model = CiTrusForRegression(tiny_config(num_targets=2)).train()
    with caplog.at_level("WARNING"):
        model._check_target_offset(torch.tensor([[70.0, 5.0]]), torch.tensor([[65.0, 0.25]]))
        assert "targets average" not in caplog.text
        model._check_target_offset(torch.tensor([[70.0, 5.0]]), torch.tensor([[75.0, 0.35]]))
    assert caplog.text.count("targets average") == 1


def test_a_classifier_scores_a_padded_window_from_its_signal_only():
    """The task model pools with the patch mask, as `embed()` does: its logits are the head on `embed()`'s features
    (mutant: the pooler told of no padding, which averages the padding patches in)."""
    from citrus_hf import CiTrusForSequenceClassification

    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).eval()
    windows = torch.randn(1, 1, 200)
    windows[:, :, 120:] = 0.0
    patch_mask = torch.ones(1, 10, dtype=torch.bool)
    patch_mask[0, 6:] = False
    with torch.no_grad():
        logits = model(windows, patch_mask=patch_mask).logits
        torch.testing.assert_close(logits, model.classifier(model.embed(windows, patch_mask)))


def test_a_float32_head_on_a_float64_model_and_a_head_on_the_channel_mean():
    """A float32 head beside a float64 body takes the features in float32 (mutant: float64 features into a float32
    head, which torch refuses). channel_pooling="mean" over 2 channels feeds the head one channel's width, 16
    (mutant: 2 x 16, a head that no pooled vector fits)."""
    from citrus_hf import CiTrusForSequenceClassification

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).double().eval()
    model.classifier.float()
    with torch.no_grad():
        assert model(torch.randn(1, 1, 200, dtype=torch.float64)).logits.dtype == torch.float32
    averaged = CiTrusForSequenceClassification(tiny_config(num_labels=2, num_channels=2, channel_pooling="mean"))
    assert averaged.pooler.output_size == 16
    with torch.no_grad():
        assert averaged.eval()(torch.randn(1, 2, 200)).logits.shape == (1, 2)


def test_a_frozen_backbone_gets_no_gradient_and_stays_in_eval_mode():
    """`freeze_backbone()`: no encoder parameter trains and `model.train()` (as the Trainer calls it) leaves the
    encoder in eval mode, its dropout off (mutants: requires_grad kept; the encoder put in training mode)."""
    from citrus_hf import CiTrusForSequenceClassification

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    model.freeze_backbone()
    model.train()
    assert not any(p.requires_grad for p in model.citrus.parameters())
    assert all(p.requires_grad for p in model.classifier.parameters())
    assert not model.citrus.training and model.classifier.training


# ---------------------------------------------------------------------------------- encoder, masking, decoder


@pytest.mark.parametrize("output_attentions", [False, True], ids=["sdpa", "eager"])
def test_padding_does_not_reach_the_signal_patches(output_attentions):
    """Window padded after 6 patches: the outputs at its real patches do not depend on what the padding holds (zeros
    or noise), since attention gives padding keys a weight of exactly 0, in the default attention and in the eager
    one that `output_attentions=True` runs (mutants: an additive mask of -1, which only scales their weight by 1/e;
    the eager attention subtracting the mask, which gives padding keys all the weight)."""
    from citrus_hf import CiTrusModel

    torch.manual_seed(0)
    model = CiTrusModel(tiny_config()).eval()
    windows = torch.randn(1, 1, 200)
    noisy = windows.clone()
    windows[:, :, 120:], noisy[:, :, 120:] = 0.0, 10 * torch.randn(1, 1, 80)
    patch_mask = torch.ones(1, 10, dtype=torch.bool)
    patch_mask[0, 6:] = False
    with torch.no_grad():
        quiet = model(windows, patch_mask=patch_mask, output_attentions=output_attentions).last_hidden_state
        loud = model(noisy, patch_mask=patch_mask, output_attentions=output_attentions).last_hidden_state
    quiet, loud = quiet[:, :, :6], loud[:, :, :6]
    torch.testing.assert_close(quiet, loud, rtol=1e-5, atol=1e-6)


def test_the_mask_is_drawn_over_a_window_s_real_patches():
    """A window with 6 real patches of 10 at mask_ratio 0.5: round(0.5 x 6) = 3 masked, all among the real ones
    (mutant: the padding ignored, 5 masked anywhere)."""
    from citrus_hf.modeling_citrus import CiTrusMasking

    patch_mask = torch.ones(8, 10, dtype=torch.bool)
    patch_mask[:, 6:] = False
    mask = CiTrusMasking(tiny_config(mask_ratio=0.5))(8, 1, 10, torch.device("cpu"), patch_mask=patch_mask)
    assert not mask[:, :, 6:].any()
    assert (mask.sum(dim=-1) == 3).all()


def test_dual_masking_pretrains_with_whole_channels_masked():
    """channel_mask_ratio=0.5 of 2 channels: one channel fully masked on top of the patch mask, so the channels mask
    different numbers of patches and the last layer runs everywhere: every masked patch gets a prediction from its
    own context, as a pass with the same mask given finds it (mutant: the last layer run at `num_masked(10)`
    positions per channel, fewer than the masked channel's 10)."""
    torch.manual_seed(0)
    model = CiTrusForPretraining(tiny_config(num_channels=2, channel_mask_ratio=0.5)).eval()
    windows = torch.randn(2, 2, 200)
    with torch.no_grad():
        drawn = model(windows)
        given = model(windows, token_mask=drawn.token_mask)
    assert (drawn.token_mask.all(dim=-1).sum(dim=-1) == 1).all()
    torch.testing.assert_close(drawn.prediction, given.prediction, rtol=1e-5, atol=1e-6)


def test_masked_batch_norm_keeps_the_unbiased_variance_of_the_kept_tokens():
    """BatchNorm in training over the tokens `keep` marks: the running variance moves by momentum 0.1 towards their
    unbiased variance, as `nn.BatchNorm1d` keeps it (mutant: the population variance)."""
    from citrus_hf.modeling_citrus import CiTrusNorm

    norm = CiTrusNorm(tiny_config(norm_type="batchnorm")).train()
    tokens = torch.randn(2, 5, 16, dtype=torch.float64)
    keep = torch.tensor([[True] * 5, [True, True, True, False, False]])
    norm.double()(tokens, keep)
    kept = tokens[keep].numpy()  # (8, 16)
    expected = 0.9 * 1.0 + 0.1 * kept.var(axis=0, ddof=1)
    np.testing.assert_allclose(norm.norm.running_var.numpy(), expected, rtol=1e-9)


def test_the_decoder_crops_the_position_past_an_odd_patch():
    """Patches of 9 with strides (1, 2): the stem maps 9 samples to ceil(9 / 2) = 5 positions, position j centred on
    sample 2j. Decoded back, position j emits samples 2j and 2j + 1, 10 in all: the extra one is the last, sample 9,
    and is cropped. With the stride-2 block emitting 1 at its first sample and 0 at its second, and the last block
    summing 4 channels, a patch decodes to 4, 0, 4, 0, 4, 0, 4, 0, 4 (mutant: the first sample cropped, 0, 4, ...)."""
    head = CiTrusTimeHead(tiny_config(context_length=90, patch_length=9, cnn_channels=[4, 8], cnn_strides=[1, 2]))
    with torch.no_grad():
        head.projection.weight.zero_()
        head.projection.bias.fill_(1.0)  # (N, 5, 8) of ones
        stride_two, last = head.blocks  # 8 -> 4 channels at stride 2, then 4 -> 1 at stride 1
        stride_two.weight.zero_()
        stride_two.bias.copy_(torch.tensor([1.0] * 4 + [0.0] * 4))  # first sample: 1 per channel, second: 0
        last.weight.fill_(1.0)
        last.bias.zero_()
        decoded = head(torch.randn(2, 16))  # (2, 9)
    assert decoded.tolist() == [[4.0, 0.0, 4.0, 0.0, 4.0, 0.0, 4.0, 0.0, 4.0]] * 2


# ---------------------------------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"patch_length": 1, "context_length": 200}, "at least 2 samples"),
        ({"context_length": 210}, "positive multiple of `patch_length`"),
        ({"mask_ratio": 1.0}, "strictly between 0 and 1"),
        ({"channel_mask_ratio": 1.0}, r"lie in \[0, 1\)"),
        ({"mask_block_size": 0}, "at least 1 patch"),
        ({"pretraining_objective": "spectrogram", "spectrogram_n_fft": 41}, "differ from it by an even number"),
        ({"fourier_amplitude_weight": -0.5}, "must be non-negative"),
        ({"cnn_kernel_size": 4}, "must be odd"),
        ({"num_attention_heads": 3}, "divisible by `num_attention_heads`"),
        ({"attention_type": "criss_cross", "num_channel_attention_heads": 3}, "must lie between 0"),
        ({"hidden_dropout": 1.0}, r"must lie in \[0, 1\)"),
        ({"num_hidden_layers": 0}, "at least 1 unless"),
        ({"pooling": "cls", "head_features": "encoded"}, 'needs `head_features="context"`'),
        ({"normalization": "fixed", "normalization_mean": [0.0], "normalization_std": [0.0]}, "must be positive"),
        ({"normalization": "fixed", "normalization_mean": [0.0, 1.0], "normalization_std": [1.0]}, "one value per"),
        ({"id2label": {0: "rest", 2: "walk"}}, "without gaps"),
        ({"norm_eps": 0.0}, "must be positive"),
        ({"initializer_range": -0.5}, "must be non-negative"),
    ],
)
def test_a_config_on_the_wrong_side_of_a_bound_is_refused(changes, message):
    """Each value sits just past a bound the config documents (a bound moved by one step, or a check dropped, lets
    it through: mutants)."""
    with pytest.raises(ValueError, match=message):
        tiny_config(**changes)


def test_derived_sizes_of_the_spectrogram_and_channel_count():
    """The default STFT window: at least 40 samples and the patch's parity (patches of 15 -> 41, of 50 -> 50); 41 bins
    for 80 samples; a head that averages channels takes any count (mutants: the parity or the patch length ignored,
    n_fft // 2 bins, channel_pooling="mean" said to fix the count)."""
    from citrus_hf.configuration_citrus import default_spectrogram_n_fft

    assert [default_spectrogram_n_fft(p) for p in (15, 20, 50)] == [41, 40, 50]
    assert tiny_config(spectrogram_n_fft=80).spectrogram_bins == 41
    averaged = tiny_config(channel_pooling="mean", architectures=["CiTrusForSequenceClassification"])
    assert averaged.fixes_channel_count is False


def test_single_label_classification_of_one_output_set_after_the_build_is_refused_by_the_loss():
    """transformers refuses the pair at construction; set on a built model's config, the loss refuses it (a
    cross-entropy over one class is always 0: mutant, the check dropped, trains nothing without a word)."""
    from citrus_hf.modeling_citrus import classification_loss

    config = tiny_config(num_labels=1)
    config.problem_type = "single_label_classification"
    with pytest.raises(ValueError, match="needs at least two outputs"):
        classification_loss(config, torch.zeros(2, 1), torch.tensor([0, 0]))
