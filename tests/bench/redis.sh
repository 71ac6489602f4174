#!/usr/bin/env bash
# The Redis figures of issue 9, in one run on one machine:
#   1. limits.check through Redis (pb_bench_redis: LimitService on the pooled
#      hiredis client, 1/8/32 threads) next to redis-benchmark running EVALSHA
#      of the same script with the same arguments (target: at least 50%);
#      the in-memory limiter is printed alongside.
#   2. pbd GET /v1/auth under wrk -t2 -c64 with Redis-backed limits next to the
#      same pbd with limits in memory (target: at least 60%), anonymously
#      (?anonymous=1: the address limit, one Redis call) and with an API key
#      (address and key limits: two Redis calls), both from one address as
#      behind a gateway; then anonymously from 100,000 addresses (a proxy's
#      X-Forwarded-For), where checks batched together rarely share a bucket.
#   tests/bench/redis.sh [build/dev]      PB_BENCH_SECONDS (default 10)
# Starts its own redis-server (no persistence, temporary directory) and pbds,
# on loopback only; stops every one of them, by PID, on exit. Redis, the
# client and wrk share the machine's cores: on a small machine the ratios say
# as much about the scheduler as about pb, which is why both sides of each
# ratio run in the same conditions, one after the other.
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
requests=${PB_BENCH_REDIS_REQUESTS:-200000}
redis_port=$(free_port)
mkdir -p "$work/redis"
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --dir "$work/redis" --logfile "$work/redis/redis.log" &
redis_pid=$!
pids+=($!)
rcli() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }
for _ in $(seq 100); do [[ "$(rcli PING 2>/dev/null)" == PONG ]] && break; sleep 0.1; done
[[ "$(rcli PING)" == PONG ]] || { echo "redis-server did not start" >&2; exit 1; }
redis_url="redis://127.0.0.1:$redis_port/0"
echo "   redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$redis_port, $(nproc) core(s)"

echo "== 6a. limits.check through Redis next to redis-benchmark EVALSHA of the same script"
sha=$("$bin/pb_bench_redis" --print-gcra-script | rcli -x SCRIPT LOAD)
if [[ "$sha" != "$("$bin/pb_bench_redis" --print-gcra-sha)" ]]; then
    echo "Redis's SHA-1 of the script ($sha) is not the one pb sends" >&2
    exit 1
fi
read -r -a gcra_args <<<"$("$bin/pb_bench_redis" --print-gcra-args)"
# Keys drawn from 100,000 (as pb_bench_redis draws addresses), under pb's prefix.
evalsha=(EVALSHA "$sha" 1 "pb:rl:ip:__rand_int__" 0 "${gcra_args[@]}")
echo "   redis-benchmark -n $requests -c 50 -r 100000 ${evalsha[*]}"
# Redis's own CPU time, in seconds (user + system).
redis_cpu() { rcli INFO cpu | awk -F: '/^used_cpu_(sys|user):/ {s += $2} END {print s}'; }
# redis_benchmark NAME: requests per second into $work/NAME.rps, with what
# Redis spent on the CPU per EVALSHA (reading, running, answering).
redis_benchmark() {
    local c0 c1
    c0=$(redis_cpu)
    redis-benchmark -h 127.0.0.1 -p "$redis_port" -n "$requests" -c 50 -r 100000 --csv \
        "${evalsha[@]}" >"$work/$1.csv"
    c1=$(redis_cpu)
    python3 -c 'import csv,sys; print(list(csv.reader(open(sys.argv[1])))[-1][1])' \
        "$work/$1.csv" >"$work/$1.rps"
    printf '   redis-benchmark EVALSHA, 50 connections: %10.0f/s   Redis CPU per call %.1f µs\n' \
        "$(cat "$work/$1.rps")" "$(python3 -c "print(($c1 - $c0) * 1e6 / $requests)")"
}
# Before and after pb's run, so that a machine busier in one half than the
# other shows as a spread rather than as a skewed ratio.
redis_benchmark rb1
rcli FLUSHDB >/dev/null
PB_BENCH_REDIS="$redis_url" "$bin/pb_bench_redis" --benchmark_format=console \
    --benchmark_out="$work/pb_redis.json" --benchmark_out_format=json
