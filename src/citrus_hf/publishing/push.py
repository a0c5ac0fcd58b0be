"""Publishing to the Hugging Face Hub, one commit each: a CiTrus or CiTrus fusion model (`push_to_hub`: weights,
config, feature extractor or processor, model card, the model's code and the code of the pipeline its
`custom_pipelines` names, so `trust_remote_code=True` and `pipeline(model=repo_id, trust_remote_code=True)` work
without the package) and a LoRA adapter (`push_adapter_to_hub`). Safetensors only: a folder holding a pickled file is refused
before the Hub is contacted, so a refusal leaves no empty repository behind.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from huggingface_hub.constants import REPOCARD_NAME
from transformers.utils import (
    CONFIG_NAME,
    FEATURE_EXTRACTOR_NAME,
    PROCESSOR_NAME,
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    logging,
)

from .._bundled import folder_if_bundled
from .._logs import outside_stacklevel
from ..configuration_citrus import CiTrusConfig, embedding_pipelines_kept
from ..configuration_citrus_fusion import CiTrusFusionConfig
from ..loading import PICKLE_SUFFIXES, hub_repo_id
from ..vocabulary_citrus import as_bool, as_list

if TYPE_CHECKING:
    from huggingface_hub import CommitInfo, ModelCard
    from peft import PeftModel
    from transformers import PreTrainedModel

    from ..feature_extraction_citrus import CiTrusFeatureExtractor
    from ..processing_citrus_fusion import CiTrusFusionProcessor

logger = logging.get_logger(__name__)


def _refuse_pickles(folder: Path, what: str) -> None:
    # `rglob`, not the data layer's `files_under`: the folder is the one `_publish_folder` has just written, and
    # `upload_folder` uploads what `glob("**/*")` lists, hidden names too (which `files_under` leaves out) and nothing
    # inside a symlinked folder (which it would follow)
    pickles = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise ValueError(f"Refusing to publish pickled files {pickles}: {what} are safetensors only.")


def _check_checkpoint_folder(folder: Path) -> None:
    """A folder about to be published must be safetensors-only and carry the code its `auto_map` and
    `custom_pipelines` point to."""
    _refuse_pickles(folder, "CiTrus checkpoints")
    if not (folder / SAFE_WEIGHTS_NAME).is_file() and not (folder / SAFE_WEIGHTS_INDEX_NAME).is_file():
        raise ValueError("save_pretrained wrote no model.safetensors; nothing to publish.")
    for config_name in (CONFIG_NAME, FEATURE_EXTRACTOR_NAME, PROCESSOR_NAME):
        path = folder / config_name
        if not path.is_file():
            continue
        auto_map = json.loads(path.read_text(encoding="utf-8")).get("auto_map") or {}
        for reference in auto_map.values():
            # An auto_map entry is "module.Class", or "repo--module.Class" for code hosted in another repository.
            references = reference if isinstance(reference, list) else [reference]
            for ref in filter(lambda r: r and "--" not in r, references):
                module = ref.rsplit(".", 1)[0]
                if not (folder / f"{module}.py").is_file():
                    raise ValueError(
                        f"{config_name} maps to {ref!r} but {module}.py was not saved with it, so "
                        "`trust_remote_code=True` users could not load it; call `register_for_auto_class` on the class."
                    )
    config_path = folder / CONFIG_NAME
    custom_pipelines = (
        json.loads(config_path.read_text(encoding="utf-8")).get("custom_pipelines") if config_path.is_file() else None
    )
    for task, entry in (custom_pipelines or {}).items():
        module = str(entry.get("impl", "")).rsplit(".", 1)[0]
        if not (folder / f"{module}.py").is_file():
            raise ValueError(
                f"config.json names the pipeline {entry.get('impl')!r} for {task!r} but {module}.py was not saved with "
                "it, so `pipeline(model=repo_id, trust_remote_code=True)` could not run without the package."
            )


def _refuse_non_finite(model: PreTrainedModel) -> None:
    """Refuse, before any request to the Hub, a model whose weights, or (a single-modality CiTrus model) outputs on
    two random windows of its input, are NaN or infinite: a fine-tuning whose last step blew the model up was
    published without a word, every prediction of it NaN."""
    import torch

    from ..training.callbacks import non_finite_in, random_windows

    if not isinstance(model, torch.nn.Module):  # a stand-in that only saves itself: nothing to run
        return
    # (a fusion model takes a window per modality: its weights are checked)
    windows = random_windows(model) if isinstance(getattr(model, "config", None), CiTrusConfig) else None
    if problem := non_finite_in(model, windows, "random windows of its input shape"):
        name = getattr(model, "name_or_path", None) or type(model).__name__
        raise ValueError(
            f"Refusing to publish {name}: {problem}, as a training run that diverged saves them. Publish a checkpoint "
            "whose outputs are finite (fine-tune again with a lower learning rate)."
        )


def save_pipeline_code(folder: str | os.PathLike) -> None:
    """Copy the code of the pipelines the saved config names (`custom_pipelines`: `pipelines.py` and what it imports,
    `backends.py`) next to the weights, as transformers' `Pipeline.save_pretrained` does."""
    config_path = Path(folder) / CONFIG_NAME
    if not config_path.is_file() or not json.loads(config_path.read_text(encoding="utf-8")).get("custom_pipelines"):
        return
    from transformers.dynamic_module_utils import custom_object_save

    from ..inference import pipelines

    custom_object_save(pipelines.BioSignalClassificationPipeline, folder)  # the module file and its relative imports


