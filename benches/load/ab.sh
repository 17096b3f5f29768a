#!/usr/bin/env bash
# Quick A/B of wikidex builds on one endpoint, by hardware counters: starts
# each BIN in turn on core $SERVER_CPU (0) with one worker, drives it with
# `wrk -t1 -c64` from core $CLIENT_CPU (1) for 2 s of warm-up and 6 s of
# load, counts the server's instructions and cycles over 5 s of it with
# `perf stat`, and prints req/s, instructions (all, and user space alone:
# the steadier figure for changes to our code), cycles (all, and user
# space alone) and CPU µs per request. ROUNDS rounds alternate the builds, so a change in the host's
# speed shows up as a change in every build's cycles, not as a difference.
#
#   benches/load/ab.sh INDEX DUMP PATH ROUNDS BIN...
#   e.g. benches/load/ab.sh /tmp/bench/enwiki-2m.xml.wikidex /tmp/bench/enwiki-2m.xml /plaintext 3 \
#            /tmp/wikidex-before target/release/wikidex
#
# PATH is a request path, `offsets` for the kit's offsets.lua over prefixes
# asked of the first wikidex, `wiki` for wiki.lua over its titles, or `xml`
# for xml.lua over its 4-64 KB page ranges; or several of these separated
# by commas (`offsets,/plaintext`), measured in turn for each build in each
# round, so their ratio is taken in one phase of the host. A BIN of `nginx` is the kit's nginx baseline (nginx.conf.tmpl: one
# worker, `return 200` for /plaintext, the dump with sendfile for /xml) on
# the same core, counted the same way (its worker process).
# Needs wrk and perf (linux-perf); nginx for the `nginx` build.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"
INDEX=${1:?index dir}; DUMP=${2:?dump}; TARGET=${3:?path}; ROUNDS=${4:?rounds}; shift 4
[ $# -ge 1 ] || { echo "ab.sh: name at least one wikidex binary" >&2; exit 2; }
PORT=${PORT_AB:-28490}
for t in wrk perf taskset curl python3; do
  command -v $t >/dev/null || { echo "ab.sh: $t is required" >&2; exit 2; }
done
WORK=$(mktemp -d)
PID="" KILL=""
trap '[ -n "$KILL" ] && kill $KILL 2>/dev/null; rm -rf "$WORK"' EXIT
stop() { kill $KILL; wait $KILL 2>/dev/null || true; PID="" KILL=""; }
start() {
  if [ "$1" = nginx ]; then
    nginx_conf "$WORK" "$PORT" "$DUMP"
    taskset -c "${SERVER_CPU:-0}" nginx -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log" > "$WORK/server.log" 2>&1 &
    KILL=$!
    for _ in $(seq 200); do
      PID=$(pgrep -P "$KILL" -f 'nginx: worker' || true)
      [ -n "$PID" ] && curl -sf -o /dev/null "http://127.0.0.1:$PORT/plaintext" && return 0
      sleep 0.05
    done
    echo "ab.sh: nginx did not start: $(tail -2 "$WORK/error.log")" >&2; exit 1
  fi
  taskset -c "${SERVER_CPU:-0}" "$1" serve --index "$INDEX" --dump "$DUMP" --bind "127.0.0.1:$PORT" \
    --workers 1 > "$WORK/server.log" 2>&1 &
  PID=$! KILL=$!
  for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && return 0; sleep 0.05; done
  echo "ab.sh: $1 did not start: $(tail -2 "$WORK/server.log")" >&2; exit 1
}
IFS=, read -r -a TARGETS <<< "$TARGET"
if [[ ",$TARGET," =~ ,(offsets|wiki|xml), ]]; then
  first=""
  for bin in "$@"; do [ "$bin" != nginx ] && first=$bin && break; done
  [ -n "$first" ] || { echo "ab.sh: $TARGET needs a wikidex among the builds" >&2; exit 2; }
  start "$first"
  python3 "$HERE/gen_inputs.py" "http://127.0.0.1:$PORT" "$WORK" > /dev/null
  stop
fi
# Sets WRK, URL and ARGS for one target.
aim() {
  WRK=(wrk -t1 -c64) URL=http://127.0.0.1:$PORT ARGS=()
  case $1 in
    offsets) WRK+=(-s "$HERE/offsets.lua"); ARGS=(-- "$WORK/prefixes.txt" 10) ;;
    wiki) WRK+=(-s "$HERE/wiki.lua"); ARGS=(-- "$WORK/titles.txt") ;;
    xml) WRK+=(-s "$HERE/xml.lua"); ARGS=(-- "$WORK/ranges.txt") ;;
    *) URL=http://127.0.0.1:$PORT$1 ;;
  esac
}
LABEL=""
[ ${#TARGETS[@]} -gt 1 ] && LABEL="target | "
echo "| round | ${LABEL}build | req/s | instructions/req | of them user space | cycles/req | of them user space | CPU µs/req |"
echo "|---|---|---|---|---|---|---|---|$([ -n "$LABEL" ] && echo "---|")"
for round in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    start "$bin"
    for target in "${TARGETS[@]}"; do
      aim "$target"
      taskset -c "${CLIENT_CPU:-1}" "${WRK[@]}" -d2s "$URL" "${ARGS[@]}" > /dev/null
      taskset -c "${CLIENT_CPU:-1}" "${WRK[@]}" -d6s "$URL" "${ARGS[@]}" > "$WORK/wrk.out" &
      W=$!
      sleep 0.5
      perf stat -x, -e instructions,instructions:u,cycles,cycles:u,task-clock -p "$PID" -- sleep 5 2> "$WORK/perf.out"
      wait $W
      python3 - "$round" "$bin" "$WORK/wrk.out" "$WORK/perf.out" "$([ -n "$LABEL" ] && echo "$target")" <<'PY'
import re, sys
round_, binary, wrk, perf, target = sys.argv[1:]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", open(wrk).read()).group(1))
counts = {}
for line in open(perf):
    f = line.strip().split(",")
    if len(f) >= 3 and f[0].replace(".", "", 1).isdigit():
        counts[f[2]] = float(f[0])
req = rps * 5  # requests answered during perf's 5 s window, at the run's mean rate
label = f"{target} | " if target else ""
print(f"| {round_} | {label}`{binary}` | {rps:,.0f} | {counts['instructions'] / req:,.0f} | "
      f"{counts['instructions:u'] / req:,.0f} | {counts['cycles'] / req:,.0f} | "
      f"{counts['cycles:u'] / req:,.0f} | {counts['task-clock'] * 1e3 / req:.2f} |")
PY
    done
    stop
  done
done
