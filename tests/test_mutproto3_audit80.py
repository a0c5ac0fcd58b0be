"""Session 80 mutation audit of the low-data protocol, third round (evaluation.protocol and arms): each test pins a
wrong answer that the tests covering its function did not notice (a mutant that survived them, most covered before
only by whole protocol runs). Hand-computed expectations are in the comments."""

from __future__ import annotations

import importlib
import json
from types import SimpleNamespace

import numpy as np
import pytest
from tiny_configs import tiny_config

# ------------------------------------------------------------------------------------ what a resume reuses


def _windowed_regression_folder(folder):
    """A regression set of one's own (save_to_disk): 8 train and 4 test 2-channel 2-second recordings at 100 Hz, one
    target each; `window_seconds=1` cuts each into 2 windows of one labelled example."""
    import datasets

    rng = np.random.default_rng(0)

    def rows(count):
        values = [rng.standard_normal((2, 200)).astype(np.float32) for _ in range(count)]
        return {"input_values": values, "sampling_rate": [100.0] * count, "target": rng.uniform(50, 90, count).tolist()}

    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(rows(8)), "test": datasets.Dataset.from_dict(rows(4))}
    ).save_to_disk(str(folder))
    return str(folder)


def test_a_resume_reuses_a_run_only_with_its_draw_of_examples_its_data_and_its_sets_signature(tmp_path, monkeypatch):
    """A resumed protocol reuses a recorded run only where it was fitted on the examples drawn now (`draw`: on a
    windowed set the digest names the drawn windows' examples too, so a run recorded when the digest named the rows
    alone is fitted again) and on the data the set holds now (`data`); a run signed with the settings' signature
    (recorded before runs carried their set's own: here a regression set under --class-weight balanced, which its
    own signature leaves out) is its run still, and reused."""
    from citrus_hf.data.splits import draw_budget, parse_budget
    from citrus_hf.evaluation import ProtocolConfig, protocol, run_protocol
    from citrus_hf.evaluation.protocol import _dataset_context, draw_digest

    def report(runs, output_dir, metadata, title):  # (the report's table and plot are not what is checked)
        (output_dir / "results.md").write_text(title)
        return {"markdown": output_dir / "results.md"}

    monkeypatch.setattr(protocol, "write_report", report)
    folder = _windowed_regression_folder(tmp_path / "mine")
    config = ProtocolConfig(
        output_dir=str(tmp_path / "evaluation"),
        datasets=[folder],
        dataset_options={folder: {"window_seconds": 1.0}},
        budgets=["2"],
        seeds=[0],
        arms=["prior"],
        class_weight="balanced",
        show_progress=False,
    )
    runs_path = tmp_path / "evaluation" / "runs.jsonl"
    (recorded,) = run_protocol(config).runs
    context = _dataset_context(config, folder)
    examples = context.splits.examples()
    assert examples is not None and len(examples) == 16  # 8 recordings, 2 windows each
    chosen = draw_budget(context.pool_labels, parse_budget("2"), 0, groups=examples)
    assert recorded["draw"] == draw_digest(chosen, examples) != draw_digest(chosen)

    def refitted(**changed) -> bool:
        runs_path.write_text(json.dumps({**recorded, **changed}) + "\n")
        run_protocol(config)
        return len(runs_path.read_text().splitlines()) == 2  # a refit appends its run

    assert config.run_signatures()["prior"] != recorded["signature"]
    assert not refitted(signature=config.run_signatures()["prior"])  # the settings' signature: still its run
    assert refitted(draw=draw_digest(chosen))  # the rows' digest alone: drawn when budgets counted windows
    assert refitted(data="0" * 16)  # another set's contents


def _rate_recorder_arm(name, seen):
    """An arm that reads the rows as they are (`protocol._reads_rows`: it learns, and is no CiTrus or PatchTST arm),
    records each split's sampling rates and row lengths that `prepare` is given, and scores as the prior."""
    from citrus_hf.evaluation.arms import Arm
    from citrus_hf.training.metrics import regression_metrics

    class RateRecorder(Arm):
        def prepare(self, context, checkpoint):
            for role in ("train", "test"):
                split = getattr(context.splits, role)
                lengths = {np.asarray(values).shape[-1] for values in split["input_values"]}
                seen[role] = (set(split["sampling_rate"]), lengths)

        def run(self, context, prepared, chosen, seed, run_dir):
            targets = context.scored_labels()
            predictions = np.full(len(targets), float(np.mean(context.pool_labels[chosen])))
            return {"test": regression_metrics(predictions, targets), "test_outputs": predictions}

    arm = RateRecorder()
    arm.name, arm.description = name, "records the rates it reads"
    return arm


