#!/usr/bin/env bash
# Connection-scale test: 10,000 idle keep-alive connections to wikidex while a
# few active ones keep querying /offsets at a constant rate (conns.py).
#
#   benches/load/conns.sh [--quick] [--dump FILE] [--conns 10000] [--active 64]
#                         [--rate 2000] [--duration 15] [--workers 1]
#                         [--server-args "..."] [--out DIR]
#
# Serves --dump (default: /tmp/bench/enwiki-2m.xml if it is indexed, else a
# copy of data/sample.xml; --quick forces the sample) on core $SERVER_CPU (0)
# on 127.0.0.1:$PORT_CONNS (28482) with `--keep-alive 120` (so idle connections outlive the test; the memory a
# connection holds does not depend on it), raises the open-file limit to the
# hard limit, and runs conns.py on core $CLIENT_CPU (1). Prints conns.py's
# JSON: server VmRSS before/after, bytes per idle connection, descriptor
# counts, and the active connections' latency percentiles without and with the
# idle crowd (measured from the scheduled send time).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$HERE/../lib/server.sh"
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${WIKIDEX_BIN:-$ROOT/target/release/wikidex}
BENCH_DIR=${BENCH_DIR:-/tmp/bench}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT_CONNS:-28482}
QUICK=0 DUMP="" CONNS=10000 ACTIVE=64 RATE=2000 DURATION=15 WORKERS=1 SERVER_ARGS="--keep-alive 120" OUT=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --dump) DUMP=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --active) ACTIVE=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --workers) WORKERS=$2; shift ;;
    --server-args) SERVER_ARGS=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "conns.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
OUT=${OUT:-/tmp/wikidex-load/conns-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/inputs"
[ -x "$BIN" ] || { echo "conns.sh: no $BIN; run: cargo build --release" >&2; exit 2; }
if [ -z "$DUMP" ]; then
  if [ "$QUICK" = 0 ] && [ -f "$BENCH_DIR/enwiki-2m.xml.wikidex/manifest.json" ]; then
    DUMP=$BENCH_DIR/enwiki-2m.xml
  else
    mkdir -p "$BENCH_DIR/quick"; DUMP=$BENCH_DIR/quick/sample.xml
    [ -f "$DUMP" ] || cp -p "$ROOT/data/sample.xml" "$DUMP"
  fi
fi
[ -f "$DUMP.wikidex/manifest.json" ] || "$BIN" index "$DUMP" 2>&1 | tail -1

ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < CONNS + ACTIVE + 100 )); then
  echo "conns.sh: the open-file limit is $(ulimit -n); need $((CONNS + ACTIVE + 100))" >&2; exit 2
fi
if ss -ltn "sport = :$PORT" | grep -q LISTEN; then
  echo "conns.sh: port $PORT is taken (set PORT_CONNS)" >&2; exit 2
fi
SERVER_PID=""
trap 'stop_server || true' EXIT INT TERM
# shellcheck disable=SC2086
start_wikidex "$BIN" "$OUT/wikidex.log" --index "$DUMP.wikidex" --dump "$DUMP" --bind "127.0.0.1:$PORT" \
  --workers "$WORKERS" $SERVER_ARGS || { echo "conns.sh: wikidex did not start; see $OUT/wikidex.log" >&2; exit 1; }
python3 "$HERE/gen_inputs.py" "http://127.0.0.1:$PORT" "$OUT/inputs" --wiki-titles 10 > /dev/null
echo "== wikidex $DUMP on core $SERVER_CPU (--workers $WORKERS $SERVER_ARGS), open-file limit $(ulimit -n)"
echo "== $CONNS idle connections, $ACTIVE active at $RATE req/s for ${DURATION}s, client on core $CLIENT_CPU"
timeout $(( 2 * DURATION + 400 )) taskset -c "$CLIENT_CPU" python3 "$HERE/conns.py" --port "$PORT" --pid "$SERVER_PID" \
  --conns "$CONNS" --active "$ACTIVE" --rate "$RATE" --duration "$DURATION" \
  --prefixes "$OUT/inputs/prefixes.txt" | tee "$OUT/conns.json"
