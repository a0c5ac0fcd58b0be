"""Leftovers of audit 76 on the Hub and loading side: a sharded pickled checkpoint is named by its index and its count
of shards, not shard by shard. Tiny models, no network."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.loading import load_pretrained

# ------------------------------------------------------------------------- 1. the shards of a pickled checkpoint


def _pickled_shards_folder(folder, count=12):
    """A classifier's checkpoint folder (config, feature extractor) whose weights are `count` pickled shards
    `pytorch_model-0000x-of-000NN.bin` with their `pytorch_model.bin.index.json`, as older transformers saved them."""
    config = tiny_config(num_labels=2)
    config.save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    for number in range(1, count + 1):
        torch.save({}, folder / f"pytorch_model-{number:05d}-of-{count:05d}.bin")
    (folder / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {}, "weight_map": {}}))


@pytest.mark.parametrize("loader", ["class", "load_pretrained"])
def test_a_sharded_pickled_checkpoint_is_named_by_its_index_and_shard_count(loader, tmp_path):
    """The refusal of a folder of pickled shards listed every shard on its one line (hundreds of names for a large
    checkpoint). It now names the index and how many shards it has; the conversion still merges every shard."""
    _pickled_shards_folder(tmp_path)
    with pytest.raises(OSError) as raised:
        if loader == "class":
            CiTrusForSequenceClassification.from_pretrained(str(tmp_path))
        else:
            load_pretrained(tmp_path)
    said = str(raised.value)
    assert "pytorch_model.bin.index.json and its 12 shards pytorch_model-*-of-00012.bin" in said, said
    assert "pytorch_model-00001-of-00012.bin" not in said and "pytorch_model-00012" not in said, said
    if loader == "class":  # the conversion's call reads the whole set
        assert "glob.glob(" in said and "pytorch_model-*-of-00012.bin" in said, said


def test_a_pickled_shard_set_missing_shards_says_how_many_it_holds(tmp_path):
    """A set with shards missing (and no index) is named with the count it holds of the count its names say."""
    _pickled_shards_folder(tmp_path, count=3)
    (tmp_path / "pytorch_model-00002-of-00003.bin").unlink()
    (tmp_path / "pytorch_model.bin.index.json").unlink()
    with pytest.raises(OSError) as raised:
        CiTrusForSequenceClassification.from_pretrained(str(tmp_path))
    assert "pickled weights ['2 of 3 shards pytorch_model-*-of-00003.bin']" in str(raised.value), str(raised.value)
