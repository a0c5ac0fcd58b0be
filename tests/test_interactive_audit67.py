"""The package used as in a notebook: folders loaded by a relative path and then `%cd`, modules reloaded, cells run
again, Ctrl-C."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hub_server import run_client
from tiny_configs import project_with_tiny_classifier


def _python(script: str, **options) -> subprocess.CompletedProcess:
    """`script` run by a fresh Python (a notebook's kernel: nothing of this test process carries over)."""
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, **options)


def test_a_model_loaded_from_a_relative_folder_remembers_the_folder_after_a_chdir(tmp_path, monkeypatch):
    """`from_pretrained("runs/base")` kept "runs/base" as the model's `name_or_path`: after `%cd` to another project,
    `save_adapter` recorded that project's runs/base (or the relative path) as the base, the Trainer's card gave
    base_model "runs/base" (a stranger's Hub repo) and `push_to_hub` asked the Hub for a repo "runs/ft"."""
    from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.lora import apply_lora, save_adapter

    project, elsewhere = project_with_tiny_classifier(tmp_path, monkeypatch)
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
    stderr = _python(script, check=True).stderr
    assert stderr.count("[citrus_hf] a package warning") == 1, stderr


MODEL_MODULES = (
    "configuration_citrus",
    "configuration_citrus_fusion",
    "feature_extraction_citrus",
    "modeling_citrus",
    "modeling_citrus_fusion",
    "processing_citrus_fusion",
)


def test_reloading_a_model_module_is_refused_and_leaves_loading_working(tmp_path):
    """`importlib.reload(citrus_hf.configuration_citrus)` (or `modeling_citrus`) made new classes that transformers'
    Auto classes and the package's other modules did not know: loading then failed with wrong reasons ("which
    AutoModel does not load", "model.safetensors is corrupt or truncated"). The reload is refused, naming the fix, and
    the classes in use stay the ones every module knows."""
    script = (
        "import importlib, json, sys, citrus_hf\n"
        "from transformers import AutoModel\n"
        "refused = {}\n"
        f"for name in {MODEL_MODULES!r}:\n"
        "    try:\n"
        "        importlib.reload(importlib.import_module('citrus_hf.' + name))\n"
        "    except ImportError as error:\n"
        "        refused[name] = str(error)\n"
        "loaded = [type(AutoModel.from_pretrained('citrus-small')).__name__,\n"
        "          type(citrus_hf.CiTrusModel.from_pretrained('citrus-small')).__name__,\n"
        "          type(citrus_hf.CiTrusFeatureExtractor.from_pretrained('citrus-small')).__name__]\n"
        "print('RESULT', json.dumps({'refused': refused, 'loaded': loaded}))\n"
    )
    # in a client forked from the tests' fork server (`hub_server.run_client`: torch imported, the package not), a
    # kernel of its own as a fresh Python is, without importing torch again (this script loads transformers' models;
    # the light scripts here start a fresh Python, which costs them less than a fork)
    run = run_client(script, dict(os.environ), cwd=tmp_path, timeout=300)  # (raises with its output where it failed)
    result = json.loads(run.stdout.split("RESULT", 1)[1])
    assert sorted(result["refused"]) == sorted(MODEL_MODULES)
    for name, message in result["refused"].items():
        assert f"citrus_hf.{name} cannot be reloaded" in message and "restart the Python kernel" in message
    assert result["loaded"] == ["CiTrusModel", "CiTrusModel", "CiTrusFeatureExtractor"]


def test_a_copy_of_the_model_files_outside_the_package_still_runs_again(tmp_path):
    """transformers runs a checkpoint's remote code again in the same module when the code changed: only the
    installed package's modules refuse a second run."""
    import shutil

    import citrus_hf

    package = tmp_path / "remote_copy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = Path(citrus_hf.__file__).parent
    for name in ("vocabulary_citrus", "_version", "configuration_citrus"):  # the files configuration_citrus imports
        shutil.copy(source / f"{name}.py", package / f"{name}.py")
    script = (
        "import importlib, remote_copy.configuration_citrus as module\n"
        "importlib.reload(module)\n"
        "print(module.CiTrusConfig.model_type)\n"
    )
    assert _python(script, cwd=tmp_path, check=True).stdout.strip() == "citrus"


def _interrupted(*args, **kwargs):
    raise KeyboardInterrupt


