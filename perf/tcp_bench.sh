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
#   kernel   the flannel data path: pod veths on a bridge (cni0) in the node namespace,
#            routing, a nolearning Linux VXLAN device (flannel.1, VNI 1, MTU 1450) with a
#            permanent neighbour + FDB entry for the peer's pod CIDR, pod checksum/TSO
#            offloads on (flannel's defaults)
# Each round runs every test on sluice, then on the kernel path (the order alternates per
# round), so both see the same machine load; the report gives the median per test and the
# sluice/kernel ratios, node 1's graph cycles per packet per node during each sluice test,
# and draws a chart. Writes perf/results/tcp-<time>.json and .png.
#
# Usage: sudo perf/tcp_bench.sh [--quick] [--duration S] [--rounds N]
#   --quick: 1 round of 3 s tests (a smoke run; figures are noisier)
# Environment: SL_PREFIX (namespaces, EAL prefixes; default slt-), SL_RUN, SL_BUILD,
#   SL_BENCH_PATHS="sluice kernel", SL_BENCH_TESTS="same:1 same:4 vxlan:1 vxlan:4",
#   SL_POD_MTU (default 1450), SL_POD_ETHTOOL (ethtool -K arguments for the pods' eth0 on
#   the sluice path, e.g. "gro on"), SL_SLUICE_EXTRA (JSON members added to sluiced's config),
#   KEEP=1 keeps the run directory.
set -euo pipefail
trap 'echo "tcp_bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
DURATION=5 ROUNDS=2
while [ $# -gt 0 ]; do
	case $1 in
	--quick) DURATION=3 ROUNDS=1; shift ;;
	--duration) DURATION=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	*) echo "usage: $0 [--quick] [--duration S] [--rounds N]" >&2; exit 2 ;;
	esac
done
export SL_PREFIX=${SL_PREFIX:-slt-}
export SL_RUN=${SL_RUN:-/run/sluice-${SL_PREFIX%-}}
export SL_VNI=1
source scripts/lib/topo.sh
source scripts/lib/eal.sh
source scripts/lib/tappod.sh
SL_EAL_MEM=${SL_EAL_MEM:-$(sl_eal_mem)}
PATHS=${SL_BENCH_PATHS:-sluice kernel}
TESTS=${SL_BENCH_TESTS:-same:1 same:4 vxlan:1 vxlan:4}
POD_MTU=${SL_POD_MTU:-1450}
export SL_POD_MTU=$POD_MTU
OUT=perf/results
STAMP=$(date +%Y%m%d-%H%M%S)
RUN=$(mktemp -d "/tmp/${SL_PREFIX}tcp-XXXX")
mkdir -p "$OUT" "$SL_RUN"
RESULTS=$RUN/results.jsonl
: >"$RESULTS"

cleanup() {
	kernel_down 2>/dev/null || true
	topo_down || true
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

graph_json() { ctl 1 -o json show graph 2>/dev/null || echo '[]'; }

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
	[ "${path#sluice}" != "$path" ] && graph_json >"$out.graph0"
	if ! in_ns p1a timeout $((DURATION + 15)) iperf3 -c $dst -p 5201 -t "$DURATION" \
		-P "$streams" -J >"$out.json" 2>"$out.err"; then
		echo "  $path $test ${streams}x: iperf3 failed: $(head -c 300 "$out.err" "$out.json" | tr '\n' ' ')"
		if [ "${path#sluice}" != "$path" ]; then # what both nodes saw (kept with KEEP=1)
			for n in 1 2; do
				{ ctl $n show ports; ctl $n show neighbors; ctl $n show stats; } >"$out.node$n" 2>&1 || true
			done
			echo "  node 2 uplink: $(grep ' uplink ' "$out.node2" | tr -s ' ')"
		fi
	fi
	[ "${path#sluice}" != "$path" ] && graph_json >"$out.graph1"
	wait "$spid" 2>/dev/null || true
	python3 perf/tcp_report.py line "$out" "$path" "$test" "$streams" "$round" >>"$RESULTS"
}

run_path() { # run_path PATH ROUND
	local path=$1 round=$2
	echo "--- round $round: $path"
	"${path}_up"
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
SL_POD_MTU=$POD_MTU /usr/bin/python3 perf/tcp_report.py report "$RESULTS" "$OUT/tcp-$STAMP.json" "$OUT/tcp-$STAMP.png"
