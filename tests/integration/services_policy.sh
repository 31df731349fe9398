#!/bin/bash
# Services' traffic policies end to end, two sluice nodes (scripts/lib/topo.sh), backends on
# p1b (node1) and p2a (node2), Services applied with `sluicectl apply -f` on both nodes:
#   sessionAffinity ClientIP: many TCP connections from one pod land on one backend, through
#   the cluster IP and the external IP of the Service port alike; the same Service without
#   affinity spreads them over both;
#   loadBalancerSourceRanges on a load-balancer ingress IP: a pod inside the range connects,
#   one outside is dropped (lb-source-range), and the cluster IP of the same Service is not
#   filtered (kube-proxy filters the ingress IPs only);
#   a backend removed mid-flow: each established TCP connection to it gets ECONNRESET on its
#   next send (a RST from the VIP), those to the backend left keep working; then the whole
#   Service deleted: each connection to it gets ECONNRESET on its next send.
# Usage (root, repo root): SL_BUILD=build bash tests/integration/services_policy.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-slpx-} SL_RUN=${SL_RUN:-/tmp/slpx-run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
source scripts/lib/topo.sh
source scripts/lib/check.sh
source scripts/lib/svc.sh
trap svc_cleanup EXIT
topo_up
mkdir -p "$SL_RUN"

svc_nodes_up || exit 1

for p in p1b p2a; do
	svc_serve $p 8080
	svc_serve $p 9090 svc_echo.py
done
for p in p1b p2a; do wait_listen $p 8080 && wait_listen $p 9090 || exit 1; done

# objects ECHO_ENDPOINT...: the Services and their slices, as a List:
#   spread 10.96.0.40:80 -> 8080, no affinity      aff 10.96.0.41:80 -> 8080, ClientIP,
#                                                   external IP 10.96.2.41
#   fw 10.96.0.42:80 -> 8080, type LoadBalancer, ingress 10.96.1.10, ranges 10.244.1.0/24
#   echo 10.96.0.43:90 -> 9090 (long-lived connections), endpoints given (IP=NODE)
objects() {
	python3 - "$@" <<'PY'
import json, sys
def svc(name, ip, port, target, **spec):
    s = {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": name, "namespace": "default"},
         "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                  "ports": [{"port": port, "protocol": "TCP", "targetPort": target}]}}
    s["spec"].update(spec)
    return s
def eps(name, port, endpoints):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name + "-1", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [a], "conditions": {"ready": True}, "nodeName": n}
                          for a, n in endpoints],
            "ports": [{"port": port, "protocol": "TCP"}]}
both = [("10.244.1.3", "node1"), ("10.244.2.2", "node2")]
fw = svc("fw", "10.96.0.42", 80, 8080, type="LoadBalancer",
         loadBalancerSourceRanges=["10.244.1.0/24"])
fw["status"] = {"loadBalancer": {"ingress": [{"ip": "10.96.1.10"}]}}
items = [svc("spread", "10.96.0.40", 80, 8080), eps("spread", 8080, both),
         svc("aff", "10.96.0.41", 80, 8080, sessionAffinity="ClientIP",
             externalIPs=["10.96.2.41"]),
         eps("aff", 8080, both),
         fw, eps("fw", 8080, both),
         svc("echo", "10.96.0.43", 90, 9090),
         eps("echo", 9090, [e.split("=") for e in sys.argv[1:]])]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
}
apply_both() {
	objects "$@" >"$SL_RUN/objs.json" || return 1
	ctl 1 apply -f "$SL_RUN/objs.json" && ctl 2 apply -f "$SL_RUN/objs.json"
}
drops() { # drops NODE REASON: packets node dropped for REASON
	ctl "$1" -o json show drops | python3 -c 'import json, sys
print(sum(d["packets"] for d in json.load(sys.stdin) if d["reason"] == sys.argv[1]))' "$2"
}

check "apply the Services on both nodes" apply_both 10.244.1.3=node1 10.244.2.2=node2

# -- sessionAffinity ClientIP
out=$(client p1a tcp 10.96.0.40 80 30)
check "no affinity: 30 connections from p1a spread over both backends" \
	expect "$out" 'r["answers"].get("p1b", 0) > 0 and r["answers"].get("p2a", 0) > 0 and not r["errors"]'
out=$(client p1a tcp 10.96.0.41 80 30)
check "sessionAffinity ClientIP: 30 connections from p1a all land on one backend" \
	expect "$out" 'sorted(r["answers"].values()) == [30] and not r["errors"]'
first=$(python3 -c 'import json,sys; print(list(json.loads(sys.argv[1])["answers"])[0])' "$out")
out=$(client p1a tcp 10.96.0.41 80 10)
check "... and later connections too ($first)" expect "$out" "r['answers'] == {'$first': 10}"
out=$(client p1a tcp 10.96.2.41 80 10)
check "... and through the Service port's external IP too (affinity per Service port)" \
	expect "$out" "r['answers'] == {'$first': 10}"
out=$(client p2b tcp 10.96.0.41 80 20)
check "... another client (p2b, node2) keeps to one backend as well" \
	expect "$out" 'sorted(r["answers"].values()) == [20] and not r["errors"]'
