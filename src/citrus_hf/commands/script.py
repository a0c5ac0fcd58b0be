"""The `citrus` command's error boundary for the scripts under examples/ and benchmarks/.

    from citrus_hf.commands.script import run_script

    if __name__ == "__main__":
        run_script(main)

An error the user fixes (no offline corpus, the Hub offline, a missing extra, a bad value) prints one line `error: ...`
and exits with code 2, as `citrus` does (`citrus_hf.commands.main.is_user_error` decides which); `--debug` anywhere on
the command line shows the traceback instead. Any other exception is a bug and keeps its traceback. A ValueError or OSError
raised outside this package (which may be a bug too) says in its line where it was raised. A reader that stops
reading (`python examples/x.py | head`) ends the script quietly, as `citrus` (code 141).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable

from .main import _one_line, _printable_anywhere, end_quietly_on_closed_stdout, is_user_error, stdout_is_closed


def run_script(main: Callable[[], object]) -> None:
    """Run a script's `main()` behind the error boundary (see the module docstring); `--debug` is taken out of
    `sys.argv` first, so the script's own parser never sees it."""
    debug = "--debug" in sys.argv
    sys.argv[:] = [arg for arg in sys.argv if arg != "--debug"]
    _printable_anywhere()
    try:
        main()
        sys.stdout.flush()  # a reader gone shows here, inside the boundary, not in Python's flush at exit
    except KeyboardInterrupt:
        if debug:
            raise
        if os.environ.get("RANK", "0") == "0":  # Ctrl-C reaches every process of a launch: one says so, as `citrus`
            print("interrupted", file=sys.stderr)
        sys.exit(130)  # the shell's code for a process stopped by Ctrl-C, as `citrus` gives
    except Exception as error:
        if isinstance(error, BrokenPipeError) and stdout_is_closed():  # not another pipe (a subprocess, a socket)
            sys.exit(end_quietly_on_closed_stdout())
        if debug or not is_user_error(error):
            raise
        print(f"error: {_one_line(error)}", file=sys.stderr)
        sys.exit(2)


class ScriptParser(argparse.ArgumentParser):
    """The `argparse.ArgumentParser` of the dataset scripts, reading options as `citrus` does: no abbreviations
    (`--data` was taken for `--data-dir`, `--no-down` for `--no-download`, so a later option of one of those prefixes
    would change what an old command line means), and a yes/no flag that no yes/no follows takes no value
    (`--private epilepsy` took the set's name for its value: "Truthy value expected")."""

    def __init__(self, *args, **kwargs):
        from .parser import NEGATIVE_NUMBER

        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        # -1e2 and -inf are values, as `citrus` reads them (`--before-seconds -1e2`: "expected one argument")
        self._negative_number_matcher = NEGATIVE_NUMBER

    def parse_known_args(self, args=None, namespace=None):
        from .parser import flags_before_positionals

        args = sys.argv[1:] if args is None else args
        return super().parse_known_args(flags_before_positionals(self, args), namespace)


def positive_int(text: str) -> int:
    """An argparse `type` for counts (steps, windows, epochs): a whole number >= 1, refused by argparse as
    "argument --batch-size: must be a whole number >= 1, got 0" (naming the script's own option, where the value
    refused later named the setting it was passed on to)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse `type` for a finite number above 0 (seconds, rates, learning rates)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {value:g}")
    return value
