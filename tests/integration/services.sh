#!/bin/bash
# Services in the fast path, end to end: two sluice nodes (scripts/lib/topo.sh), backends on
# pods of both nodes (tests/integration/svc_backend.py: each answers with its name and the
# client address it saw), a ClusterIP Service applied with `sluicectl apply -f` on both
# nodes, clients in pods (svc_client.py):
#   TCP and UDP to the cluster IP reach backends on both nodes, the backend sees the pod's
#   own address (no SNAT), from either node; a Service without endpoints refuses at once
#   (ICMP port unreachable -> ECONNREFUSED), as kube-proxy does; internalTrafficPolicy
#   Local serves a node's own endpoints only and drops on a node without one; a backend removed from the
#   slice gets no new flows, and a UDP flow that used it moves to a live backend with its
#   next datagram (conntrack flushed); a deleted Service no longer answers.
#   Visible pressure (service "obs", backends p1b and p2b): N TCP connections held open
#   through its cluster IP are exactly the flows `show conntrack --service` lists, each
#   with the backend that answered it; its new-flow counter is N (`show services`), the
#   Service without endpoints counted its rejects; `conntrack flush --backend` removes
#   exactly that backend's flows and prints how many; `--summary` counts agree.
# Usage (root, repo root): SL_BUILD=build bash tests/integration/services.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-slsx-} SL_RUN=${SL_RUN:-/tmp/slsx-run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
source scripts/lib/topo.sh
source scripts/lib/check.sh
source scripts/lib/svc.sh
trap svc_cleanup EXIT
topo_up
mkdir -p "$SL_RUN"

svc_nodes_up || exit 1

for p in p1b p2a p2b; do svc_serve $p 8080; done
wait_listen p1b 8080 && wait_listen p2a 8080 && wait_listen p2b 8080 || exit 1

# slices FILE ENDPOINT...: the Services (web: 80/TCP -> http, 53/UDP -> dns; empty: no
# endpoints) and web's EndpointSlice with the given endpoints (IP=NODE), as a List.
objects() {
	python3 - "$@" <<'PY'
import json, sys
def svc(name, ip, ports):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                     "ports": ports}}
eps = [{"addresses": [a], "conditions": {"ready": True}, "nodeName": n}
       for a, n in (e.split("=") for e in sys.argv[1:])]
web_slice = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
             "metadata": {"name": "web-abc12", "namespace": "default",
                          "labels": {"kubernetes.io/service-name": "web"}},
             "addressType": "IPv4", "endpoints": eps,
             "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                       {"name": "dns", "port": 8080, "protocol": "UDP"}]}
local = svc("local", "10.96.0.30", [{"port": 80, "protocol": "TCP", "targetPort": 8080}])
local["spec"]["internalTrafficPolicy"] = "Local"
local_slice = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
               "metadata": {"name": "local-1", "namespace": "default",
                            "labels": {"kubernetes.io/service-name": "local"}},
               "addressType": "IPv4",
               "endpoints": [{"addresses": ["10.244.2.2"], "conditions": {"ready": True},
                              "nodeName": "node2"}],
               "ports": [{"port": 8080, "protocol": "TCP"}]}
items = [svc("web", "10.96.0.10", [
             {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"},
             {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 8080}]),
         svc("empty", "10.96.0.20", [{"port": 80, "protocol": "TCP", "targetPort": 80}]),
         web_slice, local, local_slice,
         svc("obs", "10.96.0.40", [{"port": 80, "protocol": "TCP", "targetPort": 8080}]),
         {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
          "metadata": {"name": "obs-1", "namespace": "default",
                       "labels": {"kubernetes.io/service-name": "obs"}},
          "addressType": "IPv4",
          "endpoints": [{"addresses": [a], "conditions": {"ready": True}, "nodeName": n}
                        for a, n in (("10.244.1.3", "node1"), ("10.244.2.3", "node2"))],
          "ports": [{"port": 8080, "protocol": "TCP"}]}]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
}
apply_both() { # apply_both ENDPOINT...: the objects with these endpoints, on both nodes
	objects "$@" >"$SL_RUN/objs.json" || return 1
	ctl 1 apply -f "$SL_RUN/objs.json" && ctl 2 apply -f "$SL_RUN/objs.json"
}

check "apply web (backends p1b on node1, p2a on node2) and empty on both nodes" \
	apply_both 10.244.1.3=node1 10.244.2.2=node2
out=$(client p1a tcp 10.96.0.10 80 40)
check "TCP p1a -> 10.96.0.10:80: both backends answer, none fails" \
	expect "$out" 'r["answers"].get("p1b", 0) > 0 and r["answers"].get("p2a", 0) > 0 and not r["errors"]'
check "... and they see the pod's own address (no SNAT)" expect "$out" 'r["clients"] == ["10.244.1.2"]'
out=$(client p2b tcp 10.96.0.10 80 30)
check "TCP p2b (node2) -> 10.96.0.10:80: both backends answer" \
	expect "$out" 'r["answers"].get("p1b", 0) > 0 and r["answers"].get("p2a", 0) > 0 and not r["errors"] and r["clients"] == ["10.244.2.3"]'
