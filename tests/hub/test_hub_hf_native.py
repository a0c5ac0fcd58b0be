"""One publishing path: `model.push_to_hub`, `Trainer.push_to_hub` and `citrus push` all write the CiTrus card (valid
per the Hub's metadata check), read the run's own records, and take transformers' arguments (`commit_message`,
`create_pr`, `tags`, ...). Clients run in subprocesses pointed at the test hub (the four pushes in one client: each
costs seconds of imports); the run folders are real runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from citrus_runs import finetune_har, pretrain_tiny, protocol_runs
from hub_server import DEFAULT_USER, client_output, client_result, in_one_client, printed_by_each
from huggingface_hub import ModelCard

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification, build_model_card
from citrus_hf.data.splits import load_split
from citrus_hf.evaluation import write_report

MODEL_PUSH = """
import json
from huggingface_hub import ModelCard, hf_hub_download
from transformers import AutoModelForSequenceClassification
import citrus_hf  # registers CiTrus with the Auto classes

model = AutoModelForSequenceClassification.from_pretrained("har")
commit = model.push_to_hub("__USER__/citrus-har", commit_message="Fine-tuned on BasicMotions", tags=["har"])
# (a pull request needs a change: the repository's tags are kept, so a new one)
proposal = model.push_to_hub("__USER__/citrus-har", create_pr=True, commit_message="Same weights, as a PR", tags=["pr"])
card = ModelCard.load(hf_hub_download("__USER__/citrus-har", "README.md"))
card.validate()  # POST /api/validate-yaml: the check the Hub runs on every README.md it receives
print("RESULT:", json.dumps({"commit": commit.oid, "pr_url": proposal.pr_url}))
"""

SAVE_AND_PUSH = """
import json
from huggingface_hub import ModelCard, hf_hub_download
from transformers import AutoFeatureExtractor, AutoModelForSequenceClassification
import citrus_hf

model = AutoModelForSequenceClassification.from_pretrained("har")
AutoFeatureExtractor.from_pretrained("har").save_pretrained("citrus-saved")
# no repo_id: transformers names the repository after the folder, under the token's user
model.save_pretrained("citrus-saved", push_to_hub=True, commit_message="Saved, pushed")
ModelCard.load(hf_hub_download("__USER__/citrus-saved", "README.md")).validate()
print("RESULT:", json.dumps({}))
"""

TRAINER_PUSH = """
import json, numpy as np, torch
from huggingface_hub import ModelCard, hf_hub_download
from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments
from citrus_hf import CiTrusFeatureExtractor

model = AutoModelForSequenceClassification.from_pretrained("pre", num_labels=4, num_channels=6)
extractor = CiTrusFeatureExtractor.from_config(model.config)
features = extractor(np.load("har_x.npy"), sampling_rate=10, return_tensors="pt")
labels = np.load("har_y.npy")
train = [{"input_values": x, "labels": torch.tensor(int(y))} for x, y in zip(features["input_values"], labels)]
arguments = TrainingArguments(
    output_dir="trainer_run", hub_model_id="__USER__/citrus-trainer", max_steps=2, per_device_train_batch_size=8,
    learning_rate=2e-3, report_to="none", save_strategy="no", disable_tqdm=True,
)
trainer = Trainer(model=model, args=arguments, train_dataset=train, processing_class=extractor)
trainer.train()
commit = trainer.push_to_hub(commit_message="End of training", license="mit", dataset="basic_motions")
ModelCard.load(hf_hub_download("__USER__/citrus-trainer", "README.md")).validate()
print("RESULT:", json.dumps({"commit": commit.oid}))
"""

CLI_PUSH = """
from citrus_hf.commands.main import main

assert main([
    "push", "har", "__USER__/citrus-har-eval", "--eval-results", "results.json", "--arm", "citrus-time",
    "--tag", "har", "--create-pr", "--commit-message", "With the protocol's results",
]) == 0
"""


def script(text: str) -> str:
    return text.replace("__USER__", DEFAULT_USER)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Real runs (1-channel pre-training on EEG, BasicMotions fine-tuning from it), protocol results and HAR data."""
    folder = tmp_path_factory.mktemp("hf_native_hub")
    pretrain_tiny(folder / "pre")
    finetune_har(folder / "har", folder / "pre")
    num_train = json.loads((folder / "har" / "finetune_results.json").read_text())["num_train"]
    write_report(protocol_runs(num_train), folder)
    rows = load_split("basic_motions", "train").with_format("numpy").select(range(16))
    np.save(folder / "har_x.npy", np.stack(rows["input_values"]).astype(np.float32))
    np.save(folder / "har_y.npy", np.asarray(rows["label"]))
    return folder


@pytest.fixture(scope="module")
def pushed(workdir, make_hub_client) -> dict[str, str]:
    """What each push script printed, run in one client in this order (each pushes a repository of its own)."""
    scripts = {"model": MODEL_PUSH, "save": SAVE_AND_PUSH, "trainer": TRAINER_PUSH, "cli": CLI_PUSH}
    return printed_by_each(
        make_hub_client(workdir)(in_one_client({name: script(text) for name, text in scripts.items()}))
    )


