"""The `citrus` command line used by habit (git, pip, hf, accelerate, transformers' example scripts): the audit
cli_habits findings 1-5, 8 and 11-14. Parsers are called in-process; a real process only where the habit needs one
(a closed pipe, `python -m citrus_hf`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from tiny_configs import save_tiny_classifier, tiny_config

from citrus_hf.commands import evaluate, export, finetune, pretrain, push
from citrus_hf.commands.data import build_parser as data_parser
from citrus_hf.commands.demo import build_parser as demo_parser
from citrus_hf.commands.main import BROKEN_PIPE_EXIT_CODE, main

# A pre-training run the tests below make: a tiny model on a synthetic stream, one step.
PRETRAIN = ["pretrain", "--dataset", "none", "--synthetic-ratio", "1", "--max-steps", "1", "--model-config", "tiny"]
PRETRAIN += ["--per-device-batch-size", "4", "--show-progress", "false"]


def _error(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: ") and captured.err.count("\n") == 1, captured
    return captured.err


@pytest.fixture
def fine_tuned(tmp_path):
    """A folder as `citrus finetune` leaves it: a classifier, its extractor and its records."""
    folder = save_tiny_classifier(tmp_path / "har")
    (folder / "finetune_results.json").write_text(json.dumps({"test_metrics": {"accuracy": 1.0}}))
    return folder


# ------------------------------------------------- 1, 4, 13. pretrain over a fine-tuned model, `~`, stdout


def test_pretrain_refuses_a_fine_tuned_models_folder(fine_tuned, capsys):
    """`citrus finetune` refuses a pre-training run's folder; `citrus pretrain` wrote over a fine-tuned model, leaving
    its finetune_results.json (which `citrus push` reads) beside the pre-training weights."""
    weights = (fine_tuned / "model.safetensors").read_bytes()
    assert main([*PRETRAIN, "--output-dir", str(fine_tuned)]) == 2
    error = _error(capsys)
    assert "already holds a model" in error and "--overwrite-output-dir" in error, error
    assert (fine_tuned / "model.safetensors").read_bytes() == weights


def test_pretrain_overwrites_a_model_under_home_when_asked(fine_tuned, tmp_path, monkeypatch, capsys):
    """`--output-dir ~/har` is the home folder's `har` (no shell expands `~` in a settings file or a quoted value),
    --overwrite-output-dir replaces the fine-tuned model whole, and stdout holds the result line only."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path / "har")
    assert main([*PRETRAIN, "--output-dir", "~/har", "--overwrite-output-dir"]) == 0
    captured = capsys.readouterr()
    assert not (tmp_path / "har" / "~").exists()
    config = json.loads((fine_tuned / "config.json").read_text())
    assert config["architectures"] == ["CiTrusForPretraining"]
    assert not (fine_tuned / "finetune_results.json").exists()
    assert captured.out.splitlines() == [
        f"1 steps on 1 process(es), loss {captured.out.split('loss ')[1][:6]}; saved to {fine_tuned}"
    ], captured.out
    assert "Synthetic share of the training windows 1" in captured.err


