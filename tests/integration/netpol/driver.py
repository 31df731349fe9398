#!/usr/bin/env python3
"""Conformance driver: replays tests/integration/netpol/cases.py on a running two-node sluice
topology (set up by tests/integration/netpol_conformance.sh) and checks every reachability
cell against the reference evaluator (truth.py).

  driver.py --agents DIR --ctl SLUICECTL --sock NODE1.sock --sock NODE2.sock [options]
  driver.py --selfcheck          the evaluator against upstream's hard-coded matrices only

Per case: the model's objects are applied with `sluicectl apply -f` on both nodes
(NetworkPolicies, relabelled Pods and Namespaces), deleted with `sluicectl delete
networkpolicy NS/NAME`, and after each step the probe agents (agent.py, one per pod) try
every pod -> pod cell of each (port, protocol) of the step in parallel. A cell that differs
from the evaluator is probed again (--retries, with --retry-timeout) before it counts as
wrong: the fast path may take a moment to publish a change, and a lost first packet must
not fail a case; nothing sleeps. Wrong cells are printed as a matrix (rows: from, columns:
to) and listed with the evaluator's reason.
--kernel-reference tests the rig itself: the evaluator's verdicts are enforced by iptables in
the pods (stateful, so established flows are kept, as Calico does), whatever sluiced does.
Output: "ok - NAME" / "not ok - NAME (...)" lines, "# ..." notes, "N passed, M failed";
--json FILE writes per-case results. Exit 1 when anything failed.
"""
import argparse
import copy
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases as C  # noqa: E402
import truth  # noqa: E402

KEYS = C.POD_KEYS


def initial_cluster():
    return {"namespaces": {ns: C.namespace_obj(ns) for ns in C.NAMESPACES},
            "pods": {k: C.pod_obj(k) for k in KEYS},
            "policies": {}}


def expected(cluster, port, proto):
    pods = [cluster["pods"][k] for k in KEYS]
    return truth.matrix(cluster, pods, port, proto)


def allowed_now(cluster, flow):
    s, d, port = flow
    return truth.allowed(cluster, cluster["pods"][s], cluster["pods"][d], port, "TCP")[0]


def why(cluster, s, d, port, proto):
    return truth.allowed(cluster, cluster["pods"][s], cluster["pods"][d], port, proto)[1]


def kernel_rules(cluster, key):
    """iptables-restore input for pod key: its ingress (INPUT) and egress (OUTPUT) verdicts
    from the evaluator, for every peer pod on ports 80/81 TCP/UDP (the --kernel-reference
    self-test of the rig: probes against a policy the kernel enforces)."""
    pod = cluster["pods"][key]
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    for chain, direction in (("INPUT", "Ingress"), ("OUTPUT", "Egress")):
        isolated = False
        allow = []
        for other in KEYS:
            if other == key:
                continue
            o = cluster["pods"][other]
            for port in (80, 81):
                for proto in ("TCP", "UDP"):
                    dst = pod if direction == "Ingress" else o
                    ok, w = truth.direction_allows(cluster, pod, o, dst, port, proto, direction)
                    if "not isolated" in w:
                        continue
                    isolated = True
                    if ok:
                        allow.append("-A %s %s %s/32 -p %s --dport %d -j ACCEPT" % (
                            chain, "-s" if chain == "INPUT" else "-d", C.IP[other], proto.lower(), port))
        if isolated:
            lines += ["-A %s -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT" % chain,
                      "-A %s -%s lo -j ACCEPT" % (chain, "i" if chain == "INPUT" else "o")]
            lines += allow
            lines.append("-A %s -j DROP" % chain)
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


