"""Bad input to the inference path (feature extractor, model, pipelines, backends, checkpoint loading), one test per
finding of the bad-input audit: each case gets the package's error naming the value at fault and the fix, never a
traceback from torch / transformers / numpy or a silently wrong answer.

The pipelines run a tiny classifier saved once per module (100 Hz, 2 s windows of 10 patches) on the torch backend,
so nothing is exported to ONNX and every test takes well under a second.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config
from transformers import pipeline

from citrus_hf import CiTrusConfig, CiTrusForPretraining, CiTrusForSequenceClassification, CiTrusModel
from citrus_hf._bundled import bundled_names, close_bundled_names
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.inference import pipelines as pipelines_module
from citrus_hf.inference.backends import load_backend, predict_windows
from citrus_hf.loading import load_feature_extractor, load_pretrained

RATE = 100.0
RNG = np.random.default_rng(0)
LONG = RNG.standard_normal(500)  # 5 s at 100 Hz: two full 2 s windows and a 1 s rest
SHORT = RNG.standard_normal(150)  # 1.5 s: shorter than one window


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory) -> str:
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    folder = tmp_path_factory.mktemp("classifier")
    model.save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def classify(classifier_folder):
    return pipeline(model=classifier_folder, backend="torch")


@pytest.fixture(scope="module")
def embed(classifier_folder):
    return pipeline("time-series-feature-extraction", model=classifier_folder)


@pytest.fixture(scope="module")
def extractor() -> CiTrusFeatureExtractor:
    return CiTrusFeatureExtractor.from_config(tiny_config())


# ------------------------------------------------------------------------------------------------ 1. one-patch windows


def test_pretraining_needs_two_patches_per_window_and_classification_does_not():
    with pytest.raises(ValueError, match=r"at least 2 patches per window.*context_length=20 gives 1 patch.*longer"):
        CiTrusForPretraining(tiny_config(context_length=20, patch_length=20))
    model = CiTrusForPretraining(tiny_config()).eval()
    with pytest.raises(ValueError, match=r"the input of 20 samples gives 1 patch.*at least 2 patches \(40 samples\)"):
        model(torch.randn(2, 1, 20))
    assert model(torch.randn(2, 1, 40)).loss.isfinite()  # two patches: one masked, one visible
    # a classifier of one-patch windows, and the CNN-only auto-encoder (which masks nothing), keep working
    classifier = CiTrusForSequenceClassification(tiny_config(context_length=20, patch_length=20, num_labels=2))
    assert classifier(torch.randn(2, 1, 20)).logits.shape == (2, 2)
    autoencoder = CiTrusForPretraining(tiny_config(context_length=20, patch_length=20, backbone="cnn"))
    assert autoencoder(torch.randn(2, 1, 20)).loss.isfinite()


# ------------------------------------------------------------------------------------------------ 2. empty 3-D batch


@pytest.mark.parametrize("batch", [np.zeros((0, 1, 500)), torch.zeros(0, 1, 500)], ids=["numpy", "torch"])
def test_an_empty_batch_is_refused(extractor, classify, batch):
    with pytest.raises(ValueError, match=r"batch of 0 recordings \(shape \(0, 1, 500\).*pass at least one recording"):
        extractor(batch, sampling_rate=RATE)
    with pytest.raises(ValueError, match=r"batch of 0 recordings \(shape \(0, 1, 500\).*pass at least one recording"):
        classify(batch, sampling_rate=RATE)


# ---------------------------------------------------------------------------------------- 3. pad_last_window a bool


def test_pad_last_window_must_be_a_bool(extractor, classify):
    for value in ("no", "False", 0, 1.0):
        with pytest.raises(TypeError, match=r"`pad_last_window` must be True or False"):
            extractor(LONG, sampling_rate=RATE, alignment="window", pad_last_window=value)
    with pytest.raises(TypeError, match=r"`pad_last_window` must be True or False, got 'no' \(str\)"):
        next(extractor.iter_windows(LONG, sampling_rate=RATE, pad_last_window="no"))
    with pytest.raises(TypeError, match=r"`pad_last_window` must be True or False"):
        CiTrusFeatureExtractor(pad_last_window="yes")
    with pytest.raises(TypeError, match=r"`pad_last_window` must be True or False, got 'False' \(str\)"):
        classify(LONG, sampling_rate=RATE, pad_last_window="False")
    # numpy's bool is a bool
    windows = extractor(LONG, sampling_rate=RATE, alignment="window", pad_last_window=np.bool_(False))
    assert len(windows["input_values"]) == 2
    assert len(classify(LONG, sampling_rate=RATE, pad_last_window=np.bool_(True))["windows"]) == 3


# -------------------------------------------------------------------------------------- 4. options silently ignored


@pytest.mark.parametrize("alignment", ["window", "interpolate", "resample"])
def test_the_extractors_padding_and_max_length_are_checked_whatever_the_alignment(extractor, alignment):
    with pytest.raises(ValueError, match=r"`padding='bogus'` is not supported; choose one of 'longest'"):
        extractor(LONG, sampling_rate=RATE, alignment=alignment, padding="bogus")
    with pytest.raises(ValueError, match=r"`max_length` must be a multiple of patch_length \(20\)"):
        extractor(LONG, sampling_rate=RATE, alignment=alignment, max_length=30)
    with pytest.raises(ValueError, match=r"`max_length` must be at least 20, got 7"):
        extractor(LONG, sampling_rate=RATE, alignment=alignment, max_length=7)


def test_the_pipelines_padding_is_checked_on_recordings_that_do_not_use_it(classify):
    with pytest.raises(ValueError, match=r"`padding='bogus'` is not supported; choose one of longest, max_length"):
        classify(LONG, sampling_rate=RATE, padding="bogus")
    assert classify(SHORT, sampling_rate=RATE, padding="max_length")["label"]


def test_feature_extraction_return_tensors_is_honoured_or_refused(embed):
    assert isinstance(embed(LONG, sampling_rate=RATE, backend="torch", return_tensors="np")["embedding"], np.ndarray)
    assert isinstance(embed(LONG, sampling_rate=RATE, backend="torch", return_tensors=False)["embedding"], np.ndarray)
    assert isinstance(embed(LONG, sampling_rate=RATE, backend="torch", return_tensors="pt")["embedding"], torch.Tensor)
    assert isinstance(embed(LONG, sampling_rate=RATE, backend="torch", return_tensors=True)["embedding"], torch.Tensor)
    with pytest.raises(ValueError, match=r"`return_tensors='tf'` is not supported; pass True or \"pt\""):
        embed(LONG, sampling_rate=RATE, backend="torch", return_tensors="tf")


def test_embed_takes_an_empty_string_as_an_unknown_choice_not_the_default():
    model = CiTrusModel(tiny_config()).eval()
    windows = torch.randn(2, 1, 200)
    with pytest.raises(ValueError, match=r"`pooling=''` is not supported; choose one of 'mean'"):
        model.embed(windows, pooling="")
    with pytest.raises(ValueError, match=r"`features=''` is not supported; choose one of 'context'"):
        model.embed(windows, features="")
    torch.testing.assert_close(model.embed(windows, pooling=None), model.embed(windows, pooling="mean"))


# ------------------------------------------------------------------------------------------- 5. huge finite input


def test_input_too_large_for_float32_arithmetic_is_refused():
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    windows = torch.randn(2, 1, 200)
    with pytest.raises(ValueError, match=r"values up to .*e\+20, beyond 1e\+15.*scale the input"):
        model(windows * 1e20)
    with pytest.raises(ValueError, match=r"NaN or infinite"):
        model(torch.full((2, 1, 200), float("inf")))
    with torch.no_grad():  # up to the bound the model is still scale-invariant (its layer norms)
        torch.testing.assert_close(model(windows * 1e14).logits, model(windows).logits, rtol=0, atol=1e-4)


# ------------------------------------------------------------------------------------ 6. one rate per recording


def test_a_list_of_recordings_takes_one_rate_per_recording(classify):
    slow = RNG.standard_normal(250)  # 5 s at 50 Hz
    results = classify([LONG, slow], sampling_rate=[100, 50])
    assert [r["windows"] for r in results] == [
        classify(LONG, sampling_rate=100)["windows"],
        classify(slow, sampling_rate=50)["windows"],
    ]
    assert results[1]["labels"] == classify(slow, sampling_rate=50)["labels"]
    assert len(classify([LONG, slow], sampling_rate=np.array([100.0, 50.0]))) == 2
    assert len(classify(np.stack([LONG, LONG])[:, None], sampling_rate=[100, 50])) == 2
    with pytest.raises(ValueError, match=r"`sampling_rate` has 3 values for 2 recordings"):
        classify([LONG, slow], sampling_rate=[100, 50, 25])
    with pytest.raises(ValueError, match=r"Recording 1's dict says sampling_rate=25 and the call's list says 50"):
        classify([LONG, {"raw": slow, "sampling_rate": 25}], sampling_rate=[100, 50])


@pytest.mark.parametrize("rate", [np.array(100.0), torch.tensor(100.0), [100], np.array([[100]]), np.float32(100)])
def test_a_rate_in_a_one_element_container_is_that_rate(classify, rate):
    """`np.load(path)["fs"]` is a 0-d array: the recording is still cut into all its windows (it was scored on its
    first window only, with a NaN end)."""
    expected = classify(LONG, sampling_rate=100)
    result = classify(LONG, sampling_rate=rate)
    assert result["windows"] == expected["windows"] and len(result["windows"]) == 2
    assert result["labels"] == expected["labels"]
    assert classify({"raw": LONG, "sampling_rate": rate})["windows"] == expected["windows"]


# ------------------------------------------------------------- 7. embedding options checked before a backend exists


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"pooling": "median"}, r"`pooling='median'` is not supported"),
        ({"features": "last"}, r"`features='last'` is not supported"),
        ({"channel_pooling": "sum"}, r"`channel_pooling='sum'` is not supported"),
        ({"pooling": "cls"}, r"needs a model built with pooling=\"cls\""),
    ],
)
def test_feature_extraction_options_are_checked_before_any_backend_is_built(embed, monkeypatch, option, message):
    def no_backend(*args, **kwargs):
        raise AssertionError("a backend was built (and, with 'auto', the model exported) before the check")

    monkeypatch.setattr(pipelines_module, "cached_backend", no_backend)
    embed._backends.clear()
    with pytest.raises(ValueError, match=message):
        embed(LONG, sampling_rate=RATE, **option)


# -------------------------------------------------------------------------------------------- 8. predict_windows


def test_predict_windows_says_what_to_pass(extractor, monkeypatch):
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    with pytest.raises(TypeError, match=r"must be the feature extractor's output, a mapping with \"input_values\""):
        predict_windows(model, torch.randn(3, 1, 200), backend="torch")
    with pytest.raises(ValueError, match=r"has no \"input_values\" \(its keys: \['patch_mask'\]\)"):
        predict_windows(model, {"patch_mask": torch.ones(3, 10)}, backend="torch")
    with pytest.raises(ValueError, match=r"must be \(windows, channels, time\), got shape \(1, 200\)"):
        predict_windows(model, {"input_values": torch.randn(1, 200)}, backend="torch")
    features = extractor(LONG, sampling_rate=RATE, alignment="window", return_tensors="pt")
    assert predict_windows(model, features, backend="torch").shape == (2, 3)
    with pytest.raises(ValueError, match=r"holds no windows \(shape \(0, 1, 200\)\)"):
        predict_windows(model, {"input_values": torch.zeros(0, 1, 200)}, backend="torch")
    with pytest.raises(ValueError, match="must be numeric windows of one length"):
        predict_windows(model, {"input_values": [np.zeros((1, 200)), np.zeros((1, 100))]}, backend="torch")
    # a list of windows (a datasets column read as numpy): the stacked windows' predictions, and never a list of
    # arrays given to torch.as_tensor, which converts it element by element ("extremely slow", torch warns once)
    windows = [window.numpy() for window in features["input_values"]]
    converted, as_tensor = [], torch.as_tensor
    monkeypatch.setattr(
        torch, "as_tensor", lambda data, *args, **kw: converted.append(data) or as_tensor(data, *args, **kw)
    )
    from_list = predict_windows(
        model, {"input_values": windows, "patch_mask": features.get("patch_mask")}, backend="torch"
    )
    assert converted and not any(isinstance(data, list) for data in converted)
    monkeypatch.undo()
    torch.testing.assert_close(from_list, predict_windows(model, features, backend="torch"))
    other = CiTrusForSequenceClassification(tiny_config(num_labels=5)).eval()
    with pytest.raises(ValueError, match="`backend` was loaded for another model"):
        predict_windows(model, features, backend=load_backend(other, "torch"))
    with pytest.raises(TypeError, match="`model` must be a CiTrus model"):
        predict_windows(torch.nn.Linear(3, 3), features, backend="torch")
    # counts of any integer type, as the pipelines take them; the thread count's own name in its error
    assert predict_windows(model, features, backend="torch", batch_size=np.int64(1)).shape == (2, 3)
    assert load_backend(model, "torch", batch_threads=np.int64(2)).batch_threads == 2
    with pytest.raises(ValueError, match="`num_threads` must be a positive integer, got 0"):
        load_backend(model, "torch", num_threads=0)


# ------------------------------------------------------------------------------------------ 9. bad model paths


def test_a_missing_folder_is_named_as_a_path_not_as_a_bad_repo_id(tmp_path):
    missing = str(tmp_path / "no-such-run")
    for load in (CiTrusFeatureExtractor.from_pretrained, CiTrusConfig.from_pretrained):
        with pytest.raises(FileNotFoundError, match=r"No checkpoint folder .*no-such-run.*Check the path"):
            load(missing)


def test_a_typo_of_a_bundled_name_is_suggested_after_the_hub_lookup_fails():
    assert "citrus-small" in bundled_names()
    assert close_bundled_names("citrus-smal") == ["citrus-small"]
    assert close_bundled_names("citrus-small") == []  # the name itself is no typo
    assert close_bundled_names("owner/ecg-model") == []
    for load in (load_pretrained, load_feature_extractor):
        with pytest.raises(OSError, match=r"Did you mean the checkpoint bundled with citrus_hf 'citrus-small'\?"):
            load("citrus-smal", local_files_only=True)
    with pytest.raises(OSError) as error:
        load_pretrained("owner/ecg-model", local_files_only=True)
    assert "Did you mean" not in str(error.value)


def test_transformers_entry_points_suggest_a_bundled_name_after_the_hub_lookup_fails():
    from transformers import AutoConfig, AutoFeatureExtractor, AutoModel

    hint = r"\. Did you mean the checkpoint bundled with citrus_hf 'citrus-small'\?$"
    loaders = (
        AutoModel.from_pretrained,
        AutoConfig.from_pretrained,
        AutoFeatureExtractor.from_pretrained,
        CiTrusForSequenceClassification.from_pretrained,
        CiTrusFeatureExtractor.from_pretrained,
    )
    for load in loaders:
        with pytest.raises(OSError, match=hint) as error:
            load("citrus-smal", local_files_only=True)
        assert str(error.value).count("Did you mean") == 1, load
        with pytest.raises(OSError) as error:
            load("owner/ecg-model", local_files_only=True)
        assert "Did you mean" not in str(error.value)


def test_local_files_only_asks_the_hub_for_no_adapter(monkeypatch):
    """transformers 5.25 looks for an adapter_config.json without the load's `local_files_only`: without a network,
    `AutoModel.from_pretrained(hub_id, local_files_only=True)` retried for about 25 s before its error."""
    import huggingface_hub.file_download
    from transformers import AutoModel

    def no_request(*args, **kwargs):
        raise AssertionError("a request reached the Hub although local_files_only=True")

    monkeypatch.setattr(huggingface_hub.file_download, "get_hf_file_metadata", no_request)
    with pytest.raises(OSError):  # transformers' own "couldn't find them in the cached files", at once
        AutoModel.from_pretrained("owner/ecg-model", local_files_only=True)


def test_a_mistyped_config_field_is_named_with_the_closest_field():
    """`PreTrainedConfig` keeps unknown keyword arguments as attributes, so `--config-overrides d_modle=64` used to
    build the default width without a word."""
    from citrus_hf.loading import build_config

    with pytest.raises(ValueError, match=r"'d_modle' \(did you mean 'd_model'\?\) is not a CiTrusConfig field"):
        build_config("tiny", d_modle=64)
    assert build_config("tiny", d_model=32, num_labels=3).num_labels == 3


def test_pipeline_names_a_missing_folder_as_a_path():
    from transformers import pipeline

    import citrus_hf  # noqa: F401  (registers the pipelines and the checkpoint check on transformers.pipeline)

    with pytest.raises(FileNotFoundError, match="No checkpoint folder '/no/such/folder'"):
        pipeline(model="/no/such/folder")


# ------------------------------------------------------------------------- 10. kept backends and changed models


needs_onnx = pytest.mark.skipif(
    __import__("citrus_hf.inference.backends", fromlist=["x"]).onnx_export_available() is not None,
    reason="onnxruntime / onnx / onnxscript not installed",
)


def test_a_kept_backend_follows_the_model_it_runs(extractor, tmp_path):
    """A pipeline kept its bf16 copy / ONNX export of the model and gave the old outputs after the weights changed
    (further training, `load_state_dict`): transformers' pipelines run the live model. A backend held by the caller
    is refused once stale; predict_windows builds each backend once per model (not on every call) and again once the
    model changed; inference gives the model back in the mode it came in."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    classify = pipeline("time-series-classification", model=model, feature_extractor=extractor)
    paths = ["bf16"] + (["onnxruntime"] if needs_onnx.args[0] is False else [])
    for backend in paths:
        classify(LONG, sampling_rate=RATE, backend=backend)
    with torch.no_grad():
        model.classifier.weight.mul_(-5.0)
    reference = classify(LONG, sampling_rate=RATE, backend="torch", function_to_apply="none")
    for backend in paths:
        result = classify(LONG, sampling_rate=RATE, backend=backend, function_to_apply="none")
        assert result["label"] == reference["label"] and result["score"] == pytest.approx(reference["score"], abs=5e-2)

    features = extractor(LONG, sampling_rate=RATE, alignment="window", return_tensors="pt")
    kept = load_backend(model, "bf16")
    predict_windows(model, features, backend=kept)
    model.load_state_dict({name: tensor + 0.01 for name, tensor in model.state_dict().items()})
    with pytest.raises(ValueError, match="The model has changed since this bf16 backend was loaded"):
        predict_windows(model, features, backend=kept)

    first = predict_windows(model, features, backend="bf16")
    assert predict_windows(model, features, backend="bf16") is not first  # (a new tensor of the same values)
    (runner,) = model._citrus_inference_backends.values()
    predict_windows(model, features, backend="bf16")
    assert next(iter(model._citrus_inference_backends.values())) is runner  # built once
    with torch.no_grad():
        model.classifier.bias.add_(1.0)
    torch.testing.assert_close(
        predict_windows(model, features, backend="bf16"),
        predict_windows(model, features, backend="torch"),
        atol=5e-2,
        rtol=0,
    )
    assert next(iter(model._citrus_inference_backends.values())) is not runner  # built again

    model.train()
    predict_windows(model, features, backend="torch")
    classify(LONG, sampling_rate=RATE, backend="bf16")
    assert model.training  # dropout stays on for the caller's training


