/* ip4-local: packets addressed to sluiced itself (the pod gateway address). Answers ICMP
 * echo requests (RFC 1122 3.2.2.6); everything else is dropped and counted. */
#include <rte_graph_worker.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "dataplane/core/sl_node.h"

#define IP4_LOCAL_EDGES(NEXT, DROP) \
	NEXT(LOOKUP, "ip4-lookup")  \
	DROP(LOCAL_UNSUPPORTED)
SL_NODE_EDGES(IP4_LOCAL_EDGES)

static inline uint16_t ip4_local_one(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	unsigned hlen = rte_ipv4_hdr_len(ip);
	unsigned len = rte_be_to_cpu_16(ip->total_length);
	if (ip->next_proto_id != IPPROTO_ICMP || len < hlen + sizeof(struct rte_icmp_hdr) ||
	    len > rte_pktmbuf_data_len(m) || (ip->fragment_offset & RTE_BE16(0x3fff)))
		return EDGE_DROP_LOCAL_UNSUPPORTED;
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + hlen);
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0)
		return EDGE_DROP_LOCAL_UNSUPPORTED;
	/* Reply in place: swap addresses, type 0, fresh checksums. */
	uint32_t src = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = src;
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, len - hlen);
	struct sl_mbuf_priv *pv = sl_priv(m);
	pv->flags = (uint8_t)((pv->flags & SL_F_TRACED) | SL_F_LOCAL_ORIGIN);
	return EDGE_LOOKUP;
}

static uint16_t ip4_local_chunk(struct rte_graph *graph, struct rte_node *node, void **objs,
				  uint16_t nb)
{
	uint16_t next[RTE_GRAPH_BURST_SIZE];
	for (uint16_t i = 0; i < nb; i++) {
		next[i] = ip4_local_one(objs[i]);
		SL_TRACE(node, (struct rte_mbuf *)objs[i], "%s",
			 next[i] == EDGE_LOOKUP ? "echo reply" : "not handled");
	}
	rte_node_enqueue_next(graph, node, next, objs, nb);
	return nb;
}

SL_NODE_PROCESS_CHUNKED(ip4_local_process, ip4_local_chunk)

static struct rte_node_register ip4_local_node = {
	.name = "ip4-local",
	.process = ip4_local_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(IP4_LOCAL_EDGES) },
};
RTE_NODE_REGISTER(ip4_local_node);
