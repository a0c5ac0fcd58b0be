"""Review of session 77's own objects work (review 2): the per-set settings of a `ProtocolConfig` whose keys are
given as `pathlib.Path`s (turned into their names since the objects audit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from citrus_hf.evaluation import ProtocolConfig


@pytest.mark.parametrize("setting", ["alignment", "dataset_options"])
def test_a_set_named_as_a_path_and_as_its_string_in_one_setting_is_refused(setting):
    """`{Path("basic_motions"): ..., "basic_motions": ...}` named one set twice once the Path became its string: one of
    the two values was dropped without a word (whichever came last)."""
    first, second = ("interpolate", "resample") if setting == "alignment" else ({"window_seconds": 1.0}, {})
    with pytest.raises(ValueError, match=rf"`{setting}` names the set 'basic_motions' twice"):
        ProtocolConfig(
            datasets=["basic_motions"], arms=["prior"], seeds=[0],
            **{setting: {Path("basic_motions"): first, "basic_motions": second}},
        )  # fmt: skip


def test_the_runs_take_a_spec_of_list_datasets_where_they_take_its_name(tmp_path):
    """`build_dataset` takes a `DatasetSpec` of `list_datasets()` since the objects audit, but `ProtocolConfig(datasets=
    [spec])` and `FinetuneArguments(dataset=spec)` refused it as an in-memory set ("save an in-memory dataset with
    `dataset.save_to_disk(folder)`")."""
    from citrus_hf.data import get_dataset_spec
    from citrus_hf.training import FinetuneArguments

    spec = get_dataset_spec("basic_motions")
    assert ProtocolConfig(datasets=[spec], arms=["prior"], seeds=[0]).datasets == ["basic_motions"]
    assert FinetuneArguments(dataset=spec, output_dir=str(tmp_path)).dataset == "basic_motions"