def test_model_push_to_hub_writes_the_citrus_card(workdir, pushed, hub):
    out = client_result(pushed["model"])
    repo = f"{DEFAULT_USER}/citrus-har"
    stored = hub.repo_files(repo)
    # the same files as `citrus push`: weights, config, code, the run's feature extractor and the card
    assert {"model.safetensors", "config.json", "modeling_citrus.py", "preprocessor_config.json", "README.md"} <= set(
        stored
    )
    model = CiTrusForSequenceClassification.from_pretrained(workdir / "har")
    extractor = CiTrusFeatureExtractor.from_pretrained(workdir / "har")
    expected = build_model_card(model, extractor, repo_id=repo, tags=["har"], run_dir=workdir / "har")
    assert stored["README.md"].decode() == str(expected)
    card = ModelCard(stored["README.md"].decode())
    assert card.data.pipeline_tag == "time-series-classification" and "har" in card.data.tags
    assert "More Information Needed" not in str(card) and "| Corpus | eeg_pretrain" in str(card)
    assert {e.dataset_name for e in card.data.eval_results} == {"basic_motions"}
    # transformers' arguments: the commit message, and a pull request that leaves main alone
    assert hub.repos[("model", repo)].commits[out["commit"]].title == "Fine-tuned on BasicMotions"
    assert out["pr_url"].endswith("/discussions/1")
    assert hub.repos[("model", repo)].branches["main"] == out["commit"]
    assert hub.repo_files(repo, revision="refs/pr/1")["model.safetensors"] == stored["model.safetensors"]


def test_save_pretrained_with_push_to_hub_writes_the_citrus_card(workdir, pushed, hub):
    """transformers' other publishing habit, `save_pretrained(folder, push_to_hub=True, repo_id=...)`, takes the same
    path: the CiTrus card (from the run records of the folder the model was loaded from) and the folder's extractor."""
    client_result(pushed["save"])
    repo = f"{DEFAULT_USER}/citrus-saved"
    stored = hub.repo_files(repo)
    assert {"model.safetensors", "preprocessor_config.json", "modeling_citrus.py", "pipelines.py"} <= set(stored)
    card = ModelCard(stored["README.md"].decode())
    assert card.data.pipeline_tag == "time-series-classification" and "More Information Needed" not in str(card)
    assert {e.dataset_name for e in card.data.eval_results} == {"basic_motions"}
    stored_repo = hub.repos[("model", repo)]
    assert stored_repo.commits[stored_repo.branches["main"]].title == "Saved, pushed"
    assert (workdir / "citrus-saved" / "model.safetensors").is_file()  # saved locally too


def test_trainer_push_to_hub_writes_the_citrus_card(pushed, hub):
    client_result(pushed["trainer"])
    stored = hub.repo_files(f"{DEFAULT_USER}/citrus-trainer")
    card = ModelCard(stored["README.md"].decode())
    text = str(card)
    assert card.data.license == "mit" and card.data.pipeline_tag == "time-series-classification"
    assert "## Input contract" in text and "| Channels | 6; the head concatenates channels, so exactly 6 |" in text
    assert "| Steps trained | 2 |" in text and "| Learning rate | 0.002 |" in text
    assert "| Corpus | eeg_pretrain (window_seconds=10.0, hop_seconds=10.0) |" in text
    assert "More Information Needed" not in text
    assert {"model.safetensors", "preprocessor_config.json"} <= set(stored)
    # the pipeline its config names travels with it, as with `citrus push`
    assert {"pipelines.py", "backends.py"} <= set(stored)
    assert list(json.loads(stored["config.json"])["custom_pipelines"]) == [card.data.pipeline_tag]


def test_cli_push_keeps_only_this_models_rows_in_model_index(workdir, pushed, hub):
    client_output(pushed["cli"])
    repo = f"{DEFAULT_USER}/citrus-har-eval"
    assert sorted(hub.repo_files(repo)) == [".gitattributes"]  # --create-pr: main untouched
    readme = hub.repo_files(repo, revision="refs/pr/1")["README.md"].decode()
    card = ModelCard(readme)
    num_train = json.loads((workdir / "har" / "finetune_results.json").read_text())["num_train"]
    entries = card.data.eval_results
    # the run's own test metrics only: the protocol's citrus-time means over 3 seeds on this dataset and budget are
    # the recipe's (other draws), shown in the table, not claimed as this checkpoint's results
    assert entries and {(e.dataset_name, e.task_type) for e in entries} == {
        ("basic_motions", "time-series-classification")
    }
    assert all(f"{num_train} labelled examples" in e.metric_name and "seeds" not in e.metric_name for e in entries)
    assert {e.metric_type for e in entries} == {"accuracy", "balanced_accuracy", "macro_f1", "auroc"}
    protocol_row = f"| basic_motions | test | same recipe, another run (citrus-time, the protocol's draws) | accuracy | {num_train} | 3 | 0.61"
    assert protocol_row in readme
    assert "har" in card.data.tags
    assert "| hr_ecg | test | same recipe, another run (citrus-time) | mae | 10 | 3 |" in readme
    assert f"| basic_motions | test | baseline: citrus-scratch | accuracy | {num_train} | 3 |" in readme
