"""Mutation audit 80, third part, of publishing/ (push.py, hooks.py, cards.py, datasets.py): where a push lands (a
pull request's ref, never a branch named like it; no parent commit there), which card a repository keeps (its own
unchanged model's only) and which extractor, what an adapter push writes and deletes (peft's own push on a pull
request, each adapter's task config, the full model's files, the base named for others, the licence kept), what a
folder to publish must hold, and a few card figures. Each test here failed on a hand-made mutant of the package that
the suite let through in process (the mutant named in its docstring; the Hub tests in tests/hub/ run clients as
subprocesses) and passes on the package as it is. The pushes run on the test Hub served in this process
(`local_hub`); no network."""

from __future__ import annotations

import json

import torch
from hub_server import DEFAULT_TOKEN, DEFAULT_USER
from huggingface_hub import HfApi
from test_leftinf78_audit78 import _racing_commit
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification

RESULTS = [
    {"dataset": "Epilepsy", "split": "test", "metric": "accuracy", "value": 0.9312, "label_budget": 60},
    {"dataset": "Epilepsy", "split": "test", "metric": "accuracy", "value": 0.8123, "method": "MiniRocket"},
]


def _classifier(labels: int = 2) -> CiTrusForSequenceClassification:
    torch.manual_seed(0)
    return CiTrusForSequenceClassification(tiny_config(num_labels=labels)).eval()


def _refs(repo: str) -> tuple[list[str], list[str]]:
    refs = HfApi(token=DEFAULT_TOKEN).list_repo_refs(repo, include_pull_requests=True)
    return sorted(b.name for b in refs.branches), sorted(p.ref for p in refs.pull_requests or [])


def test_a_push_to_an_open_pull_request_goes_to_it_and_its_card_loads_the_default_branch(local_hub, monkeypatch):
    """`create_pr=True` opens `refs/pr/1`; a second push with `revision="refs/pr/1"` adds its commit to that pull
    request, creating no branch of its name, and the pull request's card loads the default branch it merges into (no
    `revision=` in its usage code). A pull request is opened even where the default branch moved after the push read
    it (nothing is overwritten: it is a ref of its own). Mutants p05 (the read commit given as the pull request's
    `parent_commit`: refused), p03 (a branch `refs/pr/1` created, which took the second commit) and p31
    (the card's code loading `revision="refs/pr/1"`) passed in process; so did p40 (the model's own `model_tags`
    left off the card)."""
    from citrus_hf.publishing import push

    repo = f"{DEFAULT_USER}/citrus-pull-request"
    model = _classifier()
    model.add_model_tags(["own-tag"])
    push.push_to_hub(model, repo, token=DEFAULT_TOKEN)
    read_head = push._branch_head

    def read_then_raced(*args, **kwargs):  # a commit reaching the default branch after the push read it
        head = read_head(*args, **kwargs)
        _racing_commit(repo)
        return head

    monkeypatch.setattr(push, "_branch_head", read_then_raced)
    push.push_to_hub(model, repo, token=DEFAULT_TOKEN, create_pr=True, tags=["proposed"])
    monkeypatch.setattr(push, "_branch_head", read_head)
    push.push_to_hub(model, repo, token=DEFAULT_TOKEN, revision="refs/pr/1", tags=["more"])
    assert _refs(repo) == (["main"], ["refs/pr/1"])
    proposed, main = local_hub.repo_files(repo, "refs/pr/1")["README.md"], local_hub.repo_files(repo)["README.md"]
    assert b"- proposed" in proposed and b"- more" in proposed and b"- own-tag" in proposed
    assert b"- proposed" not in main and b"- more" not in main
    assert b"revision=" not in proposed


