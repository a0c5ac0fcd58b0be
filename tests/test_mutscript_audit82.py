"""Mutation audit 82 of the scripts' error boundary (`citrus_hf.commands.script`), the package's logging
(`citrus_hf._logs`) and its optional dependencies (`citrus_hf._extras`): guards for the mutants no test killed (each
passes on main and fails on its mutant), and the defects the audit found."""

from __future__ import annotations

import sys

import pytest

# ------------------------------------------------------------------------------------------- extras


@pytest.fixture
def fake_packages(tmp_path, monkeypatch):
    """Writes top-level packages into a folder on sys.path (`fake_packages(name, files, version, distribution)`:
    `files` maps a path inside the package to its source, `version` writes the dist-info of that release, of the
    distribution `name` or `distribution`), known to `EXTRAS` as the `[baselines]` extra's, and forgets them after the
    test. The real installs are left alone."""
    from citrus_hf import _extras

    names = []

    def write(name: str, files: dict[str, str], version: str | None = None, distribution: str | None = None) -> None:
        # a folder each, put on sys.path once written: importlib's caches keep a folder's listing until they are
        # invalidated (as syspath_prepend does)
        folder = tmp_path / name
        for path, source in {"__init__.py": "", **files}.items():
            (folder / name / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / name / path).write_text(source)
        if version:
            info = folder / f"{(distribution or name).replace('-', '_')}-{version}.dist-info"  # as pip names it
            info.mkdir()
            (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution or name}\nVersion: {version}\n")
            (info / "top_level.txt").write_text(f"{name}\n")
        monkeypatch.syspath_prepend(str(folder))
        monkeypatch.setitem(_extras.EXTRAS, name, "baselines")
        names.append(name)

    yield write
    for module in [module for module in sys.modules if module.split(".")[0] in names]:
        del sys.modules[module]


def test_a_package_installed_without_the_submodule_needed_is_named_as_lacking_it(fake_packages):
    """An older release without the submodule an arm needs (or a broken install) was reported as "which is not
    installed: pip install ...", sending the user to install what pip says is installed already: the message names the
    release that lacks it and the upgrade (`-U` on the package itself: pip leaves a dependency that satisfies the
    extra's floor as it is)."""
    from citrus_hf._extras import MissingExtraError, check_installed, require

    fake_packages("audit82old", {"transformations/__init__.py": ""}, version="0.9.1")
    advice = (
        "which the installed audit82old 0.9.1 lacks (an older release, or a broken install): upgrade it with pip "
        "install -U audit82old (if that is the newest release already, pip install --force-reinstall audit82old)"
    )
    with pytest.raises(MissingExtraError) as refused:
        require("audit82old.transformations.rocket", "The MiniRocket baseline")
    assert str(refused.value) == f"The MiniRocket baseline needs audit82old.transformations.rocket, {advice}."
    with pytest.raises(MissingExtraError) as refused:
        check_installed(
            ["audit82old.transformations.rocket", "audit82old.other", "no_such_toolkit_82"],
            "The 'mine' arm",
            "or leave it out: --arms prior",
        )
    assert str(refused.value) == (
        "The 'mine' arm needs no_such_toolkit_82, which is not installed: install no_such_toolkit_82 (not a "
        "dependency of citrus-hf: e.g. pip install no_such_toolkit_82); and audit82old.transformations.rocket and "
        f"audit82old.other, {advice}, or leave it out: --arms prior."
    )
    check_installed(["audit82old.transformations", "audit82old"], "The 'mine' arm")  # both there: nothing to say
    # a package that pip installs under another name (scikit-learn's sklearn): named and upgraded by that name
    fake_packages("audit82imp", {}, version="2.0", distribution="audit82-dist")
    with pytest.raises(MissingExtraError) as refused:
        check_installed(["audit82imp.gone"], "The 'mine' arm")
    assert "needs audit82imp.gone, which the installed audit82-dist 2.0 lacks" in str(refused.value)
    assert "pip install -U audit82-dist (if that" in str(refused.value)


def test_a_broken_install_missing_a_module_of_its_own_is_named_as_lacking_it(fake_packages):
    """A package whose own import fails on a module of its own (files lost from an install, no metadata) is no
    package that "is not installed"; a module of another package missing inside it still raises as it is."""
    from citrus_hf._extras import MissingExtraError, require

    fake_packages("audit82broken", {"__init__.py": "from ._core import fit\n"})
    with pytest.raises(MissingExtraError, match=r"needs audit82broken\._core, which the installed audit82broken lacks"):
        require("audit82broken", "The MiniRocket baseline")
    fake_packages("audit82dep", {"__init__.py": "import audit82_absent_dependency\n"})
    with pytest.raises(ModuleNotFoundError) as raised:
        require("audit82dep", "The MiniRocket baseline")
    assert type(raised.value) is ModuleNotFoundError and raised.value.name == "audit82_absent_dependency"


