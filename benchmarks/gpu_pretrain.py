"""Pre-train citrus-base on one GPU in a few minutes, and compare its training throughput with transformers' PatchTST.

1. Pre-training: `pretrain(PretrainArguments.from_recipe("base"))` (see `PRETRAIN_RECIPES["base"]`: the paper-size
   model, bf16, 256 windows per step, 2,000 steps, half the windows synthetic). Recorded: the run's seconds,
   end-to-end windows/s (steps x batch / seconds, data loading, validation and checkpoints included), the final
   training loss, the held-out loss on real validation windows and its predict-the-mean baseline.
2. Throughput: one pre-training step (forward, backward, AdamW) of `CiTrusForPretraining` and of `transformers`'
   `PatchTSTForPretraining` at the same size (`citrus_hf.evaluation.baselines.build_patchtst_pretraining`), timed in
   alternation on the same batches with the same autocast dtype (`benchmarks/measure.py`, `benchmarks/speed.py`'s
   step): model windows/s of each and the ratio, without data loading.

Writes the figures as JSON (`--json`). `--device cpu --tiny` runs the same code on the tiny model for a few steps in
seconds (what the test does); its numbers say nothing about a GPU.

    python benchmarks/gpu_pretrain.py --output-dir runs/citrus-base --json gpu_pretrain.json
    python benchmarks/gpu_pretrain.py --device cpu --tiny --output-dir /tmp/gpu-smoke --json /tmp/gpu-smoke.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import time_alternating  # noqa: E402
from speed import make_step  # noqa: E402

# The tiny smoke setting: the same path on the tiny model, numpy-only generators, a couple of steps.
TINY_CHANGES = dict(
    model_config="tiny",
    dataset_options={"window_seconds": 10.0, "hop_seconds": 10.0},
    per_device_batch_size=8,
    mixed_precision="no",
    max_steps=2,
    synthetic_generators={"kernel_synth": 1.0, "cauker": 1.0},
    num_workers=0,
    logging_steps=1,
    eval_steps=2,
    plot_steps=2,
    save_steps=2,
)
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}


def run_pretraining(output_dir: str, tiny: bool, max_steps: int | None, report_to: str) -> dict:
    from citrus_hf.training.pretrain import SUMMARY_FILE, PretrainArguments, pretrain

    changes = dict(TINY_CHANGES) if tiny else {}
    if max_steps is not None:
        changes["max_steps"] = max_steps
    args = PretrainArguments.from_recipe("base", output_dir=output_dir, report_to=report_to, **changes)
    result = pretrain(args)
    # the settings that ran (precision and accumulation left to Accelerate resolved), as the run's summary records them
    ran = json.loads((Path(result.output_dir) / SUMMARY_FILE).read_text())["arguments"]
    windows = result.steps * ran["per_device_batch_size"] * ran["gradient_accumulation_steps"] * result.world_size
    return {
        "arguments": ran,
        "output_dir": result.output_dir,
        "steps": result.steps,
        "world_size": result.world_size,
        "seconds": result.seconds,
        "windows_per_s_end_to_end": windows / result.seconds,
        "final_train_loss": result.final_loss,
        "final_eval_loss": result.eval_losses[-1][1] if result.eval_losses else None,
        "baseline_loss": result.eval_baseline_losses[-1][1] if result.eval_baseline_losses else None,
        "synthetic_ratio": result.synthetic_ratio,
    }


def measure_throughput(model_config: str, device: str, dtype: str, batch_size: int, rounds: int, steps: int) -> dict:
    """Training windows/s of CiTrus and PatchTST pre-training steps at the same size, on the same batches."""
    from citrus_hf import CiTrusForPretraining
    from citrus_hf.evaluation.baselines import build_patchtst_pretraining
    from citrus_hf.loading import build_config

    config = build_config(model_config)
    torch.manual_seed(0)
    models = {"citrus": CiTrusForPretraining(config), "patchtst": build_patchtst_pretraining(config)}
    step_functions = {
        name: make_step(model, name == "patchtst", "train", device, DTYPES[dtype]) for name, model in models.items()
    }
    batches = [torch.randn(batch_size, 1, config.context_length, device=device) for _ in range(4)]
    seconds = time_alternating(step_functions, batches, device, rounds, steps)
    results = {"model_config": model_config, "batch_size": batch_size, "dtype": dtype, "rounds": rounds}
    for name, model in models.items():
        results[name] = {
            "windows_per_s": batch_size / seconds[name],
            "params": sum(p.numel() for p in model.parameters()),
        }
    results["ratio"] = results["citrus"]["windows_per_s"] / results["patchtst"]["windows_per_s"]
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", default="runs/citrus-base", help="where the pre-trained model goes")
    parser.add_argument("--device", default="cuda", help="cuda (the GPU path) or cpu (with --tiny: a smoke test)")
    parser.add_argument("--tiny", action="store_true", help="the tiny model for a couple of steps (seconds)")
    parser.add_argument("--max-steps", type=int, help="override the recipe's 2,000 steps")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bf16", help="autocast dtype of the throughput")
    parser.add_argument("--batch-size", type=int, help="throughput batch (default: the recipe's 256; tiny: 8)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing rounds of the throughput")
    parser.add_argument("--steps-per-round", type=int, default=10)
    parser.add_argument("--report-to", choices=("none", "tensorboard"), default="tensorboard")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("no CUDA device here; run the smoke setting with --device cpu --tiny")
    if args.device == "cpu":
        os.environ["ACCELERATE_USE_CPU"] = "1"  # Accelerate would otherwise take a GPU if there is one

    results = {
        "device": args.device,
        "device_name": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
        "torch": torch.__version__,
        "tiny": args.tiny,
        "pretraining": run_pretraining(args.output_dir, args.tiny, args.max_steps, args.report_to),
    }
    recipe = results["pretraining"]["arguments"]
    results["throughput"] = measure_throughput(
        recipe["model_config"],
        args.device,
        args.dtype,
        args.batch_size or recipe["per_device_batch_size"],
        args.rounds,
        args.steps_per_round,
    )
    pretraining, throughput = results["pretraining"], results["throughput"]
    print(f"\ncitrus-{recipe['model_config']} on {results['device_name']}: {pretraining['steps']} steps in "
          f"{pretraining['seconds']:.0f} s, {pretraining['windows_per_s_end_to_end']:.0f} windows/s end to end")  # fmt: skip
    print(f"held-out loss {pretraining['final_eval_loss']}, predict-the-mean baseline {pretraining['baseline_loss']}")
    print(f"pre-training step, batch {throughput['batch_size']}, {throughput['dtype']} autocast: CiTrus "
          f"{throughput['citrus']['windows_per_s']:.0f} windows/s, PatchTST {throughput['patchtst']['windows_per_s']:.0f}"
          f" windows/s, ratio {throughput['ratio']:.2f}x")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
