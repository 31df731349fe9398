#!/usr/bin/env bash
# Two-node integration tests for sluiced.
#
# Builds the two-node namespace topology of scripts/lib/topo.sh (two sluiced nodes, four
# kernel pods over AF_XDP, an underlay bridge), then checks forwarding (ICMP, TCP with
# content check), the VXLAN encapsulation on the wire, pod detach/re-attach at run time,
# the ICMP errors the gateway sends, config validation (sluiced --check), the API socket's
# handling of bad requests, anti-spoofing (a pod sending from another pod's address), the
# packet tracer and counters, and a clean shutdown.
#
# Usage (as root, from the repository root):
#   SL_BUILD=build bash tests/integration/two_node.sh
# Environment: SL_BUILD (default build), SL_PREFIX (names are ${SL_PREFIX}t-..., default slt-), SL_RUN (default
# /tmp/slt-run), SL_EAL_MEM (default "--no-huge -m 512"; set it empty to use hugepages).
# Output: "ok - NAME" / "not ok - NAME (details)" per check, "# ..." notes, and a final
# "N passed, M failed" line; exit status 1 when anything failed.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SL_BUILD=${SL_BUILD:-build}
case $SL_BUILD in
/*) ;;
*) if [ -d "$SL_BUILD" ]; then SL_BUILD=$(cd "$SL_BUILD" && pwd); else SL_BUILD=$ROOT/$SL_BUILD; fi ;;
esac
export SL_BUILD
export SL_PREFIX=${SL_PREFIX:-sl}t-
export SL_RUN=${SL_RUN:-/tmp/${SL_PREFIX}run}
export SL_EAL_MEM=${SL_EAL_MEM-"--no-huge -m 512"}
cd "$ROOT" || exit 2
# shellcheck source=../../scripts/lib/topo.sh
source "$ROOT/scripts/lib/topo.sh"

SLUICED=$SL_BUILD/control/sluiced
SLUICECTL=$SL_BUILD/control/cli/sluicectl
if [ "$(id -u)" != 0 ]; then
	echo "two_node.sh: must run as root (network namespaces, AF_XDP)" >&2
	exit 2
fi
for t in ip ping ethtool nc ss tcpdump python3 sha256sum timeout; do
	command -v "$t" >/dev/null || { echo "two_node.sh: missing tool: $t" >&2; exit 2; }
done
for b in "$SLUICED" "$SLUICECTL"; do
	[ -x "$b" ] || { echo "two_node.sh: $b not built (ninja -C $SL_BUILD)" >&2; exit 2; }
done

T=$(mktemp -d /tmp/slt-test.XXXXXX)
BG=()     # background processes this script started (killed by PID on exit)
# shellcheck source=../../scripts/lib/check.sh
source "$ROOT/scripts/lib/check.sh"

cleanup() {
	local p live
	live=" $(jobs -p | tr '\n' ' ') " # only our still-unreaped children: no PID reuse
	for p in "${BG[@]}"; do
		[[ $live == *" $p "* ]] && kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	topo_down >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# Harness

# bg_ns NS CMD...: start CMD in namespace NS in the background (exec'd, so $! is its PID).
bg_ns() {
	local n=$1
	shift
	ip netns exec "$(ns "$n")" "$@" &
	BG+=($!)
}

# wait_pid PID SECONDS: wait for a background process to end; kill it when it overstays.
wait_pid() {
	local pid=$1 i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# pyj EXPR: evaluate a Python expression over the JSON document on stdin (as d).
pyj() {
	python3 -c 'import json, sys
d = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

drop_count() { # NODE REASON
	ctl "$1" -o json show drops 2>/dev/null |
		pyj "sum(x['packets'] for x in d if x['reason'] == '$2')" 2>/dev/null || echo -1
}

api_errors() { # NODE
	ctl "$1" -o json show stats 2>/dev/null | pyj "d['api']['errors']" 2>/dev/null || echo -1
}

has_xdp() { # NODE IFNAME: true when an XDP program is attached to IFNAME in the node ns
	in_ns "$1" ip -d link show "$2" 2>/dev/null | grep -Eq 'prog/xdp|[[:space:]]xdp(generic|drv|offload)?[[:space:]]'
}

# ---------------------------------------------------------------------------------------
# Assertions

# ping_ok NS DST [COUNT]: every echo request is answered.
ping_ok() {
	local n=$1 dst=$2 c=${3:-3} o
	o=$(in_ns "$n" timeout 20 ping -n -c "$c" -i 0.2 -W 2 "$dst" 2>&1)
	grep -q "^$c packets transmitted, $c received" <<<"$o" && return 0
	grep -E 'From|transmitted|unreachable|error' <<<"$o" | tail -n 3
	fail "expected $c/$c echo replies from $dst in $n"
}

# ping_expect NS DST REGEX [PING-ARGS...]: one echo request; the output must match REGEX
# (an ICMP error line, e.g. "From 10.244.1.1 icmp_seq=1 Time to live exceeded").
ping_expect() {
	local n=$1 dst=$2 re=$3 o
	shift 3
	o=$(in_ns "$n" timeout 10 ping -n -c 1 -W 3 "$@" "$dst" 2>&1)
	grep -Eq "$re" <<<"$o" && return 0
	grep -Ev '^$|^PING|^---|rtt' <<<"$o" | tail -n 2
	fail "ping $* $dst from $n: expected /$re/"
}

# ---------------------------------------------------------------------------------------
# 2. TCP transfer with content check

DATA=$T/data.bin
DATA_BYTES=$((10 * 1024 * 1024))

# xfer SRC_NS DST_NS DST_IP PORT: nc DATA from SRC to a listener in DST; same sha256.
xfer() {
	local src=$1 dst=$2 ip=$3 port=$4 recv=$T/recv.$4 lpid t0 t1 rc
	rm -f "$recv"
	bg_ns "$dst" timeout 60 nc -l "$ip" "$port" >"$recv" </dev/null
	lpid=$!
	wait_listen "$dst" "$port" || return 1
	t0=$(date +%s%N)
	in_ns "$src" timeout 30 nc -N -w 10 "$ip" "$port" <"$DATA"
	rc=$?
	wait_pid "$lpid" 15
	t1=$(date +%s%N)
	[ "$rc" -eq 0 ] || { fail "sender nc $src -> $ip:$port exited with $rc"; return 1; }
	local want got size
	want=$(sha256sum <"$DATA" | cut -d' ' -f1)
	got=$(sha256sum <"$recv" | cut -d' ' -f1)
	size=$(stat -c %s "$recv")
	if [ "$want" != "$got" ]; then
		fail "content mismatch: received $size of $DATA_BYTES bytes, sha256 $got != $want"
		return 1
	fi
	note "$(awk -v b="$size" -v ns=$((t1 - t0)) -v w="$src -> $dst ($ip)" 'BEGIN {
		s = ns / 1e9; printf "tcp %s: %d bytes in %.3f s = %.1f MB/s (%.0f Mbit/s)",
		w, b, s, b / s / 1e6, b * 8 / s / 1e6 }')"
	rm -f "$recv"
}

# ---------------------------------------------------------------------------------------
# 3. The wire: VXLAN on the underlay bridge

# Capture the underlay during a cross-node ping and check every packet: outer IPv4 with DF,
# UDP to 4789, VXLAN flags I, VNI 42 (topo.sh's SL_VNI), inner ICMP between the two pods (both directions).
vxlan_capture() {
	local pcap=$T/ul.pcap err=$T/tcpdump.err tp i
	: >"$err"
	bg_ns ul timeout 20 tcpdump -i br0 -n -U -Z root -c 6 -w "$pcap" 'udp port 4789' 2>"$err"
	tp=$!
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$err" && break
		sleep 0.1
	done
	grep -q 'listening on' "$err" || { wait_pid "$tp" 0; cat "$err"; fail "tcpdump did not start"; return 1; }
	in_ns p1a timeout 10 ping -n -c 3 -i 0.2 -W 2 10.244.2.2 >/dev/null
	for ((i = 0; i < 30; i++)); do
		kill -0 "$tp" 2>/dev/null || break
		sleep 0.1
	done
	kill -INT "$tp" 2>/dev/null
	wait "$tp" 2>/dev/null
	python3 - "$pcap" "${SL_VNI:-42}" <<'EOF'
import socket, struct, sys
VNI = int(sys.argv[2])
data = open(sys.argv[1], 'rb').read()
if len(data) < 24:
    sys.exit("no packets captured on br0")
magic = struct.unpack('<I', data[:4])[0]
e = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
off, pkts, errors = 24, 0, []
dirs = set()
ip = socket.inet_ntoa
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(e + 'IIII', data[off:off + 16])
    p = data[off + 16:off + 16 + incl]
    off += 16 + incl
    pkts += 1
    if struct.unpack('!H', p[12:14])[0] != 0x0800:
        errors.append(f"pkt {pkts}: not IPv4"); continue
    o = p[14:]
    ihl = (o[0] & 15) * 4
    df = bool(struct.unpack('!H', o[6:8])[0] & 0x4000)
    if o[9] != 17:
        errors.append(f"pkt {pkts}: outer protocol {o[9]} is not UDP"); continue
    u = o[ihl:]
    dport = struct.unpack('!H', u[2:4])[0]
    vx = u[8:16]
    vni = int.from_bytes(vx[4:7], 'big')
    inner = u[16 + 14:]
    isrc, idst, iproto = ip(inner[12:16]), ip(inner[16:20]), inner[9]
    print(f"pkt {pkts}: {ip(o[12:16])} -> {ip(o[16:20])} df={int(df)} udp dport {dport} "
          f"vxlan flags {vx[0]:#x} vni {vni}; inner {isrc} -> {idst} proto {iproto}")
    if not df: errors.append(f"pkt {pkts}: outer DF bit not set")
    if dport != 4789: errors.append(f"pkt {pkts}: UDP dport {dport} != 4789")
    if vx[0] != 0x08: errors.append(f"pkt {pkts}: VXLAN flags {vx[0]:#x} != 0x08")
    if vni != VNI: errors.append(f"pkt {pkts}: VNI {vni} != {VNI}")
    if iproto != 1: errors.append(f"pkt {pkts}: inner protocol {iproto} is not ICMP")
    dirs.add((ip(o[12:16]), isrc, ip(o[16:20]), idst))
want = {('198.18.0.1', '10.244.1.2', '198.18.0.2', '10.244.2.2'),
        ('198.18.0.2', '10.244.2.2', '198.18.0.1', '10.244.1.2')}
if pkts < 4: errors.append(f"only {pkts} VXLAN packets captured (want >= 4)")
if not want <= dirs: errors.append(f"missing direction(s): {sorted(want - dirs)}")
if errors:
    sys.exit("; ".join(errors[:4]))
EOF
}

# ---------------------------------------------------------------------------------------
# 4. Detach a pod while traffic runs

detach_run() {
	bg_ns p2a timeout 20 ping -n -i 0.1 -c 50 -W 1 10.244.1.2 >"$T/ping-p1a.log" 2>&1
	local pa=$!
	bg_ns p2a timeout 20 ping -n -i 0.1 -c 50 -W 1 10.244.1.3 >"$T/ping-p1b.log" 2>&1
	local pb=$!
	sleep 1.5
	ctl 1 pod del name=p1a
	local rc=$?
	wait_pid "$pa" 15
	wait_pid "$pb" 15
	[ "$rc" -eq 0 ] || { fail "sluicectl pod del name=p1a exited with $rc"; return 1; }
	if ctl 1 -o json show pods | pyj "[p['name'] for p in d]" | grep -q "'p1a'"; then
		fail "p1a still listed by show pods after pod del"
		return 1
	fi
}

# The pings to p1a: answered before the delete, "Destination Host Unreachable" from the
# gateway after it, and never answered again once the errors started.
detach_p1a_log() {
	local log=$T/ping-p1a.log first_err last_ok
	grep -q 'bytes from 10.244.1.2' "$log" || { tail -n 3 "$log"; fail "p1a never answered before the delete"; return 1; }
	first_err=$(grep -m1 -E '^From 10\.244\.1\.1 icmp_seq=[0-9]+ Destination Host Unreachable' "$log" |
		sed 's/.*icmp_seq=\([0-9]*\).*/\1/')
	[ -n "$first_err" ] || { tail -n 3 "$log"; fail "no 'From 10.244.1.1 ... Destination Host Unreachable' after the delete"; return 1; }
	last_ok=$(grep 'bytes from 10.244.1.2' "$log" | tail -n1 | sed 's/.*icmp_seq=\([0-9]*\).*/\1/')
	[ "$last_ok" -lt "$first_err" ] ||
		fail "p1a answered icmp_seq=$last_ok after the first unreachable (icmp_seq=$first_err)"
}