def test_backends_refuse_models_they_cannot_run(tmp_path):
    """A fusion model failed with AttributeErrors inside transformers' config (its backends, "auto", "torch" and
    "bf16", run it since audit 75: test_fusionfast_audit75.py); a bf16-loaded model was exported, cached as a broken
    graph and then failed in ONNX Runtime; a cache folder that is a file gave FileExistsError."""
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification

    fusion = CiTrusFusionForSequenceClassification(
        CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": tiny_config()}, num_labels=2)
    )
    with pytest.raises(ValueError, match="backend='onnxruntime' exports models of one input"):
        load_backend(fusion, "onnxruntime", cache_dir=tmp_path / "fusion")
    from citrus_hf.inference.backends import export_onnx

    for name, call in (
        ("export_onnx", lambda: export_onnx(fusion)),
        ("predict_windows", lambda: predict_windows(fusion, {"input_values": torch.zeros(1, 1, 200)})),
    ):
        with pytest.raises(TypeError, match=f"`{name}` runs single-modality CiTrus models"):
            call()
    if needs_onnx.args[0] is False:
        half = CiTrusForSequenceClassification(tiny_config(num_labels=3)).to(torch.bfloat16)
        with pytest.raises(ValueError, match=r"exports fp32 models, and this one is torch.bfloat16"):
            load_backend(half, "onnxruntime", cache_dir=tmp_path / "cache")
        assert not (tmp_path / "cache").exists()
        (tmp_path / "file").write_text("")
        with pytest.raises(OSError, match=r"could not be written to the cache folder .*give a writable folder"):
            load_backend(
                CiTrusForSequenceClassification(tiny_config(num_labels=3)), "onnxruntime", cache_dir=tmp_path / "file"
            )


