#!/bin/bash
# Services from outside the cluster and from the node itself, end to end: two sluice nodes
# (scripts/lib/topo.sh), backends on pods of both nodes (svc_backend.py: each answers with
# its name and the client address it saw), and a client outside the cluster behind a router
# that spreads load-balancer IPs over the nodes, as a cloud load balancer or MetalLB would:
#
#   client ns "cl" 198.18.1.2 -- 198.18.1.1 router ns "rt" 198.18.0.254 -- underlay br0
#   rt: 10.96.100.10 (LB IP, Cluster policy) via node1 and node2 (ECMP, L4 hash);
#       10.96.100.11 (LB IP, Local policy) via node2, the node with the endpoint
#
# Checked: a node port on either node reaches backends on both nodes; under
# externalTrafficPolicy Cluster a backend on the node the client came in by sees the client
# (no SNAT needed, its replies pass that node), one on the other node sees the node address
# (SNAT, so its replies come back through the node that translated); the load-balancer IP
# through the router works the same; under Local the backend sees the client's own address,
# and the node without a local endpoint drops (so the load balancer's health check moves
# on); hairpin: a pod reaching its own Service through the ClusterIP gets itself, seeing the
# node address; the node's own kernel reaches a ClusterIP through the host port (sluiced
# routes the service CIDR to it); pod egress masquerade ("proxy": {"masquerade": true}): a
# pod reaching the client's network (TCP and UDP) is seen there as its node's address, while
# a pod reaching a ClusterIP is still seen as itself.
# Usage (root, repo root): SL_BUILD=build bash tests/integration/services_ingress.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-slin-} SL_RUN=${SL_RUN:-/tmp/slin-run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
source scripts/lib/topo.sh
source scripts/lib/check.sh
source scripts/lib/svc.sh
trap svc_cleanup EXIT
topo_up
mkdir -p "$SL_RUN"

# The router (the load-balancer IPs spread over the nodes) and the client.
svc_router "10.96.100.10/32 nexthop via 198.18.0.1 nexthop via 198.18.0.2" \
	"10.96.100.11/32 via 198.18.0.2"

# Each node: the client network through the router, pod egress masquerade.
svc_nodes_up 'c["routes"] = [{"prefix": "198.18.1.0/24", "via": "198.18.0.254"}]
c["proxy"] = {"masquerade": True}' || exit 1

for p in p1b p2a cl; do svc_serve $p 8080; done
wait_listen p1b 8080 && wait_listen p2a 8080 && wait_listen cl 8080 || exit 1

# The Services: "cl" (LoadBalancer, Cluster policy, node port 30080, endpoints p1b on node1
# and p2a on node2), "loc" (LoadBalancer, Local policy, node port 30081, endpoint p2a only),
# "hair" (ClusterIP, endpoint p1b only).
python3 - >"$SL_RUN/objs.json" <<'PY'
import json
def svc(name, cip, typ, policy=None, node_port=None, lb_ip=None):
    port = {"port": 80, "protocol": "TCP", "targetPort": 8080}
    if node_port:
        port["nodePort"] = node_port
    o = {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": name, "namespace": "default"},
         "spec": {"type": typ, "clusterIP": cip, "clusterIPs": [cip], "ports": [port]}}
    if policy:
        o["spec"]["externalTrafficPolicy"] = policy
    if lb_ip:
        o["status"] = {"loadBalancer": {"ingress": [{"ip": lb_ip}]}}
    return o
def eps(name, *pods):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name + "-1", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [a], "conditions": {"ready": True}, "nodeName": n}
                          for a, n in pods],
            "ports": [{"port": 8080, "protocol": "TCP"}]}
items = [svc("cl", "10.96.0.40", "LoadBalancer", "Cluster", 30080, "10.96.100.10"),
         eps("cl", ("10.244.1.3", "node1"), ("10.244.2.2", "node2")),
         svc("loc", "10.96.0.41", "LoadBalancer", "Local", 30081, "10.96.100.11"),
         eps("loc", ("10.244.2.2", "node2")),
         svc("hair", "10.96.0.42", "ClusterIP"),
         eps("hair", ("10.244.1.3", "node1"))]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
check "apply the Services on both nodes" \
	bash -c "$SL_BUILD/control/cli/sluicectl -s $SL_RUN/node1.sock apply -f $SL_RUN/objs.json &&
		 $SL_BUILD/control/cli/sluicectl -s $SL_RUN/node2.sock apply -f $SL_RUN/objs.json"


# Cluster policy through node 1's port: p1b (node1) sees the client, p2a (node2) sees node1.
out=$(client cl tcp 198.18.0.1 30080 40)
check "node port 198.18.0.1:30080 (Cluster) from outside: both backends answer, none fails" \
	expect "$out" 'r["answers"].get("p1b", 0) > 0 and r["answers"].get("p2a", 0) > 0 and not r["errors"]'
check "... the local backend sees the client, the remote one node1's address (SNAT)" \
	expect "$out" 'r["seen"] == {"p1b": ["198.18.1.2"], "p2a": ["198.18.0.1"]}'
