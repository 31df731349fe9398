"""The conformance cases: the cluster model (namespaces x, y, z; pods a, b, c in each, spread
over two sluice nodes) and the NetworkPolicy cases replayed on it.

UPSTREAM: the specs of Kubernetes' test/e2e/network/netpol/network_policy.go (TCP, UDP and
SCTP contexts), one case each, in its order, named after the spec. Where a case has an
`upstream` entry, the expected matrix is also written the way the upstream spec writes it
(Reachability helpers), and the driver checks the reference evaluator (truth.py) against it.
CYCLONUS: combinations in the style of the cyclonus generator (mattfenwick/cyclonus):
target selectors x peers x ports/protocols x policy types, stacked and conflicting
policies, and label/policy actions in sequence.

A case is {"name", "steps"}; steps, in order:
  {"op": "create", "policy": OBJ}          create or replace (update) a NetworkPolicy
  {"op": "delete", "policy": "NS/NAME"}
  {"op": "pod_labels", "pod": "NS/NAME", "labels": {...}}   replace a pod's labels
  {"op": "ns_labels", "ns": "NS", "labels": {...}}          replace a namespace's labels
  {"op": "probe", "on": [(PORT, PROTO), ...], "upstream": {(PORT, PROTO): fn(pods)}}
A probe step compares every cell of each (port, proto) matrix with the evaluator.
"""
from truth import Reachability, NS_NAME_LABEL

NAMESPACES = ("x", "y", "z")
POD_NAMES = ("a", "b", "c")
# Spread: alternate nodes, so every namespace has pods on both and pairs cross both ways.
PODS = []
_n = {1: 2, 2: 2}
for _i, (_ns, _p) in enumerate((ns, p) for ns in NAMESPACES for p in POD_NAMES):
    _node = 1 if _i % 2 == 0 else 2
    PODS.append({"key": "%s/%s" % (_ns, _p), "ns": _ns, "name": _p, "node": _node,
                 "ip": "10.244.%d.%d" % (_node, _n[_node])})
    _n[_node] += 1
POD_KEYS = [p["key"] for p in PODS]
IP = {p["key"]: p["ip"] for p in PODS}
PROTOS = ("TCP", "UDP", "SCTP")


def namespace_obj(ns, labels=None):
    lab = {"ns": ns, NS_NAME_LABEL: ns} if labels is None else dict(labels)
    lab.setdefault(NS_NAME_LABEL, ns)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": lab}}


def pod_obj(key, labels=None):
    p = next(x for x in PODS if x["key"] == key)
    lab = {"pod": p["name"]} if labels is None else dict(labels)
    containers = [{"name": "cont-%d-%s" % (port, proto.lower()), "image": "agnhost",
                   "ports": [{"name": "serve-%d-%s" % (port, proto.lower()),
                              "containerPort": port, "protocol": proto}]}
                  for port in (80, 81) for proto in PROTOS]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": p["name"], "namespace": p["ns"], "labels": lab},
            "spec": {"nodeName": "node%d" % p["node"], "containers": containers},
            "status": {"phase": "Running", "podIP": p["ip"], "podIPs": [{"ip": p["ip"]}]}}


# --- policy builders ---------------------------------------------------------------------

def sel(**labels):
    return {"matchLabels": dict(labels)}


def expr(key, op, *values):
    e = {"key": key, "operator": op}
    if values:
        e["values"] = list(values)
    return {"matchExpressions": [e]}


ALL = {}  # the empty selector


def peer(pod=None, ns=None, cidr=None, except_=None):
    p = {}
    if pod is not None:
        p["podSelector"] = pod
    if ns is not None:
        p["namespaceSelector"] = ns
    if cidr is not None:
        p["ipBlock"] = {"cidr": cidr}
        if except_:
            p["ipBlock"]["except"] = list(except_)
    return p


def port(p=None, proto=None, end=None):
    x = {}
    if proto is not None:
        x["protocol"] = proto
    if p is not None:
        x["port"] = p
    if end is not None:
        x["endPort"] = end
    return x


