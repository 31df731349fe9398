#!/usr/bin/env python3
"""Generator and event driver of perf/k8s_scale_bench.sh (a simulated large cluster in the
stand-in API server tests/integration/kube_apiserver.py, through its admin endpoint).

  k8s_scale.py load   --admin PORT --scale F --self NODE
      puts the cluster: 5,000 Nodes, 150,000 Pods (30 a node), 100 Namespaces, 10,000
      Services (ClusterIP) with one EndpointSlice of 10 endpoints each (100,000 endpoints),
      1,000 NetworkPolicies; every count times F (at least 1). Prints the counts (JSON) that
      `sluicectl show sync` must reach (objects per resource).
  k8s_scale.py events --admin PORT --scale F --rate R --seconds S --batch B --ctl CMD...
      modifies EndpointSlices (one endpoint's ready condition flips) at R a second in
      batches of B (put_many), recording each object's resourceVersion and the wall-clock
      time its batch was sent; meanwhile polls `CMD -o json show sync` every 50 ms for the
      endpointslices applied_log ([resourceVersion, applied wall-clock us]). Prints JSON:
      latency percentiles (send -> applied in sluiced's model and dataplane tables; "sluiced":
      the stand-in's watch write -> applied, from its watch_log; "standin": send -> written),
      the events sent, matched, and the rate reached.

Addresses (API objects only: no traffic uses them): pods 10.128.0.0/9 (node i owns
10.128.0.0 + 64*i /26; the node running sluiced, --self, keeps 10.244.1.0/24), node IPs
198.19.0.0/16 (RFC 2544, not configured anywhere), Services 10.96.0.0/16.
"""
import argparse
import http.client
import ipaddress
import json
import subprocess
import sys
import threading
import time

NODES, PODS, SVCS, EPS_PER_SLICE, POLICIES, NAMESPACES = 5000, 150000, 10000, 10, 1000, 100
POD_BASE = int(ipaddress.ip_address("10.128.0.0"))


class Admin:
    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def __call__(self, cmd):
        return self.raw(json.dumps(cmd))

    def raw(self, body):
        self.c.request("POST", "/", body, {"Content-Type": "application/json"})
        r = self.c.getresponse()
        out = json.loads(r.read())
        if r.status != 200:
            raise RuntimeError(f"admin {body[:40]}: {out}")
        return out


def counts(scale):
    n = lambda x: max(1, int(round(x * scale)))
    return {"nodes": n(NODES), "pods": n(PODS), "services": n(SVCS),
            "endpointslices": n(SVCS), "networkpolicies": n(POLICIES),
            "namespaces": min(NAMESPACES, n(NAMESPACES * 10))}


def node_name(i):
    return f"node-{i:05d}"


def pod_ip(node, k):
    return str(ipaddress.ip_address(POD_BASE + 64 * node + 2 + k))


def gen_nodes(c, self_name):
    yield {"kind": "Node", "metadata": {"name": self_name},
           "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]},
           "status": {"addresses": [{"type": "InternalIP", "address": "198.18.0.1"}]}}
    for i in range(c["nodes"] - 1):
        cidr = f"{ipaddress.ip_address(POD_BASE + 64 * i)}/26"
        ip = f"198.19.{i // 250}.{i % 250 + 1}"
        yield {"kind": "Node", "metadata": {"name": node_name(i), "labels": {
            "kubernetes.io/hostname": node_name(i), "topology.kubernetes.io/zone": f"z{i % 3}"}},
            "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
            "status": {"addresses": [{"type": "InternalIP", "address": ip},
                                     {"type": "Hostname", "address": node_name(i)}]}}


def ns_name(i):
    return f"ns-{i:03d}"


def gen_namespaces(c):
    for i in range(c["namespaces"]):
        yield {"kind": "Namespace", "metadata": {"name": ns_name(i), "labels": {
            "kubernetes.io/metadata.name": ns_name(i), "team": f"t{i % 10}"}}}