@needs_onnx
def test_the_onnx_path_checks_its_inputs_as_the_model_does(tmp_path):
    """The exported graph has no checks: NaN windows came out as NaN logits, empty windows as zeros, masks of other
    values or shapes were broadcast or failed in ONNX Runtime."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    onnx = load_backend(model, "onnxruntime", cache_dir=tmp_path)
    windows = torch.randn(4, 1, 200)
    with_nan = windows.clone()
    with_nan[0, 0, 5] = float("nan")
    half_mask = torch.ones(4, 10, dtype=torch.long)
    half_mask[:, 5:] = 0
    cases = [
        (with_nan, None, "contains NaN or infinite values"),
        (windows, torch.zeros(4, 10, dtype=torch.long), r"Window\(s\) \[0, 1, 2, 3\] of the batch hold no signal"),
        (windows, half_mask * 2, "must hold 1 \\(signal\\) and 0 \\(padding\\) only"),
        (windows, half_mask[:, :7], r"must have shape \(batch, num_patches\) = \(4, 10\)"),
        (windows.to(torch.int64), None, "must be floating point"),
    ]
    for values, mask, message in cases:
        with pytest.raises((ValueError, TypeError), match=message):
            onnx(values, mask)
    torch.testing.assert_close(
        onnx(windows, half_mask), load_backend(model, "torch")(windows, half_mask), atol=1e-4, rtol=0
    )


def test_regression_label_shape_error_shows_the_labels_as_given():
    """It said "got (3, 1)" for labels passed as (3,), the shape after the package's own reshaping."""
    from citrus_hf import CiTrusForRegression

    model = CiTrusForRegression(tiny_config(num_targets=2))
    with pytest.raises(ValueError, match=r"= \(3, 2\), got \(3,\); set num_targets"):
        model(input_values=torch.randn(3, 1, 200), labels=torch.randn(3))


