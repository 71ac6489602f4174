#!/usr/bin/env bash
# Validates an AsyncAPI 3.0 document (pbd's /asyncapi.json) with
# @asyncapi/parser from npm (validate.cjs). The parser is installed once into
# the build folder, as tests/openapi/lint.sh installs Redocly; only that first
# run needs the npm registry.
# usage: validate.sh BUILD_DIR DOCUMENT.json
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$1/npm-asyncapi
doc=$2
mkdir -p "$work"
if [[ ! -d "$work/node_modules/@asyncapi/parser" ]] || ! cmp -s "$here/package.json" "$work/package.json"; then
    command -v npm >/dev/null || { echo "npm is missing: run scripts/install-deps.sh" >&2; exit 1; }
    cp "$here/package.json" "$work/package.json"
    (cd "$work" && npm install --no-audit --no-fund --no-save --silent)
fi
cp "$here/validate.cjs" "$work/validate.cjs"
exec node "$work/validate.cjs" "$doc"
