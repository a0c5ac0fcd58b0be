"""Sleep-EDF Expanded (PhysioNet), as braindecode's ``sleep_physionet``: whole-night PSG recordings (EEG Fpz-Cz,
EEG Pz-Oz, horizontal EOG at 100 Hz), each paired with an EDF+ hypnogram scored in 30 s epochs.

Downloaded file by file (:func:`fetch_sleep_edf`, checked against PhysioNet's ``SHA256SUMS.txt``), paired
(:func:`pair_sleep_edf_files`), and cut into labelled windows (:func:`sleep_edf_windows`): Rechtschaffen & Kales
stages become W / N1 / N2 / N3 / REM.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..._logs import outside_stacklevel
from ...vocabulary_citrus import CLASSIFICATION
from ..errors import CitrusDataError, CorruptFileError
from ..fetch import fetch_physionet
from ..plans import BuildContext, BuildPlan, dataset_features, listed_option, split_shares, window_row
from ..readers import read_edf, read_edf_annotations, read_edf_header
from ..readers.edf import check_channel_list
from ..recording_folders import files_under
from ..registry import PHYSIONET_CITATION, PHYSIONET_URL, PhysioNetDatabase, online_source, register_dataset
from ..windowing import seconds_to_samples, split_by_group

SLEEP_STAGES: tuple[str, ...] = ("W", "N1", "N2", "N3", "REM")
DATABASE = PhysioNetDatabase("sleep-edfx", "1.0.0", ("sleep-cassette", "sleep-telemetry"))
SLEEP_EDF_CHANNELS: tuple[str, ...] = ("EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal")
# Rechtschaffen & Kales stages to AASM: stages 3 and 4 become N3; "Sleep stage ?" and "Movement time" are dropped.
SLEEP_STAGE_MAP: dict[str, str] = {
    "Sleep stage W": "W",
    "Sleep stage 1": "N1",
    "Sleep stage 2": "N2",
    "Sleep stage 3": "N3",
    "Sleep stage 4": "N3",
    "Sleep stage R": "REM",
}
_SLEEP_EDF_NAME = re.compile(
    r"^(?P<study>S[CT])(?P<group>\d)(?P<subject>\d\d)(?P<night>\d)\w\w-(?P<kind>PSG|Hypnogram)\.edf$"
)


@dataclass
class SleepEdfPair:
    """A Sleep-EDF PSG file and its hypnogram."""

    psg: Path
    hypnogram: Path
    subject: str
    night: int

    @property
    def recording(self) -> str:
        """Recording id, e.g. ``SC4001``."""
        return self.psg.name[:6]


def pair_sleep_edf_files(files: Sequence[str | Path] | str | Path) -> list[SleepEdfPair]:
    """Pair each Sleep-EDF PSG file with its hypnogram.

    Names follow ``SC4ssNE0-PSG.edf`` / ``SC4ssNEC-Hypnogram.edf`` (cassette) and ``ST7ssNJ0-PSG.edf`` /
    ``ST7ssNJP-Hypnogram.edf`` (telemetry): ``ss`` is the subject, ``N`` the night, and the last letter before
    ``-Hypnogram`` the scorer; files pair on their first six characters.

    Args:
        files: a folder (searched recursively) or a list of files.

    Returns:
        Pairs sorted by recording. PSG files without a hypnogram are left out with a warning (a partial download).

    Raises:
        CorruptFileError: two hypnograms for one PSG file.
    """
    if isinstance(files, (str, Path)):
        # through symlinked subject folders too, as every other listing of the user's files (`files_under`)
        files = [file for file in files_under(files) if file.suffix == ".edf"]
    psgs: dict[str, Path] = {}
    hypnograms: dict[str, Path] = {}
    for file in map(Path, files):
        match = _SLEEP_EDF_NAME.match(file.name)
        if not match:
            continue
        key = file.name[:6]
        table = psgs if match["kind"] == "PSG" else hypnograms
        if key in table:
            raise CorruptFileError(f"Two Sleep-EDF {match['kind']} files for recording {key}: {table[key]} and {file}.")
        table[key] = file
    unpaired = sorted(set(psgs) - set(hypnograms))
    if unpaired:
        warnings.warn(
            f"Sleep-EDF PSG files without a hypnogram are skipped: {unpaired}", stacklevel=outside_stacklevel()
        )
    pairs = []
    for key in sorted(set(psgs) & set(hypnograms)):
        match = _SLEEP_EDF_NAME.match(psgs[key].name)
        pairs.append(
            SleepEdfPair(
                psg=psgs[key],
                hypnogram=hypnograms[key],
                subject=f"{match['study']}{match['subject']}",
                night=int(match["night"]),
            )
        )
    return pairs


def sleep_edf_windows(
    pair: SleepEdfPair,
    channels: Sequence[str] = SLEEP_EDF_CHANNELS,
    window_seconds: float = 30.0,
    epoch_seconds: float = 30.0,
    max_wake_edge_minutes: float | None = 30.0,
) -> Iterator[tuple[np.ndarray, str, float]]:
    """Yield labelled windows of one Sleep-EDF recording.

    Each scored 30 s epoch becomes ``epoch_seconds / window_seconds`` windows (1 for 30 s epochs, 15 for TF-C's
    2 s SleepEEG windows), all labelled with the epoch's stage.

    Args:
        pair: PSG + hypnogram.
        channels: PSG channels to read (one sampling rate; 100 Hz for the EEG / EOG of Sleep-EDF).
        window_seconds: window length; must divide ``epoch_seconds``.
        epoch_seconds: scoring epoch (30 s in Sleep-EDF).
        max_wake_edge_minutes: keep at most this much wake before the first and after the last sleep epoch (the
            cassette recordings hold up to 10 h of daytime wake); None keeps everything.

    Yields:
        ``(window, stage, start_seconds)``: window ``(channels, window_seconds * rate)`` float32 in µV; stage in
        W/N1/N2/N3/REM.
    """
    per_epoch = epoch_seconds / window_seconds
    if per_epoch < 1 or abs(per_epoch - round(per_epoch)) > 1e-9:
        raise ValueError(f"window_seconds={window_seconds} must divide the {epoch_seconds} s scoring epoch.")
    recording = read_edf(pair.psg, channels)
    annotations, hypnogram_start = read_edf_annotations(pair.hypnogram)
    offset = 0.0
    if hypnogram_start is not None and recording.start is not None:
        # Hypnogram onsets count from the hypnogram's own start; in Sleep-EDF it equals the PSG's, but check.
        offset = (hypnogram_start - recording.start).total_seconds()
    epochs: list[tuple[float, str]] = []
    unknown = set()
    for annotation in annotations:
        stage = SLEEP_STAGE_MAP.get(annotation.description)
        if stage is None:
            if annotation.description not in {"Sleep stage ?", "Movement time"}:
                unknown.add(annotation.description)
            continue
        for k in range(int(round(annotation.duration / epoch_seconds))):
            epochs.append((offset + annotation.onset + k * epoch_seconds, stage))
    if unknown:
        raise CorruptFileError(f"{pair.hypnogram} has annotations that are not sleep stages: {sorted(unknown)}.")
    epochs.sort()
    if max_wake_edge_minutes is not None:
        sleep_times = [start for start, stage in epochs if stage != "W"]
        if sleep_times:
            edge = max_wake_edge_minutes * 60
            epochs = [(s, st) for s, st in epochs if sleep_times[0] - edge <= s <= sleep_times[-1] + edge]
    rate = recording.sampling_rate
    window = seconds_to_samples(window_seconds, rate)
    n_samples = recording.data.shape[1]
    for epoch_start, stage in epochs:
        for k in range(int(round(per_epoch))):
            start_seconds = epoch_start + k * window_seconds
            start = seconds_to_samples(start_seconds, rate)
            if start < 0 or start + window > n_samples:
                continue
            yield recording.data[:, start : start + window].astype(np.float32), stage, start_seconds


# ============================================================================ download and build


@online_source(
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
    + PHYSIONET_CITATION,
    remote=DATABASE,
    homepage="https://physionet.org/content/sleep-edfx/1.0.0/",
)
def fetch_sleep_edf(
    data_dir: str | os.PathLike,
    subsets: Sequence[str] = ("sleep-cassette",),
    subjects: Sequence[int] | None = None,
    base_url: str = PHYSIONET_URL,
) -> list[Path]:
    """Download Sleep-EDF Expanded PSG + hypnogram files, each checked against PhysioNet's SHA256SUMS.txt.

    Args:
        data_dir: local folder (files keep PhysioNet's layout, e.g. ``sleep-cassette/SC4001E0-PSG.edf``).
        subsets: ``sleep-cassette`` (153 recordings, 78 subjects) and / or ``sleep-telemetry`` (44, 22).
        subjects: only these subject numbers (the two digits after ``SC4`` / ``ST7``); all when None.

    Returns:
        The local EDF files.
    """

    def select(relative: str) -> bool:
        folder, _, name = relative.partition("/")
        if folder not in subsets or not name.endswith(".edf"):
            return False
        return subjects is None or int(name[3:5]) in set(subjects)

    return fetch_physionet(DATABASE, data_dir, select=select, base_url=base_url)


def _channels_rate(psg: Path, channels: Sequence[str]) -> float:
    """The sampling rate (Hz) of `channels` in the PSG file `psg` (the first's: `read_edf` refuses channels of several
    rates), refusing a channel the file does not hold by naming the option, the file and the channels it holds
    (`list.index` said only "'nope' is not in list")."""
    header = read_edf_header(psg)
    listed_option(
        "channels",
        list(channels),
        list(header.signal_names()),
        outside=f"{psg} does not hold",
        choices="its channels are",
    )
    return header.sampling_rate(channels[0])


def _sleep_edf_examples(pairs: list[dict], channels: tuple[str, ...], window_seconds: float, max_wake_edge_minutes):
    for item in pairs:
        pair = SleepEdfPair(Path(item["psg"]), Path(item["hypnogram"]), item["subject"], item["night"])
        rate = _channels_rate(pair.psg, channels)
        for window, stage, start in sleep_edf_windows(
            pair, channels, window_seconds=window_seconds, max_wake_edge_minutes=max_wake_edge_minutes
        ):
            yield window_row(
                window,
                rate,
                start,
                label=SLEEP_STAGES.index(stage),
                subject=pair.subject,
                recording=pair.recording,
                source=f"sleep-edfx/1.0.0:{pair.psg.name}",
            )


def plan_sleep_edf(data_dir: str | os.PathLike, options: dict[str, Any]) -> BuildPlan:
    """Pair the PSG / hypnogram files under ``data_dir`` and split them by subject.

    Options: ``window_seconds`` (30, or 2 for TF-C-style windows), ``channels`` (default Fpz-Cz, Pz-Oz, EOG; the
    2 s variant uses Fpz-Cz only), ``fractions`` (train / validation / test shares of subjects), ``seed``,
    ``max_wake_edge_minutes`` (30; None keeps every wake epoch).
    """
    pairs = pair_sleep_edf_files(data_dir)
    if not pairs:
        raise CitrusDataError(
            f"No Sleep-EDF PSG + hypnogram pairs under {data_dir}; fetch them with "
            f"`python dataset_scripts/sleep_edf.py --data-dir {data_dir}`."
        )
    recordings_per_subject = Counter(pair.subject for pair in pairs)
    assignment = split_by_group(
        recordings_per_subject, split_shares(options["fractions"]), options["seed"], "Sleep-EDF", "subjects"
    )
    channels = tuple(listed_option("channels", options["channels"]))
    if not channels:
        raise CitrusDataError(
            f"Option 'channels' names no channel; name at least one of the PSG files' (default: "
            f"{', '.join(SLEEP_EDF_CHANNELS)})."
        )
    check_channel_list(channels)  # a channel named twice
    rate = _channels_rate(pairs[0].psg, channels)
    window = seconds_to_samples(options["window_seconds"], rate)
    splits = {}
    for split, subjects in assignment.items():
        chosen = [
            dict(psg=str(p.psg), hypnogram=str(p.hypnogram), subject=p.subject, night=p.night)
            for p in pairs
            if p.subject in set(subjects)
        ]
        if chosen:
            splits[split] = dict(
                pairs=chosen,
                channels=channels,
                window_seconds=options["window_seconds"],
                max_wake_edge_minutes=options["max_wake_edge_minutes"],
            )
    return BuildPlan(dataset_features(list(SLEEP_STAGES), False, (len(channels), window)), _sleep_edf_examples, splits)


def _build(options: dict[str, Any], context: BuildContext) -> BuildPlan:
    if context.download and not pair_sleep_edf_files(context.data_dir):
        fetch_sleep_edf(context.data_dir, subjects=context.selection.get("subjects"))
    return plan_sleep_edf(context.data_dir, options)


for _name, _description, _window_seconds, _channels in (
    (
        "sleep_edf",
        "Sleep-EDF Expanded, 30 s epochs of EEG Fpz-Cz, EEG Pz-Oz and horizontal EOG at 100 Hz labelled "
        "W/N1/N2/N3/REM (R&K stages 3 and 4 merged into N3; '?' and movement epochs dropped).",
        30.0,
        SLEEP_EDF_CHANNELS,
    ),
    (
        "sleep_edf_2s",
        "Sleep-EDF Expanded cut like TF-C's SleepEEG: 2 s windows (200 samples) of EEG Fpz-Cz, each labelled with "
        "its 30 s epoch's stage.",
        2.0,
        SLEEP_EDF_CHANNELS[:1],
    ),
):
    register_dataset(
        name=_name,
        description=_description,
        task=CLASSIFICATION,
        sources=("sleep_edf",),
        splits="by subject (seeded shuffle; default 80 / 10 / 10 %).",
        defaults=dict(
            window_seconds=_window_seconds,
            fractions=(0.8, 0.1, 0.1),
            seed=0,
            channels=_channels,
            max_wake_edge_minutes=30.0,
        ),
        nullable=("max_wake_edge_minutes",),  # None keeps every wake epoch (`sleep_edf_windows`)
    )(_build)
