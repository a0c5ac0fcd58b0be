"""Audit 74 (round 2 of the classical stack): the MiniRocket baseline as a scikit-learn / aeon user calls it,
`fit_minirocket(train, labels, test, ...)` on arrays of their own (`examples/your_own_data.py`,
`examples/heart_rate_regression.py`), and `raw_windows` on a split of their own. Each test failed before its fix
unless it says it is a guard.

Reads the offline real corpus (BasicMotions: 6 motion channels of 100 samples, 4 classes); fetch it first with
`citrus data fetch --offline-corpus`.
"""

from __future__ import annotations

import numpy as np
import pytest
from tiny_configs import tiny_config

from citrus_hf.evaluation.baselines import fit_minirocket, raw_windows


@pytest.fixture(scope="module")
def motions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BasicMotions' first 16 training windows `(16, 6, 100)` float64, their class ids (4 classes, 4 each), and 8
    test windows."""
    pytest.importorskip("aeon")
    from citrus_hf.data.splits import load_split

    train = load_split("basic_motions", "train").with_format("numpy")[:]
    test = load_split("basic_motions", "test").with_format("numpy")[:8]
    labels = np.asarray(train["label"], dtype=np.int64)
    chosen = np.sort(np.concatenate([np.flatnonzero(labels == c)[:4] for c in range(4)]))
    windows = np.stack(train["input_values"]).astype(np.float64)
    return windows[chosen], labels[chosen], np.stack(test["input_values"]).astype(np.float64)


def _fit(train, labels, test, **options):
    return fit_minirocket(train, labels, test, "classification", 0, **options)


@pytest.mark.parametrize(
    ("relabel", "said"),
    [
        (lambda ids: ids - 1, r"got -1, 0, 1, 2\."),  # ids from -1: class -1 took the last column's place
        (lambda ids: np.array(["idle", "walk", "run", "badminton"])[ids], r"got 'badminton', 'idle', 'run', 'walk'"),
        (lambda ids: ids + 0.5, r"got 0\.5, 1\.5, 2\.5, 3\.5"),  # truncated to 0..3 without a word
    ],
    ids=["ids-from-minus-one", "class-names", "fractional"],
)
def test_labels_that_are_not_class_ids_are_refused_with_the_fix(motions, relabel, said):
    """The scores' columns are the class ids. Labels from -1 gave scores of 3 columns for 4 classes, class -1's
    written over class 2's (numpy's negative index), without a word; class names failed inside with "invalid literal
    for int()"; fractional labels were truncated into ids."""
    train, labels, test = motions
    with pytest.raises(ValueError, match=rf"labels must be class ids 0, 1, 2, \.\.\..*{said}.*np\.unique\(labels"):
        _fit(train, relabel(labels), test)
    # the fix the message gives scores every class
    _, ids = np.unique(relabel(labels), return_inverse=True)
    assert _fit(train, ids, test).shape == (8, 4)


def test_label_beyond_num_classes_and_one_class_are_refused(motions):
    """`num_classes` below a label failed with numpy's IndexError; one class with aeon's words."""
    train, labels, test = motions
    with pytest.raises(ValueError, match=r"num_classes=3, but a label is 3; class ids run from 0 to num_classes - 1"):
        _fit(train, labels, test, num_classes=3)
    with pytest.raises(ValueError, match=r"labels are all class 2; a classifier needs examples of at least two"):
        _fit(train, np.full(len(train), 2), test)
    with pytest.raises(ValueError, match=r"labels have shape \(16, 4\); give one class id per training series"):
        _fit(train, np.eye(4)[labels], test)


def test_labels_as_a_list_or_booleans_are_class_ids(motions):
    """A list of ids was refused by aeon ("y must be a np.array or a pd.Series"); it is the array's ids."""
    train, labels, test = motions
    np.testing.assert_array_equal(_fit(train, labels.tolist(), test), _fit(train, labels, test))
    two = labels % 2
    np.testing.assert_array_equal(_fit(train, two.astype(bool), test), _fit(train, two, test))


