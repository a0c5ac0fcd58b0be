"""Names spelled once (style audit 2, findings 3 and 7), the public hints it asked for (E), and the benchmarks' one
alternating timer (C6)."""

from __future__ import annotations

import os
from typing import get_args, get_type_hints

import pytest
from hub_server import run_client
from test_benchmarks import _benchmark_module

from citrus_hf import vocabulary_citrus as vocabulary


def test_extractor_and_pipeline_offer_the_same_alignments():
    """The pipeline file ships as remote code without the extractor, so it keeps its own copy: the same set."""
    from citrus_hf import feature_extraction_citrus
    from citrus_hf.inference import pipelines

    assert set(feature_extraction_citrus.ALIGNMENTS) == set(pipelines.ALIGNMENTS)
    assert len(set(pipelines.ALIGNMENTS)) == len(pipelines.ALIGNMENTS)
    # a labelled set's concrete alignments are ones the extractor performs
    concrete = set(vocabulary.TASK_ALIGNMENTS) - {"auto"}
    assert concrete <= set(feature_extraction_citrus.ALIGNMENTS)
    assert vocabulary.DEFAULT_TASK_ALIGNMENT in vocabulary.TASK_ALIGNMENTS


def test_task_alignment_choices_live_in_the_vocabulary():
    """data.alignment re-exports the vocabulary's tuples (not copies), and the fine-tuning options offer exactly
    them, as they offer NAN_POLICIES."""
    from citrus_hf.data import alignment
    from citrus_hf.training.arguments import FinetuneArguments

    for name in ("TASK_ALIGNMENTS", "DEFAULT_TASK_ALIGNMENT", "TASK_NORMALIZATIONS"):
        assert getattr(alignment, name) is getattr(vocabulary, name), name
        assert name in alignment.__all__ and name in vocabulary.__all__
    hints = get_type_hints(FinetuneArguments)
    assert get_args(hints["alignment"]) == vocabulary.TASK_ALIGNMENTS
    assert get_args(hints["normalization"]) == vocabulary.TASK_NORMALIZATIONS
    assert FinetuneArguments.__dataclass_fields__["alignment"].default == vocabulary.DEFAULT_TASK_ALIGNMENT
    assert FinetuneArguments.__dataclass_fields__["normalization"].default in vocabulary.TASK_NORMALIZATIONS


def test_finetune_arguments_check_alignment_without_importing_the_aligner(tmp_path):
    """Checking `alignment` / `normalization` needs only the vocabulary: data.alignment (the feature extractor,
    transformers) is not imported to validate the options (in a process of its own, forked from the tests' fork
    server, which has imported no module of the package)."""
    code = (
        "import sys\n"
        "from citrus_hf.training.arguments import FinetuneArguments\n"
        "FinetuneArguments(output_dir='out', dataset='basic_motions')\n"
        "try:\n"
        "    FinetuneArguments(output_dir='out', dataset='basic_motions', alignment='stretch')\n"
        "except ValueError as error:\n"
        "    print(error)\n"
        "print('citrus_hf.data.alignment' in sys.modules)\n"
    )
    result = run_client(code, dict(os.environ), cwd=tmp_path, timeout=300)
    refusal, imported = result.stdout.strip().splitlines()
    assert refusal == f"alignment must be one of {vocabulary.TASK_ALIGNMENTS}, got 'stretch'."
    assert imported == "False"


def test_deployed_onnx_name_is_one_constant(tmp_path):
    """`citrus export --output-dir` writes the file the model class recognises as an ONNX deployment folder."""
    from citrus_hf import CiTrusConfig, CiTrusModel
    from citrus_hf.commands import export

    assert export.DEPLOYED_ONNX_NAME is vocabulary.DEPLOYED_ONNX_NAME
    CiTrusConfig(context_length=40, patch_length=10, d_model=8, num_hidden_layers=1).save_pretrained(tmp_path)
    (tmp_path / vocabulary.DEPLOYED_ONNX_NAME).write_bytes(b"")
    with pytest.raises(OSError, match=rf"ONNX deployment folder \({vocabulary.DEPLOYED_ONNX_NAME}, as"):
        CiTrusModel.from_pretrained(tmp_path)


def test_public_metric_functions_and_task_losses_are_hinted_and_documented():
    from citrus_hf import CiTrusForRegression, CiTrusForSequenceClassification
    from citrus_hf.training import metrics

    for function in (metrics.classification_metrics, metrics.multi_label_metrics, metrics.regression_metrics):
        arguments = function.__code__.co_varnames[: function.__code__.co_argcount]  # (regression's target_names too)
        assert set(function.__annotations__) == {*arguments, "return"}, function.__name__
    assert "EvalPrediction" in metrics.compute_metrics_fn.__annotations__["return"]
    for model_class, width in ((CiTrusForSequenceClassification, "num_labels"), (CiTrusForRegression, "num_targets")):
        doc = model_class.compute_loss.__doc__
        assert doc and f"(batch_size, {width})" in doc, model_class.__name__
    assert set(CiTrusForRegression.init_regressor_bias.__annotations__) == {"targets", "return"}


def test_time_rounds_alternates_and_flips_the_order():
    measure = _benchmark_module("measure")
    calls: list[str] = []
    times = measure.time_rounds({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then the order flips every round
    assert {name: len(values) for name, values in times.items()} == {"a": 3, "b": 3}
    assert all(value >= 0 for values in times.values() for value in values)
    calls.clear()
    measure.time_rounds({"a": lambda: calls.append("a")}, rounds=1, warm_up=False)
    assert calls == ["a"]


def test_feature_extraction_benchmark_uses_the_shared_timer():
    feature_extraction = _benchmark_module("feature_extraction")
    measure = _benchmark_module("measure")
    assert feature_extraction.time_rounds is measure.time_rounds
    assert not hasattr(feature_extraction, "time_alternating")
