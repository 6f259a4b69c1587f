"""Helpers shared by the tests of the Python binding."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import List

import pytest

import alog


def lines(path: Path) -> List[str]:
    return Path(path).read_text(encoding="utf-8").splitlines()


def json_lines(path: Path) -> List[dict]:
    return [json.loads(line) for line in lines(path)]


def message(line: str) -> str:
    """The message of a default text line: everything after '<ts> <LEVEL> '."""
    return line.split(" ", 2)[2]


def run_python(code: str, *args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter and returns the finished process."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True, text=True, timeout=timeout, **kw,
    )


class Stall:
    """An `on_batch` sink that records each batch's lines and holds the writer inside the
    first batch containing the line "stall" until `release()`."""

    def __init__(self) -> None:
        self.seen: List[str] = []
        self.entered = threading.Event()
        self.gate = threading.Event()

    def __call__(self, batch: bytes) -> None:
        got = batch.decode().splitlines()
        self.seen.extend(got)
        if "stall" in got and not self.gate.is_set():
            self.entered.set()
            assert self.gate.wait(60), "the test never released the sink"

    def release(self) -> None:
        self.gate.set()


def stalled(**config) -> "tuple[alog.Logger, Stall]":
    """A logger whose writer is held inside its only sink, with one record ("stall") taken."""
    sink = Stall()
    config.setdefault("batch_size", 1)
    # The callback's lane holds only the batch being delivered: records wait in the queue.
    config.setdefault("callback.backlog", 0)
    log = alog.Logger(None, on_batch=sink, pattern="{msg}", **config)
    log.info("stall")
    assert sink.entered.wait(10)
    return log, sink


@pytest.fixture
def logger(request):
    """A `logging` logger of its own for the test module (alogtest.<module>), at DEBUG, not
    propagating; its handlers are closed after the test."""
    import logging

    lg = logging.getLogger("alogtest." + request.module.__name__.replace("test_", ""))
    lg.propagate = False
    lg.setLevel(logging.DEBUG)
    yield lg
    for h in list(lg.handlers):
        lg.removeHandler(h)
        h.close()


@pytest.fixture(autouse=True)
def _no_forced_sync(monkeypatch):
    monkeypatch.delenv("ALOG_SYNC", raising=False)
