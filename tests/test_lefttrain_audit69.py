"""Session 69's leftovers on the training side: a pre-training stopped by a refusal under two processes, a pruned head
inside peft's `modules_to_save`, keys a newer citrus-hf wrote, and the one rule of what is not finite."""

from __future__ import annotations

import gc
import importlib
import os
import subprocess
import sys
import weakref

import pytest
import torch

# the one-step pre-training settings of session 67's stability audit
from test_stability_audit67 import _pretrain_arguments

from citrus_hf.training.callbacks import NonFiniteLossError
from citrus_hf.training.pretrain import pretrain

# ------------------------------------------------------------- (a) a refusal ends the training after the run's objects


def test_a_stopped_pretraining_ends_the_training_once_the_run_is_freed(tmp_path, monkeypatch):
    """The success path destroys the process group (`end_training`) once `_pretrain_in_folder`'s frame, with the loop
    and its data stream, is freed (a rank hung in their teardown otherwise, under two CPU processes); a NaN stop
    called it from inside the loop, with every object of the run alive."""
    from accelerate import Accelerator

    pretrain_module = importlib.import_module(
        "citrus_hf.training.pretrain"
    )  # (the package's `pretrain` is the function)
    loops = []
    original_init = pretrain_module.PretrainingLoop.__init__

    def recording_init(self, *args, **kwargs):
        loops.append(weakref.ref(self))
        original_init(self, *args, **kwargs)

    alive_at_end = []
    original_end = Accelerator.end_training

    def recording_end(self):
        alive_at_end.append([loop() is not None for loop in loops])
        original_end(self)

    monkeypatch.setattr(pretrain_module.PretrainingLoop, "__init__", recording_init)
    monkeypatch.setattr(Accelerator, "end_training", recording_end)
    with pytest.raises(NonFiniteLossError, match="optimizer step 1 wrote are not finite"):
        pretrain(
            _pretrain_arguments(
                tmp_path / "run",
                None,
                synthetic_ratio=1.0,
                learning_rate=1e6,
                weight_decay=0.0,  # (synthetic windows)
            )
        )
    gc.collect()
    assert alive_at_end == [[False]]


# slow: the route (an error under two processes, one line on each, no rank's traceback) is run by
# test_training.py::test_a_data_error_under_two_processes_is_one_line_on_each; this adds the NaN stop, whose message
# and ending test_a_stopped_pretraining_ends_the_training_once_the_run_is_freed checks in one process
@pytest.mark.slow
def test_a_nan_stop_under_two_processes_is_one_line_on_each_and_ends_promptly(tmp_path):
    """`accelerate launch` of `citrus pretrain` with two CPU processes and a learning rate that blows the weights up:
    each process says the stop in one line and exits, with no traceback of its own or torch.distributed's (torchrun's
    report of the failed launch follows)."""
    from test_training import _free_port

    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines",
        "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
        "-m", "citrus_hf.commands", "pretrain", "--output-dir", str(tmp_path / "run"), "--model-config", "tiny",
        "--dataset-options", "window_seconds=10", "hop_seconds=10", "--max-steps", "1", "--per-device-batch-size",
        "8", "--learning-rate", "1e6", "--weight-decay", "0", "--warmup-steps", "0", "--no-show-progress",
    ]  # fmt: skip
    environment = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    assert completed.returncode != 0
    # (counted in the text: the two processes' lines can meet on one line of the shared stderr)
    said = completed.stderr.count("error: The weights optimizer step 1 wrote are not finite")
    assert said == 2 and completed.stderr.count("error: ") == 2, completed.stderr[-3000:]
    # the only traceback is torchrun's own report (ChildFailedError), none of a rank's
    rank_output = completed.stderr.split("torch.distributed.elastic.multiprocessing.errors.ChildFailedError")[0]
    assert rank_output.count("Traceback") <= 1 and "citrus_hf" not in rank_output.split("Traceback")[-1]
    for noise in ("Connection closed", "ProcessGroup", "gloo", "destroy_process_group"):
        assert noise not in completed.stderr


# ---------------------------------------------------------------------- (b) a pruned head inside peft's modules_to_save


def _lora_classifier():
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.lora import apply_lora

    torch.manual_seed(0)
    return apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=3)), r=2, verbose=False)