def test_peft_own_push_to_a_pull_request_uploads_every_adapters_task_config_there(local_hub):
    """peft's `PeftModel.push_to_hub(create_pr=True)` of a model with two adapters: the task config of each (the
    root's and the one peft saves in its adapter's subfolder) goes to the pull request, and the default branch is
    left as it was. Mutants h06 (the task configs committed to the default branch, onto the pull request's commit:
    refused) and h07 (only the root's task config uploaded) passed in process."""
    from peft import LoraConfig

    from citrus_hf.training import lora

    repo = f"{DEFAULT_USER}/citrus-peft-pull-request"
    adapter = lora.apply_lora(_classifier(3), r=2, verbose=False)
    adapter.add_adapter("other", LoraConfig(**{**adapter.peft_config["default"].to_dict(), "r": 4}))
    HfApi(token=DEFAULT_TOKEN).create_repo(repo)
    adapter.push_to_hub(repo, token=DEFAULT_TOKEN, create_pr=True)
    assert _refs(repo)[1] == ["refs/pr/1"]
    proposed = local_hub.repo_files(repo, "refs/pr/1")
    assert {"citrus_task_config.json", "other/citrus_task_config.json"} <= set(proposed), sorted(proposed)
    assert not any(path.endswith("citrus_task_config.json") for path in local_hub.repo_files(repo))


def test_an_adapter_pushed_over_a_model_replaces_it_and_names_the_base_given(local_hub):
    """`push_adapter_to_hub` over a repository holding a full model deletes the model's config and weights in its
    commit (left, the Auto classes and the pipeline read the old model), and the published adapter_config.json names
    the `base_model` given while the adapter in memory keeps its own; the card keeps the repository's licence when
    the push names none. Mutants p35 (the adapter's push deleting nothing), p39 (the base given not written) and p36
    (the licence given, None, read for the repository's: apache-2.0) passed in process."""
    from citrus_hf.publishing import push
    from citrus_hf.training import lora

    repo = f"{DEFAULT_USER}/citrus-adapter-over-model"
    model = _classifier()
    push.push_to_hub(model, repo, token=DEFAULT_TOKEN, license="mit")
    adapter = lora.apply_lora(model, r=2, verbose=False)
    loaded_base = adapter.peft_config["default"].base_model_name_or_path
    push.push_adapter_to_hub(adapter, repo, token=DEFAULT_TOKEN, base_model=f"{DEFAULT_USER}/citrus-base")
    files = local_hub.repo_files(repo)
    assert "config.json" not in files and "model.safetensors" not in files, sorted(files)
    assert b"license: mit" in files["README.md"]
    published = json.loads(files["adapter_config.json"])
    assert published["base_model_name_or_path"] == f"{DEFAULT_USER}/citrus-base"
    assert adapter.peft_config["default"].base_model_name_or_path == loaded_base


def test_a_model_trained_further_since_its_download_gets_a_new_card_and_an_unchanged_one_keeps_it(local_hub):
    """A model loaded from its repository and pushed back with nothing recorded to describe it keeps the card and the
    feature extractor there while its weights are the repository's; trained further (one weight changed), the push
    writes a new card, without the old weights' results but with the card's baselines, and pushed to another
    repository it takes its own repository's extractor along. Mutants p28 and p18 (the card kept whatever the
    weights), p30 (the baselines dropped), p46 (an extractor built from the config written over the repository's)
    and p41 (the same, for the other repository) passed in process."""
    from citrus_hf import CiTrusFeatureExtractor
    from citrus_hf.publishing import push

    repo, other = f"{DEFAULT_USER}/citrus-trained-further", f"{DEFAULT_USER}/citrus-trained-further-copy"
    model = _classifier()
    extractor = CiTrusFeatureExtractor.from_config(model.config, alignment="window", hop_length=48)
    push.push_to_hub(model, repo, extractor, token=DEFAULT_TOKEN, eval_results=RESULTS, tags=["first"])
    saved_extractor = local_hub.repo_files(repo)["preprocessor_config.json"]
    assert b"0.9312" in local_hub.repo_files(repo)["README.md"]
    loaded = CiTrusForSequenceClassification.from_pretrained(repo, token=DEFAULT_TOKEN)
    push.push_to_hub(loaded, repo, token=DEFAULT_TOKEN, commit_message="unchanged")
    files = local_hub.repo_files(repo)
    assert b"0.9312" in files["README.md"]  # the same weights: the card describes them
    assert files["preprocessor_config.json"] == saved_extractor
    with torch.no_grad():
        next(loaded.parameters()).add_(1.0)
    push.push_to_hub(loaded, repo, token=DEFAULT_TOKEN, commit_message="trained further")
    card = local_hub.repo_files(repo)["README.md"]
    assert b"0.9312" not in card and b"- first" in card  # the repository's tags stay, its results do not
    assert b"baseline: MiniRocket" in card
    push.push_to_hub(loaded, other, token=DEFAULT_TOKEN)
    assert json.loads(local_hub.repo_files(other)["preprocessor_config.json"])["hop_length"] == 48


