#!/usr/bin/env bash
# Soak test: constant-rate mixed load (/offsets 50 %, /wiki 30 %, /xml ranges
# 20 %) against a release server over a 20000-page generated dump, for
# DURATION seconds; the server's RSS is sampled every 10 s, with its
# anonymous (heap, stacks) and file-backed (the memory-mapped index, the
# binary) parts. Passes when wrk saw no error of any kind (connect, read,
# write, timeout, non-2xx) and RSS after the warm-up grew by at most 5 %, or
# grew more only by index pages read in for the first time: anonymous memory
# within 5 %, file-backed growth within the index's size.
#
#   benches/soak/soak.sh [DURATION=600] [RATE=2000] [CONNECTIONS=32]
#   (WIKIDEX=path/to/wikidex to skip the release build; needs wrk: apt-get install -y wrk)
#
# Prints a Markdown report; raw data stays in $SOAK_DIR (default: a temp dir).
set -euo pipefail
duration=${1:-600}
rate=${2:-2000}
conns=${3:-32}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/server.sh
source "$root/benches/lib/server.sh"
command -v wrk >/dev/null || { echo "soak: needs wrk (apt-get install -y wrk)" >&2; exit 2; }
if [ -z "${WIKIDEX:-}" ]; then
    (cd "$root" && cargo build --release --quiet)
    WIKIDEX=$root/target/release/wikidex
fi
dir=${SOAK_DIR:-$(mktemp -d /tmp/wikidex-soak.XXXXXX)}
mkdir -p "$dir"
cp "$WIKIDEX" "$dir/wikidex" # a rebuild during the soak must not change the binary under test
WIKIDEX=$dir/wikidex
server_pid=
sampler_pid=
cleanup() {
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
    stop_server "$server_pid" || true
    [ -z "${SOAK_DIR:-}" ] && [ -z "${KEEP:-}" ] && rm -rf "$dir"
    return 0
}
trap cleanup EXIT

# The dump, its index and the request targets.
[ -f "$dir/d.xml" ] || "$WIKIDEX" gen --pages 20000 --seed 11 -o "$dir/d.xml" >/dev/null
"$WIKIDEX" index "$dir/d.xml" -o "$dir/d.xml.wikidex" >/dev/null 2>&1
python3 - "$dir/d.xml" "$dir/targets" <<'PY'
import html, re, sys, urllib.parse
data = open(sys.argv[1], 'rb').read()
out = open(sys.argv[2], 'w')
q = lambda t: urllib.parse.quote(t.replace(' ', '_'), safe='')
n = 0
for m in re.finditer(rb'<page>\s*<title>([^<]*)</title>', data):
    title = html.unescape(m.group(1).decode())
    start = m.start()
    end = data.index(b'</page>', start) + 6
    if n % 3 == 0:
        out.write(f"O {q(title[:max(1, len(title) // 3)])}\n")
    out.write(f"W {q(title)}\n")
    if end - start < 4_000_000:
        out.write(f"X {start}-{end}\n")
    n += 1
PY
echo "targets: $(grep -c '^W' "$dir/targets") titles" >&2

# The server: release build, one worker per core (2 here), defaults otherwise.
WIKIDEX_LOG=info start_wikidex "$WIKIDEX" "$dir/serve.log" --index "$dir/d.xml.wikidex" --dump "$dir/d.xml" \
    || { echo "soak: server did not start" >&2; cat "$dir/serve.log" >&2; exit 2; }
server_pid=$SERVER_PID addr=$SERVER_ADDR
echo "server $server_pid on $addr; ${duration}s at ${rate} req/s over $conns connections" >&2

# RSS every 10 s: total, anonymous, file-backed (KiB).
(
    t0=$(date +%s)
    while kill -0 $server_pid 2>/dev/null; do
        rss=$(awk '/^(VmRSS|RssAnon|RssFile):/ { printf "%s ", $2 }' /proc/$server_pid/status)
        echo "$(($(date +%s) - t0)) $rss" >>"$dir/rss.txt"
        sleep 10
    done
) &
sampler_pid=$!

delay_ms=$((conns * 1000 / rate))
SOAK_TARGETS=$dir/targets SOAK_DELAY_MS=$delay_ms SOAK_OUT=$dir/wrk.json \
    wrk -t 2 -c "$conns" -d "${duration}s" --timeout 5s -s "$here/mixed.lua" "http://$addr" >"$dir/wrk.txt" 2>&1
