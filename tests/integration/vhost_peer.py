#!/usr/bin/env python3
"""A scripted vhost-user front-end (the pod side, server mode) for tests: it owns SOCKET,
waits for sluiced (the vhost-user client) to connect, and plays one negotiation that a real
DPDK pod or VM would only hit by accident or misconfiguration.

Usage: vhost_peer.py SOCKET SCENARIO [SECONDS]
  phantom    negotiate a little, close the connection, keep listening: sluiced reconnects
             into the backlog at once; that connection is then closed without a word (what a
             dying pod does when its process closes the connection before its listener)
  features   negotiate features (SET_FEATURES), then close at once (a pod killed mid-handshake)
  stall S    negotiate features, then say nothing for S seconds, then close (a DPDK pod whose
             virtio_user refused to build its memory table: "Too many memory regions")
  regions    negotiate features, then send a memory table of 9 regions (vhost-user takes 8):
             sluiced must refuse it and close the connection
Usage: vhost_peer.py SOCKET second
  second     the other way round: sluiced owns SOCKET (server mode) and this is a vhost-user
             client (a pod). A first connection negotiates features and stays; a second
             connection to the same socket must be closed by sluiced without an answer, and
             the first must still be answered afterwards (the port is not taken over)
Exit status 0 when the scenario went as written, 1 otherwise (reason on stderr).
Messages follow the vhost-user specification ("Message Specification"): a header of
request, flags (version 1), payload size, each a little-endian u32, then the payload.
"""
import os
import socket
import struct
import sys
import time

GET_FEATURES, SET_FEATURES, SET_OWNER, SET_MEM_TABLE = 1, 2, 3, 5
VERSION = 0x1


def send(conn, req, payload=b"", fds=()):
    msg = struct.pack("<III", req, VERSION, len(payload)) + payload
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("%di" % len(fds), *fds))] if fds else []
    conn.sendmsg([msg], anc)


def recv_u64(conn):
    data = b""
    while len(data) < 20:
        chunk = conn.recv(20 - len(data))
        if not chunk:
            raise EOFError("sluiced closed the connection")
        data += chunk
    return struct.unpack("<IIIQ", data)[3]


def accept(listener, timeout):
    listener.settimeout(timeout)
    conn, _ = listener.accept()
    conn.settimeout(5)
    return conn


def negotiate_features(conn):
    send(conn, SET_OWNER)
    send(conn, GET_FEATURES)
    features = recv_u64(conn)
    send(conn, SET_FEATURES, struct.pack("<Q", features))  # accept all that is offered
    return features


def listen_unix(path, backlog):
    """A listening Unix stream socket on path (an old file there is replaced): the pod's side."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(backlog)
    return listener


def connect_unix(path):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(5)
    conn.connect(path)
    return conn


def second(path):
    """Two vhost-user clients on one server-mode port: the second is refused."""
    first = connect_unix(path)
    negotiate_features(first)
    other = connect_unix(path)
    try:
        send(other, GET_FEATURES)
        got = other.recv(20)
    except (ConnectionResetError, BrokenPipeError):
        got = b""
    except socket.timeout:
        sys.exit("the second connection was neither answered nor closed within 5 s")
    if got:
        sys.exit("sluiced answered a second connection to a port that has one (takeover)")
    other.close()
    send(first, GET_FEATURES)
    try:
        recv_u64(first)
    except (EOFError, socket.timeout, ConnectionResetError) as e:
        sys.exit("the first connection lost its port after the second was refused: %s" % e)
    first.close()
    print("second connection refused; the first one still answered")


def main():
    path, scenario = sys.argv[1], sys.argv[2]
    if scenario == "second":
        second(path)
        return
    listener = listen_unix(path, 4)
    try:
        conn = accept(listener, 10)  # sluiced retries every second
    except socket.timeout:
        sys.exit("sluiced did not connect within 10 s")
    if scenario == "phantom":
        send(conn, SET_OWNER)
        send(conn, GET_FEATURES)
        recv_u64(conn)
        conn.close()
        try:
            again = accept(listener, 3)
        except socket.timeout:
            sys.exit("sluiced did not reconnect into the listener within 3 s")
        again.close()
        print("sluiced reconnected into the listener; closed without a word")
    elif scenario == "features":
        negotiate_features(conn)
        conn.close()
    elif scenario == "stall":
        negotiate_features(conn)
        time.sleep(float(sys.argv[3]))
        conn.close()
    elif scenario == "regions":
        negotiate_features(conn)
        fds = [os.memfd_create("vhost-peer-%d" % i) for i in range(8)]
        for fd in fds:
            os.ftruncate(fd, 1 << 21)
        # nregions, padding, then 9 x (guest address, size, user address, mmap offset)
        regions = b"".join(struct.pack("<QQQQ", i << 21, 1 << 21, 0x7f0000000000 + (i << 21), 0)
                           for i in range(9))
        send(conn, SET_MEM_TABLE, struct.pack("<II", 9, 0) + regions, fds)
        try:
            if conn.recv(64):
                sys.exit("sluiced answered the 9-region memory table instead of closing")
        except socket.timeout:
            sys.exit("sluiced kept the connection after a 9-region memory table")
        except ConnectionResetError:
            pass
        print("sluiced closed the connection after a 9-region memory table")
    else:
        sys.exit("unknown scenario " + scenario)
    listener.close()
    os.unlink(path)


if __name__ == "__main__":
    main()
