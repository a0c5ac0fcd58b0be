"""A transformers user's `PreTrainedModel` habits on the CiTrus models (audit /work/audit/ptm_habits.md, findings
1-10): gradient checkpointing with attention weights, `variant=` checkpoints, every head's attention weights, Flash
and flex attention refused with what works, transformers' and PatchTST's config names, `AutoModel` on a task
checkpoint through remote code, float64 losses, the load message with `subfolder=`, and `torch.jit.trace` without
the package's own TracerWarnings."""

from __future__ import annotations

import json
import logging as std_logging
import os
import warnings

import pytest
import torch
from hub_server import run_client
from tiny_configs import checkpointing_on, tiny_config
from transformers import AutoConfig, AutoModel, set_seed

from citrus_hf import (
    CiTrusConfig,
    CiTrusForPretraining,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusModel,
    CiTrusModelOutput,
)
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.loading import load_pretrained
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification
from citrus_hf.vocabulary_citrus import PRETRAINING_OBJECTIVES

# ------------------------------------------------------------------------ 1: gradient checkpointing + attentions


@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
@pytest.mark.parametrize("use_reentrant", [False, True])
def test_gradient_checkpointing_with_attention_weights_trains_as_without(implementation, use_reentrant):
    """1: under SDPA, non-reentrant checkpointing recomputed the layers outside the "weights wanted" context, with
    SDPA instead of eager, and `backward()` raised torch's CheckpointError."""
    x, labels = torch.randn(2, 2, 200), torch.tensor([0, 1])

    def step(checkpointing: bool):
        set_seed(0)
        config = tiny_config(num_channels=2, num_labels=3, num_hidden_layers=2, attn_implementation=implementation)
        model = CiTrusForSequenceClassification(config).train()
        if checkpointing:
            checkpointing_on(model, use_reentrant=use_reentrant)
        set_seed(1)
        outputs = model(x, labels=labels, output_attentions=True)
        outputs.loss.backward()
        return outputs, {name: p.grad for name, p in model.named_parameters()}

    plain, plain_grads = step(False)
    checkpointed, grads = step(True)
    torch.testing.assert_close(checkpointed.loss, plain.loss)
    for name, grad in plain_grads.items():
        torch.testing.assert_close(grads[name], grad, msg=name)
    assert [a.shape for a in checkpointed.attentions] == [a.shape for a in plain.attentions] == [(4, 2, 10, 10)] * 2


# -------------------------------------------------------------------------------------------- 2: variants


@pytest.mark.parametrize("shard", [None, "5KB"])
def test_a_variant_checkpoint_loads_back_with_its_variant(tmp_path, shard):
    """2: `save_pretrained(variant="fp16")` wrote model.fp16.safetensors, which `from_pretrained(variant="fp16")`
    refused as "no weights ... a pickle can run code"."""
    set_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    model.save_pretrained(tmp_path, variant="fp16", **({"max_shard_size": shard} if shard else {}))
    names = os.listdir(tmp_path)
    assert ("model.safetensors.index.fp16.json" in names) if shard else ("model.fp16.safetensors" in names)
    x = torch.randn(2, 1, 200)
    loaded = CiTrusForSequenceClassification.from_pretrained(tmp_path, variant="fp16").eval()
    assert torch.equal(loaded(x).logits, model(x).logits)
    assert type(AutoModel.from_pretrained(tmp_path, variant="fp16")).__name__ == "CiTrusModel"
    assert type(load_pretrained(tmp_path, variant="fp16")).__name__ == "CiTrusForSequenceClassification"


def test_weights_of_another_variant_are_named_with_the_fix(tmp_path):
    CiTrusForSequenceClassification(tiny_config(num_labels=3)).save_pretrained(tmp_path / "fp16", variant="fp16")
    CiTrusForSequenceClassification(tiny_config(num_labels=3)).save_pretrained(tmp_path / "plain")
    with pytest.raises(OSError, match=r"no model\.safetensors .*model\.fp16\.safetensors.*pass the `variant=`"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "fp16")
    with pytest.raises(OSError, match=r"no model\.bf16\.safetensors .*model\.fp16\.safetensors.*or none"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "fp16", variant="bf16")
    with pytest.raises(OSError, match=r"no model\.fp16\.safetensors .*\['model\.safetensors'\]"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "plain", variant="fp16")


def test_a_fusion_variant_checkpoint_loads_back(tmp_path):
    """2: the fusion classes share the family's loading checks."""
    encoder = {"num_channels": 2, "attention_type": "criss_cross", "num_channel_attention_heads": 1}
    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(**encoder), "eeg": tiny_config()}, num_labels=3)
    torch.manual_seed(0)
    model = CiTrusFusionForSequenceClassification(config).eval()
    model.save_pretrained(tmp_path, variant="fp16")
    x = {"ecg": torch.randn(2, 2, 200), "eeg": torch.randn(2, 1, 200)}
    loaded = CiTrusFusionForSequenceClassification.from_pretrained(tmp_path, variant="fp16").eval()
    assert torch.equal(loaded(x).logits, model(x).logits)


