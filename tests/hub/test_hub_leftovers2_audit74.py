"""A set of events of one's own pushed to the Hub is scored as its folder is (leftovers2, tests/test_leftovers2_audit74):
`citrus data build FOLDER --push-to-hub REPO` of a folder labelled by events tables pushes what its labels belong to
(in its one note, `builders.BUILT_FROM_FILE`, since audit75; `LABELLED_UNIT_FILE` before) beside the set, and
`load_task_splits(REPO)` reads them as events, not pooled into one labelled recording per file as the Hub copy's
`recording` column alone would have them. Clients run in subprocesses pointed at the test hub."""

from __future__ import annotations

import json

from hub_server import DEFAULT_USER, client_result
from test_recmetrics_audit74 import _events_folder

REPO = f"{DEFAULT_USER}/my-events"

PUSH_AND_LOAD = """
import json
from citrus_hf.commands.main import main
from citrus_hf.data.splits import load_task_splits

assert main(["data", "build", "events", "--push-to-hub", "__REPO__"]) == 0
splits = load_task_splits("__REPO__", {"window_seconds": 2}, require_validation=False)
print("RESULT:", json.dumps({"unit": splits.labelled_unit, "recordings": splits.labelled_recordings("test")[1]}))
"""


def test_an_events_set_pushed_to_the_hub_is_read_back_as_events(make_hub_client, hub, tmp_path):
    _events_folder(tmp_path / "events")
    client = make_hub_client(tmp_path)
    before = hub.request_count()
    loaded = client_result(client(PUSH_AND_LOAD.replace("__REPO__", REPO)))
    assert loaded["unit"] == "event" and "events" in loaded["recordings"]
    # the load asked the Hub for one note (audit75: it asked for citrus_labelled_unit.json, and where recordings
    # cross the splits for citrus_built_from.json too); the push asks for none
    notes = {path.split("?")[0].rsplit("/", 1)[-1] for _, path, _ in hub.requests_since(before) if "/citrus_" in path}
    assert notes == {"citrus_built_from.json"}
    # (in the one note pushed with a set, audit75: no file of its own)
    assert json.loads(hub.repo_files(REPO, repo_type="dataset")["citrus_built_from.json"])["labelled_unit"] == "event"
