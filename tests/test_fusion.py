"""CiTrus fusion models: per-modality encoders fused by concatenation, their config, processor and collator.

Synthetic tensors only (tiny configs): these tests check plumbing and round trips, not accuracy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
from huggingface_hub.errors import StrictDataclassError
from tiny_configs import tiny_config
from transformers import AutoProcessor

from citrus_hf import CiTrusConfig, CiTrusForPretraining, CiTrusForSequenceClassification, CiTrusModel
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionDataCollator, CiTrusFusionProcessor

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from hub_server import DEFAULT_USER, HubServer, client_env, client_result, run_client  # noqa: E402


def ecg_config(**overrides) -> CiTrusConfig:
    """Two leads at 100 Hz, 2 s windows, criss-cross attention."""
    return tiny_config(
        **{"num_channels": 2, "attention_type": "criss_cross", "num_channel_attention_heads": 1, **overrides}
    )


def eda_config(**overrides) -> CiTrusConfig:
    """One channel at 20 Hz, 4 s windows, 10-sample patches."""
    values = dict(sampling_rate=20, context_length=80, patch_length=10, spectrogram_n_fft=10)
    return tiny_config(**{**values, **overrides})


def fusion_config(**overrides) -> CiTrusFusionConfig:
    return CiTrusFusionConfig(
        **{"modality_configs": {"eda": eda_config(), "ecg": ecg_config()}, "num_labels": 3, **overrides}
    )


def inputs(batch: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {
        "ecg": torch.randn(batch, 2, 200, generator=generator),
        "eda": torch.randn(batch, 1, 80, generator=generator),
    }


@pytest.fixture
def model() -> CiTrusFusionForSequenceClassification:
    torch.manual_seed(0)
    return CiTrusFusionForSequenceClassification(fusion_config()).eval()


# ----------------------------------------------------------------------------------------------- config


def test_config_round_trip_is_exact(tmp_path):
    config = fusion_config(head_dropout=0.2, normalize_embeddings=False, id2label={0: "a", 1: "b", 2: "c"})
    config.save_pretrained(tmp_path)
    loaded = CiTrusFusionConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()
    assert loaded.modalities == ["ecg", "eda"]  # sorted, whatever the order given
    for name in config.modalities:
        assert isinstance(loaded.modality_configs[name], CiTrusConfig)
        assert loaded.modality_configs[name] == config.modality_configs[name]
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["modality_configs"]["ecg"]["model_type"] == "citrus"
    assert saved["modality_configs"]["ecg"]["attention_type"] == "criss_cross"
    # the dict form builds the same config
    assert CiTrusFusionConfig(**config.to_dict()).to_dict() == config.to_dict()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "modality_configs` is required"),
        ({"modality_configs": {}}, "modality_configs` is required"),
        ({"modality_configs": {"ecg.lead": CiTrusConfig()}}, "letters, digits and underscores"),
        ({"modality_configs": {"ecg": {"model_type": "bert"}}}, "model_type 'bert'"),
        ({"modality_configs": {"ecg": CiTrusConfig()}, "head_dropout": 1.5}, "head_dropout"),
        ({"modality_configs": {"ecg": CiTrusConfig()}, "num_targets": 0}, "num_targets"),
        # names torch's ModuleDict already uses: KeyError "attribute 'type' already exists" when the model was built
        ({"modality_configs": {"type": CiTrusConfig()}}, "modality name 'type' is taken"),
        ({"modality_configs": {"training": CiTrusConfig()}}, "modality name 'training' is taken"),
        ({"modality_configs": [CiTrusConfig()]}, r"dict modality name -> CiTrusConfig.*got list"),
        # misspelt fusion settings were kept as extra attributes and the defaults used
        ({"modality_configs": {"ecg": CiTrusConfig()}, "normalise_embeddings": False}, "normalize_embeddings"),
        ({"modality_configs": {"ecg": CiTrusConfig()}, "head_droput": 0.5}, "did you mean 'head_dropout'"),
    ],
)
def test_config_rejects_bad_values_clearly(kwargs, message):
    with pytest.raises((StrictDataclassError, ValueError, TypeError), match=message):
        CiTrusFusionConfig(**kwargs)


def test_config_sub_config_errors_name_the_field():
    with pytest.raises(StrictDataclassError, match="patch_length"):
        CiTrusFusionConfig(modality_configs={"ecg": {"context_length": 105}})
    from transformers import BertConfig

    with pytest.raises(TypeError, match="CiTrus encoders"):
        CiTrusFusionConfig(modality_configs={"text": BertConfig()})


def test_attention_implementation_reaches_every_encoder():
    config = fusion_config()
    config._attn_implementation = "eager"
    assert {c._attn_implementation for c in config.modality_configs.values()} == {"eager"}
    model = CiTrusFusionForSequenceClassification(fusion_config())
    assert {m.config._attn_implementation for m in model.encoders.values()} == {"sdpa"}


# ----------------------------------------------------------------------------------------------- model


def test_forward_shapes_loss_and_backward(model):
    assert model.embedding_size == 2 * 16 + 16  # ECG: 2 leads concatenated; EDA: 1 channel
    labels = torch.tensor([0, 2, 1])
    outputs = model.train()(input_values=inputs(), labels=labels)
    assert outputs.logits.shape == (3, 3)
    outputs.loss.backward()
    for name in ("ecg", "eda"):
        assert model.encoders[name].patch_embedding.projection.weight.grad.abs().sum() > 0
    assert model.embed(inputs()).shape == (3, model.embedding_size)
    loss, logits = model(input_values=inputs(), labels=labels, return_dict=False)
    assert logits.shape == (3, 3)


def test_fused_embedding_is_the_concatenation_of_each_encoders_pooled_output(model):
    batch = inputs()
    with torch.no_grad():
        fused = model.embed(batch)
        parts = []
        for name in ("ecg", "eda"):  # sorted order
            hidden = model.encoders[name](batch[name]).last_hidden_state  # (B, C, P, D)
            pooled = hidden.mean(dim=2).flatten(1)
            parts.append(torch.nn.functional.layer_norm(pooled, pooled.shape[-1:]))
    # the LayerNorms start as the identity affine map
    torch.testing.assert_close(fused, torch.cat(parts, dim=-1))


def test_forward_rejects_missing_unknown_and_misshaped_inputs(model):
    with pytest.raises(ValueError, match=r"missing \['eda'\]"):
        model(input_values={"ecg": inputs()["ecg"]})
    with pytest.raises(ValueError, match=r"unknown \['ppg'\]"):
        model(input_values={**inputs(), "ppg": torch.randn(3, 1, 80)})
    with pytest.raises(TypeError, match="dict modality -> tensor"):
        model(input_values=torch.randn(3, 1, 80))
    with pytest.raises(ValueError, match="same batch size"):
        model(input_values={"ecg": torch.randn(3, 2, 200), "eda": torch.randn(2, 1, 80)})
    with pytest.raises(ValueError, match="built for 2 channel"):
        model(input_values={"ecg": torch.randn(3, 3, 200), "eda": torch.randn(3, 1, 80)})
    with pytest.raises(ValueError, match="not a multiple of the patch length"):
        model(input_values={"ecg": torch.randn(3, 2, 205), "eda": torch.randn(3, 1, 80)})
    with pytest.raises(ValueError, match="Labels must lie in"):
        model(input_values=inputs(), labels=torch.tensor([0, 1, 5]))


def test_patch_mask_is_routed_to_its_encoder(model):
    batch = inputs()
    mask = {"eda": torch.ones(3, 8, dtype=torch.long)}
    mask["eda"][:, 4:] = 0
    with torch.no_grad():
        masked = model.embed(batch, mask)
        # the padding patches of EDA no longer matter; ECG is untouched
        changed = {**batch, "eda": batch["eda"].clone()}
        changed["eda"][..., 40:] = 7.0
        torch.testing.assert_close(model.embed(changed, mask), masked)
        assert not torch.allclose(model.embed(changed), model.embed(batch))


def test_save_load_is_strict_with_identical_outputs(model, tmp_path):
    model.save_pretrained(tmp_path)
    loaded, info = CiTrusFusionForSequenceClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    saved = safetensors.torch.load_file(tmp_path / "model.safetensors")
    state = loaded.state_dict()
    assert saved.keys() == state.keys()
    assert all(torch.equal(saved[key], state[key]) for key in saved)
    with torch.no_grad():
        torch.testing.assert_close(
            loaded.eval()(input_values=inputs()).logits, model(input_values=inputs()).logits, rtol=0, atol=0
        )
    assert loaded.config.to_diff_dict() == model.config.to_diff_dict()


def test_regression_round_trip_and_loading_across_heads(tmp_path):
    torch.manual_seed(1)
    regressor = CiTrusFusionForRegression(fusion_config(num_targets=2)).eval()
    outputs = regressor(input_values=inputs(), labels=torch.randn(3, 2))
    assert outputs.logits.shape == (3, 2) and outputs.loss.ndim == 0
    with pytest.raises(ValueError, match="num_targets"):
        regressor(input_values=inputs(), labels=torch.randn(3, 3))
    regressor.save_pretrained(tmp_path / "regressor")
    loaded = CiTrusFusionForRegression.from_pretrained(tmp_path / "regressor").eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_values=inputs()).logits, regressor(input_values=inputs()).logits)
    # a regressor is not a classifier: its trained head would be lost, so that takes asking for a new head
    with pytest.raises(ValueError, match="CiTrusFusionForRegression checkpoint"):
        CiTrusFusionForSequenceClassification.from_pretrained(tmp_path / "regressor")
    # then its encoders start a classifier: every encoder tensor is reused, only the head is new
    classifier = CiTrusFusionForSequenceClassification.from_pretrained(tmp_path / "regressor", replace_head=True)
    for name in ("ecg", "eda"):
        for key, tensor in regressor.encoders[name].state_dict().items():
            assert torch.equal(classifier.encoders[name].state_dict()[key], tensor)


def test_loading_a_checkpoint_with_a_missing_encoder_tensor_fails(model, tmp_path):
    model.save_pretrained(tmp_path)
    state = safetensors.torch.load_file(tmp_path / "model.safetensors")
    removed = "encoders.eda.patch_embedding.projection.weight"
    del state[removed]
    safetensors.torch.save_file(state, tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=removed.replace(".", r"\.")):
        CiTrusFusionForSequenceClassification.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="safetensors only"):
        CiTrusFusionForSequenceClassification.from_pretrained(tmp_path, use_safetensors=False)


def test_each_encoder_of_a_saved_fusion_model_loads_on_its_own(model, tmp_path):
    model.save_pretrained(tmp_path / "fusion")
    batch = inputs()
    for name in ("ecg", "eda"):
        encoder = CiTrusFusionForSequenceClassification.load_encoder(tmp_path / "fusion", name)
        assert isinstance(encoder, CiTrusModel)
        assert encoder.config == model.config.modality_configs[name]
        for key, tensor in model.encoders[name].state_dict().items():
            assert torch.equal(encoder.state_dict()[key], tensor)
        with torch.no_grad():
            torch.testing.assert_close(
                encoder(batch[name]).last_hidden_state, model.encoders[name](batch[name]).last_hidden_state
            )
        # and it is an ordinary CiTrus checkpoint from then on: a classifier starts from it strictly
        encoder.save_pretrained(tmp_path / name)
        classifier = CiTrusForSequenceClassification.from_pretrained(tmp_path / name, num_labels=2)
        assert torch.equal(
            classifier.citrus.patch_embedding.projection.weight, encoder.patch_embedding.projection.weight
        )
    with pytest.raises(KeyError, match=r"no modality 'ppg'.*\['ecg', 'eda'\]"):
        CiTrusFusionForSequenceClassification.load_encoder(tmp_path / "fusion", "ppg")


def test_from_encoders_keeps_each_pretrained_encoder(tmp_path):
    torch.manual_seed(2)
    ecg = CiTrusForPretraining(ecg_config(channel_mask_ratio=0.5))
    ecg.save_pretrained(tmp_path / "ecg")
    eda = CiTrusModel(eda_config())
    fusion = CiTrusFusionForRegression.from_encoders({"ecg": tmp_path / "ecg", "eda": eda}, num_targets=1)
    assert fusion.modalities == ["ecg", "eda"]
    assert fusion.config.modality_configs["ecg"].sampling_rate == 100.0
    assert fusion.config.modality_configs["eda"].sampling_rate == 20.0
    assert fusion.config.modality_configs["ecg"].name_or_path == ""
    for source, name in ((ecg.citrus, "ecg"), (eda, "eda")):
        for key, tensor in source.state_dict().items():
            assert torch.equal(fusion.encoders[name].state_dict()[key], tensor)
    with pytest.raises(TypeError, match="encoder 'eda'"):
        CiTrusFusionForRegression.from_encoders({"eda": torch.nn.Linear(2, 2)})
    with pytest.raises(ValueError, match="non-empty dict"):
        CiTrusFusionForRegression.from_encoders({})


def test_freeze_encoder_one_by_one(model):
    model.freeze_encoder("ecg")
    assert model.frozen_encoders == ["ecg"]
    model.train()
    assert not model.encoders["ecg"].training and model.encoders["eda"].training
    ecg_before = {k: v.clone() for k, v in model.encoders["ecg"].state_dict().items()}
    eda_before = model.encoders["eda"].patch_embedding.projection.weight.clone()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model(input_values=inputs(), labels=torch.tensor([0, 1, 2])).loss.backward()
    optimizer.step()
    assert all(torch.equal(v, model.encoders["ecg"].state_dict()[k]) for k, v in ecg_before.items())
    assert not torch.equal(eda_before, model.encoders["eda"].patch_embedding.projection.weight)
    model.freeze_encoder("ecg", freeze=False)
    assert model.frozen_encoders == [] and model.encoders["ecg"].training
    assert all(p.requires_grad for p in model.encoders["ecg"].parameters())
    with pytest.raises(KeyError, match="No modality 'emg'"):
        model.freeze_encoder("emg")


# ----------------------------------------------------------------------------------------------- processor


@pytest.fixture
def processor() -> CiTrusFusionProcessor:
    return CiTrusFusionProcessor.from_config(fusion_config())


def test_processor_routes_each_modality_to_its_extractor(processor, model):
    rng = np.random.default_rng(0)
    recordings = {"ecg": rng.standard_normal((4, 2, 1000)), "eda": rng.standard_normal((4, 1, 128))}
    batch = processor(recordings, sampling_rate={"ecg": 500, "eda": 32})
    assert batch["input_values"]["ecg"].shape == (4, 2, 200)  # 500 Hz -> 100 Hz, 2 s
    assert batch["input_values"]["eda"].shape == (4, 1, 80)  # 32 Hz -> 20 Hz, 4 s
    assert batch["patch_mask"]["eda"].shape == (4, 8)
    for name, rate in (("ecg", 500), ("eda", 32)):
        alone = processor.feature_extractors[name](recordings[name], sampling_rate=rate, return_tensors="pt")
        assert torch.equal(batch["input_values"][name], alone["input_values"])
    with torch.no_grad():
        assert model(**batch).logits.shape == (4, 3)
    # one rate for every modality (one device recorded them all)
    both = processor(
        {"ecg": rng.standard_normal((2, 2, 400)), "eda": rng.standard_normal((2, 1, 800))}, sampling_rate=200
    )
    assert both["input_values"]["eda"].shape == (2, 1, 80)


@pytest.mark.parametrize(
    "recordings, rates, message",
    [
        (
            {"ecg": np.zeros((2, 200))},
            100,
            r"`recordings` must name exactly the modalities \['ecg', 'eda'\]: missing \['eda'\]",
        ),
        ({"ecg": np.zeros((2, 200)), "eda": np.zeros((1, 80)), "emg": np.zeros((1, 80))}, 100, r"unknown \['emg'\]"),
        (
            {"ecg": np.zeros((2, 200)), "eda": np.zeros((1, 80))},
            {"ecg": 100},
            r"`sampling_rate` must name .*missing \['eda'\]",
        ),
        ({"ecg": np.zeros((2, 200)), "eda": np.zeros((1, 80))}, None, "`sampling_rate` is required"),
    ],
)
def test_processor_rejects_missing_or_unknown_modalities(processor, recordings, rates, message):
    with pytest.raises(ValueError, match=message):
        processor(recordings, sampling_rate=rates)


def test_processor_errors_name_the_modality_and_refuse_unaligned_windows(processor):
    rng = np.random.default_rng(1)
    ok = {"ecg": rng.standard_normal((2, 2, 400)), "eda": rng.standard_normal((2, 1, 160))}
    bad = {**ok, "eda": np.full((2, 1, 160), np.nan)}
    with pytest.raises(ValueError, match="modality 'eda': recording 0 contains 160 NaN"):
        processor(bad, sampling_rate=200)
    with pytest.raises(ValueError, match="same number of recordings"):
        processor({**ok, "eda": rng.standard_normal((3, 1, 160))}, sampling_rate=200)
    with pytest.raises(ValueError, match="would not line up in time"):
        processor(ok, sampling_rate=200, alignment="window")
    with pytest.raises(TypeError, match="dict modality -> recordings"):
        processor(rng.standard_normal((2, 1, 160)), sampling_rate=200)


def test_processor_per_modality_options(processor):
    rng = np.random.default_rng(2)
    eda = rng.standard_normal((2, 1, 160))
    eda[0, 0, 50] = np.nan
    batch = processor(
        {"ecg": rng.standard_normal((2, 2, 400)), "eda": eda}, sampling_rate=200, nan_policy={"eda": "interpolate"}
    )
    assert torch.isfinite(batch["input_values"]["eda"]).all()
    with pytest.raises(ValueError, match=r"`nan_policy` names unknown modalities \['ppg'\]"):
        processor({"ecg": rng.standard_normal((2, 2, 400)), "eda": eda}, sampling_rate=200, nan_policy={"ppg": "raise"})


def test_processor_save_load_round_trip(processor, tmp_path):
    processor.save_pretrained(tmp_path)
    loaded = CiTrusFusionProcessor.from_pretrained(tmp_path)
    assert loaded == processor and loaded.modalities == ["ecg", "eda"]
    saved = json.loads((tmp_path / "processor_config.json").read_text())
    assert saved["auto_map"] == {"AutoProcessor": "processing_citrus_fusion.CiTrusFusionProcessor"}
    assert (tmp_path / "processing_citrus_fusion.py").is_file() and (
        tmp_path / "feature_extraction_citrus.py"
    ).is_file()
    # next to its model's config, the installed package's AutoProcessor finds it without running the folder's code
    fusion_config().save_pretrained(tmp_path)
    assert AutoProcessor.from_pretrained(tmp_path) == processor
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "processor_config.json").write_text("{}")
    with pytest.raises(ValueError, match="not saved by CiTrusFusionProcessor"):
        CiTrusFusionProcessor.from_pretrained(tmp_path / "other")


def test_batch_to_moves_nested_tensors(processor):
    batch = processor(
        {"ecg": np.zeros((1, 2, 200)), "eda": np.zeros((1, 1, 80))}, sampling_rate={"ecg": 100, "eda": 20}
    )
    moved = batch.to(torch.float64)
    assert moved["input_values"]["ecg"].dtype == torch.float64
    assert moved["patch_mask"]["ecg"].dtype == torch.int64


# ----------------------------------------------------------------------------------------------- Trainer


def test_trainer_fits_a_fusion_model_with_the_collator(model, tmp_path):
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    rng = np.random.default_rng(3)
    rows = {
        "input_values": [
            {
                "ecg": rng.standard_normal((2, 200)).astype(np.float32),
                "eda": rng.standard_normal((1, 80)).astype(np.float32),
            }
            for _ in range(8)
        ],
        "label": [int(i % 3) for i in range(8)],
        "subject": ["s1"] * 8,  # an extra column: the Trainer drops it, keeps `input_values`
    }
    dataset = Dataset.from_dict(rows)
    collated = CiTrusFusionDataCollator()([dataset[0], dataset[1]])
    assert collated["input_values"]["ecg"].shape == (2, 2, 200) and collated["labels"].dtype == torch.int64
    args = TrainingArguments(
        output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4, report_to=[], save_strategy="no",
        use_cpu=True, logging_strategy="no", learning_rate=1e-3,
    )  # fmt: skip
    before = model.classifier.weight.detach().clone()
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=CiTrusFusionDataCollator())
    result = trainer.train()
    assert np.isfinite(result.training_loss)
    assert not torch.equal(before, model.classifier.weight)
    predictions = trainer.predict(dataset)
    assert predictions.predictions.shape == (8, 3)


# ----------------------------------------------------------------------------------------------- Hub

PUSH = """
from huggingface_hub import ModelCard
from citrus_hf.publishing.push import push_to_hub
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor
model = CiTrusFusionForSequenceClassification.from_pretrained("local")
card = ModelCard("---\\nlicense: apache-2.0\\ntags:\\n- citrus-hf\\n---\\n# Tiny CiTrus fusion\\n")
push_to_hub(model, "__REPO__", CiTrusFusionProcessor.from_pretrained("local"), card)
"""

REMOTE_LOAD = """
import json, numpy as np, torch
from transformers import AutoModelForSequenceClassification, AutoProcessor
model = AutoModelForSequenceClassification.from_pretrained("__REPO__", trust_remote_code=True).eval()
processor = AutoProcessor.from_pretrained("__REPO__", trust_remote_code=True)
raw = np.load("raw.npz")
batch = processor({"ecg": raw["ecg"], "eda": raw["eda"]}, sampling_rate={"ecg": 500, "eda": 32})
with torch.no_grad():
    np.save("remote_logits.npy", model(**batch).logits.numpy())
