# Sourced by the PostgreSQL benchmarks (pg_http.sh, pg_states.sh): a work
# folder, a PostgreSQL server of its own (tests/support/pg_server.sh), rate
# limits off, and a cleanup that stops, by PID, every process in `pids`.
source "$(dirname "$0")/bench_env.sh"
cleanup_more() { "$here/../support/pg_server.sh" stop "$work/pg" >/dev/null 2>&1; }

"$here/../support/pg_server.sh" start "$work/pg" >/dev/null
export PB_LIMITS_IP_RATE=off PB_LIMITS_USER_RATE=off PB_LIMITS_KEY_RATE=off
export PB_MASTER_KEY_FILE="$work/master.key"
