"""Audit 78, leftovers: `pad_to_multiple_of` over rows already past the context says what it does; the audio maps of
`load_task_splits` write a few decoded rows at a time; `sleep_summary` refuses lights on at lights out, as `citrus
predict` does; a relative $XDG_CACHE_HOME's ONNX warning names where the exports go; the metrics read a pandas Series of
per-row arrays; a 2-D array of rates is refused as such; `predict_windows` checks its `patch_mask` as the model does."""

from __future__ import annotations

import logging

import datasets
import numpy as np
import pytest
import torch
from test_fe_audit66 import tiny_extractor, warnings_said
from tiny_configs import tiny_config


# ----------------------------------------------------- 1. pad_to_multiple_of over rows already past the context
def test_pad_to_multiple_of_over_rows_past_the_context_says_they_keep_their_length(caplog):
    """Rows of 240 samples (past the context of 200) with `pad_to_multiple_of=50` are kept at 240, but the warning
    said such batches were "padded to the context instead"."""
    extractor = tiny_extractor()
    rows = [
        {"input_values": np.zeros((1, n), np.float32), "patch_mask": np.ones(n // 20, np.int64)} for n in (240, 220)
    ]
    caplog.set_level(logging.WARNING)
    batch = extractor.pad(rows, pad_to_multiple_of=50)
    assert batch["input_values"].shape == (2, 1, 240) and batch["patch_mask"].shape == (2, 12)
    said = [m for m in warnings_said(caplog) if "pad_to_multiple_of=50" in m]
    assert len(said) == 1 and "keep their own length" in said[0] and "padded to the context" not in said[0]
    # a batch at the context is still padded to it, and says so
    assert extractor([np.zeros(500)], sampling_rate=100, pad_to_multiple_of=30)["input_values"].shape[-1] == 200
    assert any("pad_to_multiple_of=30" in m and "padded to the context" in m for m in warnings_said(caplog))


# --------------------------------------------------------------- 2. the audio maps write a few rows at a time
def test_the_audio_maps_write_a_few_decoded_rows_at_a_time(tmp_path, monkeypatch):
    """Both maps that decode audio (WAV bytes of an `Audio` column, decoded `{"array", "sampling_rate"}` rows) held
    `datasets`' default 1000 rows before a write: 1000 whole recordings in memory. Their output is unchanged."""
    import scipy.io.wavfile

    from citrus_hf.data import splits

    signals = [np.random.default_rng(k).standard_normal((2, 300)).astype(np.float32) for k in range(3)]
    paths = []
    for index, signal in enumerate(signals):
        paths.append(str(tmp_path / f"take{index}.wav"))
        scipy.io.wavfile.write(paths[-1], 100, signal.T)
    wav = datasets.Dataset.from_dict({"audio": paths}).cast_column("audio", datasets.Audio())
    rows = datasets.Dataset.from_dict(
        {"audio": [{"array": signal.tolist(), "sampling_rate": 100} for signal in signals]}
    )
    writer_batches = []
    original_map = datasets.Dataset.map

    def recording_map(self, *args, **kwargs):
        writer_batches.append(kwargs.get("writer_batch_size"))
        return original_map(self, *args, **kwargs)

    monkeypatch.setattr(datasets.Dataset, "map", recording_map)
    for given in (wav, rows):
        read = splits._audio_as_input_values(given)
        np.testing.assert_allclose(np.asarray(read["input_values"]), np.stack(signals))
        assert read["sampling_rate"] == [100.0] * 3
    assert writer_batches == [splits.AUDIO_ROWS_PER_WRITE] * 2 and splits.AUDIO_ROWS_PER_WRITE <= 16


# ----------------------------------------------------------- 3. lights on at lights out, as `citrus predict`
def test_sleep_summary_refuses_lights_on_at_lights_out_as_citrus_predict_does():
    """`sleep_summary` took lights on == lights out (a night of no time, efficiency None) where `citrus predict`
    refuses equal times; with the defaults, a recording of no seconds is that night."""
    from citrus_hf.inference.time_use import sleep_summary

    windows = [{"start": 0.0, "end": 30.0, "label": "W", "no_signal": False}]
    with pytest.raises(ValueError, match=r"^Lights on \(30 s\) is at lights out \(30 s\).*lights_on after lights_off"):
        sleep_summary(windows, 60.0, {"W": "W"}, lights_off=30.0, lights_on=30.0)
    with pytest.raises(ValueError, match=r"Lights on \(0 s, the recording's end\) is at lights out \(0 s\)"):
        sleep_summary([], 0.0, {"W": "W"})


# ---------------------------------------------------- 4. a relative $XDG_CACHE_HOME: where the ONNX exports go
def test_a_relative_xdg_cache_home_warning_names_where_the_onnx_exports_go(cache_home_given_relative, tmp_path):
    """The warning said only "using ~/.cache": not the folder the exports go to now, nor the exports left under the
    relative folder, which are no longer read (and are exported again)."""
    from transformers.testing_utils import CaptureLogger
    from transformers.utils import logging as hf_logging

    from citrus_hf.inference.backends import onnx_cache_dir

    earlier = cache_home_given_relative("CITRUS_HF_ONNX_CACHE", "onnx", "model-logits-0123.onnx")
    with CaptureLogger(hf_logging.get_logger("citrus_hf.inference.backends")) as captured:
        folder = onnx_cache_dir()
    assert folder == tmp_path / "home" / ".cache" / "citrus_hf" / "onnx"
    assert f"ONNX exports go to {folder}" in captured.out
    assert f"the 1 under {earlier} are not read there: CITRUS_HF_ONNX_CACHE={earlier}" in captured.out
    assert captured.out.count("\n") == 1  # one line


# --------------------------------------------------------- 5. a pandas Series of per-row arrays in the metrics
def test_the_regression_metrics_read_a_pandas_series_of_per_row_arrays_as_numpy_stacks_it():
    """`regression_metrics(df["pred"], df["target"])` of a two-target regressor's rows failed inside pandas ("setting
    an array element with a sequence"), where the same rows as a list of arrays were scored."""
    import pandas as pd

    from citrus_hf.training.metrics import pearson_r, regression_metrics

    rng = np.random.default_rng(0)
    predictions = rng.normal(size=(6, 2))
    targets = predictions + 0.1 * rng.normal(size=(6, 2))
    frame = pd.DataFrame({"pred": list(predictions), "target": list(targets)})
    assert regression_metrics(frame["pred"], frame["target"]) == regression_metrics(predictions, targets)
    assert pearson_r(frame["target"], frame["pred"]) == pearson_r(targets, predictions)


# --------------------------------------------------------------------------------- 6. a 2-D array of rates
@pytest.mark.parametrize("rates", [np.array([[100, 100]]), np.array([[100], [100]])])
def test_a_two_dimensional_array_of_rates_is_refused_as_such(rates):
    """`np.array([[100, 100]])` for two recordings was told "1 values for 2 recordings" (its rows counted), and
    `np.array([[100], [100]])` "the sampling rate of recording 0 must be a positive number of Hz, got [100]"."""
    extractor = tiny_extractor()
    with pytest.raises(ValueError, match=r"^`sampling_rate` holds rows of rates .*a 2-D array.*1-D list of 2 numbers"):
        extractor([np.zeros(200), np.zeros(200)], sampling_rate=rates)


# ------------------------------------------------------------- 7. predict_windows checks the mask's width
def test_predict_windows_refuses_an_all_ones_patch_mask_of_another_width_as_embed_does():
    """Windows all signal run without their mask, so an all-ones `patch_mask` of 5 patches for windows of 10 was
    taken, where `model.embed` refuses it naming the extractor's patch_length."""
    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.inference.backends import predict_windows

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).eval()
    windows, mask = torch.randn(3, 1, 200), torch.ones(3, 5, dtype=torch.long)
    refusal = r"`patch_mask` must have shape \(batch, num_patches\) = \(3, 10\).*patch_length=40"
    with pytest.raises(ValueError, match=refusal):
        model.embed(windows, mask)
    with pytest.raises(ValueError, match=refusal):
        predict_windows(model, {"input_values": windows, "patch_mask": mask}, backend="torch")
