/* ip4-segment: cuts a TCP packet from an AF_XDP pod that is longer than its next hop's MTU
 * into segments that fit, once, after the route lookup (issue 13). With AF_XDP multi-buffer
 * a kernel pod may have a pod MTU far above the tunnel's (node.pod_mtu, e.g. 9,000): its TCP
 * packets reach sluice whole (sl_xsk.h), go whole to a pod on this node, and are cut here
 * only on the way to a smaller MTU (VXLAN to another node, the host port, the uplink), the
 * segmentation a NIC does for TSO (offload/tcp_seg.h): MSS = next-hop MTU - IPv4 and TCP
 * headers. Other protocols never come here: ip4-lookup answers them "fragmentation needed".
 *
 * ip4-lookup sends only TCP from an AF_XDP pod port with its TTL already decremented; data
 * starts at the IPv4 header and pv->route.nh is set, which every segment keeps. Segments
 * come from the shared pool, so a frame is cut only while a quarter of the pool stays free
 * (offload-pool-reserve) and one graph walk cuts at most a quarter of the pool
 * (offload-burst-limit): a 64 KiB frame at MSS 1,410 is 47 segments. */
#include <rte_graph_worker.h>

#include "dataplane/core/sl_node.h"
#include "tcp_seg.h"

#define SEG_BULK 64
#define MIN_MSS 536 /* RFC 879 */

#define IP4_SEGMENT_EDGES(NEXT, DROP)    \
	NEXT(VXLAN_ENCAP, "vxlan-encap") \
	NEXT(ETH_OUTPUT, "eth-output")   \
	DROP(OFFLOAD_MALFORMED)          \
	DROP(OFFLOAD_BURST_LIMIT)        \
	DROP(OFFLOAD_POOL_RESERVE)       \
	DROP(NO_MBUF)
SL_NODE_EDGES(IP4_SEGMENT_EDGES)

/* Cut m to its next hop's MTU and enqueue the segments; returns EDGE_COUNT when done (the
 * caller frees m) or the drop edge for m. *walk: segments made in this call so far. */
static uint16_t segment(struct rte_graph *graph, struct rte_node *node, struct rte_mbuf *m,
			unsigned *walk)
{
	struct sl_mbuf_priv *pv = sl_priv(m);
	const struct sl_nh *nh = &sl_dp.nh[pv->route.nh];
	uint16_t next = nh->type == SL_NH_VXLAN ? EDGE_VXLAN_ENCAP : EDGE_ETH_OUTPUT;
	struct l4_frame f;
	if (sl_l4_parse(m, 0, &f) < 0 || f.ip->next_proto_id != IPPROTO_TCP ||
	    nh->mtu < f.hdr_len + MIN_MSS || rte_pktmbuf_pkt_len(m) <= f.hdr_len)
		return EDGE_DROP_OFFLOAD_MALFORMED;
	uint16_t mss = (uint16_t)(nh->mtu - f.hdr_len);
	/* A GSO frame that carries its sender's MSS (a tap pod's gso_size): never above it
	 * (its peer's MSS or its path MTU). The driver refused one below TCP's minimum. */
	if ((pv->flags & SL_F_GSO) && m->tso_segsz && m->tso_segsz < mss)
		mss = m->tso_segsz;
	uint32_t payload = rte_pktmbuf_pkt_len(m) - f.hdr_len;
	unsigned nseg = (payload + mss - 1) / mss;
	unsigned size = sl_dp.pool->size;
	if (*walk + nseg > size / 4)
		return EDGE_DROP_OFFLOAD_BURST_LIMIT;
	if (rte_mempool_avail_count(sl_dp.pool) < size / 4 + nseg)
		return EDGE_DROP_OFFLOAD_POOL_RESERVE;
	*walk += nseg;
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
			sl_priv(segs[j])->route = pv->route;
		}
		rte_node_enqueue(graph, node, next, (void **)segs, (uint16_t)k);
	}
	SL_TRACE(node, m, "cut a %u-byte packet into %u segments of MSS %u",
		 rte_pktmbuf_pkt_len(m), nseg, mss);
	return EDGE_COUNT;
}

static uint16_t ip4_segment_process(struct rte_graph *graph, struct rte_node *node,
				    void **objs, uint16_t nb)
{
	unsigned walk = 0;
	for (uint16_t i = 0; i < nb; i++) {
		struct rte_mbuf *m = objs[i];
		uint16_t next = segment(graph, node, m, &walk);
		if (next == EDGE_COUNT) {
			rte_pktmbuf_free(m);
			continue;
		}
		SL_TRACE(node, m, "next %s", node->nodes[next]->name);
		rte_node_enqueue_x1(graph, node, next, m);
	}
	return nb;
}

static struct rte_node_register ip4_segment_node = {
	.name = "ip4-segment",
	.process = ip4_segment_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(IP4_SEGMENT_EDGES) },
};
RTE_NODE_REGISTER(ip4_segment_node);