def is_network_error(error: BaseException) -> bool:
    """Whether publishing failed on the way to the Hub (no network, offline mode, a refused request) rather than in
    this package: a refusal the Hub answered with, or no answer at all (`data.hub_access.no_answer_from_hub`)."""
    from huggingface_hub.errors import HfHubHTTPError

    from ..data.hub_access import no_answer_from_hub

    return isinstance(error, HfHubHTTPError) or no_answer_from_hub(error)


def _with_namespace(repo_id: str, token: str | bool | None) -> str:
    """`repo_id` with the namespace of the logged-in user when it has none ("citrus-har"), as transformers'
    `push_to_hub` takes it."""
    if not isinstance(repo_id, str) or "/" in repo_id or not repo_id:
        return repo_id
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    with hub_failures_in_one_line(f"Could not tell whose namespace {repo_id!r} goes to", repo_id, api.endpoint):
        return f"{api.whoami()['name']}/{repo_id}"


def _checked_switches(private: bool | None, create_pr: bool) -> tuple[bool | None, bool]:
    """`private` (None: the Hub's default) and `create_pr` as Python bools, refused as anything else before the Hub is
    contacted: "no" or "false" (a hand-written settings dict, `os.environ`) is truthy, and read as True it would
    publish a private model in the open or open a pull request nobody asked for."""
    return (None if private is None else as_bool("private", private)), as_bool("create_pr", create_pr)


def _publish_folder(
    repo_id: str,
    write: Callable[[Path], None],
    check: Callable[[Path], None],
    *,
    example_repo_id: str,
    private: bool | None,
    revision: str | None,
    commit_message: str,
    token: str | bool | None,
    create_pr: bool = False,
    commit_description: str | None = None,
    replaces: Sequence[str] = (),
    parent_commit: str | None = None,
) -> CommitInfo:
    """The one publishing pipeline: `write` the files into a fresh folder, `check` them, then create the repository
    (and the branch `revision`) and upload the folder as one commit, which deletes the files of the repository that
    match `replaces` and that the folder does not hold again (the other kinds of checkpoint's: `replaced_files`).
    `private` and `create_pr` come checked (`_checked_switches`, which its callers run before they contact the Hub);
    `private=True` refuses a repository that exists and is public (`refuse_public_repository`). `parent_commit`: the
    commit of the branch whose card and files the push read (`_branch_head`), so that a commit reaching the branch
    since fails the upload (`_hub_failure`) instead of being overwritten without a word."""
    from huggingface_hub import HfApi

    if repo_id.count("/") != 1:
        raise ValueError(f"repo_id {repo_id!r} must be `namespace/name`, e.g. `{example_repo_id}`.")
    if create_pr and revision is not None:
        # huggingface_hub's upload_folder opens pull requests against the default branch only, and says so after
        # the repository was created
        raise ValueError(
            "create_pr=True opens a pull request against the repository's default branch, so it cannot take a "
            f"revision ({revision!r}); use one or the other."
        )
    with tempfile.TemporaryDirectory(prefix="citrus-push-") as folder:
        write(Path(folder))
        # Checked before the Hub is contacted: a refused folder leaves no empty repository behind.
        check(Path(folder))
        api = HfApi(token=token)
        with hub_failures_in_one_line(f"The Hub refused to publish {repo_id}", repo_id, api.endpoint):
            if private:
                refuse_public_repository(api, repo_id)
            api.create_repo(repo_id, private=private, exist_ok=True)
            # an open pull request's ref (`refs/pr/N`, huggingface_hub's way to add commits to it) is no branch to
            # create, as transformers' own `push_to_hub` knows
            if revision is not None and not create_pr and not is_pull_request_ref(revision):
                api.create_branch(repo_id, branch=revision, exist_ok=True)
            return api.upload_folder(
                repo_id=repo_id,
                folder_path=folder,
                commit_message=commit_message,
                commit_description=commit_description,
                revision=revision,
                create_pr=create_pr,
                delete_patterns=list(replaces) or None,
                parent_commit=None if create_pr else parent_commit,  # (a pull request is a ref of its own)
            )


def refuse_public_repository(api, repo_id: str, repo_type: str = "model") -> None:
    """Refuse a push asked to be private (`private=True`, `citrus push --private`, `citrus data build --private`) to
    a repository (of `repo_type`) that exists and is public: `create_repo(private=True, exist_ok=True)` and
    `DatasetDict.push_to_hub(private=True)` leave an existing repository as it is, so the weights or the data were
    published in the open. (Making it private here would cut off whoever downloads it; that is the owner's call.)"""
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        public = api.repo_info(repo_id, repo_type=repo_type).private is False
    except RepositoryNotFoundError:
        return  # created private by the push
    if public:
        of_type = "" if repo_type == "model" else f" --repo-type {repo_type}"
        raise ValueError(
            f"{repo_id} already exists and is public, and a private push was asked for (private=True / --private), "
            "which applies only to a repository it creates: make it private first (`hf repos settings "
            f"{repo_id} --private{of_type}`), or push without private=True / --private to publish in the open."
        )


@contextmanager
def hub_failures_in_one_line(
    refused_prefix: str, repo_id: str, endpoint: str, raced: str | None = None
) -> Iterator[None]:
    """Inside, a failed Hub request raises an `OSError` of one line (`_hub_failure`): the Hub's refusal after
    `refused_prefix`, or `unreachable_hub_error`; `raced`, where given, is what a commit refused for its
    `parent_commit` says (by default, that of a push that published nothing). Anything else (a bug, not the Hub's
    answer) is raised as it is."""
    try:
        yield
    except Exception as error:
        failure = _hub_failure(error, refused_prefix, repo_id, endpoint, raced)
        if failure is error:
            raise
        raise failure from error


