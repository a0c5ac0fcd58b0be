"""Audit 79 (mutation testing of the few-shot recipes): each test here kills a mutant of the probe, the
augmentations, the recipes, fine-tuning's settings or the seeding that the rest of the suite let through (a flipped
comparison, a dropped scale, a seed that ignores the row), with the expected values worked out by hand in the
comments. Small synthetic arrays for the maths; a tiny model where a fit is needed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from citrus_hf.training.augment import (
    JITTER_FRACTION,
    MAX_SHIFT_FRACTION,
    AugmentedWindows,
    augmented_window,
    copy_seed,
    real_length,
)
from citrus_hf.training.probe import carried_by_classes_of, fit_ridge

# ------------------------------------------------------------------------------------------------ the probe's rules


def test_classes_holding_exactly_half_of_the_examples_do_not_carry_the_set():
    """ "more than half": 0,0,1,1 + four singletons: the classes with 2 examples hold 4 of 8, not more than half
    (mutant: `>=`); and one large class beside a singleton is not "two or more classes" (mutant: `len >= 1`)."""
    assert not carried_by_classes_of(np.array([0, 0, 1, 1, 2, 3, 4, 5]), 2)
    assert carried_by_classes_of(np.array([0, 0, 1, 1, 2, 3, 4]), 2)  # 4 of 7: more than half
    assert not carried_by_classes_of(np.array([0, 0, 0, 1]), 2)  # one class with 2 or more: 3 of 4, alone


def test_the_leave_one_out_predictions_are_the_chosen_penalty_s():
    """Targets of pure noise: leave-one-out prefers the larger of two penalties (the smaller one fits the noise), and
    `loo_predictions` are those of the read-out at that penalty, as one fitted with it alone gives them (mutant: the
    first penalty's, whatever was chosen; LP-FT's logit temperature is fitted to them)."""
    rng = np.random.default_rng(0)
    features, targets = rng.standard_normal((20, 8)), rng.standard_normal(20)
    readout = fit_ridge(features, targets, (1e-4, 1e2))
    assert readout.alpha == 1e2
    np.testing.assert_allclose(readout.loo_predictions, fit_ridge(features, targets, (1e2,)).loo_predictions)


def test_rows_weighing_alike_give_the_unweighted_leave_one_out_errors():
    """Every row at weight 2 is the unweighted ridge, whose reported `loo_errors` are the plain mean squared
    leave-one-out residuals: a weighted mean divides by the weights' sum (mutant: by the row count, twice the error)."""
    rng = np.random.default_rng(1)
    features, targets = rng.standard_normal((12, 4)), rng.standard_normal(12)
    plain = fit_ridge(features, targets, (0.1, 1.0))
    weighted = fit_ridge(features, targets, (0.1, 1.0), sample_weights=np.full(12, 2.0))
    np.testing.assert_allclose(weighted.loo_errors, plain.loo_errors)


