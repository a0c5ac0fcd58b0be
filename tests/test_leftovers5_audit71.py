"""The fifth leftovers audit of round 71 (audit71_leftovers5): what this round's helpers found and left.

* an ONNX export whose weights are kept apart (past 1.5 GB) wrote them straight under their final name,
  `<graph>.onnx.data`: a full disk left a partial file of gigabytes in the cache, and two processes exporting one model
  truncated each other's. Graph and weights are now written into a hidden folder of their own and renamed into place,
  and the stale-export cleanup removes such folders too (simulated by lowering the size limits);
* subject ids of a metadata.csv that read as the same number ("1.1" and "1.10", "007" and "7") became one subject;
* a big-endian (RIFX) WAV file failed with a raw KeyError;
* an ARFF example whose channels differ in length was "scipy could not read ... (IndexError: list index out of
  range)".;
* `paired_gaps` counted a pair of macro-F1s one rounding step apart (the same per-class F1s in another class order) a
  win, not a tie.
"""

from __future__ import annotations

import os
import struct
import time

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_uea_arff
from citrus_hf.data.readers.files import read_wav
from citrus_hf.data.recording_folders import metadata_layout
from citrus_hf.data.splits import load_task_splits
from citrus_hf.inference import backends

# ------------------------------------------------------------------------- a. weights kept apart, written in place


def _lower_size_limits(monkeypatch):
    from torch.onnx._internal.exporter import _onnx_program

    monkeypatch.setattr(_onnx_program, "_LARGE_MODEL_THRESHOLD", 1000)  # torch's switch to external data, in bytes
    monkeypatch.setattr(backends, "ONNX_SINGLE_FILE_BYTES", 1000)


@pytest.mark.skipif(backends.onnx_export_available() is not None, reason="needs citrus-hf[onnx]")
def test_weights_kept_apart_never_lie_half_written_under_their_final_name(tmp_path, monkeypatch, exporter_stand_in):
    """A write that fails part-way (a full disk) through the weights' file left `<graph>.onnx.data` half written in
    the cache; now nothing of the export is left."""
    import onnx_ir

    from citrus_hf import CiTrusModel

    _lower_size_limits(monkeypatch)
    save = onnx_ir.save

    def disk_full(graph, path, external_data=None, **kwargs):
        save(graph, path, external_data=external_data, **kwargs)
        if external_data is not None:  # the weights written (here whole), then the disk fills
            raise OSError(28, "No space left on device")
        return None

    monkeypatch.setattr(onnx_ir, "save", disk_full)
    # (torch's exporter stood in for: what is tested is how the export writes the weights, `_save_graph`; a real
    # export of a graph whose weights are kept apart: the test of test_leftovers2_audit71 named below)
    torch.manual_seed(0)
    model = CiTrusModel(tiny_config()).eval()
    with pytest.raises(OSError, match="No space left"):
        backends.export_onnx(model, "embeddings", tmp_path / "cache")
    # nothing is left, so a later export is a first export, which writes both files whole (on an export of its own:
    # test_leftovers2_audit71's test_an_export_too_large_for_one_file_keeps_its_weights_beside_the_graph)
    assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == []


def test_the_stale_export_cleanup_removes_a_killed_exports_folder(tmp_path, caplog):
    """The folder a graph and its weights are written into (`_save_graph`) is removed when a killed export left it,
    as its temporary file is; a live one (recent files) is kept."""
    stem = ".CiTrusModel-embeddings-0123456789ab"
    stale, live = tmp_path / f"{stem}-3f2a1b0c9d8e.onnx.partial.d", tmp_path / f"{stem}-aaaaaaaaaaaa.onnx.partial.d"
    long_ago = time.time() - backends.STALE_PARTIAL_SECONDS - 60
    for folder in (stale, live):
        folder.mkdir()
        (folder / "x.onnx.data").write_bytes(b"half the weights")
        os.utime(folder / "x.onnx.data", (long_ago, long_ago))
        os.utime(folder, (long_ago, long_ago))
    (live / "x.onnx").write_bytes(b"being written")  # a live export's file: written just now
    with caplog.at_level("WARNING"):
        backends.remove_stale_partial_exports(tmp_path)
    assert not stale.exists() and live.exists()
    assert any(stale.name in record.getMessage() for record in caplog.records)


# ------------------------------------------------------------------------------ b. ids that read as the same number


