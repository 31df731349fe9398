#!/bin/bash
# Benchmark: what each pod attachment costs, and Open vSwitch with DPDK doing the same.
# 64-byte UDP from one pod to another through one forwarding core, measured side by side in
# one run:
#   vhost       DPDK pod -> sluiced -> DPDK pod (sluice-gen virtio_user ports; sluiced is
#               the vhost-user client of both)
#   ovs_vhost   the same pods and traffic through Open vSwitch 3.1 with DPDK instead
#               (dpdkvhostuserclient ports, one PMD thread on the same core polling the same
#               five ports as sluiced's worker; one OpenFlow rule routes like sluiced:
#               dec_ttl, gateway MAC -> pod MAC)
#   ovs_vhost2  the same with only the two vhost-user ports on the PMD
#   tso         the same pods, but 9014-byte TCP frames with TSO (MSS 1398) that sluiced
#               segments (guest-offload): Gbit/s of TCP payload delivered, as a VM sends
#   ceiling     the same two virtio_user ports joined by dpdk-testpmd io-forward between two
#               net_vhost ports (no routing: the vhost-user copy cost alone)
#   af_xdp      kernel pod -> sluiced -> kernel pod (sluice-gen AF_XDP on the pods' eth0)
#   vxlan       DPDK pod on node 1 -> VXLAN -> DPDK pod on node 2 (two sluiced, one worker
#               each; on a 2-core machine node 2's worker shares core 0 with the generator)
#   ovs_vxlan   the same across two OVS instances (vhost-user -> userspace VXLAN over an
#               afxdp uplink -> vhost-user), PMDs on the same cores as the two workers
# Prints pps, loss and latency, the ratios vhost/ceiling (target >= 0.6) and sluice/OVS
# (target >= 1.5), cycles per packet of sluiced and OVS on node 1's forwarding core, writes
# perf/results/vhost-<time>.json and .png.
#
# Usage: sudo perf/vhost_bench.sh [--duration S]
# Environment: SL_BENCH_PATHS="sluice ovs ceiling" (which groups, in that order),
#   SL_BENCH_PREFIX (namespaces, run dir, EAL file prefixes; default slq), KEEP=1 keeps the
#   run directory with every log.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=5
[ "${1:-}" = --duration ] && DURATION=$2
source scripts/lib/eal.sh
source scripts/lib/ovs.sh
P=${SL_BENCH_PREFIX:-slq}
GROUPS_=${SL_BENCH_PATHS:-sluice ovs ceiling}
MEM=$(sl_eal_mem)
GEN_MEM=$MEM
[ "$MEM" = "--no-huge -m 512" ] || GEN_MEM="$MEM --single-file-segments"
B=${SL_BUILD:-build}
OUT=perf/results
STAMP=$(date +%Y%m%d-%H%M%S)
RUN=$(mktemp -d "/tmp/$P-XXXX")
mkdir -p "$OUT" "$RUN/vhost"
GW_MAC=02:5c:00:00:00:01 MAC_A=02:de:00:00:00:0a MAC_B=02:de:00:00:00:0b MAC_C=02:de:00:00:00:0c
VTEP1_MAC=02:5c:00:00:01:01 VTEP2_MAC=02:5c:00:00:01:02 VNI=1
pids=()
cleanup() {
	sl_ovs_stop_all
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for n in $P-n1 $P-n2 $P-pa $P-pb; do ip netns del $n 2>/dev/null || true; done
	[ -n "${KEEP:-}" ] || rm -rf "$RUN"
	rm -f /dev/hugepages/$P-* 2>/dev/null || true
	rm -rf /var/run/dpdk/$P-gen /var/run/dpdk/$P-n1 /var/run/dpdk/$P-n2 /var/run/dpdk/$P-tp \
		/var/run/dpdk/$P-ovs1 /var/run/dpdk/$P-ovs2
}
trap cleanup EXIT
nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }
mac_of() { nsx "$1" cat "/sys/class/net/$2/address"; }
sluicectl() { "$B/control/cli/sluicectl" "$@"; }

