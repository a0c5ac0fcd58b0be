"""Download the TF-C benchmark sets from figshare and build them as ``datasets.DatasetDict``s.

Sets: sleepeeg (100 Hz), epilepsy (173.61 Hz), fd_a / fd_b (64 kHz), har (50 Hz), gesture (100 Hz), ecg (300 Hz),
emg (4 kHz). Each file is checked against figshare's md5 and loaded with ``torch.load(weights_only=True)``; the
published train / val / test files become the train / validation / test splits, at their native rate.

    python dataset_scripts/tfc_benchmark.py epilepsy fd_b gesture emg --data-dir ~/data/tfc --output ~/data/tfc_built
    python dataset_scripts/tfc_benchmark.py all --data-dir ~/data/tfc --push-to-hub me/tfc   # me/tfc-epilepsy, ...
"""

from __future__ import annotations

from pathlib import Path

from citrus_hf.commands.data import add_publish_arguments, format_info
from citrus_hf.commands.script import ScriptParser, run_script
from citrus_hf.data import build_dataset, get_source
from citrus_hf.data.builders import summarize_dataset
from citrus_hf.data.sources.tfc import TFC_SETS
from citrus_hf.publishing.datasets import publish_from_args


def set_folder(data_dir: str, tfc_set: str) -> Path:
    """The folder of `tfc_set`'s files: `data_dir/tfc_set`, or `data_dir` itself when it is named after the set. The
    package's "missing" error names a set's own folder (`--data-dir D/epilepsy`, as `citrus data build tfc_epilepsy`
    takes it): following it once fetched into D/epilepsy/epilepsy, and the next error advised a folder deeper still.
    Another set's folder lies beside such a folder (`all --data-dir D/epilepsy` looked for D/epilepsy/har), unless
    `data_dir` holds one of that name already."""
    folder = Path(data_dir)
    if folder.name == tfc_set:
        return folder
    if folder.name in TFC_SETS and not (folder / tfc_set).exists():
        return folder.parent / tfc_set
    return folder / tfc_set


def main(argv=None) -> int:
    parser = ScriptParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="+", choices=(*TFC_SETS, "all"), help="which sets ('all' for every one)")
    parser.add_argument(
        "--data-dir",
        required=True,
        help="one sub-folder per set is used under it; a folder named after a set is that set's own folder, the "
        "other sets' beside it",
    )
    parser.add_argument("--no-download", action="store_true", help="use the files already in --data-dir")
    parser.add_argument("--cache-dir", default=None, help="datasets cache")
    add_publish_arguments(parser, per_part="set")
    args = parser.parse_args(argv)

    # each set once, in the order first named (`epilepsy epilepsy` built and published it twice)
    sets = list(TFC_SETS) if "all" in args.sets else list(dict.fromkeys(args.sets))
    for tfc_set in sets:
        folder = set_folder(args.data_dir, tfc_set)
        if not args.no_download:
            get_source(f"tfc_{tfc_set}").fetch(folder)
        name = f"tfc_{tfc_set}"
        dataset = build_dataset(name, data_dir=folder, cache_dir=args.cache_dir, download=False)
        print(format_info({"name": name, "task": "classification", "options": {}, **summarize_dataset(dataset)}))
        publish_from_args(dataset, name, args, part=tfc_set, options={})
    return 0


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
