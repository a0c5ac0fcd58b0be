"""Leftovers of audit 76 on the Hub and loading side: a sharded pickled checkpoint is named by its index and its count
of shards; online without a network the CiTrus classes say so in one line; a dtype conflict reached through an Auto
class names the Auto call; offline, "no folder of that name" only of a name that reads as a path; a push commits onto
the commit it read. Tiny models; no network (a closed port, and the test Hub served in this process)."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.loading import load_pretrained

# ------------------------------------------------------------------------- 1. the shards of a pickled checkpoint


def _pickled_shards_folder(folder, count=12):
    """A classifier's checkpoint folder (config, feature extractor) whose weights are `count` pickled shards
    `pytorch_model-0000x-of-000NN.bin` with their `pytorch_model.bin.index.json`, as older transformers saved them."""
    config = tiny_config(num_labels=2)
    config.save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    for number in range(1, count + 1):
        torch.save({}, folder / f"pytorch_model-{number:05d}-of-{count:05d}.bin")
    (folder / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {}, "weight_map": {}}))


@pytest.mark.parametrize("loader", ["class", "load_pretrained"])
def test_a_sharded_pickled_checkpoint_is_named_by_its_index_and_shard_count(loader, tmp_path):
    """The refusal of a folder of pickled shards listed every shard on its one line (hundreds of names for a large
    checkpoint). It now names the index and how many shards it has; the conversion still merges every shard."""
    _pickled_shards_folder(tmp_path)
    with pytest.raises(OSError) as raised:
        if loader == "class":
            CiTrusForSequenceClassification.from_pretrained(str(tmp_path))
        else:
            load_pretrained(tmp_path)
    said = str(raised.value)
    assert "pytorch_model.bin.index.json and its 12 shards pytorch_model-*-of-00012.bin" in said, said
    assert "pytorch_model-00001-of-00012.bin" not in said and "pytorch_model-00012" not in said, said
    if loader == "class":  # the conversion's call reads the whole set
        assert "glob.glob(" in said and "pytorch_model-*-of-00012.bin" in said, said


def test_a_pickled_shard_set_missing_shards_says_how_many_it_holds(tmp_path):
    """A set with shards missing (and no index) is named with the count it holds of the count its names say."""
    _pickled_shards_folder(tmp_path, count=3)
    (tmp_path / "pytorch_model-00002-of-00003.bin").unlink()
    (tmp_path / "pytorch_model.bin.index.json").unlink()
    with pytest.raises(OSError) as raised:
        CiTrusForSequenceClassification.from_pretrained(str(tmp_path))
    assert "pickled weights ['2 of 3 shards pytorch_model-*-of-00003.bin']" in str(raised.value), str(raised.value)


# ------------------------------------------------------------------------------ 2. online, a Hub that does not answer


@pytest.fixture
def hub_not_answering(monkeypatch):
    """Online (HF_HUB_OFFLINE unset) with nothing answering at the Hub's endpoint (a closed port), huggingface_hub's
    back-off between retries skipped so that its five retries take no time."""
    import time

    import huggingface_hub.constants
    import transformers.utils.hub

    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(transformers.utils.hub, "_hf_api", None)  # built again, for this endpoint
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


@pytest.mark.parametrize(
    ("loader", "name"),
    [("CiTrusForSequenceClassification", "owner/name"), ("CiTrusConfig", "citrus-smal")],
)
def test_a_citrus_class_says_the_hub_did_not_answer_in_one_line(loader, name, hub_not_answering, tmp_path):
    """Online without a network, `CiTrusForSequenceClassification.from_pretrained("owner/name")` (and the config's)
    showed transformers' "We couldn't connect to 'http://...' ... see how to run the library in offline mode" on
    three lines, where the CiTrus feature extractor said the package's one line with the fix. Both say it now, with
    the bundled name a mistyped one may mean."""
    import citrus_hf

    with pytest.raises(OSError) as raised:
        getattr(citrus_hf, loader).from_pretrained(name, cache_dir=str(tmp_path))
    said = str(raised.value)
    assert said.startswith(f"Can't load {name!r}: it is no local folder, its files are not in the Hugging Face cache")
    assert "the Hub did not answer. Check the network connection (and HF_ENDPOINT / HF_HUB_OFFLINE)" in said, said
    assert "\n" not in said and "couldn't connect" not in said, said
    if name == "citrus-smal":
        assert said.endswith("Did you mean the checkpoint bundled with citrus_hf 'citrus-small'?"), said


def test_the_feature_extractor_keeps_the_bundled_name_a_typo_may_mean(hub_not_answering, tmp_path):
    """The extractor's "the Hub did not answer" line replaced the whole error, the "Did you mean 'citrus-small'?"
    its config's lookup adds with it."""
    from citrus_hf import CiTrusFeatureExtractor

    with pytest.raises(OSError) as raised:
        CiTrusFeatureExtractor.from_pretrained("citrus-smal", cache_dir=str(tmp_path))
    said = str(raised.value)
    assert said.startswith("Can't load the feature extractor of 'citrus-smal'") and "did not answer" in said, said
    assert said.endswith("Did you mean the checkpoint bundled with citrus_hf 'citrus-small'?"), said


# ---------------------------------------------------------------- 3. a dtype conflict through an Auto class, remote code


def test_a_dtype_conflict_names_the_auto_call_when_transformers_calls_the_class(tmp_path):
    """Without the package installed (remote code), `AutoModelForSequenceClassification.from_pretrained(repo,
    trust_remote_code=True, dtype=..., torch_dtype=...)` that disagree was refused as
    "CiTrusForSequenceClassification.from_pretrained: ...", a call the user never typed. The route is transformers'
    Auto factory calling the model class's `from_pretrained`; here it runs in-process through the Auto class's own
    `from_pretrained` (the package's wrapper, which names the call itself, left out), as remote code takes it."""
    from transformers import AutoModelForSequenceClassification

    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path)
    transformers_own = AutoModelForSequenceClassification.from_pretrained.__func__.__wrapped__
    with pytest.raises(ValueError) as raised:
        transformers_own(AutoModelForSequenceClassification, str(tmp_path), dtype=torch.float16, torch_dtype="float32")
    assert str(raised.value).startswith("AutoModelForSequenceClassification.from_pretrained: `dtype=torch.float16`")
    # the class called by name is still named as such
    with pytest.raises(ValueError, match=r"^CiTrusForSequenceClassification\.from_pretrained: `dtype="):
        CiTrusForSequenceClassification.from_pretrained(str(tmp_path), dtype=torch.float16, torch_dtype="float32")


