"""Fusion models used with Hugging Face habits (audit fusion_habits: findings 1, 2, 3, 10, 14, 15, 16).

Tiny configs and synthetic tensors, except the `systole_affect` check, which builds the set from systole's offline
archive (fetched before the tests like the data layer's: see test_data_offline).
"""

from __future__ import annotations

import copy
import logging
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusConfig, CiTrusModel
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionDataCollator, CiTrusFusionProcessor, CiTrusPaddingCollator

README = Path(__file__).resolve().parents[1] / "README.md"


def fusion_config(**overrides) -> CiTrusFusionConfig:
    """ECG: 2 s at 100 Hz; EDA: 4 s at 20 Hz."""
    eda = tiny_config(sampling_rate=20, context_length=80, patch_length=10, spectrogram_n_fft=10)
    return CiTrusFusionConfig(**{"modality_configs": {"ecg": tiny_config(), "eda": eda}, "num_labels": 2, **overrides})


@pytest.fixture
def saved(tmp_path) -> Path:
    """A saved tiny fusion classifier with its processor."""
    model = CiTrusFusionForSequenceClassification(fusion_config())
    model.save_pretrained(tmp_path / "fusion")
    CiTrusFusionProcessor.from_config(model.config).save_pretrained(tmp_path / "fusion")
    return tmp_path / "fusion"


def recordings(batch: int = 4) -> dict[str, np.ndarray]:
    """`batch` 2 s recordings of each modality, ECG at 100 Hz and EDA at 20 Hz (the encoders' own rates)."""
    rng = np.random.default_rng(0)
    return {"ecg": rng.standard_normal((batch, 1, 200)), "eda": rng.standard_normal((batch, 1, 40))}


RATES = {"ecg": 100, "eda": 20}


# ------------------------------------------------------------------------------------------- 1: systole_affect


def test_systole_affect_rows_name_their_channels_in_the_listed_order(offline_archives_cached, datasets_cache):
    """The windows are ECG, EDA, RESP; every row says so (`channel_names`), and the source listing gives that order."""
    from citrus_hf.data import build_dataset
    from citrus_hf.data.registry import SOURCES, get_dataset_spec
    from citrus_hf.evaluation.multimodal import block_folds, load_picture_events

    test = build_dataset("systole_affect", cache_dir=datasets_cache)["test"]
    names = test["channel_names"]
    assert all(row == ["ecg", "eda", "resp"] for row in names)
    events = load_picture_events(window_seconds=10.0)
    _, held_out = block_folds(events)[2]
    values = test.with_format("numpy")[:]["input_values"]
    for channel, name in enumerate(names[0]):  # the names say which signal each channel is
        np.testing.assert_array_equal(values[:, channel], events.signals[name][held_out, 0])
    assert SOURCES["systole_task1"].modality == "+".join(name.upper() for name in names[0])
    assert "ECG, EDA, respiration" in get_dataset_spec("systole_affect").description


# ------------------------------------------------------------------------------ 2: modality_configs as dicts


def test_modality_configs_given_as_dicts_become_citrus_configs(saved):
    # from_pretrained: a dict updates that modality's saved settings (transformers' sub-config habit); others kept
    config = CiTrusFusionConfig.from_pretrained(saved, modality_configs={"ecg": {"sampling_rate": 250}})
    assert all(isinstance(sub, CiTrusConfig) for sub in config.modality_configs.values())
    assert config.modality_configs["ecg"].sampling_rate == 250 and config.modality_configs["ecg"].context_length == 200
    assert config.modality_configs["eda"].sampling_rate == 20
    assert "sampling_rate" in repr(config)  # transformers logs the config: its repr serialises every sub-config
    model = CiTrusFusionForSequenceClassification.from_pretrained(
        saved, modality_configs={"ecg": {"sampling_rate": 250}}, head_dropout=0.3
    )
    assert model.config.modality_configs["ecg"].sampling_rate == 250 and model.config.head_dropout == 0.3
    # a value the sub-config refuses is refused at once, naming the field
    with pytest.raises(ValueError, match="patch_length"):
        CiTrusFusionConfig.from_pretrained(saved, modality_configs={"ecg": {"patch_length": 7}})

    # assignment: the dicts become CiTrusConfigs (a dict is the config's fields, as in the constructor), sorted
    config = CiTrusFusionConfig.from_pretrained(saved)
    config.modality_configs = {"resp": tiny_config().to_dict(), "ecg": {**tiny_config().to_dict(), "num_channels": 2}}
    assert config.modalities == ["ecg", "resp"]
    assert isinstance(config.modality_configs["resp"], CiTrusConfig)
    assert CiTrusFusionForSequenceClassification(config).encoders["ecg"].config.num_channels == 2
    # one modality set by item: converted and kept in order as well
    config.modality_configs["a_first"] = tiny_config().to_dict()
    assert config.modalities == ["a_first", "ecg", "resp"] and isinstance(
        config.modality_configs["a_first"], CiTrusConfig
    )
    with pytest.raises(TypeError, match="modality 'bad': expected a CiTrusConfig"):
        config.modality_configs["bad"] = 3
    for copied in (copy.deepcopy(config), pickle.loads(pickle.dumps(config))):
        assert copied == config and copied.to_dict() == config.to_dict()


