#!/usr/bin/env bash
# wikidex load kit: wikidex vs nginx, server pinned to one core, load on the other.
#
#   benches/load/run.sh [--quick] [--pages N] [--duration S] [--rounds N]
#                       [--fracs "0.25 0.5 0.75"] [--rate-rounds N] [--cap PCT] [--duo-cap PCT]
#                       [--workers N] [--conns N]
#                       [--tool auto|wrk2|oha|loadgen|wrk] [--server-args "..."]
#                       [--only "plaintext offsets wiki xml"] [--out DIR]
#
# 1. Data: --quick serves a copy of data/sample.xml; otherwise a generated dump
#    of --pages pages (default 2,000,000, ~13.5 GB; 500k if the disk is short)
#    under $BENCH_DIR (default /tmp/bench), generated and indexed if missing.
# 2. Starts `wikidex serve` (--workers 1 by default) and nginx (generated
#    config from nginx.conf.tmpl: /plaintext returns "Hello, World!", /xml is
#    the same dump file with sendfile and byte ranges), both on core
#    $SERVER_CPU (0); every load generator runs on core $CLIENT_CPU (1).
# 3. Builds the request lists from the running server (gen_inputs.py),
#    checks both servers return identical bytes for a few ranges, reads the
#    sampled ranges once so the page cache is warm for both, warms up.
# 4. Maximum throughput: each target closed-loop, --rounds times, alternating
#    order. wrk is used when installed (cheapest client per request); else
#    the rate tool with no rate.
# 4b. Capacity at a CPU cap (--cap PCT, default 50; 0 skips it): the same
#    closed-loop runs, --rounds times, with every server held to PCT % of
#    its core by CFS bandwidth control (a cgroup with 10 ms periods; needs
#    root and the cpu controller, else skipped with a note). On 2 cores the
#    uncapped maxima of the cheap targets are often set by the one client
#    core (wrk at 98-99 %): both servers then reach the same req/s. Capped,
#    each server runs out of CPU before the client does, so the req/s
#    ratio is the servers' again. Then, for /plaintext and /xml, ours and
#    nginx's side by side: both at once, each capped at --duo-cap % (default
#    15; 0 skips) with its own client, so that the host's phase (which can
#    double one server's speed for a whole run) is the same for both. The
#    report judges a throughput target by the side-by-side runs, else the
#    capped ones, when the uncapped pair was client-bound.
# 5. Constant-rate sweep: --fracs of our /plaintext maximum for /plaintext
#    (ours and nginx's), /offsets and /wiki; of nginx's /xml maximum for
#    /xml (ours and nginx's), --rate-rounds times (default: --rounds) with
#    the order reversed every other round. A p99.9 over one run of seconds
#    is set by the few host stalls that happened to fall in it (nginx's own
#    /plaintext p99.9 has ranged 1.8-7.5 ms at one rate), so the report
#    compares the servers round by round, each pair run back to back, and
#    judges a tail target by the median of those ratios. Tool: wrk2 if on
#    PATH, else the kit's own wrk2-style generator, loadgen/ (built with
#    cargo). oha (-q with --latency-correction; `--tool oha`) was the
#    fallback until it was measured beside loadgen at 70k req/s on one
#    core: it added ~0.3 ms to every median and 3-15 ms to p99.99 whatever
#    the server, so its tails were its own (docs/BENCHMARKS.md, "The load
#    generator's own tails").
#    oha cannot vary a header per request, so /xml (a different Range each
#    time) uses loadgen with `--tool oha` too. --tool forces one tool for
#    everything that supports it (wrk: closed loop only, no sweep).
#    An A/B of two builds or of serve flags is duo.sh's (side by side).
# 6. Prints and writes $OUT/report.md (tables, ratios, targets) and keeps
#    every raw output in $OUT (results.jsonl, load.log, server logs).
#
# Environment: WIKIDEX_BIN (default target/release/wikidex), BENCH_DIR,
# SERVER_CPU, CLIENT_CPU, PORT_WIKIDEX (28480), PORT_NGINX (28481),
# LOADGEN_TARGET (cargo target dir for loadgen). Traffic goes to 127.0.0.1
# only; every load run has a fixed duration and a timeout.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"
# shellcheck source=../lib/server.sh
source "$HERE/../lib/server.sh"
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${WIKIDEX_BIN:-$ROOT/target/release/wikidex}
BENCH_DIR=${BENCH_DIR:-/tmp/bench}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT_W=${PORT_WIKIDEX:-28480}
PORT_N=${PORT_NGINX:-28481}
QUICK=0 PAGES=2000000 DURATION="" ROUNDS="" RATE_ROUNDS="" CAP=50 DUO_CAP=15 FRACS="0.25 0.5 0.75" WORKERS=1 CONNS=64
TOOL=auto SERVER_ARGS="" ONLY="plaintext offsets wiki xml" OUT="" WARMUP=3

