"""Threads, processes (fork and spawn), exit without close, Ctrl-C while blocked."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import defaultdict

import pytest

import alog
from conftest import lines, message, run_python

THREADS, PER_THREAD = 8, 100_000


def check_exactly_once_in_order(msgs, writers, per_writer):
    seen = defaultdict(list)
    for m in msgs:
        w, i = m.split(" ")
        seen[w].append(int(i))
    assert sorted(seen) == sorted(writers)
    for w in writers:
        assert seen[w] == list(range(per_writer)), f"{w}: records missing, repeated or out of order"


def test_8_threads_x_100k_exactly_once_in_per_thread_order(tmp_path):
    p = tmp_path / "threads.log"
    log = alog.Logger(p, pattern="{msg}")
    barrier = threading.Barrier(THREADS)

    def work(t):
        barrier.wait()
        info = log.info
        for i in range(PER_THREAD):
            info(f"t{t} {i}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    s = log.stats()
    assert (s.submitted, s.written, s.dropped, s.failed) == (THREADS * PER_THREAD,) * 2 + (0, 0)
    check_exactly_once_in_order(lines(p), [f"t{t}" for t in range(THREADS)], PER_THREAD)


def _fork_child(log, n, k):
    for i in range(k):
        log.info(f"c{n} {i}")


def _spawn_child(path, n, k):
    import alog as a

    log = a.Logger(path, pattern="{msg}")
    for i in range(k):
        log.info(f"c{n} {i}")
    # No close: the child's exit must still write everything.


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_multiprocessing_children_records_exactly_once(tmp_path, method):
    p = tmp_path / f"{method}.log"
    log = alog.Logger(p, pattern="{msg}")
    for i in range(1000):
        log.info(f"parent {i}")
    ctx = multiprocessing.get_context(method)
    k = 5000
    if method == "fork":
        procs = [ctx.Process(target=_fork_child, args=(log, n, k)) for n in range(4)]
    else:
        procs = [ctx.Process(target=_spawn_child, args=(str(p), n, k)) for n in range(4)]
    for pr in procs:
        pr.start()
    for i in range(1000, 2000):
        log.info(f"parent {i}")
    for pr in procs:
        pr.join(60)
        assert pr.exitcode == 0
    log.close()
    msgs = lines(p)
    parent = [m for m in msgs if m.startswith("parent ")]
    assert parent == [f"parent {i}" for i in range(2000)]
    for n in range(4):
        mine = [m for m in msgs if m.startswith(f"c{n} ")]
        assert mine == [f"c{n} {i}" for i in range(k)]
    assert len(msgs) == 2000 + 4 * k
    assert log.stats().written == 2000


def test_os_fork_child_logs_through_its_own_writer(tmp_path):
    p = tmp_path / "fork.log"
    log = alog.Logger(p, pattern="{msg}", batch_size=1000, batch_timeout_ms=1000)
    log.info("before fork, still queued")
    pid = os.fork()
    if pid == 0:
        try:
            log.info("child")
            log.close()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    log.info("parent after")
    log.close()
    assert sorted(lines(p)) == ["before fork, still queued", "child", "parent after"]


def test_exit_without_close_loses_nothing(tmp_path):
    p = tmp_path / "exit.log"
    r = run_python(f"""
        import alog, logging, sys
        log = alog.Logger(sys.argv[1], pattern="{{msg}}", batch_size=4096, batch_timeout_ms=1000)
        handler_path = sys.argv[1] + ".handler"
        logging.basicConfig(handlers=[alog.Handler(handler_path, pattern="{{msg}}")], level=logging.INFO)
        for i in range(200_000):
            log.info("r %d", i)
        for i in range(1000):
            logging.info("h %d", i)
        print("logged", log.stats().submitted)
    """, str(p))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "logged 200000"
    assert lines(p) == [f"r {i}" for i in range(200_000)]
    # basicConfig gives the handler its default formatter.
    assert lines(str(p) + ".handler") == [f"INFO:root:h {i}" for i in range(1000)]


def test_exit_without_stop_delivers_to_python_destinations(tmp_path):
    p = tmp_path / "dest.jsonl"
    r = run_python("""
        import sys
        from alog.logxpy import AsyncWriter, AsyncConfig
        f = open(sys.argv[1], "ab")
        w = AsyncWriter(AsyncConfig(batch_size=1000, flush_interval_ms=5000)).start()
        w.add_destination(f.write)
        for i in range(10_000):
            w.enqueue({"i": i})
    """, str(p))
    assert r.returncode == 0, r.stderr
    assert lines(p) == [f'{{"i":{i}}}' for i in range(10_000)]


def test_ctrl_c_while_blocked_on_a_full_queue():
    code = textwrap.dedent("""
        import sys, threading, time
        import alog
        gate = threading.Event()
        def sink(batch):
            gate.wait()
        log = alog.Logger(None, on_batch=sink, queue_capacity=2, batch_size=1, overflow="block",
                          **{"callback.backlog": 0})
        log.info("taken by the writer")
        time.sleep(0.2)
        log.info("q1"); log.info("q2")
        print("blocking", flush=True)
        try:
            log.info("blocked")
            print("not blocked")
        except KeyboardInterrupt:
            s = log.stats()
            print("interrupted", s.submitted, s.dropped, s.pending, flush=True)
        gate.set()
        log.close()
        s = log.stats()
        print("closed", s.written, s.dropped, s.pending)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "blocking"
    time.sleep(0.5)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.splitlines() == ["interrupted 4 1 3", "closed 3 1 0"]


def test_ctrl_c_while_flush_waits_for_a_stalled_writer():
    code = textwrap.dedent("""
        import threading, time
        import alog
        gate = threading.Event()
        log = alog.Logger(None, on_batch=lambda b: gate.wait(), batch_size=1)
        log.info("stalls the writer")
        print("flushing", flush=True)
        try:
            log.flush()
            print("flushed")
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        gate.set()
        log.close()
        s = log.stats()
        print("closed", s.written, s.pending)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "flushing"
    time.sleep(0.5)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.splitlines() == ["interrupted", "closed 1 0"]


@pytest.mark.parametrize("attempt", range(3))
def test_exit_flushes_a_file_whose_write_is_a_sink(tmp_path, attempt):
    # The sink holds f.write (and so f) until exit: unless alog lets go of it once its
    # logger is closed, f is never finalized and its buffered tail is lost.
    p = tmp_path / "dest.log"
    r = run_python("""
        import sys, alog
        f = open(sys.argv[1], "ab")
        log = alog.Logger(None, on_batch=[f.write], batch_size=1000, batch_timeout_ms=5000,
                          pattern="{msg}", **{"callback.backlog": 0})
        for i in range(10_000):
            log.write("x%d" % i)
    """, str(p))
    assert r.returncode == 0, r.stderr
    assert lines(p) == [f"x{i}" for i in range(10_000)]