out=$(client p1a udp 10.96.0.10 53 40)
check "UDP p1a -> 10.96.0.10:53 (targetPort by number): both backends answer" \
	expect "$out" 'r["answers"].get("p1b", 0) > 0 and r["answers"].get("p2a", 0) > 0 and not r["errors"]'
out=$(client p1a tcp 10.96.0.20 80 3)
check "a Service without endpoints refuses at once (ICMP port unreachable: ECONNREFUSED)" \
	expect "$out" 'r["errors"] == {"ECONNREFUSED": 3}'
# internalTrafficPolicy Local, its one endpoint on node2: node2's pods reach it, node1's
# are dropped (not refused), as kube-proxy does.
out=$(client p2b tcp 10.96.0.30 80 5)
check "internalTrafficPolicy Local: p2b (node2) reaches the node2 endpoint" \
	expect "$out" 'r["answers"] == {"p2a": 5}'
out=$(client p1a tcp 10.96.0.30 80 1)
check "... p1a (node1, no local endpoint) is dropped, not refused (lb-none-selected)" \
	bash -c "echo '$out'; python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r[\"errors\"] == {\"timeout\": 1} else 1)' '$out' &&
		$SL_BUILD/control/cli/sluicectl -s $SL_RUN/node1.sock -o json show drops |
		python3 -c 'import json,sys; sys.exit(0 if any(d[\"reason\"] == \"lb-none-selected\" and d[\"packets\"] > 0 for d in json.load(sys.stdin)) else 1)'"
check "conntrack holds the flows (show stats)" \
	bash -c "$SL_BUILD/control/cli/sluicectl -s $SL_RUN/node1.sock -o json show stats | grep -q '\"conntrack\"'"

# Visible pressure. N TCP connections from p1a through 10.96.0.40:80 (obs: p1b, p2b), held
# open (the backend closed its side: FIN_WAIT, 120 s) until the checks are done.
N=12
rm -f "$SL_RUN/conns.json" "$SL_RUN/release"
ip netns exec "$(ns p1a)" python3 - "$SL_RUN" $N >"$SL_RUN/hold.log" 2>&1 <<'PY' &
import json, os, socket, sys, time
run, n = sys.argv[1], int(sys.argv[2])
conns, socks = {}, []
for _ in range(n):
    s = socket.create_connection(("10.96.0.40", 80), timeout=2)
    conns[s.getsockname()[1]] = s.makefile().readline().split()[0]
    socks.append(s)
json.dump(conns, open(run + "/conns.tmp", "w"))
os.rename(run + "/conns.tmp", run + "/conns.json")
for _ in range(1200):
    if os.path.exists(run + "/release"):
        break
    time.sleep(0.05)
PY
hold_pid=$!
SVC_PIDS+=($hold_pid) # killed by svc_cleanup if the script stops early
for _ in $(seq 100); do [ -s "$SL_RUN/conns.json" ] && break; sleep 0.05; done
cat "$SL_RUN/conns.json"; echo
# pycheck PYTHON_EXPR JSON...: the expression over c (the connections: port -> backend name)
# and j (the JSON arguments, parsed) must hold.
pycheck() {
	python3 -c '
import json, sys
c = {int(k): v for k, v in json.load(open(sys.argv[1])).items()}
j = [json.loads(a) for a in sys.argv[3:]]
ok = eval("(" + sys.argv[2] + ")")
if not ok:
    print("failed:", sys.argv[2], json.dumps(j)[:2000])
sys.exit(0 if ok else 1)' "$SL_RUN/conns.json" "$@"
}
ADDR='{"p1b": "10.244.1.3:8080", "p2b": "10.244.2.3:8080"}'
out=$(ctl 1 -o json show conntrack --service 10.96.0.40:80)
check "show conntrack --service 10.96.0.40:80 lists exactly the $N flows, each with the backend that answered it" \
	pycheck "len(c) == $N and j[0]['matched'] == $N and j[0]['shown'] == $N and
		 sorted(f['client'] for f in j[0]['flows']) == sorted('10.244.1.2:%d' % p for p in c) and
		 all(f['backend'] == $ADDR[c[int(f['client'].split(':')[1])]] and f['proto'] == 'tcp' and
		     f['service'] == '10.96.0.40:80' for f in j[0]['flows'])" "$out"
out=$(ctl 1 -o json show conntrack --service 10.96.0.40 --client 10.244.1.2 --proto tcp --limit 3)
check "... bounded by --limit (3 shown, all $N counted)" \
	pycheck "j[0]['matched'] == $N and j[0]['shown'] == 3 and len(j[0]['flows']) == 3" "$out"
check "... and in the table view, a line says how many more matched" \
	bash -c "ctl() { $SL_BUILD/control/cli/sluicectl -s $SL_RUN/node1.sock \"\$@\"; }
		 ctl show conntrack --service 10.96.0.40:80 --limit 2 | tee /dev/stderr |
		 grep -qx '($((N - 2)) more matched; --limit N shows up to 50000)'"
