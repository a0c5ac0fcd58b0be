"""The `datasets` objects and column types a user brings, through the pipeline, the feature extractor and the
commands' Python settings (an audit: each test failed before its fix)."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
from tiny_configs import tiny_config

from citrus_hf.data import build_dataset

RATE = 10.0  # BasicMotions' rate (Hz)


@pytest.fixture(scope="module")
def motions_test() -> datasets.Dataset:
    """BasicMotions' first 6 test windows: `(6, 100)` IMU recordings at 10 Hz, with their rates and labels."""
    return build_dataset("basic_motions")["test"].select(range(6)).select_columns(["input_values", "sampling_rate"])


@pytest.fixture(scope="module")
def motions_pipe(tmp_path_factory):
    """The pipeline of a tiny 6-channel classifier at BasicMotions' rate and window, saved and loaded as a user would."""
    from transformers import pipeline

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

    folder = tmp_path_factory.mktemp("classifier")
    config = tiny_config(num_labels=4, sampling_rate=RATE, context_length=100, num_channels=6)
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    return pipeline("time-series-classification", model=str(folder))


def _scores(results) -> list[float]:
    return [result["score"] for result in results]


# ----------------------------------------------------------------- a streamed set (streaming=True) given to a pipeline


def test_a_streamed_sets_column_is_scored_one_recording_at_a_time(motions_pipe, motions_test):
    """`pipe(dataset["input_values"])` of a streamed set (datasets' `IterableColumn`, what `load_dataset(...,
    streaming=True)["train"]["input_values"]` gives) was refused as no recording ("got IterableColumn"), where the same
    column of a loaded set runs: now it is a stream of recordings, each scored as the loaded column's."""
    expected = _scores(motions_pipe(motions_test["input_values"], sampling_rate=RATE))
    streamed = motions_test.to_iterable_dataset()
    results = list(motions_pipe(streamed["input_values"], sampling_rate=RATE))
    np.testing.assert_allclose(_scores(results), expected, rtol=1e-5)
    formatted = streamed.with_format("numpy")["input_values"]  # (a formatted stream's column alike)
    np.testing.assert_allclose(_scores(motions_pipe(formatted, sampling_rate=RATE)), expected, rtol=1e-5)


def test_a_streamed_sets_rate_column_is_refused_naming_the_one_pass_that_works(motions_pipe, motions_test):
    """`sampling_rate=dataset["sampling_rate"]` of a streamed set was taken for one rate and refused as "got
    <datasets.iterable_dataset.IterableColumn object at 0x...>"; now one line names the pass over the rows that
    gives each its rate, and that pass scores as the loaded set's columns do."""
    streamed = motions_test.to_iterable_dataset()
    with pytest.raises(TypeError, match=r"`sampling_rate` is a streamed set's column \(`streaming=True`\)") as refusal:
        motions_pipe(streamed["input_values"], sampling_rate=streamed["sampling_rate"])
    assert "for row in dataset))" in str(refusal.value) and "object at 0x" not in str(refusal.value)
    rows = ({"raw": row["input_values"], "sampling_rate": row["sampling_rate"]} for row in streamed)
    expected = _scores(motions_pipe(motions_test["input_values"], sampling_rate=motions_test["sampling_rate"]))
    np.testing.assert_allclose(_scores(motions_pipe(rows)), expected, rtol=1e-5)


def test_a_whole_streamed_set_is_refused_naming_its_column_not_key_dataset(motions_pipe, motions_test):
    """A whole streamed set given to the pipeline gave its rows as dicts of every column, refused with advice to use
    `KeyDataset`, which reads a set by index and a stream has none (it then failed on "IterableColumn")."""
    streamed = motions_test.to_iterable_dataset()
    with pytest.raises(TypeError, match=r"streamed `datasets` IterableDataset .* `pipe\(dataset\['input_values'\]"):
        motions_pipe(streamed)
    from transformers.pipelines.pt_utils import KeyDataset

    with pytest.raises(TypeError, match=r"`KeyDataset` reads a set by row index, which a stream has not"):
        list(motions_pipe(KeyDataset(streamed, "input_values"), sampling_rate=RATE))