detach_p1b_log() {
	grep -q '^50 packets transmitted, 50 received' "$T/ping-p1b.log" && return 0
	grep transmitted "$T/ping-p1b.log"
	fail "pings to p1b lost packets while p1a was detached"
}

no_xdp() { # NODE IFNAME...
	local n=$1 i
	shift
	for i in "$@"; do
		in_ns "$n" ip link show "$i" >/dev/null 2>&1 || { fail "$i missing in $(ns "$n")"; return 1; }
		if has_xdp "$n" "$i"; then
			in_ns "$n" ip -d link show "$i" | grep -E 'xdp'
			fail "$i in $(ns "$n") still has an XDP program"
			return 1
		fi
	done
}

xdp_attached() { # NODE IFNAME...
	local n=$1 i
	shift
	for i in "$@"; do
		has_xdp "$n" "$i" || { fail "no XDP program on $i in $(ns "$n")"; return 1; }
	done
}

reattach() {
	ctl 1 pod add name=p1a namespace=default ip=10.244.1.2 mac="$(pod_mac p1a)" ifname=p1a ||
		{ fail "pod add p1a failed"; return 1; }
	has_xdp n1 p1a || { fail "no XDP program on p1a after pod add"; return 1; }
}

# ---------------------------------------------------------------------------------------
# 5. ICMP errors

