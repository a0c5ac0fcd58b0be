"""Traps that users of peft, accelerate, datasets and huggingface_hub have reported upstream, checked against the way
citrus-hf wraps those libraries (an audit: each test failed before its fix)."""

from __future__ import annotations

import numpy as np
import pytest

# ------------------------------------------------------------------ datasets: `from_generator`'s cache of a set


@pytest.fixture
def registered_set():
    """`define(name, offset, label_of=...)` registers (again: a notebook cell run twice) a two-class set of one's own
    whose row i holds the value `i + offset`; the set is removed after the test."""
    import citrus_hf.data  # noqa: F401  (the package's sets first)
    from citrus_hf.data.plans import BuildPlan, dataset_features, window_row
    from citrus_hf.data.registry import DATASETS, register_dataset

    names = []

    def define(name, offset, label_of=lambda i: i % 2):
        def rows(subjects):
            for subject in subjects:
                for i in range(4):
                    values = np.full((1, 200), float(i + offset), np.float32)
                    yield window_row(
                        values, 100.0, 2.0 * i, subject=str(subject), recording=f"r{subject}", source="me",
                        label=label_of(i),
                    )  # fmt: skip

        def build(options, context):
            splits = {"train": {"subjects": [1, 2]}, "test": {"subjects": [3]}}
            return BuildPlan(dataset_features(["a", "b"], False, (1, 200)), rows, splits)

        register_dataset(name=name, description="mine", task="classification", sources=(), splits="by subject")(build)
        names.append(name)

    yield define
    for name in names:
        DATASETS.pop(name, None)


def _first_values(name, cache_dir):
    from citrus_hf.data import build_dataset

    built = build_dataset(name, cache_dir=cache_dir)["train"].with_format("numpy")
    return np.asarray(built["input_values"])[:4, 0, 0].tolist(), np.asarray(built["label"])[:4].tolist()


def test_a_set_whose_builder_is_defined_again_with_other_rows_is_built_again(tmp_path, registered_set):
    """`Dataset.from_generator` was given a cache key of the set's name, version and options alone, so a builder
    fixed in a notebook and run again (which the registry takes, replacing its entry) built nothing: the old rows
    came back from the datasets cache without a word."""
    registered_set("audit70_mine", 0)
    assert _first_values("audit70_mine", tmp_path) == ([0.0, 1.0, 2.0, 3.0], [0, 1, 0, 1])
    registered_set("audit70_mine", 100)  # the cell edited (a value the generator's closure holds) and run again
    assert _first_values("audit70_mine", tmp_path) == ([100.0, 101.0, 102.0, 103.0], [0, 1, 0, 1])
    registered_set("audit70_mine", 100, label_of=lambda i: 1 - i % 2)  # another function the generator calls
    assert _first_values("audit70_mine", tmp_path)[1] == [1, 0, 1, 0]


def test_a_set_built_again_with_the_same_code_is_read_from_the_cache(tmp_path, registered_set):
    """The code's digest is no random key: the same builder again reads the rows it wrote."""
    registered_set("audit70_same", 0)
    first = _first_values("audit70_same", tmp_path)
    cached = sorted(path.name for path in tmp_path.rglob("*.arrow"))
    registered_set("audit70_same", 0)
    assert _first_values("audit70_same", tmp_path) == first
    assert sorted(path.name for path in tmp_path.rglob("*.arrow")) == cached


@pytest.mark.parametrize(
    ("label_of", "said"),
    [(lambda i: i, r"label 2"), (lambda i: -3, r"label -3"), (lambda i: "c", r"label 'c'")],
)
def test_a_label_outside_the_sets_class_names_is_named_with_the_fix(tmp_path, registered_set, label_of, said):
    """A builder of one's own that yields a label its features' `ClassLabel` does not hold stopped with `datasets`'
    own words ("Class label 2 greater than configured num_classes 2", "Invalid string class label c") from deep inside
    its encoder, naming neither the set, the split nor the class names."""
    from citrus_hf.data import CitrusDataError, build_dataset

    registered_set("audit70_labels", 0, label_of=label_of)
    refused = rf"The train split of dataset 'audit70_labels' yields a {said}, which is none of its 2 classes "
    refused += r"\['a', 'b'\] \(ids 0 to 1\)"
    with pytest.raises(CitrusDataError, match=refused):
        build_dataset("audit70_labels", cache_dir=tmp_path)
