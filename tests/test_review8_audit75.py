"""Session 75, review of review6's hook on transformers' private `Trainer._remove_unused_columns`.

review6 moved the refusal of a `with_transform` set's transform that reads a column the Trainer removes into a wrap of
`Trainer._remove_unused_columns`, a private method of transformers, which pyproject asks for only by a floor. Where a
transformers has no such method (renamed, moved), the registration stopped on an AttributeError: `import citrus_hf`
(and `from transformers import Trainer` after it) failed for a check of one message. Now the check is off with a
warning naming it, as peft's private methods are treated (`training.lora._peft_private`), and transformers' own
behaviour stays.
"""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest
import torch
from datasets import Dataset
from tiny_configs import tiny_config
from transformers import Trainer, TrainingArguments

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.publishing import hooks

# the Trainer attributes `register_trainer_checks` sets, put back after a test that runs it again
_HOOKED = (
    "__init__",
    "create_scheduler",
    "create_optimizer",
    "_load_best_model",
    "get_eval_dataloader",
    "_get_dataloader",
    "_remove_unused_columns",
    "compute_loss",
    "training_step",
    "_get_train_sampler",
    "_get_eval_sampler",
    "evaluation_loop",
    "evaluate",
    "predict",
)


def test_a_transformers_without_the_private_method_keeps_the_other_checks_and_says_so(monkeypatch, caplog):
    for name in _HOOKED:
        monkeypatch.setattr(Trainer, name, getattr(Trainer, name))
    monkeypatch.setattr(Trainer, "__init__", Trainer.__init__.__wrapped__)  # unmarked: the registration runs again
    monkeypatch.delattr(Trainer, "_remove_unused_columns")

    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        hooks.register_trainer_checks()

    assert getattr(Trainer.__init__, "_citrus_checks", False)  # the other checks are in
    assert not hasattr(Trainer, "_remove_unused_columns")  # nothing made up in its place
    (warning,) = [record.getMessage() for record in caplog.records if "_remove_unused_columns" in record.getMessage()]
    assert "that check is off" in warning and "transformers" in warning


def _reading_signal(batch):
    """A module-level transform (a "spawn" worker pickles the set, transform included) reading the raw `signal`."""
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    aligned = extractor([np.asarray(row, dtype=np.float32) for row in batch["signal"]], sampling_rate=100.0)
    return {"input_values": aligned["input_values"], "patch_mask": aligned["patch_mask"], "labels": batch["labels"]}


def test_the_loader_wraps_a_copy_of_the_set_which_pickles(tmp_path):
    """Guard (passes before the fix too): the wrap is on the Trainer's own copy of the set, the user's set keeps its
    transform, and the copy pickles for the data loader's "spawn" / "forkserver" workers."""
    rng = np.random.default_rng(0)
    given = Dataset.from_dict(
        {"signal": [rng.standard_normal((1, 200)).tolist() for _ in range(4)], "labels": [0, 1, 0, 1]}
    ).with_transform(_reading_signal)
    arguments = TrainingArguments(str(tmp_path / "out"), report_to="none", use_cpu=True, disable_tqdm=True)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, channel_pooling="mean"))
    trainer = Trainer(model=model, args=arguments, train_dataset=given)

    kept = trainer.get_train_dataloader().dataset

    assert trainer.train_dataset is given and given.format["format_kwargs"]["transform"] is _reading_signal
    with pytest.raises(ValueError, match="remove_unused_columns=False"):
        pickle.loads(pickle.dumps(kept))[0]


def test_a_subset_counting_from_the_end_is_measured_as_it_reads(tmp_path):
    """A Subset's negative index counts from the end, as `Subset[i]` reads it (`dataset[-1]`): measured by the column
    of the set behind (`select`), it stopped in pyarrow ("can't convert negative value to unsigned int") as the
    length-grouped sampler was built."""
    from test_trainer5_audit75 import _aligned_one_by_one  # 10, 10, 5 and 5 patches

    arguments = TrainingArguments(
        str(tmp_path / "out"), report_to="none", use_cpu=True, train_sampling_strategy="group_by_length"
    )
    trainer = Trainer(model=CiTrusForSequenceClassification(tiny_config(num_labels=2)), args=arguments)
    inner = torch.utils.data.Subset(_aligned_one_by_one(), [-1, 0, 1, -2])  # 5, 10, 10, 5
    sampler = trainer._get_train_sampler(torch.utils.data.Subset(inner, [-1, 1]))
    assert sampler.lengths == [5, 10]
    with pytest.raises(IndexError, match="index -5 is out of range for a set of 4 rows"):
        trainer._get_train_sampler(torch.utils.data.Subset(_aligned_one_by_one(), [0, -5]))
