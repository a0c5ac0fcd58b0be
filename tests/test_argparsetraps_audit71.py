"""Traps users reported against Python's argparse, checked against the `citrus` command line (audit argparsetraps,
round 71): a settings file's values are checked and shaped as the command line's are, a list option given twice is
refused, a JSON data file given first is the dataset, and a list option that took the positional arguments says so.
Parsers run in-process; no model is loaded."""

from __future__ import annotations

import json

import numpy as np
import pytest

from citrus_hf.commands import UsageError, export, finetune, predict, push
from citrus_hf.commands.data import build_parser as data_parser
from citrus_hf.commands.evaluate import build_parser as evaluate_parser

# The command modules by name: each test parses its command line in-process, so that a test run against code without
# the check fails on its assertion instead of running the command (an evaluation, a model's download).
PARSERS = {
    "predict": predict.build_parser,
    "evaluate": evaluate_parser,
    "push": push.build_parser,
    "export": export.build_parser,
    "finetune": finetune.build_parser,
}


def _refused(argv: list[str]) -> str:
    """The one-line usage error `citrus ARGV` stops with (before it loads anything)."""
    with pytest.raises(UsageError) as raised:
        PARSERS[argv[0]]().parse(argv[1:])
    message = str(raised.value)
    assert "\n" not in message, message
    return message


@pytest.fixture
def recording(tmp_path):
    path = tmp_path / "rec.npy"
    np.save(path, np.zeros((3, 1000), dtype=np.float32))
    return path


# ------------------------------------------------- 1. a settings file's single value for a list setting


def test_a_single_value_for_a_list_setting_in_a_file_is_a_list_of_one(tmp_path, recording):
    """`recordings: rec.npy` in a settings file was kept as text, and predict read each of its letters as a file
    ("recording 'r' does not exist"); `tag: production` gave push the tags p, r, o, ...; `channels: 0` crashed
    with a TypeError. The command line's `--tag production` is a list of one: so is the file's."""
    settings = tmp_path / "predict.yaml"
    settings.write_text(f"model: citrus-small\nrecordings: {recording}\nchannels: 0\n")
    arguments = predict.build_parser().parse([str(settings)])
    assert arguments.recordings == [str(recording)] and arguments.channels == [0]
    settings = tmp_path / "push.yaml"
    settings.write_text("tag: production\nbase_model: citrus-small\n")
    arguments = push.build_parser().parse([str(settings), "runs/har", "me/har"])
    assert arguments.tag == ["production"] and arguments.base_model == ["citrus-small"]


# ------------------------------------------------- 2. a list option given twice


@pytest.mark.parametrize(
    "argv, option",
    [
        (["predict", "m", "REC", "--channels", "0", "1", "--channels", "2"], "--channels"),
        (["evaluate", "--budgets", "1", "--budgets", "5"], "--budgets"),
        (["evaluate", "--arms=minirocket", "--arms", "citrus-small"], "--arms"),
        (["push", "--tag", "a", "runs/har", "me/har", "--tag", "b"], "--tag"),
    ],
)
def test_a_list_option_given_twice_is_refused(argv, option, recording):
    """argparse keeps the last of an option given twice: `--channels 0 1 --channels 2` scored channel 2 alone, and
    `--budgets 1 --budgets 5` ran one budget, with nothing said. A dict option's pairs add up; a list's did not."""
    error = _refused([str(recording) if arg == "REC" else arg for arg in argv])
    assert f"argument {option}: given 2 times" in error and f"after one {option}" in error, error


def test_pairs_given_twice_still_add_up_and_a_single_value_option_still_takes_the_last():
    arguments = finetune.build_parser().parse(
        ["--output-dir", "o", "--dataset", "d", "--config-overrides", "d_model=16", "--config-overrides", "n_layers=1"]
        + ["--learning-rate", "1e-3", "--learning-rate", "2e-3"]
    )
    assert arguments.config_overrides == {"d_model": 16, "n_layers": 1}
    assert arguments.trainer.learning_rate == 2e-3


