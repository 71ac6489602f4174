#!/usr/bin/env bash
# `make bench`: every performance figure of the issues, in one run.
#   1. in-process keys.verify over 100,000 keys, pinned to one core (Google Benchmark);
#      tokens.verify per algorithm next to `openssl speed`, PyJWT and node's JWT libraries;
#      limits, states, actions and secrets in-process
#   2. `pbctl keys verify` as a whole process (hyperfine, median); 2b. `pbctl limits check`
#      on SQLite next to it (local_limits.sh)
#   3. pbd POST /v1/keys/verify under wrk -t2 -c64 and -c512, next to nginx `return 200`;
#      3b. GET /v1/auth with the gate's identity tokens on and off (identity_token.sh)
#   4. the WebSocket fan-out and idle connections (bench_ws.sh)
#   5. PostgreSQL against SQLite through pbd (pg_http.sh, pg_states.sh)
#   6. Redis: limits.check next to redis-benchmark EVALSHA, /v1/auth with limits in Redis (redis.sh)
#   7. enforcement points over 100,000 bans: a CrowdSec bouncer's pulls, pb's ban stream (bans_pull.sh)
# Only loopback; every process started here is stopped here, by PID.
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
summary() { # label, wrk output file
    local rps p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' "$2")
    p99=$(awk '$1=="99%" {print $2}' "$2")
    errors=$(awk '/Non-2xx|Socket errors/' "$2" | tr '\n' ' ')
    printf '%-28s %12s req/s   p99 %-9s %s\n' "$1" "$rps" "$p99" "${errors:-no errors}"
}

echo "== 1. in-process keys.verify, 100,000 keys, one core"
taskset -c 0 "$bin/pb_bench_keys" --benchmark_format=console | tee "$work/inproc.txt"
awk '/^BM_VerifyPlainKey/ {p = $2} /^BM_VerifyIdentityTwoLimits/ {i = $2}
     END {if (p && i) printf "   keys.verify of a key with an identity and two named limits: %.2fx a plain key'"'"'s (issue #25: at least 0.8x)\n", p / i}' \
    "$work/inproc.txt"
echo "   instructions per KeyService::verify under callgrind, 100,000 keys (before issue #25: 6,374):"
"$(dirname "$0")/verify_ir.sh" "$bin"
echo "   the same for an imported key (10,000 imported beside 5,000 of pb's):"
PB_BENCH_KEYS=5000 "$(dirname "$0")/verify_ir.sh" "$bin" BM_KeysVerifyImported

echo "== 1b. in-process tokens.verify (with revocation check) and the bare primitives, one core"
taskset -c 0 "$bin/pb_bench_tokens" --benchmark_format=console \
    --benchmark_out="$work/tokens.json" --benchmark_out_format=json
echo "   openssl speed on the same machine, same run:"
openssl speed -seconds 2 ecdsap256 rsa2048 ed25519 2>/dev/null | grep -E "^ *(256 bits ecdsa|rsa 2048|253 bits EdDSA)" || true
echo "   PyJWT HS256 verify of a comparable token:"
(/usr/bin/python3 - <<'PY'
import time, jwt
secret = b"s" * 32
claims = {"iss": "pb", "sub": "user-1234567890", "aud": "api.example.com", "role": "admin",
          "permissions": ["keys:read", "states:write", "bans:read"], "iat": int(time.time()),
          "exp": int(time.time()) + 900, "jti": "abcdefghijklmnopqrstuv", "token_use": "access"}
token = jwt.encode(claims, secret, algorithm="HS256", headers={"kid": "config"})
n, start = 50000, time.perf_counter()
for _ in range(n):
    jwt.decode(token, secret, algorithms=["HS256"], audience="api.example.com")
print(f"PyJWT {n / (time.perf_counter() - start):.0f} {len(token)}")
PY
) | tee "$work/others.txt"
echo "   node HS256 verify of the same kind of token (npm: jsonwebtoken with a KeyObject, jose):"
mkdir -p "$work/node"
cp "$here/node/package.json" "$here/node/verify_hs256.js" "$work/node/"
if (cd "$work/node" && npm install --no-audit --no-fund --silent >/dev/null 2>&1); then
    taskset -c 0 node "$work/node/verify_hs256.js" | tee -a "$work/others.txt"
else
    echo "   (npm could not install the node libraries: skipped)"
fi
python3 - "$work/tokens.json" "$work/others.txt" <<'PY'
import json, sys
pb = next(b["items_per_second"] for b in json.load(open(sys.argv[1]))["benchmarks"]
          if b["name"] == "verify/HS256")
print(f"   pb HS256 verify {pb:,.0f}/s, against the same run:")
for line in open(sys.argv[2]):
    name, rate, size = line.split()
    print(f"   {name:>13}: {float(rate):>10,.0f}/s ({size} bytes)  pb is {pb / float(rate):.1f}x")
PY

echo "== 1c. in-process limits and bans, 100,000 identifiers / 10,000 ranges"
"$bin/pb_bench_limits" --benchmark_format=console

echo "== 1d. in-process states.update on SQLite (single, batched, and through dispatch)"
"$bin/pb_bench_states" --benchmark_format=console
echo "== 1e. actions: argument checks and argv rendering; a whole /bin/true run (spawn, wait, audit row)"
"$bin/pb_bench_actions" --benchmark_format=console
echo "== 1f. secrets: local get in-process; Vault backend vs a bare GET of the KV v2 test server"
"$bin/pb_bench_secrets" --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
    --benchmark_report_aggregates_only=true --benchmark_format=console
echo "== 1g. audit: keys.create with its chained row (one transaction) vs the unchained row after vs none"
"$bin/pb_bench_audit" --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
    --benchmark_report_aggregates_only=true --benchmark_format=console

echo "== 2. pbctl keys verify as a whole process"
export PB_DB="$work/cli.db"
# pbctl on the database counts the key's limit in the database (issue 25):
# generous, so that no run is refused, but counted.
export PB_LIMITS_KEY_RATE=1000000/s
key=$("$bin/pbctl" keys create --owner bench -q)
hyperfine -N --warmup 10 --runs 200 --export-json "$work/cli.json" "$bin/pbctl keys verify $key" >/dev/null
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("pbctl keys verify: median %.2f ms, mean %.2f ms" % (r["median"]*1e3, r["mean"]*1e3))' "$work/cli.json"
echo "== 2b. pbctl limits check on SQLite (counted in the database) next to pbctl keys verify"
# Issue 25: the whole process's median within 1 ms of keys verify's. The rate
# is generous so that every run is allowed (a refusal exits 6).
"$here/local_limits.sh" "$bin/pbctl" "$work/local-limits"
unset PB_DB PB_LIMITS_KEY_RATE

echo "== 3. HTTP under wrk -t2 (${duration}s each)"
nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$nginx_port;
        location / { default_type application/json; return 200 '{"valid":true}'; }
    }
}
NGINX
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)

