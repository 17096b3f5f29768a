#!/usr/bin/env bash
# Runs every fault drill and prints their Markdown tables (for docs/BENCHMARKS.md).
#   benches/faults/run.sh        (WIKIDEX=path/to/wikidex to skip the release build)
set -uo pipefail
cd "$(dirname "$0")"
if [ -z "${WIKIDEX:-}" ]; then
    (cd ../.. && cargo build --release --quiet) || exit 2
    export WIKIDEX=$PWD/../../target/release/wikidex
fi
status=0
for drill in corrupt_index dump_changes disk_full kill_index; do
    echo "## $drill"
    ./$drill.sh || status=1
    echo
done
exit $status
