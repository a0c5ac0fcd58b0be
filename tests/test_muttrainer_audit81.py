"""Session 81's mutation audit of the `Trainer` glue (`training/trainer.py`: `train_with_trainer`, the weighted loss,
the checks and samplers the `Trainer` hooks run): guards that pass on the package as it is and fail on a hand-made
mutant that nothing else caught (each test names the wrong answer it keeps out)."""

from __future__ import annotations

import pytest
import torch
from tiny_configs import tiny_config
from transformers import default_data_collator

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.training.trainer import trainable_parameters_without_gradient, weighted_cross_entropy


def _rows(count: int = 4, channels: int = 1) -> list[dict]:
    generator = torch.Generator().manual_seed(0)
    return [
        {"input_values": torch.randn(channels, 200, generator=generator), "labels": index % 2} for index in range(count)
    ]


def test_looking_for_unused_parameters_leaves_the_gradients_the_mode_and_the_random_state_as_they_were():
    """DDP's unused-parameter probe runs one forward and backward pass: a gradient the model already held is put back
    (not cleared), an evaluation-mode model stays in evaluation mode (not switched to training), and the pass runs in
    evaluation mode, so no dropout draws from torch's generator (a training-mode pass moved the seeded run's draws)."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, hidden_dropout=0.5, head_dropout=0.5))
    held = {name: torch.full_like(parameter, 0.25) for name, parameter in model.named_parameters()}
    for name, parameter in model.named_parameters():
        parameter.grad = held[name].clone()
    state = torch.get_rng_state()
    assert trainable_parameters_without_gradient(model, _rows(), default_data_collator) == []
    assert torch.equal(torch.get_rng_state(), state)  # the pass drew no dropout
    assert all(torch.equal(parameter.grad, held[name]) for name, parameter in model.named_parameters())
    assert model.training

    model.eval()
    trainable_parameters_without_gradient(model, _rows(), default_data_collator)
    assert not model.training


class _Guard:
    def __init__(self):
        self.watched = []

    def watch(self, value):
        self.watched.append(float(value))


def test_the_weighted_loss_divides_by_the_examples_of_the_optimizer_step_and_guards_training_losses_only():
    """With gradient accumulation the `Trainer` hands the loss the examples of the whole optimizer step
    (`num_items_in_batch`) and does not divide it by the accumulation steps itself: a loss divided by the micro-batch's
    examples instead was as many times too large as there are accumulation steps. The NaN guard watches the losses
    of training steps, not those the evaluation computes without gradients."""
    guard = _Guard()
    loss = weighted_cross_entropy([1.0, 3.0], guard)
    logits, labels = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, -0.5]]), torch.tensor([0, 1, 1, 0])
    per_example = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    weighted = float((torch.tensor([1.0, 3.0, 3.0, 1.0]) * per_example).sum())
    step = loss({"logits": logits}, labels, num_items_in_batch=torch.tensor(8))  # 2 micro-batches of 4
    assert float(step) == pytest.approx(weighted / 8, rel=1e-6)
    assert guard.watched == [pytest.approx(weighted / 8, rel=1e-6)]
    with torch.no_grad():
        loss({"logits": logits}, labels)
    assert len(guard.watched) == 1


def test_a_metric_direction_already_right_is_left_without_a_warning(tmp_path, caplog):
    """`metric_for_best_model="mae"` with `greater_is_better=False` as the user set it, and an accuracy left to
    transformers' default (maximised), are right as they stand: no warning (one told the user who had set
    `greater_is_better=False` that `greater_is_better=True` kept the largest error)."""
    from transformers import Trainer, TrainingArguments

    from citrus_hf.training.metrics import compute_metrics_fn

    for metric, given in (("mae", {"greater_is_better": False}), ("accuracy", {})):
        arguments = TrainingArguments(
            str(tmp_path / "out"), max_steps=1, report_to="none", use_cpu=True, save_strategy="no",
            disable_tqdm=True, metric_for_best_model=metric, **given,
        )  # fmt: skip
        caplog.clear()
        with caplog.at_level("WARNING"):
            trainer = Trainer(
                model=torch.nn.Linear(1, 1), args=arguments, compute_metrics=compute_metrics_fn("regression")
            )
        assert trainer.args.greater_is_better is (metric == "accuracy")
        assert "greater_is_better" not in caplog.text


def _settings(**given):
    from citrus_hf.training.arguments import TrainerSettings

    return TrainerSettings(**{"per_device_batch_size": 4, "show_progress": False, **given})


def test_a_fine_tuning_without_validation_hands_the_recipes_settings_to_the_trainer(tmp_path, monkeypatch):
    """`train_and_evaluate` with an empty validation split: no evaluation during training, no validation metrics
    (the test set was never evaluated in its place), a metric-stepped schedule made constant, and every setting of the
    recipe on the `Trainer`'s arguments (a dropped one trained silently with transformers' default)."""
    import transformers.trainer

    from citrus_hf.training.trainer import train_and_evaluate

    # full determinism's switches are global to torch: recorded on the arguments, not run in the test process
    monkeypatch.setattr(transformers.trainer, "enable_full_determinism", lambda seed, *args, **kwargs: None)
    settings = _settings(
        max_steps=1,
        num_train_epochs=2,
        warmup_steps=3,
        weight_decay=0.05,
        seed=7,
        full_determinism=True,
        lr_scheduler_type="reduce_lr_on_plateau",
    )
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    outcome = train_and_evaluate(model, _rows(8), [], _rows(4), "classification", tmp_path / "run", settings)
    assert outcome["validation"] == {} and outcome["history"] == [] and outcome["steps"] == 1
    assert outcome["best_step"] is None
    # the test metrics, without the Trainer's timings (runtime, samples and steps per second)
    assert set(outcome["test"]) >= {"loss", "accuracy"}
    assert not [key for key in outcome["test"] if "runtime" in key or "per_second" in key]
    args = outcome["trainer"].args
    assert (args.eval_strategy, args.save_strategy, args.load_best_model_at_end) == ("no", "no", False)
    assert args.lr_scheduler_type == "constant"
    assert (args.num_train_epochs, args.warmup_steps, args.weight_decay) == (2, 3, 0.05)
    assert (args.seed, args.data_seed, args.full_determinism) == (7, 7, True)
    assert args.remove_unused_columns is False


@pytest.mark.parametrize(("patience", "steps"), [(2, 3), (None, 4)])
def test_the_best_step_is_kept_and_reported_and_early_stopping_waits_its_patience(tmp_path, patience, steps):
    """Four steps evaluated after each: the first trains at a learning rate of 0 (its warm-up), the next ones at one far
    too large for the tiny model, so the first step's validation loss (about ln 2) stays the lowest. The run keeps and
    reports that step's model (`best_step` 1, not the last step; the validation metrics are its own), records one
    evaluation per step and none for the final report, and stops after `early_stopping_patience` evaluations without
    improvement (2: at step 3), or never when the patience is None."""
    from citrus_hf.training.trainer import train_with_trainer

    settings = _settings(
        max_steps=4,
        eval_steps=1,
        learning_rate=10.0,
        warmup_steps=1,
        lr_scheduler_type="constant_with_warmup",
        metric_for_best_model="loss",
        early_stopping_patience=patience,
    )
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    outcome = train_with_trainer(model, _rows(8), _rows(4), "classification", tmp_path / "run", settings)
    history = outcome["history"]
    assert [entry["step"] for entry in history] == list(range(1, steps + 1))
    losses = [entry["eval_loss"] for entry in history]
    assert losses[0] < min(losses[1:])  # the premise: the first step is the best
    assert (outcome["best_step"], outcome["steps"]) == (1, steps)
    assert outcome["validation"]["loss"] == pytest.approx(losses[0], rel=1e-5)
    assert outcome["trainer"].args.greater_is_better is False


def test_half_precision_weights_are_refused_only_where_they_cannot_train_and_warned_of_only_where_they_train(caplog):
    """fp16 weights under fp16 mixed precision are refused on a GPU only (on the CPU the run trains, with the
    under-training warning); the warning counts the trainable parameters only (frozen bf16 weights, a frozen
    backbone, train nothing) and names the half dtype most of them have."""
    import logging as std_logging
    from types import SimpleNamespace

    from citrus_hf.training.trainer import check_trainable_dtype

    logger = std_logging.getLogger("citrus_hf")
    propagate, logger.propagate = logger.propagate, True  # transformers' loggers do not reach caplog's root
    try:
        with caplog.at_level("WARNING", logger="citrus_hf"):
            std_logging.Logger.warning_once.cache_clear()  # each case's warning afresh (it is said once)
            model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).to(torch.float16)
            check_trainable_dtype(SimpleNamespace(mixed_precision="fp16", device=torch.device("cpu")), model)
            assert "are float16" in caplog.text

            caplog.clear()
            frozen = CiTrusForSequenceClassification(tiny_config(num_labels=2))
            for parameter in frozen.citrus.parameters():
                parameter.requires_grad_(False)
            frozen.citrus.to(torch.bfloat16)
            check_trainable_dtype(SimpleNamespace(), frozen)
            assert "bfloat16" not in caplog.text

            caplog.clear()
            mixed = CiTrusForSequenceClassification(tiny_config(num_labels=2)).to(torch.bfloat16)
            mixed.classifier.to(torch.float16)  # a few float16 weights beside many bfloat16 ones
            check_trainable_dtype(SimpleNamespace(), mixed)
            assert "are bfloat16" in caplog.text and "are float16" not in caplog.text
    finally:
        logger.propagate = propagate


def _classifier(num_labels: int = 2, **config):
    return CiTrusForSequenceClassification(tiny_config(num_labels=num_labels, **config))


def _given(**columns):
    import datasets

    return datasets.Dataset.from_dict({"input_values": [[[0.0] * 200]] * 2, **columns})


def test_the_set_checks_let_through_what_the_trainer_reads_right():
    """Sets whose labels and masks reach the model as they are: a `target` column beside `label` (collated as
    `labels`), or kept with `remove_unused_columns=False`; an `attention_mask` beside a `patch_mask`; a ClassLabel
    numbering a prefix of the model's classes, or classes the model does not name; text labels a collator of the
    user's own maps; a format hiding some columns but passing every column on (`output_all_columns`); window
    bookkeeping of one window per row, or plain numbers. Each was refused by a check widened past its case."""
    from types import SimpleNamespace

    import datasets

    from citrus_hf.training.trainer import check_label_column, check_label_values, check_mask_shown, check_window_rows

    args = SimpleNamespace(remove_unused_columns=True)
    model = _classifier(3, id2label={0: "a", 1: "b", 2: "c"}, label2id={"a": 0, "b": 1, "c": 2})
    check_label_column(args, model, {"train_dataset": _given(label=[0, 1], target=[0.5, 1.0])})
    check_label_column(SimpleNamespace(remove_unused_columns=False), model, {"train_dataset": _given(target=[0, 1])})
    check_label_column(args, model, {"eval_dataset": _given(attention_mask=[[1] * 200] * 2, patch_mask=[[1] * 10] * 2)})
    for names in (["a", "b"], ["x", "y"]):
        labelled = _given(labels=[0, 1]).cast_column("labels", datasets.ClassLabel(names=names))
        check_label_values(model, {"train_dataset": labelled})
    rows = [{"input_values": [[0.0] * 200], "labels": "a"}]
    check_label_values(model, {"train_dataset": rows}, data_collator=lambda batch: batch)
    shown = _given(patch_mask=[[1] * 10] * 2, labels=[0, 1])
    check_mask_shown({"eval_dataset": shown.with_format("torch", ["input_values"], output_all_columns=True)})
    check_window_rows({"train_dataset": _given(recording_index=[[0], [1]], window_start_seconds=[[0.0], [0.0]])})
    check_window_rows({"train_dataset": _given(recording_index=[0, 1], window_start_seconds=[0.0, 2.0])})


def test_the_set_checks_see_large_string_labels_and_a_fusion_rows_hidden_masks():
    """Class names stored as `large_string` (as pyarrow and polars write text) are text labels too, and a fusion
    row's per-modality mask hidden by the format (`patch_mask_ecg`) is a hidden mask: both went by unrefused."""
    import datasets

    from citrus_hf.training.trainer import check_label_values, check_mask_shown

    named = _given(labels=["a", "b"]).cast_column("labels", datasets.Value("large_string"))
    with pytest.raises(ValueError, match="the `labels` column holds class names"):
        check_label_values(_classifier(), {"train_dataset": named})
    fusion = datasets.Dataset.from_dict({"ecg": [[[0.0] * 200]] * 2, "patch_mask_ecg": [[1] * 10] * 2})
    with pytest.raises(ValueError, match="hiding `patch_mask_ecg`"):
        check_mask_shown({"eval_dataset": fusion.with_format("torch", ["ecg"])})


