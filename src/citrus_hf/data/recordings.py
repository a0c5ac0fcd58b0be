"""Recordings as the sources list them, and the generic ways datasets are cut from them.

An offline source lists its recordings as :class:`RecordingRef` handles: where a recording is, who and what it is,
and the function that loads it into :class:`Signals` (``(channels, time)`` at the native rate, with a name and a
modality per channel). Handles are cheap; a recording is loaded only when a generator reaches it, so a corpus never
sits whole in memory.

Cutting examples out of recordings, shared by the datasets of every corpus:

* :func:`channel_windows` / :func:`plan_channel_corpus`: unlabelled corpora, one single-channel window per row at
  the native rate (pre-training, channel-independent), split by recording.
* :func:`labelled_windows`: labelled recordings (a trial, or a recording of one class) as one example each, or cut
  into windows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CitrusDataError
from .fetch import source_members
from .plans import BuildPlan, dataset_features, window_row
from .registry import get_source
from .windowing import seconds_to_samples, split_by_group, window_starts


@dataclass(frozen=True)
class Signals:
    """One loaded recording.

    Attributes:
        data: ``(channels, time)`` float64, in the source's units (documented per source).
        sampling_rate: Hz.
        channel_names: one per row of ``data``.
        modalities: one per row of ``data`` ("EEG", "ECG", ...).
    """

    data: np.ndarray
    sampling_rate: float
    channel_names: tuple[str, ...]
    modalities: tuple[str, ...]

    def __post_init__(self):
        if self.data.ndim != 2 or not len(self.channel_names) == len(self.modalities) == self.data.shape[0]:
            raise CitrusDataError(
                f"A recording of shape {self.data.shape} came with {len(self.channel_names)} channel names and "
                f"{len(self.modalities)} modalities; the source's loader is wrong."
            )


# The ``subject`` of a recording whose source does not say who was recorded: not one subject, so a count of subjects
# leaves it out and a carve by subject groups such rows by their recording instead.
UNKNOWN_SUBJECT = "unknown"


@dataclass(frozen=True)
class RecordingRef:
    """Where one recording is and how to load it.

    Attributes:
        source: the registry name of its source.
        recording: its id, unique in the registry (the ``recording`` column).
        subject: who was recorded ("unknown" when the source does not say).
        origin: the ``source`` column: the archive and file(s) it comes from (``package==version:file``).
        loader: ``loader(**arguments) -> Signals``; a module-level function, so a handle pickles.
        arguments: what ``loader`` needs (paths, indices).
        label: the class index of a labelled recording (a trial, or a recording of one class), else None.
        split: the split the source itself puts it in (an official train / test split), else None.
        shape: ``(channels, samples, sampling rate)`` when the source knows it without loading the recording (then
            planning a corpus reads nothing).
    """

    source: str
    recording: str
    subject: str
    origin: str
    loader: Callable[..., Signals] = field(repr=False)
    arguments: Mapping[str, Any] = field(default_factory=dict, repr=False)
    label: int | None = None
    split: str | None = None
    shape: tuple[int, int, float] | None = None

    def load(self) -> Signals:
        """Read the recording."""
        return self.loader(**self.arguments)

    @property
    def identity(self) -> dict[str, str]:
        """The ``subject``, ``recording`` and ``source`` columns of its rows (keywords of :func:`window_row`)."""
        return {"subject": self.subject, "recording": self.recording, "source": self.origin}


def member_origin(source: str, member: str) -> str:
    """The ``source`` column of rows read from ``member`` of a source's archive: ``package==version:file``."""
    return f"{get_source(source).archive.requirement}:{Path(member).name}"


def recordings_of(sources: Sequence[str], archive_cache_dir=None) -> list[RecordingRef]:
    """Every recording of the offline ``sources``, source by source in the order given."""
    return [ref for name in sources for ref in get_source(name).recordings(archive_cache_dir)]


def recordings_per_member(
    source: str,
    loader: Callable[..., Signals],
    archive_cache_dir=None,
    *,
    recording: Callable[[str], str],
    subject: str | Callable[[str], str] = UNKNOWN_SUBJECT,
    arguments: Callable[[str], Mapping[str, Any]] = lambda member: {},
) -> list[RecordingRef]:
    """One recording per member of an offline source, loaded by ``loader(path=..., **arguments(member))``.

    Args:
        source: the source's registry name.
        loader: reads one member.
        recording: the recording id of a member (e.g. ``lambda member: f"spkit/{Path(member).stem}"``).
        subject: the ``subject`` column, or the function that gives it for a member.
        arguments: further loader arguments for a member.
    """
    return [
        RecordingRef(
            source=source,
            recording=recording(member),
            subject=subject(member) if callable(subject) else subject,
            origin=member_origin(source, member),
            loader=loader,
            arguments=dict(path=str(path), **arguments(member)),
        )
        for member, path in source_members(source, archive_cache_dir).items()
    ]