# The Hub's answer to a commit whose `parent_commit` is no longer the branch's head.
_PRECONDITION_FAILED = 412


def _hub_failure(
    error: Exception, refused_prefix: str, repo_id: str, endpoint: str, raced: str | None = None
) -> Exception:
    """What to raise for a failed Hub request: `raced` (or the push's own words) for a commit whose `parent_commit`
    is no longer the branch's head, the Hub's refusal after `refused_prefix`, the one-line network error, or `error`
    itself (a bug, not the Hub's answer: the caller re-raises it as it is)."""
    if getattr(getattr(error, "response", None), "status_code", None) == _PRECONDITION_FAILED:
        return OSError(
            raced
            or f"{repo_id} changed while this push was being prepared (another commit reached the branch after the "
            "push read its card and files), so nothing was published: push again, which starts from that commit."
        )
    refused = _refusal(error)
    if refused is not None:
        return OSError(f"{refused_prefix}: {refused}")
    if is_network_error(error):
        return unreachable_hub_error(repo_id, endpoint, error)
    return error


def _refusal(error: BaseException) -> str | None:
    """The Hub's own message when it answered a request and refused it (a 4xx: no rights, invalid card metadata), so
    that it is not reported as a network problem; None otherwise."""
    from huggingface_hub.errors import HfHubHTTPError

    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if not isinstance(error, HfHubHTTPError) or not isinstance(status, int) or not 400 <= status < 500:
        return None
    refused = _one_line(str(error))
    if status == 401:
        return f"{refused} Log in with `hf auth login` (or set HF_TOKEN)."
    return refused


def _one_line(text: str) -> str:
    """huggingface_hub's text of an HTTP error (the status and the Hub's message, then the address and advice on lines
    of their own) on one line, in its words: a sentence that ends a line once (the Hub's message ends in a period,
    to which huggingface_hub adds its own)."""
    lines = (line.strip() for line in text.splitlines())
    return " ".join(line[:-1] if line.endswith("..") and not line.endswith("...") else line for line in lines if line)


def unreachable_hub_error(repo_id: str, endpoint: str, error: BaseException) -> OSError:
    """The one-line error of a publication that failed on the way to the Hub (`is_network_error`)."""
    return OSError(
        f"Could not publish {repo_id} to {endpoint}: {type(error).__name__}: {str(error).rstrip('.')}. Check the "
        "network connection (and HF_ENDPOINT / HF_HUB_OFFLINE), and that you are logged in (`hf auth login`)."
    )


def _saved_preprocessor(model: PreTrainedModel, folder: Path | None):
    """The feature extractor (a fusion model's processor) saved in `folder` next to the model's weights, or None."""
    if folder is None:
        return None
    if isinstance(getattr(model, "config", None), CiTrusFusionConfig):
        from ..processing_citrus_fusion import CiTrusFusionProcessor

        return CiTrusFusionProcessor.from_pretrained(folder) if (folder / PROCESSOR_NAME).is_file() else None
    from ..feature_extraction_citrus import CiTrusFeatureExtractor

    return CiTrusFeatureExtractor.from_pretrained(folder) if (folder / FEATURE_EXTRACTOR_NAME).is_file() else None


# The weight files of a full checkpoint, one file or shards (and a pickled checkpoint's, which an older push by other
# tools may have left). A push deletes those it does not write again: a sharded push over an unsharded one left the
# old model.safetensors beside the new index, and transformers loaded the old weights from it without a word.
_MODEL_WEIGHT_FILES = (
    "model.safetensors",
    "model-*-of-*.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model-*-of-*.bin",
    "pytorch_model.bin.index.json",
)
# The files of a full checkpoint and of a LoRA adapter. A push of one kind deletes the other's from the repository
# (`_publish_folder(replaces=...)`): a repository that held both (an adapter pushed over a model, or the reverse, or a
# branch made from the other's) loaded as neither ("is a CiTrus LoRA adapter" from the Auto classes, a "corrupt"
# model.safetensors from the pipeline).
_FULL_MODEL_FILES = ("config.json", *_MODEL_WEIGHT_FILES)
_ADAPTER_TASK_CONFIG = "citrus_task_config.json"  # `modeling_citrus.ADAPTER_TASK_CONFIG_NAME` (not imported here)
_ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin", _ADAPTER_TASK_CONFIG)


def replaced_files(adapter: bool, fusion: bool) -> tuple[str, ...]:
    """The one rule of what a push deletes from the repository unless it writes it again (file names or patterns):
    the files of every other kind of checkpoint than the one pushed, a LoRA adapter (`adapter`) or a full model,
    single-modality or fusion (`fusion`). A full model's push also replaces its own weight files (a sharded push over
    an unsharded one) and keeps its own kind's extractor when it writes none (a model loaded from the repository it is
    pushed to: `default_preprocessor`); an adapter's push keeps no extractor of an earlier push (left in place, the
    pipeline aligned the adapter's inputs with it, where its own folder aligns them as its task config says), nor
    the `citrus_task_config.json` of an earlier adapter when it writes none (peft's own `push_to_hub`): left in
    place, the loaders read the old adapter's classes for the new adapter's head.

    The other modality's extractor is the other kind's: a single-modality model pushed over a fusion one left
    processor_config.json, which `AutoProcessor` read as the fusion processor (and refused the single-modality
    config), and a fusion model pushed over a single-modality one left preprocessor_config.json."""
    if adapter:
        return (*_FULL_MODEL_FILES, FEATURE_EXTRACTOR_NAME, PROCESSOR_NAME, _ADAPTER_TASK_CONFIG)
    return (*_ADAPTER_FILES, *_MODEL_WEIGHT_FILES, FEATURE_EXTRACTOR_NAME if fusion else PROCESSOR_NAME)


