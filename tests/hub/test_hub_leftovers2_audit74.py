"""A set of events of one's own pushed to the Hub is scored as its folder is (leftovers2, tests/test_leftovers2_audit74):
`citrus data build FOLDER --push-to-hub REPO` of a folder labelled by events tables pushes what its labels belong to
(`builders.LABELLED_UNIT_FILE`) beside the set, and `load_task_splits(REPO)` reads them as events, not pooled into one
labelled recording per file as the Hub copy's `recording` column alone would have them. Clients run in subprocesses
pointed at the test hub."""

from __future__ import annotations

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
    loaded = client_result(client(PUSH_AND_LOAD.replace("__REPO__", REPO)))
    assert loaded["unit"] == "event" and "events" in loaded["recordings"]
    assert "citrus_labelled_unit.json" in hub.repo_files(REPO, repo_type="dataset")
