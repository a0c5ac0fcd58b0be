"""Session 68: leftovers on the model and training side, noticed in earlier sessions and mended here.

1. a model pruned with `torch.nn.utils.prune` trained in a `Trainer` that saves checkpoints until its first save,
   which `save_pretrained` refuses: the Trainer now refuses it when it is built, naming `prune.remove` and the route
   that keeps the mask while training (`save_strategy="no"`);
2. the fusion task classes built a head of the default size for the other task's size keyword (`num_labels` on the
   regressor, `num_targets` on the classifier), on every route (the constructor, `from_encoders`, `from_pretrained`,
   the Auto classes), as the single-modality classes did before session 67: the same refusal now;
3. `include_for_metrics=["inputs"]` was refused for an evaluation set whose rows differ in duration even where every
   batch pads to one duration (which transformers joins), while the outputs' check of the same join let it through:
   one rule for both (`joined_durations`);
4. two lambdas registered under one name replaced each other without a word (a lambda's module and qualified name,
   `<lambda>`, are every lambda's), and so did two `functools.partial`s or callable instances (no qualified name at
   all); and `register_generator` and the data registry refused a generator class or a dataset's builder defined
   again (a notebook cell run twice), which every other registry takes;
5. `citrus evaluate` had no `--class-weight`: a draw of a fraction or all of an imbalanced set of one's own reached
   the CiTrus arms' recipes with its imbalance, which `citrus finetune --class-weight balanced` weighs;
6. `citrus predict` had no way to give the start of a recording whose file records none (.npy, WAV, a CSV without
   stamps since 1970): `--start-time` puts one recording on that clock.
"""

from __future__ import annotations

import functools
import re

import datasets
import numpy as np
import pytest
from tiny_configs import tiny_config
from torch.nn.utils import prune
from transformers import Trainer, TrainingArguments

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification, CiTrusModel


def _rows(lengths, num_labels: int = 2) -> datasets.Dataset:
    """Aligned rows of the tiny contract (100 Hz), one per recording of `lengths` samples, each row as long as its
    recording (in whole patches), with its `patch_mask`."""
    config = tiny_config(num_labels=num_labels)
    extractor = CiTrusFeatureExtractor.from_config(config)
    rng = np.random.default_rng(0)
    rows = [extractor(rng.standard_normal((1, n)).astype(np.float32), sampling_rate=100) for n in lengths]
    return datasets.Dataset.from_dict(
        {
            "input_values": [np.asarray(row["input_values"][0]) for row in rows],
            "patch_mask": [np.asarray(row["patch_mask"][0]) for row in rows],
            "labels": [index % num_labels for index in range(len(lengths))],
        }
    )


def _arguments(tmp_path, **overrides) -> TrainingArguments:
    return TrainingArguments(str(tmp_path / "trainer"), report_to=[], use_cpu=True, **overrides)


# ----------------------------------------------------------------------------------- 1. pruning in a Trainer


def _pruned_classifier() -> CiTrusForSequenceClassification:
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    prune.l1_unstructured(model.classifier, "weight", amount=0.5)
    return model


def test_a_trainer_that_saves_checkpoints_refuses_a_pruned_model_when_built(tmp_path):
    """It trained up to its first checkpoint (hours, on real data) and then stopped in `save_pretrained`."""
    arguments = _arguments(tmp_path, max_steps=3, save_steps=2)
    with pytest.raises(ValueError, match=r"classifier\.weight.*prune\.remove.*save_strategy='no'"):
        Trainer(model=_pruned_classifier(), args=arguments, train_dataset=_rows([200] * 4))
    assert not (tmp_path / "trainer").exists() or not any((tmp_path / "trainer").iterdir())


def test_a_trainer_that_saves_nothing_trains_a_pruned_model_and_keeps_its_mask(tmp_path):
    model = _pruned_classifier()
    pruned = model.classifier.weight_mask == 0
    trainer = Trainer(
        model=model, args=_arguments(tmp_path, max_steps=2, save_strategy="no"), train_dataset=_rows([200] * 4)
    )
    trainer.train()
    assert bool((model.classifier.weight[pruned] == 0).all())  # the mask held through training
    prune.remove(model.classifier, "weight")  # the route the refusal names, before saving
    trainer.save_model(str(tmp_path / "kept"))
    loaded = CiTrusForSequenceClassification.from_pretrained(tmp_path / "kept")
    assert bool((loaded.classifier.weight[pruned] == 0).all())


# ------------------------------------------------------------------------- 2. the fusion head-size keywords


def _fusion_classes():
    from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification

    return CiTrusFusionForSequenceClassification, CiTrusFusionForRegression


