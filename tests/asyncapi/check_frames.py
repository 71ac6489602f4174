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
import re
import sys

from jsonschema import Draft7Validator, FormatChecker

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
FORMATS = FormatChecker()


@FORMATS.checks("date-time")
def is_rfc3339(value):
    return not isinstance(value, str) or RFC3339.match(value) is not None


def inline(schema, components):
    """The schema with every #/components/schemas/ reference replaced."""
    if isinstance(schema, list):
        return [inline(s, components) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return inline(components[schema["$ref"].rsplit("/", 1)[1]], components)
    return {k: inline(v, components) for k, v in schema.items()}


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
