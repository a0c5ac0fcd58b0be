"""Numbers at the edges and pre-training streams: each case a silent wrong answer or a wrong refusal an audit found
(half-precision overflow, statistics of channels on a large offset, bf16 outputs that depended on the batch, the
Trainer on a stream, the mix's share, seeds that collided)."""

import itertools

import datasets
import numpy as np
import pytest
import torch
from transformers import Trainer, TrainingArguments

from citrus_hf import CiTrusFeatureExtractor, CiTrusForPretraining, CiTrusForSequenceClassification
from citrus_hf.data.alignment import channel_statistics
from citrus_hf.data.streams import SyntheticWindowStream
from citrus_hf.data.synthetic import active_generators, build_generator
from citrus_hf.loading import build_config


def test_a_float16_model_refuses_inputs_that_would_overflow_it():
    """Logits were NaN from inputs of 1e4 (the patch embedding passes float16's 65504), with no error."""
    config = build_config("tiny", num_labels=3)
    model = CiTrusForSequenceClassification(config).eval()
    windows = torch.randn(2, 1, config.context_length)
    half = CiTrusForSequenceClassification(config).to(torch.float16).eval()
    half.load_state_dict({name: value.half() for name, value in model.state_dict().items()})
    with torch.no_grad():
        assert torch.isfinite(half(input_values=windows * 100).logits).all()
        with pytest.raises(ValueError, match=r"beyond 1000, where the model's float16 arithmetic overflows"):
            half(input_values=windows * 1e4)
        assert torch.isfinite(model(input_values=windows * 1e4).logits).all()  # float32 holds it


@pytest.mark.parametrize(
    "values",
    [
        1e5 + 0.05 * np.sin(np.arange(3000) / 7.0),
        2**23 - 100 + np.round(3 * np.sin(np.arange(3000) / 5.0)),
        1e7 + 0.1 * np.sin(np.arange(3000) / 3.0),
    ],
    ids=["offset_sine", "adc_counts", "large_offset"],
)
def test_channel_statistics_hold_a_variation_on_a_large_offset(values):
    """sqrt(E[x^2] - mean^2), on float32 copies, read 1e5 + 0.05 sin 7.6% low and 1e7 + 0.1 sin as constant."""
    rows = [values[None] + 0.01 * k for k in range(8)]
    mean, std = channel_statistics(datasets.Dataset.from_dict({"input_values": rows}))
    stacked = np.stack(rows)
    np.testing.assert_allclose(std, [stacked.std()], rtol=1e-6)
    np.testing.assert_allclose(mean, [stacked.mean()], rtol=1e-12)


def test_float64_recordings_below_float32s_range_are_refused():
    """They became float32 subnormals, then zeros, without a word (values beyond its range were refused)."""
    extractor = CiTrusFeatureExtractor(sampling_rate=100, context_length=200, patch_length=20)
    recording = np.sin(np.arange(400) / 5.0)[None]
    with pytest.raises(ValueError, match="below float32's smallest normal number .* rescale it"):
        extractor(recording * 1e-44, sampling_rate=100)
    assert extractor(recording * 1e-30, sampling_rate=100)["input_values"].any()


def test_a_full_windows_output_does_not_depend_on_a_padded_window_in_its_batch():
    """With a padded window in the batch every window ran with a mask, which takes another attention kernel; in bf16
    its rounding moved the full windows' logits by more than bf16's own error."""
    from citrus_hf.inference.backends import cpu_bf16_support, predict_windows

    # citrus-small: heads wider than 8 run SDPA in bf16, the kernel whose masked and unmasked rounding differ
    model = CiTrusForSequenceClassification.from_pretrained("citrus-small", num_labels=3).eval()
    extractor = CiTrusFeatureExtractor.from_pretrained("citrus-small")
    recording = np.random.default_rng(0).standard_normal((1, 100 * 40 + 37))  # 40.37 s at 100 Hz
    features = extractor(recording, sampling_rate=100, alignment="window", pad_last_window=True, return_tensors="pt")
    assert not bool(features["patch_mask"][-1].all())
    backends = ["torch"] + (["bf16"] if cpu_bf16_support() else [])
    for backend in backends:
        together = predict_windows(model, features, backend=backend, batch_size=len(features["input_values"]))
        alone = predict_windows(model, features, backend=backend, batch_size=1)
        torch.testing.assert_close(together, alone, atol=1e-6, rtol=0)


