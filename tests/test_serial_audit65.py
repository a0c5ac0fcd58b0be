"""Audit 65 (what the saved files can hold): names read as bytes (h5py), numpy numbers in configs, extractors, LoRA
settings and evaluation records, a failed save that left an empty config.json, classes named by numbers warned about
at every load, and a fusion processor saved alone that made `AutoProcessor` ask to run remote code."""

from __future__ import annotations

import json
import logging
import sys

import numpy as np
import pytest
from tiny_configs import tiny_config
from transformers import AutoProcessor

from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.evaluation.records import EvalRecord, parse_eval_results
from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

RECORDING = np.random.default_rng(0).normal(size=(2, 400))


def _round_trip(saved, tmp_path):
    saved.save_pretrained(tmp_path)
    return type(saved).from_pretrained(tmp_path)


# ------------------------------------------------------------------------------------ 1. names read as bytes (h5py)


@pytest.mark.parametrize(
    "names",
    [np.array([b"Fp1", b"Fp2"]), [b"Fp1", b"Fp2"], [np.bytes_(b"Fp1"), np.bytes_(b"Fp2")]],
    ids=["bytes array", "list of bytes", "list of np.bytes_"],
)
def test_channel_names_given_as_bytes_are_their_text_in_the_config_and_the_extractor(names, tmp_path):
    """They became the text "b'Fp1'" (a recording's Fp1 was then refused as lacking it), or stayed bytes, which
    `save_pretrained` could not write."""
    config = tiny_config(num_channels=2, channel_names=names)
    assert config.channel_names == ["Fp1", "Fp2"]
    assert _round_trip(config, tmp_path / "config").channel_names == ["Fp1", "Fp2"]
    extractor = CiTrusFeatureExtractor(num_channels=2, context_length=200, channel_names=names)
    assert extractor.channel_names == ["Fp1", "Fp2"]
    assert _round_trip(extractor, tmp_path / "extractor").channel_names == ["Fp1", "Fp2"]
    extract = CiTrusFeatureExtractor.from_config(config)
    in_order = extract(RECORDING, sampling_rate=100)["input_values"]
    swapped = extract(RECORDING[::-1], sampling_rate=100, input_channel_names=["Fp2", "Fp1"])["input_values"]
    assert np.array_equal(swapped, in_order)
    # a recording's own names read from the same kind of file
    assert np.array_equal(extract(RECORDING, sampling_rate=100, input_channel_names=names)["input_values"], in_order)


def test_names_given_as_bytes_after_construction_are_their_text_too():
    config = tiny_config(num_channels=2)
    config.channel_names = np.array([b"C3", b"C4"])
    config.channel_modalities = [b"eeg", b"eeg"]
    assert (config.channel_names, config.channel_modalities) == (["C3", "C4"], ["eeg", "eeg"])
    extractor = CiTrusFeatureExtractor(num_channels=2)
    extractor.channel_names = [b"C3", b"C4"]
    assert extractor.channel_names == ["C3", "C4"]


@pytest.mark.parametrize("config_class", [CiTrusConfig, CiTrusFusionConfig])
@pytest.mark.parametrize(
    "classes",
    [
        {"id2label": np.array([b"rest", b"move"])},
        {"id2label": [b"rest", b"move"]},
        {"id2label": {0: b"rest", 1: b"move"}},
        {"label2id": {b"rest": 0, b"move": 1}},
    ],
    ids=["id2label bytes array", "id2label list", "id2label map", "label2id map"],
)
def test_class_names_given_as_bytes_are_their_text(config_class, classes, tmp_path):
    """`id2label=np.array([b"rest", ...])` named the classes "b'rest'"; a map of bytes failed `save_pretrained`."""
    extra = {"modality_configs": {"ecg": tiny_config()}} if config_class is CiTrusFusionConfig else {}
    config = config_class(**classes, **extra)
    loaded = _round_trip(config, tmp_path)
    for names in (config, loaded):
        assert names.id2label == {0: "rest", 1: "move"}
        assert names.label2id == ({"rest": 0, "move": 1} if "label2id" in classes else None)


def test_names_that_are_not_utf8_text_are_refused_naming_the_fix():
    with pytest.raises(ValueError, match=r"`channel_names` holds b'\\xb5V', bytes that are not UTF-8 text.*decode"):
        tiny_config(num_channels=1, channel_names=[b"\xb5V"])
    with pytest.raises(ValueError, match=r"`id2label` holds b'\\xff'.*pass them as strings"):
        tiny_config(id2label=np.array([b"\xff", b"a"]))
    with pytest.raises(ValueError, match=r"`channel_names` holds b'\\xb5V'"):
        CiTrusFeatureExtractor(channel_names=[b"\xb5V"])


# ------------------------------------------------------------------------------------ 2. numpy numbers in the config

MEANS = np.random.default_rng(1).normal(size=(2, 50)).astype("float32")


