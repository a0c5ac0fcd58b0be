"""Session 67's stability audit: runs that diverge (a NaN loss, or weights the last step blew up), the advice they
give, and settings that cannot train (a weight decay that wipes the weights, a learning rate beyond float32, a warm-up
longer than the run, regression targets a float32 head cannot fit)."""

from __future__ import annotations

import json
import logging
import math
import os
import time

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForPretraining, CiTrusForRegression, CiTrusForSequenceClassification
from citrus_hf.training.callbacks import NonFiniteLossError
from citrus_hf.training.finetune import FinetuneArguments, TrainerSettings, finetune
from citrus_hf.training.pretrain import PretrainArguments, checkpoints_in, citrus_loss, pretrain

RATE = 50.0


def _classification_set(folder, per_class: int = 6):
    """3 classes of 2-channel 2 s windows at 50 Hz (sines of other frequencies), train and test splits."""
    import datasets

    rng = np.random.default_rng(0)
    time_axis = np.arange(int(2 * RATE)) / RATE

    def rows(count):
        values, labels = [], []
        for label in range(3):
            for _ in range(count):
                wave = [np.sin(2 * np.pi * (2 + 3 * label) * time_axis), np.cos(2 * np.pi * (1 + label) * time_axis)]
                values.append((np.stack(wave) + 0.3 * rng.standard_normal((2, len(time_axis)))).astype(np.float32))
                labels.append(label)
        return {"input_values": values, "label": labels, "sampling_rate": [RATE] * len(labels)}

    parts = {"train": datasets.Dataset.from_dict(rows(per_class)), "test": datasets.Dataset.from_dict(rows(3))}
    datasets.DatasetDict(parts).save_to_disk(str(folder))
    return str(folder)


def _regression_set(folder, count: int = 24, scale: float = 1.0, offset: float = 0.0):
    """1-channel 2 s windows at 50 Hz of a sine of frequency f in 1..5 Hz; target offset + scale * f."""
    import datasets

    rng = np.random.default_rng(1)
    time_axis = np.arange(int(2 * RATE)) / RATE

    def rows(number):
        values, targets = [], []
        for _ in range(number):
            frequency = rng.uniform(1, 5)
            wave = np.sin(2 * np.pi * frequency * time_axis)[None] + 0.1 * rng.standard_normal((1, len(time_axis)))
            values.append(wave.astype(np.float32))
            targets.append(float(offset + scale * frequency))
        return {"input_values": values, "target": targets, "sampling_rate": [RATE] * number}

    parts = {"train": datasets.Dataset.from_dict(rows(count)), "test": datasets.Dataset.from_dict(rows(8))}
    datasets.DatasetDict(parts).save_to_disk(str(folder))
    return str(folder)


@pytest.fixture(scope="module")
def classification_set(tmp_path_factory):
    return _classification_set(tmp_path_factory.mktemp("cls") / "cls")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """40 rows of 10 s of noise at 50 Hz, as a `save_to_disk` corpus."""
    import datasets

    folder = tmp_path_factory.mktemp("corpus") / "corpus"
    rows = np.random.default_rng(0).standard_normal((40, 1, 500)).astype(np.float32)
    datasets.Dataset.from_dict({"input_values": rows, "sampling_rate": [RATE] * 40}).save_to_disk(str(folder))
    return str(folder)


def _finetune_arguments(output_dir, dataset, **trainer) -> FinetuneArguments:
    recipe = trainer.pop("recipe", "finetune")
    settings = {"max_steps": 1, "show_progress": False, "warmup_steps": 0, **trainer}
    return FinetuneArguments(
        output_dir=str(output_dir),
        dataset=dataset,
        model_config="tiny",
        recipe=recipe,
        trainer=TrainerSettings(**settings),
    )


def _pretrain_arguments(output_dir, corpus, **changes) -> PretrainArguments:
    values = dict(
        output_dir=str(output_dir),
        dataset=corpus,
        eval_split=None,
        model_config="tiny",
        max_steps=1,
        per_device_batch_size=8,
        warmup_steps=0,
        report_to="none",
        show_progress=False,
    )
    return PretrainArguments(**{**values, **changes})


def _saved_classifier(folder, broken: str | None = None, task_class=CiTrusForSequenceClassification):
    """A tiny task model and its extractor saved in `folder`; `broken="overflow"`: finite weights of 3e38 in its
    head's matrix (every output infinite or NaN, as a run that diverged leaves them)."""
    config = tiny_config(num_labels=2) if task_class is CiTrusForSequenceClassification else tiny_config()
    model = task_class(config)
    if broken == "overflow":
        with torch.no_grad():
            getattr(model, task_class.head_name).weight.fill_(3e38)
    model.save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    return folder


