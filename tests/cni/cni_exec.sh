#!/usr/bin/env bash
# Integration tests for sluice-cni: the plugin exec'd the way a runtime execs it.
#
#   pod ns   slc-c1 ... slc-l100 (eth0 10.244.1.100-200/32, made by sluice-cni)
#              |
#   node ns  slc-n1: sluiced (node1, pods p1a/p1b) <-- VXLAN --> slc-n2: sluiced (node2, p2a)
#   bridge   slc-br: the reference bridge + host-local plugins, for the latency comparison
#
# Builds the two-node topology of scripts/lib/topo.sh, then runs sluice-cni inside the
# node namespace for every CNI command: VERSION; ADD (result, pod interface, routes,
# offloads, host end, sluiced's pod table, pings to the gateway, a local pod and a pod on
# the other node across VXLAN and back); CHECK (good and broken); DEL (twice, and without
# the pod namespace); bad environment and config (CNI error codes); failures half-way
# through ADD (nothing left behind); sluiced stopped (ADD 11, STATUS 50, DEL 11) and
# restarted; GC; vhost-user attachments (result with socketPath, socket directory,
# device-info files, sluiced's pod waiting, then a DPDK "pod" - sluice-gen on virtio_user
# with server=1 - sending through sluiced to p1a, CHECK, DEL, vhostMode server, the
# CNI_ARGS switch, GC, a too long socketDir); 100 ADDs one after another, timed, against
# the bridge plugin timed the same way (and 100 vhost-user ADDs); 100 concurrent ADDs and
# DELs.
#
# Usage (as root, from the repository root):
#   bash tests/cni/cni_exec.sh
# Environment: SL_BUILD (default build), CNI_BIN (reference plugins, default /usr/lib/cni),
# N_PODS (default 100), CNI_TEST_PREFIX (default ${SL_PREFIX}c-, slc- without SL_PREFIX: names of the namespaces, EAL file
# prefixes, /tmp/<prefix>run; another prefix lets two runs share a machine), GEN_MEM (EAL memory of the DPDK pod, default "--no-huge -m 512"). Output: "ok - NAME" / "not ok - NAME (details)", "# ..." notes
# (latency figures), and "N passed, M failed"; exit status 1 when anything failed.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SL_BUILD=${SL_BUILD:-build}
case $SL_BUILD in
/*) ;;
*) if [ -d "$SL_BUILD" ]; then SL_BUILD=$(cd "$SL_BUILD" && pwd); else SL_BUILD=$ROOT/$SL_BUILD; fi ;;
esac
export SL_BUILD
P=${CNI_TEST_PREFIX:-${SL_PREFIX:-sl}c-} # namespaces, EAL file prefixes, run directory
export SL_PREFIX=$P
export SL_RUN=/tmp/${P}run
export SL_EAL_MEM="--no-huge -m 512"
cd "$ROOT" || exit 2
# shellcheck source=../../scripts/lib/topo.sh
source "$ROOT/scripts/lib/topo.sh"

CNI=$SL_BUILD/cni/sluice-cni
CNI_BIN=${CNI_BIN:-/usr/lib/cni}
N_PODS=${N_PODS:-100}
NET=sluice               # network name of the configs
IPAM_DIR=$SL_RUN/ipam    # host-local dataDir of sluice-cni
IPAM_BR=$SL_RUN/ipam-br  # host-local dataDir of the bridge plugin
VH_DIR=$SL_RUN/vhost     # socketDir of the vhost-user configs
DEVINFO_DIR=$SL_RUN/devinfo/cni # stands in for /var/run/k8s.cni.cncf.io/devinfo/cni
GEN_MEM=${GEN_MEM:-"--no-huge -m 512"}
GW_MAC=02:5c:00:00:00:01 # sluiced's gateway MAC

if [ "$(id -u)" != 0 ]; then
	echo "cni_exec.sh: must run as root (network namespaces, AF_XDP)" >&2
	exit 2
fi
for t in ip ping ethtool python3; do
	command -v "$t" >/dev/null || { echo "cni_exec.sh: missing tool: $t" >&2; exit 2; }
done
if [ ! -x "$CNI_BIN/host-local" ] || [ ! -x "$CNI_BIN/bridge" ]; then
	echo "# installing containernetworking-plugins (reference CNI plugins)"
	apt-get install -y -qq containernetworking-plugins >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 &&
		  apt-get install -y -qq containernetworking-plugins >/dev/null 2>&1; }
fi
for b in "$CNI" "$SL_BUILD/control/sluiced" "$SL_BUILD/control/cli/sluicectl" \
	"$SL_BUILD/perf/sluice-gen" "$CNI_BIN/host-local" "$CNI_BIN/bridge"; do
	[ -x "$b" ] || { echo "cni_exec.sh: $b missing (ninja -C $SL_BUILD)" >&2; exit 2; }
done

T=$(mktemp -d /tmp/${P}test.XXXXXX)
BG=()     # background processes this script started (killed by PID on exit)
# shellcheck source=../../scripts/lib/check.sh
source "$ROOT/scripts/lib/check.sh"

cleanup() {
	local p live n
	live=" $(jobs -p | tr '\n' ' ') " # only our still-unreaped children: no PID reuse
	for p in "${BG[@]}"; do
		[[ $live == *" $p "* ]] && kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	topo_down >/dev/null 2>&1
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$T" "$IPAM_DIR" "$IPAM_BR" "$SL_RUN/ipam-"*
	if [ "$FAIL" = 0 ]; then
		rm -rf "$SL_RUN"
	else
		echo "# sluiced logs kept in $SL_RUN" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# Harness: check, fail, note from scripts/lib/check.sh

finish() {
	check_summary
	exit $?
}

# pyj EXPR [FILE]: evaluate a Python expression over a JSON document (as d).
pyj() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[2]) if len(sys.argv) > 2 else sys.stdin)
print(eval(sys.argv[1]))' "$@"
}

# ---------------------------------------------------------------------------------------
# Running the plugin

# conf VERSION [IPAM-JSON]: a sluice-cni network config for node 1.
conf() {
	local ipam=${2:-"{\"type\":\"host-local\",\"rangeStart\":\"10.244.1.100\",\"rangeEnd\":\"10.244.1.200\",\"dataDir\":\"$IPAM_DIR\"}"}
	cat <<JSON
{"cniVersion":"$1","name":"$NET","type":"sluice-cni","socket":"$SL_RUN/node1.sock",
 "socketDir":"$VH_DIR","ipam":$ipam}
JSON
}

# cni OUT CONF VAR=VALUE...: exec sluice-cni (or $PLUGIN) in node 1's namespace with
# exactly these CNI_* variables (env -i: nothing inherited), CONF on stdin, stdout to OUT.
cni() {
	local out=$1 cfg=$2
	shift 2
	ip netns exec "$(ns n1)" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@" "${PLUGIN:-$CNI}" \
		<"$cfg" >"$out" 2>>"$T/cni.stderr"
}

# cni_pod VERB ID NETNS OUT [CONF]: the usual attachment environment (ifname eth0).
cni_pod() {
	local verb=$1 id=$2 netns=$3 out=$4 cfg=${5:-$T/conf.json}
	cni "$out" "$cfg" CNI_COMMAND="$verb" CNI_CONTAINERID="$id" CNI_IFNAME=eth0 \
		CNI_NETNS="/var/run/netns/$netns" CNI_PATH="$CNI_BIN" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=cnitest;K8S_POD_NAME=$id"
}

# with_prev CONF RESULT: CONF with prevResult = RESULT (for CHECK and DEL).
with_prev() {
	python3 -c 'import json, sys
c = json.load(open(sys.argv[1])); c["prevResult"] = json.load(open(sys.argv[2]))
print(json.dumps(c))' "$1" "$2"
}

# expect_error OUT CODE REGEX: OUT is a CNI error object with CODE and msg matching REGEX.
expect_error() {
	local got msg
	got=$(pyj 'd["code"]' "$1" 2>/dev/null) || fail "not an error object: $(cat "$1")"
	msg=$(pyj 'd["msg"]' "$1")
	[ "$got" = "$2" ] || fail "code $got, want $2: $msg"
	grep -Eq -- "$3" <<<"$msg" || fail "msg \"$msg\" does not match /$3/"
}

host_if() { pyj 'd["interfaces"][0]["name"]' "$1"; } # RESULT -> host end name
pod_ip() { pyj 'd["ips"][0]["address"].split("/")[0]' "$1"; }

# IPs host-local has reserved in dataDir $1 (default sluice-cni's).
reservations() {
	local d=${1:-$IPAM_DIR}/$NET
	[ -d "$d" ] || return 0
	find "$d" -maxdepth 1 -type f ! -name lock ! -name 'last_reserved_ip*' -printf '%f\n' | sort
}

# Host ends sluice-cni made ("sl" + 12 hex) in node 1.
cni_veths() { in_ns n1 ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^sl[0-9a-f]{12}$'; }

pods_json() { ctl 1 -o json show pods; }
n_pods() { pods_json | pyj 'len(d)'; }

# ---------------------------------------------------------------------------------------
# Checks

version_ok() {
	cni "$T/v.json" <(echo '{"cniVersion":"1.0.0"}') CNI_COMMAND=VERSION || fail "exit $?"
	[ "$(pyj 'd["cniVersion"]' "$T/v.json")" = 1.1.0 ] || fail "$(cat "$T/v.json")"
	[ "$(pyj '",".join(d["supportedVersions"])' "$T/v.json")" = "0.4.0,1.0.0,1.1.0" ] ||
		fail "$(cat "$T/v.json")"
}

add_ok() { # ID NETNS OUT [CONF]
	cni_pod ADD "$1" "$2" "$3" "${4:-}" || fail "exit $?: $(cat "$3")"
	local ip
	ip=$(pod_ip "$3") || fail "no ips[0].address: $(cat "$3")"
	python3 -c 'import ipaddress, sys
a = ipaddress.ip_address(sys.argv[1])
assert ipaddress.ip_address("10.244.1.100") <= a <= ipaddress.ip_address("10.244.1.200"), a' "$ip" ||
		fail "address $ip outside the IPAM range"
	[ "$(pyj 'd["ips"][0]["address"].split("/")[1], d["ips"][0]["gateway"], d["ips"][0]["interface"]' "$3")" = "('32', '10.244.1.1', 1)" ] ||
		fail "ips[0]: $(pyj 'd["ips"]' "$3")"
	[ "$(pyj 'd["interfaces"][1]["name"], d["interfaces"][1]["sandbox"]' "$3")" = "('eth0', '/var/run/netns/$2')" ] ||
		fail "interfaces: $(pyj 'd["interfaces"]' "$3")"
	[ "$(pyj 'd["routes"]' "$3")" = "[{'dst': '0.0.0.0/0', 'gw': '10.244.1.1'}]" ] ||
		fail "routes: $(pyj 'd["routes"]' "$3")"
}

ctl_mode() { # node 1 sluiced's af_xdp_mode (version)
	"$SL_BUILD/control/cli/sluicectl" -s "$SL_RUN/node1.sock" -o json version |
		python3 -c 'import json, sys; print(json.load(sys.stdin).get("af_xdp_mode", "native"))'
}

pod_if_ok() { # NETNS RESULT
	local ip o
	ip=$(pod_ip "$2")
	o=$(ip netns exec "$1" ip -o -4 addr show dev eth0) || fail "no eth0 in $1"
	grep -q "inet $ip/32 " <<<"$o" || fail "eth0 in $1: $o"
	o=$(ip netns exec "$1" ip -o link show eth0)
	grep -q "mtu 1450 " <<<"$o" && grep -q "state UP" <<<"$o" || fail "eth0: $o"
	[ "$(ip netns exec "$1" cat /sys/class/net/eth0/address)" = "$(pyj 'd["interfaces"][1]["mac"]' "$2")" ] ||
		fail "eth0 MAC differs from the result's"
	o=$(ip netns exec "$1" ip -4 route show)
	grep -q "^default via 10.244.1.1 dev eth0 onlink" <<<"$o" || fail "routes: $o"
	grep -q "^10.244.1.1 dev eth0 scope link" <<<"$o" || fail "routes: $o"
	# TX checksum offload: left on when sluiced's AF_XDP mode is skb (the default; sluiced
	# completes checksums), off in native mode (docs/performance.md).
	o=$(ip netns exec "$1" ethtool -k eth0 | grep '^tx-checksumming:')
	[ "$o" = "tx-checksumming: $([ "$(ctl_mode)" = skb ] && echo on || echo off)" ] || fail "$o"
	# skb mode: TCP GSO stays (sluiced cuts it), UDP GSO does not (its datagram size is lost)
	if [ "$(ctl_mode)" = skb ]; then
		o=$(ip netns exec "$1" ethtool -k eth0)
		grep -q '^tcp-segmentation-offload: on' <<<"$o" || fail "TSO: $(grep '^tcp-seg' <<<"$o")"
		grep -q '^tx-udp-segmentation: off' <<<"$o" || fail "$(grep '^tx-udp-seg' <<<"$o")"
	fi
}

host_if_ok() { # RESULT
	local h o
	h=$(host_if "$1")
	[[ $h =~ ^sl[0-9a-f]{12}$ ]] || fail "host end name $h"
	o=$(in_ns n1 ip -d link show "$h") || fail "no $h in node 1"
	grep -q "mtu 1450 " <<<"$o" && grep -q ",UP" <<<"$o" || fail "$o"
	grep -Eq 'prog/xdp|xdp' <<<"$o" || fail "no XDP program on $h (sluiced did not attach it)"
	[ "$(in_ns n1 cat "/sys/class/net/$h/address")" = "$(pyj 'd["interfaces"][0]["mac"]' "$1")" ] ||
		fail "$h MAC differs from the result's"
}

sluiced_has() { # ID RESULT
	local want
	want="('cnitest', '$1:eth0', '$(pod_ip "$2")', '$(host_if "$2")', '$(pyj 'd["interfaces"][1]["mac"]' "$2")')"
	pods_json | pyj "[(p['namespace'], p['name'], p['ip'], p['ifname'], p['mac'].lower()) for p in d]" |
		grep -qF "$want" || fail "sluiced has no $want: $(pods_json)"
}

ping_ok() { # NETNS DST
	local o
	o=$(ip netns exec "$1" timeout 20 ping -n -c 3 -i 0.2 -W 2 "$2" 2>&1)
	grep -q "^3 packets transmitted, 3 received" <<<"$o" && return 0
	grep -E 'From|transmitted|unreachable|error' <<<"$o" | tail -n 3
	fail "expected 3/3 echo replies from $2 in $1"
}

check_ok() { # ID NETNS RESULT
	with_prev "$T/conf.json" "$3" >"$T/conf-prev.json"
	cni_pod CHECK "$1" "$2" "$T/check.json" "$T/conf-prev.json" || fail "exit $?: $(cat "$T/check.json")"
	[ ! -s "$T/check.json" ] || fail "CHECK printed: $(cat "$T/check.json")"
}

check_broken() { # ID NETNS RESULT: the address removed, CHECK must fail naming it
	ip netns exec "$2" ip addr del "$(pod_ip "$3")/32" dev eth0 || return 1
	with_prev "$T/conf.json" "$3" >"$T/conf-prev.json"
	cni_pod CHECK "$1" "$2" "$T/check.json" "$T/conf-prev.json" && fail "CHECK passed"
	expect_error "$T/check.json" 103 "eth0 lacks its address"
}

del_ok() { # ID NETNS [CONF]
	cni_pod DEL "$1" "$2" "$T/del.json" "${3:-}" || fail "exit $?: $(cat "$T/del.json")"
	[ ! -s "$T/del.json" ] || fail "DEL printed: $(cat "$T/del.json")"
}

gone() { # ID NETNS RESULT: nothing of the attachment is left
	local h ip
	h=$(host_if "$3")
	ip=$(pod_ip "$3")
	in_ns n1 ip link show "$h" >/dev/null 2>&1 && fail "host end $h still exists"
	if ip netns list | grep -q "^$2\b"; then
		ip netns exec "$2" ip link show eth0 >/dev/null 2>&1 && fail "eth0 still in $2"
	fi
	reservations | grep -qx "$ip" && fail "host-local still reserves $ip"
	pods_json | grep -q "\"$1:eth0\"" && fail "sluiced still has $1:eth0"
	return 0
}

nothing_left() { # NETNS: no eth0 there, no CNI veth, no reservation
	local v r
	ip netns exec "$1" ip link show eth0 >/dev/null 2>&1 && fail "eth0 exists in $1"
	v=$(cni_veths)
	[ -z "$v" ] || fail "veths left: $v"
	r=$(reservations)
	[ -z "$r" ] || fail "reservations left: $r"
	return 0
}

bad_env_no_netns() {
	cni "$T/e.json" "$T/conf.json" CNI_COMMAND=ADD CNI_CONTAINERID=x1 CNI_IFNAME=eth0 \
		CNI_PATH="$CNI_BIN" && fail "ADD without CNI_NETNS succeeded"
	expect_error "$T/e.json" 4 '^CNI_NETNS: required'
}

bad_env_command() {
	cni "$T/e.json" "$T/conf.json" CNI_COMMAND=FROB && fail "succeeded"
	expect_error "$T/e.json" 4 '^CNI_COMMAND: unknown command "FROB"'
}

bad_netns_path() {
	cni_pod ADD x2 ${P}nonexistent "$T/e.json" && fail "succeeded"
	expect_error "$T/e.json" 4 '^CNI_NETNS: cannot open'
}

bad_netns_file() {
	cni "$T/e.json" "$T/conf.json" CNI_COMMAND=ADD CNI_CONTAINERID=x7 CNI_IFNAME=eth0 \
		CNI_NETNS=/etc/hostname CNI_PATH="$CNI_BIN" && fail "succeeded"
	expect_error "$T/e.json" 4 '^CNI_NETNS: /etc/hostname is not a network namespace'
}

bad_args_iface() {
	cni "$T/e.json" "$T/conf.json" CNI_COMMAND=ADD CNI_CONTAINERID=x8 CNI_IFNAME=eth0 \
		CNI_NETNS=/var/run/netns/${P}c9 CNI_PATH="$CNI_BIN" CNI_ARGS="SLUICE_INTERFACE=macvlan" &&
		fail "succeeded: $(cat "$T/e.json")"
	expect_error "$T/e.json" 4 '^CNI_ARGS: SLUICE_INTERFACE: unsupported value "macvlan"'
}

bad_conf() { # SED-EXPR CODE REGEX
	sed "$1" "$T/conf.json" >"$T/bad.json"
	cni_pod ADD x3 ${P}c9 "$T/e.json" "$T/bad.json" && fail "succeeded: $(cat "$T/e.json")"
	expect_error "$T/e.json" "$2" "$3"
}

# ADD where the pod namespace already has an eth0: the veth cannot be made, the address
# IPAM gave is released again.
add_fails_eth0_exists() {
	ip netns exec ${P}c3 ip link add eth0 type veth peer name eth0p || return 1
	cni_pod ADD x4 ${P}c3 "$T/e.json" && fail "succeeded: $(cat "$T/e.json")"
	expect_error "$T/e.json" 101 'already exists' || return 1
	ip netns exec ${P}c3 ip link del eth0
	nothing_left ${P}c3
}

# ADD where sluiced refuses the pod (IPAM hands out p1a's address): everything undone.
add_fails_sluiced_refuses() {
	conf 1.1.0 "{\"type\":\"host-local\",\"rangeStart\":\"10.244.1.2\",\"rangeEnd\":\"10.244.1.2\",\"dataDir\":\"$SL_RUN/ipam-dup\"}" >"$T/dup.json"
	cni_pod ADD x5 ${P}c3 "$T/e.json" "$T/dup.json" && fail "succeeded: $(cat "$T/e.json")"
	expect_error "$T/e.json" 100 'sluiced: pod.ip: 10.244.1.2 is already used' || return 1
	nothing_left ${P}c3 || return 1
	[ -z "$(reservations "$SL_RUN/ipam-dup")" ] || fail "ipam-dup keeps $(reservations "$SL_RUN/ipam-dup")"
}

# ADD where IPAM allocates outside sluiced's pod CIDR: refused before any veth exists.
add_fails_outside_cidr() {
	conf 1.1.0 "{\"type\":\"host-local\",\"subnet\":\"10.244.9.0/24\",\"dataDir\":\"$SL_RUN/ipam-out\"}" >"$T/out.json"
	cni_pod ADD x6 ${P}c3 "$T/e.json" "$T/out.json" && fail "succeeded: $(cat "$T/e.json")"
	expect_error "$T/e.json" 7 'ipam: allocated 10.244.9.2, which is not a pod address' || return 1
	nothing_left ${P}c3 || return 1
	[ -z "$(reservations "$SL_RUN/ipam-out")" ] || fail "ipam-out keeps $(reservations "$SL_RUN/ipam-out")"
}

# (c4, added before sluiced stopped, keeps its veth and address: compare with before.)
add_down() {
	local before after
	before="$(cni_veths) / $(reservations)"
	cni_pod ADD d1 ${P}c3 "$T/e.json" && fail "succeeded: $(cat "$T/e.json")"
	expect_error "$T/e.json" 11 "sluiced not reachable at $SL_RUN/node1.sock" || return 1
	ip netns exec ${P}c3 ip link show eth0 >/dev/null 2>&1 && fail "eth0 exists in ${P}c3"
	after="$(cni_veths) / $(reservations)"
	[ "$after" = "$before" ] || fail "veths / reservations were \"$before\", now \"$after\""
}

status_is() { # CODE (0: success)
	cni "$T/s.json" "$T/conf.json" CNI_COMMAND=STATUS CNI_PATH="$CNI_BIN"
	local rc=$?
	if [ "$1" = 0 ]; then
		[ "$rc" = 0 ] && [ ! -s "$T/s.json" ] || fail "exit $rc: $(cat "$T/s.json")"
	else
		[ "$rc" != 0 ] || fail "STATUS succeeded"
		expect_error "$T/s.json" "$1" 'sluiced not reachable'
	fi
}

# DEL while sluiced is down: the veth goes, the answer is 11 (retry). The address stays
# reserved: the IPAM section takes its subnet from sluiced, so host-local cannot be run
# until sluiced answers again (the retried DEL releases it).
del_down() { # ID NETNS RESULT
	cni_pod DEL "$1" "$2" "$T/e.json" && fail "DEL succeeded while sluiced is down"
	expect_error "$T/e.json" 11 'sluiced not reachable' || return 1
	in_ns n1 ip link show "$(host_if "$3")" >/dev/null 2>&1 && fail "host end still exists"
	ip netns exec "$2" ip link show eth0 >/dev/null 2>&1 && fail "eth0 still in $2"
	reservations | grep -qx "$(pod_ip "$3")" || fail "address released without sluiced's subnet?"
}

restart_node1() {
	node_start 1 || return 1
	wait_vtep 1 || fail "node1 did not resolve node2's VTEP"
}

gc_ok() {
	local keep
	add_ok g1 ${P}c4 "$T/g1.json" || return 1
	add_ok g2 ${P}c5 "$T/g2.json" || return 1
	python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
c["cni.dev/valid-attachments"] = [{"containerID": "g1", "ifname": "eth0"}]
print(json.dumps(c))' "$T/conf.json" >"$T/gc.json"
	cni "$T/gcout.json" "$T/gc.json" CNI_COMMAND=GC CNI_PATH="$CNI_BIN" || fail "GC: $(cat "$T/gcout.json")"
	keep=$(pod_ip "$T/g1.json")
	gone g2 ${P}c5 "$T/g2.json" || return 1
	sluiced_has g1 "$T/g1.json" || return 1
	reservations | grep -qx "$keep" || fail "GC released the valid attachment's $keep"
	in_ns n1 ip link show "$(host_if "$T/g1.json")" >/dev/null || fail "GC removed g1's veth"
	ping_ok ${P}c4 10.244.1.1 || return 1
	del_ok g1 ${P}c4
}

# time_adds PLUGIN CONF NODE-NS PREFIX OUT-DIR: N_PODS ADDs one after another inside
# NODE-NS, each timed around the plugin's exec only (bash $EPOCHREALTIME, no forks);
# writes "i rc start end" lines to OUT-DIR/times.
time_cmd() {
	local verb=$1 plugin=$2 cfg=$3 node=$4 prefix=$5 dir=$6
	mkdir -p "$dir"
	ip netns exec "$node" bash -c '
		verb=$1 plugin=$2 cfg=$3 prefix=$4 dir=$5 n=$6 cni_path=$7
		for ((i = 1; i <= n; i++)); do
			s=$EPOCHREALTIME
			CNI_COMMAND=$verb CNI_CONTAINERID=$prefix$i CNI_IFNAME=eth0 \
			CNI_NETNS=/var/run/netns/$prefix$i CNI_PATH=$cni_path \
			CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=cnitest;K8S_POD_NAME=$prefix$i" \
				"$plugin" <"$cfg" >"$dir/$verb.$i.json" 2>>"$dir/stderr"
			rc=$?
			e=$EPOCHREALTIME
			echo "$i $rc $s $e"
		done >"$dir/$verb.times"' _ "$verb" "$plugin" "$cfg" "$prefix" "$dir" "$N_PODS" "$CNI_BIN"
}

# stats FILE: "median X ms, p99 Y ms (n=N, failures F)" over "i rc start end" lines.
stats() {
	python3 - "$1" <<'PY'
import math, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ms = sorted((float(r[3]) - float(r[2])) * 1000 for r in rows)
bad = sum(1 for r in rows if r[1] != "0")
n = len(ms)
med = (ms[(n - 1) // 2] + ms[n // 2]) / 2
p99 = ms[max(0, math.ceil(0.99 * n) - 1)]
print(f"median {med:.2f} ms, p99 {p99:.2f} ms (n={n}, failures {bad})")
PY
}

all_ok() { # TIMES-FILE
	local bad
	bad=$(awk '$2 != 0' "$1" | head -3)
	[ -z "$bad" ] || fail "failed runs: $bad"
	[ "$(wc -l <"$1")" = "$N_PODS" ] || fail "$(wc -l <"$1") runs, want $N_PODS"
}

make_pod_netns() { # PREFIX
	local i
	for ((i = 1; i <= N_PODS; i++)); do
		ip netns add "$1$i" || return 1
	done
}

unique_ips() { # DIR: N_PODS results with distinct addresses
	local n
	n=$(for ((i = 1; i <= N_PODS; i++)); do pod_ip "$1/ADD.$i.json"; done | sort -u | wc -l)
	[ "$n" = "$N_PODS" ] || fail "$n distinct addresses, want $N_PODS"
}

pods_count() { # N
	local n
	n=$(n_pods)
	[ "$n" = "$1" ] || fail "sluiced lists $n pods, want $1"
}

# Run VERB for all pods at once (background jobs), then wait for every one.
concurrent() { # VERB PREFIX DIR
	local verb=$1 prefix=$2 dir=$3 i pids=() rc=0
	mkdir -p "$dir"
	for ((i = 1; i <= N_PODS; i++)); do
		(cni_pod "$verb" "$prefix$i" "$prefix$i" "$dir/$verb.$i.json"; echo $? >"$dir/$verb.$i.rc") &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	for ((i = 1; i <= N_PODS; i++)); do
		[ "$(cat "$dir/$verb.$i.rc")" = 0 ] || { rc=1; echo "$verb $prefix$i: $(tr -d '\n\t' <"$dir/$verb.$i.json")"; }
	done
	return $rc
}

only_static_veths() {
	local v
	v=$(in_ns n1 ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^sl' | sort | tr '\n' ' ')
	[ "$v" = "sl-host sl-up0 " ] || fail "sl* links in node 1: $v"
}

no_reservations() {
	local r
	r=$(reservations)
	[ -z "$r" ] || fail "reserved: $(echo $r)"
}

# vhost-user.

# conf_vhost VERSION [MODE [SOCKET-DIR]]: a vhost-user config for node 1; runtimeConfig
# carries a CNIDeviceInfoFile as Multus passes it.
conf_vhost() {
	cat <<JSON
{"cniVersion":"$1","name":"$NET","type":"sluice-cni","socket":"$SL_RUN/node1.sock",
 "interface":"vhost-user","vhostMode":"${2:-client}","socketDir":"${3:-$VH_DIR}",
 "runtimeConfig":{"CNIDeviceInfoFile":"$DEVINFO_DIR/$NET-vh-net1.json"},
 "ipam":{"type":"host-local","rangeStart":"10.244.1.100","rangeEnd":"10.244.1.200","dataDir":"$IPAM_DIR"}}
JSON
}

# cni_vh VERB ID NETNS OUT CONF [CNI_ARGS-EXTRA]: a secondary attachment "net1", as Multus
# makes it.
cni_vh() {
	cni "$4" "$5" CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_IFNAME=net1 \
		CNI_NETNS="/var/run/netns/$3" CNI_PATH="$CNI_BIN" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=cnitest;K8S_POD_NAME=$2${6:+;$6}"
}

vh_sock() { pyj 'd["interfaces"][0]["socketPath"]' "$1"; }
vh_mac() { pyj 'd["interfaces"][0]["mac"]' "$1"; }
vh_dir() { dirname "$(vh_sock "$1")"; }

# The pod row of sluiced for ID (net1) as "ip mac ifname state", or nothing.
vh_row() {
	pods_json | pyj "' '.join(' '.join((p['ip'], p['mac'].lower(), p['ifname'], p.get('state', '?'))) for p in d if p['namespace'] == 'cnitest' and p['name'] == '$1:net1')"
}

vh_add_ok() { # ID NETNS OUT CONF
	cni_vh ADD "$1" "$2" "$3" "$4" || fail "exit $?: $(cat "$3")"
	pyj 'd["interfaces"]' "$3" >/dev/null || fail "not a result: $(cat "$3")"
	python3 - "$3" "$2" "$VH_DIR" <<'PY' || fail "result: $(cat "$3")"
import ipaddress, json, re, sys
d = json.load(open(sys.argv[1]))
assert d["cniVersion"] == "1.1.0", d["cniVersion"]
i = d["interfaces"]
assert len(i) == 1, "one interface (no host end): %s" % i
assert i[0]["name"] == "net1" and i[0]["sandbox"] == "/var/run/netns/" + sys.argv[2], i
assert re.fullmatch(re.escape(sys.argv[3]) + r"/[0-9a-f]{12}/net1\.sock", i[0]["socketPath"]), i
m = int(i[0]["mac"].split(":")[0], 16)
assert m & 3 == 2, "MAC not locally administered unicast: %s" % i[0]["mac"]
ip = d["ips"][0]
a = ipaddress.ip_interface(ip["address"])
assert a.network.prefixlen == 24, "address with IPAM's prefix: %s" % ip
assert ipaddress.ip_address("10.244.1.100") <= a.ip <= ipaddress.ip_address("10.244.1.200"), ip
assert ip["gateway"] == "10.244.1.1" and ip["interface"] == 0, ip
assert d["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.244.1.1"}], d["routes"]
PY
	ip netns exec "$2" ip link show net1 >/dev/null 2>&1 && fail "a kernel net1 appeared in $2"
	[ -z "$(cni_veths)" ] || fail "a veth was made: $(cni_veths)"
}

# Socket directory 0700 and root's (no socketUid), device-info in it and at runtimeConfig's
# CNIDeviceInfoFile, the owner record in socketDir/.owner.
vh_files_ok() { # RESULT POD-MODE
	local dir want
	dir=$(vh_dir "$1")
	[ "$(stat -c %a:%u "$dir")" = 700:0 ] || fail "$dir mode:uid $(stat -c %a:%u "$dir")"
	[ "$(stat -c %a:%u "$VH_DIR/.owner/$(basename "$dir")")" = 600:0 ] ||
		fail "owner record of $dir: $(ls -la "$VH_DIR/.owner")"
	want="{'type': 'vhost-user', 'version': '1.1.0', 'vhost-user': {'mode': '$2', 'path': '$(vh_sock "$1")'}}"
	[ "$(pyj d "$dir/device-info.json")" = "$want" ] || fail "device-info.json: $(cat "$dir/device-info.json")"
	[ "$(pyj d "$DEVINFO_DIR/$NET-vh-net1.json")" = "$want" ] ||
		fail "CNIDeviceInfoFile: $(cat "$DEVINFO_DIR/$NET-vh-net1.json" 2>&1)"
}

vh_state_is() { # ID RESULT STATE
	local row want
	row=$(vh_row "$1")
	want="$(pyj 'd["ips"][0]["address"].split("/")[0]' "$2") $(vh_mac "$2") net1.sock $3"
	[ "$row" = "$want" ] || fail "sluiced has \"$row\", want \"$want\""
}

vh_check() { # ID NETNS RESULT
	with_prev "$T/vh.json" "$3" >"$T/vh-prev.json"
	cni_vh CHECK "$1" "$2" "$T/vh-check.json" "$T/vh-prev.json" ||
		fail "exit $?: $(cat "$T/vh-check.json")"
	[ ! -s "$T/vh-check.json" ] || fail "CHECK printed: $(cat "$T/vh-check.json")"
}

vh_check_moved() { # ID NETNS RESULT: a prevResult with another address must fail
	sed 's#"10\.244\.1\.[0-9]*/24"#"10.244.1.250/24"#' "$3" >"$T/vh-moved.json"
	with_prev "$T/vh.json" "$T/vh-moved.json" >"$T/vh-prev.json"
	cni_vh CHECK "$1" "$2" "$T/vh-check.json" "$T/vh-prev.json" && fail "CHECK passed"
	expect_error "$T/vh-check.json" 103 "sluiced has no pod cnitest/$1:net1 with ip 10.244.1.250"
}