def test_a_stand_in_module_in_sys_modules_counts_as_installed(monkeypatch):
    """`is_installed` says whether `import module` would work: a module put in `sys.modules` without a spec (a
    stand-in, which `importlib.util.find_spec` refuses with ValueError) imports, so it counts as installed, where it
    was called not installed; a module blocked there (None) still counts as missing."""
    import types

    from citrus_hf._extras import is_installed

    monkeypatch.setitem(sys.modules, "audit82_stand_in", types.ModuleType("audit82_stand_in"))
    monkeypatch.setitem(sys.modules, "audit82_blocked", None)
    assert is_installed("audit82_stand_in") and not is_installed("audit82_blocked")


def test_missing_extras_are_named_in_one_pip_install_in_order(monkeypatch):
    """Modules of five extras and one of none are one `pip install 'citrus-hf[...]'` naming every extra in sorted
    order (the same line on every run, whatever a set's order), then the other package's own advice, after a
    semicolon."""
    from citrus_hf._extras import MissingExtraError, check_installed

    modules = ["wfdb", "aeon", "tensorboard", "onnx", "neurokit2"]
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)  # what `import module` sees when it is not installed
    with pytest.raises(MissingExtraError) as refused:
        check_installed([*modules, "no_such_toolkit_82"], "The 'mine' arm")
    assert str(refused.value) == (
        "The 'mine' arm needs wfdb and aeon and tensorboard and onnx and neurokit2 and no_such_toolkit_82, which are "
        "not installed: pip install 'citrus-hf[baselines,bench,data,onnx,synthetic]'; install no_such_toolkit_82 (not "
        "a dependency of citrus-hf: e.g. pip install no_such_toolkit_82)."
    )


def test_require_refuses_a_module_of_no_extra_and_lets_other_import_errors_through(fake_packages):
    """`require` is for the optional dependencies of `EXTRAS` (another name is a mistake in the package, not the
    user's to install), and an ImportError that is no module missing (a name its own code cannot import) raises as it
    is: it was said to be a package "not installed"."""
    from citrus_hf._extras import require

    with pytest.raises(KeyError, match=r"'json' is not an optional dependency of citrus-hf \(known: \["):
        require("json", "Reading JSON")
    fake_packages("audit82circular", {"__init__.py": "from . import _core\n"})  # ImportError: cannot import name
    with pytest.raises(ImportError) as raised:
        require("audit82circular", "The MiniRocket baseline")
    assert type(raised.value) is ImportError and "cannot import name '_core'" in str(raised.value)


# ------------------------------------------------------------------------------------------- the scripts' boundary


def _stopped(function, capsys) -> tuple[object, str]:
    """`run_script(function)`'s exit code and what it wrote on stderr."""
    from citrus_hf.commands.script import run_script

    with pytest.raises(SystemExit) as stopped:
        run_script(function)
    return stopped.value.code, capsys.readouterr().err


def _interrupted():
    raise KeyboardInterrupt


def test_a_script_stopped_by_ctrl_c_says_so_once_and_exits_130(monkeypatch, capsys):
    """Ctrl-C ends a script as it ends `citrus`: "interrupted" on stderr, code 130 (128 + SIGINT), the traceback with
    --debug; under `accelerate launch examples/pretrain_accelerate.py` every process got the Ctrl-C and each said
    "interrupted", where `citrus pretrain` says it once (rank 0)."""
    from citrus_hf.commands.script import run_script

    monkeypatch.setattr(sys, "argv", ["example.py"])
    monkeypatch.delenv("RANK", raising=False)
    assert _stopped(_interrupted, capsys) == (130, "interrupted\n")
    monkeypatch.setenv("RANK", "1")
    assert _stopped(_interrupted, capsys) == (130, "")
    monkeypatch.setattr(sys, "argv", ["example.py", "--debug"])
    with pytest.raises(KeyboardInterrupt):
        run_script(_interrupted)


def test_a_broken_pipe_that_is_not_stdouts_is_an_error(monkeypatch, capsys):
    """Only stdout's reader going away ends a script quietly: a BrokenPipeError of another pipe (a subprocess, a
    socket) is reported, as `citrus` reports it."""
    import citrus_hf.commands.script

    def broken():
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "argv", ["example.py"])
    monkeypatch.setattr(citrus_hf.commands.script, "stdout_is_closed", lambda: False)
    code, said = _stopped(broken, capsys)
    assert code == 2 and said.startswith("error: [Errno 32] Broken pipe")


