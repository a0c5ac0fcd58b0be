"""A Hub dataset of several configs (`push_to_hub(repo, config_name=...)`, each its own subset) given to the commands
as `owner/name` (an audit of upstream `datasets` traps). Clients run in subprocesses pointed at the test hub."""

from __future__ import annotations

from hub_server import DEFAULT_USER, client_result

REPO = f"{DEFAULT_USER}/citrus-two-configs"

SCRIPT = """
import json
import numpy as np
from datasets import Dataset, DatasetDict
from citrus_hf.commands.main import main
from citrus_hf.data.splits import load_task_splits

rng = np.random.default_rng(0)

def split(n):
    rows = {"input_values": [rng.normal(size=(1, 100)).astype("float32") for _ in range(n)]}
    return Dataset.from_dict({**rows, "label": [i % 2 for i in range(n)], "sampling_rate": [100.0] * n})

for config in ("wrist", "chest"):
    DatasetDict(train=split(6), test=split(4)).push_to_hub("__REPO__", config_name=config)
try:
    load_task_splits("__REPO__", require_validation=False)
    refused = None
except ValueError as error:
    refused = str(error)
print("RESULT:", json.dumps({"refused": refused, "code": main(["data", "info", "__REPO__"])}))
"""


def test_a_hub_set_of_several_configs_is_named_with_the_way_to_pick_one(make_hub_client, tmp_path):
    """`datasets.load_dataset(id)` of a repository of several configs and no default one stops with "Config name is
    missing ... `load_dataset('owner/name', 'wrist')`", advice the commands (which take the id alone) cannot follow;
    the error now names the configs and the way in: save the one to use to a folder and pass that."""
    result = client_result(make_hub_client(tmp_path)(SCRIPT.replace("__REPO__", REPO)))
    refused = result["refused"]
    assert refused is not None and "\n" not in refused
    assert f"{REPO!r} holds several configs (subsets) ['chest', 'wrist']" in refused
    assert f"datasets.load_dataset({REPO!r}, 'chest').save_to_disk(folder)" in refused
    assert result["code"] != 0
