"""Leftovers of session 82's audits, mended: CauKer's whole-number settings (`num_nodes=2.5` or `max_kernels=True`
passed the check at build and every draw then failed in a stream's worker, or drew one kernel where True meant
nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data.synthetic import CauKerGenerator, KernelSynthGenerator


@pytest.mark.parametrize(
    "setting", [{"num_nodes": 2.5}, {"max_kernels": True}, {"series_per_graph": 1.0}, {"max_parents": 0.5}]
)
def test_a_cauker_count_that_is_no_whole_number_is_refused_at_build(setting):
    name, value = next(iter(setting.items()))
    with pytest.raises(ValueError, match=rf"`{name}` must be a whole number >= [01], got {value!r}\."):
        CauKerGenerator(**setting)


def test_numpy_integers_are_taken_as_python_integers():
    """A count read from an array (`np.int64`) is taken, and the settings a card records stay Python's ints."""
    generator = KernelSynthGenerator(max_kernels=np.int64(3))
    assert generator.settings()["max_kernels"] == 3 and type(generator.settings()["max_kernels"]) is int
    assert CauKerGenerator(max_parents=np.int32(0)).max_parents == 0