# ------------------------------------------------------------------------- 1. the last step's weights, fine-tuning


def test_a_finetune_whose_last_step_blows_the_model_up_saves_nothing(tmp_path, classification_set):
    """One step at a learning rate of 1e6: its loss (of the initial weights) is finite, the weights it writes give NaN
    logits. The run was saved ("test accuracy nan"); now it stops before saving, naming the step, the learning rate
    and the way on, and leaves no Trainer scratch folder behind."""
    output_dir = tmp_path / "run"
    with pytest.raises(NonFiniteLossError) as info:
        finetune(_finetune_arguments(output_dir, classification_set, learning_rate=1e6, weight_decay=0.0))
    message = str(info.value)
    assert "The weights optimizer step 1 wrote are not finite" in message
    assert "logits on 12 training windows are NaN or infinite" in message
    assert "1e+06" in message and "lower --learning-rate" in message
    assert not (output_dir / "model.safetensors").exists() and not (output_dir / "finetune_results.json").exists()
    assert not (output_dir / ".citrus-trainer").exists()


@pytest.mark.parametrize("task_class", [CiTrusForSequenceClassification, CiTrusForRegression])
def test_the_pipelines_refuse_a_non_finite_checkpoint(tmp_path, task_class):
    """Finite weights whose every output overflows (NaN weights are refused by `from_pretrained`): a classifier's NaN
    logits were ranked into {'label': '0', 'score': nan}; a regressor returned nan."""
    from transformers import pipeline

    folder = _saved_classifier(tmp_path / "model", "overflow", task_class)
    runner = pipeline(model=str(folder), backend="torch")
    with pytest.raises(ValueError, match=rf"The checkpoint {folder} is not finite: .*every window .*random window"):
        runner(np.random.default_rng(0).standard_normal((1, 200)).astype(np.float32), sampling_rate=100.0)


