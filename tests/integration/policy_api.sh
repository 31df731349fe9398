#!/bin/bash
# NetworkPolicy through the API (issue 12, control side): one sluiced (node 1 of
# scripts/lib/topo.sh, pods 10.244.1.2 and .3 attached), a kubectl-style List of 2
# Namespaces, 3 Pods and 2 NetworkPolicies applied with `sluicectl apply -f`, then:
#   show policies (-o json): selectors, types, local pods isolated, compiled rules;
#   policy check: allowed with the policy and rule named, denied with the reason, by address
#   and by NS/POD; a List with a bad policy refused with its field named and nothing applied;
#   delete networkpolicy; the state surviving a restart; a bad `networkpolicies` entry in the
#   config refused by `sluiced --check` with its path.
# Usage (root, repo root): SL_BUILD=build bash tests/integration/policy_api.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-slnp-} SL_RUN=${SL_RUN:-/tmp/slnp-run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
source scripts/lib/topo.sh
source scripts/lib/check.sh
trap 'topo_down; rm -rf "$SL_RUN"' EXIT
topo_up
mkdir -p "$SL_RUN"
J=$SL_RUN/list.json
cat >"$J" <<'JSON'
{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labels": {"team": "a"}}},
 {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "y"}},
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x", "labels": {"pod": "a"}},
  "spec": {"nodeName": "node1", "containers": [{"name": "c", "ports": [{"name": "serve-80", "containerPort": 80}]}]},
  "status": {"phase": "Running", "podIP": "10.244.1.2", "podIPs": [{"ip": "10.244.1.2"}]}},
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b", "namespace": "x", "labels": {"pod": "b"}},
  "spec": {"nodeName": "node1"}, "status": {"phase": "Running", "podIP": "10.244.1.3"}},
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "y", "labels": {"pod": "a"}},
  "spec": {"nodeName": "node2"}, "status": {"phase": "Running", "podIP": "10.244.2.2"}},
 {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
  "metadata": {"name": "deny", "namespace": "x"}, "spec": {"podSelector": {}}},
 {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
  "metadata": {"name": "allow-y", "namespace": "x"},
  "spec": {"podSelector": {"matchLabels": {"pod": "a"}},
           "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "y"}}}],
                        "ports": [{"port": "serve-80"}]}]}}]}
JSON

rm -f "$SL_RUN/node1.sock.state.json"
node_start 1 || exit 1

py() { python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($1) else (print(json.dumps(d)) or 1))"; }
policies_are() { ctl 1 -o json show policies | py "$1"; }
check_is() { local want=$1; shift; ctl 1 -o json policy check "$@" | py "$want"; }
refused() { ! ctl 1 apply -f "$1" 2>"$SL_RUN/err" && cat "$SL_RUN/err" && grep -qF -- "$2" "$SL_RUN/err"; }
allow="[r for r in d if r['name']=='allow-y'][0]"
deny="[r for r in d if r['name']=='deny'][0]"

apply_ok() { ctl 1 -o json apply -f "$J" | py "d['namespaces']==2 and d['pods']==3 and d['networkpolicies']==2"; }
check "apply -f: 2 namespaces, 3 pods, 2 networkpolicies" apply_ok
ctl 1 show policies | while IFS= read -r l; do note "$l"; done
check "show policies: deny isolates both local pods of x, no rules" policies_are \
	"len(d)==2 and $deny['pod_selector']=='<all>' and $deny['types']=='Ingress' and $deny['local_pods']==2 and $deny['compiled_rules']==0"
check "show policies: allow-y isolates x/a, one rule (y/a -> x/a:80 by the named port)" policies_are \
	"$allow['pod_selector']=='pod=a' and $allow['local_pods']==1 and $allow['compiled_rules']==1"
ctl 1 policy check y/a x/a 80/tcp | while IFS= read -r l; do note "$l"; done
check "policy check y/a -> x/a 80/TCP: allowed by x/allow-y ingress[0], enforced here" check_is \
	"d['verdict']=='allowed' and d['ingress']['reason']=='allowed by x/allow-y ingress[0]' and d['ingress']['enforced_here']" y/a x/a 80/tcp
check "policy check 10.244.2.2 -> 10.244.1.2 81: denied, isolated by 2 policies" check_is \
	"d['verdict']=='denied' and d['ingress']['reason'].startswith('denied: isolated by 2 policies')" 10.244.2.2 10.244.1.2 81
check "policy check x/a -> x/b 80/udp: denied (x/b isolated by deny only)" check_is \
	"d['verdict']=='denied' and d['ingress']['policies']=='x/deny'" x/a x/b 80/udp
unknown() { ! ctl 1 policy check x/nope x/a 80 2>"$SL_RUN/err" && grep -qF "src: 'x/nope' is not a known pod" "$SL_RUN/err"; }
check "policy check of an unknown pod refused, named" unknown

ctl 1 -o json show policies >"$SL_RUN/before.json"
cat >"$SL_RUN/bad.json" <<'JSON'
{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "extra", "namespace": "x"}},
 {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "bad", "namespace": "x"},
  "spec": {"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}}]}]}}]}
JSON
check "a List with a bad policy refused, the field named" refused "$SL_RUN/bad.json" \
	"items[1].spec.egress[0].to[0].ipBlock.except[0]: '10.1.0.0/24' is not strictly inside cidr 10.0.0.0/16"
check "... and nothing of it applied" diff <(ctl 1 -o json show policies) "$SL_RUN/before.json"

check "delete networkpolicy x/allow-y" ctl 1 delete networkpolicy x/allow-y
check "policy check y/a -> x/a 80: now denied" check_is "d['verdict']=='denied'" y/a x/a 80
del_unknown() { ! ctl 1 delete networkpolicy x/allow-y 2>"$SL_RUN/err" && grep -qF "networkpolicy x/allow-y not found" "$SL_RUN/err"; }
check "delete of an unknown networkpolicy refused" del_unknown

node_stop 1
node_start 1 || exit 1
check "after a restart: the same policies and pods (persisted state)" policies_are \
	"len(d)==1 and $deny['local_pods']==2"
check "after a restart: x/a still isolated" check_is "d['verdict']=='denied' and d['ingress']['policies']=='x/deny'" y/a x/a 80

node_config 1 | python3 -c "
import json, sys
c = json.load(sys.stdin)
c['networkpolicies'] = [{'metadata': {'name': 'a'}},
                        {'metadata': {'name': 'b'}, 'spec': {'ingress': [{'ports': [{'port': 80, 'endPort': 70}]}]}}]
print(json.dumps(c))" >"$SL_RUN/badconf.json"
check_conf() { ! "$SL_BUILD/control/sluiced" -c "$SL_RUN/badconf.json" --check >"$SL_RUN/err" 2>&1 &&
	cat "$SL_RUN/err" && grep -qF "networkpolicies[1].spec.ingress[0].ports[0].endPort: must be at least port (80)" "$SL_RUN/err"; }
check "sluiced --check: a bad networkpolicies entry named" check_conf
check_summary
