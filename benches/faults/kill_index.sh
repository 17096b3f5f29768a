#!/usr/bin/env bash
# SIGKILL `wikidex index` at many random moments (the quick version with 12
# kills is tests/index_faults.rs, sigkill_while_indexing_leaves_the_previous_index_or_none).
# After every kill the output path must hold the previous index or the new
# one — whole (`wikidex verify` passes) — or nothing; a temporary directory a
# kill leaves behind must never be accepted by `wikidex serve`; the next
# build must remove it.
#
#   benches/faults/kill_index.sh [KILLS=200]   (WIKIDEX=path/to/wikidex to skip the release build)
source "$(dirname "$0")/common.sh"
kills=${1:-200}

"$WIKIDEX" gen --pages 500 --seed 1 -o "$work/old.xml" >/dev/null
"$WIKIDEX" gen --pages 20000 --seed 2 -o "$work/new.xml" >/dev/null
out=$work/out.wikidex
start=$(date +%s%N)
"$WIKIDEX" index "$work/new.xml" -o "$out" >/dev/null 2>&1
full_ms=$((($(date +%s%N) - start) / 1000000))
echo "a whole build takes ${full_ms} ms; $kills kills spread over 0-$((full_ms * 12 / 10)) ms" >&2

declare -A seen=([old]=0 [new]=0 [none]=0)
bad=0
partial_refused=0
for i in $(seq "$kills"); do
    rm -rf "$out"
    had_old=$((i % 2))
    [ $had_old = 1 ] && "$WIKIDEX" index "$work/old.xml" -o "$out" >/dev/null 2>&1
    delay_ms=$((RANDOM % (full_ms * 12 / 10 + 1)))
    "$WIKIDEX" index "$work/new.xml" -o "$out" >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
    kill -KILL $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    state=none
    if [ -e "$out" ]; then
        if ! verr=$("$WIKIDEX" verify "$out" 2>&1 >/dev/null); then
            echo "kill $i at ${delay_ms} ms: PARTIAL index at the output path: $(printf '%s' "$verr" | strip | tail -1)" >&2
            ls -la "$out" >&2
            cp -a "$out" "$work/partial-$i"
            KEEP=1
            bad=$((bad + 1))
            continue
        fi
        case $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['dump']['path'])" "$out/manifest.json") in
            */new.xml) state=new ;;
            */old.xml) state=old ;;
        esac
        if [ $state = old ] && [ $had_old = 0 ]; then bad=$((bad + 1)); fi
    elif [ $had_old = 1 ]; then
        echo "kill $i at ${delay_ms} ms: the previous index is GONE" >&2
        bad=$((bad + 1))
    fi
    seen[$state]=$((seen[$state] + 1))
    for tmp in "$work"/.out.wikidex.tmp-*; do
        [ -e "$tmp" ] || continue
        if ! "$WIKIDEX" verify "$tmp" >/dev/null 2>&1; then
            if start_server --index "$tmp" --dump "$work/new.xml"; then
                stop_server || true
                echo "kill $i: SERVED the partial index $tmp" >&2
                bad=$((bad + 1))
            else
                partial_refused=$((partial_refused + 1))
            fi
        fi
    done
done
"$WIKIDEX" index "$work/new.xml" -o "$out" >/dev/null 2>&1
left=$(ls -A "$work" | grep -c '\.tmp-' || true)
record "$kills SIGKILLs during index (build ${full_ms} ms)" "previous index, new index or none; never partial" \
    "old ${seen[old]}, new ${seen[new]}, none ${seen[none]}; partial temporaries refused by serve: $partial_refused; violations: $bad" "$bad"
record "next build after the kills" "removes the temporaries" "temporaries left: $left" "$([ "$left" = 0 ] && echo 0 || echo 1)"
print_results "kill_index"
[ "$FAILURES" = 0 ]