def test_the_extractor_names_the_row_by_row_map_for_a_streamed_column(motions_test):
    """The extractor aligns a batch it holds whole: a streamed column as the recordings said only "got
    IterableColumn", and as the rate "got <datasets.iterable_dataset.IterableColumn object at 0x...>"."""
    from citrus_hf import CiTrusFeatureExtractor

    extractor = CiTrusFeatureExtractor.from_config(tiny_config(sampling_rate=RATE, context_length=100))
    streamed = motions_test.to_iterable_dataset()
    with pytest.raises(TypeError, match=r"got IterableColumn: a streamed set's column .*`dataset\.map\(lambda row"):
        extractor(streamed["input_values"], sampling_rate=RATE)
    with pytest.raises(TypeError, match=r"`sampling_rate` is a streamed set's column .* `list\(column\)`"):
        extractor(motions_test["input_values"], sampling_rate=streamed["sampling_rate"])


# ----------------------------------------------------- a `datasets` set or a Path where the settings take its reference


@pytest.fixture(scope="module")
def motions_folder(tmp_path_factory):
    """BasicMotions' train and test splits, as a user's set saved with `save_to_disk`."""
    folder = tmp_path_factory.mktemp("motions")
    built = build_dataset("basic_motions").select_columns(["input_values", "label", "sampling_rate"])
    built.save_to_disk(str(folder))
    return folder


@pytest.mark.parametrize("given", ["set", "listed set", "listed split"])
def test_the_protocol_refuses_a_datasets_set_naming_how_to_pass_it(motions_folder, tmp_path, given):
    """`ProtocolConfig(datasets=dataset)` crashed on "unhashable type: 'DatasetDict'", and `[dataset["train"]]` was
    called "neither a folder nor a registered dataset" in the whole of its printed summary."""
    from citrus_hf.evaluation.settings import ProtocolConfig

    loaded = datasets.load_from_disk(str(motions_folder))
    value = {"set": loaded, "listed set": [loaded], "listed split": [loaded["train"]]}[given]
    with pytest.raises(TypeError, match=r"^`datasets` takes a path or a name .* `dataset\.save_to_disk\(folder\)`"):
        ProtocolConfig(datasets=value, output_dir=str(tmp_path / "out"))


def test_the_protocol_reads_a_set_given_as_a_path(motions_folder, tmp_path):
    """`ProtocolConfig(datasets=[Path(folder)])` was kept a Path, and the run crashed when writing its records
    ("Cannot serialise PosixPath"): it is the folder's name, as on the command line."""
    import json

    from citrus_hf.evaluation.protocol import run_protocol
    from citrus_hf.evaluation.settings import ProtocolConfig

    config = ProtocolConfig(
        datasets=[motions_folder], arms=["prior"], budgets=[2], seeds=[0], output_dir=str(tmp_path / "out"),
        show_progress=False,
    )  # fmt: skip
    assert config.datasets == [str(motions_folder)]
    result = run_protocol(config)
    runs = json.loads(open(result.paths["json"]).read())
    assert runs


@pytest.mark.parametrize("arguments", ["FinetuneArguments", "PretrainArguments", "ProtocolConfig"])
def test_a_streamed_set_is_not_told_to_save_to_disk_which_it_has_not(motions_folder, tmp_path, arguments):
    """A streamed set (`streaming=True`) given as the set was told to `save_to_disk`, which an `IterableDataset` has
    not: it is told to pass what `load_dataset` was given, which the commands read as `load_dataset` does."""
    from citrus_hf.evaluation.settings import ProtocolConfig
    from citrus_hf.training import FinetuneArguments, PretrainArguments

    streamed = datasets.load_from_disk(str(motions_folder))["train"].to_iterable_dataset()
    assert not hasattr(streamed, "save_to_disk")
    settings = {"FinetuneArguments": FinetuneArguments, "PretrainArguments": PretrainArguments}
    build = settings.get(arguments)
    with pytest.raises(TypeError, match=r"got a IterableDataset; a streamed set .* pass that \(its Hub id") as refusal:
        if build is None:
            ProtocolConfig(datasets=[streamed], output_dir=str(tmp_path / "out"))
        else:
            build(dataset=streamed, output_dir=str(tmp_path / "out"))
    assert "save_to_disk" not in str(refusal.value)


