"""The native logger: output, levels, arguments, fields, errors, lifecycle."""

from __future__ import annotations

import json
import logging
import os
import time

import pytest

import alog
from conftest import json_lines, lines, message


def test_text_lines_and_levels(tmp_path):
    p = tmp_path / "a.log"
    with alog.Logger(p, level="debug") as log:
        log.trace("hidden")
        log.debug("d")
        log.info("i")
        log.warning("w")
        log.error("e")
        log.critical("c")
        log.log(logging.WARNING, "lw")
        log.log("error", "le")
        log.log(25, "between info and warning")
    got = [(line.split(" ")[1], message(line)) for line in lines(p)]
    assert got == [("DEBUG", "d"), ("INFO", "i"), ("WARN", "w"), ("ERROR", "e"), ("FATAL", "c"),
                   ("WARN", "lw"), ("ERROR", "le"), ("INFO3", "between info and warning")]


def test_python_levels_map_to_engine_levels():
    assert [alog._alog.engine_level(n) for n in (5, 10, 20, 30, 40, 50)] == [1, 5, 9, 13, 17, 21]
    assert alog._alog.engine_level("WARNING") == 13
    assert alog._alog.engine_level("critical") == 21
    with pytest.raises(ValueError, match='invalid level "loud": expected trace'):
        alog._alog.engine_level("loud")
    with pytest.raises(TypeError, match="a level is an int or a str"):
        alog._alog.engine_level(1.5)


def test_level_keyword_takes_python_numbers_and_names(tmp_path):
    for level in (logging.WARNING, "warning", "WARN"):
        p = tmp_path / f"{level}.log"
        with alog.Logger(p, level=level) as log:
            log.info("no")
            log.warning("yes")
            assert log.enabled(logging.WARNING) and not log.enabled(logging.INFO)
        assert [message(x) for x in lines(p)] == ["yes"]


def test_flush_on_takes_a_python_level_and_writes_at_once(tmp_path):
    p = tmp_path / "a.log"
    # Batches that never fill or time out: only flush_on gets records to the file early.
    with alog.Logger(p, batch_size=1000, batch_timeout_ms=3_600_000, flush_on=logging.ERROR,
                     pattern="{level} {msg}") as log:
        log.info("queued")
        time.sleep(0.2)
        assert lines(p) == []
        log.error("written at once")
        deadline = time.monotonic() + 10
        while len(lines(p)) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert lines(p) == ["INFO queued", "ERROR written at once"]


def test_set_level(tmp_path):
    p = tmp_path / "a.log"
    with alog.Logger(p) as log:
        log.debug("no")
        log.set_level(logging.DEBUG)
        log.debug("yes")
    assert [message(x) for x in lines(p)] == ["yes"]


def test_percent_arguments_are_formatted_only_when_enabled(tmp_path):
    calls = []

    class Costly:
        def __str__(self):
            calls.append(1)
            return "costly"

    p = tmp_path / "a.log"
    with alog.Logger(p) as log:
        log.debug("value %s", Costly())
        assert calls == []
        log.info("value %s and %d", Costly(), 7)
        log.info("mapping %(a)s", {"a": "x"})
        log.info("literal %s")
        log.info(42)
    assert calls == [1]
    assert [message(x) for x in lines(p)] == ["value costly and 7", "mapping x", "literal %s", "42"]


def test_bad_arguments_raise_like_percent_formatting(tmp_path):
    with alog.Logger(tmp_path / "a.log") as log:
        with pytest.raises(TypeError):
            log.info("%d", "not a number")


