#!/usr/bin/env bash
# Instructions (callgrind Ir) per KeyService::verify call in the steady loop
# of a pb_bench_keys benchmark (default BM_KeysVerifyValid: pb-format keys,
# warm index): a figure that does not move with the machine's load. Only the
# calls the benchmark function makes count, not the fixture's 100,000
# creates or its warm-up (the baseline before issue #25: 6,374 Ir).
# usage: [PB_BENCH_KEYS=N] verify_ir.sh BIN_DIR [BENCHMARK]
# (PB_BENCH_KEYS: fewer keys than 100,000 make the run minutes shorter, and
# a verify a little cheaper (6,225 Ir at 5,000 keys, 6,407 at 100,000):
# compare runs of the same count.)
set -euo pipefail
bin=$1
bench=${2:-BM_KeysVerifyValid}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" \
    --toggle-collect="*${bench}*" \
    "$bin/pb_bench_keys" --benchmark_filter="^${bench}(/|$)" \
    >"$out/log" 2>&1
python3 - "$out/cg.out" "$bench" <<'PY'
import re, sys
# Sum the calls the benchmark loop makes into KeyService::verify: their
# inclusive cost and count. A call is "cfn=(id) [name]", "calls=N …", then
# "position inclusive-cost", under its caller's "fn=(id) [name]".
bench = sys.argv[2]
names, calls, ir, into, cost_next, caller = {}, 0, 0, False, False, ""
for line in open(sys.argv[1], errors="replace"):
    if cost_next:
        if into:
            ir += int(line.split()[1])
        cost_next = False
        continue
    m = re.match(r"(c?)fn=\((\d+)\)(?: (.*))?", line)
    if m:
        if m.group(3):
            names[m.group(2)] = m.group(3).strip()
        name = names.get(m.group(2), "")
        if m.group(1) == "c":
            into = bench in caller and "KeyService::verify(" in name
        else:
            caller, into = name, False
    elif line.startswith("calls="):
        if into:
            calls += int(line.split()[0][6:])
        cost_next = True
if calls == 0:
    sys.exit("no KeyService::verify call collected")
print(f"{ir / calls:,.0f} Ir per KeyService::verify ({calls:,} calls from {bench})")
PY
