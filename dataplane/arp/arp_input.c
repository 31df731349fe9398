/* arp-input: answers ARP requests and learns uplink neighbours.
 *  - uplink: replies for the node address; learns the sender of any reply or request
 *    whose address is a neighbour the control thread asked for.
 *  - pod and host ports: proxy ARP; every address but the asker's own resolves to the
 *    gateway MAC, so pods route everything through sluiced (pods have /32 addresses). */
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_graph_worker.h>

#include "dataplane/core/sl_node.h"

#define ARP_INPUT_EDGES(NEXT, DROP) \
	NEXT(TX, "port-tx")         \
	DROP(ARP_MALFORMED)         \
	DROP(ARP_NOT_FOR_US)        \
	DROP(ARP_REPLY_CONSUMED)    \
	DROP(NO_HEADROOM)
SL_NODE_EDGES(ARP_INPUT_EDGES)

static void learn(const struct rte_arp_ipv4 *a)
{
	int idx = sl_neigh_find(a->arp_sip);
	if (idx < 0)
		return;
	uint64_t mac = 0;
	memcpy(&mac, &a->arp_sha, RTE_ETHER_ADDR_LEN);
	struct sl_neigh *n = &sl_dp.neigh[idx];
	/* Timestamp first, so the control thread's ageing never sees a fresh MAC as old. */
	atomic_store_explicit(&n->updated_tsc, rte_rdtsc(), memory_order_relaxed);
	uint64_t old = atomic_load_explicit(&n->mac_state, memory_order_relaxed);
	while (!(old & SL_NEIGH_STATIC) &&
	       !atomic_compare_exchange_weak_explicit(&n->mac_state, &old, mac | SL_NEIGH_VALID,
						      memory_order_release, memory_order_relaxed))
		;
}

static inline uint16_t arp_input_one(struct rte_node *node, struct rte_mbuf *m)
{
	if (rte_pktmbuf_data_len(m) < sizeof(struct rte_arp_hdr))
		return EDGE_DROP_ARP_MALFORMED;
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod(m, struct rte_arp_hdr *);
	if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
		return EDGE_DROP_ARP_MALFORMED;
	struct sl_port *p = sl_port_get(sl_priv(m)->in_port);
	if (!p)
		return EDGE_DROP_ARP_NOT_FOR_US;
	struct rte_arp_ipv4 *a = &arp->arp_data;
	const struct rte_ether_addr *ours;

	if (p->kind == SL_PORT_UPLINK) {
		learn(a);
		if (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST))
			return EDGE_DROP_ARP_REPLY_CONSUMED;
		if (a->arp_tip != sl_dp.conf.node_ip)
			return EDGE_DROP_ARP_NOT_FOR_US;
		ours = &p->mac;
	} else {
		if (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST))
			return EDGE_DROP_ARP_REPLY_CONSUMED;
		/* RFC 5227: probes (sender 0.0.0.0) and gratuitous ARPs are not answered. */
		if (a->arp_sip == 0 || a->arp_tip == a->arp_sip)
			return EDGE_DROP_ARP_NOT_FOR_US;
		if (p->kind == SL_PORT_HOST && a->arp_tip == sl_dp.conf.node_ip)
			return EDGE_DROP_ARP_NOT_FOR_US;
		ours = &sl_dp.conf.gw_mac;
	}
	/* Turn the request into the reply in place. */
	uint32_t asked = a->arp_tip;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	a->arp_tha = a->arp_sha;
	a->arp_tip = a->arp_sip;
	a->arp_sha = *ours;
	a->arp_sip = asked;
	struct rte_ether_hdr *eth =
		(struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(struct rte_ether_hdr));
	if (unlikely(!eth))
		return EDGE_DROP_NO_HEADROOM;
	eth->dst_addr = a->arp_tha;
	eth->src_addr = *ours;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	sl_priv(m)->out_port = p->id;
	return EDGE_TX;
}

static uint16_t arp_input_chunk(struct rte_graph *graph, struct rte_node *node, void **objs,
				  uint16_t nb)
{
	uint16_t next[RTE_GRAPH_BURST_SIZE];
	for (uint16_t i = 0; i < nb; i++) {
		next[i] = arp_input_one(node, objs[i]);
		SL_TRACE(node, (struct rte_mbuf *)objs[i], "%s",
			 next[i] == EDGE_TX ? "reply sent" : node->nodes[next[i]]->name);
	}
	rte_node_enqueue_next(graph, node, next, objs, nb);
	return nb;
}

SL_NODE_PROCESS_CHUNKED(arp_input_process, arp_input_chunk)

static struct rte_node_register arp_input_node = {
	.name = "arp-input",
	.process = arp_input_process,
	.nb_edges = EDGE_COUNT,
	.next_nodes = { SL_NEXT_NODES(ARP_INPUT_EDGES) },
};
RTE_NODE_REGISTER(arp_input_node);
