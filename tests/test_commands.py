"""The `citrus` command line: every option comes from a dataclass field (defaults in `--help`, settings files, one
naming scheme across commands), and one error boundary turns a user error into one `error: ...` line (exit code 2)."""

from __future__ import annotations

import json
import sys

import pytest
from tiny_configs import tiny_config

from citrus_hf.commands import COMMANDS
from citrus_hf.commands.main import main

# A labelled set the tests below write with save_to_disk: real BasicMotions recordings without their rate column.
WITHOUT_RATE = "__without_rate__"


@pytest.fixture(scope="module")
def without_rate(tmp_path_factory):
    """BasicMotions (train and test, 10 Hz) saved without its `sampling_rate` column."""
    from citrus_hf.data import build_dataset

    folder = tmp_path_factory.mktemp("without_rate")
    build_dataset("basic_motions").remove_columns("sampling_rate").save_to_disk(str(folder))
    return folder


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

    folder = tmp_path_factory.mktemp("checkpoint")
    config = tiny_config(num_labels=2)
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    return folder


def _settings_file(tmp_path):
    path = tmp_path / "finetune.yaml"
    path.write_text("dataset: basic_motions\noutput_dir: out\nlearning_rates: 0.1\n")
    return str(path)


# (what is wrong, the command line, words the one-line message must contain)
BAD_INPUTS = [
    ("unknown command", ["frobnicate"], "unknown subcommand 'frobnicate'"),
    ("unknown option", ["finetune", "--dataset", "basic_motions", "--output-dir", "x", "--epochs", "3"], "--epochs"),
    ("missing option", ["finetune", "--output-dir", "x"], "required: --dataset"),
    ("bad choice", ["pretrain", "--output-dir", "x", "--report-to", "wandb"], "invalid choice: 'wandb'"),
    ("bad number", ["finetune", "--dataset", "d", "--output-dir", "x", "--learning-rate", "fast"], "invalid float"),
    ("no KEY=VALUE", ["pretrain", "--output-dir", "x", "--config-overrides", "d_model"], "KEY=VALUE"),
    ("unknown dataset", ["finetune", "--dataset", "no_such_set", "--output-dir", "{tmp}/o"], "no_such_set"),
    (
        "missing model folder",
        ["finetune", "--dataset", "basic_motions", "--model", "{tmp}/no_such_checkpoint", "--output-dir", "{tmp}/o"],
        "no_such_checkpoint",
    ),
    ("bad budget", ["finetune", "--dataset", "basic_motions", "--label-budget", "0", "--output-dir", "x"], "budget"),
    (
        "bad config value",
        ["pretrain", "--output-dir", "{tmp}/o", "--model-config", "tiny", "--config-overrides", "patch_length=7"],
        "patch_length",
    ),
    ("seeds and a seed count", ["evaluate", "--seeds", "1", "2", "--num-seeds", "3"], "not both"),
    ("missing settings file", ["finetune", "{tmp}/nowhere.yaml"], "nowhere.yaml"),
    ("unknown setting in a file", ["finetune", "{settings}"], "learning_rates"),
    ("unknown data name", ["data", "fetch", "no_such_dataset"], "no_such_dataset"),
    (
        "config value of the wrong type",
        ["pretrain", "--output-dir", "{tmp}/o", "--model-config", "tiny", "--config-overrides", "d_model=abc"],
        "`d_model` must be an integer, got 'abc'",
    ),
    (
        "misspelt dataset",
        ["finetune", "--dataset", "basic_motion", "--output-dir", "x"],
        "did you mean 'basic_motions'?",
    ),
    (
        "per-dataset setting naming no dataset",
        ["evaluate", "--datasets", "basic_motions", "--arms", "prior", "--alignment", "basic_motion=interpolate"],
        "--alignment names 'basic_motion', which is not among --datasets (basic_motions)",
    ),
    (
        "negative budget",
        ["finetune", "--dataset", "basic_motions", "--label-budget", "-5", "--output-dir", "x"],
        "a positive number of examples per class",
    ),
    (
        "dataset folder that is a file",
        ["finetune", "--dataset", "{settings}", "--output-dir", "x"],
        "is a file `datasets.load_dataset` has no reader for",
    ),
    (
        "output folder below a file",
        ["finetune", "--dataset", "basic_motions", "--output-dir", "{settings}/run"],
        "cannot be created: ",
    ),
    (
        "data build into a file",
        ["data", "build", "basic_motions", "--output", "{settings}"],
        "is a file; give a folder",
    ),
    ("export cache that is a file", ["export", "citrus-small", "--cache-dir", "{settings}"], "--cache-dir"),
    ("push without a checkpoint", ["push", "{tmp}/nothing", "user/repo"], "config.json"),
    ("push to a bad repo id", ["push", "{checkpoint}", "no-namespace"], "namespace/name"),
    # refused by the parser, before the model loads (it took 13 s to load citrus-small and then refuse)
    (
        "export with a misspelt pooling",
        ["export", "citrus-small", "--pooling", "mean-max"],
        "invalid choice: 'mean-max'",
    ),
    (
        "no sampling_rate column",
        ["finetune", "--dataset", "{without_rate}", "--model-config", "tiny", "--output-dir", "{tmp}/o"],
        "--sampling-rate",
    ),
]