def _rows(count: int = 8):
    generator = torch.Generator().manual_seed(0)
    return [{"input_values": torch.randn(1, 200, generator=generator), "labels": i % 3} for i in range(count)]


def test_apply_lora_refuses_a_pruned_head_naming_the_fix():
    """The head is copied whole into the adapter (`modules_to_save`), and a pruned head failed in that copy deep in
    `copy.deepcopy` ("Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol")."""
    from tiny_configs import tiny_config
    from torch.nn.utils import prune

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.lora import apply_lora

    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    prune.l1_unstructured(model.classifier, "weight", amount=0.5)
    with pytest.raises(
        ValueError, match=r"task head 'classifier' was pruned .*prune\.remove\(model\.classifier, \"weight\"\)"
    ):
        apply_lora(model, r=2, verbose=False)
    prune.remove(model.classifier, "weight")  # the fix it names
    assert apply_lora(model, r=2, verbose=False).base_model.model.classifier.modules_to_save["default"].weight.is_leaf


def test_a_pruned_head_in_an_adapter_is_refused_before_training_and_saving(tmp_path):
    """The head's trained copy pruned after `apply_lora`: the Trainer trained and saved checkpoints, and `save_adapter`
    wrote it, as `classifier.weight_orig` / `weight_mask`, which peft's loader failed on (KeyError
    'base_model.model.classifier.weight'). The Trainer (when it saves checkpoints), its `save_model` and
    `save_adapter` refuse it now, naming `prune.remove`; made permanent, it saves and loads as trained."""
    from peft import PeftModel
    from tiny_configs import tiny_config
    from torch.nn.utils import prune
    from transformers import Trainer, TrainingArguments

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.lora import save_adapter

    peft_model = _lora_classifier()
    head = peft_model.base_model.model.classifier.modules_to_save["default"]
    prune.l1_unstructured(head, "weight", amount=0.5)
    settings = dict(max_steps=1, report_to="none", per_device_train_batch_size=4, use_cpu=True)
    saving = TrainingArguments(output_dir=str(tmp_path / "saving"), save_steps=1, **settings)
    with pytest.raises(ValueError, match=r"saves checkpoints .*classifier\.weight.*prune\.remove"):
        Trainer(model=peft_model, args=saving, train_dataset=_rows())
    assert not (tmp_path / "saving").exists() or not any((tmp_path / "saving").iterdir())
    # keeping the mask while training is what pruning is for: a Trainer that saves nothing trains it
    quiet = TrainingArguments(output_dir=str(tmp_path / "quiet"), save_strategy="no", **settings)
    trainer = Trainer(model=peft_model, args=quiet, train_dataset=_rows())
    trainer.train()
    with pytest.raises(ValueError, match=r"adapter.*classifier\.weight.*prune\.remove"):
        trainer.save_model()
    with pytest.raises(ValueError, match=r"adapter.*classifier\.weight.*prune\.remove"):
        save_adapter(peft_model, tmp_path / "adapter")
    assert not (tmp_path / "adapter").exists()
    prune.remove(head, "weight")  # the fix named
    save_adapter(peft_model, tmp_path / "adapter")
    windows = torch.randn(2, 1, 200, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)  # the base's weights, as `_lora_classifier` drew them
    base = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    loaded = PeftModel.from_pretrained(base, str(tmp_path / "adapter")).eval()
    with torch.no_grad():
        assert torch.allclose(loaded(input_values=windows).logits, peft_model.eval()(input_values=windows).logits)


# ------------------------------------------------------------------------- (c) keys a newer citrus-hf wrote


def _saved_pair(folder, **edits):
    """A tiny classifier and its extractor saved in `folder`, then `edits` written into both files."""
    import json

    from tiny_configs import save_tiny_classifier

    save_tiny_classifier(folder)
    for name in ("config.json", "preprocessor_config.json"):
        values = json.loads((folder / name).read_text())
        (folder / name).write_text(json.dumps({**values, **edits}))
    return folder


def _citrus_warnings(caplog, text: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if text in record.getMessage()]


