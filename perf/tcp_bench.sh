#!/bin/bash
# Benchmark (issue 13): TCP between kernel pods, iperf3, 1 and 4 streams, pod -> pod on the
# same node and pod -> pod on the other node over VXLAN, for two paths on the same
# two-node topology (scripts/lib/topo.sh), measured interleaved in one run:
#   sluice   sluiced on each node (one worker; pod ports AF_XDP, uplink net_af_xdp)
#   sluice-tap      sluiced with tap pods ("interface": "tap", drivers/sl_tap.h): the pods'
#            eth0 is a tap with virtio-net offloads (TSO4, checksum), 64 KiB GSO frames
#   sluice-tap-off  the same with tap.offload false (MTU-sized frames, full checksums)
#   sluice-tap-uplink  tap pods and a tap uplink (uplink.kind "tap", bridged with the underlay
#            veth in the node namespace) with UDP tunnel GSO: VXLAN frames carrying TCP
#            leave and arrive whole (Linux 6.17+; drivers/sl_tap.h "Tap uplink")
#   sluice-tap-uplink-2w  the same with two workers per node (a tap queue per worker)
#   sluice-tap-uplink-rps0  the same with the pods' receive steered to CPU 0 (same node)
#   kernel   the flannel data path: pod veths on a bridge (cni0) in the node namespace,
#            routing, a nolearning Linux VXLAN device (flannel.1, VNI 1, MTU 1450) with a
#            permanent neighbour + FDB entry for the peer's pod CIDR, pod checksum/TSO
#            offloads on (flannel's defaults)
#   ovs      Open vSwitch 3.1 with DPDK (userspace datapath, scripts/lib/ovs.sh) in each node
#            namespace, one PMD thread each: pod ports and uplink as OVS afxdp ports,
#            br-int routes (OpenFlow, gateway ARP answered by a flow) into a userspace VXLAN
#            tunnel, br-phy holds the node IP; the pods' checksum offload off (see ovs_up)
# Each round runs every test on sluice, then on the kernel path (the order alternates per
# round), so both see the same machine load; the report gives the median per test and the
# path/kernel ratios, the CPU the whole machine spent during each test (/proc/stat: busy
# cores, 0-2 here, and Gbit/s per busy core), node 1's graph cycles per packet per node
# during each sluice test, and draws a chart. With --udp64 (the default except with
# --quick) it then runs perf/vxlan_bench.sh (64-byte UDP, one forwarding core) for the
# matching paths and puts those rates in the same report and chart. Writes
# perf/results/tcp-<time>.json and .png (and tcp-<time>-udp64.json/.png, vxlan_bench's own).
#
# Usage: sudo perf/tcp_bench.sh [--quick] [--duration S] [--rounds N] [--udp64|--no-udp64]
#   --quick: 1 round of 3 s tests, no 64-byte UDP (a smoke run; figures are noisier)
# Environment: SL_PREFIX (namespaces, EAL prefixes; default slt-), SL_RUN, SL_BUILD,
#   SL_BENCH_PATHS="sluice kernel", SL_BENCH_TESTS="same:1 same:4 vxlan:1 vxlan:4",
#   SL_POD_MTU (default 1450), SL_POD_ETHTOOL (ethtool -K arguments for the pods' eth0 on
#   the sluice path, e.g. "gro on"), SL_SLUICE_EXTRA (JSON members added to sluiced's config),
#   SL_OVS_MAXSLEEP (the ovs path's pmd-maxsleep in us, default 200; 0 = the PMD spins),
#   SL_OVS_POD_TX (the pods' checksum offload on the ovs path, default off; "on" shows why),
#   SL_BENCH_PERF=DIR (a system-wide perf record of each test's steady window into DIR),
#   SL_UDP64_PATHS (vxlan_bench paths for --udp64; default from SL_BENCH_PATHS: sluice,
#   sluice_tap when a tap path ran, ovs, kernel), KEEP=1 keeps the run directory.
set -euo pipefail
trap 'echo "tcp_bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
DURATION=5 ROUNDS=2 UDP64=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) DURATION=3 ROUNDS=1 UDP64=${UDP64:-0}; shift ;;
	--duration) DURATION=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--udp64) UDP64=1; shift ;;
	--no-udp64) UDP64=0; shift ;;
	*) echo "usage: $0 [--quick] [--duration S] [--rounds N] [--udp64|--no-udp64]" >&2; exit 2 ;;
	esac
