#!/usr/bin/env bash
# The cost of reloadable settings on the hot paths, and of reloads under load:
# pbd POST /v1/keys/verify and GET /v1/auth under wrk -t2 -c64 (as run.sh's
# section 3), then /v1/auth again while pbd is sent SIGHUP five times a second.
#   tests/bench/reload.sh [BUILD_DIR] [OTHER_PBD ...]
# Each OTHER_PBD (e.g. a build of main) is measured the same way, in turn with
# this build's, for a before/after on one machine in one run.
# Only loopback; every process started here is stopped here, by PID.
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
shift || true
summary() { # label, wrk output file
    local rps p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' "$2")
    p99=$(awk '$1=="99%" {print $2}' "$2")
    errors=$(awk '/Non-2xx|Socket errors/' "$2" | tr '\n' ' ')
    printf '%-44s %12s req/s   p99 %-9s %s\n' "$1" "$rps" "$p99" "${errors:-no errors}"
}

measure() { # label, pbd binary
    local label=$1 pbd=$2 dir port pid admin key
    dir=$(mktemp -d -p "$work")
    port=$(free_port)
    printf 'limits:\n  key:\n    rate: "off"\nlog:\n  level: warn\n' >"$dir/pb.yaml"
    PB_CONFIG="$dir/pb.yaml" "$pbd" --db "$dir/pb.db" --listen "127.0.0.1:$port" \
        >"$dir/pbd.out" 2>"$dir/pbd.err" &
    pid=$!
    pids+=("$pid")
    wait_http "http://127.0.0.1:$port/ready"
    admin=$(cat "$dir/bootstrap-admin.key")
    key=$(curl -fsS -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
        -d '{"owner":"bench","permissions":["read"]}' "http://127.0.0.1:$port/v1/keys" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
    printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' \
        "'{\"key\":\"$key\"}'" >"$dir/verify.lua"
    wrk -t2 -c64 -d"${duration}s" --latency -s "$dir/verify.lua" \
        "http://127.0.0.1:$port/v1/keys/verify" >"$dir/verify.txt"
    summary "$label keys.verify, c64" "$dir/verify.txt"
    wrk -t2 -c64 -d"${duration}s" --latency -H "Authorization: Bearer $key" \
        "http://127.0.0.1:$port/v1/auth" >"$dir/auth.txt"
    summary "$label GET /v1/auth, c64" "$dir/auth.txt"
    # The same under reloads: SIGHUP every 200 ms, the limit flipping each time.
    (
        for i in $(seq $((duration * 5))); do
            if ((i % 2)); then rate='"100000/s"'; else rate='"off"'; fi
            printf 'limits:\n  key:\n    rate: %s\nlog:\n  level: warn\n' "$rate" >"$dir/pb.yaml.tmp"
            mv "$dir/pb.yaml.tmp" "$dir/pb.yaml"
            kill -HUP "$pid"
            sleep 0.2
        done
    ) &
    local hup=$!
    wrk -t2 -c64 -d"${duration}s" --latency -H "Authorization: Bearer $key" \
        "http://127.0.0.1:$port/v1/auth" >"$dir/auth_hup.txt"
    wait "$hup"
    summary "$label GET /v1/auth, c64, SIGHUP 5/s" "$dir/auth_hup.txt"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

for round in 1 2; do
    echo "== round $round"
    measure "this build:" "$bin/pbd"
    for other in "$@"; do
        measure "$(basename "$other"):" "$other"
    done
done