# ------------------------------------------------------------------------------------- 3: the Trainer's collator


def test_a_trainer_with_transformers_default_collator_batches_fusion_rows(tmp_path):
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments, default_data_collator

    from citrus_hf.processing_citrus_fusion import trainer_data_collator

    model = CiTrusFusionForSequenceClassification(fusion_config())
    processor = CiTrusFusionProcessor.from_config(model.config)
    columns = processor(recordings(), sampling_rate=RATES, return_tensors="np").to_columns()
    rows = Dataset.from_dict({**columns, "label": [0, 1, 0, 1]})
    args = TrainingArguments(tmp_path, max_steps=1, per_device_train_batch_size=4, use_cpu=True, report_to="none")
    trainer = Trainer(model=model, args=args, train_dataset=rows, processing_class=processor)
    # what the package's Trainer registration does when the Trainer is built
    trainer.data_collator = trainer_data_collator(trainer.model, trainer.data_collator)
    assert isinstance(trainer.data_collator, CiTrusFusionDataCollator)
    assert trainer.train().global_step == 1
    # the defaults transformers picks are replaced, a collator of the user's own is kept; a single-modality model's
    # default pads its rows (`CiTrusPaddingCollator`, tests/test_api_habits.py) and keeps the padding collator
    assert isinstance(trainer_data_collator(model, None), CiTrusFusionDataCollator)
    padding = DataCollatorWithPadding(processor.feature_extractors["ecg"])
    assert isinstance(trainer_data_collator(model, padding), CiTrusFusionDataCollator)
    own = CiTrusFusionDataCollator()
    assert trainer_data_collator(model, own) is own
    single = model.encoders["ecg"]
    assert isinstance(trainer_data_collator(single, default_data_collator), CiTrusPaddingCollator)
    assert trainer_data_collator(single, padding) is padding


# -------------------------------------------------------------------------------- 10: which encoder failed


def test_from_encoders_names_the_encoder_that_failed_to_load(tmp_path):
    encoder = CiTrusModel(tiny_config())
    with pytest.raises(FileNotFoundError, match=r"encoder 'eda': .*no_such_dir"):
        CiTrusFusionForSequenceClassification.from_encoders({"ecg": encoder, "eda": str(tmp_path / "no_such_dir")})
    # a Hub id that cannot be fetched: the modality and the id are named (transformers' message named neither)
    with pytest.raises(
        OSError, match=r"^encoder 'eda': (loading 'citrus-tester/no-such-eda': |.*'citrus-tester/no-such-eda')"
    ):
        CiTrusFusionForSequenceClassification.from_encoders(
            {"ecg": encoder, "eda": "citrus-tester/no-such-eda"}, encoder_loading_kwargs={"local_files_only": True}
        )


# ------------------------------------------------------------------------ 14: aligned windows against the events


def picture_events(count: int = 12):
    """`count` synthetic picture events of two classes over three blocks: an ECG window each, (count, 1, 400) zeros
    at 100 Hz, one every 10 s."""
    from citrus_hf.evaluation.multimodal import PictureEvents

    return PictureEvents(
        signals={"ecg": np.zeros((count, 1, 400), np.float32)},
        sampling_rate=100.0,
        labels=np.arange(count) % 2,
        label_names=("neutral", "disgust"),
        onset_seconds=np.arange(count, dtype=float) * 10.0,
        block=np.arange(count) // 2 % 3,
        window_seconds=4.0,
        offset_seconds=0.0,
        source="synthetic",
    )


def test_run_fusion_protocol_checks_the_aligned_windows_against_the_events():
    from citrus_hf.evaluation.multimodal import Condition, run_fusion_protocol

    events = picture_events()

    def build_model(condition):
        pytest.fail("no model is built for windows that do not match the events")

    condition = Condition("ecg only", ("ecg",))
    wrong = {r"\(10, 1, 400\)": np.zeros((10, 1, 400), "f4"), r"\(12, 400\)": np.zeros((12, 400), "f4")}
    for shape, windows in wrong.items():
        aligned = {"ecg": windows}
        with pytest.raises(ValueError, match=rf"aligned\['ecg'\] has shape {shape}, .*num_events=12"):
            run_fusion_protocol(events, aligned, [condition], build_model, ["4"], [0], progress=False)