done
export SL_PREFIX=${SL_PREFIX:-slt-}
export SL_RUN=${SL_RUN:-/run/sluice-${SL_PREFIX%-}}
export SL_VNI=1
source scripts/lib/topo.sh
source scripts/lib/eal.sh
source scripts/lib/tappod.sh
source scripts/lib/ovs.sh
SL_EAL_MEM=${SL_EAL_MEM:-$(sl_eal_mem)}
PATHS=${SL_BENCH_PATHS:-sluice kernel}
TESTS=${SL_BENCH_TESTS:-same:1 same:4 vxlan:1 vxlan:4}
POD_MTU=${SL_POD_MTU:-1450}
export SL_POD_MTU=$POD_MTU
UDP64=${UDP64:-1}
OVS_MAXSLEEP=${SL_OVS_MAXSLEEP:-200}
OVS_STARTS=0
OUT=perf/results
STAMP=$(date +%Y%m%d-%H%M%S)
RUN=$(mktemp -d "/tmp/${SL_PREFIX}tcp-XXXX")
mkdir -p "$OUT" "$SL_RUN"
RESULTS=$RUN/results.jsonl
: >"$RESULTS"

cleanup() {
	sl_ovs_stop_all 2>/dev/null || true
	kernel_down 2>/dev/null || true
	topo_down || true
	rm -f "/dev/hugepages/${SL_PREFIX}"* 2>/dev/null || true
	rm -rf "/var/run/dpdk/${SL_PREFIX}"* # EAL runtime directories of sluiced and OVS
	[ -n "${KEEP:-}" ] && echo "run directory: $RUN" || rm -rf "$RUN"
}
trap cleanup EXIT

pods_tx() { # pods_tx on|off: checksum offload (and with it TSO) of every pod's eth0
	for p in p1a p1b p2a p2b; do
		in_ns $p ethtool -K eth0 tx "$1" >/dev/null 2>&1 || true
		in_ns $p ip neigh flush all # the gateway's MAC is the other path's
	done
}

sluice_up() { # SL_AF_XDP_MODE: "" (sluiced's default), native or skb; SL_TAP_PODS=1: tap pods
	local mode=${SL_AF_XDP_MODE:-}
	if [ -n "${SL_POD_ETHTOOL:-}" ] && [ -z "${SL_TAP_PODS:-}" ]; then # e.g. "gro on": features of every pod's eth0
		for p in p1a p1b p2a p2b; do in_ns $p ethtool -K eth0 $SL_POD_ETHTOOL; done
	fi
	for n in 1 2; do
		node_config "$n" >"$SL_RUN/node$n.json"
		python3 - "$SL_RUN/node$n.json" "${SL_SLUICE_EXTRA:-null}" "$POD_MTU" "$mode" <<-'PY'
		import json, sys
		c = json.load(open(sys.argv[1])); c.update(json.loads(sys.argv[2]) or {})
		if sys.argv[4]:
		    c.setdefault("af_xdp", {})["mode"] = sys.argv[4]
		if sys.argv[3] != "1450":
		    c["node"]["pod_mtu"] = int(sys.argv[3])
		json.dump(c, open(sys.argv[1], "w"))
		PY
		if [ -n "${SL_TAP_PODS:-}" ]; then
			tap_pods_veth_del "$n"
			tap_pods_config "$n" "$SL_RUN/node$n.json"
		fi
		[ -z "${SL_TAP_UPLINK:-}" ] || { tap_uplink_config "$n" "$SL_RUN/node$n.json"; tap_uplink_prepare "$n"; }
		node_start "$n" "$SL_RUN/node$n.json"
		[ -z "${SL_TAP_PODS:-}" ] || tap_pods_attach "$n"
		[ -z "${SL_TAP_UPLINK:-}" ] || tap_uplink_bridge "$n"
	done
	wait_vtep 1 && wait_vtep 2
	if [ -n "${SL_TAP_PODS:-}" ]; then
		echo "  sluice tap pods, offloads: $(in_ns p1a ethtool -k eth0 | awk '/^tcp-segmentation-offload/ {print $2}')"
		return
	fi
	# Native XDP: veth takes GSO from the pod and frames lose "checksum partial", so the
	# pods fill checksums; skb mode: the pods keep their offloads. sluice-cni follows the
	# mode sluiced reports (version: af_xdp_mode); so does this.
	mode=$(ctl 1 -o json version | python3 -c 'import json,sys; print(json.load(sys.stdin).get("af_xdp_mode", "native"))')
	[ "$mode" = skb ] && pods_tx on || pods_tx off
	echo "  sluice AF_XDP mode: $mode"
}

