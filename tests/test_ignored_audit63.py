"""Audit 63, options accepted and silently ignored or replaced: each test gives the option and checks that it takes
effect or is refused with a message naming it."""

from __future__ import annotations

import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.inference.backends import InferenceTarget, load_backend, predict_windows


def test_a_loaded_backend_refuses_a_target_it_does_not_compute():
    torch.manual_seed(0)
    config = tiny_config(num_labels=3)
    model = CiTrusForSequenceClassification(config).eval()
    features = CiTrusFeatureExtractor.from_config(config)(
        torch.randn(4, 1, 200).numpy(), sampling_rate=100, return_tensors="pt"
    )
    embeddings = InferenceTarget(output="embeddings")
    with pytest.raises(ValueError, match=r"asks for 'embeddings'.*computes 'logits'.*load_backend\(model"):
        predict_windows(model, features, backend=load_backend(model, "torch"), target=embeddings)
    # the backend's own target, given or left out, runs; and a backend loaded for the embeddings gives them
    runner = load_backend(model, "torch", target=embeddings)
    expected = predict_windows(model, features, backend="torch", target=embeddings)
    torch.testing.assert_close(predict_windows(model, features, backend=runner, target=embeddings), expected)
    torch.testing.assert_close(predict_windows(model, features, backend=runner), expected)
    logits = load_backend(model, "torch")
    assert predict_windows(model, features, backend=logits, target=InferenceTarget()).shape == (4, 3)


def _protocol(tmp_path, arms, overrides):
    from citrus_hf.evaluation.settings import ProtocolConfig

    return ProtocolConfig(
        output_dir=str(tmp_path / "ev"),
        datasets=["basic_motions"],
        arms=arms,
        model_config="tiny",
        config_overrides=overrides,
    )


def test_evaluate_config_overrides_win_over_arm_defaults_and_are_named_where_weights_cannot_take_them(tmp_path, caplog):
    from citrus_hf.evaluation.arms import ARMS
    from citrus_hf.evaluation.protocol import _pretrain_arguments

    overrides = {"backbone": "transformer", "context_length": 200, "patch_length": 20, "head_dropout": 0.3}
    with caplog.at_level("WARNING", logger="citrus_hf"):
        config = _protocol(tmp_path, ["citrus-scratch", "citrus-small"], overrides)
    # the from-scratch arm takes the user's backbone, where the arm's "hybrid" had replaced it
    scratch = ARMS["citrus-scratch"].contract(config, None)
    assert (scratch.backbone, scratch.context_length) == ("transformer", 200)
    # ... and so does an arm pre-trained here
    pretraining = _pretrain_arguments(config, ARMS["citrus-time"], tmp_path / "pt")
    assert pretraining.config_overrides["backbone"] == "transformer"
    # the arm with weights takes what a loaded model can (the head's dropout) and the warning names the others
    small = ARMS["citrus-small"].contract(config, "citrus-small")
    assert small.head_dropout == 0.3 and small.context_length != 200
    assert "backbone, context_length, patch_length apply only to the arms without weights" in caplog.text
    assert "(citrus-small)" in caplog.text and "head_dropout" not in caplog.text
    # no arm can take them: refused
    with pytest.raises(ValueError, match=r"--config-overrides context_length: every arm \(citrus-small\) starts"):
        _protocol(tmp_path, ["citrus-small"], {"context_length": 200})
    # an arm defined by its backbone refuses another one
    with pytest.raises(
        ValueError, match=r"backbone=transformer contradicts the arm\(s\) cnn-scratch \(backbone 'cnn'\)"
    ):
        _protocol(tmp_path, ["cnn-scratch", "citrus-scratch"], {"backbone": "transformer"})
    assert (
        ARMS["cnn-scratch"].contract(_protocol(tmp_path, ["cnn-scratch"], {"backbone": "cnn"}), None).backbone == "cnn"
    )


