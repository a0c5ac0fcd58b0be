"""The formulas against their stated definitions (audit 68), checked with independent numpy computations:

- the Fourier objective's amplitude term scored the amplitudes the head predicted, but at the DC and Nyquist bins the
  inverse real FFT keeps only the real part of the spectrum, so the predicted samples did not have those amplitudes:
  the loss rewarded a DC amplitude the reconstruction lacked, and differed from `prediction_loss` of the same samples;
- the README said resampling removes every frequency above the model's Nyquist frequency; the anti-aliasing filter
  (resample_poly's Kaiser design, cut off at the new Nyquist frequency) passes part of the first few hertz above it,
  folded below it. The README now gives the measured amplitudes, which a test keeps true.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.modeling_citrus import CiTrusFourierHead

README = Path(__file__).resolve().parents[1] / "README.md"


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


def _passed_amplitude(frequency: float, rate: float = 250.0) -> float:
    """The amplitude of a unit tone at `frequency` Hz, recorded at `rate` Hz, after alignment to a 100 Hz model
    (away from the window's edges)."""
    extractor = CiTrusFeatureExtractor(sampling_rate=100.0, context_length=1000, patch_length=10, normalization="none")
    time = np.arange(int(rate * 10)) / rate
    aligned = extractor(np.sin(2 * np.pi * frequency * time)[None, None], sampling_rate=rate, return_tensors="np")
    return float(np.sqrt(2 * np.mean(aligned["input_values"][0, 0, 100:-100].astype(np.float64) ** 2)))


def test_readme_states_what_resampling_lets_through_above_the_nyquist_frequency():
    readme = " ".join(README.read_text().split())
    assert "Resampling removes every frequency above" not in readme
    # the README's figures for a 100 Hz model: 51 Hz at 39 %, 55 Hz at 7 %, 60 Hz at 0.2 % of their amplitude
    for frequency, stated in ((51, 0.39), (55, 0.07), (60, 0.002)):
        assert f"{frequency} Hz" in readme
        assert _passed_amplitude(frequency) == pytest.approx(stated, abs=0.01 if stated > 0.01 else 0.001)
