"""Audit 73, leftovers 7: the probe's notice about classes of unequal size counting windows as windows; the switch
that reads a CSV's time stamps as written on the command line; a BrainVision header's rounded SamplingInterval beside
a BIDS sidecar's SamplingFrequency. (Its test of a folder of Empatica E4 CSVs read at the rate they state is
test_readme73_audit73's.)"""

from __future__ import annotations

import numpy as np

from citrus_hf.training.recipes import RECIPES, rare_class_notice

NAMES = ["common", "other", "rare"]


def test_the_rare_class_notice_counts_windows_as_windows():
    """With `window_seconds` cutting the labelled recordings, the probe's counts are of windows and "auto"'s of
    recordings, and the line called both "labelled examples": 'rare' (3) was a class of one recording."""
    windows = np.array([0] * 90 + [1] * 90 + [2] * 3)  # 30 + 30 + 1 recordings of 3 windows each
    recordings = np.array([0] * 30 + [1] * 30 + [2])
    notice = rare_class_notice("auto", RECIPES["probe"], windows, "classification", NAMES, example_labels=recordings)
    assert "labelled examples" not in notice
    assert "(3 to 90 labelled windows)" in notice
    assert "'rare' (1 recording)" in notice
    # one window per example: examples, as before
    labels = np.array([0] * 30 + [1] * 30 + [2])
    notice = rare_class_notice("auto", RECIPES["probe"], labels, "classification", NAMES, example_labels=labels)
    assert "labelled examples" in notice and "'rare' (1)" in notice


def _stamped_csv(path, stamp_rate: float = 250.0, samples: int = 1000):
    """A CSV with a time column in seconds stamped at `stamp_rate`, and one channel."""
    values = np.sin(np.arange(samples) / 5)
    path.write_text("time,x\n" + "".join(f"{k / stamp_rate:.6f},{v:.5f}\n" for k, v in enumerate(values)))
    return path


def test_citrus_predict_reads_a_csv_as_written_with_its_switch(tmp_path, capsys):
    """fa659b3 made a --channels pick no way around the time-stamp checks, which left the command line no way to read
    a file at the rate given despite its stamps (Python keeps `check_time_stamps=False`). `--ignore-time-stamps`
    is that way, and the refusal names it."""
    import pytest
    from tiny_configs import save_tiny_classifier

    from citrus_hf.commands.main import main
    from citrus_hf.data.readers.files import READ_AS_WRITTEN_OPTION, TIME_STAMPS_FIX

    assert READ_AS_WRITTEN_OPTION == "--ignore-time-stamps" and READ_AS_WRITTEN_OPTION in TIME_STAMPS_FIX
    model = save_tiny_classifier(tmp_path / "model")
    csv = _stamped_csv(tmp_path / "run.csv")
    with pytest.raises(Exception, match="--ignore-time-stamps"):
        main(["predict", str(model), str(csv), "--sampling-rate", "100", "--channels", "x", "--debug"])
    output = tmp_path / "out.jsonl"
    argv = ["predict", str(model), str(csv), "--sampling-rate", "100", "--channels", "x", "--output", str(output)]
    assert main([*argv, READ_AS_WRITTEN_OPTION]) == 0
    assert output.read_text().count("\n") == 1


def _bids_brainvision(root, interval: str, sidecar_rate: float):
    """A BIDS-EEG root of one BrainVision recording whose header writes `SamplingInterval` as `interval` (µs), and
    whose sidecar says `sidecar_rate`."""
    import json

    folder = root / "sub-01" / "eeg"
    folder.mkdir(parents=True)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "x", "BIDSVersion": "1.9.0"}))
    stem = "sub-01_task-rest_eeg"
    (folder / f"{stem}.vhdr").write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n[Common Infos]\n"
        f"DataFile={stem}.eeg\nDataFormat=BINARY\nDataOrientation=MULTIPLEXED\nNumberOfChannels=1\n"
        f"SamplingInterval={interval}\n[Binary Infos]\nBinaryFormat=INT_16\n[Channel Infos]\nCh1=Cz,,0.1,µV\n",
        encoding="utf-8",
    )
    np.zeros(2048, "<i2").tofile(folder / f"{stem}.eeg")
    (folder / f"{stem}.json").write_text(json.dumps({"SamplingFrequency": sidecar_rate}))
    return folder / f"{stem}.vhdr"


