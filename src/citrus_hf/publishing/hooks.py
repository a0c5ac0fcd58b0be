"""The package's publishing plugged into transformers' own publishing entry points, so that the habits of a
transformers user publish what `citrus push` publishes:

- `model.push_to_hub(...)` and `model.save_pretrained(folder, push_to_hub=True)` of every CiTrus-family model go
  through `push.push_to_hub` (the CiTrus card, the run's feature extractor, the remote and pipeline code). The model
  files hold an empty hook (`_CiTrusFamilyMixin._hub_publisher`): they are also the checkpoints' remote code, which
  cannot import this package. Their `save_pretrained` saves the pipeline code the config names beside the model
  code through another such hook (`_pipeline_code_saver`).
- `Trainer.push_to_hub` writes its card in `Trainer.create_model_card`: for a CiTrus model the CiTrus card replaces
  transformers' draft, and the model's feature extractor (processor) joins the folder when the Trainer had none.
- peft's own `PeftModel.push_to_hub` of a LoRA CiTrus adapter uploads the adapter's `citrus_task_config.json` and
  deletes the other kinds' files from the repository (a full model's), as `push_adapter_to_hub` does.
- `Trainer.save_model` of a LoRA CiTrus model writes the adapter's `citrus_task_config.json` beside peft's files,
  as `save_adapter` does, so that the folder loads with its classes, channels and input contract.
- `push_to_hub` of the feature extractor and of the fusion processor (transformers' own), and the `Trainer`'s
  `push_to_hub` / `init_hf_repo` (`TrainingArguments(push_to_hub=True)`) of a CiTrus model, fail with the one-line
  error the models' publishing gives when the Hub cannot be reached.

The `Trainer` of a CiTrus model also gets the package's checks where transformers' defaults go wrong for it
(`register_trainer_checks`): an error `metric_for_best_model` is minimised, the label smoother's labels are checked
as the model checks its own, `group_by_length` groups windows by duration, a fusion model's rows get its collator,
and a `processing_class` that aligns to another input contract than the model's is refused when the `Trainer` is
built, not by the pipeline after training. A feature extractor saved into a folder that holds a CiTrus model of
another input contract is refused with the same check (`register_extractor_contract_check`).

The package root registers each `register_*` function with `_auto.add_registration`, to run once the transformers
module it patches has been imported; nothing below this layer imports it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from .._dependencies import private_attribute


def _push_with_citrus_card(model, repo_id: str, **push_kwargs):
    """`push_to_hub` of every CiTrus-family model while the package is installed: `citrus push`'s publishing path."""
    from .push import push_to_hub

    return push_to_hub(model, repo_id, **push_kwargs)


def _save_pipeline_code(folder) -> None:
    from .push import save_pipeline_code

    save_pipeline_code(folder)


def register_model_publisher() -> None:
    """Every CiTrus-family model's `push_to_hub` (and `save_pretrained(push_to_hub=True)`) publishes with the CiTrus
    card, and its `save_pretrained` saves the pipeline code its config names beside the model code."""
    from ..modeling_citrus import _CiTrusFamilyMixin

    _CiTrusFamilyMixin._hub_publisher = _push_with_citrus_card
    _CiTrusFamilyMixin._pipeline_code_saver = _save_pipeline_code


def _unwrapped(model, accelerator=None):
    """`model` out of accelerate's wrappers (DDP, ...), as the `Trainer` holds it."""
    return accelerator.unwrap_model(model) if accelerator is not None and model is not None else model


def _citrus_model(model, accelerator=None):
    """The CiTrus-family model a `Trainer` trains (unwrapped from accelerate's wrappers and from peft's), or None."""
    from ..modeling_citrus import _CiTrusFamilyMixin

    model = _unwrapped(model, accelerator)
    get_base_model = getattr(model, "get_base_model", None)  # a peft model
    if callable(get_base_model) and not isinstance(model, _CiTrusFamilyMixin):
        model = get_base_model()
    return model if isinstance(model, _CiTrusFamilyMixin) else None


def _trainer_model(trainer):
    """`_citrus_model` of `trainer.model`."""
    return _citrus_model(trainer.model, getattr(trainer, "accelerator", None))


def _trainer_peft_model(trainer):
    """The peft model a `Trainer` trains (unwrapped from accelerate's wrappers), or None for a plain model."""
    from ..training.trainer import is_peft_model

    model = _unwrapped(trainer.model, getattr(trainer, "accelerator", None))
    return model if is_peft_model(model) else None


def _save_default_preprocessor(trainer, model) -> None:
    """Save the feature extractor (a fusion model's processor) matching `model`'s input contract
    (`push.default_preprocessor`) in the Trainer's output folder when the Trainer was given none and none is saved
    there: `Trainer.push_to_hub` uploads that folder, and the card's usage code loads it."""
    from pathlib import Path

    from ..feature_extraction_citrus import CiTrusFeatureExtractor
    from ..processing_citrus_fusion import CiTrusFusionProcessor
    from .push import _saved_preprocessor, default_preprocessor

    output_dir = Path(trainer.args.output_dir)
    if isinstance(trainer.processing_class, (CiTrusFeatureExtractor, CiTrusFusionProcessor)):
        return
    preprocessor = default_preprocessor(model) if _saved_preprocessor(model, output_dir) is None else None
    if preprocessor is not None:
        preprocessor.save_pretrained(output_dir)


