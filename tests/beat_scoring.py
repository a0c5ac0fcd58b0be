"""Scoring a beat detector against reference beats (a test helper: the detectors in `citrus_hf.data.physio` are
checked with it on synthetic and real recordings)."""

from __future__ import annotations

import numpy as np


def beat_agreement(
    reference: np.ndarray, test: np.ndarray, sampling_rate: float, tolerance_seconds: float = 0.05
) -> dict:
    """Match two beat series one-to-one within a tolerance.

    Returns:
        {"sensitivity": matched / reference beats, "ppv": matched / test beats, "matched", "reference", "test"}.
    """
    reference = np.sort(np.asarray(reference))
    test = np.sort(np.asarray(test))
    tolerance = tolerance_seconds * sampling_rate
    used = np.zeros(test.size, dtype=bool)
    matched = 0
    for beat, position in zip(reference, np.searchsorted(test, reference)):
        best = None
        for k in (position - 1, position):
            if 0 <= k < test.size and not used[k] and abs(test[k] - beat) <= tolerance:
                if best is None or abs(test[k] - beat) < abs(test[best] - beat):
                    best = k
        if best is not None:
            used[best] = True
            matched += 1
    return {
        "sensitivity": matched / max(reference.size, 1),
        "ppv": matched / max(test.size, 1),
        "matched": matched,
        "reference": int(reference.size),
        "test": int(test.size),
    }
