"""What an audit at scale found: a validation carve quadratic in the windows per class, an EDF read that held 3.3
copies of the recording, the probe's forward passes unbounded in channels, and every row decoded three times to learn
its length. (The float64 memory bound of the extractor is in tests/test_feature_extraction.py.) No timings: each
test checks the structure that made the cost, or the memory it allocates."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Array2D, Dataset, Features, List, Value
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.data import budgets
from citrus_hf.data.alignment import _row_lengths
from citrus_hf.inference import pipelines
from citrus_hf.training import probe


def _carve_as_before(labels, groups, fraction, seed):
    """The carve as it was written before (comparing each moved recording's name with its whole class), the
    reference the counted carve must reproduce exactly."""
    groups = budgets.group_keys(groups, len(labels))
    rng = np.random.default_rng(seed)
    classes = budgets._class_indices(np.asarray(labels), len(labels))
    orders = []
    for members in classes:
        names = np.unique(groups[members])
        rng.shuffle(names)
        orders.append(names)
    kept, moved = {names[-1] for names in orders}, set()
    for members, names in zip(classes, orders):
        in_class = groups[members]
        taken = int(np.isin(in_class, list(moved)).sum()) if moved else 0
        for name in names:
            if taken >= fraction * len(members):
                break
            if name not in kept and name not in moved:
                moved.add(name)
                taken += int((in_class == name).sum())
    validation = np.flatnonzero(np.isin(groups, list(moved)))
    return np.setdiff1d(np.arange(len(labels)), validation), validation


@pytest.mark.parametrize("with_groups", [False, True])
def test_the_validation_carve_counts_each_recording_once_and_splits_as_before(with_groups):
    """200,000 windows without recording ids took 48 s to carve (every moved name compared with its whole class);
    the counted carve gives the same split."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 3000)
    groups = [f"r{value}" for value in rng.integers(0, 400, 3000)] if with_groups else None
    pool, validation = budgets.carve_validation(3000, labels, groups, fraction=0.2, seed=7)
    expected_pool, expected_validation = _carve_as_before(labels, groups, 0.2, 7)
    np.testing.assert_array_equal(pool, expected_pool)
    np.testing.assert_array_equal(validation, expected_validation)


def test_reading_an_edf_file_holds_about_one_copy_of_the_recording(tmp_path):
    """MNE's preloaded copy, the picked copy and the scaled one: 3.3 times the recording at once (70 GB for a 24 h,
    64-channel EEG at 512 Hz). Measured as the growth of the peak from 10 to 20 minutes, so that fixed costs cancel."""
    import tracemalloc

    import pyedflib

    from citrus_hf.data.readers import read_edf

    rate, channels = 256, 8
    peaks, sizes = [], []
    for minutes in (10, 20):
        signals = np.random.default_rng(0).standard_normal((channels, rate * 60 * minutes)) * 50
        path = tmp_path / f"{minutes}.edf"
        writer = pyedflib.EdfWriter(str(path), channels, file_type=pyedflib.FILETYPE_EDFPLUS)
        headers = [
            {"label": f"EEG {index}", "dimension": "uV", "sample_frequency": rate, "physical_max": 500,
             "physical_min": -500, "digital_max": 32767, "digital_min": -32768}
            for index in range(channels)
        ]  # fmt: skip
        writer.setSignalHeaders(headers)
        writer.writeSamples([np.ascontiguousarray(signal) for signal in signals])
        writer.close()
        tracemalloc.start()
        try:
            recording = read_edf(path)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        np.testing.assert_allclose(recording.data, signals, atol=0.02)
        sizes.append(recording.data.nbytes)
    growth = (peaks[1] - peaks[0]) / (sizes[1] - sizes[0])
    assert growth < 1.6, growth


def test_the_probe_and_test_scoring_hold_a_bounded_number_of_channel_sequences_per_pass():
    """`embed_dataset` and `recipes.predict` ran 128 windows per pass whatever the channel count (64 channels: 4.6 GB
    for the probe's states); the pipelines cap a pass at 1,024 window x channel sequences, and so do they now."""
    from citrus_hf.training.recipes import predict

    assert probe.MAX_CHANNEL_SEQUENCES_PER_PASS == pipelines.MAX_CHANNEL_SEQUENCES_PER_PASS
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, num_channels=64, channel_pooling="mean"))
    rows = np.random.default_rng(0).standard_normal((40, 64, 200)).astype(np.float32)
    dataset = Dataset.from_dict({"input_values": rows, "labels": [0, 1] * 20}).with_format("torch")
    passes = []
    model.base_model.register_forward_hook(lambda module, args, output: passes.append(args[0].shape[0]))
    embedded = probe.embed_dataset(model, dataset)
    assert passes == [16, 16, 8] and embedded.shape[0] == 40
    passes.clear()
    assert predict(model, dataset).shape == (40, 2) and passes == [16, 16, 8]
    torch.testing.assert_close(torch.as_tensor(embedded), torch.as_tensor(probe.embed_dataset(model, dataset, 8)))


