"""A folder of recording files (or one file) as an unlabelled corpus, for `citrus pretrain --dataset FOLDER` and
`citrus data info FOLDER`: the pile of unlabelled signal a user has, in the formats `citrus predict` reads.

Every EDF / BDF, WFDB (``.hea``), WAV, ``.npy`` and ``.csv`` / ``.tsv`` / ``.txt`` file under the folder (recursively, in
name order; names starting with "." or "__" hidden, as `datasets` hides them) is read with
:func:`~.readers.files.read_recording` and cut into segments of ``SEGMENT_SECONDS`` (a remainder shorter than half of
one joins the last), one row each: ``input_values`` ``(channels, time)`` at the file's own rate, ``recording`` (the
file's path under the folder) and, for files that record their rate or whose rate a metadata file gives
(``file_name,sampling_rate``), ``sampling_rate``. A recording reached twice (a symlink to a file of the folder, a
byte-identical copy) is read once. Pre-training then resamples and windows the rows as it does any corpus
(`align_corpus`). The rows are written to the datasets cache as they are read (`Dataset.from_generator`), keyed by
every file's path, size and modification time, so a corpus never sits whole in memory and a changed file is read
again. A folder of ``MIN_FILES_FOR_VALIDATION`` files or more holds whole files out as a ``validation`` split (about
``VALIDATION_FRACTION`` of the channel-hours), which gives pre-training its held-out loss.

A folder laid out as `datasets`' audiofolder takes labelled files is a labelled set instead, one example per file,
for `citrus finetune --dataset FOLDER` / `citrus evaluate --datasets FOLDER`: ``train/<class>/<file>`` beside ``test/<class>/`` (and
``validation/<class>/``), labelled by the class folder's name (`labelled_layout`); or files beside a
``metadata.csv`` / ``metadata.jsonl`` / ``metadata.parquet`` whose ``file_name`` column names them and whose
``label`` (or ``target``, ``labels``) column labels them, its other columns (``subject``, ...) kept, the split of a
file its top folder's name when that is ``train`` / ``validation`` / ``test`` and ``train`` otherwise
(`metadata_layout`). Metadata with ``onset`` and ``duration`` columns is an events table (BIDS's ``events.tsv`` rows):
each row one example cut from its file, ``duration`` seconds from ``onset``, a file's events all in its split
(`_cut_events`). A file there that holds a recording of an earlier split (a symlink to a training file, or a
byte-identical copy of one, in ``test/``) is left out.

A folder is read this way when it holds a file only recordings come in (EDF, BDF, a WFDB header, ``.npy``), or
delimited text none of whose first lines names an ``input_values`` column (a table of examples, as `save_to_disk`'s
and the Hub's parquet / csv layouts hold, goes to `datasets.load_dataset` instead). A BIDS dataset's sidecars and
tables (``sub-01_task-rest_eeg.json``, ``participants.tsv``, ``*_channels.tsv``, ``*_events.tsv``: `is_bids_metadata`)
are neither recordings nor tables of examples: its recordings are read, as a labelled set of the events its
``*_events.tsv`` files give (`bids.read_bids_events`: an events table's rows) or, without any, as a pile, and the
files not read are named in a warning.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import itertools
import logging
import math
import numbers
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..vocabulary_citrus import VOLTAGE_UNITS, UnitError, canonical_unit, unit_factor
from .bids import (
    BIDS_DESCRIPTION,
    BIDS_OPTIONS,
    NOT_RAW,
    PARTICIPANTS,
    PARTICIPANTS_DESCRIPTION,
    holds_events,
    holds_raw_data,
    is_bids_root,
    no_events_reason,
    read_bids_events,
    reads_file,
    recording_breaks,
)
from .errors import (
    ChannelNamesError,
    CitrusDataError,
    CorruptFileError,
    ModalityChannelsError,
    SamplingRateError,
    naming_unwritable_cache,
    told_by_generator,
    unreadable_file,
)
from .listings import FILES_UNDER, files_under, given_listing, is_hidden_name, one_listing, warn_once
from .plans import row_sizes
from .readers._common import merged_breaks
from .readers.arff_csv import not_decodable, text_encoding
from .readers.edf import holds_annotations_only, read_edf_header, read_edf_stretches
from .readers.files import (
    CHANNEL_NAMING_FORMATS,
    READ_AS_WRITTEN_KEY,
    RECORDING_FORMATS,
    STRETCHED_FORMATS,
    companion_files,
    csv_header_of_column_numbers,
    header_rates,
    read_recording,
    read_stretches,
    recording_format,
    records_its_rate,
)
from .readers.wfdb import wfdb_holds_annotations_only, wfdb_names_by_rate, wfdb_segment_headers
from .windowing import split_by_group

logger = logging.getLogger(__name__)

# A stretch of a recording between two breaks (a BrainVision pause, an EEGLAB boundary) shorter than this is left out
# of a pile (`_segment_streams`) where the recording holds a longer one: it holds a few patches at most (citrus-small's
# are 0.1 s), and a row shorter than one patch refuses pre-training of the whole corpus, naming a file to move out.
_SHORTEST_STRETCH_SECONDS = 1.0
# A row's length: recordings of hours are cut so that an Arrow row stays small (an 8 h, 20-channel EDF at 256 Hz is
# 1.2 GB as float64). Ten minutes hold a whole number of the usual windows (2, 5, 10, 30 s), so cutting loses no
# window but the one a recording's own end leaves over. A remainder shorter than half a segment joins the last
# (`_short_end_joined`), so the longest row is one and a half.
SEGMENT_SECONDS = 600.0
# The same for files that do not record their rate (.npy, text): in samples.
UNRATED_SEGMENT_SAMPLES = 2**19
# File bytes whose rows the cache's writer holds before it writes them (`_rows_per_write`): `datasets` holds 1000 rows,
# and a labelled folder's row is a whole file, so a folder of nights was held whole, as float32, until every file had
# been read (a pile's ten-minute segments likewise, 1000 of them).
_WRITTEN_FILE_BYTES = 2**24
# Suffixes only recordings come in (a folder holding one is a folder of recordings).
_RECORDING_ONLY_SUFFIXES = frozenset(suffix for suffix, kind in RECORDING_FORMATS.items() if kind != "CSV")
# Suffixes of signal files no reader here reads (HDF5 / NWB, NumPy archives, MATLAB, Nihon Kohden's .eeg,
# MNE's FIF, XDF, GDF, Neuroscan, BIOPAC, TDMS, pickles, spreadsheets, an EDF saved as .rec) and of compressed or
# archived files (`night.edf.gz`): a folder of recordings is read without them, which is said, naming them
# (`warn_of_unread_files`); they were left out without a word, and the rest reported as the whole. Other files (notes,
# READMEs, images, a WFDB record's signal and annotation files) are passed over in silence, and so are the files a
# recording is read through its header from (`companion_files`: a BrainVision .vhdr's .eeg and .vmrk, an EEGLAB .set's
# .fdt; a .fdt of no .set is named).
_UNREAD_DATA_SUFFIXES = frozenset(
    (".h5", ".hdf5", ".hdf", ".he5", ".nwb", ".npz", ".mat", ".fdt", ".eeg", ".fif", ".xdf")
    + (".gdf", ".cnt", ".acq", ".tdms", ".pkl", ".pickle", ".xlsx", ".xls", ".rec")
    + (".gz", ".bz2", ".xz", ".zst", ".zip", ".tar", ".7z")
)
# The channel names MNE reads as a stimulus channel (its EDF / BDF readers' `stim_channel="auto"`, in any case):
# BioSemi's "Status", a recorder's "Trigger". They hold event codes, not a signal (`warn_of_trigger_channels`).
_TRIGGER_CHANNELS = frozenset({"status", "trigger"})
# MNE's own names of stimulus channels, which its exports keep: "STI 014" (its sample data), Neuromag's "STI101".
_MNE_STIMULUS_CHANNEL = re.compile(r"sti ?\d{3}")
# The annotators of PhysioNet's WFDB records (`100.atr` beside `100.hea`: reference beat labels; `.ecg` the beat labels
# of the Fantasia, NSR RR-interval, CHF RR-interval and MIT-BIH polysomnographic databases; `.apn` apnea, `.st` ST
# changes or sleep stages, `.sta` / `.stb` / `.stc` Long-Term ST's, `.arou` arousals, `.qrs` / `.wqrs` / `.sqrs`
# detectors' beats): annotation files, read by no route here.
_WFDB_ANNOTATION_SUFFIXES = frozenset(
    (".atr", ".ann", ".qrs", ".wqrs", ".sqrs", ".gqrs", ".apn", ".st", ".stf", ".arou", ".pwave", ".wabp", ".ari")
    + (".hypn", ".resp", ".trigger", ".alarms", ".event", ".marker", ".ecg", ".sta", ".stb", ".stc")
)
# The time-series classification archives' formats (UCR / UEA, sktime / aeon) and the reader of each: files of
# labelled examples, not recordings, so a folder is not read through them (`archive_files_advice` names them).
_ARCHIVE_READERS = {".ts": "read_ts", ".arff": "read_uea_arff"}
# Data files `datasets.load_dataset` reads as tables of examples: a folder holding one is such a table.
_TABLE_SUFFIXES = frozenset({".parquet", ".json", ".jsonl", ".arrow"})
# The files that label the files beside them, as `datasets`' audiofolder and imagefolder name them: never a recording
# or a table of examples themselves.
METADATA_FILES = ("metadata.csv", "metadata.jsonl", "metadata.parquet")
# The files BIDS (the Brain Imaging Data Structure, in which OpenNeuro's EEG / iEEG / MEG sets come) keeps beside its
# recordings: JSON sidecars (`sub-01_task-rest_eeg.json`, inherited ones such as `task-rest_eeg.json`, the dataset's
# description) and tab-separated tables (participants, channels, events, electrodes, scans; inherited ones such as
# `task-rest_events.tsv` at the root, which were read as recordings). Neither a recording nor
# a table of examples: the sidecars made a BIDS folder "a table of several kinds", and the tables would have been
# read as recordings (`is_bids_metadata`).
_BIDS_JSON = re.compile(r"(dataset_description|participants|samples|genetic_info|(sub|ses|task|acq|run)-.+)\.json")
_BIDS_TABLE = re.compile(
    r"participants\.tsv|samples\.tsv|(sub|ses|task|acq|run)-.+_(channels|events|electrodes|scans|sessions|optodes)\.tsv"
)
# Other names a labelled set's validation split goes by; used when the set has no split of the requested name.
VALIDATION_SPLIT_ALIASES = ("valid", "val", "dev", "development", "eval", "evaluation")
# The top folders a file's split is read from (any other file is in train), as `datasets` reads a folder's splits;
# the validation split's other names (`VALIDATION_SPLIT_ALIASES`: `val/`, `dev/`) are splits too.
_SPLIT_FOLDERS = ("train", "validation", "test")
# Metadata columns that label a file (`load_task_splits` reads `labels` as `label` or `target`).
_LABEL_COLUMNS = ("label", "target", "labels")
# The columns that make a metadata file an events table, as BIDS's `*_events.tsv` gives them: each row one event of
# its file, `onset` and `duration` in seconds from the recording's start, cut out of it as an example of its own
# (`_cut_events`), so that a file is named in as many rows as it has events.
EVENT_COLUMNS = ("onset", "duration")
# A metadata.csv cell that is a number (a column of them is read as numbers, `_read_metadata_csv`), and a whole one.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_WHOLE_NUMBER = re.compile(r"[+-]?\d+")
# Metadata columns that name who or what was recorded. A metadata.csv's ids are read as numbers, as other columns are
# ("007" -> 7), only where every id of the folder's CSV files is a number and no two become one (`_numbered_ids`):
# "1.1" and "1.10", or "007" and "7", were one subject in the validation carve and `citrus data info`, without a word.
_ID_COLUMNS = ("subject", "recording", "session")
# The words pandas reads as a missing value (its default `na_values`): R's `write.csv` writes a missing cell as "NA".
# In a column of numbers they mark missing cells; in a column of text they may be class names ("None"), so they are
# kept there, with a warning.
_MISSING_WORDS = frozenset(
    ("#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA")
    + ("NULL", "NaN", "None", "n/a", "nan", "null")
)
_TEXT_SUFFIXES = frozenset(suffix for suffix, kind in RECORDING_FORMATS.items() if kind == "CSV")
# The rate `read_recording` is given for a file that records none when its rate is not known (`citrus data info`
# without --sampling-rate): only its samples are kept, never this rate.
_RATE_NOT_USED = 1.0
# What the error for a CSV whose time stamps step at another rate than the one given advises (`read_recording`'s
# `time_stamps_fix`), by where the rate came from: --sampling-rate (every file's), or the file's metadata row.
_TIME_STAMPS_FIXES = {
    "option": "give the rate the time stamps say (--sampling-rate {rate:g}, the rate every file of the set is read at), "
    f"or read the files at it whatever their stamps say (--dataset-options {READ_AS_WRITTEN_KEY}=true)",
    "metadata": "give the rate the time stamps say in the file's metadata row (sampling_rate {rate:g}), or read the "
    f"files at theirs whatever their stamps say (--dataset-options {READ_AS_WRITTEN_KEY}=true)",
}
# A metadata rate within this share of the rate a file records is that rate (the file's is kept): pandas' `to_json`
# writes 10 digits (an EDF file's 1000 samples per 3 s record, 333.3333333333333 Hz, came back as 333.3333333333),
# a float32 column 7 (250.1 as 250.10000610), and both were refused as "333.333 Hz" against "333.333 Hz". A part per
# million moves a ten-minute segment's end by 0.6 ms, under a sample at any rate below 1.6 kHz.
_RATE_AGREEMENT = 1e-6
# The recordings of a labelled set's first file, read for the channels every file is read in (`_channel_reference`),
# for the rows' generator (`_examples`) to take where it reads that file as it was read: a build read the first file
# whole twice. `{(its stamp, `_recordings_of`'s arguments): its recordings}`, set while the set is built. A context
# variable, not a module global: `datasets` runs the generator, so no return reaches it, and each thread's build (or a
# set read from the datasets cache, no row generated) keeps and drops its own read alone.
_FIRST_FILE_READ: contextvars.ContextVar[dict[tuple, list] | None] = contextvars.ContextVar(
    "citrus_first_file_read", default=None
)
# The notes a labelled set's build has said already (`_say_once`: a file read by position, `_by_position`; a file's
# units converted to, or read as, the first file's, `_in_units`), each said once per build: a context variable, as
# `_FIRST_FILE_READ`, set for the build and reset after it. Kept in module sets that each build cleared as it ended,
# one thread's build ending cleared another's, running, which said its notes again.
_NOTES_SAID: contextvars.ContextVar[set[tuple] | None] = contextvars.ContextVar("citrus_notes_said", default=None)
# The text files PhysioNet ships beside the records of every database it serves (the download's checksum list and its
# licence; `RECORDS` and `ANNOTATORS` have no suffix, so no reader takes them): never recordings. Read as CSV ones, a
# PhysioNet folder as downloaded was refused as one that mixes files that record their rate with files that do not,
# and `citrus predict` over it asked for LICENSE.txt's sampling rate.
_PHYSIONET_LISTINGS = frozenset({"SHA256SUMS.txt", "LICENSE.txt"})
# The formats whose files may hold signals at several rates, each read as one recording per rate.
_MULTI_RATE_FORMATS = ("EDF", "BDF", "WFDB")
# A folder of at least this many files holds out VALIDATION_FRACTION of them (by channel-hours, whole files) as a
# `validation` split, which gives pre-training its held-out loss and its did-not-learn check; fewer would hold out too
# large a share of a small pile (one file of two).
MIN_FILES_FOR_VALIDATION = 5
VALIDATION_FRACTION = 0.15  # as eeg_pretrain's


def is_bids_metadata(path: Path) -> bool:
    """Whether `path` is a BIDS sidecar or table by its name (`_BIDS_JSON`, `_BIDS_TABLE`): read neither as a
    recording nor as a table of examples."""
    return bool(_BIDS_JSON.fullmatch(path.name) or _BIDS_TABLE.fullmatch(path.name))


def recording_files(folder: str | os.PathLike, *, listed: Sequence[Path] | None = None) -> list[Path]:
    """The recording files under `folder` (recursively through symlinked folders too, `files_under`; sorted; a WFDB
    record by its ``.hea`` header; not the metadata files that label them, nor BIDS's tables, `is_bids_metadata`, nor
    the listings PhysioNet ships beside its records, `_PHYSIONET_LISTINGS`). `listed`: `files_under(folder)` where a
    caller has it (kept for the callers of this keyword: within a `one_listing` scope a folder is listed once
    without it)."""
    with given_listing(FILES_UNDER, folder, listed):
        listed = files_under(folder)
    files = [
        path
        for path in listed
        if path.suffix.lower() in RECORDING_FORMATS
        and path.name not in METADATA_FILES
        and path.name not in _PHYSIONET_LISTINGS
        and not is_bids_metadata(path)
    ]
    # (a multi-segment record's segment headers are part of it: listed as recordings of their own, every sample of the
    # record would be in a corpus twice)
    segments = {segment for path in files if path.suffix.lower() == ".hea" for segment in wfdb_segment_headers(path)}
    return sorted(path for path in files if path not in segments)


@one_listing()  # (its tables and its recordings: one listing)
def is_recording_folder(folder: str | os.PathLike) -> bool:
    """Whether `folder` is a folder of recordings (see the module docstring) rather than of tabular data files."""
    folder = Path(folder)
    if is_bids_root(folder):
        return True  # a BIDS dataset holds recordings, whatever their format (those not read are named as such)
    tables = (path for path in files_under(folder) if path.name not in METADATA_FILES and not is_bids_metadata(path))
    if not folder.is_dir() or any(path.suffix.lower() in _TABLE_SUFFIXES for path in tables):
        return False
    files = recording_files(folder)
    if any(path.suffix.lower() in _RECORDING_ONLY_SUFFIXES for path in files):
        return True
    return bool(files) and not any(_names_input_values(path) for path in files)


def is_recording_file(path: str | os.PathLike) -> bool:
    """Whether `path` is one recording file: of a kind only recordings come in (EDF, BDF, a WFDB header, ``.npy``),
    or a ``.csv`` / ``.tsv`` / ``.txt`` file that names no `input_values` column (a table of examples names it; read as
    a table, a recording's columns were taken for examples, "no input_values column (columns: ['-5.5e-01', ...])")."""
    path = Path(path)
    if not path.is_file():
        return False
    suffix = path.suffix.lower()
    return suffix in _RECORDING_ONLY_SUFFIXES or (suffix in _TEXT_SUFFIXES and not _names_input_values(path))


def _names_input_values(path: Path) -> bool:
    """Whether a text file's first line names an `input_values` column (a table of examples, not a recording)."""
    if path.suffix.lower() not in _TEXT_SUFFIXES:
        return False
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "input_values" in handle.readline()
    except OSError:
        return False


@one_listing()  # (every step below reads the folder's one listing: five walks of a corpus of thousands of files)
def load_recording_folder(
    path: str | os.PathLike,
    sampling_rate: float | None = None,
    bids_options: dict | None = None,
    bids_events: bool = True,
):
    """The recordings of a folder (or one recording file) as a `datasets.Dataset` of segments (module docstring), or
    with `MIN_FILES_FOR_VALIDATION` files or more a `DatasetDict` of `train` and `validation` (whole files, about
    `VALIDATION_FRACTION` of the channel-hours, as `citrus data info` counts them, chosen with a fixed seed). A
    labelled layout gives a `DatasetDict` of its splits, one example per file: with its class folder's name in
    `label` (`labelled_layout`; text: `load_task_splits` numbers the names alike in every split), or with its metadata
    row's columns (`metadata_layout`). Files of formats no reader here reads (`_UNREAD_DATA_SUFFIXES`: HDF5, .npz,
    .mat, a gzipped EDF, ...) are named in a warning. An unlabelled pile reads each recording once (`_read_once`: not
    again through a symlink to a file of the folder, nor from a byte-identical copy), and takes the rates its metadata
    files give (`file_name,sampling_rate`, `_listed_rates`); a labelled set leaves out a file that holds a recording
    of an earlier split, train first (`_in_one_split`), so that no test example is a training one.

    `sampling_rate` is the rate the caller gives the files that record none (`--sampling-rate`; a metadata row's
    `sampling_rate` gives its file's instead): a CSV's time column is checked against it as `citrus predict` checks
    it, so that files of another rate are not trained on at this one. Ignored for files that record their rate
    (whose `sampling_rate` column the callers refuse it beside). `bids_options` may also hold `READ_AS_WRITTEN_KEY`
    (``ignore_time_stamps``: True reads the CSVs at their rate given whatever their time stamps say, as `citrus
    predict --ignore-time-stamps` does).

    A BIDS dataset's root (`bids.is_bids_root`) whose recordings have events tables is a labelled set of their
    events (`bids.read_bids_events`, given `bids_options`: `label_column`, `test_subjects`; or, with `label_from`, of
    its whole recordings labelled by their subjects), the channels its
    channels.tsv files mark bad left out of every file; with `bids_events` False (pre-training's corpus, which takes
    every recording whole: an events.tsv's stretches would be a sliver of it, and its point events are refused) it is
    read as a pile, as a BIDS dataset without events is, each recording cut at its events table's boundary rows
    (`bids.recording_breaks`). A recording labelled whole that breaks (a BrainVision pause, an EEGLAB boundary event,
    a boundary row) gives an example of each stretch, with its `start_seconds`.

    Raises:
        ValueError: a folder without recordings; files that record their rate beside files that do not (the rate
            of the latter would have to be given for the former too: keep them in separate folders); a file that
            cannot be read (named, with the reader's reason); a CSV whose time stamps step at another rate than
            its rate given (`SamplingRateError`, naming the file); an unlabelled pile whose metadata gives some
            files' rates and not another's, or beside `sampling_rate`; a labelled split whose every file is a copy of
            one of an earlier split.
    """
    import datasets

    bids_options = dict(bids_options or {})
    ignore_time_stamps = bids_options.pop(READ_AS_WRITTEN_KEY, False)
    if not isinstance(ignore_time_stamps, bool):
        raise ValueError(
            f"{READ_AS_WRITTEN_KEY} must be true or false, got {ignore_time_stamps!r}: --dataset-options "
            f"{READ_AS_WRITTEN_KEY}=true reads the CSVs at the rate given whatever their time stamps say."
        )
    bids_options = bids_options or None
    path = Path(path)
    files = [path] if path.is_file() else without_annotation_files(recording_files(path), path)
    # (before the refusal of a folder without any: they may be why; a BIDS dataset's files once its events tables are
    # read, by what they held)
    bids = (
        warn_of_unread_files(path, bids_events, by_subject="label_from" in (bids_options or {}))
        if path.is_dir()
        else []
    )
    if path.is_dir() and is_bids_root(path):
        files = raw_bids_recordings(path, files)
    if not files:
        raise ValueError(f"{str(path)!r} holds no recording files ({', '.join(sorted(RECORDING_FORMATS))}).")
    # (`records_its_rate`, as `read_recording` and `citrus predict` read it: an Empatica E4 CSV states its rate in its
    # second row, and a folder of them was kept as bare samples without --sampling-rate, or read at the one given)
    rated = {file: records_its_rate(file) for file in files}
    if len(set(rated.values())) > 1:
        with_rate = [file.name for file, known in rated.items() if known][:3]
        without = [file.name for file, known in rated.items() if not known][:3]
        raise ValueError(
            f"{str(path)!r} mixes files that record their sampling rate ({', '.join(with_rate)}, ...) with files that "
            f"do not ({', '.join(without)}, ...), whose rate --sampling-rate gives; keep the two kinds in separate "
            "folders."
        )
    with_rate = next(iter(rated.values()))
    features = {
        "input_values": datasets.List(datasets.List(datasets.Value("float32"))),
        "recording": datasets.Value("string"),
    }
    if with_rate:
        features["sampling_rate"] = datasets.Value("float64")
    root = path.parent if path.is_file() else path
    # (path, size, modification time) of every file: the cache's key, so that a changed file is read again
    listings: dict[Path, dict[str, list[Path]]] = {}
    stamps = [_stamp(file, listings) for file in files]
    # (the events tables read for the layout, taken again to say why a recording gives no event)
    events_tables: dict = {}
    described, left_out, breaks = _described_layout(path, bids_options, bids_events, events_tables)
    if path.is_dir() and bids_events and "label_from" not in (bids_options or {}) and holds_events(path):
        # (its tables read: a table of only boundary rows labels nothing, and the dataset is read as a pile)
        warn_of_unread_bids_files(path, bids, False, described is not None)
    layout = labelled_layout(path) if described is None else {split: list(rows) for split, rows in described.items()}

    def rows_of(
        chosen: list[tuple[str, int, int]],
        labels: dict[str, dict | list[dict]] | None = None,
        columns=None,
        reference=None,
        rates: dict[str, float] | None = None,
        unnamed: tuple[str, tuple[str, ...]] | None = None,
    ):
        """`_examples` (one per file, with the columns `labels` gives it: `{file: {column: value}}`, or one per event
        of an events table, `{file: [its events' rows]}`, its channels read in `reference`'s, a file naming them
        refused where `unnamed` is given: `_left_unnamed`) or `_segments` (at the `rates` the metadata gives,
        `{file: rate}`) of the files `chosen`."""
        try:
            with naming_unwritable_cache():  # the rows are written to the datasets cache as they are read
                return datasets.Dataset.from_generator(
                    _segments if labels is None else _examples,
                    features=datasets.Features({**features, **(columns or {})}),
                    writer_batch_size=_rows_per_write(chosen),
                    gen_kwargs={
                        "stamps": chosen,
                        "root": str(root),
                        "with_rate": with_rate,
                        # (also the cache's key: rows read at another rate given were checked against that one)
                        "sampling_rate": None if with_rate else sampling_rate,
                        "code": _reader_code_digest(),
                    }
                    # (also the cache's key: rows read past their stamps' checks are not those read through them)
                    | ({"check_time_stamps": False} if ignore_time_stamps else {})
                    | ({} if labels is None else {"labels": labels, "reference": reference})
                    | ({"left_out": left_out} if left_out else {})
                    | ({"unnamed": unnamed} if unnamed else {})
                    | ({"breaks": breaks} if breaks else {})
                    | ({} if rates is None else {"rates": rates}),
                )
        except datasets.exceptions.DatasetGenerationError as error:
            # a file's reader said what is wrong with it: in a ValueError, or one of ours that is none (a file the
            # user may not read, `UnreadableFileError`, was "An error occurred while generating the dataset")
            told = told_by_generator(error)
            if told is None:
                raise
        raise told  # (outside the `except`: the reader's own cause kept, datasets' wrapper left out)

    if layout is not None:
        if described is None:  # class folders: the label is the folder's name
            labels = {str(file): {"label": file.parent.name} for files in layout.values() for file in files}
            columns = {"label": datasets.Value("string")}
        else:
            labels = {str(file): row for rows in described.values() for file, row in rows.items()}
            columns = _metadata_features(labels)
        if any(not isinstance(row, list) and _may_break(file, breaks) for file, row in labels.items()):
            # a recording labelled whole that breaks gives an example of each stretch (`_cut_events`), each with the
            # seconds its first sample lies at, as an event's example has them; those of a continuous one from 0
            labels = {
                file: row if isinstance(row, list) else {**row, "start_seconds": 0.0} for file, row in labels.items()
            }
            columns = {**columns, "start_seconds": datasets.Value("float64")}
        split_of = {str(file): split for split, split_files in layout.items() for file in split_files}
        # a file that a listed symlink points at (`pool/v0.npy` behind `validation/0.npy`) is read, through the link
        read_through = {os.path.realpath(file) for file in split_of}
        unlisted = [
            stamp[0] for stamp in stamps if stamp[0] not in split_of and os.path.realpath(stamp[0]) not in read_through
        ]
        if unlisted:
            # grouped by why: a recording whose events table holds only boundary rows was said to have none
            reasons: dict[str, list[str]] = {}
            for file in unlisted:
                if not _labelled_by_bids_events(path):
                    unnamed = "are not named in its metadata"
                elif "label_from" in (bids_options or {}):
                    unnamed = "have no label in participants.tsv"
                else:
                    label_column = (bids_options or {}).get("label_column")
                    unnamed = no_events_reason(Path(file), root, label_column, events_tables)
                reasons.setdefault(unnamed, []).append(file)
            for unnamed, left in reasons.items():
                warn_once(
                    f"{len(left)} recording file(s) under {path} {unnamed} and are left out "
                    f"(first: {Path(left[0]).relative_to(root).as_posix()}).",
                    logger,
                )
        order = list(layout)  # the reference is train's first file that could name its channels
        listed = sorted(
            (Path(stamp[0]) for stamp in stamps if stamp[0] in split_of),
            key=lambda file: order.index(split_of[str(file)]),
        )
        if path.is_dir():
            # a copy of a training file (or a link to one) in the test split scored the model on what it trained on
            listed = in_one_split(listed, split_of, path)
            kept = {str(file) for file in listed}
            split_of = {name: split for name, split in split_of.items() if name in kept}
        # (what the reference read is kept for the rows' generator until the set is built, or its build fails at any
        # step after that read: a recording left there stayed in memory for the rest of the process)
        first_file_read: dict[tuple, list] = {}
        kept_for_rows = _FIRST_FILE_READ.set(first_file_read)
        notes_of_other_builds = _NOTES_SAID.set(set())  # (a second build in the process says its notes again)
        try:
            reference = unnamed = None
            if listed:
                # a WAV or .npy file names no channels whatever the others do (read by position under them where they
                # name theirs): the channels are taken from the first file whose format could name them, so that the
                # set's outcome does not hang on which file sorts first
                naming = (file for file in listed if recording_format(file) in CHANNEL_NAMING_FORMATS)
                first = str(next(naming, listed[0]))
                read_as = _example_read_arguments(
                    Path(first), labels[first], with_rate, None if with_rate else sampling_rate, not ignore_time_stamps
                )
                stamp = next(stamp for stamp in stamps if stamp[0] == first)
                key = (tuple(stamp), read_as)
                # (no name of its own for the read here: the generator drops it once it has taken it)
                first_file_read[key] = list(_recordings_of(Path(first), *read_as))
                reference = _channel_reference(Path(first), first_file_read[key], left_out)
                unnamed = None if reference is not None else _left_unnamed(Path(first), first_file_read[key])
            if reference is not None:
                # the set's every file is read in its first file's channels
                warn_of_trigger_channels(
                    reference[0],
                    reference[1],
                    "a model fine-tuned on them learns from the codes (an events table's labels among them): write the "
                    "files without them (MNE: `raw.drop_channels([...]).export(path)`).",
                )
                columns = {**columns, "channel_names": datasets.List(datasets.Value("string"))}
            if _declares_units(reference):
                columns = {**columns, "channel_units": datasets.List(datasets.Value("string"))}
            return datasets.DatasetDict(
                {
                    split: rows_of(
                        [stamp for stamp in stamps if split_of.get(stamp[0]) == split],
                        labels,
                        columns,
                        reference,
                        unnamed=unnamed,
                    )
                    for split in layout
                }
            )
        finally:
            _FIRST_FILE_READ.reset(kept_for_rows)
            _NOTES_SAID.reset(notes_of_other_builds)
    if path.is_dir():
        kept = {str(file) for file in _read_once(files, path)}
        stamps = [stamp for stamp in stamps if stamp[0] in kept]
    _warn_of_trigger_channels_in_pile([Path(stamp[0]) for stamp in stamps])
    rates = _listed_rates(path, [Path(stamp[0]) for stamp in stamps], with_rate, sampling_rate)
    if rates is not None and not with_rate:
        features["sampling_rate"] = datasets.Value("float64")
    # every file read once, into one cache; the validation files are then a selection of its rows, weighed by what
    # they hold (a file's bytes weighed a WFDB record by its header, and a .npy file's sample at 8 bytes where a
    # CSV's takes about 20)
    rows = rows_of(stamps, rates=rates)
    if len(stamps) < MIN_FILES_FOR_VALIDATION:
        return rows
    spans = _file_spans(rows, [Path(stamp[0]).relative_to(root).as_posix() for stamp in stamps])
    weights = _channel_seconds(rows)
    sizes = {name: float(weights[start:end].sum()) for name, (start, end) in spans.items()}
    fractions = {"train": 1 - VALIDATION_FRACTION, "validation": VALIDATION_FRACTION}
    held_out = set(split_by_group(sizes, fractions, owner=str(path), groups="files")["validation"])
    return datasets.DatasetDict(
        {
            "train": _rows_of_files(rows, [span for name, span in spans.items() if name not in held_out]),
            "validation": _rows_of_files(rows, [span for name, span in spans.items() if name in held_out]),
        }
    )


def raw_bids_recordings(root: Path, files: list[Path], reads: str = "--dataset ROOT") -> list[Path]:
    """The recording `files` of the BIDS dataset at `root` but those in the folders of no raw data
    (`bids.holds_raw_data`: `derivatives/`, `sourcedata/`, `code/`, `stimuli/`), said once naming the folders they lie
    in: the processed copies and originals of its recordings would be read beside them, a second time (in a pile, on
    both sides of its validation carve; by `citrus predict`, each recording predicted twice), and a stimulus is no
    recording. `reads`: how the caller is given a folder, for the advice (``citrus predict ROOT``)."""
    kept = [file for file in files if holds_raw_data(file, root)]
    if len(kept) < len(files):
        left_out = [file.relative_to(root) for file in files if not holds_raw_data(file, root)]
        folders = [folder for folder in NOT_RAW if any(file.parts[0] == folder for file in left_out)]
        advice = (
            f" To read a pipeline's copies instead, give {reads}/derivatives/<pipeline>."
            if "derivatives" in folders
            else ""
        )
        warn_once(
            f"{len(left_out)} recording file(s) under {root} lie in {' or '.join(f'{name}/' for name in folders)} "
            f"(first: {left_out[0].as_posix()}) and are left out: BIDS keeps "
            f"{' and '.join(NOT_RAW[name] for name in folders)} there, not raw recordings.{advice}",
            logger,
        )
    return kept


# What the warnings of a BIDS dataset's unread files say of its participants.tsv: read only by `label_from`.
_PARTICIPANTS_LABEL = (
    f"; {PARTICIPANTS} labels nothing unless asked: --dataset-options label_from=participants:COLUMN labels each "
    "subject's recordings whole by its column"
)


def warn_of_unread_files(
    folder: Path, bids_events: bool = True, by_subject: bool = False, *, listed: Sequence[Path] | None = None
) -> list[str]:
    """Name, in one warning, the files under `folder` of formats no reader here reads (`_UNREAD_DATA_SUFFIXES`), in
    another its BIDS sidecars and tables (`is_bids_metadata`; `bids_events` False: whole recordings, as pre-training
    and `citrus predict` read them, its events not read; `by_subject`: its participants.tsv labels its recordings, the
    dataset option `label_from`, and its events tables are not read), and in a third the annotation files beside its
    WFDB records (`_WFDB_ANNOTATION_SUFFIXES`), which are not read either. The BIDS files of a dataset whose events
    are read are not named here: which of them are read depends on what its events tables hold, so the caller names
    them once they are read (`warn_of_unread_bids_files`, given what this returns).

    `listed`: `files_under(folder)` where a caller has it (kept for the callers of this keyword: within a
    `one_listing` scope a folder is listed once without it).

    Returns:
        The BIDS sidecars and tables under `folder` (paths under it; of a BIDS dataset, outside its folders of no raw
        data), listed once for both warnings (`_bids_metadata`).
    """
    with given_listing(FILES_UNDER, folder, listed):
        return _warn_of_unread_files(folder, bids_events, by_subject)


@one_listing()  # (its files, then its archives: one listing)
def _warn_of_unread_files(folder: Path, bids_events: bool, by_subject: bool) -> list[str]:
    """`warn_of_unread_files`, within a `one_listing` scope."""
    listed = files_under(folder)
    if is_bids_root(folder):  # (its derivatives/ and sourcedata/ are not read at all: `raw_bids_recordings`)
        listed = [file for file in listed if holds_raw_data(file, folder)]
    bids = _bids_metadata(folder, listed)
    if bids and not bids_events and is_bids_root(folder):
        warn_once(
            f"{len(bids)} BIDS sidecar and table file(s) under {folder} are not read ({', '.join(bids[:3])}"
            f"{', ...' if len(bids) > 3 else ''}): each recording is read whole, by its own header (an EDF file's "
            "rate, channels and units), as pre-training and citrus predict read them, and cut at its events.tsv "
            "files' boundary rows (breaks) alone; its events.tsv files choose examples only to fine-tune on (citrus "
            "finetune --dataset ROOT).",
            logger,
        )
    elif bids and bids_events and (holds_events(folder) or by_subject):
        if by_subject:  # (its events are not read; where they are, the caller names these once they are read)
            warn_of_unread_bids_files(folder, bids, by_subject=True, events_labelled=False)
    elif bids and is_bids_root(folder):  # (no events table: a pile of whole recordings, `read_bids_events`)
        warn_once(
            f"{len(bids)} BIDS sidecar and table file(s) under {folder} are not read ({', '.join(bids[:3])}"
            f"{', ...' if len(bids) > 3 else ''}): it has no events tables, so each recording is read whole, by its "
            f"own header (an EDF file's rate, channels and units), an unlabelled pile"
            f"{_PARTICIPANTS_LABEL if PARTICIPANTS in bids else ''}.",
            logger,
        )
    elif bids:
        warn_once(
            f"{len(bids)} BIDS sidecar and table file(s) under {folder} are not read ({', '.join(bids[:3])}"
            f"{', ...' if len(bids) > 3 else ''}): each recording is read by its own header (an EDF file's rate, "
            "channels and units), and the events tables label nothing by themselves; to fine-tune on their events, "
            "copy their rows into a metadata.csv beside the recordings (file_name,onset,duration,label: one example "
            "per event), or name each recording and its label there (file_name,label).",
            logger,
        )
    headers = {file.with_suffix(""): file for file in listed if file.suffix.lower() == ".hea"}
    beside = [
        file for file in listed if file.suffix.lower() in _WFDB_ANNOTATION_SUFFIXES and file.with_suffix("") in headers
    ]
    # (a record of annotations only is skipped, said apart: `without_annotation_files`; only the headers with an
    # annotation file beside them are read for it, a PhysioNet folder of thousands of records without one read none)
    with_signals = {
        record
        for record in {file.with_suffix("") for file in beside}
        if not wfdb_holds_annotations_only(headers[record])
    }
    annotations = [file.relative_to(folder).as_posix() for file in beside if file.with_suffix("") in with_signals]
    if annotations:
        # beat labels beside their records were passed over without a word: an events table is the route that cuts
        # windows from them
        warn_once(
            f"{len(annotations)} WFDB annotation file(s) under {folder} are not read ({', '.join(annotations[:3])}"
            f"{', ...' if len(annotations) > 3 else ''}): their records are read as recordings, and the annotations "
            "label nothing by themselves; to fine-tune on annotated windows, write each as a row of a metadata.csv "
            "(file_name,onset,duration,label: the seconds of a window around the sample `wfdb.rdann(record, "
            "extension)` gives, one example per row), or name each recording and its label there (file_name,label).",
            logger,
        )
    archives = archive_files_advice(folder)
    if archives:
        warn_once(f"Left out of {folder}: {archives}.", logger)
    candidates = [
        file for file in listed if file.suffix.lower() in _UNREAD_DATA_SUFFIXES and file.name not in METADATA_FILES
    ]
    # the files read through a recording file (a Challenge record's .mat): every WFDB header is read for them, so only
    # where some file may be one (a PhysioNet folder of 20 000 records and their .dat files took 3 s for none)
    read_through = {companion for file in listed for companion in companion_files(file)} if candidates else set()
    unread = [file.relative_to(folder).as_posix() for file in candidates if file not in read_through]
    if unread:
        warn_once(
            f"{len(unread)} file(s) under {folder} are in formats citrus does not read and are left out: "
            f"{', '.join(unread[:5])}{', ...' if len(unread) > 5 else ''}. It reads EDF / BDF, WFDB (.hea), BrainVision (.vhdr), EEGLAB (.set), WAV, .npy and .csv / .tsv / .txt files: "
            "decompress or convert these to one of those to use them (an EDF file saved as .rec: rename it .edf).",
            logger,
        )
    return bids


def _bids_metadata(folder: Path, listed: list[Path]) -> list[str]:
    """The BIDS sidecars and tables (`is_bids_metadata`) among the files `listed` under `folder`, as paths under it."""
    return [file.relative_to(folder).as_posix() for file in listed if is_bids_metadata(file)]


def warn_of_unread_bids_files(folder: Path, bids: list[str], by_subject: bool, events_labelled: bool) -> None:
    """Name, in one warning, the BIDS sidecars and tables `bids` (paths under `folder`) that reading the events (or,
    `by_subject`, the participants) of the BIDS dataset at `folder` does not read (`read_bids_events`), saying what
    does label its recordings: its events tables where they gave any event (`events_labelled`), else nothing (tables
    of only boundary rows, or of none: a pile of whole recordings, cut at those breaks)."""
    if by_subject:  # (participants.tsv read, the events tables not)
        bids = [name for name in bids if name not in (PARTICIPANTS, PARTICIPANTS_DESCRIPTION)]
        labelled = (
            "its participants.tsv labels each subject's recordings (label_from; its events tables label nothing; "
            "their boundary rows cut the recordings into stretches)"
        )
    elif not events_labelled:  # (its tables read for their breaks alone: the rest of its files is not used)
        bids = [name for name in bids if not name.endswith("_events.tsv") and name != BIDS_DESCRIPTION]
        if bids:
            warn_once(
                f"{len(bids)} BIDS sidecar and table file(s) under {folder} are not read ({', '.join(bids[:3])}"
                f"{', ...' if len(bids) > 3 else ''}): its events.tsv files hold no event (only boundary rows, or no "
                "rows), so each recording is read whole, by its own header (an EDF file's rate, channels and units), "
                f"and cut at their boundary rows, an unlabelled pile{_PARTICIPANTS_LABEL if PARTICIPANTS in bids else ''}.",
                logger,
            )
        return
    else:
        labelled = "its events.tsv files label the recordings"
    # its events (or its participants) are read, with its channels tables and sidecars: the rest is named
    bids = [name for name in bids if not reads_file(Path(name)) or (by_subject and name.endswith("_events.tsv"))]
    if bids:
        warn_once(
            f"{len(bids)} BIDS file(s) under {folder} are not read ({', '.join(bids[:3])}"
            f"{', ...' if len(bids) > 3 else ''}): {labelled}, its channels.tsv files' bad channels are left out "
            "and its *_eeg.json / *_ieeg.json / *_emg.json sidecars' SamplingFrequency checked; electrodes and "
            f"scans tables are not used{'' if by_subject or PARTICIPANTS not in bids else _PARTICIPANTS_LABEL}.",
            logger,
        )


def archive_files_advice(path: Path, *, listed: Sequence[Path] | None = None) -> str:
    """A sentence naming the `.ts` / `.arff` files that `path` is or holds (`_ARCHIVE_READERS`) and how to read them,
    or "": a folder of only such files was refused as one without data files, one such file as a file no reader
    reads, and those beside recordings were left out, none of them naming the readers that read them. `listed`:
    `files_under(path)` of a folder where a caller has it (kept for the callers of this keyword: within a
    `one_listing` scope a folder is listed once without it)."""
    if path.is_file():
        listed = [path]
    else:
        with given_listing(FILES_UNDER, path, listed):
            listed = files_under(path)
    listed = [file for file in listed if file.suffix.lower() in _ARCHIVE_READERS]
    if not listed:
        return ""
    names = [file.name if path.is_file() else file.relative_to(path).as_posix() for file in listed]
    return (
        f"{', '.join(names[:3])}{', ...' if len(names) > 3 else ''} ({len(names)} .ts / .arff file(s)) hold examples "
        "in the UCR / UEA archives' formats, which are not read as recordings or data files: read each with "
        "`citrus_hf.data.readers.read_ts` (.ts: its `cases` and `labels`) or `read_uea_arff` (.arff: examples, "
        "labels, class names), then save them as a set, `DatasetDict({'train': Dataset.from_dict({'input_values': "
        "examples, 'label': labels}), 'test': ...}).save_to_disk(folder)`, and give that folder with --sampling-rate "
        "HZ (neither format records the rate)"
    )


def _is_trigger_channel(name: str) -> bool:
    """Whether the channel `name` holds event codes: a name of `_TRIGGER_CHANNELS` or MNE's own
    (`_MNE_STIMULUS_CHANNEL`), in any case, spaces around it left out: the one rule of `warn_of_trigger_channels`."""
    key = str(name).strip().lower()
    return key in _TRIGGER_CHANNELS or _MNE_STIMULUS_CHANNEL.fullmatch(key) is not None


def warn_of_trigger_channels(source: str, names: Sequence[str], fix: str) -> None:
    """Warn (once per message) that the channels of `names` (those of `source`, a file) that hold event codes
    (`_is_trigger_channel`: Status, Trigger, MNE's "STI 014") are read as signals, as every channel here is: their event
    codes reached the model beside the EEG without a word. `fix` ends the message: how to leave them out where `source`
    is used."""
    triggers = [str(name) for name in names if _is_trigger_channel(name)]
    if triggers:
        warn_once(
            f"{source}: channel(s) {', '.join(map(repr, triggers))} hold event codes (trigger channels, as MNE takes a "
            f"channel named Status, Trigger or STI 014), and are read as a signal beside the others; {fix}",
            logger,
        )


def _warn_of_trigger_channels_in_pile(files: list[Path]) -> None:
    """`warn_of_trigger_channels` for an unlabelled pile's files that name their channels in a header read without
    their samples (EDF / BDF, WFDB), once for the pile, naming the first such file: every channel of a pile is
    pre-trained on, and the rows are read (and cached) in `datasets`' generator, where a cached pile says nothing."""
    with_triggers = []
    for file in files:
        kind = recording_format(file)
        if kind in _MULTI_RATE_FORMATS:
            by_rate = wfdb_names_by_rate(file) if kind == "WFDB" else read_edf_header(file).names_by_rate()
            names = [name for channels in by_rate.values() for name in channels]
            if any(_is_trigger_channel(name) for name in names):
                with_triggers.append((file, names))
    if not with_triggers:
        return
    (first, names), more = with_triggers[0], len(with_triggers) - 1
    warn_of_trigger_channels(
        f"{first}{f' (and {more} more file(s) of the pile)' if more else ''}",
        names,
        "pre-training on them teaches the encoder the codes: write the files without them (MNE: "
        "`raw.drop_channels([...]).export(path)`).",
    )


def _read_once(files: list[Path], folder: Path) -> list[Path]:
    """`files` (the recording files of the unlabelled pile `folder`, sorted) less those that would read a recording
    a second time, each said once: a symlink to another of them (the file is read by its own name, as `files_under`
    reads a symlinked folder inside the set), and a byte-identical copy of one (`_same_bytes`: the first by name is
    read). Read twice, one recording could fall on both sides of the train / validation split, and the held-out loss
    measured windows trained on."""
    by_target: dict[str, list[Path]] = {}
    for file in files:
        by_target.setdefault(os.path.realpath(file), []).append(file)
    links = []
    for same in by_target.values():
        kept = next((file for file in same if not file.is_symlink()), same[0])
        links += [(file, kept) for file in same if file != kept]
    if links:
        shown = ", ".join(f"{_under(link, folder)} -> {_under(kept, folder)}" for link, kept in links[:3])
        warn_once(
            f"{len(links)} file(s) under {folder} link to another file of it ({shown}"
            + (", ..." if len(links) > 3 else "")
            + "): each is read once, by its own name, so that no recording is on both sides of the train / "
            "validation split.",
            logger,
        )
    skipped = {link for link, _ in links}
    copies = _same_bytes([file for file in files if file not in skipped])
    if copies:
        shown = ", ".join(f"{_under(copy, folder)} (of {_under(first, folder)})" for copy, first in copies[:3])
        warn_once(
            f"{len(copies)} file(s) under {folder} are byte-identical copies of another, read once, from the first by "
            f"name; left out: {shown}" + (", ..." if len(copies) > 3 else "") + ". Read twice, a recording could be "
            "on both sides of the train / validation split.",
            logger,
        )
    skipped |= {copy for copy, _ in copies}
    return [file for file in files if file not in skipped]


def in_one_split(files: list[Path], split_of: dict[str, str], folder: Path, held: str = "recording") -> list[Path]:
    """`files` (a labelled set's, in split order, train first; `split_of`: each one's split) less those that hold a
    `held` (a recording; the rows of a data file) of an earlier split: a symlink to one of its files, or a
    byte-identical copy (`_same_bytes`), said in one warning. Read into both, the model was scored on what it had been
    trained on. Copies inside one split are left to it (two examples of one recording, not a leak).

    Raises:
        ValueError: a split whose every file is such a copy, naming it and the fix.
    """
    order = {split: index for index, split in enumerate(dict.fromkeys(split_of[str(file)] for file in files))}
    first: dict[str, Path] = {}
    for file in files:  # the first file (by split, then name) that reads each resolved path
        first.setdefault(os.path.realpath(file), file)
    pairs = [(file, first[os.path.realpath(file)]) for file in files if first[os.path.realpath(file)] != file]
    pairs += _same_bytes(list(first.values()))
    leaks = sorted(
        (copy, original) for copy, original in pairs if order[split_of[str(copy)]] > order[split_of[str(original)]]
    )
    if not leaks:
        return files
    shown = ", ".join(f"{_under(copy, folder)} (of {_under(original, folder)})" for copy, original in leaks[:3])
    warn_once(
        f"{len(leaks)} file(s) under {folder} hold {_a(held)} of an earlier split, as a symlink to it or a "
        f"byte-identical copy, and are left out: {shown}" + (", ..." if len(leaks) > 3 else "") + "; read in both "
        "splits, it would be scored on after being trained on.",
        logger,
    )
    left_out = {copy for copy, _ in leaks}
    kept = [file for file in files if file not in left_out]
    emptied = [split for split in order if not any(split_of[str(file)] == split for file in kept)]
    if emptied:
        raise ValueError(
            f"Every file of the {emptied[0]} split of {str(folder)!r} is a copy of (or a link to) a file of an "
            f"earlier split, so it holds no {held} of its own; give it {held}s the other splits do not hold."
        )
    return kept


def _a(noun: str) -> str:
    """`noun` with its indefinite article, for a message."""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _under(file: Path, folder: Path) -> str:
    """`file`'s path under `folder`, for a message."""
    return file.relative_to(folder).as_posix()


# Bytes read from each end of a file to tell files of one size apart before hashing them whole.
_PEEK_BYTES = 1 << 16


def _same_bytes(files: list[Path]) -> list[tuple[Path, Path]]:
    """`(copy, first)` for every file of `files` whose bytes (a WFDB record's: its header's and its signal files',
    `_record_parts`) are those of an earlier one: compared by size, then by their two ends, then whole (sha256), so
    that a pile of equal-length recordings is not read through to find that they differ."""
    listings: dict[Path, dict[str, list[Path]]] = {}
    parts = {file: _record_parts(file, listings) for file in files}
    groups: dict[tuple, list[Path]] = {}
    for file in files:
        groups.setdefault(_record_digest(parts[file], None), []).append(file)
    for whole in (False, True):
        regrouped: dict[tuple, list[Path]] = {}
        for same in groups.values():
            if len(same) > 1:
                for file in same:
                    regrouped.setdefault(_record_digest(parts[file], whole), []).append(file)
        groups = regrouped
    return sorted((copy, same[0]) for same in groups.values() for copy in same[1:])


def _stamp(file: Path, listings: dict[Path, dict[str, list[Path]]]) -> tuple[str, int, int]:
    """`(path, size, modification time)` of the recording `file`, the sizes and the latest time of all the files that
    hold it (`_record_parts`): a cache key that a changed data file beside an unchanged header changes too (a
    BrainVision .eeg replaced, a WFDB .dat), whose rows were read from the cache as they were before."""
    stats = [part.stat() for part in _record_parts(file, listings) or [file]]
    return str(file), sum(stat.st_size for stat in stats), max(stat.st_mtime_ns for stat in stats)


def _record_parts(file: Path, listings: dict[Path, dict[str, list[Path]]]) -> list[Path]:
    """The files that hold the recording `file` names: itself, and for a WFDB header the files of its record beside
    it (`<record>.*`: its signal and annotation files) and of its segments' records (two headers alike may name
    signals that differ), for a BrainVision header or an EEGLAB set the files read through it (`companion_files`:
    two recordings of one name in two folders have headers alike, their samples apart). `listings` keeps each
    folder's files by record name, listed once (a folder of thousands of records was listed once per record)."""
    if file.suffix.lower() != ".hea":
        try:
            companions = companion_files(file)
        except (ValueError, OSError):  # (a damaged header: refused, naming it, as the file is read)
            companions = []
        return [file, *(companion for companion in companions if companion.is_file())]
    parts = []
    for header in [file, *wfdb_segment_headers(file)]:
        if header.parent not in listings:
            listings[header.parent] = {}
            with contextlib.suppress(OSError):
                for entry in os.scandir(header.parent):
                    if entry.is_file():
                        listings[header.parent].setdefault(entry.name.partition(".")[0], []).append(Path(entry.path))
        parts += sorted(listings[header.parent].get(header.stem, []))
    return parts


def _record_digest(parts: list[Path], whole: bool | None) -> tuple:
    """The sizes of the files `parts` (of one recording, `_record_parts`) with, unless `whole` is None, the sha256 of
    each one's two ends (`whole` False) or of all of it."""
    key = []
    for part in parts:
        stat = part.stat()
        digest = None if whole is None else _digest(str(part), stat.st_size, stat.st_mtime_ns, whole)
        key.append((stat.st_size, digest))
    return tuple(key)


@functools.lru_cache(maxsize=4096)
def _digest(file: str, size: int, modified: int, whole: bool) -> str:
    """sha256 of `file`'s first and last `_PEEK_BYTES` (of all of it when `whole`); `modified` keys the cache only (a
    command reads a folder more than once)."""
    import hashlib

    digest = hashlib.sha256()
    try:
        with open(file, "rb") as handle:
            if whole:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            else:
                digest.update(handle.read(_PEEK_BYTES))
                handle.seek(max(0, size - _PEEK_BYTES))
                digest.update(handle.read(_PEEK_BYTES))
    except PermissionError as error:  # a file the user may not read: Python's own traceback, from this comparison
        raise unreadable_file(file, error) from None
    return digest.hexdigest()


def _rows_per_write(stamps: Sequence[tuple[str, int, int]]) -> int:
    """The rows the cache's writer holds before it writes them, for the files of `stamps` (`_stamp`): `datasets`'
    1000, fewer where the largest file holds more than `_WRITTEN_FILE_BYTES / 1000` bytes, down to one row. A row
    (a whole file of a labelled folder, a segment of a pile) is never more samples than its file holds."""
    largest = max((size for _, size, _ in stamps), default=0)
    return int(max(1, min(1000, _WRITTEN_FILE_BYTES // max(1, largest))))


def _file_spans(rows, names: list[str]) -> dict[str, tuple[int, int]]:
    """`{name: (first row, end row)}` of the files `names` (their paths under the folder, in the order they were
    read) among `rows` (`_segments`' rows, a file's rows one after another, named by its path and, for a file read
    as one recording per rate, "@<rate>Hz")."""
    recordings = rows.data.column("recording").to_pylist()
    spans, start = {}, 0
    for name in names:
        end = start
        while end < len(recordings) and (recordings[end] == name or recordings[end].startswith(name + "@")):
            end += 1
        spans[name], start = (start, end), end
    return spans


def _channel_seconds(rows):
    """Each row's channel-seconds (`citrus data info`'s channel-hours, in seconds), or its channel-samples where the
    rows carry no rate (every file is then read at the one rate given), `(rows,)`."""
    _, values = row_sizes(rows)
    if "sampling_rate" not in rows.column_names:
        return values.astype(np.float64)
    return values / rows.data.column("sampling_rate").to_numpy().astype(np.float64)


def _rows_of_files(rows, spans: list[tuple[int, int]]):
    """The rows of `rows` in `spans` (`(first, end)` row of each file, in order), without copying them: runs of
    adjacent files are slices of the one cached table, joined (a `select` of scattered rows would keep the whole
    table behind an index, which the summaries that read `Dataset.data` count whole)."""
    import datasets

    runs: list[list[int]] = []
    for start, end in spans:
        if runs and runs[-1][1] == start:
            runs[-1][1] = end
        else:
            runs.append([start, end])
    if not runs:
        return rows.select(range(0))
    return datasets.concatenate_datasets([rows.select(range(start, end)) for start, end in runs])


def labelled_layout(folder: str | os.PathLike, *, listed: Sequence[Path] | None = None) -> dict[str, list[Path]] | None:
    """`{split: files}` when `folder` is a labelled set laid out as `datasets`' audiofolder and imagefolder take one:
    a `train` subfolder beside the other splits' (`test`, `validation`), each holding one subfolder per class whose
    name is the label (`train/walking/session1.edf`). None for any other folder: every recording file must sit at
    `<split>/<class>/<file>` (a pile of recordings sorted by subject, `subject_2/night.edf`, is unlabelled).
    `listed`: `files_under(folder)` where a caller has it (kept for the callers of this keyword: within a
    `one_listing` scope a folder is listed once without it)."""
    folder = Path(folder)
    if not folder.is_dir() or not (folder / "train").is_dir():
        return None
    layout: dict[str, list[Path]] = {}
    with given_listing(FILES_UNDER, folder, listed):
        files = recording_files(folder)
    for file in files:
        parts = file.relative_to(folder).parts
        if len(parts) != 3:
            return None
        layout.setdefault(parts[0], []).append(file)
    if "train" not in layout:
        return None
    order = {"train": 0, "validation": 1, "test": 2}  # as `save_to_disk` folders list them; other names after
    return dict(sorted(layout.items(), key=lambda item: (order.get(item[0], 3), item[0])))


def metadata_layout(
    folder: str | os.PathLike, bids_options: dict | None = None
) -> dict[str, dict[Path, dict | list[dict]]] | None:
    """`{split: {file: its metadata row}}` when `folder` holds metadata files (`METADATA_FILES`, anywhere under it)
    that name recording files in a `file_name` column (relative to the metadata file's folder, as `datasets`' audiofolder
    reads them) and label them (`_LABEL_COLUMNS`); a row keeps its other columns, but `file_name`. None for a folder
    without them, or whose metadata labels nothing (its files are then an unlabelled pile). Metadata with `onset` and
    `duration` columns (`EVENT_COLUMNS`) is an events table: a file's value is then the list of its events' rows, all
    in its split. A BIDS dataset's root without metadata files gives the events of its events.tsv files
    (`bids.read_bids_events`, with `bids_options`), checked as an events table's.

    Raises:
        ValueError: metadata without `file_name`, a name that is no recording file under the folder (or a hidden
            one), a file named twice (but in an events table), metadata files whose columns differ, an event that
            cannot be cut (`_check_events`), or an events table without a label column; each names the file and the
            fix.
    """
    return _described_layout(Path(folder), bids_options)[0]


def _labelled_by_bids_events(folder: Path) -> bool:
    """Whether `folder` is a BIDS dataset's root that no metadata file labels (a metadata file's rows, where the user
    wrote one, are the examples): its events.tsv files are then read (`bids.read_bids_events`)."""
    return (
        folder.is_dir()
        and is_bids_root(folder)
        and not any(path.name in METADATA_FILES for path in files_under(folder))
    )


def labels_events(folder: str | os.PathLike, bids_options: dict | None = None) -> bool:
    """Whether the labels of the labelled folder of recordings `folder` are events of its files (an events table's
    rows, `_cut_events`: a BIDS dataset's events.tsv files, a metadata file with `onset` and `duration` columns), not
    its files whole (class folders, a metadata row per file, a BIDS dataset labelled by `label_from`). Both give
    examples with a `start_seconds` column where a file may break (a recording labelled whole gives a row per stretch),
    so the column does not tell them apart; what one label belongs to does (`splits.TaskSplits.labelled_unit`)."""
    folder = Path(folder)
    if _labelled_by_bids_events(folder):
        return "label_from" not in (bids_options or {})
    listed = _metadata_rows(folder)
    return listed is not None and listed[2] >= set(EVENT_COLUMNS)


def _described_layout(
    folder: Path,
    bids_options: dict | None = None,
    bids_events: bool = True,
    frames: dict | None = None,
) -> tuple[dict[str, dict[Path, dict | list[dict]]] | None, tuple[str, ...], dict[str, list[float]]]:
    """`(metadata_layout, the channels to leave out of every file, breaks)`: the channels a BIDS dataset's
    channels.tsv files mark bad (said once, naming them); none for a folder of metadata files, nor where `bids_events`
    is False (pre-training: a BIDS dataset is then a pile of whole recordings, `load_recording_folder`). `breaks`:
    `{file: seconds}` where a BIDS dataset's events tables mark breaks by boundary rows (`bids.recording_breaks`), at
    which its recordings read whole (a pile's, or labelled whole by `label_from`) are cut; {} for other folders.
    `frames`: filled with the events tables read (`{table: its DataFrame}`), for the caller to read again from.

    Raises:
        ValueError: as `metadata_layout`; BIDS options (`bids.BIDS_OPTIONS`) for a folder that is no BIDS dataset,
            or one whose events are not read (a metadata file labels it, it holds no events.tsv, or `bids_events` is
            False).
    """
    unknown = sorted(set(bids_options or {}) - set(BIDS_OPTIONS))
    if unknown:
        raise ValueError(f"{folder}: {unknown} are no BIDS options; a BIDS dataset takes {', '.join(BIDS_OPTIONS)}.")
    bids_root = folder.is_dir() and is_bids_root(folder)
    if bids_root and not bids_events:
        if bids_options:
            raise ValueError(
                f"{folder}: the options {sorted(bids_options)} choose the events of a BIDS dataset's events.tsv "
                "files, and pre-training reads every recording whole, not its events; drop them."
            )
        return None, (), _pile_breaks(folder, recording_files(folder))
    elif _labelled_by_bids_events(folder):
        files = recording_files(folder)
        # the tables read for the events, read from again for a pile's breaks (each was read twice where they hold
        # only boundary rows)
        tables: dict = {} if frames is None else frames
        events = read_bids_events(folder, files, frames=tables, **(bids_options or {}))
        if events is not None:
            _check_events(events.rows, events.origins)
            _check_bids_breaks(events.rows, events.breaks)
            layout: dict[str, dict[Path, dict | list[dict]]] = {"train": {}, "test": {}}
            for file, rows in events.rows.items():
                layout[events.splits[file]][file] = rows
            if events.bad_channels:
                first = next(iter(events.bad_channels.values()))
                warn_once(
                    f"{len(events.bad_channels)} channel(s) of {folder} are marked bad (status bad) in its "
                    f"channels.tsv files ({shown_channels(list(events.bad_channels))}; first in {first}): left out "
                    "of every recording, so that every example holds the same channels.",
                    logger,
                )
            breaks = {str(file): onsets for file, onsets in events.breaks.items()}
            return {split: files for split, files in layout.items() if files}, tuple(events.bad_channels), breaks
        if not bids_options:
            # no event labels a recording (its tables hold only boundary rows, or none): a pile, read as pre-training
            # reads it, cut at those breaks (`citrus data info` showed it whole, windows spanning the breaks)
            return None, (), _pile_breaks(folder, files, tables)
    if bids_options:
        where = (
            "its events are labelled by a metadata file, not its events.tsv files"
            if bids_root
            else f"it is no BIDS dataset (no {BIDS_DESCRIPTION})"
        )
        raise ValueError(
            f"{folder}: the options {sorted(bids_options)} choose the events of a BIDS dataset's events.tsv files, "
            f"and {where}; drop them."
        )
    described = _metadata_rows(folder)
    if described is not None and not described[2] & set(_LABEL_COLUMNS) and described[2] >= set(EVENT_COLUMNS):
        _refuse_unlabelled_events(sorted(set(described[1].values()))[0])
    if described is None or not described[2] & set(_LABEL_COLUMNS):
        return None, (), {}
    rows, origins, _ = described
    _check_metadata_values(rows, origins)
    _check_events(rows, origins)
    layout: dict[str, dict[Path, dict | list[dict]]] = {}
    splits = _SPLIT_FOLDERS + VALIDATION_SPLIT_ALIASES  # a `val/` folder is a split, as in a class-folder layout
    for file, row in rows.items():
        top = file.relative_to(folder).parts[0]
        layout.setdefault(top if top in splits else "train", {})[file] = row
    return dict(sorted(layout.items(), key=lambda item: splits.index(item[0]))), (), {}


def _pile_breaks(folder: Path, files: list[Path], frames: dict | None = None) -> dict[str, list[float]]:
    """`{file: seconds}` of the breaks (boundary rows, `bids.recording_breaks`) of the recording files `files` of the
    BIDS dataset at `folder` read as a pile of whole recordings, at which each is cut (`_segment_streams`). `frames`:
    the events tables read so far (`{table: its DataFrame}`), not read again."""
    breaks = recording_breaks(folder, files, frames)
    return {str(file): onsets for file, onsets in breaks.items()}


def _refuse_unlabelled_events(table: Path) -> None:
    """Refuse the events table `table` that labels none of its events: a metadata file without a label column is
    otherwise ignored (its folder an unlabelled pile of whole files, for pre-training), which dropped the events a
    table of them plainly describes without a word, cutting nothing out.

    Raises:
        ValueError: naming the table, the missing column and the two fixes.
    """
    raise ValueError(
        f"{table} is an events table (`onset` and `duration` columns) with no `label` or `target` column, so its "
        "events label nothing: give each event its class in a `label` column (a number to regress in a `target` "
        "one); for an unlabelled pile of whole recordings (pre-training), remove its `onset` and `duration` columns "
        "or the file."
    )


def _metadata_rows(folder: Path) -> tuple[dict[Path, dict | list[dict]], dict[Path, Path], set[str]] | None:
    """`({file: its metadata row}, {file: the metadata file naming it}, the columns)` of the metadata files under
    `folder` (see `metadata_layout`), or None for a folder without any. In an events table (`EVENT_COLUMNS`) a file's
    value is the list of its events' rows, in the table's order.

    Raises:
        ValueError: as `metadata_layout`.
    """
    if not folder.is_dir():
        return None
    tables = [path for path in files_under(folder) if path.name in METADATA_FILES]
    if not tables:
        return None
    rows: dict[Path, dict | list[dict]] = {}  # by the file's path under the folder, as the row gives it
    origins: dict[Path, Path] = {}  # the metadata file of each row, named in errors
    # A row's file is taken by the path the row gives, never by where a symlink points: resolved, a file linked in
    # from a store outside the folder was "no file under" it, and `validation/0.npy -> ../pool/v0.npy` was read as a
    # `pool/` (so train) file while its own split lost it. Only duplicates compare real files (one recording named
    # through two links would be in two rows, or two splits).
    named_real: dict[str, Path] = {}
    columns = None
    frames = _numbered_ids({table: _read_metadata(table) for table in tables})
    for table in tables:
        frame = frames[table].astype(object).where(frames[table].notna(), None)  # a missing value is None, not NaN
        if "file_name" not in frame.columns:
            raise ValueError(
                f"{table} has no `file_name` column; metadata names each file it labels there, relative to its own "
                "folder, as datasets' audiofolder reads it (file_name,label / a.wav,normal)."
            )
        if columns is not None and set(frame.columns) != columns:
            raise ValueError(
                f"{table} has the columns {sorted(frame.columns)}, another metadata file {sorted(columns)}; give "
                "every metadata file of the folder the same columns."
            )
        columns = set(frame.columns)
        events = _is_events_table(table, columns)
        for row in frame.to_dict("records"):
            name = str(row.pop("file_name"))
            # lexically, as the user laid the folder out (`os.path.relpath` resolves no link)
            relative = Path(os.path.relpath(os.path.normpath(table.parent / name), folder))
            file = folder / relative
            if not file.is_file() and file.with_name(file.name + ".hea").is_file():
                file = file.with_name(file.name + ".hea")  # a WFDB record named without a suffix, as PTB-XL's table
                relative = relative.with_name(file.name)
            if relative.parts[:1] == ("..",) or not file.is_file():
                raise ValueError(f"{table} names {name!r}, which is no file under {folder}.")
            if file.suffix.lower() not in RECORDING_FORMATS and file.with_suffix(".hea").is_file():
                # a WFDB record's signal or annotation file (`100.dat`, `100.atr`, a Challenge record's `A0001.mat`):
                # the record is read through its header
                raise ValueError(
                    f"{table} names {name!r}, a file of the WFDB record {file.with_suffix('.hea').name} beside it (its "
                    f"signals or annotations); name the record, {relative.with_suffix('').as_posix()!r} or "
                    f"{relative.with_suffix('.hea').as_posix()!r}, which is read through its header."
                )
            if file.suffix.lower() not in RECORDING_FORMATS:
                raise ValueError(
                    f"{table} names {name!r}, which is no recording file ({', '.join(RECORDING_FORMATS)})."
                )
            if any(is_hidden_name(part) for part in relative.parts):
                # the folder's listing hides it (`files_under`), so its row would be left out without a word
                raise ValueError(
                    f"{table} names {name!r}, a hidden file (a name starting with '.' or '__', which a folder's "
                    "listing leaves out, as datasets' does); rename it, or the folder it is in."
                )
            earlier = named_real.setdefault(os.path.realpath(file), file)
            if events:  # one row per event: a file named many times
                if earlier == file:
                    rows.setdefault(file, []).append(row)
                    origins[file] = table
                    continue
            elif file in rows:
                raise ValueError(f"{table} names {name!r}, which another metadata row names too.")
            if earlier != file:
                raise ValueError(
                    f"{table} names {name!r}, and another metadata row names "
                    f"{earlier.relative_to(folder).as_posix()!r}, which is the same file (a symlink): one recording "
                    "would be two examples. Name it once."
                )
            rows[file], origins[file] = row, table
    return rows, origins, columns


def _listed_rates(
    folder: Path,
    files: list[Path],
    with_rate: bool,
    sampling_rate: float | None,
) -> dict[str, float] | None:
    """`{file: rate}` that the metadata files of an unlabelled pile give (a `sampling_rate` column beside
    `file_name`, as a labelled set's metadata gives it: they were passed over, and a 500 Hz file read at the
    --sampling-rate 250 given), or None where they give none. Files that record their rate (`with_rate`) are checked
    against it as they are read (`_check_listed_rate`); files that do not take it, each its own.

    Raises:
        ValueError: metadata rates beside `sampling_rate` (--sampling-rate), or none for one of the `files` that record
            no rate (naming it), or a rate that is no positive number (`_check_metadata_values`).
    """
    described = _metadata_rows(folder)
    if described is None or "sampling_rate" not in described[2]:
        return None
    rows, origins, _ = described
    _check_metadata_values(rows, origins)
    firsts = {file: _file_rows(value)[0] for file, value in rows.items()}  # (a file's events agree: `_check_events`)
    rates = {str(file): float(row["sampling_rate"]) for file, row in firsts.items() if row["sampling_rate"] is not None}
    if with_rate:
        return rates or None
    tables = sorted({str(table) for table in origins.values()})
    if sampling_rate is not None:
        raise ValueError(
            f"{', '.join(tables)} gives each file's rate (its sampling_rate column), and --sampling-rate "
            f"{sampling_rate:g} would give every file one: drop --sampling-rate."
        )
    unrated = [file.relative_to(folder).as_posix() for file in files if str(file) not in rates]
    if unrated:
        raise ValueError(
            f"{', '.join(tables)} gives the files' rates (a sampling_rate column) but none for {unrated[0]}"
            + (f" (and {len(unrated) - 1} more files)" if len(unrated) > 1 else "")
            + ", which records none itself; give its rate in a row of its own (file_name,sampling_rate)."
        )
    return rates


def _check_listed_rate(file: Path, recorded: float, listed: float | None) -> None:
    """Refuse a metadata rate (`listed`) that contradicts the rate `file` records.

    Raises:
        ValueError: naming the file, both rates and the fix.
    """
    if listed is not None and not math.isclose(listed, recorded, rel_tol=_RATE_AGREEMENT):
        raise ValueError(
            f"{file} records its rate, {recorded:.10g} Hz, and its metadata says {listed:.10g} Hz; leave the rate "
            "out of the metadata for files that record it."
        )


def _value_kind(value: Any) -> str:
    """How a metadata value reads to pyarrow: "numbers", "text", "true/false" (the kinds one column cannot mix), or
    "numeric text" for a string holding a number ("60": pandas reads a file's whole column as text when one of its
    cells is not a number)."""
    if isinstance(value, bool | np.bool_):
        return "true/false"
    if isinstance(value, numbers.Number):
        return "numbers"
    if not isinstance(value, str):
        return type(value).__name__
    try:
        float(value)
    except ValueError:
        return "text"
    return "numeric text"


def _check_metadata_values(rows: dict[Path, dict], origins: dict[Path, Path]) -> None:
    """Refuse what the metadata's rows hold that the set cannot be built from, naming the file and its metadata:
    an example without its label or target (an empty cell), a `sampling_rate` that is no positive number, and a
    column holding numbers for some files and text for others (pandas reads each metadata file on its own, so
    subject ids 0, 1 in train/ and S0, S1 in test/ meet only in pyarrow, which fails with a traceback)."""
    each_row = [(file, row) for file, value in rows.items() for row in _file_rows(value)]
    label_columns = [name for name in _LABEL_COLUMNS if any(name in row for _, row in each_row)]
    for file, row in each_row:
        for name in label_columns:
            if row.get(name) is None:
                raise ValueError(
                    f"{origins[file]}: {file.name} has no {name} (an empty cell); fill it in, or drop the file's row "
                    "to leave the file out."
                )
        rate = row.get("sampling_rate")
        if rate is not None and not (_value_kind(rate) == "numbers" and math.isfinite(rate) and rate > 0):
            raise ValueError(
                f"{origins[file]}: the sampling_rate of {file.name} is {rate!r}; give each file's rate in Hz as a "
                "positive number (or leave the cell empty for files that record their rate)."
            )
    # column -> kind -> the first file holding a value of that kind, and the value
    examples: dict[str, dict[str, tuple[Path, Any]]] = {}
    for file, row in each_row:
        for name, value in row.items():
            if value is not None:
                examples.setdefault(name, {}).setdefault(_value_kind(value), (file, value))
    for name, kinds in examples.items():
        # text is text whether or not it spells a number; the cell that is not one ("high") is the one to name
        text = kinds.pop("text", None) or kinds.pop("numeric text", None)
        kinds.pop("numeric text", None)
        if text is not None:
            kinds["text"] = text
        if len(kinds) > 1:
            described = [
                f"{kind} ({value!r} for {file.name} in {origins[file]})" for kind, (file, value) in kinds.items()
            ]
            raise ValueError(
                f"the metadata column {name!r} holds {' and '.join(described[:2])}; give the column values of one "
                "kind in every metadata file (one cell that is not a number makes pandas read its file's column as "
                "text)."
            )


def _is_events_table(table: Path, columns: set[str]) -> bool:
    """Whether the metadata file `table` (of `columns`) is an events table (`EVENT_COLUMNS`).

    Raises:
        ValueError: one of the two columns without the other, naming the file and the fix.
    """
    given = [name for name in EVENT_COLUMNS if name in columns]
    if given and len(given) < len(EVENT_COLUMNS):
        missing = next(name for name in EVENT_COLUMNS if name not in columns)
        raise ValueError(
            f"{table} has a `{given[0]}` column and no `{missing}`; an events table gives each event's onset and "
            "duration, in seconds from its recording's start (file_name,onset,duration,label), or neither for one "
            "example per file."
        )
    return bool(given)


def _file_rows(value: dict | list[dict]) -> list[dict]:
    """A file's metadata rows (`_metadata_rows`): its events' in an events table, else its one row."""
    return value if isinstance(value, list) else [value]


def _check_events(rows: dict[Path, dict | list[dict]], origins: dict[Path, Path]) -> None:
    """Refuse the events (rows of an events table, `EVENT_COLUMNS`) that cannot be cut from their files, naming the
    metadata file, the file and the event's onset: an empty onset or duration (a row of the whole file among events:
    onset 0 and its duration), one that is no finite number, a negative onset, a duration of 0 (a point event: a beat,
    a stimulus; which stretch around it is the example is the user's to say, as an onset before it and a duration)
    and events of one file at different `sampling_rate`s. Events of one file that overlap with different labels are
    said once per file (a window would be two examples of two classes): the table may mean it (a sleep stage beside
    an arousal), so they are kept. An event past its file's end is refused as the file is read (`_cut_events`)."""
    for file, value in rows.items():
        if not isinstance(value, list):
            continue
        where = f"{origins[file]}: the event of {file.name}"
        for row in value:
            onset, duration = row["onset"], row["duration"]
            for name in EVENT_COLUMNS:
                number = row[name]
                if number is None:
                    # (BIDS writes a point event's missing duration as n/a: the stretch around it is the fix)
                    point = (
                        "; a point event (a stimulus, a beat at t s; BIDS writes its duration n/a) gives the stretch "
                        "that is its example: onset t - w/2 and duration w for a window of w s centred on it"
                        if name == "duration"
                        else ""
                    )
                    raise ValueError(
                        f"{where} at onset {onset} has no {name} (an empty cell); every row of an events table "
                        "is one event of its file: give its onset and duration in seconds (onset 0 and the file's "
                        f"duration for the whole file), or drop the row{point}."
                    )
                # (one cell that is not a number makes pandas read its file's column as text: that cell is named)
                if _value_kind(number) not in ("numbers", "numeric text") or not math.isfinite(float(number)):
                    raise ValueError(
                        f"{where} at onset {onset} has the {name} {number!r}; give it in seconds from the "
                        "recording's start, as a finite number."
                    )
                row[name] = float(number)
            onset, duration = row["onset"], row["duration"]
            if onset < 0:
                raise ValueError(
                    f"{where} at onset {onset} starts before its recording; give onsets in seconds from the "
                    "recording's start, 0 or more."
                )
            if duration <= 0:
                raise ValueError(
                    f"{where} at onset {onset} has the duration {duration!r}; an example is a stretch of signal, so "
                    "give each event the stretch that is its example (a point event such as a beat at t s: onset "
                    "t - w/2 and duration w for a window of w s centred on it)."
                )
        rates = {row.get("sampling_rate") for row in value}
        if len(rates) > 1:
            raise ValueError(
                f"{origins[file]} gives {file.name}'s events the sampling rates {sorted(rates, key=str)}; a file has "
                "one rate: give every row of it the same."
            )
        label = next((name for name in _LABEL_COLUMNS if name in value[0]), None)
        ordered = sorted(value, key=lambda row: (row["onset"], row["duration"]))
        longest = ordered[0]  # the event reaching furthest so far
        for row in ordered[1:]:
            if row["onset"] < longest["onset"] + longest["duration"] and row.get(label) != longest.get(label):
                warn_once(
                    f"{where} at onset {row['onset']:g} s ({label} {row.get(label)!r}) overlaps the one at "
                    f"{longest['onset']:g} s ({label} {longest.get(label)!r}): the seconds they share are an "
                    "example of each class. Kept, as the table gives them; cut overlapping events apart if they "
                    "should not be.",
                    logger,
                )
                break
            if row["onset"] + row["duration"] > longest["onset"] + longest["duration"]:
                longest = row


def _cut_events(
    file: Path, recording, given: dict | list[dict], pauses: Sequence[int] = ()
) -> Iterator[tuple[dict, np.ndarray]]:
    """`(columns, (channels, time) samples)` of each example `recording` (of `file`) gives: the whole recording with
    its metadata row `given` (each stretch between its `pauses` apart, with `start_seconds` where its first sample
    lies: `_kept_stretches`), or for the events of an events table (a list of rows) each event's samples, from
    `round(onset * rate)` for `round(duration * rate)` samples (at least one, so that events of one duration are
    examples of one length), with its row's columns but `onset` and `duration`, and `start_seconds` where its first
    sample lies, the column `window_examples` adds a window's offset to. `pauses`: the samples where the recording went
    on after a break (a BrainVision recording's pause, an EEGLAB set's boundary, a BIDS events table's boundary row:
    `_breaks_of`), which no example may span.

    Raises:
        ValueError: an event that ends past the recording's end, naming the file, the event and the file's duration;
            `CorruptFileError` (a ValueError): one that spans a pause, naming the event and the pause.
    """
    rate, samples = float(recording.sampling_rate), recording.data.shape[-1]
    if not isinstance(given, list):
        if not pauses:
            yield given, recording.data
            return
        bounds = [0, *pauses, samples]
        stretches = list(zip(bounds[:-1], bounds[1:], strict=True))
        kept = _kept_stretches(file, [end - first for first, end in stretches], rate)
        for first, end in (stretches[number] for number in kept):
            yield {**given, "start_seconds": first / rate}, recording.data[:, first:end]
        return
    for row in given:
        start = round(row["onset"] * rate)
        stop = start + max(1, round(row["duration"] * rate))
        if stop > samples:
            raise ValueError(
                f"{file} lasts {samples / rate:g} s ({samples} samples at {rate:g} Hz), and its event at onset "
                f"{row['onset']:g} s of duration {row['duration']:g} s ends past that, at {stop / rate:g} s; fix "
                "the event's onset and duration (seconds from the recording's start), or the file's rate."
            )
        across = next((pause for pause in pauses if start < pause < stop), None)
        if across is not None:
            _refuse_event_across_break(file, row, across / rate)
        yield _event_columns(row, start / rate), recording.data[:, start:stop]


def _refuse_event_across_break(file: Path, row: dict, at: float) -> None:
    """Refuse the event `row` of `file` that spans the break at `at` seconds (a BrainVision pause, an EEGLAB boundary:
    its samples on either side of it were recorded seconds or hours apart).

    Raises:
        CorruptFileError: naming the file, the break and the event, and the fix.
    """
    raise CorruptFileError(
        f"{file} breaks at {at:g} s (a pause, a New Segment marker; or an EEGLAB boundary event), and its event at "
        f"onset {row['onset']:g} s of duration {row['duration']:g} s spans that break; end it before the break or "
        "start it after, or drop its row."
    )


def _check_bids_breaks(rows: dict[Path, dict | list[dict]], breaks: dict[Path, list[float]]) -> None:
    """Refuse an event that spans a break its BIDS events table marks by a boundary row (`bids.BOUNDARY_TYPES`), as an
    event across a break the file itself records is refused as it is cut (`_cut_events`); `rows` checked by
    `_check_events` (onsets and durations in seconds); a recording labelled whole (`label_from`) is cut at them
    instead (`_cut_events`)."""
    for file, at in breaks.items():
        if not isinstance(rows[file], list):
            continue
        for row in rows[file]:
            across = next((when for when in at if row["onset"] < when < row["onset"] + row["duration"]), None)
            if across is not None:
                _refuse_event_across_break(file, row, across)


def _event_columns(row: dict, start_seconds: float) -> dict:
    """The columns of the example an event's `row` gives: its own but `onset` and `duration`, and `start_seconds`."""
    return {**{name: value for name, value in row.items() if name not in EVENT_COLUMNS}, "start_seconds": start_seconds}


def _read_metadata(table: Path):
    """A metadata file as a pandas DataFrame (CSV, JSON lines or parquet, by its name). A CSV's cells are read as
    written (`_read_metadata_csv`), JSON's values with their own types."""
    import pandas as pd

    readers = {
        ".csv": _read_metadata_csv,
        # dtype=False: pandas would read text that spells a number as one, so labels "2", "11" written as class names
        # (the fix citrus names for ids that skip values) came back as those ids, and a record "000" as 0
        ".jsonl": lambda path: pd.read_json(path, lines=True, dtype=False),
        ".parquet": pd.read_parquet,
    }
    try:
        return readers[table.suffix](table)
    except CorruptFileError:  # a file in another encoding than UTF-8, said with its fix
        raise
    except UnicodeDecodeError as error:
        raise not_decodable(table, error) from None
    except Exception as error:  # pandas' and pyarrow's parse errors
        raise ValueError(f"{table} could not be read ({type(error).__name__}: {error}).") from None


def _number_reader(cells: list[str]) -> type:
    """How a metadata.csv column whose every filled cell (`cells`) is a number is read: as ints where all are whole
    numbers, else as floats (the one rule for ids, `_numbered_ids`, and the other columns, `_read_metadata_csv`)."""
    return int if all(_WHOLE_NUMBER.fullmatch(value.strip()) for value in cells) else float


def _numbered_ids(frames: dict):
    """`frames` (`{metadata file: its DataFrame}`) with the id columns (`_ID_COLUMNS`) of the CSV files, read as text,
    turned into numbers where every filled id of those files is one and no two ids become one number ("1.1" and
    "1.10", "007" and "7": two subjects), whole numbers as ints; else left as written, in every file alike (a column
    of numbers in one file and text in another is refused, `_check_metadata_values`)."""
    import pandas as pd

    written = {table: frame for table, frame in frames.items() if table.suffix == ".csv"}
    for name in _ID_COLUMNS:
        cells = [
            value
            for frame in written.values()
            if name in frame.columns
            for value in frame[name]
            if isinstance(value, str)
        ]
        if not cells or not all(_NUMBER.fullmatch(value.strip()) for value in cells):
            continue
        read = _number_reader(cells)
        number = {value: read(value) for value in cells}
        if len(set(number.values())) < len({value.strip() for value in cells}):
            continue
        for frame in written.values():
            if name in frame.columns:
                frame[name] = pd.Series(
                    [number[value] if isinstance(value, str) else value for value in frame[name]],
                    index=frame.index,
                    dtype=object,
                )
    return frames


def _read_metadata_csv(table: Path):
    """A metadata.csv as a DataFrame of its cells as written: pandas' NA words ("None", "NA", "null": class names,
    with a warning) and true/false inference ("True": a class name) left out, only an empty cell missing (None) but
    for NA words among numbers (R's "NA" in a column of class ids or targets: missing), and `file_name`
    text ("000": a WFDB record, never the number 0). A column every filled cell of which is a number is read as
    numbers, as pandas reads it (a `sampling_rate`, a regression `target`, class ids), whole numbers as ints; ids
    (`_ID_COLUMNS`) are left as text here, for `_numbered_ids` to read across the folder's files. The
    text is UTF-8, or what its byte-order mark names (`text_encoding`)."""
    import pandas as pd

    frame = pd.read_csv(table, encoding=text_encoding(table), dtype=str, keep_default_na=False, na_values=[""])
    frame = frame.astype(object).where(frame.notna(), None)
    for name in frame.columns:
        filled = [value for value in frame[name] if value is not None]
        if name == "file_name" or not filled:
            continue
        words = sorted({value for value in filled if value.strip() in _MISSING_WORDS})
        numbers = [value for value in filled if value.strip() not in _MISSING_WORDS]
        if words and numbers and all(_NUMBER.fullmatch(value.strip()) for value in numbers):
            # numbers with "NA" among them (R's missing cell): missing, so the row is named as an empty cell is
            cells = [None if value is not None and value.strip() in _MISSING_WORDS else value for value in frame[name]]
            frame[name] = pd.Series(cells, index=frame.index, dtype=object)  # (a list would turn None into NaN)
            filled = numbers
        elif words:
            warn_once(
                f"{table}: column {name!r} holds {', '.join(map(repr, words))}, read as text (a class named "
                f"{words[0]!r}); if a cell marks a missing value, leave it empty.",
                logger,
            )
        if name in _ID_COLUMNS or not all(_NUMBER.fullmatch(value.strip()) for value in filled):
            continue  # (ids: numbers or text for the whole folder, `_numbered_ids`)
        read = _number_reader(filled)
        frame[name] = pd.Series(
            [None if value is None else read(value) for value in frame[name]],
            index=frame.index,
            dtype=object,
        )
    return frame


def _metadata_features(labels: dict[str, dict | list[dict]]) -> dict:
    """The `datasets` features of the metadata columns (pyarrow's types of the rows' values): a `label` of text,
    of whole numbers or a float `target`, and whatever else the metadata holds (an events table's `start_seconds` for
    its `onset` and `duration`, `_cut_events`)."""
    import datasets
    import pyarrow as pa

    rows = []
    for value in labels.values():
        if isinstance(value, list):  # an events table: each event's columns as `_cut_events` gives them
            rows += [_event_columns(row, 0.0) for row in value]
        else:
            rows.append(value)
    table = pa.Table.from_pylist(rows)
    return dict(datasets.Features.from_arrow_schema(table.schema))


@functools.cache
def _reader_code_digest() -> str:
    """A digest of the code that turns files into rows (this module, the BIDS reader, the readers and
    `vocabulary_citrus`, whose table of units the files' units are compared and converted by): part of the cache's key, since `datasets` keys a
    generator by its name alone, so rows read by an older version of the readers would be kept."""
    import hashlib

    from .. import vocabulary_citrus

    digest = hashlib.sha256()
    modules = [Path(__file__), Path(__file__).with_name("bids.py"), Path(vocabulary_citrus.__file__)]
    for source in sorted([*modules, *Path(__file__).with_name("readers").glob("*.py")]):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def _examples(
    stamps: list[tuple[str, int, int]],
    root: str,
    with_rate: bool,
    labels: dict[str, dict | list[dict]],
    reference: tuple[str, tuple[str, ...], tuple[str, ...]] | None = None,
    sampling_rate: float | None = None,
    code: str = "",
    left_out: tuple[str, ...] = (),
    check_time_stamps: bool = True,
    breaks: dict[str, list[float]] | None = None,
    unnamed: tuple[str, tuple[str, ...]] | None = None,
) -> Iterator[dict]:
    """The rows of a labelled layout: each file one example, with its columns from `labels` (its class folder's name
    as `label`, or its metadata row; or, for a file of an events table, one example per event, `_cut_events`), its
    channels in the order of `reference` (`_channel_reference`: the set's first
    file's names and units; `datasets` runs the generator on each file apart, so the first file is found beforehand),
    and where that file declares its channels' units, those units (`channel_units`, in their canonical spelling:
    every file is read in them, `_in_channel_order`).
    A file that records no rate is checked against its metadata row's `sampling_rate`, else `sampling_rate`
    (`_recordings_of`). The channels `left_out` (a BIDS dataset's bad ones) are dropped from every file. `breaks`:
    `{file: seconds}` of breaks its file does not record itself (a BIDS events table's boundary rows), at which, as at
    its own (`Recording.breaks`), its examples are cut (`_cut_events`). `unnamed`: `(file, its positional names)` of
    the set's first file of a format that could name its channels where it names none (`_left_unnamed`; `reference`
    is then None): a file that names its channels is refused, as that file is refused beside it in the other order
    (`_by_position`). `code` (`_reader_code_digest`) keys the cache only."""
    for stamp in stamps:
        given = labels[stamp[0]]
        first = _file_rows(given)[0]  # (the rows of a file's events agree on its rate: `_check_events`)
        file = Path(stamp[0])
        read_as = _example_read_arguments(file, given, with_rate, sampling_rate, check_time_stamps)
        recordings = (_FIRST_FILE_READ.get() or {}).pop((tuple(stamp), read_as), None)  # (the first file, read already)
        for suffix, recording in recordings if recordings is not None else _recordings_of(file, *read_as):
            if suffix:  # one example is one recording at one rate
                raise ValueError(
                    f"{file} holds signals at several rates; an example of a labelled set is one recording at one "
                    "rate: export the channels of one rate."
                )
            if reference is not None and _names_channels_once(file, recording):
                recording = _in_channel_order(file, _without_channels(file, recording, left_out), *reference)
            elif reference is not None:
                recording = _by_position(file, recording, reference[0], reference[1])
            elif unnamed is not None and names_its_channels(recording):
                raise _unnamed_beside_named(Path(unnamed[0]), unnamed[1], str(file), recording.channel_names)
            row = {}  # what the file says of itself, over the metadata's columns
            if reference is not None:  # the files name their channels: a model fine-tuned on them keeps the names
                row["channel_names"] = list(recording.channel_names)
            if _declares_units(reference):  # ... and the units they declare, which it records too
                if len(recording.units) != len(recording.channel_names):  # a file that names no units (WAV)
                    first_units = [canonical_unit(unit) for unit in reference[2]]
                    recording = _in_first_units(file, recording, first_units, reference[0])
                row["channel_units"] = [canonical_unit(unit) for unit in recording.units]
            if with_rate:
                _check_listed_rate(file, recording.sampling_rate, first.get("sampling_rate"))
                row["sampling_rate"] = float(recording.sampling_rate)
            name = file.relative_to(root).as_posix()
            pauses = _breaks_of(recording, (breaks or {}).get(str(file), ()))
            for columns, data in _cut_events(file, recording, given, pauses):
                yield {"input_values": _as_float32(data, file), "recording": name, **columns, **row}


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _as_float32(data: np.ndarray, file: Path) -> np.ndarray:
    """`data` as the float32 a folder's rows are stored in, refusing finite values beyond float32's range, as
    `citrus predict` refuses them: cast first, a float64 fill value (1e300) became inf, was reported as a NaN / inf
    sample (with NaN advice), and --nan-policy interpolate filled it with made-up values.

    Raises:
        ValueError: a finite value beyond float32's range, naming `file`, the largest such value and the fix.
    """
    if data.dtype.kind == "f" and data.dtype.itemsize > 4 and data.size:
        peak = max(float(data.max()), -float(data.min()))  # NaN or inf in it: looked at sample by sample below
        if not peak <= _FLOAT32_MAX:
            with np.errstate(invalid="ignore"):
                beyond = np.isfinite(data) & (np.abs(data) > _FLOAT32_MAX)
            if beyond.any():
                raise ValueError(
                    f"{file} has values up to {float(np.abs(data[beyond]).max()):.3g}, beyond float32's range "
                    f"({_FLOAT32_MAX:.3g}) in which the model computes; rescale them (e.g. convert them to the unit "
                    "the checkpoint was trained on)."
                )
    return data.astype(np.float32)


def _example_read_arguments(
    file: Path, given: dict | list[dict], with_rate: bool, sampling_rate: float | None, check_time_stamps: bool
) -> tuple:
    """The arguments after `file` that `_recordings_of` reads the file of a labelled set with (`_examples`), given its
    metadata row or events' rows `given`: a file that records no rate at its row's `sampling_rate`, else at the
    `sampling_rate` given (`--sampling-rate`), its time stamps checked against it unless not `check_time_stamps`.

    Raises:
        ValueError: a file of events that records no rate and is given none, naming it and the fix.
    """
    first = _file_rows(given)[0]  # (the rows of a file's events agree on its rate: `_check_events`)
    listed_rate = None if with_rate else first.get("sampling_rate")
    rate, source = (listed_rate, "metadata") if listed_rate is not None else (sampling_rate, "option")
    if isinstance(given, list) and not with_rate and rate is None:
        raise ValueError(
            f"{file} records no sampling rate, and its events are timed in seconds: give the rate "
            "(--sampling-rate HZ, or a sampling_rate column in the metadata)."
        )
    # (a recording that paused gives the events within its stretches, or its stretches apart: `_cut_events`)
    return with_rate, rate, _TIME_STAMPS_FIXES[source], True, check_time_stamps


def _channel_reference(
    file: Path, recordings: list[tuple[str, Any]], left_out: Sequence[str] = ()
) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    """`(file, channel names, units)` of a labelled set's first file of a format that could name its channels (a
    WAV or .npy file ahead of it is read by position), `file`, from its `recordings` (`_recordings_of`'s
    `(suffix, recording)` pairs, as the rows' generator reads it): the layout every other file's channels are read in
    (`_in_channel_order`); None when it names no channels (.npy, WAV, a CSV without a header) or holds several rates
    (refused as it is read). The units are () where the file gives none (one per channel otherwise, "" for a channel
    it leaves without: an EDF signal of an empty physical dimension). The channels `left_out` (a BIDS dataset's bad
    ones) are not among them."""
    if len(recordings) != 1 or not _names_channels_once(file, recordings[0][1]):
        return None
    recording = _without_channels(file, recordings[0][1], left_out)
    units = tuple(recording.units) if len(recording.units) == len(recording.channel_names) else ()
    return str(file), tuple(recording.channel_names), units


def _left_unnamed(file: Path, recordings: list[tuple[str, Any]]) -> tuple[str, tuple[str, ...]] | None:
    """`(file, its positional names)` of a labelled set's reference file `file` (its `recordings`, as
    `_channel_reference` takes them) where it is of a format that could name its channels (`CHANNEL_NAMING_FORMATS`:
    a CSV without a header row, a WFDB record of signals without a description) and names none: a later file that
    names theirs is refused beside it (`_examples`), as it is refused beside such a file read first (`_by_position`).
    None otherwise (a folder of such files alone is read by position)."""
    if len(recordings) != 1 or recording_format(file) not in CHANNEL_NAMING_FORMATS:
        return None
    recording = recordings[0][1]
    return None if names_its_channels(recording) else (str(file), tuple(recording.channel_names))


def _without_channels(file: Path, recording, left_out: Sequence[str]):
    """`recording` (of `file`) without the channels named in `left_out` (matched by `channel_key`, as the files of a
    set are matched; a name it does not hold is passed over).

    Raises:
        ValueError: every channel left out, naming the file.
    """
    from ..feature_extraction_citrus import channel_key  # (here: `import citrus_hf.data` stays free of transformers)

    dropped = {channel_key(name) for name in left_out}
    kept = [row for row, name in enumerate(recording.channel_names) if channel_key(name) not in dropped]
    if len(kept) == len(recording.channel_names):
        return recording
    if not kept:
        raise ValueError(
            f"{file}: every channel it holds is marked bad ({shown_channels(recording.channel_names)}); mark fewer "
            "bad in its channels.tsv, or move the recording out of the dataset."
        )
    units = recording.units
    return dataclasses.replace(
        recording,
        data=recording.data[kept],
        channel_names=[recording.channel_names[row] for row in kept],
        units=[units[row] for row in kept] if len(units) == len(recording.channel_names) else units,
    )


def _declares_units(reference: tuple[str, tuple[str, ...], tuple[str, ...]] | None) -> bool:
    """Whether a labelled set's first file (`_channel_reference`) declares a unit for any of its channels: its rows
    then carry their `channel_units`, which a model fine-tuned on them records."""
    return reference is not None and any(reference[2])


def names_its_channels(recording) -> bool:
    """Whether a file named its channels (EDF, WFDB, a CSV with a header), rather than leaving them their positions.
    Names it gives are what a model fine-tuned on such files picks its channels by (`channel_names` column)."""
    return recording.channel_names != [str(position) for position in range(len(recording.channel_names))]


def shown_channels(names: Sequence[str]) -> str:
    """A recording's channel names for a message: the first 12 (a one-row CSV had 200,000, a 1.5 MB error line)."""
    return ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")


def picks_channels_by_name(
    extractor, recording, source: str, *, chosen: bool, choose: str, warn: Callable[[str], None]
) -> bool:
    """Whether a checkpoint picks the channels of `recording`, read from the file `source`, by name: it was fine-tuned
    on files that name theirs (`extractor.channel_names`), and this file (or the user's choice of its channels,
    `chosen`) holds every one of those names. A file that names none (.npy, WAV, a CSV without a header: its
    channels are their positions '0', '1', ...) is read in its order, as an array of its samples would be. Channels
    named otherwise are read in the order the user chose them (`chosen`: the user's own mapping); without a choice,
    such a file is read in its own order by a model that takes any channel count (`channel_independent`), saying so
    through `warn`, and refused by one that takes exactly its channels. `citrus predict` and the pipelines decide
    alike; `choose` says, in each one's words, how to choose channels (`--channels NAME ...`, `channels=[...]`).

    Raises:
        ValueError: the file names its channels, not the model's, and the model takes exactly its channels; naming
            both lists and the fix.
    """
    from ..feature_extraction_citrus import (
        missing_channels,
    )  # (here: `import citrus_hf.data` stays free of transformers)

    if not extractor.channel_names or not names_its_channels(recording):
        return False
    missing = missing_channels(extractor.channel_names, recording.channel_names)
    if not missing:
        return True
    if chosen:
        return False
    shown = shown_channels(recording.channel_names)
    if extractor.channel_independent:
        warn(
            f"{source} names its channels {shown}, not {', '.join(extractor.channel_names)} as the model's training "
            "files did: its channels are read in the file's order."
        )
        return False
    raise ValueError(
        f"{source} names its channels {shown}, and the model was fine-tuned on channels named "
        f"{', '.join(extractor.channel_names)} (no {', '.join(missing)} here): pick the model's channels, in that "
        f"order, with {choose}."
    )


def checkpoint_channels_of(extractor, source: str | os.PathLike) -> list[str] | None:
    """The channels to read from the recording file `source` for a checkpoint that picks its channels by name
    (`extractor.channel_names`: fine-tuned on files that name theirs) where the file's signals run at several rates,
    which `read_recording` reads only a rate at a time (a Sleep-EDF PSG: EEG and EOG at 100 Hz, respiration and
    temperature at 1 Hz, the very files `sleep_edf` stagers are fine-tuned on): the file's names of the checkpoint's
    channels, in the checkpoint's order, where its signals at one rate hold every one of them (matched as
    `picks_channels_by_name` matches them, `channel_key`). None otherwise (a file whose signals share one rate, a
    format of one rate, a checkpoint without names, names the file lacks): the file is read as before, and the
    reader's error lists its rates to pick from. `citrus predict` and the pipelines ask it when the caller chose no
    channels.

    Raises:
        SamplingRateError: the file holds every one of the checkpoint's channels, at different rates (a stager of EEG
            and a 1 Hz EMG): no choice of channels helps, so the error names each channel's rate and what does.
    """
    from ..feature_extraction_citrus import channel_key  # (here: `import citrus_hf.data` stays free of transformers)

    kind = recording_format(source)
    if not extractor.channel_names or kind not in _MULTI_RATE_FORMATS:
        return None
    by_rate = wfdb_names_by_rate(source) if kind == "WFDB" else read_edf_header(source).names_by_rate()
    if len(by_rate) < 2:
        return None
    for names in by_rate.values():
        keyed = {channel_key(name): name for name in names}
        if all(channel_key(name) in keyed for name in extractor.channel_names):
            return [keyed[channel_key(name)] for name in extractor.channel_names]
    rates = {channel_key(name): rate for rate, names in by_rate.items() for name in names}
    if all(channel_key(name) in rates for name in extractor.channel_names):
        # the reader's own refusal asks for channels of one rate (--channels), which cannot help this model
        held = ", ".join(f"{name} at {rates[channel_key(name)]:g} Hz" for name in extractor.channel_names)
        raise SamplingRateError(
            f"{source} holds the model's channels at different rates ({held}), and a recording is read at one rate: "
            "resample them to one rate and save them as one recording (e.g. a .npy of (channels, time), read with "
            "--sampling-rate / `sampling_rate=`), or use a model fine-tuned on channels that share a rate."
        )
    return None


def modality_channels_of(source: str | os.PathLike, modalities: Sequence[str]) -> dict[str, list[str]]:
    """The channels of each of a fusion model's `modalities` in the recording file `source` that holds them all, told
    apart by their names: a channel belongs to the modality whose name it holds as a word, in any case (Sleep-EDF's
    `EEG Fpz-Cz`, `EOG horizontal` and `EMG submental` for a model of eeg, eog and emg). Only EDF / BDF and WFDB
    files, whose headers name their channels (each modality's read later, at its own rate); `citrus predict
    --modality-channels` and the fusion pipelines' `modality_channels` say it for any other file.

    Raises:
        ModalityChannelsError: another format, a modality no channel names, or a channel that names two, listing the
            file's channels and the fix.
    """
    fix = (
        "say which channels are which: `modality_channels={...}` (`citrus predict --modality-channels "
        + " ".join(f"{modality}=CHANNEL,..." for modality in modalities)
        + "`)"
    )
    kind = recording_format(source)
    if kind not in _MULTI_RATE_FORMATS:
        raise ModalityChannelsError(
            f"{source} is a {kind} file, whose channels are told apart by name only in EDF / BDF and WFDB files: {fix}."
        )
    by_rate = wfdb_names_by_rate(source) if kind == "WFDB" else read_edf_header(source).names_by_rate()
    names = [name for rate_names in by_rate.values() for name in rate_names]
    words = {
        modality: re.compile(rf"(?<![A-Za-z0-9]){re.escape(modality)}(?![A-Za-z0-9])", re.I) for modality in modalities
    }
    chosen = {modality: [name for name in names if word.search(name)] for modality, word in words.items()}
    unnamed = [modality for modality, picked in chosen.items() if not picked]
    twice = [name for name in names if sum(name in picked for picked in chosen.values()) > 1]
    if unnamed or twice:
        problem = (
            f"no channel names {', '.join(unnamed)}"
            if unnamed
            else f"{', '.join(twice)} name{'s' if len(twice) == 1 else ''} two modalities"
        )
        raise ModalityChannelsError(f"{source} holds the channels {shown_channels(names)}, and {problem}: {fix}.")
    return chosen


def _names_channels_once(file: Path, recording) -> bool:
    """Whether `file` names its channels (`names_its_channels`), the names a labelled set's files are matched by
    (`channel_key`: case and surrounding spaces aside); refusing a name its header gives two channels (a CSV header
    `x,x,y` or `x,X,y`; the EDF reader tells repeated labels apart itself): matched by name, the first of them was
    read twice and the other lost, without a word.

    Raises:
        ValueError: a channel name given twice, naming the file, the name and the fix.
    """
    from ..feature_extraction_citrus import channel_key  # (here: `import citrus_hf.data` stays free of transformers)

    if not names_its_channels(recording):
        return False
    names = list(recording.channel_names)
    keys = [channel_key(name) for name in names]  # as the files are matched: "Fp1" and "FP1" are one channel
    repeated = sorted({name for name, key in zip(names, keys, strict=True) if keys.count(key) > 1})
    if repeated:
        raise ValueError(
            f"{file} names {', '.join(map(repr, repeated))} for more than one of its channels ({names}); the files of "
            "a labelled set are matched channel by channel by name, so give each channel a name of its own in the "
            "file's header."
        )
    return True


def _say_once(note: tuple) -> bool:
    """Whether `note` (a key naming what is said and of which files) is to be said now: True the first time in a
    labelled set's build (`_NOTES_SAID`), and wherever no build holds the notes said."""
    said = _NOTES_SAID.get()
    if said is None:
        return True
    if note in said:
        return False
    said.add(note)
    return True


def _by_position(file: Path, recording, first_file: str, expected: tuple[str, ...]):
    """`recording`, of a `file` that names no channels (`names_its_channels`), beside a labelled set whose first file
    names them `expected`. A WAV or .npy file, whose format holds no names, is read by position under those names, as
    it is read in the first file's units (`_in_first_units`), said once per set and build: its rows had kept the positions '0',
    '1', which reading the splits refused as other channels than the first file's. A file of a format that could name
    its channels (`CHANNEL_NAMING_FORMATS`: a WFDB record of signals without a description, a CSV without a header
    row) has left them out, and is refused here, as the folder is read: before, it was refused only as its splits were
    read, with a fix meant for a set's `channel_names` column.

    Raises:
        ChannelNamesError: a file of a format that names channels and names none, or a file of another channel count,
            naming both files and the fix.
    """
    names = list(recording.channel_names)
    kind = recording_format(file)
    if kind in CHANNEL_NAMING_FORMATS:
        raise _unnamed_beside_named(file, names, first_file, expected)
    if len(names) != len(expected):
        raise ChannelNamesError(
            f"{file} holds {len(names)} channel(s) and {first_file} holds {len(expected)} ({list(expected)}); every "
            "example of a labelled set must hold the same channels (the rows are the model's input channels): export "
            "the same channels from each."
        )
    if _say_once(("read by position", first_file)):
        logger.warning(
            f"{file} names no channels (a {kind} file cannot), and {first_file}, the set's first file naming them, "
            f"names {list(expected)}: files without names are read by position, as that file's channels in its order; "
            "if one holds them in another order, reorder it before building the set, or save it in a format that "
            "names channels (EDF, WFDB)."
        )
    return dataclasses.replace(recording, channel_names=list(expected))


def _unnamed_beside_named(
    file: Path, positions: Sequence[str], named_file: str, names: Sequence[str]
) -> ChannelNamesError:
    """The refusal of a labelled set's `file`, of a format that could name its channels (`CHANNEL_NAMING_FORMATS`),
    which names none (read by `positions`: '0', '1', ...) beside `named_file`, which names `names`: whichever of the
    two is read first (`_by_position`, `_examples`). A CSV whose header row holds the column numbers pandas writes
    ("0,1": `csv_header_of_column_numbers`) has a header: it is told to write names in it."""
    kind = recording_format(file)
    if kind == "CSV" and csv_header_of_column_numbers(file):
        # its header row is there, holding pandas' default column names: "name its channels (a header row)" read as
        # if it had none
        return ChannelNamesError(
            f"{file} has a header row of column numbers ({shown_channels(positions)}: the names pandas gives the "
            f"columns of a DataFrame built from an array, which `to_csv` writes), not channel names, and {named_file} "
            f"names {list(names)}; the files of a labelled set are matched channel by channel by name: name its "
            "columns as the other files name them (`frame.columns = [...]` before `to_csv`, or write the names over "
            "that row), or move it out of the folder."
        )
    return ChannelNamesError(
        f"{file} names no channels (read by position: {shown_channels(positions)}) and {named_file} names "
        f"{list(names)}; the files of a labelled set are matched channel by channel by name: name its channels as "
        f"the other files do ({CHANNEL_NAMING_FORMATS[kind]}), or move it out of the folder."
    )


def _in_channel_order(
    file: Path, recording, first_file: str, expected: tuple[str, ...], expected_units: tuple[str, ...]
):
    """`recording` with its channels in the order `expected` (the set's first file's): an example's rows are the
    model's input channels, so [C4, C3] stacked under [C3, C4] would swap them without a word. Names are matched by
    `channel_key`, as the model matches them ("FP1" is "Fp1"), and read under the first file's. Files of other
    channels are refused, naming both files. Units are compared in one spelling (`canonical_unit`: an EDF file's
    "uV", read as "µV", a WFDB record's "uV" and an "uv" are one unit); a channel in another voltage than the first
    file's (mV beside µV) is converted to it, said once per pair of units, and one in a unit that cannot be (per cent
    beside µV, or none beside µV) is refused (`UnitError`), naming both files."""
    from ..feature_extraction_citrus import channel_key  # (here: `import citrus_hf.data` stays free of transformers)

    names, expected = recording.channel_names, list(expected)
    # matched as the model, `citrus predict` and a `save_to_disk` set match channels (`channel_key`): "FP1" in one
    # exporter's files is "Fp1" in another's
    keys, expected_keys = [channel_key(name) for name in names], [channel_key(name) for name in expected]
    if sorted(keys) != sorted(expected_keys):
        raise ValueError(
            f"{file} holds channels {names} and {first_file} holds {expected}; every example of a labelled set must "
            "hold the same channels (the rows are the model's input channels): export the same channels from each."
        )
    if expected_units:
        first_units = {key: canonical_unit(unit) for key, unit in zip(expected_keys, expected_units)}
        recording = _in_units(file, recording, keys, first_units, first_file)
    if names == expected:
        return recording
    if keys == expected_keys:
        # the same channels in the same order, their names' case aside: read in place, under the first file's names,
        # so that every example names its channels alike and a model fine-tuned on them keeps the names
        return dataclasses.replace(recording, channel_names=list(expected))
    warn_once(f"{file} holds channels {names}, read in the order of {first_file}'s: {expected}.", logger)
    rows = [keys.index(key) for key in expected_keys]
    return dataclasses.replace(
        recording,
        data=recording.data[rows],
        channel_names=list(expected),
        units=[recording.units[row] for row in rows] if len(recording.units) == len(names) else recording.units,
    )


def _in_first_units(file: Path, recording, units: list[str], first_file: str):
    """`recording`, a file that declares no units (a WAV file), read as in the set's first file's `units` (its first
    file of a format that names channels, `_channel_reference`; one per channel, canonical), as it was before units
    were compared; said once per set, naming the file: it may be in another unit, which nothing in it tells."""
    declared = sorted({unit for unit in units if unit})
    if declared and _say_once(("units", first_file, "", "")):
        logger.warning(
            f"{file} declares no units, and {first_file}, the set's first file naming its channels, does "
            f"({', '.join(declared)}): files without units are read as in that file's; if one is in another unit (mV "
            "beside µV), convert it before building the set, or save it in a format that records units (EDF, WFDB)."
        )
    return dataclasses.replace(recording, units=list(units))


def _in_units(file: Path, recording, keys: list[str], first_units: dict[str, str], first_file: str):
    """`recording` (its channels matched by `keys`) in the units of the set's first file (`first_units`, by channel
    key, in their canonical spelling; see `_in_channel_order`), its units spelt as those are.

    A file that declares no units at all (a CSV or .npy file, a WFDB header without them) is read as it is, in the
    first file's units, as it was before units were compared; that is said once per set, naming the file (it may be
    in another unit, which nothing in it tells).

    Raises:
        UnitError: a channel whose unit cannot be converted to the first file's, or that it leaves without one (an
            EDF signal of an empty physical dimension) beside it.
    """
    if len(recording.units) != len(keys):
        return _in_first_units(file, recording, [first_units[key] for key in keys], first_file)
    units = list(recording.units)
    factors = np.ones(len(keys))
    for row, key in enumerate(keys):
        unit, target = canonical_unit(units[row]), first_units[key]
        factor = unit_factor(unit, target)
        if factor is None:
            raise UnitError(
                f"{file} holds {recording.channel_names[row]!r} in {unit or 'no unit'} and {first_file} in "
                f"{target or 'no unit'}, which cannot be converted into each other (only voltages can: "
                f"{', '.join(VOLTAGE_UNITS)}); export every file of the set in the same units."
            )
        if factor != 1.0:
            factors[row] = factor
            if _say_once(("units", first_file, unit, target)):
                logger.warning(
                    f"{file} holds {recording.channel_names[row]!r} in {unit}, and {first_file}, the set's first file, "
                    f"in {target}: every file's channels in {unit} are converted to {target} (x{factor:g}) as they "
                    "are read, the units the set's first file gives the model."
                )
    data = recording.data if (factors == 1.0).all() else recording.data * factors[:, None]
    return dataclasses.replace(recording, data=data, units=[first_units[key] for key in keys])


def _segments(
    stamps: list[tuple[str, int, int]],
    root: str,
    with_rate: bool,
    sampling_rate: float | None = None,
    code: str = "",
    rates: dict[str, float] | None = None,
    check_time_stamps: bool = True,
    breaks: dict[str, list[float]] | None = None,
) -> Iterator[dict]:
    """The rows of `load_recording_folder`: each file's recordings (one per rate of a multi-rate EDF or WFDB record)
    in segments, a file that records no rate read at its metadata's rate (`rates`: `{file: rate}`, then a row's
    `sampling_rate`) or else checked against `sampling_rate` (`_recordings_of`), each stretch between its breaks (its
    own, and `breaks`: `{file: seconds}`, a BIDS events table's boundary rows) apart; `code` keys the cache only (see
    `_examples`)."""
    for file, _, _ in stamps:
        listed = None if rates is None else rates.get(file)
        file = Path(file)
        name = file.relative_to(root).as_posix()
        given, source = (sampling_rate, "option") if with_rate or listed is None else (listed, "metadata")
        for suffix, rate, segments in _segment_streams(
            file, with_rate, given, _TIME_STAMPS_FIXES[source], check_time_stamps, (breaks or {}).get(str(file), ())
        ):
            if with_rate:
                _check_listed_rate(file, rate, listed)
            for data in segments:
                row = {"input_values": _as_float32(data, file), "recording": name + suffix}
                if with_rate or rates is not None:
                    row["sampling_rate"] = rate
                yield row


def _segment_streams(
    file: Path,
    with_rate: bool,
    sampling_rate: float | None = None,
    time_stamps_fix: str = _TIME_STAMPS_FIXES["option"],
    check_time_stamps: bool = True,
    breaks: Sequence[float] = (),
):
    """`(name suffix, rate, segments)` of each recording in `file` (see `_recordings_of`), its `(channels, time)`
    segments of `SEGMENT_SECONDS` (`UNRATED_SEGMENT_SAMPLES` for a file without a rate), the last joined to the one
    before when it is shorter than half a segment (`_short_end_joined`). An EDF / BDF file is read a segment at a time
    (a night of EEG need not sit whole in memory), a BrainVision recording or an EEGLAB set (its .fdt mapped) too,
    each stretch between its breaks apart (a pause, a boundary event, and the `breaks` given in seconds from its start:
    a BIDS events table's boundary rows; no segment, so no window, spans one, `files.read_stretches`,
    `edf.read_edf_stretches`); other files are read whole, then cut."""
    if recording_format(file) in STRETCHED_FORMATS:
        with _naming_the_file(file):
            rate = header_rates(file)[0]
            length = max(1, round(SEGMENT_SECONDS * rate))
            rate, _, stretches = read_stretches(file, None, length, _at_samples(breaks, rate))
        yield "", float(rate), _stretched_segments(file, stretches, rate, length)
        return
    if recording_format(file) in ("EDF", "BDF"):
        with _naming_the_file(file):
            for suffix, channels, rate in _rate_groups(file):
                length = max(1, round(SEGMENT_SECONDS * rate))
                read_rate, _, stretches = read_edf_stretches(file, channels, length, _at_samples(breaks, rate))
                yield suffix, read_rate, _stretched_segments(file, stretches, read_rate, length)
        return
    for suffix, recording in _recordings_of(
        file, with_rate, sampling_rate, time_stamps_fix, check_time_stamps=check_time_stamps
    ):
        length = max(1, round(SEGMENT_SECONDS * recording.sampling_rate)) if with_rate else UNRATED_SEGMENT_SAMPLES
        data = recording.data
        yield (
            suffix,
            float(recording.sampling_rate),
            _short_end_joined((data[:, start : start + length] for start in range(0, data.shape[1], length)), length),
        )


def _stretched_segments(
    file: Path, stretches: list[tuple[int, Iterator[np.ndarray]]], rate: float, length: int
) -> Iterator[np.ndarray]:
    """The segments of `file`'s `stretches` (`(samples, segments of length)` each, `_segment_streams`) one after the
    other, but those of a stretch too short to keep (`_kept_stretches`), a short last segment of each joined to the one
    before (`_short_end_joined`); an error while reading one names `file`."""
    kept = _kept_stretches(file, [samples for samples, _ in stretches], rate)
    joined = itertools.chain.from_iterable(_short_end_joined(stretches[number][1], length) for number in kept)
    return _naming_the_file_in(file, joined)


def _kept_stretches(file: Path, lengths: list[int], rate: float) -> list[int]:
    """Which of `file`'s stretches between breaks (pauses, boundary events), of `lengths` samples at `rate` Hz, to keep:
    all but those shorter than `_SHORTEST_STRETCH_SECONDS` where a longer one is held, said once (a row shorter than a
    model's patch refuses the whole corpus at pre-training, and a window of a few samples is no example; a recording of
    its own that short is refused, naming it; a stretch is no file to move out)."""
    short = [number for number, samples in enumerate(lengths) if samples < _SHORTEST_STRETCH_SECONDS * rate]
    if not short or len(short) == len(lengths):
        return list(range(len(lengths)))
    warn_once(
        f"{file}: {len(short)} of its {len(lengths)} stretches between breaks (pauses, boundary events) last less "
        f"than {_SHORTEST_STRETCH_SECONDS:g} s and are left out (first: stretch {short[0] + 1}).",
        logger,
    )
    return [number for number in range(len(lengths)) if number not in short]


def _at_samples(seconds: Sequence[float], rate: float) -> list[int]:
    """Breaks given in `seconds` from a recording's start (a BIDS events table's boundary rows) as the samples (from 0)
    at `rate` Hz from which it goes on after each."""
    return [round(each * rate) for each in seconds]


def _breaks_of(recording, seconds: Sequence[float]) -> list[int]:
    """The samples (from 0) at which `recording` goes on after a break, in order: its own (`Recording.breaks`: a
    BrainVision pause, an EEGLAB boundary event) and those given in `seconds` (a BIDS events table's boundary rows,
    `_at_samples`), merged (`readers._common.merged_breaks`)."""
    given = _at_samples(seconds, float(recording.sampling_rate))
    own = getattr(recording, "breaks", [])  # (a WFDB record, `WfdbRecording`, has none)
    return merged_breaks(own, given, recording.data.shape[-1])


def _may_break(file: str, breaks: dict[str, list[float]]) -> bool:
    """Whether the recording `file` may hold breaks (`_breaks_of`): a format that records them (`STRETCHED_FORMATS`),
    or a BIDS events table's boundary rows in `breaks` (`{file: seconds}`)."""
    return recording_format(file) in STRETCHED_FORMATS or file in breaks


def _short_end_joined(segments: Iterator[np.ndarray], length: int) -> Iterator[np.ndarray]:
    """`segments` (`(channels, time)`, of `length` samples but the last), the last joined to the one before when it is
    shorter than half a segment: a recording a hair past a segment's end left its last few samples as a row of their
    own, shorter than one patch of the model, and pre-training refused the whole corpus over it. A recording shorter
    than that is one row as it is."""
    held = None
    for segment in segments:
        if held is not None and segment.shape[1] < length / 2:
            segment = np.concatenate([held, segment], axis=1)
        elif held is not None:
            yield held
        held = segment
    if held is not None:
        yield held


@contextlib.contextmanager
def _naming_the_file(file: Path):
    """The readers' ValueErrors, naming `file` (they mostly do, not always), of the data layer's class they were
    raised as (`SamplingRateError`, `CorruptFileError`: what a caller tells them apart by). The error keeps its
    traceback into the reader and its cause (a reader's `from error`: numpy's words on a damaged header; a bug's own
    frames): rebuilt `from None`, it was one line with neither."""
    try:
        yield
    except ValueError as error:
        if str(file) in str(error):
            raise
        kind = type(error) if isinstance(error, CitrusDataError) else ValueError
        raise kind(f"{file}: {error}").with_traceback(error.__traceback__) from error.__cause__


def _naming_the_file_in(file: Path, segments: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """`segments`, an error while reading one naming `file`."""
    with _naming_the_file(file):
        yield from segments


def _recordings_of(
    file: Path,
    with_rate: bool,
    sampling_rate: float | None = None,
    time_stamps_fix: str = _TIME_STAMPS_FIXES["option"],
    across_pauses: bool = False,
    check_time_stamps: bool = True,
):
    """`(name suffix, Recording)` of each recording in `file`: the file itself, or for an EDF / BDF file or a WFDB
    record whose signals run at several rates (Sleep-EDF: EEG at 100 Hz, respiration at 1 Hz) one per rate
    ("@100Hz"). A file that records no rate is read at `sampling_rate` when it is known, its time stamps (a CSV's time
    column) checked against it unless `check_time_stamps` is False (`READ_AS_WRITTEN_KEY`), with `time_stamps_fix`
    as the advice (`_TIME_STAMPS_FIXES`). A BrainVision recording that paused or an EEGLAB set with boundary events is
    refused (`read_recording`) unless `across_pauses` (its events, each checked to lie within a stretch, or its
    stretches labelled whole, `_cut_events`, at its `Recording.breaks`; its channels' names)."""
    with _naming_the_file(file):
        if recording_format(file) not in _MULTI_RATE_FORMATS:
            given = _RATE_NOT_USED if sampling_rate is None else sampling_rate
            yield (
                "",
                read_recording(
                    file,
                    sampling_rate=None if with_rate else given,  # a file that records its rate is read at it
                    check_time_stamps=check_time_stamps and not with_rate and sampling_rate is not None,
                    time_stamps_fix=time_stamps_fix,
                    across_pauses=across_pauses,
                ),
            )
            return
        for suffix, channels, _ in _rate_groups(file):
            yield suffix, read_recording(file, channels)


# Where a folder holding EDF+ files of annotations only is likely a Sleep-EDF download, or laid out as one.
_SLEEP_EDF_ROUTE = (
    "A Sleep-EDF folder (PSG and hypnogram files named as PhysioNet's) is a labelled set of sleep stages: "
    "`citrus data build sleep_edf --data-dir {folder}`."
)
# What reads a WFDB record of annotations only (PhysioNet's RR-interval databases): its annotation file beside it.
_WFDB_ANNOTATIONS_ROUTE = (
    "Their beats are in the annotation files beside them (`wfdb.rdann(record, extension)`): windows of records with "
    "signals labelled by such annotations are rows of a metadata.csv (file_name,onset,duration,label)."
)


def without_annotation_files(files: list[Path], folder: str | os.PathLike) -> list[Path]:
    """`files` (a folder's recording files) less the EDF+ files of annotations only (`holds_annotations_only`: a
    Sleep-EDF hypnogram beside its PSG) and the WFDB records of annotations only (`wfdb_holds_annotations_only`: an
    RR-interval database's), which hold no signal to read; said once, naming them and the route that reads them as
    labels (read as recordings, the folder commands dropped them without a word, or, for WFDB records, refused the
    folder as "no signal data"; and `citrus predict` reported each as left out and exited 2 though every other
    recording was scored).

    Raises:
        ValueError: every file is one (nothing left to read), naming them and that route.
    """
    edf = [file for file in files if recording_format(file) in ("EDF", "BDF") and holds_annotations_only(file)]
    wfdb = [file for file in files if recording_format(file) == "WFDB" and wfdb_holds_annotations_only(file)]
    if not edf and not wfdb:
        return files

    def shown(skipped: list[Path]) -> str:
        return ", ".join(Path(file).name for file in skipped[:3]) + (", ..." if len(skipped) > 3 else "")

    route = _SLEEP_EDF_ROUTE.format(folder=folder)
    if len(edf) + len(wfdb) == len(files):
        raise ValueError(
            f"{str(folder)!r} holds no recording files: "
            + (f"its {len(edf)} EDF file(s) hold annotations only, no signals ({shown(edf)}). {route}" if edf else "")
            + (" " if edf and wfdb else "")
            + (
                f"its {len(wfdb)} WFDB record(s) hold annotations only, their headers listing no signals "
                f"({shown(wfdb)}). {_WFDB_ANNOTATIONS_ROUTE}"
                if wfdb
                else ""
            )
        )
    if edf:
        warn_once(
            f"{len(edf)} file(s) under {folder} hold EDF+ annotations only, no signals ({shown(edf)}): hypnograms or "
            f"event files, skipped. {route}",
            logger,
        )
    if wfdb:
        warn_once(
            f"{len(wfdb)} WFDB record(s) under {folder} hold annotations only, their headers listing no signals "
            f"({shown(wfdb)}): skipped. {_WFDB_ANNOTATIONS_ROUTE}",
            logger,
        )
    kept = set(edf + wfdb)
    return [file for file in files if file not in kept]


def _rate_groups(file: Path) -> list[tuple[str, list[str] | None, float]]:
    """`(name suffix, channels, rate)` of each recording of an EDF / BDF file or a WFDB record (`_MULTI_RATE_FORMATS`):
    one per rate of its signals ("@100Hz", those channels), or the whole file ("", every channel) when they share one
    rate.

    Raises:
        CorruptFileError: an EDF+ file of annotations only (given alone: a folder's are skipped before,
            `without_annotation_files`), which gave no row without a word.
    """
    if recording_format(file) == "WFDB":
        by_rate = wfdb_names_by_rate(file)
    else:
        by_rate = read_edf_header(file).names_by_rate()
        if not by_rate:
            raise CorruptFileError(
                f"{file} holds no signals, only EDF+ annotations (a hypnogram or an events file); give the recording's "
                f"own EDF file. {_SLEEP_EDF_ROUTE.format(folder=file.parent)}"
            )
    if len(by_rate) == 1:
        return [("", None, next(iter(by_rate)))]
    return [(f"@{rate:g}Hz", channels, rate) for rate, channels in by_rate.items()]


__all__ = [
    "METADATA_FILES",
    "MIN_FILES_FOR_VALIDATION",
    "SEGMENT_SECONDS",
    "UNRATED_SEGMENT_SAMPLES",
    "VALIDATION_FRACTION",
    "checkpoint_channels_of",
    "files_under",
    "in_one_split",
    "is_recording_file",
    "is_recording_folder",
    "labelled_layout",
    "labels_events",
    "load_recording_folder",
    "metadata_layout",
    "modality_channels_of",
    "names_its_channels",
    "picks_channels_by_name",
    "is_bids_metadata",
    "raw_bids_recordings",
    "recording_files",
    "shown_channels",
    "warn_of_trigger_channels",
    "warn_of_unread_files",
    "without_annotation_files",
]
