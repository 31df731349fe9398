/* IPv4 header validation shared by ip4-input and vxlan-decap (inner header). */
#pragma once
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/core/sl_drop.h"

/* Check the IPv4 header at the start of m's data (RFC 1812 5.2.2) and trim link-layer
 * padding beyond its total length. Returns SL_DROP_COUNT when valid, else the reason. */
static inline enum sl_drop_reason sl_ip4_check(struct rte_mbuf *m)
{
	if (unlikely(rte_pktmbuf_data_len(m) < sizeof(struct rte_ipv4_hdr)))
		return SL_DROP_IP4_TRUNCATED;
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	/* RFC 1812 5.2.2: version 4, header length at least 20, checksum, total length. */
	if (unlikely((ip->version_ihl >> 4) != 4))
		return SL_DROP_IP4_BAD_VERSION;
	unsigned hlen = (ip->version_ihl & 0xf) * 4u;
	if (unlikely(hlen < sizeof(*ip) || hlen > rte_pktmbuf_data_len(m)))
		return SL_DROP_IP4_BAD_IHL;
	if (unlikely(rte_raw_cksum(ip, hlen) != 0xffff))
		return SL_DROP_IP4_BAD_CHECKSUM;
	unsigned tlen = rte_be_to_cpu_16(ip->total_length);
	if (unlikely(tlen < hlen || tlen > rte_pktmbuf_pkt_len(m)))
		return SL_DROP_IP4_BAD_LENGTH;
	/* RFC 1812 5.3.7: no forwarding of martian sources. */
	uint8_t first = ((const uint8_t *)&ip->src_addr)[0];
	if (unlikely(first == 0 || first == 127 || first >= 224))
		return SL_DROP_IP4_BAD_SOURCE;
	/* RFC 1812 5.3.4, 5.3.5: no forwarding of limited broadcast, multicast (sluiced does
	 * not route multicast), 0/8 or loopback destinations. */
	first = ((const uint8_t *)&ip->dst_addr)[0];
	if (unlikely(first == 0 || first == 127 || first >= 224))
		return SL_DROP_IP4_BAD_DESTINATION;
	if (tlen < rte_pktmbuf_pkt_len(m)) {
		/* Bytes after the packet: cut the frame to it, in the segment the packet ends
		 * in (rte_pktmbuf_trim takes only bytes of the last segment, and at most 64 KiB:
		 * a chain from a tap or AF_XDP pod may have more after the packet). */
		struct rte_mbuf *s = m;
		unsigned left = tlen, nseg = 1;
		while (left > s->data_len) {
			left -= s->data_len;
			s = s->next;
			nseg++;
		}
		s->data_len = (uint16_t)left;
		rte_pktmbuf_free(s->next);
		s->next = NULL;
		m->nb_segs = (uint16_t)nseg;
		m->pkt_len = tlen;
	}
	return SL_DROP_COUNT;
}
