"""Leftovers reviewers noticed in session 76 (noticed2): each test names what a user met before.

1. `channel_statistics` refused a row of NaN as "Row N of the training split" whatever split it read (`where`) and
   numbered the row by its position, where its dominating-rows warning names the split and the user's row number.
2. `ProtocolConfig(finetune=...)` dropped a show_progress (or seed) the user gave in Python without a word, where a
   settings file's is said to be ignored; it is said now, only where the user gave it.
3. `run_protocol` hashed each checkpoint's weights once per signature it took (4 + 2 per set); now once per run.
"""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from citrus_hf.data.alignment import channel_statistics

# ------------------------------------------------------ 1. the NaN refusal names the split and the row it reads


def test_the_nan_refusal_of_channel_statistics_names_the_split_and_the_users_row():
    """The split a protocol reads is "<set> train split" and its rows keep the user's numbers after a carve: the
    refusal said "Row 1 of the training split" of row 11 of the set's train split."""
    values = [np.ones((1, 50)) * i for i in range(1, 5)]
    values[1][0, 7] = np.nan
    rows = datasets.Dataset.from_dict({"input_values": values})
    with pytest.raises(ValueError, match=r"^Row 11 of the mine train split has NaN"):
        channel_statistics(rows, where="mine train split", row_numbers=[10, 11, 12, 13])
