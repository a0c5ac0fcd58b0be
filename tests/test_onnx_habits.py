"""The ONNX export and the inference backends as ONNX Runtime, optimum and transformers users work with them (audit
`onnx_habits`, findings 1-10): weights changed through `.data` are seen, a peft model's export follows the CiTrus code
under it, large outputs pass the tolerance, `citrus export` takes bf16 checkpoints and LoRA folders and writes a
folder ONNX Runtime serves alone (any whole number of patches), embedding defaults find their export, concurrent first
calls name the path that computed them, and the cache follows `HF_HOME` / `XDG_CACHE_HOME`. Tiny models: each export
takes a few seconds."""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_configs import save_trained_adapter, tiny_config
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from transformers import AutoConfig, AutoFeatureExtractor, pipeline

from citrus_hf import (
    CiTrusFeatureExtractor,
    CiTrusForPretraining,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
)
from citrus_hf.commands.main import main as citrus_main
from citrus_hf.inference import backends as backends_module
from citrus_hf.inference.backends import (
    CheckedBackend,
    Contender,
    InferenceBackend,
    InferenceTarget,
    TorchBackend,
    cached_backend,
    load_backend,
    onnx_cache_dir,
    onnx_cache_key,
    onnx_export_available,
    onnx_export_path,
    weights_fingerprint,
)

needs_onnx = pytest.mark.skipif(onnx_export_available() is not None, reason="needs citrus-hf[onnx]")
LABELS = {"id2label": {0: "a", 1: "b", 2: "c"}, "label2id": {"a": 0, "b": 1, "c": 2}}


def _classifier(seed: int = 0) -> CiTrusForSequenceClassification:
    torch.manual_seed(seed)
    return CiTrusForSequenceClassification(tiny_config(num_channels=2, num_labels=3, **LABELS)).eval()


def _save(model, folder: Path) -> str:
    model.save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder)
    return str(folder)


# ------------------------------------------------------------------------------------ 1. weights changed via .data


def test_weights_changed_through_data_make_a_kept_backend_stale():
    """`p.data.copy_`, `p.data = ...` and torch's `vector_to_parameters` (which assigns `.data`) keep the parameter's
    identity and version counter: the bf16 copy and the ONNX export kept giving the old model's predictions."""
    model = _classifier()
    head = model.classifier
    edits = [
        lambda: head.bias.data.copy_(torch.tensor([5.0, 0.0, 0.0])),
        lambda: setattr(head.bias, "data", torch.tensor([0.0, 7.0, 0.0])),
        lambda: vector_to_parameters(
            torch.cat([parameters_to_vector(head.parameters())[:-3], torch.tensor([0.0, 0.0, 9.0])]), head.parameters()
        ),
        lambda: head.weight.data[0, 0].add_(1e-3),  # one value, a little
    ]
    for edit in edits:
        before = weights_fingerprint(model)
        kept = load_backend(model, "bf16")
        edit()
        assert weights_fingerprint(model) != before
        assert kept.is_stale
    # and the pipeline route follows: the bf16 path predicts what the model predicts now
    windows = torch.randn(4, 2, 200, generator=torch.Generator().manual_seed(0))
    features = {"input_values": windows}
    backends_module.predict_windows(model, features, backend="bf16")
    head.bias.data.copy_(torch.tensor([0.0, 50.0, 0.0]))
    predicted = backends_module.predict_windows(model, features, backend="bf16").argmax(-1)
    assert predicted.tolist() == [1, 1, 1, 1]
    assert weights_fingerprint(model) == weights_fingerprint(model)  # deterministic: nothing changed, not stale


# ------------------------------------------------------------------------------------ 2. a peft model's cache key


def test_a_peft_models_export_key_follows_the_citrus_code_and_the_adapter_settings(tmp_path, monkeypatch):
    """A peft model's key hashed peft's source (its class is PeftModel): a release changing the CiTrus forward reused
    the old export. LoRA's scaling (alpha / r) is no tensor, so the adapter's settings are keyed too."""
    pytest.importorskip("peft")
    from citrus_hf.training.lora import apply_lora

    peft_model = apply_lora(_classifier(), r=2, verbose=False).eval()
    target = InferenceTarget()
    key = onnx_cache_key(peft_model, target)
    assert onnx_cache_key(peft_model, target) == key  # the same in every call (and process: sets are sorted)
    assert onnx_export_path(peft_model, target, tmp_path).name.startswith("CiTrusForSequenceClassification-peft-")

    citrus_file = backends_module.inspect.getsourcefile(CiTrusForSequenceClassification)
    changed = tmp_path / "modeling_citrus.py"
    changed.write_text(Path(citrus_file).read_text() + "\n# a release that changes the forward\n")
    real = backends_module.inspect.getsourcefile
    with monkeypatch.context() as patched:
        patched.setattr(
            backends_module.inspect, "getsourcefile", lambda c: str(changed) if real(c) == citrus_file else real(c)
        )
        assert onnx_cache_key(peft_model, target) != key

    settings = next(iter(peft_model.peft_config.values()))
    settings.lora_alpha = settings.lora_alpha * 2
    assert onnx_cache_key(peft_model, target) != key


