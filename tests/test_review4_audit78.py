"""Review of session 78's fuzz fixes (metrics on torch tensors, budgets' recording-id keys):

1. `_as_array` made every float tensor float32, float64 ones too: regression targets near 1e8 a unit apart became one
   value, and `regression_metrics` / `pearson_r` scored a tensor otherwise than its numpy copy (mae 0.0 for 0.25).
   Only floats numpy cannot hold (bf16) or that widen exactly (float16) are made float32 now.
2. `group_keys` read recording ids of numbers beside text (a list, or an object column keyed as text) with 1 and "1"
   as one recording, and ids that are tuples of different lengths stopped in numpy ("inhomogeneous shape"). Each
   distinct id is its own key now; ids that worked before keep their keys (registered sets' draws are unchanged).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from citrus_hf.data.budgets import carve_validation, draw_budget, group_keys, parse_budget
from citrus_hf.training.metrics import pearson_r, regression_metrics

# targets a unit apart near 1e8: float32 holds 1e8 only to 8 units
_TARGETS = np.array([1e8 + 1, 1e8 + 2, 1e8 + 3, 1e8 + 5])
_PREDICTIONS = np.array([1e8 + 1, 1e8 + 2, 1e8 + 4, 1e8 + 5])


def test_float64_tensors_score_as_their_numpy_copy():
    as_tensors = regression_metrics(torch.from_numpy(_PREDICTIONS), torch.from_numpy(_TARGETS))
    assert as_tensors == pytest.approx(regression_metrics(_PREDICTIONS, _TARGETS))
    assert as_tensors["mae"] == pytest.approx(0.25)
    assert pearson_r(torch.from_numpy(_TARGETS), torch.from_numpy(_PREDICTIONS)) == pytest.approx(
        pearson_r(_TARGETS, _PREDICTIONS)
    )


@pytest.mark.parametrize("ids", [[1, "1", 2, "x"], np.array([1, "1", None, "x"], dtype=object)])
def test_a_number_and_a_text_id_that_read_alike_are_two_recordings(ids):
    keys = group_keys(ids, len(ids))
    assert len(set(keys.tolist())) == 4
    pool, validation = carve_validation(4, np.array([0, 0, 1, 1]), ids, 0.5, seed=0)
    assert len(pool) + len(validation) == 4


def test_draw_budget_counts_a_number_and_a_text_id_that_read_alike_apart():
    # recordings 1 and "1", one window each, of one class: a budget of 2 per class draws both, one row each
    chosen = draw_budget(np.array([0, 0, 1, 1]), parse_budget("1"), seed=0, groups=[1, "1", "a", "b"])
    assert len(chosen) == 2


def test_ids_that_are_tuples_of_different_lengths_are_keys():
    ids = [("s1", 1), ("s2",), ("s1", 1), ("s2",)]
    keys = group_keys(ids, len(ids))
    assert keys[0] == keys[2] and keys[1] == keys[3] and keys[0] != keys[1]


def test_ids_that_sorted_before_keep_their_keys():
    """Guard: keys of ids that worked before are unchanged (registered sets' seeded draws depend on them)."""
    for ids in (["a", "b"], np.array(["a", "b"]), [3, 1], [1, "a", 2.5]):
        assert group_keys(ids, len(ids)).tolist() == np.asarray(ids).tolist()
    assert group_keys(["a", None], 2).tolist() == ["a", "<no recording> row 1"]
