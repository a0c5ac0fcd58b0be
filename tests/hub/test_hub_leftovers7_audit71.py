"""Session 71 leftovers (7) on the Hub: the `Trainer`'s pushes during training (`TrainingArguments(push_to_hub=True,
hub_strategy=..., hub_revision=...)`) to a branch the repository does not have. Clients run in subprocesses pointed
at the test hub (see conftest.py)."""

from __future__ import annotations

import pytest
from hub_server import DEFAULT_USER, ScriptResults, results_in_one_client
from tiny_configs import TINY

IN_TRAINING = f"{DEFAULT_USER}/citrus-tiny-trainer-checkpoint-branch"

IN_TRAINING_SCRIPT = """
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
    "out", max_steps=2, save_steps=1, per_device_train_batch_size=4, use_cpu=True, report_to="none",
    push_to_hub=True, hub_model_id="__REPO__", hub_strategy="checkpoint", hub_revision="dev",
)
trainer = Trainer(model=CiTrusForSequenceClassification.from_pretrained("pretrained", num_labels=3), args=args,
                  train_dataset=rows)
trainer.train()
api = HfApi()
print("RESULT:", json.dumps({
    "dev": sorted(api.list_repo_files("__REPO__", revision="dev")),
    "branches": sorted(branch.name for branch in api.list_repo_refs("__REPO__").branches),
}))
"""


def test_checkpoint_pushes_during_training_create_the_branch(runs):
    """The pushes of `hub_strategy="checkpoint"` (and "every_save") with `hub_revision="dev"` to a repository without
    that branch failed in the upload's background thread ('RevisionNotFoundError ... Check the network connection'
    at the end of `trainer.train()`): transformers creates the repository, not the branch. The branch is now created
    from the default branch when the `Trainer` creates the repository, as `Trainer.push_to_hub` creates it."""
    result = runs["test_checkpoint_pushes_during_training_create_the_branch"]
    assert result["branches"] == ["dev", "main"], result
    assert "model.safetensors" in result["dev"] and "last-checkpoint/model.safetensors" in result["dev"], result


REFUSED_SCRIPT = """
import json
from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, CiTrusForSequenceClassification

messages = {}
for name, call in (
    ("extractor", lambda: CiTrusFeatureExtractor.from_config(CiTrusConfig()).push_to_hub("someone-else/citrus-x")),
    ("model", lambda: CiTrusForSequenceClassification(CiTrusConfig(**__TINY__)).push_to_hub("someone-else/citrus-y")),
):
    try:
        call()
        messages[name] = None
    except OSError as error:
        messages[name] = str(error)
print("RESULT:", json.dumps(messages))
"""


def test_the_hubs_refusal_is_passed_on_in_one_line(runs):
    """The Hub's refusal (a 403 for another user's namespace) was passed on as huggingface_hub formats it: three lines
    (the status, a blank line, the Hub's message) ending in a doubled "..", and a feature extractor's push ended in
    "Check the network connection" although the Hub had answered. It is now one line, in the Hub's words."""
    messages = runs["test_the_hubs_refusal_is_passed_on_in_one_line"]
    for message in messages.values():
        assert message is not None and "rights to create a repository" in message, message
        assert "\n" not in message and ".." not in message and "  " not in message, message
        # the Hub answered: not blamed on the network (it said "Check the network connection")
        assert "network connection" not in message, message


@pytest.fixture(scope="module")
def runs(make_hub_client, workdir_with_pretrained) -> ScriptResults:
    """Each test's script's result, by test name, from one client (each client costs seconds of imports)."""
    tmp_path = workdir_with_pretrained("leftovers7")
    scripts = {
        "test_checkpoint_pushes_during_training_create_the_branch": IN_TRAINING_SCRIPT.replace("__REPO__", IN_TRAINING),
        "test_the_hubs_refusal_is_passed_on_in_one_line": REFUSED_SCRIPT.replace("__TINY__", repr(TINY)),
    }
    return results_in_one_client(make_hub_client(tmp_path), scripts)