def test_main_called_in_process_lets_a_ctrl_c_stop_the_callers_loop(monkeypatch, capsys):
    """`main([...])` in a notebook's loop over files returned 130 on Ctrl-C, so the loop went on to the next file; the
    console script (and `python -m citrus_hf.commands.<command>`) still ends with one line and code 130."""
    from citrus_hf.commands import main as main_module

    monkeypatch.setattr(main_module, "run_subcommand", _interrupted)
    with pytest.raises(KeyboardInterrupt):
        main_module.main(["predict", "runs/ft", "r0.npy"])
    assert "interrupted" not in capsys.readouterr().err  # the traceback says so
    monkeypatch.setattr(sys, "argv", ["citrus", "predict", "runs/ft", "r0.npy"])
    assert main_module.main() == 130
    assert capsys.readouterr().err.strip() == "interrupted"
    monkeypatch.setattr(sys, "argv", ["/path/to/citrus_hf/commands/predict.py", "runs/ft", "r0.npy"])
    with pytest.raises(SystemExit) as exit:
        main_module.run_command_module("predict")
    assert exit.value.code == 130 and capsys.readouterr().err.strip() == "interrupted"


@pytest.fixture
def cut_short_server():
    """An HTTP server on 127.0.0.1 whose answer declares 64 kB and sends half of it before closing."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's API
            self.send_response(200)
            self.send_header("Content-Length", str(65536))
            self.end_headers()
            self.wfile.write(b"\0" * 32768)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/archive.tar.gz"
    server.shutdown()
    server.server_close()


def test_a_download_cut_short_says_so_and_leaves_nothing(tmp_path, cut_short_server):
    """A connection closed before the bytes its answer declared was reported as "Checksum mismatch"."""
    from citrus_hf.data import fetch
    from citrus_hf.data.errors import OfflineError

    with pytest.raises(OfflineError, match=r"download cut short \(32768 of 65536 bytes\)"):
        fetch.download_url(cut_short_server, tmp_path / "archive.tar.gz", sha256="0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_download_stopped_by_ctrl_c_leaves_nothing(tmp_path, cut_short_server, monkeypatch):
    """Ctrl-C left a hidden .partial file beside the destination, against `download_url`'s docstring."""
    from citrus_hf.data import fetch

    class InterruptedBar:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, count):
            raise KeyboardInterrupt  # Ctrl-C while the bytes arrive

    monkeypatch.setattr(fetch, "progress_bar", InterruptedBar)
    with pytest.raises(KeyboardInterrupt):
        fetch.download_url(cut_short_server, tmp_path / "archive.tar.gz", sha256="0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []


# A notebook cell that defines and registers the user's own recipe, augmentation, pre-training head and arm.
REGISTERING_CELL = """
from citrus_hf.evaluation.arms import Arm, register_arm
from citrus_hf.modeling_citrus import CiTrusSampleHead, register_pretraining_head
from citrus_hf.training.augment import register_augmentation
from citrus_hf.training.recipes import ProbeRecipe, register_recipe

@register_recipe
class MyProbe(ProbeRecipe):
    name = "audit67-probe"
    description = "my tweaked probe"

@register_augmentation("audit67-flip")
def my_flip(windows, lengths, generator):
    return -windows

@register_pretraining_head
class MyHead(CiTrusSampleHead):
    objective = "audit67-objective"
    description = "mine"

@register_arm
class MyArm(Arm):
    name, description = "audit67-arm", "mine"

    def run(self, context, prepared, chosen, seed, run_dir):
        return {"test": {}}
"""


def test_a_cell_that_registers_ones_own_definitions_runs_again(monkeypatch):
    """Run a second time (an edit, Run All), the cell was refused: "already registered" by its own first run. A
    re-definition (same module and qualified name) replaces the entry; another definition under a taken name, and
    anything under the package's own names, stays refused."""
    from citrus_hf import configuration_citrus
    from citrus_hf.evaluation.arms import ARMS, register_arm
    from citrus_hf.modeling_citrus import PRETRAINING_HEADS, register_pretraining_head
    from citrus_hf.training.augment import AUGMENTATIONS, register_augmentation
    from citrus_hf.training.recipes import RECIPES, ProbeRecipe, register_recipe

    monkeypatch.setattr(configuration_citrus, "PRETRAINING_OBJECTIVES", configuration_citrus.PRETRAINING_OBJECTIVES)
    registries = [
        (RECIPES, "audit67-probe"),
        (AUGMENTATIONS, "audit67-flip"),
        (PRETRAINING_HEADS, "audit67-objective"),
        (ARMS, "audit67-arm"),
    ]
    for registry, name in registries:
        monkeypatch.setitem(registry, name, None)  # (taken out of the registry after the test)
        del registry[name]
    cells = [{"__name__": "__main__"}, {"__name__": "__main__"}]
    for cell in cells:
        exec(REGISTERING_CELL, cell)
    latest = cells[-1]

    def registered() -> list:
        recipe, arm = type(RECIPES["audit67-probe"]), type(ARMS["audit67-arm"])
        return [recipe, AUGMENTATIONS["audit67-flip"], PRETRAINING_HEADS["audit67-objective"], arm]

    mine = [latest["MyProbe"], latest["my_flip"], latest["MyHead"], latest["MyArm"]]

    assert registered() == mine

    class MyProbe(ProbeRecipe):  # another definition (this test's) under the cell's name
        name = "audit67-probe"
        description = "someone else's"

    class MyHead(latest["MyHead"]):
        pass

    class MyArm(latest["MyArm"]):
        pass

    with pytest.raises(ValueError, match="'audit67-probe' is already registered"):
        register_recipe(MyProbe)
    with pytest.raises(ValueError, match="'audit67-flip' is already registered"):
        register_augmentation("audit67-flip")(lambda windows, lengths, generator: windows)
    with pytest.raises(ValueError, match="'audit67-objective' is already registered"):
        register_pretraining_head(MyHead)
    with pytest.raises(ValueError, match="'audit67-arm' is already registered"):
        register_arm(MyArm)
    # the package's own, even re-registered by its own class
    with pytest.raises(ValueError, match="'probe' is already registered"):
        register_recipe(ProbeRecipe)
    with pytest.raises(ValueError, match="'time' is already registered"):
        register_pretraining_head(PRETRAINING_HEADS["time"])
    assert registered() == mine


def test_results_name_their_folders_absolutely_and_a_protocol_result_prints_short(tmp_path, monkeypatch):
    """`pretrain` / `finetune` / `run_protocol` into a relative folder returned relative paths, which pointed nowhere
    after `%cd`; and `repr(ProtocolResult)` held every run record (576 characters a run, 115 kB for the README's
    default evaluate), which a notebook prints whole."""
    import datasets
    import numpy as np
    from citrus_runs import HAR_CONTRACT, pretrain_arguments

    from citrus_hf.evaluation import ProtocolConfig, run_protocol
    from citrus_hf.training.finetune import FinetuneArguments, TrainerSettings, finetune
    from citrus_hf.training.pretrain import pretrain

    monkeypatch.chdir(tmp_path)
    signal = np.random.default_rng(0).standard_normal((12, 1, 200)).astype(np.float32)
    rows = {"input_values": signal, "label": [i % 2 for i in range(12)]}
    splits = {
        name: datasets.Dataset.from_dict({**rows, "input_values": sign * signal, "sampling_rate": [100.0] * 12})
        for name, sign in (("train", 1), ("test", -1))  # (test windows of their own: train's would be refused)
    }
    datasets.DatasetDict(splits).save_to_disk("mine")
    evaluated = run_protocol(
        ProtocolConfig(output_dir="evaluation", datasets=["mine"], arms=["prior"], budgets=["1", "2"], seeds=[0, 1])
    )
    pretrained = pretrain(
        pretrain_arguments("pre", max_steps=1, per_device_batch_size=16, config_overrides=HAR_CONTRACT, eval_steps=1)
    )
    settings = TrainerSettings(max_steps=1, per_device_batch_size=8, show_progress=False)
    fine_tuned = finetune(
        FinetuneArguments(output_dir="ft", dataset="basic_motions", model="pre", label_budget="2", trainer=settings)
    )
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert evaluated.paths and all(path.is_absolute() and path.is_file() for path in evaluated.paths.values())
    assert (pretrained.output_dir, fine_tuned.output_dir) == (str(tmp_path / "pre"), str(tmp_path / "ft"))
    shown = repr(evaluated)
    assert len(evaluated.runs) == 4 and "4 runs" in shown and str(evaluated.paths["markdown"]) in shown
    assert len(shown) < 1000 and "accuracy" not in shown
