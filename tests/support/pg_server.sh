#!/usr/bin/env bash
# Starts or stops the throwaway PostgreSQL server the tests use.
#   pg_server.sh start STATE_DIR   initdb in a fresh temporary directory, start on
#                                  a free 127.0.0.1 port, write the URL to STATE_DIR/url
#   pg_server.sh stop STATE_DIR    stop it and remove both directories
#   pg_server.sh halt STATE_DIR    stop it, keeping its data (an outage)
#   pg_server.sh resume STATE_DIR  start it again on the same port
# Run by ctest as the setup and cleanup of the "postgres" fixture. As root, the
# server runs as the unprivileged user "postgres" (PostgreSQL refuses root).
set -euo pipefail

action=${1:?start or stop}
state=${2:?state directory}
bin=${PB_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
    echo "pg_server.sh: no PostgreSQL server binaries (install the postgresql package)" >&2
    exit 1
fi

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$action" in
start)
    if [[ -f "$state/data_dir" ]]; then
        "$0" stop "$state" || true
    fi
    rm -rf "$state"
    mkdir -p "$state"
    # The data lives under /tmp: the server's user may not reach the build tree.
    data=$(mktemp -d "${TMPDIR:-/tmp}/pb-pg.XXXXXX")
    echo "$data" >"$state/data_dir"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$data"
    fi
    as_owner "$bin/initdb" -D "$data/data" -U pb --auth=trust --no-sync -E UTF8 \
        --locale=C >"$state/initdb.log" 2>&1 || { cat "$state/initdb.log" >&2; exit 1; }
    # One role must give a password (tests of db.password); everyone else is trusted.
    { echo "host all pb_password 127.0.0.1/32 scram-sha-256"; cat "$data/data/pg_hba.conf"; } \
        >"$data/hba.tmp" && as_owner cp "$data/hba.tmp" "$data/data/pg_hba.conf"
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        if as_owner "$bin/pg_ctl" -D "$data/data" -l "$data/server.log" -w -t 30 start \
            -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=400 \
                -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
                -c shared_buffers=64MB" >/dev/null; then
            echo "postgresql://pb@127.0.0.1:$port/postgres" >"$state/url"
            "$bin/psql" -q -h 127.0.0.1 -p "$port" -U pb -d postgres -c \
                "CREATE ROLE pb_password LOGIN SUPERUSER PASSWORD 'pb-test-password'" >/dev/null
            echo "$port" >"$state/port"
            head -n1 "$data/data/postmaster.pid" >"$state/pid"
            echo "PostgreSQL on 127.0.0.1:$port ($data)"
            exit 0
        fi
    done
    cat "$data/server.log" >&2
    exit 1
    ;;
halt)
    data=$(cat "$state/data_dir")
    as_owner "$bin/pg_ctl" -D "$data/data" -m fast -w stop >/dev/null
    ;;
resume)
    data=$(cat "$state/data_dir")
    port=$(cat "$state/port")
    as_owner "$bin/pg_ctl" -D "$data/data" -l "$data/server.log" -w -t 30 start \
        -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=400 \
            -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
            -c shared_buffers=64MB" >/dev/null
    ;;
stop)
    data=$(cat "$state/data_dir" 2>/dev/null || true)
    if [[ -n "$data" && -d "$data/data" ]]; then
        as_owner "$bin/pg_ctl" -D "$data/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$data"
    fi
    rm -rf "$state"
    ;;
*)
    echo "usage: $0 start|stop|halt|resume STATE_DIR" >&2
    exit 2
    ;;
esac
