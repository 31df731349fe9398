#!/bin/bash
# The Kubernetes sync end to end, against the stand-in API server
# (tests/integration/kube_apiserver.py, HTTPS with a CA made here by openssl, bearer tokens):
#   node1's sluiced runs with --kubeconfig only for its cluster state (no Services or remote
#   nodes in its config); pods p1a (client) and p1b (backend) as in services.sh.
#   - the stand-in is proven by real clients: kubectl lists, watches (get -w) and deletes
#     through it, the official Python client lists and runs watch.Watch().stream;
#   - Nodes: node2 (flannel's annotations) becomes a remote node; node1's own Node gets
#     sluiced's VTEP address and MAC in flannel's form (a PATCH of that Node only);
#   - Services + EndpointSlices created -> the ClusterIP answers from the backend pod; an
#     update (new port) and a delete are reflected;
#   - watches dropped -> resumed from the last resourceVersion, no relist;
#   - a 410 mid-watch (the stand-in compacts) -> relist;
#   - API server stopped: traffic keeps flowing on the last state; an object deleted and one
#     created meanwhile, history compacted; started again -> the model converges (the
#     deleted object is gone, the new one there) without a restart;
#   - the token file rotates (old token revoked) -> sluiced reads it again and resyncs;
#   - kubectl delete of a Service -> gone from sluiced;
#   - streaming lists (KEP-3157): every first list is a watch with sendInitialEvents (the
#     stand-in serves them); the server then refusing them (422, the WatchList feature off)
#     -> the next relist falls back to list + watch; a sluiced started against a server that
#     ignores them (an older one: a plain watch) falls back too and converges.
# Usage (root, repo root): SL_BUILD=build bash tests/integration/k8s_sync.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-slks-} SL_RUN=${SL_RUN:-/tmp/slks-run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
source scripts/lib/topo.sh
source scripts/lib/check.sh
source scripts/lib/kube.sh
PY=/usr/bin/python3 # Debian's, with python3-kubernetes (scripts/setup.sh)
K=$SL_RUN/k8s
API_PORT=6443 ADMIN_PORT=6444
PIDS=()
cleanup() {
	node_stop 1 >/dev/null 2>&1
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	topo_down
	rm -rf "$SL_RUN"
}
trap cleanup EXIT
topo_up
mkdir -p "$K"

# kubeconfig FILE USER-LINE: CA by file, the user's credential line as given.
kubeconfig() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $K/ca.crt
users:
- name: u
  user:
    $2
contexts:
- name: test
  context: {cluster: test, user: u}
current-context: test
EOF
}
kube_certs "$K" IP:127.0.0.1,DNS:localhost || { echo "openssl failed"; exit 1; }
echo -n tok-sluice-1 >"$K/token"
kubeconfig "$K/sluiced.kubeconfig" "tokenFile: $K/token"
kubeconfig "$K/admin.kubeconfig" "token: tok-admin"
export KUBECACHEDIR=$K/cache
kc() { in_ns n1 kubectl --kubeconfig "$K/admin.kubeconfig" --request-timeout=5s "$@"; }

ip netns exec "$(ns n1)" python3 tests/integration/kube_apiserver.py --port $API_PORT --admin-port $ADMIN_PORT \
	--cert "$K/server.crt" --key "$K/server.key" --ca "$K/ca.crt" \
	--tokens tok-admin,tok-sluice-1 >"$K/apiserver.log" 2>&1 &
PIDS+=($!)
# adm JSON: an admin command (the stand-in's control endpoint).
adm() { in_ns n1 curl -sf --max-time 5 -X POST -d "$1" "http://127.0.0.1:$ADMIN_PORT/"; }
for _ in $(seq 50); do adm '{"op":"state"}' >/dev/null && break; sleep 0.1; done

