"""Review of the fusion rebase of `citrus predict`: options a single model's run honours were dropped or handled
otherwise on the fusion route (`_predict_fusion`). Tiny fusion models (`test_fusionpipe_audit73`)."""

from __future__ import annotations

import numpy as np
import pytest
from test_fusionpipe_audit73 import RATES, saved

from citrus_hf.commands.main import main


def _stamped_csvs(tmp_path) -> dict[str, str]:
    """One CSV per modality whose time column steps at twice the modality's rate."""
    rng = np.random.default_rng(0)
    paths = {}
    for name, rate in RATES.items():
        count = 6 * rate
        stamps = np.arange(count) / (2 * rate)
        paths[name] = str(tmp_path / f"{name}.csv")
        np.savetxt(
            paths[name], np.stack([stamps, rng.standard_normal(count)], 1), delimiter=",", header="time,x", comments=""
        )
    return paths


# --ignore-time-stamps was not passed to the reader on the fusion route: CSVs whose time stamps disagree with the rate
# given were refused anyway, the refusal advising the very option given.
def test_ignore_time_stamps_reads_a_fusion_models_csvs_at_the_rates_given(tmp_path, capsys):
    folder = saved(tmp_path / "model")
    paths = _stamped_csvs(tmp_path)
    argv = ["predict", folder, *(f"{name}={path}" for name, path in paths.items()), "--modality-sampling-rate"]
    argv += [f"{name}={rate}" for name, rate in RATES.items()]
    assert main(argv) == 2  # the stamps say twice the rate: refused, naming the option
    assert "--ignore-time-stamps" in capsys.readouterr().err
    assert main([*argv, "--ignore-time-stamps"]) == 0
    assert "3 window(s) of 2 s at ecg 100 Hz, eda 20 Hz" in capsys.readouterr().out


# --start-time silently replaced the start a fusion session's file records (an EDF header's), where a single model's
# run refuses it: every clock time written was the one given, not the recording's.
def test_start_time_is_refused_for_a_fusion_session_whose_file_records_its_start(tmp_path, capsys, edf_path):
    folder = saved(tmp_path / "model")
    output = tmp_path / "windows.csv"
    argv = ["predict", folder, f"ecg={edf_path}", f"eda={edf_path}", "--modality-channels", "ecg=Fc5.", "eda=Fc3."]
    assert main([*argv, "--start-time", "2020-01-01 10:00:00", "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert "records its own start" in error and "leave --start-time out" in error
    assert not output.exists()
    assert main([*argv, "--output", str(output)]) == 0  # its own start is written
    assert output.read_text().splitlines()[1].split(",")[3].startswith("2009-08-12T16:15:00")


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
