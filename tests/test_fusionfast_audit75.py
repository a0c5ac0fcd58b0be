"""Audit 75 (fusionfast): the fusion pipelines and `load_backend` run a fusion model (one batch per modality) on the
CPU backends of a single-modality model: "bf16", and "auto", which keeps bf16 for a classifier only where its first
batch's predicted classes equal fp32's. They had run torch alone, whatever `backend` said ("bf16" was refused, and
"auto" never raced); ONNX Runtime, whose export has one input, is refused in one line naming the backends that run.
Tiny fusion models (a few thousand parameters); no timings: the race is skipped where a test needs one winner."""

from __future__ import annotations

import logging

import pytest
import torch
from test_fusionpipe_audit73 import RATES, fusion_config, recording, saved
from transformers import pipeline

import citrus_hf.inference.backends as backends_module
from citrus_hf.inference.backends import (
    CheckedBackend,
    Contender,
    load_backend,
    predict_windows,
)
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

# bf16 moves a tiny model's logits by ~1e-3 (its own error against fp32, not a tolerance of the check)
BF16_ATOL = 2e-2


def _fusion_classifier() -> CiTrusFusionForSequenceClassification:
    torch.manual_seed(0)
    return CiTrusFusionForSequenceClassification(fusion_config()).eval()


def _rows(model, count: int = 8, seed: int = 0) -> dict:
    """`count` 2 s rows of every modality aligned by the model's processor: `input_values` and `patch_mask` dicts."""
    signals = recording(2.0 * count, seed=seed)
    rows = {
        name: [signal[i * 2 * RATES[name] : (i + 1) * 2 * RATES[name]] for i in range(count)]
        for name, signal in signals.items()
    }
    return CiTrusFusionProcessor.from_config(model.config)(rows, sampling_rate=RATES)


@pytest.mark.parametrize("bf16_support", ["avx512_bf16", "amx_bf16"])
def test_bf16_backend_runs_a_fusion_model_on_a_copy_close_to_fp32(monkeypatch, bf16_support):
    monkeypatch.setattr(backends_module, "cpu_bf16_support", lambda: bf16_support)
    model = _fusion_classifier()
    inputs = _rows(model)
    bf16 = load_backend(model, "bf16", batch_threads=2)
    assert bf16.name == "bf16" and bf16.model is not model
    assert model.config._attn_implementation == "sdpa"  # the caller's model as it was
    assert {encoder.config._attn_implementation for encoder in bf16.model.encoders.values()} == {
        backends_module.BLOCKED_ATTENTION
    }
    output = bf16(inputs["input_values"], inputs["patch_mask"])
    reference = load_backend(model, "torch")(inputs["input_values"], inputs["patch_mask"])
    assert output.dtype == torch.float32 and output.shape == (8, 3)
    torch.testing.assert_close(output, reference, atol=BF16_ATOL, rtol=0)


def test_a_fusion_batch_split_across_threads_gives_the_unsplit_outputs():
    model = _fusion_classifier()
    inputs = _rows(model)
    whole = load_backend(model, "torch", batch_threads=1)(inputs["input_values"], inputs["patch_mask"])
    split = load_backend(model, "torch", batch_threads=2)(inputs["input_values"], inputs["patch_mask"])
    torch.testing.assert_close(split, whole, atol=1e-6, rtol=0)
    with torch.no_grad():
        direct = model(**inputs).logits
    torch.testing.assert_close(whole, direct, atol=1e-6, rtol=0)


def test_auto_checks_bf16_against_fp32_on_the_first_fusion_batch_and_reports_the_difference(monkeypatch, caplog):
    monkeypatch.setattr(backends_module, "cpu_bf16_support", lambda: "avx512_bf16")
    model = _fusion_classifier()
    inputs = _rows(model)
    runner = load_backend(model, "auto")
    assert isinstance(runner, CheckedBackend)
    assert [contender.backend.name for contender in runner.contenders] == ["bf16"]  # no ONNX export of a fusion model
    runner.race_batches = 0  # no timed race: the first path that agrees runs
    with caplog.at_level(logging.INFO, logger="citrus_hf"):
        output = runner(inputs["input_values"], inputs["patch_mask"])
    assert runner.name == "bf16"
    reference = load_backend(model, "torch")(inputs["input_values"], inputs["patch_mask"])
    bf16 = load_backend(model, "bf16")(inputs["input_values"], inputs["patch_mask"])
    assert runner.differences["bf16"] == pytest.approx(float((bf16 - reference).abs().max()), abs=1e-7)
    assert 0 < runner.differences["bf16"] < BF16_ATOL
    torch.testing.assert_close(output, bf16)
    assert torch.equal(output.argmax(-1), reference.argmax(-1))
    assert f"bf16 reproduced fp32 on the first batch (outputs at most {runner.differences['bf16']:.3g} apart)" in (
        caplog.text
    )