# The DPDK pod: sluice-gen with a virtio_user port that creates the socket (server=1), 20
# kpps to p1a for 3 s after 3 s of warm-up (rte_vhost in sluiced retries the connection
# once a second); p1a's AF_XDP port counts what arrives. Meanwhile sluiced must report
# the pod "connected".
vh_traffic() { # RESULT
	local sock mac ip pid i seen=no
	sock=$(vh_sock "$1")
	mac=$(vh_mac "$1")
	ip=$(pyj 'd["ips"][0]["address"].split("/")[0]' "$1")
	rm -f "$T/gen.json"
	# shellcheck disable=SC2086
	timeout 60 "$SL_BUILD/perf/sluice-gen" --no-pci -l 0 --file-prefix ${P}gen $GEN_MEM \
		--log-level=lib.eal:error -- \
		--tx-port "-:net_virtio_user0,path=$sock,server=1,queues=1,mac=$mac" \
		--rx-port "$(ns p1a):net_af_xdp1,iface=eth0" --src-mac "$mac" --dst-mac $GW_MAC \
		--src-ip "$ip" --dst-ip 10.244.1.2 --rate 20000 --duration 3 --warmup 3 --flows 16 \
		--quiet --json "$T/gen.json" >"$T/gen.log" 2>&1 &
	pid=$!
	BG+=("$pid")
	for i in $(seq 50); do
		[ "$(vh_row vh1 | awk '{print $4}')" = connected ] && { seen=yes; break; }
		sleep 0.1
	done
	echo "$seen" >"$T/vh-connected"
	wait "$pid" || { i=$?; tail -n 5 "$T/gen.log"; fail "sluice-gen exit status $i"; }
	python3 - "$T/gen.json" <<'PY' >&3 || fail "$(cat "$T/gen.json")"
import json, sys
r = json.load(open(sys.argv[1]))
print("# DPDK pod (virtio_user) -> p1a through sluiced: %d packets received, loss %.2f %%"
      % (r["rx_packets"], r["loss_pct"]))
sys.exit(not (r["rx_packets"] >= 50000 and r["loss_pct"] < 2.0))
PY
}