# ------------------------------------------------- 3. a settings file's choices and yes/no values


@pytest.mark.parametrize(
    "command, settings, argv, words",
    [
        ("export", "pooling: median\n", ["citrus-small"], ["pooling", "'median'", "mean_max"]),
        ("predict", "backend: tensorrt\n", ["citrus-small", "REC"], ["backend", "'tensorrt'", "onnxruntime"]),
        ("finetune", "nan_policy: zero\noutput_dir: o\ndataset: d\n", [], ["nan_policy", "'zero'", "interpolate"]),
    ],
)
def test_a_settings_files_choice_is_checked_as_the_command_lines(command, settings, argv, words, tmp_path, recording):
    """argparse checks `choices` on the values it parses, never on defaults, and a settings file's values become
    defaults: `--pooling median` was refused, `pooling: median` in a file was taken (and `nan_policy: zero` reached
    the feature extractor)."""
    path = tmp_path / "settings.yaml"
    path.write_text(settings)
    error = _refused([command, "--config", str(path), *(str(recording) if arg == "REC" else arg for arg in argv)])
    assert "invalid choice" in error and all(word in error for word in words), error


def test_a_settings_files_yes_no_value_that_is_neither_is_one_line(tmp_path):
    """`lora: maybe` in a settings file crashed with argparse's ArgumentTypeError and its traceback."""
    path = tmp_path / "settings.yaml"
    path.write_text("lora: maybe\noutput_dir: o\ndataset: d\n")
    error = _refused(["finetune", str(path)])
    assert "lora" in error and "'maybe'" in error and "true/false" in error, error


