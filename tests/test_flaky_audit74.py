"""Audit 74, nondeterminism and races: what "auto" reports as the path that ran, whatever its race chose."""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_configs import save_tiny_classifier, tiny_config
from transformers import TrainerCallback

import citrus_hf.inference.backends as backends_module
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.inference.backends import (
    RACE_MIN_WINDOWS,
    CheckedBackend,
    Contender,
    InferenceTarget,
    TorchBackend,
    predict_windows,
)

# the fake contender's shift of every logit: far above fp32's noise, so a window it computed is told apart
SHIFT = 0.5


class _TimedPath(TorchBackend):
    """fp32 PyTorch under another `name`, its output moved by `shift`, that advances the race's fake clock `now` by
    `large_seconds` for a batch of at least `RACE_MIN_WINDOWS` windows and by `small_seconds` for a smaller one: a
    machine whose load makes one path win the large batches and the other the small ones, every time."""

    def __init__(self, model, now, name, large_seconds, small_seconds, shift=0.0):
        super().__init__(model, InferenceTarget())
        self.now, self.name, self.shift = now, name, shift
        self.seconds = {True: large_seconds, False: small_seconds}

    def __call__(self, input_values, patch_mask=None):
        self.now[0] += self.seconds[len(input_values) >= RACE_MIN_WINDOWS]
        return super().__call__(input_values, patch_mask) + self.shift


def _split_race(model, fast_on_large: str = "bf16") -> CheckedBackend:
    """ "auto" whose race, as a busy machine's may, gives the large batches to `fast_on_large` and the small ones to
    the other path: a fake bf16 path (fp32 moved by `SHIFT`) and fp32 PyTorch."""
    now = [0.0]
    large, small = (1.0, 10.0) if fast_on_large == "bf16" else (10.0, 1.0)
    fake_bf16 = _TimedPath(model, now, "bf16", large_seconds=large, small_seconds=small, shift=SHIFT)
    reference = _TimedPath(model, now, "torch", large_seconds=5.0, small_seconds=5.0)
    contender = Contender(fake_bf16, lambda candidate, reference_output: True, "never")
    return CheckedBackend([contender], reference, clock=lambda: now[0])


def test_a_recording_whose_full_and_padded_windows_ran_on_two_paths_names_both(tmp_path, monkeypatch):
    """The 17 full windows of a recording's pass and its padded last one run apart (`run_full_and_padded_apart`):
    two batches of two size classes, which "auto" races apart. Where the race gave them to two paths, the result
    said `"backend": "torch"` (the path of the last sub-batch) for logits of which 17 rows came from bf16: a user
    (and the pipeline example's test) who checked them against fp32 within fp32's tolerance saw bf16's differences
    under a "torch" label. Now the result names both paths, in the order they ran."""
    from transformers import pipeline

    import citrus_hf  # noqa: F401  (registers the pipelines)

    folder = save_tiny_classifier(tmp_path / "classifier")
    classify = pipeline(model=str(folder))
    auto = _split_race(classify.model)
    real_load_backend = backends_module.load_backend
    monkeypatch.setattr(
        backends_module,
        "load_backend",
        lambda model, backend, *args, **kwargs: (
            auto if backend == "auto" else real_load_backend(model, backend, *args, **kwargs)
        ),
    )
    rate, window = 100, 200
    recording = np.random.default_rng(0).standard_normal((1, 17 * window + 150)).astype(np.float32)
    result = classify(recording, sampling_rate=rate, pad_last_window=True, function_to_apply="none", top_k=2)
    assert len(result["windows"]) == 18
    assert result["backend"] == "bf16+torch"
    # the rows say the same: the full windows carry the fake bf16 path's shift, the padded one does not
    reference = classify(recording, sampling_rate=rate, pad_last_window=True, function_to_apply="none", top_k=2,
                         backend="torch")  # fmt: skip
    shifts = [
        {entry["label"]: entry["score"] for entry in ours["labels"]}["LABEL_0"]
        - {entry["label"]: entry["score"] for entry in theirs["labels"]}["LABEL_0"]
        for ours, theirs in zip(result["windows"], reference["windows"])
    ]
    np.testing.assert_allclose(shifts, [SHIFT] * 17 + [0.0], atol=1e-5)


