"""Bad labelled sets and bad command-line values: each is refused by the package before any fitting, with a message
that names the value at fault and the fix, instead of a traceback from numpy / datasets / the Trainer, or a silently
wrong score (labels that skip class ids, a NaN target) or a model that cannot be loaded (a single class).

Each set is a small `DatasetDict` written with `save_to_disk`, as a user's own data would be.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import datasets
import numpy as np
import pytest

from citrus_hf.commands.main import main
from citrus_hf.data.alignment import channel_statistics
from citrus_hf.data.splits import load_task_splits

RATE = 100.0


def _rows(num: int, labels, channels: int = 1, samples: int = 200, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "input_values": [rng.standard_normal((channels, samples)).astype(np.float32) for _ in range(num)],
        "label": list(labels),
        "sampling_rate": [RATE] * num,
    }


def _held_out(train: dict) -> dict:
    """`train`'s columns with its windows negated: a test split of windows of its own (a test split holding the
    training windows themselves is refused), as good or as bad as the training split's."""
    try:
        return {**train, "input_values": [-np.asarray(window, dtype=np.float32) for window in train["input_values"]]}
    except (KeyError, TypeError, ValueError):  # (no, text or ragged windows: refused before splits are compared)
        return train


def _save(tmp_path: Path, train: dict, test: dict | None = None, name: str = "set") -> Path:
    test = test if test is not None else _held_out(train)
    folder = tmp_path / name
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(train), "test": datasets.Dataset.from_dict(test)}
    ).save_to_disk(str(folder))
    return folder


def _good(num: int = 12) -> dict:
    return _rows(num, [i % 3 for i in range(num)])


def _changed(base: dict, **columns) -> dict:
    return {**base, **columns}


GOOD = _good()
BAD_SETS = {
    # (train columns, test columns or None for the same, words the error must contain)
    "signal under another name": (
        {"signal": GOOD["input_values"], "label": GOOD["label"]},
        None,
        ["no `input_values` column", "signal"],
    ),
    "text instead of signal": (_changed(GOOD, input_values=["a,b,c"] * 12), None, ["holds string", "(channels, time)"]),
    "a number per row": (_changed(GOOD, input_values=[1.0] * 12), None, ["holds double", "(channels, time)"]),
    "3-D rows": (_changed(GOOD, input_values=[np.zeros((2, 2, 50))] * 12), None, ["(channels, time)"]),
    "empty rows": (_changed(GOOD, input_values=[[]] * 12), None, ["empty"]),
    "one row without samples": (
        _changed(GOOD, input_values=[np.zeros(0)] + [np.ones(50)] * 11),
        None,
        ["Row 0", "no samples"],
    ),
    "rows of 1 and 2 channels": (
        _changed(GOOD, input_values=[np.zeros((1 + i % 2, 50)) for i in range(12)]),
        None,
        ["[1, 2] channels", "same channels"],
    ),
    "text labels with a missing one": (
        _changed(GOOD, label=[None if i == 4 else f"c{i % 3}" for i in range(12)]),
        None,
        ["missing in row 4", "drop the unlabelled rows"],
    ),
    "multi-hot labels": (
        _changed(GOOD, label=[[i % 2, 1 - i % 2] for i in range(12)]),
        None,
        ["multi-label", "multi_label_classification", "Trainer"],
    ),
    "a set already aligned by an extractor": (
        _changed(GOOD, patch_mask=[[1] * 10] * 12),
        None,
        ["`patch_mask` column", "already aligned", "before the `map`"],
    ),
    "fractional labels": (_changed(GOOD, label=[0.5 * (i % 3) for i in range(12)]), None, ["0.5", "integer class ids"]),
    "negative labels": (_changed(GOOD, label=[(i % 3) - 1 for i in range(12)]), None, ["negative", "0..K-1"]),
    "class ids that skip": (
        _changed(GOOD, label=[10 * (i % 3) for i in range(12)]),
        None,
        ["never occur in train", "0..20", 'Value("string")'],
    ),
    "a single class": (_changed(GOOD, label=[0] * 12), None, ["single class", "at least two"]),
    "a test class train lacks": (
        GOOD,
        _changed(GOOD, label=[i % 4 for i in range(12)]),
        ["class(es) id 3", "train has no example of"],
    ),
    "a NaN target": (
        {"input_values": GOOD["input_values"], "target": [np.nan] + [1.0] * 11, "sampling_rate": [RATE] * 12},
        None,
        ["`target`", "row 0", "finite"],
    ),
    "a NaN sample in test": (
        GOOD,
        _changed(
            GOOD,
            input_values=[
                np.where(np.arange(200) == 7, np.nan, 0.0)[None].astype(np.float32) if i == 2 else v
                for i, v in enumerate(GOOD["input_values"])
            ],
        ),
        ["Row 2 of the test split has NaN or infinite values"],
    ),
    "an infinite sample in the second channel of row 5": (
        _changed(
            GOOD,
            input_values=[
                np.stack([np.zeros(50), np.where(np.arange(50) == 3, np.inf, 1.0)]) if i == 5 else np.ones((2, 50))
                for i in range(12)
            ],
        ),
        None,
        ["Row 5 of the train split has NaN or infinite values"],
    ),
    "a row without channels": (
        _changed(GOOD, input_values=[np.zeros((0, 50)) if i == 4 else np.ones((1, 50)) for i in range(12)]),
        None,
        ["Row 4 of the train split has no channels"],
    ),
    "channels of different lengths in row 5": (
        _changed(GOOD, input_values=[[[0.0] * 200, [0.0] * 120] if i == 5 else [[0.0] * 200] * 2 for i in range(12)]),
        None,
        ["Row 5 of the train split has channels of different lengths (from 120 to 200 samples)"],
    ),
    "both label and target": (_changed(GOOD, target=[1.0] * 12), None, ["both a `label`", "remove_columns"]),
    # (a `labels` column, the Trainer's name, is read as `label` / `target`: test_datasets_habits.py)
    "labels under another name": (
        {"input_values": GOOD["input_values"], "class": GOOD["label"], "sampling_rate": [RATE] * 12},
        None,
        ["rename_column('class', 'label')"],
    ),
    "a rate of 0": (_changed(GOOD, sampling_rate=[RATE] * 11 + [0.0]), None, ["`sampling_rate`", "row 11", "above 0"]),
    "a NaN rate": (_changed(GOOD, sampling_rate=[float("nan")] * 12), None, ["`sampling_rate`", "nan", "above 0"]),
    "rates as text": (_changed(GOOD, sampling_rate=["100"] * 12), None, ["`sampling_rate`", "a number"]),
}


