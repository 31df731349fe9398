#!/bin/bash
# NetworkPolicy and established TCP flows, two sluice nodes (scripts/lib/topo.sh), objects
# applied with `sluicectl apply -f` on both nodes:
#   server p1b (10.244.1.3, node1, app=server) echoes lines on TCP 9090 (svc_echo.py);
#   clients p1a (10.244.1.2, node1, app=a: same node) and p2a (10.244.2.2, node2, app=c:
#   through the tunnel) each hold one TCP connection to it and send a line per phase.
#   1. policy "server-in" v1 selects app=server, ingress from app in (a, c) on TCP 9090:
#      both connections open and echo; a connection from p2b (app=d) is refused by policy
#      (times out, counted as policy-denied-ingress on node1);
#   2. v2 changes the policy in a way that still allows both (port range 9090-9100, an
#      extra rule): both established connections keep echoing, no reconnect;
#   3. v3 allows app=a only: p2a's connection is cut at once (its next line gets
#      ECONNRESET within a second: node1 drops the segment and answers it with a RST),
#      p1a's goes on; a new connection from p2a times out;
#   and `sluicectl trace` on node1 shows ip4-policy's verdict on a denied SYN.
# Usage (root, repo root): SL_BUILD=build bash tests/integration/netpol_established.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-slnp-} SL_RUN=${SL_RUN:-/tmp/slnp-run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
source scripts/lib/topo.sh
source scripts/lib/check.sh
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	topo_down
	rm -rf "$SL_RUN"
}
trap cleanup EXIT
topo_up
mkdir -p "$SL_RUN"
for n in 1 2; do node_start $n || exit 1; done
wait_vtep 1 && wait_vtep 2 || { echo "VTEPs unresolved"; exit 1; }

ip netns exec "$(ns p1b)" python3 tests/integration/svc_echo.py p1b 9090 &
PIDS+=($!)
wait_listen p1b 9090 || exit 1

# objects VERSION: Namespace, the 4 Pods, and policy server-in at VERSION (1, 2, 3).
objects() {
	python3 - "$1" <<'PY'
import json, sys
v = int(sys.argv[1])
def pod(name, ip, node, app):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": app}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "none"}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}
apps = ["a", "c"] if v < 3 else ["a"]
ports = [{"protocol": "TCP", "port": 9090}]
if v == 2:
    ports = [{"protocol": "TCP", "port": 9090, "endPort": 9100}]
ingress = [{"from": [{"podSelector": {"matchExpressions": [
                {"key": "app", "operator": "In", "values": apps}]}}],
            "ports": ports}]
if v == 2:
    ingress.append({"from": [{"ipBlock": {"cidr": "192.0.2.0/24"}}]})
pol = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
       "metadata": {"name": "server-in", "namespace": "default"},
       "spec": {"podSelector": {"matchLabels": {"app": "server"}},
                "policyTypes": ["Ingress"], "ingress": ingress}}
items = [{"apiVersion": "v1", "kind": "Namespace",
          "metadata": {"name": "default", "labels": {"kubernetes.io/metadata.name": "default"}}},
         pod("p1a", "10.244.1.2", "node1", "a"), pod("p1b", "10.244.1.3", "node1", "server"),
         pod("p2a", "10.244.2.2", "node2", "c"), pod("p2b", "10.244.2.3", "node2", "d"), pol]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
}
apply_both() {
	objects "$1" >"$SL_RUN/objs.json" || return 1
	ctl 1 apply -f "$SL_RUN/objs.json" && ctl 2 apply -f "$SL_RUN/objs.json"
}
drops() { # drops NODE REASON
	ctl "$1" -o json show drops | python3 -c 'import json, sys
print(sum(d["packets"] for d in json.load(sys.stdin) if d["reason"] == sys.argv[1]))' "$2"
}
# connect POD: one new TCP connection to the server; prints ok/timeout/refused/reset
connect() {
	in_ns "$1" python3 - <<'PY'
import socket
try:
    s = socket.create_connection(("10.244.1.3", 9090), timeout=2)
    s.settimeout(2)
    print("ok" if s.makefile("rb").readline() else "closed")
except socket.timeout:
    print("timeout")
except ConnectionResetError:
    print("reset")
except OSError as e:
    print(type(e).__name__)
PY
}
expect_connect() { local r; r=$(connect "$1"); echo "$1: $r"; [ "$r" = "$2" ]; }

check "apply Namespace, Pods and policy v1 (ingress from app in (a, c)) on both nodes" \
	apply_both 1
wait_allowed() { for _ in $(seq 50); do [ "$(connect "$1")" = ok ] && return 0; sleep 0.1; done; return 1; }
check "p1a reaches the server once the policy is in" wait_allowed p1a

