"""Pre-training on real windows mixed with synthetic ones (`--synthetic-ratio`): the stream's batches are a function
of (seed, rank, position), so worker counts change nothing and a resumed run is exact; a ratio of 0 is the corpus
path as before; a ratio of 1 needs no corpus and validation stays on real data.

The pre-training runs read the offline real EEG corpus; fetch it first with `citrus data fetch --offline-corpus`.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from test_synthetic import _binomial_bounds, _real_corpus
from test_training import _pretrain_args
from tiny_configs import synthetic_pretrain_arguments

from citrus_hf import CiTrusForPretraining
from citrus_hf.data.synthetic import active_generators
from citrus_hf.loading import build_config
from citrus_hf.training.pretrain import EpochShuffleSampler, PretrainArguments, held_out_rows, pretrain
from citrus_hf.training.stream import MIN_CHUNK_WINDOWS, PretrainingStream

# numpy-only generators: quick, and no optional simulator needed
CHEAP_MIX = {"kernel_synth": 1.0, "cauker": 1.0, "ecg": 1.0}


def _stream(real_windows=None, ratio: float = 1.0, batch_size: int = 16, **options) -> PretrainingStream:
    return PretrainingStream(real_windows, build_config("tiny"), ratio, CHEAP_MIX, batch_size, **{"seed": 0, **options})


def _take(batches, count: int) -> list[dict[str, torch.Tensor]]:
    return [batch for batch, _ in zip(batches, range(count))]


def _values(batches) -> torch.Tensor:
    return torch.stack([batch["input_values"] for batch in batches])


# ----------------------------------------------------------------------------------------------------- the stream


def test_stream_batches_depend_on_position_only():
    stream = _stream()
    per_chunk = stream.batches_per_chunk
    assert per_chunk == MIN_CHUNK_WINDOWS // 16
    count = 2 * per_chunk + 5  # three chunks
    straight = _take(stream.batches(), count)
    assert all(batch["input_values"].shape == (16, 1, 100) for batch in straight)
    assert all(batch["patch_mask"].shape == (16, 10) and bool(batch["patch_mask"].all()) for batch in straight)
    # from any position, in this process or in two DataLoader workers (they build alternate chunks)
    start = per_chunk + 3
    assert torch.equal(_values(_take(stream.batches(start), count - start)), _values(straight[start:]))
    assert torch.equal(_values(_take(stream.batches(0, num_workers=2), count)), _values(straight))
    # another seed or rank is another stream
    assert not torch.allclose(_values(_take(_stream(seed=1).batches(), 3)), _values(straight[:3]))
    assert not torch.allclose(_values(_take(_stream(rank=1, world_size=2).batches(), 3)), _values(straight[:3]))


def test_stream_mixes_real_and_synthetic_windows_at_the_ratio(tmp_path):
    corpus = _real_corpus(tmp_path)  # row i is all i
    batches = _take(_stream(corpus, ratio=0.25, batch_size=50).batches(), 40)
    sources = torch.cat([batch["source_id"] for batch in batches]).numpy()
    low, high = _binomial_bounds(len(sources), 0.25)
    assert low <= int((sources > 0).sum()) <= high
    values = torch.cat([batch["input_values"] for batch in batches])[sources == 0, 0]
    assert all(float(row[0]) in set(map(float, range(40))) and bool((row == row[0]).all()) for row in values)


def test_stream_settings_and_checks():
    settings = _stream(ratio=1.0).settings()
    assert json.loads(json.dumps(settings)) == settings
    assert settings["synthetic_ratio"] == 1.0 and settings["sources"] == ["real", "kernel_synth", "cauker", "ecg"]
    assert settings["batch_size"] == 16 and settings["batches_per_chunk"] == 16
    assert active_generators({"cauker": 0.5, "ecg": 0, "eeg": {"weight": 0.0}, "ppg": {"weight": 1}}) == {
        "cauker": 0.5,
        "ppg": {"weight": 1},
    }
    fixed = build_config("tiny", normalization="fixed", normalization_mean=[0.0], normalization_std=[1.0])
    with pytest.raises(ValueError, match="normalization='zscore'"):
        PretrainingStream(None, fixed, 1.0, CHEAP_MIX, 8, 0)
    with pytest.raises(ValueError, match="1 channel"):
        PretrainingStream(None, build_config("tiny", num_channels=2), 1.0, CHEAP_MIX, 8, 0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(synthetic_ratio=1.5), "synthetic_ratio"),
        (dict(synthetic_ratio=True), "synthetic_ratio"),
        (dict(dataset="none"), "--synthetic-ratio 1"),
        (dict(synthetic_ratio=0.5, synthetic_generators={"nosuch": 1.0}), "Unknown synthetic generator"),
        (dict(synthetic_ratio=0.5, synthetic_generators={"ecg": 0}), "at least one generator"),
        (dict(synthetic_ratio=0.5, synthetic_generators={"ecg": {"weight": 1, "speed": 2}}), "options"),
    ],
)
def test_bad_synthetic_settings_fail_at_construction(changes, message):
    with pytest.raises(ValueError, match=message):
        PretrainArguments(output_dir="x", **changes)


# ------------------------------------------------------------------------------------------------ pre-training


def test_synthetic_ratio_zero_is_the_corpus_path(tmp_path):
    """Ratio 0 trains in epochs over the corpus, shuffled by (seed, epoch), whatever the generator settings."""
    changes = dict(max_steps=3, per_device_batch_size=64, gradient_accumulation_steps=1, log_sample_ids=True)
    plain = pretrain(_pretrain_args(tmp_path / "plain", **changes))
    pretrain(_pretrain_args(tmp_path / "ignored", synthetic_generators={"ecg": 1.0}, **changes))
    a, b = load_file(str(tmp_path / "plain/model.safetensors")), load_file(str(tmp_path / "ignored/model.safetensors"))
    assert all(torch.equal(a[name], b[name]) for name in a)
    order = list(EpochShuffleSampler(plain.num_train_windows, seed=0))
    logged = [json.loads(line)["ids"] for line in (tmp_path / "plain/sample_ids_rank0.jsonl").read_text().splitlines()]
    assert sum(logged, []) == order[: 3 * 64]
    summary = json.loads((tmp_path / "plain/pretraining_summary.json").read_text())
    assert summary["synthetic_ratio"] == 0.0 and summary["synthetic_stream"] is None
    assert summary["num_train_windows"] == plain.num_train_windows > 1000


def test_mixed_run_resumes_exactly_and_records_its_stream(tmp_path):
    """Straight vs interrupted after 3 optimizer steps (gradient accumulation 2) and resumed with DataLoader
    workers: the same weights; the summary holds the synthetic share and every generator's settings."""
    changes = dict(
        per_device_batch_size=32,
        synthetic_ratio=0.5,
        synthetic_generators=CHEAP_MIX,
        log_sample_ids=True,
        max_steps=8,
    )
    straight = pretrain(_pretrain_args(tmp_path / "straight", **changes))
    pretrain(_pretrain_args(tmp_path / "resumed", stop_after_steps=3, **changes))
    resumed = pretrain(_pretrain_args(tmp_path / "resumed", resume_from="latest", num_workers=2, **changes))
    assert resumed.completed and resumed.steps == 8
    a, b = (
        load_file(str(tmp_path / "straight/model.safetensors")),
        load_file(str(tmp_path / "resumed/model.safetensors")),
    )
    assert all(torch.equal(a[name], b[name]) for name in a)
    # no extra points at the stop step (the evaluation grid is every 4 steps and the end)
    assert [step for step, _ in resumed.eval_losses] == [4, 8]
    assert resumed.eval_losses == straight.eval_losses
    torch.manual_seed(0)  # what `pretrain` starts from: the run trained
    initial = CiTrusForPretraining(build_config("tiny")).state_dict()
    assert not all(torch.equal(a[name], initial[name]) for name in a)

    summary = json.loads((tmp_path / "straight/pretraining_summary.json").read_text())
    stream = summary["synthetic_stream"]
    assert summary["synthetic_ratio"] == stream["synthetic_ratio"] == 0.5
    assert [g["name"] for g in stream["generators"]] == list(CHEAP_MIX)
    assert all(g["weight"] == pytest.approx(1 / 3) and "version" in g for g in stream["generators"])
    assert summary["arguments"]["synthetic_generators"] == CHEAP_MIX
    sources = np.concatenate(
        [
            json.loads(line)["sources"]
            for line in (tmp_path / "straight/sample_ids_rank0.jsonl").read_text().splitlines()
        ]
    )
    low, high = _binomial_bounds(len(sources), 0.5)
    assert len(sources) == 8 * 2 * 32 and low <= int((sources > 0).sum()) <= high


