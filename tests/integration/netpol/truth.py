"""Reference evaluator of Kubernetes NetworkPolicy (networking.k8s.io/v1), written from the
API reference (https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/
network-policy-v1/) and the concept page, independent of sluice's code: the conformance
suite's expected reachability matrices come from here (tests/integration/netpol/driver.py).

The cluster state is plain Kubernetes JSON (dicts): Namespaces, Pods (metadata.labels,
status.podIP, spec.containers[].ports with names for named ports) and NetworkPolicies.

  allowed(cluster, src_pod, dst_pod, port, proto) -> (bool, why)

Semantics implemented:
- A pod is isolated for ingress (egress) when at least one policy in its namespace selects it
  (spec.podSelector) and has Ingress (Egress) in its policyTypes; policyTypes defaults to
  [Ingress] plus Egress when spec.egress is present and non-empty.
- Traffic src -> dst is allowed iff src's egress allows it (not isolated, or some egress rule
  of some selecting policy matches dst/port) and dst's ingress allows it (likewise).
  Replies of an allowed connection are allowed (stateful): only the initiating direction is
  evaluated. Traffic from a pod to itself never leaves the pod and is not evaluated.
- A rule matches when one of its peers matches (no from/to: every peer) and one of its ports
  matches (no ports: every port and protocol).
- Peer: ipBlock (cidr contains the peer IP and no except entry does); podSelector alone
  (pods of the policy's namespace); namespaceSelector alone (every pod of the selected
  namespaces); both (pods matching podSelector in the selected namespaces).
- Port: protocol defaults to TCP; port absent = every port of that protocol; numeric port
  with optional endPort = the range port..endPort; a named port matches when the
  destination pod (ingress: the policy's pod; egress: the peer) has a container port of that
  name and protocol whose containerPort is the destination port.
- Label selectors: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist) ANDed;
  an empty selector matches everything; NotIn matches a missing key.
- Namespaces carry kubernetes.io/metadata.name = their name (set here if absent, as the API
  server does).
"""
import ipaddress

NS_NAME_LABEL = "kubernetes.io/metadata.name"


def selector_matches(sel, labels):
    """True when the LabelSelector dict sel matches the label dict labels."""
    if sel is None:
        return False
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], e.get("values") or []
        if op == "In":
            if k not in labels or labels[k] not in vals:
                return False
        elif op == "NotIn":
            if k in labels and labels[k] in vals:
                return False
        elif op == "Exists":
            if k not in labels:
                return False
        elif op == "DoesNotExist":
            if k in labels:
                return False
        else:
            raise ValueError("unknown selector operator %r" % op)
    return True


def policy_types(pol):
    spec = pol.get("spec", {})
    t = spec.get("policyTypes")
    if t:
        return set(t)
    return {"Ingress"} | ({"Egress"} if spec.get("egress") else set())


def ns_labels(cluster, ns):
    labels = dict(cluster["namespaces"][ns].get("metadata", {}).get("labels") or {})
    labels.setdefault(NS_NAME_LABEL, ns)
    return labels


def pod_key(pod):
    return "%s/%s" % (pod["metadata"]["namespace"], pod["metadata"]["name"])


def pod_ip(pod):
    return pod["status"]["podIP"]


def peer_matches(cluster, pol_ns, peer, other):
    """Does NetworkPolicyPeer peer (of a policy in pol_ns) match pod other?"""
    if "ipBlock" in peer:
        ib = peer["ipBlock"]
        ip = ipaddress.ip_address(pod_ip(other))
        if ip not in ipaddress.ip_network(ib["cidr"], strict=False):
            return False
        return not any(ip in ipaddress.ip_network(x, strict=False) for x in ib.get("except") or [])
    ps, nss = peer.get("podSelector"), peer.get("namespaceSelector")
    other_ns = other["metadata"]["namespace"]
    other_labels = other["metadata"].get("labels") or {}
    if nss is not None:
        if not selector_matches(nss, ns_labels(cluster, other_ns)):
            return False
    elif other_ns != pol_ns:
        return False
    if ps is not None and not selector_matches(ps, other_labels):
        return False
    return ps is not None or nss is not None


