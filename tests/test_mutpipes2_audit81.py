"""What the pipelines say, what a fine-tuning run's records and a card name, and what the loader refuses (mutation
audit of the pipelines, the back ends and Hub publishing, session 81): each test failed on a hand-made mutant of the
package that the suite let through (the mutant named in its docstring), and passes on the package as it is.

Tiny in-memory models (100 Hz, 2 s windows of 10 patches) and hand-written run records; no Hub server, no training.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from huggingface_hub import ModelCard
from test_precision_audit63 import package_warnings  # noqa: F401 (the fixture: the package's warnings)
from tiny_configs import tiny_config
from transformers import pipeline

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification, CiTrusModel

THREE_CHANNELS = np.random.default_rng(0).standard_normal((3, 400))  # 4 s at 100 Hz


def _torch_pipeline(task: str, model):
    model.eval()
    return pipeline(
        task, model=model, feature_extractor=CiTrusFeatureExtractor.from_config(model.config), backend="torch"
    )


# ------------------------------------------------------------------------------------------------ pipelines


def test_a_pipelines_2d_recording_is_one_recording_not_read_as_a_possible_batch(package_warnings):  # noqa: F811
    """A pipeline's input is one recording by definition: a (3, time) array given to a one-channel classifier is
    passed through with the channel-count notice, never the extractor's "not a batch of single-channel recordings"
    layout notice for a bare 2-D array (mutant a06: the array not wrapped in a list)."""
    classifier = CiTrusForSequenceClassification(tiny_config(num_labels=2, channel_pooling="mean"))
    _torch_pipeline("time-series-classification", classifier)(THREE_CHANNELS, sampling_rate=100.0)
    said = package_warnings.text
    assert "The recordings have 3 channels and the checkpoint 1" in said
    assert "not a batch of single-channel recordings" not in said


def test_the_embedding_pipeline_takes_any_channel_count_without_a_notice(package_warnings):  # noqa: F811
    """The README's embedding of a 3-channel recording with a one-channel encoder: the pipeline gives the extractor
    the call's channel count, so nothing is said about channels the user could not change (mutant a11: the copy kept
    the checkpoint's count, and every call warned)."""
    encoder = CiTrusModel(tiny_config(channel_pooling="mean"))
    embedding = _torch_pipeline("feature-extraction", encoder)(THREE_CHANNELS, sampling_rate=100.0)["embedding"]
    assert np.isfinite(embedding).all()
    assert "channels" not in package_warnings.text


# ------------------------------------------------------------------------------------------------ run records


def _run_folder(tmp_path, arguments: dict, **results) -> str:
    """A fine-tuning run's folder holding only its `finetune_results.json` (`arguments` and other `results`)."""
    folder = tmp_path / "run"
    folder.mkdir(parents=True)
    record = {"task": "classification", "num_train": 8, "test_metrics": {"accuracy": 0.5}, **results}
    record["arguments"] = {"dataset": "me/hub-set", "label_budget": "8", **arguments}
    (folder / "finetune_results.json").write_text(json.dumps(record))
    return str(folder)


def test_a_run_from_the_bundled_checkpoint_names_it_with_its_pretraining(tmp_path):
    """A run fine-tuned from "citrus-small" has no pre-training summary of its own: its records carry the bundled
    checkpoint's, named first (mutant r24: the name left out; r23: the run folder's own, absent, summary replaced
    them)."""
    from citrus_hf.publishing.runs import read_run_records

    run = read_run_records(_run_folder(tmp_path, {"model": "citrus-small"}))
    assert run.pretraining is not None and list(run.pretraining)[0] == "Pre-trained checkpoint"
    assert "citrus-small" in run.pretraining["Pre-trained checkpoint"]
    assert run.base_model is None  # bundled: no Hub repository to link


def test_a_run_from_a_local_folder_since_moved_names_no_hub_base(tmp_path):
    """`--model runs/base` resolved where the run started (`local_paths`) and gone since: "runs/base" looks like a
    Hub id but names a local folder, which a card must not link as its base (mutant r17)."""
    from citrus_hf.publishing.runs import read_run_records

    gone = str(tmp_path / "elsewhere" / "runs" / "base")
    run = read_run_records(_run_folder(tmp_path, {"model": "runs/base"}, local_paths={"model": gone}))
    assert run.base_model is None
    assert read_run_records(_run_folder(tmp_path / "hub", {"model": "me/base"})).base_model == "me/base"


def test_class_weights_that_are_no_numbers_are_left_out_of_the_runs_settings(tmp_path):
    """A `true` among a run's recorded class weights (JSON's boolean) is no weight: left out as any non-number is, not
    shown as 1 (mutant r20: a bool taken for a number)."""
    from citrus_hf.publishing.runs import read_run_records

    details = {"class_weights": {"rest": 0.5, "move": True}}
    folder = _run_folder(tmp_path, {"model": "citrus-small", "class_weight": "balanced"}, recipe_details=details)
    assert read_run_records(folder).hyperparameters["Class weights"] == "balanced (rest 0.5)"


# ------------------------------------------------------------------------------------------------ feature extractor


def test_a_single_channel_name_given_as_a_string_is_refused_with_the_list_to_pass():
    """`channel_names="Fz"`: its letters would be counted as channel names; the refusal names the fix, `["Fz"]`
    (mutant x17: only the generic "not a list" refusal, without it)."""
    with pytest.raises(TypeError, match=r"got the string 'Fz'; pass \['Fz'\]"):
        CiTrusFeatureExtractor.from_config(tiny_config(), channel_names="Fz")