def test_an_arm_reading_the_rows_at_their_own_rate_gets_every_split_at_the_most_common_rate(tmp_path, monkeypatch):
    """In a protocol run, an arm that reads the rows themselves (MiniRocket) gets the set's training and test rows at
    one rate, the most common one (100 Hz: 6 of 8 training rows), not the rows as stored: the protocol hands it the
    resampled copy of the set (`_at_one_rate`), so a 200 Hz row is not taken for a slower signal twice as long."""
    import datasets

    from citrus_hf.evaluation import ProtocolConfig, run_protocol
    from citrus_hf.evaluation.arms import ARMS

    rng = np.random.default_rng(0)

    def rows(rates):
        values = [rng.standard_normal((2, int(rate))).astype(np.float32) for rate in rates]  # one second each
        return {"input_values": values, "sampling_rate": rates, "target": rng.uniform(50, 90, len(rates)).tolist()}

    folder = str(tmp_path / "two_rates")
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(rows([100.0] * 6 + [200.0] * 2)),
            "test": datasets.Dataset.from_dict(rows([100.0, 200.0])),
        }
    ).save_to_disk(folder)
    seen = {}
    monkeypatch.setitem(ARMS, "audit80-rates", _rate_recorder_arm("audit80-rates", seen))
    config = ProtocolConfig(
        output_dir=str(tmp_path / "evaluation"),
        datasets=[folder],
        budgets=["2"],
        seeds=[0],
        arms=["audit80-rates"],
        show_progress=False,
    )
    run_protocol(config)
    assert seen == {"train": ({100.0}, {100}), "test": ({100.0}, {100})}


# ------------------------------------------------------------------------------------- the protocol's small parts


def test_runs_read_the_validation_split_when_scored_on_it_or_selecting_on_it():
    """`_reads_validation`: either setting reads it (a set of one's own then carves a validation split out of train)."""
    from citrus_hf.evaluation.protocol import _reads_validation

    assert _reads_validation(SimpleNamespace(score_split="test", select_on_validation=True))
    assert _reads_validation(SimpleNamespace(score_split="validation", select_on_validation=False))
    assert not _reads_validation(SimpleNamespace(score_split="test", select_on_validation=False))


def test_an_arm_returning_percentages_is_refused():
    """Classification metrics are fractions in [0, 1]: an arm of one's own returning 50 (percent) is refused."""
    from citrus_hf.evaluation.protocol import _checked_outcome

    fractions = {"accuracy": 0.5, "balanced_accuracy": 0.5, "macro_f1": 0.5, "auroc": 0.5}
    assert _checked_outcome("prior", {"test": fractions}, "classification", reserved=()) == fractions
    with pytest.raises(ValueError, match=r"accuracy=50.0: metrics are fractions in \[0, 1\]"):
        _checked_outcome("prior", {"test": {**fractions, "accuracy": 50.0}}, "classification", reserved=())


def test_a_run_recorded_before_runs_named_their_alignment_was_resampled_under_auto():
    """A run without `alignment` was aligned by the setting given, "resample" where that is the default "auto"."""
    from citrus_hf.evaluation.protocol import _same_alignment

    config = SimpleNamespace(alignment={})  # the default, "auto"
    assert _same_alignment({}, {"alignment": "resample"}, config, "set")
    assert not _same_alignment({}, {"alignment": "interpolate"}, config, "set")
    assert _same_alignment({}, {"alignment": "interpolate"}, SimpleNamespace(alignment={"set": "interpolate"}), "set")


def test_a_cut_last_line_of_runs_jsonl_is_dropped_from_the_file(tmp_path, caplog):
    """A last line cut short (a killed run) is dropped from runs.jsonl, not only skipped: kept, the next run was
    appended after it, and the next resume refused the file (a broken line no longer last)."""
    from citrus_hf.evaluation.protocol import _load_previous

    run = {"dataset": "d", "task": "classification", "arm": "prior", "budget": "1/class", "budget_order": 0}
    run |= {"seed": 0, "n_train": 4, "signature": "s"}
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps(run) + "\n" + '{"dataset": "d", "ar')
    assert list(_load_previous(path, {"prior": {"s"}})) == [("d", "prior", "1/class", 0, "s")]
    assert path.read_text() == json.dumps(run) + "\n"


