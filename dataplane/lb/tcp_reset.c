/* tcp-reset: answers a client's TCP segment with a RST from where it was sent (a Service
 * frontend whose backend left: ip4-lb), built in place (tcp_reset.h), then routed back
 * through ip4-lookup as a packet of sluiced's own (no TTL decrement). */
#include <rte_graph_worker.h>

#include "dataplane/core/sl_mbuf.h"
#include "dataplane/core/sl_node.h"
#include "tcp_reset.h"

#define TCP_RESET_EDGES(NEXT, DROP) NEXT(LOOKUP, "ip4-lookup")
SL_NODE_EDGES(TCP_RESET_EDGES)

static uint16_t tcp_reset_process(struct rte_graph *graph, struct rte_node *node, void **objs,
				  uint16_t nb)
{
	for (uint16_t i = 0; i < nb; i++) {
		struct rte_mbuf *m = objs[i];
		sl_tcp_reset_build(m);
		struct sl_mbuf_priv *pv = sl_priv(m);
		pv->flags = (uint8_t)((pv->flags & SL_F_TRACED) | SL_F_LOCAL_ORIGIN);
		SL_TRACE(node, m, "RST to " SL_IP4_FMT ":%u",
			 SL_IP4_ARGS(rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *)->dst_addr),
			 rte_be_to_cpu_16(rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *,
								  20)->dst_port));
	}
	rte_node_next_stream_move(graph, node, EDGE_LOOKUP);
	return nb;
}

static struct rte_node_register tcp_reset_node = {
	.name = "tcp-reset",
	.process = tcp_reset_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(TCP_RESET_EDGES) },
};
RTE_NODE_REGISTER(tcp_reset_node);
