#!/bin/bash
# Benchmark: 64-byte UDP from a pod to a pod on a remote node over VXLAN, one forwarding
# core, four paths measured side by side in one run with the same generator:
#   sluice   sluiced (one worker): pod AF_XDP port -> route -> VXLAN encap -> AF_XDP uplink
#   ovs      Open vSwitch 3.1 with DPDK (userspace datapath, one PMD thread on the same
#            core): pod port and uplink as OVS afxdp ports, br-int -> userspace VXLAN
#            tunnel -> br-phy holding the node IP (see "run_ovs")
#   kernel   the flannel data path: veth -> bridge -> routing -> Linux VXLAN device -> veth
#   testpmd  dpdk-testpmd io-forward between the same two AF_XDP ports (the port ceiling)
#
#   [$P-pod] eth0 ==veth== p1a [$P-n1: DUT] sl-up0 ==veth== sink0 [$P-sink]
#      sluice-gen TX (AF_XDP)                                 sluice-gen RX (AF_XDP)
#
# sluice-gen plays both the pod and the remote node (it receives the VXLAN frames and
# counts only those in VNI 1 whose inner destination is the remote pod), so the DUT's
# forwarding core (core 1) is the only one doing the work under test; the generator and the
# DUTs' control threads are on core 0. Prints pps, Gbit/s, loss, latency per path, the
# ratios, cycles per packet of sluice and OVS, and checks that each DUT sent at least what
# the receiver counted; writes perf/results/vxlan-<time>.json and .png.
#
# Usage: sudo perf/vxlan_bench.sh [--duration S] [--size BYTES] [--flows N] [--rate PPS]
# Environment: SL_BENCH_PATHS="sluice ovs kernel testpmd" (which, in that order; also
#   sluice_tap: the pod's eth0 a tap, see run_sluice_tap),
#   SL_AF_XDP_MODE=native|skb (sluiced's af_xdp.mode for the pod port; default its own),
#   SL_OVS_PORT=afxdp|dpdk (OVS port type for both ports: its own AF_XDP netdev, or a DPDK
#   port on net_af_xdp devargs), SL_BENCH_PREFIX (namespaces, run dir, EAL file prefixes;
#   default slp), SL_BENCH_OUT (result file base, default perf/results/vxlan-<time>: writes
#   .json and .png; perf/tcp_bench.sh --udp64 sets it), KEEP=1 keeps the run directory with every log.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=5 SIZE=64 FLOWS=1024 RATE=0
while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--flows) FLOWS=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	*) echo "usage: $0 [--duration S] [--size BYTES] [--flows N] [--rate PPS]" >&2; exit 2 ;;
	esac
done
source scripts/lib/eal.sh
source scripts/lib/ovs.sh
P=${SL_BENCH_PREFIX:-slp}
PATHS=${SL_BENCH_PATHS:-sluice ovs kernel testpmd}
OVS_PORT=${SL_OVS_PORT:-afxdp}
MEM=$(sl_eal_mem)
B=${SL_BUILD:-build}
OUT=perf/results
STAMP=$(date +%Y%m%d-%H%M%S)
RUN=$(mktemp -d "/tmp/$P-XXXX")
OUTBASE=${SL_BENCH_OUT:-$OUT/vxlan-$STAMP}
mkdir -p "$OUT" "$(dirname "$OUTBASE")"
GW_MAC=02:5c:00:00:00:01   # the pod's gateway: sluice's router MAC, OVS's flow match
VTEP_MAC=02:5c:00:00:01:01 # OVS br-phy (the node's underlay address)
VNI=1                      # flannel's, sluice's default; the receiver insists on it
FWD_CORE=1 OTHER_CORE=0
pids=()

