#!/usr/bin/env bash
# Disk full while indexing: the index directory lives on a 20 MiB tmpfs that
# is filled so that only N KiB stay free, for several N. Each time `wikidex
# index` of a 20000-page dump must fail with exit status 2 and an error that
# says "No space left on device" and names a file; the previous index must be
# intact (same manifest, `wikidex verify` passes, `wikidex serve` starts) and
# no temporary directory may be left behind. With the space freed, the same
# build then succeeds. Needs root (mount).
#
#   sudo benches/faults/disk_full.sh        (WIKIDEX=path/to/wikidex to skip the release build)
source "$(dirname "$0")/common.sh"
if [ "$(id -u)" != 0 ]; then
    echo "disk_full: needs root to mount a tmpfs; skipped" >&2
    exit 0
fi
mnt=$work/tmpfs
mkdir -p "$mnt"
mount -t tmpfs -o size=20m tmpfs "$mnt"
trap 'stop_server || true; umount "$mnt" 2>/dev/null || umount -l "$mnt"; cleanup' EXIT

"$WIKIDEX" gen --pages 300 --seed 1 -o "$work/small.xml" >/dev/null
"$WIKIDEX" gen --pages 20000 --seed 2 -o "$work/big.xml" >/dev/null
out=$mnt/idx.wikidex
"$WIKIDEX" index "$work/small.xml" -o "$out" >/dev/null 2>&1
cp "$out/manifest.json" "$work/manifest.before"
need=$(du -sb "$work/small.xml" >/dev/null; "$WIKIDEX" index "$work/big.xml" -o "$work/probe.wikidex" 2>/dev/null | grep -o '([0-9]* bytes' | tr -dc 0-9)
echo "the new index needs $need bytes; tmpfs is 20 MiB" >&2

for free_kib in 0 4 16 64 128 256 400 $((need / 1024 - 8)); do
    rm -f "$mnt/filler"
    avail=$(df --output=avail -B1 "$mnt" | tail -1)
    fill=$((avail - free_kib * 1024))
    [ $fill -gt 0 ] && fallocate -l $fill "$mnt/filler"
    rc=0
    err=$("$WIKIDEX" index "$work/big.xml" -o "$out" 2>&1 >/dev/null) || rc=$?
    err=$(printf '%s' "$err" | strip | grep -i error | tail -1)
    left=$(cd "$mnt" && ls -A | grep -c '\.tmp-' || true)
    same=1
    cmp -s "$out/manifest.json" "$work/manifest.before" && same=0
    vrc=0
    "$WIKIDEX" verify "$out" >/dev/null 2>&1 || vrc=$?
    srv=1
    if start_server --index "$out"; then srv=0; stop_server || true; fi
    pass=1
    case $err in *"No space left on device"*"$mnt"* | *"$mnt"*"No space left on device"*) [ $rc = 2 ] && pass=0 ;; esac
    if [ "$left" != 0 ] || [ $same != 0 ] || [ $vrc != 0 ] || [ $srv != 0 ]; then pass=1; fi
    record "index with ${free_kib} KiB free" "exit 2, ENOSPC named; old index intact; no temporaries" \
        "exit $rc: ${err#*error: }; temporaries left: $left; old manifest kept: $([ $same = 0 ] && echo yes || echo NO); verify $([ $vrc = 0 ] && echo ok || echo FAILED); serve $([ $srv = 0 ] && echo starts || echo REFUSED)" "$pass"
done

rm -f "$mnt/filler"
rc=0
"$WIKIDEX" index "$work/big.xml" -o "$out" >/dev/null 2>&1 || rc=$?
vrc=0
"$WIKIDEX" verify "$out" >/dev/null 2>&1 || vrc=$?
left=$(cd "$mnt" && ls -A | grep -c '\.tmp-' || true)
record "index with the space freed" "succeeds, replaces the old index" "exit $rc; verify $vrc; temporaries left: $left" \
    "$([ $rc = 0 ] && [ $vrc = 0 ] && [ "$left" = 0 ] && echo 0 || echo 1)"

print_results "disk_full"
[ "$FAILURES" = 0 ]
