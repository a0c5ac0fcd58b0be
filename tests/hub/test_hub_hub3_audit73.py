"""Audit 73, the Hub's loaders (third round): a checkpoint published in a subfolder of a repository, or read through a
cache of the caller's own (`cache_dir=`), is served and re-published with the feature extractor of that subfolder and
that cache; offline, an extractor or processor the Hub cache never held is said to be uncached; `citrus predict` of a
checkpoint that is no CiTrus model says so in one line. Clients run in subprocesses pointed at the test hub (see
conftest.py): one publishes every repository and then downloads part of them, and one reads its Hub cache offline
(two clients, not ten: each costs seconds of imports)."""

from __future__ import annotations

import pytest
import torch
from hub_server import DEFAULT_USER, ScriptResults, in_one_client, printed_by_each
from tiny_configs import tiny_config

from citrus_hf import (
    CiTrusConfig,
    CiTrusFeatureExtractor,
    CiTrusForSequenceClassification,
    CiTrusFusionConfig,
    CiTrusFusionForSequenceClassification,
    CiTrusFusionProcessor,
)

TWO = f"{DEFAULT_USER}/citrus-tiny-two-checkpoints"
NESTED = f"{DEFAULT_USER}/citrus-tiny-in-a-subfolder"
COPIED = f"{DEFAULT_USER}/citrus-tiny-copied-from-a-subfolder"
CACHED = f"{DEFAULT_USER}/citrus-tiny-own-cache"
UNCACHED = f"{DEFAULT_USER}/citrus-tiny-extractor-never-downloaded"
FUSION_UNCACHED = f"{DEFAULT_USER}/citrus-tiny-fusion-processor-never-downloaded"
PATCHTST = f"{DEFAULT_USER}/patchtst-tiny-classifier"
ADAPTER_BASE = f"{DEFAULT_USER}/citrus-tiny-base-of-an-adapter"
ADAPTER = f"{DEFAULT_USER}/citrus-tiny-adapter-of-a-hub-base"
REPOS = {"__TWO__": TWO, "__NESTED__": NESTED, "__COPIED__": COPIED, "__CACHED__": CACHED, "__SINGLE__": UNCACHED,
         "__FUSION__": FUSION_UNCACHED, "__PATCHTST__": PATCHTST, "__BASE__": ADAPTER_BASE, "__ADAPTER__": ADAPTER}  # fmt: skip


# The clients' way of reporting a load: what it returns, or its error's text.
OUTCOME = """
import contextlib, io, json, os, pathlib
def outcome(load):
    try:
        return load()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
result = {}
"""


def _save(folder, sampling_rate: float) -> None:
    """A tiny classifier of `sampling_rate` and its extractor in `folder`."""
    config = tiny_config(num_labels=2, sampling_rate=sampling_rate)
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)


# The publishing client's scripts (`in_one_client`, each on repositories of its own), by name.
PUBLISH = {}
PUBLISH["subfolder"] = """
from huggingface_hub import HfApi, hf_hub_download
import citrus_hf  # before binding `pipeline`, so that it is the wrapped factory
from transformers import pipeline
from citrus_hf import CiTrusForSequenceClassification

api = HfApi()
api.create_repo("__TWO__")
api.upload_folder(folder_path="two", repo_id="__TWO__")  # a 100 Hz model at the root, a 50 Hz one in ecg/
api.create_repo("__NESTED__")
api.upload_folder(folder_path="two/ecg", path_in_repo="ecg", repo_id="__NESTED__")  # nothing at the root

model = CiTrusForSequenceClassification.from_pretrained("__TWO__", subfolder="ecg")
subfolder = {
    "model": model.config.sampling_rate,
    "object": outcome(lambda: pipeline(model=model).feature_extractor.sampling_rate),
    "nested": outcome(lambda: pipeline(model="__NESTED__", model_kwargs={"subfolder": "ecg"}).feature_extractor.sampling_rate),
}
try:
    model.push_to_hub("__COPIED__")
    subfolder["pushed"] = json.load(open(hf_hub_download("__COPIED__", "preprocessor_config.json")))["sampling_rate"]
except Exception as error:
    subfolder["pushed"] = f"{type(error).__name__}: {error}"
print("RESULT:", json.dumps(subfolder))
"""

# (the downloading client loads these, which caches the config and the weights only)
PUBLISH["read_by_the_other_client"] = """
from huggingface_hub import HfApi

api = HfApi()
for repo, folder in (("__SINGLE__", "two/ecg"), ("__FUSION__", "fusion"), ("__CACHED__", "two/ecg")):
    api.create_repo(repo)
    api.upload_folder(folder_path=folder, repo_id=repo)
"""

