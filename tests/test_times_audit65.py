"""`citrus predict`'s times: a regressor's targets plotted at each window's own middle, and a recording's tail that no
full window covers said in its summary line, and scored with --pad-last-window."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import save_tiny_classifier

from citrus_hf.commands.main import main

RATE = ["--sampling-rate", "100", "--no-show-progress", "--backend", "torch"]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> str:
    torch.manual_seed(0)
    return str(save_tiny_classifier(tmp_path_factory.mktemp("classifier"), num_labels=2))


def _recording(path, seconds: float) -> str:
    np.save(path, np.random.default_rng(0).standard_normal((1, int(seconds * 100))).astype("float32"))
    return str(path)


def test_the_tail_no_window_covers_is_said_and_scored_on_request(classifier, tmp_path, capsys):
    # 2 s windows: a 5.5 s recording is two whole windows and 1.5 s that none covers
    recording = _recording(tmp_path / "r.npy", 5.5)
    assert main(["predict", classifier, recording, *RATE]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert "2 window(s) of 2 s at 100 Hz, backend torch; its last 1.5 s are in no window (--pad-last-window" in line
    output = tmp_path / "windows.csv"
    assert main(["predict", classifier, recording, *RATE, "--pad-last-window", "--output", str(output)]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert "3 window(s)" in line and "in no window" not in line
    ends = [float(row.split(",")[2]) for row in output.read_text().splitlines()[1:]]
    assert ends[-1] == pytest.approx(5.5)
    # a recording that windows cover whole says nothing of a tail
    assert main(["predict", classifier, _recording(tmp_path / "whole.npy", 4.0), *RATE]) == 0
    assert "in no window" not in capsys.readouterr().out


def test_a_regressors_targets_are_plotted_at_each_windows_middle(tmp_path, monkeypatch):
    from matplotlib.axes import Axes
    from tiny_configs import tiny_config

    from citrus_hf.commands.predict import plot_windows

    plotted = []
    original = Axes.plot

    def recorded(self, *args, **kwargs):
        plotted.append(np.asarray(args[0]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Axes, "plot", recorded)
    # 5 s windows every second: their middles are 2.5, 3.5, ... (the middles between starts were 0.5, 1.5, ...)
    windows = [{"start": float(start), "end": start + 5.0, "target": float(start)} for start in range(6)]
    plot_windows([("a.npy", {"target": 0.0, "windows": windows})], tiny_config(), tmp_path / "plot.png")
    (middles,) = plotted
    np.testing.assert_allclose(middles, np.arange(6) + 2.5)


def _timed_csv(path, times, seed: int = 0):
    values = np.random.default_rng(seed).standard_normal(len(times))
    with open(path, "w") as handle:
        handle.write("time,c0\n")
        handle.writelines(f"{time:.6f},{value:.6f}\n" for time, value in zip(times, values))
    return path


def test_a_time_column_with_a_gap_or_going_back_is_refused(classifier, tmp_path, capsys):
    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.readers import read_recording

    # 100 Hz, 0-6 s then 66-72 s: a minute missing, read one sample after the other it was scored 60 s early
    gap = _timed_csv(tmp_path / "gap.csv", np.r_[np.arange(600), np.arange(6600, 7200)] / 100)
    assert main(["predict", classifier, str(gap), *RATE]) == 2
    error = capsys.readouterr().err
    assert "jumps from 5.99 to 66 s (60 s of samples missing) after data row 600" in error
    back = _timed_csv(tmp_path / "back.csv", np.r_[np.arange(600), np.arange(300, 900)] / 100)
    with pytest.raises(CorruptFileError, match="goes back from 5.99 to 3 s"):
        read_recording(back, sampling_rate=100)
    # a clock that stamps to the millisecond at 256 Hz steps 3 or 4 ms: evenly sampled, read as it is
    jitter = _timed_csv(tmp_path / "jitter.csv", np.round(np.arange(1024) / 256, 3))
    assert read_recording(jitter, sampling_rate=256).data.shape == (1, 1024)
