"""Masked auto-encoding pre-training of CiTrus with Accelerate.

One loop for one CPU, one GPU, several GPUs or several machines: run the same command under `accelerate launch
--num_processes N` and every process trains on its own shard of the data (data-parallel, gradients averaged by
DDP). Mixed precision (bf16 / fp16), gradient accumulation (every optimizer step accumulates its
`gradient_accumulation_steps` micro-batches, running on across an epoch's end; its loss is the mean of the
micro-batches' losses, each a mean over its own scored patches, so it equals a step of one batch that many times larger
only where every micro-batch scores as many patches), warm-up + cosine learning rate, checkpoints with
`Accelerator.save_state` every `save_steps` optimizer steps, an exact `resume_from` (the resumed run ends with the
same weights as an uninterrupted one), TensorBoard logs (loss, learning rate, validation loss and a figure of a masked
window with its reconstruction), and at the end `save_pretrained` of the model and its feature extractor. Where the
checkpoints are, and whether one can be resumed exactly: `training.checkpoints`.

Data: any registered dataset (`citrus_hf.data.build_dataset`) or a `datasets` folder written by `save_to_disk`, with
`input_values` `(channels, time)` at any sampling rate (a `sampling_rate` column). Every row is aligned to the
model's input contract (rate, window) by `CiTrusFeatureExtractor` once, in a `Dataset.map` whose result is a
memory-mapped Arrow file in the datasets cache; training reads batches from that file, so the corpus never sits in
RAM.

Synthetic windows (`synthetic_ratio` > 0): training reads the mixed stream of `citrus_hf.training.stream` instead of
epochs over the corpus, each process its own, resumable exactly; its real windows come from the process's own shard
of the corpus (rows `rank, rank + world_size, ...`), in seeded passes: none repeats before the shard is used up;
`synthetic_ratio=1` reads no training corpus.
Validation always uses the real validation split. The run's summary (`pretraining_summary.json`) records the
synthetic share and generator settings, the training loss at every log, and at every evaluation the held-out loss
with the loss of predicting the mean target (the level of a model that learnt nothing), which
`citrus_hf.training.curves` plots. A stopped or killed run resumed from a checkpoint records the curves of the
uninterrupted run (the curves so far and the loss summed since the last log are part of the checkpoint), and its
`sample_ids_rank{R}.jsonl` is cut back to the checkpoint's step. Results are bit-identical for the same seed, settings
and torch thread count (the backward pass's parallel sums round differently with another count): the summary and
every checkpoint record the thread count and torch version, and a resume with another thread count says so.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import shutil
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from huggingface_hub.constants import REPOCARD_NAME
from transformers.utils import CONFIG_NAME, SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME, logging

from .._bundled import bundled_checkpoint
from .._files import replace_text
from .._logs import outside_stacklevel, progress_bar, progress_bar_switches_kept
from ..configuration_citrus import CiTrusConfig, custom_pipelines_for
from ..data.alignment import align_corpus
from ..data.builders import built_from, corpus_evaluation_sets, is_built_from_note, one_plan_per_set
from ..data.listings import one_listing
from ..data.splits import held_out_split, load_split
from ..feature_extraction_citrus import CiTrusFeatureExtractor
from ..loading import build_config, checkpoint_config, resolve_checkpoint
from ..modeling_citrus import ADAPTER_TASK_CONFIG_NAME, save_pipeline_code
from ..vocabulary_citrus import ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, DEPLOYED_ONNX_NAME
from .arguments import PRETRAIN_RECIPES, PretrainArguments
from .checkpoints import (  # importable from here too, where they were first defined
    CHECKPOINT_PREFIX,
    CHECKPOINTS_DIR,
    RESUME_SETTINGS,  # noqa: F401
    RUN_SETTINGS_FILE,
    SCHEDULE_SETTINGS,  # noqa: F401
    SUMMARY_FILE,
    check_resumable,
    checkpoint_problems,
    checkpoint_step,
    checkpoints_in,
    lower_learning_rate,
    resolve_resume,
    resume_settings,
    run_environment,
)
from .launch import (
    LAUNCH_ACCUMULATION,
    LAUNCH_PRECISION,
    check_launched_processes,
    main_process_speaks,
    mixed_precision_notes,
    precision_that_runs,
    resolve_mixed_precision,
)
from .metrics import dumps_strict
from .rng import caller_random_state_kept
from .run_lock import output_folder_lock
from .settings import counted_repr, warmup_spans_run_notice
from .stream import PretrainingStream

logger = logging.get_logger(__name__)
# The validation split when none is named: a corpus without it trains without a validation loss.
_DEFAULT_EVAL_SPLIT = PretrainArguments.__dataclass_fields__["eval_split"].default


def pretraining_corpus(summary: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The corpus a `SUMMARY_FILE` says its run was pre-trained on, as `(dataset, options)`: the registered set a
    folder saved by `citrus data build --output` holds (its `dataset_built_from`), or else the run's `--dataset` and
    `--dataset-options` as given.

    Raises:
        ValueError: a `dataset_built_from` that is not the note `citrus pretrain` records (a set's name and options).
    """
    saved = summary.get("dataset_built_from")
    if saved is not None:
        if not is_built_from_note(saved):
            raise ValueError(
                f"The pre-training summary's dataset_built_from must name the registered set a run's folder held and "
                f"its options ({{'dataset': name, 'dataset_options': {{...}}}}), got {saved!r}; restore "
                f"{SUMMARY_FILE} as the run wrote it."
            )
        return saved["dataset"], dict(saved["dataset_options"])
    arguments = summary.get("arguments") or {}
    return arguments.get("dataset"), dict(arguments.get("dataset_options") or {})


def synthetic_shares(generators: list[dict[str, Any]]) -> str:
    """The share of the synthetic windows each generator of a stream's settings (`generators`: their `name` and
    `weight`) draws, as "cauker 45%, ecg 10%, ..."."""
    total = sum(generator["weight"] for generator in generators) or 1.0
    return ", ".join(f"{generator['name']} {generator['weight'] / total:.0%}" for generator in generators)


def pretraining_evaluation_sets(summary: dict[str, Any]) -> dict[str, str] | None:
    """The labelled sets (name: builder version) registered when a `SUMMARY_FILE`'s run built its corpus (its
    `evaluation_sets`), None for a summary that does not record them (runs before it did, or data of no registered
    set)."""
    recorded = summary.get("evaluation_sets")
    return dict(recorded) if isinstance(recorded, dict) else None


# What `finetune` writes next to its model: the run's test metrics, its arguments and its history (model cards read
# it). Named here, below `finetune`, because a pre-training run must recognise a fine-tuned model's folder too.
FINETUNE_RESULTS_FILE = "finetune_results.json"
# Files that show a folder holds a fine-tuned model (not only, say, a README the user put there); `citrus export`'s
# deployment folder too (its model.onnx, left beside a new run's config and weights, served the old model).
FINETUNE_MODEL_MARKERS = (FINETUNE_RESULTS_FILE, SAFE_WEIGHTS_NAME, ADAPTER_WEIGHTS_NAME, DEPLOYED_ONNX_NAME)
# Accelerate's TensorBoard tracker (`--report-to tensorboard`): its run name, and the folder in the output folder it
# logs to.
TRACKER_NAME = "tensorboard"
# A fine-tuned model's files that a pre-training run does not write itself (`finetune.RUN_FILES` adds the config,
# extractor and code that both write): replacing such a model removes them, or they would be served beside the new one.
FINETUNE_MODEL_FILES = (
    *FINETUNE_MODEL_MARKERS,
    SAFE_WEIGHTS_INDEX_NAME,
    ADAPTER_CONFIG_NAME,
    ADAPTER_TASK_CONFIG_NAME,
    REPOCARD_NAME,
)
# A run has learnt something only if its last held-out loss is below this share of the loss of predicting the mean
# masked target. Measured: a citrus-small run that collapsed to predicting the mean (seed 1) ended at 1.003x its
# baseline, from the first evaluation to the last; the runs that learnt ended at 0.72-0.77x.
LEARNT_BELOW_BASELINE = 0.95
# A run still at that level once this share of its schedule is done is told so at once, so that it can be stopped
# instead of finishing. Measured on citrus-small's 12,000-step schedule (`checkpoint_selection.md`): the runs that
# collapsed sat at 1.003x their baseline from the first evaluation (step 1,000) to the last; the runs that learnt were
# at 0.85-0.90x at step 1,000 and 0.82-0.86x at step 3,000, a quarter of the way.
EARLY_CHECK_SHARE = 0.25


