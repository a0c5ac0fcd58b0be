"""Less friendly environments: a card built from another folder than the run's, a terminal that is not UTF-8, no home
folder, a read-only datasets cache. Each case linked the wrong Hub repositories, crashed after the work was done, or
failed with a bare traceback."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from citrus_hf.publishing.cards import build_model_card
from citrus_hf.publishing.runs import read_run_records


@pytest.mark.usefixtures("offline_archives_cached")
def test_a_card_built_from_another_folder_links_no_local_path_as_a_hub_id(tmp_path, monkeypatch):
    """The run records "pt/base" and "data/own" as typed; from another folder (as `citrus push` runs) the card named
    them `base_model: pt/base` and `datasets: [data/own]`, links to Hub repositories that may be someone else's, and
    lost the pre-training facts."""
    import shutil

    from citrus_hf._bundled import folder_if_bundled
    from citrus_hf.data import build_dataset

    start = tmp_path / "start"
    (start / "pt").mkdir(parents=True)
    shutil.copytree(folder_if_bundled("citrus-small"), start / "pt" / "base")
    build_dataset("basic_motions").save_to_disk(str(start / "data" / "own"))
    monkeypatch.chdir(start)
    from citrus_hf.training.finetune import FinetuneArguments, TrainerSettings, finetune

    finetune(
        FinetuneArguments(
            output_dir="out", dataset="data/own", model="pt/base", label_budget="2", recipe="probe",
            trainer=TrainerSettings(show_progress=False),
        )
    )  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "pt" / "base").mkdir(parents=True)  # a folder of the same name where the card is built
    monkeypatch.chdir(elsewhere)
    run = read_run_records(start / "out")
    assert run.base_model is None and run.pretraining
    card = build_model_card(
        __import__("transformers").AutoConfig.from_pretrained(start / "out"), run_dir=start / "out", repo_id="me/ft"
    )
    assert card.data.base_model is None and not card.data.datasets


def test_the_commands_print_what_the_terminal_cannot_hold_as_escapes(tmp_path):
    """On an ASCII or Latin-1 terminal, a results table's "±" or a Japanese class name crashed the command after all
    its work was done ('ascii' codec can't encode character)."""
    script = (
        "from citrus_hf.commands.main import _printable_anywhere\n_printable_anywhere()\nprint('67.1 ± 3.0 歩く')\n"
    )
    environment = {**os.environ, "PYTHONIOENCODING": "ascii", "PYTHONUTF8": "0"}
    run = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    assert run.stdout.decode("ascii").strip() == "67.1 \\xb1 3.0 \\u6b69\\u304f"


def test_without_a_home_folder_the_caches_name_their_variables(monkeypatch):
    """Path.home() raised RuntimeError (no $HOME, no home in the user database): a raw traceback from `citrus data
    list`, `citrus finetune`, and `citrus predict`, which only looked whether an ONNX export existed."""
    from citrus_hf.data.fetch import archive_cache_dir
    from citrus_hf.inference.backends import onnx_cache_dir

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    monkeypatch.setattr(os.path, "expanduser", lambda path: path)  # as without $HOME and a user database entry
    for variable in ("XDG_CACHE_HOME", "CITRUS_HF_CACHE", "CITRUS_HF_ONNX_CACHE", "HF_HOME"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(OSError, match=r"\$HOME is not set.*\$CITRUS_HF_CACHE"):
        archive_cache_dir()
    with pytest.raises(OSError, match=r"\$HOME is not set.*\$CITRUS_HF_ONNX_CACHE"):
        onnx_cache_dir()
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert archive_cache_dir() == Path("/somewhere/citrus_hf/archives")


def test_a_read_only_datasets_cache_is_named_with_its_variable(monkeypatch, tmp_path):
    """A read-only $HOME (or a shared read-only HF_HOME) gave a bare "[Errno 30] Read-only file system"."""
    import datasets

    from citrus_hf.data.plans import BuildPlan, write_plan

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "cache"))

    monkeypatch.setattr(datasets.Dataset, "from_generator", read_only)
    plan = BuildPlan(features=None, generator=lambda: iter(()), splits={"train": {}})
    with pytest.raises(OSError, match=r"read-only file system .*\$HF_DATASETS_CACHE"):
        write_plan("a_set", "1.0.0", {}, plan)
