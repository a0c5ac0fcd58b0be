"""Mutation audit of the commands, second pass (audit79_mutcli2): checks that fail where `citrus predict` reads other
channels than the user or the checkpoint chose, where `citrus export` checks only its last batch of windows or writes
another label order into the graph, or misses a checkpoint saved in bfloat16 by an older transformers, and where
`citrus data` lets `--dataset-options` override the flag of the same option.

`citrus predict` scores two real channels of EEG Motor Movement/Imagery S001R02 (160 Hz) with a tiny classifier that
picks its channels by name, as one fine-tuned on files that name theirs saves it.
"""

from __future__ import annotations

import csv
import datetime
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config, write_edf

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.data.readers import read_edf

LABELS = ("rest", "left", "right")
NAMES = ["C4..", "C3.."]  # the checkpoint's order: the file holds C3.. before C4..


def _scores(path) -> list[list[float]]:
    """Each row's probabilities (the p_LABEL columns) of a `citrus predict --output` CSV."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [[float(row[key]) for key in row if key.startswith("p_")] for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def by_name(tmp_path_factory) -> str:
    """A tiny 3-label classifier of 2 channels (1 s windows at 160 Hz) that picks them by name (`NAMES`) and takes
    exactly those (`channel_independent` False), as `citrus finetune` saves one fine-tuned on named channels."""
    torch.manual_seed(0)
    config = tiny_config(
        num_channels=2, num_labels=3, sampling_rate=160.0, context_length=160, patch_length=16,
        id2label=dict(enumerate(LABELS)), label2id={label: index for index, label in enumerate(LABELS)},
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("by_name")
    CiTrusForSequenceClassification(config).eval().save_pretrained(folder)
    extractor = CiTrusFeatureExtractor.from_config(config)
    extractor.channel_names, extractor.channel_independent = list(NAMES), False
    extractor.save_pretrained(folder)
    return str(folder)


def test_predict_gives_the_pipeline_the_names_of_the_channels_it_chose(by_name, edf_path, tmp_path):
    """--channels in the file's order (C3.., C4..) for a checkpoint fine-tuned on C4.., C3..: the rows are the same
    as for --channels in the checkpoint's order, each channel given to the pipeline by name (without the names, the
    checkpoint's first channel read the file's first: C3.. scored as C4..)."""
    outputs = []
    for order in (["C3..", "C4.."], NAMES):
        output = tmp_path / f"{order[0]}.csv"
        arguments = ["predict", by_name, str(edf_path), "--channels", *order, "--output", str(output)]
        assert main([*arguments, "--backend", "torch"]) == 0
        outputs.append(_scores(output))
    assert len(outputs[0]) > 1
    assert outputs[0] == outputs[1]


def test_predict_reads_the_channels_given_not_the_checkpoints_from_a_file_of_several_rates(by_name, edf_path, tmp_path):
    """A file of several rates (EEG at 160 Hz beside a 1 Hz channel, as a PSG) holding the checkpoint's channels:
    without --channels they are read by name; with --channels the user's own are read (Fz.. in place of C4..), where
    the checkpoint's channels were read in their place without a word."""
    from transformers import pipeline

    import citrus_hf  # noqa: F401  (registers the pipelines)

    recording = read_edf(edf_path, ["C3..", "C4..", "Fz.."])
    signals = list(recording.data[:, : 60 * 160])
    psg = write_edf(
        tmp_path / "psg.edf", [*signals, signals[0][::160] * 0], ["C3..", "C4..", "Fz..", "Resp"], [160] * 3 + [1],
        peak=1000.0, plus=False,
    )  # fmt: skip
    chosen, default = tmp_path / "chosen.csv", tmp_path / "default.csv"
    common = ["predict", by_name, str(psg), "--backend", "torch"]
    assert main([*common, "--channels", "Fz..", "C3..", "--output", str(chosen)]) == 0
    assert main([*common, "--output", str(default)]) == 0
    classify = pipeline(model=by_name, backend="torch", top_k=None)
    expected = classify(str(psg), channels=["Fz..", "C3.."])["windows"]
    # the CSV's p_LABEL columns in the checkpoint's label order
    scores = [[{e["label"]: e["score"] for e in w["labels"]}[label] for label in LABELS] for w in expected]
    assert len(_scores(chosen)) == len(scores) > 1
    for row, window in zip(_scores(chosen), scores, strict=True):
        assert row == pytest.approx(window, abs=1e-6)
    assert _scores(chosen) != _scores(default)