def rule(peers=None, ports=None, key="from"):
    r = {}
    if peers is not None:
        r[key] = list(peers)
    if ports is not None:
        r["ports"] = list(ports)
    return r


def irule(peers=None, ports=None):
    return rule(peers, ports, "from")


def erule(peers=None, ports=None):
    return rule(peers, ports, "to")


def np(name, ns, pod_sel, ingress=None, egress=None, types=None):
    """A NetworkPolicy; like upstream's SetSpecIngressRules/SetSpecEgressRules, passing
    ingress/egress (even []) adds that policyType; types="default" leaves policyTypes out."""
    spec = {"podSelector": pod_sel}
    t = []
    if ingress is not None:
        spec["ingress"] = list(ingress)
        t.append("Ingress")
    if egress is not None:
        spec["egress"] = list(egress)
        t.append("Egress")
    if types is None:
        spec["policyTypes"] = t
    elif types != "default":
        spec["policyTypes"] = list(types)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def create(p):
    return {"op": "create", "policy": p}


def delete(key):
    return {"op": "delete", "policy": key}


def probe(*on, upstream=None):
    return {"op": "probe", "on": list(on) or [(80, "TCP"), (81, "TCP")],
            "upstream": upstream or {}}


def R(default=True):
    return Reachability(POD_KEYS, default)


P = peer  # short aliases in the tables below
T80, T81, U80, U81, S80, S81 = (80, "TCP"), (81, "TCP"), (80, "UDP"), (81, "UDP"), \
    (80, "SCTP"), (81, "SCTP")
NSY = sel(**{NS_NAME_LABEL: "y"})
NOT_X = expr(NS_NAME_LABEL, "NotIn", "x")


def _u_deny_ingress_x():
    r = R()
    r.expect_peer((None, None), ("x", None), False)
    return r


def _u_deny_all_x():
    r = _u_deny_ingress_x()
    r.expect_peer(("x", None), (None, None), False)
    return r


def _u_xa_from_xb():
    r = R()
    r.expect_all_ingress("x/a", False)
    r.expect("x/b", "x/a", True)
    return r


def _u_xa_from_y():
    r = R()
    r.expect_peer(("x", None), ("x", "a"), False)
    r.expect_peer(("z", None), ("x", "a"), False)
    return r


def _u_xa_from_yb_zb():
    r = R()
    r.expect_all_ingress("x/a", False)
    r.expect("y/b", "x/a", True)
    r.expect("z/b", "x/a", True)
    return r


def _u_pod_or_ns():
    r = R()
    r.expect("x/a", "x/a", False)
    r.expect("x/c", "x/a", False)
    return r


def _u_xa_only_y_81():
    r = R()
    r.expect_peer(("x", None), ("x", "a"), False)
    r.expect_peer(("y", None), ("x", "a"), True)
    r.expect_peer(("z", None), ("x", "a"), False)
    return r


def _u_xa_denied():
    r = R()
    r.expect_all_ingress("x/a", False)
    return r


def _u_x_egress_81():
    r = R()
    r.expect_peer(("x", None), (None, None), False)
    return r


def _u_ie_81():
    r = R()
    r.expect_all_ingress("x/a", False)
    r.expect_all_egress("x/a", False)
    r.expect("x/b", "x/a", True)
    return r


def _u_cidr_yb():
    r = R()
    r.expect_all_egress("x/a", False)
    r.expect("x/a", "y/b", True)
    return r


def _u_except_xb():
    r = R()
    r.expect("x/a", "x/b", False)
    return r


def _u_client_side_egress():
    r = R()
    r.expect_peer(("x", "a"), (None, None), False)
    r.expect_peer((None, None), ("y", "a"), False)
    r.expect_peer(("x", "a"), ("y", "a"), True)
    r.expect_peer((None, None), ("y", "b"), False)
    return r


def _u_egress_not_y():
    r = R()
    r.expect_peer(("x", "a"), ("y", None), False)
    return r


def _u_all():
    return R()


