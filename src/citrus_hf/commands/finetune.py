"""`citrus finetune`: fine-tune CiTrus on a labelled set with the `Trainer` (`FinetuneArguments` and its
`TrainerSettings`, one option per field).

    citrus finetune --model runs/eeg --dataset basic_motions --label-budget 5 --output-dir runs/har
    citrus finetune finetune.yaml --learning-rate 3e-4
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..training.recipes import AUTO_PROBE_FINETUNE_FROM_PER_CLASS  # numpy only: `--help` stays torch-free
from ..vocabulary_citrus import CLASSIFICATION

if TYPE_CHECKING:
    from ..training.finetune import FinetuneResult

DESCRIPTION = (
    "Fit a pre-trained checkpoint (--model) or a model from scratch to a labelled set with the recipe its label "
    "budget calls for (--recipe auto: a ridge probe on the frozen encoder below "
    f"{AUTO_PROBE_FINETUNE_FROM_PER_CLASS} labels per class and for regression, that probe then fine-tuning from "
    f"{AUTO_PROBE_FINETUNE_FROM_PER_CLASS}); prints and saves the test metrics."
)


def describe_fit(result: FinetuneResult) -> str:
    """The recipe and its optimizer steps in words: "recipe probe-finetune, 10 steps (2 fine-tunings of 5 from the
    probe, their weights averaged)", so that a `--max-steps 5` that ran 10 steps says why."""
    fitted = f"recipe {result.recipe}" + (f", {result.steps} steps" if result.steps else "")
    members = result.recipe_details.get("soup_members", 1)
    if result.steps and members > 1:
        fitted += f" ({members} fine-tunings of {result.steps // members} from the probe, their weights averaged)"
    if result.best_step is not None:
        fitted += f" (best at step {result.best_step})"
    return fitted


def build_parser():
    from ..training.arguments import FinetuneArguments
    from .parser import CommandParser

    return CommandParser(FinetuneArguments, prog="citrus finetune", description=DESCRIPTION)


def run(argv: Sequence[str]) -> int:
    arguments = build_parser().parse(argv)  # before torch is imported: `--help` and bad options answer at once
    from ..feature_extraction_citrus import advice_as_spelt
    from ..training.finetune import finetune
    from ..training.launch import is_main_process
    from ..training.numerics import flush_denormals

    flush_denormals()  # before any torch work, so that the intra-op threads inherit it
    try:
        with advice_as_spelt(
            "--alignment {}", "--dataset-options window_seconds=S"
        ):  # the extractor's advice, as this command spells it
            result = finetune(arguments)
    except KeyboardInterrupt:  # ("interrupted" follows) a fine-tuning run keeps no checkpoint to continue from
        print(
            "Nothing was saved: fine-tuning runs are short and do not resume; run the command again (the output "
            "folder holds no model of this run).",
            file=sys.stderr,
        )
        raise
    if not is_main_process():  # under a launcher the main process speaks for the run, as it alone wrote it
        return 0
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in result.test_metrics.items())
    trained = (
        f"{result.num_train} training examples"
        if result.num_train_examples is None
        else f"{result.num_train} training windows of {result.num_train_examples} labelled examples"
    )
    if result.test_recording_metrics is not None:  # the aggregate `citrus predict` gives a file
        per_recording = ", ".join(f"{k} {v:.4f}" for k, v in result.test_recording_metrics.items())
        metrics += (
            f"; per recording ({result.num_test_recordings}, the mean of each one's window "
            f"{'probabilities' if result.task == CLASSIFICATION else 'predictions'}) "
            f"{per_recording}"
        )
    print(f"{result.task}: {trained}, {describe_fit(result)}; test {metrics}")
    print(f"Saved to {result.output_dir}")
    return 0


if __name__ == "__main__":  # `python -m citrus_hf.commands.finetune ...`, also under `accelerate launch -m`
    from .main import run_command_module

    run_command_module("finetune")
