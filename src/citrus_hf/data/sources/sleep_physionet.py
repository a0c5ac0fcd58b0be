"""Sleep-EDF Expanded (PhysioNet), as braindecode's ``sleep_physionet``: whole-night PSG recordings (EEG Fpz-Cz,
EEG Pz-Oz, horizontal EOG at 100 Hz), each paired with an EDF+ hypnogram scored in 30 s epochs.

Downloaded file by file (:func:`fetch_sleep_edf`, checked against PhysioNet's ``SHA256SUMS.txt``), paired
(:func:`pair_sleep_edf_files`), and cut into labelled windows (:func:`sleep_edf_windows`): Rechtschaffen & Kales
stages (or AASM's spellings of them) become W / N1 / N2 / N3 / REM, each window inside one stage's annotations
(:func:`scored_epochs`). The same route reads a folder of one's own PSG + hypnogram pairs named as Sleep-EDF's.
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
from ...vocabulary_citrus import CLASSIFICATION, SLEEP_STAGES, VOLTAGE_UNITS, UnitError, canonical_unit, unit_factor
from ..errors import CitrusDataError, CorruptFileError
from ..fetch import fetch_physionet
from ..plans import BuildContext, BuildPlan, dataset_features, listed_option, split_shares, window_row
from ..readers import read_edf, read_edf_annotations, read_edf_header
from ..readers.edf import Annotation, check_channel_list
from ..recording_folders import files_under
from ..registry import PHYSIONET_CITATION, PHYSIONET_URL, PhysioNetDatabase, online_source, register_dataset
from ..windowing import seconds_to_samples, split_by_group

# The set's labels are `SLEEP_STAGES` (AASM's), kept with the sleep vocabularies by which `citrus predict` tells a
# stager fine-tuned on it (`vocabulary_citrus.sleep_stages_of`) and gives its sleep statistics.
DATABASE = PhysioNetDatabase("sleep-edfx", "1.0.0", ("sleep-cassette", "sleep-telemetry"))
SLEEP_EDF_CHANNELS: tuple[str, ...] = ("EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal")
# Rechtschaffen & Kales stages to AASM: stages 3 and 4 become N3; "Sleep stage ?" and "Movement time" are dropped.
# AASM's own spellings, which scoring programs write in their EDF+ exports, are the same stages.
SLEEP_STAGE_MAP: dict[str, str] = {
    "Sleep stage W": "W",
    "Sleep stage 1": "N1",
    "Sleep stage 2": "N2",
    "Sleep stage 3": "N3",
    "Sleep stage 4": "N3",
    "Sleep stage R": "REM",
    "Sleep stage N1": "N1",
    "Sleep stage N2": "N2",
    "Sleep stage N3": "N3",
}
# Epochs scored as no stage: left out without a word (Sleep-EDF marks some in most nights).
UNSCORED_EPOCHS: frozenset[str] = frozenset({"Sleep stage ?", "Movement time"})
# Slack when comparing annotation times (seconds): EDF+ writes them as decimal text, exporters round them.
_SECONDS_SLACK = 1e-3
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
    2 s SleepEEG windows), all labelled with the epoch's stage. The epochs are read from the hypnogram's stage
    annotations by :func:`scored_epochs`: only whole epochs inside one stage, so that no window reaches outside it.
    Epochs scored outside the PSG's signal (past its end, or before its start) give no window, and a warning counts
    them.

    Args:
        pair: PSG + hypnogram.
        channels: PSG channels to read (one sampling rate; 100 Hz for the EEG / EOG of Sleep-EDF).
        window_seconds: window length; must divide ``epoch_seconds``.
        epoch_seconds: scoring epoch (30 s in Sleep-EDF).
        max_wake_edge_minutes: keep at most this much wake (>= 0) before the first and after the last sleep epoch
            (the cassette recordings hold up to 10 h of daytime wake); None keeps everything.

    Yields:
        ``(window, stage, start_seconds)``: window ``(channels, window_seconds * rate)`` float32, a channel in a
        voltage in µV (a night exported in mV converted), any other unit as the file gives it; stage in
        W/N1/N2/N3/REM.

    Raises:
        CorruptFileError: a hypnogram :func:`scored_epochs` cannot read without guessing.
        ValueError: a `window_seconds` that does not divide the epoch, a negative `max_wake_edge_minutes`.
    """
    per_epoch = epoch_seconds / window_seconds
    if per_epoch < 1 or abs(per_epoch - round(per_epoch)) > 1e-9:
        raise ValueError(f"window_seconds={window_seconds} must divide the {epoch_seconds} s scoring epoch.")
    if max_wake_edge_minutes is not None and not max_wake_edge_minutes >= 0:
        # a negative margin kept the epochs from that long after the first sleep epoch to that long before the last
        raise ValueError(
            f"max_wake_edge_minutes={max_wake_edge_minutes:g} must be a number of minutes >= 0 of wake kept around "
            "each night's sleep; None keeps every wake epoch."
        )
    recording = read_edf(pair.psg, channels)
    data = _in_microvolts(recording.data, recording.units)
    annotations, hypnogram_start = read_edf_annotations(pair.hypnogram)
    offset = 0.0
    if hypnogram_start is not None and recording.start is not None:
        # Hypnogram onsets count from the hypnogram's own start; in Sleep-EDF it equals the PSG's, but check.
        offset = (hypnogram_start - recording.start).total_seconds()
    epochs = [(offset + start, stage) for start, stage in scored_epochs(pair.hypnogram, annotations, epoch_seconds)]
    if max_wake_edge_minutes is not None:
        sleep_times = [start for start, stage in epochs if stage != "W"]
        if sleep_times:
            edge = max_wake_edge_minutes * 60
            epochs = [(s, st) for s, st in epochs if sleep_times[0] - edge <= s <= sleep_times[-1] + edge]
    rate = recording.sampling_rate
    window = seconds_to_samples(window_seconds, rate)
    n_samples = data.shape[1]
    before, after = [], []  # the epochs with a window outside the PSG's signal
    for epoch_start, stage in epochs:
        for k in range(int(round(per_epoch))):
            start_seconds = epoch_start + k * window_seconds
            start = seconds_to_samples(start_seconds, rate)
            if start < 0 or start + window > n_samples:
                (before if start < 0 else after).append(epoch_start)
                continue
            yield data[:, start : start + window].astype(np.float32), stage, start_seconds
    if before or after:
        # a hypnogram scored past the recording (a night stopped before its scoring), or starting before it: those
        # epochs have no signal, and were left out without a word, where every other epoch left out is counted
        outside = sorted(set(before) | set(after))
        where = [f"{len(set(after))} past its end" * bool(after), f"{len(set(before))} before its start" * bool(before)]
        warnings.warn(
            f"{pair.hypnogram}: {len(outside)} scored epoch(s) reach outside the {n_samples / rate:g} s of signal of "
            f"{pair.psg.name} ({' and '.join(filter(None, where))}; first at {outside[0]:g} s), and give no window.",
            stacklevel=outside_stacklevel(),
        )


