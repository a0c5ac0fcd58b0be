"""The advice in error and warning messages holds where the message appears: the option it names exists on the command
that shows it and takes the value as spelt, and the file it asks for is the one read. Each message below once sent the
user to an option of another command, a spelling that command refuses, or a path that nothing reads; following it
brought the same error back or a second one."""

from __future__ import annotations

import hashlib
import json
import logging
import re

import datasets
import numpy as np
import pytest

from citrus_hf.commands.main import main
from citrus_hf.data import fetch
from citrus_hf.data.errors import CitrusDataError, OfflineError
from citrus_hf.data.registry import FigshareArticle


def _protocol(tmp_path, **changes):
    from citrus_hf.evaluation.settings import ProtocolConfig

    return ProtocolConfig(output_dir=str(tmp_path / "ev"), datasets=["basic_motions"], arms=["citrus-time"], **changes)


@pytest.mark.parametrize(
    "changes, named",
    [
        ({"pretrain_learning_rate": 1e39}, "--pretrain-learning-rate 1e+39"),
        # lr x the pre-training's weight decay (0.05) >= 1; evaluate has no option for that weight decay
        ({"pretrain_learning_rate": 200.0}, "--pretrain-learning-rate 200"),
        ({"pretrain_seed": 2**32}, "--pretrain-seed"),
    ],
)
def test_evaluate_refuses_its_pretraining_settings_by_their_own_names(tmp_path, changes, named):
    """`citrus evaluate --pretrain-learning-rate 1e39` said "--learning-rate 1e+39 is beyond float32's range" (and
    --pretrain-seed 2**32 "--seed must be at most ..."), once the corpus was built: evaluate's --learning-rate is the
    fine-tuning's, so the advice changed nothing, and evaluate has no --seed."""
    with pytest.raises(ValueError) as raised:
        _protocol(tmp_path, **changes)
    message = str(raised.value)
    assert named in message
    assert not re.search(r"--(learning-rate|weight-decay|seed)\b", message)


def test_a_pretraining_batch_larger_than_the_corpus_names_evaluates_option_too(tmp_path):
    """evaluate pre-trains its arms with --pretrain-batch-size windows per step; the refusal named only pretrain's
    --per-device-batch-size, which in evaluate is the fine-tuning's batch."""
    from citrus_runs import pretrain_arguments

    from citrus_hf.training.pretrain import pretrain

    with pytest.raises(ValueError, match="fewer than one global batch") as raised:
        pretrain(pretrain_arguments(tmp_path / "run", per_device_batch_size=10**6, max_steps=1))
    assert "citrus evaluate: --pretrain-batch-size" in str(raised.value)


def test_a_large_probe_fit_names_evaluates_budget_option_too(monkeypatch, caplog):
    """The probe also fits every CiTrus arm of `citrus evaluate`, whose label budget is --budgets: the warning named
    only finetune's --label-budget."""
    import torch
    from test_probe import _aligned
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForRegression
    from citrus_hf.training import probe

    monkeypatch.setattr(probe, "LARGE_PROBE_VALUES", 100)  # the tiny fit below counts as large
    model = CiTrusForRegression(tiny_config(head_features="all_layers", pooling="mean_max"))
    inputs = torch.randn(20, 1, 200)
    with caplog.at_level("WARNING"):
        probe.fit_probe(model, _aligned(inputs, inputs.std(dim=(1, 2))), "regression")
    assert "Fitting the ridge read-out" in caplog.text and "citrus evaluate: --budgets" in caplog.text


def _own_set(path, splits) -> str:
    rng = np.random.default_rng(0)
    parts = {
        name: datasets.Dataset.from_dict(
            {
                "input_values": [rng.normal(size=(1, 100)).astype("float32").tolist() for _ in range(8)],
                "label": [i % 2 for i in range(8)],
                "sampling_rate": [10.0] * 8,
            }
        )
        for name in splits
    }
    datasets.DatasetDict(parts).save_to_disk(str(path))
    return str(path)


def _evaluate(tmp_path, dataset, *options) -> list[str]:
    argv = ["evaluate", "--datasets", dataset, "--arms", "prior", "--budgets", "1", "--seeds", "0"]
    return argv + ["--output-dir", str(tmp_path / "ev"), "--no-show-progress", *options]


