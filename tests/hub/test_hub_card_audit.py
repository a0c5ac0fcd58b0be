"""Publishing through the Hub protocol as the publishing audit of session 59 found it wanting:

- a push that names no licence keeps the repository's (a non-commercial licence became apache-2.0) and its tags;
- `--revision refs/pr/N` (huggingface_hub's way to add commits to an open pull request) creates no branch of that
  name;
- a model loaded from the Hub, changed and pushed back to its repository gets a card without the old weights'
  results (the same weights pushed again keep the card: tests/hub/test_hub_card_truth.py);
- a model loaded from a run folder but no longer that run's model (trained further) is published without its
  results;
- (tests/test_leftovers_push.py's route) `citrus push` again without `--eval-results` keeps the baseline rows the
  first push's card had, and says which of this model's rows it leaves out.

Clients run in subprocesses pointed at the test hub; the run folder is a real run (citrus-small on BasicMotions)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from hub_server import DEFAULT_USER, client_result
from test_leftovers_push import BASELINE_ROW, EVAL_RESULTS, OWN_ROW
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

CLIENT = """
import contextlib, io, json, torch
from huggingface_hub import HfApi, ModelCard, hf_hub_download
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.commands.main import main

def push(*argv):
    with contextlib.redirect_stderr(io.StringIO()):
        return main(["push", *argv])

def card(repo, revision=None):
    return ModelCard.load(hf_hub_download(repo, "README.md", revision=revision, force_download=True))

out = {}
out["codes"] = [push("har", "__USER__/lic", "--license", "cc-by-nc-4.0", "--tag", "imu"), push("har", "__USER__/lic")]
again = card("__USER__/lic")
out["license"], out["tags"] = again.data.license, again.data.tags

# (the pull request changes something, here a tag: a push of what the branch already holds opens none)
out["pr_codes"] = [push("har", "__USER__/pr"), push("har", "__USER__/pr", "--create-pr", "--tag", "proposed")]
out["pr_codes"].append(push("har", "__USER__/pr", "--revision", "refs/pr/1", "--tag", "more"))
out["pr_tags"] = card("__USER__/pr", revision="refs/pr/1").data.tags
refs = HfApi().list_repo_refs("__USER__/pr", include_pull_requests=True)
out["branches"] = sorted(branch.name for branch in refs.branches)
out["pull_requests"] = sorted(pr.ref for pr in refs.pull_requests)

model = CiTrusForSequenceClassification.from_pretrained("__USER__/lic")
with torch.no_grad():
    model.classifier.weight.zero_()  # other weights than the card's results measured
model.push_to_hub("__USER__/lic", commit_message="Other weights")
changed = card("__USER__/lic")
out["changed_results"] = len(changed.data.eval_results or [])
out["changed_license"] = changed.data.license

local = CiTrusForSequenceClassification.from_pretrained("har")
with torch.no_grad():
    local.classifier.bias.add_(1.0)
local.push_to_hub("__USER__/trained-further")
out["further_results"] = len(card("__USER__/trained-further").data.eval_results or [])
unchanged = CiTrusForSequenceClassification.from_pretrained("har")
unchanged.push_to_hub("__USER__/unchanged")
out["unchanged_results"] = len(card("__USER__/unchanged").data.eval_results or [])

# `citrus push` again without --eval-results keeps the baseline rows of the first push's card (a tiny model, "local")
errors = io.StringIO()
with contextlib.redirect_stderr(errors):
    out["repushed_codes"] = [
        main(["push", "local", "__USER__/citrus-repushed", "--eval-results", "eval.json"]),
        main(["push", "local", "__USER__/citrus-repushed", "--tag", "second-push"]),
    ]
out["repushed_stderr"] = errors.getvalue()
with open(hf_hub_download("__USER__/citrus-repushed", "README.md", force_download=True)) as readme:
    out["repushed_card"] = readme.read()
print("RESULT:", json.dumps(out))
"""


@pytest.fixture(scope="module")
def published(tmp_path_factory, make_hub_client, har_probe_run):
    folder = tmp_path_factory.mktemp("card_audit_hub")
    shutil.copytree(har_probe_run, folder / "har")  # the session's probe of citrus-small on BasicMotions (conftest)
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    model.save_pretrained(folder / "local")
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder / "local")
    (folder / "eval.json").write_text(json.dumps(EVAL_RESULTS))
    client = make_hub_client(folder)
    return client_result(client(CLIENT.replace("__USER__", DEFAULT_USER)))


def test_a_push_without_a_licence_keeps_the_repositorys_and_its_tags(published):
    assert published["codes"] == [0, 0]
    assert published["license"] == "cc-by-nc-4.0" and "imu" in published["tags"]


def test_a_push_to_an_open_pull_request_creates_no_branch_of_its_name(published):
    assert published["pr_codes"] == [0, 0, 0]
    assert published["pull_requests"] == ["refs/pr/1"] and published["branches"] == ["main"]
    assert {"proposed", "more"} <= set(published["pr_tags"])  # the second commit went to the pull request


def test_changed_weights_are_published_without_the_old_weights_results(published):
    assert published["unchanged_results"] > 0  # the run's own model: its results
    assert published["changed_results"] == 0 and published["changed_license"] == "cc-by-nc-4.0"
    assert published["further_results"] == 0


def test_citrus_push_again_without_eval_results_keeps_the_baselines(published):
    """A re-push without evaluation results dropped the baseline rows an earlier push had put in the card (the rows
    themselves are checked in process by tests/test_leftovers_push.py)."""
    assert published["repushed_codes"] == [0, 0]
    card = published["repushed_card"]
    assert "second-push" in card  # the second push's card
    assert BASELINE_ROW in card and "baseline: MiniRocket" in card
    assert OWN_ROW not in card
    assert "does not give again (accuracy on Epilepsy test)" in published["repushed_stderr"]