@pytest.mark.parametrize("case", list(BAD_SETS))
def test_a_bad_labelled_set_is_refused_with_the_fix(case, tmp_path):
    train, test, words = BAD_SETS[case]
    folder = _save(tmp_path, train, test)
    with pytest.raises(ValueError) as raised:
        load_task_splits(folder, require_validation=False)
    for word in words:
        assert word in str(raised.value), (word, str(raised.value))


def test_good_sets_pass_the_checks(tmp_path):
    """Lists of lists, float32 arrays and `Array2D` features, with `ClassLabel` names or plain ids, and a
    regression set, all load."""
    plain = load_task_splits(_save(tmp_path, GOOD, name="plain"), require_validation=False)
    assert plain.label_names == ["0", "1", "2"] and plain.num_channels == 1
    features = datasets.Features(
        {
            "input_values": datasets.Array2D((2, 200), "float32"),
            "label": datasets.ClassLabel(names=["rest", "walk", "run"]),
            "sampling_rate": datasets.Value("float32"),
        }
    )
    array2d = datasets.Dataset.from_dict(_rows(12, [i % 3 for i in range(12)], channels=2), features=features)
    folder = tmp_path / "array2d"
    test = datasets.Dataset.from_dict(_held_out(_rows(12, [i % 3 for i in range(12)], channels=2)), features=features)
    datasets.DatasetDict({"train": array2d, "test": test}).save_to_disk(str(folder))
    loaded = load_task_splits(folder, require_validation=False)
    assert loaded.label_names == ["rest", "walk", "run"] and loaded.num_channels == 2
    regression = {
        "input_values": GOOD["input_values"],
        "target": [float(i) for i in range(12)],
        "sampling_rate": [RATE] * 12,
    }
    assert (
        load_task_splits(_save(tmp_path, regression, name="regression"), require_validation=False).task == "regression"
    )


def test_class_names_numbered_per_split_are_refused_and_one_numbering_loads(tmp_path):
    """`class_encode_column` on a DatasetDict numbers each split's own classes: a test split without "run" numbers
    "sit" 0 where train numbers it 1, and every test label would be misread (it scored 0.0 on separable data). One
    `ClassLabel` cast on every split numbers them alike."""
    train_names = [["walk", "run", "sit"][i % 3] for i in range(12)]
    test_names = ["walk", "sit"] * 6
    raw = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(_changed(GOOD, label=train_names)),
            "test": datasets.Dataset.from_dict(_changed(_held_out(GOOD), label=test_names)),
        }
    )
    raw.class_encode_column("label").save_to_disk(str(tmp_path / "per_split"))
    with pytest.raises(ValueError, match=r"class names \['sit', 'walk'\] differ from train's \['run', 'sit', 'walk'\]"):
        load_task_splits(tmp_path / "per_split", require_validation=False)
    raw.cast_column("label", datasets.ClassLabel(names=["walk", "run", "sit"])).save_to_disk(str(tmp_path / "one"))
    loaded = load_task_splits(tmp_path / "one", require_validation=False)
    assert loaded.label_names == ["walk", "run", "sit"]
    assert loaded.test["label"][:2] == [0, 2]


@pytest.mark.parametrize("alias", ["valid", "val", "dev", "eval", "evaluation"])
def test_a_validation_split_under_a_common_other_name_is_the_validation_set(alias, tmp_path):
    """It was ignored without a word, and a validation set carved out of train instead."""
    folder = tmp_path / "set"
    splits = {"train": GOOD, alias: _held_out(_good(6)), "test": _held_out(GOOD)}
    datasets.DatasetDict({name: datasets.Dataset.from_dict(rows) for name, rows in splits.items()}).save_to_disk(
        str(folder)
    )
    loaded = load_task_splits(folder)
    assert loaded.validation_source == alias and len(loaded.validation) == 6 and len(loaded.train) == 12


def test_a_second_validation_alias_is_named_not_dropped(tmp_path, caplog):
    folder = tmp_path / "set"
    splits = {"train": GOOD, "dev": _held_out(_good(6)), "eval": _good(3), "test": _held_out(GOOD)}
    datasets.DatasetDict({name: datasets.Dataset.from_dict(rows) for name, rows in splits.items()}).save_to_disk(
        str(folder)
    )
    with caplog.at_level("WARNING"):
        loaded = load_task_splits(folder)
    assert loaded.validation_source == "dev" and "['eval'] are not used" in caplog.text