def test_a_set_without_a_rate_column_takes_the_rate_given(tmp_path):
    """`--sampling-rate` (one number, or NAME=HZ) is the rate of a set without a `sampling_rate` column."""
    import datasets

    from citrus_hf.evaluation.protocol import dataset_sampling_rate

    folder = str(tmp_path / "no_rate")
    rows = {"input_values": [np.zeros((1, 20), np.float32)] * 2, "label": [0, 1]}
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows)}).save_to_disk(folder)
    for rates in (10.0, {folder: 10.0}):
        config = SimpleNamespace(sampling_rate=rates, dataset_options={}, train_split={})
        assert dataset_sampling_rate(config, folder) == 10.0


def test_trainer_settings_without_effect_are_told_only_when_no_run_trained(monkeypatch):
    """A given learning rate is said to have had no effect only when no run took an optimizer step: one run of the
    fine-tuning recipe beside probe runs used it."""
    from citrus_hf.evaluation import ProtocolConfig, protocol

    told = []
    monkeypatch.setattr(protocol, "warn_without_effect", lambda names, why: told.append(names))
    config = ProtocolConfig(datasets=["basic_motions"], arms=["citrus-small"], finetune={"learning_rate": 3e-5})
    protocol._warn_unused_trainer_settings(config, [{"recipe": "probe"}, {"recipe": "finetune"}])
    assert told == []
    protocol._warn_unused_trainer_settings(config, [{"recipe": "probe"}])
    assert told and "learning_rate" in str(told[0])


def test_a_reused_run_keeps_its_own_reason_for_having_no_recording_scores():
    """A reused run that says why it has no per-recording scores keeps that line; only a run recorded before runs
    said it gets one (here the set's own reason)."""
    from citrus_hf.evaluation.protocol import _as_reused

    context = SimpleNamespace(labelled_recordings=lambda: (None, "the set names no recordings"))
    own = {
        "arm": "mine",
        "per_recording": "not scored per recording: its arm returned no test_outputs to score them by",
    }
    assert _as_reused(own, context) == own
    assert (
        _as_reused({"arm": "old"}, context)["per_recording"] == "not scored per recording: the set names no recordings"
    )


def _summary_checkpoint(folder, labelled_splits):
    """A checkpoint folder with only its pre-training summary: pre-trained on pretrain_corpus with `labelled_splits`,
    built with every set registered now (each held out at its version)."""
    from citrus_hf.data.registry import evaluation_sets
    from citrus_hf.training.pretrain import SUMMARY_FILE

    folder.mkdir()
    options = {"labelled_splits": labelled_splits}
    arguments = {"dataset": "pretrain_corpus", "dataset_options": options}
    (folder / SUMMARY_FILE).write_text(json.dumps({"arguments": arguments, "evaluation_sets": evaluation_sets()}))
    return str(folder)


@pytest.mark.parametrize(
    ("labelled_splits", "test_split", "counted"),
    [
        (["train"], "test", False),  # as built, its test split held out: nothing to count
        (["train", "test"], "test", True),  # the corpus let the test split join: its windows are counted
        (["train"], "validation", True),  # another split scored as test: counted
    ],
)
def test_a_pretrained_arms_scored_windows_are_counted_unless_the_corpus_held_them_out(
    tmp_path, monkeypatch, labelled_splits, test_split, counted
):
    """A registered set scored as built, with its scored split held out of the checkpoint's pretrain_corpus, is
    passed without counting its windows; a corpus whose `labelled_splits` let the scored split join, or another split
    named as the test split, has them counted (here none are found: the count is what is checked)."""
    from citrus_hf.data.sources import pretraining
    from citrus_hf.evaluation.protocol import _check_not_pretrained_on

    calls = []
    monkeypatch.setattr(pretraining, "examples_in_pretrain_corpus", lambda *a, **k: calls.append(a) or (0, []))
    checkpoint = _summary_checkpoint(tmp_path / "checkpoint", labelled_splits)
    config = SimpleNamespace(
        arms=["citrus-small"],
        dataset_options={},
        train_split={},
        test_split={"basic_motions": test_split},
        score_split="test",
        validation_fraction=None,
    )
    context = SimpleNamespace(name="basic_motions", score_split="test", scored=lambda: [])
    _check_not_pretrained_on(config, context, {"citrus-small": checkpoint})
    assert bool(calls) == counted


# ------------------------------------------------------------------------------------------------ the arms


def _context_of(score_split, select_on_validation=True):
    from citrus_hf.evaluation.arms import DatasetContext

    splits = SimpleNamespace(train="train rows", validation="validation rows", test="test rows")
    config = SimpleNamespace(select_on_validation=select_on_validation)
    return DatasetContext("set", splits, np.array([0, 1]), {}, "auto", config, score_split=score_split)


