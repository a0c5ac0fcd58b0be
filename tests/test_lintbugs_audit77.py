"""Session 77, lint-guided audit: what `ruff --select B905,BLE001,...` pointed at that a user can hit (a `zip` that
dropped what it could not pair, a substring test taken for a membership test)."""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data.synthetic import Kernel, dense_kernel_composition, sample_kernel_composition

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
