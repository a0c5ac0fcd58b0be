"""A BIDS dataset (the layout OpenNeuro shares EEG in) -> `citrus data info` -> citrus-small fine-tuned on its events,
a subject held out.

A folder holding `dataset_description.json` is read as BIDS: each EDF / BDF recording with an `*_events.tsv` beside it
gives one example per event (`onset`, `duration` in seconds, the label from `trial_type`), the subject, session, task
and run come from the file names, and `--dataset-options 'test_subjects=["02"]'` holds subject 02 out as the test split:

    my_bids/dataset_description.json
    my_bids/task-scp_eeg.json                                    (SamplingFrequency, inherited by every recording)
    my_bids/sub-01/eeg/sub-01_task-scp_run-1_eeg.edf
    my_bids/sub-01/eeg/sub-01_task-scp_run-1_events.tsv         (onset, duration, trial_type)
    my_bids/sub-01/eeg/sub-01_task-scp_run-1_channels.tsv       (status "bad" leaves a channel out)
    ...

The tree below is written from real EEG of the offline corpus: the slow-cortical-potential trials of BCI Competition
II (Tübingen), sub-01 the healthy subject of set Ia (3.5 s trials), sub-02 the ALS patient of set Ib (4.5 s trials),
each trial labelled by the potential the subject produced (negativity / positivity). The archive keeps the trials, not
the sessions' continuous recordings, so each run's EDF file is that run's trials laid back to back, in their order
(run 1: the competition's training trials, run 2: the later test trials), and its events.tsv says where each one is.
Both subjects keep their 6 EEG channels (sub-02's vertical EOG is left out, so that every recording holds the same
channels). Holding a subject out asks for transfer to another person, and here from a healthy subject to a patient:
expect a score near chance (0.5; the defaults give macro-F1 0.49); the point is the path your own BIDS set takes.
(The corpus's one EDF+ file with annotations, EEG Motor Movement/Imagery S001R02, is a baseline run: a single `T0`
annotation over its whole minute, one class, nothing to classify.) Writing EDF files takes pyedflib
(`pip install pyedflib`); your own BIDS set needs none.

    python examples/bids_dataset.py                  # 5 labelled windows per class, every trial (940 of 941)
    python examples/bids_dataset.py --tiny           # 16 trials per run, 2 labelled windows per class (a quick check)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from citrus_hf.commands.script import positive_int, run_script

RATE = 256.0  # Hz: both sets' rate
EEG_CHANNELS = ("A1-Cz", "A2-Cz", "C3f", "C3p", "C4f", "C4p")  # the 6 channels both sets record
# BIDS subject -> the registered set of its trials and that set's channels, in their order
SUBJECTS = {"01": ("eeg_scp1", EEG_CHANNELS), "02": ("eeg_scp2", (*EEG_CHANNELS[:4], "vEOG", *EEG_CHANNELS[4:]))}
WINDOW_SECONDS = 3.5  # the shorter trial (set Ia): a 4.5 s trial of sub-02 gives one window, its last second unused


def _tsv(path: Path, rows: list[list]) -> None:
    path.write_text("\n".join("\t".join(str(cell) for cell in row) for row in rows) + "\n")


def write_edf(path: Path, signals: np.ndarray, names: list[str]) -> None:
    """An EDF+ file of `signals` `(channels, time)` in microvolts at RATE, stored as 16-bit samples over the
    recording's own range (rounded up to 10 uV)."""
    try:
        import pyedflib
    except ImportError:
        raise ImportError("writing the example's EDF files needs pyedflib: pip install pyedflib") from None

    peak = float(np.ceil(np.abs(signals).max() / 10.0) * 10.0)
    headers = [
        dict(label=name, dimension="uV", sample_frequency=RATE, physical_max=peak, physical_min=-peak,
             digital_max=32767, digital_min=-32768, transducer="", prefilter="")
        for name in names
    ]  # fmt: skip
    writer = pyedflib.EdfWriter(str(path), len(names), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders(headers)
        writer.writeSamples([np.ascontiguousarray(signal, dtype=np.float64) for signal in signals])
    finally:
        writer.close()


def write_bids(root: Path, trials_per_run: int | None) -> None:
    """The BIDS tree of the module docstring at `root`: per subject two runs (the set's train and test trials, the
    first `trials_per_run` of each, or all; an even number, so that a run fills whole 1 s EDF records), each an EDF
    file, its events.tsv and channels.tsv; the rate in one sidecar at the root, which every recording inherits."""
    from citrus_hf.data import build_dataset

    root.mkdir(parents=True, exist_ok=True)  # run again into the same --output-dir: the same files, written again
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": "Slow cortical potentials (BCI Competition II Ia, Ib)", "BIDSVersion": "1.9.0"})
    )
    (root / "task-scp_eeg.json").write_text(json.dumps({"TaskName": "scp", "SamplingFrequency": RATE}))
    _tsv(root / "participants.tsv", [["participant_id"], *([f"sub-{subject}"] for subject in SUBJECTS)])
    for subject, (name, channels) in SUBJECTS.items():
        folder = root / f"sub-{subject}" / "eeg"
        folder.mkdir(parents=True, exist_ok=True)
        splits = build_dataset(name)
        for run, split in ((1, "train"), (2, "test")):
            rows = splits[split]
            classes = rows.features["label"].names
            rows = rows.select(range(min(trials_per_run or len(rows), len(rows)) // 2 * 2)).with_format("numpy")
            trials = [np.asarray(values, dtype=np.float64) for values in rows["input_values"]]
            keep = [channels.index(channel) for channel in EEG_CHANNELS]
            recording = np.concatenate([trial[keep] for trial in trials], axis=1)  # (6, trials x trial samples)
            trial_seconds = trials[0].shape[1] / RATE
            stem = f"sub-{subject}_task-scp_run-{run}"
            write_edf(folder / f"{stem}_eeg.edf", recording, list(EEG_CHANNELS))
            _tsv(
                folder / f"{stem}_events.tsv",
                [["onset", "duration", "trial_type"]]
                + [
                    [f"{i * trial_seconds:g}", f"{trial_seconds:g}", classes[label]]
                    for i, label in enumerate(rows["label"])
                ],
            )
            _tsv(
                folder / f"{stem}_channels.tsv",
                [["name", "type", "units", "status"], *([channel, "EEG", "uV", "good"] for channel in EEG_CHANNELS)],
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label-budget", type=positive_int, default=None, help="labelled windows per class")
    parser.add_argument("--tiny", action="store_true", help="16 trials per run and 2 labels per class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args()
    budget = args.label_budget or (2 if args.tiny else 5)

    from citrus_hf.commands.main import main as citrus

    work = Path(args.output_dir or tempfile.mkdtemp(prefix="citrus-bids-"))
    root = work / "bids"
    write_bids(root, 16 if args.tiny else None)
    print(f"BIDS dataset written in {root} (2 subjects, 2 runs each)")
    options = ['test_subjects=["02"]', f"window_seconds={WINDOW_SECONDS:g}"]
    # What the dataset gives: its events as windows, per split, with its subjects and recordings.
    if citrus(["data", "info", str(root), "--dataset-options", *options]) != 0:
        sys.exit(1)
    # The same as `citrus finetune --model citrus-small --dataset bids --dataset-options 'test_subjects=["02"]'
    # window_seconds=3.5 --label-budget 5 ...` in a shell.
    command = [
        "finetune", "--model", "citrus-small", "--dataset", str(root), "--dataset-options", *options,
        "--label-budget", str(budget), "--seed", str(args.seed), "--output-dir", str(work / "model"),
        "--overwrite-output-dir", "--no-show-progress",
    ]  # fmt: skip
    if citrus(command) != 0:  # `citrus` printed the one-line reason
        sys.exit(1)


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
