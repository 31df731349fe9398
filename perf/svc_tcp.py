#!/usr/bin/python3
"""New TCP connections per second to many Service frontends (perf/services_bench.sh).

  svc_tcp.py server PORT OUT.json
      accept on 0.0.0.0:PORT, close each connection at once; on SIGTERM write
      {"accepted": N, "per_backend": {local address: N}} to OUT.json (which backend address,
      after the DUT's DNAT, each connection reached)
  svc_tcp.py client DSTFILE SECONDS INFLIGHT [LABEL]
      keep INFLIGHT non-blocking connects in flight, each to the next "IP PORT" line of
      DSTFILE (cycled); a connection counts once its handshake completes; it is then reset
      (SO_LINGER 0: RST, no TIME_WAIT, so client ports come back at once). Prints one JSON
      line: {"label", "seconds", "connections", "conn_per_s", "errors": {errno name: N},
      "timeouts"} (a connect pending for more than 1 s is a timeout).
"""
import errno
import json
import selectors
import signal
import socket
import struct
import sys
import time

LINGER0 = struct.pack("ii", 1, 0)


def server(port, out):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(4096)
    counts = {}

    def stop(*_):
        with open(out, "w") as f:
            json.dump({"accepted": sum(counts.values()), "per_backend": counts}, f)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    while True:
        try:
            c, _ = ls.accept()
        except OSError:
            continue
        try:
            a = c.getsockname()[0]
            counts[a] = counts.get(a, 0) + 1
        except OSError:
            pass
        c.close()


def client(dstfile, seconds, inflight, label):
    dsts = []
    with open(dstfile) as f:
        for line in f:
            ip, port = line.split()
            dsts.append((ip, int(port)))
    sel = selectors.DefaultSelector()
    pending = {}  # fd -> (socket, start)
    done, timeouts, errors, k = 0, 0, {}, 0
    end = time.monotonic() + seconds

    def start():
        nonlocal k
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        rc = s.connect_ex(dsts[k % len(dsts)])
        k += 1
        if rc not in (0, errno.EINPROGRESS):
            errors[errno.errorcode.get(rc, str(rc))] = errors.get(errno.errorcode.get(rc, str(rc)), 0) + 1
            s.close()
            return
        pending[s.fileno()] = (s, time.monotonic())
        sel.register(s, selectors.EVENT_WRITE)

    t0 = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= end:
            break
        while len(pending) < inflight:
            start()
        for key, _ in sel.select(timeout=0.05):
            s, _ = pending.pop(key.fd)
            sel.unregister(s)
            rc = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if rc == 0:
                done += 1
            else:
                name = errno.errorcode.get(rc, str(rc))
                errors[name] = errors.get(name, 0) + 1
            s.close()
        now = time.monotonic()
        for fd, (s, t) in list(pending.items()):
            if now - t > 1.0:
                pending.pop(fd)
                sel.unregister(s)
                s.close()
                timeouts += 1
    el = time.monotonic() - t0
    for s, _ in pending.values():
        s.close()
    print(json.dumps({"label": label, "seconds": round(el, 3), "connections": done,
                      "conn_per_s": round(done / el, 1), "errors": errors,
                      "timeouts": timeouts}))


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "server":
        server(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) >= 5 and sys.argv[1] == "client":
        client(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]),
               sys.argv[5] if len(sys.argv) > 5 else "tcp")
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