rcli FLUSHDB >/dev/null
redis_benchmark rb2
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
rb = [float(open(f"{w}/{n}.rps").read()) for n in ("rb1", "rb2")]
ref = sum(rb) / len(rb)
runs = {b["name"]: b["items_per_second"] for b in json.load(open(f"{w}/pb_redis.json"))["benchmarks"]
        if b["name"].startswith("BM_LimitsCheckRedis") and "error_occurred" not in b}
if not runs:
    sys.exit("pb_bench_redis measured nothing through Redis")
best = max(runs, key=runs.get)
for name, rate in runs.items():
    print(f"   {name.split('/')[-1]:>10}: {rate:10,.0f}/s = {rate / ref:.0%} of redis-benchmark")
print(f"   limits.check through Redis, best ({best.split('/')[-1]}): {runs[best]:,.0f}/s; "
      f"redis-benchmark EVALSHA {ref:,.0f}/s (runs {rb[0]:,.0f} and {rb[1]:,.0f}): "
      f"{runs[best] / ref:.0%} (target: at least 50%)")
PY

echo "== 6b. pbd GET /v1/auth under wrk -t2 -c64 (${duration}s each), limits in memory and in Redis"
# Limits high enough that wrk is never refused, but on: every request is
# counted. Loopback is allow-listed by default (bans.allow), which skips the
# limits; here only a documentation range is. The same settings for both
# daemons but redis.url (and the size of its pool).
export PB_LIMITS_IP_RATE=1000000/s PB_LIMITS_KEY_RATE=1000000/s PB_LIMITS_USER_RATE=1000000/s
export PB_BANS_ALLOW=192.0.2.0/24
export PB_MASTER_KEY_FILE="$work/master.key"
unset PB_REDIS PB_THREADS PB_REDIS_POOL_SIZE
# pbd's worker threads: 0 is its default (one per core); a worker waits for
# each Redis answer, so more of them keep more checks in flight.
read -r -a pbd_threads <<<"${PB_BENCH_PBD_THREADS:-0 8}"
declare -A url key pid
# start_pbd NAME [pbd flags…]: a pbd with its own database and an API key.
start_pbd() {
    local name=$1 port admin
    shift
    "$bin/pbd" --db "$work/$name.db" --listen 127.0.0.1:0 --port-file "$work/$name.port" \
        --bootstrap-key-file "$work/$name.key" --log-level warn "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pid[$name]=$!
    pids+=($!)
    for _ in $(seq 100); do [[ -s "$work/$name.port" ]] && break; sleep 0.1; done
    port=$(cat "$work/$name.port")
    admin=$(cat "$work/$name.key")
    key[$name]=$(curl -fsS -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
        -d '{"owner":"bench","permissions":["read"]}' "http://127.0.0.1:$port/v1/keys" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
    url[$name]="http://127.0.0.1:$port/v1/auth"
    curl -fsS -o /dev/null "${url[$name]}?anonymous=1"
    curl -fsS -o /dev/null -H "Authorization: Bearer ${key[$name]}" "${url[$name]}"
}
# stop_pbd NAME: stops that pbd (by PID) and forgets it.
stop_pbd() {
    local p=${pid[$1]} kept=()
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    for q in "${pids[@]}"; do [[ "$q" == "$p" ]] || kept+=("$q"); done
    pids=("${kept[@]}")
}
# CPU time a process has used, in clock ticks (user + system).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Each request from one of 100,000 addresses, as a trusted proxy (loopback,
# by default) reports them.
cat >"$work/spread.lua" <<'LUA'
math.randomseed(9)
request = function()
  local n = math.random(0, 99999)
  return wrk.format(nil, nil, {["X-Forwarded-For"] = string.format("10.%d.%d.%d",
    math.floor(n / 65536), math.floor(n / 256) % 256, n % 256)})
end
LUA
# run NAME anon|key|spread: wrk on /v1/auth?anonymous=1, or /v1/auth with the
# API key, or /v1/auth?anonymous=1 from 100,000 addresses;
# prints req/s and what each process spent on the CPU per request (pbd,
# redis-server, wrk), which is what bounds the figures when they share cores.
run() {
    local out="$work/$1-$2.txt" p0 r0 p1 r1 target="${url[$1]}?anonymous=1" auth=()
    if [[ $2 == key ]]; then
        target=${url[$1]}
        auth=(-H "Authorization: Bearer ${key[$1]}")
    elif [[ $2 == spread ]]; then
        auth=(-s "$work/spread.lua")
    fi
    p0=$(ticks "${pid[$1]}")
    r0=$(ticks "$redis_pid")
    /usr/bin/time -f '%U %S' -o "$out.time" wrk -t2 -c64 -d"${duration}s" --latency \
        "${auth[@]}" "$target" >"$out"
    p1=$(ticks "${pid[$1]}")
    r1=$(ticks "$redis_pid")
    python3 - "$out" "$1, /v1/auth $2" "$((p1 - p0))" "$((r1 - r0))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
out, label, pbd, redis, hz = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
text = open(out).read()
rps = re.search(r"Requests/sec:\s+(\S+)", text).group(1)
p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)
n = int(re.search(r"(\d+) requests in", text).group(1))
wrk = sum(map(float, open(out + ".time").read().split()))
errors = " ".join(l.strip() for l in text.splitlines() if re.search("Non-2xx|Socket errors", l))
us = lambda seconds: f"{seconds * 1e6 / max(n, 1):5.1f}"
print(f"   {label:<26} {rps:>10} req/s  p99 {p99:<8} CPU/request µs: pbd {us(pbd / hz)} "
      f"redis {us(redis / hz)} wrk {us(wrk)}  {errors}")
PY
}
for t in "${pbd_threads[@]}"; do
    # Both daemons stay up (the idle one costs nothing) and the runs alternate,
    # so that a change in the machine's load falls on both sides of a ratio.
    # One Redis connection per worker, and as many again for the subscriber,
    # publishing and pbctl-like callers.
    start_pbd "memory-t$t" --threads "$t"
    PB_REDIS_POOL_SIZE=$((t > 4 ? 2 * t : 8)) start_pbd "redis-t$t" --threads "$t" --redis "$redis_url"
    for r in anon key spread; do
        for name in "memory-t$t" "redis-t$t"; do
            if [[ $name == redis-* ]]; then rcli CONFIG RESETSTAT >/dev/null; fi
            run "$name" "$r"
        done
        # Every check of the Redis run went to Redis: one EVALSHA per request
        # (anonymous: the address), two with a key (the address, then the key).
        rcli INFO commandstats | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p' \
            >"$work/redis-t$t-$r.calls"
    done
    stop_pbd "memory-t$t"
    stop_pbd "redis-t$t"
