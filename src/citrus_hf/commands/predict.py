"""`citrus predict`: run a fine-tuned checkpoint over recording files, window by window, through the package's
transformers pipeline (`pipeline(model=...)`: the checkpoint names its task), on the fastest CPU path that keeps the
predictions.

    citrus predict runs/sleep night.edf --channels "EEG Fpz-Cz"            # the label of every 30 s window
    citrus predict runs/har session.npy --sampling-rate 50 --output labels.csv
    citrus predict runs/hr ecg/100.hea other.edf --output beats.jsonl
    citrus predict runs/fusion ecg=ECG.csv eda=EDA.csv --modality-sampling-rate ecg=250 eda=32  # a fusion model
    citrus predict runs/stager night.edf --modality-channels eeg="EEG Fpz-Cz,EEG Pz-Oz" eog="EOG horizontal"

A fusion model (one encoder per modality) takes one recording per modality: `MODALITY=FILE` pairs (one session), or
files that each hold every modality with `--modality-channels MODALITY=CHANNEL,...` (one session each). Its pipeline
cuts every modality into windows of the same times (see `inference.pipelines`' fusion pipelines); the lines and outputs
are those of a single-modality model (the time per label, a sleep stager's statistics between lights out and on, a
classifier's events per session), its `.jsonl` lines giving each modality's rate and its channels as `MODALITY:CHANNEL`.

Files are read by their suffix (`citrus_hf.data.readers.read_recording`): EDF / BDF, WFDB records, BrainVision
recordings (.vhdr), EEGLAB sets (.set), WAV files and Empatica E4 CSVs carry their rate, `.npy` ((channels, time)) and
`.csv` / `.tsv` / `.txt` (a column per channel) need `--sampling-rate`. Each recording gets one
line: the label with its score (a classifier: the mean of its windows' probabilities; a multi-label one: every label
whose mean probability is above 0.5), the mean target (a regressor)
or the size of the mean embedding (any other checkpoint), its windows and the backend that ran, and the seconds no
window covers: in the gaps of a hop longer than a window, and at its end (the result's `unscored_seconds`); windows
that hold no signal (flat, or wholly NaN / inf made up by --nan-policy interpolate) are left out of that mean, and a
second line says how many. A classifier's next line says how long each label lasted (the pipeline's `label_seconds`:
each second that windows cover counted once, overlapping windows split halfway between their middles; a multi-label
classifier's labels while present), and a sleep stager's (labels of a registered sleep vocabulary,
`vocabulary_citrus.sleep_stages_of`) gives AASM's summary instead: TST, sleep efficiency, sleep onset latency, WASO,
REM latency and minutes per stage (`inference.time_use.sleep_summary`), from lights out to lights on: --lights-off /
--lights-on, else the file's one "Lights off" / "Lights on" EDF+ annotation, else its first sample and its end (the
time per label and --plot keep the whole recording; --plot shades the seconds outside them). `--output` writes
every window: a `.csv` row per window (start and end in seconds, the label, its score and every label's probability, and a multi-label
classifier's `present_labels`, every label above 0.5 joined by ";", a name holding ";" quoted; or the targets; or the embedding; and `no_signal`: "flat", "interpolated" or empty), or a `.jsonl` line
per recording (the pipeline's result, `label_seconds` included, with a multi-label classifier's `present_labels` and a
sleep stager's `sleep`, the summary in seconds); or a classifier's events, an event per run of windows of one
label (`inference.time_use.label_events`; a multi-label classifier's labels each while present), in a `.tsv` as BIDS's
events.tsv (onset, duration, trial_type, score) or a `.txt` as MNE's annotations (`mne.read_annotations`), of several
recordings a file each, named after it (`_events_files`). `--summary FILE.csv` writes a row per recording beside it
(`_summary_row`: the recording's label and score, every label's probability and seconds, a regressor's targets, a
sleep stager's `sleep` statistics flattened), written as `--output` is. Where an
EDF / BDF file, a WFDB record, a BrainVision recording or a CSV with a time column is among the recordings, each row
also has `start_time`,
the window's start on the clock of the file's header or of its time stamps where they count since 1970 (ISO 8601,
with +00:00 for those, and the offset a CSV's clock times write for theirs; empty for a file that records no start), and each `.jsonl` line `recording_start`;
`--start-time` gives the start of one recording whose file records none (.npy, WAV, a CSV without such stamps). It is
written beside itself and replaces the file when the run ends; a recording that cannot be read (damaged, or its
rates not as read: signals at several rates without --channels, time stamps of another rate than --sampling-rate) or
that the model refuses is left out (one file alone stops the run), and the run then ends with an error naming it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import math
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..vocabulary_citrus import CLASSIFICATION, FUSION_MODEL_TYPE, INFERENCE_BACKENDS, NAN_POLICIES
from . import UsageError, saved_values_named

OUTPUT_SUFFIXES = (".csv", ".jsonl", ".tsv", ".txt")
# --output's suffixes of a classifier's events (its runs of one label, `_EventTables`): BIDS's events.tsv, and MNE's
# annotations text (`mne.read_annotations`; a sleep stager's hypnogram, which EDFbrowser imports as ASCII annotations)
EVENTS_SUFFIXES = {".tsv": "BIDS events table", ".txt": "MNE annotations file"}
# A recording file name's BIDS datatype (`sub-01_task-motor_eeg.edf`), which its events table's name leaves out
_BIDS_DATATYPE = re.compile(r"_(eeg|ieeg|emg|meg|beh|nirs|physio)$", re.IGNORECASE)


@dataclass
class PredictArguments:
    """Settings of `citrus predict`."""

    model: str = field(
        metadata={
            "help": "fine-tuned checkpoint: folder (citrus finetune, save_pretrained), LoRA adapter folder or Hub id",
            "positional": True,
        }
    )
    recordings: list[str] = field(
        metadata={
            "help": "recording files: .edf / .bdf, a WFDB record (.hea), BrainVision (.vhdr), EEGLAB (.set), WAV, .npy "
            "(channels, time) or .csv / .tsv / .txt (a column per channel); a folder stands for every such file under "
            "it",
            "positional": True,
        }
    )
    sampling_rate: float | None = field(
        default=None,
        metadata={
            "help": "rate (Hz) of .npy and .csv / .tsv / .txt recordings (EDF, WFDB, BrainVision, EEGLAB and WAV "
            "files, and Empatica E4 CSVs, carry theirs)"
        },
    )
    modality_sampling_rate: dict[str, float] | None = field(
        default=None,
        metadata={
            "help": "for a fusion model's MODALITY=FILE recordings, each modality's rate (Hz) where its file records "
            "none, as MODALITY=HZ pairs (ecg=250 eda=32); --sampling-rate gives the others"
        },
    )
    channels: list[str] | None = field(
        default=None,
        metadata={
            "help": "channels to read, by name (EDF, WFDB, BrainVision, EEGLAB, a CSV header) or position from 0; "
            "default: all"
        },
    )
    ignore_time_stamps: bool = field(  # (readers.files.READ_AS_WRITTEN_OPTION, named in the refusal's advice)
        default=False,
        metadata={
            "help": "read a .csv / .tsv / .txt file at --sampling-rate whatever its time column says (by default time "
            "stamps of another rate, gaps, steps back or a clock change are refused, whichever --channels picks): "
            "its windows are timed at --sampling-rate (a fusion model's files: at --modality-sampling-rate too)"
        },
    )
    modality_channels: dict[str, list[str]] | None = field(
        default=None,
        metadata={
            "help": "a fusion model's modalities in each recording file that holds them all, as "
            'MODALITY=CHANNEL,CHANNEL pairs (eeg="EEG Fpz-Cz,EEG Pz-Oz" eog="EOG horizontal"; names or positions from 0)'
        },
    )
    hop_seconds: float | None = field(
        default=None,
        metadata={
            "help": "seconds between window starts, e.g. half a window to overlap them by half (default: one window); "
            "longer than a window, it leaves out the seconds between windows, and the summary line says how many"
        },
    )
    pad_last_window: bool = field(
        default=False,
        metadata={
            "help": "also score a recording's last seconds that no full window covers, in a window padded at its end "
            "(default: they are left out, and the summary line says how many)"
        },
    )
    output: str | None = field(
        default=None,
        metadata={
            "help": "write every window's prediction: a .csv row per window, or a .jsonl line per recording; or a "
            "classifier's events, a row per run of windows of one label: a .tsv as BIDS's events.tsv (onset, duration, "
            "trial_type, score), a .txt as mne.read_annotations reads it; of several recordings, one per recording in "
            "its folder, named after each with the file's name after it (DIR/events.tsv: "
            "DIR/sub-01_task-x_events.tsv) (default: one summary line "
            "per recording only); replaced only when the run reaches its end, and never "
            "one of the recordings nor a .csv inside a folder of them given here (a later run would read it as one)"
        },
    )
    summary: str | None = field(
        default=None,
        metadata={
            "help": "write a .csv row per recording, for pandas or a spreadsheet: its start_time, windows, label and "
            "score with every label's probability (p_LABEL) and seconds (seconds_LABEL, 0 where never present), or "
            "its targets; a sleep stager's AASM statistics too (TST, sleep efficiency, latencies, WASO, each stage's "
            "seconds, lights out and on used: the .jsonl line's `sleep`); the same columns for every recording, "
            "beside --output or alone, replaced only when the run reaches its end"
        },
    )
    start_time: str | None = field(
        default=None,
        metadata={
            "help": "the clock time of the recording's first sample, in ISO 8601 (2025-03-01T22:15:00, or with its UTC "
            "offset, 2025-03-01T22:15:00+01:00), for a file that records none (.npy, WAV, a CSV without a time column "
            "or with one that counts from its own zero): --output's start_time of every window counts from it. One "
            "recording a run; a file that records its own start (EDF, WFDB, BrainVision, a CSV stamped since 1970) "
            "keeps it"
        },
    )
    lights_off: str | None = field(
        default=None,
        metadata={
            "help": "a sleep stager's lights out, where its sleep statistics start: seconds from the recording's first "
            "sample (1800), a time of day on its clock (22:40) or a date and time as --start-time takes it (default: "
            "the file's one 'Lights off' annotation, else its first sample)"
        },
    )
    lights_on: str | None = field(
        default=None,
        metadata={
            "help": "a sleep stager's lights on, where its sleep statistics end, written as --lights-off (default: the "
            "file's one 'Lights on' annotation, else the recording's end)"
        },
    )
    per_device_batch_size: int | None = field(
        default=None, metadata={"help": "windows per forward pass (default: 64; fewer for many channels)"}
    )
    backend: Literal[INFERENCE_BACKENDS] = field(
        default="auto",
        metadata={
            "help": "inference path: auto (the fastest that keeps the fp32 predictions), torch, bf16, onnxruntime"
        },
    )
    nan_policy: Literal[NAN_POLICIES] | None = field(
        default=None,
        metadata={
            "help": "NaN / inf samples: refuse the recording, or fill them linearly from their finite neighbours "
            "(default: the checkpoint's feature extractor's policy, saved with it; refuse where it saved none)"
        },
    )
    plot: str | None = field(
        default=None,
        metadata={
            "help": "draw each recording's windows over time into this .png: a classifier's label and every label's "
            "probability (a hypnogram, for a sleep stager, its seconds outside lights out and on shaded), a regressor's "
            "targets"
        },
    )
    revision: str | None = field(default=None, metadata={"help": "branch, tag or commit of a Hub checkpoint"})
    show_progress: bool = field(default=True, metadata={"help": "a progress bar over each long recording"})


DESCRIPTION = (
    "Run a fine-tuned checkpoint over recording files (EDF / BDF, WFDB, BrainVision, EEGLAB, WAV, .npy, .csv / .tsv "
    "/ .txt) window by window through its "
    "transformers pipeline: one line per recording, and with --output every window's prediction (.csv or .jsonl) or "
    "a classifier's events (.tsv as BIDS's events.tsv, .txt as MNE's annotations); with --summary a .csv row per "
    "recording."
)


def build_parser():
    from .parser import CommandParser

    return CommandParser(PredictArguments, prog="citrus predict", description=DESCRIPTION)


def _check_model_type(model: str, revision: str | None) -> str | None:
    """Refuse a checkpoint (a folder or Hub repo; its config.json, which the pipeline reads next, from the same cache)
    that holds another kind of model (PatchTST, BERT): transformers' task inference failed on it with a traceback
    ("Repo id must use alphanumeric chars" for a folder, "does not seem to have a correct `pipeline_tag`" for a Hub
    repo). A LoRA adapter has no config.json (None is returned), and a CiTrus fusion model is refused by the pipeline.
    Returns the checkpoint's `model_type`."""
    from transformers.utils import CONFIG_NAME

    from .._bundled import folder_if_bundled
    from ..configuration_citrus import hub_file_shown
    from ..loading import hub_repo_id, read_json_object
    from ..modeling_citrus import _checkpoint_file
    from ..vocabulary_citrus import CITRUS_MODEL_TYPE

    # a bundled name ("citrus-small") by its folder, as the pipeline takes it: as a Hub id it was asked of the Hub
    path = _checkpoint_file(folder_if_bundled(model), CONFIG_NAME, {"revision": revision})
    if path is None:
        return None
    # a Hub repository's file as the user named it, not by its path in the Hub cache
    shown = None if hub_repo_id(model) is None else hub_file_shown(CONFIG_NAME, model, None, revision)
    model_type = read_json_object(path, "pass a folder written by save_pretrained", shown).get("model_type")
    if model_type not in (CITRUS_MODEL_TYPE, FUSION_MODEL_TYPE):
        raise UsageError(
            f"citrus predict: {model!r} holds a {model_type!r} model, not a CiTrus one (model_type 'citrus'); give a "
            "CiTrus checkpoint fine-tuned for a task (`citrus finetune`'s --output-dir, its Hub id, or a LoRA adapter)."
        )
    return model_type


