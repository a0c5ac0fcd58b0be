"""Fine-tune a pre-trained CiTrus the plain Hugging Face way: Auto classes, `datasets.map`, transformers' `Trainer`.

The README's "Hugging Face way", end to end on real smartwatch activity data with 5 labels per class: BasicMotions
(6-channel accelerometer + gyroscope at 10 Hz, 10 s, 4 activities; fetch with `citrus data fetch --offline-corpus`) is
a `datasets.DatasetDict`; `AutoModelForSequenceClassification` and `AutoFeatureExtractor` load the checkpoint;
`dataset.map` aligns each recording with the extractor (10 Hz to the model's 100 Hz); the `Trainer` fine-tunes with
early stopping on a validation set, collating with the extractor (`processing_class`), and scores macro-F1 on the
test split; `pipeline(model=output_dir)` then classifies the raw test recordings from the saved folder.

    python examples/finetune_trainer.py                             # from the bundled citrus-small
    python examples/finetune_trainer.py --model runs/eeg            # a checkpoint from `citrus pretrain`
    python examples/finetune_trainer.py --freeze-backbone           # train the head only
    python examples/finetune_trainer.py --tiny                      # pre-trains a tiny one first (in --output-dir)

`citrus finetune --model citrus-small --dataset basic_motions --label-budget 5` runs the same job from the command
line, with a recipe chosen for few labels (`--recipe`).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AutoFeatureExtractor,
    AutoModelForSequenceClassification,
    EarlyStoppingCallback,
    Trainer,
    TrainingArguments,
    pipeline,
    set_seed,
)

import citrus_hf  # noqa: F401  (registers CiTrus with the Auto classes and pipelines; bundled names such as citrus-small)
from citrus_hf.commands.script import run_script
from citrus_hf.configuration_citrus import check_checkpoint_reference
from citrus_hf.data import build_dataset
from citrus_hf.data.splits import draw_budget, parse_budget
from citrus_hf.training import PretrainArguments, PretrainingDidNotLearnWarning, pretrain
from citrus_hf.training.metrics import compute_metrics_fn
from citrus_hf.training.numerics import flush_denormals


def tiny_checkpoint(output_dir: str) -> str:
    """A tiny CiTrus pre-trained for a few steps (the `--tiny` smoke run), in `output_dir/tiny-pretrained`: inside the
    run's own folder, where it is found and removed with it (a temporary folder of its own was left behind by every
    run); a rerun pre-trains it afresh there. Its folder."""
    folder = str(Path(output_dir) / "tiny-pretrained")
    with warnings.catch_warnings():
        # 3 steps learn nothing, on purpose: the smoke run needs a checkpoint to fine-tune, not a good one, and the
        # did-not-learn warning about the script's own scratch model told the user something they could not change
        warnings.simplefilter("ignore", PretrainingDidNotLearnWarning)
        pretrain(
            PretrainArguments(
                output_dir=folder,
                model_config="tiny",
                max_steps=3,
                per_device_batch_size=8,
                dataset_options={"window_seconds": 10.0, "hop_seconds": 10.0},
                report_to="none",
                show_progress=False,
                overwrite_output_dir=True,  # this script's own scratch model, made again on every --tiny run
            )
        )
    return folder


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
    # checked before any work: a mistyped budget was refused only after --tiny's pre-training
    budget = parse_budget(args.label_budget)
    if args.model is not None:
        check_checkpoint_reference(args.model)  # a mistyped folder: one line, not the Hub's words for a repo id
    checkpoint = args.model or (tiny_checkpoint(args.output_dir) if args.tiny else "citrus-small")

    # train / test: the official UEA splits, one row per 10 s recording. The model's forward takes `labels`.
    raw = build_dataset("basic_motions").rename_column("label", "labels")
    label_names = raw["train"].features["labels"].names
    # A validation set for early stopping, carved from train per class; the label budget is drawn from the rest.
    carved = raw["train"].train_test_split(test_size=0.2, stratify_by_column="labels", seed=0)
    pool, validation = carved["train"], carved["test"]
    train = pool.select(draw_budget(np.asarray(pool["labels"]), budget, seed=args.seed))

    # The input contract, for the model and the extractor alike: 6 channels, normalised with per-channel statistics of
    # the training recordings (signals only, no labels): the amplitude pattern across the six axes tells the
    # activities apart, and citrus-small's per-window z-scoring would erase it.
    signals = np.asarray(pool["input_values"], dtype=np.float32)  # (recordings, 6, 100)
    contract = {
        "num_channels": signals.shape[1],
        "normalization": "fixed",
        "normalization_mean": signals.mean(axis=(0, 2)).tolist(),
        "normalization_std": signals.std(axis=(0, 2)).tolist(),
    }
    set_seed(args.seed)  # before the model: its new head's initialisation is part of the run
    model = AutoModelForSequenceClassification.from_pretrained(
        checkpoint,
        num_labels=len(label_names),
        id2label=dict(enumerate(label_names)),
        label2id={name: index for index, name in enumerate(label_names)},
        **contract,
    )
    if args.freeze_backbone:
        model.freeze_backbone()
    extractor = AutoFeatureExtractor.from_pretrained(checkpoint, **contract)

    def align(row: dict) -> dict:
        # one recording at a time: the array makes the (channels, time) row one recording; each row brings its rate
        return extractor(np.asarray(row["input_values"]), sampling_rate=row["sampling_rate"])

    def aligned(split):
        # the registered sets store `input_values` as a fixed-shape Array2D: a batched map writing the extractor's
        # output back under that name needs try_original_type=False ("cannot reshape array" at the first read
        # otherwise); this one-row map infers a new type with datasets 5.2, and the flag keeps it safe either way
        extra = [name for name in split.column_names if name not in ("input_values", "labels")]
        return split.map(align, remove_columns=extra, try_original_type=False)

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
        train_dataset=aligned(train),
        eval_dataset=aligned(validation),
        # the extractor collates (rows of different durations are padded, `patch_mask` marks the padding) and is
        # saved beside the weights, so that `pipeline(model=output_dir)` can align raw recordings later
        processing_class=extractor,
        compute_metrics=compute_metrics_fn("classification"),
        callbacks=[EarlyStoppingCallback(early_stopping_patience=8)],
    )
    trainer.train()
    test = trainer.predict(aligned(raw["test"]), metric_key_prefix="test")
    print(
        f"{len(train)} labelled training recordings ({args.label_budget} per class), "
        f"{'linear probe' if args.freeze_backbone else 'full fine-tuning'} from {checkpoint}"
    )
    shown = ("accuracy", "balanced_accuracy", "macro_f1", "auroc")
    print("test: " + ", ".join(f"{k[5:]} {v:.3f}" for k, v in test.metrics.items() if k[5:] in shown))
    trainer.save_model(args.output_dir)  # the weights, and the extractor given as processing_class
    print(f"Saved the fine-tuned model and its feature extractor to {args.output_dir}")

    # Reload the folder as a user would, and classify the raw 10 Hz test recordings (the pipeline aligns them).
    classify = pipeline(model=args.output_dir)
    results = classify(list(np.asarray(raw["test"]["input_values"], dtype=np.float32)), sampling_rate=10.0)
    same = sum(result["label"] == label_names[k] for result, k in zip(results, test.predictions.argmax(-1)))
    print(f"pipeline(model={args.output_dir!r}) on the {len(results)} raw test recordings: {same} / {len(results)} "
          "the Trainer's class")  # fmt: skip


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
