"""Review of `citrus predict --summary` and the regressor columns it shares with --output's .csv rows: a recording
without a window of signal (every window flat) has no mean target, and a regressor of several targets crashed on it
(`zip` / `len` of None) instead of writing its row's targets empty. Tiny regressors over .npy files."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from tiny_configs import tiny_config

from citrus_hf import CiTrusForRegression
from citrus_hf.commands.main import main
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor


def _regressor(folder, **overrides) -> tuple[str, int]:
    config = tiny_config(num_targets=2, **overrides)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    CiTrusForRegression(config).save_pretrained(folder)
    return str(folder), int(config.sampling_rate)


def _recordings(tmp_path, rate: int) -> list[str]:
    """A flat recording (no window of signal) before one of noise, 10 s each."""
    flat, noise = tmp_path / "flat.npy", tmp_path / "noise.npy"
    np.save(flat, np.zeros((1, 10 * rate), dtype=np.float32))
    np.save(noise, np.random.default_rng(0).standard_normal((1, 10 * rate)).astype(np.float32))
    return [str(flat), str(noise)]


def _rows(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("names", [{0: "heart_rate", 1: "spo2"}, None], ids=["named", "unnamed"])
def test_a_flat_recordings_summary_row_has_empty_targets(tmp_path, names):
    model, rate = _regressor(tmp_path / "model", **({"id2label": names} if names else {}))
    summary = tmp_path / "summary.csv"
    argv = ["predict", model, *_recordings(tmp_path, rate), "--sampling-rate", str(rate)]
    assert main([*argv, "--summary", str(summary)]) == 0
    flat, noise = _rows(summary)
    columns = ["heart_rate", "spo2"] if names else ["target_0", "target_1"]
    assert list(flat)[-2:] == columns
    assert [flat[column] for column in columns] == ["", ""]  # no mean of no signal
    assert int(flat["no_signal_windows"]) == int(flat["windows"]) > 0
    assert all(noise[column] != "" for column in columns)


def test_an_unnamed_regressors_csv_rows_of_a_flat_recording(tmp_path):
    model, rate = _regressor(tmp_path / "model")
    output = tmp_path / "windows.csv"
    argv = ["predict", model, *_recordings(tmp_path, rate), "--sampling-rate", str(rate)]
    assert main([*argv, "--output", str(output)]) == 0
    rows = _rows(output)
    assert {row["no_signal"] for row in rows if row["recording"].endswith("flat.npy")} == {"flat"}
    assert all(row["target_0"] != "" and row["target_1"] != "" for row in rows)  # each window's own values


# Two equally specific BIDS sidecars were refused by a bare ValueError: a caller catching the package's data errors
# (CitrusDataError) for a dataset it cannot read missed this one.
def test_equally_specific_bids_tables_are_refused_as_a_citrus_data_error(tmp_path):
    from test_leftovers9_audit73 import _root_with_two_tables

    from citrus_hf.data.bids import read_bids_events
    from citrus_hf.data.errors import CitrusDataError

    recording = _root_with_two_tables(tmp_path)
    with pytest.raises(CitrusDataError, match="equally specific sidecars"):
        read_bids_events(tmp_path, [recording])


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
