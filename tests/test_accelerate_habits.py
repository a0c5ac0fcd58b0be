"""What an Accelerate user does with `citrus pretrain` / `pretrain` (audit: accelerate_habits.md findings 1-10, and
trainer_habits.md finding 12): launch-level settings apply, a launch Accelerate cannot honour is refused, the command
modules run under `python -m` / `accelerate launch -m`, a second run in one session works, transformers' option
spellings are pointed at this package's, and checkpoints load the remote-code way.

Every multi-process case is tested in one process, with the environment variables a launcher sets."""

from __future__ import annotations

import importlib
import json
import logging
import os
import runpy
import subprocess
import sys

import pytest
import torch
from hub_server import run_client

from citrus_hf.commands import COMMANDS
from citrus_hf.commands.main import main
from citrus_hf.configuration_citrus import CiTrusConfig
from citrus_hf.training.pretrain import PretrainArguments, pretrain

# What `accelerate launch` (and torchrun under it) put in a process's environment.
LAUNCH_VARIABLES = (
    "ACCELERATE_MIXED_PRECISION",
    "ACCELERATE_GRADIENT_ACCUMULATION_STEPS",
    "ACCELERATE_USE_CPU",
    "WORLD_SIZE",
    "RANK",
    "MASTER_ADDR",
    "MASTER_PORT",
)
TINY = ["--dataset", "none", "--synthetic-ratio", "1", "--model-config", "tiny", "--per-device-batch-size", "4"]
TINY_RUN = [*TINY, "--max-steps", "2", "--save-steps", "2", "--logging-steps", "1", "--no-show-progress"]


@pytest.fixture(autouse=True)
def _no_launcher(monkeypatch):
    """Each test starts outside any launch; it sets the variables of the launch it plays."""
    for name in LAUNCH_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _arguments(output_dir, **changes) -> PretrainArguments:
    settings = dict(
        output_dir=str(output_dir),
        dataset=None,
        synthetic_ratio=1.0,
        model_config="tiny",
        max_steps=2,
        per_device_batch_size=4,
        save_steps=2,
        logging_steps=1,
        show_progress=False,
    )
    return PretrainArguments(**(settings | changes))


def _recorded(output_dir) -> dict:
    return json.loads((output_dir / "pretraining_summary.json").read_text())["arguments"]