# Objects.
svc() { # svc NAME IP PORT TARGET
	adm "{\"op\":\"put\",\"object\":{\"kind\":\"Service\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"default\"},\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"$2\",\"clusterIPs\":[\"$2\"],\"ports\":[{\"port\":$3,\"protocol\":\"TCP\",\"targetPort\":$4}]}}}"
}
eslice() { # eslice NAME SERVICE IP NODE PORT
	adm "{\"op\":\"put\",\"object\":{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"default\",\"labels\":{\"kubernetes.io/service-name\":\"$2\"}},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"$3\"],\"conditions\":{\"ready\":true},\"nodeName\":\"$4\"}],\"ports\":[{\"port\":$5,\"protocol\":\"TCP\"}]}}"
}
node() { # node NAME IP PODCIDR [ANNOTATIONS-JSON]
	local ann=${4:-}
	[ -n "$ann" ] || ann='{}'
	adm "{\"op\":\"put\",\"object\":{\"kind\":\"Node\",\"metadata\":{\"name\":\"$1\",\"annotations\":$ann},\"spec\":{\"podCIDR\":\"$3\",\"podCIDRs\":[\"$3\"]},\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$2\"},{\"type\":\"Hostname\",\"address\":\"$1\"}]}}}"
}
del() { adm "{\"op\":\"delete\",\"kind\":\"$1\",\"namespace\":\"default\",\"name\":\"$2\"}"; }

node node1 198.18.0.1 10.244.1.0/24 >/dev/null
node node2 198.18.0.2 10.244.2.0/24 '{"flannel.alpha.coreos.com/backend-type":"vxlan","flannel.alpha.coreos.com/backend-data":"{\"VNI\":42,\"VtepMAC\":\"0a:58:0a:f4:02:00\"}","flannel.alpha.coreos.com/public-ip":"198.18.0.2"}' >/dev/null
svc web 10.96.0.10 80 8080 >/dev/null
eslice web-1 web 10.244.1.3 node1 8080 >/dev/null
svc gone 10.96.0.20 80 8080 >/dev/null

# Real clients against the stand-in (its fidelity, before sluiced relies on it).
kubectl_lists() {
	[ "$(kc get svc -o name | sort | tr '\n' ' ')" = "service/gone service/web " ] &&
		kc get endpointslices -A -o json | $PY -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if [i["metadata"]["name"] for i in d["items"]] == ["web-1"] else 1)'
}
check "kubectl lists Services and EndpointSlices" kubectl_lists
check "Python client: list and watch.Watch().stream" in_ns n1 $PY - "$K/admin.kubeconfig" <<'PY'
import sys
from kubernetes import client, config, watch
config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
names = sorted(s.metadata.name for s in v1.list_service_for_all_namespaces().items)
assert names == ["gone", "web"], names
sl = client.DiscoveryV1Api().list_namespaced_endpoint_slice("default").items
assert [s.metadata.name for s in sl] == ["web-1"] and sl[0].endpoints[0].addresses == ["10.244.1.3"]
evs = [(e["type"], e["object"].metadata.name)
       for e in watch.Watch().stream(v1.list_namespaced_service, "default", timeout_seconds=1)]
assert ("ADDED", "web") in evs and ("ADDED", "gone") in evs, evs
nodes = {n.metadata.name: n.spec.pod_cidr for n in v1.list_node().items}
assert nodes == {"node1": "10.244.1.0/24", "node2": "10.244.2.0/24"}, nodes
print("ok", evs)
PY

# node1: its config has its pods but no Services and no remote nodes.
node_config 1 | $PY -c '
import json, sys
c = json.load(sys.stdin)
c.pop("nodes", None)
c["node"]["pod_cidr"] = "10.244.1.0/25" # replaced by the Node podCIDR (--pod-cidr-from-node)
c["conntrack"] = {"size": 65536}
print(json.dumps(c))' >"$SL_RUN/n1.json"
# sluiced options go before "--" (EAL): node_start passes config and socket only, so run it
# through a wrapper that adds ours.
cat >"$K/sluiced" <<EOF
#!/bin/sh
exec $(realpath "$SL_BUILD")/control/sluiced --kubeconfig $K/sluiced.kubeconfig --node-name node1 \\
	--pod-cidr-from-node "\$@"