def test_predict_refuses_a_non_finite_checkpoint_in_one_line(tmp_path, capsys):
    from citrus_hf.commands.main import main

    folder = _saved_classifier(tmp_path / "model", "overflow")
    np.save(tmp_path / "a.npy", np.random.default_rng(0).standard_normal((1, 200)).astype(np.float32))
    assert main(["predict", str(folder), str(tmp_path / "a.npy"), "--sampling-rate", "100"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: ") and "is not finite" in error and "score nan" not in error


def test_a_card_says_the_metrics_that_were_nan(tmp_path, classification_set):
    """A run whose test metrics were NaN (null in finetune_results.json): the card said "No evaluation results were
    recorded"; it now lists them as NaN (undefined), says why they may be, and keeps them out of `model-index`."""
    from citrus_hf.publishing.cards import build_model_card

    output_dir = tmp_path / "run"
    finetune(_finetune_arguments(output_dir, classification_set, recipe="probe", max_steps=-1))
    results = json.loads((output_dir / "finetune_results.json").read_text())
    results["test_metrics"] = {**results["test_metrics"], "accuracy": None, "auroc": None}
    (output_dir / "finetune_results.json").write_text(json.dumps(results))
    model = CiTrusForSequenceClassification.from_pretrained(output_dir)
    card = build_model_card(model, run_dir=output_dir)
    assert "No evaluation results were recorded" not in card.content
    assert "| accuracy |" in card.content and "NaN (undefined)" in card.content
    assert "gave no defined value (NaN) of accuracy, auroc" in card.content
    indexed = {result.metric_type for result in card.data.eval_results or []}
    assert "macro_f1" in indexed and not {"accuracy", "auroc"} & indexed

    results["test_metrics"] = {name: None for name in results["test_metrics"]}  # every metric NaN
    (output_dir / "finetune_results.json").write_text(json.dumps(results))
    card = build_model_card(model, run_dir=output_dir)
    assert "No evaluation results were recorded" not in card.content and "NaN (undefined)" in card.content


def test_push_refuses_a_non_finite_model_before_any_request(tmp_path):
    """A saved model whose outputs overflow, and a model in memory with NaN weights (`from_pretrained` refuses NaN
    weights in a file), were published without a word."""
    from citrus_hf.publishing.push import push_to_hub

    folder = _saved_classifier(tmp_path / "model", "overflow")
    model = CiTrusForSequenceClassification.from_pretrained(folder)
    with pytest.raises(ValueError, match=rf"Refusing to publish {folder}: its logits on random windows .* NaN or inf"):
        push_to_hub(model, "someone/diverged")  # (no Hub server: a request would fail otherwise)
    with torch.no_grad():
        model.classifier.weight.fill_(0.0)
        model.classifier.bias[0] = float("nan")
    with pytest.raises(ValueError, match="1 of its .* weights are NaN or infinite"):
        push_to_hub(model, "someone/diverged")


# ------------------------------------------------------------------------- 2. the last step's weights, pre-training


def test_a_pretraining_whose_last_step_blows_the_model_up_saves_nothing(tmp_path, corpus):
    """One step at 1e6 wrote weights whose every embedding is NaN; the run was saved as completed ("loss 6.5198")."""
    output_dir = tmp_path / "run"
    with pytest.raises(NonFiniteLossError) as info:
        pretrain(_pretrain_arguments(output_dir, corpus, learning_rate=1e6, weight_decay=0.0))
    message = str(info.value)
    assert "The weights optimizer step 1 wrote are not finite (their loss on that step's batch is nan)" in message
    assert "No checkpoint of the run predates the weights that broke" in message
    assert not (output_dir / "model.safetensors").exists() and not (output_dir / "pretraining_summary.json").exists()
    assert checkpoints_in(output_dir) == []


def _diverged_checkpoint(folder):
    """A pre-training checkpoint whose weights are finite but near 1e30: every output overflows."""
    model = CiTrusForPretraining(tiny_config())
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(1e30)
    model.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("recipe", ["probe", "finetune"])
def test_finetuning_from_a_non_finite_checkpoint_names_it(tmp_path, classification_set, recipe):
    """The probe said "Drop those rows" of the features, fine-tuning blamed the learning rate; neither named --model."""
    checkpoint = _diverged_checkpoint(tmp_path / "pretrained")
    arguments = _finetune_arguments(tmp_path / "run", classification_set, recipe=recipe, max_steps=1)
    arguments.model = str(checkpoint)
    with pytest.raises(ValueError, match=rf"The checkpoint {checkpoint} is not finite: .*random windows"):
        finetune(arguments)


# ------------------------------------------------------------------------------------ 3. advice that can be followed


def _nan_in_training_from(step: int):
    """A pre-training loss that is NaN from the `step`-th training micro-batch on (eval-mode calls not counted)."""
    calls = {"count": 0}

    def loss_fn(model, batch):
        loss = citrus_loss(model, batch)
        if not model.training:
            return loss
        calls["count"] += 1
        return loss * float("nan") if calls["count"] >= step else loss

    return loss_fn


def test_pretraining_advice_names_a_checkpoint_before_the_weights_that_broke_and_resuming_lower_works(tmp_path, corpus):
    """NaN at step 3 computed with step-2's weights: the advice was "resume from step-2 after fixing the cause", whose
    loss is NaN itself, and a resume with a lower --learning-rate was refused ("other settings"). It now names
    step-1 with the command line to resume at a lower learning rate, which a resume takes."""
    output_dir = tmp_path / "run"
    arguments = _pretrain_arguments(output_dir, corpus, max_steps=4, save_steps=1, logging_steps=1, learning_rate=1e-3)
    with pytest.raises(NonFiniteLossError) as info:
        pretrain(arguments, loss_fn=_nan_in_training_from(3))
    message = str(info.value)
    step_1 = output_dir / "checkpoints" / "step-1"
    assert f"Resume from {step_1}" in message and f"--resume-from {step_1} --learning-rate 0.0001" in message
    assert "not from step-2" in message
    with pytest.raises(ValueError, match="only a lower --learning-rate may differ"):  # a higher one is refused
        pretrain(_pretrain_arguments(output_dir, corpus, max_steps=4, save_steps=1, learning_rate=1e-2,
                                     resume_from=str(step_1)))  # fmt: skip
    resumed = pretrain(
        _pretrain_arguments(output_dir, corpus, max_steps=4, save_steps=1, learning_rate=1e-4, resume_from=str(step_1))
    )
    assert resumed.completed and (output_dir / "model.safetensors").is_file()
    recorded = json.loads((checkpoints_in(output_dir)[-1] / "run_settings.json").read_text())
    assert recorded["learning_rate"] == 1e-4


def test_lowering_the_learning_rate_scales_the_schedule():
    """The resumed schedule goes on from its step at the lower peak."""
    from transformers import get_cosine_schedule_with_warmup

    from citrus_hf.training.checkpoints import lower_learning_rate

    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([parameter], lr=1e-2)
    scheduler = get_cosine_schedule_with_warmup(optimizer, num_warmup_steps=2, num_training_steps=10)
    for _ in range(4):
        optimizer.step()
        scheduler.step()
    before = scheduler.get_last_lr()[0]
    lower_learning_rate(optimizer, scheduler, 1e-2, 1e-3)
    assert math.isclose(optimizer.param_groups[0]["lr"], before / 10) and scheduler.base_lrs == [pytest.approx(1e-3)]
    optimizer.step()
    scheduler.step()
    reference = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    expected = get_cosine_schedule_with_warmup(reference, num_warmup_steps=2, num_training_steps=10)
    for _ in range(5):
        reference.step()
        expected.step()
    assert math.isclose(scheduler.get_last_lr()[0], expected.get_last_lr()[0])


def test_finetuning_advice_cites_no_scratch_checkpoint_and_leaves_none(tmp_path, classification_set):
    """The advice pointed at runs/X/trainer/checkpoint-1, a scratch folder of NaN weights (citrus finetune cannot
    resume), and left it behind, so that a second failing run cited the first's."""
    output_dir = tmp_path / "run"
    for eval_steps in (1, 5):
        arguments = _finetune_arguments(
            output_dir, classification_set, max_steps=8, eval_steps=eval_steps, learning_rate=1e6, weight_decay=0.0
        )
        with pytest.raises(NonFiniteLossError) as info:
            finetune(arguments)
        message = str(info.value)
        assert "checkpoint-" not in message and "Nothing of the run was kept" in message
        assert "lower --learning-rate" in message
        assert not (output_dir / ".citrus-trainer").exists()


def test_the_early_stopping_warning_of_a_nan_validation_loss_says_training_diverges():
    """It blamed "AUROC of a validation split without some class" and suggested --metric-for-best-model loss, the
    metric in use, when the validation loss itself was NaN."""
    from types import SimpleNamespace

    from citrus_hf.training.callbacks import DefinedMetricEarlyStopping

    message = DefinedMetricEarlyStopping._undefined_message("loss", 3, float("nan"))
    assert "training is diverging" in message and "AUROC" not in message and "--metric-for-best-model" not in message
    message = DefinedMetricEarlyStopping._undefined_message("auroc", 3, 0.7)
    assert "AUROC of a validation split" in message and "(macro_f1, loss)" in message
    message = DefinedMetricEarlyStopping._undefined_message("macro_f1", 3, 0.7)
    assert "(loss)" in message  # not the metric in use
    callback = DefinedMetricEarlyStopping(early_stopping_patience=1)
    args = SimpleNamespace(metric_for_best_model="loss")
    callback.on_evaluate(args, SimpleNamespace(global_step=1), None, {"eval_loss": float("nan")})
    assert callback.undefined_warned


def test_a_trainer_of_ones_own_cites_no_stale_or_broken_checkpoint(tmp_path):
    """The Trainer callback cited the newest checkpoint of the folder: an earlier run's (stale), or the one whose
    weights gave the NaN loss."""
    from tiny_configs import diverging_trainer

    from citrus_hf.training.callbacks import NonFiniteLossCallback

    run = tmp_path / "run"
    stale = _saved_classifier(run / "checkpoint-0")  # an earlier run's, finite, before the weights that broke
    for path in [*stale.iterdir(), stale]:
        os.utime(path, (time.time() - 3600,) * 2)
    trainer, _ = diverging_trainer(run, [NonFiniteLossCallback()])
    with pytest.raises(NonFiniteLossError) as info:
        trainer.train()
    message = str(info.value)
    assert "at optimizer step 2" in message
    # checkpoint-1 holds the weights that broke, checkpoint-0 is stale
    assert "No checkpoint saved before the weights that broke is left" in message
    assert "(checkpoint-1: saved from the weights that broke on" in message and "checkpoint-0" not in message


# ------------------------------------------------------------------------------------------ 4. one line on the CLI


def test_a_nan_stop_is_one_error_line_on_the_command_line(tmp_path, classification_set, capsys):
    from citrus_hf.commands.main import is_user_error, main

    assert is_user_error(NonFiniteLossError("the loss became nan"))
    code = main(["finetune", "--dataset", classification_set, "--output-dir", str(tmp_path / "run"),
                 "--model-config", "tiny", "--recipe", "finetune", "--max-steps", "1", "--warmup-steps", "0",
                 "--learning-rate", "1e6", "--weight-decay", "0", "--no-show-progress"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("error: The weights optimizer step 1")


# --------------------------------------------------------------------------------------- 5, 6. regression targets


def test_huge_regression_targets_under_a_fine_tuning_are_warned_of(tmp_path, caplog):
    """Targets 1.1e7 to 1.5e7 (spread 1e6) under --recipe finetune were learnt as one constant without a word."""
    dataset = _regression_set(tmp_path / "huge", scale=1e6, offset=1e7)
    with caplog.at_level(logging.WARNING):
        finetune(_finetune_arguments(tmp_path / "run", dataset))
    assert "a fine-tuning's steps move the outputs by units" in caplog.text
    assert "divide them by 100000" in caplog.text and "--recipe probe" in caplog.text


def test_regression_targets_float32_rounds_are_warned_of_under_the_probe(tmp_path, caplog):
    """1e8 + f: the probe's float64 read-out, folded into the float32 head, rounds every prediction to a multiple of
    8 (MAE 2.0); 1e3 + f fits."""
    from citrus_hf.training.finetune import regression_target_notices

    dataset = _regression_set(tmp_path / "offset", offset=1e8)
    with caplog.at_level(logging.WARNING):
        finetune(_finetune_arguments(tmp_path / "run", dataset, recipe="probe", max_steps=-1))
    assert "rounds them to multiples of 8" in caplog.text and "subtract an offset" in caplog.text
    assert "a fine-tuning's steps" not in caplog.text  # the probe fits any scale
    frequencies = np.random.default_rng(0).uniform(1, 5, 20)
    assert regression_target_notices(1e3 + frequencies, trains=True) == []
    assert regression_target_notices(70 + 10 * frequencies, trains=True) == []  # heart rates
    assert len(regression_target_notices(1e7 + frequencies, trains=False)) == 1


# ------------------------------------------------------------------------------------------------- 7. warm-up


def test_a_finetune_warm_up_longer_than_the_run_is_warned_of(tmp_path, classification_set, caplog):
    with caplog.at_level(logging.WARNING):
        finetune(_finetune_arguments(tmp_path / "run", classification_set, max_steps=2, warmup_steps=1000))
    assert "--warmup-steps 1000 spans the whole run of 2 steps" in caplog.text


# ------------------------------------------------------------------------------------ 8, 9. learning rate and decay


@pytest.mark.parametrize("settings", [TrainerSettings, PretrainArguments])
def test_a_weight_decay_that_wipes_the_weights_is_refused(tmp_path, settings):
    extra = {"output_dir": str(tmp_path / "run")} if settings is PretrainArguments else {}
    with pytest.raises(ValueError, match=r"--weight-decay 1000 with --learning-rate 0.001: .*1 - learning rate x"):
        settings(learning_rate=1e-3, weight_decay=1000, **extra)
    settings(learning_rate=1e-3, weight_decay=999, **extra)  # just below: allowed


@pytest.mark.parametrize("settings", [TrainerSettings, PretrainArguments])
def test_a_learning_rate_beyond_float32_is_refused(tmp_path, settings):
    extra = {"output_dir": str(tmp_path / "run")} if settings is PretrainArguments else {}
    with pytest.raises(ValueError, match="--learning-rate 1e\\+39 is beyond float32's range"):
        settings(learning_rate=1e39, weight_decay=0.0, **extra)


def test_the_nan_advice_names_a_strong_weight_decay():
    from citrus_hf.training.callbacks import non_finite_loss_message

    message = non_finite_loss_message(4, math.nan, 1e-3, "no", weight_decay=500)
    assert "--weight-decay" in message and "50.00%" in message
    assert "--weight-decay" not in non_finite_loss_message(4, math.nan, 1e-3, "no", weight_decay=0.05)


# --------------------------------------------------------------------------------------- 10. one regression row


def test_one_regression_row_gets_advice_that_applies(tmp_path, caplog):
    """The probe advised "a larger --label-budget" when the budget already took the whole (one-row) split, and the
    validation warning spoke of "recordings per class" for a regression set."""
    dataset = _regression_set(tmp_path / "one", count=1)
    with caplog.at_level(logging.WARNING), pytest.raises(ValueError) as info:
        finetune(_finetune_arguments(tmp_path / "run", dataset, recipe="probe", max_steps=-1))
    message = str(info.value)
    assert "label-budget" not in message and "--recipe finetune" in message and "1 labelled example" in message
    assert "too few recordings to carve one" in caplog.text and "per class" not in caplog.text


def test_a_budget_below_the_pool_still_advises_a_larger_one(tmp_path):
    dataset = _regression_set(tmp_path / "reg")
    arguments = _finetune_arguments(tmp_path / "run", dataset, recipe="probe", max_steps=-1)
    arguments.label_budget = "1"
    with pytest.raises(ValueError, match=r"give a larger --label-budget \(the training pool holds"):
        finetune(arguments)
