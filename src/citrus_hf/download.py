"""Resolve a Hub id or a local folder to a local CiTrus checkpoint folder, downloading only safe files.

Lives below `hub.py` (publishing, cards) and `training/` so that both can load checkpoints from the Hub without the
lower layer importing the higher one.
"""

from __future__ import annotations

import os
from pathlib import Path

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

# What a CiTrus checkpoint consists of; anything else (pickled *.bin, *.pt) is never downloaded.
CHECKPOINT_PATTERNS = ["*.json", "*.safetensors", "*.py", "README.md"]


def resolve_checkpoint(
    repo_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    token: str | bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
) -> Path:
    """Local folder holding the checkpoint: `repo_or_path` itself if it is a folder, else the Hub snapshot.

    Only the files a CiTrus checkpoint needs are downloaded (`*.json`, `*.safetensors`, `*.py`, `README.md`):
    pickled weights never reach the disk. With `HF_HUB_OFFLINE=1` or `local_files_only=True` the cached snapshot is
    used.

    Raises:
        OSError: the folder does not exist, or the repository / revision does not exist or cannot be accessed, or
            the Hub cannot be reached and the cache does not hold the snapshot. The message names the repository,
            the revision and the fix.
    """
    path = Path(repo_or_path).expanduser()
    if path.is_dir():
        return path
    repo_id = str(repo_or_path)
    shown_revision = revision or "main"
    looks_like_path = (
        isinstance(repo_or_path, os.PathLike) or repo_id.startswith((".", "/", "~")) or repo_id.count("/") > 1
    )
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
    try:
        return Path(
            snapshot_download(
                repo_id,
                revision=revision,
                allow_patterns=CHECKPOINT_PATTERNS,
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
            "in with `hf auth login` or pass `token=`."
        ) from error
    except RevisionNotFoundError as error:
        raise OSError(
            f"Revision {shown_revision!r} was not found in repository {repo_id!r}; pass an existing branch, tag or "
            "commit id (`HfApi().list_repo_refs(repo_id)` lists them)."
        ) from error
    except (LocalEntryNotFoundError, IncompleteSnapshotError) as error:
        offline = local_files_only or constants.is_offline_mode()
        reason = (
            "offline mode is on (HF_HUB_OFFLINE=1 or local_files_only=True)" if offline else "the Hub cannot be reached"
        )
        raise OSError(
            f"Cannot load {repo_id!r} (revision {shown_revision!r}): {reason} and the cache does not hold this "
            f"snapshot. Download it once while online (unset HF_HUB_OFFLINE), or pass a local checkpoint folder."
        ) from error


__all__ = ["CHECKPOINT_PATTERNS", "resolve_checkpoint"]