topology() {
	for n in $P-n1 $P-n2 $P-pa $P-pb; do ip netns del $n 2>/dev/null || true; ip netns add $n; done
	ip link add sl-up0 netns $P-n1 type veth peer name sl-up0 netns $P-n2
	ip link add eth0 netns $P-pa type veth peer name pa netns $P-n1
	ip link add eth0 netns $P-pb type veth peer name pb netns $P-n1
	for l in "$P-n1 sl-up0" "$P-n2 sl-up0" "$P-pa eth0" "$P-pb eth0" "$P-n1 pa" "$P-n1 pb"; do
		set -- $l
		nsx "$1" ip link set "$2" up
		nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	done
}

# gen LABEL TX RX SRC_MAC DST_MAC SRC_IP DST_IP [SLUICE-GEN OPTIONS]
gen() {
	echo "--- $1: ${DURATION}s of ${8:+$8 $9 }64-byte UDP"
	"$B/perf/sluice-gen" --no-pci -l 0 --file-prefix $P-gen $GEN_MEM --log-level=lib.eal:error \
		-- --tx-port "$2" --rx-port "$3" --src-mac "$4" --dst-mac "$5" --src-ip "$6" \
		--dst-ip "$7" --flows 1024 --duration "$DURATION" --warmup 3 --label "$1" \
		--json "$RUN/$1.json" --quiet "${@:8}" 2>&1 | grep -E "^(rx|lat|tso|expect) |^sluice-gen: [^r]" || true
}
VA="-:net_virtio_user0,path=$RUN/vhost/a.sock,server=1,queues=1,mac=$MAC_A"
VB="-:net_virtio_user1,path=$RUN/vhost/b.sock,server=1,queues=1,mac=$MAC_B"
VC="-:net_virtio_user2,path=$RUN/vhost/c.sock,server=1,queues=1,mac=$MAC_C"

