#!/usr/bin/env bash
# states.update through two pbd on one PostgreSQL database, both loaded at once
# (PATCH /v1/states/{id} over 64 states, wrk -t1 -c32 on each daemon), next to
# one pbd on SQLite in the same run.
#   tests/bench/pg_states.sh [build/dev]      PB_BENCH_SECONDS (default 10)
# Starts its own PostgreSQL (tests/support/pg_server.sh) and pbds on loopback;
# stops every one of them, by PID, on exit. Rate limits are off.
set -euo pipefail
source "$(dirname "$0")/pg_bench_env.sh"

# start_pbd NAME DB_URL: starts a pbd and sets `port` (not in a subshell, so
# that its PID reaches `pids` and the cleanup stops it)
start_pbd() {
    port=$(free_port)
    "$bin/pbd" --db "$2" --listen "127.0.0.1:$port" --bootstrap-key-file "$work/$1.key" --log-level warn >"$work/$1.out" 2>"$work/$1.err" &
    pids+=($!)
    wait_http "http://127.0.0.1:$port/ready"
}

# prepare PORT ADMIN: 64 states; writes the wrk script
prepare() {
    for i in $(seq 0 63); do
        curl -fsS -o /dev/null -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
            -d "{\"id\":\"bench_$i\",\"type\":\"session\",\"data\":{}}" "http://127.0.0.1:$1/v1/states"
    done
    cat >"$work/update.lua" <<LUA
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $2"
local n = 0
request = function()
    n = n + 1
    return wrk.format(nil, "/v1/states/bench_" .. (n % 64), nil, '{"data":{"n":' .. n .. '}}')
end
LUA
}

rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
errors() { awk '/Non-2xx|Socket errors/' "$1" | tr '\n' ' '; }

# One pbd on SQLite.
start_pbd sqlite "$work/pb.db"
admin=$(cat "$work/sqlite.key")
prepare "$port" "$admin"
wrk -t2 -c64 -d"${duration}s" --latency -s "$work/update.lua" "http://127.0.0.1:$port" >"$work/sqlite.txt"
printf '%-44s %10s req/s   p99 %s %s\n' "states.update, 1 pbd on SQLite, c64" \
    "$(rps "$work/sqlite.txt")" "$(awk '$1=="99%" {print $2}' "$work/sqlite.txt")" "$(errors "$work/sqlite.txt")"

# Two pbds on one PostgreSQL database, loaded at the same time.
url=$(cat "$work/pg/url")
start_pbd pg_a "$url"
a=$port
admin=$(cat "$work/pg_a.key")
start_pbd pg_b "$url"
b=$port
prepare "$a" "$admin"
wrk -t1 -c32 -d"${duration}s" --latency -s "$work/update.lua" "http://127.0.0.1:$a" >"$work/pg_a.txt" &
wa=$!
wrk -t1 -c32 -d"${duration}s" --latency -s "$work/update.lua" "http://127.0.0.1:$b" >"$work/pg_b.txt"
wait "$wa"
python3 - "$work" <<'PY'
import re, sys
w = sys.argv[1]
def read(n):
    t = open(f"{w}/{n}.txt").read()
    return float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)), re.findall(r"(Non-2xx.*|Socket errors.*)", t)
a, ea = read("pg_a"); b, eb = read("pg_b")
print(f"{'states.update, 2 pbd on one PostgreSQL, c32 each':44} {a + b:10,.0f} req/s   ({a:,.0f} + {b:,.0f}) {' '.join(ea + eb) or 'no errors'}")
PY