sluice_down() { node_stop 1; node_stop 2; }

# The same two AF_XDP modes by name, for one run that measures both (SL_BENCH_PATHS).
sluice-native_up() { SL_AF_XDP_MODE=native sluice_up; }
sluice-native_down() { sluice_down; }
sluice-skb_up() { SL_AF_XDP_MODE=skb sluice_up; }
sluice-skb_down() { sluice_down; }
# Tap pods (scripts/lib/tappod.sh): the veths go while sluiced runs, and come back after.
sluice-tap_up() { SL_TAP_PODS=1 sluice_up; }
sluice-tap_down() { sluice_down; tap_pods_veth_add 1; tap_pods_veth_add 2; }
sluice-tap-off_up() {
	SL_TAP_PODS=1 SL_SLUICE_EXTRA='{"tap": {"offload": false}}' sluice_up
}
sluice-tap-off_down() { sluice-tap_down; }
# Tap uplink: the bridge goes after sluiced (and its tap), the underlay veth stays.
sluice-tap-uplink_up() { SL_TAP_PODS=1 SL_TAP_UPLINK=1 sluice_up; }
sluice-tap-uplink_down() {
	sluice_down
	for n in 1 2; do in_ns n$n ip link del sl-upbr 2>/dev/null || true; done
	tap_pods_veth_add 1; tap_pods_veth_add 2
}
# The same with two workers per node (the pods' taps and the uplink tap a queue per worker):
# on 2 cores both nodes' workers share the cores with each other and with iperf3.
sluice-tap-uplink-2w_up() {
	SL_LCORES_1="--lcores 0@0,1@1,2@0 --main-lcore 0" \
		SL_LCORES_2="--lcores 0@1,1@0,2@1 --main-lcore 0" sluice-tap-uplink_up
}
sluice-tap-uplink-2w_down() { sluice-tap-uplink_down; }
# The same with the tap pods' receive steered to CPU 0 (tap.rps_cpus; node 1's worker runs
# on CPU 1, node 2's on CPU 0: for the same-node tests).
sluice-tap-uplink-rps0_up() {
	SL_SLUICE_EXTRA='{"tap": {"rps_cpus": "0"}}' sluice-tap-uplink_up
}
sluice-tap-uplink-rps0_down() { sluice-tap-uplink_down; }

# The flannel way, on the same namespaces and veths.
kernel_up() {
	pods_tx on
	for n in 1 2; do
		local o=$((3 - n))
		in_ns n$n sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
			net.ipv4.conf.default.send_redirects=0
		in_ns n$n ip link add cni0 type bridge
		in_ns n$n ip addr add 10.244.$n.1/24 dev cni0
		in_ns n$n ip link set cni0 mtu "$POD_MTU" up
		in_ns n$n ip link set p${n}a master cni0
		in_ns n$n ip link set p${n}b master cni0
		in_ns n$n ip addr add 198.18.0.$n/24 dev sl-up0
		in_ns n$n ip link add flannel.1 address 02:fa:00:00:00:0$n type vxlan id 1 \
			local 198.18.0.$n dev sl-up0 dstport 4789 nolearning
		in_ns n$n ip link set flannel.1 mtu 1450 up
		in_ns n$n ip neigh add 10.244.$o.0 lladdr 02:fa:00:00:00:0$o dev flannel.1 nud permanent
		in_ns n$n bridge fdb add 02:fa:00:00:00:0$o dev flannel.1 dst 198.18.0.$o
		in_ns n$n ip route add 10.244.$o.0/24 via 10.244.$o.0 dev flannel.1 onlink
	done
	in_ns p1a ping -c 1 -w 5 -q 10.244.2.2 >/dev/null
}

kernel_down() {
	for n in 1 2; do
		in_ns n$n ip link del cni0 2>/dev/null || true
		in_ns n$n ip link del flannel.1 2>/dev/null || true
		in_ns n$n ip addr flush dev sl-up0 2>/dev/null || true
	done
}

