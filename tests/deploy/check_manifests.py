#!/usr/bin/python3
"""Check deploy/'s Kubernetes manifests without an API server.

1. Every document parses (PyYAML) and, for the kinds the official Python client knows
   (python3-kubernetes), matches its models strictly: no unknown field anywhere, the types
   the models declare, required fields present (the client's own deserializer).
2. What sluiced needs from its DaemonSet and RBAC (issue 11): privileged, hostNetwork,
   hugepages, /run/sluice as hostPath, NODE_NAME from spec.nodeName, liveness and readiness
   on /healthz at the port the ConfigMap's metrics.listen names, the ServiceAccount bound to
   a ClusterRole granting exactly list/watch on the synced kinds and patch on Nodes; the
   init container installs sluice-cni.
3. The ConfigMap's sluiced.json passes `sluiced --check` (argument 1: the sluiced binary).

Usage: /usr/bin/python3 tests/deploy/check_manifests.py build/control/sluiced
Prints "ok - ..." lines; exits 1 with "not ok - ..." on the first failure.
"""
import datetime
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml
import kubernetes.client as kc
from kubernetes.client import ApiClient

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
NATIVE = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object,
          "date": str, "datetime": (str, datetime.datetime)}


def die(msg):
    print(f"not ok - {msg}")
    sys.exit(1)


def model_of(doc):
    group_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
    version = group_version.split("/")[-1]
    name = version.capitalize() + kind
    return name if hasattr(kc, name) else None


def walk(value, typ, path):
    """Check value against the client's openapi type string typ, strictly."""
    m = re.fullmatch(r"list\[(.*)\]", typ)
    if m:
        if not isinstance(value, list):
            die(f"{path}: must be a list")
        for i, v in enumerate(value):
            walk(v, m.group(1), f"{path}[{i}]")
        return
    m = re.fullmatch(r"dict\(([^,]*), (.*)\)", typ)
    if m:
        if not isinstance(value, dict):
            die(f"{path}: must be a map")
        for k, v in value.items():
            walk(v, m.group(2), f"{path}.{k}")
        return
    if typ in NATIVE:
        if typ != "object" and not isinstance(value, NATIVE[typ]):
            die(f"{path}: {value!r} is not a {typ}")
        return
    cls = getattr(kc, typ)
    if not isinstance(value, dict):
        die(f"{path}: must be an object ({typ})")
    known = {v: k for k, v in cls.attribute_map.items()}
    for k, v in value.items():
        if k not in known:
            die(f"{path}: unknown field '{k}' in {typ}")
        walk(v, cls.openapi_types[known[k]], f"{path}.{k}")


docs = []
for f in sorted(glob.glob(os.path.join(ROOT, "deploy", "*.yaml"))):
    with open(f) as fh:
        for i, d in enumerate(yaml.safe_load_all(fh)):
            if d is not None:
                docs.append((os.path.relpath(f, ROOT), i, d))
print(f"ok - {len(docs)} YAML documents parse")

api = ApiClient()
checked = 0
for f, i, d in docs:
    name = model_of(d)
    if not name:
        continue  # a CRD kind (NetworkAttachmentDefinition): not in the client
    walk(d, name, f"{f}#{i} {d['kind']}")
    try:
        api._ApiClient__deserialize(d, name)  # required fields, enums the client checks
    except (ValueError, TypeError) as e:
        die(f"{f}#{i} {d['kind']}: {e}")
    checked += 1
print(f"ok - {checked} documents match the kubernetes client's models strictly")

by_kind = {}
for f, i, d in docs:
    if f.startswith("deploy/sluice-") and f != "deploy/sluice-vhost-nad.yaml":
        by_kind.setdefault(d["kind"], []).append(d)
for k in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet"):
    if len(by_kind.get(k, [])) != 1:
        die(f"want exactly one {k} in deploy/sluice-*.yaml, have {len(by_kind.get(k, []))}")
sa, role, binding = by_kind["ServiceAccount"][0], by_kind["ClusterRole"][0], by_kind["ClusterRoleBinding"][0]
cm, ds = by_kind["ConfigMap"][0], by_kind["DaemonSet"][0]

# RBAC: exactly what the sync needs.
want = {("", "nodes"): {"list", "watch", "patch"}, ("", "pods"): {"list", "watch"},
        ("", "namespaces"): {"list", "watch"}, ("", "services"): {"list", "watch"},
        ("discovery.k8s.io", "endpointslices"): {"list", "watch"},
        ("networking.k8s.io", "networkpolicies"): {"list", "watch"}}
