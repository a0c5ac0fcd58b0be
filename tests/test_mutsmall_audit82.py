"""Mutation audit of the dependency floors, the OpenSignals readers and the wavethresh and pyphysio sources (audit 82):
the facts a user relies on (how the `citrus` command reports an old dependency, the version a warning names, an
OpenSignals header's rate, devices and channel lists, a source's channel and modality names, its ids and refusals)
that no test pinned before.

The readers are checked on tiny files written in OpenSignals' own layouts; the sources on the real files of their
offline archives (conftest's `offline_archives_cached`).
"""

from __future__ import annotations

import bz2
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from citrus_hf.data.errors import CitrusDataError, CorruptFileError
from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import read_opensignals_h5, read_opensignals_txt


@pytest.fixture(scope="module")
def archives(offline_archives_cached):
    """Every archive cached and checked (see conftest.py); only the tests that read recordings ask for it."""


def _member(source: str, suffix: str) -> Path:
    return next(path for member, path in source_members(source).items() if member.endswith(suffix))


# ------------------------------------------------------------------------------------------ dependency floors


def _old_transformers(distribution: str) -> str:
    from citrus_hf._dependencies import MINIMUM_VERSIONS

    return "5.19.2" if distribution == "transformers" else MINIMUM_VERSIONS[distribution]


def test_the_citrus_command_reports_an_old_dependency_in_one_line_however_it_was_started(monkeypatch):
    """`python -m citrus_hf.commands` imports the package with `sys.argv[0] == "-m"`, and `import citrus_hf` asks
    `sys.argv` itself which program imports it: both are the command, whose errors are one `error: ...` line."""
    from citrus_hf._dependencies import check_at_import

    with pytest.raises(SystemExit, match=r"^error: citrus-hf needs transformers >= 5\.20"):
        check_at_import("-m", _old_transformers)
    monkeypatch.setattr("sys.argv", ["/home/user/.venv/bin/citrus", "finetune"])
    with pytest.raises(SystemExit, match=r"^error: citrus-hf needs transformers"):
        check_at_import(installed=_old_transformers)
    monkeypatch.setattr("sys.argv", ["train.py"])
    with pytest.raises(ImportError, match="citrus-hf needs transformers"):
        check_at_import(installed=_old_transformers)


def test_a_release_is_compared_by_its_three_numbers():
    """`_release` reads major, minor and patch (a floor may one day name a patch release): "2.13.1+cpu" is
    (2, 13, 1), and 2.2.0 is older than 2.2.1."""
    from citrus_hf._dependencies import _release

    assert _release("2.13.1+cpu") == (2, 13, 1) and _release("5.20.0.dev0") == (5, 20, 0)
    assert _release("2.2.0") < _release("2.2.1") and _release("1.31") == (1, 31, 0) and _release("unknown") is None


def test_a_missing_private_attribute_warning_names_the_installed_release(caplog):
    """The warning names the release that lacks the attribute (the user's fix is to change it)."""
    import transformers

    from citrus_hf._dependencies import private_attribute

    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        private_attribute(
            object,
            "_gone",
            library="transformers",
            owner_name="Trainer",
            checked="checks",
            logger=logging.getLogger("citrus_hf.test_mutsmall"),
        )
    assert f"transformers {transformers.__version__} has no `Trainer._gone`" in caplog.text


# ---------------------------------------------------------------------------------------------- OpenSignals HDF5


def _h5(path: Path, devices: dict[str, float], channels: tuple[int, ...] = (1,)) -> Path:
    """An OpenSignals HDF5 file with one device per key of `devices` (its sampling rate the value), each with
    16-bit `channels` of 50 samples (`f[mac]['raw']['channel_N']`, `(time, 1)`)."""
    import h5py

    with h5py.File(path, "w") as handle:
        for mac, rate in devices.items():
            device = handle.create_group(mac)
            device.attrs.update({"sampling rate": rate, "channels": np.array(channels, dtype=np.int32)})
            device.attrs["resolution"] = np.full(len(channels), 16, dtype=np.int32)
            for number in channels:
                device.require_group("raw").create_dataset(
                    f"channel_{number}", data=np.arange(50, dtype=np.uint16)[:, None]
                )
    return path


