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
from tiny_configs import save_tiny_classifier, write_edf, write_edf_annotations

from citrus_hf.commands.main import main
from citrus_hf.data import build_dataset, get_dataset_spec
from citrus_hf.data.errors import CitrusDataError, CorruptFileError
from citrus_hf.data.plans import resolve_options
from citrus_hf.data.sources.sleep_physionet import SLEEP_EDF_CHANNELS, pair_sleep_edf_files, sleep_edf_windows
from citrus_hf.vocabulary_citrus import UnitError

START = datetime.datetime(2009, 8, 12, 23, 50)
FRACTIONS = (0.4, 0.3, 0.3)  # every split gets a subject of five


def write_psg(path, seconds, rate=100, unit="uV", scale=1.0, channels=SLEEP_EDF_CHANNELS):
    """A PSG whose every channel holds its time in seconds (times `scale`, in `unit`)."""
    ramp = np.arange(int(seconds * rate)) / rate * scale
    return write_edf(path, [ramp] * len(channels), channels, rate, unit, peak=5000.0 * scale, plus=False, start=START)


def write_hypnogram(path, items):
    """An EDF+ file of annotations only: `items` are (onset, duration or None for a point event, description)."""
    return write_edf_annotations(path, items, START)


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


# ------------------------------------------------------------------------------------------ 2. point events


def test_stages_written_as_one_point_event_per_epoch_are_read_as_those_epochs(tmp_path):
    """A hypnogram of one zero-duration event per 30 s epoch (as scoring programs export EDF+) gave no window: the
    night disappeared from the set without a word."""
    stages = ["W", "W", "1", "2", "2", "R"]
    items = [(30 * k, None, f"Sleep stage {s}") for k, s in enumerate(stages)]
    windows = windows_of(write_night(tmp_path / "point", items))
    assert [(start, stage) for start, stage, _ in windows] == [
        (0, "W"), (30, "W"), (60, "N1"), (90, "N2"), (120, "N2"), (150, "REM")
    ]  # fmt: skip
    assert_within_their_stage(windows, [(o, 30, d) for o, _, d in items], AASM)
    zero = [(30 * k, 0, f"Sleep stage {s}") for k, s in enumerate(stages)]  # duration 0 written as such
    assert len(windows_of(write_night(tmp_path / "zero", zero))) == 6


def test_point_events_that_mark_stage_changes_only_are_refused_naming_the_file(tmp_path):
    """Events at stage changes only (each stage lasting to the next event) cannot be told from epochs left out; one
    epoch each would drop most of the night, so the file is refused with the fix."""
    folder = write_night(
        tmp_path, [(0, None, "Sleep stage W"), (90, None, "Sleep stage 2"), (150, None, "Sleep stage R")]
    )
    with pytest.raises(CorruptFileError, match=r"SC4011EC-Hypnogram\.edf.*point events.*0 s.*90 s.*duration"):
        windows_of(folder)


def test_a_point_event_night_reaches_the_built_set(tmp_path):
    stages = ["W", "1", "2", "2", "R", "W"]
    point = [(30 * k, None, f"Sleep stage {s}") for k, s in enumerate(stages)]
    data = tmp_path / "sleep"
    for subject in range(5):
        items = point if subject == 4 else run([(s, 30) for s in stages])
        write_night(data, items, recording=f"SC40{subject}1", seconds=180, channels=SLEEP_EDF_CHANNELS[:1])
    ds = build_dataset("sleep_edf", data_dir=data, download=False, cache_dir=tmp_path / "cache", fractions=FRACTIONS,
                       channels=["EEG Fpz-Cz"], max_wake_edge_minutes=None)  # fmt: skip
    assert sum(recording == "SC4041" for split in ds.values() for recording in split["recording"]) == 6


# ------------------------------------------------------------------------- 3. stages not whole 30 s epochs


def test_stages_not_whole_epochs_give_only_windows_inside_them_and_say_what_was_left(tmp_path):
    """45 s gave a second window reaching 15 s into the next stage, a 15 s stage vanished and a 75 s one lost 15 s."""
    items = [(0, 45, "Sleep stage W"), (45, 15, "Sleep stage 2"), (60, 75, "Sleep stage R"), (135, 45, "Sleep stage 2")]
    with pytest.warns(UserWarning, match=r"SC4011EC-Hypnogram\.edf: 4 stage annotation\(s\).*60 s of 180 s") as caught:
        windows = windows_of(write_night(tmp_path, items))
    assert [(start, stage) for start, stage, _ in windows] == [(0, "W"), (60, "REM"), (90, "REM"), (135, "N2")]
    assert_within_their_stage(windows, items, AASM)
    assert "not whole 30 s epochs" in str(caught[0].message)


