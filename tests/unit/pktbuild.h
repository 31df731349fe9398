/* Packet builder for unit tests: builds frames into real mbufs field by field. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

struct pb_ip4 {
	struct rte_ether_addr src_mac, dst_mac;
	const char *src, *dst;  /* dotted quads */
	uint8_t ttl;            /* 0 = 64 */
	uint8_t proto;          /* 0 = UDP; IPPROTO_ICMP, IPPROTO_TCP */
	bool df;
	uint16_t sport, dport;  /* UDP/TCP ports */
	uint16_t payload;       /* bytes after the L4 header (TCP: byte k is k & 0xff) */
	uint32_t seq;           /* TCP sequence number */
	uint8_t tcp_flags;      /* TCP flags */
};

/* Ethernet + IPv4 + UDP, TCP (20-byte header) or ICMP echo request; L4 checksums 0. */
struct rte_mbuf *pb_ip4(struct rte_mempool *mp, const struct pb_ip4 *s);
/* Ethernet + ARP request (broadcast) asking for tip from sip/sha. */
struct rte_mbuf *pb_arp_request(struct rte_mempool *mp, struct rte_ether_addr sha,
				const char *sip, const char *tip);
/* Wrap inner (a whole Ethernet frame) in Ethernet/IPv4/UDP/VXLAN; frees nothing. */
struct rte_mbuf *pb_vxlan(struct rte_mempool *mp, struct rte_ether_addr dst_mac,
			  const char *src, const char *dst, uint16_t dport, uint32_t vni,
			  uint8_t flags, const struct rte_mbuf *inner);
uint32_t pb_addr(const char *dotted); /* network order */
/* Set the full TCP/UDP checksum of the Ethernet/IPv4 frame m (as a sender would). */
void pb_l4_cksum(struct rte_mbuf *m);
/* Recompute the TCP/UDP checksum of the IPv4 packet at p in full; true when it matches
 * (UDP: also when 0, "no checksum"). */
bool pb_l4_cksum_ok(const void *p);
/* Recompute the IPv4 header checksum of the header at p and compare with the stored one. */
bool pb_ip4_cksum_ok(const void *p);
