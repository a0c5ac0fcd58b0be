"""The pipelines' inputs and call options as a transformers user combines them (pipeline inputs audit 64, findings
1-6): file paths and WAV bytes in a list with one rate each, a file of signals at two rates read through
`channels=`, a named checkpoint scoring files that name no channels (as `citrus predict` does), a call's hop
replacing the construction's in the other spelling, one rate per recording as a pandas Series, and a None in a flat
list of samples named with its fix.

Tiny classifiers (100 Hz, 2 s windows of 10 patches) on the torch backend: each test takes about a second.
"""

from __future__ import annotations

import io
import logging

import numpy as np
import pandas as pd
import pytest
import scipy.io.wavfile
import torch
from tiny_configs import tiny_config, write_edf
from transformers import pipeline
from transformers.pipelines.pt_utils import KeyDataset

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

RATE = 100.0
RNG = np.random.default_rng(0)
LONG = RNG.standard_normal(730)  # 7.3 s at 100 Hz: three 2 s windows
SHORT = RNG.standard_normal(400)  # 8 s at 50 Hz
THREE = RNG.standard_normal((3, 730))


def _save(folder, **overrides) -> str:
    torch.manual_seed(0)
    config = tiny_config(num_labels=4, **overrides)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory) -> str:
    return _save(tmp_path_factory.mktemp("classifier"))


@pytest.fixture(scope="module")
def classify(classifier_folder):
    return pipeline(model=classifier_folder, backend="torch")


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    """A checkpoint fine-tuned on three named channels, whose head takes exactly those three."""
    folder = tmp_path_factory.mktemp("named")
    return pipeline(model=_save(folder, num_channels=3, channel_names=["ax", "ay", "az"]), backend="torch")


def _scores(results) -> list[float]:
    return [result["score"] for result in results]


def _wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    scipy.io.wavfile.write(buffer, rate, samples.astype(np.float32))
    return buffer.getvalue()


def _edf(path, signals: dict[str, tuple[np.ndarray, int]]) -> str:
    """An EDF+ file of `signals` (label -> (samples, rate)), in that order."""
    rates = [rate for _, rate in signals.values()]
    write_edf(path, [np.clip(samples, -9, 9) for samples, _ in signals.values()], list(signals), rates, peak=10)
    return str(path)


# ----------------------------------------------------------------------- 1. files in a list with one rate each


def test_paths_and_wav_bytes_in_a_list_are_read_with_their_own_rates(classify, tmp_path):
    """One rate per recording wrapped every item in a dict whose path was never read: "this pipeline reads files
    only where citrus_hf is installed", with citrus_hf installed."""
    expected = _scores(classify([LONG, SHORT], sampling_rate=[RATE, 50]))
    paths = [str(tmp_path / "long.npy"), str(tmp_path / "short.npy")]
    np.save(paths[0], LONG)
    np.save(paths[1], SHORT)
    assert _scores(classify(paths, sampling_rate=[RATE, 50])) == pytest.approx(expected, abs=1e-6)
    assert _scores(classify(paths, sampling_rate=np.array([RATE, 50]))) == pytest.approx(expected, abs=1e-6)
    # a WAV file's bytes record their rate: None for it, a number for the array beside it
    wav = _wav_bytes(LONG, 100)
    assert _scores(classify([wav, SHORT], sampling_rate=[None, 50])) == pytest.approx(expected, abs=1e-6)
    # a path as a dict's samples, with its rate
    assert classify({"raw": paths[1], "sampling_rate": 50})["score"] == pytest.approx(expected[1], abs=1e-6)
    # generators and `KeyDataset`s pair each recording with its rate too
    generator = (path for path in paths)
    assert _scores(classify(generator, sampling_rate=[RATE, 50])) == pytest.approx(expected, abs=1e-6)
    datasets = pytest.importorskip("datasets")
    table = datasets.Dataset.from_dict({"path": paths, "sampling_rate": [RATE, 50.0]})
    rows = classify(KeyDataset(table, "path"), sampling_rate=table["sampling_rate"])
    assert _scores(rows) == pytest.approx(expected, abs=1e-6)