PUBLISH["predict_other_model"] = """
import numpy as np
from huggingface_hub import HfApi
from transformers import PatchTSTConfig, PatchTSTForClassification
from citrus_hf.commands.main import main

config = PatchTSTConfig(
    num_input_channels=1, context_length=200, patch_length=20, d_model=16, num_hidden_layers=1, num_attention_heads=2,
    ffn_dim=32, num_targets=2,
)
PatchTSTForClassification(config).save_pretrained("patchtst")
api = HfApi()
api.create_repo("__PATCHTST__")
api.upload_folder(folder_path="patchtst", repo_id="__PATCHTST__")
np.save("recording.npy", np.zeros((1, 400), dtype=np.float32))
said = io.StringIO()
with contextlib.redirect_stderr(said):
    code = main(["predict", "__PATCHTST__", "recording.npy", "--sampling-rate", "100"])
print("RESULT:", json.dumps({"code": code, "said": said.getvalue()}))
"""

# (the adapter records the base as its Hub id; the base is read into a cache of this script's own, so that the Hub
# cache the offline reads use holds the adapter alone)
PUBLISH["adapter"] = """
from huggingface_hub import HfApi
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.training.lora import apply_lora, save_adapter

api = HfApi()
api.create_repo("__BASE__")
api.upload_folder(folder_path="two/ecg", repo_id="__BASE__")
peft_model = apply_lora(CiTrusForSequenceClassification.from_pretrained("__BASE__", cache_dir="base_cache"), r=2, verbose=False)
save_adapter(peft_model, "adapter")  # records the base as its Hub id
api.create_repo("__ADAPTER__")
api.upload_folder(folder_path="adapter", repo_id="__ADAPTER__")
"""

# Run online (after the publishing scripts, in their client), then offline, in one Hub cache: online it caches the models of
# __SINGLE__ and __FUSION__ (not their extractor or processor) and the adapter alone (not the base it records), and
# reads __CACHED__ through a cache of its own; offline it reads all four again.
DOWNLOAD_THEN_READ_OFFLINE = """
import citrus_hf
from transformers import AutoFeatureExtractor, AutoModelForSequenceClassification, AutoProcessor, pipeline
from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification, CiTrusFusionProcessor
from citrus_hf.training.lora import load_adapter
from huggingface_hub import snapshot_download

model = CiTrusForSequenceClassification.from_pretrained("__CACHED__", cache_dir="own")
hub = pathlib.Path(os.environ["HF_HOME"]) / "hub"
result["own_cache"] = {
    "named": outcome(lambda: pipeline(model="__CACHED__", model_kwargs={"cache_dir": "own"}).feature_extractor.sampling_rate),
    "object": outcome(lambda: pipeline(model=model).feature_extractor.sampling_rate),
    # (transformers' pipeline records there that the repository has no adapter_config.json: `.no_exist`, no file)
    "default_cache": sorted(
        str(p) for p in hub.glob("models--__OWNER__--__CACHED_NAME__/**/*") if p.is_file() and ".no_exist" not in p.parts
    ),
}
if os.environ.get("HF_HUB_OFFLINE"):
    result["extractor"] = outcome(lambda: CiTrusFeatureExtractor.from_pretrained("__SINGLE__"))
    result["auto_extractor"] = outcome(lambda: AutoFeatureExtractor.from_pretrained("__SINGLE__"))
    result["processor"] = outcome(lambda: CiTrusFusionProcessor.from_pretrained("__FUSION__"))
    result["auto_processor"] = outcome(lambda: AutoProcessor.from_pretrained("__FUSION__"))
    result["adapter"] = outcome(lambda: load_adapter(None, "__ADAPTER__"))
else:
    for repo in ("__SINGLE__", "__FUSION__"):
        AutoModelForSequenceClassification.from_pretrained(repo)  # caches the config and the weights only
    snapshot_download("__ADAPTER__")  # the adapter alone, not the base it records
print("RESULT:", json.dumps(result))
"""


def _script(text: str) -> str:
    text = OUTCOME + text.replace("__OWNER__", CACHED.split("/")[0]).replace("__CACHED_NAME__", CACHED.split("/")[1])
    for placeholder, repo in REPOS.items():
        text = text.replace(placeholder, repo)
    return text


@pytest.fixture(scope="module")
def runs(make_hub_client, tmp_path_factory) -> ScriptResults:
    """What each PUBLISH script found and DOWNLOAD_THEN_READ_OFFLINE online after them (`online`), in one client
    (`in_one_client`), and DOWNLOAD_THEN_READ_OFFLINE offline in that Hub cache (`offline`), each read when a test reads
    it. The folders: a 100 Hz tiny classifier in two/ and a 50 Hz one in two/ecg/, each with its extractor, and a
    tiny ECG + EDA fusion classifier with its processor in fusion/."""
    workdir = tmp_path_factory.mktemp("hub3")
    torch.manual_seed(0)
    _save(workdir / "two", 100.0)
    _save(workdir / "two" / "ecg", 50.0)
    eda = CiTrusConfig(
        **{**tiny_config().to_diff_dict(), "sampling_rate": 20.0, "context_length": 80, "patch_length": 10}
    )
    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": eda})
    CiTrusFusionForSequenceClassification(config).save_pretrained(workdir / "fusion")
    CiTrusFusionProcessor.from_config(config).save_pretrained(workdir / "fusion")
    client = make_hub_client(workdir)
    scripts = {**PUBLISH, "online": DOWNLOAD_THEN_READ_OFFLINE}
    online = printed_by_each(client(in_one_client({name: _script(text) for name, text in scripts.items()})))
    offline = client(_script(DOWNLOAD_THEN_READ_OFFLINE), HF_HUB_OFFLINE="1")
    return ScriptResults({**online, "offline": offline})


