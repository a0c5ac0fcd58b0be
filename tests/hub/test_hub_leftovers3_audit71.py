"""Session 71 leftovers on the Hub: the card `Trainer.push_to_hub(revision=...)` publishes (a full model's and a LoRA
adapter's) loaded the default branch. Clients run in subprocesses pointed at the test hub (see conftest.py): the three
tests' scripts in one (each client costs seconds of imports)."""

from __future__ import annotations

import pytest
from hub_server import DEFAULT_USER, ScriptResults, results_in_one_client

TRAINER_MODEL = f"{DEFAULT_USER}/citrus-tiny-trainer-branch-card"
TRAINER_ADAPTER = f"{DEFAULT_USER}/citrus-tiny-trainer-branch-adapter-card"

TRAINER_BRANCH_SCRIPT = """
import json
import numpy as np
from datasets import Dataset
from huggingface_hub import HfApi, hf_hub_download
from transformers import Trainer, TrainingArguments
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.training.lora import apply_lora

rows = Dataset.from_dict({
    "input_values": np.random.default_rng(0).standard_normal((4, 1, 200)).astype(np.float32), "labels": [0, 1, 2, 0],
})
loads = {}
for name, repo, adapter, given in (
    ("model", "__MODEL__", False, dict(revision="dev")),
    ("adapter", "__ADAPTER__", True, {}),  # the branch from TrainingArguments(hub_revision=)
):
    model = CiTrusForSequenceClassification.from_pretrained("pretrained", num_labels=3)
    args = TrainingArguments(
        name, max_steps=1, per_device_train_batch_size=4, use_cpu=True, report_to="none", hub_model_id=repo,
        hub_revision=None if given else "dev",
    )
    trainer = Trainer(model=apply_lora(model, verbose=False) if adapter else model, args=args, train_dataset=rows)
    trainer.train()
    HfApi().create_repo(repo, exist_ok=True)
    HfApi().create_branch(repo, branch="dev")  # (a new branch is created too: see the test below)
    trainer.push_to_hub(**given)
    card = open(hf_hub_download(repo, "README.md", revision="dev"), encoding="utf-8").read()
    loads[name] = [
        line.strip() for line in card.splitlines()
        if repo in line and ("from_pretrained(" in line or "load_adapter(" in line or "hf_hub_download(" in line)
    ]
print("RESULT:", json.dumps(loads))
"""


def test_the_card_of_a_trainer_push_to_a_branch_loads_that_branch(runs):
    """`Trainer.push_to_hub(revision="dev")` (or `TrainingArguments(hub_revision="dev")`) wrote, through the package's
    card hook, a card whose usage code loaded the repository's default branch, as `push_to_hub(revision=)` did before
    it was fixed: the Trainer's card now names the branch in every load, of a full model and of a LoRA adapter."""
    result = runs["branch"]
    for kind, loads in result.items():
        assert loads and all('revision="dev"' in line for line in loads), (kind, loads)


PUBLIC_SET = f"{DEFAULT_USER}/citrus-public-set-then-private"

PRIVATE_SET_SCRIPT = """
import contextlib, io, json
import numpy as np
from datasets import Dataset, DatasetDict
from huggingface_hub import HfApi
from citrus_hf.commands.main import main
from citrus_hf.publishing.datasets import publish

rows = lambda n: Dataset.from_dict({
    "input_values": [np.zeros((1, 100), dtype="float32")] * n, "label": [i % 2 for i in range(n)],
    "sampling_rate": [100.0] * n,
})
sets = DatasetDict(train=rows(4), test=rows(2))
api = HfApi()
publish(sets, "mine", push_to_hub="__REPO__", card="A set of mine.")
before = api.dataset_info("__REPO__").sha
try:
    publish(sets, "mine", push_to_hub="__REPO__", private=True, card="A set of mine.")
    refused = None
except ValueError as error:
    refused = str(error)
sets.save_to_disk("mine")
errors = io.StringIO()
with contextlib.redirect_stderr(errors):
    code = main(["data", "build", "mine", "--push-to-hub", "__REPO__", "--private"])
info = api.dataset_info("__REPO__")

# the visibility a new repository is asked for without --private: None, the namespace's default (an organisation's
# may be private), as a model's push asks
asked = []
create_repo = HfApi.create_repo
def recording_create_repo(self, repo_id, **kwargs):
    asked.append(kwargs.get("private"))
    return create_repo(self, repo_id, **kwargs)
HfApi.create_repo = recording_create_repo
with contextlib.redirect_stderr(io.StringIO()):
    fresh_code = main(["data", "build", "mine", "--push-to-hub", "__REPO__-fresh"])
print("RESULT:", json.dumps({
    "refused": refused, "code": code, "line": errors.getvalue().strip().splitlines()[-1:],
    "private_after": info.private, "unchanged": info.sha == before, "fresh_code": fresh_code, "asked": asked,
}))
"""