def _expand_folders(paths: Sequence[str]) -> list[str]:
    """`paths` with each folder replaced by the recording files under it (recursively, in name order), as
    `citrus pretrain --dataset FOLDER` reads them, less the EDF+ files of annotations only (a Sleep-EDF hypnogram
    beside its PSG: skipped, said once) and a BIDS root's folders of no raw data (`bids.NOT_RAW`: its recordings'
    processed copies in derivatives/ and originals in sourcedata/, its code/ and stimuli/; said once); a folder
    without any is refused. The files of formats no reader here reads (FIF, GDF, ...) are named, as the commands that
    read a folder as a dataset name them."""
    from ..data.bids import is_bids_root
    from ..data.listings import one_listing
    from ..data.recording_folders import (
        raw_bids_recordings,
        recording_files,
        warn_of_unread_files,
        without_annotation_files,
    )

    expanded = []
    with one_listing():  # (each folder's warning and its recordings, a folder given twice: one walk of it)
        for path in paths:
            if not Path(path).is_dir():
                expanded.append(path)
                continue
            # (before the refusal of a folder without any: they may be why; a BIDS dataset's events label nothing here)
            warn_of_unread_files(Path(path), bids_events=False)
            files = recording_files(path)
            if is_bids_root(path):  # (its processed copies and originals would be predicted beside each recording)
                files = raw_bids_recordings(Path(path), files, reads="citrus predict ROOT")
            files = without_annotation_files(files, path)
            if not files:
                raise UsageError(f"citrus predict: the folder {path!r} holds no recording files.")
            expanded.extend(str(file) for file in files)
    return expanded


def run(argv: Sequence[str]) -> int:
    """Check the files and options, load the pipeline, then read and run the recordings one at a time."""
    args = build_parser().parse(argv)
    from ..data.readers import recording_format, records_its_rate, records_its_start, refuse_vendor_text_header
    from ..loading import check_model_reference, is_adapter_folder

    if not is_adapter_folder(args.model):  # the pipeline takes those: so does this command
        check_model_reference(args.model)
    pairs = _modality_pairs(args.recordings)  # a fusion model's MODALITY=FILE recordings: one session
    if pairs is not None:
        args.recordings = list(pairs.values())
    elif args.modality_sampling_rate:
        raise UsageError(
            "--modality-sampling-rate gives the rates of a fusion model's MODALITY=FILE recordings; give the rate of "
            "these files with --sampling-rate HZ."
        )
    sources = list(args.recordings)
    args.recordings = _expand_folders(args.recordings)
    modality_of = {path: modality for modality, path in (pairs or {}).items()}
    for path in args.recordings:
        if not Path(path).exists() and not Path(path + ".hea").is_file():
            raise UsageError(f"citrus predict: recording {path!r} does not exist.")
        if Path(path).exists() and not Path(path).is_file():  # a named pipe or a device: before the model loads
            raise UsageError(f"citrus predict: {path!r} is not a file (a named pipe or a device); save it to one.")
        # an unreadable suffix, or a file without its rate, is refused before the model loads
        kind = recording_format(path)
        if _modality_rate(args, modality_of.get(path)) is None and not records_its_rate(path):
            # (an Empatica E4 CSV states its rate)
            if kind == "CSV":  # a BIOPAC export's header states its rate: that refusal names it and the fix
                refuse_vendor_text_header(path)
            raise UsageError(
                f"citrus predict: {path!r} is a {kind} file, which does not record its sampling rate; give it with "
                + (
                    "--sampling-rate HZ."
                    if path not in modality_of
                    else f"--modality-sampling-rate {modality_of[path]}=HZ (or --sampling-rate HZ for every file)."
                )
            )
    start = None if args.start_time is None else _start_time(args.start_time, args.recordings[: 1 if pairs else None])
    # read before the model loads: a mistyped time answers at once
    lights = {
        option: (text, _lights_setting(option, text))
        for option, text in (("--lights-off", args.lights_off), ("--lights-on", args.lights_on))
        if text is not None
    }
    _check_lights_order(lights)
    from ..configuration_citrus import as_sampling_rate

    if args.sampling_rate is not None:
        as_sampling_rate(args.sampling_rate, "--sampling-rate")
    for modality, rate in (args.modality_sampling_rate or {}).items():
        as_sampling_rate(rate, f"--modality-sampling-rate {modality}=")
    if args.hop_seconds is not None and not (math.isfinite(args.hop_seconds) and args.hop_seconds > 0):
        raise UsageError(f"--hop-seconds must be a positive number of seconds, got {args.hop_seconds:g}.")
    if args.per_device_batch_size is not None and args.per_device_batch_size < 1:
        raise UsageError(
            f"--per-device-batch-size must be a positive number of windows, got {args.per_device_batch_size}."
        )
    output = None if args.output is None else Path(args.output).expanduser()
    tables: dict[str, Path] = {}  # an events file's per recording (`_events_files`): none for a .csv or .jsonl
    if output is not None:
        if output.suffix.lower() not in OUTPUT_SUFFIXES:
            raise UsageError(
                f"--output {args.output!r}: name a .csv, .jsonl, .tsv or .txt file (a row per window, a line per "
                "recording, or a classifier's events per recording: BIDS's events.tsv, MNE's annotations .txt)."
            )
        if output.is_dir():
            raise UsageError(f"--output {args.output!r} is a folder; name a file in it.")
        tables = _events_files(output, args.recordings) if output.suffix.lower() in EVENTS_SUFFIXES else {}
        for target in tables.values() or [output]:
            _check_not_read("--output", target, sources, args.recordings)
            _check_writable("--output", target)

    summary = None if args.summary is None else Path(args.summary).expanduser()
    if summary is not None:
        _check_summary_file(args.summary, summary, output, sources, args.recordings)

    plot = None if args.plot is None else Path(args.plot).expanduser()
    if plot is not None:
        if plot.suffix.lower() != ".png":
            raise UsageError(f"--plot {args.plot!r}: name a .png file.")
        _check_not_read("--plot", plot, sources, args.recordings)
        _check_writable("--plot", plot)
        # matplotlib (and the backend MPLBACKEND names) is imported at the end, after every recording is scored
        from .._figures import check_can_draw

        check_can_draw("--plot")

    # Imported after the checks: `--help` and a mistyped path answer before torch loads.
    import torch
    from transformers import pipeline

    from ..data.errors import RECORDING_REFUSALS
    from ..data.readers import read_recording
    from ..data.recording_folders import checkpoint_channels_of
    from ..inference.backends import OnnxCacheWriteError
    from ..inference.registration import register_pipelines

    register_pipelines()
    if _check_model_type(args.model, args.revision) == FUSION_MODEL_TYPE and args.backend == "onnxruntime":
        # the pipeline's refusal names its Python argument, backend='onnxruntime', which this command has not
        from ..inference.backends import FUSION_ONNX_REFUSAL_WORDS

        raise UsageError(
            FUSION_ONNX_REFUSAL_WORDS.format(
                onnxruntime="--backend onnxruntime", auto="--backend auto", bf16="bf16", torch="torch"
            )
        )
    if args.backend == "onnxruntime":
        # an unwritable cache was found only at the first window, by the backend, whose message names the Python
        # arguments `cache_dir=` / `onnx_cache_dir=`: this command has no such option, only the variable
        from ..inference.backends import onnx_cache_dir
        from ..training.arguments import check_output_dir

        try:
            folder = onnx_cache_dir()
        except OSError:  # no $HOME: the backend's message names the Python argument `cache_dir=` too
            raise UsageError(
                "No home folder to keep --backend onnxruntime's exports in ($HOME is not set): give one with "
                "$CITRUS_HF_ONNX_CACHE (or $HF_HOME, $XDG_CACHE_HOME)."
            ) from None
        try:
            check_output_dir(str(folder), "The ONNX cache")
        except ValueError as error:
            raise UsageError(f"{error} Give --backend onnxruntime a writable one with $CITRUS_HF_ONNX_CACHE.") from None
    with _no_loading_bar():
        # float32 whatever the checkpoint was saved in (transformers loads bf16 weights as bf16, which ONNX Runtime
        # and the bf16 autocast path refuse with advice for Python): the weights are the same, as `citrus export`
        # takes them
        with saved_values_named(args.model, "predict"):
            pipe = pipeline(model=args.model, revision=args.revision, backend=args.backend, dtype=torch.float32)
    if lights and _sleep_stages(pipe.model.config) is None:
        raise UsageError(
            f"{' and '.join(lights)} bound a sleep stager's sleep statistics, and {args.model!r} is no sleep stager "
            "(its labels are not all of a registered sleep vocabulary, vocabulary_citrus.sleep_stages_of): leave "
            f"{' and '.join(lights)} out."
        )
    if tables:
        _check_events_model(args.model, pipe, output)
    if summary is not None and pipe.task.endswith("feature-extraction"):
        raise UsageError(
            f"--summary {args.summary!r} lists each recording's label or targets, and {args.model!r} has no task head "
            "(its pipeline returns embeddings): write its mean embeddings with --output FILE.jsonl (a line per "
            "recording), or give a fine-tuned classifier or regressor."
        )
    from ..configuration_citrus_fusion import CiTrusFusionConfig

    # the recordings' start on the clock, in a column of their own only where a file can fill it (the other formats
    # record no start): decided before the first file is read, so that every recording's rows have the same columns
    clock = start is not None or any(records_its_start(path) for path in args.recordings)
    if isinstance(pipe.model.config, CiTrusFusionConfig):
        return _predict_fusion(pipe, args, pairs, output, plot, start, clock, lights, tables, summary)
    if pairs is not None or args.modality_channels:
        given = "MODALITY=FILE recordings" if pairs is not None else "--modality-channels"
        raise UsageError(
            f"{given} are for a fusion model (one recording per modality), and {args.model!r} is a single-modality "
            "model: give its recording files, and --channels NAME ... to pick their channels."
        )
    if plot is not None and pipe.task == "time-series-feature-extraction":
        raise UsageError(
            f"--plot draws labels or targets over time, and {args.model!r} has no task head (its pipeline returns "
            "embeddings); leave --plot out, or give a fine-tuned classifier or regressor."
        )
    hop_length = None
    # in the model's samples, as the extractor cuts its windows; checked before any file is read
    if args.hop_seconds is not None:
        from ..inference.pipelines import hop_length_from_seconds

        try:
            hop_length = hop_length_from_seconds(args.hop_seconds, pipe.feature_extractor.sampling_rate)
        except ValueError as error:
            raise UsageError(f"--hop-seconds: {error}") from None
    windows = 0
    plotted: list[tuple[str, dict[str, Any]]] = []
    lit: list[tuple[float, float] | None] = []  # each plotted recording's lights out and on (a sleep stager's)
    unread: list[str] = []
    refused: list[str] = []
    writers = _writers(output, summary, clock, tables, pipe.model.config)
    # Written as each recording finishes (a long list of files keeps one recording in memory at a time), into a file
    # beside `output` that replaces it only when every recording has had its turn: a run stopped part-way (Ctrl-C, a
    # crash) leaves an earlier run's output as it was, not a well-formed file of some recordings that looks whole.
    with _all_written(writers):
        for path in args.recordings:
            # the last recording let go before the next is read: a folder of nights held two at once
            recording = None
            try:
                # without --channels, a PSG of several rates (Sleep-EDF's) is read through the channels a stager names
                channels = args.channels or checkpoint_channels_of(pipe.feature_extractor, path)
                recording = read_recording(
                    path, channels, args.sampling_rate, check_time_stamps=not args.ignore_time_stamps
                )
            except RECORDING_REFUSALS as error:
                # one damaged file among many, or one the reader refuses as read (signals at several rates, time
                # stamps of another rate): the rest are scored (hours of work on a large folder), and the run ends
                # with an error that names what was left out
                if len(args.recordings) == 1:
                    raise
                unread.append(path)
                print(f"left out: {error}", file=sys.stderr)
                continue
            if start is not None:
                _refuse_start_time_of_a_dated_file({None: path}, {None: recording})
                recording.start = start
            duration = recording.data.shape[-1] / recording.sampling_rate
            try:
                result = _run(pipe, recording, path, args, hop_length)
                # lights out and on: a recording of a time outside them is refused (left out among many) as the
                # model's refusals are
                sleep, bounds = _sleep(path, recording, result, duration, pipe.model.config, lights)
                for writer in writers:
                    writer.add(path, recording, result, pipe.model.config, sleep)
            except OnnxCacheWriteError as error:
                # the first window exports the model, and no recording is scored without it: the run stops, in this
                # command's words (the error's name Python's `cache_dir=`)
                raise UsageError(error.advice("$CITRUS_HF_ONNX_CACHE")) from None
            except UsageError as error:
                # a recording the model refuses (its channels, a NaN) among many: left out and named at the end, as
                # a damaged one is, rather than stopping the run with the files after it never scored
                if len(args.recordings) == 1:
                    raise
                refused.append(path)
                print(f"left out: {error}", file=sys.stderr)
                continue
            line = _summary(path, result, recording.sampling_rate, duration, args.pad_last_window, pipe.model.config)
            windows += _report(line, path, result, pipe.model.config, sleep, bounds, plotted if plot else None, lit)
    return _end_of_run(len(args.recordings), unread, refused, writers, windows, plot, plotted, lit, pipe.model.config)


