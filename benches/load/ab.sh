#!/usr/bin/env bash
# Quick A/B of wikidex builds on one endpoint, by hardware counters: starts
# each BIN in turn on core $SERVER_CPU (0) with one worker, drives it with
# `wrk -t1 -c64` from core $CLIENT_CPU (1) for 2 s of warm-up and 6 s of
# load, counts the server's instructions and cycles over 5 s of it with
# `perf stat`, and prints req/s, instructions, cycles and CPU µs per
# request. ROUNDS rounds alternate the builds, so a change in the host's
# speed shows up as a change in every build's cycles, not as a difference.
#
#   benches/load/ab.sh INDEX DUMP PATH ROUNDS BIN...
#   e.g. benches/load/ab.sh /tmp/bench/enwiki-2m.xml.wikidex /tmp/bench/enwiki-2m.xml /plaintext 3 \
#            /tmp/wikidex-before target/release/wikidex
#
# PATH is a request path, or `offsets` for the kit's offsets.lua over
# prefixes asked of the first server. Needs wrk and perf (linux-perf).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
INDEX=${1:?index dir}; DUMP=${2:?dump}; TARGET=${3:?path}; ROUNDS=${4:?rounds}; shift 4
[ $# -ge 1 ] || { echo "ab.sh: name at least one wikidex binary" >&2; exit 2; }
PORT=${PORT_AB:-28490}
for t in wrk perf taskset curl python3; do
  command -v $t >/dev/null || { echo "ab.sh: $t is required" >&2; exit 2; }
done
WORK=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$WORK"' EXIT
start() {
  taskset -c "${SERVER_CPU:-0}" "$1" serve --index "$INDEX" --dump "$DUMP" --bind "127.0.0.1:$PORT" \
    --workers 1 > "$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && return 0; sleep 0.05; done
  echo "ab.sh: $1 did not start: $(tail -2 "$WORK/server.log")" >&2; exit 1
}
WRK=(wrk -t1 -c64)
if [ "$TARGET" = offsets ]; then
  start "$1"
  python3 "$HERE/gen_inputs.py" "http://127.0.0.1:$PORT" "$WORK" > /dev/null
  kill $PID; wait $PID 2>/dev/null || true; PID=""
  WRK+=(-s "$HERE/offsets.lua"); URL=http://127.0.0.1:$PORT; ARGS=(-- "$WORK/prefixes.txt" 10)
else
  URL=http://127.0.0.1:$PORT$TARGET; ARGS=()
fi
echo "| round | build | req/s | instructions/req | cycles/req | CPU µs/req |"
echo "|---|---|---|---|---|---|"
for round in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    start "$bin"
    taskset -c "${CLIENT_CPU:-1}" "${WRK[@]}" -d2s "$URL" "${ARGS[@]}" > /dev/null
    taskset -c "${CLIENT_CPU:-1}" "${WRK[@]}" -d6s "$URL" "${ARGS[@]}" > "$WORK/wrk.out" &
    W=$!
    sleep 0.5
    perf stat -x, -e instructions,cycles,task-clock -p "$PID" -- sleep 5 2> "$WORK/perf.out"
    wait $W
    kill $PID; wait $PID 2>/dev/null || true; PID=""
    python3 - "$round" "$bin" "$WORK/wrk.out" "$WORK/perf.out" <<'PY'
import re, sys
round_, binary, wrk, perf = sys.argv[1:]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", open(wrk).read()).group(1))
counts = {}
for line in open(perf):
    f = line.strip().split(",")
    if len(f) >= 3 and f[0].replace(".", "", 1).isdigit():
        counts[f[2].split(":")[0]] = float(f[0])
req = rps * 5  # requests answered during perf's 5 s window, at the run's mean rate
print(f"| {round_} | `{binary}` | {rps:,.0f} | {counts['instructions'] / req:,.0f} | "
      f"{counts['cycles'] / req:,.0f} | {counts['task-clock'] * 1e3 / req:.2f} |")
PY
  done
done
