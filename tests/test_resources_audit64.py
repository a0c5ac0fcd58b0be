"""Resources and process-global state a library call left behind (an audit): the warning filters an ONNX export left
to a reader thread, the caller's random generators and flush-denormal setting after a fit, the anti-aliasing filters
kept after the calls, memory maps kept by a refused file's error, and the temporary file of a failed export."""

from __future__ import annotations

import errno
import gc
import os
import random
import threading
import tracemalloc
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.signal
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf import feature_extraction_citrus as fe
from citrus_hf.data.errors import CorruptFileError, UnsafePickleError


def _mapped(path: Path) -> list[str]:
    """The memory maps of `path` in this process (Linux's /proc)."""
    if not os.path.exists("/proc/self/maps"):
        pytest.skip("needs /proc/self/maps")
    with open("/proc/self/maps") as maps:
        return [line for line in maps if line.rstrip().endswith(str(path))]


def test_an_export_leaves_the_warning_filters_to_a_recording_read_in_another_thread(tmp_path, monkeypatch):
    """The exporter's `catch_warnings` + "ignore" did not take the readers' lock: a CSV read in another thread whose
    block spanned the export's end put the exporter's "ignore every warning" back for good. Here the read starts
    inside the export and ends after it, every time."""
    from citrus_hf.data.readers.files import read_recording
    from citrus_hf.inference import backends
    from citrus_hf.inference.backends import export_onnx

    csv = tmp_path / "session.csv"
    np.savetxt(csv, np.zeros((20, 2)), delimiter=",", header="a,b", comments="")
    reading, exported = threading.Event(), threading.Event()
    loadtxt = np.loadtxt

    def slow_loadtxt(*args, **kwargs):  # inside the reader's block: holds it open until the export has returned
        reading.set()
        exported.wait(10)
        return loadtxt(*args, **kwargs)

    reader = threading.Thread(target=read_recording, args=(csv,), kwargs={"sampling_rate": 250})

    def fake_export(*args, **kwargs):  # the exporter's work: another thread starts a read meanwhile
        reader.start()
        reading.wait(1)  # (with the lock, the read waits for the export's end instead)
        return SimpleNamespace(model=SimpleNamespace(metadata_props={}))

    monkeypatch.setattr(np, "loadtxt", slow_loadtxt)
    monkeypatch.setattr(torch.onnx, "export", fake_export)
    # (`_save_graph` writes the graph through onnx_ir: here the fake graph's bytes)
    monkeypatch.setattr(backends, "_save_graph", lambda graph, temporary, path: Path(temporary).write_bytes(b"onnx"))
    with warnings.catch_warnings():  # whatever happens inside stays inside this test
        before = list(warnings.filters)
        path, _ = export_onnx(CiTrusForSequenceClassification(tiny_config(num_labels=2)), cache_dir=tmp_path)
        exported.set()
        reader.join(10)
        assert path.is_file() and not reader.is_alive()
        assert warnings.filters == before


def _draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.random()), float(torch.rand(1))


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@pytest.mark.filterwarnings("ignore:Pre-training did not learn")  # a 1-step run, as meant
def test_finetune_and_pretrain_keep_the_callers_random_state(tmp_path):
    """Both reseeded Python's, numpy's and torch's global generators to the run's seed and left them so: a script
    drawing a "random" subset per trial drew the same one in every trial."""
    from citrus_runs import pretrain_tiny

    from citrus_hf.training import FinetuneArguments, TrainerSettings, finetune

    _seed(1234)
    expected = _draws()
    _seed(1234)
    settings = TrainerSettings(max_steps=1, show_progress=False)
    arguments = dict(
        dataset="basic_motions", model_config="tiny", recipe="finetune", label_budget="2", trainer=settings
    )
    first = finetune(FinetuneArguments(output_dir=str(tmp_path / "a"), **arguments))
    assert _draws() == expected
    _seed(99)
    second = finetune(FinetuneArguments(output_dir=str(tmp_path / "b"), **arguments))
    assert first.test_metrics == second.test_metrics  # the run itself: same seed, same result, whatever the caller's
    _seed(1234)
    pretrain_tiny(tmp_path / "pretrained", steps=1)
    assert _draws() == expected


def _thread_flushes_denormals() -> bool:
    return (torch.tensor([1e-39], dtype=torch.float32) * 1.0).item() == 0.0


def test_a_fit_keeps_the_callers_own_flush_denormal_setting():
    """`denormals_flushed()` (around every Trainer fit) switched flushing off on the way out, also when the caller had
    switched it on with `torch.set_flush_denormal(True)`."""
    from citrus_hf.training.numerics import denormals_flushed

    before = _thread_flushes_denormals()
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush subnormal floats")
    try:
        with denormals_flushed():
            assert _thread_flushes_denormals()
        assert _thread_flushes_denormals()  # the caller's setting, still on
        torch.set_flush_denormal(False)
        with denormals_flushed():
            assert _thread_flushes_denormals()
        assert not _thread_flushes_denormals()  # and off where the caller had it off
    finally:
        torch.set_flush_denormal(before)


