"""Public names of a package loaded on first use (PEP 562), so importing the package imports none of the heavy
modules behind them: `citrus data --help` reads `publishing.datasets` and `citrus finetune --help` reads
`training.arguments` without importing torch through their packages' other modules."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The `__getattr__` and `__dir__` of `package` (its `__name__`) whose public names come from its modules:
    `names` maps each name to the module of the package that defines it (relative, e.g. "arguments"). A name is
    imported on first access and then kept in `namespace` (the package's `globals()`)."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{names[name]}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