class _LabelledStream(torch.utils.data.IterableDataset):
    def __iter__(self):
        rng = np.random.default_rng(0)
        while True:
            yield {"input_values": torch.tensor(rng.standard_normal((1, 100)), dtype=torch.float32), "labels": 1}


def test_the_trainer_takes_a_stream_and_a_fresh_pretraining_model_takes_any_channel_count(tmp_path):
    """Trainer(train_dataset=<torch IterableDataset>) raised NotImplementedError from the channel check (torch's
    IterableDataset has a `__getitem__` that raises), and a fresh CiTrusForPretraining (no `architectures` yet) was
    refused 2-channel rows its forward takes."""
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=4, report_to=[], save_strategy="no", use_cpu=True)  # fmt: skip
    config = build_config("tiny")
    stream = SyntheticWindowStream(config.sampling_rate, config.context_length, config.patch_length, generators=[build_generator("kernel_synth")], seed=0)  # fmt: skip
    Trainer(model=CiTrusForPretraining(config), args=args, train_dataset=stream)
    Trainer(model=CiTrusForSequenceClassification(build_config("tiny", num_labels=2)), args=args, train_dataset=_LabelledStream())  # fmt: skip
    rows = datasets.Dataset.from_dict({"input_values": [np.random.randn(2, 100).astype(np.float32) for _ in range(8)]})
    Trainer(model=CiTrusForPretraining(config), args=args, train_dataset=rows).train()
    classifier = CiTrusForSequenceClassification(build_config("tiny", num_labels=2, channel_pooling="concat"))
    with pytest.raises(ValueError, match="row 0"):
        Trainer(model=classifier, args=args, train_dataset=rows.add_column("labels", [0] * 8))


def test_a_misspelt_generator_is_refused_whatever_its_weight():
    """With a weight of 0 a misspelt name was dropped, and the generator meant stayed in the mix."""
    with pytest.raises(ValueError, match="Unknown synthetic generator 'respiration'; registered: .*rsp"):
        active_generators({"respiration": 0, "cauker": 1})
    assert active_generators({"rsp": 0, "cauker": 1}) == {"cauker": 1}


@pytest.mark.parametrize("ratio", [0.002, 0.999])
def test_the_synthetic_share_over_a_run_is_the_ratio_asked(tmp_path, ratio):
    """The share was rounded per chunk of 256 windows: 0.002 gave twice the share, 0.999 no real window at all."""
    from citrus_hf.training.stream import PretrainingStream

    rows = {
        "input_values": [np.full((1, 100), float(i), np.float32) for i in range(40)],
        "patch_mask": [np.ones(10, np.int8) for _ in range(40)],
    }
    datasets.Dataset.from_dict(rows).save_to_disk(tmp_path / "corpus")
    real = datasets.load_from_disk(tmp_path / "corpus")
    stream = PretrainingStream(real, build_config("tiny"), ratio, {"kernel_synth": 1.0}, 32, seed=0)
    sources = torch.cat([batch["source_id"] for batch in itertools.islice(stream.batches(), 80)])  # 2,560 windows
    assert abs(float((sources > 0).float().mean()) - ratio) <= 1.5 / len(sources)


def test_stream_seeds_beyond_32_bits_are_refused():
    """numpy read seed 2**32 + 7 as the words (7, 1): rank 0 of it drew rank 1 of seed 7's windows."""
    config = build_config("tiny")
    with pytest.raises(ValueError, match=r"`seed` must be an integer in \[0, 2\*\*32\)"):
        SyntheticWindowStream(config.sampling_rate, config.context_length, config.patch_length, seed=2**32 + 7)


def test_pretraining_refuses_to_hold_out_the_split_it_trains_on(tmp_path):
    """`--eval-split train` gave a "held-out" loss (and a did-not-learn verdict) on the windows trained on."""
    from citrus_hf.training.pretrain import PretrainArguments, pretrain

    rows = np.random.default_rng(0).standard_normal((8, 1, 500)).astype(np.float32)
    corpus = tmp_path / "corpus"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"input_values": rows, "sampling_rate": [50.0] * 8})}).save_to_disk(str(corpus))  # fmt: skip
    args = PretrainArguments(
        output_dir=str(tmp_path / "run"), dataset=str(corpus), train_split="train", eval_split="train",
        model_config="tiny", max_steps=1, per_device_batch_size=4, report_to="none", show_progress=False,
    )  # fmt: skip
    with pytest.raises(ValueError, match="--eval-split train is the split pre-training trains on"):
        pretrain(args)
