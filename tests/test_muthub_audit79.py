"""Mutation audit 79 of publishing/ and loading.py: tests that a wrong answer there would not pass unseen. Each test
here failed on a hand-made mutant of the module that the suite let through (the mutant named in its docstring) and
passes on the package as it is. Pure functions on tiny configs; the pushes on the test Hub served in this process
(`local_hub`); no network."""

from __future__ import annotations

from fnmatch import fnmatch

import pytest
from huggingface_hub import ModelCard
from safetensors.torch import load_file, save_file
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.publishing import push

# The files a repository may hold at its root, one of each kind of checkpoint and of each extractor.
_REPOSITORY_FILES = (
    "config.json",
    "model.safetensors",
    "model-00001-of-00002.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "adapter_config.json",
    "adapter_model.safetensors",
    "adapter_model.bin",
    "citrus_task_config.json",
    "preprocessor_config.json",
    "processor_config.json",
    "README.md",
    "modeling_citrus.py",
)


def _replaced(adapter: bool, fusion: bool) -> set[str]:
    patterns = push.replaced_files(adapter, fusion)
    return {name for name in _REPOSITORY_FILES if any(fnmatch(name, pattern) for pattern in patterns)}


def test_a_push_replaces_exactly_the_files_of_the_other_kinds_and_its_own_weights():
    """`replaced_files`, the one rule of what a push deletes unless it writes it again (mutants: the fusion flag's
    extractor swapped, the adapter's task config, a pickled adapter or the weight shards left out of it). Each kind
    deletes the other kinds' files and its own weight files, never the card or the code."""
    weights = {
        "model.safetensors",
        "model-00001-of-00002.safetensors",
        "model.safetensors.index.json",
        "pytorch_model.bin",
    }
    adapter_files = {"adapter_config.json", "adapter_model.safetensors", "adapter_model.bin", "citrus_task_config.json"}
    # a single-modality model: the adapter's files, any earlier weights, the fusion processor (not its own extractor)
    assert _replaced(adapter=False, fusion=False) == adapter_files | weights | {"processor_config.json"}
    # a fusion model: the same, with the single-modality extractor instead of its own processor
    assert _replaced(adapter=False, fusion=True) == adapter_files | weights | {"preprocessor_config.json"}
    # an adapter: a full model's config and weights, both extractors and an earlier adapter's task config
    expected = {"config.json", *weights, "preprocessor_config.json", "processor_config.json", "citrus_task_config.json"}
    assert _replaced(adapter=True, fusion=False) == expected


