#!/usr/bin/env bash
# /offsets exact vs match=folded vs match=fuzzy, side by side in one run:
# closed-loop throughput, then a constant rate with coordinated-omission
# correction (oha -q --latency-correction). Server pinned to core 0, oha to
# core 1. Random prefixes from regexes (oha --rand-regex-url): exact ones
# start uppercase like titles; folded/fuzzy ones are lowercase; fuzzy ones
# are 4-9 letters, so most carry the maximum typo budget (a costly case).
# Usage: benches/search.sh INDEX DUMP [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
INDEX=${1:?index dir}; DUMP=${2:?dump}; RATE=${RATE:-${3:-2000}}
command -v oha >/dev/null || cargo install oha
cargo build --release -q
PORT=$((20000 + RANDOM % 20000))
taskset -c 0 target/release/wikidex serve --index "$INDEX" --dump "$DUMP" --bind "127.0.0.1:$PORT" --workers 1 2>/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"; do sleep 0.05; done
BASE="http://127.0.0.1:$PORT"
declare -A URL=(
    [exact]="$BASE/offsets/[A-Z][a-z]{1,4}\?limit=10"
    [folded]="$BASE/offsets/[a-z]{2,5}\?match=folded&limit=10"
    [fuzzy]="$BASE/offsets/[a-z]{4,9}\?match=fuzzy&limit=10"
)
pct() { python3 -c '
import json,sys
d=json.load(sys.stdin)
p=d["latencyPercentiles"]; s=d["summary"]
ms=lambda v: "%.2f" % (v*1000) if v is not None else "-"
print("| %s | %.0f | %s | %s | %s | %s | %.4f |" % (sys.argv[1], s["requestsPerSec"], ms(p["p50"]), ms(p["p99"]), ms(p["p99.9"]), ms(s["slowest"]), s["successRate"]))
' "$1"; }
echo "closed loop, 50 connections, 10 s each:"
echo "| query | req/s | p50 ms | p99 ms | p99.9 ms | max ms | success |"
echo "|---|---|---|---|---|---|---|"
for q in exact folded fuzzy; do
    taskset -c 1 oha --no-tui --output-format json -c 50 -z 10s --rand-regex-url "${URL[$q]}" 2>/dev/null | pct "$q"
done
echo
echo "constant $RATE req/s, 10 s each, latency corrected:"
echo "| query | req/s | p50 ms | p99 ms | p99.9 ms | max ms | success |"
echo "|---|---|---|---|---|---|---|"
for q in exact folded fuzzy; do
    taskset -c 1 oha --no-tui --output-format json -c 50 -z 10s -q "$RATE" --latency-correction --rand-regex-url "${URL[$q]}" 2>/dev/null | pct "$q"
done