aff_hits() { ctl 1 -o json show stats | python3 -c 'import json, sys
a = json.load(sys.stdin)["affinity"]; print(a); sys.exit(0 if a["hits"] >= 39 and a["full"] == 0 else 1)'; }
check "... node1 counts the flows placed by affinity (show stats: affinity.hits)" aff_hits

# -- loadBalancerSourceRanges (10.244.1.0/24) on the ingress IP 10.96.1.10
out=$(client p1a tcp 10.96.1.10 80 5)
check "source ranges: p1a (10.244.1.2, in range) reaches the load-balancer IP" \
	expect "$out" 'sum(r["answers"].values()) == 5 and not r["errors"]'
before=$(drops 2 lb-source-range)
out=$(client p2b tcp 10.96.1.10 80 1)
check "... p2b (10.244.2.3, out of range) does not connect (dropped: timeout)" \
	expect "$out" 'r["errors"] == {"timeout": 1}'
drops_grew() { local a; a=$(drops 2 lb-source-range); echo "before $before, after $a"; [ "$a" -gt "$before" ]; }
check "... counted as lb-source-range on node2" drops_grew
out=$(client p2b tcp 10.96.0.42 80 5)
check "... the same Service's cluster IP is not filtered (p2b connects)" \
	expect "$out" 'sum(r["answers"].values()) == 5 and not r["errors"]'

# -- a backend removed mid-flow: connections held open from p1a to echo (10.96.0.43:90)
rm -f "$SL_RUN/held" "$SL_RUN/removed"
ip netns exec "$(ns p1a)" python3 - "$SL_RUN" >"$SL_RUN/held.log" 2>&1 <<'PY' &
import json, os, socket, sys, time
run = sys.argv[1]
conns = []
for i in range(40):
    s = socket.create_connection(("10.96.0.43", 90), timeout=3)
    f = s.makefile("rb")
    conns.append((s, f, f.readline().decode().split()[0]))
    if len({c[2] for c in conns}) == 2 and i >= 7:
        break
names = sorted({c[2] for c in conns})
print("held", len(conns), "connections to", names, flush=True)
if len(names) != 2:
    sys.exit(2)
for s, f, n in conns:  # established, data flowing both ways
    s.sendall(b"hello\n")
    assert f.readline() == b"hello\n"
open(run + "/held.tmp", "w").write(json.dumps(names))
os.rename(run + "/held.tmp", run + "/held")
for _ in range(200):
    if os.path.exists(run + "/removed"):
        break
    time.sleep(0.05)
gone = open(run + "/removed").read().strip()
res = {"reset": 0, "alive": 0, "other": []}
ok = True
for s, f, n in conns:
    t0 = time.monotonic()
    try:
        s.sendall(b"ping\n")
        line = f.readline()
        if line == b"ping\n":
            res["alive"] += 1
            ok &= n != gone
        else:
            res["other"].append(f"{n}: {line!r}")
            ok = False
    except ConnectionResetError:
        res["reset"] += 1
        ok &= n == gone and time.monotonic() - t0 < 1.0
    except OSError as e:
        res["other"].append(f"{n}: {e!r}")
        ok = False
want_reset = sum(1 for c in conns if c[2] == gone)
print(json.dumps(res), "want", want_reset, "resets", flush=True)
sys.exit(0 if ok and res["reset"] == want_reset and res["alive"] == len(conns) - want_reset else 1)
PY
held_pid=$!
for _ in $(seq 100); do [ -s "$SL_RUN/held" ] && break; sleep 0.05; done
check "TCP connections held open to both echo backends" test -s "$SL_RUN/held"
gone=p1b keep=10.244.2.2=node2
echo "$gone" >"$SL_RUN/removed.tmp"
check "remove $gone from the echo Service's endpoints (on both nodes)" apply_both "$keep"
mv "$SL_RUN/removed.tmp" "$SL_RUN/removed"
wait $held_pid
held_rc=$?
check "connections to the removed backend get ECONNRESET at once, the others keep working" \
	bash -c "cat $SL_RUN/held.log; exit $held_rc"
out=$(client p1a tcp 10.96.0.43 90 5)
check "new connections go to the backend left" expect "$out" 'r["answers"] == {"p2a": 5}'

# -- the whole Service deleted mid-flow: every established TCP connection to it gets
# ECONNRESET on its next send (a RST from the VIP), as when its backend is removed.
rm -f "$SL_RUN/held" "$SL_RUN/removed"
ip netns exec "$(ns p1a)" python3 - "$SL_RUN" >"$SL_RUN/held2.log" 2>&1 <<'PY' &
import os, socket, sys, time
run = sys.argv[1]
conns = []
for i in range(5):
    s = socket.create_connection(("10.96.0.43", 90), timeout=3)
    f = s.makefile("rb")
    conns.append((s, f, f.readline().decode().split()[0]))
for s, f, n in conns:
    s.sendall(b"hello\n")
    assert f.readline() == b"hello\n"
open(run + "/held.tmp", "w").write("held")
os.rename(run + "/held.tmp", run + "/held")
for _ in range(200):
    if os.path.exists(run + "/removed"):
        break
    time.sleep(0.05)
res = {"reset": 0, "other": []}
for s, f, n in conns:
    t0 = time.monotonic()
    try:
        s.sendall(b"ping\n")
        res["other"].append(f"{n}: {f.readline()!r}")
    except ConnectionResetError:
        if time.monotonic() - t0 < 1.0:
            res["reset"] += 1
        else:
            res["other"].append(f"{n}: reset after {time.monotonic() - t0:.1f} s")
    except OSError as e:
        res["other"].append(f"{n}: {e!r}")
print(res, "want", len(conns), "resets", flush=True)
sys.exit(0 if res["reset"] == len(conns) else 1)
PY
held_pid=$!
for _ in $(seq 100); do [ -s "$SL_RUN/held" ] && break; sleep 0.05; done
check "TCP connections held open to the echo Service" test -s "$SL_RUN/held"
del_echo() { ctl 1 delete service default/echo && ctl 2 delete service default/echo; }
check "delete the echo Service (on both nodes)" del_echo
touch "$SL_RUN/removed"
wait $held_pid
held_rc=$?
check "connections to the deleted Service get ECONNRESET at once" \
	bash -c "cat $SL_RUN/held2.log; exit $held_rc"
check_summary
