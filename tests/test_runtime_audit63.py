"""Audit 63, other runtime modes and platform habits: symlinked recording files and folders, a LoRA adapter of a base
given as a relative folder, read-only data and caches, and the ONNX cache under a private umask."""

from __future__ import annotations

import errno
import json
import os
import stat
import zlib
from pathlib import Path

import numpy as np
import pytest
from tiny_configs import project_with_tiny_classifier, tiny_config


def _save(path: Path, samples: int = 400) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # (seeded by the whole path: paths of one length gave byte-identical files, read once where they are copies)
    seed = zlib.crc32(str(path).encode())
    np.save(path, np.random.default_rng(seed).standard_normal((1, samples)).astype(np.float32))


def _files_of(folder: Path) -> dict[str, int]:
    return {str(file.relative_to(folder)): file.stat().st_mtime_ns for file in folder.rglob("*")}


def test_metadata_rows_name_their_files_by_the_path_the_folder_lays_out(tmp_path, own_datasets_cache):
    """Resolved, a symlinked file's metadata row was "no file under" the folder (named by its target's name), and
    `validation/0.npy -> ../pool/v0.npy` was read as a train file while the validation split disappeared."""
    from citrus_hf.data.recording_folders import load_recording_folder, metadata_layout

    # files linked in from a store outside the set
    linked = tmp_path / "linked"
    rows = ["file_name,label"]
    for split, count in (("train", 4), ("test", 2)):
        for index in range(count):
            _save(tmp_path / "store" / f"{split}{index}.npy")
            (linked / split).mkdir(parents=True, exist_ok=True)
            (linked / split / f"{index}.npy").symlink_to(tmp_path / "store" / f"{split}{index}.npy")
            rows.append(f"{split}/{index}.npy,{'ab'[index % 2]}")
    (linked / "metadata.csv").write_text("\n".join(rows) + "\n")
    layout = metadata_layout(linked)
    assert {split: sorted(p.relative_to(linked).as_posix() for p in files) for split, files in layout.items()} == {
        "train": ["train/0.npy", "train/1.npy", "train/2.npy", "train/3.npy"],
        "test": ["test/0.npy", "test/1.npy"],
    }
    # the validation files link into a pool inside the set: they stay the validation split
    pooled = tmp_path / "pooled"
    rows = ["file_name,label"]
    for split, count in (("train", 4), ("validation", 2), ("test", 2)):
        for index in range(count):
            if split == "validation":
                _save(pooled / "pool" / f"v{index}.npy")
                (pooled / split).mkdir(parents=True, exist_ok=True)
                (pooled / split / f"{index}.npy").symlink_to(f"../pool/v{index}.npy")
            else:
                _save(pooled / split / f"{index}.npy")
            rows.append(f"{split}/{index}.npy,{'ab'[index % 2]}")
    (pooled / "metadata.csv").write_text("\n".join(rows) + "\n")
    loaded = load_recording_folder(pooled)
    assert {split: len(rows) for split, rows in loaded.items()} == {"train": 4, "validation": 2, "test": 2}
    assert loaded["validation"]["recording"] == ["validation/0.npy", "validation/1.npy"]
    # one recording named through a link and through its target would be two examples: refused, naming both
    (pooled / "metadata.csv").write_text("\n".join([*rows, "pool/v0.npy,a"]) + "\n")
    with pytest.raises(ValueError, match=r"names 'pool/v0.npy', and another metadata row names 'validation/0.npy'"):
        metadata_layout(pooled)


