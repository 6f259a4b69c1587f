"""The logxpy async writer API's promises: BLOCK blocks when full, every drop is counted,
order is kept, every line is valid JSON, a failing destination does not stop the others."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest

from alog.logxpy import AsyncConfig, AsyncMetrics, AsyncWriter, QueuePolicy


class Held:
    """A destination that records every batch and holds the writer in the batch holding the
    record {"hold": true} until released."""

    def __init__(self):
        self.batches = []
        self.entered = threading.Event()
        self.gate = threading.Event()

    def __call__(self, batch):
        self.batches.append(batch)
        if b'"hold":true' in batch and not self.gate.is_set():
            self.entered.set()
            assert self.gate.wait(60)

    def records(self):
        return [json.loads(line) for b in self.batches for line in b.decode().splitlines()]


def held_writer(size, policy):
    dest = Held()
    w = AsyncWriter(AsyncConfig(max_queue_size=size, batch_size=1, queue_policy=policy)).start()
    w.add_destination(dest)
    assert w.enqueue({"hold": True})
    assert dest.entered.wait(10)
    return w, dest


def test_names_and_defaults():
    assert [p.name for p in QueuePolicy] == ["BLOCK", "DROP_OLDEST", "DROP_NEWEST", "WARN"]
    c = AsyncConfig()
    assert (c.max_queue_size, c.batch_size, c.flush_interval_ms, c.queue_policy, c.pre_serialize) == (
        10_000, 100, 100.0, QueuePolicy.BLOCK, True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.batch_size = 5
    assert AsyncConfig(queue_policy="drop_oldest").queue_policy is QueuePolicy.DROP_OLDEST
    with pytest.raises(ValueError, match="invalid queue_policy 'sometimes'"):
        AsyncConfig(queue_policy="sometimes")
    assert c.engine_config() == {"queue_capacity": 10_000, "batch_size": 100,
                                 "batch_timeout_ms": 100, "overflow": "block",
                                 "callback.backlog": 0}
    assert [f.name for f in dataclasses.fields(AsyncMetrics)] == [
        "enqueued", "written", "dropped", "errors", "pending"]


def test_engine_rejects_bad_sizes_with_its_message():
    with pytest.raises(ValueError, match="queue_capacity: expected an integer 1..16777216"):
        AsyncWriter(AsyncConfig(max_queue_size=0)).start()


def test_order_is_kept_and_every_line_is_valid_json():
    out = []
    w = AsyncWriter(AsyncConfig(batch_size=64)).start()
    w.add_destination(out.append)
    nasty = ["plain", "quote \" backslash \\", "newline\nand\r\n", "\u2028\u2029", "\x00\x1f",
             "lone \udc80", "日本語 🎉", "</script>"]
    for i in range(20_000):
        assert w.enqueue({"i": i, "s": nasty[i % len(nasty)], "nested": {"l": [i, None, True]},
                          "obj": object()}) is True
    w.stop()
    raw = b"".join(out)
    assert raw.endswith(b"\n")
    recs = [json.loads(line) for line in raw.decode("ascii").splitlines()]
    assert [r["i"] for r in recs] == list(range(20_000))
    assert recs[5]["s"] == "lone \udc80" and recs[6]["s"] == "日本語 🎉" and recs[2]["s"] == "newline\nand\r\n"
    assert recs[0]["obj"].startswith("<object object at")
    m = w.metrics
    assert (m.enqueued, m.written, m.dropped, m.errors, m.pending) == (20_000, 20_000, 0, 0, 0)
    assert len(out) > 1 and len(out) <= 20_000


def test_block_blocks_when_full_and_loses_nothing():
    w, dest = held_writer(2, QueuePolicy.BLOCK)
    assert w.enqueue({"n": 0}) and w.enqueue({"n": 1})
    returned = threading.Event()
    t = threading.Thread(target=lambda: (w.enqueue({"n": 2}), returned.set()))
    t.start()
    assert not returned.wait(0.3)
    assert w.metrics.dropped == 0
    dest.gate.set()
    t.join(10)
    assert returned.is_set()
    w.stop()
    assert [r.get("n") for r in dest.records()] == [None, 0, 1, 2]
    assert w.metrics == AsyncMetrics(enqueued=4, written=4, dropped=0, errors=0, pending=0)


@pytest.mark.parametrize("policy,kept", [
    (QueuePolicy.DROP_NEWEST, [0, 1, 2]),
    (QueuePolicy.DROP_OLDEST, [7, 8, 9]),
    (QueuePolicy.WARN, [0, 1, 2]),
])
def test_every_drop_is_counted(policy, kept, capfd):
    w, dest = held_writer(3, policy)
    results = [w.enqueue({"n": i}) for i in range(10)]
    m = w.metrics
    assert (m.enqueued, m.dropped, m.pending) == (11, 7, 4)
    dest.gate.set()
    w.stop()
    assert [r["n"] for r in dest.records()[1:]] == kept
    assert w.metrics == AsyncMetrics(enqueued=11, written=4, dropped=7, errors=0, pending=0)
    if policy is QueuePolicy.DROP_OLDEST:
        assert all(results)
    else:
        assert results == [True] * 3 + [False] * 7
    if policy is QueuePolicy.WARN:
        assert "dropped" in capfd.readouterr().err


def test_a_failing_destination_does_not_stop_the_others():
    good1, good2 = [], []

    def bad(batch):
        raise OSError("disk gone")

    w = AsyncWriter(AsyncConfig(batch_size=10)).start()
    w.add_destination(good1.append)
    w.add_destination(bad)
    w.add_destination(good2.append)
    for i in range(100):
        w.enqueue({"i": i})
    w.stop()
    expected = "".join(f'{{"i":{i}}}\n' for i in range(100)).encode()
    assert b"".join(good1) == expected and b"".join(good2) == expected
    m = w.metrics
    assert (m.enqueued, m.written, m.errors, m.dropped, m.pending) == (100, 0, 100, 0, 0)
    assert isinstance(w.last_destination_error, OSError)


def test_remove_destination_and_restart():
    a, b = [], []
    w = AsyncWriter(AsyncConfig(batch_size=1))
    with pytest.raises(RuntimeError, match="not running"):
        w.enqueue({"x": 1})
    w.add_destination(a.append)
    w.add_destination(b.append)
    assert w.start() is w and w.start() is w and w.is_running
    w.enqueue({"x": 1})
    w.flush()
    w.remove_destination(b.append)
    with pytest.raises(ValueError):
        w.remove_destination(b.append)
    with pytest.raises(TypeError, match="must be callable"):
        w.add_destination(42)
    w.enqueue({"x": 2})
    w.stop()
    assert not w.is_running
    w.stop()
    w.start()
    w.enqueue({"x": 3})
    w.stop()
    assert b"".join(a) == b'{"x":1}\n{"x":2}\n{"x":3}\n'
    assert b"".join(b) == b'{"x":1}\n'
    assert w.metrics == AsyncMetrics(enqueued=3, written=3, dropped=0, errors=0, pending=0)


def test_context_manager_stops_and_flushes():
    out = []
    with AsyncWriter(AsyncConfig(batch_size=1000, flush_interval_ms=10_000)) as w:
        w.add_destination(out.append)
        for i in range(10):
            w.enqueue({"i": i})
    assert len(b"".join(out).splitlines()) == 10


def test_flush_interval_bounds_the_delay():
    out = []
    w = AsyncWriter(AsyncConfig(batch_size=1000, flush_interval_ms=20)).start()
    w.add_destination(out.append)
    w.enqueue({"i": 1})
    deadline = time.monotonic() + 5
    while not out and time.monotonic() < deadline:
        time.sleep(0.005)
    assert out == [b'{"i":1}\n']
    w.stop()


def test_fork_while_a_writer_delivers(tmp_path):
    import os

    p = tmp_path / "out.jsonl"
    f = open(p, "ab", buffering=0)
    w = AsyncWriter(AsyncConfig(batch_size=10, flush_interval_ms=1)).start()
    w.add_destination(f.write)
    stop = threading.Event()

    def producer():
        i = 0
        while not stop.is_set():
            w.enqueue({"who": "thread", "i": i})
            i += 1

    t = threading.Thread(target=producer)
    t.start()
    pids = []
    for n in range(5):
        time.sleep(0.02)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for i in range(100):
                    w.enqueue({"who": f"child{n}", "i": i})
                w.stop()
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    stop.set()
    t.join()
    w.stop()
    f.close()
    recs = [json.loads(line) for line in p.read_text().splitlines()]
    for n in range(5):
        assert [r["i"] for r in recs if r["who"] == f"child{n}"] == list(range(100))
    mine = [r["i"] for r in recs if r["who"] == "thread"]
    missing = sorted(set(range(max(mine) + 1)) - set(mine))
    assert mine == list(range(len(mine))), (len(missing), missing[:3], missing[-3:], w.metrics, len(recs))
    assert w.metrics.written == len(mine)


def strict_json(line):
    """json.loads that refuses the NaN / Infinity tokens JSON does not have."""
    def bad(token):
        raise ValueError(f"invalid JSON token {token}")
    return json.loads(line, parse_constant=bad)


def test_nan_and_infinities_are_valid_json():
    dest = Held()
    with AsyncWriter(AsyncConfig(batch_size=1)) as w:
        w.add_destination(dest)
        w.enqueue({"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"),
                   "nested": {"list": [1.5, float("nan")], "t": (float("inf"),)}, "ok": 2.5})
        w.flush()
    (line,) = dest.batches[0].decode().splitlines()
    assert strict_json(line) == {"nan": "NaN", "inf": "+Inf", "ninf": "-Inf",
                                 "nested": {"list": [1.5, "NaN"], "t": ["+Inf"]}, "ok": 2.5}


def test_nan_in_logger_fields_is_valid_json(tmp_path):
    import alog

    p = tmp_path / "a.jsonl"
    with alog.Logger(p, format="json") as log:
        log.info("floats", x=float("nan"), y=float("-inf"), data={"v": [float("inf"), 1]})
    r = strict_json(p.read_text())
    assert (r["x"], r["y"], r["data"]) == ("NaN", "-Inf", {"v": ["+Inf", 1]})


def test_metrics_per_destination_when_one_fails():
    good = Held()

    def broken(batch):
        raise OSError(28, "No space left on device")

    w = AsyncWriter(AsyncConfig(batch_size=100)).start()
    w.add_destination(good)
    for i in range(500):
        w.enqueue({"i": i})
    w.add_destination(broken)  # the writer reopens: the first 500 go to `good` alone
    for i in range(500, 1000):
        w.enqueue({"i": i})
    w.stop()
    assert [r["i"] for r in good.records()] == list(range(1000))
    per = {id(m.destination): m for m in w.destination_metrics}
    g, b = per[id(good)], per[id(broken)]
    assert (g.taken, g.written, g.dropped, g.errors) == (1000, 1000, 0, 0)
    assert (b.taken, b.written, b.errors) == (500, 0, 500)
    m = w.metrics
    # Overall: a record some destination failed to take counts in errors.
    assert (m.enqueued, m.written, m.errors, m.pending) == (1000, 500, 500, 0)
    assert isinstance(w.last_destination_error, OSError)


def test_removing_a_destination_while_running_keeps_order():
    a, b = Held(), Held()
    w = AsyncWriter(AsyncConfig(batch_size=7)).start()
    w.add_destination(a)
    w.add_destination(b)
    for i in range(300):
        w.enqueue({"i": i})
        if i == 150:
            w.remove_destination(b)
    w.stop()
    assert [r["i"] for r in a.records()] == list(range(300))
    assert [r["i"] for r in b.records()] == list(range(151))
