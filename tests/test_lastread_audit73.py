"""Audit 73, a read of the session's merged change: what two branches left saying different things."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from test_bids_audit73 import _bids

pytestmark = pytest.mark.usefixtures("own_datasets_cache")  # (a datasets cache of each test's own)


def test_a_bids_roots_stimuli_are_not_said_to_lie_in_derivatives(tmp_path, caplog):
    """One branch left a BIDS root's code/ and stimuli/ out of its readings beside derivatives/ and sourcedata/
    (`bids._NOT_RAW`), another wrote the warning, which said every file left out lies in "derivatives/ or
    sourcedata/" and is a processed copy or an original of a recording: a sound presented as a stimulus was named so."""
    from citrus_hf.commands.predict import _expand_folders

    root = tmp_path / "bids"
    _bids(root, subjects=("01",))
    (root / "stimuli").mkdir()
    from scipy.io import wavfile

    wavfile.write(root / "stimuli" / "beep.wav", 8000, np.zeros(800, np.int16))
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        files = _expand_folders([str(root)])
    assert [Path(file).relative_to(root).parts[0] for file in files] == ["sub-01"]
    assert "lie in stimuli/ (first: stimuli/beep.wav)" in caplog.text
    assert "derivatives/ or sourcedata/" not in caplog.text and "processed copies" not in caplog.text
