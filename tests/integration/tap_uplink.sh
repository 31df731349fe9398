#!/usr/bin/env bash
# Tap uplink with UDP tunnel GSO (issue 13, drivers/sl_tap.h "Tap uplink"): both nodes'
# uplink is a tap sluiced creates (uplink.kind "tap"), bridged in the node namespace with the
# underlay veth; the pods are tap pods. Checks: 100 MB of random data over TCP, sha256
# compared, across VXLAN both directions; the VXLAN frames crossed the underlay whole (the
# sending uplink's average frame and the receiving uplink's both above the MTU; ip4-segment
# cut nothing on either node); no tap/offload/uplink drops; malformed tunnel GSO frames from
# the underlay (offsets or lengths that do not describe the frame, a frame not for our VTEP)
# dropped as uplink-bad-tunnel-gso; with uplink.tunnel_gso false (the fallback an older
# kernel gets) the same traffic passes in MTU-sized frames, cut once by ip4-segment, and the
# log says why throughput is lower; with two workers per node the uplink tap and the pods'
# taps have a queue per worker and 32 flows arrive on both (show queues), content checked
# as above.
#
# Usage (as root, from the repository root): SL_BUILD=build bash tests/integration/tap_uplink.sh
# Environment: SL_BUILD, SL_PREFIX (names ${SL_PREFIX}tu-..., default sl), SL_RUN, SL_EAL_MEM,
# SL_TU_MB (megabytes per transfer, default 100). Exit 77 (skipped): no /dev/net/tun, or a
# kernel without UDP tunnel GSO for taps (perf/tap_tunnel_probe.py).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SL_BUILD=${SL_BUILD:-build}
case $SL_BUILD in
/*) ;;
*) SL_BUILD=$ROOT/$SL_BUILD ;;
esac
export SL_BUILD
export SL_PREFIX=${SL_PREFIX:-sl}tu-
export SL_RUN=${SL_RUN:-/tmp/${SL_PREFIX}run}
export SL_EAL_MEM=${SL_EAL_MEM-"--no-huge -m 512"}
export SL_VNI=1 SL_POD_MTU=1450
MB=${SL_TU_MB:-100}
cd "$ROOT" || exit 2
source "$ROOT/scripts/lib/topo.sh"
source "$ROOT/scripts/lib/tappod.sh"
source "$ROOT/scripts/lib/check.sh"
source "$ROOT/scripts/lib/bulk.sh"
[ "$(id -u)" = 0 ] || { echo "tap_uplink.sh: must run as root" >&2; exit 2; }
[ -c /dev/net/tun ] || { echo "tap_uplink.sh: no /dev/net/tun" >&2; exit 77; }
for t in ip nc ss python3 sha256sum timeout; do
	command -v "$t" >/dev/null || { echo "tap_uplink.sh: missing tool: $t" >&2; exit 2; }
done
python3 "$ROOT/perf/tap_tunnel_probe.py" >/dev/null ||
	{ echo "tap_uplink.sh: this kernel's tap lacks UDP tunnel GSO (6.17+)" >&2; exit 77; }
T=$(mktemp -d "/tmp/${SL_PREFIX}XXXX")
mkdir -p "$SL_RUN"
cleanup() { topo_down; rm -rf "$T" "$SL_RUN"; }
trap cleanup EXIT
DATA=$T/data.bin
head -c $((MB * 1024 * 1024)) /dev/urandom >"$DATA"
WANT=$(sha256sum <"$DATA" | cut -d' ' -f1)

# start TUNNEL_GSO: both nodes with tap pods and a tap uplink, bridged.
start() {
	for n in 1 2; do
		tap_pods_veth_del "$n"
		node_config "$n" >"$SL_RUN/node$n.json" || return 1
		tap_pods_config "$n" "$SL_RUN/node$n.json" || return 1
		tap_uplink_config "$n" "$SL_RUN/node$n.json" "$1" || return 1
		tap_uplink_prepare "$n" || return 1
		node_start "$n" "$SL_RUN/node$n.json" || return 1
		tap_pods_attach "$n" || return 1
		tap_uplink_bridge "$n" || return 1
	done
	wait_vtep 1 && wait_vtep 2
}

logged() { grep -q "$2" "$SL_RUN/node$1.log" || { cat "$SL_RUN/node$1.log"; return 1; }; }

topo_up
# --- UDP tunnel GSO on (the default)
check "tap uplink: both nodes start, uplink taps bridged with the underlay" start true
check "tap uplink: node1 says tunnel GSO is on" logged 1 "UDP tunnel GSO on"
# Each node's neighbour entry for the other holds the other's sluice MAC (not a kernel's).
peer_mac() {
	local want got
	want=$(port_field "$2" uplink mac) || return 1
	got=$(ctl "$1" -o json show neighbors | python3 -c 'import json, sys
print([x["mac"] for x in json.load(sys.stdin) if x["ip"] == sys.argv[1]][0])' "198.18.0.$2") || return 1
	echo "node$1 neighbour 198.18.0.$2: $got, node$2 uplink: $want"
	[ "${got,,}" = "${want,,}" ]
}
check "tap uplink: idle workers wait on their taps (taps and the host port only)" idle_wait 1 taps
check "node1 resolved node2's VTEP to node2's uplink MAC" peer_mac 1 2
check "node2 resolved node1's VTEP to node1's uplink MAC" peer_mac 2 1
check "across VXLAN p1a -> p2a, $MB MB, sha256" xfer p1a p2a 10.244.2.2 7001
check "across VXLAN p2a -> p1a, $MB MB, sha256" xfer p2a p1a 10.244.1.2 7002
check "node1 sent VXLAN frames whole" gt "$(port_avg 1 uplink tx)" 1514 "node1 uplink tx average"
check "node2 received them whole" gt "$(port_avg 2 uplink rx)" 1514 "node2 uplink rx average"
check "node1: ip4-segment cut nothing" le "$(graph_packets 1 ip4-segment)" 0 "node1 ip4-segment packets"
check "node2: ip4-segment cut nothing" le "$(graph_packets 2 ip4-segment)" 0 "node2 ip4-segment packets"
check "node1: no tap/offload/uplink drops, tx-full under 1 %" drops 1 tap- offload- uplink-
check "node2: no tap/offload/uplink drops, tx-full under 1 %" drops 2 tap- offload- uplink-
bad() {
	local before sent after mac
	before=$(drop_count 1 uplink-bad-tunnel-gso)
	mac=$(port_field 1 uplink mac) || return 1
	sent=$(in_ns ul python3 "$ROOT/tests/integration/tap_uplink_bad.py" br0 "$mac" 198.18.0.2 \
		198.18.0.1 4789) || return 1
	[ "$sent" -gt 0 ] || { echo "the kernel refused every malformed frame"; return 1; }
	for _ in $(seq 20); do
		after=$(drop_count 1 uplink-bad-tunnel-gso)
		[ $((after - before)) -ge "$sent" ] && break
		sleep 0.1
	done
	echo "sent $sent malformed tunnel GSO frames to $mac; uplink-bad-tunnel-gso $before -> $after"
	[ $((after - before)) -eq "$sent" ]
}
check "malformed tunnel GSO frames from the underlay dropped as uplink-bad-tunnel-gso" bad
check "tunnel GSO: node1 stops cleanly" node_stop 1
check "tunnel GSO: node2 stops cleanly" node_stop 2

# --- two workers per node: the uplink tap and the pods' taps have a queue per worker
# (IFF_MULTI_QUEUE), each worker receives and sends on its own; the kernel spreads flows
# over the queues by hash.
topo_up
two_workers() {
	SL_LCORES_1="--lcores 0@0,1@1,2@0 --main-lcore 0" \
		SL_LCORES_2="--lcores 0@1,1@0,2@1 --main-lcore 0" start true
}
check "two workers: both nodes start with two uplink queues" two_workers
check "two workers: both idle workers wait on their taps" idle_wait 2 taps
check "two workers: across VXLAN p1a -> p2a, $MB MB, sha256" xfer p1a p2a 10.244.2.2 7005
check "two workers: across VXLAN p2a -> p1a, $MB MB, sha256" xfer p2a p1a 10.244.1.2 7006
# 32 flows (outer source ports from each inner flow's hash): the chance that the kernel puts
# all on one of two queues is 2^-31.
spread() {
	local spid
	ip netns exec "$(ns p2a)" timeout 30 iperf3 -s -1 -p 7007 >/dev/null 2>&1 &
	spid=$!
	wait_listen p2a 7007 || return 1
	in_ns p1a timeout 30 iperf3 -c 10.244.2.2 -p 7007 -P 32 -n 64M >/dev/null || { kill "$spid"; return 1; }
	wait "$spid"
	local out n port
	# The uplink on node 2 (the flows' data), the pods' taps (a queue per worker too): p1a's
	# data on node 1, p2a's ACKs on node 2.
	for n in "2 uplink" "1 p1a" "2 p2a"; do
		port=${n#* } n=${n%% *}
		out=$(ctl "$n" -o json show queues | python3 -c 'import json, sys
port, node = sys.argv[1:]
q = [q for q in json.load(sys.stdin) if q["port"] == port]
print("node%s %s (queue, worker, rx packets):" % (node, port), [(x["queue"], x["worker"], x["rx_packets"]) for x in q])
assert [x["queue"] for x in q] == [0, 1] and [x["worker"] for x in q] == [0, 1], q
assert all(x["rx_packets"] > 0 for x in q), q' "$port" "$n" 2>&1) || { echo "$out"; return 1; }
		note "$out"
	done
}
check "two workers: 32 flows p1a -> p2a, received on both queues of node2's uplink, p1a's and p2a's taps" spread
check "two workers: node1 no tap/offload/uplink drops" drops 1 tap- offload- uplink-
check "two workers: node2 no tap/offload/uplink drops" drops 2 tap- offload- uplink-
check "two workers: node1 stops cleanly" node_stop 1
check "two workers: node2 stops cleanly" node_stop 2

# --- uplink.tunnel_gso false: what a kernel before 6.17 gets
topo_up
check "fallback: both nodes start" start false
check "fallback: node1 says why throughput is lower" logged 1 "throughput lower"
check "fallback: across VXLAN p1a -> p2a, $MB MB, sha256" xfer p1a p2a 10.244.2.2 7003
check "fallback: across VXLAN p2a -> p1a, $MB MB, sha256" xfer p2a p1a 10.244.1.2 7004
check "fallback: no uplink frame above the MTU" le "$(port_avg 1 uplink tx)" 1514 "node1 uplink tx average"
check "fallback: cut once by ip4-segment on node1" gt "$(graph_packets 1 ip4-segment)" 0 "node1 ip4-segment packets"
check "fallback: node1 no tap/offload/uplink drops" drops 1 tap- offload- uplink-
check "fallback: node1 stops cleanly" node_stop 1
check "fallback: node2 stops cleanly" node_stop 2
check_summary