def test_synthetic_only_run_reads_no_corpus_and_validates_on_real_windows(tmp_path):
    from citrus_hf.data.alignment import align_corpus
    from citrus_hf.data.splits import load_split
    from citrus_hf.training.callbacks import isolated_rng

    changes = dict(max_steps=2, per_device_batch_size=16, gradient_accumulation_steps=1, eval_steps=2)
    result = pretrain(_pretrain_args(tmp_path / "run", synthetic_ratio=1.0, synthetic_generators=CHEAP_MIX, **changes))
    assert result.completed and result.num_train_windows == 0 and result.synthetic_stream["synthetic_ratio"] == 1.0
    # the held-out loss is that of the saved model on real validation windows, with the seeded mask
    validation = align_corpus(load_split("eeg_pretrain", "validation", {"window_seconds": 10.0, "hop_seconds": 10.0}),
                              build_config("tiny"))  # fmt: skip
    # the held-out batch: eval_batches x batch rows spread evenly over the split
    rows = held_out_rows(len(validation), PretrainArguments.eval_batches * 16)
    windows = validation.with_format("torch")[rows.tolist()]
    model = CiTrusForPretraining.from_pretrained(tmp_path / "run").eval()
    losses = []
    with torch.no_grad(), isolated_rng(torch.device("cpu"), 0):
        for start in range(0, len(windows["input_values"]), 16):
            chunk = {k: windows[k][start : start + 16] for k in ("input_values", "patch_mask")}
            losses.append(float(model(input_values=chunk["input_values"], patch_mask=chunk["patch_mask"].long()).loss))
    assert result.eval_losses == [(2, pytest.approx(float(np.mean(losses)), rel=1e-6))]
    assert math.isfinite(result.eval_baseline_losses[0][1])

    no_corpus = pretrain(synthetic_pretrain_arguments(tmp_path / "none", **changes))
    assert no_corpus.completed and no_corpus.eval_losses == [] and no_corpus.num_train_windows == 0