try:
    import citrus_hf
    importable = True
except ImportError:
    importable = False
print("RESULT:", json.dumps({"model": type(model).__module__, "processor": type(processor).__module__,
                             "package_importable": importable}))
"""


# slow: the route is run by test_fusionrc_audit74.py::test_a_pushed_fusion_model_runs_its_pipeline_from_the_hub_without_the_package
# (pushed files, Auto classes' logits, at the encoders' own rates on a 1-channel ECG); this adds the remote fusion
# processor's resampling (ECG 500 -> 100 Hz, EDA 32 -> 20 Hz) and a 2-channel ECG, which no default test runs remotely
@pytest.mark.slow
def test_push_to_hub_and_load_with_remote_code_without_the_package(model, processor, tmp_path):
    repo = f"{DEFAULT_USER}/citrus-fusion-tiny"
    model.save_pretrained(tmp_path / "local")
    processor.save_pretrained(tmp_path / "local")
    rng = np.random.default_rng(4)
    raw = {"ecg": rng.standard_normal((3, 2, 1000)), "eda": rng.standard_normal((3, 1, 128))}
    np.savez(tmp_path / "raw.npz", **raw)
    with torch.no_grad():
        expected = model(**processor(raw, sampling_rate={"ecg": 500, "eda": 32})).logits.numpy()
    with HubServer() as hub:
        env = client_env(hub.url, tmp_path / "hf_home")
        run_client(PUSH.replace("__REPO__", repo), env, cwd=tmp_path)
        files = hub.repo_files(repo)
        for name in ("config.json", "model.safetensors", "processor_config.json", "modeling_citrus_fusion.py",
                     "processing_citrus_fusion.py", "configuration_citrus_fusion.py", "modeling_citrus.py"):  # fmt: skip
            assert name in files, f"{name} was not pushed"
        fresh = client_env(hub.url, tmp_path / "fresh_home")
        out = client_result(
            run_client(REMOTE_LOAD.replace("__REPO__", repo), fresh, cwd=tmp_path, without_package=True).stdout
        )
    assert out["package_importable"] is False
    assert out["model"].startswith("transformers_modules.") and out["processor"].startswith("transformers_modules.")
    np.testing.assert_allclose(np.load(tmp_path / "remote_logits.npy"), expected, rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------------------------- the real task
# systole's Task1 recording (offline archive, fetched before the tests like the data layer's: see test_data_offline).


@pytest.fixture(scope="module")
def events():
    from citrus_hf.evaluation.multimodal import load_picture_events

    return load_picture_events(window_seconds=4.0, offset_seconds=0.5)


def test_picture_events_are_the_72_onsets_in_six_blocks(events):
    from citrus_hf.data.fetch import source_members
    from citrus_hf.data.readers import load_npy
    from citrus_hf.evaluation.multimodal import load_picture_events

    assert len(events) == 72 and np.bincount(events.labels).tolist() == [36, 36]
    assert events.label_names == ("neutral", "disgust")
    for name in ("ecg", "eda", "resp"):
        assert events.signals[name].shape == (72, 1, 4000) and events.signals[name].dtype == np.float32
    for label in (0, 1):
        assert np.bincount(events.block[events.labels == label]).tolist() == [12, 12, 12]
    # the confound the example reports: every neutral picture came before every disgusting one
    assert events.onset_seconds[events.labels == 0].max() < events.onset_seconds[events.labels == 1].min()
    members = source_members("systole_task1")
    ecg = load_npy(next(path for member, path in members.items() if member.endswith("Task1_ECG.npy")))
    first = round(events.onset_seconds[5] * 1000) + 500
    np.testing.assert_array_equal(events.signals["ecg"][5, 0], ecg[first : first + 4000].astype(np.float32))
    with pytest.raises(ValueError, match="reaches into the next picture"):
        load_picture_events(window_seconds=12.0)


def test_block_folds_test_every_event_once_and_hold_out_whole_blocks(events):
    from citrus_hf.evaluation.multimodal import block_folds

    folds = block_folds(events)
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested.tolist()) == list(range(72))
    for train, test in folds:
        assert not set(train) & set(test)
        assert np.bincount(events.labels[test]).tolist() == [12, 12]
        assert len(np.unique(events.block[test])) == 1  # one whole block of each class
        assert not set(events.block[train]) & set(events.block[test])


def test_protocol_runs_fusion_and_the_onset_time_reference(events, tmp_path):
    from citrus_hf.evaluation.multimodal import Condition, format_table, onset_time_reference, run_fusion_protocol
    from citrus_hf.training.finetune import TrainerSettings

    ecg = tiny_config(sampling_rate=25, context_length=100, patch_length=10, spectrogram_n_fft=10)
    eda = tiny_config(sampling_rate=5, context_length=20, patch_length=10, spectrogram_n_fft=10)
    config = CiTrusFusionConfig(modality_configs={"ecg": ecg, "eda": eda}, num_labels=2)
    processor = CiTrusFusionProcessor.from_config(config)
    batch = processor({m: events.signals[m] for m in ("ecg", "eda")}, sampling_rate=events.sampling_rate)
    aligned = {name: values.numpy() for name, values in batch["input_values"].items()}
    assert aligned["ecg"].shape == (72, 1, 100) and aligned["eda"].shape == (72, 1, 20)

    def build(condition):
        sub = {name: config.modality_configs[name] for name in condition.modalities}
        return CiTrusFusionForSequenceClassification(CiTrusFusionConfig(modality_configs=sub, num_labels=2))

    settings = TrainerSettings(num_train_epochs=1, per_device_batch_size=8, early_stopping_patience=None)
    conditions = [Condition("eda", ("eda",), pretrained=False), Condition("fusion", ("ecg", "eda"), pretrained=False)]
    result = run_fusion_protocol(events, aligned, conditions, build, ["2"], [0, 1], settings, progress=False)
    assert set(result.scores) == {"eda", "fusion", "onset time only"}
    for scores in result.scores.values():
        assert len(scores["2/class"]["accuracy"]) == 2 and len(scores["2/class"]["auroc"]) == 2
        # the three folds' predictions are pooled: every seed scores all 72 events once
        assert all(abs(72 * value - round(72 * value)) < 1e-9 for value in scores["2/class"]["accuracy"])
    # onset time alone separates the classes under the block folds too, from 2 onsets per class (0.92 and 0.86 here);
    # the tiny encoders, one epoch from random weights, are near chance, which is what the reference is there to show
    assert min(result.scores["onset time only"]["2/class"]["accuracy"]) > 0.8
    table = format_table(result, "accuracy")
    assert (
        table.splitlines()[0] == "| accuracy (%), mean ± sample std (ddof 1) over seeds | 2/class |"
        and "| onset time only |" in table
    )
    # time alone separates the classes: held-out later blocks lie on the side of their class's mean onset
    train, test = np.arange(0, 72, 2), np.arange(1, 72, 2)
    predicted = onset_time_reference(events, train, test).argmax(axis=1)
    assert (predicted == events.labels[test]).mean() > 0.9


@pytest.mark.parametrize(
    ("second", "label", "message"),
    [
        (
            {"ecg": 100, "eda": 100},
            1,
            r"modality 'ecg' has rows of different shapes \[\(1, 100\), \(1, 200\)\].*padding='max_length'",
        ),
        ({"ecg": 200}, 1, r"row 1 has no modality 'eda' in `input_values` \(it has \['ecg'\]\)"),
        ({"ecg": 200, "eda": 100}, "walk", r"strings \(e\.g\. 'run'\).*cast_column\('labels', ClassLabel"),
    ],
)
def test_the_fusion_collator_names_rows_it_cannot_batch(second, label, message):
    """Rows aligned one at a time keep their own durations; a missing modality or string labels: each is one error
    with the fix, not numpy's or a KeyError."""
    rng = np.random.default_rng(0)
    first = {"input_values": {"ecg": rng.standard_normal((1, 200)), "eda": rng.standard_normal((1, 100))}, "labels": 0}
    other = {"input_values": {name: rng.standard_normal((1, n)) for name, n in second.items()}, "labels": label}
    if isinstance(label, str):
        first["labels"] = "run"
    with pytest.raises(ValueError, match=message):
        CiTrusFusionDataCollator()([first, other])


