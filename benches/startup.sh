#!/usr/bin/env bash
# Time from `wikidex serve` exec to the first answered request, for an index
# of any size, with the full checksum pass before serving (--verify full) and without (--verify off).
# Usage: benches/startup.sh INDEX_DIR DUMP [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/server.sh
source benches/lib/server.sh
WAIT_POLL=0.001   # the first answer is timed to the millisecond
INDEX=${1:?index dir}; DUMP=${2:?dump}; RUNS=${3:-5}
cargo build --release -q
BIN=$PWD/target/release/wikidex
PORT=$((20000 + RANDOM % 20000))
measure() {
    local best=999999
    for _ in $(seq "$RUNS"); do
        cat "$INDEX"/* > /dev/null   # page cache warm: we measure our work, not the disk
        local t0; t0=$(date +%s%N)
        start_wikidex "$BIN" /dev/null --index "$INDEX" --dump "$DUMP" --bind "127.0.0.1:$PORT" "$@" \
            || { echo "startup.sh: the server did not start" >&2; exit 1; }
        local t1; t1=$(date +%s%N)
        stop_server || true
        local ms=$(( (t1 - t0) / 1000000 ))
        (( ms < best )) && best=$ms
    done
    echo "$best"
}
pages=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['pages'])" "$INDEX/manifest.json")
bytes=$(du -sb "$INDEX" | cut -f1)
full=$(measure --verify full)
trust=$(measure --verify off)
echo "| index | pages | index bytes | first answer (--verify full: every checksum first) | first answer (--verify off) |"
echo "|---|---|---|---|---|"
echo "| $(basename "$INDEX") | $pages | $bytes | $full ms | $trust ms |"
