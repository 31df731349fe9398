/* Address and port translation of an IPv4 TCP, UDP or SCTP packet with its checksums
 * updated: the IPv4 header and the TCP/UDP pseudo-header sums incrementally (RFC 1624
 * eqn. 3, no pass over the payload), SCTP's CRC32c (RFC 4960 appendix B) recomputed over
 * the packet, as it has no pseudo-header and cannot be updated incrementally; and the
 * packet quoted in an ICMP error about a translated flow (RFC 5508 4.2's model). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_hash_crc.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_sctp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

/* Fold a 32-bit one's complement sum to 16 bits. */
static inline uint16_t sl_csum_fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), for a 32-bit field changing from old to new.
 * Values as stored in the packet (one's complement sums do not care about byte order). */
static inline uint16_t sl_csum_update32(uint16_t hc, uint32_t old, uint32_t new)
{
	uint32_t s = (uint16_t)~hc;
	s += (uint16_t)~(old & 0xffff) + (uint16_t)~(old >> 16);
	s += (new & 0xffff) + (new >> 16);
	return (uint16_t)~sl_csum_fold(s);
}

/* The same for a 16-bit field. */
static inline uint16_t sl_csum_update16(uint16_t hc, uint16_t old, uint16_t new)
{
	uint32_t s = (uint16_t)~hc;
	s += (uint16_t)~old;
	s += new;
	return (uint16_t)~sl_csum_fold(s);
}

/* SCTP's checksum of the SCTP packet at p (len bytes, its checksum field zero): CRC32c,
 * stored as the little-endian complement (RFC 4960 appendix B). */
static inline uint32_t sl_sctp_cksum(const void *p, uint32_t len)
{
	/* rte_hash_crc() loads 8 bytes at a time from wherever p is, and packet data is not
	 * 8-aligned: load through memcpy. */
	const uint8_t *b = p;
	uint32_t crc = 0xffffffff;
	for (; len >= 8; b += 8, len -= 8) {
		uint64_t v;
		memcpy(&v, b, 8);
		crc = rte_hash_crc_8byte(v, crc);
	}
	for (; len; b++, len--)
		crc = rte_hash_crc_1byte(*b, crc);
	return rte_cpu_to_le_32(~crc);
}

/* Rewrite the destination (dst true) or source address and port of the packet whose IPv4
 * header is ip and L4 header l4 (TCP, UDP or SCTP, whole in the first segment; l4_len bytes
 * from l4 to the end of the IP packet), fixing every checksum. ip and port in network
 * order. An ICMP echo request or reply (masquerade) has one "port", its identifier: the
 * source port of a request, the destination port of a reply (ip4_lb_key's convention);
 * a rewrite of the other side changes its address only. Worker. */
static inline void sl_nat_rewrite(struct rte_ipv4_hdr *ip, uint8_t *l4, uint32_t l4_len,
				  bool dst, uint32_t new_ip, uint16_t new_port)
{
	uint16_t *pp = (uint16_t *)l4 + (dst ? 1 : 0); /* ports first in all three */
	uint32_t old_ip = dst ? ip->dst_addr : ip->src_addr;
	uint16_t old_port = *pp;
	ip->hdr_checksum = sl_csum_update32(ip->hdr_checksum, old_ip, new_ip);
	if (dst)
		ip->dst_addr = new_ip;
	else
		ip->src_addr = new_ip;
	if (ip->next_proto_id == IPPROTO_ICMP) { /* no pseudo-header in its checksum */
		struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)l4;
		if (dst == (ic->icmp_type == RTE_IP_ICMP_ECHO_REPLY)) {
			ic->icmp_cksum = sl_csum_update16(ic->icmp_cksum, ic->icmp_ident, new_port);
			ic->icmp_ident = new_port;
		}
		return;
	}
	*pp = new_port;
	switch (ip->next_proto_id) {
	case IPPROTO_TCP: {
		struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)l4;
		uint16_t c = sl_csum_update32(tcp->cksum, old_ip, new_ip);
		tcp->cksum = sl_csum_update16(c, old_port, new_port);
		break;
	}
	case IPPROTO_UDP: {
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)l4;
		if (udp->dgram_cksum == 0)
			break; /* RFC 768: no checksum */
		uint16_t c = sl_csum_update32(udp->dgram_cksum, old_ip, new_ip);
		c = sl_csum_update16(c, old_port, new_port);
		udp->dgram_cksum = c ? c : 0xffff;
		break;
	}
	case IPPROTO_SCTP: {
		struct rte_sctp_hdr *sctp = (struct rte_sctp_hdr *)l4;
		sctp->cksum = 0;
		sctp->cksum = sl_sctp_cksum(sctp, l4_len);
		break;
	}
	}
}

/* In an ICMP error (RFC 792: type 3 or 11) whose quoted packet is inner (IPv4 header, then
 * at least 8 bytes of its TCP/UDP/SCTP header at il4, il4_avail bytes of it quoted), rewrite
 * the quoted destination (dst true) or source address and port, with the quoted IPv4
 * checksum, the quoted UDP (and TCP, when quoted that far) checksum and the ICMP checksum
 * updated incrementally. Every field sits at an even offset from the ICMP header, so the
 * RFC 1624 updates apply to the ICMP checksum unchanged. Worker. */
static inline void sl_nat_icmp_inner(struct rte_icmp_hdr *icmp, struct rte_ipv4_hdr *inner,
				     uint8_t *il4, uint32_t il4_avail, bool dst,
				     uint32_t new_ip, uint16_t new_port)
{
	uint16_t ck = icmp->icmp_cksum;
	uint16_t *pp = (uint16_t *)il4 + (dst ? 1 : 0);
	uint32_t old_ip = dst ? inner->dst_addr : inner->src_addr;
	uint16_t old_port = *pp;
	uint16_t old_ick = inner->hdr_checksum;
	uint16_t new_ick = sl_csum_update32(old_ick, old_ip, new_ip);
	ck = sl_csum_update32(ck, old_ip, new_ip);
	ck = sl_csum_update16(ck, old_ick, new_ick);
	ck = sl_csum_update16(ck, old_port, new_port);
	if (dst)
		inner->dst_addr = new_ip;
	else
		inner->src_addr = new_ip;
	inner->hdr_checksum = new_ick;
	*pp = new_port;
	uint16_t *l4ck = NULL;
	if (inner->next_proto_id == IPPROTO_UDP)
		l4ck = (uint16_t *)(il4 + 6);
	else if (inner->next_proto_id == IPPROTO_TCP && il4_avail >= 18)
		l4ck = (uint16_t *)(il4 + 16);
	if (l4ck && *l4ck) {
		uint16_t old = *l4ck;
		uint16_t c = sl_csum_update16(sl_csum_update32(old, old_ip, new_ip), old_port,
					      new_port);
		if (c == 0 && inner->next_proto_id == IPPROTO_UDP)
			c = 0xffff;
		ck = sl_csum_update16(ck, old, c);
		*l4ck = c;
	}
	icmp->icmp_cksum = ck;
}

/* Rewrite the outer source (dst false) or destination address of ip (no L4 checksum depends
 * on it: ICMP). Worker. */
static inline void sl_nat_addr(struct rte_ipv4_hdr *ip, bool dst, uint32_t new_ip)
{
	uint32_t old = dst ? ip->dst_addr : ip->src_addr;
	ip->hdr_checksum = sl_csum_update32(ip->hdr_checksum, old, new_ip);
	if (dst)
		ip->dst_addr = new_ip;
	else
		ip->src_addr = new_ip;
}