EOF
chmod +x "$K/sluiced"
mkdir -p "$K/bin/control/cli"
ln -sf "$K/sluiced" "$K/bin/control/sluiced"
ln -sf "$(realpath "$SL_BUILD")/control/cli/sluicectl" "$K/bin/control/cli/sluicectl"
SL_BUILD=$K/bin node_start 1 "$SL_RUN/n1.json" || exit 1
ctl() { local n=$1; shift; "$K/bin/control/cli/sluicectl" -s "$SL_RUN/node$n.sock" "$@"; }
ip netns exec "$(ns p1b)" python3 tests/integration/svc_backend.py p1b 8080 &
PIDS+=($!)
ip netns exec "$(ns p1b)" python3 tests/integration/svc_backend.py p1b 8081 &
PIDS+=($!)
wait_listen p1b 8080 && wait_listen p1b 8081 || exit 1

# sync EXPR: `show sync` (as s, rows by resource) satisfies the Python expression.
sync() {
	ctl 1 -o json show sync | $PY -c 'import json, sys
d = json.load(sys.stdin)
s = {r["resource"]: r for r in d["resources"]}
s["node/self"] = d["node"]
ok = eval(sys.argv[1])
if not ok: print(json.dumps(s, indent=1))
sys.exit(0 if ok else 1)' "$1"
}
# until SECONDS CMD...: poll CMD every 0.1 s until it succeeds (its last output on failure).
until_ok() {
	local t=$(( $1 * 10 )) i
	shift
	for ((i = 0; i < t; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	"$@"
	return 1
}
has_svc() { ctl 1 -o json show services | $PY -c 'import json,sys; sys.exit(0 if any(s["name"] == sys.argv[1] for s in json.load(sys.stdin)) else 1)' "$1"; }
no_svc() { ! has_svc "$1"; }
client() { in_ns p1a python3 tests/integration/svc_client.py "$@"; }
answers() { # answers VIP PORT N: N connections, all answered by p1b
	local out
	out=$(client tcp "$1" "$2" "$3")
	echo "$out"
	$PY -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["answers"] == {"p1b": int(sys.argv[2])} else 1)' "$out" "$3"
}
lists() { # lists RESOURCE: how many list (not watch) requests the stand-in served for it
	adm '{"op":"log"}' | $PY -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e["method"] == "GET" and e["resource"] == sys.argv[1] and not e["name"] and not e["query"].get("watch")))' "$1"
}

pod_cidr_from_node() {
	ctl 1 -o json version | $PY -c 'import json,sys; v=json.load(sys.stdin); print(v); sys.exit(0 if v["pod_cidr"] == "10.244.1.0/24" and v["gateway"] == "10.244.1.1" else 1)'
}
check "pod CIDR 10.244.1.0/24 from the Node (config said /25), as sluice-cni reads it (version)" \
	pod_cidr_from_node
check "sync: nodes, services, endpointslices listed and watching" \
	until_ok 10 sync 'all(s[r]["state"] == "watching" and s[r]["listed"] for r in ("nodes", "services", "endpointslices"))'
check "Services from the API server in the model (web, gone)" until_ok 5 has_svc gone
check "ClusterIP 10.96.0.10:80 answers from the backend pod p1b" until_ok 5 answers 10.96.0.10 80 3
remote_nodes() {
	ctl 1 -o json show nodes | $PY -c 'import json,sys; n=json.load(sys.stdin); print(n); sys.exit(0 if [(x["name"], x["pod_cidr"]) for x in n] == [("node2", "10.244.2.0/24")] else 1)'
}
check "Node node2 (flannel annotations) is a remote node, pod CIDR 10.244.2.0/24" until_ok 5 remote_nodes
UPLINK_MAC=$(in_ns n1 cat /sys/class/net/sl-up0/address)
own_node_published() {
	adm '{"op":"get","kind":"Node","name":"node1"}' | $PY -c 'import json,sys
a = json.load(sys.stdin)["metadata"].get("annotations", {})
d = json.loads(a.get("flannel.alpha.coreos.com/backend-data", "{}"))
ok = (a.get("flannel.alpha.coreos.com/backend-type") == "vxlan" and a.get("flannel.alpha.coreos.com/public-ip") == "198.18.0.1"
      and d == {"VNI": 42, "VtepMAC": sys.argv[1]})
print(a); sys.exit(0 if ok else 1)' "$UPLINK_MAC"
}
check "own Node node1 PATCHed with flannel's annotations (VTEP 198.18.0.1, MAC $UPLINK_MAC, VNI 42)" \
	until_ok 5 own_node_published
