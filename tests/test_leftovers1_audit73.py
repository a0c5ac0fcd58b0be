"""Audit 73 (leftovers): -inf / -nan as option values, ..."""

from __future__ import annotations

import numpy as np
import pytest

# --------------------------------------------------------------------------- -inf and -nan as option values


@pytest.mark.parametrize("value", ["-inf", "-Infinity", "-nan", "-INF"])
def test_a_negative_infinity_or_nan_is_read_as_a_value_and_refused_naming_the_option(tmp_path, value):
    """argparse reads `-inf` as an unknown option, so `--sampling-rate -inf` failed with "expected one argument"
    where `-1e309` (also minus infinity) was refused naming the rate."""
    from citrus_hf.commands import finetune, predict

    recording = tmp_path / "rec.npy"
    np.save(recording, np.zeros((1, 100), dtype=np.float32))
    rate = predict.build_parser().parse(["citrus-small", str(recording), "--sampling-rate", value]).sampling_rate
    assert str(rate) == str(float(value))
    argv = ["--dataset", "x", "--output-dir", str(tmp_path / "out"), "--sampling-rate", value]
    with pytest.raises(ValueError, match=r"--sampling-rate must be a finite number above 0, got -?(inf|nan)"):
        finetune.build_parser().parse(argv)


def test_an_option_named_like_a_word_is_still_an_option(tmp_path):
    """Only -inf / -infinity / -nan themselves are values: `-information` is not a number."""
    from citrus_hf.commands import UsageError, predict

    recording = tmp_path / "rec.npy"
    np.save(recording, np.zeros((1, 100), dtype=np.float32))
    with pytest.raises(UsageError, match="expected one argument"):
        predict.build_parser().parse(["citrus-small", str(recording), "--sampling-rate", "-information"])
