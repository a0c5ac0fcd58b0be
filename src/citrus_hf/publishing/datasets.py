"""Publishing built datasets: a Hub dataset card with the sources' licenses and citations (`dataset_card`), and
`save_to_disk` / `push_to_hub` of a `DatasetDict` with that card (`publish`, `publish_from_args` for the
`--output` / `--push-to-hub` options of `citrus data build` and the dataset scripts).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..data.builders import (
    BUILT_FROM_FILE,
    built_from_note,
    dataset_note,
    save_built_dataset,
    save_dataset_whole,
)
from ..data.plans import resolve_options
from ..data.registry import get_dataset_spec, get_source
from ..vocabulary_citrus import CLASSIFICATION, REGRESSION, as_bool

if TYPE_CHECKING:
    from datasets import DatasetDict


@dataclass
class PublishArguments:
    """Where `publish_from_args` puts a built dataset (the options of `citrus data build` and the dataset scripts)."""

    output: str | None = field(default=None, metadata={"help": "save_to_disk folder"})
    push_to_hub: str | None = field(default=None, metadata={"help": "push to this Hub dataset repo"})
    private: bool = field(
        default=False,
        metadata={"help": "make the Hub repo private (a new one: an existing public repo is refused)"},
    )


# A dataset's task (a registered spec's `task`, or what its label column says) -> the Hub's task category.
_TASK_CATEGORIES = {
    "pretraining": "feature-extraction",
    CLASSIFICATION: "time-series-classification",
    REGRESSION: "time-series-regression",
}


def dataset_card(name: str, options: dict[str, Any] | None = None, selection: dict[str, Any] | None = None) -> str:
    """A Hub dataset card (YAML metadata + Markdown) for ``name``, with the sources' licenses and citations, and the
    builder options it was built with: the registry's defaults with ``options`` (those given) over them, as
    ``build_dataset`` resolves them (`citrus_hf.data.plans.resolve_options`: an option the set does not have is a
    :class:`CitrusDataError`), and the part of the corpus a ``selection`` built (``build_dataset``'s, e.g.
    ``{"records": ["100"]}``)."""
    spec = get_dataset_spec(name)
    # An option given as None is "not given", as the scripts pass one left out, and was built at its default: the
    # card printed null for it (`"before_seconds": null` where 0.25 was built). A nullable option's None is a setting.
    given = {key: value for key, value in (options or {}).items() if value is not None or key in spec.nullable}
    # the options as `build_dataset` resolves them: a new window of a set whose windows lie back to back moves its hop
    # too (`eeg_pretrain` with window_seconds=10 was built 10 s apart, and its card said hop_seconds 30.0), and an
    # option the set does not have is refused, as the build refuses it (the card gave a call that cannot run)
    built_with = resolve_options(spec, dict(options or {}))
    call = "".join(f", {key}={value!r}" for key, value in given.items())
    if selection:  # a set of some records / subjects of the corpus, not the whole of it
        call += f", selection={selection!r}"
    sources = [get_source(source) for source in spec.sources]
    licenses = sorted({source.license for source in sources})
    task = _TASK_CATEGORIES.get(spec.task, _TASK_CATEGORIES[REGRESSION])
    lines = [
        "---",
        "license: other",
        f"task_categories:\n- {task}",
        "tags:\n- bio-signals\n- citrus-hf",
        "---",
        f"# {name}",
        "",
        spec.description,
        "",
        f"**Splits**: {spec.splits}",
        "",
        f"**Builder options**: {json.dumps(built_with) if built_with else 'none'}; built by "
        f"`citrus_hf.data.build_dataset({name!r}{call})` "
        f"version {spec.version}.",
        "",
        "## Sources",
        "",
    ]
    for source in sources:
        where = source.archive.requirement if source.archive else source.homepage
        lines += [
            f"- **{source.name}** ({source.modality}, {source.sampling_rate} Hz, {source.channels} channels; {where}): "
            f"{source.description}",
            f"  License: {source.license}. Cite: {source.citation}",
        ]
    lines += ["", f"Licenses: {'; '.join(licenses)}.", ""]
    return "\n".join(lines)


def own_dataset_card(name: str, dataset_dict: DatasetDict) -> str:
    """A Hub dataset card for a set of your own that `citrus data build FOLDER` publishes: its task (from its label
    column), splits, rates and channels; its license is the owner's to add (this package cannot know it)."""
    from .._version import __version__
    from ..data.builders import summarize_dataset
    from ..data.splits import LABELS

    columns = set().union(*(split.column_names for split in dataset_dict.values()))
    labelled = [task for task, (column, _) in LABELS.items() if column in columns]
    task = _TASK_CATEGORIES[labelled[0] if labelled else "pretraining"]
    summary = summarize_dataset(dict(dataset_dict))
    rows = ", ".join(f"{split} {entry['windows']}" for split, entry in summary["splits"].items())
    rates = ", ".join(f"{rate:g}" for rate in summary["sampling_rates"]) or "not recorded (give it when fitting)"
    lines = [
        "---",
        f"task_categories:\n- {task}",
        "tags:\n- bio-signals\n- citrus-hf",
        "---",
        f"# {name}",
        "",
        f"Recordings built by `citrus data build {name}` (citrus-hf {__version__}) from a folder of recording files,",
        "one row per file (or per segment of at most ten minutes for an unlabelled folder); `input_values` holds each",
        "row's samples as (channels, time).",
        "",
        f"**Rows**: {rows}. **Sampling rate (Hz)**: {rates}. **Channels**: "
        f"{', '.join(str(count) for count in summary['channels'])}.",
        "",
        "License: not recorded; add the recordings' license to this card.",
        "",
    ]
    return "\n".join(lines)


