"""Session 70: small leftovers of the session's first helpers.

a. A run lock held by a run on another machine was refused advising --overwrite-output-dir, which `citrus export` and
   `citrus data build` do not have: the refusal names the takeover option of the command refused, or the lock to
   delete where it has none.
b. `citrus predict --backend onnxruntime` with an unwritable ONNX cache named the Python arguments `cache_dir=` /
   `onnx_cache_dir=`: it is refused before the model loads, naming $CITRUS_HF_ONNX_CACHE only.
c. The temporary files of exports killed part-way stayed in the ONNX cache for good: an export removes those a day
   old or more, and leaves younger ones (a concurrent live export's) alone.
d. Fusion: a newer citrus-hf's settings inside a modality's sub-config were not warned of, the processor's unknown
   top-level keys were ignored without a word, and loading the processor repeated the config's newer-version warning.
e. Errors and warnings of `from_pretrained(parent, subfolder="run")` named `parent`, not the folder read.
f. `fit_probe(task="regression")` on a sequence classifier trained as a regressor said its task was "classification".
g. A regressor's names given twice were refused in a classifier's words ("classes", "probability columns").
"""

from __future__ import annotations

import json
import os
import socket
import time

import numpy as np
import pytest
from tiny_configs import tiny_config

from citrus_hf.commands.main import main
from citrus_hf.training.run_lock import LOCK_NAME, output_folder_lock

# ------------------------------------------------------------------------------------------------ a. the lock's advice


def _foreign_lock(folder):
    folder.mkdir(parents=True, exist_ok=True)
    holder = {"pid": 1, "host": f"not-{socket.gethostname()}", "command": "citrus export", "started": 0}
    (folder / LOCK_NAME).write_text(json.dumps(holder))


def test_a_lock_of_another_machine_is_refused_with_the_commands_own_takeover(tmp_path):
    folder = tmp_path / "out"
    _foreign_lock(folder)
    with pytest.raises(ValueError) as refused, output_folder_lock(folder, "citrus export"):
        pass
    assert "--overwrite-output-dir" not in str(refused.value) and f"delete {folder / LOCK_NAME}" in str(refused.value)
    with pytest.raises(ValueError) as refused, output_folder_lock(folder, "x", takeover="--overwrite-output-dir"):
        pass
    assert "pass --overwrite-output-dir" in str(refused.value)


def test_citrus_data_build_into_a_folder_another_machine_holds_names_no_missing_option(tmp_path, capsys):
    folder = tmp_path / "built"
    _foreign_lock(folder)
    assert main(["data", "build", "eeg_blink", "--output", str(folder)]) == 2
    error = capsys.readouterr().err
    assert "is being written by another run" in error and "--overwrite-output-dir" not in error, error
    assert f"delete {folder / LOCK_NAME}" in error


# ------------------------------------------------------------------------------------- b. predict's ONNX cache advice


def test_predict_with_an_unwritable_onnx_cache_names_what_the_command_line_can_set(tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnxruntime")
    recording = tmp_path / "rec.npy"
    np.save(recording, np.zeros((1, 400), dtype=np.float32))
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file")
    monkeypatch.setenv("CITRUS_HF_ONNX_CACHE", str(not_a_folder))
    argv = ["predict", "citrus-small", str(recording), "--sampling-rate", "100", "--backend", "onnxruntime"]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "$CITRUS_HF_ONNX_CACHE" in error and str(not_a_folder) in error, error
    assert "cache_dir=" not in error


# ----------------------------------------------------------------------------- c. a killed export's temporary files


def test_an_export_removes_the_stale_temporary_files_of_killed_exports_only(tmp_path, caplog, exporter_stand_in):
    pytest.importorskip("onnxruntime")
    from citrus_hf import CiTrusModel
    from citrus_hf.inference.backends import STALE_PARTIAL_SECONDS, export_onnx

    tmp_path.joinpath("cache").mkdir()
    stale = tmp_path / "cache" / ".CiTrusModel-embeddings-0123456789ab-3f2a1b0c9d8e.onnx.partial"
    live = tmp_path / "cache" / ".CiTrusModel-embeddings-0123456789ab-aaaaaaaaaaaa.onnx.partial"
    other = tmp_path / "cache" / "notes.partial"  # not a name of ours
    for path in (stale, live, other):
        path.write_bytes(b"half a graph")
    long_ago = time.time() - STALE_PARTIAL_SECONDS - 60
    os.utime(stale, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    # (torch's exporter stood in for: the clean-up is the package's, before it exports; the export route is run by
    # test_inference's test_onnx_export_is_cached_and_reused)
    with caplog.at_level("WARNING"):
        path, exported = export_onnx(CiTrusModel(tiny_config()).eval(), "embeddings", tmp_path / "cache")
    assert exported and path.is_file()
    assert not stale.exists() and live.exists() and other.exists()
    assert any(stale.name in record.getMessage() for record in caplog.records)


# --------------------------------------------------------------------------------------- d. the fusion files' settings


def _fusion_folder(folder):
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "ppg": tiny_config()}, num_labels=2)
    config.save_pretrained(folder)
    CiTrusFusionProcessor.from_config(config).save_pretrained(folder)
    return folder


def _edit(path, edit):
    saved = json.loads(path.read_text(encoding="utf-8"))
    edit(saved)
    path.write_text(json.dumps(saved), encoding="utf-8")


def _messages(caplog, text: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if text in record.getMessage()]


