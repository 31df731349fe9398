#!/usr/bin/env bash
# A sluice node and a flannel-style kernel VXLAN node in one cluster (issue 11: mixed clusters,
# moving to sluice one node at a time).
#
#   pod ns  p1a 10.244.1.2  p1b 10.244.1.3            p2a 10.244.2.2  p2b 10.244.2.3
#              |              |                          |              |
#   node1   [ sluiced, VTEP MAC 02:5e:00:00:00:01 ]     [ cni0 bridge 10.244.2.1/24  ]
#           sl-up0 198.18.0.1 (AF_XDP)                  [ flannel.1 02:f1:00:00:00:02,]
#              |                                        [  VNI 1, port 8472, nolearning]
#              |                                        sl-up0 198.18.0.2 (kernel)
#              +---------- [ ul: bridge br0 ] -------------+
#
# node2 is what flanneld's vxlan backend programs on a kernel node: a VXLAN device with a MAC
# of its own, `nolearning`, an onlink route to node1's pod CIDR via node1's subnet address
# (10.244.1.0), a permanent neighbour entry for that address with the VtepMAC node1 publishes
# and an FDB entry sending that MAC to node1's public IP. node1 learns node2 as the sync would
# from flannel's annotations: `node add ... vtep_mac=<node2's VtepMAC>`.
#
# Checks: the backend-data sluiced publishes; without vtep_mac the kernel VTEP drops what
# sluice sends (the reason for it); with it: ping, TCP (sha256) and UDP (every datagram
# echoed byte for byte) both ways, and from the flannel node's own kernel to a sluice pod;
# the wire (VNI 1, port 8472, inner destination MACs: the VTEP MACs, outer: the underlay
# neighbours); vtep_mac persisted and shown; a bad vtep_mac refused naming the field; no
# VXLAN drops; /healthz and /metrics (parsed by prometheus_client's text parser).
#
# Usage (as root, from the repository root):
#   SL_BUILD=build bash tests/integration/flannel_interop.sh
# Environment: SL_BUILD, SL_PREFIX (names ${SL_PREFIX}f-..., default slf-), SL_RUN, SL_EAL_MEM
# (default "--no-huge -m 512"). Output: "ok - NAME" / "not ok - NAME (details)" per check and
# "N passed, M failed"; exit status 1 when anything failed.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SL_BUILD=${SL_BUILD:-build}
case $SL_BUILD in
/*) ;;
*) if [ -d "$SL_BUILD" ]; then SL_BUILD=$(cd "$SL_BUILD" && pwd); else SL_BUILD=$ROOT/$SL_BUILD; fi ;;
esac
export SL_BUILD
export SL_PREFIX=${SL_PREFIX:-sl}f-
export SL_RUN=${SL_RUN:-/tmp/${SL_PREFIX}run}
export SL_EAL_MEM=${SL_EAL_MEM-"--no-huge -m 512"}
cd "$ROOT" || exit 2
# shellcheck source=../../scripts/lib/topo.sh
source "$ROOT/scripts/lib/topo.sh"

if [ "$(id -u)" != 0 ]; then
	echo "flannel_interop.sh: must run as root (network namespaces, AF_XDP)" >&2
	exit 2
fi
for t in ip bridge ping ethtool nc ss tcpdump python3 sha256sum timeout curl; do
	command -v "$t" >/dev/null || { echo "flannel_interop.sh: missing tool: $t" >&2; exit 2; }
done
for b in "$SL_BUILD/control/sluiced" "$SL_BUILD/control/cli/sluicectl"; do
	[ -x "$b" ] || { echo "flannel_interop.sh: $b not built (ninja -C $SL_BUILD)" >&2; exit 2; }
done

SL_VTEP_MAC=02:5e:00:00:00:01 # node1's vxlan.vtep_mac: what it publishes as VtepMAC
FL_VTEP_MAC=02:f1:00:00:00:02 # node2's flannel.1
FL_PORT=8472                  # flannel's port on some distros (the kernel's old default)
METRICS=127.0.0.1:9464        # node1's metrics.listen, inside its namespace

T=$(mktemp -d /tmp/slf-test.XXXXXX)
BG=()
# shellcheck source=../../scripts/lib/check.sh
source "$ROOT/scripts/lib/check.sh"

cleanup() {
	local p live
	live=" $(jobs -p | tr '\n' ' ') "
	for p in "${BG[@]}"; do
		[[ $live == *" $p "* ]] && kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	topo_down >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bg_ns() {
	local n=$1
	shift
	ip netns exec "$(ns "$n")" "$@" &
	BG+=($!)
}

wait_pid() {
	local pid=$1 i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

pyj() {
	python3 -c 'import json, sys
d = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

ping_ok() { # NS DST [COUNT]
	local n=$1 dst=$2 c=${3:-3} o
	o=$(in_ns "$n" timeout 20 ping -n -c "$c" -i 0.2 -W 2 "$dst" 2>&1)
	grep -q "^$c packets transmitted, $c received" <<<"$o" && return 0
	grep -E 'From|transmitted|unreachable|error' <<<"$o" | tail -n 3
	fail "expected $c/$c echo replies from $dst in $n"
}

ping_none() { # NS DST: not one echo reply
	local o
	o=$(in_ns "$1" timeout 10 ping -n -c 2 -i 0.2 -W 1 "$2" 2>&1)
	grep -q "^2 packets transmitted, 0 received" <<<"$o" && return 0
	grep transmitted <<<"$o"
	fail "$2 answered from $1"
}

drop_count() { # NODE REASON
	ctl "$1" -o json show drops 2>/dev/null |
		pyj "sum(x['packets'] for x in d if x['reason'] == '$2')" 2>/dev/null || echo -1
}

# ---------------------------------------------------------------------------------------
# Topology: topo.sh's two nodes; node2 becomes the flannel node (no sluiced on it).

sluice_config() {
	cat <<JSON
{
  "node": {"name": "node1", "ip": "198.18.0.1", "pod_cidr": "10.244.1.0/24",
           "cluster_cidr": "10.244.0.0/16"},
  "uplink": {"devargs": "net_af_xdp1,iface=sl-up0", "mtu": 1500},
  "host": {"enabled": true, "ifname": "sl-host"},
  "vxlan": {"vni": 1, "port": $FL_PORT, "vtep_mac": "$SL_VTEP_MAC"},
  "metrics": {"listen": "$METRICS"},
  "pods": [
    {"name": "p1a", "namespace": "default", "ip": "10.244.1.2", "mac": "$(pod_mac p1a)", "ifname": "p1a"},
    {"name": "p1b", "namespace": "default", "ip": "10.244.1.3", "mac": "$(pod_mac p1b)", "ifname": "p1b"}
  ],
  "nodes": []
}
JSON
}

# What flanneld (vxlan backend) sets up on its own node, and, from node1's annotations
# (public-ip 198.18.0.1, backend-data VtepMAC), for node1's subnet.
flannel_node_up() {
	local vtep=$1
	in_ns n2 ip addr add 198.18.0.2/24 dev sl-up0 &&
	in_ns n2 sysctl -qw net.ipv4.ip_forward=1 &&
	in_ns n2 ip link add flannel.1 type vxlan id 1 local 198.18.0.2 dev sl-up0 \
		dstport "$FL_PORT" nolearning &&
	in_ns n2 ip link set flannel.1 address "$FL_VTEP_MAC" mtu 1450 &&
	in_ns n2 ip link set flannel.1 up &&
	in_ns n2 ip addr add 10.244.2.0/32 dev flannel.1 &&
	in_ns n2 ip link add cni0 type bridge &&
	in_ns n2 ip addr add 10.244.2.1/24 dev cni0 &&
	in_ns n2 ip link set p2a master cni0 &&
	in_ns n2 ip link set p2b master cni0 &&
	in_ns n2 ip link set cni0 up &&
	in_ns n2 ip route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink &&
	in_ns n2 ip neigh replace 10.244.1.0 lladdr "$vtep" dev flannel.1 nud permanent &&
	in_ns n2 bridge fdb append "$vtep" dev flannel.1 dst 198.18.0.1 || return 1
	# Traffic read through XDP on node1 must carry full checksums (docs: MACHINE.md).
	local d
	for d in sl-up0 flannel.1 cni0 p2a p2b; do
		in_ns n2 ethtool -K "$d" tx off >/dev/null 2>&1 || true
	done
}

# ---------------------------------------------------------------------------------------
# Checks

backend_data() {
	local got
	got=$(ctl 1 -o json show stats | pyj "d['vxlan']['flannel_backend_data']") || return 1
	[ "$got" = "{\"VNI\":1,\"VtepMAC\":\"$SL_VTEP_MAC\"}" ] || { fail "backend-data $got"; return 1; }
	echo "$got"
}

no_vtep_mac_dropped() {
	ctl 1 node add name=node2 ip=198.18.0.2 pod_cidr=10.244.2.0/24 || return 1
	ping_none p1a 10.244.2.2
	ctl 1 node del name=node2
}

state_has_vtep_mac() {
	local st=$SL_RUN/node1.sock.state.json
	python3 tests/integration/persisted.py "$st" nodes | python3 -c '
import json, sys
n = [x for x in json.load(sys.stdin) if x["name"] == "node2"]
assert n and n[0].get("vtep_mac") == sys.argv[1], n
assert "mac" not in n[0], n' "$FL_VTEP_MAC" || fail "vtep_mac not in $st"
	ctl 1 -o json show nodes | pyj "[n.get('vtep_mac') for n in d if n['name'] == 'node2'][0]" |
		grep -qix "$FL_VTEP_MAC" || fail "show nodes: node2 without vtep_mac $FL_VTEP_MAC"
}

bad_vtep_mac() {
	local o
	o=$(ctl 1 node add name=node9 ip=198.18.0.9 pod_cidr=10.244.9.0/24 vtep_mac=00:00:00:00:00:00 2>&1)
	[ $? -ne 0 ] || { fail "a zero vtep_mac was accepted"; return 1; }
	grep -q "node.vtep_mac: must not be 00:00:00:00:00:00" <<<"$o" || fail "error: $o"
	o=$(ctl 1 node add name=node9 ip=198.18.0.9 pod_cidr=10.244.9.0/24 vtep_mac=banana 2>&1)
	[ $? -ne 0 ] || { fail "vtep_mac=banana was accepted"; return 1; }
	grep -q "node.vtep_mac: 'banana' is not a unicast MAC" <<<"$o" || fail "error: $o"
}

DATA=$T/data.bin
head -c $((2 * 1024 * 1024)) /dev/urandom >"$DATA"

xfer() { # SRC_NS DST_NS DST_IP PORT: DATA over TCP, same sha256 at the receiver
	local src=$1 dst=$2 ip=$3 port=$4 recv=$T/recv.$4 lpid rc
	bg_ns "$dst" timeout 30 nc -l "$ip" "$port" >"$recv" </dev/null
	lpid=$!
	wait_listen "$dst" "$port" || return 1
	in_ns "$src" timeout 20 nc -N -w 10 "$ip" "$port" <"$DATA"
	rc=$?
	wait_pid "$lpid" 15
	[ "$rc" -eq 0 ] || { fail "sender nc $src -> $ip:$port exited with $rc"; return 1; }
	[ "$(sha256sum <"$DATA" | cut -d' ' -f1)" = "$(sha256sum <"$recv" | cut -d' ' -f1)" ] ||
		fail "content mismatch: $(stat -c %s "$recv") of $(stat -c %s "$DATA") bytes"
}

UDP_ECHO='import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(10)
for _ in range(int(sys.argv[3])):
    d, a = s.recvfrom(65535)
    s.sendto(d, a)'
UDP_CLIENT='import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
dst = (sys.argv[1], int(sys.argv[2]))
for i in range(int(sys.argv[3])):
    d = os.urandom(64 + 97 * i)
    s.sendto(d, dst)
    e, a = s.recvfrom(65535)
    if e != d or a != dst:
        sys.exit(f"datagram {i} ({len(d)} bytes): echo of {len(e)} bytes differs, from {a}")
print(f"{sys.argv[3]} datagrams echoed byte for byte")'

udp_echo() { # CLIENT_NS SERVER_NS SERVER_IP PORT
	local n=12 spid
	bg_ns "$2" timeout 20 python3 -c "$UDP_ECHO" "$3" "$4" "$n"
	spid=$!
	for _ in $(seq 50); do
		in_ns "$2" ss -Hlun "sport = :$4" | grep -q . && break
		sleep 0.1
	done
	in_ns "$1" timeout 30 python3 -c "$UDP_CLIENT" "$3" "$4" "$n" || fail "UDP $1 -> $3:$4"
	wait_pid "$spid" 5
}

# The wire during one ping p1a -> p2a: sluice -> flannel frames carry outer destination
# node2's underlay MAC and inner destination flannel.1's MAC, inner source our VTEP MAC;
# flannel -> sluice frames carry inner destination our VTEP MAC. VNI 1, port 8472.
wire() {
	local pcap=$T/ul.pcap err=$T/tcpdump.err tp i n2mac
	n2mac=$(in_ns n2 cat /sys/class/net/sl-up0/address)
	bg_ns ul timeout 20 tcpdump -i br0 -n -U -Z root -c 4 -w "$pcap" "udp port $FL_PORT" 2>"$err"
	tp=$!
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$err" && break
		sleep 0.1
	done
	in_ns p1a timeout 10 ping -n -c 2 -i 0.2 -W 2 10.244.2.2 >/dev/null
	for ((i = 0; i < 30; i++)); do
		kill -0 "$tp" 2>/dev/null || break
		sleep 0.1
	done
	kill -INT "$tp" 2>/dev/null
	wait "$tp" 2>/dev/null
	python3 - "$pcap" "$n2mac" "$FL_VTEP_MAC" "$SL_VTEP_MAC" "$FL_PORT" <<'EOF'
import struct, sys
path, n2mac, fl, sl, port = sys.argv[1:6]
data = open(path, 'rb').read()
e = '<' if struct.unpack('<I', data[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else '>'
mac = lambda b: ':'.join('%02x' % x for x in b)
off, seen, errors = 24, {}, []
while off + 16 <= len(data):
    incl = struct.unpack(e + 'IIII', data[off:off + 16])[2]
    p = data[off + 16:off + 16 + incl]
    off += 16 + incl
    o = p[14:]
    ihl = (o[0] & 15) * 4
    u = o[ihl:]
    dport, vni = struct.unpack('!H', u[2:4])[0], int.from_bytes(u[12:15], 'big')
    inner = u[16:]
    src = '.'.join(map(str, o[12:16]))
    row = (mac(p[0:6]), mac(inner[0:6]), mac(inner[6:12]))
    print(f"{src}: outer dst {row[0]}, inner dst {row[1]} src {row[2]}, port {dport} vni {vni}")
    if dport != int(port) or vni != 1:
        errors.append(f"{src}: port {dport} vni {vni}")
    seen.setdefault(src, set()).add(row)
want = {'198.18.0.1': (n2mac, fl, sl), '198.18.0.2': (None, sl, fl)}
for src, (odst, idst, isrc) in want.items():
    for r in seen.get(src, [('-', '-', '-')]):
        if (odst and r[0] != odst) or r[1] != idst or r[2] != isrc:
            errors.append(f"from {src}: outer dst {r[0]} inner dst {r[1]} src {r[2]}, want "
                          f"{odst or 'any'} / {idst} / {isrc}")
if errors:
    sys.exit("; ".join(errors[:4]))
EOF
}

no_vxlan_drops() {
	local r c bad=""
	for r in vxlan-truncated vxlan-bad-flags vxlan-bad-vni vxlan-fragment vxlan-untrusted-peer \
		vxlan-inner-spoofed vxlan-inner-invalid vxlan-inner-not-local; do
		c=$(drop_count 1 "$r")
		[ "$c" = 0 ] || bad+=" $r=$c"
	done
	[ -z "$bad" ] || fail "VXLAN drops on node1:$bad"
}

healthz() {
	local o
	o=$(in_ns n1 curl -sS -m 5 -w ' %{http_code}' "http://$METRICS/healthz") || { fail "curl: $o"; return 1; }
	[ "$o" = "ok 200" ] || fail "/healthz answered '$o'"
	o=$(in_ns n1 curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://$METRICS/nope")
	[ "$o" = 404 ] || fail "/nope answered $o, want 404"
	o=$(in_ns n1 curl -sS -m 5 -o /dev/null -w '%{http_code}' -X POST "http://$METRICS/metrics")
	[ "$o" = 405 ] || fail "POST /metrics answered $o, want 405"
}

# /metrics through the official parser; the families and a few values this run makes certain.
metrics() {
	local body=$T/metrics.txt ct
	ct=$(in_ns n1 curl -sS -m 5 -o "$body" -w '%{content_type}' "http://$METRICS/metrics") ||
		{ fail "curl /metrics failed"; return 1; }
	[ "$ct" = "text/plain; version=0.0.4; charset=utf-8" ] || fail "Content-Type '$ct'"
	/usr/bin/python3 - "$body" <<'EOF'
import re, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
# Stricter than that parser: each family declared once, its samples right after its header.
declared, current = set(), None
assert text.endswith('\n'), "no final newline"
for line in text.splitlines():
    if line.startswith('# TYPE '):
        current = line.split()[2]
        assert current not in declared, f"family {current} declared twice"
        declared.add(current)
    elif line and not line.startswith('#'):
        name = re.match(r'[a-zA-Z_:][a-zA-Z0-9_:]*', line).group(0)
        assert name == current, f"sample {name} outside its family (under {current})"
def val(fam, **labels):
    for s in fams[fam].samples:
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise SystemExit(f"{fam}{labels}: no such sample")
need = {'sluice_port_rx_packets': 'counter', 'sluice_port_tx_packets': 'counter',
        'sluice_port_rx_bytes': 'counter', 'sluice_port_tx_bytes': 'counter',
        'sluice_port_tx_dropped': 'counter', 'sluice_drops': 'counter',
        'sluice_graph_node_packets': 'counter', 'sluice_graph_node_cycles': 'counter',
        'sluice_conntrack_entries': 'gauge', 'sluice_conntrack_size': 'gauge',
        'sluice_services': 'gauge', 'sluice_model_objects': 'gauge',
        'sluice_vxlan_info': 'gauge', 'sluice_up': 'gauge'}
for n, t in need.items():
    if n not in fams:
        raise SystemExit(f"family {n} missing (have {sorted(fams)})")
    if fams[n].type != t:
        raise SystemExit(f"family {n} is a {fams[n].type}, want {t}")
assert val('sluice_port_rx_packets', port='uplink') > 0
assert val('sluice_port_tx_packets', port='p1a') > 0
assert val('sluice_graph_node_packets', node='vxlan-encap') > 0
assert val('sluice_graph_node_packets', node='vxlan-decap') > 0
assert val('sluice_drops', reason='vxlan-bad-vni') == 0
assert val('sluice_vxlan_info', vtep_mac='02:5e:00:00:00:01', vni='1', port='8472') == 1
assert val('sluice_model_objects', kind='nodes') == 1
assert val('sluice_up') == 1
print(f"{len(fams)} families, {sum(len(f.samples) for f in fams.values())} samples parsed")
EOF
}

# ---------------------------------------------------------------------------------------

topo_up || exit 2
mkdir -p "$SL_RUN"
sluice_config >"$SL_RUN/node1.json"
node_start 1 "$SL_RUN/node1.json" || exit 1
check "node1 publishes flannel backend-data {VNI:1, VtepMAC: vxlan.vtep_mac}" backend_data
check "flannel-style kernel node up (VXLAN $FL_PORT nolearning, onlink route, neighbour + FDB)" \
	flannel_node_up "$SL_VTEP_MAC"
check "without vtep_mac the flannel VTEP drops node1's frames (inner destination not its MAC)" \
	no_vtep_mac_dropped
check "node add node2 with vtep_mac (its flannel.1 MAC)" \
	ctl 1 node add name=node2 ip=198.18.0.2 pod_cidr=10.244.2.0/24 vtep_mac="$FL_VTEP_MAC"
check "vtep_mac persisted in the state file (snapshot + journal) and shown by show nodes" state_has_vtep_mac
check "a bad vtep_mac is refused, naming the field" bad_vtep_mac
check "ping sluice pod p1a -> flannel pod p2a" ping_ok p1a 10.244.2.2
check "ping flannel pod p2b -> sluice pod p1b" ping_ok p2b 10.244.1.3
check "ping flannel node's kernel (from 10.244.2.0) -> sluice pod p1a" ping_ok n2 10.244.1.2
check "TCP 2 MiB sluice p1a -> flannel p2a, sha256 equal" xfer p1a p2a 10.244.2.2 5001
check "TCP 2 MiB flannel p2b -> sluice p1b, sha256 equal" xfer p2b p1b 10.244.1.3 5002
check "UDP sluice p1b -> flannel p2a, every datagram echoed byte for byte" udp_echo p1b p2a 10.244.2.2 5003
check "UDP flannel p2b -> sluice p1a, every datagram echoed byte for byte" udp_echo p2b p1a 10.244.1.2 5004
check "wire: port $FL_PORT, VNI 1, inner MACs the VTEP MACs, outer the underlay neighbour" wire
check "no VXLAN drops on node1" no_vxlan_drops
check "/healthz 200 ok; unknown path 404; POST 405" healthz
check "/metrics parsed by prometheus_client (families, types, values)" metrics
check "node1 stops cleanly" node_stop 1
check_summary
