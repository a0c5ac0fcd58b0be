"""Style audit 2 (findings 1, 2, 5, C1) and honesty audit finding 6: the data layer's split shares, synthetic
sampling rates, one row schema for every window generator, and a validation carve that never splits a recording."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import citrus_hf.data  # noqa: F401  (registers every dataset)
from citrus_hf.data.errors import CitrusDataError
from citrus_hf.data.plans import SPLIT_NAMES, dataset_features, resolve_options, split_shares, window_row
from citrus_hf.data.recordings import RecordingRef
from citrus_hf.data.registry import get_dataset_spec
from citrus_hf.data.splits import carve_validation
from citrus_hf.data.synthetic import build_generator

DATA = Path(citrus_hf.data.__file__).parent

# ------------------------------------------------------------------------------------------------- split shares


@pytest.mark.parametrize("dataset", ["watch_exercises", "sleep_edf", "hr_ecg", "infant_sleep"])
@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.4, 0.2, 0.2, 0.2), 0.8])
def test_fractions_of_the_wrong_length_are_refused_when_the_options_are_resolved(dataset, fractions):
    """zip cut a two-share `fractions` to train / validation (no test split, no word) and dropped a fourth share."""
    with pytest.raises(CitrusDataError, match=r"Option 'fractions' of dataset .* must be 3 shares \(train, "):
        resolve_options(get_dataset_spec(dataset), {"fractions": fractions})


def test_split_shares_names_one_share_per_split():
    assert split_shares((0.6, 0.2, 0.2)) == {"train": 0.6, "validation": 0.2, "test": 0.2}
    assert list(split_shares([1, 0, 0])) == list(SPLIT_NAMES)
    with pytest.raises(CitrusDataError, match=r"`fractions` must be 3 shares .*e\.g\. \(0\.8, 0\.1, 0\.1\)"):
        split_shares((0.5, 0.5))


# ------------------------------------------------------------------------------------------- synthetic generators


@pytest.mark.parametrize("rate", [True, np.True_, "100"])
def test_synthetic_generators_refuse_a_rate_that_is_not_a_number(rate):
    """`True` is an int: it was taken as 1 Hz. The check is the config's and the feature extractor's."""
    with pytest.raises(TypeError, match="`sampling_rate` must be a positive number of Hz"):
        build_generator("cauker").generate(np.random.default_rng(0), rate, 16)


def test_synthetic_segment_seconds_refuses_a_bool():
    with pytest.raises(ValueError, match="`segment_seconds` must be a positive finite number, got True"):
        build_generator("ecg", segment_seconds=True)
    assert build_generator("ecg", segment_seconds=np.float32(30.0)).segment_seconds == 30.0


# ------------------------------------------------------------------------------------------------ the row schema


@pytest.mark.parametrize(
    "label_names, target, extra",
    [(["a", "b"], False, {}), (None, True, {}), (None, False, {"channel": "Fz", "modality": "EEG"})],
)
def test_window_row_has_the_columns_of_dataset_features(label_names, target, extra):
    row = window_row(
        np.zeros((1, 4), np.float32),
        100.0,
        0.5,
        subject="s",
        recording="r",
        source="pkg==1:file",
        label=1 if label_names else None,
        target=72.0 if target else None,
        **extra,
    )
    features = dataset_features(label_names, target, (1, 4), tuple(extra))
    assert list(row) == list(features)
    assert features.encode_example(row)["start_seconds"] == 0.5


def test_a_recording_ref_gives_the_identity_columns():
    ref = RecordingRef(source="src", recording="rec", subject="sub", origin="pkg==1:file", loader=print)
    assert ref.identity == {"subject": "sub", "recording": "rec", "source": "pkg==1:file"}


def test_no_window_generator_spells_the_row_schema_itself():
    """The schema lives in plans (dataset_features, window_row); a generator that builds its own row dict drifts."""
    spelled = []
    for path in sorted(DATA.rglob("*.py")):
        if path.name == "plans.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            keys = {key.value for key in getattr(node, "keys", ()) if isinstance(key, ast.Constant)}
            if isinstance(node, ast.Dict) and {"input_values", "start_seconds"} <= keys:  # a dataset row
                spelled.append(f"{path.relative_to(DATA)}:{node.lineno}")
    assert spelled == []


# ------------------------------------------------------------------------------------------- the validation carve


def test_the_carve_never_splits_a_recording_that_holds_several_classes():
    """Honesty audit 6: the carve grouped by recording within each class, so a recording with windows of two classes
    went half to validation (pool recordings a, b, c; validation a, c)."""
    labels = [0, 0, 1, 1] * 3
    groups = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    for seed in range(8):
        pool, validation = carve_validation(12, labels, groups, 0.3, seed=seed)
        pool_recordings = {groups[i] for i in pool}
        validation_recordings = {groups[i] for i in validation}
        assert pool_recordings.isdisjoint(validation_recordings)
        assert validation_recordings and {labels[i] for i in pool} == {0, 1}
        assert sorted([*pool, *validation]) == list(range(12))


def test_the_carve_of_mixed_recordings_keeps_every_class_in_the_pool():
    rng = np.random.default_rng(0)
    for _ in range(300):
        size = int(rng.integers(2, 60))
        labels = rng.integers(0, int(rng.integers(1, 5)), size)
        groups = np.asarray([f"r{g}" for g in rng.integers(0, int(rng.integers(1, 12)), size)])
        pool, validation = carve_validation(size, labels, list(groups), float(rng.uniform(0.05, 0.95)), seed=1)
        assert set(groups[pool]).isdisjoint(groups[validation])
        assert set(labels[pool]) == set(labels)


def test_the_carve_of_single_class_recordings_is_unchanged():
    """Every registered set's recordings hold one class each; their carve (and the published numbers that rest on
    it) is the one before the fix, pinned here."""
    labels = [0] * 6 + [1] * 6 + [2] * 4
    groups = [f"r{i // 2}" for i in range(16)]
    assert carve_validation(16, labels, groups, 0.3, seed=0)[1].tolist() == [4, 5, 10, 11, 12, 13]
    assert carve_validation(16, labels, groups, 0.3, seed=1)[1].tolist() == [0, 1, 10, 11, 14, 15]
    regression_groups = [f"g{i % 4}" for i in range(10)]
    assert carve_validation(10, None, regression_groups, 0.4, seed=3)[1].tolist() == [2, 3, 6, 7]
