"""Session 80's mutation audit of pre-training and training plumbing (`training/pretrain.py`, `checkpoints.py`,
`stream.py`, `lora.py`, `callbacks.py`, `curves.py`, `numerics.py`, `run_lock.py`): guards that pass on the package as
it is and fail on a hand-made mutant that nothing else caught (each test names the wrong answer it keeps out)."""

from __future__ import annotations

import importlib

import pytest
from test_stability_audit67 import _nan_in_training_from, _pretrain_arguments, corpus  # noqa: F401 (a fixture)

from citrus_hf.training.callbacks import NonFiniteLossError
from citrus_hf.training.pretrain import citrus_loss, pretrain

# Runs of a few steps are far too short to learn: their did-not-learn warning is beside the point here.
pytestmark = pytest.mark.filterwarnings("ignore::citrus_hf.training.pretrain.PretrainingDidNotLearnWarning")


def test_a_nan_loss_between_logs_is_named_at_the_first_step_it_broke(tmp_path, corpus):  # noqa: F811
    """The loss is read at logging steps only: NaN from step 3 on, read at step 4, is named at step 3, where it broke
    (the guard kept the last NaN step instead of the first)."""
    arguments = _pretrain_arguments(tmp_path / "run", corpus, max_steps=4, logging_steps=4, save_steps=100)
    with pytest.raises(NonFiniteLossError, match="The training loss became nan at optimizer step 3,"):
        pretrain(arguments, loss_fn=_nan_in_training_from(3))


def test_the_dataset_digest_sees_a_resized_file_and_not_the_scratch_of_datasets(tmp_path):
    """A resume compares the digest of the files under --dataset: a file rewritten to another size is another corpus
    (the digest once ignored sizes), while the caches and temporary files `datasets` writes into a `save_to_disk`
    folder (`cache-*.arrow`, `tmp*.arrow`) and hidden files are not the data's (the digest once counted `tmp*`)."""
    from citrus_hf.training.checkpoints import dataset_files_digest

    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "data-00000-of-00001.arrow").write_bytes(b"x" * 64)
    digest = dataset_files_digest(folder)
    for scratch in ("cache-3f2a.arrow", "tmpk2x9a1.arrow", ".lock"):
        (folder / scratch).write_bytes(b"scratch")
    assert dataset_files_digest(folder) == digest
    (folder / "data-00000-of-00001.arrow").write_bytes(b"x" * 65)
    assert dataset_files_digest(folder) != digest
    (folder / "data-00000-of-00001.arrow").write_bytes(b"x" * 64)
    (folder / "tmp_recording.npy").write_bytes(b"a recording named tmp")  # data, whatever its name
    assert dataset_files_digest(folder) != digest


def test_the_weight_check_before_a_save_leaves_the_callers_loss_function_alone(tmp_path, corpus):  # noqa: F811
    """Before each checkpoint the weights a step wrote are checked on its batch with the CiTrus model's own loss: a
    `loss_fn` of the caller's may keep state per call (a counter, a curriculum), and the check once called it, one
    extra call per save."""
    modes = []

    def loss_fn(model, batch):
        modes.append(model.training)
        return citrus_loss(model, batch)

    result = pretrain(_pretrain_arguments(tmp_path / "run", corpus, max_steps=3, save_steps=1), loss_fn=loss_fn)
    assert result.completed and modes == [True, True, True]  # one call per micro-batch, none by the checks


def test_a_checkpoint_needs_every_random_state_of_its_run_its_scaler_and_its_seed(tmp_path, corpus):  # noqa: F811
    """`checkpoint_problems` reads one random state per process of the run that wrote the checkpoint (its
    run_settings.json's count), and fp16's loss scale when the resume has one: a two-process checkpoint missing rank
    1's state, or an fp16 one missing its scaler.pt, once passed as complete and resumed inexactly without a word."""
    import json
    import shutil
    from types import SimpleNamespace

    from citrus_hf.training.checkpoints import check_resumable, checkpoint_problems

    pretrain(_pretrain_arguments(tmp_path / "run", corpus, max_steps=1, save_steps=1))
    folder = tmp_path / "run" / "checkpoints" / "step-1"
    # (and a resume with another --seed draws other batches and masks: refused like any other setting)
    resolved = dict(mixed_precision="no", gradient_accumulation_steps=1)  # as `pretrain` resolves them
    check_resumable(folder, _pretrain_arguments(tmp_path / "run", corpus, max_steps=1, **resolved), 1, warn=False)
    with pytest.raises(ValueError, match=r"--seed 7 \(the run: 0\)"):
        check_resumable(folder, _pretrain_arguments(tmp_path / "run", corpus, seed=7, **resolved), 1, warn=False)
    one_process = SimpleNamespace(num_processes=1, scaler=None)
    assert checkpoint_problems(folder, one_process) == []
    settings = json.loads((folder / "run_settings.json").read_text())
    (folder / "run_settings.json").write_text(json.dumps({**settings, "num_processes": 2}))
    assert checkpoint_problems(folder, one_process) == [
        "random_states_1.pkl is missing (without it the run would not continue exactly)"
    ]
    shutil.copyfile(folder / "random_states_0.pkl", folder / "random_states_1.pkl")
    assert checkpoint_problems(folder, one_process) == []
    assert checkpoint_problems(folder, SimpleNamespace(num_processes=1, scaler=object())) == ["scaler.pt is missing"]


