"""Publishing a built dataset through the Hub protocol: `citrus data build NAME --push-to-hub REPO` stores Parquet
shards for every split (in LFS, as on huggingface.co) and one dataset card that holds both the metadata `datasets`
writes (features, split sizes, which files make which split) and this package's sources, licenses and citations;
`datasets.load_dataset(REPO)` gives back, row for row, the DatasetDict built locally; and publishing the same build
again uploads and commits nothing.

The build runs on the real recordings of an offline archive, which the README's test command caches before pytest
(`python -m citrus_hf.commands data fetch --offline-corpus`). Clients run in subprocesses pointed at the test hub."""

from __future__ import annotations

import hashlib
import io
import json
import re

import pyarrow.parquet as pq
import pytest
from datasets import load_from_disk
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from hub_server import (
    DEFAULT_USER,
    ScriptResults,
    client_env,
    client_result,
    in_one_client,
    printed_by_each,
    run_client,
    validate_card_metadata,
)
from huggingface_hub import DatasetCard

from citrus_hf.data import build_dataset
from citrus_hf.data.builders import BUILT_FROM_FILE
from citrus_hf.data.errors import ArchiveMissingError
from citrus_hf.data.fetch import archive_path
from citrus_hf.data.registry import SOURCES, get_dataset_spec
from citrus_hf.publishing.datasets import dataset_card

NAME = "watch_exercises"  # three splits (train / validation / test) of real smartwatch IMU recordings
REPO = f"{DEFAULT_USER}/citrus-watch-exercises"
SHARD = re.compile(r"data/(?P<split>\w+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.parquet")

# What a user types: `citrus data build NAME --push-to-hub REPO` (the console script is `citrus_hf.commands.main:main`).
BUILD_AND_PUSH = """
import sys
from citrus_hf.commands.main import main

sys.exit(main(["data", "build", "__NAME__", "--push-to-hub", "__REPO__"]))
"""

LOAD = """
import json
from datasets import load_dataset
from huggingface_hub import HfApi

dataset = load_dataset("__REPO__")
dataset.save_to_disk("from_hub")
info = HfApi().dataset_info("__REPO__", files_metadata=True)
print("RESULT:", json.dumps({
    "splits": list(dataset),
    "rows": {split: len(part) for split, part in dataset.items()},
    "columns": {split: part.column_names for split, part in dataset.items()},
    "lfs": {s.rfilename: [s.lfs.sha256, s.lfs.size] for s in info.siblings if s.lfs is not None},
    "card_license": info.card_data.license,
}))
"""


def script(text: str) -> str:
    return text.replace("__NAME__", NAME).replace("__REPO__", REPO)


@pytest.fixture(scope="module", autouse=True)
def archives():
    """The archives NAME is built from must be cached (and match their checksums); a missing one fails loudly, with
    the command that fetches it."""
    for source in get_dataset_spec(NAME).sources:
        try:
            archive_path(SOURCES[source].archive)
        except ArchiveMissingError as error:
            pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="module")
def published(hub, make_hub_client, tmp_path_factory):
    """The dataset built locally, then built and pushed by the CLI twice in one client (`in_one_client`; `again`: the
    Hub requests of the second push, the commits of the first before them) and loaded by a second client with
    an empty Hub cache: `load_task_splits` first (LOAD_TASK_SPLITS below), so the package's read is the one that
    starts from nothing, then `load_dataset`. That cache is the one the offline reads of that test use; it also
    holds what `load_dataset` read after (datasets' `cache_dir=` would not keep that apart: its hf:// downloads go to
    the Hub cache, so a cache of `load_task_splits`' own alone would cost a client of its own)."""
    datasets_cache = tmp_path_factory.mktemp("datasets-cache")
    built = build_dataset(NAME, cache_dir=datasets_cache)
    workdir = tmp_path_factory.mktemp("dataset_hub")
    client = make_hub_client(workdir)
    # the CLI's build reads the local build's datasets cache (its Hub cache is its own): the same build, not a second
    before = hub.request_count()
    pushes = in_one_client({"push": script(BUILD_AND_PUSH), "push_again": script(BUILD_AND_PUSH)})
    pushed = printed_by_each(client(pushes, HF_DATASETS_CACHE=str(datasets_cache)))
    requests = hub.requests_since(before)
    commits = [index for index, request in enumerate(requests) if request[1].endswith("/commit/main")]
    # (the first push's two commits, its shards' then its card's: what follows is the second push's)
    again = requests[commits[1] + 1 :] if len(commits) > 1 else None
    reads = in_one_client({"task_splits": script(LOAD_TASK_SPLITS), "loaded": script(LOAD)})
    printed = printed_by_each(client(reads, hf_home=workdir / "fresh_cache"))
    # (absent when LOAD failed: the tests reading `loaded` fail on that, with its output)
    from_hub = load_from_disk(str(workdir / "from_hub")) if (workdir / "from_hub").exists() else None
    return ScriptResults({**printed, **pushed}, built=built, client=client, from_hub=from_hub, workdir=workdir,
                         again=again)  # fmt: skip


