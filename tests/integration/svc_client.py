#!/usr/bin/env python3
"""A Service client for the tests: N connections (tcp) or N datagrams from N source ports
(udp) to VIP:PORT; prints one JSON line {"answers": {backend: count}, "clients": [seen
client addresses], "seen": {backend: [client addresses it saw]}, "errors": {errno name:
count}}. Usage: svc_client.py tcp|udp VIP PORT N"""
import collections
import errno
import json
import socket
import sys

proto, vip, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
answers, errors, clients = collections.Counter(), collections.Counter(), set()
seen = collections.defaultdict(set)
for _ in range(n):
    try:
        if proto == "tcp":
            s = socket.create_connection((vip, port), timeout=2)
            line = s.makefile().readline().split()
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(2)
            s.connect((vip, port))
            s.send(b"?")
            line = s.recv(2048).decode().split()
        s.close()
        answers[line[0]] += 1
        clients.add(line[1].rsplit(":", 1)[0])
        seen[line[0]].add(line[1].rsplit(":", 1)[0])
    except OSError as e:
        errors[errno.errorcode.get(e.errno, "timeout") if e.errno else "timeout"] += 1
print(json.dumps({"answers": answers, "clients": sorted(clients),
                  "seen": {b: sorted(c) for b, c in seen.items()}, "errors": errors}))
