"""Evaluation-protocol leftovers noticed in session 75, settled (session 76): each test names what a user met before.

1. `--class-weight balanced` changed every arm's run signature on a regression set, where class weights mean
   nothing: its recorded runs were fitted again for nothing. A set's runs now carry the signature of their set's task.
2. A windowed set of one's own beside `--select-on-validation` changed PatchTST's signature even where the set's
   validation split is its own (counted row by row, as every run did): judged per set now, from its splits.
3. evaluate's notice of targets a fine-tuning cannot fit at their scale advised `--recipe probe` where the only arm
   fitting with steps was PatchTST's: the advice names the arms it helps now.
6. Several regression targets were pooled into one spread for that notice: each is judged on its own now, named.
4. A nested `finetune: {show_progress: true}` in an evaluate settings file was dropped without a word: said now, as a
   nested seed is, naming the protocol's own switch.
5. A `Trainer`'s metric direction came from words of the whole name: `eval_mae_cohort_accuracy` (an evaluation set
   "mae_cohort") was minimised, and `pearson_r_val_loss` (a target "val_loss") stayed minimised as transformers has
   it. The evaluation sets' and targets' names are read as such now, and either direction is set when not given.
7. results.png placed its panels one after the other, four a row: a set's windows' and recordings' panels split
   across rows (the recordings' under another set's). A set's panels now share a row.
"""

from __future__ import annotations

import logging

import numpy as np

from citrus_hf.evaluation import ProtocolConfig, run_protocol
from citrus_hf.vocabulary_citrus import CLASSIFICATION, REGRESSION


def _regression_folder(folder, targets_per_row=1, seed=0):
    """A small regression set of one's own (save_to_disk): 12 train and 12 test 2-channel 200-sample windows at
    100 Hz; `targets_per_row` targets each (a list per row where more than one)."""
    import datasets

    rng = np.random.default_rng(seed)

    def rows(count):
        values = [rng.standard_normal((2, 200)).astype(np.float32) for _ in range(count)]
        targets = rng.uniform(50.0, 90.0, (count, targets_per_row))
        target = targets[:, 0].tolist() if targets_per_row == 1 else targets.tolist()
        return {"input_values": values, "sampling_rate": [100.0] * count, "target": target}

    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(rows(12)), "test": datasets.Dataset.from_dict(rows(12))}
    ).save_to_disk(str(folder))
    return str(folder)


# ------------------------------------------------------------------ 1. class weights on a regression-only protocol


def test_class_weights_leave_the_run_signatures_of_regression_sets_as_they_were():
    """Each arm's signature on a regression set is the unweighted one under `--class-weight balanced`; a
    classification set's still differs where the arm weighs classes (MiniRocket, PatchTST, the CiTrus arms)."""
    arms = ["citrus-scratch", "minirocket", "patchtst-scratch", "prior"]
    plain = ProtocolConfig(datasets=["hr_ecg"], arms=arms, model_config="tiny")
    weighted = ProtocolConfig(datasets=["hr_ecg"], arms=arms, model_config="tiny", class_weight="balanced")
    assert weighted.run_signatures(REGRESSION) == plain.run_signatures(REGRESSION) == plain.run_signatures()
    classified = weighted.run_signatures(CLASSIFICATION)
    assert all(classified[arm] != plain.run_signatures(CLASSIFICATION)[arm] for arm in arms)
    # without a set's task (settings alone), any set may be a classification one: as before
    assert weighted.run_signatures() == classified


def test_a_regression_set_resumes_its_runs_under_class_weights(tmp_path, caplog):
    """The runs a regression set recorded without class weights are reused under `--class-weight balanced` (they
    were fitted again, each arm's signature having changed for a setting that changes nothing of theirs)."""
    folder = _regression_folder(tmp_path / "mine")
    settings = dict(output_dir=str(tmp_path / "evaluation"), datasets=[folder], budgets=["2"], seeds=[0])
    run_protocol(ProtocolConfig(**settings, arms=["prior"], show_progress=False))
    with caplog.at_level(logging.WARNING, logger="citrus_hf.evaluation.protocol"):
        run_protocol(ProtocolConfig(**settings, arms=["prior"], class_weight="balanced", show_progress=False))
    assert "Reused 1 of 1 runs" in caplog.text
    assert len((tmp_path / "evaluation" / "runs.jsonl").read_text().splitlines()) == 1


