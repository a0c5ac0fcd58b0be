"""Audit 63: the inference backends with a `torch.compile`d classifier under backend="auto", a faster path that fails
on its first batch, and models without a task head (the bare encoder, a pre-training model) in `predict_windows` /
`load_backend`."""

from __future__ import annotations

import pytest
import torch
from tiny_configs import tiny_config

import citrus_hf.inference.backends as backends_module
from citrus_hf import CiTrusForPretraining, CiTrusForSequenceClassification, CiTrusModel
from citrus_hf.inference.backends import (
    CheckedBackend,
    Contender,
    InferenceBackend,
    InferenceTarget,
    TorchBackend,
    cpu_bf16_support,
    load_backend,
    predict_windows,
)


def _classifier() -> CiTrusForSequenceClassification:
    torch.manual_seed(0)
    return CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()


class _BrokenPath(InferenceBackend):
    """A faster path that builds, then fails on its first batch as a compiler does: a long, multi-line error."""

    name = "broken"

    def __init__(self):
        super().__init__(None, InferenceTarget())
        self.calls = 0

    def _forward(self, input_values, patch_mask, in_share):
        self.calls += 1
        raise RuntimeError("LoweringException: AssertionError:\n  target: mkldnn._linear_pointwise.default\n" * 50)


def test_a_contender_that_fails_on_its_first_batch_is_dropped_and_fp32_runs(caplog):
    """backend="auto" promises fp32 PyTorch is always there: a contender failing on its first run had propagated out of
    `predict_windows` and the pipeline; it is now left out with a one-line warning, as one that cannot be built."""
    model = _classifier()
    windows = torch.randn(4, 1, 200)
    broken = _BrokenPath()
    reference = TorchBackend(model, InferenceTarget())
    auto = CheckedBackend([Contender(broken, backends_module._same_classes, "a predicted class changed")], reference)
    with caplog.at_level("WARNING"):
        output = auto(windows)
    torch.testing.assert_close(output, TorchBackend(model, InferenceTarget())(windows), rtol=0, atol=0)
    assert auto.paths == [reference] and auto.name == "torch"
    warnings = [record.getMessage() for record in caplog.records if "broken" in record.getMessage()]
    assert warnings == [
        "backend='auto': broken failed on the first batch (LoweringException: AssertionError:); it is not used."
    ]
    auto(windows)  # dropped for good: never run again
    assert broken.calls == 1


@pytest.mark.skipif(cpu_bf16_support() is None, reason="'auto' has a bf16 contender only on a CPU with native bf16")
def test_a_compiled_classifier_runs_on_auto_with_its_bf16_path_built_from_the_uncompiled_module():
    """`torch.compile(model)` under the default backend="auto": the bf16 contender deep-copied the compiled wrapper,
    Inductor failed to lower the bf16 attention, and the first call died deep in torch._inductor. The bf16 copy is
    now made of the module under the wrapper (`_orig_mod`), run eagerly, and still kept only if it gives fp32's
    classes."""
    model = _classifier()
    windows = torch.randn(4, 1, 200)
    expected = predict_windows(model, {"input_values": windows}, backend="torch")
    compiled = torch.compile(_classifier())
    try:
        output = predict_windows(compiled, {"input_values": windows})
    finally:
        torch._dynamo.reset()
    auto = backends_module.cached_backend(compiled, "auto", InferenceTarget())
    (contender,) = auto.contenders
    assert contender.backend.name == "bf16" and "_orig_mod" not in contender.backend.model._modules
    assert contender.backend in auto.paths  # it ran, and reproduced fp32's classes
    torch.testing.assert_close(output, expected, atol=2e-2, rtol=0)
    assert torch.equal(output.argmax(-1), expected.argmax(-1))


@pytest.mark.parametrize("model_class", [CiTrusModel, CiTrusForPretraining])
def test_a_model_without_a_task_head_gives_its_embeddings_by_default(model_class):
    """The bare encoder (what citrus-small loads as) and a pre-training model have no logits: the default target
    ("logits") ran a whole forward pass, then failed with "'CiTrusModelOutput' object has no attribute 'logits'". The
    default now follows the model, as `pipeline(model=...)` serves an encoder as feature extraction."""
    torch.manual_seed(0)
    model = model_class(tiny_config()).eval()
    windows = torch.randn(3, 1, 200)
    expected = model.embed(windows)
    torch.testing.assert_close(predict_windows(model, {"input_values": windows}, backend="torch"), expected)
    torch.testing.assert_close(predict_windows(model, {"input_values": windows}), expected)  # "auto"
    backend = load_backend(model, "torch")
    assert backend.target.output == "embeddings"
    torch.testing.assert_close(backend(windows), expected)