out=$(ctl 1 -o json show services)
check "show services: obs counted $N new flows, packets both ways; empty its 3 rejects, local its drops" \
	pycheck "[(s['new_flows'], s['rejects'] , s['fwd_packets'] >= 3 * $N, s['rev_packets'] >= 2 * $N,
		   s['fwd_bytes'] >= 40 * s['fwd_packets']) for s in j[0] if s['name'] == 'obs'] ==
		 [($N, 0, True, True, True)] and
		 [(s['rejects'], s['new_flows']) for s in j[0] if s['name'] == 'empty'] == [(3, 0)] and
		 [s['drop_none'] > 0 for s in j[0] if s['name'] == 'local'] == [True]" "$out"
out=$(ctl 1 -o json show conntrack --summary --service 10.96.0.40:80)
check "show conntrack --summary: occupancy of the table, obs's $N flows by state and protocol" \
	pycheck "j[0]['matched'] == $N and j[0]['protocols'] == {'tcp': $N, 'udp': 0, 'sctp': 0} and
		 sum(j[0]['states'].values()) == $N and j[0]['size'] == 65536 and
		 j[0]['entries'] >= $N and
		 j[0]['occupancy_pct'] == int(j[0]['entries'] * 10000 / 65536) / 100" "$out"
out=$(ctl 1 -o json show stats)
check "show stats: conntrack occupancy and insert failures, LB table changes" \
	pycheck "j[0]['conntrack']['insert_failed'] == 0 and j[0]['conntrack']['entries'] >= $N and
		 j[0]['lb']['sets'] > 0 and j[0]['lb']['rejects'] == 0" "$out"
n2b=$(python3 -c 'import json,sys; print(sum(v == "p2b" for v in json.load(open(sys.argv[1])).values()))' "$SL_RUN/conns.json")
out=$(ctl 1 conntrack flush --backend 10.244.2.3:8080)
check "conntrack flush --backend 10.244.2.3:8080 removes p2b's $n2b flows and says so" \
	bash -c "echo '$out'; [ '$out' = 'flushed $n2b conntrack entries' ]"
out=$(ctl 1 -o json show conntrack --service 10.96.0.40:80)
check "... only p1b's $((N - n2b)) flows are left" \
	pycheck "j[0]['matched'] == $((N - n2b)) and
		 all(f['backend'] == '10.244.1.3:8080' for f in j[0]['flows'])" "$out"
out=$(ctl 1 -o json show conntrack --summary)
check "... counted in flushed" pycheck "j[0]['flushed'] >= $n2b" "$out"
out=$(ctl 1 conntrack flush --proto icmp 2>&1)
is_out() { echo "$out"; [ "$out" = "$1" ]; }
check "a bad filter is refused naming the field" \
	is_out "sluicectl: proto: 'icmp' is not tcp, udp or sctp"
touch "$SL_RUN/release"
wait $hold_pid

# A UDP flow pinned to a backend, then that backend leaves the slice: the next datagram of
# the same flow (same source port) reaches the other one.
udp_moves() {
	in_ns p1a python3 - "$SL_RUN" <<'PY'
import json, socket, subprocess, sys
run = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect(("10.96.0.10", 53))
s.send(b"?")
first = s.recv(100).decode().split()[0]
keep = {"p1b": "10.244.2.2=node2", "p2a": "10.244.1.3=node1"}[first]
open(run + "/keep", "w").write(keep)
print("first answer from", first, "; keeping", keep, flush=True)
# the test removes `first` from the slice now (on both nodes), then writes run/removed
import os, time
for _ in range(100):
    if os.path.exists(run + "/removed"):
        break
    time.sleep(0.05)
s.send(b"?")
second = s.recv(100).decode().split()[0]
print("after removal:", second)
sys.exit(0 if second != first else 1)
PY
}
rm -f "$SL_RUN/keep" "$SL_RUN/removed"
udp_moves >"$SL_RUN/udp.log" 2>&1 &
udp_pid=$!
for _ in $(seq 100); do [ -s "$SL_RUN/keep" ] && break; sleep 0.05; done
check "remove the backend the UDP flow used from the slice" apply_both "$(cat "$SL_RUN/keep")"
touch "$SL_RUN/removed"
wait $udp_pid
udp_rc=$?
check "the UDP flow's next datagram reaches the live backend (conntrack flushed)" \
	bash -c "cat $SL_RUN/udp.log; exit $udp_rc"
keep=$(cat "$SL_RUN/keep"); keep=${keep%%=*}
live=$([ "$keep" = 10.244.2.2 ] && echo p2a || echo p1b)
out=$(client p1a tcp 10.96.0.10 80 20)
check "new TCP flows go only to the backend left ($live)" \
	expect "$out" "r['answers'] == {'$live': 20}"

check "delete the Service on node 1" ctl 1 delete service default/web
out=$(client p1a tcp 10.96.0.10 80 2)
check "... and 10.96.0.10:80 no longer answers from node 1's pods" expect "$out" 'not r["answers"]'
check_summary
