/* eth-output: adds the Ethernet header for routed (not tunnelled) packets: to a local pod
 * (its MAC, from the gateway MAC), to the host port, or out of the uplink to a neighbour. */
#include <rte_graph_worker.h>

#include "dataplane/core/sl_node.h"

#define ETH_OUTPUT_EDGES(NEXT, DROP)                                                   \
	NEXT(TX, "port-tx")                                                            \
	DROP(NEIGH_UNRESOLVED)                                                         \
	DROP(PORT_GONE)                                                                \
	DROP(NO_HEADROOM) /* no room in front of the packet for the Ethernet header */
SL_NODE_EDGES(ETH_OUTPUT_EDGES)

static inline uint16_t eth_output_one(struct rte_mbuf *m)
{
	struct sl_mbuf_priv *pv = sl_priv(m);
	const struct sl_nh *nh = &sl_dp.nh[pv->route.nh];
	struct sl_port *p = sl_port_get(nh->port);
	struct rte_ether_addr dst, src;

	if (unlikely(!p))
		return EDGE_DROP_PORT_GONE;
	switch (nh->type) {
	case SL_NH_POD:
		dst = nh->mac;
		src = sl_dp.conf.gw_mac;
		break;
	case SL_NH_HOST:
		dst = p->mac;
		src = sl_dp.conf.gw_mac;
		break;
	default: { /* SL_NH_UPLINK */
		uint64_t ms = atomic_load_explicit(&sl_dp.neigh[nh->neigh].mac_state,
						   memory_order_acquire);
		if (unlikely(!(ms & SL_NEIGH_VALID)))
			return EDGE_DROP_NEIGH_UNRESOLVED;
		memcpy(&dst, &ms, RTE_ETHER_ADDR_LEN);
		src = p->mac;
	}
	}
	struct rte_ether_hdr *eth =
		(struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(struct rte_ether_hdr));
	if (unlikely(!eth))
		return EDGE_DROP_NO_HEADROOM;
	eth->dst_addr = dst;
	eth->src_addr = src;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	pv->out_port = p->id;
	return EDGE_TX;
}

static uint16_t eth_output_chunk(struct rte_graph *graph, struct rte_node *node, void **objs,
				   uint16_t nb)
{
	uint16_t next[RTE_GRAPH_BURST_SIZE];
	for (uint16_t i = 0; i < nb; i++) {
		next[i] = eth_output_one(objs[i]);
		SL_TRACE(node, (struct rte_mbuf *)objs[i], "-> %s", node->nodes[next[i]]->name);
	}
	rte_node_enqueue_next(graph, node, next, objs, nb);
	return nb;
}

SL_NODE_PROCESS_CHUNKED(eth_output_process, eth_output_chunk)

static struct rte_node_register eth_output_node = {
	.name = "eth-output",
	.process = eth_output_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(ETH_OUTPUT_EDGES) },
};
RTE_NODE_REGISTER(eth_output_node);
