"""The package used as in a notebook: folders loaded by a relative path and then `%cd`, modules reloaded, cells run
again, Ctrl-C."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tiny_configs import save_tiny_classifier


def test_a_model_loaded_from_a_relative_folder_remembers_the_folder_after_a_chdir(tmp_path, monkeypatch):
    """`from_pretrained("runs/base")` kept "runs/base" as the model's `name_or_path`: after `%cd` to another project,
    `save_adapter` recorded that project's runs/base (or the relative path) as the base, the Trainer's card gave
    base_model "runs/base" (a stranger's Hub repo) and `push_to_hub` asked the Hub for a repo "runs/ft"."""
    from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.lora import apply_lora, save_adapter

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    project, elsewhere = tmp_path / "A", tmp_path / "B"
    (project / "runs").mkdir(parents=True)
    elsewhere.mkdir()
    monkeypatch.chdir(project)
    save_tiny_classifier("runs/base")
    folder = str(project / "runs" / "base")
    for load in (CiTrusForSequenceClassification.from_pretrained, AutoModelForSequenceClassification.from_pretrained):
        model = load("runs/base")
        assert model.name_or_path == model.config._name_or_path == folder
    peft_model = apply_lora(model, verbose=False)
    monkeypatch.chdir(elsewhere)
    save_adapter(peft_model, "adapter")
    assert json.loads((elsewhere / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"] == folder
    trainer = Trainer(
        model=peft_model.get_base_model(),
        args=TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=1, report_to="none", use_cpu=True),
    )
    trainer.create_model_card()
    assert "runs/base" not in (tmp_path / "out" / "README.md").read_text().split("---")[1]


@pytest.mark.parametrize(
    "reloaded",
    [["citrus_hf._logs"], ["citrus_hf", "citrus_hf._logs"], ["citrus_hf._logs", "citrus_hf"], ["citrus_hf._logs"] * 2],
)
def test_a_package_warning_is_printed_once_after_the_logs_module_is_reloaded(reloaded):
    """`importlib.reload(citrus_hf._logs)` (or a cell reloading every module, in sorted order) made a new follower
    logger and handler, while the "citrus_hf" logger stayed under the old one, whose handler then found the old
    follower's own handler "below" it and took every package record as handled elsewhere: nothing reached the screen."""
    script = (
        "import importlib, logging, sys, citrus_hf._logs\n"
        f"for name in {reloaded!r}:\n"
        "    importlib.reload(sys.modules[name])\n"
        "logging.getLogger('citrus_hf.modeling_citrus').warning('a package warning')\n"
    )
    stderr = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    ).stderr
    assert stderr.count("[citrus_hf] a package warning") == 1, stderr
