"""loguru's conveniences on alog.Logger: catch, contextualize, opt(lazy=True)."""

from __future__ import annotations

import asyncio

import pytest

import alog
from conftest import json_lines


class JsonLogger(alog.Logger):
    """A JSON logger to a file whose records the test reads back."""

    def __init__(self, path, **config):
        self.path = path

    def records(self):
        self.flush()
        return json_lines(self.path)


@pytest.fixture
def jlog(tmp_path):
    log = JsonLogger(tmp_path / "a.jsonl", format="json", level="debug")
    yield log
    log.close()


def test_catch_as_a_decorator_logs_the_traceback_and_returns_default(jlog):
    @jlog.catch
    def divide(a, b):
        return a / b

    @jlog.catch(ZeroDivisionError, level="critical", default=-1)
    def other(a):
        return 1 / a

    assert divide(4, 2) == 2
    assert divide(1, 0) is None
    assert other(0) == -1
    assert divide.__name__ == "divide"
    r1, r2 = jlog.records()
    assert (r1["level"], r1["msg"]) == ("ERROR", "An error has been caught in function "
                                        "'test_catch_as_a_decorator_logs_the_traceback_and_returns_default.<locals>.divide'")
    assert r1["exception"].startswith("Traceback (most recent call last):")
    assert r1["exception"].endswith("ZeroDivisionError: division by zero")
    assert "return a / b" in r1["exception"]
    assert r2["level"] == "FATAL"


def test_catch_as_a_context_manager_reraise_and_filter(jlog):
    seen = []
    with jlog.catch(message="step failed", onerror=seen.append):
        raise KeyError("k")
    with pytest.raises(ValueError):
        with jlog.catch(KeyError):  # not caught: a ValueError is not a KeyError
            raise ValueError("v")
    with pytest.raises(KeyError):
        with jlog.catch(reraise=True):
            raise KeyError("again")
    recs = jlog.records()
    assert [r["msg"] for r in recs] == ["step failed", "An error has been caught"]
    assert recs[0]["exception"].endswith("KeyError: 'k'")
    assert isinstance(seen[0], KeyError)


def test_catch_a_coroutine_function(jlog):
    @jlog.catch(default="fallback")
    async def job():
        await asyncio.sleep(0)
        raise RuntimeError("async boom")

    assert asyncio.run(job()) == "fallback"
    (r,) = jlog.records()
    assert r["exception"].endswith("RuntimeError: async boom")


def test_contextualize_adds_fields_inside_the_block_only(jlog):
    jlog.info("before")
    with jlog.contextualize(request=7, user="ann"):
        jlog.info("inside")
        with jlog.contextualize(request=8):
            jlog.bind(extra=1).info("nested")
    jlog.info("after")
    recs = jlog.records()
    assert [r.get("request") for r in recs] == [None, 7, 8, None]
    assert recs[2]["user"] == "ann" and recs[2]["extra"] == 1


def test_contextualize_follows_each_task_across_awaits(jlog):
    async def handle(req):
        with jlog.contextualize(request=req):
            for step in range(3):
                await asyncio.sleep(0.001 * (3 - req))
                jlog.info("step %d", step)

    async def main():
        await asyncio.gather(*(handle(r) for r in range(3)))

    asyncio.run(main())
    recs = jlog.records()
    assert len(recs) == 9
    for req in range(3):
        assert [r["msg"] for r in recs if r["request"] == req] == ["step 0", "step 1", "step 2"]


def test_opt_lazy_calls_arguments_only_when_enabled(jlog):
    calls = []

    def expensive():
        calls.append(1)
        return "computed"

    jlog.set_level("info")
    jlog.opt(lazy=True).debug("x=%s", expensive)
    assert calls == []
    jlog.opt(lazy=True).info("x=%s", expensive, y=expensive)
    assert len(calls) == 2
    try:
        raise OSError("disk")
    except OSError:
        jlog.opt(exception=True).warning("with traceback")
    r1, r2 = jlog.records()
    assert (r1["msg"], r1["y"]) == ("x=computed", "computed")
    assert r2["exception"].endswith("OSError: disk")


