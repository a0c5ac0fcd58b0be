"""A review of audit 73's changes (review2): what they refused or changed beyond what they meant. Pre-training on a
BIDS dataset reads its recordings whole again (its events.tsv files choose fine-tuning examples only), and Trainer's
DeepSpeed ZeRO-3 save of an empty `state_dict={}` is let through `save_pretrained`'s check of a given state dict."""

from __future__ import annotations

import importlib
import logging

import numpy as np
import pytest
from test_bids_audit73 import RATE, _bids
from tiny_configs import tiny_config, write_edf

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.data.splits import load_split

# (the module: `citrus_hf.training.pretrain` is also the name of its function)
pretrain_module = importlib.import_module("citrus_hf.training.pretrain")

# a stimulus study's events.tsv, as most OpenNeuro EEG sets write it: point events (duration n/a), no trial_type
POINT_EVENTS = [[1.0, "n/a", "stim", 1], [4.0, "n/a", "stim", 2]]


def _corpus(root, tmp_path, **options):
    """`citrus pretrain --dataset root`'s training and validation windows, as its run reads them."""
    from accelerate import Accelerator

    arguments = pretrain_module.PretrainArguments(
        output_dir=str(tmp_path / "run"), dataset=str(root), model_config="tiny", max_steps=1, **options
    )
    return pretrain_module._load_corpus(arguments, tiny_config(), Accelerator(cpu=True))


def test_pretraining_reads_a_bids_datasets_recordings_whole(tmp_path, own_datasets_cache, caplog):  # noqa: F811
    """`citrus pretrain --dataset ROOT` on a BIDS dataset with events.tsv files pre-trained on the events' stretches
    alone (2 s of a 12 s recording), or was refused outright for a point event (duration n/a, BIDS's stimulus onset)
    or an events.tsv without trial_type, since the BIDS reading made events its examples: a self-supervised corpus
    is every recording whole, as it was read before (and as a BIDS set without events still is)."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02", "03", "04", "05"), events=POINT_EVENTS)
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        train, held_out = _corpus(root, tmp_path)
    assert train is not None and held_out is not None  # whole files carved off for the validation loss, as a pile's
    whole = load_split(root, "train", None, None, bids_events=False)
    assert sorted(len(row[0]) for row in whole["input_values"]) == [12 * RATE] * len(whole)
    assert "events.tsv files label" not in caplog.text  # its warning no longer says that its events are read
    assert "each recording is read whole" in caplog.text


def test_fine_tuning_still_reads_a_bids_datasets_events(tmp_path, own_datasets_cache):  # noqa: F811
    """The default (fine-tuning, data info, evaluate) reads the events: one example per event."""
    root = tmp_path / "bids"
    _bids(root)
    assert len(load_split(root, "train")) == 9


def test_save_pretrained_takes_deepspeeds_empty_state_dict(tmp_path):
    """transformers' Trainer under DeepSpeed ZeRO-3 without `stage3_gather_16bit_weights_on_model_save` saves each
    checkpoint with `save_pretrained(folder, state_dict={})`, removes the empty weights file and writes DeepSpeed's
    own checkpoint beside the config: the check of a given state dict refused it ("missing [...]"), so training
    stopped at its first checkpoint. An empty state dict writes no weights, which nothing then loads as a model."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    model.save_pretrained(tmp_path, state_dict={})
    assert (tmp_path / "config.json").is_file()
    assert not (tmp_path / "model.safetensors").exists()
    with pytest.raises(ValueError, match=r"missing \['classifier.bias', 'classifier.weight'\]"):
        fewer = {name: tensor for name, tensor in model.state_dict().items() if not name.startswith("classifier.")}
        model.save_pretrained(tmp_path / "fewer", state_dict=fewer)  # (a partial one is still refused)


@pytest.mark.parametrize("events", [True, False])
def test_a_bids_piles_derivatives_are_not_read_a_second_time(tmp_path, own_datasets_cache, caplog, events):
    """A BIDS root read as a pile (pre-training's corpus, or a resting-state set without events) read the processed
    copies under derivatives/ beside the raw recordings (BIDS's own folder of them): each recording twice, and a copy
    could land on the other side of the pile's whole-file validation carve. Only the events route left them out."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02", "03", "04", "05"))
    if not events:
        for table in root.rglob("*_events.tsv"):
            table.unlink()
    copy = root / "derivatives" / "filtered" / "sub-01" / "eeg"
    copy.mkdir(parents=True)
    filtered = [np.round(np.random.default_rng(9).uniform(-50, 50, 12 * RATE)) for _ in range(3)]
    write_edf(copy / "sub-01_task-motor_run-1_desc-filtered_eeg.edf", filtered, ["C3", "Cz", "C4"], RATE, peak=200.0)
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        # (a resting-state set is a pile in every reading; one with events is for pre-training)
        whole = {"bids_events": False} if events else {}
        rows = [load_split(root, split, None, None, **whole) for split in ("train", "validation")]
    recordings = [name for split in rows for name in split["recording"]]
    assert len(recordings) == 5 and not any("derivatives" in name for name in recordings)
    assert "lie in derivatives/ (first: derivatives/filtered/" in caplog.text


def test_a_compiled_models_state_dict_is_refused_naming_its_own_attribute(tmp_path):
    """A compiled model's state dict (`torch.compile(model).state_dict()`, every name behind `_orig_mod.`) was
    refused with DataParallel's fix, `wrapper.module.save_pretrained(folder)`: a compiled model has no `module`
    (AttributeError). The fix named is the attribute the prefix names."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    compiled = {"_orig_mod." + name: tensor for name, tensor in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"prefix '_orig_mod\.'.*`wrapper\._orig_mod\.save_pretrained\(folder\)`"):
        model.save_pretrained(tmp_path, state_dict=compiled)


def test_citrus_predict_on_a_bids_folder_does_not_say_its_events_and_bad_channels_are_read(tmp_path, caplog):
    """`citrus predict ROOT` predicts every recording of a BIDS folder whole, all its channels: its warning said that
    "its events.tsv files label the recordings, its channels.tsv files' bad channels are left out", as fine-tuning's
    reading of the folder does, and neither held."""
    from citrus_hf.commands.predict import _expand_folders

    root = tmp_path / "bids"
    _bids(root, subjects=("01",))
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        files = _expand_folders([str(root)])
    assert len(files) == 1
    assert "bad channels are left out" not in caplog.text and "each recording is read whole" in caplog.text
