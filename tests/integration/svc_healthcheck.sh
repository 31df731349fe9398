#!/bin/bash
# The health-check NodePort of an externalTrafficPolicy Local Service, end to end: two
# sluice nodes (scripts/lib/topo.sh), a client in the underlay (namespace hc, 198.18.0.100
# on the underlay bridge, as a cloud load balancer's health checker), a LoadBalancer
# Service with healthCheckNodePort 32000 applied on both nodes. curl from the client to
# each node address (through the node's uplink, sluiced's host port, the node's kernel, to
# sluiced's listener):
#   the node without a local endpoint answers 503 with localEndpoints 0, the node with
#   one 200 with localEndpoints 1 (kube-proxy's body and headers); the answers follow the
#   endpoint when it moves, and a not-ready endpoint counts for nothing; a port that
#   cannot be bound is logged and counted while the Service still applies, and bound on a
#   retry once free; the port closes (connection refused) when the Service is deleted.
# Usage (root, repo root): SL_BUILD=build bash tests/integration/svc_healthcheck.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-slhc-} SL_RUN=${SL_RUN:-/tmp/slhc-run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
source scripts/lib/topo.sh
source scripts/lib/check.sh
CLIENT=198.18.0.100
BUSY=
cleanup() {
	[ -n "$BUSY" ] && { kill "$BUSY" 2>/dev/null; wait "$BUSY" 2>/dev/null; }
	ip netns del "$(ns hc)" 2>/dev/null
	topo_down
	rm -rf "$SL_RUN"
}
trap cleanup EXIT
topo_up
mkdir -p "$SL_RUN"

# The client: a veth on the underlay bridge.
ip netns add "$(ns hc)"
ip link add hc netns "$(ns ul)" type veth peer name eth0 netns "$(ns hc)"
in_ns ul ip link set hc master br0 up
in_ns hc ip link set lo up
in_ns hc ip addr add "$CLIENT/24" dev eth0
in_ns hc ip link set eth0 up
# Full checksums on the wire: sluiced reads the uplink veth with AF_XDP, which sees what the
# peer sent, without the kernel's offload shortcuts (as topo_pod does for pods).
in_ns hc ethtool -K eth0 tx off >/dev/null 2>&1 || true

# Each node: a small conntrack table, a route to the client (sluiced: through the uplink;
# the node's kernel: through the host port), as a node has towards its load balancer.
for n in 1 2; do
	node_config $n | python3 -c '
import json, sys
c = json.load(sys.stdin)
c["conntrack"] = {"size": 65536}
c["routes"] = [{"prefix": sys.argv[1] + "/32", "via": sys.argv[1]}]
print(json.dumps(c))' "$CLIENT" >"$SL_RUN/n$n.json"
	node_start $n "$SL_RUN/n$n.json" || exit 1
	in_ns n$n ip route add "$CLIENT/32" dev sl-host
done

# objects HC_PORT [ENDPOINT=NODE[=notready]]...: the Service and its slice, as a List.
objects() {
	python3 - "$@" <<'PY'
import json, sys
hc, eps = int(sys.argv[1]), []
for e in sys.argv[2:]:
    f = e.split("=")
    eps.append({"addresses": [f[0]], "nodeName": f[1],
                "conditions": {"ready": len(f) < 3}})
svc = {"apiVersion": "v1", "kind": "Service",
       "metadata": {"name": "web", "namespace": "shop"},
       "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.40", "clusterIPs": ["10.96.0.40"],
                "externalTrafficPolicy": "Local", "healthCheckNodePort": hc,
                "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080, "nodePort": 30080}]},
       "status": {"loadBalancer": {"ingress": [{"ip": "198.18.0.200"}]}}}
sl = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
      "metadata": {"name": "web-1", "namespace": "shop",
                   "labels": {"kubernetes.io/service-name": "web"}},
      "addressType": "IPv4", "endpoints": eps, "ports": [{"port": 8080, "protocol": "TCP"}]}
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": [svc, sl]}))
PY
}
apply_both() {
	objects "$@" >"$SL_RUN/objs.json" || return 1
	ctl 1 apply -f "$SL_RUN/objs.json" && ctl 2 apply -f "$SL_RUN/objs.json"
}

