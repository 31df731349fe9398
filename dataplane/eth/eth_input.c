/* eth-input: checks the Ethernet header (destination is us or broadcast), enforces who may
 * send what, strips the header and dispatches on the EtherType. Pod and host ports answer to
 * the node's gateway MAC; the uplink to its own MAC.
 *
 * Source checks (the trust boundary; cheap: compares against immutable port fields):
 *  - pod ports (AF_XDP, vhost-user): the Ethernet source must be the pod's MAC, and an IPv4
 *    source the pod's address (struct sl_port pod_mac, pod_ip); otherwise the frame is
 *    dropped as pod-spoofed-source and counted in the port's rx_spoofed. ARP senders are
 *    checked by arp-input. A pod has no use for another source: it gets a static /32 from
 *    the CNI (no DHCP; a DHCP discover is an L2 broadcast and dropped as such).
 *  - the uplink (reverse path): an IPv4 source inside this node's pod CIDR or equal to the
 *    node address cannot come from the underlay: uplink-spoofed-source. (Inner packets of
 *    VXLAN are vxlan-decap's to check.) */
#include <rte_ether.h>
#include <rte_graph_worker.h>
#include <rte_ip.h>

#include "dataplane/core/sl_node.h"

#define ETH_INPUT_EDGES(NEXT, DROP) \
	NEXT(ARP, "arp-input")      \
	NEXT(IP4, "ip4-input")      \
	DROP(ETH_TRUNCATED)         \
	DROP(ETH_UNSUPPORTED)       \
	DROP(ETH_NOT_FOR_US)        \
	DROP(IP4_L2_BROADCAST)      \
	DROP(POD_SPOOFED_SOURCE)    \
	DROP(UPLINK_SPOOFED_SOURCE)
SL_NODE_EDGES(ETH_INPUT_EDGES)

/* The IPv4 source of the packet after eth (which m's data still starts with), or 0 when
 * the header is too short to hold one (ip4-input drops it as truncated). */
static inline uint32_t ip4_src(const struct rte_mbuf *m, const struct rte_ether_hdr *eth)
{
	if (unlikely(rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(struct rte_ipv4_hdr)))
		return 0;
	return ((const struct rte_ipv4_hdr *)(eth + 1))->src_addr;
}

/* p: the input port (NULL when it is gone); ours: the MAC this port answers to. */
static inline uint16_t eth_input_one(struct rte_mbuf *m, const struct sl_port *p,
				     const struct rte_ether_addr *ours)
{
	if (unlikely(rte_pktmbuf_data_len(m) < sizeof(struct rte_ether_hdr)))
		return EDGE_DROP_ETH_TRUNCATED;
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (!rte_is_multicast_ether_addr(&eth->dst_addr) &&
	    !rte_is_same_ether_addr(&eth->dst_addr, ours))
		return EDGE_DROP_ETH_NOT_FOR_US;
	uint16_t type = eth->ether_type;
	bool l2_multi = rte_is_multicast_ether_addr(&eth->dst_addr);
	bool pod = p && sl_port_is_pod(p);
	if (pod && unlikely(!rte_is_same_ether_addr(&eth->src_addr, &p->pod_mac)))
		return EDGE_DROP_POD_SPOOFED_SOURCE;
	if (type == RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
		/* RFC 1812 5.3.4: IP in a link-layer broadcast/multicast is not forwarded. */
		if (l2_multi)
			return EDGE_DROP_IP4_L2_BROADCAST;
		uint32_t src = ip4_src(m, eth);
		if (pod && unlikely(src != p->pod_ip) && src)
			return EDGE_DROP_POD_SPOOFED_SOURCE;
		if (p && p->kind == SL_PORT_UPLINK &&
		    unlikely((src & sl_dp.conf.pod_cidr_mask) == sl_dp.conf.pod_cidr ||
			     src == sl_dp.conf.node_ip))
			return EDGE_DROP_UPLINK_SPOOFED_SOURCE;
		rte_pktmbuf_adj(m, sizeof(*eth));
		return EDGE_IP4;
	}
	rte_pktmbuf_adj(m, sizeof(*eth));
	if (type == RTE_BE16(RTE_ETHER_TYPE_ARP))
		return EDGE_ARP;
	return EDGE_DROP_ETH_UNSUPPORTED;
}

static uint16_t eth_input_chunk(struct rte_graph *graph, struct rte_node *node, void **objs,
				  uint16_t nb)
{
	struct sl_worker *w = sl_worker_self();
	uint16_t next[RTE_GRAPH_BURST_SIZE];
	/* port-rx delivers runs of packets from one port: look the port up once per run. */
	uint16_t in_port = UINT16_MAX;
	struct sl_port *p = NULL;
	const struct rte_ether_addr *ours = &sl_dp.conf.gw_mac;
	for (uint16_t i = 0; i < nb; i++) {
		uint16_t pid = sl_priv((struct rte_mbuf *)objs[i])->in_port;
		if (unlikely(pid != in_port)) {
			p = sl_port_get(pid);
			in_port = pid;
			ours = p && p->kind == SL_PORT_UPLINK ? &p->mac : &sl_dp.conf.gw_mac;
		}
		next[i] = eth_input_one(objs[i], p, ours);
		if (unlikely(next[i] == EDGE_DROP_POD_SPOOFED_SOURCE))
			p->stats[w->id].rx_spoofed++;
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