mtu_frag_needed() {
	local rc=0
	in_ns p1b ip link set eth0 mtu 1500 && in_ns n1 ip link set p1b mtu 1500 || rc=1
	[ "$rc" = 0 ] && { ping_expect p1b 10.244.2.2 \
		'^From 10\.244\.1\.1 icmp_seq=1 Frag needed and DF set \(mtu = 1450\)' -M 'do' -s 1472 || rc=1; }
	in_ns p1b ip link set eth0 mtu 1450
	in_ns n1 ip link set p1b mtu 1450
	in_ns p1b ip route flush cache >/dev/null 2>&1
	return "$rc"
}

drops_increased() { # NODE: compares with the DROPS0 snapshot
	local r now bad=""
	for r in ttl-exceeded no-route no-such-pod df-too-big; do
		now=$(drop_count "$1" "$r")
		[ "$now" -gt "${DROPS0[$r]}" ] || bad+=" $r ${DROPS0[$r]}->$now"
	done
	[ -z "$bad" ] || { fail "drop counters did not increase:$bad"; return 1; }
}

# ---------------------------------------------------------------------------------------
# 6. Bad config files

make_configs() {
	local d=$T/cfg
	mkdir -p "$d"
	python3 - "$SL_RUN/node1.json" "$d" <<'EOF'
import copy, json, sys
src, d = sys.argv[1], sys.argv[2]
text = open(src).read()
good = json.loads(text)
def put(name, obj):
    with open(f"{d}/{name}.json", "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj, indent=1))
def bad(name, change):
    c = copy.deepcopy(good)
    change(c)
    put(name, c)
put("good", good)
put("invalid-json", text.rstrip().rstrip("}"))
bad("missing-node-ip", lambda c: c["node"].pop("ip"))
bad("node-ip-300", lambda c: c["node"].update(ip="300.1.1.1"))
bad("pod-cidr-host-bits", lambda c: c["node"].update(pod_cidr="10.244.1.1/24"))
bad("unknown-top-field", lambda c: c.update(frobnicate=True))
bad("unknown-uplink-field", lambda c: c["uplink"].update(speed=10))
bad("pod-mac", lambda c: c["pods"][0].update(mac="02:00:00:00:00:zz"))
bad("pod-mac-multicast", lambda c: c["pods"][1].update(mac="01:00:5e:00:00:01"))
bad("uplink-mtu", lambda c: c["uplink"].update(mtu=65536))
bad("vni-2-24", lambda c: c["vxlan"].update(vni=2**24))
bad("pod-ip-outside", lambda c: c["pods"][1].update(ip="10.244.9.3"))
bad("pods-not-array", lambda c: c.update(pods={}))
# semantic errors the daemon refuses at start-up, so --check must refuse them too
bad("dup-pod-ip", lambda c: c["pods"][1].update(ip=c["pods"][0]["ip"]))
bad("node-overlaps-own", lambda c: c["nodes"][0].update(pod_cidr=c["node"]["pod_cidr"]))
put("trailing-garbage", text.rstrip() + " garbage\n")
EOF
}

# config_bad NAME REGEX: sluiced --check exits 2 and says "sluiced: config FILE: <REGEX>".
config_bad() {
	local f=$T/cfg/$1.json o rc
	o=$(timeout 10 "$SLUICED" --check -c "$f" 2>&1)
	rc=$?
	[ "$rc" -eq 2 ] || { fail "exit status $rc (want 2): $o"; return 1; }
	grep -Eq "^sluiced: config $f: $2" <<<"$o" || { fail "message does not name /$2/: $o"; return 1; }
}

config_good() {
	local o rc
	o=$(timeout 10 "$SLUICED" --check -c "$1" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] || { fail "exit status $rc: $o"; return 1; }
	grep -q 'is valid' <<<"$o" || { fail "unexpected output: $o"; return 1; }
}

config_default_good() {
	timeout 10 "$SLUICED" --print-default >"$T/cfg/default.json" || { fail "--print-default failed"; return 1; }
	config_good "$T/cfg/default.json"
}

# ---------------------------------------------------------------------------------------
# 7. Bad API requests

cat >"$T/api.py" <<'EOF'
# api.py SOCKET MODE [REQUEST]: talk to the sluiced API socket.
#   raw REQUEST   send REQUEST, half-close, print the response
#   oversize      send a request over SL_API_MAX_REQUEST (4 MiB)
#   silent        one client connects and sends nothing; a second asks for the version
#   slow          one client sends a byte every 0.4 s for 4 s; a second asks for the version
# Prints the responses (and timings for silent/slow) as JSON.
import json, socket, sys, threading, time
path, mode = sys.argv[1], sys.argv[2]

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(path)
    return s

def read_all(s):
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout) as e:
            break
        if not b:
            break
        out += b
    return out.decode(errors="replace").strip()

