#!/usr/bin/env python3
"""Runs README.md's shell examples in order, as a new user would, and fails on
the first command that fails, naming its README line.

What runs: every fenced block whose info string is `sh`. Blocks with another
info string (`text`, `nginx`, `yaml`, ...) are not shell and are not run. A
`sh` block preceded by the comment

    <!-- readme-test: skip (REASON) -->

is skipped (it needs Vault, PostgreSQL, Redis, another host, root, the network,
or is a build step such as `make run`); the test prints each skipped block and
its reason. An indented code block is refused, so that no shell example can
escape the test by its formatting, and so is a runnable example that passes a
credential as an argument (`--api-key`, curl `-H "Authorization: …"`), which
`ps` would show.

Where it runs: a fresh temporary folder that stands in for a clone of the
repository (`actions/` and `build/dev/bin/` are links to the real ones) and is
also $HOME, so pb's default database is ~/.local/share/pb/pb.db inside it; no
PB_* variable is inherited, and PB_CONFIG names an empty file (a machine's
/etc/pb/pb.yaml must not change the outcome). Before the first command the test starts the built
pbd there as `make run` does (its default database, the bootstrap admin key
written beside it), but on a free loopback port: `127.0.0.1:8700` in a command
is replaced by that address, the only change made to a command. Everything
else, such as PB_API_KEY for `--server`, comes from the README itself.

How: the commands (a logical line each: backslash continuations joined) run
in one bash, one after another, so variables carry over, under `set -uo
pipefail` with an ERR trap, so that an unset variable or any failing command of
a line (`a ; b`) fails it; stdin is /dev/null unless the command redirects it.
~/.curlrc adds `--fail-with-body`, so an HTTP error fails a curl example too.
Each command has COMMAND_TIMEOUT seconds. At the end, background jobs the
README started are killed by PID, then the shell's process group and pbd.

usage: run_readme.py README BIN_DIR [--keep-going]
  --keep-going: run every command and list every failure (for fixing the README)
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from pbd_process import PbdFailed, PbdProcess  # noqa: E402

# Seconds per command; PB_README_TIMEOUT changes it (the test of the timeout itself).
COMMAND_TIMEOUT = int(os.environ.get("PB_README_TIMEOUT", "60"))
PBD_START_TIMEOUT = 15
README_ADDRESS = "127.0.0.1:8700"
SKIP = re.compile(r"^<!--\s*readme-test:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->$")
DIRECTIVE = re.compile(r"<!--\s*readme-test:")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<info>[^`\s]*)")
# A credential as an argument shows in ps: the README must teach PB_API_KEY,
# `-` (stdin) and curl's -H @- instead.
CREDENTIAL_ARGUMENT = re.compile(
    r"--api-key\b|(?:-H|--header)\s*[\"']?(?:Authorization|X-API-Key)\s*:", re.IGNORECASE)


class ReadmeError(Exception):
    pass


class Command:
    def __init__(self, line, text):
        self.line = line
        self.text = text


def parse(path):
    """The README's runnable commands and its skipped blocks [(line, reason, text)]."""
    lines = open(path, encoding="utf-8").read().split("\n")
    commands, skipped = [], []
    pending_skip = None
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        m = SKIP.match(stripped)
        if m:
            pending_skip = (i + 1, m.group("reason"))
            i += 1
            continue
        if DIRECTIVE.search(stripped):
            raise ReadmeError(f"README line {i + 1}: unknown readme-test directive: {stripped}")
        fence = FENCE.match(line)
        if fence:
            info = fence.group("info")
            start = i + 1
            body = []
            i += 1
            while i < len(lines) and not lines[i].startswith(fence.group("fence")):
                body.append((i + 1, lines[i]))
                i += 1
            if i == len(lines):
                raise ReadmeError(f"README line {start}: a code block that never ends")
            i += 1
            if pending_skip:
                if info != "sh":
                    raise ReadmeError(f"README line {pending_skip[0]}: a skip marker before "
                                      f"a block that is not `sh` (line {start})")
                skipped.append((start, pending_skip[1], body))
                pending_skip = None
            elif info == "sh":
                for c in logical_commands(body):
                    if CREDENTIAL_ARGUMENT.search(c.text):
                        raise ReadmeError(f"README line {c.line}: a credential as an argument "
                                          "(ps shows it): use PB_API_KEY, - for stdin, or "
                                          "curl -H @-")
                    commands.append(c)
            continue
        if stripped and pending_skip:
            raise ReadmeError(f"README line {pending_skip[0]}: a skip marker not followed "
                              "by a code block")
        if line.startswith("    ") and line.strip() and i > 0 and not lines[i - 1].strip():
            raise ReadmeError(f"README line {i + 1}: an indented code block; fence it (```sh "
                              "for a shell example, which this test runs, or ```text)")
        i += 1
    return commands, skipped


