/* Checksum completion for frames from AF_XDP pods in "skb" mode (af_xdp.mode, issue 13).
 *
 * Such a pod keeps its TX checksum offload and GSO (sluice-cni leaves them on), so its
 * stack hands veth TCP/UDP packets whose L4 checksum field holds only the pseudo-header
 * sum (CHECKSUM_PARTIAL) and TCP packets of up to 64 KiB (GSO); generic XDP passes both to
 * the AF_XDP socket as they are. port-rx calls sl_l4_csum_complete on every frame of such a
 * port before anything reads or rewrites the L4 header (policy, NAT's incremental updates):
 *  - a TCP or UDP packet within the port's MTU gets its checksum computed in full (a pod
 *    can already send any bytes, so recomputing is always safe, and it costs ~1 cycle per
 *    4 bytes against the thousands per frame of the AF_XDP copy and kick);
 *  - a TCP packet longer than the port's MTU is a GSO frame: it is left as it is and
 *    flagged, and ip4-lookup sends it to ip4-segment, which computes every segment's
 *    checksum anyway (offload/tcp_seg.h);
 *  - anything else (not IPv4, not TCP/UDP, a fragment, headers not in the first segment,
 *    lengths that do not add up) is left untouched for eth-input and ip4-input to judge. */
#pragma once
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

enum sl_l4_csum_result {
	SL_L4_CSUM_DONE,   /* checksum computed in full */
	SL_L4_CSUM_GSO,    /* a TCP frame above mtu: ip4-segment computes its segments' */
	SL_L4_CSUM_NONE,   /* nothing to do or not ours to judge (see the file comment) */
};

/* Complete the L4 checksum of Ethernet frame m (a chain allowed) from a pod port whose
 * largest IP packet is mtu. Worker (port-rx), or unit tests. */
static inline enum sl_l4_csum_result sl_l4_csum_complete(struct rte_mbuf *m, uint16_t mtu)
{
	const unsigned l3 = sizeof(struct rte_ether_hdr);
	if (unlikely(rte_pktmbuf_data_len(m) < l3 + sizeof(struct rte_ipv4_hdr) + 8) ||
	    rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type !=
		    RTE_BE16(RTE_ETHER_TYPE_IPV4))
		return SL_L4_CSUM_NONE;
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l3);
	unsigned ihl = rte_ipv4_hdr_len(ip);
	unsigned tlen = rte_be_to_cpu_16(ip->total_length);
	uint8_t proto = ip->next_proto_id;
	unsigned field = proto == IPPROTO_TCP ? offsetof(struct rte_tcp_hdr, cksum)
			 : proto == IPPROTO_UDP ? offsetof(struct rte_udp_hdr, dgram_cksum)
						: 0;
	if (!field || (ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) ||
	    (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) ||
	    rte_pktmbuf_data_len(m) < l3 + ihl + field + 2 || tlen < ihl + field + 2 ||
	    l3 + tlen > rte_pktmbuf_pkt_len(m))
		return SL_L4_CSUM_NONE;
	if (tlen > mtu)
		return proto == IPPROTO_TCP ? SL_L4_CSUM_GSO : SL_L4_CSUM_NONE;
	unaligned_uint16_t *ck = rte_pktmbuf_mtod_offset(m, unaligned_uint16_t *, l3 + ihl + field);
	uint16_t raw;
	*ck = 0;
	if (rte_raw_cksum_mbuf(m, l3 + ihl, tlen - ihl, &raw) < 0)
		return SL_L4_CSUM_NONE; /* cannot happen: the lengths were checked */
	uint32_t sum = (uint32_t)raw + rte_ipv4_phdr_cksum(ip, 0);
	sum = (sum & 0xffff) + (sum >> 16);
	uint16_t c = (uint16_t)~sum;
	*ck = (c == 0 && proto == IPPROTO_UDP) ? 0xffff : c; /* RFC 768: 0 is "none" */
	return SL_L4_CSUM_DONE;
}
