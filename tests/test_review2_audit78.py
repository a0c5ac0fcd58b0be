"""A review of this session's listing memo (review2 of session 78, area datamemo: `data.listings.one_listing`). The
memo is sound where it was taken (one walk per call, a copy per caller, afresh outside a scope and inside a build);
three entry points that read one folder of one's own in several calls took no scope of their own and walked it once
per call: `citrus data build FOLDER` (its load, then what its labels belong to: three walks), `citrus pretrain
--dataset FOLDER` (its training split, its held-out split's name, that split: three) and `citrus evaluate --dataset
FOLDER`'s set (its rate, then its splits: two). Listings counted by `os.scandir` (`test_mendC_audit77`)."""

import contextlib
import importlib
import io
import os

from test_mendC_audit77 import _pile, root_listings  # noqa: F401  (a fixture: {folder: times os.scandir listed it})
from tiny_configs import tiny_config

from citrus_hf.commands.main import main

# (the module: `citrus_hf.training.pretrain` is also the name of its function)
pretrain_module = importlib.import_module("citrus_hf.training.pretrain")


def test_citrus_data_build_walks_a_folder_once(recording_folders, own_datasets_cache, root_listings):  # noqa: F811
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["data", "build", str(recording_folders), "--sampling-rate", "50"]) == 0
    assert root_listings[os.path.realpath(recording_folders)] == 1


def test_citrus_pretrain_walks_its_folder_once(tmp_path, own_datasets_cache, root_listings):  # noqa: F811
    from accelerate import Accelerator

    pile = _pile(tmp_path / "pile")
    arguments = pretrain_module.PretrainArguments(
        output_dir=str(tmp_path / "run"), dataset=str(pile), model_config="tiny", max_steps=1, sampling_rate=50.0
    )
    pretrain_module._load_corpus(arguments, tiny_config(), Accelerator(cpu=True))
    assert root_listings[os.path.realpath(pile)] == 1


def test_citrus_evaluate_walks_a_set_s_folder_once(recording_folders, own_datasets_cache, tmp_path, root_listings):  # noqa: F811
    from citrus_hf.evaluation.protocol import ProtocolConfig, _dataset_context

    folder = str(recording_folders)
    config = ProtocolConfig(output_dir=str(tmp_path / "ev"), datasets=[folder], arms=["minirocket"], sampling_rate=50.0)
    assert _dataset_context(config, folder).splits.test.num_rows == 4
    assert root_listings[os.path.realpath(recording_folders)] == 1
