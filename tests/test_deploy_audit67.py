"""Audit 67, compression and deployment as a user tries them by hand:

1. a dynamically quantized task head (`quantize_dynamic(model, {nn.Linear})`, which quantizes the head's inputs to
   int8 with one scale for the batch) changed the probe recipe's predictions without a word: the backends now name
   it and the fix, quantizing the encoder only, which leaves the head in float32;
2. `citrus export --output-dir` with embedding options wrote a config.json of the checkpoint's default embeddings and
   no ONNX metadata about them: both now say what the graph computes;
3. a quantized model's `state_dict` did not load back (`load_state_dict` crashed in the adapter-head check on the
   packed weights' dtype entries) and its `save_pretrained` crashed deep in transformers: the first loads, the second
   is refused, naming the route (save the float32 model, quantize after loading);
4. `citrus export` of a LoRA adapter on a bf16 base merged in bf16, so its cache key was not the one of the model the
   pipeline loads with `dtype=torch.float32` (merged in float32), and its deployment config said bfloat16;
5. a model pruned with `torch.nn.utils.prune` saved `weight_orig` / `weight_mask` that no loader reads: the save is
   refused and the loader names the pairs, both with `prune.remove(module, "weight")`;
6. the deployment folder's config named a pipeline class (`custom_pipelines`) whose code it does not hold;
and a shard missing from a sharded checkpoint is named as missing (it was "corrupt or truncated", with "..").

Tiny models: each export takes a few seconds."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config
from torch.nn.utils import prune
from transformers import PreTrainedModel, pipeline

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.inference.backends import (
    load_backend,
    quantized_layers,
)


def _classifier(seed: int = 0) -> CiTrusForSequenceClassification:
    torch.manual_seed(seed)
    return CiTrusForSequenceClassification(tiny_config(num_channels=2, num_labels=3)).eval()


def _quantized(model, spec=frozenset({torch.nn.Linear})):
    with warnings.catch_warnings():  # torch's deprecation notice of torch.ao.quantization
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), set(spec), dtype=torch.qint8)


# ----------------------------------------------------------------------------------- 1. a quantized task head


def test_a_quantized_head_is_named_with_the_fix_and_an_encoder_quantized_alone_runs_quietly(caplog):
    model = _classifier()
    whole = _quantized(model)
    encoder_only = _quantized(model, {model.base_model_prefix})  # the fix the warning names
    assert quantized_layers(encoder_only) and type(encoder_only.classifier) is torch.nn.Linear
    windows = torch.randn(4, 2, 200, generator=torch.Generator().manual_seed(0))
    with caplog.at_level("WARNING"):
        load_backend(whole, "auto")(windows)
    named = [record.getMessage() for record in caplog.records if "quantized" in record.getMessage()]
    assert len(named) == 1 and "`classifier`" in named[0]
    assert "quantize_dynamic(model, {'citrus'}, dtype=torch.qint8)" in named[0]
    caplog.clear()
    with caplog.at_level("WARNING"):
        load_backend(encoder_only, "torch")(windows)
        load_backend(whole, "auto", "embeddings")(windows)  # the head does not run
    assert not [record for record in caplog.records if "quantized" in record.getMessage()]


def test_the_pipeline_names_a_quantized_head(caplog):
    model = _classifier()
    classify = pipeline(
        "time-series-classification",
        model=_quantized(model),
        feature_extractor=CiTrusFeatureExtractor.from_config(model.config),
    )
    with caplog.at_level("WARNING"):
        classify(np.random.default_rng(0).standard_normal((2, 400)), sampling_rate=100)
    assert "Quantize the encoder only" in caplog.text


# ------------------------------------------------------------------------- 3. a quantized model's state_dict


def test_a_quantized_state_dict_loads_back_and_save_pretrained_names_the_route(tmp_path):
    model = _classifier()
    quantized, fresh = _quantized(model), _quantized(_classifier(seed=1))
    fresh.load_state_dict(quantized.state_dict(), strict=True)
    windows = torch.randn(2, 2, 200, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(fresh(windows).logits, quantized(windows).logits)
    with pytest.raises(ValueError, match=r"quantized layers .*save the float32 model.* quantize it after loading"):
        quantized.save_pretrained(tmp_path / "quantized")
    assert not (tmp_path / "quantized").exists()


# ------------------------------------------------------------------------------------------ 5. a pruned model


def _pruned() -> CiTrusForSequenceClassification:
    model = _classifier()
    prune.l1_unstructured(model.classifier, "weight", amount=0.5)
    return model


def test_save_pretrained_refuses_a_pruned_model_naming_prune_remove(tmp_path):
    model = _pruned()
    with pytest.raises(ValueError, match=r"classifier\.weight.*prune\.remove\(module, \"weight\"\)"):
        model.save_pretrained(tmp_path / "pruned")
    assert not (tmp_path / "pruned").exists()
    prune.remove(model.classifier, "weight")  # the fix it names
    model.save_pretrained(tmp_path / "kept")
    CiTrusForSequenceClassification.from_pretrained(tmp_path / "kept")


def test_loading_a_pruned_checkpoint_names_the_pairs_and_the_fix(tmp_path):
    folder = tmp_path / "pruned"
    PreTrainedModel.save_pretrained(_pruned(), folder)  # as saved before the refusal, or by other code
    with pytest.raises(ValueError, match=r"classifier\.weight_orig.*prune\.remove\(module, \"weight\"\)") as error:
        CiTrusForSequenceClassification.from_pretrained(folder)
    assert "corrupt" not in str(error.value)


# ---------------------------------------------------------------------------------------- a missing shard


def test_a_missing_shard_is_named_as_missing(tmp_path):
    folder = tmp_path / "sharded"
    _classifier().save_pretrained(folder, max_shard_size="2KB")
    shards = sorted(folder.glob("model-*.safetensors"))
    assert len(shards) > 1
    shards[1].unlink()
    with pytest.raises(OSError) as error:
        CiTrusForSequenceClassification.from_pretrained(folder)
    message = str(error.value)
    assert shards[1].name in message and "is missing" in message
    assert "corrupt" not in message and ".." not in message
