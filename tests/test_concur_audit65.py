"""Concurrency defects of audit 65: an ONNX export that changed the caller's live model under other threads, a run
lock two runs could hold at once, and `citrus evaluate` / `citrus data build --output` without the folder lock."""

from __future__ import annotations

import threading

import pytest
import torch
from tiny_configs import tiny_config


def test_the_onnx_export_leaves_the_callers_model_usable_by_other_threads_while_it_traces(tmp_path):
    """The export traced the caller's own model: its weights were FakeTensors and its mode eval while the exporter
    ran, so another thread's pipeline over the same model failed ("Cannot access data pointer of Tensor (e.g.
    FakeTensor)") or ran in the wrong mode. A forward hook runs inside the trace and looks at the caller's model as
    such a thread would, at that very moment."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.inference.backends import InferenceTarget, export_onnx, onnx_cache_key, weights_fingerprint

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).train()
    before = weights_fingerprint(model)
    key_before = onnx_cache_key(model, InferenceTarget(output="logits"))
    seen_during_trace = []

    def another_thread_looks():
        try:
            seen_during_trace.append((model.training, weights_fingerprint(model) == before))
        except Exception as error:  # noqa: BLE001 - what another thread met
            seen_during_trace.append(type(error).__name__)

    def look_at_the_callers_model(module, args):
        # from another thread, as a pipeline would: this one runs inside the exporter's tracing context
        other = threading.Thread(target=another_thread_looks)
        other.start()
        other.join()

    model.register_forward_pre_hook(look_at_the_callers_model)
    path, exported = export_onnx(model, InferenceTarget(output="logits"), tmp_path)
    assert exported and path.is_file()
    assert seen_during_trace and set(seen_during_trace) == {(True, True)}
    assert model.training and weights_fingerprint(model) == before
    assert onnx_cache_key(model, InferenceTarget(output="logits")) == key_before
    with torch.no_grad():
        model.eval()(torch.zeros(1, model.config.num_channels, model.config.context_length))
