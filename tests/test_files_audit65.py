"""Files are replaced whole through a hidden file of their own: two runs writing the same target (two `citrus predict`
runs into one output, two processes downloading into one cache) shared one fixed `name.partial`, so one run's lines
ended up inside the other's file and the second rename failed."""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from citrus_hf import _files


def test_the_remote_code_copy_of_the_writers_is_the_package_one():
    # backends.py travels as remote code and may import nothing of the package: it spells the two functions out
    from citrus_hf.inference import backends

    for name in ("new_partial_file", "written_then_renamed"):
        assert inspect.getsource(getattr(backends, name)) == inspect.getsource(getattr(_files, name))


def test_two_writers_of_one_file_each_write_their_own_partial(tmp_path):
    target = tmp_path / "out.json"
    first, second = _files.new_partial_file(target), _files.new_partial_file(target)
    assert first != second
    assert all(Path(name).parent == tmp_path and Path(name).name.startswith(".") for name in (first, second))


def test_replace_text_leaves_no_partial_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "log.jsonl"
    target.write_text("old\n")

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(OSError, match="No space"):
        _files.replace_text(target, "new\n")
    monkeypatch.undo()
    assert target.read_text() == "old\n" and sorted(os.listdir(tmp_path)) == ["log.jsonl"]


def test_two_predict_outputs_to_one_file_do_not_mix(tmp_path):
    from citrus_hf.commands.predict import _Written

    output = tmp_path / "predictions.jsonl"
    recording = SimpleNamespace(sampling_rate=100.0, channel_names=["ch0"], start=None)
    first, second = _Written(output), _Written(output)
    with first:
        with second:
            for number in range(3):
                first.add(f"first{number}.edf", recording, {"label": "a"}, config=None)
                second.add(f"second{number}.edf", recording, {"label": "b"}, config=None)
        # the second run ended: the output is its three recordings, whole
        assert [json.loads(line)["recording"] for line in output.read_text().splitlines()] == [
            f"second{number}.edf" for number in range(3)
        ]
    assert [json.loads(line)["recording"] for line in output.read_text().splitlines()] == [
        f"first{number}.edf" for number in range(3)
    ]
    assert os.listdir(tmp_path) == ["predictions.jsonl"]
