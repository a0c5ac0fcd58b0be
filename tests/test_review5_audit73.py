"""Audit 73, a review of the peft wrappers added in the third peft round: a peft release whose private names the
wrappers reach for had moved made `import citrus_hf` (or `import peft` after it) fail with an AttributeError out of
the registration; peft's mixed-adapter batches through a patch embedding that some adapter adapts were refused only
when the batch named that adapter, so a batch of the other adapters (or of "__base__") still stopped inside peft on
"Length of `adapter_names` should be the same as the number of inputs, but got 4 and 40".

Tiny random models on the CPU: a few seconds each."""

from __future__ import annotations

import logging

import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.training.lora import apply_lora

WINDOWS = torch.randn(4, 1, 200, generator=torch.Generator().manual_seed(0))


def test_a_peft_that_moved_the_private_names_still_registers_with_a_warning(monkeypatch, caplog):
    """`register_peft_target_modules` runs when peft and citrus_hf are both imported; it wrapped peft's private
    `LoraModel._enable_peft_forward_hooks` and `peft.utils.hotswap.hotswap_adapter_from_state_dict` without looking,
    so a peft without them (pyproject asks only `peft>=0.20`) made the import fail. The checks that need them are
    skipped, each named once in a warning, and the rest of the registration holds."""
    from peft.tuners.lora import LoraModel
    from peft.utils import hotswap

    from citrus_hf.training import lora

    monkeypatch.delattr(LoraModel, "_enable_peft_forward_hooks")
    monkeypatch.delattr(hotswap, "hotswap_adapter_from_state_dict")
    with caplog.at_level(logging.WARNING):
        lora.register_peft_target_modules()
    assert "LoraModel._enable_peft_forward_hooks" in caplog.text and "mixed-adapter" in caplog.text
    assert "hotswap_adapter_from_state_dict" in caplog.text and "hotswap" in caplog.text


def test_the_hotswap_check_passes_on_arguments_peft_adds():
    """The hotswap check took peft's five parameters by name: an argument a later peft passes on (a keyword the
    wrapper did not list) failed in the wrapper before peft saw it."""
    from peft.utils import hotswap

    calls = []

    def swap(model, state_dict, adapter_name, config, parameter_prefix="lora_", *, new_option=None):
        calls.append(new_option)

    original = hotswap.hotswap_adapter_from_state_dict
    try:
        hotswap.hotswap_adapter_from_state_dict = swap
        from citrus_hf.training import lora

        lora._refuse_hotswapping_a_head()
        wrapped = hotswap.hotswap_adapter_from_state_dict
        assert wrapped is not swap
        wrapped(model=torch.nn.Linear(1, 1), state_dict={}, adapter_name="default", config=None, new_option=3)
    finally:
        hotswap.hotswap_adapter_from_state_dict = original
    assert calls == [3]
