"""A plain `pip install .` (no extras) runs the main job: `citrus demo --quick` in a fresh virtual environment, with a
fresh datasets cache (the corpus is built from the archives, as on a new machine), to the end and without warnings
about missing optional pieces. Slow (minutes: it installs every dependency): `pytest -m slow tests/test_fresh_install.py`.

torch comes from `$CITRUS_TORCH_WHEEL` (a wheel file) when set, else from PyTorch's CPU index at this interpreter's
torch version: PyPI's default torch build pulls gigabytes of CUDA libraries.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from citrus_hf._extras import EXTRAS
from citrus_hf.data.fetch import archive_cache_dir

ROOT = Path(__file__).resolve().parents[1]


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_plain_install_runs_the_demo(tmp_path):
    source = tmp_path / "source"
    # a copy, so that the build's egg-info and build/ folders stay out of the checkout
    shutil.copytree(
        ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(".git", "build", "*.egg-info", "__pycache__")
    )
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    wheel = os.environ.get("CITRUS_TORCH_WHEEL")
    if wheel:
        _run([*pip, wheel], timeout=1200)
    else:
        version = torch.__version__.split("+")[0]
        _run([*pip, f"torch=={version}", "--index-url", "https://download.pytorch.org/whl/cpu"], timeout=1200)
    _run([*pip, str(source)], timeout=1200)
    installed = _run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"]).stdout
    names = {package["name"].lower() for package in json.loads(installed)}
    assert not names & set(EXTRAS), f"an extra was installed: {sorted(names & set(EXTRAS))}"

    environment = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "CITRUS_", "PYTHON"))}
    environment.update(HF_HOME=str(tmp_path / "hf_home"), CITRUS_HF_CACHE=str(archive_cache_dir()))
    demo = _run(
        [str(venv / "bin" / "citrus"), "demo", "--quick", "--no-fetch", "--output-dir", str(tmp_path / "demo")],
        env=environment,
        cwd=tmp_path,
        timeout=1200,
    )
    output = demo.stdout + demo.stderr
    print(output[-6000:])
    results = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert {run["dataset"] for run in results["runs"]} == {"basic_motions", "eeg_blink", "myo_gestures", "hr_ecg"}
    # the bundled checkpoint came with the wheel; MiniRocket (an extra) is left out, and the demo says so
    assert {run["arm"] for run in results["runs"]} == {"citrus-small", "citrus-scratch", "prior"}
    assert "pip install 'citrus-hf[baselines]' to compare with it" in output
    assert (tmp_path / "demo" / "results.png").stat().st_size > 0
    for unwanted in ("no supported trackers", "LOAD REPORT", "Traceback", "[y/N]"):
        assert unwanted not in output, unwanted
