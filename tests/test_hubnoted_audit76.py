"""Leftovers of audit 75 in loading, the Hub, inference and the Trainer: the conversion advice of a sharded pickled
checkpoint reads every shard; offline, a Hub id the cache holds nothing of is said so by the CiTrus classes as by the
package's commands; a model loaded from a bare `state_dict=` is named as one; `dtype` and `torch_dtype` that disagree
are refused; the Trainer's column advice for a list of rows; a removed-column refusal with data-loading workers.
Tiny models, no network."""

from __future__ import annotations

import glob
import json
import logging
import re

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification, CiTrusModel


def _sharded_pickled_checkpoint(folder):
    """A classifier's checkpoint folder holding its config and its weights as two pickled shards with their index
    (`pytorch_model-0000x-of-00002.bin`, `pytorch_model.bin.index.json`), as older transformers saved a large model;
    and the model."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    model.save_pretrained(folder)
    (folder / "model.safetensors").unlink()
    state = model.state_dict()
    keys = sorted(state)
    weight_map = {}
    for number, part in enumerate((keys[: len(keys) // 2], keys[len(keys) // 2 :]), start=1):
        name = f"pytorch_model-{number:05d}-of-00002.bin"
        torch.save({key: state[key] for key in part}, folder / name)
        weight_map |= dict.fromkeys(part, name)
    (folder / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return model


@pytest.mark.parametrize("given", [{}, {"use_safetensors": False}])
def test_the_conversion_of_sharded_pickled_weights_reads_every_shard(given, tmp_path):
    """The advice for a folder of pickled shards named `torch.load` of the first shard alone (and, for
    `use_safetensors=False`, a pytorch_model.bin the folder does not hold): the model built from it missed the other
    shard's tensors. It now names the set of shards and its index, and its call merges every shard: that call and
    `save_pretrained` give the model that was saved."""
    folder = tmp_path / "sharded"
    model = _sharded_pickled_checkpoint(folder)
    with pytest.raises((OSError, ValueError)) as raised:
        CiTrusForSequenceClassification.from_pretrained(str(folder), **given)
    said = str(raised.value)
    assert "the 2 shards pytorch_model-*-of-00002.bin (listed in pytorch_model.bin.index.json)" in said, said
    call = re.search(r"`(CiTrusForSequenceClassification\.from_pretrained\(None, [^`]+)`", said)
    assert call is not None and "pytorch_model-00001" not in call.group(1), said
    namespace = {"CiTrusForSequenceClassification": CiTrusForSequenceClassification, "torch": torch, "glob": glob}
    eval(call.group(1), namespace).save_pretrained(folder)
    loaded = CiTrusForSequenceClassification.from_pretrained(str(folder))
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor, rtol=0, atol=0)


@pytest.mark.parametrize("task_class", [False, True])
def test_a_model_loaded_from_a_bare_state_dict_is_named_as_one(task_class, caplog):
    """`from_pretrained(None, config=config, state_dict=...)` (the conversion the pickle refusal names) logged
    "encoder loaded from 'None' (another CiTrus class's checkpoint)": no checkpoint named None was read. The line
    now names the state dict given, and what of it was left unused as the state dict's."""
    config = tiny_config(num_labels=2)
    if task_class:  # a task class given the encoder's tensors: its new head is named
        loader, state = (
            CiTrusForSequenceClassification,
            {f"citrus.{k}": v for k, v in CiTrusModel(config).state_dict().items()},
        )
    else:  # an encoder given a classifier's tensors: its head is left unused
        loader, state = CiTrusModel, CiTrusForSequenceClassification(config).state_dict()
    with caplog.at_level(logging.INFO, logger="citrus_hf"):
        loader.from_pretrained(None, config=config, state_dict=state)
    said = " ".join(record.getMessage() for record in caplog.records if "encoder loaded from" in record.getMessage())
    assert f"{loader.__name__}: encoder loaded from the `state_dict=` given" in said, said
    assert "'None'" not in said and "checkpoint" not in said, said
    assert ("new, untrained head: classifier" if task_class else "not used: the state dict's classifier") in said


def test_dtype_and_torch_dtype_that_disagree_are_refused_by_from_pretrained(tmp_path):
    """`from_pretrained(folder, dtype=torch.float16, torch_dtype=torch.float32)` loaded a float16 model without a
    word (transformers lets `dtype` win): refused now, naming both; the same dtype under both names, one as a string,
    still loads in it."""
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"`dtype=torch.float16` and `torch_dtype=torch.float32` disagree"):
        CiTrusForSequenceClassification.from_pretrained(str(tmp_path), dtype=torch.float16, torch_dtype=torch.float32)
    loaded = CiTrusForSequenceClassification.from_pretrained(str(tmp_path), dtype="float16", torch_dtype=torch.float16)
    assert loaded.dtype == torch.float16