# -------------------------------------------------------------------------------- 3. tolerance for large outputs


def test_the_onnx_tolerance_has_a_relative_term():
    """1e-4 alone is below one float32 step for outputs of 1024 or more (RR intervals in ms): one step apart is the
    same result, as `torch.allclose` says; a small output still needs to match to 1e-4."""
    within = backends_module._within_onnx_tolerance
    reference = torch.tensor([[1200.0]])
    one_step = reference + float(np.spacing(np.float32(1200.0)))
    assert within(one_step, reference) and torch.allclose(one_step, reference)
    assert within(torch.tensor([[9000.5]]), torch.tensor([[9000.45]]))
    assert not within(torch.tensor([[0.0003]]), torch.tensor([[0.0]]))
    assert not within(torch.tensor([[float("nan")]]), torch.tensor([[1.0]]))
    largest, relative, ok = backends_module.onnx_differences(one_step, reference)
    assert ok and largest == pytest.approx(1.22e-4, rel=0.01) and relative == pytest.approx(1.0e-7, rel=0.05)


@needs_onnx
def test_a_regressor_of_large_outputs_exports_and_auto_keeps_it(tmp_path, capsys):
    """`citrus export` said the export works, and "auto" then refused it on the first recording (one float32 step)."""
    torch.manual_seed(0)
    model = CiTrusForRegression(tiny_config(num_channels=2)).eval()
    with torch.no_grad():
        model.regressor.weight.mul_(300.0)
        model.regressor.bias.fill_(1200.0)
    folder = _save(model, tmp_path / "reg_ms")
    cache = str(tmp_path / "cache")
    assert citrus_main(["export", folder, "--cache-dir", cache]) == 0
    assert "'auto' asks for 0.0001 + 1e-05 x |fp32 output|" in capsys.readouterr().out
    regress = pipeline(model=folder, onnx_cache_dir=cache)
    recording = np.random.default_rng(0).standard_normal((2, 3000)).astype(np.float32)
    result = regress(recording, sampling_rate=100)
    (auto,) = regress._backends.values()
    assert auto.contenders[0].backend in auto.paths  # passed the check (which path then wins is the machine's)
    assert result["target"] > 1000


# --------------------------------------------------- 4-7. citrus export: bf16, LoRA, a deployable folder, any length


@needs_onnx
def test_citrus_export_takes_a_bf16_checkpoint(tmp_path, capsys):
    """transformers 5 loads a checkpoint in its saved dtype: `citrus export` refused a bf16 one, telling a CLI user to
    load it in float32, "the default of from_pretrained" (it is not)."""
    folder = tmp_path / "clf_bf16"
    _classifier().to(torch.bfloat16).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(_classifier().config).save_pretrained(folder)
    cache = str(tmp_path / "cache")
    assert citrus_main(["export", str(folder), "--cache-dir", cache]) == 0
    printed = capsys.readouterr().out
    assert "is saved in bfloat16; the ONNX path runs float32" in printed
    assert f"pipeline(model={str(folder)!r}, dtype=torch.float32, onnx_cache_dir={cache!r})" in printed
    classify = pipeline(model=str(folder), dtype=torch.float32, onnx_cache_dir=cache)
    classify(np.zeros((2, 200), np.float32) + 0.1, sampling_rate=100)
    (auto,) = classify._backends.values()
    assert not auto.contenders[0].backend.exported  # the CLI's file
    bf16 = CiTrusForSequenceClassification.from_pretrained(folder)
    assert bf16.dtype == torch.bfloat16
    with pytest.raises(ValueError, match=r"torch.bfloat16; load it in float32 .*`dtype=torch.float32` to from_pretr"):
        load_backend(bf16, "onnxruntime", cache_dir=cache)