def test_a_transforms_own_key_error_is_its_own_and_a_checkpoint_without_the_adapter_is_not_read(tmp_path):
    """The removed-column wrapper renames only a KeyError of a column the `Trainer` removed (a KeyError of the
    transform's own, a missing dict key, stays a KeyError); an adapter's checkpoint subfolder is read only where it
    holds the adapter's weights (else transformers' own loading goes on)."""
    from types import SimpleNamespace

    from citrus_hf.training.trainer import RemovedColumnTransform, named_adapter_checkpoint

    def transform(batch):
        return {"x": batch["settings"]}

    wrapped = RemovedColumnTransform(transform, ["signal"], "Trainer.train", "CiTrusForSequenceClassification")
    with pytest.raises(KeyError, match="settings") as raised:
        wrapped({"signal": [1]})
    assert type(raised.value) is KeyError
    (tmp_path / "mine").mkdir()
    peft_model = SimpleNamespace(active_adapter="mine")
    assert named_adapter_checkpoint(peft_model, tmp_path) is None
    (tmp_path / "mine" / "adapter_model.safetensors").write_bytes(b"")
    assert named_adapter_checkpoint(peft_model, tmp_path) == str(tmp_path / "mine")


def test_a_concatenating_heads_channel_check_reads_the_channel_axis_of_a_one_row_maps_window():
    """A row that a one-row `map(extractor)` wrote is `(1, channels, time)`: its channels are the axis before time,
    not the first (a 2-channel row of a 2-channel head was refused as 1 channel)."""
    from citrus_hf.training.trainer import check_channel_count

    model = _classifier(2, num_channels=2, channel_pooling="concat")
    check_channel_count(model, [{"input_values": [[[0.0] * 200] * 2]}])
    with pytest.raises(ValueError, match="row 0"):
        check_channel_count(model, [{"input_values": [[[0.0] * 200] * 3]}])


