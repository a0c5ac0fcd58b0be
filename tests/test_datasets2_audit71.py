"""Traps that users of Hugging Face `datasets` have reported upstream (a second round), checked against the way
citrus-hf reads a set of your own and builds a registered one (an audit: each test failed before its fix)."""

from __future__ import annotations

import shutil

import datasets
import numpy as np
import pytest

# ------------------------------------------------ data files that each record their own class names (parquet, arrow)


def _labelled(names: list[str], labels: list[int], seed: int = 0) -> datasets.Dataset:
    rng = np.random.default_rng(seed)
    features = datasets.Features(
        {
            "input_values": datasets.List(datasets.List(datasets.Value("float32"))),
            "label": datasets.ClassLabel(names=names),
            "sampling_rate": datasets.Value("float32"),
        }
    )
    rows = {
        "input_values": [rng.normal(size=(1, 100)).astype(np.float32) for _ in labels],
        "label": labels,
        "sampling_rate": [100.0] * len(labels),
    }
    return datasets.Dataset.from_dict(rows, features=features)


def _write(split: datasets.Dataset, path, kind: str) -> None:
    """`split` as one data file of `kind`: parquet (`to_parquet`), or the Arrow file `save_to_disk` writes."""
    if kind == "parquet":
        split.to_parquet(str(path))
        return
    saved = path.parent / f".{path.stem}_saved"
    split.save_to_disk(str(saved))
    shutil.copy(saved / "data-00000-of-00001.arrow", path)
    shutil.rmtree(saved)


@pytest.mark.parametrize("kind", ["parquet", "arrow"])
def test_data_files_whose_class_names_differ_are_refused(tmp_path, kind):
    """Each parquet (or Arrow) file records its split's `ClassLabel` names, and `datasets` reads every file of a folder
    under the first file's names: a test split whose names were [walk, run] (its own `class_encode_column`) was read
    under train's [rest, walk, run], every walk scored as rest and every run as walk, without a word (a `save_to_disk`
    folder of the same splits was refused, naming the fix)."""
    from citrus_hf.data.splits import load_task_splits

    folder = tmp_path / "files"
    folder.mkdir()
    _write(_labelled(["rest", "walk", "run"], [0, 1, 2] * 4), folder / f"train.{kind}", kind)
    _write(_labelled(["walk", "run"], [0, 1, 0, 1], seed=1), folder / f"test.{kind}", kind)
    refused = r"name the classes of `label` differently: \['rest', 'walk', 'run'\] in train\.\w+ and \['walk', 'run'\]"
    with pytest.raises(ValueError, match=refused) as refusal:
        load_task_splits(folder, require_validation=False)
    assert "align_labels_with_mapping({'rest': 0, 'walk': 1, 'run': 2}, 'label')" in str(refusal.value)


@pytest.mark.parametrize("test_names", [["rest", "walk", "run"], ["rest", "walk"]])
def test_data_files_whose_class_ids_agree_load(tmp_path, test_names):
    """The check reads the files' own names: files that name the classes alike load as before, and so does a split
    numbered without the last classes (its ids mean what train's do)."""
    from citrus_hf.data.splits import load_task_splits

    folder = tmp_path / "files"
    folder.mkdir()
    _write(_labelled(["rest", "walk", "run"], [0, 1, 2] * 3), folder / "train.parquet", "parquet")
    _write(_labelled(test_names, [1, 0, 1, 0], seed=1), folder / "test.parquet", "parquet")
    loaded = load_task_splits(folder, require_validation=False)
    assert loaded.label_names == ["rest", "walk", "run"] and loaded.test["label"] == [1, 0, 1, 0]


# ------------------------------------------------------------- the baselines' raw windows in their stored float64


