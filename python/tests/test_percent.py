"""`%`-formats deferred to the writer: the file holds exactly what `msg % args` gives.

Formats that printf renders alike travel unformatted (their arguments copied, the text made by
the writer); the others are formatted by Python on the caller's thread. Either way the line
must be byte for byte what Python's own `%` produces, which is what these tests compare.
"""

from __future__ import annotations

import enum
import itertools
import logging
import math
import random
import struct

import alog
from alog import _alog
from conftest import lines, run_python

_tags = itertools.count()


def tagged(cases):
    """Each format gets a tag of its own, so that it is new to the process's format cache."""
    out = []
    for fmt, args in cases:
        out.append((f"[{next(_tags)}] {fmt}", args))
    return out


class Color(enum.IntEnum):
    RED = 1


class Name(str):
    def __str__(self):
        return "custom"


# Rendered by the writer: each (format, arguments) becomes one call site.
DEFERRED = [
    ("%d", (0,)),
    ("%d|%d", (2**63 - 1, -(2**63))),
    ("%5d|%-5d|%05d|%+d|% d", (42, -42, 7, 3, 3)),
    ("%.3d|%i|%u|%ld|%lu", (5, 7, -5, 3, 4)),
    ("%x %X %o %08x", (255, 255, 8, 255)),
    ("%f|%.1f|%.2f|%.0f|%.0f", (1.5, 1.25, 2.675, 0.5, 1.5)),
    ("%e|%.3E|%g|%G|%g|%g", (12345.678, 1e-300, 1e16, 1e-5, 100000.0, 1e6)),
    ("%10.4f|%-10.2f|%+.1f|%#.0f|%#g", (math.pi, -0.0, 2.0, 2.0, 1.0)),
    ("%f %f %F %f %E", (math.inf, -math.inf, math.nan, -math.nan, -math.inf)),
    ("%.20f|%e|%f|%f", (0.1, 0.0, 3, 2**53 + 1)),
    ("%s|%s|%s|%s|%s|%s", ("hello", "héllo ☃", "", "100%", "tab\there", "nul\x00byte")),
    ("%s %s", (42, -7)),
    ("%s %s %s", (True, False, None)),
    ("%10s|%-10s|%5s|%-5s|", ("abc", "abc", 42, 42)),
    ("%s and %s", ("a", 1)),
    ("%% literal %s %%", ("x",)),
    ("request %d handled in %.1f ms", (12, 1.5)),
    ("%d" * 16, tuple(range(16))),
]

# Formatted by Python on the caller's thread (printf would render them differently).
FORMATTED_BY_PYTHON = [
    ("%s", (1.5,)),
    ("%r", ("x",)),
    ("%c", (65,)),
    ("%(a)s", ({"a": 1},)),
    ("%#x|%#o", (255, 8)),
    ("%x", (-255,)),
    ("%.2s", ("héllo",)),
    ("%10s", ("héllo",)),
    ("%d", (True,)),
    ("%d|%s", (2**70, 2**70)),
    ("%s", ([1, 2],)),
    ("%d", (1.7,)),
    ("%*d", (5, 42)),
    ("%d|%s", (Color.RED, Color.RED)),
    ("%s", (Name("n"),)),
    ("%05.3d", (5,)),
    ("%.0d|%.x|%+x|% o", (0, 0, 255, 8)),
    ("%05f|%012.3e", (math.inf, math.nan)),
    ("%s", ("lone \udc80 surrogate",)),
    ("%d" * 17, tuple(range(17))),
]


def expected(fmt, args):
    if len(args) == 1 and isinstance(args[0], dict):
        return fmt % args[0]
    return fmt % args