def test_saved_files_record_the_citrus_hf_that_wrote_them(tmp_path):
    import json

    from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, __version__
    from citrus_hf._version import VERSION_KEY

    folder = _saved_pair(tmp_path / "model")
    for name in ("config.json", "preprocessor_config.json"):
        assert json.loads((folder / name).read_text())[VERSION_KEY] == __version__
    # a record of the file, not a setting: neither object holds it, and their dicts (run signatures, cache keys) do not
    config, extractor = CiTrusConfig.from_pretrained(folder), CiTrusFeatureExtractor.from_pretrained(folder)
    assert not hasattr(config, VERSION_KEY) and VERSION_KEY not in config.to_dict()
    assert not hasattr(extractor, VERSION_KEY) and VERSION_KEY not in extractor.to_dict()


def test_settings_of_a_newer_citrus_hf_say_so_and_name_the_upgrade(tmp_path, caplog):
    """A newer citrus-hf's keys were called unknown in the extractor ("Correct or remove them, or, if a newer
    citrus-hf saved it, ...") and not named at all in the config, whose checkpoint then loaded as if they did not
    exist."""
    from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, __version__

    folder = _saved_pair(tmp_path / "model", citrus_hf_version="99.1.0", some_future_setting=3)
    with caplog.at_level("WARNING"):
        CiTrusConfig.from_pretrained(folder)
        CiTrusFeatureExtractor.from_pretrained(folder)
    newer = _citrus_warnings(caplog, "was written by citrus-hf 99.1.0")
    assert len(newer) == 2, caplog.text
    for message, file in zip(newer, ("config.json", "preprocessor_config.json"), strict=True):
        assert file in message and f"newer than this one ({__version__})" in message
        assert "'some_future_setting'" in message and "pip install -U citrus-hf" in message
    assert not _citrus_warnings(caplog, "does not know")


@pytest.mark.parametrize("recorded", [None, "0.0.1"])
def test_unknown_keys_of_this_or_an_older_citrus_hf_keep_the_plain_message(tmp_path, caplog, recorded):
    from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor

    edits = {"colour": "red"} if recorded is None else {"colour": "red", "citrus_hf_version": recorded}
    folder = _saved_pair(tmp_path / "model", **edits)
    if recorded is None:  # a file written before the version was recorded
        import json

        for name in ("config.json", "preprocessor_config.json"):
            values = json.loads((folder / name).read_text())
            values.pop("citrus_hf_version", None)
            (folder / name).write_text(json.dumps(values))
    with caplog.at_level("WARNING"):
        CiTrusConfig.from_pretrained(folder)  # (a config keeps keys it does not know without a word: metadata)
        CiTrusFeatureExtractor.from_pretrained(folder)
    (message,) = _citrus_warnings(caplog, "does not know")
    assert "kept but unused: 'colour'. Correct or remove them." in message and "upgrade" not in message
    assert not _citrus_warnings(caplog, "was written by citrus-hf")


# ---------------------------------------------------------------------------- (d) one rule of what is not finite


def test_training_and_the_pipelines_share_one_rule_of_what_is_not_finite(tmp_path):
    """The pipelines (remote code: they import nothing of the package but `backends`) repeated training's
    `non_finite_in`; the rule lives in the model file, and the pipelines reach it through the model they hold, as they
    reach the layout rule (`windows_of_checked_recordings`)."""
    import numpy as np
    from tiny_configs import save_tiny_classifier
    from transformers import pipeline

    from citrus_hf import modeling_citrus
    from citrus_hf.training import callbacks

    assert callbacks.non_finite_in is modeling_citrus.non_finite_in
    assert callbacks.isolated_rng is modeling_citrus.isolated_rng
    runner = pipeline(model=str(save_tiny_classifier(tmp_path / "model")), backend="torch")
    with torch.no_grad():
        runner.model.classifier.weight.fill_(3e38)  # finite weights whose every output overflows
    asked = []

    def rule(input_values=None, where=None, **inputs):
        asked.append((tuple(input_values.shape), where))
        return "the rule's answer"

    runner.model.non_finite_problem = rule
    recording = np.random.default_rng(0).standard_normal((1, 200)).astype(np.float32)
    with pytest.raises(ValueError, match=r"is not finite: .*every window \(backend torch\), and the rule's answer"):
        runner(recording, sampling_rate=100.0)
    assert asked == [((1, 1, 200), "a random window")]
    del runner.model.non_finite_problem  # the model's own rule: its weights are finite, a random window's logits not
    with pytest.raises(ValueError, match=r"every window .*and its logits on a random window are NaN or infinite"):
        runner(recording, sampling_rate=100.0)
