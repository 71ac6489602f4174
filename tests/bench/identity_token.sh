#!/usr/bin/env bash
# `make bench` section 3b: pbd GET /v1/auth with an API key under wrk -t2 -c64,
# with the gate's identity tokens (gate.identity_token.*: X-PB-Identity-Token,
# an ES256 JWT per caller, cached) and without, on one database, alternating
# (off, on, off, on) so that the machine's drift shows as a spread. Target: with
# tokens at least 80% of without. A third run without the cache (cache_entries
# 0: one ES256 signature per request) shows what the cache is worth.
#   tests/bench/identity_token.sh [BUILD_DIR]     (PB_BENCH_SECONDS: each run's length)
# Only loopback; every process started here is stopped here, by PID.
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
export PB_LIMITS_KEY_RATE=off PB_LIMITS_IP_RATE=off PB_LIMITS_USER_RATE=off
export PB_MASTER_KEY_FILE="$work/master.key" PB_BOOTSTRAP_KEY_FILE="$work/admin.key"
db="$work/pb.db"
pbd_pid=""
# start_pbd [env assignments…]: a pbd on the one database, its port in $port.
start_pbd() {
    rm -f "$work/port"
    env "$@" "$bin/pbd" --db "$db" --listen 127.0.0.1:0 --port-file "$work/port" --log-level warn \
        >>"$work/pbd.out" 2>>"$work/pbd.err" &
    pbd_pid=$!
    pids+=("$pbd_pid")
    for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.1; done
    port=$(cat "$work/port")
    wait_http "http://127.0.0.1:$port/ready"
}
stop_pbd() {
    local kept=()
    kill "$pbd_pid" 2>/dev/null || true
    wait "$pbd_pid" 2>/dev/null || true
    for q in "${pids[@]}"; do [[ "$q" == "$pbd_pid" ]] || kept+=("$q"); done
    pids=("${kept[@]}")
}
on=(PB_GATE_IDENTITY_TOKEN=true PB_GATE_IDENTITY_AUDIENCE=bench-app)
start_pbd
key=$(curl -fsS -H "Authorization: Bearer $(cat "$work/admin.key")" -H 'Content-Type: application/json' \
    -d '{"owner":"bench","permissions":["read"]}' "http://127.0.0.1:$port/v1/keys" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
stop_pbd
# run NAME [env…]: wrk against a pbd started with env; checks the header is there or not.
run() {
    local name=$1
    shift
    start_pbd "$@"
    local headers
    headers=$(curl -fsS -D - -o /dev/null -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/auth")
    if [[ "$name" == off* ]]; then
        ! grep -qi '^x-pb-identity-token:' <<<"$headers" || { echo "identity token while off" >&2; exit 1; }
    else
        grep -qi '^x-pb-identity-token: ey' <<<"$headers" || { echo "no identity token in $name" >&2; exit 1; }
    fi
    wrk -t2 -c64 -d"${duration}s" --latency -H "Authorization: Bearer $key" \
        "http://127.0.0.1:$port/v1/auth" >"$work/$name.txt"
    stop_pbd
    printf '   %-24s %12s req/s   p99 %s\n' "$name" \
        "$(awk '/Requests\/sec/ {print $2}' "$work/$name.txt")" "$(awk '$1=="99%" {print $2}' "$work/$name.txt")"
}
echo "== 3b. pbd GET /v1/auth with an API key, wrk -t2 -c64 (${duration}s each): identity tokens off and on"
run off1
run on1 "${on[@]}"
run off2
run on2 "${on[@]}"
run on-nocache "${on[@]}" PB_GATE_IDENTITY_CACHE_ENTRIES=0
python3 - "$work" <<'PY'
import re, sys
w = sys.argv[1]
def rps(name):
    text = open(f"{w}/{name}.txt").read()
    if re.search(r"Non-2xx|Socket errors", text):
        sys.exit(f"{name}: wrk saw errors:\n{text}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
off = [rps("off1"), rps("off2")]
on = [rps("on1"), rps("on2")]
print(f"   identity tokens on vs off: {sum(on)/sum(off):.0%} (runs {on[0]/off[0]:.0%}, {on[1]/off[1]:.0%}; target >= 80%); "
      f"without the cache (an ES256 signature per request): {rps('on-nocache')/(sum(off)/2):.0%}")
PY
