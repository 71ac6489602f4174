"""What the Python tests share: a pbd they start on a free loopback port and
stop by its PID, and the checking of answers against the API documents'
schemas (python3-jsonschema, with date-time held to RFC 3339)."""

import os
import re
import signal
import subprocess
import time

from jsonschema import FormatChecker


class PbdFailed(Exception):
    """pbd did not start; the message holds the end of its log."""


class PbdProcess:
    """`pbd ARGS --listen 127.0.0.1:0 --port-file …`, started and waited for
    (bounded): .port once it listens; stop() ends it by its PID."""

    def __init__(self, pbd, args, env, log_path, port_file, cwd=None, timeout=15,
                 new_session=False):
        self.log_path = log_path
        self.port_file = port_file
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [pbd] + list(args) + ["--listen", "127.0.0.1:0", "--port-file", port_file,
                                  "--threads", "2"],
            cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=new_session)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(port_file) and open(port_file).read().strip():
                self.port = int(open(port_file).read().strip())
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise PbdFailed("pbd did not start:\n" + self.log_tail())

    def log_tail(self, n=30):
        if not self.log.closed:
            self.log.flush()
        return "".join(open(self.log_path, errors="replace").readlines()[-n:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
FORMATS = FormatChecker()


@FORMATS.checks("date-time")
def is_rfc3339(value):
    return not isinstance(value, str) or RFC3339.match(value) is not None


def inline(schema, components):
    """The schema with every #/components/schemas/ reference replaced (the
    reference's sibling keywords kept)."""
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
