"""Class labels that are no class ids 0..K-1 (the labels audit of session 65), each refused with a fix that works:

- ids beyond a `ClassLabel`'s names (`datasets` casts an int column holding id 4 to four names without a word, or
  ids 1..4 cast as the refusal of 1-based ids advised): `citrus data info` said the set was fine and dropped id 4 from
  its class counts, `citrus evaluate`'s MiniRocket arm failed with an `IndexError`, and `citrus data info` /
  `finetune` with another one when a name had no example;
- ids that skip values (1-based, sparse, negative): the error advised a cast to `ClassLabel`, which keeps the numbers
  as the ids; a cast to text works (citrus numbers the names), and a folder of recordings writes them as text in its
  metadata, which a metadata.jsonl now keeps as text;
- `--config-overrides` of the head fields the data decides (num_labels, problem_type, ...) were replaced without a word.
"""

from __future__ import annotations

import json

import datasets
import numpy as np
import pandas as pd
import pytest

from citrus_hf.data.builders import summarize_dataset
from citrus_hf.data.splits import load_task_splits, own_dataset_info

RATE = 50.0


def _rows(labels, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "input_values": [rng.standard_normal((1, 100)).astype(np.float32) for _ in labels],
        "label": list(labels),
        "sampling_rate": [RATE] * len(labels),
    }


def _set(train_labels, test_labels) -> datasets.DatasetDict:
    return datasets.DatasetDict(
        train=datasets.Dataset.from_dict(_rows(train_labels)),
        test=datasets.Dataset.from_dict(_rows(test_labels, seed=1)),
    )


def _saved(tmp_path, dataset_dict: datasets.DatasetDict, name: str = "set"):
    dataset_dict.save_to_disk(str(tmp_path / name))
    return tmp_path / name


FOUR_NAMES = datasets.ClassLabel(names=["a", "b", "c", "d"])


# ------------------------------------------------------------------------------------- ids beyond the names


def test_a_train_id_beyond_the_classlabel_names_is_refused_naming_it_and_counted_in_the_summary(tmp_path):
    """A name forgotten: id 4 under four names was taken (MiniRocket then failed on it), and its rows left uncounted."""
    raw = _set([0, 1, 2, 3, 4] * 3, [0, 1, 2, 3] * 2)
    folder = _saved(tmp_path, raw.cast_column("label", FOUR_NAMES))
    with pytest.raises(ValueError, match=r"The train split has class id\(s\) \[4\] beyond its `label` ClassLabel's 4"):
        load_task_splits(folder, require_validation=False)
    info = own_dataset_info(folder)
    assert not info["fine_tuning"]["ready"] and "class id(s) [4]" in info["fine_tuning"]["problem"]
    assert info["splits"]["train"]["per_class"] == {"a": 3, "b": 3, "c": 3, "d": 3, "id 4 (no name)": 3}
    assert summarize_dataset(datasets.load_from_disk(str(folder)))["splits"]["test"]["per_class"]["d"] == 2


def test_one_based_ids_cast_to_as_many_names_are_refused_in_train_not_with_an_index_error(tmp_path):
    """Ids 1..4 under four names, id 0 without an example: the unused-class check read `names[4]` (IndexError)."""
    raw = _set([1, 2, 3, 4] * 3, [1, 2, 3] * 2)
    folder = _saved(tmp_path, raw.cast_column("label", FOUR_NAMES))
    with pytest.raises(ValueError, match=r"The train split has class id\(s\) \[4\] beyond") as error:
        load_task_splits(folder, require_validation=False)
    assert "a name for each id 0..4" in str(error.value) and 'Value("string")' in str(error.value)
    assert "id 4 (no name)" in own_dataset_info(folder)["splits"]["train"]["per_class"]


def test_sparse_ids_cast_to_names_blame_train_which_holds_them_and_the_advised_cast_to_text_loads(tmp_path):
    """After the old advice (a `ClassLabel` cast, which keeps ids 2..11) the error blamed the test split's id 11."""
    raw = _set([2, 5, 9, 11] * 3, [2, 5, 9, 11])
    folder = _saved(tmp_path, raw.cast_column("label", datasets.ClassLabel(names=["2", "5", "9", "11"])), "cast")
    with pytest.raises(ValueError, match=r"The train split has class id\(s\) \[5, 9, 11\] beyond"):
        load_task_splits(folder, require_validation=False)
    as_text = datasets.load_from_disk(str(folder)).cast_column("label", datasets.Value("string"))
    loaded = load_task_splits(_saved(tmp_path, as_text, "text"), require_validation=False)
    assert loaded.label_names == ["2", "5", "9", "11"]


# ------------------------------------------------------------------------------- the advice for int class ids