while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --pages) PAGES=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --fracs) FRACS=$2; shift ;;
    --rate-rounds) RATE_ROUNDS=$2; shift ;;
    --cap) CAP=$2; shift ;;
    --duo-cap) DUO_CAP=$2; shift ;;
    --workers) WORKERS=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --tool) TOOL=$2; shift ;;
    --server-args) SERVER_ARGS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '2,/^set -e/{/^#/p}' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then DURATION=${DURATION:-5}; ROUNDS=${ROUNDS:-1}; else DURATION=${DURATION:-15}; ROUNDS=${ROUNDS:-2}; fi
RATE_ROUNDS=${RATE_ROUNDS:-$ROUNDS}
for n in "$DURATION" "$ROUNDS" "$RATE_ROUNDS"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --duration, --rounds and --rate-rounds take a whole number ≥ 1, not '$n'" >&2; exit 2; }
done
for n in "$CAP" "$DUO_CAP"; do
  # The kernel takes no CFS quota under 1 ms: 10 % of a 10 ms period.
  [[ $n =~ ^[0-9]+$ ]] && (( n == 0 || (n >= 10 && n < 100) )) \
    || { echo "run.sh: --cap and --duo-cap take 0 (none) or a percentage from 10 to 99, not '$n'" >&2; exit 2; }
done
OUT=${OUT:-/tmp/wikidex-load/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl LOG=$OUT/load.log
: > "$RESULTS"; : > "$LOG"
has() { [[ " $ONLY " == *" $1 "* ]]; }
say() { echo "== $*"; }

[ -x "$BIN" ] || { echo "run.sh: no $BIN; run: cargo build --release" >&2; exit 2; }
for t in taskset curl python3 nginx; do
  command -v $t >/dev/null || { echo "run.sh: $t is required (apt-get install -y nginx util-linux curl python3)" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---- tools ------------------------------------------------------------------
LOADGEN=""
build_loadgen() {
  [ -n "$LOADGEN" ] && return 0
  local target=${LOADGEN_TARGET:-/tmp/wikidex-loadgen-target}
  say "building loadgen (benches/load/loadgen) into $target"
  CARGO_TARGET_DIR=$target cargo build --quiet --release --manifest-path "$HERE/loadgen/Cargo.toml"
  LOADGEN=$target/release/wikidex-loadgen
}
case $TOOL in
  auto)
    if command -v wrk2 >/dev/null; then RATE_TOOL=wrk2
    else RATE_TOOL=loadgen; fi ;;
  wrk2|oha|loadgen|wrk) RATE_TOOL=$TOOL ;;
  *) echo "run.sh: unknown --tool $TOOL" >&2; exit 2 ;;
