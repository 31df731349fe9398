#!/bin/bash
# NetworkPolicy conformance on a two-node sluice topology: upstream's network-policy e2e model
# (namespaces x, y, z; pods a, b, c in each; TCP and UDP on ports 80 and 81, SCTP when the
# kernel has it) replayed case by case, every pod -> pod cell checked against a reference
# evaluator written from the API docs (tests/integration/netpol/: truth.py the evaluator,
# cases.py the 48 upstream specs and cyclonus-style combinations, driver.py the replay,
# agent.py the per-pod server and parallel prober).
#
#   underlay sl-ul (br0) -- node1 (sluiced) pods x/a x/c y/b z/a z/c  10.244.1.2-6
#                        -- node2 (sluiced) pods x/b y/a y/c z/b      10.244.2.2-5
# Pods are kernel pods on veths attached to sluiced (AF_XDP), as in scripts/lib/topo.sh; both
# nodes get the 3 Namespaces and 9 Pods (labels, status.podIP, named container ports) with
# `sluicectl apply -f`, then each case's NetworkPolicies (and label changes) the same way.
#
# Usage (root, repo root): SL_BUILD=build bash tests/integration/netpol_conformance.sh [DRIVER-ARGS]
#   e.g. --only 'default-deny' (cases by regex), --list-wrong 20, --quiet-tables
# Environment: SL_PREFIX (default slnp-), SL_RUN (default /tmp/slnp-run), SL_EAL_MEM,
#   NPC_JSON=FILE (per-case results as JSON), NPC_KERNEL_REFERENCE=1 (self-test of the rig:
#   the evaluator's verdicts enforced by iptables inside the pods, so the probes meet real
#   denials whatever sluiced does; the cases then pass except refused requests and the
#   established-flow cuts, which conntrack keeps, as Calico does).
# Output: "ok - CASE" / "not ok - CASE (...)" with a reachability matrix per wrong
# (port, protocol) and "N passed, M failed"; exit 1 when anything failed.
set -u
cd "$(dirname "$0")/../.." || exit 2
export SL_PREFIX=${SL_PREFIX:-slnp-} SL_RUN=${SL_RUN:-/tmp/slnp-run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
SL_BUILD=${SL_BUILD:-build}
case $SL_BUILD in /*) ;; *) SL_BUILD=$PWD/$SL_BUILD ;; esac
export SL_BUILD
source scripts/lib/topo.sh
[ "$(id -u)" = 0 ] || { echo "netpol_conformance.sh: must run as root" >&2; exit 2; }
for b in "$SL_BUILD/control/sluiced" "$SL_BUILD/control/cli/sluicectl"; do
	[ -x "$b" ] || { echo "netpol_conformance.sh: $b not built" >&2; exit 2; }
done
T0=$SECONDS
ARGS=("$@") # the driver's (set -- below reuses the positional parameters)
# pod KEY NODE IP (the layout of tests/integration/netpol/cases.py, printed by it)
mapfile -t PODS < <(cd tests/integration/netpol && python3 -c '
import cases
for p in cases.PODS: print(p["ns"], p["name"], p["node"], p["ip"])')
[ ${#PODS[@]} = 9 ] || { echo "cases.py did not list 9 pods" >&2; exit 2; }
AGENTS=()
cleanup() {
	local p
	for p in "${AGENTS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	topo_down
	for l in "${PODS[@]}"; do
		set -- $l
		ip netns del "$(ns "np-$1-$2")" 2>/dev/null || true
	done
	rm -rf "$SL_RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# mk_pod NODE PODNS IFNAME IP GW: topo.sh's topo_pod with the host end named IFNAME.
mk_pod() {
	local node=$1 pod=$2 ifn=$3 ip=$4 gw=$5
	ip netns add "$(ns "$pod")" &&
	ip link add "$ifn" netns "$(ns "$node")" type veth peer name eth0 netns "$(ns "$pod")" &&
	in_ns "$pod" ip link set lo up &&
	in_ns "$pod" ip link set eth0 mtu 1450 up &&
	in_ns "$pod" ip addr add "$ip/32" dev eth0 &&
	in_ns "$pod" ip route add "$gw" dev eth0 scope link &&
	in_ns "$pod" ip route add default via "$gw" dev eth0 onlink &&
	{ in_ns "$pod" ethtool -K eth0 tx off >/dev/null 2>&1 || true; } &&
	in_ns "$node" ip link set "$ifn" mtu 1450 up
}

topo_down 2>/dev/null
mkdir -p "$SL_RUN"
ip netns add "$(ns ul)"
in_ns ul sysctl -qw net.ipv6.conf.all.disable_ipv6=1
in_ns ul ip link add br0 type bridge
in_ns ul ip link set br0 up
for n in n1 n2; do
	ip netns add "$(ns $n)"
	ip link add sl-up0 netns "$(ns $n)" type veth peer name "$n" netns "$(ns ul)"
	in_ns ul ip link set "$n" master br0 up
	in_ns $n ip link set lo up
	in_ns $n ip link set sl-up0 up
	in_ns $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
for l in "${PODS[@]}"; do
	set -- $l
	# pod namespace ${SL_PREFIX}np-NS-POD, its host end NSPOD (e.g. xa) in node N's namespace
	mk_pod "n$3" "np-$1-$2" "$1$2" "$4" "10.244.$3.1" || exit 2
done

# node_json N: node N's config (topo.sh's node_config has fixed pods p1a/p1b): this rig's pods
# of node N ("NS POD IP MAC" lines on stdin), a small conntrack table.
node_json() {
	python3 -c '
import json, sys
n, vni, pmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
o = 3 - n
pods = [l.split() for l in sys.stdin if l.strip()]
print(json.dumps({
  "node": {"name": "node%d" % n, "ip": "198.18.0.%d" % n, "pod_cidr": "10.244.%d.0/24" % n,
           "cluster_cidr": "10.244.0.0/16"},
  "uplink": {"devargs": "%s%d,iface=sl-up0" % (pmd, n), "mtu": 1500},
  "host": {"enabled": True, "ifname": "sl-host"},
  "vxlan": {"vni": vni, "port": 4789},
  "conntrack": {"size": 65536},
  "pods": [{"name": p, "namespace": ns, "ip": ip, "mac": mac, "ifname": ns + p}
           for ns, p, ip, mac in pods],
  "nodes": [{"name": "node%d" % o, "ip": "198.18.0.%d" % o, "pod_cidr": "10.244.%d.0/24" % o}]},
  indent=1))' "$1" "$SL_VNI" "$SL_UPLINK_PMD"
}
for n in 1 2; do
	for l in "${PODS[@]}"; do
		set -- $l
		[ "$3" = $n ] && echo "$1 $2 $4 $(in_ns "np-$1-$2" cat /sys/class/net/eth0/address)"
	done | node_json $n >"$SL_RUN/node$n.json" || exit 2
	node_start $n "$SL_RUN/node$n.json" || exit 2
done
wait_vtep 1 && wait_vtep 2 || { echo "VTEPs unresolved"; exit 2; }

# SCTP: only if the pods' kernel speaks it (no module loads on some machines).
modprobe sctp >/dev/null 2>&1 || true
SCTP=()
in_ns np-x-a python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)' \
	2>/dev/null && SCTP=(--sctp)
for l in "${PODS[@]}"; do
	set -- $l
	ip netns exec "$(ns "np-$1-$2")" python3 tests/integration/netpol/agent.py \
		"$SL_RUN/agent-$1-$2.sock" "${SCTP[@]}" >"$SL_RUN/agent-$1-$2.log" 2>&1 &
	AGENTS+=($!)
done
for l in "${PODS[@]}"; do
	set -- $l
	for _ in $(seq 100); do grep -q ready "$SL_RUN/agent-$1-$2.log" 2>/dev/null && break; sleep 0.05; done
	grep -q ready "$SL_RUN/agent-$1-$2.log" || { echo "agent $1/$2 did not start:"; cat "$SL_RUN/agent-$1-$2.log"; exit 2; }
done
echo "# set-up: 2 nodes, 9 pods, 9 agents in $((SECONDS - T0)) s"
python3 tests/integration/netpol/driver.py --agents "$SL_RUN" --ctl "$SL_BUILD/control/cli/sluicectl" \
	--sock "$SL_RUN/node1.sock" --sock "$SL_RUN/node2.sock" "${SCTP[@]}" \
	${NPC_JSON:+--json "$NPC_JSON"} ${NPC_KERNEL_REFERENCE:+--kernel-reference "$(ns np-)"} "${ARGS[@]}"
rc=$?
echo "# netpol_conformance: $((SECONDS - T0)) s"
exit $rc