def test_keyword_fields_json(tmp_path):
    p = tmp_path / "a.jsonl"
    with alog.Logger(p, format="json") as log:
        log.info("req", user="ann", ms=1250, ratio=0.5, ok=True, none=None,
                 tags=["a", "b"], obj={"k": [1, 2]}, big=2**70, other=object)
    [rec] = json_lines(p)
    assert rec["msg"] == "req" and rec["level"] == "INFO"
    assert (rec["user"], rec["ms"], rec["ratio"], rec["ok"], rec["none"]) == ("ann", 1250, 0.5, True, None)
    assert rec["tags"] == ["a", "b"] and rec["obj"] == {"k": [1, 2]}
    assert rec["big"] == 2**70
    assert rec["other"] == "<class 'object'>"


def test_bind_adds_context_and_shares_the_engine(tmp_path):
    p = tmp_path / "a.jsonl"
    log = alog.Logger(p, format="json")
    child = log.bind(request=7, user="ann")
    grandchild = child.bind(user="bob")
    child.info("one", extra=1)
    grandchild.info("two")
    log.info("three")
    log.close()
    assert child.closed and grandchild.closed
    recs = json_lines(p)
    assert [(r["msg"], r.get("request"), r.get("user"), r.get("extra")) for r in recs] == [
        ("one", 7, "ann", 1), ("two", 7, "bob", None), ("three", None, None, None)]
    with pytest.raises(alog.ClosedError):
        grandchild.info("late")


def test_exception_carries_the_traceback(tmp_path):
    p = tmp_path / "a.jsonl"
    with alog.Logger(p, format="json") as log:
        try:
            {}["missing"]
        except KeyError:
            log.exception("lookup failed")
            log.warning("with exc_info", exc_info=True)
        err = ValueError("given")
        log.error("explicit", exc_info=err)
        log.error("nothing being handled", exc_info=True)
        log.info("stack", stack_info=True)
    recs = json_lines(p)
    assert recs[0]["level"] == "ERROR" and recs[0]["msg"] == "lookup failed"
    tb = recs[0]["exception"]
    assert tb.startswith("Traceback (most recent call last):") and tb.endswith("KeyError: 'missing'")
    assert "test_exception_carries_the_traceback" in tb
    assert recs[1]["level"] == "WARN" and recs[1]["exception"] == tb
    assert recs[2]["exception"] == "ValueError: given"
    assert "exception" not in recs[3]
    assert recs[4]["stack"].startswith("Stack (most recent call last):")
    assert "test_exception_carries_the_traceback" in recs[4]["stack"]


def test_unicode_and_lone_surrogates(tmp_path):
    text, js = tmp_path / "a.log", tmp_path / "a.jsonl"
    msgs = ["héllo wörld ✓ 日本語 🎉", "lone \udc80 surrogate", "line\nbreak\u2028sep", "tab\tbell\x07"]
    with alog.Logger(text, multiline="escape") as a, alog.Logger(js, format="json") as b:
        for m in msgs:
            a.info(m)
            b.info(m, field=m)
    assert [message(x) for x in lines(text)] == [
        "héllo wörld ✓ 日本語 🎉", "lone \\xed\\xb2\\x80 surrogate", "line\\nbreak\\u{2028}sep",
        "tab\\tbell\\x07"]
    recs = json_lines(js)
    assert [r["msg"] for r in recs] == [
        "héllo wörld ✓ 日本語 🎉", "lone \ufffd\ufffd\ufffd surrogate", "line\nbreak\u2028sep", "tab\tbell\x07"]
    assert recs[1]["field"] == recs[1]["msg"]
    assert len(lines(js)) == 4


def test_huge_messages(tmp_path):
    p = tmp_path / "a.log"
    big = "x" * (1 << 20)
    with alog.Logger(p, max_message_bytes=1 << 20) as log:
        log.info(big)
        with pytest.raises(ValueError, match=r"message of 1048577 bytes is longer than max_message_bytes \(1048576\)"):
            log.info(big + "y")
        log.info("after")
        assert log.stats().submitted == 2
    got = lines(p)
    assert [len(message(x)) for x in got] == [1 << 20, 5]


