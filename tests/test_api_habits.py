"""The Python API used by habit (the API audit of session 59): what a transformers / datasets user types without
reading this package's README either works or is refused with the fix, never a silent wrong contract or a traceback
from inside transformers, torch or json.

- a feature-extractor setting misspelt or spelt as another library spells it (`sample_rate=`, `normalisation=`) is
  refused with the setting meant, in the constructor and in `from_pretrained`, as the config refuses it;
- a `(channels, time)` row of a `datasets` set, read as nested Python lists, is named when the extractor reads it as
  a batch of single-channel recordings;
- channel names given as a numpy array or a pandas Index are kept as a list (`save_pretrained` failed in `json`),
  and `id2label` given as the list of class names (`ClassLabel.names`) is the map transformers keeps;
- a `Trainer` with neither `processing_class` nor a collator pads rows the extractor aligned one at a time;
- an undecoded `datasets.Audio` row of a local file (`{"bytes": None, "path": ...}`) reads the file;
- `embed()` trains the encoder in training mode; `labels` given to the encoder name the task models; `dummy_inputs`
  are windows of the input contract.

Recordings are real (the offline registry's EEG and accelerometer sets); `embed()`'s gradients are checked on noise.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import (
    CiTrusConfig,
    CiTrusFeatureExtractor,
    CiTrusForPretraining,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusFusionConfig,
    CiTrusFusionForSequenceClassification,
    CiTrusModel,
)
from citrus_hf.data.splits import load_split
from citrus_hf.feature_extraction_citrus import LIST_OF_LISTS_IS_A_BATCH


@pytest.fixture(scope="module")
def blink_row() -> dict:
    """One real 4-channel EEG row (255 Hz) as `datasets` returns it: nested Python lists."""
    return load_split("eeg_blink", "test")[0]


# ------------------------------------------------------------------------------ 1. settings spelt another way


@pytest.mark.parametrize(
    "keywords, meant",
    [
        ({"sample_rate": 250}, "sampling_rate"),
        ({"normalisation": "none"}, "normalization"),
        ({"fs": 250}, "sampling_rate"),
    ],
)
def test_a_misspelt_or_foreign_extractor_setting_is_refused_with_the_one_meant(keywords, meant):
    """`CiTrusFeatureExtractor(sample_rate=250)` built a 100 Hz extractor and `from_pretrained(..., sample_rate=250)`
    kept the checkpoint's rate, both without a word; the config refused the same keyword."""
    name = next(iter(keywords))
    message = rf"'{name}' \(did you mean '{meant}'\?\) is not a CiTrusFeatureExtractor field"
    with pytest.raises(ValueError, match=message):
        CiTrusFeatureExtractor(**keywords)
    with pytest.raises(ValueError, match=message):
        CiTrusFeatureExtractor.from_pretrained("citrus-small", **keywords)


def test_settings_the_extractor_has_still_apply_and_unrelated_metadata_is_kept():
    loaded = CiTrusFeatureExtractor.from_pretrained("citrus-small", alignment="interpolate", nan_policy="interpolate")
    assert (loaded.alignment, loaded.nan_policy) == ("interpolate", "interpolate")
    assert CiTrusFeatureExtractor(recorded_by="lab 3").recorded_by == "lab 3"  # as transformers keeps it


# --------------------------------------------------------------------------------- 2. a row as nested lists


def test_a_multichannel_row_as_nested_lists_is_named_when_read_as_a_batch(blink_row, caplog):
    """The row's 4 channels became 4 one-channel examples (4 embeddings instead of 1) without a word, while the same
    row as an array was read as one recording."""
    extractor = CiTrusFeatureExtractor.from_pretrained("citrus-small")
    logging.Logger.warning_once.cache_clear()  # transformers says a notice once per process
    with caplog.at_level("WARNING"):
        as_lists = extractor(blink_row["input_values"], sampling_rate=blink_row["sampling_rate"])
    assert as_lists["input_values"].shape[:2] == (4, 1)
    assert LIST_OF_LISTS_IS_A_BATCH in caplog.text and "np.asarray(row)" in caplog.text
    caplog.clear()
    logging.Logger.warning_once.cache_clear()
    with caplog.at_level("WARNING"):
        as_array = extractor(np.asarray(blink_row["input_values"]), sampling_rate=blink_row["sampling_rate"])
        # a batch said to be one (one rate per recording, or arrays) is read so without the notice
        extractor(blink_row["input_values"], sampling_rate=[blink_row["sampling_rate"]] * 4)
        extractor([np.asarray(channel) for channel in blink_row["input_values"]], sampling_rate=255)
    assert as_array["input_values"].shape[:2] == (1, 4)
    assert LIST_OF_LISTS_IS_A_BATCH not in caplog.text


