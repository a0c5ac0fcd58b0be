"""Session 79 mutation audit of the low-data protocol (evaluation.protocol, arms, baselines, records, settings,
multimodal) and fusion: each test pins a wrong answer that the suite did not notice (a mutant that survived the tests
covering its function). Hand-computed expectations are in the comments."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

# ------------------------------------------------------------------------------------------ shared draws of all arms


def _recorder_arm(name, calls):
    """An arm that scores like the prior and records the training-pool rows (`chosen`) each run was given."""
    from citrus_hf.evaluation.arms import Arm
    from citrus_hf.training.metrics import classification_metrics

    class Recorder(Arm):
        def run(self, context, prepared, chosen, seed, run_dir):
            calls.append((self.name, seed, tuple(int(row) for row in chosen)))
            scores = np.zeros((len(context.scored_labels()), context.num_classes))
            return {"test": classification_metrics(scores, context.scored_labels()), "test_outputs": scores}

    arm = Recorder()
    arm.name, arm.description = name, "records its draw"
    return arm


def test_every_arm_of_a_budget_and_seed_fits_on_the_same_draw_and_seeds_draw_anew(tmp_path, monkeypatch):
    """Paired gaps compare arms fitted on the same labelled examples: the protocol draws once per (budget, seed) and
    hands that draw to every arm; another seed draws other examples; `n_train` and `budget_order` are the draw's size
    and the budget's rank among the budgets sorted. A draw per arm, or one draw for every seed, went unnoticed."""
    from citrus_hf.evaluation import ProtocolConfig, run_protocol
    from citrus_hf.evaluation.arms import ARMS

    calls = []
    for name in ("audit79-a", "audit79-b"):
        monkeypatch.setitem(ARMS, name, _recorder_arm(name, calls))
    config = ProtocolConfig(
        output_dir=str(tmp_path / "eval"),
        datasets=["basic_motions"],
        budgets=["2", "1"],
        seeds=[0, 1],
        arms=["audit79-a", "audit79-b"],
        resume=False,
        show_progress=False,
    )
    runs = run_protocol(config).runs
    draws = {}
    for arm, seed, rows in calls:
        draws.setdefault((len(rows), seed), {})[arm] = rows
    # basic_motions has 4 classes: budget 1 -> 4 rows, budget 2 -> 8 rows; 2 budgets x 2 seeds
    assert sorted(draws) == [(4, 0), (4, 1), (8, 0), (8, 1)]
    for per_arm in draws.values():
        assert per_arm["audit79-a"] == per_arm["audit79-b"]  # the same rows, in the same order
    assert set(draws[(8, 0)]["audit79-a"]) != set(draws[(8, 1)]["audit79-a"])
    assert {(run["budget"], run["budget_order"], run["n_train"]) for run in runs} == {
        ("1/class", 0, 4),
        ("2/class", 1, 8),
    }


# ------------------------------------------------------------------------------------------------ the arms' runs


def _context(pool_labels, scored_labels, class_weight="none", task="classification", num_classes=4):
    """A stand-in of `DatasetContext` with what `MiniRocketArm.run`, `PriorArm.run` and `fitting_options` read."""
    return SimpleNamespace(
        pool_labels=np.asarray(pool_labels),
        task=task,
        num_classes=num_classes,
        config=SimpleNamespace(class_weight=class_weight),
        scored_labels=lambda: np.asarray(scored_labels),
        splits=SimpleNamespace(task=task, label_names=[f"c{k}" for k in range(num_classes)]),
    )


def test_the_prior_scores_the_draws_log_frequencies_over_every_class():
    """The prior's scores are log class frequencies of the draw, one column per class of the set (a class absent from
    the draw scores log(1e-12)); its regression prediction is the draw's mean, not its median."""
    from citrus_hf.evaluation.arms import ARMS

    pool = np.array([0, 0, 0, 1, 2, 2, 3, 3])
    context = _context(pool, scored_labels=[0, 1, 2])
    outcome = ARMS["prior"].run(context, None, np.array([0, 1, 2, 3]), 0, None)  # draw: classes 0, 0, 0, 1
    expected = np.log(np.array([0.75, 0.25, 0.0, 0.0]) + 1e-12)
    np.testing.assert_allclose(outcome["test_outputs"], np.tile(expected, (3, 1)))
    regression = _context(np.array([1.0, 2.0, 9.0]), scored_labels=[0.0, 0.0], task="regression")
    outcome = ARMS["prior"].run(regression, None, np.array([0, 1, 2]), 0, None)
    np.testing.assert_allclose(outcome["test_outputs"], [4.0, 4.0])  # (1 + 2 + 9) / 3; the median would be 2


