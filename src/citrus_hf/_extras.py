"""Optional dependencies: which extra of `pip install citrus-hf[...]` installs each, `require`, which imports one or
fails with a single line naming that extra, and `check_installed`, which makes that check before any work starts.

What the main job needs (`citrus demo`: the corpus readers, the report's plot) is a core dependency; the extras hold
the rest: more file formats (`[data]`), TensorBoard logging (`[bench]`), ONNX export and ONNX Runtime (`[onnx]`),
the physiological pre-training generators of `citrus_hf.data.synthetic` (`[synthetic]`), the protocol's MiniRocket
baseline (`[baselines]`).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from types import ModuleType

# importable top-level module -> the extra that installs it (pyproject.toml, [project.optional-dependencies])
EXTRAS: dict[str, str] = {
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
    """An optional dependency is not installed; the message names the `pip install` that provides it. The command
    line prints it as one line (it is the user's to fix)."""


def is_installed(module: str) -> bool:
    """Whether `module` could be imported, found without importing it (aeon and neurokit2 take seconds to import).
    A module blocked in `sys.modules` (`sys.modules[name] = None`, as tests do) counts as not installed."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package; ValueError: blocked in sys.modules
        return False


def check_installed(
    modules: Sequence[str], purpose: str, alternative: str = "", error: type[MissingExtraError] | None = None
) -> None:
    """Raise `MissingExtraError` before any work starts when one of `modules` is not installed: "`purpose` needs
    `module`, which is not installed: pip install 'citrus-hf[extra]'" for the keys of `EXTRAS`, "pip install
    module" for any other (a user's arm may fit with a package citrus-hf knows nothing of, `Arm.optional_modules`),
    then `alternative` (another way to proceed without it, as a clause: "or ..."). `error`: a subclass of
    `MissingExtraError` to raise instead."""
    # each package once: an arm that fits with two modules of one package (`optional_modules=("sktime.a",
    # "sktime.b")`) was told it "needs sktime and sktime, which are not installed"
    missing = list(dict.fromkeys(module.split(".")[0] for module in modules if not is_installed(module)))
    if not missing:
        return
    extras = sorted({EXTRAS[module] for module in missing if module in EXTRAS})
    others = [module for module in missing if module not in EXTRAS]
    installs = [f"pip install 'citrus-hf[{','.join(extras)}]'"] if extras else []
    if others:  # named by their import name, which is usually, not always, the name pip installs them by
        installs.append(
            f"install {' and '.join(others)} (not a dependency of citrus-hf: e.g. pip install {' '.join(others)})"
        )
    verb = "is" if len(missing) == 1 else "are"
    raise (error or MissingExtraError)(
        f"{purpose} needs {' and '.join(missing)}, which {verb} not installed: {'; '.join(installs)}"
        + (f", {alternative}." if alternative else ".")
    )


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


__all__ = ["EXTRAS", "MissingExtraError", "check_installed", "is_installed", "require"]