def test_a_split_no_option_uses_is_named_before_a_validation_split_is_carved(tmp_path, caplog):
    folder = tmp_path / "set"
    splits = {"train": GOOD, "holdout": _good(6), "test": _held_out(GOOD)}
    datasets.DatasetDict({name: datasets.Dataset.from_dict(rows) for name, rows in splits.items()}).save_to_disk(
        str(folder)
    )
    with caplog.at_level("WARNING"):
        loaded = load_task_splits(folder)
    assert loaded.validation_source.startswith("carved")
    assert "['holdout'] are not used" in caplog.text and "--validation-split holdout" in caplog.text


def test_an_empty_split_is_named(tmp_path):
    """`save_to_disk` writes an empty split without data files, and `datasets.load_from_disk` then fails with an
    IndexError; the package names the split instead."""
    folder = tmp_path / "empty_test"
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(GOOD), "test": datasets.Dataset.from_dict(GOOD).select([])}
    ).save_to_disk(str(folder))
    with pytest.raises(ValueError, match=r"\['test'\] of .* are empty"):
        load_task_splits(folder, require_validation=False)


def test_a_nan_sample_is_named_before_dataset_normalisation(tmp_path):
    values = [np.ones((1, 50)) * i for i in range(1, 13)]
    values[3][0, 7] = np.nan
    train = datasets.Dataset.from_dict(_changed(GOOD, input_values=values))
    with pytest.raises(ValueError, match="Row 3 of the training split has NaN"):
        channel_statistics(train)


def _citrus(*argv: str) -> tuple[int, str]:
    """Run `citrus argv...` in this process; its exit code and what it wrote to stderr."""
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        code = main(list(argv))
    return code, errors.getvalue()


@pytest.fixture(scope="module")
def own_set(tmp_path_factory) -> Path:
    return _save(tmp_path_factory.mktemp("own"), GOOD)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--sampling-rate", "0"], ["--sampling-rate must be a finite number above 0", "0.0"]),
        (["--sampling-rate", "inf"], ["--sampling-rate must be a finite number above 0"]),
        (["--sampling-rate", "100"], ["has a sampling_rate column", "Drop --sampling-rate"]),
        (["--learning-rate", "-1"], ["--learning-rate must be a finite number above 0"]),
        (["--per-device-batch-size", "0"], ["--per-device-batch-size must be an integer >= 1"]),
        (["--metric-for-best-model", "bogus"], ["--metric-for-best-model must be one of", "macro_f1"]),
        (["--metric-for-best-model", "mae"], ["'mae' is not a classification metric"]),
        (["--config-overrides", "d_model=8"], ["with --model the checkpoint's own config is used"]),
        (["--weight-decay", "nan"], ["--weight-decay must be a finite number >= 0", "nan"]),
        (["--warmup-steps", "inf"], ["--warmup-steps must be a finite number >= 0"]),
        (["--lr-scheduler-type", "cosin"], ["--lr-scheduler-type must be one of", "cosine", "'cosin'"]),
        # split names that would score or choose the model on what it trained on, or choose it on the test split
        (["--test-split", "train"], ["--test-split and --train-split both name 'train'"]),
        (["--validation-split", "test"], ["--validation-split and --test-split both name 'test'", "optimistic"]),
        (["--validation-split", "train"], ["--validation-split and --train-split both name 'train'"]),
    ],
)
def test_finetune_refuses_bad_values_in_one_line_before_fitting(options, words, own_set, tmp_path):
    code, errors = _citrus(
        "finetune",
        "--model",
        "citrus-small",
        "--dataset",
        str(own_set),
        "--output-dir",
        str(tmp_path / "run"),
        *options,
    )
    assert code == 2 and errors.startswith("error: ") and errors.count("\n") == 1, errors
    for word in words:
        assert word in errors, (word, errors)
    assert not (tmp_path / "run").exists()


def test_a_label_budget_above_a_class_says_all_of_it_is_used(tmp_path):
    """BasicMotions' training pool has 8 recordings per class once validation is carved: 1000 per class takes them
    all, which the run now says instead of reporting a smaller run than the one asked for without a word."""
    from transformers.testing_utils import CaptureLogger
    from transformers.utils import logging

    argv = ["--dataset", "basic_motions", "--model-config", "tiny", "--recipe", "probe", "--no-show-progress"]
    for budget, warned in (("1000", True), ("5", False)):
        with CaptureLogger(logging.get_logger("citrus_hf.training.finetune")) as captured:
            code, _ = _citrus("finetune", *argv, "--label-budget", budget, "--output-dir", str(tmp_path / budget))
        expected = f"asked for {budget} labelled examples per class; 4 of the 4 classes have fewer"
        assert code == 0 and (expected in captured.out) == warned, captured.out


