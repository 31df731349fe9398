/* guest-offload: finishes what a virtio guest left to its "device" (VIRTIO_NET_F_CSUM,
 * VIRTIO_NET_F_HOST_TSO4; see drivers/sl_vhost.h), so every later node sees plain,
 * single-segment IPv4 frames:
 *  - a partial TCP/UDP checksum (RTE_MBUF_F_RX_L4_CKSUM_NONE: the field holds only the
 *    pseudo-header sum) is completed in place;
 *  - a TSO frame (RTE_MBUF_F_RX_LRO, tso_segsz = MSS) is cut into MSS-sized TCP segments in
 *    fresh mbufs, the way a NIC does it: headers copied, then per segment the IPv4 total
 *    length, identification (+1 each) and checksum, the TCP sequence number, and the flags
 *    (FIN and PSH on the last segment only, CWR on the first only), and a full TCP checksum;
 *  - any other multi-segment frame is longer than a pod MTU can be and is dropped.
 * port-rx sends only such frames here: rare for DPDK pods, the common case for VM TCP.
 *
 * Segmentation takes mbufs from the pool every port shares, so a guest must not be able to
 * drain it (offload-malformed, offload-burst-limit, offload-pool-reserve):
 *  - the MSS is at least MIN_MSS = 536, the IPv4 default every host must accept (RFC 879,
 *    RFC 1122 4.2.2.6). A guest's MSS comes from its MTU (1,410 at the default pod MTU);
 *    smaller only when the remote peer advertises less, which real peers do not (Linux's
 *    TCP_MIN_MSS of 88 and tcp_min_snd_mss of 48 are floors against hostile peers,
 *    CVE-2019-11479). So one 64 KiB frame is at most 123 segments (745 at MSS 88);
 *  - per call (one graph walk of one worker) one port may have at most pool size / 8
 *    segments made and all ports together pool size / 4: a frame beyond its port's or the
 *    walk's budget is dropped whole (TCP resends it) (2,047 and 4,095 with sluiced's
 *    16,383 mbufs: a burst of 32 64 KiB frames at MSS 1448 is 1,440 segments and fits);
 *  - a frame is not cut while fewer than pool size / 4 mbufs (the reserve) would stay
 *    free afterwards, so receive queues, other pods and the control thread still get
 *    mbufs whatever guests send. */
#include <string.h>

#include <rte_ether.h>
#include <rte_graph_worker.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/core/sl_node.h"
#include "tcp_seg.h"

#define SEG_BULK 64     /* segments allocated at a time */
#define MIN_MSS 536     /* RFC 879: the IPv4 default MSS (see the file comment) */
#define MAX_TSO 65535   /* virtio-net TSO frames are at most 64 KiB of IP packet */

#define GUEST_OFFLOAD_EDGES(NEXT, DROP)                                   \
	NEXT(ETH_INPUT, "eth-input")                                      \
	DROP(ETH_UNSUPPORTED) /* IPv6 TSO or checksum: not routed here */ \
	DROP(OFFLOAD_MALFORMED)                                           \
	DROP(FRAME_TOO_BIG)                                               \
	DROP(OFFLOAD_BURST_LIMIT)                                         \
	DROP(OFFLOAD_POOL_RESERVE)                                        \
	DROP(NO_MBUF)
SL_NODE_EDGES(GUEST_OFFLOAD_EDGES)

/* Find the headers of Ethernet frame m (see tcp_seg.h). Returns 0 or -1. */
static int parse(struct rte_mbuf *m, struct l4_frame *f)
{
	if (rte_pktmbuf_data_len(m) < sizeof(struct rte_ether_hdr) ||
	    rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type !=
		    RTE_BE16(RTE_ETHER_TYPE_IPV4))
		return -1;
	return sl_l4_parse(m, sizeof(struct rte_ether_hdr), f);
}

/* Complete the partial L4 checksum of single-segment m. Returns 0 or -1. */
static int complete_checksum(struct rte_mbuf *m)
{
	struct l4_frame f;
	if (parse(m, &f) < 0)
		return -1;
	/* rte_ipv4_udptcp_cksum sums total_length - ihl bytes: they must all be here. */
	unsigned tlen = rte_be_to_cpu_16(f.ip->total_length);
	if (tlen < (unsigned)(f.hdr_len - f.l3_off) || f.l3_off + tlen > rte_pktmbuf_data_len(m))
		return -1;
	if (f.ip->next_proto_id == IPPROTO_TCP) {
		struct rte_tcp_hdr *tcp = f.l4;
		tcp->cksum = 0;
		tcp->cksum = rte_ipv4_udptcp_cksum(f.ip, tcp);
	} else {
		struct rte_udp_hdr *udp = f.l4;
		udp->dgram_cksum = 0;
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(f.ip, udp); /* 0 comes back as 0xffff */
	}
	m->ol_flags &= ~RTE_MBUF_F_RX_L4_CKSUM_MASK;
	return 0;
}

