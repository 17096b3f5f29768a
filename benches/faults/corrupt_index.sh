#!/usr/bin/env bash
# Corrupted index drill: every index file flipped, truncated, extended,
# zeroed, swapped, deleted or given a wrong format version; the manifest
# broken in several ways. For each, `wikidex serve` must refuse to start
# with a message naming the damaged file, and `wikidex verify` must fail
# naming it too. With `--verify background`, payload damage must stop the
# running server with a message naming the file. Then, informationally, what
# `--verify off` (no checksum pass, on purpose) does with payload damage.
#
#   benches/faults/corrupt_index.sh        (WIKIDEX=path/to/wikidex to skip the release build)
source "$(dirname "$0")/common.sh"

"$WIKIDEX" gen --pages 3000 --seed 7 -o "$work/d.xml" >/dev/null
"$WIKIDEX" index "$work/d.xml" -o "$work/pristine" >/dev/null 2>&1
files=$(cd "$work/pristine" && ls | grep -v manifest.json)

# corrupt KIND FILE — damages $work/c/FILE in place.
corrupt() {
    local kind=$1 f=$work/c/$2
    local size
    size=$(stat -c %s "$f")
    case $kind in
        flip-first) python3 - "$f" 0 <<'PY' ;;
import sys; p, at = sys.argv[1], int(sys.argv[2]); b = bytearray(open(p, 'rb').read()); b[at] ^= 0x40; open(p, 'wb').write(b)
PY
        flip-middle) python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[(len(b)-32)//2]^=1; open(p,'wb').write(b)" "$f" ;;
        flip-last-payload) python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)-33]^=0x80; open(p,'wb').write(b)" "$f" ;;
        flip-footer-len) python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)-16]^=1; open(p,'wb').write(b)" "$f" ;;
        flip-footer-crc) python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)-1]^=1; open(p,'wb').write(b)" "$f" ;;
        truncate-1) truncate -s $((size - 1)) "$f" ;;
        truncate-footer) truncate -s 16 "$f" ;;
        truncate-0) truncate -s 0 "$f" ;;
        append-1) printf 'x' >>"$f" ;;
        zero-filled) head -c "$size" /dev/zero >"$f" ;;
        delete) rm "$f" ;;
        swapped) # another file of the index under this name
            local other
            other=$(cd "$work/c" && ls | grep -v manifest.json | grep -vx "$2" | head -1)
            cp "$work/c/$other" "$f" ;;
        version-99) # a well-formed footer of a future format version
            python3 - "$f" <<'PY' ;;
import struct, sys, zlib
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); f = len(b) - 32
b[f + 8:f + 12] = struct.pack('<I', 99)
b[f + 28:f + 32] = struct.pack('<I', zlib.crc32(bytes(b[f:f + 28])))
open(p, 'wb').write(b)
PY
    esac
}

check() { # NAME FILE_NAMED — serve and verify on $work/c must refuse, naming FILE_NAMED
    local name=$1 named=$2 ok=0 outcome
    if start_server --index "$work/c" --dump "$work/d.xml"; then
        stop_server || true
        ok=1
        outcome="serve STARTED"
    else
        local msg
        msg=$(strip <"$SERVER_LOG" | grep -i error | tail -1)
        outcome="serve: ${msg#*error: }"
        case $msg in *"$named"*) ;; *) ok=1 ;; esac
    fi
    local v rc=0
    v=$("$WIKIDEX" verify "$work/c" --dump "$work/d.xml" 2>&1 >/dev/null) || rc=$?
    if [ $rc = 0 ]; then ok=1; outcome="$outcome; verify PASSED"; fi
    case $v in *"$named"*) ;; *) ok=1; outcome="$outcome; verify: $v" ;; esac
    record "$name" "refused, names $named" "$outcome" $ok
}

for f in $files; do
    for kind in flip-first flip-middle flip-last-payload flip-footer-len flip-footer-crc truncate-1 \
        truncate-footer truncate-0 append-1 zero-filled delete swapped version-99; do
        rm -rf "$work/c" && cp -a "$work/pristine" "$work/c"
        corrupt $kind "$f"
        check "$f: $kind" "$f"
    done
