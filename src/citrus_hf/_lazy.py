"""Public names of a package loaded on first use (PEP 562), so importing the package imports none of the heavy
modules behind them: `citrus data --help` reads `publishing.datasets` and `citrus finetune --help` reads
`training.arguments` without importing torch through their packages' other modules."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any


class _PublicNamesFirst(types.ModuleType):
    """A package whose public name wins over its submodule of the same name (`citrus_hf.training.finetune` is the
    function, as it was when the package imported its names eagerly). The import system binds a submodule to its
    package as an attribute once it is loaded; here that binding stores the public name the submodule defines."""

    _lazy_names: Mapping[str, str] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        submodule = f"{self.__name__}.{name}"
        if isinstance(value, types.ModuleType) and value.__name__ == submodule and self._lazy_names.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


def lazy_attributes(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The `__getattr__` and `__dir__` of `package` (its `__name__`) whose public names come from its modules:
    `names` maps each name to the module of the package that defines it (relative, e.g. "arguments"). A name is
    imported on first access and then kept in `namespace` (the package's `globals()`). A public name that is also
    the name of the submodule defining it stays the public name (`_PublicNamesFirst`)."""
    module = sys.modules[package]
    module.__class__ = _PublicNamesFirst
    module._lazy_names = dict(names)

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{names[name]}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
