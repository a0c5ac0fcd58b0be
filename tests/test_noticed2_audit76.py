"""Leftovers reviewers noticed in session 76 (noticed2): each test names what a user met before.

1. `channel_statistics` refused a row of NaN as "Row N of the training split" whatever split it read (`where`) and
   numbered the row by its position, where its dominating-rows warning names the split and the user's row number.
2. `ProtocolConfig(finetune=...)` dropped a show_progress (or seed) the user gave in Python without a word, where a
   settings file's is said to be ignored; it is said now, only where the user gave it.
3. `run_protocol` hashed each checkpoint's weights once per signature it took (4 + 2 per set); now once per run.
"""

from __future__ import annotations

import json
import logging

import datasets
import numpy as np
import pytest
from test_evalnoted_audit76 import _regression_folder

from citrus_hf.data.alignment import channel_statistics
from citrus_hf.evaluation import ProtocolConfig, run_protocol
from citrus_hf.training.settings import TrainerSettings
from citrus_hf.vocabulary_citrus import REGRESSION

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


# -------------------------------------------------------------- 3. each checkpoint's weights hashed once per run


def test_a_protocol_run_hashes_each_checkpoints_weights_once(tmp_path, monkeypatch, caplog):
    """A checkpoint's safetensors files were read and hashed for every signature taken: 4 for the resume's possible
    signatures and 2 per set. The `prior` arm is given a bundled checkpoint here (it reads none) so that a cheap run
    carries its digest; the signatures recorded and the resume are as before."""
    from citrus_hf.evaluation import settings
    from citrus_hf.evaluation.arms import ARMS

    monkeypatch.setattr(ARMS["prior"], "bundled", "citrus-small", raising=False)
    hashed = []
    real = settings._weights_digest
    monkeypatch.setattr(settings, "_weights_digest", lambda folder: hashed.append(folder) or real(folder))
    folder = _regression_folder(tmp_path / "mine")
    config = dict(output_dir=str(tmp_path / "evaluation"), datasets=[folder], budgets=["2"], seeds=[0], arms=["prior"])
    run_protocol(ProtocolConfig(**config, show_progress=False))
    assert hashed == ["citrus-small"]
    recorded = json.loads((tmp_path / "evaluation" / "runs.jsonl").read_text())
    assert recorded["signature"] == ProtocolConfig(**config).run_signatures(REGRESSION)["prior"]
    hashed.clear()
    with caplog.at_level(logging.WARNING, logger="citrus_hf.evaluation.protocol"):
        run_protocol(ProtocolConfig(**config, show_progress=False))
    assert hashed == ["citrus-small"] and "Reused 1 of 1 runs" in caplog.text
