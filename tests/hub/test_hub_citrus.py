"""Publishing and loading CiTrus checkpoints through the Hub protocol: push -> download -> load gives the same model,
feature extractor and card; the repository's code loads without the package; offline loading uses the cache; and
every failure says what is wrong and how to fix it.

The in-memory model and its outputs are computed here; clients run in subprocesses pointed at the test hub."""

from __future__ import annotations

import inspect
import json
import re

import numpy as np
import pytest
import safetensors.torch
import torch
from hub_server import CALL_MESSAGE, DEFAULT_USER, ScriptResults, client_result, in_one_client, printed_by_each
from huggingface_hub import ModelCard
from huggingface_hub.repocard_data import model_index_to_eval_results
from tiny_configs import TINY

from citrus_hf import CiTrusConfig, CiTrusForSequenceClassification
from citrus_hf.evaluation.records import parse_eval_results
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.loading import load_pretrained
from citrus_hf.publishing import build_model_card, push_to_hub

REPO = f"{DEFAULT_USER}/citrus-tiny"
RAW_RATE = 250  # the test recordings' rate: the feature extractor resamples them to the model's 100 Hz
EVAL_RESULTS = {
    "results": [
        {"dataset": "Epilepsy", "dataset_id": "citrus/epilepsy", "split": "test", "metric": "accuracy",
         "value": 0.9312, "std": 0.012, "label_budget": 60, "seeds": 5},
        {"dataset": "Epilepsy", "dataset_id": "citrus/epilepsy", "split": "test", "metric": "macro_f1",
         "value": 0.9105, "std": 0.015, "label_budget": 60, "seeds": 5},
        {"dataset": "Epilepsy", "dataset_id": "citrus/epilepsy", "split": "test", "metric": "accuracy",
         "value": 0.8801, "std": 0.02, "label_budget": 60, "seeds": 5, "method": "PatchTST (no pre-training)"},
    ]
}  # fmt: skip
CARD_KWARGS = dict(
    repo_id=REPO,
    base_model=f"{DEFAULT_USER}/citrus-sleepedf",
    datasets=["citrus/epilepsy"],
    pretraining={"corpus": "Sleep-EDF Expanded (Fpz-Cz EEG, 100 Hz)", "windows": 1200},
    hyperparameters={"learning_rate": 0.001, "epochs": 20, "batch_size": 16},
    eval_results=EVAL_RESULTS,
)

PUSH_AND_LOAD = """
import json, numpy as np, torch
from huggingface_hub import ModelCard, hf_hub_download
from transformers import AutoModelForSequenceClassification
from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.loading import load_feature_extractor, load_pretrained
from citrus_hf.publishing import build_model_card, push_to_hub

card_kwargs = json.load(open("card_kwargs.json"))
model = CiTrusForSequenceClassification.from_pretrained("local").eval()
extractor = CiTrusFeatureExtractor.from_pretrained("local")
card = build_model_card(model, extractor, **card_kwargs)
commit = push_to_hub(model, "__REPO__", extractor, card, commit_message="Publish the tiny CiTrus")

# Download and load through this package (Hub id) and through plain transformers (the package registers CiTrus).
loaded = load_pretrained("__REPO__")
loaded_extractor = load_feature_extractor("__REPO__")
features = loaded_extractor(np.load("raw.npy"), sampling_rate=__RATE__, return_tensors="pt")
auto_model = AutoModelForSequenceClassification.from_pretrained("__REPO__").eval()
with torch.no_grad():
    np.save("hub_logits.npy", loaded(**features).logits.numpy())
    np.save("auto_logits.npy", auto_model(**features).logits.numpy())
np.save("hub_features.npy", features["input_values"].numpy())

pushed_card = ModelCard.load(hf_hub_download("__REPO__", "README.md"))
pushed_card.validate()  # POST /api/validate-yaml: the check the Hub runs on every README.md it receives
print("RESULT:", json.dumps({
    "commit": commit.oid,
    "card_data": pushed_card.data.to_dict(),
    "extractor": loaded_extractor.to_dict(),
    "auto_class": type(auto_model).__module__ + "." + type(auto_model).__name__,
}))
"""

REMOTE_CODE = """
import json, numpy as np, torch
from transformers import AutoFeatureExtractor, AutoModelForSequenceClassification

out = {}
try:
    AutoModelForSequenceClassification.from_pretrained("__REPO__")
except ValueError as error:
    out["refused_without_trust"] = str(error)
model = AutoModelForSequenceClassification.from_pretrained("__REPO__", trust_remote_code=True).eval()
extractor = AutoFeatureExtractor.from_pretrained("__REPO__", trust_remote_code=True)
try:
    import citrus_hf
    out["package_importable"] = True
except ImportError:
    out["package_importable"] = False
out["model_module"] = type(model).__module__
out["extractor_module"] = type(extractor).__module__
features = extractor(np.load("raw.npy"), sampling_rate=__RATE__, return_tensors="pt")
with torch.no_grad():
    np.save("remote_logits.npy", model(**features).logits.numpy())
print("RESULT:", json.dumps(out))
"""

