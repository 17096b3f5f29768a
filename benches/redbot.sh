#!/bin/bash
# REDbot (Mark Nottingham's HTTP linter, PyPI `redbot`) on every wikidex
# endpoint: serves the bundled sample, checks each answer, and fails if
# REDbot finds anything worse than an informational note (a warning or a
# "bad"). Issue 22; the outcome is in docs/OPERATIONS.md, "REDbot".
#
#   benches/redbot.sh            # every endpoint; exit 1 on any finding
#   VERBOSE=1 benches/redbot.sh  # and REDbot's whole report per endpoint
#
# REDbot goes into a virtualenv, $REDBOT_VENV (default /tmp/redbot-venv),
# made and filled from PyPI when missing. The binary is $WIKIDEX, else
# target/release/wikidex (under $CARGO_TARGET_DIR if set), built if missing.
# REDbot's own CLI sends no request headers of ours (and /xml needs a
# Range), so benches/redbot_check.py drives its library with them.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${REDBOT_VENV:-/tmp/redbot-venv}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import redbot' 2>/dev/null; then
    echo "redbot.sh: installing REDbot into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet redbot
fi
if [ -z "${WIKIDEX:-}" ]; then
    WIKIDEX=${CARGO_TARGET_DIR:-$ROOT/target}/release/wikidex
    [ -x "$WIKIDEX" ] || (cd "$ROOT" && cargo build --release --quiet)
fi

work=$(mktemp -d /tmp/wikidex-redbot.XXXXXX)
server=""
cleanup() {
    if [ -n "$server" ]; then kill -INT "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# The sample, indexed here (not beside the repository's copy), served from
# its page store.
"$WIKIDEX" index "$ROOT/data/enwiki-sample-multistream.xml.bz2" -o "$work/sample.wikidex" >/dev/null 2>&1
WIKIDEX_LOG=info "$WIKIDEX" serve --index "$work/sample.wikidex" --bind 127.0.0.1:0 --workers 1 \
    --drain-secs 0 >/dev/null 2>"$work/serve.log" &
server=$!
addr=""
for _ in $(seq 300); do
    addr=$(sed 's/\x1b\[[0-9;]*m//g' "$work/serve.log" | grep -o 'on http://[0-9.:]*' | head -1 | cut -c11-) || true
    [ -z "$addr" ] || break
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 2; }
    sleep 0.1
done
[ -n "$addr" ] || { echo "redbot.sh: the server did not start" >&2; exit 2; }
base=http://$addr

# A real page of the sample, not a redirect: its title (for /wiki) and byte
# range (for /xml).
rows=$(curl -fsS "$base/offsets/Al?limit=50&fields=redirect")
row=$(python3 -c 'import json,sys; print(json.dumps(next(r for r in json.loads(sys.argv[1]) if r[3] is None)))' "$rows")
title=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[0])' "$row")
range=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(f"{r[1]}-{r[2]}")' "$row")
wiki=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1].replace(" ", "_")))' "$title")

checks=(
    "/"
    "/app.js"
    "/wikitext.js"
    "/style.css"
    "/offsets/Al?limit=5"
    "/offsets/al?limit=5&match=fuzzy&order=rank&fields=score"
    "/wiki/$wiki"
    "/xml|Range: bytes=$range"
    "/opensearch?search=al&limit=5"
    "/suggest?q=al"
    "/opensearch.xml"
    "/stats"
    "/metrics"
    "/healthz"
)
failed=0
summary=()
for check in "${checks[@]}"; do
    path=${check%%|*}
    headers=()
    [ "$path" = "$check" ] || headers=(-H "${check#*|}")
    out=$("$VENV/bin/python" "$ROOT/benches/redbot_check.py" "${headers[@]}" "$base$path") && rc=0 || rc=$?
    [ -z "${VERBOSE:-}" ] || printf '=== %s\n%s\n' "$check" "$out"
    findings=$(printf '%s\n' "$out" | grep '^FINDING' | sed 's/^FINDING //' || true)
    if [ "$rc" = 0 ]; then
        summary+=("ok    $check")
    else
        failed=$((failed + 1))
        summary+=("FAIL  $check")
        while IFS= read -r f; do summary+=("        $f"); done <<<"${findings:-(no answer)}"
    fi
done
printf '%s\n' "${summary[@]}"
echo "REDbot $("$VENV/bin/pip" show redbot 2>/dev/null | sed -n 's/^Version: //p'): ${#checks[@]} endpoints, $failed with findings worse than informational"
[ "$failed" = 0 ]
