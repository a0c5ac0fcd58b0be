"""The forward pass used as PyTorch users do:

- `torch.compile(fullgraph=True)` traces the model in one graph (its data-dependent input checks stay out of it);
- in float16 the pooled spread's floor (1e-12) rounded to 0, so one backward pass over a window of one real patch
  filled every gradient with NaN.
"""

from __future__ import annotations

import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification


def test_torch_compile_traces_the_model_in_one_graph():
    """The input checks are data-dependent: under `torch.compile` each was a graph break, and `fullgraph=True`
    failed inside dynamo. The compiled model gives the eager outputs."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).eval()
    compiled = torch.compile(model, backend="eager", fullgraph=True)  # dynamo tracing, no C++ compiler needed
    window, patch_mask = torch.randn(2, 1, 200), torch.ones(2, 10, dtype=torch.bool)
    patch_mask[1, 6:] = False
    with torch.no_grad():
        compiled_logits = compiled(input_values=window, patch_mask=patch_mask).logits
        torch.testing.assert_close(compiled_logits, model(input_values=window, patch_mask=patch_mask).logits)


@pytest.mark.parametrize("pooling", ["mean_max_std", "mean_max_std_dynamics"])
def test_float16_gradients_stay_finite_for_a_window_of_one_real_patch(pooling):
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3, pooling=pooling)).to(torch.float16)
    window = torch.randn(2, 1, 200, dtype=torch.float16)
    patch_mask = torch.ones(2, 10, dtype=torch.bool)
    patch_mask[1, 1:] = False  # the last window of a recording: one real patch, the rest padding
    loss = model(input_values=window, patch_mask=patch_mask, labels=torch.tensor([0, 2])).loss
    loss.backward()
    broken = [
        name
        for name, parameter in model.named_parameters()
        if parameter.grad is not None and not parameter.grad.isfinite().all()
    ]
    assert torch.isfinite(loss) and not broken


def test_under_cpu_autocast_the_task_head_runs_in_its_own_dtype():
    """The Trainer's `bf16=True` autocasts the forward: a probe-sized head (49,152 inputs) in bf16 killed the process
    with a floating point exception on a CPU with AMX (PyTorch 2.13's kernel), so the head runs in float32."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    seen = []
    model.classifier.register_forward_hook(lambda module, args, output: seen.append((args[0].dtype, output.dtype)))
    window = torch.randn(4, 1, 200)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(input_values=window, labels=torch.tensor([0, 1, 2, 0])).logits
    assert seen == [(torch.float32, torch.float32)] and logits.dtype == torch.float32
