#!/usr/bin/env python3
"""A stand-in Kubernetes API server for the sync tests (Python standard library only).

It speaks what kube-apiserver speaks for the resources sluiced follows, written from the API
reference (https://kubernetes.io/docs/reference/using-api/api-concepts/):
  - HTTPS (a certificate the test makes), bearer-token or client-certificate authentication;
  - discovery: /version, /api, /apis, /api/v1, /apis/<group>/<version> (legacy format);
  - collections under /api/v1 (nodes, namespaces, pods, services) and /apis/<group>/<version>
    (discovery.k8s.io/v1 endpointslices, networking.k8s.io/v1 networkpolicies), cluster-wide
    and per namespace; GET/DELETE/PATCH (merge patch)/PUT of one object, POST to create;
  - lists with kind <Kind>List, apiVersion, metadata.resourceVersion, limit + continue
    (a continue token older than the last compaction gets 410 Expired), labelSelector and
    fieldSelector (metadata.name, metadata.namespace);
  - watches (watch=1): chunked newline-delimited events ADDED/MODIFIED/DELETED/BOOKMARK/ERROR,
    from resourceVersion (replayed from the event history; older than the compaction: an ERROR
    event with a 410 Status, reason Expired), without one (or "0"): ADDED for every object
    first; bookmarks (allowWatchBookmarks) as objects carrying only metadata.resourceVersion;
    timeoutSeconds; an object leaving a watch's selector is sent as DELETED, one entering it
    as ADDED;
  - streaming lists (KEP-3157, the WatchList feature): a watch with sendInitialEvents=true
    (which requires resourceVersionMatch=NotOlderThan and allowWatchBookmarks=true, else 422
    Invalid, as kube-apiserver validates ListOptions) sends ADDED for every object of a
    consistent snapshot (resourceVersion "" or not newer than the current one), then a
    BOOKMARK at the snapshot's resourceVersion annotated k8s.io/initial-events-end: "true",
    then the changes after it. --watch-list (or the admin op watch_list) picks how the
    server takes such a request: "on" (default); "reject": the feature gate off, 422 Invalid
    "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"
    (resourceVersionMatch on a watch without sendInitialEvents is refused the same way in
    every mode); "ignore": an older server that ignores both parameters and serves a plain
    watch (resourceVersion "": ADDED for every object, then changes; bookmarks without the
    annotation).
An admin endpoint (plain HTTP on 127.0.0.1, POST a JSON command) lets a test change the
cluster and break things; see Admin.do_POST for the commands.

Usage: kube_apiserver.py --port P --admin-port A --cert C --key K --ca CA --tokens T1,T2
       [--watch-list on|reject|ignore]
       [--list-cache] [--watch-log] [--nodelay]  (performance, for perf/k8s_scale_bench.sh: list pages from a cache of
                        sorted keys and serialized objects; same answers)
"""
import argparse
import base64
import bisect
import collections
import copy
import json
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit, unquote

# resource -> (group, version, kind, namespaced, short names)
RESOURCES = {
    "nodes": ("", "v1", "Node", False, ["no"]),
    "namespaces": ("", "v1", "Namespace", False, ["ns"]),
    "pods": ("", "v1", "Pod", True, ["po"]),
    "services": ("", "v1", "Service", True, ["svc"]),
    "endpointslices": ("discovery.k8s.io", "v1", "EndpointSlice", True, []),
    "networkpolicies": ("networking.k8s.io", "v1", "NetworkPolicy", True, ["netpol"]),
}
KIND_TO_RES = {v[2]: k for k, v in RESOURCES.items()}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def api_version(res):
    g, v = RESOURCES[res][0], RESOURCES[res][1]
    return f"{g}/{v}" if g else v


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def parse_label_selector(sel):
    """'a=b,c!=d,e,!f,g in (x,y),h notin (z)' -> list of predicates on a labels dict."""
    preds = []
    if not sel:
        return preds
    parts, depth, cur = [], 0, ""
    for ch in sel:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for p in (x.strip() for x in parts if x.strip()):
        if " notin " in p or " in " in p:
            neg = " notin " in p
            k, vals = p.split(" notin " if neg else " in ", 1)
            vals = {v.strip() for v in vals.strip().strip("()").split(",")}
            k = k.strip()
            preds.append(lambda l, k=k, vals=vals, neg=neg:
                         (l.get(k) not in vals) if neg else (l.get(k) in vals))
        elif "!=" in p:
            k, v = p.split("!=", 1)
            preds.append(lambda l, k=k.strip(), v=v.strip(): l.get(k) != v)
        elif "==" in p or "=" in p:
            k, v = p.split("==", 1) if "==" in p else p.split("=", 1)
            preds.append(lambda l, k=k.strip(), v=v.strip(): l.get(k) == v)
        elif p.startswith("!"):
            preds.append(lambda l, k=p[1:].strip(): k not in l)
        else:
            preds.append(lambda l, k=p: k in l)
    return preds