only_own_patched() {
	adm '{"op":"log"}' | $PY -c 'import json,sys
p = [(e["resource"], e["name"]) for e in json.load(sys.stdin) if e["method"] != "GET"]
print(p); sys.exit(0 if p and set(p) == {("nodes", "node1")} else 1)'
}
check "... the only write sluiced made is PATCH nodes/node1" only_own_patched
check "bookmarks received" until_ok 5 sync "s['services']['bookmarks'] > 0"
check "streaming lists: every resource listed by a watch-list (initial events + end bookmark)" \
	sync 'all(r["last_list"] == "watch-list" and r["streamed"] >= 1 and r["watch_list_fallbacks"] == 0 for n, r in s.items() if n != "node/self")'
streamed_requests() {
	adm '{"op":"log"}' | $PY -c 'import json,sys
log = [e for e in json.load(sys.stdin) if e["method"] == "GET" and not e["name"]]
wl = [e for e in log if e["query"].get("sendInitialEvents")]
first = log.index(wl[0]) if wl else 0  # sluiced starts (kubectl and Python listed before)
plain = [e for e in log[first:] if not e["query"].get("watch")]
print(len(wl), "watch-lists", len(plain), "lists", wl[:1])
q = wl[0]["query"] if wl else {}
sys.exit(0 if len({e["resource"] for e in wl}) == 6 and not plain and q.get("watch") == "1"
         and q.get("sendInitialEvents") == "true" and q.get("resourceVersionMatch") == "NotOlderThan"
         and q.get("allowWatchBookmarks") == "true" and q.get("resourceVersion", "") == "" else 1)'
}
check "... the stand-in saw watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion= for the 6 resources, and no list request" \
	streamed_requests
check "show sync: node/self has pod CIDR 10.244.1.0/24 from the Node, published" \
	until_ok 5 sync 's["node/self"]["pod_cidr"] == "10.244.1.0/24" and s["node/self"]["state"] == "published"'

# Update: web's port 80 -> 81 (target 8081).
svc web 10.96.0.10 81 8081 >/dev/null
eslice web-1 web 10.244.1.3 node1 8081 >/dev/null
check "update: 10.96.0.10:81 answers after the Service and slice changed" until_ok 5 answers 10.96.0.10 81 3
not_answering() { ! answers "$@"; }
check "... and :80 no longer does" not_answering 10.96.0.10 80 1

# NetworkPolicy from the API server: Namespace and Pods (the policy's view of the cluster),
# then a policy isolating p1b (app=web) that admits only role=client pods.
adm '{"op":"put","object":{"kind":"Namespace","metadata":{"name":"default","labels":{"kubernetes.io/metadata.name":"default"}}}}' >/dev/null
kpod() { # kpod NAME IP LABELS-JSON
	adm "{\"op\":\"put\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"default\",\"labels\":$3},\"spec\":{\"nodeName\":\"node1\",\"containers\":[{\"name\":\"c\"}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"$2\",\"podIPs\":[{\"ip\":\"$2\"}]}}}"
}
kpod p1a 10.244.1.2 '{"app":"cli"}' >/dev/null
kpod p1b 10.244.1.3 '{"app":"web"}' >/dev/null
adm '{"op":"put","object":{"kind":"NetworkPolicy","metadata":{"name":"web-in","namespace":"default"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],"ingress":[{"from":[{"podSelector":{"matchLabels":{"role":"client"}}}]}]}}}' >/dev/null
has_policy() { ctl 1 -o json show policies | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d); sys.exit(0 if "web-in" in json.dumps(d) else 1)'; }
policy_synced() {
	sync 'all(s[r]["state"] == "watching" for r in ("namespaces", "pods", "networkpolicies"))' &&
		has_policy
}
check "sync: namespaces, pods, networkpolicies listed and watching; the policy in the model" \
	until_ok 10 policy_synced
