"""asyncio on the alog engine: the batch ``LogWriter`` of an asyncio application.

``LogWriter`` is the writer of an asyncio service that logs one entry per request and must not
wait for its (possibly slow, possibly remote) storage::

    writer = alog.aio.LogWriter("logs/requests.log", batch_size=10, batch_timeout=1.0,
                                rotate_interval="daily", compress="gzip",
                                encryption_key=os.environ["LOG_KEY"])
    await writer.start()
    await writer.write({"msg": "GET /api", "level": "info", "status": 200, "ms": 12.5})
    await writer.stop()                 # or: async with LogWriter(...) as writer:

The queue, the batches (``batch_size`` entries or ``batch_timeout`` seconds, whichever comes
first), the file per date (``rotate_interval="daily"``: each entry goes to the file of its
own UTC date), compression, encryption and accounting are the engine's, on its writer thread:
``write`` only copies the entry into the queue. When the queue is full, ``overflow`` decides:
``"block"`` (the default) makes ``write`` wait for room *without blocking the event loop* (the
entry is handed to a helper thread and ``write`` awaits it; entries keep their order),
``"warn"`` drops the entry with a rate-limited notice on stderr (the seed's "queue full: warn
and drop"), ``"drop_newest"``/``"drop_oldest"`` drop silently; a dropped entry makes ``write``
return False and is counted in ``stats().dropped``.

``alog.Logger`` itself has ``await logger.aflush()`` and ``await logger.aclose()``.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import logging
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Deque, Mapping, Optional, Tuple, Union

from alog._alog import ClosedError, Logger, Stats

__all__ = ["LogWriter"]

_log = logging.getLogger("alog.aio")

Entry = Union[str, Mapping[str, Any]]
_Submit = Tuple[Any, str, Optional[dict], Optional[int]]


def _timestamp_ns(ts: Any) -> int:
    if isinstance(ts, datetime.datetime):
        return int(round(ts.timestamp() * 1e6)) * 1000
    if isinstance(ts, (int, float)) and not isinstance(ts, bool) and math.isfinite(ts):
        return int(round(ts * 1e6)) * 1000
    raise TypeError(f"an entry's ts is a datetime or seconds since the epoch, not {ts!r}")


def _entry(entry: Entry) -> _Submit:
    """(level, message, fields, timestamp) of an entry: a str is an INFO message; in a mapping
    ``msg`` (or ``message``), ``level`` and ``ts`` (a datetime or seconds since the epoch)
    are the record's own and every other item is a field."""
    if isinstance(entry, str):
        return logging.INFO, entry, None, None
    if not isinstance(entry, Mapping):
        raise TypeError(f"an entry is a str or a mapping, not {type(entry).__name__}")
    fields = dict(entry)
    msg = fields.pop("msg", None)
    if msg is None:
        msg = fields.pop("message", "")
    level = fields.pop("level", logging.INFO)
    ts = fields.pop("ts", None)
    return (level, msg if isinstance(msg, str) else str(msg), fields or None,
            None if ts is None else _timestamp_ns(ts))


def _key_hex(key: Union[str, bytes]) -> str:
    if isinstance(key, (bytes, bytearray)):
        if len(key) != 32:
            raise ValueError(f"encryption_key: 32 bytes expected, got {len(key)}")
        return bytes(key).hex()
    if isinstance(key, str):
        digits = "".join(key.split())
        if len(digits) == 64 and all(c in "0123456789abcdefABCDEF" for c in digits):
            return digits
    raise ValueError("encryption_key: 64 hex digits or 32 bytes expected (a 32-byte key)")


def _open(path: Any, encryption_key: Optional[Union[str, bytes]], config: dict) -> Logger:
    """Opens the engine logger; a key given as a value reaches the engine through a private
    environment variable that exists only while the logger opens (the engine reads the key
    once, at open)."""
    if encryption_key is None:
        return Logger(path, **config)
    var = f"ALOG_AIO_KEY_{os.getpid()}_{id(config):x}"
    os.environ[var] = _key_hex(encryption_key)
    try:
        return Logger(path, encryption_key_env=var, **config)
    finally:
        del os.environ[var]


def _report_write_error(exc: BaseException) -> None:
    _log.error("log write failed, processing continues: %s", exc)


def _resolve(fut: "asyncio.Future[bool]", result: Optional[bool], exc: Optional[BaseException]) -> None:
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(bool(result))


