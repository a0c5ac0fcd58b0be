"""What an audit of the work done around the model on real-size inputs (a folder of many-channel EDF files, a night's
`citrus predict`, the evaluation protocol between model calls) found: work repeated per channel, per window or per
run that one pass does. No timings: each test counts the work (the passes over a header's labels, the calls made) and
checks the results are those computed before."""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data import readers
from citrus_hf.data.readers import edf

# ------------------------------------------------------------------------------------------------------ EDF headers


class _CountedLabels(list):
    """A header's labels that count the passes made over them (every `for`, `enumerate`, `list(...)`)."""

    passes = 0

    def __iter__(self):
        _CountedLabels.passes += 1
        return super().__iter__()


@pytest.fixture
def counted_label_passes(monkeypatch):
    """Every EDF header parsed from now on keeps its labels in a `_CountedLabels`; returns the class (its `passes`)."""
    parse = edf.EdfHeader.__init__

    def parse_counted(self, *args, **kwargs):
        parse(self, *args, **kwargs)
        self.labels = _CountedLabels(self.labels)

    monkeypatch.setattr(edf.EdfHeader, "__init__", parse_counted)
    _CountedLabels.passes = 0
    return _CountedLabels


def test_reading_a_64_channel_edf_file_goes_over_its_labels_a_few_times_not_per_channel(edf_path, counted_label_passes):
    """Every channel picked, rated or checked worked out the header's signal names again from all its labels: about
    390 passes over the 65 labels of S001R02 per read, 0.2 s of header work per 256-channel file (a folder of 240 such
    files spent 21 s of `citrus data build`'s 50 on it). The names are now worked out once per header."""
    recording = readers.read_recording(edf_path)
    assert counted_label_passes.passes <= 8, counted_label_passes.passes
    header = edf.read_edf_header(edf_path)
    assert recording.data.shape[0] == 64 and recording.channel_names == list(header.signal_names())
    assert recording.channel_names[:3] == ["Fc5.", "Fc3.", "Fc1."]
    assert header.names_by_rate() == {160.0: recording.channel_names}
    assert [header.position(edf_path, name) for name in recording.channel_names] == list(range(64))


def test_an_edf_headers_signal_names_are_a_copy_the_caller_may_change(edf_path):
    """The names are worked out once and kept: the dict a caller gets is its own, and changing it changes nothing
    the header answers next."""
    header = edf.read_edf_header(edf_path)
    names = header.signal_names()
    names.clear()
    assert len(header.signal_names()) == 64 and header.position(edf_path, "Fc5.") == 0
    assert header.sampling_rate("Fc5.") == 160.0


def test_repeated_labels_are_still_told_apart_once_the_names_are_kept(tmp_path):
    """Two signals labelled alike are named by their place (as MNE names them) and read apart, as before."""
    from tiny_configs import write_edf

    rng = np.random.default_rng(0)
    signals = [rng.standard_normal(400) * 50 for _ in range(3)]
    path = write_edf(tmp_path / "twice.edf", signals, ["EEG", "EEG", "EOG"], 100)
    header = edf.read_edf_header(path)
    assert header.signal_names() == {"EEG-0": 0, "EEG-1": 1, "EOG": 2}
    second = readers.read_recording(path, ["EEG-1"])
    assert second.channel_names == ["EEG-1"]
    assert np.allclose(second.data[0], signals[1], atol=500 / 32767)


# ------------------------------------------------------------------------------------------- strict JSON lines


def test_a_json_line_without_nan_is_written_without_a_strict_copy_of_every_window(monkeypatch):
    """`dumps_strict` (`citrus predict --output .jsonl`, run records, results files) rebuilt every nested dict and
    list to replace NaN before writing: a day's line of 43,200 windows took 1.9 s, 3x the writing itself. A value
    without a non-finite number is now written as it is, to the same text; one with NaN still gets null."""
    from citrus_hf.training import metrics

    windows = [
        {"start": np.float64(2.0 * index), "score": np.float32(0.25), "labels": ({"label": "a", "score": 0.5},)}
        for index in range(50)
    ]
    record = {"recording": "day.npy", "windows": windows, "count": np.int64(50), "shape": (1, 2)}
    expected = metrics.dumps_strict(record)
    copies = []
    real = metrics.strict_json
    monkeypatch.setattr(metrics, "strict_json", lambda value: copies.append(1) or real(value))
    assert metrics.dumps_strict(record) == expected
    assert copies == []
    assert expected.count('"score": 0.25') == 50 and '"shape": [1, 2]' in expected
    windows[7]["score"] = np.float32("nan")
    written = metrics.dumps_strict({**record, "r": float("inf")}, indent=1)
    assert copies and "NaN" not in written and "Infinity" not in written
    assert '"score": null' in written and '"r": null' in written and written.count('"score": 0.25') == 49


# ------------------------------------------------------------------------------------------- evaluation protocol