# What `scored_epochs` calls the epochs of `UNSCORED_EPOCHS`: no stage of SLEEP_STAGES.
_UNSCORED = "unscored"


@dataclass(frozen=True)
class _Scored:
    """One annotation `scored_epochs` reads: the seconds it covers, its stage (or `_UNSCORED`), as written."""

    onset: float
    end: float
    stage: str
    description: str
    point: bool  # a point event, read as one epoch


def scored_epochs(
    hypnogram: Path, annotations: Sequence[Annotation], epoch_seconds: float = 30.0
) -> list[tuple[float, str]]:
    """The whole scoring epochs of a hypnogram's annotations: ``(start in seconds from its start, stage)`` in time
    order, each epoch inside one stretch of one stage.

    * A stage annotation (`SLEEP_STAGE_MAP`, R&K or AASM spellings) covers ``[onset, onset + duration)``; a point
      event (no duration, or 0, as scoring programs export one event per epoch) covers one epoch from its onset.
    * One stage's annotations that touch or overlap are one stretch of it (an epoch written twice is read once; a
      night scored in 20 s epochs gives 30 s windows inside each stretch of one stage, never across two).
    * Each stretch is cut into whole epochs from its start. What is left over (a 45 s stage's last 15 s, a 15 s
      stage) gets no window, and a warning counts it: a window reaching into the next stage had the wrong label.
    * Epochs scored as no stage (`UNSCORED_EPOCHS`) are left out; other annotations ("Lights off") are skipped with
      a warning naming them.

    Raises:
        CorruptFileError: naming `hypnogram`: no stage annotation at all; point events further apart than one epoch
            (stage changes only, each stage lasting until the next event: one epoch each would lose the rest of each
            stage, and reading on to the next event would guess where a stage ends); two annotations that score the
            same seconds as different stages.
    """
    scored: list[_Scored] = []
    others: Counter = Counter()
    for annotation in sorted(annotations, key=lambda item: item.onset):
        stage = SLEEP_STAGE_MAP.get(annotation.description)
        if stage is None and annotation.description not in UNSCORED_EPOCHS:
            others[annotation.description] += 1
            continue
        point = not annotation.duration > 0  # 0, or NaN where the file gives none
        end = annotation.onset + (epoch_seconds if point else annotation.duration)
        scored.append(_Scored(annotation.onset, end, stage or _UNSCORED, annotation.description, point))
    if all(item.stage == _UNSCORED for item in scored):
        held = sorted({annotation.description for annotation in annotations})
        raise CorruptFileError(
            f"{hypnogram} holds no sleep stage annotation (it holds {held or 'no annotation'}); the stages read are "
            f"{', '.join(repr(name) for name in SLEEP_STAGE_MAP)}. Pair the PSG with its hypnogram, or leave the "
            "night out of the folder."
        )
    if others:
        warnings.warn(
            f"{hypnogram} has annotations that are not sleep stages, skipped: "
            f"{', '.join(f'{name!r} ({count})' for name, count in sorted(others.items()))}.",
            stacklevel=outside_stacklevel(),
        )
    _check_point_events(hypnogram, scored, epoch_seconds)
    stretches = [stretch for stretch in _stretches(hypnogram, scored) if stretch[2] != _UNSCORED]
    epochs: list[tuple[float, str]] = []
    for start, end, stage in stretches:
        whole = int(np.floor((end - start + _SECONDS_SLACK) / epoch_seconds))
        epochs.extend((start + k * epoch_seconds, stage) for k in range(whole))
    scored_seconds = sum(end - start for start, end, _ in stretches)
    left_over = scored_seconds - len(epochs) * epoch_seconds
    if left_over > _SECONDS_SLACK:
        partial = [
            item.end - item.onset
            for item in scored
            if item.stage != _UNSCORED
            and _SECONDS_SLACK < (item.end - item.onset) % epoch_seconds < epoch_seconds - _SECONDS_SLACK
        ]
        warnings.warn(
            f"{hypnogram}: {len(partial)} stage annotation(s) are not whole {epoch_seconds:g} s epochs (lasting "
            f"{', '.join(f'{seconds:g}' for seconds in sorted(set(partial)))} s); each stretch of one stage is cut "
            f"into whole epochs from its start, so that no window reaches into another stage, and {left_over:g} s "
            f"of {scored_seconds:g} s scored are left without one.",
            stacklevel=outside_stacklevel(),
        )
    return sorted(epochs)


