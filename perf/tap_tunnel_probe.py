#!/usr/bin/python3
"""Probe (issue 13): does this kernel's tun/tap take UDP tunnel GSO (Linux 6.17+)?

    perf/tap_tunnel_probe.py            (as root; creates and removes a tap "sl-tnlprobe")

Creates a tap with virtio-net headers of 24 bytes (struct virtio_net_hdr_v1_hash_tunnel,
TUNSETVNETHDRSZ) and asks TUNSETOFFLOAD for CSUM | TSO4 | TSO_ECN | UDP_TUNNEL_GSO, then with
UDP_TUNNEL_GSO_CSUM too. EINVAL means the kernel lacks it: sluiced's tap uplink
(uplink.kind "tap", drivers/sl_tap.h) then falls back to cutting TCP before the uplink.
Prints one line per request and exits 0 when tunnel GSO is supported, 1 when not.
"""
import errno
import fcntl
import os
import struct
import sys

TUNSETIFF, TUNSETOFFLOAD, TUNSETVNETHDRSZ = 0x400454CA, 0x400454D0, 0x400454D8
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000
TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO_ECN = 0x01, 0x02, 0x08
TUN_F_UDP_TUNNEL_GSO, TUN_F_UDP_TUNNEL_GSO_CSUM = 0x080, 0x100


def main():
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"sl-tnlprobe", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
    fcntl.ioctl(fd, TUNSETVNETHDRSZ, struct.pack("i", 24))
    base = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN
    ok = True
    for name, extra in (("UDP_TUNNEL_GSO", TUN_F_UDP_TUNNEL_GSO),
                        ("UDP_TUNNEL_GSO|UDP_TUNNEL_GSO_CSUM",
                         TUN_F_UDP_TUNNEL_GSO | TUN_F_UDP_TUNNEL_GSO_CSUM)):
        try:
            fcntl.ioctl(fd, TUNSETOFFLOAD, base | extra)
            print(f"TUNSETOFFLOAD CSUM|TSO4|TSO_ECN|{name}: supported")
        except OSError as e:
            ok = False
            why = "unsupported (kernel before 6.17)" if e.errno == errno.EINVAL else os.strerror(e.errno)
            print(f"TUNSETOFFLOAD CSUM|TSO4|TSO_ECN|{name}: {why}")
    print("kernel", os.uname().release)
    os.close(fd)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
