#!/usr/bin/env python3
"""The "done when" of issue #23: a client generated from pbd's /openapi.json
with stock tools works, with no hand-written types.

1. openapi-typescript, openapi-fetch and typescript (package.json, exact
   versions) are installed once from npm into BUILD_DIR/npm-openapi-client.
2. A real pbd starts on a fresh database on a free loopback port; its bootstrap
   admin key (written beside the database) is the client's credential.
3. openapi-typescript generates pbd-api.d.ts from GET /openapi.json.
4. `tsc --noEmit --strict` checks client.ts against it; wrong_field.ts, which
   misspells a body field and an answer field, must be refused naming both.
5. client.ts, compiled, runs against the pbd (keys, tokens, states).

Every step has a timeout; pbd is stopped by its PID at the end, even on failure.

usage: run_client.py PBD BUILD_DIR
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from pbd_process import PbdFailed, PbdProcess  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = ["client.ts", "api.ts", "wrong_field.ts", "tsconfig.json", "tsconfig.wrong.json"]


class Failed(Exception):
    pass


def step(what, argv, cwd, timeout, env=None, expect_ok=True):
    print(f"== {what}", flush=True)
    try:
        run = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                             timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Failed(f"{what}: no answer within {timeout}s")
    out = (run.stdout + run.stderr).strip()
    if expect_ok and run.returncode != 0:
        raise Failed(f"{what}: exit {run.returncode}\n{out}")
    if out and expect_ok:
        print(out)
    return run.returncode, out


def install(work):
    """The npm packages, once per package.json (as tests/openapi/lint.sh does)."""
    wanted = open(os.path.join(HERE, "package.json")).read()
    have = os.path.join(work, "package.json")
    tools = [os.path.join(work, "node_modules", ".bin", t) for t in ("openapi-typescript", "tsc")]
    if all(os.path.exists(t) for t in tools) and os.path.exists(have) and open(have).read() == wanted:
        return
    if shutil.which("npm") is None:
        raise Failed("npm is missing: run scripts/install-deps.sh")
    with open(have, "w") as f:
        f.write(wanted)
    step("npm install", ["npm", "install", "--no-audit", "--no-fund", "--no-save", "--silent"],
         work, 600)


def start_pbd(pbd, run_dir):
    """A pbd on a fresh database; its url and bootstrap admin key."""
    try:
        proc = PbdProcess(pbd, ["--db", os.path.join(run_dir, "pb.db")],
                          {k: v for k, v in os.environ.items() if not k.startswith("PB_")},
                          os.path.join(run_dir, "pbd.log"), os.path.join(run_dir, "port"))
    except PbdFailed as e:
        raise Failed(str(e))
    proc.url = f"http://127.0.0.1:{proc.port}"
    proc.key = open(os.path.join(run_dir, "bootstrap-admin.key")).read().strip()
    return proc


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    pbd_path, build_dir = (os.path.abspath(a) for a in sys.argv[1:3])
    work = os.path.join(build_dir, "npm-openapi-client")
    run_dir = os.path.join(work, "run")
    os.makedirs(work, exist_ok=True)
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.rmtree(os.path.join(work, "dist"), ignore_errors=True)
    os.makedirs(run_dir)
    for name in SOURCES:
        shutil.copy(os.path.join(HERE, name), os.path.join(work, name))
    bin_dir = os.path.join(work, "node_modules", ".bin")
    pbd = None
    try:
        install(work)
        pbd = start_pbd(pbd_path, run_dir)
        step("openapi-typescript " + pbd.url + "/openapi.json",
             [os.path.join(bin_dir, "openapi-typescript"), pbd.url + "/openapi.json",
              "-o", "pbd-api.d.ts"], work, 120)
        step("tsc --noEmit --strict (client.ts)",
             [os.path.join(bin_dir, "tsc"), "--noEmit", "--strict", "-p", "tsconfig.json"],
             work, 180)
        rc, out = step("tsc --noEmit --strict (wrong_field.ts: must be refused)",
                       [os.path.join(bin_dir, "tsc"), "--noEmit", "--strict", "-p",
                        "tsconfig.wrong.json"], work, 180, expect_ok=False)
        if rc == 0 or "permisions" not in out or "secret_key" not in out:
            raise Failed("wrong_field.ts was not refused for both misspelt names:\n" + out)
        print("refused, naming 'permisions' and 'secret_key'")
        step("tsc (emit dist/client.js)", [os.path.join(bin_dir, "tsc"), "-p", "tsconfig.json"],
             work, 180)
        env = dict(os.environ, PBD_URL=pbd.url, PBD_ADMIN_KEY=pbd.key,
                   PBD_RUN_ID=str(os.getpid()))
        step("node dist/client.js against " + pbd.url, ["node", "dist/client.js"], work, 120,
             env=env)
        return 0
    except Failed as e:
        print("FAILED: " + str(e))
        if pbd is not None:
            print("pbd log (last lines):\n" + "".join(open(pbd.log_path).readlines()[-15:]))
        return 1
    finally:
        if pbd is not None:
            pbd.stop()


if __name__ == "__main__":
    sys.exit(main())
