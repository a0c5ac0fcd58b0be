"""Pre-train citrus-base on one GPU in a few minutes, and compare its training throughput with transformers' PatchTST.

1. Pre-training: `pretrain(PretrainArguments.from_recipe("base"))` (see `PRETRAIN_RECIPES["base"]`: citrus-small's
   input contract and corpus, a 256-wide 4-layer transformer, bf16, 256 windows per step, 2,000 steps). Recorded:
   the run's seconds,
   end-to-end windows/s (steps x batch / seconds, data loading, validation and checkpoints included), the final
   training loss, the held-out loss on real validation windows and its predict-the-mean baseline.
2. Throughput: one pre-training step (forward, backward, AdamW) of `CiTrusForPretraining` and of `transformers`'
   `PatchTSTForPretraining` at the same size (`citrus_hf.evaluation.baselines.build_patchtst_pretraining`), timed in
   alternation on the same batches with the same autocast dtype (`benchmarks/measure.py`, `benchmarks/speed.py`'s
   step): model windows/s of each and the ratio, without data loading.

Writes the figures as JSON (`--json`). `--device cpu --tiny` runs the same code on the tiny model for a few steps in
seconds (what the test does); its numbers say nothing about a GPU.

A GPU machine without the offline archives gets the corpus packed: `--pack-corpus corpus.npz` (where the archives
are) writes the recipe's corpus as the model sees it, every aligned window's signal (the patches `patch_mask`
keeps) standardised per window and stored in float16, about 16 MB for `pretrain_corpus`; `--corpus corpus.npz`
(on the GPU machine) turns it back into a `save_to_disk` folder (`packed_corpus/`, beside the output folder) with the
same windows and a note of the corpus and options they were packed from (as `citrus data build --output` leaves), and
trains on it: the run's summary records that corpus (`dataset_built_from`), so evaluation's corpus check applies to the
checkpoint (aligning z-scores every window anyway, with the checkpoint's default `normalization`, so the packed scale
changes nothing but float16 rounding).

    python benchmarks/gpu_pretrain.py --output-dir runs/citrus-base --json gpu_pretrain.json
    python benchmarks/gpu_pretrain.py --pack-corpus corpus.npz
    python benchmarks/gpu_pretrain.py --corpus corpus.npz --output-dir runs/citrus-base --json gpu_pretrain.json
    python benchmarks/gpu_pretrain.py --device cpu --tiny --output-dir /tmp/gpu-smoke --json /tmp/gpu-smoke.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

from citrus_hf.commands import UsageError
from citrus_hf.commands.script import positive_int, run_script

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import check_device, time_alternating  # noqa: E402
from speed import make_step  # noqa: E402

# The tiny smoke setting: the same path on the tiny model, numpy-only generators, a couple of steps.
TINY_CHANGES = dict(
    model_config="tiny",
    config_overrides={},
    dataset="eeg_pretrain",
    synthetic_ratio=0.5,
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
PACKED_SPLITS = ("train", "validation")


def pack_corpus(path: str, changes: dict) -> dict:
    """Write the recipe's corpus, aligned to its model's contract, as `path` (.npz): per split, every window's kept
    samples (its `patch_mask` patches, padding dropped) standardised per window, float16, end to end, with each
    window's sample count. Returns the counts written."""
    from citrus_hf.data.alignment import align_corpus
    from citrus_hf.data.builders import corpus_evaluation_sets
    from citrus_hf.data.splits import load_split
    from citrus_hf.loading import build_config
    from citrus_hf.training.pretrain import PretrainArguments

    args = PretrainArguments.from_recipe("base", output_dir="unused", **changes)
    config = build_config(args.model_config, **args.config_overrides)
    arrays = {
        "dataset": np.array(args.dataset),
        "dataset_options": np.array(json.dumps(args.dataset_options)),
        "sampling_rate": np.array(config.sampling_rate),
        # the labelled sets registered here, whose evaluation spans pretrain_corpus holds out (the note records them)
        "evaluation_sets": np.array(json.dumps(corpus_evaluation_sets(args.dataset))),
    }
    counts = {}
    for split in PACKED_SPLITS:
        windows = align_corpus(load_split(args.dataset, split, args.dataset_options), config).with_format("numpy")
        signal, masks = np.asarray(windows["input_values"])[:, 0], np.asarray(windows["patch_mask"]).astype(bool)
        lengths = masks.sum(axis=1) * config.patch_length
        if not np.array_equal(masks, np.arange(masks.shape[1]) < masks.sum(axis=1, keepdims=True)):
            raise ValueError("an aligned window keeps patches after padding; packing keeps only a window's start")
        kept = [row[:length] for row, length in zip(signal, lengths)]
        standardised = [(row - row.mean()) / (row.std() or 1.0) for row in kept]
        arrays[f"{split}_values"] = np.concatenate(standardised).astype(np.float16)
        arrays[f"{split}_lengths"] = lengths.astype(np.int32)
        counts[split] = {"windows": len(kept), "samples": int(lengths.sum())}
    np.savez(path, **arrays)
    return counts


