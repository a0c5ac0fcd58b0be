"""Audit 64, names that are not plain identifiers: an EDF signal labelled as MNE names a channel type, WFDB record
names wfdb cannot take, dataset paths holding "=" in `citrus evaluate`'s per-dataset options, and class or dataset
names holding "|" or a line break in the model card's tables."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from citrus_hf.commands.evaluate import build_parser
from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_recording, read_wfdb

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from tiny_configs import tiny_config, write_edf  # noqa: E402


def _write_edf(path: Path, labels: list[str]) -> np.ndarray:
    """A 5 s EDF+ file of `labels` at 100 Hz in µV; returns the samples written, `(channels, time)`."""
    samples = np.random.default_rng(0).uniform(-50, 50, (len(labels), 500))
    write_edf(path, list(samples), labels, 100, peak=100)
    return samples


@pytest.mark.parametrize(("labels", "channels"), [(["eeg"], None), (["all", "x"], ["all"]), (["data", "x"], ["data"])])
def test_an_edf_signal_labelled_as_an_mne_channel_type_is_read(tmp_path, labels, channels):
    """MNE reads a string pick as a channel type too, and refused "eeg", "all" or "data" as ambiguous."""
    path = tmp_path / "rec.edf"
    written = _write_edf(path, labels)
    recording = read_recording(path, channels)
    assert recording.channel_names == (channels or labels)
    rows = [labels.index(name) for name in recording.channel_names]
    np.testing.assert_allclose(recording.data, written[rows], atol=0.01)


def _write_wfdb(folder: Path, name: str) -> None:
    wfdb = pytest.importorskip("wfdb")
    signal = np.random.default_rng(0).standard_normal((200, 1))
    wfdb.wrsamp(name, fs=100, units=["mV"], sig_name=["ECG"], p_signal=signal, fmt=["16"], write_dir=str(folder))


@pytest.mark.parametrize(("name", "odd"), [("rec 1", "' '"), ("réc", "'é'")])
def test_a_wfdb_record_name_wfdb_cannot_parse_is_named_as_such(tmp_path, name, odd):
    """wfdb writes these names and cannot read them back; its failure read as a damaged download."""
    _write_wfdb(tmp_path, name)
    with pytest.raises(CorruptFileError) as caught:
        read_recording(tmp_path / f"{name}.hea")
    message = str(caught.value)
    assert odd in message and "ASCII letters, digits" in message and "Rename the record" in message
    assert "re-download" not in message and "incomplete" not in message


def test_a_wfdb_header_with_an_upper_case_suffix_is_named_with_the_rename(tmp_path):
    _write_wfdb(tmp_path, "REC2")
    (tmp_path / "REC2.hea").rename(tmp_path / "REC2.HEA")
    for path in (tmp_path / "REC2.HEA", tmp_path / "REC2"):
        with pytest.raises(CorruptFileError, match=r"upper case.*Rename it to REC2\.hea") as caught:
            read_wfdb(path, None)
        assert "incomplete" not in str(caught.value)
    with pytest.raises(CorruptFileError, match=r"Rename it to REC2\.hea"):
        read_recording(tmp_path / "REC2.HEA")


def test_read_wfdb_takes_the_header_path(tmp_path):
    """A folder listing gives `100.hea`; wfdb looked for `100.hea.hea` and the record was called incomplete."""
    _write_wfdb(tmp_path, "r_1-a")
    assert read_wfdb(tmp_path / "r_1-a.hea", None).channel_names == ["ECG"]


def test_evaluate_names_a_dataset_whose_path_holds_equals(tmp_path):
    """A hydra-style folder (`runs/fs=100`) in every per-dataset option: the pairs were split at the first "=",
    naming a cut-off path or "an invalid number"."""
    dataset = str(tmp_path / "runs" / "fs=100")
    Path(dataset).mkdir(parents=True)
    config = build_parser().parse(
        [
            "--datasets", dataset, "basic_motions", "hr_ecg",
            "--sampling-rate", f"{dataset}=100", "basic_motions=10",
            "--train-split", f"{dataset}=training",
            "--test-split", f"{dataset}=holdout",
            "--alignment", f"{dataset}=interpolate",
            "--normalization", f"{dataset}=window",
            "--dataset-budgets", f"{dataset}=5,all",
            "--dataset-options", f"{dataset}:window_seconds=5", f"{dataset}:hop_seconds=2.5", "hr_ecg:x=a:b=c",
            "--checkpoints", f"citrus-time={tmp_path}/ckpt=1",
        ]
    )  # fmt: skip
    assert config.sampling_rate == {dataset: 100.0, "basic_motions": 10.0}
    assert config.train_split == {dataset: "training"}
    assert config.test_split == {dataset: "holdout"}
    assert config.alignment == {dataset: "interpolate"}
    assert config.normalization == {dataset: "window"}
    assert config.dataset_budgets[dataset] == ["5", "all"]
    assert config.dataset_options == {dataset: {"window_seconds": 5, "hop_seconds": 2.5}, "hr_ecg": {"x": "a:b=c"}}
    # an arm's name holds no "=" and its checkpoint's path may: split at the first
    assert config.checkpoints == {"citrus-time": f"{tmp_path}/ckpt=1"}


def test_the_card_escapes_class_and_dataset_names_in_its_tables():
    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.publishing.cards import build_model_card, evaluation_table_rows

    labels = ["normal", "AF|flutter", "noise\nartifact"]
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3, id2label=dict(enumerate(labels))))
    results = {
        "results": [
            {"dataset": "sets/a|b", "split": "test", "metric": "accuracy", "value": 0.9},
            {"dataset": "sets/a|b", "split": "test", "metric": "accuracy", "value": 0.8, "method": "MiniRocket"},
        ]
    }
    card = build_model_card(model, repo_id="me/citrus", eval_results=results)
    lines = str(card).splitlines()
    assert "| Labels | 3 (0: normal, 1: AF\\|flutter, 2: noise artifact) |" in lines
    assert "| sets/a\\|b | test | baseline: MiniRocket | accuracy |  |  | 0.8 |" in lines
    assert [row["dataset"] for row in evaluation_table_rows(card)] == ["sets/a\\|b"] * 2
    # the next card of this model keeps the baseline's row, which a cell holding "|" made unreadable
    again = build_model_card(model, repo_id="me/citrus", eval_results=results["results"][:1], previous_card=card)
    assert "| sets/a\\|b | test | baseline: MiniRocket | accuracy |  |  | 0.8 |" in str(again).splitlines()


def test_the_card_escapes_channel_names_in_the_input_contract():
    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.publishing.cards import build_model_card

    config = tiny_config(num_labels=2, num_channels=2, channel_names=["Fp1|ref", "Fp2\nref"])
    card = build_model_card(CiTrusForSequenceClassification(config), repo_id="me/citrus")
    row = next(line for line in str(card).splitlines() if line.startswith("| Channels |"))
    assert row.startswith("| Channels | 2: Fp1\\|ref, Fp2 ref;") and row.endswith("|")
