"""A re-push without evaluation results dropped the baseline rows an earlier push had put in the card: the new card
keeps the rows of the repository's card it does not replace, and says which of this model's it leaves out.

The card's rows are checked in this process; the push twice through `citrus push` runs in the Hub client of
tests/hub/test_hub_card_audit.py (test_citrus_push_again_without_eval_results_keeps_the_baselines).
"""

from __future__ import annotations

import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.evaluation.records import parse_eval_results
from citrus_hf.publishing import build_model_card
from citrus_hf.publishing.cards import _evaluation_rows, evaluation_table_rows

EVAL_RESULTS = {
    "results": [
        {"dataset": "Epilepsy", "split": "test", "metric": "accuracy", "value": 0.9312, "std": 0.012,
         "label_budget": 60, "seeds": 5},
        {"dataset": "Epilepsy", "split": "test", "metric": "accuracy", "value": 0.8801, "std": 0.02,
         "label_budget": 60, "seeds": 5, "method": "PatchTST (no pre-training)"},
        {"dataset": "Epilepsy", "metric": "macro_f1", "value": 12345.678, "method": "MiniRocket"},
    ]
}  # fmt: skip
BASELINE_ROW = "| Epilepsy | test | baseline: PatchTST (no pre-training) | accuracy | 60 | 5 | 0.8801 ± 0.02 |"
OWN_ROW = "| Epilepsy | test | this model | accuracy | 60 | 5 | 0.9312 ± 0.012 |"


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()


def test_the_evaluation_table_reads_back_as_it_was_written(model):
    """The rows a card keeps are read from the Markdown its template wrote (the card has no other copy of the
    baselines): every cell round-trips."""
    card = build_model_card(model, repo_id="me/citrus", eval_results=EVAL_RESULTS)
    written = [{k: str(v) for k, v in row.items()} for row in _evaluation_rows(parse_eval_results(EVAL_RESULTS))]
    assert evaluation_table_rows(card) == written
    assert evaluation_table_rows(str(card)) == written
    assert evaluation_table_rows(build_model_card(model, repo_id="me/citrus")) == []


def test_a_new_card_keeps_the_rows_it_does_not_replace(model, caplog):
    first = build_model_card(model, repo_id="me/citrus", eval_results=EVAL_RESULTS)
    with caplog.at_level("WARNING", logger="citrus_hf.publishing.cards"):
        second_card = build_model_card(model, repo_id="me/citrus", previous_card=first)
    second = str(second_card)
    assert BASELINE_ROW in second and "| Epilepsy |  | baseline: MiniRocket | macro_f1 |  |  | 1.235e+04 |" in second
    # this model's row described the weights being replaced: left out, and said
    assert OWN_ROW not in second and second_card.data.eval_results is None
    assert "lists results of this model that the new card does not give again (accuracy on Epilepsy test)" in (
        caplog.text
    )
    # a row of the new card replaces the previous card's row that measures the same
    rerun = [{"dataset": "Epilepsy", "metric": "macro_f1", "value": 0.5, "method": "MiniRocket"}]
    third = str(build_model_card(model, repo_id="me/citrus", previous_card=second, eval_results=rerun))
    assert "| Epilepsy |  | baseline: MiniRocket | macro_f1 |  |  | 0.5 |" in third and "1.235e+04" not in third
    assert BASELINE_ROW in third
