"""An independent WebSocket client (Debian's python3-websockets) against pbd's /ws.

Usage: ws_peer.py PORT API_KEY. Exits 0 when every check passed, else prints
what failed and exits 1. Every wait is bounded.
"""
import asyncio
import json
import sys

import websockets

PORT, KEY = int(sys.argv[1]), sys.argv[2]
URL = f"ws://127.0.0.1:{PORT}/ws"
failures = []
early = {}  # events that arrived while waiting for an answer, per connection


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


async def call(ws, id_, op, args=None):
    await ws.send(json.dumps({"id": id_, "op": op, "args": args or {}}))
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if msg.get("id") == id_:
            return msg
        early.setdefault(id(ws), []).append(msg)


async def event(ws):
    if early.get(id(ws)):
        return early[id(ws)].pop(0)
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if "id" not in msg:
            return msg


async def main():
    # Authenticate with a header on the upgrade; call an op.
    async with websockets.connect(URL, extra_headers={"X-API-Key": KEY}) as a, \
            websockets.connect(URL) as b:
        listed = await call(a, 1, "keys.list")
        check(listed["ok"] is True and "keys" in listed["result"], f"keys.list: {listed}")
        # b authenticates by message.
        unauth = await call(b, 1, "keys.list")
        check(unauth["ok"] is False and unauth["error"]["code"] == "unauthenticated",
              f"unauthenticated op: {unauth}")
        auth = await call(b, 2, "authenticate", {"api_key": KEY})
        check(auth["ok"] is True, f"authenticate: {auth}")
        # a subscribes; b changes a key; a sees it.
        sub = await call(a, 2, "subscribe", {"topics": ["keys"]})
        check(sub["ok"] is True, f"subscribe: {sub}")
        made = await call(b, 3, "keys.create", {"owner": "python"})
        check(made["ok"] is True, f"keys.create: {made}")
        ev = await event(a)
        check(ev["event"] == "key.created" and ev["topic"] == "keys/" + made["result"]["id"],
              f"event: {ev}")
        # Rooms.
        await call(a, 3, "join_room", {"room": "py"})
        await call(b, 4, "join_room", {"room": "py"})
        check((await event(a))["event"] == "room.joined", "room.joined")
        sent = await call(b, 5, "room_message", {"room": "py", "data": {"n": 42}})
        check(sent["result"]["delivered"] == 1, f"room_message: {sent}")
        got = await event(a)
        check(got["event"] == "room.message" and got["data"] == {"n": 42}, f"room message: {got}")
        unknown = await call(b, 6, "no.such.op")
        check(unknown["error"]["code"] == "not_found", f"unknown op: {unknown}")
        last_seq = ev["seq"]
    # Resume with since: the event made above comes again, and only it (then live).
    async with websockets.connect(URL, extra_headers={"Authorization": "Bearer " + KEY}) as c:
        sub = await call(c, 1, "subscribe", {"topics": ["keys"], "since": last_seq - 1})
        check(sub["ok"] is True and sub["result"]["replayed"] == 1, f"resume: {sub}")
        again = await event(c)
        check(again["seq"] == last_seq, f"replayed event: {again}")
    # Bad JSON is told in an error frame, then closes with 1007; the daemon keeps serving.
    async with websockets.connect(URL, extra_headers={"X-API-Key": KEY}) as d:
        await d.send("{nope")
        try:
            refusal = json.loads(await asyncio.wait_for(d.recv(), 5))
            check(refusal["error"]["code"] == "invalid_argument", f"bad JSON: {refusal}")
            await asyncio.wait_for(d.recv(), 5)
            check(False, "no close after bad JSON")
        except websockets.ConnectionClosed as e:
            check(e.code == 1007, f"close code after bad JSON: {e.code}")
    async with websockets.connect(URL, extra_headers={"X-API-Key": KEY}) as e:
        check((await call(e, 1, "keys.list"))["ok"] is True, "served after a bad client")
    # A refused upgrade.
    try:
        async with websockets.connect(URL, extra_headers={"X-API-Key": "pb_wrong"}):
            check(False, "upgrade with a wrong key accepted")
    except websockets.InvalidStatusCode as e:
        check(e.status_code == 401, f"refused upgrade status: {e.status_code}")


asyncio.run(main())
print("OK" if not failures else f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
