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
        c.settimeout(5)
        d = c.recv(64)
        if d:
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
