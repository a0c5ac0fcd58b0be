"""Audit 64 (the truth of the numbers the package reports): an arm or dataset listed twice counted as extra seeds,
validation-scored results published as test-split results, NaN logits scored as class-0 predictions, and gap tables
whose budgets interleave after a resumed protocol."""

from __future__ import annotations

import math

import numpy as np
import pytest
from huggingface_hub import ModelCard
from tiny_configs import tiny_config

from citrus_hf.evaluation import ProtocolConfig
from citrus_hf.evaluation.records import parse_eval_results
from citrus_hf.evaluation.report import baseline_gaps, markdown_tables, summarize, write_report
from citrus_hf.training.metrics import classification_metrics, compute_metrics_fn, multi_label_metrics


def _run(arm, budget, order, seed, value, dataset="basic_motions", scored_on="test"):
    metrics = dict(accuracy=value, balanced_accuracy=value, macro_f1=value, auroc=value, num_classes=4)
    return dict(dataset=dataset, task="classification", arm=arm, budget=budget, budget_order=order, seed=seed,
                n_train=4, scored_on=scored_on, **metrics)  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(arms=["prior", "prior"], datasets=["basic_motions"]), "--arms lists 'prior' and 'prior', which are "),
        (dict(arms=["prior"], datasets=["hr_ecg", "hr_ecg"]), "--datasets lists 'hr_ecg' and 'hr_ecg', which are "),
    ],
)
def test_an_arm_or_dataset_listed_twice_is_refused(settings, message):
    """Each copy was fitted on every draw and pooled into one cell: "seeds: 4" for 2 seeds, a smaller std."""
    with pytest.raises(ValueError, match=message + ".*counted twice in the mean and spread; list it once"):
        ProtocolConfig(seeds=[0, 1], budgets=["5"], **settings)


def test_validation_scored_results_are_recorded_as_validation(tmp_path):
    """Card records and `model-index` said split "test" for runs scored with --score-split validation."""
    from citrus_hf import CiTrusForSequenceClassification, build_model_card

    runs = [_run(arm, "1/class", 0, seed, 0.5 + seed / 10, scored_on="validation")
            for arm in ("citrus-small", "prior") for seed in (0, 1)]  # fmt: skip
    results = write_report(runs, tmp_path)["json"]
    assert {r.split for r in parse_eval_results(results, model_arm="citrus-small")} == {"validation"}
    model = CiTrusForSequenceClassification(tiny_config(num_labels=4))
    card = ModelCard(str(build_model_card(model, repo_id="me/c", eval_results=results, model_arm="citrus-small")))
    assert {entry.dataset_split for entry in card.data.eval_results} == {"validation"}
    # a summary written before its rows carried the split: results.json's runs say it
    summary = [{k: v for k, v in row.items() if k != "scored_on"} for row in summarize(runs)]
    records = parse_eval_results({"summary": summary, "runs": runs}, model_arm="citrus-small")
    assert {r.split for r in records} == {"validation"}
    # runs of both splits pooled in one row name no one split: refused, not published as either
    mixed = [*runs, _run("citrus-small", "1/class", 0, 2, 0.9)]
    with pytest.raises(ValueError, match="pool runs scored on the test/validation splits"):
        parse_eval_results({"summary": summarize(mixed)}, model_arm="citrus-small")


def test_non_finite_logits_are_not_scored_as_class_zero():
    """argmax read a row of NaN logits as class 0 (accuracy 0.75 here), `NaN > 0` every label as absent."""
    labels = np.array([0, 0, 0, 1])
    nan_logits = np.full((4, 2), np.nan, dtype=np.float32)
    assert all(math.isnan(value) for value in classification_metrics(nan_logits, labels).values())
    one_bad_row = np.array([[np.nan, np.nan], [0, 1], [1, 0], [0, 1.0]])
    assert all(math.isnan(value) for value in classification_metrics(one_bad_row, [0, 1, 0, 1]).values())
    assert all(math.isnan(value) for value in classification_metrics(np.full((4, 1), np.inf), labels).values())
    from transformers import EvalPrediction

    trainer_metrics = compute_metrics_fn("classification")(EvalPrediction(predictions=nan_logits, label_ids=labels))
    assert all(math.isnan(value) for value in trainer_metrics.values())
    multi = multi_label_metrics(np.full((2, 3), np.nan), np.zeros((2, 3)))
    assert set(multi) == {"accuracy", "hamming_accuracy", "macro_f1", "micro_f1", "auroc"}
    assert all(math.isnan(value) for value in multi.values())
    assert all(math.isnan(v) for v in classification_metrics(np.full((2, 3), -np.inf), [0, 1]).values())
    # -inf rules a class out (MiniRocket's score of a class absent from the draw), and decides a label: scored
    assert classification_metrics(np.array([[2.0, 0.0, -np.inf], [0.0, 2.0, -np.inf]]), [0, 1])["accuracy"] == 1.0
    assert multi_label_metrics(np.array([[np.inf, -np.inf]]), np.array([[1, 0]]))["accuracy"] == 1.0


def test_gap_tables_and_summary_order_budgets_as_the_main_tables():
    """Runs resumed from a command with another budget list carry that list's `budget_order` (20/class was 0 there):
    the gap tables and results.json's lists went 1/class, 20/class, 1/class, ..., 5/class."""
    runs = []
    for seed in (0, 1):
        for arm in ("citrus-small", "minirocket"):
            runs.append(_run(arm, "20/class", 0, seed, 0.9))  # fitted first, by `--budgets 20`
            runs += [_run(arm, "1/class", 0, seed, 0.3), _run(arm, "5/class", 1, seed, 0.6)]  # then `--budgets 1 5`
    expected = ["1/class", "5/class", "20/class"]
    assert [g["budget"] for g in baseline_gaps(runs)] == expected
    assert [e["budget"] for e in summarize(runs) if e["arm"] == "minirocket"] == expected
    markdown = markdown_tables(runs)
    gap_rows = [line.split(" | ")[1] for line in markdown.splitlines() if line.startswith("| basic_motions |")]
    assert gap_rows == expected
    # the main table, which kept the largest recorded position of each budget, read 1/class, 20/class, 5/class
    header = next(line for line in markdown.splitlines() if line.startswith("| arm |"))
    assert [cell.split(" (")[0] for cell in header.split(" | ")[1:]] == expected
