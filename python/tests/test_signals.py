"""SIGTERM and the Python binding's `flush_on_signal` default (`term`).

A process ended by SIGTERM with the default disposition (`kill`, systemd, Kubernetes,
`multiprocessing.Pool.terminate()`) writes what its loggers still hold and dies of SIGTERM;
an application's own SIGTERM handler is left in place; `flush_on_signal="none"` turns it off.

Every logger here batches 100000 records or waits an hour, so nothing reaches the file unless
something flushes it: what the file holds is what the signal handling wrote. (A batch wakes
the writer at half the queue at the latest: N stays below half of the default 8192.) Each scenario runs
in a fresh interpreter, since the handler, once installed, serves the whole process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import alog
from conftest import lines, run_python

N = 4000
IDLE = dict(batch_size=100_000, batch_timeout_ms=3_600_000)

# Opens a logger through one of the binding's entry points, logs N records "r 0".."r N-1",
# prints "ready" and sleeps until a signal ends it. argv: path, entry point, JSON of extra
# configuration keys, "before"/"after"/"" for a user's SIGTERM handler installed before the
# logger opens or after it logged (which writes path + ".marker" and ends the process as
# argv[5] says: "_exit" or "sys.exit"), or "default-after": SIG_DFL set after it logged.
SCRIPT = textwrap.dedent("""
    import asyncio, json, logging, os, signal, sys, time
    import alog, alog.aio, alog.logxpy
    path, api, extra, own, how = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
    N = %(N)d
    IDLE = dict(batch_size=100_000, batch_timeout_ms=3_600_000)

    def on_term(sig, frame):
        with open(path + ".marker", "w") as f:
            f.write("handled %%d" %% sig)
        if how == "_exit":
            os._exit(3)
        sys.exit(4)

    if own == "before":
        signal.signal(signal.SIGTERM, on_term)

    def ready():
        if own == "after":
            signal.signal(signal.SIGTERM, on_term)
        elif own == "default-after":
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        print("ready", flush=True)
        if own == "busy":  # running Python code: holds the interpreter lock
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                pass
        else:  # in steps: a Python handler runs even if a thread other than main took the signal
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                time.sleep(0.05)
        print("not ended by the signal", flush=True)

    if api == "logger":
        log = alog.Logger(path, pattern="{msg}", **IDLE, **extra)
        for i in range(N):
            log.info("r %%d", i)
        ready()
    elif api == "bound":  # loguru's conveniences live on the same Logger
        log = alog.Logger(path, pattern="{msg}", **IDLE, **extra).bind(k=1)
        for i in range(N):
            log.opt(lazy=True).info("r %%s", lambda i=i: i)
        ready()
    elif api == "handler":
        h = alog.Handler(path, pattern="{msg}", **IDLE, **extra)
        lg = logging.getLogger("sig")
        lg.addHandler(h)
        lg.setLevel(logging.INFO)
        lg.propagate = False
        for i in range(N):
            lg.info("r %%d", i)
        ready()
    elif api == "dictconfig":
        import logging.config
        logging.config.dictConfig({
            "version": 1,
            "handlers": {"a": {"class": "alog.Handler", "path": path, "pattern": "{msg}",
                               "batch_size": 100_000, "batch_timeout_ms": 3_600_000, **extra}},
            "root": {"handlers": ["a"], "level": "INFO"},
        })
        for i in range(N):
            logging.info("r %%d", i)
        ready()
    elif api == "aio":
        async def main():
            w = alog.aio.LogWriter(path, batch_size=100_000, batch_timeout=3600, format="text",
                                   pattern="{msg}", **extra)
            await w.start()
            for i in range(N):
                await w.write("r %%d" %% i)
            print("ready", flush=True)
            for _ in range(1200):
                await asyncio.sleep(0.05)
        asyncio.run(main())
    elif api == "logxpy":  # takes no engine keys: the default applies
        from alog.logxpy import AsyncConfig, AsyncWriter
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        w = AsyncWriter(AsyncConfig(max_queue_size=200_000, batch_size=100_000,
                                    flush_interval_ms=3_600_000))
        w.add_destination(lambda b: os.write(fd, b))
        w.start()
        for i in range(N):
            w.enqueue({"msg": "r %%d" %% i})
        ready()