def test_evaluate_keeps_the_tensorboard_logs_it_was_asked_for(tmp_path, caplog):
    """Each fine-tuning's Trainer wrote its logs into the run's scratch folder, which the protocol deleted."""
    pytest.importorskip("tensorboard")
    from citrus_hf.commands.main import main

    out = tmp_path / "ev"
    # fmt: off
    command = [
        "evaluate", "--output-dir", str(out), "--datasets", "basic_motions", "--arms", "citrus-scratch",
        "--model-config", "tiny", "--recipe", "finetune", "--budgets", "2", "--seeds", "0", "--max-steps", "2",
        "--eval-steps", "1", "--logging-steps", "1", "--report-to", "tensorboard", "--no-show-progress",
    ]
    # fmt: on
    with caplog.at_level("WARNING", logger="citrus_hf"):
        assert main(command) == 0
    assert "no effect" not in caplog.text  # the fine-tuning recipe took its steps with these settings
    events = list((out / "tensorboard" / "basic_motions-citrus-scratch-2_class-0").glob("*/events.out.tfevents.*"))
    assert events and not (out / "runs" / "basic_motions-citrus-scratch-2_class-0").exists()


def test_finetune_names_the_logging_settings_the_probe_leaves_unused_and_not_the_determinism_it_applies(caplog):
    """The probe takes no optimizer step, so it logs nothing for --report-to / --logging-steps (they were said to act
    anyway), while finetune() applies --full-determinism for every recipe (it was said to have no effect)."""
    from citrus_hf.training.arguments import FinetuneArguments, TrainerSettings
    from citrus_hf.training.finetune import _warn_unused_settings
    from citrus_hf.training.recipes import RECIPES

    # mixed_precision "no": what the commands resolve the default to (`trainer_precision`), not asked for
    settings = TrainerSettings(
        report_to="tensorboard", logging_steps=1, full_determinism=True, seed=3, mixed_precision="no"
    )
    args = FinetuneArguments(output_dir="unused", dataset="basic_motions", trainer=settings)
    with caplog.at_level("WARNING", logger="citrus_hf"):
        _warn_unused_settings(args, RECIPES["probe"], None, "classification")
    assert "--report-to, --logging-steps have no effect on this run: recipe 'probe'" in caplog.text
    assert "--full-determinism" not in caplog.text and "--seed" not in caplog.text
    assert "--mixed-precision" not in caplog.text


def test_evaluate_names_the_trainer_settings_no_run_used(tmp_path, caplog):
    """Every run fitted the probe (no optimizer step): --learning-rate / --max-steps had changed nothing, unsaid."""
    from citrus_hf.commands.main import main

    # fmt: off
    command = [
        "evaluate", "--output-dir", str(tmp_path / "ev"), "--datasets", "basic_motions", "--arms", "citrus-scratch",
        "--model-config", "tiny", "--recipe", "probe", "--budgets", "2", "--seeds", "0", "--learning-rate", "0.5",
        "--max-steps", "7", "--no-show-progress",
    ]
    # fmt: on
    with caplog.at_level("WARNING", logger="citrus_hf"):
        assert main(command) == 0
    assert "--max-steps, --learning-rate have no effect on this run: no run took an optimizer step" in caplog.text


def test_pretrain_refuses_resume_together_with_overwrite(tmp_path):
    """The run resumed and --overwrite-output-dir was dropped without a word."""
    from citrus_hf.training.arguments import PretrainArguments

    with pytest.raises(ValueError, match=r"--resume-from continues .* --overwrite-output-dir starts afresh"):
        PretrainArguments(output_dir=str(tmp_path / "pt"), resume_from="latest", overwrite_output_dir=True)
    assert PretrainArguments(output_dir=str(tmp_path / "pt"), resume_from="latest").overwrite_output_dir is False


def test_an_adapter_folder_pipeline_honours_dtype_and_model_kwargs(tmp_path):
    """The adapter route builds the model itself, and transformers drops `dtype` / `model_kwargs` for an instance."""
    import numpy as np
    from transformers import pipeline

    from citrus_hf.training.lora import apply_lora, save_adapter

    config = tiny_config(num_labels=2)
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "base")
    base = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base")
    save_adapter(apply_lora(base, verbose=False), tmp_path / "adapter", CiTrusFeatureExtractor.from_config(config))
    served = pipeline(model=str(tmp_path / "adapter"), dtype=torch.bfloat16)
    assert served.model.dtype == torch.bfloat16
    assert len(served(np.random.default_rng(0).standard_normal((1, 200)), sampling_rate=100)["labels"]) == 2
    kwargs = pipeline(model=str(tmp_path / "adapter"), model_kwargs={"output_hidden_states": True})
    assert kwargs.model.config.output_hidden_states is True
    from citrus_hf.training.lora import load_adapter

    with pytest.raises(ValueError, match=r"`base_kwargs` \(dtype\) set how a base is loaded"):
        load_adapter(base, tmp_path / "adapter", base_kwargs={"dtype": torch.bfloat16})