def test_a_model_saved_again_with_push_to_hub_is_described_by_the_run_it_was_loaded_from(local_hub, tmp_path):
    """`save_pretrained(folder, push_to_hub=True)` of a model loaded, unchanged, from a run's folder: the new folder
    holds no run records, so the card is written from the run's (its results). Mutant p33 (the new folder taken for
    the run whatever it holds: a card without results) passed in process."""
    from test_muthub_audit79 import _fine_tuning_run

    run = tmp_path / "run"
    _classifier(3).save_pretrained(run)
    _fine_tuning_run(run)
    repo = f"{DEFAULT_USER}/citrus-saved-again"
    loaded = CiTrusForSequenceClassification.from_pretrained(run)
    loaded.save_pretrained(tmp_path / "again", push_to_hub=True, repo_id=repo, token=DEFAULT_TOKEN)
    card = local_hub.repo_files(repo)["README.md"].decode()
    assert "eeg_blink" in card and "| 0.75 |" in card, card


def test_saved_weights_match_only_the_class_the_folder_saved(tmp_path):
    """`saved_weights_match`: the same tensors saved for another class (config.json's `architectures`) are not this
    model, whose head that class reads otherwise. Mutant p17 (the class not compared) passed."""
    from citrus_hf.publishing.push import saved_weights_match

    model = _classifier()
    model.save_pretrained(tmp_path)
    assert saved_weights_match(model, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "architectures": ["CiTrusForRegression"]}))
    assert not saved_weights_match(model, tmp_path)


def test_a_push_to_a_branch_keeps_that_branchs_card_where_the_default_branch_has_none(local_hub):
    """A repository whose default branch holds no card (created by another tool) and whose branch `dev` holds a
    CiTrus card: a second push to dev naming no licence keeps dev's. Mutant p24 (whether there is a card asked of the
    default branch: none, so the licence became apache-2.0) and c39 (no `revision=` in the card's code) passed."""
    from citrus_hf.publishing import push

    repo = f"{DEFAULT_USER}/citrus-cardless-main"
    api = HfApi(token=DEFAULT_TOKEN)
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"notes", path_in_repo="NOTES.md", repo_id=repo)
    model = _classifier()
    push.push_to_hub(model, repo, token=DEFAULT_TOKEN, revision="dev", license="mit")
    push.push_to_hub(model, repo, token=DEFAULT_TOKEN, revision="dev")
    dev = local_hub.repo_files(repo, "dev")["README.md"]
    assert b"license: mit" in dev and b'revision="dev"' in dev  # (its usage code loads the branch)
    assert "README.md" not in local_hub.repo_files(repo)


