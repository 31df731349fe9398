/* eth-input: checks the Ethernet header (destination is us or broadcast), strips it and
 * dispatches on the EtherType. Pod and host ports answer to the node's gateway MAC; the
 * uplink to its own MAC. */
#include <rte_ether.h>
#include <rte_graph_worker.h>

#include "dataplane/core/sl_dp.h"

enum {
	ETH_NEXT_ARP,
	ETH_NEXT_IP4,
	ETH_NEXT_DROP_TRUNCATED,
	ETH_NEXT_DROP_UNSUPPORTED,
	ETH_NEXT_DROP_NOT_FOR_US,
	ETH_NEXT_DROP_L2_BROADCAST,
	ETH_EDGE_COUNT
};

/* ours: the MAC this packet's input port answers to (see the file comment). */
static inline uint16_t eth_input_one(struct rte_mbuf *m, const struct rte_ether_addr *ours)
{
	if (unlikely(rte_pktmbuf_data_len(m) < sizeof(struct rte_ether_hdr)))
		return ETH_NEXT_DROP_TRUNCATED;
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (!rte_is_multicast_ether_addr(&eth->dst_addr) &&
	    !rte_is_same_ether_addr(&eth->dst_addr, ours))
		return ETH_NEXT_DROP_NOT_FOR_US;
	uint16_t type = eth->ether_type;
	bool l2_multi = rte_is_multicast_ether_addr(&eth->dst_addr);
	rte_pktmbuf_adj(m, sizeof(*eth));
	if (type == RTE_BE16(RTE_ETHER_TYPE_IPV4))
		/* RFC 1812 5.3.4: IP in a link-layer broadcast/multicast is not forwarded. */
		return l2_multi ? ETH_NEXT_DROP_L2_BROADCAST : ETH_NEXT_IP4;
	if (type == RTE_BE16(RTE_ETHER_TYPE_ARP))
		return ETH_NEXT_ARP;
	return ETH_NEXT_DROP_UNSUPPORTED;
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
	.nb_edges = ETH_EDGE_COUNT,
	.next_nodes = {
		[ETH_NEXT_ARP] = "arp-input",
		[ETH_NEXT_IP4] = "ip4-input",
		[ETH_NEXT_DROP_TRUNCATED] = "drop-eth-truncated",
		[ETH_NEXT_DROP_UNSUPPORTED] = "drop-eth-unsupported-type",
		[ETH_NEXT_DROP_NOT_FOR_US] = "drop-eth-not-for-us",
		[ETH_NEXT_DROP_L2_BROADCAST] = "drop-ip4-l2-broadcast",
	},
};
RTE_NODE_REGISTER(eth_input_node);
