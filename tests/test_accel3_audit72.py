"""Audit of the launch habits, third round: what every process of an `accelerate launch` prints, and the commands
that run in one process only.

The launches are played in one process, with the variables a launcher sets (WORLD_SIZE) or a stand-in for
Accelerate's state of a process that is not the main one: a real two-process launch takes tens of seconds here."""

from __future__ import annotations

import contextlib
import importlib
from types import SimpleNamespace

import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForPretraining
from citrus_hf.commands.main import main

# the modules, not the functions of the same names that `citrus_hf.training` offers
finetune_module = importlib.import_module("citrus_hf.training.finetune")
pretrain_module = importlib.import_module("citrus_hf.training.pretrain")

FINETUNE = ["finetune", "--dataset", "eeg_blink", "--recipe", "finetune", "--max-steps", "1", "--eval-steps", "1"]


def _replica(monkeypatch, main_process: bool):
    """`citrus finetune` as the process of a two-process launch that `main_process` says: Accelerate's state
    (`_launch_state`) stood in for, and the folder's lock, which the main process takes and broadcasts, left out."""
    state = SimpleNamespace(
        is_main_process=main_process,
        is_local_main_process=main_process,
        num_processes=2,
        wait_for_everyone=lambda: None,
    )
    monkeypatch.setattr(finetune_module, "_launch_state", lambda: state)
    monkeypatch.setattr(
        "citrus_hf.training.run_lock.output_folder_lock", lambda *args, **kwargs: contextlib.nullcontext()
    )


def _save_base(folder):
    torch.manual_seed(0)
    CiTrusForPretraining(tiny_config()).save_pretrained(folder)


@pytest.mark.parametrize("main_process", [True, False])
def test_a_lora_finetune_prints_its_trainable_parameters_from_the_main_process_alone(
    main_process, tmp_path, monkeypatch, capsys
):
    """`accelerate launch -m citrus_hf.commands finetune --lora`: every process printed peft's "trainable params"
    line on stdout, which holds the command's result, from the main process alone (N lines under N processes)."""
    _save_base(tmp_path / "base")
    _replica(monkeypatch, main_process)
    argv = [*FINETUNE, "--model", str(tmp_path / "base"), "--lora", "--no-show-progress"]
    argv += ["--output-dir", str(tmp_path / "run")]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert ("trainable params:" in printed) is main_process


@pytest.mark.parametrize("main_process", [True, False])
def test_library_progress_bars_of_a_finetune_launch_show_on_the_main_process_alone(
    main_process, tmp_path, monkeypatch, capsys
):
    """Every process of a launch drew transformers' "Loading weights" bar (and any other library bar of the run),
    while the Trainer's and the package's own bars show on the main process alone."""
    _save_base(tmp_path / "base")
    _replica(monkeypatch, main_process)
    argv = [*FINETUNE, "--model", str(tmp_path / "base"), "--output-dir", str(tmp_path / "run")]
    assert main(argv) == 0
    assert ("Loading weights" in capsys.readouterr().err) is main_process


def test_pretrain_quiets_library_bars_on_a_process_that_is_not_the_local_main_one(tmp_path, monkeypatch):
    """`citrus pretrain --model CHECKPOINT` under a launch: every process drew transformers' "Loading weights" bar.
    The run's library bars follow the local main process (`Accelerator.is_local_main_process`)."""
    from accelerate import Accelerator
    from transformers.utils import logging as transformers_logging

    seen = []

    def record(*args, **kwargs):
        seen.append(transformers_logging.is_progress_bar_enabled())
        raise KeyboardInterrupt  # nothing more of the run is needed

    monkeypatch.setattr(Accelerator, "is_local_main_process", property(lambda self: False))
    monkeypatch.setattr(pretrain_module, "_pretrain_in_folder", record)
    arguments = pretrain_module.PretrainArguments(
        output_dir=str(tmp_path / "run"), dataset="none", synthetic_ratio=1.0, model_config="tiny", max_steps=1
    )
    with pytest.raises(KeyboardInterrupt):
        pretrain_module.pretrain(arguments)
    assert seen == [False]
    assert transformers_logging.is_progress_bar_enabled()  # as it was before the run