# ------------------------------------------------- 2. early stopping on a windowed set's own validation split


def test_patchtst_keeps_its_signature_on_a_set_whose_validation_split_is_its_own(tmp_path):
    """PatchTST's early stopping counts a validation split's windows by the examples they were cut from only where
    the split was carved from a windowed training split; a set's own validation split counts its rows, as every run
    did, so its runs keep their signature. A carved windowed split still changes it."""
    folder = _regression_folder(tmp_path / "mine")  # (the settings check the folder is there, not its task)
    config = ProtocolConfig(
        datasets=[folder],
        dataset_options={folder: {"window_seconds": 2.0}},
        select_on_validation=True,
        arms=["citrus-scratch", "patchtst-scratch"],
        model_config="tiny",
    )
    unwindowed = config.run_signatures(CLASSIFICATION, windowed_validation=False)
    assert unwindowed["patchtst-scratch"] == config.signature()
    assert config.run_signatures(CLASSIFICATION, windowed_validation=True)["patchtst-scratch"] != config.signature()
    assert {unwindowed["patchtst-scratch"]} < config.possible_run_signatures()["patchtst-scratch"]


# ---------------------------------------------- 3. and 6. the notices of targets a fine-tuning cannot fit as they are


def test_the_spread_notice_advises_the_probe_only_to_the_arms_it_helps():
    """evaluate's notice of a spread a fine-tuning cannot fit advised `--recipe probe` to a protocol whose only arm
    fitting with steps was PatchTST's, which no recipe changes: the advice now names the arms it helps, and says
    which fit with steps whatever --recipe says."""
    from citrus_hf.evaluation.protocol import _alternative_to_rescaling
    from citrus_hf.training.finetune import PROBE_ALTERNATIVE, regression_target_notices

    alone = _alternative_to_rescaling(["patchtst-scratch"])
    assert "--recipe probe" not in alone and "patchtst-scratch fits with optimizer steps whatever --recipe" in alone
    both = _alternative_to_rescaling(["citrus-scratch", "patchtst-scratch"])
    assert "fit citrus-scratch with the probe (--recipe probe)" in both and "patchtst-scratch fits" in both
    assert _alternative_to_rescaling(["citrus-scratch"]) == PROBE_ALTERNATIVE  # (what citrus finetune says)
    tiny = 1e-3 * np.random.default_rng(0).uniform(1, 5, 20)
    (notice,) = regression_target_notices(tiny, trains=True, alternative=alone)
    assert notice.endswith(
        "(patchtst-scratch fits with optimizer steps whatever --recipe says: the probe is no fix there)"
    )


def test_several_targets_are_judged_each_on_its_own():
    """Two targets, heart rates (60 to 90) and one of tiny spread (0.001 to 0.005), were pooled into one spread of
    about 35: the tiny one went unsaid. Each is judged on its own now, named; a fit one says nothing."""
    from citrus_hf.training.finetune import regression_target_notices

    rng = np.random.default_rng(0)
    targets = np.stack([rng.uniform(60, 90, 20), 1e-3 * rng.uniform(1, 5, 20)], axis=1)
    (notice,) = regression_target_notices(targets, trains=True, target_names=["heart_rate", "tiny"])
    assert notice.startswith("the values of regression target 'tiny' spread over only")
    assert "Rescale target 'tiny' (multiply them by 1000," in notice
    (unnamed,) = regression_target_notices(targets, trains=True)
    assert unnamed.startswith("the values of regression target 1 spread over only")
    assert regression_target_notices(targets[:, :1], trains=True) == []  # (n, 1): one target, as (n,)


# --------------------------------------------------------- 4. a nested finetune show_progress in a settings file


