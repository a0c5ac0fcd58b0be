"""Classify and embed real recordings with transformers pipelines, and check that every CPU inference path gives the
fp32 predictions.

A CiTrus classifier of the seglearn smartwatch exercises (6-axis IMU at 50 Hz, 7 exercises; `watch_exercises`,
fetched by `citrus data fetch --offline-corpus`) is fine-tuned on the training subjects (or given with `--model`).
Then, as any transformers user would:

    classify = pipeline(model=folder)             # no task: the checkpoint names its pipeline
    result = classify(recording, sampling_rate=50)  # the whole recording, any length

labels every 4 s window of each whole recording of the subjects the model never saw, and the whole recording by the
mean of its windows' probabilities. Every inference path (fp32 PyTorch, bf16, ONNX Runtime when installed, and what
"auto" picks) then classifies the same windows, and then the windows of the set's test split: the tables give the
windows whose predicted class equals fp32's, the largest logit difference and, on the test split, the window accuracy.
Last, the feature-extraction pipeline embeds one recording.

    python examples/pipeline_inference.py                    # fine-tunes a small classifier first (minutes)
    python examples/pipeline_inference.py --model runs/watch # a classifier from `citrus finetune`
    python examples/pipeline_inference.py --tiny             # a quick check

The classifier is the one examples/long_recording_inference.py fine-tunes; the folder it is saved in is printed, and
`--model FOLDER` re-uses it. `citrus finetune` makes the same one (see that example's docstring):

    citrus finetune --dataset watch_exercises --model-config small --normalization dataset --recipe finetune \
        --config-overrides sampling_rate=50 context_length=200 patch_length=20 --max-steps 600 --eval-steps 50 \
        --per-device-batch-size 32 --output-dir runs/watch
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from long_recording_inference import RATE, watch_classifier  # the same classifier (this folder's example)
from transformers import pipeline

import citrus_hf  # noqa: F401  (registers CiTrus and its pipelines with transformers)
from citrus_hf.commands.script import run_script
from citrus_hf.data import build_dataset
from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import load_npy
from citrus_hf.inference.backends import joined_paths, load_backend, onnx_export_available


def held_out_recordings() -> tuple[list[np.ndarray], list[int], list[str]]:
    """The whole recordings `(6, time)` of the test subjects of `watch_exercises`, their exercise and subject."""
    held_out = set(build_dataset("watch_exercises")["test"]["subject"])
    content = load_npy(next(iter(source_members("seglearn_watch").values()))).item()
    recordings, labels, subjects = [], [], []
    for signal, label, subject in zip(content["X"], content["y"], content["subject"]):
        name = f"watch-{int(subject):02d}"
        if name in held_out:
            recordings.append(np.asarray(signal, dtype=np.float32).T)
            labels.append(int(label))
            subjects.append(name)
    return recordings, labels, subjects


def window_logits(results: list[dict], label2id: dict[str, int]) -> np.ndarray:
    """`(windows, num_labels)` logits from results of `function_to_apply="none", top_k=num_labels`."""
    rows = []
    for result in results:
        for window in result["windows"]:
            row = np.empty(len(label2id))
            for entry in window["labels"]:
                row[label2id[entry["label"]]] = entry["score"]
            rows.append(row)
    return np.stack(rows)


def paths_that_ran(results: list[dict]) -> str:
    """Every inference path that computed some of `results`' windows, e.g. "bf16+torch": "auto" races small batches
    apart from large ones, and a list's short recordings share passes, so one call can run on two paths (the first
    result's `"backend"` alone named one of them)."""
    return joined_paths(result["backend"] for result in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a fine-tuned CiTrus classifier of watch_exercises (default: train one)")
    parser.add_argument("--tiny", action="store_true", help="a tiny classifier trained for a few steps")
    parser.add_argument("--onnx-cache-dir", help="where the onnxruntime path caches its export (default: user cache)")
    args = parser.parse_args()

    model_dir = args.model or watch_classifier(args.tiny)

    classify = pipeline(model=model_dir, onnx_cache_dir=args.onnx_cache_dir)
    config = classify.model.config
    print(f"pipeline(model=...) chose the task {classify.task!r} ({type(classify).__name__})")

    recordings, labels, subjects = held_out_recordings()
    results = classify(recordings, sampling_rate=RATE)
    print(
        f"\n{len(recordings)} whole recordings of the subjects the model never saw ({', '.join(sorted(set(subjects)))}):"
    )
    print("  subject    seconds  windows  recording label (score)  true")
    for index in range(0, len(results), max(1, len(results) // 8)):
        result, seconds = results[index], recordings[index].shape[1] / RATE
        print(
            f"  {subjects[index]}  {seconds:7.1f}  {len(result['windows']):7d}  "
            f"{result['label']:<6} ({result['score']:.2f})           {config.id2label[labels[index]]}"
        )
    accuracy = np.mean([config.label2id[result["label"]] == label for result, label in zip(results, labels)])
    print(f"Recording accuracy: {accuracy:.3f} (chance {1 / config.num_labels:.3f}); ran on {paths_that_ran(results)}")

    # The "onnxruntime" row exports the model once (`citrus export MODEL` does the same ahead of time), so "auto",
    # which never exports, races the cached file against fp32 PyTorch (and bf16 on CPUs with native bf16).
    backends = ["torch", "bf16"] + (["onnxruntime"] if onnx_export_available() is None else []) + ["auto"]
    print("\nThe same windows on every inference path, against fp32 PyTorch:")
    print("  backend       ran           windows  same class  max |logit diff|  seconds")
    reference = None
    for backend in backends:
        options = dict(sampling_rate=RATE, backend=backend, function_to_apply="none", top_k=config.num_labels)
        classify(recordings[:1], **options)  # load the backend (export, first-batch check) before timing
        start = time.perf_counter()
        backend_results = classify(recordings, **options)
        seconds = time.perf_counter() - start
        logits = window_logits(backend_results, config.label2id)
        reference = logits if reference is None else reference
        same = int(np.sum(logits.argmax(-1) == reference.argmax(-1)))
        print(
            f"  {backend:<12}  {paths_that_ran(backend_results):<12}  {len(logits):7d}  {same:>4d} / {len(logits):<4d}"
            f"{np.abs(logits - reference).max():16.2e}  {seconds:7.2f}"
        )

    # The windows of the set's test split (cut by its builder, aligned by the checkpoint's extractor), through each
    # path as `load_backend` runs it (what the pipeline runs inside), against fp32 PyTorch and the true labels.
    test = build_dataset("watch_exercises")["test"].with_format("numpy")[:]
    features = classify.feature_extractor(test["input_values"], sampling_rate=RATE, return_tensors="pt")
    print(f"\nThe {len(test['label'])} windows of the test split on every path, against fp32 PyTorch:")
    print("  backend       same class    max |logit diff|  window accuracy")
    reference = None
    for backend in [name for name in backends if name != "auto"]:
        path = load_backend(classify.model, backend, cache_dir=args.onnx_cache_dir)
        logits = path(features["input_values"], features.get("patch_mask")).numpy()
        reference = logits if reference is None else reference
        same = int(np.sum(logits.argmax(-1) == reference.argmax(-1)))
        accuracy = np.mean(logits.argmax(-1) == test["label"])
        print(
            f"  {backend:<12}  {same:>4d} / {len(logits):<4d}  {np.abs(logits - reference).max():16.2e}  "
            f"{accuracy:15.3f}"
        )

    embed = pipeline("time-series-feature-extraction", model=model_dir, onnx_cache_dir=args.onnx_cache_dir)
    embedding = embed(recordings[0], sampling_rate=RATE, pooling="mean_max")
    print(
        f"\nEmbedding of one recording: {embedding['embedding'].shape[0]} values (mean of "
        f"{len(embedding['windows'])} window embeddings, {embedding['backend']})"
    )


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
