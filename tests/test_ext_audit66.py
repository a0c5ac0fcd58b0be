"""The package's extension points (registries of datasets, arms, recipes, augmentations, objectives, synthetic
generators) used from outside the repository, as a user's script uses them (an audit of what each one promises)."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import replace

import pytest

# --------------------------------------------------------------------------- what a checkpoint's corpus held out


@pytest.fixture
def swapped_basic_motions():
    """A set of one's own registered after citrus-small was pre-trained: BasicMotions with its official splits
    swapped (its test split is the official TRAIN, which citrus-small's corpus pooled)."""
    import citrus_hf.data  # noqa: F401  (the package's sets first)
    from citrus_hf.data.recordings import plan_official_split
    from citrus_hf.data.registry import DATASETS, register_dataset
    from citrus_hf.data.sources.uea_basic_motions import _read, basic_motions_recordings, class_names

    name = "audit66_bm_swapped"

    def plan(options, context):
        refs = basic_motions_recordings(context.archive_cache_dir)
        swapped = [replace(ref, split={"train": "test", "test": "train"}[ref.split]) for ref in refs]
        values, _, _ = _read(refs[0].arguments["path"])
        return plan_official_split(swapped, class_names(context.archive_cache_dir), values.shape[1:])

    register_dataset(
        name=name, description="BasicMotions, splits swapped", task="classification",
        sources=("uea_basic_motions",), splits="official TRAIN is test here",
    )(plan)  # fmt: skip
    yield name
    DATASETS.pop(name)


def _check(tmp_path, dataset, checkpoint="citrus-small", **settings):
    from citrus_hf.evaluation.protocol import ProtocolConfig, _check_not_pretrained_on, _dataset_context

    config = ProtocolConfig(
        output_dir=str(tmp_path / "out"), datasets=[dataset], arms=["citrus-small", "prior"],
        checkpoints={"citrus-small": checkpoint}, seeds=[0], budgets=["1"], show_progress=False, **settings,
    )  # fmt: skip
    _check_not_pretrained_on(config, _dataset_context(config, dataset), {"citrus-small": checkpoint})


@pytest.mark.usefixtures("offline_archives_cached")
def test_registering_a_set_does_not_hold_its_spans_out_of_a_checkpoint_built_before(tmp_path, swapped_basic_motions):
    """The corpus check took what the corpus held out from the registry as it is now: once a set that tests on
    BasicMotions' official TRAIN was registered, those trials counted as held out of citrus-small, and scoring
    citrus-small on the windows it was pre-trained on went through."""
    swapped = {"train_split": {"basic_motions": "test"}, "test_split": {"basic_motions": "train"}}
    with pytest.raises(ValueError, match=r"32 of the 40 test windows of basic_motions .* are in the corpus"):
        _check(tmp_path, "basic_motions", **swapped)


@pytest.mark.usefixtures("offline_archives_cached")
def test_a_set_of_ones_own_scored_as_built_is_held_to_what_the_corpus_held_out(tmp_path, swapped_basic_motions):
    """A registered set with its default options skipped the check ("as built for the corpus"), though the corpus
    was built before the set existed and held none of its splits out."""
    with pytest.raises(
        ValueError, match=r"32 of the 40 test windows .* built before audit66_bm_swapped was registered"
    ):
        _check(tmp_path, swapped_basic_motions)


@pytest.mark.usefixtures("offline_archives_cached")
def test_a_corpus_built_with_the_set_registered_held_it_out(tmp_path, swapped_basic_motions, monkeypatch):
    """A checkpoint whose summary records the set among those its corpus held out (at the set's version) is scored
    on it as built, without the windows being counted."""
    from citrus_hf._bundled import folder_if_bundled
    from citrus_hf.data.registry import evaluation_sets
    from citrus_hf.data.sources import pretraining

    folder = tmp_path / "checkpoint"
    shutil.copytree(folder_if_bundled("citrus-small"), folder)
    summary = json.loads((folder / "pretraining_summary.json").read_text())
    summary["evaluation_sets"] = evaluation_sets()
    (folder / "pretraining_summary.json").write_text(json.dumps(summary))

    def counted(*args, **kwargs):
        raise AssertionError("the windows of a set the corpus held out as built were counted")

    monkeypatch.setattr(pretraining, "examples_in_pretrain_corpus", counted)
    _check(tmp_path, swapped_basic_motions, checkpoint=str(folder))
    # the same set at another builder version than the corpus held out: counted
    summary["evaluation_sets"][swapped_basic_motions] = "0.9.0"
    (folder / "pretraining_summary.json").write_text(json.dumps(summary))
    with pytest.raises(AssertionError, match="were counted"):
        _check(tmp_path, swapped_basic_motions, checkpoint=str(folder))


def test_a_corpus_records_the_sets_registered_when_it_was_built(tmp_path):
    """What a pre-training run records as held out: the sets registered now for a registered corpus, those a saved
    copy's note records for the folder (`citrus data build --output`), nothing for other data."""
    import datasets

    from citrus_hf.data.builders import BUILT_FROM_FILE, corpus_evaluation_sets, save_built_dataset
    from citrus_hf.data.registry import evaluation_sets

    now = evaluation_sets()
    assert "basic_motions" in now and "pretrain_corpus" not in now
    assert corpus_evaluation_sets("pretrain_corpus") == now
    rows = datasets.Dataset.from_dict({"input_values": [[[0.0, 1.0]]], "sampling_rate": [1.0]})
    save_built_dataset(datasets.DatasetDict(train=rows), "pretrain_corpus", tmp_path / "copy")
    assert json.loads((tmp_path / "copy" / BUILT_FROM_FILE).read_text())["evaluation_sets"] == now
    save_built_dataset(
        datasets.DatasetDict(train=rows), "pretrain_corpus", tmp_path / "old", evaluation_sets={"a": "1"}
    )
    assert corpus_evaluation_sets(tmp_path / "old") == {"a": "1"}
    assert corpus_evaluation_sets(tmp_path / "nowhere") is None and corpus_evaluation_sets(None) is None
