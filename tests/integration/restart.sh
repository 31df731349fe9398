#!/bin/bash
# Restart: pods (veth and vhost-user) and a route added through the API survive a sluiced
# restart: the state file is re-applied, veths get their AF_XDP sockets back, traffic flows.
# Usage (root, repo root): SL_BUILD=build bash tests/integration/restart.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-sl}r-
export SL_RUN=${SL_RUN:-/tmp/${SL_PREFIX}run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
source scripts/lib/topo.sh
source scripts/lib/check.sh
trap 'topo_down; rm -rf "$SL_RUN"' EXIT
topo_up
mkdir -p "$SL_RUN"
# Node 1's config without pods: they only ever come through the API.
node_config 1 | python3 -c "import json,sys; c=json.load(sys.stdin); c['pods']=[]; print(json.dumps(c))" \
	>"$SL_RUN/n1-nopods.json"
rm -f "$SL_RUN/node1.sock.state.json"
node_start 1 "$SL_RUN/n1-nopods.json" || exit 1
node_start 2 || exit 1
# Neighbours are learned only from replies to sluiced's own ARP requests (retried every
# second), no longer from the other node's requests: wait for both VTEPs.
wait_vtep 1; wait_vtep 2
for p in p1a p1b; do
	ctl 1 pod add name=$p ip=10.244.1.$([ $p = p1a ] && echo 2 || echo 3) mac="$(pod_mac $p)" ifname=$p
done
ctl 1 pod add name=dp1 interface=vhost-user socket="$SL_RUN/dp1.sock" ip=10.244.1.10 mac=02:de:00:00:00:10
ctl 1 route add prefix=203.0.113.0/24 via=198.18.0.2
check "pods reachable before restart" in_ns p1a ping -c 2 -i 0.2 -W 2 10.244.2.2
check "state file written" test -s "$SL_RUN/node1.sock.state.json"
check "sluiced stops cleanly (SIGTERM, exit 0)" node_stop 1
# While sluiced is down nothing forwards: ping runs, sends and gets no answer (exit 1, not
# 2 = could not send; "1 packets transmitted, 0 received"), and the API is gone.
down_unreachable() {
	local out rc
	out=$(in_ns p1a ping -c 1 -W 1 10.244.1.3 2>&1)
	rc=$?
	echo "$out"
	[ "$rc" = 1 ] || fail "ping exit status $rc, want 1 (sent, no reply)"
	grep -q "1 packets transmitted, 0 received" <<<"$out" || fail "want 1 sent, 0 received"
	! ctl 1 version >/dev/null 2>&1 || fail "the API still answers"
}
check "pod unreachable while sluiced is down (sent, not answered)" down_unreachable
node_start 1 "$SL_RUN/n1-nopods.json" || exit 1
wait_vtep 1
check "restored log line" grep -q "restored 4" "$SL_RUN/node1.log"
check "three pods after restart" test "$(ctl 1 -o json show pods | grep -c '"ifname"')" = 3
check "route after restart" bash -c "$SL_BUILD/control/cli/sluicectl -s $SL_RUN/node1.sock show routes | grep -q 203.0.113.0/24"
check "p1a -> p1b after restart" in_ns p1a ping -c 2 -i 0.2 -W 2 10.244.1.3
check "p1b -> remote pod after restart" in_ns p1b ping -c 2 -i 0.2 -W 2 10.244.2.3
check "vhost-user pod waiting for its DPDK app" bash -c "$SL_BUILD/control/cli/sluicectl -s $SL_RUN/node1.sock -o json show pods | grep -q waiting"
ctl 1 pod del name=p1a
check "sluiced stops cleanly with a vhost-user port (SIGTERM, exit 0)" node_stop 1
node_start 1 "$SL_RUN/n1-nopods.json" || exit 1
check "a deleted pod stays deleted" test "$(ctl 1 -o json show pods | grep -c '"ifname"')" = 2
check "node 1 stops cleanly" node_stop 1
check "node 2 stops cleanly" node_stop 2
check_summary