def test_fusion_takes_transformers_output_flags_as_peft_passes_them():
    """peft's sequence-classification wrapper passes `output_attentions` / `output_hidden_states` (None): taken; True
    is refused with where per-layer outputs are."""
    config = CiTrusFusionConfig(
        modality_configs={"ecg": tiny_config(context_length=400), "resp": tiny_config(context_length=200)}, num_labels=2
    )
    model = CiTrusFusionForSequenceClassification(config).eval()
    inputs = {"ecg": torch.randn(3, 1, 400), "resp": torch.randn(3, 1, 200)}
    with torch.no_grad():
        plain = model(input_values=inputs).logits
        flagged = model(input_values=inputs, output_attentions=None, output_hidden_states=False).logits
    assert torch.equal(plain, flagged)
    with pytest.raises(ValueError, match=r"`output_hidden_states=True`: a CiTrus fusion model returns its head's"):
        model(input_values=inputs, output_hidden_states=True)


def test_a_fusion_model_given_to_a_single_modality_task_names_its_own(tmp_path):
    """transformers' task inference failed on it with "Repo id must be in the form ..."; a fusion model now runs the
    fusion pipeline of its task, and another task is refused naming that one."""
    from transformers import pipeline

    config = CiTrusFusionConfig(
        modality_configs={"ecg": tiny_config(context_length=400), "resp": tiny_config(context_length=200)}, num_labels=2
    )
    model = CiTrusFusionForSequenceClassification(config)
    with pytest.raises(ValueError, match=r"run by pipeline\('time-series-fusion-classification'"):
        pipeline("time-series-classification", model=model, processor=CiTrusFusionProcessor.from_config(config))
    # a loaded model without its processor: the pipeline asks for it
    with pytest.raises(ValueError, match="needs its processor"):
        pipeline(model=model)
    with pytest.raises(TypeError, match=r"CiTrusFusionProcessor\.from_config\(config\)"):
        CiTrusFeatureExtractor.from_config(model.config)