def register_trainer_cards() -> None:
    """The `Trainer` writes its model card in `create_model_card` (run by `Trainer.push_to_hub`); for a CiTrus model,
    the CiTrus card replaces its draft, with the Trainer's arguments (license, tags, datasets, base model), and the
    code of the pipeline the saved config names and the model's feature extractor (when the Trainer had no
    `processing_class`) join the folder. `Trainer.push_to_hub` and `init_hf_repo` fail in one line when the Hub
    cannot be reached. Idempotent."""
    from transformers.trainer import Trainer

    _trainer_push_replaces_the_other_kind(Trainer)
    _trainer_hub_errors(Trainer)
    _trainer_push_remembers_its_branch(Trainer)
    _trainer_repo_has_its_branch(Trainer)
    draft_card = Trainer.create_model_card
    if getattr(draft_card, "_citrus_card", False):
        return

    @functools.wraps(draft_card)
    def create_model_card(self, *args, **kwargs):
        draft_card(self, *args, **kwargs)
        model = _trainer_model(self)
        if model is not None and self.is_world_process_zero():
            from .cards import write_trainer_card
            from .push import _card_branch, save_pipeline_code

            _save_default_preprocessor(self, model)
            # the draft's options by name, as the writers take them: the adapter's card takes some of them as keywords
            # only, so `create_model_card(None, "mit", "har")` (transformers' order) gave it apache-2.0 and no tag
            # (the first is the trainer itself; a draft wrapped by another library as `*args, **kwargs` names none)
            named = [
                parameter.name
                for parameter in list(inspect.signature(draft_card).parameters.values())[1:]
                if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
            ]
            options = {**dict(zip(named, args)), **kwargs}
            # the branch the upload goes to, whose checkpoint the card's code loads: transformers does not pass
            # `push_to_hub(revision=)` on to `create_model_card`
            revision = getattr(self, "_citrus_push_revision", None) or self.args.hub_revision
            branch = _card_branch(revision, create_pr=False)
            if getattr(self, "_citrus_pushing", False) and branch is not None:
                from .push import create_push_branch

                # the repository exists by now (`init_hf_repo`), the upload to the branch comes next
                token = getattr(self, "_citrus_push_token", None) or self.args.hub_token
                create_push_branch(self.hub_model_id, branch, token)
            peft_model = _trainer_peft_model(self)
            if peft_model is not None:  # the folder holds an adapter: its card says so and how to load it
                from .cards import write_trainer_adapter_card

                write_trainer_adapter_card(self, peft_model, revision=branch, **options)
            else:
                write_trainer_card(self, model, revision=branch, **options)
            # `Trainer.push_to_hub` uploads the output folder next: it carries the pipeline code, as `citrus push` does
            save_pipeline_code(self.args.output_dir)

    create_model_card._citrus_card = True
    Trainer.create_model_card = create_model_card


def register_trainer_adapter_config() -> None:
    """`Trainer.save_model` of a LoRA CiTrus model (peft's `PeftModel` over a task model) also writes the adapter's
    `citrus_task_config.json`, as `save_adapter` does: peft saves the adapter and the base's name only, so the folder
    the Trainer wrote (its output folder, or a checkpoint) lost the class names, the channel layout and the input
    contract, and `pipeline(model=folder)` rebuilt the base's own 1-channel, `LABEL_0...` head. Idempotent."""
    from transformers.trainer import Trainer

    save_model = Trainer.save_model
    if getattr(save_model, "_citrus_adapter_config", False):
        return

    @functools.wraps(save_model)
    def save_model_with_task_config(self, output_dir=None, *args, **kwargs):
        from ..vocabulary_citrus import FUSION_MODEL_TYPE

        accelerator = getattr(self, "accelerator", None)
        peft_model = accelerator.unwrap_model(self.model) if accelerator is not None else self.model
        task_model = _citrus_model(peft_model)
        is_adapter = task_model is not None and peft_model is not task_model  # peft's wrapper around it
        if is_adapter:
            from ..training.trainer import unloadable_adapter_problem

            # before peft writes it: a head pruned while a Trainer that saved nothing trained it (its `_orig` /
            # `_mask` tensors would be saved, and peft's loader failed on the missing weight)
            if problem := unloadable_adapter_problem(peft_model):
                raise ValueError(problem)
        result = save_model(self, output_dir, *args, **kwargs)
        # a single-modality task model: a fusion model's config (its encoders' contracts) is no CiTrusConfig, and
        # the task config failed every checkpoint the Trainer saved of the README's fusion LoRA
        single = getattr(task_model, "head_name", None) and task_model.config.model_type != FUSION_MODEL_TYPE
        if is_adapter and single and self.is_world_process_zero():
            from ..training.lora import save_trainer_adapters

            # the Trainer's checkpoints (`_internal_call`) are not the folder a user loads: no warning for them
            announce = not kwargs.get("_internal_call", False)
            save_trainer_adapters(peft_model, output_dir or self.args.output_dir, announce=announce)
        return result

    save_model_with_task_config._citrus_adapter_config = True
    Trainer.save_model = save_model_with_task_config


def _check_processing_class(model, processing_class) -> None:
    """Refuse a `processing_class` that aligns recordings to another input contract than `model`'s, as the pipeline
    refuses it: the rows would be aligned one way while the saved config says another, and the saved folder would
    be refused by `pipeline(model=output_dir)` after the whole run. A preprocessor of the other model family (one
    modality's extractor for a fusion model, a fusion processor for a single-modality model) is refused too: the
    `Trainer` saves it with the model, and the folder then loads the wrong preprocessor (`AutoProcessor` gave a
    fusion checkpoint one modality's extractor; the pipeline reported a single model's extractor "not found")."""
    from ..feature_extraction_citrus import CiTrusFeatureExtractor
    from ..modeling_citrus import CiTrusPreTrainedModel
    from ..processing_citrus_fusion import CiTrusFusionProcessor

    fusion = not isinstance(model, CiTrusPreTrainedModel)  # the other branch of the CiTrus family
    right, wrong = (
        (CiTrusFusionProcessor, CiTrusFeatureExtractor) if fusion else (CiTrusFeatureExtractor, CiTrusFusionProcessor)
    )
    if isinstance(processing_class, wrong):
        given = (
            "aligns the recordings of one modality"
            if fusion
            else f"is a fusion model's processor (modalities {processing_class.modalities})"
        )
        takes = f"a fusion model of the modalities {model.config.modalities}" if fusion else "a single-modality model"
        raise ValueError(
            f"Trainer(processing_class=...): {type(processing_class).__name__} {given}, but {type(model).__name__} is "
            f"{takes}; pass processing_class={right.__name__}.from_config(model.config) (or the one saved with the "
            "model). Otherwise the Trainer saves it with the model, and the saved folder loads a preprocessor the "
            "model cannot take."
        )
    if isinstance(processing_class, CiTrusFusionProcessor):
        processing_class.check_model(model)
    elif isinstance(processing_class, CiTrusFeatureExtractor):
        from ..inference.pipelines import check_contract

        try:
            check_contract(model, processing_class)  # the pipeline's own check, on the pair the Trainer was given
        except ValueError as error:
            raise ValueError(
                f"Trainer(processing_class=...): {error} Otherwise the model trains on windows of another contract "
                "than its saved config states, and `pipeline(model=output_dir)` refuses the saved folder."
            ) from None