def _report(
    summary: str,
    path: str,
    result: dict[str, Any],
    config,
    sleep: dict | None,
    bounds: str,
    plotted: list | None,
    lit: list,
) -> int:
    """Print a recording's `summary` line and the lines that follow it (its windows without signal, its time per
    label or a sleep stager's sleep statistics, `sleep` between lights out and on as `bounds` say: `_sleep`), and
    keep its windows for --plot (`plotted`, None without it) with its lights out and on (`lit`). The number of its
    windows."""
    print(summary)
    if line := _no_signal_line(path, result):
        print(line)
    if line := _time_line(path, result, config, sleep, bounds):
        print(line)
    if plotted is not None:  # the windows only (not the samples): what the figure draws
        plotted.append((path, result))
        lit.append(None if sleep is None else (sleep["lights_off_seconds"], sleep["lights_on_seconds"]))
    return len(result["windows"])


def _writers(output: Path | None, summary: Path | None, clock: bool, tables: dict[str, Path], config) -> list[Any]:
    """The run's writers, a single model's and a fusion model's alike: --output's (a row per window, a line per
    recording, or a classifier's events when `tables` names their files, written when the run ends) and
    --summary's (a row per recording); `clock`: whether their rows carry a `start_time` column."""
    written = None if output is None else _EventTables(output, tables, config) if tables else _Written(output, clock)
    return [writer for writer in (written, summary and _SummaryTable(summary, clock)) if writer]


def _all_written(writers: Sequence[Any]) -> contextlib.ExitStack:
    """One context of every writer of the run (--output's and --summary's), each entered in turn: a run stopped
    part-way leaves each of their files as it was."""
    stack = contextlib.ExitStack()
    for writer in writers:
        stack.enter_context(writer)
    return stack


def _end_of_run(
    total: int, unread: list[str], refused: list[str], writers: Sequence[Any], windows: int, plot, plotted, lit, config
) -> int:
    """Say what the `writers` (--output's and --summary's) wrote and what was drawn of the `total` recordings (`lit`:
    each drawn one's lights out and on), and end with an error naming those left out (`unread`, `refused`); 0 when
    none was."""
    scored = total - len(unread) - len(refused)
    for written in writers if scored else []:
        print(written.wrote(windows, scored))
    if plot is not None and plotted:
        plot_windows(plotted, config, plot, lit)
        print(f"Drew the windows of {len(plotted)} recording(s) in {plot}")
    if unread or refused:
        problems = [
            f"{len(files)} of {total} recording(s) could not be {verb} and were left out ({_shown(files)}; each is "
            "named above)"
            for files, verb in ((unread, "read"), (refused, "scored"))
            if files
        ]
        where = " and ".join(written.where() for written in writers)
        if not scored:
            ending = "; ".join(f"nothing was written to {w.where()}{w.kept()}" for w in writers)
            ending = f"; {ending}." if writers else "."
        else:
            ending = f"; the other {scored} were scored" + (f" and written to {where}." if writers else ".")
        raise UsageError("; ".join(problems) + ending)
    return 0


def _refuse_start_time_of_a_dated_file(files: dict, recordings: dict) -> None:
    """Refuse --start-time for a recording whose file records its own start (`files` and their `recordings`, by
    modality: a fusion model's session, or a single model's one file); --start-time is for files that record none,
    and writing its clock times over the file's would time every window wrong.

    Raises:
        UsageError: naming the file, its start and the fix.
    """
    for key, recording in recordings.items():
        if recording.start is not None:
            raise UsageError(
                f"{files[key]} records its own start ({_clock_time(recording.start, 0.0)}), and --start-time gives "
                "another: leave --start-time out (it is for files that record none)."
            )


def _modality_pairs(recordings: Sequence[str]) -> dict[str, str] | None:
    """The recordings given as `MODALITY=FILE` pairs (a fusion model's one recording per modality), or None where
    none is one (a path that exists, `=` and all, is a file).

    Raises:
        UsageError: pairs among plain files, a modality given twice, or a folder for a modality.
    """
    pairs: dict[str, str] = {}
    for item in recordings:
        modality, equals, path = item.partition("=")
        if not equals or not modality.isidentifier() or Path(item).exists() or Path(item + ".hea").is_file():
            continue
        if modality in pairs:
            raise UsageError(f"citrus predict: {modality}= is given twice ({pairs[modality]}, {path}); give one file.")
        if Path(path).is_dir():
            raise UsageError(
                f"citrus predict: {item!r} names a folder; a fusion model takes one file per modality (MODALITY=FILE)."
            )
        pairs[modality] = path
    if pairs and len(pairs) != len(recordings):
        plain = [item for item in recordings if item.partition("=")[0] not in pairs]
        raise UsageError(
            f"citrus predict: {_shown(plain)} among MODALITY=FILE recordings: a fusion model's session is one file per "
            "modality, all as MODALITY=FILE (or files that hold every modality, with --modality-channels)."
        )
    return pairs or None


def _modality_rate(args: PredictArguments, modality: str | None) -> float | None:
    """The rate of the recording of `modality` (None: a single-modality model's, or a file of every modality) where
    its file records none: its --modality-sampling-rate, else --sampling-rate."""
    rates = args.modality_sampling_rate or {}
    return rates[modality] if modality in rates else args.sampling_rate


# What the refusal of a fusion model's CSV whose time stamps say another rate advises (`read_recording`'s
# `time_stamps_fix`, `{{rate}}` left for the reader): the rate of that modality alone, as --sampling-rate (the single
# model's advice) would read every modality's file at it.
_FUSION_TIME_STAMPS_FIX = (
    "give the rate the time stamps say (--modality-sampling-rate {modality}={{rate:g}}), or read the file at the rate "
    "given whatever its time stamps say ({option})"
)


@dataclass
class _FusionSession:
    """What the summary and --output say of a fusion model's session, as of a single model's `Recording`: its start
    on the clock (the first file's that records one, or --start-time), its channels (`MODALITY:CHANNEL`), each
    modality's rate, its duration (the longest modality's) and the annotations of its first file that holds any
    (lights out and on, for a sleep stager's statistics: `_annotated_lights`)."""

    start: datetime.datetime | None
    channel_names: list[str]
    sampling_rate: dict[str, float]
    seconds: float
    annotations: list | None = None


def _predict_fusion(
    pipe,
    args: PredictArguments,
    pairs: dict[str, str] | None,
    output,
    plot,
    start,
    clock,
    lights: dict,
    tables: dict[str, Path],
    summary: Path | None = None,
) -> int:
    """`citrus predict` with a fusion model: each session (the `MODALITY=FILE` pairs, or each file with
    --modality-channels) read per modality, converted to each encoder's units as a single model's recording is, and
    scored by the fusion pipeline; the same lines (a sleep stager's statistics between lights out and on: `lights`)
    and --output / --summary / --plot as for a single model, a classifier's events (`tables`, `_events_files`)
    included: one events file per session."""
    from ..data.errors import RECORDING_REFUSALS, ModalityChannelsError
    from ..data.readers import read_recording
    from ..data.readers.files import READ_AS_WRITTEN_OPTION
    from ..data.recording_folders import modality_channels_of
    from ..feature_extraction_citrus import spread_checked_by_caller
    from ..inference.pipelines import FUSION_CHANNEL_OPTION, RECORDING_NAME

    config = pipe.model.config
    modalities = config.modalities
    if args.channels is not None:
        raise UsageError(
            "--channels picks a single-modality model's channels; a fusion model's are given per modality with "
            "--modality-channels MODALITY=CHANNEL,..."
        )
    for names, option, every in (
        (pairs, "MODALITY=FILE recordings", True),
        (args.modality_channels, "--modality-channels", True),
        (args.modality_sampling_rate, "--modality-sampling-rate", False),
    ):
        if names and (set(names) - set(modalities) or (every and set(modalities) - set(names))):
            raise UsageError(
                f"{option} name {', '.join(sorted(names))}, and {args.model!r} takes the modalities "
                f"{', '.join(modalities)}: give {'each of them' if every else 'those'} once."
            )
    sessions = (
        [(" ".join(f"{m}={path}" for m, path in pairs.items()), pairs)]
        if pairs is not None
        else [(path, dict.fromkeys(modalities, path)) for path in args.recordings]
    )
    options: dict[str, Any] = {
        name: value
        for name, value in (
            ("hop_seconds", args.hop_seconds),
            ("nan_policy", args.nan_policy),
            ("batch_size", args.per_device_batch_size),
            ("pad_last_window", True if args.pad_last_window else None),
            ("progress", None if args.show_progress else False),
        )
        if value is not None
    }
    if pipe.task.endswith(CLASSIFICATION):  # (time-series-fusion-classification)
        options["top_k"] = None  # every label's probability for the file; the summary shows the first
    windows, plotted, lit, unread, refused = 0, [], [], [], []
    # a classifier's events: the pairs' one session's in `output` itself
    tables = {sessions[0][0]: output} if tables and pairs is not None else tables
    writers = _writers(output, summary, clock, tables, config)
    with _all_written(writers):
        for name, files in sessions:
            try:
                # a file of every modality without --modality-channels: its channels that name each modality
                channels = args.modality_channels or (modality_channels_of(name, modalities) if pairs is None else {})
                # (--ignore-time-stamps as for a single model: the refusal of a stamped CSV advises it)
                recordings = {
                    modality: read_recording(
                        path,
                        channels.get(modality),
                        _modality_rate(args, modality),
                        check_time_stamps=not args.ignore_time_stamps,
                        # the reader's advice names --sampling-rate, which would read every modality at that rate
                        time_stamps_fix=_FUSION_TIME_STAMPS_FIX.format(
                            modality=modality, option=READ_AS_WRITTEN_OPTION
                        ),
                    )
                    for modality, path in files.items()
                }
            except ModalityChannelsError as error:
                raise UsageError(str(error)) from None
            except RECORDING_REFUSALS as error:
                if len(sessions) == 1:
                    raise
                unread.append(name)
                print(f"left out: {error}", file=sys.stderr)
                continue
            if start is not None:
                _refuse_start_time_of_a_dated_file(files, recordings)
            samples = {
                modality: _in_model_units(
                    pipe.processor.feature_extractors[modality], recording, files[modality], False
                )
                for modality, recording in recordings.items()
            }
            rates = {modality: recording.sampling_rate for modality, recording in recordings.items()}
            named = RECORDING_NAME.set(name)
            try:
                with spread_checked_by_caller():  # `_in_model_units` has said it, naming the file
                    result = pipe(samples, sampling_rate=rates, **options)
            except (ValueError, TypeError) as error:
                # the pipeline's channel pick in the command's words
                message = str(error).replace(FUSION_CHANNEL_OPTION, "--modality-channels MODALITY=CHANNEL,...")
                if len(sessions) == 1:
                    raise UsageError(f"{name}: {message}") from None
                refused.append(name)
                print(f"left out: {name}: {message}", file=sys.stderr)
                continue
            finally:
                RECORDING_NAME.reset(named)
            seconds = max(recording.data.shape[-1] / recording.sampling_rate for recording in recordings.values())
            session = _FusionSession(
                start if start is not None else next((r.start for r in recordings.values() if r.start), None),
                [f"{modality}:{channel}" for modality, r in recordings.items() for channel in r.channel_names],
                rates,
                seconds,
                next((r.annotations for r in recordings.values() if getattr(r, "annotations", None)), None),
            )
            try:
                # a sleep stager's statistics between lights out and on: a session of a time outside them is refused
                # (left out among many) as the model's refusals are
                sleep, bounds = _sleep(name, session, result, seconds, config, lights)
            except UsageError as error:
                if len(sessions) == 1:
                    raise
                refused.append(name)
                print(f"left out: {error}", file=sys.stderr)
                continue
            for writer in writers:
                writer.add(name, session, result, config, sleep)
            shown_rates = ", ".join(f"{modality} {rate:g} Hz" for modality, rate in rates.items())
            line = _summary(name, result, max(rates.values()), seconds, args.pad_last_window, config, shown_rates)
            windows += _report(line, name, result, config, sleep, bounds, plotted if plot else None, lit)
    return _end_of_run(len(sessions), unread, refused, writers, windows, plot, plotted, lit, config)


