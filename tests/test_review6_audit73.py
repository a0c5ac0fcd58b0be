"""Audit 73, a review of the Hub round's commits (tests/test_hub3_audit73.py, tests/hub/test_hub_hub3_audit73.py):
`citrus predict` of a bundled checkpoint asked the Hub for it; offline, a fusion checkpoint's missing extractor and a
single-modality one's missing processor were said to be "never downloaded", with transformers' resolved-revision
object in the message; an adapter re-recorded on a base of its own (`push_adapter(base_model=...)`) was warned of as
put on the root of that base's repository."""

from __future__ import annotations

from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification


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
