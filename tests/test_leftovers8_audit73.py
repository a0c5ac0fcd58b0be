"""Leftovers of this session's reviewers.

(c) Early stopping counted the validation WINDOWS against `MIN_VALIDATION_PER_CLASS`, so one carved recording of 10
windows per class (one label each) drove it on a set of one's own cut by `window_seconds`: it now counts the labelled
examples the windows were cut from, as label budgets do.
(d) A recording with rows in all three splits of a set of one's own got three warning lines; it now gets one, naming
the splits.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from citrus_hf.commands.main import main
from citrus_hf.data.splits import load_task_splits

RATE = 50.0


def _class_folders(folder: Path, recordings: int, windows: int) -> Path:
    """Class folders of .npy recordings (`recordings` per class in train, one in test) of `windows` 2 s windows."""
    rng = np.random.default_rng(0)
    for split, count in (("train", recordings), ("test", 1)):
        for name, frequency in (("slow", 2.0), ("fast", 9.0)):
            (folder / split / name).mkdir(parents=True)
            for index in range(count):
                time = np.arange(int(windows * 2 * RATE)) / RATE
                signal = np.sin(2 * np.pi * frequency * time) + rng.normal(0, 0.3, time.size)
                np.save(folder / split / name / f"{name}{index}.npy", signal[None].astype(np.float32))
    return folder


def test_early_stopping_counts_the_validation_recordings_not_their_windows(tmp_path, caplog):
    folder = _class_folders(tmp_path / "set", recordings=3, windows=10)
    splits = load_task_splits(folder, {"window_seconds": 2}, sampling_rate=RATE)
    assert splits.num_examples("validation") == 2 and len(splits.validation) == 20  # one recording per class
    argv = ["finetune", "--dataset", str(folder), "--sampling-rate", str(RATE), "--dataset-options", "window_seconds=2"]
    argv += ["--model-config", "tiny", "--recipe", "finetune", "--max-steps", "2", "--no-show-progress"]
    argv += ["--early-stopping-patience", "3", "--output-dir", str(tmp_path / "fit")]
    with caplog.at_level(logging.WARNING):
        assert main(argv) == 0
    results = json.loads((tmp_path / "fit" / "finetune_results.json").read_text())
    assert results["recipe_details"]["early_stopping"] is False
    # the shortfall names the examples it counted
    assert "--early-stopping-patience" in caplog.text and "2 examples" in caplog.text


def test_early_stopping_still_runs_on_enough_validation_recordings():
    import datasets

    from citrus_hf.training.recipes import validation_shortfall

    labels = np.array([0] * 10 + [1] * 10)
    examples = np.arange(20) // 2  # 5 recordings per class of 2 windows each
    validation = datasets.Dataset.from_dict({"labels": labels})
    assert validation_shortfall(validation, "classification", labels, examples=examples) is None
    few = validation_shortfall(validation, "classification", labels, examples=np.arange(20) // 5)
    assert few is not None and "4 examples" in few


def test_a_recording_in_all_three_splits_is_named_in_one_line(tmp_path, caplog):
    import datasets

    rng = np.random.default_rng(0)

    def block(rows: int) -> datasets.Dataset:
        return datasets.Dataset.from_dict(
            {
                "input_values": [rng.normal(size=(1, 100)).astype(np.float32) for _ in range(rows)],
                "target": rng.uniform(50, 90, rows).tolist(),
                "recording": ["shared" if row == 0 else f"own{rows}_{row}" for row in range(rows)],
                "sampling_rate": [RATE] * rows,
            }
        )

    datasets.DatasetDict({"train": block(8), "validation": block(4), "test": block(5)}).save_to_disk(tmp_path / "s")
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.splits"):
        load_task_splits(tmp_path / "s")
    lines = [record.getMessage() for record in caplog.records if "also" in record.getMessage()]
    assert len(lines) == 1, lines
    assert "'shared'" in lines[0] and all(split in lines[0] for split in ("test", "validation", "train"))


def test_transformers_set_adapter_switches_output_names_and_scoring_with_the_head(tmp_path, monkeypatch):
    """(a) transformers' own adapter API on a CiTrus model (not a PeftModel): `model.load_adapter(folder,
    adapter_name="b")` then `model.set_adapter("b")` kept the first adapter's `id2label` and `problem_type`, so a
    multi-label adapter of other classes was served under the first one's names with a softmax. It now switches them
    as peft's `set_adapter` does (one rule), and `delete_adapter` gives the adapter left active its own."""
    import torch
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
    from citrus_hf.training.lora import apply_lora, save_adapter

    config = tiny_config(num_labels=3)
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "base")
    extractor = CiTrusFeatureExtractor.from_config(config)
    named = {
        "a": {"id2label": {0: "sit", 1: "walk", 2: "run"}},
        "b": {"id2label": {0: "tremor", 1: "spasm", 2: "rest"}, "problem_type": "multi_label_classification"},
    }
    for name, settings in named.items():
        torch.manual_seed(len(name))
        model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", **settings)
        save_adapter(apply_lora(model, r=2, verbose=False), tmp_path / name, extractor)
    # transformers' set_adapter / delete_adapter ask for peft >= 0.22 (loading does not); their work is peft 0.21's too
    monkeypatch.setattr("transformers.integrations.peft.check_peft_version", lambda min_version: None)
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", **named["a"])
    model.load_adapter(str(tmp_path / "a"), adapter_name="a")
    model.load_adapter(str(tmp_path / "b"), adapter_name="b")
    model.set_adapter("b")
    assert model.config.problem_type == "multi_label_classification"
    assert model.config.id2label == named["b"]["id2label"]
    assert model.config.label2id["spasm"] == 1
    model.set_adapter("a")
    assert model.config.problem_type is None and model.config.id2label == named["a"]["id2label"]
    model.set_adapter("b")
    model.delete_adapter("b")  # the adapter left active shows its own names
    assert model.config.id2label == named["a"]["id2label"] and model.config.problem_type is None
