#!/usr/bin/env python3
"""Builds the load kit's request lists from a *running* wikidex server.

Usage: gen_inputs.py BASE_URL OUT_DIR [--seed N] [--first-limit N] [--pair-limit N]
                     [--max-wiki-bytes N] [--range-min N] [--range-max N]

Asks the server itself which titles exist (GET /offsets/{seed}?limit=N for a
set of first characters, first-character pairs such as "Ab", and namespace
prefixes), then writes, one item a line:

  OUT_DIR/prefixes.txt  percent-encoded prefixes of 1-8 characters cut from real
                        titles (length uniform in 1..8, or the whole title when
                        shorter) -> /offsets/{prefix}
  OUT_DIR/titles.txt    percent-encoded real titles whose page is at most
                        --max-wiki-bytes and that answer 200 (up to
                        --wiki-titles of them, each checked with a HEAD; the
                        others, redirects to missing pages (404) and redirect
                        loops (508), are counted in inputs.json) -> /wiki/{title}
  OUT_DIR/ranges.txt    "start end" (inclusive) byte ranges of real pages whose
                        size is within [--range-min, --range-max] -> /xml Range
  OUT_DIR/inputs.json   counts and the settings used

Only 127.0.0.1 traffic; every request has a timeout; the number of requests is
fixed by the seed lists (about 750).
"""

import argparse
import collections
import http.client
import json
import random
import sys
import urllib.error
import urllib.parse
import urllib.request

# First characters tried; the ones the dump has no title for are dropped.
FIRST = (
    [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    + [str(d) for d in range(10)]
    + list("\"'(!$&*+-.¡¿")
    + list("ÀÁÂÄÅÆÇÉÍÎÑÓÖØÚÜÞŁŚŞŻΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩАБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЭЮЯ")
    + list("一上东中丸九京北南名大天安山川広日東横福神")
)
NAMESPACES = [
    "Talk:", "User:", "User talk:", "Wikipedia:", "Wikipedia talk:", "File:", "File talk:",
    "MediaWiki:", "Template:", "Template talk:", "Help:", "Category:", "Category talk:",
    "Portal:", "Draft:", "Module:", "TimedText:",
]
SECOND = "abcdefghijklmnopqrstuvwxyz"


def encode(text):
    # Every byte but unreserved ASCII is escaped; '_' too, since the server
    # reads a raw '_' in a path as a space.
    return urllib.parse.quote(text, safe="").replace("_", "%5F")


def fetch(base, prefix, limit):
    url = f"{base}/offsets/{encode(prefix)}?limit={limit}"
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        if e.code in (400, 404):
            return []
        raise


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--first-limit", type=int, default=2000)
    ap.add_argument("--pair-limit", type=int, default=200)
    ap.add_argument("--max-wiki-bytes", type=int, default=256 << 10)
    ap.add_argument("--range-min", type=int, default=4 << 10)
    ap.add_argument("--range-max", type=int, default=64 << 10)
    ap.add_argument("--max-lines", type=int, default=200_000)
    ap.add_argument("--wiki-titles", type=int, default=20_000)
    a = ap.parse_args()
    base = a.base.rstrip("/")

    rows = {}
    firsts = []
    for c in FIRST + NAMESPACES:
        got = fetch(base, c, a.first_limit)
        if got:
            firsts.append(c)
        for t, s, e in got:
            rows[t] = (s, e)
    # Pairs spread the sample over the alphabet instead of the first N titles
    # of each letter in byte order.
    for c in [f for f in firsts if "A" <= f <= "Z"]:
        for d in SECOND:
            for t, s, e in fetch(base, c + d, a.pair_limit):
                rows[t] = (s, e)
    if not rows:
        sys.exit(f"gen_inputs: {base} returned no titles")

    rng = random.Random(a.seed)
    titles = sorted(rows)
    rng.shuffle(titles)
    titles = titles[: a.max_lines]

    prefixes, wiki, ranges = [], [], []
    for t in titles:
        k = rng.randint(1, 8)
        prefixes.append(encode(t[:k]))
        s, e = rows[t]
        size = e - s + 1
        if size <= a.max_wiki_bytes and len(wiki) < a.wiki_titles * 1.2:
            wiki.append(encode(t))
        if a.range_min <= size <= a.range_max:
            ranges.append(f"{s} {e}")

    # Keep the /wiki titles that answer 200, over one keep-alive connection.
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
    statuses = collections.Counter()
    ok = []
    for t in wiki:
        conn.request("HEAD", f"/wiki/{t}")
        r = conn.getresponse()
        r.read()
        statuses[r.status] += 1
        if r.status == 200 and len(ok) < a.wiki_titles:
            ok.append(t)
    conn.close()
    wiki = ok

    for name, lines in (("prefixes.txt", prefixes), ("titles.txt", wiki), ("ranges.txt", ranges)):
        with open(f"{a.out}/{name}", "w", encoding="ascii") as f:
            f.write("\n".join(lines) + "\n")
    sizes = [rows[t][1] - rows[t][0] + 1 for t in titles]
    info = {
        "server": base,
        "titles_seen": len(rows),
        "first_characters": len(firsts),
        "prefixes": len(prefixes),
        "prefix_lengths_chars": "uniform 1..8 (whole title if shorter)",
        "wiki_titles": len(wiki),
        "wiki_max_bytes": a.max_wiki_bytes,
        "wiki_head_statuses": dict(statuses),
        "ranges": len(ranges),
        "range_bytes": [a.range_min, a.range_max],
        "range_mean_bytes": round(sum(int(r.split()[1]) - int(r.split()[0]) + 1 for r in ranges) / max(1, len(ranges))),
        "page_size_mean_bytes": round(sum(sizes) / len(sizes)),
        "seed": a.seed,
    }
    with open(f"{a.out}/inputs.json", "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