def test_runs_scored_on_validation_are_scored_on_it_and_never_fitted_on_it():
    """Scored on validation (choosing recipes): the scored split is validation, and no recipe early-stops on it even
    with `select_on_validation`; scored on test, that setting hands the recipes the validation split."""
    on_validation = _context_of("validation")
    assert on_validation.scored() == "validation rows" and on_validation.for_fitting("validation rows") is None
    on_test = _context_of("test")
    assert on_test.scored() == "test rows" and on_test.for_fitting("validation rows") == "validation rows"
    assert _context_of("test", select_on_validation=False).for_fitting("validation rows") is None


def test_a_contract_aligned_with_other_padding_is_aligned_anew(monkeypatch):
    """`DatasetContext.align` caches per input contract and padding: PatchTST's windows padded to the context
    ("max_length") are not CiTrus' kept at the recordings' own duration ("longest") of the same contract."""
    from citrus_hf.data import alignment
    from citrus_hf.evaluation.arms import DatasetContext

    monkeypatch.setattr(alignment, "task_feature_extractor", lambda contract, kind, padding, nan_policy: padding)
    monkeypatch.setattr(alignment, "aligned_length", lambda splits, extractor, rate: None)
    monkeypatch.setattr(alignment, "align_task_split", lambda split, extractor, *args, **kwargs: (split, extractor))
    splits = SimpleNamespace(
        train="train", validation="validation", test="test", task="classification", where=lambda role: (role, None)
    )
    config = SimpleNamespace(nan_policy="raise", sampling_rate=None)
    context = DatasetContext("set", splits, np.array([0, 1]), {}, "auto", config)
    contract = SimpleNamespace(
        sampling_rate=100.0, context_length=1000, patch_length=50, normalization=None,
        normalization_mean=None, normalization_std=None,
    )  # fmt: skip
    context.alignments[(100.0, 1000)] = "resample"
    assert context.align(contract)[0] == ("train", "longest")
    assert context.align(contract, padding="max_length")[0] == ("train", "max_length")


def test_the_cnn_and_transformer_arms_build_their_own_backbone():
    """cnn-scratch / transformer-scratch are the paper's CNN-only and transformer-only ablations, whatever the model
    config's backbone (hybrid)."""
    from citrus_hf.evaluation import ProtocolConfig
    from citrus_hf.evaluation.arms import ARMS

    for name, backbone in (("cnn-scratch", "cnn"), ("transformer-scratch", "transformer")):
        config = ProtocolConfig(datasets=["basic_motions"], arms=[name], model_config="tiny")
        assert ARMS[name].contract(config, None).backbone == backbone


class _Stop(Exception):
    """Raised by a stand-in once a fit has been handed what the test checks."""