TCP2 = (T80, T81)
UPSTREAM = [
    {"name": "upstream: should support a 'default-deny-ingress' policy",
     "steps": [create(np("deny-ingress", "x", ALL, ingress=[])),
               probe(*TCP2, upstream={T80: _u_deny_ingress_x})]},
    {"name": "upstream: should support a 'default-deny-all' policy",
     "steps": [create(np("deny-all", "x", ALL, ingress=[], egress=[])),
               probe(*TCP2, upstream={T80: _u_deny_all_x})]},
    {"name": "upstream: should enforce policy to allow traffic from pods within server namespace based on PodSelector",
     "steps": [create(np("x-a-allows-x-b", "x", sel(pod="a"), ingress=[irule([P(pod=sel(pod="b"))])])),
               probe(*TCP2, upstream={T80: _u_xa_from_xb})]},
    {"name": "upstream: should enforce policy to allow ingress traffic for a target",
     "steps": [create(np("deny-all", "x", ALL, ingress=[])),
               create(np("allow-all-to-a", "x", sel(pod="a"), ingress=[irule([P(pod=ALL, ns=ALL)])])),
               probe(*TCP2)]},
    {"name": "upstream: should enforce policy to allow ingress traffic from pods in all namespaces",
     "steps": [create(np("allow-from-another-ns", "x", sel(pod="a"), ingress=[irule([P(ns=sel())])])),
               probe(*TCP2, upstream={T80: _u_all})]},
    {"name": "upstream: should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector",
     "steps": [create(np("allow-client-a-via-ns-selector", "x", sel(pod="a"), ingress=[irule([P(ns=NSY)])])),
               probe(*TCP2, upstream={T80: _u_xa_from_y})]},
    {"name": "upstream: should enforce policy based on PodSelector with MatchExpressions",
     "steps": [create(np("x-a-allows-x-b", "x", sel(pod="a"), ingress=[irule([P(pod=expr("pod", "In", "b"))])])),
               probe(*TCP2, upstream={T80: _u_xa_from_xb})]},
    {"name": "upstream: should enforce policy based on NamespaceSelector with MatchExpressions",
     "steps": [create(np("allow-ns-y-match-selector", "x", sel(pod="a"),
                         ingress=[irule([P(ns=expr(NS_NAME_LABEL, "In", "y"))])])),
               probe(*TCP2, upstream={T80: _u_xa_from_y})]},
    {"name": "upstream: should enforce policy based on PodSelector or NamespaceSelector",
     "steps": [create(np("allow-ns-y-match-selector", "x", sel(pod="a"),
                         ingress=[irule([P(ns=NOT_X), P(pod=sel(pod="b"))])])),
               probe(*TCP2, upstream={T80: _u_pod_or_ns})]},
    {"name": "upstream: should enforce policy based on PodSelector and NamespaceSelector",
     "steps": [create(np("allow-ns-y-podselector-and-nsselector", "x", sel(pod="a"),
                         ingress=[irule([P(ns=NOT_X, pod=sel(pod="b"))])])),
               probe(*TCP2, upstream={T80: _u_xa_from_yb_zb})]},
    {"name": "upstream: should enforce policy based on Multiple PodSelectors and NamespaceSelectors",
     "steps": [create(np("allow-ns-y-z-pod-b-c", "x", sel(pod="a"),
                         ingress=[irule([P(ns=NOT_X, pod=expr("pod", "In", "b", "c"))])])),
               probe(*TCP2)]},
    {"name": "upstream: should enforce policy based on any PodSelectors",
     "steps": [create(np("allow-ns-x-pod-b-c", "x", sel(pod="a"),
                         ingress=[irule([P(pod=sel(pod="b")), P(pod=sel(pod="c"))])])),
               probe(*TCP2)]},
    {"name": "upstream: should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
     "steps": [create(np("allow-ns-y-pod-a-via-namespace-pod-selector", "x", sel(pod="a"),
                         ingress=[irule([P(ns=NSY, pod=sel(pod="a"))])])),
               probe(*TCP2)]},
    {"name": "upstream: should enforce policy based on Ports",
     "steps": [create(np("allow-client-a-via-ns-selector", "x", sel(pod="a"),
                         ingress=[irule([P(ns=NSY)], [port(81, "TCP")])])),
               probe(*TCP2, upstream={T81: _u_xa_only_y_81})]},
    {"name": "upstream: should enforce multiple, stacked policies with overlapping podSelectors",
     "steps": [create(np("allow-client-a-via-ns-selector", "x", sel(pod="a"),
                         ingress=[irule([P(ns=NSY)], [port(81, "TCP")])])),
               probe(*TCP2, upstream={T81: _u_xa_only_y_81, T80: _u_xa_denied}),
               create(np("allow-client-a-via-ns-selector-80", "x", sel(pod="a"),
                         ingress=[irule([P(ns=NSY)], [port(80, "TCP")])])),
               probe(*TCP2, upstream={T80: _u_xa_only_y_81, T81: _u_xa_only_y_81})]},
    {"name": "upstream: should support allow-all policy",
     "steps": [create(np("allow-all", "x", ALL, ingress=[irule()])),
               probe(*TCP2, upstream={T80: _u_all, T81: _u_all})]},
    {"name": "upstream: should allow ingress access on one named port",
     "steps": [create(np("allow-all", "x", ALL, ingress=[irule(None, [port("serve-81-tcp")])])),
               probe(*TCP2, upstream={T81: _u_all, T80: _u_deny_ingress_x})]},
    {"name": "upstream: should allow ingress access from namespace on one named port",
     "steps": [create(np("allow-client-a-via-ns-selector-80", "x", sel(pod="a"),
                         ingress=[irule([P(ns=NSY)], [port("serve-80-tcp", "TCP")])])),
               probe(*TCP2, upstream={T80: _u_xa_from_y, T81: _u_xa_denied})]},
    {"name": "upstream: should allow egress access on one named port",
     "steps": [create(np("allow-egress", "x", ALL, egress=[erule(None, [port("serve-80-tcp")])])),
               probe(*TCP2, upstream={T80: _u_all, T81: _u_x_egress_81})]},
    {"name": "upstream: should enforce updated policy",
     "steps": [create(np("allow-all-mutate-to-deny-all", "x", ALL, ingress=[irule()])),
               probe(T81, upstream={T81: _u_all}),
               create(np("allow-all-mutate-to-deny-all", "x", ALL, ingress=[])),
               probe(T81, upstream={T81: _u_deny_ingress_x})]},
    {"name": "upstream: should allow ingress access from updated namespace",
     "steps": [create(np("allow-client-a-via-ns-selector", "x", sel(pod="a"),
                         ingress=[irule([P(ns=sel(ns2="updated"))])])),
               probe(T80, upstream={T80: _u_xa_denied}),
               {"op": "ns_labels", "ns": "y", "labels": {"ns": "y", "ns2": "updated"}},
               probe(T80)]},
    {"name": "upstream: should allow ingress access from updated pod",
     "steps": [create(np("allow-client-a-via-pod-selector", "x", sel(pod="a"),
                         ingress=[irule([P(pod=sel(pod="b", pod2="updated"))])])),
               probe(T80, upstream={T80: _u_xa_denied}),
               {"op": "pod_labels", "pod": "x/b", "labels": {"pod": "b", "pod2": "updated"}},
               probe(T80, upstream={T80: _u_xa_from_xb})]},
    {"name": "upstream: should deny ingress from pods on other namespaces",
     "steps": [create(np("deny-empty-policy", "x", ALL, ingress=[irule([P(pod=sel())])])),
               probe(*TCP2)]},
    {"name": "upstream: should deny ingress access to updated pod",
     "steps": [create(np("deny-ingress-via-label-selector", "x", sel(target="isolated"), ingress=[])),
               probe(T80, upstream={T80: _u_all}),
               {"op": "pod_labels", "pod": "x/a", "labels": {"pod": "a", "target": "isolated"}},
               probe(T80, upstream={T80: _u_xa_denied})]},
    {"name": "upstream: should deny egress from pods based on PodSelector",
     "steps": [create(np("deny-egress-pod-a", "x", sel(pod="a"), egress=[])), probe(*TCP2)]},
    {"name": "upstream: should deny egress from all pods in a namespace",
     "steps": [create(np("deny-egress-ns-x", "x", ALL, egress=[])),
               probe(*TCP2, upstream={T80: _u_x_egress_81})]},
    {"name": "upstream: should work with Ingress, Egress specified together",
     "steps": [create(np("allow-client-a-via-pod-selector", "x", sel(pod="a"),
                         ingress=[irule([P(pod=sel(pod="b"))])],
                         egress=[erule(None, [port(80)])], types=["Egress", "Ingress"])),
               probe(*TCP2, upstream={T80: _u_xa_from_xb, T81: _u_ie_81})]},
    {"name": "upstream: should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)",
     "steps": [create(np("allow-to-ns-y-pod-a", "x", sel(pod="a"),
                         egress=[erule([P(ns=NSY, pod=sel(pod="a"))])])),
               create(np("allow-from-xa-on-ya-match-selector", "y", sel(pod="a"),
                         ingress=[irule([P(ns=sel(**{NS_NAME_LABEL: "x"}), pod=sel(pod="a"))])])),
               create(np("allow-from-xa-on-yb-match-selector", "y", sel(pod="b"),
                         ingress=[irule([P(ns=sel(**{NS_NAME_LABEL: "x"}), pod=sel(pod="a"))])])),
               probe(*TCP2, upstream={T80: _u_client_side_egress})]},
    {"name": "upstream: should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector",
     "steps": [create(np("allow-to-ns-y-pod-a", "x", sel(pod="a"),
                         egress=[erule([P(ns=NSY, pod=sel(pod="a"))])])),
               probe(*TCP2)]},
    {"name": "upstream: should enforce ingress policy allowing any port traffic to a server on a specific protocol",
     "steps": [create(np("allow-ingress-by-proto", "x", sel(pod="a"), ingress=[irule(None, [port(proto="TCP")])])),
               probe(T80, T81, U80, upstream={T80: _u_all, U80: _u_xa_denied})]},
    {"name": "upstream: should enforce multiple ingress policies with ingress allow-all policy taking precedence",
     "steps": [create(np("allow-ingress-port-80", "x", ALL, ingress=[irule(None, [port(80)])])),
               probe(T81, upstream={T81: _u_deny_ingress_x}),
               create(np("allow-ingress", "x", ALL, ingress=[irule()])),
               probe(T81, upstream={T81: _u_all})]},
    {"name": "upstream: should enforce multiple egress policies with egress allow-all policy taking precedence",
     "steps": [create(np("allow-egress-port-80", "x", ALL, egress=[erule(None, [port(80)])])),
               probe(T81, upstream={T81: _u_x_egress_81}),
               create(np("allow-egress", "x", ALL, egress=[erule()])),
               probe(T81, upstream={T81: _u_all})]},
    {"name": "upstream: should stop enforcing policies after they are deleted",
     "steps": [create(np("deny-all", "x", ALL, ingress=[], egress=[])),
               probe(T80, upstream={T80: _u_deny_all_x}),
               delete("x/deny-all"),
               probe(T80, upstream={T80: _u_all})]},
    {"name": "upstream: should allow egress access to server in CIDR block",
     "steps": [create(np("allow-client-a-via-cidr-egress-rule", "x", sel(pod="a"),
                         egress=[erule([P(cidr=IP["y/b"] + "/32")])])),
               probe(*TCP2, upstream={T80: _u_cidr_yb})]},
    {"name": "upstream: should enforce except clause while egress access to server in CIDR block",
     "steps": [create(np("allow-client-a-via-cidr-egress-rule", "x", sel(pod="a"),
                         egress=[erule([P(cidr="0.0.0.0/4", except_=[IP["x/b"] + "/32"])])])),
               probe(*TCP2, upstream={T80: _u_except_xb})]},
    {"name": "upstream: should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed",
     "steps": [create(np("allow-client-a-via-cidr-egress-rule", "x", sel(pod="a"),
                         egress=[erule([P(cidr="0.0.0.0/4", except_=[IP["x/b"] + "/32"])])])),
               probe(T80, upstream={T80: _u_except_xb}),
               create(np("allow-client-a-via-cidr-egress-rule", "x", sel(pod="a"),
                         egress=[erule([P(cidr=IP["x/b"] + "/32")])])),
               probe(T80)]},
    {"name": "upstream: should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector",
     "steps": [create(np("allow-egress-for-target", "x", sel(pod="a"), egress=[erule()])),
               probe(T80, upstream={T80: _u_all}),
               create(np("deny-ingress-via-label-selector", "x", sel(pod="a"), ingress=[])),
               probe(T80, upstream={T80: _u_xa_denied})]},
    {"name": "upstream: should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
     "steps": [create(np("deny-ingress", "x", ALL, ingress=[])),
               create(np("allow-only-sctp-ingress-on-port-81", "x", sel(pod="a"),
                         ingress=[irule(None, [port(81, "SCTP")])])),
               probe(T81, S81, upstream={T81: _u_deny_ingress_x})]},
    {"name": "upstream: should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
     "steps": [create(np("allow-only-sctp-ingress-on-port-80", "x", sel(pod="a"),
                         ingress=[irule(None, [port(80, "SCTP")])])),
               probe(T81, S80, upstream={T81: _u_xa_denied})]},
    {"name": "upstream: should not allow access by TCP when a policy specifies only UDP",
     "steps": [create(np("allow-only-udp-ingress-on-port-81", "x", sel(pod="a"),
                         ingress=[irule(None, [port(81, "UDP")])])),
               probe(T81, U81, upstream={T81: _u_xa_denied})]},
    {"name": "upstream: should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label",
     "steps": [create(np("allow-client-a-via-ns-selector-for-immutable-ns-label", "x", sel(pod="a"),
                         ingress=[irule([P(ns=NSY)])])),
               probe(T80, upstream={T80: _u_xa_from_y})]},
    {"name": "upstream: should enforce policy based on NamespaceSelector with MatchExpressions using default ns label",
     "steps": [create(np("allow-ns-y-match-selector-for-immutable-ns-label", "x", sel(pod="a"),
                         egress=[erule([P(ns=expr(NS_NAME_LABEL, "NotIn", "y"))])])),
               probe(T80, upstream={T80: _u_egress_not_y})]},
    {"name": "upstream UDP: should support a 'default-deny-ingress' policy",
     "steps": [create(np("deny-all", "x", ALL, ingress=[])),
               probe(U80, upstream={U80: _u_deny_ingress_x})]},
    {"name": "upstream UDP: should enforce policy based on Ports",
     "steps": [create(np("allow-ingress-on-port-81-ns-x", "x", sel(pod="a"),
                         ingress=[irule([P(ns=NSY)], [port(81, "UDP")])])),
               probe(U80, U81, upstream={U81: _u_xa_from_y})]},
    {"name": "upstream UDP: should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
     "steps": [create(np("allow-ns-y-pod-a-via-namespace-pod-selector", "x", sel(pod="a"),
                         ingress=[irule([P(ns=NSY, pod=sel(pod="a"))])])),
               probe(U80)]},
    {"name": "upstream SCTP: should support a 'default-deny-ingress' policy",
     "steps": [create(np("deny-all", "x", ALL, ingress=[])),
               probe(S80, upstream={S80: _u_deny_ingress_x})]},
    {"name": "upstream SCTP: should enforce policy based on Ports",
     "steps": [create(np("allow-ingress-on-port-81-ns-x", "x", sel(pod="a"),
                         ingress=[irule([P(ns=NSY)], [port(81, "SCTP")])])),
               probe(S80, S81, upstream={S81: _u_xa_from_y})]},
    {"name": "upstream SCTP: should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
     "steps": [create(np("allow-ns-y-pod-a-via-namespace-pod-selector", "x", sel(pod="a"),
                         ingress=[irule([P(ns=NSY, pod=sel(pod="a"))])])),
               probe(S80)]},
]


