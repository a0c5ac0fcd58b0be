"""A BIDS dataset (the Brain Imaging Data Structure, in which OpenNeuro shares EEG / iEEG / EMG) as a labelled set of
events, for `--dataset ROOT` where ``ROOT/dataset_description.json`` marks the dataset's root.

Each recording this package reads (EDF / BDF, BrainVision ``.vhdr``, EEGLAB ``.set``) with an ``*_events.tsv`` beside
it, named as it is but for its datatype (``sub-01_task-motor_run-1_events.tsv`` beside
``sub-01_task-motor_run-1_eeg.edf``), or inherited from a folder above it as BIDS's inheritance principle finds one
(``task-motor_events.tsv`` at the root: every motor recording's; the nearest wins), gives one example per event:
``onset`` and ``duration`` in seconds from the recording's start, its label from the ``trial_type`` column (another,
such as ``value``, by the dataset option ``label_column``), and the recording's ``subject`` / ``session`` / ``task`` /
``run`` from its name. The rows are an events table's, as a ``metadata.csv`` of ``file_name,onset,duration,label`` gives
them (`recording_folders.metadata_layout` checks and cuts both alike). Two sidecars are read as well: the channels that
the recording's ``*_channels.tsv`` marks ``status`` ``bad`` are left out (of every recording: the examples of a set hold
one set of channels), and the ``SamplingFrequency`` of its ``*_eeg.json`` / ``*_ieeg.json`` / ``*_emg.json`` sidecar
(the nearest one, as BIDS's inheritance finds it) must be the rate the file records. A ``boundary`` row (EEGLAB's
mark where data were cut out, `BOUNDARY_TYPES`) is a break no event may span, not an event; a file of a recording split
into several (``split-02``) takes only an events table that names its split. The recordings that the dataset options
``test_subjects``, ``test_sessions`` and ``test_runs`` (those given) all name are the test split; every other
recording is in ``train``.
With the option ``label_from=participants:COLUMN`` the subjects are labelled, not the events: each recording is one
whole-recording example (cut by ``window_seconds`` as any whole file) labelled by its subject's ``COLUMN`` in
``participants.tsv`` (``group``: class names; a column of numbers, ``age``: a regression ``target``, unless
``participants.json`` declares its ``Levels``); a recording whose events table marks a break (a boundary row) gives
an example of each stretch between its breaks, all of its subject's label, as an EEGLAB set's own boundary events
do (`recording_breaks`): no window spans a break. A pile of a BIDS dataset's recordings (pre-training) is cut at those
breaks too.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

from .errors import CorruptFileError, SamplingRateError
from .listings import files_under, is_hidden_name
from .readers.brainvision import read_brainvision_header
from .readers.files import READ_AS_WRITTEN_KEY, header_rates, recording_format

logger = logging.getLogger(__name__)

# At a BIDS dataset's root: what makes a folder one.
BIDS_DESCRIPTION = "dataset_description.json"
# The datatypes whose recordings are time series this package reads (BIDS-EEG, BIDS-iEEG, BIDS-EMG: EDF / BDF,
# BrainVision, EEGLAB); MEG (.fif, .ds) is named as a format not read (`warn_of_unread_files`).
DATATYPES = ("eeg", "ieeg", "emg")
# The events.tsv column that labels events unless `label_column` names another: BIDS's own for the event's kind.
DEFAULT_LABEL_COLUMN = "trial_type"
# The options that hold recordings out as the test split, by the entity each names (its example column): a dataset of
# one subject holds out its sessions or runs. A recording is in the test split where it matches every option given.
TEST_OPTIONS = {"test_subjects": "subject", "test_sessions": "session", "test_runs": "run"}
# The dataset options a BIDS dataset takes, beside the windows every set of your own takes.
BIDS_OPTIONS = ("label_column", "label_from", *TEST_OPTIONS)
# Where `label_from` takes a label for each subject's whole recordings: the dataset's table of its participants.
PARTICIPANTS = "participants.tsv"
# Beside it, the description of its columns: a categorical one's codes (`Levels`) make its values class names.
PARTICIPANTS_DESCRIPTION = "participants.json"
# The dataset options the reader of a folder of recordings takes (`recording_folders.load_recording_folder`): a BIDS
# dataset's, and the switch that reads its CSVs at the rate given whatever their time stamps say (`citrus predict`'s
# --ignore-time-stamps).
FOLDER_OPTIONS = (*BIDS_OPTIONS, READ_AS_WRITTEN_KEY)
# BIDS entities that name who and what was recorded -> the example columns they become (`subject` groups the
# validation carve, as in any set of your own).
_ENTITY_COLUMNS = {"sub": "subject", "ses": "session", "task": "task", "run": "run"}
# The folders of a BIDS dataset's root that hold no raw data of it (BIDS's own reserved names) -> what they hold, for
# the warning that leaves them out: the processed copies in `derivatives/` would be examples of the same events a
# second time, `sourcedata/` the recordings before conversion.
NOT_RAW = {
    "derivatives": "processed copies of its recordings",
    "sourcedata": "its recordings before conversion",
    "code": "the code that made it",
    "stimuli": "the stimuli presented (sounds, images)",
}
# The `trial_type`s of events-table rows that mark a break, not an event: EEGLAB's `boundary` (data cut out, or sets
# joined), which its BIDS export and MNE-BIDS write as rows of duration 0 or n/a, and MNE's "BAD boundary" / "EDGE
# boundary" annotations of joined recordings; matched without regard to case. Each is a break at its onset, as an
# EEGLAB set's own boundary events are (`readers.eeglab.boundary_positions`): no event may span it.
BOUNDARY_TYPES = ("boundary", "bad boundary", "edge boundary")
# BIDS writes a missing value as "n/a".
_MISSING = ("n/a", "")
# A sidecar's SamplingFrequency within this share of the file's own rate is that rate (a JSON writer's rounding of
# 1000 / 3 Hz), as a metadata rate is (`recording_folders._RATE_AGREEMENT`).
_RATE_AGREEMENT = 1e-6


@dataclasses.dataclass
class BidsEvents:
    """The events of a BIDS dataset (see the module docstring).

    Attributes:
        rows: `{recording: [one dict per event: onset, duration, label and the entity columns]}`, in the table's order;
            with `label_from`, `{recording: one dict: label or target and the entity columns}` (the whole recording).
        origins: `{recording: its events.tsv}` (participants.tsv with `label_from`), named in errors.
        splits: `{recording: "train" or "test"}`.
        bad_channels: `{channel name: the first channels.tsv that marks it bad}`.
        breaks: `{recording: the onsets (seconds) of its events.tsv's boundary rows}` (`BOUNDARY_TYPES`), which none
            of its events may span (with `label_from`, where its whole recording is cut into stretches).
    """

    rows: dict[Path, list[dict] | dict]
    origins: dict[Path, Path]
    splits: dict[Path, str]
    bad_channels: dict[str, Path]
    breaks: dict[Path, list[float]] = dataclasses.field(default_factory=dict)


def is_bids_root(folder: str | os.PathLike) -> bool:
    """Whether `folder` is a BIDS dataset's root (it holds ``dataset_description.json``)."""
    return (Path(folder) / BIDS_DESCRIPTION).is_file()