def test_evaluate_names_no_validation_split_option_it_lacks(tmp_path, capsys):
    """`citrus evaluate --test-split SET=validation` on a set with a validation split was refused with "Name another
    validation split" and the error spoke of --validation-split, which evaluate does not have."""
    dataset = _own_set(tmp_path / "set", ["train", "validation"])
    assert main(_evaluate(tmp_path, dataset, "--test-split", f"{dataset}=validation")) != 0
    error = capsys.readouterr().err
    assert "optimistic" in error and "--validation-split" not in error
    assert f"--test-split {dataset}=NAME" in error


def test_evaluate_warning_of_an_unused_split_names_no_validation_split_option(tmp_path, caplog):
    """The warning that a set's other split goes unused said "To validate on one: --validation-split holdout", an
    option evaluate does not have: it validates on the split named validation."""
    dataset = _own_set(tmp_path / "set", ["train", "test", "holdout"])
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        assert main(_evaluate(tmp_path, dataset, "--score-split", "validation")) == 0
    warning = next(record.getMessage() for record in caplog.records if "holdout" in record.getMessage())
    assert "--validation-split" not in warning and "'validation'" in warning


def test_own_set_window_advice_parses_as_evaluates_dataset_options(tmp_path, capsys):
    """A set of your own given a hop without a window was told "e.g. --dataset-options window_seconds=5", which
    evaluate's --dataset-options (NAME:KEY=VALUE) refuses; the message now gives evaluate's spelling too."""
    from citrus_hf.commands.evaluate import build_parser

    dataset = _own_set(tmp_path / "set", ["train", "test"])
    assert main(_evaluate(tmp_path, dataset, "--dataset-options", f"{dataset}:hop_seconds=1")) != 0
    error = capsys.readouterr().err
    advice = re.search(r"citrus evaluate: (--dataset-options \S+?)[).;]", error)
    assert advice is not None, error
    parsed = build_parser().parse(_evaluate(tmp_path, dataset)[1:] + advice.group(1).split())
    assert parsed.dataset_options == {dataset: {"window_seconds": 5}}


def test_online_set_without_a_data_dir_gives_each_command_its_spelling():
    """The advice paired `citrus finetune` with `--dataset-options NAME:data_dir=PATH`, which finetune's options
    (KEY=VALUE) refuse as an unknown option `NAME:data_dir`; and that refusal listed the set's options without
    data_dir."""
    from citrus_hf.data import build_dataset
    from citrus_hf.data.plans import resolve_options
    from citrus_hf.data.registry import get_dataset_spec

    with pytest.raises(CitrusDataError) as raised:
        build_dataset("mitdb_beats")
    message = str(raised.value)
    assert "`citrus finetune --dataset-options data_dir=PATH`" in message
    assert "`citrus evaluate --dataset-options mitdb_beats:data_dir=PATH`" in message
    with pytest.raises(CitrusDataError, match="its options are: .*data_dir"):
        resolve_options(get_dataset_spec("mitdb_beats"), {"mitdb_beats:data_dir": "x"})


def test_figshare_offline_advice_names_the_listing_file_that_is_read(tmp_path, monkeypatch):
    """Offline, the figshare listing's refusal said to place the file at figshare.json.download, a temporary name no
    later run reads: placed there, the next run asked for it again."""
    monkeypatch.setenv("CITRUS_HF_OFFLINE", "1")
    body = b"train tensor bytes"
    article = FigshareArticle(1, 1, ("train.pt",))
    with pytest.raises(OfflineError) as raised:
        fetch.fetch_figshare(article, tmp_path, api_url="http://127.0.0.1:9")
    named = re.search(r"to (\S+?); unset it", str(raised.value))
    assert named is not None, raised.value
    listing = {"files": [{"name": "train.pt", "download_url": "x", "computed_md5": hashlib.md5(body).hexdigest()}]}
    (tmp_path / "train.pt").write_bytes(body)
    with open(named.group(1), "w", encoding="utf-8") as out:
        json.dump(listing, out)
    assert fetch.fetch_figshare(article, tmp_path, api_url="http://127.0.0.1:9")["train.pt"].read_bytes() == body