def request(data, shut=True):
    s = connect()
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the daemon may answer and close before it has read everything
    r = read_all(s)
    s.close()
    return r

if mode == "raw":
    print(request(sys.argv[3].encode()))
elif mode == "oversize":
    print(request(b'{"cmd":"show","what":"' + b"a" * (4 * 1024 * 1024 + 100) + b'"}'))
elif mode in ("silent", "slow"):
    res = {}
    def stall():
        t = time.monotonic()
        s = connect()
        if mode == "slow":
            try:
                for c in b'{"cmd":"ve':
                    s.sendall(bytes([c]))
                    time.sleep(0.4)
            except OSError:
                pass
        res["stalled"] = read_all(s)
        res["stalled_s"] = round(time.monotonic() - t, 2)
        s.close()
    th = threading.Thread(target=stall)
    th.start()
    time.sleep(0.2)
    t = time.monotonic()
    res["other"] = request(b'{"cmd":"version"}\n')
    res["other_s"] = round(time.monotonic() - t, 2)
    th.join()
    print(json.dumps(res))
EOF

api() { timeout 30 python3 "$T/api.py" "$SL_RUN/node1.sock" "$@"; }

# api_rejects REGEX MODE [REQUEST]: the answer is {"ok":false,"error":"...REGEX..."}.
api_rejects() {
	local re=$1 r
	shift
	r=$(api "$@")
	python3 -c 'import json, re, sys
r = json.loads(sys.argv[1])
assert r.get("ok") is False, "ok is not false"
assert isinstance(r.get("error"), str), "no error string"
assert re.search(sys.argv[2], r["error"]), "error does not match /%s/" % sys.argv[2]' "$r" "$re" 2>/dev/null && return 0
	fail "response ${r:-<none>}: want {\"ok\":false,\"error\":/$re/}"
}