def test_a_checkpoint_in_a_subfolder_is_served_and_pushed_with_that_subfolder_s_extractor(runs):
    """A model loaded with `from_pretrained(repo, subfolder="ecg")` took the extractor at the repository's root, another
    checkpoint's: `pipeline(model=model)` refused it as another input contract, advising "the checkpoint's own
    extractor", and `push_to_hub` failed on it in the card (where the two agree on what the pipeline checks, the other
    checkpoint's windowing would run unsaid). `pipeline(model=repo, model_kwargs={"subfolder": "ecg"})` of a
    repository with nothing at its root said the checkpoint had no extractor (transformers' pipeline looked for it at
    the root first, and dropped the one it then loaded)."""
    assert runs["subfolder"] == {"model": 50.0, "object": 50.0, "nested": 50.0, "pushed": 50.0}


def test_a_pipeline_given_a_cache_of_its_own_reads_and_writes_that_cache_alone(runs):
    """`pipeline(model=repo, model_kwargs={"cache_dir": own})` downloaded config.json and preprocessor_config.json
    into the default Hub cache too, and offline with `own` alone it said the checkpoint had no extractor (and advised
    saving one); a model loaded with `cache_dir=own` had its extractor looked up in the default cache (so did its
    pipeline offline). (The reading client's default cache holds other repositories, never this one's files.)"""
    runs.output("read_by_the_other_client")  # (the uploads' own failure, with their output, if they failed)
    assert (
        runs["online"]["own_cache"]
        == runs["offline"]["own_cache"]
        == {"named": 50.0, "object": 50.0, "default_cache": []}
    )


def test_an_extractor_or_processor_missing_from_the_offline_cache_is_not_called_missing_from_the_checkpoint(runs):
    """Offline, with a Hub cache that held a model's config and weights but not its preprocessor_config.json (as
    `AutoModel.from_pretrained` caches them), `CiTrusFeatureExtractor.from_pretrained` and `AutoFeatureExtractor` said
    the repository holds a model saved without its extractor and advised saving one built from the config;
    `CiTrusFusionProcessor.from_pretrained` and `AutoProcessor` said a fusion checkpoint "has no processor_config.json"
    (build one with `from_config`). `load_feature_extractor` and the pipeline already said the file was never
    downloaded (audit 70); so do these now."""
    runs.output("read_by_the_other_client")  # (the uploads' own failure, with their output, if they failed)
    result = runs["offline"]
    for key, repo, name in (
        ("extractor", UNCACHED, "preprocessor_config.json"),
        ("auto_extractor", UNCACHED, "preprocessor_config.json"),
        ("processor", FUSION_UNCACHED, "processor_config.json"),
        ("auto_processor", FUSION_UNCACHED, "processor_config.json"),
    ):
        assert "never downloaded" in result[key] and f"snapshot_download('{repo}')" in result[key], result[key]
        assert name in result[key] and "from_config" not in result[key], result[key]


def test_predict_of_a_hub_repository_of_another_model_says_so_in_one_line(runs):
    """`citrus predict owner/patchtst-repo` failed in transformers' task inference with its traceback ("The model ...
    does not seem to have a correct `pipeline_tag` set to infer the task automatically")."""
    result = runs["predict_other_model"]
    said = [line for line in result["said"].splitlines() if line.startswith("error:")]
    assert result["code"] != 0 and "Traceback" not in result["said"] and len(said) == 1, result["said"]
    assert f"'{PATCHTST}' holds a 'patchtst' model, not a CiTrus one" in said[0], said[0]


def test_an_adapter_whose_hub_base_the_offline_cache_lacks_says_so_first(runs):
    """Offline, with the adapter cached and the Hub base it records not, `load_adapter(None, repo)` (so the pipeline and
    `citrus predict`) told the story of an older citrus-hf that recorded a local base by a relative path, and named the
    cache's cause last, inside a parenthesis; it now says first that the offline cache lacks the base, and how to get
    it."""
    runs.output("adapter")  # (the adapter's publishing failure, with its output, if it failed)
    said = runs["offline"]["adapter"]
    assert said.startswith(f"OSError: The adapter '{ADAPTER}' records its base model as '{ADAPTER_BASE}'"), said
    assert said.index(f"snapshot_download('{ADAPTER_BASE}')") < said.index("older citrus-hf"), said
    assert "(The Hub:" not in said, said
