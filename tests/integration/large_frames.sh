#!/usr/bin/env bash
# Large frames from kernel pods (issue 13): AF_XDP multi-buffer on, pod MTU 9000; the same
# forced off (af_xdp.multi_buffer false, pod MTU 1450); and af_xdp.mode "skb" at pod MTU
# 1450 with the pods' checksum offload and TSO on (as sluice-cni leaves them in that mode),
# where the pods' GSO frames (~64 KiB, partial checksums) must arrive whole, get their
# checksums completed and be cut once to 1450. In each: 100 MB of random data
# over TCP, sha256 compared, between kernel pods on the same node and across VXLAN, both
# directions. With it on, it also checks that the frames really crossed whole (the average
# frame sluiced received from the sending pod is above one 1,500-byte MTU) and that TCP to
# the other node was cut once by ip4-segment to the tunnel MTU; with it off, that no frame
# exceeded the 1450 MTU; no xsk-* drops, no segmentation drops in either.
#
# Usage (as root, from the repository root): SL_BUILD=build bash tests/integration/large_frames.sh
# Environment: SL_BUILD, SL_PREFIX (names ${SL_PREFIX}lf-..., default sl), SL_RUN, SL_EAL_MEM,
# SL_LF_MB (megabytes per transfer, default 100).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SL_BUILD=${SL_BUILD:-build}
case $SL_BUILD in
/*) ;;
*) SL_BUILD=$ROOT/$SL_BUILD ;;
esac
export SL_BUILD
export SL_PREFIX=${SL_PREFIX:-sl}lf-
export SL_RUN=${SL_RUN:-/tmp/${SL_PREFIX}run}
export SL_EAL_MEM=${SL_EAL_MEM-"--no-huge -m 512"}
export SL_VNI=1
MB=${SL_LF_MB:-100}
cd "$ROOT" || exit 2
source "$ROOT/scripts/lib/topo.sh"
source "$ROOT/scripts/lib/check.sh"
source "$ROOT/scripts/lib/bulk.sh"
[ "$(id -u)" = 0 ] || { echo "large_frames.sh: must run as root" >&2; exit 2; }
for t in ip ethtool nc ss python3 sha256sum timeout; do
	command -v "$t" >/dev/null || { echo "large_frames.sh: missing tool: $t" >&2; exit 2; }
done
T=$(mktemp -d /tmp/${SL_PREFIX}XXXX)
mkdir -p "$SL_RUN"
cleanup() { topo_down; rm -rf "$T" "$SL_RUN"; }
trap cleanup EXIT
DATA=$T/data.bin
head -c $((MB * 1024 * 1024)) /dev/urandom >"$DATA"
WANT=$(sha256sum <"$DATA" | cut -d' ' -f1)

# set_mtu MTU: every pod's eth0 and its host end.
set_mtu() {
	for p in p1a p1b p2a p2b; do
		in_ns $p ip link set eth0 mtu "$1"
		in_ns "n${p:1:1}" ip link set "$p" mtu "$1"
	done
}

# start MULTI_BUFFER POD_MTU [MODE]: both nodes with that configuration.
start() {
	for n in 1 2; do
		node_config "$n" | python3 -c 'import json, sys
c = json.load(sys.stdin); c["node"]["pod_mtu"] = int(sys.argv[2])
c["af_xdp"] = {"multi_buffer": sys.argv[1] == "true", "mode": sys.argv[3]}
print(json.dumps(c))' "$1" "$2" "${3:-native}" >"$SL_RUN/node$n.json" || return 1
		node_start "$n" "$SL_RUN/node$n.json" || return 1
	done
	wait_vtep 1 && wait_vtep 2
}

round() { # round LABEL: the four transfers and the drop checks
	check "$1: same node p1a -> p1b, $MB MB, sha256" xfer p1a p1b 10.244.1.3 7001
	check "$1: same node p1b -> p1a, $MB MB, sha256" xfer p1b p1a 10.244.1.2 7002
	check "$1: across VXLAN p1a -> p2a, $MB MB, sha256" xfer p1a p2a 10.244.2.2 7003
	check "$1: across VXLAN p2a -> p1a, $MB MB, sha256" xfer p2a p1a 10.244.1.2 7004
	check "$1: node1 no xsk/offload drops, tx-full under 1 %" drops 1 xsk- offload-
	check "$1: node2 no xsk/offload drops, tx-full under 1 %" drops 2 xsk- offload-
}

topo_up
# --- large-frame path on: multi-buffer, pod MTU 9000
set_mtu 9000
check "multi-buffer on: both nodes start with pod MTU 9000" start true 9000
check "multi-buffer on: no fallback logged (this kernel has XDP_USE_SG)" \
	bash -c "! grep -H 'large-frame path reduced' $SL_RUN/node1.log $SL_RUN/node2.log"
round "multi-buffer on"
avg_on() { local a; a=$(port_avg 1 p1a rx); echo "p1a frames average $a bytes"; [ "$a" -gt 1500 ]; }
check "multi-buffer on: frames from the pod arrived whole (average > 1500 bytes)" avg_on
seg_on() { local s; s=$(graph_packets 1 ip4-segment); echo "ip4-segment: $s"; [ "$s" -gt 0 ]; }
check "multi-buffer on: TCP to the other node cut by ip4-segment" seg_on
check "multi-buffer on: node1 stops cleanly" node_stop 1
check "multi-buffer on: node2 stops cleanly" node_stop 2

# --- forced off: af_xdp.multi_buffer false, pod MTU 1450
set_mtu 1450
badcfg() {
	local o
	echo '{"node": {"ip": "198.18.0.1", "pod_cidr": "10.244.1.0/24", "pod_mtu": 9000},
	       "uplink": {"devargs": "net_null0"}, "af_xdp": {"multi_buffer": false}}' >"$T/bad.json"
	o=$("$SL_BUILD/control/sluiced" --check -c "$T/bad.json" 2>&1) && { fail "accepted: $o"; return 1; }
	echo "$o"
	grep -q 'node.pod_mtu' <<<"$o"
}
check "multi-buffer off: pod MTU 9000 refused without af_xdp.multi_buffer" badcfg
check "multi-buffer off: both nodes start with pod MTU 1450" start false 1450
round "multi-buffer off"
avg_off() { local a; a=$(port_avg 1 p1a rx); echo "p1a frames average $a bytes"; [ "$a" -le 1464 ]; }
check "multi-buffer off: no frame above the 1450 MTU" avg_off
check "multi-buffer off: node1 stops cleanly" node_stop 1
check "multi-buffer off: node2 stops cleanly" node_stop 2

# --- af_xdp.mode "skb": generic XDP, pods keep checksum offload and TSO, pod MTU 1450
pods_offload() { # the pods' eth0 as sluice-cni leaves them in skb mode
	local p
	for p in p1a p1b p2a p2b; do
		in_ns $p ethtool -K eth0 tx on >/dev/null || return 1
		in_ns $p ethtool -k eth0 | grep -q '^tcp-segmentation-offload: on' || {
			echo "$p: TSO off"; return 1; }
	done
}
check "skb mode: pods' TX checksum offload and TSO on" pods_offload
# A native-mode program left on a host end (a native sluiced that was killed): the kernel
# allows one XDP mode at a time, and sluiced in skb mode must replace it, not fail.
leftover() { in_ns n1 ip link set dev p1b xdpdrv obj "$SL_BUILD/drivers/xsk_redirect.bpf.o" sec xdp &&
	in_ns n1 ip -d link show p1b | grep -q 'xdp'; }
check "skb mode: a native XDP program left on p1b" leftover
check "skb mode: both nodes start with pod MTU 1450" start true 1450 skb
check "skb mode: no fallback logged (this kernel has generic XDP multi-buffer)" \
	bash -c "! grep -H 'large-frame path reduced' $SL_RUN/node1.log $SL_RUN/node2.log"
mode_skb() { ctl 1 -o json version | python3 -c 'import json, sys
m = json.load(sys.stdin).get("af_xdp_mode"); print(m); sys.exit(m != "skb")'; }
check "skb mode: sluiced reports af_xdp_mode skb (sluice-cni keeps offloads)" mode_skb
check "skb mode: p1b's leftover native program replaced by generic" \
	bash -c "ip netns exec $(ns n1) ip -d link show p1b | grep -q xdpgeneric"
round "skb mode"
avg_skb() { local a; a=$(port_avg 1 p1a rx); echo "p1a frames average $a bytes"; [ "$a" -gt 1500 ]; }
check "skb mode: GSO frames arrived whole at MTU 1450 (average > 1500 bytes)" avg_skb
seg_skb() { local s; s=$(graph_packets 1 ip4-segment); echo "ip4-segment: $s"; [ "$s" -gt 0 ]; }
check "skb mode: GSO frames cut by ip4-segment" seg_skb
check "skb mode: node1 stops cleanly" node_stop 1
check "skb mode: node2 stops cleanly" node_stop 2
check_summary
