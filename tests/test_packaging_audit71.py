"""Audit 71 of the package as built artefacts: the sdist and the wheel `pip install citrus-hf` would get.

`tests/test_fresh_install.py` (slow) installs the package into a fresh environment and runs the demo; these tests
build the sdist and, from it, the wheel (setuptools in-process, no environment, no network: seconds) and check what
they hold: every file the package reads at run time, the licence text its metadata declares, no half of the test
suite; and that what the package tells a user to run exists in an installed package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "citrus_hf"

# what a build reads from the project: setuptools' own files (pyproject.toml, MANIFEST.in), the long description, the
# licence files and the source tree; copied, so that the build's egg-info stays out of the checkout
_BUILD_INPUTS = ("pyproject.toml", "MANIFEST.in", "README.md", "LICENSE", "src", "tests")

_BUILD = """
import sys
from setuptools import build_meta
kind, out = sys.argv[1], sys.argv[2]
print((build_meta.build_sdist if kind == "sdist" else build_meta.build_wheel)(out))
"""


def _build(kind: str, project: Path, out: Path) -> Path:
    """Build `kind` ("sdist" or "wheel") of `project` into `out` with the setuptools installed here (no isolation)."""
    out.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-c", _BUILD, kind, str(out)],
        cwd=project,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=300,
    )
    assert result.returncode == 0, f"building the {kind} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return out / result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """The sdist of a copy of the checkout, and the wheel built from that sdist unpacked (as pip builds it)."""
    pytest.importorskip("setuptools", minversion="77")
    work = tmp_path_factory.mktemp("build")
    project = work / "project"
    project.mkdir()
    for name in _BUILD_INPUTS:
        source = ROOT / name
        if source.is_dir():
            # symlinks=False: a link is copied as the files it points at, as a checkout without links support would
            # not; the test below that no package folder is a link covers that case
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif source.exists():
            shutil.copy2(source, project / name)
    sdist = _build("sdist", project, work / "dist")
    with tarfile.open(sdist) as archive:
        # the extraction filter came in 3.10.12 / 3.11.4 (and warns without it from 3.12)
        archive.extractall(work / "unpacked", **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (unpacked,) = (work / "unpacked").iterdir()
    wheel = _build("wheel", unpacked, work / "wheel")
    return {"sdist": sdist, "wheel": wheel}


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _package_files() -> set[str]:
    """Every file of the package as the wheel names it (`citrus_hf/...`), caches left out."""
    return {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_wheel_built_from_the_sdist_holds_every_package_file_and_nothing_else(built):
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = set(wheel.namelist())
    package = {name for name in names if not name.startswith("citrus_hf-")}
    assert package == _package_files()
    # the files the code opens beside itself: model card templates, the bundled checkpoint, its pre-training record
    for needed in (
        "citrus_hf/py.typed",
        "citrus_hf/model_cards/citrus_model_card.md",
        "citrus_hf/model_cards/citrus_fusion_model_card.md",
        "citrus_hf/pretrained/citrus-small/model.safetensors",
        "citrus_hf/pretrained/citrus-small/pretraining_summary.json",
    ):
        assert needed in names, needed


def test_the_wheel_and_the_sdist_carry_the_licence_the_metadata_declares(built):
    """`license = "Apache-2.0"` was declared with no licence text in either artefact (Apache-2.0 4(a): give
    recipients a copy); now LICENSE travels in both and the metadata names it (`License-File`)."""
    assert _pyproject()["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = wheel.namelist()
        (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        assert "License-File: LICENSE" in wheel.read(metadata).decode()
        licences = [name for name in names if re.search(r"\.dist-info/licenses/LICENSE$", name)]
        assert licences and wheel.read(licences[0]).decode() == text
    with tarfile.open(built["sdist"]) as sdist:
        assert any(name.endswith("/LICENSE") and name.count("/") == 1 for name in sdist.getnames())


def test_the_built_version_is_the_one_the_package_records_in_its_files(built):
    """pyproject.toml's `version` and `citrus_hf/_version.py` (what `citrus --version` shows and saved configs record
    as `citrus_hf_version`, which `newer_citrus_hf` compares) are written apart: a release bumps both."""
    from citrus_hf._version import __version__

    with zipfile.ZipFile(built["wheel"]) as wheel:
        (metadata,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
        version = re.search(r"^Version: (.+)$", wheel.read(metadata).decode(), re.MULTILINE).group(1)
    assert version == __version__ == _pyproject()["project"]["version"]


def test_the_sdist_holds_no_half_of_the_test_suite(built):
    """setuptools' default sdist took `tests/test*.py` but neither `conftest.py`, `tiny_configs.py`, `hub_server.py`
    nor `tests/hub/`, and none of the repository files the tests read: a suite that fails on import. The sdist is what
    builds the wheel; the suite lives in the repository."""
    with tarfile.open(built["sdist"]) as sdist:
        names = sdist.getnames()
    top = {name.split("/")[1] for name in names if name.count("/") >= 1}
    assert "tests" not in top, sorted(name for name in names if "/tests/" in name)[:5]
    assert {"src", "pyproject.toml", "README.md", "PKG-INFO"} <= top


def test_no_package_folder_is_a_link_so_a_checkout_without_links_builds_the_same_wheel():
    """`src/citrus_hf/model_cards` was a link to the repository's `model_cards/`: a checkout where git writes links as
    text files (Windows' default, `core.symlinks=false`) built a wheel without the card templates, and `push_to_hub` /
    `build_model_card` then failed reading them. The templates now live in the package."""
    links = [path.relative_to(ROOT).as_posix() for path in PACKAGE.rglob("*") if path.is_symlink()]
    assert links == []
    from citrus_hf.publishing.cards import DEFAULT_TEMPLATE_PATH

    assert DEFAULT_TEMPLATE_PATH.is_file() and not DEFAULT_TEMPLATE_PATH.parent.is_symlink()


def test_the_package_data_globs_cover_every_file_the_package_ships_that_is_not_code():
    """pyproject.toml's `package-data` decides which non-Python files a wheel holds; a new table or template the code
    reads must be added there, or an installed package lacks it (an editable install from a clone would not show it)."""
    globs = _pyproject()["tool"]["setuptools"]["package-data"]["citrus_hf"]
    data = {name for name in _package_files() if not name.endswith(".py")}
    covered = {path.relative_to(PACKAGE.parent).as_posix() for glob in globs for path in PACKAGE.glob(glob)}
    assert data - covered == set()


@pytest.mark.parametrize("dataset", ["sleep_edf", "tfc_gesture", "mitdb_beats"])
def test_an_online_corpus_missing_its_files_names_a_command_an_installed_package_has(dataset, tmp_path):
    """The error of an online corpus built without its files (`build_dataset(..., download=False)`) said "fetch it
    with `python dataset_scripts/...`": scripts of the repository, which a pip-installed package does not have. It now
    names `citrus data fetch NAME --data-dir DIR`, which fetches the same files."""
    from citrus_hf.commands.data import build_parser
    from citrus_hf.data import build_dataset
    from citrus_hf.data.errors import CitrusDataError

    folder = tmp_path / "corpus"
    folder.mkdir()
    with pytest.raises(CitrusDataError) as raised:
        build_dataset(dataset, cache_dir=tmp_path / "cache", data_dir=folder, download=False)
    message = str(raised.value)
    assert "dataset_scripts" not in message
    command = re.search(r"`citrus data fetch ([^`]*)`", message)
    assert command, message
    args = build_parser("fetch").parse(command.group(1).split())
    assert args.name == dataset and Path(args.data_dir) == folder
