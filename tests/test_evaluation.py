"""Tests of citrus_hf.evaluation: the low-data protocol end to end on real data at a tiny budget (through the
`citrus evaluate` command line), its reports, resuming, and the PatchTST baseline.

Reads the offline real corpus; fetch it first with `citrus data fetch --offline-corpus`.
"""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch

from citrus_hf.commands.main import main as training_cli
from citrus_hf.evaluation import ARMS, markdown_tables, pretraining_gains, summarize, write_report
from citrus_hf.evaluation.baselines import PatchTSTCollator, build_patchtst_pretraining, build_patchtst_task_model
from citrus_hf.evaluation.report import baseline_gaps, collapsed_cells
from citrus_hf.loading import build_config


def _run(dataset, arm, budget, seed, value, task="classification", order=0):
    if task == "classification":
        metric = {"macro_f1": value, "balanced_accuracy": value, "accuracy": value, "num_classes": 4}
    else:
        metric = {"mae": value}
    return dict(dataset=dataset, task=task, arm=arm, budget=budget, budget_order=order, seed=seed, n_train=4, **metric)


def test_summary_gains_and_markdown_on_hand_made_runs(tmp_path):
    runs = [
        _run("har", "citrus-time", "1/class", 0, 0.8),
        _run("har", "citrus-time", "1/class", 1, 0.6),
        _run("har", "citrus-scratch", "1/class", 0, 0.5),
        _run("har", "citrus-scratch", "1/class", 1, 0.7),
        _run("har", "minirocket", "1/class", 0, 0.75),
        _run("har", "minirocket", "1/class", 1, 0.3),
        _run("hr", "citrus-time", "5 ex.", 0, 3.0, task="regression"),
        _run("hr", "citrus-scratch", "5 ex.", 0, 4.0, task="regression"),
    ]
    summary = {(e["dataset"], e["arm"]): e for e in summarize(runs)}
    assert summary[("har", "citrus-time")]["macro_f1_mean"] == pytest.approx(0.7)
    assert summary[("har", "citrus-time")]["macro_f1_std"] == pytest.approx(np.std([0.8, 0.6], ddof=1))
    gaps = {g["arm"]: g for g in baseline_gaps(runs)}
    # paired by seed against MiniRocket: +5 and +30 points for citrus-time, -25 and +40 for citrus-scratch
    assert gaps["citrus-time"]["gain_mean"] == pytest.approx(17.5) and gaps["citrus-time"]["wins"] == 2
    assert gaps["citrus-scratch"]["gain_mean"] == pytest.approx(7.5) and gaps["citrus-scratch"]["wins"] == 1
    # chance for 4 classes is 25 %: MiniRocket's 52.5 % mean is above 35 %, nothing collapses; a 30 % arm would
    assert collapsed_cells(runs) == []
    assert [c["arm"] for c in collapsed_cells(runs + [_run("har", "patchtst-scratch", "1/class", 0, 0.3)])] == [
        "patchtst-scratch"
    ]
    gains = {g["dataset"]: g for g in pretraining_gains(runs)}
    # paired by seed: +30 and -10 points
    assert gains["har"]["gain_mean"] == pytest.approx(10.0) and gains["har"]["wins"] == 1
    # lower MAE is better, so 3.0 vs 4.0 is a gain of +1
    assert gains["hr"]["gain_mean"] == pytest.approx(1.0) and gains["hr"]["wins"] == 1
    table = markdown_tables(runs)
    assert "| citrus-time | **70.0 ± 14.1** |" in table
    assert "| har | 1/class | citrus-time | minirocket | +17.50 ± 17.68 pts (macro-F1 (%)) | 2/2 seeds |" in table
    assert "| citrus-time | **3.00 ± 0.00** |" in table
    # arms tied at the best value shown are all bold (the first of them was, alone)
    tied = markdown_tables(runs + [_run("hr", "minirocket", "5 ex.", 0, 3.001, task="regression")])
    assert "| citrus-time | **3.00 ± 0.00** |" in tied and "| minirocket | **3.00 ± 0.00** |" in tied
    # the headings name the split the runs were scored on (runs without `scored_on` were scored on test)
    assert "## har (classification, test macro-F1 (%), mean ± sample std (ddof 1) over seeds)" in table
    on_validation = markdown_tables([{**run, "scored_on": "validation"} for run in runs])
    assert "## har (classification, validation macro-F1 (%)" in on_validation and ", test " not in on_validation
    paths = write_report(runs, tmp_path)
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="No runs"):
        write_report([], tmp_path)