def test_recordings_cropped_to_the_window_are_said_to_be(own_set, tmp_path):
    """Rows of 10 s for a model of 2 s windows: `alignment="resample"` keeps the start of each, which the run now
    says (with the share of the samples kept) instead of fitting on a fifth of the data without a word; rows that fit
    say nothing."""
    from transformers.testing_utils import CaptureLogger
    from transformers.utils import logging

    long_rows = _save(tmp_path, _rows(12, [i % 3 for i in range(12)], samples=1000), name="long")
    argv = ["--model-config", "tiny", "--recipe", "probe", "--label-budget", "2", "--no-show-progress"]
    for folder, notice in ((long_rows, True), (own_set, False)):
        with CaptureLogger(logging.get_logger("citrus_hf.training.finetune")) as captured:
            code, _ = _citrus("finetune", "--dataset", str(folder), *argv, "--output-dir", str(tmp_path / folder.name))
        expected = (
            "24 of 24 recordings are longer than the model's window (100 samples = 2 s at 50 Hz; the longest 10 s)"
        )
        assert code == 0 and (expected in captured.out) == notice, captured.out
        assert ("keeps the start of each, 20% of the samples" in captured.out) == notice


def test_the_commands_advise_fixes_their_own_options_have(tmp_path):
    """The extractor's warnings advised `alignment='window'`, which neither command's `--alignment` takes."""
    import logging as std_logging

    from transformers.testing_utils import CaptureLogger
    from transformers.utils import logging

    std_logging.Logger.warning_once.cache_clear()  # transformers' warning_once is process-global
    long_rows = _save(tmp_path, _rows(12, [i % 3 for i in range(12)], samples=1000), name="long")
    argv = ["--datasets", str(long_rows), "--arms", "citrus-scratch", "--model-config", "tiny", "--recipe", "probe"]
    argv += ["--budgets", "2", "--seeds", "0", "--no-show-progress", "--output-dir", str(tmp_path / "eval")]
    with CaptureLogger(logging.get_logger("citrus_hf.feature_extraction_citrus")) as captured:
        code, errors = _citrus("evaluate", *argv)
    assert code == 0, errors
    assert "cut the recordings into windows first" in captured.out and "--alignment SET=interpolate" in captured.out
    assert "--dataset-options SET:window_seconds=S for a set of your own" in captured.out
    assert "alignment='window'" not in captured.out
    # the protocol says so from the rows' lengths, also when a re-run finds the aligned splits in `datasets`' cache
    for run in ("again", "cached"):
        std_logging.Logger.warning_once.cache_clear()
        with CaptureLogger(std_logging.getLogger("citrus_hf.evaluation.arms")) as captured:
            code, errors = _citrus("evaluate", *argv[:-1], str(tmp_path / run))
        assert code == 0, errors
        assert "long: 24 of 24 recordings are longer than the model's window" in captured.out, (run, captured.out)
    # the stretching alignment's aliasing warning advised 'window' too
    std_logging.Logger.warning_once.cache_clear()
    argv = ["--dataset", str(long_rows), "--model-config", "tiny", "--recipe", "probe", "--label-budget", "2"]
    argv += ["--alignment", "interpolate", "--no-show-progress", "--output-dir", str(tmp_path / "stretched")]
    with CaptureLogger(logging.get_logger("citrus_hf.feature_extraction_citrus")) as captured:
        code, errors = _citrus("finetune", *argv)
    assert code == 0, errors
    assert "without an anti-aliasing filter" in captured.out and "Use --alignment resample where" in captured.out
    assert "'window'" not in captured.out


def test_an_output_folder_that_is_a_file_is_refused_before_fitting(own_set, tmp_path):
    existing = tmp_path / "results.txt"
    existing.write_text("kept")
    code, errors = _citrus(
        "finetune", "--model", "citrus-small", "--dataset", str(own_set), "--output-dir", str(existing)
    )
    assert code == 2 and "is a file; give a folder" in errors and existing.read_text() == "kept"


def test_a_settings_file_that_is_not_yaml_is_one_line(tmp_path):
    settings = tmp_path / "finetune.yaml"
    settings.write_text("{{{\n")
    code, errors = _citrus("finetune", str(settings))
    assert code == 2 and errors.startswith(f"error: {settings} is not valid YAML") and errors.count("\n") == 1


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--seeds", "-3"], ["Seeds must be integers >= 0", "-3"]),
        (["--sampling-rate", "nan"], ["--sampling-rate"]),
        # the pre-training settings are checked even when no arm given pre-trains
        (["--pretrain-steps", "0"], ["--pretrain-steps must be an integer >= 1", "0"]),
        (["--pretrain-learning-rate", "nan"], ["--pretrain-learning-rate must be a finite number above 0"]),
        (["--num-threads", "-1"], ["--num-threads must be an integer >= 1", "-1"]),
    ],
)
def test_evaluate_refuses_bad_values_in_one_line(options, words, tmp_path):
    code, errors = _citrus("evaluate", "--arms", "prior", "--output-dir", str(tmp_path / "eval"), *options)
    assert code == 2 and all(word in errors for word in words), errors
    assert not (tmp_path / "eval").exists()


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--eval-steps", "0"], ["--eval-steps must be an integer >= 1", "0"]),  # divided by zero at the first step
        (["--logging-steps", "-1"], ["--logging-steps must be an integer >= 1"]),
        (["--save-total-limit", "0"], ["--save-total-limit must be an integer >= 1"]),
        (["--warmup-steps", "inf"], ["--warmup-steps must be a finite number >= 0"]),  # OverflowError before
        (["--max-grad-norm", "nan"], ["--max-grad-norm must be a finite number >= 0"]),
        (["--weight-decay", "-1"], ["--weight-decay must be a finite number >= 0"]),
        (
            ["--synthetic-ratio", "0.5", "--synthetic-generators", "cauker=abc"],
            ["weight of synthetic generator 'cauker' must be a finite number >= 0", "'abc'"],
        ),
        (["--synthetic-ratio", "0.5", "--synthetic-generators", "cauker=true"], ["got True"]),  # was taken as 1
    ],
)
def test_pretrain_refuses_bad_values_in_one_line_before_training(options, words, tmp_path):
    code, errors = _citrus("pretrain", "--model-config", "tiny", "--output-dir", str(tmp_path / "run"), *options)
    assert code == 2 and errors.startswith("error: ") and errors.count("\n") == 1, errors
    assert all(word in errors for word in words), errors
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("epochs", "expected"), [(None, "the recipe's"), ("3", "as asked")])
def test_num_train_epochs_sets_the_recipes_schedule(epochs, expected, own_set, tmp_path):
    """`--num-train-epochs` is honoured by the fine-tuning recipes (it used to be ignored without a word); without
    it the recipe's own schedule runs (`recipes.finetune_steps`: 30 passes, at least 60 steps)."""
    import json
    import math

    from citrus_hf.training.recipes import finetune_steps

    output = tmp_path / "scratch"
    command = ["finetune", "--dataset", str(own_set), "--model-config", "tiny", "--output-dir", str(output)]
    command += ["--config-overrides", "sampling_rate=100", "context_length=200", "patch_length=20"]
    command += ["--recipe", "finetune", "--per-device-batch-size", "4", "--no-show-progress"]
    command += ["--num-train-epochs", epochs] if epochs else []
    assert main(command) == 0
    results = json.loads((output / "finetune_results.json").read_text())
    batches = math.ceil(results["num_train"] / 4)
    wanted = 3 * batches if epochs else finetune_steps(results["num_train"], 4)
    assert results["steps"] == wanted, (expected, results["steps"])


