"""Examples and benchmarks stop on an error the user fixes (no offline corpus, the Hub offline, a missing extra) with
one `error: ...` line, as the `citrus` command does (`citrus_hf.commands.script.run_script`), not a traceback."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from test_examples_training import example_error_in_process, run_example_process

from citrus_hf.commands.script import run_script
from citrus_hf.data.errors import ArchiveMissingError
from citrus_hf.publishing.push import unreachable_hub_error


def test_an_example_without_the_offline_corpus_says_so_in_one_line(tmp_path):
    completed = run_example_process(
        "your_own_data.py", "--output-dir", str(tmp_path / "own"), cwd=tmp_path, returncode=2,
        CITRUS_HF_CACHE=str(tmp_path / "empty"),
    )  # fmt: skip
    assert "Traceback" not in completed.stderr
    (line,) = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
    assert "citrus data fetch --offline-corpus" in line


def test_run_script_shows_the_traceback_with_debug_and_for_a_bug(monkeypatch, capsys):
    def missing_corpus():
        raise ArchiveMissingError("no archive; run `citrus data fetch --offline-corpus`.")

    monkeypatch.setattr(sys, "argv", ["example.py"])
    with pytest.raises(SystemExit) as stopped:
        run_script(missing_corpus)
    assert stopped.value.code == 2
    assert capsys.readouterr().err == "error: no archive; run `citrus data fetch --offline-corpus`.\n"
    monkeypatch.setattr(sys, "argv", ["example.py", "--debug"])
    with pytest.raises(ArchiveMissingError):
        run_script(missing_corpus)
    assert sys.argv == ["example.py"]  # the script's own parser never sees --debug

    def bug():
        raise KeyError("a bug keeps its traceback")

    with pytest.raises(KeyError):
        run_script(bug)

    def shape_bug():
        return np.ones(3) + np.ones(4)  # a ValueError: one line, but it says where and how to see more

    monkeypatch.setattr(sys, "argv", ["example.py"])
    with pytest.raises(SystemExit):
        run_script(shape_bug)
    line = capsys.readouterr().err
    assert line.startswith("error: operands could not be broadcast together") and line.count("\n") == 1
    assert "(ValueError raised in test_example_errors.py, line" in line and "--debug shows the traceback)" in line


def test_the_hub_offline_message_has_one_full_stop():
    """huggingface_hub's offline error ends in a full stop, and the message added one after it ("variable..")."""
    error = unreachable_hub_error("you/citrus-tiny", "https://huggingface.co", OSError("offline mode is enabled."))
    assert "enabled. Check the network connection" in str(error) and ".." not in str(error)


@pytest.mark.parametrize(
    ("script", "arguments", "expected"),
    [
        ("pretrain_accelerate.py", ["--batch-size", "0"], "argument --batch-size: must be a whole number >= 1, got 0"),
        ("multimodal_fusion.py", ["--pretrain-steps", "0"], "argument --pretrain-steps: must be a whole number >= 1"),
        ("synthetic_pretraining_data.py", ["--windows", "-5"], "argument --windows: must be a whole number >= 1"),
        ("lora_finetune.py", ["--epochs", "0"], "argument --epochs: must be a whole number >= 1, got 0"),
        ("long_recording_inference.py", ["--hop-seconds", "0"], "argument --hop-seconds: must be a finite number above 0"),
        ("multimodal_fusion.py", ["--output-dir", "fusion", "--budgets", "foo"], "foo"),
        ("long_recording_inference.py", ["--model", "no/such/folder/x"], "No checkpoint folder 'no/such/folder/x'"),
        ("finetune_trainer.py", ["--model", "no/such/folder/x"], "No checkpoint folder 'no/such/folder/x'"),
    ],
)  # fmt: skip
def test_an_examples_bad_argument_is_named_as_the_example_spells_it(
    tmp_path, monkeypatch, capsys, script, arguments, expected
):
    """Refused later, a value named the setting it was passed on to (`--per-device-batch-size`, `--max-steps`,
    `hop_length` after an 81-minute recording was built), a bad budget only after the encoders' pre-training, a
    negative count ran ("nan are synthetic"), and a mistyped folder got the Hub's words for a repo id."""
    assert expected in example_error_in_process(tmp_path, monkeypatch, capsys, script, *arguments)