def holds_events(folder: str | os.PathLike) -> bool:
    """Whether `folder` is a BIDS dataset's root with an events table (its events are then read,
    `read_bids_events`)."""
    folder = Path(folder)
    return is_bids_root(folder) and bool(_events_tables(folder))


def _events_tables(root: Path) -> list[Path]:
    """The events tables of the BIDS dataset at `root` outside its folders of no raw data, those a recording's
    inherits (``task-motor_events.tsv`` at the root, ``sub-01_task-motor_events.tsv`` in a subject's folder) too. From
    the dataset's one listing (`listings.files_under`, taken once within a `listings.one_listing` scope), which follows
    a symlinked subject folder (``sub-01 -> /shared/sub-01``, as datalad lays a dataset out): `Path.rglob` does not,
    so a dataset whose subjects were all linked in was read as an unlabelled pile, and one with some linked in kept
    their events only through the table beside each recording."""
    return [path for path in files_under(root) if path.name.endswith("_events.tsv") and holds_raw_data(path, root)]


def holds_raw_data(path: Path, root: Path) -> bool:
    """Whether `path`, under the BIDS dataset's root `root`, lies outside the folders that hold no raw data of it
    (`NOT_RAW`: the processed copies in ``derivatives/``, the recordings before conversion in ``sourcedata/``, its
    ``code/`` and ``stimuli/``)."""
    return path.relative_to(root).parts[0] not in NOT_RAW


