"""Publish a CiTrus classifier to the Hub with its feature extractor and model card, then load it back.

The push is one commit: weights (safetensors), config, feature extractor, model card and the model code, so that
people without citrus-hf can load it with `trust_remote_code=True`
(`AutoModelForSequenceClassification.from_pretrained(repo, trust_remote_code=True)`, `AutoFeatureExtractor` alike).
The round trip loads it with that code, the repository's own, and compares it with the local model on real
recordings: the test split of the set the checkpoint was fine-tuned on (named in its `finetune_results.json`),
aligned by each side's extractor. `--tiny` publishes a small untrained 6-channel model and checks it on smartwatch
accelerometer + gyroscope windows of BasicMotions (6 channels at 10 Hz).

    hf auth login                              # or HF_TOKEN=...
    python examples/hub_round_trip.py --checkpoint runs/har --repo-id you/citrus-har
    python examples/hub_round_trip.py --tiny --repo-id you/citrus-tiny      # a small untrained model, in seconds

`--checkpoint` is a classifier folder from `citrus finetune` (other task models: `citrus push`). `HF_ENDPOINT` points
it at another Hub (the tests use a local server speaking the Hub API).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from transformers import AutoConfig

from citrus_hf import (
    CiTrusConfig,
    CiTrusFeatureExtractor,
    CiTrusForSequenceClassification,
    build_model_card,
    load_feature_extractor,
    load_pretrained,
    push_to_hub,
)
from citrus_hf.commands.script import run_script
from citrus_hf.configuration_citrus import check_checkpoint_reference
from citrus_hf.data.splits import load_split


def check_windows(checkpoint: str | None, count: int = 8) -> tuple[list[np.ndarray], float, str]:
    """`count` real test windows for the round trip, their sampling rate and where they come from: the test split
    of the set the checkpoint was fine-tuned on, or BasicMotions' for the untrained model (and a checkpoint without
    run records, which must then take its 6 channels)."""
    dataset, options, rate = "basic_motions", None, None
    records = Path(checkpoint or "", "finetune_results.json")
    if checkpoint and records.is_file():
        arguments = json.loads(records.read_text())["arguments"]
        dataset, options, rate = arguments["dataset"], arguments["dataset_options"], arguments["sampling_rate"]
    test = load_split(dataset, "test", options)
    rows = test.select(range(min(count, len(test)))).with_format("numpy")
    # a save_to_disk folder may have no sampling_rate column: the run was then given its rate
    rate = float(rows["sampling_rate"][0]) if "sampling_rate" in rows.column_names else float(rate)
    return list(rows["input_values"]), rate, f"{len(rows)} test windows of {dataset}"


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo-id", required=True, help="namespace/name of the model repository")
    parser.add_argument("--checkpoint", help="a fine-tuned classifier folder (save_pretrained output)")
    parser.add_argument("--tiny", action="store_true", help="publish a small untrained 6-channel model instead")
    parser.add_argument("--private", action="store_true")
    args = parser.parse_args(argv)
    if bool(args.checkpoint) == bool(args.tiny):
        parser.error("give either --checkpoint or --tiny")

    if args.tiny:
        torch.manual_seed(0)
        config = CiTrusConfig(
            sampling_rate=100, context_length=1000, num_channels=6, num_labels=4, d_model=32,
            num_attention_heads=4, num_hidden_layers=2, ffn_dim=64,
            id2label={0: "Standing", 1: "Running", 2: "Walking", 3: "Badminton"},
        )  # fmt: skip
        model = CiTrusForSequenceClassification(config).eval()
        extractor = CiTrusFeatureExtractor.from_config(config)
    else:
        check_checkpoint_reference(args.checkpoint)  # a mistyped folder: one line, not the Hub's words for a repo id
        architectures = AutoConfig.from_pretrained(args.checkpoint).architectures or ["a model of no task"]
        if architectures[0] != CiTrusForSequenceClassification.__name__:
            parser.error(
                f"{args.checkpoint} holds a {architectures[0]}; this example publishes a classifier: "
                f"use `citrus push {args.checkpoint} {args.repo_id}` for other models"
            )
        model = load_pretrained(args.checkpoint)
        extractor = load_feature_extractor(args.checkpoint)
    windows, rate, source = check_windows(args.checkpoint)  # before the push: a wrong folder fails with nothing sent

    # The card reads the run's own records (finetune_results.json: dataset, label budget, test metrics, recipe) from
    # the checkpoint's folder; the untrained model has none, and claims no training data.
    card = build_model_card(model, extractor, repo_id=args.repo_id, run_dir=args.checkpoint)
    commit = push_to_hub(model, args.repo_id, extractor, card, private=args.private)
    print(f"pushed {args.repo_id} at {commit.oid[:10]}")

    # Load back from the Hub with the repository's own code, as someone without citrus-hf does with
    # `AutoModelForSequenceClassification.from_pretrained(repo, trust_remote_code=True)` (and AutoFeatureExtractor).
    # Here citrus-hf is imported, and transformers' Auto classes prefer a registered local class to remote code, so
    # the package's loader asks for the repository's classes explicitly.
    hub_model = load_pretrained(args.repo_id, trust_remote_code=True)
    hub_extractor = load_feature_extractor(args.repo_id, trust_remote_code=True)
    print(f"loaded back with trust_remote_code=True: {type(hub_model).__module__}.{type(hub_model).__name__}")
    with torch.no_grad():
        local = model(**extractor(windows, sampling_rate=rate, return_tensors="pt")).logits
        remote = hub_model(**hub_extractor(windows, sampling_rate=rate, return_tensors="pt")).logits
    difference = float((local - remote).abs().max())
    labels = [model.config.id2label[int(i)] for i in remote.argmax(-1)]
    print(f"predictions after the round trip on {source}: {labels}")
    print(f"largest logit difference local vs Hub: {difference:.2e}")
    if not np.isfinite(difference) or difference > 1e-5:
        raise SystemExit("the model loaded from the Hub does not reproduce the local one")
    return difference


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
