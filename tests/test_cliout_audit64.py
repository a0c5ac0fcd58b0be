"""Audit 64, what the `citrus` commands write: `citrus predict --output` naming one of its recordings (emptied before it
was read) or a .csv inside a folder of them (read as a recording by the next run); an encoder's embeddings of files
with different channel counts in one .csv (silently empty cells, or csv.DictWriter's error of thousands of
characters); a run that stopped emptied an earlier --output, or left a well-formed file of some recordings without a
word; and `citrus evaluate` wrote the new protocol.json beside the previous run's results.*, which a run that stopped
early left as one folder describing two runs.

The models are tiny, with random weights: the tests check the files the commands write, not what the models know.
"""

from __future__ import annotations

import csv
import importlib
import json

import numpy as np
import pytest
import torch
from tiny_configs import save_tiny_classifier, tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusModel
from citrus_hf.commands.main import main

RATE = ["--sampling-rate", "100", "--no-show-progress", "--backend", "torch"]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> str:
    torch.manual_seed(0)
    return str(save_tiny_classifier(tmp_path_factory.mktemp("classifier"), num_labels=2))


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> str:
    """A tiny encoder without a task head: its pipeline returns embeddings, every channel's features concatenated."""
    folder = tmp_path_factory.mktemp("encoder")
    torch.manual_seed(0)
    config = tiny_config()
    CiTrusModel(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    return str(folder)


def _recording(path, channels: int = 1, seed: int = 0, nan: bool = False) -> str:
    """A 4 s `.npy` recording (channels, time) at 100 Hz: two windows of the tiny model."""
    data = np.random.default_rng(seed).standard_normal((channels, 400)).astype("float32")
    if nan:
        data[0, 10] = np.nan
    np.save(path, data)
    return str(path)


def _errors(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


def _recordings_in(output) -> list[str]:
    with open(output, newline="") as handle:
        return sorted({row["recording"].rsplit("/", 1)[-1] for row in csv.DictReader(handle)})


# --------------------------------------------------------------------------------- 1. an output the command reads


def test_an_output_that_is_one_of_the_recordings_is_refused_and_the_recording_kept(classifier, tmp_path, capsys):
    data = tmp_path / "session.csv"
    np.savetxt(data, np.random.default_rng(0).standard_normal((400, 1)), delimiter=",", header="c0", comments="")
    before = data.read_bytes()
    assert main(["predict", classifier, str(data), *RATE, "--output", str(tmp_path / "." / "session.csv")]) == 2
    (error,) = _errors(capsys)
    assert "is one of the recordings" in error and "write to another file" in error
    assert data.read_bytes() == before


def test_a_csv_output_inside_a_folder_of_recordings_is_refused_and_a_jsonl_there_is_not(classifier, tmp_path, capsys):
    folder = tmp_path / "recs"
    folder.mkdir()
    for number in range(2):
        _recording(folder / f"s{number}.npy", seed=number)
    argv = ["predict", classifier, str(folder), *RATE]
    assert main([*argv, "--output", str(folder / "windows.csv")]) == 2
    (error,) = _errors(capsys)
    assert "a folder of recordings given here" in error and "would read it as a recording" in error
    assert not (folder / "windows.csv").exists()
    for _ in range(2):  # the same command again reads the same two recordings
        assert main([*argv, "--output", str(folder / "windows.jsonl")]) == 0
        assert "Wrote 4 windows of 2 recording(s)" in capsys.readouterr().out
    assert len((folder / "windows.jsonl").read_text().splitlines()) == 2


# --------------------------------------------------------------------- 2. embeddings of different sizes in one .csv


@pytest.mark.parametrize("order", [("six", "three"), ("three", "six")])
def test_embeddings_of_another_channel_count_are_left_out_of_a_csv_with_the_fix(encoder, tmp_path, capsys, order):
    files = {"six": _recording(tmp_path / "six.npy", 6), "three": _recording(tmp_path / "three.npy", 3)}
    output = tmp_path / "embeddings.csv"
    assert main(["predict", encoder, files[order[0]], files[order[1]], *RATE, "--output", str(output)]) == 2
    captured = capsys.readouterr()
    (error,) = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert (
        f"left out: {files[order[1]]} has" in captured.err and "their embeddings have different sizes" in captured.err
    )
    assert "write a .jsonl" in captured.err and "csv.py" not in captured.err
    assert "1 of 2 recording(s) could not be scored and were left out" in error and len(error) < 400
    with open(output, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["recording"] for row in rows} == {files[order[0]]}
    # no empty cell (but `no_signal`'s, empty where a window holds signal)
    assert all(value != "" for row in rows for key, value in row.items() if key != "no_signal")
    # a .jsonl line carries its own sizes: both files in one run
    assert main(["predict", encoder, files["six"], files["three"], *RATE, "--output", str(tmp_path / "e.jsonl")]) == 0


# ------------------------------------------------------------------------------------ 3. a run that stops part-way


def test_a_run_that_scores_nothing_keeps_the_earlier_output(classifier, tmp_path, capsys):
    output = tmp_path / "windows.csv"
    assert main(["predict", classifier, _recording(tmp_path / "good.npy"), *RATE, "--output", str(output)]) == 0
    before = output.read_bytes()
    assert (
        main(["predict", classifier, _recording(tmp_path / "bad.npy", nan=True), *RATE, "--output", str(output)]) == 2
    )
    (error,) = _errors(capsys)
    assert "NaN" in error and f"nothing was written to {output} (it holds what it held before)" in error
    assert output.read_bytes() == before
    assert [path.name for path in tmp_path.iterdir() if "partial" in path.name] == []


def test_a_symlinked_output_is_written_through(classifier, tmp_path):
    """The output goes through a partial file renamed into place: renamed onto the link itself, it replaced the link
    with a plain file and left the file it links to with the old rows (review of session 64)."""
    real = tmp_path / "results" / "windows.csv"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "latest.csv"
    link.symlink_to(real)
    assert main(["predict", classifier, _recording(tmp_path / "good.npy"), *RATE, "--output", str(link)]) == 0
    assert link.is_symlink() and real.read_text().startswith("recording,")


def test_a_refused_recording_among_many_is_left_out_and_the_rest_scored(classifier, tmp_path, capsys):
    files = [_recording(tmp_path / "a.npy"), _recording(tmp_path / "b.npy", nan=True), _recording(tmp_path / "c.npy")]
    output = tmp_path / "windows.csv"
    assert main(["predict", classifier, *files, *RATE, "--output", str(output)]) == 2
    captured = capsys.readouterr()
    assert f"left out: {files[1]}" in captured.err
    (error,) = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert "1 of 3 recording(s) could not be scored and were left out" in error
    assert f"the other 2 were scored and written to {output}" in error
    assert _recordings_in(output) == ["a.npy", "c.npy"]


def test_a_run_stopped_part_way_leaves_the_earlier_output_and_no_partial_file(
    classifier, tmp_path, capsys, monkeypatch
):
    # the module `main` runs (sys.modules'), not the package attribute, which the full suite has once found bound to
    # another copy (as in test_stream_audit66), so that the patch below missed the module that ran
    predict = importlib.import_module("citrus_hf.commands.predict")

    files = [_recording(tmp_path / f"{name}.npy", seed=seed) for seed, name in enumerate("abc")]
    output = tmp_path / "windows.csv"
    assert main(["predict", classifier, files[0], *RATE, "--output", str(output)]) == 0
    before = output.read_bytes()
    summary = predict._summary

    def interrupted_at_the_second(path, *rest):
        if path == files[1]:
            raise KeyboardInterrupt  # a Ctrl-C while the second recording is scored
        return summary(path, *rest)

    monkeypatch.setattr(predict, "_summary", interrupted_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        main(["predict", classifier, *files, *RATE, "--output", str(output)])
    err = capsys.readouterr().err
    assert f"nothing was written to {output} (it holds what it held before)" in err
    assert output.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.npy", "b.npy", "c.npy", "windows.csv"]


# ------------------------------------------------------------------------ 4. citrus evaluate's folder, one run each


def _stop(config):
    raise RuntimeError("stopped before the first fit")


def _one_run_then_stop(config, dataset, checkpoints, budgets, order, previous, record, progress, weights_digests):
    record({"dataset": dataset, "arm": "prior"}, True)
    raise RuntimeError("stopped after the first fit")


def test_a_run_with_other_settings_removes_the_report_it_would_contradict(tmp_path, monkeypatch):
    from citrus_hf.evaluation.protocol import run_protocol
    from citrus_hf.evaluation.settings import ProtocolConfig

    folder = tmp_path / "eval"
    settings = {"output_dir": str(folder), "datasets": ["basic_motions"], "arms": ["prior"], "budgets": [1]}
    # stops as a Ctrl-C or an error would, once it recorded its first run (protocol.json is written then)
    monkeypatch.setattr("citrus_hf.evaluation.protocol.pretrain_arms", lambda config: ({}, 0.0))
    monkeypatch.setattr("citrus_hf.evaluation.protocol._run_dataset", _one_run_then_stop)
    with pytest.raises(RuntimeError, match="stopped"):
        run_protocol(ProtocolConfig(**settings, seeds=[0]))
    report = [folder / f"results.{suffix}" for suffix in ("json", "csv", "md", "png")]
    for path in report:  # the report of the run with these settings, as it ends
        path.write_text("seed 0")
    with pytest.raises(RuntimeError, match="stopped"):  # the same settings again: its report stays
        run_protocol(ProtocolConfig(**settings, seeds=[0]))
    assert all(path.read_text() == "seed 0" for path in report)
    # settings that change no result (threads, --resume, progress bars) keep it too (review of session 64)
    with pytest.raises(RuntimeError, match="stopped"):
        run_protocol(ProtocolConfig(**settings, seeds=[0], num_threads=1, resume=False, show_progress=False))
    assert all(path.read_text() == "seed 0" for path in report)
    # other settings stopped before their first fit (refused on the data, Ctrl-C while pre-training) leave the folder
    # as it was, its protocol.json and the report it describes (session 69: protocol.json written at the start took the
    # refused settings and the report was deleted, though nothing of the new run was recorded)
    monkeypatch.setattr("citrus_hf.evaluation.protocol.pretrain_arms", _stop)
    with pytest.raises(RuntimeError, match="stopped"):
        run_protocol(ProtocolConfig(**settings, seeds=[3], score_split="validation"))
    assert json.loads((folder / "protocol.json").read_text())["seeds"] == [0]
    assert all(path.read_text() == "seed 0" for path in report)
    # once they record their first run, protocol.json holds them and the report they contradict is gone, so a run
    # stopped after that never leaves its settings beside another run's results
    monkeypatch.setattr("citrus_hf.evaluation.protocol.pretrain_arms", lambda config: ({}, 0.0))
    with pytest.raises(RuntimeError, match="stopped"):
        run_protocol(ProtocolConfig(**settings, seeds=[3], score_split="validation"))
    protocol = json.loads((folder / "protocol.json").read_text())
    assert protocol["seeds"] == [3] and protocol["score_split"] == "validation"
    assert not any(path.exists() for path in report)
    assert not [path.name for path in folder.iterdir() if path.name.endswith(".partial")]
