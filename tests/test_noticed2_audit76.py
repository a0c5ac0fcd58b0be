"""Leftovers reviewers noticed in session 76 (noticed2): each test names what a user met before.

1. `channel_statistics` refused a row of NaN as "Row N of the training split" whatever split it read (`where`) and
   numbered the row by its position, where its dominating-rows warning names the split and the user's row number.
2. `ProtocolConfig(finetune=...)` dropped a show_progress (or seed) the user gave in Python without a word, where a
   settings file's is said to be ignored; it is said now, only where the user gave it.
3. `run_protocol` hashed each checkpoint's weights once per signature it took (4 + 2 per set); now once per run.
"""

from __future__ import annotations

import logging

import datasets
import numpy as np
import pytest

from citrus_hf.data.alignment import channel_statistics
from citrus_hf.evaluation import ProtocolConfig
from citrus_hf.training.settings import TrainerSettings

# ------------------------------------------------------ 1. the NaN refusal names the split and the row it reads


def test_the_nan_refusal_of_channel_statistics_names_the_split_and_the_users_row():
    """The split a protocol reads is "<set> train split" and its rows keep the user's numbers after a carve: the
    refusal said "Row 1 of the training split" of row 11 of the set's train split."""
    values = [np.ones((1, 50)) * i for i in range(1, 5)]
    values[1][0, 7] = np.nan
    rows = datasets.Dataset.from_dict({"input_values": values})
    with pytest.raises(ValueError, match=r"^Row 11 of the mine train split has NaN"):
        channel_statistics(rows, where="mine train split", row_numbers=[10, 11, 12, 13])


# ------------------------------------------ 2. a finetune show_progress / seed given in Python is said to be ignored


@pytest.mark.parametrize(
    "finetune, said",
    [
        ({"show_progress": True}, "show_progress=True"),
        (TrainerSettings(seed=5), "seed=5"),
        (TrainerSettings(learning_rate=3e-4), None),  # (TrainerSettings' own show_progress: nobody gave it)
        ({"show_progress": False, "seed": 0}, None),  # (what the protocol's runs do: protocol.json's values)
        (TrainerSettings(show_progress=False), None),  # (as `citrus evaluate` builds its settings)
    ],
)
def test_a_finetune_setting_the_protocol_sets_per_run_is_said_only_where_given(tmp_path, caplog, finetune, said):
    with caplog.at_level(logging.WARNING, logger="citrus_hf.evaluation.settings"):
        config = ProtocolConfig(output_dir=str(tmp_path), datasets=["basic_motions"], finetune=finetune)
    ignored = [record.getMessage() for record in caplog.records if "which the protocol ignores" in record.getMessage()]
    assert config.finetune.show_progress is False
    if said is None:
        assert ignored == []
    else:
        assert len(ignored) == 1 and said in ignored[0] and "give that instead" in ignored[0]