# holder POD: one connection held open; for each phase k it waits for $SL_RUN/go.k, sends a
# line and writes "$SL_RUN/POD.k": ok (echoed), reset (ECONNRESET), timeout, or the error,
# with the seconds it took.
holder() {
	in_ns "$1" python3 - "$1" "$SL_RUN" <<'PY' &
import os, socket, sys, time
name, run = sys.argv[1], sys.argv[2]
s = socket.create_connection(("10.244.1.3", 9090), timeout=3)
f = s.makefile("rb")
banner = f.readline()
def put(k, v):
    open(f"{run}/{name}.{k}.tmp", "w").write(v)
    os.rename(f"{run}/{name}.{k}.tmp", f"{run}/{name}.{k}")
put(0, "ok" if banner else "closed")
for k in (1, 2, 3):
    while not os.path.exists(f"{run}/go.{k}"):
        time.sleep(0.02)
    t0 = time.monotonic()
    try:
        s.sendall(b"phase %d\n" % k)
        line = f.readline()
        r = "ok" if line == b"phase %d\n" % k else f"got {line!r}"
    except socket.timeout:
        r = "timeout"
    except ConnectionResetError:
        r = "reset"
    except OSError as e:
        r = type(e).__name__
    put(k, f"{r} {time.monotonic() - t0:.2f}")
    if r != "ok":
        break
PY
	PIDS+=($!)
}
# result POD K: wait (5 s) for the holder's answer of phase K and print it
result() {
	for _ in $(seq 100); do [ -s "$SL_RUN/$1.$2" ] && { cat "$SL_RUN/$1.$2"; return 0; }; sleep 0.05; done
	echo "no answer"
}
expect_result() { local r; r=$(result "$1" "$2"); echo "$1 phase $2: $r"; [[ "$r" == $3 ]]; }

holder p1a
holder p2a
check "p1a (same node) holds an established connection" expect_result p1a 0 "ok"
check "p2a (node2, through the tunnel) holds an established connection" expect_result p2a 0 "ok"
touch "$SL_RUN/go.1"
check "phase 1: both connections echo" \
	bash -c "$(declare -f result expect_result); SL_RUN=$SL_RUN; expect_result p1a 1 'ok *' && expect_result p2a 1 'ok *'"
before=$(drops 1 policy-denied-ingress)
check "p2b (app=d) cannot connect: timeout" expect_connect p2b timeout
denied_grew() { local a; a=$(drops 1 policy-denied-ingress); echo "before $before, after $a"; [ "$a" -gt "$before" ]; }
check "... counted as policy-denied-ingress on node1" denied_grew

generation() { ctl 1 -o json show stats | python3 -c 'import json, sys
print(json.load(sys.stdin).get("policy", {}).get("generation", 0))'; }
# published N: wait (5 s) until node1's classifier is newer than generation N (the reconciler
# coalesces changes for a few ms before it compiles and publishes)
published() {
	local g
	for _ in $(seq 250); do g=$(generation); [ "$g" -gt "$1" ] && { echo "generation $1 -> $g"; return 0; }; sleep 0.02; done
	echo "generation still $g"; return 1
}
gen=$(generation)
check "apply policy v2 (still allows a and c: port range, an extra rule)" apply_both 2
check "... node1 publishes it" published "$gen"
touch "$SL_RUN/go.2"
check "phase 2: both established connections keep echoing" \
	bash -c "$(declare -f result expect_result); SL_RUN=$SL_RUN; expect_result p1a 2 'ok *' && expect_result p2a 2 'ok *'"

gen=$(generation)
check "apply policy v3 (allows app=a only)" apply_both 3
check "... node1 publishes it" published "$gen"
touch "$SL_RUN/go.3"
check "phase 3: p1a's connection goes on" expect_result p1a 3 "ok *"
reset_fast() { local r; r=$(result p2a 3); echo "p2a phase 3: $r"; [[ "$r" == reset\ * ]] &&
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 1.0 else 1)' "${r#reset }"; }
check "phase 3: p2a's connection is cut at once (ECONNRESET within 1 s)" reset_fast
check "p2a cannot open a new connection: timeout" expect_connect p2a timeout
check "p1a still opens new connections" expect_connect p1a ok

# sluicectl trace shows the verdict: p2b's SYNs (retransmitted) are traced on node1.
trace_deny() {
	(connect p2b; connect p2b) >/dev/null 2>&1 &
	local cp=$!
	timeout 15 "$SL_BUILD/control/cli/sluicectl" -s "$SL_RUN/node1.sock" trace 4 >"$SL_RUN/trace.out" 2>&1
	wait "$cp"
	cat "$SL_RUN/trace.out"
	grep -q "ip4-policy.*deny ingress" "$SL_RUN/trace.out"
}
check "sluicectl trace on node1: ip4-policy says deny ingress for p2b's SYN" trace_deny
check_summary