def test_lights_on_before_lights_out_given_in_two_kinds_of_time_is_refused(edf_path, tmp_path, capsys):
    """--lights-off as a time of day and --lights-on in seconds cannot be compared before the recording is read: the
    recording's own check refuses lights on (10 s) before lights out (50 s), in the command's words."""
    from test_sleep3_audit73 import STAGES
    from test_timeuse_audit73 import _classifier

    stager = _classifier(tmp_path / "stager", STAGES)
    off = read_edf(edf_path, ["C3.."]).start + datetime.timedelta(seconds=50)
    lights = ["--lights-off", off.time().isoformat(), "--lights-on", "10"]
    assert main(["predict", stager, str(edf_path), "--channels", "C3..", *lights, "--backend", "torch"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.endswith("lights on (10 s) is not after lights out (50 s); give --lights-off before --lights-on.")


def test_a_stagers_lines_count_each_reason_of_no_signal_and_name_seconds_unstaged(edf_path, tmp_path, capsys):
    """A night with 6 s flat (an electrode off) and 2 s of NaN filled by --nan-policy interpolate: the no-signal line
    counts each reason's windows apart, and the sleep line names the 8 s unstaged (0.1 min, shown from 3 s)."""
    from test_sleep3_audit73 import STAGES
    from test_timeuse_audit73 import _classifier

    stager = _classifier(tmp_path / "stager", STAGES)  # 2 s windows at 100 Hz
    samples = read_edf(edf_path, ["C3.."]).data[:, : 60 * 100].copy()  # 60 s of EEG, read as 100 Hz
    samples[:, 10 * 100 : 16 * 100] = 0.0
    samples[:, 30 * 100 : 32 * 100] = float("nan")
    np.save(tmp_path / "night.npy", samples)
    night = str(tmp_path / "night.npy")
    options = ["--sampling-rate", "100", "--nan-policy", "interpolate", "--backend", "torch"]
    assert main(["predict", stager, night, *options]) == 0
    out = capsys.readouterr().out
    assert (
        f"{night}: 4 of 30 window(s) hold no signal (3 flat: constant, e.g. an electrode off; 1 interpolated: every "
        "sample NaN / inf, filled by the interpolate nan policy), left out of its label" in out
    )
    (sleep,) = [line for line in out.splitlines() if ": sleep (AASM" in line]
    assert sleep.endswith("; 0.1 min unstaged (no window of signal, or of no stage)"), sleep


# ------------------------------------------------------------------------------------------------ citrus export
def test_the_export_check_reports_the_largest_difference_of_every_batch_not_only_the_last():
    """`citrus export` compares ONNX Runtime with PyTorch on 3 batches (full windows, one padded window, short
    windows): a graph off on the first batch alone was reported within tolerance when only the last was kept."""
    from citrus_hf.commands.export import _differences

    model = SimpleNamespace(config=tiny_config(num_channels=2))

    def reference(windows, patch_mask):  # (batch, channels, time) -> (batch, channels)
        return windows.mean(-1)

    def off_on_full_batches(windows, patch_mask):
        return reference(windows, patch_mask) + (1.0 if windows.shape[0] == 8 else 0.0)

    absolute, _, within = _differences(model, off_on_full_batches, reference)
    assert absolute == pytest.approx(1.0) and not within


needs_onnx = pytest.mark.skipif(
    __import__("citrus_hf.inference.backends", fromlist=["x"]).onnx_export_available() is not None,
    reason="needs citrus-hf[onnx]",
)


@needs_onnx
def test_the_deployment_keeps_the_label_order_and_notes_a_bf16_checkpoint_of_an_older_transformers(tmp_path, capsys):
    """A classifier whose labels are not in alphabetical order, saved in bfloat16 by a transformers that wrote
    `torch_dtype` (before 4.56; `dtype` since): the graph's id2label maps each output index to its own label, and the
    command says it exports the float32 copy, with the pipeline call that finds that export (dtype=torch.float32)."""
    import onnx

    labels = {0: "wake", 1: "awake", 2: "drowsy"}
    torch.manual_seed(0)
    config = tiny_config(num_channels=2, num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()})
    folder = tmp_path / "bf16"
    CiTrusForSequenceClassification(config).to(torch.bfloat16).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    saved = json.loads((folder / "config.json").read_text())
    saved["torch_dtype"] = saved.pop("dtype")
    (folder / "config.json").write_text(json.dumps(saved))
    out = tmp_path / "deploy"
    arguments = ["export", str(folder), "--output-dir", str(out), "--cache-dir", str(tmp_path / "cache")]
    assert main(arguments) == 0
    said = capsys.readouterr().out
    assert f"note: {str(folder)!r} is saved in bfloat16; the ONNX path runs float32" in said
    assert "dtype=torch.float32" in said.splitlines()[-1]
    metadata = {entry.key: entry.value for entry in onnx.load(str(out / "model.onnx")).metadata_props}
    assert json.loads(metadata["id2label"]) == {"0": "wake", "1": "awake", "2": "drowsy"}
    assert json.loads((out / "config.json").read_text())["dtype"] == "float32"


# -------------------------------------------------------------------------------------------------- citrus data
def test_a_builder_flag_wins_over_the_same_option_in_dataset_options():
    """`--window-seconds 2 --dataset-options window_seconds=1`: the flag, as each flag of the command wins over the
    mapping of other options (its help: "any other builder option")."""
    from citrus_hf.commands.data import _options, build_parser

    for command in ("info", "build"):
        argv = ["myo_gestures", "--dataset-options", "window_seconds=1", "seed=3", "--window-seconds", "2"]
        args = build_parser(command).parse([*argv, "--output", "out"] if command == "build" else argv)
        assert _options(args) == {"window_seconds": 2.0, "seed": 3}


# ----------------------------------------------------------------------------------------------- the parser
def test_two_numbers_for_an_option_of_one_number_or_pairs_are_refused_naming_both(tmp_path, monkeypatch, capsys):
    """`citrus evaluate --sampling-rate 100 250` (a rate per set, without the SET= of each): refused, naming what was
    given (the error named '100' alone, a number where it said it expects one), not read as 100."""
    monkeypatch.chdir(tmp_path)  # (read as 100, the protocol would run, writing citrus_evaluation/ in the cwd)
    assert main(["evaluate", "--sampling-rate", "100", "250"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--sampling-rate: expects one number or KEY=VALUE pairs, got '100 250'" in error


def test_a_settings_files_null_in_a_group_of_settings_replaces_its_default(tmp_path):
    """`finetune: {early_stopping_patience: null}` in a `citrus evaluate` settings file: the runs' patience is None
    (its null), not the default of 5 that a dropped null left in place."""
    from citrus_hf.commands.evaluate import build_parser

    settings = tmp_path / "protocol.yaml"
    settings.write_text("finetune:\n  early_stopping_patience: null\n  learning_rate: 0.01\n", encoding="utf-8")
    finetune = build_parser().parse(["--config", str(settings)]).finetune
    assert finetune.early_stopping_patience is None and finetune.learning_rate == 0.01


def test_a_settings_file_with_a_misspelt_key_before_a_dataset_name_is_refused_naming_it(tmp_path, capsys):
    """`citrus data info typo.json myo_gestures`, typo.json setting window_seconds and a misspelt hop_secnds: read as
    settings (one of its keys is a setting) and refused naming the key and its spelling, not taken for a data file
    beside an "unrecognized" dataset name."""
    settings = tmp_path / "typo.json"
    settings.write_text(json.dumps({"window_seconds": 2, "hop_secnds": 1}), encoding="utf-8")
    assert main(["data", "info", str(settings), "myo_gestures"]) == 2
    error = capsys.readouterr().err
    assert "sets unknown setting(s) hop_secnds (did you mean hop_seconds?)" in error
