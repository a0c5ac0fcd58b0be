"""A fusion checkpoint's pipeline as remote code: `transformers.pipeline(model=folder or repo, trust_remote_code=True)`
where citrus_hf is not installed runs the fusion pipeline saved beside the weights, with the in-package pipeline's
results. Tiny fusion models (a few thousand parameters); the remote runs are in fresh interpreters that cannot import
citrus_hf (one per environment)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import pipeline

from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor
from citrus_hf.publishing.cards import build_model_card

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from hub_server import (  # noqa: E402
    CALL_MESSAGE,
    DEFAULT_TOKEN,
    DEFAULT_USER,
    HubServer,
    ScriptResults,
    client_env,
    client_result,
    in_one_client,
    printed_by_each,
    run_client,
)
from tiny_configs import tiny_config  # noqa: E402

RATES = {"ecg": 100, "eda": 20}  # the encoders' own rates
TASK_CLASSES = {"classifier": CiTrusFusionForSequenceClassification, "regressor": CiTrusFusionForRegression}


def saved_fusion(folder: Path, kind: str) -> str:
    """A tiny fusion classifier (3 labels) or regressor (1 target) of ECG at 100 Hz and EDA at 20 Hz, 2 s windows,
    saved with its processor as a user saves one."""
    eda = tiny_config(sampling_rate=20, context_length=40, patch_length=10, spectrogram_n_fft=10)
    head = {"num_labels": 3} if kind == "classifier" else {"num_targets": 1}
    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": eda}, **head)
    torch.manual_seed(0)
    model = TASK_CLASSES[kind](config).eval()
    model.save_pretrained(folder)
    CiTrusFusionProcessor.from_config(model.config).save_pretrained(folder)
    return str(folder)


def recording(seconds: float, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(int(seconds * rate)) for name, rate in RATES.items()}


# (__FOLDER__ and __RECORDING__ name the saved folder and its recording's .npz)
REMOTE_PIPELINE = """
import json, numpy as np, torch
from transformers import pipeline
folder, recording = "__FOLDER__", dict(np.load("__RECORDING__"))
run = pipeline(model=folder, trust_remote_code=True)
# fp32 PyTorch, as the in-package run: "auto" races bf16 in each process, and either may win
result = run(recording, sampling_rate={"ecg": 100, "eda": 20}, backend="torch")
# the bf16 path of the remote backends.py runs the fusion model too (audit 75)
bf16_backend = run(recording, sampling_rate={"ecg": 100, "eda": 20}, backend="bf16")["backend"]
# the dtype asked for is the dtype loaded, and the pipeline runs the model in it
half = pipeline(model=folder, trust_remote_code=True, dtype=torch.bfloat16)
half_result = half({name: signal[:200] for name, signal in recording.items()}, sampling_rate={"ecg": 100, "eda": 20})
try:
    import citrus_hf
    importable = True
except ImportError:
    importable = False
print("RESULT:", json.dumps({"pipeline": type(run).__module__ + "." + type(run).__name__,
                             "model": type(run.model).__name__, "result": result,
                             "half_dtype": str(half.model.dtype), "half_windows": len(half_result["windows"]),
                             "bf16_backend": bf16_backend,
                             "package_importable": importable}))
