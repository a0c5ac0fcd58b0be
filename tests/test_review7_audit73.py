"""Review of the commits since 57e870a (audit73 review7): the seconds a padded last window counts for (the events of
`citrus predict --output X.tsv` / `.txt`, the time per label), packet-stamped CSVs whose packets vary in size and are
stamped with their last sample's time, and labels that MNE's annotations text cannot hold."""

from __future__ import annotations

import csv
import datetime

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.data.readers import read_recording
from citrus_hf.data.readers.files import SamplingRateError
from citrus_hf.inference.pipelines import counted_spans, label_seconds
from citrus_hf.inference.time_use import label_events

RATE = 100


def _window(start, end, label="rest", no_signal=None):
    """A classification pipeline's window whose top label is `label` (probability 0.6)."""
    labels = [{"label": label, "score": 0.6}, {"label": "other", "score": 0.4}]
    return {"start": start, "end": end, "label": label, "score": 0.6, "labels": labels, "no_signal": no_signal}


def test_a_short_last_window_touching_the_one_before_leaves_no_second_uncounted():
    """A last window padded out (--pad-last-window: 12-13.5 s after 10-12 s) has its middle nearer its start than a
    whole window's: split halfway between the middles (11.875 s), the seconds from there to 12 s fell in neither
    window's span, so the time per label left them out and one label's run was two events with a gap."""
    windows = [_window(8, 10), _window(10, 12), _window(12, 13.5)]
    assert counted_spans(windows).tolist() == [[8, 10], [10, 12], [12, 13.5]]
    assert label_seconds(windows, np.ones((3, 1), bool), ["rest"]) == {"rest": 5.5}
    events = label_events(windows, each_output=False)
    assert [(event["onset"], event["duration"]) for event in events] == [(8.0, 5.5)]
    # overlapping windows still split between their middles, within their overlap
    overlapping = [_window(0, 2), _window(1, 3), _window(2, 3.5)]
    assert counted_spans(overlapping).tolist() == [[0, 1.5], [1.5, 2.375], [2.375, 3.5]]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> str:
    """A tiny 2-label classifier of one channel at 100 Hz, 2 s windows, random weights."""
    torch.manual_seed(0)
    labels = {0: "rest", 1: "move"}
    folder = tmp_path_factory.mktemp("classifier")
    config = tiny_config(num_labels=2, id2label=labels, label2id={v: k for k, v in labels.items()})
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    return str(folder)


def test_predicted_events_with_a_padded_last_window_tile_the_recording(classifier, tmp_path, capsys):
    """README: one classifier's events tile the seconds scored; with --pad-last-window every second of a 13.5 s
    recording is in exactly one event."""
    recording = tmp_path / "r.npy"
    np.save(recording, np.random.default_rng(0).normal(size=(1, 1350)))
    table = tmp_path / "events.tsv"
    argv = ["predict", classifier, str(recording), "--sampling-rate", str(RATE), "--pad-last-window"]
    assert main([*argv, "--output", str(table)]) == 0
    with open(table, newline="") as handle:
        events = list(csv.DictReader(handle, delimiter="\t"))
    spans = [(float(event["onset"]), float(event["onset"]) + float(event["duration"])) for event in events]
    assert spans[0][0] == 0 and spans[-1][1] == pytest.approx(13.5)
    assert all(end == pytest.approx(start) for (_, end), (start, _) in zip(spans, spans[1:]))
    assert "of 13.5 s scored" in capsys.readouterr().out


def _last_stamped_packets(path, rate: float, sizes, lost: int | None = None):
    """A BLE wearable's CSV whose packets of `sizes` samples each carry their last sample's time (Polar's SDK
    stamps a frame so), in seconds; packet `lost` missing."""
    ends = np.cumsum(sizes) - 1
    rows = ["time,ecg"]
    first = 0
    for index, (size, end) in enumerate(zip(sizes, ends)):
        if index != lost:
            rows += [f"{1.7e9 + end / rate:.4f},{np.sin(first + sample):.4f}" for sample in range(size)]
        first += size
    path.write_text("\n".join(rows) + "\n")
    return path