def test_a_builder_option_of_the_wrong_kind_is_named():
    from citrus_hf.data.builders import build_dataset
    from citrus_hf.data.errors import CitrusDataError

    with pytest.raises(CitrusDataError, match="Option 'window_seconds' of dataset 'hr_ecg' is a number"):
        build_dataset("hr_ecg", window_seconds="abc")


@pytest.mark.parametrize(
    ("dataset", "options", "words"),
    [
        ("eeg_pretrain", {"window_seconds": float("inf")}, "'window_seconds' of dataset 'eeg_pretrain' must be finite"),
        ("eeg_pretrain", {"hop_seconds": -2.0}, "'hop_seconds' of dataset 'eeg_pretrain' must be a positive number"),
        ("eeg_pretrain", {"validation_fraction": float("nan")}, "'validation_fraction' of dataset 'eeg_pretrain' must"),
        ("eeg_pretrain", {"validation_fraction": 1.5}, "must be a share in [0, 1), got 1.5"),
        ("eeg_pretrain", {"seed": -1}, "'seed' of dataset 'eeg_pretrain' must be an integer >= 0, got -1"),
        ("pretrain_corpus", {"min_seconds": -1.0}, "'min_seconds' of dataset 'pretrain_corpus' must be a number of"),
        ("sleep_edf", {"fractions": (0.5, -0.1, 0.6)}, "'fractions' of dataset 'sleep_edf' must be shares >= 0"),
    ],
)
def test_a_builder_option_value_no_builder_can_use_is_named(dataset, options, words):
    """Each of these used to fail inside a builder (OverflowError, "max() arg is an empty sequence", numpy's
    "expected non-negative integer") or build a split from a negative share."""
    from citrus_hf.data.builders import build_dataset
    from citrus_hf.data.errors import CitrusDataError

    with pytest.raises(CitrusDataError) as error:
        build_dataset(dataset, **options)
    assert words in str(error.value), str(error.value)


def test_aligned_windows_cached_by_older_aligner_code_are_not_reused(tmp_path, monkeypatch):
    """`Dataset.map` keys its cache on the mapped function and the objects it holds, not on the functions they call:
    a changed resampler (a new package version) used to read windows the old one had cached. The key now holds a
    digest of the aligner's code."""
    from citrus_hf import CiTrusFeatureExtractor, feature_extraction_citrus
    from citrus_hf.data import alignment

    folder = _save(tmp_path, _rows(4, [0, 1, 0, 1], samples=250))
    train = datasets.load_from_disk(str(folder))["train"]  # on disk, so `map` caches its result next to it
    extractor = CiTrusFeatureExtractor(
        sampling_rate=50.0, context_length=100, patch_length=10, alignment="resample", normalization="none"
    )

    def aligned():
        return np.asarray(alignment.align_task_split(train, extractor, "classification")["input_values"])

    first = aligned()
    np.testing.assert_array_equal(aligned(), first)  # same code and settings: the cached file
    resample = feature_extraction_citrus._resample
    monkeypatch.setattr(feature_extraction_citrus, "_resample", lambda signal, up, down: resample(signal, up, down) * 2)
    np.testing.assert_array_equal(aligned(), first)  # what datasets alone would do: the stale file
    monkeypatch.setattr(alignment, "_alignment_code_digest", lambda: "another version of the aligner")
    assert not np.array_equal(aligned(), first)


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"window_seconds": 1e-6}, ValueError, "A 1e-06 s window at 1000.0 Hz holds no sample"),
        ({"fractions": [0.5, 0.5]}, "CitrusDataError", "must be 3 shares (train, validation, test)"),
        ({"window_seconds": 1e6}, "CitrusDataError", "holds no window with the options"),
    ],
)
def test_a_builder_option_that_leaves_a_split_without_windows_is_one_message(options, error, words):
    """They came out as a `datasets` DatasetGenerationError traceback (the builder's own message inside it), or as
    datasets' 'Instruction "train" corresponds to no data!'."""
    from citrus_hf.data.builders import build_dataset
    from citrus_hf.data.errors import CitrusDataError

    with pytest.raises(CitrusDataError if error == "CitrusDataError" else error) as raised:
        build_dataset("hr_ecg", **options)
    assert words in str(raised.value), str(raised.value)


