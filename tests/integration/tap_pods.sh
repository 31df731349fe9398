#!/usr/bin/env bash
# Tap pods (issue 13, drivers/sl_tap.h): kernel pods whose eth0 is a tap sluiced creates
# ("interface": "tap") with virtio-net offloads, pod MTU 1450. Checks: 100 MB of random data
# over TCP, sha256 compared, between tap pods on the same node and across VXLAN, both
# directions; the pods' TCP frames reached sluiced whole (average above the MTU); on the
# same node they went to the other pod whole (ip4-segment cut nothing, the receiving pod
# got frames above the MTU); across VXLAN they were cut once by ip4-segment and the segments
# coalesced again for the receiving pod (its average frame above the MTU); no tap-* or
# offload drops; malformed GSO frames from a pod (IPv4 length short of the frame, gso_size
# below 88) dropped as tap-bad-gso; tap.offload false
# still carries the same traffic in MTU-sized frames; the taps go with sluiced; sluice-cni
# with "interface": "tap" (ADD, traffic with sha256, CHECK, DEL), and without one on a node
# whose pod_interface is "tap"; a tap pod's traffic leaves no receive mbufs held for it.
#
# Usage (as root, from the repository root): SL_BUILD=build bash tests/integration/tap_pods.sh
# Environment: SL_BUILD, SL_PREFIX (names ${SL_PREFIX}tp-..., default sl), SL_RUN, SL_EAL_MEM,
# SL_TP_MB (megabytes per transfer, default 100).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SL_BUILD=${SL_BUILD:-build}
case $SL_BUILD in
/*) ;;
*) SL_BUILD=$ROOT/$SL_BUILD ;;
esac
export SL_BUILD
export SL_PREFIX=${SL_PREFIX:-sl}tp-
export SL_RUN=${SL_RUN:-/tmp/${SL_PREFIX}run}
export SL_EAL_MEM=${SL_EAL_MEM-"--no-huge -m 512"}
export SL_VNI=1 SL_POD_MTU=1450
MB=${SL_TP_MB:-100}
cd "$ROOT" || exit 2
source "$ROOT/scripts/lib/topo.sh"
source "$ROOT/scripts/lib/tappod.sh"
source "$ROOT/scripts/lib/check.sh"
source "$ROOT/scripts/lib/bulk.sh"
[ "$(id -u)" = 0 ] || { echo "tap_pods.sh: must run as root" >&2; exit 2; }
[ -c /dev/net/tun ] || { echo "tap_pods.sh: no /dev/net/tun" >&2; exit 77; }
for t in ip ethtool nc ss python3 sha256sum timeout; do
	command -v "$t" >/dev/null || { echo "tap_pods.sh: missing tool: $t" >&2; exit 2; }
done
T=$(mktemp -d "/tmp/${SL_PREFIX}XXXX")
mkdir -p "$SL_RUN"
cleanup() { topo_down; ip netns del "$(ns c1)" 2>/dev/null; rm -rf "$T" "$SL_RUN"; }
trap cleanup EXIT
DATA=$T/data.bin
head -c $((MB * 1024 * 1024)) /dev/urandom >"$DATA"
WANT=$(sha256sum <"$DATA" | cut -d' ' -f1)

# start [EXTRA_JSON]: both nodes with tap pods (their veths deleted first), taps attached.
start() {
	for n in 1 2; do
		tap_pods_veth_del "$n"
		node_config "$n" | python3 -c 'import json, sys
c = json.load(sys.stdin)
for k, v in json.loads(sys.argv[1]).items(): # sections merged one level deep
    if isinstance(v, dict) and isinstance(c.get(k), dict): c[k].update(v)
    else: c[k] = v
print(json.dumps(c))' \
			"${1:-{\}}" >"$SL_RUN/node$n.json" || return 1
		tap_pods_config "$n" "$SL_RUN/node$n.json" || return 1
		node_start "$n" "$SL_RUN/node$n.json" || return 1
		tap_pods_attach "$n" || return 1
	done
	wait_vtep 1 && wait_vtep 2
}

# pod_rx_avg POD: average bytes per frame POD's eth0 received (after sluiced's coalescing).
pod_rx_avg() {
	in_ns "$1" cat /sys/class/net/eth0/statistics/rx_bytes /sys/class/net/eth0/statistics/rx_packets |
		{ read -r b; read -r p; echo $((b / (p + 1))); }
}

topo_up
# --- offloads on (the default)
check "tap pods: both nodes start, taps created and moved into the pods" \
	start '{"tap": {"rps_cpus": "0"}, "node": {"pod_interface": "tap"}}'
kinds() { ctl 1 show ports | grep -cE ' p1[ab] +tap ' | grep -qx 2; }
check "tap pods: show ports lists p1a, p1b as tap ports" kinds
check "tap pods with an AF_XDP uplink: the idle worker sleeps (the uplink cannot wake it)" idle_wait 1 sleep
tso() { in_ns p1a ethtool -k eth0 | grep -q '^tcp-segmentation-offload: on'; }
check "tap pods: the pod's eth0 has TSO on (virtio-net offloads)" tso
check "same node p1a -> p1b, $MB MB, sha256" xfer p1a p1b 10.244.1.3 7001
check "same node p1b -> p1a, $MB MB, sha256" xfer p1b p1a 10.244.1.2 7002
check "same node: frames from p1a arrived whole" gt "$(port_avg 1 p1a rx)" 1500 "p1a rx average"
check "same node: frames to p1b left whole" gt "$(port_avg 1 p1b tx)" 1500 "p1b tx average"
check "same node: ip4-segment cut nothing" le "$(graph_packets 1 ip4-segment)" 0 "ip4-segment packets"
check "across VXLAN p1a -> p2a, $MB MB, sha256" xfer p1a p2a 10.244.2.2 7003
check "across VXLAN p2a -> p1a, $MB MB, sha256" xfer p2a p1a 10.244.1.2 7004
check "across VXLAN: cut once by ip4-segment on node 1" gt "$(graph_packets 1 ip4-segment)" 0 "ip4-segment packets"
check "across VXLAN: segments coalesced for p2a" gt "$(pod_rx_avg p2a)" 1500 "p2a eth0 rx average"
check "node1: no tap/offload drops, tx-full under 1 %" drops 1 tap- offload-
check "node2: no tap/offload drops, tx-full under 1 %" drops 2 tap- offload-
bad() {
	local before sent after
	before=$(drop_count 1 tap-bad-gso)
	sent=$(in_ns p1a python3 "$ROOT/tests/integration/tap_bad_frames.py" eth0 10.244.1.2 10.244.1.3 \
		02:00:00:00:00:01) || return 1
	[ "$sent" -gt 0 ] || { echo "the pod's kernel refused every malformed frame"; return 1; }
	for _ in $(seq 20); do
		after=$(drop_count 1 tap-bad-gso)
		[ $((after - before)) -ge "$sent" ] && break
		sleep 0.1
	done
	echo "sent $sent malformed GSO frames; tap-bad-gso $before -> $after"
	[ $((after - before)) -eq "$sent" ]
}
check "malformed GSO frames from a pod dropped as tap-bad-gso" bad

# --- sluice-cni with "interface": "tap": a pod namespace made the runtime's way
CNI_NS=$(ns c1)
cni_tap() { tap_cni "$1" "$2" tapcni1 tapcni1 "${3:-}"; } # cni_tap VERB OUT [PREV_RESULT]
cni_add() {
	ip netns add "$CNI_NS" || return 1
	cni_tap ADD "$T/add.json" || { cat "$T/add.json"; return 1; }
	cat "$T/add.json"
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert [i["name"] for i in d["interfaces"]] == ["eth0"], d["interfaces"]
assert d["interfaces"][0]["sandbox"] == "/var/run/netns/" + sys.argv[2], d["interfaces"]
assert d["ips"][0]["address"] == "10.244.1.100/32" and d["ips"][0]["interface"] == 0, d["ips"]' \
		"$T/add.json" "$CNI_NS" || return 1
	ctl 1 show ports | grep -E ' tap ' | grep -c . | grep -qx 3 || { ctl 1 show ports; return 1; }
	ip netns exec "$CNI_NS" ethtool -k eth0 | grep -q '^tcp-segmentation-offload: on'
}
# Receive mbufs node 1 holds while idle (the tap reads' spares among them).
mbufs_in_use() {
	ctl 1 -o json show stats | python3 -c 'import json, sys
m = json.load(sys.stdin)["mbufs"]; print(m["total"] - m["available"])'
}
IN_USE0=$(mbufs_in_use)
check "sluice-cni interface tap: ADD (one pod interface, a tap with TSO, sluiced's third tap port)" cni_add
# Receive steering (tap.rps_cpus "0" here): sluice-cni writes the mask sluiced names.
cni_rps() {
	local got ver
	got=$(ip netns exec "$CNI_NS" cat /sys/class/net/eth0/queues/rx-0/rps_cpus | tr -d ',\n' | sed 's/^0*//')
	ver=$(ctl 1 -o json version | python3 -c 'import json, sys; print(json.load(sys.stdin).get("tap_rps_cpus", ""))')
	echo "pod eth0 rps_cpus '$got'; sluiced's version: '$ver'"
	[ "$got" = 1 ] && [ "$ver" = 1 ]
}
check "sluice-cni tap: receive steered to CPU 0 (tap.rps_cpus \"0\": rps_cpus 1)" cni_rps
cni_traffic() {
	local got lpid
	ip netns exec "$CNI_NS" ping -c 1 -W 2 10.244.1.3 >/dev/null || { echo "no ping to p1b"; return 1; }
	in_ns p1b sh -c "timeout 60 nc -l 10.244.1.3 7010 </dev/null | sha256sum >$T/got.cni" &
	lpid=$!
	wait_listen p1b 7010 || return 1
	ip netns exec "$CNI_NS" timeout 60 nc -N -w 10 10.244.1.3 7010 <"$DATA" || return 1
	wait "$lpid"
	got=$(cut -d' ' -f1 <"$T/got.cni")
	echo "sha256 $got"
	[ "$got" = "$WANT" ]
}
check "sluice-cni tap pod -> p1b, $MB MB, sha256" cni_traffic
# The worker keeps one set of receive spares (SL_TAP_RX_SEGS, 24) for every tap it reads: a
# third tap pod that sent 100 MB holds none of its own.
spares() {
	local now
	now=$(mbufs_in_use)
	note "node1 mbufs in use, idle: $IN_USE0 before the third tap pod, $now after its traffic"
	[ "$now" -le $((IN_USE0 + 8)) ]
}
check "a tap pod's traffic leaves no receive mbufs held for it (the worker's spares are shared)" spares
cni_check() { cni_tap CHECK "$T/check.json" "$T/add.json" || { cat "$T/check.json"; return 1; }; }
check "sluice-cni tap: CHECK passes" cni_check
cni_del() {
	cni_tap DEL "$T/del.json" "$T/add.json" || { cat "$T/del.json"; return 1; }
	# The port closes (and the tap goes) once no worker can hold it: an RCU grace period.
	local i
	for i in $(seq 50); do ip netns exec "$CNI_NS" ip link show eth0 >/dev/null 2>&1 || break; sleep 0.1; done
	! ip netns exec "$CNI_NS" ip link show eth0 >/dev/null 2>&1 || { echo "eth0 still there after 5 s"; return 1; }
	echo "eth0 gone after ~$((i - 1))00 ms"
	! ctl 1 -o json show pods | grep -q tapcni1 || { echo "sluiced still lists the pod"; return 1; }
	[ -z "$(find "$T/ipam/sluice" -maxdepth 1 -name '10.*' 2>/dev/null)" ] || { echo "address still reserved"; return 1; }
	ip netns del "$CNI_NS"
}
check "sluice-cni tap: DEL (the tap, sluiced's pod and the address gone)" cni_del

