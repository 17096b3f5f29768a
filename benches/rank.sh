#!/usr/bin/env bash
# Popularity ranking (issue #21), measured side by side:
#   1. indexing with scores (this build) against a build without them
#      (OLD, e.g. one built from the commit before the score), interleaved
#      rounds on the same dump: time and peak RSS;
#   2. what the score column and the ranked lists cost in bytes per page;
#   3. /offsets?order=rank against byte-order /offsets over the same real
#      prefixes (exact, then folded), both on one core at the same time
#      (benches/load/duo.sh, ROUNDS rounds);
#   4. the tail: p99.9 of each at half the ranked maximum (loadgen,
#      constant rate, one after the other).
#
#   OLD=/tmp/wikidex-old benches/rank.sh [PAGES] [TEXT_PERCENT] [ROUNDS]
#
# PAGES (default 20000000) of `wikidex gen --seed 1 --text-percent
# TEXT_PERCENT` (default 3: 20 M titles in a few GB) in $BENCH_DIR
# (default /tmp/bench). OLD unset skips part 1. Needs GNU time, python3,
# and what duo.sh needs (wrk, perf, root for its cgroups).
# Results: docs/BENCHMARKS.md, "Ranked suggestions".
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/server.sh
source "$ROOT/benches/lib/server.sh"
BIN=${BIN:-$ROOT/target/release/wikidex}
DIR=${BENCH_DIR:-/tmp/bench}
PAGES=${1:-20000000} TEXT=${2:-3} ROUNDS=${3:-3}
LOADGEN=$ROOT/benches/load/loadgen/target/release/wikidex-loadgen
[ -x "$BIN" ] || { echo "rank.sh: build first: cargo build --release" >&2; exit 2; }
[ -x "$LOADGEN" ] || cargo build -q --release --manifest-path "$ROOT/benches/load/loadgen/Cargo.toml"
mkdir -p "$DIR"
DUMP=$DIR/gen-$PAGES-$TEXT.xml
[ -f "$DUMP" ] || "$BIN" gen --pages "$PAGES" --seed 1 --text-percent "$TEXT" -o "$DUMP"
INDEX=$DIR/gen-$PAGES-$TEXT.rank.wikidex
WORK=$(mktemp -d "$DIR/rank.XXXXXX")
trap 'rm -rf "$WORK"; stop_server || true' EXIT
cat "$DUMP" > /dev/null

echo "## 1. Indexing: with scores vs without ($PAGES pages, $(du -h "$DUMP" | cut -f1))"
if [ -n "${OLD:-}" ]; then
  for round in $(seq "$ROUNDS"); do
    order=(new old)
    (( round % 2 )) || order=(old new)
    for side in "${order[@]}"; do
      bin=$BIN; [ "$side" = old ] && bin=$OLD
      /usr/bin/time -f "%e %M" -o "$WORK/t" "$bin" index "$DUMP" -o "$WORK/$side.wikidex" > /dev/null 2>&1
      echo "$round $side $(cat "$WORK/t")" | tee -a "$WORK/times"
      [ "$side" = new ] && { rm -rf "$INDEX"; mv "$WORK/new.wikidex" "$INDEX"; } || rm -rf "$WORK/old.wikidex"
    done
  done
  python3 - "$WORK/times" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    r, side, secs, kb = line.split()
    runs.setdefault(side, []).append((float(secs), int(kb)))
new, old = runs["new"], runs["old"]
ratios = [n[0] / o[0] for n, o in zip(new, old)]
print(f"time with ÷ without: median {statistics.median(ratios):.2f}× (rounds {', '.join(f'{r:.2f}' for r in ratios)});"
      f" {statistics.median(s for s, _ in new):.1f} s vs {statistics.median(s for s, _ in old):.1f} s;"
      f" peak RSS {max(k for _, k in new) / 1024:.0f} MB vs {max(k for _, k in old) / 1024:.0f} MB")
PY
else
  [ -d "$INDEX" ] || "$BIN" index "$DUMP" -o "$INDEX"
fi

echo "## 2. Bytes per page"
python3 - "$INDEX" <<'PY'
import json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
pages = m["pages"]
size = lambda f: os.path.getsize(os.path.join(d, f))
total = sum(size(f) for f in m["files"])
print(f"scores.u16 {size('scores.u16') / pages:.2f}, ranked.u32 {size('ranked.u32') / pages:.2f}, "
      f"whole index {total / pages:.1f} bytes/page ({pages} pages)")
PY

echo "## 3. Throughput, side by side (A: title order, B: order=rank)"
LIMIT=10 LIMIT_B='10&order=rank' "$ROOT/benches/load/duo.sh" "$INDEX" "$DUMP" offsets "$ROUNDS" "$BIN" "$BIN"
LIMIT='10&match=folded' LIMIT_B='10&match=folded&order=rank' \
  "$ROOT/benches/load/duo.sh" "$INDEX" "$DUMP" offsets "$ROUNDS" "$BIN" "$BIN"

echo "## 4. Tail at half the ranked maximum (loadgen, -c 64, 10 s)"
PORT=28494
SERVER_CPU=0
start_wikidex "$BIN" "$WORK/serve.log" --index "$INDEX" --dump "$DUMP" --bind 127.0.0.1:$PORT --workers 1 \
  || { echo "rank.sh: the server did not start: $(tail -2 "$WORK/serve.log")" >&2; exit 1; }
python3 "$ROOT/benches/load/gen_inputs.py" http://127.0.0.1:$PORT "$WORK" > /dev/null
sed 's|^|/offsets/|; s|$|?limit=10|' "$WORK/prefixes.txt" > "$WORK/title.req"
sed 's|^|/offsets/|; s|$|?limit=10\&order=rank|' "$WORK/prefixes.txt" > "$WORK/rank.req"
max=$(taskset -c 1 "$LOADGEN" --addr 127.0.0.1:$PORT --requests "$WORK/rank.req" -c 64 -d 5 | sed -n 's/.* rps=\([0-9.]*\).*/\1/p')
rate=$(python3 -c "print(int(float('$max') / 2))")
echo "ranked maximum ${max%.*}/s; constant rate $rate/s"
for round in $(seq "$ROUNDS"); do
  for order in title rank; do
    line=$(taskset -c 1 "$LOADGEN" --addr 127.0.0.1:$PORT --requests "$WORK/$order.req" -c 64 -d 10 -R "$rate")
    echo "round $round $order: $(grep -o ' p99_us=[0-9]*\| p999_us=[0-9]*\|status_err=[0-9]*\|connect_err=[0-9]*' <<< "$line" | tr '\n' ' ')"
  done
done
