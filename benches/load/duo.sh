#!/usr/bin/env bash
# The kit's A/B runner. Two servers at the same time on core $SERVER_CPU (0),
# each held to CAP % of it by its own cgroup (default 15), each driven by its
# own `wrk -t1 -c64` on core $CLIENT_CPU (1). Whatever phase the host is in
# (the same server's IPC moves between ~0.8 and ~1.9 from one run to the
# next here) holds for both, so a round's ratio compares the two builds and
# not two moments.
#
#   benches/load/duo.sh INDEX DUMP TARGET ROUNDS A B
#   e.g. benches/load/duo.sh /tmp/bench/enwiki-2m.xml.wikidex /tmp/bench/enwiki-2m.xml xml 4 \
#            target/release/wikidex nginx
#
# A and B: wikidex binaries, or `nginx` (the kit's baseline, nginx.conf.tmpl).
# SERVE_ARGS and SERVE_ARGS_B (default SERVE_ARGS) add `wikidex serve` flags
# to side A and side B: the same binary with other flags on each side is an
# A/B of the flags (SERVE_ARGS_B='--workers 2'). INDEX_B and DUMP_B (default
# INDEX and DUMP) give side B another index of the same dump: e.g. the XML's
# index on A and the .bz2's (served from its page store) on B, with the same
# binary on both sides. For `offsets`, LIMIT (default 10) and LIMIT_B
# (default LIMIT) end each side's query string: LIMIT_B='10&order=rank' sets
# ranked against byte order. TARGET_B (a path) gives side B another target
# (with one TARGET): TARGET_B=/plaintext with A = B sets /offsets against the
# server's own floor.
# TARGET: a request path (`/plaintext`), or `offsets`, `wiki` or `xml` for
# the kit's scripts over inputs asked of the first wikidex (gen_inputs.py);
# or several, comma-separated (`xml,/plaintext`), each measured side by side
# in every round.
# Each round starts both servers (which one first alternates), and per
# target warms up for 2 s, then counts each server's CPU time, cycles,
# instructions and user-space share (`perf stat`) over $SECONDS_PER_ROUND
# (default 5) s of load, one line per server and the round's req/s ratio
# A ÷ B and cost ratio (B's cycles per request ÷ A's), and per request any
# perf events in $EXTRA_EVENTS (e.g. cache-misses,context-switches). CAP=0
# runs them uncapped: then the one client core is usually the limit for
# both, and only the per-request counts mean anything.
# ALONE=1 loads one side at a time (in alternating order), uncapped by
# default: each server has the core and its caches to itself, as it would
# in service. For servers whose cost depends on what stays in the CPU's
# caches (the page store decompressing frames), sharing a core with the
# other side distorts the comparison more than the host's phases do.
# WARM (default 2) sets the warm-up seconds per target, e.g. to fill the
# store's frame cache before counting.
# Needs root and cgroup v1's cpu controller or v2's (for the caps), wrk,
# perf, taskset, curl and python3; nginx for an `nginx` side.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"
# shellcheck source=../lib/server.sh
source "$HERE/../lib/server.sh"
INDEX=${1:?index dir}; DUMP=${2:?dump}; TARGET=${3:?target}; ROUNDS=${4:?rounds}
A=${5:?first server}; B=${6:?second server}
ALONE=${ALONE:-0} WARM=${WARM:-2}
SECS=${SECONDS_PER_ROUND:-5} CAP=${CAP:-$( ((ALONE)) && echo 0 || echo 15)} SERVER_CPU=${SERVER_CPU:-0} CLIENT_CPU=${CLIENT_CPU:-1}
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
# start SIDE BIN PORT: starts a server; sets KILL_PID (to stop) and
# COUNT_PID (to count: nginx's worker, or the wikidex process).
start() {
  local side=$1 bin=$2 port=$3
  if [ "$bin" = nginx ]; then
    start_nginx "$WORK/$side" "$port" "$DUMP" || exit 1
    KILL_PID=$NGINX_PID COUNT_PID=$NGINX_WORKER
  else
    local index=$INDEX dump=$DUMP args=${SERVE_ARGS:-}
    [ "$side" = b ] && index=${INDEX_B:-$INDEX} dump=${DUMP_B:-$DUMP} args=${SERVE_ARGS_B:-${SERVE_ARGS:-}}
    local workers=(--workers 1)
    [[ " $args " == *" --workers "* ]] && workers=()
    # shellcheck disable=SC2086
    start_wikidex "$bin" "$WORK/$side.log" --index "$index" --dump "$dump" --bind "127.0.0.1:$port" \
      "${workers[@]}" $args || { echo "duo.sh: $bin did not start: $(tail -2 "$WORK/$side.log")" >&2; exit 1; }
    KILL_PID=$SERVER_PID COUNT_PID=$SERVER_PID
  fi
}
IFS=, read -r -a TARGETS <<< "$TARGET"
for t in "${TARGETS[@]}"; do
  [[ $t =~ ^(offsets|wiki|xml|/.*)$ ]] \
    || { echo "duo.sh: TARGET is a path (/plaintext), offsets, wiki or xml, or several of these, not '$t'" >&2; exit 2; }
done
if [[ ",$TARGET," =~ ,(offsets|wiki|xml), ]]; then
  first=""
  for bin in "$A" "$B"; do [ "$bin" != nginx ] && first=$bin && break; done
  [ -n "$first" ] || { echo "duo.sh: $TARGET needs a wikidex among the servers" >&2; exit 2; }
  start x "$first" "$PORT_A"; KILL=("$KILL_PID")
  python3 "$HERE/gen_inputs.py" "http://127.0.0.1:$PORT_A" "$WORK" > /dev/null
  stop_server "$KILL_PID" || true; KILL=()
