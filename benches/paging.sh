#!/usr/bin/env bash
# Paging through a big prefix: the 2015 demo answered the 16,333 titles
# starting with `Ap` in 256 ms. Finds the prefix (A?, B?, C? or Ap?) whose
# match count is closest to 16,333 (or takes PREFIX), then reads all of its
# titles with `/offsets/{prefix}?limit=PAGE`, following `after=`, ROUNDS
# times over one keep-alive connection, and prints each page's
# server-side time (the `Server-Timing` header) and round trip.
#
#   benches/paging.sh INDEX_DIR DUMP [PAGE (10000)] [ROUNDS (5)] [PREFIX]
#
# Server on core $SERVER_CPU (0), client on $CLIENT_CPU (1); page cache warm.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/server.sh
source benches/lib/server.sh
INDEX=${1:?index dir}; DUMP=${2:?dump}; PAGE=${3:-10000}; ROUNDS=${4:-5}; PREFIX=${5:-}
cargo build --release -q
BIN=$PWD/target/release/wikidex
serve_warm_index paging.sh "$BIN" "$INDEX" "$DUMP"
taskset -c "${CLIENT_CPU:-1}" python3 - "$PORT" "$PAGE" "$ROUNDS" "$PREFIX" <<'PY'
import http.client, json, statistics, string, sys, time, urllib.parse

port, page, rounds, prefix = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
conn = http.client.HTTPConnection("127.0.0.1", port)

def get(path):
    t0 = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    wall = time.perf_counter() - t0
    assert r.status == 200, (path, r.status, body[:200])
    timing = r.getheader("server-timing", "")
    server_ms = float(timing.split("dur=")[1]) if "dur=" in timing else float("nan")
    return json.loads(body), server_ms, wall * 1e3

def pages_of(p):
    """[(rows, server ms, round-trip ms, bytes)] for every page of prefix p."""
    out, after = [], None
    while True:
        q = {"limit": page}
        if after is not None:
            q["after"] = after
        rows, server_ms, wall_ms = get(f"/offsets/{urllib.parse.quote(p)}?{urllib.parse.urlencode(q)}")
        out.append((len(rows), server_ms, wall_ms))
        if len(rows) < page:
            return out
        after = rows[-1][0]

if not prefix:
    counts = {}
    for p in [a + b for a in "ABC" for b in string.ascii_lowercase] + ["Ap" + c for c in string.ascii_lowercase]:
        counts[p] = sum(n for n, _, _ in pages_of(p))
    prefix = min((k for k in counts if counts[k]), key=lambda k: abs(counts[k] - 16333))
    print(f"prefix {prefix!r}: {counts[prefix]:,} titles (of A?, B?, C? and Ap?, the closest to 16,333; "
          f"'Ap': {counts['Ap']:,}; largest: {max(counts.values()):,})")

print(f"\n| round | pages | titles | server ms per page (max) | round trip ms per page (max) | all pages, round trip ms |")
print("|---|---|---|---|---|---|")
worst = []
for r in range(1, rounds + 1):
    t0 = time.perf_counter()
    ps = pages_of(prefix)
    total = (time.perf_counter() - t0) * 1e3
    worst.append(max(s for _, s, _ in ps))
    print(f"| {r} | {len(ps)} | {sum(n for n, _, _ in ps):,} | "
          f"{' / '.join(f'{s:.2f}' for _, s, _ in ps)} ({max(s for _, s, _ in ps):.2f}) | "
          f"{' / '.join(f'{w:.2f}' for _, _, w in ps)} ({max(w for _, _, w in ps):.2f}) | {total:.1f} |")
print(f"\nslowest page, server side, over {rounds} rounds: {max(worst):.2f} ms (median of the rounds' worst: "
      f"{statistics.median(worst):.2f} ms)")
PY
