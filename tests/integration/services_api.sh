#!/bin/bash
# Services through the API: one sluiced (node 1 of scripts/lib/topo.sh), a kubectl-style
# List of 2 Services + 3 EndpointSlices applied with `sluicectl apply -f`, then:
#   show services / show backends (-o json): types, cluster IPs, ports, kube-proxy's
#   selection (ready endpoints; externalTrafficPolicy Local: node1's only; a duplicate
#   address in two slices counted once); delete of a Service and of a slice; a List with
#   one bad object, or one taking another Service's frontend, refused with its field named,
#   and nothing of it applied; the 4 MiB request limit; deletes of
#   unknown objects; the state surviving a restart; a bad `services` entry in the config
#   refused by `sluiced --check` with its path.
# The Services are what `kubectl create service ... --dry-run=client -o json` prints when
# kubectl is installed (the checked-in copy in tests/integration/data/ otherwise); the
# slices are written as the EndpointSlice controller writes them.
# Usage (root, repo root): SL_BUILD=build bash tests/integration/services_api.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-slsv-} SL_RUN=${SL_RUN:-/tmp/slsv-run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
source scripts/lib/topo.sh
source scripts/lib/check.sh
trap 'topo_down; rm -rf "$SL_RUN"' EXIT
topo_up
mkdir -p "$SL_RUN"
DATA=tests/integration/data
J=$SL_RUN/list.json

# The two Services: from kubectl when it is here (proves the format), else the copy.
if command -v kubectl >/dev/null 2>&1; then
	kubectl create service clusterip web --tcp=80:8080 --tcp=53:5353 --clusterip=10.96.0.10 \
		--dry-run=client -o json >"$SL_RUN/web.json" &&
	kubectl create service nodeport api --tcp=443:8443 --node-port=30443 \
		--dry-run=client -o json >"$SL_RUN/api.json" || exit 1
	note "Services made by $(kubectl version --client 2>/dev/null | head -1)"
else
	cp "$DATA/svc-web.json" "$SL_RUN/web.json"
	cp "$DATA/svc-api.json" "$SL_RUN/api.json"
	note "kubectl not installed: Services from $DATA"
fi
# A List as `kubectl get svc,endpointslices -o json` prints it: the api Service gets the
# fields the API server would add (cluster IP, namespace) and externalTrafficPolicy Local.
python3 - "$SL_RUN" "$DATA/slices.json" >"$J" <<'EOF' || exit 1
import json, sys
run, slices = sys.argv[1], sys.argv[2]
web = json.load(open(run + "/web.json"))
api = json.load(open(run + "/api.json"))
for s in (web, api):
    s["metadata"]["namespace"] = "default"
    s["metadata"]["uid"] = "00000000-0000-0000-0000-00000000000" + s["metadata"]["name"][0]
api["spec"]["clusterIP"] = "10.96.0.11"
api["spec"]["clusterIPs"] = ["10.96.0.11"]
api["spec"]["externalTrafficPolicy"] = "Local"
items = [web, api] + json.load(open(slices))["items"]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items,
                  "metadata": {"resourceVersion": ""}}, indent=2))
EOF

rm -f "$SL_RUN/node1.sock.state.json"
node_start 1 || exit 1

# JSON checks without jq: py EXPR over the JSON on stdin (as d) must be true.
py() { python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($1) else (print(json.dumps(d)) or 1))"; }
services_are() { ctl 1 -o json show services | py "$1"; }
backends_are() { ctl 1 -o json show backends | py "$1"; }
web="[r for r in d if r['name']=='web'][0]"
api="[r for r in d if r['name']=='api'][0]"
apply_ok() { ctl 1 -o json apply -f "$1" | py "d['services']==2 and d['endpointslices']==3"; }
# refused FILE TEXT: apply fails, its message contains TEXT.
refused() { ! ctl 1 apply -f "$1" 2>"$SL_RUN/err" && cat "$SL_RUN/err" && grep -qF -- "$2" "$SL_RUN/err"; }
state() { ctl 1 -o json show services; ctl 1 -o json show backends; }

check "apply -f: the List of 2 Services + 3 slices accepted" apply_ok "$J"
{ ctl 1 show services; ctl 1 show backends; } | while IFS= read -r l; do note "$l"; done
check "show services: web ClusterIP 10.96.0.10, 2 ports, 2 of 3 backends ready" services_are \
	"$web['type']=='ClusterIP' and $web['cluster_ip']=='10.96.0.10' and $web['ports']=='80/TCP->8080,53/TCP->5353' and $web['backends']=='2/3'"
check "show services: api NodePort 30443, 2 backends" services_are \
	"$api['type']=='NodePort' and $api['ports']=='443:30443/TCP->8443' and $api['backends']=='2/2' and len(d)==2"