def test_a_script_whose_few_lines_meet_a_closed_pipe_ends_quietly():
    """A script that prints less than stdout's buffer holds meets the gone reader only when stdout is flushed: inside
    the boundary, which points stdout at os.devnull and ends with code 141, nothing said; Python's own flush at exit
    said "Exception ignored ... BrokenPipeError" and gave code 120. (Buffered, as a plain `python` runs: with
    PYTHONUNBUFFERED the print itself meets the closed pipe.)"""
    import os
    import subprocess

    from citrus_hf.commands.main import BROKEN_PIPE_EXIT_CODE

    script = "from citrus_hf.commands.script import run_script\nrun_script(lambda: print('one row'))\n"
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
            timeout=120,
        )
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (BROKEN_PIPE_EXIT_CODE, "")


def test_a_script_prints_what_its_terminals_encoding_cannot_hold(monkeypatch, capsys):
    """A script's table with "±" on an ASCII terminal crashed after all its work, as `citrus` did: the boundary lets
    stdout print it as an escape."""
    import io

    from citrus_hf.commands.script import run_script

    terminal = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setattr(sys, "argv", ["example.py"])
    run_script(lambda: print("0.91 ± 0.02"))
    assert terminal.buffer.getvalue() == b"0.91 \\xb1 0.02\n"


def test_the_dataset_scripts_parser_takes_no_abbreviation_unless_asked():
    """`--data` was taken for `--data-dir`: an abbreviation is an unknown option, unless the script asks for them."""
    from citrus_hf.commands.script import ScriptParser

    parser = ScriptParser()
    parser.add_argument("--data-dir")
    with pytest.raises(SystemExit):
        parser.parse_args(["--data", "x"])
    asked = ScriptParser(allow_abbrev=True)
    asked.add_argument("--data-dir")
    assert asked.parse_args(["--data", "x"]).data_dir == "x"


def test_the_scripts_count_and_positive_number_types():
    """`positive_int` takes whole numbers from 1 and `positive_float` finite numbers above 0; each refusal names what
    was given, in the words argparse prints after the option ("argument --epochs: must be ...")."""
    from argparse import ArgumentTypeError

    from citrus_hf.commands.script import positive_float, positive_int

    assert positive_int("1") == 1 and positive_float("1e-4") == 1e-4
    refused = [
        (positive_int, "2.5", "must be a whole number >= 1, got '2.5'"),
        (positive_int, "abc", "must be a whole number >= 1, got 'abc'"),
        (positive_float, "abc", "must be a number above 0, got 'abc'"),
        (positive_float, "inf", "must be a finite number above 0, got inf"),
        (positive_float, "nan", "must be a finite number above 0, got nan"),
    ]
    for function, text, said in refused:
        with pytest.raises(ArgumentTypeError) as refusal:
            function(text)
        assert str(refusal.value) == said


# ------------------------------------------------------------------------------------------- logs


def test_the_verbosity_variable_is_read_as_transformers_reads_it(monkeypatch):
    """TRANSFORMERS_VERBOSITY=ERROR (or " error ", "warn") sets nothing in transformers, which warns and keeps its
    default, while the package read it as a level: `citrus data` (which never imports transformers) was quiet and
    `citrus finetune` was not. The names are transformers' own, matched exactly."""
    import logging

    from transformers.utils import logging as transformers_logging

    from citrus_hf._logs import _VERBOSITY_NAMES, transformers_verbosity

    assert _VERBOSITY_NAMES == transformers_logging.log_levels
    monkeypatch.setattr(logging.getLogger("transformers"), "level", logging.NOTSET)
    for value in ("ERROR", " error ", "warn", "fatal"):
        monkeypatch.setenv("TRANSFORMERS_VERBOSITY", value)
        assert transformers_verbosity() == logging.NOTSET, value
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "critical")
    assert transformers_verbosity() == logging.CRITICAL


def test_the_package_verbosity_is_kept_inside_and_put_back_after():
    """`package_verbosity_kept` holds the package's loggers at the verbosity in effect when it is entered, while
    transformers' is changed inside, and leaves them following transformers' again after; a level the user set on the
    "citrus_hf" logger stays as it was, inside and after."""
    import logging

    from transformers.utils import logging as transformers_logging

    from citrus_hf._logs import package_verbosity_kept

    package, before = logging.getLogger("citrus_hf"), transformers_logging.get_verbosity()
    try:
        transformers_logging.set_verbosity_info()
        with package_verbosity_kept():
            transformers_logging.set_verbosity_error()
            assert package.getEffectiveLevel() == logging.INFO
        assert package.level == logging.NOTSET and package.getEffectiveLevel() == logging.ERROR
        package.setLevel(logging.DEBUG)
        with package_verbosity_kept():
            assert package.level == logging.DEBUG
        assert package.level == logging.DEBUG
    finally:
        package.setLevel(logging.NOTSET)
        transformers_logging.set_verbosity(before)