def _rated_folder(root, subjects_of):
    rng = np.random.default_rng(0)
    for split, subjects in subjects_of.items():
        (root / split).mkdir(parents=True)
        rows = []
        for index, subject in enumerate(subjects):
            np.save(root / split / f"r{index}.npy", rng.standard_normal((1, 200)) + index % 2)
            rows.append(f"r{index}.npy,{'ab'[index % 2]},100,{subject}")
        (root / split / "metadata.csv").write_text("file_name,label,sampling_rate,subject\n" + "\n".join(rows) + "\n")


def test_subject_ids_that_read_as_one_number_stay_apart(tmp_path, own_datasets_cache):
    """ "1.1" and "1.10", or "007" and "7", were read as the numbers 1.1 and 7: four subjects became two, in the
    validation carve and `citrus data info`. They are now kept as written, in every metadata file of the folder alike
    (a folder of ids that stay apart as numbers still reads them as numbers)."""
    _rated_folder(tmp_path / "clash", {"train": ["1.1", "1.10", "007", "7"], "test": ["3", "4", "3", "4"]})
    layout = metadata_layout(tmp_path / "clash")
    assert sorted(row["subject"] for row in layout["train"].values()) == ["007", "1.1", "1.10", "7"]
    assert sorted(row["subject"] for row in layout["test"].values()) == ["3", "3", "4", "4"]
    splits = load_task_splits(tmp_path / "clash", require_validation=False)
    subjects = set(splits.train["subject"]) | set(splits.validation["subject"])
    assert subjects == {"007", "1.1", "1.10", "7"}
    _rated_folder(tmp_path / "apart", {"train": ["007", "8", "9", "10"], "test": ["3", "4", "3", "4"]})
    layout = metadata_layout(tmp_path / "apart")
    assert sorted(row["subject"] for row in layout["train"].values()) == [7, 8, 9, 10]


# ------------------------------------------------------------------------------------------- c. a big-endian WAV


def test_a_big_endian_wav_file_reads_as_its_little_endian_twin(tmp_path):
    samples = np.array([0, 16384, -32768, 32767], dtype=np.int16)
    fmt = struct.pack(">HHIIHH", 1, 1, 100, 200, 2, 16)
    data = samples.astype(">i2").tobytes()
    body = b"WAVE" + b"fmt " + struct.pack(">I", len(fmt)) + fmt + b"data" + struct.pack(">I", len(data)) + data
    (tmp_path / "rifx.wav").write_bytes(b"RIFX" + struct.pack(">I", len(body)) + body)
    recording = read_wav(tmp_path / "rifx.wav")
    np.testing.assert_allclose(recording.data, [samples / 2.0**15])
    assert recording.sampling_rate == 100


# --------------------------------------------------------------------------------- d. ARFF channels of two lengths


@pytest.mark.parametrize("example", ["'1,2,3\\n4,5'", "'1,2\\n4,5,6'"])
def test_an_arff_example_with_a_short_channel_is_named_with_its_fix(tmp_path, example):
    steps = "".join(f"  @attribute t{step} numeric\n" for step in range(3))
    path = tmp_path / "unequal.arff"
    path.write_text(
        f"@relation X\n@attribute rel relational\n{steps}@end rel\n@attribute class {{a,b}}\n@data\n"
        f"'1,2,3\\n4,5,6',b\n{example},a\n"
    )
    with pytest.raises(CorruptFileError, match=r"fewer values than the 3 time steps.*\?") as caught:
        read_uea_arff(path)
    assert "IndexError" not in str(caught.value)


# --------------------------------------------------------------------------------- f. ties one rounding step apart


def test_macro_f1s_of_the_same_per_class_scores_are_a_tie_not_a_win():
    """Two arms whose per-class F1s are the same values in another class order (one's errors mirrored in another
    class) scored macro-F1s one rounding step apart, and `paired_gaps` counted the pair a win."""
    from citrus_hf.evaluation.report import paired_gaps
    from citrus_hf.training.metrics import macro_f1

    y = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    scores = [macro_f1(y, [2, 0, 0, 0, 0, 1, 0, 1, 2, 2, 2, 2]), macro_f1(y, [0, 0, 0, 0, 1, 1, 0, 1, 1, 2, 1, 2])]
    assert scores[0] != scores[1]  # (0.7407407407407408 and ...406: the same per-class F1s, 2/3, 2/3 and 8/9)
    runs = [
        {"dataset": "d", "task": "classification", "arm": arm, "budget": "10", "budget_order": 0, "seed": 0,
         "macro_f1": score}
        for arm, score in zip(("mine", "theirs"), scores)
    ]  # fmt: skip
    (gap,) = paired_gaps(runs, {"mine": "theirs"})
    assert (gap["wins"], gap["ties"], gap["pairs"]) == (0, 1, 1)