pbd_port=$(free_port)
# The key verified is limited by limits.key.rate like any other; off here, to measure verify itself.
PB_LIMITS_KEY_RATE=off "$bin/pbd" --db "$work/pbd.db" --listen "127.0.0.1:$pbd_port" --log-level warn >"$work/pbd.out" 2>"$work/pbd.err" &
pids+=($!)
wait_http "http://127.0.0.1:$nginx_port/"
wait_http "http://127.0.0.1:$pbd_port/ready"
admin=$(cat "$work/bootstrap-admin.key")
verify_key=$(curl -fsS -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d '{"owner":"bench","permissions":["read"]}' "http://127.0.0.1:$pbd_port/v1/keys" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
cat >"$work/verify.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$verify_key"}'
wrk.headers["Content-Type"] = "application/json"
LUA
curl -fsS -H 'Content-Type: application/json' -d "{\"key\":\"$verify_key\"}" "http://127.0.0.1:$pbd_port/v1/keys/verify" | grep -q '"valid":true'

wrk -t2 -c64 -d"${duration}s" --latency "http://127.0.0.1:$nginx_port/" >"$work/nginx64.txt"
wrk -t2 -c64 -d"${duration}s" --latency -s "$work/verify.lua" "http://127.0.0.1:$pbd_port/v1/keys/verify" >"$work/pbd64.txt"
wrk -t2 -c512 -d"${duration}s" --latency -s "$work/verify.lua" "http://127.0.0.1:$pbd_port/v1/keys/verify" >"$work/pbd512.txt"
wrk -t2 -c64 -d"${duration}s" --latency -H "Authorization: Bearer $verify_key" "http://127.0.0.1:$pbd_port/v1/auth" >"$work/auth64.txt"
summary "nginx return 200, c64" "$work/nginx64.txt"
summary "pbd keys.verify, c64" "$work/pbd64.txt"
summary "pbd keys.verify, c512" "$work/pbd512.txt"
summary "pbd GET /v1/auth, c64" "$work/auth64.txt"
python3 - "$work" <<'PY'
import re, sys
w = sys.argv[1]
def rps(name):
    return float(re.search(r"Requests/sec:\s+([\d.]+)", open(f"{w}/{name}.txt").read()).group(1))
n, p64, p512, auth = rps("nginx64"), rps("pbd64"), rps("pbd512"), rps("auth64")
print(f"pbd/nginx at c64: {100*p64/n:.0f}% (target >= 50%); c512 vs c64: {100*(p512-p64)/p64:+.0f}% (target > -20%)")
print(f"/v1/auth vs keys.verify at c64: {100*auth/p64:.0f}% (target >= 80%)")
PY
"$(dirname "$0")/identity_token.sh" "$build"

echo "== 4. WebSocket fan-out and idle connections"
"$(dirname "$0")/bench_ws.sh" "$build"

echo "== 5. PostgreSQL: keys.verify through pbd next to SQLite; states.update with two daemons on one database"
"$(dirname "$0")/pg_http.sh" "$build"
"$(dirname "$0")/pg_states.sh" "$build"

echo "== 6. Redis: limits.check through Redis next to redis-benchmark; /v1/auth with limits in Redis and in memory"
"$(dirname "$0")/redis.sh" "$build"

echo "== 7. Enforcement points: CrowdSec bouncer pulls and pb's ban stream over 100,000 bans"
"$(dirname "$0")/bans_pull.sh" "$build"
