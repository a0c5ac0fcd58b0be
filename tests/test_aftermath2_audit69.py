"""Session 69 (second pass): what a failed, killed or refused command leaves behind.

1. `citrus predict --plot FILE`, `plot_pretraining_curve` and `citrus export --output-dir` wrote in place: a write
   that failed part-way (a full disk) or was killed left half of the earlier file, or (export) the new graph beside the
   earlier deployment's config. They are now written whole or not at all.
2. The hidden staging folders of a killed run (`.citrus-finetune-*`, `.citrus-dataset-*`, `.citrus-report-*`, the
   Trainer's `.citrus-trainer`) and the package's partial files stayed in the output folder for good. A run that takes
   the folder's lock (no other run of ours writes it then) removes them, saying so; a user's files stay.
3. `citrus evaluate` refused on its data (a mistyped --test-split) with other settings than the folder's deleted the
   folder's report and wrote its refused settings to protocol.json. Both now wait for the first run recorded.
"""

from __future__ import annotations

import errno
import json
import logging

import numpy as np
import pytest
from test_aftermath_audit69 import _finetune_argv, _labelled_set
from tiny_configs import save_tiny_classifier

from citrus_hf.commands.main import main


def _full_disk_savefig(monkeypatch):
    """`Figure.savefig` writes a few bytes, then fails as a full disk does."""
    from matplotlib.figure import Figure

    def half_then_full(self, fname, *args, **kwargs):
        with open(fname, "wb") as handle:
            handle.write(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", half_then_full)


def _hidden(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


# --------------------------------------------------------------------------- 1. plots and exports written whole


def test_a_predict_plot_that_fails_to_write_keeps_the_earlier_one(tmp_path, monkeypatch):
    model = save_tiny_classifier(tmp_path / "model")
    recording = tmp_path / "rec.npy"
    np.save(recording, np.random.default_rng(0).standard_normal((1, 600)).astype(np.float32))
    plot = tmp_path / "plot.png"
    argv = ["predict", str(model), str(recording), "--sampling-rate", "100", "--plot", str(plot)]
    assert main(argv) == 0
    before = plot.read_bytes()
    with monkeypatch.context() as patch:
        _full_disk_savefig(patch)
        assert main(argv) == 2  # (the one-line error: No space left on device)
    assert plot.read_bytes() == before
    assert _hidden(tmp_path) == []


def test_a_pretraining_curve_that_fails_to_write_keeps_the_earlier_one(tmp_path, monkeypatch):
    from citrus_hf.training.curves import plot_pretraining_curve

    losses = {"train_losses": [[1, 1.2], [4, 0.9]], "eval_losses": [[4, 1.0]], "eval_baseline_losses": [[4, 1.1]]}
    summary = {"format_version": 2, "steps": 4, **losses}
    curve = plot_pretraining_curve(summary, tmp_path / "curve.png")
    before = curve.read_bytes()
    assert before.startswith(b"\x89PNG")  # a PNG, though written under a name ending .partial
    with monkeypatch.context() as patch:
        _full_disk_savefig(patch)
        with pytest.raises(OSError, match="No space left"):
            plot_pretraining_curve(summary, curve)
    assert curve.read_bytes() == before
    assert _hidden(tmp_path) == []


def test_an_export_folder_that_fails_to_write_keeps_the_earlier_deployment(tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    from test_resources_audit64 import saved_identity_graph
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
    from citrus_hf.commands.export import _write_deployment

    exported = saved_identity_graph(tmp_path / "exported.onnx")
    config = tiny_config(num_labels=2)
    extractor = CiTrusFeatureExtractor.from_config(config)
    loaded = type("Loaded", (), {"model": CiTrusForSequenceClassification(config), "extractor": extractor})()
    deploy = tmp_path / "deploy"
    _write_deployment(exported, loaded, deploy)
    before = {path.name: path.read_bytes() for path in deploy.iterdir()}
    assert {"model.onnx", "config.json", "preprocessor_config.json"} <= set(before)

    # another model's deployment fails as its extractor is written: the earlier graph and config stay (they were
    # replaced before, and the folder held the new graph beside the earlier extractor)
    loaded.model = CiTrusForSequenceClassification(tiny_config(num_labels=3))

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(CiTrusFeatureExtractor, "save_pretrained", full_disk)
    with pytest.raises(OSError, match="No space left"):
        _write_deployment(exported, loaded, deploy)
    assert {path.name: path.read_bytes() for path in deploy.iterdir()} == before


# ---------------------------------------------------------------------- 2. a killed run's staging folders removed


def _plant(folder, *names: str) -> None:
    for name in names:
        (folder / name).mkdir(parents=True)
        (folder / name / "model.safetensors").write_bytes(b"\0" * 64)


def test_the_run_lock_removes_a_killed_runs_staging_and_keeps_the_users_files(tmp_path, caplog):
    from citrus_hf.training.run_lock import output_folder_lock

    folder = tmp_path / "run"
    _plant(folder, ".citrus-finetune-abc123", ".citrus-trainer", ".citrus-notes", "citrus-finetune-mine")
    (folder / ".finetune_results-0123456789ab.json.partial").write_text("{", encoding="utf-8")
    (folder / "mine.partial").write_text("the user's", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        with output_folder_lock(folder, "citrus finetune", leftovers=(".citrus-finetune-*", ".citrus-trainer")):
            assert _hidden(folder) == [".citrus-notes", ".citrus-run.lock"]
    assert sorted(path.name for path in folder.iterdir()) == [".citrus-notes", "citrus-finetune-mine", "mine.partial"]
    said = [record.getMessage() for record in caplog.records if "Removed" in record.getMessage()]
    assert len(said) == 1 and ".citrus-finetune-abc123" in said[0] and ".citrus-trainer" in said[0]
    assert "killed" in said[0]


def test_finetune_removes_a_killed_runs_staging_folder(tmp_path, caplog):
    output = tmp_path / "run"
    _plant(output, ".citrus-finetune-dead00", ".citrus-trainer")
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        assert main([*_finetune_argv(tmp_path, output), "--output-dir", str(output), "--no-show-progress"]) == 0
    assert _hidden(output) == []
    assert any(".citrus-finetune-dead00" in record.getMessage() for record in caplog.records)


def test_data_build_and_evaluate_remove_their_killed_runs_staging_folders(tmp_path):
    dataset = _labelled_set(tmp_path / "set")
    built = tmp_path / "built"
    _plant(built, ".citrus-dataset-dead00")
    assert main(["data", "build", str(dataset), "--output", str(built)]) == 0
    assert _hidden(built) == []
    output = tmp_path / "eval"
    _plant(output, ".citrus-report-dead00")
    argv = ["evaluate", "--datasets", str(dataset), "--arms", "prior", "--budgets", "2", "--seeds", "0"]
    assert main([*argv, "--output-dir", str(output), "--no-show-progress"]) == 0
    assert _hidden(output) == []


# ------------------------------------------------------------- 3. evaluate refused on its data keeps the report


def test_evaluate_refused_on_its_data_keeps_the_folders_report_and_settings(tmp_path):
    dataset = _labelled_set(tmp_path / "set")
    output = tmp_path / "eval"
    argv = ["evaluate", "--datasets", str(dataset), "--arms", "prior", "--budgets", "2"]
    argv += ["--output-dir", str(output), "--no-show-progress"]
    assert main([*argv, "--seeds", "0"]) == 0
    kept = ("protocol.json", "results.json", "results.csv", "results.md", "results.png")
    before = {name: (output / name).read_bytes() for name in kept}
    # other settings (another seed), refused on its data: nothing of the folder's run changes
    assert main([*argv, "--seeds", "1", "--test-split", f"{dataset}=tset"]) == 2
    assert {name: (output / name).read_bytes() for name in kept} == before
    # the same settings run: protocol.json and the report are theirs
    assert main([*argv, "--seeds", "1"]) == 0
    assert json.loads((output / "protocol.json").read_text(encoding="utf-8"))["seeds"] == [1]
    assert json.loads((output / "results.json").read_text(encoding="utf-8")) != json.loads(before["results.json"])
