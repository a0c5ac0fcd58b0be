"""Compare the bundled citrus-small with MiniRocket on your budget, then export the chosen classifier to ONNX and
run it through the pipeline on a long recording.

Four commands a user runs in a shell, called here in-process (`citrus_hf.commands.main.main([...])` is the `citrus`
command line):

    citrus evaluate --datasets watch_exercises --arms citrus-small minirocket --budgets 5 --seeds 0 1
    citrus finetune --model citrus-small --dataset watch_exercises --label-budget 5 --seed 0 --output-dir model
    citrus export model --cache-dir onnx
    citrus predict model session.npy --sampling-rate 50 --output windows.csv --plot windows.png

`citrus evaluate` fits every arm on the same labelled draws (one per budget and seed) and scores them on the test split:
results.md / .json / .csv / .png and the paired gap to MiniRocket (`run_protocol(ProtocolConfig(...))` does the same
from Python). `citrus finetune` with the same budget and seed draws the same labelled windows, so its model is the
evaluated seed-0 run, saved. `citrus export` exports it to ONNX once and checks it against fp32 PyTorch; the pipeline's
`backend="auto"` then races ONNX Runtime, bf16 (on CPUs with native bf16) and fp32 PyTorch on the first batch and runs
the fastest that keeps the outputs (`result["backend"]` says which), and `progress=True` shows a bar over the seconds of
the recording. `citrus predict` runs the same pipeline over recording files (EDF, WFDB, .npy, .csv) and writes every
window's label and probabilities, and draws them over time. The data are the seglearn smartwatch exercises (6-axis IMU
at 50 Hz, 7 exercises, subjects held out for the test split); fetch once with `citrus data fetch --offline-corpus`.
Needs the `[baselines]` extra (MiniRocket); the export needs `[onnx]` and is skipped without it.

    python examples/evaluate_and_export.py             # budgets 5 and 20, seeds 0-4 (a few minutes)
    python examples/evaluate_and_export.py --tiny      # budget 5, seeds 0 and 1 (about a minute)
    python examples/evaluate_and_export.py --tiny --seeds 0   # one seed (the tests' run)
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from long_recording_inference import RATE, long_session  # the watch recordings back to back (this folder's example)
from transformers import pipeline

import citrus_hf  # noqa: F401  (registers CiTrus and its pipelines with transformers)
from citrus_hf.commands.main import main as citrus
from citrus_hf.commands.script import run_script
from citrus_hf.data import build_dataset
from citrus_hf.inference.backends import onnx_export_available

DATASET = "watch_exercises"


def run(command: list[str]) -> None:
    """One `citrus` command; its own one-line error has been printed when it fails."""
    if citrus(command) != 0:
        sys.exit(1)


def held_out_session() -> np.ndarray:
    """The recordings of the subjects the test split holds out, back to back: `(6, time)` at `RATE`."""
    recording, segments = long_session()
    held_out = set(build_dataset(DATASET)["test"]["subject"])
    pieces = [
        recording[:, round(start * RATE) : round(end * RATE)]
        for start, end, _, subject in segments
        if subject in held_out
    ]
    return np.concatenate(pieces, axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", nargs="+", help="labelled windows per class (default: 5 20)")
    parser.add_argument("--seeds", nargs="+", help="default: 0 1 2 3 4")
    parser.add_argument("--output-dir", default=None, help="default: a new temporary folder")
    parser.add_argument(
        "--tiny", action="store_true", help="budget 5, seeds 0 and 1 (or the --budgets / --seeds given): a quick check"
    )
    args = parser.parse_args()
    args.budgets = args.budgets or (["5"] if args.tiny else ["5", "20"])
    args.seeds = args.seeds or (["0", "1"] if args.tiny else ["0", "1", "2", "3", "4"])
    if importlib.util.find_spec("aeon") is None:  # before any work, as the package's own commands do
        sys.exit("error: this example compares against MiniRocket: pip install 'citrus-hf[baselines]'")
    work = Path(args.output_dir or tempfile.mkdtemp(prefix="citrus-evaluate-"))

    # 1. Every arm on the same draws. Re-running with the same --output-dir reuses the runs already in runs.jsonl.
    run([
        "evaluate", "--datasets", DATASET, "--arms", "citrus-small", "minirocket", "--budgets", *args.budgets,
        "--seeds", *args.seeds, "--output-dir", str(work / "evaluation"), "--no-show-progress",
    ])  # fmt: skip
    runs = json.loads((work / "evaluation" / "results.json").read_text())["runs"]
    scores = {(r["arm"], r["budget"], r["seed"]): r["macro_f1"] for r in runs}
    print("\nPaired by draw (test macro-F1, citrus-small minus MiniRocket):")
    for budget in dict.fromkeys(r["budget"] for r in runs):
        gaps = [scores["citrus-small", budget, s] - scores["minirocket", budget, s] for s in map(int, args.seeds)]
        print(
            f"  {budget:>8}: {np.mean(gaps) * 100:+.1f} pts, citrus-small ahead in {sum(g > 0 for g in gaps)}/{len(gaps)}"
        )

    # 2. The first budget's run of the first seed given, saved as a classifier (the same draw as the evaluation's;
    # seed 0 unless --seeds leaves it out).
    budget, seed, model_dir = args.budgets[0], args.seeds[0], work / "model"
    run([
        "finetune", "--model", "citrus-small", "--dataset", DATASET, "--label-budget", budget, "--seed", seed,
        "--output-dir", str(model_dir), "--overwrite-output-dir", "--no-show-progress",
    ])  # fmt: skip
    fitted = json.loads((model_dir / "finetune_results.json").read_text())["test_metrics"]["macro_f1"]
    evaluated = next(
        r["macro_f1"] for r in runs if (r["arm"], r["budget_order"], r["seed"]) == ("citrus-small", 0, int(seed))
    )
    print(f"saved classifier: test macro-F1 {fitted:.4f} (the evaluation's seed-{seed} run: {evaluated:.4f})")

    # 3. Export to ONNX once, into a cache the pipeline is pointed at.
    missing = onnx_export_available()
    onnx_dir = work / "onnx"
    if missing is None:
        run(["export", str(model_dir), "--cache-dir", str(onnx_dir)])
    else:
        print(f"ONNX export skipped ({missing} missing: pip install 'citrus-hf[onnx]'); 'auto' races the torch paths")

    # 4. A 17-minute recording of subjects the model never saw, window by window.
    session = held_out_session()
    classify = pipeline(model=str(model_dir), onnx_cache_dir=str(onnx_dir))
    print(f"\nA {session.shape[1] / RATE / 60:.1f} min recording at {RATE:g} Hz, {session.shape[0]} channels:")
    start = time.perf_counter()
    # progress=True: the bar (on stderr) also for recordings that finish in under 2 s, where it stays hidden
    result = classify(session, sampling_rate=RATE, backend="auto", progress=True)
    seconds = time.perf_counter() - start
    # fp32 PyTorch's labels to compare with: where 'auto' chose fp32 PyTorch, its own (a second pass gives the same)
    if result["backend"] == "torch":
        reference = result
    else:
        reference = classify(session, sampling_rate=RATE, backend="torch", progress=False)
    same = sum(a["label"] == b["label"] for a, b in zip(result["windows"], reference["windows"]))
    print(
        f"backend='auto' ran on {result['backend']} ({seconds:.1f} s, the race included): {len(result['windows'])} "
        f"windows, {same} / {len(result['windows'])} with fp32 PyTorch's label"
    )

    # 5. The same from the command line: the recording as a file, every window's label and probabilities in a CSV, and
    # drawn over time.
    np.save(work / "session.npy", session)
    run([
        "predict", str(model_dir), str(work / "session.npy"), "--sampling-rate", str(RATE), "--backend", "torch",
        "--output", str(work / "windows.csv"), "--plot", str(work / "windows.png"), "--no-show-progress",
    ])  # fmt: skip
    with open(work / "windows.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    same = sum(row["label"] == window["label"] for row, window in zip(rows, reference["windows"]))
    print(f"citrus predict: {len(rows)} windows in windows.csv, {same} / {len(rows)} with the pipeline's fp32 label")
    print(f"outputs in {work}")


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