# web: 10.244.1.2 is in both web slices: counted once, the ready copy.
check "show backends: web :80 -> 10.244.1.2, 10.244.2.2 (ready); 10.244.2.3 (terminating) unused" backends_are \
	"sorted((r['backend'], r['internal']) for r in d if r['name']=='web' and r['port']=='80-8080:80/TCP')==[('10.244.1.2:8080', True), ('10.244.2.2:8080', True), ('10.244.2.3:8080', False)]"
check "show backends: api, externalTrafficPolicy Local: node2's backend for cluster IP traffic only" backends_are \
	"sorted((r['backend'], r['node'], r['local'], r['internal'], r['external']) for r in d if r['name']=='api')==[('10.244.1.3:8443', 'node1', True, True, True), ('10.244.2.3:8443', 'node2', False, True, False)]"

state >"$SL_RUN/before.json"
cat >"$SL_RUN/bad.json" <<'JSON'
{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "extra", "namespace": "default"},
   "spec": {"clusterIP": "10.96.0.12", "ports": [{"port": 80}]}},
  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
   "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80, "targetPort": 70000}]}}]}
JSON
check "a List with a bad object refused, the field named" \
	refused "$SL_RUN/bad.json" "items[1].spec.ports[0].targetPort: must be 1-65535"
check "... and nothing of it applied (no 'extra', web unchanged)" \
	diff <(state) "$SL_RUN/before.json"
# Valid objects, but the second takes web's frontend: the model refuses the whole List.
cat >"$SL_RUN/clash.json" <<'JSON'
{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "extra", "namespace": "default"},
   "spec": {"clusterIP": "10.96.0.12", "ports": [{"port": 80}]}},
  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web2", "namespace": "default"},
   "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": "dns", "port": 53}]}}]}
JSON
check "a List taking another Service's frontend refused, the field named" refused "$SL_RUN/clash.json" \
	"items[1].spec.ports[0]: 10.96.0.10:53/TCP is already a frontend of service default/web"
check "... and nothing of it applied (no 'extra')" diff <(state) "$SL_RUN/before.json"
echo '{"kind":' >"$SL_RUN/x.json"
check "not JSON: refused by sluicectl with the byte" refused "$SL_RUN/x.json" "invalid JSON near byte"
del_unknown() { ! ctl 1 delete service default/nope 2>"$SL_RUN/err" && grep -qF "service default/nope not found" "$SL_RUN/err"; }
check "delete of an unknown Service refused" del_unknown
# sluicectl sends a file as it is (newlines between tokens made spaces); one with a raw
# newline inside a string (cJSON takes it) is printed again instead, and text after the
# value is ignored as before: the same List, applied again, changes nothing.
python3 - "$J" >"$SL_RUN/nl.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["items"][0]["metadata"].setdefault("annotations", {})["note"] = "line1@@line2"
sys.stdout.write(json.dumps(d, indent=2).replace("@@", "\n") + "\n# not JSON: ignored\n")
PY
check "apply -f of a List with a newline inside a string and text after it" apply_ok "$SL_RUN/nl.json"
check "... the same objects: nothing changed" diff <(state) "$SL_RUN/before.json"

# The request limit (4 MiB): sluicectl refuses a larger file itself; sluiced answers a
# larger raw request with an error, and then serves the next one.
python3 -c "import sys; sys.stdout.write('{\"kind\":\"List\",\"items\":[' + ' ' * (4 << 20) + ']}')" >"$SL_RUN/big.json"
check "apply -f of a file over 4 MiB refused by sluicectl" refused "$SL_RUN/big.json" "larger than 4194304 bytes"
oversize() {
	python3 - "$SL_RUN/node1.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
try:
    s.sendall(b'{"cmd":"show","what":"' + b"a" * (4 * 1024 * 1024 + 100) + b'"}')
    s.shutdown(socket.SHUT_WR)
except (BrokenPipeError, ConnectionResetError):
    pass
out = b""
while True:
    try:
        b = s.recv(65536)
    except (ConnectionResetError, socket.timeout):
        break
    if not b:
        break
    out += b
print(out.decode())
sys.exit(0 if b"request: larger than 4194304 bytes" in out else 1)
PY
}
check "a raw request over 4 MiB answered 'request: larger than 4194304 bytes'" oversize
check "... and the next request served" services_are "len(d)==2"

check "delete service api" ctl 1 delete service default/api
check "delete endpointslice web-2" ctl 1 delete endpointslice web-2
check "show services: web only, its terminating endpoint gone (2/2)" services_are \
	"len(d)==1 and $web['backends']=='2/2'"
check "show backends: no api rows" backends_are "all(r['name']=='web' for r in d) and len(d)==4"

