"""alog.Handler for the standard logging module."""

from __future__ import annotations

import logging
import sys
import logging.config
import threading

import pytest

import alog
from conftest import json_lines, lines




def test_dict_config(tmp_path, logger):
    p = tmp_path / "app.jsonl"
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {
            "alog": {"class": "alog.Handler", "path": str(p), "format": "json",
                     "level": "INFO", "queue_capacity": 1024, "overflow": "block"},
        },
        "loggers": {"alogtest.handler": {"handlers": ["alog"], "level": "DEBUG", "propagate": False}},
    })
    h = logger.handlers[0]
    assert isinstance(h, alog.Handler) and h.level == logging.INFO
    logger.debug("hidden")
    logger.info("hello %s", "world")
    logger.warning("careful", extra={"user": "ann", "ms": 12})
    h.flush()
    assert h.stats().written == 2
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    recs = json_lines(p)
    assert [(r["level"], r["msg"]) for r in recs] == [("INFO", "hello world"), ("WARNING", "careful")]
    assert recs[1]["user"] == "ann" and recs[1]["ms"] == 12


def test_record_attributes_travel_as_fields(tmp_path, logger):
    p = tmp_path / "a.jsonl"
    h = alog.Handler(str(p), format="json")
    logger.addHandler(h)

    def where():
        logger.info("from a function", extra={"order": 42, "tags": ["x"]})

    t = threading.Thread(target=where, name="worker-7")
    t.start()
    t.join()
    h.close()
    [r] = json_lines(p)
    assert r["msg"] == "from a function"
    assert r["logger"] == "alogtest.handler"
    assert r["module"] == "test_handler"
    assert r["thread"] == "worker-7"
    assert r["source"]["file"] == __file__
    assert r["source"]["function"] == "where"
    assert isinstance(r["source"]["line"], int) and r["source"]["line"] > 0
    assert r["order"] == 42 and r["tags"] == ["x"]


def test_record_timestamp_is_the_records(tmp_path, logger):
    p = tmp_path / "a.jsonl"
    h = alog.Handler(str(p), format="json")
    logger.addHandler(h)
    rec = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "old", (), None)
    rec.created = 1_000_000_000.25
    logger.handle(rec)
    h.close()
    assert json_lines(p)[0]["ts"] == "2001-09-09T01:46:40.250000Z"


def test_exceptions_and_stack_info(tmp_path, logger):
    p = tmp_path / "a.jsonl"
    h = alog.Handler(str(p), format="json")
    logger.addHandler(h)
    try:
        raise KeyError("k")
    except KeyError:
        logger.exception("failed")
    logger.info("where am I", stack_info=True)
    h.close()
    r1, r2 = json_lines(p)
    assert r1["level"] == "ERROR"
    assert r1["exception"].startswith("Traceback (most recent call last):")
    assert r1["exception"].endswith("KeyError: 'k'")
    assert r2["stack"].startswith("Stack (most recent call last):")
    assert "test_exceptions_and_stack_info" in r2["stack"]


def test_formatter_output_is_the_message(tmp_path, logger):
    p = tmp_path / "a.log"
    h = alog.Handler(str(p), pattern="{level} {msg}")
    h.setFormatter(logging.Formatter("%(name)s|%(levelname)s|%(message)s"))
    logger.addHandler(h)
    logger.warning("w %d", 1)
    try:
        1 / 0
    except ZeroDivisionError:
        logger.error("e", exc_info=True)
    h.close()
    got = lines(p)
    assert got[0] == "WARNING alogtest.handler|WARNING|w 1"
    assert got[1] == "ERROR alogtest.handler|ERROR|e"
    assert got[2] == "    Traceback (most recent call last):"
    assert got[-1] == "    ZeroDivisionError: division by zero"
    assert all(x.startswith("    ") for x in got[2:])


def test_filters_and_levels(tmp_path, logger):
    p = tmp_path / "a.log"
    h = alog.Handler(str(p), pattern="{msg}", level=logging.WARNING)
    h.addFilter(lambda r: "secret" not in r.getMessage())
    logger.addHandler(h)
    logger.info("too low")
    logger.warning("public")
    logger.error("secret stuff")
    logger.log(45, "between error and critical")
    h.close()
    assert lines(p) == ["public", "between error and critical"]


def test_handler_threads_exactly_once(tmp_path, logger):
    p = tmp_path / "a.log"
    h = alog.Handler(str(p), pattern="{msg}")
    logger.addHandler(h)

    def work(t):
        for i in range(5000):
            logger.info("t%d %d", t, i)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    h.close()
    got = lines(p)
    assert len(got) == 20000
    for t in range(4):
        assert [x for x in got if x.startswith(f"t{t} ")] == [f"t{t} {i}" for i in range(5000)]


def test_close_twice(tmp_path, logger):
    h = alog.Handler(str(tmp_path / "a.log"))
    logger.addHandler(h)
    logger.info("x")
    h.close()
    h.close()
    h.flush()
    assert h.stats().written == 1


def test_bad_arguments_go_to_handle_error(tmp_path, logger, capsys):
    p = tmp_path / "a.log"
    h = alog.Handler(str(p), pattern="{msg}")
    logger.addHandler(h)
    logger.info("%d items", "not a number")
    logger.info("next")
    h.close()
    err = capsys.readouterr().err
    assert "--- Logging error ---" in err and "TypeError" in err
    assert lines(p) == ["next"]
    assert h.stats().submitted == 1


@pytest.mark.skipif(sys.version_info < (3, 12), reason="filters return records from Python 3.12 on")
def test_filter_may_replace_the_record(tmp_path, logger):
    p = tmp_path / "a.log"
    h = alog.Handler(str(p), pattern="{msg}")

    def redact(record):
        new = logging.makeLogRecord(record.__dict__)
        new.msg, new.args = "redacted", ()
        return new

    h.addFilter(redact)
    logger.addHandler(h)
    logger.info("secret %s", "value")
    h.close()
    assert lines(p) == ["redacted"]
