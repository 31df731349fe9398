/* TCP segmentation shared by guest-offload (TSO frames from vhost-user guests, cut before
 * forwarding) and ip4-segment (whole large frames from AF_XDP pods, cut after the route
 * lookup to the next hop's MTU): header parsing and the building of one segment. */
#pragma once
#include <rte_ip.h>
#include <rte_memcpy.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/core/sl_mbuf.h"

/* Offsets of the headers of an Ethernet/IPv4/TCP-or-UDP frame, all in its first segment. */
struct l4_frame {
	struct rte_ipv4_hdr *ip;
	void *l4;
	uint16_t l3_off, l4_off, hdr_len; /* hdr_len: through the end of the L4 header */
};

/* Find the headers of m, whose IPv4 header starts l3_off bytes into its data, checking
 * every length against the first segment. Returns 0 or -1. Worker. */
static inline int sl_l4_parse(struct rte_mbuf *m, uint16_t l3_off, struct l4_frame *f)
{
	uint16_t dlen = rte_pktmbuf_data_len(m);
	if (dlen < l3_off + sizeof(struct rte_ipv4_hdr))
		return -1;
	uint8_t *eth = rte_pktmbuf_mtod(m, uint8_t *);
	f->l3_off = l3_off;
	f->ip = (struct rte_ipv4_hdr *)(eth + l3_off);
	unsigned ihl = rte_ipv4_hdr_len(f->ip);
	if ((f->ip->version_ihl >> 4) != 4 || ihl < sizeof(*f->ip) ||
	    (f->ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)))
		return -1;
	f->l4_off = (uint16_t)(f->l3_off + ihl);
	unsigned l4_len;
	if (f->ip->next_proto_id == IPPROTO_TCP) {
		if (dlen < f->l4_off + sizeof(struct rte_tcp_hdr))
			return -1;
		l4_len = ((struct rte_tcp_hdr *)((uint8_t *)eth + f->l4_off))->data_off >> 4 << 2;
		if (l4_len < sizeof(struct rte_tcp_hdr))
			return -1;
	} else if (f->ip->next_proto_id == IPPROTO_UDP) {
		l4_len = sizeof(struct rte_udp_hdr);
	} else {
		return -1;
	}
	if (dlen < f->l4_off + l4_len)
		return -1;
	f->l4 = (uint8_t *)eth + f->l4_off;
	f->hdr_len = (uint16_t)(f->l4_off + l4_len);
	return 0;
}

/* Build segment i (payload [off, off + len) of m, after the headers f found) into empty
 * seg: headers copied, then the IPv4 total length, identification (+1 each) and checksum,
 * the TCP sequence number, the flags (FIN and PSH on the last segment only, CWR on the first
 * only) and a full TCP checksum; the base private fields copied. Worker. */
static inline void sl_tcp_build_segment(struct rte_mbuf *seg, struct rte_mbuf *m,
					const struct l4_frame *f, unsigned i, uint32_t off,
					uint16_t len, bool last)
{
	uint8_t *d = (uint8_t *)rte_pktmbuf_append(seg, (uint16_t)(f->hdr_len + len));
	rte_memcpy(d, rte_pktmbuf_mtod(m, void *), f->hdr_len);
	const void *src = rte_pktmbuf_read(m, f->hdr_len + off, len, d + f->hdr_len);
	if (src != d + f->hdr_len)
		rte_memcpy(d + f->hdr_len, src, len);

	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + f->l3_off);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(d + f->l4_off);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(f->hdr_len - f->l3_off + len));
	ip->packet_id = rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(f->ip->packet_id) + i));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	tcp->sent_seq = rte_cpu_to_be_32(rte_be_to_cpu_32(tcp->sent_seq) + off);
	if (!last)
		tcp->tcp_flags &= (uint8_t)~(RTE_TCP_FIN_FLAG | RTE_TCP_PSH_FLAG);
	if (i > 0)
		tcp->tcp_flags &= (uint8_t)~RTE_TCP_CWR_FLAG;
	tcp->cksum = 0;
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);

	struct sl_mbuf_priv *pv = sl_priv(seg), *opv = sl_priv(m);
	pv->in_port = opv->in_port;
	pv->flags = (uint8_t)(opv->flags & ~SL_F_GSO);
	pv->trace_id = opv->trace_id;
}

