#!/usr/bin/env bash
# Side-by-side A/B: two servers at the same time on core $SERVER_CPU (0),
# each held to CAP % of it by its own cgroup (default 15), each driven by
# its own `wrk -t1 -c64` on core $CLIENT_CPU (1). Whatever phase the host
# is in (the same server's IPC moves between ~0.8 and ~1.9 from one run to
# the next here) holds for both, so a round's ratio compares the two builds
# and not two moments. `ab.sh` runs its builds one after the other instead.
#
#   benches/load/duo.sh INDEX DUMP TARGET ROUNDS A B
#   e.g. benches/load/duo.sh /tmp/bench/enwiki-2m.xml.wikidex /tmp/bench/enwiki-2m.xml xml 4 \
#            target/release/wikidex nginx
#
# A and B: wikidex binaries, or `nginx` (the kit's baseline, nginx.conf.tmpl).
# INDEX_B and DUMP_B (default INDEX and DUMP) give side B another index of
# the same dump: e.g. the XML's index on A and the .bz2's (served from its
# page store) on B, with the same binary on both sides. For `offsets`,
# LIMIT (default 10) and LIMIT_B (default LIMIT) end each side's query
# string: LIMIT_B='10&order=rank' sets ranked against byte order. TARGET_B
# (a path) gives side B another target: TARGET_B=/plaintext with A = B
# sets /offsets against the server's own floor.
# TARGET: a request path (`/plaintext`), or `offsets`, `wiki` or `xml` for
# the kit's scripts over inputs asked of the first wikidex (gen_inputs.py).
# Each round starts both servers (which one first alternates), warms up for
# 2 s, then counts each server's CPU time, cycles, instructions and user-space
# share (`perf stat`) over $SECONDS_PER_ROUND (default 5) s of load, one line per
# server and the round's req/s ratio A ÷ B and cost ratio (B's cycles per
# request ÷ A's), and per request any perf events in $EXTRA_EVENTS (e.g.
# cache-misses,context-switches). CAP=0 runs them uncapped: then the one client core is
# usually the limit for both, and only the per-request counts mean anything.
# Needs root and cgroup v1's cpu controller or v2's (for the caps), wrk,
# perf, taskset, curl and python3; nginx for an `nginx` side.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"
INDEX=${1:?index dir}; DUMP=${2:?dump}; TARGET=${3:?target}; ROUNDS=${4:?rounds}
A=${5:?first server}; B=${6:?second server}
SECS=${SECONDS_PER_ROUND:-5} CAP=${CAP:-15}
PORT_A=${PORT_DUO_A:-28492} PORT_B=${PORT_DUO_B:-28493}
for t in wrk perf taskset curl python3; do
  command -v $t >/dev/null || { echo "duo.sh: $t is required" >&2; exit 2; }
done
# The kernel takes no CFS quota under 1 ms: 10 % of a 10 ms period.
[[ $CAP =~ ^[0-9]+$ ]] && (( CAP == 0 || (CAP >= 10 && CAP < 100) )) \
  || { echo "duo.sh: CAP is 0 (none) or a percentage from 10 to 99, not '$CAP'" >&2; exit 2; }
