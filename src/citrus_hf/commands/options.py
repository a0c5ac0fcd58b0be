"""Option parsing shared by the `citrus` commands: `KEY=VALUE` settings, per-dataset settings, seeds and the
`Trainer` options of `citrus finetune` and `citrus evaluate`.

Settings that take `KEY=VALUE` (`--set`, `--dataset-option`) read the value as JSON when they can (`--set d_model=128`,
`--set cnn_channels=[8,16]`) and as text otherwise.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def pairs(items: Sequence[str] | None, flag: str) -> dict[str, Any]:
    """`["a=1", "b=x"]` -> `{"a": 1, "b": "x"}`."""
    result = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"{flag} expects KEY=VALUE, got {item!r}.")
        result[key.strip()] = parse_value(value)
    return result


def per_dataset(items: Sequence[str] | None, flag: str) -> dict[str, Any]:
    """`["myo_gestures=interpolate"]` -> `{"myo_gestures": "interpolate"}`."""
    return {key: str(value) for key, value in pairs(items, flag).items()}


def dataset_options(items: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    """`["hr_ecg:window_seconds=5"]` -> `{"hr_ecg": {"window_seconds": 5}}`."""
    result: dict[str, dict[str, Any]] = {}
    for item in items or []:
        dataset, sep, pair = item.partition(":")
        if not sep:
            raise SystemExit(f"--dataset-option expects DATASET:KEY=VALUE, got {item!r}.")
        result.setdefault(dataset, {}).update(pairs([pair], "--dataset-option"))
    return result


def seeds(values: Sequence[str]) -> list[int]:
    """`["5"]` -> seeds 0..4; `["0", "3", "7"]` -> those seeds."""
    numbers = [int(v) for v in values]
    return list(range(numbers[0])) if len(numbers) == 1 else numbers


def add_trainer_arguments(parser: argparse.ArgumentParser, max_steps: int, epochs: float) -> None:
    group = parser.add_argument_group("fine-tuning (Trainer)")
    group.add_argument("--epochs", type=float, default=epochs, help="training epochs (ignored with --max-steps > 0)")
    group.add_argument("--max-steps", type=int, default=max_steps, help="optimizer steps; > 0 overrides --epochs")
    group.add_argument("--eval-steps", type=int, default=10, help="evaluate every N steps (with --max-steps)")
    group.add_argument("--batch-size", type=int, default=16)
    group.add_argument("--learning-rate", type=float, default=1e-3)
    group.add_argument("--weight-decay", type=float, default=0.01)
    group.add_argument("--warmup-steps", type=float, default=0.1, help="steps, or a fraction < 1 of all steps")
    group.add_argument("--patience", type=int, default=5, help="early stopping patience in evaluations (0: off)")
    group.add_argument("--metric", default="loss", help="validation metric for early stopping / the best model")
    group.add_argument("--report-to", default="none", help="Trainer integrations, e.g. tensorboard (default none)")


def trainer_settings(args: argparse.Namespace, seed: int, show_progress: bool):
    from ..training.finetune import TrainerSettings

    return TrainerSettings(
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        eval_steps=args.eval_steps,
        per_device_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps,
        early_stopping_patience=args.patience or None,
        metric_for_best_model=args.metric,
        seed=seed,
        report_to=args.report_to,
        show_progress=show_progress,
    )