def test_fusion_table_leaves_out_a_seed_without_a_value_as_the_protocol_tables_do():
    """A seed whose AUROC is undefined (one class in its test split) is left out of the fusion protocol's cell, as
    `summarize` leaves it out of the low-data protocol's; it used to turn the whole cell into n/a."""
    from citrus_hf.evaluation.multimodal import FusionProtocolResult, format_table

    result = FusionProtocolResult()
    for auroc in (0.8, math.nan, 0.6):
        result.add("fusion", "4/class", {"accuracy": 0.7, "auroc": auroc})
    mean, std = result.summary("fusion", "4/class", "auroc")
    assert mean == pytest.approx(0.7) and std == pytest.approx(np.std([0.8, 0.6], ddof=1))
    assert format_table(result, "auroc").splitlines()[-1] == "| fusion | 70.0 ± 14.1 |"
    runs = [
        _run("har", "citrus-time", "4/class", seed, 0.7) | {"auroc": a} for seed, a in enumerate((0.8, math.nan, 0.6))
    ]
    entry = summarize(runs)[0]
    assert (entry["auroc_mean"], entry["auroc_std"]) == (mean, std)
    result.add("eda", "4/class", {"accuracy": 0.5, "auroc": math.nan})  # no seed with a value: n/a
    assert format_table(result, "auroc").splitlines()[-1] == "| eda | n/a |"