def test_nan_samples_are_filled_on_request(tmp_path):
    """`--nan-policy interpolate` lets a set with NaN samples through the set checks, the dataset statistics and
    the alignment (the messages named only Python's `nan_policy='interpolate'`, which the commands did not take);
    without it the row is named with that option."""
    from citrus_hf.data.alignment import align_corpus
    from citrus_hf.loading import build_config

    values = [np.asarray(v).copy() for v in GOOD["input_values"]]
    values[4][0, 10:15] = np.nan
    folder = _save(tmp_path, _changed(GOOD, input_values=values))
    command = ["finetune", "--model", "citrus-small", "--dataset", str(folder), "--label-budget", "2"]
    code, errors = _citrus(*command, "--output-dir", str(tmp_path / "refused"))
    assert code == 2 and "Row 4 of the train split has NaN" in errors and "--nan-policy interpolate" in errors
    code, errors = _citrus(*command, "--output-dir", str(tmp_path / "run"), "--nan-policy", "interpolate")
    assert code == 0, errors
    mean, std = channel_statistics(datasets.Dataset.from_dict(_changed(GOOD, input_values=values)), "interpolate")
    assert np.isfinite(mean).all() and np.isfinite(std).all()

    corpus = datasets.Dataset.from_dict({"input_values": values, "sampling_rate": [RATE] * 12})
    config = build_config("tiny", sampling_rate=RATE, context_length=200, patch_length=20)
    with pytest.raises(ValueError, match="contains 5 NaN values"):
        align_corpus(corpus, config)
    aligned = align_corpus(corpus, config, nan_policy="interpolate").with_format("numpy")
    assert np.isfinite(np.stack(aligned["input_values"])).all()


def test_evaluate_fills_nan_samples_for_every_arm_on_request(tmp_path):
    """`citrus evaluate` had no --nan-policy: a set with one NaN sample could not be evaluated at all, and the error
    named an option it did not take. With it, the CiTrus arms' extractor and MiniRocket's raw windows are filled
    alike, and every score is a number."""
    pytest.importorskip("aeon")
    values = [np.asarray(v).copy() for v in GOOD["input_values"]]
    values[4][0, 10:15] = np.nan
    folder = _save(tmp_path, _changed(GOOD, input_values=values))
    command = ["evaluate", "--datasets", str(folder), "--budgets", "2", "--seeds", "0", "--no-show-progress"]
    command += ["--arms", "citrus-small", "minirocket", "prior"]
    code, errors = _citrus(*command, "--output-dir", str(tmp_path / "refused"))
    assert code == 2 and "Row 4 of the train split has NaN" in errors and "--nan-policy interpolate" in errors
    code, errors = _citrus(*command, "--output-dir", str(tmp_path / "run"), "--nan-policy", "interpolate")
    assert code == 0, errors
    runs = json.loads((tmp_path / "run" / "results.json").read_text())["runs"]
    assert sorted(run["arm"] for run in runs) == ["citrus-small", "minirocket", "prior"]
    assert all(isinstance(run["macro_f1"], float) and np.isfinite(run["macro_f1"]) for run in runs)


def test_a_second_finetune_into_a_used_folder_is_refused_or_replaces_the_first(tmp_path, own_set):
    """A default run after a --lora run into one folder left the adapter, its card and its task config beside the new
    weights, and `pipeline(model=folder)` served the old adapter while finetune_results.json reported the new run."""
    folder = tmp_path / "run"
    command = ["finetune", "--model", "citrus-small", "--dataset", str(own_set), "--label-budget", "2"]
    command += ["--output-dir", str(folder), "--no-show-progress"]
    code, errors = _citrus(*command, "--lora", "--max-steps", "1")
    assert code == 0, errors
    assert (folder / "adapter_config.json").is_file()
    code, errors = _citrus(*command)
    assert code == 2 and "already holds a fine-tuned model" in errors and "--overwrite-output-dir" in errors
    code, errors = _citrus(*command, "--overwrite-output-dir")
    assert code == 0, errors
    left = {path.name for path in folder.iterdir()}
    assert {"model.safetensors", "config.json", "finetune_results.json"} <= left
    assert not {"adapter_config.json", "adapter_model.safetensors", "citrus_task_config.json", "README.md"} & left
    assert not (folder / ".citrus-trainer").exists()
    assert json.loads((folder / "finetune_results.json").read_text())["arguments"]["lora"] is False
    # --overwrite-output-dir deleted the earlier run before anything was checked: a run that then failed (here on a
    # NaN row) left an empty folder, and a run into its own --model folder deleted the weights it was to start from
    weights = (folder / "model.safetensors").read_bytes()
    values = [np.asarray(v).copy() for v in GOOD["input_values"]]
    values[4][0, 10:15] = np.nan
    broken = _save(tmp_path, _changed(GOOD, input_values=values), name="broken")
    code, errors = _citrus(*command[:4], str(broken), *command[5:], "--overwrite-output-dir")
    assert code == 2 and "NaN" in errors and (folder / "model.safetensors").read_bytes() == weights
    into_itself = ["finetune", "--model", str(folder), "--dataset", str(own_set), "--output-dir", str(folder)]
    code, errors = _citrus(*into_itself, "--overwrite-output-dir")
    assert code == 2 and "is the folder of the --model checkpoint" in errors
    assert (folder / "model.safetensors").read_bytes() == weights
    pretrained = tmp_path / "pretrained"
    pretrained.mkdir()
    (pretrained / "pretraining_summary.json").write_text("{}")
    code, errors = _citrus(*command[:-3], "--output-dir", str(pretrained), "--overwrite-output-dir")
    assert code == 2 and "holds a pre-training run" in errors