@pytest.mark.parametrize("model_class", [CiTrusModel, CiTrusForPretraining])
@pytest.mark.parametrize("backend", ["torch", "auto", "bf16"])
def test_the_logits_of_a_model_without_a_task_head_are_refused_before_any_forward_pass(model_class, backend):
    torch.manual_seed(0)
    model = model_class(tiny_config()).eval()
    forward_passes = []
    model.register_forward_pre_hook(lambda module, inputs: forward_passes.append(module))
    expected = (
        rf"{model_class.__name__} has no task head, so it has no logits: load a fine-tuned checkpoint into its task "
        r"class \(e\.g\. CiTrusForSequenceClassification.*target=InferenceTarget\('embeddings'\)"
    )
    with pytest.raises(ValueError, match=expected):
        predict_windows(model, {"input_values": torch.randn(2, 1, 200)}, backend=backend, target=InferenceTarget())
    with pytest.raises(ValueError, match=expected):
        load_backend(model, backend, InferenceTarget("logits"))
    assert forward_passes == []


class _FailsOnOtherLengths(InferenceBackend):
    """A faster path that reproduces fp32 on windows of 200 samples and fails on any other length, as an export
    traced at one length does; it reports no time, so it wins every race."""

    name = "fragile"

    def __init__(self, model, now):
        super().__init__(model, InferenceTarget())
        self.now = now
        self.calls = 0

    def __call__(self, input_values, patch_mask=None):
        self.calls += 1
        if input_values.shape[-1] != 200:
            raise RuntimeError("Got invalid dimensions for input: input_values\nindex: 2 Got: 400 Expected: 200")
        return TorchBackend(self.model, InferenceTarget())(input_values, patch_mask)


class _TimedReference(TorchBackend):
    def __init__(self, model, now):
        super().__init__(model, InferenceTarget())
        self.now = now

    def __call__(self, input_values, patch_mask=None):
        self.now[0] += 1.0  # slower than the fragile path in every race
        return super().__call__(input_values, patch_mask)


def test_a_chosen_contender_that_fails_on_a_later_batch_is_dropped_and_fp32_runs(caplog):
    """A contender passed its first batch and won the race, then failed on a later batch of another shape: the error
    propagated out of `predict_windows`. Now fp32 PyTorch computes that batch, the contender is left out for good with
    a one-line warning, and an input at fault still raises its own error without costing the contender its place."""
    model = _classifier()
    now = [0.0]
    fragile = _FailsOnOtherLengths(model, now)
    reference = _TimedReference(model, now)
    auto = CheckedBackend(
        [Contender(fragile, backends_module._same_classes, "differs")], reference, clock=lambda: now[0]
    )
    auto(torch.randn(4, 1, 200))
    assert auto.name == "fragile"
    # 3 channels for a 1-channel model: the reference's own error (any error passed before: a crash inside the race too)
    with pytest.raises(ValueError, match="built for 1 channel") as wrong_input:
        auto(torch.randn(4, 3, 400))
    assert "fragile" not in str(wrong_input.value) and fragile in auto.paths
    longer = torch.randn(4, 1, 400)
    with caplog.at_level("WARNING"):
        output = auto(longer)
    torch.testing.assert_close(output, TorchBackend(model, InferenceTarget())(longer), rtol=0, atol=0)
    assert auto.name == "torch" and auto.paths == [reference]
    warnings = [record.getMessage() for record in caplog.records if "fragile" in record.getMessage()]
    assert warnings == [
        "backend='auto': fragile failed on a later batch (4 windows) (Got invalid dimensions for input: "
        "input_values); it is not used."
    ]
    calls = fragile.calls
    auto(torch.randn(4, 1, 200))  # dropped for good: never run again
    assert fragile.calls == calls and auto.name == "torch"
