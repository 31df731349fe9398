#!/bin/bash
# Routine run-time changes a Kubernetes node sees, with traffic using them:
#  - node del / node add: pod traffic to the removed node's pod CIDR stops (not one echo
#    request reaches the underlay), and flows again once the node is added back;
#  - route del / route add: same for a static route (tcpdump on node 1's underlay port);
#  - a node with a static `mac`: shown "static", no ARP request for it ever, its VXLAN
#    frames go to that MAC; a node whose VTEP does not answer: "incomplete", asked again
#    every second (NEIGH_RETRY_S, sl_state_tick);
#  - full tables at the default limits: routes via distinct gateways up to limits.routes
#    (1,024), then nodes up to limits.nodes (10,000), each next one refused naming the limit
#    (the tables are sized for them: none refuses); ARP for the 11,000 new neighbours bounded;
#    it keeps serving and forwarding, and the slots come back;
#  - a pod of the config deleted through the API: gone until sluiced restarts, then back
#    (the config is applied first at start and the state file only adds to it: the config
#    is the truth for its own objects, sl_persist.h);
#  - a bad (truncated) state file at start: sluiced starts anyway, warns naming the file,
#    keeps it as <state>.bad and serves the config's pods;
#  - every stop is a clean one: SIGTERM, exit status 0 within 10 s (node_stop).
# Usage (root, repo root): SL_BUILD=build bash tests/integration/runtime_changes.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-sl}rc-
export SL_RUN=${SL_RUN:-/tmp/${SL_PREFIX}run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
source scripts/lib/topo.sh
source scripts/lib/check.sh
CAPS=()
cleanup() {
	for p in "${CAPS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	topo_down
	[ -n "${SL_KEEP:-}" ] || rm -rf "$SL_RUN"
}
trap cleanup EXIT
topo_up
mkdir -p "$SL_RUN"
STATE=$SL_RUN/node1.sock.state.json
node_start 1 || exit 1
node_start 2 || exit 1
wait_vtep 1; wait_vtep 2
T0=$SECONDS

# cap_start NAME FILTER: tcpdump of what node 1 sends into the underlay bridge (its port
# n1, inbound: br0 itself would see only flooded frames) into $SL_RUN/NAME.pcap, running
# once this returns. cap_count NAME: stop it, print how many packets it saw.
declare -A CAP
cap_start() {
	local err=$SL_RUN/$1.err i
	rm -f "$err" # (an earlier capture's "listening on" must not count)
	# (ip netns exec itself, not in_ns: $! must be tcpdump's pid, not a subshell's)
	ip netns exec "$(ns ul)" tcpdump -i n1 -Q in -n -U --immediate-mode -Z root -w "$SL_RUN/$1.pcap" "$2" 2>"$err" &
	CAP[$1]=$!
	CAPS+=($!)
	for ((i = 0; i < 50; i++)); do grep -qs 'listening on' "$err" && return 0; sleep 0.1; done
	echo "tcpdump did not start: $(cat "$err")"
	return 1
}
cap_count() {
	kill "${CAP[$1]}" 2>/dev/null
	wait "${CAP[$1]}" 2>/dev/null
	tcpdump -r "$SL_RUN/$1.pcap" -n --count 2>/dev/null | awk '{print $1}'
}
api() { python3 tests/integration/api.py "$SL_RUN/node$1.sock" "${@:2}"; }
neigh_state() { # IP: its state in node 1's neighbour table ("" when absent)
	ctl 1 -o json show neighbors | python3 -c "
import json, sys
print(''.join(n['state'] for n in json.load(sys.stdin) if n['ip'] == '$1'))"
}
n_neigh() { ctl 1 -o json show neighbors | python3 -c "import json,sys; print(len(json.load(sys.stdin)))"; }
# pings_out FROM DST N: send N echo requests from pod FROM to DST; print how many of them
# node 1 sent into the underlay (encapsulated or not) and how many replies came back.
pings_out() {
	cap_start po "icmp[icmptype] == icmp-echo or (udp port 4789 and udp[8 + 8 + 14 + 20] == 8)" || return 1
	in_ns "$1" ping -c "$3" -i 0.2 -W 1 "$2" >"$SL_RUN/po.out" 2>&1
	local got; got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$SL_RUN/po.out")
	echo "$(cap_count po) ${got:-0}"
}

# --- node del / node add under traffic -------------------------------------------------
check "p1a -> p2a before the change (4 requests on the wire, 4 replies)" \
	test "$(pings_out p1a 10.244.2.2 4)" = "4 4"
check "node del node2 at run time" ctl 1 node del name=node2
check "... p1a -> p2a: nothing reaches the underlay, no reply" test "$(pings_out p1a 10.244.2.2 4)" = "0 0"
check "... node2 no longer listed" bash -c "! $SL_BUILD/control/cli/sluicectl -s $SL_RUN/node1.sock show nodes | grep -q node2"
check "node add node2 back" ctl 1 node add name=node2 ip=198.18.0.2 pod_cidr=10.244.2.0/24
check "... traffic resumes (first reply within 5 s)" in_ns p1a ping -c 1 -w 5 10.244.2.2
check "... p1a -> p2a: 4 on the wire, 4 replies" test "$(pings_out p1a 10.244.2.2 4)" = "4 4"

# --- route del / route add under traffic ------------------------------------------------
# 203.0.113.0/24 via node 2's underlay address: echo requests to it leave as plain IP.
check "route add 203.0.113.0/24 via 198.18.0.2" ctl 1 route add prefix=203.0.113.0/24 via=198.18.0.2
route_wire() { local r; r=$(pings_out p1a 203.0.113.5 4); [ "${r%% *}" = "$1" ] || fail "want $1 on the wire, got: $r"; }
check "... p1a -> 203.0.113.5: 4 echo requests on the underlay" route_wire 4
check "route del 203.0.113.0/24" ctl 1 route del prefix=203.0.113.0/24
check "... none on the underlay any more" route_wire 0
# (with the route, node 2 answers "Net Unreachable" itself: the source tells them apart)
unreach() { in_ns p1a ping -c 1 -W 2 203.0.113.5 | grep "From 10.244.1.1 .*Destination Net Unreachable"; }
check "... p1a is told by its gateway 10.244.1.1: destination net unreachable" unreach
check "route add it back: traffic resumes" ctl 1 route add prefix=203.0.113.0/24 via=198.18.0.2
check "... 4 echo requests on the underlay again" route_wire 4
check "route del again (clean up)" ctl 1 route del prefix=203.0.113.0/24

# --- static node MAC; an unanswered VTEP ------------------------------------------------
SMAC=02:33:33:33:33:33
static_no_arp() {
	cap_start sarp "arp and arp[24:4] = 0xc6120003" || return 1
	cap_start svx "ether dst $SMAC and udp port 4789" || return 1
	ctl 1 node add name=node3 ip=198.18.0.3 pod_cidr=10.244.3.0/24 mac=$SMAC || return 1
	local st; st=$(neigh_state 198.18.0.3)
	[ "$st" = static ] || fail "198.18.0.3 is \"$st\", want static"
	in_ns p1a ping -c 6 -i 0.5 -W 1 10.244.3.2 >/dev/null # no one answers: only the wire counts
	local arps vx; arps=$(cap_count sarp) vx=$(cap_count svx)
	echo "ARP requests for 198.18.0.3: $arps, VXLAN frames to $SMAC: $vx"
	[ "$arps" = 0 ] || fail "sluiced asked for a static neighbour's MAC"
	[ "$vx" = 6 ] || fail "want 6 VXLAN frames to $SMAC"
}
check "static node mac: state static, no ARP request in 3 s, VXLAN frames to that MAC" static_no_arp
check "node del node3" ctl 1 node del name=node3
# NEIGH_RETRY_S = 1: an unresolved neighbour is asked again every second (the tick is
# 100 ms): in a measured window of W seconds, between W - 1 and W + 1 requests.
retry_every_second() {
	cap_start rarp "arp and arp[6:2] = 1 and arp[24:4] = 0xc6120004" || return 1
	local t0; t0=$(date +%s.%N)
	ctl 1 node add name=node4 ip=198.18.0.4 pod_cidr=10.244.4.0/24 || return 1
	sleep 4.5 # the property measured is a rate: it needs time to pass
	local st; st=$(neigh_state 198.18.0.4)
	local n; n=$(cap_count rarp)
	local w; w=$(echo "$(date +%s.%N) - $t0" | bc)
	echo "198.18.0.4: $st, $n ARP requests in $w s"
	[ "$st" = incomplete ] || fail "198.18.0.4 is \"$st\", want incomplete"
	python3 -c "import sys; n, w = $n, $w; sys.exit(not (w - 1 <= n <= w + 1))" ||
		fail "want one request per second"
}
check "unanswered VTEP: incomplete, ARP request retried every second" retry_every_second
check "node del node4" ctl 1 node del name=node4

# --- full tables at the limits --------------------------------------------------------------
# The defaults take a 5,000-node cluster with room: limits.routes (1,024) static routes via
# distinct gateways (198.18.4.0 + i), then remote nodes (198.18.8.0 + i, pod CIDR
# 10.250.0.0 + 4i /30) up to limits.nodes (10,000), one neighbour each; the next of each is
# refused naming the limit, and no table is what refuses (the next-hop and neighbour tables
# are sized for the limits: show stats "tables").
sstat() { ctl 1 -o json show stats | python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
full_table() {
	local base r0 n0 t0=$SECONDS; base=$(n_neigh) r0=$(sstat "['model']['routes']") n0=$(sstat "['model']['nodes']")
	python3 -c "
import json
for i in range(1100):
    print(json.dumps({'cmd': 'route.add', 'route': {'prefix': '100.%d.%d.0/24' % (64 + i // 256, i % 256),
                      'via': '198.18.%d.%d' % (4 + i // 256, i % 256)}}))" >"$SL_RUN/routes.req"
	api 1 --stop-at-error <"$SL_RUN/routes.req" >"$SL_RUN/routes.ans" || return 1
	local routes last; routes=$(grep -c '"ok":true' "$SL_RUN/routes.ans") last=$(tail -n 1 "$SL_RUN/routes.ans")
	echo "routes added: $routes (before: $r0); refused with: $last"
	[ $((r0 + routes)) = 1024 ] || fail "want routes up to limits.routes (1024)"
	grep -q 'route limit reached (limits.routes: 1024)' <<<"$last" ||
		fail "want a clear \"route limit reached (limits.routes: 1024)\" error"
	python3 -c "
import ipaddress, json
for i in range(10100):
    print(json.dumps({'cmd': 'node.add', 'node': {'name': 'full%d' % i,
                      'ip': str(ipaddress.ip_address('198.18.8.0') + i),
                      'pod_cidr': '%s/30' % ipaddress.ip_address(ipaddress.ip_address('10.250.0.0') + 4 * i)}}))" >"$SL_RUN/nodes.req"
	api 1 --stop-at-error <"$SL_RUN/nodes.req" >"$SL_RUN/nodes.ans" || return 1
	local nodes; nodes=$(grep -c '"ok":true' "$SL_RUN/nodes.ans") last=$(tail -n 1 "$SL_RUN/nodes.ans")
	echo "nodes added: $nodes (before: $n0); neighbours: $(n_neigh) (before: $base); refused with: $last"
	grep -q 'node limit reached (limits.nodes: 10000)' <<<"$last" ||
		fail "want a clear \"node limit reached (limits.nodes: 10000)\" error"
	[ $((n0 + nodes)) = 10000 ] || fail "want nodes up to limits.nodes (10000)"
	[ "$(n_neigh)" = $((base + routes + nodes)) ] || fail "want one neighbour per route and node"
	local tables; tables=$(sstat "['tables']")
	echo "tables: $tables; arp: $(sstat "['arp']")"
	note "full tables: $((r0 + routes)) routes, $((n0 + nodes)) nodes, $(n_neigh) neighbours in $((SECONDS - t0)) s; tables: $tables"
	[ "$(sstat "['tables']['neighbours']['refused']")" = 0 ] || fail "a neighbour was refused by the table"
	[ "$(sstat "['tables']['next_hops']['refused']")" = 0 ] || fail "a next hop was refused by the table"
	echo "$base" >"$SL_RUN/neigh.base"
}
# ARP for 11,000 unresolved neighbours: bounded per tick, never a full control ring.
arp_bounded() {
	local a0 a1 t0 t1
	a0=$(sstat "['arp']['requests']") t0=$(date +%s.%N)
	sleep 2 # the property measured is a rate: it needs time to pass
	a1=$(sstat "['arp']['requests']") t1=$(date +%s.%N)
	echo "ARP requests: $((a1 - a0)) in $(echo "$t1 - $t0" | bc) s; $(sstat "['arp']")"
	note "ARP requests: $((a1 - a0)) in $(echo "$t1 - $t0" | bc) s; $(sstat "['arp']")"
	python3 -c "import sys; sys.exit(not ($a1 - $a0 <= 640 * ($t1 - $t0) + 64))" ||
		fail "want at most 64 ARP requests a tick (640 a second)"
	[ "$(sstat "['arp']['deferred']")" -gt 0 ] || fail "want requests deferred to later ticks"
	[ "$(sstat "['arp']['failed']")" = 0 ] || fail "ARP requests lost (control ring full)"
}
check "full tables: routes to limits.routes, nodes to limits.nodes, each refused naming the limit" full_table
check "... ARP requests for the new neighbours bounded (640/s), none lost" arp_bounded
check "... sluiced keeps serving (version)" ctl 1 version
check "... and forwarding: p1a -> p2a" in_ns p1a ping -c 3 -i 0.2 -W 2 10.244.2.2
empty_table() {
	sed 's/.*"prefix": "\([^"]*\)".*/{"cmd": "route.del", "prefix": "\1"}/' "$SL_RUN/routes.req" |
		api 1 >"$SL_RUN/rdel.ans" || return 1
	local n; n=$(grep -c '"ok":true' "$SL_RUN/nodes.ans")
	python3 -c "
import json
for i in range($n):
    print(json.dumps({'cmd': 'node.del', 'name': 'full%d' % i}))" | api 1 >"$SL_RUN/ndel.ans" || return 1
	[ "$(grep -c '"ok":true' "$SL_RUN/rdel.ans")" = "$(grep -c '"ok":true' "$SL_RUN/routes.ans")" ] || fail "route del: $(grep -v '"ok":true' "$SL_RUN/rdel.ans" | head -n 1)"
	[ "$(grep -c '"ok":true' "$SL_RUN/ndel.ans")" = "$n" ] || fail "node del: $(grep -v '"ok":true' "$SL_RUN/ndel.ans" | head -n 1)"
	[ "$(n_neigh)" = "$(cat "$SL_RUN/neigh.base")" ] || fail "$(n_neigh) neighbours left, want $(cat "$SL_RUN/neigh.base")"
}
T1=$SECONDS
check "... all deleted: the neighbour table is back to its size before" empty_table
note "deleted in $((SECONDS - T1)) s"
check "... and a new gateway can be used again" ctl 1 route add prefix=203.0.113.0/24 via=198.18.0.77
check "... (route del)" ctl 1 route del prefix=203.0.113.0/24

# --- a config pod deleted through the API, then a restart ----------------------------------
check "pod del p1b (a pod of the config) through the API" ctl 1 pod del name=p1b
check "... p1a -> p1b: no reply" bash -c "! ip netns exec $(ns p1a) ping -c 2 -i 0.2 -W 1 10.244.1.3"
# The persisted pods, as sluiced reads them at start (snapshot + journal).
persisted_pods() {
	python3 tests/integration/persisted.py "$STATE" pods |
		python3 -c 'import json, sys; print(" ".join(sorted(o["name"] for o in json.load(sys.stdin))))'
}
no_p1b() { local p; p=$(persisted_pods) || return 1; echo "persisted pods: $p"; ! grep -qw p1b <<<"$p"; }
check "... the state file (and its journal) no longer lists p1b" no_p1b
check "sluiced stops cleanly (SIGTERM, exit 0)" node_stop 1
node_start 1 || exit 1
check "after the restart p1b is back (the config's pods are applied at every start)" \
	bash -c "$SL_BUILD/control/cli/sluicectl -s $SL_RUN/node1.sock -o json show pods | grep -q '\"p1b\"'"
check "... p1a -> p1b" in_ns p1a ping -c 2 -i 0.2 -W 2 10.244.1.3

# --- a bad state file at start -----------------------------------------------------------
check "a route through the API (so the state file has content)" ctl 1 route add prefix=203.0.113.0/24 via=198.18.0.2
check "sluiced stops cleanly again" node_stop 1
bad_state() {
	[ -s "$STATE" ] || { fail "no state file $STATE"; return 1; }
	head -c "$(( $(stat -c %s "$STATE") / 2 ))" "$STATE" >"$SL_RUN/half" && cp "$SL_RUN/half" "$STATE"
	rm -f "$STATE.bad"
	node_start 1 || { fail "sluiced did not start with a truncated state file"; return 1; }
	grep "warning: state file $STATE not restored" "$SL_RUN/node1.log" ||
		fail "no warning naming $STATE in the log"
	cmp -s "$SL_RUN/half" "$STATE.bad" || fail "the bad file was not kept as $STATE.bad"
}
check "truncated state file: sluiced starts, warns naming it, keeps it as <state>.bad" bad_state
check "... serves the config's pods: p1a -> p1b" in_ns p1a ping -c 2 -i 0.2 -W 2 10.244.1.3
check "... and p1a -> p2a (VXLAN)" in_ns p1a ping -c 2 -i 0.2 -W 2 10.244.2.2
check "... the API route of the bad file is not there" \
	bash -c "! $SL_BUILD/control/cli/sluicectl -s $SL_RUN/node1.sock show routes | grep -q 203.0.113.0/24"
check "node 1 stops cleanly" node_stop 1
check "node 2 stops cleanly" node_stop 2
note "$((SECONDS - T0)) s"
check_summary