def test_processor_warns_when_modalities_cover_different_durations(processor, caplog):
    """One rate for devices that differ (EDA at 32 Hz read as 250 Hz: 4 s become 0.5 s) went through without a word;
    a top-level list was read as rates per recording, the same in every modality."""
    rng = np.random.default_rng(0)
    recordings = {"ecg": rng.standard_normal((2, 2, 1000)), "eda": rng.standard_normal((2, 1, 128))}
    with caplog.at_level("WARNING", logger="citrus_hf.processing_citrus_fusion"):
        processor(recordings, sampling_rate=250)
    assert "cover different durations (ecg 4 s, eda 0.512 s)" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="citrus_hf.processing_citrus_fusion"):
        processor(recordings, sampling_rate={"ecg": 250, "eda": 32})
    assert "different durations" not in caplog.text
    with pytest.raises(TypeError, match=r"one number for every modality, or a dict modality -> rate"):
        processor(recordings, sampling_rate=[250, 32])


def test_processor_output_maps_into_a_dataset_the_collator_batches(processor, model):
    """`dataset.map(processor, batched=True)` failed on the processor's per-modality tensors; `to_columns` gives the
    rows the collator reads, and the model's logits equal those of the processor's batch."""
    from datasets import Dataset

    rng = np.random.default_rng(0)
    raw = Dataset.from_dict(
        {
            "ecg": list(rng.standard_normal((6, 2, 1000)).astype(np.float32)),
            "eda": list(rng.standard_normal((6, 1, 128)).astype(np.float32)),
            "label": [0, 1, 2, 0, 1, 2],
        }
    )
    rates = {"ecg": 500, "eda": 32}
    mapped = raw.map(
        lambda rows: processor({"ecg": rows["ecg"], "eda": rows["eda"]}, sampling_rate=rates).to_columns(),
        batched=True,
        remove_columns=["ecg", "eda"],
    )
    batch = CiTrusFusionDataCollator()([mapped[i] for i in range(len(mapped))])
    direct = processor({"ecg": np.stack(raw["ecg"]), "eda": np.stack(raw["eda"])}, sampling_rate=rates)
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, model(**direct).logits)
    assert batch["labels"].tolist() == [0, 1, 2, 0, 1, 2]