# ------------------------------------------------------- 4. offline, "no folder of that name" only of what reads as a path


@pytest.mark.parametrize(
    ("name", "said_of_a_folder"),
    [
        ("owner/name", False),  # a Hub id: no data/ folder here
        ("citrus-tiny", False),  # a plain name
        ("runs/model", True),  # its parent runs/ exists here: a mistyped folder
        ("./model", True),
        ("runs/model/final", True),
    ],
)
def test_offline_no_folder_is_said_only_of_a_name_that_reads_as_a_path(name, said_of_a_folder, tmp_path, monkeypatch):
    """Offline, the refusal of a checkpoint the Hub cache holds nothing of ended "No folder 'owner/name' exists in the
    working folder ... either: if a local checkpoint was meant, check its path" for any name, plain Hub ids too. It is
    now said where the name looks like a path: ./ ../ ~ /, more than one separator, or an existing parent folder."""
    from citrus_hf.configuration_citrus import uncached_offline_error

    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    said = str(uncached_offline_error(name, "config.json"))
    assert said.startswith(f"The Hub cache holds no config.json of {name!r}, and offline mode is on"), said
    assert ("No folder" in said) is said_of_a_folder, said


def test_offline_a_citrus_class_says_no_folder_of_a_mistyped_one_beside_its_parent(tmp_path, monkeypatch):
    """The same through a CiTrus class: a Hub id is told only about the cache; a name whose parent folder exists here
    ("runs/mdoel" beside runs/model) is told that no such folder exists too."""
    monkeypatch.chdir(tmp_path)
    offline = {"cache_dir": str(tmp_path / "cache"), "local_files_only": True}
    with pytest.raises(OSError) as raised:
        CiTrusForSequenceClassification.from_pretrained("owner/name", **offline)
    assert "The Hub cache holds no config.json of 'owner/name'" in str(raised.value)
    assert "No folder" not in str(raised.value), str(raised.value)
    (tmp_path / "runs" / "model").mkdir(parents=True)
    with pytest.raises(OSError, match=r"No folder 'runs/mdoel' exists in the working folder"):
        CiTrusForSequenceClassification.from_pretrained("runs/mdoel", **offline)


# ------------------------------------------------------------------ 5. a push commits onto the commit it read


def test_a_push_raced_by_another_commit_fails_instead_of_overwriting_it(local_hub, monkeypatch):
    """`push_to_hub` reads the repository's card (to keep its licence, tags and baseline rows) and then committed
    without `parent_commit`: a commit that reached the branch in between (another push, an edit on the Hub) was
    overwritten without a word, its card rows lost. The push now commits onto the commit it read, and a race is one
    line that says to push again; a push with no race goes through."""
    from hub_server import DEFAULT_TOKEN, DEFAULT_USER
    from huggingface_hub import HfApi

    from citrus_hf.publishing import push

    repo = f"{DEFAULT_USER}/citrus-raced"
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    api = HfApi(token=DEFAULT_TOKEN)
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"---\nlicense: mit\n---\n", path_in_repo="README.md", repo_id=repo)
    read_card = push._existing_card

    def read_then_raced(*args, **kwargs):
        card = read_card(*args, **kwargs)
        api.upload_file(
            path_or_fileobj=b"their notes", path_in_repo="NOTES.md", repo_id=repo, commit_message="a concurrent edit"
        )
        return card

    monkeypatch.setattr(push, "_existing_card", read_then_raced)
    with pytest.raises(OSError) as raised:
        push.push_to_hub(model, repo, token=DEFAULT_TOKEN, tags=["second"])
    said = str(raised.value)
    assert said.startswith(f"{repo} changed while this push was being prepared"), said
    assert "push again" in said and "\n" not in said, said
    files = local_hub.repo_files(repo)
    assert files["NOTES.md"] == b"their notes" and b"- second\n" not in files["README.md"]
    monkeypatch.setattr(push, "_existing_card", read_card)
    push.push_to_hub(model, repo, token=DEFAULT_TOKEN, tags=["second"])  # pushed again: onto the edit, keeping it
    files = local_hub.repo_files(repo)
    assert files["NOTES.md"] == b"their notes" and b"- second\n" in files["README.md"]
    assert b"license: mit" in files["README.md"]
