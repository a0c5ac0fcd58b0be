"""Session 69 (regnames2): a user's own regression data names its target, and multi-target metrics name theirs.

- A set of one's own (a folder with a metadata.csv, data files, a save_to_disk folder) holds its target in a column
  called `target`, so a regressor `citrus finetune` fitted on it said `target` / `target_0` everywhere, with no way to
  name it but editing the saved config. `--target-names heart_rate` (`FinetuneArguments.target_names`) names it, on
  every data route, into the fine-tuned model's `id2label` (`config.target_names`); names of another count than the
  set's one target, and names given for a classification set, are refused before the data is read or fitted.
- `regression_metrics` / `compute_metrics_fn` reported a multi-target regressor's per-target metrics as `mae_0`,
  `pearson_r_1`: given the names (`target_names=model.config.target_names`), they say `mae_heart_rate`, and the
  checkpoint choice (`metric_greater_is_better`) reads such a name as an error, lower better, as it did `mae_0`.
"""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf import CiTrusForRegression


def _own_regression_set(path):
    """A save_to_disk set of one's own: 1-channel 2 s rows at 100 Hz with a float `target` column."""
    import datasets

    rng = np.random.default_rng(0)

    def split(rows):
        return datasets.Dataset.from_dict(
            {
                "input_values": rng.standard_normal((rows, 200)).astype(np.float32).tolist(),
                "sampling_rate": [100.0] * rows,
                "target": rng.uniform(60, 90, rows).tolist(),
            }
        )

    datasets.DatasetDict(train=split(16), test=split(6)).save_to_disk(str(path))
    return str(path)


def _finetune(tmp_path, *extra):
    from citrus_hf.commands.main import main

    data = _own_regression_set(tmp_path / "own")
    argv = ["finetune", "--dataset", data, "--model-config", "tiny", "--recipe", "probe", "--no-show-progress"]
    return main([*argv, "--output-dir", str(tmp_path / "run"), *extra])


def test_target_names_name_the_target_of_a_set_of_ones_own(tmp_path):
    assert _finetune(tmp_path, "--target-names", "heart_rate") == 0
    assert CiTrusForRegression.from_pretrained(tmp_path / "run").config.target_names == ["heart_rate"]


def test_a_set_of_ones_own_without_target_names_stays_unnamed(tmp_path):
    assert _finetune(tmp_path) == 0
    assert CiTrusForRegression.from_pretrained(tmp_path / "run").config.target_names is None


def test_names_of_another_count_than_the_targets_are_refused(tmp_path):
    from citrus_hf.training.arguments import FinetuneArguments

    with pytest.raises(ValueError, match=r"--target-names gives 2 names \('hr', 'br'\), and citrus finetune fits 1"):
        FinetuneArguments(output_dir=str(tmp_path / "run"), dataset="hr_ecg", target_names=["hr", "br"])
    with pytest.raises(ValueError, match=r"--target-names gives an empty name"):
        FinetuneArguments(output_dir=str(tmp_path / "run"), dataset="hr_ecg", target_names=[" "])


def test_target_names_for_a_classification_set_are_refused(tmp_path):
    import datasets

    rng = np.random.default_rng(0)
    rows = {
        "input_values": rng.standard_normal((8, 200)).astype(np.float32).tolist(),
        "sampling_rate": [100.0] * 8,
        "label": [0, 1] * 4,
    }
    held_out = {**rows, "input_values": rng.standard_normal((8, 200)).astype(np.float32).tolist()}
    datasets.DatasetDict(
        train=datasets.Dataset.from_dict(rows), test=datasets.Dataset.from_dict(held_out)
    ).save_to_disk(str(tmp_path / "cls"))
    from citrus_hf.training.arguments import FinetuneArguments
    from citrus_hf.training.finetune import finetune

    arguments = FinetuneArguments(
        output_dir=str(tmp_path / "run"), dataset=str(tmp_path / "cls"), model_config="tiny", target_names=["hr"]
    )
    with pytest.raises(ValueError, match=r"--target-names names a regression set's target.*classification set"):
        finetune(arguments)
    assert not (tmp_path / "run" / "config.json").exists()


def test_target_names_name_the_per_target_metrics():
    from citrus_hf.training.metrics import compute_metrics_fn, regression_metrics

    rng = np.random.default_rng(0)
    targets = rng.standard_normal((10, 2))
    predictions = targets + rng.standard_normal((10, 2)) * 0.1
    named = regression_metrics(predictions, targets, target_names=["heart_rate", "breathing_rate"])
    plain = regression_metrics(predictions, targets)
    assert set(named) == {"mae", "rmse", "pearson_r"} | {
        f"{metric}_{name}" for metric in ("mae", "rmse", "pearson_r") for name in ("heart_rate", "breathing_rate")
    }
    assert named["mae_breathing_rate"] == plain["mae_1"] and named["mae"] == plain["mae"]
    # one target: the plain names, named or not (what cards, finetune_results.json and --metric-for-best-model read)
    assert set(regression_metrics(predictions[:, 0], targets[:, 0], target_names=["heart_rate"])) == {
        "mae",
        "rmse",
        "pearson_r",
    }
    from transformers import EvalPrediction

    scored = compute_metrics_fn("regression", target_names=["heart_rate", "breathing_rate"])(
        EvalPrediction(predictions=predictions, label_ids=targets)
    )
    assert scored["pearson_r_heart_rate"] == plain["pearson_r_0"]
    with pytest.raises(ValueError, match=r"target_names gives 1 name \('heart_rate'\) for 2 targets"):
        regression_metrics(predictions, targets, target_names=["heart_rate"])


@pytest.mark.parametrize("name", ["eval_mae_heart_rate", "rmse_breathing_rate", "eval_holdout_mae_heart_rate"])
def test_a_named_targets_error_is_lower_better(name):
    from citrus_hf.training.metrics import metric_greater_is_better

    assert not metric_greater_is_better(name)
    assert metric_greater_is_better(name.replace("rmse", "pearson_r").replace("mae", "pearson_r"))
