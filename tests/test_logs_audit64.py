"""Audit 64: logging, warnings and progress-bar hygiene. The package's loggers follow transformers' verbosity, a
warning said in a loop comes once, `PretrainingDidNotLearnWarning` names the caller's line, the protocol prints
nothing to stdout, and the package leaves every progress-bar switch as the user set it and honours them."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import utils as hub_utils
from transformers.utils import logging as transformers_logging

import citrus_hf
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

SRC = str(Path(citrus_hf.__file__).resolve().parents[1])  # the subprocesses import the package under test


def _extractor() -> CiTrusFeatureExtractor:
    return CiTrusFeatureExtractor(sampling_rate=100, context_length=1000, patch_length=10)


@pytest.fixture
def verbosity():
    """transformers' verbosity and progress-bar switches, put back after the test."""
    level = transformers_logging.get_verbosity()
    shown = transformers_logging.is_progress_bar_enabled()
    hub_disabled = hub_utils.are_progress_bars_disabled()
    yield
    transformers_logging.set_verbosity(level)
    (transformers_logging.enable_progress_bar if shown else transformers_logging.disable_progress_bar)()
    (hub_utils.disable_progress_bars if hub_disabled else hub_utils.enable_progress_bars)()


def test_the_package_loggers_follow_transformers_verbosity(caplog, verbosity):
    """`transformers.logging.set_verbosity_error()` left the package's warnings on, and `set_verbosity_debug()` could
    not show what a notice says is "logged at debug level": the "citrus_hf" loggers sat outside transformers'."""
    from citrus_hf.evaluation.protocol import _quiet_and_threads

    caplog.set_level(logging.DEBUG)  # the root logger lets everything through: the package's own level decides
    short = [np.random.default_rng(0).standard_normal(50)]
    transformers_logging.set_verbosity_error()
    logging.Logger.info_once.cache_clear()
    _extractor()(short, sampling_rate=100)
    assert not [record for record in caplog.records if record.name.startswith("citrus_hf")]
    transformers_logging.set_verbosity_debug()  # a later switch applies too
    logging.Logger.info_once.cache_clear()
    _extractor()(short, sampling_rate=100)
    messages = [record.getMessage() for record in caplog.records if record.name.startswith("citrus_hf")]
    assert any("set_verbosity_debug()` shows it" in message for message in messages)
    assert any("kept at their own duration (50 samples" in message for message in messages)  # the debug detail
    # a level set on the package's logger wins over transformers'
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        logging.getLogger("citrus_hf.feature_extraction_citrus").info("not shown")
    assert not caplog.records
    # the protocol quietens transformers for its runs, not the package's notices
    transformers_logging.set_verbosity_warning()
    with _quiet_and_threads(None):
        assert transformers_logging.get_verbosity() == logging.ERROR
        logging.getLogger("citrus_hf.evaluation.protocol").warning("a notice of the protocol")
    assert "a notice of the protocol" in caplog.text