/* Segments made in one call: by the port whose frames are being cut (a run of frames from
 * one port; port-rx delivers a port's frames together), and in all. */
struct seg_budget {
	uint16_t port;
	unsigned port_segs, walk_segs;
};

/* Cut TSO frame m into segments and enqueue them to eth-input. Returns EDGE_COUNT when
 * done (the caller frees m), else the drop edge for m. */
static uint16_t segment(struct rte_graph *graph, struct rte_node *node, struct rte_mbuf *m,
			struct seg_budget *b)
{
	struct l4_frame f;
	uint16_t mss = m->tso_segsz;
	if (parse(m, &f) < 0 || f.ip->next_proto_id != IPPROTO_TCP || mss < MIN_MSS ||
	    rte_pktmbuf_pkt_len(m) <= f.hdr_len ||
	    rte_pktmbuf_pkt_len(m) - f.l3_off > MAX_TSO ||
	    f.hdr_len + mss > rte_pktmbuf_data_room_size(sl_dp.pool) - RTE_PKTMBUF_HEADROOM)
		return EDGE_DROP_OFFLOAD_MALFORMED;
	uint32_t payload = rte_pktmbuf_pkt_len(m) - f.hdr_len;
	unsigned nseg = (payload + mss - 1) / mss;
	unsigned size = sl_dp.pool->size;
	uint16_t in_port = sl_priv(m)->in_port;
	if (in_port != b->port) {
		b->port = in_port;
		b->port_segs = 0;
	}
	if (b->port_segs + nseg > size / 8 || b->walk_segs + nseg > size / 4)
		return EDGE_DROP_OFFLOAD_BURST_LIMIT;
	if (rte_mempool_avail_count(sl_dp.pool) < size / 4 + nseg)
		return EDGE_DROP_OFFLOAD_POOL_RESERVE;
	b->port_segs += nseg;
	b->walk_segs += nseg;
	struct rte_mbuf *segs[SEG_BULK];
	for (unsigned first = 0; first < nseg; first += SEG_BULK) {
		unsigned k = RTE_MIN(nseg - first, (unsigned)SEG_BULK);
		if (rte_pktmbuf_alloc_bulk(sl_dp.pool, segs, k) < 0)
			return EDGE_DROP_NO_MBUF; /* segments already sent stay sent */
		for (unsigned j = 0; j < k; j++) {
			unsigned i = first + j;
			uint32_t off = i * mss;
			uint16_t len = (uint16_t)RTE_MIN((uint32_t)mss, payload - off);
			sl_tcp_build_segment(segs[j], m, &f, i, off, len, i == nseg - 1);
		}
		rte_node_enqueue(graph, node, EDGE_ETH_INPUT, (void **)segs, (uint16_t)k);
	}
	SL_TRACE(node, m, "cut a %u-byte TSO frame into %u segments of MSS %u",
		 rte_pktmbuf_pkt_len(m), nseg, mss);
	return EDGE_COUNT;
}

static uint16_t guest_offload_process(struct rte_graph *graph, struct rte_node *node,
				      void **objs, uint16_t nb)
{
	struct seg_budget budget = { .port = UINT16_MAX };
	for (uint16_t i = 0; i < nb; i++) {
		struct rte_mbuf *m = objs[i];
		uint16_t next;
		if (rte_pktmbuf_data_len(m) >= sizeof(struct rte_ether_hdr) &&
		    rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type !=
			    RTE_BE16(RTE_ETHER_TYPE_IPV4))
			next = EDGE_DROP_ETH_UNSUPPORTED; /* IPv6 TSO or checksum: not routed here */
		else if (m->ol_flags & RTE_MBUF_F_RX_LRO)
			next = segment(graph, node, m, &budget);
		else if (m->nb_segs > 1)
			next = EDGE_DROP_FRAME_TOO_BIG;
		else
			next = complete_checksum(m) < 0 ? EDGE_DROP_OFFLOAD_MALFORMED
							: EDGE_ETH_INPUT;
		if (next == EDGE_COUNT) {
			rte_pktmbuf_free(m);
			continue;
		}
		SL_TRACE(node, m, "next %s", node->nodes[next]->name);
		rte_node_enqueue_x1(graph, node, next, m);
	}
	return nb;
}

static struct rte_node_register guest_offload_node = {
	.name = "guest-offload",
	.process = guest_offload_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(GUEST_OFFLOAD_EDGES) },
};
RTE_NODE_REGISTER(guest_offload_node);
