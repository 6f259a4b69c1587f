"""alog: asynchronous logging on one Rust engine.

``alog.Logger`` is the native logger, ``alog.Handler`` a ``logging.Handler`` for the standard
library (it works from ``logging.config.dictConfig``), and ``alog.logxpy`` the logxpy async
writer API. Records are copied into the engine's queue and written by its ``alog-writer``
thread; every record ends up written, dropped by the overflow policy you chose (and counted),
or failed (and counted).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
from typing import Any, Iterator, Optional

from alog._alog import (
    ClosedError,
    HandleFn as _HandleFn,
    Error,
    Logger,
    Stats,
    __version__,
    close_python_sinks as _close_python_sinks,
    engine_level as _engine_level,
    flush_all as _flush_all,
    after_fork_in_child as _after_fork_in_child,
    after_fork_in_parent as _after_fork_in_parent,
    before_fork as _before_fork,
)

__all__ = [
    "TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL",
    "Logger", "Handler", "Stats", "Error", "ClosedError", "sync_mode", "__version__",
]

#: Python level numbers; the engine maps them to its own (TRACE=1, DEBUG=5 ... FATAL=21).
TRACE = 5
DEBUG = logging.DEBUG
INFO = logging.INFO
WARNING = logging.WARNING
ERROR = logging.ERROR
CRITICAL = logging.CRITICAL

if logging.getLevelName(TRACE) == f"Level {TRACE}":
    logging.addLevelName(TRACE, "TRACE")

# Loggers whose sinks are Python callables need the interpreter on their writer thread:
# close them while it still runs, and let no writer wait for it across a fork (the engine's
# own fork handler takes the sinks' lock in the forking thread, which holds the interpreter).
atexit.register(_close_python_sinks)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)

#: How long a multiprocessing child's exit waits for each open logger.
_CHILD_EXIT_FLUSH_SECONDS = 2.0


def _install_child_exit_flush() -> None:
    """multiprocessing children end with os._exit(), which skips the engine's exit flush:
    flush open loggers from a multiprocessing finalizer instead, in every child process."""
    import multiprocessing
    import multiprocessing.util as mpu

    def register(_: object = None) -> None:
        mpu.Finalize(None, _flush_all, args=(_CHILD_EXIT_FLUSH_SECONDS,), exitpriority=0)

    mpu.register_after_fork(_install_child_exit_flush, register)
    if multiprocessing.parent_process() is not None:
        register()


_install_child_exit_flush()


@contextlib.contextmanager
def sync_mode() -> Iterator[None]:
    """Loggers opened inside the block write on the calling thread (``ALOG_SYNC=1``).

    The engine reads ``ALOG_SYNC`` when a logger opens; this sets it for the block and
    restores the previous value afterwards. Not meant for use from several threads at once.
    """
    old = os.environ.get("ALOG_SYNC")
    os.environ["ALOG_SYNC"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("ALOG_SYNC", None)
        else:
            os.environ["ALOG_SYNC"] = old


class Handler(logging.Handler):
    """A ``logging.Handler`` writing through an alog engine logger.

    ``Handler(path, **config)`` takes the engine's configuration keys, exactly as
    ``alog.Logger``; from ``dictConfig``::

        {"class": "alog.Handler", "path": "app.log", "format": "json", "level": "INFO"}

    The record's logger name, module, thread, source location (file, line, function),
    traceback, stack and ``extra`` attributes travel as fields. With a ``formatter`` the
    formatted text (traceback included) is the message. The engine is thread-safe, so the
    handler takes no lock of its own.
    """

    def __init__(self, path: Optional[str] = None, level: Any = logging.NOTSET, **config: Any) -> None:
        super().__init__(logging.NOTSET)
        # The logging level filters before the handler is called; the engine takes everything
        # it lets through unless an engine `level` is configured.
        config.setdefault("level", "trace")
        self.alog = Logger(path, **config)
        self._emit = self.alog._emit_record
        # `handle` below, in native code: logging looks the instance attribute up first.
        self.handle = _HandleFn(self.alog, self)  # type: ignore[method-assign]
        if level != logging.NOTSET:
            self.setLevel(level)

    def createLock(self) -> None:  # noqa: N802 - logging's name
        self.lock = None

    def acquire(self) -> None:
        pass

    def release(self) -> None:
        pass

    def setLevel(self, level: Any) -> None:  # noqa: N802 - logging's name
        super().setLevel(level)
        if self.level != logging.NOTSET:
            self.alog.set_level(self.level)

    def handle(self, record: logging.LogRecord) -> Any:
        """Filters, then writes (the instance's native `handle` does the same)."""
        rv = self.filter(record) if self.filters else True
        if rv:
            self.emit(rv if isinstance(rv, logging.LogRecord) else record)
        return rv

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._emit(record, self.formatter)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def flush(self, timeout: Optional[float] = None) -> None:
        if not self.alog.closed:
            self.alog.flush(timeout)

    def close(self) -> None:
        try:
            self.alog.close()
        finally:
            super().close()

    def stats(self) -> Stats:
        return self.alog.stats()