class _SpyFit:
    """Stands in for `baselines.fit_minirocket`, keeping what the arm gave it."""

    def __init__(self):
        self.given = None

    def __call__(self, train, labels, test, task, seed, num_classes=None, class_weight=None):
        self.given = dict(train=train, labels=labels, num_classes=num_classes, class_weight=class_weight)
        return np.zeros((len(test), num_classes or 2))


def test_minirocket_arm_fits_the_drawn_rows_with_their_own_labels_every_class_and_the_weighting(monkeypatch):
    """Row i of the series MiniRocket fits on is the pool's row chosen[i] and label i its label; it scores every
    class of the set (`num_classes`, so a class missing from the draw still has a column) and takes
    `--class-weight balanced` to its ridge."""
    from citrus_hf.evaluation import baselines
    from citrus_hf.evaluation.arms import ARMS

    spy = _SpyFit()
    monkeypatch.setattr(baselines, "fit_minirocket", spy)
    pool_series = np.arange(8, dtype=np.float64)[:, None, None] * np.ones((8, 1, 9))  # row r is all r
    prepared = {"pool": pool_series, "scored": np.zeros((3, 1, 9))}
    pool = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    chosen = np.array([5, 0, 4])  # not sorted: rows 5, 0, 4 of classes 2, 0, 1
    context = _context(pool, scored_labels=[0, 1, 3], class_weight="balanced")
    ARMS["minirocket"].run(context, prepared, chosen, 0, None)
    np.testing.assert_array_equal(spy.given["train"][:, 0, 0], [5.0, 0.0, 4.0])
    np.testing.assert_array_equal(spy.given["labels"], [2, 0, 1])
    assert spy.given["num_classes"] == 4 and spy.given["class_weight"] == "balanced"


def test_class_weights_are_those_of_the_draw_not_of_the_pool():
    """`--class-weight balanced` weighs the classes of the labelled draw: n / (classes x count) over its rows.
    Draw [0, 0, 0, 1] of 2 classes: 4 / (2 x 3) = 2/3 and 4 / (2 x 1) = 2; the whole pool [0, 0, 0, 1, 1, 1] would
    give 1 and 1."""
    from citrus_hf.evaluation.arms import fitting_options

    context = _context([0, 0, 0, 1, 1, 1], scored_labels=[0, 1], class_weight="balanced", num_classes=2)
    context.for_fitting = lambda validation: None
    _, options = fitting_options(context, np.array([0, 1, 2, 3]), None)
    np.testing.assert_allclose(np.asarray(options["class_weights"], dtype=float), [2 / 3, 2.0])


def test_num_classes_without_label_names_counts_the_scored_split_too():
    """A set without label names has one class past the largest label of the pool and the scored split: a class
    only the scored split holds must still be a column the arms score."""
    from citrus_hf.evaluation.arms import DatasetContext

    splits = SimpleNamespace(label_names=None, labels=lambda split: np.array([0, 4]))
    context = DatasetContext("own", splits, np.array([0, 1, 2]), {}, "auto", SimpleNamespace())
    assert context.num_classes == 5  # max(2, 4) + 1


def test_the_registered_arms_are_the_models_their_names_promise():
    """Each pre-trained arm is paired with its from-scratch twin of the same backbone, which starts from random
    weights; `citrus-scratch-finetune` is fully fine-tuned; `minirocket-raw` reads the raw values."""
    from citrus_hf.evaluation.arms import ARMS, CiTrusArm

    assert ARMS["citrus-small"].scratch_counterpart == "citrus-scratch"
    for name, arm in ARMS.items():
        if isinstance(arm, CiTrusArm) and arm.scratch_counterpart:
            twin = ARMS[arm.scratch_counterpart]
            assert not twin.pretrained and twin.backbone == arm.backbone and twin.recipe == arm.recipe, name
    assert ARMS["citrus-scratch-finetune"].recipe == "finetune" and not ARMS["citrus-scratch-finetune"].pretrained
    assert not ARMS["minirocket-raw"].normalized


# ------------------------------------------------------------------------------------------------------ records


