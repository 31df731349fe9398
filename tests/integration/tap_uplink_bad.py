#!/usr/bin/python3
"""Malformed UDP tunnel GSO frames from the underlay (tests/integration/tap_uplink.sh,
issue 13).

    tap_uplink_bad.py BRIDGE DST_MAC SRC_IP DST_IP VXLAN_PORT [CASE]

Run in the underlay's namespace: creates a tap with UDP tunnel GSO (24-byte virtio-net
headers, TUN_F_UDP_TUNNEL_GSO), makes it a port of BRIDGE, and writes VXLAN frames to
DST_MAC / DST_IP carrying a TCP GSO frame (MSS 1000, 3,000 bytes), each with a tunnel
header the kernel takes (its own offset checks pass) but which does not describe the frame:
  - gso_size 40, below the smallest MSS sluiced takes (88);
  - the outer UDP destination port not VXLAN_PORT (the frame is not for sluice's VTEP);
  - the inner IPv4 total length 100 bytes short of the frame;
  - the inner Ethernet type IPv6 where the header says IPv4 TCP.
(An inner_nh_offset that is not after VXLAN + inner Ethernet, e.g. 8 bytes after the outer
UDP header, never reaches the node's tap: the kernel drops it on the way.)
The kernel forwards them whole (bridge, veth, bridge) to the node's tap uplink, whose
sluiced must drop each as uplink-bad-tunnel-gso. Prints how many the kernel accepted."""
import fcntl
import os
import socket
import struct
import subprocess
import sys

TUNSETIFF, TUNSETOFFLOAD, TUNSETVNETHDRSZ = 0x400454CA, 0x400454D0, 0x400454D8
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000
OFFLOADS = 0x01 | 0x02 | 0x08 | 0x080  # CSUM | TSO4 | TSO_ECN | UDP_TUNNEL_GSO
NEEDS_CSUM, GSO_TCPV4, GSO_TUNNEL_IPV4 = 1, 1, 0x20
IFNAME = "sl-badtnl"


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src, dst, proto, payload_len, adjust=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len + adjust, 1, 0x4000, 64, proto,
                    0, socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:]


def frame(dmac, smac, src, dst, dport, inner_adjust, inner_type):
    payload = bytes(i & 0xFF for i in range(3000))
    tcp = struct.pack("!HHIIBBHHH", 40000, 9, 1, 0, 5 << 4, 0x10, 65535, 0, 0)
    inner = ip4("10.244.2.2", "10.244.1.2", 6, len(tcp) + len(payload), inner_adjust) + tcp + payload
    inner_eth = dmac + smac + struct.pack("!H", inner_type) + inner
    vx = struct.pack("!II", 0x08000000, 1 << 8)
    udp_len = 8 + len(vx) + len(inner_eth)
    udp = struct.pack("!HHHH", 50000, dport, udp_len, 0)
    return dmac + smac + b"\x08\x00" + ip4(src, dst, 17, udp_len) + udp + vx + inner_eth


def main():
    bridge, dmac, src, dst, port = sys.argv[1:6]
    dmac = bytes.fromhex(dmac.replace(":", ""))
    port = int(port)
    only = int(sys.argv[6]) if len(sys.argv) > 6 else None  # one case (debugging)
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", IFNAME.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
    fcntl.ioctl(fd, TUNSETVNETHDRSZ, struct.pack("i", 24))
    fcntl.ioctl(fd, TUNSETOFFLOAD, OFFLOADS)
    subprocess.run(["ip", "link", "set", IFNAME, "master", bridge, "up"], check=True)
    smac = bytes.fromhex(open(f"/sys/class/net/{IFNAME}/address").read().strip().replace(":", ""))
    cases = [  # (gso_size, UDP destination port, inner total length adjustment, inner type)
        (40, port, 0, 0x0800),
        (1000, port + 1, 0, 0x0800),
        (1000, port, -100, 0x0800),
        (1000, port, 0, 0x86DD),
    ]
    sent = 0
    for i, (gso_size, dport, adj, inner_type) in enumerate(cases):
        if only is not None and i != only:
            continue
        f = frame(dmac, smac, src, dst, dport, adj, inner_type)
        hdr = struct.pack("<BBHHHHHIHHHH", NEEDS_CSUM, GSO_TUNNEL_IPV4 | GSO_TCPV4, 104, gso_size,
                          84, 16, 0, 0, 0, 0, 34, 64)
        try:
            os.write(fd, hdr + f)
            sent += 1
        except OSError as e:
            print(f"case {i}: kernel refused: {e}",
                  file=sys.stderr)
    print(sent)
    os.close(fd)  # the tap goes


if __name__ == "__main__":
    main()