# api_stall MODE: the stalled client is dropped with an error and does not hold the
# daemon up: the other client's answer comes within 1.6 s.
api_stall() {
	local r
	r=$(api "$1")
	python3 -c 'import json, sys
r = json.loads(sys.argv[1])
o = json.loads(r["other"])
assert o.get("ok") is True, "version request failed: %s" % r["other"]
assert r["other_s"] <= 1.6, "version request took %.2f s behind the stalled client" % r["other_s"]
s = json.loads(r["stalled"])
assert s.get("ok") is False and "request" in s.get("error", ""), "stalled client got %s" % r["stalled"]' "$r" 2>&1 |
		tail -n 1 | grep . && { fail "($r)"; return 1; }
	return 0
}

api_state_unchanged() {
	local nodes pods
	nodes=$(ctl 1 -o json show nodes | pyj "sorted(n['name'] for n in d)")
	pods=$(ctl 1 -o json show pods | pyj "sorted(p['name'] for p in d)")
	[ "$nodes" = "['node2']" ] && [ "$pods" = "['p1a', 'p1b']" ] && return 0
	fail "nodes $nodes, pods $pods (want ['node2'], ['p1a', 'p1b'])"
}

api_errors_counted() { # N: api.errors grew by at least N since the E0 snapshot
	local e1
	e1=$(api_errors 1)
	[ "$e1" -ge $((E0 + $1)) ] || fail "api.errors $E0 -> $e1, want at least +$1"
}

# ---------------------------------------------------------------------------------------
# 10. Anti-spoofing: a pod may only send with its own address

port_counter() { # NODE PORT COUNTER
	ctl "$1" -o json show ports 2>/dev/null |
		pyj "sum(p['$3'] for p in d if p['name'] == '$2')" 2>/dev/null || echo -1
}

SPOOF_N=20
# p1a, given p1b's address as a second address, pings p2a from it SPOOF_N times, then from
# its own address. p2a's capture must hold none of the spoofed requests and all of the
# others; node1 must count every spoofed one (drops pod-spoofed-source, p1a's rx_spoofed).
# The gateway's MAC is pinned in p1a meanwhile, so the kernel's ARP (which would carry the
# spoofed sender address and be dropped too) cannot leave p1a's neighbour entry failed.
spoof_run() {
	local pcap=$T/spoof.pcap err=$T/spoof.err tp i rc=0 gw_mac spoofed legit d0 r0 d1 r1
	gw_mac=02:5c:00:00:00:01 # sluiced's default gateway MAC (topo.sh sets none)
	d0=$(drop_count 1 pod-spoofed-source)
	r0=$(port_counter 1 p1a rx_spoofed)
	: >"$err"
	bg_ns p2a timeout 30 tcpdump -i eth0 -n -U --immediate-mode -w "$pcap" 'icmp[icmptype] = icmp-echo' 2>"$err"
	tp=$!
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$err" && break
		sleep 0.1
	done
	grep -q 'listening on' "$err" || { wait_pid "$tp" 0; cat "$err"; fail "tcpdump did not start"; return 1; }
	in_ns p1a ip addr add 10.244.1.3/32 dev eth0
	in_ns p1a ip neigh replace 10.244.1.1 lladdr "$gw_mac" dev eth0 nud permanent
	in_ns p1a timeout 20 ping -n -c "$SPOOF_N" -i 0.05 -W 1 -I 10.244.1.3 10.244.2.2 >/dev/null 2>&1
	in_ns p1a timeout 20 ping -n -c 5 -i 0.2 -W 2 -I 10.244.1.2 10.244.2.2 >"$T/spoof-legit.log" 2>&1 || rc=1
	in_ns p1a ip addr del 10.244.1.3/32 dev eth0
	in_ns p1a ip neigh del 10.244.1.1 dev eth0
	# The legitimate requests came after the spoofed ones on the same path: once the capture
	# file holds them, anything spoofed that got through is in it too.
	for ((i = 0; i < 50; i++)); do
		legit=$(tcpdump -r "$pcap" -n 'src host 10.244.1.2' 2>/dev/null | wc -l)
		[ "$legit" -ge 5 ] && break
		sleep 0.1
	done
	kill -INT "$tp" 2>/dev/null
	wait "$tp" 2>/dev/null
	spoofed=$(tcpdump -r "$pcap" -n 'src host 10.244.1.3' 2>/dev/null | wc -l)
	legit=$(tcpdump -r "$pcap" -n 'src host 10.244.1.2' 2>/dev/null | wc -l)
	d1=$(drop_count 1 pod-spoofed-source)
	r1=$(port_counter 1 p1a rx_spoofed)
	note "spoofing: $spoofed of $SPOOF_N spoofed echo requests reached p2a, $legit of 5 legitimate;" \
		"node1 pod-spoofed-source $d0 -> $d1, p1a rx_spoofed $r0 -> $r1"
	[ "$rc" = 0 ] || { grep transmitted "$T/spoof-legit.log"; fail "p1a's own pings to p2a were not all answered"; }
	[ "$spoofed" -eq 0 ] || fail "$spoofed of $SPOOF_N spoofed packets (source 10.244.1.3 from p1a) reached p2a"
	[ "$legit" -ge 5 ] || fail "only $legit of 5 legitimate echo requests reached p2a"
	[ "$d1" -ge $((d0 + SPOOF_N)) ] || fail "drops pod-spoofed-source went $d0 -> $d1 (want +$SPOOF_N)"
	[ "$r1" -ge $((r0 + SPOOF_N)) ] || fail "p1a rx_spoofed went $r0 -> $r1 (want +$SPOOF_N)"
}

