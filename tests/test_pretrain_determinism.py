"""Determinism of pre-training records: a stopped (or killed) and resumed run records the uninterrupted run's curves and
sample log; the torch thread count is recorded and a resume with another count is named; in stream mode every process
reads its own shard of the real corpus and the sample log names the real rows; a run without synthetic windows draws
exactly what it drew before these changes.

The pre-training runs read the offline real EEG corpus; fetch it first with `citrus data fetch --offline-corpus`.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from test_pretraining_stream import CHEAP_MIX, _stream, _take
from test_synthetic import PATCH, RATE, _real_corpus
from test_training import _pretrain_args, launch_failure

from citrus_hf.data.streams import MixedWindowStream
from citrus_hf.training.pretrain import (
    RUN_SETTINGS_FILE,
    TrainingProgress,
    check_resumable,
    checkpoints_in,
    pretrain,
    resume_settings,
    run_environment,
)

# 8-step runs are far too short to learn: their did-not-learn warning says so, and is beside the point here.
pytestmark = pytest.mark.filterwarnings("ignore::citrus_hf.training.pretrain.PretrainingDidNotLearnWarning")

# A short stream run with a log and an evaluation every 4 steps, as in the audit's reproduction.
STREAM_RUN = dict(
    synthetic_ratio=0.5,
    synthetic_generators=CHEAP_MIX,
    max_steps=8,
    per_device_batch_size=16,
    gradient_accumulation_steps=1,
    save_steps=4,
    eval_steps=4,
    eval_batches=2,
    logging_steps=4,
    log_sample_ids=True,
)
CURVES = ("train_losses", "eval_losses", "eval_baseline_losses")


def _summary(folder) -> dict:
    return json.loads((folder / "pretraining_summary.json").read_text())


def _summary_of(folder, **changes) -> dict:
    pretrain(_pretrain_args(folder, **{**STREAM_RUN, **changes}))
    return _summary(folder)


def _sample_log(folder, rank: int = 0) -> list[dict]:
    return [json.loads(line) for line in (folder / f"sample_ids_rank{rank}.jsonl").read_text().splitlines()]


# ------------------------------------------------------------------------------------- the record of a resumed run


def test_stopped_and_resumed_run_records_the_uninterrupted_curves(tmp_path):
    """Stopped off the logging grid (step 3) and resumed: no extra points at the stop step, and the loss logged at
    step 4 averages steps 1-4, as the uninterrupted run's does."""
    straight = _summary_of(tmp_path / "straight")
    stopped = pretrain(_pretrain_args(tmp_path / "resumed", stop_after_steps=3, **STREAM_RUN))
    assert stopped.train_losses == stopped.eval_losses == []  # step 3 is on no grid; its checkpoint is still saved
    assert (tmp_path / "resumed/checkpoints/step-3").is_dir()
    pretrain(_pretrain_args(tmp_path / "resumed", resume_from="latest", **STREAM_RUN))
    resumed = _summary(tmp_path / "resumed")
    assert [step for step, _ in straight["train_losses"]] == [step for step, _ in straight["eval_losses"]] == [4, 8]
    assert all(resumed[curve] == straight[curve] for curve in CURVES)
    assert _sample_log(tmp_path / "resumed") == _sample_log(tmp_path / "straight")
    # the environment the bits depend on is recorded, in the summary and beside every checkpoint
    assert (
        straight["environment"]
        == run_environment()
        == {
            "torch_version": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        }
    )
    settings = json.loads((checkpoints_in(tmp_path / "resumed")[-1] / RUN_SETTINGS_FILE).read_text())
    assert settings["torch_threads"] == torch.get_num_threads()


def test_run_killed_after_a_checkpoint_keeps_its_curve_and_logs_each_step_once(tmp_path):
    """A run killed after its step-6 checkpoint never writes its summary (simulated: deleted); resumed from the
    earlier step-4 checkpoint it still records the whole curve, and its sample log holds every step once."""
    run = dict(STREAM_RUN, synthetic_ratio=0.0, logging_steps=2)
    straight = _summary_of(tmp_path / "straight", **run)
    killed = tmp_path / "killed"
    pretrain(_pretrain_args(killed, stop_after_steps=6, **run))
    (killed / "pretraining_summary.json").unlink()
    assert {entry["step"] for entry in _sample_log(killed)} == set(range(6))
    pretrain(_pretrain_args(killed, resume_from=str(killed / "checkpoints/step-4"), **run))
    resumed = _summary(killed)
    assert [step for step, _ in resumed["train_losses"]] == [2, 4, 6, 8]
    assert all(resumed[curve] == straight[curve] for curve in CURVES)
    logged = _sample_log(killed)
    assert [entry["step"] for entry in logged] == list(range(8))
    assert logged == _sample_log(tmp_path / "straight")


