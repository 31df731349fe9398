#!/usr/bin/python3
"""Input of perf/netpol_bench.sh for N NetworkPolicies of 10 rules each, all selecting both
benchmark pods (client 10.244.1.2, server 10.244.1.3, namespace "bench", label app=bench):
the Kubernetes objects for sluice and the same policies compiled to iptables the way
iptables-based CNIs do (per-pod firewall chains jumping to per-policy chains, kube-router /
Calico style), so both dataplanes hold the same policy set.

Policy k (0 <= k < N), "bench/np-<k>": podSelector app=bench, policyTypes [Ingress, Egress],
5 ingress rules (from ipBlock 10.250.x.y/32 on TCP port 1000+j) and 5 egress rules (to
ipBlock 10.251.x.y/32 on TCP port 2000+j) that never match the benchmark traffic, except in
the last policy (k = N-1), whose first ingress rule is from podSelector app=bench on UDP 80
and first egress rule to podSelector app=bench on UDP 80: the benchmark flow (client ->
server UDP 80) is allowed by the last policy only, so a linear classifier walks every rule.
With N = 0 nothing is isolated.

  netpol_objects.py k8s N OUTPREFIX   Kubernetes Lists (Namespace, the two Pods, the
                                      policies), OUTPREFIX-<k>.json, each under the API's
                                      4 MiB request limit; prints the file names
  netpol_objects.py iptables N        iptables-restore input (filter table):
      FORWARD -> NP-FORWARD: -s CLIENT -> NP-POD-EG-client, -d SERVER -> NP-POD-IN-server
      (and the same for the other pod); a pod chain: ESTABLISHED,RELATED accept, clear the
      mark, then per selecting policy "-j NP-<k>-IN|EG" and "-m mark --mark 0x10000 -j
      RETURN", finally "-j DROP"; a policy chain: one rule per NetworkPolicy rule, "-j MARK
      --set-xmark 0x10000/0x10000" (pod selectors expanded to the pods' /32s, as CNIs do
      without ipset)
"""
import json
import sys

CLIENT, SERVER = "10.244.1.2", "10.244.1.3"
PODS = (("client", CLIENT), ("server", SERVER))
RULES_PER_DIR = 5
CHUNK_BYTES = 3 * 1024 * 1024


def noise_ip(base, k, j):
    """10.<base>.x.y/32, distinct per (policy, rule) up to 13,107 policies (then they repeat)."""
    v = (k * RULES_PER_DIR + j) & 0xffff
    return "10.%d.%d.%d/32" % (base, v >> 8, v & 255)


def rules(k, n):
    """(ingress, egress): lists of (peer, proto, port); peer "pods" = app=bench, else a CIDR."""
    ing = [(noise_ip(250, k, j), "TCP", 1000 + j) for j in range(RULES_PER_DIR)]
    eg = [(noise_ip(251, k, j), "TCP", 2000 + j) for j in range(RULES_PER_DIR)]
    if k == n - 1:
        ing[0] = ("pods", "UDP", 80)
        eg[0] = ("pods", "UDP", 80)
    return ing, eg


def policy(k, n):
    ing, eg = rules(k, n)

    def peer(p):
        return {"podSelector": {"matchLabels": {"app": "bench"}}} if p == "pods" else {"ipBlock": {"cidr": p}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "np-%d" % k, "namespace": "bench"},
            "spec": {"podSelector": {"matchLabels": {"app": "bench"}},
                     "policyTypes": ["Ingress", "Egress"],
                     "ingress": [{"from": [peer(p)], "ports": [{"protocol": pr, "port": po}]} for p, pr, po in ing],
                     "egress": [{"to": [peer(p)], "ports": [{"protocol": pr, "port": po}]} for p, pr, po in eg]}}


def base_objects():
    objs = [{"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": "bench", "labels": {"kubernetes.io/metadata.name": "bench"}}}]
    for name, ip in PODS:
        objs.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": name, "namespace": "bench", "labels": {"app": "bench"}},
                     "spec": {"nodeName": "bench", "containers": [{"name": "c", "image": "none",
                              "ports": [{"name": "udp-80", "containerPort": 80, "protocol": "UDP"}]}]},
                     "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}})
    return objs


def k8s(n, prefix):
    items, size, k = base_objects(), 0, 0
    files = []

    def flush():
        nonlocal items, size
        f = "%s-%d.json" % (prefix, len(files))
        with open(f, "w") as fh:
            json.dump({"apiVersion": "v1", "kind": "List", "items": items}, fh)
        files.append(f)
        items, size = [], 0
    for k in range(n):
        p = policy(k, n)
        s = len(json.dumps(p))
        if size + s > CHUNK_BYTES and items:
            flush()
        items.append(p)
        size += s
    if items:
        flush()
    print("\n".join(files))


def iptables(n):
    out = ["*filter", ":NP-FORWARD - [0:0]"]
    chains = []
    body = []
    for name, ip in PODS:
        for d in ("IN", "EG"):
            c = "NP-POD-%s-%s" % (d, name)
            chains.append(c)
            body += ["-A %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" % c,
                     "-A %s -j MARK --set-xmark 0x0/0x10000" % c]
            for k in range(n):
                body += ["-A %s -j NP-%d-%s" % (c, k, d),
                         "-A %s -m mark --mark 0x10000/0x10000 -j RETURN" % c]
            body.append("-A %s -j DROP" % c)
    for k in range(n):
        ing, eg = rules(k, n)
        for d, rs, flag in (("IN", ing, "-s"), ("EG", eg, "-d")):
            c = "NP-%d-%s" % (k, d)
            chains.append(c)
            for p, pr, po in rs:
                peers = [ip + "/32" for _, ip in PODS] if p == "pods" else [p]
                for pe in peers:
                    body.append("-A %s %s %s -p %s --dport %d -j MARK --set-xmark 0x10000/0x10000" % (
                        c, flag, pe, pr.lower(), po))
    out += [":%s - [0:0]" % c for c in chains]
    out.append("-A FORWARD -j NP-FORWARD")
    if n:
        for name, ip in PODS:
            out.append("-A NP-FORWARD -s %s/32 -j NP-POD-EG-%s" % (ip, name))
            out.append("-A NP-FORWARD -d %s/32 -j NP-POD-IN-%s" % (ip, name))
    out += body
    out.append("COMMIT")
    print("\n".join(out))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "k8s":
        k8s(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "iptables":
        iptables(int(sys.argv[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