def test_saved_weights_match_refuses_a_saved_file_missing_a_tensor(tmp_path):
    """`saved_weights_match` (whether the model is the one saved, so that the run's results describe it) must find
    every tensor of the model in the saved files (mutant: `saved <= set(state)` took a file that lacks one)."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    model.save_pretrained(tmp_path)
    assert push.saved_weights_match(model, tmp_path)
    tensors = load_file(tmp_path / "model.safetensors")
    dropped = sorted(tensors)[0]
    save_file({k: v for k, v in tensors.items() if k != dropped}, tmp_path / "model.safetensors", {"format": "pt"})
    assert not push.saved_weights_match(model, tmp_path)


def _card(license: str | None = None, tags=None, library_name: str | None = None) -> ModelCard:
    lines = ["---"]
    if license is not None:
        lines.append(f"license: {license}")
    if library_name is not None:
        lines.append(f"library_name: {library_name}")
    if tags:
        lines += ["tags:", *(f"- {tag}" for tag in tags)]
    return ModelCard("\n".join([*lines, "---", "", "text"]))


def test_a_push_keeps_the_repositorys_licence_only_when_none_is_given_and_the_hub_knows_it():
    """`_keep_previous_license` (mutants: the given licence replaced by the repository's; a licence id the Hub does
    not know carried over into the new card, which the Hub then refuses)."""
    given = {"license": "mit"}
    push._keep_previous_license(given, _card("cc-by-nc-4.0"))
    assert given == {"license": "mit"}
    kept: dict = {"license": None}
    push._keep_previous_license(kept, _card("cc-by-nc-4.0"))
    assert kept == {"license": "cc-by-nc-4.0"}
    unknown: dict = {}
    push._keep_previous_license(unknown, _card("my-own-terms"))
    assert unknown == {}  # the default (apache-2.0) then, not an id the Hub refuses


def test_an_adapter_push_keeps_only_an_adapter_cards_own_tags():
    """`_adapter_card_tags` (mutants: a full model's card's tags kept on the adapter's; the old base's `base_model:`
    tag kept beside the new one's)."""
    adapter_card = _card(tags=["imu", "base_model:me/old-base", "har"], library_name="peft")
    assert push._adapter_card_tags(adapter_card) == ["imu", "har"]
    assert push._adapter_card_tags(_card(tags=["citrus", "eeg"], library_name="transformers")) == []
    assert push._adapter_card_tags(None) == []


@pytest.mark.parametrize(
    ("revision", "create_pr", "branch"),
    [("dev", False, "dev"), (None, False, None), ("dev", True, None), ("refs/pr/3", False, None)],
)
def test_a_cards_usage_code_loads_the_branch_it_is_published_on(revision, create_pr, branch):
    """`_card_branch` (mutant: `return revision`): a pull request (`create_pr`, a `refs/pr/N` ref) merges into the
    default branch, whose checkpoint its card's code must load; a push to a branch loads that branch."""
    assert push._card_branch(revision, create_pr) == branch


def test_the_pretraining_rows_state_the_summarys_figures():
    """`pretraining_facts`, the card's pre-training rows from a `pretraining_summary.json` (mutants: the batch without
    its processes or its accumulation, the synthetic share turned round, the final loss rounded to one decimal, the
    first held-out loss for the last, "learnt" judged against the baseline itself, a run without `completed` read as
    stopped early). Hand-computed: batch 8 per device x 2 processes x 4 accumulation steps = 64; last held-out loss
    0.5 against a baseline of 0.51, which is not below 0.95 x 0.51 = 0.4845, so the encoder learnt little."""
    from citrus_hf.publishing.runs import pretraining_facts

    summary = {
        "arguments": {
            "dataset": "eeg_pretrain",
            "per_device_batch_size": 8,
            "gradient_accumulation_steps": 4,
            "learning_rate": 0.001,
        },
        "world_size": 2,
        "steps": 100,
        "num_train_windows": 5000,
        "synthetic_ratio": 0.25,
        "final_loss": 0.123456,
        "eval_losses": [[50, 0.9], [100, 0.5]],
        "eval_baseline_losses": [[50, 1.0], [100, 0.51]],
    }
    facts = pretraining_facts(summary)
    assert facts["Batch size"] == 64
    assert facts["Training windows"] == 5000
    assert facts["Synthetic windows"] == "25% of the training windows"
    assert facts["Final training loss"] == 0.1235
    assert facts["Held-out loss (last evaluation)"] == 0.5
    assert facts["Held-out loss of predicting the mean"] == 0.51
    assert facts["Note"].startswith("the held-out loss ended at the level of predicting the mean")
    assert "stopped before" not in facts["Note"]
    # windows drawn from the synthetic stream alone: the run read no corpus windows, and says none
    assert "Training windows" not in pretraining_facts({**summary, "synthetic_ratio": 1.0})


def _fine_tuning_run(folder, **changes):
    """A `finetune_results.json` as `citrus finetune` writes it, of a fine-tuned classifier of classes a, b and c on
    two processes, tested on its validation split; `changes` replace top-level fields or (a dict under "arguments")
    its arguments' fields."""
    import json

    results = {
        "task": "classification",
        "recipe": "finetune",
        "num_train": 40,
        "num_train_examples": 10,
        "steps": 30,
        "best_step": 20,
        "world_size": 2,
        "test_metrics": {"accuracy": 0.75, "macro_f1": 0.5, "auroc": None, "loss": 0.3},
        "test_classes": {"classes": ["a", "b", "c"], "absent": ["c"]},
        "test_recording_metrics": {"accuracy": 0.6666666},
        "num_test_recordings": 3,
        "arguments": {
            "dataset": "eeg_blink",
            "test_split": "validation",
            "label_budget": "10",
            "class_weight": "none",
            "lora": False,
            "alignment": "window",
            "normalization": "zscore",
            "trainer": {"max_steps": -1, "learning_rate": 0.001, "per_device_batch_size": 8, "seed": 3},
        },
    }
    results["arguments"].update(changes.pop("arguments", {}))
    results.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "finetune_results.json").write_text(json.dumps(results))
    return folder


