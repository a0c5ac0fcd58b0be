"""Accelerate's traps as `citrus pretrain` meets them (audit 70, accel2): a checkpoint resumed under another process
count, an ACCELERATE_MIXED_PRECISION Accelerate reads without checking, and settings from the launch's environment
named as command-line options the user never gave.

Every multi-process case runs in one process, with the state a launch of two processes would give."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from test_accelerate_habits import _arguments as _habits_arguments
from test_accelerate_habits import _no_launcher, _warnings  # noqa: F401 (the fixture: each test starts outside a launch)

from citrus_hf.configuration_citrus import CiTrusConfig
from citrus_hf.training.checkpoints import check_resumable, resolve_resume
from citrus_hf.training.pretrain import pretrain


def _arguments(output_dir, **changes):
    """A tiny synthetic run with a checkpoint at every step."""
    return _habits_arguments(output_dir, **({"save_steps": 1} | changes))


def test_a_checkpoint_of_one_process_resumed_under_two_is_refused_for_the_process_count(tmp_path):
    """A one-process checkpoint resumed under a launch of two was called incomplete ("random_states_1.pkl is
    missing") and the user told to start afresh with --overwrite-output-dir, which deletes the run: its random states
    are those of the run's process count, and the refusal names that count."""
    output = tmp_path / "run"
    pretrain(_arguments(output, stop_after_steps=1))
    two_processes = SimpleNamespace(num_processes=2, scaler=None, is_main_process=True)
    folder = resolve_resume(_arguments(output, resume_from="latest"), two_processes)
    assert folder is not None and folder.name == "step-1"
    with pytest.raises(ValueError, match=r"processes 2 \(the run: 1; launch 1 process: without accelerate launch\)"):
        # (the arguments as `pretrain` resolves them before the check)
        resolved = _arguments(output, resume_from="latest", mixed_precision="no", gradient_accumulation_steps=1)
        check_resumable(folder, resolved, 2, warn=False)
    # a checkpoint that really lacks a random state of its run is still incomplete
    (folder / "random_states_0.pkl").unlink()
    with pytest.raises(ValueError, match="random_states_0.pkl is missing"):
        resolve_resume(_arguments(output, resume_from="latest"), two_processes)


@pytest.mark.skipif(torch.cuda.is_available(), reason="bf16 autocast on the CPU")
def test_the_launchs_precision_is_read_as_the_commands_read_it(tmp_path, monkeypatch):
    """Accelerate takes ACCELERATE_MIXED_PRECISION as written: "BF16" trained in fp32 (no autocast) and the summary
    recorded "BF16"; a precision no command trains in (fp8) failed with Accelerate's advice to install a library. The
    value is now lower-cased and checked, as `citrus finetune` does."""
    from citrus_hf.training.pretrain import _accelerator

    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "BF16")
    resolved, accelerator = _accelerator(_arguments(tmp_path / "bf16"), CiTrusConfig())
    assert resolved.mixed_precision == accelerator.mixed_precision == "bf16"
    assert accelerator.native_amp  # bf16 autocast runs
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "fp8")
    with pytest.raises(ValueError, match="'fp8'.* is not a precision this command trains in"):
        _accelerator(_arguments(tmp_path / "fp8"), CiTrusConfig())


@pytest.mark.skipif(torch.cuda.is_available(), reason="the notes are about training on the CPU")
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_a_precision_from_the_launch_is_not_named_as_an_option_given(precision, tmp_path, monkeypatch, caplog):
    """`accelerate launch --config_file` with mixed_precision bf16 (or fp16) on a CPU: the note said "leave
    --mixed-precision out", which the user had done (or named "--mixed-precision fp16", never given). It names where
    the precision came from and the fix that works."""
    from citrus_hf.training.pretrain import _accelerator

    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", precision)
    with caplog.at_level("WARNING", logger="citrus_hf.training.pretrain"):
        _accelerator(_arguments(tmp_path / "run"), CiTrusConfig())
    said = _warnings(caplog)
    assert f"ACCELERATE_MIXED_PRECISION={precision}" in said and "pass --mixed-precision no" in said
    assert "leave --mixed-precision out" not in said and f"--mixed-precision {precision}" not in said


def test_a_resume_refused_for_a_setting_of_the_environment_names_the_variable(tmp_path, monkeypatch):
    """ACCELERATE_GRADIENT_ACCUMULATION_STEPS left in the shell from another job: the resume was refused for
    "--gradient-accumulation-steps 2 (the run: 1)", an option the user never gave. The refusal names the variable."""
    output = tmp_path / "run"
    pretrain(_arguments(output, stop_after_steps=1))
    monkeypatch.setenv("ACCELERATE_GRADIENT_ACCUMULATION_STEPS", "2")
    with pytest.raises(ValueError, match=r"gradient-accumulation-steps 2 \(ACCELERATE_GRADIENT_ACCUMULATION_STEPS=2"):
        pretrain(_arguments(output, resume_from="latest"))
