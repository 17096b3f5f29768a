# shellcheck shell=bash
# Helpers shared by the fault drills in benches/faults/ (sourced, not run).
# Every server listens on 127.0.0.1 with an ephemeral port; every loop is bounded.
# Servers start and stop through benches/lib/server.sh (start_wikidex, stop_server).

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../lib/server.sh
source "$ROOT/benches/lib/server.sh"

# The binary under test: $WIKIDEX, else a release build of this checkout.
if [ -z "${WIKIDEX:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    WIKIDEX=$ROOT/target/release/wikidex
fi
export WIKIDEX_LOG=${WIKIDEX_LOG:-info}

work=$(mktemp -d /tmp/wikidex-faults.XXXXXX)
# A private copy: a rebuild of the shared target directory mid-drill must not
# mix two versions of the binary.
cp "$WIKIDEX" "$work/wikidex"
WIKIDEX=$work/wikidex
FAILURES=0
RESULTS=$work/results.md

strip() { sed 's/\x1b\[[0-9;]*m//g'; }

# record NAME EXPECTED OUTCOME PASS(0|1) — one row of the Markdown table.
record() {
    local mark=ok
    if [ "$4" != 0 ]; then mark=FAIL; FAILURES=$((FAILURES + 1)); fi
    printf '| %s | %s | %s | %s |\n' "$1" "$2" "$(printf '%s' "$3" | tr '\n|' '  ' | cut -c1-160)" "$mark" >>"$RESULTS"
    printf '%-4s %s: %s\n' "$mark" "$1" "$(printf '%s' "$3" | tr '\n' ' ' | cut -c1-200)" >&2
}

# start_server ARGS... — `wikidex serve --workers 2 ARGS` on an ephemeral
# port, its log in SERVER_LOG: start_wikidex's return codes (0 answering,
# SERVER_PID and SERVER_ADDR set; 1 exited first; 2 no answer in 30 s).
start_server() {
    SERVER_LOG=$(mktemp -p "$work" serve.XXXXXX)
    WAIT_SECS=30 start_wikidex "$WIKIDEX" "$SERVER_LOG" --workers 2 "$@"
}

# http PATH [curl args...] — prints "STATUS BODY" (body cut to 200 bytes).
http() {
    local path=$1
    shift
    local out
    out=$(curl -s --max-time 10 -o "$work/body" -w '%{http_code}' "$@" "http://$SERVER_ADDR$path" || true)
    printf '%s %s' "$out" "$(head -c 200 "$work/body" 2>/dev/null)"
}

cleanup() {
    stop_server || true
    if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

print_results() {
    echo
    echo "| case | expected | outcome | |"
    echo "|---|---|---|---|"
    cat "$RESULTS"
    echo
    echo "$1: $FAILURES failed"
}