def test_a_model_of_another_task_pushed_over_a_repository_drops_its_tags(local_hub):
    """The repository's card tags (`tags=["har"]` of an earlier push) stay for a model of the same task only: a
    regressor pushed over a classifier's repository gets a card of its own task's tags. Mutant p29 (every earlier
    card's tags kept) passed."""
    from citrus_hf import CiTrusForRegression
    from citrus_hf.publishing import push

    repo = f"{DEFAULT_USER}/citrus-task-changed"
    push.push_to_hub(_classifier(), repo, token=DEFAULT_TOKEN, tags=["har"])
    push.push_to_hub(CiTrusForRegression(tiny_config(num_targets=1)), repo, token=DEFAULT_TOKEN)
    card = local_hub.repo_files(repo)["README.md"]
    assert b"pipeline_tag: time-series-regression" in card
    assert b"- har" not in card


def test_a_folder_to_publish_must_hold_the_code_its_config_names_and_no_pickle(tmp_path):
    """`_check_checkpoint_folder` refuses, before any request, a folder whose config.json maps an Auto class or names
    a pipeline to a module not saved beside it (`trust_remote_code` users could not load it), and `_refuse_pickles`
    every pickled suffix, not only `.bin`. Mutants p42 (auto_map not checked), p43 (custom_pipelines not checked)
    and p44 (only `.bin` refused) passed."""
    import pytest

    from citrus_hf.publishing.push import _check_checkpoint_folder, _refuse_pickles

    (tmp_path / "model.safetensors").write_bytes(b"")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auto_map": {"AutoModel": "modeling_gone.CiTrusModel"}}))
    with pytest.raises(ValueError, match="maps to 'modeling_gone.CiTrusModel' but modeling_gone.py was not saved"):
        _check_checkpoint_folder(tmp_path)
    config.write_text(json.dumps({"custom_pipelines": {"bio": {"impl": "pipelines_gone.Pipe"}}}))
    with pytest.raises(ValueError, match="names the pipeline 'pipelines_gone.Pipe' for 'bio' but pipelines_gone.py"):
        _check_checkpoint_folder(tmp_path)
    (tmp_path / "pipelines_gone.py").write_text("")
    _check_checkpoint_folder(tmp_path)
    (tmp_path / "optimizer.pt").write_bytes(b"")
    with pytest.raises(ValueError, match=r"Refusing to publish pickled files \['optimizer.pt'\]"):
        _refuse_pickles(tmp_path, "CiTrus checkpoints")


def test_an_empty_repository_id_is_refused_before_any_upload():
    """`push_to_hub(model, "")` (an unset `--repo-id` or variable): refused as no `namespace/name` by the package,
    as a name with two slashes is. Mutant p01 (only more than one slash refused: huggingface_hub's own validation
    error, from `create_repo`) passed."""
    import pytest

    from citrus_hf.publishing import push

    for repo_id in ("", "a/b/c"):
        with pytest.raises(ValueError, match="must be `namespace/name`, e.g. `my-user/citrus-eeg`"):
            push.push_to_hub(_classifier(), repo_id)


def test_a_cards_rows_state_the_models_own_figures():
    """The card of a tiny EEG classifier (1 channel, a patch of 20 samples at 100 Hz, one layer of two heads): its
    patch lasts 0.2 s, its parameters are counted by their values, its summary and architecture rows name its channels
    and heads, its modality is a tag; an extractor at another rate is refused; a regressor's usage code loads the
    package's Auto class through `auto_map`, which transformers does not have. Mutants c20 (the rate over the patch:
    5 s), c23 (the number of tensors), c21 (the layers for the heads), c43 (the patches for the channels), c42 (the
    modality tags dropped), c26 (the extractor's rate not compared), c44 (a multi-label classifier called one of
    exclusive classes) and c40 (`from transformers import AutoModelForTimeSeriesRegression`) passed."""
    import pytest

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForRegression
    from citrus_hf.publishing import build_model_card

    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, channel_modalities=["EEG"]))
    card = build_model_card(model, repo_id="me/citrus")
    text = str(card)
    assert "20 samples (0.2 s)" in text and "2-second windows of 1-channel" in text
    assert f"| Parameters | {sum(p.numel() for p in model.parameters()):,} |" in text
    assert "d_model 16, 2 heads," in text and "eeg" in card.data.tags
    other_rate = CiTrusFeatureExtractor.from_config(model.config, sampling_rate=200.0)
    with pytest.raises(ValueError, match="The feature extractor resamples to 200.0 Hz but the model expects 100 Hz"):
        build_model_card(model, other_rate, repo_id="me/citrus")
    multi_label = tiny_config(num_labels=3, problem_type="multi_label_classification")
    assert "multi-label classifier (3 labels" in str(build_model_card(CiTrusForSequenceClassification(multi_label)))
    regressor = str(build_model_card(CiTrusForRegression(tiny_config(num_targets=2)), repo_id="me/citrus"))
    assert "import AutoModelForTimeSeriesRegression" not in regressor
    assert 'config.auto_map["AutoModelForTimeSeriesRegression"]' in regressor


