"""The benchmarks run end to end on a tiny setting (their figures come from full runs, never from tests)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import runpy
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from citrus_hf.inference.backends import onnx_export_available

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _benchmark_module(name: str):
    """A module of benchmarks/ (they import their siblings by name, so the folder is on the path while it loads)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


def _run(script: str, *args: str, tmp_path: Path) -> dict:
    output = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args, "--json", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(output.read_text())


def _run_in_process(script: str, *args: str, tmp_path: Path, monkeypatch) -> dict:
    """`_run` in this process, as `python benchmarks/SCRIPT ...` runs it (`__main__`, its folder first on the path):
    a fresh Python per benchmark spent 4-5 s of a full suite (15 s under load) importing torch, transformers and the
    package. For the benchmarks whose results do not depend on the process (its thread count, its memory); speed.py,
    whose PatchTST rows depend on the thread count, keeps a process of its own. What a script changes for the whole
    process (Accelerate's CPU switch, torch's thread count, datasets' caching, which fit_speed.py turns off) is undone
    after it: with caching left off, a later test's `Dataset.map` wrote its cache files to a temporary folder."""
    import datasets

    output = tmp_path / "results.json"
    monkeypatch.setattr(sys, "argv", [str(BENCHMARKS / script), *args, "--json", str(output)])
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.delenv("ACCELERATE_USE_CPU", raising=False)  # gpu_pretrain.py sets it for --device cpu
    threads, caching = torch.get_num_threads(), datasets.is_caching_enabled()
    try:
        runpy.run_path(str(BENCHMARKS / script), run_name="__main__")
    except SystemExit as stopped:
        assert stopped.code in (None, 0), f"{script} exited with {stopped.code}"
    finally:
        torch.set_num_threads(threads)
        if caching:
            datasets.enable_caching()
    return json.loads(output.read_text())


def test_speed_benchmark_compares_with_patchtst(tmp_path):
    results = _run(
        "speed.py",
        *("--batch-size", "2", "--rounds", "1", "--steps-per-round", "1", "--night-windows", "3"),
        *("--onnx-cache-dir", str(tmp_path / "onnx"), "--no-memory"),  # (peak memory: the test below)
        "--tiny",  # every stage on a 1-layer model: on the paper configuration the test took 1.4 times as long
        tmp_path=tmp_path,
    )
    for mode in ("train", "inference"):
        for model in ("citrus", "patchtst"):
            row = results[f"{mode}/{model}"]
            assert row["windows_per_s"] > 0 and row["params"] > 0 and row["peak_mb"] is None
            assert 0 < row["attention_share"] < 1
        ratio = results[f"{mode}/citrus"]["windows_per_s"] / results[f"{mode}/patchtst"]["windows_per_s"]
        assert results[f"{mode}/ratio"] == pytest.approx(ratio)
    assert results["inference/ceiling"] == pytest.approx(1 / results["inference/patchtst"]["attention_share"])
    # every CiTrus inference path against PatchTST in fp32 and bf16 (as transformers runs it and, with several
    # threads, split across them as the CiTrus paths are), at the batch size and at batch 1
    backends = ["torch", "bf16"] + (["onnxruntime"] if onnx_export_available() is None else [])
    patchtst = {"patchtst-fp32", "patchtst-bf16"}
    if results["threads"] > 1:
        patchtst |= {"patchtst-fp32-split", "patchtst-bf16-split"}
    # on CPU twice, each in a process of its own: glibc's defaults, then large buffers kept on the heap
    assert list(results["inference"]) == list(results["inference_heap"]) == ["batch2", "batch1"]
    for batch in [*results["inference"].values(), *results["inference_heap"].values()]:
        speeds = batch["windows_per_s"]
        assert set(speeds) == {f"citrus-{name}" for name in backends} | patchtst
        assert all(speed > 0 for speed in speeds.values())
        best = max(speeds[name] for name in patchtst)
        for name in backends:
            ratios = batch["ratios"][name]
            assert ratios["vs_patchtst_fp32"] == pytest.approx(speeds[f"citrus-{name}"] / speeds["patchtst-fp32"])
            assert ratios["vs_patchtst_best"] == pytest.approx(speeds[f"citrus-{name}"] / best)
    # a fusion classifier of two such encoders on fp32 PyTorch and bf16, and bf16's ratio (audit 75)
    assert list(results["fusion"]) == ["batch2", "batch1"]
    for batch in results["fusion"].values():
        speeds = batch["windows_per_s"]
        assert set(speeds) == {"fusion-torch", "fusion-bf16"} and all(speed > 0 for speed in speeds.values())
        assert batch["bf16_vs_fp32"] == pytest.approx(speeds["fusion-bf16"] / speeds["fusion-torch"])
    night = results["night"]
    assert night["windows"] == 3 and set(night["seconds"]) == {*backends, "auto"}
    assert all(seconds > 0 for seconds in night["seconds"].values()) and set(night["auto_ran"].split("+")) <= set(
        backends
    )