def _arm_run_context(task, class_weight="none"):
    """A stand-in of `DatasetContext` of 8 training windows cut from 4 recordings (2 each), classes 0 0 1 1 by
    recording (regression: targets 1..8), and the settings an arm's `run` reads."""
    from citrus_hf.evaluation.settings import default_finetune_settings

    classification = task == "classification"
    examples = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    splits = SimpleNamespace(
        task=task,
        examples=lambda split=None: examples if split is None else None,
        num_channels=1,
        label_names=["a", "b"] if classification else [],
        target_names=None if classification else ["y"],
    )
    config = SimpleNamespace(
        recipe="auto", finetune=default_finetune_settings(), class_weight=class_weight, select_on_validation=False
    )
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1]) if classification else np.arange(1.0, 9.0)
    return SimpleNamespace(
        splits=splits, task=task, pool_labels=labels, overrides={}, config=config, for_fitting=lambda validation: None
    )


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_citrus_arm_fits_its_draw_with_the_runs_seed_and_counts_recordings_per_class(monkeypatch, task):
    """`CiTrusArm.run` on a draw of windows: "auto" reads the labelled recordings per class (1 each: 2 recordings of
    4 windows), not the windows (2); the model is built and fitted with the run's seed; the head's overrides and a
    regressor's bias read the drawn rows' labels (as `citrus finetune` gives them), not the whole pool's."""
    import transformers

    from citrus_hf.evaluation import arms

    finetune = importlib.import_module("citrus_hf.training.finetune")  # (the package's `finetune` is the function)
    seen = {}

    class Recipe:
        name = "stand-in"

        def head_overrides_for(self, labels, task):
            seen["head labels"] = labels.tolist()
            return {}

    class Model:
        def init_regressor_bias(self, labels):
            seen["bias labels"] = labels.tolist()

    def resolve(name, per_class, task):
        seen["per class"] = per_class
        return Recipe()

    def fit(recipe, model, train, validation, task, settings, run_dir, **options):
        seen["fit seed"] = settings.seed
        raise _Stop

    monkeypatch.setattr(arms, "resolve_recipe", resolve)
    monkeypatch.setattr(transformers, "set_seed", lambda seed: seen.setdefault("set_seed", seed))
    monkeypatch.setattr(finetune, "build_citrus_task_model", lambda *args, **kwargs: Model())
    monkeypatch.setattr(arms, "fit_recipe", fit)
    context = _arm_run_context(task)
    pool = SimpleNamespace(select=lambda rows: rows)
    prepared = {"aligned": (pool, None, None), "checkpoint": None, "contract": None, "model_overrides": {}}
    chosen = np.array([0, 1, 4, 5])  # recordings 0 (class 0) and 2 (class 1), 2 windows each
    with pytest.raises(_Stop):
        arms.ARMS["citrus-scratch"].run(context, prepared, chosen, 3, None)
    drawn = context.pool_labels[chosen].tolist()
    assert seen["per class"] == 1.0  # 1 recording per class (regression: 2 recordings / 2), not 2 windows
    assert seen["set_seed"] == 3 and seen["fit seed"] == 3
    assert seen["head labels"] == drawn
    if task == "regression":
        assert seen["bias labels"] == drawn == [1.0, 2.0, 5.0, 6.0]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_patchtst_arm_takes_weighted_labels_from_the_trainer_and_its_bias_from_the_draw(monkeypatch, task):
    """`PatchTSTArm.run`: under --class-weight balanced the collator hands the labels to the Trainer's weighted loss
    (`labels`), not to the model (`target_values`); a regressor's bias starts at the drawn targets, not the pool's."""
    import transformers

    from citrus_hf.evaluation import arms, baselines
    from citrus_hf.training import recipes

    finetune = importlib.import_module("citrus_hf.training.finetune")
    seen = {}

    class FineTune:
        def fit(self, model, train, validation, task, settings, run_dir, collator, label_names, **options):
            seen["label name"] = collator.label_name
            raise _Stop

    monkeypatch.setattr(transformers, "set_seed", lambda seed: None)
    monkeypatch.setattr(baselines, "build_patchtst_task_model", lambda *args: "model")
    monkeypatch.setattr(baselines, "regression_head", lambda model: "head")
    monkeypatch.setattr(finetune, "init_regression_bias", lambda head, labels: seen.setdefault("bias", labels.tolist()))
    monkeypatch.setitem(recipes.RECIPES, "finetune", FineTune())
    context = _arm_run_context(task, class_weight="balanced")
    pool = SimpleNamespace(select=lambda rows: rows)
    prepared = {"aligned": (pool, None, None), "checkpoint": None, "contract": SimpleNamespace(patch_length=8)}
    chosen = np.array([0, 1, 4, 5])
    with pytest.raises(_Stop):
        arms.ARMS["patchtst-scratch"].run(context, prepared, chosen, 0, None)
    if task == "classification":
        assert seen["label name"] == "labels"
    else:
        assert seen["label name"] == "target_values" and seen["bias"] == [1.0, 2.0, 5.0, 6.0]


def test_only_bundled_checkpoints_are_arms_with_weights_and_are_never_pretrained_here():
    """`arms_with_weights`: citrus-small (bundled), not the citrus-<objective> arms pre-trained here (which take every
    override); a bundled arm is never pre-trained by the protocol."""
    from citrus_hf.evaluation import ProtocolConfig
    from citrus_hf.evaluation.arms import ARMS, arms_with_weights

    config = ProtocolConfig(datasets=["basic_motions"], arms=["citrus-small", "citrus-fourier", "citrus-time"])
    assert arms_with_weights(config) == ["citrus-small"]
    assert not ARMS["citrus-small"].pretrainable and ARMS["citrus-fourier"].pretrainable


def test_a_loaded_model_takes_only_the_overrides_its_weights_allow():
    """A model loaded from weights takes the dropouts and head of `config_overrides`, not a size (d_model)."""
    from citrus_hf.evaluation.arms import loaded_model_overrides

    config = SimpleNamespace(config_overrides={"head_dropout": 0.3, "d_model": 64})
    assert loaded_model_overrides(config) == {"head_dropout": 0.3}


def test_a_twin_of_another_width_is_another_model():
    """`model_digest` covers the encoder's width: a from-scratch twin of another d_model is not paired."""
    from citrus_hf.evaluation.arms import model_digest, model_fields

    narrow, wide = tiny_config(), tiny_config(d_model=2 * tiny_config().d_model)
    assert model_fields(wide)["d_model"] == narrow.d_model * 2
    assert model_digest(narrow) != model_digest(wide)