# Open vSwitch with DPDK, userspace datapath, on each node (scripts/lib/ovs.sh: its own
# ovsdb-server and ovs-vswitchd-dpdk, run directory, EAL file prefix; ovs-vswitchd in the
# node namespace). Node N (O the other):
#   br-phy (netdev): sl-up0 (afxdp, native XDP: copy mode on veth) and the node IP
#     198.18.0.N on the bridge's own port; that port's traffic goes out sl-up0, sl-up0's
#     comes to it, where OVS terminates VXLAN (tnl_pop). The peer VTEP's MAC is set
#     (tnl/arp/set), as sluiced learns it by ARP and flannel's FDB entry gives it.
#   br-int (netdev): the pods' host ends pNa, pNb (afxdp, native) and vxlan0 (VNI 1 to
#     198.18.0.O). Flows do what sluice's router and the kernel's cni0 + routing do: answer
#     ARP for the gateway 10.244.N.1 (gateway MAC 02:5c:00:00:00:0N), and route IPv4 sent
#     to that MAC: to a local pod (dec_ttl, gateway MAC -> pod MAC), to the other node's
#     CIDR (dec_ttl, out vxlan0 with the peer's gateway MAC inside); the rest is dropped.
# PMD: node 1 on core 1, node 2 on core 0 (where the sluiced workers run), every other OVS
# thread on the other core; pmd-maxsleep $OVS_MAXSLEEP us (OVS 3.1, experimental: an idle
# PMD sleeps, as an idle sluiced worker does, instead of spinning both cores while iperf3
# needs them).
ovs_gw_mac() { echo "02:5c:00:00:00:0$1"; }
ovs_vtep_mac() { echo "02:5c:00:00:01:0$1"; }
ovs_node() {
	local n=$1 o=$((3 - $1)) gw pmd=1 other=0 p ip afxdp="type=afxdp options:xdp-mode=native"
	[ "$n" = 2 ] && pmd=0 other=1
	gw=$(ovs_gw_mac "$n")
	sl_ovs_start "n$n" "$RUN/ovs$OVS_STARTS-n$n" "$(ns n$n)" $pmd $other "${SL_PREFIX}ovs$n" \
		"$SL_EAL_MEM" "$OVS_MAXSLEEP" # not in a pipe: it records the PIDs in this shell
	ovs_vsctl add-br br-phy -- set Bridge br-phy datapath_type=netdev \
		other_config:hwaddr="$(ovs_vtep_mac "$n")" \
		-- add-port br-phy sl-up0 -- set Interface sl-up0 $afxdp
	ovs_vsctl add-br br-int -- set Bridge br-int datapath_type=netdev other_config:hwaddr=$gw \
		-- add-port br-int p${n}a -- set Interface p${n}a $afxdp \
		-- add-port br-int p${n}b -- set Interface p${n}b $afxdp \
		-- add-port br-int vxlan0 -- set Interface vxlan0 type=vxlan \
		options:local_ip=198.18.0.$n options:remote_ip=198.18.0.$o options:key=1 options:dst_port=4789
	for p in sl-up0 p${n}a p${n}b vxlan0; do sl_ovs_wait_port $p; done
	in_ns n$n ip addr add 198.18.0.$n/24 dev br-phy
	in_ns n$n ip link set br-phy up
	ovs_appctl tnl/arp/set br-phy 198.18.0.$o "$(ovs_vtep_mac $o)" >/dev/null
	ovs_ofctl del-flows br-phy
	ovs_ofctl add-flow br-phy "priority=100,in_port=LOCAL,actions=output:sl-up0"
	ovs_ofctl add-flow br-phy "priority=100,in_port=sl-up0,actions=LOCAL"
	ovs_ofctl del-flows br-int
	ovs_ofctl add-flow br-int "priority=200,arp,arp_op=1,arp_tpa=10.244.$n.1,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:$gw,load:2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0x${gw//:/}->NXM_NX_ARP_SHA[],load:$(printf '0x%02x%02x%02x%02x' 10 244 "$n" 1)->NXM_OF_ARP_SPA[],IN_PORT"
	for p in a b; do
		ip=10.244.$n.2; [ $p = b ] && ip=10.244.$n.3
		ovs_ofctl add-flow br-int "priority=100,ip,dl_dst=$gw,nw_dst=$ip,actions=dec_ttl,mod_dl_src:$gw,mod_dl_dst:$(pod_mac p$n$p),output:p$n$p"
	done
	ovs_ofctl add-flow br-int "priority=100,ip,dl_dst=$gw,nw_dst=10.244.$o.0/24,actions=dec_ttl,mod_dl_src:$gw,mod_dl_dst:$(ovs_gw_mac $o),output:vxlan0"
	ovs_ofctl add-flow br-int "priority=0,actions=drop"
}

