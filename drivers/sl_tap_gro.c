/* Receive coalescing for tap pods (see sl_tap.h, sl_tap_coalesce): what the kernel's GRO
 * does on a NIC or a veth, done on a burst bound for one tap, so a pod receiving TCP that
 * crossed VXLAN (cut to the tunnel MTU by the other node) gets one write and one skb per
 * run of segments instead of one per 1,400 bytes.
 *
 * A frame joins the run before it under the rules of Linux's tcp_gro_receive (net/ipv4/
 * tcp_offload.c): IPv4 without options and not a fragment, TCP with ACK and nothing but
 * PSH besides, the same addresses, ports, TTL, TOS, acknowledgement number, window and TCP
 * options (timestamps included), the next sequence number, a payload no longer than the
 * run's first (the MSS), a run without PSH and whose last segment was a full MSS, at most
 * 64 KiB of IP packet and SL_TAP_TX_SEGS segments. Each frame's TCP checksum is verified
 * first (RFC 1122 4.2.2.7): the run leaves with a partial checksum, which the pod's stack
 * does not check again, so a segment with a bad checksum is never merged and leaves on its
 * own for the pod to drop. */
#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "sl_tap.h"

#define L3 ((unsigned)sizeof(struct rte_ether_hdr))

/* The headers of a frame that may be coalesced, or NULL ip when it may not. */
struct seg {
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;
	unsigned hlen;    /* Ethernet + IPv4 + TCP */
	uint32_t payload; /* TCP payload bytes */
};

static struct seg parse(struct rte_mbuf *m)
{
	struct seg s = { 0 };
	uint16_t dlen = rte_pktmbuf_data_len(m);
	if (m->nb_segs != 1 || !RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1 ||
	    (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) ||
	    dlen < L3 + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_tcp_hdr) ||
	    rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))
		return s;
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, L3);
	if (ip->version_ihl != 0x45 || ip->next_proto_id != IPPROTO_TCP ||
	    (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) ||
	    L3 + rte_be_to_cpu_16(ip->total_length) != dlen)
		return s;
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
	unsigned thl = (unsigned)(tcp->data_off >> 4) * 4;
	if (thl < sizeof(*tcp) || dlen <= L3 + sizeof(*ip) + thl ||
	    (tcp->tcp_flags & (uint8_t)~(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG)) ||
	    !(tcp->tcp_flags & RTE_TCP_ACK_FLAG) || rte_ipv4_udptcp_cksum_verify(ip, tcp) != 0)
		return s;
	s.ip = ip;
	s.tcp = tcp;
	s.hlen = L3 + sizeof(*ip) + thl;
	s.payload = dlen - s.hlen;
	return s;
}

/* Whether b continues run a (headers ha, payload so far total, last segment's payload
 * last, MSS mss). */
static bool follows(const struct seg *ha, uint32_t total, uint32_t last, uint32_t mss,
		    const struct seg *b)
{
	const struct rte_ipv4_hdr *x = ha->ip, *y = b->ip;
	const struct rte_tcp_hdr *s = ha->tcp, *t = b->tcp;
	return x->src_addr == y->src_addr && x->dst_addr == y->dst_addr &&
	       x->time_to_live == y->time_to_live && x->type_of_service == y->type_of_service &&
	       s->src_port == t->src_port && s->dst_port == t->dst_port &&
	       s->recv_ack == t->recv_ack && s->rx_win == t->rx_win && ha->hlen == b->hlen &&
	       !(s->tcp_flags & RTE_TCP_PSH_FLAG) && last == mss && b->payload <= mss &&
	       rte_be_to_cpu_32(t->sent_seq) == rte_be_to_cpu_32(s->sent_seq) + total &&
	       ha->hlen - L3 + total + b->payload <= UINT16_MAX &&
	       !memcmp(s + 1, t + 1, ha->hlen - L3 - sizeof(*x) - sizeof(*s));
}

/* Make head (a run of n segments, payload total, MSS mss) one GSO frame. */
static void close_run(struct rte_mbuf *head, const struct seg *h, unsigned n, uint32_t mss)
{
	if (n < 2)
		return;
	h->ip->total_length = rte_cpu_to_be_16((uint16_t)(rte_pktmbuf_pkt_len(head) - L3));
	h->ip->hdr_checksum = 0;
	h->ip->hdr_checksum = rte_ipv4_cksum(h->ip);
	head->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
	head->tso_segsz = (uint16_t)mss;
}

uint16_t sl_tap_coalesce(struct rte_mbuf **pkts, uint16_t n, uint32_t *ret_merged)
{
	uint16_t out = 0;
	struct seg h = { 0 };
	struct rte_mbuf *last_seg = NULL;
	uint32_t total = 0, last = 0, mss = 0;
	unsigned nseg = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct seg s = parse(m);
		if (h.ip && s.ip && nseg < SL_TAP_TX_SEGS && follows(&h, total, last, mss, &s)) {
			rte_pktmbuf_adj(m, (uint16_t)s.hlen);
			last_seg->next = m;
			last_seg = m;
			struct rte_mbuf *head = pkts[out - 1];
			head->nb_segs++;
			head->pkt_len += m->pkt_len;
			m->pkt_len = m->data_len;
			h.tcp->tcp_flags |= s.tcp->tcp_flags & RTE_TCP_PSH_FLAG;
			total += s.payload;
			last = s.payload;
			nseg++;
			(*ret_merged)++;
			continue;
		}
		if (h.ip)
			close_run(pkts[out - 1], &h, nseg, mss);
		pkts[out++] = m;
		h = s;
		last_seg = m;
		total = last = mss = s.payload;
		nseg = 1;
	}
	if (h.ip)
		close_run(pkts[out - 1], &h, nseg, mss);
	return out;
}
