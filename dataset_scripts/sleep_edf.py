"""Download Sleep-EDF Expanded from PhysioNet and build it as a ``datasets.DatasetDict``.

Every file is checked against PhysioNet's SHA256SUMS.txt; each PSG is paired with its hypnogram; 30 s epochs are
labelled W / N1 / N2 / N3 / REM (R&K stages 3 and 4 -> N3; "?" and movement dropped; at most 30 min of wake kept
before the first and after the last sleep epoch, all of it with ``--max-wake-edge-minutes none``); channels EEG
Fpz-Cz, EEG Pz-Oz, EOG horizontal at 100 Hz. The ``2s`` variant cuts each epoch into 15 windows of 2 s of Fpz-Cz,
like TF-C's SleepEEG. Splits are by subject.

    python dataset_scripts/sleep_edf.py --data-dir ~/data/sleep-edfx --output ~/data/sleep_edf_30s
    python dataset_scripts/sleep_edf.py --data-dir ~/data/sleep-edfx --variant 2s --push-to-hub me/sleep-edf-2s
    python dataset_scripts/sleep_edf.py --data-dir ~/data/sleep-edfx --subjects 0 1 --no-download   # a local copy
"""

from __future__ import annotations

import argparse

from citrus_hf.commands.data import add_publish_arguments, format_info
from citrus_hf.commands.script import ScriptParser, run_script
from citrus_hf.data import build_dataset, get_source
from citrus_hf.data.builders import summarize_dataset
from citrus_hf.publishing.datasets import publish_from_args

# --max-wake-edge-minutes left out (the set's 30 min), told apart from `none` (every wake epoch)
_NOT_GIVEN = object()


def _minutes_or_none(text: str) -> float | None:
    """--max-wake-edge-minutes: a number of minutes, or `none` for every wake epoch."""
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of minutes or none, got {text!r}") from None


def main(argv=None) -> int:
    parser = ScriptParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True, help="where the EDF files are (or will be) kept")
    parser.add_argument("--variant", choices=("30s", "2s"), default="30s", help="30 s epochs or 2 s SleepEEG windows")
    parser.add_argument(
        "--subsets",
        nargs="+",
        default=["sleep-cassette"],
        choices=("sleep-cassette", "sleep-telemetry"),
        help="downloaded, and built from a local copy that holds more (default: sleep-cassette)",
    )
    parser.add_argument(
        "--subjects",
        nargs="+",
        type=int,
        default=None,
        help="only these subject numbers (downloaded, and built from a local copy that holds more)",
    )
    parser.add_argument("--channels", nargs="+", default=None, help="PSG channels (one sampling rate)")
    parser.add_argument(
        "--max-wake-edge-minutes",
        type=_minutes_or_none,
        default=_NOT_GIVEN,
        help="wake kept before the first and after the last sleep epoch (30); none keeps every wake epoch",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the subject split")
    parser.add_argument("--no-download", action="store_true", help="use the files already in --data-dir")
    parser.add_argument("--cache-dir", default=None, help="datasets cache")
    add_publish_arguments(parser)
    args = parser.parse_args(argv)

    if not args.no_download:
        files = get_source("sleep_edf").fetch(args.data_dir, subsets=args.subsets, subjects=args.subjects)
        print(f"{len(files)} EDF files checked in {args.data_dir}")
    name = "sleep_edf" if args.variant == "30s" else "sleep_edf_2s"
    options = dict(channels=args.channels, seed=args.seed)  # (None: not given, the set's default)
    if args.max_wake_edge_minutes is not _NOT_GIVEN:  # where None is a setting: keep every wake epoch
        options["max_wake_edge_minutes"] = args.max_wake_edge_minutes
    # --subjects / --subsets of a local copy that holds more nights: those nights only
    selection = {"subsets": args.subsets, **({} if args.subjects is None else {"subjects": args.subjects})}
    dataset = build_dataset(
        name, data_dir=args.data_dir, cache_dir=args.cache_dir, download=False, selection=selection, **options
    )
    summary = summarize_dataset(dataset)
    print(format_info({"name": name, "task": "classification", "options": {"variant": args.variant}, **summary}))
    publish_from_args(dataset, name, args, options=options, selection=selection)
    return 0


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