# OVS's afxdp netdev has no checksum or TSO offload (3.1: userspace-tso-enable is for DPDK
# and vhost-user ports), and native XDP on a veth takes frames without "checksum partial"
# (and strips GSO from the pod's eth0 features), so the pods fill their checksums
# (ethtool -K eth0 tx off), as OVS's own AF_XDP tests do with veths
# (tests/system-afxdp-macros.at, CONFIGURE_VETH_OFFLOADS). SL_OVS_POD_TX=on leaves it on.
ovs_up() {
	sl_ovs_check
	OVS_STARTS=$((OVS_STARTS + 1))
	pods_tx "${SL_OVS_POD_TX:-off}"
	ovs_node 1
	ovs_node 2
	sl_ovs_use n1
	ovs_appctl ofproto/trace br-int "tcp,in_port=p1a,dl_src=$(pod_mac p1a),dl_dst=$(ovs_gw_mac 1),nw_src=10.244.1.2,nw_dst=10.244.2.2,nw_ttl=64" \
		>"$RUN/ovs$OVS_STARTS-trace.txt" 2>&1 || true
	in_ns p1a ping -c 1 -w 5 -q 10.244.1.3 >/dev/null
	in_ns p1a ping -c 1 -w 5 -q 10.244.2.2 >/dev/null
	echo "  ovs: afxdp ports, pmd-maxsleep $OVS_MAXSLEEP us, pod TSO $(in_ns p1a ethtool -k eth0 | awk '/^tcp-segmentation-offload/ {print $2}'); node 1 br-int -> VXLAN: $(grep '^Datapath actions' "$RUN/ovs$OVS_STARTS-trace.txt" | cut -c1-150)"
}

ovs_down() {
	sl_ovs_stop n2
	sl_ovs_stop n1
	rm -f "/dev/hugepages/${SL_PREFIX}ovs"* 2>/dev/null || true
}

# cpu_window SECONDS: the "cpu" line (all CPUs) of /proc/stat 0.5 s from now and SECONDS
# later: what the whole machine did during the steady part of an iperf3 run.
cpu_window() { sleep 0.5; head -n1 /proc/stat; sleep "$1"; head -n1 /proc/stat; }

graph_json() { ctl 1 -o json show graph 2>/dev/null || echo '[]'; }
queues_json() { echo "[$(ctl 1 -o json show queues 2>/dev/null || echo '[]'), $(ctl 2 -o json show queues 2>/dev/null || echo '[]')]"; }

# iperf TEST STREAMS PATH ROUND: one iperf3 run; appends a result line.
iperf() {
	local test=$1 streams=$2 path=$3 round=$4 dst dst_ns out
	case $test in
	same) dst=10.244.1.3 dst_ns=p1b ;;
	vxlan) dst=10.244.2.2 dst_ns=p2a ;;
	esac
	out=$RUN/$path-$test-$streams-$round
	# Bounded, and $! the server's own PID (not an in_ns subshell's): a server whose client
	# never came would otherwise outlive the bench holding its stdout and any lock fd.
	ip netns exec "$(ns $dst_ns)" timeout $((DURATION + 30)) iperf3 -s -1 -p 5201 \
		>"$out.server" 2>&1 &
	local spid=$!
	wait_listen $dst_ns 5201 >/dev/null
	if [ "${path#sluice}" != "$path" ]; then # what each queue (worker) received, kept with KEEP=1
		graph_json >"$out.graph0"
		queues_json >"$out.queues0"
	fi
	[ "$path" = ovs ] && { sl_ovs_use n1; ovs_appctl dpif-netdev/pmd-stats-clear >/dev/null; }
	cpu_window "$(awk -v d="$DURATION" 'BEGIN { print (d > 1.5 ? d - 0.75 : d / 2) }')" >"$out.cpu" &
	local cpid=$! ppid=
	if [ -n "${SL_BENCH_PERF:-}" ]; then # a system-wide profile of the same window
		mkdir -p "$SL_BENCH_PERF"
		perf record -q -a -g -F 999 -o "$SL_BENCH_PERF/$path-$test-$streams-$round.data" -- \
			sleep "$(awk -v d="$DURATION" 'BEGIN { print (d > 1.5 ? d - 1.25 : d / 2) }')" \
			>/dev/null 2>&1 &
		ppid=$!
	fi
	if ! in_ns p1a timeout $((DURATION + 15)) iperf3 -c $dst -p 5201 -t "$DURATION" \
		-P "$streams" -J >"$out.json" 2>"$out.err"; then
		echo "  $path $test ${streams}x: iperf3 failed: $(head -c 300 "$out.err" "$out.json" | tr '\n' ' ')"
		if [ "${path#sluice}" != "$path" ]; then # what both nodes saw (kept with KEEP=1)
			for n in 1 2; do
				{ ctl $n show ports; ctl $n show neighbors; ctl $n show stats; } >"$out.node$n" 2>&1 || true
			done
			echo "  node 2 uplink: $(grep ' uplink ' "$out.node2" | tr -s ' ')"
		fi
		if [ "$path" = ovs ]; then # both nodes' ports, datapath flows and PMD counters
			for n in 1 2; do
				sl_ovs_use n$n
				{ ovs_appctl dpctl/show -s; ovs_appctl dpctl/dump-flows -m
				  ovs_appctl dpif-netdev/pmd-stats-show; } >"$out.ovs$n" 2>&1 || true
			done
		fi
	fi
	wait "$cpid" $ppid 2>/dev/null || true
	if [ "${path#sluice}" != "$path" ]; then
		graph_json >"$out.graph1"
		queues_json >"$out.queues1"
	fi
	[ "$path" = ovs ] && { sl_ovs_use n1; sl_ovs_pmd_json 1 >"$out.pmd" 2>/dev/null || true; }
	wait "$spid" 2>/dev/null || true
	python3 perf/tcp_report.py line "$out" "$path" "$test" "$streams" "$round" >>"$RESULTS"
}

