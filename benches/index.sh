#!/usr/bin/env bash
# Indexer throughput vs ripgrep, side by side on the same generated dump with
# the page cache warm. Usage:
#   benches/index.sh                  # 600,000 pages (~4.2 GB)
#   PAGES=20000000 TEXT_PERCENT=3 benches/index.sh   # 20 M pages, small texts: peak RSS at scale
# Prints a Markdown table row set for docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PAGES=${PAGES:-600000}
TEXT_PERCENT=${TEXT_PERCENT:-100}
RUNS=${RUNS:-3}
DIR=${DIR:-/tmp/wikidex-bench}
DUMP="$DIR/gen-$PAGES-$TEXT_PERCENT.xml"
OUT="$DIR/gen-$PAGES-$TEXT_PERCENT.wikidex"
mkdir -p "$DIR"
command -v rg >/dev/null || { echo "needs ripgrep: apt-get install ripgrep" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
cargo build --release -q
BIN=target/release/wikidex
if [ ! -f "$DUMP" ]; then
    "$BIN" gen --pages "$PAGES" --seed 1 --text-percent "$TEXT_PERCENT" -o "$DUMP"
fi
BYTES=$(stat -c %s "$DUMP")
echo "dump: $DUMP ($BYTES bytes, $PAGES pages), $(nproc) cores, runs: $RUNS (best of)"
cat "$DUMP" > /dev/null; cat "$DUMP" > /dev/null   # warm the page cache

best() { sort -n | head -1; }
rg_times=(); ix_times=(); ix_rss=(); rg_rss=(); nf_times=(); nf_rss=()
for i in $(seq "$RUNS"); do
    # ripgrep lists every title with its byte offset (output to tmpfs, so it
    # is really written; rg stops early when stdout is /dev/null).
    /usr/bin/time -f "%e %M" -o "$DIR/rg.time" rg -b -o '<title>[^<]*</title>' "$DUMP" > /dev/shm/wikidex-rg.out
    rg_lines=$(wc -l < /dev/shm/wikidex-rg.out); rm -f /dev/shm/wikidex-rg.out
    read -r t m < "$DIR/rg.time"; rg_times+=("$t"); rg_rss+=("$m")
    /usr/bin/time -f "%e %M" -o "$DIR/ix.time" "$BIN" index "$DUMP" -o "$OUT" > "$DIR/ix.out" 2>/dev/null
    read -r t m < "$DIR/ix.time"; ix_times+=("$t"); ix_rss+=("$m")
    /usr/bin/time -f "%e %M" -o "$DIR/nf.time" "$BIN" index --no-folded "$DUMP" -o "$OUT.nofold" > "$DIR/nf.out" 2>/dev/null
    read -r t m < "$DIR/nf.time"; nf_times+=("$t"); nf_rss+=("$m")
done
nf_t=$(printf '%s\n' "${nf_times[@]}" | best)
nf_m=$(printf '%s\n' "${nf_rss[@]}" | sort -n | tail -1)
NF_BYTES=$(du -sb "$OUT.nofold" | cut -f1)
rg_t=$(printf '%s\n' "${rg_times[@]}" | best)
ix_t=$(printf '%s\n' "${ix_times[@]}" | best)
ix_m=$(printf '%s\n' "${ix_rss[@]}" | sort -n | tail -1)
rg_m=$(printf '%s\n' "${rg_rss[@]}" | sort -n | tail -1)
INDEX_BYTES=$(du -sb "$OUT" | cut -f1)
python3 - "$BYTES" "$PAGES" "$rg_t" "$ix_t" "$ix_m" "$rg_m" "$INDEX_BYTES" "$rg_lines" "$nf_t" "$nf_m" "$NF_BYTES" <<'PY'
import sys
b, pages, rg_t, ix_t, ix_m, rg_m, ib, lines, nf_t, nf_m, nb = sys.argv[1:]
b, pages, lines, ib, nb = int(b), int(pages), int(lines), int(ib), int(nb)
rg_t, ix_t, nf_t, ix_m, rg_m, nf_m = float(rg_t), float(ix_t), float(nf_t), int(ix_m), int(rg_m), int(nf_m)
rg = b / rg_t / 1e9
print("| tool | seconds | GB/s | vs rg | pages/s | peak RSS | index bytes/page |")
print("|---|---|---|---|---|---|---|")
print(f"| `rg -b -o '<title>[^<]*</title>'` ({lines:,} lines) | {rg_t:.2f} | {rg:.2f} | 1.00x | {pages/rg_t:,.0f} | {rg_m/1024:,.0f} MiB | |")
for name, t, m, size in [("`wikidex index`", ix_t, ix_m, ib), ("`wikidex index --no-folded`", nf_t, nf_m, nb)]:
    print(f"| {name} | {t:.2f} | {b/t/1e9:.2f} | {rg_t/t:.2f}x | {pages/t:,.0f} | {m/1024:,.0f} MiB | {size/pages:.1f} |")
PY
cat "$DIR/ix.out" "$DIR/nf.out"
