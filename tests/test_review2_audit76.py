"""Review of session 76's evaluation, training-hook and publishing work (session 76, review2): each test names what a
user met before.

1. A set's runs carry the signature of their set's task and validation split since session 76: the runs a regression
   set recorded under `--class-weight balanced` before then carry the settings' signature (class weights in it), and
   `citrus evaluate --resume` fitted every one of them again. They are reused now, as they were before.
2. The `Trainer` hook turned transformers' minimising of a metric named "...loss" into maximising wherever the name
   read as a regression metric's followed by more: a user's own `compute_metrics` metric "pearson_r_loss" (a loss)
   of a CiTrus model was maximised, keeping the worst checkpoint, with a warning. Only a target known to be named so
   (`compute_metrics_fn`'s) turns it now; a user's own such metric is minimised silently, as before session 76.
3. `ProtocolConfig(finetune=TrainerSettings(...))` wrote TrainerSettings' show_progress (on, used by no run) to
   protocol.json, and its rerun said that setting, never given, was ignored. The protocol keeps it off now.
4. Reading an evaluation set's name out of a metric's name stripped "eval_" and then "test_": a set named
   "test_mae_cohort" lost its first word, was not found, and its accuracy was minimised as an error.
"""

from __future__ import annotations

import json
import logging

from test_evalnoted_audit76 import _regression_folder

from citrus_hf.evaluation import ProtocolConfig, run_protocol
from citrus_hf.vocabulary_citrus import REGRESSION

# ------------------------------------------------- 1. runs recorded under the settings' signature stay reusable


def test_runs_recorded_under_the_settings_signature_are_reused_on_a_regression_set(tmp_path, caplog):
    """A regression set's run recorded under `--class-weight balanced` before a set's runs had a signature of their
    own carries `run_signatures()` (class weights in it): the resume reuses it rather than fitting it again."""
    folder = _regression_folder(tmp_path / "mine")
    settings = dict(
        output_dir=str(tmp_path / "evaluation"),
        datasets=[folder],
        budgets=["2"],
        seeds=[0],
        arms=["prior"],
        class_weight="balanced",
        show_progress=False,
    )
    run_protocol(ProtocolConfig(**settings))
    runs = tmp_path / "evaluation" / "runs.jsonl"
    recorded = json.loads(runs.read_text())
    legacy = ProtocolConfig(**settings).run_signatures()["prior"]
    assert recorded["signature"] == ProtocolConfig(**settings).run_signatures(REGRESSION)["prior"] != legacy
    runs.write_text(json.dumps({**recorded, "signature": legacy}) + "\n")  # as the package wrote it before
    with caplog.at_level(logging.WARNING, logger="citrus_hf.evaluation.protocol"):
        run_protocol(ProtocolConfig(**settings))
    assert "Reused 1 of 1 runs" in caplog.text
    assert len(runs.read_text().splitlines()) == 1


def test_every_published_few_shot_run_keeps_its_sets_signature():
    """Guard: the published few-shot runs (classification and regression sets, unweighted, no windowed set) carry the
    signature each set's runs are matched by (`run_signatures(task, windowed_validation=False)`), not only the
    settings' one that `test_benchmarks` checks."""
    from test_benchmarks import BENCHMARKS

    from citrus_hf.commands.evaluate import build_parser

    folder = BENCHMARKS / "results" / "few_shot"
    config = build_parser().parse([str(folder / "protocol.json")])
    last = {}  # each set's last run of each arm: the published table's (earlier weights' runs stay in the file)
    for line in (folder / "runs.jsonl").read_text().splitlines():
        run = json.loads(line)
        last[(run["dataset"], run["arm"])] = run
    by_task = {
        task: config.run_signatures(task, windowed_validation=False) for task in {r["task"] for r in last.values()}
    }
    assert REGRESSION in by_task
    for (dataset, arm), run in last.items():
        assert run["signature"] == by_task[run["task"]][arm], (dataset, arm)


# --------------------------------------- 2. a user's own metric ending in "loss" stays minimised, without a word


def test_a_users_own_metric_ending_in_loss_stays_minimised(tmp_path, caplog):
    """A CiTrus model's Trainer with a `compute_metrics` of the user's whose metric is "pearson_r_loss" keeps
    transformers' minimising of it, given or not, and says nothing; a target named "loss" of `compute_metrics_fn`
    is still a correlation, maximised."""
    from test_trainer_habits import _arguments
    from tiny_configs import tiny_config
    from transformers import Trainer

    from citrus_hf import CiTrusForRegression
    from citrus_hf.training.metrics import compute_metrics_fn

    def pearson_loss(prediction):  # 1 - r, as a loss
        return {"pearson_r_loss": 0.0}

    model = CiTrusForRegression(tiny_config())
    with caplog.at_level(logging.WARNING):
        own = Trainer(
            model=model, args=_arguments(tmp_path, metric_for_best_model="pearson_r_loss"), compute_metrics=pearson_loss
        )
        given = Trainer(
            model=model,
            args=_arguments(tmp_path, metric_for_best_model="pearson_r_loss", greater_is_better=False),
            compute_metrics=pearson_loss,
        )
    assert own.args.greater_is_better is False and given.args.greater_is_better is False
    assert "pearson_r_loss" not in caplog.text
    target = Trainer(
        model=model,
        args=_arguments(tmp_path, metric_for_best_model="pearson_r_loss"),
        compute_metrics=compute_metrics_fn(REGRESSION, target_names=["loss"]),
    )
    assert target.args.greater_is_better is True


# ------------------------------------------ 3. protocol.json of a Python ProtocolConfig reruns without a false notice


def test_a_protocol_json_of_python_trainer_settings_reruns_without_a_word(tmp_path, caplog):
    """`ProtocolConfig(finetune=TrainerSettings(learning_rate=...))` leaves TrainerSettings' show_progress on, which
    no run uses: protocol.json held it, and `citrus evaluate FOLDER/protocol.json` said the file's
    `finetune: show_progress: True`, never given, was ignored. The protocol keeps it off now."""
    from citrus_hf.commands.evaluate import build_parser
    from citrus_hf.training.settings import TrainerSettings

    folder = _regression_folder(tmp_path / "mine")
    run_protocol(
        ProtocolConfig(
            output_dir=str(tmp_path / "evaluation"),
            datasets=[folder],
            budgets=["2"],
            seeds=[0],
            arms=["prior"],
            show_progress=False,
            finetune=TrainerSettings(learning_rate=3e-4),
        )
    )
    with caplog.at_level(logging.WARNING, logger="citrus_hf.commands.parser"):
        config = build_parser().parse([str(tmp_path / "evaluation" / "protocol.json")])
    assert "ignores" not in caplog.text
    assert config.finetune.learning_rate == 3e-4 and config.finetune.show_progress is False


# ------------------------------------------------ 4. an evaluation set whose name starts with "test_"


def test_an_evaluation_set_named_test_something_is_read_whole():
    """`eval_test_mae_cohort_accuracy` of the evaluation set "test_mae_cohort" is an accuracy (maximised); the
    "test_" of the set's name was stripped as a second metric prefix, and "mae" decided."""
    from citrus_hf.training.metrics import metric_greater_is_better

    assert metric_greater_is_better("eval_test_mae_cohort_accuracy", eval_sets=["test_mae_cohort"]) is True
    assert metric_greater_is_better("eval_test_accuracy_mae", eval_sets=["test_accuracy"]) is False
    assert metric_greater_is_better("eval_test_mae", eval_sets=["test"]) is False
    assert metric_greater_is_better("test_pearson_r") is True
