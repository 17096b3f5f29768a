#!/usr/bin/env bash
# Ranked /offsets along every path issue #21's latency target names: the
# server-side time (`Server-Timing`) of `order=rank` with `ns=`, with
# `match=folded`, and deep pages of `after=`, beside plain ranked and
# title-order lookups of the same prefixes; and `/opensearch` (what the
# search box asks: namespace 0, ranked, typo-tolerant) over them and over
# the starts of namespace names (`Tal`, `Wiki`). One request at a time over one
# keep-alive connection, so each figure is the cost of one answer, not a
# queue.
#
#   benches/rank_paths.sh INDEX_DIR DUMP [PREFIXES (300)] [DEPTH (5000)]
#
# Prefixes: every capital letter (the largest spans) and PREFIXES more of
# 1-4 characters cut from titles the server lists (seed 1). A deep page
# asks for 10 rows after the DEPTH-th row of the prefix in rank order
# (past its precomputed list, which holds at most 1,024). `ns=14` asks for
# category pages: under most prefixes there can be none, under `C` they are
# one narrower span (`Category:`). Server on core $SERVER_CPU (0),
# client on $CLIENT_CPU (1); page cache warm. Results: docs/BENCHMARKS.md,
# "Ranked suggestions".
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/server.sh
source benches/lib/server.sh
INDEX=${1:?index dir}; DUMP=${2:?dump}; COUNT=${3:-300}; DEPTH=${4:-5000}
BIN=${BIN:-$PWD/target/release/wikidex}
[ -x "$BIN" ] || { echo "rank_paths.sh: build first: cargo build --release" >&2; exit 2; }
serve_warm_index rank_paths.sh "$BIN" "$INDEX" "$DUMP"
taskset -c "${CLIENT_CPU:-1}" python3 - "$PORT" "$COUNT" "$DEPTH" <<'PY'
import http.client, json, random, string, sys, urllib.parse

port, count, depth = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port)

def get(path):
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    assert r.status == 200, (path, r.status, body[:200])
    timing = r.getheader("server-timing", "")
    return json.loads(body), float(timing.split("dur=")[1]) * 1e3

def offsets(prefix, **query):
    return get(f"/offsets/{urllib.parse.quote(prefix)}?{urllib.parse.urlencode(query)}")

rng = random.Random(1)
letters = list(string.ascii_uppercase)
titles = []
for c in letters:
    titles += [row[0] for row in offsets(c, limit=200)[0]]
prefixes = letters + [t[: rng.randint(1, 4)] for t in rng.sample(titles, min(count, len(titles)))]
# The DEPTH-th title of each prefix in rank order, where it has that many.
deep = []
for p in prefixes:
    rows, _ = offsets(p, limit=depth, order="rank")
    if len(rows) == depth:
        deep.append((p, rows[-1][0]))

def opensearch(p, **query):
    return get(f"/opensearch?{urllib.parse.urlencode({'search': p, **query})}")

heads = ["Talk", "Tal", "Wiki", "Cat", "Cata", "Temp", "File", "User", "Help", "Port"]
kinds = {
    "title order": [(p, {"limit": 10}) for p in prefixes],
    "rank": [(p, {"limit": 10, "order": "rank"}) for p in prefixes],
    "rank, ns=0": [(p, {"limit": 10, "order": "rank", "ns": 0}) for p in prefixes],
    "rank, ns=14 (categories)": [(p, {"limit": 10, "order": "rank", "ns": 14}) for p in prefixes],
    "rank, match=folded": [(p, {"limit": 10, "order": "rank", "match": "folded"}) for p in prefixes],
    f"rank, after the {depth:,}th": [(p, {"limit": 10, "order": "rank", "after": t}) for p, t in deep],
    f"title order, after the {depth:,}th": [(p, {"limit": 10, "after": t}) for p, t in deep],
    "/opensearch (ns 0, ranked, fuzzy)": [(p, {}) for p in prefixes],
    "/opensearch, namespace names' starts": [(p, {}) for p in heads],
}
def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]
print(f"{len(prefixes)} prefixes ({len(letters)} single capitals); {len(deep)} with {depth:,} rows or more\n")
print("| query | requests | p50 µs | p90 µs | p99 µs | max µs | slowest |")
print("|---|---|---|---|---|---|---|")
for name, queries in kinds.items():
    times = []
    for _ in range(3):  # three passes; the first warms the page cache
        ask = opensearch if name.startswith("/opensearch") else offsets
        times = [(ask(p, **q)[1], p) for p, q in queries]
    us = [t for t, _ in times]
    worst = max(times)
    print(f"| {name} | {len(us)} | {pct(us, .5):,.0f} | {pct(us, .9):,.0f} | {pct(us, .99):,.0f} | "
          f"{worst[0]:,.0f} | `{worst[1]}` |")
PY