def test_an_array_of_time_by_channels_is_refused_with_the_transpose(motions):
    """aeon reads `(n, channels, time)`: BasicMotions as `(n, time, channels)` was refused with "zero pad shorter
    series so that n_timepoints == 9" (the wrong fix), and with 12 channels (9 or more samples per "series") it was
    fitted as 100 channels of 12 samples, without a word."""
    train, labels, test = motions
    with pytest.raises(ValueError, match=r"train has shape \(16, 100, 6\), which looks like \(n, time, channels\)"):
        _fit(train.transpose(0, 2, 1), labels, test.transpose(0, 2, 1))
    twelve, twelve_test = (np.concatenate([x, x], axis=1).transpose(0, 2, 1) for x in (train, test))
    with pytest.raises(ValueError, match=r"100 channels of 12 samples each\. Pass `train\.transpose\(0, 2, 1\)`"):
        _fit(twelve, labels, twelve_test)


def test_non_finite_samples_and_targets_are_refused_with_the_fix(motions):
    """Infinite samples were fitted into NaN features without a word (a few RuntimeWarnings); NaN ones and NaN
    regression targets were refused in aeon's words, naming no fix."""
    train, labels, test = motions
    for bad in (np.inf, np.nan):
        scored = test.copy()
        scored[3, 2, 50] = bad
        with pytest.raises(ValueError, match=r"test holds NaN or infinite samples inside series 3 .*interpolat"):
            _fit(train, labels, scored)
    targets = train[:, 0].mean(axis=1)
    targets[5] = np.nan
    with pytest.raises(ValueError, match=r"regression targets hold NaN or infinite values \(first of series 5\)"):
        fit_minirocket(train, targets, test, "regression", 0)


def test_nan_length_padding_is_left_out_as_the_protocol_leaves_it_out(motions):
    """tslearn's `to_time_series_dataset` holds series of different lengths as NaN after each one's end (and the
    package's extractor and `raw_windows` read NaN in every channel at a series' start or end as such padding): aeon
    refused the array. Such a series is now fitted as its samples zero-padded at the end, as the protocol's arm pads
    it; a NaN in one channel only is no padding and is still refused."""
    train, labels, test = motions
    ragged, zeroed = train.copy(), train.copy()
    ragged[::3, :, 60:], zeroed[::3, :, 60:] = np.nan, 0.0
    ragged[1, :, :10] = np.nan  # padding at the start: the series starts later
    zeroed[1] = np.pad(train[1, :, 10:], [(0, 0), (0, 10)])
    np.testing.assert_allclose(_fit(ragged, labels, test), _fit(zeroed, labels, test))
    ragged[2, 0, 90:] = np.nan
    with pytest.raises(ValueError, match=r"train holds NaN or infinite samples inside series 2 \(NaN in every"):
        _fit(ragged, labels, test)


def test_short_and_unequal_series_are_zero_padded_as_the_protocol_pads_them(motions):
    """Series shorter than MiniRocket's 9-sample kernels, and test series of another length than the training ones,
    were refused by aeon, and so was aeon's own unequal-length collection (a list of arrays); the protocol's arm
    zero-pads its splits to one length of at least 9 (`raw_windows`, `padded_to_common_length`), and `fit_minirocket`
    now does the same for arrays of one's own."""
    train, labels, test = motions
    short = _fit(train[..., :8], labels, test[..., :8])
    padded = [np.pad(x[..., :8], [(0, 0), (0, 0), (0, 1)]) for x in (train, test)]
    np.testing.assert_allclose(short, _fit(padded[0], labels, padded[1]))
    unequal = _fit(train, labels, test[..., :60])
    np.testing.assert_allclose(unequal, _fit(train, labels, np.pad(test[..., :60], [(0, 0), (0, 0), (0, 40)])))
    # aeon's unequal-length collection, a list of (channels, time) arrays, is padded alike
    cut = [window[:, : 60 + 10 * (index % 4)] for index, window in enumerate(train)]
    stacked = np.stack([np.pad(window, [(0, 0), (0, 90 - window.shape[-1])]) for window in cut])
    np.testing.assert_allclose(_fit(cut, labels, list(test)), _fit(stacked, labels, test))
    with pytest.raises(ValueError, match=r"train series have 6 channel\(s\) and its test series 5"):
        _fit(train, labels, test[:, :5])


