"""The pre-training curve of a run, from its `pretraining_summary.json`: training loss, held-out loss and the baseline.

The baseline is the loss of predicting the mean masked target of the held-out batch (the objective head's
`baseline_loss`; for z-scored windows and the sample objectives that is predicting zero, about 1.0). A held-out loss
that does not go below it means the model learnt nothing about the signal that transfers to held-out recordings,
however low the training loss.

    from citrus_hf.training.curves import plot_pretraining_curve
    plot_pretraining_curve("runs/eeg", "runs/eeg/pretraining_curve.png")

Needs matplotlib (the `bench` extra: `pip install 'citrus-hf[bench]'`); `benchmarks/pretraining_curve.py` is the
command-line front end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .pretrain import SUMMARY_CURVES, SUMMARY_FILE

CURVE_KEYS = tuple(SUMMARY_CURVES.values())


def load_summary(run: str | os.PathLike | Mapping[str, Any]) -> dict[str, Any]:
    """A run's summary: a pre-training output folder, its `pretraining_summary.json`, or the parsed summary.

    Raises:
        FileNotFoundError: no summary there. ValueError: a summary without the loss curves (written before they
            were recorded, or not by `pretrain`).
    """
    if isinstance(run, Mapping):
        summary = dict(run)
    else:
        path = Path(run)
        path = path / SUMMARY_FILE if path.is_dir() else path
        if not path.is_file():
            raise FileNotFoundError(
                f"No pre-training summary at {str(path)!r}: give a `citrus pretrain` output folder or its "
                f"{SUMMARY_FILE}."
            )
        summary = json.loads(path.read_text(encoding="utf-8"))
    missing = [key for key in CURVE_KEYS if not isinstance(summary.get(key), list)]
    if missing:
        raise ValueError(
            f"The pre-training summary has no {', '.join(missing)}: it was written by an older citrus-hf or not by "
            "`citrus pretrain`; pre-train again to record the curves."
        )
    return summary


def _new_figure(**options):
    """A matplotlib `Figure` of its own, not pyplot's: no backend is switched in the caller's process
    (`matplotlib.use("Agg")` left a notebook's `plt.show()` showing nothing)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "Plotting the pre-training curve needs matplotlib, which comes with the bench extra: "
            "pip install 'citrus-hf[bench]'."
        ) from error
    return Figure(**options)


def _title(summary: Mapping[str, Any]) -> str:
    arguments = summary.get("arguments") or {}
    objective = summary.get("pretraining_objective")
    # the preset and the size the run changed it to (citrus-small and citrus-base both start from the `small` preset)
    size = arguments.get("config_overrides") or {}
    shape = ", ".join(
        label.format(size[key])
        for key, label in (("d_model", "width {}"), ("num_hidden_layers", "{} layers"))
        if key in size
    )
    parts = [f"{arguments.get('model_config', 'model')} model" + (f" ({shape})" if shape else "")]
    if objective:
        parts.append(f"{objective} objective")
    ratio = summary.get("synthetic_ratio") or 0.0
    parts.append(f"{ratio:.0%} synthetic windows" if ratio else "real windows only")
    parts.append(f"{summary.get('steps', '?')} steps")
    return ", ".join(parts)


def pretraining_curve_figure(run: str | os.PathLike | Mapping[str, Any]):
    """A matplotlib figure of the run's curves against the optimizer step: training loss, held-out loss (markers)
    and the baseline (dashed), with the final held-out / baseline ratio in the legend."""
    summary = load_summary(run)
    figure = _new_figure(figsize=(8, 4))
    axis = figure.subplots()
    styles = {
        "train_losses": dict(color="tab:blue", lw=1.2, label="training loss"),
        "eval_losses": dict(color="tab:red", lw=1.2, marker="o", ms=4, label="held-out loss (real validation windows)"),
        "eval_baseline_losses": dict(color="0.3", lw=1.0, ls="--", label="baseline: predict the mean target"),
    }
    for key in CURVE_KEYS:
        points = summary[key]
        if points:
            steps, losses = zip(*points)
            axis.plot(steps, losses, **styles[key])
    if summary["eval_losses"] and summary["eval_baseline_losses"]:
        ratio = summary["eval_losses"][-1][1] / summary["eval_baseline_losses"][-1][1]
        axis.plot([], [], " ", label=f"final held-out / baseline: {ratio:.3f}")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("masked-patch loss")
    axis.set_title(_title(summary), fontsize=10)
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def plot_pretraining_curve(run: str | os.PathLike | Mapping[str, Any], output: str | os.PathLike) -> Path:
    """Write the run's curve (`pretraining_curve_figure`) to the PNG file `output`; returns its path."""
    figure = pretraining_curve_figure(run)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=120)
    return output


__all__ = ["CURVE_KEYS", "load_summary", "plot_pretraining_curve", "pretraining_curve_figure"]
