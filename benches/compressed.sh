#!/usr/bin/env bash
# Indexing a multistream .xml.bz2, timed in the same run as what it
# replaces: `lbzip2 -d -c FILE | zstd -3 -T0 -c > /dev/null` (Debian's
# parallel bzip2 and zstd; what a user would do by hand to get the XML and a
# compressed copy of it), and `lbzip2 -d -c FILE > /dev/null` alone (the
# moonshot: the index and the store cost nothing beyond decompressing). The
# commands alternate order round by round; the page cache is warm. Also
# reports the page store's size against the .bz2, and bytes per page.
#
#   benches/compressed.sh [PAGES] [ROUNDS]
#
# PAGES (default 300000, about 2.1 GB of XML) of `wikidex gen --seed 1`,
# written as NAME-multistream.xml.bz2 with its companion index into
# $BENCH_DIR (default /tmp/bench) unless already there. ROUNDS default 3.
# Needs lbzip2, zstd and GNU time (/usr/bin/time): apt-get install -y lbzip2 zstd time.
# Results: docs/BENCHMARKS.md, "Compressed dumps".
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$ROOT/target/release/wikidex}
DIR=${BENCH_DIR:-/tmp/bench}
PAGES=${1:-300000}
ROUNDS=${2:-3}
for t in lbzip2 zstd /usr/bin/time python3; do
  command -v "$t" >/dev/null || { echo "compressed.sh: $t is required" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "compressed.sh: build first: cargo build --release" >&2; exit 2; }
mkdir -p "$DIR"
DUMP=$DIR/gen-$PAGES-multistream.xml.bz2
[ -f "$DUMP" ] || "$BIN" gen --pages "$PAGES" --seed 1 -o "$DUMP"
WORK=$(mktemp -d "$DIR/compressed.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# The same dump without its companion index beside it.
mkdir "$WORK/alone"
ln -s "$DUMP" "$WORK/alone/$(basename "$DUMP")"
cat "$DUMP" > /dev/null

declare -A CMDS=(
  [lbzip2+zstd]="lbzip2 -d -c $DUMP | zstd -3 -T0 -c > /dev/null"
  [lbzip2]="lbzip2 -d -c $DUMP > /dev/null"
  [wikidex]="$BIN index $DUMP -o $WORK/with.wikidex > /dev/null 2>&1"
  [wikidex-no-companion]="$BIN index $WORK/alone/$(basename "$DUMP") -o $WORK/alone.wikidex > /dev/null 2>&1"
)
ORDER=(lbzip2+zstd wikidex lbzip2 wikidex-no-companion)
: > "$WORK/times"
for round in $(seq "$ROUNDS"); do
  order=("${ORDER[@]}")
  (( round % 2 )) || order=($(printf '%s\n' "${ORDER[@]}" | tac))
  for name in "${order[@]}"; do
    /usr/bin/time -f "%e %M" -o "$WORK/t" bash -c "${CMDS[$name]}"
    echo "$round $name $(cat "$WORK/t")" >> "$WORK/times"
  done
done
python3 - "$WORK/times" "$DUMP" "$WORK/with.wikidex" <<'PY'
import json, os, statistics, sys
times, dump, index = sys.argv[1:4]
bz2 = os.path.getsize(dump)
runs = {}
for line in open(times):
    r, name, secs, rss_kb = line.split()
    runs.setdefault(name, []).append((int(r), float(secs), int(rss_kb)))
print(f"dump: {dump}, {bz2:,} bytes")
print("\n| round | command | seconds | MB/s of .bz2 | peak RSS MB |\n|---|---|---|---|---|")
for name, rs in runs.items():
    for r, s, k in rs:
        print(f"| {r} | `{name}` | {s:.2f} | {bz2 / s / 1e6:.1f} | {k / 1024:.0f} |")
base = {r: s for r, s, _ in runs["lbzip2+zstd"]}
alone = {r: s for r, s, _ in runs["lbzip2"]}
print("\n| ours | against | median throughput ratio (rounds) |\n|---|---|---|")
for ours in ("wikidex", "wikidex-no-companion"):
    for other, t in (("lbzip2 -d \\| zstd -3 -T0", base), ("lbzip2 -d", alone)):
        ratios = [t[r] / s for r, s, _ in runs[ours]]
        print(f"| `{ours}` | `{other}` | {statistics.median(ratios):.2f}x ({', '.join(f'{x:.2f}' for x in ratios)}) |")
m = json.load(open(os.path.join(index, "manifest.json")))
store = m["store"]["bytes"]
pages, xml = m["pages"], m["content"]["bytes"]
print(f"\npages {pages:,}; XML {xml:,} bytes ({xml / pages:,.0f}/page), .bz2 {bz2:,} ({bz2 / pages:,.0f}/page), "
      f"store {store:,} ({store / pages:,.0f}/page, {store / bz2:.2f}x the .bz2, {m['store']['frames']:,} frames)")
PY
