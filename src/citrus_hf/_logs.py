"""How the package speaks: its loggers follow transformers' verbosity, its progress bars follow the switches that hide
every Hugging Face bar, and its Python warnings name the user's line.

The package's loggers ("citrus_hf.*", made with `transformers.utils.logging.get_logger` or `logging.getLogger`) sit
outside transformers' "transformers" logger, so transformers' switches (`transformers.logging.set_verbosity_error()`,
`TRANSFORMERS_VERBOSITY=debug`) did not reach them. `follow_transformers_verbosity` (run by `import citrus_hf`, which
every submodule import runs first) puts a logger between "citrus_hf" and the root whose level is transformers'
verbosity, read whenever a logger's level is looked up: later `set_verbosity_*` calls apply, a level set on a
"citrus_hf" logger (`logging.getLogger("citrus_hf").setLevel(...)`, pytest's `caplog.at_level`) still wins, and the
records still reach the root logger's handlers (an application's logging configuration, pytest's capture).

Standard library only at import: `import citrus_hf` imports neither torch nor transformers.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

PACKAGE = __name__.split(".")[0]
_PACKAGE_FOLDER = os.path.dirname(os.path.abspath(__file__)) + os.sep
# transformers' library root logger, whose level its `set_verbosity*` and TRANSFORMERS_VERBOSITY set
_TRANSFORMERS = "transformers"
# TRANSFORMERS_VERBOSITY's values as transformers reads them (`transformers.utils.logging.log_levels`, matched exactly):
# "detail" is its DEBUG with lines. Another spelling ("ERROR", "warn") sets nothing there but a warning.
_VERBOSITY_NAMES = {
    "detail": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def transformers_verbosity() -> int:
    """transformers' verbosity (`transformers.logging.get_verbosity()`), read without importing transformers and
    without its lock (this runs inside `logging`'s own); `logging.NOTSET` when neither transformers nor
    TRANSFORMERS_VERBOSITY has set one (the root logger's level then applies, as before transformers configures its
    logger)."""
    configured = logging.Logger.manager.loggerDict.get(_TRANSFORMERS)
    if isinstance(configured, logging.Logger) and configured.level:
        return configured.level
    # transformers reads TRANSFORMERS_VERBOSITY when it configures its logger (its first `get_logger`); a command that
    # never imports transformers (`citrus data`) follows the variable too, read as transformers reads it: any other
    # spelling ("ERROR", " error ") quietened `citrus data` and left `citrus finetune` at transformers' default
    return _VERBOSITY_NAMES.get(os.environ.get("TRANSFORMERS_VERBOSITY", ""), logging.NOTSET)


class _TransformersVerbosity(logging.Logger):
    """The parent of the package's "citrus_hf" logger, registered under no name: its level is transformers' verbosity
    at the moment a logger below asks (`Logger.getEffectiveLevel` reads each ancestor's `level`), so nothing has to
    copy it when it changes. transformers' `set_verbosity` calls `Logger.setLevel`, which empties every logger's cache
    of enabled levels, so no stale answer outlives a change."""

    @property  # type: ignore[override]
    def level(self) -> int:
        return transformers_verbosity()

    @level.setter
    def level(self, value: int) -> None:
        """`Logger.__init__` sets a level; the level is transformers', so there is none of its own to keep."""


class _StderrWhenUnhandled(logging.Handler):
    """The package's records on stderr, "[citrus_hf]" before each, as transformers' own handler writes its records,
    but only when no other handler takes them (as Python's last-resort handler): an application that configured
    logging (or pytest's capture) gets them at the root instead, by propagation, and a handler added to a "citrus_hf"
    logger gets them there, each once. The last-resort handler printed warnings only, unnamed, so the details a notice
    says are "logged at debug level" could not be shown by `set_verbosity_debug()`."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(f"[{PACKAGE}] %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if logging.getLogger().handlers or _handled_below(record.name, self):
            return
        try:
            with _below_progress_bars():
                sys.stderr.write(self.format(record) + "\n")  # sys.stderr now, not at import: pytest and CLIs swap it
                sys.stderr.flush()
        except Exception:  # noqa: BLE001 - logging's own policy: a failed emit reports itself, it never raises
            self.handleError(record)


def _below_progress_bars() -> contextlib.AbstractContextManager:
    """While the line is written, tqdm's bars on the terminal are cleared and drawn again after it (as `tqdm.write`
    does), so that a record said during a run ("fitting runs", "pre-training") starts its own line instead of
    continuing the bar's. Nothing to do where tqdm was never imported."""
    tqdm_module = sys.modules.get("tqdm")
    external_write_mode = getattr(getattr(tqdm_module, "tqdm", None), "external_write_mode", None)
    return external_write_mode(file=sys.stderr) if callable(external_write_mode) else contextlib.nullcontext()


def _handled_below(name: str, handler: logging.Handler) -> bool:
    """Whether a handler of the logger `name` or of an ancestor below the logger that holds `handler` has taken a
    record of it. The walk stops at `handler`'s own logger, not at this module's `_FOLLOWER`: after
    `importlib.reload` of this module (a notebook's reload cell) `_FOLLOWER` is a new logger while the "citrus_hf"
    logger may still hang under the old one, whose handler then found itself "below" and printed nothing, ever."""
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None and handler not in logger.handlers:
        if logger.handlers:
            return True
        logger = logger.parent
    return False


_FOLLOWER = _TransformersVerbosity(f"{PACKAGE} (transformers' verbosity)")
_FOLLOWER.parent = logging.getLogger()
_FOLLOWER.addHandler(_StderrWhenUnhandled())


def follow_transformers_verbosity() -> None:
    """Make the package's loggers follow transformers' verbosity (see the module docstring). Idempotent."""
    logging.getLogger(PACKAGE).parent = _FOLLOWER


@contextlib.contextmanager
def package_verbosity_kept() -> Iterator[None]:
    """The package's loggers keep the verbosity in effect now while transformers' own is changed inside (a run that
    quietens transformers' per-model notices with `set_verbosity_error()` keeps the package's notices); a level set on
    the "citrus_hf" logger already stands as it is."""
    package = logging.getLogger(PACKAGE)
    if package.level:
        yield
        return
    package.setLevel(package.getEffectiveLevel())
    try:
        yield
    finally:
        package.setLevel(logging.NOTSET)


def outside_stacklevel() -> int:
    """The `stacklevel` for a `warnings.warn` in the function that calls this one that names the first frame outside
    this package: the user's call, however many of the package's functions lie between (a fixed number broke when
    one more was added). The outermost frame when every frame is the package's (`python -m citrus_hf`)."""
    frame = sys._getframe(1)  # the function that will call warnings.warn: stacklevel 1
    level = 1
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_FOLDER):
        frame = frame.f_back
        level += 1
    return level