# ---------------------------------------------------------------------------------------
# 8. Trace, graph, stats

trace_cross_node() {
	bg_ns p1a timeout 20 ping -n -c 40 -i 0.2 -W 1 10.244.2.2 >/dev/null 2>&1
	local pp=$!
	sleep 0.3
	timeout 15 "$SLUICECTL" -s "$SL_RUN/node1.sock" trace 5 >"$T/trace.out" 2>&1
	local rc=$?
	kill -TERM "$pp" 2>/dev/null
	wait "$pp" 2>/dev/null
	[ "$rc" -eq 0 ] || { cat "$T/trace.out"; fail "sluicectl trace 5 exited with $rc"; return 1; }
	python3 - "$T/trace.out" <<'EOF'
import sys
want = ["port-rx", "eth-input", "ip4-input", "ip4-lookup", "vxlan-encap", "port-tx"]
pkts, cur = [], None
for line in open(sys.argv[1]):
    if line.startswith("Packet "):
        cur = []
        pkts.append(cur)
    elif line.startswith("  ") and cur is not None and line.split():
        cur.append(line.split()[0])
def has(path):
    it = iter(path)
    return all(n in it for n in want)
if len(pkts) < 5:
    sys.exit(f"only {len(pkts)} of 5 packets traced")
if not any(has(p) for p in pkts):
    sys.exit("no traced packet went " + " -> ".join(want) + "; paths: " +
             " | ".join(" ".join(p) for p in pkts))
EOF
}

graph_nodes() {
	ctl 1 -o json show graph | python3 -c 'import json, sys
d = json.load(sys.stdin)
tot = {}
for r in d:
    tot[r["node"]] = tot.get(r["node"], 0) + r["packets"]
miss = [n for n in ["port-rx", "eth-input", "ip4-input", "ip4-lookup", "vxlan-encap", "port-tx"]
        if tot.get(n, 0) <= 0]
assert not miss, "graph nodes missing or without packets: %s (have %s)" % (miss, tot)'
}

stats_shape() {
	ctl 1 -o json show stats | python3 -c 'import json, sys
d = json.load(sys.stdin)
ports = {p["name"]: p for p in d["ports"]}
for n in ["uplink", "host", "p1a", "p1b"]:
    assert n in ports, "port %s missing from stats (have %s)" % (n, sorted(ports))
    for k in ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "tx_dropped"]:
        assert isinstance(ports[n].get(k), (int, float)), "port %s has no counter %s" % (n, k)
for n in ["uplink", "p1a"]:
    assert ports[n]["rx_packets"] > 0 and ports[n]["tx_packets"] > 0, "port %s counters zero: %s" % (n, ports[n])
assert isinstance(d["drops"], list), "drops is not an array"
for x in d["drops"]:
    assert isinstance(x.get("reason"), str) and x.get("packets", 0) > 0, "bad drop entry %s" % x
reasons = [x["reason"] for x in d["drops"]]
assert "ttl-exceeded" in reasons, "drops lacks ttl-exceeded: %s" % reasons'
}

# ---------------------------------------------------------------------------------------
# 9. Clean shutdown

stop_clean() { # NODE: SIGTERM, exit 0 within 5 s
	local n=$1 pid=${SL_PID[$1]:-} i rc
	[ -n "$pid" ] || { fail "node$n is not running"; return 1; }
	kill -TERM "$pid"
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		node_stop "$n"
		fail "sluiced node$n still running 5 s after SIGTERM (killed)"
		return 1
	fi
	wait "$pid"
	rc=$?
	unset "SL_PID[$n]"
	[ "$rc" -eq 0 ] || { tail -n 3 "$SL_RUN/node$n.log"; fail "sluiced node$n exited with status $rc after SIGTERM"; }
}

sock_gone() { [ ! -e "$SL_RUN/node$1.sock" ] || fail "$SL_RUN/node$1.sock still exists"; }

# ---------------------------------------------------------------------------------------
# Run

finish() {
	check_summary
	exit $?
}

start_all() {
	mkdir -p "$SL_RUN"
	rm -f "$SL_RUN"/node1.json "$SL_RUN"/node2.json "$SL_RUN"/node1.log "$SL_RUN"/node2.log
	topo_up || { fail "topo_up failed"; return 1; }
	node_start 1 || { fail "sluiced node1 did not start"; return 1; }
	node_start 2 || { fail "sluiced node2 did not start"; return 1; }
	wait_vtep 1 || { fail "node1 did not resolve node2's VTEP"; return 1; }
	wait_vtep 2 || { fail "node2 did not resolve node1's VTEP"; return 1; }
}

