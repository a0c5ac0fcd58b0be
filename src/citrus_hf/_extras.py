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
    A module blocked in `sys.modules` (`sys.modules[name] = None`, as tests do) counts as not installed, one put there
    without a spec (a stand-in module) as installed: `import module` returns it."""
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a missing parent package
        return False
    except ValueError:  # in sys.modules without a spec, which find_spec refuses; said "not installed" before
        return True


def check_installed(
    modules: Sequence[str], purpose: str, alternative: str = "", error: type[MissingExtraError] | None = None
) -> None:
    """Raise `MissingExtraError` before any work starts when one of `modules` is not installed: "`purpose` needs
    `module`, which is not installed: pip install 'citrus-hf[extra]'" for the keys of `EXTRAS`, "pip install
    module" for any other (a user's arm may fit with a package citrus-hf knows nothing of, `Arm.optional_modules`),
    then `alternative` (another way to proceed without it, as a clause: "or ..."). A submodule whose package is
    installed without it is named as lacking from that release, to upgrade (`lacking_submodule_advice`). `error`: a
    subclass of `MissingExtraError` to raise instead."""
    absent = [module for module in modules if not is_installed(module)]
    if not absent:
        return
    # each package once: an arm that fits with two modules of one package (`optional_modules=("sktime.a",
    # "sktime.b")`) was told it "needs sktime and sktime, which are not installed"
    tops = list(dict.fromkeys(module.split(".")[0] for module in absent))
    missing = [top for top in tops if not is_installed(top)]
    # a package that is there without a submodule: "not installed: pip install ..." sent the user to install what pip
    # says is installed already
    lacking = [
        lacking_submodule_advice([module for module in absent if module.split(".")[0] == top], top)
        for top in tops
        if top not in missing
    ]
    parts = []
    if missing:
        extras = sorted({EXTRAS[module] for module in missing if module in EXTRAS})
        others = [module for module in missing if module not in EXTRAS]
        installs = [f"pip install 'citrus-hf[{','.join(extras)}]'"] if extras else []
        if others:  # named by their import name, which is usually, not always, the name pip installs them by
            installs.append(
                f"install {' and '.join(others)} (not a dependency of citrus-hf: e.g. pip install {' '.join(others)})"
            )
        verb = "is" if len(missing) == 1 else "are"
        parts.append(f"{' and '.join(missing)}, which {verb} not installed: {'; '.join(installs)}")
    raise (error or MissingExtraError)(
        f"{purpose} needs {'; and '.join(parts + lacking)}" + (f", {alternative}." if alternative else ".")
    )


def installed_distribution(top: str) -> tuple[str, str] | None:
    """The distribution that installs the top-level module `top` and its version (`("scikit-learn", "1.5.2")` for
    sklearn), read from the installed metadata without importing `top`; None where no metadata names it (a folder on
    sys.path, an unusual install)."""
    from importlib import metadata

    try:  # the import name is the distribution's name for every key of EXTRAS; a user's arm may name another
        names = [top, *metadata.packages_distributions().get(top, [])]
    except Exception:  # noqa: BLE001 - the version only adds to an error being reported; odd metadata must not hide it
        names = [top]
    for name in names:
        try:
            return name, metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def lacking_submodule_advice(modules: Sequence[str], top: str) -> str:
    """What to say when `modules` (e.g. ["aeon.transformations.x"]) cannot be found although their package `top` is
    installed: an older release without them, or a broken install. The advice upgrades the package itself: `pip
    install -U 'citrus-hf[extra]'` leaves a dependency that still satisfies the extra's floor as it is (pip's default
    only-if-needed strategy), and only a forced reinstall repairs a broken install of the newest release."""
    installed = installed_distribution(top)
    package = installed[0] if installed else top
    return (
        f"{' and '.join(modules)}, which the installed {' '.join(installed or [top])} lacks (an older release, or a "
        f"broken install): upgrade it with pip install -U {package} (if that is the newest release already, pip "
        f"install --force-reinstall {package})"
    )


def require(module: str, purpose: str) -> ModuleType:
    """Import `module` (a key of `EXTRAS`, or a submodule of one), or raise `MissingExtraError`: "`purpose` needs
    `top`, which is not installed: pip install 'citrus-hf[extra]'" where its package is not installed, and where the
    package is installed without `module` (or without a module of its own that it imports: an older release, a broken
    install) the release that lacks it and how to upgrade (`lacking_submodule_advice`).

    Only a module of that package missing becomes that error; another failure inside (a module of another package
    missing, an error in its code) raises as it is.
    """
    top = module.split(".")[0]
    if top not in EXTRAS:
        raise KeyError(f"{top!r} is not an optional dependency of citrus-hf (known: {sorted(EXTRAS)}).")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or error.name.split(".")[0] != top:
            raise
        if error.name != top:  # the package was found (its module was looked for in it), without a module of its own
            wanted = module if f"{module}.".startswith(f"{error.name}.") else error.name
            raise MissingExtraError(f"{purpose} needs {lacking_submodule_advice([wanted], top)}.") from None
        raise MissingExtraError(
            f"{purpose} needs {top}, which is not installed: pip install 'citrus-hf[{EXTRAS[top]}]'."
        ) from None


__all__ = [
    "EXTRAS",
    "MissingExtraError",
    "check_installed",
    "installed_distribution",
    "is_installed",
    "lacking_submodule_advice",
    "require",
]
