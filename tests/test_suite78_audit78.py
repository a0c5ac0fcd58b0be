"""Audit 78 (suite time): cheap in-process checks that pin what slower end-to-end tests proved, so those can run
under `-m slow` (each mark names the default test that still runs its route)."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
import torch
from tiny_configs import tiny_config

# -------------------------------------------------------------------- Trainer.push_to_hub(blocking=False) wiring


class _StubHub:
    """Stands in for transformers' `hf_api()` in `Trainer.push_to_hub`: `upload_folder` waits for `gate`, records its
    call and, with `run_as_future=True`, hands back a future of a one-thread executor (as huggingface_hub's
    background commits)."""

    def __init__(self, executor: ThreadPoolExecutor, events: list[str], gate: threading.Event):
        self.executor, self.events, self.gate = executor, events, gate

    def upload_folder(self, *, repo_id, folder_path, run_as_future=False, revision=None, **kwargs):
        def upload() -> str:
            self.gate.wait(timeout=60)  # (a safety net: the test opens it at once)
            self.events.append("upload")
            return f"commit of {repo_id}"

        return self.executor.submit(upload) if run_as_future else upload()


@pytest.fixture
def stub_trainer(tmp_path, monkeypatch):
    """`(trainer, events, deletions, gate, handed_back)`: a `Trainer` of a tiny CiTrus classifier whose upload goes to
    `_StubHub` behind `gate` (no Hub: the card is not drafted, the repository id is set) and whose deletion of the
    other kind of checkpoint (`push.delete_the_other_kind`, which the hooks look up when they run) records its
    arguments in `deletions`, with whether each future in `handed_back` was still pending, and appends "delete" to
    `events`."""
    import transformers.trainer
    from transformers import Trainer, TrainingArguments

    import citrus_hf.publishing.push as push
    from citrus_hf import CiTrusForSequenceClassification

    events, deletions, gate, handed_back = [], [], threading.Event(), []

    def delete_the_other_kind(repo_id, folder, adapter, **given):
        pending = [not future.done() for future in handed_back]
        deletions.append({"repo_id": repo_id, "folder": str(folder), "adapter": adapter, **given, "pending": pending})
        events.append("delete")

    executor = ThreadPoolExecutor(max_workers=1)
    monkeypatch.setattr(transformers.trainer, "hf_api", lambda: _StubHub(executor, events, gate))
    monkeypatch.setattr(push, "delete_the_other_kind", delete_the_other_kind)
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    args = TrainingArguments(tmp_path / "run", use_cpu=True, report_to="none", hub_model_id="user/tiny")
    trainer = Trainer(model=model, args=args)
    trainer.hub_model_id = "user/tiny"  # (`init_hf_repo` would create it on the Hub)
    monkeypatch.setattr(trainer, "create_model_card", lambda **kwargs: None)
    yield trainer, events, deletions, gate, handed_back
    gate.set()
    executor.shutdown(wait=True)


def test_a_background_trainer_push_hands_back_a_future_done_once_the_deletion_is(stub_trainer):
    """The wiring tests/hub/test_hub_flaky_audit74.py runs end to end (under `-m slow`): `Trainer.push_to_hub(
    blocking=False)` of a CiTrus model hands back a future of its own whose `result()` is the upload's and returns
    only once the other kind's files are deleted (they were deleted in the upload's done-callback, after `result()`
    had returned), with the trainer's repository, output folder and branch."""
    trainer, events, deletions, gate, handed_back = stub_trainer
    pushed = trainer.push_to_hub(blocking=False, revision="dev")
    assert isinstance(pushed, Future)
    handed_back.append(pushed)
    gate.set()  # the upload goes on once the test holds the future
    assert pushed.result() == "commit of user/tiny" and events == ["upload", "delete"]
    assert deletions == [
        {"repo_id": "user/tiny", "folder": trainer.args.output_dir, "adapter": False, "fusion": False,
         "revision": "dev", "token": None, "pending": [True]}
    ]  # fmt: skip
    assert trainer.push_to_hub() == "commit of user/tiny"  # blocking: deleted before it returns
    assert events == ["upload", "delete", "upload", "delete"]


def test_a_background_trainer_push_raises_the_deletions_error(stub_trainer, monkeypatch):
    """A deletion that failed after a background upload was only logged by the executor; `result()` now raises it."""
    import citrus_hf.publishing.push as push

    trainer, events, _, gate, _ = stub_trainer
    gate.set()

    def refused(*args, **kwargs):
        raise OSError("the Hub refused the deletion")

    monkeypatch.setattr(push, "delete_the_other_kind", refused)
    with pytest.raises(OSError, match="the Hub refused the deletion"):
        trainer.push_to_hub(blocking=False).result()
    assert events == ["upload"]