@pytest.mark.parametrize(
    "loader, filename",
    [
        ("CiTrusForSequenceClassification", "config.json"),
        ("CiTrusFeatureExtractor", "preprocessor_config.json"),
    ],
)
def test_offline_a_hub_id_the_cache_holds_nothing_of_is_said_so_in_one_line(loader, filename, tmp_path):
    """Offline, `from_pretrained("owner/name")` of a repository the Hub cache holds no file of showed transformers'
    "We couldn't connect to 'https://huggingface.co' ... see how to run the library in offline mode" (or, for the
    extractor, the package's "the Hub did not answer", which offline mode never asked), where `citrus_hf.
    load_pretrained` said the cache lacks it: the CiTrus classes now give the package's one line, which names the
    file and how to download the repository once while online. (The Auto classes keep transformers' error for such an
    id, which nothing tells to be a CiTrus one: test_review3_audit76.)"""
    import transformers

    import citrus_hf

    owner = getattr(citrus_hf, loader, None) or getattr(transformers, loader)
    with pytest.raises(OSError) as raised:
        owner.from_pretrained("owner/nothing", cache_dir=tmp_path / "cache", local_files_only=True)
    said = str(raised.value)
    assert said.startswith(f"The Hub cache holds no {filename} of 'owner/nothing', and offline mode is on"), said
    assert "snapshot_download('owner/nothing')" in said and "\n" not in said, said


def _classifier_rows(**row):
    """A tiny classifier and two rows of one window each (`row`: the other columns)."""
    config = tiny_config(num_labels=2, id2label={0: "rest", 1: "walk"}, label2id={"rest": 0, "walk": 1})
    window = np.zeros((config.num_channels, 200), dtype=np.float32)
    return CiTrusForSequenceClassification(config), window, [{**row, "input_values": window} for _ in range(2)]


@pytest.mark.parametrize("case", ["past_values", "class names"])
def test_the_trainer_advises_a_list_of_rows_a_fix_a_list_takes(case, tmp_path):
    """For a list of dicts, the Trainer's refusals of PatchTST's `past_values` column and of class names as labels
    advised `dataset.rename_column(...)` / `dataset.cast_column(...)`, which a list lacks (AttributeError). The advice
    is now a rebuild of the rows, which the Trainer then takes (`past_values` transposed to `input_values`, the names
    numbered as the model's classes)."""
    from transformers import Trainer, TrainingArguments

    model, window, rows = _classifier_rows(labels="walk")
    if case == "past_values":
        rows = [{"past_values": window.T, "labels": 1} for _ in rows]
    args = TrainingArguments(str(tmp_path), report_to=[], use_cpu=True)
    with pytest.raises(ValueError) as raised:
        Trainer(model=model, args=args, train_dataset=rows)
    said = str(raised.value)
    advice = re.search(r"`rows = (\[[^`]+\])`", said)
    assert advice is not None and "dataset." not in said, said
    fixed = eval(advice.group(1), {"np": np, "rows": rows})
    Trainer(model=model, args=args, train_dataset=fixed)
    assert fixed[0]["labels"] == 1 and np.shape(fixed[0]["input_values"]) == window.shape


def test_a_removed_column_read_in_a_loader_worker_is_said_in_the_package_line(tmp_path):
    """With `dataloader_num_workers > 0` the refusal of a transform reading a column the Trainer removed came back
    as torch rebuilds a worker's error: "Caught ValueError in DataLoader worker process 0. Original Traceback ..."
    with a page of datasets' frames before the package's line. It is now that line alone (a ValueError still). The
    worker's round trip is torch's `ExceptionWrapper` (what the worker sends, `reraise` what the loop raises), run
    here without starting a worker process."""
    import sys

    from datasets import Dataset
    from test_review8_audit75 import _reading_signal
    from torch._utils import ExceptionWrapper
    from transformers import Trainer, TrainingArguments

    rng = np.random.default_rng(0)
    given = Dataset.from_dict(
        {"signal": [rng.standard_normal((1, 200)).tolist() for _ in range(2)], "labels": [0, 1]}
    ).with_transform(_reading_signal)
    arguments = TrainingArguments(str(tmp_path), report_to="none", use_cpu=True, dataloader_num_workers=1)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, channel_pooling="mean"))
    kept = Trainer(model=model, args=arguments, train_dataset=given).get_train_dataloader().dataset
    try:
        kept[0]
    except ValueError:
        sent = ExceptionWrapper(sys.exc_info(), where="in DataLoader worker process 0")
    with pytest.raises(ValueError) as raised:
        sent.reraise()
    said = str(raised.value)
    assert said.startswith("Trainer.train: the set's transform (with_transform / set_transform) reads its 'signal'")
    assert "\n" not in said and said.endswith("remove_unused_columns=False)."), said
