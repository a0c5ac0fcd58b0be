"""The TF-C benchmark sets (Zhang et al., NeurIPS 2022) as published on figshare: ``train.pt`` / ``val.pt`` /
``test.pt``, dicts of ``samples`` (N, C, T) and ``labels`` (N,), read with
:func:`citrus_hf.data.readers.load_tfc_split` (``torch.load(weights_only=True)``)."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ...vocabulary_citrus import CLASSIFICATION
from ..errors import CitrusDataError
from ..fetch import fetch_figshare
from ..plans import BuildContext, BuildPlan, dataset_features, window_row
from ..readers import load_tfc_split
from ..registry import FigshareArticle, online_source, register_dataset

CITATION = (
    "Zhang X, Zhao Z, Tsiligkaridis T, Zitnik M. Self-supervised contrastive pre-training for time series via "
    "time-frequency consistency. NeurIPS 2022."
)
FILES = ("train.pt", "val.pt", "test.pt")
# The sets: figshare article and version, native rate in Hz, channels, modality, classes, license.
TFC_SETS: dict[str, dict[str, Any]] = {
    "sleepeeg": dict(
        article=19930178, version=1, rate=100.0, channels=1, modality="EEG", classes=5, license="ODC-By 1.0"
    ),
    # Bonn EEG: 173.61 Hz; TF-C's README rounds it to 178 Hz because each sample holds 178 points (about 1 s).
    "epilepsy": dict(
        article=19930199, version=2, rate=173.61, channels=1, modality="EEG", classes=2, license="CC BY 4.0"
    ),
    "fd_a": dict(
        article=19930205, version=1, rate=64000.0, channels=1, modality="vibration", classes=3, license="CC BY-NC 4.0"
    ),
    "fd_b": dict(
        article=19930226, version=1, rate=64000.0, channels=1, modality="vibration", classes=3, license="CC BY-NC 4.0"
    ),
    "har": dict(
        article=19930244, version=1, rate=50.0, channels=9, modality="IMU", classes=6, license="UCI, non-commercial"
    ),
    # The Gesture paper does not report its rate; TF-C presumes 100 Hz.
    "gesture": dict(
        article=19930247, version=1, rate=100.0, channels=3, modality="IMU", classes=8, license="unknown (UCR)"
    ),
    "ecg": dict(article=19930253, version=1, rate=300.0, channels=1, modality="ECG", classes=4, license="ODC-By 1.0"),
    "emg": dict(article=19930250, version=1, rate=4000.0, channels=1, modality="EMG", classes=3, license="ODC-By 1.0"),
}


def fetch_tfc(name: str, data_dir: str | os.PathLike, api_url: str | None = None) -> dict[str, Path]:
    """Download one TF-C set (``sleepeeg``, ``epilepsy``, ``fd_a``, ``fd_b``, ``har``, ``gesture``, ``ecg``,
    ``emg``) from figshare into ``data_dir``, each file checked against figshare's md5."""
    if name not in TFC_SETS:
        raise CitrusDataError(f"Unknown TF-C set {name!r}; the sets are {', '.join(TFC_SETS)}.")
    kwargs = {"api_url": api_url} if api_url else {}
    return fetch_figshare(_article(name), data_dir, **kwargs)


def _tfc_examples(path: str, split: str, tfc_name: str, rate: float, source: str) -> Iterator[dict]:
    samples, labels = load_tfc_split(path)
    for index in range(samples.shape[0]):
        yield window_row(
            np.asarray(samples[index], dtype=np.float32),
            rate,
            0.0,
            label=int(labels[index]),
            subject="unknown",
            recording=f"{tfc_name}/{split}/{index}",
            source=source,
        )


def plan_tfc(name: str, data_dir: str | os.PathLike) -> BuildPlan:
    """Plan a TF-C set from ``data_dir/{train,val,test}.pt``; class names are the label numbers as published."""
    meta = TFC_SETS[name]
    data_dir = Path(data_dir)
    files = {"train": "train.pt", "validation": "val.pt", "test": "test.pt"}
    missing = [f for f in files.values() if not (data_dir / f).is_file()]
    if missing:
        raise CitrusDataError(
            f"TF-C set {name!r}: {missing} missing in {data_dir}; fetch it with "
            f"`citrus data fetch tfc_{name} --data-dir {data_dir}`."
        )
    shape = None
    for file in files.values():
        samples, labels = load_tfc_split(data_dir / file)
        if labels.size and (labels.min() < 0 or labels.max() >= meta["classes"]):
            raise CitrusDataError(
                f"{data_dir / file}: labels span {labels.min()}..{labels.max()}, expected 0..{meta['classes'] - 1}."
            )
        if shape is not None and samples.shape[1:] != shape:
            raise CitrusDataError(f"{data_dir / file}: window shape {samples.shape[1:]} differs from {shape}.")
        shape = samples.shape[1:]
    article = _article(name)
    splits = {
        split: dict(
            path=str(data_dir / file),
            split=split,
            tfc_name=name,
            rate=meta["rate"],
            source=f"figshare:{article.article_id}/v{article.version}/{file}",
        )
        for split, file in files.items()
    }
    names = [str(k) for k in range(meta["classes"])]
    return BuildPlan(dataset_features(names, False, tuple(shape)), _tfc_examples, splits)


def _article(name: str) -> FigshareArticle:
    return FigshareArticle(TFC_SETS[name]["article"], TFC_SETS[name]["version"], FILES)


def _build(name: str, options: dict, context: BuildContext) -> BuildPlan:
    if context.download and not all((context.data_dir / file).is_file() for file in FILES):
        fetch_tfc(name, context.data_dir)
    return plan_tfc(name, context.data_dir)


for _name, _meta in TFC_SETS.items():
    online_source(
        name=f"tfc_{_name}",
        description=f"TF-C benchmark set '{_name}': train.pt / val.pt / test.pt, dicts of 'samples' (N, C, T) and "
        f"'labels' (N,), {_meta['classes']} classes.",
        modality=_meta["modality"],
        sampling_rate=f"{_meta['rate']:g}",
        channels=str(_meta["channels"]),
        license=_meta["license"],
        citation=CITATION,
        remote=_article(_name),
        homepage=f"https://figshare.com/articles/dataset/{_meta['article']}",
    )(functools.partial(fetch_tfc, _name))
    register_dataset(
        name=f"tfc_{_name}",
        description=f"TF-C benchmark set '{_name}' as published (train.pt / val.pt / test.pt), native rate "
        f"{_meta['rate']:g} Hz, {_meta['channels']} channel(s), {_meta['classes']} classes.",
        task=CLASSIFICATION,
        sources=(f"tfc_{_name}",),
        splits="the published train / validation / test files.",
    )(functools.partial(_build, _name))
