"""Session 70: leftovers of session 69.

1. `citrus export --output-dir` took no run lock: two exports into one folder moved their files in over each other's,
   and the staging folder (`.citrus-export-*`, a graph's size) of an export that was killed stayed there for good. It
   now holds the folder's lock as `citrus finetune` does: a second export is refused at once, leaving the folder as it
   was, and a killed export's staging folder is removed, with a warning, as the next one starts.
2. A folder's metadata.csv with `onset` and `duration` columns (an events table) and no `label` / `target` column was
   ignored without a word: the folder became an unlabelled pile of whole files (`citrus data info` showed one segment
   per file; `citrus pretrain` trained on the whole recordings). It is refused now, naming the table, the missing
   column and the two fixes.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from tiny_configs import save_tiny_classifier

from citrus_hf.commands.main import main


def _hidden(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


# ------------------------------------------------------------------------------ 1. export holds its folder's lock


def test_export_removes_a_killed_exports_staging_folder_and_keeps_the_folders_files(tmp_path, caplog):
    model = save_tiny_classifier(tmp_path / "model")
    output = tmp_path / "deploy"
    (output / ".citrus-export-dead00").mkdir(parents=True)
    (output / ".citrus-export-dead00" / "model.onnx").write_bytes(b"\0" * 64)
    (output / "config.json").write_text("{}", encoding="utf-8")  # a checkpoint's: the export is refused
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        assert main(["export", str(model), "--output-dir", str(output)]) == 2
    assert _hidden(output) == []
    assert (output / "config.json").read_text(encoding="utf-8") == "{}"
    assert any(".citrus-export-dead00" in record.getMessage() for record in caplog.records)


def test_an_export_into_a_folder_another_run_writes_is_refused_and_leaves_it_alone(tmp_path, capsys):
    from citrus_hf.training.run_lock import output_folder_lock

    model = save_tiny_classifier(tmp_path / "model")
    output = tmp_path / "deploy"
    output.mkdir()
    (output / "model.onnx").write_bytes(b"the earlier deployment")
    with output_folder_lock(output, "citrus export"):
        assert main(["export", str(model), "--output-dir", str(output), "--cache-dir", str(tmp_path / "c")]) == 2
        assert "is being written by another run (citrus export" in capsys.readouterr().err
    assert (output / "model.onnx").read_bytes() == b"the earlier deployment"
    assert sorted(path.name for path in output.iterdir()) == ["model.onnx"]
    assert not (tmp_path / "c").exists()  # refused before anything was exported


# ------------------------------------------------------------------------ 2. an events table without labels


def _events_folder(folder, label: bool):
    rng = np.random.default_rng(0)
    rows = []
    for split in ("train", "test"):
        (folder / split).mkdir(parents=True)
        name = f"{split}/run.npy"
        np.save(folder / name, rng.standard_normal((1, 2000)).astype(np.float32))
        for onset in (0, 6, 12):
            rows.append({"file_name": name, "onset": onset, "duration": 4.0, "sampling_rate": 100.0})
            if label:
                rows[-1]["label"] = "ab"[onset % 12 // 6]
    pd.DataFrame(rows).to_csv(folder / "metadata.csv", index=False)
    return folder


def test_an_events_table_without_labels_is_refused_naming_the_column_and_the_fixes(tmp_path, capsys):
    from citrus_hf.data.recording_folders import metadata_layout

    folder = _events_folder(tmp_path / "set", label=False)
    with pytest.raises(ValueError, match=r"metadata.csv is an events table .* no `label` .* column") as refused:
        metadata_layout(folder)
    assert "remove its `onset` and `duration` columns" in str(refused.value)
    assert main(["data", "info", str(folder)]) == 2
    assert "events table" in capsys.readouterr().err
    # with labels it is the events set it was
    labelled = metadata_layout(_events_folder(tmp_path / "labelled", label=True))
    assert [len(events) for split in labelled.values() for events in split.values()] == [3, 3]
