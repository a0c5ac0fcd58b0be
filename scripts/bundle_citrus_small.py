"""Build the checkpoint shipped inside the package, `src/citrus_hf/pretrained/citrus-small/`, from a pre-training run,
and write its model card (corpus composition, synthetic share, objective, budget, held-out loss against predicting
the mean, and the few-shot protocol's results once they exist).

    citrus pretrain --dataset pretrain_corpus --model-config small --config-overrides d_model=128 ffn_dim=256 \\
        num_hidden_layers=3 --synthetic-ratio 0 --max-steps 12000 --per-device-batch-size 32 --eval-steps 1000 \\
        --dataset-options 'exclude_sources=["biopeaks_bitalino", "mne_sample_excerpt"]' \\
        --seed 0 --output-dir runs/citrus-small
    python scripts/bundle_citrus_small.py runs/citrus-small          # weights, configs, curve, card
    python benchmarks/few_shot.py --budgets 1 5 20                   # the protocol, on the bundled weights
    python scripts/bundle_citrus_small.py runs/citrus-small --results benchmarks/results/few_shot   # card + results

The shipped citrus-small was trained on corpus 2.0, before `biopeaks_bitalino` and `mne_sample_excerpt` joined it, so
its card is written with `--corpus-options '{"exclude_sources": ["biopeaks_bitalino", "mne_sample_excerpt"]}'`.

The bundled folder holds no Python: the installed package serves the classes. `citrus push --model citrus-small`
publishes the same weights with the remote code and a card of its own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from citrus_hf.commands.script import run_script
from citrus_hf.evaluation.report import SPREAD
from citrus_hf.training.pretrain import SCHEDULE_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "citrus_hf" / "pretrained" / "citrus-small"
# Files a bundled checkpoint holds; anything else in the target folder is removed.
BUNDLED_FILES = (
    "config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "pretraining_summary.json",
    "pretraining_curve.png",
    "README.md",
)


def _without_auto_map(path: Path) -> None:
    """The bundled folder carries no code files, so its configs must not point at any (`auto_map`)."""
    settings = json.loads(path.read_text())
    settings.pop("auto_map", None)
    path.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")


def _composition_table(info: dict) -> str:
    train = info["splits"]["train"]
    lines = ["| Modality | Real channel-hours (training split) |", "|---|---|"]
    for modality, hours in sorted(train["modality_hours"].items(), key=lambda item: -item[1]):
        lines.append(f"| {modality} | {hours:.2f} |")
    lines.append(f"| **all** | **{train['channel_hours']:.2f}** |")
    sources = ", ".join(f"{name} ({hours:.2f} h)" for name, hours in sorted(train["source_hours"].items()))
    held_out = info["splits"].get("validation", {}).get("channel_hours")
    lines.append("")
    lines.append(f"Sources: {sources}.")
    if held_out is not None:
        lines.append(f"Held out for the pre-training loss (by recording): {held_out:.2f} channel-hours.")
    return "\n".join(lines)


# The pre-training arguments a card lists as hyper-parameters (the rest are paths, logging and progress settings).
CARD_HYPERPARAMETERS = (*SCHEDULE_SETTINGS, "synthetic_ratio", "config_overrides", "seed")


def _corpus_reference(corpus_options: dict | None) -> str:
    """How to rebuild the corpus the run saw: `pretrain_corpus`, with the options it was built with."""
    if not corpus_options:
        return "`pretrain_corpus`"
    options = " ".join(f"{key}={json.dumps(value)}" for key, value in corpus_options.items())
    return f"`pretrain_corpus` as `--dataset-options '{options}'` builds it"


def _pretraining_section(summary: dict, info: dict, corpus_options: dict | None = None) -> str:
    stream = summary.get("synthetic_stream") or {}
    generators = ", ".join(f"{g['name']} ({g['weight']:.2f})" for g in stream.get("generators", []))
    eval_step, eval_loss = summary["eval_losses"][-1]
    baseline = dict(summary["eval_baseline_losses"])[eval_step]
    arguments = summary["arguments"]
    return "\n".join(
        [
            "## Pre-training run",
            "",
            f"- Objective: masked auto-encoding, `{summary['pretraining_objective']}` targets.",
            f"- Corpus: {_corpus_reference(corpus_options)} (every real recording the offline registry reached when "
            "the run was made, never a sample of a labelled set's validation or test examples, nor of the validation "
            "split evaluation carves out of a training split), "
            + (
                f"mixed with synthetic windows at a share of {summary['synthetic_ratio']:.0%}: {generators} "
                "(`citrus_hf.data.synthetic`)."
                if summary["synthetic_ratio"] > 0
                else "real windows only. Synthetic share 0: chosen on the labelled sets' validation splits, where "
                "mixing in 50 % synthetic windows (CauKer, KernelSynth, physiology simulators) lowered the few-shot "
                "macro-F1 at both 1,500 and 6,000 steps (`benchmarks/results/checkpoint_selection.md`)."
            ),
            f"- Budget: {summary['steps']} optimizer steps of {arguments['per_device_batch_size']} windows, peak "
            f"learning rate {arguments['learning_rate']}, seed {arguments['seed']}, "
            f"{summary['seconds'] / 60:.0f} min of wall time on one core of a shared 2-core CPU.",
            f"- Held-out masked loss on real validation recordings at step {eval_step}: {eval_loss:.3f}, against "
            f"{baseline:.3f} for predicting the mean masked target (`pretraining_curve.png`).",
            "",
            "### Real corpus",
            "",
            _composition_table(info),
        ]
    )


def _results_section(results_dir: Path) -> str:
    goals = json.loads((results_dir / "goals.json").read_text())
    # the report's own headings become sub-headings of this section
    table = "\n".join(
        "### " + line.lstrip("#").strip() if line.startswith("#") else line
        for line in (results_dir / "results.md").read_text().strip().splitlines()
    )
    behind = goals["cells_behind_minirocket"]
    return "\n".join(
        [
            "## Few-shot results",
            "",
            "`python benchmarks/few_shot.py --budgets 1 5 20` (the low-data protocol: the default recipe, labelled draws paired across "
            f"arms, test splits, mean ± {SPREAD} over seeds). Macro-F1 for classification, MAE for regression.",
            "",
            f"- Classification cells at 5 and 20 labels per class where citrus-small >= MiniRocket: "
            f"{goals['cells_citrus_small_ge_minirocket']} of {goals['cells']}.",
            "- Mean gap to MiniRocket (macro-F1 points): "
            + ", ".join(f"{budget} {gap:+.1f}" for budget, gap in goals["mean_gap_to_minirocket_pts"].items())
            + ".",
            "- Mean gain over the from-scratch twin (macro-F1 points): "
            + ", ".join(f"{budget} {gain:+.1f}" for budget, gain in goals["mean_gain_over_scratch_pts"].items())
            + ".",
            "- Behind MiniRocket: " + ("; ".join(behind) if behind else "none") + ".",
            *_card_notes(results_dir),
            "",
            table,
        ]
    )


def _card_notes(results_dir: Path) -> list[str]:
    """Bullets the results folder keeps for the card (`card_notes.md`): what later re-runs changed in its figures."""
    notes = results_dir / "card_notes.md"
    return notes.read_text().strip().splitlines() if notes.is_file() else []


def bundle(run_dir: Path, results_dir: Path | None, corpus_options: dict | None = None) -> Path:
    from citrus_hf.data.builders import dataset_info
    from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
    from citrus_hf.modeling_citrus import CiTrusForPretraining
    from citrus_hf.publishing.cards import build_model_card
    from citrus_hf.publishing.runs import pretraining_facts
    from citrus_hf.training.curves import plot_pretraining_curve

    summary = json.loads((run_dir / "pretraining_summary.json").read_text())
    model = CiTrusForPretraining.from_pretrained(run_dir)
    extractor = CiTrusFeatureExtractor.from_pretrained(run_dir)
    info = dataset_info("pretrain_corpus", **(corpus_options or {}))
    with tempfile.TemporaryDirectory() as scratch:
        staged = Path(scratch)
        model.save_pretrained(staged)
        extractor.save_pretrained(staged)
        for name in ("config.json", "preprocessor_config.json"):
            _without_auto_map(staged / name)
        shutil.copy(run_dir / "pretraining_summary.json", staged / "pretraining_summary.json")
        plot_pretraining_curve(run_dir, staged / "pretraining_curve.png")
        facts = pretraining_facts(summary)
        facts["Real channel-hours"] = round(info["splits"]["train"]["channel_hours"], 2)
        facts["Synthetic share"] = summary["synthetic_ratio"]
        card = build_model_card(
            model,
            extractor,
            pretraining=facts,
            hyperparameters={
                name: json.dumps(value) if isinstance(value, dict) else value
                for name, value in summary["arguments"].items()
                if name in CARD_HYPERPARAMETERS
            },
            summary=(
                "citrus-small: the CiTrus checkpoint shipped inside citrus-hf, pre-trained on one core of a shared "
                "2-core CPU on every real bio-signal recording reachable offline (EEG, MEG, EOG, ECG, PPG, EDA, "
                "respiration, EMG, IMU and accelerometry)"
                + (f", {_corpus_reference(corpus_options)}" if corpus_options else "")
                + ". "
                'Load it offline by name: `CiTrusForSequenceClassification.from_pretrained("citrus-small")`, '
                '`load_pretrained("citrus-small")` or `--model citrus-small`. Its default few-shot recipe (a '
                "ridge probe on its embeddings below 20 labels per class, that probe then end-to-end fine-tuning from "
                "20 up) is in `citrus_hf.training.recipes`."
            ),
            limitations=[
                f"Pre-trained on {info['splits']['train']['channel_hours']:.1f} real channel-hours (the paper used "
                "~197 nights): it is a small, honest starting point, not a large foundation model.",
                "Single-channel pre-training (channels are independent examples); multi-channel tasks pool or "
                "concatenate per-channel embeddings.",
            ],
        )
        text = str(card).rstrip()
        if results_dir is not None:
            text = text.replace(
                "No evaluation results were recorded for this checkpoint.",
                "See *Few-shot results* below: the low-data protocol on every real labelled set reachable offline, "
                "against MiniRocket + ridge, the same model from scratch and the prior.",
            )
        sections = [text, _pretraining_section(summary, info, corpus_options)]
        if results_dir is not None:
            sections.append(_results_section(results_dir))
        (staged / "README.md").write_text("\n\n".join(sections) + "\n")
        if TARGET.exists():
            shutil.rmtree(TARGET)
        TARGET.mkdir(parents=True)
        for name in BUNDLED_FILES:
            shutil.copy(staged / name, TARGET / name)
    return TARGET


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="the `citrus pretrain` output folder")
    parser.add_argument("--results", type=Path, default=None, help="the few-shot benchmark's output folder")
    parser.add_argument(
        "--corpus-options",
        type=json.loads,
        default=None,
        help="JSON options of `pretrain_corpus` as the run was trained on it (the card's composition), e.g. "
        '\'{"exclude_sources": ["biopeaks_bitalino", "mne_sample_excerpt"]}\' for citrus-small, trained on corpus 2.0',
    )
    args = parser.parse_args()
    target = bundle(args.run_dir, args.results, args.corpus_options)
    size = sum(p.stat().st_size for p in target.iterdir())
    print(f"bundled {target} ({size / 1e6:.2f} MB): {', '.join(sorted(p.name for p in target.iterdir()))}")


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
