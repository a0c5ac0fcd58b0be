"""Publishing CiTrus fusion checkpoints: `citrus push` of a saved fusion folder -> download -> load gives the same
model, processor and card; the card passes the Hub's metadata check and describes every modality. Unit tests of the
fusion card (no hub) at the end.

The in-memory model and its outputs are computed here; clients run in subprocesses pointed at the test hub."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import safetensors.torch
import torch
from hub_server import DEFAULT_USER, client_result, validate_card_metadata
from huggingface_hub import ModelCard
from huggingface_hub.repocard_data import model_index_to_eval_results
from tiny_configs import TINY

from citrus_hf import CiTrusConfig, CiTrusFusionConfig, CiTrusFusionProcessor
from citrus_hf.commands import UsageError
from citrus_hf.commands.push import run
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.loading import load_pretrained
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification
from citrus_hf.publishing.cards import build_model_card

REPO = f"{DEFAULT_USER}/citrus-fusion-tiny"
RATES = {"ecg": 250, "eda": 32}  # the test recordings' rates: the processor resamples them to 100 Hz and 20 Hz
EVAL_RESULTS = {
    "results": [
        {"dataset": "WESAD", "dataset_id": "citrus/wesad", "split": "test", "metric": "accuracy", "value": 0.81,
         "std": 0.03, "label_budget": 40, "seeds": 5},
        {"dataset": "WESAD", "dataset_id": "citrus/wesad", "split": "test", "metric": "accuracy", "value": 0.74,
         "std": 0.04, "label_budget": 40, "seeds": 5, "method": "ECG only"},
    ]
}  # fmt: skip
# What `citrus push` below passes to `build_model_card`: the in-process card built with it must be the pushed one.
CARD_KWARGS = dict(
    repo_id=REPO,
    base_model=f"{DEFAULT_USER}/citrus-ecg",
    datasets=["citrus/wesad"],
    pretraining={"ecg": {"corpus": "PTB-XL"}},
    eval_results=EVAL_RESULTS,
)

CLI_PUSH = """
from citrus_hf.commands.main import main

raise SystemExit(main([
    "push", "local", "__REPO__", "--eval-results", "eval.json", "--pretraining-corpus", "ecg=PTB-XL",
    "--dataset", "citrus/wesad", "--base-model", "__USER__/citrus-ecg",
]))
"""

# A fresh client (empty cache): loads through this package, through transformers' Auto class (the package registers
# the fusion classifier) and through the repository's own code, and checks the card as the Hub does.
LOAD = """
import json, numpy as np, torch
from huggingface_hub import ModelCard, hf_hub_download
from transformers import AutoModelForSequenceClassification
from citrus_hf.loading import load_pretrained, load_processor

raw = dict(np.load("raw.npz"))
rates = json.load(open("rates.json"))
model = load_pretrained("__REPO__")
processor = load_processor("__REPO__")
batch = processor(raw, sampling_rate=rates)
auto_model = AutoModelForSequenceClassification.from_pretrained("__REPO__").eval()
remote = load_pretrained("__REPO__", trust_remote_code=True)
remote_processor = load_processor("__REPO__", trust_remote_code=True)
with torch.no_grad():
    np.save("hub_logits.npy", model(**batch).logits.numpy())
    np.save("auto_logits.npy", auto_model(**batch).logits.numpy())
    np.save("remote_logits.npy", remote(**remote_processor(raw, sampling_rate=rates)).logits.numpy())
np.savez("hub_inputs.npz", **{name: values.numpy() for name, values in batch["input_values"].items()})