def test_an_own_sets_dataset_card_names_the_task_of_its_label_column():
    """`own_dataset_card` of a set with a `label` column is a classification set, of one with a `target` column a
    regression set, of one with neither a pre-training corpus. Mutant d04 (every set a pre-training corpus) passed."""
    import numpy as np
    from datasets import Dataset, DatasetDict

    from citrus_hf.publishing.datasets import own_dataset_card

    windows = {"input_values": [np.zeros((1, 8), np.float32).tolist()] * 2, "sampling_rate": [100.0, 100.0]}
    cards = {
        column: own_dataset_card("me/set", DatasetDict(train=Dataset.from_dict({**windows, **extra})))
        for column, extra in (("label", {"label": [0, 1]}), ("target", {"target": [0.5, 1.5]}), ("none", {}))
    }
    assert "task_categories:\n- time-series-classification" in cards["label"]
    assert "task_categories:\n- time-series-regression" in cards["target"]
    assert "task_categories:\n- feature-extraction" in cards["none"]


def test_deleting_the_other_kind_on_an_open_pull_request_takes_no_parent_commit(local_hub, monkeypatch, tmp_path):
    """`delete_the_other_kind` on a pull request's ref (`refs/pr/1`, a Trainer's or peft's push with
    `revision="refs/pr/1"`) commits without a `parent_commit`, as `_publish_folder` does there: a commit that reached
    the pull request in between is no reason to refuse (it is a ref of its own, merged only after review). Mutant
    p14 (the read head given: refused) passed."""
    from citrus_hf.publishing import push

    repo = f"{DEFAULT_USER}/citrus-kinds-pull-request"
    api = HfApi(token=DEFAULT_TOKEN)
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="model.safetensors", repo_id=repo, create_pr=True)
    (tmp_path / "adapter").mkdir()
    read_head = push._branch_head

    def read_then_raced(*args, **kwargs):
        head = read_head(*args, **kwargs)
        api.upload_file(path_or_fileobj=b"notes", path_in_repo="NOTES.md", repo_id=repo, revision="refs/pr/1")
        return head

    monkeypatch.setattr(push, "_branch_head", read_then_raced)
    push.delete_the_other_kind(
        repo, tmp_path / "adapter", True, fusion=False, revision="refs/pr/1", token=DEFAULT_TOKEN
    )
    assert set(local_hub.repo_files(repo, "refs/pr/1")) >= {"NOTES.md"}
    assert "model.safetensors" not in local_hub.repo_files(repo, "refs/pr/1")


