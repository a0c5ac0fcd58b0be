"""The `citrus` command: demo, pretrain, finetune, evaluate, push, export, data.

    citrus demo                                   # the main job: real data, a few minutes on 2 CPU cores
    citrus pretrain --output-dir runs/eeg --max-steps 2000 --config-overrides pretraining_objective=spectrogram
    citrus finetune --model citrus-small --dataset basic_motions --label-budget 5 --output-dir runs/har
    citrus finetune finetune.yaml --learning-rate 3e-4      # settings from a file, overridden on the command line
    citrus evaluate --output-dir runs/eval --budgets 1 5 all --num-seeds 5
    citrus push runs/har my-user/citrus-har
    citrus export runs/har                        # ONNX once: pipelines' backend="auto" races ONNX Runtime from then
    citrus data list

The top-level parser knows the commands only by name and one-line help (`citrus_hf.commands.COMMANDS`); the module
of a command is imported when that command runs, so `citrus --help` imports neither torch nor transformers.

This is the command line's one error boundary: an error the user can fix (a bad option or value, an unknown dataset,
a missing folder or column, no network) prints one line `error: ...` and exits with code 2; `--debug` (anywhere on the
command line) shows the traceback instead. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from .._version import __version__
from . import COMMANDS, UsageError, run_subcommand

DESCRIPTION = (
    "CiTrus bio-signal foundation models: fit the bundled citrus-small (or your own pre-trained checkpoint) to a few "
    "labelled windows of any modality and sampling rate. Run `citrus demo` to see it against MiniRocket on real "
    "recordings."
)


def _runner(module: str):
    def run(argv: list[str]) -> int:
        return importlib.import_module(module).run(argv)

    return run


def is_user_error(error: BaseException) -> bool:
    """Whether `error` is one a user fixes by changing the command line, the data or the environment."""
    if isinstance(error, (UsageError, ValueError, OSError)):  # OSError: missing files, no network, offline mode
        return True
    # Imported here: the command line must not import them before a command runs.
    from huggingface_hub.errors import StrictDataclassError  # an invalid config field (`--config-overrides`)

    from .._extras import MissingExtraError  # an optional dependency to install
    from ..data.errors import CitrusDataError

    return isinstance(error, (CitrusDataError, MissingExtraError, StrictDataclassError))


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run `citrus` with `argv` (default: the process's arguments); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [arg for arg in argv if arg != "--debug"]
    subcommands = {name: (command.help, _runner(command.module)) for name, command in COMMANDS.items()}
    try:
        return run_subcommand("citrus", DESCRIPTION, subcommands, argv, version=f"citrus-hf {__version__}")
    except SystemExit as exit:  # --help and --version
        return exit.code if isinstance(exit.code, int) else 0
    except KeyboardInterrupt:
        if debug:
            raise
        print("interrupted", file=sys.stderr)
        return 130  # the shell's code for a process stopped by Ctrl-C (128 + SIGINT)
    except Exception as error:
        if debug or not is_user_error(error):
            raise
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