class WindowDataset(torch.utils.data.Dataset):
    """Batches of an aligned corpus, read from its memory-mapped Arrow file, with each example's row index.

    `DataLoader` fetches a whole batch with one `__getitems__` call (one Arrow read), and the collate function is the
    identity: the batch is already `{"input_values": (B, C, T), "patch_mask": (B, P), "example_id": (B,)}`.
    """

    def __init__(self, dataset):
        self.dataset = dataset.with_format("torch", columns=["input_values", "patch_mask"])

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {key: value[0] for key, value in self.__getitems__([index]).items()}

    def __getitems__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        rows = self.dataset[list(indices)]
        return {
            "input_values": rows["input_values"],
            "patch_mask": rows["patch_mask"].long(),
            "example_id": torch.as_tensor(list(indices), dtype=torch.long),
        }


def batch_identity(batch):
    """Collate function of `WindowDataset` batches (already collated by `__getitems__`)."""
    return batch


class EpochShuffleSampler(torch.utils.data.Sampler):
    """A permutation of `range(num_examples)` that depends only on `(seed, epoch)`.

    It draws from its own generator, never from torch's global one, so the data order of a resumed run is the
    uninterrupted run's, and the masking (which does use the global generator) is not shifted by the data loader.
    Accelerate calls `set_epoch` through the prepared data loader.
    """

    def __init__(self, num_examples: int, seed: int):
        self.num_examples = num_examples
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_examples

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        yield from torch.randperm(self.num_examples, generator=generator).tolist()


# ------------------------------------------------------------------------------------------------- the training loop


class PretrainingDidNotLearnWarning(UserWarning):
    """A pre-training run's held-out loss is at the level of predicting the mean: at its end (see
    `PretrainResult.learnt`), or still there a quarter of the way through (`not_learning_yet`)."""


@dataclass
class PretrainResult:
    """What `pretrain` produced: the folder holding the model and feature extractor, the run's numbers, and the
    trained model itself (unwrapped from DDP; each process holds the same weights).

    `train_losses`, `eval_losses` and `eval_baseline_losses` are `(step, loss)` pairs: the training loss at every
    log (mean over the processes and the steps since the last log), the held-out loss on the real validation batch
    at every evaluation, and the loss of predicting the mean masked target on that batch (the objective head's
    `baseline_loss`, CiTrus models only). `num_train_windows` counts the real training windows (0 with
    `synthetic_ratio=1`); `synthetic_stream` holds the stream's settings and generators when `synthetic_ratio > 0`;
    `pretraining_objective` is the CiTrus config's (None for other models); `environment` what the results depend on
    beyond the settings (`run_environment`: torch version and thread count); `dataset_built_from` the registered set
    and options a `citrus data build --output` folder given as the dataset holds (`data.builders.built_from`), else
    None; `evaluation_sets` the labelled sets (name: builder version) registered when the corpus was built, whose
    evaluation spans pretrain_corpus held out (`data.builders.corpus_evaluation_sets`; None when unknown): evaluation
    holds the checkpoint to them, not to the sets registered when it is evaluated.
    """

    output_dir: str
    steps: int
    completed: bool
    final_loss: float | None
    eval_losses: list[tuple[int, float]]
    num_train_windows: int
    world_size: int
    seconds: float
    train_losses: list[tuple[int, float]] = field(default_factory=list)
    eval_baseline_losses: list[tuple[int, float]] = field(default_factory=list)
    synthetic_ratio: float = 0.0
    synthetic_stream: dict[str, Any] | None = None
    pretraining_objective: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    dataset_built_from: dict[str, Any] | None = None
    evaluation_sets: dict[str, str] | None = None
    model: torch.nn.Module | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # absolute: a relative output folder pointed nowhere once a notebook's `%cd` changed the current folder
        self.output_dir = os.path.abspath(self.output_dir)

    def __repr__(self) -> str:
        # the losses by their counts: a (step, loss) pair per log and per evaluation, hundreds over a long run
        return counted_repr(self, ("train_losses", "eval_losses", "eval_baseline_losses"))

    @property
    def learnt(self) -> bool | None:
        """Whether the last held-out loss is below `LEARNT_BELOW_BASELINE` x the loss of predicting the mean masked
        target (None without both: no validation data, or not a CiTrus objective). A run that never gets there has
        collapsed to predicting the mean: its checkpoint carries nothing for fine-tuning."""
        if not self.eval_losses or not self.eval_baseline_losses:
            return None
        return self.eval_losses[-1][1] < LEARNT_BELOW_BASELINE * self.eval_baseline_losses[-1][1]

    def did_not_learn(self) -> str | None:
        """What to tell the user when a finished run did not learn (`learnt` is False), else None."""
        if not self.completed or self.learnt is not False:
            return None
        held_out, baseline = self.eval_losses[-1][1], self.eval_baseline_losses[-1][1]
        if baseline <= 0:
            return f"Pre-training could not be judged: {_FLAT_HELD_OUT.format(held_out=held_out)}"
        return (
            f"Pre-training did not learn: the held-out loss ({held_out:.4f}) is {_against_baseline(held_out, baseline)} "
            f"predicting the mean masked target ({baseline:.4f}), so {self.output_dir} holds a model that carries "
            "nothing for fine-tuning. "
            + (_RETRY if self.steps >= LONG_ENOUGH_TO_JUDGE else _TOO_SHORT.format(steps=self.steps))
        )

    def summary(self) -> dict[str, Any]:
        """The run's numbers as JSON-ready values (everything but the model), with `learnt`."""
        return {k: v for k, v in self.__dict__.items() if k != "model"} | {"learnt": self.learnt}


# What helps a run that collapsed to predicting the mean (see `benchmarks/results/checkpoint_selection.md`).
_RETRY = (
    "Pre-train again with another --seed, a lower --learning-rate, or `--config-overrides cnn_activation=gelu` "
    "(ReLU units of the CNN stem and decoder can all die early in a run; GELU ones cannot)."
)


# Share of real (unpadded) patches in the training windows below which a run is told its corpus rows are too short.
MOSTLY_PADDING_BELOW = 0.75
# Steps below which a run is too short for the did-not-learn checks to mean anything: they were measured on runs of
# thousands of steps, and a smoke test of a few dozen has not left its initial loss yet.
LONG_ENOUGH_TO_JUDGE = 200
_TOO_SHORT = (
    "A run of {steps} steps is too short to tell: the checks were measured on runs of thousands of steps; give "
    "--max-steps more."
)


# A baseline of 0: every masked target of the held-out batch is one value (flat recordings, or a constant channel),
# so predicting their mean is exact and no held-out loss can be compared with it (a ratio to it is infinite).
_FLAT_HELD_OUT = (
    "the held-out windows are flat (every masked target the same value, so predicting their mean costs a loss of 0), "
    "and a held-out loss ({held_out:.4f}) cannot be compared with that. Give the run a validation split of recordings "
    "that vary (--eval-split, or another --dataset), or --eval-split none to skip the check."
)


def _against_baseline(held_out: float, baseline: float) -> str:
    """ "at the level of" or "N x the loss of", for the warnings (a loss far above the baseline is no plateau).
    `baseline` > 0: a zero one gets `_FLAT_HELD_OUT` instead."""
    ratio = held_out / baseline
    return "at the level of" if ratio < 1.5 else f"{ratio:.1f}x the loss of"


def not_learning_yet(step: int, max_steps: int, held_out: float, baseline: float) -> str | None:
    """The early warning for a run whose held-out loss is still at the level of predicting the mean masked target
    (within `LEARNT_BELOW_BASELINE`) at `step`, once `EARLY_CHECK_SHARE` of its `max_steps` are done, else None
    (always None for runs shorter than `LONG_ENOUGH_TO_JUDGE`)."""
    if max_steps < LONG_ENOUGH_TO_JUDGE:
        return None
    if step < EARLY_CHECK_SHARE * max_steps or step >= max_steps or held_out < LEARNT_BELOW_BASELINE * baseline:
        return None
    if baseline <= 0:
        return (
            f"Pre-training cannot be judged at step {step} of {max_steps}: {_FLAT_HELD_OUT.format(held_out=held_out)}"
        )
    return (
        f"Pre-training is not learning: at step {step} of {max_steps} the held-out loss ({held_out:.4f}) is still "
        f"{_against_baseline(held_out, baseline)} predicting the mean masked target ({baseline:.4f}). The runs "
        f"measured that were still there this late did not recover; stopping now saves the rest of the run. {_RETRY}"
    )


