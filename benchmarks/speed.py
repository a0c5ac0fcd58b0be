"""CiTrus against transformers' PatchTST at the matched transformer size, on the same batches, in one run.

Pre-training (`CiTrusForPretraining` vs `PatchTSTForPretraining`, mask ratio 0.5) and classification inference
(`CiTrusForSequenceClassification` vs `PatchTSTForClassification`) for the paper configuration: 1 channel, 3000
samples (30 s at 100 Hz), patch 20, 4 layers, d_model 64, 8 heads, feed-forward 128.

Inference runs CiTrus on every inference backend asked for (`--backend`: fp32 PyTorch "torch", "bf16" autocast with
blocked attention, "onnxruntime"; see `citrus_hf.inference.backends`), each splitting a batch across the threads as
the package does by default (`--batch-threads`), and PatchTST in fp32 and under bf16 autocast, both as transformers
runs them and split across the threads the same way, at `--batch-size` and at batch 1. Each CiTrus path's ratio is
printed against PatchTST in fp32 as transformers runs it and against PatchTST's best path of the four (the anchor).
Then a fusion classifier of two such encoders (EEG and EOG of a sleep night, one window each) runs on the fp32 and
bf16 paths (`load_backend` of a fusion model; ONNX Runtime does not run one), at `--batch-size` and at batch 1, and
bf16's speed is printed as a ratio of fp32's. Then a full night is staged through the classification pipeline
(`pipeline(model=folder)`: alignment, windowing, batching and the backend it picks), timed end to end.

On CPU the inference comparison runs twice, each time in a process of its own, because how the C library hands out
large buffers moves PatchTST's figures more than anything CiTrus does: "fresh" is a new process with glibc's defaults,
as a user's inference script starts, where PatchTST's attention buffers (23 MB per layer at batch 32) are mapped
from the OS and given back on every call; "heap" keeps them on the heap (`HEAP_ALLOCATOR_ENV`), as a process that
has done other large work first may (PatchTST in fp32 ran 1,083 windows/s at batch 32 after the pre-training
comparison in the same process, 708-914 in fresh processes, 987-1,070 in "heap" ones). CiTrus's paths reuse their
large buffers, so they run alike in both.

The machine is noisy, so the cases are timed in alternation, round after round, and the tables report medians over
rounds; ratios compare numbers from the same rounds. Peak memory is measured in a fresh subprocess per model and mode
(peak RSS growth over the step on CPU, `torch.cuda.max_memory_allocated` on CUDA). "in attention" is the share of the
step's operator time inside scaled-dot-product attention (torch.profiler, CPU only): at inference both models run it
on the same shapes in fp32, so PatchTST's share bounds how much faster CiTrus can be at all in fp32.

    python benchmarks/speed.py                      # CPU: pre-training, every inference backend, the night
    python benchmarks/speed.py --backend bf16 --no-train
    python benchmarks/speed.py --no-train --night-windows 0 --no-memory   # inference paths and the fusion ratio
    python benchmarks/speed.py --device cuda --dtype bf16 --backend torch --night-windows 0
    python benchmarks/speed.py --tiny --rounds 1 --steps-per-round 1 --night-windows 3   # every stage, a tiny model
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PatchTSTConfig, PatchTSTForClassification, PatchTSTForPretraining

from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, CiTrusForPretraining, CiTrusForSequenceClassification
from citrus_hf.commands.script import positive_int, run_script
from citrus_hf.inference.backends import InferenceBackend, InferenceTarget, cpu_bf16_support, load_backend

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import attention_share, check_device, in_fresh_process, step_peak_memory_mb, time_alternating  # noqa: E402

PAPER = dict(context_length=3000, patch_length=20, d_model=64, num_hidden_layers=4, num_attention_heads=8, ffn_dim=128)
# `--tiny`: every stage's code path on a model small enough to run in seconds (the tests' setting; its figures mean
# nothing). `_use_sizes` puts it in place of the paper configuration, in this process and in the comparison's fresh
# ones.
TINY = dict(context_length=1000, patch_length=20, d_model=32, num_hidden_layers=1, num_attention_heads=4, ffn_dim=64)
_PAPER_SIZES = dict(PAPER)


def _use_sizes(tiny: bool) -> None:
    """Set PAPER to the sizes this run measures (the paper's, or TINY's under `--tiny`) afresh on every call: a second
    `main()` in one process (a notebook, a test) measures what its own arguments say, not the last run's sizes."""
    PAPER.clear()
    PAPER.update({**_PAPER_SIZES, **(TINY if tiny else {})})