# probe NODE STATUS COUNT [PORT]: GET /healthz on the node's address from the client gives
# STATUS, kube-proxy's headers and body with localEndpoints COUNT.
probe() {
	local node=$1 want=$2 count=$3 port=${4:-32000} code
	code=$(in_ns hc curl -sS --max-time 5 -D "$SL_RUN/hdr" -o "$SL_RUN/body" \
		-w '%{http_code}' "http://198.18.0.$node:$port/healthz") || return 1
	cat "$SL_RUN/hdr" "$SL_RUN/body"; echo
	[ "$code" = "$want" ] || { echo "status $code, want $want"; return 1; }
	python3 - "$SL_RUN/hdr" "$SL_RUN/body" "$count" <<'PY'
import json, sys
hdr = {k.strip().lower(): v.strip() for k, _, v in
       (l.partition(":") for l in open(sys.argv[1]).read().splitlines()[1:] if ":" in l)}
body, n = json.load(open(sys.argv[2])), int(sys.argv[3])
want = {"service": {"namespace": "shop", "name": "web"}, "localEndpoints": n,
        "serviceProxyHealthy": True}
assert body == want, f"body {body} != {want}"
assert hdr.get("content-type") == "application/json", hdr
assert hdr.get("x-content-type-options") == "nosniff", hdr
assert hdr.get("x-load-balancing-endpoint-weight") == str(n), hdr
PY
}
# refused NODE [PORT]: nothing listens there any more.
refused() {
	local out
	out=$(in_ns hc curl -sS --max-time 5 "http://198.18.0.$1:${2:-32000}/" 2>&1)
	echo "$out"
	case $out in *"Connection refused"*|*"Couldn't connect"*) return 0 ;; esac
	return 1
}

check "apply LoadBalancer shop/web (Local, healthCheckNodePort 32000), endpoint on node2" \
	apply_both 32000 10.244.2.2=node2
check "node1 (no local endpoint): 503, localEndpoints 0" probe 1 503 0
check "node2 (its endpoint): 200, localEndpoints 1" probe 2 200 1
check "the endpoint moves to node1" apply_both 32000 10.244.1.3=node1
check "... node1: 200, localEndpoints 1" probe 1 200 1
check "... node2: 503, localEndpoints 0" probe 2 503 0
check "two ready endpoints on node1 and a not-ready one on node2" \
	apply_both 32000 10.244.1.2=node1 10.244.1.3=node1 10.244.2.2=node2=notready
check "... node1: 200, localEndpoints 2" probe 1 200 2
check "... node2 (not ready only): 503, localEndpoints 0" probe 2 503 0

# A port another process holds on node1: logged, counted, the Service still applies (and
# node2, where the port is free, serves it).
# (ip netns exec directly, so $! is python's own pid; fds 3 and 4 are check.sh's.)
ip netns exec "$(ns n1)" python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 32001)); s.listen(1); print("ready", flush=True); time.sleep(600)' \
	>"$SL_RUN/busy.log" 2>&1 3>&- 4>&- &
BUSY=$!
wait_listen n1 32001 || exit 1
check "healthCheckNodePort moves to 32001, taken on node1 by another process" \
	apply_both 32001 10.244.1.3=node1 10.244.2.2=node2
check "... node1 logs why and counts it; the Service is applied" bash -c "
	grep 'service shop/web: spec.healthCheckNodePort 32001: cannot listen on 0.0.0.0:32001: Address already in use' $SL_RUN/node1.log &&
	$SL_BUILD/control/cli/sluicectl -s $SL_RUN/node1.sock -o json show stats |
		python3 -c 'import json,sys; h=json.load(sys.stdin)[\"healthcheck\"]; print(h); sys.exit(0 if h[\"bind_failed\"] == 1 and h[\"services\"] == 1 and h[\"listening\"] == 0 else 1)' &&
	$SL_BUILD/control/cli/sluicectl -s $SL_RUN/node1.sock show services | grep -q web"
check "... the old port 32000 is closed on node1" refused 1
check "... the old port 32000 is closed on node2" refused 2
check "... node2 serves 32001: 200, localEndpoints 1" probe 2 200 1 32001
kill "$BUSY"; wait "$BUSY" 2>/dev/null; BUSY=
# The port freed: node1's retry (every 5 s) binds it.
retried() {
	for _ in $(seq 16); do probe 1 200 1 32001 && return 0; sleep 0.5; done
	return 1
}
check "... the other process gone, node1 binds 32001 on its retry: 200, localEndpoints 1" retried
check "back to 32000" apply_both 32000 10.244.1.3=node1

check "... node1: 200 on 32000 again" probe 1 200 1
del_both() { ctl 1 delete service shop/web && ctl 2 delete service shop/web; }
check "delete the Service on both nodes" del_both
check "... node1's port 32000 is closed (connection refused)" refused 1
check "... node2's port 32000 is closed (connection refused)" refused 2
node_stop 1 >"$SL_RUN/stop1" 2>&1; rc1=$?
node_stop 2 >"$SL_RUN/stop2" 2>&1; rc2=$?
check "sluiced exits 0 on SIGTERM on both nodes" bash -c "cat $SL_RUN/stop1 $SL_RUN/stop2; [ $rc1 = 0 ] && [ $rc2 = 0 ]"
check_summary
