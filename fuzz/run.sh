#!/usr/bin/env bash
# Runs each libFuzzer target of a fuzz build for a bounded time on its corpus.
#   fuzz/run.sh BUILD_DIR SECONDS [TARGET...]      (make fuzz FUZZ_SECONDS=N)
# The repository's corpus (fuzz/corpus/<target>/) is read, never written: new
# inputs go to BUILD_DIR/corpus/<target>/, crashes to BUILD_DIR/crashes/<target>/.
# A crash: minimise it (the command is printed), add it to fuzz/corpus/<target>/
# with the fix, and `make test` replays it from then on.
# Exit status: 1 when any target crashed.
set -uo pipefail

build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=()
    for f in "$here"/*_fuzz.cpp; do
        n=$(basename "$f")
        targets+=("${n%_fuzz.cpp}")
    done
fi

failed=()
for t in "${targets[@]}"; do
    bin="$build/bin/${t}_fuzz"
    [[ -x "$bin" ]] || { echo "missing $bin (build the fuzz preset)" >&2; exit 2; }
    work="$build/corpus/$t"
    crashes="$build/crashes/$t"
    mkdir -p "$work" "$crashes"
    log="$build/fuzz-$t.log"
    echo "== $t: ${seconds}s"
    # Nested JSON and YAML need room: inputs up to 64 KiB.
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$work" "$here/corpus/$t" \
        >"$log" 2>&1
    status=$?
    grep -E '^#[0-9]+.*(DONE|pulse|NEW)' "$log" | tail -1
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log"
    if [[ $status -ne 0 ]]; then
        failed+=("$t")
        grep -E 'ERROR: |SUMMARY: |Test unit written' "$log" | head -5
        echo "   minimise: $bin -minimize_crash=1 -max_total_time=60 -exact_artifact_path=fuzz/corpus/$t/crash-<what> $crashes/crash-…"
    fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "crashed: ${failed[*]} (logs in $build/fuzz-<target>.log)"
    exit 1
fi
echo "no crash in ${#targets[@]} targets"
