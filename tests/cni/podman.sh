#!/usr/bin/env bash
# Integration test: podman (CNI backend) runs containers on a sluice network.
#
#   containers  slk-a, slk-b, slk-h (busybox; eth0 10.244.1.150-200/32, made by sluice-cni;
#                 |       |     |    slk-h publishes -p 18080:80 through portmap)
#   node ns     slk-n1: sluiced (node1, pods p1a/p1b) <-- VXLAN --> slk-n2: sluiced (node2, p2a/p2b)
#               198.18.0.1 on sl-host (kernel: portmap's DNAT)          198.18.0.2
#
# Builds the two-node topology of scripts/lib/topo.sh and a busybox image without a
# registry (busybox-static in a rootfs, `podman import`), then runs podman (rootful, runc,
# cgroupfs) inside node 1's network namespace (nsenter --net) - where sluiced and its veths
# live, as a kubelet's runtime would run on a node - with a private containers.conf,
# storage and CNI directories (nothing global changes): the network "slk-sluice" is a
# conflist with sluice-cni (host-local IPAM) and portmap, as deploy/10-sluice.conflist.
# Checks: both containers get an address in the range and a pod in sluiced; pings between
# them, to the kernel pod p1a, to p2a on node 2 across VXLAN and from p2a back; 1 MB over
# TCP both ways (busybox nc A -> B, wget from busybox httpd B -> A) with content checks;
# then `podman stop` + `podman rm` run the CNI DEL: sluiced is back to its two configured
# pods, no pod veth is left in node 1, host-local holds no reservation.
# hostPort: a third container runs busybox httpd with `-p 18080:80`; portmap's DNAT rule
# for it is in node 1's iptables (nat); a file is fetched from http://198.18.0.1:18080/
# by node 1 itself (and via 127.0.0.1), then - with the node settings of
# hostport_node_setup and MASQ_RULE, which off-node clients need - by node 2 and by pod
# p2a (underlay -> sluiced -> node 1's kernel via sl-host -> DNAT -> sluiced -> container),
# with content checks; after `podman rm -f` no CNI-HOSTPORT or CNI-DN rule of that
# container is left and the DEL checks above hold again.
#
# Usage (as root, from the repository root):
#   SL_BUILD=build bash tests/cni/podman.sh
# Environment: SL_BUILD (default build), CNI_BIN (reference plugins, default /usr/lib/cni),
# PODMAN_TEST_PREFIX (default ${SL_PREFIX}k-, slk- without SL_PREFIX: namespaces, EAL file prefixes, container/network/image
# names, /tmp/<prefix>run), SL_EAL_MEM (default "--no-huge -m 512").
# Installs podman, runc, busybox-static, containernetworking-plugins and iptables when
# missing.
# Output: "ok - NAME" / "not ok - NAME (details)", "# ..." notes, "N passed, M failed";
# exit status 1 when anything failed. When podman cannot run a container on this machine
# for a reason outside sluice (packages not installable, podman import or a container
# without a network failing), prints "# SKIP <reason>" and exits 77: nothing was tested
# (scripts/test.sh counts the stage as skipped, and as failed under CI / SL_REQUIRE_ALL=1).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SL_BUILD=${SL_BUILD:-build}
case $SL_BUILD in
/*) ;;
*) if [ -d "$SL_BUILD" ]; then SL_BUILD=$(cd "$SL_BUILD" && pwd); else SL_BUILD=$ROOT/$SL_BUILD; fi ;;
esac
export SL_BUILD
P=${PODMAN_TEST_PREFIX:-${SL_PREFIX:-sl}k-}
export SL_PREFIX=$P
export SL_RUN=/tmp/${P}run
export SL_EAL_MEM=${SL_EAL_MEM:-"--no-huge -m 512"}
cd "$ROOT" || exit 2
# shellcheck source=../../scripts/lib/topo.sh
source "$ROOT/scripts/lib/topo.sh"

CNI_BIN=${CNI_BIN:-/usr/lib/cni}
NET=${P}sluice               # podman network = CNI network name
IMG=localhost/${P}busybox
CA=${P}a
CB=${P}b
CH=${P}h                     # the hostPort container
HOST_PORT=18080
NODE1_IP=198.18.0.1
IPAM_DIR=$SL_RUN/ipam        # host-local dataDir
RANGE_LO=10.244.1.150
RANGE_HI=10.244.1.200

if [ "$(id -u)" != 0 ]; then
	echo "podman.sh: must run as root (network namespaces, AF_XDP, rootful podman)" >&2
	exit 2
fi

# ---------------------------------------------------------------------------------------
# Packages (idempotent; apt-get update only when something is missing)

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing+=(busybox-static)
[ -x "$CNI_BIN/host-local" ] && [ -x "$CNI_BIN/portmap" ] || missing+=(containernetworking-plugins)
command -v iptables >/dev/null || missing+=(iptables) # portmap runs it (iptables-nft on Debian 12)
if [ ${#missing[@]} -gt 0 ]; then
	echo "# installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null 2>&1
	if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
		echo "# SKIP apt-get install ${missing[*]} failed (no package mirror?)"
		exit 77
	fi
fi
BUSYBOX=$(dpkg -L busybox-static 2>/dev/null | grep -E '/bin/busybox$' | head -n 1)
for b in "$SL_BUILD/cni/sluice-cni" "$SL_BUILD/control/sluiced" "$SL_BUILD/control/cli/sluicectl" \
	"$CNI_BIN/host-local" "$CNI_BIN/portmap" "$BUSYBOX"; do
	[ -x "$b" ] || { echo "podman.sh: $b missing (ninja -C $SL_BUILD / apt)" >&2; exit 2; }
done
for t in ip ping python3 podman runc tar iptables; do
	command -v "$t" >/dev/null || { echo "podman.sh: missing tool: $t" >&2; exit 2; }
done

T=$(mktemp -d "/tmp/${P}podman.XXXXXX")
# shellcheck source=../../scripts/lib/check.sh
CHECK_SUBSHELL=1 # fail() ends a check
source "$ROOT/scripts/lib/check.sh"
SKIP=

# pm ARGS...: podman inside node 1's network namespace (the CNI plugin runs there) with
# this test's own configuration, storage, run and tmp directories. nsenter --net, not
# `ip netns exec`: the latter gives each command a private mount namespace with a fresh
# /sys, which has no /sys/fs/cgroup (runc: "no cgroup mount found in mountinfo") and hides
# podman's /run/netns/netns-* bind mounts from the next podman command (stop, rm).
export CONTAINERS_CONF=$SL_RUN/containers.conf
export CONTAINERS_STORAGE_CONF=$SL_RUN/storage.conf
export CONTAINERS_REGISTRIES_CONF=$SL_RUN/registries.conf
PM_GLOBAL=(--root "$SL_RUN/storage" --runroot "$SL_RUN/runroot" --tmpdir "$SL_RUN/libpod"
	--storage-driver vfs --cgroup-manager cgroupfs --events-backend file)
PM=(nsenter --net="/run/netns/$(ns n1)" podman "${PM_GLOBAL[@]}")
pm() { "${PM[@]}" "$@"; }
# Containers (and conmon, in <parent>/conmon) in cgroups of this test, removed at the end.
CG_PARENT=/${P}podman
RUN_OPTS=(--runtime runc --ulimit nofile=4096:4096 --ulimit nproc=4096:4096
	--cgroup-parent "$CG_PARENT")

# Mounts podman left under $SL_RUN (container shm; only after a run was killed) and the
# empty cgroups it made under $CG_PARENT (rmdir: never one still in use).
leftovers() {
	awk -v d="$SL_RUN/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
		while read -r m; do umount -l "$m"; done
	find /sys/fs/cgroup/*/"${CG_PARENT#/}" -depth -type d -exec rmdir {} + 2>/dev/null
}