def test_transformers_verbosity_variable_and_the_stderr_lines():
    """TRANSFORMERS_VERBOSITY=debug shows the package's debug lines on stderr, named "[citrus_hf]" (Python's
    last-resort handler printed warnings only, unnamed)."""
    script = (
        "import numpy as np\n"
        "from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor\n"
        "CiTrusFeatureExtractor(sampling_rate=100, context_length=1000, patch_length=10)"
        "([np.zeros(50)], sampling_rate=100)\n"
    )
    # a handler of the user's on the package's logger takes the records instead (Python's last-resort rule)
    script += (
        "import logging, sys\n"
        "logging.getLogger('citrus_hf').addHandler(logging.StreamHandler(sys.stdout))\n"
        "CiTrusFeatureExtractor(sampling_rate=100, context_length=1000, patch_length=10)"
        "([np.zeros(40)], sampling_rate=100)\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC, "TRANSFORMERS_VERBOSITY": "debug"}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "[citrus_hf] Recordings of at most 0.5 s kept at their own duration" in run.stderr
    assert "Recordings of at most 0.4 s" in run.stdout and "0.4 s" not in run.stderr


def test_advice_in_a_loop_is_said_once(caplog):
    """200 short 64-channel epochs logged the "pass `signal.T`" advice 200 times, and 50 recordings with one
    max_length the crop warning 50 times."""
    logging.Logger.warning_once.cache_clear()
    extractor, rng = _extractor(), np.random.default_rng(0)
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        for length in (50, 50, 40):  # epochs of 64 channels, (channels, time) as documented
            extractor(rng.standard_normal((64, length)), sampling_rate=250)
        for _ in range(3):
            extractor([rng.standard_normal((1, 3000))], sampling_rate=250, max_length=500)
    messages = [record.getMessage() for record in caplog.records]
    assert sum("pass `signal.T`" in message for message in messages) == 1
    assert sum("max_length=500 keeps the first 500 model samples" in message for message in messages) == 1


def test_the_did_not_learn_warning_names_the_callers_line_and_the_bar_follows_the_switches(tmp_path, capsys, verbosity):
    """`PretrainingDidNotLearnWarning` pointed at pretrain.py (a fixed stacklevel, one call short), and the training
    bar showed although transformers' `disable_progress_bar()` was on (an explicit `disable=` overrode it)."""
    from citrus_runs import pretrain_arguments

    from citrus_hf.training.pretrain import PretrainingDidNotLearnWarning, pretrain

    arguments = pretrain_arguments(
        tmp_path / "run", max_steps=4, save_steps=100, show_progress=True, learning_rate=1e-12
    )
    transformers_logging.disable_progress_bar()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pretrain(arguments)
    (warning,) = [w for w in caught if w.category is PretrainingDidNotLearnWarning]
    assert warning.filename == __file__
    assert "pre-training" not in capsys.readouterr().err


def test_tqdm_disable_hides_the_package_bars():
    """TQDM_DISABLE=1 (tqdm's own switch, which the Trainer's bars obey) did not hide the package's bars."""
    script = "from citrus_hf._logs import progress_bar; print(progress_bar(True, total=3).disable)"
    env = {**os.environ, "PYTHONPATH": SRC, "TQDM_DISABLE": "1"}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "True", run.stderr


def test_the_protocol_prints_nothing_on_stdout(tmp_path, capsys, caplog, monkeypatch):
    """`pretrain_arms` printed its pre-training lines to stdout (`citrus evaluate`'s report); they are log records
    now, which the command shows at INFO."""
    from citrus_hf.commands.evaluate import _protocol_lines_shown
    from citrus_hf.evaluation import protocol
    from citrus_hf.evaluation.settings import ProtocolConfig

    done = types.SimpleNamespace(final_loss=1.5, eval_losses=[(2, 1.25)], seconds=3.0)
    monkeypatch.setattr(protocol, "pretrain", lambda arguments: done)
    config = ProtocolConfig(
        output_dir=str(tmp_path),
        datasets=["basic_motions"],
        arms=["citrus-time"],
        pretrain_steps=2,
        model_config="tiny",
        show_progress=False,
        num_seeds=1,
        budgets=["1"],
    )
    with caplog.at_level(logging.INFO, logger="citrus_hf.evaluation.protocol"):
        protocol.pretrain_arms(config)
    assert capsys.readouterr().out == ""
    assert "Pre-training citrus-time for 2 steps" in caplog.text and "final training loss 1.5000" in caplog.text
    with _protocol_lines_shown(protocol.__name__):
        assert logging.getLogger(protocol.__name__).isEnabledFor(logging.INFO)
    assert not logging.getLogger(protocol.__name__).level


def test_every_progress_bar_switch_is_kept(verbosity):
    """`pretrain(show_progress=False)`, `run_protocol` and `citrus predict`'s loader turned huggingface_hub's bars back
    on (transformers' `enable_progress_bar()` turns on every hub bar) after the user had turned them off."""
    from citrus_hf.commands.predict import _no_loading_bar
    from citrus_hf.evaluation.protocol import _quiet_and_threads
    from citrus_hf.training.pretrain import _library_progress_bars

    for quieting in (_library_progress_bars(False), _quiet_and_threads(None, show_progress=False), _no_loading_bar()):
        transformers_logging.enable_progress_bar()
        hub_utils.disable_progress_bars()  # the user's switch: hub downloads quiet, transformers' own still on
        hub_utils.enable_progress_bars("huggingface_hub.lfs_upload")  # and one group on
        assert transformers_logging.is_progress_bar_enabled()
        with quieting:
            assert not transformers_logging.is_progress_bar_enabled()
        assert transformers_logging.is_progress_bar_enabled()
        assert hub_utils.are_progress_bars_disabled()
        assert not hub_utils.are_progress_bars_disabled("huggingface_hub.lfs_upload")
