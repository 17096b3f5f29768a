# Helpers shared by the fault drills in benches/faults/ (sourced, not run).
# Every server listens on 127.0.0.1 with an ephemeral port; every loop is bounded.
# Servers started here stop at once when killed: the drain before stopping
# (`--drain-secs`, for balancers) would hold the port into the next start.
export WIKIDEX_DRAIN_SECS=${WIKIDEX_DRAIN_SECS:-0}

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

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

# start_server ARGS... — runs `wikidex serve` on an ephemeral port. Returns 0
# once it listens (sets SERVER_PID, SERVER_ADDR), 1 if it exits first (its
# stderr is in SERVER_LOG), 2 after 30 s.
start_server() {
    SERVER_LOG=$(mktemp -p "$work" serve.XXXXXX)
    "$WIKIDEX" serve --bind 127.0.0.1:0 --workers 2 "$@" >/dev/null 2>"$SERVER_LOG" &
    SERVER_PID=$!
    local i
    for i in $(seq 300); do
        if grep -q "on http://" "$SERVER_LOG"; then
            SERVER_ADDR=$(strip <"$SERVER_LOG" | grep -o 'on http://[0-9.:]*' | head -1 | cut -c11-)
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            wait "$SERVER_PID" 2>/dev/null || true
            return 1
        fi
        sleep 0.1
    done
    kill "$SERVER_PID" 2>/dev/null || true
    return 2
}

stop_server() {
    if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        local rc=0
        wait "$SERVER_PID" || rc=$?
        SERVER_PID=
        return $rc
    fi
    SERVER_PID=
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