def test_denormals_are_flushed_in_the_block_in_a_thread_older_than_flush_denormals():
    """`flush_denormals()` reaches the threads started after it; in a thread started before, the block flushed nothing
    (it took the process's setting for the thread's), so a fine-tuning there ran with subnormals, several times slower
    on the CPU. The block now flushes them in that thread too, and gives the thread its setting back afterwards."""
    import threading

    import torch

    from citrus_hf.training import numerics

    tiny, seen = torch.tensor([1e-39]), {}

    def older_thread():
        torch.set_flush_denormal(False)  # as a thread started before `flush_denormals()` is
        with numerics.denormals_flushed() as supported:
            seen["inside"] = (tiny * 1.0).item()
        seen["supported"], seen["after"] = supported, (tiny * 1.0).item()

    thread = threading.Thread(target=older_thread)
    thread.start()
    thread.join()
    if not seen["supported"]:
        pytest.skip("this CPU cannot flush subnormal floats")
    assert seen["inside"] == 0.0 and seen["after"] == pytest.approx(1e-39)


def test_the_curve_legend_gives_the_final_ratio_and_the_title_the_backbone_and_synthetic_share():
    """The legend's ratio is the last held-out loss over the last baseline (it once read the first held-out loss, or
    the ratio upside down), and the title names a backbone other than the hybrid and the run's synthetic share."""
    from citrus_hf.training.curves import pretraining_curve_figure

    arguments = {"model": None, "model_config": "tiny", "config_overrides": {"backbone": "cnn"}}
    summary = {"steps": 4, "train_losses": [[2, 1.2], [4, 0.9]], "eval_losses": [[2, 1.0], [4, 0.5]],
               "eval_baseline_losses": [[2, 1.0], [4, 2.0]], "synthetic_ratio": 0.25,
               "arguments": arguments}  # fmt: skip
    axis = pretraining_curve_figure(summary).axes[0]
    assert [line.get_label() for line in axis.lines][-1] == "final held-out / baseline: 0.250"
    assert axis.get_title() == "tiny model (cnn backbone), 25% synthetic windows, 4 steps"


def test_the_curve_title_reads_the_config_beside_a_summary_given_by_its_file(tmp_path):
    """`plot_pretraining_curve(".../pretraining_summary.json", ...)`, as the docstring allows: the title names the
    model from the config.json beside it, as for the folder (the file's own path was searched for a config, and the
    title fell back to the arguments' preset)."""
    import json

    from tiny_configs import tiny_config

    from citrus_hf.training.curves import pretraining_curve_figure
    from citrus_hf.training.pretrain import SUMMARY_FILE

    tiny_config().save_pretrained(tmp_path)  # width 16, 1 layer
    summary = {"steps": 2, "train_losses": [[2, 1.5]], "eval_losses": [], "eval_baseline_losses": [],
               "arguments": {"model": None, "model_config": "small", "config_overrides": {}}}  # fmt: skip
    (tmp_path / SUMMARY_FILE).write_text(json.dumps(summary))
    title = pretraining_curve_figure(tmp_path / SUMMARY_FILE).axes[0].get_title()
    assert title.startswith("small model (width 16, 1 layer)")


def test_save_total_limit_keeps_the_newest_checkpoints_by_step_past_step_9(tmp_path, corpus):  # noqa: F811
    """`save_total_limit` prunes the oldest checkpoints by their step: with a step-10 among them, ordered by name
    ("step-10" < "step-6") the run deleted its newest checkpoint and kept older ones, and `--resume-from latest` then
    took step-9 for the newest."""
    from citrus_hf.training.pretrain import checkpoints_in

    output_dir = tmp_path / "run"
    pretrain(_pretrain_arguments(output_dir, corpus, max_steps=10, save_steps=3, save_total_limit=2, logging_steps=5))
    assert [folder.name for folder in checkpoints_in(output_dir)] == ["step-9", "step-10"]


