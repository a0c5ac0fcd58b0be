"""Review of session 78's fuzz fixes (metrics on torch tensors, budgets' recording-id keys):

1. `_as_array` made every float tensor float32, float64 ones too: regression targets near 1e8 a unit apart became one
   value, and `regression_metrics` / `pearson_r` scored a tensor otherwise than its numpy copy (mae 0.0 for 0.25).
   Only floats numpy cannot hold (bf16) or that widen exactly (float16) are made float32 now.
2. `group_keys` read recording ids of numbers beside text (a list, or an object column keyed as text) with 1 and "1"
   as one recording, and ids that are tuples of different lengths stopped in numpy ("inhomogeneous shape"). Each
   distinct id is its own key now; ids that worked before keep their keys (registered sets' draws are unchanged).
3. `alignment="window"` refused a recording upsampled more than 8 times into more than `max_window_bytes`, the budget
   of windows held at once, though the resampled copy is the recording at the model's rate, held once, as a long
   recording given at that rate is (and passes): three days of a 3-axis 10 Hz accelerometer for a 100 Hz checkpoint
   (297 MiB) were refused in `iter_windows`, the pipelines and `citrus predict` (which has no setting to lift it).
   The copy may now hold 8 times `max_window_bytes`, counted in the recording's own dtype.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf.data.budgets import carve_validation, draw_budget, group_keys, parse_budget
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
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


def test_window_alignment_upsamples_a_long_low_rate_recording_held_once():
    extractor = CiTrusFeatureExtractor.from_config(tiny_config(channel_pooling="mean"))  # 100 Hz
    extractor.num_channels = 3
    extractor.max_window_bytes = 2**20
    accelerometer = np.random.default_rng(0).standard_normal((3, 30_000)).astype(np.float32)  # 10 Hz: 3.4 MiB at 100
    batch = next(extractor.iter_windows(accelerometer, sampling_rate=10, batch_size=4))
    assert batch["input_values"].shape == (4, 3, 200)
    # a rate in kHz where Hz was meant is still refused, counted in the recording's dtype (float32: 5.7 MiB, passed)
    with pytest.raises(ValueError, match=r"into 11 MiB, more than 8 x `max_window_bytes` \(8 MiB\).*in Hz"):
        extractor(accelerometer[:, :1000].astype(np.float64), sampling_rate=0.2, alignment="window")