OFFLINE = """
import json, numpy as np, torch
from transformers import AutoModelForSequenceClassification
from citrus_hf.loading import load_feature_extractor, load_pretrained

model = load_pretrained("__REPO__")
features = load_feature_extractor("__REPO__")(np.load("raw.npy"), sampling_rate=__RATE__, return_tensors="pt")
auto_model = AutoModelForSequenceClassification.from_pretrained("__REPO__").eval()
with torch.no_grad():
    np.save("offline_logits.npy", model(**features).logits.numpy())
    np.save("offline_auto_logits.npy", auto_model(**features).logits.numpy())
# The repository's own code, run only because it is asked for: from the cached snapshot, still offline.
remote = load_pretrained("__REPO__", trust_remote_code=True)
remote_extractor = load_feature_extractor("__REPO__", trust_remote_code=True)
remote_features = remote_extractor(np.load("raw.npy"), sampling_rate=__RATE__, return_tensors="pt")
with torch.no_grad():
    np.save("offline_remote_logits.npy", remote(**remote_features).logits.numpy())
out = {"remote_modules": [type(remote).__module__, type(remote_extractor).__module__]}
try:
    load_pretrained("__REPO__", cache_dir="empty_cache")
except OSError as error:
    out["empty_cache_error"] = str(error)
print("RESULT:", json.dumps(out))
"""

ERRORS = (
    """
import json
from huggingface_hub import HfApi
from citrus_hf.loading import load_feature_extractor, load_pretrained

api = HfApi()
incomplete = api.create_repo("citrus-incomplete").repo_id
api.upload_file(path_or_fileobj=open("local/config.json", "rb"), path_in_repo="config.json", repo_id=incomplete)

"""
    + CALL_MESSAGE
    + """

print("RESULT:", json.dumps({
    "missing_repo": message(lambda: load_pretrained("__USER__/does-not-exist")),
    "missing_revision": message(lambda: load_pretrained("__REPO__", revision="v9")),
    "missing_weights": message(lambda: load_pretrained(incomplete)),
    "missing_extractor": message(lambda: load_feature_extractor(incomplete)),
    "missing_folder": message(lambda: load_pretrained("./no/such/checkpoint")),
    "bad_task": message(lambda: load_pretrained("__REPO__", task="segmentation")),
}))
"""
)

CLI_PUSH = """
from citrus_hf.commands.main import main

raise SystemExit(main([
    "push", "local", "__USER__/citrus-cli", "--revision", "dev", "--eval-results", "eval.json",
    "--pretraining-corpus", "Sleep-EDF Expanded", "--dataset", "citrus/epilepsy",
]))
"""


def script(text: str) -> str:
    return text.replace("__REPO__", REPO).replace("__RATE__", str(RAW_RATE)).replace("__USER__", DEFAULT_USER)


@pytest.fixture(scope="module")
def published(hub, make_hub_client, tmp_path_factory):
    """A tiny classifier and its extractor, saved locally, pushed by a client, then downloaded and run by it (`out`);
    in the same client (`in_one_client`: each client costs seconds of imports), the errors of ERRORS (`errors`) and
    the command line's push to a branch (`cli_push`), each on repositories of its own."""
    workdir = tmp_path_factory.mktemp("citrus_hub")
    torch.manual_seed(0)
    config = CiTrusConfig(**TINY, num_labels=3, channel_names=["Fpz-Cz"], channel_modalities=["eeg"])
    model = CiTrusForSequenceClassification(config).eval()
    extractor = CiTrusFeatureExtractor.from_config(config)
    model.save_pretrained(workdir / "local")
    extractor.save_pretrained(workdir / "local")
    # Synthetic noise: these tests check that outputs survive the round trip, not what the model predicts.
    raw = np.random.default_rng(0).standard_normal((4, 1, 3 * RAW_RATE)).astype(np.float32)
    np.save(workdir / "raw.npy", raw)
    (workdir / "eval.json").write_text(json.dumps(EVAL_RESULTS))
    (workdir / "card_kwargs.json").write_text(json.dumps(CARD_KWARGS))
    features = extractor(raw, sampling_rate=RAW_RATE, return_tensors="pt")
    with torch.no_grad():
        logits = model(**features).logits.numpy()
    client = make_hub_client(workdir)
    scripts = {"out": script(PUSH_AND_LOAD), "errors": script(ERRORS), "cli_push": script(CLI_PUSH)}
    return ScriptResults(
        printed_by_each(client(in_one_client(scripts))),
        model=model,
        extractor=extractor,
        features=features["input_values"].numpy(),
        logits=logits,
        workdir=workdir,
        client=client,
    )