cleanup() {
	sl_ovs_stop_all
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for n in $P-pod $P-n1 $P-sink; do ip netns del $n 2>/dev/null || true; done
	[ -n "${KEEP:-}" ] || rm -rf "$RUN"
	rm -f /dev/hugepages/$P-* 2>/dev/null || true
	rm -rf /var/run/dpdk/$P-gen /var/run/dpdk/$P-n1 /var/run/dpdk/$P-tp /var/run/dpdk/$P-ovs
}
trap cleanup EXIT

nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }
mac_of() { nsx "$1" cat "/sys/class/net/$2/address"; }

topology() {
	for n in $P-pod $P-n1 $P-sink; do ip netns del $n 2>/dev/null || true; ip netns add $n; done
	ip link add eth0 netns $P-pod type veth peer name p1a netns $P-n1
	ip link add sl-up0 netns $P-n1 type veth peer name sink0 netns $P-sink
	for l in "$P-pod eth0" "$P-n1 p1a" "$P-n1 sl-up0" "$P-sink sink0"; do
		set -- $l
		nsx "$1" ip link set "$2" up
		nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	done
}

# gen LABEL DST_MAC [SLUICE-GEN OPTIONS]: run sluice-gen from the pod to the sink; result
# in $RUN/LABEL.json
gen() {
	local label=$1 dst_mac=$2
	shift 2
	echo "--- $label: ${DURATION}s of ${SIZE}-byte UDP, $FLOWS flows"
	"$B/perf/sluice-gen" --no-pci -l 0 --file-prefix $P-gen $MEM --log-level=lib.eal:error \
		-- --tx-port $P-pod:net_af_xdp10,iface=eth0 --rx-port $P-sink:net_af_xdp11,iface=sink0 \
		--src-mac "$(mac_of $P-pod eth0)" --dst-mac "$dst_mac" \
		--src-ip 10.244.1.2 --dst-ip 10.244.2.2 --flows "$FLOWS" --size "$SIZE" \
		--rate "$RATE" --duration "$DURATION" --label "$label" --json "$RUN/$label.json" \
		"$@" 2>&1 | grep -vE "^(libbpf|libxdp|EAL|TELEMETRY)" || true
}

run_sluice() {
	local afx=
	[ -z "${SL_AF_XDP_MODE:-}" ] || afx=" \"af_xdp\": {\"mode\": \"$SL_AF_XDP_MODE\"},"
	cat >"$RUN/n1.json" <<JSON
{
  "node": {"name": "bench", "ip": "198.18.0.1", "pod_cidr": "10.244.1.0/24"},
  "uplink": {"devargs": "net_af_xdp0,iface=sl-up0", "mtu": 1500},
  "host": {"enabled": false},$afx
  "pods": [{"name": "gen", "ip": "10.244.1.2", "mac": "$(mac_of $P-pod eth0)", "ifname": "p1a"}],
  "nodes": [{"name": "sink", "ip": "198.18.0.2", "pod_cidr": "10.244.2.0/24",
             "mac": "$(mac_of $P-sink sink0)"}]
}
JSON
	# ip netns exec execs, so $! is sluiced itself (a backgrounded function would be a subshell)
	ip netns exec $P-n1 "$B/control/sluiced" -c "$RUN/n1.json" -s "$RUN/n1.sock" -- -l 0,1 --main-lcore 0 \
		--no-pci --file-prefix $P-n1 $MEM --log-level=lib.eal:error >"$RUN/sluiced.log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do [ -S "$RUN/n1.sock" ] && break; sleep 0.1; done
	"$B/control/cli/sluicectl" -s "$RUN/n1.sock" -o json show graph >"$RUN/graph0.json"
	gen sluice "$GW_MAC" --expect-vxlan $VNI
	"$B/control/cli/sluicectl" -s "$RUN/n1.sock" -o json show graph >"$RUN/graph.json"
	"$B/control/cli/sluicectl" -s "$RUN/n1.sock" -o json show ports >"$RUN/sluice-ports.json"
	"$B/control/cli/sluicectl" -s "$RUN/n1.sock" show graph | grep -v " drop-"
	"$B/control/cli/sluicectl" -s "$RUN/n1.sock" -o json show stats >"$RUN/stats.json"
	kill -TERM "$pid"; wait "$pid" || true
}