head -c "$DATA_BYTES" /dev/urandom >"$DATA"
check "setup: topology up, both daemons running, VTEPs resolved" start_all
[ "$FAIL" -eq 0 ] || finish
check "setup: XDP programs attached to sl-up0 and the pod veths on both nodes" \
	eval 'xdp_attached n1 sl-up0 p1a p1b && xdp_attached n2 sl-up0 p2a p2b'

# 1. Reachability
check "ping p1a -> gateway 10.244.1.1" ping_ok p1a 10.244.1.1
check "ping p2a -> gateway 10.244.2.1" ping_ok p2a 10.244.2.1
check "ping p1a -> p1b (same node)" ping_ok p1a 10.244.1.3
check "ping p2b -> p2a (same node)" ping_ok p2b 10.244.2.2
check "ping p1a -> p2a (across nodes)" ping_ok p1a 10.244.2.2
check "ping p2a -> p1a (across nodes, reverse)" ping_ok p2a 10.244.1.2
check "ping p2b -> p1b (across nodes)" ping_ok p2b 10.244.1.3
check "ping node1 -> p1a (node to local pod)" ping_ok n1 10.244.1.2
check "ping node1 -> p2a (node to remote pod)" ping_ok n1 10.244.2.2
check "ping node2 -> p1b (node to remote pod)" ping_ok n2 10.244.1.3
check "ping p1a -> node1 198.18.0.1 (pod to own node)" ping_ok p1a 198.18.0.1
check "ping p1a -> node2 198.18.0.2 (pod to other node)" ping_ok p1a 198.18.0.2
check "ping p2a -> node1 198.18.0.1 (pod to other node)" ping_ok p2a 198.18.0.1

# 2. TCP, 10 MiB of random data, sha256 compared
check "tcp 10 MiB p1a -> p1b (same node), content intact" xfer p1a p1b 10.244.1.3 5001
check "tcp 10 MiB p1a -> p2a (across nodes), content intact" xfer p1a p2a 10.244.2.2 5002
check "tcp 10 MiB node1 -> p2b (node to remote pod), content intact" xfer n1 p2b 10.244.2.3 5003
check "tcp 10 MiB p2b -> node1 198.18.0.1 (pod to remote node), content intact" xfer p2b n1 198.18.0.1 5004

# 3. The wire
check "underlay: cross-node ping is VXLAN (UDP 4789, VNI ${SL_VNI:-42}, outer DF set)" vxlan_capture

# 5. ICMP errors at the sender (before the detach test, so p1a is the original attachment)
declare -A DROPS0
for r in ttl-exceeded no-route no-such-pod df-too-big; do DROPS0[$r]=$(drop_count 1 "$r"); done
check "icmp: ping -t 1 p1a -> 10.244.2.2 gets Time to live exceeded from 10.244.1.1" \
	ping_expect p1a 10.244.2.2 '^From 10\.244\.1\.1 icmp_seq=1 Time to live exceeded' -t 1
check "icmp: ping p1a -> 10.99.0.1 gets Destination Net Unreachable from 10.244.1.1" \
	ping_expect p1a 10.99.0.1 '^From 10\.244\.1\.1 icmp_seq=1 Destination Net Unreachable'
check "icmp: ping p1a -> 10.244.1.99 (no such pod) gets Destination Host Unreachable" \
	ping_expect p1a 10.244.1.99 '^From 10\.244\.1\.1 icmp_seq=1 Destination Host Unreachable'
check "icmp: 1500-byte DF ping p1b -> p2a gets Frag needed (mtu = 1450)" mtu_frag_needed
check "icmp: drop counters ttl-exceeded, no-route, no-such-pod, df-too-big increased" drops_increased 1
check "icmp: p1b still reaches p2a with MTUs restored" ping_ok p1b 10.244.2.2

# 10. Anti-spoofing
check "spoofing: p1a with p1b's address as a second address: 0 of $SPOOF_N spoofed pings reach p2a, its own do, node1 counts them" \
	spoof_run
check "spoofing: p1a -> p2a still fine afterwards (ARP re-resolved from its own address)" ping_ok p1a 10.244.2.2

# 8. Trace, graph, stats
check "trace: cross-node packet path port-rx > eth-input > ip4-input > ip4-lookup > vxlan-encap > port-tx" \
	trace_cross_node
check "graph: show graph lists port-rx, eth-input, ip4-input, ip4-lookup, vxlan-encap, port-tx with packets" \
	graph_nodes
check "stats: per-port counters for uplink, host, p1a, p1b and a drops array" stats_shape

# 4. Detach mid-run
check "detach: pod del p1a while p2a pings p1a and p1b" detach_run
check "detach: p1a answered before, then Destination Host Unreachable from 10.244.1.1" detach_p1a_log
check "detach: pings to p1b continued without loss" detach_p1b_log
check "detach: no XDP program left on p1a" no_xdp n1 p1a
check "detach: p1b -> p1a gets Destination Host Unreachable from 10.244.1.1" \
	ping_expect p1b 10.244.1.2 '^From 10\.244\.1\.1 icmp_seq=1 Destination Host Unreachable'