def test_evaluate_summary_rows_become_records_field_by_field():
    """Each `<metric>_mean` of a summary row is one record: its own std (`<metric>_std`) and seed count
    (`<metric>_seeds`, else the row's `seeds`), the row's `n_train` as label budget, the arm as method unless it is
    the model's, the recordings only for a per-recording metric, a non-finite mean left out; a row without
    `scored_on` takes its dataset's runs' split (runs of other datasets do not count)."""
    from citrus_hf.evaluation.records import parse_eval_results

    summary = [
        {
            "dataset": "hr_ecg",
            "arm": "citrus-small",
            "n_train": 5,
            "seeds": 3,
            "mae_mean": 4.0,
            "mae_std": 0.5,
            "mae_seeds": 2,
            "rmse_mean": float("nan"),
            "recording_mae_mean": 3.0,
            "recording_mae_std": 0.25,
            "scored_recordings": 7,
        },
        {"dataset": "hr_ecg", "arm": "minirocket", "n_train": 5, "seeds": 3, "mae_mean": 6.0, "mae_std": 1.0},
    ]
    runs = [{"dataset": "hr_ecg", "scored_on": "validation"}, {"dataset": "other", "scored_on": "test"}]
    records = parse_eval_results({"summary": summary, "runs": runs}, model_arm="citrus-small")
    by_key = {(record.method, record.metric): record for record in records}
    assert sorted(by_key, key=str) == sorted(
        [(None, "mae"), (None, "recording_mae"), ("minirocket", "mae")], key=str
    )  # rmse's NaN mean is no record
    mine = by_key[(None, "mae")]
    assert (mine.value, mine.std, mine.seeds, mine.label_budget, mine.recordings) == (4.0, 0.5, 2, 5, None)
    assert by_key[(None, "recording_mae")].recordings == 7 and by_key[(None, "recording_mae")].std == 0.25
    assert by_key[("minirocket", "mae")].seeds == 3  # no mae_seeds: the row's seeds
    assert {record.split for record in records} == {"validation"}
    with pytest.raises(ValueError, match="pool runs scored on the test/validation splits"):
        parse_eval_results({"summary": summary[1:], "runs": [{"dataset": "hr_ecg", "scored_on": "test"}, *runs]})
    # runs recorded before `scored_on` existed were scored on test
    assert {r.split for r in parse_eval_results({"summary": summary[1:], "runs": [{"dataset": "hr_ecg"}]})} == {"test"}


# ---------------------------------------------------------------------------------------- protocol's small parts


def test_a_draw_of_windows_is_named_by_the_examples_they_were_cut_from():
    """`draw_digest(chosen, examples)` names the drawn rows' examples too, so a run drawn on windows before budgets
    counted examples (same rows, other examples) is not reused."""
    from citrus_hf.evaluation.protocol import draw_digest

    chosen = np.array([0, 2])
    assert draw_digest(chosen, np.array([0, 0, 1, 1])) != draw_digest(chosen)
    assert draw_digest(chosen, np.array([0, 0, 1, 1])) != draw_digest(chosen, np.array([0, 1, 2, 3]))


def test_a_changed_validation_split_changes_the_data_a_run_was_fitted_on():
    """`_data_fingerprint` covers every split: a validation split of other rows (what `--select-on-validation` runs
    early-stop on) is other data; a run recorded without `data` is reused for a registered set only."""
    from citrus_hf.evaluation.protocol import _data_fingerprint, _same_data

    def splits(validation):
        return SimpleNamespace(train=SimpleNamespace(_fingerprint="t"), validation=validation, test=SimpleNamespace())

    assert _data_fingerprint(splits(SimpleNamespace(_fingerprint="v1"))) != _data_fingerprint(
        splits(SimpleNamespace(_fingerprint="v2"))
    )
    assert _same_data({}, SimpleNamespace(name="basic_motions", data="x"))
    assert not _same_data({}, SimpleNamespace(name=str(Path(__file__).parent), data="x"))  # a folder of one's own