def test_cli_pushes_a_parquet_shard_per_split_in_lfs(published, hub):
    built = published["built"]
    assert f"pushed to the Hub: {REPO}" in published.output("push")
    stored = hub.repo_files(REPO, repo_type="dataset")
    shards = {path: SHARD.fullmatch(path) for path in stored if path.endswith(".parquet")}
    assert all(shards.values()), sorted(shards)
    # and the note of the registered set it is, as a folder `--output` saves holds it (`builders.built_from_hub`)
    assert set(stored) == {".gitattributes", "README.md", BUILT_FROM_FILE, *shards}
    assert json.loads(stored[BUILT_FROM_FILE])["dataset"] == NAME
    assert {match["split"] for match in shards.values()} == set(built)
    # Every split's shards are numbered 0..count-1 of count, and together hold exactly that split's rows.
    for split, dataset in built.items():
        indices = sorted((int(m["index"]), int(m["count"])) for m in shards.values() if m["split"] == split)
        assert indices == [(i, len(indices)) for i in range(len(indices))], (split, indices)
        tables = [pq.read_table(io.BytesIO(stored[p])) for p, m in shards.items() if m["split"] == split]
        assert sum(t.num_rows for t in tables) == len(dataset), split
        assert all(t.column_names == dataset.column_names for t in tables), split
    # As on huggingface.co, the dataset repo's .gitattributes sends Parquet to LFS: git holds pointers, the LFS
    # storage the bytes, and the listing a client sees names each shard's sha256 and size.
    lfs = hub.repo_lfs_files(REPO, repo_type="dataset")
    assert set(lfs) == set(shards)
    assert all(lfs[path] == hashlib.sha256(stored[path]).hexdigest() for path in shards)
    assert published["loaded"]["lfs"] == {path: [lfs[path], len(stored[path])] for path in shards}
    assert not hub.repos[("dataset", REPO)].private


def test_card_keeps_the_datasets_metadata_and_adds_sources_and_licenses(published, hub):
    built = published["built"]
    readme = hub.repo_files(REPO, repo_type="dataset")["README.md"].decode()
    assert validate_card_metadata(readme) == ([], [])  # what the Hub checks on every README.md it receives
    card = DatasetCard(readme)
    ours = DatasetCard(dataset_card(NAME))
    # This package's card: its text, license, task and tags.
    assert card.text == ours.text
    assert f"# {NAME}" in card.text and "License:" in card.text and "Cite:" in card.text
    assert card.data.license == "other" and card.data.task_categories == ["time-series-classification"]
    assert {"bio-signals", "citrus-hf"} <= set(card.data.tags)
    assert published["loaded"]["card_license"] == "other"
    # The metadata `push_to_hub` wrote survives: the features and split sizes ...
    infos = DatasetInfosDict.from_dataset_card_data(card.data)
    assert list(infos) == ["default"]
    assert infos["default"].features == built["train"].features
    assert {split: info.num_examples for split, info in infos["default"].splits.items()} == built.num_rows
    # ... and which files make which split, so no split depends on the Hub guessing from file names.
    configs = MetadataConfigs.from_dataset_card_data(card.data)
    assert configs["default"]["data_files"] == [{"split": split, "path": f"data/{split}-*"} for split in built]


def test_load_dataset_gives_back_the_local_build(published):
    built, loaded, from_hub = published["built"], published["loaded"], published["from_hub"]
    assert loaded["splits"] == list(built)
    assert loaded["rows"] == built.num_rows
    assert loaded["columns"] == built.column_names
    for split, dataset in built.items():
        hub_split = from_hub[split]
        assert hub_split.features == dataset.features, split
        assert hub_split[0] == dataset[0], split
        assert hub_split.data.table.equals(dataset.data.table), split


def test_publishing_the_same_build_again_changes_nothing(published, hub):
    repo = hub.repos[("dataset", REPO)]
    head = repo.branches["main"]
    assert [repo.commits[head].title, repo.commits[repo.commits[head].parent].title] == [
        "Dataset card: sources, licenses",
        "Upload dataset",
    ]
    published.output("push_again")  # (its failure, with its output, if it failed)
    requests = published["again"]  # (the second push, run in the fixture's client after the first)
    # The shards are already in LFS storage (the batch API asks for no upload) and the merged card is what is there.
    assert requests and not [r for r in requests if r[0] == "PUT" or r[1].endswith("/commit/main")], requests


# What `citrus finetune --dataset REPO` / `citrus evaluate --datasets REPO` read: the set this package pushed, through
# `datasets.load_dataset` (the datasets-habits audit: they took only a `save_to_disk` folder or a registered name).
LOAD_TASK_SPLITS = """
import json
from citrus_hf.data.splits import check_dataset_reference, load_task_splits

check_dataset_reference("__REPO__", labelled=True)
splits = load_task_splits("__REPO__")
print("RESULT:", json.dumps({
    "task": splits.task,
    "rows": [len(splits.train), len(splits.validation), len(splits.test)],
    "labels": splits.label_names,
}))
"""


def test_citrus_reads_the_pushed_set_by_its_hub_id_and_offline_from_the_cache(published):
    built = published["built"]
    expected = {
        "task": "classification",
        "rows": [len(built["train"]), len(built["validation"]), len(built["test"])],
        "labels": built["train"].features["label"].names,
    }
    client, cache = published["client"], published["workdir"] / "fresh_cache"
    assert published["task_splits"] == expected  # online, in the fixture's reading client
    # the same cache without the Hub: `datasets` serves its copy, as `load_dataset` does offline
    offline = client(script(LOAD_TASK_SPLITS), hf_home=cache, HF_HUB_OFFLINE="1")
    assert client_result(offline) == expected
    # and without HF_HUB_OFFLINE, the Hub gone (nothing listens at the endpoint): the copy, without a lookup retried
    # with back-off (51 s of them before `data.hub_access`); no timing here, the retries' warnings show on stderr
    workdir = published["workdir"]
    gone = run_client(script(LOAD_TASK_SPLITS), client_env("http://127.0.0.1:9", cache), cwd=workdir)
    assert client_result(gone.stdout) == expected, gone.stderr[-2000:]
    assert "Retrying in" not in gone.stderr, gone.stderr[-2000:]