# node.pod_interface "tap": a network that names no interface gets a tap pod.
cni_node_default() {
	local kind ver
	ip netns add "$CNI_NS" || return 1
	ver=$(ctl 1 -o json version | python3 -c 'import json, sys; print(json.load(sys.stdin).get("pod_interface"))')
	[ "$ver" = tap ] || { echo "version: pod_interface $ver"; return 1; }
	TAP_CNI_IFACE= tap_cni ADD "$T/add2.json" tapcni2 tapcni2 || { cat "$T/add2.json"; return 1; }
	kind=$(ip netns exec "$CNI_NS" ethtool -i eth0 | awk '/^driver:/ {print $2}')
	echo "pod eth0 driver: $kind; sluiced: $(ctl 1 show ports | grep -E ' tap ' | grep -c .) tap ports"
	[ "$kind" = tun ] && ctl 1 show ports | grep -E ' tap ' | grep -c . | grep -qx 3 || return 1
	TAP_CNI_IFACE= tap_cni CHECK "$T/check2.json" tapcni2 tapcni2 "$T/add2.json" ||
		{ cat "$T/check2.json"; return 1; }
	TAP_CNI_IFACE= tap_cni DEL "$T/del2.json" tapcni2 tapcni2 "$T/add2.json" ||
		{ cat "$T/del2.json"; return 1; }
	for i in $(seq 50); do ip netns exec "$CNI_NS" ip link show eth0 >/dev/null 2>&1 || break; sleep 0.1; done
	! ip netns exec "$CNI_NS" ip link show eth0 >/dev/null 2>&1 && ip netns del "$CNI_NS"
}
check "sluice-cni, no interface named, node.pod_interface tap: ADD gives a tap pod, CHECK, DEL" cni_node_default

