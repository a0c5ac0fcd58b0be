"""Publish a CiTrus classifier to the Hub with its feature extractor and model card, then load it back.

The push is one commit: weights (safetensors), config, feature extractor, model card and the model code, so that
people without citrus-hf can load it with `trust_remote_code=True`. The round trip is checked on real recordings:
smartwatch accelerometer + gyroscope windows of the BasicMotions set (6 channels at 10 Hz), aligned by the extractor.

    hf auth login                              # or HF_TOKEN=...
    python examples/hub_round_trip.py --checkpoint runs/har --repo-id you/citrus-har
    python examples/hub_round_trip.py --tiny --repo-id you/citrus-tiny      # a small untrained model, in seconds

`HF_ENDPOINT` points it at another Hub (the tests use a local server speaking the Hub API).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from citrus_hf import (
    CiTrusConfig,
    CiTrusFeatureExtractor,
    CiTrusForSequenceClassification,
    build_model_card,
    load_feature_extractor,
    load_pretrained,
    push_to_hub,
)
from citrus_hf.data import build_dataset


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
        model = load_pretrained(args.checkpoint)
        extractor = load_feature_extractor(args.checkpoint)

    # The card reads the run's own records (finetune_results.json: dataset, label budget, test metrics, recipe) from
    # the checkpoint's folder; the untrained model has none, and claims no training data.
    card = build_model_card(model, extractor, repo_id=args.repo_id, run_dir=args.checkpoint)
    commit = push_to_hub(model, args.repo_id, extractor, card, private=args.private)
    print(f"pushed {args.repo_id} at {commit.oid[:10]}")

    # Load back from the Hub, exactly as a user would, and compare on real windows.
    hub_model = load_pretrained(args.repo_id)
    hub_extractor = load_feature_extractor(args.repo_id)
    test = build_dataset("basic_motions")["test"].with_format("numpy")[:8]
    rate = float(test["sampling_rate"][0])
    with torch.no_grad():
        local = model(**extractor(test["input_values"], sampling_rate=rate, return_tensors="pt")).logits
        remote = hub_model(**hub_extractor(test["input_values"], sampling_rate=rate, return_tensors="pt")).logits
    difference = float((local - remote).abs().max())
    labels = [model.config.id2label[int(i)] for i in remote.argmax(-1)]
    print(f"predictions after the round trip: {labels}")
    print(f"largest logit difference local vs Hub: {difference:.2e}")
    if not np.isfinite(difference) or difference > 1e-5:
        raise SystemExit("the model loaded from the Hub does not reproduce the local one")
    return difference


if __name__ == "__main__":
    main()