""" % {"N": N})

APIS = ["logger", "bound", "handler", "dictconfig", "aio", "logxpy"]


def records(path, api):
    """The messages in the file, in file order (logxpy writes JSON lines)."""
    if not os.path.exists(path):
        return []
    if api == "logxpy":
        return [json.loads(line)["msg"] for line in lines(path)]
    return lines(path)


def wait_asleep(pid, timeout=10.0):
    """Waits until the process's main thread sleeps (so it holds no interpreter lock a Python
    sink would need); where there is no /proc, gives it a moment."""
    stat = f"/proc/{pid}/task/{pid}/stat"
    if not os.path.exists(stat):
        time.sleep(0.3)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(stat) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        if state == "S":
            return
        time.sleep(0.01)


def run_and_signal(path, api="logger", extra=None, own="", how="", sig=signal.SIGTERM):
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(path), api, json.dumps(extra or {}), own, how],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline().strip()
        assert first == "ready", (first, proc.stderr.read() if proc.poll() is not None else "")
        if own == "busy":
            time.sleep(0.2)
        else:
            wait_asleep(proc.pid)
        start = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err, time.monotonic() - start


EXPECTED = [f"r {i}" for i in range(N)]


# ------------------------------------------------------------------ the default: term

@pytest.mark.parametrize("api", APIS)
def test_sigterm_writes_what_was_queued_and_the_process_dies_of_sigterm(tmp_path, api):
    p = tmp_path / "term.log"
    rc, out, err, _ = run_and_signal(p, api)
    assert rc == -signal.SIGTERM, (rc, out, err)
    assert records(p, api) == EXPECTED


def test_file_sinks_need_no_interpreter_lock(tmp_path):
    # The signal lands while the main thread runs Python code: the handler still writes the
    # file (Python callables as sinks, such as logxpy destinations, would need the lock).
    p = tmp_path / "busy.log"
    rc, out, err, took = run_and_signal(p, "logger", own="busy")
    assert rc == -signal.SIGTERM, (rc, out, err)
    assert records(p, "logger") == EXPECTED
    assert took < 1.5, f"the handler gave up waiting: {took:.2f}s"


@pytest.mark.parametrize("api", ["logger", "handler", "dictconfig", "aio"])
def test_flush_on_signal_none_turns_it_off_and_sigterm_loses_the_queue(tmp_path, api):
    p = tmp_path / "none.log"
    rc, out, err, _ = run_and_signal(p, api, {"flush_on_signal": "none"})
    assert rc == -signal.SIGTERM, (rc, out, err)
    assert records(p, api) == []


def test_an_explicit_value_replaces_the_default(tmp_path):
    # flush_on_signal="hup": SIGHUP writes the queue, SIGTERM (no longer asked for) does not.
    p = tmp_path / "hup.log"
    rc, out, err, _ = run_and_signal(p, "logger", {"flush_on_signal": "hup"}, sig=signal.SIGHUP)
    assert rc == -signal.SIGHUP, (rc, out, err)
    assert records(p, "logger") == EXPECTED
    q = tmp_path / "hup-term.log"
    rc, out, err, _ = run_and_signal(q, "logger", {"flush_on_signal": "hup"})
    assert rc == -signal.SIGTERM, (rc, out, err)
    assert records(q, "logger") == []


def test_sigint_is_left_to_python_which_exits_through_atexit(tmp_path):
    # Python's own SIGINT handler stays (KeyboardInterrupt); the exit hook writes the queue and
    # the interpreter then ends by SIGINT.
    p = tmp_path / "int.log"
    rc, out, err, _ = run_and_signal(p, "logger", sig=signal.SIGINT)
    assert rc == -signal.SIGINT, (rc, out, err)
    assert "KeyboardInterrupt" in err
    assert records(p, "logger") == EXPECTED


# ------------------------------------------------------------------ the user's own handler

def test_a_handler_installed_before_the_logger_is_not_replaced(tmp_path):
    # The handler decides what happens to the records: os._exit skips every exit hook, so
    # what was queued is lost, as it would be with any other logger.
    p = tmp_path / "own.log"
    rc, out, err, _ = run_and_signal(p, "logger", own="before", how="_exit")
    assert rc == 3, (rc, out, err)
    assert (tmp_path / "own.log.marker").read_text() == f"handled {int(signal.SIGTERM)}"
    assert records(p, "logger") == []


@pytest.mark.parametrize("api", ["logger", "handler", "aio"])
def test_a_handler_raising_system_exit_keeps_every_record(tmp_path, api):
    # sys.exit in the handler unwinds the interpreter: atexit and alog's exit hook write the
    # queue.
    p = tmp_path / "own-exit.log"
    rc, out, err, _ = run_and_signal(p, api, own="before", how="sys.exit")
    assert rc == 4, (rc, out, err)
    assert (tmp_path / "own-exit.log.marker").exists()
    assert records(p, api) == EXPECTED


def test_a_handler_installed_after_the_logger_takes_over(tmp_path):
    p = tmp_path / "after.log"
    rc, out, err, _ = run_and_signal(p, "logger", own="after", how="_exit")
    assert rc == 3, (rc, out, err)
    assert (tmp_path / "after.log.marker").exists()
    assert records(p, "logger") == []


def test_resetting_sigterm_to_the_default_after_opening_turns_it_off(tmp_path):
    # The way out for the entry points that take no engine keys (alog.logxpy).
    p = tmp_path / "dfl.log"
    rc, out, err, _ = run_and_signal(p, "logxpy", own="default-after")
    assert rc == -signal.SIGTERM, (rc, out, err)
    assert records(p, "logxpy") == []


# ------------------------------------------------------------------ multiprocessing.Pool

PER_TASK, TASKS = 20_000, 4

# `with Pool(4) as pool:` (fork): each task logs PER_TASK records "w<task> <i>" and returns how
# many calls returned; leaving the block calls terminate(), which sends SIGTERM to every worker still
# running right after the results are collected (one may get the pool's stop sentinel first
# and exit by itself: its multiprocessing finalizer flushes). The logger is opened in the
# parent before the pool, or in each worker by the initializer. (With flush_on_signal="none"
# the terminated workers' queues are lost: 0 of the 80000 records written in most runs, 20000
# when one worker exited by itself first; not deterministic, so not asserted here.)
POOL_SCRIPT = textwrap.dedent("""
    import json, multiprocessing, sys
    import alog
    path, where = sys.argv[1], sys.argv[2]
    CONFIG = dict(pattern="{msg}", queue_capacity=131072, batch_size=100_000,
                  batch_timeout_ms=3_600_000)
    log = None

    def init():
        global log
        log = alog.Logger(path, **CONFIG)

    def work(task):
        returned = 0
        for i in range(%(PER_TASK)d):
            log.info("w%%d %%d", task, i)
            returned += 1
        return returned

    if __name__ == "__main__":
        ctx = multiprocessing.get_context("fork")
        if where == "parent":
            log = alog.Logger(path, **CONFIG)
        with ctx.Pool(4, initializer=init if where == "worker" else None) as pool:
            returned = sum(pool.map(work, range(%(TASKS)d)))
            workers = list(pool._pool)
        print(json.dumps({"returned": returned, "exitcodes": [p.exitcode for p in workers]}))
        if log is not None:
            log.close()
""" % {"PER_TASK": PER_TASK, "TASKS": TASKS})


def run_pool(path, where):
    """Runs the pool; returns the file's lines."""
    r = run_python(POOL_SCRIPT, str(path), where, timeout=120)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    # Each worker was ended by SIGTERM, or exited by itself after the stop sentinel.
    assert set(res["exitcodes"]) <= {0, -signal.SIGTERM}, res
    assert res["returned"] == PER_TASK * TASKS
    return lines(path) if path.exists() else []


@pytest.mark.parametrize("where", ["parent", "worker"])
def test_pool_terminate_keeps_every_record_whose_call_returned(tmp_path, where):
    p = tmp_path / "pool.log"
    got = run_pool(p, where)
    tasks = {t: [] for t in range(TASKS)}
    for m in got:
        w, i = m.split(" ")
        tasks[int(w[1:])].append(int(i))
    for t, seen in tasks.items():
        assert seen == list(range(PER_TASK)), f"task {t}: records missing, repeated or out of order"
    assert len(got) == PER_TASK * TASKS
