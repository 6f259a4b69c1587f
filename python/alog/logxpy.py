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
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from alog import _json
from alog._alog import ClosedError, Logger, Stats

__all__ = ["QueuePolicy", "AsyncConfig", "AsyncMetrics", "DestinationMetrics", "AsyncWriter"]

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
    #: Records some destination failed to take (the others still got them; see
    #: ``AsyncWriter.destination_metrics``).
    errors: int = 0
    pending: int = 0

    @classmethod
    def from_stats(cls, s: Stats) -> "AsyncMetrics":
        return cls(s.submitted, s.written, s.dropped, s.failed, s.pending)

    def __add__(self, o: "AsyncMetrics") -> "AsyncMetrics":
        return AsyncMetrics(self.enqueued + o.enqueued, self.written + o.written,
                            self.dropped + o.dropped, self.errors + o.errors, self.pending + o.pending)


@dataclass
class DestinationMetrics:
    """One destination's counters (the engine's statistics of its sink): records handed to
    it, written by it, dropped by its lane, and failed (it raised)."""

    destination: Destination
    taken: int = 0
    written: int = 0
    dropped: int = 0
    errors: int = 0

    def _add(self, s: dict) -> None:
        self.taken += s["taken"]
        self.written += s["written"]
        self.dropped += s["dropped"]
        self.errors += s["failed"]


def _nowhere(batch: bytes) -> None:
    """The sink of a writer without destinations: records are taken and go nowhere."""


class AsyncWriter:
    """Writes records as JSON lines to destinations from the engine's writer thread.

    Each destination is a sink of the engine's logger, with its own lane and counters
    (``destination_metrics``); adding or removing a destination while the writer runs
    reopens that logger: what was queued is delivered to the old set of destinations first,
    and the new set receives nothing before that, so order is kept.
    """

    def __init__(self, config: Optional[AsyncConfig] = None) -> None:
        self.config = config if config is not None else AsyncConfig()
        self._lock = threading.RLock()
        self._destinations: Tuple[Destination, ...] = ()
        self._log: Optional[Logger] = None
        self._log_destinations: Tuple[Destination, ...] = ()
        self._done = AsyncMetrics()
        self._done_per_destination: Dict[int, DestinationMetrics] = {}
        self.last_destination_error: Optional[BaseException] = None

    def _open(self, after: Optional[threading.Event] = None) -> None:
        """Opens the engine logger for the current destinations; their deliveries wait for
        ``after`` (the previous logger's last delivery)."""
        dests = self._destinations
        self._log = Logger(
            None,
            on_batch=[self._sink(d, after) for d in dests] or [_nowhere],
            format="text",
            pattern="{msg}",
            level="trace",
            **self.config.engine_config(),
        )
        self._log_destinations = dests

    def _sink(self, dest: Destination, after: Optional[threading.Event]) -> Callable[[bytes], None]:
        def deliver(batch: bytes) -> None:
            if after is not None and not after.is_set():
                after.wait()
            try:
                dest(batch)
            except Exception as e:  # counted by the engine as this sink's failure
                self.last_destination_error = e
                raise
        return deliver

    def _retire(self, log: Logger, dests: Tuple[Destination, ...], timeout: Optional[float]) -> None:
        """Closes a logger and keeps its counters."""
        try:
            log.close(timeout)
        finally:
            self._done = self._done + AsyncMetrics.from_stats(log.stats())
            for d, s in zip(dests, log.sink_stats()):
                self._done_per_destination.setdefault(id(d), DestinationMetrics(d))._add(s)

    def _reopen(self) -> None:
        if self._log is None:
            return
        old, old_dests, gate = self._log, self._log_destinations, threading.Event()
        self._open(after=gate)
        try:
            self._retire(old, old_dests, None)
        finally:
            gate.set()

    def start(self) -> "AsyncWriter":
        """Starts the writer (a no-op when it runs); returns self."""
        with self._lock:
            if self._log is None:
                self._open()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Writes everything queued (waiting up to ``timeout`` seconds) and stops the writer."""
        with self._lock:
            log, self._log = self._log, None
            if log is not None:
                self._retire(log, self._log_destinations, timeout)

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
        line = _json.dumps(record, ensure_ascii=True, separators=(",", ":"), default=str)
        while True:
            log = self._log
            if log is None:
                raise RuntimeError("AsyncWriter is not running: call start() first")
            try:
                return log.write(line)
            except ClosedError:
                if self._log is log or self._log is None:
                    raise
                # the destinations changed meanwhile: the record goes to the new logger

    def add_destination(self, dest: Destination) -> None:
        """Adds a callable receiving each batch's lines as bytes."""
        if not callable(dest):
            raise TypeError(f"a destination must be callable, not {type(dest).__name__}")
        with self._lock:
            self._destinations = self._destinations + (dest,)
            self._reopen()

    def remove_destination(self, dest: Destination) -> None:
        """Removes a destination added before (ValueError if it was not)."""
        with self._lock:
            d = list(self._destinations)
            d.remove(dest)
            self._destinations = tuple(d)
            self._reopen()

    @property
    def destinations(self) -> List[Destination]:
        return list(self._destinations)

    @property
    def metrics(self) -> AsyncMetrics:
        """Overall: ``written`` counts records every destination took, ``errors`` records
        some destination failed to take (``destination_metrics`` says which)."""
        log = self._log
        live = AsyncMetrics.from_stats(log.stats()) if log is not None else AsyncMetrics()
        return self._done + live

    @property
    def destination_metrics(self) -> List[DestinationMetrics]:
        """Per destination (current and removed ones), from the engine's sink statistics."""
        with self._lock:
            out = {k: dataclasses.replace(m) for k, m in self._done_per_destination.items()}
            log = self._log
            if log is not None:
                for d, st in zip(self._log_destinations, log.sink_stats()):
                    out.setdefault(id(d), DestinationMetrics(d))._add(st)
            return list(out.values())

    def __enter__(self) -> "AsyncWriter":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