def _check_point_events(hypnogram: Path, scored: list[_Scored], epoch_seconds: float) -> None:
    """Refuse point events further apart than one epoch (`scored_epochs`), naming the first such gap."""
    onsets = sorted({item.onset for item in scored})
    points = {item.onset for item in scored if item.point}
    for onset, following in zip(onsets, onsets[1:]):
        if onset in points and following - onset > epoch_seconds + _SECONDS_SLACK:
            raise CorruptFileError(
                f"{hypnogram} writes its sleep stages as point events (no duration), and the one at {onset:g} s is "
                f"followed by the next at {following:g} s, more than one {epoch_seconds:g} s epoch later: events that "
                "mark stage changes only, each stage lasting until the next? A point event is read as one epoch (one "
                "event per scored epoch, as scoring programs export them), which would lose the rest of each stage. "
                "Give each stage annotation its duration (the time until the next) and export the hypnogram again."
            )


def _stretches(hypnogram: Path, scored: list[_Scored]) -> list[tuple[float, float, str]]:
    """`(start, end, stage)` of each stretch of one stage (`scored_epochs`), in time order: one stage's annotations
    that touch or overlap joined; two stages over the same seconds refused, naming the file and the times."""
    joined: list[tuple[float, float, str, list[str]]] = []
    for item in sorted(scored, key=lambda item: (item.stage, item.onset)):
        if joined and joined[-1][2] == item.stage and item.onset <= joined[-1][1] + _SECONDS_SLACK:
            start, end, stage, descriptions = joined[-1]
            joined[-1] = (start, max(end, item.end), stage, sorted({*descriptions, item.description}))
        else:
            joined.append((item.onset, item.end, item.stage, [item.description]))
    joined.sort()
    for before, after in zip(joined, joined[1:]):
        if after[0] < before[1] - _SECONDS_SLACK:
            raise CorruptFileError(
                f"{hypnogram} scores {after[0]:g}-{min(before[1], after[1]):g} s as both {before[2]} "
                f"({', '.join(before[3])}, {before[0]:g}-{before[1]:g} s) and {after[2]} ({', '.join(after[3])}, "
                f"{after[0]:g}-{after[1]:g} s): overlapping annotations (a re-score appended to the file?) would give "
                "one window two labels. Remove the one not meant and export the hypnogram again."
            )
    return [(start, end, stage) for start, end, stage, _ in joined]


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