def test_a_newer_citrus_hfs_settings_in_a_modalitys_sub_config_are_named(tmp_path, caplog):
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig

    folder = _fusion_folder(tmp_path / "fusion")
    _edit(folder / "config.json", lambda saved: saved.update(citrus_hf_version="99.1.0"))
    _edit(folder / "config.json", lambda saved: saved["modality_configs"]["ecg"].update(future_stem=3))
    with caplog.at_level("WARNING"):
        CiTrusFusionConfig.from_pretrained(folder)
    (message,) = _messages(caplog, "written by citrus-hf 99.1.0")
    assert "'future_stem' (modality 'ecg')" in message


def test_the_fusion_processors_unknown_settings_are_named_and_the_configs_warning_not_repeated(tmp_path, caplog):
    from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

    folder = _fusion_folder(tmp_path / "fusion")
    _edit(folder / "processor_config.json", lambda saved: saved.update(future_option=1))
    with caplog.at_level("WARNING"):
        CiTrusFusionProcessor.from_pretrained(folder)
    (message,) = _messages(caplog, "'future_option'")
    assert "does not know" in message and "processor_config.json" in message
    caplog.clear()
    newer = {"citrus_hf_version": "99.1.0", "future_option": 1}
    _edit(folder / "processor_config.json", lambda saved: saved.update(newer))
    _edit(folder / "config.json", lambda saved: saved.update(citrus_hf_version="99.1.0", future_head=2))
    with caplog.at_level("WARNING"):
        CiTrusFusionProcessor.from_pretrained(folder)
    (message,) = _messages(caplog, "written by citrus-hf 99.1.0")
    assert "processor_config.json" in message and "'future_option'" in message
    assert not _messages(caplog, "'future_head'")  # the model's load says it, not the processor's check


# ------------------------------------------------------------------------------------------- e. the folder read


def test_a_subfolders_files_are_named_by_the_folder_read(tmp_path, caplog):
    from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, CiTrusModel

    run = tmp_path / "run"
    CiTrusModel(tiny_config()).save_pretrained(run)
    CiTrusFeatureExtractor.from_config(tiny_config()).save_pretrained(run)
    _edit(run / "config.json", lambda saved: saved.update(citrus_hf_version="99.1.0", future=1))
    with caplog.at_level("WARNING"):
        CiTrusConfig.from_pretrained(tmp_path, subfolder="run")
    assert _messages(caplog, f"The config.json of {str(run)!r}")
    _edit(run / "config.json", lambda saved: saved.pop("sampling_rate"))
    with pytest.raises(ValueError, match=f"^{str(run)!r}: config.json has no"):
        CiTrusModel.from_pretrained(tmp_path, subfolder="run")
    _edit(run / "preprocessor_config.json", lambda saved: saved.pop("sampling_rate"))
    with pytest.raises(ValueError, match=f"^{str(run)!r}: its preprocessor_config.json has no"):
        CiTrusFeatureExtractor.from_pretrained(tmp_path, subfolder="run")


def test_a_fusion_processor_in_a_subfolder_is_named_by_the_folder_read(tmp_path, caplog):
    from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

    folder = _fusion_folder(tmp_path / "run")
    _edit(folder / "processor_config.json", lambda saved: saved.update(future_option=1))
    with caplog.at_level("WARNING"):
        CiTrusFusionProcessor.from_pretrained(tmp_path, subfolder="run")
    assert _messages(caplog, f"{str(folder)!r}: its processor_config.json")


# ------------------------------------------------------------------------------ f, g. a classifier trained as regressor


def test_the_probe_names_the_task_a_classifier_regressors_config_declares():
    from datasets import Dataset

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.probe import fit_probe

    model = CiTrusForSequenceClassification(tiny_config(num_labels=1, problem_type="regression"))
    rows = np.random.default_rng(0).standard_normal((6, 1, 200)).astype("float32")
    dataset = Dataset.from_dict({"input_values": rows.tolist(), "labels": [0.0, 1.0, 1.0, 0.0, 1.0, 0.0]})
    for task in ("regression", "classification"):  # (classification fitted classes to its 0/1 targets)
        with pytest.raises(ValueError, match="problem_type is 'regression'") as refused:
            fit_probe(model, dataset, task=task)
        assert "its task is 'classification'" not in str(refused.value)


@pytest.mark.parametrize("overrides", [{"num_targets": 2}, {"problem_type": "regression"}])
def test_a_regressors_repeated_names_are_refused_as_targets(overrides):
    with pytest.raises(ValueError, match="one name to several targets") as refused:
        tiny_config(id2label=["rate", "rate"], **overrides)
    assert "probability" not in str(refused.value)
    with pytest.raises(ValueError, match="one name to several classes"):
        tiny_config(id2label=["a", "a"])


# ----------------------------------------------------------------- export without --cache-dir (found on the way)


def test_export_without_a_cache_dir_checks_the_default_cache(tmp_path, monkeypatch, capsys):
    """`citrus export MODEL` (no --cache-dir) failed with a NameError: the default cache's check called
    `check_output_dir`, imported only in `run`, from `_export`."""
    pytest.importorskip("onnxruntime")
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file")
    monkeypatch.setenv("CITRUS_HF_ONNX_CACHE", str(not_a_folder))
    assert main(["export", "citrus-small"]) == 2
    error = capsys.readouterr().err
    assert "The default ONNX cache" in error and "$CITRUS_HF_ONNX_CACHE" in error, error