esac
XML_RATE_TOOL=$RATE_TOOL
[ "$RATE_TOOL" = oha ] && XML_RATE_TOOL=loadgen   # oha sends one fixed Range header
if [ "$TOOL" = auto ] && command -v wrk >/dev/null; then MAX_TOOL=wrk; else MAX_TOOL=$RATE_TOOL; fi
[ "$RATE_TOOL" = wrk2 ] && [ "$MAX_TOOL" != wrk ] && MAX_TOOL=wrk2
if [ "$RATE_TOOL" = loadgen ] || [ "$XML_RATE_TOOL" = loadgen ] || [ "$MAX_TOOL" = loadgen ]; then build_loadgen; fi
say "load generators: max throughput: $MAX_TOOL; constant rate: $RATE_TOOL (/xml: $XML_RATE_TOOL)"
[ "$RATE_TOOL" = wrk ] && say "WARNING: plain wrk has no constant-rate mode; the rate sweep is skipped (install wrk2, or use --tool loadgen)"

# ---- data -------------------------------------------------------------------
mkdir -p "$BENCH_DIR"
if [ "$QUICK" = 1 ]; then
  DUMP=$BENCH_DIR/quick/sample.xml
  mkdir -p "$BENCH_DIR/quick"
  [ -f "$DUMP" ] || cp -p "$ROOT/data/sample.xml" "$DUMP"
else
  need=$(( PAGES * 7500 ))
  avail=$(df --output=avail -B1 "$BENCH_DIR" | tail -1)
  name() { if (( $1 % 1000000 == 0 )); then echo "$(( $1 / 1000000 ))m"; elif (( $1 % 1000 == 0 )); then echo "$(( $1 / 1000 ))k"; else echo "$1"; fi; }
  DUMP=$BENCH_DIR/enwiki-$(name "$PAGES").xml
  if [ ! -f "$DUMP" ] && (( avail < need + (4 << 30) )); then
    say "only $((avail >> 30)) GiB free in $BENCH_DIR: using 500k pages instead of $PAGES"
    PAGES=500000; DUMP=$BENCH_DIR/enwiki-500k.xml
  fi
  if [ ! -f "$DUMP" ]; then
    say "generating $DUMP ($PAGES pages)"
    "$BIN" gen --pages "$PAGES" --seed 1 -o "$DUMP.tmp" && mv "$DUMP.tmp" "$DUMP"
  fi
fi
INDEX=$DUMP.wikidex
# An index left by an older build (another format version) or for a dump
# since changed is rebuilt, not served.
why=""
if [ ! -f "$INDEX/manifest.json" ]; then why="no index yet"
elif ! unusable=$("$BIN" verify "$INDEX" 2>&1 >/dev/null); then why="the index there is unusable: ${unusable##*$'\n'}"; fi
if [ -n "$why" ]; then
  say "indexing $DUMP ($why)"
  "$BIN" index "$DUMP" 2>&1 | tail -2
fi

# ---- servers ----------------------------------------------------------------
SERVER_PID="" NGINX_PID=""
# The servers' cgroup for the capped runs (common.sh: cg_make, cg_cap, cg_join).
cleanup() {
  stop_server "$SERVER_PID" || true
  stop_server "$NGINX_PID" || true
  [ -z "$CG" ] || { sleep 0.2; cg_remove; }
}
trap cleanup EXIT INT TERM
for p in "$PORT_W" "$PORT_N"; do
  if ss -ltn "sport = :$p" | grep -q LISTEN; then
    echo "run.sh: port $p is taken (set PORT_WIKIDEX / PORT_NGINX)" >&2; exit 2
  fi
done
say "starting wikidex on core $SERVER_CPU: --workers $WORKERS $SERVER_ARGS"
# shellcheck disable=SC2086
start_wikidex "$BIN" "$OUT/wikidex.log" --index "$INDEX" --dump "$DUMP" --bind "127.0.0.1:$PORT_W" \
  --workers "$WORKERS" $SERVER_ARGS || { echo "run.sh: wikidex did not start; see $OUT/wikidex.log" >&2; exit 1; }
NDIR=$OUT/nginx
say "starting nginx $(nginx -v 2>&1 | sed 's/.*\///') on core $SERVER_CPU ($NDIR/nginx.conf)"
start_nginx "$NDIR" "$PORT_N" "$DUMP" || exit 1

