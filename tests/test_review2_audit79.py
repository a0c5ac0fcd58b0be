"""Review 79 (2): the data errors a generator raises inside `datasets`' "An error occurred while generating the
dataset", unwrapped by `load_recording_folder` and `write_plan`, keep their own cause (a reader's `from error`)."""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data.errors import CitrusDataError, CorruptFileError
from citrus_hf.data.plans import BuildPlan, dataset_features, write_plan
from citrus_hf.data.recording_folders import load_recording_folder


def test_a_damaged_file_in_a_folder_keeps_its_readers_cause(tmp_path):
    """A damaged .npy among good ones is refused with the reader's CorruptFileError, not datasets' wrapper, and its
    cause (numpy's own words on the header, which the reader raised it from) is still chained: `raise ... from None`
    at the unwrap cut it, and the traceback ended at the package's one line."""
    for index in range(2):
        np.save(tmp_path / f"good{index}.npy", np.full((1, 256), index, dtype=np.float32))
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY\x01\x00garbage that is no header")
    with pytest.raises(CorruptFileError, match="bad.npy") as caught:
        load_recording_folder(tmp_path, sampling_rate=128.0)
    assert caught.value.__cause__ is not None
    assert "DatasetGenerationError" not in repr(caught.value.__context__)


def _damaged_rows(paths):
    """A builder's generator whose reader refuses its file with a data error raised from the parser's own."""
    for path in paths:
        try:
            int(path)
        except ValueError as error:
            raise CitrusDataError(f"{path} is damaged ({error}).") from error
        yield {}  # pragma: no cover


def test_a_builders_data_error_keeps_its_cause(tmp_path):
    """`write_plan` (every registered set's build) unwraps a generator's data error the same way, its cause kept."""
    plan = BuildPlan(dataset_features(["a", "b"], False, (1, 8)), _damaged_rows, {"train": {"paths": ["x.bin"]}})
    with pytest.raises(CitrusDataError, match=r"x\.bin is damaged") as caught:
        write_plan("review2", "1.0.0", {}, plan, cache_dir=tmp_path)
    assert isinstance(caught.value.__cause__, ValueError)
    assert "DatasetGenerationError" not in repr(caught.value.__context__)


def test_a_bug_in_a_generator_is_still_shown_wrapped(tmp_path):
    """A generator's own bug (no data error, no ValueError) stays in datasets' wrapper, its traceback beneath it."""

    def buggy(paths):
        yield {"missing": paths[0]["key"]}

    plan = BuildPlan(dataset_features(["a", "b"], False, (1, 8)), buggy, {"train": {"paths": ["x.bin"]}})
    import datasets

    with pytest.raises(datasets.exceptions.DatasetGenerationError) as caught:
        write_plan("review2bug", "1.0.0", {}, plan, cache_dir=tmp_path)
    assert isinstance(caught.value.__cause__, TypeError)


def test_a_readers_error_named_after_its_file_keeps_cause_and_frames():
    """A reader's refusal that does not name its file is said with the file's name in front, of its own class, and
    still with its cause and the reader's frames (`_naming_the_file` rebuilt it `from None`: neither was left)."""
    from pathlib import Path

    from citrus_hf.data.recording_folders import _naming_the_file

    def read_header():
        try:
            int("no header")
        except ValueError as error:
            raise CorruptFileError("a damaged header") from error

    with pytest.raises(CorruptFileError, match=r"^rec\.npy: a damaged header$") as caught:
        with _naming_the_file(Path("rec.npy")):
            read_header()
    assert isinstance(caught.value.__cause__, ValueError)
    assert any(entry.name == "read_header" for entry in caught.traceback)


@pytest.fixture(scope="module")
def _folder_with_a_loop(tmp_path_factory):
    """One folder of recordings with a link back to itself, shared by the tests of this module."""
    folder = tmp_path_factory.mktemp("shared_loop")
    (folder / "s1").mkdir()
    np.save(folder / "s1" / "0.npy", np.zeros((1, 64), dtype=np.float32))
    (folder / "s1" / "back").symlink_to(folder)
    return folder


@pytest.mark.parametrize("turn", ["first", "second"])
def test_a_note_on_a_shared_folder_is_seen_by_each_test(_folder_with_a_loop, turn, caplog):
    """The data layer's once-per-process notes are cleared before each test (conftest), as transformers'
    `warning_once` is: the second test listing a folder another test listed saw no note of its loop."""
    import logging

    from citrus_hf.data.listings import files_under

    with caplog.at_level(logging.WARNING):
        files_under(_folder_with_a_loop)
    assert "a loop" in caplog.text
