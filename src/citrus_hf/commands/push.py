"""`citrus push`: publish a saved CiTrus checkpoint (model + feature extractor + model card + code) to the Hub; a
CiTrus fusion checkpoint goes with its processor (one feature extractor per modality)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import UsageError


@dataclass
class PushArguments:
    """Settings of `citrus push`."""

    checkpoint: str = field(
        metadata={
            "help": "folder with config.json and model.safetensors (save_pretrained), or a LoRA adapter folder "
            "(citrus finetune --lora)",
            "positional": True,
        }
    )
    repo_id: str = field(metadata={"help": "Hub repository, namespace/name (created if missing)", "positional": True})
    private: bool = field(
        default=False,
        metadata={"help": "create the repository as private (an existing public one is refused, not made private)"},
    )
    revision: str | None = field(
        default=None,
        metadata={"help": "branch to commit to (created from main if missing; not a tag or a commit id); default main"},
    )
    eval_results: str | None = field(
        default=None, metadata={"help": "results.json written by `citrus evaluate`, for the model card"}
    )
    arm: str | None = field(
        default=None, metadata={"help": "with --eval-results: the evaluated arm this checkpoint is, e.g. citrus-time"}
    )
    eval_dataset: str | None = field(
        default=None,
        metadata={"help": "with --eval-results: this checkpoint's dataset (default: from finetune_results.json)"},
    )
    eval_label_budget: int | None = field(
        default=None,
        metadata={
            "help": "with --eval-results: this checkpoint's labelled training windows (default: from "
            "finetune_results.json)"
        },
    )
    token: str | None = field(default=None, metadata={"help": "Hub token (default: HF_TOKEN or `hf auth login`)"})
    base_model: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Hub id(s) of the pre-trained checkpoint(s) this model was fine-tuned from (fusion: one per "
            "encoder; a LoRA adapter: the base it adapts, recorded in place of a local folder's path)"
        },
    )
    dataset: list[str] = field(default_factory=list, metadata={"help": "Hub dataset id(s) used for training"})
    pretraining_corpus: list[str] = field(
        default_factory=list,
        metadata={"help": "pre-training corpus for the model card; a fusion model: MODALITY=CORPUS per modality"},
    )
    hyperparameters: str | None = field(
        default=None, metadata={"help": "JSON file of training hyper-parameters, for the card"}
    )
    license: str | None = field(
        default=None,
        metadata={"help": "license of the weights (default: the repository card's when it has one, else apache-2.0)"},
    )
    commit_message: str | None = field(
        default=None,
        metadata={
            "help": "the commit's title (default: Upload CiTrus model, feature extractor and model card; for a LoRA "
            "adapter: Upload CiTrus LoRA adapter; for a fusion model: Upload CiTrus fusion model, processor and model "
            "card)"
        },
    )
    create_pr: bool = field(default=False, metadata={"help": "open a pull request instead of committing"})
    tag: list[str] = field(default_factory=list, metadata={"help": "extra model card tag(s)"})


DESCRIPTION = (
    "Publish a checkpoint folder written by save_pretrained (or by `citrus finetune` / `citrus pretrain`) as one "
    "commit: model.safetensors, config, feature extractor (a fusion model's processor), a model card and the model "
    "code, so that `AutoModel*.from_pretrained(repo, trust_remote_code=True)` works without this package."
)


def build_parser():
    from .parser import CommandParser

    return CommandParser(PushArguments, prog="citrus push", description=DESCRIPTION)


def _pretraining(corpora: list[str], modalities: list[str] | None) -> dict | None:
    """`--pretraining-corpus` values as `build_model_card(pretraining=...)`: one corpus, or one per modality."""
    if not corpora:
        return None
    if modalities is None:
        if len(corpora) > 1:
            raise UsageError("citrus push: give --pretraining-corpus once; this checkpoint has one encoder.")
        return {"corpus": corpora[0]}
    pretraining = {}
    for value in corpora:
        modality, sep, corpus = value.partition("=")
        if not sep or modality not in modalities or not corpus:
            raise UsageError(
                f"citrus push: --pretraining-corpus {value!r}: this fusion checkpoint has one encoder per modality "
                f"{modalities}; give MODALITY=CORPUS, e.g. --pretraining-corpus '{modalities[0]}=...'."
            )
        pretraining[modality] = {"corpus": corpus}
    return pretraining


# Options about the weights' evaluation and training that describe a full checkpoint's card, not an adapter's.
_CHECKPOINT_ONLY_OPTIONS = (
    "eval_results",
    "arm",
    "eval_dataset",
    "eval_label_budget",
    "dataset",
    "pretraining_corpus",
    "hyperparameters",
)


def _adapter_base_model(base_model: list[str]) -> str | None:
    """The one base an adapter's `--base-model` names (one Hub id: an adapter adapts one model), or None."""
    if len(base_model) > 1:
        raise UsageError(
            f"citrus push: a LoRA adapter adapts one base model; --base-model names {len(base_model)} "
            f"({', '.join(base_model)}). Give the Hub id of the one it was trained on."
        )
    return base_model[0] if base_model else None


