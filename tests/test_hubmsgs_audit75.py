"""Audit 75, Hub and loading messages: offline, a file left out of a `snapshot_download(allow_patterns=...)` snapshot
is no longer said only to be "never downloaded"; messages name a revision only where one was typed; `dtype` and
`torch_dtype` that disagree are refused by `from_encoders`; a float32 head beside a bf16 body stays float32 when the
weights come as `state_dict=` (pickled .bin files stay refused, with the fix named); a model loaded as a checkpoint's
remote code (no package) and saved again carries the pipeline code its config names. Offline Hub caches are built by
hand, as huggingface_hub lays them out."""

from __future__ import annotations

import os
import shutil
import sys

import pytest
import torch
from test_fusionrc_audit74 import saved_fusion
from tiny_configs import tiny_config

from citrus_hf import (
    CiTrusConfig,
    CiTrusFeatureExtractor,
    CiTrusForSequenceClassification,
    CiTrusFusionForSequenceClassification,
    CiTrusModel,
)
from citrus_hf.loading import resolve_checkpoint

COMMIT = "a" * 40


def _cache(root, repo: str, folder, patterns: tuple[str, ...]) -> None:
    """A Hub cache under `root` holding the files of `folder` that match `patterns` as the repository `repo` at its
    main branch: what `snapshot_download(repo, allow_patterns=patterns)` leaves (no .gitattributes, no record of the
    files it left out)."""
    cached = root / f"models--{repo.replace('/', '--')}"
    snapshot = cached / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (cached / "refs").mkdir()
    (cached / "refs" / "main").write_text(COMMIT)
    for pattern in patterns:
        for file in folder.glob(pattern):
            shutil.copy(file, snapshot / file.name)


@pytest.fixture
def offline_cache(tmp_path):
    """An offline Hub cache holding "owner/patterns", a classifier's config.json and weights as an
    `allow_patterns=["*.json", "*.safetensors"]` snapshot of a repository without an extractor, and "owner/broken",
    whose config.json is not JSON, and "owner/config-only", whose weights were never fetched (`AutoConfig` alone); the
    `from_pretrained` keywords that read it offline."""
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path / "model")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    _cache(tmp_path / "cache", "owner/patterns", tmp_path / "model", ("*.json", "*.safetensors"))
    _cache(tmp_path / "cache", "owner/broken", tmp_path / "broken", ("*.json",))
    _cache(tmp_path / "cache", "owner/config-only", tmp_path / "model", ("config.json",))
    return {"cache_dir": tmp_path / "cache", "local_files_only": True}


def test_an_extractor_missing_from_an_allow_patterns_snapshot_is_described_as_it_is(offline_cache):
    """Offline, the extractor of a repository fetched by `snapshot_download(repo, allow_patterns=[...])` was said to be
    "never downloaded" because `AutoModel.from_pretrained` fetches only the config and weights: neither is what
    happened, and the repository may have none. The message names the patterns as the other cause, says the
    repository may have none, and asks for the whole repository (without allow_patterns)."""
    with pytest.raises(OSError) as raised:
        CiTrusFeatureExtractor.from_pretrained("owner/patterns", **offline_cache)
    said = str(raised.value)
    assert "holds no preprocessor_config.json of 'owner/patterns'" in said, said
    assert "allow_patterns" in said and "or the repository has none" in said, said
    assert "snapshot_download('owner/patterns')" in said, said


def test_weights_the_offline_cache_never_held_are_not_called_corrupt(offline_cache):
    """Offline, a model class given a Hub checkpoint whose config.json alone is cached said "does not appear to have a
    file named model.safetensors ... Please do not set `use_safetensors=True`. The model.safetensors file is corrupt or
    truncated": an option the user never set, and a file that is not there. It says the cache never held the weights,
    as `load_pretrained` does."""
    with pytest.raises(OSError) as raised:
        CiTrusForSequenceClassification.from_pretrained("owner/config-only", **offline_cache)
    said = str(raised.value)
    assert said.startswith("The Hub cache holds no model.safetensors of 'owner/config-only', and offline"), said
    assert "corrupt" not in said and "use_safetensors" not in said, said


def test_messages_name_no_revision_where_none_was_typed(offline_cache):
    """transformers' `from_pretrained` defaults to revision "main", and the package's messages named it as if typed:
    "preprocessor_config.json of 'owner/name' (revision 'main')", "config.json of 'owner/name' (revision 'main') is not
    valid JSON", and `load_pretrained`'s "Cannot load 'owner/name' (revision 'main')". A revision is named only where
    one was given."""
    with pytest.raises(OSError) as raised:
        CiTrusFeatureExtractor.from_pretrained("owner/patterns", **offline_cache)
    assert "(revision" not in str(raised.value), raised.value
    with pytest.raises(OSError) as raised:
        CiTrusConfig.from_pretrained("owner/broken", **offline_cache)
    assert "config.json of 'owner/broken' is not valid JSON" in str(raised.value), raised.value
    with pytest.raises(OSError) as raised:
        resolve_checkpoint("owner/not-cached", **offline_cache)
    assert str(raised.value).startswith("Cannot load 'owner/not-cached': offline mode is on"), raised.value
    with pytest.raises(OSError) as raised:
        resolve_checkpoint("owner/not-cached", revision="dev", **offline_cache)
    assert str(raised.value).startswith("Cannot load 'owner/not-cached' (revision 'dev'): offline"), raised.value
    with pytest.raises(OSError) as raised:
        CiTrusFeatureExtractor.from_pretrained("owner/patterns", revision="main", **offline_cache)
    assert "of 'owner/patterns' (revision 'main')" in str(raised.value), raised.value


