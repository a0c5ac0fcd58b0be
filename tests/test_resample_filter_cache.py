"""The extractor designs each resampling ratio's anti-aliasing filter once (`_polyphase_filter`), with the result
a fresh design gives, bit for bit: resample_poly's own for decimation (one polyphase branch), and resample_poly's own
with each branch at unity DC gain otherwise (`_design_polyphase_filter`), within the branches' 7e-4 of it."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from scipy.signal import resample_poly

from citrus_hf import feature_extraction_citrus as fe


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("up", "down"), [(2, 5), (1, 2), (50, 87), (3, 1), (7, 13)])
def test_cached_filter_resamples_as_a_fresh_design(up: int, down: int, dtype: type) -> None:
    signal = np.random.default_rng(up * 100 + down).standard_normal((3, 517)).astype(dtype)
    mean = signal.mean(axis=-1, keepdims=True, dtype=np.float64).astype(dtype)
    window = fe._design_polyphase_filter(up, down).astype(dtype)
    expected = resample_poly(signal - mean, up, down, axis=-1, window=window, padtype=fe._PADTYPE) + mean
    resampled = fe._resample_centred(signal, up, down)
    assert resampled.dtype == dtype
    np.testing.assert_array_equal(resampled, expected.astype(dtype))
    own = resample_poly(signal - mean, up, down, axis=-1, padtype=fe._PADTYPE) + mean
    if up == 1:
        np.testing.assert_array_equal(resampled, own.astype(dtype))
    else:
        np.testing.assert_allclose(resampled, own, atol=1e-3 * np.abs(signal).max())


def test_a_ratio_filter_is_designed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    designs = []
    firwin = scipy.signal.firwin
    monkeypatch.setattr(scipy.signal, "firwin", lambda *args, **kwargs: designs.append(args) or firwin(*args, **kwargs))
    fe._everyday_polyphase_filter.cache_clear()
    signal = np.zeros((1, 200), dtype=np.float32)
    for _ in range(5):
        fe._resample_centred(signal, 2, 5)
    assert len(designs) == 1
    assert not fe._polyphase_filter(2, 5).flags.writeable  # a caller cannot change the kept filter