def _loop_call(loop: inspect.BoundArguments) -> str:
    """The `Trainer` method an evaluation loop runs for, named in its errors."""
    return "Trainer.predict" if loop.arguments["description"] == "Prediction" else "Trainer.evaluate"


def register_trainer_checks() -> None:
    """The package's checks in every `Trainer` of a CiTrus-family model (idempotent):

    - `TrainingArguments` records whether `greater_is_better` was given, and the `Trainer` minimises an error
      `metric_for_best_model` ("mae", "rmse", ...) and maximises any other (a correlation of a target named "...loss")
      when it was not, reading its evaluation sets' and targets' names as such (`training.trainer.set_metric_direction`;
      also for a non-CiTrus model scored by `compute_metrics_fn`);
    - trainable bf16 / fp16 parameters (a checkpoint loaded in half precision) get a warning naming the fix, as AdamW
      rounds most of their updates away (`training.trainer.check_trainable_dtype`);
    - a pruned (not yet `prune.remove`d) or quantized model, whose checkpoints `save_pretrained` refuses, and a peft
      model whose adapter holds a pruned module (the head it saves whole), are refused when the Trainer saves
      checkpoints, before it trains (`training.trainer.check_checkpoints_savable`);
    - a `processing_class` (feature extractor or fusion processor) is checked against the model's input contract,
      and one of the other model family (an extractor for a fusion model, a fusion processor for a single one) is
      refused;
    - a set with a `with_transform` / `set_transform` transform that reads a column the Trainer removes
      (`remove_unused_columns=True`) is refused naming `remove_unused_columns=False` as the Trainer reads it, not
      tried before (`training.trainer.name_removed_columns`);
    - a task model's training or evaluation set with its labels in a `target` (or `target_values`, `y`, ...) column
      (no `labels`), or its signal in PatchTST's `past_values` column, is refused with the rename, and so is a set
      given to `evaluate` or `predict` (`training.trainer.check_label_column`); so is a label column of class names
      (text) and a `ClassLabel` numbering the model's classes in another order (`training.trainer.check_label_values`);
      a set whose rows hold several windows each (`alignment="window"` one recording at a time) is refused with the
      map that gives each window its row (`training.trainer.check_window_rows`); and a training set of another channel count than a head
      that concatenates its channels, at once (`training.trainer.check_channel_count`);
    - classification metrics (`compute_metrics_fn`) for a task model that trains as a regression (`num_labels=1`
      without a problem type), regression metrics for a classifier and multi-label metrics for a single-label one are
      refused, when the Trainer is built and as each evaluation starts (`training.trainer.check_metrics_task`);
    - a fusion model's rows are batched by `CiTrusFusionDataCollator` where the Trainer picked one of transformers'
      default collators (`processing_citrus_fusion.trainer_data_collator`);
    - with `label_smoothing_factor`, the labels the smoother takes out of the batch get the model's checks and reach
      it as int64 class indices (`training.trainer.check_smoothed_labels`);
    - every training step's loss (the model's, the label smoother's or a `compute_loss_func`'s) reaches a
      `training.callbacks.NonFiniteLossCallback` among the Trainer's callbacks, which stops the run on a NaN one;
    - `train_sampling_strategy="group_by_length"` / `"batch_rebalance"` group windows by duration
      (`training.trainer.length_grouped_sampler`; a fusion row by its modalities' patches together), and evaluation
      keeps the rows' order
      (`training.trainer.evaluation_sampler`);
    - every evaluation starts a new collection of `compute_metrics_fn`'s batches (`batch_eval_metrics=True`);
    - batches of an iterable evaluation set (or one whose rows a transform makes) padded to different durations,
      which transformers cannot join, are named with the fix as the loop joins them
      (`training.trainer.unjoined_batches_error`);
    - a model of which no parameter is trainable (an adapter loaded for inference) is refused as the optimizer is
      built, naming `is_trainable=True` (`training.lora.check_something_trains`);
    - with `dataloader_persistent_workers`, a set given to `evaluate` is the one evaluated (transformers handed back
      the dataloader of the first set it evaluated);
    - a learning-rate schedule stepped by `metric_for_best_model` (`reduce_lr_on_plateau`, `greedy`) follows a metric
      that grows as the model improves in mode "max" unless a mode is given (`training.trainer.metric_schedule_kwargs`);
    - with `dataloader_drop_last`, evaluation and prediction keep every row (only training batches are dropped);
    - `load_best_model_at_end` of a peft model whose active adapter is not "default" loads it from the subfolder
      peft saved it in (`training.trainer.named_adapter_checkpoint`; transformers reads the checkpoint's root);
    - the first evaluation of a task model warns when `label_names` lack `labels` (`training.trainer.warn_label_names`:
      it would find no labels in the batch, and report no loss and no metrics).
    """
    from transformers.trainer import Trainer
    from transformers.training_args import TrainingArguments
    from transformers.utils.logging import get_logger

    from ..training.trainer import GREATER_IS_BETTER_GIVEN

    post_init = TrainingArguments.__post_init__
    if not getattr(post_init, "_citrus_checks", False):

        @functools.wraps(post_init)
        def __post_init__(self, *args, **kwargs):
            # `__post_init__` fills in greater_is_better: only before it can one tell whether the user gave it
            setattr(self, GREATER_IS_BETTER_GIVEN, self.greater_is_better is not None)
            post_init(self, *args, **kwargs)

        __post_init__._citrus_checks = True
        TrainingArguments.__post_init__ = __post_init__

    init = Trainer.__init__
    if getattr(init, "_citrus_checks", False):
        return

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        model = _trainer_model(self)
        if model is not None or getattr(self.compute_metrics, "citrus_task", None) is not None:
            from ..training.trainer import set_metric_direction

            # the names transformers puts in the metrics' names: the evaluation sets' (`eval_<set>_<metric>`) and,
            # from `compute_metrics_fn`, the targets' (`mae_<target>`)
            eval_sets = self.eval_dataset if isinstance(self.eval_dataset, dict) else {}
            set_metric_direction(self.args, eval_sets, getattr(self.compute_metrics, "citrus_target_names", ()))
        if model is not None:
            from ..processing_citrus_fusion import trainer_data_collator
            from ..training.trainer import (
                check_channel_count,
                check_checkpoints_savable,
                check_given_sets,
                check_metrics_task,
                check_trainable_dtype,
            )

            # the Trainer's own model: a peft model's trainable parameters are its adapters and saved modules
            check_trainable_dtype(self.args, _unwrapped(self.model, getattr(self, "accelerator", None)))
            # (a peft model saves its adapter, not these weights: its LoRA matrices and the head it holds whole)
            check_checkpoints_savable(self.args, _trainer_peft_model(self) or model)
            _check_processing_class(model, self.processing_class)
            check_given_sets(
                self.args,
                model,
                {"train_dataset": self.train_dataset, "eval_dataset": self.eval_dataset},
                data_collator=self.data_collator,
            )
            check_channel_count(model, self.train_dataset)
            check_metrics_task(model, self.compute_metrics, self.train_dataset)
            # transformers' default collators cannot batch a fusion model's rows (one array per modality)
            self.data_collator = trainer_data_collator(model, self.data_collator)

    compute_loss = Trainer.compute_loss

    @functools.wraps(compute_loss)
    def checked_compute_loss(self, model, inputs, *args, **kwargs):
        # the label smoother pops the labels before the forward (not when a `compute_loss_func` takes them)
        if self.label_smoother is not None and getattr(self, "compute_loss_func", None) is None and "labels" in inputs:
            citrus = _citrus_model(model, self.accelerator)
            if citrus is not None:
                from ..training.trainer import check_smoothed_labels

                # a copy: the caller's batch keeps its labels as they came
                inputs = {**inputs, "labels": check_smoothed_labels(citrus, inputs["labels"])}
        return compute_loss(self, model, inputs, *args, **kwargs)

    training_step = Trainer.training_step

    @functools.wraps(training_step)
    def watched_training_step(self, *args, **kwargs):
        # every micro-batch's loss, before the optimizer step it feeds: the model's own, the label smoother's or a
        # `compute_loss_func`'s (for those two the Trainer takes the labels out of the batch, and the model returns no
        # loss for `NonFiniteLossCallback`'s forward hook to see)
        from ..training.callbacks import NonFiniteLossCallback

        loss = training_step(self, *args, **kwargs)
        for callback in self.callback_handler.callbacks:
            if isinstance(callback, NonFiniteLossCallback):
                callback.watch(loss)
        return loss

    train_sampler = Trainer._get_train_sampler

    @functools.wraps(train_sampler)
    def _get_train_sampler(self, *args, **kwargs):
        dataset = args[0] if args else kwargs.get("train_dataset")
        model = _trainer_model(self)
        if model is not None:
            from ..training.trainer import length_grouped_sampler

            sampler = length_grouped_sampler(self.args, model, dataset if dataset is not None else self.train_dataset)
            if sampler is not None:
                return sampler
        return train_sampler(self, *args, **kwargs)

    eval_sampler = Trainer._get_eval_sampler

    @functools.wraps(eval_sampler)
    def _get_eval_sampler(self, eval_dataset, *args, **kwargs):
        from transformers.trainer_utils import has_length

        if _trainer_model(self) is not None and has_length(eval_dataset):
            from ..training.trainer import evaluation_sampler

            sampler = evaluation_sampler(self.args, eval_dataset)
            if sampler is not False:
                return sampler
        return eval_sampler(self, eval_dataset, *args, **kwargs)

    def checking_given_set(method, argument: str):
        """`Trainer.evaluate` / `Trainer.predict` checking the set given to them as those given to the Trainer are
        checked (`check_given_sets`). Here, not in the evaluation loop: the loop's dataloader holds the
        set with its unused columns already removed."""

        @functools.wraps(method)
        def checked(self, *args, **kwargs):
            dataset = args[0] if args else kwargs.get(argument)
            model = _trainer_model(self)
            if model is not None and dataset is not None and not isinstance(dataset, str):
                from ..training.trainer import check_given_sets

                check_given_sets(
                    self.args,
                    model,
                    {argument: dataset},
                    call=f"Trainer.{method.__name__}",
                    data_collator=self.data_collator,
                )
            return method(self, *args, **kwargs)

        return checked

    evaluate = checking_given_set(Trainer.evaluate, "eval_dataset")
    predict = checking_given_set(Trainer.predict, "test_dataset")

    evaluation_loop = Trainer.evaluation_loop
    loop_parameters = inspect.signature(evaluation_loop)

    @functools.wraps(evaluation_loop)
    def fresh_evaluation_loop(self, *args, **kwargs):
        # `compute_metrics_fn` with `batch_eval_metrics=True` collects the batches of an evaluation until its last
        # one: an evaluation that stopped part-way (a refused row, an interrupt) left its batches to the next
        restart = getattr(self.compute_metrics, "start_evaluation", None)
        if callable(restart):
            restart()
        loop = loop_parameters.bind(self, *args, **kwargs)
        loop.apply_defaults()
        dataset = getattr(loop.arguments["dataloader"], "dataset", None)
        model = _trainer_model(self)
        if model is not None:
            from ..training.trainer import (
                check_inputs_for_metrics,
                check_metrics_task,
                check_outputs_join,
                joined_durations,
                warn_label_names,
            )

            check_metrics_task(model, self.compute_metrics)
            # what the loop gathers, as it decides it: predictions unless only the loss is asked for; an evaluation
            # with `batch_eval_metrics` hands each batch's over without keeping it (a prediction keeps them)
            prediction = loop.arguments["description"] == "Prediction"
            # both checks guard the same join: the set (a Subset or a list is read row by row) is measured once,
            # where the first of them needs it
            durations = functools.cache(functools.partial(joined_durations, self.args, dataset))
            check_inputs_for_metrics(self.args, durations, prediction)
            loss_only = loop.arguments["prediction_loss_only"]
            if loss_only is None:
                loss_only = self.args.prediction_loss_only
            ignore_keys = loop.arguments["ignore_keys"]
            if ignore_keys is None:  # as `Trainer.prediction_step` reads them
                ignore_keys = getattr(model.config, "keys_to_ignore_at_inference", [])
            gathered = not loss_only and (prediction or not self.args.batch_eval_metrics)
            check_outputs_join(
                self.args,
                model,
                durations,
                call=_loop_call(loop),
                gathered=gathered and self.preprocess_logits_for_metrics is None,
                ignore_keys=ignore_keys,
            )
            if not getattr(self, "_citrus_label_names_checked", False):  # once per Trainer, not every evaluation
                self._citrus_label_names_checked = True
                warn_label_names(self.label_names, model)
        try:
            return evaluation_loop(self, *args, **kwargs)
        except RuntimeError as error:
            # a set without a length (an iterable one), or whose rows code of the user's makes (a transform, a
            # torch dataset's `__getitem__`), is not measured by the checks above: its batches are known only as
            # the loop joins them
            from ..training.trainer import unjoined_batches_error

            refusal = None if model is None else unjoined_batches_error(self.args, error, _loop_call(loop))
            if refusal is None:
                raise
            raise refusal from None

    get_eval_dataloader = Trainer.get_eval_dataloader

    @functools.wraps(get_eval_dataloader)
    def given_set_dataloader(self, eval_dataset=None, *args, **kwargs):
        # With persistent workers transformers keeps one dataloader under "eval" for every set given as an object:
        # `evaluate(test_set)` ran the Trainer's own set (or left the test set to every later evaluation). A set given
        # to one call gets a dataloader of its own, uncached; the Trainer's own sets keep theirs.
        given = eval_dataset is not None and not isinstance(eval_dataset, str) and eval_dataset is not self.eval_dataset
        if given and self.args.dataloader_persistent_workers and _trainer_model(self) is not None:
            return self._get_dataloader(
                dataset=eval_dataset,
                description="Evaluation",
                batch_size=self.args.eval_batch_size,
                sampler_fn=self._get_eval_sampler,
            )
        return get_eval_dataloader(self, eval_dataset, *args, **kwargs)

    # the hook that names a transform's read of a column the Trainer removes (the one place the Trainer removes a
    # `datasets.Dataset`'s columns); without it the transform stops with transformers' own bare KeyError
    remove_unused_columns = private_attribute(
        Trainer,
        "_remove_unused_columns",
        library="transformers",
        owner_name="Trainer",
        checked="names the column a set's transform reads that the Trainer removed",
        logger=get_logger(__name__),
    )

    def naming_removed_columns(self, dataset, *args, **kwargs):
        kept = remove_unused_columns(self, dataset, *args, **kwargs)
        model = _trainer_model(self)
        if model is None:
            return kept
        from ..training.trainer import name_removed_columns

        description = args[0] if args else kwargs.get("description")
        return name_removed_columns(model, dataset, kept, description)

    get_dataloader = Trainer._get_dataloader
    dataloader_parameters = inspect.signature(get_dataloader)

    @functools.wraps(get_dataloader)
    def evaluation_keeps_every_row(self, *args, **kwargs):
        # `dataloader_drop_last` (which the model's BatchNorm refusal advises for a training batch of one window) is
        # for training: transformers dropped the last partial batch of every evaluation and prediction too, so
        # `predict` of 10 rows in batches of 4 returned 8 predictions and `evaluate` scored 8 rows, without a word
        call = dataloader_parameters.bind(self, *args, **kwargs)
        call.apply_defaults()
        if call.arguments["is_training"] or not self.args.dataloader_drop_last or _trainer_model(self) is None:
            return get_dataloader(self, *args, **kwargs)
        self.args.dataloader_drop_last = False
        try:
            return get_dataloader(self, *args, **kwargs)
        finally:
            self.args.dataloader_drop_last = True

    load_best_model = Trainer._load_best_model

    @functools.wraps(load_best_model)
    def load_best_named_adapter(self, *args, **kwargs):
        # peft saves an adapter not named "default" in a subfolder, where transformers does not look (DeepSpeed and
        # FSDP load their own checkpoints)
        peft_model = _trainer_peft_model(self) if _trainer_model(self) is not None else None
        if peft_model is not None and not (self.is_deepspeed_enabled or self.is_fsdp_enabled):
            from ..training.trainer import named_adapter_checkpoint

            folder = named_adapter_checkpoint(peft_model, self.state.best_model_checkpoint)
            if folder is not None:
                peft_model.load_adapter(folder, peft_model.active_adapter)
                return None
        return load_best_model(self, *args, **kwargs)

    create_optimizer = Trainer.create_optimizer

    @functools.wraps(create_optimizer)
    def checked_create_optimizer(self, *args, **kwargs):
        # only a training builds the optimizer: a frozen model evaluates and predicts
        if _trainer_model(self) is not None:
            from ..training.lora import check_something_trains

            check_something_trains(_unwrapped(self.model, getattr(self, "accelerator", None)))
        return create_optimizer(self, *args, **kwargs)

    create_scheduler = Trainer.create_scheduler

    @functools.wraps(create_scheduler)
    def scheduler_following_the_metric(self, *args, **kwargs):
        # a schedule stepped by a metric that grows as the model improves is built to follow it ("max"; transformers
        # builds it in "min", and cut the learning rate at each improvement); the arguments keep what was given
        if self.lr_scheduler is None and _trainer_model(self) is not None:
            from ..training.trainer import metric_schedule_kwargs

            following = metric_schedule_kwargs(self.args)
            if following is not None:
                given = self.args.lr_scheduler_kwargs
                self.args.lr_scheduler_kwargs = following
                try:
                    return create_scheduler(self, *args, **kwargs)
                finally:
                    self.args.lr_scheduler_kwargs = given
        return create_scheduler(self, *args, **kwargs)

    __init__._citrus_checks = True
    Trainer.__init__ = __init__
    Trainer.create_scheduler = scheduler_following_the_metric
    Trainer.create_optimizer = checked_create_optimizer
    Trainer._load_best_model = load_best_named_adapter
    Trainer.get_eval_dataloader = given_set_dataloader
    Trainer._get_dataloader = evaluation_keeps_every_row
    if remove_unused_columns is not None:
        Trainer._remove_unused_columns = functools.wraps(remove_unused_columns)(naming_removed_columns)
    Trainer.compute_loss = checked_compute_loss
    Trainer.training_step = watched_training_step
    Trainer._get_train_sampler = _get_train_sampler
    Trainer._get_eval_sampler = _get_eval_sampler
    Trainer.evaluation_loop = fresh_evaluation_loop
    Trainer.evaluate = evaluate
    Trainer.predict = predict