def test_a_file_with_its_own_rate_in_a_list_follows_the_single_path_rules(classify, tmp_path):
    edf = _edf(tmp_path / "rest.edf", {"EEG": (LONG[:700], 100)})
    alone = classify(edf)["score"]
    both = classify([edf, SHORT], sampling_rate=[None, 50])
    assert _scores(both) == pytest.approx([alone, classify(SHORT, sampling_rate=50)["score"]], abs=1e-6)
    assert classify([edf, SHORT], sampling_rate=[100, 50])[0]["score"] == pytest.approx(alone, abs=1e-6)
    # another rate than the file records is refused, as for the path alone, naming the recording
    with pytest.raises(ValueError, match=r"^Recording 0: .*rest\.edf.*100") as error:
        classify([edf, SHORT], sampling_rate=[250, 50])
    assert "installed" not in str(error.value)


# ---------------------------------------------------------------- 2. a file of signals at two rates: channels=


def test_a_file_of_two_rates_is_read_through_the_channels_its_message_names(classify, classifier_folder, tmp_path):
    """The reader's "pick channels of one rate by name (--channels, or `channels=`)" led to an unexpected-parameter
    error: the pipeline now takes `channels=` and passes it to the reader, by name or position."""
    night = _edf(tmp_path / "night.edf", {"Temp": (RNG.standard_normal(7), 1), "EEG": (LONG[:700], 100)})
    with pytest.raises(ValueError, match=r"holds signals at 2 rates .*`channels=`"):
        classify(night)
    expected = classify(_edf(tmp_path / "eeg.edf", {"EEG": (LONG[:700], 100)}))["score"]
    assert classify(night, channels=["EEG"])["score"] == pytest.approx(expected, abs=1e-6)
    assert classify(night, channels=[1])["score"] == pytest.approx(expected, abs=1e-6)
    assert classify([night], channels=["EEG"])[0]["score"] == pytest.approx(expected, abs=1e-6)
    built = pipeline(model=classifier_folder, backend="torch", channels=["EEG"])
    assert built(night)["score"] == pytest.approx(expected, abs=1e-6)
    # the channels of an array are its rows: said, not ignored
    with pytest.raises(
        ValueError, match=r"`channels=\['EEG'\]` picks channels of a recording file.*signal\[\[0, 2\]\]"
    ):
        classify(LONG, sampling_rate=RATE, channels=["EEG"])


# ----------------------------------------------------------- 3. a named checkpoint and files that name no channels


def test_files_that_name_no_channels_are_read_in_their_order_by_a_named_checkpoint(named, tmp_path):
    """The reader's position names '0', '1', '2' were matched against the checkpoint's 'ax', 'ay', 'az' and refused;
    the samples as an array, and `citrus predict` on the same files, score them in the file's order."""
    expected = named(THREE, sampling_rate=RATE)["score"]
    np.save(tmp_path / "x.npy", THREE)
    np.savetxt(tmp_path / "x.csv", THREE.T, delimiter=",")
    scipy.io.wavfile.write(tmp_path / "x.wav", 100, THREE.T.astype(np.float32))
    for path, rate in (("x.npy", RATE), ("x.csv", RATE), ("x.wav", None)):
        assert named(str(tmp_path / path), sampling_rate=rate)["score"] == pytest.approx(expected, abs=1e-5), path


