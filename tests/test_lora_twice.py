"""`apply_lora` adapts the model it is given in place (peft's `get_peft_model` does), so calling it again on that
model object (a notebook cell run twice) meets adapter layers outside a `PeftModel`: refused as "already carries
peft adapters", not with peft's "no module matches target_modules=[]"."""

from __future__ import annotations

import pytest
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.training.lora import apply_lora


@pytest.mark.parametrize("target_modules", [None, ["q_proj"]])
def test_apply_lora_twice_on_the_same_model_object_is_refused_as_adapted(target_modules) -> None:
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    apply_lora(model, verbose=False)
    with pytest.raises(ValueError, match="already carries peft adapters"):
        apply_lora(model, target_modules=target_modules, verbose=False)