INFERENCE_BACKENDS = ("torch", "bf16", "onnxruntime")
# the classifiers stage sleep: the night below runs the same model as the throughput comparison (and its ONNX export)
SLEEP_STAGES = ["W", "N1", "N2", "N3", "REM"]
NUM_LABELS = len(SLEEP_STAGES)
NIGHT_RATE = 100.0  # Hz: Sleep-EDF's EEG rate, the model's rate
# glibc's settings that keep large buffers on the heap: the largest mmap threshold it takes (32 MB, above PatchTST's
# attention buffers) and a trim threshold no step reaches. Either alone does not do it: setting any of them turns off
# glibc's own raising of the mmap threshold, and the trim threshold alone then mapped every buffer above 128 kB anew
# (both models ran 0.6x as fast). Other C libraries ignore them.
HEAP_ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(4 * 2**30)}
# The inference comparison's runs on CPU, each in a process of its own: results key -> (environment, table heading).
# The first also gives the main table's fp32 rows.
ALLOCATOR_STATES = {
    "inference": ({}, "in a fresh process"),
    "inference_heap": (HEAP_ALLOCATOR_ENV, "in a fresh process, large buffers kept on the heap"),
}


def build(name: str, mode: str, backbone: str = "hybrid"):
    """One of the four models of the comparison, with its input layout: `(model, takes_channels_last)`."""
    if name == "citrus":
        labels = {"id2label": dict(enumerate(SLEEP_STAGES)), "label2id": {s: i for i, s in enumerate(SLEEP_STAGES)}}
        config = CiTrusConfig(**PAPER, num_channels=1, num_labels=NUM_LABELS, backbone=backbone, **labels)
        model = CiTrusForPretraining(config) if mode == "train" else CiTrusForSequenceClassification(config)
        return model, False
    config = PatchTSTConfig(
        num_input_channels=1,
        context_length=PAPER["context_length"],
        patch_length=PAPER["patch_length"],
        patch_stride=PAPER["patch_length"],
        d_model=PAPER["d_model"],
        num_hidden_layers=PAPER["num_hidden_layers"],
        num_attention_heads=PAPER["num_attention_heads"],
        ffn_dim=PAPER["ffn_dim"],
        do_mask_input=mode == "train",
        random_mask_ratio=0.5,
        num_targets=NUM_LABELS,
    )
    model = PatchTSTForPretraining(config) if mode == "train" else PatchTSTForClassification(config)
    return model, True


def make_step(model, channels_last: bool, mode: str, device: str, dtype: torch.dtype | None):
    """A closure running one training step (forward, backward, AdamW) or one inference forward on a batch."""
    model.to(device)
    autocast = torch.autocast(device_type=device.split(":")[0], dtype=dtype) if dtype else None
    if mode == "train":
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def step(batch):
            with autocast or nullcontext():
                loss = model(past_values=batch.transpose(1, 2)).loss if channels_last else model(batch).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    else:
        model.eval()

        @torch.inference_mode()
        def step(batch):
            with autocast or nullcontext():
                model(past_values=batch.transpose(1, 2)) if channels_last else model(batch)

    return step


def _measure_memory(name, mode, batch_size, device, dtype_name, backbone, tiny: bool = False) -> float:
    """A step's peak memory in MB, for `in_fresh_process`: that process reads PAPER as this file defines it, so
    `--tiny` travels as `tiny` (otherwise a tiny run's memory column measured the paper configuration)."""
    _use_sizes(tiny)
    torch.manual_seed(0)
    model, channels_last = build(name, mode, backbone)
    step = make_step(model, channels_last, mode, device, _DTYPES[dtype_name])
    return step_peak_memory_mb(step, torch.randn(batch_size, 1, PAPER["context_length"], device=device), device)


_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def _row(args, name, mode, model, step, batch, seconds, batch_size) -> dict:
    return {
        "windows_per_s": batch_size / seconds,
        # profiled over a round's steps, three at most: a quick run's single step (the tests') spent more time in the
        # profiler, and in parsing its events, than in everything it measured
        "attention_share": attention_share(step, batch, args.device, steps=min(3, args.steps_per_round)),
        "params": sum(p.numel() for p in model.parameters()),
        "peak_mb": None
        if args.no_memory
        else in_fresh_process(
            Path(__file__), "_measure_memory", name, mode, batch_size, args.device, args.dtype, args.backbone, args.tiny
        ),
    }


