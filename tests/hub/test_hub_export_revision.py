"""`citrus export REPO --revision dev` prints the pipeline call that runs the export: without the revision, the call
it printed loaded the default branch (another model, another export). The client runs in a subprocess pointed at the
test hub (see conftest.py)."""

from __future__ import annotations

import torch
from hub_server import DEFAULT_USER, client_result
from tiny_configs import save_tiny_classifier

REPO = f"{DEFAULT_USER}/citrus-tiny-export-revision"

SCRIPT = """
import contextlib, io, json
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.publishing import push_to_hub

push_to_hub(CiTrusForSequenceClassification.from_pretrained("classifier"), "__REPO__", revision="dev")
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    code = main(["export", "__REPO__", "--revision", "dev", "--cache-dir", "onnx"])
print("RESULT:", json.dumps({"code": code, "printed": printed.getvalue()}))
"""


def test_the_printed_pipeline_call_names_the_revision_exported(make_hub_client, tmp_path):
    torch.manual_seed(0)
    save_tiny_classifier(tmp_path / "classifier")
    result = client_result(make_hub_client(tmp_path)(SCRIPT.replace("__REPO__", REPO)))
    assert result["code"] == 0
    assert f"pipeline(model='{REPO}', revision='dev'" in result["printed"]