got = {}
for r in role["rules"]:
    if r.get("resourceNames") or r.get("nonResourceURLs"):
        die(f"ClusterRole rule {r}: resourceNames/nonResourceURLs not expected")
    for g in r["apiGroups"]:
        for res in r["resources"]:
            got.setdefault((g, res), set()).update(r["verbs"])
if got != want:
    die(f"ClusterRole grants {got}, want {want}")
subj = binding["subjects"]
if (binding["roleRef"]["name"] != role["metadata"]["name"] or len(subj) != 1 or
        subj[0]["kind"] != "ServiceAccount" or subj[0]["name"] != sa["metadata"]["name"] or
        subj[0]["namespace"] != sa["metadata"]["namespace"]):
    die("ClusterRoleBinding does not bind the ClusterRole to the ServiceAccount")
print("ok - RBAC: list/watch on nodes, pods, namespaces, services, endpointslices, "
      "networkpolicies; patch on nodes; nothing else")

# The DaemonSet.
spec = ds["spec"]["template"]["spec"]
if spec.get("serviceAccountName") != sa["metadata"]["name"] or \
        ds["metadata"]["namespace"] != sa["metadata"]["namespace"]:
    die("DaemonSet does not run as the ServiceAccount (same namespace)")
if spec.get("hostNetwork") is not True:
    die("DaemonSet: hostNetwork must be true")
c = [x for x in spec["containers"] if x["name"] == "sluiced"]
if len(c) != 1:
    die("DaemonSet: no container named sluiced")
c = c[0]
if not c.get("securityContext", {}).get("privileged"):
    die("sluiced container: not privileged")
res = c.get("resources", {})
if "hugepages-2Mi" not in res.get("limits", {}) or \
        res["limits"]["hugepages-2Mi"] != res.get("requests", {}).get("hugepages-2Mi"):
    die("sluiced container: hugepages-2Mi limit (= request) missing")
vols = {v["name"]: v for v in spec["volumes"]}
mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
run = vols.get(mounts.get("/run/sluice"), {})
if run.get("hostPath", {}).get("path") != "/run/sluice":
    die("/run/sluice (API socket, vhost-user sockets) is not the host's /run/sluice")
if vols.get(mounts.get("/dev/hugepages"), {}).get("emptyDir", {}).get("medium") != "HugePages-2Mi":
    die("/dev/hugepages is not a HugePages-2Mi volume")
env = {e["name"]: e for e in c.get("env", [])}
if env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "spec.nodeName":
    die("NODE_NAME does not come from the downward API's spec.nodeName")
cfg = json.loads(cm["data"]["sluiced.json"])
host, port = cfg["metrics"]["listen"].rsplit(":", 1)
for probe in ("livenessProbe", "readinessProbe"):
    g = c.get(probe, {}).get("httpGet", {})
    if g.get("path") != "/healthz" or str(g.get("port")) != port or g.get("host") != host:
        die(f"{probe}: want httpGet {host}:{port}/healthz (metrics.listen), have {g}")
args = c.get("args", [])
if "-s" not in args or args[args.index("-s") + 1] != "/run/sluice/sluiced.sock":
    die("sluiced's API socket is not /run/sluice/sluiced.sock (the conflist's)")
conflist = json.load(open(os.path.join(ROOT, "deploy", "10-sluice.conflist")))
if conflist["plugins"][0]["socket"] != "/run/sluice/sluiced.sock":
    die("10-sluice.conflist names another socket")
if cm["metadata"]["name"] not in [v.get("configMap", {}).get("name") for v in vols.values()]:
    die("the ConfigMap is not mounted")
init = spec.get("initContainers", [])
if not any("install-cni.sh" in " ".join(i.get("command", [])) for i in init):
    die("no init container running install-cni.sh")
print("ok - DaemonSet: privileged, hostNetwork, hugepages, /run/sluice hostPath, NODE_NAME, "
      f"probes on {host}:{port}/healthz, CNI installed by an init container")

# The config sluiced gets.
if len(sys.argv) > 1:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as t:
        t.write(cm["data"]["sluiced.json"])
        t.flush()
        r = subprocess.run([sys.argv[1], "--check", "-c", t.name], capture_output=True, text=True)
        if r.returncode != 0:
            die(f"sluiced --check on the ConfigMap's sluiced.json: {r.stderr.strip()}")
    print("ok - the ConfigMap's sluiced.json passes sluiced --check")

# kubectl decodes every document offline (client dry-run needs a server; --local does not).
for f in sorted({f for f, _, _ in docs}):
    r = subprocess.run(["kubectl", "label", "--local", "-f", os.path.join(ROOT, f), "x=y",
                        "-o", "name"], capture_output=True, text=True)
    if r.returncode != 0:
        die(f"kubectl label --local -f {f}: {r.stderr.strip()}")
print("ok - kubectl decodes every manifest (label --local)")