def test_a_model_loaded_in_another_dtype_runs_as_it_is_under_auto(classifier_folder):
    """`pipeline(model=..., dtype=torch.bfloat16)` (a common habit) died inside torch with "mat1 and mat2 must have the
    same dtype" on CPUs with native bf16, where "auto" raced its bf16 path on a model that was not float32."""
    for dtype in (torch.bfloat16, torch.float64):
        run = pipeline(model=classifier_folder, dtype=dtype)
        assert run.model.dtype == dtype
        assert len(run(LONG, sampling_rate=RATE)["windows"]) == 2
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"backend='bf16' runs a float32 model.*torch.float64.*backend='torch'"):
        load_backend(model, "bf16")


def test_the_pipeline_refuses_an_extractor_of_another_input_contract(classifier_folder, caplog):
    """An extractor at another rate (or patch length, or normalisation) fed the model windows it was not trained on,
    without a word."""
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder)
    other_rate = CiTrusFeatureExtractor.from_config(model.config, sampling_rate=50)
    with pytest.raises(ValueError, match=r"sampling_rate=50.0 \(the model's: 100\.0\).*from_config\(model.config\)"):
        pipeline("time-series-classification", model=model, feature_extractor=other_rate)
    longer = CiTrusFeatureExtractor.from_config(model.config, context_length=2 * model.config.context_length)
    with caplog.at_level("WARNING"):
        pipeline("time-series-classification", model=model, feature_extractor=longer)
    assert "windows of 400 samples and the model was trained on 200" in caplog.text


