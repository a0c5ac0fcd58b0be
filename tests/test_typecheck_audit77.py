"""What a type checker (mypy over src/citrus_hf) showed the package getting wrong on paths a user reaches: each test
fails on the code before its fix."""

from __future__ import annotations

import numpy as np
import pytest

# ------------------------------------------------------------------ a synthetic generator written as a plain class


def _plain_generator(frequency: float, windows: str = "ok"):
    from citrus_hf.data.synthetic import SyntheticGenerator

    class PlainSines(SyntheticGenerator):  # no @dataclass: its settings are attributes set in __init__
        name = "audit77_plain_sines"
        version = "1"
        modality = "ecg"

        def __init__(self, frequency: float) -> None:
            self.frequency = frequency
            self._phase_cache: dict = {}  # private state: no setting

        def generate(self, rng, sampling_rate, length):
            t = np.arange(4 * length) / sampling_rate
            x = np.sin(2 * np.pi * self.frequency * t + rng.uniform(0, 6)) + 0.05 * rng.standard_normal(t.size)
            return (x if windows == "flat" else x.reshape(4, length)).astype(np.float32)

    return PlainSines(frequency)


def test_a_plain_class_generator_describes_its_settings():
    """`SyntheticGenerator.settings()` called `dataclasses.asdict`, so a generator of one's own written as a plain
    class (which registers and draws) failed with "asdict() should be called on dataclass instances" once a stream
    described itself (the pre-training summary, `MixedWindowStream.settings`)."""
    from citrus_hf.data.streams import SyntheticWindowStream

    generator = _plain_generator(3.0)
    assert generator.settings() == {"name": "audit77_plain_sines", "version": "1", "modality": "ecg", "frequency": 3.0}
    stream = SyntheticWindowStream(100.0, 100, 10, generators=[generator])
    assert stream.settings()["generators"][0]["frequency"] == 3.0


def test_a_plain_class_generators_bad_windows_are_named():
    """The contract's message (`_check_windows`) quotes the generator's settings: for a plain class it was replaced by
    dataclasses' TypeError, hiding what was wrong with the windows."""
    from citrus_hf.data.streams import SyntheticWindowStream

    stream = SyntheticWindowStream(100.0, 100, 10, generators=[_plain_generator(3.0, windows="flat")])
    with pytest.raises(
        ValueError, match=r"'audit77_plain_sines' generator .*windows of shape \(400,\).*'frequency': 3.0"
    ):
        next(iter(stream))


# --------------------------------------------------------------- Trainer.create_model_card with positional options


@pytest.mark.parametrize("lora", [True, False], ids=["adapter", "full-model"])
def test_the_trainers_card_takes_its_options_positionally(tmp_path, lora):
    """`Trainer.create_model_card(language, license, tags, ...)`, transformers' order: the card hook passed the
    positional options on to the full model's card writer but dropped them for an adapter, whose card then said
    apache-2.0 and lacked the tags asked for. (The full model's case passed before: a guard for the hook's change.)"""
    from tiny_configs import tiny_config
    from transformers import Trainer, TrainingArguments

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.lora import apply_lora

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    model = apply_lora(model, r=2) if lora else model
    trainer = Trainer(model, TrainingArguments(str(tmp_path), report_to="none", use_cpu=True))
    trainer.create_model_card(None, "mit", "audit77-tag")
    card = (tmp_path / "README.md").read_text()
    assert "license: mit" in card and "- audit77-tag" in card
    assert ("library_name: peft" in card) == lora
