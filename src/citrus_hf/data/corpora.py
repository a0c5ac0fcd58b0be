"""The online corpora: Sleep-EDF Expanded, the TF-C benchmark sets and PhysioNet WFDB records.

Each has a fetch function (HTTPS, checked against the publisher's checksums, see :mod:`citrus_hf.data.fetch`) and a
builder that turns a local copy into a ``datasets.DatasetDict`` with the same columns as the offline datasets.
``build_online(name, data_dir=...)`` fetches what is missing (unless offline) and builds.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CitrusDataError
from .fetch import fetch_figshare, fetch_physionet
from .plans import BuildPlan, dataset_features, resolve_options, write_plan
from .readers import (
    SLEEP_EDF_CHANNELS,
    load_tfc_split,
    pair_sleep_edf_files,
    read_edf_header,
    read_wfdb,
    sleep_edf_windows,
)
from .registry import (
    PHYSIONET_URL,
    SLEEP_STAGES,
    TFC_SETS,
    DatasetSpec,
    FigshareArticle,
    PhysioNetDatabase,
    get_dataset_spec,
    get_source,
)
from .windowing import split_by_group

SPLITS = ("train", "validation", "test")

# ============================================================================ Sleep-EDF


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
    database: PhysioNetDatabase = get_source("sleep_edf").remote

    def select(relative: str) -> bool:
        folder, _, name = relative.partition("/")
        if folder not in subsets or not name.endswith(".edf"):
            return False
        return subjects is None or int(name[3:5]) in set(subjects)

    return fetch_physionet(database, data_dir, select=select, base_url=base_url)


def _sleep_edf_examples(pairs: list[dict], channels: tuple[str, ...], window_seconds: float, max_wake_edge_minutes):
    from .readers import SleepEdfPair

    for item in pairs:
        pair = SleepEdfPair(Path(item["psg"]), Path(item["hypnogram"]), item["subject"], item["night"])
        rate = read_edf_header(pair.psg).sampling_rate(channels[0])
        for window, stage, start in sleep_edf_windows(
            pair, channels, window_seconds=window_seconds, max_wake_edge_minutes=max_wake_edge_minutes
        ):
            yield {
                "input_values": window,
                "label": SLEEP_STAGES.index(stage),
                "sampling_rate": rate,
                "subject": pair.subject,
                "recording": pair.recording,
                "source": f"sleep-edfx/1.0.0:{pair.psg.name}",
                "start_seconds": start,
            }


def plan_sleep_edf(data_dir: str | os.PathLike, options: dict[str, Any]) -> BuildPlan:
    """Pair the PSG / hypnogram files under ``data_dir`` and split them by subject.

    Options: ``window_seconds`` (30, or 2 for TF-C-style windows), ``channels`` (default Fpz-Cz, Pz-Oz, EOG; the
    2 s variant uses Fpz-Cz only), ``fractions`` (train / validation / test shares of subjects), ``seed``,
    ``max_wake_edge_minutes`` (30).
    """
    pairs = pair_sleep_edf_files(data_dir)
    if not pairs:
        raise CitrusDataError(
            f"No Sleep-EDF PSG + hypnogram pairs under {data_dir}; fetch them with "
            f"`python dataset_scripts/sleep_edf.py --data-dir {data_dir}`."
        )
    recordings_per_subject = Counter(pair.subject for pair in pairs)
    assignment = split_by_group(recordings_per_subject, dict(zip(SPLITS, options["fractions"])), seed=options["seed"])
    channels = tuple(options["channels"])
    rate = read_edf_header(pairs[0].psg).sampling_rate(channels[0])
    window = int(round(options["window_seconds"] * rate))
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
    return BuildPlan(
        dataset_features(list(SLEEP_STAGES), False, (len(channels), window)), _sleep_edf_examples, splits, ()
    )


# ============================================================================ TF-C benchmark


def fetch_tfc(name: str, data_dir: str | os.PathLike, api_url: str | None = None) -> dict[str, Path]:
    """Download one TF-C set (``sleepeeg``, ``epilepsy``, ``fd_a``, ``fd_b``, ``har``, ``gesture``, ``ecg``,
    ``emg``) from figshare into ``data_dir``, each file checked against figshare's md5."""
    article: FigshareArticle = get_source(f"tfc_{name}").remote
    kwargs = {"api_url": api_url} if api_url else {}
    return fetch_figshare(article, data_dir, **kwargs)


