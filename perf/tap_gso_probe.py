#!/usr/bin/python3
"""Probe (issue 13): how fast can a userspace dataplane move kernel-pod TCP when the pod's
eth0 is a tap with virtio-net headers (IFF_VNET_HDR, TUNSETOFFLOAD TSO4|CSUM) instead of a
veth read through AF_XDP? The kernel then hands userspace 64 KiB GSO frames with a partial
checksum and a gso_size, and takes them back the same way, so the receiving pod's stack sees
one skb per 64 KiB: what AF_XDP copy-mode TX cannot give (it builds one skb per descriptor,
without GSO metadata).

    perf/tap_gso_probe.py forward TAP_FD_A TAP_FD_B

is run by perf/tap_gso_probe.sh: a plain wire between two taps in Python (select, read,
write, the 10-byte virtio-net header passed through untouched), printing frames and bytes
per direction when stopped. Python costs ~10 us per frame, so this is a floor for what a
tap port could do, not a ceiling.
"""
import fcntl
import os
import select
import signal
import struct
import sys

TUNSETIFF = 0x400454CA
TUNSETOFFLOAD = 0x400454D0
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000
TUN_F_CSUM, TUN_F_TSO4 = 0x01, 0x02


def open_tap(name, offload):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
    if offload:
        fcntl.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4)
    return fd


def main():
    a_name, b_name, offload = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    a, b = open_tap(a_name, offload), open_tap(b_name, offload)
    peer = {a: b, b: a}
    count = {a: [0, 0], b: [0, 0]}
    sizes = {}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print("ready", flush=True)
    while not stop:
        try:
            r, _, _ = select.select([a, b], [], [], 0.5)
        except InterruptedError:
            continue
        for fd in r:
            try:
                buf = os.read(fd, 65536 + 64)
            except BlockingIOError:
                continue
            count[fd][0] += 1
            count[fd][1] += len(buf)
            if len(buf) > 1600:
                sizes["gso"] = sizes.get("gso", 0) + 1
            hdr = buf[:10]
            if len(buf) > 1600 and "hdr" not in sizes:
                flags, gso_type, hdr_len, gso_size, csum_start, csum_off = struct.unpack("<BBHHHH", hdr)
                sizes["hdr"] = f"len {len(buf) - 10} flags {flags} gso_type {gso_type} gso_size {gso_size} csum_start {csum_start} csum_offset {csum_off}"
            os.write(peer[fd], buf)
    for name, fd in ((a_name, a), (b_name, b)):
        n, by = count[fd]
        print(f"{name}: {n} frames, {by} bytes, {by / max(n, 1):.0f} bytes/frame")
    print(f"frames above 1600 bytes: {sizes.get('gso', 0)}; first: {sizes.get('hdr', '-')}")


if __name__ == "__main__":
    main()
