/* The TCP reset that answers a segment (RFC 793 3.4 "Reset Generation", as a closed
 * connection answers): built in place of the segment, from its receiver to its sender. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

/* Turn m (an IPv4 TCP segment at the start of its data, whole in the first segment, its
 * total length checked against the data) into the RST answering it: addresses and ports
 * swapped, so it comes from where the segment was going; if the segment has ACK, seq = its
 * ack and no ACK, else seq 0 and ACK with ack = its seq + its length (SYN and FIN count
 * one each); no options, no payload, window 0; IPv4 header of 20 bytes, DF, TTL 64;
 * both checksums computed. Later segments of m are freed. Worker. */
static inline void sl_tcp_reset_build(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	unsigned hlen = rte_ipv4_hdr_len(ip), tlen = rte_be_to_cpu_16(ip->total_length);
	const struct rte_tcp_hdr *in = (const struct rte_tcp_hdr *)((uint8_t *)ip + hlen);
	unsigned thlen = (in->data_off >> 4) * 4u;
	uint32_t seg_len = tlen > hlen + thlen ? tlen - hlen - thlen : 0;
	uint8_t fl = in->tcp_flags;
	seg_len += !!(fl & RTE_TCP_SYN_FLAG) + !!(fl & RTE_TCP_FIN_FLAG);
	uint32_t src = ip->src_addr, dst = ip->dst_addr;
	uint16_t sport = in->src_port, dport = in->dst_port;
	uint32_t seq = in->sent_seq, ack = in->recv_ack;

	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = RTE_BE16(sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_tcp_hdr)),
		.fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG),
		.time_to_live = 64,
		.next_proto_id = IPPROTO_TCP,
		.src_addr = dst,
		.dst_addr = src,
	};
	struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(ip + 1);
	*t = (struct rte_tcp_hdr){ .src_port = dport, .dst_port = sport, .data_off = 5 << 4 };
	if (fl & RTE_TCP_ACK_FLAG) {
		t->sent_seq = ack;
		t->tcp_flags = RTE_TCP_RST_FLAG;
	} else {
		t->recv_ack = rte_cpu_to_be_32(rte_be_to_cpu_32(seq) + seg_len);
		t->tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
	}
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	t->cksum = rte_ipv4_udptcp_cksum(ip, t);
	if (m->next) {
		rte_pktmbuf_free(m->next);
		m->next = NULL;
		m->nb_segs = 1;
	}
	m->data_len = m->pkt_len = sizeof(*ip) + sizeof(*t);
	/* Nothing left to offload (a TSO frame is one small segment now). */
	m->ol_flags &= RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT;
	m->tso_segsz = 0;
}
