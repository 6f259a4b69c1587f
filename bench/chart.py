#!/usr/bin/env python3
"""Draws the latency percentiles of a bench/run.sh report as an SVG bar chart.

    python3 bench/chart.py REPORT.md OUT.svg

REPORT.md is what bench/run.sh prints (or the generated block of bench/RESULTS.md):
the "### Latency" table gives, per logger, p50, p99, p99.9 and max in ns; the
"Date:" and "load average" of the header go into the subtitle. Every logger is
one group of four horizontal bars on a log scale (the values span 10 ns to
milliseconds). Standard library only. Exits 1 with a message naming what is
missing when the report has no usable latency table.
"""

import math
import re
import sys
from xml.sax.saxutils import escape

SERIES = [  # (column header in the report, legend, colour)
    ("p50 ns", "p50", "#4c78a8"),
    ("p99 ns", "p99", "#f58518"),
    ("p99.9 ns", "p99.9", "#e45756"),
    ("max ns", "max", "#9d9d9d"),
]


def fail(msg):
    sys.stderr.write("chart.py: %s\n" % msg)
    sys.exit(1)


def parse_report(text):
    """Returns (rows, date, load): rows = [(label, {header: ns})] of the latency table."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("### Latency")), None)
    if start is None:
        fail("no '### Latency' table in the report")
    header = None
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("### ") or (rows and not line.startswith("|")):
            break
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if set(cells[0]) <= set("-:"):
            continue  # the |---| line
        values = {}
        for head, _, _ in SERIES:
            if head not in header:
                fail("the latency table has no '%s' column" % head)
            cell = cells[header.index(head)].replace(",", "")
            try:
                values[head] = float(cell)
            except ValueError:
                fail("logger '%s': '%s' is not a number in column '%s'" % (cells[0], cell, head))
        rows.append((cells[0].replace("`", ""), values))
    if not rows:
        fail("the latency table has no rows")
    date = re.search(r"^Date: (.*)$", text, re.M)
    load = re.search(r"load average before the run: ([0-9. ]+)", text)
    return rows, date.group(1) if date else "", load.group(1).strip() if load else ""


def human_ns(ns):
    if ns < 1000:
        return "%.0f ns" % ns
    if ns < 1e6:
        return ("%.1f us" if ns < 1e4 else "%.0f us") % (ns / 1e3)
    return ("%.1f ms" if ns < 1e7 else "%.0f ms") % (ns / 1e6)


def decade(ns):
    for unit, scale in (("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return "%g %s" % (ns / scale, unit)
    return "%g ns" % ns


def svg(rows, date, load):
    bar_h, bar_gap, group_gap = 7, 1, 12
    label_w, plot_w, right = 300, 560, 70
    top, bottom = 78, 40
    group_h = len(SERIES) * (bar_h + bar_gap) - bar_gap
    plot_h = len(rows) * (group_h + group_gap) - group_gap
    width, height = label_w + plot_w + right, top + plot_h + bottom

    values = [max(v[h], 1.0) for _, v in rows for h, _, _ in SERIES]
    lo = 10 ** math.floor(math.log10(min(values)) - 0.05)  # a bar at exactly 10^k stays visible
    hi = 10 ** math.ceil(math.log10(max(values)))
    if hi <= lo:
        hi = lo * 10

    def x(ns):
        return label_w + plot_w * (math.log10(max(ns, 1.0)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    out = []
    add = out.append
    add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="Helvetica, Arial, sans-serif" font-size="11">' % (width, height, width, height))
    title = "Latency per call, one call every ~2 us: p50, p99, p99.9 and max (ns, log scale, lower is better)"
    add("<title>%s</title>" % escape(title))
    add('<rect width="100%" height="100%" fill="white"/>')
    add('<text x="10" y="20" font-size="14" font-weight="bold">%s</text>' % escape(title))
    sub = "bench/run.sh"
    if date:
        sub += ", " + date
    if load:
        sub += "; load average before the run: " + load
    add('<text x="10" y="38" fill="#555">%s</text>' % escape(sub))
    # legend
    lx = label_w
    for _, name, colour in SERIES:
        add('<rect x="%d" y="50" width="12" height="10" fill="%s"/>' % (lx, colour))
        add('<text x="%d" y="59">%s</text>' % (lx + 16, escape(name)))
        lx += 70
    # decades: grid lines and axis labels
    d = lo
    while d <= hi * 1.0001:
        gx = x(d)
        add('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (gx, top - 4, gx, top + plot_h + 4))
        add('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>' % (gx, top + plot_h + 18, decade(d)))
        d *= 10
    add('<text x="%d" y="%d" text-anchor="middle" fill="#555">ns per call (log scale)</text>'
        % (label_w + plot_w // 2, top + plot_h + 34))
    # one group per logger
    for i, (label, v) in enumerate(rows):
        gy = top + i * (group_h + group_gap)
        bold = ' font-weight="bold"' if label.lower().startswith(("alog", "quill")) else ""
        add('<g class="logger" data-label="%s">' % escape(label, {'"': "&quot;"}))
        add('<text x="%d" y="%.1f" text-anchor="end"%s>%s</text>'
            % (label_w - 8, gy + group_h / 2 + 4, bold, escape(label)))
        for j, (head, name, colour) in enumerate(SERIES):
            by = gy + j * (bar_h + bar_gap)
            bx = x(v[head])
            add('<rect class="bar" data-series="%s" data-ns="%g" x="%d" y="%d" width="%.1f" height="%d" fill="%s">'
                '<title>%s %s: %s</title></rect>'
                % (name, v[head], label_w, by, max(bx - label_w, 0.5), bar_h, colour, escape(label), name,
                   human_ns(v[head])))
            add('<text x="%.1f" y="%d" font-size="8" fill="#333">%s</text>' % (bx + 3, by + bar_h, human_ns(v[head])))
        add("</g>")
    add("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 3:
        fail("usage: chart.py REPORT.md OUT.svg")
    try:
        with open(argv[1], encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        fail("cannot read %s: %s" % (argv[1], e.strerror))
    rows, date, load = parse_report(text)
    with open(argv[2], "w", encoding="utf-8") as f:
        f.write(svg(rows, date, load))


if __name__ == "__main__":
    main(sys.argv)