def test_pandas_objects_and_datasets_audio_rows_are_taken_as_habit_gives_them(classify, extractor):
    """A pandas Series, and a `datasets` audio-style row (`{"array", "sampling_rate", "path"}`), were refused; a
    DataFrame (usually (time, channels)) now gets the transpose in its message."""
    import pandas as pd

    expected = classify(LONG, sampling_rate=RATE)
    assert classify(pd.Series(LONG), sampling_rate=RATE) == expected
    assert classify({"array": LONG, "sampling_rate": RATE, "path": "night.edf"}) == expected
    with pytest.raises(TypeError, match=r"DataFrame is usually \(time, channels\); pass `frame.to_numpy\(\).T`"):
        classify(pd.DataFrame({"Fz": LONG, "Cz": LONG}), sampling_rate=RATE)
    np.testing.assert_array_equal(
        extractor(pd.Series(SHORT), sampling_rate=RATE)["input_values"],
        extractor(SHORT, sampling_rate=RATE)["input_values"],
    )
    with pytest.raises(TypeError, match=r"DataFrame.*frame.to_numpy\(\).T"):
        extractor(pd.DataFrame({"Fz": SHORT}), sampling_rate=RATE)
    # rows of different lengths in `datasets`' numpy format come as an object array: a list of recordings
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = LONG, SHORT
    assert extractor(ragged, sampling_rate=RATE)["input_values"].shape[0] == 2