# ----------------------------------------------------------------------------------- 15: modalities as keywords


def test_processor_and_model_take_the_modalities_as_keywords():
    model = CiTrusFusionForSequenceClassification(fusion_config()).eval()
    processor = CiTrusFusionProcessor.from_config(model.config)
    given = recordings()
    by_keyword = processor(ecg=given["ecg"], eda=given["eda"], sampling_rate=RATES)
    by_dict = processor(given, sampling_rate=RATES)
    for key in ("input_values", "patch_mask"):
        for name in ("ecg", "eda"):
            assert torch.equal(by_keyword[key][name], by_dict[key][name])
    with torch.no_grad():
        expected = model(**by_dict).logits
        assert torch.equal(model(**by_keyword.data["input_values"]).logits, expected)
    with pytest.raises(TypeError, match=r"^No recordings given: pass one dict .*ecg=\.\.\., eda=\.\.\."):
        processor(sampling_rate=RATES)
    with pytest.raises(TypeError, match=r"not both"):
        processor({"ecg": given["ecg"]}, eda=given["eda"], sampling_rate=RATES)
    with pytest.raises(ValueError, match=r"missing \['eda'\]"):
        processor(ecg=given["ecg"], sampling_rate=RATES)
    with pytest.raises(TypeError, match=r"^No input_values given"):
        model()


# ------------------------------------------------------------------------------------- 16: the README's section


def test_readme_fusion_section_shows_the_whole_hugging_face_route():
    """The fusion block (run by test_readme) trains with the collator, saves the processor, loads with the Auto
    classes, and shows embed, freeze_encoder, load_encoder and LoRA."""
    (block,) = [b for b in re.findall(r"^```python\n(.*?)^```", README.read_text(), re.S | re.M) if "CiTrusFusion" in b]
    for needed in (
        "data_collator=CiTrusFusionDataCollator()",
        "processing_class=processor",
        "save_model(",
        "processor.save_pretrained(",
        "AutoProcessor.from_pretrained(",
        "AutoModelForSequenceClassification.from_pretrained(",
        ".embed(",
        ".freeze_encoder(",
        ".load_encoder(",
        "get_peft_model(",
    ):
        assert needed in block, needed
    section = README.read_text().split("Several modalities of one moment")[1].split("Runnable scripts")[0]
    assert "trust_remote_code=True" in section and "AutoModelForTimeSeriesRegression" in section


# ------------------------------------------------------------------- the encoders' advice inside a fusion model


def test_an_encoders_messages_inside_a_fusion_model_give_the_fusion_routes(caplog):
    """The encoders' channel-count error advised `from_pretrained(..., num_channels=N)`, which the fusion classes do
    not take, and their long-input warning named no modality and advised alignment='window' or the pipeline, which
    fusion refuses (audit fusion_habits 8, 9)."""
    from transformers.utils import logging as transformers_logging

    ecg = tiny_config(channel_pooling="concat", num_channels=2)
    model = CiTrusFusionForSequenceClassification(
        fusion_config(
            modality_configs={
                "ecg": ecg,
                "eda": tiny_config(sampling_rate=20, context_length=80, patch_length=10, spectrogram_n_fft=10),
            }
        )
    )
    inputs = {key: torch.as_tensor(value, dtype=torch.float32) for key, value in recordings(2).items()}
    inputs["ecg"] = inputs["ecg"].repeat(1, 3, 1)  # 3 channels for an encoder of 2
    with pytest.raises(ValueError, match=r"modality 'ecg': .*from_encoders\(\{\.\.\., name: CiTrusModel") as error:
        model(input_values=inputs)
    assert "num_labels=..." not in str(error.value)
    logging.Logger.warning_once.cache_clear()
    transformers_logging.enable_propagation()
    long = {key: torch.as_tensor(value, dtype=torch.float32) for key, value in recordings(1).items()}
    long["ecg"] = long["ecg"].repeat(1, 2, 1)
    long["eda"] = torch.randn(1, 1, 800)  # 10x the EDA encoder's context of 80 samples
    with caplog.at_level("WARNING"):
        model(input_values=long)
    assert "`input_values['eda']` has 800 samples" in caplog.text and "CiTrusFusionProcessor" in caplog.text
    assert "alignment='window'" not in caplog.text


def test_a_bad_fusion_config_value_is_a_value_error():
    """As for CiTrusConfig: huggingface_hub's validation error is neither a ValueError nor a TypeError."""
    with pytest.raises(ValueError):
        fusion_config(num_labels=0)
