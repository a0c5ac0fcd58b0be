"""Session 71 leftovers (7): the settings' mappings given as another `Mapping` than a dict."""

from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType

import pytest


@pytest.mark.parametrize("name", ["config_overrides", "dataset_options"])
def test_finetune_arguments_take_any_mapping(tmp_path, name):
    """`FinetuneArguments(dataset_options=MappingProxyType(...))` (or an OmegaConf `DictConfig`, any read-only
    `Mapping`) was refused as "must be a mapping ..., got mappingproxy(...)", though it is one: it is now taken, as a
    dict of its entries (the fields' type, which the run serialises and updates)."""
    from citrus_hf.training.arguments import FinetuneArguments

    arguments = FinetuneArguments(
        dataset="x", output_dir=str(tmp_path / "out"), **{name: MappingProxyType({"window_seconds": 10})}
    )
    assert type(getattr(arguments, name)) is dict and getattr(arguments, name) == {"window_seconds": 10}


def test_pretrain_arguments_take_any_mapping(tmp_path):
    """`PretrainArguments`' mapping fields take any `Mapping` too (a dict subclass stays a dict of its entries)."""
    from citrus_hf.training.arguments import PretrainArguments

    arguments = PretrainArguments(
        dataset=None,
        output_dir=str(tmp_path / "out"),
        synthetic_ratio=1.0,
        synthetic_generators=MappingProxyType({"cauker": 0.3, "ecg": 0.6}),
        config_overrides=OrderedDict(d_model=16),
    )
    assert type(arguments.synthetic_generators) is dict and arguments.synthetic_generators == {
        "cauker": 0.3,
        "ecg": 0.6,
    }
    assert type(arguments.config_overrides) is dict and arguments.config_overrides == {"d_model": 16}


def test_pretrain_arguments_refuse_overrides_as_text_before_reading_them_with_a_model(tmp_path):
    """`PretrainArguments(model=..., config_overrides="d_model=16")` named the text's letters as overrides
    ("--config-overrides ['1', '6', '=', ...] set up a model ..."): the mapping check now runs first."""
    from citrus_hf.training.arguments import PretrainArguments

    with pytest.raises(ValueError, match="`config_overrides` must be a mapping"):
        PretrainArguments(
            dataset=None, output_dir=str(tmp_path / "out"), model="citrus-small", config_overrides="d_model=16"
        )
