"""Leftovers of the data and training side (session 78): a selection's spellings cached twice, a sleep summary of a
negative night, a relative $XDG_CACHE_HOME, a TrainerSettings field assigned after construction, and the EDF reader
a stretch at a time exported."""

from __future__ import annotations

import copy
import dataclasses
import logging
import pickle

import pytest
from test_data_formats import write_wfdb_record
from test_review1_audit77 import _ignored_notices

from citrus_hf.data import build_dataset, plans
from citrus_hf.training.settings import TrainerSettings, given_fields


# ------------------------------------------------------- 1. one selection, spelt as one value or a list, is one cache
def test_one_record_alone_and_its_list_build_one_cache_entry(tmp_path, monkeypatch):
    """`{"records": "101"}` and `{"records": ["101"]}` build the same rows (the builder reads one value alone as the
    list of that one), but the raw selection entered the cache key, so the second spelling built them again into a
    second cache entry. A list's key stays what it was (the options hashed hold the list as given), so caches built
    before keep hitting."""
    data = tmp_path / "mitdb"
    data.mkdir()
    write_wfdb_record(data, "101", seconds=8)
    hashed: list[dict] = []
    fingerprint = plans.fingerprint

    def spy(name, version, options, archives, split):
        hashed.append(options)
        return fingerprint(name, version, options, archives, split)

    monkeypatch.setattr(plans, "fingerprint", spy)
    cache = tmp_path / "cache"

    def build(selection):
        return build_dataset("mitdb_beats", data_dir=data, download=False, cache_dir=cache, selection=selection)

    listed = build({"records": ["101"]})
    entries = sorted(path.name for path in cache.rglob("*.arrow"))
    alone = build({"records": "101"})
    assert sorted(path.name for path in cache.rglob("*.arrow")) == entries  # a hit, no second entry
    assert alone["train"]["input_values"] == listed["train"]["input_values"]
    assert hashed[0]["selection"] == {"records": ["101"]}  # the list's key is today's (guard)
    assert hashed[1] == hashed[0]
    # a key given None is the key not given: the whole folder's set, under its one key
    build({"records": None})
    assert "selection" not in hashed[2]


# -------------------------------------------------------------- 2. lights on before lights out is refused, not summed
def test_a_sleep_summary_with_lights_on_before_lights_out_is_refused():
    """`sleep_summary(..., lights_off=3000, lights_on=600)` gave a negative time in bed (-2400 s) and went on, with
    `citrus predict` refusing the same times (`_check_lights_order`); lights on past a recording's end likewise."""
    from citrus_hf.inference.time_use import sleep_summary

    windows = [{"start": 0.0, "end": 30.0, "label": "W", "no_signal": False}]
    with pytest.raises(ValueError, match=r"^Lights on \(600 s\) is before lights out \(3000 s\).*lights_on after"):
        sleep_summary(windows, 3600.0, {"W": "W"}, lights_off=3000.0, lights_on=600.0)
    with pytest.raises(ValueError, match=r"Lights on \(60 s, the recording's end\) is before lights out \(90 s\)"):
        sleep_summary(windows, 60.0, {"W": "W"}, lights_off=90.0)
    # lights on at lights out, a night of no time, is refused too, as `citrus predict` refuses it (leftovers78)
    with pytest.raises(ValueError, match=r"Lights on \(30 s\) is at lights out \(30 s\)"):
        sleep_summary(windows, 60.0, {"W": "W"}, 30.0, 30.0)