def test_an_opensignals_file_without_a_positive_rate_or_with_two_rates_is_refused(tmp_path):
    with pytest.raises(CorruptFileError, match=r"sampling rate\(s\) \[0\.0\] Hz; a rate must be positive"):
        read_opensignals_h5(_h5(tmp_path / "zero.h5", {"00:07:80:AA:00:01": 0}))
    with pytest.raises(CorruptFileError, match=r"mixes sampling rates \[500\.0, 1000\.0\]"):
        read_opensignals_h5(_h5(tmp_path / "two.h5", {"00:07:80:AA:00:01": 1000, "00:07:80:AA:00:02": 500}))


def test_signal_types_that_are_neither_one_nor_one_per_channel_are_refused(tmp_path):
    """Three types for two channels cannot be paired: the first one is not taken for all."""
    path = _h5(tmp_path / "two.h5", {"00:07:80:AA:00:01": 1000}, channels=(1, 2))
    info = tmp_path / "two_info.json"
    info.write_text(json.dumps({"Signal Type": "ECG, EMG, EDA"}))
    with pytest.raises(CorruptFileError, match=r"lists signal types \['ECG', 'EMG', 'EDA'\] for the 2 channels"):
        read_opensignals_h5(path, info)


# ---------------------------------------------------------------------------------------------- OpenSignals text


def _txt(path: Path, **changes) -> Path:
    """A BITalino OpenSignals text file (A1 ECG, A2 respiration; 100 Hz; 20 rows), its device's header changed by
    `changes` (a value None drops that field); `devices=2` writes a second device too."""
    copies = changes.pop("devices", 1)
    header = {
        "sensor": ["ECGBIT", "RESPBIT"],
        "label": ["A1", "A2"],
        "sampling rate": 100,
        "column": ["nSeq", "I1", "I2", "O1", "O2", "A1", "A2"],
        "resolution": [4, 1, 1, 1, 1, 10, 10],
    } | changes
    header = {key: value for key, value in header.items() if value is not None}
    devices = {f"00:07:80:0F:30:5{index}": header for index in range(copies)}
    rows = "".join(f"{i % 16}\t0\t0\t0\t0\t{500 + i}\t{300 - i}\n" for i in range(20))
    path.write_text(f"# OpenSignals Text File Format\n# {json.dumps(devices)}\n# EndOfHeader\n{rows}", encoding="utf-8")
    return path


def test_an_opensignals_text_files_header_is_what_is_read(tmp_path):
    recording = read_opensignals_txt(_txt(tmp_path / "good.txt"))
    assert recording.sampling_rate == 100.0 and recording.signal_types == {"A1": "ECGBIT", "A2": "RESPBIT"}
    assert recording.channels["A1"][:2].tolist() == [500, 501] and recording.channels["A2"][:2].tolist() == [300, 299]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(devices=2), "holds 2 devices; only single-device files are read"),
        ({"sampling rate": None}, "the OpenSignals header lacks 'sampling rate'"),
        ({"sampling rate": 0}, r"inconsistent OpenSignals header \(rate 0\.0"),
        ({"sensor": ["ECGBIT"]}, r"labels \['A1', 'A2'\], sensors \['ECGBIT'\]"),
    ],
    ids=["two devices", "no rate", "rate 0", "a label without its sensor"],
)
def test_an_opensignals_text_header_that_cannot_be_read_as_one_device_is_refused(tmp_path, changes, message):
    """A second device is not dropped, a rate is not guessed, a label is not paired with another's sensor."""
    with pytest.raises(CorruptFileError, match=message):
        read_opensignals_txt(_txt(tmp_path / "bad.txt", **changes))


def test_every_biosignalsnotebooks_recording_has_the_modality_its_sensor_records(archives):
    """`OPENSIGNALS_BODY_SIGNALS` names each PLUX sensor's modality: the BVP and the finger / hand SpO2 sensors record
    photoplethysmograms (PPG), cACC and XYZ accelerations; each recording's name says its sensor."""
    from citrus_hf.data.registry import SOURCES

    sensors = {"ecg": "ECG", "supine": "ECG", "bvp": "PPG", "spo2": "PPG", "eda": "EDA", "emg": "EMG"}
    sensors |= {"respiration": "RESP", "acc": "ACC", "loft": "ACC"}
    refs = SOURCES["bsnb_physio"].recordings()
    assert len(refs) == 24
    for ref in refs:
        (modality,) = {modality for sensor, modality in sensors.items() if sensor in ref.recording.lower()}
        assert set(ref.load().modalities) == {modality}, ref.recording


