#!/usr/bin/env bash
# POST /v1/keys/verify through pbd on PostgreSQL next to the same on SQLite, in
# one run (issue target: PostgreSQL at no less than 50% of SQLite).
#   tests/bench/pg_http.sh [build/dev]      PB_BENCH_SECONDS (default 10)
# Starts its own PostgreSQL (tests/support/pg_server.sh) and pbds on loopback;
# stops every one of them, by PID, on exit. Rate limits are off: this measures
# verification, not the limiter.
set -euo pipefail
source "$(dirname "$0")/pg_bench_env.sh"

# bench NAME DB_URL: prints "NAME req/s p99"
bench() {
    local name=$1 db=$2 port admin key
    port=$(free_port)
    "$bin/pbd" --db "$db" --listen "127.0.0.1:$port" --bootstrap-key-file "$work/$name.key" --log-level warn >"$work/$name.out" 2>"$work/$name.err" &
    pids+=($!)
    wait_http "http://127.0.0.1:$port/ready"
    admin=$(cat "$work/$name.key")
    key=$(curl -fsS -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
        -d '{"owner":"bench","permissions":["read"]}' "http://127.0.0.1:$port/v1/keys" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
    cat >"$work/$name.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$key"}'
wrk.headers["Content-Type"] = "application/json"
LUA
    wrk -t2 -c64 -d"${duration}s" --latency -s "$work/$name.lua" \
        "http://127.0.0.1:$port/v1/keys/verify" >"$work/$name.txt"
    printf '%-34s %12s req/s   p99 %s %s\n' "pbd keys.verify on $name, c64" \
        "$(awk '/Requests\/sec/ {print $2}' "$work/$name.txt")" \
        "$(awk '$1=="99%" {print $2}' "$work/$name.txt")" \
        "$(awk '/Non-2xx|Socket errors/' "$work/$name.txt" | tr '\n' ' ')"
}

bench sqlite "$work/pb.db"
bench postgresql "$(cat "$work/pg/url")"
python3 - "$work" <<'PY'
import re, sys
w = sys.argv[1]
rps = lambda n: float(re.search(r"Requests/sec:\s+([\d.]+)", open(f"{w}/{n}.txt").read()).group(1))
print(f"PostgreSQL / SQLite: {rps('postgresql') / rps('sqlite'):.0%} (target: at least 50%)")
PY