def test_speed_benchmark_measures_peak_memory_in_a_fresh_process():
    """The benchmark's memory column: a pre-training step's peak resident memory above the process's baseline, read in
    a new process (one model and mode here; the benchmark runs one process per row)."""
    peak_mb = _benchmark_module("measure").in_fresh_process(
        BENCHMARKS / "speed.py", "_measure_memory", "citrus", "train", 2, "cpu", "fp32", "hybrid"
    )
    assert 1.0 < peak_mb < 4096


def test_attention_benchmark_compares_kernels_with_sdpa(tmp_path, monkeypatch):
    results = _run_in_process(
        "attention.py",
        *("--batch-size", "2", "--model-batch-size", "2", "--rounds", "1", "--steps-per-round", "1", "--no-compile"),
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
    )
    assert results["shape"] == {"batch": 2, "heads": 8, "seq": 150, "head_dim": 8}
    kernels = results["kernels"]
    assert {"sdpa", "eager", "sdpa-bf16", "blocked-bf16", "blocked-bf16-softmax"} <= set(kernels)
    ort_installed = all(importlib.util.find_spec(name) for name in ("onnxruntime", "onnx"))
    assert ("ort-mha" in kernels) == ort_installed
    assert kernels["sdpa"]["vs_sdpa"] == pytest.approx(1.0) and kernels["sdpa"]["max_difference"] == 0.0
    for name, row in kernels.items():
        assert row["ms"] > 0 and row["gflops"] > 0
        # fp32 formulations agree with SDPA to rounding, bf16 ones to bf16's precision
        assert row["max_difference"] < (5e-2 if "bf16" in name else 1e-5), name
    # the whole classifier: eager, and its ONNX export as it is and with onnxscript's ORT fusions, giving the same logits
    model = results["model"]
    onnx_paths = {"onnxruntime", "onnxruntime-fused"} if onnx_export_available() is None else set()
    assert set(model) == {"eager"} | onnx_paths and model["eager"]["vs_eager"] == pytest.approx(1.0)
    assert all(row["windows_per_s"] > 0 and row["max_logit_difference"] < 1e-4 for row in model.values())


def test_attention_benchmark_at_citrus_smalls_head_width(tmp_path, monkeypatch):
    """At another shape (citrus-small's heads of 32), the blocked kernel is timed as it is, beside what the backend's
    attention runs for such heads (SDPA in bf16)."""
    results = _run_in_process(
        "attention.py",
        *("--batch-size", "2", "--rounds", "1", "--steps-per-round", "1", "--no-compile", "--no-model"),
        *("--heads", "4", "--head-dim", "32", "--seq-length", "20"),
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
    )
    assert results["shape"] == {"batch": 2, "heads": 4, "seq": 20, "head_dim": 32} and "model" not in results
    kernels = results["kernels"]
    assert {"blocked-bf16", "bf16-backend", "sdpa-bf16"} <= set(kernels)
    assert all(row["max_difference"] < (5e-2 if "bf16" in name else 1e-5) for name, row in kernels.items())


def test_criss_cross_benchmark_runs(tmp_path, monkeypatch):
    results = _run_in_process(
        "criss_cross.py",
        "--channels",
        "3",
        "--seconds",
        "2",
        "--rounds",
        "1",
        "--no-memory",
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
    )
    for mode in ("train", "inference"):
        for attention in ("criss_cross", "full", "channel_independent"):
            assert results[f"{mode}/{attention}"]["ms_per_step"] > 0


def test_pretraining_curve_benchmark_plots_a_run(tmp_path, monkeypatch):
    from test_training import _pretrain_args

    from citrus_hf.training.pretrain import pretrain

    run = tmp_path / "run"
    changes = dict(max_steps=2, per_device_batch_size=8, gradient_accumulation_steps=1, logging_steps=1, eval_steps=1)
    pretrain(_pretrain_args(run, **changes))
    results = _run_in_process("pretraining_curve.py", str(run), tmp_path=tmp_path, monkeypatch=monkeypatch)
    summary = json.loads((run / "pretraining_summary.json").read_text())
    assert results["final_eval_loss"] == summary["eval_losses"][-1][1]
    assert results["eval_over_baseline"] == pytest.approx(results["final_eval_loss"] / results["baseline_loss"])
    assert (run / "pretraining_curve.png").stat().st_size > 10_000