def test_checkpoint_without_the_record_resumes_as_before(tmp_path):
    """A checkpoint written before the curves were part of it: the earlier curve comes from the run's summary, and
    the running loss restarts at the checkpoint (what happened before)."""
    run = dict(STREAM_RUN, synthetic_ratio=0.0, max_steps=4, logging_steps=1, eval_steps=100, save_steps=100)
    pretrain(_pretrain_args(tmp_path / "run", stop_after_steps=2, **run))
    progress_file = tmp_path / "run/checkpoints/step-2/custom_checkpoint_0.pkl"
    state = torch.load(progress_file, weights_only=True)
    assert state["running_count"] == 0 and [step for step, _ in state["curves"]["train"]] == [1, 2]
    old = {key: state[key] for key in ("step", "epoch", "batches_in_epoch")}
    torch.save(old, progress_file)
    progress = TrainingProgress()
    progress.load_state_dict(old)
    assert not progress.restored_record and progress.curves["train"] == [] and progress.running_losses == []
    earlier = _summary(tmp_path / "run")["train_losses"]
    pretrain(_pretrain_args(tmp_path / "run", resume_from="latest", **run))
    resumed = _summary(tmp_path / "run")["train_losses"]
    assert [step for step, _ in resumed] == [1, 2, 3, 4] and resumed[:2] == earlier


def test_resume_with_another_thread_count_warns_and_continues(tmp_path, caplog):
    args = _pretrain_args(tmp_path / "run")
    checkpoint = tmp_path / "step-2"
    checkpoint.mkdir()
    recorded = resume_settings(args, 1) | run_environment()
    (checkpoint / RUN_SETTINGS_FILE).write_text(json.dumps(recorded))
    with caplog.at_level("WARNING", logger="citrus_hf.training.checkpoints"):
        check_resumable(checkpoint, args, 1)
    assert caplog.text == ""
    recorded["torch_threads"] = torch.get_num_threads() + 1
    (checkpoint / RUN_SETTINGS_FILE).write_text(json.dumps(recorded))
    with caplog.at_level("WARNING", logger="citrus_hf.training.checkpoints"):
        check_resumable(checkpoint, args, 1)  # not refused
        check_resumable(checkpoint, args, 1, warn=False)  # the other processes of a run stay quiet
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert f"torch threads {torch.get_num_threads()} (the run: {torch.get_num_threads() + 1})" in warnings[0]
    assert "not bit-identical" in warnings[0]


# ------------------------------------------------------------------------------------ the real corpus in stream mode


def test_ranks_read_disjoint_shards_in_passes_without_repeats(tmp_path):
    corpus = _real_corpus(tmp_path, count=41)  # row i is all i; 41 rows: shards of 21 and 20
    passes = {}
    for rank in (0, 1):
        stream = MixedWindowStream(corpus, 0.5, RATE, 100, PATCH, seed=3, rank=rank, world_size=2)
        windows = _take(stream, 400)
        real = [w for w in windows if int(w["source_id"]) == 0]
        assert all(int(w["example_id"]) == -1 for w in windows if int(w["source_id"]) > 0)
        assert all(float(w["input_values"][0, 0]) == int(w["example_id"]) for w in real)  # the id is the row read
        rows = [int(w["example_id"]) for w in real]
        shard = list(range(rank, 41, 2))
        assert sorted(rows[: len(shard)]) == shard and sorted(rows[len(shard) : 2 * len(shard)]) == shard
        assert rows[: len(shard)] != rows[len(shard) : 2 * len(shard)]  # each pass is reshuffled
        passes[rank] = set(rows)
    assert not passes[0] & passes[1]
    # the same seed draws the same, another seed otherwise
    again = [int(w["example_id"]) for w in _take(MixedWindowStream(corpus, 0.5, RATE, 100, PATCH, seed=3), 60)]
    assert again == [int(w["example_id"]) for w in _take(MixedWindowStream(corpus, 0.5, RATE, 100, PATCH, seed=3), 60)]
    assert again != [int(w["example_id"]) for w in _take(MixedWindowStream(corpus, 0.5, RATE, 100, PATCH, seed=4), 60)]


def test_pretraining_stream_batches_carry_the_rows_of_each_rank_shard(tmp_path):
    corpus = _real_corpus(tmp_path)
    seen, drawn = [], []
    for rank in (0, 1):
        batches = _take(_stream(corpus, ratio=0.5, batch_size=16, rank=rank, world_size=2).batches(), 40)
        ids = torch.cat([batch["example_id"] for batch in batches])
        sources = torch.cat([batch["source_id"] for batch in batches])
        assert bool(((ids == -1) == (sources > 0)).all())
        values = torch.cat([batch["input_values"] for batch in batches])[sources == 0, 0, 0]
        assert torch.equal(values, ids[sources == 0].float())
        seen.append(set(ids[sources == 0].tolist()))
        drawn.append(sources.tolist())
    assert seen[0] == set(range(0, 40, 2)) and seen[1] == set(range(1, 40, 2))
    assert drawn[0] != drawn[1]  # each process draws its own synthetic stream (its rank is in the seed)