def test_model_input_habits_get_the_right_fix():
    """`attention_mask=` got advice about peft and not `patch_mask`; the extractor's window bookkeeping
    (`recording_index`) got "unexpected keyword argument"; rows aligned one at a time (one axis too many) were told
    to add an axis."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2)).eval()
    x = torch.randn(2, 1, 200)
    with pytest.raises(ValueError, match=r"padding mask as `patch_mask` \(batch, num_patches\)"):
        model(x, attention_mask=torch.ones(2, 10))
    with pytest.raises(TypeError, match=r"`recording_index`.*pass only `input_values` and `patch_mask`"):
        model(x, recording_index=torch.zeros(2))
    with pytest.raises(ValueError, match=r"a batch of one.*batched=True.*processing_class=extractor"):
        model(x[:, None])
    with pytest.raises(ValueError, match=r"got \(2, 2, 1, 200\): one axis too many"):
        model(torch.randn(2, 2, 1, 200))
    # a column the Trainer kept (`remove_unused_columns=False`) names the column and the fix
    with pytest.raises(TypeError, match=r"'sampling_rate'.*remove_columns\(\['sampling_rate'\]\)"):
        model(x, sampling_rate=torch.full((2,), 100.0))
    # a (channels, time) row given as a nested list is read as one-channel recordings: the concat head's error says so
    six_channels = CiTrusFeatureExtractor.from_config(tiny_config(num_channels=6))
    with pytest.raises(ValueError, match=r"nested list.*np\.asarray\(row\)"):
        six_channels(np.zeros((6, 200)).tolist(), sampling_rate=RATE)


def test_one_rule_says_what_names_a_hub_repository(tmp_path, monkeypatch):
    """A card and an adapter decided it each their own way: the card's rule let "a b/c" through as a base model."""
    from citrus_hf.loading import hub_repo_id

    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "hr").mkdir(parents=True)
    assert hub_repo_id("owner/ecg-model") == "owner/ecg-model"
    assert [hub_repo_id(name) for name in ("a b/c", "runs/hr", "citrus-small", "x/y/z", "", None)] == [None] * 6


def test_transformers_generic_feature_extraction_task_names_the_citrus_one(classifier_folder):
    """`pipeline("feature-extraction", model=<citrus>)`, the usual embedding habit, tried to load a tokenizer."""
    run = pipeline("feature-extraction", model=classifier_folder)
    assert run.task == "time-series-feature-extraction"
    assert run(LONG, sampling_rate=RATE)["embedding"].ndim == 1
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder)
    from transformers import AutoFeatureExtractor

    extractor = AutoFeatureExtractor.from_pretrained(classifier_folder)
    assert pipeline("feature-extraction", model=model, feature_extractor=extractor).task == (
        "time-series-feature-extraction"
    )


