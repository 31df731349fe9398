/* eth-input: checks the Ethernet header (destination is us or broadcast), strips it and
 * dispatches on the EtherType. Pod and host ports answer to the node's gateway MAC; the
 * uplink to its own MAC. */
#include <rte_ether.h>
#include <rte_graph_worker.h>

#include "dataplane/core/sl_node.h"

#define ETH_INPUT_EDGES(NEXT, DROP) \
	NEXT(ARP, "arp-input")      \
	NEXT(IP4, "ip4-input")      \
	DROP(ETH_TRUNCATED)         \
	DROP(ETH_UNSUPPORTED)       \
	DROP(ETH_NOT_FOR_US)        \
	DROP(IP4_L2_BROADCAST)
SL_NODE_EDGES(ETH_INPUT_EDGES)

/* ours: the MAC this packet's input port answers to (see the file comment). */
static inline uint16_t eth_input_one(struct rte_mbuf *m, const struct rte_ether_addr *ours)
{
	if (unlikely(rte_pktmbuf_data_len(m) < sizeof(struct rte_ether_hdr)))
		return EDGE_DROP_ETH_TRUNCATED;
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (!rte_is_multicast_ether_addr(&eth->dst_addr) &&
	    !rte_is_same_ether_addr(&eth->dst_addr, ours))
		return EDGE_DROP_ETH_NOT_FOR_US;
	uint16_t type = eth->ether_type;
	bool l2_multi = rte_is_multicast_ether_addr(&eth->dst_addr);
	rte_pktmbuf_adj(m, sizeof(*eth));
	if (type == RTE_BE16(RTE_ETHER_TYPE_IPV4))
		/* RFC 1812 5.3.4: IP in a link-layer broadcast/multicast is not forwarded. */
		return l2_multi ? EDGE_DROP_IP4_L2_BROADCAST : EDGE_IP4;
	if (type == RTE_BE16(RTE_ETHER_TYPE_ARP))
		return EDGE_ARP;
	return EDGE_DROP_ETH_UNSUPPORTED;
}

static uint16_t eth_input_chunk(struct rte_graph *graph, struct rte_node *node, void **objs,
				  uint16_t nb)
{
	uint16_t next[RTE_GRAPH_BURST_SIZE];
	/* port-rx delivers runs of packets from one port: look the port up once per run. */
	uint16_t in_port = UINT16_MAX;
	const struct rte_ether_addr *ours = &sl_dp.conf.gw_mac;
	for (uint16_t i = 0; i < nb; i++) {
		uint16_t pid = sl_priv((struct rte_mbuf *)objs[i])->in_port;
		if (unlikely(pid != in_port)) {
			const struct sl_port *p = sl_port_get(pid);
			in_port = pid;
			ours = p && p->kind == SL_PORT_UPLINK ? &p->mac : &sl_dp.conf.gw_mac;
		}
		next[i] = eth_input_one(objs[i], ours);
		SL_TRACE(node, (struct rte_mbuf *)objs[i], "next %s",
			 node->nodes[next[i]]->name);
	}
	rte_node_enqueue_next(graph, node, next, objs, nb);
	return nb;
}

SL_NODE_PROCESS_CHUNKED(eth_input_process, eth_input_chunk)

static struct rte_node_register eth_input_node = {
	.name = "eth-input",
	.process = eth_input_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(ETH_INPUT_EDGES) },
};
RTE_NODE_REGISTER(eth_input_node);