def _encoders() -> dict[str, CiTrusModel]:
    return {"a": CiTrusModel(tiny_config()), "b": CiTrusModel(tiny_config())}


# (the task: the keyword of the other head, the class it sizes, the task's own keyword, its head, its Auto class)
_HEAD_KEYWORDS = {
    "regressor": ("num_labels", "CiTrusFusionForSequenceClassification", "num_targets", "regressor"),
    "classifier": ("num_targets", "CiTrusFusionForRegression", "num_labels", "classifier"),
}


@pytest.mark.parametrize("task", sorted(_HEAD_KEYWORDS))
def test_a_fusion_task_class_refuses_the_other_heads_keyword_on_every_route(tmp_path, task):
    from transformers import AutoModelForSequenceClassification

    from citrus_hf import AutoModelForTimeSeriesRegression
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig

    classifier, regressor = _fusion_classes()
    model_class, auto_class = (
        (regressor, AutoModelForTimeSeriesRegression)
        if task == "regressor"
        else (classifier, AutoModelForSequenceClassification)
    )
    other, other_class, own, head = _HEAD_KEYWORDS[task]
    refusal = rf"{other}=3 sets the \w+ of {other_class}.*pass {own}=3"
    with pytest.raises(ValueError, match=refusal):
        model_class.from_encoders(_encoders(), **{other: 3})
    with pytest.raises(ValueError, match=refusal):
        model_class(CiTrusFusionConfig(modality_configs={"a": tiny_config(), "b": tiny_config()}, **{other: 3}))
    model_class.from_encoders(_encoders(), **{own: 2}).save_pretrained(tmp_path / task)
    for load in (model_class.from_pretrained, auto_class.from_pretrained):
        with pytest.raises(ValueError, match=refusal):
            load(tmp_path / task, **{other: 3})
    # the task's own keyword sizes its head, also beside the other one (as for the single-modality classes)
    assert getattr(model_class.from_encoders(_encoders(), **{own: 4, other: 3}), head).out_features == 4
    loaded = model_class.from_pretrained(tmp_path / task, **{own: 3}, ignore_mismatched_sizes=True)
    assert getattr(loaded, head).out_features == 3


# ------------------------------------------------------------------ 3. one rule for joining evaluation batches


def _inputs_trainer(tmp_path, lengths) -> Trainer:
    """A Trainer that gives `compute_metrics` the evaluation inputs, two rows a batch, of rows of `lengths`."""

    def metrics(prediction) -> dict[str, float]:
        inputs = np.asarray(prediction.inputs)
        return {"windows": float(inputs.shape[0]), "samples": float(inputs.shape[-1])}

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    return Trainer(
        model=model,
        args=_arguments(tmp_path, per_device_eval_batch_size=2, include_for_metrics=["inputs"]),
        eval_dataset=_rows(lengths),
        compute_metrics=metrics,
        processing_class=CiTrusFeatureExtractor.from_config(model.config),
    )


def test_inputs_of_batches_padded_to_one_duration_are_joined(tmp_path):
    """Rows of 10 and 5 patches, two a batch, each batch with a 10-patch row: every batch pads to 10 patches, which
    transformers joins; it was refused as if the rows themselves had to share one duration."""
    metrics = _inputs_trainer(tmp_path, [200, 100, 200, 100]).evaluate()
    assert metrics["eval_windows"] == 4 and metrics["eval_samples"] == 200


def test_inputs_of_batches_padded_to_different_durations_are_still_refused(tmp_path):
    trainer = _inputs_trainer(tmp_path, [200, 200, 100, 100])
    with pytest.raises(ValueError, match=r"padded to different durations \(5 to 10 patches\).*padding='max_length'"):
        trainer.evaluate()


# ------------------------------------------------------------------------------ 4. registries: lambdas, generators


def test_a_second_lambda_under_a_taken_name_is_refused():
    """Two lambdas of one module (a script, a notebook's cells) share their module and qualified name, `<lambda>`:
    the second replaced the first without a word. The same lambda run again (a cell run twice) still replaces it."""
    from citrus_hf.training.augment import AUGMENTATIONS, register_augmentation

    name = "audit68-lambda"
    cell = {"__name__": "audit68_notebook", "register_augmentation": register_augmentation}
    try:
        exec(f"register_augmentation({name!r})(lambda windows, lengths, generator: windows)", cell)  # noqa: S102
        first = AUGMENTATIONS[name]
        with pytest.raises(ValueError, match=f"'{name}' is already registered \\(<lambda>\\)"):
            exec(f"register_augmentation({name!r})(lambda windows, lengths, generator: -windows)", cell)  # noqa: S102
        assert AUGMENTATIONS[name] is first
        exec(f"\n\nregister_augmentation({name!r})(lambda windows, lengths, generator: windows)", cell)  # noqa: S102
        assert AUGMENTATIONS[name] is not first and AUGMENTATIONS[name].__code__.co_firstlineno == 3
    finally:
        AUGMENTATIONS.pop(name, None)