# sluiced on node 1 (and node 2 for vxlan): vhost, tso, af_xdp, vxlan.
run_sluice() {
	cat >"$RUN/n1.json" <<JSON
{"node": {"name": "bench", "ip": "198.18.0.1", "pod_cidr": "10.244.1.0/24"},
 "uplink": {"devargs": "net_af_xdp0,iface=sl-up0"},
 "host": {"enabled": false},
 "pods": [
  {"name": "dpa", "interface": "vhost-user", "socket": "$RUN/vhost/a.sock", "ip": "10.244.1.10", "mac": "$MAC_A"},
  {"name": "dpb", "interface": "vhost-user", "socket": "$RUN/vhost/b.sock", "ip": "10.244.1.11", "mac": "$MAC_B"},
  {"name": "pa", "ifname": "pa", "ip": "10.244.1.2", "mac": "$(mac_of $P-pa eth0)"},
  {"name": "pb", "ifname": "pb", "ip": "10.244.1.3", "mac": "$(mac_of $P-pb eth0)"}],
 "nodes": [{"name": "n2", "ip": "198.18.0.2", "pod_cidr": "10.244.2.0/24"}]}
JSON
	cat >"$RUN/n2.json" <<JSON
{"node": {"name": "bench2", "ip": "198.18.0.2", "pod_cidr": "10.244.2.0/24"},
 "uplink": {"devargs": "net_af_xdp0,iface=sl-up0"},
 "host": {"enabled": false},
 "pods": [{"name": "dpc", "interface": "vhost-user", "socket": "$RUN/vhost/c.sock", "ip": "10.244.2.10", "mac": "$MAC_C"}],
 "nodes": [{"name": "n1", "ip": "198.18.0.1", "pod_cidr": "10.244.1.0/24"}]}
JSON
	ip netns exec $P-n1 "$B/control/sluiced" -c "$RUN/n1.json" -s "$RUN/n1.sock" -- -l 0,1 \
		--main-lcore 0 --no-pci --file-prefix $P-n1 $MEM --log-level=lib.eal:error \
		>"$RUN/sluiced.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do [ -S "$RUN/n1.sock" ] && break; sleep 0.1; done
	sluicectl -s "$RUN/n1.sock" -o json show graph >"$RUN/graph-start.json"
	gen vhost "$VA" "$VB" $MAC_A $GW_MAC 10.244.1.10 10.244.1.11
	sluicectl -s "$RUN/n1.sock" -o json show graph >"$RUN/graph-vhost.json"
	sluicectl -s "$RUN/n1.sock" -o json show ports >"$RUN/ports-vhost.json"
	sluicectl -s "$RUN/n1.sock" -o json show drops >"$RUN/drops0.json"
	gen tso "$VA" "$VB" $MAC_A $GW_MAC 10.244.1.10 10.244.1.11 --tso 1398
	sluicectl -s "$RUN/n1.sock" -o json show drops >"$RUN/drops1.json"
	gen af_xdp "$P-pa:net_af_xdp10,iface=eth0" "$P-pb:net_af_xdp11,iface=eth0" \
		"$(mac_of $P-pa eth0)" $GW_MAC 10.244.1.2 10.244.1.3
	sluicectl -s "$RUN/n1.sock" -o json show graph >"$RUN/graph.json"
	ip netns exec $P-n2 "$B/control/sluiced" -c "$RUN/n2.json" -s "$RUN/n2.sock" -- -l 1,0 \
		--main-lcore 1 --no-pci --file-prefix $P-n2 $MEM --log-level=lib.eal:error \
		>"$RUN/sluiced2.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do [ -S "$RUN/n2.sock" ] && break; sleep 0.1; done
	for _ in $(seq 50); do sluicectl -s "$RUN/n1.sock" -o json show neighbors | grep -q reachable && break; sleep 0.1; done
	sluicectl -s "$RUN/n1.sock" -o json show graph >"$RUN/graph-vxlan0.json"
	gen vxlan "$VA" "$VC" $MAC_A $GW_MAC 10.244.1.10 10.244.2.10
	sluicectl -s "$RUN/n1.sock" -o json show graph >"$RUN/graph-vxlan.json"
	sluicectl -s "$RUN/n2.sock" -o json show ports >"$RUN/ports-vxlan2.json"
	for p in "${pids[@]}"; do kill -TERM "$p"; wait "$p" || true; done
	pids=()
}

# ovs_vhost_port NAME SOCKET: an OVS vhost-user client port on the pod's socket (the pod,
# sluice-gen's virtio_user, is the server, as with sluiced).
ovs_vhost_port() {
	echo "-- add-port br-int $1 -- set Interface $1 type=dpdkvhostuserclient options:vhost-server-path=$2"
}

# ovs_counters LABEL NAME CORE EGRESS_PORT: after a run, PMD cycles and the egress count.
ovs_counters() {
	local label=$1 name=$2 core=$3 port=$4 tx how
	sl_ovs_use "$name"
	sl_ovs_pmd_json "$core" >"$RUN/$label-pmd.json"
	ovs_appctl dpif-netdev/pmd-stats-show >"$RUN/$label-pmd.txt"
	ovs_appctl dpif-netdev/pmd-perf-show >>"$RUN/$label-pmd.txt"
	ovs_appctl dpif-netdev/pmd-rxq-show >>"$RUN/$label-pmd.txt"
	ovs_appctl dpctl/show -s >"$RUN/$label-dpctl.txt"
	ovs_appctl dpctl/dump-flows >"$RUN/$label-flows.txt"
	read -r tx how <<<"$(sl_ovs_sent "$port")"
	echo "{\"egress_port\": \"$port\", \"egress_tx\": $tx, \"counted_by\": \"$how\"}" >"$RUN/$label-ports.json"
	echo "ovs[$name]: $(grep -E 'avg processing cycles' "$RUN/$label-pmd.txt" | head -n1 | sed 's/^ *//'), $port sent $tx (counted by $how)"
}