def test_close_twice_and_use_after_close(tmp_path):
    p = tmp_path / "a.log"
    log = alog.Logger(p)
    log.info("one")
    log.close()
    log.close()
    log.close(timeout=1)
    assert log.closed
    with pytest.raises(alog.ClosedError, match="logger is closed"):
        log.info("late")
    with pytest.raises(alog.ClosedError):
        log.flush()
    assert log.stats().written == 1 and log.stats().pending == 0
    assert [message(x) for x in lines(p)] == ["one"]


def test_configuration_errors_carry_the_engines_message(tmp_path):
    with pytest.raises(ValueError, match=r'invalid value "sometimes" for overflow: expected block\|drop_newest\|drop_oldest\|warn'):
        alog.Logger(tmp_path / "a.log", overflow="sometimes")
    with pytest.raises(ValueError, match=r'unknown configuration key "colour"'):
        alog.Logger(tmp_path / "a.log", colour="red")
    with pytest.raises(ValueError, match=r"queue_capacity: expected an integer 1..16777216"):
        alog.Logger(tmp_path / "a.log", queue_capacity=0)
    with pytest.raises(ValueError, match="no sink configured"):
        alog.Logger()
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError, match="cannot create folder .*file: File exists"):
        alog.Logger(tmp_path / "file" / "sub.log")
    with pytest.raises(ValueError, match="timeout must be a non-negative number"):
        alog.Logger(tmp_path / "b.log").flush(-1)


def test_every_config_key_goes_to_the_engine(tmp_path):
    main, full = tmp_path / "main.log", tmp_path / "full.jsonl"
    with alog.Logger(main, level="warning", pattern="{level}|{msg}", queue_capacity=16, batch_size=4,
                     batch_timeout_ms=5, fsync="close", sync=False,
                     **{"file.full.path": str(full), "file.full.level": logging.DEBUG,
                        "file.full.format": "json"}) as log:
        log.debug("d")
        log.warning("w")
        assert log.stats().queue_capacity == 16
    assert lines(main) == ["WARN|w"]
    assert [r["msg"] for r in json_lines(full)] == ["d", "w"]


def test_stats_identity_and_fields(tmp_path):
    with alog.Logger(tmp_path / "a.log") as log:
        for i in range(1000):
            log.info("m %d", i)
        s = log.stats()
        assert s.submitted == 1000
        assert s.submitted == s.written + s.dropped + s.failed + s.pending
        log.flush()
        s = log.stats()
        assert (s.written, s.pending, s.dropped, s.failed) == (1000, 0, 0, 0)
        assert s.bytes_written == (tmp_path / "a.log").stat().st_size
        d = s.as_dict()
        assert d["written"] == 1000 and set(d) >= {"submitted", "written", "dropped", "failed", "pending",
                                                    "queue_len", "queue_peak", "batches", "write_errors"}
        assert "written=1000" in repr(s)


def test_sync_mode_and_ALOG_SYNC(tmp_path, monkeypatch):
    with alog.sync_mode():
        log = alog.Logger(tmp_path / "a.log")
        assert os.environ["ALOG_SYNC"] == "1"
    assert "ALOG_SYNC" not in os.environ
    assert log.is_sync
    log.info("written before the call returns")
    assert [message(x) for x in lines(tmp_path / "a.log")] == ["written before the call returns"]
    log.close()
    assert not alog.Logger(tmp_path / "b.log").is_sync
    monkeypatch.setenv("ALOG_SYNC", "1")
    assert alog.Logger(tmp_path / "c.log").is_sync


def test_reopen_after_the_file_was_moved(tmp_path):
    p = tmp_path / "r.log"
    log = alog.Logger(p)
    log.info("before")
    log.flush()
    os.rename(p, tmp_path / "r.log.1")
    log.reopen()
    log.info("after")
    log.close()
    assert [message(x) for x in lines(tmp_path / "r.log.1")] == ["before"]
    assert [message(x) for x in lines(p)] == ["after"]
    with pytest.raises(alog.ClosedError):
        log.reopen()
