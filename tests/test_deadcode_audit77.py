"""Session 77, dead-code audit: values the package computed or declared and never used, where a check was meant to
read them."""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data.synthetic import Kernel, sample_kernel_composition


@pytest.mark.parametrize("kind", ["matern52", "Periodic", "ExpSineSquared"])
def test_an_unknown_kernel_kind_is_refused_where_the_kernel_is_made(kind):
    """`Kernel.STATIONARY` was never read: an unknown kind was built without a word and refused only when sampled,
    as "not a stationary kernel", which pointed at stationarity instead of the misspelt name."""
    with pytest.raises(ValueError, match=f"Unknown kernel kind '{kind}'; use one of periodic, .*white"):
        Kernel(kind, 1.0)


def test_every_kernel_kind_is_accepted_and_samples():
    """Guard: the check refuses no kind the sampler knows."""
    kinds = ["periodic", "rbf", "rational_quadratic", "matern12", "matern32", "constant", "linear", "white"]
    kernels = [Kernel(kind, 2.0) for kind in kinds]
    samples = sample_kernel_composition(kernels, ["+"] * (len(kernels) - 1), 32, np.random.default_rng(0))
    assert samples.shape == (1, 32) and np.isfinite(samples).all()