def compare_training(args, batches) -> dict:
    """Pre-training step of CiTrus and PatchTST, alternating rounds."""
    models, steps = {}, {}
    for name in ("citrus", "patchtst"):
        torch.manual_seed(0)
        models[name], channels_last = build(name, "train", args.backbone)
        steps[name] = make_step(models[name], channels_last, "train", args.device, _DTYPES[args.dtype])
    seconds = time_alternating(steps, batches, args.device, args.rounds, args.steps_per_round)
    results = {
        f"train/{name}": _row(
            args, name, "train", models[name], steps[name], batches[0], seconds[name], len(batches[0])
        )
        for name in models
    }
    results["train/ratio"] = results["train/citrus"]["windows_per_s"] / results["train/patchtst"]["windows_per_s"]
    return results


class SplitPatchTST(InferenceBackend):
    """PatchTST's classification forward pass (under autocast to `dtype`, or fp32) behind the package's backend
    interface, so that it splits a batch across threads exactly as the CiTrus paths do."""

    def __init__(self, model, dtype: torch.dtype | None, batch_threads: int):
        super().__init__(model.eval(), InferenceTarget(), batch_threads)
        self.dtype = dtype

    @torch.inference_mode()
    def _forward(self, input_values, patch_mask, in_share):
        with torch.autocast("cpu", dtype=self.dtype) if self.dtype else nullcontext():
            return self.model(past_values=input_values.transpose(1, 2)).prediction_logits.float()


