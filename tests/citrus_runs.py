"""Real training runs shared by test modules: a tiny CiTrus pre-trained on the real EEG corpus (one channel, 10 Hz,
10 s windows: BasicMotions' contract), and a classifier fine-tuned from it on the real BasicMotions recordings (six
channels), each folder holding what `citrus pretrain` / `citrus finetune` write next to the weights."""

from __future__ import annotations

from pathlib import Path

from citrus_hf.training.finetune import FinetuneArguments, TrainerSettings, finetune
from citrus_hf.training.pretrain import PretrainArguments, pretrain

# BasicMotions' native rate and length (10 Hz, 10 s), so its windows need no resampling.
HAR_CONTRACT = {"sampling_rate": 10.0, "context_length": 100, "patch_length": 10}
EEG_OPTIONS = {"window_seconds": 10.0, "hop_seconds": 10.0}


def pretrain_arguments(output_dir: Path, **changes) -> PretrainArguments:
    """A short pre-training of a tiny CiTrus on the real EEG corpus (8 steps of 2 x 128 windows, checked every 4),
    with `changes` to its `PretrainArguments`."""
    values = dict(
        output_dir=str(output_dir),
        dataset="eeg_pretrain",
        dataset_options=EEG_OPTIONS,
        model_config="tiny",
        max_steps=8,
        per_device_batch_size=128,
        gradient_accumulation_steps=2,
        save_steps=3,
        logging_steps=2,
        eval_steps=4,
        plot_steps=4,
        report_to="none",
        show_progress=False,
    )
    values.update(changes)
    return PretrainArguments(**values)


def pretrain_tiny(output_dir: Path, steps: int = 2) -> Path:
    """A 1-channel tiny CiTrus pre-trained for `steps` steps on the real EEG corpus; returns its folder."""
    pretrain(
        PretrainArguments(
            output_dir=str(output_dir),
            dataset="eeg_pretrain",
            dataset_options=EEG_OPTIONS,
            model_config="tiny",
            config_overrides=HAR_CONTRACT,
            max_steps=steps,
            per_device_batch_size=16,
            show_progress=False,
        )
    )
    return output_dir


def finetune_har(output_dir: Path, pretrained: Path, steps: int = 6, recipe: str = "finetune") -> Path:
    """A classifier fitted from `pretrained` on 2 BasicMotions recordings per class, fine-tuned for `steps` steps (or
    with another `recipe`, e.g. "probe"); returns its folder."""
    finetune(
        FinetuneArguments(
            output_dir=str(output_dir),
            dataset="basic_motions",
            model=str(pretrained),
            label_budget="2",
            normalization="dataset",
            recipe=recipe,
            trainer=TrainerSettings(
                max_steps=steps,
                eval_steps=3,
                per_device_batch_size=8,
                early_stopping_patience=None,
                show_progress=False,
            ),
        )
    )
    return output_dir


def protocol_runs(n_train: int) -> list[dict]:
    """`citrus evaluate` runs (3 seeds) of arm citrus-time and baseline citrus-scratch: on BasicMotions at a budget
    of `n_train` labelled windows (citrus-time's mean accuracy there: 0.61) and at all 40, and on the heart-rate
    regression set."""
    runs = []
    for arm, shift in (("citrus-time", 0.1), ("citrus-scratch", 0.0)):
        for seed in (0, 1, 2):
            for budget, count in (("small", n_train), ("all", 40)):
                value = 0.5 + shift + 0.01 * seed + 0.2 * (budget == "all")
                runs.append(
                    dict(
                        dataset="basic_motions",
                        task="classification",
                        arm=arm,
                        budget=budget,
                        budget_order=int(budget == "all"),
                        seed=seed,
                        n_train=count,
                        accuracy=value,
                        balanced_accuracy=value,
                        macro_f1=value,
                        auroc=value,
                    )  # fmt: skip
                )
            runs.append(
                dict(
                    dataset="hr_ecg",
                    task="regression",
                    arm=arm,
                    budget="10",
                    budget_order=0,
                    seed=seed,
                    n_train=10,
                    mae=4.0,
                    rmse=5.0,
                    pearson_r=0.6,
                )  # fmt: skip
            )
    return runs


def probe_har_with_baseline(run_dir: Path, report_dir: Path, probe_run: Path) -> list[dict]:
    """A probe fitted from the bundled citrus-small on BasicMotions (a copy of `probe_run`, conftest's
    `har_probe_run`, in `run_dir`), and `citrus evaluate` results at its budget (in `report_dir`) whose citrus-scratch
    runs stand in as the MiniRocket baseline; returns the protocol runs (citrus-time's and the baseline's before the
    renaming), for reports of one's own."""
    import json
    import shutil

    from citrus_hf.evaluation import write_report

    shutil.copytree(probe_run, run_dir)
    runs = protocol_runs(json.loads((run_dir / "finetune_results.json").read_text())["num_train"])
    write_report([{**run, "arm": "minirocket"} if run["arm"] == "citrus-scratch" else run for run in runs], report_dir)
    return runs
