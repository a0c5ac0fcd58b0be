"""Fine-tune a pre-trained CiTrus with transformers' Trainer on real smartwatch activity data, with 5 labels per class.

BasicMotions (6-channel accelerometer + gyroscope at 10 Hz, 10 s, 4 activities; fetch with `citrus data fetch
--offline-corpus`) is aligned to the checkpoint's input contract by its feature extractor (here from 10 Hz to the
model's rate), a label budget is drawn, and the `Trainer` fine-tunes with early stopping on a validation set.

    python examples/finetune_trainer.py                             # from the bundled citrus-small
    python examples/finetune_trainer.py --model runs/eeg            # a checkpoint from `citrus pretrain`
    python examples/finetune_trainer.py --freeze-backbone           # train the head only
    python examples/finetune_trainer.py --tiny                      # pre-trains a tiny model for a few steps first

`citrus finetune` runs the same pieces from the command line, with a recipe chosen for few labels (`--recipe`).
"""

from __future__ import annotations

import argparse
import tempfile

import torch
from transformers import EarlyStoppingCallback, Trainer, TrainingArguments, set_seed

from citrus_hf.commands.script import run_script
from citrus_hf.data.alignment import align_task_split, input_overrides, task_feature_extractor, with_input_overrides
from citrus_hf.data.splits import draw_budget, load_task_splits, parse_budget
from citrus_hf.loading import build_config
from citrus_hf.training.finetune import build_citrus_task_model
from citrus_hf.training.metrics import compute_metrics_fn
from citrus_hf.training.numerics import flush_denormals
from citrus_hf.training.pretrain import PretrainArguments, pretrain


def main() -> None:
    # before any torch work: fine-tuning a pre-trained CiTrus is several times faster with subnormal floats flushed
    flush_denormals()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        help="pre-trained CiTrus checkpoint: 'citrus-small' (the default, bundled), a folder from `citrus pretrain` "
        "(see examples/pretrain_accelerate.py) or a Hub id",
    )
    parser.add_argument("--label-budget", default="5", help="examples per class (5), a fraction (0.1) or all")
    parser.add_argument("--freeze-backbone", action="store_true", help="train the head only (a linear probe)")
    parser.add_argument("--output-dir", default="citrus-basic-motions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="tiny pre-training + short fine-tuning")
    args = parser.parse_args()

    checkpoint = args.model or (None if args.tiny else "citrus-small")
    if checkpoint is None:  # --tiny: a tiny model pre-trained here for a few steps
        checkpoint = tempfile.mkdtemp(prefix="citrus-tiny-")
        pretrain(
            PretrainArguments(
                output_dir=checkpoint,
                model_config="tiny",
                max_steps=3,
                per_device_batch_size=8,
                dataset_options={"window_seconds": 10.0, "hop_seconds": 10.0},
                report_to="none",
                show_progress=False,
            )
        )

    # Real data with a validation split carved from train (by recording); test = the official UEA test split.
    splits = load_task_splits("basic_motions")
    # Per-channel statistics of the training recordings: the amplitude pattern across the six axes is what tells
    # the activities apart, and per-window z-scoring would erase it.
    overrides = input_overrides("dataset", splits.num_channels, splits.train)
    extractor = task_feature_extractor(with_input_overrides(build_config(checkpoint), overrides))
    chosen = draw_budget(splits.labels("train"), parse_budget(args.label_budget), seed=args.seed)
    train = align_task_split(splits.train.select(chosen), extractor, splits.task)
    validation = align_task_split(splits.validation, extractor, splits.task)
    test = align_task_split(splits.test, extractor, splits.task)

    set_seed(args.seed)
    model = build_citrus_task_model(
        splits.task,
        splits.num_channels,
        splits.label_names,
        checkpoint=checkpoint,
        overrides=overrides,
    )
    if args.freeze_backbone:
        model.freeze_backbone()
    training_args = TrainingArguments(
        output_dir=args.output_dir,
        num_train_epochs=3 if args.tiny else 60,
        per_device_train_batch_size=8,
        learning_rate=1e-3,
        warmup_steps=0.1,
        lr_scheduler_type="cosine",
        eval_strategy="epoch",
        save_strategy="epoch",
        load_best_model_at_end=True,
        metric_for_best_model="loss",
        greater_is_better=False,
        save_total_limit=1,
        logging_strategy="epoch",
        report_to="none",
        seed=args.seed,
        use_cpu=not torch.cuda.is_available(),
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train,
        eval_dataset=validation,
        # the extractor collates (rows of different durations are padded, `patch_mask` marks the padding) and is
        # saved beside the weights, so `pipeline(model=output_dir)` can align raw recordings later
        processing_class=extractor,
        compute_metrics=compute_metrics_fn(splits.task),
        callbacks=[EarlyStoppingCallback(early_stopping_patience=8)],
    )
    trainer.train()
    metrics = trainer.evaluate(test, metric_key_prefix="test")
    print(
        f"{len(train)} labelled training recordings ({args.label_budget} per class), "
        f"{'linear probe' if args.freeze_backbone else 'full fine-tuning'} from {checkpoint}"
    )
    print(
        "test: "
        + ", ".join(
            f"{k[5:]} {v:.3f}"
            for k, v in metrics.items()
            if k[5:] in ("accuracy", "balanced_accuracy", "macro_f1", "auroc")
        )
    )
    trainer.save_model(args.output_dir)
    extractor.save_pretrained(args.output_dir)
    print(f"Saved the fine-tuned model and its feature extractor to {args.output_dir}")


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
