"""The low-data protocol: how much does pre-training help when only a few labels exist?

For every labelled set, label budget (k examples per class, or a fraction of the training pool) and seed, every arm
is fine-tuned on the same labelled subset with the same `Trainer` settings and scored on the same test split:

- `citrus-<objective>` (`citrus-time`, `citrus-spectrogram`, ...): CiTrus pre-trained with each registered objective;
- `citrus-scratch`: the same model from random weights;
- `cnn-pretrained` / `cnn-scratch`, `transformer-pretrained` / `transformer-scratch`: the CNN-only and
  transformer-only backbones (the paper's ablations);
- `patchtst-pretrained` / `patchtst-scratch`: `transformers`' PatchTST of the same size, pre-trained on the same
  corpus with the same loop and steps;
- `prior`: no model, the labelled subset's mean target (regression) or class frequencies: what a model must beat
  to have learnt anything from the signal.

Pre-trained arms take a checkpoint (`checkpoints={"citrus-time": path}`) or are pre-trained here on `corpus` for
`pretrain_steps`. Every arm sees the windows the same `CiTrusFeatureExtractor` made (the pre-training rate and
window: the paper's alignment), so only the weights differ. The seed decides both which labelled examples are drawn
and the fine-tuning initialisation and data order, so a run is reproducible and arms compare pair-wise.

Output (see `report.py`): `results.json`, `results.csv`, `results.md` (mean ± std) and `results.png`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..configuration_citrus import CiTrusConfig
from ..data.alignment import align_task_split, input_overrides, task_feature_extractor, with_input_overrides
from ..data.splits import draw_budget, load_task_splits, parse_budget
from ..loading import build_config
from ..modeling_citrus import PRETRAINING_HEADS
from ..training.finetune import TrainerSettings, build_citrus_task_model, init_regression_bias, train_and_evaluate
from ..training.metrics import classification_metrics, regression_metrics
from ..training.pretrain import PretrainArguments, is_pretrained_model_dir, pretrain
from .report import write_report


@dataclass(frozen=True)
class Arm:
    """One contender: model family, whether it starts from pre-trained weights, and what it was pre-trained with."""

    name: str
    family: str  # "citrus" or "patchtst"
    pretrained: bool
    backbone: str = "hybrid"
    objective: str = "time"
    description: str = ""


ARMS: dict[str, Arm] = {
    arm.name: arm
    for arm in (
        # one arm per registered pre-training objective: citrus-time, citrus-spectrogram, ...
        *(
            Arm(f"citrus-{name}", "citrus", True, "hybrid", name, f"CiTrus, pre-trained with {head.__name__}")
            for name, head in PRETRAINING_HEADS.items()
        ),
        Arm("citrus-scratch", "citrus", False, "hybrid", description="CiTrus from random weights"),
        Arm("cnn-pretrained", "citrus", True, "cnn", "time", "CNN stem only, pre-trained (auto-encoder)"),
        Arm("cnn-scratch", "citrus", False, "cnn", description="CNN stem only, from random weights"),
        Arm("transformer-pretrained", "citrus", True, "transformer", "time", "transformer only, pre-trained"),
        Arm("transformer-scratch", "citrus", False, "transformer", description="transformer only, from random weights"),
        Arm("patchtst-pretrained", "patchtst", True, description="transformers' PatchTST, pre-trained likewise"),
        Arm("patchtst-scratch", "patchtst", False, description="transformers' PatchTST from random weights"),
        Arm("prior", "prior", False, description="no model: the labelled subset's mean target / class frequencies"),
    )
}
DEFAULT_ARMS = (
    "citrus-time",
    "citrus-spectrogram",
    "citrus-fourier",
    "citrus-scratch",
    "cnn-pretrained",
    "transformer-pretrained",
    "patchtst-pretrained",
    "patchtst-scratch",
    "prior",
)


def _default_finetune() -> TrainerSettings:
    return TrainerSettings(
        max_steps=100, eval_steps=10, per_device_batch_size=16, early_stopping_patience=4, show_progress=False
    )


@dataclass
class ProtocolConfig:
    """Settings of `run_protocol`; `citrus evaluate` parses exactly these (each field's help is in its metadata), the
    `finetune` ones included (but their seed, which is the run's, and their progress bars).

    Per-dataset settings map a dataset name to its value: `alignment` is "resample" (keep the time scale) or
    "interpolate" (stretch short windows onto the model's window, as the paper does for 1 s recordings);
    `normalization` is "window" (per-window z-score, as pre-training) or "dataset" (per-channel statistics of the
    training pool, which keeps the amplitude pattern across channels that EMG and IMU classes differ by; see
    `citrus_hf.data.alignment.input_overrides`).
    """

    output_dir: str = field(
        default="citrus_evaluation", metadata={"help": "results, reports and the pre-trained checkpoints (pretrained/)"}
    )
    datasets: list[str] = field(
        default_factory=lambda: ["basic_motions", "myo_gestures", "hr_ecg"],
        metadata={"help": "labelled sets (registered names or save_to_disk folders)"},
    )
    dataset_options: dict[str, dict[str, Any]] = field(
        default_factory=dict, metadata={"help": "builder options per dataset, e.g. hr_ecg:window_seconds=10"}
    )
    sampling_rate: float | None = field(
        default=None, metadata={"help": "rate (Hz) of every row of a save_to_disk set without a sampling_rate column"}
    )
    alignment: dict[str, str] = field(
        default_factory=lambda: {"myo_gestures": "interpolate"},
        metadata={"help": "per dataset: resample or interpolate (default resample), e.g. myo_gestures=interpolate"},
    )
    normalization: dict[str, str] = field(
        default_factory=lambda: {"basic_motions": "dataset", "myo_gestures": "dataset", "watch_exercises": "dataset"},
        metadata={"help": "per dataset: window or dataset (default window)"},
    )
    budgets: list[str] = field(
        default_factory=lambda: ["1", "5", "10", "0.25", "all"],
        metadata={"help": "label budgets: examples per class (5), a fraction (0.25) or all"},
    )
    dataset_budgets: dict[str, list[str]] = field(
        default_factory=lambda: {"hr_ecg": ["5", "20", "50", "all"]},
        metadata={"help": "budgets for one dataset instead of --budgets, e.g. hr_ecg=5,20,all"},
    )
    seeds: list[int] | None = field(
        default=None, metadata={"help": "these seeds, one run each per dataset, budget and arm (default: 0-4)"}
    )
    num_seeds: int | None = field(default=None, metadata={"help": "seeds 0 to N-1 (instead of --seeds)"})
    arms: list[str] = field(
        default_factory=lambda: list(DEFAULT_ARMS), metadata={"help": f"arms to compare, from: {', '.join(ARMS)}"}
    )
    checkpoints: dict[str, str] = field(
        default_factory=dict, metadata={"help": "pre-trained checkpoint per arm (ARM=PATH); others are pre-trained"}
    )
    corpus: str = field(default="eeg_pretrain", metadata={"help": "unlabelled pre-training corpus"})
    corpus_options: dict[str, Any] = field(
        default_factory=lambda: {"window_seconds": 10.0, "hop_seconds": 5.0},
        metadata={"help": "builder options of the corpus"},
    )
    model_config: str = field(
        default="small", metadata={"help": "preset (tiny, small, base), config.json or folder: every arm's size"}
    )
    config_overrides: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "config fields of every arm, e.g. sampling_rate=50"}
    )
    pretrain_steps: int = field(default=1000, metadata={"help": "pre-training steps of every pre-trained arm"})
    pretrain_batch_size: int = field(default=32, metadata={"help": "pre-training windows per step"})
    pretrain_learning_rate: float = field(default=1e-3, metadata={"help": "pre-training peak learning rate"})
    pretrain_seed: int = field(default=0, metadata={"help": "pre-training seed"})
    finetune: TrainerSettings = field(
        default_factory=_default_finetune,
        metadata={"help": "fine-tuning (Trainer) of every run", "exclude": ("seed", "show_progress")},
    )
    linear_probe: bool = field(default=False, metadata={"help": "freeze the backbone (linear probe)"})
    validation_fraction: float = field(
        default=0.2, metadata={"help": "share of train held out for early stopping when a set has no validation split"}
    )
    num_threads: int | None = field(default=None, metadata={"help": "torch threads (small models: 1 is fastest)"})
    resume: bool = field(default=True, metadata={"help": "reuse runs already in runs.jsonl with the same settings"})
    show_progress: bool = field(default=True, metadata={"help": "progress bars"})

    def __post_init__(self):
        if self.seeds is not None and self.num_seeds is not None:
            raise ValueError("Give the seeds (--seeds 0 1 2) or their count (--num-seeds 3), not both.")
        if self.seeds is None:
            self.seeds = list(range(5 if self.num_seeds is None else self.num_seeds))
        self.num_seeds = None  # resolved into `seeds`: `ProtocolConfig(**asdict(config))` is the same protocol
        unknown = [arm for arm in self.arms if arm not in ARMS]
        if unknown:
            raise ValueError(f"Unknown arm(s) {unknown}; choose from {', '.join(ARMS)}.")
        unknown = [arm for arm in self.checkpoints if arm not in ARMS or not ARMS[arm].pretrained]
        if unknown:
            raise ValueError(f"Checkpoints given for {unknown}, which are not pre-trained arms.")
        if not self.datasets or not self.budgets or not self.seeds or not self.arms:
            raise ValueError("The protocol needs at least one dataset, budget, seed and arm.")
        for dataset, alignment in self.alignment.items():
            if alignment not in ("resample", "interpolate"):
                raise ValueError(f"alignment for {dataset!r} must be 'resample' or 'interpolate', got {alignment!r}.")
        for dataset, normalization in self.normalization.items():
            if normalization not in ("window", "dataset"):
                raise ValueError(f"normalization for {dataset!r} must be 'window' or 'dataset', got {normalization!r}.")
        for budget in [*self.budgets, *(b for budgets in self.dataset_budgets.values() for b in budgets)]:
            parse_budget(budget)

    def signature(self) -> str:
        """Hash of every setting that changes a run's result (not the output folder or the progress bars)."""
        values = asdict(self)
        for key in (
            "output_dir",
            "datasets",
            "budgets",
            "dataset_budgets",
            "seeds",
            "num_seeds",
            "arms",
            "num_threads",
            "resume",
            "show_progress",
        ):
            values.pop(key)
        values["finetune"].pop("show_progress")
        return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class ProtocolResult:
    """Every run record, the report files, and the time spent pre-training and fine-tuning."""

    runs: list[dict[str, Any]]
    paths: dict[str, Path]
    markdown: str
    pretraining_seconds: float
    finetuning_seconds: float
    checkpoints: dict[str, str]


@contextmanager
def _quiet_and_threads(num_threads: int | None):
    """Fewer threads (small models train faster on one core than on two fighting ones), and no per-run log spam."""
    from transformers.utils import logging as transformers_logging

    previous_threads = torch.get_num_threads()
    previous_verbosity = transformers_logging.get_verbosity()
    bars_enabled = transformers_logging.is_progress_bar_enabled()
    if num_threads:
        torch.set_num_threads(num_threads)
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()  # "Loading weights" / "Writing model shards" at every run
    try:
        yield
    finally:
        torch.set_num_threads(previous_threads)
        transformers_logging.set_verbosity(previous_verbosity)
        if bars_enabled:
            transformers_logging.enable_progress_bar()


def _pretrain_arguments(config: ProtocolConfig, arm: Arm, output_dir: Path) -> PretrainArguments:
    overrides = dict(config.config_overrides)
    if arm.family == "citrus":
        overrides.update(backbone=arm.backbone, pretraining_objective=arm.objective)
    return PretrainArguments(
        output_dir=str(output_dir),
        dataset=config.corpus,
        dataset_options=dict(config.corpus_options),
        model_config=config.model_config,
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
        show_progress=config.show_progress,
    )


def _matching_run(output_dir: Path, arguments: PretrainArguments) -> bool:
    """A finished pre-training in `output_dir` made with the same arguments (so it can be reused)."""
    summary_path = output_dir / "pretraining_summary.json"
    if not is_pretrained_model_dir(output_dir) or not summary_path.is_file():
        return False
    saved = json.loads(summary_path.read_text()).get("arguments", {})
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


def pretrain_arms(config: ProtocolConfig) -> tuple[dict[str, str], float]:
    """Checkpoints of every pre-trained arm: the given ones, finished earlier runs with the same settings, or new
    pre-training runs in `output_dir/pretrained/<arm>`. Returns (arm -> folder, seconds spent pre-training)."""
    from .baselines import pretrain_patchtst

    checkpoints = dict(config.checkpoints)
    seconds = 0.0
    for name in config.arms:
        arm = ARMS[name]
        if not arm.pretrained or name in checkpoints:
            continue
        folder = Path(config.output_dir) / "pretrained" / name
        arguments = _pretrain_arguments(config, arm, folder)
        if not _matching_run(folder, arguments):
            shutil.rmtree(folder, ignore_errors=True)
            start = time.perf_counter()
            print(f"Pre-training {name} for {config.pretrain_steps} steps on {config.corpus} ...", flush=True)
            result = pretrain_patchtst(arguments) if arm.family == "patchtst" else pretrain(arguments)
            seconds += time.perf_counter() - start
            eval_text = f", validation loss {result.eval_losses[-1][1]:.4f}" if result.eval_losses else ""
            print(f"  {name}: final training loss {result.final_loss:.4f}{eval_text} ({result.seconds:.0f} s)")
        checkpoints[name] = str(folder)
    return checkpoints, seconds


def _contract(config: ProtocolConfig, arm: Arm, checkpoint: str | None) -> CiTrusConfig:
    """The CiTrus config that fixes an arm's input (and, from scratch, its architecture)."""
    if arm.family == "citrus" and checkpoint is not None:
        return build_config(checkpoint)
    overrides = dict(config.config_overrides)
    if arm.family == "citrus":
        overrides["backbone"] = arm.backbone
    return build_config(config.model_config, **overrides)


def _contract_key(contract: CiTrusConfig) -> tuple:
    return (
        contract.sampling_rate,
        contract.context_length,
        contract.patch_length,
        contract.normalization,
        json.dumps(contract.normalization_mean),
        json.dumps(contract.normalization_std),
    )


def _load_previous(path: Path, signature: str) -> dict[tuple, dict]:
    done = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record.get("signature") == signature:
                done[(record["dataset"], record["arm"], record["budget"], record["seed"])] = record
    return done


def _task_model(arm: Arm, splits, contract: CiTrusConfig, checkpoint, overrides, train_labels, config: ProtocolConfig):
    """The model of one fine-tuning run, with its data collator and label names for the `Trainer`."""
    from .baselines import PatchTSTCollator, build_patchtst_task_model, regression_head

    checkpoint = checkpoint if arm.pretrained else None
    if arm.family == "citrus":
        model = build_citrus_task_model(
            splits.task, splits.num_channels, splits.label_names, checkpoint, contract, config.linear_probe, overrides
        )
        collator, label_names, head = None, None, getattr(model, "regressor", None)
    else:
        num_labels = len(splits.label_names) if splits.label_names else None
        model = build_patchtst_task_model(
            splits.task, splits.num_channels, contract, num_labels, checkpoint, config.linear_probe
        )
        collator, label_names = PatchTSTCollator(splits.task, contract.patch_length), PatchTSTCollator.label_names
        head = regression_head(model) if splits.task == "regression" else None
    if splits.task == "regression":
        init_regression_bias(head, train_labels)
    return model, collator, label_names


def _prior_outcome(task: str, train_labels: np.ndarray, test_labels: np.ndarray) -> dict[str, Any]:
    """The reference that learns nothing from the signal: the labelled subset's mean target, or its class
    frequencies as scores (ties broken towards the lowest class index)."""
    if task == "regression":
        return {"test": regression_metrics(np.full(len(test_labels), float(np.mean(train_labels))), test_labels)}
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    frequencies = np.bincount(train_labels, minlength=num_classes) / len(train_labels)
    scores = np.tile(np.log(frequencies + 1e-12), (len(test_labels), 1))
    return {"test": classification_metrics(scores, test_labels)}


def run_protocol(config: ProtocolConfig) -> ProtocolResult:
    """Run the low-data protocol (see the module docstring) and write its reports into `config.output_dir`."""
    from tqdm.auto import tqdm
    from transformers import set_seed

    output_dir = Path(config.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "protocol.json").write_text(json.dumps(asdict(config), indent=2, default=str))
    signature = config.signature()
    runs_path = output_dir / "runs.jsonl"
    previous = _load_previous(runs_path, signature) if config.resume else {}
    if not config.resume and runs_path.exists():
        runs_path.unlink()
    budgets = {d: [parse_budget(b) for b in config.dataset_budgets.get(d, config.budgets)] for d in config.datasets}
    every_budget = {b for listed in budgets.values() for b in listed}
    budgets_order = {b: i for i, b in enumerate(sorted(every_budget, key=lambda b: b.sort_key))}
    runs: list[dict[str, Any]] = []
    finetuning_seconds = 0.0

    with _quiet_and_threads(config.num_threads):
        checkpoints, pretraining_seconds = pretrain_arms(config)
        arm_contracts = {name: _contract(config, ARMS[name], checkpoints.get(name)) for name in config.arms}
        total = sum(len(listed) for listed in budgets.values()) * len(config.seeds) * len(config.arms)
        progress = tqdm(total=total, desc="fine-tuning runs", unit="run", disable=not config.show_progress)
        for dataset in config.datasets:
            splits = load_task_splits(
                dataset, config.dataset_options.get(dataset), validation_fraction=config.validation_fraction
            )
            alignment = config.alignment.get(dataset, "resample")
            overrides = input_overrides(config.normalization.get(dataset, "window"), splits.num_channels, splits.train)
            contracts = {name: with_input_overrides(arm_contracts[name], overrides) for name in config.arms}
            aligned: dict[tuple, tuple] = {}
            for name in config.arms:
                if ARMS[name].family == "prior":
                    continue
                key = _contract_key(contracts[name])
                if key not in aligned:
                    extractor = task_feature_extractor(contracts[name], alignment)
                    aligned[key] = tuple(
                        align_task_split(split, extractor, splits.task, config.sampling_rate)
                        for split in (splits.train, splits.validation, splits.test)
                    )
            pool_labels = splits.labels("train")
            for budget in budgets[dataset]:
                for seed in config.seeds:
                    chosen = draw_budget(pool_labels, budget, seed)
                    budget_label = budget.label_for(splits.task)
                    for name in config.arms:
                        arm = ARMS[name]
                        progress.set_postfix_str(f"{dataset} {budget_label} seed {seed} {name}")
                        record_key = (dataset, name, budget_label, seed)
                        if record_key in previous:
                            runs.append(previous[record_key])
                            progress.update(1)
                            continue
                        start = time.perf_counter()
                        if arm.family == "prior":
                            outcome = _prior_outcome(splits.task, pool_labels[chosen], splits.labels("test"))
                        else:
                            contract = contracts[name]
                            pool, validation, test = aligned[_contract_key(contract)]
                            set_seed(seed)
                            model, collator, label_names = _task_model(
                                arm, splits, contract, checkpoints.get(name), overrides, pool_labels[chosen], config
                            )
                            run_dir = output_dir / "runs" / f"{dataset}-{name}-{budget_label.replace('/', '_')}-{seed}"
                            settings = TrainerSettings(**{**asdict(config.finetune), "seed": seed})
                            outcome = train_and_evaluate(
                                model,
                                pool.select(chosen),
                                validation,
                                test,
                                splits.task,
                                run_dir,
                                settings,
                                collator,
                                label_names,
                            )
                            shutil.rmtree(run_dir, ignore_errors=True)  # only the numbers are kept
                        seconds = time.perf_counter() - start
                        finetuning_seconds += seconds
                        record = {
                            "dataset": dataset,
                            "task": splits.task,
                            "arm": name,
                            "budget": budget_label,
                            "budget_order": budgets_order[budget],
                            "seed": seed,
                            "n_train": len(chosen),
                            **{k: v for k, v in outcome["test"].items() if k != "loss"},
                            "test_loss": outcome["test"].get("loss"),
                            "best_step": outcome.get("best_step"),
                            "steps": outcome.get("steps", 0),
                            "seconds": round(seconds, 2),
                            "signature": signature,
                        }
                        runs.append(record)
                        with open(runs_path, "a") as handle:
                            handle.write(json.dumps(record) + "\n")
                        progress.update(1)
        progress.close()

    metadata = {
        "corpus": f"{config.corpus} {json.dumps(config.corpus_options)}",
        "model": f"{config.model_config} {json.dumps(config.config_overrides)}".strip(),
        "pre-training": f"{config.pretrain_steps} steps x batch {config.pretrain_batch_size} per arm",
        "fine-tuning": (
            ("linear probe" if config.linear_probe else "full fine-tuning")
            + f", max {config.finetune.max_steps} steps, early stopping on validation {config.finetune.metric_for_best_model}"
        ),
        "alignment": ", ".join(f"{d}: {config.alignment.get(d, 'resample')}" for d in config.datasets),
        "normalization": ", ".join(f"{d}: {config.normalization.get(d, 'window')}" for d in config.datasets),
        "seeds": len(config.seeds),
        "checkpoints": json.dumps(checkpoints),
    }
    paths = write_report(runs, output_dir, metadata, title="CiTrus low-data evaluation")
    return ProtocolResult(
        runs=runs,
        paths=paths,
        markdown=paths["markdown"].read_text(),
        pretraining_seconds=pretraining_seconds,
        finetuning_seconds=finetuning_seconds,
        checkpoints=checkpoints,
    )


__all__ = ["ARMS", "DEFAULT_ARMS", "Arm", "ProtocolConfig", "ProtocolResult", "pretrain_arms", "run_protocol"]