def reads_file(path: Path) -> bool:
    """Whether the BIDS file `path` is one `read_bids_events` reads: an events or channels table, a datatype's
    sidecar (``*_eeg.json``), the dataset's description."""
    _, suffix = _entities(path)
    return path.name == BIDS_DESCRIPTION or (
        path.name.endswith((".tsv", ".json")) and suffix in {"events", "channels", *DATATYPES}
    )


def _entities(path: Path) -> tuple[dict[str, str], str]:
    """`({entity: label}, suffix)` of a BIDS file name: ``sub-01_task-motor_eeg.edf`` -> `({"sub": "01", "task":
    "motor"}, "eeg")`."""
    parts = path.name.split(".")[0].split("_")
    pairs = dict(part.split("-", 1) for part in parts[:-1] if "-" in part)
    return pairs, parts[-1]


def _inherited(recording: Path, root: Path, suffix: str, extension: str) -> Path | None:
    """The sidecar of `recording` with `suffix` and `extension` as BIDS's inheritance principle finds it: the file
    beside it named as it is, else the nearest (from its folder up to `root`) whose entities are all the recording's
    (``task-motor_eeg.json`` at the root applies to every motor recording), the one naming most of them first.

    Raises:
        CorruptFileError: two equally specific ones at the nearest folder level (an invalid dataset), naming both.
    """
    entities, _ = _entities(recording)
    folder = recording.parent
    while True:
        candidates = []
        for path in folder.glob(f"*_{suffix}{extension}"):
            named, own_suffix = _entities(path)
            if own_suffix == suffix and named.items() <= entities.items():
                candidates.append((len(named), path))
        if candidates:
            most = max(count for count, _ in candidates)
            nearest = sorted(path for count, path in candidates if count == most)
            if len(nearest) > 1:
                # BIDS calls a dataset with two such files invalid: which applies is no one's to guess, and the
                # later by path order was taken without a word
                shown = [str(p.relative_to(root)) if root in p.parents else str(p) for p in (recording, *nearest)]
                raise CorruptFileError(
                    f"{shown[0]} inherits {' and '.join(shown[1:])}, equally specific sidecars at one folder level "
                    "(an invalid BIDS dataset): merge them into one, or name more of the recording's entities in the "
                    "one meant for it."
                )
            return nearest[0]
        if folder == root or root not in folder.parents:
            return None
        folder = folder.parent


def _read_tsv(path: Path):
    """A BIDS table as a DataFrame of text, "n/a" and empty cells None.

    Raises:
        CorruptFileError: a table that cannot be read (an empty file, one that is not UTF-8 text, a row that is no row
            of the table), naming it and the fix.
    """
    import pandas as pd

    try:
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_values=list(_MISSING))
    except Exception as error:  # pandas' parse errors, a file that is no UTF-8 text
        # A table that cannot be read stops the whole dataset (a pre-training pile reads every events table for its
        # boundary rows), so the message says how to mend it, not only that pandas could not
        if isinstance(error, pd.errors.EmptyDataError):
            problem, fix = "it is empty", "write its header row (tab-separated column names) and its rows"
        elif isinstance(error, UnicodeDecodeError):
            problem, fix = "it is not UTF-8 text, as BIDS writes its tables", "save it again as UTF-8"
        else:
            problem, fix = f"{type(error).__name__}: {error}", "repair it (tab-separated cells under a header row)"
        without = (
            " (its recording then has no events: pre-training reads it whole, uncut, and fine-tuning on events leaves "
            "it out)"
            if path.name.endswith("_events.tsv")
            else ""
        )
        raise CorruptFileError(
            f"{path} could not be read as a BIDS table ({problem}): {fix}, or delete it{without}."
        ) from None
    return frame.astype(object).where(frame.notna(), None)


# Each test option's entity as a file name writes it (``ses-b``: the prefix is optional in the option's value).
_ENTITY_OF_COLUMN = {column: entity for entity, column in _ENTITY_COLUMNS.items()}


