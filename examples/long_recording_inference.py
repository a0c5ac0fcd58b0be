"""Classify an 81-minute recording window by window, with the time of every window and the time per label.

The recording is real: all 140 smartwatch IMU recordings of the seglearn shoulder-exercise set (6 channels at 50 Hz,
10 subjects, 7 exercises; fetch with `citrus data fetch --offline-corpus`) played back to back, as one long session
would be recorded. A CiTrus classifier fine-tuned on the training subjects' windows (`watch_exercises`) labels every
4 s window of it through the transformers pipeline (`pipeline(model=folder)`: the checkpoint names its task), which
cuts the long recording into model windows (`alignment="window"`), runs them in batches on the fastest CPU path that
keeps the predictions, and says where each window starts. Accuracy is reported separately for the subjects the model
never saw and for those it was trained on, and the time per exercise the pipeline's result gives (`label_seconds`)
beside the recordings' own.

    python examples/long_recording_inference.py                     # fine-tunes a small classifier first (minutes)
    python examples/long_recording_inference.py --model runs/watch  # a classifier from `citrus finetune`
    python examples/long_recording_inference.py --tiny              # a quick check

The classifier it fine-tunes is saved in a temporary folder, printed at the end of its training; `--model FOLDER`
re-uses it. The same classifier from the command line (a small CiTrus trained from random weights on the set's own
4 s windows, as here):

    citrus finetune --dataset watch_exercises --model-config small --normalization dataset --recipe finetune \
        --config-overrides sampling_rate=50 context_length=200 patch_length=20 --max-steps 600 --eval-steps 50 \
        --per-device-batch-size 32 --output-dir runs/watch
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from transformers import pipeline

import citrus_hf  # noqa: F401  (registers CiTrus and its pipelines with transformers)
from citrus_hf.commands.script import positive_float, run_script
from citrus_hf.configuration_citrus import check_checkpoint_reference
from citrus_hf.data import build_dataset
from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import load_npy
from citrus_hf.training.finetune import FinetuneArguments, TrainerSettings, finetune

RATE = 50.0  # Hz, the watch recordings' rate


def long_session() -> tuple[np.ndarray, list[tuple[float, float, int, str]]]:
    """All watch recordings back to back: `(6, time)` and, per recording, (start s, end s, exercise, subject)."""
    path = next(iter(source_members("seglearn_watch").values()))
    content = load_npy(path).item()
    pieces, segments, start = [], [], 0.0
    for signal, label, subject in zip(content["X"], content["y"], content["subject"]):
        signal = np.asarray(signal, dtype=np.float32).T  # (6, time)
        pieces.append(signal)
        end = start + signal.shape[1] / RATE
        segments.append((start, end, int(label), f"watch-{int(subject):02d}"))
        start = end
    return np.concatenate(pieces, axis=1), segments


def watch_classifier(tiny: bool) -> str:
    """Fine-tune a CiTrus classifier on the training subjects of watch_exercises (a small one for 600 steps, or a
    tiny one for a few) in a temporary folder, which it prints, and return the folder (the `citrus finetune` command
    of the module docstring trains the same one)."""
    model_dir = tempfile.mkdtemp(prefix="citrus-watch-")
    print("Fine-tuning a classifier on the training subjects of watch_exercises ...")
    finetune(
        FinetuneArguments(
            output_dir=model_dir,
            dataset="watch_exercises",
            model_config="tiny" if tiny else "small",
            # the set's own window: 4 s at 50 Hz
            config_overrides={"sampling_rate": RATE, "context_length": 200, "patch_length": 20},
            normalization="dataset",
            recipe="finetune",  # a classifier trained end to end for a set number of steps, from random weights
            trainer=TrainerSettings(
                max_steps=30 if tiny else 600,
                eval_steps=15 if tiny else 50,
                per_device_batch_size=32,
                show_progress=False,
            ),
        )
    )
    print(f"Classifier saved in {model_dir} (re-use it with --model {model_dir})")
    return model_dir


def clock(seconds: float) -> str:
    minutes, seconds = divmod(seconds, 60.0)
    return f"{int(minutes) // 60:02d}:{int(minutes) % 60:02d}:{seconds:04.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a fine-tuned CiTrus classifier of watch_exercises (default: train one)")
    parser.add_argument("--hop-seconds", type=positive_float, default=2.0, help="time between window starts")
    parser.add_argument("--backend", default="auto", help="inference path: auto, torch, bf16 or onnxruntime")
    parser.add_argument("--tiny", action="store_true", help="a tiny classifier trained for a few steps")
    args = parser.parse_args()

    if args.model is not None:
        check_checkpoint_reference(args.model)  # a mistyped folder: one line, not the Hub's words for a repo id
    model_dir = args.model or watch_classifier(args.tiny)
    classify = pipeline(model=model_dir, batch_size=256)
    extractor, config = classify.feature_extractor, classify.model.config
    hop = round(args.hop_seconds * extractor.sampling_rate)
    if hop < 1:
        raise ValueError(
            f"--hop-seconds {args.hop_seconds:g} is less than one sample at the model's {extractor.sampling_rate:g} Hz; "
            f"give at least {1 / extractor.sampling_rate:g}."
        )
    names = [config.id2label[i] for i in range(config.num_labels)]
    held_out = set(build_dataset("watch_exercises")["test"]["subject"])

    recording, segments = long_session()
    print(
        f"Recording: {recording.shape[0]} channels x {recording.shape[1]} samples at {RATE:g} Hz = "
        f"{recording.shape[1] / RATE / 60:.1f} min"
    )
    start = time.perf_counter()
    result = classify(recording, sampling_rate=RATE, hop_length=hop, backend=args.backend)
    windows = result["windows"]
    predicted = np.array([config.label2id[window["label"]] for window in windows])
    confidence = np.array([window["score"] for window in windows])
    starts = np.array([window["start"] for window in windows])
    print(
        f"{len(starts)} windows of {extractor.context_length / extractor.sampling_rate:g} s every "
        f"{args.hop_seconds:g} s, classified in {time.perf_counter() - start:.1f} s ({result['backend']} backend); "
        f"the whole session: {result['label']}"
    )

    # Ground truth of a window: the recording under its middle.
    window_seconds = extractor.context_length / extractor.sampling_rate
    bounds = np.array([segment[1] for segment in segments])
    under = np.searchsorted(bounds, starts + window_seconds / 2.0, side="right").clip(max=len(segments) - 1)
    truth = np.array([segments[i][2] for i in under])
    unseen = np.array([segments[i][3] in held_out for i in under])

    print("\n  start      predicted  confidence  true")
    for index in range(0, len(starts), max(1, len(starts) // 20)):
        print(
            f"  {clock(starts[index])}  {names[predicted[index]]:<9}  {confidence[index]:10.2f}  {names[truth[index]]}"
        )
    correct = predicted == truth
    print(
        f"\nPer-window accuracy: {correct[unseen].mean():.3f} on the {unseen.sum()} windows of subjects the model "
        f"never saw ({', '.join(sorted(held_out))}); {correct[~unseen].mean():.3f} on the other subjects' windows "
        f"(training and validation data). Chance: {1 / len(names):.3f}."
    )

    # How long each exercise lasted: the pipeline's `label_seconds` counts every second the windows cover once (the
    # 2 s where two windows overlap go to the one whose middle is nearer), against the recordings' own durations.
    scored = sum(result["label_seconds"].values())
    true_seconds = dict.fromkeys(names, 0.0)
    for segment_start, segment_end, exercise, _ in segments:
        true_seconds[names[exercise]] += segment_end - segment_start
    print(
        f"\nTime per label (result['label_seconds'], {scored / 60:.1f} min scored, "
        f"{result['unscored_seconds']:g} s at the end in no window):"
    )
    print("  label      predicted   true")
    for name in sorted(names, key=lambda label: -result["label_seconds"][label]):
        print(f"  {name:<9}  {result['label_seconds'][name] / 60:5.1f} min  {true_seconds[name] / 60:5.1f} min")


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
