"""What a user of `logging` expects of a handler, and errors as Python reports them."""

from __future__ import annotations

import gzip
import logging
import logging.config
import os
import pickle
import stat

import pytest

import alog
from conftest import json_lines, lines, run_python




# -- the logging contract ------------------------------------------------------------------

def test_a_formatter_decides_the_text_of_the_line(tmp_path, logger):
    p = tmp_path / "a.log"
    h = alog.Handler(str(p))
    logger.addHandler(h)
    logger.info("before")
    h.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
    logger.warning("with %s", "formatter", extra={"user": "ann"})
    h.setFormatter(None)
    logger.info("after")
    h.close()
    got = lines(p)
    assert len(got) == 3
    assert got[0].startswith("20") and " INFO before source=" in got[0]
    assert got[1] == "WARNING:alogtest.contract:with formatter"
    assert " INFO after source=" in got[2]
    assert got[2].endswith(" logger=alogtest.contract module=test_contract thread=MainThread")


def test_a_formatter_from_dictconfig(tmp_path):
    p = tmp_path / "d.log"
    logging.config.dictConfig({
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(levelname)s %(message)s"}},
        "handlers": {"alog": {"class": "alog.Handler", "path": str(p), "formatter": "plain"}},
        "loggers": {"alogtest.dc": {"handlers": ["alog"], "level": "INFO", "propagate": False}},
    })
    lg = logging.getLogger("alogtest.dc")
    lg.info("one")
    lg.error("two")
    h = lg.handlers[0]
    lg.removeHandler(h)
    h.close()
    assert lines(p) == ["INFO one", "ERROR two"]


def test_dictconfig_gives_dotted_keys_as_nested_mappings(tmp_path):
    main, full = tmp_path / "main.log", tmp_path / "full.jsonl"
    logging.config.dictConfig({
        "version": 1, "disable_existing_loggers": False,
        "handlers": {"alog": {
            "class": "alog.Handler", "path": str(main), "pattern": "{level} {msg}",
            "file": {"full": {"path": str(full), "level": "debug", "format": "json"}},
            "json": {"msg_key": "message"},
            "config": {"file.full.pattern": "{msg}"},
            "file_mode": 0o600, "max_message_bytes": "64k",
        }},
        "loggers": {"alogtest.dotted": {"handlers": ["alog"], "level": "DEBUG", "propagate": False}},
    })
    lg = logging.getLogger("alogtest.dotted")
    h = lg.handlers[0]
    lg.debug("detail")
    lg.info("x" * 70_000)  # longer than 64k: refused and reported, the handler goes on
    lg.warning("warned")
    lg.removeHandler(h)
    h.close()
    assert lines(main) == ["DEBUG detail", "WARNING warned"]
    assert [r["message"] for r in json_lines(full)] == ["detail", "warned"]
    assert stat.S_IMODE(os.stat(main).st_mode) == 0o600


def test_durations_as_timedelta(tmp_path):
    import datetime

    # Milliseconds for the _ms keys, seconds for max_age: the engine's messages show which.
    with pytest.raises(ValueError, match=r'invalid value "7200000" for batch_timeout_ms'):
        alog.Logger(None, on_batch=print, batch_timeout_ms=datetime.timedelta(hours=2))
    with pytest.raises(ValueError, match=r'invalid value "-60" for max_age'):
        alog.Logger(tmp_path / "a.log", max_age=datetime.timedelta(minutes=-1))
    log = alog.Logger(tmp_path / "a.log", max_age=datetime.timedelta(days=7), rotate_bytes="1m",
                      block_timeout_ms=datetime.timedelta(seconds=0.25))
    log.close()


def test_bad_nested_keys_name_the_dotted_key(tmp_path):
    with pytest.raises(ValueError, match=r'invalid value "sometimes" for file\.x\.format'):
        alog.Logger(tmp_path / "a.log", file={"x": {"path": str(tmp_path / "x.log"), "format": "sometimes"}})


