"""Audit 62 of the repository's own scripts (examples/, benchmarks/, dataset_scripts/, scripts/): each test runs the
script's own code on a tiny, in-memory setting (no pre-training, no full data set), so they take seconds."""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str):
    """A script of the repository as a module (its folder on the path while it loads: benchmarks import siblings)."""
    path = ROOT / relative
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(f"audit62_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


class Stop(Exception):
    """Raised by a stub to end a script's main() where the test has seen what it needs."""


# ------------------------------------------------------------------------------------------ 1: hr MiniRocket rates


def _split(rates: list[float], seconds: float = 2.0):
    import datasets

    rows = [np.sin(np.linspace(0, 6.0, int(seconds * rate)))[None].astype(np.float32) for rate in rates]
    return datasets.Dataset.from_dict(
        {"input_values": rows, "sampling_rate": rates, "target": np.arange(len(rates), dtype=np.float32)}
    )


def test_heart_rate_example_gives_minirocket_every_row_at_the_most_common_rate():
    example = load_script("examples/heart_rate_regression.py")
    train, test = _split([100.0, 100.0, 100.0, 200.0]), _split([100.0, 200.0])
    train_raw, test_raw, rate = example.minirocket_windows(train, None, test)
    # 2 s rows at 100 Hz: 200 samples each; the 200 Hz rows are resampled to 200 samples, not zero-padded to 400
    assert rate == 100.0
    assert train_raw.shape == (4, 1, 200) and test_raw.shape == (2, 1, 200)
    assert np.abs(train_raw[3]).max() > 0 and np.allclose(train_raw[3], train_raw[0], atol=0.1)


# ---------------------------------------------------------------------- 2: compare_results mixes points and bpm


def _results_folder(folder: Path, arm: str, scores: dict) -> str:
    folder.mkdir()
    (folder / "protocol.json").write_text(json.dumps({"score_split": "test", "validation_fraction": 0.2}))
    runs = []
    for (dataset, task, seed), value in scores.items():
        run = dict(dataset=dataset, task=task, arm=arm, budget="all", budget_order=0, seed=seed)
        run["macro_f1" if task == "classification" else "mae"] = value
        runs.append(run)
    (folder / "results.json").write_text(json.dumps({"runs": runs}))
    return f"{folder}:{arm}"


def test_compare_results_summarises_each_metric_of_a_budget_apart(tmp_path, capsys):
    compare_results = load_script("benchmarks/compare_results.py")
    first = _results_folder(
        tmp_path / "a", "citrus-small", {("eeg_blink", "classification", 0): 0.8, ("hr_ecg", "regression", 0): 1.0}
    )
    second = _results_folder(
        tmp_path / "b", "minirocket", {("eeg_blink", "classification", 0): 0.7, ("hr_ecg", "regression", 0): 5.0}
    )
    result = compare_results.main([first, second])
    # both sets label their budget "all": +10 macro-F1 points and 4 bpm less error, never averaged into "+7.00"
    assert result["budgets"]["all"]["macro_f1"] == {"mean_gap": pytest.approx(10.0), "sets_ahead": 1, "sets": 1}
    assert result["budgets"]["all"]["mae"] == {"mean_gap": pytest.approx(4.0), "sets_ahead": 1, "sets": 1}
    printed = capsys.readouterr().out
    assert (
        "all: mean gap +10.00 (macro_f1) over 1 sets" in printed and "all: mean gap +4.00 (mae) over 1 sets" in printed
    )
    assert "+7.00" not in printed


# -------------------------------------------------------------- 3: multimodal_fusion reuses another run's encoders


def _finished_encoder(folder: Path, arguments: dict, steps: int) -> None:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"")
    summary = {"steps": steps, "completed": True, "arguments": arguments}
    (folder / "pretraining_summary.json").write_text(json.dumps(summary))