def test_a_fine_tuning_runs_records_state_its_split_budget_batch_and_notes(tmp_path):
    """`read_run_records` of a fine-tuning run (mutants: the test split read as "test", the labelled examples for
    the label budget's windows, `--class-weight none` listed as class weights, the batch of one process, the
    absent classes counted against the present ones, the per-recording note's probabilities called predictions
    or its figures rounded to two decimals). Hand-computed: batch 8 x 2 processes = 16; class c absent, 1 of 3."""
    from citrus_hf.publishing.runs import read_run_records

    run = read_run_records(_fine_tuning_run(tmp_path / "run"))
    assert {(r.metric, r.split, r.label_budget) for r in run.eval_records} == {
        ("accuracy", "validation", 40),
        ("macro_f1", "validation", 40),
    }
    assert [r.metric for r in run.undefined_metrics] == ["auroc"]
    assert run.hyperparameters["Batch size"] == 16
    assert "Class weights" not in run.hyperparameters
    notes = " ".join(run.evaluation_notes)
    assert "(1 of the model's 3 classes)" in notes
    assert "each scored by the mean of its windows' probabilities" in notes and "accuracy 0.6667" in notes
    # the probe is fitted in closed form: no optimizer, so no learning rate, batch or steps are listed
    probe = read_run_records(_fine_tuning_run(tmp_path / "probe", recipe="probe"))
    assert not {"Learning rate", "Batch size", "Training length"} & set(probe.hyperparameters)
    assert read_run_records(_fine_tuning_run(tmp_path / "lora", arguments={"lora": True})).recipe == "lora"


def test_a_metric_recorded_as_nan_is_undefined_and_never_a_result(tmp_path):
    """A record file holding NaN (Python's `json.dump` writes it, as `NaN`) is an undefined metric, listed as such,
    not a result in `model-index` (mutant: the NaN check dropped, the metric was both)."""
    from citrus_hf.publishing.runs import read_run_records

    folder = _fine_tuning_run(tmp_path / "run")
    (folder / "finetune_results.json").write_text(
        (folder / "finetune_results.json").read_text().replace('"macro_f1": 0.5', '"macro_f1": NaN')
    )
    run = read_run_records(folder)
    assert [r.metric for r in run.eval_records] == ["accuracy"]
    assert sorted(r.metric for r in run.undefined_metrics) == ["auroc", "macro_f1"]


