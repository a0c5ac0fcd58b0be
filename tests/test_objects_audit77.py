"""The package's public objects handled as Python objects by habit (objects audit 77): `pickle` and `copy` of the
inference backends (a spawned DataLoader, joblib or Ray worker pickles them), hashing and passing the registry's
`DatasetSpec`, and `==` between an object and its copy (feature extractor, ridge read-out, the prior arm)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.inference.backends import BLOCKED_ATTENTION, load_backend, onnx_export_available


def _round_trips(value):
    """`value` through pickle and through deepcopy."""
    return {"pickle": pickle.loads(pickle.dumps(value)), "deepcopy": copy.deepcopy(value)}


@pytest.fixture(scope="module")
def classifier() -> CiTrusForSequenceClassification:
    torch.manual_seed(0)
    return CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()


WINDOWS = torch.randn(4, 1, 200, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("backend", ["bf16", "onnxruntime", "auto"])
def test_a_backend_that_has_run_pickles_and_deep_copies_to_one_that_runs_alike(classifier, backend):
    """ONNX Runtime's sessions (of "onnxruntime" and of "auto" where the export is cached) and the lock of "auto"
    did not pickle: `pickle.dumps` and `copy.deepcopy` failed on "cannot pickle 'InferenceSession' object" / "cannot
    pickle '_thread.lock' object". The copy opens its own session on the cached export and keeps "auto"'s choice."""
    if backend != "bf16" and onnx_export_available() is not None:
        pytest.skip("needs citrus-hf[onnx]")
    if backend == "auto":
        load_backend(classifier, "onnxruntime")  # exported once, so that "auto" races ONNX Runtime too
    original = load_backend(classifier, backend)
    expected = original(WINDOWS)
    for how, twin in _round_trips(original).items():
        assert type(twin) is type(original), how
        assert torch.allclose(twin(WINDOWS), expected, atol=1e-5), how
        assert twin.name == original.name, how
    original(WINDOWS)  # the original runs on after it was copied


def test_a_bf16_backend_unpickled_where_its_attention_is_not_registered_runs(classifier, monkeypatch):
    """A process that unpickles the bf16 path (a spawned worker) has not registered its blocked attention: its first
    call failed in transformers on "`citrus_blocked_bf16` is not a valid attention implementation". Here the name
    is taken out of transformers' registry, as a fresh process has it, before the backend is unpickled."""
    from transformers import AttentionInterface

    original = load_backend(classifier, "bf16")
    expected = original(WINDOWS)
    payload = pickle.dumps(original)
    monkeypatch.delitem(AttentionInterface._global_mapping, BLOCKED_ATTENTION)
    assert torch.allclose(pickle.loads(payload)(WINDOWS), expected, atol=1e-5)


def test_a_dataset_spec_hashes_and_is_taken_where_its_name_is():
    """`list_datasets()` lists `DatasetSpec`s, and `build_dataset`'s docstring said "a name from list_datasets": a spec
    passed there (or to `get_dataset_spec`, `dataset_info`) failed on "unhashable type: 'dict'", as did `hash(spec)`
    of the frozen class (its `defaults` is a dict)."""
    from citrus_hf.data import get_dataset_spec, list_datasets
    from citrus_hf.data.registry import DatasetSpec