def test_evaluate_tiny_budget_writes_every_output_with_every_arm(tmp_path):
    """`citrus evaluate` with every arm, pre-trained here for a few steps, on real HAR and heart-rate data."""
    output = tmp_path / "eval"
    arguments = [
        "evaluate", "--output-dir", str(output), "--datasets", "basic_motions", "hr_ecg", "--budgets", "1",
        "--dataset-budgets", "hr_ecg=2", "--seeds", "0", "--arms", *ARMS, "--model-config", "tiny", "--pretrain-steps", "2",
        "--pretrain-batch-size", "8", "--corpus-options", "window_seconds=10", "hop_seconds=10",
        "--max-steps", "2", "--eval-steps", "1", "--per-device-batch-size", "4", "--num-threads", "1", "--no-show-progress",
    ]  # fmt: skip
    assert training_cli(arguments) == 0

    document = json.loads((output / "results.json").read_text())
    runs = document["runs"]
    assert {(r["dataset"], r["arm"]) for r in runs} == {(d, a) for d in ("basic_motions", "hr_ecg") for a in ARMS}
    for run in runs:
        metrics = (
            ("accuracy", "balanced_accuracy", "macro_f1", "auroc")
            if run["task"] == "classification"
            else ("mae", "rmse")
        )
        assert all(math.isfinite(run[m]) for m in metrics), run
    assert {r["n_train"] for r in runs if r["dataset"] == "basic_motions"} == {4}  # 1 per class
    assert {(r["budget"], r["n_train"]) for r in runs if r["dataset"] == "hr_ecg"} == {("2 ex.", 2)}
    with open(output / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(runs) == 2 * len(ARMS)
    markdown = (output / "results.md").read_text()
    assert all(f"| {arm} |" in markdown for arm in ARMS)
    assert "Pre-training gain" in markdown
    assert (output / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the arms pre-trained by the protocol saved their checkpoints; the bundled one is read from the package
    pretrained_here = [name for name, arm in ARMS.items() if arm.pretrainable]
    assert pretrained_here and "citrus-small" not in pretrained_here
    assert all((output / "pretrained" / name / "model.safetensors").is_file() for name in pretrained_here)
    assert not (output / "pretrained" / "citrus-small").exists()
    # every fine-tuning run wrote its Trainer checkpoints under runs/, and only the numbers are kept
    assert (output / "runs").is_dir() and not any((output / "runs").iterdir())

    # Resuming with the same settings reuses every run and every pre-trained checkpoint.
    assert training_cli(arguments) == 0
    again = json.loads((output / "results.json").read_text())["runs"]
    assert again == runs


def test_patchtst_backbone_loads_strictly_from_pretraining(tmp_path):
    config = build_config("tiny")
    pretrained = build_patchtst_pretraining(config)
    pretrained.save_pretrained(tmp_path)
    classifier = build_patchtst_task_model("classification", 6, config, num_labels=4, checkpoint=tmp_path)
    for name, tensor in pretrained.model.state_dict().items():
        assert torch.equal(classifier.model.state_dict()[name], tensor), name
    batch = PatchTSTCollator("classification", config.patch_length)(
        [
            {
                "input_values": torch.randn(6, 100),
                "patch_mask": torch.ones(10, dtype=torch.int8),
                "labels": torch.tensor(1),
            }
            for _ in range(3)
        ]
    )
    assert batch["past_values"].shape == (3, 100, 6) and batch["past_observed_mask"].shape == (3, 100, 6)
    assert classifier(**batch).prediction_logits.shape == (3, 4)
    with pytest.raises(ValueError, match="Pre-train it with the same model config"):
        build_patchtst_task_model("regression", 1, build_config("tiny", context_length=200), checkpoint=tmp_path)


def test_protocol_rejects_unknown_arms_and_bad_settings():
    from citrus_hf.evaluation import ProtocolConfig

    with pytest.raises(ValueError, match="Unknown arm"):
        ProtocolConfig(arms=["citrus-magic"])
    with pytest.raises(ValueError, match="not pre-trained arms"):
        ProtocolConfig(checkpoints={"citrus-scratch": "x"})
    with pytest.raises(ValueError, match="normalization"):
        ProtocolConfig(normalization={"basic_motions": "global"})
    # a misspelt set is refused when the protocol is set up, not after the pre-training and the sets before it
    with pytest.raises(ValueError, match="'basic_motion' is neither a folder nor a registered dataset"):
        ProtocolConfig(datasets=["eeg_blink", "basic_motion"])


def test_protocol_runs_are_reproducible(tmp_path):
    """The same seed draws the same labelled subset and trains to the same numbers, run after run."""
    from citrus_hf.evaluation import ProtocolConfig, run_protocol
    from citrus_hf.training.finetune import TrainerSettings

    def run(folder):
        config = ProtocolConfig(
            output_dir=str(tmp_path / folder),
            datasets=["basic_motions"],
            budgets=["2"],
            seeds=[3],
            arms=["citrus-scratch", "patchtst-scratch"],
            model_config="tiny",
            resume=False,
            show_progress=False,
            finetune=TrainerSettings(max_steps=3, eval_steps=1, per_device_batch_size=4, show_progress=False),
        )
        return [{k: v for k, v in r.items() if k != "seconds"} for r in run_protocol(config).runs]

    first, second = run("a"), run("b")
    assert first == second
    assert all(r["n_train"] == 8 for r in first)


def test_demo_quick_runs_the_whole_pipeline(tmp_path, capsys):
    """`citrus demo --quick`: the main job's code path on the real corpus with a tiny model."""
    from citrus_hf.commands.demo import DEMO_ARMS, DEMO_DATASETS

    assert training_cli(["demo", "--quick", "--no-fetch", "--output-dir", str(tmp_path / "demo")]) == 0
    printed = capsys.readouterr().out
    for dataset in DEMO_DATASETS:
        assert f"## {dataset} (" in printed
    runs = json.loads((tmp_path / "demo" / "results.json").read_text())["runs"]
    assert {(r["dataset"], r["arm"]) for r in runs} == {(d, a) for d in DEMO_DATASETS for a in DEMO_ARMS}
    assert all((tmp_path / "demo" / name).is_file() for name in ("results.csv", "results.md", "results.png"))


def test_demo_leaves_minirocket_out_when_aeon_is_missing(monkeypatch):
    """MiniRocket is an optional extra: a plain install runs the demo without that arm."""
    import importlib.util

    from citrus_hf.commands.demo import DEMO_ARMS, demo_arms, demo_config

    assert demo_arms() == DEMO_ARMS  # aeon is installed here
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "aeon" else real_find_spec(name, *a)
    )
    assert demo_arms() == [arm for arm in DEMO_ARMS if arm != "minirocket"]
    assert "minirocket" not in demo_config(quick=True).arms


def test_minirocket_leaves_no_spinning_threads_behind(monkeypatch):
    """aeon's numba runs on its workqueue threading layer (sleeping workers), so torch keeps its cores after a
    MiniRocket fit in the same process; MiniRocket still separates real HAR classes."""
    import numba

    from citrus_hf.data.splits import load_task_splits
    from citrus_hf.evaluation.baselines import fit_minirocket, raw_windows

    monkeypatch.delenv("NUMBA_THREADING_LAYER", raising=False)
    splits = load_task_splits("basic_motions")
    train, test = raw_windows(splits.train), raw_windows(splits.test)
    labels = np.asarray(splits.train["label"])
    scores = fit_minirocket(train, labels, test, "classification", seed=0)
    assert numba.threading_layer() == "workqueue"
    assert (scores.argmax(axis=1) == np.asarray(splits.test["label"])).mean() > 0.8


def test_minirocket_scores_every_class_also_one_missing_from_the_draw():
    """A class absent from the labelled draw, also the highest one, keeps its column (scored -inf): MiniRocket's
    macro-F1 is then taken over all classes, as CiTrus's is, and a test label of that class is not out of range."""
    from citrus_hf.data.splits import load_task_splits
    from citrus_hf.evaluation.baselines import fit_minirocket, raw_windows
    from citrus_hf.training.metrics import classification_metrics

    splits = load_task_splits("basic_motions")
    labels = np.asarray(splits.train["label"])
    kept = labels != labels.max()
    train, test = raw_windows(splits.train)[kept], raw_windows(splits.test)
    scores = fit_minirocket(train, labels[kept], test, "classification", seed=0, num_classes=4)
    assert scores.shape == (len(test), 4) and np.all(np.isneginf(scores[:, 3]))
    metrics = classification_metrics(scores, np.asarray(splits.test["label"]))
    assert metrics["macro_f1"] <= 0.75 + 1e-9  # the missing class's F1 of 0 is one of four


def test_run_signatures_follow_the_auto_rule_of_citrus_arms_only(monkeypatch):
    """Runs fitted by "auto" under another rule are not reused; arms that do not use it keep their signatures."""
    from citrus_hf.evaluation import ProtocolConfig
    from citrus_hf.training import probe as probe_module
    from citrus_hf.training import recipes

    def signatures(recipe):
        config = ProtocolConfig(
            output_dir="x",
            arms=["citrus-scratch", "minirocket", "patchtst-scratch"],
            recipe=recipe,
            model_config="tiny",
        )
        return config.run_signatures()

    before = signatures("auto")
    monkeypatch.setattr(recipes, "AUTO_PROBE_FINETUNE_FROM_PER_CLASS", 10)
    after = signatures("auto")
    assert before["citrus-scratch"] != after["citrus-scratch"]
    assert before["minirocket"] == after["minirocket"] and before["patchtst-scratch"] == after["patchtst-scratch"]
    monkeypatch.setattr(recipes, "PROBE_FINETUNE_EPOCHS", 3)  # the schedule of the recipe "auto" picks
    assert signatures("auto")["citrus-scratch"] not in (before["citrus-scratch"], after["citrus-scratch"])
    # "probe" names its poolings and the weight of the dynamics, and "auto", which picks it, follows them too
    for setting, value in [
        ("PROBE_REGRESSION_POOLING", "mean_max_std"),
        ("PROBE_CLASSIFICATION_POOLING", "mean_max_std"),
        ("PROBE_SPREAD_FROM_PER_CLASS", 3),
    ]:
        probe, auto = signatures("probe"), signatures("auto")
        assert probe["citrus-scratch"] != probe["minirocket"]
        monkeypatch.setattr(recipes, setting, value)
        assert signatures("probe")["citrus-scratch"] != probe["citrus-scratch"], setting
        assert signatures("auto")["citrus-scratch"] != auto["citrus-scratch"], setting
    probe = signatures("probe")
    monkeypatch.setattr(probe_module, "CLASSIFICATION_DYNAMICS_WEIGHT", 1.0)
    assert signatures("probe")["citrus-scratch"] != probe["citrus-scratch"]
    # LP-FT's head pooling is named too
    lpft = signatures("probe-finetune")
    monkeypatch.setattr(recipes, "PROBE_FINETUNE_CLASSIFICATION_POOLING", "mean_max")
    assert signatures("probe-finetune")["citrus-scratch"] != lpft["citrus-scratch"]
    # "finetune" has kept its settings since caches began: its CiTrus runs share the shared signature
    finetune = signatures("finetune")
    assert finetune["citrus-scratch"] == finetune["minirocket"]


def test_resume_reuses_runs_only_of_the_same_weights(tmp_path):
    """A resumed protocol reuses earlier runs, except those of an arm whose checkpoint now holds other weights at the
    same path (a re-trained checkpoint, a new bundled release): those run again."""
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForPretraining
    from citrus_hf.evaluation import ProtocolConfig, run_protocol

    checkpoint = tmp_path / "checkpoint"

    def save_checkpoint(seed):
        torch.manual_seed(seed)
        model = CiTrusForPretraining(tiny_config())
        model.save_pretrained(checkpoint)
        CiTrusFeatureExtractor.from_config(model.config).save_pretrained(checkpoint)

    def run():
        config = ProtocolConfig(
            output_dir=str(tmp_path / "evaluation"),
            datasets=["basic_motions"],
            budgets=["2"],
            seeds=[0],
            arms=["citrus-time", "citrus-scratch"],
            checkpoints={"citrus-time": str(checkpoint)},
            recipe="probe",
            model_config="tiny",
            show_progress=False,
        )
        run_protocol(config)
        lines = (tmp_path / "evaluation" / "runs.jsonl").read_text().splitlines()
        assert all(json.loads(line)["torch_version"] == torch.__version__ for line in lines)
        assert all(isinstance(json.loads(line)["torch_threads"], int) for line in lines)
        assert len({json.loads(line)["draw"] for line in lines}) == 1  # one budget and seed: one draw for every arm
        return [json.loads(line)["arm"] for line in lines]

    save_checkpoint(0)
    assert run() == ["citrus-time", "citrus-scratch"]
    assert run() == ["citrus-time", "citrus-scratch"]  # nothing new: both reused
    save_checkpoint(1)
    assert run() == ["citrus-time", "citrus-scratch", "citrus-time"]  # the new weights run; scratch is reused


def test_resume_runs_again_what_the_auto_alignment_now_aligns_otherwise():
    """Runs name the alignment they used; runs recorded before that used the setting given, else "resample". A run
    is reused only if this arm's data is aligned the same way now."""
    from citrus_hf.evaluation import ProtocolConfig
    from citrus_hf.evaluation.protocol import _same_alignment

    default, given = ProtocolConfig(), ProtocolConfig(alignment={"infant_sleep": "interpolate"})
    stretched, resampled = {"alignment": "interpolate"}, {"alignment": "resample"}
    old_run, new_run = {"macro_f1": 0.5}, {"macro_f1": 0.5, "alignment": "interpolate"}
    assert not _same_alignment(old_run, stretched, default, "infant_sleep")  # it was resampled: run it again
    assert _same_alignment(old_run, resampled, default, "infant_sleep")
    assert _same_alignment(new_run, stretched, default, "infant_sleep")
    assert _same_alignment(old_run, stretched, given, "infant_sleep")  # it ran with the setting given
    assert _same_alignment(old_run, {"pool": None}, default, "infant_sleep")  # MiniRocket aligns nothing
    assert _same_alignment(old_run, None, default, "infant_sleep")


def _own_set(folder, labels, targets=None, seed=0):
    """A small labelled set of one's own (save_to_disk), 2-channel 200-sample windows at 100 Hz."""
    import datasets

    rng = np.random.default_rng(seed)

    def rows(count, shift):
        values = [rng.standard_normal((2, 200)).astype(np.float32) + (i % 3) for i in range(count)]
        column = {"target": list(targets[:count])} if targets is not None else {"label": labels[:count]}
        return {"input_values": values, "sampling_rate": [100.0] * count, **column}

    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(rows(12, 0)), "test": datasets.Dataset.from_dict(rows(12, 1))}
    ).save_to_disk(str(folder))
    return folder


