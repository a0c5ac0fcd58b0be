"""The static-analysis audit's findings (audit63_static), each refused or read as meant: list-valued dataset options
given one value or a value that is no choice (`labelled_splits`, `test_repetitions`, a sleep set's `channels`), a
labelled folder whose CSV header names a channel twice, and an `id2label` that names one class twice."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_data_formats import write_sleep_edf
from tiny_configs import save_tiny_classifier, tiny_config

from citrus_hf import CiTrusConfig, CiTrusForSequenceClassification
from citrus_hf.data import build_dataset, get_dataset_spec
from citrus_hf.data.errors import CitrusDataError
from citrus_hf.data.plans import resolve_options
from citrus_hf.data.recording_folders import load_recording_folder
from citrus_hf.data.sources import pretraining
from citrus_hf.data.sources.sleep_physionet import plan_sleep_edf


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


# ------------------------------------------------------------------------------------------------- sleep_edf


@pytest.fixture(scope="module")
def sleep_nights(tmp_path_factory):
    data = tmp_path_factory.mktemp("sleep")
    (data / "sleep-cassette").mkdir()
    for subject in range(3):
        write_sleep_edf(data / "sleep-cassette", recording=f"SC40{subject}1")
    return data


def _sleep_options(channels) -> dict:
    return dict(window_seconds=30.0, fractions=(0.4, 0.3, 0.3), seed=0, channels=channels, max_wake_edge_minutes=30.0)


def test_sleep_edf_channels_takes_one_name(sleep_nights):
    # `tuple("EEG Fpz-Cz")` read it letter by letter: "error: 'E' is not in list"
    plan = plan_sleep_edf(sleep_nights, _sleep_options("EEG Fpz-Cz"))
    assert plan.features["input_values"].shape == (1, 3000)
    assert all(split["channels"] == ("EEG Fpz-Cz",) for split in plan.splits.values())


@pytest.mark.parametrize("channels", [["nope"], "Fpz-Cz", ["EEG Fpz-Cz", "eeg pz-oz"]])
def test_sleep_edf_refuses_a_channel_the_files_do_not_hold(sleep_nights, channels):
    with pytest.raises(CitrusDataError) as refused:
        plan_sleep_edf(sleep_nights, _sleep_options(channels))
    message = str(refused.value)
    assert "Option 'channels' names" in message and "SC4001E0-PSG.edf does not hold" in message
    assert "its channels are: EEG Fpz-Cz, EEG Pz-Oz, EOG horizontal" in message


@pytest.mark.parametrize(
    ("channels", "message"),
    [([], "names no channel; name at least one"), (["EEG Fpz-Cz", "EEG Fpz-Cz"], "more than once")],
)
def test_sleep_edf_refuses_no_channel_or_one_twice_before_building(sleep_nights, channels, message):
    # none died in `channels[0]` (IndexError); one named twice was refused only once the rows were written
    with pytest.raises((CitrusDataError, ValueError), match=message):
        plan_sleep_edf(sleep_nights, _sleep_options(channels))


# ----------------------------------------------------------------------------------- a labelled folder of CSVs


def _write_csv(path, header: list[str], values: list[float], samples: int = 50) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = np.tile(np.asarray(values, dtype=float), (samples, 1))
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(f"{v:g}" for v in row) for row in rows) + "\n")


@pytest.mark.parametrize("repeated_in", ["first", "later"])
def test_a_labelled_folder_refuses_a_header_that_names_a_channel_twice(tmp_path, repeated_in):
    # `names.index("x")` picked the first "x" twice: one channel lost, another duplicated, with only a reorder warning
    first, later = (["x", "x", "y"], ["x", "y", "x"]) if repeated_in == "first" else (["x", "y", "z"], ["x", "x", "y"])
    _write_csv(tmp_path / "train" / "a" / "r1.csv", first, [1, 2, 3])
    _write_csv(tmp_path / "train" / "b" / "r2.csv", later, [10, 30, 20])
    _write_csv(tmp_path / "test" / "a" / "r3.csv", first, [1, 2, 3], samples=60)  # (not a copy of r1.csv)
    culprit = "r1.csv" if repeated_in == "first" else "r2.csv"
    with pytest.raises(ValueError, match=rf"{culprit} names 'x' for more than one of its channels") as refused:
        load_recording_folder(tmp_path)
    assert "give each channel a name of its own" in str(refused.value)


# ------------------------------------------------------------------------------------------------- id2label


@pytest.mark.parametrize("id2label", [{0: "a", 1: "a", 2: "b"}, {"0": "rest", "1": "walk", "2": "rest"}])
def test_id2label_refuses_one_name_for_two_classes(id2label):
    # `citrus predict --output` wrote one probability column for the two classes, holding the last one's only
    repeated, ids = ("a", r"\[0, 1\]") if 0 in id2label else ("rest", r"\[0, 2\]")
    with pytest.raises(ValueError, match=rf"'{repeated}' names the ids {ids}"):
        tiny_config(id2label=id2label)


def test_a_saved_config_naming_a_class_twice_is_refused_when_loaded(tmp_path):
    save_tiny_classifier(tmp_path, num_labels=3)
    config_file = tmp_path / "config.json"
    saved = json.loads(config_file.read_text())
    saved["id2label"] = {"0": "a", "1": "b", "2": "a"}
    saved["label2id"] = {"a": 2, "b": 1}
    config_file.write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=r"'a' names the ids \[0, 2\]"):
        CiTrusConfig.from_pretrained(tmp_path)
    # transformers' way to correct a checkpoint from the Hub or a read-only folder: the names given while loading
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path, id2label=["a", "b", "c"])
    assert model.config.id2label == {0: "a", 1: "b", 2: "c"}
    assert CiTrusConfig.from_pretrained(tmp_path, label2id={"a": 0, "b": 1, "c": 2}).id2label == {
        0: "a",
        1: "b",
        2: "c",
    }