def pod_place(p, c):
    """Pod p -> (node index, slot on the node)."""
    per = -(-c["pods"] // max(1, c["nodes"] - 1))  # at most 60: a node's /26
    return (p // per) % max(1, c["nodes"] - 1), p % per


def app_of(p, c):
    return p % c["services"]


def gen_pods(c):
    for p in range(c["pods"]):
        node, k = pod_place(p, c)
        ip = pod_ip(node, k)
        a = app_of(p, c)
        yield {"kind": "Pod", "metadata": {
            "name": f"pod-{p:06d}", "namespace": ns_name(a % c["namespaces"]),
            "labels": {"app": f"app-{a}", "role": "client" if p % 7 == 0 else "server",
                       "tier": f"t{p % 4}"}},
            "spec": {"nodeName": node_name(node), "containers": [{"name": "c"}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}


def svc_ip(i):
    return f"10.96.{i // 250 + 1}.{i % 250 + 1}"


def gen_services(c):
    for i in range(c["services"]):
        yield {"kind": "Service", "metadata": {"name": f"svc-{i:05d}",
                                               "namespace": ns_name(i % c["namespaces"])},
               "spec": {"type": "ClusterIP", "clusterIP": svc_ip(i), "clusterIPs": [svc_ip(i)],
                        "selector": {"app": f"app-{i}"},
                        "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                                   "targetPort": 8080}]}}


def slice_obj(i, c, flip=-1):
    """Service i's slice: its first pods (app i) as endpoints; endpoint `flip` not ready."""
    eps = []
    for e in range(EPS_PER_SLICE):
        p = i + e * c["services"]  # pods of app i: p % services == i
        if p >= c["pods"]:
            break
        node, k = pod_place(p, c)
        eps.append({"addresses": [pod_ip(node, k)],
                    "conditions": {"ready": e != flip}, "nodeName": node_name(node),
                    "targetRef": {"kind": "Pod", "name": f"pod-{p:06d}"}})
    return {"kind": "EndpointSlice", "metadata": {
        "name": f"svc-{i:05d}-x", "namespace": ns_name(i % c["namespaces"]),
        "labels": {"kubernetes.io/service-name": f"svc-{i:05d}"}},
        "addressType": "IPv4", "endpoints": eps,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}


def gen_slices(c):
    for i in range(c["services"]):
        yield slice_obj(i, c)


def gen_policies(c):
    for i in range(c["networkpolicies"]):
        a = i % c["services"]
        yield {"kind": "NetworkPolicy", "metadata": {"name": f"np-{i:04d}",
                                                     "namespace": ns_name(a % c["namespaces"])},
               "spec": {"podSelector": {"matchLabels": {"app": f"app-{a}"}},
                        "policyTypes": ["Ingress"],
                        "ingress": [{"from": [
                            {"podSelector": {"matchLabels": {"role": "client"}}},
                            {"namespaceSelector": {"matchLabels": {"team": f"t{i % 10}"}},
                             "podSelector": {"matchExpressions": [
                                 {"key": "tier", "operator": "In", "values": ["t0", "t1"]}]}}],
                            "ports": [{"protocol": "TCP", "port": 8080}]}]}}


def load(a):
    c = counts(a.scale)
    adm = Admin(a.admin)
    t0 = time.monotonic()
    for gen in (gen_nodes(c, a.self_node), gen_namespaces(c), gen_pods(c), gen_services(c),
                gen_slices(c), gen_policies(c)):
        batch = []
        for o in gen:
            batch.append(o)
            if len(batch) == 2000:
                adm({"op": "put_many", "objects": batch})
                batch = []
        if batch:
            adm({"op": "put_many", "objects": batch})
    st = adm({"op": "state"})
    print(json.dumps({"expect": st["objects"], "load_s": round(time.monotonic() - t0, 2)}))


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def events(a):
    c = counts(a.scale)
    adm = Admin(a.admin)
    sent = {}  # resourceVersion -> send wall-clock us
    applied = {}
    stop = threading.Event()

    def poll():
        deadline = None
        while True:
            out = subprocess.run(a.ctl + ["-o", "json", "show", "sync"], capture_output=True,
                                 text=True)
            if out.returncode == 0:
                for r in json.loads(out.stdout)["resources"]:
                    if r["resource"] == "endpointslices":
                        for rv, t in r.get("applied_log", []):
                            applied[int(rv)] = t
            if stop.is_set():
                deadline = deadline or time.monotonic() + 5
                if all(rv in applied for rv in list(sent)) or time.monotonic() > deadline:
                    break
            time.sleep(0.05)

    n_batches = int(a.rate * a.seconds / a.batch)
    period = a.batch / a.rate
    bodies, k = [], 0  # the requests made before the clock starts
    for b in range(n_batches):
        objs = []
        for _ in range(a.batch):
            i = (k * 7919) % c["services"]
            flip = (k // c["services"]) % EPS_PER_SLICE if k % 2 == 0 else -1
            objs.append(slice_obj(i, c, flip))
            k += 1
        bodies.append(json.dumps({"op": "put_many", "objects": objs}))
    th = threading.Thread(target=poll)
    th.start()
    t0 = time.monotonic()
    for b in range(n_batches):
        due = t0 + b * period
        d = due - time.monotonic()
        if d > 0:
            time.sleep(d)
        t_us = int(time.time() * 1e6)
        for rv in adm.raw(bodies[b])["resourceVersions"]:
            sent[rv] = t_us
    dur = time.monotonic() - t0
    stop.set()
    th.join()
    lat = [(applied[rv] - t) / 1000.0 for rv, t in sent.items() if rv in applied]
    # the stand-in's watch write times (--watch-log): sluiced's share, written -> applied
    written = {rv: t for rv, t in adm({"op": "watch_log", "resource": "endpointslices"})}
    sl = [(applied[rv] - written[rv]) / 1000.0 for rv in sent if rv in applied and rv in written]
    si = [(written[rv] - t) / 1000.0 for rv, t in sent.items() if rv in written]
    q = lambda xs: {"n": len(xs), "p50_ms": pct(xs, 50), "p90_ms": pct(xs, 90),
                    "p99_ms": pct(xs, 99), "max_ms": max(xs) if xs else None}
    print(json.dumps({"sent": len(sent), "matched": len(lat), "seconds": round(dur, 2),
                      "rate": round(len(sent) / dur, 1), **q(lat),
                      "sluiced": q(sl), "standin": q(si)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("load")
    ep = sub.add_parser("events")
    for p in (lp, ep):
        p.add_argument("--admin", type=int, required=True)
        p.add_argument("--scale", type=float, default=1.0)
    lp.add_argument("--self", dest="self_node", default="node1")
    ep.add_argument("--rate", type=float, default=1000)
    ep.add_argument("--seconds", type=float, default=10)
    ep.add_argument("--batch", type=int, default=10)
    ep.add_argument("--ctl", nargs=argparse.REMAINDER, required=True)
    a = ap.parse_args()
    if a.scale <= 0 or a.scale > 1:
        sys.exit("--scale: a fraction in (0, 1]")
    load(a) if a.cmd == "load" else events(a)


if __name__ == "__main__":
    main()
