"""Session 71's leftovers, fourth round (audit 71): a settings file's yes/no for a number, FinetuneArguments'
mappings from Python, a data-files folder whose training split names fewer classes, .ts / .arff files in a set's
folder, ARFF files the reader cannot take, and the dataset scripts' options."""

from __future__ import annotations

import json

import pytest

from citrus_hf.commands import UsageError, finetune, predict, push
from citrus_hf.commands.evaluate import build_parser as evaluate_parser


@pytest.mark.parametrize(
    ("parser", "settings", "positionals"),
    [
        (predict.build_parser, {"hop_seconds": True}, ["citrus-small", "x.csv"]),
        (predict.build_parser, {"per_device_batch_size": True}, ["citrus-small", "x.csv"]),
        (predict.build_parser, {"hop_seconds": False}, ["citrus-small", "x.csv"]),
        (push.build_parser, {"eval_label_budget": True}, ["runs/har", "me/har"]),
        (evaluate_parser, {"num_seeds": True}, []),
        (finetune.build_parser, {"trainer": {"learning_rate": True}}, []),
    ],
)
def test_a_yes_no_for_a_number_in_a_settings_file_is_refused(tmp_path, parser, settings, positionals):
    """A settings file's `hop_seconds: true` (YAML's yes/no) was taken as the number 1 (a bool is an int to Python),
    `false` as 0, without a word. It is now refused, naming the setting."""
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(settings))
    name = next(iter(settings["trainer"])) if "trainer" in settings else next(iter(settings))
    with pytest.raises(UsageError, match=rf"setting {name}: (true|false) is a yes/no, not a"):
        parser().parse([str(path), *positionals])


def test_numbers_in_a_settings_file_still_read(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"hop_seconds": 2.5, "per_device_batch_size": 8}))
    arguments = predict.build_parser().parse([str(path), "citrus-small", "x.csv"])
    assert (arguments.hop_seconds, arguments.per_device_batch_size) == (2.5, 8)


@pytest.mark.parametrize("name", ["config_overrides", "dataset_options"])
@pytest.mark.parametrize("value", ["d_model=16", ["d_model=16"]])
def test_finetune_arguments_refuse_a_mapping_given_as_text(tmp_path, name, value):
    """`FinetuneArguments(config_overrides="d_model=16")` from Python was taken (its letters checked as setting
    names) and crashed later, deep in the run; `PretrainArguments` refused it. Both now refuse it at once."""
    from citrus_hf.training.arguments import FinetuneArguments

    with pytest.raises(ValueError, match=rf"`{name}` must be a mapping"):
        FinetuneArguments(dataset="x", output_dir=str(tmp_path / "out"), **{name: value})


def _labelled_file(path, names, labels):
    import numpy as np
    from datasets import ClassLabel, Dataset, Features, Sequence, Value

    features = Features({"input_values": Sequence(Sequence(Value("float32"))), "label": ClassLabel(names=names)})
    rows = {"input_values": np.zeros((len(labels), 1, 100), np.float32).tolist(), "label": labels}
    Dataset.from_dict(rows, features=features).to_parquet(str(path))


def test_a_test_file_naming_a_class_more_than_the_training_file_keeps_its_name(tmp_path):
    """A folder of data files whose training file's ClassLabel lacks the last class ([a, b]) and whose test file has
    it ([a, b, c]) was read under the training file's names (as `datasets` reads every file), so the test split's id
    2 had no name and the set was refused as ids beyond its names, with advice to name a class the file named. Both
    splits now have [a, b, c]."""
    from citrus_hf.data.splits import load_own_dataset

    _labelled_file(tmp_path / "train.parquet", ["a", "b"], [0, 1])
    _labelled_file(tmp_path / "test.parquet", ["a", "b", "c"], [0, 1, 2])
    loaded = load_own_dataset(str(tmp_path))
    for split in ("train", "test"):
        assert loaded[split].features["label"].names == ["a", "b", "c"]
    assert loaded["test"]["label"] == [0, 1, 2]


def test_two_files_extending_the_training_names_differently_are_refused(tmp_path):
    from citrus_hf.data.splits import load_own_dataset

    _labelled_file(tmp_path / "train.parquet", ["a", "b"], [0, 1])
    _labelled_file(tmp_path / "validation.parquet", ["a", "b", "c"], [0, 2])
    _labelled_file(tmp_path / "test.parquet", ["a", "b", "d"], [0, 2])
    with pytest.raises(ValueError, match=r"name the classes of `label` differently"):
        load_own_dataset(str(tmp_path))


_TS = "@problemName X\n@classLabel true a b\n@data\n1,2,3,4:5,6,7,8:a\n1,2,3,4:5,6,7,8:b\n"


