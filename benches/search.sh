#!/usr/bin/env bash
# /offsets exact vs match=folded vs match=fuzzy, side by side in one run, on
# queries made from the index's real titles: exact = a 1-8 character prefix
# of a title; folded = that prefix lowercased; fuzzy = a 5-9 character
# lowercased prefix with one adjacent transposition (a typo). Closed-loop
# throughput, then a constant rate with latency measured from the scheduled
# send time (benches/load/loadgen, wrk2-style). Server pinned to core 0 with
# one worker, load generator to core 1.
# Usage: benches/search.sh INDEX DUMP [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/server.sh
source benches/lib/server.sh
INDEX=${1:?index dir}; DUMP=${2:?dump}; RATE=${RATE:-${3:-2000}}
WORK=${WORK:-/tmp/wikidex-search}; mkdir -p "$WORK"
cargo build --release -q
cargo build --release -q --manifest-path benches/load/loadgen/Cargo.toml --target-dir "$WORK/target"
LOADGEN="$WORK/target/release/wikidex-loadgen"
[ -x "$LOADGEN" ] || LOADGEN=$(find "$WORK/target/release" -maxdepth 1 -type f -perm -u+x | head -1)
head -c 2000000000 "$DUMP" | grep -o '<title>[^<]*</title>' | sed 's/<title>//; s/<\/title>//' \
    | shuf -n 20000 --random-source=<(yes) > "$WORK/titles.txt"
python3 - "$WORK" <<'PY'
import html, random, sys, unicodedata, urllib.parse
work = sys.argv[1]
rnd = random.Random(1)
titles = [html.unescape(t) for t in open(f"{work}/titles.txt", encoding="utf-8").read().split("\n") if t]
def fold(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s.casefold()) if not unicodedata.combining(c))
q = lambda s: urllib.parse.quote(s, safe="")
with open(f"{work}/exact.txt", "w") as ex, open(f"{work}/folded.txt", "w") as fo, open(f"{work}/fuzzy.txt", "w") as fz:
    for t in titles:
        p = t[: rnd.randint(1, 8)]
        ex.write(f"/offsets/{q(p)}?limit=10\n")
        fo.write(f"/offsets/{q(fold(p))}?match=folded&limit=10\n")
        f = fold(t)[: rnd.randint(5, 9)]
        if len(f) >= 5:
            i = rnd.randint(1, len(f) - 2)
            f = f[:i] + f[i + 1] + f[i] + f[i + 2 :]
        fz.write(f"/offsets/{q(f)}?match=fuzzy&limit=10\n")
PY
PORT=$((20000 + RANDOM % 20000))
trap 'stop_server || true' EXIT
SERVER_CPU=0
start_wikidex target/release/wikidex /dev/null --index "$INDEX" --dump "$DUMP" \
  --bind "127.0.0.1:$PORT" --workers 1 || { echo "search.sh: the server did not start" >&2; exit 1; }
run() {  # mode rate
    taskset -c 1 "$LOADGEN" --addr "127.0.0.1:$PORT" --requests "$WORK/$1.txt" -c 32 -d 10 -R "$2" | grep '^RESULT' \
        | python3 -c '
import sys
kv = dict(x.split("=", 1) for x in sys.stdin.read().split()[1:])
g = lambda k: float(kv.get(k, "nan"))
ms = lambda k: "%.2f" % (g(k) / 1000)
print("| %s | %.0f | %s | %s | %s | %s | %s |" % (sys.argv[1], g("rps"), ms("p50_us"), ms("p99_us"), ms("p999_us"), ms("p9999_us"), ms("max_us")))
' "$1"
}
echo "closed loop, 32 connections, 10 s each ($(wc -l < "$WORK/exact.txt") queries from real titles):"
echo "| match | req/s | p50 ms | p99 ms | p99.9 ms | p99.99 ms | max ms |"
echo "|---|---|---|---|---|---|---|"
for m in exact folded fuzzy; do run "$m" 0; done
echo
echo "constant $RATE req/s, 10 s each, latency from the scheduled send time:"
echo "| match | req/s | p50 ms | p99 ms | p99.9 ms | p99.99 ms | max ms |"
echo "|---|---|---|---|---|---|---|"
for m in exact folded fuzzy; do run "$m" "$RATE"; done