def test_a_closed_handler_drops_records_silently(tmp_path, logger, capfd):
    p = tmp_path / "a.log"
    h = alog.Handler(str(p), pattern="{msg}")
    logger.addHandler(h)
    logger.info("kept")
    h.close()
    for i in range(5):
        logger.error("dropped %d", i)
    assert capfd.readouterr().err == ""
    assert lines(p) == ["kept"]
    assert h.stats().submitted == 1


def test_enabled_is_false_after_close(tmp_path):
    log = alog.Logger(tmp_path / "a.log", level="debug")
    assert log.enabled("info") and log.enabled(logging.DEBUG)
    log.close()
    assert not log.enabled("info") and not log.enabled(logging.CRITICAL)


# -- errors ----------------------------------------------------------------------------------

def test_open_errors_are_oserror_subclasses_with_errno_and_filename(tmp_path):
    with pytest.raises(IsADirectoryError) as e:
        alog.Logger(tmp_path)
    assert (e.value.errno, e.value.filename) == (21, str(tmp_path))
    afile = tmp_path / "file"
    afile.write_text("")
    with pytest.raises(NotADirectoryError) as e:
        alog.Logger(afile / "sub" / "a.log")
    assert (e.value.errno, e.value.filename) == (20, str(afile / "sub"))
    with pytest.raises(FileNotFoundError) as e:
        alog.Logger(tmp_path / "a.log", encryption_key_file=str(tmp_path / "no-key"))
    assert (e.value.errno, e.value.filename) == (2, str(tmp_path / "no-key"))
    assert "encryption_key_file: cannot read" in str(e.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root opens any file")
def test_permission_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises(PermissionError) as e:
        alog.Logger(ro / "a.log")
    assert e.value.filename == str(ro / "a.log")


def test_exceptions_pickle(tmp_path):
    for exc in (alog.ClosedError("logger is closed"), alog.Error("x"), alog.ReadError("damaged")):
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and back.args == exc.args
    assert alog.ClosedError.__module__ == "alog"
    try:
        alog.Logger(tmp_path)
    except OSError as e:
        back = pickle.loads(pickle.dumps(e))
    assert type(back) is IsADirectoryError and (back.errno, back.filename) == (21, str(tmp_path))
    log = alog.Logger(None, on_batch=lambda b: None)
    log.close()
    with pytest.raises(alog.ClosedError) as e:
        log.info("late")
    assert isinstance(pickle.loads(pickle.dumps(e.value)), alog.ClosedError)


def failing_sink(batch: bytes) -> None:
    raise OSError(28, "No space left on device")


def test_on_error_receives_each_error_as_an_exception():
    got = []
    log = alog.Logger(None, on_batch=failing_sink, batch_size=1, on_error=got.append)
    for i in range(3):
        log.info("x %d", i)
        log.flush()
    log.close()
    assert len(got) == 3
    assert all(isinstance(e, OSError) for e in got)
    assert "No space left on device" in str(got[0])
    assert log.stats().failed == 3


def test_on_error_must_be_callable():
    with pytest.raises(TypeError, match="on_error must be callable, not int"):
        alog.Logger(None, on_error=3)


def test_by_default_one_line_on_stderr_per_kind_of_error():
    r = run_python("""
        import alog
        def failing(b):
            raise OSError(28, "No space left on device")
        log = alog.Logger(None, on_batch=failing, batch_size=1)
        for i in range(50):
            log.info("x")
            log.flush()
        log.close()
        print(log.stats().failed)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["50"]
    assert r.stderr.splitlines() == [
        "alog: writing 1 records to batch callback: OSError: [Errno 28] No space left on device"]


def test_no_error_report_when_logging_raise_exceptions_is_false():
    r = run_python("""
        import logging, alog
        logging.raiseExceptions = False
        log = alog.Logger(None, on_batch=lambda b: 1 / 0, batch_size=1)
        log.info("x")
        log.close()
        print(log.stats().failed)
    """)
    assert (r.returncode, r.stdout.split(), r.stderr) == (0, ["1"], "")


# -- alog.read -------------------------------------------------------------------------------

def test_read_a_rotated_compressed_encrypted_set(tmp_path):
    p = tmp_path / "app.log"
    key = os.urandom(32)
    log = alog.Logger(p, pattern="{msg}", rotate_bytes="2k", compress="gzip",
                      **{"encryption_key_file": str(_key_file(tmp_path, key))})
    for i in range(500):
        log.info("line %d", i)
    log.close()
    rotated = [f for f in os.listdir(tmp_path) if f.startswith("app.log.")]
    assert any(f.endswith(".gz") for f in rotated)
    assert list(alog.read(p, key=key)) == [f"line {i}" for i in range(500)]
    assert list(alog.read(p, key=key.hex())) == [f"line {i}" for i in range(500)]
    assert list(alog.read(str(p), key_file=tmp_path / "key")) == [f"line {i}" for i in range(500)]


def _key_file(tmp_path, key: bytes):
    f = tmp_path / "key"
    f.write_text(key.hex())
    f.chmod(0o600)
    return f


def test_read_with_a_wrong_or_missing_key_raises_read_error(tmp_path):
    p = tmp_path / "app.log"
    key = os.urandom(32)
    log = alog.Logger(p, encryption_key_file=str(_key_file(tmp_path, key)))
    log.info("secret")
    log.close()
    with pytest.raises(alog.ReadError, match="app.log"):
        list(alog.read(p, key=os.urandom(32)))
    with pytest.raises(alog.ReadError):
        list(alog.read(p))
    assert list(alog.read(p, key=os.urandom(32), errors="ignore")) == []
    with pytest.warns(UserWarning, match="app.log"):
        list(alog.read(p, errors="warn"))


def test_read_a_torn_last_line_is_returned_then_reported(tmp_path):
    p = tmp_path / "plain.log"
    p.write_bytes(b"one\ntwo\nthr")
    it = alog.read(p)
    assert [next(it), next(it), next(it)] == ["one", "two", "thr"]
    with pytest.raises(alog.ReadError, match="3 bytes are a line without its end"):
        next(it)
    g = tmp_path / "g.log"
    g.write_bytes(gzip.compress(b"a\nb\n"))
    assert list(alog.read(g)) == ["a", "b"]


def test_read_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file, and no rotated files of it"):
        alog.read(tmp_path / "none.log")
    with pytest.raises(ValueError, match="64 hex digits or 32 bytes"):
        alog.read(tmp_path / "none.log", key="12")
    with pytest.raises(ValueError, match="errors must be strict|warn|ignore"):
        alog.read(tmp_path, errors="loud")


# -- the console through sys.stdout / sys.stderr ---------------------------------------------

def test_console_goes_through_a_replaced_sys_stdout(capsys):
    log = alog.Logger(None, console="stdout", pattern="{level} {msg}")
    print("before")
    log.info("logged")
    log.flush()
    print("after")
    log.close()
    assert capsys.readouterr().out == "before\nINFO logged\nafter\n"


def test_console_stderr_with_its_own_level_through_a_replaced_sys_stderr(capsys):
    log = alog.Logger(None, console="stderr", pattern="{msg}", level="debug", **{"console.level": "warn"})
    log.debug("hidden")
    log.warning("shown")
    log.close()
    assert capsys.readouterr() == ("", "shown\n")


def test_console_writes_to_the_descriptor_when_sys_stdout_is_the_interpreters():
    r = run_python("""
        import sys, alog
        assert sys.stdout is sys.__stdout__
        log = alog.Logger(None, console="stdout", pattern="{msg}")
        log.info("to fd 1")
        log.close()
    """)
    assert (r.returncode, r.stdout, r.stderr) == (0, "to fd 1\n", "")


def test_sink_stats_name_each_sink():
    got_a, got_b = [], []

    def broken(batch):
        raise OSError(5, "I/O error")

    log = alog.Logger(None, on_batch=[got_a.append, broken, got_b.append], batch_size=1,
                      on_error=lambda e: None)
    for i in range(4):
        log.info("x %d", i)
    log.close()
    st = log.sink_stats()
    assert [s["name"] for s in st] == ["batch_callback.0", "batch_callback.1", "batch_callback.2"]
    assert [(s["taken"], s["written"], s["failed"]) for s in st] == [(4, 4, 0), (4, 0, 4), (4, 4, 0)]
    assert "I/O error" in st[1]["last_error"]
    assert b"".join(got_a) == b"".join(got_b) and b"".join(got_a).count(b"\n") == 4
    with pytest.raises(TypeError, match="on_batch takes callables, not int"):
        alog.Logger(None, on_batch=[got_a.append, 3])


def test_multi_line_messages_and_tracebacks_keep_their_lines(tmp_path, logger):
    p, j = tmp_path / "a.log", tmp_path / "a.jsonl"
    h = alog.Handler(str(p), pattern="{level} {msg}{fields}")
    hj = alog.Handler(str(j), format="json")
    logger.addHandler(h)
    logger.addHandler(hj)
    logger.info("first line\nsecond line\n2026-01-01T00:00:00Z ERROR forged")
    try:
        {}["k"]
    except KeyError:
        logger.exception("lookup failed")
    h.close()
    hj.close()
    got = lines(p)
    assert got[:2] == ["INFO first line", "    second line"]
    assert got[2].startswith("    2026-01-01T00:00:00Z ERROR forged source=")
    assert got[2].endswith(" logger=alogtest.contract module=test_contract thread=MainThread")
    # Every record starts a line; its continuation lines start with four spaces.
    starts = [x for x in got if not x.startswith("    ")]
    assert [x.split(" ", 1)[0] for x in starts] == ["INFO", "ERROR"]
    assert starts[1].startswith('ERROR lookup failed source=')
    assert 'exception="Traceback (most recent call last):' in starts[1]
    assert got[-1] == "    KeyError: 'k'\""
    recs = json_lines(j)  # JSON: one line per record, the text one escaped member
    assert len(recs) == 2 and len(lines(j)) == 2
    assert recs[0]["msg"] == "first line\nsecond line\n2026-01-01T00:00:00Z ERROR forged"
    assert recs[1]["exception"].endswith("KeyError: 'k'")


def test_multiline_escape_keeps_one_line_per_record(tmp_path):
    p = tmp_path / "a.log"
    with alog.Logger(p, pattern="{msg}", multiline="escape") as log:
        log.info("a\nb")
    assert lines(p) == ["a\\nb"]


def test_level_names_come_from_logging(tmp_path, logger):
    logging.addLevelName(25, "NOTICE")
    try:
        p, j = tmp_path / "a.log", tmp_path / "a.jsonl"
        h = alog.Handler(str(p), pattern="{level} {msg}")
        hj = alog.Handler(str(j), format="json")
        logger.addHandler(h)
        logger.addHandler(hj)
        logger.log(25, "noticed")
        logger.warning("warned")
        logger.critical("critical")
        logger.info("informed")
        h.close()
        hj.close()
        assert lines(p) == ["NOTICE noticed", "WARNING warned", "CRITICAL critical", "INFO informed"]
        assert [r["level"] for r in json_lines(j)] == ["NOTICE", "WARNING", "CRITICAL", "INFO"]
        # The native logger keeps the engine's names unless told otherwise.
        q = tmp_path / "n.log"
        with alog.Logger(q, pattern="{level} {msg}") as log:
            log.warning("w")
            log.log(25, "n")
        with alog.Logger(q, pattern="{level} {msg}", level_names="warn=WARNING") as log:
            log.warning("w")
        assert lines(q) == ["WARN w", "INFO3 n", "WARNING w"]
    finally:
        del logging._levelToName[25], logging._nameToLevel["NOTICE"]