"""


def _run_without_package(scripts: dict[str, str], cwd: Path) -> ScriptResults:
    """Run `scripts` (name -> script) in one fresh interpreter where citrus_hf cannot be imported (`in_one_client`),
    with its own Hugging Face cache (the remote modules transformers writes) and offline; the JSON each printed after
    `RESULT:`, by name, read when a test reads it (`ScriptResults`)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "PYTHON"))}
    env.update(HF_HOME=str(cwd / "hf_home"), HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1")
    return ScriptResults(printed_by_each(run_client(in_one_client(scripts), env, cwd=cwd, without_package=True).stdout))


def _assert_same_results(remote: dict, expected: dict, kind: str) -> None:
    """The remote pipeline's result is the in-package one's (to the float rounding of another process's threads)."""
    assert set(remote) == set(expected)
    assert [(w["start"], w["end"], w["no_signal"]) for w in remote["windows"]] == [
        (w["start"], w["end"], w["no_signal"]) for w in expected["windows"]
    ]
    assert remote["unscored_seconds"] == pytest.approx(expected["unscored_seconds"])
    assert remote["backend"] == expected["backend"]
    if kind == "classifier":
        assert remote["label"] == expected["label"]
        assert [w["label"] for w in remote["windows"]] == [w["label"] for w in expected["windows"]]
        np.testing.assert_allclose(
            [w["score"] for w in remote["windows"]], [w["score"] for w in expected["windows"]], rtol=0, atol=1e-6
        )
        assert remote["label_seconds"] == pytest.approx(expected["label_seconds"])
    else:
        np.testing.assert_allclose(
            [w["target"] for w in remote["windows"]], [w["target"] for w in expected["windows"]], rtol=1e-5, atol=1e-6
        )
        assert remote["target"] == pytest.approx(expected["target"], rel=1e-5, abs=1e-6)


LOCAL_CASES = (("classifier", "pipeline"), ("regressor", "model"))


@pytest.fixture(scope="module")
def local_runs(tmp_path_factory) -> dict:
    """For each of LOCAL_CASES (a fusion classifier saved by its pipeline, a regressor saved by the model): the saved
    folder's files, the in-package pipeline's class and result on a 7 s recording, and REMOTE_PIPELINE's result on
    that folder, every case's remote run in one client without the package (they share its environment, and each
    client costs seconds of imports)."""
    workdir = tmp_path_factory.mktemp("fusion_local_runs")
    signals = recording(7.0)
    np.savez(workdir / "recording.npz", **signals)
    runs, scripts = {}, {}
    for kind, saved_by in LOCAL_CASES:
        name = f"{kind}_{saved_by}"  # (a folder name of its own: transformers names the remote module after it)
        folder = saved_fusion(workdir / f"{name}_model", kind)
        run_pipeline = pipeline(model=folder)
        if saved_by == "pipeline":
            run_pipeline.save_pretrained(workdir / f"{name}_shared")
            folder = str(workdir / f"{name}_shared")
        expected = json.loads(json.dumps(run_pipeline(signals, sampling_rate=RATES, backend="torch")))
        runs[name] = {"files": set(os.listdir(folder)), "pipeline": type(run_pipeline).__name__, "expected": expected}
        scripts[name] = REMOTE_PIPELINE.replace("__FOLDER__", folder).replace(
            "__RECORDING__", str(workdir / "recording.npz")
        )
    remote = _run_without_package(scripts, workdir)
    return {name: {**run, "remote": remote} for name, run in runs.items()}


@pytest.mark.parametrize(("kind", "saved_by"), LOCAL_CASES)
def test_a_saved_fusion_folder_runs_its_pipeline_without_the_package(kind, saved_by, local_runs):
    """The folder saved by the fusion model (or by its pipeline) carries the fusion pipeline's code and names it in
    config.json (`custom_pipelines`); transformers alone runs it with `trust_remote_code=True`, loading the processor
    saved beside the weights, with the in-package pipeline's results. Before, config.json named no pipeline and the
    folder held no pipelines.py: transformers could not tell the task, and given it, had no code to run."""
    run = local_runs[f"{kind}_{saved_by}"]
    assert {"pipelines.py", "backends.py", "processing_citrus_fusion.py"} <= run["files"]
    out = run["remote"][f"{kind}_{saved_by}"]
    assert out["package_importable"] is False
    module, name = out["pipeline"].rsplit(".", 1)
    assert module.startswith("transformers_modules.") and module.endswith(".pipelines")
    assert name == run["pipeline"]
    assert out["model"] == TASK_CLASSES[kind].__name__
    _assert_same_results(out["result"], run["expected"], kind)
    assert out["half_dtype"] == "torch.bfloat16" and out["half_windows"] == 1
    assert out["bf16_backend"] == "bf16"


@pytest.mark.parametrize("kind", sorted(TASK_CLASSES))
def test_a_fusion_checkpoints_config_names_its_pipeline_and_the_package_still_serves_it(kind, tmp_path):
    """config.json names the fusion task with the pipeline code and the Auto class that loads the model as remote code
    (as a single-modality checkpoint's does); where citrus_hf is imported, its registered pipeline serves the task,
    also when the caller passes `trust_remote_code=True`."""
    folder = saved_fusion(tmp_path, kind)
    saved = json.loads((tmp_path / "config.json").read_text())
    task, pipeline_class, auto_class = {
        "classifier": (
            "time-series-fusion-classification",
            "BioSignalFusionClassificationPipeline",
            "AutoModelForSequenceClassification",
        ),
        "regressor": (
            "time-series-fusion-regression",
            "BioSignalFusionRegressionPipeline",
            "AutoModelForTimeSeriesRegression",
        ),
    }[kind]
    assert saved["custom_pipelines"] == {task: {"impl": f"pipelines.{pipeline_class}", "pt": [auto_class]}}
    assert auto_class in saved["auto_map"]
    for trust in (None, True):
        run = pipeline(model=folder, trust_remote_code=trust)
        assert type(run).__module__ == "citrus_hf.inference.pipelines" and type(run).__name__ == pipeline_class
    # the config loads back with the entry, which the package's registered pipeline answers for
    loaded = CiTrusFusionConfig.from_pretrained(folder)
    assert dict(loaded.custom_pipelines) == saved["custom_pipelines"]
    assert task not in loaded.custom_pipelines


@pytest.mark.parametrize("kind", sorted(TASK_CLASSES))
def test_a_fusion_card_shows_the_pipeline_without_the_package(kind, tmp_path):
    """The card's remote-code section runs the fusion pipeline with `trust_remote_code=True` (it said "the code in
    this repository alone runs none"; a regressor's card had no remote-code section at all)."""
    folder = saved_fusion(tmp_path, kind)
    model = TASK_CLASSES[kind].from_pretrained(folder)
    text = str(build_model_card(model, CiTrusFusionProcessor.from_pretrained(folder), repo_id="me/fusion"))
    assert 'pipe = pipeline(model="me/fusion", trust_remote_code=True)' in text
    assert "alone\nruns none" not in text and "alone runs none" not in text
    without_processor = str(build_model_card(model, None, repo_id="me/fusion"))
    assert "pipeline(model=" not in without_processor.split("Without it,")[-1]


PUSH = """
from huggingface_hub import HfApi, ModelCard
from citrus_hf.publishing.push import push_to_hub
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor
model = CiTrusFusionForSequenceClassification.from_pretrained("local")
card = ModelCard("---\\nlicense: apache-2.0\\ntags:\\n- citrus-hf\\n---\\n# Tiny CiTrus fusion\\n")
push_to_hub(model, "__REPO__", CiTrusFusionProcessor.from_pretrained("local"), card)
"""
# After PUSH: a branch keeps the pushed commit, and the default branch moves on without the processor (a later commit
# that dropped it)
BRANCH_THEN_DROP_PROCESSOR = """
HfApi().create_branch("__REPO__", branch="v1")
HfApi().delete_file("processor_config.json", "__REPO__")
"""

PLAIN_REPO = f"{DEFAULT_USER}/citrus-fusion-pipeline"
BRANCHED_REPO = f"{DEFAULT_USER}/citrus-fusion-branch"
PRIVATE_REPO = f"{DEFAULT_USER}/citrus-fusion-private"
PUSH_ALL = (
    PUSH.replace("__REPO__", PLAIN_REPO)
    + f'push_to_hub(model, {BRANCHED_REPO!r}, CiTrusFusionProcessor.from_pretrained("local"), card)\n'
    + BRANCH_THEN_DROP_PROCESSOR.replace("__REPO__", BRANCHED_REPO)
    + f"HfApi().create_repo({PRIVATE_REPO!r}, private=True)\n"
    + f"HfApi().upload_folder(folder_path='local', repo_id={PRIVATE_REPO!r})\n"
)

# One client (without the package, logged in, an empty cache) runs every public repository's remote pipeline: they
# share its environment, and each client costs seconds of imports.
REMOTE_HUB_RUNS = (
    (
        CALL_MESSAGE
        + """
import json, numpy as np, torch
from transformers import AutoModelForSequenceClassification, AutoProcessor, pipeline
recording = dict(np.load("recording.npz"))

def run_pipeline(repo, **kwargs):
    run = pipeline(model=repo, trust_remote_code=True, **kwargs)
    result = run(recording, sampling_rate={"ecg": 100, "eda": 20}, backend="torch")
    return {"pipeline": type(run).__module__, "result": result}

out = {"plain": run_pipeline("__PLAIN__"), "branch": run_pipeline("__BRANCHED__", revision="v1")}
# the default branch of __BRANCHED__ dropped its processor
out["no_processor"] = message(lambda: pipeline(model="__BRANCHED__", trust_remote_code=True))
# the Auto classes alone load the model and its processor as remote code
model = AutoModelForSequenceClassification.from_pretrained("__PLAIN__", trust_remote_code=True).eval()
processor = AutoProcessor.from_pretrained("__PLAIN__", trust_remote_code=True)
with torch.no_grad():
    logits = model(**processor(recording, sampling_rate={"ecg": 100, "eda": 20})).logits
np.save("auto_logits.npy", logits.numpy())
out["auto_modules"] = [type(model).__module__, type(processor).__module__]
try:
    import citrus_hf
    out["package_importable"] = True
except ImportError:
    out["package_importable"] = False
print("RESULT:", json.dumps(out))
"""
    )
    .replace("__PLAIN__", PLAIN_REPO)
    .replace("__BRANCHED__", BRANCHED_REPO)
)

PRIVATE_RUN = """
import json, numpy as np
from transformers import AutoProcessor, pipeline
recording = dict(np.load("recording.npz"))
try:
    pipeline(model="__REPO__", trust_remote_code=True, token="__TOKEN__")
    refusal = None
except OSError as error:
    refusal = str(error)
# the way on the refusal names
processor = AutoProcessor.from_pretrained("__REPO__", token="__TOKEN__", trust_remote_code=True)
run = pipeline(model="__REPO__", trust_remote_code=True, token="__TOKEN__", processor=processor)
print("RESULT:", json.dumps({"refusal": refusal, "label": run(recording, sampling_rate={"ecg": 100, "eda": 20})["label"]}))
""".replace("__REPO__", PRIVATE_REPO).replace("__TOKEN__", DEFAULT_TOKEN)


@pytest.fixture(scope="module")
def hub_runs(tmp_path_factory) -> dict:
    """A tiny fusion classifier pushed to a test Hub three times (PUSH_ALL: as it is; to a repository whose branch
    v1 keeps the pushed commit and whose default branch then dropped its processor; private, no card) and run from
    there by clients without the package (a fresh cache each: logged in for the public repositories, anonymous with
    `token=` for the private one); with the in-package pipeline's result and logits on the same recording."""
    workdir = tmp_path_factory.mktemp("fusion_hub_runs")
    folder = saved_fusion(workdir / "local", "classifier")
    signals = recording(5.0, seed=3)
    np.savez(workdir / "recording.npz", **signals)
    # fp32 PyTorch in both processes: "auto" races bf16 in each, and either may win
    in_package = pipeline(model=folder)
    expected = json.loads(json.dumps(in_package(signals, sampling_rate=RATES, backend="torch")))
    with torch.no_grad():
        logits = in_package.model(**CiTrusFusionProcessor.from_pretrained(folder)(signals, sampling_rate=RATES)).logits
    with HubServer() as hub:
        run_client(PUSH_ALL, client_env(hub.url, workdir / "hf_home"), cwd=workdir)
        files = {repo: set(hub.repo_files(repo)) for repo in (PLAIN_REPO, BRANCHED_REPO)}
        fresh = client_env(hub.url, workdir / "fresh_home")
        out = client_result(run_client(REMOTE_HUB_RUNS, fresh, cwd=workdir, without_package=True).stdout)
        anonymous = client_env(hub.url, workdir / "anonymous_home", token=None)
        private = client_result(run_client(PRIVATE_RUN, anonymous, cwd=workdir, without_package=True).stdout)
    auto_logits = np.load(workdir / "auto_logits.npy")
    return {"expected": expected, "logits": logits.numpy(), "auto_logits": auto_logits, "files": files, "out": out,
            "private": private}  # fmt: skip


def test_a_pushed_fusion_model_runs_its_pipeline_from_the_hub_without_the_package(hub_runs):
    """Published, the repository holds the model's, processor's and pipeline's code, and
    `pipeline(model=repo_id, trust_remote_code=True)` without the package loads the repository's processor and gives
    the in-package results; so do the Auto classes alone."""
    files = hub_runs["files"][PLAIN_REPO]
    for name in ("config.json", "model.safetensors", "processor_config.json", "modeling_citrus_fusion.py",
                 "processing_citrus_fusion.py", "configuration_citrus_fusion.py", "modeling_citrus.py",
                 "pipelines.py", "backends.py"):  # fmt: skip
        assert name in files, f"{name} was not pushed"
    out = hub_runs["out"]
    assert out["package_importable"] is False
    assert out["plain"]["pipeline"].startswith("transformers_modules.")
    _assert_same_results(out["plain"]["result"], hub_runs["expected"], "classifier")
    assert all(module.startswith("transformers_modules.") for module in out["auto_modules"]), out["auto_modules"]
    np.testing.assert_allclose(hub_runs["auto_logits"], hub_runs["logits"], rtol=0, atol=1e-6)


def test_a_fusion_model_from_a_hub_branch_runs_with_that_branchs_processor_without_the_package(hub_runs):
    """The remote pipeline reads the processor at the commit the weights came from: at the repository's default
    branch it found none here (another checkpoint's, elsewhere: transformers' "Unrecognized processing class")."""
    assert {"pipelines.py", "backends.py"} <= hub_runs["files"][BRANCHED_REPO]
    assert hub_runs["out"]["branch"]["pipeline"].startswith("transformers_modules.")
    _assert_same_results(hub_runs["out"]["branch"]["result"], hub_runs["expected"], "classifier")


def test_a_hub_fusion_model_without_its_processor_is_refused_by_the_remote_pipeline_naming_the_fix(hub_runs):
    """(review of session 74) A repository whose commit holds no processor_config.json (a later commit dropped it):
    without the package, the remote pipeline's one line names the missing file and how to save it, not transformers'
    "Unrecognized processing class"."""
    kind, text = hub_runs["out"]["no_processor"]
    assert kind == "OSError" and "\n" not in text, text
    assert text.startswith(f"{BRANCHED_REPO!r} has no processor_config.json at the commit"), text
    assert "CiTrusFusionProcessor.from_config(model.config).save_pretrained(folder)" in text


def test_a_private_hub_fusion_models_remote_pipeline_says_the_token_is_not_passed_on(hub_runs):
    """(review of session 74) A private repository, `token=` given to `pipeline` and no login: transformers loaded
    the weights with the token but gives the pipeline none, whose read of the processor failed with transformers' "is
    not a valid model identifier ... make sure to pass a token" to a caller who had passed one. Now the line says why
    and how (log in, or pass the processor), and that way runs."""
    private = hub_runs["private"]
    assert private["refusal"] is not None and "\n" not in private["refusal"], private["refusal"]
    assert "without the `token=` given to `pipeline`" in private["refusal"]
    assert (
        f"processor=AutoProcessor.from_pretrained({PRIVATE_REPO!r}, token=..., trust_remote_code=True)"
        in private["refusal"]
    )
    assert private["label"].startswith("LABEL_")