def test_a_set_whose_data_changed_is_fitted_again(tmp_path, caplog):
    """Runs were reused by the set's name alone: a folder re-saved with other labels gave the old numbers, without a
    word. Now the set's data fingerprint is part of every run, and reused runs are counted aloud."""
    from citrus_hf.evaluation import ProtocolConfig, run_protocol

    labels = [i % 3 for i in range(12)]
    folder = _own_set(tmp_path / "mine", labels)
    config = dict(
        output_dir=str(tmp_path / "evaluation"), datasets=[str(folder)], budgets=["2"], seeds=[0], arms=["prior"]
    )

    def macro_f1():
        runs = run_protocol(ProtocolConfig(**config, show_progress=False)).runs
        return [run["macro_f1"] for run in runs]

    first = macro_f1()
    with caplog.at_level("WARNING", logger="citrus_hf.evaluation.protocol"):
        assert macro_f1() == first
    assert "Reused 1 of 1 runs recorded in" in caplog.text
    _own_set(folder, [(label + 1) % 3 for label in labels])  # every label changed
    lines = (tmp_path / "evaluation" / "runs.jsonl").read_text().splitlines()
    macro_f1()
    assert len((tmp_path / "evaluation" / "runs.jsonl").read_text().splitlines()) == len(lines) + 1  # fitted again
    # a run cut short at the end of the file (a killed process) is fitted again, not a JSON traceback
    with open(tmp_path / "evaluation" / "runs.jsonl", "a") as handle:
        handle.write('{"dataset": "cut sh')
    macro_f1()


