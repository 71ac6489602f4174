#!/usr/bin/env python3
"""Runs every op's examples against a real pbd over HTTP and checks each answer
against /openapi.json: the status must be one the operation documents, and the
body must match that response's schema (python3-jsonschema, draft 2020-12, with
date-time checked as RFC 3339). An op must answer its success at least once,
unless REFUSED says why it cannot here (then its refusal is checked as well).

usage: answers.py PBCTL PBD WORK_DIR
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from jsonschema import Draft202012Validator, FormatChecker

# The order the examples run in: each creates what the next ones use.
ORDER = [
    "health", "version", "db.status", "db.migrate", "config.show", "config.explain",
    "keys.create", "keys.verify", "keys.list", "keys.show", "keys.update", "keys.rotate",
    "tokens.issue", "tokens.verify", "tokens.inspect", "tokens.refresh", "tokens.revoke",
    "tokens.jwks", "tokens.keys.list", "tokens.keys.rotate", "tokens.keys.retire",
    "tokens.issuers.add", "tokens.issuers.list", "tokens.issuers.show",
    "tokens.issuers.update", "tokens.issuers.remove",
    "states.register", "states.get", "states.update", "states.transition", "states.history",
    "states.list",
    "bans.add", "bans.list", "bans.check", "bans.export", "bans.remove", "bans.import",
    "limits.check", "limits.status", "limits.reset",
    "secrets.status", "secrets.put", "secrets.get", "secrets.patch", "secrets.list",
    "secrets.metadata", "secrets.configure", "secrets.delete", "secrets.undelete",
    "secrets.destroy",
    "actions.list", "actions.show", "actions.run", "actions.lint",
    "audit.list", "db.backup", "db.purge",
    "bouncers.add", "bouncers.list", "bouncers.remove",
    "keys.revoke", "keys.delete", "states.delete",
]

# Ops whose examples cannot succeed on a loopback pbd, and why (none today: an
# issuer's JWKS URL is fetched when a token needs it, not when it is added).
REFUSED = {}

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
        name = schema["$ref"].rsplit("/", 1)[1]
        out = dict(inline(components[name], components))
        out.update({k: inline(v, components) for k, v in schema.items() if k != "$ref"})
        return out
    return {k: inline(v, components) for k, v in schema.items()}


def substitute(value, subst):
    if isinstance(value, str):
        return subst.get(value, value)
    if isinstance(value, list):
        return [substitute(v, subst) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, subst) for k, v in value.items()}
    return value


def query_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else json.dumps(v)


class Pbd:
    def __init__(self, pbd, work, env):
        port_file = os.path.join(work, "port")
        self.out = open(os.path.join(work, "pbd.log"), "w")
        self.proc = subprocess.Popen(
            [pbd, "--db", os.path.join(work, "pb.db"), "--listen", "127.0.0.1:0",
             "--port-file", port_file, "--threads", "2"],
            env=env, stdout=self.out, stderr=subprocess.STDOUT)
        for _ in range(1000):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            if self.proc.poll() is not None:
                sys.exit("pbd did not start: " + open(os.path.join(work, "pbd.log")).read())
            time.sleep(0.01)
        self.url = "http://127.0.0.1:" + open(port_file).read().strip()
        self.key = open(os.path.join(work, "bootstrap-admin.key")).read().strip()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def call(self, method, path, args, in_path):
        for name in in_path:
            value = str(args.pop(name))
            quoted = "/".join(urllib.parse.quote(seg, safe="") for seg in value.split("/"))
            path = re.sub(r"\{" + re.escape(name) + r"\}", lambda _: quoted, path)
        data = None
        headers = {"Authorization": "Bearer " + self.key, "Accept": "application/json"}
        if method in ("GET", "DELETE"):
            pairs = []
            for k, v in args.items():
                for item in (v if isinstance(v, list) else [v]):
                    if item is not None:
                        pairs.append((k, query_text(item)))
            if pairs:
                path += "?" + urllib.parse.urlencode(pairs)
        else:
            data = json.dumps(args).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                return res.status, json.loads(res.read() or b"null")
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                return e.code, json.loads(body)
            except ValueError:
                return e.code, body.decode(errors="replace")


def main():
    pbctl, pbd_path, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    for f in os.listdir(work):
        p = os.path.join(work, f)
        if os.path.isfile(p):
            os.remove(p)
    doc = json.loads(subprocess.run([pbctl, "openapi"], check=True, capture_output=True,
                                    env={"PB_DB": os.path.join(work, "pbctl.db")}).stdout)
    components = doc["components"]["schemas"]
    ops = {}
    for path, item in doc["paths"].items():
        for method, o in item.items():
            ops[o["operationId"]] = (method.upper(), path, o)

    actions = os.path.join(work, "actions")
    os.makedirs(actions, exist_ok=True)
    with open(os.path.join(actions, "disk-usage.yaml"), "w") as f:
        f.write("name: disk-usage\ndescription: Show how much disk space a folder uses\n"
                "permission: admin\nparams:\n  path:\n    type: path\n"
                f"    default: {work}\n    roots: [{work}]\n    help: The folder to measure\n"
                "run:\n  command: [du, -s, -h, --, \"{{path}}\"]\n  timeout: 30s\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work,
           "PB_ACTIONS_PATHS": actions}
    subst = {"/var/lib/pb": work, "/etc/pb/actions": actions,
             "/var/backups/pb/pb-2026-01-02.db": os.path.join(work, "backup.db")}
    failures = []
    answered = set()
    pbd = Pbd(pbd_path, work, env)
    try:
        missing = set(ops) - set(ORDER) - {o for o in ops if o.startswith("pbd.")}
        if missing:
            failures.append("ops missing from ORDER: " + ", ".join(sorted(missing)))
        for name in ORDER:
            if name not in ops:
                failures.append(f"{name}: not in the document")
                continue
            method, path, o = ops[name]
            in_path = re.findall(r"\{(\w+)\}", path)
            for ex in o["x-pb-examples"]:
                args = substitute(ex["args"], subst)
                status, body = pbd.call(method, path, dict(args), in_path)
                where = f"{name} ({ex['summary']}): {status}"
                response = o["responses"].get(str(status))
                if response is None:
                    failures.append(f"{where}: status not documented; {body}")
                    continue
                if "$ref" in response:
                    response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                schema = response["content"]["application/json"]["schema"]
                errors = sorted(Draft202012Validator(inline(schema, components),
                                                     format_checker=FORMATS).iter_errors(body),
                                key=str)
                for e in errors:
                    failures.append(f"{where}: at /{'/'.join(map(str, e.absolute_path))}: "
                                    f"{e.message}")
                if status >= 300:
                    if name not in REFUSED:
                        failures.append(f"{where}: refused: {body}")
                    print(f"refused  {where}")
                    continue
                answered.add(name)
                print(f"ok       {where}")
                # What later examples use: the real ids and credentials.
                if name in ("keys.create", "keys.rotate"):
                    subst["4fQ9kZr2Lm8x"] = body["id"]
                    subst[ex["result"]["key"]] = body["key"]
                elif name == "tokens.issue":
                    subst[ex["result"]["access_token"]] = body["access_token"]
                    subst[ex["result"]["refresh_token"]] = body["refresh_token"]
                elif name == "tokens.keys.rotate":
                    subst["k7"] = body["kid"]
        for name in REFUSED:
            if name in answered:
                failures.append(f"{name}: answered; remove it from REFUSED")
    finally:
        pbd.stop()
    print(f"{len(answered)} ops answered, "
          f"{len(REFUSED)} refused as expected")
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