# run_ovs_vhost LABEL all|vhost: OVS on node 1 in place of sluiced: dpa -> dpb on one
# bridge, routed by one flow. "all": the PMD polls the same five ports sluiced's worker does
# (the two kernel pods' veths and the uplink, idle here, as afxdp ports), so both pay for
# the same empty polls; "vhost": only the two vhost-user ports (what OVS costs without them).
run_ovs_vhost() {
	local label=$1 ports=$2
	sl_ovs_start n1 "$RUN/ovs-$label" $P-n1 1 0 $P-ovs1 "$MEM"
	ovs_vsctl add-br br-int -- set Bridge br-int datapath_type=netdev \
		$(ovs_vhost_port dpa "$RUN/vhost/a.sock") $(ovs_vhost_port dpb "$RUN/vhost/b.sock")
	if [ "$ports" = all ]; then
		ovs_vsctl -- add-port br-int pa -- set Interface pa type=afxdp options:xdp-mode=native \
			-- add-port br-int pb -- set Interface pb type=afxdp options:xdp-mode=native \
			-- add-br br-phy -- set Bridge br-phy datapath_type=netdev \
			-- add-port br-phy sl-up0 -- set Interface sl-up0 type=afxdp options:xdp-mode=native
		sl_ovs_wait_port pa
		sl_ovs_wait_port pb
		sl_ovs_wait_port sl-up0
	fi
	echo "ovs[n1]: PMD rx queues: $(ovs_appctl dpif-netdev/pmd-rxq-show | awk '/port:/ { printf "%s ", $2 }')"
	ovs_ofctl del-flows br-int
	ovs_ofctl add-flow br-int "priority=100,in_port=dpa,ip,dl_dst=$GW_MAC,nw_dst=10.244.1.11,actions=dec_ttl,mod_dl_src:$GW_MAC,mod_dl_dst:$MAC_B,output:dpb"
	ovs_ofctl add-flow br-int "priority=0,actions=drop"
	ovs_appctl dpif-netdev/pmd-stats-clear
	gen "$label" "$VA" "$VB" $MAC_A $GW_MAC 10.244.1.10 10.244.1.11
	ovs_counters "$label" n1 1 dpb
	sl_ovs_stop n1
}

# ovs_node NAME NETNS PMD OTHER PREFIX MY_IP PEER_IP MY_VTEP_MAC PEER_VTEP_MAC POD POD_SOCKET
#   [PMD_MAXSLEEP_US]
# One OVS node for the VXLAN path: br-phy holds the afxdp uplink and the node IP, br-int the
# pod's vhost-user port and vxlan0 to the peer.
ovs_node() {
	local name=$1 ns=$2 pmd=$3 other=$4 prefix=$5 ip=$6 peer=$7 mac=$8 peer_mac=$9
	local pod=${10} sock=${11} maxsleep=${12:-0}
	sl_ovs_start "$name" "$RUN/ovs-$name" "$ns" "$pmd" "$other" "$prefix" "$MEM" "$maxsleep"
	ovs_vsctl add-br br-phy -- set Bridge br-phy datapath_type=netdev other_config:hwaddr=$mac \
		-- add-port br-phy sl-up0 -- set Interface sl-up0 type=afxdp options:xdp-mode=native
	ovs_vsctl add-br br-int -- set Bridge br-int datapath_type=netdev \
		$(ovs_vhost_port "$pod" "$sock") \
		-- add-port br-int vxlan0 -- set Interface vxlan0 type=vxlan options:local_ip=$ip \
		options:remote_ip=$peer options:key=$VNI options:dst_port=4789
	sl_ovs_wait_port sl-up0
	nsx "$ns" ip addr add "$ip/24" dev br-phy
	nsx "$ns" ip link set br-phy up
	ovs_appctl tnl/arp/set br-phy "$peer" "$peer_mac" >/dev/null
	ovs_ofctl del-flows br-phy
	ovs_ofctl add-flow br-phy "priority=100,in_port=LOCAL,actions=output:sl-up0"
	# To the bridge's own port: OVS terminates the tunnel there (tnl_pop).
	ovs_ofctl add-flow br-phy "priority=100,in_port=sl-up0,actions=LOCAL"
	ovs_ofctl del-flows br-int
}

