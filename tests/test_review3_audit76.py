"""Review of audit 76's loading messages: importing citrus_hf leaves transformers' Auto classes saying what
transformers says of a checkpoint nothing tells to be a CiTrus one (offline, a Hub id the cache holds nothing of, or a
config.json of another model). Tiny files, no network."""

from __future__ import annotations

import json

import pytest
from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoModelForSequenceClassification


@pytest.mark.parametrize(
    "auto_class, transformers_says",
    [
        (AutoModel, "We couldn't connect to 'https://huggingface.co'"),
        (AutoModelForSequenceClassification, "We couldn't connect to 'https://huggingface.co'"),
        (AutoConfig, "We couldn't connect to 'https://huggingface.co'"),
        (AutoFeatureExtractor, "Can't load feature extractor for 'google-bert/bert-base-uncased'"),
    ],
)
def test_offline_an_auto_class_keeps_transformers_error_for_an_id_the_cache_holds_nothing_of(
    auto_class, transformers_says, tmp_path
):
    """Offline, `AutoModel.from_pretrained("google-bert/bert-base-uncased")` (any id the cache holds nothing of) gave,
    once citrus_hf was imported, the package's line advising a `snapshot_download` of the whole repository (every
    weight format of another library's model) and a pipeline's `feature_extractor=`: nothing tells such an id to be a
    CiTrus checkpoint, so the Auto classes keep transformers' own error, as without the package."""
    import citrus_hf  # noqa: F401  (the Auto classes are wrapped on import)

    with pytest.raises(OSError) as raised:
        auto_class.from_pretrained("google-bert/bert-base-uncased", cache_dir=tmp_path, local_files_only=True)
    said = str(raised.value)
    assert said.startswith(transformers_says), said
    assert "snapshot_download" not in said and "The Hub cache holds no" not in said, said


def _cached_repository(cache, repo_id: str, files: dict[str, dict]) -> None:
    """Put `files` (name: JSON contents) in the Hub cache `cache` as the snapshot of `repo_id`'s main branch, as a
    download of those files alone leaves them."""
    repository = cache / f"models--{repo_id.replace('/', '--')}"
    commit = "0" * 40
    snapshot = repository / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repository / "refs").mkdir()
    (repository / "refs" / "main").write_text(commit)
    for name, contents in files.items():
        (snapshot / name).write_text(json.dumps(contents))


def test_offline_auto_feature_extractor_keeps_transformers_error_for_another_models_cached_config(tmp_path):
    """Offline, `AutoFeatureExtractor.from_pretrained` of another model's Hub id whose config.json alone is cached
    (as `AutoModel` leaves a model's cache) was told, once citrus_hf was imported, the package's line about CiTrus
    checkpoints' cached files; it keeps transformers' error, as without the package. A CiTrus checkpoint's still
    gets the package's line."""
    import citrus_hf  # noqa: F401

    cache = tmp_path / "cache"
    _cached_repository(cache, "someone/bert", {"config.json": {"model_type": "bert"}})
    with pytest.raises(OSError) as raised:
        AutoFeatureExtractor.from_pretrained("someone/bert", cache_dir=cache, local_files_only=True)
    assert "The Hub cache holds no" not in str(raised.value), str(raised.value)

    _cached_repository(cache, "someone/citrus", {"config.json": {"model_type": "citrus"}})
    with pytest.raises(OSError, match=r"^The Hub cache holds no preprocessor_config.json of 'someone/citrus'"):
        AutoFeatureExtractor.from_pretrained("someone/citrus", cache_dir=cache, local_files_only=True)


def test_offline_citrus_feature_extractor_does_not_say_the_hub_did_not_answer(tmp_path, monkeypatch):
    """Offline (HF_HUB_OFFLINE=1), `CiTrusFeatureExtractor.from_pretrained("ckpt")` of a name that is no folder and
    no 'owner/name' id (a mistyped folder, a legacy id without an owner) was told "the Hub did not answer. Check the
    network connection", a Hub offline mode never asked; it keeps transformers' error, as the model classes do."""
    import huggingface_hub

    from citrus_hf import CiTrusFeatureExtractor

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(OSError) as raised:
        CiTrusFeatureExtractor.from_pretrained("no-such-checkpoint", cache_dir=tmp_path)
    assert "did not answer" not in str(raised.value), str(raised.value)