check "... p1a (app=cli) -> 10.96.0.10:81 (p1b, isolated) is denied" until_ok 5 not_answering 10.96.0.10 81 1
kpod p1a 10.244.1.2 '{"app":"cli","role":"client"}' >/dev/null
check "p1a labelled role=client through the API server: allowed again" until_ok 5 answers 10.96.0.10 81 3
del NetworkPolicy web-in >/dev/null
kpod p1a 10.244.1.2 '{"app":"cli"}' >/dev/null
check "policy deleted through the API server: p1a (no longer role=client) still answered" \
	until_ok 5 answers 10.96.0.10 81 3

# Watch dropped: resumes from its resourceVersion, no relist.
L0=$(lists services)
rv0=$(ctl 1 -o json show sync | $PY -c 'import json,sys; print({r["resource"]: r for r in json.load(sys.stdin)["resources"]}["services"]["resource_version"])')
drop_watches() { adm '{"op":"drop_watches"}' | grep -v '"dropped": 0'; }
check "drop every watch (the stand-in breaks the connections)" drop_watches
svc after-drop 10.96.0.30 80 8080 >/dev/null
check "after the drop a new Service arrives (watch resumed)" until_ok 5 has_svc after-drop
same_lists() { local n; n=$(lists services); echo "lists: $L0 before, $n after"; [ "$n" = "$L0" ]; }
check "... without a relist (services list requests unchanged)" same_lists
resumed_from() {
	adm '{"op":"log"}' | $PY -c 'import json,sys
w = [e["query"] for e in json.load(sys.stdin) if e["resource"] == "services" and e["query"].get("watch")]
print(w[-2:])
q = w[-1]
sys.exit(0 if len(w) >= 2 and int(q["resourceVersion"]) >= int(sys.argv[1]) > 0 and q["allowWatchBookmarks"] == "true"
         and 300 <= int(q["timeoutSeconds"]) < 600
         and q["labelSelector"] == "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless" else 1)' "$1"
}
check "... the new watch started from resourceVersion $rv0 or later (bookmarks, timeout in [300,600), kube-proxy's selector)" \
	resumed_from "$rv0"

# kubectl watches (get -w) and deletes through the stand-in; sluiced follows the delete.
in_ns n1 kubectl --kubeconfig "$K/admin.kubeconfig" get svc -w -o json --output-watch-events \
	>"$K/kubectl-watch.out" 2>&1 &
PIDS+=($!)
kubectl_watching() { grep -q '"type":"ADDED".*"name":"after-drop"' "$K/kubectl-watch.out"; }
check "kubectl get -w lists the Services as ADDED" until_ok 10 kubectl_watching
check "kubectl delete svc after-drop" kc delete svc after-drop --wait=true
check "... gone from sluiced's model" until_ok 5 no_svc after-drop
kubectl_watched() {
	grep -q '"type":"ADDED".*"name":"web"' "$K/kubectl-watch.out" &&
		grep -q '"type":"DELETED".*"name":"after-drop"' "$K/kubectl-watch.out" ||
		{ tail -c 2000 "$K/kubectl-watch.out"; false; }
}
check "kubectl get -w saw the DELETED event" until_ok 5 kubectl_watched

# 410 mid-watch: the stand-in compacts its history; the watches get an ERROR 410 event.
R0=$(ctl 1 -o json show sync | $PY -c 'import json,sys; print({r["resource"]: r for r in json.load(sys.stdin)["resources"]}["services"]["relists"])')
adm '{"op":"expire"}' >/dev/null
check "410 ERROR event mid-watch -> relist (services relists > $R0), watching again" \
	until_ok 5 sync "s['services']['relists'] > $R0 and s['services']['expired'] > 0 and s['services']['state'] == 'watching'"

