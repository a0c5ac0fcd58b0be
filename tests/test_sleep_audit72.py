"""The sleep-staging audit's findings (audit72_sleep), end to end as a sleep researcher runs it: a negative
`max_wake_edge_minutes` (a common spelling of "no limit") cut each night's first and last minutes of sleep without a
word; a stager fine-tuned on Sleep-EDF, which records its channels by name, refused the very PSG files it was trained
on (EEG at 100 Hz beside respiration at 1 Hz) until told `--channels`, where the README says it picks them by name.
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from tiny_configs import tiny_config, write_edf, write_edf_annotations

from citrus_hf.commands.main import main
from citrus_hf.data import build_dataset, get_dataset_spec
from citrus_hf.data.errors import CitrusDataError
from citrus_hf.data.plans import resolve_options
from citrus_hf.data.sources.sleep_physionet import SLEEP_EDF_CHANNELS, pair_sleep_edf_files, sleep_edf_windows

START = datetime.datetime(2009, 8, 12, 23, 50)
STAGES = ("W", "N1", "N2", "N3", "REM")


def write_night(folder, stages, recording="SC4001", channels=SLEEP_EDF_CHANNELS[:1], slow=()):
    """A Sleep-EDF pair under `folder`: a PSG whose 100 Hz channels hold the time in seconds (and `slow` channels at
    1 Hz, as Sleep-EDF's respiration), and its hypnogram of back-to-back `(stage, seconds)`."""
    folder.mkdir(parents=True, exist_ok=True)
    seconds = sum(duration for _, duration in stages)
    ramp = np.arange(seconds * 100) / 100
    signals = [ramp] * len(channels) + [np.zeros(seconds)] * len(slow)
    rates = [100] * len(channels) + [1] * len(slow)
    write_edf(folder / f"{recording}E0-PSG.edf", signals, [*channels, *slow], rates, "uV", peak=5000.0, plus=False,
              start=START)  # fmt: skip
    items, onset = [], 0
    for stage, duration in stages:
        items.append((onset, duration, f"Sleep stage {stage}"))
        onset += duration
    write_edf_annotations(folder / f"{recording}EC-Hypnogram.edf", items, START)
    return folder


# ------------------------------------------------------------------ 1. a negative max_wake_edge_minutes is refused
def test_a_negative_max_wake_edge_is_refused_not_read_as_cutting_into_the_sleep(tmp_path):
    """-1 kept the epochs from 1 min after the first sleep epoch to 1 min before the last one: the night's first and
    last minutes of sleep were left out of the set without a word."""
    spec = get_dataset_spec("sleep_edf")
    with pytest.raises(CitrusDataError, match=r"'max_wake_edge_minutes' .* >= 0 .*null.*got -1"):
        resolve_options(spec, {"max_wake_edge_minutes": -1})
    write_night(tmp_path / "night", [("W", 60), ("2", 180), ("W", 60)])
    (pair,) = pair_sleep_edf_files(tmp_path / "night")
    with pytest.raises(ValueError, match=r"max_wake_edge_minutes=-1 .* >= 0 .*None"):
        list(sleep_edf_windows(pair, SLEEP_EDF_CHANNELS[:1], max_wake_edge_minutes=-1))
    # 0 keeps the sleep and no wake around it
    kept = [stage for _, stage, _ in sleep_edf_windows(pair, SLEEP_EDF_CHANNELS[:1], max_wake_edge_minutes=0)]
    assert kept == ["N2"] * 6


# --------------------------------------------- 2. a stager picks its channels of a PSG of several rates by name
@pytest.fixture
def stager(tmp_path):
    """A tiny 30 s stager of 2 channels as one fine-tuned on sleep_edf saves it: its channel names and units."""
    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

    config = tiny_config(
        num_labels=5, context_length=3000, patch_length=100, num_channels=2,
        id2label=dict(enumerate(STAGES)), label2id={name: i for i, name in enumerate(STAGES)},
    )  # fmt: skip
    folder = tmp_path / "stager"
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    extractor = CiTrusFeatureExtractor.from_config(config)
    extractor.channel_names = ["EEG Fpz-Cz", "EOG horizontal"]
    extractor.channel_units = ["µV", "µV"]
    extractor.channel_independent = False
    extractor.save_pretrained(folder)
    return folder


def test_predict_reads_a_stagers_channels_from_a_psg_of_several_rates(stager, tmp_path, capsys):
    """Sleep-EDF's PSG files hold EEG / EOG at 100 Hz and respiration, EMG, temperature at 1 Hz: the reader's "holds
    signals at 2 rates; pick channels ... (--channels)" stopped a stager that names its channels."""
    night = write_night(
        tmp_path / "psg", [("W", 60), ("2", 60)], channels=SLEEP_EDF_CHANNELS, slow=("Resp oro-nasal", "Temp rectal")
    )
    psg = str(night / "SC4001E0-PSG.edf")
    output = tmp_path / "night.csv"
    assert main(["predict", str(stager), psg, "--output", str(output), "--backend", "torch"]) == 0, capsys.readouterr()
    chosen = tmp_path / "chosen.csv"
    arguments = ["--channels", "EEG Fpz-Cz", "EOG horizontal", "--output", str(chosen), "--backend", "torch"]
    assert main(["predict", str(stager), psg, *arguments]) == 0
    assert output.read_text() == chosen.read_text()  # the same channels, as --channels names them
    assert len(output.read_text().splitlines()) == 1 + 4
    # the pipeline, given the file's path, the same
    from transformers import pipeline

    import citrus_hf  # noqa: F401  (registers the pipelines)

    pipe = pipeline(model=str(stager), backend="torch")
    assert [w["label"] for w in pipe(psg)["windows"]] == [
        w["label"] for w in pipe(psg, channels=["EEG Fpz-Cz", "EOG horizontal"])["windows"]
    ]


def test_a_psg_of_several_rates_without_the_stagers_channels_is_still_refused_listing_its_rates(
    stager, tmp_path, capsys
):
    night = write_night(tmp_path / "psg", [("W", 60)], channels=("EEG Fpz-Cz", "EEG C3-A2"), slow=("EOG horizontal",))
    assert main(["predict", str(stager), str(night / "SC4001E0-PSG.edf"), "--backend", "torch"]) == 2
    # the stager's own channels at two rates: no --channels helps, and the refusal says so (audit 72 leftovers 4)
    err = capsys.readouterr().err
    assert "holds the model's channels at different rates (EEG Fpz-Cz at 100 Hz, EOG horizontal at 1 Hz)" in err
    night = write_night(tmp_path / "other", [("W", 60)], channels=("EEG C3-A2",), slow=("Resp oro-nasal",))
    assert main(["predict", str(stager), str(night / "SC4001E0-PSG.edf"), "--backend", "torch"]) == 2
    assert "holds signals at 2 rates (100 Hz: EEG C3-A2; 1 Hz: Resp oro-nasal)" in capsys.readouterr().err


# ------------------------------------------------ 3. the script's --subjects builds those subjects of a local copy
def test_the_sleep_edf_script_builds_only_the_subjects_it_is_given(tmp_path, capsys):
    """`--subjects 0 1 --no-download` (the script's own example, "a local copy") built every subject under --data-dir:
    --subjects only reached the download, so a folder holding more nights gave a set of all of them."""
    import runpy
    from pathlib import Path

    data = tmp_path / "sleep-edfx"
    for subject in range(4):
        write_night(data, [("W", 60), ("2", 60)], recording=f"SC40{subject}1")
    script = runpy.run_path(str(Path(__file__).resolve().parents[1] / "dataset_scripts" / "sleep_edf.py"))
    output = tmp_path / "two"
    common = ["--data-dir", str(data), "--no-download", "--cache-dir", str(tmp_path / "cache"), "--channels",
              "EEG Fpz-Cz"]  # fmt: skip
    assert script["main"]([*common, "--subjects", "0", "1", "--output", str(output)]) == 0
    import datasets

    built = datasets.load_from_disk(str(output))
    assert sorted({subject for split in built.values() for subject in split["subject"]}) == ["SC00", "SC01"]
    # the same folder without --subjects (the same cache) is every subject again, not the subset cached first
    everything = build_dataset("sleep_edf", data_dir=data, download=False, cache_dir=tmp_path / "cache",
                               channels=["EEG Fpz-Cz"])  # fmt: skip
    assert len({subject for split in everything.values() for subject in split["subject"]}) == 4
    with pytest.raises(CitrusDataError, match=r"subjects \[7\].*SC4001"):
        script["main"]([*common, "--subjects", "7"])