# slow: the route is run by test_deploy_audit67's test_the_export_of_an_adapter_on_a_bf16_base_is_the_one_the_pipeline_finds
# (export of an adapter folder, the pipeline running that export); this adds a float32 base
@pytest.mark.slow
@needs_onnx
def test_citrus_export_takes_a_lora_folder_as_the_pipeline_does(tmp_path, capsys):
    pytest.importorskip("peft")
    save_trained_adapter(_save(_classifier(), tmp_path / "clf"), tmp_path / "lora")
    cache = str(tmp_path / "cache")
    assert citrus_main(["export", str(tmp_path / "lora"), "--cache-dir", cache]) == 0
    assert "CiTrusForSequenceClassification (logits) exported in" in capsys.readouterr().out
    classify = pipeline(model=str(tmp_path / "lora"), onnx_cache_dir=cache)
    result = classify(np.random.default_rng(0).standard_normal((2, 600)), sampling_rate=100, backend="onnxruntime")
    assert result["backend"] == "onnxruntime"
    (onnx,) = classify._backends.values()
    assert not onnx.exported  # the pipeline found the CLI's export of the merged model


@needs_onnx
def test_citrus_export_writes_a_folder_onnx_runtime_serves_alone(tmp_path, capsys):
    """optimum-cli's habit: `--output-dir` holds model.onnx (output `logits`, id2label in its metadata), config.json
    and preprocessor_config.json. The time axis takes any whole number of patches, so the extractor's default output
    for a short recording (`padding="longest"`) runs in plain ONNX Runtime; the cache route still works."""
    import onnx
    import onnxruntime

    model = _classifier()
    folder = _save(model, tmp_path / "clf")
    out, cache = tmp_path / "deploy", tmp_path / "cache"
    assert citrus_main(["export", folder, "--output-dir", str(out), "--cache-dir", str(cache)]) == 0
    assert f"Wrote {out / 'model.onnx'} with config.json and preprocessor_config.json" in capsys.readouterr().out
    assert {"model.onnx", "config.json", "preprocessor_config.json"} <= {path.name for path in out.iterdir()}
    assert len(list(cache.iterdir())) == 1  # the cache holds the same export
    graph = onnx.load(str(out / "model.onnx"))
    metadata = {entry.key: entry.value for entry in graph.metadata_props}
    assert json.loads(metadata["id2label"]) == {"0": "a", "1": "b", "2": "c"}
    assert json.loads(metadata["function_to_apply"]) == "softmax"
    # the graph's opset and IR version are the ones the docs name (what onnxruntime must read)
    from citrus_hf.commands.export import ONNX_IO

    opset = next(entry.version for entry in graph.opset_import if entry.domain in ("", "ai.onnx"))
    assert opset == backends_module.ONNX_OPSET
    said = f"opset {opset} in ONNX IR version {graph.ir_version}"  # IR 10: onnxruntime 1.18 or later
    readme = re.sub(r"\s+", " ", (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8"))
    for text in (ONNX_IO, readme):
        assert said in text and "onnxruntime >= 1.18" in text
    session = onnxruntime.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [(i.name, i.type) for i in session.get_inputs()] == [
        ("input_values", "tensor(float)"),
        ("patch_mask", "tensor(int64)"),
    ]
    assert [o.name for o in session.get_outputs()] == ["logits"]
    # its auto_map names only code the folder holds (no modeling file: there is no PyTorch model to load)
    for saved in ("config.json", "preprocessor_config.json"):
        for reference in json.loads((out / saved).read_text()).get("auto_map", {}).values():
            assert (out / f"{reference.split('.')[0]}.py").is_file(), (saved, reference)
    assert "AutoConfig" in json.loads((out / "config.json").read_text())["auto_map"]
    extractor = AutoFeatureExtractor.from_pretrained(out, trust_remote_code=True)
    labels = AutoConfig.from_pretrained(out, trust_remote_code=True).id2label
    rng = np.random.default_rng(0)
    for samples in (100, 200, 60):  # 1 s (half the context), a full window, 3 patches
        recording = rng.standard_normal((2, samples)).astype(np.float32)
        features = extractor(recording, sampling_rate=100, return_tensors="np")
        (logits,) = session.run(["logits"], {key: features[key] for key in ("input_values", "patch_mask")})
        with torch.no_grad():
            expected = model(**extractor(recording, sampling_rate=100, return_tensors="pt")).logits.numpy()
        np.testing.assert_allclose(logits, expected, atol=1e-5, rtol=1e-5)
        assert labels[int(logits.argmax())] in {"a", "b", "c"}
    # a CiTrus class (or pipeline) given the deployment folder says what it is, not "no weights"
    with pytest.raises(OSError, match="is an ONNX deployment folder"):
        CiTrusForSequenceClassification.from_pretrained(out)
    # the package's own path runs short windows unpadded too, and old graphs (format 2, output "output") are not found
    assert backends_module._EXPORT_FORMAT >= 3
    short = torch.randn(3, 2, 80, generator=torch.Generator().manual_seed(0))
    onnx_path = load_backend(model, "onnxruntime", cache_dir=cache)
    torch.testing.assert_close(onnx_path(short), load_backend(model, "torch")(short), atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------------------- 8. defaults named or left out


def test_embedding_options_equal_to_the_config_find_the_same_export(tmp_path):
    model = CiTrusForPretraining(tiny_config(pooling="mean")).eval()
    left_out = onnx_export_path(model, InferenceTarget("embeddings"), tmp_path)
    for named in (
        InferenceTarget("embeddings", pooling=model.config.pooling),
        InferenceTarget("embeddings", features=model.config.head_features),
        InferenceTarget("embeddings", features=model.config.head_features, pooling="mean", channel_pooling="concat"),
    ):
        assert onnx_export_path(model, named, tmp_path) == left_out
    assert onnx_export_path(model, InferenceTarget("embeddings", pooling="max"), tmp_path) != left_out


# ------------------------------------------------------------------------------- 9. concurrent first calls


class _SlowPath(InferenceBackend):
    """A path of constant outputs whose calls take real time (so that threads overlap) and a fixed cost on a fake
    clock (so that the race has one winner)."""

    def __init__(self, name: str, value: float, cost: float, now: list[float]):
        super().__init__(None, InferenceTarget())
        self.name, self.value, self.cost, self.now = name, value, cost, now

    def __call__(self, input_values, patch_mask=None):
        time.sleep(0.01)
        self.now[0] += self.cost
        return torch.full((len(input_values), 3), self.value)


def test_concurrent_first_calls_name_the_path_that_computed_them():
    now = [0.0]
    onnx, reference = _SlowPath("onnxruntime", 2.0, 1.0, now), _SlowPath("torch", 1.0, 1.2, now)
    auto = CheckedBackend([Contender(onnx, lambda a, b: True, "differs")], reference, clock=lambda: now[0])
    values = {"onnxruntime": 2.0, "torch": 1.0}

    def call(_):
        output = auto(torch.zeros(4, 1, 200))
        return float(output[0, 0]), auto.name

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(call, range(12)))
    results += [call(None) for _ in range(3)]
    assert all(values[name] == value for value, name in results), results
    assert {name for _, name in results} == {"onnxruntime"}  # the first calls too, not only the later ones


def test_a_pipelines_backend_is_built_once_under_concurrent_first_calls(monkeypatch):
    model = _classifier()
    built = []

    def slow_build(model, backend, target, cache_dir=None):
        built.append(backend)
        time.sleep(0.05)
        return TorchBackend(model, target)

    monkeypatch.setattr(backends_module, "load_backend", slow_build)
    cache: dict = {}
    start = threading.Barrier(4)

    def first_call(_):
        start.wait()
        return cached_backend(model, "auto", InferenceTarget(), cache=cache)

    with ThreadPoolExecutor(4) as pool:
        runners = list(pool.map(first_call, range(4)))
    assert len(built) == 1 and all(runner is runners[0] for runner in runners)


# ------------------------------------------------------------------------------------ 10. where the cache lives


def test_the_default_onnx_cache_follows_hf_home_and_xdg_cache_home(monkeypatch, tmp_path):
    for variable in ("CITRUS_HF_ONNX_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(variable, raising=False)
    assert onnx_cache_dir() == Path.home() / ".cache" / "citrus_hf" / "onnx"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert onnx_cache_dir() == tmp_path / "xdg" / "citrus_hf" / "onnx"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert onnx_cache_dir() == tmp_path / "hf" / "citrus_hf" / "onnx"
    monkeypatch.setenv("CITRUS_HF_ONNX_CACHE", str(tmp_path / "own"))
    assert onnx_cache_dir() == tmp_path / "own"
    assert onnx_cache_dir(tmp_path / "given") == tmp_path / "given"


@needs_onnx
def test_an_exported_multi_label_classifier_says_its_logits_take_a_sigmoid(tmp_path):
    """A deployment folder's model.onnx carried id2label only: an ONNX-only consumer of a multi-label classifier
    (whose config.json's problem_type says it) had nothing in the graph saying that its logits take a sigmoid each, and
    argmax of them (the README's single-label snippet) names one label where several hold. The metadata says
    `function_to_apply` as the pipelines apply it."""
    import onnx

    torch.manual_seed(0)
    config = tiny_config(num_channels=2, num_labels=3, problem_type="multi_label_classification", **LABELS)
    folder = _save(CiTrusForSequenceClassification(config).eval(), tmp_path / "multi")
    out = tmp_path / "deploy"
    assert citrus_main(["export", folder, "--output-dir", str(out), "--cache-dir", str(tmp_path / "cache")]) == 0
    metadata = {entry.key: entry.value for entry in onnx.load(str(out / "model.onnx")).metadata_props}
    assert json.loads(metadata["function_to_apply"]) == "sigmoid"