_DATASET_CELL = """
from citrus_hf.data.registry import register_dataset

@register_dataset(name="audit68_cell", description="mine", task="classification", sources=(), splits="by subject")
def build(options, context):
    return None
"""


def test_a_dataset_registered_again_by_its_cell_replaces_its_entry_and_another_is_refused():
    """The data registry refused its own cell run twice ("Two datasets are registered as ..."), which the other
    registries take."""
    import citrus_hf.data  # noqa: F401
    from citrus_hf.data import CitrusDataError
    from citrus_hf.data.registry import DATASETS, register_dataset

    cell: dict = {"__name__": "audit68_notebook"}
    try:
        exec(_DATASET_CELL, cell)  # noqa: S102  (a notebook cell, run twice)
        exec(_DATASET_CELL, cell)  # noqa: S102
        assert DATASETS["audit68_cell"].builder is cell["build"]
        fields = dict(description="other", task="classification", sources=(), splits="by subject")
        with pytest.raises(CitrusDataError, match="Two datasets are registered as 'audit68_cell'"):
            register_dataset(name="audit68_cell", **fields)(lambda options, context: None)
        with pytest.raises(CitrusDataError, match="Two datasets are registered as 'basic_motions'"):
            register_dataset(name="basic_motions", **fields)(DATASETS["basic_motions"].builder)
    finally:
        DATASETS.pop("audit68_cell", None)


def _scaled(windows, lengths, generator, factor):
    return windows * factor


class _Flip:
    def __call__(self, windows, lengths, generator):
        return -windows


class _Keep:
    def __call__(self, windows, lengths, generator):
        return windows


@pytest.mark.parametrize(
    "first, second",
    [(functools.partial(_scaled, factor=2), functools.partial(_scaled, factor=3)), (_Flip(), _Keep())],
    ids=["partial", "callable-instance"],
)
def test_callables_without_a_qualified_name_do_not_replace_each_other(first, second):
    """A `functools.partial` (module "functools") or a callable instance has no qualified name: any two were taken
    for one definition run twice, and the second replaced the first without a word."""
    from citrus_hf.training.augment import AUGMENTATIONS, register_augmentation

    name = "audit68-callable"
    try:
        register_augmentation(name)(first)
        with pytest.raises(ValueError, match=f"'{name}' is already registered"):
            register_augmentation(name)(second)
        assert AUGMENTATIONS[name] is first
    finally:
        AUGMENTATIONS.pop(name, None)


_GENERATOR_CELL = """
import numpy as np
from citrus_hf.data.synthetic import SyntheticGenerator, register_generator

@register_generator
class Audit68Generator(SyntheticGenerator):
    name = "audit68-generator"
    modality = "eeg"
    version = 1

    def generate(self, rng, sampling_rate, length):
        return rng.standard_normal((1, length))
"""


def test_a_generator_class_defined_again_replaces_its_entry_and_another_is_refused():
    from citrus_hf.data.synthetic import _GENERATORS, SyntheticGenerator, register_generator

    cell: dict = {"__name__": "audit68_notebook"}
    try:
        exec(_GENERATOR_CELL, cell)  # noqa: S102  (a notebook cell, run twice)
        exec(_GENERATOR_CELL, cell)  # noqa: S102
        assert _GENERATORS["audit68-generator"] is cell["Audit68Generator"]

        class Audit68Generator(SyntheticGenerator):  # another definition (this module's) under the same name
            name = "audit68-generator"

        with pytest.raises(ValueError, match="'audit68-generator' is already registered"):
            register_generator(Audit68Generator)
        with pytest.raises(ValueError, match="'ecg' is already registered"):  # the package's own stays its own
            register_generator(_GENERATORS["ecg"])
    finally:
        _GENERATORS.pop("audit68-generator", None)


# ------------------------------------------------------------------------------- 5. citrus evaluate --class-weight


def _imbalanced_set(folder) -> str:
    """A save_to_disk set of 1-channel 2 s windows at 100 Hz, 9 of class 0 and 3 of class 1 in train."""
    rng = np.random.default_rng(0)
    t = np.arange(200) / 100.0
    parts = {}
    for split, labels in {"train": [0] * 9 + [1] * 3, "test": [0, 0, 1, 1]}.items():
        rows = [(np.sin(2 * np.pi * (3 + 4 * c) * t) + 0.3 * rng.standard_normal(200))[None] for c in labels]
        parts[split] = datasets.Dataset.from_dict(
            {
                "input_values": [r.astype(np.float32) for r in rows],
                "label": labels,
                "sampling_rate": [100.0] * len(labels),
            }
        )
    datasets.DatasetDict(parts).save_to_disk(str(folder))
    return str(folder)