def test_transformers_power_user_habits(caplog):
    """Found by an audit of transformers habits: `output_attentions=True` under SDPA returned (None,) per layer
    without a word; the package's bf16 attention died inside torch when gradients were on; a peft task wrapper's
    `input_ids` met Python's "missing input_values" before the package's message; peft's LoRA left a regressor's head
    frozen, random and unsaved without a word."""
    import logging

    from peft import LoraConfig, get_peft_model

    from citrus_hf import CiTrusForRegression
    from citrus_hf.inference.backends import BLOCKED_ATTENTION, register_blocked_attention

    logging.Logger.warning_once.cache_clear()  # transformers' once-per-process warnings, said by other tests too
    model = CiTrusModel(tiny_config()).eval()
    x = torch.randn(3, 1, 200)
    with caplog.at_level("WARNING"):
        out = model(x, output_attentions=True)
    assert [tuple(a.shape) for a in out.attentions] == [(3, 2, 10, 10)]
    torch.testing.assert_close(out.last_hidden_state, model(x).last_hidden_state, rtol=0, atol=1e-5)
    assert "run the eager attention" in caplog.text

    register_blocked_attention()
    blocked = CiTrusModel(tiny_config(attn_implementation=BLOCKED_ATTENTION)).eval()
    with pytest.raises(ValueError, match=r"is for inference: run it under torch.no_grad\(\)"):
        blocked(x)
    with torch.no_grad():
        assert blocked(x).last_hidden_state.shape == (3, 1, 10, 16)

    classifier = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    with pytest.raises(ValueError, match=r"not `input_ids`.*task_type=None"):
        classifier(input_ids=x)

    peft_model = get_peft_model(
        CiTrusForRegression(tiny_config()), LoraConfig(r=2, target_modules=["q_proj", "v_proj"], task_type=None)
    ).train()
    caplog.clear()
    with caplog.at_level("WARNING"):
        peft_model(input_values=x, labels=torch.randn(3)).loss.backward()
    assert "`regressor` head frozen" in caplog.text and "modules_to_save=['regressor']" in caplog.text


def test_a_config_changed_after_it_was_built_is_checked_when_a_model_is_built():
    """`config.update({"d_model": 17})` built a model that failed in torch's `view` at the first forward pass."""
    config = tiny_config()
    config.update({"d_model": 17})
    with pytest.raises(ValueError, match=r"cannot build a model: `d_model` \(17\) must be divisible"):
        CiTrusModel(config)


def test_id2label_must_number_the_head_s_outputs_without_gaps(classifier_folder, tmp_path):
    """A hand-edited `id2label` with a gap ({0, 1, 5} for 3 outputs) loaded, and the pipeline then failed with
    `KeyError: 2`."""
    import json
    import shutil

    folder = tmp_path / "gap"
    shutil.copytree(classifier_folder, folder)
    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = {"0": "a", "1": "b", "5": "c"}
    config.pop("label2id", None)
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"(?s)`id2label` must name the classes 0..2.*\[0, 1, 5\]"):
        CiTrusForSequenceClassification.from_pretrained(folder)
    # string ids, as in JSON and transformers' audio-classification guide, are ids
    labels = {"0": "a", "1": "b", "2": "c"}
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder, id2label=labels)
    assert model.config.num_labels == 3


def test_pipeline_of_a_damaged_folder_gives_the_package_s_reason(classifier_folder, tmp_path):
    """transformers' pipeline factory drops a feature extractor that fails to load (the pipeline then said the file
    was not found) and buries a model's loading error among the tracebacks of its attempts; the reason comes first."""
    import json
    import shutil

    bad_extractor = tmp_path / "extractor"
    shutil.copytree(classifier_folder, bad_extractor)
    settings = json.loads((bad_extractor / "preprocessor_config.json").read_text())
    (bad_extractor / "preprocessor_config.json").write_text(json.dumps({**settings, "sampling_rate": 0}))
    with pytest.raises(ValueError, match="sampling_rate") as info:
        pipeline(model=str(bad_extractor), backend="torch")
    assert "was not found" not in str(info.value)

    bad_weights = tmp_path / "weights"
    shutil.copytree(classifier_folder, bad_weights)
    weights = bad_weights / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(OSError, match="corrupt or truncated") as info:
        pipeline(model=str(bad_weights), backend="torch")
    assert "Could not load model" not in str(info.value)

    bad_architecture = tmp_path / "architecture"
    shutil.copytree(classifier_folder, bad_architecture)
    config = json.loads((bad_architecture / "config.json").read_text())
    (bad_architecture / "config.json").write_text(json.dumps({**config, "architectures": ["CiTrusForClassification"]}))
    with pytest.raises(ValueError, match="'CiTrusForClassification', which is not a CiTrus class"):
        pipeline(model=str(bad_architecture), backend="torch")


