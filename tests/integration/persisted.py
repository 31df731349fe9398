#!/usr/bin/env python3
"""The objects a state file holds as sluiced reads it at start (control/sources/sl_persist.h):
the snapshot's, then the lines of its journal (<state>.journal) of the same generation; a
cut last line was never acknowledged and does not count. Prints the objects of one list
("pods", "nodes", ...) as a JSON array, keyed as the journal keys them.
Usage: persisted.py STATE LIST"""
import json
import sys

path, kind = sys.argv[1], sys.argv[2]
snap = json.load(open(path))


def key(o):
    if kind in ("nodes", "namespaces"):
        return o.get("metadata", o)["name"]
    md = o.get("metadata", o)
    return "%s/%s" % (md.get("namespace", "default"), md["name"])


objs = {key(o): o for o in snap.get(kind, [])}
try:
    lines = open(path + ".journal").read().split("\n")[:-1]
except FileNotFoundError:
    lines = []
for line in lines:
    rec = json.loads(line)
    if rec.get("gen") != snap.get("journal"):
        continue
    for o in rec.get("put", {}).get(kind, []):
        objs[key(o)] = o
    for k in rec.get("del", {}).get(kind, []):
        objs.pop(k, None)
print(json.dumps(list(objs.values())))
