"""Session 71 audit of the resampling against the traps users reported upstream in scipy.signal / numpy.

- scipy's `resample_poly` designs one low-pass filter and splits it into `up` polyphase branches; their DC gains differ
  by up to 7e-4 (Kaiser window, beta 5, half-length 10), so upsampling a recording whose level moves (gravity under a
  posture change, an EEG drift) wrote a ripple at the input's rate in proportion to the level's distance from the
  recording's mean, which centring (removing the mean) cannot take out: a 50 Hz accelerometer upsampled to 100 Hz
  with a 1 g posture change half-way carried a 50 Hz alternation of 13 % of a 0.02 g tremor. Each branch is now
  scaled to unity DC gain, so a level of any size passes unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf import feature_extraction_citrus as fe


@pytest.mark.parametrize(("source_rate", "target_rate"), [(50.0, 100.0), (64.0, 100.0), (29.97, 100.0), (1.0, 100.0)])
def test_a_moving_level_passes_upsampling_without_a_ripple(source_rate, target_rate):
    """A step between two levels (lying, then standing) comes out flat on each side of it, as it went in."""
    up, down = fe._resampling_factors(source_rate, target_rate)
    samples = int(60 * source_rate)
    level = np.where(np.arange(samples) < samples // 2, 0.0, 9.81)[None]
    resampled = fe._resample(level, up, down)[0]
    step = resampled.size // 2
    reach = 12 * max(up, down) // down + 2  # the filter's reach around the step, in output samples
    flat_low, flat_high = resampled[reach : step - reach], resampled[step + reach : -reach]
    np.testing.assert_allclose(flat_low, 0.0, atol=1e-9)
    np.testing.assert_allclose(flat_high, 9.81, rtol=1e-9)


def test_a_tremor_on_a_posture_change_keeps_no_alternation_at_the_models_nyquist():
    """The user-level case: 0.02 g tremor at 5 Hz on a 1 g step, 50 Hz -> a 100 Hz extractor."""
    rate = 50.0
    t = np.arange(int(30 * rate)) / rate
    recording = 9.81 * (t > 15) + 0.02 * np.sin(2 * np.pi * 5 * t)
    extractor = fe.CiTrusFeatureExtractor(normalization="none")
    output = extractor(recording, sampling_rate=rate, return_tensors="np")["input_values"][0, 0]
    model_times = np.arange(output.size) / 100.0
    truth = 9.81 * (model_times > 15) + 0.02 * np.sin(2 * np.pi * 5 * model_times)
    error = (output - truth)[2000:2900]  # standing: well after the step, before the end
    alternation = abs(float(np.mean(error * (-1.0) ** np.arange(error.size))))
    assert alternation < 1e-3 * 0.02, f"a 50 Hz alternation of {alternation / 0.02:.2%} of the tremor"


@pytest.mark.parametrize(("up", "down"), [(2, 5), (25, 32), (50, 87), (2666, 799), (200, 1), (3, 1)])
def test_every_polyphase_branch_of_the_filter_passes_a_constant_with_gain_one(up, down):
    taps = fe._polyphase_filter(up, down) * up  # as resample_poly scales it
    gains = np.array([taps[phase::up].sum() for phase in range(up)])
    np.testing.assert_allclose(gains, 1.0, rtol=1e-12)


def test_decimation_filters_are_resample_polys_own():
    """With one branch (up == 1) the filter was already unity-gain: resample_poly's own design, bit for bit."""
    from scipy.signal import firwin

    np.testing.assert_array_equal(fe._polyphase_filter(1, 5), firwin(2 * 10 * 5 + 1, 1 / 5, window=("kaiser", 5.0)))
