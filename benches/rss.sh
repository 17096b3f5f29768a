#!/usr/bin/env bash
# Peak anonymous memory (RssAnon) of a command, sampled every 0.2 s from
# /proc. GNU time's maximum RSS counts the file pages a command maps (an
# index build maps its whole dump), which is not memory it needs; RssAnon
# is. Prints the command's output, then the peak in MiB.
#
#   benches/rss.sh COMMAND [ARGS...]       e.g. benches/rss.sh target/release/wikidex index dump.xml.bz2
#
# TRACE=FILE also writes every sample ("seconds MiB") to FILE, to see which
# phase holds the peak. Results: docs/BENCHMARKS.md, "Compressed dumps".
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: benches/rss.sh COMMAND [ARGS...]" >&2; exit 2; }
"$@" &
pid=$!
start=$(date +%s.%N)
peak=0
trace=${TRACE:-/dev/null}
: > "$trace"
while kill -0 "$pid" 2>/dev/null; do
  kib=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  if [ -n "$kib" ]; then
    (( kib > peak )) && peak=$kib
    awk -v now="$(date +%s.%N)" -v start="$start" -v mib=$((kib / 1024)) \
      'BEGIN { printf "%.1f %d\n", now - start, mib }' >> "$trace"
  fi
  sleep 0.2
done
rc=0
wait "$pid" || rc=$?
echo "peak RssAnon: $((peak / 1024)) MiB (exit $rc)" >&2
exit "$rc"
