"""Audit 64 (the truth of the numbers the package reports): an arm or dataset listed twice counted as extra seeds,
validation-scored results published as test-split results, NaN logits scored as class-0 predictions, and gap tables
whose budgets interleave after a resumed protocol."""

from __future__ import annotations

import pytest

from citrus_hf.evaluation import ProtocolConfig


def _run(arm, budget, order, seed, value, dataset="basic_motions", scored_on="test"):
    metrics = dict(accuracy=value, balanced_accuracy=value, macro_f1=value, auroc=value, num_classes=4)
    return dict(dataset=dataset, task="classification", arm=arm, budget=budget, budget_order=order, seed=seed,
                n_train=4, scored_on=scored_on, **metrics)  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(arms=["prior", "prior"], datasets=["basic_motions"]), "--arms lists 'prior' and 'prior', which are "),
        (dict(arms=["prior"], datasets=["hr_ecg", "hr_ecg"]), "--datasets lists 'hr_ecg' and 'hr_ecg', which are "),
    ],
)
def test_an_arm_or_dataset_listed_twice_is_refused(settings, message):
    """Each copy was fitted on every draw and pooled into one cell: "seeds: 4" for 2 seeds, a smaller std."""
    with pytest.raises(ValueError, match=message + ".*counted twice in the mean and spread; list it once"):
        ProtocolConfig(seeds=[0, 1], budgets=["5"], **settings)