def test_evaluate_weighs_the_classes_of_an_imbalanced_draw(tmp_path, monkeypatch):
    """`--budgets all` (or a fraction) hands a set's imbalance to the recipe as it is: finetune had --class-weight for
    it, evaluate had none."""
    from citrus_hf.evaluation import ProtocolConfig, run_protocol
    from citrus_hf.training.recipes import RECIPES

    given = []
    probe = type(RECIPES["probe"])
    fit = probe.fit

    def recorded(self, *args, **kwargs):
        given.append(kwargs.get("class_weights"))
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(probe, "fit", recorded)
    settings = dict(
        datasets=[_imbalanced_set(tmp_path / "set")],
        arms=["citrus-scratch"],
        recipe="probe",
        budgets=["all"],
        seeds=[0],
        model_config="tiny",
        config_overrides={"sampling_rate": 100.0, "context_length": 200, "patch_length": 20},
        show_progress=False,
    )
    weighted = ProtocolConfig(output_dir=str(tmp_path / "weighted"), class_weight="balanced", **settings)
    run_protocol(weighted)
    assert given.pop() == pytest.approx([12 / 18, 2.0])
    plain = ProtocolConfig(output_dir=str(tmp_path / "plain"), **settings)
    run_protocol(plain)
    assert given.pop() is None
    # a run recorded under one weighting is not reused under the other
    assert weighted.run_signatures() != plain.run_signatures()
    with pytest.raises(ValueError, match="class_weight must be one of"):
        ProtocolConfig(output_dir=str(tmp_path / "bad"), class_weight="balance", **settings)


# -------------------------------------------------------------------------------- 6. citrus predict --start-time


def _predict_folder(tmp_path):
    from tiny_configs import save_tiny_classifier

    folder = save_tiny_classifier(tmp_path / "model")
    np.save(tmp_path / "night.npy", np.random.default_rng(0).standard_normal((1, 600)).astype(np.float32))
    return ["predict", str(folder), str(tmp_path / "night.npy"), "--sampling-rate", "100", "--backend", "torch"]


def test_predict_puts_a_recording_without_a_start_on_the_clock_it_is_given(tmp_path):
    """A .npy (or WAV, or a CSV without a time column) records no start: its windows were reported from 0 only, with
    no way to give the clock time its first sample was taken at."""
    import csv
    import json

    from citrus_hf.commands.main import main

    argv = [*_predict_folder(tmp_path), "--start-time", "2025-03-01T22:15:00+01:00"]
    assert main([*argv, "--output", str(tmp_path / "w.csv")]) == 0
    with open(tmp_path / "w.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["start_time"] for row in rows] == [
        "2025-03-01T22:15:00.000+01:00",
        "2025-03-01T22:15:02.000+01:00",
        "2025-03-01T22:15:04.000+01:00",
    ]
    assert main([*argv, "--output", str(tmp_path / "w.jsonl")]) == 0
    line = json.loads((tmp_path / "w.jsonl").read_text())
    assert line["recording_start"] == "2025-03-01T22:15:00.000+01:00"


def test_predict_refuses_a_start_time_it_cannot_place(tmp_path, capsys):
    from citrus_hf.commands.main import main

    argv = _predict_folder(tmp_path)
    np.save(tmp_path / "other.npy", np.zeros((1, 600), dtype=np.float32))
    stamps = 1_740_819_600_000 + np.arange(600) * 10.0  # milliseconds since 1970, at 100 Hz
    values = np.random.default_rng(1).standard_normal(600)
    lines = ["timestamp_ms,ax", *(f"{stamp:.0f},{value:.6f}" for stamp, value in zip(stamps, values, strict=True))]
    (tmp_path / "phone.csv").write_text("\n".join(lines) + "\n")
    timed = [*argv[:2], str(tmp_path / "phone.csv"), *argv[3:]]
    for given, message in (
        ([*timed, "--start-time", "2025-03-01T22:15:00"], r"phone\.csv records its own start \(2025-03-01T09:00"),
        ([*argv, "--start-time", "22:15"], r"--start-time '22:15'.*ISO 8601.*2025-03-01T22:15:00"),
        (
            [*argv[:3], str(tmp_path / "other.npy"), *argv[3:], "--start-time", "2025-03-01T22:15:00"],
            r"--start-time is the start of one recording, and 2 are given",
        ),
    ):
        assert main(given) == 2
        error = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
        assert len(error) == 1 and re.search(message, error[0]), error