def test_large_resampling_filters_are_kept_within_a_byte_budget(monkeypatch):
    """The large-filter cache held its last 8 filters of any size (up to 1 GiB each): eight 1-second clips at
    44100.1-44100.8 Hz kept 308 MB alive after the calls. Ten ratios of 16 MB filters here (designed as ones: the
    design's values do not matter to what is kept); the last one is still designed once."""
    designs = []

    def firwin(taps, *args, **kwargs):
        designs.append(taps)
        return np.ones(taps)

    monkeypatch.setattr(scipy.signal, "firwin", firwin)
    fe._large_polyphase_filter.cache_clear()
    tracemalloc.start()
    try:
        for k in range(10):
            fe._polyphase_filter(1, 100_003 + k)  # 2e6 taps, 16 MB each
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    fe._polyphase_filter(1, 100_012)
    fe._large_polyphase_filter.cache_clear()
    assert held <= 64 * 2**20 + 2**20, f"{held / 2**20:.0f} MB held"
    assert len(designs) == 10


def test_a_large_filter_over_the_budget_is_designed_per_call_and_not_kept():
    cache = fe._FiltersWithinBytes(max_bytes=2**20)
    taps = cache(1, 10_007)  # 200,141 taps, 1.5 MB
    np.testing.assert_array_equal(taps, fe._design_polyphase_filter(1, 10_007))
    assert cache.nbytes == 0
    cache(1, 3001)  # 0.5 MB each: two fit
    cache(1, 3002)
    assert cache.nbytes == 8 * (20 * 3001 + 1) + 8 * (20 * 3002 + 1)
    cache(1, 3000)  # the least recently used goes
    assert cache.nbytes == 8 * (20 * 3002 + 1) + 8 * (20 * 3000 + 1)


def test_a_refused_edf_plus_d_file_is_not_mapped_while_its_error_lives(tmp_path):
    """check_continuous raised from the frame holding its np.memmap: the error's traceback (IPython keeps the last
    one) kept the file mapped, which on Windows keeps the user from replacing the file the error says to re-export."""
    from test_formats_audit import _write_edf_plus_records

    from citrus_hf.data.readers.files import read_recording

    path = tmp_path / "gaps.edf"
    _write_edf_plus_records(path, np.zeros(200), 50, [0, 1, 10, 11], "EDF+D")
    with pytest.raises(CorruptFileError, match="with gaps") as caught:
        read_recording(path)
    gc.collect()
    assert caught.value.__traceback__ is not None and not _mapped(path)


@pytest.mark.parametrize("content", ["labels", "unsafe"])
def test_a_refused_tfc_file_is_not_mapped_while_its_error_lives(tmp_path, content):
    """torch.load(mmap=True) maps the file: the refused layout's error (raised beside the mapped tensors) and an
    unsafe pickle's (torch's frames, the cause) kept it mapped."""
    from citrus_hf.data.readers.tfc import load_tfc_split

    path = tmp_path / "train.pt"
    saved = {"samples": torch.zeros(10, 1, 50), "labels": torch.zeros(7)}
    if content == "unsafe":
        saved = {**saved, "labels": torch.zeros(10), "other": SimpleNamespace()}
    torch.save(saved, path)
    with pytest.raises((CorruptFileError, UnsafePickleError)) as caught:
        load_tfc_split(path)
    gc.collect()
    assert caught.value.__traceback__ is not None and not _mapped(path)


def saved_identity_graph(path):
    """An ONNX graph of one Identity node saved at `path` (what `_write_deployment` copies); returns `path`."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph), str(path))
    return path


def test_a_failed_deployment_write_leaves_no_partial_file(tmp_path, monkeypatch):
    """`citrus export --output-dir` left `.model.onnx.partial` in the user's folder when the write failed (a full
    disk) or was interrupted; the cache export removed its own."""
    import onnx

    from citrus_hf.commands.export import _write_deployment

    exported = saved_identity_graph(tmp_path / "exported.onnx")

    def full_disk(proto, path, *args, **kwargs):
        Path(path).write_bytes(b"\0" * 4096)
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(onnx, "save", full_disk)
    loaded = SimpleNamespace(model=CiTrusForSequenceClassification(tiny_config(num_labels=2)), extractor=None)
    deploy = tmp_path / "deploy"
    with pytest.raises(OSError, match="No space"):
        _write_deployment(exported, loaded, deploy)
    assert os.listdir(deploy) == []