def unpack_corpus(path: str, folder: str) -> tuple[str, str]:
    """The packed corpus `path` as a `save_to_disk` folder (`input_values` (1, samples) float32 and `sampling_rate`
    per row, the splits it was packed with) that notes the registered corpus and options it was packed from (as
    `citrus data build --output` does: a run on the folder records them, and evaluation's corpus check reads them);
    returns the folder and the corpus's name."""
    import datasets

    from citrus_hf.data.builders import save_built_dataset

    packed = np.load(path)
    # files packed before the options were stored held the recipe's corpus with its default options
    options = json.loads(str(packed["dataset_options"])) if "dataset_options" in packed else {}
    splits = {}
    for split in PACKED_SPLITS:
        rows = np.split(packed[f"{split}_values"].astype(np.float32), np.cumsum(packed[f"{split}_lengths"])[:-1])
        splits[split] = datasets.Dataset.from_dict(
            {"input_values": [row[None] for row in rows], "sampling_rate": [float(packed["sampling_rate"])] * len(rows)}
        )
    held_out = json.loads(str(packed["evaluation_sets"])) if "evaluation_sets" in packed else None
    save_built_dataset(datasets.DatasetDict(splits), str(packed["dataset"]), folder, options, held_out)
    return folder, str(packed["dataset"])


def packed_corpus_folder(output_dir: str) -> Path:
    """Where `--corpus` is unpacked: `packed_corpus/` beside the output folder, named from its absolute path, so that
    `--output-dir .` (or `runs/..`, whose own name is empty) has one too.

    Raises:
        UsageError: the output folder is the file system's root, which has nothing beside it.
    """
    folder = Path(output_dir).resolve()
    if folder.parent == folder:
        raise UsageError(
            f"--output-dir {output_dir!r} is the root folder, with no folder beside it for the unpacked --corpus "
            "(packed_corpus/); give a sub-folder."
        )
    return folder.parent / "packed_corpus"


def run_pretraining(output_dir: str, tiny: bool, changes: dict, report_to: str, corpus: str | None) -> dict:
    from citrus_hf.training.pretrain import SUMMARY_FILE, PretrainArguments, pretrain

    changes = {**(TINY_CHANGES if tiny else {}), **changes}
    if corpus is not None:  # the run's summary records the corpus the folder notes (`dataset_built_from`)
        changes["dataset"], _ = unpack_corpus(corpus, str(packed_corpus_folder(output_dir)))
        changes["dataset_options"] = {}
    args = PretrainArguments.from_recipe("base", output_dir=output_dir, report_to=report_to, **changes)
    result = pretrain(args)
    summary = json.loads((Path(result.output_dir) / SUMMARY_FILE).read_text())
    # the settings that ran (precision and accumulation left to Accelerate resolved), as the run's summary records them
    ran = summary["arguments"]
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


