"""Audit 73, a review of the Hub round's commits (tests/test_hub3_audit73.py, tests/hub/test_hub_hub3_audit73.py):
`citrus predict` of a bundled checkpoint asked the Hub for it; offline, a fusion checkpoint's missing extractor and a
single-modality one's missing processor were said to be "never downloaded", with transformers' resolved-revision
object in the message; an adapter re-recorded on a base of its own (`push_adapter(base_model=...)`) was warned of as
put on the root of that base's repository."""

from __future__ import annotations

import shutil

import pytest
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification


def test_predict_of_a_bundled_checkpoint_asks_the_hub_nothing(monkeypatch):
    """`citrus predict citrus-small ...` looked the name up as a Hub id ("citrus-small/resolve/main/config.json")
    before the pipeline took it for the bundled checkpoint: online, a request to huggingface.co and a logged "Name or
    service not known" without a network (and the waits of huggingface_hub's retries)."""
    import transformers.utils

    from citrus_hf.commands.predict import _check_model_type

    asked = []

    def cached_file(name, filename, **kwargs):
        asked.append(name)
        return None

    monkeypatch.setattr(transformers.utils, "cached_file", cached_file)
    _check_model_type("citrus-small", None)
    assert asked == []


def _cache(root, repo: str, folder) -> None:
    """A Hub cache under `root` holding the JSON files of `folder` as the repository `repo` at its main branch (as the
    loaders of its config and of what the model or its pipeline read leave it)."""
    cached = root / f"models--{repo.replace('/', '--')}"
    snapshot = cached / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (cached / "refs").mkdir()
    (cached / "refs" / "main").write_text("a" * 40)
    for file in folder.glob("*.json"):
        shutil.copy(file, snapshot / file.name)


@pytest.fixture
def cached_checkpoints(tmp_path):
    """An offline Hub cache holding a single-modality classifier's config.json and preprocessor_config.json
    ("owner/single") and a fusion classifier's config.json and processor_config.json ("owner/fusion")."""
    from citrus_hf import CiTrusConfig, CiTrusFusionConfig, CiTrusFusionForSequenceClassification, CiTrusFusionProcessor

    config = tiny_config(num_labels=2)
    CiTrusForSequenceClassification(config).config.save_pretrained(tmp_path / "single")
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "single")
    eda = CiTrusConfig(
        **{**tiny_config().to_diff_dict(), "sampling_rate": 20.0, "context_length": 80, "patch_length": 10}
    )
    fusion = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": eda})
    CiTrusFusionForSequenceClassification(fusion).config.save_pretrained(tmp_path / "fusion")
    CiTrusFusionProcessor.from_config(fusion).save_pretrained(tmp_path / "fusion")
    (tmp_path / "config_only").mkdir()
    shutil.copy(tmp_path / "single" / "config.json", tmp_path / "config_only")
    cache = tmp_path / "cache"
    for repo, folder in (("owner/single", "single"), ("owner/fusion", "fusion"), ("owner/config-only", "config_only")):
        _cache(cache, repo, tmp_path / folder)
    return cache


def test_offline_the_wrong_preprocessor_of_a_cached_checkpoint_is_not_called_never_downloaded(cached_checkpoints):
    """Offline, `CiTrusFeatureExtractor.from_pretrained` of a fusion checkpoint (which has no preprocessor_config.json)
    and `CiTrusFusionProcessor.from_pretrained` of a single-modality one (no processor_config.json), both cached, said
    the file "was never downloaded" and advised `snapshot_download`, which cannot help; they said (and say again) which
    kind of checkpoint it is and what loads it."""
    from citrus_hf import CiTrusFusionProcessor

    offline = {"cache_dir": cached_checkpoints, "local_files_only": True}
    with pytest.raises(OSError) as raised:
        CiTrusFeatureExtractor.from_pretrained("owner/fusion", **offline)
    assert "is a CiTrus fusion checkpoint" in str(raised.value) and "never downloaded" not in str(raised.value)
    with pytest.raises(OSError) as raised:
        CiTrusFusionProcessor.from_pretrained("owner/single", **offline)
    assert "single-modality checkpoint" in str(raised.value) and "never downloaded" not in str(raised.value)


def test_an_uncached_extractor_s_message_names_the_revision_as_given(cached_checkpoints):
    """The "never downloaded" message of `CiTrusFeatureExtractor.from_pretrained` showed transformers' resolved
    revision object: "(revision ResolvedRevision(initial='main', resolved='aaaa...'))"."""
    with pytest.raises(OSError) as raised:
        CiTrusFeatureExtractor.from_pretrained(
            "owner/config-only", cache_dir=cached_checkpoints, local_files_only=True, revision="main"
        )
    assert "never downloaded" in str(raised.value), raised.value
    assert "ResolvedRevision" not in str(raised.value) and "(revision 'main')" in str(raised.value), raised.value


def test_an_adapter_recorded_on_a_base_of_its_own_is_not_warned_of_as_on_a_subfolder(tmp_path, caplog):
    """An adapter trained on a base from a Hub repository's subfolder and saved recording another base
    (`push_adapter(..., base_model="owner/ecg-base")`, `citrus push --base-model`: the base published in a repository
    of its own, as the warning advises) was still warned of as put on the root of "owner/ecg-base"."""
    from citrus_hf.training.lora import apply_lora, save_adapter

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    # as `from_pretrained("owner/two-checkpoints", subfolder="ecg")` records where it was read from
    model.config._name_or_path = model.name_or_path = "owner/two-checkpoints"
    model._hub_source = {"revision": "0" * 40, "cache_dir": str(tmp_path), "subfolder": "ecg"}
    peft_model = apply_lora(model, r=2, verbose=False)
    peft_model.peft_config["default"].base_model_name_or_path = "owner/ecg-base"  # as push_adapter records it
    with caplog.at_level("WARNING", logger="citrus_hf.training.lora"):
        save_adapter(peft_model, tmp_path / "adapter")
    assert "subfolder" not in caplog.text, caplog.text
