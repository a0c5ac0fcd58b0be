"""Audit 65, channel names and rates: train rows naming their channels in another case ("FP1" beside "Fp1") lost the
model's channel names; a pipeline whose extractor names no channels ignored the model config's; per-channel rates
and `extractor(x, channel_names=...)` got messages that did not say what to do."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from test_splits_audit62 import _saved  # noqa: E402

from citrus_hf.data.splits import load_task_splits  # noqa: E402

# ------------------------------------------------------------------------------------- 1. names in another case


def test_train_rows_naming_their_channels_in_another_case_keep_the_names(tmp_path):
    """Rows (A, b) beside rows (a, B): the same channels, read in place; the model kept no names, so `citrus predict`
    read a file listing them in another order by position."""
    folder = _saved(tmp_path, [["A", "b"], ["a", "B"]] * 4, [["a", "b"]] * 4)
    assert load_task_splits(folder, require_validation=False).channel_names == ["A", "b"]
