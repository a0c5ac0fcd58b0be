"""(b) peft's `load_adapter("user/repo", adapter_name=...)` of a CiTrus adapter on the Hub: the package's head checks
(another task's head, another head shape beside the adapters already on the model) read the adapter's weights, which
were not downloaded yet, so they judged by adapter_config.json alone: the head-shape check was skipped. They now run
on the downloaded weights, as for a folder. Clients run in subprocesses pointed at the test hub (see conftest.py)."""

from __future__ import annotations

import pytest
from hub_server import CALL_MESSAGE, DEFAULT_USER, ScriptResults, results_in_one_client

WIDER = f"{DEFAULT_USER}/citrus-tiny-four-class-adapter"

SHAPE_SCRIPT = (
    CALL_MESSAGE
    + """
import json
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.publishing import push_adapter_to_hub
from citrus_hf.training.lora import apply_lora

classifier = lambda labels: CiTrusForSequenceClassification.from_pretrained("pretrained", num_labels=labels)
push_adapter_to_hub(apply_lora(classifier(4), verbose=False), "__REPO__")
model = apply_lora(classifier(3), verbose=False)
print("RESULT:", json.dumps(message(lambda: model.load_adapter("__REPO__", adapter_name="hub"))))
"""
)


def test_a_hub_adapter_of_another_head_shape_is_refused_as_a_folders_is(runs):
    result = runs["test_a_hub_adapter_of_another_head_shape_is_refused_as_a_folders_is"]
    assert result is not None, "the adapter of a 4-output head was loaded beside a 3-output one"
    name, text = result
    assert name == "ValueError" and "share its head's shape" in text, result


SEQ_CLS_REGRESSOR = f"{DEFAULT_USER}/citrus-tiny-seq-cls-regressor-adapter"

SEQ_CLS_SCRIPT = (
    CALL_MESSAGE
    + """
import json
from peft import LoraConfig, PeftModel, get_peft_model
from citrus_hf import CiTrusForRegression

regressor = lambda: CiTrusForRegression.from_pretrained("pretrained")
get_peft_model(regressor(), LoraConfig(task_type="SEQ_CLS", r=2)).push_to_hub("__REPO__")  # peft's own push
print("RESULT:", json.dumps(message(lambda: PeftModel.from_pretrained(regressor(), "__REPO__"))))
"""
)


def test_a_hub_seq_cls_adapter_of_a_regressor_that_saved_no_classifier_loads_as_a_folders_does(runs):
    """peft's `task_type="SEQ_CLS"` names a classifier among the modules it saves; a regressor's adapter trained that
    way saved none, which the weights show: from a folder it loads onto a regressor, from the Hub it was refused as a
    classifier's adapter (tests/test_peft3_audit73.py has the folder's case)."""
    result = runs["test_a_hub_seq_cls_adapter_of_a_regressor_that_saved_no_classifier_loads_as_a_folders_does"]
    assert result is None, result


@pytest.fixture(scope="module")
def runs(make_hub_client, workdir_with_pretrained) -> ScriptResults:
    """Each test's script's result, by test name, from one client (each client costs seconds of imports)."""
    tmp_path = workdir_with_pretrained("leftovers8")
    scripts = {
        "test_a_hub_adapter_of_another_head_shape_is_refused_as_a_folders_is": SHAPE_SCRIPT.replace("__REPO__", WIDER),
        "test_a_hub_seq_cls_adapter_of_a_regressor_that_saved_no_classifier_loads_as_a_folders_does": SEQ_CLS_SCRIPT.replace(
            "__REPO__", SEQ_CLS_REGRESSOR
        ),
    }
    return results_in_one_client(make_hub_client(tmp_path), scripts)