def logical_commands(body):
    """One Command per logical line: comments and blank lines dropped, `\\` joined."""
    out = []
    text, first = "", None
    for number, line in body:
        if first is None:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            first = number
        text += line + "\n"
        if not line.endswith("\\"):
            out.append(Command(first, text))
            text, first = "", None
    if first is not None:
        raise ReadmeError(f"README line {first}: a continued line at the end of its block")
    return out


def clean_env(home, bin_dir, config):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PB_", "VAULT_", "XDG_", "CURL_")) and k not in ("HOME", "PWD")}
    env.update({
        "HOME": home,
        # An empty pb.yaml, so that the machine's /etc/pb/pb.yaml plays no part.
        "PB_CONFIG": config,
        "PATH": bin_dir + os.pathsep + env.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
    })
    return env


def make_clone(work, source_dir, bin_dir):
    """A folder laid out like a clone with a build, holding nothing else."""
    os.symlink(os.path.join(source_dir, "actions"), os.path.join(work, "actions"))
    os.makedirs(os.path.join(work, "build", "dev"))
    os.symlink(bin_dir, os.path.join(work, "build", "dev", "bin"))
    with open(os.path.join(work, ".curlrc"), "w") as f:
        f.write("--fail-with-body\n--max-time 20\n")


def start_pbd(bin_dir, work, env):
    """The built pbd as `make run` starts it, on a free loopback port."""
    state = os.path.join(work, ".readme-test")
    try:
        pbd = PbdProcess(os.path.join(bin_dir, "pbd"), [], env, os.path.join(state, "pbd.log"),
                         os.path.join(state, "pbd.port"), cwd=work, timeout=PBD_START_TIMEOUT,
                         new_session=True)
    except PbdFailed as e:
        raise ReadmeError(str(e))
    pbd.address = f"127.0.0.1:{pbd.port}"
    return pbd


def script_for(commands, state, keep_going):
    """One bash script running each command, recording its status in STATE/rc.N."""
    out = ["set -uo pipefail",
           "__pb_err=0",
           "trap '__pb_e=$?; [ \"$__pb_err\" = 0 ] && __pb_err=$__pb_e' ERR"]
    for n, c in enumerate(commands):
        cmd_file = os.path.join(state, f"cmd.{n}.sh")
        with open(cmd_file, "w") as f:
            f.write(c.text)
        out += [
            "__pb_err=0",
            f"{{ source {cmd_file}; }} </dev/null >{state}/out.{n} 2>{state}/err.{n}",
            "__pb_rc=$?",
            f"echo \"$__pb_rc $__pb_err\" >{state}/rc.{n}.tmp && mv {state}/rc.{n}.tmp {state}/rc.{n}",
        ]
        if not keep_going:
            out.append('[ "$__pb_rc" = 0 ] && [ "$__pb_err" = 0 ] || '
                       '{ kill $(jobs -p) 2>/dev/null; exit 1; }')
    out.append("kill $(jobs -p) 2>/dev/null")
    out.append("wait")
    out.append("exit 0")
    return "\n".join(out) + "\n"


