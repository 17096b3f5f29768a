#!/usr/bin/env bash
# Indexer throughput vs ripgrep, side by side on the same generated dump with
# the page cache warm. Usage:
#   benches/index.sh                  # 600,000 pages (~4.2 GB)
#   PAGES=20000000 TEXT_PERCENT=3 benches/index.sh   # 20 M pages, small texts: peak RSS at scale
#   BASE=/path/to/older/wikidex BASE_ARGS=--no-json-rows benches/index.sh   # and another build, alternated
# Prints a Markdown table row set for docs/BENCHMARKS.md: best wall time,
# and the median CPU time (user + system), steadier on a shared host.
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
BYTES=$(stat -L -c %s "$DUMP")
echo "dump: $DUMP ($BYTES bytes, $PAGES pages), $(nproc) cores, runs: $RUNS (best of)"
cat "$DUMP" > /dev/null; cat "$DUMP" > /dev/null   # warm the page cache

best() { sort -n | head -1; }
rg_times=(); ix_times=(); ix_rss=(); rg_rss=(); nf_times=(); nf_rss=(); base_times=(); base_rss=()
rg_cpu=(); ix_cpu=(); nf_cpu=(); base_cpu=()
for i in $(seq "$RUNS"); do
    # ripgrep lists every title with its byte offset (output to tmpfs, so it
    # is really written; rg stops early when stdout is /dev/null).
    /usr/bin/time -f "%e %M %U+%S" -o "$DIR/rg.time" rg -b -o '<title>[^<]*</title>' "$DUMP" > /dev/shm/wikidex-rg.out
    rg_lines=$(wc -l < /dev/shm/wikidex-rg.out); rm -f /dev/shm/wikidex-rg.out
    read -r t m c < "$DIR/rg.time"; rg_times+=("$t"); rg_rss+=("$m"); rg_cpu+=("$c")
    /usr/bin/time -f "%e %M %U+%S" -o "$DIR/ix.time" "$BIN" index "$DUMP" -o "$OUT" > "$DIR/ix.out" 2>/dev/null
    read -r t m c < "$DIR/ix.time"; ix_times+=("$t"); ix_rss+=("$m"); ix_cpu+=("$c")
    if [ -n "${BASE:-}" ]; then
        # shellcheck disable=SC2086 # BASE_ARGS are words
        /usr/bin/time -f "%e %M %U+%S" -o "$DIR/base.time" "$BASE" index ${BASE_ARGS:-} "$DUMP" -o "$OUT.base" > /dev/null 2>&1
        read -r t m c < "$DIR/base.time"; base_times+=("$t"); base_rss+=("$m"); base_cpu+=("$c")
    fi
    /usr/bin/time -f "%e %M %U+%S" -o "$DIR/nf.time" "$BIN" index --no-folded "$DUMP" -o "$OUT.nofold" > "$DIR/nf.out" 2>/dev/null
    read -r t m c < "$DIR/nf.time"; nf_times+=("$t"); nf_rss+=("$m"); nf_cpu+=("$c")
done
# The median of "user+system" CPU times.
median_cpu() {
    python3 -c 'import statistics, sys; print(statistics.median(sum(map(float, x.split("+"))) for x in sys.argv[1:]))' "$@"
}
{
    echo "rg $(printf '%s\n' "${rg_times[@]}" | best) $(median_cpu "${rg_cpu[@]}") $(printf '%s\n' "${rg_rss[@]}" | sort -n | tail -1) 0"
    echo "ix $(printf '%s\n' "${ix_times[@]}" | best) $(median_cpu "${ix_cpu[@]}") $(printf '%s\n' "${ix_rss[@]}" | sort -n | tail -1) $(du -sb "$OUT" | cut -f1)"
    echo "nf $(printf '%s\n' "${nf_times[@]}" | best) $(median_cpu "${nf_cpu[@]}") $(printf '%s\n' "${nf_rss[@]}" | sort -n | tail -1) $(du -sb "$OUT.nofold" | cut -f1)"
    if [ -n "${BASE:-}" ]; then
        echo "base $(printf '%s\n' "${base_times[@]}" | best) $(median_cpu "${base_cpu[@]}") $(printf '%s\n' "${base_rss[@]}" | sort -n | tail -1) $(du -sb "$OUT.base" | cut -f1)"
    fi
} > "$DIR/summary"
python3 - "$BYTES" "$PAGES" "$rg_lines" "$DIR/summary" "${BASE:-}" <<'PY'
import sys
b, pages, lines, summary, base = sys.argv[1:]
b, pages, lines = int(b), int(pages), int(lines)
runs = {}
for line in open(summary):
    name, t, cpu, kb, size = line.split()
    runs[name] = (float(t), float(cpu), int(kb), int(size))
rg_t, rg_cpu = runs["rg"][0], runs["rg"][1]
names = {"rg": f"`rg -b -o '<title>[^<]*</title>'` ({lines:,} lines)", "ix": "`wikidex index`",
         "nf": "`wikidex index --no-folded`", "base": f"`{base} index`"}
print("| tool | best s | GB/s | vs rg | median CPU s | CPU vs rg | peak RSS | index bytes/page |")
print("|---|---|---|---|---|---|---|---|")
for name, (t, cpu, kb, size) in runs.items():
    per_page = f"{size / pages:.1f}" if size else ""
    print(f"| {names[name]} | {t:.2f} | {b / t / 1e9:.2f} | {rg_t / t:.2f}x | {cpu:.2f} | {rg_cpu / cpu:.2f}x | {kb / 1024:,.0f} MiB | {per_page} |")
PY
cat "$DIR/ix.out" "$DIR/nf.out"