check "detach: p1b <-> p2a still fine" ping_ok p2a 10.244.1.3
check "re-attach: pod add p1a attaches an XDP program" reattach
check "re-attach: p2a -> p1a works again" ping_ok p2a 10.244.1.2
check "re-attach: p1b -> p1a works again" ping_ok p1b 10.244.1.2

# 7. Bad API requests
E0=$(api_errors 1)
check "api: invalid JSON rejected" api_rejects '^request: invalid JSON' raw '{"cmd": "show",'
check "api: unknown cmd rejected" api_rejects '^cmd: unknown command' raw '{"cmd":"frobnicate"}'
check "api: request without cmd rejected" api_rejects '^cmd: ' raw '{"what":"pods"}'
check "api: show of an unknown table rejected" api_rejects '^what: unknown table' raw '{"cmd":"show","what":"bogus"}'
check "api: pod.add with a malformed ip rejected" api_rejects '^pod\.ip: ' raw \
	'{"cmd":"pod.add","pod":{"name":"px","ip":"10.244.1.300","mac":"02:00:00:00:00:09","ifname":"px"}}'
check "api: pod.add with an ip of another node rejected" api_rejects '^pod\.ip: ' raw \
	'{"cmd":"pod.add","pod":{"name":"px","ip":"10.244.2.9","mac":"02:00:00:00:00:09","ifname":"px"}}'
check "api: pod.add of an existing pod rejected" api_rejects 'p1b already exists' raw \
	"{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"p1b\",\"ip\":\"10.244.1.3\",\"mac\":\"$(pod_mac p1b)\",\"ifname\":\"p1b\"}}"
check "api: oversize request (> 4 MiB) rejected" api_rejects '^request: larger than' oversize
check "api: node.add overlapping this node's pod CIDR rejected" api_rejects '^node\.pod_cidr: overlaps' raw \
	'{"cmd":"node.add","node":{"name":"node9","ip":"198.18.0.9","pod_cidr":"10.244.1.128/25"}}'
check "api: node.add overlapping node2's pod CIDR rejected" api_rejects '(?i)pod[_ ]cidr' raw \
	'{"cmd":"node.add","node":{"name":"node9","ip":"198.18.0.9","pod_cidr":"10.244.2.0/23"}}'
check "api: silent client dropped after ~1 s, others served meanwhile" api_stall silent
check "api: slow client (1 byte / 0.4 s) does not hold others up > 1.6 s" api_stall slow
check "api: rejected requests left the state alone (1 node, 2 pods)" api_state_unchanged
check "api: still forwarding after bad requests (p1a -> p2a)" ping_ok p1a 10.244.2.2
check "api: show stats counts the rejected requests (api.errors)" api_errors_counted 12

# 6. Bad config files
check "config: generate test files" make_configs
check "config: the generated good file passes --check" config_good "$T/cfg/good.json"
check "config: --print-default passes --check" config_default_good
check "config: invalid JSON" config_bad invalid-json 'config: invalid JSON'
check "config: missing node.ip" config_bad missing-node-ip 'node\.ip: missing'
check "config: node.ip 300.1.1.1" config_bad node-ip-300 "node\.ip: '300\.1\.1\.1'"
check "config: node.pod_cidr with host bits" config_bad pod-cidr-host-bits 'node\.pod_cidr: .*10\.244\.1\.1/24'
check "config: unknown top-level field" config_bad unknown-top-field "config: unknown field 'frobnicate'"
check "config: unknown uplink field" config_bad unknown-uplink-field "uplink: unknown field 'speed'"
check "config: pods[0].mac invalid" config_bad pod-mac 'pods\[0\]\.mac: '
check "config: pods[1].mac multicast" config_bad pod-mac-multicast 'pods\[1\]\.mac: '
check "config: uplink.mtu out of range" config_bad uplink-mtu 'uplink\.mtu: '
check "config: vxlan.vni 2^24" config_bad vni-2-24 'vxlan\.vni: '
check "config: pods[1].ip outside node.pod_cidr" config_bad pod-ip-outside 'pods\[1\]\.ip: '
check "config: pods not an array" config_bad pods-not-array 'pods: must be an array'
check "config: duplicate pod ip (daemon refuses it at start-up)" config_bad dup-pod-ip 'pods\[1\]\.ip: '
check "config: nodes[0].pod_cidr overlaps node.pod_cidr (daemon refuses it at start-up)" \
	config_bad node-overlaps-own 'nodes\[0\]\.pod_cidr: '
check "config: trailing garbage after the JSON object" config_bad trailing-garbage 'config: .*(JSON|garbage|trailing)'

# 9. Clean shutdown
for n in 1 2; do
	check "shutdown: node$n exits 0 within 5 s of SIGTERM" stop_clean $n
	check "shutdown: node$n API socket removed" sock_gone $n
	check "shutdown: node$n has no XDP program on sl-up0 or the pods' veths" no_xdp n$n sl-up0 p${n}a p${n}b
done

finish
