"""Fitting speed of the default few-shot recipe: citrus-small fitted on 240 labelled windows (the size of 20 labels
per class x 12 classes) and its predictions for 1,000 test windows, beside MiniRocket + ridge fitted and predicting on
the same windows, in alternating rounds, from raw recordings to predictions (alignment included).

    python benchmarks/fit_speed.py                                   # watch_exercises, 3 rounds each
    python benchmarks/fit_speed.py --dataset myo_gestures --rounds 5

The windows are real (the set's training split, drawn evenly over its classes, and its test split repeated to 1,000
windows); `--recipe auto` (the default) picks what it picks for that many labels per class (probe-then-fine-tune
from 20 per class), and its cost follows the number of windows, not of classes, so 240 windows of a set with fewer
classes cost what 12 x 20 would; `--recipe probe` times the probe. No result of this script is an accuracy claim.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from citrus_hf.commands.script import positive_int, run_script


def fit_and_predict(arm_name: str, splits, seed: int, recipe: str) -> None:
    """One protocol run of `arm_name` (`citrus_hf.evaluation.arms`) from raw recordings: align (CiTrus), fit on every
    window of `splits.train`, predict and score `splits.test`; CiTrus arms use `recipe`."""
    from citrus_hf.data.alignment import input_overrides
    from citrus_hf.evaluation.arms import ARMS, DatasetContext
    from citrus_hf.evaluation.protocol import ProtocolConfig

    config = ProtocolConfig(
        output_dir=tempfile.gettempdir(), recipe=recipe, model_config="citrus-small", show_progress=False
    )
    context = DatasetContext(
        name="fit_speed",
        splits=splits,
        pool_labels=splits.labels("train"),
        overrides=input_overrides("dataset", splits.num_channels, splits.train),
        alignment="resample",
        config=config,
    )
    arm = ARMS[arm_name]
    prepared = arm.prepare(context, getattr(arm, "bundled", None))
    with tempfile.TemporaryDirectory() as folder:
        arm.run(context, prepared, np.arange(len(splits.train)), seed, Path(folder))


def main() -> None:
    from citrus_hf.training.numerics import flush_denormals

    flush_denormals()  # as the `citrus` commands do: fine-tuning from citrus-small is several times faster
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="watch_exercises")
    parser.add_argument("--train-windows", type=positive_int, default=240)
    parser.add_argument("--test-windows", type=positive_int, default=1000)
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--num-threads", type=positive_int, default=2)
    parser.add_argument("--recipe", default="auto", help="citrus-small's recipe (citrus_hf.training.recipes)")
    parser.add_argument("--json", default=None, help="also write the timings to this JSON file")
    args = parser.parse_args()
    if importlib.util.find_spec("aeon") is None:  # before any work: the comparison is the point of the script
        raise SystemExit(
            "error: fit_speed times citrus-small beside MiniRocket, which needs aeon: pip install 'citrus-hf[baselines]'"
        )

    from dataclasses import replace

    import datasets
    import torch

    from citrus_hf.data.splits import load_task_splits
    from citrus_hf.training.recipes import labels_per_class, resolve_recipe

    torch.set_num_threads(args.num_threads)
    datasets.disable_caching()  # every round aligns afresh, as a first fit on new data would
    datasets.disable_progress_bars()
    splits = load_task_splits(args.dataset, require_validation=False)
    pool = splits.train
    labels = np.asarray(pool["label"])
    classes = np.unique(labels)
    rng = np.random.default_rng(0)
    per_class = int(np.ceil(args.train_windows / len(classes)))
    chosen = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in classes])
    chosen = np.sort(rng.permutation(chosen)[: args.train_windows])
    train = pool.select(chosen)
    test = splits.test.select(np.resize(np.arange(len(splits.test)), args.test_windows))
    print(
        f"{args.dataset}: {len(train)} labelled windows of {len(classes)} classes, {len(test)} test windows, "
        f"{splits.num_channels} channels; {args.num_threads} threads, {args.rounds} alternating rounds"
    )

    recipe = resolve_recipe(args.recipe, labels_per_class(np.asarray(train["label"]), splits.task), splits.task).name
    citrus_name = f"citrus-small ({recipe})"
    times: dict[str, list[float]] = {citrus_name: [], "minirocket + ridge": []}
    arms = {citrus_name: "citrus-small", "minirocket + ridge": "minirocket"}
    timed = replace(splits, train=train, test=test)
    for round_index in range(args.rounds):
        for name in list(times) if round_index % 2 == 0 else list(reversed(times)):
            start = time.perf_counter()
            fit_and_predict(arms[name], timed, round_index, args.recipe)
            times[name].append(time.perf_counter() - start)
    citrus, minirocket = (statistics.median(values) for values in times.values())
    print("| method | fit + predict (median s) | rounds |")
    print("|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.1f} | {', '.join(f'{v:.1f}' for v in values)} |")
    print(f"citrus-small / MiniRocket time: {citrus / minirocket:.2f}x (goal: citrus-small under 60 s)")
    if args.json:
        summary = {
            "dataset": args.dataset,
            "train_windows": len(train),
            "test_windows": len(test),
            "num_classes": len(classes),
            "num_threads": args.num_threads,
            "recipe": recipe,
            "seconds": times,
            "citrus_over_minirocket": citrus / minirocket,
        }
        Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