def _speeds_by_batch(
    args, steps: dict[str, Callable[[Any], Any]], windows: Callable[..., Any], device: str
) -> Iterator[tuple[int, list, dict[str, float]]]:
    """`(batch size, its four batches, {step: windows per second})` at `--batch-size` and then 1, the `steps` timed
    in alternating rounds (`time_alternating`) on batches that `windows(batch_size, 1, context_length)` draws (a
    tensor, or a fusion model's dict of them): the inference and fusion comparisons time alike."""
    for batch_size in dict.fromkeys((args.batch_size, 1)):
        batches = [windows(batch_size, 1, PAPER["context_length"]) for _ in range(4)]
        # a batch-1 step is short: more steps per round keep the timer's resolution out of the figures
        steps_per_round = args.steps_per_round * max(1, args.batch_size // (4 * batch_size))
        seconds = time_alternating(steps, batches, device, args.rounds, steps_per_round)
        yield batch_size, batches, {name: batch_size / seconds[name] for name in steps}


def compare_inference(args, backends: list[str], main_rows: bool = True) -> tuple[dict, dict]:
    """Classification inference: CiTrus on each backend, PatchTST in fp32 and bf16 (as transformers runs it, and
    split across threads), at `--batch-size` and 1.

    Returns `({"batch32": {"windows_per_s": {case: speed}, "ratios": {backend: {...}}}, ...}, rows)`, `rows` being
    the fp32 rows of the main table (`inference/citrus`, `inference/patchtst`, their ratio and ceiling) when
    `main_rows` (their profile and peak-memory subprocesses cost time), else empty."""
    torch.manual_seed(0)
    citrus, _ = build("citrus", "inference", args.backbone)
    citrus.to(args.device).eval()
    torch.manual_seed(0)
    patchtst, _ = build("patchtst", "inference", args.backbone)
    steps = {}
    for backend in backends:
        runner = load_backend(
            citrus, backend, InferenceTarget("logits"), cache_dir=args.onnx_cache_dir, batch_threads=args.batch_threads
        )
        steps[f"citrus-{backend}"] = lambda batch, runner=runner: runner(batch)
    # PatchTST's reduced precision is bf16 autocast on CPU (its best path is the anchor), `--dtype` elsewhere.
    reduced = "bf16" if args.device == "cpu" else args.dtype
    split_threads = args.batch_threads or torch.get_num_threads()
    split = args.device == "cpu" and split_threads > 1
    for dtype in dict.fromkeys(("fp32", reduced)):
        steps[f"patchtst-{dtype}"] = make_step(patchtst, True, "inference", args.device, _DTYPES[dtype])
        if split:
            path = SplitPatchTST(patchtst, _DTYPES[dtype], split_threads)
            steps[f"patchtst-{dtype}-split"] = lambda batch, path=path: path(batch)

    by_batch, rows = {}, {}
    windows = functools.partial(torch.randn, device=args.device)
    for batch_size, batches, speeds in _speeds_by_batch(args, steps, windows, args.device):
        best_patchtst = max(speed for name, speed in speeds.items() if name.startswith("patchtst"))
        ratios = {
            backend: {
                "vs_patchtst_fp32": speeds[f"citrus-{backend}"] / speeds["patchtst-fp32"],
                "vs_patchtst_best": speeds[f"citrus-{backend}"] / best_patchtst,
            }
            for backend in backends
        }
        by_batch[f"batch{batch_size}"] = {"windows_per_s": speeds, "ratios": ratios}
        if main_rows and batch_size == args.batch_size and "torch" in backends:
            # the profiler sees only the calling thread: attention's share is measured on the batch run in one call
            whole = load_backend(citrus, "torch", batch_threads=1)
            fp32 = {"citrus": (citrus, whole), "patchtst": (patchtst, steps["patchtst-fp32"])}
            for name, (model, step) in fp32.items():
                key = "citrus-torch" if name == "citrus" else "patchtst-fp32"
                rows[f"inference/{name}"] = _row(
                    args, name, "inference", model, step, batches[0], batch_size / speeds[key], batch_size
                )
            rows["inference/ratio"] = speeds["citrus-torch"] / speeds["patchtst-fp32"]
            share = rows["inference/patchtst"]["attention_share"]
            if share:
                rows["inference/ceiling"] = 1 / share
    return by_batch, rows


def compare_fusion(args) -> dict:
    """A fusion classifier of two paper-configuration encoders ("eeg" and "eog", 1 x 3000 samples each) on fp32
    PyTorch and bf16, split across the threads as the package does, at `--batch-size` and 1.

    Returns `{"batch32": {"windows_per_s": {"fusion-torch": ..., "fusion-bf16": ...}, "bf16_vs_fp32": ratio}, ...}`.
    """
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification

    modalities = ("eeg", "eog")
    encoder = CiTrusConfig(**PAPER, num_channels=1, backbone=args.backbone)
    config = CiTrusFusionConfig(modality_configs=dict.fromkeys(modalities, encoder), num_labels=NUM_LABELS)
    torch.manual_seed(0)
    model = CiTrusFusionForSequenceClassification(config).eval()
    steps = {}
    for backend in ("torch", "bf16"):
        runner = load_backend(model, backend, batch_threads=args.batch_threads)
        steps[f"fusion-{backend}"] = lambda batch, runner=runner: runner(batch)
    results = {}

    def windows(*shape: int) -> dict[str, torch.Tensor]:
        return {name: torch.randn(*shape) for name in modalities}

    for batch_size, _, speeds in _speeds_by_batch(args, steps, windows, "cpu"):
        results[f"batch{batch_size}"] = {
            "windows_per_s": speeds,
            "bf16_vs_fp32": speeds["fusion-bf16"] / speeds["fusion-torch"],
        }
    return results


def _compare_inference_in_this_process(arguments: dict, backends: list[str], main_rows: bool) -> dict:
    """`compare_inference` for `in_fresh_process`: the command line's arguments as a dict, the results as JSON."""
    _use_sizes(arguments["tiny"])
    by_batch, rows = compare_inference(argparse.Namespace(**arguments), backends, main_rows)
    return {"by_batch": by_batch, "rows": rows}


def night_recording(num_windows: int) -> np.ndarray:
    """`(1, num_windows * 3000)` samples of real EEG at 100 Hz: the 64 channels of PhysioNet's EEG Motor
    Movement/Imagery subject 1 run 2 (61 s at 160 Hz each, from the offline corpus) resampled to 100 Hz and played
    end to end, repeated until the night is full. (Speed does not depend on the content; the signal is real anyway.)"""
    from scipy.signal import resample_poly

    from citrus_hf.data.fetch import source_members
    from citrus_hf.data.readers import read_edf

    recording = read_edf(next(iter(source_members("eegmmi_s001r02").values())))
    eeg = resample_poly(recording.data, 5, 8, axis=-1).reshape(-1)  # 160 Hz -> 100 Hz, channels end to end
    length = num_windows * PAPER["context_length"]
    return np.tile(eeg, -(-length // eeg.size))[:length][None].astype(np.float32)


def stage_night(args, backends: list[str]) -> dict:
    """Seconds to stage a night through `pipeline(model=folder)`: alignment (100 Hz in, 30 s windows, z-scored),
    batching and the model, per backend and with the one "auto" picks; median of alternating rounds."""
    from transformers import pipeline

    torch.manual_seed(0)
    model, _ = build("citrus", "inference", args.backbone)
    night = night_recording(args.night_windows)
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder)
        staging = pipeline(model=folder, batch_size=args.night_batch_size, onnx_cache_dir=args.onnx_cache_dir)
    runs = {backend: {"backend": backend} for backend in (*backends, "auto")}
    # warm-up: loads each backend (exports, first-batch checks) outside the timing, and lets "auto" race its paths on
    # one batch of the night's size (it races small and large batches apart, once each per pipeline)
    warm_up = night[:, : args.night_batch_size * PAPER["context_length"]]
    for options in runs.values():
        options["ran"] = staging(warm_up, sampling_rate=NIGHT_RATE, **options)["backend"]
    times = {name: [] for name in runs}
    for round_index in range(max(1, args.rounds // 2)):
        for name in runs if round_index % 2 == 0 else list(runs)[::-1]:
            start = time.perf_counter()
            result = staging(night, sampling_rate=NIGHT_RATE, backend=name)
            times[name].append(time.perf_counter() - start)
            assert len(result["windows"]) == args.night_windows
            runs[name]["ran"] = result["backend"]
    return {
        "windows": args.night_windows,
        "seconds": {name: statistics.median(values) for name, values in times.items()},
        "auto_ran": runs["auto"]["ran"],
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=sorted(_DTYPES), default="fp32", help="autocast dtype of pre-training")
    parser.add_argument("--backend", choices=[*INFERENCE_BACKENDS, "all"], default="all", help="CiTrus inference")
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument(
        "--batch-threads",
        type=positive_int,
        help="threads splitting each batch (default: torch's threads; 1: no split)",
    )
    # Rounds of a few steps (7 of 3 before: about 0.1 s per path and round at inference) are short against the shared
    # machine's bursts; a run of 15 rounds of 10 takes about 4 minutes with everything on.
    parser.add_argument("--rounds", type=positive_int, default=15)
    parser.add_argument("--steps-per-round", type=positive_int, default=10)
    parser.add_argument("--backbone", default="hybrid", choices=["hybrid", "transformer", "cnn"])
    parser.add_argument("--no-train", action="store_true", help="skip the pre-training comparison")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--no-fusion", action="store_true", help="skip the fusion classifier's bf16 / fp32 ratio")
    parser.add_argument(
        "--night-windows",
        type=int,
        default=960,
        help=f"windows of the night, {PAPER['context_length'] / NIGHT_RATE:g} s each "
        f"({TINY['context_length'] / NIGHT_RATE:g} s with --tiny; 0: skip)",
    )
    parser.add_argument(
        "--night-batch-size", type=positive_int, default=64, help="the pipeline's windows per forward pass"
    )
    parser.add_argument("--onnx-cache-dir", help="where exported ONNX models are cached (default: the user cache)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--tiny", action="store_true", help="a tiny model instead of the paper's: a quick check")
    args = parser.parse_args(argv)
    check_device(parser, args.device)
    _use_sizes(args.tiny)
    backends = list(INFERENCE_BACKENDS) if args.backend == "all" else [args.backend]
    if args.device != "cpu":
        backends = ["torch"]  # bf16 autocast and ONNX Runtime are the CPU paths

    torch.manual_seed(0)
    batches = [torch.randn(args.batch_size, 1, PAPER["context_length"], device=args.device) for _ in range(4)]
    results = {
        "device": args.device,
        "dtype": args.dtype,
        "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
        "cpu_bf16": cpu_bf16_support(),
    }
    if not args.no_train:
        results.update(compare_training(args, batches))
    if args.device == "cpu":
        for index, (key, (env, _)) in enumerate(ALLOCATOR_STATES.items()):
            measured = in_fresh_process(
                Path(__file__), "_compare_inference_in_this_process", vars(args), backends, index == 0, env=env
            )
            results[key] = measured["by_batch"]
            results.update(measured["rows"])
    else:
        results["inference"], rows = compare_inference(args, backends)
        results.update(rows)
    if args.device == "cpu" and not args.no_fusion:
        results["fusion"] = compare_fusion(args)
    if args.night_windows:
        results["night"] = stage_night(args, backends)
    report(args, results, backends)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return results


def report(args, results: dict, backends: list[str]) -> None:
    print(
        f"\nCiTrus ({args.backbone}) vs transformers PatchTST, 1 x {PAPER['context_length']} samples, patch "
        f"{PAPER['patch_length']}, d_model {PAPER['d_model']}, {PAPER['num_hidden_layers']} layers, "
        f"{PAPER['num_attention_heads']} heads, ffn {PAPER['ffn_dim']}; {args.device}, {torch.get_num_threads()} threads, native bf16: "
        f"{results['cpu_bf16'] or 'no'}; median of {args.rounds} alternating rounds\n"
    )
    rows = [("train", "pre-training step")] if not args.no_train else []
    if "inference/citrus" in results:
        rows.append(("inference", "classification inference"))
    if rows:
        header = (
            f"| {'mode':<24} | {'model':<9} | {'windows/s':>10} | {'peak MB':>8} | {'params':>8} | "
            f"{'in attention':>12} |"
        )
        print(f"batch {args.batch_size}, {args.dtype} (pre-training) / fp32 (inference):\n")
        print(header)
        print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
        for mode, label in rows:
            for name in ("citrus", "patchtst"):
                row = results[f"{mode}/{name}"]
                peak = "n/a" if row["peak_mb"] is None else f"{row['peak_mb']:.0f}"
                share = "n/a" if row["attention_share"] is None else f"{row['attention_share']:.0%}"
                print(
                    f"| {label:<24} | {name:<9} | {row['windows_per_s']:>10.1f} | {peak:>8} | {row['params']:>8,} "
                    f"| {share:>12} |"
                )
        print()
        if not args.no_train:
            print(f"training throughput CiTrus / PatchTST: {results['train/ratio']:.2f}x (target >= 1.0x)")
        if "inference/ceiling" in results:
            print(
                f"fp32 inference CiTrus (batch split across threads) / PatchTST: {results['inference/ratio']:.2f}x; "
                f"PatchTST spends {1 / results['inference/ceiling']:.0%} of its step in attention, which fp32 CiTrus "
                f"runs on the same shapes: run the same way (one call per batch), with everything else free, fp32 "
                f"CiTrus / PatchTST could reach at most {results['inference/ceiling']:.2f}x"
            )
    headings = {key: f" {heading}" for key, (_, heading) in ALLOCATOR_STATES.items()}
    for key, heading in (headings if args.device == "cpu" else {"inference": ""}).items():
        print(
            f"\nclassification inference by path{heading} (windows/s; ratios against PatchTST fp32 and its best "
            "path):\n"
        )
        _report_paths(results[key])
    print("(targets: >= 1.5x PatchTST fp32 at batch 32; goal 2x PatchTST's best path)")
    if "fusion" in results:
        print()
    for key, batch in results.get("fusion", {}).items():
        speeds = batch["windows_per_s"]
        print(
            f"fusion classifier (eeg + eog, 1 x {PAPER['context_length']} each), batch {key[5:]:>3}: fp32 {speeds['fusion-torch']:.1f}, "
            f"bf16 {speeds['fusion-bf16']:.1f} windows/s; bf16 / fp32 {batch['bf16_vs_fp32']:.2f}x"
        )
    night = results.get("night")
    if night:
        hours = night["windows"] * PAPER["context_length"] / NIGHT_RATE / 3600
        print(
            f"\nA night ({night['windows']} windows of {PAPER['context_length'] / NIGHT_RATE:g} s at 100 Hz = {hours:.1f} h, 1 channel) through "
            f"pipeline(model=folder), alignment included, batch {args.night_batch_size}, "
            f"{torch.get_num_threads()} threads:"
        )
        for name, seconds in night["seconds"].items():
            ran = f" (ran {night['auto_ran']})" if name == "auto" else ""
            print(f"  backend={name:<12} {seconds:6.2f} s{ran}")
        print("(target: under 1 s on 2 cores)")


def _report_paths(by_batch: dict) -> None:
    """The windows/s of every inference path at each batch size, then each CiTrus path's ratios."""
    names = list(next(iter(by_batch.values()))["windows_per_s"]) if by_batch else []
    header = f"| {'path':<20} |" + "".join(f" {f'batch {key[5:]}':>10} |" for key in by_batch)
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
    for name in names:
        cells = "".join(f" {batch['windows_per_s'][name]:>10.1f} |" for batch in by_batch.values())
        print(f"| {name:<20} |{cells}")
    print()
    for key, batch in by_batch.items():
        for backend, ratio in batch["ratios"].items():
            print(
                f"batch {key[5:]:>3}: CiTrus {backend:<11} / PatchTST fp32 {ratio['vs_patchtst_fp32']:.2f}x, "
                f"/ PatchTST best path {ratio['vs_patchtst_best']:.2f}x"
            )


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