# Held by every `warnings.catch_warnings` block of the package that may run beside other threads (`warnings_captured`).
# Such a block swaps the process's filter list and `showwarning`, and on the way out puts back the ones it saw on the
# way in, which is not thread-safe: two blocks of different threads that overlap out of order leave one's filters in
# place for good. WAV files read from several threads refused good files as truncated (another thread's warning was
# recorded), accepted truncated ones, and left the program's warnings silenced; a recording read while an ONNX export
# (whose block ignores every warning) ended left the whole process ignoring all warnings. Re-entrant: a reader may run
# inside another block of the same thread.
WARNINGS_CAPTURE = threading.RLock()


@contextlib.contextmanager
def warnings_captured(*, record: bool = False) -> Iterator[list[warnings.WarningMessage] | None]:
    """`warnings.catch_warnings(record=record)` under `WARNINGS_CAPTURE`: the filters set inside, and the warnings
    recorded (the list yielded when `record`, else None), stay this block's whatever other threads of the package do.
    Another thread's block waits until this one has ended, so keep the block to the call that warns."""
    with WARNINGS_CAPTURE, warnings.catch_warnings(record=record) as caught:
        yield caught


def progress_bar(shown: bool, *, data: bool = False, **options: Any):
    """A `tqdm.auto` progress bar (`options` as tqdm's) that the Hugging Face switches hide too: with `shown` it
    honours tqdm's own TQDM_* defaults (TQDM_DISABLE=1; an explicit `disable=` overrode them) and transformers'
    `disable_progress_bar()` / HF_HUB_DISABLE_PROGRESS_BARS=1, as the Trainer's and the pipelines' bars do, and, for a
    bar of the data layer (`data`: downloads, archives, a corpus's files), datasets' `disable_progress_bars()` /
    HF_DATASETS_DISABLE_PROGRESS_BARS=1, which hide datasets' own download and build bars beside it. A hidden bar is
    still a tqdm (not transformers' no-op stand-in): its `write` prints the lines said below it."""
    from tqdm.auto import tqdm

    if not (shown and huggingface_bars_shown() and not (data and _datasets_bars_hidden())):
        options["disable"] = True
    return _bar_class(tqdm)(**options)


