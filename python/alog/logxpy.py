"""The logxpy async writer API on the alog engine.

Names and defaults are those of logxpy's first async release: ``QueuePolicy``,
``AsyncConfig``, ``AsyncMetrics`` and ``AsyncWriter``. The queue, batching, overflow policies,
ordering and accounting are the engine's; this module maps the names:

=====================  =========================================
logxpy                 engine configuration
=====================  =========================================
``max_queue_size``     ``queue_capacity``
``batch_size``         ``batch_size``
``flush_interval_ms``  ``batch_timeout_ms`` (rounded up, at least 1)
``QueuePolicy.BLOCK``  ``overflow=block`` (and so on for each policy)
=====================  =========================================

Each record becomes one JSON line (``json.dumps`` with ASCII escapes, so every line is valid
JSON whatever it holds; NaN and infinities, which JSON lacks, are written as the strings
``"NaN"``, ``"+Inf"`` and ``"-Inf"``, as the engine writes its float fields); destinations
receive each batch's lines as one ``bytes``.
"""

from __future__ import annotations

import enum
import math
import threading
from dataclasses import dataclass
from typing import Any, Callable, List, Mapping, Optional, Tuple

from alog import _json
from alog._alog import Logger, Stats

__all__ = ["QueuePolicy", "AsyncConfig", "AsyncMetrics", "AsyncWriter"]

Destination = Callable[[bytes], Any]


class QueuePolicy(str, enum.Enum):
    """What ``enqueue`` does when the queue is full."""

    #: Wait for room.
    BLOCK = "block"
    #: Discard the oldest queued record to take the new one.
    DROP_OLDEST = "drop_oldest"
    #: Discard the new record (``enqueue`` returns False).
    DROP_NEWEST = "drop_newest"
    #: Discard the new record and print a notice on stderr (at most one per second).
    WARN = "warn"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class AsyncConfig:
    """The writer's settings (immutable)."""

    max_queue_size: int = 10_000
    batch_size: int = 100
    flush_interval_ms: float = 100.0
    queue_policy: QueuePolicy = QueuePolicy.BLOCK
    #: logxpy serialized in ``enqueue`` when True and on its writer thread when False. The
    #: engine's queue holds bytes, so records are always serialized in ``enqueue`` here; the
    #: field is kept so that logxpy configurations keep working.
    pre_serialize: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.queue_policy, str) and not isinstance(self.queue_policy, QueuePolicy):
            try:
                object.__setattr__(self, "queue_policy", QueuePolicy(self.queue_policy.lower()))
            except ValueError:
                names = "|".join(p.name for p in QueuePolicy)
                raise ValueError(f"invalid queue_policy {self.queue_policy!r}: expected {names}") from None
        if not isinstance(self.queue_policy, QueuePolicy):
            raise TypeError(f"queue_policy must be a QueuePolicy, not {type(self.queue_policy).__name__}")
        if not (isinstance(self.flush_interval_ms, (int, float)) and self.flush_interval_ms > 0):
            raise ValueError(f"flush_interval_ms must be a positive number, not {self.flush_interval_ms!r}")

    def engine_config(self) -> dict:
        """The engine configuration these settings stand for."""
        return {
            "queue_capacity": self.max_queue_size,
            "batch_size": self.batch_size,
            "batch_timeout_ms": max(1, math.ceil(self.flush_interval_ms)),
            "overflow": self.queue_policy.value,
            # Destinations hold only the batch being delivered, so that max_queue_size bounds
            # what waits, as in logxpy (the engine's default lane backlog would add 4 MiB).
            "callback.backlog": 0,
        }


@dataclass
class AsyncMetrics:
    """Counters: ``enqueued == written + dropped + errors + pending`` in every snapshot."""

    enqueued: int = 0
    written: int = 0
    dropped: int = 0
    #: Records a destination failed to take (the other destinations still got them).
    errors: int = 0
    pending: int = 0

    @classmethod
    def from_stats(cls, s: Stats) -> "AsyncMetrics":
        return cls(s.submitted, s.written, s.dropped, s.failed, s.pending)

    def __add__(self, o: "AsyncMetrics") -> "AsyncMetrics":
        return AsyncMetrics(self.enqueued + o.enqueued, self.written + o.written,
                            self.dropped + o.dropped, self.errors + o.errors, self.pending + o.pending)


class AsyncWriter:
    """Writes records as JSON lines to destinations from the engine's writer thread."""

    def __init__(self, config: Optional[AsyncConfig] = None) -> None:
        self.config = config if config is not None else AsyncConfig()
        self._lock = threading.Lock()
        self._destinations: Tuple[Destination, ...] = ()
        self._log: Optional[Logger] = None
        self._done = AsyncMetrics()
        self.last_destination_error: Optional[BaseException] = None

    def start(self) -> "AsyncWriter":
        """Starts the writer (a no-op when it runs); returns self."""
        with self._lock:
            if self._log is None:
                self._log = Logger(
                    None,
                    on_batch=self._deliver,
                    format="text",
                    pattern="{msg}",
                    level="trace",
                    **self.config.engine_config(),
                )
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Writes everything queued (waiting up to ``timeout`` seconds) and stops the writer."""
        with self._lock:
            log, self._log = self._log, None
        if log is not None:
            try:
                log.close(timeout)
            finally:
                self._done = self._done + AsyncMetrics.from_stats(log.stats())

    def flush(self, timeout: Optional[float] = None) -> None:
        """Returns when every record enqueued before the call has been delivered."""
        log = self._log
        if log is not None:
            log.flush(timeout)

    @property
    def is_running(self) -> bool:
        return self._log is not None

    def enqueue(self, record: Mapping[str, Any]) -> bool:
        """Queues ``record`` as one JSON line. Returns False when the queue policy dropped it
        (counted in ``metrics.dropped``). Under ``BLOCK`` waits for room (Ctrl-C interrupts)."""
        log = self._log
        if log is None:
            raise RuntimeError("AsyncWriter is not running: call start() first")
        line = _json.dumps(record, ensure_ascii=True, separators=(",", ":"), default=str)
        return log.write(line)

    def add_destination(self, dest: Destination) -> None:
        """Adds a callable receiving each batch's lines as bytes."""
        if not callable(dest):
            raise TypeError(f"a destination must be callable, not {type(dest).__name__}")
        with self._lock:
            self._destinations = self._destinations + (dest,)

    def remove_destination(self, dest: Destination) -> None:
        """Removes a destination added before (ValueError if it was not)."""
        with self._lock:
            d = list(self._destinations)
            d.remove(dest)
            self._destinations = tuple(d)

    @property
    def destinations(self) -> List[Destination]:
        return list(self._destinations)

    @property
    def metrics(self) -> AsyncMetrics:
        log = self._log
        live = AsyncMetrics.from_stats(log.stats()) if log is not None else AsyncMetrics()
        return self._done + live

    def _deliver(self, batch: bytes) -> None:
        failed: Optional[BaseException] = None
        for dest in self._destinations:
            try:
                dest(batch)
            except Exception as e:  # one failing destination must not stop the others
                failed = e
        if failed is not None:
            self.last_destination_error = failed
            raise failed

    def __enter__(self) -> "AsyncWriter":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