@pytest.mark.parametrize("given", ["folder", "file"])
def test_a_folder_of_ts_files_names_the_reader_that_reads_them(tmp_path, given):
    """A folder holding only .ts / .arff files (the UCR / UEA archives' formats) was refused as one that holds no data
    files, one such file as a file no reader reads, neither naming the readers that read them
    (`citrus_hf.data.readers.read_ts` / `read_uea_arff`)."""
    from citrus_hf.data.splits import load_own_dataset

    (tmp_path / "X_TRAIN.ts").write_text(_TS)
    with pytest.raises(ValueError, match=r"X_TRAIN\.ts \(1 \.ts / \.arff file.*read_ts.*read_uea_arff.*save_to_disk"):
        load_own_dataset(str(tmp_path if given == "folder" else tmp_path / "X_TRAIN.ts"))


def test_ts_files_beside_recordings_are_said_to_be_left_out(tmp_path, caplog):
    """.ts / .arff files beside recordings were left out without a word."""
    import numpy as np

    from citrus_hf.data.splits import load_own_dataset

    np.save(tmp_path / "rec.npy", np.zeros((1, 500), np.float32))
    (tmp_path / "X_TRAIN.ts").write_text(_TS)
    with caplog.at_level("WARNING", logger="citrus_hf.data.recording_folders"):
        loaded = load_own_dataset(str(tmp_path), sampling_rate=100)
    assert loaded["train"].num_rows == 1
    assert "Left out of" in caplog.text and "X_TRAIN.ts (1 .ts / .arff file(s))" in caplog.text


def _uea_arff(class_declaration: str, rows: list[str]) -> str:
    return (
        "@relation X\n@attribute channels relational\n  @attribute t0 numeric\n  @attribute t1 numeric\n"
        f"@end channels\n@attribute class {class_declaration}\n@data\n" + "".join(rows)
    )


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        # scipy said only '"x y" value not in ('x y', 'z')'
        (_uea_arff('{"x y",z}', ["'1,2\\n3,4',\"x y\"\n"]), r'class "x y" in double quotes.*write it in single quotes'),
        # these were "not a multivariate UEA ARFF file (attributes [...])", naming no cause
        (_uea_arff("numeric", ["'1,2\\n3,4',0.5\n"]), r"last attribute 'class' is numeric \(a regression target\)"),
        (
            "@relation X\n@attribute att0 numeric\n@attribute att1 numeric\n@attribute target {a,b}\n@data\n1,2,a\n",
            r"first attribute 'att0' is numeric and none is relational.*univariate UCR file.*\(N, 1, T\)",
        ),
        (
            "@relation X\n@attribute class {a,b}\n@attribute rel relational\n @attribute t0 numeric\n@end rel\n"
            "@data\na,'1\\n2'\n",
            r"relational attribute \(the channels\) first and the class last",
        ),
    ],
)
def test_arff_files_the_reader_cannot_take_are_refused_naming_the_cause(tmp_path, text, refused):
    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.readers import read_uea_arff

    path = tmp_path / "x.arff"
    path.write_text(text)
    with pytest.raises(CorruptFileError, match=refused):
        read_uea_arff(path)


@pytest.mark.parametrize(
    ("argv", "refused"),
    [
        (["epilepsy", "--data", "d", "--no-down"], "unrecognized arguments: --data d --no-down|required: --data-dir"),
        (["epilepsy", "--data-dir", "d", "--no-down"], "unrecognized arguments: --no-down"),
    ],
)
def test_the_dataset_scripts_take_no_abbreviated_options(argv, refused, capsys):
    """The dataset scripts' argparse took `--data` for `--data-dir` and `--no-down` for `--no-download`, where `citrus`
    refuses an abbreviation (a later option of the same prefix would change what the line means)."""
    import runpy
    from pathlib import Path

    main = runpy.run_path(str(Path(__file__).resolve().parents[1] / "dataset_scripts" / "tfc_benchmark.py"))["main"]
    with pytest.raises(SystemExit):
        main(argv)
    error = capsys.readouterr().err
    assert any(message in error for message in refused.split("|")), error


def test_a_dataset_script_flag_before_a_positional_takes_no_value(monkeypatch):
    """`tfc_benchmark.py --private epilepsy ...` took the set's name for --private's yes/no ("Truthy value
    expected"), where `citrus push --private runs/har me/x` reads it as a flag."""
    from citrus_hf.commands.script import ScriptParser

    parser = ScriptParser()
    parser.add_argument("sets", nargs="+")
    from citrus_hf.commands.data import add_publish_arguments

    add_publish_arguments(parser, per_part="set")
    arguments = parser.parse_args(["--private", "epilepsy", "har"])
    assert arguments.private is True and arguments.sets == ["epilepsy", "har"]
    assert parser.parse_args(["epilepsy", "--private", "false"]).private is False
