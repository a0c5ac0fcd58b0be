"""Optional dependencies: which extra of `pip install citrus-hf[...]` installs each, and `require`, which imports one
or fails with a single line naming that extra.

What the main job needs (`citrus demo`: the corpus readers, the report's plot) is a core dependency; the extras hold
the rest: more file formats (`[data]`), TensorBoard logging (`[bench]`), ONNX export and ONNX Runtime (`[onnx]`),
the physiological pre-training generators of `citrus_hf.data.synthetic` (`[synthetic]`), the protocol's MiniRocket
baseline (`[baselines]`).
"""

from __future__ import annotations

import importlib
from types import ModuleType

# importable top-level module -> the extra that installs it (pyproject.toml, [project.optional-dependencies])
EXTRAS: dict[str, str] = {
    "pyedflib": "data",
    "wfdb": "data",
    "tensorboard": "bench",
    "onnx": "onnx",
    "onnxscript": "onnx",
    "onnxruntime": "onnx",
    "neurokit2": "synthetic",
    "neurodsp": "synthetic",
    "aeon": "baselines",
}


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the `pip install` that provides it."""


def require(module: str, purpose: str) -> ModuleType:
    """Import `module` (a key of `EXTRAS`, or a submodule of one), or raise `MissingExtraError`:
    "`purpose` needs `module`: pip install 'citrus-hf[extra]'".

    Only a missing `module` itself becomes that error; one that fails inside (a broken install) raises as it is.
    """
    top = module.split(".")[0]
    if top not in EXTRAS:
        raise KeyError(f"{top!r} is not an optional dependency of citrus-hf (known: {sorted(EXTRAS)}).")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or error.name.split(".")[0] != top:
            raise
        raise MissingExtraError(
            f"{purpose} needs {top}, which is not installed: pip install 'citrus-hf[{EXTRAS[top]}]'."
        ) from None


__all__ = ["EXTRAS", "MissingExtraError", "require"]
