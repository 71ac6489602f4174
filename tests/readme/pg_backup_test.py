#!/usr/bin/env python3
"""Runs README.md's PostgreSQL backup and restore examples (the two `sh`
blocks whose skip marker names this test) against the test PostgreSQL server,
in a database of their own: a key made before the backup is there after the
restore, and one made after the backup is gone.

The README's server URL (postgresql://pb@db.internal:5432/pb) is replaced by
the test database's, the only change made to a command. The commands run in
one bash under `set -euo pipefail`: the first block, whose first command sets
PB_DB, then `pbctl keys create --owner before` after that line, the rest of
the block (pg_dump), `pbctl keys create --owner after`, then the second block
(pg_restore, pbctl db status).

usage: pg_backup_test.py README BIN_DIR PG_URL_FILE
"""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_readme import logical_commands, parse  # noqa: E402

README_URL = "postgresql://pb@db.internal:5432/pb"


def main():
    readme, bin_dir, url_file = sys.argv[1:4]
    bin_dir = os.path.abspath(bin_dir)
    server = os.environ.get("PB_TEST_PG_URL") or open(url_file).read().strip()
    _, skipped = parse(readme)
    blocks = [[c.text for c in logical_commands(body)]
              for _, reason, body in skipped if "pg_backup_test.py" in reason]
    if len(blocks) != 2:
        sys.exit(f"expected the README's backup and restore blocks, found {len(blocks)}")
    backup, restore = blocks
    if not backup or not backup[0].startswith("export PB_DB=" + README_URL):
        sys.exit("the backup block must start by setting PB_DB to " + README_URL)
    if not any("pg_dump" in c for c in backup) or not any("pg_restore" in c for c in restore):
        sys.exit("the blocks must run pg_dump and pg_restore")

    name = f"pb_readme_backup_{os.getpid()}"
    target = server.rsplit("/", 1)[0] + "/" + name
    psql = ["psql", "-q", "-v", "ON_ERROR_STOP=1", server, "-c"]
    subprocess.run(psql + [f"CREATE DATABASE {name}"], check=True)
    try:
        with tempfile.TemporaryDirectory() as work:
            open(os.path.join(work, "pb.yaml"), "w").close()
            env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": work,
                   "PB_CONFIG": os.path.join(work, "pb.yaml"),
                   "PB_MASTER_KEY_FILE": os.path.join(work, "master.key")}
            subst = [c.replace(README_URL, target) for c in backup]
            script = ["set -euo pipefail", subst[0],
                      "pbctl keys create --owner before -q >/dev/null", *subst[1:],
                      "pbctl keys create --owner after -q >/dev/null",
                      *[c.replace(README_URL, target) for c in restore],
                      "pbctl keys list -o json > keys.json"]
            run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env,
                                 capture_output=True, text=True, timeout=120)
            if run.returncode != 0:
                sys.exit(f"the README's commands failed ({run.returncode}):\n"
                         f"{run.stdout}\n{run.stderr}")
            owners = sorted(k["owner"] for k in json.load(open(os.path.join(work, "keys.json")))["keys"])
            if owners != ["before"]:
                sys.exit(f"after the restore the keys are {owners}, expected ['before']")
            print("README backup and restore on PostgreSQL: ok")
    finally:
        subprocess.run(psql + [f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)


if __name__ == "__main__":
    main()