def _held_out_labels(option: str, given) -> set[str]:
    """The labels the test option `option` (`TEST_OPTIONS`) names in `given` (its value: one label or a list; the
    entity's prefix, ``sub-`` / ``ses-`` / ``run-``, optional), in `_entity_label`'s spelling.

    Raises:
        ValueError: a value that is not a label or a list of them, or text written as a list that is no JSON
            (``[01]``: the command line keeps it as text).
    """
    column = TEST_OPTIONS[option]
    values = given if isinstance(given, list | tuple) else [given]
    if not values or any(isinstance(value, bool) or not isinstance(value, str | int) for value in values):
        raise ValueError(
            f'{option} must be a {column} label or a list of them ({option}=\'["04", "05"]\'), got {given!r}.'
        )
    written = next((value for value in values if isinstance(value, str) and value.strip().startswith("[")), None)
    if written is not None:  # (`--dataset-options test_sessions=[01]`: no JSON, so kept as its text)
        raise ValueError(
            f"{option}={written} is no list of labels: a list is JSON, its labels in double quotes "
            f'({option}=\'["01", "02"]\'), or give one label bare ({option}=01).'
        )
    prefix = f"{_ENTITY_OF_COLUMN[column]}-"
    return {_entity_label(column, str(value).removeprefix(prefix)) for value in values}


def _entity_label(column: str, label: str | None) -> str | None:
    """`label` of the entity `column` as the test options compare it: a run's index as a number (BIDS's ``run-01``
    and ``run-1`` are run 1), any other label as written."""
    if column == "run" and label is not None and label.isdigit():
        return str(int(label))
    return label


def check_sampling_frequency(recording: Path, root: Path) -> None:
    """Refuse a `recording` whose sidecar's ``SamplingFrequency`` is not the rate the file records (its header's,
    `header_rates`: EDF / BDF, BrainVision, EEGLAB): one of the two is wrong, and events timed in seconds would be cut
    at the wrong samples under the wrong one.

    Raises:
        SamplingRateError: naming the file, its rate, the sidecar and its rate.
    """
    _, datatype = _entities(recording)
    sidecar = _inherited(recording, root, datatype, ".json")
    if sidecar is None:
        return
    try:
        stated = json.loads(sidecar.read_text(encoding="utf-8")).get("SamplingFrequency")
    except (ValueError, AttributeError) as error:
        raise ValueError(f"{sidecar} is no JSON object ({error}); fix the sidecar.") from None
    rates = header_rates(recording) or []
    if not isinstance(stated, int | float) or isinstance(stated, bool) or len(rates) != 1:
        return  # (a file of several rates is refused as it is read)
    agreement = _RATE_AGREEMENT
    if recording_format(recording) == "BrainVision":
        # its header writes the rate as an interval in µs, rounded by its writer (1953.12 for 512 Hz): the sidecar's
        # rate agrees where it lies within the digits written (`BrainVisionHeader.rate_precision`)
        agreement = max(agreement, read_brainvision_header(recording).rate_precision * (1 + 1e-9))
    if not math.isclose(float(stated), rates[0], rel_tol=agreement):
        raise SamplingRateError(
            f"{recording} records {rates[0]:.10g} Hz and its sidecar {sidecar} says SamplingFrequency "
            f"{float(stated):.10g}; one of them is wrong: fix the sidecar or the file (the events are timed in "
            "seconds, cut at the file's rate)."
        )


