#!/usr/bin/env bash
# `pbctl limits check` on SQLite (counted in the database: one write
# transaction) next to `pbctl keys verify`, each as a whole process, N runs
# interleaved; prints both medians and their difference (issue 25: within 1 ms).
# hyperfine when installed, else a bash loop timed with date +%s%N.
#   usage: local_limits.sh PBCTL WORK_DIR
set -euo pipefail
pbctl=$1
work=$2
mkdir -p "$work"
export PB_DB="$work/limits.db"
export PB_CONFIG=/dev/null
# Every run allowed (a refusal exits 6), but counted: the address by limits
# check, the key's limit by keys verify, both in the database.
export PB_LIMITS_IP_RATE=1000000/s
export PB_LIMITS_KEY_RATE=1000000/s
key=$("$pbctl" keys create --owner bench -q)
runs=${PB_BENCH_RUNS:-200}
check=("$pbctl" limits check 192.0.2.5 -q)
verify=("$pbctl" keys verify "$key" -q)
"${check[@]}" >/dev/null
"${verify[@]}" >/dev/null
if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/local.json" \
        "${check[*]}" "${verify[*]}" >/dev/null
    python3 - "$work/local.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
check, verify = r[0]["median"] * 1e3, r[1]["median"] * 1e3
print(f"pbctl limits check (database): median {check:.2f} ms")
print(f"pbctl keys verify:             median {verify:.2f} ms")
print(f"difference {check - verify:+.2f} ms ({'within' if check - verify <= 1 else 'NOT within'} 1 ms of keys verify)")
PY
else
    : >"$work/check.ns"
    : >"$work/verify.ns"
    for _ in $(seq "$runs"); do
        t0=$(date +%s%N); "${check[@]}" >/dev/null; t1=$(date +%s%N)
        "${verify[@]}" >/dev/null; t2=$(date +%s%N)
        echo $((t1 - t0)) >>"$work/check.ns"
        echo $((t2 - t1)) >>"$work/verify.ns"
    done
    python3 - "$work/check.ns" "$work/verify.ns" <<'PY'
import statistics, sys
check, verify = (statistics.median(int(l) for l in open(p)) / 1e6 for p in sys.argv[1:3])
print(f"pbctl limits check (database): median {check:.2f} ms")
print(f"pbctl keys verify:             median {verify:.2f} ms")
print(f"difference {check - verify:+.2f} ms ({'within' if check - verify <= 1 else 'NOT within'} 1 ms of keys verify)")
PY
fi
