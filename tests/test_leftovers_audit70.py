"""Session 70: leftovers of session 69.

1. `citrus export --output-dir` took no run lock: two exports into one folder moved their files in over each other's,
   and the staging folder (`.citrus-export-*`, a graph's size) of an export that was killed stayed there for good. It
   now holds the folder's lock as `citrus finetune` does: a second export is refused at once, leaving the folder as it
   was, and a killed export's staging folder is removed, with a warning, as the next one starts.
2. A folder's metadata.csv with `onset` and `duration` columns (an events table) and no `label` / `target` column was
   ignored without a word: the folder became an unlabelled pile of whole files (`citrus data info` showed one segment
   per file; `citrus pretrain` trained on the whole recordings). It is refused now, naming the table, the missing
   column and the two fixes.
3. Fine-tuning under a launch of two processes printed torch's DDP warning "find_unused_parameters=True was specified
   ... but did not find any unused parameters" on each rank, every run: transformers asks DDP to look for unused
   parameters in every model (an extra pass over the autograd graph each step), and a CiTrus task model has none (its
   mask token, which only pre-training uses, is frozen). The Trainer's `ddp_find_unused_parameters` is now what one
   forward and backward pass of the model on two training rows finds: False for such a model, True for one whose head
   leaves trainable parameters without a gradient (`head_features="encoded"`: the transformer layers after the CNN).
   (The launch itself: `test_training.test_finetune_under_two_processes_trains_data_parallel_and_writes_the_folder_once`
   asserts that no such warning is printed.)
4. The fusion model's config.json and processor_config.json recorded no `citrus_hf_version` (the single-modality
   files do): a newer citrus-hf's settings in them loaded without a word (the config) or were called typos ("does not
   know ... Correct or remove them", and of "the checkpoint's preprocessor_config.json", a file the fusion folder does
   not hold). Both record it now, and a newer version's settings are named as such, with the upgrade.
5. The newer-version warning of a config.json said "This checkpoint's config.json": which checkpoint, a script loading
   several could not tell. It names the folder or Hub id now, where the load gives it (`from_pretrained` of the
   config, the model or AutoConfig / AutoModel).
6. `citrus evaluate`'s CiTrus arms built their regressors unnamed on a set that names its target (the heart-rate sets:
   `heart_rate`), where `citrus finetune` names the same regressor by the set's name: the two commands' models of one
   set differed in `config.target_names`. The arms now pass the set's names as finetune does.
7. A regressor's names given twice were refused by the config, the model and the metrics, but a registered set could
   declare them (`register_dataset(target_names=("heart_rate", "heart_rate"))`), which failed only inside a run, on
   the regressor's count of names. `register_dataset` refuses it, naming the name.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from tiny_configs import save_tiny_classifier

from citrus_hf.commands.main import main


def _hidden(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


# ------------------------------------------------------------------------------ 1. export holds its folder's lock


def test_export_removes_a_killed_exports_staging_folder_and_keeps_the_folders_files(tmp_path, caplog):
    model = save_tiny_classifier(tmp_path / "model")
    output = tmp_path / "deploy"
    (output / ".citrus-export-dead00").mkdir(parents=True)
    (output / ".citrus-export-dead00" / "model.onnx").write_bytes(b"\0" * 64)
    (output / "config.json").write_text("{}", encoding="utf-8")  # a checkpoint's: the export is refused
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        assert main(["export", str(model), "--output-dir", str(output)]) == 2
    assert _hidden(output) == []
    assert (output / "config.json").read_text(encoding="utf-8") == "{}"
    assert any(".citrus-export-dead00" in record.getMessage() for record in caplog.records)


def test_an_export_into_a_folder_another_run_writes_is_refused_and_leaves_it_alone(tmp_path, capsys):
    from citrus_hf.training.run_lock import output_folder_lock

    model = save_tiny_classifier(tmp_path / "model")
    output = tmp_path / "deploy"
    output.mkdir()
    (output / "model.onnx").write_bytes(b"the earlier deployment")
    with output_folder_lock(output, "citrus export"):
        assert main(["export", str(model), "--output-dir", str(output), "--cache-dir", str(tmp_path / "c")]) == 2
        assert "is being written by another run (citrus export" in capsys.readouterr().err
    assert (output / "model.onnx").read_bytes() == b"the earlier deployment"
    assert sorted(path.name for path in output.iterdir()) == ["model.onnx"]
    assert not (tmp_path / "c").exists()  # refused before anything was exported


# ------------------------------------------------------------------------ 2. an events table without labels


def _events_folder(folder, label: bool):
    rng = np.random.default_rng(0)
    rows = []
    for split in ("train", "test"):
        (folder / split).mkdir(parents=True)
        name = f"{split}/run.npy"
        np.save(folder / name, rng.standard_normal((1, 2000)).astype(np.float32))
        for onset in (0, 6, 12):
            rows.append({"file_name": name, "onset": onset, "duration": 4.0, "sampling_rate": 100.0})
            if label:
                rows[-1]["label"] = "ab"[onset % 12 // 6]
    pd.DataFrame(rows).to_csv(folder / "metadata.csv", index=False)
    return folder


def test_an_events_table_without_labels_is_refused_naming_the_column_and_the_fixes(tmp_path, capsys):
    from citrus_hf.data.recording_folders import metadata_layout

    folder = _events_folder(tmp_path / "set", label=False)
    with pytest.raises(ValueError, match=r"metadata.csv is an events table .* no `label` .* column") as refused:
        metadata_layout(folder)
    assert "remove its `onset` and `duration` columns" in str(refused.value)
    assert main(["data", "info", str(folder)]) == 2
    assert "events table" in capsys.readouterr().err
    # with labels it is the events set it was
    labelled = metadata_layout(_events_folder(tmp_path / "labelled", label=True))
    assert [len(events) for split in labelled.values() for events in split.values()] == [3, 3]


# -------------------------------------------------------------- 3. DDP told which parameters get no gradient


def _rows(count: int = 4) -> list[dict]:
    import torch

    generator = torch.Generator().manual_seed(0)
    return [{"input_values": torch.randn(2, 200, generator=generator), "labels": index % 2} for index in range(count)]


@pytest.mark.parametrize("features", ["context", "all_layers", "encoded"])
def test_the_parameters_a_task_model_leaves_without_gradient_are_found_without_changing_it(features):
    import torch
    from tiny_configs import tiny_config
    from transformers import default_data_collator

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.trainer import trainable_parameters_without_gradient

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, num_channels=2, head_features=features))
    model.train()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    unused = trainable_parameters_without_gradient(model, _rows(), default_data_collator)
    if features == "encoded":  # the head reads the CNN tokens: the transformer layers after them get no gradient
        assert unused and all(name.startswith("citrus.encoder.") for name in unused)
    else:
        assert unused == []
    # nothing of the model changed: no gradient left behind, no batch-norm statistic moved, its mode kept
    assert all(parameter.grad is None for parameter in model.parameters())
    assert all(torch.equal(tensor, before[name]) for name, tensor in model.state_dict().items())
    assert model.training


# ------------------------------------------------------------ 4, 5. the citrus-hf that wrote a file, and which file


def _fusion_folder(folder):
    from tiny_configs import tiny_config

    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "ppg": tiny_config()}, num_labels=2)
    config.save_pretrained(folder)
    CiTrusFusionProcessor.from_config(config).save_pretrained(folder)
    return folder


def _edit(path, **values):
    import json

    saved = json.loads(path.read_text(encoding="utf-8"))
    saved.update(values)
    path.write_text(json.dumps(saved), encoding="utf-8")
    return saved


def _messages(caplog, text: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if text in record.getMessage()]


def test_the_fusion_files_record_the_citrus_hf_that_wrote_them(tmp_path):
    import json

    from citrus_hf import __version__
    from citrus_hf._version import VERSION_KEY
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

    folder = _fusion_folder(tmp_path / "fusion")
    for name in ("config.json", "processor_config.json"):
        assert json.loads((folder / name).read_text(encoding="utf-8"))[VERSION_KEY] == __version__
    config, processor = CiTrusFusionConfig.from_pretrained(folder), CiTrusFusionProcessor.from_pretrained(folder)
    assert not hasattr(config, VERSION_KEY) and VERSION_KEY not in config.to_dict()
    assert VERSION_KEY not in processor.to_dict()
    # (a config built from the file's contents by hand keeps none either)
    values = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert VERSION_KEY not in CiTrusFusionConfig(**values).to_dict()


def test_a_newer_citrus_hfs_fusion_settings_say_so_naming_the_folder(tmp_path, caplog):
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

    folder = _fusion_folder(tmp_path / "fusion")
    _edit(folder / "config.json", citrus_hf_version="99.1.0", some_future_setting=3)
    saved = _edit(folder / "processor_config.json", citrus_hf_version="99.1.0")
    saved["feature_extractors"]["ecg"]["future_alignment"] = 1
    _edit(folder / "processor_config.json", **saved)
    with caplog.at_level("WARNING"):
        CiTrusFusionConfig.from_pretrained(folder)
    (config_message,) = _messages(caplog, f"The config.json of {str(folder)!r} was written by citrus-hf 99.1.0")
    assert "'some_future_setting'" in config_message and "pip install -U citrus-hf" in config_message
    caplog.clear()
    with caplog.at_level("WARNING"):
        CiTrusFusionProcessor.from_pretrained(folder)  # (which reads the config beside it too)
    (processor_message,) = _messages(caplog, "processor_config.json (modality 'ecg') was written by citrus-hf 99.1.0")
    assert "'future_alignment'" in processor_message and str(folder) in processor_message
    assert not _messages(caplog, "does not know") and not _messages(caplog, "preprocessor_config.json")


def test_the_newer_version_warning_of_a_config_names_the_checkpoint_on_every_route(tmp_path, caplog):
    from tiny_configs import tiny_config
    from transformers import AutoConfig, AutoModelForSequenceClassification

    from citrus_hf import CiTrusConfig, CiTrusForSequenceClassification

    folder = tmp_path / "model"
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(folder)
    _edit(folder / "config.json", citrus_hf_version="99.1.0", some_future_setting=3)
    loads = (
        CiTrusConfig.from_pretrained,
        CiTrusForSequenceClassification.from_pretrained,
        AutoConfig.from_pretrained,
        AutoModelForSequenceClassification.from_pretrained,
    )
    for load in loads:
        caplog.clear()
        with caplog.at_level("WARNING"):
            load(folder)
        (message,) = _messages(caplog, "was written by citrus-hf 99.1.0")
        assert f"The config.json of {str(folder)!r}" in message, (load, message)
    # a config built from the file's contents alone cannot name it, and says which file it means
    caplog.clear()
    import json

    with caplog.at_level("WARNING"):
        CiTrusConfig.from_dict(json.loads((folder / "config.json").read_text(encoding="utf-8")))
    (message,) = _messages(caplog, "was written by citrus-hf 99.1.0")
    assert message.startswith("This checkpoint's config.json")


# ------------------------------------------------------------------ 6. evaluate's regressors named as finetune's


def test_evaluates_citrus_arms_name_a_regressor_by_the_sets_target_names(monkeypatch):
    import importlib
    from types import SimpleNamespace

    from citrus_hf.evaluation.arms import ARMS

    finetune_module = importlib.import_module("citrus_hf.training.finetune")  # (the package names its function so)

    built = {}

    class Built(Exception):
        pass

    def build(*args, **kwargs):
        built.update(kwargs, args=args)
        raise Built

    monkeypatch.setattr(finetune_module, "build_citrus_task_model", build)
    splits = SimpleNamespace(
        task="regression",
        num_channels=1,
        label_names=None,
        target_names=["heart_rate"],
        examples=lambda split="train": None,  # (TaskSplits.examples: every row is an example, no window_seconds)
    )
    context = SimpleNamespace(
        splits=splits,
        pool_labels=np.array([60.0, 70.0, 80.0, 90.0]),
        config=SimpleNamespace(recipe="probe"),
        overrides={},
    )
    prepared = {"aligned": (None, None, None), "checkpoint": None, "contract": None, "model_overrides": {}}
    with pytest.raises(Built):
        ARMS["citrus-scratch"].run(context, prepared, np.arange(4), 0, None)
    assert built["target_names"] == ["heart_rate"]


# ------------------------------------------------------------ 7. a set's target names given twice, refused at once


def test_a_dataset_registered_with_a_target_name_twice_is_refused_naming_it():
    from citrus_hf.data.errors import CitrusDataError
    from citrus_hf.data.registry import DATASETS, register_dataset

    with pytest.raises(CitrusDataError, match=r"'heart_rate' twice"):
        register_dataset(
            name="audit70_twice",
            description="two names",
            task="regression",
            sources=(),
            splits="by subject",
            target_names=("heart_rate", "heart_rate"),
        )
    assert "audit70_twice" not in DATASETS
