"""Masked auto-encoding pre-training of CiTrus with Accelerate.

One loop for one CPU, one GPU, several GPUs or several machines: run the same command under `accelerate launch
--num_processes N` and every process trains on its own shard of the data (data-parallel, gradients averaged by
DDP). Mixed precision (bf16 / fp16), gradient accumulation, warm-up + cosine learning rate, checkpoints with
`Accelerator.save_state` every `save_steps` optimizer steps, an exact `resume_from` (the resumed run ends with the
same weights as an uninterrupted one), TensorBoard logs (loss, learning rate, validation loss and a figure of a masked
window with its reconstruction), and at the end `save_pretrained` of the model and its feature extractor.

Data: any registered dataset (`citrus_hf.data.build_dataset`) or a `datasets` folder written by `save_to_disk`, with
`input_values` `(channels, time)` at any sampling rate (a `sampling_rate` column). Every row is aligned to the
model's input contract (rate, window) by `CiTrusFeatureExtractor` once, in a `Dataset.map` whose result is a
memory-mapped Arrow file in the datasets cache; training reads batches from that file, so the corpus never sits in
RAM.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from .._extras import require
from ..configuration_citrus import CiTrusConfig
from ..data.alignment import align_corpus
from ..data.splits import load_split
from ..feature_extraction_citrus import CiTrusFeatureExtractor
from ..loading import build_config
from .callbacks import ReportTo, check_report_to

CHECKPOINT_PREFIX = "step-"
SUMMARY_FILE = "pretraining_summary.json"


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


@dataclass
class PretrainArguments:
    """Settings of `pretrain`; `citrus pretrain` parses exactly these (each field's help is in its metadata).

    `warmup_steps` is a step count, or a fraction of `max_steps` when below 1. The learning rate warms up linearly,
    then decays to 0 on a cosine (AdamW).
    """

    output_dir: str = field(
        metadata={"help": "where the final model, checkpoints/step-N/, TensorBoard logs and the summary go"}
    )
    dataset: str = field(
        default="eeg_pretrain", metadata={"help": "registered dataset (`citrus data list`) or a save_to_disk folder"}
    )
    dataset_options: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "builder options of a registered dataset, e.g. window_seconds=10"}
    )
    train_split: str = field(default="train", metadata={"help": "split to train on"})
    eval_split: str | None = field(
        default="validation", metadata={"help": "split for the validation loss; 'none' (or a missing split) skips it"}
    )
    sampling_rate: float | None = field(
        default=None, metadata={"help": "rate (Hz) of every row when the corpus has no sampling_rate column"}
    )
    model_config: str = field(
        default="small", metadata={"help": "preset (tiny, small, base), a config.json or a checkpoint folder"}
    )
    config_overrides: dict[str, Any] = field(
        default_factory=dict,
        metadata={"help": "config fields to change, e.g. pretraining_objective=spectrogram backbone=cnn d_model=128"},
    )
    max_steps: int = field(default=1000, metadata={"help": "optimizer steps in all (the schedule spans them)"})
    stop_after_steps: int | None = field(
        default=None,
        metadata={"help": "stop early after this many steps, with a checkpoint; continue with --resume-from latest"},
    )
    per_device_batch_size: int = field(
        default=32, metadata={"help": "windows per process and micro-step (global batch: x processes x accumulation)"}
    )
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "micro-steps per optimizer step"})
    learning_rate: float = field(default=1e-3, metadata={"help": "peak learning rate (AdamW)"})
    weight_decay: float = field(default=0.05, metadata={"help": "AdamW weight decay (not on norms and tokens)"})
    warmup_steps: float = field(default=0.05, metadata={"help": "warm-up steps, or a fraction < 1 of max_steps"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping norm (0: off)"})
    mixed_precision: Literal["no", "bf16", "fp16"] = field(
        default="no", metadata={"help": "autocast precision; bf16 suits CPUs and recent GPUs, fp16 scales the loss"}
    )
    seed: int = field(default=0, metadata={"help": "seeds the initialisation, the data order and the masks"})
    save_steps: int = field(default=500, metadata={"help": "checkpoint every N optimizer steps"})
    save_total_limit: int | None = field(default=2, metadata={"help": "keep the newest N checkpoints"})
    resume_from: str | None = field(
        default=None, metadata={"help": "a checkpoint folder, or 'latest' in output_dir/checkpoints"}
    )
    logging_steps: int = field(default=10, metadata={"help": "log the training loss every N steps"})
    eval_steps: int = field(default=250, metadata={"help": "validation loss every N steps"})
    plot_steps: int = field(
        default=250, metadata={"help": "TensorBoard figure of a masked reconstruction every N steps"}
    )
    eval_batches: int = field(
        default=4, metadata={"help": "validation batches per evaluation (fixed masks: comparable across steps)"}
    )
    report_to: ReportTo = field(
        default="none",
        metadata={"help": "log losses and reconstruction figures to TensorBoard (needs citrus-hf[bench])"},
    )
    num_workers: int = field(default=0, metadata={"help": "data loader worker processes"})
    log_sample_ids: bool = field(
        default=False, metadata={"help": "write the example ids each process trained on to sample_ids_rank{R}.jsonl"}
    )
    show_progress: bool = field(default=True, metadata={"help": "a progress bar on the main process"})

    def __post_init__(self):
        for name in ("max_steps", "per_device_batch_size", "gradient_accumulation_steps", "save_steps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {getattr(self, name)!r}.")
        if self.stop_after_steps is not None and not 0 < self.stop_after_steps <= self.max_steps:
            raise ValueError(
                f"`stop_after_steps` must lie in [1, max_steps={self.max_steps}], got {self.stop_after_steps}."
            )
        if self.mixed_precision not in ("no", "bf16", "fp16"):
            raise ValueError(f"`mixed_precision` must be 'no', 'bf16' or 'fp16', got {self.mixed_precision!r}.")
        check_report_to(self.report_to)
        if self.report_to == "tensorboard":
            require("tensorboard", "report_to='tensorboard'")
        if isinstance(self.eval_split, str) and self.eval_split.lower() == "none":
            self.eval_split = None
        if self.warmup_steps < 0:
            raise ValueError(f"`warmup_steps` must be >= 0, got {self.warmup_steps}.")

    @property
    def num_warmup_steps(self) -> int:
        return int(round(self.warmup_steps * self.max_steps)) if self.warmup_steps < 1 else int(self.warmup_steps)


@dataclass
class PretrainResult:
    """What `pretrain` produced: the folder holding the model and feature extractor, the run's numbers, and the
    trained model itself (unwrapped from DDP; each process holds the same weights)."""

    output_dir: str
    steps: int
    completed: bool
    final_loss: float | None
    eval_losses: list[tuple[int, float]]
    num_train_windows: int
    world_size: int
    seconds: float
    model: torch.nn.Module | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        """The run's numbers as JSON-ready values (everything but the model)."""
        return {k: v for k, v in self.__dict__.items() if k != "model"}


class TrainingProgress:
    """Where the loop is (optimizer steps, epoch, batches consumed in the epoch); saved with every checkpoint."""

    def __init__(self):
        self.step = 0
        self.epoch = 0
        self.batches_in_epoch = 0

    def state_dict(self) -> dict[str, int]:
        return {"step": self.step, "epoch": self.epoch, "batches_in_epoch": self.batches_in_epoch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.step, self.epoch, self.batches_in_epoch = state["step"], state["epoch"], state["batches_in_epoch"]


def citrus_loss(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The loss of a CiTrus pre-training model on a `WindowDataset` batch."""
    return model(input_values=batch["input_values"], patch_mask=batch["patch_mask"]).loss


def checkpoints_in(output_dir: str | os.PathLike) -> list[Path]:
    """The checkpoints of a run, oldest first."""
    folder = Path(output_dir) / "checkpoints"
    found = [p for p in folder.glob(f"{CHECKPOINT_PREFIX}*") if re.fullmatch(rf"{CHECKPOINT_PREFIX}\d+", p.name)]
    return sorted(found, key=lambda p: int(p.name[len(CHECKPOINT_PREFIX) :]))


def _resolve_resume(args: PretrainArguments) -> Path | None:
    if args.resume_from is None:
        return None
    if args.resume_from == "latest":
        found = checkpoints_in(args.output_dir)
        if not found:
            raise FileNotFoundError(
                f"resume_from='latest' but {Path(args.output_dir) / 'checkpoints'} holds no checkpoint; start "
                "without --resume-from, or point --resume-from at a checkpoint folder."
            )
        return found[-1]
    path = Path(args.resume_from)
    if not (path / "custom_checkpoint_0.pkl").is_file():
        raise FileNotFoundError(
            f"{path} is not a pre-training checkpoint (no custom_checkpoint_0.pkl from Accelerator.save_state); "
            f"checkpoints are the folders {Path(args.output_dir) / 'checkpoints' / (CHECKPOINT_PREFIX + 'N')}."
        )
    return path


def _tracker_config(args: PretrainArguments, config: CiTrusConfig, world_size: int) -> dict[str, Any]:
    """Hyperparameters as TensorBoard accepts them (scalars and strings only)."""
    values = {f"train/{k}": v for k, v in asdict(args).items()}
    values.update({f"model/{k}": v for k, v in config.to_diff_dict().items()})
    values["train/world_size"] = world_size
    return {k: v if isinstance(v, (int, float, str, bool)) else json.dumps(v) for k, v in values.items()}


def pretrain(
    args: PretrainArguments,
    model_factory: Callable[[CiTrusConfig], torch.nn.Module] | None = None,
    loss_fn: Callable[[torch.nn.Module, dict[str, torch.Tensor]], torch.Tensor] = citrus_loss,
) -> PretrainResult:
    """Pre-train a model by masked auto-encoding on an unlabelled corpus (see the module docstring).

    Args:
        args: the run's settings.
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
    """
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, set_seed
    from tqdm.auto import tqdm
    from transformers import get_cosine_schedule_with_warmup

    from ..modeling_citrus import CiTrusForPretraining
    from .callbacks import NonFiniteLossError, isolated_rng, non_finite_loss_message, reconstruction_figure

    start_time = time.perf_counter()
    output_dir = Path(args.output_dir)
    config = build_config(args.model_config, **args.config_overrides)
    is_citrus = model_factory is None
    accelerator = Accelerator(
        mixed_precision=args.mixed_precision,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        log_with="tensorboard" if args.report_to == "tensorboard" else None,
        project_dir=str(output_dir),
        # The CNN-only ablation never uses its mask token (it is not masked), which DDP must be told about.
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=config.backbone == "cnn")],
    )
    resume_dir = _resolve_resume(args)

    # Same weights on every process whatever the process count, so 1 and N processes start alike.
    set_seed(args.seed)
    model = CiTrusForPretraining(config) if is_citrus else model_factory(config)

    # One process per machine builds the aligned Arrow cache; the others then read it (also without a shared disk).
    with accelerator.local_main_process_first():
        train_split = load_split(args.dataset, args.train_split, args.dataset_options)
        if train_split is None:
            raise ValueError(f"Dataset {args.dataset!r} has no split {args.train_split!r}.")
        train_windows = align_corpus(train_split, config, args.sampling_rate)
        eval_split = load_split(args.dataset, args.eval_split, args.dataset_options) if args.eval_split else None
        eval_windows = align_corpus(eval_split, config, args.sampling_rate) if eval_split is not None else None
    global_batch = args.per_device_batch_size * accelerator.num_processes
    if len(train_windows) < global_batch:
        raise ValueError(
            f"The corpus has {len(train_windows)} training windows, fewer than one global batch ({global_batch} = "
            f"{args.per_device_batch_size} per process x {accelerator.num_processes} processes); lower "
            "--per-device-batch-size or use a larger corpus."
        )

    dataloader = torch.utils.data.DataLoader(
        WindowDataset(train_windows),
        batch_size=args.per_device_batch_size,
        sampler=EpochShuffleSampler(len(train_windows), args.seed),
        collate_fn=batch_identity,
        drop_last=True,  # equal batch shapes on every process and step
        num_workers=args.num_workers,
        # Worker seeds come from this generator, not from the global one the masking uses.
        generator=torch.Generator().manual_seed(args.seed),
    )
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
        num_warmup_steps=args.num_warmup_steps * accelerator.num_processes,
        num_training_steps=args.max_steps * accelerator.num_processes,
    )
    model, optimizer, dataloader, scheduler = accelerator.prepare(model, optimizer, dataloader, scheduler)
    progress = TrainingProgress()
    accelerator.register_for_checkpointing(progress)
    if resume_dir is not None:
        accelerator.load_state(str(resume_dir))
        accelerator.print(f"Resumed from {resume_dir} at step {progress.step} (epoch {progress.epoch}).")
    # Masks differ between processes (each sees other windows anyway), but are reproducible per process.
    if resume_dir is None:
        set_seed(args.seed, device_specific=True)

    if args.report_to == "tensorboard":
        accelerator.init_trackers("tensorboard", config=_tracker_config(args, config, accelerator.num_processes))
    writer = None
    if args.report_to == "tensorboard" and accelerator.is_main_process:
        writer = accelerator.get_tracker("tensorboard", unwrap=True)
    eval_batch = None
    if eval_windows is not None and len(eval_windows):
        eval_batch = WindowDataset(eval_windows).__getitems__(
            list(range(min(len(eval_windows), args.eval_batches * args.per_device_batch_size)))
        )

    def evaluate() -> float | None:
        """Validation loss with the same masks at every evaluation (drawn from the seed, not the training stream)."""
        if eval_batch is None:
            return None
        unwrapped = accelerator.unwrap_model(model)
        unwrapped.eval()
        losses = []
        with torch.no_grad(), isolated_rng(accelerator.device, args.seed), accelerator.autocast():
            for start in range(0, len(eval_batch["example_id"]), args.per_device_batch_size):
                chunk = {
                    k: v[start : start + args.per_device_batch_size].to(accelerator.device)
                    for k, v in eval_batch.items()
                }
                losses.append(float(loss_fn(unwrapped, chunk)))
        unwrapped.train()
        return float(np.mean(losses))

    # The first optimizer step whose loss was NaN / inf, and that loss, tracked on the device: checking every step
    # would wait for the accelerator at each one. They are read (on every process, at the same steps) before anything
    # is logged or saved, so the run stops at the next logging step and never saves weights trained on such a loss.
    no_bad_step = torch.iinfo(torch.int64).max
    first_bad_step = torch.full((1,), no_bad_step, dtype=torch.int64, device=accelerator.device)
    first_bad_loss = torch.zeros(1, device=accelerator.device)

    def stop_if_loss_broke() -> None:
        steps, losses = accelerator.gather(first_bad_step), accelerator.gather(first_bad_loss)
        worst = int(steps.argmin())
        if int(steps[worst]) == no_bad_step:
            return
        saved = checkpoints_in(output_dir)
        message = non_finite_loss_message(
            int(steps[worst]),
            float(losses[worst]),
            args.learning_rate,
            args.mixed_precision,
            str(saved[-1]) if saved else None,
        )
        accelerator.end_training()
        raise NonFiniteLossError(message)

    def save_checkpoint() -> None:
        stop_if_loss_broke()
        folder = output_dir / "checkpoints" / f"{CHECKPOINT_PREFIX}{progress.step}"
        accelerator.save_state(str(folder))
        if accelerator.is_main_process and args.save_total_limit:
            for old in checkpoints_in(output_dir)[: -args.save_total_limit]:
                shutil.rmtree(old, ignore_errors=True)

    stop_at = args.stop_after_steps or args.max_steps
    progress_bar = tqdm(
        total=args.max_steps,
        initial=progress.step,
        desc="pre-training",
        unit="step",
        disable=not (args.show_progress and accelerator.is_local_main_process),
        dynamic_ncols=True,
    )
    sample_log = None
    if args.log_sample_ids:
        output_dir.mkdir(parents=True, exist_ok=True)
        sample_log = open(output_dir / f"sample_ids_rank{accelerator.process_index}.jsonl", "a")
    eval_losses: list[tuple[int, float]] = []
    running_loss, running_count, last_loss = torch.zeros((), device=accelerator.device), 0, None
    model.train()
    try:
        while progress.step < stop_at:
            dataloader.set_epoch(progress.epoch)
            batches = dataloader
            if progress.batches_in_epoch:
                batches = accelerator.skip_first_batches(dataloader, progress.batches_in_epoch)
            for batch in batches:
                with accelerator.accumulate(model):
                    loss = loss_fn(model, batch)
                    broke_here = ~torch.isfinite(loss.detach().float()).reshape(1) & (first_bad_step == no_bad_step)
                    first_bad_step = torch.where(broke_here, progress.step + 1, first_bad_step)
                    first_bad_loss = torch.where(broke_here, loss.detach().float(), first_bad_loss)
                    accelerator.backward(loss)
                    if accelerator.sync_gradients and args.max_grad_norm:
                        accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad()
                progress.batches_in_epoch += 1
                running_loss += loss.detach().float()
                running_count += 1
                if sample_log is not None:
                    sample_log.write(json.dumps({"step": progress.step, "ids": batch["example_id"].tolist()}) + "\n")
                if not accelerator.sync_gradients:
                    continue
                progress.step += 1
                progress_bar.update(1)
                if progress.step % args.logging_steps == 0 or progress.step == stop_at:
                    stop_if_loss_broke()
                    mean_loss = accelerator.reduce(running_loss / running_count, reduction="mean")
                    last_loss = float(mean_loss)
                    running_loss.zero_()
                    running_count = 0
                    progress_bar.set_postfix(loss=f"{last_loss:.4f}")
                    accelerator.log(
                        {"train/loss": last_loss, "train/learning_rate": scheduler.get_last_lr()[0]},
                        step=progress.step,
                    )
                if accelerator.is_main_process and (progress.step % args.eval_steps == 0 or progress.step == stop_at):
                    eval_loss = evaluate()
                    if eval_loss is not None:
                        eval_losses.append((progress.step, eval_loss))
                        accelerator.log({"eval/loss": eval_loss}, step=progress.step)
                if writer is not None and is_citrus and eval_batch is not None and progress.step % args.plot_steps == 0:
                    figure = reconstruction_figure(
                        accelerator.unwrap_model(model),
                        eval_batch["input_values"][:1].to(accelerator.device),
                        eval_batch["patch_mask"][:1].to(accelerator.device),
                        seed=args.seed,
                    )
                    writer.add_figure("reconstruction", figure, global_step=progress.step)
                if progress.step % args.save_steps == 0 or progress.step == stop_at:
                    save_checkpoint()
                if progress.step >= stop_at:
                    break
            else:
                progress.epoch += 1
                progress.batches_in_epoch = 0
    finally:
        progress_bar.close()
        if sample_log is not None:
            sample_log.close()

    completed = progress.step >= args.max_steps
    accelerator.wait_for_everyone()
    if completed:
        unwrapped = accelerator.unwrap_model(model)
        unwrapped.save_pretrained(
            str(output_dir), is_main_process=accelerator.is_main_process, save_function=accelerator.save
        )
        if accelerator.is_main_process:
            # A CiTrus model's saved config names its (encoder-only) class: its extractor takes any channel count.
            contract = unwrapped.config if is_citrus else config
            CiTrusFeatureExtractor.from_config(contract).save_pretrained(str(output_dir))
    result = PretrainResult(
        output_dir=str(output_dir),
        steps=progress.step,
        completed=completed,
        final_loss=last_loss,
        eval_losses=eval_losses,
        num_train_windows=len(train_windows),
        world_size=accelerator.num_processes,
        seconds=time.perf_counter() - start_time,
        model=accelerator.unwrap_model(model),
    )
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        summary = result.summary() | {"arguments": asdict(args)}
        (output_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
    accelerator.end_training()
    return result


def is_pretrained_model_dir(path: str | os.PathLike) -> bool:
    """True when `path` holds a saved model (config and safetensors weights), e.g. a finished `pretrain` run."""
    path = Path(path)
    return (path / "config.json").is_file() and (path / "model.safetensors").is_file()


__all__ = [
    "EpochShuffleSampler",
    "PretrainArguments",
    "PretrainResult",
    "WindowDataset",
    "citrus_loss",
    "checkpoints_in",
    "is_pretrained_model_dir",
    "pretrain",
]