def publish(
    dataset_dict: DatasetDict,
    name: str,
    output: str | os.PathLike | None = None,
    push_to_hub: str | None = None,
    private: bool | None = None,
    options: dict[str, Any] | None = None,
    card: str | None = None,
    selection: dict[str, Any] | None = None,
    labelled_unit: str | None = None,
) -> None:
    """``save_to_disk`` to ``output`` and / or ``push_to_hub`` to the Hub dataset repo ``push_to_hub`` with a card.

    ``dataset_dict`` is the registered set ``name``; given the builder ``options`` it was built with, the folder also
    notes that (``citrus_hf.data.builders.save_built_dataset``), so that a pre-training run on the folder records
    which corpus it saw.

    The card (`card`, by default :func:`dataset_card` of the registered set) carries the sources' licenses and
    citations; a registered set given its builder ``options`` is pushed with the note the folder holds
    (`BUILT_FROM_FILE`, the one note pushed with any set), so that the runs that read it by its Hub id know it as that
    set. The Hub's own endpoint and token settings (``HF_ENDPOINT``, ``HF_TOKEN``) apply. ``DatasetDict.push_to_hub``
    writes a card whose ``dataset_info`` (features, split sizes) and ``configs`` (which Parquet files make which split)
    ``load_dataset`` and the Hub's viewer read; this card's text, license, task and tags are merged into it, never
    replace it. ``private=True`` refuses a Hub repository that exists and is public (it applies only to a repository the
    push creates); None, the default, leaves a new repository's visibility to its namespace's default. ``selection``:
    the part of the corpus the set holds (``build_dataset``'s), which the card and the note beside ``output`` name.
    ``labelled_unit``: what one label of a set of one's own belongs to (``citrus_hf.data.splits.labelled_unit_of`` its
    folder: "event", "example"), noted beside ``output`` and pushed with the set (in its one note, `BUILT_FROM_FILE`),
    so that the saved set's labels are scored as its folder's were.
    """
    # "no" is truthy: read as True it would publish in the open a set meant to stay private
    private = None if private is None else as_bool("private", private)
    # a registered set with the options it was built with is noted as the folder notes it (a set of one's own comes
    # with its card)
    noted = card is None and options is not None
    card_text = card if card is not None else dataset_card(name, options, selection)
    if output is not None and options is not None:
        save_built_dataset(dataset_dict, name, output, options, selection=selection)
    elif output is not None:
        save_dataset_whole(dataset_dict, output, labelled_unit=labelled_unit)
    if push_to_hub:
        from huggingface_hub import CommitOperationAdd, DatasetCard, HfApi, constants, hf_hub_download

        # here: the models' publishing imports torch, `--help` must not
        from .push import _with_namespace, hub_failures_in_one_line, refuse_public_repository

        # no Hub at the endpoint, offline mode, a refusal: one line naming the repository and the fix, as for models
        with hub_failures_in_one_line(f"The Hub refused to publish {push_to_hub}", push_to_hub, constants.ENDPOINT):
            if private:
                # (a name without namespace goes to the logged-in user's, as `DatasetDict.push_to_hub` takes it)
                refuse_public_repository(HfApi(), _with_namespace(push_to_hub, None), repo_type="dataset")
            commit = dataset_dict.push_to_hub(push_to_hub, private=private)
            repo_id = commit.repo_url.repo_id
            # The card exactly as that commit left it (``parent_commit`` below refuses to overwrite a later one).
            card = DatasetCard.load(
                hf_hub_download(repo_id, constants.REPOCARD_NAME, repo_type="dataset", revision=commit.oid)
            )
            ours = DatasetCard(card_text)
            for key, value in ours.data.to_dict().items():
                card.data[key] = value
            card.text = ours.text
            # the one note a folder saved by `--output` holds, so that a load asks the Hub for one file: the registered
            # set it is (whose splits may be time blocks of one recording by design; `builders.built_from_hub`) and
            # what its labels belong to (`builders.saved_labelled_unit`)
            note = built_from_note(name, options, selection=selection) if noted else None
            files = {constants.REPOCARD_NAME: str(card), BUILT_FROM_FILE: dataset_note(note, labelled_unit)}
            HfApi().create_commit(
                repo_id,
                [CommitOperationAdd(path, content.encode("utf-8")) for path, content in files.items()],
                commit_message="Dataset card: sources, licenses",
                repo_type="dataset",
                parent_commit=commit.oid,
            )


def publish_from_args(
    dataset_dict: DatasetDict,
    name: str,
    args: PublishArguments | argparse.Namespace,
    part: str | None = None,
    options: dict[str, Any] | None = None,
    card: str | None = None,
    selection: dict[str, Any] | None = None,
    labelled_unit: str | None = None,
) -> None:
    """:func:`publish` to the destinations of `PublishArguments`, or of the namespace of a parser given its options
    (``citrus_hf.commands.data.add_publish_arguments``, as the dataset scripts do); ``part`` names one of several parts
    (sub-folder ``output/part``, repo ``push_to_hub-part`` with underscores as dashes); ``options``, ``card``,
    ``selection``, ``labelled_unit``: see :func:`publish`."""
    output, repo = args.output, args.push_to_hub
    if part is not None:
        output = Path(output) / part if output else None
        repo = f"{repo}-{part.replace('_', '-')}" if repo else None
    # without --private, the namespace's default (None; an organisation's may be private), as a model's push asks
    private = args.private or None
    publish(
        dataset_dict,
        name,
        output=output,
        push_to_hub=repo,
        private=private,
        options=options,
        card=card,
        selection=selection,
        labelled_unit=labelled_unit,
    )


__all__ = ["PublishArguments", "dataset_card", "own_dataset_card", "publish", "publish_from_args"]
