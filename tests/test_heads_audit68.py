"""Session 68 (heads): adapter cards and arm registration as a user meets them.

- An adapter card's "Trainable parameters ... of N" counted the parameters of every adapter on the model, not the
  base model's plus the described adapter's.
- `register_arm(CiTrusArm(name="mine", ...))` run a second time (a notebook cell run again) was refused as a taken
  name; the same settings are accepted now, other settings under the name still refused.

A tiny model on the CPU: a few seconds each.
"""

from __future__ import annotations

import pytest
from tiny_configs import tiny_config

# ------------------------------------------------------------------------------------------------- adapter cards


def _card_total(peft_model, adapter_name=None) -> str:
    from citrus_hf.training.lora import adapter_card

    line = next(
        line
        for line in adapter_card(peft_model, None, adapter_name=adapter_name).text.splitlines()
        if line.startswith("| Trainable parameters")
    )
    return line


def test_an_adapter_cards_total_counts_the_base_and_that_adapter_alone():
    from peft import LoraConfig, get_peft_model

    from citrus_hf import CiTrusForSequenceClassification

    task = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    peft_model = get_peft_model(
        task, LoraConfig(r=2, target_modules=["q_proj"], modules_to_save=["classifier"]), adapter_name="one"
    )
    trainable, total = peft_model.get_nb_trainable_parameters()  # one adapter: peft's own count
    alone = _card_total(peft_model)
    assert f"{trainable:,} of {total:,}" in alone
    peft_model.add_adapter(
        "two", LoraConfig(r=8, target_modules=["q_proj", "k_proj", "v_proj"], modules_to_save=["classifier"])
    )
    assert _card_total(peft_model, "one") == alone
    peft_model.set_adapter("two")
    trainable_two, total_both = peft_model.get_nb_trainable_parameters()
    two = _card_total(peft_model, "two")
    assert f"{trainable_two:,} of {total_both - trainable:,}" in two


# ------------------------------------------------------------------------------------------------- arm registration


def test_a_package_arm_instance_registered_again_is_accepted_and_another_refused():
    from citrus_hf.evaluation.arms import ARMS, CiTrusArm, register_arm

    try:
        register_arm(CiTrusArm(name="audit68-mine", description="mine", pretrained=False))
        register_arm(CiTrusArm(name="audit68-mine", description="mine", pretrained=False))  # the cell run again
        assert ARMS["audit68-mine"] == CiTrusArm(name="audit68-mine", description="mine", pretrained=False)
        with pytest.raises(ValueError, match=r"The evaluation arm 'audit68-mine' is already registered \(mine\)"):
            register_arm(CiTrusArm(name="audit68-mine", description="mine", pretrained=True))
        with pytest.raises(ValueError, match=r"The evaluation arm 'citrus-small' is already registered"):
            register_arm(CiTrusArm(name="citrus-small", description="not the bundled one", pretrained=False))
    finally:
        ARMS.pop("audit68-mine", None)
