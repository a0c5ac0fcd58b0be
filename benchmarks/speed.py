"""CiTrus against transformers' PatchTST at the matched transformer size, on the same batches, in one run.

Pre-training (`CiTrusForPretraining` vs `PatchTSTForPretraining`, mask ratio 0.5) and classification inference
(`CiTrusForSequenceClassification` vs `PatchTSTForClassification`) for the paper configuration: 1 channel, 3000
samples (30 s at 100 Hz), patch 20, 4 layers, d_model 64, 8 heads, feed-forward 128.

The machine is noisy, so the two models are timed in alternation, round after round, and the table reports medians
over rounds; ratios compare numbers from the same rounds. Peak memory is measured in a fresh subprocess per model
and mode (peak RSS growth over the step on CPU, `torch.cuda.max_memory_allocated` on CUDA). "in attention" is the
share of the step's operator time inside scaled-dot-product attention (torch.profiler, CPU only): at inference both
models run it on the same shapes, so PatchTST's share bounds how much faster CiTrus can be at all.

    python benchmarks/speed.py                      # CPU, batch 32
    python benchmarks/speed.py --device cuda --dtype bf16
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext
from pathlib import Path

import torch
from transformers import PatchTSTConfig, PatchTSTForClassification, PatchTSTForPretraining

from citrus_hf import CiTrusConfig, CiTrusForPretraining, CiTrusForSequenceClassification

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import attention_share, in_fresh_process, step_peak_memory_mb, time_alternating  # noqa: E402

NUM_LABELS = 4
PAPER = dict(context_length=3000, patch_length=20, d_model=64, num_hidden_layers=4, num_attention_heads=8, ffn_dim=128)


def build(name: str, mode: str, backbone: str = "hybrid"):
    """One of the four models of the comparison, with its input layout: `(model, takes_channels_last)`."""
    if name == "citrus":
        config = CiTrusConfig(**PAPER, num_channels=1, num_labels=NUM_LABELS, backbone=backbone)
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


def _measure_memory(name, mode, batch_size, device, dtype_name, backbone) -> float:
    torch.manual_seed(0)
    model, channels_last = build(name, mode, backbone)
    step = make_step(model, channels_last, mode, device, _DTYPES[dtype_name])
    return step_peak_memory_mb(step, torch.randn(batch_size, 1, PAPER["context_length"], device=device), device)


_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=sorted(_DTYPES), default="fp32", help="autocast dtype (mixed precision)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps-per-round", type=int, default=3)
    parser.add_argument("--backbone", default="hybrid", choices=["hybrid", "transformer", "cnn"])
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    batches = [torch.randn(args.batch_size, 1, PAPER["context_length"], device=args.device) for _ in range(4)]
    dtype = _DTYPES[args.dtype]
    names = ["citrus", "patchtst"]
    results = {
        "device": args.device,
        "dtype": args.dtype,
        "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
    }
    for mode in ("train", "inference"):
        models, steps = {}, {}
        for name in names:
            torch.manual_seed(0)
            models[name], channels_last = build(name, mode, args.backbone)
            steps[name] = make_step(models[name], channels_last, mode, args.device, dtype)
        seconds = time_alternating(steps, batches, args.device, args.rounds, args.steps_per_round)
        for name in names:
            results[f"{mode}/{name}"] = {
                "windows_per_s": args.batch_size / seconds[name],
                "attention_share": attention_share(steps[name], batches[0], args.device),
                "params": sum(p.numel() for p in models[name].parameters()),
                "peak_mb": None
                if args.no_memory
                else in_fresh_process(
                    Path(__file__),
                    "_measure_memory",
                    name,
                    mode,
                    args.batch_size,
                    args.device,
                    args.dtype,
                    args.backbone,
                ),
            }
    print(
        f"\nCiTrus ({args.backbone}) vs transformers PatchTST, 1 x 3000 samples, patch 20, d_model 64, 4 layers, "
        f"8 heads, ffn 128; batch {args.batch_size}, {args.device} {args.dtype}, {torch.get_num_threads()} threads, "
        f"median of {args.rounds} alternating rounds\n"
    )
    header = (
        f"| {'mode':<24} | {'model':<9} | {'windows/s':>10} | {'peak MB':>8} | {'params':>8} | {'in attention':>12} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for mode, label in (("train", "pre-training step"), ("inference", "classification inference")):
        for name in names:
            row = results[f"{mode}/{name}"]
            peak = "n/a" if row["peak_mb"] is None else f"{row['peak_mb']:.0f}"
            share = "n/a" if row["attention_share"] is None else f"{row['attention_share']:.0%}"
            print(
                f"| {label:<24} | {name:<9} | {row['windows_per_s']:>10.1f} | {peak:>8} | {row['params']:>8,} "
                f"| {share:>12} |"
            )
    print()
    for mode, label, target in (("train", "training throughput", 1.0), ("inference", "inference throughput", 1.5)):
        ratio = results[f"{mode}/citrus"]["windows_per_s"] / results[f"{mode}/patchtst"]["windows_per_s"]
        results[f"{mode}/ratio"] = ratio
        print(f"{label} CiTrus / PatchTST: {ratio:.2f}x (target >= {target}x)")
        share = results[f"{mode}/patchtst"]["attention_share"]
        if share and mode == "inference":
            # At inference both models run scaled-dot-product attention on the same shapes (batch x 8 heads x 150
            # patches x 8), so PatchTST's attention time is a floor for CiTrus too. (Pre-training differs: CiTrus's
            # last layer attends from the masked patches only.)
            results[f"{mode}/ceiling"] = 1 / share
            print(
                f"  PatchTST spends {share:.0%} of this step in attention, which CiTrus runs on the same shapes: "
                f"with everything else free, CiTrus / PatchTST could reach at most {1 / share:.2f}x"
            )
        for key in ("peak_mb",):
            a, b = results[f"{mode}/citrus"][key], results[f"{mode}/patchtst"][key]
            if a is not None and b:
                print(f"  peak memory CiTrus / PatchTST: {a / b:.2f}x")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return results


if __name__ == "__main__":
    main()
