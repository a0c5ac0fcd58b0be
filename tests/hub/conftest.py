"""Fixtures for the Hub tests: a Hub-protocol server on 127.0.0.1 (in this process) and clients in subprocesses.

`huggingface_hub` reads `HF_ENDPOINT` once, at import, and this pytest process has already imported it (through
transformers) pointing at huggingface.co. So every client runs in a fresh Python whose environment points it at the
test server; the server runs here, so tests can inspect what was stored and which requests arrived. (Fresh as far as
the client can tell: to spare each one re-importing torch, `run_client` forks them from a process that has imported
torch, numpy and scipy and nothing that reads HF_* variables, a `python -I` one for clients without the package; see
tests/client_forkserver.py. CITRUS_TEST_FRESH_CLIENTS=1 starts a new interpreter for every client.)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent.parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from hub_server import DEFAULT_TOKEN, HubServer, client_env, run_client  # noqa: E402

HubClient = Callable[..., str]


@pytest.fixture(scope="session")
def hub() -> Iterator[HubServer]:
    """The running test hub (state, request log)."""
    with HubServer() as server:
        yield server


@pytest.fixture(scope="session")
def hub_server(hub: HubServer) -> str:
    """URL of the running test hub, e.g. `http://127.0.0.1:45678`."""
    return hub.url


@pytest.fixture(scope="session")
def make_hub_client(hub_server: str) -> Callable[[Path], HubClient]:
    """`make_hub_client(workdir)` -> `client(script, hf_home=None, without_package=False, **env) -> stdout`.

    The client runs `script` in a fresh Python (cwd `workdir`) talking to the test hub with the test user's token.
    `hf_home` (the Hub cache) defaults to `workdir / "hf_home"`; pass another folder for an empty cache. Keyword
    arguments are extra environment variables, e.g. `HF_HUB_OFFLINE="1"`, or `HF_TOKEN=None` to run anonymously.
    """

    def make(workdir: Path) -> HubClient:
        def client(script: str, hf_home: Path | None = None, without_package: bool = False, **env: str | None) -> str:
            token = env.pop("HF_TOKEN", DEFAULT_TOKEN)
            environment = client_env(hub_server, hf_home or workdir / "hf_home", token=token, **env)
            return run_client(script, environment, cwd=workdir, without_package=without_package).stdout

        return client

    return make


@pytest.fixture
def hub_client(make_hub_client: Callable[[Path], HubClient], tmp_path: Path) -> HubClient:
    """A client (see `make_hub_client`) working in this test's `tmp_path`."""
    return make_hub_client(tmp_path)


@pytest.fixture(scope="session")
def workdir_with_pretrained(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`workdir_with_pretrained(name)` -> a new folder (named after `name`) holding pretrained/: a tiny
    CiTrusForPretraining (seed 0), the base the clients of several modules fine-tune or wrap."""
    import torch
    from tiny_configs import TINY

    from citrus_hf import CiTrusConfig, CiTrusForPretraining

    def make(name: str) -> Path:
        workdir = tmp_path_factory.mktemp(name)
        torch.manual_seed(0)
        CiTrusForPretraining(CiTrusConfig(**TINY)).save_pretrained(workdir / "pretrained")
        return workdir

    return make