def test_pre_training_arguments_carry_the_arms_objective_and_the_protocols_seed(tmp_path, monkeypatch):
    """The protocol pre-trains each `citrus-<objective>` arm with its objective and `pretrain_seed`, and reuses a
    finished pre-training only with the same seed (`_matching_run`)."""
    from citrus_hf.evaluation import ProtocolConfig, protocol
    from citrus_hf.evaluation.arms import ARMS

    config = ProtocolConfig(
        output_dir=str(tmp_path), datasets=["basic_motions"], arms=["citrus-fourier"], pretrain_seed=7
    )
    arguments = protocol._pretrain_arguments(config, ARMS["citrus-fourier"], tmp_path / "p")
    assert arguments.seed == 7 and arguments.config_overrides["pretraining_objective"] == "fourier"
    saved = json.loads(json.dumps(asdict(arguments), default=str))
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / protocol.SUMMARY_FILE).write_text(json.dumps({"arguments": {**saved, "seed": 8}}))
    monkeypatch.setattr(protocol, "is_pretrained_model_dir", lambda folder: True)  # (no weights needed here)
    assert not protocol._matching_run(tmp_path / "p", arguments)
    (tmp_path / "p" / protocol.SUMMARY_FILE).write_text(json.dumps({"arguments": saved}))
    assert protocol._matching_run(tmp_path / "p", arguments)


# ------------------------------------------------------------------------------------------------------ fusion


def test_a_fusion_modality_read_from_all_layers_pools_every_layers_states():
    """A modality whose config reads `head_features="all_layers"` pools its encoder's hidden states of every layer,
    as the single-modality model does: the fused embedding is each modality's own pooled vector, concatenated."""
    from tiny_configs import tiny_config

    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification

    torch.manual_seed(0)
    config = CiTrusFusionConfig(
        modality_configs={"ecg": tiny_config(head_features="all_layers"), "resp": tiny_config()}, num_labels=2
    )
    model = CiTrusFusionForSequenceClassification(config).eval()
    inputs = {"ecg": torch.randn(2, 1, 200), "resp": torch.randn(2, 1, 200)}
    with torch.no_grad():
        fused = model.embed(inputs)
        ecg = model.encoders["ecg"](inputs["ecg"], output_hidden_states=True, return_dict=True)
        expected = model.poolers["ecg"](ecg)
    assert fused.shape == (2, model.embedding_size)
    torch.testing.assert_close(fused[:, : expected.shape[1]], model.embedding_norms["ecg"](expected))


def test_a_fusion_model_of_encoders_of_several_dtypes_takes_the_widest():
    """`from_encoders` without `dtype` builds the model in the widest of its encoders' dtypes (bf16 + float32 ->
    float32, whichever comes first), so no encoder is narrowed silently."""
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusModel
    from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification

    narrow, wide = CiTrusModel(tiny_config()).to(torch.bfloat16), CiTrusModel(tiny_config())
    model = CiTrusFusionForSequenceClassification.from_encoders({"ecg": narrow, "resp": wide}, num_labels=2)
    assert model.dtype == torch.float32 and model.encoders["resp"].dtype == torch.float32


# ------------------------------------------------------------------------------------------------------ baselines


def test_patchtst_sees_the_citrus_patches_unscaled_and_the_observed_mask_per_patch():
    """PatchTST's patches are CiTrus's (stride = patch length, no instance scaling: the windows come normalised), and
    `observed_mask` repeats each patch's flag over its samples: patch mask [1, 0] of patches of 3 -> 1 1 1 0 0 0."""
    from tiny_configs import tiny_config

    from citrus_hf.evaluation.baselines import observed_mask, patchtst_config

    config = patchtst_config(tiny_config(), num_channels=2)
    assert config.patch_stride == config.patch_length == 20 and config.scaling in (None, False)
    mask = observed_mask(torch.tensor([[1, 0]]), patch_length=3, num_channels=2)
    assert mask.shape == (1, 6, 2)
    assert mask[0, :, 0].tolist() == [True, True, True, False, False, False] and torch.equal(mask[..., 0], mask[..., 1])


def test_rows_of_several_rates_are_counted_over_every_split_and_brought_to_the_most_common_rate():
    """MiniRocket sees a set of several rates at the most common rate over all its splits (of equally common ones, the
    lowest): train 2 rows at 100 Hz + 1 at 50 Hz, test 2 at 50 Hz -> 50 Hz 3, 100 Hz 2 -> 50 Hz."""
    import datasets

    from citrus_hf.evaluation.baselines import common_sampling_rate, sampling_rate_counts

    train = datasets.Dataset.from_dict({"sampling_rate": [100.0, 100.0, 50.0]})
    test = datasets.Dataset.from_dict({"sampling_rate": [50.0, 50.0]})
    counts = sampling_rate_counts(train, None, test)
    assert counts == {50.0: 3, 100.0: 2}
    assert common_sampling_rate(counts) == 50.0
    assert common_sampling_rate({100.0: 4, 50.0: 1, 250.0: 1}) == 100.0
    assert common_sampling_rate({100.0: 2, 50.0: 2}) == 50.0