# ---------------------------------------------------------------------------- 3, 4: every head's attentions


@pytest.mark.parametrize("channel_heads", [1, 2])
def test_criss_cross_attention_returns_every_heads_weights(channel_heads, caplog):
    """3: the channel heads' weights were dropped, and with every head a channel head `attentions` held no heads,
    without a word."""
    std_logging.Logger.warning_once.cache_clear()
    model = CiTrusModel(
        tiny_config(num_channels=3, attention_type="criss_cross", num_channel_attention_heads=channel_heads)
    ).eval()
    with caplog.at_level("WARNING"):
        outputs = model(torch.randn(2, 3, 200), output_attentions=True)
    time_heads = 2 - channel_heads
    assert [a.shape for a in outputs.attentions] == [(2 * 3, time_heads, 10, 10)]
    # (batch * tokens, channel heads, channels, channels), rows summing to 1
    assert [a.shape for a in outputs.channel_attentions] == [(2 * 10, channel_heads, 3, 3)]
    torch.testing.assert_close(outputs.channel_attentions[0].sum(-1), torch.ones(20, channel_heads, 3))
    # every head a channel head: `attentions` hold none, which a warning says once, naming `channel_attentions`
    assert ("hold no heads" in caplog.text and "`channel_attentions`" in caplog.text) == (time_heads == 0)
    assert len(model(torch.randn(2, 3, 200), output_attentions=True, return_dict=False)) == 4


def test_task_models_return_the_channel_heads_weights_too():
    config = dict(num_channels=3, attention_type="criss_cross", num_channel_attention_heads=1)
    x = torch.randn(2, 3, 200)
    for model in (
        CiTrusForSequenceClassification(tiny_config(num_labels=3, **config)),
        CiTrusForRegression(tiny_config(**config)),
        CiTrusForPretraining(tiny_config(**config)),
    ):
        outputs = model.eval()(x, output_attentions=True)
        assert [a.shape for a in outputs.channel_attentions] == [(20, 1, 3, 3)], type(model).__name__
    labels = torch.tensor([0, 1])
    loss, logits, attentions, channel_attentions = CiTrusForSequenceClassification(tiny_config(num_labels=3, **config))(
        x, labels=labels, output_attentions=True, return_dict=False
    )
    assert logits.shape == (2, 3) and channel_attentions[0].shape == (20, 1, 3, 3)
    # channel-independent models return no such field
    plain = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()(
        torch.randn(2, 1, 200), output_attentions=True
    )
    assert plain.channel_attentions is None and "channel_attentions" not in plain.keys()


def test_attentions_are_documented_with_their_shape_and_cases():
    """4: "attention weights per layer (eager attention only)", while every implementation returns them."""
    doc = " ".join(CiTrusModelOutput.__doc__.split())
    assert "eager attention only" not in doc
    for text in (
        "(batch_size * num_channels, num_time_heads, num_tokens, num_tokens)",
        "Every `attn_implementation` returns them",
        "positions_to_keep",
        "(batch_size * num_tokens, num_channel_attention_heads, num_channels, num_channels)",
    ):
        assert text in doc
    # the documented shapes are the returned ones (SDPA included), `positions_to_keep` on the last layer
    model = CiTrusModel(tiny_config(num_hidden_layers=2)).eval()
    keep = torch.tensor([[[1, 4]], [[0, 2]]])
    outputs = model(torch.randn(2, 1, 200), output_attentions=True, positions_to_keep=keep)
    assert [a.shape for a in outputs.attentions] == [(2, 2, 10, 10), (2, 2, 2, 10)]


# ------------------------------------------------------------------------------ 5: Flash and flex attention


@pytest.mark.parametrize("implementation", ["flash_attention_2", "flash_attention_3", "flex_attention"])
def test_flash_and_flex_attention_are_refused_with_what_works(tmp_path, implementation):
    """5: transformers' refusal sent users to file an issue at https://huggingface.co//tmp/.../discussions/new."""
    CiTrusForSequenceClassification(tiny_config(num_labels=3)).save_pretrained(tmp_path)
    attempts = [
        lambda: CiTrusForSequenceClassification.from_pretrained(tmp_path, attn_implementation=implementation),
        lambda: AutoModel.from_pretrained(tmp_path, attn_implementation=implementation),
        lambda: CiTrusModel(tiny_config()).set_attn_implementation(implementation),
        lambda: CiTrusModel(tiny_config(attn_implementation=implementation)),
    ]
    for attempt in attempts:
        with pytest.raises(ValueError, match=f"'{implementation}'.*Use 'sdpa'.*'eager'.*AttentionInterface") as error:
            attempt()
        assert "huggingface.co" not in str(error.value) and "github" not in str(error.value)
    model = CiTrusModel(tiny_config())
    model.set_attn_implementation("eager")  # what works still does
    assert model.config._attn_implementation == "eager"


