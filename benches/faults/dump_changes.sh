#!/usr/bin/env bash
# The dump changes after indexing. Before startup: deleted, truncated,
# appended, touched, edited in its first/last MiB → `wikidex serve` refuses
# naming the dump and `wikidex verify` fails. While serving: truncated,
# appended, touched, edited in place → 503 JSON for requests that need dump
# bytes, 200 for those that do not, the process never dies and shuts down
# cleanly; deleted or replaced by rename → still served from the open file;
# truncated while a 48 MB range streams → the transfer ends short, nothing
# wrong is sent, the server lives on.
#
#   benches/faults/dump_changes.sh        (WIKIDEX=path/to/wikidex to skip the release build)
source "$(dirname "$0")/common.sh"

"$WIKIDEX" gen --pages 20000 --seed 3 -o "$work/pristine.xml" >/dev/null
dump=$work/d.xml
fresh() { # a pristine copy of the dump, freshly indexed
    cp "$work/pristine.xml" "$dump"
    rm -rf "$work/i"
    "$WIKIDEX" index "$dump" -o "$work/i" >/dev/null 2>&1
}
size=$(stat -c %s "$work/pristine.xml")
truncate_dump() {
    truncate -s "$1" "$dump"
}
flip_at() { python3 -c "import sys; p=sys.argv[1]; f=open(p,'r+b'); f.seek(int(sys.argv[2])); b=f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0]^1]))" "$dump" "$1"; }

# --- before startup -----------------------------------------------------------
for change in deleted truncated-1 truncated-half appended touched first-MiB-edited last-MiB-edited; do
    fresh
    case $change in
        deleted) rm "$dump" ;;
        truncated-1) truncate -s $((size - 1)) "$dump" ;;
        truncated-half) truncate -s $((size / 2)) "$dump" ;;
        appended) printf '\n' >>"$dump" ;;
        touched) touch -d '+1 hour' "$dump" ;;
        first-MiB-edited) m=$(stat -c %y "$dump"); flip_at 1000; touch -d "$m" "$dump" ;;
        last-MiB-edited) m=$(stat -c %y "$dump"); flip_at $((size - 1000)); touch -d "$m" "$dump" ;;
    esac
    ok=0
    if start_server --index "$work/i" --dump "$dump"; then
        stop_server || true
        ok=1
        outcome="serve STARTED"
    else
        msg=$(strip <"$SERVER_LOG" | grep -i error | tail -1)
        outcome="serve: ${msg#*error: }"
        case $msg in *"$dump"*) ;; *) ok=1 ;; esac
    fi
    rc=0
    v=$("$WIKIDEX" verify "$work/i" 2>&1 >/dev/null) || rc=$?
    if [ $rc = 0 ]; then ok=1; outcome="$outcome; verify PASSED"; fi
    record "before start: $change" "refused, names the dump" "$outcome" $ok
done

# Informational: the identity is size + mtime + first/last MiB, so a
# same-size edit in the middle with the mtime put back is not seen at startup.
fresh
m=$(stat -c %y "$dump")
flip_at $((size / 2))
touch -d "$m" "$dump"
if start_server --index "$work/i" --dump "$dump"; then
    stop_server || true
    printf '| before start: middle edited, mtime restored | (by design not detected) | serve started | info |\n' >>"$RESULTS"
else
    printf '| before start: middle edited, mtime restored | (by design not detected) | refused | info |\n' >>"$RESULTS"
fi

# --- while serving ------------------------------------------------------------
last_title=$(python3 - "$work/pristine.xml" <<'PY'
import re, sys, urllib.parse
data = open(sys.argv[1], 'rb').read()
at = data.rindex(b'<page>')
t = re.search(rb'<title>([^<]*)</title>', data[at:]).group(1).decode()
import html
print(urllib.parse.quote(html.unescape(t).replace(' ', '_')))
PY
)
for change in truncated appended touched edited-in-place deleted renamed-over; do
    fresh
    start_server --index "$work/i" --dump "$dump" || { record "serving: $change" "server starts" "did not start" 1; continue; }
    before=$(http "/wiki/$last_title?redirect=no")
    before=${before:0:3}
    case $change in
        truncated) truncate_dump $((size / 2)) ;;
        appended) printf '\n' >>"$dump" ;;
        touched) touch -d '+1 hour' "$dump" ;;
        edited-in-place) flip_at $((size / 2)) ;;
        deleted) rm "$dump" ;;
        renamed-over) cp "$work/pristine.xml" "$dump.new"; printf 'x' >>"$dump.new"; mv "$dump.new" "$dump" ;;
    esac
    wiki=$(http "/wiki/$last_title?redirect=no")
    xml=$(http /xml -H 'Range: bytes=0-99')
    health=$(http /healthz)
    offsets=$(http "/offsets/A?limit=1")
    alive=0
    kill -0 "$SERVER_PID" 2>/dev/null || alive=1
    stop_rc=0
    stop_server || stop_rc=$?
    summary="before ${before}; wiki ${wiki:0:3}; xml ${xml:0:3}; healthz ${health:0:3}; offsets ${offsets:0:3}; alive $([ $alive = 0 ] && echo yes || echo NO); SIGTERM exit $stop_rc"
    case $change in
        deleted | renamed-over)
            expected="still served from the open file (200s)"
            pass=$([ "${wiki:0:3}" = 200 ] && [ "${xml:0:3}" = 206 ] && [ "${health:0:3}" = 200 ] && echo 0 || echo 1) ;;
        *)
            expected="503 JSON for dump reads, 200 offsets"
            pass=1
            if [ "${wiki:0:3}" = 503 ] && [ "${xml:0:3}" = 503 ] && [ "${health:0:3}" = 503 ] && [ "${offsets:0:3}" = 200 ]; then
                case "${wiki:4}" in '{"error":'*changed*) pass=0 ;; esac
            fi ;;
    esac
    if [ $alive != 0 ] || [ $stop_rc != 0 ] || [ "$before" != 200 ]; then pass=1; fi
    record "serving: $change" "$expected" "$summary" "$pass"
done

# Truncated while a large range streams to a slow reader.
fresh
start_server --index "$work/i" --dump "$dump"
len=48000000
curl -s --max-time 60 --limit-rate 4M -o "$work/stream" -H "Range: bytes=0-$((len - 1))" \
    "http://$SERVER_ADDR/xml" &
curl_pid=$!
sleep 2
truncate_dump $((size / 4))
rc=0
wait $curl_pid || rc=$?
got=$(stat -c %s "$work/stream")
same=1
cmp -s -n "$got" "$work/stream" "$work/pristine.xml" && same=0
after=$(http /healthz)
after=${after:0:3}
alive=0
kill -0 "$SERVER_PID" 2>/dev/null || alive=1
stop_rc=0
stop_server || stop_rc=$?
pass=$([ "$got" -lt "$len" ] && [ $same = 0 ] && [ "$after" = 503 ] && [ $alive = 0 ] && [ $stop_rc = 0 ] && echo 0 || echo 1)
record "serving: truncated mid-stream (48 MB range at 4 MB/s)" "short body, every byte right, server alive" \
    "curl exit $rc after $got of $len bytes, bytes match the dump: $([ $same = 0 ] && echo yes || echo NO); then healthz $after; SIGTERM exit $stop_rc" "$pass"

print_results "dump_changes"
[ "$FAILURES" = 0 ]
