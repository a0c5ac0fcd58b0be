"""Audit 73, leftovers (ninth helper): a `pipeline(model=repo_id)` given its Hub revision or token inside
`model_kwargs` (where transformers takes them to `from_pretrained`) reads the config and feature extractor with them
too. Clients run in subprocesses pointed at the test hub (see conftest.py): one logged in for every test's pushes and
commands, one anonymous."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from hub_server import DEFAULT_TOKEN, DEFAULT_USER, ScriptResults, in_one_client, printed_by_each
from test_hub_hub3_audit73 import OUTCOME
from tiny_configs import save_tiny_classifier, save_trained_adapter, tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

REPO = f"{DEFAULT_USER}/citrus-tiny-revision-in-model-kwargs"
PRIVATE = f"{DEFAULT_USER}/citrus-tiny-token-in-model-kwargs"


def _save(folder, sampling_rate: float) -> None:
    """A tiny classifier of `sampling_rate` and its extractor in `folder`."""
    config = tiny_config(num_labels=2, sampling_rate=sampling_rate)
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)


UPLOAD = """
from huggingface_hub import HfApi
api = HfApi()
api.create_repo("__REPO__")
api.upload_folder(folder_path="main", repo_id="__REPO__")  # a 100 Hz checkpoint on main
api.create_branch("__REPO__", branch="dev")
api.upload_folder(folder_path="dev", repo_id="__REPO__", revision="dev")  # a 50 Hz one on dev
api.create_repo("__PRIVATE__", private=True)
api.upload_folder(folder_path="dev", repo_id="__PRIVATE__")
"""

LOAD = (
    OUTCOME
    + """
import json
import citrus_hf  # before binding `pipeline`, so that it is the wrapped factory
from transformers import pipeline

def rates(pipe):
    return [pipe.model.config.sampling_rate, pipe.feature_extractor.sampling_rate]

print("RESULT:", json.dumps({
    "revision": outcome(lambda: rates(pipeline(model="__REPO__", model_kwargs={"revision": "dev"}))),
    "token": outcome(lambda: rates(pipeline(model="__PRIVATE__", model_kwargs={"token": "__TOKEN__"}))),
}))
"""
)


def test_a_revision_or_token_given_in_model_kwargs_reads_the_extractor_and_config_with_it(published):
    """`pipeline(model=repo, model_kwargs={"revision": "dev"})` loaded dev's weights and main's extractor (another
    input contract, refused or run unsaid), and `model_kwargs={"token": ...}` for a private repository failed on the
    config lookup, which went without the token (anonymously)."""
    published.output("upload")  # (the repositories it reads are UPLOAD's: its own failure, with its output)
    assert published["anonymous"] == {"revision": [50.0, 50.0], "token": [50.0, 50.0]}


OTHER = f"{DEFAULT_USER}/not-a-citrus-model"

OTHER_MODEL = """
import contextlib, io, json
from huggingface_hub import HfApi
from citrus_hf.commands.main import main

HfApi().create_repo("__OTHER__")
HfApi().upload_file(path_or_fileobj=b'{"model_type": "bert"}', path_in_repo="config.json", repo_id="__OTHER__")
said = {}
for command in ("finetune", "pretrain"):
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        code = main([command, "--model", "__OTHER__", "--dataset", "x", "--output-dir", command, "--max-steps", "1"])
    said[command] = [code, errors.getvalue().strip().splitlines()[-1]]
print("RESULT:", json.dumps(said))
"""


def test_finetune_and_pretrain_of_another_kind_of_hub_model_name_the_repo_typed(published):
    """`citrus finetune/pretrain --model <a BERT repo>` said "'<HF_HOME>/hub/models--.../snapshots/<commit>' holds a
    'bert' model": a cache folder the user never typed, not the repository they did."""
    result = published["other_model"]
    for command in ("finetune", "pretrain"):
        code, line = result[command]
        assert code == 2 and f"'{OTHER}' holds a 'bert' model" in line and "snapshots" not in line


ADAPTER = f"{DEFAULT_USER}/citrus-tiny-adapter-of-a-base-gone"

PREDICT_ADAPTER = """
import contextlib, io, json
from huggingface_hub import HfApi
from citrus_hf.commands.main import main

HfApi().create_repo("__ADAPTER__")
HfApi().upload_folder(folder_path="adapter", repo_id="__ADAPTER__")
errors = io.StringIO()
with contextlib.redirect_stderr(errors):
    code = main(["predict", "__ADAPTER__", "recording.npy", "--sampling-rate", "100"])
print("RESULT:", json.dumps([code, errors.getvalue().strip().splitlines()[-1]]))
"""


def test_citrus_predict_of_a_hub_adapter_names_the_repo_typed_in_its_errors(published):
    """`citrus predict <Hub adapter>` whose recorded base is gone said "The adapter '<HF_HOME>/hub/models--.../
    snapshots/<commit>' records its base model as ...": the pipeline loaded the adapter by its snapshot folder."""
    code, line = published["predict_adapter"]
    assert code == 2 and f"The adapter '{ADAPTER}' records its base model" in line and "snapshots" not in line


@pytest.fixture(scope="module")
def published(make_hub_client, tmp_path_factory) -> ScriptResults:
    """Every test's logged-in script in one client (in_one_client: UPLOAD, then OTHER_MODEL and PREDICT_ADAPTER, each
    on repositories of its own; they share its environment, and each client costs seconds of imports), and LOAD in
    one anonymous client: what each printed after `RESULT:`, by name ("anonymous" for LOAD)."""
    workdir = tmp_path_factory.mktemp("leftovers9_hub")
    torch.manual_seed(0)
    _save(workdir / "main", 100.0)
    _save(workdir / "dev", 50.0)
    save_tiny_classifier(workdir / "base")
    save_trained_adapter(workdir / "base", workdir / "adapter")
    shutil.rmtree(workdir / "base")  # the base the adapter records (a local folder) is gone
    np.save(workdir / "recording.npy", np.random.default_rng(0).standard_normal((1, 1000)))
    client = make_hub_client(workdir)
    scripts = {
        "upload": UPLOAD.replace("__REPO__", REPO).replace("__PRIVATE__", PRIVATE),
        "other_model": OTHER_MODEL.replace("__OTHER__", OTHER),
        "predict_adapter": PREDICT_ADAPTER.replace("__ADAPTER__", ADAPTER),
    }
    printed = printed_by_each(client(in_one_client(scripts)))
    script = LOAD.replace("__REPO__", REPO).replace("__PRIVATE__", PRIVATE).replace("__TOKEN__", DEFAULT_TOKEN)
    return ScriptResults({**printed, "anonymous": client(script, HF_TOKEN=None)})
