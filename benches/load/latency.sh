#!/usr/bin/env bash
# The latency chart: wikidex /offsets (offsets.lua's real 1-8 character
# prefixes, limit=10), wikidex /plaintext and nginx /plaintext, each at the
# same constant rate, one after the other, with latency measured from each
# request's scheduled send time; then chart.py draws their percentile
# spectra into one SVG (HdrHistogram's plot: latency by percentile, log-scaled
# 1/(1-p) axis).
#
#   benches/load/latency.sh [--rate 20000] [--duration 30] [--pages 300000]
#                           [--svg docs/latency.svg] [--out DIR] [--note TEXT]
#
# Data: `wikidex gen --pages N --seed 1` under $BENCH_DIR (default
# /tmp/bench), generated and indexed if missing. Servers (wikidex --workers
# 1, the kit's nginx) on core $SERVER_CPU (0), the load generator on core
# $CLIENT_CPU (1), 64 connections: wrk2 --latency if on PATH, else the kit's
# loadgen --latency (built here), which prints the same spectrum. Every raw
# output stays in DIR; --note adds a line under the chart's title (what else
# the host was doing). Needs nginx, curl, taskset, python3.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../lib/server.sh
source "$HERE/../lib/server.sh"
BIN=${WIKIDEX_BIN:-$ROOT/target/release/wikidex}
BENCH_DIR=${BENCH_DIR:-/tmp/bench}
SERVER_CPU=${SERVER_CPU:-0} CLIENT_CPU=${CLIENT_CPU:-1}
PORT_W=${PORT_WIKIDEX:-28480} PORT_N=${PORT_NGINX:-28481}
RATE=20000 DURATION=30 PAGES=300000 SVG=$ROOT/docs/latency.svg OUT="" NOTE="" CONNS=64 WARMUP=5
while [ $# -gt 0 ]; do
  case $1 in
    --rate) RATE=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --pages) PAGES=$2; shift ;;
    --svg) SVG=$2; shift ;;
    --out) OUT=$2; shift ;;
    --note) NOTE=$2; shift ;;
    -h|--help) sed -n '2,/^set -e/{/^#/p}' "$0"; exit 0 ;;
    *) echo "latency.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for t in nginx curl taskset python3; do
  command -v $t >/dev/null || { echo "latency.sh: $t is required" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "latency.sh: no $BIN; run: cargo build --release" >&2; exit 2; }
OUT=${OUT:-/tmp/wikidex-load/latency-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" "$BENCH_DIR"

DUMP=$BENCH_DIR/gen-$PAGES.xml
[ -f "$DUMP" ] || { "$BIN" gen --pages "$PAGES" --seed 1 -o "$DUMP.tmp" && mv "$DUMP.tmp" "$DUMP"; }
INDEX=$DUMP.wikidex
"$BIN" verify "$INDEX" > /dev/null 2>&1 || "$BIN" index "$DUMP" -o "$INDEX" 2>&1 | tail -1

if command -v wrk2 > /dev/null; then
  TOOL=wrk2
else
  TOOL=loadgen
  target=${LOADGEN_TARGET:-/tmp/wikidex-loadgen-target}
  CARGO_TARGET_DIR=$target cargo build --quiet --release --manifest-path "$HERE/loadgen/Cargo.toml"
  LOADGEN=$target/release/wikidex-loadgen
fi

SERVER_PID="" NGINX_PID=""
trap 'stop_server "$SERVER_PID" || true; stop_server "$NGINX_PID" || true' EXIT INT TERM
start_wikidex "$BIN" "$OUT/wikidex.log" --index "$INDEX" --dump "$DUMP" --bind "127.0.0.1:$PORT_W" --workers 1 \
  || { echo "latency.sh: wikidex did not start; see $OUT/wikidex.log" >&2; exit 1; }
start_nginx "$OUT/nginx" "$PORT_N" "$DUMP"
python3 "$HERE/gen_inputs.py" "http://127.0.0.1:$PORT_W" "$OUT" > /dev/null
awk '{print "/offsets/" $0 "?limit=10"}' "$OUT/prefixes.txt" > "$OUT/req-offsets.txt"

# run NAME PORT SECONDS (offsets | /plaintext): one constant-rate run into OUT/NAME.txt.
run() {
  local name=$1 port=$2 secs=$3 what=$4
  local cmd=(timeout $((secs + 60)) taskset -c "$CLIENT_CPU")
  if [ "$TOOL" = wrk2 ]; then
    cmd+=(wrk2 -t1 -c"$CONNS" -d"${secs}s" -R"$RATE" --latency)
    if [ "$what" = offsets ]; then cmd+=(-s "$HERE/offsets.lua" "http://127.0.0.1:$port" -- "$OUT/prefixes.txt" 10)
    else cmd+=("http://127.0.0.1:$port$what"); fi
  else
    cmd+=("$LOADGEN" --addr "127.0.0.1:$port" -c "$CONNS" -d "$secs" -R "$RATE" --latency)
    if [ "$what" = offsets ]; then cmd+=(--requests "$OUT/req-offsets.txt"); else cmd+=(--path "$what"); fi
  fi
  "${cmd[@]}" > "$OUT/$name.txt"
}
SERIES=("wikidex-offsets $PORT_W offsets" "wikidex-plaintext $PORT_W /plaintext" "nginx-plaintext $PORT_N /plaintext")
for s in "${SERIES[@]}"; do
  read -r name port what <<< "$s"
  echo "== $name: ${WARMUP}s warm-up, then ${DURATION}s at $RATE req/s ($TOOL)"
  run "warmup-$name" "$port" "$WARMUP" "$what"
  run "$name" "$port" "$DURATION" "$what"
  grep -h '^RESULT\|Requests/sec' "$OUT/$name.txt" || true
done

# The binary's build: the last commit to this checkout's Rust sources (not
# to its docs or scripts), unless WIKIDEX_BIN named another binary.
if [ -n "${WIKIDEX_BIN:-}" ]; then build=$BIN
else build="build $(git -C "$ROOT" log -1 --format=%h -- Cargo.toml Cargo.lock src indexer server vendor web)"; fi
python3 "$HERE/chart.py" "$SVG" \
  "wikidex /offsets?limit=10=$OUT/wikidex-offsets.txt" \
  "wikidex /plaintext=$OUT/wikidex-plaintext.txt" \
  "nginx /plaintext (return 200)=$OUT/nginx-plaintext.txt" \
  --title "Latency by percentile at $RATE req/s, $CONNS connections, ${DURATION} s per series" \
  --note "$(date +%F), $build; $(basename "$DUMP") ($PAGES pages); $TOOL on core $CLIENT_CPU, servers on core $SERVER_CPU (wikidex: 1 worker)" \
  --note "benches/load/latency.sh --rate $RATE --duration $DURATION --pages $PAGES" ${NOTE:+--note "$NOTE"}
echo "== $SVG"