# --------------------------------------------------------------- a `datasets.Audio` column (decoding needs torchcodec)


def test_a_datasets_audio_column_is_read_as_its_wav_files_without_torchcodec(motions_pipe, motions_test, tmp_path):
    """`pipe(dataset["audio"])` and `pipe(KeyDataset(dataset, "audio"))` of an `Audio` column (audiofolder's, the
    Hub's waveforms) stopped in the pipeline's loop over the rows with datasets' "please install 'torchcodec'" (and
    with it, gave `AudioDecoder` objects the pipeline does not take), where the same column undecoded ran: the pipeline
    reads the rows' WAV bytes itself, as it reads the files, saved sets and streamed ones alike."""
    import scipy.io.wavfile
    from transformers.pipelines.pt_utils import KeyDataset

    paths = []
    for index, row in enumerate(motions_test):
        paths.append(str(tmp_path / f"take{index}.wav"))
        scipy.io.wavfile.write(paths[-1], int(RATE), np.asarray(row["input_values"], np.float32).T)
    expected = _scores(motions_pipe(paths))
    audio = datasets.Dataset.from_dict({"audio": paths}).cast_column("audio", datasets.Audio())
    audio.save_to_disk(str(tmp_path / "saved"))  # (the bytes embedded)
    saved = datasets.load_from_disk(str(tmp_path / "saved"))
    for given in (audio["audio"], saved["audio"], saved.to_iterable_dataset()["audio"]):
        np.testing.assert_allclose(_scores(motions_pipe(given)), expected, rtol=1e-5)
    np.testing.assert_allclose(_scores(motions_pipe(KeyDataset(saved, "audio"))), expected, rtol=1e-5)
    assert saved.features["audio"].decode  # the user's set is left as it was


def test_a_column_of_decoded_audio_rows_is_read_as_input_values(motions_folder, tmp_path):
    """A set built from decoded audio rows (`{"path", "array", "sampling_rate"}`, as `datasets` decodes an `Audio`
    column and audio tutorials build rows) keeps them as plain dicts: it was refused as a set without `input_values`,
    where the same signal in an `Audio` column is read. Now each row's array and rate are read, as an `Audio`
    column's."""
    from citrus_hf.data.splits import load_task_splits

    loaded = datasets.load_from_disk(str(motions_folder))
    as_rows = lambda row: {  # noqa: E731
        "audio": {"path": None, "array": row["input_values"], "sampling_rate": row["sampling_rate"]}
    }
    decoded = loaded.map(as_rows, remove_columns=["input_values", "sampling_rate"])
    decoded.save_to_disk(str(tmp_path / "decoded"))
    splits = load_task_splits(tmp_path / "decoded")
    test = splits.test
    np.testing.assert_allclose(np.asarray(test["input_values"]), np.asarray(loaded["test"]["input_values"]))
    assert set(test["sampling_rate"]) == {RATE} and test.features["label"] == loaded["test"].features["label"]
    both = decoded.map(lambda row: {"sampling_rate": RATE})
    both.save_to_disk(str(tmp_path / "both"))
    with pytest.raises(ValueError, match=r"`audio` column holds each row's rate, and it has a `sampling_rate` column"):
        load_task_splits(tmp_path / "both")


def test_a_set_written_by_to_csv_is_told_that_csv_cells_hold_no_arrays(motions_folder, tmp_path):
    """`dataset.to_csv` writes each array as numpy's printed text (cut short with "..." for long rows), which
    `load_dataset("csv")` reads back as strings: the set was refused as holding "large_string", naming no way out
    (and the way it came there, `to_csv`, looked like one)."""
    from citrus_hf.data.splits import load_task_splits

    loaded = datasets.load_from_disk(str(motions_folder))
    (tmp_path / "csv").mkdir()
    for name, split in loaded.items():
        split.to_csv(str(tmp_path / "csv" / f"{name}.csv"))
    refusal = r"holds large_string \(row 0: '\[\[.*which a CSV cell cannot hold .*`dataset\.to_parquet\(path\)`"
    with pytest.raises(ValueError, match=refusal):
        load_task_splits(tmp_path / "csv")