def test_auto_drops_a_fusion_contender_that_changes_a_class_and_runs_fp32(caplog):
    model = _fusion_classifier()
    inputs = _rows(model)
    reference = backends_module.TorchBackend(model, backends_module.target_for(model, None))
    bf16 = backends_module.BFloat16Backend(model, reference.target)
    runner = CheckedBackend([Contender(bf16, lambda output, fp32: False, "a predicted class changed")], reference)
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        output = runner(inputs["input_values"], inputs["patch_mask"])
    assert runner.name == "torch" and runner.paths == [reference]
    torch.testing.assert_close(output, reference(inputs["input_values"], inputs["patch_mask"]))
    assert "bf16 did not reproduce fp32 on the first batch (a predicted class changed; outputs up to " in caplog.text


def test_fusion_pipeline_runs_and_reports_the_backend_asked(tmp_path, monkeypatch):
    """`backend` had been checked and then dropped: every call ran torch and said so."""
    monkeypatch.setattr(backends_module, "cpu_bf16_support", lambda: "avx512_bf16")
    classify = pipeline(model=saved(tmp_path))
    signals = recording(9.0)
    # pad_last_window: the last window is padded in both modalities and runs apart, with its masks
    kwargs = {"sampling_rate": RATES, "top_k": None, "pad_last_window": True}
    fp32 = classify(signals, backend="torch", **kwargs)
    bf16 = classify(signals, backend="bf16", **kwargs)
    assert (fp32["backend"], bf16["backend"]) == ("torch", "bf16")
    assert [(w["start"], w["end"]) for w in bf16["windows"]] == [(w["start"], w["end"]) for w in fp32["windows"]]
    assert len(bf16["windows"]) == 5
    for fast, exact in zip(bf16["windows"], fp32["windows"]):
        scores = {entry["label"]: entry["score"] for entry in exact["labels"]}
        assert [entry["score"] for entry in fast["labels"]] == pytest.approx(
            [scores[entry["label"]] for entry in fast["labels"]], abs=BF16_ATOL
        )
    assert bf16["label"] == fp32["label"]
    # "auto" on the pipeline: its kept backend, told to skip the race, runs the contender that agrees
    auto = backends_module.cached_backend(classify.model, "auto", None, cache=classify._backends)
    auto.race_batches = 0
    assert classify(signals, backend="auto", **kwargs)["backend"] == "bf16"
    assert classify.model.config._attn_implementation == "sdpa"  # the pipeline's model itself runs fp32 still


def test_fusion_regression_runs_in_bf16_when_asked_and_in_fp32_under_auto(tmp_path, monkeypatch):
    """Regression targets are the result: "auto" never runs them in bf16, as for one modality."""
    monkeypatch.setattr(backends_module, "cpu_bf16_support", lambda: "avx512_bf16")
    regress = pipeline(model=saved(tmp_path, CiTrusFusionForRegression, num_targets=1))
    signals = recording(6.0)
    fp32 = regress(signals, sampling_rate=RATES, backend="auto")
    bf16 = regress(signals, sampling_rate=RATES, backend="bf16")
    assert (fp32["backend"], bf16["backend"]) == ("torch", "bf16")
    assert bf16["target"] == pytest.approx(fp32["target"], abs=BF16_ATOL)


def test_onnx_runtime_and_single_modality_functions_refuse_a_fusion_model_in_one_line(tmp_path):
    model = _fusion_classifier()
    with pytest.raises(ValueError, match=r"^backend='onnxruntime' exports models of one input, .* use backend='auto'"):
        load_backend(model, "onnxruntime", cache_dir=tmp_path)
    classify = pipeline(model=saved(tmp_path / "model"))
    with pytest.raises(ValueError, match=r"^backend='onnxruntime' exports models of one input"):
        classify(recording(4.0), sampling_rate=RATES, backend="onnxruntime")
    with pytest.raises(ValueError, match=r"for its fused embedding call `model.embed"):
        load_backend(model, "torch", "embeddings")
    with pytest.raises(
        TypeError, match=r"^`predict_windows` runs single-modality CiTrus models, .*load_backend\(model\)"
    ):
        predict_windows(model, {"input_values": torch.zeros(1, 1, 200)})