def _participant_labels(root: Path, label_from) -> tuple[str, dict[str, object], Path]:
    """`(column name, {subject label: its value, None where n/a}, participants.tsv)` that `label_from`
    (``participants:COLUMN``) names: the column name is ``target`` where every value given is a number (``age``: read
    as floats, for regression), else ``label`` (class names, as an events.tsv's labels are read); ``label`` too for a
    column that ``participants.json`` declares categorical by its ``Levels`` (a group coded 0 / 1 is two classes, not
    a regression of 0.0 and 1.0).

    Raises:
        ValueError: a `label_from` not of that form, a dataset without participants.tsv, or one without the column or
            ``participant_id``, a participants.json that is no JSON object, or a column of numbers and text (``89+``
            among ages) that participants.json does not declare categorical, naming the fix.
    """
    source, _, column = str(label_from).partition(":")
    if source != "participants" or not column:
        raise ValueError(
            f"label_from must name a column of the dataset's participants.tsv, label_from=participants:COLUMN "
            f"(participants:group), got {label_from!r}."
        )
    table = root / PARTICIPANTS
    if not table.is_file():
        raise ValueError(
            f"label_from={label_from}: {root} has no {PARTICIPANTS}; write one (participant_id, {column})."
        )
    frame = _read_tsv(table)
    missing = [name for name in ("participant_id", column) if name not in frame.columns]
    if missing:
        raise ValueError(
            f"{table} has no {' / '.join(missing)} column (its columns: {', '.join(frame.columns)}); name one of "
            "its columns: --dataset-options label_from=participants:COLUMN."
        )
    values = {
        str(subject).removeprefix("sub-"): value
        for subject, value in zip(frame["participant_id"], frame[column], strict=True)
        if subject is not None
    }
    given = [value for value in values.values() if value is not None]
    if _declared_levels(root, column):
        return "label", values, table
    words = sorted({value for value in given if not _is_number(value)})
    if given and not words:
        return "target", {subject: None if value is None else float(value) for subject, value in values.items()}, table
    if len(words) < len(set(given)):  # (numbers among words: an age column with "89+", or a typo in a group code)
        raise ValueError(
            f"{table}'s column {column} holds numbers and text ({', '.join(map(repr, words[:3]))}"
            f"{', ...' if len(words) > 3 else ''}), neither a regression target nor clearly class names: write n/a "
            f"for a value not known, or declare {column}'s Levels in {PARTICIPANTS_DESCRIPTION} to read it as class "
            "names."
        )
    return "label", values, table


