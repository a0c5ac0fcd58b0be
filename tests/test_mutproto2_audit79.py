"""Session 79 mutation audit of the evaluation layer, second round: the baselines' MiniRocket preparation, the fusion
model's head and processor, the multimodal picture protocol and the protocol's settings. Each test pins a wrong answer
that the tests covering its function did not notice (a mutant that survived them). Hand-computed expectations are in
the comments."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

# ------------------------------------------------------------------------------------------------------ MiniRocket


def _minirocket_context(train, test):
    """A stand-in of `DatasetContext` with what `MiniRocketArm.prepare` reads: the splits, the scored split and the
    CiTrus arms' normalisation of the set (the training pool's per-channel mean 10 and std 2)."""
    splits = SimpleNamespace(train=train, test=test, where=lambda split: (f"{split} split", None))
    return SimpleNamespace(
        splits=splits,
        score_split="test",
        scored=lambda: test,
        config=SimpleNamespace(nan_policy="raise"),
        overrides={"normalization": "fixed", "normalization_mean": [10.0], "normalization_std": [2.0]},
    )


def test_minirocket_raw_prepares_the_raw_values_and_minirocket_the_normalised_ones():
    """`minirocket` sees each window as the CiTrus arms' input ((x - 10) / 2: 12 -> 1), `minirocket-raw` the values
    the recording holds (12), in the training pool and the scored split alike."""
    import datasets

    from citrus_hf.evaluation.arms import ARMS

    train = datasets.Dataset.from_dict({"input_values": [[[12.0] * 9], [[8.0] * 9]]})
    test = datasets.Dataset.from_dict({"input_values": [[[14.0] * 9]]})
    context = _minirocket_context(train, test)
    normalised = ARMS["minirocket"].prepare(context, None)
    np.testing.assert_allclose(normalised["pool"][:, 0, 0], [1.0, -1.0])
    np.testing.assert_allclose(normalised["scored"][:, 0, 0], [2.0])
    raw = ARMS["minirocket-raw"].prepare(context, None)
    np.testing.assert_allclose(raw["pool"][:, 0, 0], [12.0, 8.0])
    np.testing.assert_allclose(raw["scored"][:, 0, 0], [14.0])


def test_minirocket_scores_a_class_missing_from_the_middle_of_the_draw_minus_infinity():
    """A draw of classes 0 and 2 of three: the decision scores go to columns 0 and 2 and class 1 scores -inf (its
    F1 is then 0, as for the other arms), not columns 0 and 1 with class 2 at -inf."""
    pytest.importorskip("aeon")
    from citrus_hf.evaluation.baselines import fit_minirocket

    rng = np.random.default_rng(0)
    train = rng.normal(size=(6, 1, 32))
    train[:3] += np.sin(np.arange(32) / 2.0)
    scores = fit_minirocket(train, np.array([0, 0, 0, 2, 2, 2]), train[[0, 5]], "classification", 0, num_classes=3)
    assert scores.shape == (2, 3) and np.isneginf(scores[:, 1]).all() and np.isfinite(scores[:, [0, 2]]).all()


# ------------------------------------------------------------------------------------------------------ fusion


def test_the_fusion_head_drops_out_as_its_config_says():
    """`CiTrusFusionConfig(head_dropout=0.3)`: the dropout on the fused embedding drops with p = 0.3 (in training, a
    fused embedding of ones comes out as zeros and 1 / 0.7)."""
    from tiny_configs import tiny_config

    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification

    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config()}, num_labels=2, head_dropout=0.3)
    model = CiTrusFusionForSequenceClassification(config).train()
    torch.manual_seed(0)
    dropped = model.dropout(torch.ones(10_000))
    assert torch.unique(dropped).tolist() == pytest.approx([0.0, 1 / 0.7])
    assert 0.25 < float((dropped == 0).float().mean()) < 0.35


def _extractor(rate, patch_length=20, context_length=200):
    from citrus_hf import CiTrusFeatureExtractor

    return CiTrusFeatureExtractor(sampling_rate=rate, patch_length=patch_length, context_length=context_length)


def test_the_common_window_of_the_modalities_is_the_span_nearest_the_seconds_asked():
    """Two encoders at 100 Hz with patches of 20 samples and a context of 200 take spans of 0.2, 0.4, ... 2 s; asked
    for 1.1 s, the nearest is 1 s (or 1.2 s, equally near: the first found, 1 s) = 100 samples each, not the first span
    that fits (0.2 s)."""
    from citrus_hf.processing_citrus_fusion import _common_max_length

    extractors = {"ecg": _extractor(100.0), "resp": _extractor(100.0)}
    assert _common_max_length(extractors, 1.1) == {"ecg": 100, "resp": 100}
    assert _common_max_length(extractors, 1.9) == {"ecg": 180, "resp": 180}


def test_a_setting_given_per_modality_applies_each_modality_its_own_value():
    """`{"ecg": 1, "resp": 2}` gives resp 2 (not the first modality's 1); a plain value applies to every modality."""
    from citrus_hf.processing_citrus_fusion import _modality_values

    options = {"max_length": {"ecg": 1, "resp": 2}, "padding": "longest"}
    assert _modality_values(options, "resp") == {"max_length": 2, "padding": "longest"}
    assert _modality_values(options, "ecg") == {"max_length": 1, "padding": "longest"}


def test_recording_durations_are_in_seconds():
    """500 samples at 250 Hz last 2 s (what the processor compares across modalities), not 500."""
    from citrus_hf.processing_citrus_fusion import _durations

    assert _durations(_extractor(250.0), [np.zeros((1, 500)), np.zeros((1, 250))], 250.0) == [2.0, 1.0]


def test_the_fusion_collator_keeps_regression_targets_and_masks_their_dtypes():
    """Float targets 0.5, 1.5 stay float32 (regression), not truncated to 0, 1; the patch mask is int64 and the windows
    float32."""
    from citrus_hf.processing_citrus_fusion import CiTrusFusionDataCollator

    rows = [
        {"input_values": {"ecg": np.zeros((1, 4))}, "patch_mask": {"ecg": np.array([1, 0])}, "labels": target}
        for target in (0.5, 1.5)
    ]
    batch = CiTrusFusionDataCollator()(rows)
    assert batch["labels"].dtype == torch.float32 and batch["labels"].tolist() == [0.5, 1.5]
    assert batch["patch_mask"]["ecg"].dtype == torch.int64 and batch["input_values"]["ecg"].dtype == torch.float32
    classified = CiTrusFusionDataCollator()([{**row, "labels": k} for k, row in enumerate(rows)])
    assert classified["labels"].dtype == torch.int64


# ------------------------------------------------------------------------------------------------------ multimodal


def _picture_events(per_block=4):
    """Picture events as the data layer gives them, with no signals: 3 neutral blocks then 3 disgust blocks of
    `per_block` pictures, 10 s apart, blocks 60 s apart; windows of 5 s from 1 s after each onset."""
    from citrus_hf.evaluation.multimodal import PictureEvents

    labels = np.repeat([0, 1], 3 * per_block)
    block = np.tile(np.repeat([0, 1, 2], per_block), 2)
    onsets = np.array([60.0 * (i // per_block) + 10.0 * (i % per_block) for i in range(6 * per_block)])
    return PictureEvents(
        signals={},
        sampling_rate=100.0,
        labels=labels,
        label_names=("neutral", "disgust"),
        onset_seconds=onsets,
        block=block,
        window_seconds=5.0,
        offset_seconds=1.0,
        source="synthetic",
    )


def test_the_picture_period_ends_with_the_last_pictures_window():
    """Onsets 0 ... 330 s, windows from 1 s to 6 s after each: the period runs from 1 s to 336 s (the last window's
    end), so the pre-training corpus leaves out every window a test window overlaps."""
    from citrus_hf.evaluation.multimodal import picture_period_seconds

    assert picture_period_seconds(_picture_events()) == (1.0, 336.0)


def test_the_pre_training_corpus_leaves_out_every_task1_window_overlapping_the_picture_period(tmp_path, monkeypatch):
    """Period 100-200 s, windows of 10 s: Task1 windows starting at 95 s (overlapping its start) and 150 s are left
    out; at 90 s (ending at 100 s) and 200 s they are kept, as is every window of another recording and none of another
    modality."""
    import datasets

    import citrus_hf.data
    from citrus_hf.evaluation.multimodal import SYSTOLE_MODALITIES, TASK1_RECORDING, modality_corpus

    ecg = SYSTOLE_MODALITIES["ecg"][1]
    rows = [(ecg, TASK1_RECORDING, start) for start in (90.0, 95.0, 150.0, 200.0)]
    rows += [(ecg, "Task2", 150.0), ("other", "Task2", 0.0)]
    built = datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(dict(zip(("modality", "recording", "start_seconds"), zip(*rows))))}
    )
    monkeypatch.setattr(citrus_hf.data, "build_dataset", lambda name, cache_dir=None, **options: built)
    kept = modality_corpus("ecg", (100.0, 200.0), tmp_path / "corpus", window_seconds=10.0)
    assert list(zip(kept["recording"], kept["start_seconds"])) == [
        (TASK1_RECORDING, 90.0),
        (TASK1_RECORDING, 200.0),
        ("Task2", 150.0),
    ]


def test_the_onset_time_reference_scores_the_nearer_class_mean_higher():
    """Training onsets of neutral at 0 and 10 s (mean 5), of disgust at 200 and 210 s (mean 205): a test onset at 20 s
    scores -15 for neutral and -185 for disgust, columns in class order."""
    from citrus_hf.evaluation.multimodal import onset_time_reference

    events = SimpleNamespace(onset_seconds=np.array([0.0, 10.0, 200.0, 210.0, 20.0]), labels=np.array([0, 0, 1, 1, 0]))
    np.testing.assert_allclose(onset_time_reference(events, np.arange(4), np.array([4])), [[-15.0, -185.0]])


def test_fusion_windows_are_the_rows_their_indices_name():
    """Item 0 of `FusionWindows(..., indices=[3, 1])` is event 3's windows and label."""
    from citrus_hf.evaluation.multimodal import FusionWindows

    windows = FusionWindows({"ecg": np.arange(4.0)[:, None, None]}, np.array([0, 0, 1, 1]), np.array([3, 1]))
    item = windows[0]
    assert item["labels"] == 1 and float(item["input_values"]["ecg"][0, 0]) == 3.0 and len(windows) == 2


def test_the_fusion_protocol_draws_each_fold_from_its_training_blocks_anew_and_seeds_every_model(monkeypatch):
    """Every fold's draw lies in its training blocks (never a held-out event), folds draw anew (not the same places
    of their pools), and every model of a seed is built after that seed is set (the same initialisation for every
    condition and fold)."""
    import citrus_hf.training.trainer as trainer_module
    from citrus_hf.evaluation.multimodal import Condition, block_folds, run_fusion_protocol

    events = _picture_events()
    trained = []

    def fake_train_and_evaluate(model, train, validation, test, *args, **kwargs):
        trained.append(np.asarray(train.indices))
        predictions = SimpleNamespace(predictions=np.zeros((len(test), 2)))
        return {"trainer": SimpleNamespace(predict=lambda dataset: predictions)}

    monkeypatch.setattr(trainer_module, "train_and_evaluate", fake_train_and_evaluate)
    initialisations = []

    def build_model(condition):
        initialisations.append(float(torch.rand(1)))
        return torch.nn.Linear(1, 2)

    aligned = {"ecg": np.zeros((len(events), 1, 4))}
    conditions = [Condition("a", ("ecg",)), Condition("b", ("ecg",))]
    run_fusion_protocol(events, aligned, conditions, build_model, budgets=("2",), seeds=(0, 1), progress=False)
    folds = block_folds(events)
    assert len(trained) == 2 * len(folds) * len(conditions)
    places = []
    for run, train in enumerate(trained):
        pool, _ = folds[(run // len(conditions)) % len(folds)]
        assert set(train) <= set(pool)
        places.append(tuple(np.searchsorted(pool, train)))
    assert len(set(places[: 2 * len(folds) : 2])) > 1  # seed 0's folds (every condition draws alike)
    per_seed = len(folds) * len(conditions)
    assert len(set(initialisations[:per_seed])) == 1 and len(set(initialisations[per_seed:])) == 1
    assert initialisations[0] != initialisations[per_seed]


# ------------------------------------------------------------------------------------------------------ settings


def test_the_protocols_seeds_are_counted_from_zero():
    """Five seeds by default, 0 to 4 (the seeds of the published tables); `num_seeds=3` is seeds 0, 1, 2."""
    from citrus_hf.evaluation.settings import ProtocolConfig

    assert ProtocolConfig(datasets=["basic_motions"], arms=["prior"]).seeds == [0, 1, 2, 3, 4]
    assert ProtocolConfig(datasets=["basic_motions"], arms=["prior"], num_seeds=3).seeds == [0, 1, 2]


def test_an_arm_without_a_backbone_of_its_own_is_refitted_when_the_backbone_changes():
    """citrus-scratch builds the model config's backbone or the user's `backbone=`: its runs of a transformer
    backbone are not those of the hybrid one, whose runs add nothing to their signature (as recorded before arms
    followed the user's backbone)."""
    from citrus_hf.evaluation.settings import ProtocolConfig, _model_changes

    hybrid = ProtocolConfig(datasets=["basic_motions"], arms=["citrus-scratch"])
    other = ProtocolConfig(
        datasets=["basic_motions"], arms=["citrus-scratch"], config_overrides={"backbone": "transformer"}
    )
    assert _model_changes(hybrid, "citrus-scratch", None) == []
    assert _model_changes(other, "citrus-scratch", None) == ["backbone=transformer"]
    assert hybrid.run_signatures()["citrus-scratch"] != other.run_signatures()["citrus-scratch"]


def test_the_recorded_runs_of_a_set_with_windowed_validation_are_recognised():
    """With `select_on_validation`, PatchTST's runs on a set whose validation split holds windows of fewer examples
    are signed otherwise (`windowed_validation=True`); `possible_run_signatures` gathers those too, so such runs are
    found again on a resume."""
    from citrus_hf.evaluation.settings import ProtocolConfig
    from citrus_hf.vocabulary_citrus import CLASSIFICATION

    config = ProtocolConfig(datasets=["basic_motions"], arms=["patchtst-scratch"], select_on_validation=True)
    windowed = config.run_signatures(CLASSIFICATION, True)["patchtst-scratch"]
    assert windowed != config.run_signatures(CLASSIFICATION, False)["patchtst-scratch"]
    assert windowed in config.possible_run_signatures()["patchtst-scratch"]
    scored_on_validation = ProtocolConfig(
        datasets=["basic_motions"], arms=["patchtst-scratch"], select_on_validation=True, score_split="validation"
    )
    # runs scored on validation never select on it, so nothing about its windows enters their signature
    assert scored_on_validation._early_stops_on_windows(True) is False


def test_weighted_minirocket_runs_are_not_taken_for_the_unweighted_ones_recorded_before():
    """MiniRocket's ridge took no class weights before 2026-12-06, when its runs under `--class-weight balanced` were
    signed by the shared signature alone: its weighted runs on a classification set add the weighting, so those are
    refitted; unweighted, or on a regression set, its signature stays the shared one."""
    from citrus_hf.evaluation.settings import ProtocolConfig
    from citrus_hf.vocabulary_citrus import CLASSIFICATION, REGRESSION

    weighted = ProtocolConfig(datasets=["basic_motions"], arms=["minirocket"], class_weight="balanced")
    assert weighted.run_signatures(CLASSIFICATION)["minirocket"] != weighted.signature(CLASSIFICATION)
    assert weighted.run_signatures(REGRESSION)["minirocket"] == weighted.signature(REGRESSION)
    plain = ProtocolConfig(datasets=["basic_motions"], arms=["minirocket"])
    assert plain.run_signatures(CLASSIFICATION)["minirocket"] == plain.signature(CLASSIFICATION)
