"""Evaluation outputs' leftovers of the per-recording scores and of regression targets.

1. results.png plotted the windows' scores only, though `citrus evaluate`'s runs carry per-recording ones
   (`recording_<metric>`, `scored_recordings`): a set whose runs were scored per recording now has a second panel of
   them beside its windows' panel (only such a set).
2. A model card built from `citrus evaluate`'s results listed the card's arm's `recording_*` rows in `model-index`,
   where a fine-tuning run's card keeps its per-recording figures in the evaluation note: now the same (model-index
   holds window metrics, the note the per-recording figures).
3. A regression target named like a classification metric ("accuracy": its metrics `mae_accuracy`, ...) made the
   error read as higher-is-better (`metric_greater_is_better` went by the name's ending): the Trainer kept the
   checkpoint of the largest error. The metric decides now, not the target's name.
4. `citrus finetune` on regression targets of tiny spread said nothing before training (only the model's first-batch
   warning, once training had started): a notice now says so before, with the fix, as for targets spread too widely.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from huggingface_hub import ModelCard
from test_figures_audit66 import _saved_figures
from test_stability_audit67 import _finetune_arguments, _regression_set
from test_trainer_habits import _arguments
from tiny_configs import tiny_config
from transformers import Trainer

from citrus_hf.training.metrics import compute_metrics_fn, metric_greater_is_better


def _run(dataset, arm, seed, window, recording=None, task="classification"):
    """A run record of `citrus evaluate`; `recording`: its per-recording score (None: a run without any)."""
    metrics = ("accuracy", "balanced_accuracy", "macro_f1", "auroc") if task == "classification" else ("mae",)
    run = dict(dataset=dataset, task=task, arm=arm, budget="1/class", budget_order=0, seed=seed, n_train=6,
               num_classes=2 if task == "classification" else None, **dict.fromkeys(metrics, window))  # fmt: skip
    if task == "regression":
        run |= {"rmse": window, "pearson_r": 0.5}
    if recording is not None:
        run |= {f"recording_{metric}": recording for metric in metrics} | {"scored_recordings": 4}
        if task == "regression":
            run |= {"recording_rmse": recording, "recording_pearson_r": 0.5}
    return run


def _scored_runs():
    """ "set": MiniRocket and a CiTrus arm scored per recording too; "other": windows only."""
    runs = [_run("set", "minirocket", seed, 0.5, 0.5) for seed in (0, 1)]
    runs += [_run("set", "citrus-scratch", seed, 0.6 + 0.1 * seed, (1.0, 0.75)[seed]) for seed in (0, 1)]
    return runs + [_run("other", "minirocket", seed, 0.4) for seed in (0, 1)]


# ------------------------------------------------------------------------------------- 1. results.png per recording


def test_results_png_has_a_per_recording_panel_for_a_set_scored_per_recording(tmp_path, monkeypatch):
    from citrus_hf.evaluation.report import plot_results

    saved = _saved_figures(monkeypatch)
    plot_results(_scored_runs(), tmp_path / "results.png")
    panels = [axis for axis in saved[-1].axes if axis.get_visible()]
    titles = [axis.get_title().replace("\n", " ") for axis in panels]
    assert titles == [
        "other (classification)",
        "set (classification)",
        "set (classification) per recording, 4 recordings",
    ]
    assert panels[2].get_ylabel() == "test macro-F1 (%) per recording"
    # the per-recording panel's points are the arms' per-recording means (in %), the windows' panel's the windows'
    means = {bars.get_label(): bars.lines[0].get_ydata()[0] for bars in panels[2].containers}
    assert means == pytest.approx({"citrus-scratch": 87.5, "minirocket": 50.0})
    windows = {bars.get_label(): bars.lines[0].get_ydata()[0] for bars in panels[1].containers}
    assert windows == pytest.approx({"citrus-scratch": 65.0, "minirocket": 50.0})


def test_results_png_without_per_recording_scores_has_one_panel_a_set(tmp_path, monkeypatch):
    """(a guard: passes before the change too) runs without per-recording scores draw as before."""
    from citrus_hf.evaluation.report import plot_results

    saved = _saved_figures(monkeypatch)
    runs = [_run(dataset, "minirocket", seed, 0.5) for dataset in ("a", "b") for seed in (0, 1)]
    plot_results(runs, tmp_path / "results.png")
    assert [axis.get_title() for axis in saved[-1].axes if axis.get_visible()] == [
        "a (classification)",
        "b (classification)",
    ]


def test_the_per_recording_correlation_has_the_windows_digits():
    from citrus_hf.evaluation.report import format_mean_std

    assert format_mean_std(0.51234, 0.1, "recording_pearson_r") == format_mean_std(0.51234, 0.1, "pearson_r")


# ---------------------------------------------------------------------- 2. model cards from evaluate's per recording


def test_a_card_from_evaluate_results_keeps_per_recording_scores_out_of_the_model_index(tmp_path):
    from citrus_hf import CiTrusForSequenceClassification, build_model_card
    from citrus_hf.evaluation import write_report

    results = write_report(_scored_runs()[:4], tmp_path)["json"]
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    card = build_model_card(model, repo_id="me/citrus-set", eval_results=results, model_arm="citrus-scratch")
    reloaded = ModelCard(str(card))
    assert {entry.metric_type for entry in reloaded.data.eval_results} == {
        "accuracy",
        "balanced_accuracy",
        "macro_f1",
        "auroc",
    }
    # this model's per-recording figures are in the evaluation note, as a fine-tuning run's card has them
    assert (
        "Per recording (4 recordings of the test split of set, 6 labelled examples, mean over 2 seeds, "
        "each scored by the mean of its windows' probabilities, as `citrus predict` answers for a file): "
        "accuracy 0.8750 ± 0.18, balanced_accuracy 0.8750 ± 0.18, macro_f1 0.8750 ± 0.18, auroc 0.8750 ± 0.18."
    ) in reloaded.text
    rows = [line for line in reloaded.text.splitlines() if line.startswith("| set |")]
    assert not any("this model | recording_" in row for row in rows)
    # the baseline's rows stay in the table, labelled, as they never enter model-index
    assert any("baseline: minirocket | recording_macro_f1" in row for row in rows)


def test_a_regression_per_recording_row_is_not_kept_beside_a_classifier(tmp_path):
    from citrus_hf import CiTrusForRegression, CiTrusForSequenceClassification, build_model_card
    from citrus_hf.evaluation import write_report

    runs = [_run("set", arm, seed, 2.0, 1.5, task="regression") for arm in ("minirocket", "citrus-scratch")
            for seed in (0, 1)]  # fmt: skip
    results = write_report(runs, tmp_path)["json"]
    regressor = build_model_card(
        CiTrusForRegression(tiny_config()), repo_id="me/m", eval_results=results, model_arm="citrus-scratch"
    )
    assert "baseline: minirocket | recording_mae" in str(regressor)
    classifier = build_model_card(
        CiTrusForSequenceClassification(tiny_config(num_labels=2)), repo_id="me/m", previous_card=regressor
    )
    assert "recording_mae" not in str(classifier)


# ------------------------------------------------------------------------------- 3. the metric decides its direction


@pytest.mark.parametrize(
    ("name", "greater"),
    [
        ("eval_mae_accuracy", False),  # a target named "accuracy"
        ("eval_rmse_auroc", False),
        ("eval_holdout_mae_macro_f1", False),  # and an evaluation set's name before it
        ("test_mae_balanced_accuracy", False),
        ("eval_pearson_r_mae", True),  # the correlation of a target named "mae"
        ("eval_pearson_r_loss", True),  # (a target named "loss")
    ],
)
def test_a_targets_metric_direction_comes_from_the_metric_not_the_targets_name(name, greater):
    assert metric_greater_is_better(name) is greater


def test_the_trainer_minimises_the_error_of_a_target_named_accuracy(tmp_path, caplog):
    with caplog.at_level("WARNING"):
        trainer = Trainer(
            model=torch.nn.Linear(1, 1),
            args=_arguments(tmp_path, metric_for_best_model="eval_mae_accuracy"),
            compute_metrics=compute_metrics_fn("regression", target_names=["accuracy", "heart_rate"]),
        )
    assert trainer.args.greater_is_better is False and "greater_is_better is set to False" in caplog.text


# --------------------------------------------------------------------------------- 4. regression targets, tiny spread


def test_regression_targets_of_tiny_spread_are_warned_of_before_training(tmp_path, caplog):
    """Targets 0.001 to 0.005 (spread near 0.001) fine-tuned to a Pearson r near 0, with only the model's first-batch
    warning; the same targets x 10 trained (r 0.98)."""
    from citrus_hf.training.finetune import finetune, regression_target_notices

    dataset = _regression_set(tmp_path / "tiny", scale=1e-3)
    with caplog.at_level(logging.WARNING):
        finetune(_finetune_arguments(tmp_path / "run", dataset))
    messages = [record.getMessage() for record in caplog.records]
    notice = next(index for index, message in enumerate(messages) if "spread over only 0.000925" in message)
    # said before training, ahead of the model's own warning at the first training batch
    assert notice < next(index for index, message in enumerate(messages) if "first training batch" in message)
    assert "multiply them by 10000" in messages[notice] and "--recipe probe" in messages[notice]
    frequencies = np.random.default_rng(0).uniform(1, 5, 20)
    assert regression_target_notices(1e-2 * frequencies, trains=True) == []  # trains
    assert regression_target_notices(1e-3 * frequencies, trains=False) == []  # the probe fits any scale
    assert regression_target_notices(np.full(20, 1e-3), trains=True) == []  # no spread: nothing to tell apart
