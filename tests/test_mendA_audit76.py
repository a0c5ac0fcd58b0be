"""Session 76, mendA: code written twice on the model, training, publishing and benchmark side, now written once.

1. transformers' and peft's private attributes that a check wraps: one helper (`_dependencies.private_attribute`)
   warns that the check is off where a release lacks one, for both libraries;
2. the refusal of a checkpoint without safetensors weights: one line (`configuration_citrus.no_safetensors_error`)
   for a folder (`load_pretrained`) and a Hub repository (the model's `from_pretrained`);
4. the per-recording evaluation note: one sentence (`publishing.runs.per_recording_note`) for a fine-tuning run's
   card and `citrus evaluate`'s, which now gives the number of recordings scored too;
6. an evaluation with `include_for_metrics=["inputs"]` that also gathers outputs per patch measured its set twice,
   once per check of the same join: now once.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

# ----------------------------------------------------------------------------- 1. a dependency's private attribute


@pytest.mark.parametrize(("library", "owner_name"), [("transformers", "Trainer"), ("peft", "LoraModel")])
def test_a_missing_private_attribute_turns_its_check_off_with_one_warning_for_either_library(
    library, owner_name, caplog
):
    """Guard (passes before the change too, through each library's own copy): the rule both callers relied on."""
    from citrus_hf._dependencies import private_attribute

    class Owner:
        kept = staticmethod(len)

    logger = logging.getLogger("citrus_hf.test_mendA")
    checked = "names what the check names"
    assert private_attribute(Owner, "kept", library=library, owner_name=owner_name, checked=checked, logger=logger) is (
        len
    )
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        found = private_attribute(
            Owner, "_gone", library=library, owner_name=owner_name, checked=checked, logger=logger
        )
    assert found is None
    (said,) = [record.getMessage() for record in caplog.records]
    assert said.startswith(f"{library} ") and f"has no `{owner_name}._gone`, through which citrus-hf {checked}" in said
    assert "that check is off" in said and f"Install the {library} version citrus-hf was released with" in said


# ------------------------------------------------------------------------ 2. a checkpoint without safetensors


def test_a_folder_and_a_hub_repository_without_safetensors_are_refused_in_the_same_words(tmp_path, monkeypatch):
    from citrus_hf import load_pretrained, modeling_citrus

    config = tiny_config(num_labels=2)
    config.save_pretrained(tmp_path)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path)
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(OSError) as folder_error:
        load_pretrained(tmp_path)
    # a repository whose files the Hub lists (online; offline, the cache's lack is refused as such)
    monkeypatch.setattr(modeling_citrus, "offline_cache_lacks", lambda *args: False)
    hub_error = modeling_citrus._no_weights_file_error("owner/repo", {})
    rule = (
        "has no model.safetensors (nor model.safetensors.index.json): CiTrus loads safetensors weights only and never "
        "unpickles .bin files. Publish the model with `citrus push` or `save_pretrained` (and `push_to_hub`)."
    )
    assert str(hub_error) == f"'owner/repo' {rule}"
    # the folder's refusal names the files it holds, the pickled weights among them
    folder_said = str(folder_error.value)
    assert re.search(r"; files: \[[^]]*'pytorch_model\.bin'[^]]*\]\)", folder_said)
    assert re.sub(r"; files: \[[^]]*\]", "", folder_said) == f"{str(tmp_path)!r} {rule}"


# ----------------------------------------------------------------------------------- 4. the per-recording note


def test_an_evaluate_card_names_how_many_recordings_its_per_recording_scores_are_over():
    from citrus_hf.evaluation import parse_eval_results
    from citrus_hf.publishing.cards import _per_recording_notes

    row = {
        "dataset": "set",
        "arm": "citrus-scratch",
        "n_train": 6,
        "seeds": 2,
        "scored_on": "test",
        "scored_recordings": 4,
        "accuracy_mean": 0.75,
        "recording_accuracy_mean": 0.875,
        "recording_accuracy_std": 0.18,
    }
    records = parse_eval_results({"summary": [row]}, model_arm="citrus-scratch")
    assert {record.metric: record.recordings for record in records} == {"accuracy": None, "recording_accuracy": 4}
    kept, notes = _per_recording_notes(records)
    assert [record.metric for record in kept] == ["accuracy"]
    assert notes == [
        "Per recording (4 recordings of the test split of set, 6 labelled examples, mean over 2 seeds, each scored by "
        "the mean of its windows' probabilities, as `citrus predict` answers for a file): accuracy 0.8750 ± 0.18."
    ]


def test_a_fine_tuning_run_and_evaluate_write_the_per_recording_note_alike():
    """Guard: a fine-tuning run's note reads as before (its count, `undefined` for a metric without a value)."""
    from citrus_hf.publishing.runs import per_recording_note

    note = per_recording_note([("accuracy", 0.5, None), ("auroc", None, None)], "classification", "set", "test", 3)
    assert note == (
        "Per recording (3 recordings of the test split of set, each scored by the mean of its windows' probabilities, "
        "as `citrus predict` answers for a file): accuracy 0.5000, auroc undefined."
    )


# ------------------------------------------------------------------- 6. one measure of the evaluation set's joins


def test_an_evaluation_that_checks_its_inputs_and_its_outputs_per_patch_measures_the_set_once(tmp_path, monkeypatch):
    from citrus_hf.training import trainer as trainer_module

    config = tiny_config(num_labels=2, output_hidden_states=True)
    extractor = CiTrusFeatureExtractor.from_config(config)
    rng = np.random.default_rng(0)
    rows = []
    for index in range(4):
        row = extractor(rng.standard_normal((1, 200)).astype(np.float32), sampling_rate=100)
        rows.append({"input_values": row["input_values"][0], "patch_mask": row["patch_mask"][0], "labels": index % 2})
    measured = []
    window_lengths = trainer_module._window_lengths

    def counted(dataset):
        measured.append(dataset)
        return window_lengths(dataset)

    monkeypatch.setattr(trainer_module, "_window_lengths", counted)
    arguments = TrainingArguments(
        str(tmp_path / "trainer"),
        report_to=[],
        use_cpu=True,
        per_device_eval_batch_size=2,
        include_for_metrics=["inputs"],
    )
    trainer = Trainer(model=CiTrusForSequenceClassification(config), args=arguments)
    prediction = trainer.predict(rows)
    assert prediction.predictions[0].shape == (4, 2)
    assert len(measured) == 1
