"""The annotation audit's findings (audit67_annot) on the Sleep-EDF routes (`sleep_edf` / `sleep_edf_2s`, built from
a folder of PSG + hypnogram files) and on a Sleep-EDF folder given to the folder commands: `max_wake_edge_minutes=None`
kept as "keep every wake epoch"; stages written as point events, stages that are not whole 30 s epochs and stages
that overlap, each read without a window labelled outside its stage (or refused, naming the file); rows that name
their channels and units; a hypnogram file in a folder of recordings skipped with a pointer to the sleep_edf route; a
night at another rate and AASM / non-stage annotations named rather than failing inside the builder.

Every PSG written here holds the time in seconds in each channel (a ramp), so a window's samples show which seconds
of its night it covers.
"""

from __future__ import annotations

import datetime
import json

import numpy as np
import pytest

from citrus_hf.commands.main import main
from citrus_hf.data import build_dataset, get_dataset_spec
from citrus_hf.data.plans import resolve_options
from citrus_hf.data.sources.sleep_physionet import SLEEP_EDF_CHANNELS, pair_sleep_edf_files, sleep_edf_windows

START = datetime.datetime(2009, 8, 12, 23, 50)
FRACTIONS = (0.4, 0.3, 0.3)  # every split gets a subject of five


def write_psg(path, seconds, rate=100, unit="uV", scale=1.0, channels=SLEEP_EDF_CHANNELS):
    """A PSG whose every channel holds its time in seconds (times `scale`, in `unit`)."""
    import pyedflib

    writer = pyedflib.EdfWriter(str(path), len(channels), file_type=pyedflib.FILETYPE_EDF)
    peak = 5000.0 * scale
    writer.setSignalHeaders(
        [
            dict(
                label=name,
                dimension=unit,
                sample_frequency=rate,
                physical_max=peak,
                physical_min=-peak,
                digital_max=32767,
                digital_min=-32768,
                transducer="",
                prefilter="",
            )  # fmt: skip
            for name in channels
        ]
    )
    writer.setStartdatetime(START)
    writer.writeSamples([np.arange(int(seconds * rate)) / rate * scale for _ in channels])
    writer.close()
    return path


def write_hypnogram(path, items):
    """An EDF+ file of annotations only: `items` are (onset, duration or None for a point event, description)."""
    import pyedflib

    writer = pyedflib.EdfWriter(str(path), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    writer.setStartdatetime(START)
    for onset, duration, description in items:
        writer.writeAnnotation(onset, -1 if duration is None else duration, description)
    writer.close()
    return path


def write_night(folder, items, recording="SC4011", seconds=300, **psg):
    folder.mkdir(parents=True, exist_ok=True)
    write_psg(folder / f"{recording}E0-PSG.edf", seconds, **psg)
    write_hypnogram(folder / f"{recording}EC-Hypnogram.edf", items)
    return folder


def run(stages):
    """Back-to-back annotations from (stage, duration) pairs."""
    items, onset = [], 0
    for stage, duration in stages:
        items.append((onset, duration, f"Sleep stage {stage}"))
        onset += duration
    return items


def windows_of(folder, **options):
    (pair,) = pair_sleep_edf_files(folder)
    return [
        (start, stage, window)
        for window, stage, start in sleep_edf_windows(
            pair, channels=["EEG Fpz-Cz"], max_wake_edge_minutes=None, **options
        )
    ]


def assert_within_their_stage(windows, items, names):
    """Each 30 s window lies inside one annotation of its own stage (its samples say which seconds it covers)."""
    for start, stage, window in windows:
        assert window[0, 0] == pytest.approx(start, abs=0.2) and window[0, -1] == pytest.approx(start + 29.99, abs=0.2)
        assert any(
            names[description] == stage and onset - 1e-6 <= start and start + 30 <= onset + duration + 1e-6
            for onset, duration, description in items
        ), (start, stage)


AASM = {f"Sleep stage {k}": v for k, v in {"W": "W", "1": "N1", "2": "N2", "3": "N3", "R": "REM"}.items()}


# ---------------------------------------------------------------------------- 1. max_wake_edge_minutes=None


def test_max_wake_edge_minutes_none_keeps_every_wake_epoch_through_build_dataset(tmp_path):
    """None ("keeps everything", as sleep_edf_windows documents) was dropped as "not given", so the 30 min default
    cut each night's wake; `citrus data info` showed 30.0 for `=null`."""
    spec = get_dataset_spec("sleep_edf")
    assert resolve_options(spec, {"max_wake_edge_minutes": None})["max_wake_edge_minutes"] is None
    assert resolve_options(spec, {})["max_wake_edge_minutes"] == 30.0
    data = tmp_path / "sleep"
    for subject in range(5):  # 32 min of wake, 1 min of sleep: the default keeps 30 min of the wake
        write_night(data, run([("W", 1920), ("2", 60)]), recording=f"SC40{subject}1", seconds=1980,
                    channels=SLEEP_EDF_CHANNELS[:1])  # fmt: skip
    common = dict(data_dir=data, download=False, cache_dir=tmp_path / "cache", channels=["EEG Fpz-Cz"])
    everything = build_dataset("sleep_edf", fractions=FRACTIONS, max_wake_edge_minutes=None, **common)
    trimmed = build_dataset("sleep_edf", fractions=FRACTIONS, **common)
    assert sum(map(len, everything.values())) == 5 * 66 and sum(map(len, trimmed.values())) == 5 * 62


def test_data_info_shows_max_wake_edge_minutes_null_as_given(tmp_path, capsys):
    data = tmp_path / "sleep"
    for subject in range(5):
        write_night(data, run([("W", 60), ("2", 60)]), recording=f"SC40{subject}1", seconds=120,
                    channels=SLEEP_EDF_CHANNELS[:1])  # fmt: skip
    argv = ["data", "info", "sleep_edf", "--data-dir", str(data), "--cache-dir", str(tmp_path / "cache"), "--json"]
    options = ["--dataset-options", 'channels=["EEG Fpz-Cz"]', "fractions=[0.4,0.3,0.3]", "max_wake_edge_minutes=null"]
    assert main([*argv, *options]) == 0
    assert json.loads(capsys.readouterr().out)["options"]["max_wake_edge_minutes"] is None


def test_a_none_for_an_option_that_takes_no_none_is_still_its_default():
    assert resolve_options(get_dataset_spec("mitdb_beats"), {"before_seconds": None})["before_seconds"] == 0.25
    assert get_dataset_spec("sleep_edf").nullable == ("max_wake_edge_minutes",)


def test_the_sleep_edf_script_keeps_the_default_unless_told_and_takes_none(tmp_path, monkeypatch):
    import runpy
    from pathlib import Path

    script = runpy.run_path(str(Path(__file__).resolve().parents[1] / "dataset_scripts" / "sleep_edf.py"))
    seen = []

    def build(name, **options):
        seen.append(options)
        raise SystemExit(0)

    monkeypatch.setitem(script["main"].__globals__, "build_dataset", build)
    for extra in ([], ["--max-wake-edge-minutes", "none"], ["--max-wake-edge-minutes", "5"]):
        with pytest.raises(SystemExit):
            script["main"](["--data-dir", str(tmp_path), "--no-download", *extra])
    assert "max_wake_edge_minutes" not in seen[0]
    assert seen[1]["max_wake_edge_minutes"] is None and seen[2]["max_wake_edge_minutes"] == 5.0