def _warnings(caplog) -> str:
    return " ".join(record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished 3-step run with checkpoints at steps 2 and 3, whose run recorded the state of datasets' and
    transformers' progress bars while it ran (with --no-show-progress)."""
    import datasets
    from transformers.utils import logging as transformers_logging

    pretrain_module = importlib.import_module("citrus_hf.training.pretrain")  # the package exports `pretrain` too
    output_dir = tmp_path_factory.mktemp("accelerate_habits") / "run"
    bars = []
    build_config = pretrain_module.build_config

    def recording(*args, **kwargs):
        bars.append((datasets.are_progress_bars_disabled(), transformers_logging.is_progress_bar_enabled()))
        return build_config(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        for name in LAUNCH_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setattr(pretrain_module, "build_config", recording)
        pretrain(_arguments(output_dir, max_steps=3, save_total_limit=None))
    return output_dir, bars


# ------------------------------------------------------------------------------------------------ 1 and 5: launches


def test_a_launch_of_several_processes_that_accelerate_runs_alone_is_refused(tmp_path, monkeypatch):
    """1: `accelerate launch --multi_gpu --num_processes 2` without GPUs: torchrun starts 2 processes (WORLD_SIZE=2),
    Accelerate runs each as the only one, and both trained the same batches into the same folder."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match=r"started 2 processes .*ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu"):
        pretrain(_arguments(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_a_finetune_launch_that_accelerate_runs_alone_is_refused_before_any_work(tmp_path, monkeypatch):
    """`accelerate launch --multi_gpu --num_processes 2 -m citrus_hf.commands.finetune` without GPUs (or without
    ACCELERATE_USE_CPU=1): both processes fitted alone and both wrote the same folder, and said so twice."""
    from accelerate.state import AcceleratorState

    from citrus_hf.training.finetune import FinetuneArguments, finetune

    monkeypatch.setenv("WORLD_SIZE", "2")
    arguments = FinetuneArguments(output_dir=str(tmp_path / "run"), dataset="basic_motions", model_config="tiny")
    try:
        with pytest.raises(ValueError, match=r"started 2 processes .*num_processes 2 -m citrus_hf.commands finetune"):
            finetune(arguments)
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)  # the state that process built stays with it
    assert not (tmp_path / "run").exists()


def test_the_protocol_under_a_launch_of_several_processes_is_refused(tmp_path, monkeypatch):
    """`accelerate launch -m citrus_hf.commands evaluate`: every process fitted every run and appended it to the same
    runs.jsonl."""
    from citrus_hf.evaluation import ProtocolConfig, run_protocol

    monkeypatch.setenv("WORLD_SIZE", "2")
    config = ProtocolConfig(output_dir=str(tmp_path / "eval"), datasets=["basic_motions"], arms=["minirocket"])
    with pytest.raises(ValueError, match=r"runs in one process, and the launcher started 2 \(WORLD_SIZE=2\)"):
        run_protocol(config)
    assert not (tmp_path / "eval").exists()


def test_a_launch_that_asked_for_several_processes_but_started_one_says_so(tmp_path, monkeypatch, caplog):
    """5: `accelerate launch --num_processes 2` (or with --cpu) on a CPU machine starts one process, which said
    nothing but "on 1 process(es)" at the end; the launcher sets MASTER_ADDR, and no WORLD_SIZE."""
    from citrus_hf.training.pretrain import _accelerator

    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29500")
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "no")
    with caplog.at_level("WARNING", logger="citrus_hf.training.pretrain"):
        _accelerator(_arguments(tmp_path / "run"), CiTrusConfig())
    assert "asked for several processes but started one" in _warnings(caplog)
    assert "ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes N" in _warnings(caplog)


# ------------------------------------------------------------------------------------ 2 and 3: launch-level settings


def test_the_launchs_mixed_precision_applies_unless_the_command_sets_one(tmp_path, monkeypatch, caplog):
    """2: `accelerate launch --mixed_precision bf16` (or its config file) sets ACCELERATE_MIXED_PRECISION, which the
    command's own default "no" silently overrode; the run recorded "no"."""
    from citrus_hf.training.pretrain import _accelerator

    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    assert main(["pretrain", "--output-dir", str(tmp_path / "run"), *TINY_RUN]) == 0
    assert _recorded(tmp_path / "run")["mixed_precision"] == "bf16"
    settings = json.loads((tmp_path / "run" / "checkpoints" / "step-2" / "run_settings.json").read_text())
    assert settings["mixed_precision"] == "bf16"
    # given on the command line (here: the API's explicit value), it wins, and says so
    with caplog.at_level("WARNING", logger="citrus_hf.training.pretrain"):
        resolved, accelerator = _accelerator(_arguments(tmp_path / "other", mixed_precision="no"), CiTrusConfig())
    assert resolved.mixed_precision == accelerator.mixed_precision == "no"
    assert "--mixed-precision no wins over Accelerate's bf16" in _warnings(caplog)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the warning is about training on the CPU")
def test_mixed_precision_on_the_cpu_warns_that_it_trains_slower(tmp_path, caplog):
    """bf16 autocast made a citrus-small training step 12.6x slower on this CPU: a run on the CPU asking for it is
    told, and one in fp32 is not."""
    from citrus_hf.training.pretrain import _accelerator

    with caplog.at_level("WARNING", logger="citrus_hf.training.pretrain"):
        _, accelerator = _accelerator(_arguments(tmp_path / "bf16", mixed_precision="bf16"), CiTrusConfig())
    assert accelerator.mixed_precision == "bf16"
    assert "Mixed precision bf16 on the CPU trains about ten times slower than fp32" in _warnings(caplog)
    caplog.clear()
    with caplog.at_level("WARNING", logger="citrus_hf.training.pretrain"):
        _accelerator(_arguments(tmp_path / "fp32", mixed_precision="no"), CiTrusConfig())
    assert "slower" not in _warnings(caplog)


def test_accumulation_from_the_environment_is_the_one_recorded(tmp_path, monkeypatch, caplog):
    """3: ACCELERATE_GRADIENT_ACCUMULATION_STEPS (accelerate launch's DeepSpeed option) overrode the command's value
    inside Accelerate, and the run recorded the command's value: a resume compared settings that had not run."""
    from citrus_hf.training.pretrain import _accelerator

    monkeypatch.setenv("ACCELERATE_GRADIENT_ACCUMULATION_STEPS", "2")
    assert main(["pretrain", "--output-dir", str(tmp_path / "run"), *TINY_RUN]) == 0
    assert _recorded(tmp_path / "run")["gradient_accumulation_steps"] == 2
    with caplog.at_level("WARNING", logger="citrus_hf.training.pretrain"):
        resolved, accelerator = _accelerator(
            _arguments(tmp_path / "other", gradient_accumulation_steps=3), CiTrusConfig()
        )
    assert resolved.gradient_accumulation_steps == accelerator.gradient_accumulation_steps == 3
    assert "--gradient-accumulation-steps 3 wins over ACCELERATE_GRADIENT_ACCUMULATION_STEPS=2" in _warnings(caplog)


# ------------------------------------------------------------------------------------------------ 4: python -m


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_module_runs_under_python_m(command, monkeypatch, capsys):
    """4: `python -m citrus_hf.commands.pretrain ...` (and `accelerate launch -m` of it) imported the module, ran
    nothing and exited 0."""
    module = COMMANDS[command].module
    monkeypatch.delitem(sys.modules, module, raising=False)  # as in a fresh `python -m`
    monkeypatch.setattr(sys, "argv", [module, "--help"])
    with pytest.raises(SystemExit) as exit:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    assert exit.value.code == 0
    assert f"usage: citrus {command}" in capsys.readouterr().out


def test_python_m_of_a_command_module_answers_in_a_fresh_process():
    """4, as a user runs it: the answer and the exit code of `citrus pretrain`."""
    completed = subprocess.run(
        [sys.executable, "-m", "citrus_hf.commands.pretrain", "--output-dir", "unused", "--max_steps", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2, completed.stderr
    assert "--max_steps (options are spelt with dashes: --max-steps)" in completed.stderr


# ------------------------------------------------------------------------------------------------ 6: Auto classes


def test_a_checkpoint_loads_through_the_auto_class_with_remote_code(finished_run, tmp_path):
    """6: a `checkpoints/step-N` folder's config had `auto_map` {AutoConfig} only and no modeling_citrus.py, so
    `AutoModelForPreTraining.from_pretrained(folder, trust_remote_code=True)` failed without `import citrus_hf`."""
    output_dir, _ = finished_run
    checkpoint = output_dir / "checkpoints" / "step-2"
    final_map = json.loads((output_dir / "config.json").read_text())["auto_map"]
    assert json.loads((checkpoint / "config.json").read_text())["auto_map"] == final_map
    assert {p.name for p in checkpoint.glob("*.py")} == {p.name for p in output_dir.glob("*.py")}
    # and the other keys `save_pretrained` writes: the weights' dtype and the pipeline of `pipeline(model=folder)`
    final, saved = (json.loads((folder / "config.json").read_text()) for folder in (output_dir, checkpoint))
    assert {key: saved.get(key) for key in ("dtype", "custom_pipelines")} == {
        key: final[key] for key in ("dtype", "custom_pipelines")
    }
    script = (
        "import sys; from transformers import AutoModelForPreTraining; "
        f"model = AutoModelForPreTraining.from_pretrained({str(checkpoint)!r}, trust_remote_code=True); "
        "assert 'citrus_hf' not in sys.modules; print(type(model).__name__)"
    )
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(output_dir.parent / "modules")}
    completed = run_client(script, environment, cwd=tmp_path, timeout=120)
    assert completed.stdout.strip().endswith("CiTrusForPretraining")


# ------------------------------------------------------------------------------------------------ 8: one session


def test_a_second_run_in_one_session_may_use_another_precision(tmp_path):
    """8: a second `pretrain` in a notebook with another precision, or after the user's own `Accelerator()`, failed
    with Accelerate's "AcceleratorState has already been initialized ... restart your runtime"."""
    from accelerate import Accelerator

    first = pretrain(_arguments(tmp_path / "fp32"))
    second = pretrain(_arguments(tmp_path / "bf16", mixed_precision="bf16"))
    Accelerator(mixed_precision="bf16")
    third = pretrain(_arguments(tmp_path / "again", mixed_precision="no"))
    assert [_recorded(tmp_path / name)["mixed_precision"] for name in ("fp32", "bf16", "again")] == ["no", "bf16", "no"]
    assert second.final_loss != first.final_loss == third.final_loss  # the third run is the first one again


def test_a_run_after_a_launch_that_failed_half_way_in_the_same_session_trains(tmp_path, monkeypatch):
    """A torchrun-like environment without MASTER_ADDR makes `Accelerator()` fail after it stored part of its shared
    state; Accelerate keeps that half, and the next `pretrain` in the notebook, the environment fixed, died with
    "`PartialState` object has no attribute `num_processes`" (also the way older Accelerate releases fail a
    simulated two-process launch)."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, PartialState

    AcceleratorState._reset_state(reset_partial_state=True)  # a fresh session: earlier tests built a state
    for name, value in {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="MASTER_ADDR"):
        Accelerator()
    assert PartialState._shared_state and "num_processes" not in PartialState._shared_state  # the half state
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name)
    result = pretrain(_arguments(tmp_path / "run"))
    assert (result.steps, result.completed, result.world_size) == (2, True, 1)


# ------------------------------------------------------------------------------------------------ 9: spellings


@pytest.mark.parametrize(
    ("command", "argv", "expected"),
    [
        ("pretrain", ["--output_dir", "x", "--max_steps", "2"], "--output_dir (options are spelt with dashes: --output-dir)"),
        ("pretrain", ["--output-dir", "x", "--mixed_precision", "bf16"], "spelt with dashes: --mixed-precision"),
        ("pretrain", ["--output-dir", "x", "--bf16"], "--bf16 (transformers' name; this command's: --mixed-precision bf16)"),
        ("pretrain", ["--output-dir", "x", "--per_device_train_batch_size", "8"], "this command's: --per-device-batch-size"),
        ("finetune", ["--learning_rate", "1e-3"], "--learning_rate (options are spelt with dashes: --learning-rate)"),
        ("finetune", ["--per-device-train-batch-size", "8"], "this command's: --per-device-batch-size"),
        ("finetune", ["--output-dir", "x", "--dataset", "y", "--resume_from_checkpoint", "x"], "--resume_from_checkpoint x"),  # no such option
        ("pretrain", ["--output-dir", "x", "--outptu-dir", "y"], "--outptu-dir (did you mean --output-dir?)"),
    ],
)  # fmt: skip
def test_other_libraries_spellings_point_to_this_commands(command, argv, expected, capsys):
    """9 (and trainer 12): `--output_dir`, `--learning_rate`, transformers' `--per_device_train_batch_size` and
    `--bf16` were refused as unrecognized (or as a missing --output-dir) without a word about the spelling."""
    assert main([command, *argv]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: citrus {command}: unrecognized arguments:") and expected in error


def test_a_settings_file_with_transformers_names_points_to_this_commands(tmp_path, capsys):
    (tmp_path / "settings.yaml").write_text("output_dir: x\nper_device_train_batch_size: 8\n")
    assert main(["pretrain", str(tmp_path / "settings.yaml")]) == 2
    assert "per_device_train_batch_size (transformers' name; this command's: per_device_batch_size)" in (
        capsys.readouterr().err
    )


def test_settings_accelerate_also_gives_are_left_to_it_only_when_not_given(tmp_path):
    """2 and 3 on the command line: unset unless the command line or the settings file gives them."""
    from citrus_hf.commands.pretrain import build_parser

    parser = build_parser()
    parser.parse(["--output-dir", "x"])
    assert not {"mixed_precision", "gradient_accumulation_steps"} & parser.given
    (tmp_path / "settings.json").write_text(json.dumps({"output_dir": "x", "mixed_precision": "no"}))
    parser = build_parser()
    parser.parse([str(tmp_path / "settings.json"), "--gradient-accumulation-steps", "2"])
    assert {"mixed_precision", "gradient_accumulation_steps"} <= parser.given
    assert "default: Accelerate's" in build_parser().format_help()


# ------------------------------------------------------------------------------------------------ 10: small ones


def test_a_resume_from_a_folder_that_does_not_exist_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="--resume-from '.*nope' does not exist"):
        pretrain(_arguments(tmp_path / "run", resume_from=str(tmp_path / "nope")))


def test_a_resume_already_at_stop_after_steps_is_refused(finished_run):
    """The run resumed, trained nothing and said "stopped early"."""
    output_dir, _ = finished_run
    checkpoint = output_dir / "checkpoints" / "step-2"
    arguments = _arguments(output_dir, max_steps=3, stop_after_steps=2, resume_from=str(checkpoint))
    with pytest.raises(ValueError, match="at step 2, already at --stop-after-steps 2: the run would train nothing"):
        pretrain(arguments)


def test_no_show_progress_quiets_datasets_and_transformers_bars_for_the_run(finished_run):
    import datasets
    from transformers.utils import logging as transformers_logging

    _, bars = finished_run
    assert bars == [(True, False)]  # datasets' bars off, transformers' off, while the run ran
    assert not datasets.are_progress_bars_disabled() and transformers_logging.is_progress_bar_enabled()


@pytest.mark.parametrize(("rank", "said"), [("0", True), ("1", False)])
def test_ctrl_c_under_a_launch_says_interrupted_once(rank, said, monkeypatch, capsys):
    from citrus_hf.commands import main as main_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setenv("RANK", rank)
    monkeypatch.setattr(main_module, "run_subcommand", interrupted)
    monkeypatch.setattr(sys, "argv", ["citrus", "pretrain", "--output-dir", "x"])
    assert main() == 130
    assert ("interrupted" in capsys.readouterr().err) is said


def test_a_script_calling_pretrain_takes_the_launchs_settings_too(tmp_path, monkeypatch):
    """2, 3 through the Python API: `PretrainArguments` leaves precision and accumulation unset by default, so a
    script under `accelerate launch --mixed_precision bf16` runs (and records) bf16 as the command does."""
    from citrus_hf.training.arguments import PretrainArguments
    from citrus_hf.training.pretrain import _accelerator

    defaults = PretrainArguments(output_dir=str(tmp_path / "run"))
    assert defaults.mixed_precision is None and defaults.gradient_accumulation_steps is None
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    monkeypatch.setenv("ACCELERATE_GRADIENT_ACCUMULATION_STEPS", "2")
    resolved, accelerator = _accelerator(_arguments(tmp_path / "api"), CiTrusConfig())
    assert resolved.mixed_precision == accelerator.mixed_precision == "bf16"
    assert resolved.gradient_accumulation_steps == 2


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5])
def test_a_seed_numpy_cannot_take_is_refused_by_name(seed, tmp_path):
    """10: `--seed -1` failed inside numpy at the first draw."""
    from citrus_hf.training.arguments import PretrainArguments, TrainerSettings

    with pytest.raises(ValueError, match="--seed must be"):
        PretrainArguments(output_dir=str(tmp_path / "run"), seed=seed)
    with pytest.raises(ValueError, match="--seed must be"):
        TrainerSettings(seed=seed)  # finetune's and evaluate's


def test_weights_saved_by_accelerator_save_model_load_with_their_config_given(tmp_path):
    """7: `accelerator.save_model(model, folder)` writes the weights alone; transformers loads them with
    `from_pretrained(folder, config=config)`, which CiTrus refused for the missing config.json."""
    import torch
    from accelerate import Accelerator

    from citrus_hf import CiTrusForPretraining
    from citrus_hf.loading import build_config

    config = build_config("tiny")
    model = CiTrusForPretraining(config)
    Accelerator(cpu=True).save_model(model, tmp_path / "weights")
    assert not (tmp_path / "weights" / "config.json").exists()
    loaded = CiTrusForPretraining.from_pretrained(tmp_path / "weights", config=config)
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    with pytest.raises(OSError, match="has no config.json"):  # without the config, still named
        CiTrusForPretraining.from_pretrained(tmp_path / "weights")
