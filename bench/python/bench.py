"""Per-call cost and end-to-end time of Python loggers on one workload, in one run.

Each configuration runs in a fresh interpreter (loggers keep global state): it logs
--records records from one thread, then drains and closes. Per call = time spent in the
logging calls / records; end to end = from the first call until every line is in the file.
Every run checks that the file holds exactly --records lines.

On a machine whose speed drifts (a shared VM), the per-call figures of separate processes move
by tens of percent between runs. The paired measurement compares `alog.Handler` with the
do-nothing floor inside one interpreter instead: blocks of 1,000 calls alternate between a
logger with each handler, and the overhead is the median of the block pairs' ratios.

    python3 bench/python/bench.py [--records 100000] [--runs 3] [--markdown out.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

PEERS = [
    ("alog.Logger (native)", "alog_native"),
    ("logging + alog.Handler", "alog_handler"),
    ("logging + FileHandler", "logging_file"),
    ("logging + QueueHandler + QueueListener + FileHandler", "logging_queue"),
    ("loguru, enqueue=True", "loguru_enqueue"),
    ("picologging + FileHandler", "picologging_file"),
    ("logging + a handler that does nothing (floor)", "logging_floor"),
]
WORKLOADS = {
    "plain": "a preformatted 60-byte message",
    "args": "a %-format with two arguments (`'request %d handled in %.1f ms', i, 1.5`)",
}
FMT = "%(asctime)s %(levelname)s %(message)s"
MSG = "request handled: user=ann path=/api/v1/items status=200 ok"


def child(peer: str, workload: str, n: int, path: str) -> dict:
    plain = workload == "plain"
    if peer == "alog_native":
        import alog

        log = alog.Logger(path)
        call, end = log.info, log.close
    elif peer in ("alog_handler", "logging_file", "logging_queue", "picologging_file", "logging_floor"):
        if peer == "picologging_file":
            import picologging as logging
        else:
            import logging
            import logging.handlers
        lg = logging.getLogger("bench")
        lg.propagate = False
        lg.setLevel(logging.INFO)
        if peer == "logging_floor":

            class Nothing(logging.Handler):
                def handle(self, record):
                    return True

            lg.addHandler(Nothing())
            open(path, "w").close()
            end = lambda: None  # noqa: E731
        elif peer == "alog_handler":
            import alog

            h = alog.Handler(path, pattern="{ts} {level} {msg}")
            lg.addHandler(h)
            end = h.close
        else:
            fh = logging.FileHandler(path)
            fh.setFormatter(logging.Formatter(FMT))
            if peer == "logging_queue":
                import queue

                q: queue.Queue = queue.Queue(-1)
                lg.addHandler(logging.handlers.QueueHandler(q))
                listener = logging.handlers.QueueListener(q, fh)
                listener.start()

                def end():
                    listener.stop()
                    fh.close()
            else:
                lg.addHandler(fh)
                end = fh.close
        call = lg.info
    elif peer == "loguru_enqueue":
        from loguru import logger

        logger.remove()
        logger.add(path, enqueue=True, format="{time} {level} {message}")
        call, end = logger.info, logger.remove
    else:
        raise SystemExit(f"unknown peer {peer}")

    if plain:
        t0 = time.perf_counter()
        for _ in range(n):
            call(MSG)
        t1 = time.perf_counter()
    elif peer == "loguru_enqueue":  # loguru formats with str.format
        t0 = time.perf_counter()
        for i in range(n):
            call("request {} handled in {:.1f} ms", i, 1.5)
        t1 = time.perf_counter()
    else:
        t0 = time.perf_counter()
        for i in range(n):
            call("request %d handled in %.1f ms", i, 1.5)
        t1 = time.perf_counter()
    end()
    t2 = time.perf_counter()
    with open(path, "rb") as f:
        lines = sum(1 for _ in f)
    return {"per_call_ns": (t1 - t0) / n * 1e9, "e2e_s": t2 - t0, "lines": lines}


PAIR_BLOCK = 1000


def paired(workload: str, n: int, path: str) -> dict:
    """alog.Handler against the do-nothing floor, alternating blocks in one interpreter."""
    import logging

    import alog

    class Nothing(logging.Handler):
        def handle(self, record):
            return True

    loggers = {}
    for name, handler in (("alog", alog.Handler(path, pattern="{ts} {level} {msg}")), ("floor", Nothing())):
        lg = logging.getLogger(f"bench.paired.{name}")
        lg.propagate = False
        lg.setLevel(logging.INFO)
        lg.addHandler(handler)
        loggers[name] = (lg.info, handler)
    ratios = []
    for b in range(n // PAIR_BLOCK):
        took = {}
        # Which goes first alternates too, so that neither always follows the other.
        for name in (("alog", "floor") if b % 2 == 0 else ("floor", "alog")):
            call = loggers[name][0]
            t0 = time.perf_counter()
            if workload == "plain":
                for _ in range(PAIR_BLOCK):
                    call(MSG)
            else:
                for i in range(PAIR_BLOCK):
                    call("request %d handled in %.1f ms", i, 1.5)
            took[name] = time.perf_counter() - t0
        ratios.append(took["alog"] / took["floor"])
    loggers["alog"][1].close()
    with open(path, "rb") as f:
        lines = sum(1 for _ in f)
    q = statistics.quantiles(ratios, n=4)
    return {"median": statistics.median(ratios), "q1": q[0], "q3": q[2], "lines": lines,
            "expected": (n // PAIR_BLOCK) * PAIR_BLOCK}


def available(peer: str) -> bool:
    mod = {"loguru_enqueue": "loguru", "picologging_file": "picologging"}.get(peer, "alog" if "alog" in peer else "logging")
    return subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True).returncode == 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--markdown")
    ap.add_argument("--child", nargs=4, metavar=("PEER", "WORKLOAD", "N", "PATH"))
    a = ap.parse_args()
    if a.child:
        peer, workload, n, path = a.child
        if peer == "paired":
            print(json.dumps(paired(workload, int(n), path)))
        else:
            print(json.dumps(child(peer, workload, int(n), path)))
        return

    results: dict = {}
    with tempfile.TemporaryDirectory() as d:
        for run in range(a.runs):
            for workload in WORKLOADS:
                for label, peer in PEERS:
                    if not available(peer):
                        continue
                    path = os.path.join(d, f"{peer}-{workload}-{run}.log")
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", peer, workload, str(a.records), path],
                        capture_output=True, text=True, check=True)
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    if r["lines"] != (0 if peer == "logging_floor" else a.records):
                        raise SystemExit(f"{label} wrote {r['lines']} lines, expected {a.records}")
                    os.unlink(path)
                    results.setdefault((workload, peer), []).append(r)
                    print(f"run {run + 1} {workload:5s} {label:55s} {r['per_call_ns']:9.0f} ns/call "
                          f"{r['e2e_s']:7.3f} s end to end", file=sys.stderr)

        pairs = {}
        if available("alog_handler"):
            for workload in WORKLOADS:
                path = os.path.join(d, f"paired-{workload}.log")
                out = subprocess.run(
                    [sys.executable, __file__, "--child", "paired", workload, str(a.records), path],
                    capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                if r["lines"] != r["expected"]:
                    raise SystemExit(f"paired alog.Handler wrote {r['lines']} lines, expected {r['expected']}")
                pairs[workload] = r
                print(f"paired {workload:5s} alog.Handler / floor: median {r['median']:.3f} "
                      f"(quartiles {r['q1']:.3f}-{r['q3']:.3f})", file=sys.stderr)

    def med(workload, peer, key):
        return statistics.median(x[key] for x in results[(workload, peer)])

    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    out = [
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}, {a.records:,} records from one thread, median of "
        f"{a.runs} runs, each configuration in a fresh interpreter. Per call: time in the logging "
        "calls / records. End to end: from the first call until every line is in the file "
        "(close / listener stop / `logger.remove()` included). Ratios: peer / alog.Logger; "
        "for the Handler rows also peer / (logging + alog.Handler).",
        "",
    ]
    for workload, desc in WORKLOADS.items():
        out += [f"Workload `{workload}`: {desc}.", "",
                "| logger | per call | end to end | per call vs alog.Logger | per call vs alog.Handler | end to end vs alog.Handler |",
                "|---|---:|---:|---:|---:|---:|"]
        base = med(workload, "alog_native", "per_call_ns") if (workload, "alog_native") in results else None
        hb = med(workload, "alog_handler", "per_call_ns") if (workload, "alog_handler") in results else None
        he = med(workload, "alog_handler", "e2e_s") if (workload, "alog_handler") in results else None
        for label, peer in PEERS:
            if (workload, peer) not in results:
                out.append(f"| {label} | not installed | | | | |")
                continue
            pc, e2e = med(workload, peer, "per_call_ns"), med(workload, peer, "e2e_s")
            r1 = f"{pc / base:.1f}x" if base else ""
            r2 = f"{pc / hb:.1f}x" if hb else ""
            r3 = f"{e2e / he:.1f}x" if he else ""
            out.append(f"| {label} | {pc:,.0f} ns | {e2e:.3f} s | {r1} | {r2} | {r3} |")
        out.append("")
    if pairs:
        out += [f"Paired, in one interpreter: `alog.Handler`'s per-call cost over the do-nothing "
                f"floor's, blocks of {PAIR_BLOCK:,} calls alternating between the two loggers, "
                f"{a.records // PAIR_BLOCK} pairs (median and quartiles of the pairs' ratios).", "",
                "| workload | alog.Handler / floor, median | quartiles |", "|---|---:|---:|"]
        for workload, r in pairs.items():
            out.append(f"| `{workload}` | {r['median']:.3f} ({(r['median'] - 1) * 100:+.0f}%) | "
                       f"{r['q1']:.3f}-{r['q3']:.3f} |")
        out.append("")
    text = "\n".join(out)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
