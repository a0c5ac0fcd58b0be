"""Process habits of the inference code: forked workers after a pipeline has run, the PyTorch thread count of other
threads, pickling a pipeline that ran ONNX Runtime, and the import cost of the configuration module."""

from __future__ import annotations

import copy
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from subprocess import PIPE

import numpy as np
import pytest
import torch
from hub_server import run_client
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.inference import backends
from citrus_hf.inference.backends import onnx_export_available

# 4000 samples at 100 Hz in 2 s windows: 20 windows, split across 2 threads (`MIN_WINDOWS_PER_THREAD` x 2 <= 20)
SIGNAL = np.random.default_rng(0).standard_normal(4000).astype(np.float32)
CALL = {"sampling_rate": 100.0, "alignment": "window"}


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory) -> str:
    torch.manual_seed(0)
    config = tiny_config(num_labels=3)
    folder = tmp_path_factory.mktemp("classifier")
    CiTrusForSequenceClassification(config).eval().save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    return str(folder)


@pytest.fixture
def two_threads():
    """PyTorch on 2 threads (the suite runs on 1), so that a batch of 20 windows splits into 2 shares."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


# Prepended to every script: on SIGUSR1 a process, and every child it forks (`_STACKS_DIR` placeholder filled in),
# writes the stack of each of its threads to a file of its own, so that a hang shows where each process waits (the
# stacks' line numbers in "<string>" count these 7 lines too).
_DUMP_STACKS_ON_SIGUSR1 = """
import faulthandler, os, signal
def _stacks_to_own_file(directory=_STACKS_DIR):
    faulthandler.register(signal.SIGUSR1, open(os.path.join(directory, f"{os.getpid()}.txt"), "w"), all_threads=True)
_stacks_to_own_file()
os.register_at_fork(after_in_child=_stacks_to_own_file)
"""


def _run_script(script: str, timeout: float = 300) -> str:
    """`script` in a fresh Python: a regression that hangs fails after `timeout` instead of hanging the suite, and
    its whole process group (the forked workers too) is killed, after each process of it has written its threads'
    stacks for the failure message. The scripts take 10-25 s on 2 busy cores; 120 s was once too short on a machine
    running the suite beside other jobs, where the forked workers ran but slowly."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as stacks:
        prefix = _DUMP_STACKS_ON_SIGUSR1.replace("_STACKS_DIR", repr(stacks))
        command = [sys.executable, "-c", prefix + textwrap.dedent(script)]
        with subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=PIPE, stderr=PIPE, text=True, env=env, start_new_session=True
        ) as process:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGUSR1)
                time.sleep(2)  # the dumps take milliseconds
                os.killpg(process.pid, signal.SIGKILL)
                stdout, stderr = process.communicate()
                dumps = "".join(
                    f"\n--- process {path.stem}{' (the script)' if path.stem == str(process.pid) else ''}:\n"
                    f"{path.read_text()}"
                    for path in sorted(Path(stacks).glob("*.txt"))
                )
                pytest.fail(
                    f"the script hung (killed after {timeout} s); its output:\n{stdout}\n{stderr[-3000:]}\n"
                    f"the stacks of its processes' threads:{dumps}"
                )
    assert process.returncode == 0, stderr[-3000:]
    return stdout


# Behind the slow marker since 2026-12-04: inside the full suite on a 2-core machine the map's forked workers hung
# (killed at 120 s, then at 300 s) in two of two runs, while the same script passed 66 of 66 runs outside it, under CPU
# hogs and with the suite's environment variables; the cause is not found (see the project's notes). In a later full
# suite (on a 2-core Xeon, without the marker) it passed. A hang now ends with every process's thread stacks in the
# failure (`_run_script`). Run it with `-m slow`.
@pytest.mark.slow
def test_forked_workers_run_a_pipeline_after_the_parent_split_a_batch(classifier_folder):
    """The habit "try one row, then `ds.map(..., num_proc=2)`": the forked workers had inherited the share thread
    pool without its threads (and PyTorch's OpenMP pool without its threads) and waited forever."""
    out = _run_script(
        f"""
        import multiprocessing, numpy as np, torch, datasets
        import citrus_hf
        from citrus_hf.inference import backends
        from transformers import pipeline

        torch.set_num_threads(2)
        pipe = pipeline(model={classifier_folder!r})
        signal = np.random.default_rng(0).standard_normal(4000).astype(np.float32)
        first = pipe(signal, sampling_rate=100.0, alignment="window")
        assert list(backends._SHARE_POOLS) == [2], backends._SHARE_POOLS  # the batch was split across 2 threads
        ds = datasets.Dataset.from_dict({{"signal": [signal] * 4}})

        def classify(row):
            return {{"label": pipe(np.asarray(row["signal"], np.float32), sampling_rate=100.0, alignment="window")
                     ["label"]}}

        mapped = ds.map(classify, num_proc=2, load_from_cache_file=False, keep_in_memory=True)
        assert list(mapped["label"]) == [first["label"]] * 4, (list(mapped["label"]), first["label"])

        def in_child(_):
            return pipe(signal, sampling_rate=100.0, alignment="window")["label"]

        with multiprocessing.get_context("fork").Pool(1) as pool:
            assert pool.map_async(in_child, [0]).get(timeout=60) == [first["label"]]
        print("ok")
        """
    )
    assert out.strip().endswith("ok")


