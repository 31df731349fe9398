"""Probe agent of one conformance pod (run inside the pod's network namespace):

  agent.py CONTROL_SOCKET [--sctp]

- serves TCP and UDP (and SCTP with --sctp) on ports 80 and 81 on every address: TCP/SCTP
  echo the first bytes they receive, UDP answers each datagram with its payload;
- listens on the Unix socket CONTROL_SOCKET (a file path, reachable from any network
  namespace) for probe requests, one JSON object per connection:
    {"probes": [[ip, port, proto], ...], "timeout": seconds}
  and answers a JSON list, one entry per probe in order: "ok", or why it failed ("timeout",
  "refused", "reset", "error: ..."). All probes of a request run in parallel (one thread each).
  TCP/SCTP: connect, send 4 bytes, read them back. UDP: send a datagram, wait for the echo.
  Established flows (TCP):
    {"hold": [[id, ip, port], ...], "timeout": s}   connect and echo once, keep the socket
    {"check": [id, ...], "timeout": s}               echo once more on each held socket
                                                     ("ok", "timeout", "reset", ...)
    {"release": [id, ...]}                           close them
  The servers echo until the peer closes, so a held connection can be checked many times.
Exits on SIGTERM. Prints "ready" on stdout once every listener is up.
"""
import json
import os
import signal
import socket
import sys
import threading

PORTS = (80, 81)
PAYLOAD = b"npc\n"


def serve_stream(s):
    while True:
        try:
            c, _ = s.accept()
        except OSError:
            return
        threading.Thread(target=echo_stream, args=(c,), daemon=True).start()


def echo_stream(c):
    try:
        c.settimeout(120)
        while True:
            d = c.recv(64)
            if not d:
                break
            c.sendall(d)
    except OSError:
        pass
    finally:
        c.close()


def serve_udp(s):
    while True:
        try:
            d, a = s.recvfrom(2048)
            s.sendto(d, a)
        except OSError:
            return


def probe(ip, port, proto, timeout):
    try:
        if proto == "UDP":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        elif proto == "SCTP":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError as e:
        return "error: socket: %s" % e
    try:
        s.settimeout(timeout)
        s.connect((ip, port))
        s.send(PAYLOAD)
        got = s.recv(64)
        return "ok" if got == PAYLOAD else "error: answer %r" % got[:16]
    except socket.timeout:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    except ConnectionResetError:
        return "reset"
    except OSError as e:
        return "error: %s" % (e.strerror or e)
    finally:
        s.close()


HELD = {}


def hold(ip, port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect((ip, port))
        s.send(PAYLOAD)
        if s.recv(64) != PAYLOAD:
            s.close()
            return None, "error: bad answer"
        return s, "ok"
    except socket.timeout:
        s.close()
        return None, "timeout"
    except OSError as e:
        s.close()
        return None, "error: %s" % (e.strerror or e)


def check(s, timeout):
    try:
        s.settimeout(timeout)
        s.send(PAYLOAD)
        got = s.recv(64)
        return "ok" if got == PAYLOAD else ("closed" if not got else "error: bad answer")
    except socket.timeout:
        return "timeout"
    except ConnectionResetError:
        return "reset"
    except OSError as e:
        return "error: %s" % (e.strerror or e)


def parallel(items, fn):
    out = [None] * len(items)

    def run(i, x):
        out[i] = fn(x)
    th = [threading.Thread(target=run, args=(i, x)) for i, x in enumerate(items)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    return out


def handle_flows(req, t):
    if "hold" in req:
        res = parallel(req["hold"], lambda h: hold(h[1], int(h[2]), t))
        for h, (s, _) in zip(req["hold"], res):
            if s is not None:
                HELD[h[0]] = s
        return [r for _, r in res]
    if "check" in req:
        return parallel(req["check"], lambda i: check(HELD[i], t) if i in HELD else "not held")
    for i in req.get("release", []):
        s = HELD.pop(i, None)
        if s is not None:
            s.close()
    return []


def handle(c):
    try:
        buf = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            buf += d
            if buf.endswith(b"\n"):
                break
        req = json.loads(buf)
        t = float(req.get("timeout", 1.0))
        if "probes" not in req:
            c.sendall(json.dumps(handle_flows(req, t)).encode() + b"\n")
            return
        probes = req["probes"]
        out = [None] * len(probes)

        def run(i, p):
            out[i] = probe(p[0], int(p[1]), p[2], t)
        th = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(probes)]
        for x in th:
            x.start()
        for x in th:
            x.join()
        c.sendall(json.dumps(out).encode() + b"\n")
    except (OSError, ValueError, KeyError) as e:
        try:
            c.sendall(json.dumps({"error": str(e)}).encode() + b"\n")
        except OSError:
            pass
    finally:
        c.close()


def main():
    ctl_path = sys.argv[1]
    sctp = "--sctp" in sys.argv[2:]
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    for port in PORTS:
        kinds = [(socket.SOCK_STREAM, 0, serve_stream), (socket.SOCK_DGRAM, 0, serve_udp)]
        if sctp:
            kinds.append((socket.SOCK_STREAM, socket.IPPROTO_SCTP, serve_stream))
        for typ, proto, fn in kinds:
            s = socket.socket(socket.AF_INET, typ, proto)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", port))
            if typ == socket.SOCK_STREAM:
                s.listen(128)
            threading.Thread(target=fn, args=(s,), daemon=True).start()
    try:
        os.unlink(ctl_path)
    except FileNotFoundError:
        pass
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ctl.bind(ctl_path)
    ctl.listen(16)
    print("ready", flush=True)
    while True:
        c, _ = ctl.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
