"""Resolving and loading CiTrus checkpoints: a local folder, a Hub id or a bundled name -> a local folder -> a model,
feature extractor or processor, with strict, safetensors-only loading and errors that say what to do. Also
`build_config`: a `CiTrusConfig` from a preset name, a `config.json` or a checkpoint folder.

This is a low layer (just above the model files, as transformers' `utils/hub.py`): training, evaluation and
publishing all load checkpoints through it, so none of them needs a higher layer to do so. Loading never runs code
from a repository unless `trust_remote_code=True` is passed, and never unpickles weights.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huggingface_hub import constants, snapshot_download
from huggingface_hub.errors import (
    GatedRepoError,
    HFValidationError,
    IncompleteSnapshotError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import validate_repo_id
from transformers.utils import (
    CONFIG_NAME,
    FEATURE_EXTRACTOR_NAME,
    PROCESSOR_NAME,
    SAFE_WEIGHTS_NAME,
)

from ._bundled import (
    BUNDLED_CHECKPOINTS,
    bundled_checkpoint,
    bundled_names,
    bundled_suggestion,
    folder_if_bundled,
    is_adapter_folder,
)
from .configuration_citrus import (
    MODEL_PRESETS,
    PIPELINE_TASKS,
    CiTrusConfig,
    check_derived_keywords,
    checkpoints_inside_hint,
    config_field_names,
    dangling_links_error,
    file_for_folder_error,
    hub_file_shown,
    hub_source_shown,
    looks_like_a_path,
    missing_subfolder_error,
    no_safetensors_error,
    not_a_field_error,
    offline_cache_lacks,
    safetensors_names,
    stale_weights_error,
    uncached_offline_error,
)
from .configuration_citrus_fusion import CiTrusFusionConfig
from .vocabulary_citrus import ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, REGRESSION

if TYPE_CHECKING:
    from transformers import PreTrainedModel

    from .feature_extraction_citrus import CiTrusFeatureExtractor
    from .processing_citrus_fusion import CiTrusFusionProcessor

# What a CiTrus checkpoint consists of besides its weights (`checkpoint_patterns`); anything else (pickled *.bin, *.pt)
# is never downloaded.
_SETTINGS_PATTERNS = ["*.json", "*.py", constants.REPOCARD_NAME]
# The weights `save_pretrained(folder, variant=...)` writes (`safetensors_names`): group 1 or 2 is the variant.
_VARIANT_WEIGHTS = re.compile(r"model\.(?:([^.]+?)(?:-\d{5}-of-\d{5})?\.safetensors|safetensors\.index\.(.+)\.json)")
# Files that would be unpickled on load: never published, never downloaded.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib")

# What a checkpoint is loaded as (`load_pretrained(task=...)`): task name -> (citrus_hf class, the transformers Auto
# class that loads it from remote code, model-index task type). Not `citrus_hf.data.splits.LABEL_TASKS`, which says
# what a labelled dataset is for, though a regressor's task has the same name.
MODEL_TASKS: dict[str, tuple[str, str | None, str]] = {
    "base": ("CiTrusModel", "AutoModel", "feature-extraction"),
    "pretraining": ("CiTrusForPretraining", "AutoModelForPreTraining", "masked-signal-modeling"),
    "sequence-classification": (
        "CiTrusForSequenceClassification",
        "AutoModelForSequenceClassification",
        "time-series-classification",
    ),
    REGRESSION: ("CiTrusForRegression", "AutoModelForTimeSeriesRegression", "time-series-regression"),
}
# The same for fusion models (`modeling_citrus_fusion`): one CiTrus encoder per modality, a head on the concatenation.
FUSION_MODEL_TASKS: dict[str, tuple[str, str | None, str]] = {
    "sequence-classification": (
        "CiTrusFusionForSequenceClassification",
        "AutoModelForSequenceClassification",
        "time-series-classification",
    ),
    REGRESSION: ("CiTrusFusionForRegression", "AutoModelForTimeSeriesRegression", "time-series-regression"),
}
# task name (of `MODEL_TASKS` and `FUSION_MODEL_TASKS`) -> the `pipeline_tag` of its model cards: the task that
# `transformers.pipeline(model=repo_id)` runs when no task is named, read from the one table of pipelines
# (`configuration_citrus.PIPELINE_TASKS`, which saved checkpoints record as `custom_pipelines`). A fusion task has the
# tag of the single-modality task of the same name. The Hub's own pipeline types (huggingface.js `PIPELINE_DATA`) have
# no time-series classification, regression or feature extraction yet; these follow its naming
# ("time-series-forecasting") and its card validator accepts any string.
PIPELINE_TAGS: dict[str, str] = {task: PIPELINE_TASKS[spec[0]][0] for task, spec in MODEL_TASKS.items()}


def checkpoint_patterns(subfolder: str | None = None, variant: str | None = None) -> tuple[list[str], list[str]]:
    """`(allow_patterns, ignore_patterns)` for `snapshot_download` of one CiTrus checkpoint in a Hub repository: its
    settings and code (`*.json`, `*.py`, `README.md`) and the safetensors weights of `variant` (one file or shards;
    a LoRA adapter's `adapter_model.safetensors`), at the root or in `subfolder`, and nothing below them. A pattern
    like "*.json" also matches nested paths (`fnmatch`'s `*` crosses "/"), so a repository holding a Trainer's
    `checkpoint-N` folders or other variants was downloaded whole; pickled weights are never downloaded."""
    weights_name, _ = safetensors_names(variant)
    stem, suffix = weights_name.rsplit(".", 1)
    patterns = [*_SETTINGS_PATTERNS, weights_name, f"{stem}-?????-of-?????.{suffix}", ADAPTER_WEIGHTS_NAME]
    prefix = f"{subfolder.strip('/')}/" if subfolder else ""
    return [prefix + pattern for pattern in patterns], [f"{prefix}*/*"]


def resolve_checkpoint(
    repo_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    token: str | bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    subfolder: str | None = None,
    variant: str | None = None,
) -> Path:
    """Local folder holding the checkpoint: `repo_or_path` itself if it is a folder, the shipped folder if it is the
    name of a bundled checkpoint (`bundled_checkpoint`), else the Hub snapshot (the checkpoint is in its `subfolder`
    when one is given).

    Only the files a CiTrus checkpoint needs are downloaded (`checkpoint_patterns`: `*.json`, `*.py`, `README.md` and
    the safetensors weights of `variant`, of the root or of `subfolder` only): pickled weights, other variants and
    other subfolders never reach the disk. With `HF_HUB_OFFLINE=1` or `local_files_only=True` the cached snapshot is
    used.

    Raises:
        OSError: the folder does not exist, or the repository / revision does not exist or cannot be accessed, or
            the Hub cannot be reached and the cache does not hold the snapshot. The message names the repository,
            the revision and the fix.
        TypeError: `repo_or_path` is not a str or path (None from an option left unset, say).
    """
    if not isinstance(repo_or_path, (str, os.PathLike)):
        shipped = ", ".join(repr(name) for name in bundled_names())
        raise TypeError(
            "expected a checkpoint (a folder, a Hub id `namespace/name`"
            + (f" or the name of one shipped with the package: {shipped}" if shipped else "")
            + f"), got {repo_or_path!r} ({type(repo_or_path).__name__})."
        )
    path = Path(repo_or_path).expanduser()
    if path.is_dir():
        return path
    repo_id = str(repo_or_path)
    bundled = None if isinstance(repo_or_path, os.PathLike) else bundled_checkpoint(repo_id)
    if bundled is not None:
        return bundled
    looks_like_path = (
        isinstance(repo_or_path, os.PathLike) or repo_id.startswith((".", "/", "~")) or repo_id.count("/") > 1
    )
    if path.is_file():
        raise file_for_folder_error(repo_id, "it (the checkpoint's config.json and weights)")
    if looks_like_path:
        raise OSError(
            f"Local folder {repo_id!r} does not exist; pass a checkpoint folder or a Hub id `namespace/name`."
        )
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise OSError(
            f"{repo_id!r} is neither a local folder nor a valid Hub id (`namespace/name`): {error}"
        ) from error
    allow_patterns, ignore_patterns = checkpoint_patterns(subfolder, variant)
    try:
        snapshot = Path(
            snapshot_download(
                repo_id,
                revision=revision,
                allow_patterns=allow_patterns,
                ignore_patterns=ignore_patterns,
                token=token,
                cache_dir=cache_dir,
                local_files_only=local_files_only,
            )
        )
    except GatedRepoError as error:
        raise OSError(
            f"Repository {repo_id!r} is gated: request access on its Hub page, then log in (`hf auth login`)."
        ) from error
    except RepositoryNotFoundError as error:
        raise OSError(
            f"Repository {repo_id!r} was not found on the Hub. Check the id (`namespace/name`); if it is private, log "
            "in with `hf auth login` or pass `token=`." + bundled_suggestion(repo_id) + _no_local_folder_note(repo_id)
        ) from error
    except RevisionNotFoundError as error:
        raise OSError(
            f"Revision {revision or 'main'!r} was not found in repository {repo_id!r}; pass an existing branch, tag or "
            "commit id (`HfApi().list_repo_refs(repo_id)` lists them)."
        ) from error
    except (LocalEntryNotFoundError, IncompleteSnapshotError) as error:
        offline = local_files_only or constants.is_offline_mode()
        reason = (
            "offline mode is on (HF_HUB_OFFLINE=1 or local_files_only=True)" if offline else "the Hub cannot be reached"
        )
        raise OSError(
            f"Cannot load {hub_source_shown(repo_id, None, revision)}: {reason} and the cache does not hold this "
            f"snapshot. Download it once while online (unset HF_HUB_OFFLINE), or pass a local checkpoint folder."
            + bundled_suggestion(repo_id)
            + _no_local_folder_note(repo_id)
        ) from error
    if not snapshot.is_dir():
        # huggingface_hub makes no snapshot folder when no file matched the patterns: the readers' listing of it
        # failed deep in pathlib (FileNotFoundError: .../snapshots/<commit>)
        raise OSError(
            f"{hub_source_shown(repo_id, None, revision)} holds no checkpoint files"
            + (f" in subfolder {subfolder!r}" if subfolder else "")
            + f" (no config.json, {ADAPTER_CONFIG_NAME} or safetensors weights): an empty repository, or one whose "
            "checkpoint is on another branch. Pass that branch as `revision=` (`HfApi().list_repo_refs(repo_id)` "
            "lists them), or push a checkpoint there (`push_to_hub`)."
        )
    return snapshot


def _no_local_folder_note(repo_id: str) -> str:
    """A relative folder written as `runs/mdoel` is also a valid Hub id, so it reaches the Hub; the Hub's error alone
    would hide that the folder was meant. Say where it was looked for, where the id reads as a path
    (`looks_like_a_path`: its parent `runs/` exists here): of a plain Hub id ("owner/name") the note was noise. (A
    bare name such as `citrus-smal` reads as no folder: its note is the bundled-name suggestion.)"""
    if not looks_like_a_path(repo_id):
        return ""
    return (
        f" (No folder {repo_id!r} exists under the current folder {os.getcwd()} either: for a local checkpoint, give "
        "its path from there, or an absolute one.)"
    )


def revision_argument(repo_id: str | None, revision: str | None) -> str:
    """`, revision="dev"`, for each load call in the usage code of a card published on the branch `revision` of
    `repo_id` (without it, the code loaded the default branch's checkpoint: another one, or none); "" for the default
    branch (None) or a card that names no repository."""
    return f", revision={json.dumps(revision)}" if revision is not None and repo_id else ""


def hub_repo_id(name_or_path: str | os.PathLike | None) -> str | None:
    """`name_or_path` if it names a Hub model repository (`namespace/name`, a valid id, and no local path of that
    name), else None: what a card or an adapter may name as its base model (the Hub links only such ids)."""
    if name_or_path is None:
        return None
    text = str(name_or_path)
    if not text or text.count("/") != 1 or os.path.exists(text):
        return None
    try:
        validate_repo_id(text)
    except HFValidationError:
        return None
    return text


def check_model_reference(reference: str | os.PathLike, flag: str = "model") -> None:
    """Refuse, before any work, a checkpoint reference that names a local path which is not a checkpoint folder the
    commands load: a folder without `config.json` (naming the checkpoints in its subfolders, a Trainer's
    `checkpoint-N`), one whose weights were saved with `variant=` only or hold a stale single file beside shards, or a
    path that does not exist (a bundled name or a Hub id passes; the Hub is only asked when the checkpoint is
    loaded)."""
    text = str(reference)
    path = Path(text).expanduser()
    if folder_if_bundled(text) is not text:
        return
    if path.is_dir():
        if is_adapter_folder(path):
            raise FileNotFoundError(
                f"{flag} {text!r} is a LoRA adapter (`citrus finetune --lora` saves the adapter, not a whole model): "
                f"put it on its base with `citrus_hf.training.lora.load_adapter(None, {text!r})`, then "
                "`merge_adapter(...)` and `save_pretrained` a folder this command takes; `citrus push` publishes the "
                "adapter as it is."
            )
        if not (path / CONFIG_NAME).is_file():
            moved = dangling_links_error(path)
            if moved is not None:
                raise FileNotFoundError(f"{flag} {moved}")
            raise FileNotFoundError(
                f"{flag} {text!r} is a folder without config.json, so it is not a checkpoint"
                + (
                    checkpoints_inside_hint(path)
                    or "; pass the folder that `save_pretrained` (or `citrus pretrain` / `citrus finetune`) wrote"
                )
                + "."
            )
        _check_weights_layout(path, f"{flag} {text!r}")
        return
    looks_like_path = (
        isinstance(reference, os.PathLike)
        or text.startswith((".", "/", "~"))
        or text.count("/") > 1
        # "runs/hr" beside a local folder "runs": a mistyped path, not the Hub repo of an owner "runs"
        or (text.count("/") == 1 and path.parent.is_dir())
    )
    if path.exists() or looks_like_path:
        raise FileNotFoundError(
            f"{flag} {text!r} is not a checkpoint folder (it does not exist or is a file); pass the folder that "
            "`save_pretrained` wrote, a bundled checkpoint name (" + ", ".join(bundled_names()) + ") or a Hub id."
        )


def _check_weights_layout(folder: Path, shown: str) -> None:
    """Refuse a checkpoint folder whose weights the commands cannot load, before any work: weights saved with a
    `variant=` only (`model.fp16.safetensors`: no command takes a variant), or a stale single file beside shards."""
    stale = stale_weights_error(folder)
    if stale is not None:
        raise stale
    if any((folder / name).is_file() for name in safetensors_names()):
        return
    matches = (_VARIANT_WEIGHTS.fullmatch(name) for name in os.listdir(folder))
    variants = sorted({match.group(1) or match.group(2) for match in matches if match})
    if variants:
        raise FileNotFoundError(
            f"{shown} holds weights saved with `variant=` {variants} and no {SAFE_WEIGHTS_NAME}, and the citrus "
            "commands load a checkpoint's plain weights: save it again without `variant=` (`from_pretrained(folder, "
            f"variant={variants[0]!r}).save_pretrained(new_folder)`), and pass that folder."
        )


def build_config(preset: str | os.PathLike = "small", **overrides) -> CiTrusConfig:
    """A `CiTrusConfig` from a preset name (`MODEL_PRESETS`), a bundled checkpoint name (e.g. "citrus-small"), a
    `config.json` file or a checkpoint folder, with `overrides` (any config field, e.g.
    `pretraining_objective="spectrogram"`, `backbone="cnn"`) applied on top."""
    return _built_config(str(preset), overrides, str(preset))


def checkpoint_config(
    model: str | os.PathLike, *, resolved: str | os.PathLike | None = None, **overrides
) -> CiTrusConfig:
    """`build_config` of the checkpoint `model` (a folder, a bundled name or a Hub id; its folder `resolved` where the
    caller has it, else `resolve_checkpoint`'s), its errors naming `model` as given: a Hub id's were the snapshot
    folder in the Hub cache, a path the user never typed (`citrus finetune --model bert-base-uncased` said
    "'.../snapshots/<commit>' holds a 'bert' model")."""
    folder = resolve_checkpoint(model) if resolved is None else resolved
    return _built_config(os.fspath(folder), overrides, os.fspath(model))


def _built_config(preset: str, overrides: dict[str, Any], shown: str) -> CiTrusConfig:
    """`build_config`, its errors naming the checkpoint as `shown`."""
    overrides = {key: value for key, value in overrides.items() if value is not None}
    _check_config_fields(overrides)
    try:
        return _config_from(preset, overrides, shown)
    except TypeError as error:  # a value of the wrong type (`d_model="abc"` from the command line): a bad value
        raise ValueError(str(error)) from error


def _config_from(preset: str, overrides: dict[str, Any], shown: str) -> CiTrusConfig:
    if preset in MODEL_PRESETS:
        return CiTrusConfig(**{**MODEL_PRESETS[preset], **overrides})
    path = Path(folder_if_bundled(preset))
    if path.is_dir() and (path / CONFIG_NAME).is_file():
        path = path / CONFIG_NAME
    if path.is_file():
        values = _read_json(path)
        model_type = values.get("model_type", CiTrusConfig.model_type)
        if model_type == CiTrusFusionConfig.model_type:
            raise ValueError(
                f"{shown!r} is a CiTrus fusion checkpoint (one encoder per modality); this route builds "
                "single-modality models. Train a fusion model with the Trainer and CiTrusFusionDataCollator "
                "(examples/multimodal_fusion.py), or take one encoder out with "
                "CiTrusFusionForSequenceClassification.load_encoder(path, modality)."
            )
        if model_type != CiTrusConfig.model_type:
            raise ValueError(
                f"{shown!r} holds a {model_type!r} model, not a CiTrus one (model_type 'citrus'); give a CiTrus "
                "checkpoint, a preset or a CiTrus config.json."
            )
        for key in ("architectures", "auto_map", "transformers_version", "model_type", "dtype", "torch_dtype"):
            values.pop(key, None)
        return CiTrusConfig(**{**values, **overrides})
    raise ValueError(
        f"Unknown model config {shown!r}: give a preset ({', '.join(MODEL_PRESETS)}), a bundled checkpoint "
        f"({', '.join(bundled_names()) or 'none installed'}), a config.json file or a checkpoint folder that holds one."
    )


def _check_config_fields(overrides: dict[str, Any]) -> None:
    """Refuse override names that are no config field: `PreTrainedConfig` keeps unknown keyword arguments as extra
    attributes, so any unknown name here (a preset and its overrides, not a saved config with metadata) is a mistake.
    A derived value (`window_seconds`) is named as such, with the field that sets it."""
    check_derived_keywords(CiTrusConfig, overrides)
    unknown = sorted(set(overrides) - config_field_names(CiTrusConfig))
    if unknown:
        raise not_a_field_error(CiTrusConfig, unknown, "; see `CiTrusConfig` for the fields a model config has")


def uncached_offline(
    repo_or_path: str | os.PathLike,
    name: str,
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    subfolder: str | None = None,
) -> bool:
    """`configuration_citrus.offline_cache_lacks` of a Hub checkpoint (no local folder, no bundled checkpoint): whether
    its file `name` is missing from the offline Hub cache alone, no sign of an incomplete checkpoint."""
    if bundled_checkpoint(str(repo_or_path)) is not None or hub_repo_id(repo_or_path) is None:
        return False
    lookup = {
        "revision": revision,
        "cache_dir": cache_dir,
        "local_files_only": local_files_only,
        "subfolder": subfolder,
    }
    return offline_cache_lacks(repo_or_path, name, lookup)


def _checked_folder(
    folder: Path,
    repo_or_path: str | os.PathLike,
    revision: str | None,
    needed: Sequence[str],
    variant: str | None = None,
    subfolder: str | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
) -> Path:
    """The checkpoint's folder (`folder`, or its `subfolder`), after refusing one without the files `needed`;
    `SAFE_WEIGHTS_NAME` there stands for the weights of `variant` (`save_pretrained(..., variant=...)`), in one file
    or sharded (and not both: `stale_weights_error`). A file the offline Hub cache lacks is refused as such
    (`uncached_offline`), not as one the checkpoint lacks."""
    where = hub_source_shown(str(repo_or_path), None, revision)
    if subfolder:
        if not (folder / subfolder).is_dir():
            if Path(str(repo_or_path)).expanduser().is_dir() or bundled_checkpoint(str(repo_or_path)) is not None:
                raise missing_subfolder_error(folder, subfolder)  # (a Hub snapshot holds only the files asked for)
            raise OSError(
                f"{where} has no subfolder {subfolder!r} with checkpoint files: pass one that holds them, or leave "
                "`subfolder` out."
            )
        where += f" (subfolder {subfolder!r})"
        folder = folder / subfolder
    present = sorted(p.name for p in folder.iterdir())

    def uncached(name: str) -> bool:  # (`uncached_offline` of this checkpoint's file `name`)
        return uncached_offline(
            repo_or_path,
            name,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            subfolder=subfolder,
        )

    for name in needed:
        if name == SAFE_WEIGHTS_NAME:
            weights_name, index_name = safetensors_names(variant)
            if not (folder / weights_name).is_file() and not (folder / index_name).is_file():
                if uncached(weights_name) and uncached(index_name):
                    raise uncached_offline_error(repo_or_path, weights_name, revision, subfolder)
                other_variant = any(p.startswith("model.") and p.endswith(".safetensors") for p in present)
                raise no_safetensors_error(where, variant, present, other_variant)
            stale = stale_weights_error(folder, variant)
            if stale is not None:
                raise stale
        elif not (folder / name).is_file():
            if uncached(name):
                raise uncached_offline_error(repo_or_path, name, revision, subfolder)
            raise OSError(
                f"{where} has no {name} (files: {present}); it is not a complete CiTrus checkpoint. Publish it with "
                "`citrus push` or `save_pretrained` (and the feature extractor's `save_pretrained`)."
            )
    return folder


def load_pretrained(
    repo_or_path: str | os.PathLike,
    task: str = "sequence-classification",
    *,
    revision: str | None = None,
    trust_remote_code: bool = False,
    token: str | bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    **from_pretrained_kwargs,
) -> PreTrainedModel:
    """Load a CiTrus (or CiTrus fusion) model from a Hub id, a local folder or the offline cache, with errors that
    say what to do.

    Args:
        repo_or_path: Hub id (`"namespace/name"`), a folder written by `save_pretrained`, or the name of a
            checkpoint shipped with the package (`"citrus-small"`, `bundled_checkpoint`).
        task: `"base"`, `"pretraining"`, `"sequence-classification"` or `"regression"`; a fusion checkpoint
            (`model_type` `citrus_fusion`) loads as `"sequence-classification"` or `"regression"`.
        revision: branch, tag or commit id on the Hub.
        trust_remote_code: import the model class from the code stored with the checkpoint (its `auto_map`
            modules) instead of this package. Off by default: only enable it for repositories whose code you have
            read.
        token, cache_dir, local_files_only: as in `huggingface_hub.snapshot_download`.
        from_pretrained_kwargs: passed to `from_pretrained` (e.g. `num_labels=..., ignore_mismatched_sizes=True`);
            `subfolder=` and `variant=` also say which files of a Hub repository are downloaded and checked.

    Returns:
        The model in eval mode.

    Raises:
        ValueError: unknown task, or a checkpoint that is not a CiTrus model.
        OSError: missing folder, repository, revision or file, or offline with the snapshot not cached.
    """
    if task not in MODEL_TASKS:
        raise ValueError(f"Unknown task {task!r}; choose one of {list(MODEL_TASKS)}.")
    variant, subfolder = from_pretrained_kwargs.get("variant"), from_pretrained_kwargs.get("subfolder")
    folder = resolve_checkpoint(
        repo_or_path,
        revision=revision,
        token=token,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        subfolder=subfolder,
        variant=variant,
    )
    # (`from_pretrained` below takes `folder` with the same `subfolder=`)
    checkpoint_folder = _checked_folder(
        folder,
        repo_or_path,
        revision,
        [CONFIG_NAME, SAFE_WEIGHTS_NAME],
        variant,
        subfolder,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
    )
    shown = (
        None if hub_repo_id(repo_or_path) is None else hub_file_shown(CONFIG_NAME, repo_or_path, subfolder, revision)
    )
    model_type = _read_json(checkpoint_folder / CONFIG_NAME, shown).get("model_type")
    if model_type not in (CiTrusConfig.model_type, CiTrusFusionConfig.model_type):
        raise ValueError(f"{str(repo_or_path)!r} is not a CiTrus checkpoint (model_type={model_type!r}).")
    fusion = model_type == CiTrusFusionConfig.model_type
    if fusion and task not in FUSION_MODEL_TASKS:
        raise ValueError(
            f"{str(repo_or_path)!r} is a CiTrus fusion checkpoint: load it for one of {list(FUSION_MODEL_TASKS)}, not "
            f"{task!r} (`CiTrusFusionForSequenceClassification.load_encoder` gives one modality's encoder)."
        )
    class_name = (FUSION_MODEL_TASKS if fusion else MODEL_TASKS)[task][0]
    from_pretrained_kwargs["use_safetensors"] = True
    if trust_remote_code:
        model_class = _repository_class(checkpoint_folder, CONFIG_NAME, class_name, repo_or_path)
    elif fusion:
        from . import modeling_citrus_fusion

        model_class = getattr(modeling_citrus_fusion, class_name)
    else:
        from . import modeling_citrus

        model_class = getattr(modeling_citrus, class_name)
    return model_class.from_pretrained(folder, **from_pretrained_kwargs).eval()


def read_json_object(path: str | os.PathLike, fix: str, shown: str | None = None) -> dict:
    """The JSON object in `path`, or a ValueError naming the file and, when it is not valid JSON, `fix` (what to do
    about it, e.g. "save the checkpoint again with save_pretrained."). `shown`: how the message names the file (the
    file of a Hub repository as the user named it, `hub_file_shown`), rather than its path, a Hub cache folder."""
    shown = shown or repr(str(path))
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{shown} is not valid JSON ({error}); {fix}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{shown} holds a JSON {type(values).__name__}, not the JSON object expected.")
    return values


def _read_json(path: Path, shown: str | None = None) -> dict:
    """A checkpoint's JSON settings file (`read_json_object`; `shown`: how messages name it)."""
    return read_json_object(path, "restore it, or save the checkpoint again with save_pretrained.", shown)


def _repository_class(folder: Path, config_name: str, class_name: str, repo_or_path: str | os.PathLike) -> type:
    """`class_name` imported from the code stored in the checkpoint (the modules its `auto_map` points to).

    transformers' Auto classes cannot do this here: once this package has registered CiTrus, they prefer the
    registered classes even with `trust_remote_code=True`.
    """
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    auto_map = _read_json(folder / config_name).get("auto_map") or {}
    modules = sorted({ref.rsplit(".", 1)[0] for key, ref in auto_map.items() if key != "AutoConfig"})
    if not modules:
        raise OSError(
            f"{str(repo_or_path)!r} ships no code for its classes (no `auto_map` in {config_name}); load it with "
            "`trust_remote_code=False`."
        )
    return get_class_from_dynamic_module(f"{modules[0]}.{class_name}", folder)


def _load_preprocessor(
    repo_or_path: str | os.PathLike,
    config_name: str,
    local_class: type,
    trust_remote_code: bool,
    **resolve_kwargs,
):
    """The preprocessor saved as `config_name` next to a checkpoint: the package's `local_class`, or with
    `trust_remote_code` the class of that name in the repository's own code."""
    folder = resolve_checkpoint(repo_or_path, **resolve_kwargs)
    folder = _checked_folder(
        folder,
        repo_or_path,
        resolve_kwargs.get("revision"),
        [config_name],
        subfolder=resolve_kwargs.get("subfolder"),
        cache_dir=resolve_kwargs.get("cache_dir"),
        local_files_only=resolve_kwargs.get("local_files_only", False),
    )
    if trust_remote_code:
        local_class = _repository_class(folder, config_name, local_class.__name__, repo_or_path)
    return local_class.from_pretrained(folder)


def load_feature_extractor(
    repo_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    trust_remote_code: bool = False,
    token: str | bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    subfolder: str | None = None,
) -> CiTrusFeatureExtractor:
    """Load the feature extractor published with a CiTrus model (`preprocessor_config.json`, in the checkpoint's
    `subfolder` if given), from the same places and with the same errors as `load_pretrained`."""
    from .feature_extraction_citrus import CiTrusFeatureExtractor

    return _load_preprocessor(
        repo_or_path,
        FEATURE_EXTRACTOR_NAME,
        CiTrusFeatureExtractor,
        trust_remote_code,
        revision=revision,
        token=token,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        subfolder=subfolder,
    )


def load_processor(
    repo_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    trust_remote_code: bool = False,
    token: str | bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    subfolder: str | None = None,
) -> CiTrusFusionProcessor:
    """Load the processor published with a CiTrus fusion model (`processor_config.json`: one feature extractor per
    modality; in the checkpoint's `subfolder` if given), from the same places and with the same errors as
    `load_pretrained`."""
    from .processing_citrus_fusion import CiTrusFusionProcessor

    return _load_preprocessor(
        repo_or_path,
        PROCESSOR_NAME,
        CiTrusFusionProcessor,
        trust_remote_code,
        revision=revision,
        token=token,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        subfolder=subfolder,
    )


__all__ = [
    "BUNDLED_CHECKPOINTS",
    "bundled_names",
    "checkpoint_config",
    "check_model_reference",
    "hub_repo_id",
    "revision_argument",
    "is_adapter_folder",
    "read_json_object",
    "checkpoint_patterns",
    "FUSION_MODEL_TASKS",
    "PICKLE_SUFFIXES",
    "MODEL_TASKS",
    "PIPELINE_TAGS",
    "build_config",
    "bundled_checkpoint",
    "load_feature_extractor",
    "load_pretrained",
    "load_processor",
    "resolve_checkpoint",
]