def test_a_cards_figures_are_the_records_own():
    """What a card states of its evaluation (mutants: the seeds for the label budget, the mean for the standard
    deviation, the value rounded to two decimals, the split or the dataset id dropped from `model-index`, a
    baseline's row filed in `model-index` as this model's, the table's value to two digits, its label budget or seeds
    left blank, every method called a baseline)."""
    from citrus_hf import build_model_card
    from citrus_hf.publishing.cards import evaluation_table_rows

    own = {"dataset": "eeg_blink", "dataset_id": "me/blinks", "split": "test", "label_budget": 40, "seeds": 5}
    records = [
        {**own, "metric": "accuracy", "value": 0.8125, "std": 0.01234},
        {**own, "metric": "accuracy", "value": 0.5, "method": "minirocket"},
    ]
    card = build_model_card(CiTrusForSequenceClassification(tiny_config(num_labels=2)), eval_results=records)
    (entry,) = card.data.eval_results  # this model's row alone: the baseline stays in the table
    assert (entry.metric_value, entry.dataset_split) == (0.8125, "test")
    assert (entry.dataset_type, entry.dataset_name) == ("me/blinks", "eeg_blink")
    assert entry.metric_name == "accuracy (40 labelled examples, mean of 5 seeds, std 0.01234)"
    rows = {row["method"]: row for row in evaluation_table_rows(card)}
    assert rows["this model"]["value"] == "0.8125 ± 0.012"
    assert (rows["this model"]["label_budget"], rows["this model"]["seeds"]) == ("40", "5")
    assert rows["baseline: minirocket"]["value"] == "0.5"


def test_a_cards_input_and_pretraining_rows_state_the_configs_figures():
    """The card's input-contract and pre-training rows (mutants: the window's samples as its patch count, the masking
    blocks as the patch length, the whole-channel masking left out). Hand-computed: 200 samples at 100 Hz are a 2 s
    window of 10 patches of 20 samples."""
    from citrus_hf import build_model_card

    config = tiny_config(
        num_labels=2, mask_ratio=0.4, mask_block_size=3, mask_mode="per_channel", channel_mask_ratio=0.25
    )
    text = str(build_model_card(CiTrusForSequenceClassification(config)))
    assert "| Window | 2 s = 200 samples |" in text
    assert "| Masking | 40% of patches, in blocks of 3 patches, per channel; plus 25% of whole channels |" in text


def test_a_runs_card_lists_its_undefined_metrics_links_hub_sets_only_and_takes_given_values(tmp_path):
    """A card written from a fine-tuning run's folder (mutants: its NaN metrics left out of the table, a local
    folder's name linked as a Hub dataset, the Hub set not linked, the given hyper-parameters and base model
    replaced by the run's)."""
    from citrus_hf import build_model_card
    from citrus_hf.publishing.cards import evaluation_table_rows

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    hub_run = _fine_tuning_run(tmp_path / "hub", arguments={"dataset": "me/blinks", "model": "me/base"})
    card = build_model_card(model, run_dir=hub_run)
    rows = {row["metric"]: row["value"] for row in evaluation_table_rows(card)}
    assert rows == {"accuracy": "0.75", "macro_f1": "0.5", "auroc": "NaN (undefined)"}
    assert (card.data.datasets, card.data.base_model) == (["me/blinks"], "me/base")
    given = build_model_card(model, run_dir=hub_run, base_model="me/other", hyperparameters={"Learning rate": 0.5})
    assert given.data.base_model == "me/other"
    assert "| Learning rate | 0.5 |" in str(given) and "| Seed |" not in str(given)
    # `--dataset data/own`, a folder where the run started (`local_paths`): an id's shape, but no Hub dataset
    local_paths = {"dataset": str(tmp_path / "data/own")}
    local_run = _fine_tuning_run(tmp_path / "local", arguments={"dataset": "data/own"}, local_paths=local_paths)
    assert build_model_card(model, run_dir=local_run).data.datasets is None