# --plot's layout, in inches: a panel's height at least (and the figure's width at least), the plot area's width, a
# label name on the label axis and a legend row at 8 pt; the most label names one axis gives (more labels are named
# where the step line visits them) and the most rows of a legend column
PANEL_INCHES = 2.2
FIGURE_INCHES = 10.0
PLOT_INCHES = 8.0
NAME_INCHES = 0.16
LEGEND_ROW_INCHES = 0.19
MOST_LABEL_NAMES = 30
MOST_LEGEND_ROWS = 25


def plot_windows(
    results: list[tuple[str, dict[str, Any]]],
    config,
    path: Path,
    lights: Sequence[tuple[float, float] | None] = (),
) -> Path:
    """PNG of each recording's windows over time (hours, minutes or seconds, by the longest recording): for a
    classifier, the top label of every window as a step line (a hypnogram, for a sleep stager) above every label's
    probability, stacked (a multi-label or one-output classifier's, whose sigmoids need not sum to 1: a line each);
    for a regressor, each target. `results`: (file, pipeline result) per recording.

    Each window is drawn over its own seconds: the seconds between windows further apart than their length
    (--hop-seconds) stay empty, as no window scored them (a regressor's line stops there), and the windows that hold
    no signal (`"no_signal"`) are shaded, named "no signal" in the legend; overlapping windows are
    drawn over the seconds nearer their own middle than any other's (`inference.pipelines.counted_spans`, the seconds
    they count for in the time per label and the sleep statistics), the first from its start, the last to its end.
    `lights`: each recording's lights out and on in seconds from its first sample (a sleep stager's, as its sleep
    statistics count them; None, or left out: none), the seconds before and after them shaded (`_shade_outside_lights`).
    Each label
    has a colour of its own (`_figures.distinct_colours`), the legend beside the probabilities takes as many columns
    and the panels as much height as the labels need, and the label axis names at most `MOST_LABEL_NAMES` labels
    (beyond that, those the step line visits, spaced so that their names do not overlap).

    Drawn on a figure of its own, without pyplot: `main(["predict", ..., "--plot", ...])` run from a notebook or a
    script must leave the caller's matplotlib backend and open figures as they were (as the other plots do)."""
    import numpy as np

    from .._figures import distinct_colours, inches_wide, new_figure
    from .._files import written_then_renamed
    from ..inference.pipelines import counted_spans

    longest = max((result["windows"][-1]["end"] for _, result in results if result["windows"]), default=0.0)
    unit, scale = ("h", 3600.0) if longest > 7200 else ("min", 60.0) if longest > 120 else ("s", 1.0)
    from ..inference.backends import scores_each_output

    classifier = "label" in results[0][1]
    names = [config.id2label[index] for index in sorted(config.id2label)] if classifier else []
    # a multi-label (or one-output) classifier's sigmoids need not sum to 1: stacked under a 0-1 axis, they were cut
    # off at 1, and the top label of a window could vanish from the panel; each label then gets a line of its own
    each_on_its_own = classifier and scores_each_output(config)
    columns = -(-len(names) // MOST_LEGEND_ROWS)
    heights = (
        [
            max(PANEL_INCHES, NAME_INCHES * min(len(names), MOST_LABEL_NAMES)),
            # the legend's rows, and the room the time axis' ticks and label take below the plot area
            max(PANEL_INCHES, LEGEND_ROW_INCHES * -(-len(names) // columns) + 0.8),
        ]
        if classifier
        else [PANEL_INCHES]
    )
    figure = new_figure("--plot", figsize=(FIGURE_INCHES, sum(heights) * len(results)))
    axes = figure.subplots(
        len(heights) * len(results), 1, squeeze=False, gridspec_kw={"height_ratios": heights * len(results)}
    )
    colours = distinct_colours(len(names))
    label_names, legends = [], []  # what sits left and right of the plot areas
    for number, (file, result) in enumerate(results):
        windows = result["windows"]
        first = axes[number * len(heights), 0]
        first.set_title(f"{Path(file).name}: {len(windows)} window(s)", fontsize=10, loc="left")
        if not windows:
            continue
        # each window over the seconds it counts for in the time per label and the sleep statistics printed beside
        # the figure (`counted_spans`): overlapping windows split halfway between their middles (drawn from its own
        # start to the next one's, a 30 s window every 10 s was drawn 10 s before the middle its label describes,
        # and a hypnogram's stages disagreed with the minutes printed)
        spans = counted_spans(windows) / scale
        starts, until = spans[:, 0], spans[:, 1]
        apart = until[:-1] < starts[1:]  # seconds between window i and the next that no window scored
        panels = axes[number * len(heights) : (number + 1) * len(heights), 0]
        _shade_no_signal(panels, windows, starts, until)
        if number < len(lights) and lights[number] is not None:
            _shade_outside_lights(panels, lights[number], scale, starts[0], until[-1])
        if classifier:
            top = [names.index(window["label"]) for window in windows]
            times, levels = _over_windows(starts, until, apart, np.array(top, float)[:, None], step=True)
            first.step(times, levels[:, 0], where="post", color="0.15", lw=1.2)
            named = _label_names(sorted(set(top)), len(names))
            first.set_yticks(named, [names[index] for index in named], fontsize=8)
            first.set_ylim(len(names) - 0.5, -0.5)  # the first label on top, as hypnograms draw wake
            first.set_ylabel("label")
            label_names += first.get_yticklabels()
            probability = axes[number * len(heights) + 1, 0]
            # (each window's scores by label made once, not once for every label)
            scored = ({entry["label"]: entry["score"] for entry in window["labels"]} for window in windows)
            shares = np.array([[scores.get(name, 0.0) for name in names] for scores in scored])
            times, bands = _over_windows(starts, until, apart, shares)
            if each_on_its_own:
                for band, name, colour in zip(bands.T, names, colours):
                    probability.plot(times, band, color=colour, lw=1.2, label=name)
                probability.set_ylim(-0.02, 1.02)  # a probability of 0 or 1 stays in sight, off the frame
                probability.set_ylabel("each label's probability")
            else:
                probability.stackplot(times, bands.T, labels=names, colors=colours, alpha=0.85)
                probability.set_ylim(0, 1)
                probability.set_ylabel("probability")
            probability.set_xlabel(f"time ({unit})")
            legend = probability.legend(
                loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False, ncols=columns
            )
            legends.append(legend)
        else:
            key = "target" if "target" in windows[0] else "targets"
            values = np.array([np.atleast_1d(window[key]) for window in windows], float)
            # each window's own middle: the middle between consecutive starts is it only when the hop is the window
            middles = np.array([(window["start"] + window["end"]) / 2 for window in windows]) / scale
            # a break (NaN) between windows apart: the line does not join targets across seconds no window scored
            breaks = np.flatnonzero(apart) + 1
            middles = np.insert(middles, breaks, (until[breaks - 1] + starts[breaks]) / 2)
            values = np.insert(values, breaks, np.nan, axis=0)
            names = result.get("target_names") or [f"target {column}" for column in range(values.shape[1])]
            for column, name in enumerate(names):
                first.plot(middles, values[:, column], marker=".", lw=1, label=name)
            # one target named: the axis says which (the legend, shown for several, names each)
            first.set_ylabel(names[0] if len(names) == 1 and result.get("target_names") else "target")
            first.set_xlabel(f"time ({unit})")
            if values.shape[1] > 1 or first.patches:  # (the shaded windows without signal, named)
                first.legend(fontsize=8, frameon=False)
    # wide enough for the label names and the legends beside the plot areas, rather than squeezing the plots (and
    # 0.8 in for the axis labels and margins)
    width = PLOT_INCHES + inches_wide(figure, label_names) + inches_wide(figure, legends) + 0.8
    figure.set_size_inches(max(FIGURE_INCHES, width), figure.get_size_inches()[1])
    figure.tight_layout()
    # whole or not at all: written in place, a failed or killed write left half of the earlier plot (a symlinked
    # --plot is written through, as savefig did: the file it links to is replaced)
    with written_then_renamed(os.path.realpath(path)) as partial:
        figure.savefig(partial, dpi=110, format="png")  # (the format by name: the partial's suffix is .partial)
    return path


def _shade_outside_lights(panels, lights: tuple[float, float], scale: float, first: float, last: float) -> None:
    """Mark, in each of a recording's `panels`, its lights out and on (`lights`, seconds from its first sample; the
    figure's unit is `scale` seconds): a dashed line at each that falls after the first window's `first` or before the
    last's `last` (in the figure's unit), and the seconds outside them shaded, named "outside lights out-on" once per
    panel. The sleep statistics printed beside the figure count only the seconds between them (--lights-off /
    --lights-on, or the file's annotations): unmarked, a hypnogram's wake before lights out read as sleep latency."""
    off, on = lights[0] / scale, lights[1] / scale
    spans = [(first, off)] if off > first else []
    spans += [(on, last)] if on < last else []
    for axis in panels:
        for index, (start, end) in enumerate(spans):
            axis.axvspan(
                start, end, facecolor="0.3", alpha=0.12, lw=0, zorder=0,
                label="outside lights out-on" if index == 0 else "_nolegend_",
            )  # fmt: skip
        for at, inside in ((off, off > first), (on, on < last)):
            if inside:
                axis.axvline(at, color="0.2", ls="--", lw=1, zorder=3, label="_nolegend_")


def _shade_no_signal(panels, windows: list[dict], starts, until) -> None:
    """Shade, in each of a recording's `panels`, the seconds of its windows that hold no signal (`"no_signal"`, each
    from its `starts` to its `until`, in the figure's unit; neighbours joined), named "no signal" once per panel:
    such a window (an electrode off) is scored as confidently as any, and drawn unmarked it read as a finding."""
    spans: list[list[float]] = []
    for window, start, end in zip(windows, starts, until):
        if not window.get("no_signal"):
            continue
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    for axis in panels:
        for index, (start, end) in enumerate(spans):
            axis.axvspan(
                start, end, facecolor="0.9", edgecolor="0.65", hatch="//", lw=0, zorder=0,
                label="no signal" if index == 0 else "_nolegend_",
            )  # fmt: skip


def _over_windows(starts, until, apart, values, step: bool = False):
    """Points `(times, values)` that draw each window's `values` (one row per window) as a level from its start to
    its `until`, with a NaN row where the next window is `apart`, so that those seconds stay empty: for a stack plot,
    the level at both ends of each window; for a step line (`step`, drawn `where="post"`), at each start, and at the
    last window's end. `times`: (points,); `values`: (points, columns)."""
    import numpy as np

    gap = np.full(values.shape[1], np.nan)
    times, levels = [], []
    for index, (start, end) in enumerate(zip(starts, until)):
        times += [start] if step else [start, end]
        levels += [values[index]] * (1 if step else 2)
        if index < len(apart) and apart[index]:
            times.append(end)
            levels.append(gap)
    if step:
        times.append(until[-1])
        levels.append(values[-1])
    return np.array(times), np.array(levels)


def _label_names(visited: list[int], count: int) -> list[int]:
    """The labels (indices) that a label axis of `count` labels names: every one up to `MOST_LABEL_NAMES`, else those
    the step line visits (`visited`, sorted), each at least `count / MOST_LABEL_NAMES` positions below the last one
    named, so that their names do not overlap."""
    if count <= MOST_LABEL_NAMES:
        return list(range(count))
    spacing, named = count / MOST_LABEL_NAMES, []
    for index in visited:
        if not named or index - named[-1] >= spacing:
            named.append(index)
    return named


@contextlib.contextmanager
def _no_loading_bar():
    """transformers' "Loading weights" bar off while the checkpoint loads (a few tensors: it only adds lines); the
    recordings' own bars, which transformers' switch also governs, follow --show-progress. Every progress-bar switch
    (huggingface_hub's too, which transformers' `enable_progress_bar()` turns on) is as it was afterwards."""
    from transformers.utils import logging as transformers_logging

    from .._logs import progress_bar_switches_kept

    with progress_bar_switches_kept():
        if transformers_logging.is_progress_bar_enabled():
            transformers_logging.disable_progress_bar()
        yield


def _shown(paths: list[str]) -> str:
    """The first few of `paths`, for an error line."""
    return ", ".join(paths[:5]) + (", ..." if len(paths) > 5 else "")


def _check_not_read(option: str, path: Path, sources: Sequence[str], recordings: Sequence[str]) -> None:
    """Refuse a file `option` would write that the command reads: one of the `recordings` (opened for writing, it
    was emptied before it was read), or a recording file inside one of the folders among `sources` (a later run over
    that folder, `citrus data info` or `citrus pretrain --dataset` would read the windows as a recording)."""
    from ..data.readers import RECORDING_FORMATS
    from ..data.recording_folders import is_bids_metadata

    target = path.resolve()
    if any(Path(recording).resolve() == target for recording in recordings):
        raise UsageError(
            f"{option} {str(path)!r} is one of the recordings, which it would overwrite before reading it; write to "
            "another file."
        )
    if path.suffix.lower() not in RECORDING_FORMATS or is_bids_metadata(path):  # (a BIDS table is read as none)
        return
    for source in sources:
        folder = Path(source).resolve()
        if Path(source).is_dir() and target.is_relative_to(folder):
            raise UsageError(
                f"{option} {str(path)!r} lies in {source!r}, a folder of recordings given here: the next run over it "
                f"(and `citrus data info`, `citrus pretrain --dataset`) would read it as a recording; write it "
                "outside that folder, or as a .jsonl there."
            )


class _Written:
    """`citrus predict --output`: each scored recording's windows, written into a partial file beside the output (the
    same file system, so that `os.replace` swaps it in at once) that becomes the output when the run ends; a run that
    stops before (an error, Ctrl-C) removes it and says that the output is as it was. A context manager."""

    option = "--output"  # the option that names the file, in its messages

    def __init__(self, output: Path, clock: bool = False) -> None:
        self.output = output
        self.clock = clock  # whether each .csv row has the `start_time` column (`_window_rows`)
        # a symlinked output is written through, as `open(output, "w")` did: the file it links to is replaced
        self.target = Path(os.path.realpath(output))
        self.existed = output.exists()
        self.first: tuple[str, int] | None = None  # the first recording written, with its number of CSV columns
        self.recordings = 0

    def __enter__(self) -> _Written:
        from .._files import new_partial_file

        try:
            # its own hidden file: two runs writing the same output each fill theirs, and the last to end replaces it
            self.partial = Path(new_partial_file(self.target))
            self.handle = open(self.partial, "w", encoding="utf-8", newline="")
        except OSError as error:
            raise UsageError(
                f"{self.option} {str(self.output)!r}: a file cannot be written beside it in {str(self.target.parent)!r}, "
                f"where the windows are kept until the run ends ({error.strerror}); choose a file in a folder you can "
                "write."
            ) from None
        self.writer: csv.DictWriter | None = None
        return self

    def kept(self) -> str:
        """What a run that writes nothing leaves in the output, in words."""
        return " (it holds what it held before)" if self.existed else ""

    def where(self) -> str:
        """Where the run writes, in words."""
        return str(self.output)

    def wrote(self, windows: int, recordings: int) -> str:
        """The line that says what the run wrote: `windows` of `recordings`."""
        return f"Wrote {windows} windows of {recordings} recording(s) to {self.output}"

    def add(self, path: str, recording, result: dict[str, Any], config, sleep: dict | None = None) -> None:
        """Write one recording's windows: a .jsonl line (with a sleep stager's `sleep` summary, `_sleep`), or its .csv
        rows; a recording whose rows have other
        columns than the first recording's (an encoder's embedding, whose size grows with the channels) is refused
        before any of them is written."""
        if self.output.suffix.lower() == ".jsonl":
            from ..training.metrics import dumps_strict

            # strict JSON: a bare NaN (`json.dumps`' default) is refused by jq, JavaScript and most JSON readers
            self.handle.write(dumps_strict(_json_record(path, recording, result, config, sleep)) + "\n")
            self.recordings += 1
            return
        # written as they are made: a recording's rows all made first, dicts of Python floats, held ~25x an
        # embedding's float32 array (2 GB for a day of 8 channels every 0.5 s)
        rows = _window_rows(path, result, config, recording.start if self.clock else _NO_CLOCK)
        row = next(rows, None)
        if row is not None and self.writer is None:  # one model: its rows' columns are the first recording's ...
            self.writer = csv.DictWriter(self.handle, fieldnames=list(row))
            self.writer.writeheader()
            self.first = (path, len(recording.channel_names))
        elif row is not None and list(row) != self.writer.fieldnames:  # ... but an embedding concatenates channels
            first, channels = self.first
            sizes = [sum(name.startswith("embedding_") for name in names) for names in (row, self.writer.fieldnames)]
            raise UsageError(
                f"{path} has {len(recording.channel_names)} channel(s) and {first} had {channels}: their embeddings "
                f"have different sizes ({sizes[0]} and {sizes[1]} values), which one .csv cannot hold in the same "
                "columns; write a .jsonl (a line per recording), or run each channel count to its own .csv."
            )
        if row is not None:
            self.writer.writerow(row)
            self.writer.writerows(rows)
        self.recordings += 1

    def __exit__(self, kind, error, traceback) -> None:
        self.handle.close()
        if error is None and self.recordings:
            os.replace(self.partial, self.target)
            return
        self.partial.unlink(missing_ok=True)  # every recording left out: the run's error says nothing was written
        if error is None:
            return
        lost = f"; the {self.recordings} recording(s) scored before are not kept" if self.recordings else ""
        said = f"nothing was written to {self.output}{self.kept()}{lost}"
        if isinstance(error, UsageError):  # the command's own error line says it
            raise UsageError(f"{str(error).rstrip('.')}; {said}.") from None
        print(f"citrus predict stopped: {said}.", file=sys.stderr)  # above the interruption's or the error's line


def _check_summary_file(text: str, summary: Path, output: Path | None, sources, recordings) -> None:
    """Refuse, before the model loads, a --summary (`text`, as `summary`) that is no .csv, a folder, --output's own
    file, one of the recordings or in a folder of them, or a file that cannot be written."""
    if summary.suffix.lower() != ".csv":
        raise UsageError(f"--summary {text!r}: name a .csv file (a row per recording).")
    if summary.is_dir():
        raise UsageError(f"--summary {text!r} is a folder; name a file in it.")
    if output is not None and summary.resolve() == output.resolve():
        raise UsageError(f"--summary {text!r} is --output's file too: name another file for the row per recording.")
    _check_not_read("--summary", summary, sources, recordings)
    _check_writable("--summary", summary)


# --summary's own columns, before a model's: a regressor's target of one of these names is `target_<name>`
_SUMMARY_COLUMNS = frozenset(
    {"recording", "start_time", "duration_seconds", "windows", "no_signal_windows", "unscored_seconds"}
)


def _summary_row(
    path: str, recording, result: dict[str, Any], config, sleep: dict | None, clock: bool
) -> dict[str, Any]:
    """--summary's row of one recording: the file, its start on the clock (`start_time`, with `clock`: `_Written`'s
    rule), its duration, windows, windows without signal and unscored seconds; a classifier's whole-recording `label`
    and `score`, every label's mean probability (`p_LABEL`, as --output's .csv rows name them) and seconds
    (`seconds_LABEL`, the pipeline's `label_seconds`: every label, 0.0 where never present), and a multi-label one's
    `present_labels` (`_present_cell`); or a regressor's targets (`_target_columns`); then a sleep stager's `sleep`
    (`_sleep`, as its .jsonl line has it: nested keys joined by "_", `stage_seconds_N2`), with lights out and on on
    the clock (`lights_off_time`, `lights_on_time`) beside their seconds. Cells of no value (the label of a recording
    without a window of signal, a night without REM's REM latency) are None, which the CSV writes empty."""
    seconds = recording.seconds if isinstance(recording, _FusionSession) else None
    if seconds is None:
        seconds = recording.data.shape[-1] / recording.sampling_rate
    row: dict[str, Any] = {"recording": path}
    if clock:
        row["start_time"] = _clock_time(recording.start, 0.0)
    row.update(
        duration_seconds=seconds,
        windows=len(result["windows"]),
        no_signal_windows=result.get("no_signal_windows", 0),
        unscored_seconds=result["unscored_seconds"],
    )
    if "labels" in result:
        row.update(label=result["label"], score=result["score"])
        if _is_multi_label(config):
            row["present_labels"] = _present_cell([entry["label"] for entry in _present(result)])
        scores = {entry["label"]: entry["score"] for entry in result["labels"]}
        names = [config.id2label[index] for index in sorted(config.id2label)]
        row.update({f"p_{name}": scores.get(name) for name in names})
        row.update({f"seconds_{name}": value for name, value in result["label_seconds"].items()})
    elif "target" in result or "targets" in result:
        columns = _target_columns(result, _SUMMARY_COLUMNS, _target_count(result, config))
        values = [result["target"]] if "target" in result else result["targets"]
        # (no window of signal: no mean, the targets' cells empty)
        row.update(zip(columns, [None] * len(columns) if values is None else values, strict=True))
    for key, value in (sleep or {}).items():
        if isinstance(value, dict):
            row.update({f"{key}_{stage}": cell for stage, cell in value.items()})
            continue
        row[key] = value
        if clock and key in ("lights_off_seconds", "lights_on_seconds"):
            row[key.replace("_seconds", "_time")] = _clock_time(recording.start, value)
    return row


class _SummaryTable(_Written):
    """`citrus predict --summary FILE.csv`: a row per scored recording (`_summary_row`), written as each finishes into
    a partial file beside FILE that replaces it when the run ends, as `_Written` writes --output. Its columns are the
    first row's: the model's (its labels, targets, a stager's statistics) and the run's clock column, the same for
    every recording."""

    option = "--summary"

    def wrote(self, windows: int, recordings: int) -> str:
        return f"Wrote the summary of {recordings} recording(s) (a row each) to {self.output}"

    def add(self, path: str, recording, result: dict[str, Any], config, sleep: dict | None = None) -> None:
        row = _summary_row(path, recording, result, config, sleep, self.clock)
        if self.writer is None:
            self.writer = csv.DictWriter(self.handle, fieldnames=list(row))
            self.writer.writeheader()
        self.writer.writerow(row)
        self.recordings += 1


def _events_files(output: Path, recordings: Sequence[str]) -> dict[str, Path]:
    """The events file `--output OUTPUT.tsv` (or `.txt`) writes for each of `recordings`: OUTPUT itself for one
    recording; for several, one per recording in OUTPUT's folder, named after it (its file name less its suffix and
    its BIDS datatype, `_events_stem`) with OUTPUT's name after an underscore, as BIDS names a recording's events
    table beside it: `--output DIR/events.tsv` writes `DIR/sub-01_task-motor_run-1_events.tsv` for
    `sub-01_task-motor_run-1_eeg.edf` (a BIDS events table holds one recording's events: a column naming the
    recording is no BIDS column, and a BIDS reader, the package's own too, reads every row as the events of the
    recording the table is named after).

    Raises:
        UsageError: two recordings whose files would have one name (the same file name in two folders).
    """
    if len(recordings) == 1:
        return {recordings[0]: output}
    tables: dict[str, Path] = {}
    named: dict[Path, str] = {}
    for path in recordings:
        table = output.with_name(f"{_events_stem(path)}_{output.name}")
        if table in named:
            raise UsageError(
                f"--output {str(output)!r} writes an events file per recording named after it, and {named[table]} "
                f"and {path} would both write {str(table)!r}; run them apart, each with its own --output."
            )
        tables[path], named[table] = table, path
    return tables


def _events_stem(path: str) -> str:
    """A recording's name as its events file's name begins: its file name less its suffix and a BIDS datatype
    (`sub-01_task-motor_eeg.edf` -> `sub-01_task-motor`; `night.edf` -> `night`)."""
    return _BIDS_DATATYPE.sub("", Path(path).stem)


def _check_events_model(model: str, pipe, output: Path) -> None:
    """Refuse, before any recording is scored, events (`--output X.tsv` or `.txt`: `output`) of a model that gives no
    labels (a regressor, an encoder) or a label that the file cannot hold.

    Raises:
        UsageError: naming the model or the label, and the fix.
    """
    kind = EVENTS_SUFFIXES[output.suffix.lower()]
    if pipe.task not in ("time-series-classification", "time-series-fusion-classification"):
        regressor = pipe.task in ("time-series-regression", "time-series-fusion-regression")
        what = "a regressor (it gives targets)" if regressor else "no classifier"
        raise UsageError(
            f"--output {output.name!r}, a {kind}, lists a classifier's labels as events (onset, duration, label), and "
            f"{model!r} is {what}: write its windows to a .csv (a row per window) or a .jsonl (a line per recording)."
        )
    # BIDS reads "n/a" and an empty cell as no value, MNE's text splits its rows at commas and reads from a "#" on as a
    # comment ("stage #2" read back as "stage"); a line break or tab ends a row or cell in both
    refused = {"BIDS events table": "\t\r\n", "MNE annotations file": ",#\r\n"}[kind]
    config = pipe.model.config
    for name in (str(config.id2label[index]) for index in sorted(config.id2label)):
        if name.strip().casefold() in {"", "n/a"} or any(mark in name for mark in refused):
            raise UsageError(
                f"The label {name!r} of {model!r} cannot be written in a {kind} (BIDS reads 'n/a' and an empty cell "
                "as no value, MNE's text splits rows at commas and reads from a '#' on as a comment, and a tab or "
                "line break ends a cell): rename it in the checkpoint's config.json (id2label), or write a .csv."
            )


def _seconds_cell(value: float, decimals: int = 9) -> str:
    """`value` as an events file's number: `1.5`, `30`, `0.00002` (to `decimals`, never in exponent form)."""
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


class _EventTables:
    """`citrus predict --output X.tsv` (or `.txt`): each scored classifier recording's events
    (`time_use.label_events`: one per run of windows of one label, its onset and duration in seconds from the
    recording's first sample, its label and its mean probability over them), written to `tables` (`_events_files`)
    when the run ends, each whole or not at all (a run stopped part-way leaves every file as it was); the events wait
    in memory until then (a night's 960 windows are a few dozen events). A context manager, as `_Written` is.

    A `.tsv` is BIDS's ``events.tsv``: tab-separated `onset`, `duration`, `trial_type` and `score`, in onset order,
    its onsets from the recording's first sample whatever its clock (BIDS's rule). A `.txt` is MNE's annotations
    text (`mne.read_annotations`): `onset, duration, description` apart by commas under its `#` header, without
    `orig_time`, so that `raw.set_annotations` takes the onsets from the recording's first sample."""

    COLUMNS = ("onset", "duration", "trial_type", "score")
    MNE_HEADER = "# MNE-Annotations\n# onset, duration, description\n"

    def __init__(self, output: Path, tables: dict[str, Path], config) -> None:
        from ..inference.backends import scores_each_output

        self.output = output
        self.tables = tables
        self.each_output = scores_each_output(config)  # a multi-label classifier's labels each while present
        self.existed = any(table.exists() for table in tables.values())
        self.events: dict[str, list[dict[str, Any]]] = {}

    def __enter__(self) -> _EventTables:
        return self

    def kept(self) -> str:
        """What a run that writes nothing leaves in the files, in words."""
        return " (it holds what it held before)" if self.existed and len(self.tables) == 1 else ""

    def where(self) -> str:
        """Where the run writes, in words."""
        if len(self.tables) == 1:
            return str(self.output)
        return f"the events files (one per recording, *_{self.output.name}) in {str(self.output.parent)!r}"

    def wrote(self, windows: int, recordings: int) -> str:
        """The line that says what the run wrote: the events of `windows` of `recordings`."""
        events = sum(len(rows) for rows in self.events.values())
        return f"Wrote {events} events ({windows} windows) of {recordings} recording(s) to {self.where()}"

    def add(self, path: str, recording, result: dict[str, Any], config, sleep: dict | None = None) -> None:
        """Keep one recording's events until the run ends (`recording`, `config` and `sleep`: as `_Written.add`
        takes them; an events file holds none of them)."""
        from ..inference.time_use import label_events

        self.events[path] = label_events(result["windows"], self.each_output)

    def _write(self, handle, events: list[dict[str, Any]]) -> None:
        """`events` into `handle`, as the output's suffix says (the class docstring)."""
        if self.output.suffix.lower() == ".txt":
            handle.write(self.MNE_HEADER)
            for event in events:
                onset, duration = _seconds_cell(event["onset"]), _seconds_cell(event["duration"])
                handle.write(f"{onset},{duration},{event['trial_type']}\n")
            return
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(self.COLUMNS)
        for event in events:
            cells = (_seconds_cell(event[key]) for key in ("onset", "duration"))
            writer.writerow((*cells, event["trial_type"], _seconds_cell(event["score"], 6)))

    def __exit__(self, kind, error, traceback) -> None:
        from .._files import written_then_renamed

        if error is None:
            for path, events in self.events.items():
                # a symlinked file is written through, as `_Written` writes its output
                with written_then_renamed(os.path.realpath(self.tables[path])) as partial:
                    with open(partial, "w", encoding="utf-8", newline="") as handle:
                        self._write(handle, events)
            return
        said = f"nothing was written to {self.where()}{self.kept()}"
        if isinstance(error, UsageError):  # the command's own error line says it
            raise UsageError(f"{str(error).rstrip('.')}; {said}.") from None
        print(f"citrus predict stopped: {said}.", file=sys.stderr)


def _check_writable(option: str, path: Path) -> None:
    """Refuse, before any recording is scored, a file `option` names that cannot be written (its folder missing or a
    file, a read-only file system, no permission): found only at the end, it would waste the whole run."""
    if path.parent.exists() and not path.parent.is_dir():
        raise UsageError(f"{option} {str(path)!r}: {str(path.parent)!r} is a file, not a folder.")
    if not path.parent.is_dir():
        raise UsageError(f"{option} {str(path)!r}: its folder {str(path.parent)!r} does not exist.")
    existed = path.exists()
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as error:
        raise UsageError(
            f"{option} {str(path)!r} cannot be written ({error.strerror}); choose a file in a folder you can write."
        ) from None
    if not existed:
        path.unlink()


def _by_name(extractor, recording, path: str, chosen: bool) -> bool:
    """Whether the checkpoint picks `recording`'s channels by name (`picks_channels_by_name`, as the pipelines decide
    for a file's path), in the command's words: a mismatch is a usage error, and the warning goes to stderr."""
    from ..data.recording_folders import picks_channels_by_name

    try:
        return picks_channels_by_name(
            extractor,
            recording,
            path,
            chosen=chosen,
            choose="--channels NAME ... (names or positions from 0)",
            warn=lambda message: print(f"warning: {message}", file=sys.stderr),
        )
    except ValueError as error:
        raise UsageError(str(error)) from None


def _check_channels(extractor, recording, path: str, by_name: bool) -> None:
    """Refuse, in the command's words, a recording whose channel count the checkpoint cannot take: the extractor's
    own test (a head that concatenates channels, `channel_independent` False, and no channel names to pick them by,
    `by_name`), whose error speaks of Python arguments; an encoder takes any count."""
    from ..data.recording_folders import shown_channels

    count, expected = len(recording.channel_names), extractor.num_channels
    if not extractor.channel_independent and not by_name and count != expected:
        shown = shown_channels(recording.channel_names)
        if count < expected:  # no choice of channels can make up the missing ones
            raise UsageError(
                f"{path} has {count} channel(s) ({shown}) and the model takes {expected}, those it was fine-tuned on: "
                "it cannot score a recording without all of them; predict with a model fine-tuned on these channels "
                "(or a pre-trained encoder, which takes any count)."
            )
        raise UsageError(
            f"{path} has {count} channel(s) ({shown}) and the model takes {expected}, those it was fine-tuned on, in "
            f"that order: pick them with --channels NAME ... (names or positions from 0).{_decimal_comma_hint(recording, path, expected)}"
        )


def _decimal_comma_hint(recording, path: str, expected: int) -> str:
    """What to add to the advice to pick channels for a CSV without a header read as twice the `expected` channels
    of whole numbers, the second of each pair unsigned: a file of `expected` channels written with a decimal comma
    and apart by commas ("1,25,4,65") reads so, and picking channels from it would score the whole parts alone. ""
    for any other recording."""
    import numpy as np

    from ..data.readers import recording_format

    data, count = recording.data, len(recording.channel_names)
    if (
        recording_format(Path(path)) != "CSV"
        or count != 2 * expected
        or list(recording.channel_names) != [str(position) for position in range(count)]  # no header
        or not np.all(np.isfinite(data))
        or not np.all(data == np.round(data))
        or not np.all(data[1::2] >= 0)
    ):
        return ""
    return (
        " Its every value is a whole number: if its numbers are written with a decimal comma (1,25 read as the "
        "channels 1 and 25), the comma cannot also separate its columns; write it with semicolons between them, or "
        "with a decimal point."
    )


def _run(pipe, recording, path: str, args: PredictArguments, hop_length: int | None) -> dict[str, Any]:
    """The pipeline's result for one recording (windows every `hop_length` model-rate samples, default one window);
    an error about the recording names its file."""
    by_name = _by_name(pipe.feature_extractor, recording, path, chosen=args.channels is not None)
    _check_channels(pipe.feature_extractor, recording, path, by_name)
    if args.channels is None and not by_name:  # (channels picked, by the user or by the model's names, are chosen)
        from ..data.recording_folders import warn_of_trigger_channels

        warn_of_trigger_channels(
            path, recording.channel_names, "pick the other channels with --channels (names or positions)."
        )
    samples = _in_model_units(pipe.feature_extractor, recording, path, by_name)
    options: dict[str, Any] = {"sampling_rate": recording.sampling_rate}
    if args.nan_policy is not None:  # else the saved extractor's, as `pipeline(model=folder)` applies it
        options["nan_policy"] = args.nan_policy
    if not args.show_progress:
        options["progress"] = False
    if args.per_device_batch_size is not None:
        options["batch_size"] = args.per_device_batch_size
    if hop_length is not None:
        options["hop_length"] = hop_length
    if args.pad_last_window:  # else the pipeline's default: a recording shorter than a window is still scored whole
        options["pad_last_window"] = True
    if by_name:  # the checkpoint picks its channels by name; a file that names none (.npy, WAV) is read in its order
        options["input_channel_names"] = recording.channel_names
    if pipe.task == "time-series-classification":
        options["top_k"] = None  # every label's probability for the file; the summary shows the first
    from ..data.recording_folders import shown_channels
    from ..feature_extraction_citrus import spread_checked_by_caller
    from ..inference.pipelines import _FIRST_RECORDING, RECORDING_NAME

    named = RECORDING_NAME.set(path)  # the pipeline's warnings about this recording name its file
    try:
        with spread_checked_by_caller():  # `_in_model_units` has said it, naming the file
            return pipe(samples, **options)
    except (ValueError, TypeError) as error:
        channels = shown_channels(recording.channel_names)
        # the pipeline numbers the recordings of its call (its `_FIRST_RECORDING`), which holds one here: the file
        # names it instead
        message = _FIRST_RECORDING.sub(lambda match: f"{'T' if match.group(1) == 'R' else 't'}he recording", str(error))
        # the extractor's fix in the command's words: its channels are chosen with --channels here
        message = message.replace("(e.g. with `input_channel_names`)", "(--channels NAME ..., in the model's order)")
        raise UsageError(f"{path} ({len(recording.channel_names)} channel(s): {channels}): {message}") from None
    finally:
        RECORDING_NAME.reset(named)


def _in_model_units(extractor, recording, path: str, by_name: bool):
    """`recording`'s samples `(channels, time)` in the units the checkpoint was trained on: converted where the file
    declares its channels' units and the checkpoint records its training data's (`unit_factors`: mV for µV, said in a
    note naming the file), refused where one cannot be. A file whose spread is orders of magnitude off a "fixed"
    checkpoint's statistics (`spread_off_by`) is named in a warning with the command's fix: each such file, since any
    file of a folder may be the one exported in another unit (the extractor's own warning, once a process, named
    none and advised calling it again); so is one whose level lies far off those statistics (`level_off_by`: an
    offset the training data did not have).

    Raises:
        UsageError: a channel in a unit that cannot be converted to the checkpoint's, naming the file, the channel,
            both units and the fix.
    """
    import numpy as np

    from ..feature_extraction_citrus import level_mismatch_notice, unit_mismatch_notice
    from ..vocabulary_citrus import UnitError

    samples = recording.data
    # (an extractor saved by an older citrus_hf, loaded as remote code, has neither check)
    if recording.units and callable(getattr(extractor, "unit_factors", None)):
        try:
            factors, note = extractor.unit_factors(recording.units, recording.channel_names, source=path)
        except UnitError as error:
            raise UsageError(
                str(error).replace(
                    "pick the channels it was trained on", "pick the channels it was trained on (--channels NAME ...)"
                )
            ) from None
        if factors is not None:
            # in the reader's own samples: a converted copy beside them held the recording twice while it was scored
            into = samples if samples.dtype == factors.dtype and samples.flags.writeable else None
            samples = np.multiply(samples, factors[:, None], out=into)
            print(f"note: {note}", file=sys.stderr)
    spread_off_by = getattr(extractor, "spread_off_by", None)
    names = recording.channel_names if by_name else None
    power = spread_off_by(samples, names) if callable(spread_off_by) else None
    if power is not None:
        units = sorted({unit for unit in recording.units if unit})
        declared = (
            f" {path} declares {', '.join(units)}: a model fine-tuned by this version of `citrus finetune` on files "
            "that declare their unit records theirs and converts such a file itself."
            if units and not getattr(extractor, "channel_units", None)
            else ""
        )
        fix = (
            "export the recording in the unit the model was trained on (its samples multiplied by {factor}) and "
            f"score it again.{declared}"
        )
        print(f"warning: {unit_mismatch_notice(power, f'The spread of {path}', fix)}", file=sys.stderr)
    level_off_by = getattr(extractor, "level_off_by", None)  # (an older extractor loaded as remote code has none)
    level = None if power is not None or not callable(level_off_by) else level_off_by(samples, names)
    if level is not None:
        print(f"warning: {level_mismatch_notice(level, f'The level of {path}')}", file=sys.stderr)
    return samples


def _summary(
    path: str,
    result: dict[str, Any],
    rate: float,
    duration: float,
    padded: bool,
    config: Any = None,
    shown_rates: str | None = None,
) -> str:
    """One line per recording: its answer, its windows, the seconds between them and at its end that no window
    covers (`duration`: the recording's, in seconds; `padded`: --pad-last-window was given) and the backend. A
    multi-label classifier's answer (`config.problem_type`) is every label whose mean probability is above 0.5.
    `shown_rates`: the rates named (a fusion model's, one per modality), instead of `rate`."""
    windows = result["windows"]
    covered = f"{len(windows)} window(s) of {windows[0]['end'] - windows[0]['start']:g} s" if windows else "no window"
    # What no window scores, the user must hear of: a hop longer than the window leaves the seconds between windows
    # out, as asked, but maybe not knowingly; and whole windows only, by default, leave out a tail shorter than a
    # window (a 9.9 s recording scored in one 5 s window has half of itself unseen). Half a sample of slack absorbs
    # rounding.
    gaps = sum(max(0.0, later["start"] - earlier["end"]) for earlier, later in zip(windows, windows[1:]))
    tail = ""
    if gaps > 0.5 / rate:
        tail += f"; {gaps:.3g} s (of {duration:.3g}) fall in the gaps between windows (a hop longer than the window)"
    if result["unscored_seconds"] > 0.5 / rate:
        tail += f"; its last {result['unscored_seconds']:.3g} s are in no window"
        tail += "" if padded else " (--pad-last-window scores them)"
    if windows and result.get("no_signal_windows") == len(windows):  # (`_no_signal_line` says which windows)
        answer = "no label (no window holds signal)" if "label" in result else "no answer (no window holds signal)"
    elif "label" in result and _is_multi_label(config):
        # any number of labels apply, each where its sigmoid is above 0.5 (the metrics' and the ONNX metadata's
        # threshold): the top label alone left the others unsaid, and named one where none applies
        present = _present(result)
        answer = (
            ", ".join(f"{entry['label']} {entry['score']:.3f}" for entry in present)
            + f" (the labels above 0.5 of {len(result['labels'])})"
            if present
            else f"no label above 0.5 (the highest: {result['label']} {result['score']:.3f})"
        )
    elif "label" in result:
        answer = f"{result['label']} (score {result['score']:.3f})"
    elif result.get("target_names"):
        values = [result["target"]] if "target" in result else result["targets"]
        answer = ", ".join(f"{name} {value:.4g}" for name, value in zip(result["target_names"], values))
    elif "target" in result:
        answer = f"target {result['target']:.4g}"
    elif "targets" in result:
        answer = "targets " + ", ".join(f"{value:.4g}" for value in result["targets"])
    else:
        answer = f"embedding of {len(result['embedding'])} values"
    return f"{path}: {answer}; {covered} at {shown_rates or f'{rate:g} Hz'}, backend {result['backend']}{tail}"


def _no_signal_line(path: str, result: dict[str, Any]) -> str | None:
    """A line for a recording with windows that hold no signal (the pipeline's `"no_signal"`: flat, constant after
    alignment, or wholly NaN / inf filled by --nan-policy interpolate), which its label, target or embedding leaves
    out; None when every window holds signal. Such windows got the most confident scores of all, and flipped labels."""
    from ..inference.pipelines import NO_SIGNAL_REASONS, no_signal_reason_of

    windows = result["windows"]
    reasons = [window["no_signal"] for window in windows if window.get("no_signal")]
    if not reasons:
        return None
    # each mark as the pipeline gave it ("flat", a fusion window's "flat (eeg)"), in the registry's order of reasons;
    # a reason the registry lacks (a checkpoint's pipeline code from another version) last, said as it was given
    order = {reason: place for place, reason in enumerate(NO_SIGNAL_REASONS)}
    marks = sorted(dict.fromkeys(reasons), key=lambda mark: order.get(no_signal_reason_of(mark), len(order)))
    counts = "; ".join(
        f"{reasons.count(mark)} {mark}"
        + (f": {meaning}" if (meaning := NO_SIGNAL_REASONS.get(no_signal_reason_of(mark))) else "")
        for mark in marks
    )
    answer = "label" if "label" in result else "embedding" if "embedding" in result else "target"
    left_out = f"so it has no {answer}" if len(reasons) == len(windows) else f"left out of its {answer}"
    return (
        f"{path}: {len(reasons)} of {len(windows)} window(s) hold no signal ({counts}), {left_out} (--output marks "
        "each in `no_signal`)."
    )


def _sleep_stages(config) -> dict[str, str] | None:
    """A single-label sleep stager's labels with their AASM stages (`vocabulary_citrus.sleep_stages_of`); None for
    any other model (a multi-label classifier's labels are no stages of one night)."""
    from ..inference.backends import scores_each_output
    from ..vocabulary_citrus import sleep_stages_of

    if config is None or not getattr(config, "id2label", None) or scores_each_output(config):
        return None
    return sleep_stages_of(config.id2label[index] for index in sorted(config.id2label))


# What --lights-off / --lights-on give, read before the model loads: seconds from the recording's first sample, a
# date and time, or a time of day on the recording's clock
_LightsSetting = float | datetime.datetime | datetime.time
# An EDF+ file's annotations that mark lights out and on (compared in any case, spaces collapsed), as PSG systems'
# exports write them ("Lights Off", "LIGHTS OUT", "Lights on"); Sleep-EDF's files hold none
# A time of day as --lights-off takes it: hours and minutes, seconds and their fraction optional, and a UTC offset
# ("Z", "+01:00", "-0530") where the recording's clock has one that is not the one meant (a clock counted since 1970 is
# UTC's); without one, the time is on the recording's own clock
_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?\s*(Z|([+-])(\d{2}):?(\d{2})?)?", re.I)
LIGHTS_ANNOTATIONS = {"lights off": "--lights-off", "lights out": "--lights-off", "lights on": "--lights-on"}


def _lights_setting(option: str, text: str) -> _LightsSetting:
    """`text`, given to `option` (--lights-off or --lights-on): seconds from the recording's first sample (a float), a
    date and time (as --start-time takes it) or a time of day (`datetime.time`, on the recording's clock, or with its
    UTC offset as its `tzinfo`).

    Raises:
        UsageError: negative or infinite seconds, or text that is none of these.
    """
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not (math.isfinite(seconds) and seconds >= 0):
            raise UsageError(f"{option} {text!r}: give seconds from the recording's first sample (0 or more).")
        return seconds
    moment = _clock_moment(text)
    if moment is not None:
        return moment
    # hh:mm[:ss[.fff]] read here, the same on every Python (3.11's time.fromisoformat reads more than 3.10's)
    match = _TIME_OF_DAY.fullmatch(text)
    try:
        time_of_day = None if match is None else datetime.time(*(int(part or 0) for part in match.groups()[:3]))
        sign, hours, minutes = (None, None, None) if match is None else match.group(6, 7, 8)
        offset = datetime.timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
        zone = (
            None if match is None or match.group(5) is None else datetime.timezone(-offset if sign == "-" else offset)
        )
    except ValueError:  # 25:00, 22:61, +25:00
        time_of_day = None
    if time_of_day is None:
        raise UsageError(
            f"{option} {text!r} is neither seconds from the recording's first sample nor a clock time: give e.g. "
            "1800, 22:40 (a time of day on the recording's clock; 22:40+01:00 with its UTC offset) or "
            "2025-03-01T22:40:00."
        )
    fraction = match.group(4)
    microseconds = round(float(f"0.{fraction}") * 1e6) if fraction else 0
    return time_of_day.replace(microsecond=microseconds, tzinfo=zone)


def _check_lights_order(lights: dict[str, tuple[str, _LightsSetting]]) -> None:
    """Refuse a --lights-off at or after --lights-on where both are of one kind (both seconds, or both dates and
    times of the same kind), before the model loads; the rest is checked against each recording (`_lights`)."""
    if len(lights) < 2:
        return
    (off_text, off), (on_text, on) = lights["--lights-off"], lights["--lights-on"]
    comparable = type(off) is type(on) and not isinstance(off, datetime.time)
    if comparable and isinstance(off, datetime.datetime):
        comparable = (off.tzinfo is None) == (on.tzinfo is None)
    if comparable and off >= on:
        raise UsageError(
            f"--lights-off {off_text!r} is not before --lights-on {on_text!r}: lights go out before they go on again."
        )


def _annotated_lights(path: str, recording, duration: float) -> dict[str, float]:
    """Lights out and on (seconds from the first sample, by option name) as the recording's EDF+ annotations mark them
    (`LIGHTS_ANNOTATIONS`): one of a kind within the recording, lights out first; several of a kind, or marks out of
    order, are none, and a line on stderr says so."""
    marks: dict[str, list[float]] = {"--lights-off": [], "--lights-on": []}
    for annotation in getattr(recording, "annotations", None) or []:
        option = LIGHTS_ANNOTATIONS.get(" ".join(str(annotation.description).casefold().split()))
        if option is not None:
            marks[option].append(float(annotation.onset))
    found = {}
    for option, onsets in marks.items():
        inside = [onset for onset in onsets if 0 <= onset <= duration]
        if len(onsets) == 1 and inside:
            found[option] = inside[0]
        elif onsets:
            where = ", ".join(f"{onset:g} s" for onset in onsets)
            print(
                f"{path}: its annotations mark {option[2:].replace('-', ' ')} {len(onsets)} time(s) ({where}, of "
                f"{duration:g} s recorded), which is no one time: none of them is used; give {option}.",
                file=sys.stderr,
            )
    if len(found) == 2 and found["--lights-off"] >= found["--lights-on"]:
        print(
            f"{path}: its annotations mark lights on ({found['--lights-on']:g} s) before lights off "
            f"({found['--lights-off']:g} s): neither is used; give --lights-off and --lights-on.",
            file=sys.stderr,
        )
        return {}
    return found


def _lights_seconds(path: str, recording, duration: float, option: str, text: str, setting: _LightsSetting) -> float:
    """`setting` (`_lights_setting`, given as `text` to `option`) as seconds from the recording's first sample.

    Raises:
        UsageError: a clock time for a recording that records no start, a date and time (or a time of day) with a UTC
            offset for a start without one (or a date and time the other way round), a time of day without an offset
            for a start in UTC (`_refuse_utc_time_of_day`), or a time outside the recording.
    """
    start = recording.start
    if isinstance(setting, float):
        seconds = setting
    elif start is None:
        raise UsageError(
            f"{option} {text!r} is a clock time, and {path} records no start: give seconds from its first sample, "
            "or its start with --start-time."
        )
    else:
        if isinstance(setting, datetime.time) and (setting.tzinfo is None or start.tzinfo is not None):
            # its first time on the clock from the recording's start on, in the offset it is given in (else the
            # start's own)
            if setting.tzinfo is None:
                _refuse_utc_time_of_day(path, start, option, text)
            zone = setting.tzinfo or start.tzinfo
            on_clock = start if zone is None else start.astimezone(zone)
            moment = datetime.datetime.combine(on_clock.date(), setting.replace(tzinfo=None), tzinfo=zone)
            moment += datetime.timedelta(days=1) if moment < on_clock else datetime.timedelta(0)
        elif isinstance(setting, datetime.time) or (setting.tzinfo is None) != (start.tzinfo is None):
            raise UsageError(
                f"{option} {text!r} and the start of {path} ({start.isoformat()}) are not both with a UTC offset: "
                "give the time as its start is written."
            )
        else:
            moment = setting
        seconds = (moment - start).total_seconds()
    if not 0 <= seconds <= duration:
        span = f"0 to {duration:g} s" + (
            "" if start is None else f", {_clock_time(start, 0.0)} to {_clock_time(start, duration)}"
        )
        raise UsageError(f"{option} {text!r} falls outside {path} ({span}): give a time within the recording.")
    return seconds


def _refuse_utc_time_of_day(path: str, start: datetime.datetime, option: str, text: str) -> None:
    """Refuse a time of day without a UTC offset, `text` given to `option`, for a recording whose `start` is in UTC (a
    CSV clock counted since 1970, an Empatica export's start, or a --start-time in UTC): its clock is no wall clock,
    and 22:40 read as UTC's was an hour or more off the local 22:40 meant, without a word.

    Raises:
        UsageError: naming the start, and the time with an offset or seconds as the fixes.
    """
    from ..data.readers._common import is_utc_clock

    if is_utc_clock(start):  # (a clock that writes +00:00 is a local one at offset zero: read on it, as at +01:00)
        raise UsageError(
            f"{option} {text!r} is a time of day, and {path} starts at {start.isoformat()}, in UTC (a clock counted "
            f"since 1970, or stamped or started with Z), not on a local clock: give the time with its UTC offset "
            f"({text}+01:00 where local time "
            f"was an hour ahead of UTC, {text}Z for UTC itself), a date and time with its offset, or seconds from "
            "its first sample."
        )


def _lights(
    path: str, recording, duration: float, lights: dict[str, tuple[str, _LightsSetting]]
) -> tuple[float | None, float | None, str]:
    """Lights out and on of a sleep stager's recording, in seconds from its first sample (None: its first sample, its
    end), from --lights-off / --lights-on (`lights`), else from its annotations (`_annotated_lights`), and the words
    that say so in the sleep line.

    Raises:
        UsageError: a time outside the recording (`_lights_seconds`), or lights on not after lights out.
    """
    annotated = _annotated_lights(path, recording, duration) if len(lights) < 2 else {}
    bounds: dict[str, float] = {}
    said = []
    for option, what, default in (("--lights-off", "out", "its first sample"), ("--lights-on", "on", "its end")):
        if option in lights:
            bounds[option] = _lights_seconds(path, recording, duration, option, *lights[option])
            source = option
        elif option in annotated:
            bounds[option] = annotated[option]
            source = f"its '{'Lights off' if what == 'out' else 'Lights on'}' annotation"
        else:
            said.append(f"{default} as lights {what}")
            continue
        clock = _clock_time(
            recording.start, bounds[option]
        )  # (its UTC offset after the milliseconds, where it has one)
        when = clock[11:19] + clock[23:] or f"{bounds[option] / 60:.1f} min"
        said.append(f"lights {what} at {when} ({source})")
    off, on = bounds.get("--lights-off", 0.0), bounds.get("--lights-on", duration)
    if off >= on:
        raise UsageError(
            f"{path}: lights on ({on:g} s) is not after lights out ({off:g} s); give --lights-off before --lights-on."
        )
    if not bounds:
        said = ["its first and last sample as lights out and on"]
    return bounds.get("--lights-off"), bounds.get("--lights-on"), "; ".join(said)


def _sleep(
    path: str, recording, result: dict[str, Any], duration: float, config, lights: dict
) -> tuple[dict[str, Any] | None, str]:
    """A sleep stager's AASM summary of the recording (`time_use.sleep_summary`), `duration` seconds long, between
    lights out and on (`_lights`), and the words that say where those are; None and "" for any other model's
    result."""
    stages = _sleep_stages(config) if "label_seconds" in result else None
    if stages is None:
        return None, ""
    from ..inference.time_use import sleep_summary

    off, on, bounds = _lights(path, recording, duration, lights)
    return sleep_summary(result["windows"], duration, stages, off, on), bounds


def _span(seconds: float, minutes: bool) -> str:
    return f"{seconds / 60:.1f} min" if minutes else f"{seconds:.3g} s"


def _time_line(path: str, result: dict[str, Any], config, sleep: dict | None = None, bounds: str = "") -> str | None:
    """A classifier's time per label, as a line: a sleep stager's AASM summary `sleep` (TST, sleep efficiency, sleep
    onset latency, WASO, REM latency, minutes per stage and each sleep stage's share of TST, between lights out and on
    as `bounds` say; `_sleep`), any other's seconds (minutes, for 2 min and more) per label (`label_seconds`) with
    their share of the seconds that windows of signal count for, longest first (a multi-label classifier's: the time
    each label is present, shares that may add up beyond 100%). None for a regressor, an encoder, and a recording
    without a window of signal."""
    from ..inference.backends import scores_each_output
    from ..inference.pipelines import counted_spans

    seconds = result.get("label_seconds")
    windows = result["windows"]
    if seconds is None or not windows or result.get("no_signal_windows") == len(windows):
        return None
    if sleep is not None:

        def minutes(value: float) -> str:  # (sleep statistics are minutes, however short the recording)
            return _span(value, True)

        tst = sleep["total_sleep_seconds"]
        said = [f"TST {minutes(tst)}"]
        efficiency = sleep["sleep_efficiency_percent"]
        said.append(f"sleep efficiency {efficiency:.1f}% of {minutes(sleep['recorded_seconds'])} recorded")
        if sleep["sleep_onset_latency_seconds"] is None:
            said.append("no window staged as sleep")
        else:
            said.append(f"sleep onset latency {minutes(sleep['sleep_onset_latency_seconds'])}")
            said.append(f"WASO {minutes(sleep['waso_seconds'])}")
            rem = sleep["rem_latency_seconds"]
            said.append("no REM" if rem is None else f"REM latency {minutes(rem)}")
        stages = [
            f"{stage} {minutes(value)}" + ("" if share is None else f" ({share:.1f}% of TST)")
            for stage, value in sleep["stage_seconds"].items()
            for share in [sleep["stage_percent_of_sleep"].get(stage)]
        ]
        unstaged = sleep["unstaged_seconds"]
        # named from the 3 s that the line's tenths of a minute show (the rounding of a night all in windows: none)
        tail = f"; {minutes(unstaged)} unstaged (no window of signal, or of no stage)" if unstaged >= 3 else ""
        return f"{path}: sleep (AASM; {bounds}): {', '.join(said)}; {', '.join(stages)}{tail}"
    spans = counted_spans(windows)
    scored = sum(end - start for (start, end), window in zip(spans, windows) if not window.get("no_signal"))
    minutes = scored >= 120
    ranked = sorted(((value, name) for name, value in seconds.items() if value > 0), key=lambda item: -item[0])
    shares = ", ".join(f"{name} {_span(value, minutes)} ({100 * value / scored:.1f}%)" for value, name in ranked)
    # (a multi-label or one-output classifier's labels are each present where their sigmoid is above 0.5)
    what = "time each label is present (above 0.5)" if scores_each_output(config) else "time per label"
    return f"{path}: {what}, of {_span(scored, minutes)} scored: {shares or 'none'}"


# `_window_rows`' `start` for a run whose rows have no clock column (no recording among its files records a start)
_NO_CLOCK = object()


def _start_time(text: str, recordings: Sequence[str]) -> datetime.datetime:
    """--start-time `text` as the clock time of the one recording among `recordings`, naive or with its UTC offset.

    Raises:
        UsageError: several recordings (each has its own start), or text that is no ISO 8601 date and time.
    """
    if len(recordings) != 1:
        raise UsageError(
            f"--start-time is the start of one recording, and {len(recordings)} are given ({_shown(recordings)}): run "
            "each recording on its own, with its own --start-time."
        )
    start = _clock_moment(text.strip())
    if start is None:
        raise UsageError(
            f"--start-time {text!r} is no clock time: give the date and time of the recording's first sample in ISO "
            "8601, e.g. 2025-03-01T22:15:00 (or with its UTC offset, 2025-03-01T22:15:00+01:00)."
        )
    return start


def _clock_moment(text: str) -> datetime.datetime | None:
    """`text` as a date and time in ISO 8601, extended or basic (`parse_clock_time`, the rule a CSV's clock times are
    read by, the same on every Python), naive or with its UTC offset; None for other text and for a date alone
    (midnight by chance, not a time anyone meant)."""
    from ..data.readers._common import parse_clock_time

    # (parsed, not by `fromisoformat`: it reads the "+00:00" that `isoformat()` writes for UTC's clock and for a local
    # one at offset zero alike as UTC's, losing `ZERO_OFFSET`, and on Python 3.10 reads only `isoformat()`'s own form)
    moment = parse_clock_time(text)
    return moment if moment is not None and ("T" in text.upper() or " " in text.strip()) else None


def _clock_time(start: datetime.datetime | None, seconds: float) -> str:
    """`seconds` into a recording that started at `start`, as ISO 8601 text to the millisecond; "" for a recording
    whose start is not known."""
    return "" if start is None else (start + datetime.timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


# A multi-label classifier's labels present in a window or recording: each whose probability is above this (the
# metrics' and the ONNX metadata's threshold), named in the summary line and in --output's `present_labels`
PRESENT_ABOVE = 0.5
# how a CSV cell joins a window's present labels (a list in a .jsonl line)
PRESENT_SEPARATOR = ";"


def _present_cell(labels: list[str]) -> str:
    """`labels` joined by `PRESENT_SEPARATOR` as a CSV record of their own: plain names as "AF;LBBB", and a name
    holding the separator, a quote or a line break quoted as CSV quotes it ('"AF;flutter";LBBB'), where the plain join
    read back as three labels; `next(csv.reader([cell], delimiter=";"))` gives the names exactly."""
    record = io.StringIO()
    # a line terminator of "\r\n", cut off after: csv quotes a field with a line break only when it ends the record
    csv.writer(record, delimiter=PRESENT_SEPARATOR, lineterminator="\r\n").writerow(labels)
    return record.getvalue().removesuffix("\r\n")


def _is_multi_label(config) -> bool:
    return getattr(config, "problem_type", None) == "multi_label_classification"


def _present(scored: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries of a window's or recording's `labels` (the pipeline's `{"label", "score"}` of every label) whose
    probability is above `PRESENT_ABOVE`, in the pipeline's order (highest first)."""
    return [entry for entry in scored["labels"] if entry["score"] > PRESENT_ABOVE]


def _window_rows(path: str, result: dict[str, Any], config, start: Any = _NO_CLOCK) -> Iterator[dict[str, Any]]:
    """A CSV row per window, made as it is taken: the recording, start and end (s), with `start` (the recording's
    start on the clock, a naive datetime, or None where the file records none) the window's start on the clock
    (`start_time`), then the label, its score and every label's probability (and a multi-label classifier's
    `present_labels`: every label above 0.5, joined by ";", a name holding ";" quoted: `_present_cell`; empty where
    none is), or the targets, or the embedding's
    values."""
    embeddings = result.get("window_embeddings")
    multi_label = _is_multi_label(config)
    # each label's probability column and label, in id order, worked out at the first window that has them: worked
    # out at every window, through the config's attributes (transformers' `__getattribute__`, microseconds each), they
    # were 2 s of the 3.2 s a day of 2 s windows of 3 classes took to write
    probability_columns = None
    for index, window in enumerate(result["windows"]):
        row: dict[str, Any] = {"recording": path, "start": window["start"], "end": window["end"]}
        if start is not _NO_CLOCK:
            row["start_time"] = _clock_time(start, window["start"])
        if "labels" in window:
            row.update(label=window["label"], score=window["score"])
            if probability_columns is None:
                id2label = config.id2label
                probability_columns = [(f"p_{id2label[k]}", id2label[k]) for k in sorted(id2label)]
            scores = {entry["label"]: entry["score"] for entry in window["labels"]}
            row.update({column: scores[label] for column, label in probability_columns})
            if multi_label:
                # any number of labels apply: `label`, the top one, left the others unsaid and named one where none does
                row["present_labels"] = _present_cell([entry["label"] for entry in _present(window)])
        elif "target" in window or "targets" in window:
            values = [window["target"]] if "target" in window else window["targets"]
            row.update(zip(_target_columns(result, count=len(values)), values, strict=True))
        elif embeddings is not None:
            row.update({f"embedding_{k}": float(value) for k, value in enumerate(embeddings[index])})
        row["no_signal"] = window.get("no_signal") or ""  # "flat" or "interpolated": left out of the recording's
        yield row


# The CSV's own columns, which a target's name must not take (the target's column is then `target_<name>`).
_ROW_COLUMNS = frozenset({"recording", "start", "end", "start_time", "no_signal"})


def _target_columns(result: dict[str, Any], reserved: frozenset[str] = _ROW_COLUMNS, count: int = 1) -> list[str]:
    """A regressor's CSV columns, one per target: the model's names for them (`"target_names"`, its `id2label`:
    `heart_rate`), a name that is one of the CSV's own columns (`reserved`: --output's rows', or --summary's) as
    `target_<name>`; unnamed, `target` for one target and `target_0`, `target_1`, ... for `count` of them (the
    number a window has: the recording's `targets` are None where no window holds signal)."""
    names = result.get("target_names")
    if names:
        return [f"target_{name}" if name in reserved else name for name in names]
    return ["target"] if "target" in result else [f"target_{k}" for k in range(count)]


def _target_count(result: dict[str, Any], config) -> int:
    """How many targets the regressor's `result` holds: its first window's (a scored recording has one), else the
    model's `num_targets`."""
    windows = result["windows"]
    if windows and isinstance(windows[0].get("targets"), list):
        return len(windows[0]["targets"])
    return 1 if "target" in result else int(getattr(config, "num_targets", 1))


def _json_record(
    path: str, recording, result: dict[str, Any], config: Any = None, sleep: dict | None = None
) -> dict[str, Any]:
    """A `.jsonl` line: the file, its start on the clock (ISO 8601, None where the file records none), its rate and
    channels, and the pipeline's result (arrays as lists; the embedding of a recording without a window of signal,
    NaN from the pipeline, None, as a classifier's label and a regressor's target are then). A multi-label classifier's
    (`config.problem_type`) line and each of its windows also have `present_labels`: the labels above 0.5; a sleep
    stager's has `sleep`, its AASM summary (`time_use.sleep_summary`, between lights out and on: `_sleep`)."""
    record = {
        "recording": path,
        "recording_start": _clock_time(recording.start, 0.0) or None,
        "sampling_rate": recording.sampling_rate,
        "channels": recording.channel_names,
        **{key: value.tolist() if hasattr(value, "tolist") else value for key, value in result.items()},
    }
    if "embedding" in result and result["windows"] and result["no_signal_windows"] == len(result["windows"]):
        record["embedding"] = None
    if sleep is not None:
        record["sleep"] = sleep
    if "labels" in result and _is_multi_label(config):
        # beside the pipeline's `label` (the top one) and `labels` (every label's score), as the summary line names
        record["present_labels"] = [entry["label"] for entry in _present(result)]
        record["windows"] = [
            {**window, "present_labels": [entry["label"] for entry in _present(window)]} for window in result["windows"]
        ]
    return record


if __name__ == "__main__":  # `python -m citrus_hf.commands.predict ...`
    from .main import run_command_module

    run_command_module("predict")