done

# The manifest.
manifest_case() { # NAME PYTHON-EXPR-ON-m (a dict) | raw:TEXT | delete
    rm -rf "$work/c" && cp -a "$work/pristine" "$work/c"
    local m=$work/c/manifest.json
    case $2 in
        delete) rm "$m" ;;
        raw:*) printf '%s' "${2#raw:}" >"$m" ;;
        *) python3 -c "import json,sys; p=sys.argv[1]; m=json.load(open(p)); $2; json.dump(m, open(p,'w'))" "$m" ;;
    esac
    check "manifest.json: $1" "${3:-manifest.json}"
}
manifest_case "deleted" delete
manifest_case "empty" "raw:"
manifest_case "not JSON" "raw:{\"format\": \"wikidex-index\", "
manifest_case "truncated by half" "raw:$(head -c $(($(stat -c %s "$work/pristine/manifest.json") / 2)) "$work/pristine/manifest.json")"
manifest_case "format_version 99" "m['format_version'] = 99"
manifest_case "format renamed" "m['format'] = 'something-else'"
manifest_case "pages + 1" "m['pages'] += 1" starts.u48
manifest_case "titles + 1" "m['titles'] += 1"
manifest_case "a file's crc32 changed" "m['files']['starts.u48']['crc32'] ^= 1" starts.u48
manifest_case "a file's length changed" "m['files']['lengths.u32']['bytes'] += 4" lengths.u32
manifest_case "a required file unlisted" "del m['files']['ns.i16']" ns.i16

# --verify background: the server starts at once; the checksum pass that
# follows must stop it, naming the damaged file.
for f in $files; do
    rm -rf "$work/c" && cp -a "$work/pristine" "$work/c"
    corrupt flip-middle "$f"
    ok=1
    if ! start_server --index "$work/c" --dump "$work/d.xml" --verify background; then
        msg=$(strip <"$SERVER_LOG" | grep -i error | tail -1)
        outcome="refused at startup: ${msg#*error: }"
        case $msg in *"$f"*) ok=0 ;; esac
    else
        outcome="still running after 20 s"
        for _ in $(seq 200); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            rc=0
            wait "$SERVER_PID" || rc=$?
            SERVER_PID=
            msg=$(strip <"$SERVER_LOG" | grep -i error | tail -1)
            outcome="started, then stopped (exit $rc): ${msg#*error: }"
            case $msg in *"$f"*) [ $rc != 0 ] && ok=0 ;; esac
        else
            stop_server || true
        fi
    fi
    record "$f: flip-middle, --verify background" "stops (or refuses) naming $f" "$outcome" $ok
done

# Informational: --verify off skips the checksum pass by design; payload
# damage then shows up per request. The process must still never crash.
echo >&2
echo "--verify off (informational):" >&2
for f in $files; do
    rm -rf "$work/c" && cp -a "$work/pristine" "$work/c"
    corrupt flip-middle "$f"
    if start_server --index "$work/c" --dump "$work/d.xml" --verify off; then
        answers=""
        for p in /offsets/A /offsets/T /wiki/Main_Page "/offsets/%C3%A9" /healthz; do
            a=$(http "$p")
            answers="$answers ${a:0:3}"
        done
        alive=dead
        kill -0 "$SERVER_PID" 2>/dev/null && alive=alive
        stop_server || true
        printf '| %s: flip-middle, --verify off | starts; answers or 5xx, never dies | statuses:%s; process %s | info |\n' \
            "$f" "$answers" "$alive" >>"$RESULTS"
        echo "info $f: statuses$answers; process $alive" >&2
    else
        printf '| %s: flip-middle, --verify off | starts | refused: %s | info |\n' "$f" \
            "$(strip <"$SERVER_LOG" | grep -i error | tail -1 | cut -c1-120)" >>"$RESULTS"
    fi
done

print_results "corrupt_index"
[ "$FAILURES" = 0 ]
