#!/usr/bin/env python3
"""A Service backend for the tests: answers every TCP connection on PORT with one line
"NAME CLIENT_IP:CLIENT_PORT" and every UDP datagram on PORT with "NAME CLIENT_IP:PORT".
Usage: svc_backend.py NAME PORT"""
import selectors
import socket
import sys

name, port = sys.argv[1], int(sys.argv[2])
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("0.0.0.0", port))
tcp.listen(128)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("0.0.0.0", port))
sel = selectors.DefaultSelector()
sel.register(tcp, selectors.EVENT_READ)
sel.register(udp, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is tcp:
            c, addr = tcp.accept()
            c.sendall(f"{name} {addr[0]}:{addr[1]}\n".encode())
            c.close()
        else:
            _, addr = udp.recvfrom(2048)
            udp.sendto(f"{name} {addr[0]}:{addr[1]}".encode(), addr)
