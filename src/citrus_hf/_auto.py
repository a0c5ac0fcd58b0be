"""Registering CiTrus with transformers' Auto classes without importing torch at `import citrus_hf`.

`AutoConfig.from_pretrained(folder)` and its siblings find CiTrus only once its classes are registered, and importing
any of transformers' auto modules imports torch. So registration waits for transformers: when `citrus_hf` is
imported, every auto module already loaded is registered with at once, and a `sys.meta_path` finder watches for the
others; it wraps their loaders so that CiTrus is registered right after such a module has executed, whoever imports
it (`from transformers import AutoModel`, `transformers.AutoConfig`, ...). Accessing a public name of `citrus_hf`
registers with all of them (`register_all`).

Each registration imports the CiTrus modules it needs once the auto module has finished executing. When a CiTrus
module is itself executing at that moment (importing `modeling_citrus` imports `transformers.modeling_layers`, which
imports `modeling_auto`), the registration waits until that module has finished: the finder watches the CiTrus model
modules too, so no half-initialised module is ever used.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
import threading
from collections.abc import Callable

_AUTO = "transformers.models.auto."


def _register_configs() -> None:
    from transformers.models.auto.configuration_auto import AutoConfig

    from .configuration_citrus import CiTrusConfig
    from .configuration_citrus_fusion import CiTrusFusionConfig

    AutoConfig.register(CiTrusConfig.model_type, CiTrusConfig, exist_ok=True)
    AutoConfig.register(CiTrusFusionConfig.model_type, CiTrusFusionConfig, exist_ok=True)


def _register_models() -> None:
    from transformers.models.auto.modeling_auto import (
        AutoModel,
        AutoModelForPreTraining,
        AutoModelForSequenceClassification,
    )

    from .configuration_citrus import CiTrusConfig
    from .configuration_citrus_fusion import CiTrusFusionConfig
    from .modeling_citrus import CiTrusForPretraining, CiTrusForSequenceClassification, CiTrusModel
    from .modeling_citrus_fusion import CiTrusFusionForSequenceClassification

    AutoModel.register(CiTrusConfig, CiTrusModel, exist_ok=True)
    AutoModelForPreTraining.register(CiTrusConfig, CiTrusForPretraining, exist_ok=True)
    AutoModelForSequenceClassification.register(CiTrusConfig, CiTrusForSequenceClassification, exist_ok=True)
    AutoModelForSequenceClassification.register(
        CiTrusFusionConfig, CiTrusFusionForSequenceClassification, exist_ok=True
    )


def _register_feature_extractors() -> None:
    from transformers.models.auto.feature_extraction_auto import AutoFeatureExtractor

    from .configuration_citrus import CiTrusConfig
    from .feature_extraction_citrus import CiTrusFeatureExtractor

    AutoFeatureExtractor.register(CiTrusConfig, CiTrusFeatureExtractor, exist_ok=True)


def _register_processors() -> None:
    from transformers.models.auto.processing_auto import AutoProcessor

    from .configuration_citrus_fusion import CiTrusFusionConfig
    from .processing_citrus_fusion import CiTrusFusionProcessor

    AutoProcessor.register(CiTrusFusionConfig, CiTrusFusionProcessor, exist_ok=True)


# transformers' auto module -> (what registers CiTrus with it, the CiTrus modules that registration imports)
REGISTRATIONS: dict[str, tuple[Callable[[], None], tuple[str, ...]]] = {
    _AUTO + "configuration_auto": (_register_configs, ("configuration_citrus", "configuration_citrus_fusion")),
    _AUTO + "modeling_auto": (
        _register_models,
        ("configuration_citrus", "configuration_citrus_fusion", "modeling_citrus", "modeling_citrus_fusion"),
    ),
    _AUTO + "feature_extraction_auto": (
        _register_feature_extractors,
        ("configuration_citrus", "feature_extraction_citrus"),
    ),
    _AUTO + "processing_auto": (
        _register_processors,
        ("configuration_citrus_fusion", "feature_extraction_citrus", "processing_citrus_fusion"),
    ),
}
# Modules whose end of execution may let a registration run: the auto modules, and the CiTrus modules (importing
# `modeling_citrus` imports `modeling_auto`, whose registration must then wait until `modeling_citrus` is complete).
WATCHED = set(REGISTRATIONS) | {f"{__package__}.{name}" for _, needed in REGISTRATIONS.values() for name in needed}
_done: set[str] = set()
_running: set[str] = set()
_lock = threading.RLock()


def _initializing(module_name: str) -> bool:
    """The module is executing right now (it is in `sys.modules` already, but incomplete)."""
    module = sys.modules.get(module_name)
    return module is not None and bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _register_ready(executed: str | None = None) -> None:
    """Run every registration whose auto module is loaded and none of whose CiTrus modules is half executed.

    `executed` names a module that has just finished executing (the import system marks it complete only after its
    loader returns)."""

    def initializing(module_name: str) -> bool:
        return module_name != executed and _initializing(module_name)

    with _lock:
        for auto_module, (register, needed) in REGISTRATIONS.items():
            if auto_module in _done or auto_module in _running:
                continue
            if auto_module not in sys.modules or initializing(auto_module):
                continue
            if any(initializing(f"{__package__}.{name}") for name in needed):
                continue  # runs when that module has finished executing (see `_RegisteringLoader`)
            _running.add(auto_module)
            try:
                register()
                _done.add(auto_module)
            finally:
                _running.discard(auto_module)
        if _done == set(REGISTRATIONS):
            _uninstall()


class _RegisteringLoader(importlib.abc.Loader):
    """The loader of a watched module: runs the real loader, then the registrations that have become possible."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        _register_ready(executed=module.__name__)

    def __getattr__(self, name: str):
        # get_source, get_resource_reader, is_package, ...: the real loader's.
        return getattr(self._loader, name)


class _WatchedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the watched modules with the other finders and gives them a `_RegisteringLoader`."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in WATCHED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _RegisteringLoader(spec.loader)
                return spec
        return None


_finder = _WatchedModuleFinder()


def _uninstall() -> None:
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)


def install() -> None:
    """Register with every auto module transformers has loaded, and watch for the others (called by
    `import citrus_hf`)."""
    with _lock:
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
        _register_ready()


def add_registration(module_name: str, register: Callable[[], None], needed: tuple[str, ...]) -> None:
    """Run `register` once `module_name` (a transformers module other than the Auto classes', e.g.
    `transformers.pipelines`) has been imported, like the Auto registrations; `needed` names the CiTrus modules it
    imports (relative to this package). Call before `install`."""
    with _lock:
        REGISTRATIONS[module_name] = (register, tuple(needed))
        WATCHED.update({module_name, *(f"{__package__}.{name}" for name in needed)})


def register_all() -> None:
    """Register CiTrus with all of transformers' Auto classes now (imports them, and with them torch). Other
    registrations (`add_registration`) still wait for their module."""
    for module_name in REGISTRATIONS:
        if module_name.startswith(_AUTO):
            importlib.import_module(module_name)
    _register_ready()


__all__ = ["REGISTRATIONS", "add_registration", "install", "register_all"]