# sluice_tap: sluiced as above, but the pod's eth0 is a tap sluiced creates ("interface":
# "tap", drivers/sl_tap.h: one readv per frame) instead of a veth read through AF_XDP. The
# generator sends on that tap (its AF_XDP socket in copy mode). The veth comes back after.
run_sluice_tap() {
	local mac pid
	mac=$(mac_of $P-pod eth0)
	nsx $P-n1 ip link del p1a
	cat >"$RUN/n1-tap.json" <<JSON
{
  "node": {"name": "bench", "ip": "198.18.0.1", "pod_cidr": "10.244.1.0/24"},
  "uplink": {"devargs": "net_af_xdp0,iface=sl-up0", "mtu": 1500},
  "host": {"enabled": false},
  "pods": [{"name": "gen", "ip": "10.244.1.2", "mac": "$mac", "ifname": "p1a", "interface": "tap"}],
  "nodes": [{"name": "sink", "ip": "198.18.0.2", "pod_cidr": "10.244.2.0/24",
             "mac": "$(mac_of $P-sink sink0)"}]
}
JSON
	rm -f "$RUN/n1.sock"
	ip netns exec $P-n1 "$B/control/sluiced" -c "$RUN/n1-tap.json" -s "$RUN/n1.sock" -- -l 0,1 --main-lcore 0 \
		--no-pci --file-prefix $P-n1 $MEM --log-level=lib.eal:error >"$RUN/sluiced-tap.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do [ -S "$RUN/n1.sock" ] && break; sleep 0.1; done
	nsx $P-n1 ip link set p1a netns $P-pod
	nsx $P-pod ip link set p1a name eth0
	nsx $P-pod ip link set eth0 up
	gen sluice_tap "$GW_MAC" --expect-vxlan $VNI
	"$B/control/cli/sluicectl" -s "$RUN/n1.sock" -o json show ports >"$RUN/sluice_tap-ports.json"
	"$B/control/cli/sluicectl" -s "$RUN/n1.sock" show graph | grep -v " drop-"
	kill -TERM "$pid"; wait "$pid" || true
	ip link add eth0 netns $P-pod address "$mac" type veth peer name p1a netns $P-n1
	nsx $P-pod ip link set eth0 up
	nsx $P-n1 ip link set p1a up
}

