"""The examples of python/README.md run and write what the README says."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import run_python

README = Path(__file__).resolve().parent.parent / "README.md"


def blocks(lang: str):
    """The bodies of the README's fenced blocks tagged `lang` ("" for untagged)."""
    found = re.findall(r"```(\w*)\n(.*?)```", README.read_text(), flags=re.S)
    return [body for tag, body in found if tag == lang]


def test_native_logger_example(tmp_path):
    code = next(b for b in blocks("python") if "alog.Logger(" in b)
    r = run_python(code, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(x) for x in (tmp_path / "logs/app.log").read_text().splitlines()]
    assert [(x["level"], x["msg"]) for x in recs] == [
        ("INFO", "service started"), ("WARN", "slow request /api took 1250 ms"),
        ("ERROR", "failed"), ("ERROR", "division failed")]
    assert recs[1]["user"] == "ann" and recs[2] == {**recs[2], "request_id": 7, "attempt": 3}
    assert recs[3]["exception"].endswith("ZeroDivisionError: division by zero")
    assert r.stdout.startswith("Stats(submitted=4, written=4,")


def test_dict_config_example(tmp_path):
    code = next(b for b in blocks("python") if "dictConfig" in b)
    r = run_python(code, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    [rec] = [json.loads(x) for x in (tmp_path / "logs/app.jsonl").read_text().splitlines()]
    documented = json.loads(next(b for b in blocks("") if '"low stock"' in b))
    assert list(rec) == list(documented)
    assert {k: rec[k] for k in ("level", "msg", "logger", "thread", "sku", "left")} == {
        k: documented[k] for k in ("level", "msg", "logger", "thread", "sku", "left")}


def test_logxpy_example(tmp_path):
    code = next(b for b in blocks("python") if "AsyncWriter" in b)
    r = run_python(code, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "events.jsonl").read_text() == '{"event":"login","user":"ann"}\n'
    assert r.stdout.startswith("AsyncMetrics(enqueued=1, written=")