def test_a_trainer_saved_extractor_of_the_encoder_serves_a_concatenating_head(tmp_path):
    """The README's Trainer route: a 6-channel classifier (its head concatenates channels) from a 1-channel
    encoder, with the encoder's channel-independent extractor saved beside it by the Trainer. The pipeline refused
    that extractor ("num_channels=1, the model's: 6"), naming as the fix what the user had done."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2, num_channels=6)).eval()
    assert model.config.fixes_channel_count
    model.save_pretrained(tmp_path)
    encoder_config = tiny_config()
    encoder_config.architectures = ["CiTrusForPretraining"]  # as saved by `citrus pretrain`
    encoder_extractor = CiTrusFeatureExtractor.from_config(encoder_config)
    assert encoder_extractor.channel_independent and encoder_extractor.num_channels == 1
    encoder_extractor.save_pretrained(tmp_path)
    classify = pipeline(model=str(tmp_path), backend="torch")
    result = classify(RNG.standard_normal((6, 200)), sampling_rate=RATE)
    assert result["label"] in {"LABEL_0", "LABEL_1"}
    with pytest.raises(ValueError, match="6"):  # the model still checks the count its head takes
        classify(RNG.standard_normal((3, 200)), sampling_rate=RATE)
    with pytest.raises(TypeError, match="`channel_independent` must be True or False"):
        CiTrusFeatureExtractor(channel_independent="false")


def test_the_auto_classes_name_a_lora_folder_before_reading_its_adapter_config(tmp_path):
    """transformers reads a folder's adapter_config.json first: a damaged one gave a raw JSONDecodeError before the
    package could say the folder is a CiTrus adapter and how to load it."""
    from transformers import AutoFeatureExtractor, AutoModelForSequenceClassification

    (tmp_path / "citrus_task_config.json").write_text("{}")
    (tmp_path / "adapter_config.json").write_text('{"r": 8, "base_model_name_or')
    with pytest.raises(ValueError, match=r"is a CiTrus LoRA adapter.*load_adapter"):
        AutoModelForSequenceClassification.from_pretrained(tmp_path)
    # the adapter's feature extractor still loads through its Auto class
    CiTrusFeatureExtractor.from_config(tiny_config()).save_pretrained(tmp_path)
    assert isinstance(AutoFeatureExtractor.from_pretrained(tmp_path), CiTrusFeatureExtractor)


def test_a_wide_recording_runs_fewer_windows_per_pass(tmp_path):
    """`batch_size` counted windows while the encoder runs every channel of a window as its own sequence: a
    10-minute 256-channel recording at 64 windows per pass needed 8 GB and crashed inside the feed-forward layer."""
    model = CiTrusModel(tiny_config())
    model.save_pretrained(tmp_path)
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(tmp_path)
    embed = pipeline("time-series-feature-extraction", model=str(tmp_path))
    wide = RNG.standard_normal((128, 100 * 200))  # 128 channels, 100 windows of 2 s
    chunks = list(embed.preprocess(wide, sampling_rate=RATE, alignment="window"))
    assert {len(chunk["input_values"]) for chunk in chunks[:-1]} == {
        pipelines_module.MAX_CHANNEL_SEQUENCES_PER_PASS // 128
    }
    assert sum(len(chunk["input_values"]) for chunk in chunks) == 100 and chunks[-1]["is_last"]
    narrow = list(embed.preprocess(RNG.standard_normal((1, 100 * 200)), sampling_rate=RATE, alignment="window"))
    assert len(narrow[0]["input_values"]) == 64  # the default for one channel is unchanged


def test_the_pipeline_streams_windows_so_a_short_hop_on_a_long_recording_runs(classify, monkeypatch):
    """The pipeline cut every window before the first forward pass: a 24 h recording with a 1 s hop was refused
    (more than `max_window_bytes` at once), pointing to `iter_windows`, which a pipeline user cannot call."""
    unlimited = classify(LONG, sampling_rate=RATE, hop_length=20, top_k=3)
    monkeypatch.setattr(CiTrusFeatureExtractor, "max_window_bytes", 1000)  # far less than these windows take
    streamed = classify(LONG, sampling_rate=RATE, hop_length=20, top_k=3, batch_size=4)
    assert len(streamed["windows"]) == len(unlimited["windows"]) == 16  # (500 - 200) / 20 + 1
    for ours, theirs in zip(streamed["windows"], unlimited["windows"]):
        assert (ours["start"], ours["end"]) == (theirs["start"], theirs["end"])
        assert ours["label"] == theirs["label"] and abs(ours["score"] - theirs["score"]) < 1e-5
