#!/bin/bash
# hostPort natively: a pod made by sluice-cni with the portMappings capability and
# runtimeConfig.portMappings (hostPort 18080 -> containerPort 8080, TCP and UDP) is reached
# at node1's address 198.18.0.1:18080 from a pod on node 2 and from a client outside the
# cluster behind a router (as in services_ingress.sh), with no iptables/nftables rule and
# IP forwarding off in node1's kernel; the pod sees the client's own address (no SNAT); a
# second pod asking for the same host port is refused, naming the field; CNI DEL removes
# the host port (connections then go to node1's kernel and fail).
#
#   client ns "cl" 198.18.1.2 -- 198.18.1.1 router "rt" 198.18.0.254 -- underlay br0
#   pod ns "hp": made by sluice-cni on node1 (host-local 10.244.1.100-110)
# Usage (root, repo root): SL_BUILD=build bash tests/integration/hostport.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-slhp-} SL_RUN=${SL_RUN:-/tmp/slhp-run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
source scripts/lib/topo.sh
source scripts/lib/check.sh
source scripts/lib/svc.sh
CNI=$SL_BUILD/cni/sluice-cni
CNI_BIN=${CNI_BIN:-/usr/lib/cni}
trap svc_cleanup EXIT
[ -x "$CNI_BIN/host-local" ] || { echo "hostport.sh: $CNI_BIN/host-local missing"; exit 2; }
SVC_NS+=(hp hq)
for n in hp hq; do ip netns del "$(ns $n)" 2>/dev/null; done
topo_up
mkdir -p "$SL_RUN"
svc_router
svc_nodes_up 'c["routes"] = [{"prefix": "198.18.1.0/24", "via": "198.18.0.254"}]' || exit 1

# The network config a runtime gets (deploy/ shows the same), with the runtimeConfig a
# runtime adds for a pod with hostPort 18080 -> 8080 (TCP and UDP).
conf() { # HOSTPORT
	cat <<JSON
{"cniVersion":"1.0.0","name":"sluice","type":"sluice-cni","socket":"$SL_RUN/node1.sock",
 "capabilities":{"portMappings":true},
 "ipam":{"type":"host-local","rangeStart":"10.244.1.100","rangeEnd":"10.244.1.110",
         "dataDir":"$SL_RUN/ipam"},
 "runtimeConfig":{"portMappings":[
   {"hostPort":$1,"containerPort":8080,"protocol":"tcp","hostIP":""},
   {"hostPort":$1,"containerPort":8080,"protocol":"udp"}]}}
JSON
}
cni() { # VERB ID NETNS HOSTPORT: sluice-cni exec'd in node1's namespace as a runtime does
	conf "$4" | ip netns exec "$(ns n1)" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_IFNAME=eth0 \
		CNI_NETNS="/var/run/netns/$(ns "$3")" CNI_PATH="$CNI_BIN" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=hp;K8S_POD_NAME=$2" "$CNI"
}
ip netns add "$(ns hp)"
ip netns add "$(ns hq)"
add_ok() { cni ADD hpod hp 18080 >"$SL_RUN/add.json" || { cat "$SL_RUN/add.json"; return 1; }; }
check "sluice-cni ADD with runtimeConfig.portMappings 18080 -> 8080 (tcp, udp)" add_ok
in_ns hp ethtool -K eth0 tx off >/dev/null 2>&1
svc_serve hp 8080
wait_listen hp 8080 || exit 1


no_rules() {
	local r
	r=$(in_ns n1 iptables-save 2>/dev/null | grep -c '^-A')
	echo "iptables rules: ${r:-0}"
	[ "${r:-0}" = 0 ] || return 1
	r=$(in_ns n1 nft list ruleset 2>/dev/null | grep -cv '^[[:space:]]*$')
	echo "nft lines: ${r:-0}"
	[ "${r:-0}" = 0 ] && [ "$(in_ns n1 sysctl -n net.ipv4.ip_forward)" = 0 ]
}
check "node1's kernel has no iptables/nftables rule and IP forwarding off" no_rules
out=$(client p2a tcp 198.18.0.1 18080 10)
check "pod p2a (node2) -> 198.18.0.1:18080 (TCP) reaches the pod, which sees p2a" \
	expect "$out" 'r["seen"] == {"hp": ["10.244.2.2"]} and r["answers"]["hp"] == 10 and not r["errors"]'
out=$(client cl tcp 198.18.0.1 18080 10)
check "client outside the cluster -> 198.18.0.1:18080 (TCP): the pod sees the client" \
	expect "$out" 'r["seen"] == {"hp": ["198.18.1.2"]} and r["answers"]["hp"] == 10 and not r["errors"]'
out=$(client cl udp 198.18.0.1 18080 5)
check "client outside the cluster -> 198.18.0.1:18080 (UDP)" \
	expect "$out" 'r["seen"] == {"hp": ["198.18.1.2"]} and not r["errors"]'
out=$(client n1 tcp 198.18.0.1 18080 5)
check "node1's own kernel -> 198.18.0.1:18080 (TCP) reaches the pod (socket hooks)" \
	expect "$out" 'r["answers"]["hp"] == 5 and not r["errors"]'
out=$(client n1 udp 127.0.0.1 18080 5)
check "node1's own kernel -> 127.0.0.1:18080 (UDP) reaches the pod" \
	expect "$out" 'r["answers"]["hp"] == 5 and not r["errors"]'
out=$(client p1a tcp 198.18.0.1 18080 5)
check "pod p1a (node1) -> 198.18.0.1:18080 (TCP)" \
	expect "$out" 'r["seen"] == {"hp": ["10.244.1.2"]} and not r["errors"]'
refused() {
	cni ADD hqpod hq 18080 >"$SL_RUN/add2.json" && { cat "$SL_RUN/add2.json"; return 1; }
	cat "$SL_RUN/add2.json"
	grep -q 'host_ports\[0\].host_port: 18080/tcp is already used by pod hp/' "$SL_RUN/add2.json"
}
check "a second pod asking for host port 18080/tcp is refused, the field named" refused
out=$(client p2a tcp 198.18.0.1 18080 3)
check "... and the first pod still answers on it" \
	expect "$out" 'r["seen"] == {"hp": ["10.244.2.2"]} and not r["errors"]'
check "sluice-cni DEL" cni DEL hpod hp 18080
out=$(client cl tcp 198.18.0.1 18080 2)
check "after DEL: 198.18.0.1:18080 no longer reaches the pod" \
	expect "$out" 'not r["answers"] and sum(r["errors"].values()) == 2'
check "node 1 stops cleanly" node_stop 1
check "node 2 stops cleanly" node_stop 2
check_summary