def test_packets_of_varying_size_stamped_with_their_last_sample_are_read_at_their_rate(tmp_path):
    """The packets' step was taken from each packet's stamp to the next over the first packet's size: with the stamp
    of a packet's last sample and packets of 6 and 10 samples, a 125 Hz file was refused as a clock that goes back
    (an even packet size read as written before the packet clock). Whichever sample the stamps mark, the file reads
    at its rate, and another rate given is refused naming 125 Hz."""
    sizes = np.tile([6, 10], 60)
    path = _last_stamped_packets(tmp_path / "polar.csv", 125, sizes)
    recording = read_recording(path, sampling_rate=125)
    assert recording.data.shape == (1, sizes.sum())
    irregular = np.random.default_rng(1).integers(5, 12, 150)
    assert read_recording(_last_stamped_packets(tmp_path / "irregular.csv", 125, irregular), sampling_rate=125)
    with pytest.raises(SamplingRateError, match=r"--sampling-rate 125\b"):
        read_recording(path, sampling_rate=250)


def test_a_lost_packet_of_a_last_stamped_file_is_still_named_as_samples_missing(tmp_path):
    path = _last_stamped_packets(tmp_path / "lost.csv", 125, np.tile([6, 10], 60), lost=50)
    with pytest.raises(ValueError, match="samples missing"):
        read_recording(path, sampling_rate=125)


def test_a_label_with_a_hash_is_refused_for_mne_annotations(tmp_path, capsys):
    """MNE's annotations reader takes "#" as the start of a comment: "stage #2" was written and read back as
    "stage", silently. Refused before any recording is scored, as a comma is; a .tsv takes it."""
    labels = {0: "stage #1", 1: "stage #2"}
    config = tiny_config(num_labels=2, id2label=labels, label2id={v: k for k, v in labels.items()})
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "model")
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "model")
    recording = tmp_path / "r.npy"
    np.save(recording, np.zeros((1, 400)) + np.arange(400))
    argv = ["predict", str(tmp_path / "model"), str(recording), "--sampling-rate", str(RATE), "--output"]
    assert main([*argv, str(tmp_path / "e.txt")]) == 2
    err = capsys.readouterr().err
    assert "'stage #1'" in err and "#" in err.split("'stage #1'")[1]
    assert not (tmp_path / "e.txt").exists()
    assert main([*argv, str(tmp_path / "e.tsv")]) == 0


@pytest.mark.parametrize("offset", ["+01", "+01:00", " +01:00"])
def test_times_of_day_with_an_hours_only_offset_are_read_as_with_minutes(tmp_path, offset):
    """A time of day with its UTC offset in hours alone ("23:59:59.800+01", as PostgreSQL writes a timetz, and as a
    date-time's "+01" is read) was refused as a cell that is no number, the advice naming a pick of channels. It is
    read as "+01:00" is: on past midnight, and a gap named with the file's offset."""
    start = datetime.datetime(2025, 3, 1, 23, 59, 59, 800000)
    rows = ["time,a"]
    for index in range(50):  # 100 Hz, 0.5 s missing after the 20th sample, across midnight
        moment = start + datetime.timedelta(seconds=index / 100 + (0.5 if index >= 20 else 0))
        rows.append(f"{moment.strftime('%H:%M:%S.%f')[:-3]}{offset},{np.sin(index):.4f}")
    path = tmp_path / "t.csv"
    path.write_text("\n".join(rows[:21]) + "\n")  # the 20 samples before the gap
    assert read_recording(path, sampling_rate=100).data.shape == (1, 20)
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"jumps from 23:59:59\.99\+01:00 to 00:00:00\.5\+01:00"):
        read_recording(path, sampling_rate=100)


def _arrival_stamped_packets(path, lost: int | None = None):
    """A phone logger's CSV of a 125 Hz sensor's packets of 8 samples, each stamped (ms) as it arrived, 5 ms late or
    early (seeded); packet `lost` missing."""
    rng = np.random.default_rng(3)
    rows = ["timestamp_ms,ecg"]
    for index in range(300):
        stamp = 1.7e12 + index * 64 + rng.normal(0, 5)
        if index != lost:
            rows += [f"{stamp:.0f},{np.sin(index * 8 + sample):.4f}" for sample in range(8)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_packets_stamped_as_they_arrive_are_read_and_a_lost_one_still_refused(tmp_path):
    """Each sample was stamped from its packet's stamp, so a packet's stamp jitter moved its 8 samples together and
    the gap check, which took the stamps' jitter from their steps (within a packet: none), refused a packet 5 ms late
    as "samples missing". The packets' own jitter now weighs in; a lost packet (64 ms) is still refused."""
    assert read_recording(_arrival_stamped_packets(tmp_path / "ok.csv"), sampling_rate=125).data.shape == (1, 2400)
    with pytest.raises(ValueError, match="samples missing"):
        read_recording(_arrival_stamped_packets(tmp_path / "lost.csv", lost=150), sampling_rate=125)
