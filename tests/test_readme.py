"""The README still does what it says when pasted: every `citrus` command line of its shell blocks parses with the
command's own parser (an option renamed or removed fails here, not in a user's shell), and its self-contained Python
example runs and prints what its comments promise."""

from __future__ import annotations

import importlib
import itertools
import re
import shlex
from pathlib import Path

import pytest

from citrus_hf.commands import COMMANDS

README = Path(__file__).resolve().parents[1] / "README.md"


def _fenced_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), re.S | re.M)


def _citrus_command_lines() -> list[list[str]]:
    """The argument lists after `citrus` (or `-m citrus_hf.commands`) of every command in the README's bash blocks:
    continuation lines joined, comments dropped, `&&` chains split."""
    commands = []
    for block in _fenced_blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            for is_command, group in itertools.groupby(shlex.split(line, comments=True), key=lambda word: word != "&&"):
                command = list(group)
                if not is_command:  # the "&&" between two commands
                    continue
                if command[:1] == ["citrus"]:
                    commands.append(command[1:])
                elif "citrus_hf.commands" in command:
                    commands.append(command[command.index("citrus_hf.commands") + 1 :])
    return commands


def _parse(argv: list[str]):
    name, rest = argv[0], argv[1:]
    module = importlib.import_module(COMMANDS[name].module)
    if name == "data":
        return module.build_parser(rest[0]).parse(rest[1:])
    return module.build_parser().parse(rest)


def test_readme_has_the_command_lines_this_test_reads():
    names = {argv[0] for argv in _citrus_command_lines()}
    assert {"demo", "finetune", "evaluate", "push", "export", "pretrain", "data"} <= names, names


@pytest.mark.parametrize("argv", _citrus_command_lines(), ids=lambda argv: " ".join(argv)[:60])
def test_readme_command_line_parses(argv):
    assert argv[0] in COMMANDS, f"the README runs `citrus {argv[0]}`, which is not a command"
    _parse(argv)


def test_readme_alignment_example_runs(capsys):
    (example,) = [block for block in _fenced_blocks("python") if "extractor(ecg" in block]
    exec(compile(example, str(README), "exec"), {"__name__": "readme_example"})
    assert capsys.readouterr().out.strip() == "torch.Size([4, 3])"


def test_readme_fusion_example_runs(capsys):
    (example,) = [block for block in _fenced_blocks("python") if "CiTrusFusionDataCollator()" in block]
    exec(compile(example, str(README), "exec"), {"__name__": "readme_example"})
    assert capsys.readouterr().out.strip().endswith("torch.Size([4, 2])")


def test_readme_streaming_example_runs_after_the_pipeline_example(tmp_path, capsys):
    """The streaming block reused the pipeline block's 6-channel `classify` with `(time,)` chunks and a `chunks` it
    never made: it failed as pasted. Run after the pipeline block's `recording`, with a tiny 6-channel classifier at
    10 Hz for `runs/har`: the stream's whole windows, in stream time."""
    import numpy as np
    import torch
    from tiny_configs import tiny_config
    from transformers import pipeline

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

    (example,) = [block for block in _fenced_blocks("python") if "def whole_windows(" in block]
    (before,) = [block for block in _fenced_blocks("python") if 'classify = pipeline(model="runs/har")' in block]
    config = tiny_config(num_channels=6, sampling_rate=10.0, context_length=100, patch_length=10, num_labels=4)
    torch.manual_seed(0)
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "har")
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "har")
    names = {"__name__": "readme_example", "np": np, "classify": pipeline(model=str(tmp_path / "har"))}
    exec(next(line for line in before.splitlines() if line.startswith("recording = ")), names)
    exec(compile(example, str(README), "exec"), names)
    starts = re.findall(r"\(([\d.]+), '[^']*'\)", capsys.readouterr().out)
    assert [float(start) for start in starts] == [10.0 * k for k in range(6)]  # 60 s: 6 windows of 10 s


def _windows_of(runs: list[tuple[str, int]], seconds: float) -> list[dict]:
    """A classification pipeline's windows, back to back, `seconds` long: `count` windows of `label` per run."""
    labels = [label for label, count in runs for _ in range(count)]
    return [
        {"start": k * seconds, "end": (k + 1) * seconds, "label": label, "score": 0.9, "no_signal": None}
        for k, label in enumerate(labels)
    ]


def _result(windows: list[dict]) -> dict:
    """The pipeline's result of back-to-back `windows`: each label's seconds, its windows' (`label_seconds`)."""
    seconds: dict[str, float] = {}
    for window in windows:
        seconds[window["label"]] = seconds.get(window["label"], 0.0) + window["end"] - window["start"]
    return {"windows": windows, "label_seconds": seconds, "no_signal_windows": 0}


def _text_block(start: str) -> str:
    (block,) = [block for block in _fenced_blocks("text") if block.startswith(start)]
    return " ".join(block.split())


def test_readme_time_per_label_line_is_what_predict_prints():
    """The **Time per label** line (58 min scored: Walking 31.5 min, Sitting 20 min, ...), as `citrus predict` prints
    it for windows of those labels."""
    from citrus_hf import CiTrusConfig
    from citrus_hf.commands.predict import _time_line

    windows = _windows_of([("Walking", 63), ("Sitting", 40), ("Lying", 13)], 30.0)
    labels = ["Walking", "Sitting", "Lying"]
    config = CiTrusConfig(num_labels=3, id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)})
    result = _result(windows)
    line = _time_line("session.npy", result, config)
    shown = _text_block("session.npy: time per label")
    assert shown.endswith(", ...") and line.startswith(shown.removesuffix(", ...")), (line, shown)


def test_readme_sleep_statistics_line_is_what_predict_prints():
    """The **Sleep statistics** line (lights out at 22:40, on at 06:55: 495 min; TST 412.5 min, ...), as `citrus
    predict` prints it for a night staged in 30 s windows from lights out: 14.5 min awake, then N1, N2, the first REM
    92 min after sleep onset, and the final awakening."""
    from citrus_hf import CiTrusConfig
    from citrus_hf.commands.predict import _time_line
    from citrus_hf.inference.time_use import sleep_summary
    from citrus_hf.vocabulary_citrus import sleep_stages_of

    minutes = [("W", 14.5), ("N1", 20.5), ("N2", 71.5), ("REM", 91.0), ("N2", 149.5), ("N3", 80.0), ("W", 68.0)]
    windows = _windows_of([(stage, round(length * 2)) for stage, length in minutes], 30.0)
    stages = ["W", "N1", "N2", "N3", "REM"]
    config = CiTrusConfig(num_labels=5, id2label=dict(enumerate(stages)), label2id={n: i for i, n in enumerate(stages)})
    sleep = sleep_summary(windows, 495 * 60.0, sleep_stages_of(stages))
    result = _result(windows)
    bounds = "lights out at 22:40:00 (--lights-off); lights on at 06:55:00 (--lights-on)"
    assert _time_line("night.edf", result, config, sleep, bounds) == _text_block("night.edf: sleep")
