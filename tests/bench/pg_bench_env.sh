# Sourced by the PostgreSQL benchmarks (pg_http.sh, pg_states.sh): a work
# folder, a PostgreSQL server of its own (tests/support/pg_server.sh), rate
# limits off, and a cleanup that stops, by PID, every process in `pids`.
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
