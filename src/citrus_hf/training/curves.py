"""The pre-training curve of a run, from its `pretraining_summary.json`: training loss, held-out loss and the baseline.

The baseline is the loss of predicting the mean masked target of the held-out batch (the objective head's
`baseline_loss`; for z-scored windows and the sample objectives that is predicting zero, about 1.0). A held-out loss
that does not go below it means the model learnt nothing about the signal that transfers to held-out recordings,
however low the training loss.

    from citrus_hf.training.curves import plot_pretraining_curve
    plot_pretraining_curve("runs/eeg", "runs/eeg/pretraining_curve.png")

The title names the model trained: from the `config.json` saved beside the summary where the run's folder (or its
summary's path) is given, else from the run's arguments (the checkpoint `--model` continued, or `--model-config` with
`--config-overrides`). `benchmarks/pretraining_curve.py` is the command-line front end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._figures import new_figure
from .._files import written_then_renamed
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


def _saved_config(run: str | os.PathLike | Mapping[str, Any]) -> dict[str, Any] | None:
    """The `config.json` that `pretrain` saved beside the run's summary (the model trained), or None: a parsed summary
    given without its folder, or a folder without a readable config."""
    if isinstance(run, Mapping):
        return None
    path = Path(run)
    try:
        config = json.loads(((path if path.is_dir() else path.parent) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def _title(summary: Mapping[str, Any], config: Mapping[str, Any] | None = None) -> str:
    """What was trained, how, for how long. `config`: the trained model's saved config, where there is one."""
    arguments = summary.get("arguments") or {}
    objective = summary.get("pretraining_objective")
    continued = arguments.get("model")  # --model: a checkpoint's own config, whatever --model-config says
    if config is not None:
        size = config
    else:  # the preset and the size the run changed it to (citrus-small and citrus-base both start from `small`)
        size = {} if continued else arguments.get("config_overrides") or {}
    shape = [f"{size['backbone']} backbone"] if size.get("backbone", "hybrid") != "hybrid" else []
    if "d_model" in size:
        shape.append(f"width {size['d_model']}")
    if "num_hidden_layers" in size:
        layers = size["num_hidden_layers"]
        shape.append(f"{layers} layer" + ("" if layers == 1 else "s"))
    # a folder or Hub id by its last part: the title is one line
    model = (
        f"model continued from {Path(str(continued)).name}"
        if continued
        else f"{Path(str(arguments.get('model_config', 'model'))).name} model"
    )
    parts = [model + (f" ({', '.join(shape)})" if shape else "")]
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
    figure = new_figure("Plotting the pre-training curve", figsize=(8, 4))
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
        held_out, baseline = summary["eval_losses"][-1][1], summary["eval_baseline_losses"][-1][1]
        # a baseline of 0: held-out windows whose masked targets are all one value (flat), no ratio to speak of
        ratio = f"{held_out / baseline:.3f}" if baseline > 0 else "n/a (baseline 0: flat held-out windows)"
        axis.plot([], [], " ", label=f"final held-out / baseline: {ratio}")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("masked-patch loss")
    axis.set_title(_title(summary, _saved_config(run)), fontsize=10)
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def plot_pretraining_curve(run: str | os.PathLike | Mapping[str, Any], output: str | os.PathLike) -> Path:
    """Write the run's curve (`pretraining_curve_figure`) to the PNG file `output`, whole or not at all (a write that
    fails part-way, or a process killed meanwhile, leaves an earlier `output` as it was); returns its path."""
    figure = pretraining_curve_figure(run)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with written_then_renamed(os.path.realpath(output)) as partial:  # (a symlink written through, as savefig did)
        figure.savefig(partial, dpi=120, format="png")  # (the format by name: the partial's suffix is .partial)
    return output


__all__ = ["CURVE_KEYS", "load_summary", "plot_pretraining_curve", "pretraining_curve_figure"]
