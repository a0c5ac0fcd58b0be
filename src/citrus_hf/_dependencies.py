"""The oldest torch, transformers, huggingface_hub, datasets, accelerate and peft this package works with, checked at
`import citrus_hf`.

pip enforces pyproject.toml's bounds (a test keeps them equal to `MINIMUM_VERSIONS`), but an environment assembled
otherwise (`--no-deps`, conda, a pinned lock file) can hold an older release, and the failures there are deep. Measured
on 2026-12-04 (the whole suite on transformers 5.20.0): with transformers 5.0-5.2 `CiTrusConfig` could not be defined
(huggingface_hub's `StrictDataclassDefinitionError`), with 5.3-5.9 the model files failed to import
(`transformers.utils.hub.hf_api`), with 5.10-5.19 fusion checkpoints did not load through the Auto classes (16 of 477
tests of the model, extractor, pipeline, fusion and command modules failed on 5.19); on 5.20 every test passed. With
huggingface_hub before 2.2 `ModelCard.validate`, which every published card goes through, posts to huggingface.co
whatever HF_ENDPOINT says, so publishing to another endpoint failed (the 24 tests against the local Hub server, with
1.33; all passed with 2.2). datasets before 5.1 pins huggingface_hub below 2.0, and 4.0 failed to build a set
(`GeneratorConfig` without `fingerprint`); the data and Hub-dataset tests passed with 5.1.0.

Measured on 2026-12-05, the whole suite with all of them at their floors (torch 2.13; numpy 1.26 and the extras' floors
too), and on torch 2.11 with the newest others: transformers 5.20 turns PyTorch off below 2.6 ("Disabling PyTorch
because PyTorch >= 2.6 is required"); torch 2.11.0 is the oldest release that could be installed here (2.6-2.10 need
CUDA 12 libraries the package registry does not hold) and passed, as did 2.13 and 2.14.1. The Trainer of transformers
5.20 needs accelerate 1.3 (`unwrap_model(keep_torch_compile=...)`), and before 1.13 Accelerate fails a launch
environment without MASTER_ADDR with its own error before this package can say what the launch did (1 test).
transformers 5.20 loads adapters only with peft >= 0.20 (`MIN_PEFT_VERSION`; with 0.15 its adapter loading fails on
`peft.utils.transformers_weight_conversion`). transformers checks its own dependencies the same way at import.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import metadata
from logging import Logger
from typing import Any

# distribution -> the oldest release this package's tests pass with
MINIMUM_VERSIONS = {
    "torch": "2.11",
    "transformers": "5.20",
    "huggingface-hub": "2.2",
    "datasets": "5.1",
    "accelerate": "1.13",
    "peft": "0.20",
}


def _release(version: str) -> tuple[int, int, int] | None:
    """The numeric release a version string starts with, as three numbers: "5.20.0.dev0" -> (5, 20, 0), "1.31" ->
    (1, 31, 0); None for a string that starts with none. Enough to compare releases without importing `packaging`."""
    leading = re.match(r"\d+(?:\.\d+)*", version)
    if leading is None:
        return None
    numbers = [int(number) for number in leading.group().split(".")]
    return tuple((numbers + [0, 0, 0])[:3])  # type: ignore[return-value]


def check_dependency_versions(installed: Callable[[str], str] = metadata.version) -> None:
    """Raise ImportError naming the upgrade when an installed distribution of `MINIMUM_VERSIONS` is older than its
    floor there; `installed(distribution)` gives a distribution's version. A distribution that is not
    installed is left to the import that needs it."""
    for distribution, minimum in MINIMUM_VERSIONS.items():
        try:
            found = installed(distribution)
        except metadata.PackageNotFoundError:
            continue
        release = _release(found)
        if release is not None and release < _release(minimum):  # an unreadable version is not refused
            raise ImportError(
                f"citrus-hf needs {distribution} >= {minimum}, but {found} is installed; upgrade it with "
                f"`pip install -U '{distribution}>={minimum}'`."
            )


def check_at_import(program: str | None = None, installed: Callable[[str], str] = metadata.version) -> None:
    """`check_dependency_versions` for `import citrus_hf`: an ImportError for Python, and the one line `error: ...`
    (exit code 1) where the importing program is the `citrus` command (`program`: `sys.argv[0]`, which is "-m" while
    `python -m citrus_hf.commands` imports the package), whose errors are one line and which never reaches its own
    error boundary when the package cannot be imported."""
    import os
    import sys

    if program is None:
        program = sys.argv[0] if sys.argv else ""
    try:
        check_dependency_versions(installed)
    except ImportError as error:
        if os.path.basename(program) in ("citrus", "-m"):
            raise SystemExit(f"error: {error}") from None
        raise


def private_attribute(owner: Any, name: str, *, library: str, owner_name: str, checked: str, logger: Logger) -> Any:
    """A dependency's private `owner.name` (a class or module of `library`, "transformers" or "peft") that a CiTrus
    check wraps, or None where this release has none (moved or renamed: pyproject asks only for a floor). The check
    is then off with a warning on `logger` naming it (`checked`: what citrus-hf does through it, "checks peft's
    hotswap"), and the library's own behaviour stays, where failing would stop `import citrus_hf` (and the library's
    import after it) for a check of one message."""
    found = getattr(owner, name, None)
    if found is None:
        import importlib

        version = getattr(importlib.import_module(library), "__version__", "?")
        logger.warning(
            f"{library} {version} has no `{owner_name}.{name}`, through which citrus-hf {checked} (CiTrus models): "
            f"that check is off. Install the {library} version citrus-hf was released with, or update citrus-hf."
        )
    return found
