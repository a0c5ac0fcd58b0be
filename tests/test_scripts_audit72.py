"""Audit 72 of the dataset scripts as a user runs them: each option is honoured in the set the script builds, not only
in what it downloads. Tiny WFDB / EDF files written here; every test takes seconds."""

from __future__ import annotations

import runpy
from pathlib import Path

import datasets
import pytest
from test_data_formats import write_wfdb_record
from test_sleep_audit72 import write_night

from citrus_hf.data import build_dataset
from citrus_hf.data.errors import CitrusDataError

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    return runpy.run_path(str(ROOT / "dataset_scripts" / name))["main"]


def _recordings(folder) -> dict[str, list[str]]:
    built = datasets.load_from_disk(str(folder))
    return {split: sorted(set(rows["recording"])) for split, rows in built.items()}


# ------------------------------------------------- 1. physionet_wfdb.py --records builds those records of a local copy
def test_the_wfdb_script_builds_only_the_records_it_is_given(tmp_path, capsys):
    """`--records 100 101 --no-download` (the script's own example) built every record under --data-dir: --records
    reached the download alone, so a folder holding more records gave a set of all of them."""
    data = tmp_path / "mitdb"
    data.mkdir()
    for record in ("101", "106", "100"):
        write_wfdb_record(data, record, seconds=8)
    main = _script("physionet_wfdb.py")
    common = ["--data-dir", str(data), "--no-download", "--cache-dir", str(tmp_path / "cache")]
    assert main([*common, "--records", "101", "--output", str(tmp_path / "one")]) == 0
    assert _recordings(tmp_path / "one") == {"train": ["101"]}
    # the same folder without --records (the same cache) is every record again, not the subset cached first
    everything = build_dataset("mitdb_beats", data_dir=data, download=False, cache_dir=tmp_path / "cache")
    assert sorted(set(everything["train"]["recording"])) == ["101", "106"]
    assert sorted(set(everything["test"]["recording"])) == ["100"]
    # a record in neither split (paced 102) and one the folder lacks are named, not dropped without a word
    with pytest.raises(CitrusDataError, match=r"102.*neither"):
        main([*common, "--records", "101", "102"])
    with pytest.raises(CitrusDataError, match=r"109.*not under"):
        main([*common, "--records", "101", "109"])


# ------------------------------------------------------ 2. sleep_edf.py --subsets builds those subsets of a local copy
def test_the_sleep_edf_script_builds_only_the_subsets_it_is_given(tmp_path, capsys):
    """`--subsets sleep-cassette --no-download` on a folder that also holds telemetry nights built both: --subsets
    reached the download alone (the default, sleep-cassette, too)."""
    data = tmp_path / "sleep-edfx"
    for subject in range(2):
        write_night(data / "sleep-cassette", [("W", 60), ("2", 60)], recording=f"SC40{subject}1")
        write_night(data / "sleep-telemetry", [("W", 60), ("2", 60)], recording=f"ST70{subject}1")
    main = _script("sleep_edf.py")
    common = ["--data-dir", str(data), "--no-download", "--cache-dir", str(tmp_path / "cache"), "--channels",
              "EEG Fpz-Cz"]  # fmt: skip
    subjects = {}
    for subsets in (["sleep-cassette"], ["sleep-telemetry"], ["sleep-cassette", "sleep-telemetry"]):
        output = tmp_path / "-".join(subsets)
        assert main([*common, "--subsets", *subsets, "--output", str(output)]) == 0
        built = datasets.load_from_disk(str(output))
        subjects[tuple(subsets)] = sorted({s for split in built.values() for s in split["subject"]})
    assert subjects[("sleep-cassette",)] == ["SC00", "SC01"]
    assert subjects[("sleep-telemetry",)] == ["ST00", "ST01"]
    assert subjects[("sleep-cassette", "sleep-telemetry")] == ["SC00", "SC01", "ST00", "ST01"]
    with pytest.raises(CitrusDataError, match=r"sleep-telemetry.*SC4001"):
        build_dataset("sleep_edf", data_dir=data / "sleep-cassette", download=False, cache_dir=tmp_path / "cache",
                      selection={"subsets": ["sleep-telemetry"]}, channels=["EEG Fpz-Cz"])  # fmt: skip


# --------------------------------------------- 3. a script's card gives the options it built with, not null for them
def test_a_scripts_card_gives_the_default_of_an_option_left_out():
    """The scripts pass an option left out as None ("the set's default"); the card printed it as null
    (`"before_seconds": null`, `build_dataset('mitdb_beats', before_seconds=None, ...)`) where 0.25 was built."""
    from citrus_hf.publishing.datasets import dataset_card

    card = dataset_card("mitdb_beats", dict(before_seconds=None, after_seconds=0.5))
    assert '"before_seconds": 0.25' in card and '"after_seconds": 0.5' in card and "null" not in card
    assert "build_dataset('mitdb_beats', after_seconds=0.5)" in card
    # a nullable option's None is a setting of its own, and stays in the card
    card = dataset_card("sleep_edf", dict(max_wake_edge_minutes=None, seed=None))
    assert '"max_wake_edge_minutes": null' in card and "max_wake_edge_minutes=None" in card and "seed=None" not in card


def test_a_scripts_card_names_the_selection_it_built():
    """A set built from some records / subjects only was pushed with the card of the whole corpus."""
    from citrus_hf.publishing.datasets import dataset_card

    card = dataset_card("mitdb_beats", {}, selection={"records": ["100", "101"]})
    assert "selection={'records': ['100', '101']}" in card
    assert "selection" not in dataset_card("mitdb_beats", {})