def _tfc_examples(path: str, split: str, tfc_name: str, rate: float, source: str) -> Iterator[dict]:
    samples, labels = load_tfc_split(path)
    for index in range(samples.shape[0]):
        yield {
            "input_values": np.asarray(samples[index], dtype=np.float32),
            "label": int(labels[index]),
            "sampling_rate": rate,
            "subject": "unknown",
            "recording": f"{tfc_name}/{split}/{index}",
            "source": source,
            "start_seconds": 0.0,
        }


def plan_tfc(name: str, data_dir: str | os.PathLike) -> BuildPlan:
    """Plan a TF-C set from ``data_dir/{train,val,test}.pt``; class names are the label numbers as published."""
    meta = TFC_SETS[name]
    data_dir = Path(data_dir)
    files = {"train": "train.pt", "validation": "val.pt", "test": "test.pt"}
    missing = [f for f in files.values() if not (data_dir / f).is_file()]
    if missing:
        raise CitrusDataError(
            f"TF-C set {name!r}: {missing} missing in {data_dir}; fetch it with "
            f"`python dataset_scripts/tfc_benchmark.py {name} --data-dir {data_dir}`."
        )
    shape = None
    for file in files.values():
        samples, labels = load_tfc_split(data_dir / file)
        if labels.size and (labels.min() < 0 or labels.max() >= meta["classes"]):
            raise CitrusDataError(
                f"{data_dir / file}: labels span {labels.min()}..{labels.max()}, expected 0..{meta['classes'] - 1}."
            )
        if shape is not None and samples.shape[1:] != shape:
            raise CitrusDataError(f"{data_dir / file}: window shape {samples.shape[1:]} differs from {shape}.")
        shape = samples.shape[1:]
    article = get_source(f"tfc_{name}").remote
    splits = {
        split: dict(
            path=str(data_dir / file),
            split=split,
            tfc_name=name,
            rate=meta["rate"],
            source=f"figshare:{article.article_id}/v{article.version}/{file}",
        )
        for split, file in files.items()
    }
    names = [str(k) for k in range(meta["classes"])]
    return BuildPlan(dataset_features(names, False, tuple(shape)), _tfc_examples, splits, ())


# ============================================================================ PhysioNet WFDB (MIT-BIH beats)

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


def fetch_mitdb(data_dir: str | os.PathLike, records: Sequence[str] | None = None, base_url: str = PHYSIONET_URL):
    """Download MIT-BIH Arrhythmia records (``.hea`` / ``.dat`` / ``.atr``), checked against SHA256SUMS.txt."""
    wanted = set(records) if records is not None else set(MITDB_DS1 + MITDB_DS2)

    def select(relative: str) -> bool:
        stem, _, extension = relative.rpartition(".")
        return "/" not in relative and stem in wanted and extension in {"hea", "dat", "atr"}

    return fetch_physionet(get_source("mitdb").remote, data_dir, select=select, base_url=base_url)


def wfdb_beat_windows(
    record: str | os.PathLike, before_seconds: float, after_seconds: float, channel: int = 0
) -> Iterator[tuple[np.ndarray, str, int]]:
    """Yield ``(window (1, T) float32, AAMI class, R-peak sample)`` for each annotated beat of a WFDB record.

    Beats too close to either end for a full window are skipped, as are annotations that are not beats.
    """
    recording = read_wfdb(record, "atr")
    rate = recording.sampling_rate
    before, after = int(round(before_seconds * rate)), int(round(after_seconds * rate))
    signal = recording.data[channel]
    for sample, symbol in zip(recording.annotation_samples, recording.annotation_symbols):
        cls = AAMI_MAP.get(symbol)
        if cls is None or sample - before < 0 or sample + after > signal.size:
            continue
        yield signal[None, sample - before : sample + after].astype(np.float32), cls, int(sample)