WORK=$(mktemp -d)
KILL=()
cleanup() {
  [ ${#KILL[@]} -gt 0 ] && kill "${KILL[@]}" 2>/dev/null
  sleep 0.3
  cg_remove
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ "$CAP" != 0 ]; then
  cg_make "wikidex-duo-$$" a b
  [ -n "$CG" ] || { echo "duo.sh: no cgroup cpu controller to cap the servers with (needs root); CAP=0 runs them uncapped" >&2; exit 2; }
  cg_cap "$CAP"
fi
# start SIDE BIN PORT: starts a server, prints "KILL_PID COUNT_PID".
start() {
  local side=$1 bin=$2 port=$3 kill pid
  if [ "$bin" = nginx ]; then
    nginx_conf "$WORK/$side" "$port" "$DUMP"
    taskset -c "${SERVER_CPU:-0}" nginx -p "$WORK/$side" -c "$WORK/$side/nginx.conf" -e "$WORK/$side/error.log" \
      > "$WORK/$side.log" 2>&1 &
    kill=$!
    for _ in $(seq 200); do
      pid=$(pgrep -P "$kill" -f 'nginx: worker' || true)
      [ -n "$pid" ] && curl -sf -o /dev/null "http://127.0.0.1:$port/plaintext" && { echo "$kill $pid"; return 0; }
      sleep 0.05
    done
  else
    local index=$INDEX dump=$DUMP
    [ "$side" = b ] && index=${INDEX_B:-$INDEX} dump=${DUMP_B:-$DUMP}
    taskset -c "${SERVER_CPU:-0}" "$bin" serve --index "$index" --dump "$dump" --bind "127.0.0.1:$port" \
      --workers 1 > "$WORK/$side.log" 2>&1 &
    kill=$!
    for _ in $(seq 200); do
      curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && { echo "$kill $kill"; return 0; }
      sleep 0.05
    done
  fi
  echo "duo.sh: $bin did not start: $(tail -2 "$WORK/$side.log")" >&2; return 1
}
WRK=(wrk -t1 -c64) ARGS=() ARGS_B=() PATH_=""
case $TARGET in
  offsets|wiki|xml)
    first=""
    for bin in "$A" "$B"; do [ "$bin" != nginx ] && first=$bin && break; done
    [ -n "$first" ] || { echo "duo.sh: $TARGET needs a wikidex among the servers" >&2; exit 2; }
    read -r k _ < <(start x "$first" "$PORT_A")
    python3 "$HERE/gen_inputs.py" "http://127.0.0.1:$PORT_A" "$WORK" > /dev/null
    kill "$k"; wait "$k" 2>/dev/null || true
    case $TARGET in
      offsets) WRK+=(-s "$HERE/offsets.lua"); ARGS=(-- "$WORK/prefixes.txt" "${LIMIT:-10}")
        ARGS_B=(-- "$WORK/prefixes.txt" "${LIMIT_B:-${LIMIT:-10}}") ;;
      wiki) WRK+=(-s "$HERE/wiki.lua"); ARGS=(-- "$WORK/titles.txt") ;;
      xml) WRK+=(-s "$HERE/xml.lua"); ARGS=(-- "$WORK/ranges.txt") ;;
    esac ;;
  /*) PATH_=$TARGET ;;
  *) echo "duo.sh: TARGET is a path (/plaintext) or offsets, wiki or xml, not '$TARGET'" >&2; exit 2 ;;
esac
[ ${#ARGS_B[@]} -gt 0 ] || ARGS_B=("${ARGS[@]}")
# TARGET_B (a path): side B asks for it instead, e.g. `offsets` on A against
# `/plaintext` on B, both from one binary, in the same phase of the host.
WRK_B=("${WRK[@]}") PATH_B=$PATH_
if [ -n "${TARGET_B:-}" ]; then
  [[ $TARGET_B == /* ]] || { echo "duo.sh: TARGET_B is a path (/plaintext), not '$TARGET_B'" >&2; exit 2; }
  WRK_B=(wrk -t1 -c64) ARGS_B=() PATH_B=$TARGET_B
fi
EVENTS=task-clock,cycles,instructions,cycles:u,instructions:u${EXTRA_EVENTS:+,$EXTRA_EVENTS}
echo "| round | server | req/s | CPU % | cycles/req | of them user space | instructions/req | of them user space | IPC | other events/req |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then
    read -r KA PA < <(start a "$A" "$PORT_A"); read -r KB PB < <(start b "$B" "$PORT_B")
  else
    read -r KB PB < <(start b "$B" "$PORT_B"); read -r KA PA < <(start a "$A" "$PORT_A")
  fi
  KILL=("$KA" "$KB")
  if [ -n "$CG" ]; then cg_join a "$KA"; cg_join b "$KB"; fi
  taskset -c "${CLIENT_CPU:-1}" "${WRK[@]}" -d2s "http://127.0.0.1:$PORT_A$PATH_" "${ARGS[@]}" > /dev/null &
  taskset -c "${CLIENT_CPU:-1}" "${WRK_B[@]}" -d2s "http://127.0.0.1:$PORT_B$PATH_B" "${ARGS_B[@]}" > /dev/null &
  wait
  taskset -c "${CLIENT_CPU:-1}" "${WRK[@]}" -d$((SECS + 2))s "http://127.0.0.1:$PORT_A$PATH_" "${ARGS[@]}" \
    > "$WORK/wrk-a.out" &
  taskset -c "${CLIENT_CPU:-1}" "${WRK_B[@]}" -d$((SECS + 2))s "http://127.0.0.1:$PORT_B$PATH_B" "${ARGS_B[@]}" \
    > "$WORK/wrk-b.out" &
  sleep 1
  perf stat -x, -e "$EVENTS" -p "$PA" -o "$WORK/perf-a.out" -- sleep "$SECS" &
  perf stat -x, -e "$EVENTS" -p "$PB" -o "$WORK/perf-b.out" -- sleep "$SECS"
  wait
  kill "$KA" "$KB"; wait "$KA" "$KB" 2>/dev/null || true
  KILL=()
  python3 - "$WORK" "$SECS" "$round" "$A" "$B" <<'PY'
import re, sys
work, secs, round_, a, b = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
rps, cycles = {}, {}
BASIC = {"task-clock", "cycles", "instructions", "cycles:u", "instructions:u"}
for side, name in (("a", a), ("b", b)):
    rps[side] = float(re.search(r"Requests/sec:\s+([\d.]+)", open(f"{work}/wrk-{side}.out").read()).group(1))
    c = {}
    for line in open(f"{work}/perf-{side}.out"):
        f = line.strip().split(",")
        if len(f) >= 3 and f[0].replace(".", "", 1).isdigit():
            c[f[2]] = float(f[0])
    req = rps[side] * secs  # requests during perf's window, at the run's mean rate
    # Where the machine exposes no hardware counters, CPU time per request
    # (task-clock, always counted) stands in for cycles.
    counted = "cycles" in c
    cycles[side] = (c["cycles"] if counted else c["task-clock"] * 1e3) / req
    per = lambda k: f"{c[k] / req:,.0f}" if k in c else "n/a"
    ipc = f"{c['instructions'] / c['cycles']:.2f}" if counted and "instructions" in c else "n/a"
    print(f"| {round_} | `{name}` | {rps[side]:,.0f} | {c['task-clock'] / secs / 10:.1f} | {per('cycles')} "
          f"| {per('cycles:u')} | {per('instructions')} | {per('instructions:u')} | {ipc} "
          f"| {' '.join(f'{k} {v / req:,.1f}' for k, v in c.items() if k not in BASIC)} |")
by = "cycles" if counted else "CPU time"
print(f"| {round_} | A ÷ B | {rps['a'] / rps['b']:.3f}× | | {cycles['b'] / cycles['a']:.3f}× by {by} | | | | | |")
PY
done
