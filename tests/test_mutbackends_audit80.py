"""Audit 80, a mutation audit of the inference back ends (`inference/backends.py`, `inference/time_use.py`,
`inference/registration.py`, `_auto.py`): guards for the places where a wrong answer would be silent, each the
cheapest test that tells the code from a plausible slip in it (the choice of path for a CPU, the race's size classes,
the agreement checks' rules, the ONNX cache key's parts, the kept backends' keys).

Maths on synthetic tensors and tiny models (tests/tiny_configs.py); no export runs here.
"""

from __future__ import annotations

import pytest
import torch
from tiny_configs import tiny_config

import citrus_hf.inference.backends as backends_module
from citrus_hf import CiTrusForRegression, CiTrusForSequenceClassification
from citrus_hf.inference.backends import (
    CheckedBackend,
    Contender,
    InferenceBackend,
    InferenceTarget,
    TorchBackend,
    cpu_bf16_support,
    load_backend,
)
from citrus_hf.inference.time_use import label_events

# ----------------------------------------------------------------------------------------------------------------------
# The path chosen for a CPU
# ----------------------------------------------------------------------------------------------------------------------


def test_a_cpu_with_amx_and_avx512_bf16_is_taken_for_amx_and_only_amx_runs_the_dense_stem(monkeypatch):
    """Every CPU with AMX also reports AVX512-BF16: it must be named by its AMX, the one instruction set on which the
    bf16 path's dense stem is faster (`dense_stem_in_bf16`); on AVX512-BF16 alone the convolutions stay."""
    monkeypatch.setattr(
        torch._C._cpu, "_get_cpu_capability", lambda: {"avx512_bf16": True, "amx_bf16": True}, raising=False
    )
    assert cpu_bf16_support() == "amx_bf16"
    assert backends_module.dense_stem_in_bf16("amx_bf16") is True
    assert backends_module.dense_stem_in_bf16("avx512_bf16") is False
    assert backends_module.dense_stem_in_bf16(None) is False


# ----------------------------------------------------------------------------------------------------------------------
# "auto": the race and its size classes
# ----------------------------------------------------------------------------------------------------------------------


class _CountingPath(InferenceBackend):
    """A path that costs `seconds_per_window` of a shared fake clock, returns constant `logits` per window and counts
    the windows it ran."""

    def __init__(self, name: str, seconds_per_window: float, now: list[float], logits=(1.0, 0.0, 0.0)):
        super().__init__(None, InferenceTarget())
        self.name, self.seconds_per_window, self.now, self.logits = name, seconds_per_window, now, logits
        self.windows = 0

    def __call__(self, input_values, patch_mask=None):
        self.now[0] += self.seconds_per_window * len(input_values)
        self.windows += len(input_values)
        return torch.tensor(self.logits).repeat(len(input_values), 1)


def test_a_batch_of_exactly_race_min_windows_belongs_to_the_large_size_class():
    """Batches of fewer than `RACE_MIN_WINDOWS` windows race apart from the others: one of exactly that many is a large
    batch, run by the large class's winner without a race of its own."""
    now = [0.0]
    bf16 = _CountingPath("bf16", 5e-4, now, logits=(1.02, 0.01, 0.0))
    reference = _CountingPath("torch", 1e-3, now)
    auto = CheckedBackend(
        [Contender(bf16, backends_module._same_classes, "a predicted class changed")], reference, clock=lambda: now[0]
    )
    auto(torch.zeros(64, 1, 200))
    assert auto.name == "bf16" and set(auto.active) == {True}
    ran_before = reference.windows
    auto(torch.zeros(backends_module.RACE_MIN_WINDOWS, 1, 200))
    assert set(auto.active) == {True} and reference.windows == ran_before  # no second race


class _ScheduledPath(_CountingPath):
    """A path whose n-th call costs `costs[n]` seconds of the shared fake clock (its timings vary, as on a loaded
    machine)."""

    def __init__(self, name: str, costs: list[float], now: list[float], logits=(1.0, 0.0, 0.0)):
        super().__init__(name, 0.0, now, logits)
        self.costs = list(costs)

    def __call__(self, input_values, patch_mask=None):
        self.now[0] += self.costs.pop(0)
        return super().__call__(input_values, patch_mask)


