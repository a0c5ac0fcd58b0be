"""Checkpoints shipped inside the package (`pretrained/<name>/`), found by name, and what kind of checkpoint a local
folder holds (`is_adapter_folder`). A bottom-layer module: the loaders (`loading.py`), the Auto-class hooks
(`_auto.py`), the pipelines and the commands all answer these questions with it, so that they agree."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

# Checkpoints shipped inside the package, loadable by name: `BUNDLED_CHECKPOINTS / name` holding a `config.json`.
BUNDLED_CHECKPOINTS = Path(__file__).resolve().parent / "pretrained"
# transformers' CONFIG_NAME and peft's adapter settings file (`vocabulary_citrus.ADAPTER_CONFIG_NAME`), spelt out: this
# module is imported by `citrus --help`, which loads no transformers, and the vocabulary is a sibling of this layer.
# tests/test_style2_loading.py keeps both equal to their sources.
_CONFIG_NAME = "config.json"
_ADAPTER_CONFIG_NAME = "adapter_config.json"
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
    return folder if (folder / _CONFIG_NAME).is_file() else None


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
    return sorted(p.name for p in BUNDLED_CHECKPOINTS.iterdir() if (p / _CONFIG_NAME).is_file())


def is_adapter_folder(path) -> bool:
    """Whether the local folder `path` is a LoRA adapter folder (`citrus finetune --lora`, `save_adapter`, peft's
    `save_pretrained`): adapter_config.json and no config.json, so that loading it means loading the base its
    adapter_config.json names and putting the adapter on it. The one definition that `citrus push`, `citrus export`,
    `check_model_reference`, `pipeline(model=...)` and the Auto classes use.

    A folder holding both files is a whole model with an adapter saved beside it, not an adapter folder: transformers
    (`from_pretrained`, `pipeline`, with peft installed) loads the model in the folder itself and attaches the adapter,
    ignoring the base that adapter_config.json names, and so does every citrus_hf path. Anything but a `str` or
    `os.PathLike` naming an existing folder is not one (a Hub id, a model object); a leading `~` is taken as
    transformers takes it, literally (the `citrus` commands expand it when they parse their options)."""
    if not isinstance(path, (str, os.PathLike)):
        return False
    folder = Path(path)
    return folder.is_dir() and (folder / _ADAPTER_CONFIG_NAME).is_file() and not (folder / _CONFIG_NAME).is_file()


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
    "is_adapter_folder",
]
