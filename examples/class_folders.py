"""Long labelled recordings as files in class folders -> windows -> the bundled citrus-small -> a label per recording.

Many labelled sets are files, not tables: a recording per session, sorted into a folder per class, as `datasets`'
audiofolder takes labelled audio:

    my_recordings/train/<class>/<file>     (EDF / BDF, WFDB, WAV, .npy or .csv)
    my_recordings/test/<class>/<file>

`citrus finetune --dataset my_recordings` reads one example per file, labelled by its folder's name; with
`--dataset-options window_seconds=S` it cuts every recording into windows of S seconds first (a carved validation
split keeps a recording's windows together, and a label budget counts recordings: 5 per class is every window of 5
recordings of each class), and `citrus predict` then labels whole recordings window by window (`citrus finetune`
scores its test recordings the same way, beside its window-level metrics).

The recordings below are real (a smartwatch's 6-axis IMU during 7 shoulder exercises, 19-52 s each, subjects in
train and test apart, from the offline corpus) and stand in for your files.

    python examples/class_folders.py                       # 5 labelled recordings per class
    python examples/class_folders.py --label-budget 20 --window-seconds 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from citrus_hf.commands.script import positive_float, run_script

RATE = 50.0  # Hz: .npy files do not record their rate, so every command is given it


def write_class_folders(folder: Path) -> list[Path]:
    """One .npy file `(channels, time)` per recording in `<split>/<exercise>/`; returns the test files."""
    from citrus_hf.data.splits import load_split

    test_files = []
    for split in ("train", "test"):
        # the registered set's windows laid back to back (4 s every 4 s) give each recording again, as you would
        # have it in a file
        rows = load_split("watch_exercises", split, {"window_seconds": 4, "hop_seconds": 4})
        names = rows.features["label"].names
        pieces: dict[tuple[str, str], list[tuple[float, np.ndarray]]] = defaultdict(list)
        for row in rows.with_format("numpy"):
            pieces[row["recording"], names[row["label"]]].append((float(row["start_seconds"]), row["input_values"]))
        for (recording, exercise), windows in pieces.items():
            path = folder / split / exercise / f"{recording.replace('/', '-')}.npy"
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, np.concatenate([values for _, values in sorted(windows, key=lambda w: w[0])], axis=1))
            if split == "test":
                test_files.append(path)
    return sorted(test_files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label-budget", default="5", help="labelled recordings per class to train on")
    parser.add_argument(
        "--window-seconds", type=positive_float, default=4.0, help="the windows each recording is cut into"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args()

    from citrus_hf.commands.main import main as citrus

    work = Path(args.output_dir or tempfile.mkdtemp(prefix="citrus-class-folders-"))
    test_files = write_class_folders(work / "recordings")
    print(f"{len(test_files)} test recordings in {work / 'recordings'}/test/<exercise>/")
    windows = [f"window_seconds={args.window_seconds:g}"]
    # What the folder gives once cut into windows, and whether `citrus finetune` takes it as it is.
    info = ["data", "info", str(work / "recordings"), "--sampling-rate", f"{RATE:g}"]
    if citrus([*info, "--window-seconds", f"{args.window_seconds:g}"]) != 0:
        sys.exit(1)
    # The same as `citrus finetune --model citrus-small --dataset recordings --sampling-rate 50 --dataset-options
    # window_seconds=4 --label-budget 5 ...` in a shell.
    command = [
        "finetune", "--model", "citrus-small", "--dataset", str(work / "recordings"), "--sampling-rate", f"{RATE:g}",
        "--dataset-options", *windows, "--label-budget", args.label_budget, "--seed", str(args.seed),
        "--output-dir", str(work / "model"), "--overwrite-output-dir", "--no-show-progress",
    ]  # fmt: skip
    if citrus(command) != 0:  # `citrus` printed the one-line reason
        sys.exit(1)
    # Whole test recordings, window by window: one line each, the label of the mean of its windows' probabilities.
    predictions = work / "recordings.jsonl"
    command = ["predict", str(work / "model"), str(work / "recordings" / "test"), "--sampling-rate", f"{RATE:g}"]
    if citrus([*command, "--output", str(predictions)]) != 0:
        sys.exit(1)

    import json

    results = [json.loads(line) for line in predictions.read_text().splitlines()]
    right = sum(Path(result["recording"]).parent.name == result["label"] for result in results)
    print(f"whole test recordings labelled right: {right} / {len(results)} (each recording's own windows pooled)")


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
