/* ip4-input: validates the IPv4 header and sends VXLAN for our VTEP (arriving on the
 * uplink only, so a pod cannot inject tunnelled traffic) to vxlan-decap; everything
 * else goes to ip4-lookup, through ip4-lb while Services exist (sl_lb_active()) and
 * ip4-policy while some pod is isolated (sl_pol_active()). */
#include <rte_graph_worker.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "dataplane/core/sl_node.h"
#include "dataplane/lb/lb_table.h"
#include "dataplane/policy/pol_table.h"
#include "ip4_check.h"

#define IP4_INPUT_EDGES(NEXT, DROP)      \
	NEXT(LOOKUP, "ip4-lookup")       \
	NEXT(VXLAN_DECAP, "vxlan-decap") \
	NEXT(LB, "ip4-lb")               \
	NEXT(POLICY, "ip4-policy")       \
	DROP(IP4_TRUNCATED)              \
	DROP(IP4_BAD_VERSION)            \
	DROP(IP4_BAD_IHL)                \
	DROP(IP4_BAD_CHECKSUM)           \
	DROP(IP4_BAD_LENGTH)             \
	DROP(IP4_BAD_SOURCE)             \
	DROP(IP4_BAD_DESTINATION)
SL_NODE_EDGES(IP4_INPUT_EDGES)

/* past: the edge for packets on their way to ip4-lookup (EDGE_LOOKUP or EDGE_LB). */
static inline uint16_t ip4_input_one(struct rte_mbuf *m, uint16_t past)
{
	enum sl_drop_reason why = sl_ip4_check(m);
	if (unlikely(why != SL_DROP_COUNT))
		return edge_of_drop(why);
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	if (ip->dst_addr == sl_dp.conf.node_ip && ip->next_proto_id == IPPROTO_UDP &&
	    sl_priv(m)->in_port == sl_dp.conf.uplink_port) {
		const struct rte_udp_hdr *udp =
			(const struct rte_udp_hdr *)((const uint8_t *)ip + rte_ipv4_hdr_len(ip));
		if (rte_pktmbuf_data_len(m) >= rte_ipv4_hdr_len(ip) + sizeof(*udp) &&
		    udp->dst_port == rte_cpu_to_be_16(sl_dp.conf.vxlan_port))
			return EDGE_VXLAN_DECAP;
	}
	return past;
}

static uint16_t ip4_input_chunk(struct rte_graph *graph, struct rte_node *node, void **objs,
				  uint16_t nb)
{
	uint16_t next[RTE_GRAPH_BURST_SIZE];
	uint16_t past = sl_lb_active() ? EDGE_LB : sl_pol_active() ? EDGE_POLICY : EDGE_LOOKUP;
	for (uint16_t i = 0; i < nb; i++) {
		next[i] = ip4_input_one(objs[i], past);
		SL_TRACE(node, (struct rte_mbuf *)objs[i], "next %s",
			 node->nodes[next[i]]->name);
	}
	rte_node_enqueue_next(graph, node, next, objs, nb);
	return nb;
}

SL_NODE_PROCESS_CHUNKED(ip4_input_process, ip4_input_chunk)

static struct rte_node_register ip4_input_node = {
	.name = "ip4-input",
	.process = ip4_input_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(IP4_INPUT_EDGES) },
};
RTE_NODE_REGISTER(ip4_input_node);