@pytest.mark.parametrize(
    "layout",
    [
        lambda x: x.astype(np.float32),
        lambda x: np.asfortranarray(x),
        lambda x: np.repeat(x, 2, axis=-1)[..., ::2],  # a strided view
        lambda x: x[:, :1, :][:, 0, :],  # (n, time): one channel, as aeon reads a 2-D array
    ],
    ids=["float32", "fortran", "strided", "two-dimensional"],
)
def test_dtype_and_memory_layout_do_not_change_the_scores(motions, layout, tmp_path):
    """Guard (passed before): aeon users hand over float32, Fortran-ordered, strided and memory-mapped arrays."""
    train, labels, test = motions
    contiguous = [np.ascontiguousarray(layout(x), dtype=np.float64) for x in (train, test)]
    reference = _fit(contiguous[0], labels, contiguous[1])
    np.testing.assert_allclose(_fit(layout(train), labels, layout(test)), reference)
    np.save(tmp_path / "train.npy", layout(train))
    mapped = np.load(tmp_path / "train.npy", mmap_mode="r")
    np.testing.assert_allclose(_fit(mapped, labels, layout(test)), reference)


def test_raw_windows_refuses_rows_of_different_channel_counts_and_an_empty_split():
    """A split of one's own whose rows hold 2 and 1 channels was stacked by broadcasting the 1-channel row's channel
    into both, without a word; an empty split failed with "'int' object is not iterable"."""
    from datasets import Dataset

    from citrus_hf.data.splits import load_split

    rows = load_split("basic_motions", "train").with_format("numpy")[:3]
    values = [rows["input_values"][0][:2].tolist(), rows["input_values"][1][:1].tolist(), rows["input_values"][2][:2]]
    mixed = Dataset.from_dict({"input_values": [np.asarray(v).tolist() for v in values], "label": [0, 1, 0]})
    with pytest.raises(ValueError, match=r"Row 1 of the train split has 1 channel\(s\) and its first row 2"):
        raw_windows(mixed, where="train split")
    empty = Dataset.from_dict({"input_values": [], "label": []})
    with pytest.raises(ValueError, match=r"The test split has no rows"):
        raw_windows(empty, where="test split")


@pytest.mark.parametrize(
    ("metric", "y_pred", "said"),
    [
        ("balanced_accuracy", [0, 1, 1], "4 labels but y_pred has 3"),
        ("macro_f1", [0, 1, 1], "4 labels but y_pred has 3"),
        ("binary_auroc", [0.2, 0.9, 0.7], "4 labels but scores has 3"),
        ("macro_auroc", [[0.8, 0.2], [0.1, 0.9], [0.3, 0.7]], "4 labels but probabilities has 3"),
        ("pearson_r", [5.0], "4 values but y_pred has 1"),  # a constant side: a NaN, without a word
    ],
)
def test_metrics_refuse_predictions_that_do_not_pair_up_with_the_labels(metric, y_pred, said):
    """As scikit-learn's metrics refuse "inconsistent numbers of samples": the package's metrics (what
    `examples/your_own_data.py` scores MiniRocket with) failed with numpy's words ("boolean index did not match",
    "operands could not be broadcast", a matmul's "core dimension"), and pearson_r of one prediction gave NaN."""
    from citrus_hf.training import metrics

    with pytest.raises(ValueError, match=rf"y_true has {said}; they must pair up, one per example"):
        getattr(metrics, metric)([0, 1, 1, 0], y_pred)


def _motions_as_pandas_collections() -> tuple[np.ndarray, object, object]:
    """BasicMotions' first 4 training windows `(4, 6, 100)`, and the same as sktime's / aeon's pandas collections:
    'pd-multiindex' (rows of (case, time), a column per channel) and 'nested_univ' (a row per case, a column per
    channel, each cell a series)."""
    import pandas as pd

    from citrus_hf.data.splits import load_split

    windows = np.stack(load_split("basic_motions", "train").with_format("numpy")[:4]["input_values"])
    index = pd.MultiIndex.from_product([range(4), range(100)], names=["instance", "timepoint"])
    channels = [f"dim_{c}" for c in range(6)]
    multiindex = pd.DataFrame(windows.transpose(0, 2, 1).reshape(-1, 6), index=index, columns=channels)
    nested = pd.DataFrame({name: [pd.Series(case[c]) for case in windows] for c, name in enumerate(channels)})
    return windows, multiindex, nested


