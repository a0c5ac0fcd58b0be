"""Audit 74, a review of the session's own Hub / peft / dtype work (tests/test_lefthub_audit74.py,
tests/test_dtypes_audit74.py): the Hub file named in a damaged-JSON error is the one that is damaged, and a local
file keeps transformers' own words; the subfolder an adapter records of its base never outlives the base it was
recorded for; a set of one's own read from the Hub asks for no registered set's note unless its recordings cross its
splits; a task head whose first parameter holds no floats (a quantized layer's packed weight) takes the features as
they come; peft's `merge_and_unload(adapter_names=[])` is peft's own.

Tiny random models on the CPU, and a Hub cache laid out by hand (no network): a few seconds each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor

# A commit of the hand-made Hub cache (`_hub_cache`)
COMMIT = "a" * 40
DAMAGED = "{damaged"


def _hub_cache(tmp_path: Path, files: dict[str, str]) -> Path:
    """A Hub cache holding `files` (name -> text) of the model repository 'owner/name' at `COMMIT`, its main branch,
    as `hf_hub_download` lays them out (a snapshot of the commit, `refs/main` naming it). Returns the cache folder, for
    `cache_dir=`."""
    repository = tmp_path / "cache" / "models--owner--name"
    snapshot = repository / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repository / "refs").mkdir()
    (repository / "refs" / "main").write_text(COMMIT)
    for name, text in files.items():
        (snapshot / name).write_text(text)
    return tmp_path / "cache"


def test_a_damaged_hub_preprocessor_config_is_named_as_itself(tmp_path):
    """A Hub repository's preprocessor_config.json that is not JSON was reported as "config.json of 'owner/name' ...
    is not valid JSON": the file named was another one, intact. The message names the damaged file."""
    cache = _hub_cache(tmp_path, {"preprocessor_config.json": DAMAGED, "config.json": "{}"})
    with pytest.raises(OSError) as raised:
        CiTrusFeatureExtractor.from_pretrained("owner/name", cache_dir=cache, local_files_only=True)
    message = str(raised.value)
    assert message.startswith("preprocessor_config.json of 'owner/name'"), message
    assert str(cache) not in message  # (the repository as typed, not its cache folder)


def test_a_damaged_hub_config_is_still_named_by_its_repository(tmp_path):
    """Guard: the config of a Hub repository keeps the repository's name (the session's fix) after the file name became
    a parameter of the lookup."""
    cache = _hub_cache(tmp_path, {"config.json": DAMAGED})
    with pytest.raises(OSError) as raised:
        CiTrusConfig.from_pretrained("owner/name", cache_dir=cache, local_files_only=True)
    assert str(raised.value).startswith("config.json of 'owner/name'"), raised.value


def test_a_damaged_local_config_file_is_not_called_a_hub_repositorys_copy(tmp_path):
    """`CiTrusConfig.from_pretrained("my_config.json")` (transformers takes a config file's path) of a file that is
    not JSON was reported as "config.json of '/path/my_config.json' (revision 'main') is not valid JSON ...: the
    repository's copy is damaged ... publish the checkpoint again (`push_to_hub`)", a Hub repository's words for a
    local file of another name. It keeps transformers' message, which names the file as given."""
    path = tmp_path / "my_config.json"
    path.write_text(DAMAGED)
    with pytest.raises(OSError) as raised:
        CiTrusConfig.from_pretrained(str(path))
    message = str(raised.value)
    assert str(path) in message and "push_to_hub" not in message and "repository" not in message, message


def test_an_adapter_records_no_subfolder_of_another_adapters_base(tmp_path):
    """The card's peft code builds a base with `CiTrusConfig.from_json_file(<adapter>/citrus_task_config.json)`, which
    keeps that adapter's `base_model_subfolder` on the config (and a model merged from it saves it in config.json). An
    adapter trained next on a base read from a Hub repository's root copied the stale subfolder into its own
    citrus_task_config.json, so `load_adapter(None, adapter)` looked for its base in a subfolder the repository does
    not have. It records the subfolder of its own base only: here none."""
    from test_lefthub_audit74 import _from_hub_subfolder
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.lora import apply_lora, save_adapter

    first = _from_hub_subfolder(CiTrusForSequenceClassification(tiny_config(num_labels=2)), tmp_path)
    save_adapter(apply_lora(first, r=2, verbose=False), tmp_path / "first")
    config = CiTrusConfig.from_json_file(tmp_path / "first" / "citrus_task_config.json")  # as the card's code
    model = CiTrusForSequenceClassification(config)
    # read from the root of a Hub repository, as `from_pretrained("owner/merged")` records it
    model.config._name_or_path = model.name_or_path = "owner/merged"
    model._hub_source = {"revision": "0" * 40, "cache_dir": str(tmp_path)}
    save_adapter(apply_lora(model, r=2, verbose=False), tmp_path / "second")
    saved = json.loads((tmp_path / "second" / "citrus_task_config.json").read_text())
    assert "base_model_subfolder" not in saved, saved