def test_settings_that_would_count_a_draw_twice_or_crash_late_are_refused(tmp_path):
    """A seed or budget listed twice fitted the same draw twice and counted it as two seeds; a settings file's
    scalar became a list of characters; a regression budget of 1 crashed inside the probe after other sets ran; a
    pre-training corpus was taken for a labelled set."""
    from citrus_hf.evaluation import ProtocolConfig, run_protocol

    with pytest.raises(ValueError, match="--seeds lists 1 and 1, which are the same draw"):
        ProtocolConfig(seeds=[1, 1, 0], arms=["prior"], datasets=["basic_motions"])
    with pytest.raises(ValueError, match="--budgets lists '5/class' and '5', which are the same draw"):
        ProtocolConfig(budgets=["5", "5/class"], arms=["prior"], datasets=["basic_motions"])
    assert ProtocolConfig(arms="prior", budgets=5, datasets="basic_motions", seeds=0).arms == ["prior"]
    with pytest.raises(ValueError, match="'eeg_pretrain' is an unlabelled pre-training corpus"):
        ProtocolConfig(datasets=["eeg_pretrain"], arms=["prior"])
    folder = _own_set(tmp_path / "ages", None, targets=[20.0 + 3 * i for i in range(12)])
    config = ProtocolConfig(
        output_dir=str(tmp_path / "evaluation"),
        datasets=[str(folder)],
        budgets=["1"],
        seeds=[0],
        arms=["citrus-small", "prior"],
        show_progress=False,
    )
    with pytest.raises(ValueError, match=r"draws 1 labelled example of the regression set .* --dataset-budgets"):
        run_protocol(config)
    assert not (tmp_path / "evaluation" / "runs.jsonl").exists()  # refused before anything was fitted


