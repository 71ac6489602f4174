#!/usr/bin/env bash
# Installs pb's build and test dependencies from Debian 12's packages.
# Idempotent: packages already present are skipped, and apt is not touched at all
# when nothing is missing.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config ccache clang-format
    libssl-dev libsqlite3-dev sqlite3 libpqxx-dev libpq-dev postgresql nlohmann-json3-dev libcli11-dev libyaml-cpp-dev
    libspdlog-dev libfmt-dev libcpp-httplib-dev libboost-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    curl jq python3-jwt python3-cryptography python3-websockets python3-jsonschema nginx-light
    crowdsec-custom-bouncer nftables iproute2
    redis-server redis-tools libhiredis-dev
    zsh fish groff-base openssl lintian
)
# crowdsec-firewall-bouncer is not installed: its package enables a service that
# edits the machine's firewall. Its test unpacks the .deb into the build folder
# and runs it in a network namespace of its own (tests/crowdsec/firewall_bouncer.sh).
# node and npm: the openapi.lint test installs its OpenAPI validator from npm, the
# openapi.client test openapi-typescript, openapi-fetch and typescript (Node 18
# or later), and the benchmark its JWT libraries, unless a node is already installed.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
if [[ "${1:-}" == "--fuzz" ]]; then
    # make fuzz: clang and its libFuzzer runtime (the fuzz preset names clang++-14).
    packages+=(clang-14 libclang-rt-14-dev)
fi
if [[ "${1:-}" == "--bench" ]]; then
    packages+=(wrk hyperfine valgrind)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