def test_pandas_collections_of_series_are_refused_with_their_own_fix(tmp_path):
    """A sktime / aeon user's collection as a pandas DataFrame got the advice for a recording, `frame.to_numpy().T`:
    followed, a (case, time)-indexed frame became one recording of every case's samples glued together (scored as
    one, without a word), and a frame of nested series had its cases read as channels. The extractor and the
    pipelines now name the collection's format and the fix, which aligns exactly as the windows' array does."""
    from transformers import pipeline

    from citrus_hf import CiTrusFeatureExtractor, CiTrusModel

    windows, multiindex, nested = _motions_as_pandas_collections()
    config = tiny_config(num_channels=6)
    extractor = CiTrusFeatureExtractor.from_config(config)
    expected = extractor(windows, sampling_rate=10)["input_values"]
    with pytest.raises(TypeError, match=r"indexed by \['instance', 'timepoint'\]: a collection of 4 series, .*"
                       r"'pd-multiindex'.*`\[case\.to_numpy\(\)\.T for _, case in frame\.groupby\(level=0\)\]`"):  # fmt: skip
        extractor(multiindex, sampling_rate=10)
    with pytest.raises(TypeError, match=r"DataFrame of nested series: a collection of 4 series, sktime's 'nested_"
                       r"univ'.*`\[np\.stack\(row\) for row in frame\.to_numpy\(\)\]`"):  # fmt: skip
        extractor(nested, sampling_rate=10)
    fixed = [case.to_numpy().T for _, case in multiindex.groupby(level=0)]
    np.testing.assert_array_equal(extractor(fixed, sampling_rate=10)["input_values"], expected)
    fixed = [np.stack(row) for row in nested.to_numpy()]
    np.testing.assert_array_equal(extractor(fixed, sampling_rate=10)["input_values"], expected)

    CiTrusModel(config).save_pretrained(tmp_path)
    extractor.save_pretrained(tmp_path)
    embed = pipeline(model=str(tmp_path))
    for frame, said in ((multiindex, "'pd-multiindex'"), (nested, "'nested_univ'")):
        with pytest.raises(TypeError, match=said):
            embed(frame, sampling_rate=10)


def test_a_dataframe_of_one_recording_keeps_its_advice():
    """Guard (passed before): a plain DataFrame of one recording, (time, channels), is still told to pass its
    transpose."""
    from citrus_hf import CiTrusFeatureExtractor

    windows, multiindex, _ = _motions_as_pandas_collections()
    recording = multiindex.loc[0]  # one case: rows of time, a column per channel
    with pytest.raises(TypeError, match=r"rows are usually time and columns channels; pass `frame\.to_numpy\(\)\.T`"):
        CiTrusFeatureExtractor.from_config(tiny_config(num_channels=6))(recording, sampling_rate=10)
    np.testing.assert_array_equal(recording.to_numpy().T, windows[0])


def test_a_npy_file_of_a_collection_names_the_layout_and_the_fix(tmp_path, capsys):
    """An aeon / sktime user's `np.save("X_test.npy", X)` of `(n_cases, n_channels, n_timepoints)`, given to
    `citrus predict` or a pipeline as a file, was refused as no recording naming no way on; the refusal now says it
    holds n recordings and how to score them, and the list it advises scores each one."""
    from transformers import pipeline

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
    from citrus_hf.commands.main import main
    from citrus_hf.data import CitrusDataError

    windows, _, _ = _motions_as_pandas_collections()
    path = tmp_path / "X_test.npy"
    np.save(path, windows)
    config = tiny_config(num_channels=6, num_labels=2)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "model")
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "model")
    said = r"holds an array of shape \(4, 6, 100\): 4 recordings as \(n, channels, time\), aeon's layout"
    assert main(["predict", str(tmp_path / "model"), str(path), "--sampling-rate", "10"]) == 2
    assert "4 recordings as (n, channels, time), aeon's layout" in capsys.readouterr().err
    classify = pipeline(model=str(tmp_path / "model"))
    with pytest.raises(CitrusDataError, match=rf"{said}.*`pipe\(list\(np\.load\(path\)\), sampling_rate=\.\.\.\)`"):
        classify(str(path), sampling_rate=10)
    assert len(classify(list(np.load(path)), sampling_rate=10)) == 4