def test_minirocket_regresses_on_two_distinct_targets():
    """aeon read two distinct targets (a draw of 2 whole-number ages) as classes: 'y type is binary'."""
    pytest.importorskip("aeon")
    from citrus_hf.evaluation.baselines import fit_minirocket

    windows = np.random.default_rng(0).standard_normal((4, 1, 100)).astype(np.float32)
    predictions = fit_minirocket(windows, np.array([60.0, 60.0, 70.0, 70.0]), windows, "regression", 0)
    assert predictions.shape == (4,) and np.isfinite(predictions).all()
    assert np.allclose(fit_minirocket(windows, np.full(4, 5.0), windows, "regression", 0), 5.0)


def test_ties_are_not_counted_as_losses():
    runs = [_run("har", "citrus-time", "1/class", seed, 1.0) for seed in (0, 1)]
    runs += [_run("har", "minirocket", "1/class", seed, 1.0) for seed in (0, 1)]
    assert "| +0.00 ± 0.00 pts (macro-F1 (%)) | 0/2 seeds (2 tied) |" in markdown_tables(runs)


def test_runs_scored_on_validation_never_select_on_it():
    """Early stopping and the best step were chosen on the split the runs were scored on, flattering the recipes
    that select (fine-tuning, LP-FT) against those that do not (the probe, MiniRocket)."""
    from citrus_hf.evaluation import ProtocolConfig
    from citrus_hf.evaluation.arms import DatasetContext

    def context(split, select_on_validation=False):
        config = ProtocolConfig(
            arms=["prior"], datasets=["basic_motions"], score_split=split, select_on_validation=select_on_validation
        )
        return DatasetContext("basic_motions", None, np.zeros(1), {}, "auto", config, score_split=split)

    held_out = object()
    assert context("validation").for_fitting(held_out) is None
    assert context("validation", select_on_validation=True).for_fitting(held_out) is None
    # scored on test, an arm sees only its draw's labels unless the run opts in: the validation split's labels
    # (up to hundreds) are outside the k-per-class budget MiniRocket and the probe keep to
    assert context("test").for_fitting(held_out) is None
    assert context("test", select_on_validation=True).for_fitting(held_out) is held_out
    signatures = {
        (split, select): ProtocolConfig(
            arms=["prior"], datasets=["basic_motions"], score_split=split, select_on_validation=select
        ).signature()
        for split in ("test", "validation")
        for select in (False, True)
    }
    assert len({signatures["test", False], signatures["test", True], signatures["validation", False]}) == 3
    assert signatures["validation", False] == signatures["validation", True]  # nothing selects on it either way