out=$(client cl tcp 198.18.0.2 30080 40)
check "node port 198.18.0.2:30080 (Cluster): the same, mirrored" \
	expect "$out" 'r["seen"] == {"p1b": ["198.18.0.2"], "p2a": ["198.18.1.2"]} and not r["errors"]'
out=$(client cl tcp 10.96.100.10 80 60)
check "load-balancer IP 10.96.100.10 (Cluster) through the router over both nodes" \
	expect "$out" 'r["answers"].get("p1b", 0) > 0 and r["answers"].get("p2a", 0) > 0 and not r["errors"]'

# Local policy: the client's address reaches the backend; node1 (no local endpoint) drops.
out=$(client cl tcp 198.18.0.2 30081 10)
check "node port 198.18.0.2:30081 (Local): the backend sees the client's own address" \
	expect "$out" 'r["seen"] == {"p2a": ["198.18.1.2"]} and not r["errors"]'
out=$(client cl tcp 10.96.100.11 80 10)
check "load-balancer IP 10.96.100.11 (Local) through the router: the client's own address" \
	expect "$out" 'r["seen"] == {"p2a": ["198.18.1.2"]} and not r["errors"]'
out=$(client cl tcp 198.18.0.1 30081 1)
check "node port 198.18.0.1:30081 (Local, no endpoint on node1): dropped, not refused" \
	expect "$out" 'r["errors"] == {"timeout": 1}'

# Hairpin: p1b through the ClusterIP of a Service whose only endpoint is p1b.
out=$(client p1b tcp 10.96.0.42 80 5)
check "hairpin: p1b -> 10.96.0.42:80 reaches p1b itself, from the node address" \
	expect "$out" 'r["seen"] == {"p1b": ["198.18.0.1"]} and not r["errors"]'

# The node's own kernel (kubelet, hostNetwork pods) through the host port.
out=$(client n1 tcp 10.96.0.40 80 20)
check "node1's kernel -> ClusterIP 10.96.0.40:80: both backends answer, seeing node1" \
	expect "$out" 'r["answers"].get("p1b", 0) > 0 and r["answers"].get("p2a", 0) > 0 and r["clients"] == ["198.18.0.1"] and not r["errors"]'

# ... and its node ports, at its own address and at 127.0.0.1: packets the kernel sends to
# itself never reach sluiced; the socket hooks (control/lb/sl_node_local.h) connect to the
# cluster IP instead.
out=$(client n1 tcp 198.18.0.1 30080 20)
check "node1's kernel -> its own node port 198.18.0.1:30080: both backends answer" \
	expect "$out" 'r["answers"].get("p1b", 0) > 0 and r["answers"].get("p2a", 0) > 0 and not r["errors"]'
out=$(client n1 tcp 127.0.0.1 30080 20)
check "node1's kernel -> 127.0.0.1:30080: both backends answer" \
	expect "$out" 'r["answers"].get("p1b", 0) > 0 and r["answers"].get("p2a", 0) > 0 and not r["errors"]'
out=$(client cl tcp 127.0.0.1 30080 1)
check "... while another namespace's 127.0.0.1:30080 is left alone (refused there)" \
	expect "$out" 'r["errors"] == {"ECONNREFUSED": 1}'

# Pod egress masquerade.
out=$(client p1a tcp 198.18.1.2 8080 5)
check "masquerade: p1a (node1) -> 198.18.1.2:8080 (outside the cluster) is seen as node1" \
	expect "$out" 'r["seen"] == {"cl": ["198.18.0.1"]} and not r["errors"]'
out=$(client p2b udp 198.18.1.2 8080 5)
check "masquerade: UDP p2b (node2) -> 198.18.1.2:8080 is seen as node2" \
	expect "$out" 'r["seen"] == {"cl": ["198.18.0.2"]} and not r["errors"]'
# The router has no route to the pod CIDR: the replies come back only if translated.
check "masquerade: ping p1a (node1) -> 198.18.1.2 (outside the cluster) is answered" \
	in_ns p1a ping -c 3 -i 0.2 -W 2 -q 198.18.1.2
out=$(client p1a tcp 10.96.0.40 80 20)
check "... while p1a -> ClusterIP 10.96.0.40:80 is still seen as p1a by both backends" \
	expect "$out" 'r["seen"] == {"p1b": ["10.244.1.2"], "p2a": ["10.244.1.2"]} and not r["errors"]'

check "no SNAT port ran out, no conntrack insert failed (node1)" \
	bash -c "$SL_BUILD/control/cli/sluicectl -s $SL_RUN/node1.sock -o json show drops |
		python3 -c 'import json,sys; d=[x for x in json.load(sys.stdin) if x[\"reason\"] in (\"snat-no-port\", \"ct-full\") and x[\"packets\"]]; print(d); sys.exit(1 if d else 0)'"
check "node 1 stops cleanly" node_stop 1
check "node 2 stops cleanly" node_stop 2
check_summary
