"""Review of session 77's own landed work (deadcode and mendC commits): what the review found wrong, each test failing
on the code before its fix."""

import dataclasses
import logging

from citrus_hf.evaluation.settings import ProtocolConfig
from citrus_hf.training.settings import TrainerSettings


def _ignored_notices(caplog, finetune) -> list[str]:
    """What `ProtocolConfig(finetune=finetune)` says it ignores."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="citrus_hf.evaluation.settings"):
        ProtocolConfig(finetune=finetune)
    return [record.getMessage() for record in caplog.records if "ignores" in record.getMessage()]


def test_a_seed_assigned_after_construction_is_still_noticed(caplog):
    # `given_fields` records the constructor's keywords only: `settings.seed = 7` set a field outside the record, and
    # the recorded instance's check read the recorded fields alone, so the seed was dropped unsaid (noticed before)
    settings = TrainerSettings(learning_rate=1e-3)
    settings.seed = 7
    said = _ignored_notices(caplog, settings)
    assert len(said) == 1 and "seed=7" in said[0]
    # as a copy's and a dict's are, and the unasked default stays silent
    assert _ignored_notices(caplog, dataclasses.replace(settings)) == said
    assert _ignored_notices(caplog, {"seed": 7}) == said
    assert _ignored_notices(caplog, TrainerSettings(learning_rate=1e-3)) == []
