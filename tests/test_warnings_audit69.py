"""Warnings hygiene (warnings audit 69): what a user running the README's routes sees printed that they did nothing
to cause, and warnings that name deprecated transformers API.

Tiny configs on the CPU: each test takes a second or two.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import numpy as np
import pytest
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _clear_once_caches() -> None:
    logging.Logger.warning_once.cache_clear()
    logging.Logger.info_once.cache_clear()


def test_the_short_recording_notice_of_the_default_padding_is_no_warning(caplog):
    """The default `padding='longest'` keeps a short recording at its own duration and gives the outputs of the full
    window: the notice itself says "nothing needs changing", yet it came at WARNING level, so every user of short
    clips (the README's EMG windows, `examples/embeddings_sklearn.py`) saw it printed. It is information now."""
    _clear_once_caches()
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    with caplog.at_level(logging.DEBUG, logger="citrus_hf"):
        extractor([np.random.default_rng(0).standard_normal(50)], sampling_rate=100)
    notices = [record for record in caplog.records if "nothing needs changing" in record.getMessage()]
    assert len(notices) == 1
    assert notices[0].levelno == logging.INFO


def test_the_cnn_checkpointing_refusal_names_transformers_current_switches():
    """transformers 5.23 renamed `gradient_checkpointing=True` and `gradient_checkpointing_enable()`
    `activation_checkpointing` (the old names give a FutureWarning on 5.25): the refusal for a model without transformer layers named only
    the deprecated spellings, so following it led to a deprecation warning. It names the current ones first, and the
    older ones that transformers releases before 5.23 take."""
    model = CiTrusForSequenceClassification(tiny_config(backbone="cnn"))
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    with pytest.raises(ValueError) as error:
        enable()
    message = str(error.value)
    assert "`activation_checkpointing=True`" in message and "`activation_checkpointing_enable()`" in message
    assert message.index("activation_checkpointing=True") < message.index("gradient_checkpointing=True")


def test_the_examples_trainers_do_not_pin_memory_on_a_machine_without_an_accelerator():
    """`examples/lora_finetune.py` built its `TrainingArguments` with transformers' default `dataloader_pin_memory=True`,
    so on a CPU-only machine torch warned "'pin_memory' argument is set as true but no accelerator is found" at every
    data loader the Trainer made (training and evaluation). Every example's `TrainingArguments` says where it runs
    (`use_cpu=`, as `finetune_trainer.py` does) or whether to pin memory."""
    calls = {
        path.name: node
        for path in sorted(EXAMPLES.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "TrainingArguments"
    }
    assert "lora_finetune.py" in calls
    unplaced = [
        name
        for name, call in calls.items()
        if not {keyword.arg for keyword in call.keywords} & {"use_cpu", "dataloader_pin_memory"}
    ]
    assert not unplaced


def test_the_embedding_pipeline_takes_any_channel_count_without_a_warning(tmp_path, caplog):
    """`pipeline(model="citrus-small")` embeds the README's 6-channel recording with the 1-channel pre-training
    checkpoint, as documented (a pre-training checkpoint is the encoder alone, which treats every channel on its own):
    it logged at WARNING level that the recordings' 6 channels differ from the checkpoint's 1, which the user can do
    nothing about. The extractor the pipeline was given stays as it is."""
    from transformers import pipeline

    from citrus_hf import CiTrusForPretraining

    config = tiny_config(num_channels=1)
    CiTrusForPretraining(config).save_pretrained(tmp_path)
    given = CiTrusFeatureExtractor.from_config(config)
    given.save_pretrained(tmp_path)
    embed = pipeline("time-series-feature-extraction", model=str(tmp_path), backend="torch")
    _clear_once_caches()
    recording = np.random.default_rng(0).standard_normal((3, 400))
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        result = embed(recording, sampling_rate=100, pooling="mean")
    assert "channels and the checkpoint" not in caplog.text
    assert result["embedding"].shape == (3 * config.d_model,)
    assert embed.feature_extractor.num_channels == 1


def test_the_finetune_examples_smoke_checkpoint_does_not_warn_that_it_did_not_learn(tmp_path):
    """`python examples/finetune_trainer.py --tiny` pre-trains a tiny model for 3 steps, only so that the smoke run
    has a checkpoint to fine-tune: the user was warned that pre-training "did not learn" and that the model "carries
    nothing for fine-tuning", about the script's own scratch model, which they then watched being fine-tuned."""
    import importlib.util
    import warnings

    spec = importlib.util.spec_from_file_location("finetune_trainer_example", EXAMPLES / "finetune_trainer.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder = example.tiny_checkpoint(str(tmp_path))
    assert (Path(folder) / "model.safetensors").is_file()
    assert not [w for w in caught if "did not learn" in str(w.message)], [str(w.message) for w in caught]