# ------------------------------------------------------------------------------ 3. names as arrays, labels as lists


def test_channel_names_as_an_array_or_index_are_kept_as_a_list_and_saved(tmp_path):
    """`channel_names=frame.columns.values` trained, then `save_pretrained` failed in `json` (a finished run lost)."""
    import pandas as pd

    for names in (np.array(["Fz", "Cz"]), pd.Index(["Fz", "Cz"]), pd.array(["Fz", "Cz"], dtype="string"), ("Fz", "Cz")):
        model = CiTrusForSequenceClassification(tiny_config(num_channels=2, channel_names=names, num_labels=2))
        assert model.config.channel_names == ["Fz", "Cz"]
        model.save_pretrained(tmp_path / "model")
        assert CiTrusConfig.from_pretrained(tmp_path / "model").channel_names == ["Fz", "Cz"]


def test_id2label_as_the_list_of_class_names_is_the_map_transformers_keeps():
    """`from_pretrained(..., id2label=ClassLabel.names)` failed with "'list' object has no attribute 'items'"."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained("citrus-small", id2label=["rest", "walk", "run"])
    assert model.config.id2label == {0: "rest", 1: "walk", 2: "run"}
    assert model.config.label2id == {"rest": 0, "walk": 1, "run": 2}
    assert model.classifier.out_features == 3
    config = CiTrusConfig(id2label=np.array(["left", "right"]))
    assert (config.id2label, config.num_labels) == ({0: "left", 1: "right"}, 2)


# ------------------------------------------------------------------------------------ 4. the Trainer's collator


def test_a_trainer_without_a_processing_class_pads_rows_aligned_one_at_a_time(tmp_path):
    """The README's `dataset.map(lambda r: extractor(...))` keeps each recording's own duration; the `Trainer`'s
    default collator then failed inside torch ("expected sequence of length 200 at dim 3 (got 180)")."""
    import datasets
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments, default_data_collator

    from citrus_hf.processing_citrus_fusion import CiTrusPaddingCollator

    rows = load_split("basic_motions", "train").select(range(4))
    config = tiny_config(num_labels=4, num_channels=6)
    extractor = CiTrusFeatureExtractor.from_config(config)
    lengths = [10, 12, 15, 18]  # samples at 10 Hz: 1 to 1.8 s, under the tiny model's 2 s window
    raw = datasets.Dataset.from_dict(
        {
            "signal": [np.asarray(row["input_values"])[:, :n].tolist() for row, n in zip(rows, lengths)],
            "label": rows["label"],
        }
    )
    aligned = raw.map(lambda r: extractor(np.asarray(r["signal"]), sampling_rate=10), remove_columns=["signal"])
    args = TrainingArguments(
        str(tmp_path / "out"), max_steps=1, per_device_train_batch_size=4, use_cpu=True, report_to="none",
        save_strategy="no",
    )  # fmt: skip
    trainer = Trainer(model=CiTrusForSequenceClassification(config), args=args, train_dataset=aligned)
    assert isinstance(trainer.data_collator, CiTrusPaddingCollator)
    assert trainer.train().training_loss > 0
    batch = [aligned[i] for i in range(4)]
    padded, reference = trainer.data_collator(batch), DataCollatorWithPadding(extractor)(batch)
    assert padded["input_values"].shape == (4, 6, 180) and padded["patch_mask"].sum(dim=1).tolist() == [5, 6, 8, 9]
    for key in ("input_values", "patch_mask", "labels"):
        torch.testing.assert_close(padded[key], reference[key])
    # aligned rows of one length lose their batch axis of one too; rows without a mask are stacked as the default
    # collator stacks them; a collator of one's own is kept
    same = trainer.data_collator([aligned[0], aligned[0]])
    assert same["input_values"].shape == (2, 6, 100) and same["labels"].tolist() == [rows["label"][0]] * 2
    windows = [{"input_values": np.asarray(row["input_values"])[:, :20], "labels": row["label"]} for row in rows]
    torch.testing.assert_close(trainer.data_collator(windows), default_data_collator(windows))
    own = Trainer(
        model=trainer.model, args=args, train_dataset=aligned, data_collator=DataCollatorWithPadding(extractor)
    )
    assert type(own.data_collator) is DataCollatorWithPadding


# --------------------------------------------------------------------------------- 5. an undecoded Audio row


def test_an_undecoded_audio_row_of_a_local_file_reads_the_file(blink_row, tmp_path):
    """`Audio(decode=False)` over local paths gives `{"bytes": None, "path": ...}`, which the pipeline refused."""
    import datasets
    from scipy.io import wavfile
    from transformers import pipeline

    samples = np.asarray(blink_row["input_values"][0], dtype=np.float32)
    wavfile.write(tmp_path / "fp1.wav", 255, samples / np.abs(samples).max())
    rows = datasets.Dataset.from_dict({"audio": [str(tmp_path / "fp1.wav")]}).cast_column(
        "audio", datasets.Audio(decode=False)
    )
    assert rows[0]["audio"]["bytes"] is None
    embedder = pipeline(model="citrus-small")
    np.testing.assert_array_equal(
        embedder(rows[0]["audio"])["embedding"], embedder(str(tmp_path / "fp1.wav"))["embedding"]
    )


# ----------------------------------------------------------------------------------- 6. embed, labels, dummies


def test_embed_trains_the_encoder_in_training_mode_and_keeps_no_graph_otherwise():
    """`embed()` always ran without gradients, so a loss on the embeddings failed inside torch at `backward()`."""
    model = CiTrusModel(tiny_config()).train()
    windows = torch.randn(4, 1, 200, generator=torch.Generator().manual_seed(0))
    embeddings = model.embed(windows)
    (embeddings[:2] - embeddings[2:]).pow(2).mean().backward()
    assert any(parameter.grad is not None and parameter.grad.abs().sum() > 0 for parameter in model.parameters())
    with torch.no_grad():
        assert not model.embed(windows).requires_grad
    assert not model.eval().embed(windows).requires_grad


def test_labels_given_to_the_encoder_name_the_task_models():
    """The message told the user to `rename_column('labels', 'labels')`."""
    model = CiTrusModel(tiny_config())
    with pytest.raises(TypeError, match=r"got `labels`, but this is an encoder.*CiTrusForSequenceClassification"):
        model(torch.zeros(2, 1, 200), labels=torch.tensor([0, 1]))


@pytest.mark.parametrize(
    "model_class", [CiTrusModel, CiTrusForPretraining, CiTrusForSequenceClassification, CiTrusForRegression]
)
def test_dummy_inputs_are_windows_of_the_input_contract(model_class):
    """transformers' default `dummy_inputs` is a text model's `input_ids`, which every CiTrus model refuses."""
    model = model_class(tiny_config(num_channels=3))
    assert model.dummy_inputs["input_values"].shape == (2, 3, 200)
    assert model(**model.dummy_inputs) is not None
    fusion = CiTrusFusionForSequenceClassification(
        CiTrusFusionConfig(
            modality_configs={"ecg": tiny_config(), "ppg": tiny_config(context_length=100)}, num_labels=2
        )
    )
    assert {name: tuple(x.shape) for name, x in fusion.dummy_inputs["input_values"].items()} == {
        "ecg": (2, 1, 200),
        "ppg": (2, 1, 100),
    }
    assert fusion(**fusion.dummy_inputs).logits.shape == (2, 2)


def test_a_saved_files_unknown_key_still_loads_with_a_warning(tmp_path, caplog):
    """The refusal is for keywords a caller types; a saved file with a key this version does not know still loads
    (it is named in a warning: tests/test_loading_leftovers.py)."""
    import json

    CiTrusFeatureExtractor.from_pretrained("citrus-small").save_pretrained(tmp_path)
    values = json.loads((tmp_path / "preprocessor_config.json").read_text())
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({**values, "sample_rate": 250}))
    with caplog.at_level("WARNING"):
        assert CiTrusFeatureExtractor.from_pretrained(tmp_path).sampling_rate == 100.0
    assert "'sample_rate' (did you mean 'sampling_rate'?)" in caplog.text


def test_a_fusion_processor_names_a_modality_keyword_it_does_not_have(blink_row):
    """`processor(ecg=..., eda=..., resp=...)` blamed the ecg extractor for an "unexpected keyword argument 'resp'"."""
    from citrus_hf import CiTrusFusionProcessor

    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": tiny_config()}, num_labels=2)
    processor = CiTrusFusionProcessor.from_config(config)
    signal = np.asarray(blink_row["input_values"][0], dtype=np.float32)
    with pytest.raises(TypeError, match=r"\['resp'\] is neither a modality of this processor \(\['ecg', 'eda'\]"):
        processor(ecg=signal, eda=signal, resp=signal, sampling_rate=255)
    assert (
        processor(ecg=signal, eda=signal, sampling_rate=255, nan_policy="interpolate")["input_values"]["ecg"].ndim == 3
    )


@pytest.mark.parametrize("patch_length", [0, -20])
def test_a_patch_length_below_one_is_named(patch_length):
    """It was refused as "`cnn_strides` shrink a patch to nothing"."""
    with pytest.raises(ValueError, match=f"`patch_length` must be a positive number of samples per patch, got {patch_length}"):  # fmt: skip
        CiTrusConfig(patch_length=patch_length)