def test_fusion_errors_name_the_modality_and_the_fusion_route(model, tmp_path):
    """Errors raised inside an encoder named no modality; the fusion loaders gave transformers' "Repo id" error for a
    mistyped path and "modality_configs is required" for a single-modality checkpoint; LoRA and the command line
    pointed fusion users at single-modality classes."""
    from citrus_hf.loading import build_config
    from citrus_hf.training.lora import apply_lora

    with pytest.raises(ValueError, match=r"modality 'ecg': This model was built for 2 channel"):
        model(input_values={"ecg": torch.randn(3, 1, 200), "eda": torch.randn(3, 1, 80)})
    missing = str(tmp_path / "nope")
    for load in (
        lambda: CiTrusFusionProcessor.from_pretrained(missing),
        lambda: CiTrusFusionConfig.from_pretrained(missing),
        lambda: CiTrusFusionForSequenceClassification.load_encoder(missing, "ecg"),
    ):
        with pytest.raises(FileNotFoundError, match="No checkpoint folder"):
            load()
    CiTrusModel(ecg_config()).save_pretrained(tmp_path / "single")
    with pytest.raises(ValueError, match="holds a single-modality CiTrus checkpoint"):
        CiTrusFusionForSequenceClassification.load_encoder(tmp_path / "single", "ecg")
    CiTrusFeatureExtractor.from_config(ecg_config()).save_pretrained(tmp_path / "single")
    with pytest.raises(OSError, match="single-modality checkpoint, whose CiTrusFeatureExtractor loads"):
        CiTrusFusionProcessor.from_pretrained(tmp_path / "single")
    with pytest.raises(TypeError, match=r"use peft on it directly.*modules_to_save=\['classifier'\]"):
        apply_lora(model, r=4)
    model.save_pretrained(tmp_path / "fusion")
    with pytest.raises(ValueError, match="is a CiTrus fusion checkpoint .* this route builds single-modality models"):
        build_config(str(tmp_path / "fusion"))
    with pytest.raises(ValueError, match=r"encoder 'ecg': .* is a fusion checkpoint; take one of its encoders out"):
        CiTrusFusionForSequenceClassification.from_encoders({"ecg": tmp_path / "fusion"}, num_labels=2)


