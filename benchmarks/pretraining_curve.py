"""The pre-training curve of a run: training loss, held-out loss and the predict-the-mean baseline, to a PNG.

A pre-training run (`citrus pretrain`) records in its `pretraining_summary.json` the training loss at every log and,
at every evaluation, the held-out loss on real validation windows together with the loss of predicting the mean
masked target on the same windows and masks (for z-scored windows and the sample objectives: predicting zero,
about 1.0). This draws them and prints the numbers that matter: a held-out loss that stays at the baseline means the
model learnt nothing that reaches held-out recordings, however low its training loss.

    python benchmarks/pretraining_curve.py runs/eeg                       # writes runs/eeg/pretraining_curve.png
    python benchmarks/pretraining_curve.py runs/eeg --output curve.png --json curve.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from citrus_hf.commands.script import run_script
from citrus_hf.training.curves import load_summary, plot_pretraining_curve


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a `citrus pretrain` output folder or its pretraining_summary.json")
    parser.add_argument("--output", help="PNG to write (default: pretraining_curve.png next to the summary)")
    parser.add_argument("--json", help="also write the final numbers to this file")
    args = parser.parse_args(argv)
    run = Path(args.run)
    summary = load_summary(run)
    output = Path(args.output) if args.output else (run if run.is_dir() else run.parent) / "pretraining_curve.png"
    plot_pretraining_curve(run, output)  # the folder: the title reads the config saved there
    results = {
        "figure": str(output),
        "steps": summary["steps"],
        "final_train_loss": summary["train_losses"][-1][1] if summary["train_losses"] else None,
        "final_eval_loss": summary["eval_losses"][-1][1] if summary["eval_losses"] else None,
        "baseline_loss": summary["eval_baseline_losses"][-1][1] if summary["eval_baseline_losses"] else None,
    }
    if results["final_eval_loss"] is not None and results["baseline_loss"]:
        results["eval_over_baseline"] = results["final_eval_loss"] / results["baseline_loss"]
    for key, value in results.items():
        print(f"{key:>20}: {value:.4f}" if isinstance(value, float) else f"{key:>20}: {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
