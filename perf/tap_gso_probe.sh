#!/bin/bash
# Probe (issue 13): TCP between two pod namespaces at pod MTU 1450 through a userspace wire
# between two taps (perf/tap_gso_probe.py), with virtio-net offloads (TSO4 + CSUM: the pods'
# stacks send and receive 64 KiB GSO frames) and without, against a plain veth pair (the
# kernel's best case). iperf3, 1 stream, DURATION seconds each.
#
# Usage: sudo perf/tap_gso_probe.sh [DURATION]   Environment: SL_PREFIX (default slp-)
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-5}
P=${SL_PREFIX:-slp-}
A=${P}tpA B=${P}tpB
cleanup() {
	[ -n "${fwd:-}" ] && kill "$fwd" 2>/dev/null && wait "$fwd" 2>/dev/null
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
}
trap cleanup EXIT
ns_up() { # ns_up NS DEV IP
	ip netns exec "$1" ip link set lo up
	ip netns exec "$1" ip link set "$2" mtu 1450 up
	ip netns exec "$1" ip addr add "$3"/24 dev "$2"
}
measure() { # measure LABEL
	ip netns exec "$B" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
	local s=$!
	for _ in $(seq 50); do ip netns exec "$B" ss -ltn | grep -q :5201 && break; sleep 0.1; done
	ip netns exec "$A" iperf3 -c 10.99.0.2 -p 5201 -t "$D" -J | python3 -c 'import json, sys
d = json.load(sys.stdin)
print("%s: %.2f Gbit/s" % (sys.argv[1], d["end"]["sum_received"]["bits_per_second"] / 1e9))' "$1"
	wait "$s" || true
}

# Kernel: a veth pair between the two namespaces.
ip netns add "$A"; ip netns add "$B"
ip link add "${P}vA" netns "$A" type veth peer "${P}vB" netns "$B"
ns_up "$A" "${P}vA" 10.99.0.1; ns_up "$B" "${P}vB" 10.99.0.2
measure "veth pair (kernel, GSO end to end)"
ip netns del "$A"; ip netns del "$B"

for off in 1 0; do
	ip netns add "$A"; ip netns add "$B"
	python3 perf/tap_gso_probe.py "${P}tA" "${P}tB" "$off" >"/tmp/${P}tap.out" 2>&1 &
	fwd=$!
	for _ in $(seq 50); do grep -q ready "/tmp/${P}tap.out" && break; sleep 0.1; done
	ip link set "${P}tA" netns "$A"; ip link set "${P}tB" netns "$B"
	ns_up "$A" "${P}tA" 10.99.0.1; ns_up "$B" "${P}tB" 10.99.0.2
	[ "$off" = 1 ] || for n in "$A" "$B"; do ip netns exec "$n" ethtool -K "${P}t${n: -1}" tx off >/dev/null 2>&1 || true; done
	measure "taps + Python wire, offloads $([ "$off" = 1 ] && echo 'TSO4+CSUM (GSO frames)' || echo off)"
	kill "$fwd"; wait "$fwd" || true; fwd=
	sed 's/^/  /' "/tmp/${P}tap.out" | grep -v ready
	rm -f "/tmp/${P}tap.out"
	ip netns del "$A"; ip netns del "$B"
done
