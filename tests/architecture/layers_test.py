#!/usr/bin/env python3
"""Proves scripts/check_layers.py fails on a planted violation.

usage: layers_test.py CASE SOURCE_DIR

Copies what the check reads (cmake/layers.txt, ARCHITECTURE.md, common/, cli/,
daemon/) to a temporary folder, runs the check on the untouched copy (it must
pass, or the plant would prove nothing), plants one violation (CASE), runs the
check again and expects exit status 1 with a message naming the file, the
include and the rule it breaks.
"""

import pathlib
import shutil
import subprocess
import sys
import tempfile


def plant_line(path, line):
    """Adds `line` after the file's first line; returns its line number (2)."""
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:1] + [line + "\n"] + lines[1:]))
    return 2


def domain_includes_runtime(root):
    n = plant_line(root / "common/keys/ops.cpp", '#include "common/runtime/services.hpp"')
    return [f'common/keys/ops.cpp:{n}: #include "common/runtime/services.hpp"',
            "keys may not include runtime"]


def actions_include_runtime(root):
    n = plant_line(root / "common/actions/runner.cpp", '#include "common/runtime/dispatcher.hpp"')
    return [f'common/actions/runner.cpp:{n}: #include "common/runtime/dispatcher.hpp"',
            "actions may not include runtime"]


def core_includes_store(root):
    n = plant_line(root / "common/core/config.hpp", '#include "common/store/store.hpp"')
    return [f'common/core/config.hpp:{n}: #include "common/store/store.hpp"',
            "core may not include store"]


def cli_includes_daemon(root):
    n = plant_line(root / "cli/app.cpp", '#include "daemon/router.hpp"')
    return [f'cli/app.cpp:{n}: #include "daemon/router.hpp"', "cli may not include daemon"]


def unlisted_folder(root):
    (root / "common/widgets").mkdir()
    (root / "common/widgets/widget.cpp").write_text('#include "common/core/error.hpp"\n')
    return ["common/widgets/widget.cpp", "common/widgets/ is not a layer of cmake/layers.txt"]


def cycle(root):
    layers = root / "cmake/layers.txt"
    layers.write_text(layers.read_text().replace("\ncore:\n", "\ncore: runtime\n"))
    return ["cmake/layers.txt", "core uses runtime, which is not a layer above it"]


def drifted_picture(root):
    picture = root / "ARCHITECTURE.md"
    text = picture.read_text()
    drifted = text.replace("keys      → ops, events, redis, limits", "keys      → ops, events, redis")
    assert drifted != text, "ARCHITECTURE.md has no 'keys → ops, events, redis, limits' line"
    picture.write_text(drifted)
    return ["ARCHITECTURE.md", "lacks keys → limits"]


CASES = {f.__name__: f for f in (domain_includes_runtime, actions_include_runtime,
                                 core_includes_store, cli_includes_daemon, unlisted_folder,
                                 cycle, drifted_picture)}


def check(source, root):
    r = subprocess.run([sys.executable, str(source / "scripts/check_layers.py"), str(root)],
                       capture_output=True, text=True, check=False)
    return r.returncode, r.stdout + r.stderr


def main(argv):
    case, source = CASES[argv[1]], pathlib.Path(argv[2])
    with tempfile.TemporaryDirectory(prefix="pb-layers-") as tmp:
        root = pathlib.Path(tmp)
        (root / "cmake").mkdir()
        shutil.copy(source / "cmake/layers.txt", root / "cmake")
        shutil.copy(source / "ARCHITECTURE.md", root)
        for folder in ("common", "cli", "daemon"):
            shutil.copytree(source / folder, root / folder)
        status, output = check(source, root)
        if status != 0:
            print(f"the untouched copy fails the check:\n{output}")
            return 1
        expected = case(root)
        status, output = check(source, root)
        print(output)
        if status != 1:
            print(f"FAIL: {argv[1]}: the check exited {status}, expected 1")
            return 1
        missing = [e for e in expected if e not in output]
        if missing:
            print(f"FAIL: {argv[1]}: the message lacks {missing}")
            return 1
    print(f"ok: {argv[1]} is refused")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
