#!/usr/bin/env python3
"""Start a DPDK pod (a vhost-user server on SOCKET) and SIGKILL it at a chosen point of its
start-up or handshake, for tests/integration/vhost_churn.sh.

Usage: vhost_kill.py SOCKET MODE DELAY_MS LOG -- CMD...
  MODE start  kill DELAY_MS after CMD started (EAL start-up, listening, handshake or ready,
              wherever that falls)
  MODE tick   aim at the handshake: sluiced (the vhost-user client) retries its connection
              once a second, and a pod that listens already answers the first retry with
              the whole handshake (a few ms). Learn when the retries come by accepting one
              on SOCKET and dropping it unanswered (a connection that says nothing leaves
              sluiced's record alone), start CMD, wait until it has created SOCKET, and
              kill it DELAY_MS after the first retry due after that.
CMD's output goes to LOG. Prints one JSON line: {"start": t, "kill": t, "tick": t or null}
(seconds since the epoch, when CMD started, when the signal was sent, when the learnt
retry came). Exit status 1 if CMD was already gone when its kill was due.
"""
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time

from vhost_peer import listen_unix

RETRY_PERIOD_S = 1.0  # rte_vhost socket.c vhost_user_client_reconnect: sleep(1) per pass


def learn_retry(path, timeout=5.0):
    """Accept sluiced's next connection on path, drop it unanswered; return when it came."""
    listener = listen_unix(path, 1)
    listener.settimeout(timeout)
    conn, _ = listener.accept()
    tick = time.time()
    # listener first: sluiced reconnects at once when its connection closes, and must find
    # nobody there (or it would land in this backlog)
    listener.close()
    os.unlink(path)
    conn.close()
    return tick


def main():
    sep = sys.argv.index("--")
    path, mode, delay_ms, log = sys.argv[1:sep]
    cmd = sys.argv[sep + 1:]
    delay = float(delay_ms) / 1000
    tick = learn_retry(path) if mode == "tick" else None
    with open(log, "w") as out:
        start = time.time()
        pod = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    due = start + delay
    if tick:
        while not os.path.exists(path) and pod.poll() is None and time.time() < start + 10:
            time.sleep(0.001)
        listening = time.time() + 0.002  # bind, then listen
        retries = max(1, math.ceil((listening - tick) / RETRY_PERIOD_S))
        due = tick + retries * RETRY_PERIOD_S + delay
    time.sleep(max(0.0, due - time.time()))
    alive = pod.poll() is None
    kill = time.time()
    pod.send_signal(signal.SIGKILL)
    pod.wait()
    print(json.dumps({"start": start, "kill": kill, "tick": tick}))
    sys.exit(0 if alive else 1)


if __name__ == "__main__":
    main()