# ---- inputs -----------------------------------------------------------------
IN=$OUT/inputs
mkdir -p "$IN"
say "request lists from the running server"
python3 "$HERE/gen_inputs.py" "http://127.0.0.1:$PORT_W" "$IN" > /dev/null
cat "$IN/inputs.json"; echo
awk -v p="http://127.0.0.1:$PORT_W" '{print p "/offsets/" $0 "?limit=10"}' "$IN/prefixes.txt" > "$IN/urls-offsets-$PORT_W.txt"
awk -v p="http://127.0.0.1:$PORT_W" '{print p "/wiki/" $0}' "$IN/titles.txt" > "$IN/urls-wiki-$PORT_W.txt"
awk '{print "/offsets/" $0 "?limit=10"}' "$IN/prefixes.txt" > "$IN/req-offsets.txt"
awk '{print "/wiki/" $0}' "$IN/titles.txt" > "$IN/req-wiki.txt"
awk '{print "/xml\tRange: bytes=" $1 "-" $2}' "$IN/ranges.txt" > "$IN/req-xml.txt"

say "checking both servers return the same bytes for 5 ranges"
for r in $(shuf -n 5 --random-source=<(yes) "$IN/ranges.txt" | tr ' ' '-'); do
  a=$(curl -sf -H "Range: bytes=$r" "http://127.0.0.1:$PORT_W/xml" | md5sum)
  b=$(curl -sf -H "Range: bytes=$r" "http://127.0.0.1:$PORT_N/xml" | md5sum)
  [ "$a" = "$b" ] || { echo "run.sh: /xml bytes=$r differ between wikidex and nginx" >&2; exit 1; }
done
[ "$(curl -sf "http://127.0.0.1:$PORT_N/plaintext")" = "Hello, World!" ] || { echo "run.sh: nginx /plaintext is wrong" >&2; exit 1; }
say "warming the page cache with the sampled ranges"
python3 - "$DUMP" "$IN/ranges.txt" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
n = 0
for line in open(sys.argv[2]):
    s, e = map(int, line.split())
    n += len(os.pread(fd, e - s + 1, s))
print(f"   read {n >> 20} MiB")
EOF

# ---- load commands ------------------------------------------------------------
# target: w-plain n-plain w-offsets w-wiki w-xml n-xml; sets CMD for TOOL and RATE (0 = max)
port_of() { case $1 in w-*) echo "$PORT_W" ;; n-*) echo "$PORT_N" ;; esac; }
build_cmd() {
  local tool=$1 target=$2 rate=$3 port; port=$(port_of "$target")
  local url=http://127.0.0.1:$port script args=()
  case $target in
    *-plain) script=plaintext.lua; args=(/plaintext) ;;
    *-offsets) script=offsets.lua; args=("$IN/prefixes.txt" 10) ;;
    *-wiki) script=wiki.lua; args=("$IN/titles.txt") ;;
    *-xml) script=xml.lua; args=("$IN/ranges.txt" /xml) ;;
  esac
  CMD=(timeout $((DURATION + 60)) taskset -c "$CLIENT_CPU")
  case $tool in
    wrk) CMD+=(wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 10s -s "$HERE/$script" "$url" -- "${args[@]}") ;;
    wrk2) CMD+=(wrk2 -t1 -c"$CONNS" -d"${DURATION}s" --timeout 10s -R "$( [ "$rate" = 0 ] && echo 100000000 || echo "$rate")"
                -s "$HERE/$script" "$url" -- "${args[@]}") ;;
    oha)
      CMD+=(oha --no-tui -z "${DURATION}s" -c "$CONNS" --worker-threads 1 --output-format json)
      [ "$rate" != 0 ] && CMD+=(-q "$rate" --latency-correction)
      case $target in
        *-plain) CMD+=("$url/plaintext") ;;
        *-offsets) CMD+=(--urls-from-file "$IN/urls-offsets-$port.txt") ;;
        *-wiki) CMD+=(--urls-from-file "$IN/urls-wiki-$port.txt") ;;
        *) echo "run.sh: oha cannot send a random Range per request" >&2; exit 1 ;;
      esac ;;
    loadgen)
      CMD+=("$LOADGEN" --addr "127.0.0.1:$port" -c "$CONNS" -d "$DURATION" -R "$rate")
      case $target in
        *-plain) CMD+=(--path /plaintext) ;;
        *-offsets) CMD+=(--requests "$IN/req-offsets.txt") ;;
        *-wiki) CMD+=(--requests "$IN/req-wiki.txt") ;;
        *-xml) CMD+=(--requests "$IN/req-xml.txt") ;;
      esac ;;
  esac
}
measure() {  # label tool target rate
  local label=$1 tool=$2 target=$3 rate=$4 pid
  case $target in w-*) pid=$SERVER_PID ;; n-*) pid=$NGINX_PID ;; esac
  build_cmd "$tool" "$target" "$rate"
  python3 "$HERE/measure.py" --label "$label" --tool "$tool" --server-pid "$pid" --core "$SERVER_CPU" \
    --target-rps "$rate" --out "$RESULTS" --log "$LOG" -- "${CMD[@]}"
}
TARGETS=()
# Pairs whose ratio is a target run back to back (the host changes speed
# within a minute): nginx and our /plaintext, our /plaintext and /offsets,
# our /xml and nginx's.
has plaintext && TARGETS+=(n-plain w-plain)
has offsets && TARGETS+=(w-offsets)
has wiki && TARGETS+=(w-wiki)
has xml && TARGETS+=(w-xml n-xml)
max_tool_for() { if [ "$MAX_TOOL" = oha ] && [[ $1 == *-xml ]]; then echo "$XML_RATE_TOOL"; else echo "$MAX_TOOL"; fi; }