def test_row_lengths_are_read_from_arrow_without_decoding_the_samples(monkeypatch):
    """Fine-tuning learnt every row's length by decoding all of its samples, three times over every split (21 s of a
    69 s run on 150,000 rows that fitted 50): the lengths come from the Arrow lists, as decoding them gives."""
    config = tiny_config()
    rng = np.random.default_rng(0)
    lengths = rng.integers(50, 400, 30)
    one_dimensional = Dataset.from_dict(
        {"input_values": [rng.standard_normal(n) for n in lengths], "sampling_rate": [250.0] * 30},
        Features({"input_values": List(Value("float32")), "sampling_rate": Value("float64")}),
    )
    two_dimensional = Dataset.from_dict(
        {"input_values": [rng.standard_normal((3, n)) for n in lengths]},
        Features({"input_values": List(List(Value("float32")))}),
    )
    fixed = Dataset.from_dict(
        {"input_values": rng.standard_normal((4, 2, 120))}, Features({"input_values": Array2D((2, 120), "float32")})
    )
    # channels of one fixed length in a list of any count (Arrow list<fixed_size_list>): the channel count was read
    # as the samples (150-sample rows aligned to 20)
    fixed_channels = Dataset.from_dict(
        {"input_values": [rng.standard_normal((channels, 150)) for channels in (2, 3)]},
        Features({"input_values": List(List(Value("float32"), length=150))}),
    )
    decoded = []
    sets = [(one_dimensional, None), (two_dimensional.select([5, 2, 9]), 100.0), (fixed, 50.0), (fixed_channels, 100.0)]
    for dataset, rate in sets:
        found = list(_row_lengths([dataset], config, rate))
        rates = dataset["sampling_rate"] if "sampling_rate" in dataset.column_names else [rate] * len(dataset)
        samples = [np.shape(np.asarray(row["input_values"]))[-1] for row in dataset]
        assert found == [(n, int(np.ceil(n * config.sampling_rate / r))) for n, r in zip(samples, rates)]
        decoded.append(samples)
    assert decoded[1] == [lengths[5], lengths[2], lengths[9]] and decoded[2] == [120] * 4 and decoded[3] == [150] * 2
    # the Arrow lists are read, not the samples: a column the reader cannot take is the only one decoded
    iterate = Dataset.iter

    def arrow_only(self, *args, **kwargs):
        assert self.format["type"] == "arrow", f"the rows were decoded ({self.format['type']} format)"
        return iterate(self, *args, **kwargs)

    monkeypatch.setattr(Dataset, "iter", arrow_only)
    assert len(list(_row_lengths([one_dimensional, two_dimensional], config, 100.0))) == 60


def test_windows_of_a_recording_of_more_than_1024_channels_run_through_the_pipeline(tmp_path):
    """A (channels, time) recording of 1,100 channels and 12 s passes the extractor's layout check, which sees it
    whole; its 2 s windows, with more channels than samples, were then refused by the model's check for raw batches,
    with advice to transpose them. A raw batch shaped so is still refused."""
    from transformers import pipeline

    from citrus_hf import CiTrusFeatureExtractor, CiTrusModel

    config = tiny_config()
    CiTrusModel(config).save_pretrained(tmp_path / "encoder")
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "encoder")
    recording = np.random.default_rng(0).standard_normal((1100, 1200)).astype(np.float32)
    embed = pipeline(model=str(tmp_path / "encoder"), backend="torch")
    result = embed(recording, sampling_rate=100)
    assert len(result["windows"]) == 6
    with pytest.raises(ValueError, match="looks like"):
        CiTrusModel(config)(torch.as_tensor(recording[None, :, :200]))
    # a raw transposed batch given to the backends by hand is still refused, and so is, through the pipeline, a
    # (time, channels) recording whose time axis is as long as the window (a shape no recording has)
    from citrus_hf.inference.backends import predict_windows

    transposed = torch.randn(4, 150, 6)
    with pytest.raises(ValueError, match="looks like"):
        predict_windows(embed.model, {"input_values": transposed}, backend="torch", target=None)
    with pytest.raises(ValueError, match="looks like"):
        embed(np.random.default_rng(1).standard_normal((200, 60)).astype(np.float32), sampling_rate=100)