fi
[ -z "${TARGET_B:-}" ] || [[ $TARGET_B == /* && ${#TARGETS[@]} == 1 ]] \
  || { echo "duo.sh: TARGET_B is a path (/plaintext), with one TARGET, not '$TARGET_B'" >&2; exit 2; }
# aim TARGET: sets WRK, PATH_ and ARGS for side A and WRK_B, PATH_B and
# ARGS_B for side B (TARGET_B instead, if set) for one target.
aim() {
  WRK=(wrk -t1 -c64) ARGS=() ARGS_B=() PATH_=""
  case $1 in
    offsets) WRK+=(-s "$HERE/offsets.lua"); ARGS=(-- "$WORK/prefixes.txt" "${LIMIT:-10}")
      ARGS_B=(-- "$WORK/prefixes.txt" "${LIMIT_B:-${LIMIT:-10}}") ;;
    wiki) WRK+=(-s "$HERE/wiki.lua"); ARGS=(-- "$WORK/titles.txt") ;;
    xml) WRK+=(-s "$HERE/xml.lua"); ARGS=(-- "$WORK/ranges.txt") ;;
    *) PATH_=$1 ;;
  esac
  [ ${#ARGS_B[@]} -gt 0 ] || ARGS_B=("${ARGS[@]}")
  WRK_B=("${WRK[@]}") PATH_B=$PATH_
  if [ -n "${TARGET_B:-}" ]; then WRK_B=(wrk -t1 -c64) ARGS_B=() PATH_B=$TARGET_B; fi
}
EVENTS=task-clock,cycles,instructions,cycles:u,instructions:u${EXTRA_EVENTS:+,$EXTRA_EVENTS}
# load SIDE...: drives the given sides (a, b) at once: $WARM s of warm-up,
# then $SECS s counted by perf (wrk's output in wrk-SIDE.out, perf's in
# perf-SIDE.out).
load() {
  local side pids=() port path wrk args
  for side in "$@"; do
    if [ "$side" = a ]; then port=$PORT_A path=$PATH_ wrk=("${WRK[@]}") args=("${ARGS[@]}")
    else port=$PORT_B path=$PATH_B wrk=("${WRK_B[@]}") args=("${ARGS_B[@]}"); fi
    taskset -c "$CLIENT_CPU" "${wrk[@]}" -d"${WARM}s" "http://127.0.0.1:$port$path" "${args[@]}" > /dev/null & pids+=($!)
  done
  wait "${pids[@]}"; pids=()
  for side in "$@"; do
    if [ "$side" = a ]; then port=$PORT_A path=$PATH_ wrk=("${WRK[@]}") args=("${ARGS[@]}")
    else port=$PORT_B path=$PATH_B wrk=("${WRK_B[@]}") args=("${ARGS_B[@]}"); fi
    taskset -c "$CLIENT_CPU" "${wrk[@]}" -d$((SECS + 2))s "http://127.0.0.1:$port$path" "${args[@]}" \
      > "$WORK/wrk-$side.out" & pids+=($!)
  done
  sleep 1
  for side in "$@"; do
    perf stat -x, -e "$EVENTS" -p "$( [ "$side" = a ] && echo "$PA" || echo "$PB")" -o "$WORK/perf-$side.out" \
      -- sleep "$SECS" & pids+=($!)
  done
  wait "${pids[@]}"
}
LABEL=""
[ ${#TARGETS[@]} -gt 1 ] && LABEL="target | "
echo "| round | ${LABEL}server | req/s | CPU % | cycles/req | of them user space | instructions/req | of them user space | IPC | other events/req |"
echo "|---|---|---|---|---|---|---|---|---|---|$([ -n "$LABEL" ] && echo "---|")"
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then
    start a "$A" "$PORT_A"; KA=$KILL_PID PA=$COUNT_PID
    start b "$B" "$PORT_B"; KB=$KILL_PID PB=$COUNT_PID
  else
    start b "$B" "$PORT_B"; KB=$KILL_PID PB=$COUNT_PID
    start a "$A" "$PORT_A"; KA=$KILL_PID PA=$COUNT_PID
  fi
  KILL=("$KA" "$KB")
  if [ -n "$CG" ]; then cg_join a "$KA"; cg_join b "$KB"; fi
  for target in "${TARGETS[@]}"; do
    aim "$target"
    if [ "$ALONE" = 1 ]; then
      # One side at a time, in the round's start order.
      if (( round % 2 )); then load a; load b; else load b; load a; fi
    else
      load a b
    fi
    python3 - "$WORK" "$SECS" "$round" "$A" "$B" "$([ -n "$LABEL" ] && echo "$target")" <<'PY'
import re, sys
work, secs, round_, a, b, target = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
label = f"{target} | " if target else ""
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
    print(f"| {round_} | {label}`{name}` | {rps[side]:,.0f} | {c['task-clock'] / secs / 10:.1f} | {per('cycles')} "
          f"| {per('cycles:u')} | {per('instructions')} | {per('instructions:u')} | {ipc} "
          f"| {' '.join(f'{k} {v / req:,.1f}' for k, v in c.items() if k not in BASIC)} |")
by = "cycles" if counted else "CPU time"
print(f"| {round_} | {label}A ÷ B | {rps['a'] / rps['b']:.3f}× | | {cycles['b'] / cycles['a']:.3f}× by {by} | | | | | |"
      + (" |" if label else ""))
PY
  done
  stop_server "$KA" || true; stop_server "$KB" || true
  KILL=()
done