# Open vSwitch with DPDK doing what sluiced does, on the same ports and core:
#   br-int (netdev): pod port p1a, vxlan0 (userspace VXLAN, VNI 1, 198.18.0.1 -> .2)
#     flow: from the pod, IPv4 to 10.244.2.0/24 via the gateway MAC -> dec_ttl, inner MACs
#     as sluice writes them (src = node MAC, dst = the remote VTEP's MAC), out vxlan0
#   br-phy (netdev): the uplink sl-up0 and the node IP 198.18.0.1 on the bridge's own port;
#     the tunnel's route and neighbour come from there (neighbour set, as sluice's config
#     gives sluiced the remote node's MAC)
# One megaflow does it all: set(eth), set(ipv4 ttl), tnl_push, out sl-up0.
run_ovs() {
	local pod_port up_port sink_mac
	sink_mac=$(mac_of $P-sink sink0)
	sl_ovs_check
	sl_ovs_start n1 "$RUN/ovs" $P-n1 $FWD_CORE $OTHER_CORE $P-ovs "$MEM"
	# afxdp: OVS's own AF_XDP netdev (libbpf xsk, like sluice's pod ports); dpdk: DPDK's
	# net_af_xdp PMD (like sluice's uplink). Native XDP mode: veth has it (copy mode).
	if [ "$OVS_PORT" = dpdk ]; then
		pod_port=pod0 up_port=up0
		ovs_port() { echo "-- add-port $1 $2 -- set Interface $2 type=dpdk options:dpdk-devargs=net_af_xdp_$2,iface=$3"; }
	else
		pod_port=p1a up_port=sl-up0
		ovs_port() { echo "-- add-port $1 $2 -- set Interface $2 type=afxdp options:xdp-mode=native"; }
	fi
	echo "ovs[n1]: br-phy ($up_port, $OVS_PORT) and br-int ($pod_port, $OVS_PORT; vxlan0 VNI $VNI to 198.18.0.2)"
	ovs_vsctl add-br br-phy -- set Bridge br-phy datapath_type=netdev \
		other_config:hwaddr=$VTEP_MAC $(ovs_port br-phy $up_port sl-up0)
	ovs_vsctl add-br br-int -- set Bridge br-int datapath_type=netdev \
		$(ovs_port br-int $pod_port p1a) \
		-- add-port br-int vxlan0 -- set Interface vxlan0 type=vxlan \
		options:local_ip=198.18.0.1 options:remote_ip=198.18.0.2 options:key=$VNI \
		options:dst_port=4789
	sl_ovs_wait_port $up_port
	sl_ovs_wait_port $pod_port
	sl_ovs_wait_port vxlan0
	nsx $P-n1 ip addr add 198.18.0.1/24 dev br-phy
	nsx $P-n1 ip link set br-phy up
	ovs_appctl tnl/arp/set br-phy 198.18.0.2 "$sink_mac" >/dev/null
	ovs_ofctl del-flows br-int
	ovs_ofctl add-flow br-int "priority=100,in_port=$pod_port,ip,dl_dst=$GW_MAC,nw_dst=10.244.2.0/24,actions=dec_ttl,mod_dl_src:$VTEP_MAC,mod_dl_dst:$sink_mac,output:vxlan0"
	ovs_ofctl add-flow br-int "priority=0,actions=drop"
	ovs_ofctl del-flows br-phy
	ovs_ofctl add-flow br-phy "priority=100,in_port=LOCAL,actions=output:$up_port"
	ovs_ofctl add-flow br-phy "priority=0,actions=NORMAL"
	ovs_appctl ofproto/trace br-int "udp,in_port=$pod_port,dl_dst=$GW_MAC,nw_src=10.244.1.2,nw_dst=10.244.2.2,nw_ttl=64,udp_src=1024,udp_dst=5001" \
		>"$RUN/ovs-trace.txt"
	echo "ovs[n1]: $(grep '^Datapath actions' "$RUN/ovs-trace.txt")"
	ovs_appctl dpif-netdev/pmd-rxq-show | grep -E "core_id|port:" | sed 's/^/ovs[n1]: /'
	ovs_appctl dpif-netdev/pmd-stats-clear
	read -r _ up_tx0 _ <<<"$(sl_ovs_port_stats $up_port)"
	gen ovs "$GW_MAC" --expect-vxlan $VNI
	sl_ovs_pmd_json $FWD_CORE >"$RUN/ovs-pmd.json"
	ovs_appctl dpif-netdev/pmd-stats-show >"$RUN/ovs-pmd.txt"
	ovs_appctl dpif-netdev/pmd-perf-show >>"$RUN/ovs-pmd.txt"
	ovs_appctl dpctl/dump-flows -m >"$RUN/ovs-flows.txt"
	ovs_appctl dpctl/show -s >"$RUN/ovs-dpctl.txt"
	read -r _ up_tx up_drop <<<"$(sl_ovs_port_stats $up_port)"
	read -r pod_rx _ _ <<<"$(sl_ovs_port_stats $pod_port)"
	echo "{\"uplink_tx\": $((up_tx - up_tx0)), \"uplink_tx_dropped\": $up_drop, \"pod_rx\": $pod_rx, \"port_type\": \"$OVS_PORT\"}" >"$RUN/ovs-ports.json"
	grep -E "packets received|processing cycles|avg" "$RUN/ovs-pmd.txt" | head -n 6 | sed 's/^ */ovs[n1] pmd: /'
	echo "ovs[n1]: datapath flows: $(grep -c 'actions:' "$RUN/ovs-flows.txt"), uplink sent $((up_tx - up_tx0)) (dropped $up_drop)"
	sl_ovs_stop n1
}