def test_a_classifier_trained_as_a_regressor_has_a_regressors_card():
    """A `CiTrusForSequenceClassification` with `problem_type="regression"` (transformers' way) and two named
    outputs: its card is a regressor's, of two targets, with its task in the tags and `model-index`, and its
    regression metric accepted. Mutants c04 (the class's task kept: the metric refused), c06 (`num_targets`, 1, for
    its outputs) and c37 (the classification task type in its tags and model-index) passed."""
    from citrus_hf.publishing import build_model_card

    torch.manual_seed(0)
    config = tiny_config(num_labels=2, problem_type="regression", id2label={0: "a", 1: "b"})
    model = CiTrusForSequenceClassification(config)
    result = {"dataset": "d", "split": "test", "metric": "mae", "value": 0.5}
    card = build_model_card(model, repo_id="me/x", eval_results=[result])
    text = str(card)
    assert card.data.pipeline_tag == "time-series-regression" and "time-series-regression" in card.data.tags
    assert "time-series-classification" not in text
    assert [entry.task_type for entry in card.data.eval_results] == ["time-series-regression"]
    assert "A CiTrus regressor (2 targets)" in text and "| Targets | 2 (0: a, 1: b) |" in text


def test_a_new_card_keeps_its_recipes_other_runs_only_beside_results_on_their_dataset():
    """A card pushed over one with this recipe's run on another label budget ("same recipe, another run") keeps that
    row where it gives results on the same dataset, and drops it where it gives none (it may be another recipe's);
    a hand-edited row of another number of cells is not read as a row. Mutants c52 (every such row kept) and c49 (a
    row one cell short read) passed."""
    from citrus_hf.publishing import build_model_card
    from citrus_hf.publishing.cards import _EVALUATION_TABLE_HEADER, evaluation_table_rows

    own = {"dataset": "eeg_blink", "split": "test", "metric": "accuracy"}
    model = _classifier()
    first = build_model_card(
        model,
        eval_results=[{**own, "label_budget": 40, "value": 0.8}, {**own, "label_budget": 10, "value": 0.6}],
        dataset_name="eeg_blink",
        label_budget=40,
    )

    def methods(card) -> list[str]:
        return sorted(row["method"] for row in evaluation_table_rows(card))

    assert methods(build_model_card(model, previous_card=first)) == []
    again = build_model_card(
        model,
        previous_card=first,
        eval_results=[{**own, "label_budget": 40, "value": 0.9}],
        dataset_name="eeg_blink",
        label_budget=40,
    )
    assert methods(again) == ["same recipe, another run", "this model"]
    lines = str(first).splitlines()
    row = lines.index(_EVALUATION_TABLE_HEADER) + 2  # (after the separator line)
    edited = "\n".join([*lines[:row], "| eeg_blink | test | mine | accuracy | 40 | 0.7 |", *lines[row:]])
    assert methods(edited) == methods(first)


def test_results_given_beside_a_runs_own_are_the_recipes_other_runs_on_the_runs_dataset(tmp_path):
    """`build_model_card(run_dir=..., eval_results=...)`: the run's own test metrics are this model's (its
    `model-index`); the results given for this model are labelled another run of its recipe, picked on the run's
    dataset and label budget, and, given without a `model_arm`, named without one (the table said "(None, the
    protocol's draws)"). Mutants c28 (the run's dataset not used: refused as results on several datasets) and c30
    (the results given counted as this model's, in `model-index`) passed."""
    from test_muthub_audit79 import _fine_tuning_run

    from citrus_hf.publishing import build_model_card
    from citrus_hf.publishing.cards import evaluation_table_rows

    run = tmp_path / "run"
    _classifier(3).save_pretrained(run)
    _fine_tuning_run(run)  # eeg_blink, 40 labelled windows, accuracy 0.75 on its validation split
    own = {"split": "test", "metric": "accuracy", "label_budget": 40}
    given = [{**own, "dataset": "eeg_blink", "value": 0.81}, {**own, "dataset": "other_set", "value": 0.55}]
    card = build_model_card(_classifier(3), run_dir=run, eval_results=given)
    methods = {(row["dataset"], row["split"], row["metric"]): row["method"] for row in evaluation_table_rows(card)}
    assert methods["eeg_blink", "test", "accuracy"] == "same recipe, another run"
    assert methods["eeg_blink", "validation", "accuracy"] == "this model"
    assert [(e.dataset_name, e.metric_type, e.metric_value) for e in card.data.eval_results] == [
        ("eeg_blink", "accuracy", 0.75),
        ("eeg_blink", "macro_f1", 0.5),
    ]


