"""Audit 72, the fusion collator as a transformers user meets it: dataset rows whose label column is `label_ids` or
whose keys differ from the first row's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from citrus_hf.processing_citrus_fusion import CiTrusFusionDataCollator


def row(label_key: str | None = "label", label=1, mask: bool = False, modalities=("ecg", "eda")) -> dict:
    lengths = {"ecg": 200, "eda": 80}
    values = {"input_values": {name: np.zeros((1, lengths[name]), np.float32) for name in modalities}}
    if mask:
        values["patch_mask"] = {name: np.ones(lengths[name] // (20 if name == "ecg" else 10)) for name in modalities}
    if label_key is not None:
        values[label_key] = label
    return values


# ----------------------------------------------------------------------------- the collator's rows


def test_the_collator_batches_a_label_ids_column_as_labels():
    """Rows labelled in a `label_ids` column (which transformers' collators batch as `labels`) were batched without
    labels: the Trainer's evaluation then reported no loss and no metrics, without a word."""
    batch = CiTrusFusionDataCollator()([row("label_ids", 0), row("label_ids", 2)])
    assert batch["labels"].tolist() == [0, 2] and batch["labels"].dtype == torch.int64


@pytest.mark.parametrize(
    "rows, named",
    [
        ([row(None), row("label", 1)], r"row 1 has `label`, which row 0 has not"),
        ([row(), row(mask=True)], r"row 1 has `patch_mask`, which row 0 has not"),
        ([row(modalities=("ecg",)), row()], r"row 1 has modality 'eda' in `input_values`, which row 0 has not"),
        ([row(), row(None)], r"row 1 has no `label`"),
    ],
    ids=["label", "patch_mask", "modality", "missing label"],
)
def test_rows_whose_keys_differ_from_the_first_rows_are_refused(rows, named):
    """The collator read the keys and modalities of the first row only: a later row's labels or `patch_mask` were
    dropped without a word (a padded window then pooled its padding), and a later row's missing label ended in a
    KeyError."""
    with pytest.raises(ValueError, match=named):
        CiTrusFusionDataCollator()(rows)