def test_physionet_offline_advice_to_place_the_manifest_is_followed(tmp_path, monkeypatch):
    """Offline, the refusal said to place SHA256SUMS.txt in the data folder; placed there, the next run downloaded it
    again and refused the same way (the version's manifest, pinned in its URL, is now read where it lies)."""
    from citrus_hf.data.registry import PhysioNetDatabase

    monkeypatch.setenv("CITRUS_HF_OFFLINE", "1")
    database = PhysioNetDatabase("mitdb", "1.0.0")
    with pytest.raises(OfflineError) as raised:
        fetch.fetch_physionet(database, tmp_path, base_url="http://127.0.0.1:9/files")
    named = re.search(r"to (\S+?); unset it", str(raised.value))
    assert named is not None and named.group(1).endswith("SHA256SUMS.txt"), raised.value
    body = b"a record"
    (tmp_path / "100.dat").write_bytes(body)
    with open(named.group(1), "w", encoding="utf-8") as out:
        out.write(f"{hashlib.sha256(body).hexdigest()} 100.dat\n")
    assert fetch.fetch_physionet(database, tmp_path, base_url="http://127.0.0.1:9/files") == [tmp_path / "100.dat"]


def test_a_heart_rate_window_too_short_for_two_beats_is_not_told_to_be_shorter(tmp_path):
    """hr_ecg with window_seconds=0.5 (no window holds two R-peaks, so none has a target) was refused with "a window
    longer than every recording ...? Use shorter windows"."""
    from citrus_hf.data import build_dataset

    with pytest.raises(ValueError, match="two R-peaks") as raised:
        build_dataset("hr_ecg", cache_dir=tmp_path, window_seconds=0.5)
    assert "shorter" not in str(raised.value) and "window_seconds of a few heartbeats" in str(raised.value)


def test_a_pipeline_over_a_model_loaded_by_a_bundled_name_finds_its_extractor():
    """`pipeline(task, model=CiTrusForSequenceClassification.from_pretrained("citrus-small", num_labels=3))` was
    refused for want of the extractor, with advice that did not apply: citrus_hf was imported first, and
    `model=bundled_checkpoint(...)` would drop the model given. transformers looks a model object's extractor up
    under its name, as it does for a Hub id; a bundled name's is in the package."""
    from transformers import pipeline

    from citrus_hf import CiTrusForSequenceClassification

    model = CiTrusForSequenceClassification.from_pretrained("citrus-small", num_labels=3)
    classifier = pipeline("time-series-classification", model=model)
    assert classifier.model is model and classifier.feature_extractor.context_length == model.config.context_length
    result = classifier(np.random.default_rng(0).normal(size=(1, 1000)).astype(np.float32), sampling_rate=100)
    assert len(result["labels"]) == 3


# ------------------------------------------------------------------ every message's options exist where it names them

