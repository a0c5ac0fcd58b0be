"""What a LoRA adapter's card says must hold as a full checkpoint's card does (an audit of the Hub card traps, second
round): a classifier trained as a regressor is described as a regressor, and the run's results table is a table, with
the metrics it could not compute and the notes on its test split that the full card carries."""

from __future__ import annotations

import json

from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.publishing.cards import add_adapter_run_records
from citrus_hf.training.lora import adapter_card, apply_lora


def test_the_adapter_card_of_a_classifier_trained_as_a_regressor_names_targets_not_classes():
    """`problem_type="regression"` makes a `CiTrusForSequenceClassification` a regressor of `num_labels` outputs, as
    its full card says ("A CiTrus regressor (2 targets)"); its adapter's card said "for 2 classes: LABEL_0, LABEL_1"."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, problem_type="regression"))
    card = str(adapter_card(apply_lora(model, verbose=False), "me/regressor-adapter"))
    assert "classes" not in card and "LABEL_0" not in card
    assert "for 2 regression target(s)" in card


def _lora_run(folder, dataset: str):
    """A LoRA fine-tuning run's records in `folder`: on `dataset` (a local folder), whose test split lacks one of the
    model's four classes, so that AUROC was undefined (written as null)."""
    folder.mkdir()
    results = {
        "task": "classification",
        "recipe": "lora",
        "test_metrics": {"accuracy": 0.75, "macro_f1": 0.5, "auroc": None},
        "num_train": 8,
        "test_classes": {"classes": ["a", "b", "c", "d"], "support": [5, 5, 5, 0], "absent": ["d"]},
        "arguments": {"dataset": dataset, "lora": True, "label_budget": "2", "recipe": "lora"},
        "local_paths": {"dataset": dataset},
    }
    (folder / "finetune_results.json").write_text(json.dumps(results), encoding="utf-8")
    return folder


def test_the_adapter_cards_results_table_escapes_its_cells_and_keeps_what_the_run_could_not_measure(tmp_path):
    """The adapter card's results table wrote a dataset folder named `a|b` as two cells (the row one column too
    many), and left out the run's undefined (NaN) metrics and the notes on its test split (a class it lacks), which
    the full card's table and note carry: the card showed only the metrics that came out."""
    run = _lora_run(tmp_path / "run", "data/a|b")
    peft_model = apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=4)), verbose=False)
    card = adapter_card(peft_model, "me/adapter")
    add_adapter_run_records(card, peft_model.get_base_model(), run, "me/adapter")
    lines = card.text[card.text.index("## Results") :].splitlines()
    rows = [line for line in lines[3:] if line.startswith("| data/")]
    assert rows and all(line.count("|") - line.count("\\|") == 6 for line in rows), rows
    assert any("auroc" in line and "NaN (undefined)" in line for line in rows)
    assert "has no example of class(es) 'd'" in card.text
    # the model-index holds numbers only
    assert {result.metric_type for result in card.data.eval_results} == {"accuracy", "macro_f1"}


def test_the_adapter_card_links_its_base_on_the_hub_it_is_published_to(monkeypatch):
    """The adapter card linked its Hub base to https://huggingface.co/<base> whatever `HF_ENDPOINT` said, so an adapter
    published to a private Hub (an enterprise or local endpoint) linked a page of another site, where that base is
    missing or is someone else's. It links the endpoint's page, as the push's own commit URL does."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "https://hub.example.org")
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    model.name_or_path = "me/base"  # loaded from the Hub: the adapter records it as its base
    card = str(adapter_card(apply_lora(model, verbose=False), "me/adapter"))
    assert "[me/base](https://hub.example.org/me/base)" in card
    assert "huggingface.co" not in card
