#!/bin/bash
# Scale: one sluiced node with 260 kernel pods attached over AF_XDP at run time (the issue
# asks for at least 256). Checks the first, middle and last pods reach the gateway, each
# other and the node; the daemon lists them all; detaching all of them leaves no XDP
# program on any veth. Usage (root, repo root): SL_BUILD=build bash tests/integration/many_pods.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-sl}m-
export SL_RUN=${SL_RUN:-/tmp/${SL_PREFIX}run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
source scripts/lib/topo.sh
N=${SL_MANY_PODS:-260}
source scripts/lib/check.sh
pod_ip() { echo "10.244.$(( ($1 + 2) / 256 )).$(( ($1 + 2) % 256 ))"; }

cleanup() {
	node_stop 1
	for i in $(seq 0 $((N - 1))); do ip netns del "$(ns q$i)" 2>/dev/null || true; done
	ip netns del "$(ns n1)" 2>/dev/null || true
	ip netns del "$(ns ul)" 2>/dev/null || true
	rm -rf "$SL_RUN"
}
trap cleanup EXIT
cleanup 2>/dev/null
mkdir -p "$SL_RUN"

ip netns add "$(ns n1)"
ip netns add "$(ns ul)"
ip link add sl-up0 netns "$(ns n1)" type veth peer name n1 netns "$(ns ul)"
in_ns n1 ip link set sl-up0 up
in_ns n1 ip link set lo up
t0=$SECONDS
for i in $(seq 0 $((N - 1))); do topo_pod n1 "q$i" "$(pod_ip $i)" 10.244.0.1; done
echo "# created $N pod namespaces in $((SECONDS - t0)) s"
cat >"$SL_RUN/node1.json" <<JSON
{"node": {"name": "big", "ip": "198.18.0.1", "pod_cidr": "10.244.0.0/22",
          "cluster_cidr": "10.244.0.0/16"},
 "uplink": {"devargs": "net_af_xdp0,iface=sl-up0"}}
JSON
node_start 1 "$SL_RUN/node1.json" || exit 1

t0=$SECONDS
attach_fail=0
for i in $(seq 0 $((N - 1))); do
	ctl 1 pod add name="q$i" ip="$(pod_ip $i)" mac="$(pod_mac "q$i")" ifname="q$i" >/dev/null ||
		attach_fail=$((attach_fail + 1))
done
echo "# attached $N pods in $((SECONDS - t0)) s"
check "all $N pods attached" test "$attach_fail" = 0
check "sluiced lists $N pods" test "$(ctl 1 -o json show pods | grep -c '"ifname"')" = "$N"
last=$((N - 1)) mid=$((N / 2))
for i in 0 $mid $last; do
	check "pod q$i -> gateway" in_ns "q$i" ping -c 2 -i 0.2 -W 2 10.244.0.1
done
check "pod q0 -> pod q$last" in_ns q0 ping -c 2 -i 0.2 -W 2 "$(pod_ip $last)"
check "pod q$last -> pod q$mid" in_ns "q$last" ping -c 2 -i 0.2 -W 2 "$(pod_ip $mid)"
check "node -> pod q$last" in_ns n1 ping -c 2 -i 0.2 -W 2 "$(pod_ip $last)"
check "pod q$mid -> node" in_ns "q$mid" ping -c 2 -i 0.2 -W 2 198.18.0.1
ctl 1 show workers

t0=$SECONDS
for i in $(seq 0 $((N - 1))); do ctl 1 pod del name="q$i" >/dev/null; done
echo "# detached $N pods in $((SECONDS - t0)) s"
check "no pods left" test "$(ctl 1 -o json show pods | grep -c '"ifname"')" = 0
check "no XDP program left on pod veths" \
	bash -c "! ip netns exec $(ns n1) ip -d link show | grep -q 'prog/xdp.*' || \
		 [ \$(ip netns exec $(ns n1) ip -d link show | grep -c 'prog/xdp') = 1 ]"
check "daemon still answers" ctl 1 version
check "sluiced stops cleanly (SIGTERM, exit 0)" node_stop 1
check_summary