def _declared_levels(root: Path, column: str) -> bool:
    """Whether the dataset's participants.json declares `column` categorical (its ``Levels``, BIDS's key for the
    codes of a categorical column: ``{"0": "control", "1": "patient"}``).

    Raises:
        ValueError: a participants.json that is no JSON object, naming it.
    """
    described = root / PARTICIPANTS_DESCRIPTION
    if not described.is_file():
        return False
    try:
        columns = json.loads(described.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{described} is not valid JSON ({error}); fix it, or remove it.") from None
    if not isinstance(columns, dict):
        raise ValueError(f"{described} is not a JSON object of its columns' descriptions; fix it, or remove it.")
    entry = columns.get(column)
    return isinstance(entry, dict) and bool(entry.get("Levels"))


def _is_number(text: str) -> bool:
    """Whether a table's cell `text` reads as a finite number."""
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def read_bids_events(
    root: Path,
    recordings: Sequence[Path],
    label_column: str | None = None,
    test_subjects=None,
    label_from: str | None = None,
    test_sessions=None,
    test_runs=None,
    frames: dict | None = None,
) -> BidsEvents | None:
    """The events of the BIDS dataset at `root` (module docstring) of its `recordings` (the files this package reads),
    or None where no recording has an events.tsv (a resting-state dataset: a pile of recordings). The folders that
    hold no raw data (`NOT_RAW`: `derivatives/`, `sourcedata/`, ...) give none. With `label_from`
    (``participants:COLUMN``, `_participant_labels`) each recording is instead one whole-recording row (a dict, not a
    list of events) labelled by its subject's value; a subject whose value is n/a, or who is not listed, is left out,
    said once. A recording is in the test split where it matches every test option given (`TEST_OPTIONS`:
    `test_subjects`, `test_sessions`, `test_runs`). An events table's boundary rows (`BOUNDARY_TYPES`) are no events:
    their onsets are the recording's `breaks`. `frames`: the tables read so far (`{table: its DataFrame}`, as
    `recording_breaks` takes it), each read once and kept there.

    Raises:
        ValueError: an events.tsv without ``onset`` / ``duration`` or the label column (naming the columns it has and
            `label_column`), an event whose label is n/a (naming it), a boundary row without an onset, a recording
            of several files (``split-``) that would inherit the whole recording's events table, a subject / session
            / run of a test option the dataset does not hold, test options that name no recording together or every
            one, or a sidecar rate that is not the file's
            (`check_sampling_frequency`); with `label_from`, as `_participant_labels` says, `label_column` beside it,
            a subject of `test_subjects` it gives no value, or a participants.tsv that labels no recording.
    """
    if label_from is not None and label_column is not None:
        raise ValueError(
            "label_column names the events.tsv column that labels events, and label_from labels whole recordings by "
            "their subject: give one of them."
        )
    participants = None if label_from is None else _participant_labels(root, label_from)
    unlabelled: list[str] = []
    column = label_column or DEFAULT_LABEL_COLUMN
    given_tests = {"test_subjects": test_subjects, "test_sessions": test_sessions, "test_runs": test_runs}
    held = {option: _held_out_labels(option, value) for option, value in given_tests.items() if value is not None}
    held_out = held.get("test_subjects")

    def split_of(ids: dict) -> str:
        matches = all(
            _entity_label(TEST_OPTIONS[option], ids[TEST_OPTIONS[option]]) in labels for option, labels in held.items()
        )
        return "test" if held and matches else "train"

    read = set(recordings)
    rows: dict[Path, list[dict] | dict] = {}
    origins: dict[Path, Path] = {}
    splits: dict[Path, str] = {}
    bad_channels: dict[str, Path] = {}
    breaks: dict[Path, list[float]] = {}
    frames = {} if frames is None else frames  # (an inherited table is read once for all the recordings it labels)
    for recording in sorted(read):
        entities, datatype = _entities(recording)
        if datatype not in DATATYPES or _hidden(recording, root) or not holds_raw_data(recording, root):
            continue
        ids = {name: entities.get(entity) for entity, name in _ENTITY_COLUMNS.items()}
        if participants is not None:
            name, values, table = participants
            if values.get(ids["subject"]) is None:
                unlabelled.append(f"sub-{ids['subject']}")
                continue
            given: list[dict] | dict = {name: values[ids["subject"]], **ids}
            breaks.update(recording_breaks(root, [recording], frames))
            _read_sidecars(recording, root, bad_channels)
            rows[recording], origins[recording] = given, table
            splits[recording] = split_of(ids)
            continue
        # BIDS's inheritance principle, as for the rate's sidecar: the table beside it, else the nearest above
        table = _inherited(recording, root, "events", ".tsv")
        if table is None:
            continue
        if "split" in entities and "split" not in _entities(table)[0]:
            # BIDS splits a long recording into files (split-01, split-02) and times the one events table of the whole
            # recording from the first file's start: split 2 would cut every event at the wrong seconds
            raise ValueError(
                f"{recording.relative_to(root)} is one file of a recording split into several (split-"
                f"{entities['split']}), and {table.relative_to(root)} times the whole recording's events from its "
                f"first file's start; give each file its own events table, onsets from its own start "
                f"({recording.name.rsplit('_', 1)[0]}_events.tsv), or join the splits into one file."
            )
        if table not in frames:
            frames[table] = _read_tsv(table)
        frame = frames[table]
        missing = [name for name in ("onset", "duration", column) if name not in frame.columns]
        if missing:
            fix = (
                f"name the column that labels its events: --dataset-options label_column=NAME (the default is "
                f"{DEFAULT_LABEL_COLUMN})"
                if missing == [column]
                else "BIDS gives every event its onset and duration (n/a where it has none)"
            )
            raise ValueError(
                f"{table} has no {' / '.join(missing)} column (its columns: {', '.join(frame.columns)}); {fix}."
            )
        events = []
        for event in frame.to_dict("records"):
            if _is_boundary(event, column):
                breaks.setdefault(recording, []).append(_break_onset(table, event["onset"]))
                continue
            if event[column] is None:
                raise ValueError(
                    f"{table}: the event at onset {event['onset']} has no {column} (n/a), so it labels nothing; give "
                    f"it one, drop its row, or name another column with --dataset-options label_column=NAME."
                )
            events.append({"onset": event["onset"], "duration": event["duration"], "label": event[column], **ids})
        if not events:
            continue
        _read_sidecars(recording, root, bad_channels)
        rows[recording], origins[recording] = events, table
        splits[recording] = split_of(ids)
    if unlabelled:
        left = sorted(set(unlabelled))
        logger.warning(
            f"{len(unlabelled)} recording(s) of {root} are left out: {participants[2]} gives their subjects no "
            f"{label_from.partition(':')[2]} (n/a, or not listed: {', '.join(left[:5])}"
            f"{', ...' if len(left) > 5 else ''})."
        )
    if not rows:
        if participants is not None:
            listed = sorted(subject for subject, value in participants[1].items() if value is not None)
            recorded = sorted({subject.removeprefix("sub-") for subject in unlabelled})
            raise ValueError(
                f"{participants[2]} labels no recording of {root} by label_from={label_from} (its subjects: "
                f"{', '.join(listed[:5]) or 'none with a value'}{', ...' if len(listed) > 5 else ''}; the recordings': "
                f"{', '.join(recorded[:5]) or 'none'}{', ...' if len(recorded) > 5 else ''}): give each subject's "
                "row its participant_id as the recordings name it (sub-01), and a value that is not n/a."
            )
        return None
    if held_out is not None:
        subjects = sorted({(row if isinstance(row, dict) else row[0])["subject"] for row in rows.values()})
        unknown = sorted(held_out - set(subjects))
        unlabelled_held_out = sorted(subject for subject in unknown if f"sub-{subject}" in unlabelled)
        if unlabelled_held_out:  # (its recordings are there: it is its label that is missing)
            raise ValueError(
                f"test_subjects names {', '.join(unlabelled_held_out)}, whom {participants[2]} gives no "
                f"{label_from.partition(':')[2]} (n/a, or not listed), so that their recordings are left out; give "
                f"them one there, or hold out other subjects (labelled: {', '.join(subjects)})."
            )
    _check_test_options(root, held, rows, splits)
    return BidsEvents(rows, origins, splits, bad_channels, {file: breaks[file] for file in rows if file in breaks})


def _boundary_onsets(table: Path, frames: dict, column: str = DEFAULT_LABEL_COLUMN) -> list:
    """The onsets (as written) of the boundary rows (`BOUNDARY_TYPES`, `_is_boundary`) of the events table `table`,
    read once into `frames` (`{table: its DataFrame}`)."""
    if table not in frames:
        frames[table] = _read_tsv(table)
    return [event.get("onset") for event in frames[table].to_dict("records") if _is_boundary(event, column)]


def recording_breaks(root: Path, recordings: Sequence[Path], frames: dict | None = None) -> dict[Path, list[float]]:
    """`{recording: the onsets (seconds) of its events table's boundary rows}` (the table inherited as BIDS finds it;
    `BOUNDARY_TYPES`) of those of `recordings` of the BIDS dataset at `root` that have any: the breaks that a recording
    read whole (a pile's, or one labelled whole by `label_from`) is cut at, so that no window spans one, as an EEGLAB
    set's own boundary events are. `frames`: the tables read so far (`{table: its DataFrame}`), read once.

    Raises:
        ValueError: a boundary row without an onset, naming its table.
    """
    frames = {} if frames is None else frames
    breaks = {}
    for recording in recordings:
        if _entities(recording)[1] not in DATATYPES:  # (no BIDS recording: no events table of its own)
            continue
        table = _inherited(recording, root, "events", ".tsv")
        onsets = [] if table is None else _boundary_onsets(table, frames)
        if onsets:
            breaks[recording] = [_break_onset(table, onset) for onset in onsets]
    return breaks


def _break_onset(table: Path, onset) -> float:
    """The onset (seconds, as the events table `table` writes it) of a boundary row.

    Raises:
        ValueError: an onset that is no number (n/a), naming the table and the fix.
    """
    if onset is None or not _is_number(onset):
        shown = "n/a" if onset is None else repr(onset)  # (a missing cell, n/a or empty, is read as None)
        raise ValueError(
            f"{table}: a boundary row has the onset {shown}; give it the seconds from the recording's start at which "
            "the break lies, or drop its row."
        )
    return float(onset)


def no_events_reason(recording: Path, root: Path, label_column: str | None = None, frames: dict | None = None) -> str:
    """Why `recording` of the BIDS dataset at `root` gives no event, as the warning that leaves it out says it: it has
    no events table, or the one it inherits holds only boundary rows (breaks, no event) or no rows (`read_bids_events`
    gives the events of every other). `label_column`: the dataset option, a column that may mark a boundary too.
    `frames`: the tables `read_bids_events` read (`{table: its DataFrame}`), taken from there rather than read again."""
    table = _inherited(recording, root, "events", ".tsv")
    if table is None:
        return "have no events.tsv"
    frames = {} if frames is None else frames
    boundaries = len(_boundary_onsets(table, frames, label_column or DEFAULT_LABEL_COLUMN))  # (reads it into frames)
    rows = len(frames[table])
    if not rows:
        return "have an events.tsv of no rows"
    if boundaries < rows:  # (left out for another reason: a recording outside the eeg/ieeg/emg folders)
        return "give no event"
    return f"have an events.tsv of {boundaries} boundary row(s) (breaks, no event)"


def _is_boundary(event: dict, column: str) -> bool:
    """Whether the events-table row `event` marks a break (`BOUNDARY_TYPES`) by its ``trial_type`` or by the label
    `column` (EEGLAB writes the type in either)."""
    return any(
        isinstance(event.get(name), str) and event[name].strip().lower() in BOUNDARY_TYPES
        for name in (DEFAULT_LABEL_COLUMN, column)
    )


def _check_test_options(root: Path, held: dict[str, set[str]], rows: dict, splits: dict[Path, str]) -> None:
    """Refuse test options (`held`: `{option: its labels}`) that name a subject / session / run no labelled recording
    of `root` has, or that together hold out no recording or every one.

    Raises:
        ValueError: naming the option, what it names and the dataset's own labels, or the fix.
    """
    firsts = [row if isinstance(row, dict) else row[0] for row in rows.values()]
    for option, labels in held.items():
        column = TEST_OPTIONS[option]
        present = {_entity_label(column, row[column]) for row in firsts} - {None}
        unknown = sorted(labels - present)
        if unknown:
            raise ValueError(
                f"{option} names {', '.join(unknown)}, which {root} holds no events of; its {column}s: "
                f"{', '.join(sorted(present)) or 'none (its file names have no such entity)'}."
                + _zero_padded_advice(option, unknown, present)
            )
    if held and "test" not in splits.values():
        raise ValueError(
            f"{', '.join(held)} name no recording together ({root} holds none of all of them); hold out "
            "recordings that each option names, or give fewer options."
        )
    if set(splits.values()) == {"test"}:
        raise ValueError(f"{', '.join(held)} hold out every recording of {root}; leave some to train on.")


def _zero_padded_advice(option: str, unknown: list[str], present: set[str]) -> str:
    """The advice for test-option labels `unknown` that are numbers of labels the dataset writes with leading zeros
    (`present`: "01"): a settings file's YAML reads `test_sessions: [01]` as the number 1 (and 010 as 8, an octal
    number), so the label must be quoted. "" where none is (a run's label is compared as a number already)."""

    def read_as(label: str) -> set[int]:  # the numbers YAML makes of a label of digits: decimal, or octal after a 0
        octal = label.startswith("0") and set(label) <= set("01234567")
        return {int(label), *([int(label, 8)] if octal else [])}

    numbers = {int(each) for each in unknown if each.isdigit()}
    padded = sorted(label for label in present if label.isdigit() and read_as(label) & numbers)
    if not padded:
        return ""
    quoted = ", ".join(f"'{label}'" for label in padded)
    return (
        f" BIDS labels are text, and a settings file's number loses a label's leading zero (YAML reads 01 as 1, 010 "
        f"as 8): quote it, {option}: [{quoted}]."
    )


def _read_sidecars(recording: Path, root: Path, bad_channels: dict[str, Path]) -> None:
    """Check the rate of the `recording`'s sidecar (`check_sampling_frequency`) and add the channels its channels.tsv
    (beside it or inherited) marks ``status`` ``bad`` to `bad_channels`, each with the first table that marks it."""
    check_sampling_frequency(recording, root)
    channels = _inherited(recording, root, "channels", ".tsv")
    if channels is not None:
        listed = _read_tsv(channels)
        if "name" in listed.columns and "status" in listed.columns:
            for name, status in zip(listed["name"], listed["status"], strict=True):
                if name is not None and str(status).strip().lower() == "bad":
                    bad_channels.setdefault(name, channels)


def _hidden(path: Path, root: Path) -> bool:
    """Whether a part of `path` under `root` is hidden (a name starting with "." or "__"), as a folder's listing hides
    it (`listings.files_under`)."""
    return any(is_hidden_name(part) for part in path.relative_to(root).parts)


__all__ = [
    "BIDS_DESCRIPTION",
    "BIDS_OPTIONS",
    "FOLDER_OPTIONS",
    "DATATYPES",
    "DEFAULT_LABEL_COLUMN",
    "PARTICIPANTS",
    "PARTICIPANTS_DESCRIPTION",
    "BidsEvents",
    "check_sampling_frequency",
    "holds_events",
    "NOT_RAW",
    "holds_raw_data",
    "is_bids_root",
    "reads_file",
    "read_bids_events",
    "recording_breaks",
]