@pytest.mark.parametrize(
    "argv",
    [
        ["data", "build", "basic_motions", "--output", "{tmp}/set"],
        ["export", "{tmp}/model"],
        ["predict", "{tmp}/model", "{tmp}/recording.npy", "--sampling-rate", "10"],
        ["push", "{tmp}/model", "someone/model"],
        ["demo"],
    ],
)
def test_a_command_that_runs_in_one_process_refuses_a_launch_of_several(argv, tmp_path, monkeypatch, capsys):
    """`accelerate launch -m citrus_hf.commands data build ...`: each process built the set into the same folder,
    one of them was refused for "another run" (its sibling) and the launch failed with torchrun's traceback, leaving
    nothing built; a push would have published twice. Only pretrain and finetune run data-parallel: the other
    commands are refused in one line, before any work, naming the way to run them."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main([part.replace("{tmp}", str(tmp_path)) for part in argv]) == 2
    error = capsys.readouterr().err
    assert f"citrus {argv[0]} runs in one process, and the launcher started 2 (WORLD_SIZE=2)" in error
    assert "without accelerate launch or torchrun" in error
    assert list(tmp_path.iterdir()) == []


def test_a_command_refused_under_a_launch_still_answers_help(monkeypatch, capsys):
    """`--help` does no work: it answers under a launch too."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["export", "--help"]) == 0
    assert "usage: citrus export" in capsys.readouterr().out


@pytest.mark.parametrize("main_process", [True, False])
def test_a_pretraining_launch_says_what_its_corpus_left_out_from_the_main_process_alone(
    main_process, tmp_path, monkeypatch, caplog
):
    """`accelerate launch -m citrus_hf.commands pretrain --dataset ./recordings`: every process read the folder and
    named its unread files and its duplicate recordings, each warning once per process (`citrus finetune` said its
    notices from the main process alone already)."""
    import numpy as np
    from accelerate import Accelerator

    folder = tmp_path / "recordings"
    folder.mkdir()
    for index in range(2):
        np.save(folder / f"r{index}.npy", np.random.default_rng(index).standard_normal((1, 3000)).astype("float32"))
    (folder / "notes.mat").write_bytes(b"not read")

    def load_only(args, accelerator, config, *rest):
        pretrain_module._load_corpus(args, config, accelerator)
        raise KeyboardInterrupt  # nothing more of the run is needed

    monkeypatch.setattr(Accelerator, "is_main_process", property(lambda self: main_process))
    monkeypatch.setattr(pretrain_module, "_pretrain_in_folder", load_only)
    arguments = pretrain_module.PretrainArguments(
        output_dir=str(tmp_path / "run"), dataset=str(folder), sampling_rate=100, model_config="tiny", max_steps=1
    )
    with caplog.at_level("WARNING", logger="citrus_hf"), pytest.raises(KeyboardInterrupt):
        pretrain_module.pretrain(arguments)
    assert ("notes.mat" in caplog.text) is main_process


def test_every_process_of_a_launch_returns_the_runs_held_out_curve(ddp_pretraining):
    """`result = pretrain(...)` in a script under `accelerate launch`: the main process alone computes the held-out
    loss, and the other processes returned no held-out curve (`eval_losses == []`, `learnt` None: "no validation
    data"), or after a resume the points before it only. Every process returns the main process's curves now."""
    import re

    from test_training import launch_failure

    completed, _ = ddp_pretraining  # test_training's launch on the real corpus, shared (conftest)
    assert completed.returncode == 0, launch_failure(completed)
    said = dict(re.findall(r"^rank (\d) held-out (.*)$", completed.stdout, flags=re.MULTILINE))
    assert said.keys() == {"0", "1"} and said["0"] == said["1"]
    assert said["0"].startswith("[(2, ") and "learnt None" not in said["0"]


@pytest.mark.parametrize("ratio", [0.5, 1.0])
def test_a_pretraining_card_names_the_synthetic_share_of_its_windows(ratio):
    """`citrus pretrain --synthetic-ratio 0.5` (or 1, `--dataset none`): the card's pre-training table named the real
    corpus and its window count alone ("Training windows 0" for a run on synthetic windows only), as if every window
    had been real; the summary records the share and the generators, which the card now names."""
    from citrus_hf.publishing.runs import pretraining_facts

    generators = [{"name": "cauker", "weight": 0.45}, {"name": "ecg", "weight": 0.15}]
    summary = {
        "steps": 4,
        "num_train_windows": 2675 if ratio < 1 else 0,
        "world_size": 2,
        "synthetic_ratio": ratio,
        "synthetic_stream": {"synthetic_ratio": ratio, "generators": generators},
        "arguments": {"dataset": "eeg_pretrain" if ratio < 1 else "none", "per_device_batch_size": 4},
    }
    facts = pretraining_facts(summary)
    assert facts["Synthetic windows"] == f"{ratio:.0%} of the training windows, from cauker 75%, ecg 25%"
    assert ("Training windows" in facts) is (ratio < 1)
    plain = pretraining_facts({**summary, "synthetic_ratio": 0.0, "synthetic_stream": None})
    assert "Synthetic windows" not in plain