def is_fusion(model) -> bool:
    """Whether `model` (or the base of a peft model, `get_base_model`) is a CiTrus fusion model."""
    base = model.get_base_model() if callable(getattr(model, "get_base_model", None)) else model
    return isinstance(getattr(base, "config", None), CiTrusFusionConfig)


def delete_the_other_kind(
    repo_id: str,
    folder: str | os.PathLike,
    adapter: bool,
    *,
    fusion: bool,
    revision: str | None,
    token: str | bool | None,
) -> None:
    """Delete from `repo_id` (on the branch `revision`) the files of the other kinds of checkpoint than the one just
    uploaded from `folder` (`adapter`: a LoRA adapter's, else a full model's; `fusion`: of a fusion model), those
    `folder` does not hold (`replaced_files`): what `_publish_folder(replaces=...)` does in its commit, for an upload
    that deletes nothing (`Trainer.push_to_hub`, peft's `PeftModel.push_to_hub`)."""
    from fnmatch import fnmatch

    from huggingface_hub import HfApi

    api = HfApi(token=token)
    patterns = replaced_files(adapter, fusion)
    # The files of the branch's head, and the deletion committed onto it: a commit reaching the branch in between
    # (another push) is refused rather than having its files deleted unseen.
    head = parent_commit_on(revision, _branch_head(repo_id, revision, token))
    stale = [
        path
        for path in api.list_repo_files(repo_id, revision=head or revision)
        if "/" not in path and any(fnmatch(path, pattern) for pattern in patterns) and not Path(folder, path).exists()
    ]
    if stale:
        raced = (
            f"{repo_id} changed after this push uploaded its checkpoint (another commit reached the branch), so the "
            f"files of the kind of checkpoint it replaces ({', '.join(stale)}) were not deleted: push again."
        )
        with hub_failures_in_one_line(f"The Hub refused to clean up {repo_id}", repo_id, api.endpoint, raced):
            api.delete_files(
                repo_id,
                stale,
                revision=revision,
                commit_message="Delete the files of the checkpoint this push replaces",
                parent_commit=head,
            )


def default_preprocessor(model: PreTrainedModel):
    """The feature extractor matching a CiTrus model's input contract (`CiTrusFeatureExtractor.from_config`), or a
    fusion model's processor (`CiTrusFusionProcessor.from_config`), to publish when none was given or saved, so that
    the repository holds what its card's usage code loads. None for a model loaded from the Hub: its repository's
    own extractor may align otherwise (a window hop, a NaN policy), and a push to that repository keeps it."""
    if hub_repo_id(getattr(model, "name_or_path", None)) is not None:
        return None
    if isinstance(getattr(model, "config", None), CiTrusFusionConfig):
        from ..processing_citrus_fusion import CiTrusFusionProcessor

        return CiTrusFusionProcessor.from_config(model.config)
    from ..feature_extraction_citrus import CiTrusFeatureExtractor

    return CiTrusFeatureExtractor.from_config(model.config)


def _has_run_records(run_dir: Path | None) -> bool:
    """Whether `run_dir` holds anything a card is written from (a fine-tuning or pre-training run's records)."""
    from .runs import read_run_records

    run = read_run_records(run_dir)
    return bool(run.eval_records or run.pretraining or run.hyperparameters)


def saved_weights_match(model: PreTrainedModel, folder: Path) -> bool:
    """Whether `model` is the model saved in `folder`: of the class its `config.json` names, with every tensor equal
    to its safetensors files' (one file or shards) and none missing or extra."""
    import torch
    from safetensors.torch import load_file

    files = sorted(folder.glob("model*.safetensors"))
    try:
        architectures = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("architectures") or []
    except (OSError, ValueError, AttributeError):
        return False
    if not files or type(model).__name__ not in architectures:
        return False
    state = model.state_dict()
    saved = set()
    for file in files:
        for key, tensor in load_file(file).items():
            mine = state.get(key)
            if (
                mine is None
                or mine.shape != tensor.shape
                or not torch.equal(mine.detach().cpu().to(tensor.dtype), tensor)
            ):
                return False
            saved.add(key)
    return saved == set(state)


def _keep_previous_license(card_options: dict, previous_card: ModelCard | None) -> None:
    """`card_options["license"]`: the one given, else the repository's card's (a push that names none must not turn
    a non-commercial licence into the default apache-2.0 without a word), else the default (no entry)."""
    from .cards import HUB_LICENSES

    if card_options.get("license") is not None:
        return
    card_options.pop("license", None)
    kept = getattr(previous_card.data, "license", None) if previous_card is not None else None
    if isinstance(kept, str) and kept in HUB_LICENSES:
        card_options["license"] = kept


def _hub_weights_match(model: PreTrainedModel, repo_id: str, revision: str | None, token: bool | str | None) -> bool:
    """Whether `model` holds the weights `repo_id` has on `revision` (None: its default branch), the ones its card
    there describes (read from the local cache where loading put them, when that is the revision it was loaded from;
    False when they cannot be read)."""
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(
            repo_id, revision=revision, allow_patterns=["config.json", "model*.safetensors"], token=token
        )
    except Exception:  # noqa: BLE001 - any failure to read them back means they cannot be confirmed
        return False
    return saved_weights_match(model, Path(folder))


