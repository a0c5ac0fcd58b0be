"""Review of the fusion pipeline as remote code (session 74): a fusion checkpoint without its processor is refused by
the remote pipeline with the package's line, not transformers' "Unrecognized processing class" (a Hub repository's,
and a private repository's token, in tests/test_fusionrc_audit74.py, which pushes them to one test Hub); a subfolder's
processor is the one read; an older fusion checkpoint (no `custom_pipelines`) still runs in-package; a single-modality
checkpoint's saved files are as before. Tiny fusion models; the remote runs are in one fresh interpreter that cannot
import citrus_hf."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import pipeline

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from hub_server import ScriptResults, in_one_client, printed_by_each, run_client  # noqa: E402
from test_fusionrc_audit74 import RATES, recording, saved_fusion  # noqa: E402
from tiny_configs import tiny_config  # noqa: E402

# (__FOLDER__ names the folder, __MODEL_KWARGS__ the pipeline's further arguments; __RECORDING__ the .npz)
REMOTE_RUN = """
import json, traceback, numpy as np
from transformers import pipeline
try:
    run = pipeline(model="__FOLDER__", trust_remote_code=True__MODEL_KWARGS__)
except Exception as error:
    print("RESULT:", json.dumps({"refusal": [type(error).__name__, str(error)], "traceback": traceback.format_exc()}))
else:
    result = run(dict(np.load("__RECORDING__")), sampling_rate={"ecg": 100, "eda": 20}, backend="torch")
    print("RESULT:", json.dumps({"pipeline": type(run).__module__, "name_or_path": run.model.name_or_path,
                                 "label": result["label"], "scores": [w["score"] for w in result["windows"]]}))
"""


def _offline_env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "PYTHON"))}
    env.update(HF_HOME=str(home), HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1")
    return env


@pytest.fixture(scope="module")
def remote_runs(tmp_path_factory) -> dict:
    """`pipeline(model=folder, trust_remote_code=True)` on a 5 s recording in one interpreter without citrus_hf
    (`in_one_client`: the cases share its environment, and each client costs seconds of imports), for a fusion folder
    saved without processor_config.json ("no_processor") and for a checkpoint in a subfolder whose root holds another
    checkpoint's processor ("subfolder", with the in-package pipeline's result as "expected")."""
    workdir = tmp_path_factory.mktemp("fusion_remote_runs")
    signals = recording(5.0, seed=1)
    np.savez(workdir / "recording.npz", **signals)
    no_processor = saved_fusion(workdir / "no_processor", "classifier")
    os.remove(os.path.join(no_processor, "processor_config.json"))
    parent = workdir / "parent"
    saved_fusion(parent / "fold-1", "classifier")
    for name in os.listdir(parent / "fold-1"):
        if name.endswith(".py"):
            shutil.copy(parent / "fold-1" / name, parent / name)
    # another checkpoint's processor at the root: ECG at another rate and length
    other = saved_fusion(workdir / "other", "classifier")
    config = json.loads(Path(other, "processor_config.json").read_text())
    config["feature_extractors"]["ecg"]["sampling_rate"] = 50.0
    (parent / "processor_config.json").write_text(json.dumps(config))
    # (both on fp32 PyTorch: "auto" races the paths on the first batch, so a loaded machine may pick bf16 in one run)
    expected = pipeline(model=str(parent), model_kwargs={"subfolder": "fold-1"})(
        signals, sampling_rate=RATES, backend="torch"
    )
    script = REMOTE_RUN.replace("__RECORDING__", str(workdir / "recording.npz"))
    scripts = {
        "no_processor": script.replace("__FOLDER__", no_processor).replace("__MODEL_KWARGS__", ""),
        "subfolder": script.replace("__FOLDER__", str(parent)).replace(
            "__MODEL_KWARGS__", ", model_kwargs={'subfolder': 'fold-1'}"
        ),
    }
    out = run_client(in_one_client(scripts), _offline_env(workdir / "hf_home"), cwd=workdir, without_package=True)
    return ScriptResults(printed_by_each(out.stdout), parent=parent, expected=expected)


def test_a_fusion_folder_without_its_processor_is_refused_by_the_remote_pipeline_naming_the_fix(remote_runs):
    """Without the package, a fusion folder saved without processor_config.json failed deep in transformers'
    AutoProcessor with "Unrecognized processing class ... a tokenizer, an image processor ..."; now the pipeline's
    one line names the missing file and how to save it."""
    kind, text = remote_runs["no_processor"]["refusal"]
    assert kind == "OSError" and "\n" not in text and "has no processor_config.json" in text, text
    assert "CiTrusFusionProcessor.from_config(model.config).save_pretrained(folder)" in text
    assert "Unrecognized processing class" not in remote_runs["no_processor"]["traceback"]


def test_the_remote_pipeline_reads_the_processor_of_the_subfolder_it_loaded(remote_runs):
    """Guard: a checkpoint in a subfolder (`model_kwargs={"subfolder": ...}`, the code at the folder's root, where
    transformers looks for it) runs with the subfolder's processor, not another one at the root: the root's here
    is of other modalities, which the model's check would refuse."""
    out, expected = remote_runs["subfolder"], remote_runs["expected"]
    assert "refusal" not in out, out
    assert out["pipeline"].startswith("transformers_modules.")
    assert out["name_or_path"] == str(remote_runs["parent"] / "fold-1")
    assert out["label"] == expected["label"]
    np.testing.assert_allclose(out["scores"], [w["score"] for w in expected["windows"]], rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_a_fusion_checkpoint_saved_before_custom_pipelines_still_runs_in_package(kind, tmp_path):
    """Guard: a fusion folder saved before fusion checkpoints named their pipeline (no `custom_pipelines`, no
    pipelines.py) runs with the package as before, with or without `trust_remote_code`, and saved again gains both."""
    folder = Path(saved_fusion(tmp_path / "old", kind))
    config = json.loads((folder / "config.json").read_text())
    del config["custom_pipelines"]
    (folder / "config.json").write_text(json.dumps(config))
    for name in ("pipelines.py", "backends.py"):
        (folder / name).unlink()
    signals = recording(5.0, seed=2)
    for trust in (None, True):
        run = pipeline(model=str(folder), trust_remote_code=trust)
        assert type(run).__module__ == "citrus_hf.inference.pipelines"
        assert len(run(signals, sampling_rate=RATES)["windows"]) == 2
    run.model.save_pretrained(tmp_path / "again")
    assert {"pipelines.py", "backends.py"} <= set(os.listdir(tmp_path / "again"))
    assert "custom_pipelines" in json.loads((tmp_path / "again" / "config.json").read_text())


def test_a_single_modality_checkpoints_saved_files_are_those_of_before(tmp_path):
    """Guard: the fusion change leaves a single-modality classifier's config.json and file list as they were (its own
    `custom_pipelines` entry, no fusion code)."""
    from citrus_hf.modeling_citrus import CiTrusForSequenceClassification

    torch.manual_seed(0)
    CiTrusForSequenceClassification(tiny_config(num_labels=3)).save_pretrained(tmp_path)
    assert sorted(os.listdir(tmp_path)) == [
        "_version.py",
        "backends.py",
        "config.json",
        "configuration_citrus.py",
        "model.safetensors",
        "modeling_citrus.py",
        "pipelines.py",
        "vocabulary_citrus.py",
    ]
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["custom_pipelines"] == {
        "time-series-classification": {
            "impl": "pipelines.BioSignalClassificationPipeline",
            "pt": ["AutoModelForSequenceClassification"],
        }
    }
    assert "modality_configs" not in saved
