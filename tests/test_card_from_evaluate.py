"""A model card takes its `model-index` from what `citrus evaluate` writes (results.json), for the chosen arm."""

from __future__ import annotations

import pytest
from huggingface_hub import ModelCard
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification, build_model_card
from citrus_hf.evaluation import write_report
from citrus_hf.evaluation.records import parse_eval_results


def _run(arm, seed, accuracy, auroc):
    metrics = dict(accuracy=accuracy, balanced_accuracy=accuracy, macro_f1=accuracy, auroc=auroc)
    return dict(dataset="basic_motions", task="classification", arm=arm, budget="1/class", budget_order=0,
                seed=seed, n_train=4, **metrics)  # fmt: skip


def test_card_model_index_from_evaluate_output(tmp_path):
    runs = [
        # AUROC undefined in every seed (one class in the test split): its mean is NaN and stays out of the card
        _run("citrus-time", 0, 0.9, float("nan")),
        _run("citrus-time", 1, 0.8, float("nan")),
        _run("citrus-scratch", 0, 0.5, 0.6),
        _run("citrus-scratch", 1, 0.7, 0.7),
    ]
    results = write_report(runs, tmp_path)["json"]

    records = parse_eval_results(results, model_arm="citrus-time")
    own = {r.metric: r for r in records if r.method is None}
    assert set(own) == {"accuracy", "balanced_accuracy", "macro_f1"}
    assert own["accuracy"].value == pytest.approx(0.85) and own["accuracy"].label_budget == 4
    assert own["accuracy"].seeds == 2 and own["accuracy"].split == "test"
    assert {r.method for r in records if r.method} == {"citrus-scratch"}
    with pytest.raises(ValueError, match="not in these evaluation results"):
        parse_eval_results(results, model_arm="citrus-fourier")

    model = CiTrusForSequenceClassification(tiny_config(num_labels=4))
    card = build_model_card(model, repo_id="me/citrus-har", eval_results=results, model_arm="citrus-time")
    reloaded = ModelCard(str(card))
    assert {(e.dataset_name, e.metric_type) for e in reloaded.data.eval_results} == {
        ("basic_motions", m) for m in ("accuracy", "balanced_accuracy", "macro_f1")
    }
    assert "citrus-scratch" in reloaded.text  # the baseline stays in the card's table


def test_pretraining_card_describes_channels_without_a_head():
    from citrus_hf import CiTrusForPretraining

    card = str(build_model_card(CiTrusForPretraining(tiny_config()), repo_id="me/citrus-eeg"))
    assert "the encoder treats every channel on its own, so any channel count works" in card
    assert "the head concatenates" not in card
    classifier_card = str(build_model_card(CiTrusForSequenceClassification(tiny_config(num_labels=2)), repo_id="me/c"))
    assert "the head concatenates channels, so exactly 1" in classifier_card