sleep 1
kill $sampler_pid 2>/dev/null || true
sampler_pid=
alive=yes
kill -0 $server_pid 2>/dev/null || alive=NO
stats=$(curl -s --max-time 5 "http://$addr/stats" || true)
echo "$stats" >"$dir/stats.json"

index_kib=$(du -sk "$dir/d.xml.wikidex" | cut -f1)
python3 - "$dir" "$duration" "$rate" "$conns" "$alive" "$index_kib" <<'PY'
import json, statistics, sys
d, duration, rate, conns, alive = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
index_kib = int(sys.argv[6])
w = json.load(open(f"{d}/wrk.json"))
samples = [tuple(map(int, l.split())) for l in open(f"{d}/rss.txt") if len(l.split()) == 4]
rss = [(t, r) for t, r, _, _ in samples]
warm = min(60, max(10, duration // 10))
after = [s for s in samples if s[0] >= warm]

def growth_of(column):
    base = statistics.median(s[column] for s in after[:3])
    final = statistics.median(s[column] for s in after[-3:])
    return base, final, (final / base - 1) * 100

base, final, growth = growth_of(1) if after else (float('nan'),) * 3
_, _, anon_growth = growth_of(2) if after else (float('nan'),) * 3
file_base, file_final, _ = growth_of(3) if after else (float('nan'),) * 3
# A mapped index page counts in RSS once it is first read: RSS may grow
# past 5 % while the load reaches pages it had not asked for yet, without
# any memory being lost. That is told apart by where the growth is.
index_paging_in = anon_growth <= 5.0 and file_final - file_base <= index_kib
errors = sum(w["errors"].values())
secs = w["duration_us"] / 1e6
lat = w["latency_us"]
try:
    stats = json.load(open(f"{d}/stats.json"))
    server_errors = sum(stats.get("errors", {}).values())
except Exception:
    server_errors = "?"
ok = errors == 0 and alive == "yes" and (growth <= 5.0 or index_paging_in)
print(f"| duration | {secs:.0f} s (target {rate} req/s, {conns} connections, 2 wrk threads) |")
print(f"| requests | {w['requests']} ({w['requests'] / secs:.0f} req/s), {w['bytes'] / 1e9:.2f} GB |")
print(f"| wrk errors | {errors} (connect {w['errors']['connect']}, read {w['errors']['read']}, write {w['errors']['write']}, non-2xx {w['errors']['status']}, timeout {w['errors']['timeout']}); server-counted errors {server_errors} |")
print(f"| latency | p50 {lat['p50'] / 1000:.2f} ms, p90 {lat['p90'] / 1000:.2f} ms, p99 {lat['p99'] / 1000:.2f} ms, p99.9 {lat['p999'] / 1000:.2f} ms, max {lat['max'] / 1000:.1f} ms |")
print(f"| RSS | {rss[0][1] / 1024:.1f} MiB at start; {base / 1024:.1f} MiB after {warm} s warm-up; {final / 1024:.1f} MiB at the end ({growth:+.2f} %); max {max(r for _, r in rss) / 1024:.1f} MiB; {len(rss)} samples |")
print(f"| RSS samples (MiB) | {' '.join(f'{r / 1024:.1f}' for _, r in rss)} |")
if after:
    print(f"| of which | anonymous {statistics.median(s[2] for s in after[:3]) / 1024:.1f} → {statistics.median(s[2] for s in after[-3:]) / 1024:.1f} MiB ({anon_growth:+.2f} %); file-backed (index, binary) {file_base / 1024:.1f} → {file_final / 1024:.1f} MiB, of a {index_kib / 1024:.1f} MiB index |")
print(f"| server alive at the end | {alive} |")
if not ok:
    rule = "needs zero errors, and RSS growth ≤ 5 % after warm-up or growth only by index pages read in"
elif growth <= 5.0:
    rule = "zero errors, RSS growth ≤ 5 % after warm-up"
else:
    rule = "zero errors; RSS grew past 5 % only by index pages read in: anonymous ≤ 5 %, file-backed growth within the index"
print(f"| verdict | {'PASS' if ok else 'FAIL'} ({rule}) |")
sys.exit(0 if ok else 1)
PY