def test_add_and_remove_sinks_at_run_time(tmp_path, capsys):
    main = tmp_path / "main.log"
    audit = tmp_path / "audit.log"
    log = alog.Logger(str(main), pattern="{level} {msg}")
    log.info("before")
    log.flush()
    # A path: a file sink named after the file, with its own level and pattern.
    assert log.add(audit, level="warning", pattern="audit {level} {msg}") == "file.audit"
    batches = []
    assert log.add(batches.append) == "batch_callback.0"
    # sys.stderr replaced by pytest's capsys: lines go to the object the test reads.
    import sys

    assert log.add(sys.stderr, level="debug") == "callback.0"
    log.debug("debug for stderr")
    log.error("everywhere")
    assert [s["name"] for s in log.sink_stats()] == [
        "file",
        "file.audit",
        "batch_callback.0",
        "callback.0",
    ]
    log.remove("file.audit")
    log.remove("callback.0")
    log.remove("batch_callback.0")
    log.error("after")
    log.close()
    assert main.read_text().splitlines() == ["INFO before", "ERROR everywhere", "ERROR after"]
    assert audit.read_text().splitlines() == ["audit ERROR everywhere"]
    assert b"".join(batches).decode().splitlines() == ["ERROR everywhere"]
    assert capsys.readouterr().err.splitlines() == ["DEBUG debug for stderr", "ERROR everywhere"]


def test_add_and_remove_errors_name_what_is_wrong(tmp_path):
    log = alog.Logger(str(tmp_path / "m.log"))
    with pytest.raises(ValueError, match="queue_capacity is a setting of the whole logger"):
        log.add(console="stderr", queue_capacity=10)
    with pytest.raises(ValueError, match="defines no sink"):
        log.add()
    with pytest.raises(TypeError, match="a callable sink takes the logger's level"):
        log.add(print, level="info")
    with pytest.raises(ValueError, match=r"no sink named 'x'|no sink named \"x\""):
        log.remove("x")
    with pytest.raises(ValueError, match="is the logger's last sink"):
        log.remove("file")
    assert log.add(tmp_path / "other.log", name="second") == "file.second"
    with pytest.raises(ValueError, match='already has a sink named "file.second"'):
        log.add(tmp_path / "third.log", name="second")
    log.close()
    with pytest.raises(alog.ClosedError):
        log.add(tmp_path / "late.log")


def test_rotation_retention_and_compression_as_loguru_users_write_them(tmp_path):
    import datetime

    noon = 1_795_521_600_000_000_000  # 2026-11-24T12:00:00Z
    hour = 3_600_000_000_000
    path = tmp_path / "app.log"
    log = alog.Logger(str(path), rotation="12:00", retention="10 days", compression="gz", pattern="{msg}")
    for ts, msg in [(noon - hour, "before noon"), (noon, "at noon"), (noon + hour, "after")]:
        log._submit(logging_info(), msg, None, ts)
    log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["app.log", "app.log.2026-11-23.1.gz", "app.log.lock"], names
    assert path.read_text().splitlines() == ["at noon", "after"]
    assert list(alog.read(str(tmp_path / "app.log.2026-11-23.1.gz"))) == ["before noon"]

    sized = tmp_path / "sized" / "s.log"
    log = alog.Logger(str(sized), rotation="1 KB", retention=2, pattern="{msg}")
    for i in range(100):
        log.info("x" * 40 + f" {i:03}")
    log.close()
    files = sorted(p.name for p in sized.parent.iterdir() if p.name != "s.log.lock")
    assert len(files) == 3, files  # the live file and the 2 newest rotated ones
    assert sized.read_text().splitlines()[-1].endswith(" 099")

    for kwargs, why in [
        ({"rotation": "1 week"}, "expected a size"),
        ({"rotation": datetime.timedelta(days=7)}, "a rotation of 1 day or 1 hour"),
        ({"compression": "zip"}, 'expected "gz" or "zst"'),
        ({"retention": "forever"}, "max_age"),
    ]:
        with pytest.raises(ValueError, match=why):
            alog.Logger(str(tmp_path / "bad.log"), **kwargs)
    log = alog.Logger(str(tmp_path / "t.log"), rotation=datetime.time(23, 30), retention=datetime.timedelta(days=3))
    log.close()


def logging_info() -> int:
    import logging

    return logging.INFO