# --- cyclonus-style combinations ---------------------------------------------------------

TARGETS = [("x", sel(pod="a"), "x/a"), ("x", ALL, "all of x"),
           ("y", expr("pod", "In", "b", "c"), "y/b,y/c (In)"),
           ("z", expr("pod", "NotIn", "a"), "z/b,z/c (NotIn)")]
PEERS = [
    ("any peer (empty rule)", None),
    ("podSelector pod=b", [P(pod=sel(pod="b"))]),
    ("namespaceSelector ns=y", [P(ns=sel(ns="y"))]),
    ("pod=b in ns=y (both)", [P(pod=sel(pod="b"), ns=sel(ns="y"))]),
    ("namespaceSelector Exists ns, podSelector DoesNotExist pod2", [P(pod=expr("pod2", "DoesNotExist"), ns=expr("ns", "Exists"))]),
    ("ipBlock node2's pods 10.244.2.0/24", [P(cidr="10.244.2.0/24")]),
    ("ipBlock 10.244.0.0/16 except 10.244.1.0/24 and y/a", [P(cidr="10.244.0.0/16", except_=["10.244.1.0/24", IP["y/a"] + "/32"])]),
    ("pods c or namespace z", [P(pod=sel(pod="c")), P(ns=sel(ns="z"))]),
]
PORTS = [
    ("all ports", None),
    ("TCP 80", [port(80, "TCP")]),
    ("named serve-81-tcp", [port("serve-81-tcp")]),
    ("UDP 80", [port(80, "UDP")]),
    ("TCP 80-81 (endPort)", [port(80, "TCP", end=81)]),
    ("protocol UDP only", [port(proto="UDP")]),
    ("named serve-80-udp and TCP 81", [port("serve-80-udp", "UDP"), port(81)]),
    ("TCP 81-90 (endPort)", [port(81, end=90)]),
]


