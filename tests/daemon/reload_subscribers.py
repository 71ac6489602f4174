"""WebSocket subscribers (Debian's python3-websockets) that must live through a reload.

Usage: reload_subscribers.py PORT API_KEY COUNT READY_FILE GO_FILE

Connects COUNT subscribers to pbd's /ws, each subscribed to "keys", writes
READY_FILE, then waits for GO_FILE, which holds the id of a key created after
the reload: every subscriber must still be connected and receive that key's
key.created event. Prints OK and exits 0, else prints what failed and exits 1.
Every wait is bounded.
"""
import asyncio
import json
import os
import sys

import websockets

PORT, KEY, COUNT = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
READY_FILE, GO_FILE = sys.argv[4], sys.argv[5]
URL = f"ws://127.0.0.1:{PORT}/ws"


async def call(ws, id_, op, args):
    await ws.send(json.dumps({"id": id_, "op": op, "args": args}))
    for _ in range(1000):
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if msg.get("id") == id_:
            return msg
    raise RuntimeError(f"no answer to {op}")


async def wait_for_event(ws, topic):
    """The event of `topic`; events of other keys (the test makes some) are skipped."""
    for _ in range(10000):
        msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if "id" not in msg and msg.get("topic") == topic:
            return msg
    raise RuntimeError(f"no event on {topic}")


async def main():
    subscribers = []
    try:
        for _ in range(COUNT):
            ws = await asyncio.wait_for(
                websockets.connect(URL, extra_headers={"X-API-Key": KEY}), 10)
            subscribers.append(ws)
            sub = await call(ws, 1, "subscribe", {"topics": ["keys"]})
            if sub.get("ok") is not True:
                print(f"FAIL subscribe: {sub}", flush=True)
                return 1
        with open(READY_FILE + ".tmp", "w") as f:
            f.write("ready\n")
        os.rename(READY_FILE + ".tmp", READY_FILE)
        for _ in range(1200):  # 120 s at most
            if os.path.exists(GO_FILE):
                break
            await asyncio.sleep(0.1)
        else:
            print("FAIL: the test never said go", flush=True)
            return 1
        key_id = open(GO_FILE).read().strip()
        failures = []
        for n, ws in enumerate(subscribers):
            try:
                ev = await wait_for_event(ws, "keys/" + key_id)
                if ev.get("event") != "key.created":
                    failures.append(f"subscriber {n}: {ev}")
            except websockets.ConnectionClosed as e:
                failures.append(f"subscriber {n} was dropped: code {e.code} {e.reason}")
            except (asyncio.TimeoutError, RuntimeError) as e:
                failures.append(f"subscriber {n}: no event for keys/{key_id}: {e!r}")
        for f in failures:
            print("FAIL " + f, flush=True)
        if failures:
            return 1
        print(f"OK {len(subscribers)} subscribers received keys/{key_id}", flush=True)
        return 0
    finally:
        for ws in subscribers:
            await ws.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