vh_gone() { # ID DIR
	local r
	[ -z "$(vh_row "$1")" ] || fail "sluiced still lists $1:net1: $(vh_row "$1")"
	[ ! -e "$2" ] || fail "$2 still exists: $(ls -la "$2")"
	[ ! -e "$DEVINFO_DIR/$NET-vh-net1.json" ] || fail "CNIDeviceInfoFile still exists"
	r=$(reservations)
	[ -z "$r" ] || fail "reservations left: $r"
	return 0
}

vh_del_ok() { # ID NETNS CONF
	cni_vh DEL "$1" "$2" "$T/vh-del.json" "$3" || fail "exit $?: $(cat "$T/vh-del.json")"
	[ ! -s "$T/vh-del.json" ] || fail "DEL printed: $(cat "$T/vh-del.json")"
}

# vhostMode server: sluiced creates the socket in the directory; the pod is the client.
vh_server_mode() {
	local sock i
	conf_vhost 1.1.0 server >"$T/vh-srv.json"
	vh_add_ok vs ${P}c9 "$T/vs.json" "$T/vh-srv.json" || return 1
	vh_files_ok "$T/vs.json" client || return 1
	sock=$(vh_sock "$T/vs.json")
	for i in $(seq 30); do [ -S "$sock" ] && break; sleep 0.1; done
	[ -S "$sock" ] || fail "sluiced did not create $sock"
	vh_state_is vs "$T/vs.json" waiting || return 1
	vh_del_ok vs ${P}c9 "$T/vh-srv.json" || return 1
	vh_gone vs "$(dirname "$sock")"
}

