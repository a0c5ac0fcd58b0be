"""What a published card claims must be true (fresh-eyes audit of the publishing path): a checkpoint fine-tuned from
the bundled citrus-small names it and its pre-training; a second push of a model loaded from the Hub keeps the card
the repository has (as transformers does) instead of replacing its results with an empty one; `--arm` cannot publish
a baseline's or another recipe's scores as this checkpoint's; `base_model` must be a Hub repository; options that
cannot go together are refused before any repository is created; and a refusal by the Hub is not reported as a
network problem. Clients run in subprocesses pointed at the test hub; the run folder is a real run."""

from __future__ import annotations

import pytest
from citrus_runs import probe_har_with_baseline
from hub_server import DEFAULT_USER, client_result

from citrus_hf.evaluation import write_report

CLIENT = """
import contextlib, io, json
from huggingface_hub import ModelCard, hf_hub_download
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.commands.main import main

def push(*argv):
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        code = main(["push", *argv])
    return code, errors.getvalue().strip().splitlines()[-1] if errors.getvalue().strip() else ""

out = {"first": push("small_har", "__USER__/from-small")}
card = ModelCard.load(hf_hub_download("__USER__/from-small", "README.md"))
card.validate()
out["card"] = str(card)
out["entries"] = len(card.data.eval_results or [])

model = CiTrusForSequenceClassification.from_pretrained("__USER__/from-small")
model.push_to_hub("__USER__/from-small", commit_message="Same weights again", tags=["again"])
again = ModelCard.load(hf_hub_download("__USER__/from-small", "README.md", force_download=True))
out["again_entries"] = len(again.data.eval_results or [])
out["again_tags"] = again.data.tags

out["refused"] = {
    "create_pr_with_revision": push("small_har", "__USER__/x1", "--create-pr", "--revision", "dev"),
    "arm_without_results": push("small_har", "__USER__/x2", "--arm", "citrus-small"),
    "bundled_base_model": push("small_har", "__USER__/x3", "--base-model", "citrus-small"),
    "free_text_base_model": push("small_har", "__USER__/x4", "--base-model", "my base model"),
    "missing_hyperparameters": push("small_har", "__USER__/x5", "--hyperparameters", "missing.json"),
    "baseline_arm": push("small_har", "__USER__/x6", "--eval-results", "baseline/results.json", "--arm", "minirocket"),
    "other_recipe": push("small_har", "__USER__/x7", "--eval-results", "recipe/results.json", "--arm", "citrus-time"),
    "other_namespace": push("small_har", "someone-else/x8"),
}
print("RESULT:", json.dumps(out))
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, har_probe_run):
    """A probe fitted from the bundled citrus-small on BasicMotions, and two sets of protocol results: one whose
    arm 'minirocket' is the classical baseline, one whose citrus-time runs used another recipe than the probe."""
    folder = tmp_path_factory.mktemp("card_truth_hub")
    runs = probe_har_with_baseline(folder / "small_har", folder / "baseline", har_probe_run)
    write_report([{**run, "recipe": "probe-finetune"} for run in runs], folder / "recipe")
    return folder


def test_published_cards_tell_the_truth(workdir, make_hub_client, hub):
    out = client_result(make_hub_client(workdir)(CLIENT.replace("__USER__", DEFAULT_USER)))
    assert out["first"][0] == 0
    # provenance: the bundled checkpoint named, its pre-training recorded (it said "Corpus: not recorded")
    assert "| Pre-trained checkpoint | citrus-small, shipped inside citrus-hf" in out["card"]
    assert "| Corpus | pretrain_corpus |" in out["card"] and "| Optimizer steps | 12000 |" in out["card"]
    assert "base_model:" not in out["card"]  # no Hub repository to link to
    # a second push without run records kept the card's results (they were all dropped) and added the tags
    assert out["entries"] > 0 and out["again_entries"] == out["entries"] and "again" in out["again_tags"]

    refused = out["refused"]
    for name, (code, line) in refused.items():
        assert code == 2 and line.startswith("error: "), (name, code, line)
    assert "cannot take --revision" in refused["create_pr_with_revision"][1]
    assert "give --eval-results too" in refused["arm_without_results"][1]
    assert "shipped inside citrus-hf, not a Hub repository" in refused["bundled_base_model"][1]
    assert "is not a Hub model id (`namespace/name`)" in refused["free_text_base_model"][1]
    assert "--hyperparameters missing.json" in refused["missing_hyperparameters"][1]
    assert "'minirocket' is a baseline of the protocol" in refused["baseline_arm"][1]
    assert "fitted with recipe probe-finetune" in refused["other_recipe"][1] and "'probe'" in refused["other_recipe"][1]
    other = refused["other_namespace"][1]
    assert "The Hub refused to publish someone-else/x8" in other and "network" not in other
    # refused before the Hub was asked to create anything
    created = {name for _, name in hub.repos}
    assert not {f"{DEFAULT_USER}/x{i}" for i in range(1, 8)} & created