def test_gpu_pretraining_script_runs_its_tiny_setting_on_cpu(tmp_path, monkeypatch):
    """The GPU script's code path (recipe, mixed stream, throughput against PatchTST) on the tiny model; no figure
    of it means anything about a GPU."""
    results = _run_in_process(
        "gpu_pretrain.py", "--device", "cpu", "--tiny", "--output-dir", str(tmp_path / "run"), "--rounds", "1",
        "--steps-per-round", "1", "--report-to", "none", tmp_path=tmp_path, monkeypatch=monkeypatch,
    )  # fmt: skip
    pretraining, throughput = results["pretraining"], results["throughput"]
    assert pretraining["steps"] == 2 and pretraining["arguments"]["synthetic_ratio"] == 0.5
    assert pretraining["arguments"]["model_config"] == "tiny" and (tmp_path / "run" / "model.safetensors").is_file()
    assert 0.5 < pretraining["baseline_loss"] < 1.5 and pretraining["final_eval_loss"] > 0
    assert throughput["citrus"]["windows_per_s"] > 0 and throughput["patchtst"]["params"] > 0
    ratio = throughput["citrus"]["windows_per_s"] / throughput["patchtst"]["windows_per_s"]
    assert throughput["ratio"] == pytest.approx(ratio)


def test_base_recipe_is_a_wider_citrus_small_in_bf16():
    """citrus-base keeps citrus-small's input contract and corpus (the same recordings fit both) and widens and
    deepens the transformer."""
    from citrus_hf.loading import build_config
    from citrus_hf.training.pretrain import PretrainArguments

    args = PretrainArguments.from_recipe("base", output_dir="runs/base")
    assert args.mixed_precision == "bf16" and args.per_device_batch_size == 256 and args.max_steps == 2000
    assert args.dataset == "pretrain_corpus" and args.synthetic_ratio == 0.5
    base, small = build_config(args.model_config, **args.config_overrides), build_config("citrus-small")
    contract = ("sampling_rate", "context_length", "patch_length", "cnn_channels", "cnn_strides")
    assert [getattr(base, key) for key in contract] == [getattr(small, key) for key in contract]
    assert base.d_model > small.d_model and base.num_hidden_layers > small.num_hidden_layers
    with pytest.raises(ValueError, match="recipes: base"):
        PretrainArguments.from_recipe("huge", output_dir="x")


def test_gpu_script_packs_the_corpus_and_trains_on_the_packed_windows(tmp_path, monkeypatch):
    """A GPU machine without the archives trains on the packed corpus: the unpacked rows realign to the windows and
    patch masks the corpus aligns to, each standardised, and the run records the corpus and options they came from.
    The packing and the throughput alone run the script's `main` in this process (a fresh Python each only imported
    torch again); the training on the packed corpus runs as the GPU machine runs it, in a process of its own."""
    import numpy as np

    from citrus_hf.data import get_dataset_spec
    from citrus_hf.data.alignment import align_corpus
    from citrus_hf.data.splits import load_split
    from citrus_hf.loading import build_config

    gpu_pretrain = _benchmark_module("gpu_pretrain")
    packed = tmp_path / "corpus.npz"
    counts = gpu_pretrain.main(["--tiny", "--pack-corpus", str(packed)])
    folder, name = gpu_pretrain.unpack_corpus(str(packed), str(tmp_path / "unpacked"))
    assert name == "eeg_pretrain"
    config = build_config("tiny")
    for split in gpu_pretrain.PACKED_SPLITS:
        options = gpu_pretrain.TINY_CHANGES["dataset_options"]
        original = align_corpus(load_split("eeg_pretrain", split, options), config).with_format("numpy")
        repacked = align_corpus(load_split(folder, split), config).with_format("numpy")
        assert len(repacked) == len(original) == counts[split]["windows"]
        masks = np.asarray(original["patch_mask"])
        np.testing.assert_array_equal(np.asarray(repacked["patch_mask"]), masks)
        first = np.asarray(original["input_values"][0])[0, : masks[0].sum() * config.patch_length]
        expected = (first - first.mean()) / first.std()
        np.testing.assert_allclose(np.asarray(repacked["input_values"][0])[0, : first.size], expected, atol=5e-3)

    results = _run_in_process(
        "gpu_pretrain.py", "--device", "cpu", "--tiny", "--corpus", str(packed), "--output-dir",
        str(tmp_path / "run"), "--skip-throughput", "--report-to", "none", tmp_path=tmp_path, monkeypatch=monkeypatch,
    )  # fmt: skip
    summary = json.loads((tmp_path / "run" / "pretraining_summary.json").read_text())
    assert results["pretraining"]["steps"] == 2 and "throughput" not in results
    assert summary["arguments"]["dataset"] == str(tmp_path / "packed_corpus")
    assert summary["dataset_built_from"]["dataset"] == "eeg_pretrain"
    assert summary["dataset_built_from"]["dataset_options"] == {
        **get_dataset_spec("eeg_pretrain").defaults,
        **gpu_pretrain.TINY_CHANGES["dataset_options"],
    }
    # the other half alone: the throughput of the recipe's model, nothing pre-trained
    monkeypatch.delenv("ACCELERATE_USE_CPU", raising=False)  # the script sets it for --device cpu: undone after
    timed = gpu_pretrain.main(
        ["--device", "cpu", "--tiny", "--skip-pretraining", "--rounds", "1", "--steps-per-round", "1"]
    )
    assert "pretraining" not in timed and timed["throughput"]["model_config"] == "tiny"
    assert timed["throughput"]["citrus"]["windows_per_s"] > 0


