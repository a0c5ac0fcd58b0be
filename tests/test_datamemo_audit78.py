"""A folder listed once per call through one scoped memo (session 78, area datamemo): `listings.one_listing`, under
which `files_under` walks each folder once (and a BIDS dataset's events tables are looked for once), replaces the
`listed=` keyword last session threaded through seven functions; `citrus predict`'s folders, `is_recording_folder`, a
set loaded from a folder of recordings (`load_own_dataset`), `load_task_splits` and `own_dataset_info` listed one
folder two to thirteen times. Listings counted by `os.scandir` (`test_mendC_audit77.root_listings`)."""

import os
from pathlib import Path

import numpy as np
import pytest
from test_mendC_audit77 import _pile, root_listings  # noqa: F401  (a fixture: {folder: times os.scandir listed it})

from citrus_hf.data.listings import fresh_listings, one_listing
from citrus_hf.data.recording_folders import (
    files_under,
    is_recording_folder,
    labelled_layout,
    load_recording_folder,
    recording_files,
    warn_of_unread_files,
)


@pytest.fixture
def listings(request) -> dict[str, int]:
    """`{folder: times os.scandir listed it}` (`test_mendC_audit77.root_listings`, imported above)."""
    return request.getfixturevalue("root_listings")


def _listed_once_each(listings: dict[str, int], *folders: Path) -> None:
    assert {folder: listings.get(os.path.realpath(folder)) for folder in folders} == {folder: 1 for folder in folders}


def test_one_listing_walks_a_folder_once_and_never_outlives_its_scope(tmp_path, listings):
    pile = _pile(tmp_path / "pile")
    (tmp_path / "link").symlink_to(pile)
    with one_listing():
        first = files_under(pile)
        first.append(pile / "mine.npy")  # (a caller's edit of its list stays its own)
        np.save(pile / "r3.npy", np.zeros((1, 400), np.float32))  # not seen within the scope
        with one_listing():  # (nested: the same scope)
            assert files_under(pile) == [pile / f"r{index}.npy" for index in range(3)]
        # the same folder spelt through a link: the one listing, named by the link's path
        assert files_under(tmp_path / "link") == [tmp_path / "link" / f"r{index}.npy" for index in range(3)]
        _listed_once_each(listings, pile)
        with fresh_listings():  # (a step that writes into a folder it lists: a registered set's build)
            assert files_under(pile)[-1] == pile / "r3.npy"
    assert files_under(pile) == [pile / f"r{index}.npy" for index in range(4)]  # outside the scope: afresh
    assert listings[os.path.realpath(pile)] == 3


def test_is_recording_folder_lists_once(tmp_path, listings):
    pile = _pile(tmp_path / "pile")
    assert is_recording_folder(pile)
    _listed_once_each(listings, pile)


def test_a_loaded_folder_is_listed_once_per_call_and_a_new_file_is_seen(tmp_path, own_datasets_cache, listings):
    from citrus_hf.data.splits import load_own_dataset

    pile = _pile(tmp_path / "pile")
    # (whether it holds recordings, then their reading: three walks)
    assert load_own_dataset(pile, sampling_rate=50.0)["train"].num_rows == 3
    _listed_once_each(listings, pile)
    np.save(pile / "r3.npy", np.ones((1, 400), np.float32))
    listings.clear()
    assert sorted(load_recording_folder(pile, sampling_rate=50.0)["recording"]) == [f"r{i}.npy" for i in range(4)]
    _listed_once_each(listings, pile)


def test_a_labelled_folder_is_listed_once_by_load_task_splits_and_data_info(recording_folders, listings):
    from citrus_hf.data.splits import load_task_splits, own_dataset_info

    # (its load, then whether it holds recordings, what labels them, what its labels belong to: ten walks)
    assert load_task_splits(recording_folders, require_validation=False, sampling_rate=50.0).test.num_rows == 4
    _listed_once_each(listings, recording_folders)
    listings.clear()
    assert own_dataset_info(recording_folders, sampling_rate=50.0)["fine_tuning"]["ready"]  # (thirteen)
    _listed_once_each(listings, recording_folders)


def test_a_bids_dataset_s_events_tables_are_looked_for_once_per_scope(tmp_path, listings):
    from citrus_hf.data.bids import holds_events

    root = tmp_path / "bids"
    (root / "sub-01" / "eeg").mkdir(parents=True)
    (root / "dataset_description.json").write_text('{"Name": "motor", "BIDSVersion": "1.9.0"}')
    with one_listing():  # (a load asked for them in four steps, each a walk of the dataset)
        assert not holds_events(root)
        (root / "sub-01" / "eeg" / "sub-01_task-motor_events.tsv").write_text("onset\tduration\n1\t2\n")
        assert not holds_events(root)
    _listed_once_each(listings, root)
    assert holds_events(root) and listings[os.path.realpath(root)] == 2  # outside the scope: afresh


def test_citrus_predict_lists_each_folder_once(tmp_path, listings):
    from citrus_hf.commands.predict import _expand_folders

    pile = _pile(tmp_path / "pile")
    (pile / "notes.hdf5").write_bytes(b"\x89HDF")  # (a format not read: named by the warning's own listing)
    expected = [str(pile / f"r{index}.npy") for index in range(3)]
    assert _expand_folders([str(pile), str(pile)]) == expected * 2  # (the warning's walk and the recordings')
    _listed_once_each(listings, pile)
    (pile / "r1.npy").unlink()
    assert _expand_folders([str(pile)]) == [expected[0], expected[2]]  # the next call lists afresh


def test_the_listed_keyword_is_still_honoured(recording_folders, listings):
    """A guard (passes before the memo too): `listed=` of the public readers, kept for their callers, is read
    instead of a walk of the folder."""
    listed = files_under(recording_folders)
    listings.clear()
    assert recording_files(recording_folders, listed=listed[:2]) == listed[:2]
    assert warn_of_unread_files(recording_folders, listed=listed) == []
    assert list(labelled_layout(recording_folders, listed=listed)) == ["train", "test"]
    assert os.path.realpath(recording_folders) not in listings