# ----------------------------------------------------------------------------- 6: other models' config names

TRANSFORMERS_NAMES = [
    ("hidden_dropout_prob", 0.2, "hidden_dropout"),
    ("attention_probs_dropout_prob", 0.2, "attention_dropout"),
    ("classifier_dropout", 0.3, "head_dropout"),
    ("layer_norm_eps", 1e-6, "norm_eps"),
    ("hidden_act", "relu", "activation_function"),
    ("patch_stride", 20, "patch_length"),
    ("stride", 20, "patch_length"),
    ("random_mask_ratio", 0.5, "mask_ratio"),
    ("num_class", 3, "num_labels"),
    ("nb_classes", 3, "num_labels"),
    ("num_clases", 3, "num_labels"),  # a misspelt alias (of num_classes)
    ("dropout_rate", 0.2, "hidden_dropout"),
    ("d_ff", 64, "ffn_dim"),
]


@pytest.mark.parametrize(("name", "value", "field"), TRANSFORMERS_NAMES)
def test_other_models_config_names_are_refused_with_the_citrus_name(tmp_path, name, value, field):
    """6: kept as unused attributes by the config (the default was used), and a bare TypeError from
    `from_pretrained`."""
    expected = rf"'{name}' \(did you mean .*'{field}'.*\) is not a CiTrusConfig field"
    with pytest.raises(ValueError, match=expected):
        CiTrusConfig(**{name: value})
    with pytest.raises(ValueError, match=expected):
        AutoConfig.for_model("citrus", **{name: value})
    with pytest.raises(ValueError, match=expected):
        tiny_config().update({name: value})
    CiTrusModel(tiny_config()).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=expected):
        CiTrusForSequenceClassification.from_pretrained(tmp_path, **{name: value})


def test_num_targets_on_a_classifier_is_refused_but_sets_a_regressor(tmp_path):
    """6: PatchTST's classifiers count their classes in `num_targets`; a CiTrus classifier kept its 2 labels."""
    CiTrusModel(tiny_config()).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="num_targets=3 sets the outputs of CiTrusForRegression.*pass num_labels=3"):
        CiTrusForSequenceClassification.from_pretrained(tmp_path, num_targets=3)
    assert CiTrusForSequenceClassification.from_pretrained(tmp_path, num_labels=3).classifier.out_features == 3
    assert CiTrusForRegression.from_pretrained(tmp_path, num_targets=3).regressor.out_features == 3


# ------------------------------------------------------------------- 7: AutoModel on a task checkpoint (remote)


def test_a_task_checkpoint_loads_as_the_encoder_through_remote_code(tmp_path):
    """7: auto_map named only the saved class, so `AutoModel.from_pretrained(classifier, trust_remote_code=True)`
    without citrus_hf failed with "Unrecognized configuration class"."""
    for cls, kwargs in [(CiTrusForSequenceClassification, {"num_labels": 3}), (CiTrusForRegression, {})]:
        cls(tiny_config(**kwargs)).save_pretrained(tmp_path / cls.__name__)
    CiTrusForPretraining(tiny_config()).save_pretrained(tmp_path / "CiTrusForPretraining")
    auto_map = json.loads((tmp_path / "CiTrusForSequenceClassification" / "config.json").read_text())["auto_map"]
    assert auto_map["AutoModel"] == "modeling_citrus.CiTrusModel"
    assert auto_map["AutoModelForSequenceClassification"] == "modeling_citrus.CiTrusForSequenceClassification"
    folders = [
        str(tmp_path / name)
        for name in ("CiTrusForSequenceClassification", "CiTrusForRegression", "CiTrusForPretraining")
    ]
    script = (
        "import sys, torch; from transformers import AutoModel\n"
        f"for folder in {folders!r}:\n"
        "    model = AutoModel.from_pretrained(folder, trust_remote_code=True)\n"
        "    print(type(model).__name__, tuple(model(torch.randn(2, 1, 200)).last_hidden_state.shape))\n"
        "assert 'citrus_hf' not in sys.modules\n"
    )
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    completed = run_client(script, environment, cwd=tmp_path, timeout=180)
    assert completed.stdout.split("\n")[:3] == ["CiTrusModel (2, 1, 10, 16)"] * 3


# ----------------------------------------------------------------------------------------- 8: float64 losses


