#!/usr/bin/env bash
# Runs wikidex's fuzz targets one after another (2-core machines: one at a time).
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     default: 600 s, every target
#
# With a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`) this is
# coverage-guided libFuzzer; without, it falls back to the stable replay
# binaries' random mutation for the same time. Corpora grow in fuzz/corpus/
# (git-ignored, seeded from fuzz/seeds/), findings land in fuzz/artifacts/,
# logs in fuzz/target/logs/ (all git-ignored). Exit status 1 if any target found a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(range request page footer index_open)
mkdir -p fuzz/target/logs
status=0
if cargo +nightly fuzz --version >/dev/null 2>&1; then
    mode=libfuzzer
else
    mode=replay
    cargo build --release --manifest-path fuzz/Cargo.toml || exit 2
fi
for t in "${targets[@]}"; do
    log=fuzz/target/logs/$t.log
    mkdir -p "fuzz/corpus/$t"
    echo "==> $t ($mode, ${secs}s) -> $log"
    if [ "$mode" = libfuzzer ]; then
        # No sanitizer: the targets are safe Rust; overflow checks and debug
        # assertions stay on (cargo-fuzz's default build).
        timeout $((secs + 900)) cargo +nightly fuzz run -s none "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
            -max_total_time="$secs" -dict=fuzz/dicts/wikidex.dict -print_final_stats=1 >"$log" 2>&1
    else
        # ~2k-200k inputs/s depending on the target; stop after $secs.
        timeout "$secs" fuzz/target/release/"$t" --mutate 1000000000 --seed "$RANDOM" fuzz/seeds/"$t" fuzz/corpus/"$t" >"$log" 2>&1
        rc=$?
        [ $rc -eq 124 ] && rc=0 && echo "(stopped after ${secs}s)" >>"$log"
        (exit $rc)
    fi
    rc=$?
    if [ $rc -ne 0 ]; then
        status=1
        echo "    FAILED (exit $rc): see $log and fuzz/artifacts/$t/"
    fi
    grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|^#[0-9]+.*DONE|ok:" "$log" | tail -3
done
exit $status
