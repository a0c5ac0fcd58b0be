"""Audit 74, races: `Trainer.push_to_hub(blocking=False)` hands back a future that is done only once the push is
(its deletion of the other kind of checkpoint included). Clients run in subprocesses pointed at the test hub (see
conftest.py)."""

from __future__ import annotations

import pytest
import torch
from hub_server import DEFAULT_USER, client_result
from test_hub_ecoparity_audit70 import TRAINER_SCRIPT
from tiny_configs import TINY

from citrus_hf import CiTrusConfig, CiTrusForPretraining

REPO = f"{DEFAULT_USER}/citrus-tiny-background-push"

# the ecoparity audit's client: its imports, the test hub's API, 8 random rows and the classifier of "pretrained"
PREAMBLE = TRAINER_SCRIPT[: TRAINER_SCRIPT.index("\ndef push(")]

SCRIPT = (
    PREAMBLE
    + """
import citrus_hf.publishing.push as push

def trainer(model, folder):
    args = TrainingArguments(
        folder, max_steps=1, per_device_train_batch_size=4, use_cpu=True, report_to="none", hub_model_id="__REPO__"
    )
    run = Trainer(model=model, args=args, train_dataset=rows)
    run.train()
    return run

trainer(classifier(), "full").push_to_hub()
delete_the_other_kind = push.delete_the_other_kind

def slow_deletion(*args, **kwargs):  # a Hub that takes its time over the second commit
    time.sleep(2)
    delete_the_other_kind(*args, **kwargs)

push.delete_the_other_kind = slow_deletion
pushed = trainer(apply_lora(classifier(), verbose=False), "adapter").push_to_hub(blocking=False)
pushed.result()
after_result = files()

def broken_deletion(*args, **kwargs):
    raise OSError("the Hub refused the deletion")

push.delete_the_other_kind = broken_deletion
try:
    trainer(classifier(), "full_again").push_to_hub(blocking=False).result()
    raised = None
except OSError as error:
    raised = str(error)
print("RESULT:", json.dumps({"after_result": after_result, "raised": raised}))
"""
)


# slow: the route is run by test_hub_ecoparity_audit70.py::test_the_trainers_push_replaces_the_other_kind_of_checkpoint (a
# background adapter push over a full model); this adds the wait and the error, which test_suite78_audit78.py pins
@pytest.mark.slow
def test_a_background_trainer_push_is_done_once_the_other_kind_is_deleted(make_hub_client, tmp_path):
    """`Trainer.push_to_hub(blocking=False)` of a LoRA adapter over a full model: the model's files are deleted after
    the upload, in the upload future's done-callback, which ran after `result()` had returned, so a caller who waited
    for the push and read the repository found the model's config and weights beside the adapter (the Auto classes
    then load the stale full model); and a deletion that failed was only logged by the executor. The future handed
    back is now done once the deletion is, and raises its error."""
    torch.manual_seed(0)
    CiTrusForPretraining(CiTrusConfig(**TINY)).save_pretrained(tmp_path / "pretrained")
    result = client_result(make_hub_client(tmp_path)(SCRIPT.replace("__REPO__", REPO)))
    assert "adapter_config.json" in result["after_result"]
    assert not {"config.json", "model.safetensors"} & set(result["after_result"])
    assert result["raised"] == "the Hub refused the deletion"