def _with_hub_errors(original, repo_id_of, applies=lambda self: True):
    """`original` (a `push_to_hub`-like method) raising the one-line errors the models' publishing gives instead of
    the HTTP client's exception (`push.hub_failures_in_one_line`): the Hub's own words where it answered and refused (a
    404, a 403: "Check the network connection" sent the user after the wrong problem), `push.unreachable_hub_error`
    where it did not answer. `repo_id_of(self, args, kwargs)` names the repository in the message; `applies(self)`
    limits the treatment to the package's objects."""

    @functools.wraps(original)
    def method(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        except Exception as error:
            from .push import hub_failures_in_one_line, is_network_error

            if not is_network_error(error) or not applies(self):
                raise
            from huggingface_hub import constants

            repo_id = repo_id_of(self, args, kwargs)
            with hub_failures_in_one_line(
                f"Could not publish {repo_id} to {constants.ENDPOINT}", repo_id, constants.ENDPOINT
            ):
                raise

    method._citrus_hub_errors = True
    return method


def _one_line_hub_errors(owner: type) -> None:
    """`owner.push_to_hub` (transformers' own, for a feature extractor or processor) with one-line Hub errors
    (idempotent)."""
    if getattr(owner.push_to_hub, "_citrus_hub_errors", False):
        return
    owner.push_to_hub = _with_hub_errors(
        owner.push_to_hub, lambda self, args, kwargs: args[0] if args else kwargs.get("repo_id")
    )


def _trainer_repo_id(trainer, args, kwargs) -> str:
    """The repository a `Trainer` publishes to: the one it created, or the one `init_hf_repo` creates from its
    arguments (`hub_model_id`, else the output folder's name)."""
    from pathlib import Path

    return (
        getattr(trainer, "hub_model_id", None)
        or trainer.args.hub_model_id
        or Path(trainer.args.output_dir).absolute().name
    )


def _after_push(owner: type, then: Callable[[Any, Any, dict[str, Any]], Any]) -> None:
    """`owner.push_to_hub` then runs `then(instance, what push_to_hub returned, its bound arguments by name)` and
    returns what `then` returned, or, where that is None, what push_to_hub returned. Idempotent: a class already
    wrapped is left as it is."""
    original = owner.push_to_hub
    if getattr(original, "_citrus_replaces_kind", False):
        return
    signature = inspect.signature(original)

    @functools.wraps(original)
    def push_to_hub(self, *args, **kwargs):
        pushed = original(self, *args, **kwargs)
        replacement = then(self, pushed, signature.bind(self, *args, **kwargs).arguments)
        return pushed if replacement is None else replacement

    push_to_hub._citrus_replaces_kind = True  # (`functools.wraps` passes it on to a wrapper of this one)
    owner.push_to_hub = push_to_hub


def _trainer_push_remembers_its_branch(trainer_class: type) -> None:
    """`Trainer.push_to_hub(revision=...)` keeps the branch it uploads to (else `hub_revision`) and its token on the
    trainer while it runs (`_citrus_push_revision`, `_citrus_pushing`), for `create_model_card`, which runs between
    the repository's creation and the upload: transformers passes the branch only to the upload, so the card's usage
    code loaded the default branch's checkpoint, and a branch the repository did not have failed the upload (the
    Trainer creates none, where `model.push_to_hub(revision=)` does). Idempotent."""
    original = trainer_class.push_to_hub
    if getattr(original, "_citrus_remembers_branch", False):
        return
    signature = inspect.signature(original)

    @functools.wraps(original)
    def push_to_hub(self, *args, **kwargs):
        given = signature.bind(self, *args, **kwargs).arguments
        self._citrus_push_revision = given.get("revision") or self.args.hub_revision
        self._citrus_push_token = given.get("token")
        self._citrus_pushing = True
        try:
            return original(self, *args, **kwargs)
        finally:
            self._citrus_push_revision, self._citrus_push_token, self._citrus_pushing = None, None, False

    push_to_hub._citrus_remembers_branch = True
    trainer_class.push_to_hub = push_to_hub


def _trainer_repo_has_its_branch(trainer_class: type) -> None:
    """`Trainer.init_hf_repo` (run by `Trainer(...)` with `TrainingArguments(push_to_hub=True)`) of a CiTrus-family
    model also creates the branch `hub_revision` from the default branch where the repository has none: the pushes
    during training (`hub_strategy` "every_save", "checkpoint", "all_checkpoints") upload to it in a background
    thread whose failure transformers never reports, so a branch the repository lacked lost every checkpoint push
    while `trainer.train()` ended as if they had been published. `Trainer.push_to_hub` creates its own branch
    (`create_model_card`). Idempotent."""
    original = trainer_class.init_hf_repo
    if getattr(original, "_citrus_creates_branch", False):
        return

    @functools.wraps(original)
    def init_hf_repo(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        pushes_during_training = self.args.hub_strategy != "end" and not getattr(self, "_citrus_pushing", False)
        if pushes_during_training and _trainer_model(self) is not None and self.is_world_process_zero():
            from .push import _card_branch, create_push_branch

            branch = _card_branch(self.args.hub_revision, create_pr=False)  # (a pull request's ref is no branch)
            if branch is not None:
                given = kwargs.get("token", args[0] if args else None)
                create_push_branch(self.hub_model_id, branch, given if given is not None else self.args.hub_token)
        return result

    init_hf_repo._citrus_creates_branch = True
    trainer_class.init_hf_repo = init_hf_repo


def _trainer_push_replaces_the_other_kind(trainer_class: type) -> None:
    """`Trainer.push_to_hub` of a CiTrus-family model (or a LoRA adapter of one) then deletes the files of the other
    kinds of checkpoint from the repository (`push.delete_the_other_kind`), as `citrus push` does in its commit: the
    Trainer's upload deletes nothing, so a full model pushed where an adapter was left the adapter beside it (the
    Auto classes refused the repository as an adapter, and their advice loaded the old one), an adapter pushed over a
    model left the model's files, and a fusion model pushed over a single-modality one (or the reverse) left the other
    modality's extractor. With `blocking=False` the future it returns is done once the deletion is (`_followed_by`).
    Idempotent."""

    def replace_the_other_kind(trainer, pushed, given: dict[str, Any]) -> Future | None:
        if _trainer_model(trainer) is None or not trainer.is_world_process_zero():
            return None
        from .push import delete_the_other_kind, is_fusion

        def delete() -> None:
            delete_the_other_kind(
                trainer.hub_model_id,
                trainer.args.output_dir,
                _trainer_peft_model(trainer) is not None,
                fusion=is_fusion(_trainer_model(trainer)),
                revision=given.get("revision") or trainer.args.hub_revision,
                token=given.get("token") or trainer.args.hub_token,
            )

        if given.get("blocking", True):
            delete()
            return None
        # The upload runs in the background (a future). The deletion ran in its done-callback, after `result()` had
        # returned: a caller who waited for the push and then read the repository (or loaded it) could still find
        # the other kind's files, and a failed deletion went only to the executor's log.
        return _followed_by(pushed, delete)

    _after_push(trainer_class, replace_the_other_kind)


class _FollowingFuture(Future):
    """The future of `_followed_by`: `cancel()` cancels the upload it follows (which, still queued behind another
    push, then never runs, nor does what follows it), as `cancel()` of the upload's own future did; it marked only
    this one cancelled, and the push and its deletion went ahead."""

    def __init__(self, upload: Future):
        super().__init__()
        self._upload = upload

    def cancel(self) -> bool:
        # the upload's done-callback (`follow`) then cancels this one; an upload already running is not cancelled
        return self._upload.cancel() or self.cancelled()


def _followed_by(upload: Future, then: Callable[[], None]) -> Future:
    """A future done once the future `upload` is done and, where it succeeded, `then()` has run after it: its
    result `upload`'s, its exception `upload`'s or `then`'s (a failed upload leaves the repository as it was, and
    `then` does not run); cancelled with `upload`, and cancelling it cancels `upload` (`_FollowingFuture`)."""
    done = _FollowingFuture(upload)

    def follow(finished: Future) -> None:
        if finished.cancelled():
            Future.cancel(done)  # (its own `cancel` asks the upload, which is cancelled already)
            return
        error = finished.exception()
        if error is None:
            try:
                then()
            except BaseException as failure:  # handed to whoever waits on `done`, as the upload's own error would be
                error = failure
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(finished.result())

    upload.add_done_callback(follow)
    return done


def _upload_task_configs(
    peft_model, folder, repo_id: str, revision: str | None, token, parent_commit: str | None
) -> None:
    """Write the `citrus_task_config.json` of each adapter peft's `save_pretrained` wrote in `folder` (at its root
    and in each other adapter's subfolder, `lora.save_trainer_adapters`) and upload them to `repo_id` on the branch
    `revision` (a pull request's `refs/pr/N` included), in one commit onto `parent_commit`, the commit of peft's
    upload of those adapters: a commit reaching the branch in between (another push) is refused in one line rather
    than given this adapter's classes and input contract (`push.parent_commit_on`: none on a pull request's ref)."""
    from pathlib import Path

    from huggingface_hub import CommitOperationAdd, HfApi

    from ..training.lora import TASK_CONFIG_NAME, save_trainer_adapters
    from .push import hub_failures_in_one_line, parent_commit_on

    save_trainer_adapters(peft_model, folder, announce=False)
    additions = [
        CommitOperationAdd(path_in_repo=path.relative_to(folder).as_posix(), path_or_fileobj=str(path))
        for path in sorted(Path(folder).rglob(TASK_CONFIG_NAME))
    ]
    api = HfApi(token=token)
    raced = (
        f"{repo_id} changed after peft's push uploaded the adapter (another commit reached the branch), so its "
        f"{TASK_CONFIG_NAME} (the classes and input contract it loads with) was not uploaded onto another "
        "checkpoint: push again."
    )
    with hub_failures_in_one_line(f"The Hub refused the {TASK_CONFIG_NAME} of {repo_id}", repo_id, api.endpoint, raced):
        api.create_commit(
            repo_id,
            additions,
            revision=revision,
            commit_message="Upload the CiTrus task config of the adapter",
            parent_commit=parent_commit_on(revision, parent_commit),
        )


def register_peft_push() -> None:
    """peft's own `PeftModel.push_to_hub` of a LoRA adapter of a CiTrus-family model then uploads the adapter's
    `citrus_task_config.json` (of a single-modality task model: its classes, channels and input contract) and deletes
    the files of the other kinds of checkpoint from the repository (`push.delete_the_other_kind`), as
    `push_adapter_to_hub` does in its commit. peft uploads its own files only: the adapter loaded (`load_adapter`, the
    pipeline) with `LABEL_0...` for its classes; and its upload deletes nothing, so an adapter pushed with it over a
    full model left the model's config and weights beside it. Idempotent."""
    from peft import PeftModel

    def replace_the_other_kind(peft_model, pushed, given: dict[str, Any]) -> None:
        model = _citrus_model(peft_model)
        if model is None:
            return
        import tempfile

        from ..vocabulary_citrus import FUSION_MODEL_TYPE
        from .push import delete_the_other_kind, is_fusion

        revision = pushed.pr_revision or given.get("revision")
        # what the push uploaded: peft's push saves `save_pretrained`'s folder (and a card) to a folder it deletes
        with tempfile.TemporaryDirectory(prefix="citrus-peft-push-") as folder:
            peft_model.save_pretrained(folder)
            # a single-modality task model (as `Trainer.save_model`'s hook): a fusion config is no CiTrusConfig
            if getattr(model, "head_name", None) and model.config.model_type != FUSION_MODEL_TYPE:
                # onto the commit of peft's upload (`CommitInfo.oid`): the adapter the task config describes
                _upload_task_configs(
                    peft_model, folder, pushed.repo_url.repo_id, revision, given.get("token"), pushed.oid
                )
            delete_the_other_kind(
                pushed.repo_url.repo_id,
                folder,
                True,
                fusion=is_fusion(model),
                revision=revision,
                token=given.get("token"),
            )

    _after_push(PeftModel, replace_the_other_kind)


def _trainer_hub_errors(trainer_class: type) -> None:
    """`Trainer.push_to_hub` and `Trainer.init_hf_repo` (run by `Trainer(...)` with
    `TrainingArguments(push_to_hub=True)`) of a CiTrus-family model with one-line Hub errors (idempotent)."""
    for name in ("push_to_hub", "init_hf_repo"):
        original = getattr(trainer_class, name)
        if not getattr(original, "_citrus_hub_errors", False):
            applies = lambda trainer: _trainer_model(trainer) is not None  # noqa: E731
            setattr(trainer_class, name, _with_hub_errors(original, _trainer_repo_id, applies))


def _check_extractor_beside_model(extractor, config, folder) -> None:
    """Refuse to save `extractor` into `folder` beside a CiTrus model (`config`, from its config.json) of another input
    contract, with the pipelines' check of a pair (`check_contract`): `AutoFeatureExtractor` and `AutoModel` would
    load the two from the folder as they are, and feed the model windows it was not trained on without a word."""
    from types import SimpleNamespace

    from ..inference.pipelines import check_contract

    try:
        check_contract(
            SimpleNamespace(config=config),
            extractor,
            fix="save the extractor built from that model's config instead: "
            "`CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder)` (or save this one into a "
            "folder of its own).",
        )
    except ValueError as error:
        raise ValueError(
            f"{str(folder)!r} holds a CiTrus model (config.json), which this feature extractor would be loaded with: "
            f"{error}"
        ) from None


def register_extractor_contract_check() -> None:
    """`CiTrusFeatureExtractor.save_pretrained` into a folder that holds a CiTrus model refuses an extractor of
    another input contract, as the pipelines refuse the pair (the model file holds an empty hook: it is also remote
    code, which cannot import the pipelines)."""
    from ..feature_extraction_citrus import CiTrusFeatureExtractor

    CiTrusFeatureExtractor._folder_contract_check = _check_extractor_beside_model


def register_extractor_hub_errors() -> None:
    """One-line errors from `CiTrusFeatureExtractor.push_to_hub` when the Hub cannot be reached."""
    from ..feature_extraction_citrus import CiTrusFeatureExtractor

    _one_line_hub_errors(CiTrusFeatureExtractor)


def register_processor_hub_errors() -> None:
    """One-line errors from `CiTrusFusionProcessor.push_to_hub` when the Hub cannot be reached."""
    from ..processing_citrus_fusion import CiTrusFusionProcessor

    _one_line_hub_errors(CiTrusFusionProcessor)


__all__ = [
    "register_extractor_contract_check",
    "register_extractor_hub_errors",
    "register_model_publisher",
    "register_processor_hub_errors",
    "register_trainer_cards",
    "register_trainer_checks",
]
