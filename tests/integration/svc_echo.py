#!/usr/bin/env python3
"""A long-lived TCP Service backend for the tests: on each connection to PORT it sends
"NAME CLIENT_IP:CLIENT_PORT\n" (as svc_backend.py), then echoes every line back until the client closes. Usage: svc_echo.py NAME PORT"""
import socket
import sys
import threading

name, port = sys.argv[1], int(sys.argv[2])
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", port))
srv.listen(128)


def serve(c, addr):
    with c:
        c.sendall(f"{name} {addr[0]}:{addr[1]}\n".encode())
        f = c.makefile("rb")
        for line in f:
            c.sendall(line)


while True:
    c, addr = srv.accept()
    threading.Thread(target=serve, args=(c, addr), daemon=True).start()
