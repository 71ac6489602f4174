#!/usr/bin/env bash
# `make bench` section 3b: pbd GET /v1/auth with an API key under wrk -t2 -c64,
# with the gate's identity tokens (gate.identity_token.*: X-PB-Identity-Token,
# an ES256 JWT per caller, cached) and without: two pbds on one database, idle
# but for the one wrk drives, measured in turn (off, on, off, on, …:
# PB_BENCH_PAIRS pairs of PB_BENCH_SECONDS/2 each), so that a busy machine's
# drift falls on both alike. Target: with tokens at least 80% of without (the
# medians). Then one run without the cache (cache_entries 0: one ES256
# signature per request) shows what the cache is worth.
#   tests/bench/identity_token.sh [BUILD_DIR]
# Only loopback; every process started here is stopped here, by PID.
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
pairs=${PB_BENCH_PAIRS:-4}
slice=$(( duration / 2 > 0 ? duration / 2 : 1 ))
export PB_LIMITS_KEY_RATE=off PB_LIMITS_IP_RATE=off PB_LIMITS_USER_RATE=off
export PB_MASTER_KEY_FILE="$work/master.key" PB_BOOTSTRAP_KEY_FILE="$work/admin.key"
declare -A port
# start_pbd NAME [env assignments…]: a pbd on the one database, its port in port[NAME].
start_pbd() {
    local name=$1
    shift
    env "$@" "$bin/pbd" --db "$work/pb.db" --listen 127.0.0.1:0 --port-file "$work/$name.port" \
        --log-level warn >"$work/$name.out" 2>"$work/$name.err" &
    pids+=($!)
    for _ in $(seq 100); do [[ -s "$work/$name.port" ]] && break; sleep 0.1; done
    port[$name]=$(cat "$work/$name.port")
    wait_http "http://127.0.0.1:${port[$name]}/ready"
}
on=(PB_GATE_IDENTITY_TOKEN=true PB_GATE_IDENTITY_AUDIENCE=bench-app)
start_pbd off
start_pbd on "${on[@]}"
start_pbd nocache "${on[@]}" PB_GATE_IDENTITY_CACHE_ENTRIES=0
key=$(curl -fsS -H "Authorization: Bearer $(cat "$work/admin.key")" -H 'Content-Type: application/json' \
    -d '{"owner":"bench","permissions":["read"]}' "http://127.0.0.1:${port[off]}/v1/keys" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
for name in off on nocache; do
    headers=$(curl -fsS -D - -o /dev/null -H "Authorization: Bearer $key" "http://127.0.0.1:${port[$name]}/v1/auth")
    has=no want=yes
    grep -qi '^x-pb-identity-token: ey' <<<"$headers" && has=yes
    [[ "$name" == off ]] && want=no
    if [[ "$has" != "$want" ]]; then
        echo "identity token header wrong for $name" >&2
        exit 1
    fi
done
# run NAME OUT SECONDS: wrk against that pbd.
run() {
    wrk -t2 -c64 -d"$3s" --latency -H "Authorization: Bearer $key" \
        "http://127.0.0.1:${port[$1]}/v1/auth" >"$work/$2.txt"
}
echo "== 3b. pbd GET /v1/auth with an API key, wrk -t2 -c64: identity tokens off and on, $pairs pairs of ${slice}s"
for i in $(seq "$pairs"); do
    run off "off$i" "$slice"
    run on "on$i" "$slice"
done
run nocache nocache "$slice"
python3 - "$work" "$pairs" <<'PY'
import re, statistics, sys
w, pairs = sys.argv[1], int(sys.argv[2])
def rps(name):
    text = open(f"{w}/{name}.txt").read()
    if re.search(r"Non-2xx|Socket errors", text):
        sys.exit(f"{name}: wrk saw errors:\n{text}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
off = [rps(f"off{i}") for i in range(1, pairs + 1)]
on = [rps(f"on{i}") for i in range(1, pairs + 1)]
fmt = lambda xs: ", ".join(f"{x:,.0f}" for x in xs)
print(f"   off: {fmt(off)} req/s")
print(f"   on:  {fmt(on)} req/s")
print(f"   identity tokens on vs off: medians {statistics.median(on):,.0f} vs {statistics.median(off):,.0f} req/s = "
      f"{statistics.median(on)/statistics.median(off):.0%}, best runs {max(on)/max(off):.0%} (target >= 80%); "
      f"without the cache (an ES256 signature per request): {rps('nocache'):,.0f} req/s = {rps('nocache')/statistics.median(off):.0%}")
PY