run_path() { # run_path PATH ROUND
	local path=$1 round=$2
	echo "--- round $round: $path"
	"${path}_up"
	# What the machine does with this path up and no test traffic (a spinning PMD, other
	# users of the machine): a 1 s /proc/stat window.
	{ head -n1 /proc/stat; sleep 1; head -n1 /proc/stat; } >"$RUN/$path-$round.idlecpu"
	for t in $TESTS; do iperf "${t%:*}" "${t#*:}" "$path" "$round"; done
	"${path}_down"
}

command -v iperf3 >/dev/null || { echo "iperf3 not installed" >&2; exit 1; }
[ -x "$SL_BUILD/control/sluiced" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
echo "tcp_bench: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS round(s) of ${DURATION} s tests, paths: $PATHS, tests: $TESTS, pod MTU $POD_MTU"
topo_up
for n in p1a p1b p2a p2b; do
	in_ns $n ip link set eth0 mtu "$POD_MTU"
	in_ns "n${n:1:1}" ip link set "$n" mtu "$POD_MTU"
done
for r in $(seq "$ROUNDS"); do
	order=$PATHS
	[ $((r % 2)) = 0 ] && order=$(echo $PATHS | tr ' ' '\n' | tac | tr '\n' ' ')
	for p in $order; do run_path "$p" "$r"; done
done
topo_down
UDP_JSON=
if [ "$UDP64" = 1 ]; then
	if [ -z "${SL_UDP64_PATHS:-}" ]; then
		SL_UDP64_PATHS=sluice
		case " $PATHS " in *" sluice-tap"*) SL_UDP64_PATHS+=" sluice_tap" ;; esac
		case " $PATHS " in *" ovs "*) SL_UDP64_PATHS+=" ovs" ;; esac
		case " $PATHS " in *" kernel "*) SL_UDP64_PATHS+=" kernel" ;; esac
	fi
	echo "--- 64-byte UDP, pod -> remote pod over VXLAN, one forwarding core: perf/vxlan_bench.sh --duration $DURATION, paths $SL_UDP64_PATHS"
	if SL_BENCH_PREFIX=${SL_PREFIX}udp SL_BENCH_PATHS=$SL_UDP64_PATHS SL_BENCH_OUT=$OUT/tcp-$STAMP-udp64 \
		SL_BUILD=$SL_BUILD perf/vxlan_bench.sh --duration "$DURATION" 2>&1 | sed 's/^/  | /'; then
		UDP_JSON=$OUT/tcp-$STAMP-udp64.json
	else
		echo "  vxlan_bench.sh failed: no 64-byte figures in the report"
	fi
fi
SL_POD_MTU=$POD_MTU /usr/bin/python3 perf/tcp_report.py report "$RESULTS" "$OUT/tcp-$STAMP.json" \
	"$OUT/tcp-$STAMP.png" $UDP_JSON