def _night_channels(psg: Path, channels: Sequence[str]) -> tuple[float, tuple[str, ...]]:
    """`(rate in Hz, units)` of `channels` in the PSG file `psg`: the first channel's rate (`read_edf` refuses channels
    of several rates) and each channel's unit as its windows give it (`_in_microvolts`: a voltage in µV, any other
    unit as written, `canonical_unit`). A channel the file does not hold is refused by naming the option, the file and
    the channels it holds (`list.index` said only "'nope' is not in list")."""
    header = read_edf_header(psg)
    signals = header.signal_names()
    listed_option(
        "channels",
        list(channels),
        list(signals),
        outside=f"{psg} does not hold",
        choices="its channels are",
    )
    units = tuple(
        "µV" if canonical_unit(unit) in VOLTAGE_UNITS else canonical_unit(unit)
        for unit in (header.dimensions[signals[channel]] if header.dimensions else "" for channel in channels)
    )
    return header.sampling_rate(channels[0]), units


def _in_microvolts(data: np.ndarray, units: Sequence[str]) -> np.ndarray:
    """`data` `(channels, time)` with each channel in a voltage (`units`, one per row, as the file declares them) in
    µV, as Sleep-EDF's are (a night exported in mV read as µV was scored all W); other units as they are."""
    factors = np.array([unit_factor(unit, "µV") if canonical_unit(unit) in VOLTAGE_UNITS else 1.0 for unit in units])
    return data if len(factors) != len(data) or (factors == 1.0).all() else data * factors[:, None]


def _alike_nights(pairs: list[SleepEdfPair], channels: tuple[str, ...], data_dir) -> tuple[float, tuple[str, ...]]:
    """`(rate, units)` that `channels` have in every night of `pairs` (`_night_channels`), read from each PSG file's
    header before any is read whole: the rows of one set share one shape and their channels' units.

    Raises:
        CitrusDataError: nights at another rate than most (it failed in the builder's shape check, about
            `dataset_features`), naming them, their rate, the others' and the fix.
        UnitError: a channel in a unit that cannot be converted to the first night's (per cent beside µV).
    """
    nights = {pair.psg: _night_channels(pair.psg, channels) for pair in pairs}
    rates = Counter(rate for rate, _ in nights.values())
    rate = rates.most_common(1)[0][0]  # (in a tie, the first night's: Counter keeps the first seen first)
    others = [psg for psg, (night_rate, _) in nights.items() if night_rate != rate]
    if others:
        listed = ", ".join(channels)
        if len(others) == 1:
            which = f"{others[0].name} records {listed} at {nights[others[0]][0]:g} Hz, and"
        else:
            shown = ", ".join(f"{psg.name} ({nights[psg][0]:g} Hz)" for psg in others[:3])
            which = (
                f"{shown}{f' and {len(others) - 3} more' if len(others) > 3 else ''} record {listed} at other rates;"
            )
        raise CitrusDataError(
            f"{which} the other nights under {data_dir} at {rate:g} Hz ({rates[rate]} of {len(nights)} nights). The "
            f"windows of one set share one shape: resample {'that night' if len(others) == 1 else 'those nights'} to "
            f"{rate:g} Hz (e.g. `mne.io.read_raw_edf(path).resample({rate:g})`, then `mne.export.export_raw`) or move "
            f"{'it' if len(others) == 1 else 'them'} out of {data_dir}."
        )
    first, (_, units) = next(iter(nights.items()))
    for psg, (_, night_units) in nights.items():
        for channel, unit, expected in zip(channels, night_units, units):
            if unit != expected:
                raise UnitError(
                    f"{psg} holds {channel!r} in {unit or 'no unit'}, and {first} in {expected or 'no unit'}, which it "
                    "cannot be converted to: the rows of one set share their channels' units (a model fine-tuned on "
                    f"them records them). Export that night's {channel!r} in {expected or 'the same unit'}, or move "
                    f"it out of {data_dir}."
                )
    return rate, units


