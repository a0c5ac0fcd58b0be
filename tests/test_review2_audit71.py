"""Session 71, a second reviewer's look at the session's later changes and the uses next to them.

- `citrus data build FILE` of a data file without an `input_values` column stopped with a KeyError traceback from the
  dataset card's statistics (`citrus data info` of the same file names the missing column and the fix).
- `citrus data info` / `citrus data build` of a set whose `label` holds lists (multi-label: class names or ids per
  row) stopped with "TypeError: unhashable type: 'list'" from the class counts; `citrus finetune` refuses such a set
  with its way out, and the summary now counts the rows that hold each class.
- A CSV with a header whose time column made its columns outnumber its rows (`time,a,b,c` over 3 rows: 3 channels of
  3 samples) was refused as "4 channels of 3 samples", the UCR archive's layout: the time column is no channel.
- `citrus data info settings.json` whose settings hold a misspelt key was read as a data file and refused as having
  no `input_values` column; it is now refused as a settings file naming the unknown key.

Data sets of a few rows, no model: a few seconds in all.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from datasets import Dataset, DatasetDict

from citrus_hf.commands.main import main
from citrus_hf.data.readers.files import read_recording


def test_data_build_of_a_file_without_input_values_names_the_column(tmp_path, capsys, own_datasets_cache):  # noqa: F811
    path = tmp_path / "rows.jsonl"
    path.write_text('{"signal": [1, 2, 3], "label": 0}\n{"signal": [4, 5, 6], "label": 1}\n')
    assert main(["data", "build", str(path)]) != 0
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert "no `input_values` column" in error


def _multi_label_set(folder) -> None:
    rng = np.random.default_rng(0)
    signals = rng.standard_normal((4, 1, 200)).astype(np.float32).tolist()
    labels = [["walk"], ["walk", "run"], ["run"], ["sit", "walk"]]
    split = Dataset.from_dict({"input_values": signals, "label": labels, "sampling_rate": [100.0] * 4})
    DatasetDict(train=split, test=split).save_to_disk(str(folder))


def test_data_info_of_a_multi_label_set_counts_the_rows_of_each_class(tmp_path, capsys):
    _multi_label_set(tmp_path / "set")
    assert main(["data", "info", str(tmp_path / "set"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["splits"]["train"]["per_class"] == {"run": 2, "sit": 1, "walk": 3}
    assert info["classes"] == ["run", "sit", "walk"]
    assert info["fine_tuning"]["ready"] is False
    assert "multi-label" in info["fine_tuning"]["problem"]


def test_data_build_of_a_multi_label_set_is_summarised(tmp_path, capsys, own_datasets_cache):  # noqa: F811
    _multi_label_set(tmp_path / "set")
    assert main(["data", "build", str(tmp_path / "set"), "--output", str(tmp_path / "saved"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["splits"]["test"]["per_class"] == {"run": 2, "sit": 1, "walk": 3}


def test_a_csv_whose_time_column_outnumbers_its_rows_is_read(tmp_path):
    path = tmp_path / "clip.csv"
    path.write_text("time,a,b,c\n0,1,2,3\n0.01,4,5,6\n0.02,7,8,9\n")
    recording = read_recording(path, sampling_rate=100)
    assert recording.channel_names == ["a", "b", "c"]
    np.testing.assert_array_equal(recording.data, [[1, 4, 7], [2, 5, 8], [3, 6, 9]])
    # a table of more channels than rows is still refused (the UCR archive's layout)
    path.write_text("time,a,b,c,d\n0,1,2,3,4\n0.01,4,5,6,7\n0.02,7,8,9,1\n")
    with pytest.raises(ValueError, match="4 channels of 3 samples"):
        read_recording(path, sampling_rate=100)


def test_a_settings_file_with_a_misspelt_key_is_refused_as_settings(tmp_path, capsys):
    path = tmp_path / "settings.json"
    path.write_text('{"name": "myo_gestures", "windw_seconds": 5}')
    assert main(["data", "info", str(path)]) != 0
    error = capsys.readouterr().err
    assert "windw_seconds" in error and "window_seconds" in error
    assert "input_values" not in error