done
python3 - "$work" "${pbd_threads[@]}" <<'PY'
import re, sys
w = sys.argv[1]
def rps(name):
    text = open(f"{w}/{name}.txt").read()
    if re.search(r"Non-2xx", text):
        sys.exit(f"{name}: wrk saw refused requests; the figures would mean nothing")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def requests(name):
    return int(re.search(r"(\d+) requests in", open(f"{w}/{name}.txt").read()).group(1))
for t in sys.argv[2:]:
    threads = "one per core" if t == "0" else t
    for run, what, per in (("anon", "?anonymous=1 (address limit)", 1),
                           ("key", "API key (address + key limits)", 2),
                           ("spread", "?anonymous=1 from 100,000 addresses", 1)):
        m, r = rps(f"memory-t{t}-{run}"), rps(f"redis-t{t}-{run}")
        calls = int(open(f"{w}/redis-t{t}-{run}.calls").read() or 0)
        sent = requests(f"redis-t{t}-{run}")
        # pbd's workers batch the checks of requests that arrive together into
        # one EVALSHA: there are fewer calls than checks, but never none.
        if calls == 0:
            sys.exit(f"redis-t{t}-{run}: no EVALSHA in Redis for {sent} requests: "
                     "limits were not in Redis")
        print(f"   /v1/auth {what}, {threads} thread(s): Redis {r:,.0f} req/s, "
              f"memory {m:,.0f} req/s: {r / m:.0%} (target: at least 60%); "
              f"{per * sent / calls:.1f} checks per EVALSHA")
PY
