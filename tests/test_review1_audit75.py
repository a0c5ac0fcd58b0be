"""Review of session 75's own landed work (audit75, review1): the notes of a Hub set asked once per load
(`builders.hub_notes_read_once`) held in a module global that two loads in threads left set for good, serving notes
read before a later push; and a labelled set's first file, kept for the rows' generator (`_FIRST_FILE_READ`), left in
memory when the build failed after reading it.
"""

from __future__ import annotations

import threading

import pytest
from test_bids_audit73 import CHANNELS, _bids, _tsv

from citrus_hf.data import builders
from citrus_hf.data import recording_folders as folders
from citrus_hf.data.recording_folders import load_recording_folder

# --------------------------------------------------------------- a Hub set's notes, asked once per load


def test_hub_notes_read_once_in_two_threads_leaves_no_cache_behind(monkeypatch, tmp_path):
    """Two loads in threads, the first leaving before the second: the global each set back to what it found stayed a
    dict for the rest of the process, so every later load was served the notes read then (a note pushed after them
    never read). Each thread now holds its own; outside any load each note is asked of the Hub again."""
    import huggingface_hub

    from citrus_hf.data import hub_access

    monkeypatch.setattr(hub_access, "hub_is_unreachable", lambda *args: False)  # (no probe of the network)
    note = tmp_path / builders.BUILT_FROM_FILE
    note.write_text("{}")
    asked = []
    monkeypatch.setattr(
        huggingface_hub, "hf_hub_download", lambda repo_id, name, **kwargs: asked.append(name) or str(note)
    )
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first_load():
        with builders.hub_notes_read_once():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second_load():
        first_in.wait(10)
        with builders.hub_notes_read_once():
            second_in.set()
            first_out.wait(10)

    threads = [threading.Thread(target=first_load), threading.Thread(target=second_load)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    builders._hub_note("user/set", builders.BUILT_FROM_FILE)
    builders._hub_note("user/set", builders.BUILT_FROM_FILE)
    assert len(asked) == 2
    with builders.hub_notes_read_once():  # (within one load: once)
        builders._hub_note("user/set", builders.BUILT_FROM_FILE)
        builders._hub_note("user/set", builders.BUILT_FROM_FILE)
    assert len(asked) == 3


# ---------------------------------------------- a labelled set's first file, kept only while its set is built


def test_a_failed_build_keeps_no_first_file_in_memory(tmp_path, own_datasets_cache):
    """The first file's recordings, read for the channels every file is read in, were dropped only once the rows were
    generated: a build refused after that read (every channel of the first recording marked bad) kept them."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"))
    for table in root.glob("sub-01/eeg/*_channels.tsv"):
        _tsv(table, ["name", "type", "units", "status"], [[name, "EEG", "uV", "bad"] for name in CHANNELS])
    with pytest.raises(ValueError, match="every channel it holds is marked bad"):
        load_recording_folder(root)
    assert folders._FIRST_FILE_READ.get() is None


# ------------------------------------------------------ a card pushed before per-recording scores left model-index


def test_a_card_listing_per_recording_rows_is_replaced_without_asking_for_them_again(tmp_path, caplog):
    """A card pushed before this model's per-recording scores went into the evaluation note lists them as table rows
    of "this model". Pushing the same `citrus evaluate` results over it warned that the new card did not give them
    again and to pass the evaluation results again, which the user had just done: they are in the note now."""
    from test_evalviz_audit75 import _scored_runs
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForSequenceClassification, build_model_card
    from citrus_hf.evaluation import write_report

    results = write_report(_scored_runs()[:4], tmp_path)["json"]
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    card = str(build_model_card(model, repo_id="me/citrus-set", eval_results=results, model_arm="citrus-scratch"))
    lines = card.splitlines()
    own = next(index for index, line in enumerate(lines) if line.startswith("| set | test | this model | accuracy |"))
    # the row such a card gave this model's per-recording accuracy
    lines.insert(own + 1, "| set | test | this model | recording_accuracy | 6 | 2 | 0.875 ± 0.18 |")
    earlier = "\n".join(lines)
    with caplog.at_level("WARNING"):
        again = build_model_card(
            model, repo_id="me/citrus-set", eval_results=results, model_arm="citrus-scratch", previous_card=earlier
        )
    assert "does not give again" not in caplog.text
    assert "this model | recording_accuracy" not in str(again) and "Per recording (" in str(again)
