#!/usr/bin/env bash
# Debian's crowdsec-firewall-bouncer (nftables mode) enforcing pb's bans, in a
# network namespace of its own (unshare -n): its tables live and die there and
# the machine's firewall is never touched. pbd listens on that namespace's
# loopback. Pins, through the kernel's own sets (nft):
#   - a startup pull puts pb's IPv4 and IPv6 address bans in the bouncer's sets,
#     and a range ban (0.0.25's sets hold addresses: the range's first one);
#   - a ban removed with pbctl leaves the set, a new one enters it, and one
#     that expires leaves it (the bouncer gives each element the time left);
#   - a ban added while pbd is down is there once pbd is back (the bouncer resyncs).
# The bouncer is unpacked from Debian's .deb into the build folder, never
# installed: its package would enable a service that edits the real firewall.
#   tests/crowdsec/firewall_bouncer.sh BIN_DIR WORK_DIR
# Exit 77 (skipped) only when this machine cannot make a network namespace.
set -euo pipefail
bin=$(realpath "$1")
work=$(realpath -m "$2")

if [[ -z ${PB_IN_NETNS:-} ]]; then
    if [[ $(id -u) -ne 0 ]] || ! unshare -n true 2>/dev/null; then
        echo "SKIP: needs root and unshare -n (a network namespace of its own)"
        exit 77
    fi
    command -v nft >/dev/null || { echo "nft is missing: run scripts/install-deps.sh" >&2; exit 1; }
    fwb="$work/deb/usr/bin/crowdsec-firewall-bouncer"
    if [[ ! -x $fwb ]]; then
        mkdir -p "$work/deb"
        (cd "$work" && apt-get download -qq crowdsec-firewall-bouncer >/dev/null 2>&1 &&
            dpkg-deb -x crowdsec-firewall-bouncer_*.deb deb)
    fi
    PB_IN_NETNS=1 exec unshare -n "$0" "$@"
fi

# In the namespace from here on.
ip link set lo up
run="$work/run"
rm -rf "$run" && mkdir -p "$run"
db="$run/pb.db"
url="http://127.0.0.1:8080"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    echo "--- nft ruleset:" >&2; nft list ruleset >&2 || true
    echo "--- bouncer log:" >&2; tail -20 "$run/bouncer.log" >&2 || true
    exit 1
}
pbctl() { PB_DB="$db" "$bin/pbctl" "$@"; }
ban() { pbctl bans "$@" >/dev/null; }

start_pbd() {
    PB_LIMITS_IP_RATE=off "$bin/pbd" --db "$db" --listen 127.0.0.1:8080 --log-level warn \
        >>"$run/pbd.log" 2>&1 &
    pbd=$!
    pids+=("$pbd")
    for _ in $(seq 100); do
        curl -fsS -o /dev/null "$url/ready" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "pbd did not start"
}

# The elements of one of the bouncer's sets (family ip or ip6), one per line.
elements() {
    nft -j list set "$1" "$2" "$3" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for item in json.load(sys.stdin)["nftables"]:
    for e in item.get("set", {}).get("elem", []):
        v = e["elem"]["val"] if isinstance(e, dict) and "elem" in e else e
        print(v["prefix"]["addr"] if isinstance(v, dict) else v)' 2>/dev/null || true
}
v4() { elements ip crowdsec crowdsec-blacklists; }
v6() { elements ip6 crowdsec6 crowdsec6-blacklists; }

# Waits (bounded: 15 s, the bouncer polls every second) until `$1` holds.
until_true() {
    for _ in $(seq 150); do
        eval "$1" && return 0
        sleep 0.1
    done
    fail "never: $1"
}
has() { "$1" | grep -qx "$2"; }

ban add 203.0.113.7 --reason "ssh brute"
ban add 2001:db8::7 --reason scan
ban add 10.9.0.0/16 --reason "bad net"
ban add user:mallory
start_pbd
key=$(pbctl -o json bouncers add fw --url "$url/" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
umask 077
cat >"$run/bouncer.yaml" <<YAML
mode: nftables
update_frequency: 1s
daemonize: false
log_mode: stdout
log_level: info
api_url: $url/
api_key: $key
disable_ipv6: false
deny_action: DROP
supported_decisions_types:
  - ban
blacklists_ipv4: crowdsec-blacklists
blacklists_ipv6: crowdsec6-blacklists
nftables:
  ipv4:
    enabled: true
    set-only: false
    table: crowdsec
    chain: crowdsec-chain
  ipv6:
    enabled: true
    set-only: false
    table: crowdsec6
    chain: crowdsec6-chain
prometheus:
  enabled: false
YAML
"$work/deb/usr/bin/crowdsec-firewall-bouncer" -c "$run/bouncer.yaml" >"$run/bouncer.log" 2>&1 &
pids+=($!)

until_true 'has v4 203.0.113.7 && has v6 2001:db8::7 && has v4 10.9.0.0'
echo "startup pull: the address bans and the range (as its first address) are in the sets"

ban remove 203.0.113.7
ban add 198.51.100.9 --for 4s
until_true '! has v4 203.0.113.7 && has v4 198.51.100.9'
echo "delta pulls: a removed ban left the set, a new one entered it"
until_true '! has v4 198.51.100.9'
echo "an expired ban left the set"

kill "$pbd"
wait "$pbd" 2>/dev/null || true
ban add 192.0.2.44
start_pbd
until_true 'has v4 192.0.2.44'
has v6 2001:db8::7 || fail "the IPv6 ban was lost across pbd's restart"
echo "after pbd restarted, the bouncer has the ban added while it was down"
