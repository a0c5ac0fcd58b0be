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
a missing folder or column, no network, a training run stopped by a NaN loss) prints one line `error: ...` and exits
with code 2; `--debug` (anywhere on the command line) shows the traceback instead. Any other exception is a bug and
keeps its traceback. A ValueError or OSError raised outside this package (which may be a bug too) says in its line
where it was raised. A reader that stops reading (`citrus data list | head -1`) ends the command quietly with code
141, as git's (killed by SIGPIPE). Ctrl-C ends the program with "interrupted" and code 130; `main([...])` called
in-process lets the KeyboardInterrupt through.
"""

from __future__ import annotations

import importlib
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Sequence

from .._version import __version__
from . import COMMANDS, Command, UsageError, run_subcommand

DESCRIPTION = (
    "CiTrus bio-signal foundation models: fit the bundled citrus-small (or your own pre-trained checkpoint) to a few "
    "labelled windows of any modality and sampling rate. Run `citrus demo` to see it against MiniRocket on real "
    "recordings."
)


def _runner(name: str, command: Command):
    def run(argv: list[str]) -> int:
        if not command.data_parallel and not {"-h", "--help"} & set(argv):
            refuse_a_launch(name)
        return importlib.import_module(command.module).run(argv)

    return run


def refuse_a_launch(name: str) -> None:
    """Refuse `citrus <name>`, a command that runs in one process, under a launch of several (`accelerate launch`,
    torchrun): each process ran the whole command into the same files (`data build`: one was refused for "another
    run", its sibling, and the launch ended in torchrun's traceback with nothing built; `push` published twice). A
    command that a launched script starts once (a push from its main process) inherits the launch's variables and is
    refused too: no process can tell it from one of N, so the message names the variable to leave out."""
    from ..training.launch import LAUNCH_SIZES, launched_processes

    launch = launched_processes()
    if launch is not None and launch[1] > 1:
        variable, processes = launch
        trainers = " and ".join(f"`citrus {other}`" for other, each in COMMANDS.items() if each.data_parallel)
        # every one of them: a process count left behind in another is read next
        counts = " and ".join(each for each in LAUNCH_SIZES if os.environ.get(each, "").isdigit())
        raise UsageError(
            f"citrus {name} runs in one process, and the launcher started {processes} ({variable}={processes}): each "
            f"would do the whole work into the same files. Run it without accelerate launch or torchrun (only "
            f"{trainers} run data-parallel); started once by a launched script (`subprocess.run` on its main "
            f"process), run it with {counts} removed from its environment."
        )


def is_user_error(error: BaseException) -> bool:
    """Whether `error` is one a user fixes by changing the command line, the data or the environment."""
    if isinstance(error, (UsageError, ValueError, OSError)):  # OSError: missing files, no network, offline mode
        return True
    # Imported here: the command line must not import them before a command runs.
    from huggingface_hub.errors import StrictDataclassError  # an invalid config field (`--config-overrides`)

    from .._extras import MissingExtraError  # an optional dependency to install
    from .._figures import PlottingUnavailableError  # matplotlib to install, or MPLBACKEND to fix
    from ..data.errors import CitrusDataError

    # A run stopped by a NaN loss: fixed by a lower --learning-rate, or the data. Its module imports torch, so it is
    # looked up, not imported: only a run that loaded it can have raised it.
    callbacks = sys.modules.get(f"{__package__.split('.')[0]}.training.callbacks")
    training_errors = (callbacks.NonFiniteLossError,) if callbacks is not None else ()
    return isinstance(
        error, (CitrusDataError, MissingExtraError, PlottingUnavailableError, StrictDataclassError, *training_errors)
    )


def _one_line(error: BaseException) -> str:
    """`error` as the one line the boundary prints. The package's own checks word their errors for the user; a
    ValueError or OSError raised elsewhere (a script's own code, numpy called from it) may be a bug, whose message
    alone does not say where it came from, so that line says how to see it."""
    text = " ".join(str(error).split()) or type(error).__name__
    frames = traceback.extract_tb(error.__traceback__)
    own_class = type(error).__module__.startswith(__package__.split(".")[0])  # worded for the user wherever raised
    if frames and not own_class and not os.path.abspath(frames[-1].filename).startswith(_PACKAGE_FOLDER):
        text += f" ({type(error).__name__} raised in {os.path.basename(frames[-1].filename)}, line "
        text += f"{frames[-1].lineno}; --debug shows the traceback)"
    return text


_PACKAGE_FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


# What a shell reports for a program that wrote to a pipe nobody reads any more (128 + SIGPIPE), as for git and cat.
BROKEN_PIPE_EXIT_CODE = 141


def stdout_is_closed() -> bool:
    """Whether the reader of stdout has gone (`citrus data list | head -1` after `head` exits): Linux flags the
    write end of such a pipe with POLLERR. Where that cannot be asked, a BrokenPipeError is taken to be stdout's."""
    try:
        import select

        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), stdout replaced by a stream without a file
        return True


def end_quietly_on_closed_stdout() -> int:
    """After a BrokenPipeError on stdout: point stdout at os.devnull, so that Python's own flush at exit does not
    raise again (the Python docs' "Note on SIGPIPE"), and return the exit code of a program stopped so."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass
    finally:
        os.close(devnull)
    return BROKEN_PIPE_EXIT_CODE


def wait_passively_for_work(runnable_elsewhere: Callable[[], float | None] | None = None) -> None:
    """Let torch's OpenMP threads sleep between parallel regions (`OMP_WAIT_POLICY=PASSIVE`) when other programs keep
    the cores busy as the command starts, unless the user chose a policy. Only before torch is imported: OpenMP reads
    the variable once, when torch loads it. It changes how threads wait, never what they compute.

    Why: by default each thread spins at the end of every parallel region, waiting for the others. When another
    program holds a core, each small operation then waits for a thread that is not running: beside one busy process
    on 2 cores, `citrus finetune --model citrus-small --dataset watch_exercises --label-budget 5` took 29-38 s
    spinning and 11-12 s waiting passively (9 s alone either way; citrus-small scored 240 against 520 windows/s). On
    free cores spinning is faster (passive: 780 against 940 windows/s, the probe's fit 10.6 s against 8.0), so the
    policy follows the load: `runnable_elsewhere()` (default `runnable_elsewhere_now`) counts the programs running
    besides this one, and torch's threads wait passively only when they would not all get a core.
    """
    if "torch" in sys.modules or "OMP_WAIT_POLICY" in os.environ:
        return
    others = (runnable_elsewhere or runnable_elsewhere_now)()
    if others is None or others < 1:
        return
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = _positive_int(os.environ.get("OMP_NUM_THREADS")) or usable  # torch's threads: at most one per core
    if others + threads > (os.cpu_count() or threads):  # more work ready than cores: someone waits
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"


def runnable_elsewhere_now(samples: int = 5, gap_seconds: float = 0.004) -> float | None:
    """The median number of tasks ready to run on this machine besides this process, over a few samples of
    /proc/loadavg's running count 4 ms apart (about 20 ms in all); None where there is no such file (not Linux)."""
    counts = []
    for index in range(samples):
        try:
            with open("/proc/loadavg", encoding="ascii") as handle:
                running = handle.read().split()[3].split("/")[0]
            counts.append(int(running) - 1)  # this process is one of them
        except (OSError, IndexError, ValueError):
            return None
        if index < samples - 1:
            time.sleep(gap_seconds)
    return float(statistics.median(counts))


def _positive_int(text: str | None) -> int | None:
    try:
        value = int(text) if text else None
    except ValueError:
        return None
    return value if value and value > 0 else None


def _printable_anywhere() -> None:
    """Let stdout and stderr print what their encoding cannot hold ("±" on an ASCII terminal, class names in
    Japanese on a Latin-1 one) as escapes: with Python's strict default a table of results crashed the command after
    all its work was done. Files the commands write are UTF-8 whatever the locale."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def exit_status(stop: SystemExit) -> int:
    """The exit status Python gives a program that `stop` ends: 0 for `sys.exit()`, the number of `sys.exit(3)`, and 1
    for `sys.exit("message")`, whose message goes to stderr as Python prints it. (Any code that is no number read 0:
    a command stopped by a message returned success, to a shell's `&&` and to CI.)"""
    if stop.code is None:
        return 0
    if isinstance(stop.code, int):
        return stop.code
    print(stop.code, file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run `citrus` with `argv` (default: the process's arguments); returns the exit code.

    Run as the program (no `argv`: the console script, `python -m citrus_hf`), Ctrl-C ends it with the line
    "interrupted" and code 130. Called in-process with arguments (a notebook, a script looping over files),
    KeyboardInterrupt propagates after the command's own lines, as from any Python call: returning 130 let the
    caller's loop go on to the next file."""
    as_program = argv is None
    wait_passively_for_work()
    _printable_anywhere()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [arg for arg in argv if arg != "--debug"]
    subcommands = {name: (command.help, _runner(name, command)) for name, command in COMMANDS.items()}
    try:
        try:
            code = run_subcommand("citrus", DESCRIPTION, subcommands, argv, version=f"citrus-hf {__version__}")
        except SystemExit as exit:  # --help and --version, or a `sys.exit(...)` in the command's work
            code = exit_status(exit)
        sys.stdout.flush()  # a reader gone shows here, inside the boundary, not in Python's flush at exit
        return code
    except KeyboardInterrupt:
        if debug or not as_program:
            raise
        if os.environ.get("RANK", "0") == "0":  # Ctrl-C reaches every process of a launch: one says so
            print("interrupted", file=sys.stderr)
        return 130  # the shell's code for a process stopped by Ctrl-C (128 + SIGINT)
    except Exception as error:
        if isinstance(error, BrokenPipeError) and stdout_is_closed():  # not another pipe (a subprocess, a socket)
            return end_quietly_on_closed_stdout()
        if debug or not is_user_error(error):
            raise
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2


def run_command_module(command: str) -> None:
    """`python -m citrus_hf.commands.<command> ARGS` (also `accelerate launch -m citrus_hf.commands.<command>`): runs
    `citrus <command> ARGS` and exits with its code, where the module alone would define the command and exit 0."""
    sys.argv[1:1] = [command]  # the process's arguments as `citrus` would have them: run as the program
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
