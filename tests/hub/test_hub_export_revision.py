"""`citrus export REPO --revision dev` prints the pipeline call that runs the export: without the revision, the call
it printed loaded the default branch (another model, another export). The end-to-end client runs in a subprocess
pointed at the test hub (see conftest.py); the printed call is pinned in-process, the ONNX export stubbed."""

from __future__ import annotations

import pytest
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


def test_the_printed_pipeline_call_names_the_revision_given(tmp_path, monkeypatch, capsys):
    """The last line of `citrus export --revision dev` names `revision='dev'` in the pipeline call it prints. The
    checkpoint is resolved (a stand-in for the Hub snapshot of that revision) and loaded as the command does; the ONNX
    export and its comparison, which the end-to-end test below runs, are stubbed: they do not shape the line."""
    from citrus_hf import loading
    from citrus_hf.commands import export
    from citrus_hf.commands.main import main
    from citrus_hf.inference import backends

    torch.manual_seed(0)
    folder = save_tiny_classifier(tmp_path / "classifier")
    resolved = []

    def snapshot_of(repo_or_path, *, revision=None, **options):
        resolved.append((repo_or_path, revision))
        return folder

    class StubExport:
        exported, path = False, tmp_path / "onnx" / "stub.onnx"

        def __init__(self, model, target, cache_dir):
            pass

    monkeypatch.setattr(loading, "resolve_checkpoint", snapshot_of)
    monkeypatch.setattr(backends, "OnnxRuntimeBackend", StubExport)
    monkeypatch.setattr(export, "_differences", lambda model, onnx_backend, torch_backend: (0.0, 0.0, True))
    assert main(["export", REPO, "--revision", "dev", "--cache-dir", str(tmp_path / "onnx")]) == 0
    assert resolved == [(REPO, "dev")]
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert f"pipeline(model='{REPO}', revision='dev', onnx_cache_dir=" in last_line, last_line


# slow: the route (citrus export's ONNX export and cache) is run by test_inference's
# test_citrus_export_fills_the_cache_auto_reads, the printed revision pinned by
# test_the_printed_pipeline_call_names_the_revision_given; this adds the export of a Hub branch end to end
@pytest.mark.slow
def test_the_printed_pipeline_call_names_the_revision_exported(make_hub_client, tmp_path):
    torch.manual_seed(0)
    save_tiny_classifier(tmp_path / "classifier")
    result = client_result(make_hub_client(tmp_path)(SCRIPT.replace("__REPO__", REPO)))
    assert result["code"] == 0
    assert f"pipeline(model='{REPO}', revision='dev'" in result["printed"]