class TrainingProgress:
    """Where the loop is, saved with every checkpoint: optimizer steps, epoch, batches consumed in the epoch, and what
    the run's record needs to continue as if never stopped: the curves so far and, per process, the training loss
    summed since the last log (`running_losses`) over `running_count` micro-steps.

    A checkpoint written before the record was part of it loads with `restored_record` False: the run then continues
    from an empty running loss, and `pretrain` takes the earlier curves from the run's summary, if any.
    """

    def __init__(self):
        self.step = 0
        self.epoch = 0
        self.batches_in_epoch = 0
        self.running_losses: list[float] = []
        self.running_count = 0
        self.curves: dict[str, list[tuple[int, float]]] = {name: [] for name in SUMMARY_CURVES}
        self.restored_record = False

    def state_dict(self) -> dict[str, Any]:
        # plain ints, floats, lists and dicts: `checkpoint_problems` reads the file with `weights_only=True`
        return {
            "step": self.step,
            "epoch": self.epoch,
            "batches_in_epoch": self.batches_in_epoch,
            "running_losses": [float(loss) for loss in self.running_losses],
            "running_count": self.running_count,
            "curves": {
                name: [[int(step), float(value)] for step, value in curve] for name, curve in self.curves.items()
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step, self.epoch, self.batches_in_epoch = state["step"], state["epoch"], state["batches_in_epoch"]
        self.restored_record = "curves" in state
        if self.restored_record:
            self.running_losses = [float(loss) for loss in state["running_losses"]]
            self.running_count = int(state["running_count"])
            self.curves = {
                name: [(int(step), float(value)) for step, value in state["curves"].get(name, [])]
                for name in SUMMARY_CURVES
            }


def citrus_loss(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The loss of a CiTrus pre-training model on a `WindowDataset` batch."""
    # return_dict=True: whatever the config says (return_dict=False: tuples)
    return model(input_values=batch["input_values"], patch_mask=batch["patch_mask"], return_dict=True).loss


def model_files_in(folder: str | os.PathLike) -> list[str]:
    """The names of `FINETUNE_MODEL_MARKERS` that `folder` holds: a fine-tuned model (or a deployment) is there when
    any is."""
    return [name for name in FINETUNE_MODEL_MARKERS if (Path(folder) / name).is_file()]


def holds_pretraining_run(folder: str | os.PathLike) -> bool:
    """Whether `folder` holds a pre-training run: a checkpoint (`checkpoints_in`) or the summary a finished run writes
    (`SUMMARY_FILE`). What `citrus pretrain` and `citrus finetune` both refuse to start another run in; an empty
    checkpoints folder, which a save stopped before its first checkpoint leaves, holds nothing to lose."""
    return bool(checkpoints_in(folder)) or (Path(folder) / SUMMARY_FILE).is_file()


def _tracker_config(args: PretrainArguments, config: CiTrusConfig, world_size: int) -> dict[str, Any]:
    """Hyperparameters as TensorBoard accepts them (scalars and strings only)."""
    values = {f"train/{k}": v for k, v in asdict(args).items()}
    values.update({f"model/{k}": v for k, v in config.to_diff_dict().items()})
    values["train/world_size"] = world_size
    return {k: v if isinstance(v, (int, float, str, bool)) else json.dumps(v) for k, v in values.items()}


def _load_corpus(args: PretrainArguments, config: CiTrusConfig, accelerator) -> tuple[Any | None, Any | None]:
    """The aligned training windows (None with `synthetic_ratio=1`: none are needed) and validation windows (None
    without a dataset or an eval split)."""
    train_windows = eval_windows = None
    failure = None
    # One process per machine builds the aligned Arrow cache; the others then read it (also without a shared disk).
    # A folder of one's own is walked once for its training split, its held-out split's name and that split (nothing
    # here writes into it: the windows go to the datasets cache; a registered set's build lists its folder afresh),
    # and a registered corpus is planned once for the three (pretrain_corpus's plan loads every recording: seconds).
    with accelerator.local_main_process_first(), one_listing(), one_plan_per_set():
        try:
            if args.synthetic_ratio < 1:
                # (a BIDS dataset's recordings whole: its events.tsv files choose fine-tuning's examples, not a corpus)
                train_split = load_split(
                    args.dataset, args.train_split, args.dataset_options, args.sampling_rate, bids_events=False
                )
                if train_split is None:
                    raise ValueError(f"Dataset {args.dataset!r} has no split {args.train_split!r}.")
                if args.sampling_rate is not None and "sampling_rate" in train_split.column_names:
                    # the column wins in the alignment: the option would be ignored, and recorded as if it were used
                    raise ValueError(
                        f"Dataset {args.dataset!r} has a sampling_rate column, which gives every row its rate; "
                        "--sampling-rate is only for sets without one. Drop --sampling-rate."
                    )
                train_windows = align_corpus(
                    train_split, config, args.sampling_rate, nan_policy=args.nan_policy, split_name=args.train_split
                )
            if args.dataset is not None and args.eval_split:
                if args.eval_split == args.train_split and args.synthetic_ratio < 1:
                    # its "held-out" loss would be on the windows trained on, and so would the did-not-learn check
                    raise ValueError(
                        f"--eval-split {args.eval_split} is the split pre-training trains on, so its loss would not be "
                        "held out; name a split the run does not train on, or pass --eval-split none."
                    )
                eval_split_name = args.eval_split
                if eval_split_name == _DEFAULT_EVAL_SPLIT:
                    # a corpus's "valid" / "val" / "dev" split is its held-out split, as in fine-tuning
                    eval_split_name = held_out_split(
                        args.dataset, args.train_split, args.dataset_options, bids_events=False
                    )
                eval_split = load_split(
                    args.dataset, eval_split_name, args.dataset_options, args.sampling_rate, bids_events=False
                )
                if eval_split is None and args.eval_split != _DEFAULT_EVAL_SPLIT:
                    # a split named on purpose (a default that is missing just skips the validation loss)
                    raise ValueError(
                        f"Dataset {args.dataset!r} has no split {args.eval_split!r} for the validation loss; name "
                        "one it has, or pass --eval-split none to train without it."
                    )
                eval_windows = (
                    align_corpus(
                        eval_split, config, args.sampling_rate, nan_policy=args.nan_policy, split_name=eval_split_name
                    )
                    if eval_split is not None
                    else None
                )
        except Exception as error:  # raised after the barrier: the other processes, waiting at it, meet the same
            failure = error  # error in their own turn instead of a lost connection
    if failure is not None:
        raise failure
    if train_windows is not None and accelerator.is_main_process:
        own = args.dataset is not None and Path(str(args.dataset)).expanduser().exists()
        _warn_if_mostly_padding(train_windows, config, own)
    return train_windows, eval_windows


def _warn_if_mostly_padding(windows, config: CiTrusConfig, own_data: bool = False) -> None:
    """Say when most of the training windows' patches are padding, which spends the compute on zeros, and why: corpus
    rows cut shorter than the model's window (a `window_seconds` below the preset's: no window is full), or many
    recordings shorter than it (kept as rows of their own, `min_seconds`), beside full windows. `own_data`: the
    corpus is a folder of the user's (no builder options: its recordings are as long as they are)."""
    # read as one slice of the column: indexing the column by name reads it row by row (1 s for 2675 windows)
    masks = np.asarray(windows.select_columns(["patch_mask"]).with_format("numpy")[:]["patch_mask"])
    share = float(masks.mean()) if masks.size else 1.0
    if share >= MOSTLY_PADDING_BELOW:
        return
    full = float(masks.all(axis=-1).mean())
    window = f"{config.window_seconds:g} s"
    if full == 0 and own_data:
        cause = (
            f"every recording (or saved row) is shorter than the model's window of {window}, so the rest is padding. "
            "Pre-train on longer recordings"
        )
    elif full == 0:
        cause = (
            f"the corpus rows are all shorter than the model's window of {window}, so the rest is padding. Build the "
            f"corpus with --dataset-options window_seconds={config.window_seconds:g}"
        )
    else:
        cause = (
            f"{1 - full:.0%} of the windows come from recordings (or their ends) shorter than the model's window of "
            f"{window}. Keep fewer of them: a registered corpus whose builder takes it drops rows shorter than "
            "--dataset-options min_seconds=... (`citrus data info NAME` lists its options); for a folder of your own, "
            "filter the short rows out before saving it (`dataset.filter(...)`)"
        )
    logger.warning(
        f"Only {share:.0%} of the training windows' patches hold signal: {cause}, or pass --config-overrides "
        "context_length=... for a shorter window."
    )


class TrainingBatches:
    """Where the training batches come from: epochs over the aligned corpus, shuffled by `(seed, epoch)` and sharded
    across processes by Accelerate (`synthetic_ratio=0`), or the mixed real + synthetic stream, each process its own
    (`citrus_hf.training.stream`). Either way a resumed run reads the batches an uninterrupted run would."""

    def __init__(self, args: PretrainArguments, config: CiTrusConfig, train_windows, accelerator):
        self.args, self.accelerator = args, accelerator
        self.dataloader, self.stream = None, None
        if args.synthetic_ratio > 0:
            self.stream = PretrainingStream(
                train_windows,
                config,
                args.synthetic_ratio,
                args.synthetic_generators,
                args.per_device_batch_size,
                args.seed,
                rank=accelerator.process_index,
                world_size=accelerator.num_processes,
            )
            self.stream.check_generators()
            return
        global_batch = args.per_device_batch_size * accelerator.num_processes
        if len(train_windows) < global_batch:
            raise ValueError(
                f"The corpus has {len(train_windows)} training windows, fewer than one global batch ({global_batch} = "
                f"{args.per_device_batch_size} per process x {accelerator.num_processes} processes); lower "
                "--per-device-batch-size (citrus evaluate: --pretrain-batch-size) or use a larger corpus."
            )
        self.dataloader = torch.utils.data.DataLoader(
            WindowDataset(train_windows),
            batch_size=args.per_device_batch_size,
            sampler=EpochShuffleSampler(len(train_windows), args.seed),
            collate_fn=batch_identity,
            drop_last=True,  # equal batch shapes on every process and step
            num_workers=args.num_workers,
            # Worker seeds come from this generator, not from the global one the masking uses.
            generator=torch.Generator().manual_seed(args.seed),
        )

    def epoch(self, progress: TrainingProgress):
        """The batches of the current epoch from where `progress` stands (the stream: endless, on the device)."""
        if self.stream is not None:
            device = self.accelerator.device
            batches = self.stream.batches(progress.batches_in_epoch, self.args.num_workers)
            return ({key: value.to(device) for key, value in batch.items()} for batch in batches)
        self.dataloader.set_epoch(progress.epoch)
        if progress.batches_in_epoch:
            return self.accelerator.skip_first_batches(self.dataloader, progress.batches_in_epoch)
        return self.dataloader


def held_out_rows(num_rows: int, size: int) -> np.ndarray:
    """The rows of a validation split of `num_rows` that the held-out loss reads: `size` (at most all) evenly spaced
    ones, first and last included. Corpora are ordered by source, so the first rows would be one or two recordings;
    evenly spaced rows cover every source in proportion to its share, and are the same at every evaluation."""
    return np.unique(np.linspace(0, num_rows - 1, min(num_rows, size)).round().astype(np.int64))


class HeldOutLoss:
    """The validation loss on a fixed batch of the real validation split, with the same masks at every evaluation
    (drawn from the seed, not the training stream), and for CiTrus models the loss of predicting the mean masked
    target on the same batch and masks (the head's `baseline_loss`): a held-out loss at that level means nothing
    about the signal was learnt.

    The batch runs in chunks of `per_device_batch_size` windows, the last one shorter when the rows do not fill it.
    A CiTrus model's loss is the mean over every scored patch of the batch (each chunk's mean weighted by its scored
    patches) and the baseline predicts the mean target of the whole batch, so neither depends on the chunking: a mean
    of the chunks' means weighed the windows of a short last chunk more (one window in a chunk of its own counted as
    much as the four before it). Another model's `loss_fn` gives a mean alone, weighted by its chunk's windows."""

    def __init__(self, eval_windows, args: PretrainArguments, accelerator, loss_fn, with_baseline: bool):
        self.batch = None
        if eval_windows is not None and len(eval_windows):
            rows = held_out_rows(len(eval_windows), args.eval_batches * args.per_device_batch_size)
            self.batch = WindowDataset(eval_windows).__getitems__(rows.tolist())
        self.args, self.accelerator, self.loss_fn, self.with_baseline = args, accelerator, loss_fn, with_baseline

    def __call__(self, model) -> tuple[float, float | None] | None:
        """`(held-out loss, baseline loss or None)`, or None without validation data."""
        from .callbacks import isolated_rng

        if self.batch is None:
            return None
        accelerator, size = self.accelerator, self.args.per_device_batch_size
        unwrapped = accelerator.unwrap_model(model)
        unwrapped.eval()
        losses, weights, targets = [], [], []
        with torch.no_grad(), isolated_rng(accelerator.device, self.args.seed), accelerator.autocast():
            for start in range(0, len(self.batch["example_id"]), size):
                chunk = {k: v[start : start + size].to(accelerator.device) for k, v in self.batch.items()}
                if not self.with_baseline:
                    losses.append(float(self.loss_fn(unwrapped, chunk)))
                    weights.append(len(chunk["example_id"]))
                    continue
                outputs = unwrapped(
                    input_values=chunk["input_values"], patch_mask=chunk["patch_mask"], return_dict=True
                )
                losses.append(float(outputs.loss))
                weights.append(int(outputs.token_mask.sum()))  # the scored patches the chunk's mean is over
                targets.append(outputs.target[outputs.token_mask])
        unwrapped.train()
        loss = float(np.average(losses, weights=weights)) if sum(weights) else float(np.mean(losses))
        if not targets:
            return loss, None
        return loss, float(unwrapped.head.baseline_loss(torch.cat(targets)))


def pretrain(
    args: PretrainArguments,
    model_factory: Callable[[CiTrusConfig], torch.nn.Module] | None = None,
    loss_fn: Callable[[torch.nn.Module, dict[str, torch.Tensor]], torch.Tensor] = citrus_loss,
) -> PretrainResult:
    """Pre-train a model by masked auto-encoding on an unlabelled corpus (see the module docstring).

    Args:
        args: the run's settings. `mixed_precision` / `gradient_accumulation_steps` None take Accelerate's setting
            (`accelerate launch --mixed_precision` or its config file; `ACCELERATE_GRADIENT_ACCUMULATION_STEPS`), else
            "no" / 1; a value given wins over Accelerate's. The summary and checkpoints record the values the run
            used. With `show_progress=False`, datasets' and transformers' progress bars are off during the run too.
        model_factory: builds the model from the CiTrus config (which also fixes the input contract); default
            `CiTrusForPretraining(config)`. Baselines (PatchTST) pass their own, with a matching `loss_fn`.
        loss_fn: `(model, batch) -> loss`, with `batch` as `WindowDataset` yields it.

    Returns:
        `PretrainResult`; the model (`save_pretrained`) and its `CiTrusFeatureExtractor` are in `args.output_dir`
        when the run completed `max_steps`.

    Raises:
        NonFiniteLossError: the loss became NaN or infinite; raised at the next logging or checkpoint step (whichever
            comes first), naming the step where it happened and the likely causes. Checkpoints saved before that
            step are left as they are; nothing is saved after it.

    The run seeds Python's, numpy's and torch's global generators from `args.seed` (a resumed run takes the
    checkpoint's states); the caller's states of those generators are put back on the way out.
    """
    with caller_random_state_kept(), _library_progress_bars(args.show_progress):
        return _pretrain(args, model_factory, loss_fn)


@contextlib.contextmanager
def _library_progress_bars(shown: bool):
    """datasets' (building, aligning the corpus) and transformers' (writing the weights) progress bars follow
    `show_progress` as the training bar does, for the run only; a user's own choice (HF_DATASETS_DISABLE_PROGRESS_BARS,
    bars already off, huggingface_hub's bars off) stands, and every switch is as it was after the run."""
    if shown:
        yield
        return
    import datasets
    from transformers.utils import logging as transformers_logging

    quiet_datasets = "HF_DATASETS_DISABLE_PROGRESS_BARS" not in os.environ and not datasets.are_progress_bars_disabled()
    if quiet_datasets:
        datasets.disable_progress_bars()
    try:
        with progress_bar_switches_kept():
            if transformers_logging.is_progress_bar_enabled():
                transformers_logging.disable_progress_bar()
            yield
    finally:
        if quiet_datasets:
            datasets.enable_progress_bars()


def _pretrain(args: PretrainArguments, model_factory, loss_fn) -> PretrainResult:
    """`pretrain`'s run, with the progress bars set."""
    start_time = time.perf_counter()
    is_citrus = model_factory is None
    # continued pre-training: the checkpoint's config and weights (a pre-training checkpoint's decoder too)
    checkpoint = None if args.model is None else resolve_checkpoint(args.model)
    if checkpoint is not None and not is_citrus:
        raise ValueError(f"--model {args.model!r} continues a CiTrus checkpoint; this run builds another model.")
    config = (
        build_config(args.model_config, **args.config_overrides)
        if checkpoint is None
        else checkpoint_config(args.model, resolved=checkpoint, **args.config_overrides)  # (errors name --model)
    )
    args, accelerator = _accelerator(args, config)
    resume_dir = resolve_resume(args, accelerator)
    # one run at a time in the folder (two started at once into one new folder would prune and overwrite each other's
    # checkpoints): taken before the folder is checked, so that the second finds the first
    launch = accelerator if accelerator.num_processes > 1 else None
    try:
        with (
            # the libraries' bars (transformers' "Loading weights") from the local main process alone, as the run's
            _library_progress_bars(accelerator.is_local_main_process),
            main_process_speaks(accelerator.is_main_process),
            output_folder_lock(
                args.output_dir, "citrus pretrain", launch, args.overwrite_output_dir, takeover="--overwrite-output-dir"
            ),
        ):
            result = _pretrain_in_folder(
                args, accelerator, config, checkpoint, resume_dir, model_factory, loss_fn, start_time
            )
    except Exception as error:
        # A stop or refusal inside the run (a NaN loss, a checkpoint of another run) ends the training here too, once
        # the run's objects are freed: the error's traceback holds the frames that hold them until they are cleared
        # (their names and lines stay for the traceback), with those of the errors it was raised from or during. An
        # interrupt leaves the process group as it was before.
        # (a chain can loop back on itself: an error re-raised while handling one raised from it)
        chained: BaseException | None = error
        seen: set[int] = set()
        while chained is not None and id(chained) not in seen:
            seen.add(id(chained))
            traceback.clear_frames(chained.__traceback__)
            chained = chained.__cause__ or chained.__context__
        accelerator.end_training()
        raise
    # `end_training` destroys the process group: only once the run's objects (the DDP model's wrapper, the data
    # stream, the loop) are freed with `_pretrain_in_folder`'s frame. Destroyed before, a rank could wait forever in
    # their teardown at that frame's return under two CPU processes (3 of 10 launches on a busy 2-core machine; 0 of
    # 20 this way).
    accelerator.end_training()
    return result


def _pretrain_in_folder(
    args: PretrainArguments, accelerator, config, checkpoint, resume_dir, model_factory, loss_fn, start_time: float
) -> PretrainResult:
    """`_pretrain` once the run holds its output folder's lock."""
    from accelerate.utils import set_seed

    from ..modeling_citrus import CiTrusForPretraining

    is_citrus = model_factory is None
    if resume_dir is None:
        _check_fresh_output_dir(args)
    _say_what_is_ignored(args, accelerator)
    # a folder `citrus data build --output` saved: the registered set it holds, recorded for evaluation's corpus check
    dataset_built_from = built_from(args.dataset)
    evaluation_sets = corpus_evaluation_sets(args.dataset)  # what the corpus held out, before the build consults them

    if args.full_determinism:  # before any kernel runs: CUDA reads its workspace setting once
        from transformers import enable_full_determinism

        enable_full_determinism(args.seed)
    # Same weights on every process whatever the process count, so 1 and N processes start alike.
    set_seed(args.seed)
    if checkpoint is not None:
        # float32 master weights whatever the checkpoint was saved in (a bf16 checkpoint loads as bf16, and pure bf16
        # AdamW loses most updates); reduced precision is `--mixed-precision`'s autocast
        model = CiTrusForPretraining.from_pretrained(checkpoint, dtype=torch.float32)
    else:
        model = CiTrusForPretraining(config) if is_citrus else model_factory(config)
    train_windows, eval_windows = _load_corpus(args, config, accelerator)
    training = TrainingBatches(args, config, train_windows, accelerator)
    if training.stream is not None:  # the mix the generator weights resolve to (pairs update the default mix)
        shares = synthetic_shares(training.stream.settings()["generators"])
        _tell(accelerator, f"Synthetic share of the training windows {args.synthetic_ratio:g}, from: {shares}.")
    optimizer, scheduler = _optimizer_and_scheduler(model, args, accelerator.num_processes)
    if training.dataloader is not None:
        model, optimizer, training.dataloader, scheduler = accelerator.prepare(
            model, optimizer, training.dataloader, scheduler
        )
    else:  # the stream is each process's own: nothing for Accelerate to shard
        model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    progress = TrainingProgress()
    accelerator.register_for_checkpointing(progress)
    if resume_dir is not None:
        run_learning_rate = check_resumable(
            resume_dir, args, accelerator.num_processes, warn=accelerator.is_main_process
        )
        try:
            accelerator.load_state(str(resume_dir))
        except RuntimeError as error:  # torch's load_state_dict: another architecture (missing keys, sizes)
            if "state_dict" not in str(error):
                raise
            raise ValueError(
                f"The checkpoint {resume_dir} holds another model than this command builds (--model-config "
                f"{args.model_config!r}, --config-overrides {args.config_overrides}): resume with the model settings "
                "of the run that wrote it, or start a new --output-dir."
            ) from None
        if progress.step > args.max_steps:
            raise ValueError(
                f"The checkpoint {resume_dir} is at step {progress.step}, past this run's --max-steps "
                f"{args.max_steps}: it belongs to a longer run. Resume with that run's --max-steps, or start a new "
                "--output-dir."
            )
        if args.stop_after_steps is not None and progress.step >= args.stop_after_steps < args.max_steps:
            raise ValueError(
                f"The checkpoint {resume_dir} is at step {progress.step}, already at --stop-after-steps "
                f"{args.stop_after_steps}: the run would train nothing. Give a --stop-after-steps above "
                f"{progress.step}, or leave it out to train on to --max-steps {args.max_steps}."
            )
        if run_learning_rate is not None:  # a lower --learning-rate (after a NaN loss): the one setting that may change
            lower_learning_rate(optimizer, scheduler, run_learning_rate, args.learning_rate)
        _tell(accelerator, f"Resumed from {resume_dir} at step {progress.step} (epoch {progress.epoch}).")
    # Masks differ between processes (each sees other windows anyway), but are reproducible per process.
    if resume_dir is None:
        set_seed(args.seed, device_specific=True)

    if resume_dir is None and args.overwrite_output_dir:  # everything checked: the run starts here
        _clear_earlier_run(args, accelerator)
    if args.report_to == "tensorboard":
        accelerator.init_trackers(TRACKER_NAME, config=_tracker_config(args, config, accelerator.num_processes))
    held_out = HeldOutLoss(eval_windows, args, accelerator, loss_fn, with_baseline=is_citrus and loss_fn is citrus_loss)
    resumed_at = progress.step
    loop = PretrainingLoop(args, accelerator, model, optimizer, scheduler, loss_fn, held_out, plot=is_citrus)
    curves = loop.run(training, progress)
    if accelerator.num_processes > 1:
        # the main process alone computes the held-out loss: every process returns the run's curves (the others'
        # `PretrainResult` had no held-out loss and `learnt` None, or the points before a resume only)
        from accelerate.utils import broadcast_object_list

        curves = broadcast_object_list([curves], from_process=0)[0]
    if resume_dir is not None and not progress.restored_record:  # an older checkpoint: the summary's earlier curves
        curves = {name: _earlier_curve(args.output_dir, name, resumed_at) + curve for name, curve in curves.items()}
    completed = progress.step >= args.max_steps
    accelerator.wait_for_everyone()
    if completed:
        loop.check_weights(progress.step)  # (the last step's checkpoint checked them: a resume at max_steps did not)
        _save_model(accelerator, model, config, args.output_dir, is_citrus)
    result = PretrainResult(
        output_dir=str(args.output_dir),
        steps=progress.step,
        completed=completed,
        final_loss=curves["train"][-1][1] if curves["train"] else None,
        eval_losses=curves["eval"],
        num_train_windows=0 if train_windows is None else len(train_windows),
        world_size=accelerator.num_processes,
        seconds=time.perf_counter() - start_time,
        train_losses=curves["train"],
        eval_baseline_losses=curves["baseline"],
        synthetic_ratio=args.synthetic_ratio,
        synthetic_stream=None if training.stream is None else training.stream.settings(),
        pretraining_objective=config.pretraining_objective if is_citrus else None,
        environment=run_environment(),
        dataset_built_from=dataset_built_from,
        evaluation_sets=evaluation_sets,
        model=accelerator.unwrap_model(model),
    )
    if accelerator.is_main_process:
        message = result.did_not_learn()
        if message:
            # the user's `pretrain(...)` line, however many of the package's calls lie between
            warnings.warn(message, PretrainingDidNotLearnWarning, stacklevel=outside_stacklevel())
        Path(args.output_dir).mkdir(parents=True, exist_ok=True)
        summary = result.summary() | {"arguments": asdict(args)}
        # whole or not at all: half a summary (a full disk) was read by evaluate, push and --resume-from and failed
        replace_text(Path(args.output_dir) / SUMMARY_FILE, dumps_strict(summary, indent=2))
    return result  # (`_pretrain` ends the training once this frame's objects are freed)


def _tell(accelerator, message: str) -> None:
    """A line about the run, on stderr (stdout holds the command's result only), from the main process."""
    if accelerator.is_main_process:
        print(message, file=sys.stderr, flush=True)


def _check_fresh_output_dir(args: PretrainArguments) -> None:
    """Refuse to start a run in a folder that holds another one, unless asked to overwrite: another pre-training run
    (its checkpoints would be pruned by step number together with this run's, and `--resume-from latest` would
    continue the other run), or a fine-tuned model (`citrus finetune`, save_pretrained: its weights would be replaced
    and its records, `finetune_results.json` that `citrus push` reads, would describe this run's). The run that
    `--overwrite-output-dir` replaces is deleted only once this one is about to train (`_clear_earlier_run`)."""
    output_dir = Path(args.output_dir)
    earlier_run = holds_pretraining_run(output_dir)
    model_files = model_files_in(output_dir)
    if not earlier_run and not model_files:
        return
    if not args.overwrite_output_dir:
        if earlier_run:
            earlier = checkpoints_in(output_dir)
            found = f"checkpoints {[p.name for p in earlier]}" if earlier else SUMMARY_FILE
            raise ValueError(
                f"--output-dir {str(output_dir)!r} already holds a pre-training run ({found}); continue it with "
                "--resume-from latest, give another --output-dir, or pass --overwrite-output-dir to start afresh "
                "there."
            )
        raise ValueError(
            f"--output-dir {str(output_dir)!r} already holds a model ({', '.join(model_files)}); give another "
            "--output-dir, or pass --overwrite-output-dir to replace it (its model, adapter, card and records)."
        )


def _clear_earlier_run(args: PretrainArguments, accelerator) -> None:
    """Delete the earlier run `_check_fresh_output_dir` let `--overwrite-output-dir` replace (its checkpoints, which
    would be pruned by step number together with this run's, its summary and a model's files), once this run is
    about to train: deleted at the check, a run then refused on its corpus (a split that does not exist, NaN rows)
    left a folder of config and code without weights, and the earlier run was lost. Its TensorBoard logs go too,
    before this run's tracker starts in the same folder: kept, TensorBoard drew both runs as one, two losses a step."""
    output_dir = Path(args.output_dir)
    model_files = model_files_in(output_dir)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(output_dir / CHECKPOINTS_DIR, ignore_errors=True)
        shutil.rmtree(output_dir / TRACKER_NAME, ignore_errors=True)
        (output_dir / SUMMARY_FILE).unlink(missing_ok=True)
        if model_files:  # the earlier model's files, so that none is left beside this run's (an adapter, records)
            logger.warning(f"Replacing the model in {output_dir} (--overwrite-output-dir).")
            for name in FINETUNE_MODEL_FILES:
                (output_dir / name).unlink(missing_ok=True)
    accelerator.wait_for_everyone()


def _say_what_is_ignored(args: PretrainArguments, accelerator) -> None:
    """Settings that would change nothing, each said once, on the main process."""
    notes = []
    if warmup := warmup_spans_run_notice(args.warmup_steps, args.num_warmup_steps, args.max_steps):
        notes.append(warmup)
    if args.model is None and (
        Path(str(args.model_config)).is_dir() or bundled_checkpoint(str(args.model_config)) is not None
    ):
        notes.append(
            f"--model-config {args.model_config!r} gives the model's settings only: its weights are not loaded, the "
            f"run starts from a fresh initialisation (--model {args.model_config} continues from its weights)"
        )
    _say_on_the_main_process(accelerator, notes)


def _say_on_the_main_process(accelerator, notes: list[str]) -> None:
    """Each of `notes` (sentences without their full stop) as a warning, from the main process only."""
    if accelerator.is_main_process:
        for note in notes:
            logger.warning(note + ".")


def _accelerator(args: PretrainArguments, config: CiTrusConfig):
    """The run's Accelerator, and a copy of `args` holding the mixed precision and gradient accumulation it runs with
    (what the summary, the checkpoints' `run_settings.json` and the resume check record).

    `args.mixed_precision` / `args.gradient_accumulation_steps` None take Accelerate's setting (`LAUNCH_PRECISION`,
    `LAUNCH_ACCUMULATION`: `accelerate launch` flags or config file), else "no" / 1; a value given wins over
    Accelerate's, and the main process says so when they differ. Refuses a launch whose processes Accelerate would run
    each alone (`launch.check_launched_processes`)."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, GradientAccumulationPlugin

    _fresh_accelerate_state(args.mixed_precision)
    # Accelerate reads LAUNCH_PRECISION as written: "BF16" trained in fp32 (no autocast) recorded as "BF16", and
    # "fp8" failed asking for a library. It is checked and lower-cased as `citrus finetune` reads it, and handed
    # over so only when Accelerate would misread it (None keeps a launch's state built before as it is).
    precision = resolve_mixed_precision(args.mixed_precision)
    written = os.environ.get(LAUNCH_PRECISION)
    launched_accumulation = _launched_accumulation()
    accumulation = args.gradient_accumulation_steps or launched_accumulation or 1
    accelerator = Accelerator(
        # None: Accelerate's (the launch's, else "no")
        mixed_precision=args.mixed_precision or (None if written in (None, precision) else precision),
        # a plugin, not `gradient_accumulation_steps=`, which Accelerate's environment variable would override.
        # sync_with_dataloader=False: Accelerate otherwise ends every epoch with an optimizer step of the micro-batches
        # left (one of two, say) whose loss it still divides by the accumulation count, a step of fewer windows at a
        # fraction of the gradient; the accumulation runs on into the next epoch instead, so that every optimizer step
        # holds `accumulation` micro-batches (each weighed as a whole: a mean over its own scored patches).
        gradient_accumulation_plugin=GradientAccumulationPlugin(num_steps=accumulation, sync_with_dataloader=False),
        log_with="tensorboard" if args.report_to == "tensorboard" else None,
        project_dir=str(args.output_dir),
        # The CNN-only ablation never uses its mask token (it is not masked), which DDP must be told about.
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=config.backbone == "cnn")],
    )
    check_launched_processes("pretrain", accelerator.num_processes, accelerator.is_main_process)
    # (a precision given wins over the launch's, fp16 on a CPU, bf16 on a CPU: the same notes as `citrus finetune`)
    notes = mixed_precision_notes(args.mixed_precision, accelerator.mixed_precision, accelerator.device.type)
    given = args.gradient_accumulation_steps
    if given is not None and launched_accumulation is not None and launched_accumulation != given:
        notes.append(
            f"--gradient-accumulation-steps {given} wins over {LAUNCH_ACCUMULATION}={launched_accumulation}; leave "
            "--gradient-accumulation-steps out to take the environment's"
        )
    _say_on_the_main_process(accelerator, notes)
    resolved = copy.copy(args)  # the caller's settings stay as given (None: Accelerate's, again at the next run)
    # what ran: fp16 on a CPU is fp32 (Accelerate keeps "fp16" and autocasts nothing)
    resolved.mixed_precision = precision_that_runs(accelerator.mixed_precision, accelerator.device.type)
    resolved.gradient_accumulation_steps = accelerator.gradient_accumulation_steps
    return resolved, accelerator


def _launched_accumulation() -> int | None:
    """`LAUNCH_ACCUMULATION` as a step count, None when it is not set."""
    text = os.environ.get(LAUNCH_ACCUMULATION, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{LAUNCH_ACCUMULATION}={text!r} must be a positive whole number of micro-steps.")
    return int(text)


def _fresh_accelerate_state(mixed_precision: str | None) -> None:
    """Let this run build its own Accelerate state in a process that built one before (an earlier `pretrain`, a
    `Trainer`, the user's own `Accelerator()` in a notebook), whose precision Accelerate would otherwise refuse to
    change ("restart your runtime"): in a single process it is reset, as transformers' `TrainingArguments` does.
    Under a launcher the processes share that state with their process group, so it stays, and another precision is
    refused in one line. A state half built by a construction that failed (a launch environment without MASTER_ADDR)
    is reset too: Accelerate keeps it, and every later Accelerator in the process failed on its missing attributes."""
    from accelerate.state import AcceleratorState, GradientState, PartialState

    if not PartialState._shared_state:
        return
    if "num_processes" not in PartialState._shared_state or PartialState().num_processes == 1:
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
        return
    built = AcceleratorState._shared_state.get("_mixed_precision")
    if mixed_precision is not None and built is not None and built != mixed_precision:
        raise ValueError(
            f"This process's Accelerator was built with mixed precision {built!r} and cannot change under a launcher: "
            f"pass mixed_precision={built!r} (or None to take it), or build the Accelerator with {mixed_precision!r}."
        )


def _save_model(
    accelerator, model: torch.nn.Module, config: CiTrusConfig, output_dir: str | os.PathLike, is_citrus: bool
) -> None:
    """`save_pretrained` of the trained model (the main process writes) and of its feature extractor."""
    unwrapped = accelerator.unwrap_model(model)
    unwrapped.save_pretrained(
        str(output_dir), is_main_process=accelerator.is_main_process, save_function=accelerator.save
    )
    if accelerator.is_main_process:
        # A CiTrus model's saved config names its (encoder-only) class: its extractor takes any channel count.
        contract = unwrapped.config if is_citrus else config
        CiTrusFeatureExtractor.from_config(contract).save_pretrained(str(output_dir))


def _optimizer_and_scheduler(model: torch.nn.Module, args: PretrainArguments, num_processes: int):
    """AdamW (no weight decay on norms, biases and tokens) and the warm-up + cosine schedule."""
    from transformers import get_cosine_schedule_with_warmup

    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        (no_decay if parameter.ndim < 2 or "token" in name else decay).append(parameter)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.learning_rate,
    )
    # A prepared scheduler steps once per process at every optimizer step: scale its horizon accordingly.
    scheduler = get_cosine_schedule_with_warmup(
        optimizer,
        num_warmup_steps=args.num_warmup_steps * num_processes,
        num_training_steps=args.max_steps * num_processes,
    )
    return optimizer, scheduler


# The loop's curve -> its key in the summary (`PretrainResult`'s field); `training.curves` reads the summary by these.
SUMMARY_CURVES = {"train": "train_losses", "eval": "eval_losses", "baseline": "eval_baseline_losses"}


def _earlier_curve(output_dir: str | os.PathLike, name: str, last_step: int) -> list[tuple[int, float]]:
    """The points of curve `name` up to step `last_step` (where the run resumed) that its summary recorded: the
    earlier curve of a run resumed from a checkpoint that does not hold it (written before it was part of one)."""
    summary_path = Path(output_dir) / SUMMARY_FILE
    if not summary_path.is_file():
        return []
    points = json.loads(summary_path.read_text(encoding="utf-8")).get(SUMMARY_CURVES[name]) or []
    return [(int(step), float(loss)) for step, loss in points if int(step) <= last_step]


def _cut_sample_log(path: Path, start_step: int) -> None:
    """Keep only the lines of the sample log `path` for optimizer steps before `start_step`, where the run (re)starts:
    a run resumed from an earlier checkpoint, or started afresh in the folder, logs the later steps again."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["step"] < start_step:
                kept.append(line + "\n")
        except (ValueError, KeyError, TypeError):  # a line cut short by a killed process
            continue
    path.write_text("".join(kept), encoding="utf-8")


class PretrainingLoop:
    """The optimisation loop from where `progress` stands to `stop_after_steps` (or `max_steps`): micro-steps with
    gradient accumulation, and at optimizer steps the logs, evaluations, figures and checkpoints the settings ask for.
    `run` returns the curves `{"train": [(step, loss)], "eval": [...], "baseline": [...]}`: those `progress` brought
    from its checkpoint, then this call's.

    Logs and evaluations happen on the `logging_steps` / `eval_steps` grid and at `max_steps`, never because the run
    stops early (`stop_after_steps`): a stopped and resumed run records the uninterrupted run's points. The stop step
    still gets its checkpoint.
    """

    def __init__(self, args, accelerator, model, optimizer, scheduler, loss_fn, held_out: HeldOutLoss, plot: bool):
        self.args, self.accelerator = args, accelerator
        self.model, self.optimizer, self.scheduler, self.loss_fn = model, optimizer, scheduler, loss_fn
        self.held_out = held_out
        self.citrus = plot  # a CiTrus pre-training model: its figures, and its own loss checks the weights saved
        self.writer = None
        if plot and args.report_to == "tensorboard" and accelerator.is_main_process and held_out.batch is not None:
            self.writer = accelerator.get_tracker(TRACKER_NAME, unwrap=True)
        self.guard = NonFiniteLossGuard(args, accelerator)
        self.stop_at = args.stop_after_steps or args.max_steps
        self.progress = TrainingProgress()
        self.running_loss, self.running_count = torch.zeros((), device=accelerator.device), 0
        self.warned_not_learning = False
        self.last_batch: dict[str, torch.Tensor] | None = None  # the weights about to be saved are checked on it

    @property
    def curves(self) -> dict[str, list[tuple[int, float]]]:
        return self.progress.curves

    def _continue_record(self, progress: TrainingProgress) -> None:
        """Take over the curves and this process's running loss from `progress` (a checkpoint's, or a fresh one)."""
        self.progress = progress
        if progress.running_losses:
            losses, rank = progress.running_losses, self.accelerator.process_index
            # one per process; a checkpoint of another process count (only from before `check_resumable`) gets the mean
            loss = losses[rank] if len(losses) == self.accelerator.num_processes else sum(losses) / len(losses)
            self.running_loss.fill_(loss)
        self.running_count = progress.running_count

    def run(self, training: TrainingBatches, progress: TrainingProgress) -> dict[str, list[tuple[int, float]]]:
        args, accelerator = self.args, self.accelerator
        bar = progress_bar(
            args.show_progress and accelerator.is_local_main_process,
            total=args.max_steps,
            initial=progress.step,
            desc="pre-training",
            unit="step",
            dynamic_ncols=True,
        )
        sample_log = None
        # the bar is closed on any error after it is drawn (a sample log that cannot be opened too): left drawn, the
        # error's line continued the bar's, and its hook printing Python warnings below it stayed in place
        try:
            self._continue_record(progress)
            if args.log_sample_ids:
                Path(args.output_dir).mkdir(parents=True, exist_ok=True)
                path = Path(args.output_dir) / f"sample_ids_rank{accelerator.process_index}.jsonl"
                _cut_sample_log(path, progress.step)
                sample_log = open(path, "a", encoding="utf-8")
            self.model.train()
            while progress.step < self.stop_at:
                for batch in training.epoch(progress):
                    self.micro_step(batch, progress.step + 1)
                    progress.batches_in_epoch += 1
                    if sample_log is not None:
                        entry = {"step": progress.step, "ids": batch["example_id"].tolist()}
                        if "source_id" in batch:  # the stream: ids are rows of the corpus, -1 for synthetic windows
                            entry["sources"] = batch["source_id"].tolist()
                        sample_log.write(json.dumps(entry) + "\n")
                    if not accelerator.sync_gradients:
                        continue
                    progress.step += 1
                    bar.update(1)
                    self.after_optimizer_step(progress.step, bar)
                    if progress.step >= self.stop_at:
                        break
                else:
                    progress.epoch += 1
                    progress.batches_in_epoch = 0
        finally:
            bar.close()
            if sample_log is not None:
                sample_log.close()
        return self.curves

    def micro_step(self, batch: dict[str, torch.Tensor], step: int) -> None:
        """Forward and backward of one batch; the optimizer steps when gradients are synchronised."""
        accelerator, args = self.accelerator, self.args
        self.last_batch = batch
        with accelerator.accumulate(self.model):
            loss = self.loss_fn(self.model, batch)
            self.guard.track(loss, step)
            accelerator.backward(loss)
            if accelerator.sync_gradients and args.max_grad_norm:
                accelerator.clip_grad_norm_(self.model.parameters(), args.max_grad_norm)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad()
        self.running_loss += loss.detach().float()
        self.running_count += 1

    def after_optimizer_step(self, step: int, bar) -> None:
        args, accelerator = self.args, self.accelerator
        last = step == args.max_steps
        if step % args.logging_steps == 0 or last:
            self.guard.stop_if_loss_broke()
            mean_loss = float(accelerator.reduce(self.running_loss / self.running_count, reduction="mean"))
            self.curves["train"].append((step, mean_loss))
            self.running_loss.zero_()
            self.running_count = 0
            bar.set_postfix(loss=f"{mean_loss:.4f}")
            accelerator.log(
                {"train/loss": mean_loss, "train/learning_rate": self.scheduler.get_last_lr()[0]}, step=step
            )
        if accelerator.is_main_process and (step % args.eval_steps == 0 or last):
            self.evaluate(step)
        if self.writer is not None and step % args.plot_steps == 0:
            self.plot(step)
        if step % args.save_steps == 0 or step == self.stop_at:
            self.save_checkpoint(step)

    def evaluate(self, step: int) -> None:
        evaluation = self.held_out(self.model)
        if evaluation is None:
            return
        loss, baseline = evaluation
        self.curves["eval"].append((step, loss))
        logged = {"eval/loss": loss}
        if baseline is not None:
            self.curves["baseline"].append((step, baseline))
            logged["eval/baseline_loss"] = baseline
            message = None if self.warned_not_learning else not_learning_yet(step, self.args.max_steps, loss, baseline)
            if message:
                warnings.warn(message, PretrainingDidNotLearnWarning, stacklevel=outside_stacklevel())
                self.warned_not_learning = True
        self.accelerator.log(logged, step=step)

    def plot(self, step: int) -> None:
        from .callbacks import reconstruction_figure

        device = self.accelerator.device
        figure = reconstruction_figure(
            self.accelerator.unwrap_model(self.model),
            self.held_out.batch["input_values"][:1].to(device),
            self.held_out.batch["patch_mask"][:1].to(device),
            seed=self.args.seed,
        )
        self.writer.add_figure("reconstruction", figure, global_step=step)

    def check_weights(self, step: int) -> None:
        """Stop, before they are saved, on weights that the losses read so far never saw: those `step` wrote."""
        self.guard.stop_if_loss_broke()
        # a CiTrus model's own loss: a loss function of the caller's may count its calls (a test's NaN from call N)
        own_loss = citrus_loss if self.citrus else self.loss_fn
        self.guard.stop_if_weights_broke(self.model, self.last_batch, own_loss, step)

    def save_checkpoint(self, step: int) -> None:
        self.check_weights(step)
        # the loss summed since the last log, of every process (the main process writes the progress file)
        self.progress.running_losses = self.accelerator.gather(self.running_loss.detach().reshape(1)).tolist()
        self.progress.running_count = self.running_count
        output_dir = Path(self.args.output_dir)
        folder = output_dir / CHECKPOINTS_DIR / f"{CHECKPOINT_PREFIX}{step}"
        try:
            self._write_checkpoint(folder)
        except (KeyboardInterrupt, OSError, RuntimeError) as error:
            # An interrupt or a full disk mid-save left a folder that `--resume-from latest` would pick and fail on.
            if self.accelerator.is_main_process:
                shutil.rmtree(folder, ignore_errors=True)
            if isinstance(error, KeyboardInterrupt):
                raise
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise OSError(
                f"Could not write the checkpoint {folder} ({first_line}); is the disk full? The incomplete folder was "
                "removed: free some space and resume from the last complete checkpoint (--resume-from latest)."
            ) from error
        if self.accelerator.is_main_process and self.args.save_total_limit:
            for old in checkpoints_in(output_dir)[: -self.args.save_total_limit]:
                shutil.rmtree(old, ignore_errors=True)

    def _write_checkpoint(self, folder: Path) -> None:
        """Accelerate's state plus the config, extractor and run settings that make `folder` a loadable, resumable
        checkpoint."""
        self.accelerator.save_state(str(folder))
        unwrapped = self.accelerator.unwrap_model(self.model)
        if self.accelerator.is_main_process and isinstance(getattr(unwrapped, "config", None), CiTrusConfig):
            # beside Accelerate's state, what makes the folder a checkpoint `from_pretrained` loads (its weights are
            # Accelerate's model.safetensors): a stopped or interrupted run leaves usable models
            config = copy.deepcopy(unwrapped.config)
            # the keys `save_pretrained` adds for the final folder: the weights' dtype, and the pipeline that
            # `pipeline(model=folder)` runs without a task name
            config.architectures = [type(unwrapped).__name__]
            config.dtype = unwrapped.dtype
            config.custom_pipelines = custom_pipelines_for(type(unwrapped).__name__, config.problem_type)
            if getattr(unwrapped, "_auto_class", None) is not None:
                # the model's code and its `auto_map` entry, as `save_pretrained` writes them for the final folder:
                # the checkpoint then loads with an Auto class and `trust_remote_code` too
                from transformers.dynamic_module_utils import custom_object_save

                custom_object_save(unwrapped, str(folder), config=config)
            config.save_pretrained(str(folder))
            CiTrusFeatureExtractor.from_config(config).save_pretrained(str(folder))
            # and the pipeline code that config names, as `save_pretrained` saves it
            save_pipeline_code(unwrapped, folder)
        if self.accelerator.is_main_process:  # what an exact resume must repeat (`check_resumable`)
            settings = resume_settings(self.args, self.accelerator.num_processes) | run_environment()
            (folder / RUN_SETTINGS_FILE).write_text(json.dumps(settings, indent=2, default=str), encoding="utf-8")


class NonFiniteLossGuard:
    """Stops a run whose loss became NaN or infinite, before it logs or saves anything trained on that loss, and a run
    whose weights, about to be saved, are not finite.

    The first optimizer step whose loss was NaN / inf, and that loss, are tracked on the device: checking every step
    would wait for the accelerator at each one. They are read (on every process, at the same steps) before anything
    is logged or saved, so the run stops at the next logging step and never saves weights trained on such a loss.
    A step's loss is computed before its update, so the weights a step writes are checked apart, on its batch, before
    a checkpoint or the final model saves them (`stop_if_weights_broke`).

    The message names the checkpoint to resume from, with a lower learning rate (the one setting a resume may change,
    `checkpoints.check_resumable`): the newest of the run saved before the weights that broke, whose weights are
    finite. The loss of step N is that of the weights step N - 1 wrote, so the step-(N-1) checkpoint is not one, and
    neither is a later one (left by an earlier attempt of a resumed run).
    """

    no_bad_step = torch.iinfo(torch.int64).max

    def __init__(self, args: PretrainArguments, accelerator):
        self.args, self.accelerator = args, accelerator
        self.first_bad_step = torch.full((1,), self.no_bad_step, dtype=torch.int64, device=accelerator.device)
        self.first_bad_loss = torch.zeros(1, device=accelerator.device)

    def track(self, loss: torch.Tensor, step: int) -> None:
        """Remember `loss` of optimizer step `step` (counted from 1) if it is the first non-finite one."""
        broke_here = ~torch.isfinite(loss.detach().float()).reshape(1) & (self.first_bad_step == self.no_bad_step)
        self.first_bad_step = torch.where(broke_here, step, self.first_bad_step)
        self.first_bad_loss = torch.where(broke_here, loss.detach().float(), self.first_bad_loss)

    def stop_if_loss_broke(self) -> None:
        from .callbacks import NonFiniteLossError, non_finite_loss_message

        steps = self.accelerator.gather(self.first_bad_step)
        losses = self.accelerator.gather(self.first_bad_loss)
        worst = int(steps.argmin())
        if int(steps[worst]) == self.no_bad_step:
            return
        step = int(steps[worst])
        message = non_finite_loss_message(
            step,
            float(losses[worst]),
            self.args.learning_rate,
            self.args.mixed_precision,
            weight_decay=self.args.weight_decay,
            advice=self._advice(broken_weights_step=step - 1),
        )
        raise NonFiniteLossError(message)  # (`_pretrain` ends the training once the run's objects are freed)

    def stop_if_weights_broke(self, model, batch: dict[str, torch.Tensor] | None, loss_fn, step: int) -> None:
        """Stop when the weights optimizer step `step` wrote are NaN or infinite, or give a NaN or infinite loss on
        `batch` (that step's last), on any process; computed in eval mode, without gradients and from a random
        stream of its own, so that the run's own stream and its results stay as they were."""
        from .callbacks import NonFiniteLossError, isolated_rng, non_finite_in, non_finite_loss_message

        unwrapped = self.accelerator.unwrap_model(model)
        problem = non_finite_in(unwrapped)
        if problem is None and batch is not None:
            was_training = unwrapped.training
            unwrapped.eval()
            try:
                with torch.no_grad(), isolated_rng(self.accelerator.device, self.args.seed):
                    loss = loss_fn(unwrapped, batch)
            finally:
                unwrapped.train(was_training)
            if not bool(torch.isfinite(loss.detach().float()).all()):
                problem = f"their loss on that step's batch is {float(loss.detach().float().reshape(-1)[0])}"
        broken = torch.tensor([int(problem is not None)], device=self.accelerator.device)  # (gloo gathers no bool)
        if not bool(self.accelerator.gather(broken).any()):
            return
        message = non_finite_loss_message(
            step,
            math.nan,
            self.args.learning_rate,
            self.args.mixed_precision,
            weight_decay=self.args.weight_decay,
            advice=self._advice(broken_weights_step=step),
            broken_weights=problem or "their loss on another process's batch is not finite",
        )
        raise NonFiniteLossError(message)  # (`_pretrain` ends the training once the run's objects are freed)

    def _advice(self, broken_weights_step: int) -> str:
        """What to do after the weights of optimizer step `broken_weights_step` broke: resume, with a lower learning
        rate, from the newest checkpoint saved before them whose weights are finite, or start afresh."""
        from .callbacks import finite_checkpoint_weights

        saved = checkpoints_in(self.args.output_dir)
        lower = f"{self.args.learning_rate / 10:g}"
        after = [folder.name for folder in saved if checkpoint_step(folder) >= broken_weights_step]
        earlier = next(
            (
                folder
                for folder in reversed(saved)
                if checkpoint_step(folder) < broken_weights_step and finite_checkpoint_weights(folder)
            ),
            None,
        )
        not_these = f"; not from {', '.join(after)}, saved from the weights that broke on" if after else ""
        if earlier is not None:
            return (
                f"Resume from {earlier}, saved before the weights that broke, with a lower learning rate: "
                f"--resume-from {earlier} --learning-rate {lower} (a resume may lower the learning rate; every other "
                f"setting stays the run's){not_these}."
            )
        overwrite = " (--overwrite-output-dir, to replace the checkpoints there)" if saved else ""
        return (
            f"No checkpoint of the run predates the weights that broke{not_these}: start again with a lower "
            f"--learning-rate (e.g. {lower}) or a longer --warmup-steps{overwrite}."
        )


def is_pretrained_model_dir(path: str | os.PathLike) -> bool:
    """True when `path` holds a saved model (config and safetensors weights), e.g. a finished `pretrain` run."""
    path = Path(path)
    return (path / CONFIG_NAME).is_file() and (path / SAFE_WEIGHTS_NAME).is_file()


__all__ = [
    "PRETRAIN_RECIPES",
    "EpochShuffleSampler",
    "PretrainArguments",
    "held_out_rows",
    "PretrainResult",
    "PretrainingDidNotLearnWarning",
    "WindowDataset",
    "citrus_loss",
    "checkpoint_problems",
    "checkpoints_in",
    "holds_pretraining_run",
    "is_pretrained_model_dir",
    "pretrain",
    "run_environment",
]