def test_a_private_dataset_push_over_a_public_repository_is_refused(runs):
    """`publish(..., private=True)` and `citrus data build ... --push-to-hub REPO --private` uploaded the set into an
    existing public dataset repository (`private` applies only when the repository is created); they now refuse it
    before any upload, as a model's private push is, naming `hf repos settings --private`. And a push without
    `--private` asked the Hub for a public repository (`private=False`) where a model's push leaves the namespace's
    default (an organisation's may be private)."""
    result = runs["private_set"]
    assert result["refused"] is not None and "is public" in result["refused"] and "--private" in result["refused"]
    assert result["code"] == 2 and "is public" in result["line"][0], result
    assert result["private_after"] is False and result["unchanged"]
    assert result["fresh_code"] == 0
    assert result["asked"] and set(result["asked"]) == {None}, result["asked"]


TRAINER_NEW_BRANCH = f"{DEFAULT_USER}/citrus-tiny-trainer-new-branch"

TRAINER_NEW_BRANCH_SCRIPT = """
import json
import numpy as np
from datasets import Dataset
from huggingface_hub import HfApi
from transformers import Trainer, TrainingArguments
from citrus_hf import CiTrusForSequenceClassification

rows = Dataset.from_dict({
    "input_values": np.random.default_rng(0).standard_normal((4, 1, 200)).astype(np.float32), "labels": [0, 1, 2, 0],
})
args = TrainingArguments(
    "out", max_steps=1, per_device_train_batch_size=4, use_cpu=True, report_to="none", hub_model_id="__REPO__",
)
trainer = Trainer(model=CiTrusForSequenceClassification.from_pretrained("pretrained", num_labels=3), args=args,
                  train_dataset=rows)
trainer.train()
trainer.push_to_hub(revision="fresh")  # a new repository, and a branch it does not have
api = HfApi()
api.create_tag("__REPO__", tag="v1", revision="fresh")
try:
    trainer.push_to_hub(revision="v1")
    refused = None
except ValueError as error:
    refused = str(error)
print("RESULT:", json.dumps({
    "fresh": sorted(api.list_repo_files("__REPO__", revision="fresh")), "refused": refused,
    "branches": sorted(branch.name for branch in api.list_repo_refs("__REPO__").branches),
}))
"""


def test_a_trainer_push_to_a_new_branch_creates_it(runs):
    """`Trainer.push_to_hub(revision="fresh")` of a CiTrus model to a branch the repository does not have failed with
    "Could not publish ...: RevisionNotFoundError ... Check the network connection", though the Hub answered; the
    branch is now created from the default branch first, as `model.push_to_hub(revision=)` and `citrus push
    --revision` create it, and a tag's name is refused as they refuse it (not made a branch of that name)."""
    result = runs["new_branch"]
    assert "model.safetensors" in result["fresh"] and "README.md" in result["fresh"]
    assert result["refused"] is not None and "is a tag of" in result["refused"]
    assert result["branches"] == ["fresh", "main"]


@pytest.fixture(scope="module")
def runs(make_hub_client, workdir_with_pretrained) -> ScriptResults:
    """Each test's script's result, by short name, from one client (the private-set script last: it wraps
    `HfApi.create_repo` to record what it is asked). The folder pretrained/ holds a tiny pre-trained model."""
    workdir = workdir_with_pretrained("leftovers3_71")
    scripts = {
        "branch": TRAINER_BRANCH_SCRIPT.replace("__MODEL__", TRAINER_MODEL).replace("__ADAPTER__", TRAINER_ADAPTER),
        "new_branch": TRAINER_NEW_BRANCH_SCRIPT.replace("__REPO__", TRAINER_NEW_BRANCH),
        "private_set": PRIVATE_SET_SCRIPT.replace("__REPO__", PUBLIC_SET),
    }
    return results_in_one_client(make_hub_client(workdir), scripts)