def test_a_hop_length_of_true_is_refused_not_read_as_one_sample():
    """`hop_length=True` (a flag given where a count belongs) is no number of samples: refused, in the settings and
    in a call, not taken as a hop of one sample, a window per sample (mutant x19: bool accepted as an integer)."""
    with pytest.raises(ValueError, match="`hop_length` must be a positive number"):
        CiTrusFeatureExtractor.from_config(tiny_config(), hop_length=True)
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    with pytest.raises(ValueError, match="`hop_length` must be a positive number"):
        extractor(THREE_CHANNELS[0], sampling_rate=100.0, hop_length=True)


def test_pad_keeps_every_channel_of_an_example_stored_with_the_batch_axis():
    """An example whose `input_values` kept the extractor's batch axis, `(1, channels, time)`, is padded with all its
    channels (mutant x24: `value[:, 0]` kept its first channel only, a one-channel row beside two-channel ones)."""
    extractor = CiTrusFeatureExtractor.from_config(tiny_config(num_channels=2))
    one = extractor(THREE_CHANNELS[:2, :200], sampling_rate=100.0)
    kept_batch_axis = {"input_values": one["input_values"], "patch_mask": one["patch_mask"][0]}
    plain = {"input_values": one["input_values"][0], "patch_mask": one["patch_mask"][0]}
    padded = extractor.pad([kept_batch_axis, plain], return_tensors="np")
    assert padded["input_values"].shape == (2, 2, 200)
    np.testing.assert_array_equal(padded["input_values"][0], padded["input_values"][1])


def test_pad_refuses_a_key_missing_from_an_example_in_the_middle():
    """Every example must carry the first one's keys: a middle example without `labels` is refused by name (mutant
    x26: only the last example was checked, and the batch failed with a bare KeyError)."""
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    one = extractor(THREE_CHANNELS[0, :200], sampling_rate=100.0)
    row = {"input_values": one["input_values"][0], "patch_mask": one["patch_mask"][0]}
    rows = [{**row, "labels": 0}, dict(row), {**row, "labels": 1}]
    with pytest.raises(ValueError, match="has no `labels` although the first one has"):
        extractor.pad(rows)


# ------------------------------------------------------------------------------------------------ cards


def test_a_fusion_regressors_card_counts_its_targets():
    """A fusion regressor of 3 targets is said to be one (mutant c45: its `num_labels`, transformers' default 2)."""
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression
    from citrus_hf.publishing.cards import build_model_card

    eda = tiny_config(sampling_rate=20, context_length=40, patch_length=10, spectrogram_n_fft=10)
    model = CiTrusFusionForRegression(
        CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": eda}, num_targets=3)
    )
    assert "A CiTrus fusion regressor (3 targets) of 2 modalities" in str(build_model_card(model, repo_id="me/fusion"))


def _untrained_trainer(tmp_path, model, **arguments):
    from transformers import Trainer, TrainingArguments

    args = TrainingArguments(str(tmp_path / "out"), report_to="none", use_cpu=True, disable_tqdm=True, **arguments)
    return Trainer(model=model, args=args, processing_class=CiTrusFeatureExtractor.from_config(model.config))


def test_a_trainer_card_names_the_hub_repository_the_model_was_loaded_from_and_its_epochs(tmp_path):
    """A model loaded from a Hub repository (`name_or_path` "me/citrus-base", no run records there) and trained by
    epochs: its card names that repository as its base (mutant c60: no base model) and the epochs it was trained for
    (mutant c59: "-1 epochs", the unset `max_steps`)."""
    from citrus_hf.publishing.cards import write_trainer_card

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    model.name_or_path = "me/citrus-base"
    card = ModelCard.load(write_trainer_card(_untrained_trainer(tmp_path, model, num_train_epochs=2), model))
    assert card.data.base_model == "me/citrus-base"
    assert "| Training length | 2 epochs |" in card.text


def test_an_adapters_card_links_the_hub_dataset_its_run_was_fitted_on(tmp_path):
    """The records of the run that saved a LoRA adapter put its Hub dataset into the card's `datasets` metadata, as a
    full checkpoint's card has it (mutant c62: left out)."""
    from citrus_hf.publishing.cards import add_adapter_run_records
    from citrus_hf.training.lora import adapter_card, apply_lora

    adapter = apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=2)), r=2, verbose=False)
    card = adapter_card(adapter, "me/lora")
    add_adapter_run_records(card, adapter.get_base_model(), _run_folder(tmp_path, {"model": "citrus-small"}))
    assert ModelCard(str(card)).data.datasets == ["me/hub-set"]


def test_a_dataset_card_lists_the_license_of_every_source():
    """`eeg_pretrain` is built from three sources under MIT and ODC-By: its card lists every license, each once
    (mutant d03: the first source's only)."""
    from citrus_hf.publishing.datasets import dataset_card

    assert "Licenses: MIT (biosignalsnotebooks); MIT (spkit); ODC-By 1.0 (PhysioNet)." in dataset_card("eeg_pretrain")


# ------------------------------------------------------------------------------------------------ loading


def test_a_fusion_checkpoint_loaded_for_a_single_modality_task_is_refused_with_the_tasks_it_has(tmp_path):
    """`load_pretrained(fusion_folder, "base")`: a fusion checkpoint has no single-encoder model; the refusal names
    the fusion tasks and `load_encoder` (mutant l09: a bare KeyError of the task)."""
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    from citrus_hf.loading import load_pretrained
    from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification

    eda = tiny_config(sampling_rate=20, context_length=40, patch_length=10, spectrogram_n_fft=10)
    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": eda}, num_labels=2)
    CiTrusFusionForSequenceClassification(config).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="is a CiTrus fusion checkpoint: load it for one of .*load_encoder"):
        load_pretrained(tmp_path, "base")
