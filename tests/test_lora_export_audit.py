"""LoRA adapters, export and evaluation used as the audit of session 59 used them:

- a LoRA run started from a fine-tuned classifier (another task's head) saves an adapter that loads back, in the
  pipeline and for export, and scores as the run recorded (its base's own head, of another size, was refused);
- an adapter put on another base than the one it records is named in a warning (its predictions hold on that base
  only);
- `citrus export --output-dir` refuses the checkpoint's own folder (its config.json was overwritten);
- `citrus evaluate --checkpoints ARM=ADAPTER` names the folder as an adapter and the route to a checkpoint.

The runs are real: citrus-small fitted on blinks in EEG, then LoRA on BasicMotions.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.data.splits import load_split
from citrus_hf.training import FinetuneArguments, TrainerSettings, finetune
from citrus_hf.training.lora import load_adapter


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lora_audit")
    finetune(FinetuneArguments(output_dir=str(folder / "blink"), dataset="eeg_blink", model="citrus-small",
                               label_budget="2", trainer=TrainerSettings(show_progress=False)))  # fmt: skip
    finetune(
        FinetuneArguments(
            output_dir=str(folder / "lora"), dataset="basic_motions", model=str(folder / "blink"), label_budget="2",
            lora=True, lora_r=2, trainer=TrainerSettings(max_steps=3, per_device_batch_size=8, show_progress=False),
        )
    )  # fmt: skip
    return folder


def test_an_adapter_trained_on_another_tasks_classifier_loads_back_and_scores_as_recorded(runs):
    model = load_adapter(None, runs / "lora")
    extractor = CiTrusFeatureExtractor.from_pretrained(runs / "lora")
    test = load_split("basic_motions", "test").with_format("numpy")
    features = extractor(list(test["input_values"]), sampling_rate=10, return_tensors="pt")
    with torch.no_grad():
        predicted = model(**features).logits.argmax(-1).numpy()
    recorded = json.loads((runs / "lora" / "finetune_results.json").read_text())["test_metrics"]["accuracy"]
    assert np.isclose((predicted == np.asarray(test["label"])).mean(), recorded)
    from transformers import pipeline

    assert pipeline(model=str(runs / "lora"))(np.asarray(test[0]["input_values"]), sampling_rate=10)["label"]


def test_an_adapter_on_another_base_is_named(runs, caplog):
    config = CiTrusConfig.from_json_file(runs / "lora" / "citrus_task_config.json")
    with caplog.at_level("WARNING"):
        load_adapter(None, runs / "lora")
    assert "its predictions hold only on the base it was trained on" not in caplog.text
    with caplog.at_level("WARNING"):
        load_adapter(CiTrusForSequenceClassification(config), runs / "lora")
    assert "is put on a model built in memory: its predictions hold only on the base it was trained on" in caplog.text


def test_export_refuses_to_write_its_deployment_over_a_checkpoint(runs, capsys):
    before = (runs / "blink" / "config.json").read_text()
    assert main(["export", str(runs / "blink"), "--output-dir", str(runs / "blink")]) == 2
    assert "holds a checkpoint (config.json), whose files the deployment would overwrite" in capsys.readouterr().err
    assert (runs / "blink" / "config.json").read_text() == before


def test_evaluate_names_an_adapter_given_as_a_checkpoint(runs, capsys):
    argv = ["evaluate", "--datasets", "basic_motions", "--arms", "citrus-small", "--checkpoints",
            f"citrus-small={runs / 'lora'}", "--output-dir", str(runs / "ev")]  # fmt: skip
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "--checkpoints citrus-small" in error and "is a LoRA adapter" in error and "load_adapter(None," in error