def test_a_class_weighted_probe_is_the_weighted_ridge_scored_on_the_classes_with_two_or_more():
    """Classes of 6, 3 and 1 windows, weighed "balanced" (10 / (3 x count)): the probe's read-out is `fit_ridge` of its
    features with those row weights, its penalty chosen on the leave-one-out errors of the 9 rows of the two classes
    with 2 or more (mutants: the class weights dropped, every row scored, or the rows given and not read)."""
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.probe import DEFAULT_ALPHAS, class_codes, embed_dataset, fit_probe, leave_one_out_rows
    from citrus_hf.training.recipes import class_weights_for

    labels = np.array([0] * 6 + [1] * 3 + [2])
    rows = _labelled(len(labels)).remove_columns("labels").add_column("labels", labels.tolist()).with_format("torch")
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3, head_features="all_layers", pooling="mean_max"))
    weights = class_weights_for(labels, 3, "balanced")
    readout = fit_probe(model, rows, "classification", class_weights=weights)
    expected = fit_ridge(
        embed_dataset(model, rows),
        class_codes(labels, 3),
        DEFAULT_ALPHAS,
        scored_rows=leave_one_out_rows(labels),
        sample_weights=weights[labels],
    )
    np.testing.assert_allclose(readout.loo_errors, expected.loo_errors, rtol=1e-6)
    # by hand at the chosen penalty: the weighted mean squared leave-one-out residual of the 9 rows of classes 0 and 1
    scored, residual = labels < 2, class_codes(labels, 3) - readout.loo_predictions
    by_hand = weights[labels][scored] @ np.mean(residual[scored] ** 2, axis=1) / weights[labels][scored].sum()
    assert readout.loo_errors[DEFAULT_ALPHAS.index(readout.alpha)] == pytest.approx(by_hand)
    np.testing.assert_allclose(readout.weight, expected.weight, rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------------------------------------ augmentations


def _signed_offset(shifted: torch.Tensor, length: int) -> int:
    """The roll of `arange(length)` read off its first sample: out[0] = (0 - offset) mod length."""
    offset = int(-shifted[0, 0].item()) % length
    return offset - length if offset > length // 2 else offset


def test_the_shift_rolls_either_way_within_a_tenth():
    """Offsets are drawn in [-a tenth, +a tenth] of the real length (mutant: `rand()` without `* 2 - 1`, every roll
    one way)."""
    window = torch.arange(100, dtype=torch.float32)[None]
    offsets = [_signed_offset(augmented_window(window, 100, ["shift"], seed), 100) for seed in range(40)]
    assert min(offsets) < 0 < max(offsets)
    assert max(abs(offset) for offset in offsets) <= MAX_SHIFT_FRACTION * 100


def test_the_shift_rolls_the_real_samples_only():
    """A window of 60 real samples (1..60) and 40 of padding: rolled, the first 60 are 1..60 in another order and
    the padding stays 0 (mutant: the roll taken modulo the whole window brought padding into the signal)."""
    window = torch.zeros(1, 100)
    window[0, :60] = torch.arange(1, 61, dtype=torch.float32)
    moved = 0
    for seed in range(10):
        shifted = augmented_window(window, 60, ["shift"], seed)
        assert sorted(shifted[0, :60].tolist()) == list(range(1, 61))
        assert (shifted[0, 60:] == 0).all()
        moved += not torch.equal(shifted, window)
    assert moved  # (some seed rolled it)


def test_the_scale_draws_one_factor_per_channel():
    """Two channels of ones come out with two factors (mutant: one factor for the whole window)."""
    scaled = augmented_window(torch.ones(2, 50), 50, ["scale"], seed=3)
    assert scaled[0].unique().numel() == 1 and scaled[1].unique().numel() == 1
    assert scaled[0, 0] != scaled[1, 0]
    # the augmentations apply in turn: the shift of the scaled window keeps its factors (mutant: each applied to the
    # original, so only the last one, a shift of ones, counted)
    chained = augmented_window(torch.ones(2, 50), 50, ["scale", "shift"], seed=3)
    assert not torch.allclose(chained, torch.ones(2, 50))


def test_jitter_measures_each_channel_spread_over_its_real_samples():
    """64 channels of 50 real samples alternating 3 + 2 and 3 - 2 (mean 3, standard deviation 2), then 50 of padding:
    the noise on the real samples has standard deviation JITTER_FRACTION x 2 = 0.1 (3,200 draws: within 5%). Spread
    counted over all 100 samples: sqrt(50 x 3.25 / 100) = 1.27 -> 0.064 (mutant); mean over all 100 (1.5): spread 1.80
    -> 0.09 (mutant); variance for spread: 4 -> 0.2 (mutant). The padding is left as it was."""
    window = torch.zeros(64, 100)
    window[:, :50] = 3.0 + 2.0 * torch.tensor([1.0, -1.0]).repeat(25)
    jittered = augmented_window(window, 50, ["jitter"], seed=0)
    noise = jittered[:, :50] - window[:, :50]
    assert noise.std().item() == pytest.approx(JITTER_FRACTION * 2.0, rel=0.05)
    assert (jittered[:, 50:] == 0).all()


def test_a_real_length_counts_only_the_padding_every_channel_shares_at_the_end():
    """Patches of 10, all of signal. Channel 0 ends with three zeros (97-99), and both channels hold zeros at 92-93
    inside the last patch: neither is the padding run (zeros in every channel up to the end), so all 100 samples are
    real (mutants: zeros of any channel, 97; zeros anywhere in the patch, 98)."""
    window = torch.ones(2, 100)
    window[0, 97:] = 0.0
    window[:, 92:94] = 0.0
    assert real_length(window, torch.ones(10), 10, 0.0) == 100
    # a last patch of padding values only: its first sample is signal (the patch holds signal), 9 are padding
    assert real_length(torch.zeros(1, 100), torch.ones(10), 10, 0.0) == 91
    # patches 0..5 of signal: real up to sample 60
    assert real_length(torch.ones(1, 100), torch.tensor([1] * 6 + [0] * 4), 10, 0.0) == 60


def test_each_row_gets_its_own_augmented_copy():
    """Two identical rows, one copy each: the copies differ, each drawn from the (seed, copy, row) stream (mutants: a
    seed per copy only, or row 0's seed for every row)."""
    from datasets import Dataset

    window = torch.randn(1, 2, 100).repeat(2, 1, 1)
    rows = {"input_values": window.numpy(), "patch_mask": np.ones((2, 10), dtype=np.int64), "labels": [0, 0]}
    copies = AugmentedWindows(Dataset.from_dict(rows).with_format("torch"), 10, ["jitter"], copies=1, seed=7)
    assert not torch.equal(copies[2]["input_values"], copies[3]["input_values"])
    assert copy_seed(7, 1, 0) != copy_seed(7, 1, 1)


# ------------------------------------------------------------------------------------------------ the recipes
# The fine-tuning recipes' schedules and LP-FT's soup, read off a stand-in for the Trainer (`train_with_trainer`),
# which records what each fine-tuning was given and moves every weight by a member's own amount, so no step runs.


def _labelled(num_rows: int, seed: int = 0):
    """An aligned two-class dataset (torch format) of 1-channel windows of the tiny contract (200 samples, 10
    patches of 20), classes alternating, each class with its own rhythm."""
    from datasets import Dataset

    labels = np.arange(num_rows) % 2
    inputs = np.random.default_rng(seed).standard_normal((num_rows, 1, 200)).astype(np.float32)
    inputs += np.sin(np.arange(200) * (labels[:, None, None] + 1) / 5.0).astype(np.float32)
    rows = {"input_values": inputs, "patch_mask": np.ones((num_rows, 10), dtype=np.int64), "labels": labels}
    return Dataset.from_dict(rows).with_format("torch")


def _tiny_classifier():
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForSequenceClassification

    torch.manual_seed(0)
    return CiTrusForSequenceClassification(tiny_config(num_labels=2, head_features="all_layers", pooling="mean_max"))


@pytest.fixture
def recorded_fits(monkeypatch):
    """Replace the Trainer's fine-tuning by a recorder: each call's settings, training set and the head it started
    from are kept, and every float weight moves by 1 for the run's seed 3, by 2 for any other seed."""
    from types import SimpleNamespace

    from citrus_hf.training import trainer

    calls = []

    def fake_train_with_trainer(model, train, validation, task, output_dir, settings, *args, class_weights=None):
        calls.append(
            {
                "settings": settings,
                "train": train,
                "validation": validation,
                "weight": model.classifier.weight.detach().clone(),
                "bias": model.classifier.bias.detach().clone(),
            }
        )
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(1.0 if settings.seed == 3 else 2.0)
        return {"trainer": SimpleNamespace(model=model), "steps": settings.max_steps, "best_step": None, "history": []}

    monkeypatch.setattr(trainer, "train_with_trainer", fake_train_with_trainer)
    return calls


def test_the_finetune_schedule_counts_passes_of_global_batches(recorded_fits, monkeypatch, tmp_path):
    """40 examples in global batches of 2 per device x 2 processes = 4: 30 passes of 10 batches = 300 steps (mutant:
    the per-device batch, 600); 0.25 passes of 10 batches: ceil(2.5) = 3 steps (mutant: int, 2)."""
    from citrus_hf.training import launch
    from citrus_hf.training.recipes import RECIPES
    from citrus_hf.training.settings import TrainerSettings

    monkeypatch.setattr(launch, "data_parallel_processes", lambda: 2)
    train = _labelled(40)
    RECIPES["finetune"].fit(
        _tiny_classifier(), train, None, "classification", TrainerSettings(per_device_batch_size=2), tmp_path
    )
    RECIPES["finetune"].fit(
        _tiny_classifier(),
        train,
        None,
        "classification",
        TrainerSettings(per_device_batch_size=2, num_train_epochs=0.25),
        tmp_path,
    )
    assert [call["settings"].max_steps for call in recorded_fits] == [300, 3]


def test_finetune_steps_round_partial_batches_up_and_stop_at_the_ceiling():
    """33 examples in batches of 16 are 3 batches a pass: 30 passes, 90 steps (mutant: floor, 2 batches, 60); 1,000
    examples would be 1,890 steps: 600 (mutant: no ceiling)."""
    from citrus_hf.training.recipes import finetune_steps

    assert finetune_steps(33, 16, 30) == 90
    assert finetune_steps(1000, 16, 30) == 600


def test_probe_then_finetune_starts_both_members_from_the_tempered_probe_and_averages_them(recorded_fits, tmp_path):
    """LP-FT of 8 examples in batches of 1 at seed 3: the probe's read-out times its logit temperature starts the
    head; two members fine-tune from that same start (member 1 not from member 0's end) with seeds 3 and 1003, at a
    tenth of the learning rate (1e-3 -> 1e-4), for 10 passes of 8 batches = 80 steps each (the plain recipe's 30
    passes: 240), on the 8 windows and 4 augmented copies of each (40 rows, copies seeded by the member's seed); the
    model keeps the average: the start + (1 + 2) / 2."""
    from citrus_hf.training.probe import fit_probe
    from citrus_hf.training.recipes import RECIPES, logit_temperature
    from citrus_hf.training.settings import TrainerSettings

    train = _labelled(8)
    reference = _tiny_classifier()
    readout = fit_probe(reference, train, "classification")
    temperature = logit_temperature(readout.loo_predictions, np.arange(8) % 2)
    assert temperature != 1.0
    model = _tiny_classifier()
    settings = TrainerSettings(per_device_batch_size=1, learning_rate=1e-3, seed=3)
    outcome = RECIPES["probe-finetune"].fit(model, train, None, "classification", settings, tmp_path)

    assert outcome.details["logit_temperature"] == temperature
    assert [call["settings"].seed for call in recorded_fits] == [3, 1003]
    for call in recorded_fits:
        assert call["settings"].learning_rate == pytest.approx(1e-4)
        assert call["settings"].max_steps == 80
        assert len(call["train"]) == 40 and call["train"].seed == call["settings"].seed
        torch.testing.assert_close(call["weight"], torch.as_tensor(readout.weight.T * temperature, dtype=torch.float32))
        torch.testing.assert_close(call["bias"], torch.as_tensor(readout.bias * temperature, dtype=torch.float32))
    torch.testing.assert_close(model.classifier.bias, recorded_fits[0]["bias"] + 1.5)
    assert outcome.steps == 160


def test_the_logit_temperature_is_the_grid_s_lowest_cross_entropy():
    """Scores +-1 of two classes, two rows right and one wrong: the cross-entropy 2 log(1 + e^-2T) + log(1 + e^2T) is
    lowest at T = ln(2) / 2 = 0.35, whose nearest grid points score 1.9108 at 10^-0.5 = 0.316 and 1.9130 at 10^-0.4
    (mutants: the highest cross-entropy, 100; the grid's first, 0.1)."""
    from citrus_hf.training.recipes import logit_temperature

    scores = np.array([[1.0, -1.0], [-1.0, 1.0], [1.0, -1.0]])
    assert logit_temperature(scores, np.array([0, 1, 1])) == pytest.approx(10**-0.5)


def test_the_probe_pools_the_spread_from_two_examples_per_class():
    """One example per class: mean and max only; two per class: the spread and dynamics (mutants: the spread from
    one example, or whatever the count); LP-FT's probe start pools the spread without the dynamics."""
    from citrus_hf.training.recipes import PROBE_CLASSIFICATION_POOLING, RECIPES, probe_head_overrides

    assert probe_head_overrides(np.array([0, 1]), "classification")["pooling"] == "mean_max"
    assert probe_head_overrides(None, "regression")["pooling"] == "mean_max_std_dynamics"  # (regression: always)
    assert probe_head_overrides(np.array([0, 0, 1, 1]), "classification")["pooling"] == PROBE_CLASSIFICATION_POOLING
    lpft = RECIPES["probe-finetune"].head_overrides_for(np.array([0, 0, 1, 1]), "classification")
    assert lpft["pooling"] == "mean_max_std"


def test_auto_switches_to_probe_then_finetune_at_twenty_per_class_for_classification_only():
    """'auto' fits the probe below 20 labelled examples of the smallest class, LP-FT from 20 on and when the count is
    unknown (None: as many); regression always the probe (mutants: `<=`, None as few, regression by count). The count
    is the smallest class's (4, 4, 1: 1) and, for regression, half the examples (10 targets: 5)."""
    from citrus_hf.training.recipes import labels_per_class, resolve_recipe

    assert resolve_recipe("auto", 19.0).name == "probe"
    assert resolve_recipe("auto", 20.0).name == "probe-finetune"
    assert resolve_recipe("auto", None).name == "probe-finetune"
    assert resolve_recipe("auto", 100.0, "regression").name == "probe"
    assert labels_per_class(np.array([0, 0, 0, 0, 1, 1, 1, 1, 2]), "classification") == 1.0
    assert labels_per_class(np.linspace(60.0, 80.0, 10), "regression") == 5.0


def test_balanced_class_weights_count_the_classes_present():
    """Labels 0,0,0,1 of a 3-class model: n / (classes present x count) = 4 / (2 x 3) and 4 / (2 x 1); the absent class
    weighs 1 (mutants: dividing by the model's 3 classes; 0 for the absent class)."""
    from citrus_hf.training.recipes import class_weights_for

    np.testing.assert_allclose(class_weights_for(np.array([0, 0, 0, 1]), 3, "balanced"), [4 / 6, 2.0, 1.0])


def _labels_only(labels):
    from datasets import Dataset

    return Dataset.from_dict({"labels": labels})


def test_a_validation_split_at_exactly_the_minimum_drives_early_stopping():
    """5 validation examples of each class (MIN_VALIDATION_PER_CLASS) and 20 regression targets
    (MIN_VALIDATION_REGRESSION) are enough (mutants: `<=` / `>`); 4 of a class are not, nor none of one (mutant: the
    absent classes not counted, and 0 is not "fewer than 5" among the classes held)."""
    from citrus_hf.training.recipes import validation_shortfall

    training = np.array([0, 1])
    assert validation_shortfall(_labels_only([0] * 5 + [1] * 5), "classification", training) is None
    assert validation_shortfall(_labels_only([0] * 5 + [1] * 4), "classification", training) is not None
    assert "no example of class(es)" in validation_shortfall(_labels_only([0] * 5), "classification", training)
    assert validation_shortfall(_labels_only(np.linspace(0, 1, 20).tolist()), "regression", training) is None


def test_predictions_read_the_padding_mask(tmp_path):
    """A window half of padding: `predict` gives the logits of the model called with the window's patch mask, not of
    the window read as all signal (mutant: the mask dropped)."""
    from datasets import Dataset

    from citrus_hf.training.recipes import predict

    model = _tiny_classifier().eval()
    inputs = torch.randn(2, 1, 200)
    inputs[:, :, 100:] = 0.0
    mask = torch.ones(2, 10, dtype=torch.long)
    mask[:, 5:] = 0
    rows = Dataset.from_dict({"input_values": inputs.numpy(), "patch_mask": mask.numpy(), "labels": [0, 1]})
    with torch.no_grad():
        expected = model(inputs, patch_mask=mask).logits.numpy()
        unmasked = model(inputs).logits.numpy()
    assert not np.allclose(expected, unmasked)  # (the mask matters to this model)
    np.testing.assert_allclose(predict(model, rows), expected, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------------ settings


def test_settings_given_as_a_mapping_keep_the_defaults_they_are_laid_over():
    """A mapping of settings is laid over the `defaults` given (the protocol's), not over TrainerSettings()'s
    (mutant)."""
    from citrus_hf.training.arguments import trainer_settings
    from citrus_hf.training.settings import TrainerSettings

    settings = trainer_settings({"seed": 4}, defaults=TrainerSettings(learning_rate=5e-4, max_steps=7))
    assert (settings.seed, settings.learning_rate, settings.max_steps) == (4, 5e-4, 7)


def test_the_boundaries_of_the_learning_rate_seed_and_warm_up_checks():
    """lr x weight decay = 1 wipes the weights in one step: refused (mutant: `> 1`); the largest seed numpy takes,
    2**32 - 1, is accepted (mutant: `>=`); a warm-up of exactly the run's steps spans it (mutant: `<=`); 1 warm-up
    step is one step, and 0.07 x 100 = 7.000000000000001 is 7 (mutants: `> 1`, no rounding: 8)."""
    from citrus_hf.training.arguments import PretrainArguments
    from citrus_hf.training.settings import MAX_SEED, TrainerSettings, check_learning_rate, warmup_spans_run_notice

    with pytest.raises(ValueError, match="wipes them"):
        check_learning_rate(0.5, 2.0)
    assert TrainerSettings(seed=MAX_SEED).seed == MAX_SEED
    assert warmup_spans_run_notice(10, 10, 10) is not None
    arguments = PretrainArguments(output_dir="unused", dataset=None, synthetic_ratio=1.0, max_steps=100)
    arguments.warmup_steps = 1
    assert arguments.num_warmup_steps == 1
    arguments.warmup_steps = 0.07
    assert arguments.num_warmup_steps == 7


# ------------------------------------------------------------------------------------------------ seeding


def test_a_fit_leaves_the_caller_s_random_streams_where_they_were():
    """Draws inside `caller_random_state_kept` (as a fit's seeding makes) do not move Python's, numpy's or torch's
    global streams: the next draws after it are the ones the caller's seed gave (mutants: one of the three not
    restored)."""
    import random

    from citrus_hf.training.rng import caller_random_state_kept

    def draws():
        return random.random(), float(np.random.random()), float(torch.rand(1))

    random.seed(11), np.random.seed(11), torch.manual_seed(11)
    expected = draws()
    random.seed(11), np.random.seed(11), torch.manual_seed(11)
    with caller_random_state_kept():
        random.seed(0), np.random.seed(0), torch.manual_seed(0)
        draws()
    assert draws() == expected


def test_denormals_flushed_leaves_the_caller_s_own_flushing_on():
    """A thread that flushed subnormal floats before the block (`torch.set_flush_denormal(True)`, a common CPU speed
    setting) still flushes them after it (mutant: switched off after every block)."""
    from citrus_hf.training import numerics

    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush subnormal floats")
    try:
        with numerics.denormals_flushed():
            assert numerics._thread_flushes_denormals()
        assert numerics._thread_flushes_denormals()
    finally:
        torch.set_flush_denormal(False)