def test_fusion_dtype_and_torch_dtype_that_disagree_are_refused():
    """`from_encoders(..., dtype=torch.bfloat16, torch_dtype=torch.float32)` built the model in bf16 and dropped the
    other without a word; the two name one option, so a disagreement is refused. The same dtype under both names is
    accepted."""
    encoders = {"ecg": CiTrusModel(tiny_config())}
    with pytest.raises(ValueError, match=r"`dtype=torch.bfloat16` and `torch_dtype=torch.float32` disagree"):
        CiTrusFusionForSequenceClassification.from_encoders(
            encoders, num_labels=2, dtype=torch.bfloat16, torch_dtype=torch.float32
        )
    with pytest.raises(ValueError, match="disagree"):
        CiTrusFusionForSequenceClassification.from_encoders(
            encoders, num_labels=2, dtype="auto", torch_dtype="bfloat16"
        )
    same = CiTrusFusionForSequenceClassification.from_encoders(
        encoders, num_labels=2, dtype="bfloat16", torch_dtype=torch.bfloat16
    )
    assert same.dtype == torch.bfloat16


def test_a_float32_head_given_as_a_state_dict_stays_float32():
    """A float32 head beside a bf16 body (a probe's folded read-out) stayed float32 when loaded in bf16 from
    safetensors files, but was rounded to bf16 when the same weights came as `from_pretrained(None, config=...,
    state_dict=...)`, the route left for weights that are not in a safetensors file. Both keep it now; pickled
    `use_safetensors=False` loads stay refused, with what to do instead."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).to(torch.bfloat16)
    model.classifier.float()
    loaded = CiTrusForSequenceClassification.from_pretrained(
        None, config=model.config, state_dict=model.state_dict(), dtype=torch.bfloat16
    )
    assert loaded.classifier.weight.dtype == torch.float32 and loaded.citrus.mask_token.dtype == torch.bfloat16
    torch.testing.assert_close(loaded.classifier.weight, model.classifier.weight, rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"leave out `use_safetensors=False`.*state_dict="):
        CiTrusForSequenceClassification.from_pretrained(None, config=model.config, use_safetensors=False)


@pytest.fixture
def remote_modules(tmp_path, monkeypatch):
    """transformers' modules cache in `tmp_path` for this test (the checkpoints' remote code is imported from there),
    and the modules it imported forgotten afterwards."""
    import transformers.dynamic_module_utils as dynamic_module_utils

    monkeypatch.setattr(dynamic_module_utils, "HF_MODULES_CACHE", str(tmp_path / "modules"))
    # A `transformers_modules` package an earlier test of this process imported from the real modules cache (which
    # transformers put on sys.path) would be found first, and the checkpoint's relative imports looked for under its
    # path: hide that cache and its modules for this test.
    monkeypatch.setattr(
        sys, "path", [path for path in sys.path if not os.path.isdir(os.path.join(path or ".", "transformers_modules"))]
    )
    for name in [name for name in sys.modules if name.startswith("transformers_modules")]:
        monkeypatch.delitem(sys.modules, name)
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("transformers_modules"):
            del sys.modules[name]


@pytest.mark.parametrize(
    ("kind", "reference"),
    [
        ("single", "modeling_citrus.CiTrusForSequenceClassification"),
        ("fusion", "modeling_citrus_fusion.CiTrusFusionForSequenceClassification"),
    ],
)
def test_a_remote_code_model_saved_again_carries_its_pipeline_code(kind, reference, tmp_path, remote_modules):
    """A model loaded as its checkpoint's remote code (`trust_remote_code=True` where citrus_hf is not installed: the
    class imported from the checkpoint's own modeling file, as here) and saved again wrote a config.json naming its
    pipeline (`custom_pipelines`) without the pipelines.py and backends.py that run it: the package's hook that copies
    them is not set in remote code. The code now comes from the checkpoint it was loaded from, single-modality and
    fusion alike (one function, `save_pipeline_code`)."""
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    folder = tmp_path / kind
    if kind == "fusion":
        saved_fusion(folder, "classifier")
    else:
        CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(folder)
    remote_class = get_class_from_dynamic_module(reference, str(folder))
    assert remote_class.__module__.startswith("transformers_modules.") and remote_class._pipeline_code_saver is None
    remote_class.from_pretrained(str(folder)).save_pretrained(tmp_path / "again")
    again = set(os.listdir(tmp_path / "again"))
    assert {"pipelines.py", "backends.py"} <= again, again
    assert (tmp_path / "again" / "pipelines.py").read_bytes() == (folder / "pipelines.py").read_bytes()