card = ModelCard.load(hf_hub_download("__REPO__", "README.md"))
card.validate()  # POST /api/validate-yaml: the check the Hub runs on every README.md it receives
print("RESULT:", json.dumps({
    "card_data": card.data.to_dict(),
    "processor": processor.to_dict(),
    "classes": [type(m).__module__ + "." + type(m).__name__ for m in (model, auto_model, remote, remote_processor)],
}))
"""


def script(text: str) -> str:
    return text.replace("__REPO__", REPO).replace("__USER__", DEFAULT_USER)


def modality_configs() -> dict[str, CiTrusConfig]:
    """Two named ECG leads at 100 Hz (2 s), one EDA channel at 20 Hz (4 s, channels averaged)."""
    ecg = CiTrusConfig(**TINY, num_channels=2, channel_names=["I", "II"], channel_modalities=["ecg", "ecg"])
    eda = CiTrusConfig(
        **{**TINY, "sampling_rate": 20, "context_length": 80, "patch_length": 10, "spectrogram_n_fft": 10},
        channel_modalities=["eda"],
        channel_pooling="mean",
    )
    return {"eda": eda, "ecg": ecg}


def classifier() -> CiTrusFusionForSequenceClassification:
    torch.manual_seed(0)
    config = CiTrusFusionConfig(
        modality_configs=modality_configs(), num_labels=3, id2label={0: "baseline", 1: "stress", 2: "amusement"}
    )
    return CiTrusFusionForSequenceClassification(config).eval()


@pytest.fixture(scope="module")
def published(hub, make_hub_client, tmp_path_factory):
    """A tiny fusion classifier and its processor, saved locally, pushed with `citrus push`, then downloaded and run
    by a fresh client."""
    workdir = tmp_path_factory.mktemp("citrus_fusion_hub")
    model = classifier()
    processor = CiTrusFusionProcessor.from_config(model.config)
    model.save_pretrained(workdir / "local")
    processor.save_pretrained(workdir / "local")
    # Synthetic noise, 2 s of ECG and 4 s of EDA per example: the round trip is checked, not the predictions.
    rng = np.random.default_rng(0)
    raw = {"ecg": rng.standard_normal((4, 2, 2 * RATES["ecg"])), "eda": rng.standard_normal((4, 1, 4 * RATES["eda"]))}
    np.savez(workdir / "raw.npz", **raw)
    (workdir / "rates.json").write_text(json.dumps(RATES))
    (workdir / "eval.json").write_text(json.dumps(EVAL_RESULTS))
    batch = processor(raw, sampling_rate=RATES)
    with torch.no_grad():
        logits = model(**batch).logits.numpy()
    client = make_hub_client(workdir)
    push_output = client(script(CLI_PUSH))
    out = client_result(client(script(LOAD), hf_home=workdir / "fresh_home"))
    return {
        "model": model,
        "processor": processor,
        "inputs": {name: values.numpy() for name, values in batch["input_values"].items()},
        "logits": logits,
        "workdir": workdir,
        "push_output": push_output,
        "out": out,
    }


def test_citrus_push_publishes_weights_processor_code_and_card_in_one_commit(published, hub):
    stored = hub.repo_files(REPO)
    assert sorted(stored) == [
        ".gitattributes",
        "README.md",
        "_version.py",  # the citrus-hf version the configuration records in the files it saves
        "backends.py",  # the fusion pipeline's code, which config.json's `custom_pipelines` names
        "config.json",
        "configuration_citrus.py",
        "configuration_citrus_fusion.py",
        "feature_extraction_citrus.py",
        "model.safetensors",
        "modeling_citrus.py",
        "modeling_citrus_fusion.py",
        "pipelines.py",
        "processing_citrus_fusion.py",
        "processor_config.json",
        "vocabulary_citrus.py",
    ]
    repo = hub.repos[("model", REPO)]
    head = repo.commits[repo.branches["main"]]
    assert head.title == "Upload CiTrus fusion model, processor and model card"
    assert repo.commits[head.parent].title == "initial commit"
    assert f"Pushed local to {REPO}" in published["push_output"]
    config = json.loads(stored["config.json"])
    assert config["model_type"] == "citrus_fusion"
    assert config["auto_map"]["AutoModelForSequenceClassification"] == (
        "modeling_citrus_fusion.CiTrusFusionForSequenceClassification"
    )
    assert json.loads(stored["processor_config.json"])["auto_map"] == {
        "AutoProcessor": "processing_citrus_fusion.CiTrusFusionProcessor"
    }
    pushed = safetensors.torch.load(stored["model.safetensors"])
    state = published["model"].state_dict()
    assert pushed.keys() == state.keys()
    assert all(torch.equal(pushed[name], state[name]) for name in state)


def test_loading_from_the_hub_gives_identical_outputs(published):
    workdir = published["workdir"]
    hub_inputs = np.load(workdir / "hub_inputs.npz")
    for name, values in published["inputs"].items():
        np.testing.assert_array_equal(hub_inputs[name], values)
    for file in ("hub_logits.npy", "auto_logits.npy", "remote_logits.npy"):
        np.testing.assert_allclose(np.load(workdir / file), published["logits"], rtol=0, atol=1e-6, err_msg=file)
    package, auto, remote, remote_processor = published["out"]["classes"]
    assert package == auto == "citrus_hf.modeling_citrus_fusion.CiTrusFusionForSequenceClassification"
    assert remote.startswith("transformers_modules.") and remote_processor.startswith("transformers_modules.")
    assert published["out"]["processor"] == published["processor"].to_dict()


def test_pushed_card_is_valid_and_describes_the_fusion_model(published, hub):
    readme = hub.repo_files(REPO)["README.md"].decode()
    assert validate_card_metadata(readme) == ([], [])
    # The CLI passed its options through: the card equals the one built here with the same arguments.
    card = build_model_card(published["model"], published["processor"], **CARD_KWARGS)
    assert readme == str(card)
    assert published["out"]["card_data"] == card.data.to_dict()
    data = ModelCard(readme).data
    assert data.library_name == "transformers" and data.license == "apache-2.0"
    assert data.base_model == f"{DEFAULT_USER}/citrus-ecg" and data.datasets == ["citrus/wesad"]
    assert {"citrus", "citrus-fusion", "multimodal", "time-series-classification", "ecg", "eda"} <= set(data.tags)
    results = model_index_to_eval_results(data.to_dict()["model-index"])[1]
    assert [(r.task_type, r.metric_type, r.metric_value, r.dataset_type) for r in results] == [
        ("time-series-classification", "accuracy", 0.81, "citrus/wesad")
    ]
    for expected in (
        "# citrus-fusion-tiny (CiTrus fusion)",
        "| Class | `CiTrusFusionForSequenceClassification` |",
        "| Fused embedding | 48 features = 32 (ecg) + 16 (eda), every modality's embedding layer-normalised first |",
        "| Labels | 3 (0: baseline, 1: stress, 2: amusement) |",
        "| Corpus | PTB-XL |",
        "| WESAD | test | baseline: ECG only | accuracy | 40 | 5 | 0.74 ± 0.04 |",
        f'CiTrusFusionProcessor.from_pretrained("{REPO}")',
        f'AutoModelForSequenceClassification.from_pretrained("{REPO}", trust_remote_code=True)',
    ):
        assert expected in readme, expected


def test_cli_refuses_a_pretraining_corpus_without_its_modality(published):
    local = str(published["workdir"] / "local")
    # Refused while the card is built, before the Hub (unreachable from this process) is contacted.
    with pytest.raises(UsageError, match=r"MODALITY=CORPUS.*'ecg=\.\.\.'"):
        run([local, f"{DEFAULT_USER}/never", "--pretraining-corpus", "PTB-XL"])


# ----------------------------------------------------------------------------------------------- card, no hub


def saved_config(model, tmp_path) -> CiTrusFusionConfig:
    """The config as a saved checkpoint holds it (`architectures` names the class)."""
    model.save_pretrained(tmp_path)
    return CiTrusFusionConfig.from_pretrained(tmp_path)


def test_card_of_a_fusion_config_describes_every_modality(tmp_path):
    config = saved_config(CiTrusFusionForRegression(CiTrusFusionConfig(modality_configs=modality_configs())), tmp_path)
    card = build_model_card(config, CiTrusFusionProcessor.from_config(config), hyperparameters={"epochs": 3})
    text = str(card)
    data = card.data
    assert data.library_name == "transformers" and data.license == "apache-2.0"
    assert data.tags == [
        "citrus", "citrus-fusion", "multimodal", "bio-signal", "time-series", "time-series-regression", "ecg", "eda",
    ]  # fmt: skip
    assert data.eval_results is None and "No evaluation results were recorded" in text
    assert text.startswith("---\n") and validate_card_metadata(text) == ([], [])
    assert "A CiTrus fusion regressor (1 target) of 2 modalities" in text
    # Per modality, in concatenation order: input contract, encoder, pooled embedding, extractor, pre-training.
    ecg, eda = text.index("### `ecg`"), text.index("### `eda`")
    assert ecg < eda < text.index("## Hyper-parameters")
    ecg_section, eda_section = text[ecg:eda], text[eda : text.index("## Hyper-parameters")]
    for expected in (
        "| Sampling rate | 100 Hz |",
        "| Window | 2 s = 200 samples |",
        "| Channels | 2: I (ecg), II (ecg); the head concatenates channels, so exactly 2 |",
        "| Input tensor | `input_values` (batch, channels, time), float32: time 200 for a full window, or a shorter "
        "recording's own duration in whole patches of 20 |",
        "| Class | `CiTrusModel` |",
        "| Transformer | 1 layer, d_model 16, 2 heads, feed-forward 32, channel-independent attention |",
        "| Pooled embedding | 32 features: context features, mean pooling over patches, channels concatenated |",
        "| `sampling_rate` | 100 |",
        "| Corpus | not recorded for this checkpoint |",
    ):
        assert expected in ecg_section, expected
    for expected in (
        "| Sampling rate | 20 Hz |",
        "| Window | 4 s = 80 samples |",
        "| Channels | 1: channel 0 (eda); the head averages channels, so any channel count works |",
        "| Patch length | 10 samples (0.5 s); 8 patches per channel |",
        "| Pooled embedding | 16 features: context features, mean pooling over patches, channels averaged |",
        "| `sampling_rate` | 20 |",
    ):
        assert expected in eda_section, expected
    for expected in (
        "| Class | `CiTrusFusionForRegression` |",
        "| Modalities | `ecg`, `eda` (concatenation order) |",
        "| Head | dropout 0.1, then one linear layer |",
        "| Targets | 1 |",
        "| epochs | 3 |",
        "CiTrusFusionForRegression.from_pretrained",
        'processor({"ecg": ecg_windows, "eda": eda_windows}, sampling_rate={"ecg": ecg_rate, "eda": eda_rate}',
        "Every modality is required",
        "author        = {Geenjaar, Eloy and Lu, Lie}",
    ):
        assert expected in text, expected
    # A config carries no weights to count, and the regressor ships no Auto class for remote code: without the
    # package it runs through the fusion pipeline's code alone.
    assert "| Parameters |" not in text
    remote = text.split("Without it,")[-1].split("One encoder on its own")[0]
    assert "pipeline(model=" in remote and "trust_remote_code=True" in remote
    assert "AutoModel" not in remote and "AutoProcessor" not in remote


def test_card_of_a_fusion_model_counts_parameters_and_checks_its_processor(tmp_path):
    model = classifier()
    text = str(build_model_card(model, repo_id="me/fusion"))
    total = sum(p.numel() for p in model.parameters())
    ecg = sum(p.numel() for p in model.encoders["ecg"].parameters())
    assert f"| Parameters | {total:,} (all encoders and the head) |" in text
    assert f"| Parameters | {ecg:,} |" in text
    assert "Feature extractor (`processor_config.json`" not in text  # no processor given, none listed
    with pytest.raises(TypeError, match="CiTrusFusionProcessor"):
        build_model_card(model, CiTrusFeatureExtractor.from_config(model.config.modality_configs["ecg"]))
    with pytest.raises(ValueError, match=r"prepares modalities \['ecg'\] but the model has \['ecg', 'eda'\]"):
        build_model_card(model, CiTrusFusionProcessor({"ecg": CiTrusFeatureExtractor.from_config(model.config.modality_configs["ecg"])}))  # fmt: skip
    wrong_rate = CiTrusFusionProcessor.from_config(model.config)
    wrong_rate.feature_extractors["eda"].sampling_rate = 50
    with pytest.raises(ValueError, match=r"modality 'eda': The feature extractor resamples to 50"):
        build_model_card(model, wrong_rate)
    with pytest.raises(ValueError, match=re.escape("keyed by modality (['ecg', 'eda']), got ['corpus']")):
        build_model_card(model, pretraining={"corpus": "PTB-XL"})


def test_load_pretrained_loads_a_local_fusion_checkpoint_for_its_tasks_only(tmp_path):
    model = classifier()
    model.save_pretrained(tmp_path)
    loaded = load_pretrained(tmp_path)
    assert type(loaded) is CiTrusFusionForSequenceClassification
    inputs = {"ecg": torch.randn(2, 2, 200), "eda": torch.randn(2, 1, 80)}
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_values=inputs).logits, model(input_values=inputs).logits)
    with pytest.raises(ValueError, match="is a CiTrus fusion checkpoint.*load_encoder"):
        load_pretrained(tmp_path, task="base")
