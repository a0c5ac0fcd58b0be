"""Bring your own labelled recordings: numpy arrays -> a `datasets` folder -> the bundled citrus-small, fitted with the
default few-shot recipe, against MiniRocket on the same labelled draw.

Your data needs, per split (`train`, `test`, optionally `validation`), one row per labelled window with:

- `input_values`: the window, `(channels, time)` or `(time,)`, float; any length, any channel count
- `label`: the class (a `ClassLabel` gives the names; text names work too), or `target` (float) for regression
- `sampling_rate`: Hz, per row; or leave the column out and pass `--sampling-rate` / `sampling_rate=`
- without a `validation` split one is carved from train (20 % per class); give `recording` / `subject` columns so that
  the carve never splits a recording

The arrays below are real (blinks in 4-channel headband EEG at 255 Hz, from the offline corpus) and stand in for
yours.

    python examples/your_own_data.py                      # 5 labels per class
    python examples/your_own_data.py --label-budget 20
    python examples/your_own_data.py --output-dir own --overwrite-output-dir   # run again into the same folder
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict, Features, List, Value

from citrus_hf.commands.script import run_script


def your_arrays() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """`{split: (windows (n, channels, time) float32, labels (n,) int)}`: what you would load from your own files."""
    from citrus_hf.data.splits import load_split

    arrays = {}
    for split in ("train", "test"):
        rows = load_split("eeg_blink", split).with_format("numpy")[:]
        arrays[split] = (np.stack(rows["input_values"]).astype(np.float32), rows["label"].astype(np.int64))
    # Set aside a validation split yourself (here 20 % of each class, seeded) to control what is held out.
    windows, labels = arrays["train"]
    rng = np.random.default_rng(0)
    held_out = np.concatenate(
        [rng.permutation(np.flatnonzero(labels == c))[: (labels == c).sum() // 5] for c in np.unique(labels)]
    )
    kept = np.setdiff1d(np.arange(len(labels)), held_out)
    arrays["train"], arrays["validation"] = (windows[kept], labels[kept]), (windows[held_out], labels[held_out])
    return arrays


def save_as_dataset(arrays: dict[str, tuple[np.ndarray, np.ndarray]], class_names: list[str], folder: Path) -> None:
    """The format `citrus finetune --dataset FOLDER` reads: a `DatasetDict` saved with `save_to_disk`."""
    channels, length = next(iter(arrays.values()))[0].shape[1:]
    features = Features(
        {
            "input_values": List(List(Value("float32"), length=length), length=channels),
            "label": ClassLabel(names=class_names),
        }
    )
    DatasetDict(
        {
            split: Dataset.from_dict({"input_values": windows, "label": labels}, features=features)
            for split, (windows, labels) in arrays.items()
        }
    ).save_to_disk(str(folder))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label-budget", default="5", help="labelled windows per class to train on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default=None)
    parser.add_argument(
        "--overwrite-output-dir",
        action="store_true",
        help="replace the model an earlier run saved in OUTPUT_DIR (as `citrus finetune --overwrite-output-dir`)",
    )
    args = parser.parse_args()
    # The comparison with MiniRocket needs aeon (citrus-hf[baselines]): said now, before any work, and skipped.
    compare = importlib.util.find_spec("aeon") is not None
    if not compare:
        print("MiniRocket comparison skipped: it needs aeon (pip install 'citrus-hf[baselines]').")

    from citrus_hf.commands.main import main as citrus

    work = Path(args.output_dir or tempfile.mkdtemp(prefix="citrus-own-data-"))
    arrays = your_arrays()
    save_as_dataset(arrays, ["no blink", "blink"], work / "my_blinks")
    # Check the folder first: windows and classes per split, and whether `citrus finetune` takes it as it is.
    if citrus(["data", "info", str(work / "my_blinks"), "--sampling-rate", "255"]) != 0:
        sys.exit(1)
    # The same as `citrus finetune --model citrus-small --dataset ... --sampling-rate 255 ...` in a shell.
    command = [
        "finetune", "--model", "citrus-small", "--dataset", str(work / "my_blinks"), "--sampling-rate", "255",
        "--label-budget", args.label_budget, "--seed", str(args.seed), "--output-dir", str(work / "model"),
        "--no-show-progress",
    ] + (["--overwrite-output-dir"] if args.overwrite_output_dir else [])  # fmt: skip
    if citrus(command) != 0:  # `citrus` printed the one-line reason
        sys.exit(1)

    import json

    results = json.loads((work / "model" / "finetune_results.json").read_text())
    print(f"recipe {results['recipe']}: {results['num_train']} labelled windows, test macro-F1 "
          f"{results['test_metrics']['macro_f1']:.3f}, accuracy {results['test_metrics']['accuracy']:.3f}")  # fmt: skip

    if compare:  # MiniRocket + ridge on the very same labelled windows
        from citrus_hf.evaluation.baselines import fit_minirocket
        from citrus_hf.training.metrics import macro_f1

        chosen = results["train_indices"]  # with a validation split given, the training pool is the train split
        (train_x, train_y), (test_x, test_y) = arrays["train"], arrays["test"]
        # each channel standardised with the training windows' statistics, as the protocol's MiniRocket arm sees them
        mean, std = train_x.mean(axis=(0, 2), keepdims=True), train_x.std(axis=(0, 2), keepdims=True)
        train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
        scores = fit_minirocket(train_x[chosen], train_y[chosen], test_x, "classification", seed=args.seed)
        score = macro_f1(test_y, scores.argmax(axis=1), num_classes=2)
        print(f"MiniRocket + ridge on the same windows: test macro-F1 {score:.3f}")
    print(f"model and feature extractor saved in {work / 'model'}; load with from_pretrained(folder)")


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