class LogWriter:
    """Batches entries to ``path`` (and any sink the configuration adds) from asyncio.

    ``batch_size`` (entries) and ``batch_timeout`` (seconds) set when a batch is written;
    ``encryption_key`` (64 hex digits or 32 bytes) encrypts the files; every other keyword is
    an engine configuration key (``rotate_interval``, ``compress``, ``queue_capacity``,
    ``overflow``, ``encryption_key_env``, ``file.NAME.path``, ``on_batch``, ``on_error``...).
    Entries are written as JSON lines unless ``format`` says otherwise. Write failures are
    logged on the ``alog.aio`` logger (unless ``on_error`` is given) and the writer goes on.
    """

    def __init__(self, path: Any = None, *, batch_size: int = 10, batch_timeout: float = 1.0,
                 encryption_key: Optional[Union[str, bytes]] = None, **config: Any) -> None:
        if not (isinstance(batch_timeout, (int, float)) and math.isfinite(batch_timeout)
                and batch_timeout > 0):
            raise ValueError(f"batch_timeout must be a positive number of seconds, not {batch_timeout!r}")
        config.setdefault("format", "json")
        config.setdefault("level", "trace")
        config.setdefault("on_error", _report_write_error)
        config["batch_size"] = batch_size
        config["batch_timeout_ms"] = max(1, math.ceil(batch_timeout * 1000))
        if encryption_key is not None:
            _key_hex(encryption_key)  # a bad key fails here, not at start()
        self.path = path
        self.batch_size = batch_size
        self.batch_timeout = batch_timeout
        self._config = config
        self._key = encryption_key
        self._logger: Optional[Logger] = None
        self._executor: Optional[ThreadPoolExecutor] = None
        # Entries waiting for room, in order, and whether the helper thread is taking them.
        self._waiting: Deque[Tuple[_Submit, "asyncio.Future[bool]", asyncio.AbstractEventLoop]] = collections.deque()
        self._lock = threading.Lock()
        self._draining = False
        self._drainer: Optional["asyncio.Future[None]"] = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> "LogWriter":
        """Opens the files and starts the engine's writer (a no-op when running)."""
        if self._logger is None:
            loop = asyncio.get_running_loop()
            self._logger = await loop.run_in_executor(None, _open, self.path, self._key, self._config)
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alog-aio")
            _log.debug("Log writer started (batch_size=%s, timeout=%ss)", self.batch_size, self.batch_timeout)
        return self

    async def stop(self, timeout: Optional[float] = None) -> None:
        """Writes everything written so far (entries waiting for room included), closes the
        files and stops the writer, without blocking the event loop. ``timeout`` in seconds
        (None: no limit) raises ``TimeoutError`` when it passes."""
        log = self._logger
        if log is None:
            return
        await self._waited_for_room()
        _log.debug("Flushing %d remaining log entries", log.stats().pending)
        self._logger = None
        try:
            await log.aclose(timeout)
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=False)
                self._executor = None

    async def __aenter__(self) -> "LogWriter":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    @property
    def is_running(self) -> bool:
        return self._logger is not None

    @property
    def logger(self) -> Logger:
        """The engine logger (``stats()``, ``last_error()``, ``reopen()``...)."""
        return self._running()

    def stats(self) -> Stats:
        return self._running().stats()

    # -- writing ---------------------------------------------------------------------------

    async def write(self, entry: Entry) -> bool:
        """Queues ``entry`` (a str, or a mapping whose ``msg``/``level``/``ts`` are the record's
        and the rest its fields). True: queued; False: below the level or dropped by the
        overflow policy (counted). Under ``overflow="block"`` with the queue full, awaits room
        while the event loop runs on."""
        log = self._running()
        sub = _entry(entry)
        if not self._draining:  # nobody is waiting for room: no one to overtake
            r = log._submit(*sub, wait=False)
            if r is not None:
                return r
        loop = asyncio.get_running_loop()
        fut: "asyncio.Future[bool]" = loop.create_future()
        with self._lock:
            self._waiting.append((sub, fut, loop))
            start = not self._draining
            self._draining = True
        if start:
            assert self._executor is not None
            self._drainer = loop.run_in_executor(self._executor, self._drain, log)
        return await fut

    async def flush(self, timeout: Optional[float] = None) -> None:
        """Returns when every entry written before the call is in the files (or failed)."""
        log = self._running()
        await self._waited_for_room()
        await log.aflush(timeout)

    def _running(self) -> Logger:
        log = self._logger
        if log is None:
            raise ClosedError("LogWriter is not running: await start() first")
        return log

    async def _waited_for_room(self) -> None:
        while self._draining and self._drainer is not None:
            await asyncio.shield(self._drainer)

    def _drain(self, log: Logger) -> None:
        """On the helper thread: submits the waiting entries in order, each waiting for room
        without the interpreter lock, and resolves their futures on their loops."""
        while True:
            with self._lock:
                if not self._waiting:
                    self._draining = False
                    return
                sub, fut, loop = self._waiting.popleft()
            if fut.cancelled():
                continue
            try:
                result: Tuple[Optional[bool], Optional[BaseException]] = (log._submit(*sub, wait=True), None)
            except BaseException as e:  # delivered to the awaiting coroutine
                result = (None, e)
            try:
                loop.call_soon_threadsafe(_resolve, fut, *result)
            except RuntimeError:  # the loop is closed: nobody awaits the result
                pass