def _records_describing(model: PreTrainedModel, folder: Path, card_options: dict) -> Path | None:
    """`folder` (the one `model` was loaded from) as the run whose records fill its card, when `model` is still the
    model saved there; else None, with the records that stay true of it put into `card_options` (its pre-training
    and base model: how its encoder came to be) and a warning. A model whose head was replaced or dropped (a
    classifier's encoder alone, a new head) or whose weights changed after loading (trained further) would otherwise
    be published with the saved model's test results, recipe and hyper-parameters as its own."""
    from .runs import read_run_records

    run = read_run_records(folder)
    if not (run.eval_records or run.hyperparameters) or saved_weights_match(model, folder):
        return folder
    logger.warning(
        f"The model differs from the one saved in {folder} (another class or head, or weights changed since it was "
        "loaded), so its card leaves out that run's results and fine-tuning settings; save it (`save_pretrained`) "
        "from the run that trained it, or pass its evaluation results (`eval_results=`)."
    )
    if run.pretraining is not None:
        card_options.setdefault("pretraining", run.pretraining)
    if run.base_model is not None:
        card_options.setdefault("base_model", run.base_model)
    return None


def _replaced_revision(repo_id: str, revision: str | None, token: bool | str | None) -> str | None:
    """The revision of `repo_id` whose files and card a push to the branch `revision` replaces: `revision` when the
    repository has that branch (or it is a pull request's `refs/pr/N`), else None, the default branch, which a new
    branch is created from (`_publish_folder`). Without it, the first push to a new branch read no card and published
    the default licence (apache-2.0) and no tags over the ones the branch had held until then.

    Raises:
        ValueError: `revision` is a commit id or a tag of the repository: a push commits to a branch, and
            `_publish_folder` would create one named like it.
        OSError: the Hub cannot be reached (`unreachable_hub_error`).
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    if revision is None or is_pull_request_ref(revision):
        return revision
    refused = (
        "a push commits to a branch: give a branch name (an existing one, or a new one to create from the default "
        "branch), or none for the default branch."
    )
    if re.fullmatch("[0-9a-fA-F]{40}", revision):
        raise ValueError(f"revision {revision!r} is a commit id; {refused}")
    api = HfApi(token=token)
    try:
        refs = api.list_repo_refs(repo_id)
    except RepositoryNotFoundError:
        return None  # a new repository: nothing to replace
    except Exception as error:
        from ..data.hub_access import no_answer_from_hub

        if no_answer_from_hub(error):
            raise unreachable_hub_error(repo_id, api.endpoint, error) from error
        return revision  # another refusal (no rights, ...): the publication reports it
    if any(branch.name == revision for branch in refs.branches):
        return revision
    if any(tag.name == revision for tag in refs.tags):
        raise ValueError(f"revision {revision!r} is a tag of {repo_id}; {refused}")
    return None


def parent_commit_on(revision: str | None, head: str | None) -> str | None:
    """`head`, the commit a push read, as the `parent_commit` of its commit to `revision`; None on an open pull
    request's ref (`refs/pr/N`), which takes its commits without one, as `_publish_folder` leaves a pull request's."""
    return None if is_pull_request_ref(revision) else head


def is_pull_request_ref(revision: str | None) -> bool:
    """Whether `revision` is an open pull request's ref (`refs/pr/N`, huggingface_hub's way to add commits to it):
    no branch to create, read or give a card to, and no parent commit to check."""
    return (revision or "").startswith("refs/pr/")


def _branch_head(repo_id: str, revision: str | None, token: bool | str | None) -> str | None:
    """The commit the branch `revision` of `repo_id` (None: the default branch; `_replaced_revision`) is at, which a
    push reads the card and files of and commits onto (`_publish_folder(parent_commit=...)`): two pushes racing to
    one repository otherwise overwrote each other's files, and the later card dropped the rows the earlier one had
    merged in. None where there is no such repository or branch yet (or the Hub refuses: the publication reports it).

    Raises:
        OSError: the Hub cannot be reached (`unreachable_hub_error`).
    """
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    try:
        return api.repo_info(repo_id, revision=revision).sha
    except Exception as error:
        from ..data.hub_access import no_answer_from_hub

        if no_answer_from_hub(error):
            raise unreachable_hub_error(repo_id, api.endpoint, error) from error
        return None


def create_push_branch(repo_id: str, branch: str, token: bool | str | None) -> None:
    """Create the branch `branch` of the existing repository `repo_id` from its default branch where it has none, as
    `_publish_folder` does before its upload, for an upload that creates none (`Trainer.push_to_hub`'s).

    Raises:
        ValueError: `branch` is a commit id or a tag of the repository (`_replaced_revision`).
        OSError: the Hub cannot be reached or refuses (one line).
    """
    from huggingface_hub import HfApi

    if _replaced_revision(repo_id, branch, token) is None:  # (refuses a tag's name or a commit id)
        api = HfApi(token=token)
        with hub_failures_in_one_line(
            f"The Hub refused to create the branch {branch!r} of {repo_id}", repo_id, api.endpoint
        ):
            api.create_branch(repo_id, branch=branch, exist_ok=True)


def _existing_card(repo_id: str, revision: str | None, token: bool | str | None) -> ModelCard | None:
    """The model card the repository has on `revision`, or None (no repository, no card, or another refusal: then the
    publication itself reports what is wrong).

    Raises:
        OSError: the Hub cannot be reached (`unreachable_hub_error`), at the first request. The card is asked for
            with `file_exists` first, which fails at once: `hf_hub_download` alone retried a refused connection 5
            times with back-off, so an offline `citrus push` waited 23 s for the publication's one-line error.
    """
    from huggingface_hub import HfApi, ModelCard, hf_hub_download

    api = HfApi(token=token)
    try:
        if not api.file_exists(repo_id, REPOCARD_NAME, revision=revision):
            return None
        return ModelCard.load(hf_hub_download(repo_id, REPOCARD_NAME, revision=revision, token=token))
    except Exception as error:
        from ..data.hub_access import no_answer_from_hub

        if no_answer_from_hub(error):  # a refusal (a gated repository, ...) is the publication's to report
            raise unreachable_hub_error(repo_id, api.endpoint, error) from error
        return None


def push_to_hub(
    model: PreTrainedModel,
    repo_id: str,
    feature_extractor: CiTrusFeatureExtractor | CiTrusFusionProcessor | None = None,
    card: ModelCard | None = None,
    *,
    commit_message: str | None = None,
    commit_description: str | None = None,
    private: bool | None = None,
    token: bool | str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    max_shard_size: int | str | None = "50GB",
    tags: str | Sequence[str] | None = None,
    run_dir: str | os.PathLike | None = None,
    saved_folder: str | os.PathLike | None = None,
    **card_options,
) -> CommitInfo:
    """Publish a CiTrus or CiTrus fusion model as a single commit: weights (safetensors), config, feature extractor
    (or fusion processor), model card, the code that `auto_map` points to and the code of the pipeline that
    `custom_pipelines` names (so `trust_remote_code=True` users need no package, for the model and the pipeline). `model.push_to_hub(...)` of every CiTrus model and `citrus push` come here; the keyword arguments
    are transformers' `push_to_hub`'s.

    Args:
        model: the model to publish.
        repo_id: `"namespace/name"` (or `"name"`: the logged-in user's namespace); created if missing (`private`
            applies only then: `private=True` refuses a repository that exists and is public).
        feature_extractor: saved as `preprocessor_config.json` next to the model; it carries the alignment and
            normalisation the model was trained with. For a fusion model, its `CiTrusFusionProcessor` (saved as
            `processor_config.json`). Default: the one saved in `run_dir`, else `default_preprocessor(model)`.
        card: the model card; default: `build_model_card(model, feature_extractor, repo_id=..., tags=...,
            run_dir=..., previous_card=<the repository's card>, **card_options)`, which keeps the rows of the
            repository's evaluation table for other methods that it does not replace (the baselines of an earlier
            push with evaluation results).
        commit_message: the commit's title; defaults to "Upload CiTrus model, feature extractor and model card" (or
            "... fusion model, processor ..." for a fusion model).
        commit_description: the commit's description.
        private: create the repository as private (`None`: the namespace's default).
        token: Hub token; defaults to the logged-in one (`HF_TOKEN` / `hf auth login`).
        revision: branch to commit to (created from `main` if missing; a tag or a commit id is refused); `None` =
            `main`. Not with `create_pr`, whose pull request targets the default branch.
        create_pr: open a pull request instead of committing to the branch.
        max_shard_size: the largest weights file before `save_pretrained` shards them.
        tags: extra card tags (a str is one tag; the model's `model_tags` are added too).
        run_dir: the folder the model was saved in by a run (default: the local folder it was loaded from): its
            run records fill the card (`build_model_card(run_dir=...)`) and its feature extractor is published.
        saved_folder: the folder `model.save_pretrained(folder, push_to_hub=True)` has just written: its feature
            extractor (processor) is published, and it is the `run_dir` when it holds run records of its own.
        card_options: further `build_model_card` arguments (e.g. `eval_results=`, `model_arm=`, `license=`).

    Returns:
        `huggingface_hub.CommitInfo` (`.oid`, `.commit_url`, `.pr_url`).
    """
    from .cards import _add_tags, build_model_card

    _refuse_non_finite(model)
    private, create_pr = _checked_switches(private, create_pr)
    repo_id = _with_namespace(repo_id, token)
    replaced = _replaced_revision(repo_id, revision, token)  # refuses a tag or a commit id before any download
    if commit_message is None:
        commit_message = (
            "Upload CiTrus fusion model, processor and model card"
            if isinstance(getattr(model, "config", None), CiTrusFusionConfig)
            else "Upload CiTrus model, feature extractor and model card"
        )
    saved_folder = Path(saved_folder) if saved_folder is not None else None
    if run_dir is None and _has_run_records(saved_folder):
        run_dir = saved_folder
    if feature_extractor is None:
        feature_extractor = _saved_preprocessor(model, saved_folder)
    loaded_from = getattr(model, "name_or_path", None)  # "" for a model built in memory
    if run_dir is None and loaded_from and Path(folder_if_bundled(loaded_from)).is_dir():
        loaded_folder = Path(folder_if_bundled(loaded_from))  # its folder, or the bundled checkpoint's ("citrus-small")
        if feature_extractor is None:  # the alignment it was trained with, whatever the card may say of it
            feature_extractor = _saved_preprocessor(model, loaded_folder)
        run_dir = _records_describing(model, loaded_folder, card_options)
    run_dir = Path(run_dir) if run_dir is not None else None
    if feature_extractor is None:
        feature_extractor = _saved_preprocessor(model, run_dir)
    if feature_extractor is None:  # none given or saved (a model built in memory, e.g. `from_encoders`)
        feature_extractor = default_preprocessor(model)
    source = hub_repo_id(loaded_from)
    if feature_extractor is None and source is not None and source != repo_id:
        # a model loaded from another repository: its extractor goes along (a push to its own keeps it there)
        feature_extractor = _source_preprocessor(model, source, token)
    all_tags = list(dict.fromkeys([*(getattr(model, "model_tags", None) or []), *as_list(tags)]))
    # What is read below (the card, the weights) is of this commit, and the push goes onto it. A given card reads
    # nothing of the repository, so nothing is asked of the Hub before the folder is checked (a pickled file is
    # refused offline too, and leaves no empty repository behind)
    head = _branch_head(repo_id, replaced, token) if card is None else None
    previous_card = _existing_card(repo_id, head or replaced, token) if card is None else None
    if card is None and not card_options and not _has_run_records(run_dir) and previous_card is not None:
        # Nothing recorded here to describe the model: when it is the repository's own model, loaded from it and
        # unchanged (the weights the replaced revision holds, which its card describes), keep that card, as
        # transformers does, rather than replace its results with an empty one. Another model (built in memory,
        # trained further since it was loaded, another branch's) gets a new card, which keeps the old one's baselines
        # but not its results (`build_model_card(previous_card=...)`).
        if source == repo_id and _hub_weights_match(model, source, head or replaced, token):
            card = previous_card
            logger.info(f"Kept the model card {repo_id} already has (no run records here to write a new one).")
            _add_tags(card, all_tags)
    if card is None:
        # The new card keeps the evaluation rows of the repository's card that it does not replace (the baselines of
        # an earlier push with `--eval-results`), see `build_model_card(previous_card=...)`.
        card_options.setdefault("previous_card", previous_card)
        _keep_previous_license(card_options, previous_card)
        card = build_model_card(
            model,
            feature_extractor,
            repo_id=repo_id,
            tags=all_tags,
            run_dir=run_dir,
            revision=_card_branch(revision, create_pr),
            **card_options,
        )
        if previous_card is not None and previous_card.data.pipeline_tag == card.data.pipeline_tag:
            # the repository's tags (`--tag har` of an earlier push) stay, as a kept card's do, for a model of the
            # same task (another task's card carries tags of that task)
            _add_tags(card, previous_card.data.tags or [])
    elif card_options:
        raise TypeError(f"Options {sorted(card_options)} build the card; a `card` was given. Pass one or the other.")
    elif all_tags:
        _add_tags(card, all_tags)

    # a folder saved by the feature-extraction pipeline embeds: the model's own save would record its class's task
    embedding_task = embedding_pipelines_kept(getattr(model, "config", None), type(model).__name__)

    def write(folder: Path) -> None:
        model.save_pretrained(folder, max_shard_size=max_shard_size)
        if embedding_task is not None:
            _record_pipelines(model.config, embedding_task, folder)
        save_pipeline_code(folder)
        if feature_extractor is not None:
            feature_extractor.save_pretrained(folder)
        card.save(folder / REPOCARD_NAME)

    return _publish_folder(
        repo_id,
        write,
        _check_checkpoint_folder,
        example_repo_id="my-user/citrus-eeg",
        private=private,
        revision=revision,
        commit_message=commit_message,
        commit_description=commit_description,
        token=token,
        create_pr=create_pr,
        replaces=replaced_files(adapter=False, fusion=is_fusion(model)),
        parent_commit=head,
    )


def _record_pipelines(config: CiTrusConfig, entries: dict, folder: Path) -> None:
    """Save `config` in `folder` with `entries` as its `custom_pipelines`, leaving the model's config as it was."""
    recorded = config.custom_pipelines
    config.custom_pipelines = entries
    try:
        config.save_pretrained(folder)
    finally:
        config.custom_pipelines = recorded


def _card_branch(revision: str | None, create_pr: bool) -> str | None:
    """The branch a push's card goes to, whose checkpoint its usage code loads: `revision`, unless it is a pull
    request's (`create_pr`, `refs/pr/N`), which merges into the default branch (None)."""
    return revision if revision is not None and not create_pr and not is_pull_request_ref(revision) else None


def _source_preprocessor(model: PreTrainedModel, source: str, token: bool | str | None):
    """The feature extractor (a fusion model's processor) of the Hub repository `model` was loaded from, beside its
    weights there (the commit, subfolder and cache it was loaded from), to publish with it elsewhere: without it the
    new repository had no preprocessor_config.json, and its card's usage code, `pipeline(model=...)` and
    `AutoFeatureExtractor` failed on it. One built from the model's config when that repository holds none (with a
    warning: it may align otherwise)."""
    from ..feature_extraction_citrus import CiTrusFeatureExtractor
    from ..modeling_citrus import _hub_source_kwargs
    from ..processing_citrus_fusion import CiTrusFusionProcessor

    fusion = isinstance(getattr(model, "config", None), CiTrusFusionConfig)
    preprocessor_class = CiTrusFusionProcessor if fusion else CiTrusFeatureExtractor
    try:
        return preprocessor_class.from_pretrained(source, **_hub_source_kwargs(model), token=token)
    except (OSError, ValueError) as error:
        logger.warning(
            f"{source}, which the model was loaded from, has no {preprocessor_class.__name__} to publish with it "
            f"({str(error).splitlines()[0][:200]}); publishing one built from its config instead (pass "
            "`feature_extractor=` if the model was trained on recordings aligned otherwise)."
        )
        return preprocessor_class.from_config(model.config)


def _adapter_card_tags(card: ModelCard | None) -> list[str]:
    """The tags of the repository's adapter card (`library_name: peft`) that a new push of an adapter keeps (`--tag
    imu` of an earlier push): all but those naming its base (`base_model:...`), which the new card writes for its own.
    None of a full model's card, whose tags describe that model."""
    if card is None or card.data.library_name != "peft":
        return []
    return [tag for tag in card.data.tags or [] if not str(tag).startswith("base_model:")]


def push_adapter_to_hub(
    peft_model: PeftModel,
    repo_id: str,
    feature_extractor: CiTrusFeatureExtractor | None = None,
    *,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str = "Upload CiTrus LoRA adapter",
    token: str | None = None,
    create_pr: bool = False,
    license: str | None = None,
    tags: str | Sequence[str] | None = None,
    run_dir: str | os.PathLike | None = None,
    base_model: str | None = None,
) -> CommitInfo:
    """Publish a LoRA adapter as one commit: the `save_adapter` folder (safetensors only) with a model card.

    Args:
        peft_model: the model returned by `apply_lora` (or `load_adapter`).
        repo_id: `"namespace/name"`; created if missing (`private` applies only then: `private=True` refuses a
            repository that exists and is public).
        feature_extractor: saved as `preprocessor_config.json`: the alignment the adapter was trained with. None:
            the repository keeps no `preprocessor_config.json` of an earlier push (the loaders align as the
            adapter's task config says, as they do its folder).
        private: create the repository as private (`None`: the namespace's default).
        revision: branch to commit to (created from `main` if missing; a tag or a commit id is refused); `None` =
            `main`.
        commit_message, token, create_pr: as in `huggingface_hub.HfApi.upload_folder`.
        license: the card's license id (`cards.HUB_LICENSES`); None: the repository card's when it has one (a push
            that names none keeps a non-commercial licence), else apache-2.0.
        tags: extra card tags (a str is one tag); those of the repository's adapter card stay.
        run_dir: the folder a run saved the adapter in (`citrus finetune --lora`): its records (test metrics,
            dataset, settings) go into the card (`cards.add_adapter_run_records`). Give it only for the adapter that
            run saved, unchanged.
        base_model: the Hub id (or bundled name, "citrus-small") of the base the adapter was trained on, recorded
            in the published adapter_config.json and card in place of the base it was loaded from. Give it when
            that base is a local folder (after pushing it with `push_to_hub`): a folder's path loads only on this
            machine, so without it the push warns.

    Returns:
        `huggingface_hub.CommitInfo` (`.oid`, `.commit_url`, `.pr_url`). Load it back with
        `citrus_hf.training.lora.load_adapter(base, repo_id)`.

    Raises:
        ValueError: `base_model` is no Hub model id (`namespace/name`) nor a bundled checkpoint's name.
    """
    from ..training.lora import adapter_card, save_adapter
    from .cards import _add_tags, add_adapter_run_records, check_license

    if license is not None:
        check_license(license)
    private, create_pr = _checked_switches(private, create_pr)
    repo_id = _with_namespace(repo_id, token)
    lora_config = peft_model.peft_config[peft_model.active_adapter]
    loaded_base = lora_config.base_model_name_or_path
    if base_model is not None and hub_repo_id(base_model) is None and folder_if_bundled(base_model) == base_model:
        raise ValueError(
            f"base_model {base_model!r} is neither a Hub model id (`namespace/name`, e.g. `my-user/citrus-eeg`) nor "
            "a checkpoint bundled with the package (`citrus-small`): it is what the published adapter names as its "
            "base, for others to load. Push the base first (`push_to_hub` / `citrus push`) and give its id."
        )
    if (
        base_model is None
        and loaded_base
        and folder_if_bundled(loaded_base) == loaded_base
        and os.path.isdir(loaded_base)
    ):
        warnings.warn(
            f"The adapter's base is the local folder {os.path.abspath(loaded_base)}, so {repo_id} records that path "
            "and `load_adapter(None, repo_id)` works only on this machine. Push the base (`push_to_hub` / `citrus "
            "push`) and give its id as `base_model=` (`citrus push --base-model`).",
            stacklevel=outside_stacklevel(),
        )
    # the licence and tags of the card the push replaces stay unless given (`citrus push` of an adapter again turned a
    # non-commercial licence into apache-2.0 and dropped `--tag imu`), as a full model's push keeps them
    replaced = _replaced_revision(repo_id, revision, token)
    head = _branch_head(repo_id, replaced, token)  # what is read below is of this commit, and the push goes onto it
    previous_card = _existing_card(repo_id, head or replaced, token)
    kept = {"license": license}
    _keep_previous_license(kept, previous_card)
    license = kept.get("license") or "apache-2.0"
    tags = [*_adapter_card_tags(previous_card), *as_list(tags)]

    def write(folder: Path) -> None:
        if base_model is not None:
            # the published copy names the base others can load; the model in memory keeps its own record
            lora_config.base_model_name_or_path = base_model
        try:
            save_adapter(peft_model, folder, feature_extractor)
            card = adapter_card(peft_model, repo_id, license=license, revision=_card_branch(revision, create_pr))
        finally:
            lora_config.base_model_name_or_path = loaded_base
        add_adapter_run_records(card, peft_model.get_base_model(), run_dir, repo_id)
        _add_tags(card, tags)
        card.save(folder / REPOCARD_NAME)

    return _publish_folder(
        repo_id,
        write,
        lambda folder: _refuse_pickles(folder, "adapters"),
        example_repo_id="my-user/citrus-lora-har",
        private=private,
        revision=revision,
        commit_message=commit_message,
        token=token,
        create_pr=create_pr,
        replaces=replaced_files(adapter=True, fusion=is_fusion(peft_model)),
        parent_commit=head,
    )


__all__ = [
    "default_preprocessor",
    "delete_the_other_kind",
    "is_fusion",
    "push_adapter_to_hub",
    "push_to_hub",
    "replaced_files",
    "save_pipeline_code",
]
