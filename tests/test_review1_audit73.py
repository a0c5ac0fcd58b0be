"""Audit 73, review of the session's commits: a bar left drawn after an error (with the warnings hook it now installs),
and a refusal whose fix did not fit the case it refused."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_fusion_habits import picture_events


def _drawn_bars() -> list:
    from tqdm import tqdm

    return [bar for bar in list(tqdm._instances) if not bar.disable]


def test_the_fusion_protocols_bar_is_closed_when_a_run_fails(monkeypatch):
    """`run_fusion_protocol` opened its "fine-tuning runs" bar outside any `with`: a run that raised left it drawn
    while the error was handled (the error's line printed on the bar's, and, since the bars print Python warnings
    below them, `warnings.showwarning` left wrapped) for as long as the traceback was kept, as a notebook keeps it."""
    from citrus_hf.evaluation.multimodal import Condition, run_fusion_protocol

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    count = 12
    events = picture_events(count)

    def build_model(condition):
        raise RuntimeError("no model today")

    hook = warnings.showwarning
    before = len(_drawn_bars())
    aligned = {"ecg": np.zeros((count, 1, 400), np.float32)}
    with pytest.raises(RuntimeError, match="no model today") as raised:
        run_fusion_protocol(events, aligned, [Condition("ecg only", ("ecg",))], build_model, ["2"], [0])
    assert raised.traceback  # the frames are kept, as where the error is handled
    assert len(_drawn_bars()) == before
    assert warnings.showwarning is hook


def test_two_budgets_of_one_label_are_refused_naming_the_fix_that_fits(tmp_path):
    """Two fractions alike to the report's label (0.3333333 and 0.33333334) are two draws, not one value listed twice:
    the refusal said each "would be fitted twice ... list it once"."""
    from citrus_hf.evaluation.settings import ProtocolConfig

    with pytest.raises(ValueError) as refused:
        ProtocolConfig(datasets=["basic_motions"], arms=["prior"], seeds=[0], budgets=["0.3333333", "0.33333334"])
    message = str(refused.value)
    assert "fitted twice" not in message and "list it once" not in message
    assert "keep one of them" in message and "6 significant digits" in message
    # budgets of one meaning keep their message
    with pytest.raises(ValueError, match="which are the same draw: it would be fitted twice .*list it once"):
        ProtocolConfig(datasets=["basic_motions"], arms=["prior"], seeds=[0], budgets=["0.1", "10%"])


def test_spreadsheet_date_serials_with_a_gap_are_named_as_days_not_given_a_rate(tmp_path):
    """A spreadsheet's date serial numbers (days) stepping at the rate given were refused as such only where their mean
    step matched it: a minute missing moved the mean, and the refusal advised `--sampling-rate 863999`."""
    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.readers import read_recording

    seconds = [9 * 3600 + i / 10 for i in range(600)] + [9 * 3600 + 120 + i / 10 for i in range(600)]
    rows = [f"{45717 + second / 86400:.12f},{np.sin(i / 5):.4f}" for i, second in enumerate(seconds)]
    path = tmp_path / "export.csv"
    path.write_text("time,ECG\n" + "\n".join(rows) + "\n")
    with pytest.raises(CorruptFileError, match="counts days .*format the column as a date and time"):
        read_recording(path, sampling_rate=10)


def test_the_pretraining_bar_is_closed_when_the_sample_log_cannot_be_opened(tmp_path, monkeypatch):
    """`PretrainingLoop.run` drew its bar, then opened the sample log (`--log-sample-ids`) before its try: a log that
    could not be opened left the bar drawn, and the warnings hook with it, while the error was handled."""
    from types import SimpleNamespace

    from citrus_hf.training.pretrain import PretrainingLoop

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    monkeypatch.setattr(PretrainingLoop, "_continue_record", lambda self, progress: None)
    loop = object.__new__(PretrainingLoop)  # (no model: the run stops before its first step)
    loop.args = SimpleNamespace(show_progress=True, max_steps=2, log_sample_ids=True, output_dir=str(tmp_path))
    loop.accelerator = SimpleNamespace(is_local_main_process=True, process_index=0)
    (tmp_path / "sample_ids_rank0.jsonl").mkdir()  # where the log would be written
    hook = warnings.showwarning
    before = len(_drawn_bars())
    with pytest.raises(OSError) as raised:
        loop.run(None, SimpleNamespace(step=0))
    assert raised.traceback
    assert len(_drawn_bars()) == before
    assert warnings.showwarning is hook