def test_a_settings_files_choices_and_lists_still_pass(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("pooling: mean_max\nchannel_pooling: mean\n")
    arguments = export.build_parser().parse([str(path), "citrus-small"])
    assert (arguments.pooling, arguments.channel_pooling) == ("mean_max", "mean")
    path.write_text("budgets: [1, all]\narms: [minirocket]\nmixed_precision: null\n")
    config = evaluate_parser().parse([str(path)])
    assert [str(b) for b in config.budgets] == ["1", "all"] and config.arms == ["minirocket"]


# ------------------------------------------------- 4. a JSON data file given first


def test_a_json_data_file_given_first_is_the_dataset_not_a_settings_file(tmp_path, monkeypatch):
    """`citrus data info train.json` (data files are a set of one's own) read train.json as a settings file:
    "train.json must hold a mapping of settings". A JSON file given first is a settings file when it holds settings
    of the command, the dataset otherwise."""
    monkeypatch.chdir(tmp_path)
    rows = [{"signal": [[0.0] * 100], "label": i % 2, "sampling_rate": 50} for i in range(4)]
    (tmp_path / "train.json").write_text(json.dumps(rows))
    (tmp_path / "columns.json").write_text(json.dumps({"signal": [[[0.0] * 100]], "label": [0]}))
    for subcommand in ("info", "build"):
        assert data_parser(subcommand).parse(["train.json", "--sampling-rate", "50"]).name == "train.json"
        assert data_parser(subcommand).parse(["columns.json"]).name == "columns.json"
    (tmp_path / "settings.json").write_text(json.dumps({"name": "basic_motions", "window-seconds": 2}))
    arguments = data_parser("info").parse(["settings.json"])
    assert (arguments.name, arguments.window_seconds) == ("basic_motions", 2)


# ------------------------------------------------- 5. a list option before the positional arguments


@pytest.mark.parametrize(
    "argv, option, positionals",
    [
        (["predict", "--channels", "0", "1", "citrus-small", "REC"], "--channels", "model, recordings"),
        (["push", "--tag", "a", "b", "runs/har", "me/har"], "--tag", "checkpoint, repo_id"),
    ],
)
def test_a_list_option_that_took_the_positional_arguments_says_so(argv, option, positionals, recording):
    """`citrus predict --channels 0 1 MODEL REC` said only "the following arguments are required: model,
    recordings", which were there: the list option took them. The error names it and the fix (`--`)."""
    argv = [str(recording) if arg == "REC" else arg for arg in argv]
    error = _refused(argv)
    assert positionals in error and f"{option} took" in error and " -- " in error, error
    at = argv.index(option) + 3  # the fix the error names: `--` ends the option's values
    arguments = PARSERS[argv[0]]().parse(argv[1:at] + ["--"] + argv[at:])
    assert getattr(arguments, option[2:]) == argv[at - 2 : at]


# ------------------------------------------------- 6. a settings file's KEY=VALUE setting written as on the command line


def test_a_settings_files_pairs_written_as_on_the_command_line_are_read_as_there(tmp_path):
    """`config_overrides: d_model=16` (the command line's `--config-overrides d_model=16`) stayed text and crashed
    finetune with "build_config() argument after ** must be a mapping, not str"; `dataset_options:
    [window_seconds=5]` did the same with a list. Both are read as the command line reads them."""
    path = tmp_path / "settings.yaml"
    path.write_text(
        "output_dir: o\ndataset: d\nconfig_overrides: d_model=16 cnn_channels=[8,16]\n"
        "dataset_options: [window_seconds=5, hop_seconds=2.5]\nlr_scheduler_type: cosine_with_min_lr\nlr_scheduler_kwargs: '{\"min_lr_rate\": 0.1}'\n"
    )
    arguments = finetune.build_parser().parse([str(path)])
    assert arguments.config_overrides == {"d_model": 16, "cnn_channels": [8, 16]}
    assert arguments.dataset_options == {"window_seconds": 5, "hop_seconds": 2.5}
    assert arguments.trainer.lr_scheduler_kwargs == {"min_lr_rate": 0.1}  # JSON text, as before
    path.write_text("sampling_rate: basic_motions=100\ndataset_budgets: hr_ecg=5,all\n")
    config = evaluate_parser().parse([str(path)])
    assert config.sampling_rate == {"basic_motions": 100.0} and config.dataset_budgets["hr_ecg"] == ["5", "all"]
    path.write_text("output_dir: o\ndataset: d\nconfig_overrides: d_model\n")
    error = _refused(["finetune", str(path)])
    assert "config_overrides" in error and "KEY=VALUE" in error and "'d_model'" in error, error


# ------------------------------------------------- 7. defaults shown in --help


def test_push_help_names_every_default_commit_title(capsys):
    """`citrus push --help` named one default title, "Upload CiTrus model, feature extractor and model card"; an
    adapter's commit is titled "Upload CiTrus LoRA adapter" and a fusion model's names its processor."""
    with pytest.raises(SystemExit):
        push.build_parser().parse(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert (
        "Upload CiTrus LoRA adapter" in help_text
        and "Upload CiTrus fusion model, processor and model card" in help_text
    )


# ------------------------------------------------- 8. positional arguments on both sides of an option


def test_recordings_on_both_sides_of_an_option_are_all_read(recording):
    """`citrus predict MODEL a.npy --sampling-rate 100 b.npy` said "unrecognized arguments: b.npy": argparse takes
    a positional list in one piece. The positional arguments are read wherever they stand (argparse's intermixed
    parsing), as `git add a --verbose b` reads both."""
    arguments = predict.build_parser().parse(
        ["citrus-small", str(recording), "--sampling-rate", "100", "b.npy", "--no-show-progress", "c.npy"]
    )
    assert arguments.recordings == [str(recording), "b.npy", "c.npy"] and arguments.sampling_rate == 100
    assert arguments.show_progress is False
    arguments = push.build_parser().parse(["runs/har", "--private", "--tag", "a", "b", "--", "me/har"])
    assert (arguments.checkpoint, arguments.repo_id, arguments.private, arguments.tag) == (
        "runs/har",
        "me/har",
        True,
        ["a", "b"],
    )
    with pytest.raises(UsageError, match="unrecognized arguments: extra"):
        export.build_parser().parse(["citrus-small", "--pooling", "mean", "extra"])