def test_fit_speed_benchmark_times_citrus_small_beside_minirocket(tmp_path, monkeypatch):
    results = _run_in_process(
        "fit_speed.py", "--train-windows", "14", "--test-windows", "30", "--rounds", "2", "--num-threads", "1",
        tmp_path=tmp_path, monkeypatch=monkeypatch,
    )  # fmt: skip
    assert (results["dataset"], results["train_windows"], results["test_windows"]) == ("watch_exercises", 14, 30)
    assert results["num_classes"] == 7 and results["recipe"] == "probe"  # 2 labels per class: "auto" probes
    assert set(results["seconds"]) == {"citrus-small (probe)", "minirocket + ridge"}
    assert all(len(times) == 2 and min(times) > 0 for times in results["seconds"].values())
    assert results["citrus_over_minirocket"] > 0


def _results_folder(folder: Path, arm: str, scores: dict, score_split: str = "test") -> str:
    """A results folder as the protocol writes it: `protocol.json` and the report's runs in `results.json`."""
    folder.mkdir()
    (folder / "protocol.json").write_text(json.dumps({"score_split": score_split, "validation_fraction": 0.2}))
    runs = [
        dict(dataset=dataset, task="classification", arm=arm, budget="5/class", budget_order=0, seed=seed, macro_f1=v)
        for (dataset, seed), v in scores.items()
    ]
    (folder / "results.json").write_text(json.dumps({"runs": runs}))
    return f"{folder}:{arm}"


def test_compare_results_pairs_arms_of_two_folders_by_seed(tmp_path):
    compare = _benchmark_module("compare_results").compare
    first = _results_folder(tmp_path / "a", "citrus-small", {("har", 0): 0.75, ("har", 1): 0.5, ("eeg", 0): 0.5})
    second = _results_folder(tmp_path / "b", "patchtst-scratch", {("har", 0): 0.5, ("har", 1): 0.25, ("eeg", 0): 0.75})
    result = compare(first, second)
    gaps = {gap["dataset"]: gap for gap in result["cells"]}
    # har: +25 points on both seeds, paired by seed; eeg: -25
    assert gaps["har"]["gain_mean"] == pytest.approx(25.0) and gaps["har"]["wins"] == 2
    assert gaps["eeg"]["gain_mean"] == pytest.approx(-25.0) and gaps["eeg"]["wins"] == 0
    assert result["budgets"]["5/class"]["macro_f1"]["mean_gap"] == pytest.approx(0.0)
    assert result["budgets"]["5/class"]["macro_f1"]["sets_ahead"] == 1
    elsewhere = _results_folder(tmp_path / "c", "minirocket", {("har", 0): 0.7}, score_split="validation")
    with pytest.raises(SystemExit, match="score_split"):
        compare(first, elsewhere)
    # "5" is the budget "5/class"; no pair at all, or a folder evaluate did not write, is an error, not an empty table
    assert compare(first, second, ["5"])["budgets"]["5/class"]["macro_f1"]["sets"] == 2
    with pytest.raises(SystemExit, match="No run of the first arm pairs with one of the second"):
        compare(first, second, ["20"])
    with pytest.raises(SystemExit, match="has no protocol.json: give a folder `citrus evaluate --output-dir` wrote"):
        compare(f"{tmp_path / 'missing'}:citrus-small", second)