@pytest.mark.parametrize(
    ("parser", "argv", "field"),
    [
        (
            finetune.build_parser,
            ["--dataset", "~/sets/har", "--output-dir", "~/runs/har"],
            ("dataset", "output_dir"),
        ),
        (pretrain.build_parser, ["--output-dir", "~/runs/eeg", "--dataset", "~/sets/eeg"], ("output_dir", "dataset")),
        (evaluate.build_parser, ["--output-dir", "~/ev", "--checkpoints", "citrus-time=~/runs/eeg"], ("output_dir",)),
        (demo_parser, ["--output-dir", "~/demo"], ("output_dir",)),
        (
            export.build_parser,
            ["~/runs/har", "--output-dir", "~/deploy", "--cache-dir", "~/onnx"],
            ("model", "output_dir", "cache_dir"),
        ),
        (
            push.build_parser,
            ["~/runs/har", "me/citrus-har", "--eval-results", "~/ev/results.json"],
            ("checkpoint", "eval_results"),
        ),
        (
            lambda: data_parser("build"),
            ["basic_motions", "--output", "~/ds", "--cache-dir", "~/hfds"],
            ("output", "cache_dir"),
        ),
    ],
)
def test_home_is_expanded_in_every_path_option(parser, argv, field, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    arguments = parser().parse(argv)
    for name in field:
        assert getattr(arguments, name).startswith(str(tmp_path) + os.sep), (name, getattr(arguments, name))
    if parser is evaluate.build_parser:
        assert arguments.checkpoints == {"citrus-time": str(tmp_path / "runs" / "eeg")}


def test_home_is_expanded_in_a_settings_file(tmp_path, monkeypatch):
    """The audit's repro: `output_dir: ~/citrus_audit_ft` in a YAML file was checked at $HOME but written to ./~."""
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = tmp_path / "ft.yaml"
    settings.write_text("model: citrus-small\ndataset: basic_motions\nlabel_budget: 5\noutput_dir: ~/ft\n")
    assert finetune.build_parser().parse([str(settings)]).output_dir == str(tmp_path / "ft")
    assert finetune.build_parser().parse(["--config", "~/ft.yaml"]).output_dir == str(tmp_path / "ft")


# ------------------------------------------------- 2. --config=FILE


def test_config_with_equals_is_read(tmp_path):
    settings = tmp_path / "ev.yaml"
    settings.write_text("seeds: [7]\narms: [prior]\n")
    for argv in (["--config", str(settings)], [f"--config={settings}"]):
        parsed = evaluate.build_parser().parse(argv)
        assert (parsed.seeds, parsed.arms) == ([7], ["prior"]), argv
    parsed = evaluate.build_parser().parse([f"--config={settings}", "--seeds", "3"])
    assert parsed.seeds == [3]  # the command line still overrides the file


def test_two_settings_files_are_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # (run, the evaluation would write citrus_evaluation/ in the working folder)
    settings = tmp_path / "ev.yaml"
    settings.write_text("seeds: [7]\n")
    assert main(["evaluate", str(settings), f"--config={settings}"]) == 2
    assert "one settings file" in _error(capsys)


def test_pretrain_starts_from_a_named_recipe_that_a_file_and_the_command_line_override(tmp_path, capsys):
    """`citrus pretrain --recipe base` takes `PRETRAIN_RECIPES["base"]`; a settings file overrides the recipe and the
    command line overrides both; the recipe's settings count as given (its bf16 wins over Accelerate's)."""
    from citrus_hf.training.pretrain import PRETRAIN_RECIPES

    recipe = PRETRAIN_RECIPES["base"]
    parser = pretrain.build_parser()
    parsed = parser.parse(["--recipe", "base", "--output-dir", "x", "--max-steps", "10"])
    assert (parsed.max_steps, parsed.per_device_batch_size, parsed.mixed_precision) == (10, 256, "bf16")
    assert parsed.config_overrides == recipe["config_overrides"] and parsed.dataset == recipe["dataset"]
    assert {"mixed_precision", "max_steps", "synthetic_ratio"} <= parser.given
    settings = tmp_path / "pre.yaml"
    settings.write_text("synthetic_ratio: 0.25\nmax_steps: 50\n")
    parsed = parser.parse(["--recipe=base", "--config", str(settings), "--output-dir", "x", "--max-steps", "7"])
    assert (parsed.synthetic_ratio, parsed.max_steps, parsed.per_device_batch_size) == (0.25, 7, 256)
    # the same parser without a recipe is back at the command's own defaults
    plain = parser.parse(["--output-dir", "x"])
    assert (plain.per_device_batch_size, plain.config_overrides) == (32, {}) and "mixed_precision" not in parser.given
    assert main(["pretrain", "--recipe", "huge", "--output-dir", "x"]) == 2
    assert "unknown recipe 'huge'; recipes: base" in _error(capsys)


# ------------------------------------------------- 3. no abbreviated options


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["evaluate", "--model", "runs/har"], ["--model (", "--checkpoints", "--model-config"]),
        (["pretrain", "--output-dir", "x", "--model-conf", "tiny"], ["--model-conf (", "--model-config"]),
        (["finetune", "--dataset", "d", "--output-dir", "x", "--lr", "3e-4"], ["--lr (", "--learning-rate"]),
        (["finetune", "--dataset", "d", "--out", "x"], ["--out (did you mean --output-dir?)"]),
        (["finetune", "--dataset", "d", "--output-dir", "x", "--overwrite"], ["--overwrite (did you mean"]),
        (["evaluate", "--seed", "1"], ["--seed (did you mean --seeds?)"]),
        (["push", "runs/har", "me/x", "--data", "me/set"], ["--data (did you mean --dataset?)"]),
        (["--vers"], ["unrecognized arguments: --vers"]),
    ],
)
def test_options_are_not_abbreviated(argv, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # (run, a command would write citrus_evaluation/ or `x` in the working folder)
    assert main(argv) == 2
    error = _error(capsys)
    assert all(word in error for word in words), error


# ------------------------------------------------- 8. a flag before a positional argument


@pytest.mark.parametrize(
    ("parser", "argv", "expected"),
    [
        (push.build_parser, ["--private", "runs/har", "me/x"], {"private": True, "checkpoint": "runs/har"}),
        (push.build_parser, ["--private", "--create-pr", "runs/har", "me/x"], {"private": True, "create_pr": True}),
        (push.build_parser, ["--private", "false", "runs/har", "me/x"], {"private": False, "repo_id": "me/x"}),
        (push.build_parser, ["runs/har", "me/x", "--private", "yes"], {"private": True}),
        (lambda: data_parser("info"), ["--json", "basic_motions"], {"json": True, "name": "basic_motions"}),
        (lambda: data_parser("fetch"), ["--force", "basic_motions"], {"force": True, "name": "basic_motions"}),
        (demo_parser, ["--quick", "false"], {"quick": False}),
    ],
)
def test_a_flag_does_not_swallow_a_positional_argument(parser, argv, expected):
    parsed = parser().parse(argv)
    assert {name: getattr(parsed, name) for name in expected} == expected


# ------------------------------------------------- 12. "did you mean" for --no-X and for commands


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["pretrain", "--output-dir", "x", "--no-progress"], "(did you mean --no-show-progress?)"),
        (
            ["finetune", "--output-dir", "x", "--dataset", "b", "--no-progress-bar"],
            "(did you mean --no-show-progress?)",
        ),
        (["finetune", "--output-dir", "x", "--dataset", "b", "--no-lora"], "(did you mean --lora false?)"),
        (["eval"], "unknown subcommand 'eval' (did you mean evaluate?)"),
        (["fine-tune"], "unknown subcommand 'fine-tune' (did you mean finetune?)"),
        (["data", "lst"], "unknown subcommand 'lst' (did you mean list?)"),
    ],
)
def test_did_you_mean_turns_off_what_no_asks_off(argv, words, capsys):
    assert main(argv) == 2
    assert words in _error(capsys)