def _sleep_edf_examples(
    pairs: list[dict],
    channels: tuple[str, ...],
    window_seconds: float,
    max_wake_edge_minutes,
    rate: float,
    units: tuple[str, ...],
):
    for item in pairs:
        pair = SleepEdfPair(Path(item["psg"]), Path(item["hypnogram"]), item["subject"], item["night"])
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
                # named, so that a stager fine-tuned on them picks a PSG's channels by name and converts its units
                channel_names=list(channels),
                channel_units=list(units),
            )


# Sleep-EDF's subsets (its PhysioNet folders) -> the study letters its recordings' names start with
SLEEP_EDF_SUBSETS: dict[str, str] = {"sleep-cassette": "SC", "sleep-telemetry": "ST"}


def plan_sleep_edf(
    data_dir: str | os.PathLike,
    options: dict[str, Any],
    subjects: Sequence[int] | None = None,
    subsets: Sequence[str] | None = None,
) -> BuildPlan:
    """Pair the PSG / hypnogram files under ``data_dir`` (only the nights of ``subjects``, the two digits after
    ``SC4`` / ``ST7``, and of ``subsets``, ``sleep-cassette`` SC* / ``sleep-telemetry`` ST*, when given) and split
    them by subject.

    Options: ``window_seconds`` (30, or 2 for TF-C-style windows), ``channels`` (default Fpz-Cz, Pz-Oz, EOG; the
    2 s variant uses Fpz-Cz only), ``fractions`` (train / validation / test shares of subjects), ``seed``,
    ``max_wake_edge_minutes`` (30; None keeps every wake epoch). Every row names its channels (``channel_names``) and
    their units (``channel_units``: µV for a voltage, every night's read in it); every night must record the channels
    at one rate (`_alike_nights`).
    """
    from datasets import List, Value

    pairs = pair_sleep_edf_files(data_dir)
    if not pairs:
        raise CitrusDataError(
            f"No Sleep-EDF PSG + hypnogram pairs under {data_dir}; fetch them with "
            f"`citrus data fetch sleep_edf --data-dir {data_dir}`."
        )
    if subjects is not None or subsets is not None:
        # a selection of a local copy that holds more nights (the script's `--subjects 0 1 --no-download`, its
        # --subsets): it reached the download only, and the set held every night of the folder
        if subsets is not None:  # one name alone is the list of that one (not its letters)
            subsets = listed_option("subsets", subsets, list(SLEEP_EDF_SUBSETS))
        studies = {SLEEP_EDF_SUBSETS[subset] for subset in subsets or ()}
        chosen = [
            pair
            for pair in pairs
            if (subsets is None or pair.subject[:2] in studies)
            and (subjects is None or int(pair.subject[2:]) in set(subjects))
        ]
        if not chosen:
            asked = " and ".join(
                part
                for part in (
                    f"subjects {sorted(subjects)}" if subjects is not None else "",
                    f"subsets {', '.join(subsets)}" if subsets is not None else "",
                )
                if part
            )
            raise CitrusDataError(
                f"No Sleep-EDF night of {asked} under {data_dir} (its nights: "
                f"{', '.join(pair.recording for pair in pairs[:5])}{' ...' if len(pairs) > 5 else ''}); name "
                "subjects and subsets it holds, or fetch them."
            )
        pairs = chosen
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
    rate, units = _alike_nights(pairs, channels, data_dir)
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
                rate=rate,
                units=units,
            )
    features = dataset_features(list(SLEEP_STAGES), False, (len(channels), window))
    features["channel_names"] = List(Value("string"))
    features["channel_units"] = List(Value("string"))
    return BuildPlan(features, _sleep_edf_examples, splits)


def _build(options: dict[str, Any], context: BuildContext) -> BuildPlan:
    subjects, subsets = context.selection.get("subjects"), context.selection.get("subsets")
    if subjects is not None:  # one subject alone (0) is the list of that one: `int in 0` failed inside the pairing
        subjects = listed_option("subjects", subjects)
    if context.download and not pair_sleep_edf_files(context.data_dir):
        fetch_sleep_edf(context.data_dir, subsets=subsets or ("sleep-cassette",), subjects=subjects)
    return plan_sleep_edf(context.data_dir, options, subjects, subsets)


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
        selection_keys=("subjects", "subsets"),
        # 1.1.0: only whole epochs inside one stage (no window across two, none twice), point-event and AASM stages;
        # the channel_names / channel_units columns, every night's voltages in µV; 1.1.1: an EDF+ start keeps its
        # fraction of a second (the first record's time-keeping annotation), which moves a hypnogram's offset to its
        # PSG where the two fractions differ, so a build cached before that is built again
        version="1.1.1",
    )(_build)