def test_step_selection_options_are_named_when_the_validation_split_is_too_small(tmp_path, own_set, caplog):
    """--eval-steps, --early-stopping-patience and --metric-for-best-model were dropped without a word when the
    validation split was too small to select a step on (the run keeps its last weights)."""
    import logging

    caplog.set_level(logging.WARNING)
    command = ["finetune", "--model", "citrus-small", "--dataset", str(own_set), "--label-budget", "2"]
    command += ["--recipe", "finetune", "--max-steps", "2", "--eval-steps", "1", "--early-stopping-patience", "2"]
    code, errors = _citrus(*command, "--output-dir", str(tmp_path / "run"), "--no-show-progress")
    assert code == 0, errors
    warnings = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert "--eval-steps, --early-stopping-patience have no effect on this run: the validation split" in warnings
    assert "fewer than 5 examples of every class" in warnings


def test_finetune_starts_from_a_fine_tuned_folder_with_a_new_head(tmp_path, own_set):
    """From a task checkpoint of another class count, `citrus finetune` failed, telling a command-line user to pass
    Python's `ignore_mismatched_sizes=True`; the task model it builds always gets a new head."""
    import torch

    from citrus_hf.training.finetune import build_citrus_task_model

    first = tmp_path / "first"
    command = ["finetune", "--model", "citrus-small", "--dataset", str(own_set), "--label-budget", "2"]
    code, errors = _citrus(*command, "--output-dir", str(first), "--no-show-progress")
    assert code == 0, errors
    second = ["finetune", "--model", str(first), "--dataset", "basic_motions", "--label-budget", "2"]
    code, errors = _citrus(*second, "--output-dir", str(tmp_path / "second"), "--no-show-progress")
    assert code == 0, errors  # 3 classes -> 4
    # a head of the same size is started anew too, not kept from the first task
    from citrus_hf import CiTrusForSequenceClassification

    same = build_citrus_task_model("classification", 1, ["a", "b", "c"], checkpoint=str(first))
    kept = CiTrusForSequenceClassification.from_pretrained(first)
    assert not torch.equal(same.classifier.weight, kept.classifier.weight)
    assert torch.equal(same.classifier.bias, torch.zeros_like(same.classifier.bias))
    # a regressor started from the classifier does not keep its class names as metadata
    regressor = build_citrus_task_model("regression", 1, checkpoint=str(first))
    assert regressor.config.id2label == {0: "LABEL_0", 1: "LABEL_1"}


def test_a_set_of_recordings_shorter_than_a_patch_names_the_command_option(tmp_path):
    """The command line said "Use alignment='interpolate'", Python's spelling, where its option is --alignment."""
    folder = _save(tmp_path, _rows(12, [i % 3 for i in range(12)], samples=2))
    code, errors = _citrus(
        "finetune", "--model", "citrus-small", "--dataset", str(folder), "--output-dir", str(tmp_path / "r")
    )
    assert code == 2 and "shorter than one patch" in errors and "Use --alignment interpolate to stretch" in errors


def test_a_runs_file_cut_short_is_repaired_and_a_bad_record_is_named_by_line(tmp_path, caplog):
    """Recovering a runs.jsonl whose last line was cut short appended the next run onto that fragment: the merged line
    was refitted at every later run, or refused as not JSON. A record of the wrong shape (a seed "0", a metric "abc",
    no dataset, a line holding a list) was a KeyError / TypeError / AttributeError traceback."""
    output = tmp_path / "eval"
    command = ["evaluate", "--datasets", str(_save(tmp_path, _good())), "--arms", "prior", "--seeds", "0", "1"]
    command += ["--budgets", "2", "--output-dir", str(output), "--no-show-progress"]
    runs = output / "runs.jsonl"
    assert _citrus(*command)[0] == 0
    lines = runs.read_text().splitlines()
    runs.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])  # the second run's write cut short
    assert _citrus(*command)[0] == 0 and "its last line is not a whole run" in caplog.text
    refitted = [json.loads(line) | {"seconds": 0} for line in runs.read_text().splitlines()]  # no fragment left
    assert refitted == [json.loads(line) | {"seconds": 0} for line in lines]
    caplog.clear()
    assert _citrus(*command)[0] == 0 and "Reused 2 of 2 runs" in caplog.text and len(runs.read_text().splitlines()) == 2
    runs.write_text(runs.read_text().rstrip("\n"))  # a whole last line that lost its newline: the next run is
    assert _citrus(*command)[0] == 0 and runs.read_text().endswith("}\n")  # still appended on a line of its own
    first = json.loads(lines[0])
    for change, words in [
        ({"seed": "0"}, "field 'seed' must be an integer, got \"0\""),
        ({"macro_f1": "abc"}, "field 'macro_f1' must be a number or null"),
        ({"dataset": None}, "field 'dataset' must be a string, got null"),
    ]:
        runs.write_text(json.dumps({**first, **change}) + "\n" + lines[1] + "\n")
        code, errors = _citrus(*command)
        assert code == 2 and errors.count("\n") == 1 and f"{runs}, line 1, is not a recorded run: {words}" in errors
        assert "delete that line, or pass --no-resume" in errors, errors
    without_seed = {key: value for key, value in first.items() if key != "seed"}
    for line in (json.dumps(without_seed), "[]"):
        runs.write_text(lines[1] + "\n" + line + "\n")
        code, errors = _citrus(*command)
        assert code == 2 and f"{runs}, line 2, is not a recorded run: " in errors, errors
        assert ("field 'seed' is missing" in errors) == (line != "[]") and errors.count("\n") == 1, errors