@pytest.mark.parametrize(("problem", "argv", "expected"), BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS])
def test_a_user_error_is_one_line_and_exit_code_2(problem, argv, expected, tmp_path, monkeypatch, capsys, request):
    # (a command line whose refusal failed would run, writing citrus_evaluation/, `x` or a settings file's `out` into
    # the working folder: the repository's)
    monkeypatch.chdir(tmp_path)
    values = {"tmp": str(tmp_path)}
    if any("{settings}" in arg for arg in argv):
        values["settings"] = _settings_file(tmp_path)
    if any("{checkpoint}" in arg for arg in argv):
        values["checkpoint"] = str(request.getfixturevalue("checkpoint"))
    if any("{without_rate}" in arg for arg in argv):
        values["without_rate"] = str(request.getfixturevalue("without_rate"))
    capsys.readouterr()  # what building the fixtures printed
    assert main([arg.format(**values) for arg in argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert expected in lines[0], lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_checkpoint_references_that_are_local_paths_are_named_as_such(tmp_path, monkeypatch, capsys):
    """ "runs/hr" beside a local folder "runs" is a mistyped path, not the Hub repo of an owner "runs"; the folder
    `citrus finetune --lora` writes is an adapter, with what to do with it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "har-lora").mkdir(parents=True)
    (tmp_path / "runs" / "har-lora" / "adapter_config.json").write_text("{}")
    assert main(["export", "runs/hr"]) == 2
    assert "'runs/hr' is not a checkpoint folder (it does not exist" in capsys.readouterr().err
    assert main(["export", "runs/har-lora"]) == 2
    error = capsys.readouterr().err
    assert "is an adapter folder (peft)" in error and "load_adapter(None, 'runs/har-lora')" in error


def test_ctrl_c_is_one_line_and_exit_code_130(monkeypatch, capsys):
    from citrus_hf.commands import main as main_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(main_module, "run_subcommand", interrupted)
    monkeypatch.setattr(sys, "argv", ["citrus", "finetune", "--dataset", "basic_motions", "--output-dir", "x"])
    assert main() == 130  # the console script; called in-process with arguments, the interrupt propagates
    assert capsys.readouterr().err.strip() == "interrupted"


def test_ctrl_c_during_pretraining_names_the_checkpoint_to_continue_from(monkeypatch, capsys, tmp_path):
    import importlib

    pretrain_module = importlib.import_module(
        "citrus_hf.training.pretrain"
    )  # the module (the package exports the function)
    (tmp_path / "run" / "checkpoints" / "step-40").mkdir(parents=True)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pretrain_module, "pretrain", interrupted)
    with pytest.raises(KeyboardInterrupt):  # in-process: the caller's code stops too
        main(["pretrain", "--output-dir", str(tmp_path / "run"), "--model-config", "tiny"])
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1] == (
        f"The last checkpoint is {tmp_path / 'run' / 'checkpoints' / 'step-40'}; continue the run with the same "
        "command and --resume-from latest."
    )


def test_ctrl_c_during_fine_tuning_says_nothing_was_saved(monkeypatch, capsys, tmp_path):
    import importlib

    finetune_module = importlib.import_module("citrus_hf.training.finetune")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(finetune_module, "finetune", interrupted)
    with pytest.raises(KeyboardInterrupt):
        main(["finetune", "--dataset", "basic_motions", "--output-dir", str(tmp_path / "run")])
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("Nothing was saved: fine-tuning runs")


# (missing modules, the command line, words the message must contain): an optional dependency that is not installed
MISSING_EXTRAS = [
    (
        ["aeon"],
        ["evaluate", "--datasets", "eeg_blink", "--output-dir", "{tmp}/o"],
        "pip install 'citrus-hf[baselines]', or leave it out: --arms citrus-small citrus-scratch patchtst-scratch prior",
    ),
    (
        ["neurokit2", "neurodsp"],
        ["pretrain", "--model-config", "tiny", "--synthetic-ratio", "0.5", "--output-dir", "{tmp}/o"],
        "pip install 'citrus-hf[synthetic]', or give those generators weight 0 (--synthetic-generators ppg=0 rsp=0 "
        "eda=0 emg=0 eeg=0)",
    ),
    (
        ["tensorboard"],
        ["pretrain", "--model-config", "tiny", "--report-to", "tensorboard", "--output-dir", "{tmp}/o"],
        "pip install 'citrus-hf[bench]'",
    ),
]


@pytest.mark.parametrize(("modules", "argv", "expected"), MISSING_EXTRAS, ids=[case[0][0] for case in MISSING_EXTRAS])
def test_a_missing_extra_is_one_line_before_any_work(modules, argv, expected, tmp_path, monkeypatch, capsys):
    import sys

    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)  # what `import module` sees when it is not installed
    assert main([arg.format(tmp=tmp_path) for arg in argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], captured.err
    assert not (tmp_path / "o").exists()  # refused before the first set, step or file


def test_offline_push_is_a_user_error(checkpoint, monkeypatch, capsys):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    capsys.readouterr()
    assert main(["push", str(checkpoint), "user/repo"]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # after transformers' "Loading weights" bar
    assert last.startswith("error: ") and "offline mode is enabled" in last and "Traceback" not in err


def test_an_extractor_pushed_offline_gets_the_models_one_line_error(monkeypatch):
    """transformers' own push of a feature extractor surfaced the HTTP client's exception."""
    from huggingface_hub import constants

    from citrus_hf import CiTrusFeatureExtractor

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    extractor = CiTrusFeatureExtractor.from_pretrained("citrus-small")
    with pytest.raises(OSError, match=r"Could not publish user/repo to .*Check the network connection"):
        extractor.push_to_hub("user/repo")


def test_debug_shows_the_traceback_and_bugs_keep_theirs(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="no_such_set"):
        main(["finetune", "--dataset", "no_such_set", "--output-dir", str(tmp_path), "--debug"])
    import importlib

    # the module `main` runs (sys.modules'), which a test that re-runs it with runpy may have replaced since the
    # package attribute `citrus_hf.commands.finetune` was bound
    finetune = importlib.import_module("citrus_hf.commands.finetune")

    def broken(argv):
        raise RuntimeError("a bug")

    monkeypatch.setattr(finetune, "run", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["finetune", "--dataset", "basic_motions", "--output-dir", str(tmp_path)])


def _parsers():
    import importlib

    return {name: importlib.import_module(command.module).build_parser() for name, command in COMMANDS.items()}


def test_help_shows_every_default_and_one_naming_scheme():
    parsers = _parsers()
    finetune_help = parsers["finetune"].format_help()
    assert "--per-device-batch-size" in finetune_help and "(default: 16)" in finetune_help
    assert "--learning-rate" in finetune_help and "(default: 0.001)" in finetune_help
    assert "(default: 32)" in parsers["pretrain"].format_help()
    for name, parser in parsers.items():
        options = {option for action in parser._actions for option in action.option_strings}
        assert "--batch-size" not in options, name
        report_to = [action for action in parser._actions if "--report-to" in action.option_strings]
        if name in ("pretrain", "finetune", "evaluate"):
            assert [tuple(action.choices) for action in report_to] == [("none", "tensorboard")], name
    # evaluate takes a list of seeds, and a count only as --num-seeds
    evaluate = parsers["evaluate"]
    assert evaluate.parse(["--seeds", "7"]).seeds == [7]
    assert evaluate.parse(["--num-seeds", "3"]).seeds == [0, 1, 2]
    assert evaluate.parse([]).seeds == [0, 1, 2, 3, 4]


def test_settings_files_with_command_line_overrides(tmp_path):
    from citrus_hf.commands.finetune import build_parser

    settings = {
        "dataset": "hr_ecg",
        "output_dir": str(tmp_path / "out"),
        "config_overrides": {"d_model": 32},
        "trainer": {"max_steps": 6, "learning_rate": 0.01},
        "per_device_batch_size": 8,
    }
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    # YAML reads 1e-3 as text: it is converted as the command line would
    (tmp_path / "settings.yaml").write_text("dataset: hr_ecg\noutput-dir: out\nmax_steps: 6\nweight_decay: 1e-3\n")
    for path in (tmp_path / "settings.json", tmp_path / "settings.yaml"):
        for argv in ([str(path), "--learning-rate", "0.5"], ["--config", str(path), "--learning-rate", "0.5"]):
            arguments = build_parser().parse(argv)
            assert arguments.dataset == "hr_ecg" and arguments.trainer.max_steps == 6
            assert arguments.trainer.learning_rate == 0.5  # the command line wins over the file
    from_yaml = build_parser().parse([str(tmp_path / "settings.yaml"), "--no-show-progress"])
    assert from_yaml.trainer.weight_decay == 0.001 and from_yaml.trainer.show_progress is False
    arguments = build_parser().parse([str(tmp_path / "settings.json"), "--config-overrides", "ffn_dim=64"])
    assert arguments.config_overrides == {"d_model": 32, "ffn_dim": 64}
    assert arguments.trainer.per_device_batch_size == 8 and arguments.trainer.learning_rate == 0.01


def test_an_evaluation_runs_again_from_the_protocol_json_it_wrote(tmp_path):
    """`citrus evaluate runs/eval/protocol.json` repeats a run: the per-run seed the file's trainer settings hold
    (the protocol sets it itself) is not an unknown setting."""
    from dataclasses import asdict

    from citrus_hf.commands.evaluate import build_parser

    config = build_parser().parse(
        ["--output-dir", str(tmp_path / "eval"), "--datasets", "basic_motions", "--budgets", "5", "--num-seeds", "2"]
    )
    (tmp_path / "protocol.json").write_text(json.dumps(asdict(config)))
    assert "seed" in json.loads((tmp_path / "protocol.json").read_text())["finetune"]
    assert build_parser().parse([str(tmp_path / "protocol.json")]) == config


def test_per_dataset_settings_update_their_defaults():
    from citrus_hf.commands.evaluate import build_parser

    config = build_parser().parse(
        [
            "--alignment", "hr_ecg=interpolate", "--dataset-budgets", "hr_ecg=2,all", "--dataset-options",
            "hr_ecg:window_seconds=5", "hr_ecg:hop_seconds=5", "--checkpoints", "citrus-time=runs/eeg",
        ]
    )  # fmt: skip
    assert config.alignment == {"hr_ecg": "interpolate"}
    assert config.dataset_budgets == {"hr_ecg": ["2", "all"], "hr_ppg": ["5", "20", "50", "all"]}
    assert config.dataset_options == {"hr_ecg": {"window_seconds": 5, "hop_seconds": 5}}
    assert config.checkpoints == {"citrus-time": "runs/eeg"}
    assert config.finetune.max_steps == -1 and config.finetune.seed == 0  # the protocol's defaults


def test_sampling_rate_option_aligns_a_set_without_the_column(without_rate, tmp_path):
    argv = [
        "finetune", "--dataset", str(without_rate), "--sampling-rate", "10", "--model-config", "tiny",
        "--label-budget", "2", "--max-steps", "2", "--eval-steps", "1", "--per-device-batch-size", "8",
        "--no-show-progress", "--output-dir", str(tmp_path / "run"),
    ]  # fmt: skip
    assert main(argv) == 0
    results = json.loads((tmp_path / "run" / "finetune_results.json").read_text())
    assert results["arguments"]["sampling_rate"] == 10.0
    assert results["num_train"] == 8 and results["num_test"] == 40  # 2 per class of 4 activities; the whole test split


def test_a_percent_sign_in_an_options_help_is_shown_as_written():
    """argparse formats help with `%`: `citrus predict --help` crashed on "50% overlap" ("%o format: an integer is
    required, not dict"). Literal signs are escaped; argparse's own placeholders and escapes keep working."""
    from dataclasses import dataclass, field

    from citrus_hf.commands.parser import CommandParser

    @dataclass
    class Settings:
        share: int = field(default=3, metadata={"help": "50% overlap, 10%% escaped, %(default)s filled"})

    assert "50% overlap, 10% escaped, 3 filled" in " ".join(CommandParser(Settings, prog="x").format_help().split())