def test_predict_windows_names_every_path_its_batches_ran_on(caplog):
    """`predict_windows` logged "N windows ran on the torch backend" after a call whose large batches ran in bf16
    and whose last, short batch in fp32 PyTorch. Now it names both."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).eval()
    auto = _split_race(model)
    windows = torch.randn(20, 1, 200)
    with caplog.at_level(logging.INFO, logger="citrus_hf.inference.backends"):
        output = predict_windows(model, {"input_values": windows}, backend=auto, batch_size=16)
    assert output.shape == (20, 2)
    assert "20 windows ran on the bf16+torch backend." in caplog.text


def test_the_pipeline_example_names_every_path_auto_ran_on(tmp_path, monkeypatch, capsys):
    """examples/pipeline_inference.py printed the first recording's `"backend"` as the path "auto" ran, while its
    logit difference was over every recording's windows. Under load the race can give the large passes (the packs
    of short recordings) to fp32 PyTorch and the last, short pack to bf16: the row said "torch" next to bf16's
    difference, and its test, which holds "torch" rows to fp32's 1e-4, failed now and then on a busy machine. Now the
    row names every path that ran; here the race is made to split so every time."""
    from test_examples_training import run_example_in_process

    from citrus_hf import CiTrusFeatureExtractor

    config = tiny_config(num_labels=7, num_channels=6, sampling_rate=50.0)
    folder = tmp_path / "watch"
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    real_load_backend = backends_module.load_backend

    def load_backend(model, backend="auto", target=None, **options):
        if backend == "auto" and backends_module.target_for(model, target).output == "logits":
            return _split_race(model, fast_on_large="torch")
        return real_load_backend(model, backend, target, **options)

    monkeypatch.setattr(backends_module, "load_backend", load_backend)
    monkeypatch.setattr(backends_module, "onnx_export_available", lambda: "left out here")  # no export: seconds
    output = run_example_in_process(monkeypatch, capsys, "pipeline_inference.py", "--model", str(folder), cwd=tmp_path)
    assert "ran on torch+bf16" in output
    ran, difference = re.search(r"^  auto +(\S+) +\d+ +\d+ / \d+ +([0-9.e+-]+)", output, re.M).groups()
    assert ran == "torch+bf16" and float(difference) == pytest.approx(SHIFT, abs=1e-4)


class _StampsLikeACoarseClock(TrainerCallback):
    """Stamps every checkpoint the Trainer saves (its folder and files) 1 ms before training began, as a file system
    whose clock runs a timer tick behind the process's (or keeps whole seconds, as FAT and some network shares do)
    stamps a checkpoint written right after the start. Listed before the callback under test, so its start is the
    earlier of the two."""

    def on_train_begin(self, args, state, control, **kwargs):
        self.stamp = time.time_ns() - 1_000_000

    def on_save(self, args, state, control, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        for path in [*folder.iterdir(), folder]:
            os.utime(path, ns=(self.stamp, self.stamp))


def test_the_nan_stop_names_this_runs_checkpoint_whatever_the_file_systems_clock(tmp_path):
    """`NonFiniteLossCallback` told this run's checkpoints from an earlier run's by comparing their files' times with
    `time.time_ns()` at the start: a checkpoint stamped by a coarser clock than the process's was taken for an
    earlier run's, and the message left out that checkpoint-1 holds the weights that broke. It now compares the
    folder's checkpoints with those it held when training began."""
    from tiny_configs import diverging_trainer

    from citrus_hf.training.callbacks import NonFiniteLossCallback, NonFiniteLossError

    trainer, _ = diverging_trainer(tmp_path / "run", [_StampsLikeACoarseClock(), NonFiniteLossCallback()])
    with pytest.raises(NonFiniteLossError) as info:
        trainer.train()
    assert "(checkpoint-1: saved from the weights that broke on" in str(info.value)


def test_the_published_tables_and_the_bundled_card_name_their_spread():
    """The evaluation report's tables say "mean ± sample std (ddof 1) over seeds" (report.SPREAD, the std they have
    always computed), and the published results.md files and citrus-small's card, written before, still said
    "mean ± std over seeds", as if another std were meant."""
    from citrus_hf.evaluation.report import SPREAD

    root = Path(__file__).resolve().parents[1]
    documents = sorted((root / "benchmarks" / "results").rglob("results.md"))
    documents.append(root / "src" / "citrus_hf" / "pretrained" / "citrus-small" / "README.md")
    headings = [
        line
        for document in documents
        for line in document.read_text(encoding="utf-8").splitlines()
        if line.startswith("#") and "over seeds" in line
    ]
    assert len(headings) > 100
    assert all(line.endswith(f"mean ± {SPREAD} over seeds)") for line in headings)
