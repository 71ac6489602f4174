#!/usr/bin/env bash
# POST /v1/keys/verify through pbd on PostgreSQL next to the same on SQLite, in
# one run (issue target: PostgreSQL at no less than 50% of SQLite).
#   tests/bench/pg_http.sh [build/dev]      PB_BENCH_SECONDS (default 10)
# Starts its own PostgreSQL (tests/support/pg_server.sh) and pbds on loopback;
# stops every one of them, by PID, on exit. Rate limits are off: this measures
# verification, not the limiter.
set -euo pipefail
build=${1:-build/dev}
bin=$(cd "$build/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
duration=${PB_BENCH_SECONDS:-10}
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    "$here/../support/pg_server.sh" stop "$work/pg" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

"$here/../support/pg_server.sh" start "$work/pg" >/dev/null
export PB_LIMITS_IP_RATE=off PB_LIMITS_USER_RATE=off PB_LIMITS_KEY_RATE=off
export PB_MASTER_KEY_FILE="$work/master.key"

# bench NAME DB_URL: prints "NAME req/s p99"
bench() {
    local name=$1 db=$2 port admin key
    port=$(free_port)
    "$bin/pbd" --db "$db" --listen "127.0.0.1:$port" --log-level warn >"$work/$name.out" 2>"$work/$name.err" &
    pids+=($!)
    wait_http "http://127.0.0.1:$port/ready"
    admin=$(sed -n 's/.*\(pb_[A-Za-z0-9_]*\).*/\1/p' "$work/$name.out" | head -1)
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