def test_symlinked_subfolders_are_read_and_a_loop_is_skipped_with_a_warning(tmp_path, caplog):
    """`Path.rglob` skips symlinked folders: a corpus of linked-in subjects was read as a fraction of itself, linked
    class folders made an "unlabelled" set, and `citrus predict FOLDER` found "no recording files"."""
    from citrus_hf.commands.predict import _expand_folders
    from citrus_hf.data.recording_folders import is_recording_folder, labelled_layout, recording_files
    from citrus_hf.data.splits import _data_files

    corpus = tmp_path / "corpus"
    for subject in (1, 2):
        for index in range(2):
            _save(tmp_path / "store" / f"subject{subject}" / f"{index}.npy")
        corpus.mkdir(exist_ok=True)
        (corpus / f"subject{subject}").symlink_to(tmp_path / "store" / f"subject{subject}")
    (tmp_path / "store" / "subject1" / "back").symlink_to(corpus)  # a loop: corpus/subject1/back/subject1/...
    with caplog.at_level("WARNING", logger="citrus_hf.data.recording_folders"):
        files = recording_files(corpus)
    assert [file.relative_to(corpus).as_posix() for file in files] == [
        "subject1/0.npy",
        "subject1/1.npy",
        "subject2/0.npy",
        "subject2/1.npy",
    ]
    assert "subject1/back links to" in caplog.text and "a loop" in caplog.text
    assert is_recording_folder(corpus)
    assert _expand_folders([str(corpus)]) == [str(file) for file in files]
    # class folders that are links: a labelled set
    labelled = tmp_path / "set"
    for label in "ab":
        _save(tmp_path / "classes" / label / "0.npy")
        _save(labelled / "test" / label / "0.npy")
        (labelled / "train").mkdir(exist_ok=True)
        (labelled / "train" / label).symlink_to(tmp_path / "classes" / label)
    assert {split: len(files) for split, files in labelled_layout(labelled).items()} == {"train": 2, "test": 2}
    # a folder of data files (parquet) whose split folder is a link
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "part.parquet").write_bytes(b"")
    (tmp_path / "data" / "test").mkdir(parents=True)
    (tmp_path / "data" / "test" / "part.parquet").write_bytes(b"")
    (tmp_path / "data" / "train").symlink_to(tmp_path / "tables")
    assert [file.relative_to(tmp_path / "data").as_posix() for file in _data_files(tmp_path / "data")] == [
        "test/part.parquet",
        "train/part.parquet",
    ]


def test_an_adapter_records_a_local_base_folder_by_its_absolute_path(tmp_path, monkeypatch):
    """`save_adapter` of a base loaded as "runs/base" recorded "runs/base", which from any other folder read as a Hub
    id: "We couldn't connect to 'https://huggingface.co'". An adapter saved so before is refused naming its recorded
    base and the fix."""
    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.lora import apply_lora, load_adapter, save_adapter

    project, elsewhere = project_with_tiny_classifier(tmp_path, monkeypatch)
    save_adapter(apply_lora(CiTrusForSequenceClassification.from_pretrained("runs/base"), verbose=False), "runs/lora")
    config_file = project / "runs" / "lora" / "adapter_config.json"
    config = json.loads(config_file.read_text())
    assert config["base_model_name_or_path"] == str(project / "runs" / "base")
    monkeypatch.chdir(elsewhere)
    assert load_adapter(None, "../project/runs/lora").get_base_model().config.num_labels == 2
    # an adapter that recorded the relative folder (citrus-hf before this fix)
    for recorded, said in (("runs/base", "did not load from the Hub either"), ("../runs/base", "does not exist")):
        config_file.write_text(json.dumps({**config, "base_model_name_or_path": recorded}))
        with pytest.raises(OSError, match=rf"records its base model as (the folder )?'{recorded}'.*{said}") as error:
            load_adapter(None, "../project/runs/lora")
        assert "load_adapter('path/to/base', adapter)" in str(error.value)
        assert "huggingface.co" not in str(error.value)
    # a Hub id is no folder here: recorded as it is
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    model.name_or_path = "someone/citrus-base"
    save_adapter(apply_lora(model, verbose=False), elsewhere / "hub_lora")
    recorded = json.loads((elsewhere / "hub_lora" / "adapter_config.json").read_text())["base_model_name_or_path"]
    assert recorded == "someone/citrus-base"


