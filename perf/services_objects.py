#!/usr/bin/python3
"""Input of perf/services_bench.sh for N Services: Kubernetes objects, kube-proxy-style kernel
rules and the generator's destination list, all describing the same Services.

Service i (0 <= i < max(N, 2)), namespace "bench", name "svc-<i>": ClusterIP
10.96.0.1 + (i % 65000), port 80 + i // 65000 (so up to 65,000 Services each have a cluster IP
of their own inside 10.96.0.0/16; from 65,000 on, a cluster IP carries a second Service on
port 81: every (IP, protocol, port) is still one frontend of one Service); one port: UDP for
even i (targetPort 5001), TCP for odd i (targetPort 8080), so UDP and TCP traffic each spread
over half of one table of N Services (N = 1 is run as 2: one of each). One EndpointSlice per
Service with the same 10 ready endpoints 10.244.9.10-19 (one backend host; the addresses are
shared by every Service, as if 10 pods served them all).

  services_objects.py k8s N OUTPREFIX   Kubernetes Lists (`kubectl get svc,endpointslices -o
                                        json` shape), OUTPREFIX-<k>.json, each well below the
                                        API's 4 MiB request limit; prints the file names
  services_objects.py iptables N        iptables-restore input, kube-proxy's layout
  services_objects.py nft N             nft -f input, KEP-3866's layout (kube-proxy's
                                        nftables mode)
  services_objects.py dsts N PROTO      "IP PORT" of every PROTO (udp, tcp) Service, shuffled
                                        (fixed seed), for sluice-gen --dst-file / svc_tcp.py:
                                        any prefix of the list spreads over the whole set
"""
import base64
import hashlib
import json
import random
import sys

CLUSTER_CIDR = "10.244.0.0/16"
BACKEND_BASE = (10 << 24) | (244 << 16) | (9 << 8) | 10  # 10.244.9.10
BACKENDS = 10
TARGET = {"udp": 5001, "tcp": 8080}
PER_IP = 65000
CHUNK_BYTES = 3 * 1024 * 1024  # under the 4 MiB request limit, with room for the framing


def ip_str(v):
    return f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}"


def frontend(i):
    """(cluster IP, port) of Service i."""
    return ip_str((10 << 24) | (96 << 16) | (1 + i % PER_IP)), 80 + i // PER_IP


def proto(i):
    return "udp" if i % 2 == 0 else "tcp"


def count(n):
    return max(n, 2)


def backends():
    return [ip_str(BACKEND_BASE + k) for k in range(BACKENDS)]


def k8s(n, prefix):
    eps = [{"addresses": [a], "conditions": {"ready": True, "serving": True,
                                             "terminating": False}, "nodeName": "backends"}
           for a in backends()]
    files, items, size = [], [], 0

    def flush():
        nonlocal items, size
        path = f"{prefix}-{len(files)}.json"
        with open(path, "w") as f:
            f.write('{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},'
                    '"items":[' + ",".join(items) + "]}")
        files.append(path)
        items, size = [], 0

    for i in range(count(n)):
        ip, port = frontend(i)
        name, p = f"svc-{i}", proto(i)
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, "namespace": "bench"},
               "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                        "ports": [{"name": p, "port": port, "protocol": p.upper(),
                                   "targetPort": TARGET[p]}]}}
        sl = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
              "metadata": {"name": f"{name}-x", "namespace": "bench",
                           "labels": {"kubernetes.io/service-name": name}},
              "addressType": "IPv4", "endpoints": eps,
              "ports": [{"name": p, "port": TARGET[p], "protocol": p.upper()}]}
        text = json.dumps(svc, separators=(",", ":")) + "," + \
            json.dumps(sl, separators=(",", ":"))
        if items and size + len(text) + 1 > CHUNK_BYTES:
            flush()
        items.append(text)
        size += len(text) + 1
    if items:
        flush()
    print("\n".join(files))


def chain_hash(text):
    """kube-proxy's chain-name suffix: base32 of the SHA-256, 16 characters."""
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