def test_push_is_one_commit_with_weights_code_extractor_and_card(published, hub):
    stored = hub.repo_files(REPO)
    assert sorted(stored) == [
        ".gitattributes",
        "README.md",
        "_version.py",  # the citrus-hf version the configuration records in the files it saves
        "backends.py",  # the pipeline code its config's custom_pipelines names, with what it imports
        "config.json",
        "configuration_citrus.py",
        "feature_extraction_citrus.py",
        "model.safetensors",
        "modeling_citrus.py",
        "pipelines.py",
        "preprocessor_config.json",
        "vocabulary_citrus.py",  # the names the configuration chooses from, one of its relative imports
    ]
    repo = hub.repos[("model", REPO)]
    head = repo.commits[repo.branches["main"]]
    assert head.sha == published["out"]["commit"] and re.fullmatch(r"[0-9a-f]{40}", head.sha)
    assert head.title == "Publish the tiny CiTrus"
    assert repo.commits[head.parent].title == "initial commit"
    config = json.loads(stored["config.json"])
    assert config["auto_map"]["AutoModelForSequenceClassification"] == "modeling_citrus.CiTrusForSequenceClassification"
    assert json.loads(stored["preprocessor_config.json"])["auto_map"]["AutoFeatureExtractor"].startswith(
        "feature_extraction_citrus."
    )
    # The weights on the hub are the in-memory model's, tensor for tensor.
    pushed = safetensors.torch.load(stored["model.safetensors"])
    state = published["model"].state_dict()
    assert pushed.keys() == state.keys()
    assert all(torch.equal(pushed[name], state[name]) for name in state)