run_kernel() {
	nsx $P-n1 sysctl -qw net.ipv4.ip_forward=1
	nsx $P-n1 ip link add cni0 type bridge
	nsx $P-n1 ip addr add 10.244.1.1/24 dev cni0
	nsx $P-n1 ip link set cni0 up
	nsx $P-n1 ip link set p1a master cni0
	nsx $P-n1 ip addr add 198.18.0.1/24 dev sl-up0
	nsx $P-n1 ip link add flannel.1 type vxlan id 1 local 198.18.0.1 dev sl-up0 dstport 4789 nolearning
	nsx $P-n1 ip link set flannel.1 mtu 1450 up
	nsx $P-n1 ip neigh add 10.244.2.0 lladdr 02:00:00:00:02:00 dev flannel.1 nud permanent
	nsx $P-n1 bridge fdb add 02:00:00:00:02:00 dev flannel.1 dst 198.18.0.2
	nsx $P-n1 ip route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink
	nsx $P-n1 ip neigh add 198.18.0.2 lladdr "$(mac_of $P-sink sink0)" dev sl-up0 nud permanent
	# One forwarding core for the kernel too: RPS moves p1a's receive processing off the
	# generator's core 0 to core 1, where sluiced's worker and testpmd run.
	nsx $P-n1 sh -c 'echo 2 > /sys/class/net/p1a/queues/rx-0/rps_cpus'
	gen kernel "$(mac_of $P-n1 cni0)" --expect-vxlan $VNI
	nsx $P-n1 sh -c 'echo 0 > /sys/class/net/p1a/queues/rx-0/rps_cpus'
	nsx $P-n1 ip link del cni0
	nsx $P-n1 ip link del flannel.1
	nsx $P-n1 ip addr flush dev sl-up0
}

run_testpmd() {
	# --stats-period keeps testpmd running without reading stdin, until SIGINT.
	ip netns exec $P-n1 dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci --file-prefix $P-tp $MEM \
		--log-level=lib.eal:error --vdev net_af_xdp0,iface=p1a,busy_budget=0 --vdev net_af_xdp1,iface=sl-up0,busy_budget=0 \
		-- --forward-mode=io --auto-start --nb-cores=1 --stats-period 60 >"$RUN/testpmd.log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do grep -q "Press enter\|Port statistics\|forwarding packets" "$RUN/testpmd.log" && break; sleep 0.1; done
	sleep 1
	gen testpmd 02:00:00:00:00:00
	kill -INT "$pid"; wait "$pid" || true
}

[ -x "$B/perf/sluice-gen" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
echo "vxlan_bench: $(nproc) cores, EAL memory: $MEM, paths: $PATHS, forwarding core $FWD_CORE"
topology
for p in $PATHS; do "run_$p"; done

python3 perf/vxlan_report.py "$RUN" "$OUTBASE.json" "$SIZE" "$RUN/all.jsonl"
BASE=(); [ -f "$RUN/kernel.json" ] && BASE=(--baseline kernel)
VS=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["ratios"]["sluice_vs_ovs"]
print(f", sluice/OVS {r:.2f}x" if r else "")' "$OUTBASE.json")
/usr/bin/python3 perf/plot.py "$RUN/all.jsonl" "${BASE[@]}" \
	--title "64-byte UDP pod -> remote pod over VXLAN, one core$VS" -o "$OUTBASE.png" &&
	echo "chart: $OUTBASE.png"