def iptables(n, out):
    """kube-proxy (iptables mode) nat table: KUBE-SERVICES -> KUBE-SVC-* (statistic) ->
    KUBE-SEP-* (DNAT), masquerade marking as kube-proxy does with a cluster CIDR."""
    chains, rules = [], []
    for c in ("KUBE-SERVICES", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"):
        chains.append(f":{c} - [0:0]")
    rules += ["-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
              "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
              "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING",
              "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000",
              "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
              "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
              "-A KUBE-POSTROUTING -j MASQUERADE --random-fully"]
    bks = backends()
    for i in range(count(n)):
        ip, port = frontend(i)
        for p in [proto(i)]:
            sp = f"bench/svc-{i}:{p}"
            svc = "KUBE-SVC-" + chain_hash(sp + p)
            chains.append(f":{svc} - [0:0]")
            rules.append(f"-A KUBE-SERVICES -d {ip}/32 -p {p} -m comment --comment \"{sp} "
                         f"cluster IP\" -m {p} --dport {port} -j {svc}")
            rules.append(f"-A {svc} ! -s {CLUSTER_CIDR} -d {ip}/32 -p {p} -m comment --comment "
                         f"\"{sp} cluster IP\" -m {p} --dport {port} -j KUBE-MARK-MASQ")
            for k, b in enumerate(bks):
                ep = f"{b}:{TARGET[p]}"
                sep = "KUBE-SEP-" + chain_hash(sp + p + ep)
                chains.append(f":{sep} - [0:0]")
                left = BACKENDS - k
                stat = "" if left == 1 else \
                    f" -m statistic --mode random --probability {1.0 / left:.11f}"
                rules.append(f"-A {svc} -m comment --comment \"{sp} -> {ep}\"{stat} -j {sep}")
                rules.append(f"-A {sep} -s {b}/32 -m comment --comment \"{sp}\" -j KUBE-MARK-MASQ")
                rules.append(f"-A {sep} -p {p} -m comment --comment \"{sp}\" -m {p} "
                             f"-j DNAT --to-destination {ep}")
    rules.append("-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports\" "
                 "-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")
    chains.append(":KUBE-NODEPORTS - [0:0]")
    out.write("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
              ":POSTROUTING ACCEPT [0:0]\n")
    out.write("\n".join(chains) + "\n")
    out.write("\n".join(rules) + "\nCOMMIT\n")


def nft(n, out):
    """kube-proxy (nftables mode, KEP-3866) nat part: the service-ips verdict map from
    daddr . l4proto . dport to a per-service-port chain, which picks an endpoint chain with
    numgen random mod N, which DNATs."""
    w = out.write
    w("table ip kube-proxy\nflush table ip kube-proxy\ntable ip kube-proxy {\n")
    w("  chain mark-for-masquerade {\n    mark set mark or 0x4000\n  }\n")
    w("  chain masquerading {\n    type nat hook postrouting priority srcnat; policy accept;\n"
      "    mark and 0x4000 == 0 return\n    mark set mark xor 0x4000\n"
      "    masquerade fully-random\n  }\n")
    w("  chain nat-prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
      "    jump services\n  }\n")
    w("  chain nat-output {\n    type nat hook output priority -100; policy accept;\n"
      "    jump services\n  }\n")
    bks = backends()
    elems = []
    for i in range(count(n)):
        ip, port = frontend(i)
        for p in [proto(i)]:
            sp = f"bench/svc-{i}/{p}/p{port}"
            svc = f"service-{chain_hash(sp)[:8]}-{sp}"
            elems.append(f"{ip} . {p} . {port} : goto {svc}")
            eps = []
            for k, b in enumerate(bks):
                ep = f"endpoint-{chain_hash(sp + b)[:8]}-{sp}__{b}/{TARGET[p]}"
                eps.append(f"{k} : goto {ep}")
                w(f"  chain {ep} {{\n    ip saddr {b} jump mark-for-masquerade\n"
                  f"    meta l4proto {p} dnat to {b}:{TARGET[p]}\n  }}\n")
            w(f"  chain {svc} {{\n    ip daddr {ip} {p} dport {port} ip saddr != {CLUSTER_CIDR} "
              f"jump mark-for-masquerade\n    numgen random mod {BACKENDS} vmap {{ "
              f"{', '.join(eps)} }}\n  }}\n")
    w("  map service-ips {\n    type ipv4_addr . inet_proto . inet_service : verdict\n")
    w("    elements = {\n      " + ",\n      ".join(elems) + "\n    }\n  }\n")
    w("  chain services {\n    ip daddr . meta l4proto . th dport vmap @service-ips\n  }\n}\n")


def dsts(n, want):
    out = [frontend(i) for i in range(count(n)) if proto(i) == want]
    random.Random(1).shuffle(out)
    sys.stdout.write("".join(f"{ip} {port}\n" for ip, port in out))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    mode, n = sys.argv[1], int(sys.argv[2])
    if n < 1 or n > 130000:
        sys.exit("services_objects.py: N must be 1..130000")
    if mode == "k8s" and len(sys.argv) == 4:
        k8s(n, sys.argv[3])
    elif mode == "iptables" and len(sys.argv) == 3:
        iptables(n, sys.stdout)
    elif mode == "nft" and len(sys.argv) == 3:
        nft(n, sys.stdout)
    elif mode == "dsts" and len(sys.argv) == 4 and sys.argv[3] in TARGET:
        dsts(n, sys.argv[3])
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
