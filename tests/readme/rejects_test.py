#!/usr/bin/env python3
"""The README runner fails where a README step fails, naming its line: each case
is a small README given to run_readme.py, with the exit status and the line of
output it must give. (A runner that passed everything would hide a broken
README; these cases pin that it cannot.)

usage: rejects_test.py CASE BIN_DIR
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# case: (README text, expected exit status, a line the output must hold, extra env)
CASES = {
    # A command that exits non-zero: the issue's `--if-version 3` on version 2.
    "failing_command": (
        "# t\n\n```sh\npbctl states register s1 --type user\n"
        "pbctl states update s1 --data '{}' --if-version 3\n```\n",
        1, "FAILED: README line 5: exit status 5", {}),
    # An unset variable: the issue's `tokens refresh - <<<\"$R\"`.
    "unset_variable": (
        "# t\n\n```sh\npbctl tokens refresh - <<<\"$R\"\n```\n",
        1, "R: unbound variable", {}),
    # The first command of `a ; b` failing fails the line even though b succeeds.
    "failing_first_of_two": (
        "# t\n\n```sh\necho one\nfalse ; echo two\n```\n",
        1, "FAILED: README line 5: a command of it failed", {}),
    # An HTTP error fails curl (the README's address is pbd's; no credential: 401).
    "http_error": (
        "# t\n\n```sh\ncurl -s http://127.0.0.1:8700/v1/keys\n```\n",
        1, "FAILED: README line 4: exit status 22", {}),
    # A command that never ends is stopped after the timeout.
    "command_timeout": (
        "# t\n\n```sh\npbctl events tail\n```\n",
        1, "FAILED: README line 4: no answer within 2s", {"PB_README_TIMEOUT": "2"}),
    # A shell example outside a fence would escape the test: refused.
    "indented_block": (
        "# t\n\nText.\n\n    pbctl keys list\n\n```sh\necho ok\n```\n",
        1, "FAILED: README line 5: an indented code block", {}),
    # A misspelt marker is refused, not ignored.
    "unknown_directive": (
        "# t\n\n<!-- readme-test: skipp (x) -->\n```sh\nfalse\n```\n",
        1, "unknown readme-test directive", {}),
    # An example that puts a credential where ps shows it is refused.
    "credential_argument": (
        "# t\n\n```sh\nADMIN=x\ncurl -s -H \"Authorization: Bearer $ADMIN\" "
        "http://127.0.0.1:8700/v1/keys\n```\n",
        1, "FAILED: README line 5: a credential as an argument", {}),
    # A marked block is skipped and said so; the rest runs.
    "skips_marked_block": (
        "# t\n\n<!-- readme-test: skip (needs Vault) -->\n```sh\nfalse\n```\n\n"
        "```sh\npbctl version\n```\n",
        0, "skipped: README line 4: needs Vault", {}),
}


def main():
    case, bin_dir = sys.argv[1:3]
    text, status, expected, env_extra = CASES[case]
    with tempfile.TemporaryDirectory(prefix="pb-readme-rejects.") as tmp:
        readme = os.path.join(tmp, "README.md")
        with open(readme, "w") as f:
            f.write(text)
        os.symlink(os.path.join(HERE, "..", "..", "actions"), os.path.join(tmp, "actions"))
        env = dict(os.environ, TMPDIR=tmp, **env_extra)
        run = subprocess.run([sys.executable, os.path.join(HERE, "run_readme.py"), readme,
                              bin_dir], env=env, capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    if run.returncode != status or expected not in out:
        print(out)
        sys.exit(f"{case}: expected exit {status} and {expected!r}; got exit {run.returncode}")
    print(f"{case}: exit {status}, {expected!r}")


if __name__ == "__main__":
    main()