def parse_field_selector(sel):
    preds = []
    for p in (x.strip() for x in (sel or "").split(",") if x.strip()):
        neg = "!=" in p
        k, v = p.split("!=" if neg else ("==" if "==" in p else "="), 1)
        path = k.strip().split(".")

        def get(o, path=path):
            for e in path:
                o = o.get(e, {}) if isinstance(o, dict) else {}
            return o if isinstance(o, str) else ""
        preds.append(lambda o, get=get, v=v.strip(), neg=neg: (get(o) != v) if neg else (get(o) == v))
    return preds


class Filter:
    def __init__(self, res, ns, q):
        self.res, self.ns = res, ns
        self.labels = parse_label_selector(q.get("labelSelector", [""])[0])
        self.fields = parse_field_selector(q.get("fieldSelector", [""])[0])

    def match(self, obj):
        if obj is None:
            return False
        md = obj.get("metadata", {})
        if self.ns and md.get("namespace") != self.ns:
            return False
        labels = md.get("labels") or {}
        return all(p(labels) for p in self.labels) and all(p(obj) for p in self.fields)


class Watcher:
    def __init__(self, handler):
        self.handler = handler
        self.dropped = False
        self.expired = False  # compacted under it: ends with a 410 ERROR event


class Cluster:
    """The objects, the resourceVersion counter and the event history, under one lock."""

    def __init__(self):
        self.lock = threading.Condition()
        self.rv = 100
        self.objects = {r: {} for r in RESOURCES}  # res -> {(ns, name): obj}
        self.history = []      # (rv, res, type, old, new)
        self.compacted = 0     # events at or below this rv are gone
        self.watchers = set()
        self.bookmark_s = 1.0
        self.log = []          # the API requests: {method, resource, namespace, name, query}
        self.tokens = set()
        self.fail_continue = 0 # the next N requests with a continue token get 410
        self.gen = {r: 0 for r in RESOURCES}  # per resource: bumped by every change
        self.list_cache = False  # --list-cache
        self.keys_cache = {}     # (res, ns, labelSelector, fieldSelector) -> (gen, keys)
        self.json_cache = {}     # (res, key) -> (resourceVersion, list item bytes)
        self.list_stats = {}     # res -> {"requests", "items", "seconds"}: list serving
        self.watch_log = None    # --watch-log: deque of (res, rv, wall-clock us) events written
        self.watch_list = "on"   # --watch-list: on, reject, ignore
        self.ev_cache = {}       # (res, key) -> (resourceVersion, ADDED event line bytes)
        self.watch_lists = 0     # streaming lists served (initial events + end bookmark)

    def put(self, obj):
        with self.lock:
            res = KIND_TO_RES[obj["kind"]]
            obj = copy.deepcopy(obj)
            obj["apiVersion"] = api_version(res)
            md = obj.setdefault("metadata", {})
            if RESOURCES[res][3]:
                md.setdefault("namespace", "default")
            else:
                md.pop("namespace", None)
            key = (md.get("namespace", ""), md["name"])
            old = self.objects[res].get(key)
            self.rv += 1
            md["resourceVersion"] = str(self.rv)
            md["uid"] = old["metadata"]["uid"] if old else str(uuid.uuid4())
            md["creationTimestamp"] = (old["metadata"]["creationTimestamp"] if old else
                                       time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            self.objects[res][key] = obj
            self.gen[res] += 1
            self.history.append((self.rv, res, "MODIFIED" if old else "ADDED", old, obj))
            self.lock.notify_all()
            return obj

    def delete(self, res, ns, name):
        with self.lock:
            old = self.objects[res].pop((ns or "", name), None)
            if old is None:
                return None
            self.rv += 1
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(self.rv)
            self.gen[res] += 1
            self.history.append((self.rv, res, "DELETED", old, None))
            self.lock.notify_all()
            return gone

    def compact(self):
        """Forget the history: open watches, later watches from older resourceVersions and
        continue tokens older than now get 410 (as if etcd compacted and the watch cache
        dropped them: what a client must survive)."""
        with self.lock:
            self.compacted = self.rv
            self.history = []
            for w in self.watchers:
                w.expired = True
            self.lock.notify_all()


C = Cluster()


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-standin/1.0"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("api: " + fmt % args + "\n")

    def send_json(self, code, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authenticated(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and auth[7:] in C.tokens:
            return True
        try:
            if self.connection.getpeercert():
                return True  # a client certificate our CA signed (verified by ssl)
        except (AttributeError, ValueError):
            pass
        self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        return False

    def route(self):
        """-> (res, ns, name, query) or None (discovery handled here)."""
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        p = [unquote(x) for x in u.path.strip("/").split("/") if x]
        if p[:2] == ["api", "v1"]:
            rest, group = p[2:], ""
        elif len(p) >= 3 and p[0] == "apis":
            rest, group = p[3:], p[1]
        else:
            return None, q, p
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if not rest or rest[0] not in RESOURCES or RESOURCES[rest[0]][0] != group:
            return None, q, p
        res = rest[0]
        name = rest[1] if len(rest) > 1 else None
        return (res, ns, name), q, p

    def discovery(self, p):
        if p == ["version"]:
            return {"major": "1", "minor": "32", "gitVersion": "v1.32.0-standin",
                    "platform": "linux/amd64"}
        if p == ["api"]:
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server.server_address[0]}]}
        groups = sorted({(v[0], v[1]) for v in RESOURCES.values() if v[0]})
        if p == ["apis"]:
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                 "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v}}
                for g, v in groups]}
        gv = None
        if p == ["api", "v1"]:
            gv = ("", "v1")
        elif len(p) == 3 and p[0] == "apis" and (p[1], p[2]) in groups:
            gv = (p[1], p[2])
        elif len(p) == 2 and p[0] == "apis" and any(g == p[1] for g, _ in groups):
            v = [v for g, v in groups if g == p[1]][0]
            return {"kind": "APIGroup", "apiVersion": "v1", "name": p[1],
                    "versions": [{"groupVersion": f"{p[1]}/{v}", "version": v}],
                    "preferredVersion": {"groupVersion": f"{p[1]}/{v}", "version": v}}
        if gv is None:
            return None
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{gv[0]}/{gv[1]}" if gv[0] else gv[1],
                "resources": [{"name": r, "singularName": v[2].lower(), "namespaced": v[3],
                               "kind": v[2], "verbs": VERBS, "shortNames": v[4]}
                              for r, v in RESOURCES.items() if (v[0], v[1]) == gv]}

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self, method):
        if not self.authenticated():
            return
        r, q, p = self.route()
        if r is None:
            d = self.discovery(p) if method == "GET" else None
            if d is None:
                return self.send_json(404, status(404, "NotFound", "the server could not find "
                                                  "the requested resource"))
            return self.send_json(200, d)
        res, ns, name = r
        with C.lock:
            C.log.append({"method": method, "resource": res, "namespace": ns, "name": name,
                          "query": {k: v[0] for k, v in q.items()}})
        watch = q.get("watch", [""])[0] in ("1", "true", "True")
        if method == "GET" and name is None and watch:
            return self.watch(res, ns, q)
        if method == "GET" and name is None:
            return self.list(res, ns, q)
        kind = RESOURCES[res][2]
        key = (ns or "", name) if RESOURCES[res][3] else ("", name)
        if method == "GET":
            with C.lock:
                o = C.objects[res].get(key)
            if o is None:
                return self.send_json(404, status(404, "NotFound",
                                                  f'{res} "{name}" not found'))
            return self.send_json(200, o)
        if method == "DELETE":
            self.read_body()
            gone = C.delete(res, key[0], name)
            if gone is None:
                return self.send_json(404, status(404, "NotFound",
                                                  f'{res} "{name}" not found'))
            return self.send_json(200, gone)
        body = self.read_body()
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            return self.send_json(400, status(400, "BadRequest", "body is not JSON"))
        if method == "PATCH":
            ct = self.headers.get("Content-Type", "")
            if ct not in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                return self.send_json(415, status(415, "UnsupportedMediaType",
                                                  f"the body of the request was in an unknown "
                                                  f"format - accepted media types include: "
                                                  f"application/merge-patch+json"))
            with C.lock:
                o = C.objects[res].get(key)
                if o is None:
                    return self.send_json(404, status(404, "NotFound",
                                                      f'{res} "{name}" not found'))
                new = merge_patch(o, doc)
                new["metadata"]["name"] = name
                new["kind"] = kind
                return self.send_json(200, C.put(new))
        if method in ("POST", "PUT"):
            doc["kind"] = kind
            if ns:
                doc.setdefault("metadata", {})["namespace"] = ns
            if method == "POST":
                with C.lock:
                    k2 = (ns or "", doc.get("metadata", {}).get("name"))
                    if k2 in C.objects[res]:
                        return self.send_json(409, status(409, "AlreadyExists",
                                                          f'{res} "{k2[1]}" already exists'))
                    return self.send_json(201, C.put(doc))
            return self.send_json(200, C.put(doc))
        self.send_json(405, status(405, "MethodNotAllowed", "method not allowed"))

    def do_GET(self):
        self.handle_any("GET")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def list(self, res, ns, q):
        t0 = time.monotonic()
        n = self.list_serve(res, ns, q)
        with C.lock:
            st = C.list_stats.setdefault(res, {"requests": 0, "items": 0, "seconds": 0.0})
            st["requests"] += 1
            st["items"] += n or 0
            st["seconds"] += time.monotonic() - t0

    def list_serve(self, res, ns, q):
        """Serves one list page; -> the number of items."""
        f = Filter(res, ns, q)
        limit = int(q.get("limit", ["0"])[0] or 0)
        cont = q.get("continue", [""])[0]
        start, list_rv = None, None
        with C.lock:
            if cont:
                try:
                    t = json.loads(base64.urlsafe_b64decode(cont.encode()))
                    start, list_rv = tuple(t["start"]), t["rv"]
                except (ValueError, KeyError, TypeError):
                    return self.send_json(400, status(400, "BadRequest",
                                                      "invalid continue token"))
                if C.fail_continue > 0:
                    C.fail_continue -= 1
                    list_rv = -1
                if list_rv < C.compacted:
                    return self.send_json(410, status(
                        410, "Expired", "The provided continue parameter is too old to "
                        "display a consistent list result. You can start a new list without "
                        "the continue parameter, or use the continue token in this response "
                        "to retrieve the remainder of the results."))
            else:
                list_rv = C.rv
            if C.list_cache:
                return self.list_cached(res, ns, q, f, limit, start, list_rv)
            keys = sorted(k for k, o in C.objects[res].items() if f.match(o))
            if start is not None:
                keys = [k for k in keys if k > start]
            items = [copy.deepcopy(C.objects[res][k]) for k in (keys[:limit] if limit else keys)]
            more = limit and len(keys) > limit
        md = {"resourceVersion": str(list_rv)}
        if more:
            md["continue"] = base64.urlsafe_b64encode(json.dumps(
                {"rv": list_rv, "start": list(keys[limit - 1])}).encode()).decode()
            md["remainingItemCount"] = len(keys) - limit
        for it in items:  # list items carry neither kind nor apiVersion
            it.pop("kind", None)
            it.pop("apiVersion", None)
        self.send_json(200, {"kind": RESOURCES[res][2] + "List", "apiVersion": api_version(res),
                             "metadata": md, "items": items})
        return len(items)

    def list_cached(self, res, ns, q, f, limit, start, list_rv):
        """list_serve's page with C.lock held (--list-cache): the matching keys sorted once per
        change of the resource, each object serialized once per resourceVersion; the same
        answer as the uncached path."""
        ck = (res, ns, q.get("labelSelector", [""])[0], q.get("fieldSelector", [""])[0])
        ent = C.keys_cache.get(ck)
        if ent is None or ent[0] != C.gen[res]:
            ent = (C.gen[res], sorted(k for k, o in C.objects[res].items() if f.match(o)))
            C.keys_cache[ck] = ent
        keys = ent[1]
        i = bisect.bisect_right(keys, start) if start is not None else 0
        page = keys[i:i + limit] if limit else keys[i:]
        more = bool(limit) and len(keys) - i > limit
        parts = []
        for k in page:
            o = C.objects[res][k]
            rv = o["metadata"]["resourceVersion"]
            c = C.json_cache.get((res, k))
            if c is None or c[0] != rv:
                it = {a: b for a, b in o.items() if a not in ("kind", "apiVersion")}
                c = (rv, json.dumps(it).encode())
                C.json_cache[(res, k)] = c
            parts.append(c[1])
        md = {"resourceVersion": str(list_rv)}
        if more:
            md["continue"] = base64.urlsafe_b64encode(json.dumps(
                {"rv": list_rv, "start": list(page[-1])}).encode()).decode()
            md["remainingItemCount"] = len(keys) - i - limit
        body = (b'{"kind": ' + json.dumps(RESOURCES[res][2] + "List").encode() +
                b', "apiVersion": ' + json.dumps(api_version(res)).encode() +
                b', "metadata": ' + json.dumps(md).encode() + b', "items": [' +
                b", ".join(parts) + b"]}\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return len(page)

    def chunk(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def invalid_list_options(self, causes):
        """422 Invalid on ListOptions, as kube-apiserver's ValidateListOptions answers."""
        msg = "ListOptions.meta.k8s.io \"\" is invalid: " + ", ".join(
            f"{fld}: Forbidden: {why}" for fld, why in causes)
        st = status(422, "Invalid", msg)
        st["details"] = {"group": "meta.k8s.io", "kind": "ListOptions", "causes": [
            {"reason": "FieldValueForbidden", "message": f"Forbidden: {why}", "field": fld}
            for fld, why in causes]}
        return self.send_json(422, st)

    def initial_events(self, res, f, kind, apiv):
        """With C.lock held: the streaming list's initial events of a consistent snapshot, as
        bytes of newline-delimited events, and the snapshot's resourceVersion."""
        out = []
        for k in sorted(C.objects[res]):
            o = C.objects[res][k]
            if not f.match(o):
                continue
            rv = o["metadata"]["resourceVersion"]
            c = C.ev_cache.get((res, k)) if C.list_cache else None
            if c is None or c[0] != rv:
                c = (rv, (json.dumps({"type": "ADDED", "object": o}) + "\n").encode())
                if C.list_cache:  # a stored object is never changed in place
                    C.ev_cache[(res, k)] = c
            out.append(c[1])
        return out, C.rv

    def watch(self, res, ns, q):
        f = Filter(res, ns, q)
        rv = q.get("resourceVersion", [""])[0]
        bookmarks = q.get("allowWatchBookmarks", [""])[0] in ("1", "true", "True")
        timeout = float(q.get("timeoutSeconds", ["1800"])[0] or 1800)
        sie = q.get("sendInitialEvents", [None])[0]
        rvm = q.get("resourceVersionMatch", [""])[0]
        mode = C.watch_list
        if mode != "ignore":  # ValidateListOptions
            causes = []
            if sie is not None and mode == "reject":
                causes.append(("sendInitialEvents", "sendInitialEvents is forbidden for watch "
                               "unless the WatchList feature gate is enabled"))
            elif sie is not None:
                if rvm != "NotOlderThan":
                    causes.append(("resourceVersionMatch", "sendInitialEvents requires setting "
                                   "resourceVersionMatch to NotOlderThan"))
                if not bookmarks:
                    causes.append(("allowWatchBookmarks", "allowWatchBookmarks=true is "
                                   "required when sendInitialEvents is true"))
            elif rvm:
                causes.append(("resourceVersionMatch", "resourceVersionMatch is forbidden for "
                               "watch unless sendInitialEvents is provided"))
            if causes:
                return self.invalid_list_options(causes)
        stream_list = mode == "on" and sie in ("true", "True", "1")
        deadline = time.monotonic() + timeout
        w = Watcher(self)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        kind, apiv = RESOURCES[res][2], api_version(res)
        pending = []
        initial = []
        with C.lock:
            if stream_list and (rv == "" or int(rv) <= C.rv):
                # the current state is at least as fresh as any rv not newer than it
                t0 = time.monotonic()
                initial, pos = self.initial_events(res, f, kind, apiv)
                pending.append({"type": "BOOKMARK", "object": {
                    "kind": kind, "apiVersion": apiv, "metadata": {
                        "resourceVersion": str(pos),
                        "annotations": {"k8s.io/initial-events-end": "true"}}}})
                C.watch_lists += 1
            elif stream_list:
                pending.append({"type": "ERROR", "object": status(
                    504, "Timeout", f"Too large resource version: {rv}, current: {C.rv}")})
                pos = None
            elif rv in ("", "0"):
                pos = C.rv
                for k in sorted(C.objects[res]):
                    o = C.objects[res][k]
                    if f.match(o):
                        pending.append({"type": "ADDED", "object": copy.deepcopy(o)})
            elif int(rv) < C.compacted:
                pending.append({"type": "ERROR", "object": status(
                    410, "Expired", f"too old resource version: {rv} ({C.compacted})")})
                pos = None
            else:
                pos = int(rv)
            C.watchers.add(w)
        last_bookmark = time.monotonic()
        try:
            for i in range(0, len(initial), 256):  # the initial events, 256 a write
                data = b"".join(initial[i:i + 256])
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            if stream_list:
                with C.lock:  # the stand-in's share of a streaming list, as list_stats
                    st = C.list_stats.setdefault(res, {"requests": 0, "items": 0,
                                                       "seconds": 0.0})
                    st["requests"] += 1
                    st["items"] += len(initial)
                    st["seconds"] += time.monotonic() - t0
            initial = None
            while True:
                for ev in pending:
                    self.chunk(ev)
                    if C.watch_log is not None and ev["type"] not in ("BOOKMARK", "ERROR"):
                        C.watch_log.append((res, int(ev["object"]["metadata"]["resourceVersion"]),
                                            int(time.time() * 1e6)))
                if pos is None:
                    break
                pending = []
                with C.lock:
                    while True:
                        if w.dropped:
                            raise ConnectionAbortedError
                        if w.expired or pos < C.compacted:  # compacted under us
                            pending.append({"type": "ERROR", "object": status(
                                410, "Expired",
                                f"too old resource version: {pos} ({C.compacted})")})
                            pos = None
                            break
                        # the history is in resourceVersion order: start after pos
                        first = bisect.bisect_right(C.history, pos, key=lambda h: h[0])
                        for (erv, eres, etype, old, new) in C.history[first:]:
                            if erv <= pos or eres != res:
                                continue
                            was, now = f.match(old), f.match(new)
                            if now:
                                t = "ADDED" if not was else etype
                                # --list-cache: a stored object is never changed in place
                                # (put stores a copy), so it is serialized without one
                                pending.append({"type": t, "object": new if C.list_cache
                                                else copy.deepcopy(new)})
                            elif was:
                                gone = copy.deepcopy(old)
                                gone["metadata"]["resourceVersion"] = str(erv)
                                pending.append({"type": "DELETED", "object": gone})
                        if C.history and C.history[-1][0] > pos:
                            pos = C.history[-1][0]
                        now_t = time.monotonic()
                        if pending or now_t >= deadline:
                            break
                        if bookmarks and now_t - last_bookmark >= C.bookmark_s:
                            pos = max(pos, C.rv)
                            pending.append({"type": "BOOKMARK", "object": {
                                "kind": kind, "apiVersion": apiv,
                                "metadata": {"resourceVersion": str(pos)}}})
                            last_bookmark = now_t
                            break
                        C.lock.wait(min(deadline - now_t, 0.2))
                if not pending and time.monotonic() >= deadline:
                    break
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (ConnectionAbortedError, BrokenPipeError, ConnectionResetError, OSError,
                ssl.SSLError):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        finally:
            with C.lock:
                C.watchers.discard(w)


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    verbose = False
    nodelay = False

    def __init__(self, addr, ctx):
        super().__init__(addr, Api)
        self.ctx = ctx
        self.conns = set()
        self.conns_lock = threading.Lock()

    def finish_request(self, request, client_address):
        if self.nodelay:  # --nodelay: as Go's net/http (kube-apiserver) does
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            request = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that does not trust our certificate, or goes away
        with self.conns_lock:
            self.conns.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with self.conns_lock:
                self.conns.discard(request)
            try:
                request.close()
            except OSError:
                pass

    def kill_all(self):
        with self.conns_lock:
            conns = list(self.conns)
            self.conns.clear()
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Runner:
    def __init__(self, args, ctx):
        self.args, self.ctx, self.srv, self.thread = args, ctx, None, None

    def start(self):
        if self.srv:
            return
        self.srv = ApiServer((self.args.address, self.args.port), self.ctx)
        self.srv.verbose = self.args.verbose
        self.srv.nodelay = self.args.nodelay
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if not self.srv:
            return
        srv, self.srv = self.srv, None
        srv.shutdown()
        srv.server_close()
        with C.lock:
            for w in C.watchers:
                w.dropped = True
            C.lock.notify_all()
        srv.kill_all()


RUN = None


class Admin(BaseHTTPRequestHandler):
    """POST / with a JSON command:
      {"op": "put", "object": {...}}             create or replace (kind picks the resource)
      {"op": "put_many", "objects": [...]}  -> {"put": N, "resourceVersions": [...]}
      {"op": "delete", "kind": K, "namespace": NS, "name": N}
      {"op": "get", "kind": K, "namespace": NS, "name": N}
      {"op": "drop_watches"}   break every watch connection (no end chunk)
      {"op": "expire"}         compact: watches get a 410 ERROR event, continue tokens 410
      {"op": "expire_continue", "count": N}  the next N continue tokens presented get 410
      {"op": "stop"} / {"op": "start"}   close / reopen the API port
      {"op": "tokens", "tokens": [...]}  the bearer tokens accepted from now on
      {"op": "bookmarks", "seconds": S}  bookmark interval
      {"op": "watch_list", "mode": M}    streaming lists: on, reject, ignore (see above);
                               -> {"mode", "served": streaming lists served so far}
      {"op": "log"}            the API requests so far: [{method, resource, namespace, name,
                               query}, ...]
      {"op": "state"}          resourceVersion, counts, watchers
      {"op": "list_stats"}     per resource: list requests (and streaming lists), items and
                               seconds spent serving them (the stand-in's share of a sync)
      {"op": "warm"}           (--list-cache) serialize every object for lists and initial
                               events now (kube-apiserver's watch cache holds them already)
      {"op": "watch_log", "resource": R}  (--watch-log) [[resourceVersion, wall-clock us
                               written to a watch], ...] of R's watch events"""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            cmd = json.loads(self.rfile.read(n))
            out = self.run(cmd)
            code = 200
        except Exception as e:  # a test's mistake: say which
            out, code = {"error": f"{type(e).__name__}: {e}"}, 400
        body = (json.dumps(out) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def run(self, cmd):
        op = cmd["op"]
        if op == "put":
            return C.put(cmd["object"])
        if op == "put_many":
            rvs = [int(C.put(o)["metadata"]["resourceVersion"]) for o in cmd["objects"]]
            return {"put": len(cmd["objects"]), "resourceVersions": rvs}
        if op in ("delete", "get"):
            res = KIND_TO_RES[cmd["kind"]]
            ns = cmd.get("namespace", "default") if RESOURCES[res][3] else ""
            if op == "get":
                with C.lock:
                    return C.objects[res].get((ns, cmd["name"]))
            return C.delete(res, ns, cmd["name"])
        if op == "drop_watches":
            with C.lock:
                ws = list(C.watchers)
                for w in ws:
                    w.dropped = True
                C.lock.notify_all()
            for w in ws:
                try:
                    w.handler.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return {"dropped": len(ws)}
        if op == "expire":
            C.compact()
            return {"compacted": C.compacted}
        if op == "expire_continue":
            with C.lock:
                C.fail_continue = int(cmd.get("count", 1))
            return {"count": C.fail_continue}
        if op == "stop":
            RUN.stop()
            return {"stopped": True}
        if op == "start":
            RUN.start()
            return {"started": True}
        if op == "tokens":
            with C.lock:
                C.tokens = set(cmd["tokens"])
            return {"tokens": len(C.tokens)}
        if op == "watch_list":
            if cmd["mode"] not in ("on", "reject", "ignore"):
                raise ValueError("mode: on, reject or ignore")
            C.watch_list = cmd["mode"]
            return {"mode": C.watch_list, "served": C.watch_lists}
        if op == "bookmarks":
            C.bookmark_s = float(cmd["seconds"])
            return {"seconds": C.bookmark_s}
        if op == "log":
            with C.lock:
                return list(C.log)
        if op == "state":
            with C.lock:
                return {"resourceVersion": C.rv, "compacted": C.compacted,
                        "watchers": len(C.watchers),
                        "objects": {r: len(o) for r, o in C.objects.items()}}
        if op == "watch_log":
            res = cmd.get("resource")
            return [[rv, t] for r, rv, t in list(C.watch_log or ()) if res in (None, r)]
        if op == "warm":  # --list-cache: serialize every object now, not at the first list
            with C.lock:
                n = 0
                for res, objs in C.objects.items():
                    for k, o in objs.items():
                        rv = o["metadata"]["resourceVersion"]
                        it = {a: b for a, b in o.items() if a not in ("kind", "apiVersion")}
                        C.json_cache[(res, k)] = (rv, json.dumps(it).encode())
                        C.ev_cache[(res, k)] = (rv, (json.dumps(
                            {"type": "ADDED", "object": o}) + "\n").encode())
                        n += 1
            return {"objects": n}
        if op == "list_stats":
            with C.lock:
                return copy.deepcopy(C.list_stats)
        raise ValueError(f"unknown op {op}")


def main():
    global RUN
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--admin-port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True, help="CA of client certificates")
    ap.add_argument("--tokens", default="", help="bearer tokens, comma-separated")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--list-cache", action="store_true",
                    help="serve list pages from cached sorted keys and serialized objects")
    ap.add_argument("--nodelay", action="store_true",
                    help="TCP_NODELAY on API connections (Go's default): watch events are not "
                         "held back by Nagle's algorithm")
    ap.add_argument("--watch-log", action="store_true",
                    help="remember when each watch event was written (admin op watch_log)")
    ap.add_argument("--watch-list", choices=("on", "reject", "ignore"), default="on",
                    help="streaming lists (sendInitialEvents): served (on), refused as with "
                         "the WatchList feature gate off (reject), or ignored as by an older "
                         "server (ignore)")
    a = ap.parse_args()
    C.list_cache = a.list_cache
    C.watch_list = a.watch_list
    if a.watch_log:
        C.watch_log = collections.deque(maxlen=1 << 21)
    C.tokens = {t for t in a.tokens.split(",") if t}
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.load_verify_locations(a.ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    RUN = Runner(a, ctx)
    RUN.start()
    admin = ThreadingHTTPServer(("127.0.0.1", a.admin_port), Admin)
    admin.daemon_threads = True
    print(f"kube_apiserver: https://{a.address}:{a.port}, admin http://127.0.0.1:{a.admin_port}",
          flush=True)
    try:
        admin.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