def _sampling_args(strategy: str, **given):
    from types import SimpleNamespace

    settings = dict(
        train_sampling_strategy=strategy, length_column_name="length", data_seed=None, seed=3, train_batch_size=2,
        gradient_accumulation_steps=3, world_size=1, process_index=0, dataloader_drop_last=False,
    )  # fmt: skip
    return SimpleNamespace(**{**settings, **given})


def test_the_length_aware_samplers_batch_the_optimizer_step_and_draw_each_epoch_afresh():
    """Rows measured by their patches of signal (a row read one by one: the mask's sum, not its length); the
    group-by-length sampler groups an optimizer step's rows (batch x accumulation, as transformers' own) and draws
    each epoch's order from the seed plus the epoch (every epoch alike before); batch rebalancing shares out the
    rows of a whole optimizer step."""
    from citrus_hf.training.trainer import _signal_patches, length_grouped_sampler

    rows = [{"patch_mask": [1] * (1 + index % 10) + [0] * (9 - index % 10)} for index in range(40)]
    assert _signal_patches(rows)[:3] == [1, 2, 3]
    model = _classifier()
    sampler = length_grouped_sampler(_sampling_args("group_by_length"), model, rows)
    assert sampler.batch_size == 6
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    sampler.set_epoch(0)
    assert list(sampler) == first != second
    rebalanced = length_grouped_sampler(_sampling_args("batch_rebalance"), model, rows)
    assert rebalanced.effective_batch_size == 6