@pytest.mark.parametrize(
    "make",
    [
        lambda: tiny_config(
            num_channels=2,
            normalization="fixed",
            normalization_mean=list(MEANS.mean(axis=1)),
            normalization_std=list(MEANS.std(axis=1)),
        ),
        lambda: tiny_config(label2id=dict(zip(["rest", "move"], np.arange(2)))),
    ],
    ids=["normalization statistics", "label2id ids"],
)
def test_numpy_numbers_inside_config_lists_and_maps_save_and_load(make, tmp_path):
    """They were accepted, then `save_pretrained` failed on JSON and left an empty config.json (and no weights)."""
    config = make()
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path)
    assert CiTrusConfig.from_pretrained(tmp_path).to_json_string() == config.to_json_string()
    for values in (config.normalization_mean or [], config.normalization_std or [], (config.label2id or {}).values()):
        assert all(type(value) in (int, float) for value in values)


def test_numpy_numbers_assigned_after_construction_are_stored_as_python_numbers(tmp_path):
    config = tiny_config()
    config.sampling_rate, config.head_dropout = np.float32(250.0), np.float64(0.2)
    assert type(config.sampling_rate) is float and config.sampling_rate == 250.0
    assert _round_trip(config, tmp_path / "config").sampling_rate == 250.0
    extractor = CiTrusFeatureExtractor()
    extractor.sampling_rate, extractor.hop_length = np.float32(250.0), np.int64(1500)
    assert (type(extractor.sampling_rate), type(extractor.hop_length)) == (float, int)
    loaded = _round_trip(extractor, tmp_path / "extractor")
    assert (loaded.sampling_rate, loaded.hop_length) == (250.0, 1500)
    fusion = CiTrusFusionConfig(modality_configs={"ecg": tiny_config()}, label2id=dict(zip(["a", "b"], np.arange(2))))
    fusion.head_dropout = np.float32(0.25)
    loaded = _round_trip(fusion, tmp_path / "fusion")
    assert loaded.label2id == {"a": 0, "b": 1} and loaded.head_dropout == 0.25


@pytest.mark.parametrize("make", [tiny_config, CiTrusFeatureExtractor], ids=["config", "feature extractor"])
def test_a_save_that_fails_names_the_setting_and_leaves_no_empty_file(make, tmp_path):
    """transformers opened the file before it made the text: a setting JSON cannot write left a 0-byte file, which
    the next `from_pretrained` called "not a valid JSON file" (or replaced a good file with nothing)."""
    saved = make()
    saved.save_pretrained(tmp_path)
    (name,) = [path.name for path in tmp_path.iterdir() if path.suffix == ".json"]
    before = (tmp_path / name).read_text()
    saved.notes = {"windows": {1, 2}}  # a set: nothing converts it
    with pytest.raises(TypeError, match=r"cannot be saved: 'notes' holds a value JSON cannot write .*plain numbers"):
        saved.save_pretrained(tmp_path)
    assert (tmp_path / name).read_text() == before
    with pytest.raises(TypeError, match="'notes'"):
        saved.save_pretrained(tmp_path / "new")
    assert not (tmp_path / "new" / name).exists()


# ----------------------------------------------------------------------------------- 3. classes named by numbers


def test_classes_named_by_numbers_load_again_and_again_without_a_warning(tmp_path, caplog):
    """JSON writes `label2id`'s keys as text ("1"): every load warned that `label2id` disagreed with `id2label`, and
    saving again did not stop it."""
    stages = [1, 2, 3, 4, 5]
    config = tiny_config(
        id2label=dict(enumerate(stages)), label2id={stage: index for index, stage in enumerate(stages)}
    )
    with caplog.at_level(logging.WARNING):
        for generation in range(3):
            folder = tmp_path / str(generation)
            config.save_pretrained(folder)
            config = CiTrusConfig.from_pretrained(folder)
            assert config.label2id == {1: 0, 2: 1, 3: 2, 4: 3, 5: 4}
            assert config.id2label == {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}
    assert not [record for record in caplog.records if "label2id" in record.getMessage()]
    with caplog.at_level(logging.WARNING):  # a label2id that names the classes in another order still disagrees
        config = tiny_config(id2label={0: 1, 1: 2}, label2id={"2": 0, "1": 1})
    assert config.label2id == {1: 0, 2: 1}
    assert [record for record in caplog.records if "`label2id` disagrees with `id2label`" in record.getMessage()]


# ------------------------------------------------------------------------------- 4. a fusion processor saved alone


@pytest.fixture
def fusion_processor():
    config = CiTrusFusionConfig(modality_configs={"eeg": tiny_config(), "ecg": tiny_config()}, num_labels=2)
    return CiTrusFusionProcessor.from_config(config)


@pytest.fixture
def no_remote_code_question(monkeypatch):
    """Any question of transformers' about running a folder's code fails the test instead of waiting."""

    def asked(*args, **kwargs):
        raise AssertionError("AutoProcessor asked whether to run the folder's code")

    for module in [module for name, module in sys.modules.items() if name.startswith("transformers.")]:
        if callable(getattr(module, "resolve_trust_remote_code", None)):
            monkeypatch.setattr(module, "resolve_trust_remote_code", asked)


