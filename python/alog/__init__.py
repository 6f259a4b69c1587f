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
    ReadError,
    Reader as _Reader,
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
    "Logger", "Handler", "Stats", "Error", "ClosedError", "ReadError", "read", "sync_mode",
    "__version__",
]

# The native exceptions live in alog._alog; naming them by their public place lets pickle
# (and so multiprocessing) find them.
for _exc in (Error, ClosedError, ReadError):
    _exc.__module__ = "alog"
del _exc

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


def read(path: "str | os.PathLike[str]", key: "str | bytes | None" = None, *,
         key_file: "str | os.PathLike[str] | None" = None, errors: str = "strict") -> Iterator[str]:
    """The lines of a log set, oldest first, without their newline: the rotated files of
    ``path`` by number, then ``path`` itself; plain, gzip, zstd or encrypted (with ``key``,
    64 hex digits or 32 bytes, or ``key_file``), as ``alog cat`` prints them.

    A damaged file (a wrong key, undecodable bytes, a torn last line) raises ``ReadError``
    after its readable lines (``errors="strict"``), warns (``"warn"``) or is passed over
    (``"ignore"``). Nothing is read before the first line is asked for.
    """
    return _Reader(os.fspath(path), _key_bytes(key), None if key_file is None else os.fspath(key_file), errors)


def _key_bytes(key: "str | bytes | None") -> "bytes | None":
    if key is None or isinstance(key, (bytes, bytearray)) and len(key) == 32:
        return None if key is None else bytes(key)
    if isinstance(key, str):
        try:
            b = bytes.fromhex("".join(key.split()))
        except ValueError:
            b = b""
        if len(b) == 32:
            return b
    raise ValueError("key: 64 hex digits or 32 bytes expected (a 32-byte key)")


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
        self._path, self._config = path, config
        self._open(config)
        if level != logging.NOTSET:
            self.setLevel(level)

    def _open(self, config: dict) -> None:
        self.alog = Logger(self._path, **config)
        self._emit = self.alog._emit_record
        # `handle` below, in native code: logging looks the instance attribute up first.
        self.handle = _HandleFn(self.alog, self)  # type: ignore[method-assign]

    def setFormatter(self, fmt: Optional[logging.Formatter]) -> None:  # noqa: N802 - logging's name
        """With a formatter, its text is the whole line of text output (unless a ``pattern``
        was configured) and the message of JSON output; the engine's timestamp, level and
        fields are left out of text lines. The engine logger is reopened for that."""
        had = self.formatter is not None
        super().setFormatter(fmt)
        text = str(self._config.get("format", "text")).lower() == "text"
        if text and "pattern" not in self._config and had != (fmt is not None):
            config = dict(self._config)
            if fmt is not None:
                config["pattern"] = "{msg}"
            old = self.alog
            self._open(config)
            if self.level != logging.NOTSET:
                self.alog.set_level(self.level)
            old.close()

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
        except ClosedError:
            pass  # a closed handler drops records silently, as logging's own handlers do
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