def _mentions_udp(ports):
    return any((p.get("protocol") or "TCP") == "UDP" for p in ports or [])


def _cyclonus():
    out = []
    i = 0
    for direction in ("ingress", "egress"):
        for pi, (pname, peers) in enumerate(PEERS):
            # two port kinds per peer kind, rotating, so every port kind meets several peers
            for k in (0, 1):
                ptname, ports = PORTS[(pi * 2 + k + (direction == "egress")) % len(PORTS)]
                ns, target, tname = TARGETS[i % len(TARGETS)]
                i += 1
                r = rule(peers, ports, "from" if direction == "ingress" else "to")
                pol = np("c%d" % i, ns, target, **{direction: [r]})
                on = [T80, T81] + ([U80, U81] if _mentions_udp(ports) else [])
                out.append({"name": "cyclonus: %s %s from %s, %s" % (
                    direction, tname, pname, ptname) if direction == "ingress" else
                    "cyclonus: egress %s to %s, %s" % (tname, pname, ptname),
                    "steps": [create(pol), probe(*on)]})
    # policyTypes left to the defaults (Ingress; Egress only with a non-empty egress list)
    out.append({"name": "cyclonus: policyTypes default, ingress and egress rules (both directions)",
                "steps": [create(np("d1", "y", sel(pod="a"), ingress=[irule([P(pod=sel(pod="b"))])],
                                    egress=[erule([P(ns=sel(ns="x"))])], types="default")),
                          probe(T80, T81)]})
    out.append({"name": "cyclonus: policyTypes default, empty egress list (ingress only, egress open)",
                "steps": [create(np("d2", "y", sel(pod="a"), ingress=[], egress=[], types="default")),
                          probe(T80)]})
    out.append({"name": "cyclonus: policyTypes [Egress] with ingress rules present (ingress ignored)",
                "steps": [create(np("d3", "z", ALL, ingress=[], egress=[erule(None, [port(81)])],
                                    types=["Egress"])),
                          probe(T80, T81)]})
    # stacked and conflicting policies, across namespaces and directions
    out.append({"name": "cyclonus: stacked: deny-all in x, allow x/a from y on 80, allow x egress to z",
                "steps": [create(np("deny", "x", ALL, ingress=[], egress=[])),
                          create(np("a-from-y", "x", sel(pod="a"), ingress=[irule([P(ns=sel(ns="y"))], [port(80)])])),
                          create(np("egress-z", "x", ALL, egress=[erule([P(ns=sel(ns="z"))])])),
                          probe(T80, T81),
                          delete("x/deny"),
                          probe(T80, T81)]})
    out.append({"name": "cyclonus: ingress and egress deny in every namespace, then allow within z",
                "steps": [create(np("deny", "x", ALL, ingress=[], egress=[])),
                          create(np("deny", "y", ALL, ingress=[], egress=[])),
                          create(np("deny", "z", ALL, ingress=[], egress=[])),
                          probe(T80),
                          create(np("allow-z", "z", ALL, ingress=[irule([P(pod=ALL)])],
                                    egress=[erule([P(pod=ALL)])])),
                          probe(T80)]})
    # label actions: a namespace loses its matching label, a pod gains and loses one
    out.append({"name": "cyclonus: namespace label removed and restored under a namespaceSelector policy",
                "steps": [create(np("from-ns-y", "x", ALL, ingress=[irule([P(ns=sel(ns="y"))])])),
                          probe(T80),
                          {"op": "ns_labels", "ns": "y", "labels": {"other": "y"}},
                          probe(T80),
                          {"op": "ns_labels", "ns": "y", "labels": {"ns": "y"}},
                          probe(T80)]})
    out.append({"name": "cyclonus: pod relabelled into and out of an egress policy's target",
                "steps": [create(np("iso", "y", sel(role="iso"), egress=[erule([P(ns=sel(ns="z"))], [port(81)])])),
                          probe(T80, T81),
                          {"op": "pod_labels", "pod": "y/c", "labels": {"pod": "c", "role": "iso"}},
                          probe(T80, T81),
                          {"op": "pod_labels", "pod": "y/c", "labels": {"pod": "c"}},
                          probe(T80, T81)]})
    out.append({"name": "cyclonus: named port follows the destination pod's container ports",
                "steps": [create(np("named", "z", ALL, ingress=[irule(None, [port("serve-81-tcp"), port("serve-80-udp", "UDP")])])),
                          probe(T80, T81, U80, U81)]})
    return out


