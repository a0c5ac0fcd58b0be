"""Session 68 (heads): task-head keywords, adapter cards and arm registration as a user meets them.

- `id2label=` / `label2id=` given to a regressor (single-modality or fusion; constructor, `from_pretrained`, the Auto
  class, a config given to it) recorded classes while the head kept its `num_targets` outputs: refused now, as
  `num_labels=` already was, naming `num_targets`.
- An adapter card's "Trainable parameters ... of N" counted the parameters of every adapter on the model, not the
  base model's plus the described adapter's.
- `register_arm(CiTrusArm(name="mine", ...))` run a second time (a notebook cell run again) was refused as a taken
  name; the same settings are accepted now, other settings under the name still refused.

A tiny model on the CPU: a few seconds each.
"""

from __future__ import annotations

import pytest
from tiny_configs import tiny_config

from citrus_hf import CiTrusConfig, CiTrusForRegression, CiTrusModel

NAMES = {"id2label": {0: "a", 1: "b", 2: "c"}, "label2id": {"a": 0, "b": 1, "c": 2}}
REFUSAL = r"Class names \(id2label / label2id: 3\) sets the classes of {classifier}; the outputs of {regressor} are `num_targets`: pass num_targets=3"


def _fusion_regressor():
    from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression

    return CiTrusFusionForRegression


def _encoders() -> dict[str, CiTrusModel]:
    return {"a": CiTrusModel(tiny_config()), "b": CiTrusModel(tiny_config())}


def _routes(tmp_path, keyword: str):
    """(regressor class name, build) for every route a class keyword reaches a regressor by."""
    from citrus_hf import AutoModelForTimeSeriesRegression
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig

    names = NAMES[keyword]
    fusion = _fusion_regressor()
    fusion.from_encoders(_encoders()).save_pretrained(tmp_path / "fusion")
    CiTrusForRegression(tiny_config()).save_pretrained(tmp_path / "single")
    return [
        ("CiTrusForRegression", lambda: CiTrusForRegression(tiny_config(**{keyword: names}))),
        ("CiTrusForRegression", lambda: CiTrusForRegression.from_pretrained(tmp_path / "single", **{keyword: names})),
        (
            "CiTrusForRegression",
            lambda: AutoModelForTimeSeriesRegression.from_pretrained(tmp_path / "single", **{keyword: names}),
        ),
        (
            "CiTrusForRegression",
            lambda: CiTrusForRegression.from_pretrained(
                tmp_path / "single", config=CiTrusConfig.from_pretrained(tmp_path / "single", **{keyword: names})
            ),
        ),
        ("CiTrusFusionForRegression", lambda: fusion.from_encoders(_encoders(), **{keyword: names})),
        (
            "CiTrusFusionForRegression",
            lambda: fusion(
                CiTrusFusionConfig(modality_configs={"a": tiny_config(), "b": tiny_config()}, **{keyword: names})
            ),
        ),
        ("CiTrusFusionForRegression", lambda: fusion.from_pretrained(tmp_path / "fusion", **{keyword: names})),
        (
            "CiTrusFusionForRegression",
            lambda: AutoModelForTimeSeriesRegression.from_pretrained(tmp_path / "fusion", **{keyword: names}),
        ),
    ]


@pytest.mark.parametrize("keyword", sorted(NAMES))
def test_class_names_given_to_a_regressor_are_refused_on_every_route(tmp_path, keyword):
    for regressor, build in _routes(tmp_path, keyword):
        classifier = regressor.replace("ForRegression", "ForSequenceClassification")
        with pytest.raises(ValueError, match=REFUSAL.format(classifier=classifier, regressor=regressor)):
            build()


def test_class_names_beside_num_targets_still_build_the_regressor():
    """As `num_labels` beside `num_targets`: the outputs are stated, so the names are the user's own business."""
    model = CiTrusForRegression(tiny_config(num_targets=3, id2label=NAMES["id2label"]))
    assert model.regressor.out_features == 3


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