def test_a_prediction_joins_the_inputs_even_with_batch_eval_metrics():
    """`Trainer.predict` joins the inputs of every batch even under `batch_eval_metrics` (an evaluation hands them
    over one by one): batches of different durations are refused before its loop."""
    from types import SimpleNamespace

    from citrus_hf.training.trainer import check_inputs_for_metrics

    args = SimpleNamespace(include_for_metrics=["inputs"], eval_do_concat_batches=True, batch_eval_metrics=True)
    check_inputs_for_metrics(args, lambda: {None: [5, 10]})
    with pytest.raises(ValueError, match="padded to different durations"):
        check_inputs_for_metrics(args, lambda: {None: [5, 10]}, prediction=True)


def test_a_fine_tuning_hands_its_class_weights_label_names_and_precision_to_the_trainer(tmp_path, monkeypatch):
    """`train_with_trainer`'s class weights become the `Trainer`'s loss (dropped, the classes trained unweighted
    while the run recorded them), its `label_names` reach the arguments, and its precision wins over the launch's
    (`--mixed-precision no` under a bf16 launch trained in bf16: `TrainingArguments` reads the launch's when bf16 and
    fp16 are both off)."""
    from citrus_hf.training.launch import LAUNCH_PRECISION
    from citrus_hf.training.trainer import train_with_trainer

    monkeypatch.setenv(LAUNCH_PRECISION, "bf16")
    settings = _settings(max_steps=1, mixed_precision="no")
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    outcome = train_with_trainer(
        model, _rows(4), None, "classification", tmp_path / "run", settings, label_names=["labels", "sample_weight"],
        class_weights=[1.0, 3.0],
    )  # fmt: skip
    trainer = outcome["trainer"]
    assert trainer.compute_loss_func is not None and trainer.args.label_names == ["labels", "sample_weight"]
    assert trainer.args.mixed_precision == "no" and not trainer.args.bf16