cleanup() {
	if [ -f "$CONTAINERS_CONF" ] && command -v podman >/dev/null; then
		pm rm -f -t 0 "$CA" "$CB" "$CH" >/dev/null 2>&1
		pm rmi -f "$IMG" >/dev/null 2>&1
	fi
	topo_down >/dev/null 2>&1
	leftovers
	if [ "$FAIL" = 0 ]; then
		rm -rf "$T"
	else
		cp -r "$SL_RUN"/*.log "$SL_RUN"/*.json "$SL_RUN"/*.conf "$SL_RUN/cni-conf" \
			"$SL_RUN/libpod/events.log" "$T/" 2>/dev/null
		echo "# sluiced logs, configs and podman events kept in $T" >&2
	fi
	rm -rf "$SL_RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# Harness: check, fail, note from scripts/lib/check.sh

finish() {
	[ -n "$SKIP" ] && echo "# SKIP $SKIP"
	check_summary
	exit $?
}

# skip REASON: podman itself cannot work here; nothing of sluice was tested: exit 77.
skip() {
	SKIP=$1
	echo "# SKIP $SKIP"
	exit 77
}

# pyj EXPR [FILE]: evaluate a Python expression over a JSON document (as d).
pyj() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[2]) if len(sys.argv) > 2 else sys.stdin)
print(eval(sys.argv[1]))' "$@"
}

# ---------------------------------------------------------------------------------------
# Setup

setup_files() {
	mkdir -p "$SL_RUN/cni-bin" "$SL_RUN/cni-conf" "$SL_RUN/libpod" "$IPAM_DIR"
	# A copy: a rebuild of build/ during the run does not swap the plugin under podman.
	cp "$SL_BUILD/cni/sluice-cni" "$SL_RUN/cni-bin/sluice-cni"
	ln -sf "$CNI_BIN/host-local" "$SL_RUN/cni-bin/host-local"
	ln -sf "$CNI_BIN/portmap" "$SL_RUN/cni-bin/portmap"
	cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
log_driver = "k8s-file"

[network]
network_backend = "cni"
cni_plugin_dirs = ["$SL_RUN/cni-bin"]
network_config_dir = "$SL_RUN/cni-conf"
default_network = "$NET"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$SL_RUN/libpod/events.log"
tmp_dir = "$SL_RUN/libpod"
volume_path = "$SL_RUN/storage/volumes"
static_dir = "$SL_RUN/storage/libpod"
# the exit command (podman container cleanup, run by conmon) reads this file too
conmon_env_vars = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "CONTAINERS_CONF=$CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF=$CONTAINERS_REGISTRIES_CONF"]
EOF
	cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "vfs"
graphroot = "$SL_RUN/storage"
runroot = "$SL_RUN/runroot"
EOF
	cat >"$CONTAINERS_REGISTRIES_CONF" <<EOF
unqualified-search-registries = []
EOF
	cat >"$SL_RUN/cni-conf/$NET.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$NET",
  "plugins": [
    {"type": "sluice-cni",
     "socket": "$SL_RUN/node1.sock",
     "ipam": {"type": "host-local",
              "ranges": [[{"subnet": "10.244.1.0/24", "rangeStart": "$RANGE_LO",
                           "rangeEnd": "$RANGE_HI", "gateway": "10.244.1.1"}]],
              "dataDir": "$IPAM_DIR"}},
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
  ]
}
EOF
}

# The image: a rootfs with busybox-static and its applets, imported (no registry).
build_image() {
	local r=$T/rootfs a
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var/www,run}
	cp "$BUSYBOX" "$r/bin/busybox"
	for a in $("$r/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
	echo 'root:x:0:' >"$r/etc/group"
	chmod 1777 "$r/tmp"
	tar -C "$r" -cf "$T/rootfs.tar" . || return 1
	pm import --change 'CMD ["/bin/sh"]' "$T/rootfs.tar" "$IMG"
}

# ---------------------------------------------------------------------------------------
# Checks

cid() { pm inspect -f '{{.Id}}' "$1"; }
cip() { # CONTAINER -> eth0's IPv4 address (seen from inside)
	pm exec "$1" ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1 | head -n 1
}

addr_ok() { # CONTAINER
	local o ip pi
	o=$(pm exec "$1" ip -4 -o addr show dev eth0) || fail "no eth0 in $1: $o"
	ip=$(awk '{print $4}' <<<"$o" | head -n 1)
	[ "${ip#*/}" = 32 ] || fail "eth0 of $1: $o"
	ip=${ip%/*}
	python3 -c 'import ipaddress, sys
a, lo, hi = map(ipaddress.ip_address, sys.argv[1:4])
assert lo <= a <= hi, a' "$ip" "$RANGE_LO" "$RANGE_HI" || fail "$1: $ip outside $RANGE_LO-$RANGE_HI"
	pi=$(pm inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$1") ||
		fail "podman inspect $1: $pi"
	[ "$pi" = "$ip" ] || fail "podman inspect says $pi, eth0 has $ip"
	o=$(pm exec "$1" ip -4 route show)
	grep -q "^default via 10.244.1.1 dev eth0" <<<"$o" || fail "routes of $1: $o"
}

ping_ok() { # CONTAINER|ns:NAMESPACE DST
	local o
	case $1 in
	ns:*) o=$(ip netns exec "${1#ns:}" timeout 20 ping -n -c 3 -i 0.2 -W 2 "$2" 2>&1) ;;
	*) o=$(timeout 30 "${PM[@]}" exec "$1" \
		ping -c 3 -i 0.2 -W 2 "$2" 2>&1) ;;
	esac
	grep -q "3 packets transmitted, 3 .*received" <<<"$o" && return 0
	echo "$o" | tail -n 3
	return 1
}

sluiced_pods_ok() { # want the containers listed (IP and container id)
	local ida idb
	ida=$(cid "$CA") && idb=$(cid "$CB") || fail "podman inspect failed"
	ctl 1 -o json show pods >"$T/pods.json" || fail "sluicectl show pods failed"
	python3 - "$T/pods.json" "$IPA" "$ida" "$IPB" "$idb" <<'EOF' || fail "sluiced pods: $(cat "$T/pods.json")"
import json, sys
pods = json.load(open(sys.argv[1]))
pods = pods["pods"] if isinstance(pods, dict) else pods
assert len(pods) == 4, "%d pods" % len(pods)
for ip, cid in ((sys.argv[2], sys.argv[3]), (sys.argv[4], sys.argv[5])):
    p = [p for p in pods if p.get("ip") == ip]
    assert len(p) == 1, "no pod with %s" % ip
    assert cid[:12] in p[0]["name"], "pod %s is %s, not container %s" % (ip, p[0]["name"], cid)
    assert p[0].get("ifname", "").startswith("sl"), p[0]
EOF
	note "sluiced: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d=d["pods"] if isinstance(d,dict) else d; print(", ".join("%s/%s %s %s" % (p["namespace"], p["name"][:24], p["ip"], p.get("ifname")) for p in d[2:]))' "$T/pods.json")"
}

# 1 MB from A to B over TCP with busybox nc; content compared by checksum.
nc_ok() {
	local want got
	head -c 1048576 /dev/urandom >"$T/data"
	want=$(md5sum <"$T/data" | cut -d' ' -f1)
	pm exec -i "$CA" sh -c 'cat > /tmp/data' <"$T/data" || fail "copy into $CA failed"
	# busybox nc exits at EOF on either side: the listener's stdin stays open (sleep).
	pm exec -d "$CB" sh -c 'sleep 600 | nc -l -p 5001 > /tmp/recv' >/dev/null || fail "nc -l in $CB failed"
	for _ in $(seq 50); do
		pm exec "$CB" netstat -ltn 2>/dev/null | grep -q ':5001 ' && break
		sleep 0.1
	done
	timeout 30 "${PM[@]}" exec "$CA" \
		sh -c "nc $IPB 5001 < /tmp/data" || fail "nc $IPB 5001 failed ($?)"
	for _ in $(seq 50); do
		got=$(pm exec "$CB" sh -c 'pidof nc >/dev/null || md5sum < /tmp/recv' | cut -d' ' -f1)
		[ -n "$got" ] && break
		sleep 0.1
	done
	[ "$got" = "$want" ] || fail "received md5 '${got}' size $(pm exec "$CB" wc -c /tmp/recv), sent $want"
}

# 1 MB from B to A over HTTP: busybox httpd in B, wget in A.
http_ok() {
	local want got
	want=$(md5sum <"$T/data" | cut -d' ' -f1)
	pm exec -i "$CB" sh -c 'mkdir -p /www && cat > /www/data' <"$T/data" || fail "copy into $CB failed"
	pm exec "$CB" httpd -p 8080 -h /www || fail "httpd in $CB failed"
	for _ in $(seq 50); do
		pm exec "$CB" netstat -ltn 2>/dev/null | grep -q ':8080 ' && break
		sleep 0.1
	done
	got=$(timeout 30 "${PM[@]}" exec "$CA" \
		sh -c "wget -q -O - http://$IPB:8080/data | md5sum" | cut -d' ' -f1) # (-T segfaults in busybox 1.35)
	[ "$got" = "$want" ] || fail "wget md5 '$got', want $want"
}

# A ClusterIP Service (10.96.0.80:80 -> $CB:8080, httpd from http_ok) applied with
# sluicectl: $CA fetches the file through it; the backend is a podman container too.
clusterip_ok() {
	local want got
	cat >"$T/svc.json" <<JSON || fail "cannot write $T/svc.json"
{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
  "spec": {"clusterIP": "10.96.0.80", "ports": [{"port": 80, "targetPort": 8080}]}},
 {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
  "metadata": {"name": "web-1", "namespace": "default",
               "labels": {"kubernetes.io/service-name": "web"}},
  "addressType": "IPv4", "ports": [{"port": 8080, "protocol": "TCP"}],
  "endpoints": [{"addresses": ["$IPB"], "conditions": {"ready": true}, "nodeName": "node1"}]}]}
JSON
	ctl 1 apply -f "$T/svc.json" || fail "sluicectl apply failed"
	want=$(md5sum <"$T/data" | cut -d' ' -f1)
	got=$(timeout 30 "${PM[@]}" exec "$CA" \
		sh -c "wget -q -O - http://10.96.0.80/data | md5sum" | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "wget through the ClusterIP: md5 '$got', want $want"
	ctl 1 delete service default/web || fail "sluicectl delete failed"
}

net_ok() {
	local o
	o=$(pm network ls --format '{{.Name}} {{.Driver}}') || fail "$o"
	grep -qx "$NET sluice-cni" <<<"$o" || fail "podman network ls: $o"
}

cni_veths() { in_ns n1 ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^sl'; }

# IPs host-local has reserved in its dataDir.
reservations() {
	local d=$IPAM_DIR/$NET
	[ -d "$d" ] || return 0
	find "$d" -maxdepth 1 -type f ! -name lock ! -name 'last_reserved_ip*' -printf '%f\n' | sort
}

# ---------------------------------------------------------------------------------------
# hostPort (portmap, chained after sluice-cni)

# busybox httpd on port 80 in $CH, serving $T/hdata as /data.
httpd_h_ok() {
	pm exec -i "$CH" sh -c 'mkdir -p /www && cat > /www/data' <"$T/hdata" || fail "copy into $CH failed"
	pm exec "$CH" httpd -p 80 -h /www || fail "httpd in $CH failed"
	for _ in $(seq 50); do
		pm exec "$CH" netstat -ltn 2>/dev/null | grep -q ':80 ' && return 0
		sleep 0.1
	done
	fail "httpd in $CH does not listen on :80: $(pm exec "$CH" netstat -ltn 2>&1)"
}

# podman's view of the mapping, and portmap's rules in node 1's nat table: a jump from
# CNI-HOSTPORT-DNAT commented with the container id to a CNI-DN-* chain that DNATs
# $HOST_PORT to the container's port 80. The chain's name is kept for hostport_gone_ok.
hostport_rules_ok() {
	local o dn
	o=$(pm port "$CH" 2>&1)
	grep -q "^80/tcp -> 0.0.0.0:$HOST_PORT\$" <<<"$o" || fail "podman port $CH: $o"
	o=$(in_ns n1 iptables -t nat -S 2>&1) || fail "iptables -t nat -S in $(ns n1): $o"
	echo "$o" >"$T/nat.up"
	grep -q -- "-A OUTPUT .*-j CNI-HOSTPORT-DNAT" <<<"$o" ||
		fail "no OUTPUT jump to CNI-HOSTPORT-DNAT: $(grep -- '-A OUTPUT' <<<"$o")"
	grep -q -- "-A PREROUTING .*-j CNI-HOSTPORT-DNAT" <<<"$o" ||
		fail "no PREROUTING jump to CNI-HOSTPORT-DNAT: $(grep -- '-A PREROUTING' <<<"$o")"
	dn=$(grep -- "-A CNI-HOSTPORT-DNAT " <<<"$o" | grep -F -- "$HID" | grep -o 'CNI-DN-[0-9a-f]*' | sort -u)
	[ "$(wc -w <<<"$dn")" = 1 ] ||
		fail "CNI-HOSTPORT-DNAT jumps for $CH ($HID): '$dn'; $(grep -- CNI-HOSTPORT-DNAT <<<"$o" | tail -n 2)"
	echo "$dn" >"$T/dn.chain"
	grep -q -- "-A $dn .*--dport $HOST_PORT .*-j DNAT --to-destination $IPH:80\$" <<<"$o" ||
		fail "no DNAT $HOST_PORT -> $IPH:80 in $dn: $(grep -- "-A $dn " <<<"$o")"
	note "portmap: $(grep -- "-A $dn .*DNAT" <<<"$o")"
}

# hostport_get_ok NS URL [SECONDS]: busybox wget in namespace NS; content compared with
# $T/hdata. (busybox wget has no working -T here: a timeout, and the status says "timed out".)
hostport_get_ok() {
	local want got rc
	want=$(md5sum <"$T/hdata" | cut -d' ' -f1)
	rm -f "$T/got"
	in_ns "$1" timeout "${3:-20}" "$BUSYBOX" wget -q -O "$T/got" "$2" 2>"$T/wget.err"
	rc=$?
	[ "$rc" = 124 ] && echo "timed out after ${3:-20} s" >>"$T/wget.err"
	got=$(md5sum <"$T/got" 2>/dev/null | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "wget $2 from $(ns "$1"): md5 $got, want $want; $(cat "$T/wget.err")"
}

# What a node needs for hostPort traffic from elsewhere than the node itself (node 1's
# namespace here; a Kubernetes node has the first two anyway):
# - IPv4 forwarding: after DNAT, the kernel forwards from sl-host back out of sl-host.
# - a route to the client: the node kernel's only interface is sl-host (node address /32,
#   the cluster CIDR); node 2's address is reached through sluiced.
# - MASQUERADE of DNATed connections leaving through sl-host. sluiced has no connection
#   tracking: it would switch the container's reply (from container:80 to the client)
#   straight to the client, past the kernel that did the DNAT, and the client answers
#   the un-translated SYN-ACK with a RST. Masqueraded, the reply is addressed to the node
#   address and comes back through sl-host, where the kernel reverses both translations.
#   portmap's "snat" only covers hairpin and 127.0.0.1 connections.
MASQ_RULE=(POSTROUTING -o sl-host -m conntrack --ctstate DNAT
	-m comment --comment "sluice: DNATed replies back through the node" -j MASQUERADE)
hostport_node_setup() {
	in_ns n1 sysctl -qw net.ipv4.ip_forward=1 &&
		in_ns n1 ip route replace 198.18.0.2/32 dev sl-host &&
		in_ns n2 ip route replace "$NODE1_IP/32" dev sl-host
}

# podman rm -f ran the CNI DEL of both plugins without a complaint.
hostport_rm_ok() {
	local o
	o=$(pm rm -f -t 0 "$CH" 2>&1) || fail "podman rm -f $CH: $o"
	[ "$o" = "$CH" ] || fail "podman rm -f $CH said: $o"
}

# No rule of $CH left in node 1's nat table: nothing with its id, its CNI-DN chain, its
# host port or its address.
hostport_gone_ok() {
	local o dn
	[ -n "$HID" ] && [ -n "$IPH" ] || fail "no id or address of $CH"
	dn=$(cat "$T/dn.chain" 2>/dev/null)
	o=$(in_ns n1 iptables -t nat -S 2>&1) || fail "iptables -t nat -S in $(ns n1): $o"
	grep -F -e "$HID" <<<"$o" && fail "rules with $CH's id left"
	if [ -n "$dn" ]; then grep -F -e "$dn" <<<"$o" && fail "chain $dn left"; fi
	grep -E -e "--dport $HOST_PORT |--dports $HOST_PORT\b|$IPH:80" <<<"$o" && fail "rules for $HOST_PORT/$IPH left"
	return 0
}

del_ok() {
	local n v r
	n=$(ctl 1 -o json show pods | pyj 'len(d["pods"] if isinstance(d, dict) else d)') ||
		fail "sluicectl show pods failed"
	[ "$n" = 2 ] || fail "sluiced lists $n pods: $(ctl 1 -o json show pods)"
	v=$(cni_veths | grep -vxE 'sl-up0|sl-host' | tr '\n' ' ')
	[ -z "$v" ] || fail "veths left in $(ns n1): $v"
	r=$(reservations | tr '\n' ' ')
	[ -z "$r" ] || fail "host-local still reserves: $r"
	[ -z "$(pm ps -aq)" ] || fail "containers left: $(pm ps -a)"
}

# ---------------------------------------------------------------------------------------
# Run

START=$SECONDS
leftovers
rm -rf "$SL_RUN/storage" "$SL_RUN/runroot" "$SL_RUN/libpod" # of a killed run
topo_up || { echo "podman.sh: topo_up failed" >&2; exit 2; }
node_start 1 || { FAIL=1; finish; }
node_start 2 || { FAIL=1; finish; }
setup_files

# Podman on this machine, independently of sluice: image import and a container without
# a network. A failure here is the machine's (runtime, cgroups, storage), not sluice's.
if ! build_image >"$T/import.out" 2>&1; then
	skip "podman import failed: $(tail -n 2 "$T/import.out" | tr '\n' ' ')"
fi
if ! o=$(pm run --rm --network none "${RUN_OPTS[@]}" "$IMG" echo hello 2>&1) || [ "$o" != hello ]; then
	skip "podman run --network none $IMG failed (not sluice): $(tail -n 3 <<<"$o" | tr '\n' ' ')"
fi
note "podman $(podman --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1{print $3}'), image $IMG"

check "podman network ls shows $NET (CNI backend)" net_ok
wait_vtep 1 >/dev/null; wait_vtep 2 >/dev/null

run_ok() { # CONTAINER [RUN-ARGS...]: podman run -d on the sluice network; podman's error last
	local o c=$1
	shift
	o=$(pm run -d --name "$c" --network "$NET" "$@" "${RUN_OPTS[@]}" "$IMG" sleep 300 2>&1) && return 0
	fail "$(grep '^Error' <<<"$o" | tr '\n' ' ') $(grep -v '^Error' <<<"$o" | tail -n 1)"
}

ran=0
for c in "$CA" "$CB"; do
	check "podman run $c on $NET" run_ok "$c" && ran=$((ran + 1))
done
[ "$ran" = 2 ] || finish # nothing more to look at
check "container $CA: eth0 /32 in $RANGE_LO-$RANGE_HI, default route" addr_ok "$CA"
check "container $CB: eth0 /32 in $RANGE_LO-$RANGE_HI, default route" addr_ok "$CB"
IPA=$(cip "$CA" 2>/dev/null)
IPB=$(cip "$CB" 2>/dev/null)
note "$CA $IPA, $CB $IPB"
check "sluiced lists both containers" sluiced_pods_ok
check "$CA pings $CB ($IPB, same node)" ping_ok "$CA" "$IPB"
check "$CB pings $CA ($IPA)" ping_ok "$CB" "$IPA"
check "$CA pings the gateway 10.244.1.1" ping_ok "$CA" 10.244.1.1
check "$CA pings kernel pod p1a 10.244.1.2" ping_ok "$CA" 10.244.1.2
check "$CA pings p2a 10.244.2.2 on node 2 (VXLAN)" ping_ok "$CA" 10.244.2.2
check "p2a pings $CA ($IPA) from node 2" ping_ok "ns:$(ns p2a)" "$IPA"
check "1 MB TCP $CA -> $CB (nc), content intact" nc_ok
check "1 MB HTTP $CB -> $CA (httpd/wget), content intact" http_ok
check "$CA fetches the file from $CB through a ClusterIP Service (sluicectl apply)" clusterip_ok

check "podman stop $CA $CB" pm stop -t 1 "$CA" "$CB"
note "sluiced pods after podman stop: $(ctl 1 -o json show pods | pyj 'len(d)')"
check "podman rm $CA $CB" pm rm "$CA" "$CB"
check "CNI DEL ran: 2 sluiced pods, no pod veths, no IPAM reservations" del_ok

# hostPort: a container publishing port 80 as node 1's $HOST_PORT (portmap's DNAT in node
# 1's kernel, which sluiced reaches through sl-host).
head -c 262144 /dev/urandom >"$T/hdata"
if check "podman run $CH -p $HOST_PORT:80 (sluice-cni + portmap)" run_ok "$CH" -p "$HOST_PORT:80"; then
	HID=$(cid "$CH" 2>/dev/null)
	IPH=$(cip "$CH" 2>/dev/null)
	note "$CH $IPH, published on $NODE1_IP:$HOST_PORT"
	check "$CH: busybox httpd on port 80 serves a 256 KB file" httpd_h_ok
	check "portmap: DNAT $HOST_PORT -> $IPH:80 in $(ns n1)'s nat table, tagged with $CH's id" hostport_rules_ok
	URL=http://$NODE1_IP:$HOST_PORT/data
	check "hostPort from node 1: wget $URL, content intact" hostport_get_ok n1 "$URL"
	check "hostPort from node 1 via 127.0.0.1 (portmap snat, route_localnet on sl-host)" \
		hostport_get_ok n1 "http://127.0.0.1:$HOST_PORT/data"
	# From elsewhere: node 2 (underlay -> sluiced -> sl-host -> DNAT -> sl-host -> sluiced
	# -> container) and a pod on node 2 (reply back to it across VXLAN).
	check "node 1: ip_forward=1, route to node 2 via sl-host; node 2: route to $NODE1_IP" \
		hostport_node_setup
	# Without the MASQUERADE rule first: a note of what happens (see MASQ_RULE).
	if (hostport_get_ok n2 "$URL" 5) >"$T/nomasq.out" 2>&1; then
		note "without the MASQUERADE rule node 2's wget succeeded: is it still needed?"
	else
		note "without the MASQUERADE rule node 2's wget fails ($(tail -n 1 "$T/nomasq.out" | sed 's/.*; //')):" \
			"sluiced switches the reply $IPH:80 -> 198.18.0.2 past node 1's conntrack"
	fi
	check "node 1: MASQUERADE for DNATed connections leaving through sl-host" \
		in_ns n1 iptables -t nat -A "${MASQ_RULE[@]}"
	check "hostPort from node 2: wget $URL, content intact" hostport_get_ok n2 "$URL"
	check "hostPort from pod p2a on node 2: wget $URL, content intact" hostport_get_ok p2a "$URL"
	check "podman rm -f $CH (CNI DEL: portmap, sluice-cni)" hostport_rm_ok
	check "portmap DEL: no CNI-HOSTPORT/CNI-DN rule of $CH left in $(ns n1)" hostport_gone_ok
	check "CNI DEL ran: 2 sluiced pods, no pod veths, no IPAM reservations (after $CH)" del_ok
fi

note "$((SECONDS - START)) s"
finish