def _edit_json(path: Path, edit) -> None:
    values = json.loads(path.read_text())
    edit(values)
    path.write_text(json.dumps(values))


@pytest.mark.parametrize(
    "edit, message",
    [
        # the audit's case: a 40 Hz extractor for the 20 Hz encoder ran, each 2 s window read as 4 s
        (lambda fx: fx["eda"].update(sampling_rate=40.0), r"eda: sampling_rate=40\.0 \(the encoder's: 20"),
        (lambda fx: fx["eda"].update(context_length=40), r"eda: context_length=40 \(the encoder's: 80\)"),
        (lambda fx: fx["ecg"].update(normalization="none"), r"ecg: normalization='none'"),
        (lambda fx: fx["ecg"].update(num_channels=3), r"ecg: num_channels=3 \(the encoder's: 2\)"),
        (lambda fx: fx.update(emg=fx.pop("eda")), r"modalities \['ecg', 'emg'\] and the model takes \['ecg', 'eda'\]"),
    ],
)
def test_a_processor_of_another_contract_is_refused_where_it_meets_the_model(model, tmp_path, edit, message):
    """The processor was never checked against the encoders: a processor_config.json whose extractor aligned to
    another rate, window, normalisation or channel count loaded by every route, and processor + model ran and scored
    wrong without a word (the model cannot tell: the windows have the encoder's shape). Loaded from the model's
    folder (load_processor, AutoProcessor, from_pretrained) it is checked against the config.json there; loaded
    elsewhere, `check_model` checks it."""
    from citrus_hf.loading import load_processor

    model.save_pretrained(tmp_path / "fusion")
    CiTrusFusionProcessor.from_config(model.config).save_pretrained(tmp_path / "fusion")
    assert load_processor(tmp_path / "fusion").modalities == model.modalities  # the healthy pair loads
    _edit_json(tmp_path / "fusion" / "processor_config.json", lambda values: edit(values["feature_extractors"]))
    for load in (CiTrusFusionProcessor.from_pretrained, load_processor, AutoProcessor.from_pretrained):
        with pytest.raises(ValueError, match=message):
            load(tmp_path / "fusion")
    (tmp_path / "alone").mkdir()  # without the model's config.json nothing says what it must match: it loads
    (tmp_path / "alone" / "processor_config.json").write_text(
        (tmp_path / "fusion" / "processor_config.json").read_text()
    )
    processor = CiTrusFusionProcessor.from_pretrained(tmp_path / "alone")
    for checked in (model, model.config):
        with pytest.raises(ValueError, match=message):
            processor.check_model(checked)
    CiTrusFusionProcessor.from_config(model.config).check_model(model)
    with pytest.raises(TypeError, match="expected a CiTrus fusion model or its config"):
        processor.check_model(model.config.modality_configs["ecg"])