def test_the_baselines_raw_windows_keep_a_swing_on_a_large_offset():
    """`raw_windows` (MiniRocket's and the prior arm's input, "float64" by its docstring) read the rows through
    `datasets`' numpy format, which makes float64 float32: a swing of +-3 on an offset of 1e8 came back flat (float32's
    step there is 8), so MiniRocket was scored on rows of zeros where the CiTrus arms, which read the stored float64
    (`align_rows`), saw the signal."""
    from citrus_hf.evaluation.baselines import raw_windows

    swing = np.array([0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, 1.5, 2.5, -0.5, -3.0])
    rows = datasets.Dataset.from_dict({"input_values": [(1e8 + swing)[None]], "label": [0]})
    assert rows.features["input_values"] == datasets.List(datasets.List(datasets.Value("float64")))
    np.testing.assert_array_equal(raw_windows(rows)[0, 0] - 1e8, swing)


# ------------------------------------------- a builder of one's own whose split arguments hold several lists


@pytest.fixture
def listed_set():
    """`define(name, test_subjects)` registers a two-class set of one's own whose splits pass the generator two lists:
    the subjects and the channels to keep (every subject has each channel's recording); removed after the test."""
    import citrus_hf.data  # noqa: F401  (the package's sets first)
    from citrus_hf.data.plans import BuildPlan, dataset_features, window_row
    from citrus_hf.data.registry import DATASETS, register_dataset

    names = []

    def define(name, test_subjects):
        def rows(subjects, channels):
            for subject in subjects:
                for channel in channels:
                    for i in range(2):
                        values = np.zeros((1, 100), np.float32)
                        yield window_row(
                            values, 100.0, float(i), subject=str(subject), recording=f"{subject}-{channel}",
                            source="me", label=i,
                        )  # fmt: skip

        def build(options, context):
            splits = {
                "train": {"subjects": [1, 2], "channels": ["a", "b"]},
                "test": {"subjects": test_subjects, "channels": ["a", "b"]},
            }
            return BuildPlan(dataset_features(["x", "y"], False, (1, 100)), rows, splits)

        register_dataset(name=name, description="mine", task="classification", sources=(), splits="by subject")(build)
        names.append(name)

    yield define
    for name in names:
        DATASETS.pop(name, None)


@pytest.mark.parametrize("test_subjects", [[3, 4], [3]])
def test_a_split_whose_generator_arguments_hold_several_lists_is_refused(tmp_path, listed_set, test_subjects):
    """`datasets` takes every list among a generator's arguments as shards and pairs their items: subjects [1, 2] and
    channels [a, b] built subject 1's channel a and subject 2's channel b only (half the rows gone, without a word),
    and lists of different lengths stopped deep inside `datasets` ("Sharding is ambiguous")."""
    from citrus_hf.data import CitrusDataError, build_dataset

    listed_set("audit71_lists", test_subjects)
    refused = r"The train split's generator arguments of dataset 'audit71_lists' hold several lists \(subjects, "
    refused += r"channels\).*as tuples"
    with pytest.raises(CitrusDataError, match=refused):
        build_dataset("audit71_lists", cache_dir=tmp_path)


# ------------------------------------------------------------------- split slices joined across unlike features


def test_splits_of_other_features_joined_by_a_split_spec_are_named_with_the_fix(tmp_path):
    """`--train-split train+extra` over splits whose features differ (a `ClassLabel` beside plain ids) stopped with
    `datasets`' "The features can't be aligned because the key label of features {...} has unexpected type", which
    named neither split nor a way out."""
    from citrus_hf.data.splits import load_task_splits

    extra = _labelled(["rest", "walk"], [0, 1, 0, 1], seed=2)
    extra = extra.cast_column("label", datasets.Value("int64"))
    sets = {
        "train": _labelled(["rest", "walk"], [0, 1] * 3),
        "extra": extra,
        "test": _labelled(["rest", "walk"], [0, 1], seed=3),  # (windows of its own: not train's)
    }
    datasets.DatasetDict(sets).save_to_disk(str(tmp_path / "set"))
    refused = (
        r"The split 'train\+extra' joins splits of other features: the extra split's `label` is "
        r"Value\('int64'\) where the train split's is ClassLabel\(names=\['rest', 'walk'\]\); .*dataset\['extra'\]\.cast_column\('label', "
    )
    with pytest.raises(ValueError, match=refused):
        load_task_splits(tmp_path / "set", train_split="train+extra", require_validation=False)
    sets["extra"] = sets["extra"].cast_column("label", sets["train"].features["label"])  # the fix it names
    datasets.DatasetDict(sets).save_to_disk(str(tmp_path / "fixed"))
    joined = load_task_splits(tmp_path / "fixed", train_split="train+extra", require_validation=False)
    assert len(joined.train) + len(joined.validation) == 10 and joined.label_names == ["rest", "walk"]


