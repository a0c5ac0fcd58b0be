"""How much of citrus-small's lead comes from having pre-trained on the labelled sets' own (unlabelled) recordings.

citrus-small's corpus (`pretrain_corpus` 2.0) holds the training splits of the labelled sets, without their labels,
beside the unlabelled sources: 86 % of its windows. The sets a user brings have never been seen. This
benchmark measures the difference with two checkpoints of citrus-small's recipe (12,000 steps, width 128 x 3 layers,
the time objective, seed 0), each pre-trained on corpus 2.0 less the sources of one half of the labelled sets
(`GROUPS`, halves of about 5.7 channel-hours each), so that on every set one of them has seen its training
recordings and the other has not; and a third, U, pre-trained on corpus 2.1 less every labelled set's source (the
unlabelled sources alone: 4,278 windows against citrus-small's 16,229). Each was fitted with the default recipe at 1
and 5 labels per class on the published few-shot draws (seeds 0-4; A and B also at 20, seeds 0-2) and scored on the
test splits, and at 5 labels per class on the validation splits, beside citrus-small and its from-scratch twin on the
same draws.

For every set, "seen" is the checkpoint whose corpus held the set's training recordings and "unseen" the one whose
corpus did not; both differ from citrus-small's corpus by half of the labelled sets, so `seen - unseen` measures the
set's own recordings in the corpus with the corpus size balanced. infant_sleep's source (heart rate every 16 s) is
below the corpus's rate floor, so no checkpoint has seen it: it counts in U's columns only.

Reproduce (about 40 minutes per pre-training on one core, a few minutes per evaluation; the runs are stored in
`benchmarks/results/leave_task_out/`, the checkpoints are not):

    citrus pretrain benchmarks/results/leave_task_out/checkpoints/A.json --output-dir runs/ltoA   # likewise B and U
    citrus evaluate benchmarks/results/few_shot/protocol.json --output-dir runs/A --arms citrus-time \\
        --checkpoints citrus-time=runs/ltoA --budgets 1 5
    citrus evaluate --score-split validation --budgets 5 --num-seeds 5 --datasets <the ten validation sets> \\
        --arms citrus-small citrus-time citrus-scratch --checkpoints citrus-time=runs/ltoA --output-dir runs/valA
    python benchmarks/leave_task_out.py          # the tables, from the stored runs
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from citrus_hf.commands.script import run_script

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_results import compare  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
FOLDER = RESULTS / "leave_task_out"
FEW_SHOT = RESULTS / "few_shot"
# The labelled sets whose sources each half-corpus checkpoint left out (sources in brackets where the names differ).
GROUPS = {
    "A": ("watch_exercises", "eeg_eyes_open_shut", "myo_gestures", "meg_hand_movement"),
    "B": ("basic_motions", "eeg_blink", "eeg_finger_movements", "eeg_scp1", "eeg_scp2", "systole_affect"),
}
NEVER_SEEN = ("infant_sleep",)
ARM = "citrus-time"  # the arm that carried each checkpoint


def _gaps(first: str, second: str, budget: str) -> dict[str, float]:
    """{set: mean paired gap of FOLDER:ARM `first` over `second`, macro-F1 points} at `budget`."""
    cells = compare(first, second, [budget])["cells"]
    return {cell["dataset"]: cell["gain_mean"] for cell in cells if cell["metric"].startswith("macro")}


# Test runs per budget: 1 and 5 labels per class (the probe) in A/, B/, U/, seeds 0-4; 20 (probe then fine-tuning,
# about 30 s a run on one core) in A20/ and B20/, seeds 0-2, without U.
TEST_FOLDERS = {"1/class": ("A", "B", "U"), "5/class": ("A", "B", "U"), "20/class": ("A20", "B20")}


def test_table(budget: str) -> tuple[list[dict], dict]:
    """Per set at `budget` on the test splits: seen / unseen checkpoint (and U, where it ran) against the published
    runs."""
    small, scratch = f"{FEW_SHOT}:citrus-small", f"{FEW_SHOT}:citrus-scratch"
    folders = dict(zip("ABU", TEST_FOLDERS[budget]))
    against_small = {name: _gaps(f"{FOLDER / folder}:{ARM}", small, budget) for name, folder in folders.items()}
    columns = {"small - scratch": _gaps(small, scratch, budget)}
    if "U" in folders:
        u = f"{FOLDER / folders['U']}:{ARM}"
        columns |= {
            "U - small": against_small["U"],
            "U - scratch": _gaps(u, scratch, budget),
            "U - MiniRocket": _gaps(u, f"{FEW_SHOT}:minirocket", budget),
        }
    unseen_scratch = {name: _gaps(f"{FOLDER / folders[name]}:{ARM}", scratch, budget) for name in "AB"}
    rows = _rows(against_small, columns, {"unseen - scratch": unseen_scratch})
    return rows, _means(rows)


def validation_table() -> tuple[list[dict], dict]:
    """The same at 5 labels per class on the validation splits, each run folder holding citrus-small and the
    twin on its own draws."""
    budget = "5/class"
    against_small = {
        name: _gaps(f"{FOLDER / ('val' + name)}:{ARM}", f"{FOLDER / ('val' + name)}:citrus-small", budget)
        for name in "ABU"
    }
    small_scratch = _gaps(f"{FOLDER / 'valA'}:citrus-small", f"{FOLDER / 'valA'}:citrus-scratch", budget)
    rows = _rows(against_small, {"small - scratch": small_scratch, "U - small": against_small["U"]})
    return rows, _means(rows)


def _rows(
    against_small: dict[str, dict[str, float]],
    columns: dict[str, dict[str, float]],
    unseen_columns: dict[str, dict[str, dict[str, float]]] | None = None,
) -> list[dict]:
    """One row per labelled set the runs scored (systole_affect has no validation split of its own), then the
    never-seen ones: the checkpoint that left the set's group out ("unseen") and the other ("seen", which had the
    set's training recordings in its corpus), each against citrus-small (`against_small[group][set]`), and their
    difference; then `unseen_columns` ({column: {group: {set: gap}}}, read from the unseen checkpoint) and
    `columns` ({column: {set: gap}}, every set)."""
    rows = []
    for group, sets in GROUPS.items():
        other = "B" if group == "A" else "A"
        for name in sets:
            if name not in against_small[group]:
                continue
            unseen, seen = against_small[group][name], against_small[other][name]
            row = {"set": name, "left out by": group, "unseen - small": unseen, "seen - small": seen}
            row["seen - unseen"] = seen - unseen
            row |= {column: by_group[group][name] for column, by_group in (unseen_columns or {}).items()}
            rows.append(row | {column: values[name] for column, values in columns.items()})
    for name in NEVER_SEEN:
        rows.append({"set": name, "left out by": "all"} | {column: values[name] for column, values in columns.items()})
    return rows


def _means(rows: list[dict]) -> dict:
    """Mean of every column over the sets that have it (the seen / unseen columns: the sets some checkpoint saw)."""
    columns = dict.fromkeys(key for row in rows for key in row if key not in ("set", "left out by"))
    return {column: statistics.mean(row[column] for row in rows if column in row) for column in columns}


def _markdown(rows: list[dict], means: dict) -> str:
    columns = list(means)
    lines = ["| set | left out by | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{row[column]:+.2f}" if column in row else "" for column in columns]
        lines.append(f"| {row['set']} | {row['left out by']} | " + " | ".join(cells) + " |")
    lines.append("| **mean** | | " + " | ".join(f"**{means[column]:+.2f}**" for column in columns) + " |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    result = {}
    for budget, folders in TEST_FOLDERS.items():
        rows, means = test_table(budget)
        result[f"test {budget}"] = {"rows": rows, "means": means}
        seeds = "0-4" if "U" in folders else "0-2"
        print(f"Test splits, {budget} (macro-F1 points, paired by seed, seeds {seeds}):\n\n{_markdown(rows, means)}\n")
    rows, means = validation_table()
    result["validation 5/class"] = {"rows": rows, "means": means}
    print(f"Validation splits, 5/class:\n\n{_markdown(rows, means)}")
    return result


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
