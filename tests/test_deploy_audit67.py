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
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_configs import save_trained_adapter, tiny_config
from torch.nn.utils import prune
from transformers import PreTrainedModel, pipeline

from citrus_hf import CiTrusFeatureExtractor, CiTrusForPretraining, CiTrusForSequenceClassification
from citrus_hf.commands.main import main as citrus_main
from citrus_hf.inference.backends import (
    InferenceTarget,
    load_backend,
    onnx_export_available,
    onnx_export_path,
    quantized_layers,
)

needs_onnx = pytest.mark.skipif(onnx_export_available() is not None, reason="needs citrus-hf[onnx]")


def _classifier(seed: int = 0) -> CiTrusForSequenceClassification:
    torch.manual_seed(seed)
    return CiTrusForSequenceClassification(tiny_config(num_channels=2, num_labels=3)).eval()


def _save(model, folder: Path) -> str:
    model.save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder)
    return str(folder)


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


# --------------------------------------------------------------- 2. embedding options in the deployment folder


@pytest.fixture(scope="module")
def embedding_deployment(tmp_path_factory):
    """A tiny encoder (mean pooling, channels concatenated) exported with `--pooling max --channel-pooling mean`."""
    if onnx_export_available() is not None:
        pytest.skip("needs citrus-hf[onnx]")
    tmp_path = tmp_path_factory.mktemp("embedding_deployment")
    model = CiTrusForPretraining(tiny_config(num_channels=2, pooling="mean", channel_pooling="concat")).eval()
    folder, out = _save(model, tmp_path / "encoder"), tmp_path / "deploy"
    argv = ["export", folder, "--output-dir", str(out), "--cache-dir", str(tmp_path / "cache")]
    assert citrus_main([*argv, "--pooling", "max", "--channel-pooling", "mean"]) == 0
    return out


def test_the_deployment_folder_records_the_embedding_options_it_was_exported_with(embedding_deployment):
    import onnx

    config = json.loads((embedding_deployment / "config.json").read_text())
    assert (config["head_features"], config["pooling"], config["channel_pooling"]) == ("context", "max", "mean")
    graph = onnx.load(str(embedding_deployment / "model.onnx"))
    metadata = {entry.key: entry.value for entry in graph.metadata_props}
    assert json.loads(metadata["embedding_options"]) == {
        "features": "context",
        "pooling": "max",
        "channel_pooling": "mean",
    }


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


# ------------------------------------------------------------------- 4. a LoRA adapter on a bf16 base, exported


@needs_onnx
def test_the_export_of_an_adapter_on_a_bf16_base_is_the_one_the_pipeline_finds(tmp_path, capsys):
    pytest.importorskip("peft")
    save_trained_adapter(_save(_classifier().to(torch.bfloat16), tmp_path / "base_bf16"), tmp_path / "lora")
    cache, out = tmp_path / "cache", tmp_path / "deploy"
    assert citrus_main(["export", str(tmp_path / "lora"), "--cache-dir", str(cache), "--output-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "dtype=torch.float32" in printed  # the call printed loads the base in float32
    assert "CiTrusForSequenceClassification (logits) exported in" in printed  # the adapter merged into its classifier
    classify = pipeline(model=str(tmp_path / "lora"), dtype=torch.float32, onnx_cache_dir=str(cache))
    assert onnx_export_path(classify.model, InferenceTarget(), cache).is_file()
    assert len(list(cache.iterdir())) == 1
    assert json.loads((out / "config.json").read_text())["dtype"] == "float32"
    # and runs it: the pipeline found the CLI's export of the merged model
    result = classify(np.random.default_rng(0).standard_normal((2, 600)), sampling_rate=100, backend="onnxruntime")
    (onnx,) = classify._backends.values()
    assert result["backend"] == "onnxruntime" and not onnx.exported


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


# ----------------------------------------------------------------- 6. no pipeline named without its code


def test_the_deployment_config_names_no_pipeline_code_it_does_not_hold(embedding_deployment):
    config = json.loads((embedding_deployment / "config.json").read_text())
    assert "custom_pipelines" not in config and not (embedding_deployment / "pipelines.py").exists()
    with pytest.raises(OSError, match="is an ONNX deployment folder"):
        pipeline("time-series-feature-extraction", model=str(embedding_deployment))


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
