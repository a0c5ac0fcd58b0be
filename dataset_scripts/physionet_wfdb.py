"""Download MIT-BIH Arrhythmia records (WFDB) from PhysioNet and build beat windows with AAMI labels.

Every file is checked against PhysioNet's SHA256SUMS.txt; records are read with ``wfdb.rdrecord`` and reference
beats with ``wfdb.rdann``. One window per annotated beat (default 0.25 s before to 0.45 s after the R-peak, lead
MLII by name, 360 Hz), labelled N / S / V / F / Q (AAMI EC57); split DS1 (train) / DS2 (test) as de Chazal et al. (2004).

    python dataset_scripts/physionet_wfdb.py --data-dir ~/data/mitdb --output ~/data/mitdb_beats
    python dataset_scripts/physionet_wfdb.py --data-dir ~/data/mitdb --records 100 101 --no-download
"""

from __future__ import annotations

from citrus_hf.commands.data import add_publish_arguments, format_info
from citrus_hf.commands.script import ScriptParser, run_script
from citrus_hf.data import build_dataset, get_source
from citrus_hf.data.builders import summarize_dataset
from citrus_hf.data.sources.mitdb import check_mitdb_records
from citrus_hf.publishing.datasets import publish_from_args


def main(argv=None) -> int:
    parser = ScriptParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True, help="where the WFDB files are (or will be) kept")
    parser.add_argument(
        "--records",
        nargs="+",
        default=None,
        help="record names (default: DS1 + DS2): downloaded, and built from a local copy that holds more",
    )
    parser.add_argument("--before-seconds", type=float, default=None, help="window start before the R-peak (0.25)")
    parser.add_argument("--after-seconds", type=float, default=None, help="window end after the R-peak (0.45)")
    parser.add_argument("--no-download", action="store_true", help="use the files already in --data-dir")
    parser.add_argument("--cache-dir", default=None, help="datasets cache")
    add_publish_arguments(parser)
    args = parser.parse_args(argv)

    if args.records is not None:  # a record in neither split: refused before any download
        check_mitdb_records(args.records)
    if not args.no_download:
        files = get_source("mitdb").fetch(args.data_dir, records=args.records)
        print(f"{len(files)} WFDB files checked in {args.data_dir}")
    options = dict(before_seconds=args.before_seconds, after_seconds=args.after_seconds)
    # --records of a local copy that holds more records: those records only
    selection = {} if args.records is None else {"records": args.records}
    dataset = build_dataset(
        "mitdb_beats", data_dir=args.data_dir, cache_dir=args.cache_dir, download=False, selection=selection, **options
    )
    print(format_info({"name": "mitdb_beats", "task": "classification", "options": {}, **summarize_dataset(dataset)}))
    publish_from_args(dataset, "mitdb_beats", args, options=options, selection=selection)
    return 0


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