def test_a_nested_show_progress_of_the_evaluate_settings_file_is_said_to_be_ignored(tmp_path, caplog):
    """`finetune: {show_progress: true}` asked for progress bars that no run shows (the protocol's bar is the top-level
    `show_progress`), and was dropped without a word; it is said now, as a nested seed is. The default (every
    protocol.json the command wrote) says nothing."""
    from citrus_hf.commands import evaluate

    settings = tmp_path / "evaluate.yaml"
    settings.write_text("datasets: [basic_motions]\noutput_dir: out\nfinetune:\n  show_progress: true\n")
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        parsed = evaluate.build_parser().parse([str(settings)])
    assert parsed.finetune.show_progress is False
    said = "sets finetune: show_progress: True, which citrus evaluate ignores: no run shows a progress bar of its own"
    assert said in caplog.text and "(--show-progress / --no-show-progress)" in caplog.text
    caplog.clear()
    settings.write_text("datasets: [basic_motions]\noutput_dir: out\nfinetune:\n  show_progress: false\n")
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        evaluate.build_parser().parse([str(settings)])
    assert "ignores" not in caplog.text


# ---------------------------------------------------------------------- 5. the metric decides its direction, only it


def test_evaluation_set_and_target_names_do_not_decide_a_metrics_direction():
    """The names of the evaluation sets and targets, where known, are read as names, never as metrics."""
    from citrus_hf.training.metrics import metric_greater_is_better

    assert metric_greater_is_better("eval_mae_cohort_accuracy", eval_sets=["mae_cohort"]) is True
    assert metric_greater_is_better("eval_mae_cohort_mae", eval_sets=["mae_cohort"]) is False
    assert metric_greater_is_better("eval_b_loss_pearson_r_val_loss", ["b", "b_loss"], ["val_loss"]) is True
    assert metric_greater_is_better("eval_rmse_accuracy", target_names=["accuracy"]) is False


def test_the_trainer_follows_the_metric_whatever_the_set_or_target_is_called(tmp_path, caplog):
    """`metric_for_best_model` of an evaluation set named "mae_cohort" (an accuracy) and of a target named "val_loss"
    (a correlation) kept the worst checkpoint: the first was minimised as an error, the second as transformers
    minimises every name ending in "loss". Each is maximised now, said in a warning; a value given is kept."""
    import torch
    from datasets import Dataset
    from test_trainer_habits import _arguments
    from transformers import Trainer

    from citrus_hf.training.metrics import compute_metrics_fn

    rows = Dataset.from_dict({"x": [[0.0]], "labels": [0]})
    with caplog.at_level(logging.WARNING):
        cohort = Trainer(
            model=torch.nn.Linear(1, 2),
            args=_arguments(tmp_path, metric_for_best_model="mae_cohort_accuracy", eval_strategy="no"),
            eval_dataset={"mae_cohort": rows},
            compute_metrics=compute_metrics_fn("classification"),
        )
        target = Trainer(
            model=torch.nn.Linear(1, 1),
            args=_arguments(tmp_path, metric_for_best_model="eval_pearson_r_val_loss"),
            compute_metrics=compute_metrics_fn("regression", target_names=["val_loss", "heart_rate"]),
        )
    assert cohort.args.greater_is_better is True and target.args.greater_is_better is True
    assert "'eval_pearson_r_val_loss' grows as the model improves: greater_is_better is set to True" in caplog.text
    given = Trainer(
        model=torch.nn.Linear(1, 1),
        args=_arguments(tmp_path, metric_for_best_model="eval_pearson_r_val_loss", greater_is_better=False),
        compute_metrics=compute_metrics_fn("regression", target_names=["val_loss", "heart_rate"]),
    )
    assert given.args.greater_is_better is False


# ------------------------------------------------------------------- 7. results.png keeps a set's two panels together


def test_a_sets_two_panels_share_a_row_of_results_png():
    """Sets a (windows only), b, c and d (windows and recordings each): placed one after the other, c's two panels
    took the last place of the first row and the first of the second. A pair that does not fit moves on whole."""
    from citrus_hf.evaluation.report import _panel_places

    panels = [("a", "macro_f1", []), *((name, metric, []) for name in "bcd" for metric in ("macro_f1", "r"))]
    assert _panel_places(panels, 4) == [0, 1, 2, 4, 5, 6, 7]
    assert _panel_places(panels[1:], 4) == [0, 1, 2, 3, 4, 5]  # pairs that fit are placed as before
    assert _panel_places(panels[:2], 2) == [0, 1]