# ---------------------------------------------------------------------------------------------------- wavethresh


def test_babyecg_is_one_heart_rate_channel_every_16_seconds(archives):
    """BabyECG is a heart rate (bpm), its channel named so and of modality HR (not an ECG): 2048 values, one per 16 s
    epoch, an infant's rates (the night's median 120-150 bpm)."""
    from citrus_hf.data.registry import SOURCES

    (night,) = SOURCES["wavethresh_baby"].recordings()
    signals = night.load()
    assert (signals.channel_names, signals.modalities) == (("heart_rate",), ("HR",))
    assert signals.data.shape == (1, 2048) and signals.sampling_rate == 1 / 16
    assert 120 < np.median(signals.data) < 150 and night.recording == "wavethresh/BabyECG"


def test_sleep_states_of_another_length_or_code_are_refused(archives, monkeypatch):
    """BabySS must pair epoch by epoch with BabyECG and hold only the codes 1-4: another archive is named, not read."""
    from citrus_hf.data.sources import wavethresh

    states = str(_member("wavethresh_baby", "BabySS.rda"))
    assert set(wavethresh.sleep_states(states, 2048).tolist()) == {0, 1, 2, 3}  # the codes 1-4 as classes
    with pytest.raises(CitrusDataError, match="should hold 2047 sleep-state codes in 1-4, got 2048 values"):
        wavethresh.sleep_states(states, 2047)
    monkeypatch.setattr(wavethresh, "_series", lambda path, name: np.array([1.0, 0.0, 4.0]))
    with pytest.raises(CitrusDataError, match=r"got 3 values in \[0\.0, 1\.0, 4\.0\]"):
        wavethresh.sleep_states(states, 3)


def test_infant_sleep_refuses_windows_or_hops_shorter_than_one_epoch():
    """One heart-rate value per 16 s: a shorter window or hop is named, not rounded to nothing."""
    from citrus_hf.data.plans import BuildContext
    from citrus_hf.data.sources.wavethresh import plan_infant_sleep

    for window, hop in ((8.0, 16.0), (128.0, 8.0)):
        options = dict(window_seconds=window, hop_seconds=hop, fractions=(0.7, 0.15, 0.15))
        with pytest.raises(CitrusDataError, match=rf"at least 16 \(got {window} and {hop}\)"):
            plan_infant_sleep(options, BuildContext())


# ------------------------------------------------------------------------------------------------------ pyphysio


def test_pyphysio_medical_is_one_named_participants_four_channels_at_2048_hz(archives):
    """ECG, EDA, BVP and respiration in the file's column order, BVP a PPG; 120 s at 2048 Hz; one participant, named
    (no split by subject may take 'unknown' as one)."""
    from citrus_hf.data.sources.pyphysio import pyphysio_recordings

    (ref,) = pyphysio_recordings()
    signals = ref.load()
    assert signals.channel_names == ("ECG", "EDA", "BVP", "RESP")
    assert signals.modalities == ("ECG", "EDA", "PPG", "RESP")
    assert signals.data.shape == (4, 120 * 2048) and signals.sampling_rate == 2048.0
    assert (ref.recording, ref.subject) == ("pyphysio/medical", "pyphysio-1")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"1\t2\t3\n4\t5\t6\n", "expected 4 tab-separated columns"),
        (b"1\t2\t3\t4\t5\n", "expected 4 tab-separated columns"),
        (b"1\t2\t3\t\xb5\n", "is not a valid bz2 text file"),
    ],
    ids=["three columns", "five columns", "not ASCII"],
)
def test_a_medical_table_of_another_layout_is_refused(tmp_path, content, message):
    from citrus_hf.data.sources.pyphysio import medical_table

    path = tmp_path / "medical.txt.bz2"
    path.write_bytes(bz2.compress(content))
    with pytest.raises(CitrusDataError, match=message):
        medical_table(path)