def _push_adapter(folder: Path, args: PushArguments) -> int:
    """Publish a LoRA adapter folder (`citrus finetune --lora`, `save_adapter`) as it is: adapter, task config,
    feature extractor and the adapter's card, which names its base model."""
    given = [name for name in _CHECKPOINT_ONLY_OPTIONS if getattr(args, name) not in (None, [], False)]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise UsageError(
            f"citrus push: {folder} is a LoRA adapter, whose card names its base model and how to load it; {flags} "
            "describe a full checkpoint. Leave them out, or merge the adapter into its base first "
            "(`citrus_hf.training.lora.merge_adapter`) and push the merged folder."
        )
    from transformers.utils import FEATURE_EXTRACTOR_NAME

    from ..loading import load_feature_extractor
    from ..publishing.push import push_adapter_to_hub
    from ..training.lora import load_adapter

    adapter = load_adapter(None, folder, token=args.token)
    extractor = load_feature_extractor(folder) if (folder / FEATURE_EXTRACTOR_NAME).is_file() else None
    commit = push_adapter_to_hub(
        adapter,
        args.repo_id,
        extractor,
        private=args.private or None,  # without --private: the namespace's default, as a full model's push
        revision=args.revision,
        commit_message=args.commit_message or "Upload CiTrus LoRA adapter",
        token=args.token,
        create_pr=args.create_pr,
        license=args.license,  # None: the repository card's, else apache-2.0
        tags=args.tag,
        run_dir=folder,  # the adapter is loaded from it as the run saved it: its records describe it
        base_model=_adapter_base_model(args.base_model),
    )
    print(f"Pushed the LoRA adapter {folder} to {args.repo_id}: {commit.pr_url or commit.commit_url}")
    return 0


