"""The formulas against their stated definitions (audit 68), checked with independent numpy computations:

- the Fourier objective's amplitude term scored the amplitudes the head predicted, but at the DC and Nyquist bins the
  inverse real FFT keeps only the real part of the spectrum, so the predicted samples did not have those amplitudes:
  the loss rewarded a DC amplitude the reconstruction lacked, and differed from `prediction_loss` of the same samples.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf.modeling_citrus import CiTrusFourierHead


def _log_amplitude_mse_reference(samples: np.ndarray, target: np.ndarray, weight: float) -> float:
    """neuro2vec's loss as the docstring defines it, in numpy: the sample MSE plus `weight` times the MSE of the
    log(1 + amplitude) of the predicted samples' and the target's orthonormal spectra."""
    amplitude = np.abs(np.fft.rfft(samples, axis=-1, norm="ortho"))
    true_amplitude = np.abs(np.fft.rfft(target, axis=-1, norm="ortho"))
    return float(
        np.mean((samples - target) ** 2) + weight * np.mean((np.log1p(amplitude) - np.log1p(true_amplitude)) ** 2)
    )


def test_fourier_amplitude_loss_scores_the_amplitudes_the_predicted_samples_have():
    torch.manual_seed(0)
    head = CiTrusFourierHead(tiny_config(pretraining_objective="fourier", fourier_amplitude_weight=1.0)).double()
    with torch.no_grad():
        # the DC bin predicted with amplitude ~2 at phase pi/2: the inverse real FFT keeps only its real part, 0
        head.amplitude.weight[0] = 0.0
        head.amplitude.bias[0] = 2.0
        head.phase.weight[0] = 0.0
        head.phase.bias[0] = math.pi / 2
    tokens = torch.randn(32, head.amplitude.in_features, dtype=torch.float64)
    target = torch.randn(32, head.patch_length, dtype=torch.float64) + 0.5  # patches with a level
    with torch.no_grad():
        loss, samples = head.loss(tokens, target)
        assert abs(float(samples.mean(dim=-1).abs().max())) < 1e-12  # the predicted patches have no level
        expected = _log_amplitude_mse_reference(samples.numpy(), target.numpy(), weight=1.0)
        assert float(loss) == pytest.approx(expected, rel=1e-9)
        # the same number from the prediction alone, as the held-out baseline computes it
        assert float(head.prediction_loss(samples, target)) == pytest.approx(expected, rel=1e-9)
