"""Criss-cross attention against full attention over every channel x patch token, for multi-channel EEG.

A 19-channel montage, 30 s at 100 Hz (3000 samples), patch 20: 150 patches per channel, 2850 tokens per window.

- `criss_cross`: `CiTrusModel(attention_type="criss_cross")`: 4 of the 8 heads attend across the 19 channels at the
  same patch, 4 across the 150 patches of each channel. Attention cost per layer ~ C * P^2 + P * C^2.
- `full`: the reference this benchmark defines, `FullAttentionReference`: the same CiTrus model (same CNN stem,
  d_model, heads, layers, feed-forward, SDPA attention) run on one sequence of all C * P = 2850 tokens, so every token
  attends to every other. Attention cost per layer ~ (C * P)^2.
- `channel_independent`: CiTrus's default (no cross-channel attention), for scale.

Two modes: inference (forward in eval mode under `torch.inference_mode`) and a training step (forward, a loss on the
encoder output, backward, AdamW). The cases are timed in alternation, round after round on the same batches, and the
table reports medians over rounds (the machine is shared and noisy; ratios come from the same rounds). Peak memory is
measured in a fresh subprocess per case and mode: peak RSS growth (VmHWM, reset before the steps) over two steps on CPU,
`torch.cuda.max_memory_allocated` over a steady-state step on CUDA. PyTorch's CPU SDPA kernel never materialises the
attention matrix, so with `--attention sdpa` full attention costs time quadratic in C * P but little memory;
`--attention eager` (what `output_attentions=True` uses) shows the quadratic memory.

    python benchmarks/criss_cross.py                  # CPU, batch 2
    python benchmarks/criss_cross.py --attention eager  # attention weights materialised
    python benchmarks/criss_cross.py --device cuda --batch-size 16
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch import nn

from citrus_hf import CiTrusConfig, CiTrusModel
from citrus_hf.commands.script import positive_float, positive_int, run_script

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import check_device, in_fresh_process, step_peak_memory_mb, time_alternating  # noqa: E402

CASES = ("criss_cross", "full", "channel_independent")
MODEL = dict(patch_length=20, d_model=64, num_hidden_layers=4, num_attention_heads=8, ffn_dim=128)


class FullAttentionReference(nn.Module):
    """Full attention over all channel x patch tokens: the CiTrus model on one sequence of `C * P` tokens.

    Non-overlapping patches never cross a channel boundary when each channel's length is a multiple of the patch
    length, so concatenating the channels end to end gives exactly the `C * P` patch tokens of the window, embedded
    by the same CNN stem and encoded by the same layers; only the attention pattern differs from the CiTrus model.
    Input `(batch, channels, time)`; output `(batch, 1, channels * num_patches, d_model)`.
    """

    def __init__(self, config: CiTrusConfig):
        super().__init__()
        self.citrus = CiTrusModel(config)

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        batch_size, num_channels, length = input_values.shape
        one_sequence = input_values.reshape(batch_size, 1, num_channels * length)  # channels end to end
        return self.citrus(one_sequence).last_hidden_state


class EncoderOutput(nn.Module):
    """The CiTrus encoder's last hidden state `(batch, channels, num_patches, d_model)`."""

    def __init__(self, config: CiTrusConfig):
        super().__init__()
        self.citrus = CiTrusModel(config)

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        return self.citrus(input_values).last_hidden_state


def build(case: str, channels: int, context_length: int, attention: str) -> nn.Module:
    """The model of one case for windows of `channels` x `context_length` samples."""
    torch.manual_seed(0)
    common = dict(MODEL, context_length=context_length, attn_implementation=attention)
    if case == "criss_cross":
        return EncoderOutput(CiTrusConfig(**common, attention_type="criss_cross", num_channel_attention_heads=4))
    if case == "full":
        # its one sequence is the channels end to end: a context of that length, or the model would warn on every
        # step that its input is longer than the window it was configured for
        return FullAttentionReference(CiTrusConfig(**{**common, "context_length": channels * context_length}))
    return EncoderOutput(CiTrusConfig(**common))


