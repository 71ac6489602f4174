#!/usr/bin/env bash
# What an enforcement point costs pbd, with 100,000 address bans in force:
#   1. a CrowdSec bouncer's startup pull (GET /v1/decisions/stream?startup=true):
#      its size and time, and the next one (nothing changed) after it;
#   2. delta pulls per second under wrk (one bouncer key, one address: each
#      pull compares only the bans changed after its outbox position and the
#      decisions it holds that expired; the puller's pulls take turns);
#   3. pb's own ban stream (GET /v1/bans/stream): every page of the startup set
#      (limit 1000), then a delta read.
#   tests/bench/bans_pull.sh [build/dev]   PB_BENCH_SECONDS (default 10), PB_BENCH_BANS (100000)
# Only loopback; the pbd started here is stopped here, by PID.
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
count=${PB_BENCH_BANS:-100000}

python3 - "$count" >"$work/bans.json" <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"bans": [{"target": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
                            "reason": "bench"} for i in range(n)]}))
PY
PB_DB="$work/pb.db" "$bin/pbctl" bans import "$work/bans.json" -q >/dev/null
port=$(free_port)
PB_LIMITS_IP_RATE=off PB_LIMITS_KEY_RATE=off "$bin/pbd" --db "$work/pb.db" \
    --listen "127.0.0.1:$port" --log-level warn >"$work/pbd.out" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$port/ready"
url="http://127.0.0.1:$port"
key=$(PB_DB="$work/pb.db" "$bin/pbctl" -o json bouncers add bench --url "$url/" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')

echo "-- 1. CrowdSec startup pull of $count bans"
curl -fsS -o "$work/startup.json" -w 'startup: %{size_download} bytes in %{time_total} s\n' \
    -H "X-Api-Key: $key" "$url/v1/decisions/stream?startup=true"
python3 -c "import json,sys; d=json.load(open('$work/startup.json')); print('decisions sent:', len(d['new'] or []))"
curl -fsS -o /dev/null -w 'next pull, nothing changed: %{size_download} bytes in %{time_total} s\n' \
    -H "X-Api-Key: $key" "$url/v1/decisions/stream?startup=false"

echo "-- 2. delta pulls under wrk -t2 -c8, ${duration}s"
wrk -t2 -c8 -d"${duration}s" --latency -H "X-Api-Key: $key" \
    "$url/v1/decisions/stream?startup=false" | grep -E "Requests/sec|99%|Non-2xx"

echo "-- 3. pb's ban stream: the startup set in pages of 1000, then a delta"
python3 - "$url" "$key" <<'PY'
import json, sys, time, urllib.request
url, key = sys.argv[1], sys.argv[2]
def get(q):
    req = urllib.request.Request(url + "/v1/bans/stream" + q, headers={"X-Api-Key": key})
    with urllib.request.urlopen(req, timeout=120) as r:
        body = r.read()
        return len(body), json.loads(body)
start, total, pages, bans, cursor = time.monotonic(), 0, 0, 0, None
while True:
    size, page = get("?limit=1000" + (f"&cursor={cursor}" if cursor else ""))
    total, pages, bans = total + size, pages + 1, bans + len(page["bans"])
    cursor = page["next_cursor"]
    if cursor is None:
        break
print(f"startup: {bans} bans in {pages} pages, {total} bytes in {time.monotonic() - start:.2f} s")
start = time.monotonic()
size, delta = get(f"?since={page['since']}")
print(f"delta read: {len(delta['changes'])} changes, {size} bytes in {1000 * (time.monotonic() - start):.1f} ms")
PY