def test_a_forked_child_starts_without_the_parents_pools_and_locks():
    backends._run_in_shares(lambda part, mask, in_share: part, torch.ones(4), None, 2)
    pool = backends._SHARE_POOLS[2]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave at once (no pytest teardown in it)
        try:
            clean = backends._SHARE_POOLS == {} and not backends._SHARE_POOLS_LOCK.locked()
            os.write(write, b"1" if clean else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    os.close(read)
    os.close(write)
    assert backends._SHARE_POOLS[2] is pool  # the parent keeps its pool


def test_threads_started_while_a_pipeline_splits_batches_keep_the_default_thread_count(classifier_folder, two_threads):
    """Each share thread runs on one core; it set that on every batch, which also set the default every thread
    started meanwhile took, for life (and a pipeline called from such a thread built a second, 1-thread backend)."""
    from transformers import pipeline

    pipe = pipeline(model=classifier_folder, backend="torch")
    pipe(SIGNAL, **CALL)
    assert backends._SHARE_POOLS[2].submit(torch.get_num_threads).result() == 1  # the shares run on one core

    stop = threading.Event()

    def serve():
        while not stop.is_set():
            pipe(SIGNAL, **CALL)

    server = threading.Thread(target=serve)
    server.start()
    seen = []
    try:
        for _ in range(40):
            started = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
            started.start()
            started.join()
    finally:
        stop.set()
        server.join()
    assert set(seen) == {2}
    assert torch.get_num_threads() == 2
    assert [key[3] for key in pipe._backends] == [2]  # one backend, for 2 threads


def test_a_pipeline_that_has_run_pickles_and_hashes_like_an_identical_one(classifier_folder):
    from datasets.fingerprint import Hasher
    from transformers import pipeline

    pipes = [pipeline(model=classifier_folder, backend="torch") for _ in range(2)]
    for pipe in pipes:
        pipe(SIGNAL[:400], sampling_rate=100.0)
    # The kept backend hashed its weights' identities: `ds.map(fn)` with a used pipeline in `fn` never hit the cache
    # of an earlier, identical session.
    assert Hasher.hash(pipes[0]) == Hasher.hash(pipes[1])
    assert len(pickle.loads(pickle.dumps(pipes[0]))._backends) == 0


@pytest.mark.skipif(onnx_export_available() is not None, reason="needs citrus-hf[onnx]")
def test_a_pipeline_that_ran_onnx_runtime_pickles_and_deep_copies(classifier_folder, tmp_path):
    from transformers import pipeline

    pipe = pipeline(model=classifier_folder, backend="onnxruntime", onnx_cache_dir=str(tmp_path))
    expected = pipe([SIGNAL[:400]] * 2, sampling_rate=100.0)
    assert expected[0]["backend"] == "onnxruntime"
    for twin in (pickle.loads(pickle.dumps(pipe)), copy.deepcopy(pipe)):  # ONNX Runtime sessions do not pickle
        assert len(twin._backends) == 0
        assert twin([SIGNAL[:400]] * 2, sampling_rate=100.0) == expected  # built again from the cached export


def test_importing_the_configuration_leaves_transformers_activations_unloaded():
    """A spawn DataLoader worker unpickling the feature extractor imports the configuration module: its top-level
    `transformers.activations` import pulled in transformers' weight loading and `torch.distributed.tensor`."""
    out = _run_script(
        """
        import sys
        import citrus_hf.configuration_citrus
        print("transformers.activations" in sys.modules)
        """
    )
    assert out.strip() == "False"


def test_the_time_series_regression_auto_class_pickles_like_transformers_auto_classes(tmp_path):
    """It was a function's local class: `pickle.dumps` said "Can't pickle local object" (process-habits audit 4),
    where `pickle.dumps(AutoModelForSequenceClassification)` works."""
    import pickle

    from citrus_hf import AutoModelForTimeSeriesRegression

    payload = pickle.dumps(AutoModelForTimeSeriesRegression)
    assert pickle.loads(payload) is AutoModelForTimeSeriesRegression
    # a fresh process (a spawn worker: citrus_hf not imported yet) finds it by name
    (tmp_path / "payload.pickle").write_bytes(payload)
    script = "import pickle, sys\nwith open(sys.argv[1], 'rb') as file:\n    print(pickle.load(file).__name__)\n"
    completed = run_client(script, dict(os.environ), cwd=tmp_path, args=[str(tmp_path / "payload.pickle")], timeout=120)
    assert completed.stdout.strip() == "AutoModelForTimeSeriesRegression"
