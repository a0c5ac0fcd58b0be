"""The MIT-BIH Arrhythmia Database (PhysioNet, WFDB records): one window per reference-annotated beat, labelled
with its AAMI class, split inter-patient as de Chazal et al. (2004)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...vocabulary_citrus import CLASSIFICATION
from ..errors import CitrusDataError
from ..fetch import fetch_physionet
from ..plans import BuildContext, BuildPlan, dataset_features, listed_option, window_row
from ..readers import read_wfdb
from ..registry import PHYSIONET_CITATION, PHYSIONET_URL, PhysioNetDatabase, online_source, register_dataset
from ..windowing import seconds_to_samples

DATABASE = PhysioNetDatabase("mitdb", "1.0.0")

# de Chazal P, O'Dwyer M, Reilly RB. Automatic classification of heartbeats using ECG morphology and heartbeat
# interval features. IEEE TBME 51(7):1196-1206, 2004. Paced records 102, 104, 107 and 217 are in neither set.
MITDB_DS1: tuple[str, ...] = tuple(
    "101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230".split()
)
MITDB_DS2: tuple[str, ...] = tuple(
    "100 103 105 111 113 117 121 123 200 202 210 212 213 214 219 221 222 228 231 232 233 234".split()
)
AAMI_CLASSES: tuple[str, ...] = ("N", "S", "V", "F", "Q")
# MIT-BIH beat symbols -> AAMI EC57 classes; other symbols (rhythm, noise, flutter waves) are not beats.
AAMI_MAP: dict[str, str] = {
    **dict.fromkeys("NLRej", "N"),
    **dict.fromkeys("AaJS", "S"),
    **dict.fromkeys("VE", "V"),
    "F": "F",
    **dict.fromkeys("/fQ", "Q"),
}


@online_source(
    name="mitdb",
    description="MIT-BIH Arrhythmia Database: 48 two-lead ambulatory ECG records, 360 Hz, 30 min, with "
    "reference beat annotations (WFDB format).",
    modality="ECG",
    sampling_rate="360",
    channels="2",
    license="ODC-By 1.0",
    citation="Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng Med Biol "
    "20(3):45-50, 2001. " + PHYSIONET_CITATION,
    remote=DATABASE,
    homepage="https://physionet.org/content/mitdb/1.0.0/",
)
def fetch_mitdb(data_dir: str | os.PathLike, records: Sequence[str] | None = None, base_url: str = PHYSIONET_URL):
    """Download MIT-BIH Arrhythmia records (``.hea`` / ``.dat`` / ``.atr``), checked against SHA256SUMS.txt."""
    wanted = set(records) if records is not None else set(MITDB_DS1 + MITDB_DS2)

    def select(relative: str) -> bool:
        stem, _, extension = relative.rpartition(".")
        return "/" not in relative and stem in wanted and extension in {"hea", "dat", "atr"}

    return fetch_physionet(DATABASE, data_dir, select=select, base_url=base_url)


# The lead every beat window is cut from: MLII, which 46 of the 48 records hold, first in all but record 114, which
# holds V5 first and MLII second (102 and 104, paced, hold none and are in neither set): taking the first lead put
# record 114's V5 beats among MLII ones.
MITDB_LEAD = "MLII"


def wfdb_beat_windows(
    record: str | os.PathLike, before_seconds: float, after_seconds: float, lead: str | int = MITDB_LEAD
) -> Iterator[tuple[np.ndarray, str, int]]:
    """Yield ``(window (1, T) float32, AAMI class, R-peak sample)`` for each annotated beat of a WFDB record, from
    its lead named `lead` (or at that position).

    Beats too close to either end for a full window are skipped, as are annotations that are not beats.

    Raises:
        CitrusDataError: a record without that lead, naming its leads.
    """
    recording = read_wfdb(record, "atr")
    yield from _beat_windows(recording, _lead_row(recording, lead, record), before_seconds, after_seconds)


def _lead_row(recording, lead: str | int, record: str | os.PathLike) -> int:
    """The row of `recording`'s lead `lead` (a name, or a position)."""
    if isinstance(lead, int):
        return lead
    names = list(recording.channel_names)
    if lead not in names:
        raise CitrusDataError(
            f"WFDB record {record} has no lead {lead!r} (its leads: {', '.join(names)}); leave it out of the folder "
            "(MIT-BIH's paced records 102 and 104 hold none, and are in neither split)."
        )
    return names.index(lead)


def _beat_windows(
    recording, row: int, before_seconds: float, after_seconds: float
) -> Iterator[tuple[np.ndarray, str, int]]:
    """`wfdb_beat_windows` of a record read (its `row`)."""
    rate = recording.sampling_rate
    before, after = seconds_to_samples(before_seconds, rate), seconds_to_samples(after_seconds, rate)
    signal = recording.data[row]
    for sample, symbol in zip(recording.annotation_samples, recording.annotation_symbols):
        cls = AAMI_MAP.get(symbol)
        if cls is None or sample - before < 0 or sample + after > signal.size:
            continue
        yield signal[None, sample - before : sample + after].astype(np.float32), cls, int(sample)


