"""Audit 67 (the README's blocks and the commands' --help texts, checked against what runs): the extractor's
contract-override warning on the README's own Trainer set-up, `citrus evaluate`'s validation carve on a set of one's
own, `citrus pretrain --help` on bf16, the README's streaming block, `citrus data info`'s "take it" line, and the
smaller texts (the published hr_ecg figures, HISTORY.md's path, pretrain_corpus's sources, --sampling-rate's and
predict's file kinds, `data build --window-seconds`)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_configs import save_tiny_classifier, tiny_config
from transformers import AutoFeatureExtractor

from citrus_hf import CiTrusFeatureExtractor, CiTrusForPretraining, CiTrusModel

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# The README's Trainer set-up (examples/finetune_trainer.py): the model and the extractor get the same keywords.
TASK_CONTRACT = {
    "num_channels": 3,
    "normalization": "fixed",
    "normalization_mean": [0.0, 1.0, 2.0],
    "normalization_std": [1.0, 2.0, 3.0],
}


def data(argv: list[str]) -> int:
    from citrus_hf.commands.main import main

    return main(["data", *argv])


def override_warnings(caplog) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "overrides the" in r.getMessage()
    ]


# ------------------------------------------------- 1. a pre-training checkpoint's task set-up is no contract change


@pytest.fixture(scope="module", params=[CiTrusForPretraining, CiTrusModel], ids=lambda cls: cls.__name__)
def encoder_checkpoint(request, tmp_path_factory):
    """A tiny pre-training (or encoder-only) checkpoint and its extractor, as `citrus pretrain` saves them."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp(request.param.__name__)
    config = tiny_config()
    request.param(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("loader", [CiTrusFeatureExtractor, AutoFeatureExtractor], ids=lambda cls: cls.__name__)
def test_the_task_contract_on_a_pretraining_checkpoint_is_not_warned_of(encoder_checkpoint, loader, caplog):
    """`AutoFeatureExtractor.from_pretrained("citrus-small", num_channels=6, normalization="fixed", ...)`, the README's
    own advice, warned four times that the extractor would not match its model, which is loaded with the same
    keywords."""
    caplog.set_level(logging.WARNING)
    extractor = loader.from_pretrained(encoder_checkpoint, **TASK_CONTRACT)
    assert override_warnings(caplog) == []
    assert {name: getattr(extractor, name) for name in TASK_CONTRACT} == TASK_CONTRACT


def test_the_bundled_checkpoint_takes_the_readme_contract_without_a_warning(caplog):
    caplog.set_level(logging.WARNING)
    contract = {**TASK_CONTRACT, "num_channels": 6, "normalization_mean": [0.0] * 6, "normalization_std": [1.0] * 6}
    extractor = AutoFeatureExtractor.from_pretrained("citrus-small", **contract)
    assert override_warnings(caplog) == [] and extractor.num_channels == 6


def test_other_overrides_of_a_pretraining_checkpoint_are_still_warned_of(encoder_checkpoint, caplog):
    """The patch grid and the window are the encoder's own: changing them is no task set-up."""
    caplog.set_level(logging.WARNING)
    AutoFeatureExtractor.from_pretrained(encoder_checkpoint, patch_length=10, **TASK_CONTRACT)
    (said,) = override_warnings(caplog)
    assert said.startswith("patch_length=10 overrides the checkpoint's 20")


@pytest.mark.parametrize("loader", [CiTrusFeatureExtractor, AutoFeatureExtractor], ids=lambda cls: cls.__name__)
def test_a_fine_tuned_checkpoints_contract_overrides_are_still_warned_of(tmp_path, loader, caplog):
    """A trained head fixes the contract: the same keywords on a fine-tuned classifier change what it was trained on."""
    caplog.set_level(logging.WARNING)
    folder = save_tiny_classifier(tmp_path / "classifier", 2)
    loader.from_pretrained(folder, **TASK_CONTRACT)
    said = override_warnings(caplog)
    assert [m.split("=")[0] for m in said] == list(TASK_CONTRACT)


# ---------------------------------------------------------- 2. citrus evaluate keeps a set of one's own whole


def _own_set(folder: Path, per_class: int = 6) -> Path:
    """train/{slow,fast}/r<i>.npy (per_class each) and test/{slow,fast}/r0..r2.npy: 2 channels, 2 s at 50 Hz."""
    rng = np.random.default_rng(0)
    for split, count in (("train", per_class), ("test", 3)):
        for label, frequency in (("slow", 2.0), ("fast", 9.0)):
            (folder / split / label).mkdir(parents=True)
            time = np.arange(100) / 50.0
            for index in range(count):
                signal = np.stack([np.sin(2 * np.pi * frequency * time), rng.standard_normal(100)])
                np.save(folder / split / label / f"r{index}.npy", signal.astype(np.float32))
    return folder


def _pools(tmp_path: Path, dataset: str, **settings) -> dict:
    from citrus_hf.evaluation import ProtocolConfig, run_protocol

    config = ProtocolConfig(
        datasets=[dataset],
        budgets=["5", "all"],
        arms=["prior"],
        seeds=[0],
        output_dir=str(tmp_path / "out"),
        resume=False,
        show_progress=False,
        **settings,
    )
    return {run["budget"]: run["n_train"] for run in run_protocol(config).runs}


def test_evaluate_keeps_train_whole_on_a_set_of_ones_own_when_nothing_reads_validation(tmp_path):
    """With 6 recordings per class, budget 5/class was "more than the pool's 8 examples" and "all" trained on 8 of
    12: a validation split was carved out of train for nothing (scored on test, no --select-on-validation)."""
    folder = _own_set(tmp_path / "mine")
    assert _pools(tmp_path, str(folder), sampling_rate=50.0) == {"5/class": 10, "all": 12}


@pytest.mark.parametrize("settings", [{"select_on_validation": True}, {"score_split": "validation"}])
def test_evaluate_carves_validation_out_of_ones_own_set_where_it_is_read(tmp_path, settings):
    folder = _own_set(tmp_path / "mine")
    assert _pools(tmp_path, str(folder), sampling_rate=50.0, **settings)["all"] == 8


def test_a_registered_sets_pool_keeps_its_validation_carve(tmp_path):
    """The published tables of the registered sets were run on train less the fixed carve: their pools (and so their
    recorded runs, which resume reuses) stay as they were."""
    from citrus_hf.data.splits import VALIDATION_FRACTION
    from citrus_hf.evaluation import ProtocolConfig
    from citrus_hf.evaluation.protocol import _dataset_context

    config = ProtocolConfig(
        datasets=["basic_motions"], budgets=["5"], arms=["prior"], seeds=[0], output_dir=str(tmp_path / "out")
    )
    splits = _dataset_context(config, "basic_motions").splits
    assert splits.validation_source.startswith(f"carved from train ({VALIDATION_FRACTION:.0%} per class")
    assert len(splits.train) + len(splits.validation) == len(splits.carved_from) and len(splits.validation) > 0


def test_evaluate_help_says_which_pools_lose_the_carve():
    from citrus_hf.commands.evaluate import build_parser

    text = " ".join(build_parser().format_help().split())
    assert "A registered set always has it carved" in text and "train less" in text
    assert "A set of your own has it carved only where a run reads it" in text


# ------------------------------------------------------------------------------- 3. bf16 on a CPU, said alike


def test_pretrain_help_does_not_recommend_bf16_on_a_cpu():
    from citrus_hf.commands.finetune import build_parser as finetune_parser
    from citrus_hf.commands.pretrain import build_parser as pretrain_parser

    def mixed_precision_help(parser) -> str:
        (action,) = [a for a in parser._actions if "--mixed-precision" in a.option_strings]
        return action.help

    pretrain, finetune = mixed_precision_help(pretrain_parser()), mixed_precision_help(finetune_parser())
    assert "suits CPUs" not in pretrain and "ten times slower" in pretrain
    assert pretrain.split(";")[:2] == finetune.split(";")[:2]


# ------------------------------------------------------------------- 5. what finetune and evaluate take of a set


def test_data_info_says_what_each_command_takes_of_a_set_without_validation(tmp_path, capsys):
    """ "citrus finetune / evaluate take it: train 8, validation 4 (carved ...)", while finetune's default recipe (the
    probe) trained on all 12 rows, and evaluate now does too."""

    folder = _own_set(tmp_path / "mine")
    assert data(["info", str(folder), "--sampling-rate", "50"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "take it: train 8, validation 4" not in out
    assert "citrus evaluate takes it: train 12, test 6 rows" in out
    assert "citrus finetune takes it: train 12, test 6 rows with a recipe that reads no validation split" in out
    assert "train 8, validation 4 (carved from train" in out
    assert data(["info", str(folder), "--sampling-rate", "50", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["fine_tuning"]
    assert (info["train"], info["validation"], info["train_whole"]) == (8, 4, 12)


# ------------------------------------------------------------------------------------- 6. the smaller texts


def test_the_readme_hr_ecg_minirocket_figures_are_those_of_the_published_table():
    table = (ROOT / "benchmarks/results/few_shot/results.md").read_text()
    section = table[table.index("## hr_ecg") :]
    row = next(line for line in section.splitlines() if line.startswith("| minirocket |"))
    published = re.findall(r"([\d.]+) ±", row)
    text = " ".join(README.read_text().split())
    assert "the published table's 2.64" not in text
    assert f"against {published[0]} ±" in text  # the README's comparison quotes the table's 5-window cell


def test_every_markdown_file_the_readme_names_exists():
    """`HISTORY.md` was cited as if at the root; it is benchmarks/results/few_shot/HISTORY.md. A bare name must
    follow the folder it lies in."""
    text = README.read_text()
    for match in re.finditer(r"`([\w./-]+\.md)`", text):
        name = match.group(1)
        folders = re.findall(r"`([\w./-]+/)`", text[max(0, match.start() - 120) : match.start()])
        assert any((ROOT / folder / name).is_file() for folder in ["", *folders]), name


def test_data_info_names_the_sources_a_pooled_corpus_holds_no_rows_of(monkeypatch):
    """`citrus data list` counts pretrain_corpus's 25 sources; `data info` listed the 24 with rows, without a word
    about wavethresh_baby (below min_rate)."""
    import datasets

    from citrus_hf.commands.data import format_info
    from citrus_hf.data import builders
    from citrus_hf.data.registry import get_dataset_spec

    sources = get_dataset_spec("pretrain_corpus").sources
    rows = {
        "input_values": [np.zeros((1, 100), dtype=np.float32)] * 2,
        "sampling_rate": [100.0] * 2,
        "source_name": list(sources[:2]),
    }
    monkeypatch.setattr(
        builders, "build_dataset", lambda *a, **k: datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows)})
    )
    info = builders.dataset_info("pretrain_corpus")
    assert info["sources_without_rows"] == list(sources[2:])
    text = format_info(info)
    assert f"no rows at these options from {len(sources) - 2} of its {len(sources)} sources: {sources[2]}, " in text


def test_the_sampling_rate_and_file_kind_helps_name_every_kind():
    from citrus_hf.commands.finetune import build_parser as finetune_parser
    from citrus_hf.commands.predict import build_parser as predict_parser

    def help_of(parser, dest: str) -> str:
        (action,) = [a for a in parser._actions if a.dest == dest]
        return action.help

    assert not help_of(finetune_parser(), "sampling_rate").endswith(
        "when a save_to_disk set has no sampling_rate column"
    )
    assert "folder of .npy / .csv" in help_of(finetune_parser(), "sampling_rate")
    recordings = help_of(predict_parser(), "recordings")
    assert "WAV" in recordings and ".tsv" in recordings and ".txt" in recordings
    rate = help_of(predict_parser(), "sampling_rate")
    assert ".tsv" in rate and "WAV" in rate


def test_data_builds_window_seconds_help_says_a_set_of_ones_own_is_saved_uncut(tmp_path):
    """`citrus data build --help` offered --window-seconds, which build refuses for a set of one's own (saved as it
    is), while `data info` takes it for one (summarised as cut)."""
    from citrus_hf.commands.data import build_parser

    def help_of(command: str, dest: str) -> str:
        (action,) = [a for a in build_parser(command)._actions if a.dest == dest]
        return " ".join(action.help.split())

    assert "registered" in help_of("build", "window_seconds") and "as it is" in help_of("build", "window_seconds")
    assert "your own" in help_of("info", "window_seconds")
    folder = _own_set(tmp_path / "mine")
    assert data(["build", str(folder), "--sampling-rate", "50", "--window-seconds", "1"]) == 2