node_stop 1
node_start 1 || exit 1
check "after a restart: the same Services and backends (persisted state)" services_are \
	"len(d)==1 and $web['backends']=='2/2' and $web['cluster_ip']=='10.96.0.10'"

node_config 1 | python3 -c "
import json, sys
c = json.load(sys.stdin)
c['services'] = [{'metadata': {'name': 'a'}, 'spec': {'ports': [{'port': 80}]}},
                 {'metadata': {'name': 'b'}, 'spec': {'ports': [{'port': 80, 'protocol': 'ICMP'}]}}]
print(json.dumps(c))" >"$SL_RUN/badconf.json"
check_conf() { ! "$SL_BUILD/control/sluiced" -c "$SL_RUN/badconf.json" --check >"$SL_RUN/err" 2>&1 &&
	cat "$SL_RUN/err" && grep -qF "services[1].spec.ports[0].protocol: 'ICMP' is not TCP, UDP or SCTP" "$SL_RUN/err"; }
check "sluiced --check: a bad services entry named" check_conf

# A List of 300 Services (cluster IPs 10.96.200.1-10.96.201.44, 10 endpoints each) in one
# apply: their Maglev tables are built ahead (docs/services.md), by the builder this machine
# gets (auto: one at SCHED_IDLE when no core is spare), each set taking one.
python3 -c "
import json
items = []
for i in range(300):
    name = 'many-%d' % i
    items.append({'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name': name, 'namespace': 'many'},
                  'spec': {'clusterIP': '10.96.%d.%d' % (200 + (i + 1) // 256, (i + 1) % 256),
                           'ports': [{'port': 80, 'protocol': 'TCP', 'targetPort': 8080}]}})
    items.append({'apiVersion': 'discovery.k8s.io/v1', 'kind': 'EndpointSlice',
                  'metadata': {'name': name + '-1', 'namespace': 'many',
                               'labels': {'kubernetes.io/service-name': name}},
                  'addressType': 'IPv4', 'ports': [{'port': 8080, 'protocol': 'TCP'}],
                  'endpoints': [{'addresses': ['10.244.%d.%d' % (2 + i // 25, (i % 25) * 10 + k + 1)],
                                 'conditions': {'ready': True}} for k in range(10)]})
print(json.dumps({'apiVersion': 'v1', 'kind': 'List', 'items': items}))" >"$SL_RUN/many.json"
lb_stats() { ctl 1 -o json show stats | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["lb"]))'; }
lb_stats >"$SL_RUN/lb0.json"
check "apply -f of 300 Services + 300 slices" ctl 1 apply -f "$SL_RUN/many.json"
built_ahead() {
	lb_stats | python3 -c "
import json, sys
a, b = json.load(open('$SL_RUN/lb0.json')), json.load(sys.stdin)
d = {k: b[k] - a[k] for k in a if k.startswith('maglev_ahead') or k == 'sets'}
print(b['maglev_builders'], d)
sys.exit(0 if b['maglev_builders'] >= 1 and d['sets'] == 300 and d['maglev_ahead'] == 300
         and d['maglev_ahead_used'] + d['maglev_ahead_late'] == 300 else 1)"
}
check "... their 300 Maglev tables built ahead, every set took one" built_ahead

# The state file's compaction in a forked child (control/sources/sl_persist.h): the same
# List applied again until the journal outgrows the snapshot and sluiced forks a child to
# write it (DPDK's memory not copied); a change right after; a clean stop waits for the
# child and leaves one journal; the restart has all of it.
api_stats() { ctl 1 -o json show stats | python3 -c "import json,sys; a=json.load(sys.stdin)['api']; print(a.get('state_forks', -1), a.get('state_fork_failures', -1))"; }
forked() {
	local i
	for i in 1 2 3 4 5 6; do
		ctl 1 apply -f "$SL_RUN/many.json" >/dev/null || return 1
		read -r forks failures < <(api_stats)
		[ "$forks" -ge 1 ] && break
	done
	echo "forks $forks failures $failures after $i applies"
	[ "$forks" -ge 1 ] && [ "$failures" = 0 ]
}
check "the journal outgrows the snapshot: a child writes the next one" forked
check "... a change right after (delete many-7)" ctl 1 delete service many/many-7
node_stop 1
one_journal() { ! ls -a "$SL_RUN" | grep -qE 'state\.json\.journal\.next|state\.json\.tmp\.'; }
check "... a clean stop leaves no .journal.next and no temporary file" one_journal
node_start 1 || exit 1
check "... after a restart: web and the 300 but many-7" services_are \
	"len(d)==300 and not any(r['name']=='many-7' for r in d) and any(r['name']=='web' for r in d)"
check_summary
