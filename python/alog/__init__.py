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
import contextvars
import functools
import inspect
import logging
import os
from typing import Any, Callable, Iterator, Optional

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
    use_scoped_fields as _use_scoped_fields,
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


#: The fields of `Logger.contextualize` blocks around the current code (None: none).
_context: "contextvars.ContextVar[Optional[dict]]" = contextvars.ContextVar("alog_context", default=None)


@contextlib.contextmanager
def _contextualize(fields: dict) -> Iterator[None]:
    _use_scoped_fields()
    outer = _context.get()
    token = _context.set({**outer, **fields} if outer else dict(fields))
    try:
        yield
    finally:
        _context.reset(token)


class _Catch:
    """`Logger.catch(exception=Exception, *, level="error", reraise=False, message=...,
    onerror=None, default=None)`: a context manager and decorator (functions and coroutine
    functions) logging what escapes with its traceback (field ``exception``)."""

    def __init__(self, logger: Logger, exception: Any = Exception, *, level: Any = "error",
                 reraise: bool = False, message: str = "An error has been caught",
                 onerror: Optional[Callable[[BaseException], Any]] = None, default: Any = None) -> None:
        self._fn = None
        if callable(exception) and not (isinstance(exception, type) and issubclass(exception, BaseException)) \
                and not isinstance(exception, tuple):
            self._fn, exception = exception, Exception  # @log.catch without parentheses
        self.logger, self.exception, self.level = logger, exception, level
        self.reraise, self.message, self.onerror, self.default = reraise, message, onerror, default
        if self._fn is not None:
            self._wrapped = self._decorate(self._fn)
            functools.update_wrapper(self, self._fn)

    def __enter__(self) -> "_Catch":
        return self

    def __exit__(self, t: Any, v: Any, tb: Any) -> bool:
        return self._handle(t, v, tb, self.message)

    def _handle(self, t: Any, v: Any, tb: Any, message: str) -> bool:
        if t is None or not issubclass(t, self.exception):
            return False
        self.logger.log(self.level, message, exc_info=(t, v, tb))
        if self.onerror is not None:
            self.onerror(v)
        return not self.reraise

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._fn is not None:
            return self._wrapped(*args, **kwargs)
        return self._decorate(args[0])

    def _decorate(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        message = f"{self.message} in function '{getattr(fn, '__qualname__', fn)}'"
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def awrapper(*a: Any, **kw: Any) -> Any:
                try:
                    return await fn(*a, **kw)
                except BaseException as e:
                    if not self._handle(type(e), e, e.__traceback__, message):
                        raise
                    return self.default
            return awrapper

        @functools.wraps(fn)
        def wrapper(*a: Any, **kw: Any) -> Any:
            try:
                return fn(*a, **kw)
            except BaseException as e:
                if not self._handle(type(e), e, e.__traceback__, message):
                    raise
                return self.default
        return wrapper


class _Opt:
    """`Logger.opt(lazy=False, exception=False)`: the logger's level methods, where with
    ``lazy`` every callable argument (positional or keyword) is called only when the level is
    enabled, and with ``exception`` the traceback being handled is added."""

    def __init__(self, logger: Logger, *, lazy: bool = False, exception: Any = False) -> None:
        self._logger, self._lazy, self._exception = logger, lazy, exception

    def log(self, level: Any, msg: Any, *args: Any, **fields: Any) -> None:
        lg = self._logger
        if not lg.enabled(level):
            return
        if self._lazy:
            args = tuple(a() if callable(a) else a for a in args)
            fields = {k: v() if callable(v) else v for k, v in fields.items()}
        if self._exception and "exc_info" not in fields:
            fields["exc_info"] = self._exception
        lg.log(level, msg, *args, **fields)

    def _at(level: int) -> Callable[..., None]:  # type: ignore[misc]  # noqa: N805
        def method(self: "_Opt", msg: Any, *args: Any, **fields: Any) -> None:
            self.log(level, msg, *args, **fields)
        return method

    trace = _at(5)
    debug = _at(logging.DEBUG)
    info = _at(logging.INFO)
    warning = warn = _at(logging.WARNING)
    error = _at(logging.ERROR)
    critical = fatal = _at(logging.CRITICAL)
    del _at


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


def _logging_level_names() -> str:
    """The engine's ``level_names`` for `logging`'s names (``logging.getLevelName``, as
    ``logging.addLevelName`` set them when the handler is made): each named Python level names
    the engine level it maps to (30 is WARN: "WARNING"; 25 is INFO3: a name added for 25)."""
    names = {}
    for n, name in sorted(getattr(logging, "_levelToName", {}).items()):
        if isinstance(n, int) and n > 0 and 0 < len(name) <= 32 and all(
                c.isascii() and c.isprintable() and c not in ' "=\\' for c in name):
            names[_engine_level(n)] = name
    return ",".join(f"{level}={name}" for level, name in names.items())


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
        config.setdefault("level_names", _logging_level_names())
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