def test_a_double_precision_model_takes_its_loss_in_double_precision():
    """8: `logits.float()` meant to upcast bf16 also cast float64 down."""
    x = torch.randn(2, 1, 200, dtype=torch.float64)
    classifier = CiTrusForSequenceClassification(tiny_config(num_labels=3)).double()
    assert classifier(x, labels=torch.tensor([0, 1])).loss.dtype == torch.float64
    multi = CiTrusForSequenceClassification(tiny_config(num_labels=3)).double()
    assert multi(x, labels=torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])).loss.dtype == torch.float64
    regressor = CiTrusForRegression(tiny_config()).double()
    assert regressor(x, labels=torch.randn(2)).loss.dtype == torch.float64
    # low precision is still taken in float32
    half = CiTrusForRegression(tiny_config()).to(torch.bfloat16)
    assert half(x.to(torch.bfloat16), labels=torch.randn(2)).loss.dtype == torch.float32
    half = CiTrusForSequenceClassification(tiny_config(num_labels=3)).to(torch.bfloat16)
    assert half(x.to(torch.bfloat16), labels=torch.tensor([0, 1])).loss.dtype == torch.float32


@pytest.mark.parametrize("objective", PRETRAINING_OBJECTIVES)
def test_a_double_precision_pretraining_model_takes_its_loss_in_double_precision(objective):
    """The pre-training heads' `.float()` cast a float64 model's loss to float32, so `torch.autograd.gradcheck`
    failed on it (the process-habits audit); bf16 still reconstructs in float32."""
    from citrus_hf import CiTrusForPretraining

    torch.manual_seed(0)
    model = CiTrusForPretraining(tiny_config(pretraining_objective=objective)).double()
    x = torch.randn(2, 1, 200, dtype=torch.float64)
    output = model(x)
    assert output.loss.dtype == torch.float64
    half = CiTrusForPretraining(tiny_config(pretraining_objective=objective)).to(torch.bfloat16)
    assert half(x.to(torch.bfloat16)).loss.dtype == torch.float32


# ------------------------------------------------------------------------------------- 9: subfolder message


def test_the_load_message_names_the_subfolder(tmp_path, caplog):
    """9: "encoder loaded from 'repo'" when the weights came from repo/sub."""
    CiTrusForSequenceClassification(tiny_config(num_labels=3)).save_pretrained(tmp_path / "sub")
    with caplog.at_level("WARNING"):
        AutoModel.from_pretrained(tmp_path, subfolder="sub")
    assert f"encoder loaded from '{tmp_path / 'sub'}'" in caplog.text


# ------------------------------------------------------------------------------- 10: torch.jit.trace noise


@pytest.mark.parametrize(
    "model",
    [
        lambda: CiTrusForSequenceClassification(tiny_config(num_labels=3)),
        lambda: CiTrusForRegression(tiny_config(num_channels=2, pooling="mean_max_std_dynamics")),
        lambda: CiTrusModel(tiny_config()),
    ],
)
def test_jit_trace_gives_no_tracer_warning_from_the_package(model):
    """10: the package's own checks on sizes (recorded as tensors by the tracer) warned about 8 times a trace; the
    traced graph must still match eager on another batch size and padding."""
    model = model().eval()
    model.config.return_dict = False
    channels = model.config.num_channels or 1
    example = {"input_values": torch.randn(2, channels, 200), "patch_mask": torch.ones(2, 10)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traced = torch.jit.trace(model, example_kwarg_inputs=example, strict=False)
    ours = [
        f"{w.filename}:{w.lineno}"
        for w in caught
        if w.category is torch.jit.TracerWarning and "citrus_hf" in w.filename
    ]
    assert ours == []
    x, mask = torch.randn(3, channels, 200), torch.ones(3, 10)
    mask[0, 6:] = 0
    with torch.no_grad():
        torch.testing.assert_close(traced(input_values=x, patch_mask=mask)[0], model(x, patch_mask=mask)[0])


@pytest.mark.parametrize("task_class", [CiTrusForSequenceClassification, CiTrusForRegression])
def test_a_patch_mask_passed_second_is_named_as_one(task_class):
    """ONNX habits audit 11: `model(x, mask)` (CiTrusModel's and transformers' audio classifiers' order, and what
    `torch.onnx.export(model, (x, mask))` does) hands a task model the mask as `labels`; the error says how to pass it."""
    config = tiny_config(num_labels=3) if task_class is CiTrusForSequenceClassification else tiny_config(num_targets=1)
    model = task_class(config).eval()
    values = torch.randn(2, config.num_channels, config.context_length)
    mask = torch.ones(2, config.num_patches, dtype=torch.long)
    with pytest.raises(ValueError, match=r"pass it by name: model\(input_values, patch_mask=mask\)"):
        model(values, mask)