def test_auto_processor_of_a_folder_with_only_a_fusion_processor_asks_nothing(
    fusion_processor, tmp_path, no_remote_code_question
):
    """processor_config.json named no `processor_class`, so `AutoProcessor` asked "Do you wish to run the custom
    code? [y/N]" (15 s in a terminal, forever in a notebook), as it did for the single-modality extractor."""

    fusion_processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "processor_config.json").read_text())
    assert saved["processor_class"] == "CiTrusFusionProcessor"
    loaded = AutoProcessor.from_pretrained(tmp_path)
    assert isinstance(loaded, CiTrusFusionProcessor) and loaded == fusion_processor


def test_the_fusion_processor_gives_its_json_as_transformers_processors_do(fusion_processor, tmp_path):
    from citrus_hf._version import VERSION_KEY, __version__

    fusion_processor.save_pretrained(tmp_path)
    text = fusion_processor.to_json_string()
    saved = (tmp_path / "processor_config.json").read_text()
    # the file holds the same settings plus the record of the citrus-hf that wrote it (a52bbdb), as config.json and
    # preprocessor_config.json do; no dict of the object holds that record
    assert json.loads(saved) == {**json.loads(text), VERSION_KEY: __version__}
    assert json.loads(text) == fusion_processor.to_dict()
    fusion_processor.to_json_file(tmp_path / "copy.json")
    assert (tmp_path / "copy.json").read_text() == saved


# ------------------------------------------------------------------------------------- 5. numpy LoRA settings


def test_apply_lora_takes_numpy_numbers_and_the_adapter_saves(tmp_path):
    """`alpha=np.float32(8)` was taken, then `save_adapter` failed on JSON and left an empty folder;
    `r=np.int64(4)` was refused as "must be a positive integer"."""
    from citrus_hf.training.lora import apply_lora, save_adapter

    config = tiny_config(num_labels=3)
    peft_model = apply_lora(
        CiTrusForSequenceClassification(config),
        r=np.int64(4),
        alpha=np.float32(8.0),
        dropout=np.float32(0.25),
        verbose=False,
    )
    save_adapter(peft_model, tmp_path, CiTrusFeatureExtractor.from_config(config))
    saved = json.loads((tmp_path / "adapter_config.json").read_text())
    assert (saved["r"], saved["lora_alpha"], saved["lora_dropout"]) == (4, 8.0, 0.25)


# ------------------------------------------------------------------------------------ 6. evaluation records


def test_evaluation_records_take_numpy_numbers_and_eval_records():
    """A finite `np.float32` value was refused as "non-numeric or non-finite", and the module's own `EvalRecord`s as
    "must be an object"; numpy counts as "must be an integer"."""
    expected = EvalRecord(
        dataset="mine", metric="accuracy", value=0.5, split="test", std=0.25, label_budget=20, seeds=3
    )
    given = {
        "dataset": "mine",
        "metric": "accuracy",
        "value": np.float32(0.5),
        "split": "test",
        "std": np.float32(0.25),
        "label_budget": np.int64(20),
        "seeds": np.int32(3),
    }
    (record,) = parse_eval_results([given])
    assert record == expected
    assert all(
        type(getattr(record, name)) is kind
        for name, kind in (("value", float), ("std", float), ("label_budget", int), ("seeds", int))
    )
    assert parse_eval_results([expected, EvalRecord(dataset="mine", metric="mae", value=np.float32(1.5))]) == [
        expected,
        EvalRecord(dataset="mine", metric="mae", value=1.5),
    ]
    with pytest.raises(ValueError, match="record 0 has a non-numeric or non-finite value"):
        parse_eval_results([EvalRecord(dataset="mine", metric="accuracy", value=np.float32("nan"))])


def test_citrus_evaluate_summaries_keep_numpy_means():
    """A summary row's mean held as a numpy number was skipped without a word."""
    summary = [{"dataset": "mine", "arm": "citrus-time", "n_train": 20, "seeds": 2, "accuracy_mean": np.float32(0.75)}]
    (record,) = parse_eval_results({"summary": summary}, model_arm="citrus-time")
    assert (record.metric, record.value, record.method) == ("accuracy", 0.75, None)


def test_a_model_card_takes_eval_records():
    from citrus_hf.publishing.cards import build_model_card

    config = tiny_config(num_labels=2)
    config.architectures = ["CiTrusForSequenceClassification"]
    records = [EvalRecord(dataset="mine", metric="accuracy", value=np.float32(0.5), split="test", method="MiniRocket")]
    card = build_model_card(config, eval_results=records)
    assert "MiniRocket" in str(card)


def test_auto_processor_of_a_fusion_processor_saved_before_it_named_its_class(
    fusion_processor, tmp_path, no_remote_code_question
):
    # a processor_config.json written before this session names no processor_class: loaded as this package's class
    fusion_processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "processor_config.json").read_text())
    del saved["processor_class"]
    (tmp_path / "processor_config.json").write_text(json.dumps(saved))
    loaded = AutoProcessor.from_pretrained(tmp_path)
    assert isinstance(loaded, CiTrusFusionProcessor) and loaded == fusion_processor