def test_a_cards_scores_per_recording_are_in_its_note_with_the_most_recordings_scored():
    """`citrus evaluate`'s scores per labelled recording of this model go to the card's note, not `model-index`
    (mutants: kept among its window-level results, the fewest recordings of the seeds named, the label budget
    left out of the note)."""
    from citrus_hf import build_model_card

    own = {"dataset": "eeg_blink", "split": "test", "label_budget": 40, "seeds": 5}
    records = [
        {**own, "metric": "accuracy", "value": 0.8},
        {**own, "metric": "recording_accuracy", "value": 0.7, "recordings": 12},
        {**own, "metric": "recording_macro_f1", "value": 0.6, "recordings": 14},
    ]
    card = build_model_card(CiTrusForSequenceClassification(tiny_config(num_labels=2)), eval_results=records)
    assert [entry.metric_type for entry in card.data.eval_results] == ["accuracy"]
    note = "Per recording (14 recordings of the test split of eeg_blink, 40 labelled examples, mean over 5 seeds,"
    assert note in str(card)
    assert "accuracy 0.7000, macro_f1 0.6000." in str(card)


def test_the_trainers_card_counts_its_batch_and_keeps_the_evaluation_of_the_weights_it_holds():
    """`Trainer.push_to_hub`'s card (mutants: the batch without its processes or its accumulation; the last
    evaluation taken where the best step's weights were loaded back, or the first where the last weights are kept;
    a metric of one target by index not shown). Hand-computed: 4 per device x 3 processes x 2 steps = 24."""
    from types import SimpleNamespace

    from citrus_hf.publishing.cards import _kept_model_evaluation, _one_targets_metric, _trainer_batch_size

    arguments = SimpleNamespace(per_device_train_batch_size=4, gradient_accumulation_steps=2, world_size=3)
    assert _trainer_batch_size(arguments) == "24 (4 per device x 3 processes x 2 gradient-accumulation steps)"
    log = [
        {"eval_loss": 1.0, "eval_accuracy": 0.9, "step": 10},
        {"loss": 0.5, "step": 15},
        {"eval_loss": 2.0, "eval_accuracy": 0.6, "step": 20},
    ]

    def trainer(load_best: bool):
        state = SimpleNamespace(log_history=log, best_global_step=10)
        return SimpleNamespace(state=state, args=SimpleNamespace(load_best_model_at_end=load_best))

    assert _kept_model_evaluation(trainer(True))["step"] == 10
    assert _kept_model_evaluation(trainer(False))["step"] == 20
    model = SimpleNamespace(config=SimpleNamespace(target_names=["heart_rate"]))
    assert _one_targets_metric("mae_heart_rate", model) and _one_targets_metric("rmse_0", model)
    assert not _one_targets_metric("mae", model) and not _one_targets_metric("mae_breathing", model)


def test_the_recipes_runs_on_other_budgets_are_labelled_as_such_not_as_baselines():
    """Rows of this model's recipe on another label budget than the checkpoint's are "same recipe, another run"
    (mutants: called a baseline; the label budget not compared, so they were this model's results)."""
    from citrus_hf import build_model_card
    from citrus_hf.publishing.cards import evaluation_table_rows

    own = {"dataset": "eeg_blink", "split": "test", "metric": "accuracy"}
    records = [{**own, "label_budget": 40, "value": 0.8}, {**own, "label_budget": 10, "value": 0.6}]
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    card = build_model_card(model, eval_results=records, dataset_name="eeg_blink", label_budget=40)
    methods = {row["label_budget"]: row["method"] for row in evaluation_table_rows(card)}
    assert methods == {"40": "this model", "10": "same recipe, another run"}
    assert [entry.metric_value for entry in card.data.eval_results] == [0.8]


def test_a_pull_request_with_a_revision_is_refused_before_anything_is_written():
    """`create_pr=True` opens a pull request against the default branch: with a `revision` as well it is refused
    before the folder is written or the Hub contacted (mutant: the check dropped; huggingface_hub then refused it
    after the repository was created)."""
    written = []
    with pytest.raises(ValueError, match="create_pr=True opens a pull request against the repository's default"):
        push._publish_folder(
            "me/citrus-x",
            written.append,
            lambda folder: None,
            example_repo_id="me/citrus-x",
            private=None,
            revision="dev",
            commit_message="m",
            token=None,
            create_pr=True,
        )
    assert written == []