def run(argv: Sequence[str]) -> int:
    """Load the checkpoint with this package's classes (no remote code), build its card and publish it."""
    # Parsed and checked before torch is imported: `--help` and a mistyped folder answer at once.
    args = build_parser().parse(argv)
    from transformers.utils import CONFIG_NAME, FEATURE_EXTRACTOR_NAME, PROCESSOR_NAME  # imports no torch

    checkpoint = Path(args.checkpoint)
    if args.repo_id.count("/") != 1:
        raise UsageError(f"citrus push: repo id {args.repo_id!r} must be `namespace/name`, e.g. `my-user/citrus-eeg`.")
    if args.create_pr and args.revision is not None:
        # upload_folder opens pull requests against the default branch only; refused after creating the repository
        raise UsageError(
            "citrus push: --create-pr opens a pull request against the repository's default branch, so it cannot "
            "take --revision; use one or the other (--revision commits to that branch directly)."
        )
    if args.arm is not None and args.eval_results is None:
        raise UsageError("citrus push: --arm names this checkpoint's arm in --eval-results; give --eval-results too.")
    if args.eval_results is not None and not Path(args.eval_results).is_file():
        # else the Hub is asked first (the repository's card), and a failure there names the network and the login
        raise UsageError(
            f"citrus push: --eval-results {args.eval_results} "
            + ("is a folder" if Path(args.eval_results).is_dir() else "does not exist")
            + "; pass the results.json `citrus evaluate` wrote (in its --output-dir)."
        )
    if not checkpoint.is_dir():
        what = "is a file" if checkpoint.exists() else "does not exist"
        if not checkpoint.is_absolute() and not checkpoint.exists():
            what += f" (relative to {Path.cwd()})"
        raise UsageError(
            f"citrus push: {checkpoint} {what}; pass the folder with config.json that save_pretrained wrote (citrus "
            "finetune's or citrus pretrain's --output-dir)."
        )
    from ..loading import is_adapter_folder

    if is_adapter_folder(checkpoint):
        return _push_adapter(checkpoint, args)
    if not (checkpoint / CONFIG_NAME).is_file():
        raise UsageError(f"citrus push: {checkpoint} has no config.json; pass a folder written by save_pretrained.")

    from .. import modeling_citrus, modeling_citrus_fusion
    from ..configuration_citrus import CiTrusConfig
    from ..configuration_citrus_fusion import CiTrusFusionConfig
    from ..feature_extraction_citrus import CiTrusFeatureExtractor
    from ..processing_citrus_fusion import CiTrusFusionProcessor
    from ..publishing.push import push_to_hub

    fusion = (
        json.loads((checkpoint / CONFIG_NAME).read_text(encoding="utf-8")).get("model_type")
        == CiTrusFusionConfig.model_type
    )
    if fusion:
        config_class, modeling, family = CiTrusFusionConfig, modeling_citrus_fusion, "CiTrus fusion"
        preprocessor_file, preprocessor_class = PROCESSOR_NAME, CiTrusFusionProcessor
    else:
        config_class, modeling, family = CiTrusConfig, modeling_citrus, "CiTrus"
        preprocessor_file, preprocessor_class = FEATURE_EXTRACTOR_NAME, CiTrusFeatureExtractor
    config = config_class.from_pretrained(checkpoint)
    architecture = (config.architectures or [None])[0]
    model_class = getattr(modeling, architecture, None) if architecture else None
    if model_class is None:
        raise UsageError(
            f"citrus push: {checkpoint}/config.json names architecture {architecture!r}, not a {family} model class."
        )
    model = model_class.from_pretrained(checkpoint)
    if (checkpoint / preprocessor_file).is_file():
        feature_extractor = preprocessor_class.from_pretrained(checkpoint)
    else:
        # The extractor derived from the config applies exactly the contract the model was trained on.
        feature_extractor = preprocessor_class.from_config(model.config)
        what = "processor" if fusion else "feature extractor"
        print(f"{checkpoint} has no {preprocessor_file}: publishing the {what} of its config.", file=sys.stderr)
    hyperparameters = None
    if args.hyperparameters is not None:
        from ..loading import read_json_object

        try:
            hyperparameters = read_json_object(Path(args.hyperparameters), "write a JSON object of hyper-parameters")
        except (OSError, ValueError) as error:
            raise UsageError(f"citrus push: --hyperparameters {args.hyperparameters}: {error}") from None
    commit = push_to_hub(
        model,
        args.repo_id,
        feature_extractor,
        private=args.private or None,
        revision=args.revision,
        commit_message=args.commit_message,
        token=args.token,
        create_pr=args.create_pr,
        tags=args.tag,
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


if __name__ == "__main__":  # `python -m citrus_hf.commands.push ...`, also under `accelerate launch -m`
    from .main import run_command_module

    run_command_module("push")