def test_logger_defers_formats_printf_renders_alike(tmp_path):
    p = tmp_path / "a.log"
    log = alog.Logger(str(p), pattern="{msg}", multiline="escape")
    deferred, python = tagged(DEFERRED), tagged(FORMATTED_BY_PYTHON)
    before = _alog._deferred_formats()
    for fmt, args in deferred:
        log.info(fmt, *args)
    after_deferred = _alog._deferred_formats()
    for fmt, args in python:
        if len(args) == 1 and isinstance(args[0], dict):
            log.info(fmt, args[0])
        else:
            log.info(fmt, *args)
    after_python = _alog._deferred_formats()
    # The same formats again: already registered, no new site.
    for fmt, args in deferred:
        log.info(fmt, *args)
    assert _alog._deferred_formats() == after_python
    log.close()
    assert log.stats().written == 2 * len(deferred) + len(python)
    assert after_deferred - before == len(deferred)
    assert after_python == after_deferred
    want = [expected(f, a) for f, a in deferred + python + deferred]
    got = lines(p)
    # The lone surrogate is written as the engine writes any such byte (escaped), so that line
    # is compared with what the engine writes for the preformatted message instead.
    surrogate = next(i for i, w in enumerate(want) if "\udc80" in w)
    want[surrogate] = got[surrogate]
    assert "surrogate" in got[surrogate] and "\\x" in got[surrogate]
    # Python's %-output, escaped as the engine escapes control characters in any message.
    assert got == [w.replace("\t", "\\t").replace("\x00", "\\x00") for w in want]


def test_deferred_and_preformatted_messages_are_escaped_alike(tmp_path):
    """A hostile argument (newlines, escapes, control bytes, a forged line) cannot change the
    line: the deferred text goes through the same escaping as a message formatted in Python."""
    p = tmp_path / "a.log"
    log = alog.Logger(str(p), pattern="{level} {msg}", multiline="escape")
    hostile = ["a\nERROR forged line", "\x1b[31mred\x1b[0m", "back\\slash", "\r\n\x7f\x01", "é\u2028x"]
    for i, h in enumerate(hostile):
        fmt = f"[esc {next(_tags)}] user=%s n=%d"
        log.info(fmt, h, i)
        log.write(fmt % (h, i), level="INFO")
    log.close()
    got = lines(p)
    assert len(got) == 2 * len(hostile)
    for i in range(len(hostile)):
        assert got[2 * i] == got[2 * i + 1]
        assert got[2 * i].startswith("INFO ")
    assert not any(line.startswith("ERROR") for line in got)


def test_handler_defers_and_matches_logging(tmp_path):
    p = tmp_path / "h.log"
    h = alog.Handler(str(p), pattern="{msg}", multiline="escape")
    lg = logging.getLogger("alogtest.percent")
    lg.propagate = False
    lg.setLevel(logging.DEBUG)
    lg.addHandler(h)
    try:
        deferred, python = tagged(DEFERRED), tagged(FORMATTED_BY_PYTHON)
        before = _alog._deferred_formats()
        for fmt, args in deferred + python:
            lg.info(fmt, *args)
        lg.debug("[%d] a level the handler takes: %s", 1, "yes")
        h.flush()
        assert _alog._deferred_formats() - before == len(deferred) + 1
    finally:
        lg.removeHandler(h)
        h.close()
    got = lines(p)
    want = [expected(f, a) for f, a in deferred + python] + ["[1] a level the handler takes: yes"]
    surrogate = next(i for i, w in enumerate(want) if "\udc80" in w)
    want[surrogate] = got[surrogate]
    assert got == [w.replace("\t", "\\t").replace("\x00", "\\x00") for w in want]
    assert h.stats().written == len(want)


def test_messages_without_arguments_are_not_formats(tmp_path):
    """Without arguments a message is printed as it is, `%` signs and all, as logging does;
    it never becomes a call site."""
    p = tmp_path / "h.log"
    h = alog.Handler(str(p), pattern="{msg}")
    lg = logging.getLogger("alogtest.percent.noargs")
    lg.propagate = False
    lg.setLevel(logging.INFO)
    lg.addHandler(h)
    log = alog.Logger(str(tmp_path / "l.log"), pattern="{msg}")
    msgs = ["100%% done", "50% %d %s", "plain"]
    try:
        before = _alog._deferred_formats()
        for m in msgs:
            lg.info(m)
            log.info(m)
        assert _alog._deferred_formats() == before
    finally:
        lg.removeHandler(h)
        h.close()
        log.close()
    assert lines(p) == msgs
    assert lines(tmp_path / "l.log") == msgs


