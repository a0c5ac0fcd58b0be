"""An adapter trained on a local base folder names, once published, the base others can load: `base_model=` (`citrus
push --base-model`) records a Hub id in the pushed adapter_config.json and card, and a push without it warns that the
recorded folder path loads only on this machine (it was published silently). Clients run in subprocesses pointed at
the test hub (see conftest.py)."""

from __future__ import annotations

import torch
from hub_server import DEFAULT_USER, client_result
from tiny_configs import TINY

from citrus_hf import CiTrusConfig, CiTrusForPretraining

BASE = f"{DEFAULT_USER}/citrus-tiny-adapter-base"
ADAPTER = f"{DEFAULT_USER}/citrus-tiny-adapter-named-base"
CLI_ADAPTER = f"{DEFAULT_USER}/citrus-tiny-adapter-named-base-cli"
LOCAL = f"{DEFAULT_USER}/citrus-tiny-adapter-local-base"

SCRIPT = """
import json, os, warnings
from huggingface_hub import ModelCard, hf_hub_download
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.publishing import push_adapter_to_hub, push_to_hub
from citrus_hf.training.lora import apply_lora, load_adapter, save_adapter

push_to_hub(CiTrusForSequenceClassification.from_pretrained("pretrained", num_labels=2), "__BASE__")
lora = apply_lora(CiTrusForSequenceClassification.from_pretrained("pretrained", num_labels=2), verbose=False)
with warnings.catch_warnings(record=True) as named:
    warnings.simplefilter("always")
    push_adapter_to_hub(lora, "__ADAPTER__", base_model="__BASE__")
with warnings.catch_warnings(record=True) as unnamed:
    warnings.simplefilter("always")
    push_adapter_to_hub(lora, "__LOCAL__")
try:
    push_adapter_to_hub(lora, "__LOCAL__", base_model="not a repo id")
    refused = None
except ValueError as error:
    refused = str(error)
save_adapter(lora, "saved_adapter")
cli_code = main(["push", "saved_adapter", "__CLI__", "--base-model", "__BASE__"])
two_code = main(["push", "saved_adapter", "__CLI__", "--base-model", "__BASE__", "a/b"])
read = lambda repo, name: open(hf_hub_download(repo, name)).read()
print("RESULT:", json.dumps({
    "recorded": json.loads(read("__ADAPTER__", "adapter_config.json"))["base_model_name_or_path"],
    "card_base": ModelCard(read("__ADAPTER__", "README.md")).data.base_model,
    "cli_recorded": json.loads(read("__CLI__", "adapter_config.json"))["base_model_name_or_path"],
    "local_recorded": json.loads(read("__LOCAL__", "adapter_config.json"))["base_model_name_or_path"],
    "in_memory": lora.peft_config["default"].base_model_name_or_path,
    "named_warnings": [str(w.message) for w in named if "local folder" in str(w.message)],
    "unnamed_warnings": [str(w.message) for w in unnamed if "local folder" in str(w.message)],
    "refused": refused, "cli_code": cli_code, "two_code": two_code,
    "loads": type(load_adapter(None, "__ADAPTER__")).__name__,
}))
"""


def test_an_adapter_on_a_local_base_is_published_with_the_base_named(make_hub_client, tmp_path):
    torch.manual_seed(0)
    CiTrusForPretraining(CiTrusConfig(**TINY)).save_pretrained(tmp_path / "pretrained")
    script = SCRIPT
    for key, repo in {"__BASE__": BASE, "__ADAPTER__": ADAPTER, "__CLI__": CLI_ADAPTER, "__LOCAL__": LOCAL}.items():
        script = script.replace(key, repo)
    result = client_result(make_hub_client(tmp_path)(script))
    assert result["recorded"] == BASE and result["card_base"] == BASE and result["cli_recorded"] == BASE
    # the model in memory keeps its own record: the folder it was loaded from, by its absolute path
    assert result["in_memory"] == str(tmp_path / "pretrained")
    assert result["local_recorded"] == str(tmp_path / "pretrained")  # by its absolute path, with a warning
    assert result["named_warnings"] == []
    (warning,) = result["unnamed_warnings"]
    assert "works only on this machine" in warning and "base_model=" in warning
    assert "neither a Hub model id" in result["refused"]
    assert result["cli_code"] == 0 and result["two_code"] != 0
    assert result["loads"].startswith("Peft")