def test_eval_results_of_another_kind_are_named():
    from citrus_hf.evaluation.records import parse_eval_results

    with pytest.raises(ValueError, match=r"These are not evaluation results.*\['task', 'test_metrics'\]"):
        parse_eval_results({"task": "classification", "test_metrics": {"accuracy": 0.9}})


def test_feature_extraction_benchmark_times_the_same_job_as_its_peer(tmp_path, monkeypatch):
    """Each timed job and its MNE peer produce the same output (the EMG row compared 40-sample windows with the
    peer's 3000 until the extractor was asked to pad as the peer does)."""
    results = _run_in_process(
        "feature_extraction.py", "--rounds", "1", "--tiny", tmp_path=tmp_path, monkeypatch=monkeypatch
    )  # (--tiny: a tenth of each job, the same code; the hour and the 1,000 windows took 11 s)
    emg = results["EMG 100 x 1500 @ 4 kHz -> 3000 (resample)"]
    assert emg["output"] == [100, 1, 3000] and emg["speedup"] > 0
    assert results["ECG 12-lead, 6 min @ 500 Hz -> 12 windows (window)"]["output"] == [12, 12, 3000]


def test_few_shot_goals_summarise_only_the_budgets_that_ran():
    """A run of 5 labels per class alone gave NumPy's empty-mean warnings and a null 20/class gap in goals.json."""
    few_shot = _benchmark_module("few_shot")
    # the published report's runs: runs.jsonl also keeps those of the folder's earlier settings (several per seed)
    runs = json.loads((BENCHMARKS / "results" / "few_shot" / "results.json").read_text())["runs"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        five = few_shot.goals([run for run in runs if run["budget"] != "20/class"])
        both = few_shot.goals(runs)
    assert set(five["mean_gap_to_minirocket_pts"]) == set(five["mean_gain_over_scratch_pts"]) == {"5/class"}
    assert five["mean_gap_to_minirocket_pts"]["5/class"] == both["mean_gap_to_minirocket_pts"]["5/class"]
    assert set(both["mean_gap_to_minirocket_pts"]) == {"5/class", "20/class"}


def test_leave_task_out_pairs_each_set_with_the_checkpoint_that_saw_it_and_the_one_that_did_not():
    """The stored runs: on each set, seen - unseen is the seen checkpoint's gap over citrus-small less the unseen
    one's, every classification set but the never-seen one has both, and the published means are what it prints."""
    module = _benchmark_module("leave_task_out")
    rows, means = module.test_table("5/class")
    by_set = {row["set"]: row for row in rows}
    assert set(by_set) == {*module.GROUPS["A"], *module.GROUPS["B"], *module.NEVER_SEEN}
    blink = by_set["eeg_blink"]  # left out by B: A saw it
    assert blink["seen - unseen"] == pytest.approx(blink["seen - small"] - blink["unseen - small"])
    assert "seen - unseen" not in by_set["infant_sleep"]
    assert means["seen - unseen"] == pytest.approx(1.83, abs=0.005)
    assert means["U - small"] == pytest.approx(0.54, abs=0.005)
    rows, means = module.test_table("20/class")  # A and B only
    assert "U - small" not in means and means["seen - unseen"] == pytest.approx(1.13, abs=0.005)


def test_the_published_few_shot_runs_keep_their_signatures():
    """Rerunning the published protocol reuses its runs only while every arm's signature is the recorded one. The
    recipe fingerprint holds the logit temperatures, and `np.logspace` gave 2 of their 31 values a different last bit
    on an AVX-512 Xeon with numpy 2.3.5, so no published run was reused there; the grids now come from Python's pow."""
    from citrus_hf.commands.evaluate import build_parser

    folder = BENCHMARKS / "results" / "few_shot"
    config = build_parser().parse([str(folder / "protocol.json")])
    recorded = {}
    for line in (folder / "runs.jsonl").read_text().splitlines():
        run = json.loads(line)
        recorded[run["arm"]] = run["signature"]  # the last run of each arm: the published table's
    assert config.run_signatures() == {arm: recorded[arm] for arm in config.arms}, (
        "the published runs would be fitted again; if a recipe changed on purpose, re-run the few-shot benchmark "
        "(README, 'How citrus-small does') so that its table is the current code's"
    )