def find_member(paths: Mapping[str, Path], suffix: str) -> Path:
    """The extracted path of the one member whose name ends with ``suffix``."""
    found = [path for member, path in paths.items() if member.endswith(suffix)]
    if len(found) != 1:
        raise CitrusDataError(f"Expected one archive member ending in {suffix!r}, found {len(found)}.")
    return found[0]


# ============================================================================ unlabelled, one channel per row


def channel_segments(
    samples: int,
    rate: float,
    window_seconds: float,
    hop_seconds: float,
    min_seconds: float | None = None,
    held_out: Sequence[tuple[float, float]] = (),
) -> list[tuple[int, int]]:
    """``(start, length)`` of the rows :func:`channel_windows` cuts from a recording of ``samples`` at ``rate``.

    Windows of ``window_seconds`` every ``hop_seconds``; with ``min_seconds``, the stretch after the last window (or a
    recording shorter than one window: a trial) becomes a row of its own when it lasts at least ``min_seconds``, so
    no stretch of real signal that long is left out. ``held_out`` lists ``(start, end)`` seconds of the recording
    that no row may touch (an evaluation split's windows): rows are then cut, the same way, from each stretch
    between them.
    """
    segments = []
    for first, stop in free_stretches(samples, rate, held_out):
        segments += [
            (first + start, length)
            for start, length in _stretch_segments(stop - first, rate, window_seconds, hop_seconds, min_seconds)
        ]
    return segments


def _stretch_segments(
    samples: int, rate: float, window_seconds: float, hop_seconds: float, min_seconds: float | None
) -> list[tuple[int, int]]:
    """:func:`channel_segments` of one stretch of ``samples``, from its first sample."""
    window = seconds_to_samples(window_seconds, rate)
    segments = [(int(start), window) for start in window_starts(samples, rate, window_seconds, hop_seconds)]
    if min_seconds is not None:
        covered = segments[-1][0] + window if segments else 0
        if samples - covered >= min_seconds * rate:
            segments.append((covered, samples - covered))
    return segments


def free_stretches(samples: int, rate: float, held_out: Sequence[tuple[float, float]]) -> list[tuple[int, int]]:
    """``(first, stop)`` sample ranges of a recording of ``samples`` at ``rate`` that no ``(start, end)`` second span
    of ``held_out`` touches (a span's edges are rounded outwards to whole samples; ``end`` may be ``math.inf``)."""
    stretches, first = [], 0
    for start, end in sorted(held_out):
        span_first, span_stop = int(np.floor(start * rate)), int(np.ceil(min(end * rate, samples)))
        if span_first > first:
            stretches.append((first, min(span_first, samples)))
        first = max(first, span_stop)
        if first >= samples:
            break
    if first < samples:
        stretches.append((first, samples))
    return [(a, b) for a, b in stretches if b > a]


