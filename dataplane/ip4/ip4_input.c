/* ip4-input: validates the IPv4 header and sends VXLAN for our VTEP (arriving on the
 * uplink only, so a pod cannot inject tunnelled traffic) to vxlan-decap; everything
 * else goes to ip4-lookup. */
#include <rte_graph_worker.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "dataplane/core/sl_dp.h"
#include "ip4_check.h"

enum {
	IP4_NEXT_LOOKUP,
	IP4_NEXT_VXLAN_DECAP,
	IP4_NEXT_DROP_TRUNCATED,
	IP4_NEXT_DROP_BAD_VERSION,
	IP4_NEXT_DROP_BAD_IHL,
	IP4_NEXT_DROP_BAD_CHECKSUM,
	IP4_NEXT_DROP_BAD_LENGTH,
	IP4_NEXT_DROP_BAD_SOURCE,
	IP4_NEXT_DROP_BAD_DESTINATION,
	IP4_EDGE_COUNT
};

static const uint16_t drop_edge[SL_DROP_COUNT] = {
	[SL_DROP_IP4_TRUNCATED] = IP4_NEXT_DROP_TRUNCATED,
	[SL_DROP_IP4_BAD_VERSION] = IP4_NEXT_DROP_BAD_VERSION,
	[SL_DROP_IP4_BAD_IHL] = IP4_NEXT_DROP_BAD_IHL,
	[SL_DROP_IP4_BAD_CHECKSUM] = IP4_NEXT_DROP_BAD_CHECKSUM,
	[SL_DROP_IP4_BAD_LENGTH] = IP4_NEXT_DROP_BAD_LENGTH,
	[SL_DROP_IP4_BAD_SOURCE] = IP4_NEXT_DROP_BAD_SOURCE,
	[SL_DROP_IP4_BAD_DESTINATION] = IP4_NEXT_DROP_BAD_DESTINATION,
};

static inline uint16_t ip4_input_one(struct rte_mbuf *m)
{
	enum sl_drop_reason why = sl_ip4_check(m);
	if (unlikely(why != SL_DROP_COUNT))
		return drop_edge[why];
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	if (ip->dst_addr == sl_dp.conf.node_ip && ip->next_proto_id == IPPROTO_UDP &&
	    sl_priv(m)->in_port == sl_dp.conf.uplink_port) {
		const struct rte_udp_hdr *udp =
			(const struct rte_udp_hdr *)((const uint8_t *)ip + rte_ipv4_hdr_len(ip));
		if (rte_pktmbuf_data_len(m) >= rte_ipv4_hdr_len(ip) + sizeof(*udp) &&
		    udp->dst_port == rte_cpu_to_be_16(sl_dp.conf.vxlan_port))
			return IP4_NEXT_VXLAN_DECAP;
	}
	return IP4_NEXT_LOOKUP;
}

static uint16_t ip4_input_chunk(struct rte_graph *graph, struct rte_node *node, void **objs,
				  uint16_t nb)
{
	uint16_t next[RTE_GRAPH_BURST_SIZE];
	for (uint16_t i = 0; i < nb; i++) {
		next[i] = ip4_input_one(objs[i]);
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
	.nb_edges = IP4_EDGE_COUNT,
	.next_nodes = {
		[IP4_NEXT_LOOKUP] = "ip4-lookup",
		[IP4_NEXT_VXLAN_DECAP] = "vxlan-decap",
		[IP4_NEXT_DROP_TRUNCATED] = "drop-ip4-truncated",
		[IP4_NEXT_DROP_BAD_VERSION] = "drop-ip4-bad-version",
		[IP4_NEXT_DROP_BAD_IHL] = "drop-ip4-bad-ihl",
		[IP4_NEXT_DROP_BAD_CHECKSUM] = "drop-ip4-bad-checksum",
		[IP4_NEXT_DROP_BAD_LENGTH] = "drop-ip4-bad-length",
		[IP4_NEXT_DROP_BAD_SOURCE] = "drop-ip4-bad-source",
		[IP4_NEXT_DROP_BAD_DESTINATION] = "drop-ip4-bad-destination",
	},
};
RTE_NODE_REGISTER(ip4_input_node);