def test_a_resume_at_a_lower_learning_rate_trains_at_it(tmp_path, corpus, monkeypatch):  # noqa: F811
    """A resume with a lower --learning-rate (the advice after a NaN loss) scales the loaded optimizer and schedule to
    it: the resume was allowed and recorded the lower rate, while the optimizer went on at the checkpoint's."""
    pretrain_module = importlib.import_module(
        "citrus_hf.training.pretrain"
    )  # (`citrus_hf.training.pretrain` is the function)
    output_dir, seen = tmp_path / "run", []
    pretrain(_pretrain_arguments(output_dir, corpus, max_steps=2, save_steps=1, learning_rate=1e-3, stop_after_steps=1))

    def lower_learning_rate(optimizer, scheduler, run_learning_rate, learning_rate):
        real_lower_learning_rate(optimizer, scheduler, run_learning_rate, learning_rate)
        seen.append([group["lr"] for group in optimizer.param_groups])

    real_lower_learning_rate = pretrain_module.lower_learning_rate
    monkeypatch.setattr(pretrain_module, "lower_learning_rate", lower_learning_rate)
    resumed = pretrain(
        _pretrain_arguments(output_dir, corpus, max_steps=2, save_steps=1, learning_rate=1e-4, resume_from="latest")
    )
    # the cosine schedule halfway through a 2-step run without warm-up: half the peak, now the lower one
    assert resumed.completed and seen == [[pytest.approx(5e-5), pytest.approx(5e-5)]]


def test_each_epoch_shuffles_the_corpus_anew_and_alike_on_a_resume():
    """The training order is a permutation per `(seed, epoch)`: every epoch another one (it once repeated the first
    epoch's order in every epoch), and the same one for the same seed and epoch (what a resume relies on)."""
    from citrus_hf.training.pretrain import EpochShuffleSampler

    def order(seed, epoch):
        sampler = EpochShuffleSampler(40, seed)
        sampler.set_epoch(epoch)
        return list(sampler)

    assert sorted(order(0, 0)) == sorted(order(0, 1)) == list(range(40))
    assert order(0, 0) != order(0, 1) != order(0, 2) and order(0, 1) == order(0, 1)
    assert order(0, 1) != order(1, 1)


def test_a_run_reads_its_second_epoch_in_another_order(tmp_path, corpus):  # noqa: F811
    """The corpus's 200 windows in batches of 40: steps 0-4 are the first epoch, 5-9 the second, each window once per
    epoch and in another order the second time (the loop once left the epoch at 0, and read every epoch in the first's
    order)."""
    import json

    output_dir = tmp_path / "run"
    arguments = _pretrain_arguments(
        output_dir, corpus, max_steps=10, per_device_batch_size=40, logging_steps=5, log_sample_ids=True
    )
    assert pretrain(arguments).num_train_windows == 200
    log = [json.loads(line) for line in (output_dir / "sample_ids_rank0.jsonl").read_text().splitlines()]
    first, second = ([i for entry in log[start : start + 5] for i in entry["ids"]] for start in (0, 5))
    assert sorted(first) == sorted(second) == list(range(200)) and first != second


def test_the_training_curve_averages_every_micro_batch_since_its_last_log_and_the_last(tmp_path, corpus):  # noqa: F811
    """Under gradient accumulation each logged training loss is the mean of the micro-batches' losses since the last
    log, and the last step is logged off the grid: the curve once held the last micro-batch's loss alone, or the sum
    over the steps (not the micro-batches), or stopped at step 4 of 5."""
    losses = []

    def loss_fn(model, batch):
        loss = citrus_loss(model, batch)
        losses.append(float(loss.detach()))
        return loss

    arguments = _pretrain_arguments(
        tmp_path / "run", corpus, max_steps=5, logging_steps=2, gradient_accumulation_steps=2
    )
    result = pretrain(arguments, loss_fn=loss_fn)
    assert [step for step, _ in result.train_losses] == [2, 4, 5]
    expected = [sum(losses[0:4]) / 4, sum(losses[4:8]) / 4, sum(losses[8:10]) / 2]
    assert [loss for _, loss in result.train_losses] == pytest.approx(expected, rel=1e-6)