def channel_windows(
    recordings: list[RecordingRef],
    window_seconds: float,
    hop_seconds: float,
    min_seconds: float | None = None,
    source_column: bool = False,
    held_out: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> Iterator[dict]:
    """One example per channel and segment (:func:`channel_segments`) of each recording, at its native rate.

    Args:
        recordings: what to cut.
        window_seconds / hop_seconds: the windows.
        min_seconds: keep shorter stretches of at least this long (see :func:`channel_segments`); None: windows only.
        source_column: add the registry name of each row's source as ``source_name``.
        held_out: ``{recording: [(start, end) seconds]}`` that no row may touch (see :func:`channel_segments`).

    Yields:
        rows with ``input_values`` ``(1, samples)`` float32 and the columns of :mod:`citrus_hf.data.plans`, plus
        ``channel`` and ``modality``.
    """
    for ref in recordings:
        signals = ref.load()
        rate = signals.sampling_rate
        spans = (held_out or {}).get(ref.recording, ())
        segments = channel_segments(signals.data.shape[1], rate, window_seconds, hop_seconds, min_seconds, spans)
        for channel, name in enumerate(signals.channel_names):
            for start, length in segments:
                yield window_row(
                    signals.data[channel : channel + 1, start : start + length].astype(np.float32),
                    rate,
                    start / rate,
                    **ref.identity,
                    channel=name,
                    modality=signals.modalities[channel],
                    **({"source_name": ref.source} if source_column else {}),
                )


def channel_window_count(
    ref: RecordingRef,
    window_seconds: float,
    hop_seconds: float,
    min_seconds=None,
    held_out: Sequence[tuple[float, float]] = (),
    min_rate: float = 0.0,
) -> int:
    """How many rows :func:`channel_windows` makes of ``ref`` (loads it unless the ref knows its shape); 0 when it is
    sampled below ``min_rate`` Hz."""
    if ref.shape is None:
        signals = ref.load()
        channels, samples, rate = signals.data.shape[0], signals.data.shape[1], signals.sampling_rate
    else:
        channels, samples, rate = ref.shape
    if rate < min_rate:
        return 0
    return len(channel_segments(samples, rate, window_seconds, hop_seconds, min_seconds, held_out)) * channels


def plan_channel_corpus(
    recordings: list[RecordingRef],
    options: dict,
    min_seconds: float | None = None,
    source_column: bool = False,
    held_out: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    min_rate: float = 0.0,
    owner: str = "this corpus",
) -> BuildPlan:
    """Plan an unlabelled corpus (``owner``, its name in errors): :func:`channel_windows` of ``recordings``, split
    train / validation by recording.

    Options: ``window_seconds``, ``hop_seconds``, ``validation_fraction`` (share of rows in validation), ``seed``.
    Recordings are assigned largest first to the split furthest below its target (``split_by_group``). ``held_out``
    (``{recording: [(start, end) seconds]}``) names the stretches no row may touch; a recording they cover whole
    gives no row, and so does a recording sampled below ``min_rate`` Hz.
    """
    held_out = dict(held_out or {})
    sizes = {}
    for ref in recordings:
        spans = held_out.get(ref.recording, ())
        rows = channel_window_count(
            ref, options["window_seconds"], options["hop_seconds"], min_seconds, spans, min_rate=min_rate
        )
        if rows:
            sizes[ref.recording] = rows
    if not sizes:
        raise CitrusDataError(f"No recording is as long as one {options['window_seconds']} s window.")
    fraction = options["validation_fraction"]
    shares = {"train": 1 - fraction, "validation": fraction}
    assignment = split_by_group(sizes, shares, options["seed"], owner, "recordings")
    by_name = {ref.recording: ref for ref in recordings}
    splits = {
        split: dict(
            recordings=[by_name[name] for name in names],
            window_seconds=options["window_seconds"],
            hop_seconds=options["hop_seconds"],
            min_seconds=min_seconds,
            source_column=source_column,
            held_out={name: held_out[name] for name in names if name in held_out},
        )
        for split, names in assignment.items()
        if names
    }
    extra = ("channel", "modality", "source_name") if source_column else ("channel", "modality")
    return BuildPlan(dataset_features(None, False, None, extra), channel_windows, splits)


# ============================================================================ labelled recordings


def labelled_windows(
    recordings: list[RecordingRef], window_seconds: float | None = None, hop_seconds: float | None = None
) -> Iterator[dict]:
    """The examples of labelled recordings: each recording whole (``window_seconds`` None: trials), or its windows.

    Yields:
        rows with ``input_values`` ``(channels, samples)`` float32, ``label`` (the recording's), and the columns of
        :mod:`citrus_hf.data.plans`.
    """
    for ref in recordings:
        signals = ref.load()
        rate = signals.sampling_rate
        if window_seconds is None:
            starts, length = np.zeros(1, dtype=np.int64), signals.data.shape[1]
        else:
            starts = window_starts(signals.data.shape[1], rate, window_seconds, hop_seconds)
            length = seconds_to_samples(window_seconds, rate)
        for start in starts:
            yield window_row(
                signals.data[:, start : start + length].astype(np.float32),
                rate,
                start / rate,
                label=ref.label,
                **ref.identity,
            )


def plan_official_split(
    recordings: Sequence[RecordingRef], class_names: Sequence[str], shape: tuple[int, int] | None
) -> BuildPlan:
    """Plan a set of labelled trials whose source gives the split (``ref.split``): one example per trial."""
    splits: dict[str, dict] = {}
    for ref in recordings:
        if ref.split is None or ref.label is None:
            raise CitrusDataError(f"Recording {ref.recording} of {ref.source} has no official split or no label.")
        splits.setdefault(ref.split, dict(recordings=[]))["recordings"].append(ref)
    return BuildPlan(dataset_features(list(class_names), False, shape), labelled_windows, splits)


__all__ = [
    "UNKNOWN_SUBJECT",
    "RecordingRef",
    "Signals",
    "channel_segments",
    "channel_window_count",
    "channel_windows",
    "find_member",
    "free_stretches",
    "labelled_windows",
    "member_origin",
    "plan_channel_corpus",
    "plan_official_split",
    "recordings_of",
    "recordings_per_member",
]
