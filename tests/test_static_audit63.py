"""The static-analysis audit's findings (audit63_static), each refused or read as meant: list-valued dataset options
given one value or a value that is no choice (`labelled_splits`, `test_repetitions`, a sleep set's `channels`), a
labelled folder whose CSV header names a channel twice, and an `id2label` that names one class twice."""

from __future__ import annotations

import pytest

from citrus_hf.data import build_dataset, get_dataset_spec
from citrus_hf.data.errors import CitrusDataError
from citrus_hf.data.plans import resolve_options
from citrus_hf.data.sources import pretraining


class _Built(Exception):
    """Raised where a builder got past its options and started building (the test wanted them refused first)."""


@pytest.fixture
def no_labelled_spans(monkeypatch):
    """`pretrain_corpus` stops where it would consult the labelled sets (minutes of building): options it should have
    refused reach this point."""

    def consulted(*args, **kwargs):
        raise _Built("the labelled sets were consulted")

    monkeypatch.setattr(pretraining, "evaluation_split_spans", consulted)


# ------------------------------------------------------------------------------------------- pretrain_corpus


def test_labelled_splits_given_one_name_is_that_name_not_its_letters():
    # `set("train")` was {'t', 'r', 'a', 'i', 'n'}: every labelled set's training split left the corpus silently
    resolved = resolve_options(get_dataset_spec("pretrain_corpus"), {"labelled_splits": "train"})
    assert resolved["labelled_splits"] == ["train"]
    # one value of any list-valued option, as the command line's KEY=VALUE gives it: the same build and cache key
    assert resolve_options(get_dataset_spec("myo_gestures"), {"test_repetitions": 2})["test_repetitions"] == [2]


@pytest.mark.parametrize("value", [["trian"], "trian", ["train", "validaton"]])
def test_labelled_splits_refuses_a_name_that_is_no_split(no_labelled_spans, tmp_path, value):
    with pytest.raises(CitrusDataError, match=r"'labelled_splits' names .*splits that may join are: train, validation"):
        build_dataset("pretrain_corpus", cache_dir=tmp_path, labelled_splits=value)


def test_examples_in_pretrain_corpus_refuses_a_misspelt_split(no_labelled_spans):
    with pytest.raises(CitrusDataError, match=r"names \['trian'\]"):
        pretraining.examples_in_pretrain_corpus("myo_gestures", None, {"labelled_splits": ["trian"]})


# ---------------------------------------------------------------------------------------------- myo_gestures


def test_myo_test_repetitions_takes_one_number(tmp_path):
    # one number died in `set(3)` with "TypeError: 'int' object is not iterable"
    built = build_dataset("myo_gestures", cache_dir=tmp_path, test_repetitions=1)
    assert set(built) == {"train", "test"} and len(built["train"]) + len(built["test"]) == 96
    assert set(built["test"]["recording"]) == {f"R1_C{gesture}" for gesture in range(5)}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([9], r"names \[9\], which the recordings do not hold; the repetitions are: 0, 1, 2, 3"),
        ("3", r"names \['3'\], which the recordings do not hold"),  # text matched no repetition, silently
        ([1.5], r"names \[1.5\], which the recordings do not hold"),
        ([0, 1, 2, 3], "leaves the train split empty"),
        ([], "leaves the test split empty"),
    ],
)
def test_myo_test_repetitions_refuses_what_leaves_no_test_split(tmp_path, value, message):
    with pytest.raises(CitrusDataError, match=message):
        build_dataset("myo_gestures", cache_dir=tmp_path, test_repetitions=value)
