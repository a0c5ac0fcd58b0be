"""Checkpoints shipped inside the package (`pretrained/<name>/`), found by name. A bottom-layer module: the loaders
(`loading.py`) and the Auto-class hooks (`_auto.py`) both resolve names with it."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

# Checkpoints shipped inside the package, loadable by name: `BUNDLED_CHECKPOINTS / name` holding a `config.json`.
BUNDLED_CHECKPOINTS = Path(__file__).resolve().parent / "pretrained"
# difflib similarity from which a name counts as a typo of a bundled one: one letter dropped, doubled or swapped in
# "citrus-small" scores above 0.9, another size ("citrus-large") about 0.67.
_CLOSE_NAME_CUTOFF = 0.8


def bundled_checkpoint(name: str) -> Path | None:
    """The folder of the checkpoint shipped with the package under `name` (e.g. "citrus-small"), or None."""
    if not isinstance(name, str) or not name or any(separator in name for separator in ("/", "\\")):
        return None
    if name.startswith("."):
        return None
    folder = BUNDLED_CHECKPOINTS / name
    # transformers' CONFIG_NAME, spelt out: this module is imported by `citrus --help`, which loads no transformers
    return folder if (folder / "config.json").is_file() else None


def folder_if_bundled(value):
    """The folder (a `str`) of the bundled checkpoint `value` names, unless a local folder has that name; otherwise
    `value` unchanged (a folder, a Hub id, a config object). What lets transformers' entry points (`pipeline`, the
    Auto classes) take "citrus-small" offline: a Hub id without an owner is an old canonical model, and no bundled
    name is one."""
    if isinstance(value, str) and not os.path.isdir(value):
        folder = bundled_checkpoint(value)
        if folder is not None:
            return str(folder)
    return value


def bundled_names() -> list[str]:
    """Names of the checkpoints shipped with the package."""
    if not BUNDLED_CHECKPOINTS.is_dir():
        return []
    return sorted(p.name for p in BUNDLED_CHECKPOINTS.iterdir() if (p / "config.json").is_file())


def close_bundled_names(name: str) -> list[str]:
    """Names of bundled checkpoints that `name` may be a typo of ("citrus-smal" -> ["citrus-small"]), closest first.

    Only for an error message after `name` failed as a folder and as a Hub id: "citrus-smal" is a valid Hub repo
    name, so a close match must never stop the lookup itself.
    """
    if not isinstance(name, str) or bundled_checkpoint(name) is not None:
        return []
    return difflib.get_close_matches(name, bundled_names(), n=2, cutoff=_CLOSE_NAME_CUTOFF)


def bundled_suggestion(name) -> str:
    """A sentence " Did you mean ...?" (with its leading space) when `name`, which just failed as a folder and as a Hub
    id, is close to a bundled checkpoint's name ("citrus-smal"), else "": for the end of the lookup's error."""
    close = close_bundled_names(name)
    if not close:
        return ""
    return f" Did you mean the checkpoint bundled with citrus_hf {' or '.join(map(repr, close))}?"


__all__ = [
    "BUNDLED_CHECKPOINTS",
    "bundled_checkpoint",
    "bundled_names",
    "bundled_suggestion",
    "close_bundled_names",
    "folder_if_bundled",
]
