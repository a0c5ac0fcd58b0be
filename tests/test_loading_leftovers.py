"""The loading-strictness gaps left after the loading audit (/work/audit/loading.md, verify3.md), one test per gap:
a checkpoint saved with `save_pretrained` and then damaged is refused with the package's error naming the field or
tensor and the fix, or (where users edit files by hand on purpose) loaded with one warning saying what was done.

One tiny classifier is saved per module; each test copies it and damages the copy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from tiny_configs import tiny_config
from transformers import AutoConfig, AutoFeatureExtractor, AutoModelForSequenceClassification, AutoProcessor

from citrus_hf import CiTrusConfig, CiTrusForSequenceClassification, CiTrusModel
from citrus_hf.configuration_citrus import CONFIG_DTYPES
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.loading import load_feature_extractor

LABELS = {0: "rest", 1: "walk", 2: "run"}


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    config = tiny_config(id2label=LABELS, label2id={name: index for index, name in LABELS.items()})
    folder = tmp_path_factory.mktemp("classifier")
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    return folder


@pytest.fixture
def copy(saved, tmp_path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / "checkpoint"))


def _edit_json(path: Path, edit) -> None:
    values = json.loads(path.read_text())
    edit(values)
    path.write_text(json.dumps(values))


def _warnings(caplog, text: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if text in record.getMessage()]


# ---------------------------------------------------------------------------- 1. integer tensors in model.safetensors


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_integer_weights_are_refused_naming_the_tensor_and_its_stored_dtype(copy, dtype):
    weights = load_file(copy / "model.safetensors")
    name = "citrus.encoder.final_norm.norm.weight"
    weights[name] = weights[name].round().to(dtype)
    save_file(weights, copy / "model.safetensors", metadata={"format": "pt"})
    stored = str(dtype).removeprefix("torch.")
    for load in (CiTrusForSequenceClassification.from_pretrained, CiTrusModel.from_pretrained):
        with pytest.raises(
            ValueError,
            match=rf"stores 1 of the model's floating-point weights as integers.*{name} "
            rf"\({stored}\).*save the model again",
        ):
            load(copy)


def test_integer_weights_in_one_shard_of_a_sharded_checkpoint_are_refused(saved, tmp_path):
    model = CiTrusForSequenceClassification.from_pretrained(saved)
    model.save_pretrained(tmp_path, max_shard_size="5KB")
    shards = sorted(tmp_path.glob("model-*.safetensors"))
    assert len(shards) > 1
    weights = load_file(shards[-1])
    name = sorted(weights)[0]
    weights[name] = weights[name].to(torch.int64)
    save_file(weights, shards[-1], metadata={"format": "pt"})
    with pytest.raises(ValueError, match=rf"{name} \(int64\)"):
        AutoModelForSequenceClassification.from_pretrained(tmp_path)


def test_integer_weights_given_as_a_state_dict_are_refused(saved):
    model = CiTrusForSequenceClassification.from_pretrained(saved)
    state_dict = {key: value.clone() for key, value in model.state_dict().items()}
    state_dict["classifier.bias"] = state_dict["classifier.bias"].to(torch.int64)
    with pytest.raises(ValueError, match=r"The `state_dict` given stores 1 .*classifier.bias \(int64\)"):
        CiTrusForSequenceClassification.from_pretrained(None, config=model.config, state_dict=state_dict)


# ------------------------------------------------------------------ 2. preprocessor_config.json without its contract


@pytest.mark.parametrize("field", CiTrusFeatureExtractor.saved_contract_fields)
def test_an_extractor_file_without_a_contract_field_is_refused(copy, field):
    _edit_json(copy / "preprocessor_config.json", lambda values: values.pop(field))
    for load in (CiTrusFeatureExtractor.from_pretrained, AutoFeatureExtractor.from_pretrained, load_feature_extractor):
        with pytest.raises(ValueError, match=rf"preprocessor_config.json has no \['{field}'\].*{field}=\.\.\."):
            load(copy)


def test_a_missing_contract_field_given_by_the_caller_is_used(copy):
    _edit_json(copy / "preprocessor_config.json", lambda values: values.pop("sampling_rate"))
    for load in (CiTrusFeatureExtractor.from_pretrained, AutoFeatureExtractor.from_pretrained):
        assert load(copy, sampling_rate=250).sampling_rate == 250.0


def test_a_json_list_in_the_extractor_file_is_named(copy):
    (copy / "preprocessor_config.json").write_text("[1, 2]")
    for load in (
        CiTrusFeatureExtractor.from_pretrained,
        AutoFeatureExtractor.from_pretrained,
        AutoProcessor.from_pretrained,
    ):
        with pytest.raises(ValueError, match=r"preprocessor_config.json holds a JSON list.*save the feature extractor"):
            load(copy)


# --------------------------------------------------------------------- 3. unknown keys in preprocessor_config.json


def test_an_unknown_extractor_key_is_named_once_with_the_closest_setting(copy, caplog):
    _edit_json(copy / "preprocessor_config.json", lambda values: values.update(alignmnet="window", colour="red"))
    with caplog.at_level("WARNING"):
        extractor = CiTrusFeatureExtractor.from_pretrained(copy)
    (message,) = _warnings(caplog, "does not know")
    assert "'alignmnet' (did you mean 'alignment'?)" in message and "'colour'" in message
    assert extractor.alignment == "resample"


def test_keys_transformers_writes_are_not_unknown(copy, caplog):
    _edit_json(copy / "preprocessor_config.json", lambda values: values.update(processor_class="SomeProcessor"))
    with caplog.at_level("WARNING"):
        AutoFeatureExtractor.from_pretrained(copy)
    saved = json.loads((copy / "preprocessor_config.json").read_text())
    assert {"auto_map", "feature_extractor_type", "processor_class"} <= set(saved)
    assert not _warnings(caplog, "does not know")


def test_a_misspelt_contract_field_is_named_in_the_refusal(copy):
    _edit_json(
        copy / "preprocessor_config.json", lambda values: values.update(sampling_rte=values.pop("sampling_rate"))
    )
    with pytest.raises(ValueError, match=r"no \['sampling_rate'\].*'sampling_rte' \(did you mean 'sampling_rate'\?\)"):
        CiTrusFeatureExtractor.from_pretrained(copy)


# ------------------------------------------------------------------------------- 4. dtype / torch_dtype nonsense


@pytest.mark.parametrize("field", ["dtype", "torch_dtype"])
@pytest.mark.parametrize("value", ["float128", "int64", "auto"])
def test_a_config_dtype_of_no_float_type_is_refused_naming_field_value_and_choices(copy, field, value):
    def edit(values):
        values.pop("dtype", None)
        values[field] = value

    _edit_json(copy / "config.json", edit)
    choices = ", ".join(map(repr, CONFIG_DTYPES))
    for load in (
        CiTrusConfig.from_pretrained,
        AutoConfig.from_pretrained,
        CiTrusForSequenceClassification.from_pretrained,
    ):
        with pytest.raises(ValueError, match=rf"`{field}='{value}'` .*use one of {choices}, or remove `{field}`"):
            load(copy)


def test_a_config_dtype_of_a_float_type_still_loads(copy):
    _edit_json(copy / "config.json", lambda values: values.update(dtype="bfloat16"))
    assert CiTrusForSequenceClassification.from_pretrained(copy).dtype == torch.bfloat16
    assert CiTrusConfig(dtype=torch.float16).dtype == torch.float16


@pytest.mark.parametrize("field", ["dtype", "torch_dtype"])
def test_the_auto_dtype_keyword_keeps_the_saved_dtype_and_saves_a_config_that_reads_back(copy, tmp_path, field):
    _edit_json(copy / "config.json", lambda values: values.update(dtype="bfloat16"))
    config = AutoConfig.from_pretrained(copy, **{field: "auto"})
    assert config.dtype == torch.bfloat16
    config.save_pretrained(tmp_path / "saved")
    assert AutoConfig.from_pretrained(tmp_path / "saved").dtype == torch.bfloat16


# --------------------------------------------------------------------------- 5. id2label and label2id that disagree


def test_a_stale_label2id_is_rebuilt_from_id2label_with_one_warning(copy, caplog):
    names = {"0": "sit", "1": "walk", "2": "run"}  # id2label edited by hand, label2id left as it was
    _edit_json(copy / "config.json", lambda values: values.update(id2label=names))
    with caplog.at_level("WARNING"):
        model = CiTrusForSequenceClassification.from_pretrained(copy)
    (message,) = _warnings(caplog, "`label2id` disagrees with `id2label`")
    assert "stale entries {'rest': 0}" in message and "no entry for ['sit']" in message and "wins" in message
    assert model.config.label2id == {"sit": 0, "walk": 1, "run": 2}
    assert model.config.id2label == {0: "sit", 1: "walk", 2: "run"}


def test_an_id2label_keyword_on_load_rebuilds_the_saved_label2id(saved, caplog):
    with caplog.at_level("WARNING"):
        config = CiTrusConfig.from_pretrained(saved, id2label={0: "run", 1: "walk", 2: "rest"})
    (message,) = _warnings(caplog, "`label2id` disagrees with `id2label`")
    assert "'rest': 0" in message and "'run': 2" in message
    assert config.label2id == {"run": 0, "walk": 1, "rest": 2}


def test_matching_label_maps_load_without_a_warning(saved, caplog):
    with caplog.at_level("WARNING"):
        config = CiTrusConfig.from_pretrained(saved, label2id={"rest": "0", "walk": "1", "run": "2"})
    assert not _warnings(caplog, "label2id")
    assert config.id2label == LABELS


def test_transformers_placeholder_label2id_is_rebuilt_without_a_warning(tmp_path, caplog):
    """`from_pretrained(encoder, num_labels=3, id2label=...)` leaves transformers' placeholders ("LABEL_0": 0, ...) in
    `label2id`: rebuilt from `id2label` without telling the user about entries they never wrote."""
    CiTrusModel(tiny_config()).save_pretrained(tmp_path)
    names = {0: "run", 1: "walk", 2: "rest"}
    with caplog.at_level("WARNING"):
        model = CiTrusForSequenceClassification.from_pretrained(tmp_path, num_labels=3, id2label=names)
    assert model.config.label2id == {"run": 0, "walk": 1, "rest": 2}
    assert not _warnings(caplog, "`label2id` disagrees with `id2label`")


def test_a_subfolder_the_folder_lacks_is_named_and_one_it_has_loads(saved, tmp_path):
    """`from_pretrained(folder, subfolder="x")` without that subfolder said the folder held "a None checkpoint (saved as
    None)" (its config was looked up in the missing subfolder)."""
    with pytest.raises(OSError, match=r"has no subfolder 'x'; it has no subfolders: pass one"):
        CiTrusForSequenceClassification.from_pretrained(saved, subfolder="x")
    shutil.copytree(saved, tmp_path / "repo" / "classifier")
    with pytest.raises(OSError, match=r"has no subfolder 'x' \(its subfolders: \['classifier'\]\)"):
        CiTrusModel.from_pretrained(tmp_path / "repo", subfolder="x")
    loaded = CiTrusForSequenceClassification.from_pretrained(tmp_path / "repo", subfolder="classifier")
    assert loaded.config.id2label == LABELS
    # the extractor and the config of a bundled checkpoint said the Hub did not answer
    for loader in (CiTrusFeatureExtractor, CiTrusConfig):
        with pytest.raises(OSError, match=r"citrus-small' has no subfolder 'x'; it has no subfolders"):
            loader.from_pretrained("citrus-small", subfolder="x")
        with pytest.raises(OSError, match=r"has no subfolder 'x' \(its subfolders: \['classifier'\]\)"):
            loader.from_pretrained(tmp_path / "repo", subfolder="x")
