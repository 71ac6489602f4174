#!/usr/bin/env python3
"""Fails when an #include crosses pb's layer graph (the test architecture.layers).

usage: check_layers.py [SOURCE_DIR]

The graph is cmake/layers.txt (its header says the format); CMake builds each
layer of common/ from the same file. This script checks, under SOURCE_DIR:
  - every #include "common/<layer>/...", "cli/..." or "daemon/..." in common/,
    cli/ and daemon/: a file of layer A may include layer B when B is A or A
    uses B, directly or through the layers it uses;
  - every folder of common/ is a layer of the graph;
  - ARCHITECTURE.md draws the same graph (the block after its "layers:" marker).
Each violation is printed as FILE:LINE: the include, and the rule it breaks.
Exit status 0 when none, 1 otherwise.
"""

import pathlib
import re
import sys

LAYERS_FILE = "cmake/layers.txt"
PICTURE_FILE = "ARCHITECTURE.md"
PICTURE_MARKER = "<!-- layers:"
PROGRAMS = ("cli", "daemon")  # layers that are top-level folders, not common/<layer>
SOURCE_SUFFIXES = {".hpp", ".cpp", ".h", ".cc", ".ipp"}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]((?:common/([a-z_0-9]+)|(cli|daemon))/[^>"]*)[>"]')


class GraphError(Exception):
    pass


def read_graph(path):
    """The layers in file order, each with the layers it names."""
    graph = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([a-z_0-9]+):\s*([a-z_0-9\s]*)", line)
        if not m:
            raise GraphError(f'{LAYERS_FILE}:{number}: expected "<layer>: <layers it uses>", '
                             f'got "{line}"')
        layer, uses = m.group(1), m.group(2).split()
        if layer in graph:
            raise GraphError(f"{LAYERS_FILE}:{number}: {layer} is listed twice")
        for used in uses:
            if used not in graph:
                raise GraphError(f"{LAYERS_FILE}:{number}: {layer} uses {used}, which is not a "
                                 f"layer above it (the graph must have no cycle)")
        graph[layer] = uses
    return graph


def reachable(graph):
    """For each layer, every layer it may include (itself and all it uses)."""
    out = {}
    for layer, uses in graph.items():  # file order: what a layer uses is done already
        allowed = {layer}
        for used in uses:
            allowed |= out[used]
        out[layer] = allowed
    return out


def layer_of(relative):
    """The layer a file belongs to (None: not checked), or a folder of common/."""
    parts = relative.parts
    if parts[0] == "common" and len(parts) > 2:
        return parts[1]
    if parts[0] in PROGRAMS:
        return parts[0]
    return None


def folder_of(layer):
    return f"{layer}/" if layer in PROGRAMS else f"common/{layer}/"


def check_includes(root, graph, allowed):
    problems = []
    unknown = set()
    files = []
    for top in ("common",) + PROGRAMS:
        if (root / top).is_dir():
            files += [p for p in (root / top).rglob("*") if p.suffix in SOURCE_SUFFIXES]
    for path in sorted(files):
        relative = path.relative_to(root)
        layer = layer_of(relative)
        if layer is None:
            continue
        if layer not in graph:
            if layer not in unknown:
                unknown.add(layer)
                problems.append(f"{relative}: common/{layer}/ is not a layer of {LAYERS_FILE}: "
                                f"add it there with the layers it uses")
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(2) or m.group(3)
            if target in allowed[layer]:
                continue
            uses = ", ".join(graph[layer]) or "nothing"
            why = (f"{target} is not a layer of {LAYERS_FILE}" if target not in graph else
                   f"{layer} may not include {target} ({folder_of(layer)} uses {uses} and what "
                   f"they use; {LAYERS_FILE})")
            problems.append(f'{relative}:{number}: #include "{m.group(1)}": {why}')
    return problems


def read_picture(path):
    """The graph ARCHITECTURE.md draws: "<layer> → <a, b>" lines in the fenced
    block after the marker ("(nothing)" for none)."""
    lines = path.read_text().splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith(PICTURE_MARKER)), None)
    if start is None:
        raise GraphError(f"{PICTURE_FILE}: no graph (a fenced block after a line starting "
                         f'"{PICTURE_MARKER}")')
    i = start + 1
    while i < len(lines) and not lines[i].startswith("```"):
        i += 1
    graph = {}
    for line in lines[i + 1:]:
        if line.startswith("```"):
            break
        m = re.fullmatch(r"\s*([a-z_0-9]+)\s+→\s+(.*?)\s*", line)
        if not m:
            raise GraphError(f'{PICTURE_FILE}: expected "<layer> → <layers it uses>", got "{line}"')
        uses = m.group(2)
        graph[m.group(1)] = [] if uses == "(nothing)" else [u.strip() for u in uses.split(",")]
    return graph


def check_picture(root, graph):
    picture = read_picture(root / PICTURE_FILE)
    problems = []
    for layer in graph.keys() | picture.keys():
        if layer not in picture:
            problems.append(f"{PICTURE_FILE}: the graph lacks the layer {layer} of {LAYERS_FILE}")
        elif layer not in graph:
            problems.append(f"{PICTURE_FILE}: the graph draws {layer}, not a layer of "
                            f"{LAYERS_FILE}")
        else:
            for used in sorted(set(graph[layer]) - set(picture[layer])):
                problems.append(f"{PICTURE_FILE}: the graph lacks {layer} → {used} "
                                f"({LAYERS_FILE} has it)")
            for used in sorted(set(picture[layer]) - set(graph[layer])):
                problems.append(f"{PICTURE_FILE}: the graph draws {layer} → {used}, which "
                                f"{LAYERS_FILE} does not have")
    return sorted(problems)


def main(argv):
    root = pathlib.Path(argv[1] if len(argv) > 1 else pathlib.Path(__file__).parent.parent)
    problems = []
    try:
        graph = read_graph(root / LAYERS_FILE)
        problems = check_includes(root, graph, reachable(graph))
        problems += check_picture(root, graph)
    except GraphError as e:
        problems.append(str(e))
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layer violation(s): fix the include, or change the graph in "
              f"{LAYERS_FILE} and ARCHITECTURE.md together")
        return 1
    print(f"layers: {len(graph)} layers, every include follows {LAYERS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
