#!/usr/bin/env bash
# Writes the generated documentation into the source tree (`make docs`):
# completions/ (bash, zsh, fish) and man/ (pbctl.1, pbd.8, pb.yaml.5), all made
# by the programs themselves from their commands, the op table and the config
# keys. tests/cli/docs_test.cpp fails when the copies here are stale.
set -euo pipefail
bin=${1:?usage: gen-docs.sh BIN_DIR [SOURCE_DIR]}
src=${2:-$(cd "$(dirname "$0")/.." && pwd)}
mkdir -p "$src/completions" "$src/man"
"$bin/pbctl" completion bash >"$src/completions/pbctl.bash"
"$bin/pbctl" completion zsh >"$src/completions/_pbctl"
"$bin/pbctl" completion fish >"$src/completions/pbctl.fish"
"$bin/pbctl" __man pbctl.1 >"$src/man/pbctl.1"
"$bin/pbctl" __man pb.yaml.5 >"$src/man/pb.yaml.5"
"$bin/pbd" --man >"$src/man/pbd.8"