check "offloads on: node1 stops cleanly" node_stop 1
check "offloads on: node2 stops cleanly" node_stop 2
gone() { ! in_ns p1a ip link show eth0 >/dev/null 2>&1; }
check "the pod's tap goes with sluiced" gone

# --- tap.offload false: plain frames, full checksums
check "offloads off: both nodes start" start '{"tap": {"offload": false}}'
# tap.rps_cpus "auto" (the default): the online CPUs but node 1's worker's (CPU 1, topo.sh's
# node_start) when that leaves two or more, else none.
auto_rps() {
	local want ver
	want=$(python3 -c 'cpus = set()
for r in open("/sys/devices/system/cpu/online").read().strip().split(","):
    lo, _, hi = r.partition("-"); cpus.update(range(int(lo), int(hi or lo) + 1))
left = cpus - {1}; print("%x" % sum(1 << c for c in left) if len(left) >= 2 else "")')
	ver=$(ctl 1 -o json version | python3 -c 'import json, sys; print(json.load(sys.stdin).get("tap_rps_cpus", "").replace(",", ""))')
	echo "sluiced's version: tap_rps_cpus '$ver', want '$want'"
	[ "$ver" = "$want" ]
}
check "rps_cpus auto: the CPUs without a worker if two or more" auto_rps
check "offloads off: same node p1a -> p1b, $MB MB, sha256" xfer p1a p1b 10.244.1.3 7005
check "offloads off: across VXLAN p2a -> p1a, $MB MB, sha256" xfer p2a p1a 10.244.1.2 7006
check "offloads off: no frame above the MTU" le "$(port_avg 1 p1a rx)" 1464 "p1a rx average"
check "offloads off: node1 no tap/offload drops" drops 1 tap- offload-
check "offloads off: node1 stops cleanly" node_stop 1
check "offloads off: node2 stops cleanly" node_stop 2
check_summary
