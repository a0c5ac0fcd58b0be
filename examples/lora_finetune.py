"""LoRA fine-tuning of a CiTrus model on real recordings with the transformers Trainer.

The data are the UEA BasicMotions recordings (smartwatch accelerometer + gyroscope, 6 channels at 10 Hz, 10 s per
recording, 4 activities, the official 40 train / 40 test split), built by `citrus_hf.data.build_dataset`. Fetch the
archive once with `citrus data fetch --offline-corpus`.

    python examples/lora_finetune.py                                 # LoRA on the bundled pre-trained citrus-small
    python examples/lora_finetune.py --base-model runs/eeg           # your own `citrus pretrain` output, or a Hub id
    python examples/lora_finetune.py --tiny                          # citrus-small, 3 epochs: a quick check
    python examples/lora_finetune.py --from-scratch --tiny           # a tiny random model: the mechanics only

`--base-model` is a pre-trained CiTrus checkpoint: citrus-small (shipped inside citrus-hf, resolved by citrus_hf, so
it works offline), a folder or a Hub id. With `--from-scratch` the backbone is randomly initialised instead: the run
then shows the LoRA mechanics (what trains, saving, reloading, merging) and scores about chance, not the benefit of
pre-training. The recordings are resampled to the model's sampling rate by the feature extractor, as CiTrus aligns
every modality to its pre-training rate.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from datasets import Array2D, ClassLabel, Features, List, Value
from transformers import Trainer, TrainingArguments, set_seed

from citrus_hf import CiTrusConfig, CiTrusForSequenceClassification
from citrus_hf.commands.script import positive_float, positive_int, run_script
from citrus_hf.data import build_dataset
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.training.lora import apply_lora, load_adapter, merge_adapter, save_adapter
from citrus_hf.training.metrics import compute_metrics_fn

TINY = dict(d_model=16, num_attention_heads=2, num_hidden_layers=1, ffn_dim=32, cnn_channels=[4, 8, 8])


def build_model(args, num_channels: int, class_names: list[str], output_dir: Path):
    """The task model and the checkpoint to reload it from: the pre-trained one, or a fresh one saved here."""
    labels = dict(num_labels=len(class_names), id2label=dict(enumerate(class_names)))
    # The head concatenates the channels; the channel layout is the task's, not the pre-training corpus's.
    task = dict(num_channels=num_channels, channel_names=None, channel_modalities=None, channel_pooling="concat")
    if not args.from_scratch:
        model = CiTrusForSequenceClassification.from_pretrained(args.base_model, **labels, **task)
        return model, args.base_model
    # 10 s at the paper's 100 Hz: the recordings are upsampled to the rate CiTrus models are pre-trained at.
    config = CiTrusConfig(sampling_rate=100.0, context_length=1000, **labels, **task, **(TINY if args.tiny else {}))
    model = CiTrusForSequenceClassification(config)
    model.save_pretrained(output_dir / "base")
    return model, output_dir / "base"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--base-model", default="citrus-small", help="pre-trained CiTrus to adapt: bundled name, folder or Hub id"
    )
    parser.add_argument("--from-scratch", action="store_true", help="adapt a randomly initialised model instead")
    parser.add_argument("--dataset", default="basic_motions", help="a labelled dataset of citrus_hf.data")
    parser.add_argument("--output-dir", type=Path, default=Path("lora-basic-motions"))
    parser.add_argument("--epochs", type=positive_int, default=40)
    parser.add_argument("--rank", type=positive_int, default=8)
    parser.add_argument("--alpha", type=positive_float, default=16)
    parser.add_argument("--learning-rate", type=positive_float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tiny", action="store_true", help="3 epochs (and a tiny model with --from-scratch): checks that it runs"
    )
    args = parser.parse_args()
    epochs = 3 if args.tiny else args.epochs
    set_seed(args.seed)
    args.output_dir.mkdir(parents=True, exist_ok=True)

    data = build_dataset(args.dataset)
    class_names = data["train"].features["label"].names
    num_channels = len(data["train"][0]["input_values"])
    model, base_source = build_model(args, num_channels, class_names, args.output_dir)
    extractor = CiTrusFeatureExtractor.from_config(model.config)

    def align(batch):
        features = extractor(batch["input_values"], sampling_rate=batch["sampling_rate"], return_tensors="np")
        return {
            "input_values": features["input_values"],
            "patch_mask": features["patch_mask"],
            "labels": batch["label"],
        }

    aligned = Features(
        {
            "input_values": Array2D(shape=(num_channels, extractor.context_length), dtype="float32"),
            "patch_mask": List(Value("int64"), length=extractor.num_patches),
            "labels": ClassLabel(names=class_names),
        }
    )
    data = data.with_format("numpy").map(
        align, batched=True, remove_columns=data["train"].column_names, features=aligned, desc="Aligning"
    )
    data = data.with_format("torch")

    lora_model = apply_lora(model, r=args.rank, alpha=args.alpha)  # prints the trainable fraction
    training_args = TrainingArguments(
        output_dir=str(args.output_dir / "trainer"),
        num_train_epochs=epochs,
        per_device_train_batch_size=8,
        per_device_eval_batch_size=40,
        learning_rate=args.learning_rate,
        warmup_steps=0.1,
        weight_decay=0.01,
        save_strategy="no",
        logging_steps=5,
        report_to=[],
        seed=args.seed,
        # without a GPU: transformers' default pins memory, which torch warns about at every data loader
        use_cpu=not torch.cuda.is_available(),
    )
    trainer = Trainer(
        model=lora_model,
        args=training_args,
        train_dataset=data["train"],
        compute_metrics=compute_metrics_fn("classification"),
    )
    trainer.train()
    # BasicMotions has no validation split and nothing is tuned on the test split: it is only scored, once.
    metrics = trainer.evaluate(data["test"], metric_key_prefix="test")
    backbone = "randomly initialised backbone" if args.from_scratch else args.base_model
    print(
        f"{args.dataset} test accuracy {metrics['test_accuracy']:.3f}, macro-F1 {metrics['test_macro_f1']:.3f} "
        f"(n={len(data['test'])}, LoRA r={args.rank} on {backbone}, {epochs} epochs, seed {args.seed})"
    )

    adapter_dir = save_adapter(lora_model, args.output_dir / "adapter", extractor)
    lora_model.eval()
    inputs = data["test"][:8]
    with torch.no_grad():
        adapted = lora_model(input_values=inputs["input_values"], patch_mask=inputs["patch_mask"]).logits
        reloaded = load_adapter(base_source, adapter_dir)(
            input_values=inputs["input_values"], patch_mask=inputs["patch_mask"]
        ).logits
        merged = merge_adapter(lora_model)
        merged_logits = merged(input_values=inputs["input_values"], patch_mask=inputs["patch_mask"]).logits
    reload_gap = float((reloaded - adapted).abs().max())
    merge_gap = float((merged_logits - adapted).abs().max())
    if not (np.isclose(reload_gap, 0, atol=1e-5) and np.isclose(merge_gap, 0, atol=1e-5)):
        raise SystemExit(f"adapter round trip failed: reload gap {reload_gap:.2e}, merge gap {merge_gap:.2e}")
    print(
        f"adapter saved to {adapter_dir}; reloaded (max |diff| {reload_gap:.1e}) and merged and adapted outputs agree "
        f"(max |diff| {merge_gap:.1e})"
    )
    merged.save_pretrained(args.output_dir / "merged")
    extractor.save_pretrained(args.output_dir / "merged")


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