def test_fusion_example_refuses_encoders_pretrained_with_other_settings(tmp_path, monkeypatch):
    from dataclasses import asdict

    from citrus_hf.training.pretrain import PretrainArguments

    fusion = load_script("examples/multimodal_fusion.py")
    quick = {
        **asdict(PretrainArguments(output_dir="elsewhere")),
        "model_config": "small",
        "max_steps": 2,
        "learning_rate": 1e-3,
    }
    quick |= {"per_device_batch_size": 16}
    for modality, overrides in fusion.ENCODERS.items():
        _finished_encoder(tmp_path / f"encoder_{modality}", {**quick, "config_overrides": overrides}, steps=2)
    trained = []
    monkeypatch.setattr(fusion, "pretrain", lambda args: trained.append(args))
    monkeypatch.setattr(fusion, "modality_corpus", lambda *args: [0] * 7)
    monkeypatch.setattr(fusion, "picture_period_seconds", lambda events: None)
    # the quick check's 2-step encoders do not stand in for the 3000 steps asked now
    with pytest.raises(ValueError, match=r"encoder_ecg was pre-trained with max_steps 2 \(this run: 3000\).*"):
        fusion.pretrain_encoders(tmp_path, None, 3000)
    assert not trained
    # the same settings: reused; asked to, the others are pre-trained afresh over the old run
    assert fusion.pretrain_encoders(tmp_path, None, 2)["ecg"] == tmp_path / "encoder_ecg" and not trained
    fusion.pretrain_encoders(tmp_path, None, 3000, overwrite=True)
    assert [args.max_steps for args in trained] == [3000] * 3 and all(args.overwrite_output_dir for args in trained)


# ---------------------------------------------------------------------- 8, 9: embeddings_sklearn's spread and budget


def _stub_embeddings(example, monkeypatch, loads: list) -> None:
    rng = np.random.default_rng(0)

    def load_windows(split, limit):
        loads.append(split)
        labels = np.repeat(np.arange(7), 30)
        return (
            rng.standard_normal((len(labels), 6, 200)).astype(np.float32) + labels[:, None, None] * 0.15,
            labels,
            50.0,
        )

    def embed(model, extractor, windows, rate):
        return np.concatenate([windows.mean(-1), windows.std(-1), rng.standard_normal((len(windows), 4))], axis=1)

    monkeypatch.setattr(example, "load_windows", load_windows)
    monkeypatch.setattr(example, "embed", embed)


def test_embeddings_example_gives_the_sample_std_over_draws(monkeypatch, capsys):
    from citrus_hf.evaluation.report import mean_std

    example = load_script("examples/embeddings_sklearn.py")
    _stub_embeddings(example, monkeypatch, [])
    scores = []
    real_f1 = example.f1_score
    monkeypatch.setattr(example, "f1_score", lambda *a, **k: scores.append(real_f1(*a, **k)) or scores[-1])
    monkeypatch.setattr(sys, "argv", ["embeddings_sklearn.py"])
    example.main()
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("citrus-small"))
    mean, std = mean_std(scores[0::2])  # the draws alternate citrus-small and its twin
    assert f"{mean:.3f} +- {std:.3f}" in line and std != pytest.approx(np.std(scores[0::2]), abs=5e-4)


def test_embeddings_example_refuses_a_bad_budget_before_loading_anything(monkeypatch):
    example = load_script("examples/embeddings_sklearn.py")
    loads = []
    _stub_embeddings(example, monkeypatch, loads)
    monkeypatch.setattr(sys, "argv", ["embeddings_sklearn.py", "--per-class", "abc"])
    with pytest.raises(ValueError, match="abc"):
        example.main()
    assert loads == []


# ------------------------------------------------------------------- 7, 9: finetune_trainer --tiny's pre-training


def test_finetune_trainer_tiny_pretrains_inside_its_output_dir(tmp_path, monkeypatch):
    example = load_script("examples/finetune_trainer.py")
    where = []

    def pretrain(args):
        where.append(Path(args.output_dir))
        raise Stop

    monkeypatch.setattr(example, "pretrain", pretrain)
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))
    monkeypatch.setattr(sys, "argv", ["finetune_trainer.py", "--tiny", "--output-dir", str(tmp_path / "out")])
    with pytest.raises(Stop):
        example.main()
    assert where == [tmp_path / "out" / "tiny-pretrained"] and not list(system_temp.iterdir())
    # a mistyped budget is refused before the pre-training, not after it
    where.clear()
    monkeypatch.setattr(sys, "argv", ["finetune_trainer.py", "--tiny", "--label-budget", "abc"])
    with pytest.raises(ValueError, match="abc"):
        example.main()
    assert where == []


# ----------------------------------------------------------------------- 4: every script behind run_script's boundary