def _own_hub_set(monkeypatch, recording: bool) -> list[str]:
    """'someone/own-set' read as a Hub set of one's own (train 12 rows, test 6, of 3 recordings that cross the splits
    where `recording`), the Hub's answers replaced here; returns the list of the registered-set notes looked up."""
    import datasets
    import numpy as np

    from citrus_hf.data import splits

    def rows(count: int) -> dict:
        generator = np.random.default_rng(count)
        values = {
            "input_values": [generator.standard_normal(200).astype("float32") for _ in range(count)],
            "label": [index % 2 for index in range(count)],
            "sampling_rate": [100.0] * count,
        }
        return {**values, "recording": [f"r{index % 3}" for index in range(count)]} if recording else values

    loaded = datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(rows(12)), "test": datasets.Dataset.from_dict(rows(6))}
    )
    looked_up: list[str] = []
    monkeypatch.setattr(splits, "check_dataset_reference", lambda dataset: None)
    monkeypatch.setattr(splits, "_load_from_hub", lambda dataset: loaded)
    monkeypatch.setattr(splits, "built_from_hub", lambda repo_id: looked_up.append(repo_id))
    return looked_up


def test_a_hub_set_whose_recordings_stay_in_one_split_asks_for_no_note(monkeypatch):
    """`load_task_splits("owner/name")` (`citrus finetune --dataset owner/name`) of any Hub set asked the Hub for
    citrus_built_from.json (a probe of the Hub and a download that a set of one's own answers with a 404; offline, a
    look in the cache), only to decide whether to warn of recordings in two splits, also for a set with no
    `recording` column. The note is asked for only where recordings are shared."""
    from citrus_hf.data.splits import load_task_splits

    looked_up = _own_hub_set(monkeypatch, recording=False)
    load_task_splits("someone/own-set")
    assert looked_up == []


def test_a_hub_set_whose_recordings_cross_its_splits_is_still_warned(monkeypatch, caplog):
    """Guard: where recordings are shared, the note is asked for, and a set without one is warned of, as before."""
    import logging

    from citrus_hf.data.splits import load_task_splits

    looked_up = _own_hub_set(monkeypatch, recording=True)
    with caplog.at_level(logging.WARNING):
        load_task_splits("someone/own-set")
    assert looked_up == ["someone/own-set"]
    assert "also have rows in the train split" in caplog.text, caplog.text


def test_merging_an_empty_list_of_adapters_is_peft_s_unload(tmp_path):
    """`merge_and_unload(adapter_names=[])` (a list built by a loop that found nothing to merge) folds no adapter in,
    as peft's `unload()`: the session's check of merges under another head failed on it with a bare "IndexError: list
    index out of range". It is peft's own again."""
    import copy

    import torch
    from test_lefthub_audit74 import WINDOWS, _two_headed

    peft_model = _two_headed(tmp_path)
    expected = copy.deepcopy(peft_model).unload()
    with torch.no_grad():
        unloaded = peft_model.merge_and_unload(adapter_names=[])(input_values=WINDOWS).logits
        torch.testing.assert_close(unloaded, expected(input_values=WINDOWS).logits, atol=0, rtol=0)


def _packed_int8_head(in_features: int, out_features: int):
    """A head of `in_features` -> `out_features` whose weight, its first parameter, holds int8 values with a float
    scale beside it, dequantized in its forward to the features' dtype: the layout of bitsandbytes' `Linear8bitLt`."""
    import torch
    from torch import nn

    class PackedInt8Linear(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            generator = torch.Generator().manual_seed(0)
            packed = torch.randint(-127, 128, (out_features, in_features), generator=generator, dtype=torch.int8)
            self.weight = nn.Parameter(packed, requires_grad=False)
            self.scale = nn.Parameter(torch.full((out_features, 1), 0.01))

        def forward(self, features: torch.Tensor) -> torch.Tensor:  # (B, in) -> (B, out)
            return nn.functional.linear(features, self.weight.to(features.dtype) * self.scale.to(features.dtype))

    return PackedInt8Linear()


def test_a_head_packed_in_integers_takes_the_features_as_floats():
    """`run_task_head` cast the pooled features to the dtype of the head's first parameter, for a head kept in
    float32 on a bf16 model; a quantized head whose first parameter is its packed integer weight (bitsandbytes' 8-bit
    and 4-bit layers hold int8 / uint8) got its features truncated to integers, and gave other logits without a word.
    Such a head takes them as they come."""
    import torch

    from citrus_hf.modeling_citrus import run_task_head

    head = _packed_int8_head(8, 3)
    features = torch.randn(4, 8, generator=torch.Generator().manual_seed(1))  # (B, F)
    torch.testing.assert_close(run_task_head(head, features), head(features), atol=0, rtol=0)
