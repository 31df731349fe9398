#!/bin/bash
# Multi-worker correctness: node 1 runs two workers (lcores 1 and 2, sharing the two CPUs
# with idle back-off) and its pods are spread over them. Three uplinks, one after the other:
#   net_af_xdp, 1 queue     worker 0 owns the uplink; worker 1 hands its packets over
#   net_af_packet, 1 queue  the same handoff through another PMD
#   net_af_packet, 2 queues RSS: a 2-queue veth, the kernel spreads flows over the PMD's two
#                           sockets by flow hash (PACKET_FANOUT_HASH), one queue per worker,
#                           flows land on both, each worker sends on its own TX queue
# (net_af_xdp cannot take 2 queues on a veth: DPDK 22.11's PMD counts only "combined"
# channels, which veth does not report; see docs/known-issues.md.)
# Each checks ping and 32 MB TCP with content check through every cross-worker path (32 MB
# cycles the whole mbuf pool: the af_xdp stall of docs/known-issues.md history showed after
# ~7,000 packets, when the first mbufs outside the PMD's UMEM came round).
# Usage (root, repo root): SL_BUILD=build bash tests/integration/two_workers.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-sl}w-
export SL_RUN=${SL_RUN:-/tmp/${SL_PREFIX}run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
export SL_LCORES_1="--lcores 0@0,1@1,2@0 --main-lcore 0"
source scripts/lib/topo.sh
source scripts/lib/check.sh
trap 'topo_down; rm -rf "$SL_RUN"' EXIT

owner() { ctl 1 -o json show ports | python3 -c "import json,sys; print([p['worker'] for p in json.load(sys.stdin) if p['name']=='$1'][0])"; }
pod_ip() { in_ns "$1" ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1; }

tcp() { # tcp FROM_NS TO_NS TO_IP: 32 MB with sha256 check
	local f=$SL_RUN/data.$1 got=$SL_RUN/got.$2
	head -c 32M /dev/urandom >"$f"
	in_ns "$2" timeout 60 nc -l -p 5001 >"$got" &
	local l=$! rc
	wait_listen "$2" 5001 || return 1
	local t0=$(date +%s.%N)
	in_ns "$1" timeout 60 nc -N "$3" 5001 <"$f"
	rc=$?
	wait $l
	[ $rc -eq 0 ] || fail "sender nc exited with $rc"
	note "$1 -> $2: $(stat -c %s "$got") bytes in $(echo "$(date +%s.%N) - $t0" | bc) s"
	[ "$(sha256sum <"$f")" = "$(sha256sum <"$got")" ]
}

# Few TX drops: at most 5 % of what each port sent (1 % was too tight: 32 MB of TCP into a
# pod's AF_XDP TX ring measured 1.2 % and 1.6 % in two of about ten full runs, with the
# transfer and its sha256 intact; the stall this guards against loses the transfer). Zero is not a property a forwarding
# element has under TCP bulk on a shared 2-core machine: the kernel may refuse frames (EAGAIN
# while the socket's send buffer is full, NET_XMIT_DROP when the peer's backlog is full) and
# a full ring then drops, as a NIC's does; TCP recovers and the content checks still hold.
# A mis-sized handoff ring or a stalled socket loses far more.
few_tx_drops() {
	ctl 1 -o json show ports | python3 -c "
import json, sys
ports = json.load(sys.stdin)
print('tx_dropped/tx_packets', {p['name']: (p['tx_dropped'], p['tx_packets']) for p in ports if p['tx_dropped']})
sys.exit(any(p['tx_dropped'] > 0.05 * (p['tx_packets'] + p['tx_dropped']) for p in ports))"
}

# 64 UDP flows x 10 packets from node 2's pods to node 1's pods (new source port per packet).
udp_flows() {
	for p in p2a p2b; do
		in_ns $p python3 -c "
import socket
for i in range(320):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b'x' * 100, ('$1', 9000 + i % 64))
    s.close()"
	done
}

# Both uplink receive queues got traffic, each polled by its own worker.
rss_spread() {
	ctl 1 show queues
	ctl 1 -o json show queues | python3 -c "
import json, sys
q = [r for r in json.load(sys.stdin) if r['port'] == 'uplink']
assert len(q) == 2, q
assert sorted(r['worker'] for r in q) == [0, 1], q
assert all(r['rx_packets'] >= 100 for r in q), q
print(' '.join('queue %d: %d' % (r['queue'], r['rx_packets']) for r in q))"
}

run_case() { # run_case LABEL PMD QUEUES
	local label=$1 q=$3
	echo "## $label"
	export SL_UPLINK_PMD=$2 SL_UPLINK_QUEUES_1=$q SL_UPLINK_ARGS_1=
	if [ "$q" -gt 1 ]; then
		case $2 in
		net_af_xdp) SL_UPLINK_ARGS_1=",queue_count=$q" ;;
		net_af_packet) SL_UPLINK_ARGS_1=",qpairs=$q" ;;
		esac
	fi
	topo_up
	node_start 1 || { FAIL=$((FAIL + 1)); topo_down; return; }
	node_start 2 || { FAIL=$((FAIL + 1)); topo_down; return; }
	wait_vtep 1; wait_vtep 2

	check "$label: node 1 has two workers" test "$(ctl 1 -o json show workers | grep -c '"lcore"')" = 2
	check "$label: pods on different workers" test "$(owner p1a)" != "$(owner p1b)"
	for p in p1a p1b; do
		check "$label: $p -> remote pod (ping)" in_ns $p ping -c 3 -i 0.2 -W 2 10.244.2.2
		check "$label: remote pod -> $p (ping)" in_ns p2a ping -c 3 -i 0.2 -W 2 "$(pod_ip $p)"
	done
	check "$label: p1a -> p1b TCP 32 MB (worker to worker)" tcp p1a p1b 10.244.1.3
	check "$label: p1b -> p1a TCP 32 MB (worker to worker)" tcp p1b p1a 10.244.1.2
	check "$label: p1b -> p2a TCP 32 MB (pod worker -> uplink)" tcp p1b p2a 10.244.2.2
	check "$label: p2b -> p1b TCP 32 MB (uplink -> pod worker)" tcp p2b p1b 10.244.1.3
	check "$label: p2a -> p1a TCP 32 MB (uplink -> pod worker)" tcp p2a p1a 10.244.1.2
	check "$label: node 1 -> p1b ping (host port)" in_ns n1 ping -c 3 -i 0.2 -W 2 10.244.1.3
	if [ "$q" -gt 1 ]; then
		udp_flows 10.244.1.2
		udp_flows 10.244.1.3
		check "$label: flows land on both uplink queues (RSS)" rss_spread
	fi
	check "$label: TX drops under 5 %" few_tx_drops && note "$(tail -1 "$CHECK_OUT")"
	ctl 1 show workers
	check "$label: node 1 (two workers) stops cleanly (SIGTERM, exit 0)" node_stop 1
	check "$label: node 2 stops cleanly" node_stop 2
	topo_down
}

run_case "af_xdp uplink" net_af_xdp 1
run_case "af_packet uplink" net_af_packet 1
run_case "af_packet uplink, 2 RSS queues" net_af_packet 2
check_summary