# Two OVS nodes, PMDs where the two sluiced workers were (node 1 core 1, node 2 core 0).
# Node 2's PMD shares core 0 with the generator: it may sleep when idle (200 us), as
# sluiced's worker there does; spinning, it starved the generator (255 k of 2.1 M frames
# received in one run).
run_ovs_vxlan() {
	ovs_node n1 $P-n1 1 0 $P-ovs1 198.18.0.1 198.18.0.2 $VTEP1_MAC $VTEP2_MAC dpa "$RUN/vhost/a.sock"
	ovs_ofctl add-flow br-int "priority=100,in_port=dpa,ip,dl_dst=$GW_MAC,nw_dst=10.244.2.0/24,actions=dec_ttl,mod_dl_src:$VTEP1_MAC,mod_dl_dst:$VTEP2_MAC,output:vxlan0"
	ovs_appctl dpif-netdev/pmd-stats-clear
	ovs_node n2 $P-n2 0 1 $P-ovs2 198.18.0.2 198.18.0.1 $VTEP2_MAC $VTEP1_MAC dpc "$RUN/vhost/c.sock" 200
	ovs_ofctl add-flow br-int "priority=100,in_port=vxlan0,ip,nw_dst=10.244.2.10,actions=dec_ttl,mod_dl_src:$GW_MAC,mod_dl_dst:$MAC_C,output:dpc"
	gen ovs_vxlan "$VA" "$VC" $MAC_A $GW_MAC 10.244.1.10 10.244.2.10
	ovs_counters ovs_vxlan2 n2 0 dpc
	ovs_counters ovs_vxlan n1 1 sl-up0
	sl_ovs_stop n2
	sl_ovs_stop n1
}

run_ovs() {
	sl_ovs_check
	run_ovs_vhost ovs_vhost all
	run_ovs_vhost ovs_vhost2 vhost
	run_ovs_vxlan
}

# Ceiling: testpmd joins the two virtio_user ports through two net_vhost ports (clients).
run_ceiling() {
	dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci --file-prefix $P-tp $MEM --log-level=lib.eal:error \
		--vdev "net_vhost0,iface=$RUN/vhost/a.sock,client=1,queues=1" \
		--vdev "net_vhost1,iface=$RUN/vhost/b.sock,client=1,queues=1" \
		-- --forward-mode=io --auto-start --nb-cores=1 --stats-period 60 >"$RUN/testpmd.log" 2>&1 &
	pids+=($!)
	sleep 2
	gen ceiling "$VA" "$VB" $MAC_A $MAC_B 10.244.1.10 10.244.1.11
	kill -INT "${pids[0]}"; wait "${pids[0]}" || true
	pids=()
}

[ -x "$B/perf/sluice-gen" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
echo "vhost_bench: $(nproc) cores, EAL memory: $MEM, groups: $GROUPS_"
topology
for g in $GROUPS_; do "run_$g"; done

python3 perf/vhost_report.py "$RUN" "$OUT/vhost-$STAMP.json" "$RUN/all.jsonl"
BASE=(); [ -f "$RUN/ceiling.json" ] && BASE=(--baseline ceiling)
VS=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["ratios"]["sluice_vs_ovs_vhost"]
print(f", sluice/OVS {r:.2f}x" if r else "")' "$OUT/vhost-$STAMP.json")
/usr/bin/python3 perf/plot.py "$RUN/all.jsonl" "${BASE[@]}" \
	--title "64-byte UDP pod -> pod, one forwarding core$VS" -o "$OUT/vhost-$STAMP.png" &&
	echo "chart: $OUT/vhost-$STAMP.png"
