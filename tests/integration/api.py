#!/usr/bin/env python3
"""Send many requests to sluiced's API socket quickly (no process per request).

Usage: api.py SOCKET < requests
Each input line is one JSON request (the wire format of control/sl_request.h: one object
per connection); each answer is printed on its own line, in order. With --stop-at-error the
first answer with "ok": false ends the run (it is printed last). Exit status 0, or 2 when
the socket cannot be reached.
"""
import socket
import sys


def call(path, line):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    s.sendall(line.encode())
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out.decode().strip()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    stop = "--stop-at-error" in sys.argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            ans = call(args[0], line)
        except OSError as e:
            print("api.py: %s: %s" % (args[0], e), file=sys.stderr)
            return 2
        print(ans, flush=True)
        if stop and '"ok":false' in ans.replace(" ", ""):
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
