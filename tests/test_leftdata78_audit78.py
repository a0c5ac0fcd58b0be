"""Leftovers of the data and training side (session 78): a selection's spellings cached twice, a sleep summary of a
negative night, a relative $XDG_CACHE_HOME, a TrainerSettings field assigned after construction, and the EDF reader
a stretch at a time exported."""

from __future__ import annotations

from test_data_formats import write_wfdb_record

from citrus_hf.data import build_dataset, plans


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