def test_outside_stacklevel_stops_at_the_outermost_frame(monkeypatch):
    """Where every frame counts as the package's (`python -m citrus_hf` run from inside the package's folder: its
    "<frozen runpy>" frames resolve there), the walk ends at the outermost frame instead of running off the stack."""
    import citrus_hf._logs

    monkeypatch.setattr(citrus_hf._logs, "_PACKAGE_FOLDER", "")  # every frame is the package's
    depth, frame = 1, sys._getframe()
    while frame.f_back is not None:
        depth, frame = depth + 1, frame.f_back
    assert citrus_hf._logs.outside_stacklevel() == depth  # this frame is stacklevel 1, the outermost `depth`


def test_the_package_records_reach_stderr_only_where_no_handler_takes_them(monkeypatch):
    """With no handler anywhere, a record of the package is one "[citrus_hf] ..." line on stderr, flushed at once (as
    logging's StreamHandler does: the line is there before whatever comes next, to a stderr a program replaced by a
    buffered file too); an application that configured logging (a handler on the root logger) gets it there alone."""
    import io
    import logging

    class Stream(io.StringIO):
        flushed = ""

        def flush(self):
            self.flushed = self.getvalue()

    root, logger = logging.getLogger(), logging.getLogger("citrus_hf.audit82")
    monkeypatch.setattr(sys, "stderr", Stream())
    taken = []
    handler = logging.Handler()
    handler.emit = taken.append
    kept = root.handlers[:]  # pytest's own, put back inside the test (pytest takes it off when the test ends)
    try:
        root.handlers[:] = []
        logger.error("a notice")
        assert sys.stderr.flushed == "[citrus_hf] a notice\n"
        root.handlers[:] = [handler]
        logger.error("another notice")
    finally:
        root.handlers[:] = kept
    assert sys.stderr.getvalue() == "[citrus_hf] a notice\n" and [r.getMessage() for r in taken] == ["another notice"]


def test_the_warnings_hook_survives_a_bar_closed_twice_and_is_left_when_replaced(monkeypatch):
    """A bar closed twice (by hand, then at garbage collection) counted as two bars closed, so the next bar printed
    its warnings over its line; and a hook the program set while a bar was shown stays when the bar closes."""
    import os
    import warnings

    from citrus_hf._logs import progress_bar

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # put back whatever the test leaves
    hook = warnings.showwarning
    with open(os.devnull, "w") as sink:
        first = progress_bar(True, total=2, file=sink)
        first.close()
        first.close()
        second = progress_bar(True, total=2, file=sink)
        assert warnings.showwarning is not hook  # the second bar routes the warnings below it
        second.close()
        assert warnings.showwarning is hook
        third = progress_bar(True, total=2, file=sink)

        def programs_own(*args, **kwargs):
            pass

        warnings.showwarning = programs_own
        third.close()
        assert warnings.showwarning is programs_own


@pytest.mark.parametrize("value", ["1", "ON", "yes", "True"])
def test_datasets_variable_hides_the_data_bars_in_each_spelling_datasets_reads(value, monkeypatch):
    """HF_DATASETS_DISABLE_PROGRESS_BARS is read as datasets reads it (1, ON, YES, TRUE in any case) where datasets
    is not imported (`citrus data fetch`)."""
    from citrus_hf._logs import _datasets_bars_hidden

    monkeypatch.setitem(sys.modules, "datasets.utils.tqdm", None)
    monkeypatch.setenv("HF_DATASETS_DISABLE_PROGRESS_BARS", value)
    assert _datasets_bars_hidden()
    monkeypatch.setenv("HF_DATASETS_DISABLE_PROGRESS_BARS", "0")
    assert not _datasets_bars_hidden()


def test_transformers_bar_switch_hides_the_package_bars_though_the_hubs_is_on():
    """transformers' `disable_progress_bar()` hides the package's bars as it hides the Trainer's, also after the hub's
    switch was turned back on (`huggingface_hub.utils.enable_progress_bars()`: downloads shown, training bars not)."""
    from huggingface_hub import utils as hub_utils
    from transformers.utils import logging as transformers_logging

    from citrus_hf._logs import huggingface_bars_shown, progress_bar_switches_kept

    with progress_bar_switches_kept():
        transformers_logging.disable_progress_bar()
        hub_utils.enable_progress_bars()
        assert not huggingface_bars_shown()
        transformers_logging.enable_progress_bar()
        assert huggingface_bars_shown()
