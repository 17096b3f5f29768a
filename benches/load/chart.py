#!/usr/bin/env python3
"""Latency by percentile, as an SVG: HdrHistogram's classic plot.

Reads the "Detailed Percentile spectrum" that `wrk2 --latency` prints (and
`loadgen --latency`, in the same format) from each FILE and draws one line
per series: latency (ms, linear) against the percentile on a log-scaled
1/(1-p) axis, so 90 %, 99 %, 99.9 % and 99.99 % are evenly spaced. Python's
standard library only.

    benches/load/chart.py OUT.svg "LABEL=FILE" ... [--title T] [--note N]...

(LABEL ends at the last `=`.)

Each --note is a line under the title (what ran, where, when).
"""

import argparse
import html
import math
import sys

COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
W, H = 860, 520
LEFT, RIGHT, BOTTOM = 70, 44, 58  # the top margin grows with the notes


def spectrum(path):
    """[(percentile 0..1, value ms)] and (mean, max) from a wrk2-style file."""
    points, inside, mean, peak = [], False, None, None
    for line in open(path, encoding="utf-8", errors="replace"):
        if "Detailed Percentile spectrum" in line:
            inside, points = True, []
            continue
        if not inside:
            continue
        if line.startswith("#[Mean"):
            mean = float(line.split("=")[1].split(",")[0])
        elif line.startswith("#[Max"):
            peak = float(line.split("=")[1].split(",")[0])
            inside = False
        else:
            f = line.split()
            if len(f) == 4 and f[0][0].isdigit():
                points.append((float(f[1]), float(f[0])))
    if not points:
        sys.exit(f"chart.py: no 'Detailed Percentile spectrum' in {path} (wrk2 --latency or loadgen --latency)")
    return points, mean, peak if peak is not None else points[-1][1]


def nice_ceiling(v):
    """The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k at or above v."""
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    return next(m * e for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * e >= v)


def percent_label(nines):
    """The percentile 1 - 10^-nines as text: 0 → 0%, 1 → 90%, 3 → 99.9%."""
    return "0%" if nines == 0 else f"{100 - 100 / 10 ** nines:.{max(0, nines - 2)}f}%"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("series", nargs="+", help="LABEL=FILE")
    ap.add_argument("--title", default="Latency by percentile")
    ap.add_argument("--note", action="append", default=[])
    a = ap.parse_args()

    series = []
    for s in a.series:
        label, _, path = s.rpartition("=")
        if not path:
            sys.exit(f"chart.py: a series is LABEL=FILE, not {s!r}")
        series.append((label, *spectrum(path)))

    # x: log10(1/(1-p)), up to the decade past the last finite percentile.
    finite = [p for _, pts, _, _ in series for p, _ in pts if p < 1]
    nines = max(2, min(6, math.ceil(math.log10(1 / (1 - max(finite))) - 1e-9)))
    ymax = nice_ceiling(max(v for _, pts, _, _ in series for _, v in pts) * 1.05)
    top = 44 + 18 * len(a.note)
    pw, ph = W - LEFT - RIGHT, H - top - BOTTOM
    x = lambda p: LEFT + pw * min(math.log10(1 / (1 - p)), nines) / nines
    y = lambda v: top + ph * (1 - v / ymax)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{LEFT}" y="24" font-size="16" font-weight="bold">{html.escape(a.title)}</text>']
    for i, n in enumerate(a.note):
        out.append(f'<text x="{LEFT}" y="{44 + 18 * i}" fill="#444">{html.escape(n)}</text>')
    # Grid and axes.
    for k in range(nines + 1):
        gx = LEFT + pw * k / nines
        out.append(f'<line x1="{gx:.1f}" y1="{top}" x2="{gx:.1f}" y2="{top + ph}" stroke="#ddd"/>')
        out.append(f'<text x="{gx:.1f}" y="{top + ph + 18}" text-anchor="middle">{percent_label(k)}</text>')
    steps = 5
    for k in range(steps + 1):
        v = ymax * k / steps
        gy = y(v)
        out.append(f'<line x1="{LEFT}" y1="{gy:.1f}" x2="{LEFT + pw}" y2="{gy:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 8}" y="{gy + 4:.1f}" text-anchor="end">{v:g}</text>')
    out.append(f'<rect x="{LEFT}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{H - 14}" text-anchor="middle">percentile '
               '(log scale of 1/(1-p))</text>')
    out.append(f'<text x="18" y="{top + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 18 {top + ph / 2})">latency (ms)</text>')
    # One line per series, then the legend.
    for i, (label, pts, mean, peak) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        path = " ".join(f"{x(p):.1f},{y(v):.2f}" for p, v in pts if p < 1)
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        at = lambda q: next((v for p, v in pts if p >= q), pts[-1][1])
        text = f"{label}: p50 {at(0.5):.2f}, p99 {at(0.99):.2f}, p99.9 {at(0.999):.2f}, max {peak:.2f} ms"
        ly = top + 18 + 18 * i
        out.append(f'<line x1="{LEFT + 12}" y1="{ly - 4}" x2="{LEFT + 36}" y2="{ly - 4}" '
                   f'stroke="{color}" stroke-width="3"/>')
        out.append(f'<text x="{LEFT + 42}" y="{ly}">{html.escape(text)}</text>')
    out.append("</svg>")
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
