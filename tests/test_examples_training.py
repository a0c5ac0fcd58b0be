"""The training examples run end to end (`--tiny`) on the real offline corpus (fetch it first with
`citrus data fetch --offline-corpus`)."""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example_process(
    name: str, *arguments: str, cwd: Path, returncode: int = 0, **environment: str
) -> subprocess.CompletedProcess:
    """Run one example as a user would (`python examples/NAME ...`, with `environment` added); it must exit with
    `returncode`. Its stdout and stderr. Its temporary folders (the inference examples train their classifier in one
    and keep it, for `--model`) go under `cwd`, the test's own folder, not the machine's /tmp, which kept a model of
    every run."""
    environment = {
        **os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "TMPDIR": str(cwd), **environment
    }  # fmt: skip
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == returncode, completed.stderr[-3000:]
    return completed


def run_example(name: str, *arguments: str, cwd: Path) -> str:
    """Run one example (see `run_example_process`); its stdout."""
    return run_example_process(name, *arguments, cwd=cwd).stdout


def run_example_in_process(monkeypatch, capsys, name: str, *arguments: str, cwd: Path) -> str:
    """Run one example in this process as `python examples/NAME ...` runs it (`__main__`, its folder first on the
    path, in `cwd`, whose folder is also the one its temporary folders go to, as `run_example_process`'s TMPDIR);
    it must end without an error. Its stdout. A fresh Python per example spent 4-5 s of a full suite (15 s under
    load) starting Python and importing torch, transformers and the package before the example's first line; the
    examples whose test reads the package's log lines on stderr (under pytest its records go to pytest's log capture,
    not to stderr) or launches Accelerate keep a process of their own (`run_example_process`).
    (`run_example_in_process_captured` gives stderr too: progress bars, which write to `sys.stderr` as it is then.)"""
    return run_example_in_process_captured(monkeypatch, capsys, name, *arguments, cwd=cwd).out


def run_example_in_process_captured(monkeypatch, capsys, name: str, *arguments: str, cwd: Path):
    """`run_example_in_process`, giving capsys' `(out, err)`: a progress bar writes to `sys.stderr` as it is when
    the bar is made, so it is captured here as from a process of its own (the package's log records are not: under
    pytest they go to its log capture). torch's thread count is put back after the example (conftest's one thread)."""
    threads = torch.get_num_threads()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), *arguments])
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setenv("TMPDIR", str(cwd))
    monkeypatch.setattr(tempfile, "tempdir", str(cwd))
    try:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    except SystemExit as stopped:
        captured = capsys.readouterr()
        assert stopped.code in (None, 0), captured.err[-3000:]
        return captured
    finally:
        torch.set_num_threads(threads)
    return capsys.readouterr()


