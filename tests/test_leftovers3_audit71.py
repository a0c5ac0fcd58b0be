"""Session 71 leftovers (off the Hub): windowing of a `large_string` recording column, counting a filtered set, the
label mapping a config of `id2label` alone gives, and an ONNX export's external weights file."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from citrus_hf.data.windowing import window_examples


@pytest.mark.parametrize("string_type", ["string", "large_string"])
def test_windows_of_an_example_without_a_recording_id_share_one_in_any_string_column(string_type):
    """A `recording` column of `large_string` (pandas / polars parquet) with a missing id kept the windows' id None,
    so the validation carve counted each window a recording of its own and split one example's windows between
    training and validation; every string column now gets `"<name> row <i>"`, as `string` did."""
    split = datasets.Dataset.from_dict(
        {
            "input_values": [np.zeros(400, dtype=np.float32)] * 3,
            "label": [0, 1, 0],
            "recording": ["a", None, None],
            "sampling_rate": [100.0] * 3,
        },
        features=datasets.Features(
            {
                "input_values": datasets.List(datasets.Value("float32")),
                "label": datasets.Value("int64"),
                "recording": datasets.Value(string_type),
                "sampling_rate": datasets.Value("float64"),
            }
        ),
    )
    windowed = window_examples(split, 2.0, 2.0, name="train")
    assert list(windowed["recording"]) == ["a", "a", "train row 1", "train row 1", "train row 2", "train row 2"]


def test_the_summary_of_a_filtered_set_counts_its_own_rows():
    """`summarize_dataset` read `Dataset.data`, the whole Arrow table, which `filter` / `select` / `shuffle` (an
    indices mapping) leave as it was: a filtered split of 2 rows counted the 6 rows' recordings and classes (and,
    without a `sampling_rate` column, failed in numpy broadcasting). It now counts the rows the split holds."""
    from citrus_hf.data.builders import summarize_dataset

    rows = datasets.Dataset.from_dict(
        {
            "input_values": [np.zeros((1, 100 * (row + 1)), dtype=np.float32) for row in range(6)],
            "label": [0, 0, 0, 0, 1, 1],
            "recording": list("abcdef"),
            "subject": list("ppqqrs"),
        }
    )
    kept = rows.filter(lambda row: row["label"] == 1).shuffle(seed=0)
    summary = summarize_dataset(datasets.DatasetDict(train=kept), sampling_rate=100.0)["splits"]["train"]
    assert summary["windows"] == 2 and summary["recordings"] == 2 and summary["subjects"] == 2
    assert summary["per_class"] == {"1": 2}
    assert summary["channel_hours"] == pytest.approx((5 + 6) / 3600)


def test_an_export_kept_in_two_files_names_both(tmp_path, monkeypatch, capsys):
    """An export whose weights are kept beside the graph (`<graph>.onnx.data`, past `ONNX_SINGLE_FILE_BYTES`):
    `citrus export --output-dir` said "Wrote .../model.onnx" alone, though model.onnx.data must be deployed with it,
    and a cached graph refused as unusable was to be deleted alone, leaving its weights' file in the cache. Both now
    name the weights' file (simulated by lowering the thresholds)."""
    import torch
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
    from citrus_hf.commands.main import main as citrus_main
    from citrus_hf.inference import backends

    if backends.onnx_export_available() is not None:
        pytest.skip("needs citrus-hf[onnx]")
    from torch.onnx._internal.exporter import _onnx_program

    monkeypatch.setattr(_onnx_program, "_LARGE_MODEL_THRESHOLD", 1000)  # torch's switch to external data, in bytes
    monkeypatch.setattr(backends, "ONNX_SINGLE_FILE_BYTES", 1000)
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    folder = tmp_path / "clf"
    model.save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder)
    cache, deployed = tmp_path / "cache", tmp_path / "deployed"
    assert citrus_main(["export", str(folder), "--cache-dir", str(cache), "--output-dir", str(deployed)]) == 0
    wrote = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Wrote "))
    assert str(deployed / "model.onnx.data") in wrote, wrote
    (graph,) = cache.glob("*.onnx")
    graph.write_bytes(b"not a graph")  # damaged: refused, with the fix
    assert citrus_main(["export", str(folder), "--cache-dir", str(cache)]) != 0
    refused = capsys.readouterr().err
    assert f"{graph.name}.data" in refused and "delete" in refused, refused