# CNI_ARGS SLUICE_INTERFACE=vhost-user and MAC turn a veth config into a vhost-user one.
vh_by_args() {
	cni_vh ADD va ${P}c9 "$T/va.json" "$T/conf.json" "SLUICE_INTERFACE=vhost-user;MAC=02:00:00:00:77:01" ||
		fail "exit $?: $(cat "$T/va.json")"
	local sock
	sock=$(pyj 'd["interfaces"][0]["socketPath"]' "$T/va.json") || fail "no socketPath: $(cat "$T/va.json")"
	[[ $sock == "$VH_DIR"/* ]] || fail "socketPath $sock not under socketDir $VH_DIR"
	[ "$(vh_mac "$T/va.json")" = 02:00:00:00:77:01 ] || fail "MAC $(vh_mac "$T/va.json")"
	vh_state_is va "$T/va.json" waiting || return 1
	cni_vh DEL va ${P}c9 "$T/va-del.json" "$T/conf.json" || fail "DEL: $(cat "$T/va-del.json")"
	[ ! -e "$(dirname "$sock")" ] || fail "$(dirname "$sock") left behind"
	[ -z "$(vh_row va)" ] || fail "sluiced still lists va"
	[ -z "$(reservations)" ] || fail "reservations left: $(reservations)"
}

vh_gc() {
	local dir
	conf_vhost 1.1.0 >"$T/vh-gc.json"
	vh_add_ok vg ${P}c9 "$T/vg.json" "$T/vh-gc.json" || return 1
	dir=$(vh_dir "$T/vg.json")
	python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
c["cni.dev/valid-attachments"] = []
print(json.dumps(c))' "$T/vh-gc.json" >"$T/gc.json"
	cni "$T/gcout.json" "$T/gc.json" CNI_COMMAND=GC CNI_PATH="$CNI_BIN" || fail "GC: $(cat "$T/gcout.json")"
	[ -z "$(vh_row vg)" ] || fail "sluiced still lists vg"
	[ ! -e "$dir" ] || fail "$dir left behind"
	[ -z "$(reservations)" ] || fail "reservations left: $(reservations)"
	rm -f "$DEVINFO_DIR/$NET-vh-net1.json" # the runtime's file (Multus deletes it on DEL)
}

# GC with the primary (veth) config while a vhost-user attachment of the Multus network is
# alive: the vhost-user attachment is not this GC's (kept), and the IPAM plugin's GC gets
# it among the valid attachments (both networks share one host-local store). The IPAM
# plugin here is a recording stand-in that implements 1.1.0 (Debian's host-local does not).
vh_gc_other_kind() {
	mkdir -p "$T/fake"
	cat >"$T/fake/rec-ipam" <<SH
#!/bin/sh
cat >"$T/fake/\$CNI_COMMAND.json"
[ "\$CNI_COMMAND" = VERSION ] && echo '{"cniVersion":"1.1.0","supportedVersions":["1.0.0","1.1.0"]}'
exit 0
SH
	chmod +x "$T/fake/rec-ipam"
	conf_vhost 1.1.0 >"$T/vk-conf.json"
	vh_add_ok vk ${P}c9 "$T/vk.json" "$T/vk-conf.json" || return 1
	add_ok pk ${P}c4 "$T/pk.json" || return 1
	python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
c["ipam"] = {"type": "rec-ipam", "subnet": "10.244.1.0/24"}
c["cni.dev/valid-attachments"] = []
print(json.dumps(c))' "$T/conf.json" >"$T/gc-veth.json"
	cni "$T/gcout.json" "$T/gc-veth.json" CNI_COMMAND=GC CNI_PATH="$T/fake:$CNI_BIN" ||
		fail "GC: $(cat "$T/gcout.json")"
	pods_json | grep -q '"pk:eth0"' && fail "GC kept the stale veth attachment"
	in_ns n1 ip link show "$(host_if "$T/pk.json")" >/dev/null 2>&1 && fail "GC kept pk's veth"
	vh_state_is vk "$T/vk.json" waiting || return 1
	[ -d "$(vh_dir "$T/vk.json")" ] || fail "GC removed vk's socket directory"
	[ "$(pyj 'd["cni.dev/valid-attachments"]' "$T/fake/GC.json")" = "[{'containerID': 'vk', 'ifname': 'net1'}]" ] ||
		fail "IPAM GC got: $(pyj 'd["cni.dev/valid-attachments"]' "$T/fake/GC.json")"
	# pk's address went to the stand-in's DEL: release it in host-local too.
	cni_pod DEL pk ${P}c4 "$T/pk-del.json" || fail "DEL pk: $(cat "$T/pk-del.json")"
	vh_del_ok vk ${P}c9 "$T/vk-conf.json" || return 1
	[ -z "$(reservations)" ] || fail "reservations left: $(reservations)"
	rm -f "$DEVINFO_DIR/$NET-vh-net1.json"
}

# Kubernetes: with K8S_POD_UID the directory is "<pod uid>-net1" (what a pod mounts with
# subPathExpr), owned by socketUid (per pod, Multus cni-args -> args.cni) and socketGid
# (the network's), 0750. Another attachment whose id is taken (an owner record of another
# pod: a collision) is refused with code 104 and leaves nothing; its DEL does not remove
# the owner's directory.
VU_UID=0b5c2b1e-7f44-4a1c-9b7e-2f6f2d9c1a00
vh_pod_dirs() {
	local dir rec
	python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
c["socketGid"] = 4322
c["args"] = {"cni": {"socketUid": 4321}}
print(json.dumps(c))' "$T/vh.json" >"$T/vu-conf.json"
	cni_vh ADD vu ${P}c9 "$T/vu.json" "$T/vu-conf.json" "K8S_POD_UID=$VU_UID" ||
		fail "ADD: $(cat "$T/vu.json")"
	dir=$VH_DIR/$VU_UID-net1
	[ "$(vh_sock "$T/vu.json")" = "$dir/net1.sock" ] || fail "socketPath $(vh_sock "$T/vu.json")"
	[ "$(stat -c %u:%g:%a "$dir")" = 4321:4322:750 ] || fail "$dir: $(stat -c %u:%g:%a "$dir")"
	vh_state_is vu "$T/vu.json" waiting || return 1
	# Another pod's record on the id (a collision): vu2 of this pod UID is refused.
	rec=$VH_DIR/.owner/$VU_UID-net1
	cp "$rec" "$T/vu-rec"
	printf 'containerID=other\nifname=net1\npodUID=11111111-2222-3333-4444-555555555555\n' >"$rec"
	local before; before=$(reservations | wc -l)
	cni_vh ADD vu2 ${P}c9 "$T/vu2.json" "$T/vu-conf.json" "K8S_POD_UID=$VU_UID" &&
		fail "ADD over another's directory succeeded: $(cat "$T/vu2.json")"
	expect_error "$T/vu2.json" 104 "^socket directory $dir belongs to container other \\(ifname net1\\)" || return 1
	[ "$(reservations | wc -l)" = "$before" ] || fail "the refused ADD kept an address"
	[ -z "$(vh_row vu2)" ] || fail "sluiced lists vu2"
	cni_vh DEL vu2 ${P}c9 "$T/vu2-del.json" "$T/vu-conf.json" "K8S_POD_UID=$VU_UID" ||
		fail "DEL vu2: $(cat "$T/vu2-del.json")"
	[ -d "$dir" ] || fail "vu2's DEL removed the directory of another attachment"
	cp "$T/vu-rec" "$rec"
	cni_vh DEL vu ${P}c9 "$T/vu-del.json" "$T/vu-conf.json" "K8S_POD_UID=$VU_UID" ||
		fail "DEL vu: $(cat "$T/vu-del.json")"
	[ ! -e "$dir" ] && [ ! -e "$rec" ] || fail "vu's DEL left $(ls -A "$VH_DIR" "$VH_DIR/.owner")"
	[ -z "$(vh_row vu)" ] || fail "sluiced still lists vu"
	rm -f "$DEVINFO_DIR/$NET-vh-net1.json"
}

vh_too_long() {
	conf_vhost 1.1.0 client "/$(printf 'd%.0s' $(seq 89))" >"$T/vh-long.json"
	cni_vh ADD vl ${P}c9 "$T/e.json" "$T/vh-long.json" && fail "succeeded: $(cat "$T/e.json")"
	expect_error "$T/e.json" 7 '^socketDir: "/d+" is too long: the socket path .* would be 113 bytes' || return 1
	[ -z "$(reservations)" ] || fail "reservations left: $(reservations)"
	[ -z "$(vh_row vl)" ] || fail "sluiced lists vl"
}

# The shipped configurations (deploy/), pointed at the test's sluiced, dataDir, socketDir.

# deploy_conf N [RUNTIME-JSON [PREV-FILE]]: plugin N of deploy/10-sluice.conflist as the
# runtime derives it; cniVersion $DEPLOY_VERSION when set.
deploy_conf() {
	python3 - "$ROOT/deploy/10-sluice.conflist" "$1" "$SL_RUN" "$IPAM_DIR" "$VH_DIR" "${2:-}" "${3:-}" "${DEPLOY_VERSION:-}" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))
c = dict(l["plugins"][int(sys.argv[2])], cniVersion=sys.argv[8] or l["cniVersion"], name=l["name"])
if c["type"] == "sluice-cni":
    c["socket"] = sys.argv[3] + "/node1.sock"
    c["socketDir"] = sys.argv[5]
    c["ipam"]["dataDir"] = sys.argv[4]
if sys.argv[6]:
    c["runtimeConfig"] = json.loads(sys.argv[6])
if sys.argv[7]:
    c["prevResult"] = json.load(open(sys.argv[7]))
print(json.dumps(c))
PY
}

# The conflist: sluice-cni, then portmap with a hostPort (DNAT rule in node 1's netns).
deploy_conflist_ok() {
	local pm='{"portMappings":[{"hostPort":18080,"containerPort":80,"protocol":"tcp"}]}'
	local want DEPLOY_VERSION= # local: seen by deploy_conf (dynamic scope)
	want=$(pyj 'd["cniVersion"]' "$ROOT/deploy/10-sluice.conflist")
	# A portmap older than the conflist's cniVersion (Debian 12's 1.1.1 stops at 1.0.0):
	# the whole list runs at 1.0.0, as docs/cni.md tells such nodes to configure it.
	if ! echo '{}' | CNI_COMMAND=VERSION "$CNI_BIN/portmap" | grep -q "\"$want\""; then
		echo "# $CNI_BIN/portmap does not speak $want: the conflist is run at 1.0.0" >&3
		DEPLOY_VERSION=1.0.0
	fi
	deploy_conf 0 >"$T/d0.json" || return 1
	cni_pod ADD dp ${P}c9 "$T/dp.json" "$T/d0.json" || fail "sluice-cni ADD: $(cat "$T/dp.json")"
	deploy_conf 1 "$pm" "$T/dp.json" >"$T/d1.json" || return 1
	PLUGIN=$CNI_BIN/portmap cni_pod ADD dp ${P}c9 "$T/dp-pm.json" "$T/d1.json" ||
		fail "portmap ADD: $(cat "$T/dp-pm.json")"
	[ "$(pyj 'd["ips"][0]["address"]' "$T/dp-pm.json")" = "$(pyj 'd["ips"][0]["address"]' "$T/dp.json")" ] ||
		fail "portmap did not pass the result through: $(cat "$T/dp-pm.json")"
	in_ns n1 iptables -t nat -S 2>/dev/null | grep -q -- "--dport 18080 .*$(pod_ip "$T/dp.json"):80" ||
		fail "no DNAT rule for hostPort 18080: $(in_ns n1 iptables -t nat -S 2>&1 | grep -i dnat | head -3)"
	PLUGIN=$CNI_BIN/portmap cni_pod DEL dp ${P}c9 "$T/dp-del.json" "$T/d1.json" ||
		fail "portmap DEL: $(cat "$T/dp-del.json")"
	in_ns n1 iptables -t nat -S 2>/dev/null | grep -q -- "--dport 18080 " && fail "DNAT rule left after DEL"
	del_ok dp ${P}c9 "$T/d0.json" || return 1
	gone dp ${P}c9 "$T/dp.json"
}

# The NetworkAttachmentDefinition's config (a YAML block scalar, read without a YAML
# library): a vhost-user attachment with a MAC from runtimeConfig, as Multus passes it.
deploy_nad_ok() {
	python3 - "$ROOT/deploy/sluice-vhost-nad.yaml" "$SL_RUN" "$IPAM_DIR" "$VH_DIR" >"$T/nad.json" <<'PY' || return 1
import json, sys, textwrap
lines = open(sys.argv[1]).read().split("\n")
i = next(n for n, l in enumerate(lines) if l.strip() == "config: |")
block = []
for l in lines[i + 1:]:
    if l.strip() and len(l) - len(l.lstrip()) <= len(lines[i]) - len(lines[i].lstrip()):
        break
    block.append(l)
c = json.loads(textwrap.dedent("\n".join(block)))
assert c["interface"] == "vhost-user" and c["vhostMode"] == "client", c
c["socket"] = sys.argv[2] + "/node1.sock"
c["socketDir"] = sys.argv[4]
c["ipam"]["dataDir"] = sys.argv[3]
c["runtimeConfig"] = {"mac": "02:00:00:00:10:01"}
print(json.dumps(c))
PY
	cni_vh ADD nd ${P}c9 "$T/nd.json" "$T/nad.json" || fail "ADD: $(cat "$T/nd.json")"
	[ "$(vh_mac "$T/nd.json")" = 02:00:00:00:10:01 ] || fail "MAC: $(cat "$T/nd.json")"
	vh_state_is nd "$T/nd.json" waiting || return 1
	local dir
	dir=$(vh_dir "$T/nd.json")
	cni_vh DEL nd ${P}c9 "$T/nd-del.json" "$T/nad.json" || fail "DEL: $(cat "$T/nd-del.json")"
	vh_gone nd "$dir"
}

bridge_conf() {
	cat <<JSON
{"cniVersion":"1.0.0","name":"brnet","type":"bridge","bridge":"cni0","isGateway":true,
 "ipMasq":false,"mtu":1450,
 "ipam":{"type":"host-local","subnet":"10.250.0.0/24","dataDir":"$IPAM_BR"}}
JSON
}

# ---------------------------------------------------------------------------------------
# Topology

note "building the topology (prefix $SL_PREFIX)"
topo_up >"$T/topo.log" 2>&1 || { cat "$T/topo.log"; exit 2; }
node_start 1 || exit 2
node_start 2 || exit 2
wait_vtep 1 || note "node1 has not resolved node2's VTEP yet"
wait_vtep 2 || note "node2 has not resolved node1's VTEP yet"
conf 1.1.0 >"$T/conf.json"
conf 1.0.0 >"$T/conf10.json"
for n in c1 c3 c4 c5 c9; do ip netns add "$(ns "$n")"; done

# 1. VERSION
check "VERSION: cniVersion 1.1.0, supports 0.4.0 1.0.0 1.1.0" version_ok

# 2. ADD, then the pod's networking
check "ADD: result has a /32 in the IPAM range, gateway, interfaces, default route" \
	add_ok c1 ${P}c1 "$T/c1.json"
check "ADD: pod eth0 has the address, MTU 1450, routes, MAC, TX checksum offload off" \
	pod_if_ok ${P}c1 "$T/c1.json"
check "ADD: host end in node 1 is up, MTU 1450, XDP attached, MAC as reported" \
	host_if_ok "$T/c1.json"
check "ADD: sluiced lists pod cnitest/c1:eth0 with the IP, host end and pod MAC" \
	sluiced_has c1 "$T/c1.json"
check "ping: new pod -> gateway 10.244.1.1" ping_ok ${P}c1 10.244.1.1
check "ping: new pod -> p1a 10.244.1.2 (same node)" ping_ok ${P}c1 10.244.1.2
check "ping: new pod -> p2a 10.244.2.2 (node 2, VXLAN)" ping_ok ${P}c1 10.244.2.2
check "ping: p2a -> new pod (node 2 to node 1, VXLAN)" ping_ok ${P}p2a "$(pod_ip "$T/c1.json")"

# 3. CHECK
check "CHECK: passes after ADD (prevResult = ADD result)" check_ok c1 ${P}c1 "$T/c1.json"
check "CHECK: fails with code 103 once the pod address is removed" \
	check_broken c1 ${P}c1 "$T/c1.json"

# 4. DEL
check "DEL: succeeds" del_ok c1 ${P}c1
check "DEL: host end, pod eth0, sluiced pod and IPAM reservation are gone" gone c1 ${P}c1 "$T/c1.json"
check "DEL: a second DEL succeeds" del_ok c1 ${P}c1
ip netns del "$(ns c1)"
check "DEL: succeeds when the pod namespace no longer exists" del_ok c1 ${P}c1

# cniVersion 0.4.0: the result's ips carry "version":"4"; mtu 1400 below the pod MTU.
add_v040() {
	conf 0.4.0 | sed 's/"type":"sluice-cni",/"type":"sluice-cni","mtu":1400,/' >"$T/conf04.json"
	cni_pod ADD v4 ${P}c9 "$T/v4.json" "$T/conf04.json" || fail "exit $?: $(cat "$T/v4.json")"
	[ "$(pyj 'd["cniVersion"], d["ips"][0]["version"], "mtu" in d["interfaces"][1]' "$T/v4.json")" = "('0.4.0', '4', False)" ] ||
		fail "$(cat "$T/v4.json")"
	ip netns exec ${P}c9 ip -o link show eth0 | grep -q "mtu 1400 " || fail "eth0 MTU is not 1400"
	ping_ok ${P}c9 10.244.1.2 || return 1
	del_ok v4 ${P}c9 "$T/conf04.json" || return 1
	gone v4 ${P}c9 "$T/v4.json"
}
check "ADD/DEL with cniVersion 0.4.0 and mtu 1400" add_v040

# Chained after sluice-cni: the reference "tuning" plugin gets our result as prevResult
# and changes the pod interface (MTU); its DEL puts it back.
chain_tuning() {
	cni_pod ADD tu ${P}c9 "$T/tu.json" "$T/conf10.json" || fail "ADD: $(cat "$T/tu.json")"
	python3 -c 'import json, sys
print(json.dumps({"cniVersion": "1.0.0", "name": "sluice", "type": "tuning", "mtu": 1300,
                  "prevResult": json.load(open(sys.argv[1]))}))' "$T/tu.json" >"$T/tuning.json"
	ip netns exec "$(ns n1)" env -i CNI_COMMAND=ADD CNI_CONTAINERID=tu CNI_IFNAME=eth0 \
		CNI_NETNS=/var/run/netns/${P}c9 CNI_PATH="$CNI_BIN" "$CNI_BIN/tuning" \
		<"$T/tuning.json" >"$T/tuning.out" || fail "tuning ADD: $(cat "$T/tuning.out")"
	[ "$(pyj 'd["ips"][0]["address"]' "$T/tuning.out")" = "$(pyj 'd["ips"][0]["address"]' "$T/tu.json")" ] ||
		fail "tuning did not pass our result through: $(cat "$T/tuning.out")"
	ip netns exec ${P}c9 ip -o link show eth0 | grep -q "mtu 1300 " || fail "tuning did not set MTU 1300"
	ping_ok ${P}c9 10.244.1.1 || return 1
	ip netns exec "$(ns n1)" env -i CNI_COMMAND=DEL CNI_CONTAINERID=tu CNI_IFNAME=eth0 \
		CNI_NETNS=/var/run/netns/${P}c9 CNI_PATH="$CNI_BIN" "$CNI_BIN/tuning" \
		<"$T/tuning.json" >"$T/tuning.out" || fail "tuning DEL: $(cat "$T/tuning.out")"
	with_prev "$T/conf10.json" "$T/tu.json" >"$T/tu-del.json"
	del_ok tu ${P}c9 "$T/tu-del.json" || return 1
	gone tu ${P}c9 "$T/tu.json"
}
check "chain: tuning after sluice-cni (MTU 1300 on eth0), then DEL of both" chain_tuning

# 5. Bad environment and config
check "env: ADD without CNI_NETNS -> code 4 naming CNI_NETNS" bad_env_no_netns
check "env: unknown CNI_COMMAND -> code 4" bad_env_command
check "env: CNI_NETNS that does not exist -> code 4" bad_netns_path
check "env: CNI_NETNS that is a plain file -> code 4" bad_netns_file
check "config: cniVersion 0.3.1 -> code 1" bad_conf 's/"1.1.0"/"0.3.1"/' 1 '^cniVersion: "0.3.1" is not supported'
check "config: mtu 10 -> code 7 naming mtu" bad_conf 's/"type":"sluice-cni",/"type":"sluice-cni","mtu":10,/' 7 '^mtu: '
check "config: mtu 9000 above sluiced's pod MTU -> code 7" bad_conf 's/"type":"sluice-cni",/"type":"sluice-cni","mtu":9000,/' 7 "^mtu: 9000 exceeds sluiced's pod MTU 1450"
check "config: interface macvlan -> code 2 naming the value" \
	bad_conf 's/"type":"sluice-cni",/"type":"sluice-cni","interface":"macvlan",/' 2 '^interface: unsupported value "macvlan"'
check "config: vhostMode both -> code 7 naming vhostMode" \
	bad_conf 's/"type":"sluice-cni",/"type":"sluice-cni","interface":"vhost-user","vhostMode":"both",/' 7 '^vhostMode: must be "client"'
check "config: relative socketDir -> code 7 naming socketDir" \
	bad_conf 's/"type":"sluice-cni",/"type":"sluice-cni","interface":"vhost-user","socketDir":"run",/' 7 '^socketDir: "run" is not an absolute path'
check "env: CNI_ARGS SLUICE_INTERFACE=macvlan -> code 4 naming the key" bad_args_iface
check "config: truncated JSON -> code 6" bad_conf 's/}}$/}/' 6 '^config: invalid JSON'
check "config: unknown IPAM plugin -> code 7 naming ipam.type" bad_conf 's/"host-local"/"no-such-ipam"/' 7 '^ipam.type: plugin "no-such-ipam" not found'
check "config: relative socket path -> code 7" bad_conf 's#"socket":"/#"socket":"#' 7 '^socket: '
check "config: sluiced socket missing -> code 11" bad_conf 's#node1.sock#node9.sock#' 11 '^sluiced not reachable'

# 6. Failures half-way through ADD leave nothing behind
check "ADD: eth0 already in the pod namespace -> error, veth and address released" add_fails_eth0_exists
check "ADD: sluiced refuses the pod -> error 100, veth deleted, address released" add_fails_sluiced_refuses
check "ADD: IPAM address outside the pod CIDR -> code 7, address released" add_fails_outside_cidr

# 7. sluiced stopped and restarted
check "DEL prep: ADD c4" add_ok c4 ${P}c4 "$T/c4.json"
check "sluiced stops cleanly (SIGTERM, exit 0)" node_stop 1
check "sluiced down: ADD -> code 11 and nothing left behind" add_down
check "sluiced down: STATUS -> code 50" status_is 50
check "sluiced down: DEL -> code 11 after removing the veth" del_down c4 ${P}c4 "$T/c4.json"
check "sluiced restarted (node 1)" restart_node1
check "sluiced up: STATUS succeeds" status_is 0
check "sluiced up: the retried DEL succeeds" del_ok c4 ${P}c4
check "sluiced up: after the retried DEL nothing of c4 is left" gone c4 ${P}c4 "$T/c4.json"
check "sluiced up: ping p1a -> p2a still works" ping_ok ${P}p1a 10.244.2.2

# 8. GC
check "GC: removes the attachment not in cni.dev/valid-attachments, keeps the valid one" gc_ok

# 9. vhost-user: a DPDK pod attached by sluice-cni (vhostMode client: the pod creates the
# socket with virtio_user server=1 and sluiced connects to it)
conf_vhost 1.1.0 >"$T/vh.json"
ip netns add "$(ns v1)"
check "vhost-user ADD: one interface net1 with socketPath under socketDir, MAC, IPAM address /24, route" \
	vh_add_ok vh1 ${P}v1 "$T/vh1.json" "$T/vh.json"
check "vhost-user ADD: socket dir 0700 root's, owner record, device-info.json and CNIDeviceInfoFile (mode server = the pod's role)" \
	vh_files_ok "$T/vh1.json" server
check "vhost-user ADD: sluiced lists cnitest/vh1:net1 (ip, mac, net1.sock) in state waiting" \
	vh_state_is vh1 "$T/vh1.json" waiting
check "vhost-user CHECK: passes" vh_check vh1 ${P}v1 "$T/vh1.json"
check "vhost-user CHECK: a prevResult with another address -> code 103" \
	vh_check_moved vh1 ${P}v1 "$T/vh1.json"
check "vhost-user: DPDK pod (sluice-gen, virtio_user server=1) -> p1a: >= 50000 packets, loss < 2 %" \
	vh_traffic "$T/vh1.json"
check "vhost-user: sluiced reported the DPDK pod connected while it ran" grep -qx yes "$T/vh-connected"
check "vhost-user: after the DPDK pod exits sluiced waits for it again" \
	vh_state_is vh1 "$T/vh1.json" waiting
VH1_DIR=$(vh_dir "$T/vh1.json")
check "vhost-user DEL: succeeds" vh_del_ok vh1 ${P}v1 "$T/vh.json"
check "vhost-user DEL: pod, socket dir, CNIDeviceInfoFile and reservation gone" vh_gone vh1 "$VH1_DIR"
check "vhost-user DEL: a second DEL succeeds" vh_del_ok vh1 ${P}v1 "$T/vh.json"
check "vhost-user vhostMode server: sluiced creates the socket, device-info mode client, DEL cleans up" \
	vh_server_mode
check "vhost-user by CNI_ARGS SLUICE_INTERFACE and MAC on a veth config; DEL with the same args" \
	vh_by_args
check "vhost-user GC: removes the stale attachment's pod, socket dir and address" vh_gc
check "GC with the veth config keeps a live vhost-user attachment and lists it valid for IPAM GC" \
	vh_gc_other_kind
check "vhost-user with K8S_POD_UID: directory <pod uid>-net1 of socketUid/socketGid 0750; a taken id -> code 104, the owner's directory kept" \
	vh_pod_dirs
check "vhost-user: socketDir making the socket path 113 bytes -> code 7 naming socketDir, nothing kept" \
	vh_too_long
check "deploy/10-sluice.conflist: sluice-cni then portmap (hostPort DNAT), DEL of both" \
	deploy_conflist_ok
check "deploy/sluice-vhost-nad.yaml: its config attaches a vhost-user pod with the annotation's MAC" \
	deploy_nad_ok

# 10. Latency: N ADDs one after another, sluice-cni vs bridge + host-local
note "creating $N_PODS pod namespaces for sluice-cni and $N_PODS for bridge"
check "setup: $N_PODS pod namespaces (sluice-cni)" make_pod_netns ${P}l
check "setup: $N_PODS pod namespaces (bridge)" make_pod_netns ${P}b
ip netns add "$(ns br)"
ip netns exec "$(ns br)" ip link set lo up
bridge_conf >"$T/bridge.json"

time_cmd ADD "$CNI" "$T/conf10.json" "$(ns n1)" ${P}l "$T/seq"
check "latency: $N_PODS sequential sluice-cni ADDs succeed" all_ok "$T/seq/ADD.times"
check "latency: $N_PODS distinct addresses" unique_ips "$T/seq"
check "latency: sluiced lists $((N_PODS + 2)) pods" pods_count $((N_PODS + 2))
time_cmd DEL "$CNI" "$T/conf10.json" "$(ns n1)" ${P}l "$T/seq"
check "latency: $N_PODS sequential sluice-cni DELs succeed" all_ok "$T/seq/DEL.times"

# The same for vhost-user attachments (no veth: IPAM, a directory, two files, pod.add).
sed '/runtimeConfig/d' "$T/vh.json" >"$T/vh-lat.json"
time_cmd ADD "$CNI" "$T/vh-lat.json" "$(ns n1)" ${P}l "$T/vseq"
check "latency: $N_PODS sequential vhost-user ADDs succeed" all_ok "$T/vseq/ADD.times"
time_cmd DEL "$CNI" "$T/vh-lat.json" "$(ns n1)" ${P}l "$T/vseq"
check "latency: $N_PODS sequential vhost-user DELs succeed" all_ok "$T/vseq/DEL.times"
check "latency: no vhost-user socket directories or owner records left" \
	bash -c "[ -z \"\$(ls -A '$VH_DIR' | grep -vx .owner)\" ] && [ -z \"\$(ls -A '$VH_DIR/.owner')\" ]"

time_cmd ADD "$CNI_BIN/bridge" "$T/bridge.json" "$(ns br)" ${P}b "$T/br"
check "latency: $N_PODS sequential bridge ADDs succeed" all_ok "$T/br/ADD.times"
time_cmd DEL "$CNI_BIN/bridge" "$T/bridge.json" "$(ns br)" ${P}b "$T/br"
check "latency: $N_PODS sequential bridge DELs succeed" all_ok "$T/br/DEL.times"

LAT_SL_ADD=$(stats "$T/seq/ADD.times")
LAT_SL_DEL=$(stats "$T/seq/DEL.times")
LAT_VH_ADD=$(stats "$T/vseq/ADD.times")
LAT_VH_DEL=$(stats "$T/vseq/DEL.times")
LAT_BR_ADD=$(stats "$T/br/ADD.times")
LAT_BR_DEL=$(stats "$T/br/DEL.times")

# 11. N concurrent ADDs, then N concurrent DELs
check "concurrent: $N_PODS ADDs at once all succeed" concurrent ADD ${P}l "$T/conc"
check "concurrent: $N_PODS distinct addresses" unique_ips "$T/conc"
check "concurrent: sluiced lists $((N_PODS + 2)) pods" pods_count $((N_PODS + 2))
check "concurrent: pod 1 -> node 2's p2a" ping_ok ${P}l1 10.244.2.2
check "concurrent: pod $N_PODS -> p1a" ping_ok "${P}l$N_PODS" 10.244.1.2
check "concurrent: $N_PODS DELs at once all succeed" concurrent DEL ${P}l "$T/conc"
check "after DELs: no sl* veths in node 1 but sl-up0 and sl-host" only_static_veths
check "after DELs: no IPAM reservations" no_reservations
check "after DELs: sluiced lists its 2 pods" pods_count 2

note "CNI ADD latency, $N_PODS pods one after another (exec to exit, inside the node ns):"
note "  sluice-cni (veth)        ADD: $LAT_SL_ADD"
note "  bridge + host-local      ADD: $LAT_BR_ADD"
note "  sluice-cni (vhost-user)  ADD: $LAT_VH_ADD"
note "  sluice-cni (veth)        DEL: $LAT_SL_DEL"
note "  bridge + host-local      DEL: $LAT_BR_DEL"
note "  sluice-cni (vhost-user)  DEL: $LAT_VH_DEL"
finish