def test_a_save_to_disk_set_is_read_without_writing_into_its_folder(tmp_path, own_datasets_cache):
    """The alignment's `Dataset.map` (and the carving of a validation split) wrote cache files beside the set's data
    files: into the user's folder on each run, and a read-only set failed with "Permission denied: .../tmpXXXX"."""
    import datasets

    from citrus_hf import CiTrusFeatureExtractor
    from citrus_hf.data.alignment import align_rows
    from citrus_hf.data.splits import load_task_splits

    rng = np.random.default_rng(0)

    def split(count: int):
        return datasets.Dataset.from_dict(
            {
                "input_values": [rng.standard_normal((1, 400)).astype(np.float32) for _ in range(count)],
                "label": [index % 2 for index in range(count)],
                "sampling_rate": [100.0] * count,
            }
        )

    folder = tmp_path / "shared_set"
    datasets.DatasetDict({"train": split(10), "test": split(4)}).save_to_disk(folder)
    before = _files_of(folder)
    loaded = load_task_splits(folder)
    aligned = align_rows(loaded.train, CiTrusFeatureExtractor.from_config(tiny_config()), label_column="label")
    assert len(aligned) == len(loaded.train) and len(loaded.validation) > 0
    assert _files_of(folder) == before
    assert aligned.cache_files  # on disk, not in memory: else the check below holds of nothing
    assert all(Path(cache["filename"]).is_relative_to(own_datasets_cache) for cache in aligned.cache_files)
    # a second read (the set saved again in between) reads the new data
    datasets.DatasetDict({"train": split(12), "test": split(4)}).save_to_disk(tmp_path / "new")
    for name in ("train", "test"):
        for file in (tmp_path / "new" / name).iterdir():
            os.replace(file, folder / name / file.name)
    reloaded = load_task_splits(folder)
    assert len(reloaded.train) + len(reloaded.validation) == 12


def test_a_datasets_cache_that_cannot_be_written_is_named_with_the_fix(tmp_path, monkeypatch, own_datasets_cache):
    """A read-only $HF_DATASETS_CACHE (a shared cluster cache, a read-only $HOME) with a folder of recordings, or a
    `save_to_disk` set: a bare PermissionError on a lock file of `datasets`."""
    import datasets

    from citrus_hf.data.recording_folders import load_recording_folder
    from citrus_hf.data.splits import load_split

    for index in range(2):
        _save(tmp_path / "recs" / f"{index}.npy")

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(own_datasets_cache / "_tmp_generator.lock"))

    monkeypatch.setattr(datasets.Dataset, "from_generator", denied)
    expected = rf"datasets cache {own_datasets_cache} cannot be written .*HF_DATASETS_CACHE=/path/to/writable/folder"
    with pytest.raises(OSError, match=expected):
        load_recording_folder(tmp_path / "recs")
    datasets.Dataset.from_dict({"input_values": [[[0.0] * 10]], "label": [0]}).save_to_disk(tmp_path / "set")
    monkeypatch.setattr(Path, "mkdir", lambda *args, **kwargs: denied())  # a read-only cache, even for root
    with pytest.raises(OSError, match=expected):
        load_split(tmp_path / "set", "train")


def test_the_onnx_export_is_created_with_the_permissions_the_umask_allows(tmp_path, exporter_stand_in):
    """The exported graph (all of the model's weights) was chmod-ed to 0644 whatever the umask: readable by others
    under `umask 077`, where every other file the package writes is 0600. (torch's exporter stood in for: the file's
    mode is the package's doing.)"""
    pytest.importorskip("onnx")
    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.inference.backends import InferenceTarget, export_onnx

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).eval()
    previous = os.umask(0o077)
    try:
        path, exported = export_onnx(model, InferenceTarget(output="logits"), tmp_path)
    finally:
        os.umask(previous)
    assert exported and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [file.name for file in tmp_path.iterdir()] == [path.name]  # no temporary file left