def test_the_race_keeps_each_paths_best_round():
    """Each path's time is its best round (a round slowed by the machine's other work says nothing of the path): a
    path slow once and fast once beats one steadily between the two."""
    now = [0.0]
    # calls: the agreement check (untimed), then two timed rounds
    bf16 = _ScheduledPath("bf16", [0.0, 10e-3, 1e-3], now, logits=(1.02, 0.01, 0.0))
    reference = _ScheduledPath("torch", [0.0, 3e-3, 3e-3], now)
    auto = CheckedBackend(
        [Contender(bf16, backends_module._same_classes, "a predicted class changed")], reference, clock=lambda: now[0]
    )
    auto(torch.zeros(4, 1, 200))
    assert auto.name == "bf16"


def test_a_kept_auto_backend_sees_its_model_change():
    """A kept "auto" backend (`cached_backend`) serves until its model changes: its faster paths run a copy or an
    export of the model as it was, so a change of weights must make it stale, whichever path won."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    faster = _CountingPath("bf16", 1e-4, [0.0])
    auto = CheckedBackend(
        [Contender(faster, backends_module._same_classes, "a predicted class changed")],
        TorchBackend(model, InferenceTarget()),
    )
    assert not auto.is_stale
    with torch.no_grad():
        model.classifier.weight.add_(1.0)
    assert auto.is_stale


# ----------------------------------------------------------------------------------------------------------------------
# The agreement checks of the faster paths
# ----------------------------------------------------------------------------------------------------------------------


def test_a_multi_label_check_compares_the_labels_present_at_logit_zero():
    """A label is present above probability 0.5, a logit above 0: logits of 0.3 and -0.3 are one label present and
    absent (the bf16 path is then refused), 0.6 and 0.4 both present."""
    same_label_sets = backends_module._same_label_sets
    assert not same_label_sets(torch.tensor([[0.3, -2.0]]), torch.tensor([[-0.3, -2.0]]))
    assert same_label_sets(torch.tensor([[0.6, -2.0]]), torch.tensor([[0.4, -2.0]]))


@pytest.mark.parametrize(
    "candidate, reference, within",
    [
        # one output of many off: refused (every element must be within)
        ([[1.0, 2.0, 3.0 + 1.0]], [[1.0, 2.0, 3.0]], False),
        # a small output beside a large one is held to its own scale, as torch.allclose holds it
        ([[1000.0, 0.006]], [[1000.0, 0.001]], False),
        # 1e-3 off an output of 1: ten times the tolerance
        ([[1.001]], [[1.0]], False),
        ([[1.00005]], [[1.0]], True),
        # one float32 step at 1200 (an RR interval in ms) passes on the relative term
        ([[1200.0001220703125]], [[1200.0]], True),
        # NaN is never within
        ([[float("nan"), 1.0]], [[0.5, 1.0]], False),
    ],
)
def test_the_onnx_check_holds_each_output_to_the_documented_tolerance(candidate, reference, within):
    """`ONNX_TOLERANCE` + `ONNX_RELATIVE_TOLERANCE` x |fp32 output|, element by element (`torch.allclose`'s rule)."""
    assert backends_module.ONNX_TOLERANCE == 1e-4 and backends_module.ONNX_RELATIVE_TOLERANCE == 1e-5
    assert backends_module.onnx_differences(torch.tensor(candidate), torch.tensor(reference))[2] is within


# ----------------------------------------------------------------------------------------------------------------------
# Which faster paths "auto" races
# ----------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def bf16_cpu(monkeypatch):
    """A CPU with native bf16 (AVX512-BF16), whatever this one has: "auto" then weighs the bf16 path."""
    monkeypatch.setattr(backends_module, "cpu_bf16_support", lambda: "avx512_bf16")


def test_auto_races_bf16_only_for_a_classifier_with_the_check_of_its_scoring(bf16_cpu):
    """The bf16 path is checked by the predictions it keeps: the classes for a softmax classifier, the labels present
    for a multi-label one. A regressor's outputs have no classes to keep (an argmax over one target always agrees), so
    bf16 never races for one: "auto" runs it in fp32 PyTorch."""
    torch.manual_seed(0)
    regressor = CiTrusForRegression(tiny_config()).eval()
    assert type(load_backend(regressor, "auto")) is TorchBackend
    checks = {}
    for problem_type in ("single_label_classification", "multi_label_classification"):
        classifier = CiTrusForSequenceClassification(tiny_config(num_labels=3, problem_type=problem_type)).eval()
        auto = load_backend(classifier, "auto")
        (contender,) = [each for each in auto.contenders if each.backend.name == "bf16"]
        checks[problem_type] = contender.check
    assert checks == {
        "single_label_classification": backends_module._same_classes,
        "multi_label_classification": backends_module._same_label_sets,
    }


def test_auto_runs_fp32_on_a_cpu_without_native_bf16(monkeypatch):
    """Without AVX512-BF16 or AMX, bf16 is emulated and slower than fp32: "auto" does not build it to race it."""
    monkeypatch.setattr(backends_module, "cpu_bf16_support", lambda: None)
    torch.manual_seed(0)
    classifier = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    assert type(load_backend(classifier, "auto")) is TorchBackend


def test_auto_looks_for_an_export_in_the_cache_folder_it_is_given(tmp_path, exporter_stand_in, caplog):
    """`cache_dir=` names where "auto" finds the export `export_onnx(..., cache_dir)` made: looked up in the default
    cache instead, the export there was never raced."""
    pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    classifier = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    backends_module.export_onnx(classifier, cache_dir=tmp_path / "exports")
    for folder, exported in ((tmp_path / "exports", True), (tmp_path / "empty", False)):
        caplog.clear()
        with caplog.at_level("INFO", logger=backends_module.logger.name):
            load_backend(classifier, "auto", cache_dir=folder)
        assert any("no ONNX export yet" in record.getMessage() for record in caplog.records) is not exported


def test_a_kept_backend_is_kept_per_target():
    """`cached_backend` keeps one backend per target: the embeddings asked after the logits are the embeddings."""
    torch.manual_seed(0)
    classifier = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    cache = {}
    logits = backends_module.cached_backend(classifier, "torch", "logits", cache=cache)
    embeddings = backends_module.cached_backend(classifier, "torch", "embeddings", cache=cache)
    assert logits.target.output == "logits" and embeddings.target.output == "embeddings"
    assert backends_module.cached_backend(classifier, "torch", "logits", cache=cache) is logits


# ----------------------------------------------------------------------------------------------------------------------
# Padded windows and the bf16 attention
# ----------------------------------------------------------------------------------------------------------------------


class _EchoPath(InferenceBackend):
    """A path whose output tells what it was given: each window's first sample (which window) and the number of
    patches its mask keeps (-1 where it ran without a mask)."""

    name = "echo"

    def __init__(self):
        super().__init__(None, InferenceTarget())

    def __call__(self, input_values, patch_mask=None):
        kept = torch.full((len(input_values),), -1.0) if patch_mask is None else patch_mask.sum(1).float()
        return torch.stack([input_values[:, 0, 0], kept], dim=1)


def test_full_and_padded_windows_run_apart_with_the_padded_ones_masked():
    """A window is full when its mask keeps every patch: the full windows run without a mask and the padded ones with
    theirs, and each output goes back to its window's row."""
    windows = torch.arange(4.0).reshape(4, 1, 1).expand(4, 1, 20).contiguous()
    mask = torch.ones(4, 5, dtype=torch.long)
    mask[1, 3:] = 0
    mask[3, 1:] = 0
    output, path = backends_module.run_full_and_padded_apart(_EchoPath(), windows, mask)
    assert path == "echo"
    assert output.tolist() == [[0.0, -1.0], [1.0, 3.0], [2.0, -1.0], [3.0, 1.0]]
    # every window padded: one call, with the mask
    output, _ = backends_module.run_full_and_padded_apart(_EchoPath(), windows[[1, 3]], mask[[1, 3]])
    assert output.tolist() == [[1.0, 3.0], [3.0, 1.0]]


def _exact_attention(query, key, value, mask, scaling):
    """Attention in float64: `(N, seq, heads, head_dim)`, the layout the attention interface returns."""
    return torch.nn.functional.scaled_dot_product_attention(
        query.double(), key.double(), value.double(), attn_mask=None if mask is None else mask.double(), scale=scaling
    ).transpose(1, 2)


def test_the_blocked_bf16_attention_honours_a_mask_over_queries_and_keys():
    """An additive mask of a row per query, `(N, 1, seq, seq)` (a causal one here), is applied query by query: only a
    key mask, `(N, 1, 1, seq)`, may take the path that reads one row of it."""
    generator = torch.Generator().manual_seed(0)
    query, key, value = (torch.randn(3, 2, 12, 8, generator=generator).bfloat16() for _ in range(3))
    causal = torch.full((12, 12), torch.finfo(torch.float32).min).triu(1).expand(3, 1, 12, 12)
    module = torch.nn.Module().eval()
    output, _ = backends_module.blocked_bf16_attention(module, query, key, value, causal, scaling=8**-0.5)
    assert (output.double() - _exact_attention(query, key, value, causal, 8**-0.5)).abs().max() < 3e-2


def test_the_blocked_bf16_attention_stays_exact_where_the_scores_are_large():
    """Scores far above what `exp2` holds in bf16 (hundreds, in base 2) are shifted by a bound of each query's largest
    one first, so that the softmax neither overflows nor loses its largest terms: the output is the float32 softmax
    path's (`_softmax_attention`) to within bf16's rounding (at these scores, bf16's rounding of the scores themselves
    puts both 0.05 from float64 attention)."""
    generator = torch.Generator().manual_seed(0)
    query, key, value = (torch.randn(2, 2, 16, 8, generator=generator) for _ in range(3))
    query, key, value = (query * 12).bfloat16(), (key * 12).bfloat16(), value.bfloat16()
    module = torch.nn.Module().eval()
    output, _ = backends_module.blocked_bf16_attention(module, query, key, value, None, scaling=8**-0.5)
    assert torch.isfinite(output).all()
    softmax_path = backends_module._softmax_attention(query, key, value, None, 8**-0.5)
    assert (output.double() - softmax_path.double()).abs().max() < 1e-2


# ----------------------------------------------------------------------------------------------------------------------
# The ONNX cache: one export per checkpoint
# ----------------------------------------------------------------------------------------------------------------------


def test_the_onnx_cache_key_follows_the_weights():
    """Two checkpoints of one config (a fine-tuned one and its base, two seeds) have exports of their own: the key
    hashes the weights, so neither is served the other's graph."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    key = backends_module.onnx_cache_key(model, InferenceTarget())
    with torch.no_grad():
        model.classifier.bias.add_(0.5)
    assert backends_module.onnx_cache_key(model, InferenceTarget()) != key


def test_a_cached_export_of_another_checkpoint_is_refused(tmp_path, exporter_stand_in):
    """A file in the cache under this checkpoint's name whose stored key is another's (copied there, or a stale file)
    is refused with the fix, never run as this model."""
    pytest.importorskip("onnx")
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    other = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    other_path, _ = backends_module.export_onnx(other, cache_dir=tmp_path)
    path = backends_module.onnx_export_path(model, InferenceTarget(), tmp_path)
    assert path != other_path
    path.write_bytes(other_path.read_bytes())
    with pytest.raises(OSError, match="was exported from another model"):
        backends_module.export_onnx(model, cache_dir=tmp_path)


# ----------------------------------------------------------------------------------------------------------------------
# Events from a classifier's windows (`time_use.label_events`)
# ----------------------------------------------------------------------------------------------------------------------


def _window(start: float, end: float, scores: dict[str, float], no_signal: bool = False) -> dict:
    """A classification pipeline's window: its top label and every label's score."""
    label = max(scores, key=scores.get)
    labels = [{"label": name, "score": score} for name, score in scores.items()]
    return {
        "start": start,
        "end": end,
        "label": label,
        "score": scores[label],
        "labels": labels,
        "no_signal": no_signal,
    }


def test_multi_label_events_are_in_onset_order_and_a_label_at_probability_one_half_is_absent():
    """Events of one onset keep the order their labels are present in their first window; a later onset comes later
    whatever its label's place. Present means above 0.5, as the pipeline's `present_labels`."""
    windows = [
        _window(0.0, 30.0, {"spindle": 0.9, "arousal": 0.8, "apnea": 0.5}),
        _window(30.0, 60.0, {"apnea": 0.9, "arousal": 0.7, "spindle": 0.1}),
    ]
    events = label_events(windows, each_output=True)
    assert [(event["trial_type"], event["onset"], event["duration"]) for event in events] == [
        ("spindle", 0.0, 30.0),
        ("arousal", 0.0, 60.0),
        ("apnea", 30.0, 30.0),
    ]


# ----------------------------------------------------------------------------------------------------------------------
# The Auto classes
# ----------------------------------------------------------------------------------------------------------------------


def test_an_auto_model_load_carries_its_cache_options_to_the_adapter_lookup_and_keeps_the_callers_own():
    from citrus_hf._auto import _adapter_lookup_as_the_load

    kwargs = {"local_files_only": True, "cache_dir": "/cache", "adapter_kwargs": {"local_files_only": False}}
    assert _adapter_lookup_as_the_load(kwargs)["adapter_kwargs"] == {"local_files_only": False, "cache_dir": "/cache"}


def test_a_bundled_checkpoint_loaded_by_an_auto_class_records_its_name_in_the_model_and_its_config():
    """What an adapter or a card built on the model names as its base: the bundled name, which loads wherever the
    package is installed, not the folder inside this installation."""
    from transformers import AutoModel

    import citrus_hf  # noqa: F401  (registers the Auto classes)

    model = AutoModel.from_pretrained("citrus-small")
    assert model.name_or_path == "citrus-small" and model.config._name_or_path == "citrus-small"


def test_a_loaded_model_given_to_pipeline_with_another_dtype_is_refused():
    """transformers applies `dtype` only to a model it loads: given with a loaded float32 model, bf16 was dropped
    without a word. The model's own dtype (either spelling) and "auto" pass."""
    from citrus_hf.inference.registration import _refuse_loading_kwargs

    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    for given in ({"dtype": torch.float32}, {"torch_dtype": "float32"}, {"dtype": "auto"}, {}):
        _refuse_loading_kwargs(model, given)
    with pytest.raises(ValueError, match=r"already loaded in float32"):
        _refuse_loading_kwargs(model, {"dtype": torch.bfloat16})


def test_the_torch_path_runs_a_padded_window_with_its_mask():
    """The reference path that "auto" checks the others against passes the patch mask on: a window padded to half its
    patches gives the model's masked output, not the output over its padding."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    windows = torch.randn(2, 1, 200, generator=torch.Generator().manual_seed(1))
    mask = torch.ones(2, 10, dtype=torch.long)
    mask[:, 5:] = 0
    with torch.no_grad():
        masked = model(input_values=windows, patch_mask=mask).logits
        unmasked = model(input_values=windows).logits
    assert not torch.allclose(masked, unmasked)
    torch.testing.assert_close(TorchBackend(model, InferenceTarget())(windows, mask), masked)


def test_a_checkpoint_whose_config_names_no_class_loads_as_the_class_of_its_heads_weights(tmp_path):
    """config.json without `architectures`: a pre-training checkpoint's weights hold its objective's `head`, a
    regressor's its `regressor`; each loads as what it was saved from, not as the bare encoder."""
    import json

    from citrus_hf import CiTrusForPretraining
    from citrus_hf.inference.registration import _class_of_weights

    for model_class in (CiTrusForPretraining, CiTrusForRegression):
        folder = tmp_path / model_class.__name__
        model_class(tiny_config()).save_pretrained(folder)
        config = json.loads((folder / "config.json").read_text())
        config.pop("architectures")
        (folder / "config.json").write_text(json.dumps(config))
        assert _class_of_weights(str(folder), {}) == model_class.__name__


def test_a_fusion_regressor_loads_as_the_class_it_was_saved_from(tmp_path):
    """The fusion pipelines' loader (what transformers' own `pipeline` calls) reads the class from config.json."""
    from test_fusion import ecg_config, eda_config

    from citrus_hf import CiTrusFusionConfig
    from citrus_hf.inference.registration import CiTrusFusionSavedClass
    from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression

    config = CiTrusFusionConfig(modality_configs={"eda": eda_config(), "ecg": ecg_config()}, num_targets=1)
    CiTrusFusionForRegression(config).save_pretrained(tmp_path)
    assert type(CiTrusFusionSavedClass.from_pretrained(tmp_path)) is CiTrusFusionForRegression
