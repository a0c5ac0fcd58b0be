"""The ONNX route checked against traps users reported upstream against torch.onnx and ONNX Runtime (audit
`onnxtraps`, session 71): a checkpoint whose window is one patch exports (the exporter specialises a dynamic axis whose
example size is 1), and an export cached by other exporter packages (onnxscript, onnx-ir: their lowering and
optimisation passes write the graph) is not reused. Tiny models: each export takes a few seconds."""

from __future__ import annotations

import importlib.metadata

import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.commands.main import main as citrus_main
from citrus_hf.inference.backends import (
    InferenceTarget,
    load_backend,
    onnx_cache_key,
    onnx_export_available,
)

needs_onnx = pytest.mark.skipif(onnx_export_available() is not None, reason="needs citrus-hf[onnx]")


def _one_patch_classifier() -> CiTrusForSequenceClassification:
    """A classifier whose window (context) is a single patch of 20 samples."""
    torch.manual_seed(0)
    return CiTrusForSequenceClassification(tiny_config(num_channels=2, num_labels=3, context_length=20)).eval()


@needs_onnx
def test_a_checkpoint_of_one_patch_windows_exports_and_matches_fp32(tmp_path, capsys):
    """The export traced the model on an example of `num_patches` patches: 1 here, which torch.export specialises
    (its 0/1 rule), so the export failed with torch's deep AssertionError ("tgt_bound=VR[20, 40] not a subset of
    src_bound=VR[20, 39]") and backend="onnxruntime" never ran for such a checkpoint. `citrus export`'s check against
    fp32 also sent a window whose second half of patches was padding: of one patch, a window of padding only, which
    the model refuses. (One export: the CLI's, which backend="onnxruntime" then finds in the cache.)"""
    model = _one_patch_classifier()
    folder = tmp_path / "one_patch"
    model.save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder)
    assert citrus_main(["export", str(folder), "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "Outputs match fp32 PyTorch" in capsys.readouterr().out
    onnx_runtime = load_backend(model, "onnxruntime", cache_dir=tmp_path / "cache", batch_threads=1)
    assert not onnx_runtime.exported
    reference = load_backend(model, "torch", batch_threads=1)
    generator = torch.Generator().manual_seed(0)
    for batch_size, patches in ((1, 1), (3, 1), (2, 3)):
        windows = torch.randn(batch_size, 2, 20 * patches, generator=generator)
        torch.testing.assert_close(onnx_runtime(windows), reference(windows), atol=1e-4, rtol=1e-5)


def test_the_export_key_follows_the_exporters_packages(monkeypatch):
    """torch's dynamo exporter takes its ATen-to-ONNX lowering (torchlib) from onnxscript and runs onnxscript's
    optimiser over the graph, on onnx-ir: upgrading them (onnxscript#2479 changed how SDPA's boolean mask is lowered:
    fully masked rows had come out NaN) kept serving the file the old ones wrote, since the key named torch's version
    alone."""
    model = CiTrusForSequenceClassification(tiny_config(num_channels=2, num_labels=3)).eval()
    target = InferenceTarget()
    before = onnx_cache_key(model, target)
    real_version = importlib.metadata.version
    for package in ("onnxscript", "onnx_ir"):
        monkeypatch.setattr(
            importlib.metadata,
            "version",
            lambda name, package=package: "9.9.9" if name.replace("-", "_") == package else real_version(name),
        )
        assert onnx_cache_key(model, target) != before, package
        monkeypatch.setattr(importlib.metadata, "version", real_version)
    assert onnx_cache_key(model, target) == before