def read(path):
    try:
        return open(path, errors="replace").read()
    except FileNotFoundError:
        return ""


def show_failure(c, n, state, why, pbd):
    print(f"\nFAILED: README line {c.line}: {why}")
    print("  command:  " + c.text.rstrip().replace("\n", "\n            "))
    for name in ("out", "err"):
        text = read(os.path.join(state, f"{name}.{n}")).rstrip()
        if text:
            label = "stdout" if name == "out" else "stderr"
            print(f"  {label}:\n    " + text[-3000:].replace("\n", "\n    "))
    print("  pbd log (last lines):\n    " + pbd.log_tail(15).rstrip().replace("\n", "\n    "))


def run(readme, bin_dir, keep_going):
    commands, skipped = parse(readme)
    if not commands:
        raise ReadmeError("no ```sh block found in " + readme)
    source_dir = os.path.dirname(os.path.abspath(readme))
    work = tempfile.mkdtemp(prefix="pb-readme.")
    state = os.path.join(work, ".readme-test")
    os.makedirs(state)
    make_clone(work, source_dir, bin_dir)
    config = os.path.join(state, "pb.yaml")
    open(config, "w").close()
    env = clean_env(work, bin_dir, config)
    for line, reason, _ in skipped:
        print(f"skipped: README line {line}: {reason}")
    pbd = None
    shell = None
    failures = 0
    try:
        pbd = start_pbd(bin_dir, work, env)
        replaced = 0
        for c in commands:
            replaced += c.text.count(README_ADDRESS)
            c.text = c.text.replace(README_ADDRESS, pbd.address)
        print(f"pbd on {pbd.address} (the README's {README_ADDRESS}, replaced in {replaced} "
              f"places); {len(commands)} commands, in {work}")
        script = os.path.join(state, "readme.sh")
        with open(script, "w") as f:
            f.write(script_for(commands, state, keep_going))
        shell = subprocess.Popen(["bash", "--noprofile", "--norc", script], cwd=work, env=env,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        for n, c in enumerate(commands):
            rc_file = os.path.join(state, f"rc.{n}")
            deadline = time.monotonic() + COMMAND_TIMEOUT
            while not os.path.exists(rc_file):
                if shell.poll() is not None:
                    show_failure(c, n, state, f"the shell ended (exit {shell.returncode})", pbd)
                    return 1
                if time.monotonic() > deadline:
                    show_failure(c, n, state, f"no answer within {COMMAND_TIMEOUT}s", pbd)
                    return 1
                time.sleep(0.01)
            rc, err = read(rc_file).split()
            if rc != "0" or err != "0":
                failures += 1
                why = f"exit status {rc}" if rc != "0" else f"a command of it failed ({err})"
                show_failure(c, n, state, why, pbd)
                if not keep_going:
                    return 1
            else:
                print(f"ok    README line {c.line}: {c.text.splitlines()[0]}")
        try:
            shell.wait(timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            print("the shell did not end after its last command")
            return 1
        if failures:
            print(f"\n{failures} of {len(commands)} commands failed")
            return 1
        print(f"\nall {len(commands)} commands succeeded; {len(skipped)} blocks skipped")
        return 0
    finally:
        if shell is not None and shell.poll() is None:
            # Our own shell's group (its background jobs included), by its id.
            os.killpg(shell.pid, signal.SIGKILL)
            shell.wait()
        if pbd is not None:
            pbd.stop()
        if failures == 0 and shell is not None and shell.returncode == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"(files left in {work})")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    keep_going = "--keep-going" in sys.argv[1:]
    if len(args) != 2:
        sys.exit(__doc__)
    readme, bin_dir = args
    try:
        sys.exit(run(readme, os.path.abspath(bin_dir), keep_going))
    except ReadmeError as e:
        print("FAILED: " + str(e))
        sys.exit(1)


if __name__ == "__main__":
    main()