# ---------------------------------------------- an aligned set whose torch format leaves out the patch mask


def test_the_probe_reads_the_patch_mask_that_a_torch_format_leaves_out():
    """`fit_probe`, `embed_dataset`'s callers and `recipes.predict` took a set already in torch format as it was:
    one formatted as `datasets`' tutorials do, `set_format("torch", columns=["input_values", "labels"])`, hid its
    `patch_mask` column, so every padded window was pooled with its padding as signal (other predictions, without a
    word)."""
    import torch
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
    from citrus_hf.training.probe import fit_probe
    from citrus_hf.training.recipes import predict

    config = tiny_config(num_labels=2)
    rng = np.random.default_rng(0)
    recordings = [rng.normal(size=(1, samples)) for samples in (60, 200, 100, 200, 80, 200)]
    extractor = CiTrusFeatureExtractor.from_config(config)
    aligned = extractor(recordings, sampling_rate=100.0, padding="max_length", return_tensors="np")
    rows = {"input_values": aligned["input_values"], "patch_mask": aligned["patch_mask"], "labels": [0, 1] * 3}
    rows = datasets.Dataset.from_dict(rows)
    tutorial = rows.with_format("torch", columns=["input_values", "labels"])
    fitted = []
    for given in (rows, tutorial):
        torch.manual_seed(0)
        model = CiTrusForSequenceClassification(config).eval()
        fit_probe(model, given, "classification")
        fitted.append(predict(model, rows))
        np.testing.assert_allclose(predict(model, tutorial), fitted[-1], atol=1e-6)
    np.testing.assert_allclose(fitted[1], fitted[0], atol=1e-5)


def test_the_trainer_refuses_a_set_whose_format_hides_its_patch_mask(tmp_path):
    """The `Trainer` reads rows as the set's format gives them: `set_format("torch", columns=["input_values",
    "labels"])` hid `patch_mask`, and `Trainer.predict` scored every padded window with its padding as signal (other
    logits than the same rows with the mask, without a word). Refused at `Trainer(...)` and `predict`, with the fix."""
    import torch
    from tiny_configs import tiny_config
    from transformers import Trainer, TrainingArguments

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

    torch.manual_seed(0)
    config = tiny_config(num_labels=2)
    model = CiTrusForSequenceClassification(config).eval()
    rng = np.random.default_rng(0)
    recordings = [rng.normal(size=(1, samples)) for samples in (60, 200, 100, 200)]
    aligned = CiTrusFeatureExtractor.from_config(config)(recordings, sampling_rate=100.0, return_tensors="np")
    rows = {"input_values": aligned["input_values"], "patch_mask": aligned["patch_mask"], "labels": [0, 1, 0, 1]}
    rows = datasets.Dataset.from_dict(rows)
    tutorial = rows.with_format("torch", columns=["input_values", "labels"])
    args = TrainingArguments(str(tmp_path), per_device_eval_batch_size=4, use_cpu=True, report_to="none")
    refused = r"Trainer.predict\(test_dataset=...\): the set's format shows its columns \['input_values', 'labels'\] "
    refused += r"only, hiding `patch_mask`.*dataset.with_format\('torch'\)"
    with pytest.raises(ValueError, match=refused):
        Trainer(model=model, args=args).predict(tutorial)
    with pytest.raises(ValueError, match=r"Trainer\(train_dataset=...\): the set's format shows"):
        Trainer(model=model, args=args, train_dataset=tutorial)
    shown = Trainer(model=model, args=args).predict(rows.with_format("torch")).predictions  # the fix it names
    np.testing.assert_allclose(shown, Trainer(model=model, args=args).predict(rows).predictions, atol=1e-6)