def test_a_run_with_max_steps_zero_is_listed_by_the_steps_it_took(tmp_path):
    """`max_steps` counts only when positive (transformers' rule): a run recorded with `max_steps=0` trained the
    steps its recipe scaled to the labelled examples, as with the default -1, not "0 steps". Mutant r13 (0 read as a
    step count) passed."""
    from test_muthub_audit79 import _fine_tuning_run

    from citrus_hf.publishing.runs import read_run_records

    trainer = {"max_steps": 0, "learning_rate": 0.001, "per_device_batch_size": 8, "seed": 3}
    run = read_run_records(_fine_tuning_run(tmp_path / "run", arguments={"trainer": trainer}))
    assert run.hyperparameters["Training length"] == "30 steps (scaled to the labelled examples)"


def test_an_adapters_run_records_tag_a_regressor_trained_as_a_classifier_class_with_the_regression_pipeline(tmp_path):
    """`add_adapter_run_records` of a LoRA run on a `CiTrusForSequenceClassification` trained as a regressor
    (`problem_type="regression"`): the adapter card's pipeline tag is the regression pipeline its config runs, as its
    results are regression results. Mutant c27 (the class's tag, classification) passed."""
    from huggingface_hub import ModelCard
    from test_muthub_audit79 import _fine_tuning_run

    from citrus_hf.publishing.cards import add_adapter_run_records

    run = _fine_tuning_run(
        tmp_path / "run",
        task="regression",
        test_metrics={"mae": 0.4, "rmse": 0.5},
        test_classes=None,
        test_recording_metrics={},
        num_test_recordings=None,
        arguments={"lora": True},
    )
    base = CiTrusForSequenceClassification(tiny_config(num_labels=1, problem_type="regression"))
    card = ModelCard("---\nlibrary_name: peft\n---\n# adapter\n")
    add_adapter_run_records(card, base, run, "me/adapter")
    assert card.data.pipeline_tag == "time-series-regression"
    assert {entry.task_type for entry in card.data.eval_results} == {"time-series-regression"}


def test_resolve_checkpoint_downloads_the_revision_asked_for_and_names_a_missing_nested_folder(local_hub, tmp_path):
    """`resolve_checkpoint(repo_id, revision="dev")` downloads the branch's files, not the default branch's; a path
    of several folders that does not exist is named as a missing local folder (not as an invalid Hub id). Mutants l04
    (the revision not passed to the download) and l05 (a path of three parts taken for a Hub id) passed in
    process."""
    import pytest

    from citrus_hf.loading import resolve_checkpoint
    from citrus_hf.publishing import push

    repo = f"{DEFAULT_USER}/citrus-two-branches"
    push.push_to_hub(_classifier(2), repo, token=DEFAULT_TOKEN)
    push.push_to_hub(_classifier(3), repo, token=DEFAULT_TOKEN, revision="dev")
    folder = resolve_checkpoint(repo, revision="dev", token=DEFAULT_TOKEN, cache_dir=tmp_path / "cache")
    assert len(json.loads((folder / "config.json").read_text())["id2label"]) == 3
    with pytest.raises(OSError, match="Local folder 'runs/eeg/model' does not exist"):
        resolve_checkpoint("runs/eeg/model")


def test_load_pretrained_refuses_another_libraries_checkpoint_by_its_model_type(tmp_path):
    """`load_pretrained` of a folder whose config.json is another model's (`model_type: "bert"`): refused in one line
    that names it, before any CiTrus class reads its config. Mutant l11 (only a config without `model_type` refused)
    passed."""
    import pytest

    from citrus_hf.loading import load_pretrained

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match=r"is not a CiTrus checkpoint \(model_type='bert'\)"):
        load_pretrained(tmp_path)