# Options of other programs that messages name on purpose: Accelerate's launcher, pip, TensorBoard, `citrus`'s own
# top-level switches (`citrus --debug`, `citrus --version`), which no command's parser holds, and the dataset scripts'
# (dataset_scripts/*.py --no-download).
FOREIGN_OPTIONS = {
    "--mixed_precision",
    "--num_processes",
    "--multi_gpu",
    "--cpu",
    "--no-deps",
    "--logdir",
    "--debug",
    "--version",
    "--no-download",
}
_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*(?![\w{-])")
# `citrus COMMAND [SUBCOMMAND]` and the rest of its clause (up to a backtick, bracket, semicolon or line end)
_COMMAND_LINE = re.compile(r"\bcitrus (data(?: (?:list|fetch|build|info)\b)?|[a-z]+)((?:'s)?[^`;()\n]*)")
_MESSAGE_CALLS = {"warn", "warning", "error", "info", "exit", "ArgumentError", "UsageError"}


def _command_options() -> dict[str, set[str]]:
    """Every option of every `citrus` command (`data SUBCOMMAND` each on its own, `data` their union)."""
    import importlib

    from citrus_hf.commands import COMMANDS

    options = {}
    for name, command in COMMANDS.items():
        module = importlib.import_module(command.module)
        if name == "data":
            for subcommand in module.SUBCOMMANDS:
                parser = module.build_parser(subcommand)
                options[f"data {subcommand}"] = {o for action in parser._actions for o in action.option_strings}
            options["data"] = set().union(*(options[f"data {sub}"] for sub in module.SUBCOMMANDS))
        else:
            options[name] = {o for action in module.build_parser()._actions for o in action.option_strings}
    return options


def _message_texts(source: str):
    """(line, text) of each message the code raises, warns or logs: its string pieces, an f-string's fields as {}."""
    import ast

    def text_of(node) -> str:
        parts = []
        for inner in ast.walk(node):
            if isinstance(inner, ast.JoinedStr):
                parts.append("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in inner.values))
            elif isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                parts.append(inner.value)
        return " ".join(parts)

    for node in sorted(ast.walk(ast.parse(source)), key=lambda node: getattr(node, "lineno", 0)):
        if isinstance(node, ast.Raise) and node.exc is not None:
            yield node.lineno, text_of(node.exc)
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in _MESSAGE_CALLS:
                yield node.lineno, text_of(node)


def advice_problems(sources: dict[str, str], options: dict[str, set[str]]) -> list[str]:
    """The options that messages name but no `citrus` command has, the commands they name that do not exist, and the
    options they give a named command (`citrus finetune --x`) that it does not have."""
    known = set().union(*options.values()) | FOREIGN_OPTIONS
    problems = []
    for path, source in sources.items():
        for line, text in _message_texts(source):
            problems += [f"{path}:{line}: no command has {o}" for o in _OPTION.findall(text) if o not in known]
            for command, clause in _COMMAND_LINE.findall(text):
                if command not in options:
                    if command not in {"commands", "command"}:
                        problems.append(f"{path}:{line}: no command `citrus {command}`")
                    continue
                problems += [
                    f"{path}:{line}: `citrus {command}` has no {o}"
                    for o in _OPTION.findall(clause)
                    if o not in options[command] and o not in FOREIGN_OPTIONS
                ]
    return list(dict.fromkeys(problems))  # (an f-string's pieces are walked twice, a raised call once more)


@pytest.fixture(scope="module")
def command_options() -> dict[str, set[str]]:
    return _command_options()


def test_every_option_and_command_a_message_names_exists(command_options):
    from pathlib import Path

    import citrus_hf

    root = Path(citrus_hf.__file__).parent
    sources = {str(path.relative_to(root)): path.read_text(encoding="utf-8") for path in sorted(root.rglob("*.py"))}
    assert advice_problems(sources, command_options) == []


def test_the_check_catches_a_planted_wrong_option(command_options):
    """The check above can fail: an option no command has, a command's option named on another, a command that does
    not exist."""
    planted = """
def f(x):
    if x:
        raise ValueError(f"{x} is refused; pass --sampling-rat HZ.")
    logger.warning("give it with `citrus predict --dataset-options window_seconds=5`")
    warnings.warn("run `citrus train --max-steps 5` first")
    raise UsageError("`citrus data fetch --window-seconds 2` fetches nothing")
"""
    assert advice_problems({"planted.py": planted}, command_options) == [
        "planted.py:4: no command has --sampling-rat",
        "planted.py:5: `citrus predict` has no --dataset-options",
        "planted.py:6: no command `citrus train`",
        "planted.py:7: `citrus data fetch` has no --window-seconds",
    ]


def test_a_column_that_counts_the_samples_is_not_advised_to_be_named_as_a_clock(tmp_path, caplog):
    """A CSV's `sample` column (0, 1, 2, ...) read as a channel was warned of with "name a clock's column as one (time,
    time_ms, ...)": renamed `time`, its steps of 1 read as 1 ms, and the file at 100 Hz was refused asking for
    --sampling-rate 1000, a wrong rate. The advice for a count is an empty header cell (a row index, left out)."""
    from citrus_hf.data.readers import read_recording

    rows = "".join(f"{k},{np.sin(k / 5):.4f}\n" for k in range(300))
    counted = tmp_path / "counted.csv"
    counted.write_text("sample,ecg\n" + rows)
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        assert read_recording(counted, sampling_rate=100).channel_names == ["sample", "ecg"]
    warning = next(record.getMessage() for record in caplog.records if "counts the samples" in record.getMessage())
    assert "name a clock's column" not in warning and "header cell empty" in warning
    followed = tmp_path / "followed.csv"
    followed.write_text(",ecg\n" + rows)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        assert read_recording(followed, sampling_rate=100).channel_names == ["ecg"]
    assert "rises by" not in caplog.text


def test_push_names_a_missing_eval_results_file_before_the_hub(tmp_path, capsys):
    """`citrus push FOLDER me/x --eval-results missing.json` first asked the Hub for the repository's card and failed
    with "Check the network connection ... and that you are logged in": the missing local file came only after the
    network was fixed."""
    from tiny_configs import save_tiny_classifier

    folder = tmp_path / "model"
    save_tiny_classifier(folder)
    missing = tmp_path / "missing.json"
    assert main(["push", str(folder), "me/x", "--eval-results", str(missing)]) != 0
    error = capsys.readouterr().err
    assert "missing.json" in error and "does not exist" in error and "network" not in error