class Rig:
    def __init__(self, a):
        self.agents, self.ctl_bin, self.socks = a.agents, a.ctl, a.sock
        self.timeout, self.retry_timeout, self.retries = a.timeout, a.retry_timeout, a.retries
        self.pool = ThreadPoolExecutor(len(KEYS))
        self.kernel_ref = a.kernel_reference
        self.tmp = tempfile.mkdtemp(prefix="npc-")

    def ctl(self, sock, *argv):
        r = subprocess.run([self.ctl_bin, "-s", sock, *argv], capture_output=True, text=True,
                           timeout=30)
        return r.returncode, (r.stdout + r.stderr).strip()

    def kernel_sync(self, cluster):
        """--kernel-reference: the evaluator's verdicts as iptables rules in every pod."""
        def one(k):
            r = subprocess.run(["ip", "netns", "exec", self.kernel_ref + k.replace("/", "-"),
                                "iptables-restore"], input=kernel_rules(cluster, k), text=True,
                               capture_output=True)
            return r.returncode, r.stderr
        for k, (rc, err) in zip(KEYS, self.pool.map(one, KEYS)):
            if rc:
                raise SystemExit("kernel reference: iptables-restore in %s failed: %s" % (k, err))

    def apply(self, objs):
        """Apply objs (a List) on every node; returns the error messages (empty: all ok)."""
        f = os.path.join(self.tmp, "objs.json")
        with open(f, "w") as fh:
            json.dump({"apiVersion": "v1", "kind": "List", "items": objs}, fh)
        errs = []
        for i, s in enumerate(self.socks):
            rc, out = self.ctl(s, "apply", "-f", f)
            if rc:
                errs.append("node%d: apply: %s" % (i + 1, out.splitlines()[-1] if out else "exit %d" % rc))
        return errs

    def delete(self, key):
        """Delete policy NS/NAME on every node. Where the delete is refused, the policy is
        replaced by one selecting no pod (so the next cases still start clean) and the
        refusal is returned as an error all the same."""
        errs = []
        for i, s in enumerate(self.socks):
            rc, out = self.ctl(s, "delete", "networkpolicy", key)
            if rc:
                errs.append("node%d: delete networkpolicy %s: %s" % (
                    i + 1, key, out.splitlines()[-1] if out else "exit %d" % rc))
                ns, name = key.split("/", 1)
                f = os.path.join(self.tmp, "neutral.json")
                with open(f, "w") as fh:
                    json.dump(C.np(name, ns, C.sel(**{"npc-none": "none"}), ingress=[]), fh)
                self.ctl(s, "apply", "-f", f)
        return errs

    def _agent(self, src, probes, timeout, req=None):
        path = os.path.join(self.agents, "agent-%s.sock" % src.replace("/", "-"))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout + 10)
        try:
            s.connect(path)
            s.sendall(json.dumps(req or {"probes": probes, "timeout": timeout}).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                d = s.recv(65536)
                if not d:
                    break
                buf += d
            out = json.loads(buf)
            if isinstance(out, dict):
                return ["agent error: %s" % out.get("error")] * len(probes)
            return out
        except (OSError, ValueError) as e:
            return ["agent error: %s" % e] * len(probes)
        finally:
            s.close()

    def flows(self, verb, flows, timeout):
        """verb hold|check|release on TCP flows [(src, dst, port)] -> {flow: result}"""
        by_src = {}
        for f in flows:
            by_src.setdefault(f[0], []).append(f)
        def fid(f):
            return "%s>%s:%d" % f
        reqs = {src: {verb: [[fid(f), C.IP[f[1]], f[2]] if verb == "hold" else fid(f) for f in fs],
                      "timeout": timeout} for src, fs in by_src.items()}
        futs = {src: self.pool.submit(self._agent, src, fs, timeout, reqs[src]) for src, fs in by_src.items()}
        res = {}
        for src, fs in by_src.items():
            r = futs[src].result()
            for i, f in enumerate(fs):
                res[f] = r[i] if i < len(r) else "released"
        return res

    def probe(self, cells, timeout):
        """cells: [(src, dst, port, proto)] -> {cell: result string}"""
        by_src = {}
        for c in cells:
            by_src.setdefault(c[0], []).append(c)
        futs = {src: self.pool.submit(self._agent, src,
                                      [[C.IP[d], port, proto] for _, d, port, proto in cs], timeout)
                for src, cs in by_src.items()}
        res = {}
        for src, cs in by_src.items():
            for c, r in zip(cs, futs[src].result()):
                res[c] = r
        return res


def table(port, proto, exp, obs):
    """Upstream-style reachability table: rows from, columns to."""
    w = max(len(k) for k in KEYS)
    lines = ["%s/%d (rows: from, columns: to; + allowed, - denied, as expected; "
             "A allowed but should be denied, D denied but should be allowed)" % (proto, port),
             " " * w + " " + " ".join(k.rjust(w) for k in KEYS)]
    for s in KEYS:
        row = []
        for d in KEYS:
            if s == d:
                row.append(".")
                continue
            e, o = exp[(s, d)], obs[(s, d)]
            row.append(("+" if o else "-") if e == o else ("A" if o else "D"))
        lines.append(s.ljust(w) + " " + " ".join(c.rjust(w) for c in row))
    return lines


def out(line=""):
    print(line, flush=True)


def note(line):
    out("# " + line)


def run(a):
    rig = None if a.selfcheck else Rig(a)
    cluster = initial_cluster()
    npass = nfail = nskip = 0
    tables = 0
    upstream_checked = 0
    results = []
    t_start = time.monotonic()

    def report(ok, name, detail=""):
        nonlocal npass, nfail
        if ok:
            npass += 1
            out("ok - " + name)
        else:
            nfail += 1
            out("not ok - %s%s" % (name, " (%s)" % detail if detail else ""))

    if rig:
        errs = rig.apply(list(cluster["namespaces"].values()) + [cluster["pods"][k] for k in KEYS])
        report(not errs, "apply 3 Namespaces and 9 Pods (labels, podIP, named container ports) on both nodes",
               "; ".join(errs))
        if a.sctp:
            note("SCTP: the kernel has sctp: SCTP cells are probed")
        else:
            note("SCTP: the kernel here has no sctp module (socket(IPPROTO_SCTP): Protocol not "
                 "supported, modprobe unavailable): SCTP cells are SKIPPED, not tested")
        # the no-policy baseline: every cell open on every port and protocol
        cells = [(s, d, p, pr) for p in (80, 81) for pr in ("TCP", "UDP") for s in KEYS for d in KEYS if s != d]
        res = rig.probe(cells, a.timeout)
        bad = [c for c in cells if res[c] != "ok"]
        if bad:
            res2 = rig.probe(bad, a.retry_timeout)
            bad = [c for c in bad if res2[c] != "ok"]
        report(not bad, "no policies: all %d cells (TCP and UDP, 80 and 81, 9 pods on 2 nodes) reachable" % len(cells),
               "; ".join("%s -> %s %s/%d: %s" % (c[0], c[1], c[3], c[2], res[c]) for c in bad[:6]))
        if bad:
            note("the topology does not forward: stopping")
            out("%d passed, %d failed" % (npass, nfail))
            return 1
        results.append({"case": "no policies", "ok": not bad})

    only = re.compile(a.only) if a.only else None
    for case in C.CASES:
        if only and not only.search(case["name"]):
            continue
        t0 = time.monotonic()
        created = []
        changed_pods, changed_ns = set(), set()
        errs, wrong_total, cells_total, truth_errs, skipped = [], 0, 0, [], []
        details = []
        held = []
        for si, step in enumerate(case["steps"], 1):
            op = step["op"]
            if op == "create":
                pol = step["policy"]
                key = "%s/%s" % (pol["metadata"]["namespace"], pol["metadata"]["name"])
                cluster["policies"][key] = copy.deepcopy(pol)
                created.append(key)
                if rig:
                    errs += rig.apply([pol])
            elif op == "delete":
                cluster["policies"].pop(step["policy"], None)
                if rig:
                    errs += rig.delete(step["policy"])
            elif op == "pod_labels":
                k = step["pod"]
                cluster["pods"][k] = C.pod_obj(k, step["labels"])
                changed_pods.add(k)
                if rig:
                    errs += rig.apply([cluster["pods"][k]])
            elif op == "ns_labels":
                ns = step["ns"]
                cluster["namespaces"][ns] = C.namespace_obj(ns, step["labels"])
                changed_ns.add(ns)
                if rig:
                    errs += rig.apply([cluster["namespaces"][ns]])
            elif op == "hold":
                held = list(step["flows"])
                if rig:
                    # the flows are allowed now: one that does not connect (the last change
                    # still being published) is tried again, as probes are
                    r = rig.flows("hold", held, a.timeout * 2)
                    for attempt in range(a.retries):
                        redo = [f for f in held if r[f] != "ok"]
                        if not redo:
                            break
                        r.update(rig.flows("hold", redo, a.retry_timeout))
                    bad = [f for f in held if r[f] != "ok"]
                    if bad:
                        errs.append("hold: %s" % ", ".join("%s->%s:%d %s" % (f + (r[f],)) for f in bad))
            elif op == "check_held":
                if not rig:
                    continue
                if rig.kernel_ref:
                    rig.kernel_sync(cluster)
                exp_f = {f: allowed_now(cluster, f) for f in held}
                r = rig.flows("check", held, a.timeout)
                for attempt in range(a.retries):
                    redo = [f for f in held if (r[f] == "ok") != exp_f[f] and exp_f[f] is False]
                    if not redo:
                        break
                    r.update(rig.flows("check", redo, a.retry_timeout))
                cells_total += len(held)
                wrong = [f for f in held if (r[f] == "ok") != exp_f[f]]
                wrong_total += len(wrong)
                details.append("step %d: established TCP flows: %d of %d wrong" % (si, len(wrong), len(held)))
                for f in held:
                    details.append("  %s %s -> %s TCP/%d: %s, expected %s (%s)" % (
                        "WRONG" if f in wrong else "ok   ", f[0], f[1], f[2],
                        "kept" if r[f] == "ok" else "cut (%s)" % r[f], "kept" if exp_f[f] else "cut",
                        why(cluster, f[0], f[1], f[2], "TCP")))
            elif op == "probe":
                if rig and rig.kernel_ref:
                    rig.kernel_sync(cluster)
                on = []
                for port, proto in step["on"]:
                    if proto == "SCTP" and not a.sctp:
                        skipped.append("SCTP/%d" % port)
                    else:
                        on.append((port, proto))
                exp = {pp: expected(cluster, *pp) for pp in step["on"]}
                for pp, fn in step["upstream"].items():
                    upstream_checked += 1
                    up = fn().m
                    diff = [c for c in up if up[c] != exp[pp][c]]
                    if diff:
                        truth_errs.append("step %d %s/%d: evaluator differs from upstream's matrix at %s" % (
                            si, pp[1], pp[0], ", ".join("%s->%s (upstream %s)" % (s, d, up[(s, d)]) for s, d in diff[:4])))
                if not rig:
                    continue
                cells = [(s, d, p, pr) for p, pr in on for s in KEYS for d in KEYS if s != d]
                res = rig.probe(cells, a.timeout)
                for attempt in range(a.retries):
                    redo = [c for c in cells if (res[c] == "ok") != exp[(c[2], c[3])][(c[0], c[1])]]
                    if not redo:
                        break
                    res.update(rig.probe(redo, a.retry_timeout))
                cells_total += len(cells)
                for p, pr in on:
                    obs = {(s, d): res[(s, d, p, pr)] == "ok" for s in KEYS for d in KEYS if s != d}
                    wrong = [c for c in obs if obs[c] != exp[(p, pr)][c]]
                    if wrong:
                        wrong_total += len(wrong)
                        details.append("step %d: %s/%d: %d of %d cells wrong" % (si, pr, p, len(wrong), len(obs)))
                        details += table(p, pr, exp[(p, pr)], obs)
                        for s, d in wrong[:a.list_wrong]:
                            details.append("  %s -> %s %s/%d: observed %s, expected %s (%s)" % (
                                s, d, pr, p, res[(s, d, p, pr)],
                                "allowed" if exp[(p, pr)][(s, d)] else "denied", why(cluster, s, d, p, pr)))
                        if len(wrong) > a.list_wrong:
                            details.append("  ... %d more" % (len(wrong) - a.list_wrong))
        if rig and held:
            rig.flows("release", held, a.timeout)
        # back to the initial state for the next case
        for key in created:
            if key in cluster["policies"]:
                cluster["policies"].pop(key)
                if rig:
                    errs += rig.delete(key)
        restore = [C.pod_obj(k) for k in sorted(changed_pods)] + [C.namespace_obj(n) for n in sorted(changed_ns)]
        for k in changed_pods:
            cluster["pods"][k] = C.pod_obj(k)
        for n in changed_ns:
            cluster["namespaces"][n] = C.namespace_obj(n)
        if rig and restore:
            errs += rig.apply(restore)
        if rig and rig.kernel_ref:
            rig.kernel_sync(cluster)
        dt = time.monotonic() - t0
        if truth_errs:
            report(False, "evaluator vs upstream: " + case["name"], "; ".join(truth_errs))
        elif not rig and any(st.get("upstream") for st in case["steps"]):
            report(True, "evaluator vs upstream: " + case["name"])
        if not rig:
            continue
        ok = not errs and wrong_total == 0
        detail = []
        if wrong_total:
            detail.append("%d of %d cells wrong" % (wrong_total, cells_total))
        if errs:
            detail.append("%d request(s) refused, first: %s" % (len(errs), errs[0]))
        name = "%s [%d cells%s, %.1f s]" % (case["name"], cells_total,
                                           ", %s skipped: no sctp" % "+".join(skipped) if skipped else "", dt)
        if ok and cells_total == 0 and skipped:
            nskip += 1
            out("ok - %s # SKIP every cell is SCTP and this kernel has no sctp" % name)
        else:
            report(ok, name, "; ".join(detail))
        if not ok and not a.quiet_tables:
            tables += 1
            if tables <= a.max_tables:
                for line in details:
                    note(line)
            elif tables == a.max_tables + 1:
                note("(matrices of further failing cases left out: --max-tables %d)" % a.max_tables)
        results.append({"case": case["name"], "ok": ok, "cells": cells_total, "wrong": wrong_total,
                        "errors": errs[:3], "skipped": skipped, "seconds": round(dt, 2)})
    note("reference evaluator checked against %d matrices hard-coded from upstream's specs "
         "(a disagreement fails its case as \"evaluator vs upstream\")" % upstream_checked)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"results": results, "passed": npass, "failed": nfail, "skipped": nskip,
                       "seconds": round(time.monotonic() - t_start, 1)}, fh, indent=1)
    out("%d passed, %d failed%s" % (npass, nfail, ", %d skipped (SCTP only)" % nskip if nskip else ""))
    return 1 if nfail else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", help="directory of the agents' control sockets (agent-NS-POD.sock)")
    ap.add_argument("--ctl", help="sluicectl binary")
    ap.add_argument("--sock", action="append", default=[], help="a node's API socket (repeat)")
    ap.add_argument("--sctp", action="store_true", help="probe SCTP cells (the agents serve SCTP)")
    ap.add_argument("--timeout", type=float, default=0.3,
                    help="first probe timeout, s (a cell that differs is probed again with --retry-timeout)")
    ap.add_argument("--retry-timeout", type=float, default=1.0, help="timeout of re-probes, s")
    ap.add_argument("--retries", type=int, default=2, help="re-probes of a wrong cell")
    ap.add_argument("--only", help="run the cases whose name matches this regex")
    ap.add_argument("--list-wrong", type=int, default=6, help="wrong cells listed per matrix")
    ap.add_argument("--quiet-tables", action="store_true", help="no matrices for failed cases")
    ap.add_argument("--max-tables", type=int, default=1000,
                    help="print the matrices of the first N failing cases only")
    ap.add_argument("--json", help="write per-case results here")
    ap.add_argument("--kernel-reference", metavar="NETNS_PREFIX",
                    help="self-test of the rig: after each step, program the evaluator's "
                         "verdicts as iptables rules in the pods' namespaces (NETNS_PREFIX + "
                         "NS-POD), so the probes meet a policy the kernel enforces")
    ap.add_argument("--selfcheck", action="store_true",
                    help="only check the evaluator against upstream's matrices (no rig)")
    ap.add_argument("--list", action="store_true", help="list the cases")
    a = ap.parse_args()
    if a.list:
        for c in C.CASES:
            print(c["name"])
        return 0
    if not a.selfcheck and not (a.agents and a.ctl and len(a.sock) == 2):
        ap.error("--agents, --ctl and two --sock are required (or --selfcheck)")
    return run(a)


if __name__ == "__main__":
    sys.exit(main())
