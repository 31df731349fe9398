#!/bin/bash
# Benchmark: 64-byte UDP from a pod to a pod on a remote node over VXLAN, one forwarding
# core, three paths measured side by side in one run with the same generator:
#   sluice   sluiced (one worker): pod AF_XDP port -> route -> VXLAN encap -> AF_XDP uplink
#   kernel   the flannel data path: veth -> bridge -> routing -> Linux VXLAN device -> veth
#   testpmd  dpdk-testpmd io-forward between the same two AF_XDP ports (the port ceiling)
#
#   [slp-pod] eth0 ==veth== p1a [slp-n1: DUT] sl-up0 ==veth== sink0 [slp-sink]
#      sluice-gen TX (AF_XDP)                                 sluice-gen RX (AF_XDP)
#
# sluice-gen plays both the pod and the remote node (it receives the VXLAN frames), so the
# DUT's forwarding core is the only one doing the work under test. Prints pps, Gbit/s, loss,
# latency per path, the ratios, and sluice's cycles per packet per graph node; writes
# perf/results/vxlan-<time>.json and .png.
# Usage: sudo perf/vxlan_bench.sh [--duration S] [--size BYTES] [--flows N] [--rate PPS]
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
MEM=$(sl_eal_mem)
B=${SL_BUILD:-build}
OUT=perf/results
STAMP=$(date +%Y%m%d-%H%M%S)
RUN=$(mktemp -d /tmp/slp-XXXX)
mkdir -p "$OUT"
GW_MAC=02:5c:00:00:00:01
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for n in slp-pod slp-n1 slp-sink; do ip netns del $n 2>/dev/null || true; done
	[ -n "${KEEP:-}" ] || rm -rf "$RUN"
	rm -f /dev/hugepages/slp-* 2>/dev/null || true
}
trap cleanup EXIT

nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }
mac_of() { nsx "$1" cat "/sys/class/net/$2/address"; }

topology() {
	for n in slp-pod slp-n1 slp-sink; do ip netns del $n 2>/dev/null || true; ip netns add $n; done
	ip link add eth0 netns slp-pod type veth peer name p1a netns slp-n1
	ip link add sl-up0 netns slp-n1 type veth peer name sink0 netns slp-sink
	for l in "slp-pod eth0" "slp-n1 p1a" "slp-n1 sl-up0" "slp-sink sink0"; do
		set -- $l
		nsx "$1" ip link set "$2" up
		nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	done
}

# gen LABEL DST_MAC: run sluice-gen from the pod to the sink; result in $RUN/LABEL.json
gen() {
	local label=$1 dst_mac=$2
	echo "--- $label: ${DURATION}s of ${SIZE}-byte UDP, $FLOWS flows"
	"$B/perf/sluice-gen" --no-pci -l 0 --file-prefix slp-gen $MEM --log-level=lib.eal:error \
		-- --tx-port slp-pod:net_af_xdp10,iface=eth0 --rx-port slp-sink:net_af_xdp11,iface=sink0 \
		--src-mac "$(mac_of slp-pod eth0)" --dst-mac "$dst_mac" \
		--src-ip 10.244.1.2 --dst-ip 10.244.2.2 --flows "$FLOWS" --size "$SIZE" \
		--rate "$RATE" --duration "$DURATION" --label "$label" --json "$RUN/$label.json" \
		2>&1 | grep -vE "^(libbpf|libxdp|EAL|TELEMETRY)" || true
}

run_sluice() {
	cat >"$RUN/n1.json" <<JSON
{
  "node": {"name": "bench", "ip": "198.18.0.1", "pod_cidr": "10.244.1.0/24"},
  "uplink": {"devargs": "net_af_xdp0,iface=sl-up0", "mtu": 1500},
  "host": {"enabled": false},
  "pods": [{"name": "gen", "ip": "10.244.1.2", "mac": "$(mac_of slp-pod eth0)", "ifname": "p1a"}],
  "nodes": [{"name": "sink", "ip": "198.18.0.2", "pod_cidr": "10.244.2.0/24",
             "mac": "$(mac_of slp-sink sink0)"}]
}
JSON
	# ip netns exec execs, so $! is sluiced itself (a backgrounded function would be a subshell)
	ip netns exec slp-n1 "$B/control/sluiced" -c "$RUN/n1.json" -s "$RUN/n1.sock" -- -l 0,1 --main-lcore 0 \
		--no-pci --file-prefix slp-n1 $MEM --log-level=lib.eal:error >"$RUN/sluiced.log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do [ -S "$RUN/n1.sock" ] && break; sleep 0.1; done
	gen sluice "$GW_MAC"
	"$B/control/cli/sluicectl" -s "$RUN/n1.sock" -o json show graph >"$RUN/graph.json"
	"$B/control/cli/sluicectl" -s "$RUN/n1.sock" show graph | grep -v " drop-"
	"$B/control/cli/sluicectl" -s "$RUN/n1.sock" -o json show stats >"$RUN/stats.json"
	kill -TERM "$pid"; wait "$pid" || true
}