def test_handler_with_fields_formats_in_python(tmp_path):
    """A sink that shows the record's fields gets a structured record: the message is formatted
    by Python (no call site), and every field is there."""
    p = tmp_path / "h.jsonl"
    h = alog.Handler(str(p), format="json")
    lg = logging.getLogger("alogtest.percent.json")
    lg.propagate = False
    lg.addHandler(h)
    lg.setLevel(logging.INFO)
    try:
        before = _alog._deferred_formats()
        lg.info("[json %d] took %.1f ms", next(_tags), 2.25, extra={"user": "ann"})
        assert _alog._deferred_formats() == before
    finally:
        lg.removeHandler(h)
        h.close()
    import json

    [r] = [json.loads(line) for line in lines(p)]
    assert r["msg"].endswith("] took 2.2 ms") and r["user"] == "ann" and r["logger"] == "alogtest.percent.json"


def test_wrong_arguments_raise_as_python_does(tmp_path):
    log = alog.Logger(str(tmp_path / "a.log"), pattern="{msg}")
    fmt = f"[bad {next(_tags)}] %d %d"
    try:
        log.info(fmt, 1)
    except TypeError as e:
        assert "not enough arguments" in str(e)
    else:
        raise AssertionError("a missing argument must raise TypeError")
    try:
        log.info(fmt, 1, 2, 3)
    except TypeError as e:
        assert "not all arguments converted" in str(e)
    else:
        raise AssertionError("an extra argument must raise TypeError")
    log.info(fmt, 1, 2)
    log.close()
    assert lines(tmp_path / "a.log") == [fmt % (1, 2)]
    assert log.stats().written == 1


def test_random_formats_match_python(tmp_path):
    """Thousands of random conversions (every flag, widths, precisions, conversions) of random
    values (integers across 64 bits, floats from random bit patterns, NaN, infinities, non-ASCII
    strings): each line is what Python's `%` gives, whether deferred or not."""
    rng = random.Random(20261203)
    flags = ["", "-", "+", " ", "0", "#", "-+", "+0", " 0", "-0", "#0", "+#"]
    widths = ["", "1", "5", "12"]
    precs = ["", ".", ".0", ".1", ".3", ".10"]
    ints = [rng.getrandbits(64) - 2**63 for _ in range(30)] + [0, 1, -1, 42, 255, 2**63 - 1, -(2**63)]
    floats = [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(60)]
    floats += [0.0, -0.0, 0.5, 2.5, 0.1, 1e22, 5e-324, math.inf, -math.inf, math.nan, -math.nan]
    strs = ["", "a", "hello world", "héllo", "☃", "a\u0301b"]
    pools = {"s": ints + strs + [True, False, None], "e": floats + ints, "f": floats + ints, "g": floats + ints}
    cases = []
    for i in range(3000):
        conv = rng.choice("diuxXoeEfFgGs")
        spec = "%" + rng.choice(flags) + rng.choice(widths) + rng.choice(precs) + conv
        value = rng.choice(pools.get(conv.lower(), ints))
        try:
            want = spec % (value,)
        except (TypeError, ValueError):
            continue
        cases.append((f"[rnd {next(_tags)}] {spec}|", value, want))
    p = tmp_path / "r.log"
    log = alog.Logger(str(p), pattern="{msg}")
    before = _alog._deferred_formats()
    for fmt, value, _ in cases:
        log.info(fmt, value)
    deferred = _alog._deferred_formats() - before
    log.close()
    got = lines(p)
    assert len(got) == len(cases) > 2500
    mismatched = [(f, v, w, g) for (f, v, w), g in zip(cases, got) if g.split("] ", 1)[1] != w + "|"]
    assert mismatched == []
    # About half the conversions defer (the rest are the cases printf renders differently).
    assert len(cases) // 3 < deferred < len(cases)


def test_formats_built_at_run_time_stay_bounded(tmp_path):
    """A program that puts data in the format itself registers at most the cache's bound of
    call sites (4096); every record is still written exactly. In a fresh interpreter, so that
    the bound is reached by this test alone."""
    r = run_python(
        """
        import sys, alog
        from alog import _alog
        log = alog.Logger(sys.argv[1], pattern="{msg}")
        for i in range(5000):
            log.info(f"[dyn {i}] %d", i)
        log.close()
        print(_alog._deferred_formats(), log.stats().written)
        """,
        str(tmp_path / "a.log"),
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["4096", "5000"]
    assert lines(tmp_path / "a.log") == [f"[dyn {i}] {i}" for i in range(5000)]
