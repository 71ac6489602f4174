#!/usr/bin/env bash
# pbd's WebSocket figures of the states/events issue, on loopback:
#   1. one update delivered to 1,000 subscribed WebSocket clients (p99 < 50 ms)
#   2. 10,000 idle authenticated WebSocket connections, pbd RSS (< 200 MB)
# Usage: tests/bench/bench_ws.sh [build/dev]. Exits non-zero when a figure
# misses its target. Every process started here is stopped here, by PID.
# The figures need a quiet machine: other work on the cores shows in the p99.
set -euo pipefail
build=${1:-build/dev}
bin=$(cd "$build/bin" && pwd)
clients=${PB_BENCH_WS_CLIENTS:-1000}
rounds=${PB_BENCH_WS_ROUNDS:-50}
idle=${PB_BENCH_WS_IDLE:-10000}
work=$(mktemp -d)
pid=""
cleanup() {
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
# Both pbd and the client hold one descriptor per connection.
ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < idle + 1000 )); then
    echo "ulimit -n is $(ulimit -n): too low for $idle connections" >&2
    exit 1
fi

start_pbd() {
    PB_MAX_CONNECTIONS=$((idle + 1000)) "$bin/pbd" --db "$work/pb.db" --listen 127.0.0.1:0 \
        --port-file "$work/port" --log-level warn >"$work/pbd.out" 2>"$work/pbd.err" &
    pid=$!
    for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.1; done
    port=$(cat "$work/port")
    key=$(cat "$work/bootstrap-admin.key")  # pbd writes its first admin key there
}

echo "== WebSocket fan-out: $clients subscribers, $rounds updates"
start_pbd
status=0
"$bin/pb_bench_ws" fanout "$port" "$key" "$clients" "$rounds" || status=$?
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
# The second pbd bootstraps its own admin key: an old key file would stop it (O_EXCL).
rm -f "$work/port" "$work"/pb.db* "$work/bootstrap-admin.key"

echo "== $idle idle authenticated WebSockets"
start_pbd
"$bin/pb_bench_ws" idle "$port" "$key" "$idle" "$pid" || status=$?
# Non-zero when a figure missed its target (or a run failed).
exit "$status"
