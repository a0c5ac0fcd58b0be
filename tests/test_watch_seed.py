"""watch_exercises' subjects go to the splits largest first (each split gets its share of the windows); the seed only
orders subjects of equal size, and this set has none, so another seed is refused rather than silently giving seed
0's split (determinism audit, finding 1)."""

from __future__ import annotations

import pytest

from citrus_hf.data import build_dataset
from citrus_hf.data.errors import CitrusDataError


@pytest.mark.parametrize("options", [{"seed": 1}, {"seed": 7, "window_seconds": 2.0, "hop_seconds": 1.0}])
def test_a_seed_that_cannot_change_the_split_is_refused(options):
    with pytest.raises(CitrusDataError, match=rf"seed={options['seed']} gives the split of seed 0.*Leave seed out"):
        build_dataset("watch_exercises", **options)


def test_the_default_seed_builds_the_subject_split():
    built = build_dataset("watch_exercises", seed=0)
    subjects = {split: set(built[split]["subject"]) for split in built}
    assert len(subjects["train"] | subjects["validation"] | subjects["test"]) == 10
    assert not subjects["train"] & subjects["test"] and not subjects["validation"] & subjects["test"]