def test_damaged_fusion_files_give_one_line_errors(model, tmp_path):
    """load_processor on a truncated processor_config.json raised json's JSONDecodeError, a feature extractor entry
    that is a list raised "cannot convert dictionary update sequence", load_encoder on truncated weights raised
    safetensors' SafetensorError and with an encoder's d_model edited torch's state_dict RuntimeError."""
    from citrus_hf.loading import load_processor

    folder = tmp_path / "fusion"
    model.save_pretrained(folder)
    CiTrusFusionProcessor.from_config(model.config).save_pretrained(folder)
    processor_file = folder / "processor_config.json"
    healthy = processor_file.read_text()
    processor_file.write_text(healthy[: len(healthy) // 2])
    with pytest.raises(OSError, match=r"processor_config\.json' is not a valid JSON file\. Restore it, or save"):
        load_processor(folder)
    processor_file.write_text(healthy)
    _edit_json(processor_file, lambda values: values["feature_extractors"].update(eda=[1]))
    with pytest.raises(ValueError, match="feature extractor of modality 'eda' in this processor_config.json is a list"):
        load_processor(folder)

    weights = folder / "model.safetensors"
    intact = weights.read_bytes()
    weights.write_bytes(intact[: len(intact) // 2])
    with pytest.raises(OSError, match="model.safetensors file is corrupt or truncated; download or save it again"):
        CiTrusFusionForSequenceClassification.load_encoder(folder, "eda")
    weights.write_bytes(intact)
    _edit_json(folder / "config.json", lambda values: values["modality_configs"]["eda"].update(d_model=32))
    with pytest.raises(
        ValueError, match=r"tensors of another shape: encoders\.eda\..* \(16,\) in the checkpoint vs \(32,\)"
    ):
        CiTrusFusionForSequenceClassification.load_encoder(folder, "eda")
    # the ecg encoder of that checkpoint is intact, but the file as a whole is not what its config says: refused too
    with pytest.raises(ValueError, match="tensors of another shape"):
        CiTrusFusionForSequenceClassification.load_encoder(folder, "ecg")


def _fusion_row(label, ecg=None) -> dict:
    ecg = np.zeros((2, 200)) if ecg is None else ecg
    return {"input_values": {"ecg": ecg, "eda": np.zeros((1, 80))}, "labels": label}


def test_the_fusion_collator_names_ragged_labels_and_non_numeric_windows():
    row = _fusion_row
    with pytest.raises(ValueError, match="`labels` of the rows have different shapes"):
        CiTrusFusionDataCollator()([row([1, 0, 1]), row([0, 1])])
    with pytest.raises(ValueError, match=r"row 0: `input_values` of modality 'ecg' is not a numeric array"):
        CiTrusFusionDataCollator()([row(1, np.array([["a"]]))])