def test_results_are_strict_json_and_a_metric_without_value_reads_back_as_nan(tmp_path, caplog):
    """The prior's Pearson r (a constant prediction has none) was written as a bare `NaN`, which is not JSON: `jq`,
    JavaScript and other strict readers refuse the whole file. It is `null` now, and NaN again when runs are reused."""
    from citrus_hf.evaluation import ProtocolConfig, run_protocol

    def strict(text):
        return json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in a JSON file"))

    config = ProtocolConfig(
        output_dir=str(tmp_path), datasets=["hr_ecg"], budgets=["5"], seeds=[0], arms=["prior"], show_progress=False
    )
    first = run_protocol(config).runs
    assert math.isnan(first[0]["pearson_r"])
    assert strict((tmp_path / "results.json").read_text())["runs"][0]["pearson_r"] is None
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()  # hr_ecg's own budgets: 5, 20, 50 examples and all
    assert [strict(line)["pearson_r"] for line in lines] == [None] * len(first)
    with caplog.at_level("WARNING", logger="citrus_hf.evaluation.protocol"):
        again = run_protocol(config).runs
    assert f"Reused {len(first)} of {len(first)} runs" in caplog.text
    assert math.isnan(again[0]["pearson_r"]) and again[0]["mae"] == first[0]["mae"]


def test_a_split_holding_windows_the_checkpoint_was_pretrained_on_is_refused(tmp_path):
    """citrus-small's corpus holds out the splits each set's default options make. The old demo tested EMG gestures
    on repetitions 2 and 3: 10 of its 49 test windows came from repetition-2 recordings in the corpus."""
    from citrus_hf.data import build_dataset
    from citrus_hf.data.sources.pretraining import examples_in_pretrain_corpus
    from citrus_hf.evaluation import ProtocolConfig, run_protocol

    assert examples_in_pretrain_corpus("myo_gestures", build_dataset("myo_gestures")["test"]) == (0, [])
    moved = {"myo_gestures": {"test_repetitions": [2, 3]}}
    config = ProtocolConfig(
        output_dir=str(tmp_path), datasets=["myo_gestures"], dataset_options=moved, arms=["citrus-small", "prior"],
        budgets=["1"], seeds=[0], show_progress=False,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"10 of the 49 test windows of myo_gestures \(recordings R2_C3, R2_C4\)"):
        run_protocol(config)
    assert not (tmp_path / "runs.jsonl").exists()  # refused before any fitting
    # an arm without pre-trained weights has seen nothing: the same split is scored
    run_protocol(ProtocolConfig(**{**config.__dict__, "arms": ["prior"]}))


