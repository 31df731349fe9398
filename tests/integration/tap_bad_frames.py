#!/usr/bin/python3
"""Malformed GSO frames from a tap pod (tests/integration/tap_pods.sh, issue 13).

    tap_bad_frames.py IFNAME SRC_IP DST_IP GW_MAC [CASE]

Sends, through an AF_PACKET socket with a virtio-net header (PACKET_VNET_HDR) on the pod's
eth0 (a tap: the kernel keeps the GSO metadata and sluiced reads it back in the tap's
header), TCP/IPv4 GSO frames whose header does not describe them:
  - the IPv4 total length 100 bytes short of the frame ("lengths that do not add up");
  - gso_size 40, below the smallest MSS sluiced takes (88).
(A csum_start off the TCP header never reaches the tap: the pod's kernel drops it.)
Prints how many the kernel accepted (sluiced must drop each as tap-bad-gso)."""
import socket
import struct
import sys

SOL_PACKET, PACKET_VNET_HDR = 263, 15
NEEDS_CSUM, GSO_TCPV4 = 1, 1


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(ifmac, gw, src, dst, payload, tot_adjust):
    tcp = struct.pack("!HHIIBBHHH", 40000, 9, 1, 0, 5 << 4, 0x10, 65535, 0, 0)
    tot = 20 + len(tcp) + payload + tot_adjust
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, 1, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = gw + ifmac + b"\x08\x00"
    return eth + ip + tcp + bytes(i & 0xFF for i in range(payload))


def main():
    ifname, src, dst, gw = sys.argv[1:5]
    only = int(sys.argv[5]) if len(sys.argv) > 5 else None  # one case (debugging)
    gw = bytes.fromhex(gw.replace(":", ""))
    ifmac = bytes.fromhex(open(f"/sys/class/net/{ifname}/address").read().strip().replace(":", ""))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.bind((ifname, 0))
    cases = [  # (gso_size, csum_start, total length adjustment)
        (1000, 34, -100),
        (40, 34, 0),
    ]
    sent = 0
    for i, (gso_size, cstart, adj) in enumerate(cases):
        if only is not None and i != only:
            continue
        f = frame(ifmac, gw, src, dst, 3000, adj)
        hdr = struct.pack("<BBHHHH", NEEDS_CSUM, GSO_TCPV4, 54, gso_size, cstart, 16)
        try:
            s.send(hdr + f)
            sent += 1
        except OSError as e:
            print(f"case gso_size {gso_size} csum_start {cstart} length {adj:+}: kernel refused: {e}",
                  file=sys.stderr)
    print(sent)


if __name__ == "__main__":
    main()