def measure_throughput(
    model_config: str, overrides: dict, device: str, dtype: str, batch_size: int, rounds: int, steps: int
) -> dict:
    """Training windows/s of CiTrus and PatchTST pre-training steps at the same size, on the same batches."""
    from citrus_hf import CiTrusForPretraining
    from citrus_hf.evaluation.baselines import build_patchtst_pretraining
    from citrus_hf.loading import build_config

    config = build_config(model_config, **overrides)
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
    parser.add_argument("--max-steps", type=positive_int, help="override the recipe's 2,000 steps")
    parser.add_argument("--synthetic-ratio", type=float, help="override the recipe's share of synthetic windows")
    parser.add_argument("--num-workers", type=int, help="override the recipe's DataLoader workers")
    parser.add_argument("--config-overrides", type=json.loads, help="override the recipe's model settings (JSON)")
    parser.add_argument("--corpus", help="train on this packed corpus (--pack-corpus) instead of building it here")
    parser.add_argument("--pack-corpus", metavar="NPZ", help="only write the recipe's corpus, packed, to this file")
    parser.add_argument("--skip-throughput", action="store_true", help="pre-train only")
    parser.add_argument("--skip-pretraining", action="store_true", help="time the recipe's model only")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bf16", help="autocast dtype of the throughput")
    parser.add_argument("--batch-size", type=positive_int, help="throughput batch (default: the recipe's 256; tiny: 8)")
    parser.add_argument("--rounds", type=positive_int, default=5, help="alternating timing rounds of the throughput")
    parser.add_argument("--steps-per-round", type=positive_int, default=10)
    parser.add_argument("--report-to", choices=("none", "tensorboard"), default="tensorboard")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    if args.pack_corpus:
        counts = pack_corpus(args.pack_corpus, TINY_CHANGES if args.tiny else {})
        print(f"packed {counts} into {args.pack_corpus} ({Path(args.pack_corpus).stat().st_size / 1e6:.1f} MB)")
        if args.json:
            Path(args.json).write_text(json.dumps(counts, indent=2))
        return counts
    check_device(parser, args.device, "run the smoke setting with --device cpu --tiny")
    if args.device == "cpu":
        os.environ["ACCELERATE_USE_CPU"] = "1"  # Accelerate would otherwise take a GPU if there is one

    results = {
        "device": args.device,
        "device_name": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
        "torch": torch.__version__,
        "tiny": args.tiny,
    }
    changes = {
        "max_steps": args.max_steps,
        "synthetic_ratio": args.synthetic_ratio,
        "num_workers": args.num_workers,
        "config_overrides": args.config_overrides,
    }
    changes = {key: value for key, value in changes.items() if value is not None}
    if args.skip_pretraining:
        from citrus_hf.training.pretrain import PRETRAIN_RECIPES

        recipe = {**PRETRAIN_RECIPES["base"], **(TINY_CHANGES if args.tiny else {})}
    else:
        results["pretraining"] = pretraining = run_pretraining(
            args.output_dir, args.tiny, changes, args.report_to, args.corpus
        )
        recipe = pretraining["arguments"]
        print(f"\ncitrus-base on {results['device_name']}: {pretraining['steps']} steps in "
              f"{pretraining['seconds']:.0f} s, {pretraining['windows_per_s_end_to_end']:.0f} windows/s end to end")  # fmt: skip
        print(
            f"held-out loss {pretraining['final_eval_loss']}, predict-the-mean baseline {pretraining['baseline_loss']}"
        )
    if args.skip_throughput:
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        return results
    results["throughput"] = measure_throughput(
        recipe["model_config"],
        recipe["config_overrides"],
        args.device,
        args.dtype,
        args.batch_size or recipe["per_device_batch_size"],
        args.rounds,
        args.steps_per_round,
    )
    throughput = results["throughput"]
    print(f"pre-training step, batch {throughput['batch_size']}, {throughput['dtype']} autocast: CiTrus "
          f"{throughput['citrus']['windows_per_s']:.0f} windows/s, PatchTST {throughput['patchtst']['windows_per_s']:.0f}"
          f" windows/s, ratio {throughput['ratio']:.2f}x")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