def test_a_checkpoint_pretrained_on_a_saved_copy_of_the_corpus_is_held_to_the_same_check(tmp_path):
    """A run on the folder `citrus data build pretrain_corpus --output` saved records the corpus the folder notes
    (`dataset_built_from`), and the check reads it there: only the folder's path was recorded before, and the same
    split was scored silently."""
    import shutil

    from citrus_hf._bundled import bundled_checkpoint
    from citrus_hf.evaluation import ProtocolConfig, run_protocol

    checkpoint = tmp_path / "from_folder"
    shutil.copytree(bundled_checkpoint("citrus-small"), checkpoint)
    summary = json.loads((checkpoint / "pretraining_summary.json").read_text())
    summary["arguments"] |= {"dataset": str(tmp_path / "corpus"), "dataset_options": {}}
    summary["dataset_built_from"] = {"dataset": "pretrain_corpus", "dataset_options": {}, "builder_version": "2.0.0"}
    (checkpoint / "pretraining_summary.json").write_text(json.dumps(summary))
    config = ProtocolConfig(
        output_dir=str(tmp_path / "eval"), datasets=["myo_gestures"], arms=["citrus-small", "prior"], budgets=["1"],
        dataset_options={"myo_gestures": {"test_repetitions": [2, 3]}}, checkpoints={"citrus-small": str(checkpoint)},
        seeds=[0], show_progress=False,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"10 of the 49 test windows of myo_gestures"):
        run_protocol(config)


def test_minirocket_sees_the_windows_normalised_as_the_citrus_arms_input():
    """The reference arm gets the CiTrus arms' normalisation (the training pool's per-channel statistics, or
    per-window z-scores), applied before the zero padding; `minirocket-raw` keeps the raw values."""
    import datasets

    from citrus_hf.evaluation.baselines import raw_windows

    rows = datasets.Dataset.from_dict(
        {"input_values": [[[1.0, 3.0, 5.0, 7.0], [100.0, 300.0, 100.0, 300.0]], [[2.0, 4.0], [200.0, 200.0]]]}
    )
    fixed = {"normalization": "fixed", "normalization_mean": [4.0, 200.0], "normalization_std": [2.0, 100.0]}
    array = raw_windows(rows, min_length=4, normalization=fixed)
    np.testing.assert_allclose(array[0], [[-1.5, -0.5, 0.5, 1.5], [-1.0, 1.0, -1.0, 1.0]])
    np.testing.assert_allclose(array[1], [[-1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])  # padding stays zeros
    zscored = raw_windows(rows, min_length=4, normalization={"normalization": "zscore"})
    np.testing.assert_allclose(zscored[0, 1], [-1.0, 1.0, -1.0, 1.0])
    np.testing.assert_allclose(zscored[1], [[-1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])  # a constant channel: 0
    np.testing.assert_allclose(raw_windows(rows, min_length=4)[0, 1], [100.0, 300.0, 100.0, 300.0])
    assert ARMS["minirocket"].normalized and not ARMS["minirocket-raw"].normalized


def test_runs_name_their_draw_and_are_reused_only_with_it():
    """Every arm of a dataset, budget and seed fits on one draw, which each run records as a digest; a recorded run
    is reused only with the draw it was fitted on (runs recorded before runs named their draw are taken as is)."""
    from citrus_hf.data.budgets import draw_budget, parse_budget
    from citrus_hf.evaluation.protocol import _same_draw, draw_digest

    labels = np.repeat(np.arange(3), 10)
    chosen = draw_budget(labels, parse_budget("5"), seed=0)
    assert draw_digest(chosen) == draw_digest(draw_budget(labels, parse_budget("5"), seed=0))
    other = draw_budget(labels, parse_budget("5"), seed=1)
    assert draw_digest(other) != draw_digest(chosen) and draw_digest(chosen[:-1]) != draw_digest(chosen)
    assert _same_draw({"draw": draw_digest(chosen)}, draw_digest(chosen)) and _same_draw({}, draw_digest(chosen))
    assert not _same_draw({"draw": draw_digest(other)}, draw_digest(chosen))
