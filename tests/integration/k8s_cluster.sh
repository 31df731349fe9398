#!/bin/bash
# A three-node cluster configured only from the stand-in API server (issue 11, end to end and
# interop):
#
#   pods     c1a c1b (sluice-cni)     c2a c2b (sluice-cni)      p3a p3b (cni0 bridge)
#   node     n1: sluiced node1        n2: sluiced node2         n3: flannel-style kernel VXLAN
#            sl-up0 198.18.0.1        sl-up0 198.18.0.2         sl-up0 198.18.0.3 (flannel.1)
#            k8s0 198.18.0.241        k8s0 198.18.0.242
#   underlay ul: br0 (n1, n2, n3)     API: k8s namespace, kbr0 198.18.0.250 (stand-in, HTTPS)
#
# node1 and node2 run sluiced with --kubeconfig --node-name --pod-cidr-from-node and a static
# config without pods, remote nodes or Services (and a wrong pod_cidr): each learns its pod
# CIDR from its Node, the other nodes from their Nodes. node3 is what flanneld's vxlan backend
# programs (as flannel_interop.sh), VNI and port the cluster's (42, 4789); its Node carries
# flannel's annotations, and its kernel is programmed from the annotations sluiced PATCHes onto
# node1/node2 (as flanneld would read them).
# Checks: pod CIDR from the Node; remote nodes from Nodes; sluice-cni ADD gets an address in
# the node's podCIDR; ping and TCP both ways between every pair of nodes' pods; a Service +
# EndpointSlice created in the stand-in answers from a pod in < 1 s (measured); an endpoint
# removed leaves rotation; bad objects refused per object and counted while a good object after
# them is applied; API server stopped: traffic flows; changes made meanwhile converge after
# it is back.
# Usage (root, repo root): SL_BUILD=build bash tests/integration/k8s_cluster.sh
set -u
cd "$(dirname "$0")/../.." || exit 2
export SL_PREFIX=${SL_PREFIX:-slkc-} SL_RUN=${SL_RUN:-/tmp/slkc-run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
SL_BUILD=$(realpath "${SL_BUILD:-build}")
export SL_BUILD
source scripts/lib/topo.sh
source scripts/lib/check.sh
source scripts/lib/kube.sh
PY=/usr/bin/python3 # Debian's
K=$SL_RUN/k8s
API_IP=198.18.0.250 API_PORT=6443 ADMIN_PORT=6444
FL_MAC=02:f1:00:00:00:03 # node3's flannel.1
VNI=42 VXPORT=4789       # the cluster's (node_config)
CNI=$SL_BUILD/cni/sluice-cni CNI_BIN=/usr/lib/cni
PODS="c1a c1b c2a c2b"
PIDS=()
cleanup() {
	local p n
	node_stop 1 >/dev/null 2>&1
	node_stop 2 >/dev/null 2>&1
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	topo_down
	for n in $PODS p3a p3b n3 k8s; do ip netns del "$(ns $n)" 2>/dev/null; done
	rm -rf "$SL_RUN"
}
trap cleanup EXIT
for b in "$CNI" "$CNI_BIN/host-local" "$SL_BUILD/control/sluiced" "$SL_BUILD/control/cli/sluicectl"; do
	[ -x "$b" ] || { echo "k8s_cluster.sh: $b missing" >&2; exit 2; }
done
topo_up
mkdir -p "$K"

# node3: a third node on the underlay bridge, with two pods.
ip netns add "$(ns n3)"
ip link add sl-up0 netns "$(ns n3)" type veth peer name n3 netns "$(ns ul)"
in_ns ul ip link set n3 master br0 up
in_ns n3 ip link set lo up
in_ns n3 ip link set sl-up0 up
topo_pod n3 p3a 10.244.3.2 10.244.3.1
topo_pod n3 p3b 10.244.3.3 10.244.3.1

# The API's network: namespace k8s, bridge kbr0 with the stand-in's address; each sluice node
# has k8s0 (its own address, a /32 route to the API).
ip netns add "$(ns k8s)"
in_ns k8s ip link set lo up
in_ns k8s ip link add kbr0 type bridge
in_ns k8s ip addr add $API_IP/24 dev kbr0
in_ns k8s ip link set kbr0 up
for i in 1 2; do
	ip link add k8s0 netns "$(ns n$i)" type veth peer name n$i netns "$(ns k8s)"
	in_ns k8s ip link set n$i master kbr0 up
	in_ns n$i ip addr add 198.18.0.24$i/32 dev k8s0
	in_ns n$i ip link set k8s0 up
	in_ns n$i ip route add $API_IP/32 dev k8s0
done

kube_certs "$K" "IP:$API_IP" || { echo "openssl failed"; exit 1; }
echo -n tok-sluice >"$K/token"
cat >"$K/sluiced.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://$API_IP:$API_PORT
    certificate-authority: $K/ca.crt
users:
- name: u
  user:
    tokenFile: $K/token
contexts:
- name: test
  context: {cluster: test, user: u}
current-context: test
EOF

ip netns exec "$(ns k8s)" $PY tests/integration/kube_apiserver.py --address $API_IP \
	--port $API_PORT --admin-port $ADMIN_PORT --cert "$K/server.crt" --key "$K/server.key" \
	--ca "$K/ca.crt" --tokens tok-sluice >"$K/apiserver.log" 2>&1 &
PIDS+=($!)
adm() { printf '%s' "$1" | in_ns k8s curl -sf --max-time 5 -X POST --data-binary @- "http://127.0.0.1:$ADMIN_PORT/"; }
for _ in $(seq 50); do adm '{"op":"state"}' >/dev/null && break; sleep 0.1; done

put() { adm "{\"op\":\"put\",\"object\":$1}" >/dev/null; }
svc() { # svc NAME IP PORT TARGET
	put "{\"kind\":\"Service\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"default\"},\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"$2\",\"clusterIPs\":[\"$2\"],\"ports\":[{\"port\":$3,\"protocol\":\"TCP\",\"targetPort\":$4}]}}"
}
eslice() { # eslice NAME SERVICE PORT IP:NODE...
	local name=$1 svc=$2 port=$3 eps="" e
	shift 3
	for e in "$@"; do
		eps+="${eps:+,}{\"addresses\":[\"${e%%:*}\"],\"conditions\":{\"ready\":true},\"nodeName\":\"${e#*:}\"}"
	done
	put "{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"$name\",\"namespace\":\"default\",\"labels\":{\"kubernetes.io/service-name\":\"$svc\"}},\"addressType\":\"IPv4\",\"endpoints\":[$eps],\"ports\":[{\"port\":$port,\"protocol\":\"TCP\"}]}"
}
knode() { # knode NAME IP PODCIDR [ANNOTATIONS-JSON]
	put "{\"kind\":\"Node\",\"metadata\":{\"name\":\"$1\",\"annotations\":${4:-{\}}},\"spec\":{\"podCIDR\":\"$3\",\"podCIDRs\":[\"$3\"]},\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$2\"},{\"type\":\"Hostname\",\"address\":\"$1\"}]}}"
}
del() { adm "{\"op\":\"delete\",\"kind\":\"$1\",\"namespace\":\"default\",\"name\":\"$2\"}" >/dev/null; }

knode node1 198.18.0.1 10.244.1.0/24
knode node2 198.18.0.2 10.244.2.0/24
# K8SE2E_NO_FLANNEL_ANNOTATIONS=1: node3 without flannel's annotations (interop must fail).
if [ -z "${K8SE2E_NO_FLANNEL_ANNOTATIONS:-}" ]; then
	knode node3 198.18.0.3 10.244.3.0/24 "{\"flannel.alpha.coreos.com/backend-type\":\"vxlan\",\"flannel.alpha.coreos.com/backend-data\":\"{\\\"VNI\\\":$VNI,\\\"VtepMAC\\\":\\\"$FL_MAC\\\"}\",\"flannel.alpha.coreos.com/public-ip\":\"198.18.0.3\"}"
else
	knode node3 198.18.0.3 10.244.3.0/24
fi

# sluiced: --kubeconfig, --node-name from SL_K8S_NODE, --pod-cidr-from-node (a wrapper: node_start
# passes config and socket only).
cat >"$K/sluiced" <<EOF
#!/bin/sh
exec $SL_BUILD/control/sluiced --kubeconfig $K/sluiced.kubeconfig --node-name "\$SL_K8S_NODE" \\
	--pod-cidr-from-node "\$@"
EOF
chmod +x "$K/sluiced"
mkdir -p "$K/bin/control/cli"
ln -sf "$K/sluiced" "$K/bin/control/sluiced"
ln -sf "$SL_BUILD/control/cli/sluicectl" "$K/bin/control/cli/sluicectl"
ctl() { local n=$1; shift; "$SL_BUILD/control/cli/sluicectl" -s "$SL_RUN/node$n.sock" "$@"; }
for i in 1 2; do
	# Static config: no pods, no nodes, no Services; a pod CIDR the Node replaces.
	node_config $i | $PY -c '
import json, sys
c = json.load(sys.stdin)
c.pop("nodes", None)
c["pods"] = []
c["node"]["pod_cidr"] = "10.244.25%s.0/24" % sys.argv[1]
print(json.dumps(c))' $i >"$SL_RUN/n$i.json"
	SL_K8S_NODE=node$i SL_BUILD=$K/bin node_start $i "$SL_RUN/n$i.json" || exit 1
done
# topo.sh's pods are not used (node_config read their MACs): pods come from sluice-cni.
for n in p1a p1b p2a p2b; do ip netns del "$(ns $n)"; done

until_ok() { # until_ok SECONDS CMD...: poll every 0.1 s
	local t=$(( $1 * 10 )) i
	shift
	for ((i = 0; i < t; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	"$@"
	return 1
}
sync() { # sync NODE EXPR: `show sync` (as s, rows by resource) satisfies EXPR
	ctl "$1" -o json show sync | $PY -c 'import json, sys
d = json.load(sys.stdin)
s = {r["resource"]: r for r in d["resources"]}
s["node/self"] = d["node"]
ok = eval(sys.argv[1])
if not ok: print(json.dumps(s, indent=1))
sys.exit(0 if ok else 1)' "$2"
}
both_sync() { sync 1 "$1" && sync 2 "$1"; }
counter() { # counter NODE RESOURCE FIELD
	ctl "$1" -o json show sync | $PY -c 'import json,sys; print({r["resource"]: r for r in json.load(sys.stdin)["resources"]}[sys.argv[1]][sys.argv[2]])' "$2" "$3"
}

pod_cidr_from_node() {
	local i
	for i in 1 2; do
		ctl $i -o json version | $PY -c 'import json,sys; v=json.load(sys.stdin); n=sys.argv[1]; print(v); sys.exit(0 if v["pod_cidr"] == "10.244.%s.0/24" % n and v["gateway"] == "10.244.%s.1" % n else 1)' $i || return 1
	done
}
check "pod CIDRs 10.244.1.0/24, 10.244.2.0/24 from the Nodes (static config said 10.244.25N.0/24)" \
	pod_cidr_from_node
check "both nodes: nodes, services, endpointslices listed and watching" \
	until_ok 10 both_sync 'all(s[r]["state"] == "watching" and s[r]["listed"] for r in ("nodes", "services", "endpointslices"))'
remote_nodes() { # remote_nodes NODE WANT-PYTHON-LIST: show nodes (name, pod_cidr, vtep_mac)
	ctl "$1" -o json show nodes | $PY -c 'import json,sys
n = sorted((x["name"], x["pod_cidr"], x.get("vtep_mac")) for x in json.load(sys.stdin))
w = eval(sys.argv[1]); print(n)
sys.exit(0 if [x[:2] for x in n] == [x[:2] for x in w] and all(b is None or a[2] and a[2].lower() == b for a, (_, _, b) in zip(n, w)) else 1)' "$2"
}
check "node1 learns node2 and node3 (VtepMAC $FL_MAC from flannel's annotations) from their Nodes" \
	until_ok 10 remote_nodes 1 "[('node2', '10.244.2.0/24', None), ('node3', '10.244.3.0/24', '$FL_MAC')]"
check "node2 learns node1 and node3 from their Nodes" \
	until_ok 10 remote_nodes 2 "[('node1', '10.244.1.0/24', None), ('node3', '10.244.3.0/24', '$FL_MAC')]"
check "both nodes publish their Node's annotations" until_ok 10 both_sync 's["node/self"]["state"] == "published"'
sluice_peers() { # each sluice node knows the other's VtepMAC as that node published it
	local m1 m2
	m1=$(vtep_of node1 | cut -d' ' -f2) && m2=$(vtep_of node2 | cut -d' ' -f2) || return 1
	remote_nodes 1 "[('node2', '10.244.2.0/24', '${m2,,}'), ('node3', '10.244.3.0/24', '$FL_MAC')]" &&
		remote_nodes 2 "[('node1', '10.244.1.0/24', '${m1,,}'), ('node3', '10.244.3.0/24', '$FL_MAC')]"
}

# The flannel node, programmed as flanneld would from the sluice Nodes' annotations.
vtep_of() { # vtep_of NODE -> "PUBLIC-IP VTEPMAC" from the stand-in's Node
	adm "{\"op\":\"get\",\"kind\":\"Node\",\"name\":\"$1\"}" | $PY -c 'import json,sys
a = json.load(sys.stdin)["metadata"]["annotations"]
d = json.loads(a["flannel.alpha.coreos.com/backend-data"])
assert a["flannel.alpha.coreos.com/backend-type"] == "vxlan" and d["VNI"] == int(sys.argv[1]), a
print(a["flannel.alpha.coreos.com/public-ip"], d["VtepMAC"])' $VNI
}
flannel_node_up() {
	in_ns n3 ip addr add 198.18.0.3/24 dev sl-up0 &&
	in_ns n3 sysctl -qw net.ipv4.ip_forward=1 &&
	in_ns n3 ip link add flannel.1 type vxlan id $VNI local 198.18.0.3 dev sl-up0 \
		dstport $VXPORT nolearning &&
	in_ns n3 ip link set flannel.1 address $FL_MAC mtu 1450 &&
	in_ns n3 ip link set flannel.1 up &&
	in_ns n3 ip addr add 10.244.3.0/32 dev flannel.1 &&
	in_ns n3 ip link add cni0 type bridge &&
	in_ns n3 ip addr add 10.244.3.1/24 dev cni0 &&
	in_ns n3 ip link set p3a master cni0 &&
	in_ns n3 ip link set p3b master cni0 &&
	in_ns n3 ip link set cni0 up || return 1
	local i v
	for i in 1 2; do
		read -r -a v <<<"$(vtep_of node$i)" && [ ${#v[@]} = 2 ] || { echo "node$i: no flannel annotations"; return 1; }
		in_ns n3 ip route add 10.244.$i.0/24 via 10.244.$i.0 dev flannel.1 onlink &&
		in_ns n3 ip neigh replace 10.244.$i.0 lladdr "${v[1]}" dev flannel.1 nud permanent &&
		in_ns n3 bridge fdb append "${v[1]}" dev flannel.1 dst "${v[0]}" || return 1
		echo "node$i: ${v[*]}"
	done
	for v in sl-up0 flannel.1 cni0 p3a p3b; do in_ns n3 ethtool -K "$v" tx off >/dev/null 2>&1; done
	return 0
}
check "node1/node2 know each other's VtepMAC as published in their Nodes" until_ok 5 sluice_peers
check "flannel-style node3 up (VNI $VNI, port $VXPORT), its kernel programmed from node1/node2's Node annotations" \
	flannel_node_up

# Pods through sluice-cni (host-local without a range: the subnet comes from sluiced).
declare -A IP
cni_add() { # cni_add NODE POD
	local out=$K/$2.json
	ip netns add "$(ns $2)" || return 1
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"sluice\",\"type\":\"sluice-cni\",\"socket\":\"$SL_RUN/node$1.sock\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$SL_RUN/ipam-n$1\"}}" |
		ip netns exec "$(ns n$1)" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CNI_COMMAND=ADD \
			CNI_CONTAINERID="$2" CNI_IFNAME=eth0 CNI_NETNS="/var/run/netns/$(ns $2)" \
			CNI_PATH="$CNI_BIN" CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$2" \
			"$CNI" >"$out" || { cat "$out"; return 1; }
	IP[$2]=$($PY -c 'import json,sys,ipaddress
a = json.load(open(sys.argv[1]))["ips"][0]["address"].split("/")[0]
assert ipaddress.ip_address(a) in ipaddress.ip_network(sys.argv[2]), a + " not in " + sys.argv[2]
print(a)' "$out" "10.244.$1.0/24") || return 1
	echo "${IP[$2]}"
}
for p in $PODS; do
	n=${p:1:1}
	check "sluice-cni ADD $p on node$n: address in node$n's podCIDR 10.244.$n.0/24" cni_add $n $p
done
IP[p3a]=10.244.3.2 IP[p3b]=10.244.3.3

ping_ok() { # SRC DST-POD
	in_ns "$1" timeout 10 ping -n -c 2 -i 0.2 -W 2 "${IP[$2]}" | grep -q '^2 packets transmitted, 2 received'
}
pings() {
	local pairs="c1a:c2a c2a:c1a c1a:p3a p3a:c1a c2b:p3b p3b:c2b c1b:c1a" pr bad=""
	for pr in $pairs; do ping_ok ${pr%%:*} ${pr#*:} || bad+=" ${pr/:/->}"; done
	[ -z "$bad" ] || { echo "no replies:$bad"; return 1; }
}
check "ping: node1 <-> node2 pods, node1 <-> flannel pods, node2 <-> flannel pods" until_ok 5 pings
DATA=$K/data.bin
head -c $((512 * 1024)) /dev/urandom >"$DATA"
SUM=$(sha256sum <"$DATA" | cut -d' ' -f1)
xfer() { # xfer SRC DST PORT: 512 KiB over TCP, same sha256 received
	local recv=$K/recv.$3 lpid rc
	ip netns exec "$(ns $2)" timeout 20 nc -l "${IP[$2]}" "$3" >"$recv" </dev/null &
	lpid=$!
	wait_listen "$2" "$3" || { kill $lpid; return 1; }
	in_ns "$1" timeout 15 nc -N -w 5 "${IP[$2]}" "$3" <"$DATA"
	rc=$?
	wait $lpid
	[ $rc = 0 ] && [ "$(sha256sum <"$recv" | cut -d' ' -f1)" = "$SUM" ] ||
		{ echo "nc $rc, $(stat -c %s "$recv") bytes"; return 1; }
}
tcp_all() {
	local pairs="c1a:c2b c2b:c1a c1b:p3a p3a:c1b c2a:p3b p3b:c2a" pr port=5100 bad=""
	for pr in $pairs; do
		port=$((port + 1))
		xfer ${pr%%:*} ${pr#*:} $port || bad+=" ${pr/:/->}"
	done
	[ -z "$bad" ] || { echo "failed:$bad"; return 1; }
}
check "TCP both ways (512 KiB, sha256): node1 <-> node2, node1 <-> flannel, node2 <-> flannel pods" tcp_all

# Services.
for p in c1b c2a c2b; do
	ip netns exec "$(ns $p)" $PY tests/integration/svc_backend.py $p 8080 &
	PIDS+=($!)
done
for p in c1b c2a c2b; do wait_listen $p 8080 || exit 1; done
client() { in_ns c1a $PY tests/integration/svc_client.py "$@"; }
answers() { # answers VIP PORT N PYTHON-EXPR-over-a (the answers dict)
	local out
	out=$(client tcp "$1" "$2" "$3")
	echo "$out"
	$PY -c 'import json,sys; a=json.loads(sys.argv[1])["answers"]; sys.exit(0 if eval(sys.argv[2]) else 1)' "$out" "$4"
}
PROBE='import socket, sys, time
t0, dst = float(sys.argv[1]), (sys.argv[2], int(sys.argv[3]))
while time.time() - t0 < 5:
    try:
        s = socket.create_connection(dst, timeout=0.05)
        line = s.makefile().readline()
        s.close()
        if line:
            print("%.3f %s" % (time.time() - t0, line.split()[0]))
            sys.exit(0)
    except OSError:
        time.sleep(0.01)
sys.exit("no answer in 5 s")'
service_within_1s() {
	local t0 out
	t0=$EPOCHREALTIME
	svc web 10.96.0.10 80 8080
	eslice web-1 web 8080 "${IP[c1b]}:node1" "${IP[c2a]}:node2"
	out=$(in_ns c1a $PY -c "$PROBE" "$t0" 10.96.0.10 80) || { echo "$out"; return 1; }
	note "Service + EndpointSlice created -> ClusterIP answered after ${out%% *} s (${out#* })"
	$PY -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 1.0 else 1)' "${out%% *}"
}
check "Service + EndpointSlice created in the stand-in: ClusterIP 10.96.0.10:80 answers from c1a in < 1 s" \
	service_within_1s
check "... both endpoints (c1b node1, c2a node2) in rotation" \
	until_ok 3 answers 10.96.0.10 80 20 'set(a) == {"c1b", "c2a"} and sum(a.values()) == 20'
removed() {
	local t0=$EPOCHREALTIME
	eslice web-1 web 8080 "${IP[c1b]}:node1"
	until_ok 1 answers 10.96.0.10 80 5 'a == {"c1b": 5}' >/dev/null || return 1
	note "endpoint c2a removed -> out of rotation after $($PY -c "import time; print('%.2f' % (time.time() - $t0))") s"
	answers 10.96.0.10 80 40 'a == {"c1b": 40}'
}
check "endpoint c2a removed in the stand-in: leaves rotation within 1 s, then 40 connections all to c1b" removed

# Bad objects: refused per object, counted; a good object after them applied.
bad_objects() {
	local r0s r0e r0n
	r0s=$(counter 1 services refused) r0e=$(counter 1 endpointslices refused) r0n=$(counter 1 nodes refused)
	# Services: a missing field (a port without its port number), a wrong type (port a string), a huge string
	# (clusterIP of 256 KiB), an unknown type.
	put '{"kind":"Service","metadata":{"name":"bad-missing","namespace":"default"},"spec":{"type":"ClusterIP","clusterIP":"10.96.0.91","clusterIPs":["10.96.0.91"],"ports":[{"protocol":"TCP","targetPort":8080}]}}'
	put '{"kind":"Service","metadata":{"name":"bad-type","namespace":"default"},"spec":{"type":"ClusterIP","clusterIP":"10.96.0.92","clusterIPs":["10.96.0.92"],"ports":[{"port":"eighty","protocol":"TCP","targetPort":8080}]}}'
	put "{\"kind\":\"Service\",\"metadata\":{\"name\":\"bad-huge\",\"namespace\":\"default\"},\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"$(head -c 262144 /dev/zero | tr '\0' 1)\",\"ports\":[{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}]}}"
	put '{"kind":"Service","metadata":{"name":"bad-kind","namespace":"default"},"spec":{"type":"Bogus","clusterIP":"10.96.0.94","clusterIPs":["10.96.0.94"],"ports":[{"port":80,"protocol":"TCP","targetPort":8080}]}}'
	# EndpointSlices: endpoints of the wrong type, an invalid address.
	put '{"kind":"EndpointSlice","metadata":{"name":"bad-eps","namespace":"default","labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4","endpoints":"everywhere","ports":[{"port":8080,"protocol":"TCP"}]}'
	put '{"kind":"EndpointSlice","metadata":{"name":"bad-addr","namespace":"default","labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4","endpoints":[{"addresses":["10.244.2.999"],"conditions":{"ready":true}}],"ports":[{"port":8080,"protocol":"TCP"}]}'
	# Nodes: an invalid pod CIDR, a missing podCIDR with a wrong-typed addresses.
	knode bad-cidr 198.18.0.9 10.244.300.0/24
	put '{"kind":"Node","metadata":{"name":"bad-node"},"spec":{"podCIDR":42},"status":{"addresses":"198.18.0.8"}}'
	# ... then good objects.
	svc good-after 10.96.0.12 80 8080
	eslice good-after-1 good-after 8080 "${IP[c2b]}:node2"
	knode node4 198.18.0.4 10.244.4.0/24
	until_ok 3 answers 10.96.0.12 80 3 'a == {"c2b": 3}' || { echo "good-after not applied"; return 1; }
	note "node1 show sync after: $(ctl 1 -o json show sync | $PY -c 'import json,sys; print("; ".join("%s refused %d errors %d" % (r["resource"], r["refused"], r["errors"]) for r in json.load(sys.stdin)["resources"]))')"
	until_ok 3 sync 1 "s['services']['refused'] >= $r0s + 4 and s['endpointslices']['refused'] >= $r0e + 2 and s['nodes']['refused'] >= $r0n + 2" || return 1
	sync 1 "s['services']['refused'] == $r0s + 4 and s['endpointslices']['refused'] == $r0e + 2 and s['nodes']['refused'] == $r0n + 2 and all(s[r]['state'] == 'watching' for r in ('nodes', 'services', 'endpointslices'))" || return 1
	until_ok 3 remote_nodes 1 "[('node2', '10.244.2.0/24', None), ('node3', '10.244.3.0/24', None), ('node4', '10.244.4.0/24', None)]" || return 1
	# Each refusal logged with the object and the field.
	local want bad=""
	for want in "services default/bad-missing refused: spec.ports\\[0\\].port" \
		"services default/bad-type refused: spec.ports\\[0\\].port" \
		"services default/bad-huge refused: spec.clusterIP" \
		"services default/bad-kind refused: spec.type" \
		"endpointslices default/bad-eps refused: endpoints" \
		"endpointslices default/bad-addr refused: endpoints\\[0\\].addresses\\[0\\]" \
		"nodes bad-cidr refused: spec.podCIDR" "nodes bad-node refused: spec.podCIDR"; do
		grep -q "sluiced: k8s: $want" "$SL_RUN/node1.log" || bad+=" [$want]"
	done
	[ -z "$bad" ] || { grep refused "$SL_RUN/node1.log" | cut -c1-160; echo "not logged:$bad"; return 1; }
}
check "bad objects (missing field, wrong types, 256 KiB string, unknown type, invalid CIDR/address) refused one by one and counted; the good ones after them applied (good-after answers, node4 known)" bad_objects
check "... web unaffected by the bad slices (still only c1b)" answers 10.96.0.10 80 10 'a == {"c1b": 10}'

# API server stopped: traffic flows on the last state; changes made meanwhile converge.
adm '{"op":"stop"}' >/dev/null
check "API server stopped: both nodes retrying" \
	until_ok 10 both_sync 's["services"]["state"] == "retrying" and s["services"]["errors"] > 0'
check "... pods still ping across nodes and to the flannel node" pings
check "... ClusterIP 10.96.0.10 still answers (c1b)" answers 10.96.0.10 80 5 'a == {"c1b": 5}'
eslice web-1 web 8080 "${IP[c1b]}:node1" "${IP[c2a]}:node2" # c2a back
svc web2 10.96.0.11 80 8080
eslice web2-1 web2 8080 "${IP[c2a]}:node2"
del Service good-after
del EndpointSlice good-after-1
del Node node4
adm '{"op":"start"}' >/dev/null
converged() {
	answers 10.96.0.11 80 3 'a == {"c2a": 3}' &&
		answers 10.96.0.10 80 20 'set(a) == {"c1b", "c2a"}' &&
		answers 10.96.0.12 80 2 'not a' &&
		remote_nodes 1 "[('node2', '10.244.2.0/24', None), ('node3', '10.244.3.0/24', '$FL_MAC')]" &&
		remote_nodes 2 "[('node1', '10.244.1.0/24', None), ('node3', '10.244.3.0/24', '$FL_MAC')]"
}
check "API server back: web2 created meanwhile answers, c2a back in web's rotation, good-after and node4 gone" \
	until_ok 40 converged
check "... both nodes watching again" until_ok 5 both_sync 'all(s[r]["state"] == "watching" for r in ("nodes", "services", "endpointslices"))'
check "... pods still ping" pings
check "sluiced node1 stops cleanly" node_stop 1
check "sluiced node2 stops cleanly" node_stop 2
check_summary
