"""`citrus push`: publish a saved CiTrus checkpoint (model + feature extractor + model card + code) to the Hub; a
CiTrus fusion checkpoint goes with its processor (one feature extractor per modality)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import COMMANDS


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `push` sub-command to the `citrus` parser; it sets `func` to the function that runs it."""
    parser = subparsers.add_parser(
        "push",
        help=COMMANDS["push"].help,
        description=(
            "Publish a checkpoint folder written by save_pretrained (or by `citrus finetune` / `citrus pretrain`) as "
            "one commit: model.safetensors, config, feature extractor (a fusion model's processor), a model card and "
            "the model code, so that `AutoModel*.from_pretrained(repo, trust_remote_code=True)` works without this "
            "package."
        ),
    )
    parser.add_argument("checkpoint", type=Path, help="folder with config.json and model.safetensors")
    parser.add_argument("repo_id", help="Hub repository, `namespace/name` (created if missing)")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument("--revision", help="branch to commit to (created from main if missing); default main")
    parser.add_argument("--eval-results", type=Path, help="JSON written by `citrus evaluate`, for the model card")
    parser.add_argument("--arm", help="with --eval-results: the evaluated arm this checkpoint is, e.g. citrus-time")
    parser.add_argument(
        "--eval-dataset", help="with --eval-results: this checkpoint's dataset (default: from finetune_results.json)"
    )
    parser.add_argument(
        "--eval-label-budget",
        type=int,
        help="with --eval-results: this checkpoint's labelled training windows (default: from finetune_results.json)",
    )
    parser.add_argument("--token", help="Hub token (default: HF_TOKEN or the `hf auth login` token)")
    parser.add_argument(
        "--base-model",
        action="append",
        default=[],
        help="Hub id of the pre-trained checkpoint this model was fine-tuned from (repeatable: a fusion model's encoders)",
    )
    parser.add_argument("--dataset", action="append", default=[], help="Hub dataset id used for training (repeatable)")
    parser.add_argument(
        "--pretraining-corpus",
        action="append",
        default=[],
        help="pre-training corpus, for the model card; for a fusion model MODALITY=CORPUS, once per modality",
    )
    parser.add_argument("--hyperparameters", type=Path, help="JSON object of training hyper-parameters, for the card")
    parser.add_argument("--license", default="apache-2.0", help="license of the weights (default apache-2.0)")
    parser.add_argument(
        "--commit-message",
        help="the commit's title (default: Upload CiTrus model, feature extractor and model card; for a fusion model "
        "Upload CiTrus fusion model, processor and model card)",
    )
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument("--tag", action="append", default=[], dest="tags", help="extra card tag (repeatable)")
    parser.set_defaults(func=run_push)
    return parser


def _pretraining(corpora: list[str], modalities: list[str] | None) -> dict | None:
    """`--pretraining-corpus` values as `build_model_card(pretraining=...)`: one corpus, or one per modality."""
    if not corpora:
        return None
    if modalities is None:
        if len(corpora) > 1:
            raise SystemExit("citrus push: give --pretraining-corpus once; this checkpoint has one encoder.")
        return {"corpus": corpora[0]}
    pretraining = {}
    for value in corpora:
        modality, sep, corpus = value.partition("=")
        if not sep or modality not in modalities or not corpus:
            raise SystemExit(
                f"citrus push: --pretraining-corpus {value!r}: this fusion checkpoint has one encoder per modality "
                f"{modalities}; give MODALITY=CORPUS, e.g. --pretraining-corpus '{modalities[0]}=...'."
            )
        pretraining[modality] = {"corpus": corpus}
    return pretraining


def run_push(args: argparse.Namespace) -> int:
    """Load the checkpoint with this package's classes (no remote code), build its card and publish it."""
    from .. import modeling_citrus, modeling_citrus_fusion
    from ..configuration_citrus import CiTrusConfig
    from ..configuration_citrus_fusion import CiTrusFusionConfig
    from ..feature_extraction_citrus import CiTrusFeatureExtractor
    from ..processing_citrus_fusion import CiTrusFusionProcessor
    from ..publishing.push import push_to_hub

    checkpoint: Path = args.checkpoint
    if args.repo_id.count("/") != 1:
        raise SystemExit(f"citrus push: repo id {args.repo_id!r} must be `namespace/name`, e.g. `my-user/citrus-eeg`.")
    if not (checkpoint / "config.json").is_file():
        raise SystemExit(f"citrus push: {checkpoint} has no config.json; pass a folder written by save_pretrained.")
    fusion = json.loads((checkpoint / "config.json").read_text()).get("model_type") == CiTrusFusionConfig.model_type
    if fusion:
        config_class, modeling, family = CiTrusFusionConfig, modeling_citrus_fusion, "CiTrus fusion"
        preprocessor_file, preprocessor_class = "processor_config.json", CiTrusFusionProcessor
    else:
        config_class, modeling, family = CiTrusConfig, modeling_citrus, "CiTrus"
        preprocessor_file, preprocessor_class = "preprocessor_config.json", CiTrusFeatureExtractor
    config = config_class.from_pretrained(checkpoint)
    architecture = (config.architectures or [None])[0]
    model_class = getattr(modeling, architecture, None) if architecture else None
    if model_class is None:
        raise SystemExit(
            f"citrus push: {checkpoint}/config.json names architecture {architecture!r}, not a {family} model class."
        )
    model = model_class.from_pretrained(checkpoint)
    if (checkpoint / preprocessor_file).is_file():
        feature_extractor = preprocessor_class.from_pretrained(checkpoint)
    else:
        # The extractor derived from the config applies exactly the contract the model was trained on.
        feature_extractor = preprocessor_class.from_config(model.config)
        what = "processor" if fusion else "feature extractor"
        print(f"{checkpoint} has no {preprocessor_file}: publishing the {what} of its config.")
    hyperparameters = None
    if args.hyperparameters is not None:
        hyperparameters = json.loads(args.hyperparameters.read_text())
        if not isinstance(hyperparameters, dict):
            raise SystemExit(f"citrus push: {args.hyperparameters} must hold a JSON object of hyper-parameters.")
    commit = push_to_hub(
        model,
        args.repo_id,
        feature_extractor,
        private=args.private or None,
        revision=args.revision,
        commit_message=args.commit_message,
        token=args.token,
        create_pr=args.create_pr,
        tags=args.tags,
        run_dir=checkpoint,
        base_model=(args.base_model[0] if len(args.base_model) == 1 else args.base_model) or None,
        datasets=args.dataset or None,
        pretraining=_pretraining(args.pretraining_corpus, config.modalities if fusion else None),
        hyperparameters=hyperparameters,
        eval_results=args.eval_results,
        model_arm=args.arm,
        license=args.license,
        dataset_name=args.eval_dataset,
        label_budget=args.eval_label_budget,
    )
    print(f"Pushed {checkpoint} to {args.repo_id}: {commit.pr_url or commit.commit_url}")
    return 0