def test_a_hypnogram_scored_in_20_s_epochs_gives_no_window_across_two_stages(tmp_path):
    """Six 20 s epochs (W W 2 2 R R) gave six 30 s windows, each reaching 10 s into the next epoch (overlapping)."""
    items = run([("W", 20), ("W", 20), ("2", 20), ("2", 20), ("R", 20), ("R", 20)])
    with pytest.warns(UserWarning, match="not whole 30 s epochs"):
        windows = windows_of(write_night(tmp_path, items))
    # one stage's epochs back to back are one stretch of it: a 30 s window inside each 40 s stretch
    assert [(start, stage) for start, stage, _ in windows] == [(0, "W"), (40, "N2"), (80, "REM")]
    merged = [(0, 40, "Sleep stage W"), (40, 40, "Sleep stage 2"), (80, 40, "Sleep stage R")]
    assert_within_their_stage(windows, merged, AASM)


def test_whole_epochs_warn_nothing(tmp_path, recwarn):
    windows = windows_of(write_night(tmp_path, run([("W", 60), ("2", 90), ("3", 30), ("4", 30), ("R", 60)])))
    assert [stage for _, stage, _ in windows] == ["W", "W", "N2", "N2", "N2", "N3", "N3", "REM", "REM"]
    assert not [w for w in recwarn if "epoch" in str(w.message)]


# --------------------------------------------------------------------------------------- 4. overlapping stages


def test_overlapping_stages_of_two_labels_are_refused_naming_the_file_and_times(tmp_path):
    """W over 0-90 s and a 2 at 30-60 s gave the window at 30 s twice, labelled W and N2."""
    folder = write_night(tmp_path, [(0, 90, "Sleep stage W"), (30, 30, "Sleep stage 2")])
    with pytest.raises(CorruptFileError, match=r"SC4011EC-Hypnogram\.edf scores 30-60 s as both W .*and N2"):
        windows_of(folder)


def test_one_stage_written_twice_gives_each_window_once(tmp_path):
    items = [*run([("W", 60), ("2", 60)]), (0, 60, "Sleep stage W")]  # an exporter's repeated annotation
    windows = windows_of(write_night(tmp_path, items))
    assert [(start, stage) for start, stage, _ in windows] == [(0, "W"), (30, "W"), (60, "N2"), (90, "N2")]


# ------------------------------------------------------------------------------ 5. channel names and units


def test_sleep_edf_rows_name_their_channels_and_units_and_a_night_in_mv_is_read_in_uv(tmp_path):
    """The rows carried neither, so a stager fine-tuned on them recorded neither: `citrus predict` could not pick a
    PSG's channels by name nor convert a night in mV (scored all W)."""
    from citrus_hf.data.splits import load_task_splits

    data = tmp_path / "sleep"
    for subject in range(5):
        unit, scale = ("mV", 1e-3) if subject == 3 else ("uV", 1.0)
        write_night(data, run([(stage, 30) for stage in "W123R"]), recording=f"SC40{subject}1", seconds=150,
                    unit=unit, scale=scale)  # fmt: skip
    options = dict(data_dir=str(data), download=False, cache_dir=str(tmp_path / "cache"), fractions=FRACTIONS)
    ds = build_dataset("sleep_edf", max_wake_edge_minutes=None, **options)
    assert get_dataset_spec("sleep_edf").version == get_dataset_spec("sleep_edf_2s").version == "1.1.1"
    rows = [row for split in ds.values() for row in split.with_format("numpy")]
    assert all(list(row["channel_names"]) == list(SLEEP_EDF_CHANNELS) for row in rows)
    assert all(list(row["channel_units"]) == ["µV"] * 3 for row in rows)
    (night,) = [row for row in rows if row["recording"] == "SC4031" and row["start_seconds"] == 60]
    assert night["input_values"][0, 0] == pytest.approx(60, abs=0.2)  # the mV night, in µV as the others
    splits = load_task_splits("sleep_edf", {"max_wake_edge_minutes": None, **options})
    assert splits.channel_names == list(SLEEP_EDF_CHANNELS) and splits.channel_units == ["µV"] * 3


def test_a_night_in_another_unit_that_cannot_be_converted_is_refused(tmp_path):
    data = tmp_path / "sleep"
    for subject in range(5):
        write_night(data, run([("W", 60)]), recording=f"SC40{subject}1", seconds=60,
                    unit="%" if subject == 2 else "uV")  # fmt: skip
    with pytest.raises(UnitError, match=r"SC4021E0-PSG\.edf.*'EEG Fpz-Cz' in %.*SC4001E0-PSG\.edf.*µV"):
        build_dataset("sleep_edf", data_dir=data, download=False, cache_dir=tmp_path / "cache", fractions=FRACTIONS)