def test_a_brainvision_interval_rounded_as_written_agrees_with_the_sidecars_rate(tmp_path):
    """MATLAB writers of BrainVision headers (BBCI's `SamplingInterval=%g`) write 1e6 / 512 Hz as 1953.12 µs, 2.6
    parts per million off: a BIDS sidecar's SamplingFrequency 512 was refused as another rate by the 1e-6 agreement.
    The header's rate is now held to the precision its interval is written in, half a unit of its last digit."""
    import pytest

    from citrus_hf.data.bids import check_sampling_frequency
    from citrus_hf.data.errors import SamplingRateError

    for number, (interval, rate) in enumerate([("1953.12", 512), ("976.56", 1024), ("977", 1024), ("4000", 250)]):
        root = tmp_path / f"ok{number}"
        check_sampling_frequency(_bids_brainvision(root, interval, rate), root)
    for number, (interval, rate) in enumerate([("1953.12", 512.1), ("976.5", 1024), ("4000", 250.1)]):
        root = tmp_path / f"bad{number}"
        with pytest.raises(SamplingRateError, match="SamplingFrequency"):
            check_sampling_frequency(_bids_brainvision(root, interval, rate), root)


def test_peft_add_weighted_adapter_on_citrus_adapters_says_what_to_do_instead():
    """peft's `add_weighted_adapter` combines LoRA matrices, not the trained task heads that every CiTrus adapter
    holds (`modules_to_save`), and refused with its own words ("target the same module with modules_to_save") and no
    way forward."""
    import pytest
    import torch
    from peft import LoraConfig
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.lora import apply_lora

    torch.manual_seed(0)
    peft_model = apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=3)), r=4, verbose=False)
    first = peft_model.peft_config["default"]
    peft_model.add_adapter(
        "b", LoraConfig(r=4, lora_alpha=8, target_modules=first.target_modules, modules_to_save=["classifier"])
    )
    with pytest.raises(ValueError, match=r"task head.*set_adapter\('b'\).*merge_and_unload"):
        peft_model.add_weighted_adapter(["default", "b"], [0.5, 0.5], "mix", combination_type="linear")


def test_a_folder_of_csvs_is_read_as_written_with_the_same_switch(tmp_path, monkeypatch):
    """The folder readers (pretrain's corpus, a set of your own) refuse a CSV stamped at another rate than
    --sampling-rate whichever channels are picked; `--dataset-options ignore_time_stamps=true` reads it at the rate
    given, as citrus predict's --ignore-time-stamps does, and the refusal names it."""
    import pytest

    from citrus_hf.data.errors import SamplingRateError
    from citrus_hf.data.readers.files import READ_AS_WRITTEN_KEY
    from citrus_hf.data.recording_folders import load_recording_folder
    from citrus_hf.data.splits import load_split
    from citrus_hf.data.windowing import check_own_set_options

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "pile"
    folder.mkdir()
    _stamped_csv(folder / "a.csv")
    with pytest.raises(SamplingRateError, match=f"--dataset-options {READ_AS_WRITTEN_KEY}=true"):
        load_recording_folder(folder, 100.0)
    rows = load_recording_folder(folder, 100.0, {READ_AS_WRITTEN_KEY: True})
    assert len(rows[0]["input_values"][0]) == 1000
    split = load_split(str(folder), "train", {READ_AS_WRITTEN_KEY: True}, 100.0, bids_events=False)
    assert split is not None and split.num_rows == 1
    assert check_own_set_options({READ_AS_WRITTEN_KEY: True}, "mine") is None
    with pytest.raises(ValueError, match="must be true or false"):
        load_recording_folder(folder, 100.0, {READ_AS_WRITTEN_KEY: "yes"})
