# Sourced by the benchmark scripts (run.sh, redis.sh, bans_pull.sh, and
# pg_bench_env.sh for the PostgreSQL ones): the build's bin folder, a work
# folder, the run length, and a cleanup on exit that stops, by PID, every
# process in `pids` (then runs `cleanup_more`, when a script defines it) and
# removes the work folder. Only loopback.
build=${1:-build/dev}
bin=$(cd "$build/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
duration=${PB_BENCH_SECONDS:-10}
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if declare -F cleanup_more >/dev/null; then cleanup_more || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