def test_download_and_load_gives_identical_outputs(published):
    workdir = published["workdir"]
    np.testing.assert_array_equal(np.load(workdir / "hub_features.npy"), published["features"])
    np.testing.assert_allclose(np.load(workdir / "hub_logits.npy"), published["logits"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.load(workdir / "auto_logits.npy"), published["logits"], rtol=0, atol=1e-6)
    assert published["out"]["auto_class"] == "citrus_hf.modeling_citrus.CiTrusForSequenceClassification"
    assert published["out"]["extractor"] == published["extractor"].to_dict()


def test_remote_code_loads_without_the_package(published, tmp_path):
    out = client_result(published["client"](script(REMOTE_CODE), hf_home=tmp_path / "fresh", without_package=True))
    assert out["package_importable"] is False
    assert out["model_module"].startswith("transformers_modules.")
    assert out["extractor_module"].startswith("transformers_modules.")
    assert "trust_remote_code" in out["refused_without_trust"]
    logits = np.load(published["workdir"] / "remote_logits.npy")
    np.testing.assert_allclose(logits, published["logits"], rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def offline_run(published, hub):
    """The client loads the published model again with HF_HUB_OFFLINE=1; returns its result and the requests the
    hub received meanwhile."""
    published.output("out")  # (the cache it reads is PUSH_AND_LOAD's: its own failure, with its output, if it failed)
    before = hub.request_count()
    out = client_result(published["client"](script(OFFLINE), HF_HUB_OFFLINE="1"))
    return {"out": out, "requests": hub.requests_since(before)}


def test_offline_loading_uses_the_cache_only(published, offline_run):
    assert offline_run["requests"] == []
    workdir = published["workdir"]
    np.testing.assert_allclose(np.load(workdir / "offline_logits.npy"), published["logits"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.load(workdir / "offline_auto_logits.npy"), published["logits"], rtol=0, atol=1e-6)


def test_load_pretrained_runs_repository_code_only_when_asked(published, offline_run):
    assert all(module.startswith("transformers_modules.") for module in offline_run["out"]["remote_modules"])
    logits = np.load(published["workdir"] / "offline_remote_logits.npy")
    np.testing.assert_allclose(logits, published["logits"], rtol=0, atol=1e-6)


def test_offline_with_empty_cache_says_how_to_fix(offline_run):
    text = offline_run["out"]["empty_cache_error"]
    assert REPO in text and "offline mode is on" in text and "unset HF_HUB_OFFLINE" in text


def test_local_folder_loads_identically(published):
    model = load_pretrained(published["workdir"] / "local")
    features = torch.from_numpy(published["features"])
    with torch.no_grad():
        logits = model(input_values=features).logits.numpy()
    np.testing.assert_allclose(logits, published["logits"], rtol=0, atol=1e-6)


def test_card_round_trips_with_its_metadata(published, hub):
    card = build_model_card(published["model"], published["extractor"], **CARD_KWARGS)
    pushed_text = hub.repo_files(REPO)["README.md"].decode()
    assert pushed_text == str(card)
    # What the client parsed back from the downloaded README equals what was written.
    assert published["out"]["card_data"] == card.data.to_dict()
    data = ModelCard(pushed_text).data
    assert data.library_name == "transformers"
    assert data.license == "apache-2.0"
    assert data.base_model == f"{DEFAULT_USER}/citrus-sleepedf"
    assert data.datasets == ["citrus/epilepsy"]
    assert {"citrus", "bio-signal", "time-series", "eeg"} <= set(data.tags)
    # model-index holds this model's two results; the baseline is only in the Markdown table.
    results = model_index_to_eval_results(data.to_dict()["model-index"])[1]
    assert sorted((r.metric_type, r.metric_value, r.dataset_split) for r in results) == [
        ("accuracy", 0.9312, "test"),
        ("macro_f1", 0.9105, "test"),
    ]
    for expected in (
        "| Sampling rate | 100 Hz |",
        "| Window | 2 s = 200 samples |",
        "| Channels | 1: Fpz-Cz (eeg); the head concatenates channels, so exactly 1 |",
        "| Normalisation | z-score per window and channel |",
        "| Patch length | 20 samples (0.2 s); 10 patches per channel |",
        "| Corpus | Sleep-EDF Expanded (Fpz-Cz EEG, 100 Hz) |",
        "| Masking | 50% of patches, in blocks of 2 patches, per channel |",
        "| learning_rate | 0.001 |",
        "| Epilepsy | test | baseline: PatchTST (no pre-training) | accuracy | 60 | 5 | 0.8801 ± 0.02 |",
        "arXiv",
        "author        = {Geenjaar, Eloy and Lu, Lie}",
    ):
        assert expected in pushed_text, expected


def test_errors_name_the_problem_and_the_fix(published):
    errors = published["errors"]
    kind, text = errors["missing_repo"]
    assert kind == "OSError" and f"{DEFAULT_USER}/does-not-exist" in text and "hf auth login" in text
    kind, text = errors["missing_revision"]
    assert kind == "OSError" and "'v9'" in text and REPO in text and "list_repo_refs" in text
    kind, text = errors["missing_weights"]
    assert kind == "OSError" and "no model.safetensors" in text and "never unpickles" in text
    kind, text = errors["missing_extractor"]
    assert kind == "OSError" and "no preprocessor_config.json" in text
    kind, text = errors["missing_folder"]
    assert kind == "OSError" and "does not exist" in text
    kind, text = errors["bad_task"]
    assert kind == "ValueError" and "sequence-classification" in text


def test_cli_push_to_a_branch(published, hub):
    published.output("cli_push")  # (its failure, with its output, if it failed)
    dev = hub.repo_files(f"{DEFAULT_USER}/citrus-cli", revision="dev")
    assert {"model.safetensors", "modeling_citrus.py", "preprocessor_config.json", "README.md"} <= set(dev)
    assert sorted(hub.repo_files(f"{DEFAULT_USER}/citrus-cli")) == [".gitattributes"]  # main untouched
    readme = dev["README.md"].decode()
    assert "| Corpus | Sleep-EDF Expanded |" in readme
    assert "| Epilepsy | test | this model | accuracy | 60 | 5 | 0.9312 ± 0.012 |" in readme


def test_trust_remote_code_is_never_the_default():
    assert inspect.signature(load_pretrained).parameters["trust_remote_code"].default is False


def test_push_refuses_pickled_files_before_contacting_the_hub(published):
    class PicklingModel:
        """A stand-in whose save_pretrained also writes a pickle, as torch.save-based training code does."""

        config = published["model"].config  # what push_to_hub reads to publish the matching feature extractor

        def save_pretrained(self, folder, **kwargs):
            published["model"].save_pretrained(folder, **kwargs)
            torch.save({"step": 1}, f"{folder}/training_args.bin")

    card = build_model_card(published["model"])
    # In this process huggingface_hub points at huggingface.co, which this machine cannot reach: the refusal must
    # come from the local check, before any request.
    with pytest.raises(ValueError, match=r"Refusing to publish pickled files \['training_args.bin'\]"):
        push_to_hub(PicklingModel(), REPO, card=card)


def test_eval_results_are_checked():
    with pytest.raises(ValueError, match=r"record 0 lacks \['value'\]"):
        parse_eval_results([{"dataset": "Epilepsy", "metric": "accuracy"}])
    with pytest.raises(ValueError, match="unknown keys"):
        parse_eval_results([{"dataset": "Epilepsy", "metric": "accuracy", "value": 0.9, "acc": 1}])
    with pytest.raises(ValueError, match="non-finite"):
        parse_eval_results({"results": [{"dataset": "Epilepsy", "metric": "accuracy", "value": float("nan")}]})
    records = parse_eval_results(EVAL_RESULTS)
    assert [r.method for r in records] == [None, None, "PatchTST (no pre-training)"]