@pytest.mark.parametrize(
    ("script", "arguments", "said"),
    [
        ("dataset_scripts/physionet_wfdb.py", ["--data-dir", "empty", "--no-download"], "error: No MIT-BIH record"),
        ("dataset_scripts/tfc_benchmark.py", ["gesture", "--data-dir", "empty", "--no-download"], "error: TF-C set"),
        ("benchmarks/pretraining_curve.py", ["no_such_run"], "error: "),
        ("benchmarks/synthetic_speed.py", ["--generators", "ecgg"], "invalid choice: 'ecgg'"),
        (
            "benchmarks/criss_cross.py",
            ["--seconds", "2.5"],
            "not a positive multiple of the patch length 20; e.g. --seconds 2.4",
        ),
        ("benchmarks/speed.py", ["--batch-size", "0"], "argument --batch-size: must be a whole number >= 1, got 0"),
        ("benchmarks/feature_extraction.py", ["--rounds", "0"], "argument --rounds: must be a whole number >= 1"),
        ("benchmarks/fit_speed.py", ["--rounds", "0"], "argument --rounds: must be a whole number >= 1"),
        ("benchmarks/speed.py", ["--device", "gpu"], "argument --device: 'gpu' is not a torch device"),
        (
            "benchmarks/gpu_pretrain.py",
            ["--device", "cpu", "--tiny", "--corpus", "missing.npz", "--output-dir", "run"],
            "error: [Errno 2] No such file or directory: 'missing.npz'",
        ),
    ],
)
def test_scripts_say_a_users_mistake_in_one_line(script, arguments, said, tmp_path, monkeypatch, capsys):
    import runpy

    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [script, *arguments])
    monkeypatch.setattr(sys, "path", [str((ROOT / script).parent), *sys.path])
    if script.startswith("dataset_scripts/"):
        sys.argv += ["--cache-dir", str(tmp_path / "cache")]
    with pytest.raises(SystemExit) as stopped:  # a traceback would leave the script as its exception, failing here
        runpy.run_path(str(ROOT / script), run_name="__main__")
    assert stopped.value.code == 2
    assert said in capsys.readouterr().err


@pytest.mark.parametrize("script", ["benchmarks/speed.py", "benchmarks/criss_cross.py"])
def test_benchmarks_refuse_a_cuda_device_this_machine_lacks(script, monkeypatch, capsys):
    import runpy

    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(sys, "argv", [script, "--device", "cuda"])
    monkeypatch.setattr(sys, "path", [str((ROOT / script).parent), *sys.path])
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(ROOT / script), run_name="__main__")
    assert stopped.value.code == 2
    assert "argument --device: no CUDA device here; give --device cpu" in capsys.readouterr().err


# --------------------------------------------------------------------- 5: gpu_pretrain --corpus with --output-dir .


def test_gpu_pretrain_unpacks_the_corpus_beside_any_output_dir(tmp_path, monkeypatch):
    gpu_pretrain = load_script("benchmarks/gpu_pretrain.py")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert gpu_pretrain.packed_corpus_folder(".") == tmp_path / "packed_corpus"
    assert gpu_pretrain.packed_corpus_folder("runs/..") == tmp_path / "packed_corpus"
    assert gpu_pretrain.packed_corpus_folder("runs/base") == tmp_path / "work" / "runs" / "packed_corpus"
    with pytest.raises(ValueError, match="is the root folder, with no folder beside it"):
        gpu_pretrain.packed_corpus_folder("/")


# ------------------------------------------------------------- 6: the TF-C "missing" advice is the folder looked in


def test_tfc_script_looks_where_the_missing_set_error_advises(tmp_path):
    from citrus_hf.data.errors import CitrusDataError

    tfc_benchmark = load_script("dataset_scripts/tfc_benchmark.py")
    common = ["epilepsy", "--no-download", "--cache-dir", str(tmp_path / "cache")]
    with pytest.raises(CitrusDataError) as missing:
        tfc_benchmark.main([*common, "--data-dir", str(tmp_path / "tfc")])
    advised = str(missing.value).split("--data-dir ")[-1].rstrip("`.")
    assert advised == str(tmp_path / "tfc" / "epilepsy")
    # following the advice looks in that same folder (it looked in, and fetched to, epilepsy/epilepsy before)
    with pytest.raises(CitrusDataError) as again:
        tfc_benchmark.main([*common, "--data-dir", advised])
    assert str(again.value).split("--data-dir ")[-1].rstrip("`.") == advised