# ------------------------------------------------- 13, 14. stdout holds results; a missing folder is named


def test_demo_says_what_it_fetches_on_stderr(monkeypatch, capsys):
    import citrus_hf.data
    import citrus_hf.evaluation.protocol

    class Stop(Exception):
        pass

    def stop(config):
        raise Stop

    monkeypatch.setattr(citrus_hf.data, "fetch_offline_corpus", lambda: None)
    monkeypatch.setattr(citrus_hf.evaluation.protocol, "run_protocol", stop)
    with pytest.raises(Stop):
        main(["demo", "--quick"])
    captured = capsys.readouterr()
    assert captured.out == "" and "Fetching the offline real corpus" in captured.err


def test_push_notes_go_to_stderr_and_a_missing_folder_is_named(tmp_path, monkeypatch, capsys):
    import citrus_hf.publishing.push
    from citrus_hf import CiTrusForSequenceClassification

    folder = tmp_path / "har"
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(folder)  # no preprocessor_config.json
    url = "https://huggingface.co/me/citrus-har/commit/1"
    published = SimpleNamespace(pr_url=None, commit_url=url)
    monkeypatch.setattr(citrus_hf.publishing.push, "push_to_hub", lambda *args, **kwargs: published)
    assert main(["push", str(folder), "me/citrus-har"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"Pushed {folder} to me/citrus-har: {url}\n"
    assert "has no preprocessor_config.json" in captured.err

    monkeypatch.chdir(tmp_path)
    assert main(["push", "runs/har", "me/citrus-har"]) == 2
    error = _error(capsys)
    assert f"runs/har does not exist (relative to {tmp_path})" in error, error


# ------------------------------------------------- 5, 11. a closed pipe; python -m citrus_hf


def _closed_pipe_run(command: list[str]) -> subprocess.CompletedProcess:
    """`command` writing into a pipe whose reader has gone (`command | true`)."""
    read, write = os.pipe()
    os.close(read)
    try:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        return subprocess.run(command, stdout=write, stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    finally:
        os.close(write)


def test_a_closed_pipe_ends_the_command_quietly():
    """`citrus data list | head -1` printed "error: [Errno 32] Broken pipe" and exited 2."""
    completed = _closed_pipe_run([sys.executable, "-m", "citrus_hf", "data", "list"])
    assert (completed.returncode, completed.stderr) == (BROKEN_PIPE_EXIT_CODE, "")
    completed = _closed_pipe_run([sys.executable, "-m", "citrus_hf", "--help"])  # argparse drops its write error
    assert completed.returncode in (0, BROKEN_PIPE_EXIT_CODE) and completed.stderr == ""


def test_a_closed_pipe_ends_a_script_quietly():
    script = "from citrus_hf.commands.script import run_script\nrun_script(lambda: print('row\\n' * 100000))\n"
    completed = _closed_pipe_run([sys.executable, "-c", script])
    assert (completed.returncode, completed.stderr) == (BROKEN_PIPE_EXIT_CODE, "")


def test_another_broken_pipe_is_still_an_error(capsys):
    """Only stdout's reader going away is quiet: a BrokenPipeError from another pipe is reported as before."""
    from citrus_hf.commands import main as main_module

    def broken(argv):
        raise BrokenPipeError(32, "Broken pipe")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(main_module, "stdout_is_closed", lambda: False)
        patch.setattr(main_module, "_runner", lambda *command: broken)
        assert main(["data", "list"]) == 2
    assert "Broken pipe" in capsys.readouterr().err


def test_python_m_citrus_hf_runs_the_command():
    completed = subprocess.run(
        [sys.executable, "-m", "citrus_hf", "--version"], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0 and completed.stdout.startswith("citrus-hf "), completed
    assert (Path(__file__).parents[1] / "src" / "citrus_hf" / "__main__.py").is_file()