# The server now refuses streaming lists as kube-apiserver with the WatchList feature off
# (422 Invalid): the next relist falls back to list + watch (and stays there).
adm '{"op":"watch_list","mode":"reject"}' >/dev/null
adm '{"op":"expire"}' >/dev/null
check "streaming list refused (422): services relisted by list + watch (list_mode list, 1 fallback)" \
	until_ok 10 sync "s['services']['state'] == 'watching' and s['services']['last_list'] == 'list' and s['services']['list_mode'] == 'list' and s['services']['watch_list_fallbacks'] == 1 and 'HTTP 422' in s['services']['last_error']"
check "... and the stand-in served services lists again" test "$(lists services)" -gt 0

# API server down: traffic keeps flowing; changes made meanwhile land when it is back.
A0=$(ctl 1 -o json show sync | $PY -c 'import json,sys; print({r["resource"]: r for r in json.load(sys.stdin)["resources"]}["services"]["applied"])')
adm '{"op":"stop"}' >/dev/null
check "API server stopped: sync retrying" until_ok 10 sync 's["services"]["state"] == "retrying" and s["services"]["errors"] > 0'
check "... traffic to 10.96.0.10:81 still flows (last state kept)" answers 10.96.0.10 81 3
del Service gone >/dev/null
svc while-away 10.96.0.40 80 8080 >/dev/null
adm '{"op":"expire"}' >/dev/null # the history of the downtime is compacted away
adm '{"op":"start"}' >/dev/null
check "API server back: the Service created while away arrives" until_ok 40 has_svc while-away
check "... the Service deleted while away is gone (relist diff)" until_ok 5 no_svc gone
check "... the relist handed on only while-away (applied $A0 -> $((A0 + 1))): web not applied twice" \
	sync "s['services']['applied'] == $A0 + 1"
check "... web still answering" answers 10.96.0.10 81 2

# Token rotation: the old token is revoked and the file rewritten; watches broken so the
# next requests need the new token.
TR=$(ctl 1 -o json show sync | $PY -c 'import json,sys; print(json.load(sys.stdin)["node"]["token_reads"])')
adm '{"op":"tokens","tokens":["tok-admin","tok-sluice-2"]}' >/dev/null
echo -n tok-sluice-2 >"$K/token.new" && mv "$K/token.new" "$K/token"
adm '{"op":"drop_watches"}' >/dev/null
svc after-rotation 10.96.0.50 80 8080 >/dev/null
rotated() { has_svc after-rotation && sync "s['node/self']['token_reads'] > $TR"; }
check "token file rotated: read again ($TR reads before), new Service arrives" until_ok 20 rotated

table() { ctl 1 show sync | tee /dev/stderr | grep -q 'services.*watching'; }
check "show sync (table) lists the resources" table
check "sluiced stops cleanly" node_stop 1

# An older server that ignores sendInitialEvents and resourceVersionMatch (a plain watch:
# ADDED for everything, bookmarks without k8s.io/initial-events-end): a sluiced started
# against it (kubernetes.watch_list "auto", given) falls back to list + watch and converges.
adm '{"op":"watch_list","mode":"ignore"}' >/dev/null
adm '{"op":"bookmarks","seconds":0.3}' >/dev/null
$PY -c 'import json, sys
c = json.load(open(sys.argv[1])); c["kubernetes"] = {"watch_list": "auto"}
json.dump(c, open(sys.argv[1], "w"))' "$SL_RUN/n1.json"
SL_BUILD=$K/bin node_start 1 "$SL_RUN/n1.json" || exit 1
check "server ignoring streaming lists: every resource fell back to list + watch, watching" \
	until_ok 20 sync 'all(r["state"] == "watching" and r["last_list"] == "list" and r["watch_list_fallbacks"] == 1 for n, r in s.items() if n != "node/self")'
check "... the Services are there (web, while-away, after-rotation), 10.96.0.10:81 answers" \
	until_ok 5 answers 10.96.0.10 81 2
check "... has_svc while-away" has_svc while-away
check "sluiced stops cleanly (2)" node_stop 1
check_summary