def make_step(model: nn.Module, mode: str, device: str):
    """One training step (forward, mean-square loss on the encoder output, backward, AdamW) or one forward."""
    model.to(device)
    if mode == "train":
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def step(batch):
            loss = model(batch).pow(2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        return step
    model.eval()

    @torch.inference_mode()
    def step(batch):
        model(batch)

    return step


def time_cases(mode, batches, device, rounds, steps_per_round, context_length, attention) -> dict[str, float]:
    """Median seconds per step of every case, timed in alternation on the same batches."""
    channels = batches[0].shape[1]
    steps = {case: make_step(build(case, channels, context_length, attention), mode, device) for case in CASES}
    return time_alternating(steps, batches, device, rounds, steps_per_round)


def measure_memory(case, mode, batch_size, channels, context_length, device, attention) -> float:
    """Peak memory (MB) of a steady-state step of one case; run through `in_fresh_process`."""
    step = make_step(build(case, channels, context_length, attention), mode, device)
    return step_peak_memory_mb(step, torch.randn(batch_size, channels, context_length, device=device), device)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=positive_int, default=2)
    parser.add_argument("--channels", type=positive_int, default=19)
    parser.add_argument("--seconds", type=positive_float, default=30.0)
    parser.add_argument("--sampling-rate", type=positive_float, default=100.0)
    parser.add_argument("--rounds", type=positive_int, default=5)
    parser.add_argument("--steps-per-round", type=positive_int, default=1)
    parser.add_argument(
        "--attention",
        choices=["sdpa", "eager"],
        default="sdpa",
        help="attention implementation; eager materialises the attention weights (as output_attentions needs)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    check_device(parser, args.device)

    context_length = round(args.seconds * args.sampling_rate)
    patch = MODEL["patch_length"]
    if context_length < patch or context_length % patch:
        # said in this script's options: the model's own check advised a context_length, which is none of them
        whole = max(1, round(context_length / patch)) * patch
        parser.error(
            f"--seconds {args.seconds:g} at --sampling-rate {args.sampling_rate:g} gives {context_length} samples, "
            f"not a positive multiple of the patch length {patch}; e.g. --seconds {whole / args.sampling_rate:g}"
        )
    num_patches = context_length // MODEL["patch_length"]
    torch.manual_seed(0)
    batches = [torch.randn(args.batch_size, args.channels, context_length, device=args.device) for _ in range(2)]
    results: dict = {
        "device": args.device,
        "batch_size": args.batch_size,
        "channels": args.channels,
        "num_patches": num_patches,
        "threads": torch.get_num_threads(),
        "attention": args.attention,
    }
    for mode in ("inference", "train"):
        seconds = time_cases(
            mode, batches, args.device, args.rounds, args.steps_per_round, context_length, args.attention
        )
        for case in CASES:
            results[f"{mode}/{case}"] = {
                "ms_per_step": 1000 * seconds[case],
                "peak_mb": None
                if args.no_memory
                else in_fresh_process(
                    Path(__file__),
                    "measure_memory",
                    case,
                    mode,
                    args.batch_size,
                    args.channels,
                    context_length,
                    args.device,
                    args.attention,
                ),
            }

    print(
        f"\n{args.channels} channels x {context_length} samples ({args.seconds:g} s at {args.sampling_rate:g} Hz), "
        f"patch {MODEL['patch_length']} -> {num_patches} patches, {args.channels * num_patches} tokens per window; "
        f"d_model {MODEL['d_model']}, {MODEL['num_hidden_layers']} layers, {MODEL['num_attention_heads']} heads; "
        f"{args.attention} attention; batch {args.batch_size}, {args.device}, {torch.get_num_threads()} threads, "
        f"median of {args.rounds} "
        "alternating rounds\n"
    )
    header = f"| {'mode':<14} | {'attention':<38} | {'ms/step':>9} | {'peak MB':>8} |"
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
    labels = {
        "criss_cross": "criss-cross (4 channel + 4 time heads)",
        "full": f"full over {args.channels * num_patches} tokens",
        "channel_independent": "channel-independent (default)",
    }
    for mode, label in (("inference", "inference"), ("train", "training step")):
        for case in CASES:
            row = results[f"{mode}/{case}"]
            peak = "n/a" if row["peak_mb"] is None else f"{row['peak_mb']:.0f}"
            print(f"| {label:<14} | {labels[case]:<38} | {row['ms_per_step']:>9.1f} | {peak:>8} |")
    print()
    for mode, label in (("inference", "inference"), ("train", "training step")):
        full, cross = results[f"{mode}/full"], results[f"{mode}/criss_cross"]
        ratios = {"time": full["ms_per_step"] / cross["ms_per_step"]}
        line = f"{label}: full / criss-cross time {ratios['time']:.2f}x"
        if cross["peak_mb"] is not None and cross["peak_mb"] > 0:
            ratios["memory"] = full["peak_mb"] / cross["peak_mb"]
            line += f", peak memory {ratios['memory']:.2f}x"
        independent = results[f"{mode}/channel_independent"]["ms_per_step"]
        ratios["criss_cross_over_independent_time"] = cross["ms_per_step"] / independent
        line += f"; criss-cross / channel-independent time {ratios['criss_cross_over_independent_time']:.2f}x"
        results[f"{mode}/ratios"] = ratios
        print(line)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return results


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