def _wfdb_examples(records: list[str], before_seconds: float, after_seconds: float, rate: float, source: str):
    for record in records:
        name = Path(record).name
        for window, cls, sample in wfdb_beat_windows(record, before_seconds, after_seconds):
            yield {
                "input_values": window,
                "label": AAMI_CLASSES.index(cls),
                "sampling_rate": rate,
                "subject": f"mitdb-{name}",
                "recording": name,
                "source": f"{source}:{name}",
                "start_seconds": sample / rate - before_seconds,
            }


def plan_mitdb(data_dir: str | os.PathLike, options: dict[str, Any]) -> BuildPlan:
    """Plan beat windows of the MIT-BIH records under ``data_dir``: DS1 -> train, DS2 -> test."""
    data_dir = Path(data_dir)
    splits = {}
    rate = None
    for split, records in (("train", MITDB_DS1), ("test", MITDB_DS2)):
        present = [str(data_dir / r) for r in records if (data_dir / f"{r}.hea").is_file()]
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
            f"`python dataset_scripts/physionet_wfdb.py --data-dir {data_dir}`."
        )
    window = int(round(options["before_seconds"] * rate)) + int(round(options["after_seconds"] * rate))
    return BuildPlan(dataset_features(list(AAMI_CLASSES), False, (1, window)), _wfdb_examples, splits, ())


# ============================================================================ dispatch

_ONLINE_DEFAULTS: dict[str, dict[str, Any]] = {
    "sleep_edf": dict(channels=SLEEP_EDF_CHANNELS, max_wake_edge_minutes=30.0),
    "sleep_edf_2s": dict(channels=SLEEP_EDF_CHANNELS[:1], max_wake_edge_minutes=30.0),
}


def _online_spec(name: str) -> DatasetSpec:
    spec = get_dataset_spec(name)
    extra = _ONLINE_DEFAULTS.get(name, {})
    return DatasetSpec(**{**spec.__dict__, "defaults": {**spec.defaults, **extra}})


def build_online(
    name: str,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    **options,
):
    """Build an online corpus from ``data_dir``, downloading what is missing first when ``download``.

    Args:
        name: ``sleep_edf``, ``sleep_edf_2s``, ``mitdb_beats`` or ``tfc_<set>``.
        data_dir: local copy of the corpus (required).
        cache_dir: the datasets cache.
        download: fetch missing files (needs network; raises :class:`OfflineError` otherwise).
        **options: builder options (see the spec's defaults, plus ``channels`` / ``max_wake_edge_minutes`` for
            Sleep-EDF); ``subjects`` / ``records`` limit what is downloaded.

    Returns:
        ``datasets.DatasetDict``.
    """
    if data_dir is None:
        raise CitrusDataError(f"Dataset {name!r} is built from a local copy: pass data_dir (where to keep it).")
    subjects = options.pop("subjects", None)
    records = options.pop("records", None)
    spec = _online_spec(name)
    resolved = resolve_options(spec, options)
    data_dir = Path(data_dir)
    if name.startswith("sleep_edf"):
        if download and not pair_sleep_edf_files(data_dir):
            fetch_sleep_edf(data_dir, subjects=subjects)
        plan = plan_sleep_edf(data_dir, resolved)
    elif name == "mitdb_beats":
        if download and not any(data_dir.glob("*.hea")):
            fetch_mitdb(data_dir, records=records)
        plan = plan_mitdb(data_dir, resolved)
    elif name.startswith("tfc_"):
        tfc_name = name[len("tfc_") :]
        if download and not all((data_dir / f).is_file() for f in ("train.pt", "val.pt", "test.pt")):
            fetch_tfc(tfc_name, data_dir)
        plan = plan_tfc(tfc_name, data_dir)
    else:
        raise CitrusDataError(f"{name!r} is not an online corpus.")
    # The local files enter the cache key through their names, sizes and modification times.
    stamp = sorted(
        (str(p.relative_to(data_dir)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in data_dir.rglob("*")
        if p.is_file()
    )
    return write_plan(name, spec.version, {**resolved, "files": stamp}, plan, cache_dir)
