"""Evaluation records: the results `citrus evaluate` writes, read back as one `EvalRecord` per metric, dataset and label
budget (`parse_eval_results`). Model cards (`citrus_hf.publishing.cards`) list them and put this model's in
`model-index`.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..training.metrics import PER_RECORDING_PREFIX


@dataclass(frozen=True)
class EvalRecord:
    """One evaluation result of `citrus evaluate`: a metric on a dataset split, optionally averaged over seeds.

    Attributes:
        dataset: dataset name as shown in the card, e.g. `"Epilepsy"`.
        metric: metric type: for `citrus evaluate` results one of `citrus_hf.training.metrics`' names, e.g.
            `"macro_f1"`, `"accuracy"`, `"mae"` (a list of records may name others).
        value: the metric's value (the mean over seeds when `seeds` > 1).
        dataset_id: Hub dataset id or short type used in `model-index`; defaults to `dataset`.
        split: dataset split, e.g. `"test"`.
        dataset_config: dataset configuration name.
        std: standard deviation over seeds.
        label_budget: labelled training examples used for fine-tuning (the low-data regime).
        seeds: number of seeds averaged.
        method: the model or baseline that produced the result; `None` means this model.
        recordings: for a metric scored per labelled recording (`recording_macro_f1`, ...), how many recordings
            were scored (`citrus evaluate`'s `scored_recordings`).
    """

    dataset: str
    metric: str
    value: float
    dataset_id: str | None = None
    split: str | None = None
    dataset_config: str | None = None
    std: float | None = None
    label_budget: int | None = None
    seeds: int | None = None
    method: str | None = None
    recordings: int | None = None


# What a field of a recorded run may hold, by the words `field_problem` says it with (bool is no number here, though
# Python's bool is an int: `true` for a seed or a loss is a hand edit gone wrong).
_KINDS = {
    "a string": (str,),
    "an integer": (int,),
    "a number": (int, float),
    "a boolean": (bool,),
    "an object": (Mapping,),
    "a list": (list,),
}
_ABSENT = object()


def _is_kind(value, kind: str) -> bool:
    if kind.endswith(" or null") and value is None:
        return True
    types = _KINDS[kind.removesuffix(" or null")]
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def field_problem(record, fields: Mapping[str, str], required: Sequence[str] = ()) -> str | None:
    """What is wrong with the shape of a recorded run (a `runs.jsonl` line, a `finetune_results.json`), as "field 'X'
    must be KIND, got VALUE", or None when nothing is; the caller says which file and line.

    `fields` maps a field's name to its kind ("a string", "an integer", "a number", "a boolean", "an object",
    "a list", each optionally followed by " or null"); a dotted name ("arguments.trainer.max_steps") is a field of
    an object field, listed after it, and "NAME.*" is every value of the object NAME. A field that is absent is
    fine (readers take their defaults) unless `required` names it.
    """
    if not isinstance(record, Mapping):
        return f"it holds a JSON {type(record).__name__}, not an object"
    for name, kind in fields.items():
        *parents, last = name.split(".")
        parent = record
        for part in parents:  # parents come first in `fields`: each is an object, or absent (its fields are too)
            parent = parent.get(part, _ABSENT) if isinstance(parent, Mapping) else _ABSENT
        if not isinstance(parent, Mapping):
            items = [(name, _ABSENT)]
        elif last == "*":
            items = [(f"{'.'.join(parents)}.{key}", value) for key, value in parent.items()]
        else:
            items = [(name, parent.get(last, _ABSENT))]
        for label, value in items:
            if value is _ABSENT:
                if name in required:
                    return f"field {label!r} is missing (it must be {kind})"
            elif not _is_kind(value, kind):
                return f"field {label!r} must be {kind}, got {json.dumps(value)[:60]}"
    return None


_EVAL_REQUIRED = ("dataset", "metric", "value")
_EVAL_OPTIONAL = ("dataset_id", "split", "dataset_config", "std", "label_budget", "seeds", "method", "recordings")


def scored_split(runs: Iterable[Mapping]) -> str:
    """The split `runs` (run records of `citrus evaluate`) were scored on: "test", "validation", or both named
    ("test/validation") when they mix; runs recorded before their `scored_on` field existed were scored on test."""
    return "/".join(sorted({str(run.get("scored_on", "test")) for run in runs}))


def _records_from_evaluate_summary(
    summary: Sequence[Mapping], model_arm: str | None, runs: Sequence[Mapping] | None = None
) -> list[dict]:
    """`citrus evaluate` summary rows (`{dataset, arm, n_train, seeds, scored_on, <metric>_mean, <metric>_std, ...}`)
    as records; the label budget is the number of labelled training windows.

    A record's split is the one its runs were scored on (`--score-split`): the row's `scored_on`, or for summaries
    written before rows carried it, that of the dataset's `runs` (results.json's), else the test split (the only one
    the protocol scored on then). Rows whose runs mix splits are refused: a record names one split.
    """
    if not isinstance(summary, Sequence):
        raise ValueError('The "summary" of `citrus evaluate` results must be a list of rows.')
    arms = sorted({str(row.get("arm")) for row in summary if isinstance(row, Mapping)})
    if model_arm is not None and model_arm not in arms:
        raise ValueError(f"Arm {model_arm!r} is not in these evaluation results; they hold {arms}.")
    runs = [run for run in runs or () if isinstance(run, Mapping)]
    records = []
    for row in summary:
        split = row.get("scored_on")
        if split is None:
            dataset_runs = [run for run in runs if run.get("dataset") == row["dataset"]]
            split = scored_split(dataset_runs) if dataset_runs else "test"
        if "/" in str(split):
            # a validation score published as a test score (or pooled with one) is a claim the runs do not make
            raise ValueError(
                f"The {row['dataset']!r} results pool runs scored on the {split} splits; a card record names one "
                "split: publish the results of one `citrus evaluate --score-split` run."
            )
        for key, value in row.items():
            # a metric the protocol could not compute (e.g. AUROC with one class in the test split) is NaN: skip it
            if not key.endswith("_mean") or not isinstance(value, numbers.Real) or not math.isfinite(value):
                continue
            metric = key[: -len("_mean")]
            # the seeds this metric's mean is over (a seed without a value is left out of it); summaries written
            # before they were counted give the runs'
            seeds = row.get(f"{metric}_seeds", row.get("seeds"))
            records.append(
                {
                    "dataset": row["dataset"],
                    "split": str(split),
                    "metric": metric,
                    "value": value,
                    "std": row.get(f"{metric}_std"),
                    "label_budget": int(row["n_train"]) if row.get("n_train") is not None else None,
                    "seeds": int(seeds) if seeds is not None else None,
                    "method": None if row.get("arm") == model_arm else str(row.get("arm")),
                    "recordings": row.get("scored_recordings") if metric.startswith(PER_RECORDING_PREFIX) else None,
                }
            )
    return records


def parse_eval_results(
    source: str | os.PathLike | Mapping | Sequence, model_arm: str | None = None
) -> list[EvalRecord]:
    """Read `citrus evaluate` results: a JSON file path, or the already-parsed JSON.

    Accepted JSON: the `results.json` that `citrus evaluate` writes (its `summary` rows: one record per metric,
    dataset and label budget, mean and std over seeds, with the split the runs were scored on; `model_arm` names the
    arm that is this model, e.g. `"citrus-time"`, and every other arm becomes a baseline), a list of records, or an
    object with a `"results"` list. Every record has `dataset`, `metric` and
    `value`, and optionally `dataset_id`, `split`, `dataset_config`, `std`, `label_budget`, `seeds`, `method` and
    `recordings` (see `EvalRecord`). For example
    `{"results": [{"dataset": "Epilepsy", "split": "test", "metric": "accuracy", "value": 0.93, "std": 0.01,
    "label_budget": 60, "seeds": 5}]}`.

    Raises:
        FileNotFoundError: the path does not exist. IsADirectoryError: the path is a folder (an `OSError`, as
            `FileNotFoundError` is).
        ValueError: the JSON does not have this shape; the message names the record and the key.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():  # (`citrus evaluate`'s --output-dir, say: it "did not exist")
            raise IsADirectoryError(
                f"Evaluation results {str(path)!r} is a folder; pass the results.json file `citrus evaluate` wrote "
                f"into it ({str(path / 'results.json')!r})."
            )
        if not path.is_file():
            raise FileNotFoundError(
                f"Evaluation results file {str(path)!r} does not exist; write it with `citrus evaluate`."
            )
        try:
            source = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"Evaluation results file {str(path)!r} is not valid JSON: {error}.") from error
    if isinstance(source, Mapping) and "summary" in source and "results" not in source:
        runs = source.get("runs") if isinstance(source.get("runs"), Sequence) else None
        source = {"results": _records_from_evaluate_summary(source["summary"], model_arm, runs)}
    if isinstance(source, Mapping) and "results" not in source:
        raise ValueError(
            'These are not evaluation results: `citrus evaluate`\'s results.json has a "summary" list, other '
            f'results a "results" list of records; this object has {sorted(source)[:8]} (a run\'s '
            "finetune_results.json is read from the checkpoint's folder itself, not through --eval-results)."
        )
    records = source.get("results") if isinstance(source, Mapping) else source
    if not isinstance(records, Sequence) or isinstance(records, (str, bytes)):
        raise ValueError(
            'Evaluation results must be a list of records or an object with a "results" list, got '
            f"{type(records).__name__}."
        )
    parsed = []
    for index, record in enumerate(records):
        if isinstance(record, EvalRecord):  # (read back, or built by hand): checked as its fields
            record = {key: value for key, value in asdict(record).items() if value is not None}
        if not isinstance(record, Mapping):
            raise ValueError(
                f"Evaluation record {index} must be an object (or an EvalRecord), got {type(record).__name__}."
            )
        missing = [key for key in _EVAL_REQUIRED if record.get(key) is None]
        if missing:
            raise ValueError(
                f"Evaluation record {index} lacks {missing}; every record needs 'dataset', 'metric' and 'value'."
            )
        unknown = sorted(set(record) - set(_EVAL_REQUIRED) - set(_EVAL_OPTIONAL))
        if unknown:
            raise ValueError(
                f"Evaluation record {index} has unknown keys {unknown}; "
                f"allowed: {list(_EVAL_REQUIRED + _EVAL_OPTIONAL)}."
            )
        # numpy's numbers too (a metric computed on a float32 array), stored as Python's, which the card's YAML writes
        value = record["value"]
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"Evaluation record {index} has a non-numeric or non-finite value {value!r}.")
        fields = {key: record.get(key) for key in _EVAL_OPTIONAL}
        for key in ("label_budget", "seeds", "recordings"):
            if fields[key] is not None and (
                isinstance(fields[key], bool) or not isinstance(fields[key], numbers.Integral)
            ):
                raise ValueError(f"Evaluation record {index}: {key!r} must be an integer, got {fields[key]!r}.")
            fields[key] = int(fields[key]) if fields[key] is not None else None
        if isinstance(fields["std"], numbers.Real) and not isinstance(fields["std"], bool):
            fields["std"] = float(fields["std"])
        parsed.append(
            EvalRecord(dataset=str(record["dataset"]), metric=str(record["metric"]), value=float(value), **fields)
        )
    return parsed


__all__ = ["EvalRecord", "field_problem", "parse_eval_results"]
