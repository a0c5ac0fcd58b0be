"""A set of your own published through the Hub protocol: `citrus data build FOLDER --push-to-hub REPO` reads a folder
of recording files in class folders as the commands read it and pushes it as Parquet with a card (its task, rows and
rates; no license, which only the owner knows), and `citrus finetune --dataset REPO` takes it back from the Hub. Before,
`citrus data build` took registered names only ("Unknown dataset"). Real BasicMotions IMU windows as .npy files;
clients run in subprocesses pointed at the test hub."""

from __future__ import annotations

import numpy as np
import pytest
from hub_server import DEFAULT_USER, client_result, validate_card_metadata
from huggingface_hub import DatasetCard

REPO = f"{DEFAULT_USER}/my-motions"

BUILD_AND_PUSH = """
import sys
from citrus_hf.commands.main import main

sys.exit(main(["data", "build", "motions", "--push-to-hub", "__REPO__"]))
"""

LOAD = """
import json
from datasets import load_dataset
from citrus_hf.data.splits import load_task_splits

dataset = load_dataset("__REPO__")
splits = load_task_splits("__REPO__", sampling_rate=10)
print("RESULT:", json.dumps({
    "rows": {split: len(part) for split, part in dataset.items()},
    "columns": dataset["train"].column_names,
    "label_names": splits.label_names,
    "first_test": [dataset["test"][0]["recording"], dataset["test"][0]["label"]],
    "shape": list(np.asarray(dataset["test"][0]["input_values"]).shape),
}))
""".replace("import json", "import json\nimport numpy as np")


@pytest.fixture(scope="module")
def published(make_hub_client, tmp_path_factory):
    from citrus_hf.data import build_dataset

    workdir = tmp_path_factory.mktemp("own_dataset_hub")
    motions = build_dataset("basic_motions")
    names = motions["train"].features["label"].names
    for split in ("train", "test"):
        for index, row in enumerate(motions[split].with_format("numpy")):
            folder = workdir / "motions" / split / names[row["label"]]
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / f"{index:02d}.npy", row["input_values"])
    client = make_hub_client(workdir)
    stdout = client(BUILD_AND_PUSH.replace("__REPO__", REPO))
    loaded = client_result(client(LOAD.replace("__REPO__", REPO), hf_home=workdir / "fresh_cache"))
    return {"stdout": stdout, "loaded": loaded}


def test_a_folder_of_class_folders_is_pushed_and_read_back_by_the_commands(published, hub):
    assert f"pushed to the Hub: {REPO}" in published["stdout"]
    loaded = published["loaded"]
    assert loaded["rows"] == {"train": 40, "test": 40}
    assert set(loaded["columns"]) == {"input_values", "recording", "label"}  # .npy files record no rate
    assert loaded["label_names"] == ["Badminton", "Running", "Standing", "Walking"]
    recording, label = loaded["first_test"]
    assert recording == f"test/{label}/{recording.rsplit('/', 1)[1]}" and loaded["shape"] == [6, 100]
    readme = hub.repo_files(REPO, repo_type="dataset")["README.md"].decode()
    assert validate_card_metadata(readme) == ([], [])
    card = DatasetCard(readme)
    assert card.data.task_categories == ["time-series-classification"] and "citrus-hf" in card.data.tags
    assert card.data.license is None and "add the recordings' license to this card" in card.text
    assert "**Rows**: train 40, test 40" in card.text
