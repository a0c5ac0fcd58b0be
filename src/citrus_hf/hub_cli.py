"""`citrus push`: publish a saved CiTrus checkpoint (model + feature extractor + model card + code) to the Hub."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `push` sub-command to the `citrus` parser; it sets `func` to the function that runs it."""
    parser = subparsers.add_parser(
        "push",
        help="publish a checkpoint folder to the Hugging Face Hub",
        description=(
            "Publish a checkpoint folder written by save_pretrained (or by `citrus finetune` / `citrus pretrain`) as "
            "one commit: model.safetensors, config, feature extractor, a model card and the model code, so that "
            "`AutoModel*.from_pretrained(repo, trust_remote_code=True)` works without this package."
        ),
    )
    parser.add_argument("checkpoint", type=Path, help="folder with config.json and model.safetensors")
    parser.add_argument("repo_id", help="Hub repository, `namespace/name` (created if missing)")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument("--revision", help="branch to commit to (created from main if missing); default main")
    parser.add_argument("--eval-results", type=Path, help="JSON written by `citrus evaluate`, for the model card")
    parser.add_argument("--arm", help="with --eval-results: the evaluated arm this checkpoint is, e.g. citrus-time")
    parser.add_argument("--token", help="Hub token (default: HF_TOKEN or the `hf auth login` token)")
    parser.add_argument("--base-model", help="Hub id of the pre-trained checkpoint this model was fine-tuned from")
    parser.add_argument("--dataset", action="append", default=[], help="Hub dataset id used for training (repeatable)")
    parser.add_argument("--pretraining-corpus", help="pre-training corpus, for the model card")
    parser.add_argument("--hyperparameters", type=Path, help="JSON object of training hyper-parameters, for the card")
    parser.add_argument("--license", default="apache-2.0", help="license of the weights (default apache-2.0)")
    parser.add_argument("--commit-message", default="Upload CiTrus model, feature extractor and model card")
    parser.set_defaults(func=run_push)
    return parser


def run_push(args: argparse.Namespace) -> int:
    """Load the checkpoint with this package's classes (no remote code), build its card and publish it."""
    from . import modeling_citrus
    from .configuration_citrus import CiTrusConfig
    from .feature_extraction_citrus import CiTrusFeatureExtractor
    from .hub import build_model_card, push_to_hub

    checkpoint: Path = args.checkpoint
    if args.repo_id.count("/") != 1:
        raise SystemExit(f"citrus push: repo id {args.repo_id!r} must be `namespace/name`, e.g. `my-user/citrus-eeg`.")
    if not (checkpoint / "config.json").is_file():
        raise SystemExit(f"citrus push: {checkpoint} has no config.json; pass a folder written by save_pretrained.")
    config = CiTrusConfig.from_pretrained(checkpoint)
    architecture = (config.architectures or [None])[0]
    model_class = getattr(modeling_citrus, architecture, None) if architecture else None
    if model_class is None:
        raise SystemExit(
            f"citrus push: {checkpoint}/config.json names architecture {architecture!r}, not a CiTrus model class."
        )
    model = model_class.from_pretrained(checkpoint)
    if (checkpoint / "preprocessor_config.json").is_file():
        feature_extractor = CiTrusFeatureExtractor.from_pretrained(checkpoint)
    else:
        # The extractor derived from the config applies exactly the contract the model was trained on.
        feature_extractor = CiTrusFeatureExtractor.from_config(model.config)
        print(f"{checkpoint} has no preprocessor_config.json: publishing the feature extractor of its config.")
    hyperparameters = None
    if args.hyperparameters is not None:
        hyperparameters = json.loads(args.hyperparameters.read_text())
        if not isinstance(hyperparameters, dict):
            raise SystemExit(f"citrus push: {args.hyperparameters} must hold a JSON object of hyper-parameters.")
    card = build_model_card(
        model,
        feature_extractor,
        repo_id=args.repo_id,
        base_model=args.base_model,
        datasets=args.dataset or None,
        pretraining={"corpus": args.pretraining_corpus} if args.pretraining_corpus else None,
        hyperparameters=hyperparameters,
        eval_results=args.eval_results,
        model_arm=args.arm,
        license=args.license,
    )
    commit = push_to_hub(
        model,
        args.repo_id,
        feature_extractor,
        card,
        private=args.private,
        revision=args.revision,
        commit_message=args.commit_message,
        token=args.token,
    )
    print(f"Pushed {checkpoint} to {args.repo_id}: {commit.commit_url}")
    return 0
