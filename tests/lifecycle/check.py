#!/usr/bin/env python3
"""Checks log text (files or stdin) written by logwriter: every line well formed (text or
JSON), each record "w<ID> n<I> ..." at most once and in each writer's order, and either every
record of every writer present (--writers W --count N) or exactly --expect records present.

  check.py --writers 4 --count 200000 [--expect N] [FILE ...]
"""
import argparse
import json
import re
import sys

TEXT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z INFO (w\d+ n\d+ abcdefghijklmnopqrstuvwxyz)$")


def message(line):
    if line.startswith("{"):
        obj = json.loads(line)
        return obj["msg"]
    m = TEXT.match(line)
    if not m:
        raise ValueError(f"malformed line: {line!r}")
    return m.group(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--writers", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--expect", type=int, help="records present (when some may fail)")
    ap.add_argument("--some-missing", action="store_true",
                    help="records may be missing (copytruncate loses some, and the copy may end in"
                         " the middle of the line being written: that last line counts as lost);"
                         " none twice, none torn elsewhere")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    seen = {}  # writer -> last index
    total = 0
    cut = 0  # files whose copy ended inside a line (--some-missing)
    streams = [open(f, encoding="utf-8", newline="\n") for f in a.files] or [sys.stdin]
    for s in streams:
        for lineno, line in enumerate(s, 1):
            if not line.endswith("\n"):
                # Only a file's last line can lack its newline. logrotate's copy reads while a
                # write is under way and the truncation then drops the rest: the record is lost.
                if a.some_missing:
                    cut += 1
                    continue
                sys.exit(f"check: torn last line in {s.name}: {line!r}")
            try:
                msg = message(line[:-1])
            except ValueError as e:
                sys.exit(f"check: {s.name}:{lineno}: {e}")
            w, n = msg.split(" ")[:2]
            w, n = int(w[1:]), int(n[1:])
            if w >= a.writers or n >= a.count:
                sys.exit(f"check: unexpected record {msg!r}")
            last = seen.get(w, -1)
            if n <= last:
                sys.exit(f"check: writer {w}: record {n} after {last} (duplicate or out of order)")
            if a.expect is None and not a.some_missing and n != last + 1:
                sys.exit(f"check: writer {w}: records {last + 1}..{n - 1} missing")
            seen[w] = n
            total += 1
    want = a.expect if a.expect is not None else a.writers * a.count
    if a.some_missing:
        print(f"check: {total} of {want} records, none twice, none torn inside a file, in order"
              f" ({cut} copies ended inside the line being written)")
        return
    if total != want:
        sys.exit(f"check: {total} records, expected {want}")
    print(f"check: {total} records, each once, in order")


main()
