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
    from citrus_hf.data import get_dataset_spec, get_source, list_datasets
    from citrus_hf.data.registry import DatasetSpec

    specs = list_datasets()
    assert len(set(specs)) == len(specs)
    spec = get_dataset_spec("basic_motions")
    assert hash(copy.deepcopy(spec)) == hash(spec)
    assert get_dataset_spec(spec) is spec
    source = get_source(spec.sources[0])
    assert get_source(source) is source  # (a source hashed, but was "Unknown source Source(name=...)")
    # equal specs hash alike; `defaults` still counts in `==`
    changed = DatasetSpec(**{**spec.__dict__, "defaults": {**spec.defaults, "window_seconds": 1.0}})
    assert changed != spec


def test_build_dataset_takes_a_spec_of_list_datasets(offline_archives_cached, datasets_cache):
    from citrus_hf.data import build_dataset, get_dataset_spec

    built = build_dataset(get_dataset_spec("basic_motions"), cache_dir=datasets_cache)
    assert built["train"].num_rows == build_dataset("basic_motions", cache_dir=datasets_cache)["train"].num_rows


def test_a_feature_extractor_equals_its_copy_its_pickle_and_its_saved_self(tmp_path):
    """Extractors compared by identity: an extractor never equalled its own copy or `from_pretrained` of its folder,
    while `CiTrusFusionProcessor`, which holds extractors, compares their settings."""
    extractor = CiTrusFeatureExtractor.from_config(tiny_config(num_channels=2, channel_names=["Fz", "Cz"]))
    extractor.save_pretrained(tmp_path)
    for twin in (
        *_round_trips(extractor).values(),
        copy.copy(extractor),
        CiTrusFeatureExtractor.from_pretrained(tmp_path),
    ):
        assert twin == extractor
    assert extractor != CiTrusFeatureExtractor.from_config(tiny_config(num_channels=2, sampling_rate=50.0))
    assert extractor != extractor.to_dict()


def test_a_ridge_read_out_equals_its_copy_and_differs_from_another():
    """The dataclass's `==` compared tuples of arrays: numpy's "The truth value of an array with more than one element
    is ambiguous" (synthetic features: the read-out's maths, not a data claim)."""
    from citrus_hf.training.probe import fit_ridge

    rng = np.random.default_rng(0)
    readout = fit_ridge(rng.standard_normal((12, 5)), rng.standard_normal(12))
    for twin in _round_trips(readout).values():
        assert twin == readout
    assert readout != fit_ridge(rng.standard_normal((12, 5)), rng.standard_normal(12))


def test_the_prior_arm_equals_its_copy_as_the_other_arms_do():
    """Every other registered arm is a dataclass (its copy equals it, it prints its settings); the prior compared by
    identity and printed as `<... object at 0x...>`."""
    from citrus_hf.evaluation import ARMS

    for name, arm in ARMS.items():
        for how, twin in _round_trips(arm).items():
            assert twin == arm, (name, how)
    assert repr(ARMS["prior"]) == "PriorArm()"


def test_training_results_print_their_growing_records_as_counts(tmp_path):
    """`result = finetune(args); result` printed every evaluation (about 300 characters each, every 10 steps by
    default) and `pretrain`'s result every logged loss: tens of kilobytes in a notebook. The evaluation protocol's
    result prints short already (audit 67)."""
    from citrus_hf.training import FinetuneResult, PretrainResult

    evaluation = {"epoch": 1.0, "eval_loss": 0.5, "eval_accuracy": 0.75, "eval_macro_f1": 0.7, "eval_runtime": 0.1}
    history = [{"step": 10 * step, **evaluation} for step in range(200)]
    finetuned = FinetuneResult(
        output_dir=str(tmp_path), task="classification", recipe="finetune", test_metrics={"accuracy": 0.75},
        validation_metrics={"accuracy": 0.8}, num_train=8, num_validation=8, num_test=40, best_step=1990,
        steps=2000, history=history, seconds=12.0,
    )  # fmt: skip
    losses = [(step, 0.5) for step in range(1000)]
    pretrained = PretrainResult(
        output_dir=str(tmp_path), steps=1000, completed=True, final_loss=0.5, eval_losses=losses, num_train_windows=10,
        world_size=1, seconds=60.0, train_losses=losses, eval_baseline_losses=losses,
    )  # fmt: skip
    for result, counts in ((finetuned, ("history=<200 entries>",)), (pretrained, ("train_losses=<1000 entries>",))):
        text = repr(result)
        assert len(text) < 1000, text[:200]
        assert all(count in text for count in counts) and "test_metrics={'accuracy': 0.75}" in repr(finetuned)
    assert pickle.loads(pickle.dumps(finetuned)) == finetuned  # the records themselves are kept
    assert "history=[]" in repr(FinetuneResult(**{**finetuned.__dict__, "history": []}))


def test_a_protocol_config_of_paths_is_the_one_of_their_names(tmp_path):
    """`ProtocolConfig(checkpoints={arm: Path(...)})` ran every fit and then failed writing the report ("Object of
    type PosixPath is not JSON serializable"); a per-set setting keyed by a Path never matched its set, named by its
    string; and a config of Paths compared unequal to the same one read back from protocol.json."""
    import dataclasses
    import json
    from pathlib import Path

    from citrus_hf import bundled_checkpoint
    from citrus_hf.evaluation import ProtocolConfig

    folder = Path(bundled_checkpoint("citrus-small"))
    given = dict(arms=["citrus-small", "prior"], datasets=["basic_motions"], seeds=[0])
    as_paths = ProtocolConfig(
        output_dir=tmp_path / "out", checkpoints={"citrus-small": folder}, model_config=folder,
        alignment={Path("basic_motions"): "interpolate"}, **given,
    )  # fmt: skip
    as_names = ProtocolConfig(
        output_dir=str(tmp_path / "out"), checkpoints={"citrus-small": str(folder)}, model_config=str(folder),
        alignment={"basic_motions": "interpolate"}, **given,
    )  # fmt: skip
    assert as_paths == as_names
    assert ProtocolConfig(**json.loads(json.dumps(dataclasses.asdict(as_paths)))) == as_paths


def test_recipes_print_their_names_and_settings():
    """`print(RECIPES)` showed `<citrus_hf.training.recipes.ProbeRecipe object at 0x7f...>` for each recipe."""
    from citrus_hf.training.recipes import RECIPES, FinetuneRecipe

    assert repr(RECIPES["probe"]) == "ProbeRecipe(name='probe')"

    class Patient(FinetuneRecipe):
        name = "patient"

        def __init__(self, patience: int = 9):
            self.patience = patience

    assert repr(pickle.loads(pickle.dumps(RECIPES["probe-finetune"]))) == "ProbeFinetuneRecipe(name='probe-finetune')"
    assert repr(Patient()).endswith("Patient(name='patient', patience=9)")