def test_channel_statistics_batched_matches_row_by_row_and_names_the_row(monkeypatch):
    """The statistics read the column a batch at a time (`Array2D` decodes row by row ~100x slower): same mean and
    std as the row-by-row definition over fixed-shape rows beyond one batch and over rows of different lengths, and
    a NaN past the first batch is named by its own row."""
    from citrus_hf.data import alignment

    monkeypatch.setattr(alignment, "_STATISTICS_BATCH_SAMPLES", 500 * 60)  # batches of 500 rows of 2 x 30 samples
    rng = np.random.default_rng(3)
    # float32 rows: the numpy format returns float32 for these columns either way
    fixed = [(rng.standard_normal((2, 30)) * [[1.0], [5.0]] + [[0.0], [2.0]]).astype(np.float32) for _ in range(1300)]
    varied = [rng.standard_normal((2, int(length))).astype(np.float32) for length in rng.integers(10, 40, size=50)]
    features = datasets.Features({"input_values": datasets.Array2D((2, 30), "float32")})
    for rows, dataset in (
        (fixed, datasets.Dataset.from_dict({"input_values": fixed}, features=features)),
        (varied, datasets.Dataset.from_dict({"input_values": [row.tolist() for row in varied]})),
    ):
        joined = np.concatenate(rows, axis=1).astype(np.float64)
        mean, std = channel_statistics(dataset)
        np.testing.assert_allclose(mean, joined.mean(axis=1), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(std, joined.std(axis=1), rtol=1e-10)
    fixed[1100][1, 4] = np.inf
    with pytest.raises(ValueError, match="Row 1100 of the training split has NaN"):
        channel_statistics(datasets.Dataset.from_dict({"input_values": fixed}, features=features))


def test_a_bad_row_is_named_by_its_row_in_the_split_not_in_a_batch(tmp_path):
    """The split is aligned 64 rows at a time: the extractor's "recording 2" was the third row of a batch, not of the
    split, so the user looked at the wrong row."""
    rows = _rows(140, [i % 2 for i in range(140)])
    rows["input_values"][130] = rows["input_values"][130][:, :2]  # 2 samples: shorter than one patch
    folder = _save(tmp_path, rows)
    code, errors = _citrus(
        "finetune", "--model", "citrus-small", "--dataset", str(folder), "--output-dir", str(tmp_path / "r")
    )
    assert code == 2 and "row 130 " in errors and "recording 2 " not in errors, errors


def test_a_bad_row_carved_out_for_validation_is_named_by_its_training_row(tmp_path):
    """A set without a validation split gets one carved out of train: a bad row there is named by its row in the
    training split the user has, and as carved out of it, not as row k of a "validation split" they never made."""
    from citrus_hf.data.splits import carved_rows

    rows = _rows(140, [i % 2 for i in range(140)])
    _, held_out = carved_rows(datasets.Dataset.from_dict(rows), "classification")
    bad = int(held_out[-1])
    rows["input_values"][bad] = rows["input_values"][bad][:, :2]
    folder = _save(tmp_path, rows)
    code, errors = _citrus(
        "finetune", "--model", "citrus-small", "--dataset", str(folder), "--output-dir", str(tmp_path / "r")
    )
    assert code == 2, errors
    assert f"The train split's rows carved out for validation: row {bad} " in errors, errors


def test_resampling_that_removes_most_of_the_signal_is_said(tmp_path, caplog):
    """EMG at 200 Hz into citrus-small's 100 Hz: 64 % of its power lies above 50 Hz and went without a word. ECG at
    1-2 kHz holds almost none there, and EEG's mains hum above 50 Hz does not count (resampling removes it to the
    good)."""
    from citrus_hf.data.alignment import lost_band_notice
    from citrus_hf.data.splits import load_split
    from citrus_hf.loading import build_config

    small = build_config("citrus-small")
    notice = lost_band_notice([load_split("myo_gestures", "train")], small)
    assert notice.startswith("64% of the recordings' power lies above 50 Hz (mains hum there aside), which resampling")
    assert "200 Hz to the model's 100 Hz removes" in notice and "--config-overrides sampling_rate=HZ" in notice
    for quiet in ("hr_ecg", "eeg_blink"):
        assert lost_band_notice([load_split(quiet, "train")], small) is None
    argv = ["--dataset", "myo_gestures", "--model-config", "tiny", "--recipe", "probe", "--label-budget", "1"]
    with caplog.at_level("WARNING", logger="citrus_hf.training.finetune"):
        code, errors = _citrus("finetune", *argv, "--no-show-progress", "--output-dir", str(tmp_path / "emg"))
    assert code == 0, errors
    assert "of the recordings' power lies above 25 Hz (mains hum there aside)" in caplog.text
