#!/usr/bin/env bash
# Validates the OpenAPI 3.1 document `pbctl openapi` prints with Redocly CLI
# (https://redocly.com/docs/cli/commands/lint): the OpenAPI 3.1 schema, and the
# rules of tests/openapi/redocly.yaml (each example valid against its schema,
# parameters and $refs resolved, security schemes defined, ...).
# The validator is installed once from npm into the build folder (1.x: it runs
# on Debian 12's Node 18, which Redocly CLI 2 refuses).
# usage: lint.sh PBCTL BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pbctl=$1
work=$2/npm-openapi
mkdir -p "$work"
if [[ ! -x "$work/node_modules/.bin/redocly" ]] || ! cmp -s "$here/package.json" "$work/package.json"; then
    command -v npm >/dev/null || { echo "npm is missing: run scripts/install-deps.sh" >&2; exit 1; }
    cp "$here/package.json" "$work/package.json"
    (cd "$work" && npm install --no-audit --no-fund --no-save --silent)
fi
"$pbctl" openapi > "$work/pbd.json"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1
set +e
out=$("$work/node_modules/.bin/redocly" lint --config "$here/redocly.yaml" --format stylish \
    "$work/pbd.json" 2>&1)
rc=$?
set -e
# Everything but the box Redocly draws around its notice about Node's version.
printf '%s\n' "$out" | grep -v -e '║' -e '╔' -e '╚' || true
exit $rc