def example_error_in_process(tmp_path, monkeypatch, capsys, script: str, *arguments: str) -> str:
    """The one `error:` line an example ends with (exit code 2, no traceback: any other exception fails the test),
    run in this process as `python examples/SCRIPT ...` runs it (`__main__`, its folder first on the path, in
    `tmp_path`): a process each spent 8-11 s of a full suite starting Python and importing torch before the check."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / script), *arguments])
    monkeypatch.syspath_prepend(str(EXAMPLES))
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    error = capsys.readouterr().err
    assert stopped.value.code == 2, error[-3000:]
    (line,) = [line for line in error.splitlines() if "error:" in line]
    return line


def test_pretrain_accelerate_example(tmp_path, monkeypatch, capsys):
    output = run_example(
        "pretrain_accelerate.py", "--tiny", "--output-dir", str(tmp_path / "eeg"), "--report-to", "tensorboard",
        cwd=tmp_path,
    )  # fmt: skip
    assert "6 steps on 1 process(es)" in output
    # the TensorBoard logs the docstring points at (the dev extra installs TensorBoard); none were written before
    assert list((tmp_path / "eeg" / "tensorboard").glob("events.out.tfevents.*"))
    loss = float(re.search(r"masked loss on 16 validation windows ([0-9.]+)", output).group(1))
    assert 0.0 < loss < 10.0
    assert (tmp_path / "eeg" / "model.safetensors").is_file()
    assert (tmp_path / "eeg" / "preprocessor_config.json").is_file()
    assert (tmp_path / "eeg" / "checkpoints" / "step-6").is_dir()
    # run again into the same folder: one line naming the example's own options (a traceback naming the CLI's before)
    again = example_error_in_process(
        tmp_path, monkeypatch, capsys, "pretrain_accelerate.py", "--tiny", "--output-dir", str(tmp_path / "eeg")
    )
    assert "already holds a pre-training run" in again and "--resume latest" in again
    assert "pass --overwrite to start afresh" in again


def test_finetune_trainer_example(tmp_path, monkeypatch, capsys):
    output = run_example_in_process(
        monkeypatch, capsys, "finetune_trainer.py", "--tiny", "--output-dir", str(tmp_path / "har"), cwd=tmp_path
    )
    assert "20 labelled training recordings (5 per class)" in output
    metrics = dict(re.findall(r"(accuracy|macro_f1|auroc) ([0-9.]+)", output.split("test:")[1]))
    # 4 activities, 40 test recordings of real smartwatch IMU: a few steps already rank the classes well above chance
    # (AUROC 0.5); the run gives 0.83.
    assert float(metrics["auroc"]) > 0.7 and "macro_f1" in metrics
    # the README's plain path: the Trainer saved the extractor it collated with, and `pipeline(model=folder)` reloads
    # both and classifies the raw 10 Hz recordings (the tiny model's 2 s windows are averaged over each 10 s
    # recording, so its classes may differ from the Trainer's on a few; citrus-small's 10 s window gives 40 / 40)
    same = int(re.search(r"on the 40 raw test recordings: (\d+) / 40 the Trainer's class", output).group(1))
    assert same >= 30
    assert (tmp_path / "har" / "model.safetensors").is_file()
    assert (tmp_path / "har" / "preprocessor_config.json").is_file()


def test_long_recording_inference_example(tmp_path, monkeypatch, capsys):
    output = run_example_in_process(monkeypatch, capsys, "long_recording_inference.py", "--tiny", cwd=tmp_path)
    saved = re.search(r"^Classifier saved in (\S+) \(re-use it with --model \1\)$", output, re.M).group(1)
    assert (Path(saved) / "model.safetensors").is_file()  # the folder `--model` re-uses
    assert Path(saved).is_relative_to(tmp_path)  # the test's own folder, not the machine's temporary one
    minutes = float(re.search(r"at 50 Hz = ([0-9.]+) min", output).group(1))
    assert minutes > 60.0  # the 140 real recordings back to back
    windows = int(re.search(r"(\d+) windows of 4 s every 2 s", output).group(1))
    assert windows == pytest.approx(minutes * 60 / 2, abs=2)
    assert re.search(r"00:04:04\.0\s+\w+", output)  # a window start printed as a clock time
    assert re.search(r"windows of subjects the model never saw \(watch-\d\d", output)
    # the time per label of the pipeline's result (`label_seconds`) beside each exercise's own: every scored second
    # counted once, so the predicted minutes add up to the minutes scored, and the true ones to the session's
    scored = float(re.search(r"Time per label \(result\['label_seconds'\], ([0-9.]+) min scored", output).group(1))
    rows = re.findall(r"^  (ABD|ER|FEL|IR|PEN|ROW|TRAP) +([0-9.]+) min +([0-9.]+) min$", output, re.M)
    assert sorted(row[0] for row in rows) == ["ABD", "ER", "FEL", "IR", "PEN", "ROW", "TRAP"]
    assert scored == pytest.approx(minutes, abs=0.1)  # 4 s windows every 2 s leave no gap, the last few ms aside
    assert sum(float(row[1]) for row in rows) == pytest.approx(scored, abs=0.4)  # 7 rows, each rounded to 0.1 min
    assert sum(float(row[2]) for row in rows) == pytest.approx(minutes, abs=0.4)


def test_your_own_data_example(tmp_path, monkeypatch, capsys):
    output = run_example_in_process(
        monkeypatch, capsys, "your_own_data.py", "--output-dir", str(tmp_path / "own"), cwd=tmp_path
    )
    assert "classes (2): no blink, blink" in output and "citrus finetune / evaluate take it: train" in output
    citrus = float(re.search(r"recipe probe: 10 labelled windows, test macro-F1 ([0-9.]+)", output).group(1))
    minirocket = float(re.search(r"MiniRocket \+ ridge on the same windows: test macro-F1 ([0-9.]+)", output).group(1))
    # real blinks in headband EEG, 5 per class: both well above chance (0.5); this draw gives 0.97 and 0.75
    assert citrus > 0.7 and minirocket > 0.55
    assert (tmp_path / "own" / "model" / "model.safetensors").is_file()
    assert sorted(p.name for p in (tmp_path / "own" / "my_blinks").iterdir() if p.is_dir()) == [
        "test",
        "train",
        "validation",
    ]


def test_class_folders_example(tmp_path):
    completed = run_example_process("class_folders.py", "--output-dir", str(tmp_path / "run"), cwd=tmp_path)
    output = completed.stdout
    # 84 train and 28 test recordings of 7 exercises (subjects apart), cut into 4 s windows back to back
    assert "28 test recordings in" in output and "classes (7): ABD, ER, FEL, IR, PEN, ROW, TRAP" in output
    assert "The train split's 84 examples are cut into 717 windows of 4 s every 4 s" in completed.stderr
    # the budget counts recordings: every window of 5 recordings of each exercise
    per_recording = re.search(
        r"classification: \d+ training windows of 35 labelled examples, recipe probe; .*per recording \(28, the mean "
        r"of each one's window probabilities\) accuracy ([0-9.]+)",
        output,
    )
    assert per_recording
    assert "Wrote 236 windows of 28 recording(s)" in output
    right = int(re.search(r"whole test recordings labelled right: (\d+) / 28", output).group(1))
    assert right >= 10  # 7 exercises: chance is 4 of 28; this draw gives 24 (20 from 5 windows per class)
    # `citrus predict`'s labels of the whole recordings are the ones fine-tuning scored per recording
    assert float(per_recording.group(1)) == pytest.approx(right / 28, abs=5e-5)  # (printed to 4 places)
    extractor = json.loads((tmp_path / "run" / "model" / "preprocessor_config.json").read_text())
    assert extractor["context_length"] / extractor["sampling_rate"] == 4.0  # the trained window, which predict cuts


def test_embeddings_sklearn_example(tmp_path, monkeypatch, capsys):
    output = run_example_in_process(monkeypatch, capsys, "embeddings_sklearn.py", "--tiny", cwd=tmp_path)
    # 6 channels x (CNN tokens + 3 layers) x (mean, max, std) x d_model 128
    assert "300 training and 300 test windows of 6 channels at 50 Hz; 9216 features per window" in output
    scores = dict(re.findall(r"^(citrus-small|random twin)\s+test macro-F1 ([0-9.]+)", output, re.M))
    # 7 exercises of subjects never seen, 5 labels per class: far above chance (0.14); this draw gives 0.71 and 0.69
    assert set(scores) == {"citrus-small", "random twin"} and float(scores["citrus-small"]) > 0.5


def test_synthetic_pretraining_data_example(tmp_path, monkeypatch, capsys):
    output = run_example_in_process(
        monkeypatch,
        capsys,
        "synthetic_pretraining_data.py",
        "--tiny",
        "--output-dir",
        str(tmp_path / "s"),
        cwd=tmp_path,
    )
    from citrus_hf.data.synthetic import list_generators

    for name in list_generators():  # the dev extra installs every generator's simulator
        assert re.search(rf"^{name}\s+\S+\s+\d+ window\(s\) of 1000 samples per draw$", output, re.M), name
    share = float(re.search(r"of 100 windows drawn from the stream, ([0-9.]+) are synthetic", output).group(1))
    assert abs(share - 0.3) < 0.15  # binomial spread of 100 draws at 0.3: 0.046
    assert (tmp_path / "s" / "synthetic_windows.png").stat().st_size > 10_000
    settings = json.loads((tmp_path / "s" / "stream_settings.json").read_text())
    assert settings["synthetic_ratio"] == 0.3


def test_heart_rate_regression_example(tmp_path, monkeypatch, capsys):
    output = run_example_in_process(
        monkeypatch, capsys, "heart_rate_regression.py", "--output-dir", str(tmp_path / "hr"), cwd=tmp_path
    )
    fitted = float(re.search(r"from 20 labelled windows: test MAE ([0-9.]+) bpm", output).group(1))
    through_pipeline = float(re.search(r"pipeline on 47 raw test windows: MAE ([0-9.]+) bpm", output).group(1))
    minirocket = re.search(
        r"MiniRocket \+ ridge on the same windows \(every row at (\d+) Hz\): test MAE ([0-9.]+) bpm", output
    )
    # MiniRocket sees the 2048 Hz rows resampled to the 1 kHz of most, as the protocol's arm does
    assert minirocket.group(1) == "1000"
    minirocket = float(minirocket.group(2))
    # real ECG, 20 labelled windows: predicting the mean is 2-3 bpm off; this draw gives 0.83 and MiniRocket 0.98
    assert fitted < 2.0 and minirocket < 3.0
    # the pipeline aligns the raw windows (two rates) as fine-tuning scored them
    assert through_pipeline == pytest.approx(fitted, abs=0.02)
    assert (tmp_path / "hr" / "model" / "model.safetensors").is_file()


def test_lora_finetune_example_adapts_the_pretrained_model(tmp_path, monkeypatch, capsys):
    output = run_example_in_process(
        monkeypatch, capsys, "lora_finetune.py", "--tiny", "--output-dir", str(tmp_path / "lora"), cwd=tmp_path
    )
    accuracy = float(re.search(r"test accuracy ([0-9.]+), .* on citrus-small, 3 epochs", output).group(1))
    # 4 activities: chance is 0.25 (what the randomly initialised backbone scored); this draw gives 0.925
    assert accuracy > 0.6
    assert "merged and adapted outputs agree" in output
    assert (tmp_path / "lora" / "adapter" / "adapter_model.safetensors").is_file()


@pytest.mark.parametrize("name", ["long_recording_inference.py", "pipeline_inference.py"])
def test_inference_examples_give_the_citrus_finetune_command_of_their_classifier(name):
    """The docstring's `citrus finetune` command makes the folder `--model` takes: it parses, and it trains what the
    example's own `watch_classifier` trains."""
    import ast
    import shlex

    from citrus_hf.commands import finetune

    docstring = ast.get_docstring(ast.parse((EXAMPLES / name).read_text()))
    (command,) = re.findall(r"^ +citrus finetune (.*?)\n\n", docstring.replace("\\\n", " ") + "\n\n", re.M | re.S)
    settings = finetune.build_parser().parse(shlex.split(command))
    assert (settings.dataset, settings.model_config, settings.recipe, settings.normalization) == (
        "watch_exercises", "small", "finetune", "dataset",
    )  # fmt: skip
    assert settings.config_overrides == {"sampling_rate": 50, "context_length": 200, "patch_length": 20}
    assert (settings.trainer.max_steps, settings.trainer.eval_steps, settings.trainer.per_device_batch_size) == (
        600, 50, 32,
    )  # fmt: skip


def test_pretrain_your_recordings_example(tmp_path, offline_archives_cached, monkeypatch, capsys):
    output = run_example_in_process(
        monkeypatch,
        capsys,
        "pretrain_your_recordings.py",
        "--tiny",
        "--output-dir",
        str(tmp_path / "mine"),
        cwd=tmp_path,
    )
    assert (
        "(unlabelled; options: none)" in output and "sampling rate (Hz): 40, 160;  channels per window: 1, 64" in output
    )
    assert "4 steps on 1 process(es)" in output and (tmp_path / "mine" / "model" / "model.safetensors").is_file()
