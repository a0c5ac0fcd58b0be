"""Session 80's mutation audit of pre-training and training plumbing (`training/pretrain.py`, `checkpoints.py`,
`stream.py`, `lora.py`, `callbacks.py`, `curves.py`, `numerics.py`, `run_lock.py`): guards that pass on the package as
it is and fail on a hand-made mutant that nothing else caught (each test names the wrong answer it keeps out)."""

from __future__ import annotations

import pytest
from test_stability_audit67 import _nan_in_training_from, _pretrain_arguments, corpus  # noqa: F401 (a fixture)

# Runs of a few steps are far too short to learn: their did-not-learn warning is beside the point here.
pytestmark = pytest.mark.filterwarnings("ignore::citrus_hf.training.pretrain.PretrainingDidNotLearnWarning")


def test_denormals_are_flushed_in_the_block_in_a_thread_older_than_flush_denormals(monkeypatch):
    """`flush_denormals()` reaches the threads started after it; in a thread started before, the block flushed nothing
    (it took the process's setting for the thread's), so a fine-tuning there ran with subnormals, several times slower
    on the CPU. The block now flushes them in that thread too, and gives the thread its setting back afterwards."""
    import threading

    import torch

    from citrus_hf.training import numerics

    # `flush_denormals()` ran, after this thread began
    monkeypatch.setattr(numerics, "_process_flushes_denormals", True)
    tiny, seen = torch.tensor([1e-39]), {}

    def older_thread():
        torch.set_flush_denormal(False)  # as a thread started before `flush_denormals()` is
        with numerics.denormals_flushed() as supported:
            seen["inside"] = (tiny * 1.0).item()
        seen["supported"], seen["after"] = supported, (tiny * 1.0).item()

    thread = threading.Thread(target=older_thread)
    thread.start()
    thread.join()
    if not seen["supported"]:
        pytest.skip("this CPU cannot flush subnormal floats")
    assert seen["inside"] == 0.0 and seen["after"] == pytest.approx(1e-39)
