"""Review of session 80's later package changes (audit 80, review2): a card's rows of the recipe's other runs, the
subnormal-float block in threads, spkit_ppg_eda's channel count. Each test fails on the package before its fix."""

from __future__ import annotations

from huggingface_hub import ModelCard
from test_card_audit import _trainer
from test_muthub_audit79 import _fine_tuning_run
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification


def test_a_trainer_pushed_from_a_fine_tuning_runs_folder_has_its_own_evaluation_as_this_models(tmp_path):
    """A `Trainer` writing into the folder of an earlier `citrus finetune` run (a run's model trained on again) read
    that run's `finetune_results.json` as its own records: `Trainer.push_to_hub(dataset=...)` failed with "None of the
    evaluation results of this model are on this model's dataset 'eeg_blink' with 40 labelled examples", and where it
    did not, the old run's test metrics, of weights the Trainer replaced, were this model's in `model-index` and the
    Trainer's own evaluation "same recipe, another run". The Trainer's log is now the card's evaluation."""
    from citrus_hf.publishing.cards import evaluation_table_rows, write_trainer_card

    (tmp_path / "out").mkdir()
    _fine_tuning_run(tmp_path / "out")  # eeg_blink, 40 labelled windows, accuracy 0.75: another run's
    model = CiTrusForSequenceClassification(tiny_config(num_channels=6, num_labels=4))
    trainer = _trainer(tmp_path, model)  # its output folder is tmp_path / "out"
    card = ModelCard.load(write_trainer_card(trainer, model, dataset="BasicMotions"))
    evaluated = trainer.state.log_history[-2]["eval_accuracy"]
    rows = {(row["dataset"], row["split"], row["metric"]): row["method"] for row in evaluation_table_rows(card)}
    assert rows["BasicMotions", "eval", "accuracy"] == "this model"
    assert {dataset for dataset, _, _ in rows} == {"BasicMotions"}
    index = {(e.dataset_name, e.metric_type): e.metric_value for e in card.data.eval_results}
    assert index["BasicMotions", "accuracy"] == evaluated and {name for name, _ in index} == {"BasicMotions"}


def test_the_card_note_says_what_a_row_of_the_recipe_on_this_models_dataset_is(tmp_path):
    """Results given beside a run's own test metrics are "same recipe, another run" also on the run's own dataset and
    label budget (the protocol's other draws and seeds, or rows given without an arm); the card's note called such
    rows "this model's method on other datasets or label budgets", which the row beside it contradicted."""
    from test_muthub3_audit80 import _classifier

    from citrus_hf.publishing import build_model_card
    from citrus_hf.publishing.cards import evaluation_table_rows

    run = tmp_path / "run"
    _classifier(3).save_pretrained(run)
    _fine_tuning_run(run)  # eeg_blink, 40 labelled windows
    given = [{"dataset": "eeg_blink", "split": "test", "metric": "accuracy", "label_budget": 40, "value": 0.81}]
    card = build_model_card(_classifier(3), run_dir=run, eval_results=given)
    (row,) = [row for row in evaluation_table_rows(card) if row["split"] == "test"]
    assert (row["dataset"], row["label_budget"], row["method"]) == ("eeg_blink", "40", "same recipe, another run")
    assert "other draws and seeds on this model's own" in " ".join(str(card).split())
