#!/usr/bin/env python3
"""Checks WebSocket frames against pbd's AsyncAPI document with
python3-jsonschema (draft 7, which AsyncAPI schemas extend; date-time checked
as RFC 3339): every message example of the document against its payload
(@asyncapi/parser checks no example of a 3.0 document), then the frames a
real pbd sent, each against the payload of the message it claims to be.

usage: check_frames.py DOCUMENT.json FRAMES.json
FRAMES.json: [{"message": "<name in components/messages>", "frame": {...}}, ...]
"""

import json
import os
import sys

from jsonschema import Draft7Validator

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from pbd_process import FORMATS, inline  # noqa: E402


def problems(schema, value):
    return [f"at /{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in sorted(Draft7Validator(schema, format_checker=FORMATS).iter_errors(value),
                            key=str)]


def main():
    doc = json.load(open(sys.argv[1]))
    frames = json.load(open(sys.argv[2]))
    components = doc["components"]["schemas"]
    messages = doc["components"]["messages"]
    payload = {name: inline(m["payload"], components) for name, m in messages.items()}
    failures = []
    examples = 0
    for name, m in messages.items():
        for ex in m.get("examples", []):
            examples += 1
            for p in problems(payload[name], ex["payload"]):
                failures.append(f"example {ex.get('name')} of {name}: {p}")
    for f in frames:
        if f["message"] not in payload:
            failures.append(f"no message {f['message']} in the document")
            continue
        for p in problems(payload[f["message"]], f["frame"]):
            failures.append(f"{f['message']}: {p}: {json.dumps(f['frame'])[:300]}")
    print(f"{examples} examples and {len(frames)} frames checked")
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