def test_the_protocol_reads_the_scored_splits_labels_once_not_per_run(recording_folders, tmp_path, monkeypatch):
    """Every run read the scored split's label column again (a `datasets` select, 16 ms for infant_sleep's 2,048
    rows): once in each arm's `run`, once for its record's absent classes and once more to score it per labelled
    recording, half the protocol's own time between runs of the prior arm. The set's context now reads them once,
    and gives each arm a copy of its own; the runs are scored as before (test_recmetrics_audit74 checks the values)."""
    from citrus_hf.data.splits import TaskSplits
    from citrus_hf.evaluation import ProtocolConfig, run_protocol

    reads = []
    labels = TaskSplits.labels
    monkeypatch.setattr(TaskSplits, "labels", lambda self, split="train": reads.append(split) or labels(self, split))
    settings = dict(
        datasets=[str(recording_folders)],
        sampling_rate=50.0,
        dataset_options={str(recording_folders): {"window_seconds": 2}},
        arms=["prior"],
        budgets=["1", "2"],
        seeds=[0, 1, 2],
        show_progress=False,
    )
    runs = run_protocol(ProtocolConfig(output_dir=str(tmp_path / "eval"), **settings)).runs
    assert len(runs) == 6 and all(run["absent_classes"] == [] and run["scored_recordings"] == 4 for run in runs)
    assert all(run["recording_accuracy"] == 0.5 for run in runs)  # the prior: the first class for every recording
    assert reads.count("test") <= 4 < len(runs), reads  # (the set's checks and notices read it too, once each)


# ------------------------------------------------------------------------------------------------- citrus predict


class _CountedConfig:
    """A model's config whose `id2label` reads are counted (each is a transformers `__getattribute__` lookup)."""

    def __init__(self, config):
        self._config, self.id2label_reads = config, 0

    @property
    def id2label(self):
        self.id2label_reads += 1
        return self._config.id2label

    def __getattr__(self, name):
        return getattr(self._config, name)


def test_predict_csv_rows_read_the_label_names_once_not_three_times_per_label_a_window():
    """Every window's CSV row read the config's `id2label` 1 + 2 x labels times: 2 s of the 3.2 s a day of 2 s
    windows of a 3-class model took to turn into rows (5.5x its time for 5 classes). The columns are now worked out
    at the first window; the rows are those made before."""
    from tiny_configs import tiny_config

    from citrus_hf.commands import predict

    config = _CountedConfig(tiny_config(num_labels=3, id2label={0: "wake", 1: "light", 2: "deep"}))
    scores = np.random.default_rng(0).dirichlet(np.ones(3), 40)
    windows = []
    for index, row in enumerate(scores):
        labels = [{"label": config._config.id2label[k], "score": float(row[k])} for k in np.argsort(-row)]
        windows.append({"start": 2.0 * index, "end": 2.0 * index + 2, **labels[0], "labels": labels})
    rows = list(predict._window_rows("night.npy", {"windows": windows, "labels": windows[0]["labels"]}, config))
    assert config.id2label_reads <= 2, config.id2label_reads
    assert len(rows) == 40 and list(rows[0]) == [
        "recording", "start", "end", "label", "score", "p_wake", "p_light", "p_deep", "no_signal"
    ]  # fmt: skip
    assert [[row["p_wake"], row["p_light"], row["p_deep"]] for row in rows] == scores.tolist()
    assert all(row["label"] == ("wake", "light", "deep")[int(np.argmax(s))] for row, s in zip(rows, scores))


# --------------------------------------------------------------------------------------------- citrus data build


def test_data_build_adds_the_sampling_rate_column_without_rewriting_every_rows_samples(
    recording_folders, tmp_path, monkeypatch
):
    """`citrus data build FOLDER --sampling-rate HZ` added the rate by a `map` over every row, which wrote a copy of
    all the samples into the datasets cache first (1.1 s and 221 MB for 80 recordings of 4 x 30 min at 100 Hz). The
    column is now added beside the stored ones; the saved set is the same."""
    import datasets

    from citrus_hf.commands.main import main

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    mapped = []
    real_map = datasets.Dataset.map
    monkeypatch.setattr(
        datasets.Dataset, "map", lambda self, *a, **k: mapped.append(len(self)) or real_map(self, *a, **k)
    )
    output = tmp_path / "saved"
    assert main(["data", "build", str(recording_folders), "--sampling-rate", "50", "--output", str(output)]) == 0
    assert mapped == []
    saved = datasets.load_from_disk(str(output))
    assert saved["train"].features["sampling_rate"] == datasets.Value("float64")
    assert set(saved["train"]["sampling_rate"]) == set(saved["test"]["sampling_rate"]) == {50.0}
    assert len(saved["train"]) == 8 and len(saved["test"]) == 4
    first = np.load(recording_folders / "train" / "fast" / "fast0.npy")
    rows = {row["recording"]: row for row in saved["train"]}
    assert np.array_equal(np.asarray(rows["train/fast/fast0.npy"]["input_values"], np.float32), first)