# in_order ROUND TARGET...: the targets in the order round ROUND runs them
# (reversed every other round, so neither side of a pair always goes first).
in_order() {
  local r=$1 i; shift
  if (( r % 2 == 0 )); then for ((i=$#; i>=1; i--)); do echo "${!i}"; done; else printf '%s\n' "$@"; fi
}

say "warm-up (${WARMUP}s each)"
SAVED=$DURATION; DURATION=$WARMUP
for t in "${TARGETS[@]}"; do measure "warmup:$t" "$(max_tool_for "$t")" "$t" 0 > /dev/null; done
DURATION=$SAVED

say "maximum throughput, closed loop, $CONNS connections, ${DURATION}s x $ROUNDS rounds"
for r in $(seq "$ROUNDS"); do
  for t in $(in_order "$r" "${TARGETS[@]}"); do measure "max:$t:$r" "$(max_tool_for "$t")" "$t" 0; done
done

if [ "$CAP" != 0 ]; then
  cg_make "wikidex-kit-$$" w n
  # Every server in the cgroup and the cap set, or no capped runs at all:
  # a server left outside would be compared uncapped.
  # shellcheck disable=SC2086
  CG_USED=""
  if [ -n "$CG" ]; then
    if { cg_join w "$SERVER_PID" && cg_join n "$NGINX_PID" && cg_cap "$CAP"; } 2>/dev/null; then
      CG_USED=1
    else
      cg_cap 0 2>/dev/null || true
    fi
  fi
  if [ -z "$CG_USED" ]; then
    say "no capped runs: cannot hold the servers to a CPU cap here (needs root and the cpu controller); --cap 0 skips this"
  else
    say "capacity: closed loop, every server capped at $CAP % of core $SERVER_CPU (cgroup $CG_KIND, 10 ms periods), ${DURATION}s x $ROUNDS rounds"
    CAPPED=()
    for t in "${TARGETS[@]}"; do [[ $t == *-wiki ]] || CAPPED+=("$t"); done
    for r in $(seq "$ROUNDS"); do
      for t in $(in_order "$r" "${CAPPED[@]}"); do measure "cap:$t:$r" "$(max_tool_for "$t")" "$t" 0; done
    done
    # Side by side: ours and nginx's at the same time, each capped to
    # --duo-cap % with its own client, so that whatever phase the host is
    # in holds for both (run one after the other, one side's runs often fell
    # in a phase twice as fast as the other's). Low enough that the client
    # core carries both loads.
    DUOS=()
    has plaintext && DUOS+=("w-plain n-plain")
    has xml && DUOS+=("w-xml n-xml")
    if [ "${#DUOS[@]}" -gt 0 ] && [ "$DUO_CAP" != 0 ]; then
      cg_cap "$DUO_CAP"
      say "side by side: ours and nginx's at once, each capped at $DUO_CAP % of core $SERVER_CPU, ${DURATION}s x $ROUNDS rounds"
      for r in $(seq "$ROUNDS"); do
        for duo in "${DUOS[@]}"; do
          set -- $duo
          measure "duo:$1:$r" "$(max_tool_for "$1")" "$1" 0 & a=$!
          measure "duo:$2:$r" "$(max_tool_for "$2")" "$2" 0 & b=$!
          wait "$a" "$b"
        done
      done
    fi
    cg_cap 0
  fi
fi

median_max() {
  python3 - "$RESULTS" "$1" <<'EOF'
import json, statistics, sys
v = [json.loads(l)["rps"] for l in open(sys.argv[1]) if json.loads(l)["label"].startswith(f"max:{sys.argv[2]}:")]
print(int(statistics.median(v)) if v else 0)
EOF
}
if [ "$RATE_TOOL" != wrk ]; then
  PLAIN_MAX=$(median_max w-plain); XML_MAX=$(median_max n-xml)
  [ "$PLAIN_MAX" = 0 ] && PLAIN_MAX=$(median_max w-offsets)
  say "constant-rate sweep: fractions [$FRACS] of our /plaintext max ($PLAIN_MAX/s) and of nginx /xml max ($XML_MAX/s)"
  say "each fraction $RATE_ROUNDS rounds, order reversed every other round"
  for f in $FRACS; do
    rp=$(python3 -c "print(int($f * $PLAIN_MAX))"); rx=$(python3 -c "print(int($f * $XML_MAX))")
    for r in $(seq "$RATE_ROUNDS"); do
      for t in $(in_order "$r" "${TARGETS[@]}"); do
        case $t in
          *-xml) [ "$rx" -gt 0 ] && measure "rate:$t:$f:$r" "$XML_RATE_TOOL" "$t" "$rx" ;;
          *) [ "$rp" -gt 0 ] && measure "rate:$t:$f:$r" "$RATE_TOOL" "$t" "$rp" ;;
        esac
      done
    done
  done
fi

cat > "$OUT/meta.json" <<EOF
{"quick": $QUICK, "bin": "$BIN", "dump": "$DUMP", "dump_bytes": $(stat -c %s "$DUMP"), "workers": $WORKERS,
 "server_args": "$SERVER_ARGS", "conns": $CONNS, "duration_s": $DURATION, "rounds": $ROUNDS, "rate_rounds": $RATE_ROUNDS, "cap_pct": $([ -n "${CG_USED:-}" ] && echo "$CAP" || echo 0), "duo_cap_pct": $([ -n "${CG_USED:-}" ] && echo "$DUO_CAP" || echo 0),
 "max_tool": "$MAX_TOOL", "rate_tool": "$RATE_TOOL", "xml_rate_tool": "$XML_RATE_TOOL",
 "wikidex_rss_kib": $(awk '/VmRSS/{print $2}' /proc/$SERVER_PID/status),
 "nginx": "$(nginx -v 2>&1 | sed 's/.*\///')", "nproc": $(nproc), "kernel": "$(uname -r)",
 "cpu": "$(lscpu | sed -n 's/^Model name: *//p' | head -1)"}
EOF
python3 "$HERE/report.py" "$OUT" | tee "$OUT/report.md"
say "raw results in $OUT"
