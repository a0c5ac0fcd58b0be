"""Session 77, dead-code audit: values the package computed or declared and never used, where a check was meant to
read them (a kernel bank's kind list, a pre-training head's `target_size`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf.data.synthetic import Kernel, sample_kernel_composition
from citrus_hf.modeling_citrus import (
    PRETRAINING_HEADS,
    CiTrusForPretraining,
    CiTrusPretrainingHead,
    register_pretraining_head,
)


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


class _DifferencesHead(CiTrusPretrainingHead):
    """A made-up objective whose target is each patch's first differences (`patch_length - 1` values); the test
    breaks one of its three sizes at a time."""

    objective = "differences_audit77"
    description = "first differences"
    predicts_samples = False
    declared_size_offset = -1  # target_size = patch_length + this
    predicted_size_offset = -1  # the forward's width = patch_length + this

    def __init__(self, config):
        super().__init__()
        self.output = torch.nn.Linear(config.d_model, config.patch_length + self.predicted_size_offset)

    @classmethod
    def target_size(cls, config) -> int:
        return config.patch_length + cls.declared_size_offset

    def target(self, input_values, patches):
        return patches.diff(dim=-1)

    def forward(self, tokens):
        return self.output(tokens)


@pytest.fixture
def registered_head(monkeypatch):
    """Registers a subclass of `_DifferencesHead` with the given size offsets; unregistered after the test."""
    from citrus_hf import configuration_citrus

    monkeypatch.setattr(configuration_citrus, "PRETRAINING_OBJECTIVES", configuration_citrus.PRETRAINING_OBJECTIVES)

    def register(declared: int, predicted: int) -> CiTrusForPretraining:
        attributes = {"declared_size_offset": declared, "predicted_size_offset": predicted}
        register_pretraining_head(type("DifferencesHead", (_DifferencesHead,), attributes))
        return CiTrusForPretraining(tiny_config(pretraining_objective=_DifferencesHead.objective))

    yield register
    PRETRAINING_HEADS.pop(_DifferencesHead.objective, None)


def test_a_head_whose_target_is_not_its_target_size_is_refused(registered_head):
    """`target_size` was declared by every head and read by nothing but a test: a head whose targets had another
    width trained without a word, on outputs whose documented shape `(B, C, P, target_size)` was wrong."""
    model = registered_head(declared=0, predicted=-1)
    with pytest.raises(ValueError, match=r"DifferencesHead .* targets of shape \(2, 1, 10, 19\).* = \(2, 1, 10, 20\)"):
        model(torch.randn(2, 1, 200))


@pytest.mark.parametrize("predicted", [0, 1 - 20])
def test_a_head_whose_prediction_is_not_its_target_is_refused(registered_head, predicted):
    """A forward one value too wide failed inside torch's `mse_loss` with a bare size error; one value per patch was
    broadcast against the 19 targets with only torch's warning, and trained on a wrong loss."""
    model = registered_head(declared=-1, predicted=predicted)
    width = 20 + predicted
    with pytest.raises(
        ValueError, match=rf"DifferencesHead predicted \(\d+, {width}\) for targets of shape \(\d+, 19\)"
    ):
        model(torch.randn(2, 1, 200))