run_kernel() {
	nsx slp-n1 sysctl -qw net.ipv4.ip_forward=1
	nsx slp-n1 ip link add cni0 type bridge
	nsx slp-n1 ip addr add 10.244.1.1/24 dev cni0
	nsx slp-n1 ip link set cni0 up
	nsx slp-n1 ip link set p1a master cni0
	nsx slp-n1 ip addr add 198.18.0.1/24 dev sl-up0
	nsx slp-n1 ip link add flannel.1 type vxlan id 1 local 198.18.0.1 dev sl-up0 dstport 4789 nolearning
	nsx slp-n1 ip link set flannel.1 mtu 1450 up
	nsx slp-n1 ip neigh add 10.244.2.0 lladdr 02:00:00:00:02:00 dev flannel.1 nud permanent
	nsx slp-n1 bridge fdb add 02:00:00:00:02:00 dev flannel.1 dst 198.18.0.2
	nsx slp-n1 ip route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink
	nsx slp-n1 ip neigh add 198.18.0.2 lladdr "$(mac_of slp-sink sink0)" dev sl-up0 nud permanent
	# One forwarding core for the kernel too: RPS moves p1a's receive processing off the
	# generator's core 0 to core 1, where sluiced's worker and testpmd run.
	nsx slp-n1 sh -c 'echo 2 > /sys/class/net/p1a/queues/rx-0/rps_cpus'
	gen kernel "$(mac_of slp-n1 cni0)"
	nsx slp-n1 sh -c 'echo 0 > /sys/class/net/p1a/queues/rx-0/rps_cpus'
	nsx slp-n1 ip link del cni0
	nsx slp-n1 ip link del flannel.1
	nsx slp-n1 ip addr flush dev sl-up0
}

run_testpmd() {
	# --stats-period keeps testpmd running without reading stdin, until SIGINT.
	ip netns exec slp-n1 dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci --file-prefix slp-tp $MEM \
		--log-level=lib.eal:error --vdev net_af_xdp0,iface=p1a --vdev net_af_xdp1,iface=sl-up0 \
		-- --forward-mode=io --auto-start --nb-cores=1 --stats-period 60 >"$RUN/testpmd.log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do grep -q "Press enter\|Port statistics\|forwarding packets" "$RUN/testpmd.log" && break; sleep 0.1; done
	sleep 1
	gen testpmd 02:00:00:00:00:00
	kill -INT "$pid"; wait "$pid" || true
}

[ -x "$B/perf/sluice-gen" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
echo "vxlan_bench: $(nproc) cores, EAL memory: $MEM"
topology
for p in ${SL_BENCH_PATHS:-sluice kernel testpmd}; do "run_$p"; done

python3 - "$RUN" "$OUT/vxlan-$STAMP.json" "$SIZE" <<'PY'
import json, sys
run, out, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
paths = {}
for label in ("sluice", "kernel", "testpmd"):
    try:
        paths[label] = json.load(open(f"{run}/{label}.json"))
    except (OSError, ValueError):
        paths[label] = None
graph = json.load(open(f"{run}/graph.json"))
nodes = {g["node"]: g for g in graph}
def cpp(n):
    return nodes.get(n, {}).get("cycles_per_packet", 0.0)
route_encap = cpp("ip4-lookup") + cpp("vxlan-encap")
inner = sum(cpp(n) for n in ("eth-input", "ip4-input", "ip4-lookup", "vxlan-encap"))
def pps(l):
    return (paths[l] or {}).get("rx_pps", 0.0)
ratios = {
    "sluice_vs_kernel": pps("sluice") / pps("kernel") if pps("kernel") else None,
    "sluice_vs_testpmd": pps("sluice") / pps("testpmd") if pps("testpmd") else None,
}
res = {"scenario": "pod-to-remote-pod VXLAN, one forwarding core", "frame_size": size,
       "paths": paths, "ratios": ratios,
       "cycles_per_packet": {"route_plus_encap": round(route_encap, 1),
                             "graph_excluding_io": round(inner, 1), "per_node": graph}}
json.dump(res, open(out, "w"), indent=2)
print()
print(f"{'path':8} {'rx kpps':>9} {'Gbit/s':>7} {'loss %':>7} {'p50 us':>7} {'p99 us':>7} {'p999 us':>8}")
for l, p in paths.items():
    if not p:
        print(f"{l:8} {'(failed)':>9}")
        continue
    lat = p.get("lat_ns", {})
    print(f"{l:8} {p['rx_pps']/1e3:9.1f} {p['rx_gbps']:7.3f} {p['loss_pct']:7.2f} "
          f"{lat.get('p50',0)/1e3:7.1f} {lat.get('p99',0)/1e3:7.1f} {lat.get('p999',0)/1e3:8.1f}")
f = lambda x: "n/a" if x is None else f"{x:.2f}"
print(f"\nsluice/kernel  = {f(ratios['sluice_vs_kernel'])}   (target >= 3)")
print(f"sluice/testpmd = {f(ratios['sluice_vs_testpmd'])}   (target >= 0.8)")
print(f"cycles/packet: ip4-lookup + vxlan-encap = {route_encap:.1f} (target < 150); "
      f"eth-input..vxlan-encap = {inner:.1f}")
print(f"results: {out}")
PY
for l in sluice kernel testpmd; do [ -f "$RUN/$l.json" ] && cat "$RUN/$l.json"; echo; done >"$RUN/all.jsonl"
/usr/bin/python3 perf/plot.py "$RUN/all.jsonl" --baseline kernel \
	--title "64-byte UDP pod -> remote pod over VXLAN, one core" -o "$OUT/vxlan-$STAMP.png" &&
	echo "chart: $OUT/vxlan-$STAMP.png"
