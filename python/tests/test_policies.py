"""Each overflow policy's exact accounting, with the writer held inside a sink; blocking
releases the interpreter lock."""

from __future__ import annotations

import threading
import time

import pytest

import alog
from conftest import stalled


def settle(log, sink, expected_lines):
    sink.release()
    log.close()
    s = log.stats()
    assert s.pending == 0 and s.submitted == s.written + s.dropped + s.failed
    assert sink.seen == expected_lines
    return s


def test_drop_newest_keeps_the_oldest_and_counts_the_rest():
    log, sink = stalled(queue_capacity=4, overflow="drop_newest")
    for i in range(10):
        log.info(f"m{i}")
    s = log.stats()
    assert (s.submitted, s.dropped, s.pending, s.written) == (11, 6, 5, 0)
    s = settle(log, sink, ["stall", "m0", "m1", "m2", "m3"])
    assert (s.written, s.dropped) == (5, 6)


def test_drop_oldest_keeps_the_newest_and_counts_the_rest():
    log, sink = stalled(queue_capacity=4, overflow="drop_oldest")
    for i in range(10):
        log.info(f"m{i}")
    s = log.stats()
    assert (s.submitted, s.dropped, s.pending) == (11, 6, 5)
    s = settle(log, sink, ["stall", "m6", "m7", "m8", "m9"])
    assert (s.written, s.dropped) == (5, 6)


def test_warn_drops_counts_and_tells_stderr(capfd):
    log, sink = stalled(queue_capacity=4, overflow="warn")
    for i in range(10):
        log.info(f"m{i}")
    assert log.stats().dropped == 6
    s = settle(log, sink, ["stall", "m0", "m1", "m2", "m3"])
    assert (s.written, s.dropped) == (5, 6)
    err = capfd.readouterr().err
    assert "6" in err and "dropped" in err, err


def test_write_reports_each_drop():
    log, sink = stalled(queue_capacity=2, overflow="drop_newest")
    assert [log.write(f"m{i}") for i in range(4)] == [True, True, False, False]
    settle(log, sink, ["stall", "m0", "m1"])


def test_block_timeout_drops_after_waiting_and_counts():
    log, sink = stalled(queue_capacity=2, overflow="block", block_timeout_ms=100)
    log.info("m0")
    log.info("m1")
    start = time.monotonic()
    assert log.write("late") is False
    assert time.monotonic() - start >= 0.09
    s = log.stats()
    assert (s.submitted, s.dropped, s.pending) == (4, 1, 3)
    s = settle(log, sink, ["stall", "m0", "m1"])
    assert (s.written, s.dropped) == (3, 1)


def test_block_waits_without_the_interpreter_lock_then_delivers_everything():
    log, sink = stalled(queue_capacity=2, overflow="block")
    done = []

    def producer():
        for i in range(6):
            log.info(f"m{i}")
        done.append(True)

    t = threading.Thread(target=producer)
    t.start()
    # The producer is blocked on the full queue; this thread keeps running Python meanwhile.
    deadline = time.monotonic() + 5
    while log.stats().queue_len < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    spins = sum(1 for _ in range(100_000))
    assert spins == 100_000 and not done
    time.sleep(0.1)
    assert not done
    s = log.stats()
    assert s.dropped == 0 and s.queue_len == 2
    sink.release()
    t.join(10)
    assert done == [True]
    s = settle(log, sink, ["stall"] + [f"m{i}" for i in range(6)])
    assert (s.submitted, s.written, s.dropped) == (7, 7, 0)


def test_flush_releases_the_interpreter_lock_and_times_out():
    log, sink = stalled(queue_capacity=8)
    log.info("queued")
    ticks = []
    t = threading.Thread(target=lambda: [ticks.append(time.sleep(0.01)) for _ in range(10)])
    t.start()
    with pytest.raises(TimeoutError):
        log.flush(timeout=0.3)
    t.join()
    assert len(ticks) == 10
    settle(log, sink, ["stall", "queued"])


def test_failing_python_sink_counts_failed_and_keeps_the_file(tmp_path):
    def broken(batch):
        raise RuntimeError("sink down")

    p = tmp_path / "a.log"
    with alog.Logger(p, on_batch=broken) as log:
        for i in range(5):
            log.info(f"m{i}")
    s = log.stats()
    assert (s.submitted, s.written, s.failed) == (5, 0, 5)
    assert "sink down" in log.last_error()
    assert len(p.read_text().splitlines()) == 5