@pytest.mark.parametrize(
    "train_labels",
    [[1, 2, 3, 4] * 3, [2, 5, 9, 11] * 3, [-1, 0, 1, 2] * 3, [1.0, 2.0, 3.0, 4.0] * 3],
    ids=["1-based", "sparse", "negative", "whole floats"],
)
def test_numbers_that_are_no_class_ids_get_a_fix_that_loads(tmp_path, train_labels):
    """The advised `cast_column("label", ClassLabel(names=[...]))` kept the numbers as ids; a cast to text works."""
    raw = _set(train_labels, train_labels[:4])
    with pytest.raises(ValueError) as error:
        load_task_splits(_saved(tmp_path, raw, "raw"), require_validation=False)
    message = str(error.value)
    assert 'dataset.cast_column("label", Value("string"))' in message and "ClassLabel(names" not in message
    fixed = raw.cast_column("label", datasets.Value("string"))
    loaded = load_task_splits(_saved(tmp_path, fixed, "fixed"), require_validation=False)
    assert len(loaded.label_names) == 4 and sorted(set(loaded.labels())) == [0, 1, 2, 3]


def test_splits_with_differently_numbered_class_names_get_a_fix_that_loads(tmp_path):
    """The advised cast to one `ClassLabel` keeps each split's ids, so the test labels stayed misread."""
    raw = _set(["walk", "run", "sit"] * 4, ["walk", "sit"] * 2)
    per_split = datasets.DatasetDict({name: split.class_encode_column("label") for name, split in raw.items()})
    with pytest.raises(ValueError, match=r"align_labels_with_mapping\(\{'run': 0, 'sit': 1, 'walk': 2\}, 'label'\)"):
        load_task_splits(_saved(tmp_path, per_split, "per_split"), require_validation=False)
    per_split["test"] = per_split["test"].align_labels_with_mapping({"run": 0, "sit": 1, "walk": 2}, "label")
    loaded = load_task_splits(_saved(tmp_path, per_split, "aligned"), require_validation=False)
    assert [loaded.label_names[i] for i in loaded.labels("test")] == ["walk", "sit"] * 2


def test_a_missing_text_label_is_named_with_its_row(tmp_path):
    """It was reported as "string values, not integer class ids" with a `ClassLabel` cast as the fix."""
    raw = _set(["walk", None, "run", "sit"] * 3, ["walk", "run", "sit"])
    with pytest.raises(ValueError, match=r"`label` of the train split is missing in row 1; drop the unlabelled rows"):
        load_task_splits(_saved(tmp_path, raw), require_validation=False)


def _recording_folder(folder, labels, suffix: str) -> None:
    """A folder of .npy recordings, train/ and test/, each labelled by a metadata file of `suffix`."""
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        (folder / split).mkdir(parents=True)
        rows = []
        for index, label in enumerate(labels * 2):
            np.save(folder / split / f"r{index}.npy", rng.standard_normal((1, 100)).astype(np.float32))
            rows.append({"file_name": f"r{index}.npy", "label": label})
        if suffix == "csv":
            pd.DataFrame(rows).to_csv(folder / split / "metadata.csv", index=False)
        else:
            (folder / split / "metadata.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_numeric_labels_of_a_recording_folder_are_advised_as_text_in_the_metadata_which_loads(tmp_path):
    """The advice was a Python `cast_column` before `save_to_disk`, which a folder of files has no step for; and a
    metadata.jsonl's "2" was read as the number 2 (pandas' type guessing), so text labels came back as ids."""
    _recording_folder(tmp_path / "csv", [2, 5, 9, 11], "csv")
    with pytest.raises(
        ValueError, match=r"write the labels as class names in the metadata: as text in a metadata.json"
    ):
        load_task_splits(tmp_path / "csv", sampling_rate=RATE, require_validation=False)
    _recording_folder(tmp_path / "jsonl", ["2", "5", "9", "11"], "jsonl")
    loaded = load_task_splits(tmp_path / "jsonl", sampling_rate=RATE, require_validation=False)
    assert loaded.label_names == ["2", "5", "9", "11"]


# -------------------------------------------------------------------- overrides of the fields the data decides


@pytest.mark.parametrize("override", [{"num_labels": 7}, {"problem_type": "multi_label_classification"}])
def test_finetune_and_evaluate_refuse_overrides_of_the_head_fields_the_data_decides(tmp_path, override):
    """`citrus finetune --config-overrides num_labels=7` trained a 4-class model without a word."""
    from citrus_hf.evaluation.settings import ProtocolConfig
    from citrus_hf.training.arguments import FinetuneArguments

    field = next(iter(override))
    with pytest.raises(ValueError, match=rf"--config-overrides {field}: the task head's labels come from the dataset"):
        FinetuneArguments(output_dir=str(tmp_path / "run"), dataset="set", config_overrides=override)
    with pytest.raises(ValueError, match=rf"--config-overrides {field}: .* drop it\. Multi-label"):
        ProtocolConfig(
            output_dir=str(tmp_path / "ev"), datasets=["set"], arms=["citrus-scratch"], config_overrides=override
        )