def test_a_file_naming_the_checkpoints_channels_is_read_by_name_and_others_as_citrus_predict_does(
    named, tmp_path, caplog
):
    expected = named(THREE[:, :700], sampling_rate=RATE)["score"]
    # the file's own order differs: its names pick the model's
    shuffled = _edf(
        tmp_path / "shuffled.edf", {name: (THREE[i, :700], 100) for i, name in ((2, "az"), (0, "ax"), (1, "ay"))}
    )
    assert named(shuffled)["score"] == pytest.approx(expected, abs=1e-4)
    # other names: refused for a head that takes exactly its channels, with the pipeline's way to pick them
    other = _edf(tmp_path / "other.edf", {name: (THREE[i, :700], 100) for i, name in enumerate(("x", "y", "z"))})
    with pytest.raises(ValueError, match=r"names its channels x, y, z.*no ax, ay, az.*`channels=\[NAME, \.\.\.\]`"):
        named(other)
    assert named(other, channels=["x", "y", "z"])["score"] == pytest.approx(expected, abs=1e-4)
    # a model that takes any channel count reads them in the file's order, saying so
    any_count = pipeline(
        model=_save(tmp_path / "any", channel_names=["ax", "ay", "az"], num_channels=3, channel_pooling="mean"),
        backend="torch",
    )
    with caplog.at_level(logging.WARNING):
        in_order = any_count(other)["score"]
    assert in_order == pytest.approx(any_count(THREE[:, :700], sampling_rate=RATE)["score"], abs=1e-4)
    assert "its channels are read in the file's order" in caplog.text


# --------------------------------------------------------------------- 4. the hop of the call, in either spelling


@pytest.mark.parametrize(
    ("built", "called"), [({"hop_seconds": 1.0}, {"hop_length": 50}), ({"hop_length": 100}, {"hop_seconds": 0.5})]
)
def test_a_calls_hop_replaces_the_constructions_in_the_other_spelling(classify, classifier_folder, built, called):
    expected = [window["start"] for window in classify(LONG, sampling_rate=RATE, **called)["windows"]]
    assert expected == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]
    pipe = pipeline(model=classifier_folder, backend="torch", **built)
    assert [window["start"] for window in pipe(LONG, sampling_rate=RATE, **called)["windows"]] == expected
    assert [window["start"] for window in pipe([LONG], sampling_rate=RATE, **called)[0]["windows"]] == expected
    # the construction's hop holds again on the next call
    assert [window["start"] for window in pipe(LONG, sampling_rate=RATE)["windows"]][:3] == [0.0, 1.0, 2.0]


# ------------------------------------------------------------------------------ 5. one rate each as a Series


def test_one_rate_per_recording_as_a_pandas_series_or_tuple(classify):
    """`sampling_rate=df["fs"]` went to every recording whole: "the sampling rate of recording 0 must be a
    positive number of Hz, got 0 100 1 50 Name: fs"."""
    table = pd.DataFrame({"signal": [LONG, SHORT], "fs": [100, 50]})
    expected = _scores(classify([LONG, SHORT], sampling_rate=[RATE, 50]))
    assert _scores(classify(list(table["signal"]), sampling_rate=table["fs"])) == pytest.approx(expected)
    assert _scores(classify([LONG, SHORT], sampling_rate=(RATE, 50))) == pytest.approx(expected)
    stream = (signal for signal in table["signal"])
    assert _scores(classify(stream, sampling_rate=table["fs"])) == pytest.approx(expected)


# --------------------------------------------------------------------------- 6. a None in a flat list of samples


def test_a_none_in_a_flat_list_of_samples_is_named_with_its_fix(classify):
    """One None (a JSON null) made the list "530 recordings" of one float each."""
    samples = LONG.tolist()
    samples[7] = None
    with pytest.raises(
        ValueError,
        match=r"^The recording, a list of 730 samples, holds None .* position\(s\): 7\. "
        r"Pass nan_policy='interpolate'",
    ):
        classify(samples, sampling_rate=RATE)
    with_nan = LONG.copy()
    with_nan[7] = np.nan
    expected = classify(with_nan, sampling_rate=RATE, nan_policy="interpolate")["score"]
    assert classify(samples, sampling_rate=RATE, nan_policy="interpolate")["score"] == pytest.approx(expected)