def port_matches(np, dst_pod, port, proto):
    if (np.get("protocol") or "TCP") != proto:
        return False
    p = np.get("port")
    if p is None:
        return True
    if isinstance(p, str):
        for c in dst_pod.get("spec", {}).get("containers") or []:
            for cp in c.get("ports") or []:
                if cp.get("name") == p and (cp.get("protocol") or "TCP") == proto \
                        and cp["containerPort"] == port:
                    return True
        return False
    end = np.get("endPort")
    return p <= port <= end if end is not None else p == port


def rule_matches(cluster, pol_ns, rule, peers_key, other, dst_pod, port, proto):
    peers = rule.get(peers_key)
    if peers and not any(peer_matches(cluster, pol_ns, pr, other) for pr in peers):
        return False
    ports = rule.get("ports")
    return not ports or any(port_matches(np, dst_pod, port, proto) for np in ports)


def direction_allows(cluster, pod, other, dst_pod, port, proto, direction):
    """(allowed, why) for pod's direction ("Ingress": other -> pod; "Egress": pod -> other)."""
    ns = pod["metadata"]["namespace"]
    labels = pod["metadata"].get("labels") or {}
    key = "ingress" if direction == "Ingress" else "egress"
    peers_key = "from" if direction == "Ingress" else "to"
    selecting = []
    for pol in cluster["policies"].values():
        if pol["metadata"]["namespace"] != ns or direction not in policy_types(pol):
            continue
        if not selector_matches(pol["spec"].get("podSelector", {}), labels):
            continue
        selecting.append(pol)
        for i, rule in enumerate(pol["spec"].get(key) or []):
            if rule_matches(cluster, ns, rule, peers_key, other, dst_pod, port, proto):
                return True, "%s %s/%s rule %d" % (key, ns, pol["metadata"]["name"], i)
    if not selecting:
        return True, "%s not isolated" % key
    return False, "%s isolated by %s, no rule matches" % (
        key, ",".join(p["metadata"]["name"] for p in selecting))


def allowed(cluster, src, dst, port, proto):
    """(bool, why): may pod src open a connection to pod dst on port/proto?"""
    ok, why_e = direction_allows(cluster, src, dst, dst, port, proto, "Egress")
    if not ok:
        return False, why_e
    ok, why_i = direction_allows(cluster, dst, src, dst, port, proto, "Ingress")
    return ok, why_i if not ok else why_e + "; " + why_i


def matrix(cluster, pods, port, proto):
    """{(src_key, dst_key): bool} over every ordered pair of distinct pods."""
    return {(pod_key(s), pod_key(d)): allowed(cluster, s, d, port, proto)[0]
            for s in pods for d in pods if s is not d}


class Reachability:
    """Upstream's reachability helpers (test/e2e/network/netpol/reachability.go), to write
    expected matrices the way the upstream specs do, independently of the evaluator."""

    def __init__(self, pods, default):
        self.pods = list(pods)  # "ns/name"
        self.m = {(s, d): default for s in self.pods for d in self.pods if s != d}

    def _sel(self, ns, pod):
        return [p for p in self.pods if (ns is None or p.split("/")[0] == ns) and
                (pod is None or p.split("/")[1] == pod)]

    def expect_peer(self, src, dst, v):
        """src/dst: (ns or None, pod or None) as upstream's Peer{}."""
        for s in self._sel(*src):
            for d in self._sel(*dst):
                if s != d:
                    self.m[(s, d)] = v

    def expect_all_ingress(self, pod, v):
        for s in self.pods:
            if s != pod:
                self.m[(s, pod)] = v

    def expect_all_egress(self, pod, v):
        for d in self.pods:
            if d != pod:
                self.m[(pod, d)] = v

    def expect(self, src, dst, v):
        if src != dst:  # loopback is not evaluated (upstream: ignoreLoopback)
            self.m[(src, dst)] = v
