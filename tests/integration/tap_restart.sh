#!/usr/bin/env bash
# Tap pods survive a sluiced restart (issue 13; drivers/sl_tap.h "Surviving a restart"): tap
# pods whose pod.add names their namespace ("netns", as sluice-cni sends CNI_NETNS) keep
# their eth0 while sluiced is down, and a restarted sluiced re-attaches to it from its
# state file, with no CNI call. Checks:
#  - a TCP connection between two tap pods, held open across SIGKILL and restart of sluiced,
#    carries 100 MB (sha256 compared), half before the kill and half after (restarted with
#    two workers, one before: the taps get a queue per worker); a new 100 MB
#    transfer to a pod on the other node after; the pods' eth0 are the same devices
#    (ifindex) and were there while sluiced was down; a pod added by sluice-cni too;
#  - pod-hostile changes while sluiced is down (SIGTERM this time): a pod that changed its
#    eth0's MAC is refused, a pod whose namespace is gone is dropped, a pod whose netns path
#    now names another namespace is refused (each a log line and a tap_reattach counter);
#    a pod that renamed its eth0 is followed (names are not trusted, nor needed); the others
#    keep working;
#  - a tap the CNI never moved (its namespace deleted while sluiced is down) is found in the
#    node's namespace; a leftover persistent tap of a pod there is taken over by its ADD; a
#    netns that is not a network namespace is refused, one sluiced cannot see costs only
#    the persistence;
#  - pod.del (sluicectl) and CNI DEL delete the persistent taps: none is left anywhere.
#
# Usage (as root, from the repository root): SL_BUILD=build bash tests/integration/tap_restart.sh
# Environment: SL_BUILD, SL_PREFIX (names ${SL_PREFIX}trs-..., default sl), SL_RUN, SL_EAL_MEM.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SL_BUILD=${SL_BUILD:-build}
case $SL_BUILD in
/*) ;;
*) SL_BUILD=$ROOT/$SL_BUILD ;;
esac
export SL_BUILD
export SL_PREFIX=${SL_PREFIX:-sl}trs-
export SL_RUN=${SL_RUN:-/tmp/${SL_PREFIX}run}
export SL_EAL_MEM=${SL_EAL_MEM-"--no-huge -m 512"}
export SL_VNI=1 SL_POD_MTU=1450
MB=100
cd "$ROOT" || exit 2
source "$ROOT/scripts/lib/topo.sh"
source "$ROOT/scripts/lib/tappod.sh"
source "$ROOT/scripts/lib/check.sh"
source "$ROOT/scripts/lib/bulk.sh"
[ "$(id -u)" = 0 ] || { echo "tap_restart.sh: must run as root" >&2; exit 2; }
[ -c /dev/net/tun ] || { echo "tap_restart.sh: no /dev/net/tun" >&2; exit 77; }
for t in ip nc ss python3 sha256sum timeout; do
	command -v "$t" >/dev/null || { echo "tap_restart.sh: missing tool: $t" >&2; exit 2; }
done
T=$(mktemp -d "/tmp/${SL_PREFIX}XXXX")
mkdir -p "$SL_RUN"
VICTIMS="v1 v2 v3 v4"
SENDER=""
RECV=""
cleanup() {
	[ -n "$SENDER" ] && kill -- -"$SENDER" 2>/dev/null
	[ -n "$RECV" ] && kill -- -"$RECV" 2>/dev/null
	topo_down
	for p in c1 x3 x4 $VICTIMS; do ip netns del "$(ns "$p")" 2>/dev/null; done
	rm -rf "$T" "$SL_RUN"
}
trap cleanup EXIT
DATA=$T/data.bin
head -c $((MB * 1024 * 1024)) /dev/urandom >"$DATA"
WANT=$(sha256sum <"$DATA" | cut -d' ' -f1)
HALF=$((MB * 1024 * 1024 / 2))
head -c "$HALF" "$DATA" >"$T/a"
tail -c +$((HALF + 1)) "$DATA" >"$T/b"
mkfifo "$T/gate"

topo_up
tap_pods_veth_del 1
# Node 1 without config pods: its tap pods come through the API, as sluice-cni adds them.
node_config 1 2>/dev/null | python3 -c 'import json, sys
c = json.load(sys.stdin); c["pods"] = []; print(json.dumps(c))' >"$SL_RUN/n1.json"
STATE=$SL_RUN/node1.sock.state.json
rm -f "$STATE"
for p in $VICTIMS; do ip netns add "$(ns "$p")"; done
node_start 1 "$SL_RUN/n1.json" || exit 1
node_start 2 || exit 1
wait_vtep 1 && wait_vtep 2

gone_in() { # gone_in NS_NAME: no tap in that namespace within 5 s
	local i
	for i in $(seq 50); do
		ip netns exec "$1" ip -d -o link show | grep -q 'tun type tap' || return 0
		sleep 0.1
	done
	ip netns exec "$1" ip -d -o link show | grep 'tun type tap'
	return 1
}
vip() { echo "10.244.1.2${1#v}"; }
vmac() { printf '02:74:76:00:00:%02x\n' "${1#v}"; }
# add_tap POD IP MAC: pod.add with interface tap and the pod's namespace; the tap moved in
# as eth0.
add_tap() {
	ctl 1 pod add name="$1" ip="$2" mac="$3" interface=tap ifname="$1" \
		netns="/var/run/netns/$(ns "$1")" || return 1
	in_ns n1 ip link set "$1" netns "$(ns "$1")" || return 1
	in_ns "$1" ip link set "$1" name eth0
}
setup() {
	for p in p1a p1b; do add_tap "$p" "$(tap_pod_ip "$p")" "$(tap_pod_mac "$p")" &&
		tap_pod_ifup "$p" || return 1; done
	for v in $VICTIMS; do add_tap "$v" "$(vip "$v")" "$(vmac "$v")" &&
		in_ns "$v" ip link set eth0 up || return 1; done
	# The snapshot and its journal (one line per change) hold the pods between them.
	{ cat "$STATE"; echo; cat "$STATE.journal" 2>/dev/null; } | python3 -c 'import json, sys
pods = {}
for line in filter(str.strip, sys.stdin):
    d = json.loads(line)
    for p in d.get("pods", []) + d.get("put", {}).get("pods", []):
        pods[p["name"]] = p
assert len(pods) == 6, pods
for p in pods.values():
    assert p["netns"].startswith("/var/run/netns/") and p["tap_ifindex"] > 0 and int(p["netns_cookie"]) > 0, p
print("state: 6 tap pods with netns, netns_cookie, tap_ifindex")'
}
check "6 tap pods added with their namespaces (state file has cookie and ifindex)" setup

bad_netns() {
	local out
	out=$(ctl 1 pod add name=x1 ip=10.244.1.31 mac=02:74:76:00:00:31 interface=tap ifname=x1 \
		netns=/etc/hostname 2>&1) && { echo "accepted: $out"; return 1; }
	echo "$out"
	grep -q "netns: /etc/hostname: not a network namespace" <<<"$out" || return 1
	# A path sluiced cannot see (its container lacks the runtime's netns directory): the
	# pod works, without persistence, and the log says so.
	ctl 1 pod add name=x2 ip=10.244.1.32 mac=02:74:76:00:00:32 interface=tap ifname=x2 \
		netns="/var/run/netns/${SL_PREFIX}none" || return 1
	grep "tap pod default/x2: netns .*: the namespace is gone here: the tap will not outlive sluiced" \
		"$SL_RUN/node1.log" || return 1
	ctl 1 pod del name=x2
}
check "netns not a network namespace: refused, naming the field; a path sluiced cannot see: no persistence, logged" bad_netns

# A persistent tap of a pod left in the node's namespace (sluiced killed after making it,
# before saving the pod, so the CNI retries the ADD): the retry takes it over. Made
# single-queue, as sluiced made taps before they had a queue per worker: taken over too.
leftover() {
	ip netns add "$(ns x3)" || return 1
	in_ns n1 ip tuntap add dev x3 mode tap vnet_hdr || return 1
	in_ns n1 ip link set x3 address 02:74:76:00:00:33 || return 1
	ctl 1 pod add name=x3 ip=10.244.1.33 mac=02:74:76:00:00:33 interface=tap ifname=x3 \
		netns="/var/run/netns/$(ns x3)" || return 1
	grep "tap pod default/x3: took over its tap x3" "$SL_RUN/node1.log" || return 1
	ctl 1 pod del name=x3 || return 1
	ip netns del "$(ns x3)"
	local i
	for i in $(seq 50); do in_ns n1 ip link show x3 >/dev/null 2>&1 || return 0; sleep 0.1; done
	echo "x3 still in the node's namespace"; return 1
}
check "a leftover persistent tap of the pod in the node's namespace: taken over, deleted with the pod" leftover
# x4: added, but the CNI never moved its tap (sluiced killed before its reply, say); its
# namespace goes while sluiced is down. The restart finds the tap in the node's namespace.
x4_add() {
	ip netns add "$(ns x4)" &&
		ctl 1 pod add name=x4 ip=10.244.1.34 mac=02:74:76:00:00:34 interface=tap ifname=x4 \
			netns="/var/run/netns/$(ns x4)"
}
check "x4: a tap pod whose tap stays in the node's namespace" x4_add

# --- sluice-cni: a pod namespace made the runtime's way
CNI_NS=$(ns c1)
cni_tap() { tap_cni "$1" "$2" taprestart1 c1 "${3:-}"; } # cni_tap VERB OUT [PREV_RESULT]
cni_add() {
	ip netns add "$CNI_NS" || return 1
	cni_tap ADD "$T/add.json" || { cat "$T/add.json"; return 1; }
	ip netns exec "$CNI_NS" ping -c 1 -W 2 10.244.1.3 >/dev/null || { echo "c1: no ping to p1b"; return 1; }
}
check "sluice-cni ADD of a tap pod (c1), ping to p1b" cni_add

ifindexes() { for p in p1a p1b c1; do ip netns exec "$(ns "$p")" cat /sys/class/net/eth0/ifindex; done | tr '\n' ' '; }
BEFORE=$(ifindexes)

# --- a held TCP connection across SIGKILL and restart
# Started with ip netns exec itself (setsid: its own process group), so that $! is the
# process and cleanup's kill reaches it and everything it started.
setsid ip netns exec "$(ns p1b)" timeout 60 nc -l 10.244.1.3 7101 </dev/null >"$T/recv.bin" &
RECV=$!
wait_listen p1b 7101 || exit 1
# The sender writes a, then blocks on the gate (a FIFO) until the test writes b into it.
setsid ip netns exec "$(ns p1a)" sh -c "cat $T/a $T/gate | timeout 60 nc -N -w 30 10.244.1.3 7101" &
SENDER=$!
half() {
	local i
	for i in $(seq 100); do
		[ "$(stat -c %s "$T/recv.bin" 2>/dev/null || echo 0)" -ge "$HALF" ] && break
		sleep 0.1
	done
	echo "received $(stat -c %s "$T/recv.bin") bytes before the kill"
	[ "$(stat -c %s "$T/recv.bin")" -eq "$HALF" ]
}
check "held connection p1a -> p1b: the first $((MB / 2)) MB arrived" half
PID1=${SL_PID[1]}
check "sluiced SIGKILLed" kill -KILL "$PID1"
wait "$PID1" 2>/dev/null
unset 'SL_PID[1]'
down() {
	! ctl 1 version >/dev/null 2>&1 || { echo "the API still answers"; return 1; }
	local now
	now=$(ifindexes) || return 1
	echo "eth0 ifindex p1a p1b c1: before $BEFORE, with sluiced dead $now"
	[ "$now" = "$BEFORE" ] && in_ns p1a ip -d link show eth0 | grep -q 'tun type tap'
}
check "while sluiced is dead the pods keep their eth0 (same taps)" down
check "while sluiced is dead x4's namespace is deleted" ip netns del "$(ns x4)"
# With two workers now (one before): the taps, made with one queue, get a second.
restart_two() {
	SL_LCORES_1="--lcores 0@0,1@1,2@0 --main-lcore 0" node_start 1 "$SL_RUN/n1.json"
}
check "sluiced restarts from its state file (no CNI call), with two workers" restart_two
wait_vtep 1
queues() {
	local out
	out=$(ctl 1 -o json show queues | python3 -c 'import json, sys
q = [(x["queue"], x["worker"]) for x in json.load(sys.stdin) if x["port"] == "p1a"]
print("p1a (queue, worker):", q); assert q == [(0, 0), (1, 1)], q' 2>&1) || { echo "$out"; return 1; }
	note "$out"
}
check "p1a's tap re-attached with a queue per worker (two)" queues
reattached() {
	grep "re-attached\|tap pod" "$SL_RUN/node1.log"
	[ "$(grep -c 're-attached to its tap (ifindex [0-9]*, in the pod' "$SL_RUN/node1.log")" = 7 ] &&
		grep -q "tap pod default/x4: re-attached to its tap (ifindex [0-9]*, still in sluiced's namespace)" \
			"$SL_RUN/node1.log" &&
		[ "$(ctl 1 -o json show stats | python3 -c 'import json, sys
print(json.load(sys.stdin)["tap_reattach"])')" = "{'reattached': 8, 'gone': 0, 'refused': 0}" ] &&
		[ "$(ctl 1 show ports | grep -cE ' tap ')" = 8 ]
}
check "7 tap pods re-attached in their namespaces, x4 in the node's (log, counter, ports)" reattached
x4_del() {
	ctl 1 pod del name=x4 || return 1
	local i
	for i in $(seq 50); do in_ns n1 ip link show x4 >/dev/null 2>&1 || return 0; sleep 0.1; done
	echo "x4 still in the node's namespace"; return 1
}
check "x4's pod del deletes its tap in the node's namespace" x4_del
check "the pods' eth0 are the same devices" test "$(ifindexes)" = "$BEFORE"
held() {
	cat "$T/b" >"$T/gate" || return 1
	wait "$SENDER" || fail "sender exited with $?"
	SENDER=""
	wait "$RECV"
	RECV=""
	local got
	got=$(sha256sum <"$T/recv.bin" | cut -d' ' -f1)
	echo "sha256 $got"
	[ "$got" = "$WANT" ]
}
check "held connection: the other $((MB / 2)) MB after the restart, $MB MB sha256" held
rm -f "$T/recv.bin"
check "after the restart: p1b -> p2a across VXLAN, $MB MB, sha256" xfer p1b p2a 10.244.2.2 7102
check "after the restart: sluice-cni pod c1 -> p1a" ip netns exec "$CNI_NS" ping -c 1 -W 2 10.244.1.2

# --- pod-hostile changes while sluiced is down (a clean stop this time: systemd restart)
check "sluiced stops (SIGTERM): the taps stay" node_stop 1
hostile() {
	in_ns v1 ip link set eth0 address 02:66:66:66:66:66 || return 1 # another MAC
	ip netns del "$(ns v2)" || return 1                             # the pod is gone
	ip netns del "$(ns v3)" && ip netns add "$(ns v3)" || return 1  # the path reused
	in_ns v4 ip link set eth0 down && in_ns v4 ip link set eth0 name net9 &&
		in_ns v4 ip link set net9 up                               # renamed
}
check "while down: v1 changes its MAC, v2's netns deleted, v3's path reused, v4 renames eth0" hostile
check "sluiced restarts" node_start 1 "$SL_RUN/n1.json"
wait_vtep 1
refused() {
	grep "tap pod\|not restored" "$SL_RUN/node1.log"
	grep -q "tap pod default/v1 refused: .*MAC is not the pod's" "$SL_RUN/node1.log" &&
		grep -q "tap pod default/v2 dropped: .*namespace is gone" "$SL_RUN/node1.log" &&
		grep -q "tap pod default/v3 refused: .*cookie differs" "$SL_RUN/node1.log" &&
		grep -q "tap pod default/v4: re-attached" "$SL_RUN/node1.log" || return 1
	local st
	st=$(ctl 1 -o json show stats | python3 -c 'import json, sys
print(json.load(sys.stdin)["tap_reattach"])')
	echo "tap_reattach $st"
	[ "$st" = "{'reattached': 4, 'gone': 1, 'refused': 2}" ] || return 1
	ctl 1 -o json show pods | python3 -c 'import json, sys
names = sorted(p["name"] for p in json.load(sys.stdin))
print("pods", names)
assert names == ["p1a", "p1b", "taprestart1:eth0", "v4"], names'
}
check "v1 refused (MAC), v2 dropped (netns gone), v3 refused (cookie), v4 followed; logged and counted" refused
check "the others keep working: p1a -> p1b" in_ns p1a ping -c 2 -i 0.2 -W 2 10.244.1.3
check "the others keep working: p1a -> p2a" in_ns p1a ping -c 2 -i 0.2 -W 2 10.244.2.2
check "v4 (renamed eth0) still served" in_ns v4 ip link show net9

# --- DEL deletes the persistent taps
dels() {
	for p in p1a p1b v4; do ctl 1 pod del name="$p" || return 1; done
	cni_tap DEL "$T/del.json" "$T/add.json" || { cat "$T/del.json"; return 1; }
	for p in p1a p1b v4 c1; do gone_in "$(ns "$p")" || { echo "$p: tap left"; return 1; }; done
	ctl 1 -o json show pods | python3 -c 'import json, sys
pods = json.load(sys.stdin); print("pods left:", pods); sys.exit(1 if pods else 0)'
}
check "pod del (sluicectl) and CNI DEL delete the taps in the pods" dels
check "node 1 stops cleanly" node_stop 1
check "no tap left in node 1's namespace" gone_in "$(ns n1)"
check "node 2 stops cleanly" node_stop 2
check_summary
