"""Audit 78, README truth for this session's changes: passages the session's code changes left untrue or incomplete
(citrus predict's no-signal line, the streamed EDF reader now exported, ...) say what now happens, and what they
show runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_text() -> str:
    return " ".join(README.read_text(encoding="utf-8").split())


def test_the_readme_quotes_the_no_signal_line_in_the_words_predict_prints():
    """The README said the line counts windows "flat or wholly interpolated"; `citrus predict` now prints each mark
    with the registry's meaning ("1 interpolated: every sample NaN / inf, ..."), a fusion window's with its modality."""
    from citrus_hf.inference.pipelines import NO_SIGNAL_REASONS

    text = _readme_text()
    assert "wholly interpolated" not in text
    assert f"1 flat: {NO_SIGNAL_REASONS['flat']}; 1 interpolated: every sample NaN / inf, ..." in text
    assert NO_SIGNAL_REASONS["interpolated"].startswith("every sample NaN / inf, ")
    assert "citrus_hf.inference.NO_SIGNAL_REASONS" in text


def test_the_readme_streams_a_long_edf_with_read_edf_segments_into_the_whole_windows_block(tmp_path, capsys):
    """`read_edf_segments` is exported from `citrus_hf.data.readers` this session; the README's stream paragraph now
    shows it, as the `rate` and `chunks` of its block. Both run as written on an EDF of 65 s: 6 whole 10 s windows, in
    stream time (the last 5 s held back, as the block holds a tail)."""
    import torch
    from tiny_configs import tiny_config, write_edf
    from transformers import pipeline

    import citrus_hf
    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

    text = README.read_text(encoding="utf-8")
    call = " ".join(re.search(r"`(rate, names, chunks =\s*citrus_hf\.data\.readers\.[^`]*)`", text).group(1).split())
    (block,) = [b for b in re.findall(r"^```python\n(.*?)^```", text, re.S | re.M) if "def whole_windows(" in b]
    config = tiny_config(num_channels=6, sampling_rate=10.0, context_length=100, patch_length=10, num_labels=4)
    torch.manual_seed(0)
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "har")
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "har")
    rng = np.random.default_rng(0)
    write_edf(tmp_path / "night.edf", [rng.standard_normal(65 * 100) * 50 for _ in range(6)], list("abcdef"), 100)

    names = {"citrus_hf": citrus_hf, "np": np, "classify": pipeline(model=str(tmp_path / "har"))}
    exec(call.replace('"night.edf"', repr(str(tmp_path / "night.edf"))), names)
    assert names["rate"] == 100.0
    # the block less its first two lines, which make up the `rate` and `chunks` the EDF gives here
    body = "\n".join(line for line in block.splitlines() if not line.startswith(("rate, extractor =", "chunks =")))
    exec(compile("extractor = classify.feature_extractor\n" + body, str(README), "exec"), names)
    starts = re.findall(r"\(([\d.]+), '[^']*'\)", capsys.readouterr().out)
    assert [float(start) for start in starts] == [10.0 * k for k in range(6)]
