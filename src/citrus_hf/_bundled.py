"""Checkpoints shipped inside the package (`pretrained/<name>/`), found by name. A bottom-layer module: the loaders
(`loading.py`) and the Auto-class hooks (`_auto.py`) both resolve names with it."""

from __future__ import annotations

from pathlib import Path

# Checkpoints shipped inside the package, loadable by name: `BUNDLED_CHECKPOINTS / name` holding a `config.json`.
BUNDLED_CHECKPOINTS = Path(__file__).resolve().parent / "pretrained"


def bundled_checkpoint(name: str) -> Path | None:
    """The folder of the checkpoint shipped with the package under `name` (e.g. "citrus-small"), or None."""
    if not isinstance(name, str) or not name or any(separator in name for separator in ("/", "\\")):
        return None
    if name.startswith("."):
        return None
    folder = BUNDLED_CHECKPOINTS / name
    return folder if (folder / "config.json").is_file() else None


def bundled_names() -> list[str]:
    """Names of the checkpoints shipped with the package."""
    if not BUNDLED_CHECKPOINTS.is_dir():
        return []
    return sorted(p.name for p in BUNDLED_CHECKPOINTS.iterdir() if (p / "config.json").is_file())


__all__ = ["BUNDLED_CHECKPOINTS", "bundled_checkpoint", "bundled_names"]