# --- established flows across policy changes (the issue: a change that starts denying an
# established flow cuts it at once; flows still allowed are untouched) --------------------
HELD = [("x/b", "x/a", 80), ("y/a", "x/a", 80), ("z/c", "x/a", 81), ("x/a", "y/b", 81),
        ("x/a", "y/c", 80), ("y/c", "z/a", 80), ("z/b", "z/a", 80)]
STATEFUL = [
    {"name": "stateful: established TCP flows across policy changes: kept while allowed, cut once denied",
     "steps": [{"op": "hold", "flows": HELD},
               {"op": "check_held"},
               # x/a: ingress from namespace y only -> x/b and z/c flows into x/a are cut
               create(np("a-from-y", "x", sel(pod="a"), ingress=[irule([P(ns=sel(ns="y"))])])),
               {"op": "check_held"},
               # x/a: egress to port 80 only -> x/a -> y/b:81 is cut, x/a -> y/c:80 kept
               create(np("a-egress-80", "x", sel(pod="a"), egress=[erule(None, [port(80)])])),
               {"op": "check_held"},
               # z/a: ingress from pods c of any namespace; then y/c loses its label -> cut
               create(np("a-from-c", "z", sel(pod="a"), ingress=[irule([P(pod=sel(pod="c"), ns=ALL)])])),
               {"op": "check_held"},
               {"op": "pod_labels", "pod": "y/c", "labels": {"pod": "cc"}},
               {"op": "check_held"},
               probe(T80, T81)]},
]

CYCLONUS = _cyclonus()
CASES = UPSTREAM + CYCLONUS + STATEFUL