@functools.cache
def _bar_class(tqdm: type) -> type:
    """`tqdm` (tqdm.auto's class) whose shown bars print the process's Python warnings below them (`_WarningsBelowBars`):
    a `warnings.warn` said while a bar was drawn continued the bar's line."""

    class PackageBar(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._routes_warnings = not self.disable
            if self._routes_warnings:
                _WARNINGS_BELOW_BARS.opened()

        def close(self) -> None:
            try:
                super().close()
            finally:
                if getattr(self, "_routes_warnings", False):  # once: close runs again at garbage collection
                    self._routes_warnings = False
                    _WARNINGS_BELOW_BARS.closed()

    PackageBar.__name__ = PackageBar.__qualname__ = tqdm.__name__
    return PackageBar


class _WarningsBelowBars:
    """While any of the package's bars is shown, `warnings.showwarning` is the one that was in place wrapped so that
    tqdm clears the bars, the warning prints on lines of its own and the bars are drawn again (`_below_progress_bars`,
    as the package's log records are). The wrapper goes when the last bar closes, unless something has replaced it
    since (a `catch_warnings` block entered while a bar was shown puts it back on its way out: it still prints what it
    wraps, with nothing to clear)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.shown = 0
        self.wrapper: Any = None
        self.wrapped: Any = None

    def opened(self) -> None:
        with self.lock:
            self.shown += 1
            if self.shown == 1:
                self.wrapped = shown_before = warnings.showwarning

                def showwarning(*args: Any, **kwargs: Any) -> None:
                    with _below_progress_bars():
                        shown_before(*args, **kwargs)

                self.wrapper = warnings.showwarning = showwarning

    def closed(self) -> None:
        with self.lock:
            self.shown -= 1
            if self.shown == 0:
                if warnings.showwarning is self.wrapper:
                    warnings.showwarning = self.wrapped
                self.wrapper = self.wrapped = None


_WARNINGS_BELOW_BARS = _WarningsBelowBars()


def _datasets_bars_hidden() -> bool:
    """Whether datasets' progress-bar switch is off: its `are_progress_bars_disabled()` once datasets is imported,
    else its variable HF_DATASETS_DISABLE_PROGRESS_BARS read as datasets reads it (`citrus data fetch` need not
    import datasets to ask)."""
    datasets_bars = sys.modules.get("datasets.utils.tqdm")
    if datasets_bars is not None:
        return bool(datasets_bars.are_progress_bars_disabled())
    return os.environ.get("HF_DATASETS_DISABLE_PROGRESS_BARS", "").upper() in {"1", "ON", "YES", "TRUE"}


def huggingface_bars_shown() -> bool:
    """Whether the Hugging Face switches leave progress bars on: huggingface_hub's (HF_HUB_DISABLE_PROGRESS_BARS,
    `disable_progress_bars()`) and, once transformers is imported, its `disable_progress_bar()` (a download of
    `citrus data` need not import transformers to ask: its switch starts as the hub's)."""
    from huggingface_hub import utils as hub_utils

    transformers_logging = sys.modules.get("transformers.utils.logging")
    if transformers_logging is not None and not transformers_logging.is_progress_bar_enabled():
        return False
    return not hub_utils.are_progress_bars_disabled()


def _hub_bar_states() -> dict[str, bool] | None:
    """huggingface_hub's progress-bar switches: the global one and those of named groups (`disable_progress_bars(name)`)
    live in one module dict, which no public getter returns whole; None if a release keeps them elsewhere."""
    from huggingface_hub import utils as hub_utils

    states = getattr(sys.modules.get(hub_utils.are_progress_bars_disabled.__module__), "progress_bar_states", None)
    return states if isinstance(states, dict) else None


@contextlib.contextmanager
def progress_bar_switches_kept() -> Iterator[None]:
    """transformers' and huggingface_hub's progress-bar switches as they are now, put back exactly on exit, whatever
    the block turned on or off. transformers' `enable_progress_bar()` also turns on every huggingface_hub bar (and its
    `disable_progress_bar()` clears the hub's per-group settings), so restoring transformers' switch alone re-enabled
    the hub bars a user had turned off."""
    from huggingface_hub import utils as hub_utils
    from transformers.utils import logging as transformers_logging

    transformers_shown = transformers_logging.is_progress_bar_enabled()
    hub_states = _hub_bar_states()
    saved_states = None if hub_states is None else dict(hub_states)
    hub_disabled = hub_utils.are_progress_bars_disabled()
    try:
        yield
    finally:
        if transformers_logging.is_progress_bar_enabled() != transformers_shown:
            (
                transformers_logging.enable_progress_bar
                if transformers_shown
                else transformers_logging.disable_progress_bar
            )()
        if hub_states is not None and saved_states is not None:
            hub_states.clear()
            hub_states.update(saved_states)
        elif hub_utils.are_progress_bars_disabled() != hub_disabled:
            (hub_utils.disable_progress_bars if hub_disabled else hub_utils.enable_progress_bars)()