# ------------------------------------------------------------------------- 6. a Sleep-EDF folder as shipped


@pytest.fixture
def shipped(tmp_path):
    """Two nights as PhysioNet ships them: PSG and hypnogram files side by side."""
    folder = tmp_path / "shipped"
    for subject in range(2):
        write_night(folder, run([("W", 60), ("2", 60)]), recording=f"SC40{subject}1", seconds=120)
    return folder


def test_data_info_on_a_sleep_edf_folder_names_the_skipped_hypnograms_and_the_sleep_edf_route(shipped, caplog, capsys):
    with caplog.at_level("WARNING"):
        assert main(["data", "info", str(shipped)]) == 0
    assert "2 file(s) under" in caplog.text and "SC4001EC-Hypnogram.edf" in caplog.text
    assert f"citrus data build sleep_edf --data-dir {shipped}" in caplog.text
    assert "recordings  subjects" in capsys.readouterr().out


def test_predict_on_a_sleep_edf_folder_scores_every_psg_and_exits_0(shipped, tmp_path, caplog, capsys):
    """Each hypnogram was read as a recording, reported left out, and the run exited 2 though every PSG was scored."""
    model = str(save_tiny_classifier(tmp_path / "model"))
    with caplog.at_level("WARNING"):
        assert main(["predict", model, str(shipped), "--channels", "EEG Fpz-Cz", "--backend", "torch"]) == 0
    out, err = capsys.readouterr()
    assert "SC4001E0-PSG.edf" in out and "SC4011E0-PSG.edf" in out and "left out" not in err
    assert "SC4001EC-Hypnogram.edf" in caplog.text and "citrus data build sleep_edf --data-dir" in caplog.text


def test_a_folder_of_hypnograms_only_says_so(tmp_path):
    from citrus_hf.data.recording_folders import load_recording_folder

    write_hypnogram(tmp_path / "SC4001EC-Hypnogram.edf", run([("W", 30)]))
    with pytest.raises(ValueError, match=r"holds no recording files.*annotations.*citrus data build sleep_edf"):
        load_recording_folder(tmp_path)


# ------------------------------------------------------------------------------------ 7. a night at 200 Hz


def test_a_night_at_another_rate_is_named_with_its_rate_and_the_fix(tmp_path):
    """It failed inside the builder, about row shapes and `dataset_features`."""
    data = tmp_path / "sleep"
    for subject in range(5):
        write_night(data, run([("W", 60)]), recording=f"SC40{subject}1", seconds=60, rate=200 if subject == 3 else 100)
    with pytest.raises(
        CitrusDataError, match=r"SC4031E0-PSG\.edf.* 200 Hz.*other nights.* 100 Hz.*[Rr]esample"
    ) as error:
        build_dataset("sleep_edf", data_dir=data, download=False, cache_dir=tmp_path / "cache", fractions=FRACTIONS)
    assert "dataset_features" not in str(error.value)
    write_night(data, run([("W", 60)]), recording="SC4051", seconds=60, rate=250)
    with pytest.raises(CitrusDataError, match=r"SC4031E0-PSG\.edf \(200 Hz\), SC4051E0-PSG\.edf \(250 Hz\) record"):
        build_dataset("sleep_edf", data_dir=data, download=False, cache_dir=tmp_path / "cache", fractions=FRACTIONS)


# --------------------------------------------------------------------- 8. AASM names, non-stage annotations


def test_aasm_stage_names_are_the_same_stages(tmp_path):
    items = run([("W", 30), ("N1", 30), ("N2", 30), ("N3", 30), ("R", 30)])
    assert [stage for _, stage, _ in windows_of(write_night(tmp_path, items))] == ["W", "N1", "N2", "N3", "REM"]


def test_a_non_stage_annotation_is_skipped_with_a_warning_naming_it(tmp_path):
    items = [(0, 0, "Lights off"), *run([("W", 60), ("2", 30)]), (85, 0, "Lights on")]
    with pytest.warns(UserWarning, match=r"SC4011EC-Hypnogram\.edf.*not sleep stages.*'Lights off'.*'Lights on'"):
        windows = windows_of(write_night(tmp_path, items))
    assert [stage for _, stage, _ in windows] == ["W", "W", "N2"]


def test_a_hypnogram_without_any_stage_is_refused_naming_what_it_holds(tmp_path):
    folder = write_night(tmp_path, [(0, 30, "W"), (30, 30, "N2")])
    with pytest.raises(CorruptFileError, match=r"SC4011EC-Hypnogram\.edf holds no sleep stage.*'N2', 'W'"):
        windows_of(folder)