def _wfdb_examples(records: list[str], before_seconds: float, after_seconds: float, rate: float, source: str):
    for record in records:
        name = Path(record).name
        recording = read_wfdb(record, "atr")
        row = _lead_row(recording, MITDB_LEAD, record)
        unit = recording.units[row] if len(recording.units) == len(recording.channel_names) else ""
        for window, cls, sample in _beat_windows(recording, row, before_seconds, after_seconds):
            yield window_row(
                window,
                rate,
                sample / rate - before_seconds,
                label=AAMI_CLASSES.index(cls),
                subject=f"mitdb-{name}",
                recording=name,
                source=f"{source}:{name}",
                # named, as the other builders' rows are: a model fine-tuned on them records its lead and unit
                channel_names=[MITDB_LEAD],
                channel_units=[unit],
            )


def check_mitdb_records(records: Sequence[str], data_dir: str | os.PathLike | None = None) -> None:
    """Refuse a selection of MIT-BIH records that names one in neither split (the paced records, a typo), or, given
    ``data_dir``, one that folder lacks: either would leave the named record out of the set without a word.

    Raises:
        CitrusDataError: naming the records and the fix.
    """
    outside = [record for record in records if record not in MITDB_DS1 + MITDB_DS2]
    if outside:
        raise CitrusDataError(
            f"MIT-BIH record(s) {', '.join(outside)} are in neither split of mitdb_beats (de Chazal's DS1 / DS2; the "
            "paced records 102, 104, 107 and 217 are in neither); name records of DS1 or DS2, e.g. 100 101."
        )
    absent = [] if data_dir is None else absent_records(data_dir, records)
    if absent:
        raise CitrusDataError(
            f"MIT-BIH record(s) {', '.join(absent)} are not under {data_dir}; fetch them (dataset_scripts/physionet_wfdb.py "
            "without --no-download, or build_dataset(..., download=True)) or leave them out of the records named."
        )


def absent_records(data_dir: str | os.PathLike, records: Sequence[str]) -> list[str]:
    """The records of `records` that have no header (``.hea``) under `data_dir`."""
    return [record for record in records if not (Path(data_dir) / f"{record}.hea").is_file()]


def plan_mitdb(data_dir: str | os.PathLike, options: dict[str, Any], records: Sequence[str] | None = None) -> BuildPlan:
    """Plan beat windows of the MIT-BIH records under ``data_dir`` (only ``records``, when given): DS1 -> train,
    DS2 -> test.

    Raises:
        CitrusDataError: no record under ``data_dir``; a record of ``records`` in neither split or not there.
    """
    from datasets import List, Value

    data_dir = Path(data_dir)
    if records is not None:
        # a selection of a local copy that holds more records (the script's `--records 100 101 --no-download`): it
        # reached the download only, and the set held every record of the folder
        check_mitdb_records(records, data_dir)
    splits = {}
    rate = None
    for split, split_records in (("train", MITDB_DS1), ("test", MITDB_DS2)):
        chosen = [r for r in split_records if records is None or r in records]
        present = [str(data_dir / r) for r in chosen if (data_dir / f"{r}.hea").is_file()]
        if not present:
            continue
        rate = read_wfdb(present[0], None).sampling_rate if rate is None else rate
        splits[split] = dict(
            records=present,
            before_seconds=options["before_seconds"],
            after_seconds=options["after_seconds"],
            rate=rate,
            source="mitdb/1.0.0",
        )
    if not splits:
        raise CitrusDataError(
            f"No MIT-BIH record under {data_dir}; fetch them with "
            f"`citrus data fetch mitdb_beats --data-dir {data_dir}`."
        )
    window = seconds_to_samples(options["before_seconds"], rate) + seconds_to_samples(options["after_seconds"], rate)
    features = dataset_features(list(AAMI_CLASSES), False, (1, window))
    features["channel_names"] = List(Value("string"))
    features["channel_units"] = List(Value("string"))
    return BuildPlan(features, _wfdb_examples, splits)


@register_dataset(
    name="mitdb_beats",
    description="MIT-BIH Arrhythmia beats: one window per annotated beat, from 0.25 s before to 0.45 s "
    "after the R-peak by default, lead MLII (first in every record of the two sets but 114, which holds it second), "
    "in mV, AAMI classes N/S/V/F/Q.",
    task=CLASSIFICATION,
    sources=("mitdb",),
    splits="the inter-patient split of de Chazal et al. (2004): DS1 train, DS2 test; paced records dropped.",
    defaults=dict(before_seconds=0.25, after_seconds=0.45),
    selection_keys=("records",),
    # 1.1.0: lead MLII by name (record 114's beats were its first lead, V5), the channel_names / channel_units columns
    version="1.1.0",
)
def _build(options: dict[str, Any], context: BuildContext) -> BuildPlan:
    records = context.selection.get("records")
    if records is not None:  # one record alone ("100", or 100) is the list of that one, not its characters
        records = [str(record) for record in listed_option("records", records)]
    # the records selected, or any when none is: a folder holding others lacks them still
    missing = not any(context.data_dir.glob("*.hea")) if records is None else absent_records(context.data_dir, records)
    if context.download and missing:
        fetch_mitdb(context.data_dir, records=records)
    return plan_mitdb(context.data_dir, options, records)