# ------------------------------------------------------------ 3. a relative $XDG_CACHE_HOME is ignored, as XDG says
def test_a_relative_xdg_cache_home_is_ignored_with_a_warning(monkeypatch, tmp_path, caplog):
    """XDG_CACHE_HOME=cache (relative) put the archives and the ONNX exports under ./cache of whatever folder a command
    ran in. The XDG Base Directory spec says to ignore a relative value, as pip's platformdirs does: ~/.cache."""
    from transformers.testing_utils import CaptureLogger
    from transformers.utils import logging as hf_logging

    from citrus_hf.data.fetch import archive_cache_dir
    from citrus_hf.inference.backends import onnx_cache_dir

    for variable in ("CITRUS_HF_CACHE", "CITRUS_HF_ONNX_CACHE", "HF_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative-cache-78")
    monkeypatch.chdir(tmp_path)
    hf_logging.get_logger().warning_once.cache_clear()
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.fetch"):
        assert archive_cache_dir() == tmp_path / "home" / ".cache" / "citrus_hf" / "archives"
    with CaptureLogger(hf_logging.get_logger("citrus_hf.inference.backends")) as captured:
        assert onnx_cache_dir() == tmp_path / "home" / ".cache" / "citrus_hf" / "onnx"
    for said in (caplog.text, captured.out):
        assert "XDG_CACHE_HOME='relative-cache-78' is a relative path" in said
    # a home-relative one ("~/x", quoted in a shell) is still expanded, as huggingface_hub expands its variables
    monkeypatch.setenv("XDG_CACHE_HOME", "~/elsewhere")
    assert archive_cache_dir() == tmp_path / "home" / "elsewhere" / "citrus_hf" / "archives"


# ----------------------------------------------------- 4. a field assigned after construction counts as given
def test_a_field_assigned_after_construction_counts_as_given(caplog):
    """`s = TrainerSettings(); s.show_progress = True` asked for progress bars as `TrainerSettings(show_progress=True)`
    does, which `ProtocolConfig(finetune=...)` notices it ignores; the assignment was silent."""
    settings = TrainerSettings()
    settings.show_progress = True
    said = _ignored_notices(caplog, settings)
    assert len(said) == 1 and "show_progress=True" in said[0]
    assert said == _ignored_notices(caplog, TrainerSettings(show_progress=True))
    assert given_fields(settings) == {"show_progress"}
    # construction's own writes (`__post_init__` normalising in place) are no caller's: nothing recorded
    assert given_fields(TrainerSettings(learning_rate=2e-3)) == {"learning_rate"}
    assert _ignored_notices(caplog, TrainerSettings()) == []
    # what a copy is assigned is recorded on it alone
    copied = copy.copy(settings)
    copied.eval_steps = 3
    assert given_fields(copied) == {"eval_steps"} and given_fields(settings) == {"show_progress"}


def test_settings_with_assigned_fields_still_copy_replace_and_pickle():
    """Recording assignments (`__setattr__`) keeps the copies as they were: equal values, and nothing recorded on a
    copy, whose given fields are not known (guard: passes before the fix)."""
    settings = TrainerSettings(learning_rate=2e-3)
    settings.seed = 7
    for copied in (
        dataclasses.replace(settings),
        copy.copy(settings),
        copy.deepcopy(settings),
        pickle.loads(pickle.dumps(settings)),
    ):
        assert copied == settings and copied.seed == 7 and given_fields(copied) is None
        assert dataclasses.asdict(copied) == dataclasses.asdict(settings)
    replaced = dataclasses.replace(settings, max_steps=5)
    assert replaced.max_steps == 5 and replaced.seed == 7


# ------------------------------------------------ 5. read_edf_segments, now exported, refuses a segment of no samples
def test_read_edf_segments_is_exported_and_refuses_a_segment_of_no_samples(edf_path):
    """`read_edf_segments(path, None, -5)` gave no segment at all without a word (0: Python's "range() arg 3 must
    not be zero"); it is a reader a user streams a long EDF with, now importable beside `read_edf`."""
    from citrus_hf.data.readers import read_edf_segments

    for wrong in (-5, 0, 2.5, True):
        with pytest.raises(ValueError, match=rf"^segment_samples must be a whole number of samples >= 1, got {wrong}"):
            read_edf_segments(edf_path, None, wrong)
