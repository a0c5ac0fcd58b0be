"""Session 77, lint-guided audit: what `ruff --select B905,BLE001,...` pointed at that a user can hit (a `zip` that
dropped what it could not pair, a substring test taken for a membership test)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.data.synthetic import Kernel, dense_kernel_composition, sample_kernel_composition
from citrus_hf.inference.backends import predict_windows

_KERNELS = [Kernel("rbf", 0.1), Kernel("periodic", 10.0), Kernel("white", 0.1)]


@pytest.mark.parametrize("operators", [["", "+"], ["+*", "+"]], ids=["empty", "both"])
def test_a_kernel_composition_refuses_an_operator_that_is_only_part_of_plus_star(operators):
    """`op not in "+*"` is a substring test: "" and "+*" passed it and were sampled as products."""
    with pytest.raises(ValueError, match=r"Need 2 operators from '\+', '\*' between 3 kernels"):
        sample_kernel_composition(_KERNELS, operators, 16, np.random.default_rng(0))


@pytest.mark.parametrize("operators", [["+"], ["-", "+"]], ids=["too-few", "unknown"])
def test_the_dense_covariance_refuses_what_the_sampler_refuses(operators):
    """`dense_kernel_composition` (the reference the sampler is tested against) zipped the operators with the kernels:
    one operator too few dropped the last kernel from the covariance, and "-" was read as a product."""
    with pytest.raises(ValueError, match=r"Need 2 operators from '\+', '\*' between 3 kernels"):
        dense_kernel_composition(_KERNELS, operators, 8)


@pytest.mark.parametrize("rows", [5, 20], ids=["fewer", "more"])
def test_predict_windows_refuses_a_patch_mask_of_other_rows_than_the_windows(rows):
    """The windows and their mask were sliced into batches apart: a mask of 20 rows for 10 windows stopped in torch
    ("The size of tensor a (2) must match ..."), one of 5 was refused with one batch's slice, "(4, 10) ... got (1, 10)",
    neither the shape passed."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).eval()
    mask = torch.ones(rows, 10, dtype=torch.long)
    mask[:, 8:] = 0  # (padded windows: the mask is read, not dropped as all ones)
    features = {"input_values": torch.randn(10, 1, 200), "patch_mask": mask}
    with pytest.raises(ValueError, match=rf"has shape \({rows}, 10\), not \(windows, num_patches\) for the 10 windows"):
        predict_windows(model, features, backend="torch", batch_size=4)


def test_predict_windows_takes_a_mask_of_one_row_per_window():
    """Guard: a mask of the windows' rows runs as before, batch by batch."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).eval()
    mask = torch.ones(10, 10, dtype=torch.long)
    mask[3:, 8:] = 0
    features = {"input_values": torch.randn(10, 1, 200), "patch_mask": mask}
    assert predict_windows(model, features, backend="torch", batch_size=4).shape == (10, 2)