def test_stream_needs_a_real_window_per_process(tmp_path):
    with pytest.raises(ValueError, match="fewer than the 4 processes.*larger corpus, fewer processes"):
        MixedWindowStream(_real_corpus(tmp_path, count=3), 0.5, RATE, 100, PATCH, rank=0, world_size=4)


# slow: the route is run by test_training.py::test_two_processes_train_on_different_shards_and_save_rank0_weights (the
# real-corpus launch); this adds the synthetic-stream launch, whose disjoint shards and logged rows
# test_ranks_read_disjoint_shards_in_passes_without_repeats and test_pretraining_stream_batches_carry_the_rows_of_each_rank_shard
# check in one process
@pytest.mark.slow
def test_two_processes_read_disjoint_real_windows_and_log_their_rows(ddp_pretraining_half_synthetic):
    completed, output = ddp_pretraining_half_synthetic  # test_training's synthetic-stream launch, shared (conftest)
    assert completed.returncode == 0, launch_failure(completed)
    real = []
    for rank in (0, 1):
        logged = _sample_log(output, rank)
        assert [entry["step"] for entry in logged] == [0, 1, 2, 3]
        pairs = [(i, s) for entry in logged for i, s in zip(entry["ids"], entry["sources"], strict=True)]
        assert all((i == -1) == (s > 0) for i, s in pairs)
        real.append([i for i, s in pairs if s == 0])
    assert real[0] and real[1] and not set(real[0]) & set(real[1])
    assert all(i % 2 == rank for rank in (0, 1) for i in real[rank])


# ---------------------------------------------------------------------------------- no synthetic windows: unchanged


def test_runs_without_synthetic_windows_draw_as_before(tmp_path):
    """Recorded from the code before the stream sharded its real corpus and the record became resumable (a7b69ba):
    the rows of 3 steps of 16 windows and the losses logged at every step (masks included). Without warm-up, as the
    recording's 5 % of 3 steps rounded to then (it is rounded up to one step now, as transformers rounds it)."""
    run = dict(max_steps=3, per_device_batch_size=16, gradient_accumulation_steps=1, logging_steps=1, eval_steps=100)
    run["warmup_steps"] = 0
    result = pretrain(_pretrain_args(tmp_path / "run", save_steps=100, log_sample_ids=True, **run))
    ids = [i for entry in _sample_log(tmp_path / "run") for i in entry["ids"]]
    assert ids[:10] == [944, 1264, 2236, 51, 914, 74, 1501, 1294, 1419, 2072]
    assert hashlib.sha256(json.dumps(ids).encode()).hexdigest() == (
        "dab0ffdf7328d9e356c94ec465cd366e303227d4523a62c03bf84558c967e95c"
    )
    recorded = [(1, 6.823314189910889), (2, 6.177304267883301), (3, 6.332594394683838)]
    assert result.train_losses == [(step, pytest.approx(loss, rel=1e-5)) for step, loss in recorded]


def test_stream_chunks_walk_the_shard_in_passes_across_the_run():
    """The pre-training loop reads the stream a chunk at a time: each chunk holds exactly the requested share of real
    windows, and they continue one walk through the rank's shard, so no window repeats before the shard is used up
    (a fresh pass per chunk drew about as with replacement); a chunk is the same whenever it is built (a resume)."""
    from collections import Counter

    from citrus_hf.training.stream import StreamChunks

    corpus = [{"input_values": np.zeros((1, 200), np.float32)} for _ in range(101)]
    drawn = {}
    for rank in (0, 1):
        stream = MixedWindowStream(
            corpus,
            synthetic_ratio=0.5,
            sampling_rate=100,
            context_length=200,
            patch_length=20,
            seed=3,
            rank=rank,
            world_size=2,
        )
        chunks = StreamChunks(stream, 64, 0)
        rows = []
        for index in range(5):
            chunk = chunks.chunk(index)
            assert int((chunk["source_id"] == 0).sum()) == 32
            rows += [int(row) for row in chunk["example_id"] if row >= 0]
        shard = set(range(rank, 101, 2))
        assert set(rows) == shard and len(rows) == 160
        assert len(set(rows[: len(shard)])) == len(shard)  # the first pass: every window once
        assert max(Counter(rows).values()) - min(Counter(rows).values()) <= 1
        again = StreamChunks(stream, 64, 3).chunk(3)
        assert torch.equal(again["example_id"], chunks.chunk(3)["example_id"])
        drawn[rank] = set(rows)
    assert not drawn[0] & drawn[1]
