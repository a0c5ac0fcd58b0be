"""The inference examples run end to end (`--tiny`) on the real offline corpus (fetch it first with
`citrus data fetch --offline-corpus`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from test_examples_training import run_example_in_process, run_example_in_process_captured

from citrus_hf.inference.backends import onnx_export_available


def test_pipeline_inference_example(tmp_path, monkeypatch, capsys):
    output = run_example_in_process(
        monkeypatch, capsys, "pipeline_inference.py", "--tiny", "--onnx-cache-dir", str(tmp_path / "onnx"), cwd=tmp_path
    )
    assert "pipeline(model=...) chose the task 'time-series-classification'" in output
    # the folder of the classifier it trained is named, so that `--model` can re-use it
    saved = re.search(r"^Classifier saved in (\S+) \(re-use it with --model \1\)$", output, re.M).group(1)
    assert (Path(saved) / "model.safetensors").is_file()
    assert Path(saved).is_relative_to(tmp_path)  # the test's own folder, not the machine's temporary one
    assert re.search(r"28 whole recordings of the subjects the model never saw \(watch-\d\d, watch-\d\d\)", output)
    accuracy = float(re.search(r"Recording accuracy: ([0-9.]+)", output).group(1))
    assert 0.0 <= accuracy <= 1.0
    paths = re.findall(r"^  (torch|bf16|onnxruntime|auto) +([\w+]+) +(\d+) +(\d+) / (\d+) +([0-9.e+-]+)", output, re.M)
    expected = {"torch", "bf16", "auto"} | ({"onnxruntime"} if onnx_export_available() is None else set())
    assert {path[0] for path in paths} == expected
    for _, ran, windows, same, total, difference in paths:
        assert int(windows) == int(total) > 200
        assert int(same) >= 0.95 * int(total)  # a briefly trained tiny model: a near tie may flip in bf16, no more
        # "auto" may run a call's large and small batches on two paths ("bf16+torch"): fp32's bound only without bf16
        assert float(difference) < (5e-2 if "bf16" in ran.split("+") else 1e-4)
    # the windows of the set's test split, through each path (no "auto": it races the others)
    split = re.findall(r"^  (torch|bf16|onnxruntime) +(\d+) / (\d+) +([0-9.e+-]+) +([0-9.]+)$", output, re.M)
    assert {path[0] for path in split} == expected - {"auto"}
    for backend, same, total, difference, accuracy in split:
        assert int(total) == 458 and int(same) >= 0.95 * 458 and 0.0 <= float(accuracy) <= 1.0
        assert float(difference) < (1e-4 if backend in ("torch", "onnxruntime") else 5e-2)
    assert re.search(r"Embedding of one recording: 192 values \(mean of \d+ window embeddings", output)


def test_evaluate_and_export_example(tmp_path, monkeypatch, capsys):
    # one seed: the finetune below reproduces seed 0's run; a second seed's two fits were a quarter of the test
    arguments = ["--tiny", "--seeds", "0", "--output-dir", str(tmp_path / "run")]
    completed = run_example_in_process_captured(monkeypatch, capsys, "evaluate_and_export.py", *arguments, cwd=tmp_path)
    output = completed.out
    assert "| watch_exercises | 5/class | citrus-small | minirocket |" in output  # the evaluate report's gap table
    assert re.search(r"^ +5/class: [+-][0-9.]+ pts, citrus-small ahead in [01]/1$", output, re.M)
    runs = [json.loads(line) for line in (tmp_path / "run" / "evaluation" / "runs.jsonl").read_text().splitlines()]
    assert sorted((run["arm"], run["seed"]) for run in runs) == [("citrus-small", 0), ("minirocket", 0)]
    # `citrus finetune` with the evaluation's budget and seed draws the same windows: the same model and score
    fitted, evaluated = re.search(
        r"test macro-F1 ([0-9.]+) \(the evaluation's seed-0 run: ([0-9.]+)\)", output
    ).groups()
    assert fitted == evaluated and float(fitted) > 0.5  # 7 exercises: chance is 0.14
    # the probe pools the tokens' dynamics too: this export is the default suite's of that pooling
    assert json.loads((tmp_path / "run" / "model" / "config.json").read_text())["pooling"] == "mean_max_std_dynamics"
    if onnx_export_available() is None:
        assert "Outputs match fp32 PyTorch within" in output
        assert any(path.suffix == ".onnx" for path in (tmp_path / "run" / "onnx").iterdir())
    ran, windows, same = re.search(r"backend='auto' ran on (\w+) .*: (\d+) windows, (\d+) / \d+ with", output).groups()
    assert ran in ("torch", "bf16", "onnxruntime") and int(windows) > 50
    # `citrus predict` on the same recording saved as .npy: the fp32 pipeline's windows, in a CSV
    assert (
        f"citrus predict: {windows} windows in windows.csv, {windows} / {windows} with the pipeline's fp32 label"
        in output
    )
    assert (tmp_path / "run" / "windows.png").read_bytes()[:4] == b"\x89PNG"
    assert int(same) >= 0.95 * int(windows)  # bf16 may flip a near tie, nothing more
    # progress=True: the bar over the recording's seconds, on stderr
    assert re.search(r"recording: 100%\|.*\| (\d+)/\1 s", completed.err)
